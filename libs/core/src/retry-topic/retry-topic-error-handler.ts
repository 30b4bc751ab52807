/**
 * The error handler of the main, retry and dead-letter containers of one `@RetryableTopic` listener: a
 * `DefaultErrorHandler` with no blocking retries whose `DeadLetterPublishingRecoverer` forwards a failed
 * record to the next topic of its chain (Spring Kafka's `DeadLetterPublishingRecovererFactory` and
 * `DefaultDestinationTopicResolver`). Internal.
 */
import { Logger } from '@nestjs/common';
import { FixedBackOff } from '../error-handling/back-off.js';
import type {
  BatchErrorHandlingResult,
  CommonErrorHandler,
  ErrorHandlingResult,
  ListenerFailureContext,
  TopicToCreate,
} from '../error-handling/common-error-handler.js';
import { DltHeaders, errorClassName, int32Bytes } from '../error-handling/dead-letter-headers.js';
import {
  type DeadLetterDestination,
  DeadLetterPublishingRecoverer,
  type DeadLetterTemplate,
} from '../error-handling/dead-letter-publishing-recoverer.js';
import { DefaultErrorHandler, describeRecord } from '../error-handling/default-error-handler.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { KafkaObserver } from '../metrics/kafka-observer.js';
import { DltStrategy, type RetryTopicChain } from './retry-topic-configuration.js';
import { attemptOf, bigIntegerBytes, originalTimestampBytes, RetryTopicHeaders } from './retry-topic.headers.js';

/** The `kafka_dlt-original-*` headers, kept from the first forwarding (Spring's `appendOriginalHeaders = false`). */
const ORIGINAL_HEADERS: readonly string[] = [
  DltHeaders.ORIGINAL_TOPIC,
  DltHeaders.ORIGINAL_PARTITION,
  DltHeaders.ORIGINAL_OFFSET,
  DltHeaders.ORIGINAL_TIMESTAMP,
  DltHeaders.ORIGINAL_TIMESTAMP_TYPE,
  DltHeaders.ORIGINAL_CONSUMER_GROUP,
];

/** Remembers each topic's partition count once known. */
function memoized(partitionsFor: (topic: string) => Promise<number | undefined>): (topic: string) => Promise<number | undefined> {
  const known = new Map<string, number>();
  return async (topic) => {
    const cached = known.get(topic);
    if (cached !== undefined) return cached;
    const count = await partitionsFor(topic);
    if (count !== undefined) known.set(topic, count);
    return count;
  };
}

/** Where a failed record goes: decided once per failure, read by the destination resolver and for the headers. */
interface Forwarding {
  /** null: dropped (logged). */
  readonly destination: DeadLetterDestination | null;
  /** The attempt that failed. */
  readonly attempt: number;
  /** When the record is due on its next topic, ms since the epoch. */
  readonly dueAt: number;
}

export class RetryTopicErrorHandler implements CommonErrorHandler {
  private readonly logger = new Logger('RetryTopic');
  private readonly delegate: DefaultErrorHandler;
  private readonly forwardings = new WeakMap<ConsumedRecord, Forwarding>();
  private readonly observer: KafkaObserver | undefined;

  constructor(
    private readonly chain: RetryTopicChain,
    template: DeadLetterTemplate,
  ) {
    this.observer = template.observer;
    // The recoverer is given the template without its observer: this handler reports each forwarding
    // itself, since it knows a retry topic from the DLT (metrics count the first as a retry).
    const publisher: DeadLetterTemplate = { send: (topic, value, options) => template.send(topic, value, options) };
    const recoverer = new DeadLetterPublishingRecoverer(publisher, {
      destinationResolver: (record, error) => this.forwardingOf(record, error).destination,
      headersFunction: (record, error) => this.headersOf(record, error),
      // Partition counts do not change under a running listener: ask the broker once per topic.
      ...(template.partitionsFor && { partitionsFor: memoized((topic) => template.partitionsFor!(topic)) }),
      createTopics: false,
      // The original-* headers stay those of the main-topic record (headersOf sets them too).
      appendOriginalHeaders: false,
    });
    // No blocking retries: every failure is "recovered" at once, by forwarding the record.
    this.delegate = new DefaultErrorHandler((record, error, ctx) => this.forward(recoverer, record, error, ctx), new FixedBackOff(0, 0));
  }

  async handleRecord(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<ErrorHandlingResult> {
    try {
      return await this.delegate.handleRecord(record, error, ctx);
    } finally {
      // A failure of the same record object later (redelivered at once after a failed send) is decided anew.
      this.forwardings.delete(record);
    }
  }

  handleBatch(records: readonly ConsumedRecord[], error: Error, ctx: ListenerFailureContext): Promise<BatchErrorHandlingResult> {
    return this.delegate.handleBatch(records, error, ctx);
  }

  /** 1 on the main topic; on a retry topic or the DLT, the attempt its `retry_topic-attempts` header says. */
  deliveryAttempt(record: ConsumedRecord, ctx: ListenerFailureContext): number {
    return this.chain.sourceOf(record.topic)?.kind === 'main' ? this.delegate.deliveryAttempt(record, ctx) : attemptOf(record);
  }

  recordSucceeded(record: ConsumedRecord, ctx: ListenerFailureContext): void {
    this.delegate.recordSucceeded(record, ctx);
  }

  /** The main topic, retry topics and DLT of `source`'s chain, with `numPartitions`, unless `autoCreateTopics` is false. */
  topicsToCreate(source: { readonly topic: string }): TopicToCreate[] {
    const main = this.chain.sourceOf(source.topic)?.main;
    if (!this.chain.config.autoCreateTopics || main === undefined) return [];
    return this.chain.topicsOf(main).map((topic) => ({ topic, numPartitions: this.chain.config.numPartitions }));
  }

  /** Publishes the failed record to the next topic of its chain, and reports it as a retry or a dead letter. */
  private async forward(recoverer: DeadLetterPublishingRecoverer, record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<void> {
    let ok = false;
    try {
      await recoverer.recover(record, error, ctx);
      ok = true;
    } finally {
      const destination = this.forwardings.get(record)?.destination;
      if (destination && this.observer) {
        this.observer.deadLetter({
          listenerId: ctx.listenerId,
          groupId: ctx.groupId,
          topic: record.topic,
          partition: record.partition,
          deadLetterTopic: destination.topic,
          kind: this.chain.sourceOf(destination.topic)?.kind === 'retry' ? 'retry' : 'dead-letter',
          ok,
        });
      }
    }
  }

  /** Where the failed record goes next and when it is due there, decided (and logged) once per failure. */
  private forwardingOf(record: ConsumedRecord, error: Error): Forwarding {
    let forwarding = this.forwardings.get(record);
    if (!forwarding) {
      forwarding = this.decide(record, error);
      this.forwardings.set(record, forwarding);
    }
    return forwarding;
  }

  /** The next topic of the record's chain (null: drop it), logging the decision. */
  private decide(record: ConsumedRecord, error: Error): Forwarding {
    const { config } = this.chain;
    const source = this.chain.sourceOf(record.topic) ?? { kind: 'main', main: record.topic };
    const retryable = config.classifier.isRetryable(error);
    const where = `${describeRecord(record)}${source.kind === 'main' ? '' : ` (main topic ${source.main})`}`;
    let topic: string;
    let delay = 0;
    const attempt = source.kind === 'main' ? 1 : attemptOf(record);
    const notRetryable = `${errorClassName(error)} is not retryable`;
    const why = retryable ? `attempts (${config.attempts}) are exhausted` : notRetryable;
    if (source.kind === 'dlt') {
      if (config.dltStrategy !== DltStrategy.ALWAYS_RETRY_ON_ERROR || !retryable) {
        const dropped = retryable ? 'dltStrategy is FAIL_ON_ERROR' : notRetryable;
        this.logger.error(`The DLT handler failed on ${where} and ${dropped}: the record is dropped. ${error.message}`, error.stack);
        return { destination: null, attempt, dueAt: Date.now() };
      }
      topic = record.topic;
      this.logger.error(`The DLT handler failed on ${where}; the record is published to ${topic} again. ${error.message}`, error.stack);
    } else if (retryable && attempt < config.attempts) {
      topic = `${source.main}${config.retrySuffixes[attempt - 1]}`;
      delay = config.delayFor(attempt - 1);
      this.logger.debug(`Attempt ${attempt} of ${where} failed; sending it to retry topic ${topic}, due in ${delay} ms. ${error.message}`);
    } else if (config.dltSuffix === undefined) {
      this.logger.error(`${where} failed and ${why}; dltStrategy is NO_DLT, so the record is dropped. ${error.message}`, error.stack);
      return { destination: null, attempt, dueAt: Date.now() };
    } else {
      topic = `${source.main}${config.dltSuffix}`;
      this.logger.error(`${where} failed and ${why}; sending it to DLT ${topic}. ${error.message}`, error.stack);
    }
    // Same partition as the record when the created destination has it (the recoverer checks topics made by
    // others); otherwise the producer places it by key.
    const partition = !config.autoCreateTopics || record.partition < config.numPartitions ? record.partition : undefined;
    return { destination: { topic, ...(partition === undefined ? {} : { partition }) }, attempt, dueAt: Date.now() + delay };
  }

  /** The retry headers of a forwarded record; the original-* headers are those of the main-topic record. */
  private headersOf(record: ConsumedRecord, error: Error): Record<string, Buffer> {
    const forwarding = this.forwardingOf(record, error);
    const headers: Record<string, Buffer> = {};
    if (this.chain.sourceOf(record.topic)?.kind !== 'main' && record.headers[DltHeaders.ORIGINAL_TOPIC] !== undefined) {
      for (const name of ORIGINAL_HEADERS) {
        const value = record.headers[name];
        if (value !== undefined) headers[name] = value;
      }
    }
    headers[RetryTopicHeaders.ORIGINAL_TIMESTAMP] = originalTimestampBytes(record);
    headers[RetryTopicHeaders.ATTEMPTS] = int32Bytes(forwarding.attempt + 1);
    headers[RetryTopicHeaders.BACKOFF_TIMESTAMP] = bigIntegerBytes(forwarding.dueAt);
    return headers;
  }
}
