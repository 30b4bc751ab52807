/**
 * A bare Kafka client over one TCP socket, for tests that must send exact bytes: hand-built requests,
 * malformed frames, versions no library sends. Requests are framed with the project's Writer; responses
 * are split into frames and handed back, in order, as Readers positioned after the correlation id.
 */
import { connect, type Socket } from 'node:net';
import { Reader } from '../../libs/broker/src/protocol/reader.js';
import { Writer } from '../../libs/broker/src/protocol/writer.js';

export interface RawRequest {
  apiKey: number;
  apiVersion: number;
  /** Writes the request body (after the header). */
  body?: (w: Writer) => void;
  /** @default 'raw-client' */
  clientId?: string | null;
  /** Request header v2 (flexible versions): a tagged-field section after the client id. @default false */
  flexibleHeader?: boolean;
  correlationId?: number;
}

/** The bytes of one request frame, size prefix included. */
export function requestFrame(req: RawRequest, correlationId: number): Buffer {
  const w = new Writer();
  w.int32(0).int16(req.apiKey).int16(req.apiVersion).int32(correlationId).nullableString(req.clientId === undefined ? 'raw-client' : req.clientId);
  if (req.flexibleHeader) w.uvarint(0);
  const body = new Writer(req.flexibleHeader ?? false);
  req.body?.(body);
  w.raw(body.toBuffer());
  const frame = w.toBuffer();
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

export class RawClient {
  private pending = Buffer.alloc(0);
  private readonly frames: Buffer[] = [];
  private waiters: { resolve: (b: Buffer) => void; reject: (e: Error) => void }[] = [];
  private nextCorrelationId = 1;
  private isClosed = false;
  /** Resolves when the broker (or the test) closes the socket. */
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.isClosed = true;
        for (const w of this.waiters) w.reject(new Error('connection closed before a response arrived'));
        this.waiters = [];
        resolve();
      });
    });
    socket.on('error', () => {});
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 4 && this.pending.length >= 4 + this.pending.readInt32BE(0)) {
      const size = this.pending.readInt32BE(0);
      const frame = this.pending.subarray(4, 4 + size);
      this.pending = this.pending.subarray(4 + size);
      const waiter = this.waiters.shift();
      if (waiter) waiter.resolve(frame);
      else this.frames.push(frame);
    }
  }

  /** The next response frame (correlation id included). */
  nextFrame(): Promise<Buffer> {
    const ready = this.frames.shift();
    if (ready) return Promise.resolve(ready);
    if (this.isClosed) return Promise.reject(new Error('connection is closed'));
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Writes bytes as they are. */
  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /**
   * Sends one request and resolves with a Reader on its response body, after checking the correlation id.
   * `flexibleResponseHeader` skips the response header's tagged fields (flexible versions but ApiVersions).
   */
  async request(req: RawRequest, flexibleResponseHeader = false): Promise<Reader> {
    const correlationId = req.correlationId ?? this.nextCorrelationId++;
    this.send(requestFrame(req, correlationId));
    const frame = await this.nextFrame();
    const r = new Reader(frame);
    const got = r.int32();
    if (got !== correlationId) throw new Error(`response correlation id ${got}, expected ${correlationId}`);
    if (flexibleResponseHeader) {
      r.flexible = true;
      r.tags();
      r.flexible = false;
    }
    return r;
  }

  close(): void {
    this.socket.destroy();
  }
}
