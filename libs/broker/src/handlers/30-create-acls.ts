/**
 * CreateAcls (key 30), versions 0-1 (flexible versions, 2+, are not served; clients step down).
 *
 * Stores each ACL (v0: LITERAL patterns; v1 adds the pattern type, LITERAL or PREFIXED); creating one that
 * exists is a no-op, as in Kafka. An ACL with an unknown or wildcard resource type, pattern type,
 * operation or permission, a principal not written `Type:name`, an empty resource name or a cluster
 * resource not named `kafka-cluster` is INVALID_REQUEST (42) with a message; the others are stored. Needs
 * ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED 31); without an authorizer every creation gets
 * SECURITY_DISABLED (54). ACLs take effect on the next request. Any node answers.
 *
 *   CreateAclsRequest  => [creations: resource_type INT8 resource_name STRING resource_pattern_type INT8 (v1+)
 *                         principal STRING host STRING operation INT8 permission_type INT8]
 *   CreateAclsResponse => throttle_time_ms INT32 [results: error_code INT16 error_message NULLABLE_STRING]
 */
import { type AclBinding, aclBindingProblem, PatternType } from '../acls.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import { NO_AUTHORIZER } from './29-describe-acls.js';
import type { ApiHandler } from './handler.js';

interface Request {
  creations: AclBinding[];
}

interface Response {
  results: { errorCode: number; errorMessage: string | null }[];
}

export const createAclsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.CreateAcls,
  name: 'CreateAcls',
  minVersion: 0,
  maxVersion: 1,

  decode(r, version) {
    const creations = r.array((r): AclBinding => {
      const resourceType = r.int8();
      const resourceName = r.string();
      const patternType = version >= 1 ? r.int8() : PatternType.LITERAL;
      return { resourceType, resourceName, patternType, principal: r.string(), host: r.string(), operation: r.int8(), permission: r.int8() };
    });
    return { creations };
  },

  handle(req, ctx) {
    const authorizer = ctx.cluster.authorizer;
    if (!authorizer) return createAclsHandler.errorResponse(req, ErrorCode.SECURITY_DISABLED, ctx, NO_AUTHORIZER);
    const results = req.creations.map((b) => {
      const problem = aclBindingProblem(b);
      if (problem) return { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: problem };
      authorizer.add(b);
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    });
    return { results };
  },

  encode(w, res) {
    w.int32(0);
    w.array(res.results, (w, r) => w.int16(r.errorCode).nullableString(r.errorMessage));
  },

  errorResponse(req, errorCode, _ctx, errorMessage) {
    return { results: req.creations.map(() => ({ errorCode, errorMessage: errorMessage ?? null })) };
  },
};
