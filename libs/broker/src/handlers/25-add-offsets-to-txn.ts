/**
 * AddOffsetsToTxn (key 25), versions 0-2 (3+ are flexible; not served, clients step down).
 *
 * Tells the transaction coordinator that the open transaction will carry offsets of a consumer group
 * (`sendOffsets` / `send_offsets_to_transaction`), opening the transaction if needed; the producer then
 * sends them to the group coordinator with TxnOffsetCommit. Sent to the transactional id's coordinator
 * (NOT_COORDINATOR elsewhere); INVALID_PRODUCER_ID_MAPPING / INVALID_PRODUCER_EPOCH as AddPartitionsToTxn.
 *
 *   AddOffsetsToTxnRequest => transactional_id: STRING producer_id: INT64 producer_epoch: INT16 group_id: STRING
 *   AddOffsetsToTxnResponse => throttle_time_ms: INT32 error_code: INT16
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  groupId: string;
}

interface Response {
  errorCode: number;
}

export const addOffsetsToTxnHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.AddOffsetsToTxn,
  name: 'AddOffsetsToTxn',
  minVersion: 0,
  maxVersion: 2,

  decode(r) {
    return { transactionalId: r.string(), producerId: r.int64(), producerEpoch: r.int16(), groupId: r.string() };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.transactionalId);
    if (error) return { errorCode: error };
    return { errorCode: ctx.cluster.transactions.addOffsets(req.transactionalId, req.producerId, req.producerEpoch, req.groupId) };
  },

  encode(w, res) {
    w.int32(0).int16(res.errorCode);
  },

  errorResponse(_req, errorCode) {
    return { errorCode };
  },
};
