/**
 * What listener containers, the error handling and `KafkaTemplate` report as they work. Metrics
 * implement it; containers call it only when one is installed, so an application without metrics pays
 * nothing.
 */

/** What became of one delivery of a record (or of a batch, counted per record). */
export type RecordOutcome =
  /** The handler returned. */
  | 'success'
  /** The handler threw (each failed delivery counts once). */
  | 'failure'
  /** The error handler asked for another delivery, or forwarded the record to a retry topic. */
  | 'retried'
  /** The error handler dealt with a failed record (its recoverer ran, or it was logged and skipped). */
  | 'recovered'
  /** The record was published to a dead-letter topic (counted besides `recovered`). */
  | 'dead_lettered';

/**
 * Where a failed record was published: a dead-letter topic, or (by `@RetryableTopic`) a retry topic, to be
 * delivered again from there.
 */
export type PublishedFailureKind = 'dead-letter' | 'retry';

export interface ListenerEvent {
  readonly listenerId: string;
  readonly groupId: string;
  readonly topic: string;
  readonly partition: number;
}

export interface KafkaObserver {
  /** A record (or `count` records of a batch) reached an outcome; `durationMs` for success and failure. */
  recordOutcome(event: ListenerEvent & { readonly outcome: RecordOutcome; readonly count: number; readonly durationMs?: number }): void;
  /** An offset commit finished. */
  commit(event: ListenerEvent & { readonly ok: boolean }): void;
  /**
   * A failed record of `event.topic` was published to `deadLetterTopic` (or failed to be): a dead-letter
   * topic (`kind: 'dead-letter'`, by a `DeadLetterPublishingRecoverer`), or a retry topic a `@RetryableTopic`
   * listener forwarded it to (`kind: 'retry'`).
   */
  deadLetter(event: ListenerEvent & { readonly deadLetterTopic: string; readonly kind: PublishedFailureKind; readonly ok: boolean }): void;
  /** `count` records were sent to `topic` by `KafkaTemplate` (or failed to be). */
  send(event: { readonly topic: string; readonly count: number; readonly ok: boolean }): void;
}
