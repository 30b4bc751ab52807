import { connect } from 'node:net';

/** ApiVersions (key 18) v0: the first request every Kafka client sends; any broker since 0.10 answers it, before authentication. */
const API_VERSIONS = 18;
const CORRELATION_ID = 0x6b6e;
/** A Kafka response is not this large; the first bytes of, say, an HTTP reply read as a size are. */
const MAX_RESPONSE_BYTES = 1 << 20;

/**
 *   Request => Size: INT32 | api_key: INT16 | api_version: INT16 | correlation_id: INT32 | client_id: NULLABLE_STRING
 * (ApiVersions v0 has an empty body.)
 */
function apiVersionsRequest(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const out = Buffer.alloc(14 + id.length);
  out.writeInt32BE(out.length - 4, 0);
  out.writeInt16BE(API_VERSIONS, 4);
  out.writeInt16BE(0, 6);
  out.writeInt32BE(CORRELATION_ID, 8);
  out.writeInt16BE(id.length, 12);
  id.copy(out, 14);
  return out;
}

/** The start of what a non-Kafka server sent: its first line when it is text (`"HTTP/1.1 400 Bad Request"`), else hex. */
function describeAnswer(bytes: Buffer): string {
  const head = bytes.subarray(0, 40);
  const text = head.toString('latin1').split(/\r?\n/)[0]!;
  return /^[\x20-\x7e]+$/.test(text) ? JSON.stringify(text) : `bytes ${head.subarray(0, 8).toString('hex')}`;
}

/**
 * Asks `address` (`host:port`) whether it is a Kafka broker: sends an ApiVersions request and reads the
 * header of the answer.
 *
 *   Response => Size: INT32 | correlation_id: INT32 | error_code: INT16 | ...
 *
 * Resolves to undefined when a broker answered (whatever its error code: it speaks Kafka), or to what went
 * wrong, phrased to follow the address: "accepted a connection but sent no Kafka answer within 3 s".
 */
export function kafkaProblemAt(address: string, timeoutMs: number): Promise<string | undefined> {
  const colon = address.lastIndexOf(':');
  const [host, port] = [address.slice(0, colon), Number(address.slice(colon + 1))];
  const seconds = `${timeoutMs / 1000} s`;
  return new Promise((resolve) => {
    let connected = false;
    let settled = false;
    let received = Buffer.alloc(0);
    const socket = connect({ host, port });
    const done = (problem: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(problem);
    };
    const timer = setTimeout(
      () => done(connected ? `accepted a connection but sent no Kafka answer within ${seconds}` : `did not accept a connection within ${seconds}`),
      timeoutMs,
    );
    socket.once('connect', () => {
      connected = true;
      socket.write(apiVersionsRequest('kafka-nest-sample'));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 8) return;
      const size = received.readInt32BE(0);
      const kafka = size >= 6 && size <= MAX_RESPONSE_BYTES && received.readInt32BE(4) === CORRELATION_ID;
      done(kafka ? undefined : `answered, but not as a Kafka broker (${describeAnswer(received)})`);
    });
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(connected ? `dropped the connection (${err.code ?? err.message})` : `could not be connected to (${err.code ?? err.message})`),
    );
    socket.once('close', () =>
      done(received.length ? `answered, but not as a Kafka broker (${describeAnswer(received)})` : 'closed the connection without answering'),
    );
  });
}
