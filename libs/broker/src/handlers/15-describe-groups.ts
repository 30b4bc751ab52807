/**
 * DescribeGroups (key 15), versions 0-4 (flexible versions, 5+, are not served; clients step down).
 *
 * Describes each named group: state spelled as Kafka spells it (Empty, PreparingRebalance,
 * CompletingRebalance, Stable, Dead), protocol type, and members with client id and host. As in Kafka the
 * protocol and each member's metadata and assignment are filled in only when the group is Stable; an
 * unknown group is reported as Dead with no error. A group coordinated by another node answers
 * NOT_COORDINATOR in its own entry. Authorized operations (v3+) are not computed: they are reported as
 * unknown (INT32 min), as Kafka does when they were not requested.
 *
 *   DescribeGroupsRequest => [groups: STRING] include_authorized_operations: BOOL (v3+)
 *   DescribeGroupsResponse => throttle_time_ms: INT32 (v1+) [groups: error_code: INT16 group_id: STRING
 *                             group_state: STRING protocol_type: STRING protocol_data: STRING
 *                             [members: member_id: STRING group_instance_id: NULLABLE_STRING (v4+)
 *                             client_id: STRING client_host: STRING member_metadata: BYTES member_assignment: BYTES]
 *                             authorized_operations: INT32 (v3+)]
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groups: string[];
}

interface DescribedMember {
  memberId: string;
  groupInstanceId: string | null;
  clientId: string;
  clientHost: string;
  metadata: Buffer;
  assignment: Buffer;
}

interface DescribedGroup {
  errorCode: number;
  groupId: string;
  state: string;
  protocolType: string;
  protocol: string;
  members: DescribedMember[];
}

interface Response {
  groups: DescribedGroup[];
}

const EMPTY = Buffer.alloc(0);
const UNKNOWN_OPERATIONS = -2147483648;

function failed(groupId: string, errorCode: number): DescribedGroup {
  return { errorCode, groupId, state: '', protocolType: '', protocol: '', members: [] };
}

export const describeGroupsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.DescribeGroups,
  name: 'DescribeGroups',
  minVersion: 0,
  maxVersion: 4,

  decode(r, v) {
    const groups = r.array((r) => r.string());
    if (v >= 3) r.bool();
    return { groups };
  },

  handle(req, ctx) {
    return {
      groups: req.groups.map((groupId): DescribedGroup => {
        const error = coordinatorError(ctx, groupId);
        if (error) return failed(groupId, error);
        const g = ctx.cluster.groups.describe(groupId);
        if (!g) return { errorCode: ErrorCode.NONE, groupId, state: 'Dead', protocolType: '', protocol: '', members: [] };
        const stable = g.state === 'Stable';
        return {
          errorCode: ErrorCode.NONE,
          groupId,
          state: g.state,
          protocolType: g.protocolType,
          protocol: stable ? g.protocol : '',
          members: g.members.map((m) => ({
            memberId: m.memberId,
            groupInstanceId: m.groupInstanceId,
            clientId: m.clientId,
            clientHost: m.clientHost,
            metadata: stable ? m.metadata : EMPTY,
            assignment: stable ? m.assignment : EMPTY,
          })),
        };
      }),
    };
  },

  encode(w, res, v) {
    if (v >= 1) w.int32(0);
    w.array(res.groups, (w, g) => {
      w.int16(g.errorCode).string(g.groupId).string(g.state).string(g.protocolType).string(g.protocol);
      w.array(g.members, (w, m) => {
        w.string(m.memberId);
        if (v >= 4) w.nullableString(m.groupInstanceId);
        w.string(m.clientId).string(m.clientHost).bytes(m.metadata).bytes(m.assignment);
      });
      if (v >= 3) w.int32(UNKNOWN_OPERATIONS);
    });
  },

  errorResponse(req, errorCode) {
    return { groups: req.groups.map((groupId) => failed(groupId, errorCode)) };
  },
};
