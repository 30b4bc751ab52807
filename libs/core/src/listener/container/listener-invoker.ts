/**
 * The seam between a listener consumer and the listener: an invoker takes each fetch of one partition and
 * delivers its records to the listener, one record per call (`RecordListenerInvoker`) or a chunk per call
 * (`BatchListenerInvoker`), reporting to the offset tracker what was processed or recovered.
 *
 * Extension points, each in one place:
 * - another way to call a handler (a Nest transport strategy): `ListenerEndpoint.invoke`, called once per
 *   delivery by the invokers, or a third `ListenerInvoker`;
 * - a wrapper around each delivery and its commit (transactions, tracing): `RecordListenerInvoker.deliver`
 *   and `BatchListenerInvoker.deliverChunk` are the per-delivery steps, and every commit goes through
 *   `OffsetTracker`.
 */
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { BackOffScheduler } from './back-off.scheduler.js';

/** What became of a record (or of the records of a batch invocation). */
export const enum Outcome {
  /** Processed or recovered: resolve and commit per the ack mode. */
  DONE,
  /** Retry at once: deliver the same record again. */
  AGAIN,
  /** Leave the rest of this fetch: a back-off was scheduled, the container stops, or it is stopping. */
  HALT,
  /** Recovered by an error handler whose `isAckAfterHandle()` is false: go on, but commit nothing for it. */
  RECOVERED,
}

/** What an invoker sees of its container. */
export interface ContainerState {
  isRunning(): boolean;
  /** Paused through `pause()`. */
  isPaused(): boolean;
  stop(): Promise<void>;
}

export interface ListenerInvoker {
  /**
   * Delivers the records of one fetch of one partition in offset order, until they are done, a back-off
   * holds the partition, or the consumer or container stops. `backoffs` belongs to the consumer the fetch
   * came from.
   */
  process(fetch: TransportBatch, backoffs: BackOffScheduler): Promise<void>;
}
