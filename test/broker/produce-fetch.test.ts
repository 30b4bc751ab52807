import { ApiKey, EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { CompressionTypes, Kafka, logLevel, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from './raw-client.js';
import { encodeBatch } from './support/record-batch.js';
import { javaPartition, murmur2 } from './support/murmur2.js';
import { waitFor } from './support/wait.js';

describe('produce and fetch with kafkajs', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({
      logger: silentLogger,
      topics: [
        { name: 'keyed', partitions: 6 },
        { name: 'unkeyed', partitions: 3 },
        { name: 'shapes', partitions: 1 },
      ],
    });
    kafka = new Kafka({ brokers: broker.brokers, clientId: 'produce-fetch-test', logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 50 } });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('our murmur2 matches the values Kafka publishes for Java', () => {
    // Pairs from Apache Kafka's UtilsTest: the Java client's partitioner hashes keys with exactly this function.
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
  });

  it('keyed records land on the partition Java murmur2 picks, in order per key', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const keys = Array.from({ length: 40 }, (_, i) => `customer-${i}`);
    for (let round = 0; round < 3; round++) {
      await producer.send({ topic: 'keyed', acks: -1, messages: keys.map((k) => ({ key: k, value: `${k}#${round}` })) });
    }
    await producer.disconnect();

    const all = broker.allRecords('keyed');
    expect(all).toHaveLength(120);
    for (const r of all) expect(r.partition).toBe(javaPartition(r.key!, 6));
    for (const k of keys) {
      const mine = all.filter((r) => r.key!.toString() === k).map((r) => r.value!.toString());
      expect(mine).toEqual([`${k}#0`, `${k}#1`, `${k}#2`]);
    }
    expect(new Set(all.map((r) => r.partition)).size).toBe(6);
  });

  it('records without a key are spread over every partition', async () => {
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    for (let i = 0; i < 30; i++) await producer.send({ topic: 'unkeyed', messages: [{ value: `v${i}` }] });
    await producer.disconnect();
    const counts = broker.offsets('unkeyed').map((o) => o.endOffset);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(30);
    for (const c of counts) expect(c).toBeGreaterThan(0);
  });

  it('keeps keys, values, headers, tombstones and timestamps byte-exact, compressed or not', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const binary = Buffer.from([0, 255, 1, 254]);
    const before = broker.endOffset('shapes');
    const [meta] = await producer.send({
      topic: 'shapes',
      messages: [
        { key: 'k1', value: 'plain', headers: { trace: 'abc', bin: binary }, timestamp: '1700000000000' },
        { key: 'k2', value: null },
        { key: null, value: Buffer.alloc(5000, 7) },
      ],
    });
    expect(Number(meta.baseOffset)).toBe(before);
    await producer.send({ topic: 'shapes', compression: CompressionTypes.GZIP, messages: [{ key: 'gz', value: 'zipped' }] });
    await producer.disconnect();

    const records = broker.records('shapes', 0, before);
    expect(records.map((r) => r.offset)).toEqual([before, before + 1, before + 2, before + 3]);
    expect(records[0].key!.toString()).toBe('k1');
    expect(records[0].timestamp).toBe(1700000000000);
    expect(records[0].headers).toEqual([
      { key: 'trace', value: Buffer.from('abc') },
      { key: 'bin', value: binary },
    ]);
    expect(records[1].value).toBeNull();
    expect(records[2].key).toBeNull();
    expect(records[2].value).toEqual(Buffer.alloc(5000, 7));
    expect(records[3].value!.toString()).toBe('zipped');
  });

  it('acks=0 is written although no response is sent', async () => {
    const producer = kafka.producer();
    await producer.connect();
    const before = broker.endOffset('shapes');
    await producer.send({ topic: 'shapes', acks: 0, messages: [{ value: 'fire-and-forget' }] });
    await waitFor(() => broker.endOffset('shapes') === before + 1, 5000, 'the acks=0 record');
    await producer.disconnect();
    expect(broker.records('shapes', 0, before)[0].value!.toString()).toBe('fire-and-forget');
  });

  it('an idempotent producer whose acknowledgement is lost writes the record once', async () => {
    await broker.createTopics({ name: 'idempotent', partitions: 1 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({ topic: 'idempotent', messages: [{ value: 'first' }] });
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, topic: 'idempotent', dropResponse: true });
    await producer.send({ topic: 'idempotent', messages: [{ value: 'second' }] });
    await fault.exhausted;
    await producer.disconnect();
    expect(broker.records('idempotent').map((r) => r.value!.toString())).toEqual(['first', 'second']);
  });

  it('an idempotent kafkajs producer keeps working on a topic deleted and recreated under it', async () => {
    await broker.createTopics({ name: 'reborn', partitions: 1 });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    for (const value of ['old-1', 'old-2']) await producer.send({ topic: 'reborn', messages: [{ value }] });
    expect(broker.deleteTopic('reborn')).toBe(true);
    await broker.createTopics({ name: 'reborn', partitions: 1 });

    // kafkajs goes on with its sequence (2); the new topic has no state for it, which Kafka accepts
    const [meta] = await producer.send({ topic: 'reborn', messages: [{ value: 'new-1' }] });
    await producer.send({ topic: 'reborn', messages: [{ value: 'new-2' }] });
    await producer.disconnect();
    expect(meta).toMatchObject({ errorCode: 0, baseOffset: '0' });
    expect(broker.records('reborn').map((r) => r.value!.toString())).toEqual(['new-1', 'new-2']);
  });

  it('a recreated topic does not inherit the sequence numbers written to the deleted one', async () => {
    await broker.createTopics({ name: 'reborn-raw', partitions: 1 });
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    const init = await raw.request({ apiKey: ApiKey.InitProducerId, apiVersion: 0, body: (w) => w.nullableString(null).int32(60_000) });
    init.int32(); // throttle
    expect(init.int16()).toBe(0);
    const producerId = init.int64();
    const producerEpoch = init.int16();
    const produce = async (value: string) => {
      const batch = encodeBatch([{ value }], { producerId, producerEpoch, baseSequence: 0 });
      const r = await raw.request({
        apiKey: ApiKey.Produce,
        apiVersion: 3,
        body: (w) => w.nullableString(null).int16(-1).int32(5000).array(['reborn-raw'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).bytes(batch))),
      });
      return r.array((r) => [r.string(), r.array((r) => ({ partition: r.int32(), errorCode: r.int16(), baseOffset: r.int64(), logAppendTime: r.int64() }))] as const)[0][1][0];
    };

    expect(await produce('before')).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(await produce('before')).toMatchObject({ errorCode: 0, baseOffset: 0 }); // a retry: a duplicate, not written again
    expect(broker.endOffset('reborn-raw')).toBe(1);

    broker.deleteTopic('reborn-raw');
    await broker.createTopics({ name: 'reborn-raw', partitions: 1 });
    // the same producer starts the new topic at sequence 0: a new batch, not a duplicate of the deleted one
    expect(await produce('after')).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(broker.records('reborn-raw').map((r) => r.value!.toString())).toEqual(['after']);
    raw.close();
  });

  it('without idempotence the same lost acknowledgement duplicates the record', async () => {
    await broker.createTopics({ name: 'not-idempotent', partitions: 1 });
    const producer = kafka.producer();
    await producer.connect();
    broker.injectFault({ apiKey: ApiKey.Produce, topic: 'not-idempotent', dropResponse: true });
    await producer.send({ topic: 'not-idempotent', messages: [{ value: 'once?' }] });
    await producer.disconnect();
    expect(broker.records('not-idempotent').map((r) => r.value!.toString())).toEqual(['once?', 'once?']);
  });

  it('auto-creates a topic on first produce with the default partition count', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    await producer.send({ topic: 'created-on-demand', messages: [{ value: 'x' }] });
    await producer.disconnect();
    expect(broker.partitionCount('created-on-demand')).toBe(1);
    expect(broker.records('created-on-demand')).toHaveLength(1);
  });

  it('answers ListOffsets for earliest, latest and by timestamp', async () => {
    await broker.createTopics({ name: 'timeline', partitions: 1 });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: 'timeline',
      messages: [1000, 2000, 3000, 4000].map((t) => ({ value: `t${t}`, timestamp: String(1_600_000_000_000 + t) })),
    });
    await producer.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    expect(await admin.fetchTopicOffsets('timeline')).toEqual([{ partition: 0, offset: '4', high: '4', low: '0' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp('timeline', 1_600_000_002_500)).toEqual([{ partition: 0, offset: '2' }]);
    expect(await admin.fetchTopicOffsetsByTimestamp('timeline', 1_600_000_009_000)).toEqual([{ partition: 0, offset: '4' }]);
    await admin.disconnect();

    // kafkajs keeps only the offset; the response also carries the timestamp of the record found
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    const byTimestamp = async (timestamp: number) => {
      const r = await raw.request({
        apiKey: ApiKey.ListOffsets,
        apiVersion: 1,
        body: (w) => w.int32(-1).array(['timeline'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int64(timestamp))),
      });
      return r.array((r) => [r.string(), r.array((r) => ({ partition: r.int32(), errorCode: r.int16(), timestamp: r.int64(), offset: r.int64() }))] as const)[0][1][0];
    };
    expect(await byTimestamp(1_600_000_002_500)).toEqual({ partition: 0, errorCode: 0, timestamp: 1_600_000_003_000, offset: 2 });
    expect(await byTimestamp(1_600_000_001_000)).toEqual({ partition: 0, errorCode: 0, timestamp: 1_600_000_001_000, offset: 0 });
    expect(await byTimestamp(1_600_000_009_000)).toEqual({ partition: 0, errorCode: 0, timestamp: -1, offset: -1 });
    raw.close();
  });
});
