/**
 * OffsetCommit (key 8), versions 0-7 (flexible versions, 8+, are not served; clients step down).
 *
 * Stores each partition's offset and metadata for the group; OffsetFetch returns them unchanged. A commit
 * with generation -1 (always so in v0) is a "simple" commit, accepted while the group is Empty or unknown
 * (kafka-python's manual commits and admin tools use it) and creating the group in state Empty. Otherwise
 * the member must belong to the current generation: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, or
 * REBALANCE_IN_PROGRESS between JoinGroup and SyncGroup (as in Kafka, commits are still accepted while the
 * rebalance gathers members). An unknown topic or partition fails alone with UNKNOWN_TOPIC_OR_PARTITION.
 * Deliberate differences: retention_time (v2-4) and the commit timestamp (v1) are ignored; offsets never
 * expire. Metadata longer than 4096 bytes fails with OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes).
 *
 *   OffsetCommitRequest => group_id: STRING generation_id: INT32 (v1+) member_id: STRING (v1+)
 *                          group_instance_id: NULLABLE_STRING (v7+) retention_time_ms: INT64 (v2-4)
 *                          [topics: name: STRING [partitions: partition_index: INT32 committed_offset: INT64
 *                          committed_leader_epoch: INT32 (v6+) commit_timestamp: INT64 (v1)
 *                          committed_metadata: NULLABLE_STRING]]
 *   OffsetCommitResponse => throttle_time_ms: INT32 (v3+) [topics: name: STRING [partitions: partition_index: INT32 error_code: INT16]]
 */
import { coordinatorError, type OffsetCommitTopic } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  groupId: string;
  generationId: number;
  memberId: string;
  groupInstanceId: string | null;
  topics: OffsetCommitTopic[];
}

interface Response {
  topics: { name: string; partitions: { index: number; errorCode: number }[] }[];
}

export const offsetCommitHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.OffsetCommit,
  name: 'OffsetCommit',
  minVersion: 0,
  maxVersion: 7,

  decode(r, v) {
    const groupId = r.string();
    const generationId = v >= 1 ? r.int32() : -1;
    const memberId = v >= 1 ? r.string() : '';
    const groupInstanceId = v >= 7 ? r.nullableString() : null;
    if (v >= 2 && v <= 4) r.int64();
    const topics = r.array((r) => ({
      name: r.string(),
      partitions: r.array((r) => {
        const index = r.int32();
        const offset = r.int64();
        const leaderEpoch = v >= 6 ? r.int32() : -1;
        if (v === 1) r.int64();
        return { index, offset, leaderEpoch, metadata: r.nullableString() };
      }),
    }));
    return { groupId, generationId, memberId, groupInstanceId, topics };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.groupId);
    if (error) return offsetCommitHandler.errorResponse(req, error, ctx);
    return { topics: ctx.cluster.groups.commitOffsets(req.groupId, req.generationId, req.memberId, req.topics) };
  },

  encode(w, res, v) {
    if (v >= 3) w.int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.index).int16(p.errorCode));
    });
  },

  errorResponse(req, errorCode) {
    return { topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ index: p.index, errorCode })) })) };
  },

  topics: (req) => req.topics.map((t) => t.name),
};
