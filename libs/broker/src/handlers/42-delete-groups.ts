/**
 * DeleteGroups (key 42), versions 0-1 (flexible version 2 is not served; clients step down).
 *
 * Deletes each named consumer group with its committed offsets, as Kafka does: only a group without
 * members can go (NON_EMPTY_GROUP 68 otherwise), an unknown group is GROUP_ID_NOT_FOUND (69), an empty id
 * INVALID_GROUP_ID (24), and a group this node does not coordinate NOT_COORDINATOR (16), so the client
 * asks the coordinator (kafkajs and librdkafka look it up per group first).
 *
 *   DeleteGroupsRequest  => [groups_names STRING]
 *   DeleteGroupsResponse => throttle_time_ms INT32 [results: group_id STRING error_code INT16]
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groupIds: string[];
}

interface Response {
  results: { groupId: string; errorCode: number }[];
}

export const deleteGroupsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DeleteGroups,
  name: 'DeleteGroups',
  minVersion: 0,
  maxVersion: 1,

  decode(r) {
    return { groupIds: r.array((r) => r.string()) };
  },

  handle(req, ctx) {
    const results = [...new Set(req.groupIds)].map((groupId) => {
      const error = groupId ? coordinatorError(ctx, groupId) : ErrorCode.NONE;
      return { groupId, errorCode: error !== ErrorCode.NONE ? error : ctx.cluster.groups.deleteGroup(groupId) };
    });
    return { results };
  },

  encode(w, res) {
    w.int32(0);
    w.array(res.results, (w, r) => w.string(r.groupId).int16(r.errorCode));
  },

  errorResponse(req, errorCode) {
    return { results: req.groupIds.map((groupId) => ({ groupId, errorCode })) };
  },
};
