/**
 * What is done with a record whose retries are exhausted (Spring Kafka's `ConsumerRecordRecoverer`).
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { ListenerFailureContext } from './common-error-handler.js';

/**
 * Recovers a record that failed for good: publishes it to a dead-letter topic, stores it, logs it. When the
 * returned promise resolves the record's offset is committed; when it rejects (or the method throws) the
 * record is not committed and is delivered again, with its back-off started anew.
 */
export interface ConsumerRecordRecoverer {
  recover(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): void | Promise<void>;
}

/** A recoverer object, or just its `recover` function. */
export type ConsumerRecordRecovererLike =
  | ConsumerRecordRecoverer
  | ((record: ConsumedRecord, error: Error, ctx: ListenerFailureContext) => void | Promise<void>);

/** Calls a recoverer of either form. */
export async function invokeRecoverer(
  recoverer: ConsumerRecordRecovererLike,
  record: ConsumedRecord,
  error: Error,
  ctx: ListenerFailureContext,
): Promise<void> {
  if (typeof recoverer === 'function') await recoverer(record, error, ctx);
  else await recoverer.recover(record, error, ctx);
}
