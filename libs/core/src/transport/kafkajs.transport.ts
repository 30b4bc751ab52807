/**
 * The kafkajs implementation of `KafkaTransport`, the only one today.
 *
 * Consumers run kafkajs `eachBatch` with `eachBatchAutoResolve: false` and `autoCommit: false`: the
 * listener container resolves and commits offsets itself, so each ack mode's commit points are exact.
 * kafkajs log lines go to Nest's `Logger` under the context `kafkajs`.
 */
import { createRequire } from 'node:module';
import { Logger } from '@nestjs/common';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaConfig,
  type KafkaMessage,
  logLevel,
  type LogEntry,
  type Message,
  PartitionAssigners,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import { fixKafkajsRequestQueue } from './kafkajs-request-queue.js';
import { RangeAssigner } from './range-assigner.js';
import type {
  KafkaClientOptions,
  KafkaTransport,
  RecordMetadata,
  TopicPartitionOffset,
  TopicPartitions,
  TransportAdmin,
  TransportBatch,
  TransportConsumer,
  TransportConsumerConfig,
  TransportProducer,
  TransportProducerConfig,
  TransportProducerRecord,
  TransportTransaction,
} from './kafka-transport.js';

const logger = new Logger('kafkajs');

/** kafkajs's table of Kafka error codes: `{ type, code, message }`, the messages its errors carry. */
const KAFKA_ERRORS: readonly { type: string; message: string }[] = (
  createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; message: string }[] }
).errorCodes;

/**
 * kafkajs rethrows some protocol errors (REBALANCE_IN_PROGRESS from a join, among others) as a plain
 * `KafkaJSError` that keeps the message but drops the error's `type`. Sets `type` again, from the message,
 * on the first error of the chain that has none and whose message is one of Kafka's, so that callers can
 * tell the errors apart.
 */
function restoreKafkaErrorType(error: Error): Error {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof (e as { type?: unknown }).type === 'string') return error;
    const known = KAFKA_ERRORS.find((k) => k.message === (e as { message?: unknown }).message);
    if (known) {
      Object.defineProperty(e, 'type', { value: known.type, enumerable: false, configurable: true, writable: true });
      return error;
    }
  }
  return error;
}

function logCreator() {
  return ({ level, log }: LogEntry) => {
    const { message, ...extra } = log;
    const text = `${message}${Object.keys(extra).length > 2 ? ` ${JSON.stringify(extra)}` : ''}`;
    if (level === logLevel.ERROR) logger.error(text);
    else if (level === logLevel.WARN) logger.warn(text);
    else if (level === logLevel.INFO) logger.log(text);
    else logger.debug(text);
  };
}

function kafkaOf(client: KafkaClientOptions, overrides: { clientId?: string; requestTimeout?: number } = {}): Kafka {
  const config: KafkaConfig = {
    brokers: [...client.brokers],
    clientId: overrides.clientId ?? client.clientId ?? 'kafka-nest',
    logLevel: logLevel.WARN,
    logCreator,
  };
  if (client.ssl !== undefined) config.ssl = client.ssl as KafkaConfig['ssl'];
  if (client.sasl !== undefined) config.sasl = client.sasl as KafkaConfig['sasl'];
  if (client.connectionTimeout !== undefined) config.connectionTimeout = client.connectionTimeout;
  const requestTimeout = overrides.requestTimeout ?? client.requestTimeout;
  if (requestTimeout !== undefined) config.requestTimeout = requestTimeout;
  if (client.retry !== undefined) config.retry = client.retry as KafkaConfig['retry'];
  return new Kafka(config);
}

type KafkajsHeaders = KafkaMessage['headers'];

const NO_HEADERS: Readonly<Record<string, Buffer | undefined>> = Object.freeze({});

function toHeaders(headers: KafkajsHeaders): Readonly<Record<string, Buffer | undefined>> {
  // Most records have no headers: they share one frozen object, found without allocating a key list.
  if (!headers) return NO_HEADERS;
  let out: Record<string, Buffer | undefined> | undefined;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    let v = headers[name];
    if (Array.isArray(v)) v = v[v.length - 1];
    (out ??= {})[name] = v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v;
  }
  return out ?? NO_HEADERS;
}

const NO_HEADER_VALUES: Readonly<Record<string, readonly Buffer[]>> = Object.freeze({});

/** Every value of each header, in order (kafkajs gives a header sent more than once as an array). */
function toHeaderValues(headers: KafkajsHeaders): Readonly<Record<string, readonly Buffer[]>> {
  if (!headers) return NO_HEADER_VALUES;
  let out: Record<string, Buffer[]> | undefined;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const v = headers[name];
    const values = v === undefined ? [] : Array.isArray(v) ? v : [v];
    (out ??= {})[name] = values.map((x) => (typeof x === 'string' ? Buffer.from(x) : x));
  }
  return out ?? NO_HEADER_VALUES;
}

/**
 * `Number(s)` for the decimal strings kafkajs gives offsets and timestamps as: a digit loop takes half the
 * time (two per record add up). Anything else (a sign, more digits than a double holds exactly) goes to `Number`.
 */
function decimal(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return Number(s);
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return Number(s);
    v = v * 10 + d;
  }
  return v;
}

/**
 * What kafkajs's decoders put on a message besides its typed fields: a RecordBatch (magic 2) record carries
 * the batch header as `batchContext`, whose `timestampType` is 0 (CreateTime) or 1 (LogAppendTime); see
 * kafkajs's `protocol/recordBatch/record/v0/decoder.js`. A message of an old message set has its
 * `magicByte` instead, and for magic 1 the timestamp type is bit 3 of its `attributes`.
 */
interface DecodedKafkajsMessage {
  readonly batchContext?: { readonly timestampType?: number };
  readonly magicByte?: number;
  readonly attributes: number;
}

/** kafkajs's `TimestampTypes.LOG_APPEND_TIME`. */
const LOG_APPEND_TIME = 1;
/** The LogAppendTime bit of a magic-1 message's attributes. */
const MESSAGE_V1_LOG_APPEND_TIME = 0x08;

/**
 * A kafkajs message seen as a `ConsumedRecord`. Offset, timestamp and headers are converted on first read:
 * a batch listener reads them for a record or two of each fetch, not for every record. Exported for tests.
 */
export class KafkajsRecord implements ConsumedRecord {
  private offsetValue = Number.NaN;
  private timestampValue = Number.NaN;
  private headersValue: Readonly<Record<string, Buffer | undefined>> | undefined;
  private headerValuesValue: Readonly<Record<string, readonly Buffer[]>> | undefined;

  constructor(
    readonly topic: string,
    readonly partition: number,
    private readonly message: KafkaMessage,
  ) {}

  get offset(): number {
    return Number.isNaN(this.offsetValue) ? (this.offsetValue = decimal(this.message.offset)) : this.offsetValue;
  }

  get timestamp(): number {
    return Number.isNaN(this.timestampValue) ? (this.timestampValue = decimal(this.message.timestamp)) : this.timestampValue;
  }

  /** The record's timestamp type as the broker reported it (kafkajs decodes it, its types omit it). */
  get timestampType(): 'CreateTime' | 'LogAppendTime' {
    const message: DecodedKafkajsMessage = this.message;
    const logAppendTime = message.batchContext
      ? message.batchContext.timestampType === LOG_APPEND_TIME
      : message.magicByte === 1 && (message.attributes & MESSAGE_V1_LOG_APPEND_TIME) !== 0;
    return logAppendTime ? 'LogAppendTime' : 'CreateTime';
  }

  get key(): Buffer | null {
    return this.message.key ?? null;
  }

  get value(): Buffer | null {
    return this.message.value ?? null;
  }

  get headers(): Readonly<Record<string, Buffer | undefined>> {
    return (this.headersValue ??= toHeaders(this.message.headers));
  }

  get headerValues(): Readonly<Record<string, readonly Buffer[]>> {
    return (this.headerValuesValue ??= toHeaderValues(this.message.headers));
  }

  /** Plain data for logs, `JSON.stringify` and test assertions. */
  toJSON(): ConsumedRecord {
    const { topic, partition, offset, timestamp, timestampType, key, value, headers } = this;
    return { topic, partition, offset, timestamp, timestampType, key, value, headers };
  }
}

/** A kafkajs batch; its records are made when first asked for, one by one. */
class KafkajsBatch implements TransportBatch {
  readonly topic: string;
  readonly partition: number;
  readonly size: number;
  private readonly messages: KafkaMessage[];
  /** Records made so far, by index; all of them once `records` was read. */
  private made: ConsumedRecord[] | undefined;
  private complete = false;

  constructor(private readonly payload: EachBatchPayload) {
    ({ topic: this.topic, partition: this.partition, messages: this.messages } = payload.batch);
    this.size = this.messages.length;
  }

  get records(): readonly ConsumedRecord[] {
    if (!this.complete) {
      for (let i = 0; i < this.size; i++) this.recordAt(i);
      this.complete = true;
    }
    return (this.made ??= []);
  }

  recordAt(i: number): ConsumedRecord {
    const made = (this.made ??= new Array<ConsumedRecord>(this.size));
    return (made[i] ??= new KafkajsRecord(this.topic, this.partition, this.messages[i]));
  }

  valueAt(i: number): Buffer | null {
    return this.messages[i].value ?? null;
  }

  resolveOffset(offset: number): void {
    this.payload.resolveOffset(String(offset));
  }

  commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    return this.payload.commitOffsetsIfNecessary({ topics: groupByTopic(offsets) });
  }

  heartbeat(): Promise<void> {
    return this.payload.heartbeat();
  }

  isRunning(): boolean {
    return this.payload.isRunning();
  }

  isStale(): boolean {
    return this.payload.isStale();
  }
}

class KafkajsConsumer implements TransportConsumer {
  private readonly consumer: Consumer;
  private assigned: TopicPartitions[] = [];
  private readonly assignmentListeners: ((a: TopicPartitions[]) => void)[] = [];
  private readonly fatalListeners: ((e: Error) => void)[] = [];
  /** Settles `run()`: the first GROUP_JOIN after it resolves it, a CRASH before that rejects it. */
  private firstJoin: { resolve: () => void; reject: (e: Error) => void } | undefined;

  constructor(client: KafkaClientOptions, config: TransportConsumerConfig) {
    const kafka = kafkaOf(client, { clientId: config.clientId, requestTimeout: config.requestTimeoutMs });
    this.consumer = kafka.consumer({
      groupId: config.groupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: config.heartbeatIntervalMs,
      rebalanceTimeout: config.rebalanceTimeoutMs,
      // Kafka's range semantics (each topic to the members subscribed to it), so that listeners sharing a
      // groupId on different topics all get partitions. kafkajs's round-robin is offered second, only so that
      // members of an earlier kafka-nest (or plain kafkajs) can share the group during a rolling upgrade.
      partitionAssigners: [RangeAssigner, PartitionAssigners.roundRobin],
      ...(config.fetchMinBytes !== undefined && { minBytes: config.fetchMinBytes }),
      ...(config.fetchMaxBytes !== undefined && { maxBytes: config.fetchMaxBytes }),
      ...(config.fetchMaxWaitMs !== undefined && { maxWaitTimeInMs: config.fetchMaxWaitMs }),
      ...(config.maxPartitionFetchBytes !== undefined && { maxBytesPerPartition: config.maxPartitionFetchBytes }),
      readUncommitted: config.readUncommitted ?? false,
    });
    this.consumer.on(this.consumer.events.GROUP_JOIN, ({ payload }) => {
      this.settleRun();
      this.assigned = Object.entries(payload.memberAssignment).map(([topic, partitions]) => ({
        topic,
        partitions: [...partitions].sort((a, b) => a - b),
      }));
      for (const l of this.assignmentListeners) l(this.assigned);
    });
    this.consumer.on(this.consumer.events.STOP, () => {
      this.assigned = [];
      for (const l of this.assignmentListeners) l(this.assigned);
    });
    this.consumer.on(this.consumer.events.CRASH, ({ payload }) => {
      // Before the first join the crash is run()'s to report (and kafkajs's own restart, if it planned one,
      // is cancelled by the disconnect that follows).
      if (this.settleRun(payload.error)) return;
      if (!payload.restart) for (const l of this.fatalListeners) l(payload.error);
    });
  }

  /** Settles a pending `run()`; false when none was pending. */
  private settleRun(error?: Error): boolean {
    const pending = this.firstJoin;
    if (!pending) return false;
    this.firstJoin = undefined;
    if (error) pending.reject(restoreKafkaErrorType(error));
    else pending.resolve();
    return true;
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  subscribe(topics: readonly (string | RegExp)[], fromBeginning: boolean): Promise<void> {
    return this.consumer.subscribe({ topics: [...topics], fromBeginning });
  }

  /**
   * kafkajs's `run()` resolves when its first join succeeded and also when it failed (it reports the
   * failure as a CRASH event, then resolves): this waits for the first GROUP_JOIN or CRASH, and rejects on
   * the crash.
   */
  async run(options: { partitionsConsumedConcurrently: number; eachBatch: (batch: TransportBatch) => Promise<void> }): Promise<void> {
    const { eachBatch } = options;
    const joined = new Promise<void>((resolve, reject) => (this.firstJoin = { resolve, reject }));
    await Promise.all([
      this.consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: options.partitionsConsumedConcurrently,
        eachBatch: (p: EachBatchPayload) => eachBatch(new KafkajsBatch(p)),
      }),
      joined,
    ]);
  }

  pause(partitions: readonly TopicPartitions[]): void {
    this.attempt('pause', () => this.consumer.pause(partitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions] }))));
  }

  resume(partitions: readonly TopicPartitions[]): void {
    this.attempt('resume', () => this.consumer.resume(partitions.map((tp) => ({ topic: tp.topic, partitions: [...tp.partitions] }))));
  }

  seek(topic: string, partition: number, offset: number): void {
    this.attempt('seek', () => this.consumer.seek({ topic, partition, offset: String(offset) }));
  }

  /**
   * kafkajs throws from pause, resume and seek while the consumer has no group: before `run`, and while it
   * waits to restart after a crash. Called from timers (a back-off's end), that would end the process; there
   * is nothing to pause or seek then anyway: the restarted consumer starts from the committed offsets.
   */
  private attempt(what: string, call: () => void): void {
    try {
      call();
    } catch (err) {
      logger.debug(`${what} skipped: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  assignment(): TopicPartitions[] {
    return this.assigned;
  }

  onAssignment(callback: (assignment: TopicPartitions[]) => void): void {
    this.assignmentListeners.push(callback);
  }

  onFatalError(callback: (error: Error) => void): void {
    this.fatalListeners.push(callback);
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}

function groupByTopic(offsets: readonly TopicPartitionOffset[]) {
  const byTopic = new Map<string, { partition: number; offset: string; metadata?: string }[]>();
  for (const o of offsets) {
    let list = byTopic.get(o.topic);
    if (!list) byTopic.set(o.topic, (list = []));
    list.push({ partition: o.partition, offset: String(o.offset), ...(o.metadata !== undefined && { metadata: o.metadata }) });
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

class KafkajsProducer implements TransportProducer {
  private readonly producer: Producer;
  /** The partition kafkajs's partitioner chose for each message of a send (its last choice, after retries). */
  private readonly chosen = new WeakMap<object, number>();

  constructor(client: KafkaClientOptions, private readonly config: TransportProducerConfig) {
    const transactional = config.transactionalId !== undefined;
    this.producer = kafkaOf(client).producer({
      idempotent: config.idempotent || transactional,
      ...(transactional && { transactionalId: config.transactionalId }),
      ...(config.transactionTimeoutMs !== undefined && { transactionTimeout: config.transactionTimeoutMs }),
      allowAutoTopicCreation: config.allowAutoTopicCreation,
      // Java's default partitioner (murmur2 on the key), remembering each choice so a send can report
      // where every record of a multi-partition batch was written.
      createPartitioner: () => {
        const partition = Partitioners.DefaultPartitioner();
        return (args) => {
          const p = partition(args);
          this.chosen.set(args.message, p);
          return p;
        };
      },
      ...((config.idempotent || transactional) && { maxInFlightRequests: 1 }),
    });
  }

  async transaction(): Promise<TransportTransaction> {
    if (this.config.transactionalId === undefined) throw new Error('this producer was made without a transactionalId, so it cannot begin transactions');
    const txn = await this.producer.transaction();
    return {
      send: (topic, records) => this.sendWith(txn, topic, records, -1),
      sendOffsets: (groupId, offsets) => txn.sendOffsets({ consumerGroupId: groupId, topics: groupByTopic(offsets) }),
      commit: () => txn.commit(),
      abort: () => txn.abort(),
    };
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  send(topic: string, records: readonly TransportProducerRecord[], options: { readonly acks?: -1 | 0 | 1 } = {}): Promise<RecordMetadata[]> {
    return this.sendWith(this.producer, topic, records, options.acks ?? this.config.acks);
  }

  /** Sends through the producer or one of its transactions (the same `send` in kafkajs). */
  private async sendWith(sender: Pick<Producer, 'send'>, topic: string, records: readonly TransportProducerRecord[], acks: -1 | 0 | 1): Promise<RecordMetadata[]> {
    const now = Date.now();
    const messages: Message[] = records.map((r) => ({
      key: r.key,
      value: r.value,
      ...(r.headers && { headers: { ...r.headers } as Message['headers'] }),
      ...(r.partition !== undefined && { partition: r.partition }),
      ...(r.timestamp !== undefined && { timestamp: String(r.timestamp) }),
    }));
    const result = await sender.send({
      topic,
      acks,
      ...(this.config.timeoutMs !== undefined && { timeout: this.config.timeoutMs }),
      messages,
    });
    // kafkajs reports one base offset per partition; the records of a partition follow it in send order.
    const next = new Map<number, number>();
    const appendTime = new Map<number, number>();
    for (const m of result) {
      next.set(m.partition, Number(m.baseOffset ?? m.offset ?? -1));
      appendTime.set(m.partition, Number(m.logAppendTime ?? -1));
    }
    const partitions = records.map((r, i) => r.partition ?? this.chosen.get(messages[i]) ?? -1);
    if (acks !== 0) {
      // kafkajs 2.2 can resolve a send whose retry found a moved leader already answered for other
      // partitions, without writing this partition's records (tulios/kafkajs#1303): never report those as sent.
      const unacknowledged = [...new Set(partitions)].filter((p) => !next.has(p));
      if (unacknowledged.length) {
        throw new Error(
          `kafkajs resolved the send with no acknowledgement for partition(s) ${unacknowledged.join(', ')} of '${topic}' (kafkajs#1303, a leader moved during a retry); their records may not be written, so the send is reported as failed: send them again`,
        );
      }
    }
    return records.map((r, i) => {
      const partition = partitions[i];
      const offset = next.get(partition) ?? -1;
      if (offset >= 0) next.set(partition, offset + 1);
      const logAppendTime = appendTime.get(partition) ?? -1;
      return { topic, partition, offset, timestamp: logAppendTime > 0 ? logAppendTime : (r.timestamp ?? now) };
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

/** Runs topic creations one after another, so containers starting together do not race to create the same topic. */
type Serializer = <T>(task: () => Promise<T>) => Promise<T>;

class KafkajsAdmin implements TransportAdmin {
  private readonly admin: Admin;

  constructor(
    client: KafkaClientOptions,
    private readonly serialize: Serializer,
  ) {
    this.admin = kafkaOf(client).admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  async committedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]> {
    const res = await this.admin.fetchOffsets({ groupId, topics: [...topics] });
    return res.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: Number(p.offset), ...(p.metadata ? { metadata: p.metadata } : {}) })),
    );
  }

  async endOffsets(topic: string): Promise<{ partition: number; offset: number; start?: number }[]> {
    const res = await this.admin.fetchTopicOffsets(topic);
    return res.map((p) => ({ partition: p.partition, offset: Number(p.high), start: Number(p.low) }));
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  async partitionCount(topic: string): Promise<number | undefined> {
    const topics = await this.admin.listTopics();
    if (!topics.includes(topic)) return undefined;
    const { topics: meta } = await this.admin.fetchTopicMetadata({ topics: [topic] });
    return meta[0]?.partitions.length;
  }

  createTopics(topics: readonly { topic: string; numPartitions: number }[]): Promise<void> {
    return this.serialize(async () => {
      const existing = new Set(await this.admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.topic));
      if (missing.length) await this.admin.createTopics({ topics: missing.map((t) => ({ ...t })), waitForLeaders: true });
    });
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }
}

/**
 * `KafkaTransport` on kafkajs 2.x. ssl, sasl, retry and timeouts of `KafkaClientOptions` pass through.
 * Creating one fixes kafkajs's idle request-queue timer (see `kafkajs-request-queue.ts`).
 */
export class KafkajsTransport implements KafkaTransport {
  constructor() {
    fixKafkajsRequestQueue();
  }

  createConsumer(client: KafkaClientOptions, config: TransportConsumerConfig): TransportConsumer {
    return new KafkajsConsumer(client, config);
  }

  createProducer(client: KafkaClientOptions, config: TransportProducerConfig): TransportProducer {
    return new KafkajsProducer(client, config);
  }

  private topicCreations: Promise<unknown> = Promise.resolve();

  createAdmin(client: KafkaClientOptions): TransportAdmin {
    return new KafkajsAdmin(client, (task) => {
      const run = this.topicCreations.then(task, task);
      this.topicCreations = run.catch(() => undefined);
      return run;
    });
  }
}
