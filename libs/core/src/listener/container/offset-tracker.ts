/**
 * THE ONE PLACE WHERE COMMITS ARE DECIDED. The rule: an offset is committed only after its record was
 * processed (the listener returned, and its promise or Observable completed) or recovered (the error handler
 * skipped it: dead-lettered, logged...). Nothing else in the container commits or moves a fetch position.
 *
 * The invokers report here, and only after the fact:
 * - `recordDone`: a record listener processed a record (or the error handler recovered it); committed per
 *   ack mode: RECORD at once, BATCH every `max.poll.records` records and at the end of the fetch
 *   (`recordFetchEnded`), MANUAL/MANUAL_IMMEDIATE only when acknowledged;
 * - `chunkDone`: a batch listener processed a chunk; committed in RECORD and BATCH modes;
 * - `recovered`: the error handler recovered records of a batch; committed in every mode;
 * - `recoveredUncommitted`: the error handler recovered records and says not to commit them
 *   (`isAckAfterHandle()` false, Spring's ackAfterHandle): the fetch position moves past them, and their
 *   offsets are committed only with the next record processed (or acknowledged);
 * - `acknowledged`: the listener acknowledged (`@Ack()`) a record it was handed, or a record it failed on
 *   was recovered in a manual mode (Spring's ackAfterHandle); queued (MANUAL) or committed (MANUAL_IMMEDIATE);
 * - `recordFetchEnded` / `batchFetchEnded`: the loop over a fetch ended: the fetch position moves past the
 *   last record done, and what is pending is committed.
 * A record that failed and is to be retried reaches none of these: its offset is neither resolved nor
 * committed, so it is delivered again (after a back-off, a restart or a rebalance).
 *
 * A commit names the next offset to read (last done + 1), as Kafka commits it.
 */
import type { Logger } from '@nestjs/common';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import { AckMode } from '../ack-mode.js';
import type { ListenerEndpoint } from '../listener-endpoint.js';
import type { Busy } from './liveness.js';
import { isFencing } from './liveness.js';
import type { ListenerMetrics } from './listener-metrics.js';
import { tpKey } from './partition-key.js';

/** What a record listener's loop has done with one fetch and not committed yet. Made once per fetch. */
export class FetchProgress {
  /** The last record done: the fetch position moves past it once, when the loop ends (each call costs kafkajs a Long parse). */
  lastDone = -1;
  /** BATCH mode: the offset to commit (last done + 1), or -1 when nothing is pending. */
  pending = -1;
  /** BATCH mode: records done since the last commit. */
  sinceCommit = 0;
}

export class OffsetTracker {
  private readonly ackMode: AckMode;
  private readonly maxPollRecords: number;
  /** MANUAL mode: highest acknowledged offset + 1 per partition, not yet committed. */
  private readonly acks = new Map<string, { batch: TransportBatch; offset: number }>();

  constructor(
    private readonly endpoint: ListenerEndpoint,
    private readonly metrics: ListenerMetrics,
    private readonly logger: Logger,
    /** Offsets are committed in the deliveries' transactions (`transactionIdPrefix`): none is committed here. */
    private readonly transactional = false,
  ) {
    this.ackMode = endpoint.ackMode;
    this.maxPollRecords = endpoint.properties.maxPollRecords;
  }

  // ---- record listeners --------------------------------------------------------------------------

  /**
   * A record listener is done with the record at `offset` of `b` (processed or recovered). Returns the commit
   * to await, or undefined when none is due now (nothing made: this runs once per record).
   */
  recordDone(b: TransportBatch, offset: number, progress: FetchProgress, busy: Busy): Promise<void> | undefined {
    progress.lastDone = offset;
    if (this.ackMode === AckMode.BATCH) {
      progress.pending = offset + 1;
      if (++progress.sinceCommit >= this.maxPollRecords) {
        const pending = progress.pending;
        progress.pending = -1;
        progress.sinceCommit = 0;
        return this.commit(b, pending, busy);
      }
    } else if (this.ackMode === AckMode.RECORD) {
      return this.commit(b, offset + 1, busy);
    }
    return undefined;
  }

  /**
   * The error handler recovered records up to `lastOffset` of `b` and its `isAckAfterHandle()` is false:
   * the fetch position moves past them (at the end of a record listener's loop, with `progress`), nothing is
   * committed for them now.
   */
  recoveredUncommitted(b: TransportBatch, lastOffset: number, progress?: FetchProgress): void {
    if (progress) progress.lastDone = lastOffset;
    else b.resolveOffset(lastOffset);
  }

  /** A record listener's loop over `b` ended (done, halted, stopping or failed): settles what it did. */
  async recordFetchEnded(b: TransportBatch, progress: FetchProgress): Promise<void> {
    if (progress.lastDone >= 0) b.resolveOffset(progress.lastDone);
    if (progress.pending >= 0) await this.commit(b, progress.pending);
    if (this.ackMode === AckMode.MANUAL) await this.commitAcks(b);
  }

  // ---- batch listeners ---------------------------------------------------------------------------

  /** A batch listener processed the records of `b` up to `lastOffset`: resolved, and committed in RECORD and BATCH modes. */
  async chunkDone(b: TransportBatch, lastOffset: number, busy: Busy): Promise<void> {
    if (lastOffset < 0) return;
    b.resolveOffset(lastOffset);
    if (this.ackMode === AckMode.BATCH || this.ackMode === AckMode.RECORD) await this.commit(b, lastOffset + 1, busy);
  }

  /** The error handler recovered the records of `b` up to `lastOffset` (a batch listener's): resolved and committed in every mode. */
  async recovered(b: TransportBatch, lastOffset: number): Promise<void> {
    b.resolveOffset(lastOffset);
    await this.commit(b, lastOffset + 1);
  }

  /** A batch listener's loop over `b` ended: MANUAL acknowledgments are committed. */
  async batchFetchEnded(b: TransportBatch): Promise<void> {
    if (this.ackMode === AckMode.MANUAL) await this.commitAcks(b);
  }

  // ---- acknowledgments ---------------------------------------------------------------------------

  /** Whether acknowledgments decide the commits (MANUAL, MANUAL_IMMEDIATE). */
  get manual(): boolean {
    return this.ackMode === AckMode.MANUAL || this.ackMode === AckMode.MANUAL_IMMEDIATE;
  }

  /** Called by `Acknowledgment.acknowledge()` (and for a recovered record in a manual mode): queues (MANUAL) or commits (MANUAL_IMMEDIATE) `offset`. */
  acknowledged(b: TransportBatch, offset: number): Promise<void> {
    if (this.ackMode === AckMode.MANUAL_IMMEDIATE) return this.commit(b, offset + 1);
    if (this.ackMode === AckMode.MANUAL) {
      const key = tpKey(b.topic, b.partition);
      const prev = this.acks.get(key);
      if (!prev || prev.offset < offset + 1) this.acks.set(key, { batch: b, offset: offset + 1 });
    }
    return Promise.resolve();
  }

  private async commitAcks(b: TransportBatch): Promise<void> {
    const key = tpKey(b.topic, b.partition);
    const ack = this.acks.get(key);
    if (!ack) return;
    this.acks.delete(key);
    await this.commit(b, ack.offset);
  }

  // ---- the commit --------------------------------------------------------------------------------

  /**
   * Commits `offset`. A commit refused because the member's generation is over marks `busy` (the loop's), whose
   * loop then ends and lets kafkajs rejoin: the rest of the fetch belongs to the group's new generation, which
   * delivers it from the committed offset, so handling it here would only duplicate it. A failed commit is
   * logged, not thrown: the records after the last commit are delivered again.
   */
  private commit(b: TransportBatch, offset: number, busy?: Busy): Promise<void> {
    // With transactions, every processed or recovered record's offset was committed in its transaction
    // (transactional-delivery.ts): the consumer commits nothing itself.
    if (this.transactional) return Promise.resolve();
    const metrics = this.metrics;
    let sent = b.commit([{ topic: b.topic, partition: b.partition, offset }]);
    if (metrics.observer) sent = sent.then(() => metrics.committed(b, true));
    sent = sent.catch((err: unknown) => {
      if (busy && isFencing(err)) busy.fenced = err as Error;
      metrics.committed(b, false);
      this.logger.error(
        `commit of offset ${offset} on ${b.topic}-${b.partition} failed: ${err instanceof Error ? err.message : String(err)}; records after the last commit will be delivered again`,
      );
    });
    return this.endpoint.syncCommits ? sent : Promise.resolve();
  }
}
