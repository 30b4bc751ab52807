/**
 * One consumer of a listener's group (Spring's `KafkaMessageListenerContainer` with its `ListenerConsumer`):
 * connects, subscribes, joins, and runs the client's fetch loop, which hands each fetch of a partition to the
 * invoker (up to 64 partitions at a time, each one fetch at a time). Owns the consumer's back-offs, and keeps
 * each assigned partition paused or fetched as the container wants it after a rebalance.
 */
import type { TopicPartitions, TransportConsumer } from '../../transport/kafka-transport.js';
import type { ContainerEnvironment, ListenerEndpoint } from '../listener-endpoint.js';
import { BackOffScheduler } from './back-off.scheduler.js';
import type { ContainerState, ListenerInvoker } from './listener-invoker.js';

/** Partitions one consumer processes at the same time (kafkajs `partitionsConsumedConcurrently`). */
const PARTITIONS_IN_PARALLEL = 64;

export class ListenerConsumer {
  readonly consumer: TransportConsumer;
  /** Partitions paused for a retry back-off, with the timers that resume them. */
  readonly backoffs: BackOffScheduler;

  constructor(
    /** Its place among the container's consumers (0 .. concurrency - 1), for messages. */
    readonly index: number,
    private readonly endpoint: ListenerEndpoint,
    env: ContainerEnvironment,
    private readonly container: ContainerState,
    private readonly invoker: ListenerInvoker,
    /** Called when the client gave up on this consumer (it crashed after joining). */
    onCrash: (consumer: ListenerConsumer, err: Error) => void,
  ) {
    this.consumer = env.transport.createConsumer(env.client, { ...endpoint.properties.consumer, groupId: endpoint.groupId });
    this.backoffs = new BackOffScheduler(this.consumer, () => container.isRunning() && !container.isPaused());
    this.consumer.onAssignment((assignment) => this.onAssignment(assignment));
    this.consumer.onFatalError((err) => onCrash(this, err));
  }

  /** Connects, subscribes and starts the fetch loop; resolves once the consumer joined its group. */
  async run(): Promise<void> {
    const { endpoint, consumer, backoffs, invoker } = this;
    await consumer.connect();
    await consumer.subscribe(endpoint.topicPattern ? [endpoint.topicPattern] : [...(endpoint.topics ?? [])], endpoint.fromBeginning);
    await consumer.run({
      partitionsConsumedConcurrently: PARTITIONS_IN_PARALLEL,
      eachBatch: (b) => invoker.process(b, backoffs),
    });
  }

  /** Stops fetching every assigned partition (`pause()` of the container). */
  pause(): void {
    const assignment = this.consumer.assignment();
    if (assignment.length) this.consumer.pause(assignment);
  }

  /** Fetches every assigned partition again, but those a back-off holds (`resume()` of the container). */
  resume(): void {
    const { free } = this.backoffs.split(this.consumer.assignment());
    if (free.length) this.consumer.resume(free);
  }

  /** Ends the back-offs and leaves the group: waits for the fetch in hand, then disconnects. */
  disconnect(): Promise<void> {
    this.backoffs.cancelAll();
    return this.consumer.disconnect();
  }

  /**
   * A new assignment: kafkajs keeps a consumer's paused partitions across rebalances (and forgets them when it
   * restarts a crashed consumer), so each assigned partition is set as the container wants it now: paused
   * while the container is, or while a back-off holds it; fetched otherwise (a partition paused here before
   * it moved away and back would never be fetched again).
   */
  private onAssignment(assignment: TopicPartitions[]): void {
    if (!assignment.length) return;
    const { consumer } = this;
    if (this.container.isPaused()) {
      consumer.pause(assignment);
      return;
    }
    const { held, free } = this.backoffs.split(assignment);
    if (held.length) consumer.pause(held);
    if (free.length) consumer.resume(free);
  }
}
