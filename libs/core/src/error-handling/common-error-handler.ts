/**
 * The contract between a listener container and its error handler (Spring Kafka's CommonErrorHandler).
 *
 * The container owns the mechanics: it pauses the failed partition, seeks back to the failed record and
 * resumes after the delay the handler asks for, so a long back-off never blocks the poll loop, never
 * stops heartbeats and never costs a rebalance. The handler owns the policy: how many deliveries, which
 * delay, which errors are not worth retrying, and what recovering a record means (publishing it to a
 * dead-letter topic, logging it, stopping the container).
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';

/** Who is asking: the listener and group the failed record belongs to. */
export interface ListenerFailureContext {
  readonly listenerId: string;
  readonly groupId: string;
}

/** What the container does next with a failed record. */
export type ErrorHandlingResult =
  /** Seek back to the failed record and deliver it again after `delayMs`; the partition is paused meanwhile. */
  | { readonly action: 'retry'; readonly delayMs: number }
  /** The record has been dealt with (recovered): commit its offset and go on with the next one. */
  | { readonly action: 'skip' }
  /** Stop the container; the failed record is not committed and is delivered again after a restart. */
  | { readonly action: 'stop' };

/** What the container does next with a failed batch. */
export interface BatchErrorHandlingResult {
  /**
   * How many leading records of the batch are done and may be committed (0 = none). The records from this
   * index on are treated by `then`: retried from their first offset, skipped, or left for a restart.
   */
  readonly committed: number;
  readonly then: ErrorHandlingResult;
}

/** A topic an error handler publishes to and wants to exist when its listener starts (e.g. a dead-letter topic). */
export interface TopicToCreate {
  readonly topic: string;
  readonly numPartitions: number;
}

export interface CommonErrorHandler {
  /** A record listener threw `error` (always an Error: the container wraps thrown non-Errors). */
  handleRecord(record: ConsumedRecord, error: Error, ctx: ListenerFailureContext): Promise<ErrorHandlingResult>;

  /** A batch listener threw `error`; a `BatchListenerFailedError` says which record failed. */
  handleBatch(records: readonly ConsumedRecord[], error: Error, ctx: ListenerFailureContext): Promise<BatchErrorHandlingResult>;

  /** The delivery attempt (1 for the first) the container is about to make, for `KafkaContext.deliveryAttempt`. */
  deliveryAttempt(record: ConsumedRecord, ctx: ListenerFailureContext): number;

  /** The record was processed successfully: forget any failure tracked for it. */
  recordSucceeded(record: ConsumedRecord, ctx: ListenerFailureContext): void;

  /**
   * Optional. Topics to create, if missing, when a listener of `source` starts; `DefaultErrorHandler` with a
   * `DeadLetterPublishingRecoverer` answers `<topic>.DLT` with the source's partition count. The container
   * calls it once per subscribed topic before consuming; it throws (naming the listener) when the topic
   * name it would use is invalid, which fails the start-up.
   */
  topicsToCreate?(source: { readonly topic: string; readonly partitions: number }, ctx: ListenerFailureContext): TopicToCreate[];

  /**
   * Optional. Whether the container commits (acknowledges, in the manual ack modes) a record this handler
   * recovered (answered `skip` for). With false, the recovered record's offset is committed only with the
   * next record the listener processes (or acknowledges); after a restart before that, it is delivered
   * again. Spring Kafka's `CommonErrorHandler.isAckAfterHandle()`.
   * @default true (when absent)
   */
  isAckAfterHandle?(): boolean;
}
