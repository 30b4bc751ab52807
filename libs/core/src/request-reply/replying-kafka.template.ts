/**
 * Spring Kafka's `ReplyingKafkaTemplate`: sends a request with `kafka_replyTopic` and `kafka_correlationId`
 * headers and resolves with the reply record carrying the same correlation id, from one reply consumer
 * shared by every request of the template.
 */
import { randomUUID } from 'node:crypto';
import { type BeforeApplicationShutdown, Logger, type OnApplicationBootstrap, type Provider } from '@nestjs/common';
import { KAFKA_MODULE_OPTIONS } from '../kafka.constants.js';
import { KafkaConfigurationError } from '../kafka.errors.js';
import type { KafkaModuleOptions } from '../kafka-module-options.interface.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import { resolveConsumerProperties } from '../listener/consumer-properties.js';
import { KafkaTemplate, type SendOptions } from '../producer/kafka.template.js';
import type { RecordMetadata } from '../transport/kafka-transport.js';
import { ReplyConsumer } from './reply-consumer.js';
import { KafkajsTransport } from '../transport/kafkajs.transport.js';
import { KafkaReplyError, KafkaReplyTimeoutError } from './request-reply.errors.js';
import { correlationKey, encodeReplyPartition, newCorrelationId, ReplyHeaders } from './request-reply.headers.js';

/** Settings of a `ReplyingKafkaTemplate`. */
export interface ReplyingKafkaTemplateOptions {
  /** The topic replies come on: the `kafka_replyTopic` of every request that does not name its own. */
  replyTopic: string;
  /**
   * Ask for replies on this partition of `replyTopic` (`kafka_replyPartition`, a 4-byte int as Spring
   * writes it). The template reads every partition either way. @default none: the replier's partitioner chooses
   */
  replyPartition?: number;
  /** How long `sendAndReceive` waits for a reply unless told otherwise, in ms. @default 5000 (Spring's `defaultReplyTimeout`) */
  defaultReplyTimeout?: number;
  /**
   * Consumer group of the reply consumer. Each template instance should have its own, so that it reads
   * every partition of the reply topic and sees its replies wherever they land.
   * @default `<clientId>-replies-<random id>`, new for each instance
   */
  groupId?: string;
  /**
   * Several templates (or instances) share the reply topic: a reply for another one's request is logged at
   * debug level, not as an error. Spring's `sharedReplyTopic`. @default false
   */
  sharedReplyTopic?: boolean;
}

/** Options of one `sendAndReceive`. */
export interface SendAndReceiveOptions {
  /** How long to wait for the reply, in ms. @default the template's `defaultReplyTimeout` (5000) */
  timeout?: number;
}

/** A request for `sendAndReceive`: its topic and value, and key, headers, partition... as for `KafkaTemplate.send`. */
export interface ReplyingRecord extends SendOptions {
  topic: string;
  value: unknown;
}

interface Pending {
  readonly resolve: (record: ConsumedRecord) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** Spring's `DEFAULT_REPLY_TIMEOUT`. */
const DEFAULT_REPLY_TIMEOUT_MS = 5_000;

/**
 * Request-reply over Kafka; mirrors Spring Kafka's `ReplyingKafkaTemplate`. Provide it with
 * `ReplyingKafkaTemplate.provide({ replyTopic })` next to `KafkaModule.forRoot`, then
 * `await replying.sendAndReceive({ topic: 'sums', value: [1, 2] }, { timeout: 2000 })`.
 *
 * Each request gets a 16-byte random correlation id (`kafka_correlationId`, as Spring makes them) and the
 * `kafka_replyTopic` header (and `kafka_replyPartition` when configured); any replier copying the
 * correlation id onto its reply answers it: a `@SendTo()` listener, a Spring `@SendTo` listener, or a
 * `@MessagePattern` handler under `KafkaNestServer` or Nest's Kafka transport. Replies are read by one
 * consumer shared by all requests, started with the application (or by the first request), positioned at
 * the end of the reply topic before any request is sent.
 */
export class ReplyingKafkaTemplate implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ReplyingKafkaTemplate');
  private readonly pending = new Map<string, Pending>();
  private readonly options: Required<Pick<ReplyingKafkaTemplateOptions, 'replyTopic' | 'defaultReplyTimeout' | 'groupId' | 'sharedReplyTopic'>> &
    Pick<ReplyingKafkaTemplateOptions, 'replyPartition'>;
  private consumer: ReplyConsumer | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly template: KafkaTemplate,
    private readonly moduleOptions: KafkaModuleOptions,
    options: ReplyingKafkaTemplateOptions,
  ) {
    const problem = (m: string) => new KafkaConfigurationError(`ReplyingKafkaTemplate: ${m}`, 'ReplyingKafkaTemplate');
    if (!options || typeof options.replyTopic !== 'string' || !/^[a-zA-Z0-9._-]{1,249}$/.test(options.replyTopic)) {
      throw problem(`'replyTopic' must be a legal Kafka topic name, got ${JSON.stringify(options?.replyTopic)}`);
    }
    const timeout = options.defaultReplyTimeout ?? DEFAULT_REPLY_TIMEOUT_MS;
    if (!Number.isInteger(timeout) || timeout < 1) throw problem(`'defaultReplyTimeout' must be a positive integer of ms, got ${JSON.stringify(timeout)}`);
    if (options.replyPartition !== undefined && (!Number.isInteger(options.replyPartition) || options.replyPartition < 0)) {
      throw problem(`'replyPartition' must be a partition number (0 or more), got ${JSON.stringify(options.replyPartition)}`);
    }
    this.options = {
      replyTopic: options.replyTopic,
      defaultReplyTimeout: timeout,
      groupId: options.groupId ?? `${moduleOptions.client.clientId ?? 'kafka-nest'}-replies-${randomUUID()}`,
      sharedReplyTopic: options.sharedReplyTopic ?? false,
      replyPartition: options.replyPartition,
    };
  }

  /** A provider of a `ReplyingKafkaTemplate` with these options, for a module's `providers` (needs `KafkaModule`). */
  static provide(options: ReplyingKafkaTemplateOptions): Provider {
    return {
      provide: ReplyingKafkaTemplate,
      inject: [KafkaTemplate, KAFKA_MODULE_OPTIONS],
      useFactory: (template: KafkaTemplate, moduleOptions: KafkaModuleOptions) => new ReplyingKafkaTemplate(template, moduleOptions, options),
    };
  }

  /** The reply topic. */
  get replyTopic(): string {
    return this.options.replyTopic;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.start();
  }

  /** Stops the reply consumer before the producer closes; requests still waiting are rejected. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const [key, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new KafkaReplyError(`ReplyingKafkaTemplate: the application is shutting down; no reply to request ${key} will be read`, 'ReplyingKafkaTemplate'));
    }
    this.pending.clear();
    await this.starting?.catch(() => undefined);
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  /**
   * Starts the reply consumer: joins its group, then places each partition of the reply topic at its end.
   * Called with the application's bootstrap and by the first request; shared by concurrent callers.
   */
  start(): Promise<void> {
    this.starting ??= this.startConsumer().catch((err: unknown) => {
      this.starting = undefined;
      throw new KafkaReplyError(
        `ReplyingKafkaTemplate: cannot read replies from '${this.options.replyTopic}': ${err instanceof Error ? err.message : String(err)}`,
        'ReplyingKafkaTemplate',
        { cause: err },
      );
    });
    return this.starting;
  }

  /**
   * Sends `record` as a request and resolves with the reply record (raw key, value and headers: parse the
   * value as the replier wrote it). Rejects with `KafkaReplyTimeoutError` when no reply came within the
   * timeout, and with `KafkaProducerError` when the request could not be sent. Spring's `sendAndReceive`.
   * The record's own `kafka_replyTopic` / `kafka_replyPartition` headers win over the template's.
   */
  async sendAndReceive(record: ReplyingRecord, options: SendAndReceiveOptions = {}): Promise<ConsumedRecord> {
    if (this.closed) throw new KafkaReplyError(`ReplyingKafkaTemplate: the application is shutting down; send no more requests`, 'ReplyingKafkaTemplate');
    const { topic, value, ...send } = record;
    const timeout = options.timeout ?? this.options.defaultReplyTimeout;
    if (!Number.isInteger(timeout) || timeout < 1) {
      throw new KafkaReplyError(`ReplyingKafkaTemplate: 'timeout' must be a positive integer of ms, got ${JSON.stringify(timeout)}`, 'ReplyingKafkaTemplate');
    }
    await this.start();
    const id = newCorrelationId();
    const key = correlationKey(id);
    const headers: Record<string, Buffer | string> = { ...send.headers, [ReplyHeaders.CORRELATION_ID]: id };
    headers[ReplyHeaders.REPLY_TOPIC] ??= this.options.replyTopic;
    if (this.options.replyPartition !== undefined) headers[ReplyHeaders.REPLY_PARTITION] ??= encodeReplyPartition(this.options.replyPartition);
    const reply = new Promise<ConsumedRecord>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.pending.delete(key)) return;
        reject(
          new KafkaReplyTimeoutError(
            `ReplyingKafkaTemplate: no reply within ${timeout} ms to the request sent to '${topic}' (correlation id ${key}); is a listener replying to '${headers[ReplyHeaders.REPLY_TOPIC]}'? Raise the timeout if the replier is slow`,
            topic,
            key,
            timeout,
          ),
        );
      }, timeout);
      this.pending.set(key, { resolve, reject, timer });
    });
    let sent: RecordMetadata;
    try {
      sent = await this.template.send(topic, value, { ...send, headers });
    } catch (err) {
      const p = this.pending.get(key);
      this.pending.delete(key);
      if (p) clearTimeout(p.timer);
      reply.catch(() => undefined);
      throw err;
    }
    this.logger.debug(`sent request ${key} to ${sent.topic}-${sent.partition}@${sent.offset}`);
    return reply;
  }

  /** Requests waiting for their reply. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private async startConsumer(): Promise<void> {
    const transport = this.moduleOptions.transport ?? new KafkajsTransport();
    const problem = (m: string) => new KafkaConfigurationError(`ReplyingKafkaTemplate: ${m}`, 'ReplyingKafkaTemplate');
    // As for listeners: with transactions on, replies of aborted transactions are not read, unless told otherwise.
    const isolation = { 'isolation.level': this.moduleOptions.transactionIdPrefix !== undefined ? 'read_committed' : 'read_uncommitted' };
    const properties = resolveConsumerProperties({ ...isolation, ...(this.moduleOptions.properties ?? {}) }, problem);
    const consumer = new ReplyConsumer(transport, this.moduleOptions.client, { ...properties.consumer, groupId: this.options.groupId }, (r) => this.onReply(r));
    this.consumer = consumer;
    await consumer.start([this.options.replyTopic]);
  }

  private onReply(record: ConsumedRecord): void {
    const id = record.headers[ReplyHeaders.CORRELATION_ID];
    if (!id) {
      this.logger.error(
        `reply ${record.topic}-${record.partition}@${record.offset} has no '${ReplyHeaders.CORRELATION_ID}' header; a replier must copy the request's correlation id onto its reply`,
      );
      return;
    }
    const key = correlationKey(id);
    const p = this.pending.get(key);
    if (!p) {
      const message = `no pending request for reply ${record.topic}-${record.partition}@${record.offset} (correlation id ${key}); it timed out, or was another template's`;
      if (this.options.sharedReplyTopic) this.logger.debug(message);
      else this.logger.warn(message);
      return;
    }
    this.pending.delete(key);
    clearTimeout(p.timer);
    p.resolve(record);
  }
}
