/**
 * InitProducerId (key 22), versions 0-1 (v2 adds the current producer id and epoch, v3+ is flexible; not
 * served, clients step down).
 *
 * Hands an idempotent producer its producer id and epoch from the cluster's `ProducerStateManager`. Any
 * node answers (Kafka lets a non-transactional producer ask any broker; kafkajs asks the controller).
 *
 * Deliberate difference from Apache Kafka: transactions are not supported, so a request with a
 * transactional id is refused with INVALID_REQUEST (42), non-retriable, and a warning naming the
 * transactional id is logged; a producer that needs exactly-once within Kafka must run against a real
 * cluster. The transaction timeout is ignored.
 *
 *   InitProducerIdRequest  => transactional_id NULLABLE_STRING transaction_timeout_ms INT32
 *   InitProducerIdResponse => throttle_time_ms INT32 error_code INT16 producer_id INT64 producer_epoch INT16
 */
import { clientText } from '../connection-limits.js';
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
    const { cluster, connection } = ctx;
    if (req.transactionalId !== null) {
      cluster.logger.warn(
        `InitProducerId from ${connection.remote} names transactional id ${clientText(req.transactionalId)}: the embedded broker does not support transactions; ` +
          'use an idempotent producer without a transactionalId',
      );
      return initProducerIdHandler.errorResponse(req, ErrorCode.INVALID_REQUEST, ctx);
    }
    return { errorCode: ErrorCode.NONE, ...cluster.producers.initProducerId(null) };
  },

  encode(w, res) {
    w.int32(0).int16(res.errorCode).int64(res.producerId).int16(res.producerEpoch);
  },

  errorResponse(_req, errorCode) {
    return { errorCode, producerId: -1, producerEpoch: -1 };
  },
};
