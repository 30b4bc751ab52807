/**
 * The default error handler (Spring Kafka's `DefaultErrorHandler`): retries a failed record with a back-off,
 * then hands it to a recoverer.
 */
import { Logger } from '@nestjs/common';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import { type BackOff, FixedBackOff, STOP } from './back-off.js';
import type {
  BatchErrorHandlingResult,
  CommonErrorHandler,
  ErrorHandlingResult,
  ListenerFailureContext,
  TopicToCreate,
} from './common-error-handler.js';
import { type ConsumerRecordRecovererLike, invokeRecoverer } from './consumer-record-recoverer.js';
import { BatchListenerFailedError, ErrorHandlingConfigurationError } from './error-handling.errors.js';
import { type ErrorClass, ExceptionClassifier } from './exception-classifier.js';
import { FailedRecordTracker } from './failed-record-tracker.js';

/** The shortest wait before a record whose recovery failed is delivered again. */
const RECOVERY_RETRY_MIN_DELAY_MS = 1_000;
import type { RetryListener } from './retry-listener.js';

/** Chooses a back-off per failed record; `undefined` means the handler's own back-off. Spring's `setBackOffFunction`. */
export type BackOffFunction = (record: ConsumedRecord, error: Error) => BackOff | undefined;

/** `topic-partition@offset`, the way Spring's log messages name a record. */
export function describeRecord(record: Pick<ConsumedRecord, 'topic' | 'partition' | 'offset'>): string {
  return `${record.topic}-${record.partition}@${record.offset}`;
}

function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

function findBatchListenerFailedError(error: unknown): BatchListenerFailedError | undefined {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (current instanceof BatchListenerFailedError) return current;
  }
  return undefined;
}

function isBackOff(value: unknown): value is BackOff {
  return typeof value === 'object' && value !== null && typeof (value as BackOff).start === 'function'
    && typeof (value as { recover?: unknown }).recover !== 'function';
}

/**
 * Retries a failed record, redelivering it from its own offset after each back-off delay (the container
 * pauses the partition meanwhile, so heartbeats go on and nothing is rebalanced), then hands it to the
 * recoverer and lets the container commit it.
 *
 * - Deliveries are counted per group, topic, partition and offset; the count starts again when another
 *   record of the partition fails, or when the error's class changes to one the previous error is not an
 *   instance of (Spring's `resetStateOnExceptionChange`, on by default; see
 *   `setResetStateOnExceptionChange`). Only the top-level error is compared, after looking through
 *   kafka-nest's `ListenerExecutionFailedError` wrapper: an error whose cause alternates keeps its count.
 * - Errors classified as not retryable (see `ExceptionClassifier`) go to the recoverer on their first
 *   failure.
 * - If the recoverer throws, the record is not committed: it is delivered again after the back-off's first
 *   delay, and its deliveries are counted from 1 again. Nothing is lost.
 * - Batch listeners: a `BatchListenerFailedError` commits the records before its index and retries from the
 *   failed record, which is recovered when its retries are exhausted; any other error retries the whole
 *   batch and, when exhausted, recovers its records one by one, in order.
 *
 * @default recoverer: log the record at error level and skip it; back-off: `new FixedBackOff(0, 9)`, that is
 * 10 deliveries in all, with no delay (Spring Kafka's defaults).
 */
export class DefaultErrorHandler implements CommonErrorHandler {
  private readonly logger = new Logger(DefaultErrorHandler.name);
  private readonly tracker = new FailedRecordTracker();
  private readonly classifier = new ExceptionClassifier();
  private readonly recoverer: ConsumerRecordRecovererLike;
  /** The back-off used for every record the back-off function gives none for. */
  readonly backOff: BackOff;
  private backOffFunction: BackOffFunction | undefined;
  private retryListeners: readonly RetryListener[] = [];
  private ackAfterHandle = true;

  /** `new DefaultErrorHandler(backOff)` is accepted too, as in Spring. */
  constructor(backOff: BackOff);
  constructor(recoverer?: ConsumerRecordRecovererLike, backOff?: BackOff);
  constructor(recovererOrBackOff?: ConsumerRecordRecovererLike | BackOff, backOff?: BackOff) {
    if (isBackOff(recovererOrBackOff)) {
      this.recoverer = (record, error) => this.logExhausted(record, error);
      this.backOff = recovererOrBackOff;
    } else {
      this.recoverer = recovererOrBackOff ?? ((record, error) => this.logExhausted(record, error));
      this.backOff = backOff ?? new FixedBackOff(0, 9);
    }
  }

  /** Picks a back-off per record and error; when it returns `undefined` the handler's own is used. */
  setBackOffFunction(fn: BackOffFunction | undefined): void {
    this.backOffFunction = fn;
  }

  /**
   * Whether a failure with an error of another class starts the record's back-off again. With `true` (the
   * default, as in Spring Kafka since 2.9), the count restarts when the previous error is not an instance of
   * the new error's class (a subclass followed by its superclass continues the count; the reverse restarts
   * it); causes are not compared. With `false`, the count goes on whatever the error. Spring's
   * `setResetStateOnExceptionChange`.
   * @default true
   */
  setResetStateOnExceptionChange(reset: boolean): void {
    this.tracker.resetStateOnExceptionChange = reset;
  }

  /**
   * Whether the container commits a record this handler recovered (in the manual ack modes too). With
   * false, its offset is committed only with the next record the listener processes (or acknowledges).
   * Spring's `setAckAfterHandle`.
   * @default true
   */
  setAckAfterHandle(ack: boolean): void {
    if (typeof ack !== 'boolean') {
      throw new ErrorHandlingConfigurationError(`DefaultErrorHandler.setAckAfterHandle takes true or false, got ${JSON.stringify(ack)}`, 'ackAfterHandle', ack);
    }
    this.ackAfterHandle = ack;
  }

  /** See `setAckAfterHandle`. Spring's `isAckAfterHandle`. */
  isAckAfterHandle(): boolean {
    return this.ackAfterHandle;
  }

  /** Replaces the retry listeners. Spring's `setRetryListeners`. */
  setRetryListeners(...listeners: RetryListener[]): void {
    this.retryListeners = [...listeners];
  }

  /** Adds retry listeners. Spring's `addRetryListener`. */
  addRetryListener(...listeners: RetryListener[]): void {
    this.retryListeners = [...this.retryListeners, ...listeners];
  }

  /** Errors of these classes (or with one in their cause chain) go straight to the recoverer. */
  addNotRetryableErrors(...classes: ErrorClass[]): void {
    this.classifier.addNotRetryableErrors(...classes);
  }

  /** Errors of these classes are retried (use with `defaultFalse()`, or to undo a default). */
  addRetryableErrors(...classes: ErrorClass[]): void {
    this.classifier.addRetryableErrors(...classes);
  }

  /** Forgets a class's classification; returns the one it had, if any. */
  removeClassification(cls: ErrorClass): boolean | undefined {
    return this.classifier.removeClassification(cls);
  }

  /** Retries nothing but the classes given to `addRetryableErrors`. */
  defaultFalse(): void {
    this.classifier.defaultFalse();
  }

  /** Whether this handler would retry `error` (rather than recover at once). */
  isRetryable(error: unknown): boolean {
    return this.classifier.isRetryable(error);
  }

  deliveryAttempt(record: ConsumedRecord, ctx: ListenerFailureContext): number {
    return (this.tracker.get(record, ctx)?.deliveries ?? 0) + 1;
  }

  recordSucceeded(record: ConsumedRecord, ctx: ListenerFailureContext): void {
    this.tracker.clear(record, ctx);
  }

  /** The recoverer's topics to create (its dead-letter topics), if it has any. */
  topicsToCreate(source: { readonly topic: string; readonly partitions: number }, ctx: ListenerFailureContext): TopicToCreate[] {
    const recoverer = this.recoverer as Partial<Pick<CommonErrorHandler, 'topicsToCreate'>>;
    return typeof recoverer.topicsToCreate === 'function' ? recoverer.topicsToCreate(source, ctx) : [];
  }

  async handleRecord(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<ErrorHandlingResult> {
    if (!this.classifier.isRetryable(error)) {
      const attempt = this.deliveryAttempt(record, ctx);
      this.tracker.clear(record, ctx);
      this.notify('failedDelivery', (l) => l.failedDelivery?.(record, error, attempt));
      return (await this.recover(record, error, ctx)) ? this.redeliverAfterRecoveryFailure(record, error) : { action: 'skip' };
    }
    const failed = this.tracker.failed(record, error, ctx, () => this.backOffFor(record, error));
    this.notify('failedDelivery', (l) => l.failedDelivery?.(record, error, failed.deliveries));
    const delayMs = failed.execution.nextBackOff();
    if (delayMs !== STOP) return { action: 'retry', delayMs };
    return (await this.recover(record, error, ctx)) ? this.redeliverAfterRecoveryFailure(record, error) : { action: 'skip' };
  }

  async handleBatch(records: readonly ConsumedRecord[], error: Error, ctx: ListenerFailureContext): Promise<BatchErrorHandlingResult> {
    if (records.length === 0) return { committed: 0, then: { action: 'skip' } };
    const failedAt = findBatchListenerFailedError(error);
    if (failedAt && failedAt.index < records.length) {
      const index = failedAt.index;
      const cause = failedAt.cause instanceof Error ? failedAt.cause : failedAt;
      const then = await this.handleRecord(records[index]!, cause, ctx);
      if (then.action !== 'skip') return { committed: index, then };
      // The failed record is recovered; the records after it were never processed: deliver them again now.
      return index + 1 < records.length
        ? { committed: index + 1, then: { action: 'retry', delayMs: 0 } }
        : { committed: records.length, then: { action: 'skip' } };
    }
    if (failedAt) {
      this.logger.warn(
        `BatchListenerFailedError index ${failedAt.index} is outside the batch of ${records.length} records ` +
          `(${describeRecord(records[0]!)}...); retrying the whole batch`,
      );
    }
    const first = records[0]!;
    if (this.classifier.isRetryable(error)) {
      const failed = this.tracker.failed(first, error, ctx, () => this.backOffFor(first, error));
      this.notify('failedBatchDelivery', (l) => l.failedBatchDelivery?.(records, error, failed.deliveries));
      const delayMs = failed.execution.nextBackOff();
      if (delayMs !== STOP) return { committed: 0, then: { action: 'retry', delayMs } };
    } else {
      const attempt = this.deliveryAttempt(first, ctx);
      this.notify('failedBatchDelivery', (l) => l.failedBatchDelivery?.(records, error, attempt));
    }
    this.tracker.clear(first, ctx);
    for (let i = 0; i < records.length; i++) {
      const failure = await this.recover(records[i]!, error, ctx);
      if (failure) {
        this.notify('batchRecoveryFailed', (l) => l.batchRecoveryFailed?.(records, error, failure));
        return { committed: i, then: this.redeliverAfterRecoveryFailure(records[i]!, error) };
      }
    }
    this.notify('batchRecovered', (l) => l.batchRecovered?.(records, error));
    return { committed: records.length, then: { action: 'skip' } };
  }

  /** Hands the record to the recoverer; returns the recoverer's error when it failed, undefined when it succeeded. */
  private async recover(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<Error | undefined> {
    try {
      await invokeRecoverer(this.recoverer, record, error, ctx);
    } catch (thrown) {
      const failure = asError(thrown);
      this.tracker.clear(record, ctx);
      this.logger.error(
        `Recovery of record ${describeRecord(record)} (listener '${ctx.listenerId}', group '${ctx.groupId}') failed; ` +
          `it is not committed and will be delivered again: ${failure.message}`,
        failure.stack,
      );
      this.notify('recoveryFailed', (l) => l.recoveryFailed?.(record, error, failure));
      return failure;
    }
    this.tracker.clear(record, ctx);
    this.notify('recovered', (l) => l.recovered?.(record, error));
    return undefined;
  }

  /**
   * After a failed recovery: redeliver once the back-off's first delay (started anew) has passed, but not
   * sooner than `RECOVERY_RETRY_MIN_DELAY_MS`. A recoverer fails when the dead-letter topic cannot be written:
   * with a 0 ms back-off the record would otherwise be redelivered and republished in a tight loop against a
   * broker that is already in trouble (deliberate difference: Spring redelivers at once).
   */
  private redeliverAfterRecoveryFailure(record: ConsumedRecord, error: Error): ErrorHandlingResult {
    const first = this.backOffFor(record, error).start().nextBackOff();
    return { action: 'retry', delayMs: Math.max(first === STOP ? 0 : first, RECOVERY_RETRY_MIN_DELAY_MS) };
  }

  private backOffFor(record: ConsumedRecord, error: Error): BackOff {
    return this.backOffFunction?.(record, error) ?? this.backOff;
  }

  private logExhausted(record: ConsumedRecord, error: Error): void {
    this.logger.error(
      `Backoff ${String(this.backOff)} exhausted for ${describeRecord(record)}; the record is skipped: ${error.message}`,
      error.stack,
    );
  }

  private notify(event: string, call: (listener: RetryListener) => void): void {
    for (const listener of this.retryListeners) {
      try {
        call(listener);
      } catch (thrown) {
        this.logger.warn(`Retry listener threw in ${event}; ignored: ${asError(thrown).message}`);
      }
    }
  }
}
