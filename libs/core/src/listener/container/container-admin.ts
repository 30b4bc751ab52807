/**
 * The admin work of a container, on one admin client made on first use: creating the topics the error
 * handler publishes to, warning about consumers that will sit idle, and the group's lag.
 */
import type { Logger } from '@nestjs/common';
import type { ListenerFailureContext } from '../../error-handling/common-error-handler.js';
import type { TransportAdmin } from '../../transport/kafka-transport.js';
import type { ContainerEnvironment, ListenerEndpoint } from '../listener-endpoint.js';
import type { PartitionLag } from '../message-listener-container.js';

export class ContainerAdmin {
  private admin: Promise<TransportAdmin> | undefined;

  constructor(
    private readonly endpoint: ListenerEndpoint,
    private readonly env: ContainerEnvironment,
    private readonly failureContext: ListenerFailureContext,
    private readonly logger: Logger,
  ) {}

  /** Creates the topics the error handler publishes to (dead-letter topics), as `topicsToCreate` asks. */
  async createErrorHandlerTopics(): Promise<void> {
    const { errorHandler } = this.endpoint;
    const ask = errorHandler.topicsToCreate?.bind(errorHandler);
    if (!ask) return;
    const admin = await this.client();
    const wanted: { topic: string; numPartitions: number }[] = [];
    for (const topic of await this.subscribedTopics(admin)) {
      const partitions = (await admin.partitionCount(topic)) ?? 1;
      for (const t of ask({ topic, partitions }, this.failureContext)) wanted.push({ topic: t.topic, numPartitions: t.numPartitions });
    }
    if (wanted.length) await admin.createTopics(wanted);
  }

  /** Warns when the listener runs more consumers than its topics have partitions; `stillRunning` is asked once they are counted. */
  async warnIfIdleConsumers(stillRunning: () => boolean): Promise<void> {
    const { id, concurrency } = this.endpoint;
    try {
      const admin = await this.client();
      let partitions = 0;
      for (const topic of await this.subscribedTopics(admin)) partitions += (await admin.endOffsets(topic)).length;
      if (stillRunning() && concurrency > partitions) {
        this.logger.warn(
          `listener '${id}' runs ${concurrency} consumers for ${partitions} partition(s): ${concurrency - partitions} will sit idle (a partition goes to one consumer of a group); lower 'concurrency' or add partitions`,
        );
      }
    } catch (err) {
      this.logger.debug(`could not count partitions: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Lag per partition of the subscribed topics, asked from the broker. */
  async lag(): Promise<PartitionLag[]> {
    const admin = await this.client();
    const topics = await this.subscribedTopics(admin);
    const committed = await admin.committedOffsets(this.endpoint.groupId, topics);
    const out: PartitionLag[] = [];
    for (const topic of topics) {
      for (const { partition, offset: endOffset } of await admin.endOffsets(topic)) {
        const c = committed.find((o) => o.topic === topic && o.partition === partition)?.offset ?? -1;
        out.push({ topic, partition, committed: c, endOffset, lag: c < 0 ? endOffset : Math.max(0, endOffset - c) });
      }
    }
    return out.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
  }

  /** Disconnects the admin client, if one was made; the next use makes a new one. */
  async disconnect(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }

  /** One admin client per container, made on first use (concurrent callers share it). */
  private client(): Promise<TransportAdmin> {
    if (!this.admin) {
      const admin = this.env.transport.createAdmin(this.env.client);
      const connected: Promise<TransportAdmin> = admin.connect().then(
        () => admin,
        async (err: unknown) => {
          if (this.admin === connected) this.admin = undefined;
          await admin.disconnect().catch(() => undefined);
          throw err;
        },
      );
      this.admin = connected;
    }
    return this.admin;
  }

  private async subscribedTopics(admin: TransportAdmin): Promise<string[]> {
    const { topics, topicPattern } = this.endpoint;
    if (!topicPattern) return [...(topics ?? [])];
    return (await admin.listTopics()).filter((t) => topicPattern.test(t)).sort();
  }
}
