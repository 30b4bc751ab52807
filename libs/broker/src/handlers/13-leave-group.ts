/**
 * LeaveGroup (key 13), versions 0-3 (flexible versions, 4+, are not served; clients step down).
 *
 * Removes members from the group, which then rebalances without them. v0-2 name one member and answer with
 * its error; v3 (KIP-345) takes a batch of members, each by member id or, with an empty member id, by group
 * instance id, and answers per member. UNKNOWN_MEMBER_ID for a member the group does not know,
 * FENCED_INSTANCE_ID when a member id and instance id do not match, NOT_COORDINATOR on the wrong node.
 *
 *   LeaveGroupRequest => group_id: STRING member_id: STRING (v0-2)
 *                        [members: member_id: STRING group_instance_id: NULLABLE_STRING] (v3+)
 *   LeaveGroupResponse => throttle_time_ms: INT32 (v1+) error_code: INT16
 *                         [members: member_id: STRING group_instance_id: NULLABLE_STRING error_code: INT16] (v3+)
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Member {
  memberId: string;
  groupInstanceId: string | null;
}

interface Request {
  groupId: string;
  members: Member[];
}

interface Response {
  errorCode: number;
  members: (Member & { errorCode: number })[];
}

export const leaveGroupHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.LeaveGroup,
  name: 'LeaveGroup',
  minVersion: 0,
  maxVersion: 3,

  decode(r, v) {
    const groupId = r.string();
    const members = v >= 3 ? r.array((r) => ({ memberId: r.string(), groupInstanceId: r.nullableString() })) : [{ memberId: r.string(), groupInstanceId: null }];
    return { groupId, members };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.groupId);
    if (error) return leaveGroupHandler.errorResponse(req, error, ctx);
    const members = ctx.cluster.groups.leave(req.groupId, req.members);
    // v0-2 carry the single member's error at the top; v3 answers per member.
    const errorCode = ctx.apiVersion < 3 ? (members[0]?.errorCode ?? ErrorCode.NONE) : ErrorCode.NONE;
    return { errorCode, members };
  },

  encode(w, res, v) {
    if (v >= 1) w.int32(0);
    w.int16(res.errorCode);
    if (v >= 3) w.array(res.members, (w, m) => w.string(m.memberId).nullableString(m.groupInstanceId).int16(m.errorCode));
  },

  errorResponse(_req, errorCode) {
    return { errorCode, members: [] };
  },
};
