/**
 * DeleteGroups (42) with kafkajs's admin client against a 2-node cluster: an empty group goes with its
 * committed offsets, a group with members is NON_EMPTY_GROUP, an unknown one GROUP_ID_NOT_FOUND.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, type Consumer, Kafka, logLevel } from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { waitFor } from './support/wait.js';

describe('DeleteGroups', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  let admin: Admin;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 2, topics: [{ name: 'events', partitions: 2 }] });
    kafka = new Kafka({ clientId: 'delete-groups-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 2, initialRetryTime: 20 } });
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await admin?.disconnect();
    await broker?.stop();
  });

  it('deletes an empty group with its committed offsets', async () => {
    await admin.setOffsets({ groupId: 'finished', topic: 'events', partitions: [{ partition: 0, offset: '0' }] });
    expect(broker.committedOffsets('finished')).toHaveLength(1);

    const results = await admin.deleteGroups(['finished']);
    expect(results).toEqual([expect.objectContaining({ groupId: 'finished', errorCode: 0 })]);
    expect(broker.listGroups().map((g) => g.groupId)).not.toContain('finished');
    expect(broker.committedOffsets('finished')).toEqual([]);
  });

  it('refuses a group with members (NON_EMPTY_GROUP) and an unknown group (GROUP_ID_NOT_FOUND)', async () => {
    const consumer = kafka.consumer({ groupId: 'busy' });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'events' });
    await consumer.run({ eachMessage: async () => {} });
    await waitFor(() => broker.describeGroup('busy')?.state === 'Stable', 15_000, 'group busy stable');

    const error = await admin.deleteGroups(['busy', 'never-existed']).catch((e) => e);
    expect(error.name).toBe('KafkaJSDeleteGroupsError');
    const byGroup = Object.fromEntries(error.groups.map((g: { groupId: string; error: { type: string } }) => [g.groupId, g.error.type]));
    expect(byGroup).toEqual({ busy: 'NON_EMPTY_GROUP', 'never-existed': 'GROUP_ID_NOT_FOUND' });
    expect(broker.describeGroup('busy')?.members).toHaveLength(1);
  });
});
