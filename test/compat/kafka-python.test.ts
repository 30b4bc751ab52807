/**
 * kafka-python 2.x against the embedded broker: a group consumer that commits, whose offsets a second
 * kafka-python consumer resumes from and the broker's inspection API reports; a producer whose keyed
 * records land on Java's murmur2 partition; and KafkaAdminClient's topic, config and group calls. SASL:
 * security.test.ts.
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { javaPartition } from '../broker/support/murmur2.js';
import { b64, kafkajs, kafkajsRead, type PythonConsumeResult, type PythonProduceResult, python, unb64 } from './support/clients.js';

describe('kafka-python', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'kp-group', partitions: 3 }, { name: 'kp-produce', partitions: 4 }] });
    kafka = kafkajs(broker.brokers);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  async function produce(topic: string, values: string[]): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
    await producer.disconnect();
  }

  it('consumes in a group and commits; the broker and a second consumer of the group see the commit', async () => {
    const first = Array.from({ length: 20 }, (_, i) => `first-${i}`);
    await produce('kp-group', first);
    const consume = (count: number) =>
      python<PythonConsumeResult>('kafka_python', { op: 'consume', bootstrap: broker.brokers[0], topic: 'kp-group', group: 'kp-1', count, timeout_ms: 20_000 });

    const run1 = await consume(first.length);

    expect(run1.records.map((r) => unb64(r.value)!.toString()).sort()).toEqual([...first].sort());
    const ends = broker.offsets('kp-group').map((p) => ({ topic: 'kp-group', partition: p.partition, offset: p.endOffset }));
    expect(broker.committedOffsets('kp-1').map(({ topic, partition, offset }) => ({ topic, partition, offset }))).toEqual(ends);
    expect(run1.committed).toEqual(Object.fromEntries(ends.map((e) => [String(e.partition), e.offset])));
    expect(broker.lag('kp-1').every((p) => p.lag === 0)).toBe(true);

    const second = ['second-0', 'second-1', 'second-2', 'second-3'];
    await produce('kp-group', second);
    const run2 = await consume(second.length);

    expect(run2.records.map((r) => unb64(r.value)!.toString()).sort()).toEqual(second);
    for (const { partition, offset } of ends) {
      const got = run2.records.filter((r) => r.partition === partition).map((r) => r.offset);
      expect(got, `partition ${partition} resumes at the committed offset`).toEqual(got.map((_, i) => offset + i));
    }
    expect(broker.lag('kp-1').every((p) => p.lag === 0)).toBe(true);
  });

  it('produces keyed records with headers onto the murmur2 partition, read back exactly by kafkajs', async () => {
    const records = Array.from({ length: 12 }, (_, i) => ({
      key: b64(`customer-${i}`),
      value: b64(Buffer.from([i, 0, 255, 10, 13])),
      headers: [['trace', b64(`t-${i}`)] as [string, string | null]],
    }));

    const { sent } = await python<PythonProduceResult>('kafka_python', { op: 'produce', bootstrap: broker.brokers[0], topic: 'kp-produce', records });

    sent.forEach((s, i) => expect(s.partition).toBe(javaPartition(`customer-${i}`, 4)));
    const read = await kafkajsRead(kafka, 'kp-produce', records.length);
    for (const r of read) {
      const i = Number(r.key!.toString().split('-')[1]);
      expect(r.partition).toBe(sent[i].partition);
      expect(r.offset).toBe(sent[i].offset);
      expect(r.value).toEqual(Buffer.from([i, 0, 255, 10, 13]));
      expect(r.headers.trace?.toString()).toBe(`t-${i}`);
    }
  });

  it('administers with KafkaAdminClient: topics, partitions, configs, groups and committed offsets', async () => {
    // The group test above left group 'kp-1' with commits on 'kp-group'.
    const answer = await python<{
      partitions: number;
      configs: Record<string, string>;
      groups: string[];
      group_state: string;
      offsets: Record<string, number>;
    }>('kafka_python', { op: 'admin', bootstrap: broker.brokers[0], topic: 'kp-admin', group: 'kp-1' });

    expect(answer.partitions).toBe(3);
    expect(answer.configs['cleanup.policy']).toBe('delete');
    expect(answer.groups).toEqual(broker.listGroups().map((g) => g.groupId));
    expect(answer.group_state).toBe('Empty');
    expect(answer.offsets).toEqual(Object.fromEntries(broker.committedOffsets('kp-1').map((c) => [`${c.topic}:${c.partition}`, c.offset])));
    expect(broker.topicNames()).not.toContain('kp-admin');
  });
});
