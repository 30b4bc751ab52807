/**
 * Heartbeat (key 12), versions 0-3 (flexible versions, 4+, are not served; clients step down).
 *
 * Keeps a member's session alive: each heartbeat restarts its session timer, and a member whose timer
 * runs out is removed and the group rebalances. Answers REBALANCE_IN_PROGRESS while the group prepares a
 * rebalance (so the member rejoins), ILLEGAL_GENERATION for a stale generation, UNKNOWN_MEMBER_ID for a
 * member the group does not know (or an unknown group), NOT_COORDINATOR on the wrong node. Heartbeats
 * between JoinGroup and SyncGroup are accepted, as in Kafka. group_instance_id (v3) is ignored.
 *
 *   HeartbeatRequest => group_id: STRING generation_id: INT32 member_id: STRING group_instance_id: NULLABLE_STRING (v3+)
 *   HeartbeatResponse => throttle_time_ms: INT32 (v1+) error_code: INT16
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
}

interface Response {
  errorCode: number;
}

export const heartbeatHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.Heartbeat,
  name: 'Heartbeat',
  minVersion: 0,
  maxVersion: 3,

  decode(r, v) {
    return { groupId: r.string(), generationId: r.int32(), memberId: r.string(), groupInstanceId: v >= 3 ? r.nullableString() : null };
  },

  handle(req, ctx) {
    const errorCode = coordinatorError(ctx, req.groupId) || ctx.cluster.groups.heartbeat(req.groupId, req.generationId, req.memberId);
    return { errorCode };
  },

  encode(w, res, v) {
    if (v >= 1) w.int32(0);
    w.int16(res.errorCode);
  },

  errorResponse(_req, errorCode) {
    return { errorCode };
  },
};
