/**
 * EndTxn (key 26), versions 0-2 (3+ are flexible; not served, clients step down).
 *
 * Commits (`committed` true) or aborts the producer's open transaction: the coordinator writes a COMMIT or
 * ABORT control record to each of its partitions, which moves their last stable offset past it, and makes
 * the offsets sent into it visible (commit) or drops them (abort). Repeating the outcome of a transaction
 * that just completed succeeds again (a retry after a lost response); the other outcome, or ending a
 * transaction that never began, answers INVALID_TXN_STATE. A fenced producer (older epoch, including one
 * whose transaction timed out) gets INVALID_PRODUCER_EPOCH. Sent to the transactional id's coordinator.
 *
 *   EndTxnRequest => transactional_id: STRING producer_id: INT64 producer_epoch: INT16 committed: BOOLEAN
 *   EndTxnResponse => throttle_time_ms: INT32 error_code: INT16
 */
import { coordinatorError } from '../group-coordinator.js';
import { ApiKey } from '../protocol/api-keys.js';
import type { ApiHandler } from './handler.js';

interface Request {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  committed: boolean;
}

interface Response {
  errorCode: number;
}

export const endTxnHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.EndTxn,
  name: 'EndTxn',
  minVersion: 0,
  maxVersion: 2,

  decode(r) {
    return { transactionalId: r.string(), producerId: r.int64(), producerEpoch: r.int16(), committed: r.bool() };
  },

  handle(req, ctx) {
    const error = coordinatorError(ctx, req.transactionalId);
    if (error) return { errorCode: error };
    return { errorCode: ctx.cluster.transactions.endTxn(req.transactionalId, req.producerId, req.producerEpoch, req.committed) };
  },

  encode(w, res) {
    w.int32(0).int16(res.errorCode);
  },

  errorResponse(_req, errorCode) {
    return { errorCode };
  },
};
