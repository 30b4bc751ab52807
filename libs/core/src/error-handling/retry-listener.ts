/**
 * Observers of an error handler's retries and recoveries (Spring Kafka's `RetryListener`).
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';

/**
 * Told about every failed delivery and every recovery; each method is optional. A listener that throws is
 * logged and ignored: it never changes what happens to the record.
 */
export interface RetryListener {
  /** A delivery of `record` failed; `attempt` is 1 for the first delivery. */
  failedDelivery?(record: ConsumedRecord, error: Error, attempt: number): void;
  /** `record` was handed to the recoverer, which succeeded; its offset will be committed. */
  recovered?(record: ConsumedRecord, error: Error): void;
  /** The recoverer threw `failure` for `record` (which had failed with `original`); it will be redelivered. */
  recoveryFailed?(record: ConsumedRecord, original: Error, failure: Error): void;
  /**
   * A delivery of a whole batch failed with an error other than `BatchListenerFailedError`; `attempt` is 1
   * for the first delivery. (Spring's `failedDelivery(ConsumerRecords, Exception, int)`.)
   */
  failedBatchDelivery?(records: readonly ConsumedRecord[], error: Error, attempt: number): void;
  /**
   * A whole batch whose retries were exhausted was recovered, record by record, and will be committed (after
   * `recovered` for each record). Spring's `recovered(ConsumerRecords, Exception)`.
   */
  batchRecovered?(records: readonly ConsumedRecord[], error: Error): void;
  /**
   * Recovering a batch whose retries were exhausted failed with `failure` (after `recoveryFailed` for the
   * record concerned); the records from that one on are delivered again. Spring's
   * `recoveryFailed(ConsumerRecords, Exception, Exception)`.
   */
  batchRecoveryFailed?(records: readonly ConsumedRecord[], original: Error, failure: Error): void;
}
