import type { TopicPartitions } from '../transport/kafka-transport.js';

/** Lag of one partition for a group: log-end offset minus committed offset. */
export interface PartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** Next offset the group will read (its committed offset), or -1 when it has committed none. */
  readonly committed: number;
  /** Log-end offset. */
  readonly endOffset: number;
  /** `endOffset - committed`, or `endOffset` (everything) when nothing is committed. */
  readonly lag: number;
}

/**
 * One `@KafkaListener`'s container: `concurrency` consumers of one group. Mirrors Spring Kafka's
 * `MessageListenerContainer` (as `ConcurrentMessageListenerContainer`); obtained from
 * `KafkaListenerEndpointRegistry`.
 */
export interface MessageListenerContainer {
  /** The listener id. */
  readonly id: string;
  readonly groupId: string;
  /** `Class.method` of the listener. */
  readonly listener: string;
  /** Consumers started or running. */
  isRunning(): boolean;
  /** Paused through `pause()` (retry back-offs do not count). */
  isPaused(): boolean;
  /**
   * Connects the consumers, subscribes them and joins the group; resolves once each joined (with several,
   * the group may still be rebalancing), rejects when one cannot. A stop in progress finishes first.
   */
  start(): Promise<void>;
  /**
   * Stops fetching, waits for handlers in flight (at most the shutdown timeout), commits what was
   * processed and leaves the group. A start in progress finishes first; a stop in progress is shared, so
   * every caller resolves only once the handlers drained.
   */
  stop(): Promise<void>;
  /** Stops fetching after the records in hand; the consumers stay in the group (no rebalance). */
  pause(): void;
  resume(): void;
  /** Partitions assigned to this container's consumers, by topic, sorted. */
  assignedPartitions(): TopicPartitions[];
  /** Lag per partition of the subscribed topics, asked from the broker. */
  lag(): Promise<PartitionLag[]>;
}
