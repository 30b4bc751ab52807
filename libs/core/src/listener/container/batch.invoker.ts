/**
 * Delivers the records of a fetch to a batch listener (`batch: true`), in chunks of at most
 * `max.poll.records`, one call per chunk (Spring's `invokeBatchListener`). A record whose value (or key)
 * cannot be deserialized ends its chunk; it never reaches the listener and the error handler recovers it as
 * a record. A failed call goes to the error handler's `handleBatch`, which may recover (commit) a prefix.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { ConsumedRecord } from '../consumed-record.js';
import { cannotFail, deserialize, deserializeValueAt } from '../deserializers.js';
import { KafkaBatchContext } from '../kafka-context.js';
import type { ListenerEndpoint } from '../listener-endpoint.js';
import type { BackOffScheduler } from './back-off.scheduler.js';
import type { DeliveryFailures } from './delivery-failures.js';
import { Invocation, settle, UNREAD } from './listener-invocation.js';
import { Outcome, type ContainerState, type ListenerInvoker } from './listener-invoker.js';
import type { ListenerMetrics } from './listener-metrics.js';
import type { Busy, Liveness } from './liveness.js';
import type { OffsetTracker } from './offset-tracker.js';
import type { TransactionalDelivery } from './transactional-delivery.js';

/** What a batch listener invocation did: `advance` records done; `complete` >= 0: resolve and commit up to that offset. */
interface BatchStep {
  readonly advance: number;
  readonly outcome: Outcome;
  readonly complete: number;
}

export class BatchListenerInvoker implements ListenerInvoker {
  /** Keys are read when the listener asks for them, not up front: their deserializer cannot fail. */
  private readonly keysOnDemand: boolean;
  private readonly maxPollRecords: number;

  constructor(
    private readonly endpoint: ListenerEndpoint,
    private readonly container: ContainerState,
    private readonly offsets: OffsetTracker,
    private readonly failures: DeliveryFailures,
    private readonly liveness: Liveness,
    private readonly metrics: ListenerMetrics,
    /** With transactions: each call runs in a transaction that commits the offset after its last record. */
    private readonly transactional?: TransactionalDelivery,
  ) {
    this.keysOnDemand = cannotFail(endpoint.keyDeserializer);
    this.maxPollRecords = endpoint.properties.maxPollRecords;
  }

  async process(b: TransportBatch, backoffs: BackOffScheduler): Promise<void> {
    const { container, offsets, failures, metrics } = this;
    const busy = this.liveness.track(b);
    try {
      let start = 0;
      while (start < b.size) {
        if (busy.fenced) throw busy.fenced;
        if (!b.isRunning() || b.isStale() || container.isPaused() || !container.isRunning()) break;
        const { advance, outcome, complete, failure } = await this.deliverChunk(b, backoffs, start, busy);
        if (complete >= 0) {
          // Committed here rather than in deliverChunk: its frame, and with it the chunk's deserialized values,
          // is gone, so they need not survive the commit's round trip (as with kafkajs's own auto-commit).
          await offsets.chunkDone(b, complete, busy);
          await b.heartbeat();
        }
        start += advance;
        if (outcome === Outcome.HALT) break;
        if (outcome === Outcome.AGAIN) {
          await this.beforeRetry(b);
          continue;
        }
        if (!failure) continue;
        // The record at `start` cannot be deserialized: it never reaches the listener; the error handler
        // recovers it as a record.
        const bad = b.recordAt(start);
        const result = await failures.handleRecord(bad, failure);
        metrics.handled(b, result, 1);
        const next = await failures.apply(result, b, backoffs, bad, true);
        if (next === Outcome.HALT) break;
        if (next === Outcome.DONE || next === Outcome.RECOVERED) {
          if (next === Outcome.DONE) await offsets.recovered(b, bad.offset);
          else offsets.recoveredUncommitted(b, bad.offset);
          start++;
        } else {
          await this.beforeRetry(b);
        }
      }
      if (busy.fenced) throw busy.fenced;
    } finally {
      this.liveness.release(busy);
      await offsets.batchFetchEnded(b);
    }
  }

  /**
   * Deserializes up to `max.poll.records` records from `start` and hands those before the first that fails
   * to the listener (one delivery). `failure`: why the record after them cannot be deserialized.
   */
  async deliverChunk(b: TransportBatch, backoffs: BackOffScheduler, start: number, busy: Busy): Promise<BatchStep & { failure?: Error }> {
    let count = Math.min(b.size - start, this.maxPollRecords);
    const values = new Array<unknown>(count);
    const keys = this.keysOnDemand ? undefined : new Array<unknown>(count);
    const { valueDeserializer, keyDeserializer } = this.endpoint;
    let failure: Error | undefined;
    for (let i = 0; i < count; i++) {
      try {
        values[i] = deserializeValueAt(valueDeserializer, b, start + i);
        if (keys) keys[i] = deserialize(keyDeserializer, b.recordAt(start + i), true);
      } catch (err) {
        failure = err as Error;
        count = i;
        values.length = count;
        if (keys) keys.length = count;
        break;
      }
    }
    if (count === 0) return { advance: 0, outcome: Outcome.DONE, complete: -1, failure };
    busy.begin(b.recordAt(start));
    const step = await this.invoke(b, backoffs, start, count, values, keys);
    busy.end();
    return failure ? { ...step, failure } : step;
  }

  /**
   * Invokes the batch listener; `advance` records (from the first) are done: recovered and committed here,
   * or, when the listener succeeded, to be completed by the caller at offset `complete`.
   */
  private async invoke(
    b: TransportBatch,
    backoffs: BackOffScheduler,
    /** The records handed over: `count` from index `start` of the batch. */
    start: number,
    count: number,
    values: unknown[],
    /** Undefined when keys are read on demand. */
    keys: unknown[] | undefined,
  ): Promise<BatchStep> {
    const { endpoint, failures, metrics, offsets } = this;
    // Made only if something asks: the listener (its context, @Key, @Headers), or a failure.
    let made: readonly ConsumedRecord[] | undefined;
    const recordsOf = () => (made ??= start === 0 && count === b.size ? b.records : Array.from({ length: count }, (_, i) => b.recordAt(start + i)));
    let error: Error;
    const started = metrics.clock();
    try {
      const attempt = failures.errorHandler.deliveryAttempt(b.recordAt(start), failures.failureContext);
      const ctx = new KafkaBatchContext(recordsOf, endpoint.groupId, endpoint.id, attempt);
      const invocation = new Invocation(true, keys ?? UNREAD, recordsOf, offsets, b, endpoint.keyDeserializer);
      if (this.transactional) {
        await this.transactional.invokeBatch(b.recordAt(start + count - 1), () => settle(endpoint.invoke(values, ctx, invocation)));
      } else {
        const result = endpoint.invoke(values, ctx, invocation);
        if (result !== undefined) await settle(result);
      }
      failures.chunkSucceeded(b, recordsOf);
      metrics.succeeded(b, count, started);
      return { advance: count, outcome: Outcome.DONE, complete: b.recordAt(start + count - 1).offset };
    } catch (err) {
      error = failures.toError(err);
    }
    const records = recordsOf();
    metrics.failed(b, records.length, started);
    failures.failed(b.topic, b.partition);
    const result = await failures.handleBatch(records, error);
    const committed = Math.max(0, Math.min(records.length, Math.trunc(result.committed)));
    metrics.handled(b, result.then, records.length - committed);
    if (committed > 0) await offsets.recovered(b, records[committed - 1].offset);
    if (committed === records.length) return { advance: committed, outcome: Outcome.DONE, complete: -1 };
    const outcome = await failures.apply(result.then, b, backoffs, records[committed], false);
    if (outcome === Outcome.DONE || outcome === Outcome.RECOVERED) {
      // Skipped: every record from `committed` on is recovered.
      const last = records[records.length - 1].offset;
      if (outcome === Outcome.DONE) await offsets.recovered(b, last);
      else offsets.recoveredUncommitted(b, last);
      return { advance: records.length, outcome: Outcome.DONE, complete: -1 };
    }
    return { advance: committed, outcome, complete: -1 };
  }

  /** Before delivering a failed chunk again at once: timers and I/O get their turn, as between two polls, and a heartbeat if due. */
  private async beforeRetry(b: TransportBatch): Promise<void> {
    await nextTurn();
    await b.heartbeat();
  }
}
