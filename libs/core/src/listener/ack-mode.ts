/**
 * When a listener container commits offsets. Mirrors Spring Kafka's `ContainerProperties.AckMode`
 * (without `TIME`, `COUNT` and `COUNT_TIME`).
 */
export enum AckMode {
  /** Commit after each record is processed (or recovered). */
  RECORD = 'RECORD',
  /**
   * Commit once the records of a fetch are processed, or every `max.poll.records` records, whichever
   * comes first. The default, as in Spring.
   */
  BATCH = 'BATCH',
  /**
   * The listener acknowledges with `@Ack() ack` → `ack.acknowledge()`; acknowledgments are queued and
   * committed with the batch. An unacknowledged record is not committed (a later acknowledged one of the
   * same partition commits past it, as in Kafka).
   */
  MANUAL = 'MANUAL',
  /** Like `MANUAL`, but each `acknowledge()` commits at once (awaited when `syncCommits` is true). */
  MANUAL_IMMEDIATE = 'MANUAL_IMMEDIATE',
}
