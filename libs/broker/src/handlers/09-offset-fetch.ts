/**
 * OffsetFetch (key 9), versions 1-5 (v0 read offsets from ZooKeeper and is not served; flexible versions,
 * 6+, are not served either; clients step down).
 *
 * Returns the group's committed offset and metadata for each named partition, or for every partition the
 * group has committed when topics is null (v2+). A partition without a commit, of a known or unknown topic,
 * answers offset -1, metadata '' and no error, as Kafka does. Group-level errors (NOT_COORDINATOR) go in
 * the top-level error code from v2 on, with no topics; in v1 each requested partition carries them.
 * Committed leader epochs (v5+) are returned as they were committed (-1 when none was sent).
 *
 *   OffsetFetchRequest => group_id: STRING [topics: name: STRING [partition_indexes: INT32]] (nullable v2+)
 *   OffsetFetchResponse => throttle_time_ms: INT32 (v3+) [topics: name: STRING [partitions: partition_index: INT32
 *                          committed_offset: INT64 committed_leader_epoch: INT32 (v5+) metadata: NULLABLE_STRING
 *                          error_code: INT16]] error_code: INT16 (v2+)
 */
import { coordinatorError, type OffsetFetchTopic } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groupId: string;
  topics: { name: string; partitions: number[] }[] | null;
}

interface Response {
  errorCode: number;
  topics: OffsetFetchTopic[];
}

export const offsetFetchHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.OffsetFetch,
  name: 'OffsetFetch',
  minVersion: 1,
  maxVersion: 5,

  decode(r) {
    return {
      groupId: r.string(),
      topics: r.nullableArray((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) })),
    };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.groupId);
    if (error) return offsetFetchHandler.errorResponse(req, error, ctx);
    return { errorCode: ErrorCode.NONE, topics: ctx.cluster.groups.fetchOffsets(req.groupId, req.topics) };
  },

  encode(w, res, v) {
    if (v >= 3) w.int32(0);
    // v1 has no top-level error code: a group-level error is repeated on each requested partition.
    const topics = v < 2 || res.errorCode === ErrorCode.NONE ? res.topics : [];
    w.array(topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => {
        w.int32(p.index).int64(p.offset);
        if (v >= 5) w.int32(p.leaderEpoch);
        w.nullableString(p.metadata).int16(v < 2 && res.errorCode !== ErrorCode.NONE ? res.errorCode : p.errorCode);
      });
    });
    if (v >= 2) w.int16(res.errorCode);
  },

  errorResponse(req, errorCode) {
    return {
      errorCode,
      topics: (req.topics ?? []).map((t) => ({
        name: t.name,
        partitions: t.partitions.map((index) => ({ index, offset: -1, leaderEpoch: -1, metadata: '', errorCode })),
      })),
    };
  },

  topics: (req) => (req.topics ?? []).map((t) => t.name),
};
