/**
 * A Nest transport strategy serving `@EventPattern` / `@MessagePattern` handlers written for
 * `@nestjs/microservices`' Kafka transport through kafka-nest's listener containers.
 */
import { IntrinsicException, Logger } from '@nestjs/common';
import {
  type ConsumerDeserializer,
  type ConsumerSerializer,
  type CustomTransportStrategy,
  KafkaParser,
  KafkaRequestDeserializer,
  KafkaRetriableException,
  type MessageHandler,
  RpcException,
  Server,
  Transport,
} from '@nestjs/microservices';
import { KafkaRequestSerializer } from '@nestjs/microservices/serializers/kafka-request.serializer.js';
import { isObservable, type Observable } from 'rxjs';
import { KafkaConfigurationError, KafkaNestError } from '../kafka.errors.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { DeserializerFn } from '../listener/deserializers.js';
import type { KafkaContext } from '../listener/kafka-context.js';
import type { KafkaListenerOptions } from '../listener/kafka-listener-options.js';
import type { ListenerInvocation } from '../listener/kafka-params.factory.js';
import type { ListenerEndpoint } from '../listener/listener-endpoint.js';
import type { MessageListenerContainer } from '../listener/message-listener-container.js';
import type { ProducerRecord } from '../producer/kafka.template.js';
import { ReplyHeaders, replyAddressOf } from '../request-reply/request-reply.headers.js';
import { resultOf } from '../request-reply/send-to.invoker.js';
import { KafkaNestContext, type NestKafkaMessage } from './kafka-nest.context.js';
import { BIND_RUNTIME, type KafkaNestRuntime } from './kafka-nest.runtime.js';
import type { PatternMethod } from './pattern-handlers.js';

/**
 * The container settings of one pattern: a subset of `@KafkaListener`'s options, with the same defaults
 * (module options first). Given per pattern in `KafkaNestServerOptions.patterns`, in the pattern's extras
 * under `kafka` (`@EventPattern('orders', { kafka: { concurrency: 3 } })`), or for all in `defaults`.
 */
export type MicroservicePatternOptions = Pick<
  KafkaListenerOptions,
  'id' | 'groupId' | 'concurrency' | 'ackMode' | 'syncCommits' | 'errorHandler' | 'fromBeginning' | 'auto.offset.reset' | 'properties' | 'autoStartup'
>;

/** Options of `KafkaNestServer`. Where and how to connect come from `KafkaModule.forRoot`. */
export interface KafkaNestServerOptions {
  /** Settings of every pattern; a pattern's extras and `patterns` entry win, in that order. */
  defaults?: MicroservicePatternOptions;
  /** Settings by pattern (the topic name), overriding its extras and `defaults`. */
  patterns?: Record<string, MicroservicePatternOptions>;
  /** As Nest's Kafka transport's `parser`: `keepBinary` hands values over as Buffers. @default values decoded as Nest does */
  parser?: { keepBinary?: boolean };
  /** As Nest's Kafka transport's `deserializer`. @default Nest's `KafkaRequestDeserializer` */
  deserializer?: ConsumerDeserializer;
  /** As Nest's Kafka transport's `serializer`, for replies. @default Nest's `KafkaRequestSerializer` */
  serializer?: ConsumerSerializer;
}

/**
 * An `@EventPattern` handler called through Nest's own callback (one of a request-scoped controller) failed:
 * Nest's RPC exception filter replaced its error with a plain object (and logged the original), kept in `error`.
 */
export class MicroserviceHandlerError extends KafkaNestError {
  override name = 'MicroserviceHandlerError';

  constructor(
    message: string,
    /** The pattern (topic) of the handler. */
    readonly pattern: string,
    /** What the handler's stream failed with, as Nest's exception filters left it. */
    readonly error: unknown,
  ) {
    super(message);
  }
}

const NOT_BOUND =
  `KafkaNestServer has no KafkaModule to run on: import KafkaModule.forRoot({ client: { brokers } }) (or forRootAsync) in the application's root module, and initialize the application (app.init() or app.listen())`;

const PATTERN_KEYS: readonly (keyof MicroservicePatternOptions)[] = [
  'id', 'groupId', 'concurrency', 'ackMode', 'syncCommits', 'errorHandler', 'fromBeginning', 'auto.offset.reset', 'properties', 'autoStartup',
];

/** Calls a pattern's handler(s); `direct` when they are the controller methods, not Nest's callback. */
interface Caller {
  readonly direct: boolean;
  /** The controller methods called (none when Nest's callback is). */
  readonly methods: readonly PatternMethod[];
  readonly call: (data: unknown, ctx: unknown, inv: ListenerInvocation) => unknown;
}

type Handler = MessageHandler & { isEventHandler?: boolean; extras?: Record<string, unknown> };

/**
 * Serves a Nest application's `@EventPattern` and `@MessagePattern` handlers, unchanged, through
 * kafka-nest listener containers: `app.connectMicroservice({ strategy: new KafkaNestServer() })` or
 * `NestFactory.createMicroservice(AppModule, { strategy: new KafkaNestServer() })`, with
 * `KafkaModule.forRoot(...)` imported by the application.
 *
 * Each pattern (a topic, or a RegExp of topics) gets its own container and consumer group (id and group
 * `microservice.<pattern>` unless set), with the error handler, ack mode, concurrency and metrics of a
 * `@KafkaListener`, in `KafkaListenerEndpointRegistry`. Handlers receive what Nest's Kafka transport gives
 * them: the decoded value, a `KafkaContext` (`KafkaNestContext`), `getType() === 'rpc'`, and Nest's pipes,
 * guards, interceptors and RPC exception filters.
 *
 * - An event (an `@EventPattern` handler, or a record without reply headers) is committed once its
 *   handlers completed; a failure goes to the error handler (retries, back-off, dead-letter topic).
 * - A request (`kafka_replyTopic` and `kafka_correlationId` headers, as `ClientKafka.send()` writes them)
 *   is answered as Nest's `ServerKafka` answers: every value of the handler's result on the reply topic
 *   and partition, the last marked `kafka_nest-is-disposed`, or an error in `kafka_nest-err`. The replies
 *   are published before the request counts as processed. A handler error is an answer, not a retry,
 *   except a `KafkaRetriableException`, which goes to the error handler.
 */
export class KafkaNestServer extends Server implements CustomTransportStrategy {
  override readonly transportId = Transport.KAFKA;
  override readonly propagatesEventHandlerErrors = true;
  protected override readonly logger = new Logger('KafkaNestServer');
  private runtime: KafkaNestRuntime | undefined;
  private containers: MessageListenerContainer[] = [];
  private listening = false;
  /** listen() came before the application's KafkaModule was initialized. */
  private pending: NodeJS.Timeout | undefined;
  /** Registration of the containers when listen() came first. */
  private started: Promise<void> | undefined;
  private readonly parser: KafkaParser;
  private readonly replySerializer: ConsumerSerializer;
  private readonly defaultDeserializer: boolean;
  /** Nest's own start hook, which only calls on: skipped unless `setOnProcessingStartHook` replaced it. */
  private readonly defaultStartHook: Server['onProcessingStartHook'];

  constructor(private readonly options: KafkaNestServerOptions = {}) {
    super();
    this.parser = new KafkaParser(options.parser);
    this.replySerializer = options.serializer ?? new KafkaRequestSerializer();
    this.deserializer = options.deserializer ?? new KafkaRequestDeserializer();
    this.defaultDeserializer = options.deserializer === undefined;
    this.defaultStartHook = this.onProcessingStartHook;
  }

  /** @internal Called by the application's KafkaModule, which lends its containers, error handlers and template. */
  [BIND_RUNTIME](runtime: KafkaNestRuntime): void {
    this.runtime = runtime;
    if (this.pending) {
      clearTimeout(this.pending);
      this.pending = undefined;
      // Bad settings fail the application's init here; a container that cannot start fails its bootstrap.
      const endpoints = this.endpoints(runtime);
      this.started = runtime.start(endpoints).then((containers) => {
        this.containers = containers;
        this._status$.next('connected');
      });
    }
  }

  /**
   * Builds a container per pattern and starts them with the application: at once when its KafkaModule is
   * initialized (`createMicroservice`), else (a hybrid application, whose `startAllMicroservices()` usually
   * comes before `init()`) once it is, calling back at once. Calls back with an error when a pattern's
   * settings are wrong or a container cannot start.
   */
  async listen(callback: (err?: unknown, ...rest: unknown[]) => void): Promise<void> {
    try {
      if (this.listening) throw new KafkaConfigurationError(`KafkaNestServer is already listening; a server listens once`, 'KafkaNestServer');
      this.listening = true;
      const runtime = this.runtime;
      if (!runtime) {
        this.pending = setTimeout(() => this.logger.error(NOT_BOUND), 10_000);
        this.pending.unref();
        callback();
        return;
      }
      await this.start(runtime);
      callback();
    } catch (err) {
      callback(err);
    }
  }

  private async start(runtime: KafkaNestRuntime): Promise<void> {
    this.containers = await runtime.start(this.endpoints(runtime));
    this._status$.next('connected');
  }

  private endpoints(runtime: KafkaNestRuntime): ListenerEndpoint[] {
    const endpoints: ListenerEndpoint[] = [];
    for (const [pattern, handler] of this.messageHandlers as Map<string | RegExp, Handler>) {
      endpoints.push(...this.endpointsOf(runtime, pattern, handler));
    }
    return endpoints;
  }

  /** Stops this server's containers: each drains its handlers in flight and commits, as on shutdown. */
  async close(): Promise<void> {
    if (this.pending) clearTimeout(this.pending);
    this.pending = undefined;
    await this.started?.catch(() => undefined);
    const containers = this.containers;
    await Promise.all(containers.map((c) => c.stop()));
    this._status$.next('disconnected');
  }

  /** The containers serving the patterns, once listening. */
  unwrap<T = MessageListenerContainer[]>(): T {
    if (!this.containers.length) throw new KafkaNestError('KafkaNestServer is not listening yet; call listen() (app.startAllMicroservices()) first');
    return this.containers as T;
  }

  on(): never {
    throw new KafkaNestError(`KafkaNestServer has no events to listen to; watch the containers through KafkaListenerEndpointRegistry or the metrics`);
  }

  private endpointsOf(runtime: KafkaNestRuntime, pattern: string | RegExp, handler: Handler): ListenerEndpoint[] {
    const name = typeof pattern === 'string' ? pattern : pattern.source;
    const kind = handler.isEventHandler ? '@EventPattern' : '@MessagePattern';
    const listener = `${kind}(${typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern)})`;
    const fromExtras = pickOptions((handler.extras as { kafka?: unknown } | undefined)?.kafka, `${listener}: extras 'kafka'`);
    const fromMap = typeof pattern === 'string' ? this.options.patterns?.[pattern] : undefined;
    const merged: MicroservicePatternOptions = { ...this.options.defaults, ...fromExtras, ...fromMap };
    const id = merged.id ?? `microservice.${name}`;
    const opts: KafkaListenerOptions = {
      ...merged,
      id,
      ...(typeof pattern === 'string' ? { topics: [pattern] } : { topicPattern: pattern }),
      deserializer: this.valueDeserializer(),
      keyDeserializer: 'buffer',
    };
    const call = this.callerOf(runtime, pattern, handler);
    const endpoint = runtime.endpoint(listener, opts, (value, ctx, inv) => this.handle(name, call, !!handler.isEventHandler, value, ctx as KafkaContext, inv));
    // @RetryableTopic applies to an event pattern served by one method; a request's caller waits for its answer, not for retry topics.
    return call.methods.length === 1 && handler.isEventHandler ? runtime.expand(endpoint, call.methods[0], opts) : [endpoint];
  }

  /**
   * How a pattern's handlers are called. The methods of singleton controllers are called as kafka-nest
   * calls listeners: Nest's enhancers apply, but an error no exception filter handles reaches the error
   * handler as it was thrown (Nest's fallback filter would replace it with "Internal server error"). Other
   * handlers (request-scoped controllers) are called through the callback Nest registered.
   */
  private callerOf(runtime: KafkaNestRuntime, pattern: string | RegExp, handler: Handler): Caller {
    const methods = runtime
      .patternMethods()
      .filter((m) => m.isEventHandler === !!handler.isEventHandler && (m.transport === undefined || m.transport === this.transportId))
      .filter((m) => m.patterns.some((p) => (pattern instanceof RegExp ? p instanceof RegExp && p.source === pattern.source : !(p instanceof RegExp) && this.normalizePattern(p as string) === pattern)));
    if (methods.length === 0) return { direct: false, methods, call: (data, ctx) => handler(data, ctx) };
    // Nest runs every event handler of a pattern (together), and the last message handler registered.
    const invokers = (handler.isEventHandler ? methods : methods.slice(-1)).map((m) => runtime.invoker(m.instance, m.methodName));
    if (invokers.length === 1) {
      const [invoke] = invokers;
      return { direct: true, methods, call: invoke };
    }
    return { direct: true, methods, call: (data, ctx, inv) => Promise.all(invokers.map((invoke) => resultOf(invoke(data, ctx, inv)))) };
  }

  /** Values decoded as Nest's `KafkaParser` decodes them (kept as Buffers with `parser.keepBinary`, as there). */
  private valueDeserializer(): DeserializerFn {
    if (this.options.parser?.keepBinary) return (data) => data;
    return (data) => this.parser.decode(data);
  }

  /** One record of a pattern; returns what the container waits for (a promise, an Observable or a value). */
  private handle(pattern: string, caller: Caller, isEventHandler: boolean, value: unknown, kafka: KafkaContext, inv: ListenerInvocation): unknown {
    const record = inv.records[0];
    if (!this.defaultDeserializer || value === null || value === undefined) return this.handleMessage(pattern, caller, isEventHandler, value, kafka, inv);
    // What KafkaRequestDeserializer makes of a message with a value, without making the message unless the handler asks.
    const ctx = new KafkaNestContext(() => this.nestMessage(record, value), kafka, inv.ack);
    return this.dispatch(pattern, caller, isEventHandler, value, ctx, inv);
  }

  /** A record through Nest's message and the deserializer (a custom one, or a tombstone). */
  private async handleMessage(pattern: string, caller: Caller, isEventHandler: boolean, value: unknown, kafka: KafkaContext, inv: ListenerInvocation): Promise<unknown> {
    const record = inv.records[0];
    const message = this.nestMessage(record, value);
    const packet = await this.deserializer.deserialize(message, { channel: record.topic });
    return this.dispatch(pattern, caller, isEventHandler, packet.data, new KafkaNestContext(message, kafka, inv.ack), inv);
  }

  private dispatch(pattern: string, caller: Caller, isEventHandler: boolean, data: unknown, ctx: KafkaNestContext, inv: ListenerInvocation): unknown {
    const record = inv.records[0];
    const isRequest =
      !isEventHandler && record.headers[ReplyHeaders.REPLY_TOPIC] !== undefined && record.headers[ReplyHeaders.CORRELATION_ID] !== undefined;
    const work = () => (isRequest ? this.answer(caller, data, ctx, record, inv) : this.runEvent(pattern, caller, data, ctx, inv));
    if (this.onProcessingStartHook !== this.defaultStartHook) return this.withHooks(ctx, work);
    // A controller method's result goes to the container as it is: it waits for a promise or an Observable,
    // and hands an error to the error handler as thrown.
    if (!isRequest && caller.direct) return caller.call(data, ctx, inv);
    return work();
  }

  /** Nest's processing hooks (tracing) around a message, as in Nest's own transports. */
  private async withHooks(ctx: KafkaNestContext, run: () => Promise<void>): Promise<void> {
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    let work!: Promise<void>;
    void this.onProcessingStartHook(this.transportId, ctx, async () => {
      work = run();
      done();
      await work.catch(() => undefined);
      this.onProcessingEndHook?.(this.transportId, ctx);
    });
    await finished;
    await work;
  }

  /** Runs an event's handlers; a failure (a rejection or a failing stream) is thrown for the error handler. */
  private async runEvent(pattern: string, caller: Caller, data: unknown, ctx: KafkaNestContext, inv: ListenerInvocation): Promise<void> {
    try {
      const result: unknown = await caller.call(data, ctx, inv);
      if (isObservable(result)) await drain(result);
    } catch (err) {
      if (err instanceof Error) throw err;
      throw new MicroserviceHandlerError(`the handler of pattern '${pattern}' failed: ${describe(err)}`, pattern, err);
    }
  }

  /** Runs a request's handler and publishes its answer, as Nest's `ServerKafka` does. */
  private async answer(caller: Caller, data: unknown, ctx: KafkaNestContext, request: ConsumedRecord, inv: ListenerInvocation): Promise<void> {
    const values: unknown[] = [];
    let failure: { err: unknown } | undefined;
    try {
      const result: unknown = await caller.call(data, ctx, inv);
      if (isObservable(result)) await drain(result, (v) => values.push(v));
      else values.push(result);
    } catch (err) {
      if (err instanceof KafkaRetriableException) throw err;
      failure = { err: caller.direct ? this.rpcError(err) : err };
    }
    const address = replyAddressOf(request);
    const correlationId = address.correlationId as Buffer;
    const records: ProducerRecord[] = [];
    const reply = async (response: unknown, extra: Record<string, Buffer>): Promise<void> => {
      const out = (await this.replySerializer.serialize(response as never)) as { key?: unknown; value: unknown; headers?: Record<string, Buffer | string> };
      records.push({
        key: (out.key ?? null) as string | Buffer | null,
        value: out.value ?? null,
        headers: { ...out.headers, [ReplyHeaders.CORRELATION_ID]: correlationId, ...extra },
        ...(address.partition !== undefined && { partition: address.partition }),
      });
    };
    for (let i = 0; i < values.length; i++) {
      const last = i === values.length - 1 && !failure;
      await reply(values[i], last ? { [ReplyHeaders.NEST_IS_DISPOSED]: Buffer.alloc(1) } : {});
    }
    if (failure) {
      const err = failure.err;
      await reply(undefined, { [ReplyHeaders.NEST_ERR]: Buffer.from(typeof err === 'object' && err !== null ? JSON.stringify(err) : String(err)) });
    } else if (values.length === 0) {
      await reply(undefined, { [ReplyHeaders.NEST_IS_DISPOSED]: Buffer.alloc(1) });
    }
    await (this.runtime as KafkaNestRuntime).template.sendBatch(address.topic as string, records);
  }

  /**
   * What Nest's fallback RPC exception filter makes of an error no filter handled: an `RpcException`'s
   * error (`{ status: 'error', message }` for a string), or, for any other `Error`, a logged error and
   * `{ status: 'error', message: 'Internal server error' }`. What a filter returned passes unchanged.
   */
  private rpcError(err: unknown): unknown {
    if (err instanceof RpcException) {
      const e = err.getError();
      return typeof e === 'object' && e !== null ? e : { status: 'error', message: e };
    }
    if (!(err instanceof Error)) return err;
    if (!(err instanceof IntrinsicException)) this.logger.error(err);
    return { status: 'error', message: 'Internal server error' };
  }

  /** The message as Nest's transport builds it from a kafkajs message (`KafkaParser.parse`). */
  private nestMessage(record: ConsumedRecord, value: unknown): NestKafkaMessage {
    const headers: Record<string, unknown> = {};
    for (const name of Object.keys(record.headers)) {
      const h = record.headers[name];
      headers[name] = h === undefined ? null : this.parser.decode(h);
    }
    return {
      key: record.key === null ? null : this.parser.decode(record.key),
      value,
      headers,
      offset: String(record.offset),
      timestamp: String(record.timestamp),
      topic: record.topic,
      partition: record.partition,
      attributes: 0,
    };
  }
}

/** Subscribes to a handler's stream until it completes; rejects with its error. */
function drain(stream: Observable<unknown>, next?: (v: unknown) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.subscribe({ next, error: reject, complete: resolve });
  });
}

function describe(err: unknown): string {
  if (err !== null && typeof err === 'object') {
    try {
      return JSON.stringify(err);
    } catch {
      return String(err);
    }
  }
  return String(err);
}

/** The known container settings in a pattern's extras; anything else there belongs to someone else. */
function pickOptions(value: unknown, where: string): MicroservicePatternOptions {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KafkaConfigurationError(`${where} must be an object of container settings ({ groupId, concurrency, ackMode... }), got ${JSON.stringify(value)}`, where);
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (!(PATTERN_KEYS as readonly string[]).includes(key)) {
      throw new KafkaConfigurationError(`${where} has '${key}', which is not a container setting; use one of ${PATTERN_KEYS.join(', ')}`, where);
    }
    out[key] = (value as Record<string, unknown>)[key];
  }
  return out as MicroservicePatternOptions;
}
