/**
 * DeleteGroups (key 42), versions 0-1 (v2 is flexible and not served; clients step down).
 *
 * Deletes each named group with its committed offsets, as Kafka does: a group with members (or in a
 * rebalance) answers NON_EMPTY_GROUP, an id with neither a group nor committed offsets GROUP_ID_NOT_FOUND,
 * and a group coordinated by another node NOT_COORDINATOR, each in its own entry. v1 differs from v0 only
 * in throttling, which this broker never does.
 *
 *   DeleteGroupsRequest => [groups_names: STRING]
 *   DeleteGroupsResponse => throttle_time_ms: INT32 [results: group_id: STRING error_code: INT16]
 */
import { clientText } from '../connection-limits.js';
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groups: string[];
}

interface Response {
  results: { groupId: string; errorCode: number }[];
}

export const deleteGroupsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 1,

  decode: (r) => ({ groups: r.array((r) => r.string()) }),

  handle(req, ctx) {
    return {
      results: req.groups.map((groupId) => {
        const errorCode = coordinatorError(ctx, groupId) || ctx.cluster.groups.deleteGroup(groupId);
        if (errorCode === ErrorCode.NONE) ctx.cluster.logger.info(`deleted group ${clientText(groupId)} and its committed offsets`);
        return { groupId, errorCode };
      }),
    };
  },

  encode(w, res) {
    w.int32(0);
    w.array(res.results, (w, g) => w.string(g.groupId).int16(g.errorCode));
  },

  errorResponse(req, errorCode) {
    return { results: req.groups.map((groupId) => ({ groupId, errorCode })) };
  },
};
