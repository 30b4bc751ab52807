/**
 * SaslAuthenticate (key 36), versions 0-1 (v2 is flexible and not served).
 *
 * Carries the SASL tokens of the mechanism chosen by SaslHandshake. On success the connection may send
 * any request; on failure the client gets SASL_AUTHENTICATION_FAILED with a message that names neither
 * the user nor the password, and the connection is closed, as Kafka does. Credentials are never logged.
 *
 *   SaslAuthenticateRequest => auth_bytes: BYTES
 *   SaslAuthenticateResponse => error_code: INT16 error_message: NULLABLE_STRING auth_bytes: BYTES
 *                               session_lifetime_ms: INT64 (v1+)
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Response {
  errorCode: number;
  errorMessage: string | null;
  authBytes: Buffer;
}

export const saslAuthenticateHandler: ApiHandler<{ authBytes: Buffer }, Response> = {
  apiKey: ApiKey.SaslAuthenticate,
  name: 'SaslAuthenticate',
  minVersion: 0,
  maxVersion: 1,

  decode: (r) => ({ authBytes: r.bytes() }),

  handle(req, { cluster, connection }) {
    const sasl = cluster.options.sasl;
    if (!sasl || !connection.saslMechanism || connection.authenticated) {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate before a successful SaslHandshake', authBytes: Buffer.alloc(0) };
    }
    const step = connection.saslStep(req.authBytes);
    if (step.kind === 'failed') {
      connection.closeAfterResponse = true;
      return { errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: step.reason, authBytes: Buffer.alloc(0) };
    }
    return { errorCode: 0, errorMessage: null, authBytes: step.token };
  },

  encode(w, res, v) {
    w.int16(res.errorCode).nullableString(res.errorMessage).bytes(res.authBytes);
    if (v >= 1) w.int64(0);
  },

  errorResponse: (_req, errorCode) => ({ errorCode, errorMessage: null, authBytes: Buffer.alloc(0) }),
};
