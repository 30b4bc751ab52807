/**
 * The admin APIs the Debian clients call, against a 2-node embedded cluster: AlterConfigs and DescribeConfigs
 * (with Kafka's defaults, sources and synonyms) from kafka-python's KafkaAdminClient and confluent-kafka's
 * AdminClient, and DeleteGroups from kafka-python.
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../broker/support/wait.js';
import { b64, type PythonProduceResult, python } from './support/clients.js';

interface ConfigsAnswer {
  configs: Record<string, [value: string, source: number, synonyms: string[]]>;
  bad_error: [code: number | string, message: string];
}

describe('admin APIs from the Debian clients', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 2, topics: [{ name: 'events', partitions: 2 }] });
    kafka = new Kafka({ clientId: 'compat-admin', brokers: broker.brokers, logLevel: logLevel.NOTHING });
  });

  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.disconnect()));
    await broker?.stop();
  });

  it('kafka-python alters topic configs and reads them back with Kafka defaults and synonyms', async () => {
    const answer = await python<ConfigsAnswer>('kafka_python', {
      op: 'configs',
      bootstrap: broker.brokers[0],
      topic: 'kp-configs',
      set: { 'retention.ms': '1000', 'message.timestamp.type': 'LogAppendTime' },
      bad: { 'retention.ms': 'soon' },
    });
    expect(answer.configs['retention.ms']).toEqual(['1000', 1, ['retention.ms', 'log.retention.hours']]);
    expect(answer.configs['max.message.bytes']).toEqual(['1048588', 5, ['message.max.bytes']]);
    expect(answer.configs['cleanup.policy']).toEqual(['delete', 5, ['log.cleanup.policy']]);
    expect(answer.configs['segment.bytes']).toEqual(['1073741824', 5, ['log.segment.bytes']]);
    expect(answer.bad_error).toEqual([40, 'Invalid value soon for configuration retention.ms: Not a number of type LONG']);
  });

  it('confluent-kafka alters topic configs and reads them back with Kafka defaults and synonyms', async () => {
    const answer = await python<ConfigsAnswer>('confluent', {
      op: 'configs',
      bootstrap: broker.brokers[0],
      topic: 'ck-configs',
      set: { 'max.message.bytes': '2000' },
      bad: { 'no.such.config': '1' },
    });
    expect(answer.configs['max.message.bytes']).toEqual(['2000', 1, ['max.message.bytes', 'message.max.bytes']]);
    expect(answer.configs['retention.ms']).toEqual(['604800000', 5, ['log.retention.hours']]);
    expect(answer.configs['min.insync.replicas']).toEqual(['1', 5, ['min.insync.replicas']]);
    expect(answer.bad_error).toEqual(['INVALID_CONFIG', 'Unknown topic config name: no.such.config']);
  });

  it('kafka-python creates a topic on the replicas it assigns and gets INVALID_REPLICA_ASSIGNMENT for an unknown broker', async () => {
    const answer = await python<{ partitions: unknown[]; bad_error: [number, string] }>('kafka_python', {
      op: 'assign',
      bootstrap: broker.brokers[0],
      topic: 'kp-assigned',
      assignment: { '0': [1, 0], '1': [0, 1] },
      bad: { '0': [0, 9] },
    });
    expect(answer.partitions).toEqual([
      { partition: 0, leader: 1, replicas: [1, 0] },
      { partition: 1, leader: 0, replicas: [0, 1] },
    ]);
    expect(answer.bad_error).toEqual([39, expect.stringContaining('The manual partition assignment includes broker 9, but no such broker is registered')]);
    expect(broker.topicNames()).not.toContain('kp-assigned-bad');
  });

  it('confluent-kafka creates a topic on the replicas it assigns and gets INVALID_REPLICA_ASSIGNMENT for a duplicate replica', async () => {
    const answer = await python<{ partitions: unknown[]; bad_error: [string, string] }>('confluent', {
      op: 'assign',
      bootstrap: broker.brokers[0],
      topic: 'ck-assigned',
      assignment: [[1], [1]],
      bad: [[0, 0]],
    });
    expect(answer.partitions).toEqual([
      { partition: 0, leader: 1, replicas: [1] },
      { partition: 1, leader: 1, replicas: [1] },
    ]);
    expect(answer.bad_error).toEqual(['INVALID_REPLICA_ASSIGNMENT', 'The manual partition assignment includes a duplicate replica: [0, 0].']);
  });

  it('kafka-python deletes an empty group and is refused a busy or unknown one', async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.setOffsets({ groupId: 'kp-done', topic: 'events', partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();
    const consumer = kafka.consumer({ groupId: 'kp-busy' });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'events' });
    await consumer.run({ eachMessage: async () => {} });
    await waitFor(() => broker.describeGroup('kp-busy')?.state === 'Stable', 15_000, 'group kp-busy stable');

    const answer = await python<{ results: [string, number][] }>('kafka_python', {
      op: 'delete_groups',
      bootstrap: broker.brokers[0],
      groups: ['kp-done', 'kp-busy', 'kp-never'],
    });
    // [group, error code]: NONE, NON_EMPTY_GROUP (68), GROUP_ID_NOT_FOUND (69)
    expect(answer.results).toEqual([
      ['kp-busy', 68],
      ['kp-done', 0],
      ['kp-never', 69],
    ]);
    expect(broker.committedOffsets('kp-done')).toEqual([]);
  });
});

describe('ACLs from kafka-python over SASL', () => {
  let broker: EmbeddedKafkaBroker;
  const users = { admin: 'admin-secret', alice: 'alice-secret' };
  const sasl = (user: keyof typeof users) => ({
    security_protocol: 'SASL_PLAINTEXT',
    sasl_mechanism: 'PLAIN',
    sasl_plain_username: user,
    sasl_plain_password: users[user],
  });

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({
      logger: silentLogger,
      autoCreateTopics: false,
      sasl: { mechanisms: ['PLAIN'], users },
      acls: { superUsers: ['User:admin'] },
      topics: [{ name: 'guarded', partitions: 1 }],
    });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('a super user grants WRITE with CreateAcls, DescribeAcls lists it, and the grantee may then produce', async () => {
    const produce = (user: keyof typeof users) =>
      python<PythonProduceResult>('kafka_python', {
        op: 'produce',
        bootstrap: broker.brokers[0],
        topic: 'guarded',
        records: [{ key: null, value: b64(`from ${user}`) }],
        config: { ...sasl(user), max_block_ms: 3000 },
        timeout_ms: 5000,
      }).then(
        () => 'ok',
        (e: Error) => e.message,
      );
    // Metadata answers TOPIC_AUTHORIZATION_FAILED; kafka-python 2.0 keeps asking until max_block_ms.
    expect(await produce('alice')).toMatch(/Failed to update metadata|TopicAuthorizationFailed/);
    expect(broker.records('guarded')).toEqual([]);

    const { acls } = await python<{ acls: string[][] }>('kafka_python', {
      op: 'acls',
      bootstrap: broker.brokers[0],
      config: sasl('admin'),
      principal: 'User:alice',
      topic: 'guarded',
    });
    expect(acls).toEqual([['TOPIC', 'guarded', 'LITERAL', 'User:alice', '*', 'WRITE', 'ALLOW']]);
    expect(await produce('alice')).toBe('ok');
    expect(broker.records('guarded').map((r) => r.value?.toString())).toEqual(['from alice']);
  });
});
