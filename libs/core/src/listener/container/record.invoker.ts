/**
 * Delivers the records of a fetch to a record listener, one call per record, in offset order (Spring's
 * `invokeRecordListener`). This is the dispatch hot path: per record it makes only the listener's context
 * and invocation, and asks nothing of the error handler unless the partition failed before.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { ConsumedRecord } from '../consumed-record.js';
import { cannotFail, deserialize } from '../deserializers.js';
import { KafkaContext } from '../kafka-context.js';
import type { ListenerEndpoint } from '../listener-endpoint.js';
import type { BackOffScheduler } from './back-off.scheduler.js';
import type { DeliveryFailures } from './delivery-failures.js';
import { Invocation, settle, UNREAD } from './listener-invocation.js';
import { Outcome, type ContainerState, type ListenerInvoker } from './listener-invoker.js';
import type { ListenerMetrics } from './listener-metrics.js';
import type { Liveness } from './liveness.js';
import { FetchProgress, type OffsetTracker } from './offset-tracker.js';
import type { TransactionalDelivery } from './transactional-delivery.js';

export class RecordListenerInvoker implements ListenerInvoker {
  /** Keys are read when the listener asks for them, not up front: their deserializer cannot fail. */
  private readonly keysOnDemand: boolean;

  constructor(
    private readonly endpoint: ListenerEndpoint,
    private readonly container: ContainerState,
    private readonly offsets: OffsetTracker,
    private readonly failures: DeliveryFailures,
    private readonly liveness: Liveness,
    private readonly metrics: ListenerMetrics,
    /** With transactions: each delivery runs in a transaction that commits its offset. */
    private readonly transactional?: TransactionalDelivery,
  ) {
    this.keysOnDemand = cannotFail(endpoint.keyDeserializer);
  }

  async process(b: TransportBatch, backoffs: BackOffScheduler): Promise<void> {
    const { records } = b;
    const { container, offsets } = this;
    const busy = this.liveness.track(b);
    const progress = new FetchProgress();
    try {
      // Only our own seek (a back-off, after which the loop stops) makes a batch stale: checked once.
      if (b.isStale()) return;
      for (let i = 0; i < records.length; i++) {
        if (busy.fenced) throw busy.fenced;
        if (!b.isRunning() || container.isPaused() || !container.isRunning()) break;
        const record = records[i];
        busy.begin(record);
        const outcome = await this.deliver(b, record, backoffs);
        busy.end();
        if (outcome === Outcome.HALT) break;
        if (outcome === Outcome.AGAIN) {
          // Delivered again at once, but first timers and I/O get their turn (stop(), back-off timers), as
          // between two polls; and the heartbeat below is sent if due.
          i--;
          await nextTurn();
        } else if (outcome === Outcome.RECOVERED) {
          offsets.recoveredUncommitted(b, record.offset, progress);
        } else {
          const commit = offsets.recordDone(b, record.offset, progress, busy);
          if (commit) await commit;
        }
        if (busy.beatDue()) await b.heartbeat();
      }
      if (busy.fenced) throw busy.fenced;
    } finally {
      this.liveness.release(busy);
      await offsets.recordFetchEnded(b, progress);
    }
  }

  /** Delivers one record (one delivery); returns what the loop does next. Commits are the caller's. */
  async deliver(b: TransportBatch, record: ConsumedRecord, backoffs: BackOffScheduler): Promise<Outcome> {
    const { endpoint, failures, metrics } = this;
    const wait = (endpoint.notBefore?.(record) ?? 0) - Date.now();
    if (wait > 0) {
      // Not due yet: hold the partition at this record until it is, with the machinery of a back-off.
      if (b.isRunning() && this.container.isRunning()) backoffs.schedule(b, record.offset, wait);
      return Outcome.HALT;
    }
    let error: Error;
    const started = metrics.clock();
    try {
      const value = deserialize(endpoint.valueDeserializer, record, false);
      const key = this.keysOnDemand ? UNREAD : deserialize(endpoint.keyDeserializer, record, true);
      const ctx = new KafkaContext(record, endpoint.groupId, endpoint.id, () => failures.errorHandler.deliveryAttempt(record, failures.failureContext));
      const invocation = new Invocation(false, key, record, this.offsets, b, endpoint.keyDeserializer);
      if (this.transactional) {
        await this.transactional.invoke(record, () => settle(endpoint.invoke(value, ctx, invocation)));
      } else {
        const result = endpoint.invoke(value, ctx, invocation);
        if (result !== undefined) await settle(result);
      }
      failures.succeeded(record);
      metrics.succeeded(b, 1, started);
      return Outcome.DONE;
    } catch (err) {
      error = failures.toError(err);
    }
    metrics.failed(b, 1, started);
    failures.failed(record.topic, record.partition);
    const result = await failures.handleRecord(record, error);
    metrics.handled(b, result, 1);
    return failures.apply(result, b, backoffs, record, true);
  }
}
