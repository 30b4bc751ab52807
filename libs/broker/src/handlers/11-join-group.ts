/**
 * JoinGroup (key 11), versions 0-5 (flexible versions, 6+, are not served; clients step down).
 *
 * Adds the member to the group and holds the response until the rebalance completes: when every known
 * member has rejoined, or the rebalance timeout (the largest of the members' rebalance_timeout_ms; the
 * session timeout in v0) expires and the members that did not rejoin are dropped. Then every pending join
 * is answered with the new generation and the chosen protocol; the leader also gets each member's metadata.
 * From v4 a member without id first gets MEMBER_ID_REQUIRED with a generated id (`<client.id>-<uuid>`) to
 * join again with (KIP-394); v0-3 get their id at once. Errors: INVALID_SESSION_TIMEOUT outside the
 * broker's groupMinSessionTimeoutMs..groupMaxSessionTimeoutMs, INCONSISTENT_GROUP_PROTOCOL for a protocol
 * type or set of protocols the other members do not share, UNKNOWN_MEMBER_ID for an id the group does not
 * know, NOT_COORDINATOR on a node that does not coordinate the group. The first rebalance of an empty group
 * waits groupInitialRebalanceDelayMs (default 0). Deliberate difference: group_instance_id (v5) is stored
 * and reported, but static membership is not implemented.
 *
 *   JoinGroupRequest => group_id: STRING session_timeout_ms: INT32 rebalance_timeout_ms: INT32 (v1+)
 *                       member_id: STRING group_instance_id: NULLABLE_STRING (v5+) protocol_type: STRING
 *                       [protocols: name: STRING metadata: BYTES]
 *   JoinGroupResponse => throttle_time_ms: INT32 (v2+) error_code: INT16 generation_id: INT32
 *                        protocol_name: STRING leader: STRING member_id: STRING
 *                        [members: member_id: STRING group_instance_id: NULLABLE_STRING (v5+) metadata: BYTES]
 */
import { clientHostOf, coordinatorError, type JoinGroupResult } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groupId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  memberId: string;
  groupInstanceId: string | null;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
}

export const joinGroupHandler: ApiHandler<Request, JoinGroupResult> = {
  apiKey: ApiKey.JoinGroup,
  name: 'JoinGroup',
  minVersion: 0,
  maxVersion: 5,

  decode(r, v) {
    const groupId = r.string();
    const sessionTimeoutMs = r.int32();
    const rebalanceTimeoutMs = v >= 1 ? r.int32() : sessionTimeoutMs;
    const memberId = r.string();
    const groupInstanceId = v >= 5 ? r.nullableString() : null;
    const protocolType = r.string();
    const protocols = r.array((r) => ({ name: r.string(), metadata: r.bytes() }));
    return { groupId, sessionTimeoutMs, rebalanceTimeoutMs, memberId, groupInstanceId, protocolType, protocols };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.groupId);
    if (error) return joinGroupHandler.errorResponse(req, error, ctx);
    return ctx.cluster.groups.join({
      ...req,
      clientId: ctx.clientId ?? '',
      clientHost: clientHostOf(ctx),
      requireKnownMemberId: ctx.apiVersion >= 4,
    });
  },

  encode(w, res, v) {
    if (v >= 2) w.int32(0);
    w.int16(res.errorCode).int32(res.generationId).string(res.protocolName ?? '').string(res.leader).string(res.memberId);
    w.array(res.members, (w, m) => {
      w.string(m.memberId);
      if (v >= 5) w.nullableString(m.groupInstanceId);
      w.bytes(m.metadata);
    });
  },

  errorResponse(req, errorCode) {
    return { errorCode, generationId: -1, protocolName: null, leader: '', memberId: req.memberId, members: [] };
  },
};
