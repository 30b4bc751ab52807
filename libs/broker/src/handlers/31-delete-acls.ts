/**
 * DeleteAcls (key 31), versions 0-1 (flexible versions, 2+, are not served; clients step down).
 *
 * Deletes the ACLs each filter selects (the filters of DescribeAcls, 29) and answers, per filter, the ACLs
 * it deleted. Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED 31); without an authorizer every
 * filter gets SECURITY_DISABLED (54). Any node answers.
 *
 *   DeleteAclsRequest  => [filters: resource_type_filter INT8 resource_name_filter NULLABLE_STRING
 *                         pattern_type_filter INT8 (v1+) principal_filter NULLABLE_STRING host_filter NULLABLE_STRING
 *                         operation INT8 permission_type INT8]
 *   DeleteAclsResponse => throttle_time_ms INT32 [filter_results: error_code INT16 error_message NULLABLE_STRING
 *                         [matching_acls: error_code INT16 error_message NULLABLE_STRING resource_type INT8
 *                         resource_name STRING pattern_type INT8 (v1+) principal STRING host STRING operation INT8
 *                         permission_type INT8]]
 */
import type { AclBinding, AclFilter } from '../acls.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { NO_AUTHORIZER, readAclFilter } from './29-describe-acls.js';
import type { ApiHandler } from './handler.js';

interface Request {
  filters: AclFilter[];
}

interface Response {
  results: { errorCode: number; errorMessage: string | null; deleted: AclBinding[] }[];
}

export const deleteAclsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DeleteAcls,
  name: 'DeleteAcls',
  minVersion: 0,
  maxVersion: 1,

  decode(r, version) {
    return { filters: r.array((r) => readAclFilter(r, version)) };
  },

  handle(req, ctx) {
    const authorizer = ctx.cluster.authorizer;
    if (!authorizer) return deleteAclsHandler.errorResponse(req, ErrorCode.SECURITY_DISABLED, ctx, NO_AUTHORIZER);
    return { results: req.filters.map((f) => ({ errorCode: ErrorCode.NONE, errorMessage: null, deleted: authorizer.remove(f) })) };
  },

  encode(w, res, version) {
    w.int32(0);
    w.array(res.results, (w, r) => {
      w.int16(r.errorCode).nullableString(r.errorMessage);
      w.array(r.deleted, (w, b) => {
        w.int16(ErrorCode.NONE).nullableString(null).int8(b.resourceType).string(b.resourceName);
        if (version >= 1) w.int8(b.patternType);
        w.string(b.principal).string(b.host).int8(b.operation).int8(b.permission);
      });
    });
  },

  errorResponse(req, errorCode, _ctx, errorMessage) {
    return { results: req.filters.map(() => ({ errorCode, errorMessage: errorMessage ?? null, deleted: [] })) };
  },
};
