/**
 * What happens when a delivery fails: the thrown value becomes an Error, the error handler
 * (`CommonErrorHandler`) is asked what to do, and its decision is applied: skip (the record is recovered),
 * retry at once, retry after a back-off (the partition is paused, sought back and resumed), or stop the
 * container. Also tells the error handler when a partition that failed succeeds again.
 */
import type { Logger } from '@nestjs/common';
import type { CommonErrorHandler, ErrorHandlingResult, ListenerFailureContext } from '../../error-handling/common-error-handler.js';
import { ListenerExecutionFailedError } from '../../kafka.errors.js';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { ConsumedRecord } from '../consumed-record.js';
import type { BackOffScheduler } from './back-off.scheduler.js';
import { Outcome, type ContainerState } from './listener-invoker.js';
import type { OffsetTracker } from './offset-tracker.js';
import { tpKey } from './partition-key.js';
import type { TransactionalDelivery } from './transactional-delivery.js';

export class DeliveryFailures {
  /**
   * Partitions whose last delivery failed. `recordSucceeded` is called for a success on one of them only:
   * the error handler tracks failures it was told of, so there is nothing to forget elsewhere, and the
   * per-record call is saved.
   */
  private readonly failing = new Set<string>();

  constructor(
    readonly errorHandler: CommonErrorHandler,
    readonly failureContext: ListenerFailureContext,
    private readonly listener: string,
    private readonly offsets: OffsetTracker,
    private readonly container: ContainerState,
    private readonly logger: Logger,
    /** With transactions: the error handler runs after the rollback, in a new transaction (transactional-delivery.ts). */
    private readonly transactional?: TransactionalDelivery,
  ) {}

  /** `record` succeeded: the error handler hears of it if its partition had failed. */
  succeeded(record: ConsumedRecord): void {
    if (this.failing.size && this.failing.delete(tpKey(record.topic, record.partition))) {
      this.errorHandler.recordSucceeded(record, this.failureContext);
    }
  }

  /** The records of a batch listener call on `b` succeeded: the error handler hears of them if their partition had failed. */
  chunkSucceeded(b: TransportBatch, records: () => readonly ConsumedRecord[]): void {
    if (this.failing.size && this.failing.delete(tpKey(b.topic, b.partition))) {
      for (const r of records()) this.errorHandler.recordSucceeded(r, this.failureContext);
    }
  }

  /** A delivery on the partition failed. */
  failed(topic: string, partition: number): void {
    this.failing.add(tpKey(topic, partition));
  }

  /** What the listener threw, as an Error (a non-Error value is wrapped, with a message saying what to throw). */
  toError(thrown: unknown): Error {
    if (thrown instanceof Error) return thrown;
    let shown: string;
    try {
      shown = typeof thrown === 'string' ? JSON.stringify(thrown) : (JSON.stringify(thrown) ?? String(thrown));
    } catch {
      shown = String(thrown);
    }
    const { listenerId } = this.failureContext;
    return new ListenerExecutionFailedError(
      `listener '${listenerId}' (${this.listener}) threw a non-Error value (${shown}); throw an Error (or a subclass) so that error handlers and logs get a message and a stack trace`,
      listenerId,
      thrown,
    );
  }

  /** Asks the error handler about one failed record; when the handler itself throws, the record is retried after a second. */
  async handleRecord(record: ConsumedRecord, error: Error): Promise<ErrorHandlingResult> {
    try {
      const handle = () => this.errorHandler.handleRecord(record, error, this.failureContext);
      return await (this.transactional ? this.transactional.afterRollback(record, handle) : handle());
    } catch (err) {
      return this.errorHandlerFailed(err, record);
    }
  }

  /** Asks the error handler about a failed batch call; when the handler itself throws, nothing is committed and the first record is retried after a second. */
  async handleBatch(records: readonly ConsumedRecord[], error: Error): Promise<{ committed: number; then: ErrorHandlingResult }> {
    try {
      if (this.transactional) return await this.transactional.afterRollbackBatch(records, error, (e) => this.errorHandler.handleBatch(records, e, this.failureContext));
      return await this.errorHandler.handleBatch(records, error, this.failureContext);
    } catch (err) {
      return { committed: 0, then: this.errorHandlerFailed(err, records[0]) };
    }
  }

  /** The error handler itself threw (a dead-letter publish failed...): deliver the record again after a second, as Spring redelivers it. */
  private errorHandlerFailed(err: unknown, record: ConsumedRecord): ErrorHandlingResult {
    this.logger.error(
      `the error handler of listener '${this.failureContext.listenerId}' failed on ${record.topic}-${record.partition}@${record.offset}: ${err instanceof Error ? err.message : String(err)}; the record is delivered again in 1000 ms`,
    );
    return { action: 'retry', delayMs: 1_000 };
  }

  /**
   * Applies an error handler's decision to the record at `record.offset` of `b`; `single`: the record was
   * delivered alone (a record listener's, or one a batch listener could not be handed).
   */
  async apply(result: ErrorHandlingResult, b: TransportBatch, backoffs: BackOffScheduler, record: ConsumedRecord, single: boolean): Promise<Outcome> {
    switch (result.action) {
      case 'skip':
        // An error handler may ask that what it recovered is not committed yet (Spring's ackAfterHandle false).
        if (this.errorHandler.isAckAfterHandle?.() === false) return Outcome.RECOVERED;
        // A recovered record counts as acknowledged in the manual modes too (Spring's ackAfterHandle).
        if (single && this.offsets.manual) await this.offsets.acknowledged(b, record.offset);
        return Outcome.DONE;
      case 'retry':
        if (!b.isRunning() || !this.container.isRunning()) return Outcome.HALT;
        if (result.delayMs <= 0) return Outcome.AGAIN;
        backoffs.schedule(b, record.offset, result.delayMs);
        return Outcome.HALT;
      case 'stop':
        this.logger.error(
          `the error handler stopped listener '${this.failureContext.listenerId}' at ${record.topic}-${record.partition}@${record.offset}; that record is not committed and is delivered again after a restart`,
        );
        setImmediate(() => void this.container.stop());
        return Outcome.HALT;
    }
  }
}
