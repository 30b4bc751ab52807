/**
 * Handed to a listener by `@Ack()`; mirrors Spring Kafka's `Acknowledgment`. Meaningful in the `MANUAL`
 * and `MANUAL_IMMEDIATE` ack modes; in the other modes the container commits by itself and `acknowledge()`
 * does nothing more.
 */
export interface Acknowledgment {
  /**
   * Marks the record (for a batch listener: every record of the batch) as processed. In `MANUAL_IMMEDIATE`
   * mode the returned promise settles when the commit is done (with `syncCommits`); otherwise at once.
   */
  acknowledge(): Promise<void>;
  /** Whether `acknowledge()` was called. */
  readonly acknowledged: boolean;
}
