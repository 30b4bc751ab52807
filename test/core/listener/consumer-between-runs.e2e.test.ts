/**
 * A kafkajs consumer has no group before `run` and while it waits to restart after a crash; kafkajs then
 * throws from pause, resume and seek. The container calls them from timers (a back-off's end), where a throw
 * would end the process, so the transport consumer takes them as no-ops then (the restarted consumer starts
 * from the committed offsets anyway).
 */
import { KafkajsTransport } from '@kafka-nest/core';
import { waitFor } from '@kafka-nest/testing';
import { expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';

const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 1 }] });

it('pause, seek and resume before run do not throw, and leave nothing behind: the consumer then fetches', async () => {
  const transport = new KafkajsTransport();
  const client = { brokers: env.broker.brokers, clientId: 'between-runs' };
  const consumer = transport.createConsumer(client, {
    groupId: 'between-runs',
    sessionTimeoutMs: 6_000,
    heartbeatIntervalMs: 1_000,
    rebalanceTimeoutMs: 10_000,
    fetchMaxWaitMs: 100,
  });
  const tp = [{ topic: 'orders', partitions: [0] }];
  try {
    await consumer.connect();
    await consumer.subscribe(['orders'], true);
    expect(() => consumer.pause(tp)).not.toThrow();
    expect(() => consumer.seek('orders', 0, 0)).not.toThrow();
    expect(() => consumer.resume(tp)).not.toThrow();

    const offsets: number[] = [];
    await consumer.run({
      partitionsConsumedConcurrently: 1,
      eachBatch: async (b) => {
        for (const r of b.records) offsets.push(r.offset);
        b.resolveOffset(b.records.at(-1)!.offset);
      },
    });
    await waitFor(() => consumer.assignment().length === 1);
    const producer = transport.createProducer(client, { acks: -1, idempotent: false, allowAutoTopicCreation: false });
    await producer.connect();
    await producer.send('orders', [{ key: null, value: 'a' }]);
    await producer.disconnect();
    await waitFor(() => offsets.length === 1);
    expect(offsets).toEqual([0]);
  } finally {
    await consumer.disconnect();
  }
});
