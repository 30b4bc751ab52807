/**
 * DeleteGroups (42) through kafkajs's admin client on a 2-node cluster: an empty group is deleted with its
 * committed offsets, a group with members answers NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';

describe('DeleteGroups', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 2, topics: [{ name: 'orders', partitions: 2 }] });
    kafka = new Kafka({ clientId: 'delete-groups', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }] });
    await producer.disconnect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  /** A consumer in `groupId` that reads both records and commits them; disconnected unless `stay`. */
  async function consumeAll(groupId: string, stay = false) {
    const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
    let read = 0;
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    await consumer.run({ eachMessage: async () => void read++ });
    await waitFor(() => read === 2 && broker.committedOffsets(groupId).length === 2, 20_000, `${groupId} to read and commit`);
    if (!stay) await consumer.disconnect();
    return consumer;
  }

  it('deletes an empty group and its committed offsets', async () => {
    await consumeAll('finished');
    expect(broker.committedOffsets('finished')).toHaveLength(2);
    await admin.deleteGroups(['finished']);
    expect(broker.committedOffsets('finished')).toEqual([]);
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).not.toContain('finished');
    const [described] = (await admin.describeGroups(['finished'])).groups;
    expect(described.state).toBe('Dead');
    // a consumer of the deleted group starts over from the beginning
    const again = await consumeAll('finished');
    expect(again).toBeDefined();
  });

  it('answers NON_EMPTY_GROUP for a group with members, and GROUP_ID_NOT_FOUND for an unknown one', async () => {
    const running = await consumeAll('running', true);
    try {
      const err = await admin.deleteGroups(['running', 'never-existed']).catch((e: unknown) => e);
      const groups = (err as { groups?: { groupId: string; errorCode: number }[] }).groups ?? [];
      expect(groups.map((g) => [g.groupId, g.errorCode]).sort()).toEqual([
        ['never-existed', 69],
        ['running', 68],
      ]);
      expect(broker.committedOffsets('running')).toHaveLength(2);
    } finally {
      await running.disconnect();
    }
  });
});
