/**
 * Remembers, per group and partition, the record that is failing and how far its back-off has gone
 * (Spring Kafka's `FailedRecordTracker`). One entry per partition: a failure of another offset, or an error
 * of another class, starts a fresh count.
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { BackOff, BackOffExecution } from './back-off.js';
import type { ListenerFailureContext } from './common-error-handler.js';

export interface FailedRecord {
  readonly offset: number;
  /** The classes of the error and of its causes, outermost first; a change resets the count. */
  readonly errorSignature: string;
  readonly execution: BackOffExecution;
  /** Failed deliveries so far. */
  deliveries: number;
}

/** The classes in an error's cause chain, outermost first, e.g. `ListenerExecutionFailedError<OrderError`. */
export function errorSignature(error: unknown): string {
  const names: string[] = [];
  const seen = new Set<unknown>();
  for (let current: unknown = error; current !== undefined && current !== null && !seen.has(current); ) {
    seen.add(current);
    names.push(typeof current === 'object' ? ((current as object).constructor?.name ?? 'Object') : typeof current);
    current = (current as { cause?: unknown }).cause;
  }
  return names.join('<');
}

export class FailedRecordTracker {
  private readonly failures = new Map<string, FailedRecord>();

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
   * replaces one for another offset or another error class.
   */
  failed(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext, backOff: () => BackOff): FailedRecord {
    const key = FailedRecordTracker.key(record, ctx);
    const signature = errorSignature(error);
    let failed = this.failures.get(key);
    if (!failed || failed.offset !== record.offset || failed.errorSignature !== signature) {
      failed = { offset: record.offset, errorSignature: signature, execution: backOff().start(), deliveries: 0 };
      this.failures.set(key, failed);
    }
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
