/**
 * What a container tells the `KafkaObserver` (metrics): outcomes of deliveries, the error handler's
 * decisions, and commits. Nothing is made or timed when metrics are off (no observer).
 */
import type { ErrorHandlingResult } from '../../error-handling/common-error-handler.js';
import type { KafkaObserver, ListenerEvent } from '../../metrics/kafka-observer.js';
import type { TransportBatch } from '../../transport/kafka-transport.js';
import type { ContainerEnvironment } from '../listener-endpoint.js';

export class ListenerMetrics {
  constructor(
    private readonly env: ContainerEnvironment,
    private readonly listenerId: string,
    private readonly groupId: string,
  ) {}

  get observer(): KafkaObserver | undefined {
    return this.env.observer;
  }

  /** When a delivery started, for its duration; 0 (no clock read) when metrics are off. */
  clock(): number {
    return this.env.observer ? performance.now() : 0;
  }

  /** The listener handled `count` records of `b` in one call that started at `started` (`clock()`). */
  succeeded(b: TransportBatch, count: number, started: number): void {
    this.env.observer?.recordOutcome({ ...this.event(b), outcome: 'success', count, durationMs: performance.now() - started });
  }

  /** The listener threw for `count` records of `b` in one call that started at `started` (`clock()`). */
  failed(b: TransportBatch, count: number, started: number): void {
    this.env.observer?.recordOutcome({ ...this.event(b), outcome: 'failure', count, durationMs: performance.now() - started });
  }

  /** Reports what the error handler decided for `count` failed records. */
  handled(b: TransportBatch, result: ErrorHandlingResult, count: number): void {
    const observer = this.env.observer;
    if (!observer || count <= 0 || result.action === 'stop') return;
    observer.recordOutcome({ ...this.event(b), outcome: result.action === 'retry' ? 'retried' : 'recovered', count });
  }

  /** A commit of `b`'s partition finished. */
  committed(b: TransportBatch, ok: boolean): void {
    this.env.observer?.commit({ ...this.event(b), ok });
  }

  private event(b: TransportBatch): ListenerEvent {
    return { listenerId: this.listenerId, groupId: this.groupId, topic: b.topic, partition: b.partition };
  }
}
