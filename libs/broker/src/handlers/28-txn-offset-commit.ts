/**
 * TxnOffsetCommit (key 28), versions 0-2 (3+ are flexible and add the group member fields of KIP-447; not
 * served, clients step down).
 *
 * Stages consumed offsets in the producer's open transaction; they reach the group's committed offsets
 * (OffsetFetch) only when the transaction commits, and are dropped when it aborts. Sent to the group's
 * coordinator (NOT_COORDINATOR elsewhere). The group must have been added with AddOffsetsToTxn
 * (INVALID_TXN_STATE otherwise); a wrong producer id or an old epoch answer INVALID_PRODUCER_ID_MAPPING /
 * INVALID_PRODUCER_EPOCH. An unknown partition fails alone with UNKNOWN_TOPIC_OR_PARTITION.
 * Deliberate difference: the group's generation is not checked (Kafka does not either before v3).
 *
 *   TxnOffsetCommitRequest => transactional_id: STRING group_id: STRING producer_id: INT64 producer_epoch: INT16
 *                             [topics: name: STRING [partitions: partition_index: INT32 committed_offset: INT64
 *                             committed_leader_epoch: INT32 (v2+) committed_metadata: NULLABLE_STRING]]
 *   TxnOffsetCommitResponse => throttle_time_ms: INT32 [topics: name: STRING [partitions: partition_index: INT32 error_code: INT16]]
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  transactionalId: string;
  groupId: string;
  producerId: number;
  producerEpoch: number;
  topics: { name: string; partitions: { index: number; offset: number; leaderEpoch: number; metadata: string | null }[] }[];
}

interface Response {
  topics: { name: string; partitions: { index: number; errorCode: number }[] }[];
}

export const txnOffsetCommitHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.TxnOffsetCommit,
  name: 'TxnOffsetCommit',
  minVersion: 0,
  maxVersion: 2,

  decode(r, v) {
    return {
      transactionalId: r.string(),
      groupId: r.string(),
      producerId: r.int64(),
      producerEpoch: r.int16(),
      topics: r.array((r) => ({
        name: r.string(),
        partitions: r.array((r) => {
          const index = r.int32();
          const offset = r.int64();
          const leaderEpoch = v >= 2 ? r.int32() : -1;
          return { index, offset, leaderEpoch, metadata: r.nullableString() };
        }),
      })),
    };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.groupId);
    if (error) return txnOffsetCommitHandler.errorResponse(req, error, ctx);
    return { topics: ctx.cluster.transactions.commitOffsets(req.transactionalId, req.groupId, req.producerId, req.producerEpoch, req.topics) };
  },

  encode(w, res) {
    w.int32(0);
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
