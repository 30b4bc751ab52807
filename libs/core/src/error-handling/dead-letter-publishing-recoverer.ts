/**
 * Publishes records whose retries are exhausted to a dead-letter topic (Spring Kafka's
 * `DeadLetterPublishingRecoverer`).
 */
import { Logger } from '@nestjs/common';
import { DeserializationError, KafkaNestError } from '../kafka.errors.js';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { KafkaTemplate } from '../producer/kafka.template.js';
import type { ListenerFailureContext, TopicToCreate } from './common-error-handler.js';
import type { ConsumerRecordRecoverer } from './consumer-record-recoverer.js';
import { deadLetterHeaders } from './dead-letter-headers.js';
import { describeRecord } from './default-error-handler.js';
import { ErrorHandlingConfigurationError } from './error-handling.errors.js';

/** Where a dead-letter record goes; no `partition` (or a negative one) lets the producer choose. */
export interface DeadLetterDestination {
  readonly topic: string;
  readonly partition?: number;
}

/** Picks the destination of a failed record; `null` means: do not publish, just skip the record. */
export type DeadLetterDestinationResolver = (record: ConsumedRecord, error: Error) => DeadLetterDestination | null;

/**
 * What the recoverer needs from `KafkaTemplate`: `send`, which resolves once the broker has acknowledged the
 * record with the `acks` it is given (the recoverer always asks for -1, all in-sync replicas, whatever the
 * producer's default) and rejects otherwise, sending Buffers as they are; and, optionally, `partitionsFor`
 * (undefined when the topic does not exist), so that a dead-letter topic with fewer partitions than its
 * source is detected. `KafkaTemplate` has both.
 */
export type DeadLetterTemplate = Pick<KafkaTemplate, 'send'> & Partial<Pick<KafkaTemplate, 'partitionsFor' | 'observer'>>;

/** Options of `DeadLetterPublishingRecoverer`; every one is optional. */
export interface DeadLetterPublishingRecovererOptions {
  /**
   * Appended to the source topic to name the dead-letter topic, when no `destinationResolver` is given.
   * `'.DLT'` is this project's deliberate default: it was Spring Kafka's `DeadLetterPublishingRecoverer`
   * default up to 3.2, and many existing topics are named so. Spring Kafka 3.3 and later default to
   * `'-dlt'` (as their `@RetryableTopic` does); pass `suffix: '-dlt'` to share dead-letter topics with such
   * an application.
   * @default '.DLT'
   */
  readonly suffix?: string;
  /**
   * Chooses topic and partition per record and error (Spring's destination resolver). Returning null skips
   * the record without publishing it. Topic names returned are validated; an invalid one fails the
   * recovery (so the record is not committed) with an error naming it.
   * @default `<topic><suffix>`, on the record's partition
   */
  readonly destinationResolver?: DeadLetterDestinationResolver;
  /**
   * Extra headers for the dead-letter record; they are added last and win over headers of the same name.
   * Spring's `setHeadersFunction`. @default none
   */
  readonly headersFunction?: (record: ConsumedRecord, error: Error) => Record<string, Buffer | string> | undefined;
  /**
   * Check that the destination partition exists; if the dead-letter topic has fewer partitions, log a
   * warning and let the producer choose. Needs `partitionsFor` (here or on the template). Spring's
   * `setVerifyPartition`. @default true
   */
  readonly verifyPartition?: boolean;
  /** Partition count of a topic, undefined when unknown. @default the template's `partitionsFor`, if it has one */
  readonly partitionsFor?: (topic: string) => Promise<number | undefined>;
  /**
   * How long to wait for the broker's acknowledgement before failing the recovery (the record is then not
   * committed, and is delivered again). Spring's `setWaitForSendResultTimeout`. @default 30000 ms
   */
  readonly sendTimeoutMs?: number;
  /**
   * Have the listener container create the dead-letter topics when the listener starts, with the source
   * topic's partition count (see `topicsToCreate`). Only for the default destination (`<topic><suffix>`),
   * whose name is checked at start-up whether or not it is created.
   * @default true
   */
  readonly createTopics?: boolean;
  /**
   * A record dead-lettered again (read from a dead-letter topic, failed, published once more) keeps the
   * `kafka_dlt-original-*` headers of each time, the newest last; false keeps only the first ones. Spring's
   * `setAppendOriginalHeaders`. @default true
   */
  readonly appendOriginalHeaders?: boolean;
  /**
   * The exception headers of an earlier dead-lettering are replaced (true) or kept, with this one's after
   * them (false). Spring's `setStripPreviousExceptionHeaders`. @default true
   */
  readonly stripPreviousExceptionHeaders?: boolean;
}

/** Publishing a record to its dead-letter topic failed or timed out; the record is not committed. */
export class DeadLetterPublishingError extends KafkaNestError {
  override name = 'DeadLetterPublishingError';

  constructor(
    message: string,
    /** The dead-letter topic. */
    readonly topic: string,
    /** `topic-partition@offset` of the failed record. */
    readonly record: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const LEGAL_TOPIC = /^[a-zA-Z0-9._-]+$/;
const MAX_TOPIC_LENGTH = 249;

/** Why `name` is not a valid Kafka topic name, or undefined when it is one. */
export function topicNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.length === 0) return 'a topic name must be a non-empty string';
  if (name === '.' || name === '..') return `'${name}' is not allowed as a topic name`;
  if (name.length > MAX_TOPIC_LENGTH) return `a topic name is at most ${MAX_TOPIC_LENGTH} characters, '${name}' has ${name.length}`;
  if (!LEGAL_TOPIC.test(name)) return `'${name}' has characters other than ASCII letters, digits, '.', '_' and '-'`;
  return undefined;
}

function findDeserializationError(error: unknown): DeserializationError | undefined {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (current instanceof DeserializationError) return current;
  }
  return undefined;
}

/**
 * Publishes a failed record to a dead-letter topic, by default `<topic>.DLT` on the record's partition,
 * with the original key and value bytes untouched, the original headers (every value), and Spring Kafka's
 * `kafka_dlt-*` headers laid out as Spring lays them (see `DltHeaders` and `deadLetterHeaders`). A record that failed to deserialize is published with its raw bytes.
 *
 * `recover` resolves once the broker has acknowledged the dead-letter record; a failed or timed-out publish
 * rejects, so the error handler does not commit the original record, which is delivered again.
 *
 * ```ts
 * { provide: ORDERS_ERROR_HANDLER, inject: [KafkaTemplate],
 *   useFactory: (template: KafkaTemplate) =>
 *     new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(1000, 2)) }
 * ```
 */
export class DeadLetterPublishingRecoverer implements ConsumerRecordRecoverer {
  private readonly logger = new Logger(DeadLetterPublishingRecoverer.name);
  /** @default '.DLT' (Spring Kafka 3.3+: '-dlt'; see the `suffix` option) */
  readonly suffix: string;
  private readonly resolver: DeadLetterDestinationResolver | undefined;
  private readonly headersFunction: DeadLetterPublishingRecovererOptions['headersFunction'];
  private readonly verifyPartition: boolean;
  private readonly partitionsFor: ((topic: string) => Promise<number | undefined>) | undefined;
  private readonly sendTimeoutMs: number;
  private readonly createTopics: boolean;
  private readonly appendOriginalHeaders: boolean;
  private readonly stripPreviousExceptionHeaders: boolean;

  constructor(
    private readonly template: DeadLetterTemplate,
    options: DeadLetterPublishingRecovererOptions = {},
  ) {
    if (!template || typeof template.send !== 'function') {
      throw new ErrorHandlingConfigurationError(
        'DeadLetterPublishingRecoverer needs a template with a send() method; inject KafkaTemplate and pass it in',
        'template',
        template,
      );
    }
    this.suffix = options.suffix ?? '.DLT';
    if (typeof this.suffix !== 'string' || this.suffix.length === 0 || !LEGAL_TOPIC.test(this.suffix)) {
      throw new ErrorHandlingConfigurationError(
        `DeadLetterPublishingRecoverer: suffix must be a non-empty string of ASCII letters, digits, '.', '_' or '-' ` +
          `(e.g. '.DLT' or '-dlt'), got ${JSON.stringify(this.suffix)}`,
        'suffix',
        this.suffix,
      );
    }
    if (options.destinationResolver !== undefined && typeof options.destinationResolver !== 'function') {
      throw new ErrorHandlingConfigurationError(
        'DeadLetterPublishingRecoverer: destinationResolver must be a function (record, error) => { topic, partition? } | null',
        'destinationResolver',
        options.destinationResolver,
      );
    }
    this.sendTimeoutMs = options.sendTimeoutMs ?? 30_000;
    if (typeof this.sendTimeoutMs !== 'number' || !Number.isFinite(this.sendTimeoutMs) || this.sendTimeoutMs <= 0) {
      throw new ErrorHandlingConfigurationError(
        `DeadLetterPublishingRecoverer: sendTimeoutMs must be a finite number of milliseconds > 0, got ${String(this.sendTimeoutMs)}`,
        'sendTimeoutMs',
        this.sendTimeoutMs,
      );
    }
    this.resolver = options.destinationResolver;
    this.headersFunction = options.headersFunction;
    this.verifyPartition = options.verifyPartition ?? true;
    this.partitionsFor = options.partitionsFor ?? (template.partitionsFor ? (topic) => template.partitionsFor!(topic) : undefined);
    this.createTopics = options.createTopics ?? true;
    this.appendOriginalHeaders = options.appendOriginalHeaders ?? true;
    this.stripPreviousExceptionHeaders = options.stripPreviousExceptionHeaders ?? true;
  }

  /** The default destination of a source topic: `<topic><suffix>`. */
  deadLetterTopicOf(sourceTopic: string): string {
    return `${sourceTopic}${this.suffix}`;
  }

  /**
   * The dead-letter topics to create when a listener of `source` starts: `<topic><suffix>` with the source's
   * partition count, or nothing when `createTopics` is false or a destination resolver decides. Throws an
   * `ErrorHandlingConfigurationError` naming the listener when the default destination's name is not a valid
   * topic name, with `createTopics` false too: every recovery would fail on it, blocking the partition.
   * A destination resolver's topics are checked at recovery time instead.
   */
  topicsToCreate(source: { readonly topic: string; readonly partitions: number }, ctx?: ListenerFailureContext): TopicToCreate[] {
    if (this.resolver) return [];
    const topic = this.deadLetterTopicOf(source.topic);
    const problem = topicNameProblem(topic);
    if (problem) {
      throw new ErrorHandlingConfigurationError(
        `${ctx ? `Listener '${ctx.listenerId}': ` : ''}dead-letter topic of '${source.topic}' is not a valid topic name: ` +
          `${problem}; choose a shorter source topic or another suffix, or give a destinationResolver`,
        'suffix',
        this.suffix,
      );
    }
    return this.createTopics ? [{ topic, numPartitions: source.partitions }] : [];
  }

  async recover(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<void> {
    const destination = this.resolver
      ? this.resolver(record, error)
      : { topic: this.deadLetterTopicOf(record.topic), partition: record.partition };
    if (destination === null || destination === undefined) {
      this.logger.debug(`Recovery of ${describeRecord(record)} skipped: the destination resolver returned null`);
      return;
    }
    const problem = topicNameProblem(destination.topic);
    if (problem) {
      throw new ErrorHandlingConfigurationError(
        `Listener '${ctx.listenerId}': the dead-letter destination for ${describeRecord(record)} is invalid: ${problem}; ` +
          'fix the destinationResolver (return { topic, partition? } with a valid topic name, or null to skip)',
        'destinationResolver',
        destination.topic,
      );
    }
    let partition = destination.partition !== undefined && destination.partition >= 0 ? destination.partition : undefined;
    if (partition !== undefined && this.verifyPartition && this.partitionsFor) {
      partition = await this.checkPartition(destination.topic, partition);
    }

    const deserialization = findDeserializationError(error);
    const keyFailed = deserialization?.isKey === true;
    // As Spring, the exception headers describe the deserialization failure itself when there is one.
    const headers: Record<string, Buffer | string | Buffer[]> = deadLetterHeaders(record, deserialization ?? error, ctx.groupId, keyFailed, {
      appendOriginalHeaders: this.appendOriginalHeaders,
      stripPreviousExceptionHeaders: this.stripPreviousExceptionHeaders,
    });
    const extra = this.headersFunction?.(record, error);
    if (extra) Object.assign(headers, extra);
    const key = keyFailed && Buffer.isBuffer(deserialization.data) ? deserialization.data : record.key;
    const value = deserialization && !keyFailed && Buffer.isBuffer(deserialization.data) ? deserialization.data : record.value;

    const where = `${destination.topic}${partition === undefined ? '' : `-${partition}`}`;
    const event = {
      listenerId: ctx.listenerId,
      groupId: ctx.groupId,
      topic: record.topic,
      partition: record.partition,
      deadLetterTopic: destination.topic,
      kind: 'dead-letter',
    } as const;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no acknowledgement within ${this.sendTimeoutMs} ms`)),
        this.sendTimeoutMs,
      );
    });
    try {
      await Promise.race([
        // acks = all, whatever producer.acks says: the original is committed on the strength of this send.
        this.template.send(destination.topic, value, { key, headers, acks: -1, ...(partition === undefined ? {} : { partition }) }),
        timeout,
      ]);
    } catch (thrown) {
      this.template.observer?.deadLetter({ ...event, ok: false });
      const cause = thrown instanceof Error ? thrown : new Error(String(thrown));
      throw new DeadLetterPublishingError(
        `Dead-letter publication of ${describeRecord(record)} to ${where} failed: ${cause.message}; ` +
          'the record is not committed and will be delivered again',
        destination.topic,
        describeRecord(record),
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
    this.template.observer?.deadLetter({ ...event, ok: true });
    this.logger.debug(`Published ${describeRecord(record)} to dead-letter topic ${where}`);
  }

  private async checkPartition(topic: string, partition: number): Promise<number | undefined> {
    let count: number | undefined;
    try {
      count = await this.partitionsFor!(topic);
    } catch (thrown) {
      this.logger.debug(`Could not get the partition count of ${topic}: ${String(thrown)}`);
      return partition;
    }
    if (count !== undefined && partition >= count) {
      this.logger.warn(
        `Dead-letter topic ${topic} has ${count} partition(s), no partition ${partition}; the producer chooses the ` +
          `partition instead. Create ${topic} with as many partitions as its source topic to keep partitions aligned.`,
      );
      return undefined;
    }
    return partition;
  }
}
