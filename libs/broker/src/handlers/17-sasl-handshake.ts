/**
 * SaslHandshake (key 17), versions 0-1.
 *
 * Chooses the mechanism. After v1 the tokens travel in SaslAuthenticate requests (kafkajs, librdkafka);
 * after v0 they travel raw, a size and the token with no request header, until authentication ends
 * (kafka-python 2.x): the connection reads them so. Without SASL configured, every mechanism is refused
 * with UNSUPPORTED_SASL_MECHANISM and an empty list. A second SaslHandshake on a connection that has not
 * authenticated is answered ILLEGAL_SASL_STATE and the connection closed, as Kafka does.
 *
 *   SaslHandshakeRequest => mechanism: STRING
 *   SaslHandshakeResponse => error_code: INT16 [mechanisms: STRING]
 */
import { ApiKey } from '../protocol/api-keys.js';
import { ErrorCode } from '../protocol/error-codes.js';
import type { ApiHandler } from './handler.js';

interface Response {
  errorCode: number;
  mechanisms: string[];
}

export const saslHandshakeHandler: ApiHandler<{ mechanism: string }, Response> = {
  apiKey: ApiKey.SaslHandshake,
  name: 'SaslHandshake',
  minVersion: 0,
  maxVersion: 1,

  decode: (r) => ({ mechanism: r.string() }),

  handle(req, { cluster, connection, apiVersion }) {
    const sasl = cluster.options.sasl;
    const mechanisms: string[] = sasl ? [...(sasl.mechanisms ?? ['PLAIN'])] : [];
    if (connection.authenticated && sasl) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    // One handshake per connection, as Kafka allows: a client cannot restart the exchange again and again.
    if (++connection.saslHandshakes > 1) {
      connection.closeAfterResponse = true;
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    }
    if (!mechanisms.includes(req.mechanism)) return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms };
    connection.saslMechanism = req.mechanism;
    connection.saslExchange = null;
    connection.rawSaslTokens = apiVersion === 0;
    return { errorCode: 0, mechanisms };
  },

  encode(w, res) {
    w.int16(res.errorCode).array(res.mechanisms, (w, m) => w.string(m));
  },

  errorResponse: (_req, errorCode) => ({ errorCode, mechanisms: [] }),
};
