/**
 * Manual replica assignment (CreateTopics, CreatePartitions) and partition reassignment (45/46) with
 * kafkajs's admin client on a 3-node cluster: the replicas given are what Metadata reports, the first live
 * one leads, produce follows the leader, and an invalid assignment is INVALID_REPLICA_ASSIGNMENT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, Kafka, logLevel, type Producer } from 'kafkajs';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { waitFor } from './support/wait.js';

describe('replica assignment and reassignment', () => {
  let broker: EmbeddedKafkaBroker;
  let admin: Admin;
  let producer: Producer;

  const partitionsOf = async (topic: string) => {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0].partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => ({ id: p.partitionId, leader: p.leader, replicas: p.replicas }));
  };

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 3, autoCreateTopics: false });
    const kafka = new Kafka({ clientId: 'reassign-test', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 50 } });
    admin = kafka.admin();
    producer = kafka.producer();
    await Promise.all([admin.connect(), producer.connect()]);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    await broker?.stop();
  });

  it('creates a topic on the replicas given, led by the first live one, and produce follows the leader', async () => {
    await admin.createTopics({
      topics: [
        {
          topic: 'placed',
          replicaAssignment: [
            { partition: 0, replicas: [2, 0] },
            { partition: 1, replicas: [1, 2] },
          ],
        },
      ],
    });
    expect(await partitionsOf('placed')).toEqual([
      { id: 0, leader: 2, replicas: [2, 0] },
      { id: 1, leader: 1, replicas: [1, 2] },
    ]);
    await producer.send({ topic: 'placed', messages: [{ value: 'a', partition: 0 }, { value: 'b', partition: 1 }] });
    expect(broker.allRecords('placed').map((r) => r.value?.toString()).sort()).toEqual(['a', 'b']);

    await broker.stopNode(2);
    try {
      // The admin client may first have to notice its connection to node 2 is gone.
      const partition0 = await waitFor(() => partitionsOf('placed').then((p) => p[0], () => null), 15_000, 'metadata without node 2');
      expect(partition0).toEqual({ id: 0, leader: 0, replicas: [2, 0] });
    } finally {
      await broker.startNode(2);
    }
  });

  it.each([
    ['an unknown broker id', [{ partition: 0, replicas: [7] }]],
    ['a duplicate replica', [{ partition: 0, replicas: [0, 0] }]],
    [
      'replica lists of different lengths',
      [
        { partition: 0, replicas: [0, 1] },
        { partition: 1, replicas: [2] },
      ],
    ],
    ['partitions that do not start at 0', [{ partition: 1, replicas: [0] }]],
  ])('refuses a CreateTopics assignment with %s: INVALID_REPLICA_ASSIGNMENT', async (_what, replicaAssignment) => {
    const error = await admin.createTopics({ topics: [{ topic: 'misplaced', replicaAssignment }] }).catch((e) => e);
    expect(error.errors).toEqual([expect.objectContaining({ type: 'INVALID_REPLICA_ASSIGNMENT', topic: 'misplaced' })]);
    expect(broker.topicNames()).not.toContain('misplaced');
  });

  it('adds partitions on the replicas given, and refuses an invalid assignment', async () => {
    await admin.createTopics({ topics: [{ topic: 'growing', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3, assignments: [[1, 2], [2, 0]] }] });
    const partitions = await partitionsOf('growing');
    expect(partitions.slice(1)).toEqual([
      { id: 1, leader: 1, replicas: [1, 2] },
      { id: 2, leader: 2, replicas: [2, 0] },
    ]);

    for (const assignments of [[[9]], [[0]], [[0, 1], [2]]]) {
      const error = await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 5, assignments }] }).catch((e) => e);
      expect(error).toMatchObject({ type: 'INVALID_REPLICA_ASSIGNMENT' });
    }
    expect(broker.partitionCount('growing')).toBe(3);
  });

  it('reassigns a partition at once: Metadata shows the new replicas and leader, and nothing is left in progress', async () => {
    await admin.createTopics({ topics: [{ topic: 'moving', numPartitions: 2 }] });
    await producer.send({ topic: 'moving', messages: [{ value: 'before', partition: 0 }] });
    await admin.alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 0, replicas: [2, 1] }] }] });

    expect((await partitionsOf('moving'))[0]).toEqual({ id: 0, leader: 2, replicas: [2, 1] });
    expect(await admin.listPartitionReassignments({})).toEqual({ topics: [] });
    await waitFor(async () => {
      await producer.send({ topic: 'moving', messages: [{ value: 'after', partition: 0 }] });
      return true;
    });
    expect(broker.records('moving', 0).map((r) => r.value?.toString())).toEqual(['before', 'after']);

    const error = await admin
      .alterPartitionReassignments({ topics: [{ topic: 'moving', partitionAssignment: [{ partition: 1, replicas: [4] }] }] })
      .catch((e) => e);
    expect(JSON.stringify(error.errors ?? error)).toContain('INVALID_REPLICA_ASSIGNMENT');
    expect((await partitionsOf('moving'))[1].replicas).toEqual([0, 1, 2]);
  });
});
