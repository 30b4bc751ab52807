/**
 * One client connection: splits the byte stream into size-prefixed frames, handles them one at a time in
 * arrival order (as Kafka does, so responses leave in request order), and writes each response with a
 * single vectored write. A frame that breaks the grammar closes this connection only.
 *
 * Back-pressure both ways, as Kafka mutes a channel until its response is sent: at most
 * MAX_QUEUED_FRAMES requests are read ahead (then the socket stops reading), and while the socket's
 * output is over its high-water mark (a client that does not read its responses) no further request is
 * handled. A client that pipelines requests without reading therefore holds at most one response beyond
 * the socket's buffer, not one per request.
 *
 * After a SaslHandshake v0 the frames that follow, until authentication ends, are raw SASL tokens (a size
 * and the token, no request header), answered the same way; a failed authentication closes the connection,
 * since v0 has no way to report it (kafka-python 2.x authenticates so). Fault injection does not apply to
 * raw tokens: they are no request.
 *
 * Bounds against hostile clients (connection-limits.ts): a frame must arrive whole within
 * `requestReceiveTimeoutMs` of its first byte; the bytes buffered across all connections stay under
 * `maxBufferedRequestBytes` (the connection whose data would pass it is closed); with SASL, a connection
 * must authenticate within `unauthenticatedTimeoutMs`, a node holds at most `maxUnauthenticatedConnections`
 * unauthenticated ones, and one SaslHandshake is allowed per connection (as Kafka allows).
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster } from './cluster.js';
import { type ApiHandler, NO_RESPONSE, type RequestContext } from './handlers/handler.js';
import type { BrokerNode } from './node.js';
import { ApiKey } from './protocol/api-keys.js';
import { ErrorCode } from './protocol/error-codes.js';
import { ProtocolError } from './protocol/protocol-error.js';
import { Reader } from './protocol/reader.js';
import { Writer } from './protocol/writer.js';
import { type SaslExchange, type SaslMechanism, type SaslStep, startExchange } from './sasl.js';

/** Requests read ahead of the one being handled before the socket stops reading. */
const MAX_QUEUED_FRAMES = 64;

/** A request header's fixed part: api_key INT16, api_version INT16, correlation_id INT32. */
const MIN_REQUEST_BYTES = 8;
/**
 * Largest frame before SASL authentication: only ApiVersions and the SASL requests are served then, and they
 * are small. Kafka's `sasl.server.max.receive.size` default, so that an unauthenticated client cannot make
 * the broker buffer `maxRequestBytes` (100 MiB by default) per connection.
 */
const MAX_UNAUTHENTICATED_BYTES = 512 * 1024;

export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes received and not yet handled, counted in the cluster's request memory budget. */
  private held = 0;
  /** Closes the connection when the partial frame being received does not complete in time. */
  private frameTimer: NodeJS.Timeout | undefined;
  /** Closes the connection when it has not authenticated in time (SASL only). */
  private authTimer: NodeJS.Timeout | undefined;
  /** Whether this connection counts among its node's unauthenticated connections. */
  private countedUnauthenticated = false;
  /** SaslHandshakes received; Kafka allows one per connection. */
  saslHandshakes = 0;
  private frames: Buffer[] = [];
  private processing = false;
  private closed = false;
  /** Aborted on close: cancels a fault's delay, so nothing waits on (or runs for) a closed connection. */
  private readonly closing = new AbortController();
  /** Set by the SASL handlers once the client has authenticated (always true without SASL). */
  authenticated: boolean;
  /** Mechanism chosen by SaslHandshake, awaiting SaslAuthenticate. */
  saslMechanism: string | null = null;
  /** The SASL exchange under way, if any. */
  saslExchange: SaslExchange | null = null;
  /** After SaslHandshake v0: the next frames are raw SASL tokens until authentication ends. */
  rawSaslTokens = false;
  /** Close once the current response is written (after a failed authentication). */
  closeAfterResponse = false;
  /** Authenticated principal, if any. */
  principal: string | null = null;
  readonly remote: string;

  constructor(
    readonly socket: Socket,
    readonly node: BrokerNode,
    readonly cluster: Cluster,
    /** Index of the listener (in the cluster's `listeners`) the client connected to. */
    readonly listener = 0,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.authenticated = !cluster.options.listeners[listener].sasl;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    if (!this.authenticated) this.admitUnauthenticated();
  }

  /** Counts this connection among the node's unauthenticated ones and starts its authentication deadline. */
  private admitUnauthenticated(): void {
    const { maxUnauthenticatedConnections, unauthenticatedTimeoutMs } = this.cluster.options;
    if (!this.node.unauthenticated.tryAdmit()) {
      this.fail(`${maxUnauthenticatedConnections} connections are already waiting to authenticate on this node (maxUnauthenticatedConnections)`);
      return;
    }
    this.countedUnauthenticated = true;
    this.authTimer = setTimeout(() => this.fail(`not authenticated within ${unauthenticatedTimeoutMs} ms (unauthenticatedTimeoutMs)`), unauthenticatedTimeoutMs);
    this.authTimer.unref();
  }

  /** Authentication succeeded: the connection leaves the unauthenticated count and its deadline. */
  private authenticatedNow(): void {
    clearTimeout(this.authTimer);
    if (this.countedUnauthenticated) this.node.unauthenticated.leave();
    this.countedUnauthenticated = false;
  }

  /**
   * Restarts the frame deadline when a partial frame starts arriving, clears it when none is pending. While
   * the socket is paused by back-pressure the broker is the one not reading, so the deadline waits.
   */
  private watchPartialFrame(frameStarted: boolean): void {
    if (this.buffered === 0) {
      clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
      return;
    }
    if (this.frameTimer && !frameStarted) return;
    clearTimeout(this.frameTimer);
    const timeoutMs = this.cluster.options.requestReceiveTimeoutMs;
    const expire = () => {
      if (this.socket.isPaused()) {
        this.frameTimer = setTimeout(expire, timeoutMs).unref();
        return;
      }
      this.fail(`a request frame did not arrive whole within ${timeoutMs} ms (requestReceiveTimeoutMs); ${this.buffered} bytes of it were buffered`);
    };
    this.frameTimer = setTimeout(expire, timeoutMs).unref();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const budget = this.cluster.requestMemory;
    if (!budget.tryTake(chunk.length)) {
      this.fail(
        `request bytes buffered across all connections would pass ${budget.maxBytes} (maxBufferedRequestBytes): ${budget.used} held, ${this.held} of them by this connection`,
      );
      return;
    }
    this.held += chunk.length;
    const wasPartial = this.buffered > 0;
    let framesDone = 0;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.buffered >= 4) {
      const head = this.chunks[0].length >= 4 ? this.chunks[0] : this.concat();
      const size = head.readInt32BE(0);
      // Before SASL authentication a frame may be a raw token (after SaslHandshake v0), which can be shorter
      // than a request header; whether it is one is known only when it is handled, so it is checked then.
      if (size < 0 || size > this.maxFrameBytes || (this.authenticated && size < MIN_REQUEST_BYTES)) {
        this.fail(this.sizeProblem(size));
        return;
      }
      if (this.buffered < size + 4) break;
      const all = this.concat();
      this.frames.push(all.subarray(4, 4 + size));
      framesDone++;
      const rest = all.subarray(4 + size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.buffered = rest.length;
    }
    this.watchPartialFrame(!wasPartial || framesDone > 0);
    // Back-pressure: stop reading while requests queue up, as Kafka mutes a busy channel.
    if (this.frames.length >= MAX_QUEUED_FRAMES) this.socket.pause();
    if (!this.processing && this.frames.length > 0) void this.drain();
  }

  private releaseHeld(bytes: number): void {
    const n = Math.min(bytes, this.held);
    this.held -= n;
    this.cluster.requestMemory.release(n);
  }

  private concat(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0];
  }

  private async drain(): Promise<void> {
    this.processing = true;
    try {
      // Once a response is the last (a refused handshake or authentication), the frames pipelined after it are dropped.
      while (this.frames.length > 0 && !this.closed && !this.closeAfterResponse) {
        const frame = this.frames.shift()!;
        await this.handleFrame(frame);
        this.releaseHeld(frame.length + 4);
        if (this.socket.writableNeedDrain && !this.closed) await this.writable();
        if (this.frames.length < MAX_QUEUED_FRAMES && this.socket.isPaused()) this.socket.resume();
      }
    } finally {
      this.processing = false;
    }
  }

  /** Resolves once the socket's output has drained below its high-water mark, or the connection closed. */
  private writable(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private get maxFrameBytes(): number {
    const max = this.cluster.options.maxRequestBytes;
    return this.authenticated ? max : Math.min(max, MAX_UNAUTHENTICATED_BYTES);
  }

  private sizeProblem(size: number): string {
    return this.authenticated || size < 0 || size > this.cluster.options.maxRequestBytes
      ? `frame of ${size} bytes is outside the accepted range ${MIN_REQUEST_BYTES}..${this.cluster.options.maxRequestBytes} (maxRequestBytes)`
      : `frame of ${size} bytes before SASL authentication; at most ${MAX_UNAUTHENTICATED_BYTES} bytes are accepted until the client has authenticated`;
  }

  private async handleFrame(frame: Buffer): Promise<void> {
    if (this.rawSaslTokens) {
      try {
        this.handleRawSaslToken(frame);
      } catch (err) {
        this.internalError('a raw SASL token', err);
      }
      return;
    }
    if (frame.length < MIN_REQUEST_BYTES) {
      this.fail(this.sizeProblem(frame.length));
      return;
    }
    const r = new Reader(frame);
    let apiKey = -1;
    let version = -1;
    let correlationId = 0;
    try {
      apiKey = r.int16();
      version = r.int16();
      correlationId = r.int32();
      const handler = this.cluster.registry.get(apiKey);
      if (!handler) {
        this.fail(`unknown API key ${apiKey} (version ${version})`);
        return;
      }
      if (version < handler.minVersion || version > handler.maxVersion) {
        if (apiKey === ApiKey.ApiVersions) {
          // KIP-511: answer in v0 format with the supported ranges, so the client retries with one of them.
          const fallback = { errorCode: ErrorCode.UNSUPPORTED_VERSION, apiKeys: this.cluster.registry.versions() };
          this.send(correlationId, false, (w) => handler.encode(w, fallback, 0));
          return;
        }
        this.fail(`${handler.name} v${version} is not served (versions ${handler.minVersion}-${handler.maxVersion} are)`);
        return;
      }
      const flexible = handler.flexibleVersion !== undefined && version >= handler.flexibleVersion;
      const clientId = r.nullableString(); // always a classic NULLABLE_STRING, even in header v2
      r.flexible = flexible;
      r.tags();
      if (!this.authenticated && apiKey !== ApiKey.ApiVersions && apiKey !== ApiKey.SaslHandshake && apiKey !== ApiKey.SaslAuthenticate) {
        this.fail(`${handler.name} before SASL authentication`);
        return;
      }
      const req = handler.decode(r, version);
      const ctx: RequestContext = { cluster: this.cluster, node: this.node, connection: this, apiVersion: version, correlationId, clientId };
      const res = await this.answer(handler, req, ctx);
      if (res === NO_RESPONSE || this.closed || handler.expectsResponse?.(req) === false) return;
      // ApiVersions keeps response header v0 in every version, so clients can parse it before negotiating.
      this.send(correlationId, flexible && apiKey !== ApiKey.ApiVersions, (w) => {
        w.flexible = flexible;
        handler.encode(w, res, version);
      });
      if (this.closeAfterResponse) this.socket.end(() => this.close());
    } catch (err) {
      if (err instanceof ProtocolError) this.fail(`malformed request (API key ${apiKey} v${version}): ${err.message}`);
      else {
        this.internalError(`API key ${apiKey} v${version}`, err);
      }
    }
  }

  /**
   * Feeds the client's next SASL token to the exchange of the chosen mechanism; on success the connection
   * is authenticated. A failure is logged without the credentials. Used by SaslAuthenticate and by raw tokens.
   */
  saslStep(token: Buffer): SaslStep {
    this.saslExchange ??= startExchange(this.saslMechanism as SaslMechanism, this.cluster.credentials!);
    const step = this.saslExchange.step(token);
    if (step.kind === 'failed') this.cluster.logger.warn(`SASL ${this.saslMechanism} authentication failed from ${this.remote}`);
    if (step.kind === 'done') {
      this.authenticated = true;
      this.principal = step.user;
      this.authenticatedNow();
    }
    return step;
  }

  private handleRawSaslToken(token: Buffer): void {
    const step = this.saslStep(token);
    if (step.kind === 'failed') {
      this.close();
      return;
    }
    if (step.kind === 'done') this.rawSaslTokens = false;
    // A raw token is framed as Kafka's BYTES: its size, then the token.
    if (!this.closed) this.socket.write(new Writer(false).bytes(step.token).toBuffer());
  }

  private async answer(handler: ApiHandler, req: unknown, ctx: RequestContext): Promise<unknown> {
    const refused = this.cluster.authorizer?.check(handler, req, ctx);
    if (refused && 'errorCode' in refused) return handler.errorResponse(req, refused.errorCode, ctx, refused.message);
    if (refused) ctx = { ...ctx, injectedError: refused.topicError };
    const faults = this.cluster.faults;
    const fault = faults.active ? faults.take(handler.apiKey, this.node.id, () => handler.topics?.(req) ?? []) : undefined;
    if (fault) {
      if (fault.spec.delayMs) {
        // Unreferenced and cancelled on close: a delay neither keeps the process alive nor lets the request
        // be handled after its connection (or the broker) stopped.
        const waited = await sleep(fault.spec.delayMs, true, { signal: this.closing.signal, ref: false }).catch(() => false);
        if (!waited || this.closed) {
          this.cluster.logger.debug(`fault injection: ${handler.name} on ${this.remote} not handled, its connection closed during the delay`);
          return NO_RESPONSE;
        }
      }
      if (fault.spec.dropConnection) {
        this.cluster.logger.info(`fault injection: dropping connection ${this.remote} on ${handler.name}`);
        this.close();
        return NO_RESPONSE;
      }
      const errorCode = fault.spec.errorCode;
      if (errorCode !== undefined) {
        const topic = fault.spec.topic;
        if (topic !== undefined && handler.topicFaults) {
          return handler.handle(req, { ...ctx, injectedError: (name) => (name === topic ? errorCode : undefined) });
        }
        if (handler.expectsResponse?.(req) === false) {
          this.cluster.logger.info(`fault injection: closing connection ${this.remote}, error ${errorCode} on a ${handler.name} that gets no response`);
          this.close();
          return NO_RESPONSE;
        }
        return handler.errorResponse(req, errorCode, ctx);
      }
      if (fault.spec.dropResponse) {
        await handler.handle(req, ctx);
        this.cluster.logger.info(`fault injection: dropping the response to ${handler.name} on ${this.remote}`);
        this.close();
        return NO_RESPONSE;
      }
    }
    return handler.handle(req, ctx);
  }

  private send(correlationId: number, flexibleHeader: boolean, body: (w: Writer) => void): void {
    const w = new Writer(false);
    w.int32(0); // size, patched below
    w.int32(correlationId);
    if (flexibleHeader) w.uvarint(0);
    body(w);
    const chunks = w.toChunks();
    chunks[0].writeInt32BE(w.length - 4, 0);
    if (this.closed) return;
    this.socket.cork();
    for (const c of chunks) this.socket.write(c);
    this.socket.uncork();
  }

  /** A bug, not bad input: logged with its stack; only this connection is closed. */
  private internalError(what: string, err: unknown): void {
    this.cluster.logger.error(`internal error on ${what} from ${this.remote}: ${(err as Error)?.stack ?? err}`);
    this.close();
  }

  private fail(reason: string): void {
    this.cluster.logger.warn(`closing connection ${this.remote} to node ${this.node.id}: ${reason}`);
    this.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    clearTimeout(this.frameTimer);
    clearTimeout(this.authTimer);
    if (this.countedUnauthenticated) this.node.unauthenticated.leave();
    this.countedUnauthenticated = false;
    this.releaseHeld(this.held);
    this.frames = [];
    this.chunks = [];
    this.socket.destroy();
    this.node.connections.delete(this);
  }
}
