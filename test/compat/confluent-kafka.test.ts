/**
 * confluent-kafka-python (librdkafka 2.x) against the embedded broker: produce with each acks mode (the
 * broker's log holds exactly what was sent), and a group consumer that commits, which the broker reports
 * and a second consumer of the group resumes from; and AdminClient's topic, config and group calls.
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { javaPartition } from '../broker/support/murmur2.js';
import { b64, kafkajs, type PythonConsumeResult, type PythonProduceResult, python, unb64 } from './support/clients.js';

describe('confluent-kafka-python', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, defaultPartitions: 3 });
    kafka = kafkajs(broker.brokers);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it.each([-1, 1])('produces keyed records with headers (acks %i) that the broker stores exactly', async (acks) => {
    const topic = `ck-produce-acks${acks === -1 ? 'all' : acks}`;
    const records = Array.from({ length: 10 }, (_, i) => ({
      key: b64(`account-${i}`),
      value: b64(Buffer.concat([Buffer.from(`payload-${i}:`), Buffer.from([0, 1, 254, 255])])),
      headers: [
        ['source', b64('confluent')],
        ['seq', b64(String(i))],
      ] as [string, string | null][],
    }));

    const { sent } = await python<PythonProduceResult>('confluent', { op: 'produce', bootstrap: broker.brokers[0], topic, records, acks });

    sent.forEach((s, i) => expect(s.partition, `record ${i}: librdkafka's murmur2_random is Java's partitioner`).toBe(javaPartition(`account-${i}`, 3)));
    for (const [i, s] of sent.entries()) {
      const [stored] = broker.records(topic, s.partition, s.offset);
      expect(stored.key).toEqual(unb64(records[i].key));
      expect(stored.value).toEqual(unb64(records[i].value));
      expect(stored.headers.map((h) => [h.key, h.value?.toString()])).toEqual([
        ['source', 'confluent'],
        ['seq', String(i)],
      ]);
    }
  });

  it('consumes in a group and commits; the broker and a second consumer of the group see the commit', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const first = Array.from({ length: 15 }, (_, i) => `first-${i}`);
    await producer.send({ topic: 'ck-group', acks: -1, messages: first.map((value, i) => ({ value, partition: i % 3, headers: { n: String(i) } })) });

    const consume = (count: number) =>
      python<PythonConsumeResult>('confluent', { op: 'consume', bootstrap: broker.brokers[0], topic: 'ck-group', group: 'ck-1', count, timeout_ms: 20_000 });
    const run1 = await consume(first.length);

    expect(run1.records.map((r) => unb64(r.value)!.toString()).sort()).toEqual([...first].sort());
    for (const r of run1.records) expect(r.headers).toEqual([['n', b64(unb64(r.value)!.toString().split('-')[1])]]);
    expect(broker.committedOffsets('ck-1').map(({ partition, offset }) => [partition, offset])).toEqual([
      [0, 5],
      [1, 5],
      [2, 5],
    ]);
    expect(run1.committed).toEqual({ '0': 5, '1': 5, '2': 5 });

    await producer.send({ topic: 'ck-group', acks: -1, messages: [{ value: 'second-0', partition: 2 }] });
    await producer.disconnect();
    const run2 = await consume(1);

    expect(run2.records.map((r) => [r.partition, r.offset, unb64(r.value)!.toString()])).toEqual([[2, 5, 'second-0']]);
    expect(broker.lag('ck-1').map((p) => p.lag)).toEqual([0, 0, 0]);
  });

  it('administers with AdminClient: topics, partitions, configs and groups', async () => {
    const answer = await python<{ partitions: number; configs: Record<string, string>; groups: string[] }>('confluent', {
      op: 'admin',
      bootstrap: broker.brokers[0],
      topic: 'ck-admin',
    });

    expect(answer.partitions).toBe(3);
    expect(answer.configs['retention.ms']).toBe('604800000');
    expect(answer.groups).toEqual(broker.listGroups().map((g) => g.groupId));
    expect(broker.topicNames()).not.toContain('ck-admin');
  });
});
