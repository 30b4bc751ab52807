/**
 * Transactions across clients: confluent-kafka-python's transactional producer (librdkafka, strict about
 * the protocol: it needs the transaction APIs advertised, FindCoordinator with a key type, the control
 * records) and its `isolation.level=read_committed` consumer, plus kafkajs's read_committed consumer on
 * what librdkafka wrote. Aborted records are invisible, committed ones visible, offsets sent into a
 * transaction are committed with it, a zombie producer is fenced, and a transaction left open past its
 * timeout is aborted.
 */
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkajs, type PythonConsumeResult, python, unb64 } from './support/clients.js';

interface TransactionsResult {
  results: (string | null)[];
}

describe('transactions: confluent-kafka-python and kafkajs', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 2 });
    kafka = kafkajs(broker.brokers);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  const readCommitted = (topic: string, group: string, count: number, config: Record<string, string> = {}) =>
    python<PythonConsumeResult>('confluent', {
      op: 'consume',
      bootstrap: broker.brokers[0],
      topic,
      group,
      count,
      timeout_ms: 20_000,
      config: { 'isolation.level': 'read_committed', ...config },
    });

  /** What a kafkajs consumer (read_committed by default) reads from the start of `topic`, `count` records. */
  async function kafkajsReads(topic: string, count: number): Promise<string[]> {
    const consumer = kafka.consumer({ groupId: `kafkajs-${topic}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      const values: string[] = [];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`kafkajs read ${values.length} of ${count} records of ${topic}`)), 20_000);
        void consumer.run({
          eachMessage: async ({ message }) => {
            values.push(message.value!.toString());
            if (values.length >= count) {
              clearTimeout(timer);
              resolve();
            }
          },
        });
      });
      return values;
    } finally {
      await consumer.disconnect();
    }
  }

  it('commits and aborts with librdkafka: read_committed consumers (librdkafka, kafkajs) see only committed records', async () => {
    broker.createTopics({ name: 'ck-txn', partitions: 2 });
    const { results } = await python<TransactionsResult>('confluent', {
      op: 'transactions',
      bootstrap: broker.brokers[0],
      transactional_id: 'ck-txn-producer',
      transactions: [
        { topic: 'ck-txn', values: ['c1', 'c2', 'c3'], outcome: 'commit' },
        { topic: 'ck-txn', values: ['a1', 'a2'], outcome: 'abort' },
        { topic: 'ck-txn', values: ['c4'], outcome: 'commit' },
      ],
    });
    expect(results).toEqual([null, null, null]);
    expect(broker.transactions().find((t) => t.transactionalId === 'ck-txn-producer')).toMatchObject({ state: 'CompleteCommit' });

    const committed = ['c1', 'c2', 'c3', 'c4'];
    const librdkafka = await readCommitted('ck-txn', 'ck-txn-reader', committed.length);
    expect(librdkafka.records.map((r) => unb64(r.value)!.toString()).sort()).toEqual(committed);
    expect((await kafkajsReads('ck-txn', committed.length)).sort()).toEqual(committed);
    // read_uncommitted sees the aborted records too
    const everything = await readCommitted('ck-txn', 'ck-txn-uncommitted', 6, { 'isolation.level': 'read_uncommitted' });
    expect(everything.records.map((r) => unb64(r.value)!.toString()).sort()).toEqual([...committed, 'a1', 'a2'].sort());
  });

  it('reads kafkajs transactions with a librdkafka read_committed consumer', async () => {
    broker.createTopics({ name: 'kjs-txn', partitions: 1 });
    const producer = kafka.producer({ transactionalId: 'kjs-txn-producer', idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const [values, commit] of [
      [['k1', 'k2'], true],
      [['x1'], false],
      [['k3'], true],
    ] as const) {
      const txn = await producer.transaction();
      await txn.send({ topic: 'kjs-txn', messages: values.map((value) => ({ value })) });
      await (commit ? txn.commit() : txn.abort());
    }
    await producer.disconnect();

    const { records } = await readCommitted('kjs-txn', 'kjs-txn-reader', 3);
    expect(records.map((r) => unb64(r.value)!.toString())).toEqual(['k1', 'k2', 'k3']);
  });

  it('commits consumed offsets inside the transaction (send_offsets_to_transaction) only when it commits', async () => {
    broker.createTopics({ name: 'ck-offsets-in', partitions: 1 }, { name: 'ck-offsets-out', partitions: 1 });
    const { results } = await python<TransactionsResult>('confluent', {
      op: 'transactions',
      bootstrap: broker.brokers[0],
      transactional_id: 'ck-offsets-producer',
      transactions: [
        { topic: 'ck-offsets-out', values: ['r1'], outcome: 'commit', offsets: { group: 'ck-offsets-group', topic: 'ck-offsets-in', partition: 0, offset: 3 } },
        { topic: 'ck-offsets-out', values: ['r2'], outcome: 'abort', offsets: { group: 'ck-offsets-group', topic: 'ck-offsets-in', partition: 0, offset: 9 } },
      ],
    });
    expect(results).toEqual([null, null]);
    expect(broker.committedOffsets('ck-offsets-group').map(({ topic, partition, offset }) => [topic, partition, offset])).toEqual([['ck-offsets-in', 0, 3]]);
  });

  it('fences a zombie: after a second producer initialises the same transactional id, the first one cannot commit', async () => {
    broker.createTopics({ name: 'ck-zombie', partitions: 1 });
    const answer = await python<{ zombie_error: string; zombie_fatal: boolean }>('confluent', {
      op: 'fence',
      bootstrap: broker.brokers[0],
      transactional_id: 'ck-zombie-id',
      topic: 'ck-zombie',
    });
    expect(answer.zombie_fatal).toBe(true);
    expect(answer.zombie_error).toMatch(/fenced|epoch/i);
    const { records } = await readCommitted('ck-zombie', 'ck-zombie-reader', 1);
    expect(records.map((r) => unb64(r.value)!.toString())).toEqual(['successor']);
  });

  it('aborts a transaction left open past transaction.timeout.ms: the late commit fails and its records stay invisible', async () => {
    broker.createTopics({ name: 'ck-timeout', partitions: 1 });
    const { results } = await python<TransactionsResult>('confluent', {
      op: 'transactions',
      bootstrap: broker.brokers[0],
      transactional_id: 'ck-timeout-producer',
      // librdkafka requires transaction.timeout.ms >= its message.timeout.ms
      // (3 s rather than 1: a loaded machine may take over a second to deliver the record itself)
      config: { 'transaction.timeout.ms': 3000, 'message.timeout.ms': 3000 },
      transactions: [{ topic: 'ck-timeout', values: ['late'], outcome: 'commit', delay_ms: 6000 }],
    });
    expect(results[0]).toMatch(/fenced|epoch|abort/i);
    expect(broker.transactions().find((t) => t.transactionalId === 'ck-timeout-producer')).toMatchObject({ state: 'CompleteAbort' });
    expect(broker.lastStableOffset('ck-timeout')).toBe(broker.endOffset('ck-timeout'));

    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'ck-timeout', messages: [{ value: 'after' }] });
    await producer.disconnect();
    const { records } = await readCommitted('ck-timeout', 'ck-timeout-reader', 1);
    expect(records.map((r) => unb64(r.value)!.toString())).toEqual(['after']);
  });
});
