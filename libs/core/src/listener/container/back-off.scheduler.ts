/**
 * Retry back-offs of one consumer, without sleeping in the fetch loop (Spring's
 * `ContainerPausingBackOffHandler`): the partition is paused, sought back to the record to deliver again,
 * and resumed when the delay is over. Also holds a partition at a record that is not due yet (retry topics).
 */
import type { TopicPartitions, TransportBatch, TransportConsumer } from '../../transport/kafka-transport.js';
import { tpKey } from './partition-key.js';

/** The longest delay a Node timer takes (2^31-1 ms); a longer one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class BackOffScheduler {
  /** Partitions paused for a back-off, with the timer that resumes them. */
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly consumer: TransportConsumer,
    /** Whether a partition may be fetched again when its back-off ends (the container runs and is not paused). */
    private readonly mayResume: () => boolean,
  ) {}

  /** How many partitions a back-off holds. */
  get size(): number {
    return this.timers.size;
  }

  /** Whether a back-off holds the partition. */
  holds(topic: string, partition: number): boolean {
    return this.timers.has(tpKey(topic, partition));
  }

  /**
   * Pauses the partition of `b` (a fetch of this consumer), seeks back to `offset` and resumes after
   * `delayMs`, not a millisecond sooner: a timer that fires early (Node's may, by a hair) or is cut to the
   * longest a Node timer takes (about 24.8 days; a longer one fires after 1 ms) is set again for the rest.
   */
  schedule(b: TransportBatch, offset: number, delayMs: number): void {
    const { consumer, timers } = this;
    // Revoked meanwhile: the new owner starts from the committed offset.
    if (!consumer.assignment().some((tp) => tp.topic === b.topic && tp.partitions.includes(b.partition))) return;
    const key = tpKey(b.topic, b.partition);
    const tp = [{ topic: b.topic, partitions: [b.partition] }];
    consumer.pause(tp);
    consumer.seek(b.topic, b.partition, offset);
    clearTimeout(timers.get(key));
    const due = performance.now() + delayMs;
    const wake = () => {
      const left = due - performance.now();
      if (left > 0) {
        timers.set(key, setTimeout(wake, Math.min(Math.ceil(left), MAX_TIMER_MS)));
        return;
      }
      timers.delete(key);
      if (this.mayResume()) consumer.resume(tp);
    };
    timers.set(key, setTimeout(wake, Math.min(delayMs, MAX_TIMER_MS)));
  }

  /** Splits partitions into those a back-off holds and the others. */
  split(partitions: readonly TopicPartitions[]): { held: TopicPartitions[]; free: TopicPartitions[] } {
    const held: TopicPartitions[] = [];
    const free: TopicPartitions[] = [];
    for (const { topic, partitions: ps } of partitions) {
      const waiting = ps.filter((p) => this.holds(topic, p));
      if (waiting.length) held.push({ topic, partitions: waiting });
      if (waiting.length < ps.length) free.push({ topic, partitions: ps.filter((p) => !this.holds(topic, p)) });
    }
    return { held, free };
  }

  /** Ends every back-off without resuming (the consumer is being replaced or stopped). */
  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
