/**
 * SyncGroup (key 14), versions 0-3 (flexible versions, 4+, are not served; clients step down).
 *
 * Distributes the leader's assignment. After a rebalance every member sends SyncGroup; followers wait
 * until the leader's arrives with the assignments, which are then stored and returned to each member
 * (an empty assignment for a member the leader left out) and the group becomes Stable. In Stable a
 * member gets its stored assignment at once. A member that sends no SyncGroup within the rebalance
 * timeout of its generation (a leader that only heartbeats) is removed and the group rebalances, as Kafka
 * does since KAFKA-12890, so the others are not stalled. Errors: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION,
 * REBALANCE_IN_PROGRESS while a new rebalance is being prepared (also answered to waiting followers when
 * one starts before the leader synced), NOT_COORDINATOR on the wrong node. The assignment bytes are opaque
 * here: the client-side assignor decides who owns which partition. group_instance_id (v3) is ignored.
 *
 *   SyncGroupRequest => group_id: STRING generation_id: INT32 member_id: STRING group_instance_id: NULLABLE_STRING (v3+)
 *                       [assignments: member_id: STRING assignment: BYTES]
 *   SyncGroupResponse => throttle_time_ms: INT32 (v1+) error_code: INT16 assignment: BYTES
 */
import { coordinatorError, type SyncGroupResult } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  assignments: { memberId: string; assignment: Buffer }[];
}

export const syncGroupHandler: ApiHandler<Request, SyncGroupResult> = {
  apiKey: ApiKey.SyncGroup,
  name: 'SyncGroup',
  minVersion: 0,
  maxVersion: 3,

  decode(r, v) {
    const groupId = r.string();
    const generationId = r.int32();
    const memberId = r.string();
    const groupInstanceId = v >= 3 ? r.nullableString() : null;
    const assignments = r.array((r) => ({ memberId: r.string(), assignment: r.bytes() }));
    return { groupId, generationId, memberId, groupInstanceId, assignments };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.groupId);
    if (error) return syncGroupHandler.errorResponse(req, error, ctx);
    return ctx.cluster.groups.sync(req.groupId, req.generationId, req.memberId, req.assignments);
  },

  encode(w, res, v) {
    if (v >= 1) w.int32(0);
    w.int16(res.errorCode).bytes(res.assignment);
  },

  errorResponse(_req, errorCode) {
    return { errorCode, assignment: Buffer.alloc(0) };
  },
};
