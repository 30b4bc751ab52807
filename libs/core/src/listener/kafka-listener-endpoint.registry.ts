import { Injectable } from '@nestjs/common';
import { KafkaConfigurationError, ListenerContainerNotFoundError } from '../kafka.errors.js';
import type { PartitionLag, MessageListenerContainer } from './message-listener-container.js';
import type { TopicPartitions } from '../transport/kafka-transport.js';

/**
 * Holds the listener containers of the application by id, to look them up and control them. Mirrors
 * Spring Kafka's `KafkaListenerEndpointRegistry`. Inject it anywhere.
 */
@Injectable()
export class KafkaListenerEndpointRegistry {
  private readonly containers = new Map<string, MessageListenerContainer>();

  /** @internal Adds a container; a second container with the same id is a configuration error. */
  register(container: MessageListenerContainer): void {
    const existing = this.containers.get(container.id);
    if (existing) {
      throw new KafkaConfigurationError(
        `two listeners have the id '${container.id}': ${existing.listener} and ${container.listener}; give each @KafkaListener its own 'id'`,
        container.listener,
      );
    }
    this.containers.set(container.id, container);
  }

  /** The container of listener `id`; throws `ListenerContainerNotFoundError` listing the known ids. */
  getListenerContainer(id: string): MessageListenerContainer {
    const c = this.containers.get(id);
    if (!c) {
      const known = [...this.containers.keys()];
      throw new ListenerContainerNotFoundError(
        `no listener container with id '${id}'; known ids: ${known.length ? known.map((k) => `'${k}'`).join(', ') : 'none'} (set one with @KafkaListener({ id }))`,
        id,
      );
    }
    return c;
  }

  /** Every container, in registration order. */
  getListenerContainers(): MessageListenerContainer[] {
    return [...this.containers.values()];
  }

  getListenerContainerIds(): string[] {
    return [...this.containers.keys()];
  }

  /** Starts one container, or every container when no id is given. */
  async start(id?: string): Promise<void> {
    await Promise.all(this.select(id).map((c) => c.start()));
  }

  /** Stops one container, or every container when no id is given (each drains as on shutdown). */
  async stop(id?: string): Promise<void> {
    await Promise.all(this.select(id).map((c) => c.stop()));
  }

  pause(id: string): void {
    this.getListenerContainer(id).pause();
  }

  resume(id: string): void {
    this.getListenerContainer(id).resume();
  }

  isRunning(id: string): boolean {
    return this.getListenerContainer(id).isRunning();
  }

  /** Partitions currently assigned to the container's consumers. */
  assignedPartitions(id: string): TopicPartitions[] {
    return this.getListenerContainer(id).assignedPartitions();
  }

  /** Lag per partition of the container's group. */
  lag(id: string): Promise<PartitionLag[]> {
    return this.getListenerContainer(id).lag();
  }

  private select(id?: string): MessageListenerContainer[] {
    return id === undefined ? this.getListenerContainers() : [this.getListenerContainer(id)];
  }
}
