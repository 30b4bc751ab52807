/**
 * ListGroups (key 16), versions 0-2 (flexible versions, 3+, and the state filter of v4 are not served;
 * clients step down).
 *
 * Lists the groups this node coordinates, with their protocol type ('' for a group that only has
 * committed offsets), as each Kafka broker lists its own; clients ask every node and merge the lists.
 * With an authorizer, only the groups the principal may describe (all, with DESCRIBE on the cluster).
 *
 *   ListGroupsRequest => (no fields)
 *   ListGroupsResponse => throttle_time_ms: INT32 (v1+) error_code: INT16 [groups: group_id: STRING protocol_type: STRING]
 */
import { AclOperation, CLUSTER_RESOURCE, ResourceType } from '../acls.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

type Request = Record<string, never>;

interface Response {
  errorCode: number;
  groups: { groupId: string; protocolType: string }[];
}

export const listGroupsHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.ListGroups,
  name: 'ListGroups',
  minVersion: 0,
  maxVersion: 2,

  decode() {
    return {};
  },

  handle(_req, ctx) {
    const { cluster, node } = ctx;
    const authorizer = cluster.authorizer;
    // With an authorizer: the groups the principal may describe, or all with DESCRIBE on the cluster.
    const visible = (groupId: string) =>
      !authorizer ||
      authorizer.permits(ctx, ResourceType.CLUSTER, CLUSTER_RESOURCE, AclOperation.DESCRIBE) ||
      authorizer.permits(ctx, ResourceType.GROUP, groupId, AclOperation.DESCRIBE);
    const groups = cluster.groups
      .list()
      .filter((g) => cluster.coordinatorOf(g.groupId) === node.id && visible(g.groupId))
      .map(({ groupId, protocolType }) => ({ groupId, protocolType }));
    return { errorCode: ErrorCode.NONE, groups };
  },

  encode(w, res, v) {
    if (v >= 1) w.int32(0);
    w.int16(res.errorCode);
    w.array(res.groups, (w, g) => w.string(g.groupId).string(g.protocolType));
  },

  errorResponse(_req, errorCode) {
    return { errorCode, groups: [] };
  },
};
