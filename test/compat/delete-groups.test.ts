/**
 * DeleteGroups (42) from kafka-python's KafkaAdminClient (`delete_consumer_groups`) against the embedded
 * broker: an empty group goes with its committed offsets, a group with members answers NON_EMPTY_GROUP (68),
 * an unknown one GROUP_ID_NOT_FOUND (69).
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../broker/support/wait.js';
import { kafkajs, python } from './support/clients.js';

describe('DeleteGroups from kafka-python', () => {
  let broker: EmbeddedKafkaBroker;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'kp-orders' }] });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('deletes an empty group with its offsets and refuses a group with members', async () => {
    const kafka = kafkajs(broker.brokers);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'kp-orders', messages: [{ value: 'a' }] });
    await producer.disconnect();
    const consumer = (groupId: string) => kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    const done = consumer('kp-done');
    const running = consumer('kp-running');
    for (const c of [done, running]) {
      await c.connect();
      await c.subscribe({ topic: 'kp-orders', fromBeginning: true });
      await c.run({ eachMessage: async () => {} });
    }
    await waitFor(() => broker.committedOffsets('kp-done').length === 1 && broker.committedOffsets('kp-running').length === 1, 20_000, 'both groups to commit');
    await done.disconnect();
    try {
      const { results } = await python<{ results: [string, number][] }>('kafka_python', {
        op: 'delete_groups',
        bootstrap: broker.brokers[0],
        groups: ['kp-done', 'kp-running', 'kp-unknown'],
      });
      expect(results).toEqual([
        ['kp-done', 0],
        ['kp-running', 68],
        ['kp-unknown', 69],
      ]);
      expect(broker.committedOffsets('kp-done')).toEqual([]);
      expect(broker.committedOffsets('kp-running')).toHaveLength(1);
    } finally {
      await running.disconnect();
    }
  });
});
