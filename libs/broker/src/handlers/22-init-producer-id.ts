/**
 * InitProducerId (key 22), versions 0-1 (2+ are flexible, 3+ add the current producer id and epoch for
 * KIP-360's epoch bump; not served, clients step down).
 *
 * Without a transactional id: a new idempotent producer id at epoch 0, from the cluster's
 * `ProducerStateManager`; any node answers (kafkajs asks any broker, librdkafka the least loaded one).
 * With a transactional id: the transaction coordinator (`transactions.ts`) answers, only on the id's
 * coordinator node (NOT_COORDINATOR elsewhere): the same producer id each time with its epoch bumped, which
 * fences the previous instance and aborts a transaction it left open. A transaction timeout of 0 or above
 * transaction.max.timeout.ms (900000) answers INVALID_TRANSACTION_TIMEOUT, as Kafka does.
 *
 *   InitProducerIdRequest  => transactional_id NULLABLE_STRING transaction_timeout_ms INT32
 *   InitProducerIdResponse => throttle_time_ms INT32 error_code INT16 producer_id INT64 producer_epoch INT16
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  transactionalId: string | null;
  transactionTimeoutMs: number;
}

interface Response {
  errorCode: number;
  producerId: number;
  producerEpoch: number;
}

export const initProducerIdHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.InitProducerId,
  name: 'InitProducerId',
  minVersion: 0,
  maxVersion: 1,

  decode(r) {
    return { transactionalId: r.nullableString(), transactionTimeoutMs: r.int32() };
  },

  handle(req, ctx) {
    const { cluster } = ctx;
    if (req.transactionalId === null || req.transactionalId === '') return { errorCode: ErrorCode.NONE, ...cluster.producers.initProducerId(null) };
    const error = coordinatorError(ctx, req.transactionalId);
    if (error) return initProducerIdHandler.errorResponse(req, error, ctx);
    return cluster.transactions.initProducerId(req.transactionalId, req.transactionTimeoutMs);
  },

  encode(w, res) {
    w.int32(0).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch);
  },

  errorResponse(_req, errorCode) {
    return { errorCode, producerId: -1, producerEpoch: -1 };
  },
};
