/**
 * kcat (librdkafka 2.x) against the standalone broker, started as `npm run broker` would start it: keyed
 * produce with headers, plain consume to the end of the log, and the balanced `-G` consumer committing
 * offsets that a second run resumes from.
 */
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { javaPartition } from '../broker/support/murmur2.js';
import { kafkajs, kafkajsRead, kcat, type StandaloneBroker, startStandaloneBroker } from './support/clients.js';
import { parseKcatJson } from './support/kcat-format.js';

describe('kcat against the standalone broker', () => {
  let broker: StandaloneBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await startStandaloneBroker(['--port', '0', '--partitions', '3']);
    kafka = kafkajs(broker.brokers);
  });

  afterAll(async () => {
    expect(await broker?.stop('SIGTERM')).toBe(0);
    // Anything the broker logged while serving kcat (a warning, a malformed request) is a protocol gap.
    expect(broker?.stderr()).toBe('kafka-nest broker: SIGTERM, stopping\n');
  });

  async function produceWithKafkajs(topic: string, values: string[]): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, acks: -1, messages: values.map((value, i) => ({ value, partition: i % 3 })) });
    await producer.disconnect();
  }

  it('produces keyed records with headers, placed by murmur2 as Java would, read back exactly by kafkajs and kcat', async () => {
    const orders = Array.from({ length: 9 }, (_, i) => ({ key: `order-${i}`, value: JSON.stringify({ id: i, total: i * 10.5, note: 'zażółć' }) }));
    const input = orders.map((o) => `${o.key}\t${o.value}\n`).join('');

    await kcat(['-b', broker.bootstrap, '-P', '-t', 'kcat-keyed', '-K', '\t', '-H', 'trace=abc-123', '-H', 'origin=kcat', '-X', 'partitioner=murmur2_random'], {
      input,
    });

    const read = await kafkajsRead(kafka, 'kcat-keyed', orders.length);
    expect(read.map((r) => r.key!.toString()).sort()).toEqual(orders.map((o) => o.key).sort());
    for (const r of read) {
      const order = orders.find((o) => o.key === r.key!.toString())!;
      expect(r.value!.toString()).toBe(order.value);
      expect(r.partition).toBe(javaPartition(order.key, 3));
      expect(r.headers.trace?.toString()).toBe('abc-123');
      expect(r.headers.origin?.toString()).toBe('kcat');
    }

    const viaKcat = parseKcatJson(await kcat(['-b', broker.bootstrap, '-C', '-t', 'kcat-keyed', '-e', '-J']));
    expect(viaKcat).toHaveLength(orders.length);
    for (const r of viaKcat) {
      expect(r.payload).toBe(orders.find((o) => o.key === r.key)!.value);
      expect(r.headers).toEqual(['trace', 'abc-123', 'origin', 'kcat']);
    }
  });

  it('consumes every partition with -C -e and exits at the end of the log', async () => {
    const values = Array.from({ length: 30 }, (_, i) => `plain-${i}`);
    await produceWithKafkajs('kcat-plain', values);

    const records = parseKcatJson(await kcat(['-b', broker.bootstrap, '-C', '-t', 'kcat-plain', '-e', '-J']));

    expect(records.map((r) => r.payload).sort()).toEqual([...values].sort());
    for (const p of [0, 1, 2]) {
      expect(records.filter((r) => r.partition === p).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    }
  });

  it('consumes as a -G balanced group, commits what it read, and a second run resumes after it', async () => {
    const first = Array.from({ length: 12 }, (_, i) => `first-${i}`);
    await produceWithKafkajs('kcat-group', first);
    const group = ['-b', broker.bootstrap, '-G', 'kcat-group-1', '-X', 'auto.offset.reset=earliest', '-e', '-J', 'kcat-group'];

    const run1 = parseKcatJson(await kcat(group));
    expect(run1.map((r) => r.payload).sort()).toEqual([...first].sort());

    const admin = kafka.admin();
    await admin.connect();
    try {
      const [committed] = await admin.fetchOffsets({ groupId: 'kcat-group-1', topics: ['kcat-group'] });
      expect(committed.partitions.map((p) => [p.partition, p.offset]).sort()).toEqual([
        [0, '4'],
        [1, '4'],
        [2, '4'],
      ]);
    } finally {
      await admin.disconnect();
    }

    const second = ['second-0', 'second-1', 'second-2'];
    await produceWithKafkajs('kcat-group', second);
    const run2 = parseKcatJson(await kcat(group));
    expect(run2.map((r) => r.payload).sort()).toEqual(second);
    expect(run2.every((r) => r.offset === 4)).toBe(true);
  });

  it('two -G members of one group together read every record exactly once', async () => {
    const values = Array.from({ length: 30 }, (_, i) => `split-${i}`);
    await produceWithKafkajs('kcat-split', values);
    // Each member exits once its own partitions are at their end; whether the second joins before the first
    // is done is up to timing, so the assertion is on the union.
    const member = () => kcat(['-b', broker.bootstrap, '-G', 'kcat-split-1', '-X', 'auto.offset.reset=earliest', '-e', '-J', 'kcat-split']);
    const [a, b] = (await Promise.all([member(), member()])).map(parseKcatJson);

    expect([...a, ...b].map((r) => r.payload).sort()).toEqual([...values].sort());
  });
});
