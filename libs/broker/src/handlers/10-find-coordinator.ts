/**
 * FindCoordinator (key 10), versions 0-2 (flexible versions, 3+, are not served; clients step down).
 *
 * Names the node coordinating a group (key type 0) or a transactional id (key type 1): a stable hash of the
 * key onto the live nodes (`Cluster.coordinatorOf`), so the answer moves when that node stops and returns
 * when it restarts. Any node answers; COORDINATOR_NOT_AVAILABLE only if no node is live. An unknown key
 * type answers INVALID_REQUEST.
 *
 *   FindCoordinatorRequest => key: STRING key_type: INT8 (v1+)
 *   FindCoordinatorResponse => throttle_time_ms: INT32 (v1+) error_code: INT16 error_message: NULLABLE_STRING (v1+)
 *                              node_id: INT32 host: STRING port: INT32
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Request {
  key: string;
  keyType: number;
}

interface Response {
  errorCode: number;
  errorMessage: string | null;
  nodeId: number;
  host: string;
  port: number;
}

export const findCoordinatorHandler: ApiHandler<Request, Response> = {
  apiKey: ApiKey.FindCoordinator,
  name: 'FindCoordinator',
  minVersion: 0,
  maxVersion: 2,

  decode(r, v) {
    return { key: r.string(), keyType: v >= 1 ? r.int8() : 0 };
  },

  handle(req, ctx) {
    const { cluster } = ctx;
    if (req.keyType !== 0 && req.keyType !== 1) {
      return { ...findCoordinatorHandler.errorResponse(req, ErrorCode.INVALID_REQUEST, ctx), errorMessage: `unknown coordinator key type ${req.keyType}; 0 is group, 1 is transaction` };
    }
    const id = cluster.coordinatorOf(req.key);
    const node = cluster.nodes[id];
    if (id < 0 || !node) return findCoordinatorHandler.errorResponse(req, ErrorCode.COORDINATOR_NOT_AVAILABLE, ctx);
    return { errorCode: ErrorCode.NONE, errorMessage: null, nodeId: node.id, host: node.host, port: node.ports[ctx.connection.listener] };
  },

  encode(w, res, v) {
    if (v >= 1) w.int32(0);
    w.int16(res.errorCode);
    if (v >= 1) w.nullableString(res.errorMessage);
    w.int32(res.nodeId).string(res.host).int32(res.port);
  },

  errorResponse(_req, errorCode) {
    return { errorCode, errorMessage: null, nodeId: -1, host: '', port: -1 };
  },
};
