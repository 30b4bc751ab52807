/**
 * The consumer a requester reads its replies with (Spring's reply container): one per requester, shared by
 * all its requests, in a group of its own so that it reads every partition of the reply topics. Internal.
 */
import { Logger } from '@nestjs/common';
import type { ConsumedRecord } from '../listener/consumed-record.js';
import type { KafkaClientOptions, KafkaTransport, TransportConsumer, TransportConsumerConfig } from '../transport/kafka-transport.js';

export class ReplyConsumer {
  private readonly logger = new Logger('ReplyConsumer');
  private consumer: TransportConsumer | undefined;

  constructor(
    private readonly transport: KafkaTransport,
    private readonly client: KafkaClientOptions,
    private readonly config: TransportConsumerConfig,
    private readonly onReply: (record: ConsumedRecord) => void,
  ) {}

  /**
   * Joins the group, subscribed to `topics`, then places each of their partitions at its end, so that every
   * reply written after this resolves is read (whatever the first fetch resolved 'latest' to).
   */
  async start(topics: readonly string[]): Promise<void> {
    const consumer = this.transport.createConsumer(this.client, this.config);
    this.consumer = consumer;
    consumer.onFatalError((err) => this.logger.error(`the reply consumer of ${topics.map((t) => `'${t}'`).join(', ')} crashed: ${err.message}`));
    await consumer.connect();
    await consumer.subscribe(topics, false);
    await consumer.run({
      partitionsConsumedConcurrently: 64,
      eachBatch: async (batch) => {
        for (let i = 0; i < batch.size; i++) this.onReply(batch.recordAt(i));
        if (batch.size) batch.resolveOffset(batch.recordAt(batch.size - 1).offset);
      },
    });
    const admin = this.transport.createAdmin(this.client);
    await admin.connect();
    try {
      for (const topic of topics) {
        for (const { partition, offset } of await admin.endOffsets(topic)) consumer.seek(topic, partition, offset);
      }
    } finally {
      await admin.disconnect();
    }
  }

  async stop(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    await consumer?.disconnect();
  }
}
