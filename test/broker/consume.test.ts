import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/wait.js';

describe('consume with kafkajs', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  const consumers: Consumer[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
    kafka = new Kafka({ brokers: broker.brokers, clientId: 'consume-test', logLevel: logLevel.NOTHING });
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.disconnect()));
  });

  afterAll(async () => {
    await broker?.stop();
  });

  async function produce(topic: string, values: string[], partition = 0): Promise<void> {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: values.map((value) => ({ value, partition })) });
    await producer.disconnect();
  }

  function consumer(groupId: string, options: Partial<Parameters<Kafka['consumer']>[0]> = {}): Consumer {
    const c = kafka.consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200, ...options });
    consumers.push(c);
    return c;
  }

  it('fromBeginning reads what was there; without it only what comes after joining', async () => {
    broker.createTopics({ name: 'history', partitions: 1 });
    await produce('history', ['old-1', 'old-2']);

    const seenAll: string[] = [];
    const all = consumer('history-all');
    await all.connect();
    await all.subscribe({ topic: 'history', fromBeginning: true });
    await all.run({ eachMessage: async ({ message }) => void seenAll.push(message.value!.toString()) });

    const seenNew: string[] = [];
    const latest = consumer('history-latest');
    await latest.connect();
    await latest.subscribe({ topic: 'history', fromBeginning: false });
    // A consumer without a committed offset resolves "latest" before its first fetch completes.
    const fetched = new Promise((resolve) => latest.on(latest.events.FETCH, resolve));
    await latest.run({ eachMessage: async ({ message }) => void seenNew.push(message.value!.toString()) });
    await fetched;
    await waitFor(() => seenAll.length === 2, 10_000, 'the old records');
    await produce('history', ['new-1']);

    await waitFor(() => seenAll.length === 3 && seenNew.length === 1, 10_000, 'the new record');
    expect(seenAll).toEqual(['old-1', 'old-2', 'new-1']);
    expect(seenNew).toEqual(['new-1']);
  });

  it('a record produced while a consumer long-polls is delivered without waiting for max wait', async () => {
    broker.createTopics({ name: 'long-poll', partitions: 1 });
    const seen: { value: string; at: number }[] = [];
    const c = consumer('long-poll', { maxWaitTimeInMs: 3000 });
    await c.connect();
    await c.subscribe({ topic: 'long-poll', fromBeginning: true });
    const fetched = new Promise((resolve) => c.on(c.events.FETCH_START, resolve));
    await c.run({ eachMessage: async ({ message }) => void seen.push({ value: message.value!.toString(), at: Date.now() }) });
    await fetched;
    const sentAt = Date.now();
    await produce('long-poll', ['wake-up']);
    await waitFor(() => seen.length === 1, 10_000, 'the record');
    expect(seen[0].at - sentAt).toBeLessThan(2500);
  });

  it('seek moves the position; pause and resume stop and restart delivery of one partition', async () => {
    broker.createTopics({ name: 'controls', partitions: 2 });
    await produce('controls', ['a0', 'a1', 'a2', 'a3'], 0);
    await produce('controls', ['b0', 'b1'], 1);
    const seen: string[] = [];
    const c = consumer('controls');
    await c.connect();
    await c.subscribe({ topic: 'controls', fromBeginning: true });
    let paused = false;
    await c.run({
      eachMessage: async ({ partition, message }) => {
        seen.push(message.value!.toString());
        if (partition === 1 && !paused) {
          paused = true;
          c.pause([{ topic: 'controls', partitions: [1] }]);
        }
      },
    });
    await waitFor(() => seen.filter((v) => v.startsWith('a')).length === 4 && seen.includes('b0'), 10_000, 'both partitions');
    expect(seen.filter((v) => v.startsWith('b'))).toEqual(['b0']);
    expect(c.paused()).toEqual([{ topic: 'controls', partitions: [1] }]);

    await produce('controls', ['b2'], 1);
    c.seek({ topic: 'controls', partition: 0, offset: '1' });
    await waitFor(() => seen.filter((v) => v.startsWith('a')).length === 7, 10_000, 'partition 0 again after the seek');
    expect(seen.filter((v) => v.startsWith('a')).slice(4)).toEqual(['a1', 'a2', 'a3']);
    expect(seen.filter((v) => v.startsWith('b'))).toEqual(['b0']);

    c.resume([{ topic: 'controls', partitions: [1] }]);
    await waitFor(() => seen.filter((v) => v.startsWith('b')).length >= 3, 10_000, 'partition 1 after resume');
    expect(seen.filter((v) => v.startsWith('b')).slice(-2)).toEqual(['b1', 'b2']);
  });

  it('a record larger than the fetch size limits is still delivered', async () => {
    broker.createTopics({ name: 'big', partitions: 1 });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'big', messages: [{ value: Buffer.alloc(300_000, 1) }, { value: 'small' }] });
    await producer.disconnect();
    const sizes: number[] = [];
    const c = consumer('big', { maxBytesPerPartition: 1024, maxBytes: 2048 });
    await c.connect();
    await c.subscribe({ topic: 'big', fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => void sizes.push(message.value!.length) });
    await waitFor(() => sizes.length === 2, 10_000, 'both records');
    expect(sizes).toEqual([300_000, 5]);
  });

  it('an offset before the log start is out of range and the consumer resets', async () => {
    broker.createTopics({ name: 'truncated', partitions: 1 });
    await produce('truncated', ['gone-0', 'gone-1', 'kept-2']);
    const admin = kafka.admin();
    await admin.connect();
    await admin.fetchTopicMetadata({ topics: ['truncated'] }); // kafkajs needs the leaders cached first
    await admin.deleteTopicRecords({ topic: 'truncated', partitions: [{ partition: 0, offset: '2' }] });
    await admin.disconnect();
    expect(broker.offsets('truncated')).toEqual([{ partition: 0, logStartOffset: 2, endOffset: 3 }]);
    const seen: string[] = [];
    const c = consumer('truncated');
    await c.connect();
    await c.subscribe({ topic: 'truncated', fromBeginning: true });
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await waitFor(() => seen.length === 1, 10_000, 'the kept record');
    expect(seen).toEqual(['kept-2']);
  });
});
