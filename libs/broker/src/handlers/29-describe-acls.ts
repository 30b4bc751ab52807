/**
 * DescribeAcls (key 29), versions 0-1 (flexible versions, 2+, are not served; clients step down).
 *
 * Lists the ACLs a filter selects, grouped by resource pattern. v0 knows only LITERAL patterns (its filter
 * matches literal bindings and its response has no pattern type); v1 adds the pattern type, where ANY
 * matches every pattern type and MATCH every binding that applies to the named resource (literal, `*`,
 * or a prefix of it). Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED 31 otherwise); without
 * an authorizer the broker answers SECURITY_DISABLED (54), as Kafka does. Any node answers.
 *
 *   DescribeAclsRequest  => resource_type_filter INT8 resource_name_filter NULLABLE_STRING
 *                           pattern_type_filter INT8 (v1+) principal_filter NULLABLE_STRING host_filter NULLABLE_STRING
 *                           operation INT8 permission_type INT8
 *   DescribeAclsResponse => throttle_time_ms INT32 error_code INT16 error_message NULLABLE_STRING
 *                           [resources: resource_type INT8 resource_name STRING pattern_type INT8 (v1+)
 *                           [acls: principal STRING host STRING operation INT8 permission_type INT8]]
 */
import { type AclBinding, type AclFilter, PatternType } from '../acls.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { Reader } from '../protocol/reader.js';
import type { ApiHandler } from './handler.js';

/** Reads an ACL filter; v0 has no pattern type and means LITERAL. */
export function readAclFilter(r: Reader, version: number): AclFilter {
  const resourceType = r.int8();
  const resourceName = r.nullableString();
  const patternType = version >= 1 ? r.int8() : PatternType.LITERAL;
  return { resourceType, resourceName, patternType, principal: r.nullableString(), host: r.nullableString(), operation: r.int8(), permission: r.int8() };
}

/** The message for SECURITY_DISABLED, Kafka's words. */
export const NO_AUTHORIZER = 'No Authorizer is configured on the broker; start it with the `acls` option to use ACLs';

interface Response {
  errorCode: number;
  errorMessage: string | null;
  bindings: AclBinding[];
}

export const describeAclsHandler: ApiHandler<AclFilter, Response> = {
  apiKey: ApiKey.DescribeAcls,
  name: 'DescribeAcls',
  minVersion: 0,
  maxVersion: 1,

  decode: readAclFilter,

  handle(filter, { cluster }) {
    if (!cluster.authorizer) return { errorCode: ErrorCode.SECURITY_DISABLED, errorMessage: NO_AUTHORIZER, bindings: [] };
    return { errorCode: ErrorCode.NONE, errorMessage: null, bindings: cluster.authorizer.list(filter) };
  },

  encode(w, res, version) {
    w.int32(0).int16(res.errorCode).nullableString(res.errorMessage);
    const byPattern = new Map<string, AclBinding[]>();
    for (const b of res.bindings) {
      const key = JSON.stringify([b.resourceType, b.resourceName, b.patternType]);
      byPattern.set(key, [...(byPattern.get(key) ?? []), b]);
    }
    w.array([...byPattern.values()], (w, bindings) => {
      const [first] = bindings;
      w.int8(first.resourceType).string(first.resourceName);
      if (version >= 1) w.int8(first.patternType);
      w.array(bindings, (w, b) => w.string(b.principal).string(b.host).int8(b.operation).int8(b.permission));
    });
  },

  errorResponse(_req, errorCode, _ctx, errorMessage) {
    return { errorCode, errorMessage: errorMessage ?? null, bindings: [] };
  },
};
