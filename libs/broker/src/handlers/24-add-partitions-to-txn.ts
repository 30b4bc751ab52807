/**
 * AddPartitionsToTxn (key 24), versions 0-2 (3+ are flexible, 4+ batch several transactions for brokers;
 * not served, clients step down).
 *
 * Adds partitions to the producer's open transaction (opening it, and starting its transaction.timeout.ms)
 * before the producer writes transactional batches to them; the transaction coordinator
 * (`transactions.ts`) answers. Sent to the transaction coordinator of the transactional id
 * (NOT_COORDINATOR elsewhere). A wrong producer id answers INVALID_PRODUCER_ID_MAPPING, an old epoch
 * INVALID_PRODUCER_EPOCH (the producer was fenced). As in Kafka, an unknown partition fails with
 * UNKNOWN_TOPIC_OR_PARTITION and the others of the request with OPERATION_NOT_ATTEMPTED, and nothing is added.
 *
 *   AddPartitionsToTxnRequest => transactional_id: STRING producer_id: INT64 producer_epoch: INT16
 *                                [topics: name: STRING [partitions: INT32]]
 *   AddPartitionsToTxnResponse => throttle_time_ms: INT32 [results: name: STRING
 *                                 [results: partition_index: INT32 error_code: INT16]]
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topics: { name: string; partitions: number[] }[];
}

interface Response {
  topics: { name: string; partitions: { index: number; errorCode: number }[] }[];
}

export const addPartitionsToTxnHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.AddPartitionsToTxn,
  name: 'AddPartitionsToTxn',
  minVersion: 0,
  maxVersion: 2,

  decode(r) {
    return {
      transactionalId: r.string(),
      producerId: r.int64(),
      producerEpoch: r.int16(),
      topics: r.array((r) => ({ name: r.string(), partitions: r.array((r) => r.int32()) })),
    };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.transactionalId);
    if (error) return addPartitionsToTxnHandler.errorResponse(req, error, ctx);
    return { topics: ctx.cluster.transactions.addPartitions(req.transactionalId, req.producerId, req.producerEpoch, req.topics) };
  },

  encode(w, res) {
    w.int32(0);
    w.array(res.topics, (w, t) => {
      w.string(t.name);
      w.array(t.partitions, (w, p) => w.int32(p.index).int16(p.errorCode));
    });
  },

  errorResponse(req, errorCode) {
    return { topics: req.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((index) => ({ index, errorCode })) })) };
  },

  topics: (req) => req.topics.map((t) => t.name),
};
