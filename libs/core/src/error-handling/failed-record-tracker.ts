/**
 * Remembers, per group and partition, the record that is failing and how far its back-off has gone
 * (Spring Kafka's `FailedRecordTracker`). One entry per partition: a failure of another offset, or (with
 * `resetStateOnExceptionChange`) an error of an unrelated class, starts a fresh count.
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';
import { ListenerExecutionFailedError } from '../kafka.errors.js';
import type { BackOff, BackOffExecution } from './back-off.js';
import type { ListenerFailureContext } from './common-error-handler.js';

export interface FailedRecord {
  readonly offset: number;
  /** The error of the last failed delivery, unwrapped (see `unwrapListenerError`). */
  lastError: Error;
  readonly execution: BackOffExecution;
  /** Failed deliveries so far. */
  deliveries: number;
}

/**
 * The error the listener really raised: kafka-nest's own wrapper (`ListenerExecutionFailedError`, made when a
 * listener throws a non-Error value) is looked through when it carries an `Error` cause. Spring's
 * `ErrorHandlingUtils.findRootCause`, which looks through `ListenerExecutionFailedException` the same way.
 */
export function unwrapListenerError(error: Error): Error {
  let current = error;
  while (current instanceof ListenerExecutionFailedError && current.cause instanceof Error) current = current.cause;
  return current;
}

/**
 * Whether a new failure with `next` continues the retries of a record that last failed with `previous`:
 * true when `previous` is an instance of `next`'s class (the same class, or `next` is a superclass of it),
 * as Spring decides it (`!realException.getClass().isInstance(lastException)` resets). Causes are not
 * compared: an error whose cause alternates (a flaky dependency) keeps its count and reaches the recoverer.
 */
export function sameFailure(previous: Error, next: Error): boolean {
  return previous instanceof (next.constructor as abstract new (...args: never[]) => Error);
}

export class FailedRecordTracker {
  private readonly failures = new Map<string, FailedRecord>();
  /** Spring's `resetStateOnExceptionChange`; see `DefaultErrorHandler.setResetStateOnExceptionChange`. */
  resetStateOnExceptionChange = true;

  private static key(record: Pick<ConsumedRecord, 'topic' | 'partition'>, ctx: ListenerFailureContext): string {
    return `${ctx.groupId}\u0000${record.topic}\u0000${record.partition}`;
  }

  /** The entry for this record, if the partition's tracked failure is this offset. */
  get(record: ConsumedRecord, ctx: ListenerFailureContext): FailedRecord | undefined {
    const failed = this.failures.get(FailedRecordTracker.key(record, ctx));
    return failed?.offset === record.offset ? failed : undefined;
  }

  /**
   * Counts one more failed delivery of `record` and returns its entry; a new entry (with `backOff` started)
   * replaces one for another offset or, when `resetStateOnExceptionChange` is on, one whose last error is
   * not an instance of the new error's class (compared after `unwrapListenerError`).
   */
  failed(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext, backOff: () => BackOff): FailedRecord {
    const key = FailedRecordTracker.key(record, ctx);
    const real = unwrapListenerError(error);
    let failed = this.failures.get(key);
    if (!failed || failed.offset !== record.offset || (this.resetStateOnExceptionChange && !sameFailure(failed.lastError, real))) {
      failed = { offset: record.offset, lastError: real, execution: backOff().start(), deliveries: 0 };
      this.failures.set(key, failed);
    }
    failed.lastError = real;
    failed.deliveries++;
    return failed;
  }

  /** Forgets the partition's failure if it is this record's. */
  clear(record: ConsumedRecord, ctx: ListenerFailureContext): void {
    const key = FailedRecordTracker.key(record, ctx);
    if (this.failures.get(key)?.offset === record.offset) this.failures.delete(key);
  }

  /** The number of partitions with a failure being tracked (for tests and metrics). */
  get size(): number {
    return this.failures.size;
  }
}
