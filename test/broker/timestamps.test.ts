/**
 * message.timestamp.type: a LogAppendTime topic stamps each appended batch with the broker's append time
 * (Kafka semantics), which kafkajs then sees as every record's timestamp; a CreateTime topic keeps the
 * producer's timestamps and its batches' bytes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { ApiKey, EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { splitBatches } from '../../libs/broker/src/protocol/record-batch.js';
import { RawClient } from './raw-client.js';
import { waitFor } from './support/wait.js';

const PRODUCER_TIMESTAMP = 1_600_000_000_000;
const LOG_APPEND_TIME = { 'message.timestamp.type': 'LogAppendTime' };

describe('message.timestamp.type', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  const open: { disconnect(): Promise<void> }[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
    kafka = new Kafka({ brokers: broker.brokers, clientId: 'timestamps-test', logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 20 } });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.disconnect()));
  });

  afterAll(async () => broker?.stop());

  async function produce(topic: string, values: string[], options: { idempotent?: boolean } = {}) {
    const producer = kafka.producer({ idempotent: options.idempotent ?? false, maxInFlightRequests: 1 });
    await producer.connect();
    open.push(producer);
    const before = Date.now();
    const [meta] = await producer.send({ topic, messages: values.map((value) => ({ value, timestamp: String(PRODUCER_TIMESTAMP) })) });
    return { meta, before, after: Date.now(), producer };
  }

  /**
   * What a kafkajs consumer sees of each record: its timestamp, and the batch's timestamp type (kafkajs keeps
   * it, untyped, in message.batchContext: 0 CreateTime, 1 LogAppendTime).
   */
  async function consumeTimestamps(topic: string, count: number): Promise<string[]> {
    const consumer: Consumer = kafka.consumer({ groupId: `${topic}-reader`, maxWaitTimeInMs: 100 });
    open.push(consumer);
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const type = (message as { batchContext?: { timestampType?: number } }).batchContext?.timestampType;
        seen.push(`${message.timestamp} ${type === 1 ? 'LogAppendTime' : 'CreateTime'}`);
      },
    });
    await waitFor(() => seen.length === count, 10_000, `${count} records of ${topic}`);
    return seen;
  }

  /** The stored batches of partition 0, fetched over the wire and checked as the broker checks a produce (CRC included). */
  async function fetchedBatches(topic: string) {
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    const r = await raw.request({
      apiKey: ApiKey.Fetch,
      apiVersion: 4,
      body: (w) => {
        w.int32(-1).int32(0).int32(0).int32(1 << 20).int8(0);
        w.array([topic], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int64(0).int32(1 << 20)));
      },
    });
    raw.close();
    r.int32(); // throttle
    const [[, [partition]]] = r.array((r) => [r.string(), r.array((r) => ({ index: r.int32(), errorCode: r.int16(), hw: r.int64(), lso: r.int64(), aborted: r.int32(), records: r.bytes() }))] as const);
    expect(partition.errorCode).toBe(0);
    return splitBatches(partition.records!).map((b) => b.header);
  }

  it('a LogAppendTime topic stamps the append time: Produce response, inspection API, stored batch and kafkajs consumer agree', async () => {
    broker.createTopics({ name: 'stamped', partitions: 1, configs: LOG_APPEND_TIME });
    const { meta, before, after } = await produce('stamped', ['a', 'b']);

    const appendTime = Number(meta.logAppendTime);
    expect(appendTime).toBeGreaterThanOrEqual(before);
    expect(appendTime).toBeLessThanOrEqual(after);
    expect(broker.records('stamped').map(({ value, timestamp, timestampType }) => ({ value: value?.toString(), timestamp, timestampType }))).toEqual([
      { value: 'a', timestamp: appendTime, timestampType: 'LogAppendTime' },
      { value: 'b', timestamp: appendTime, timestampType: 'LogAppendTime' },
    ]);

    const [batch] = await fetchedBatches('stamped'); // splitBatches verifies the recomputed CRC-32C
    expect(batch.attributes & 0x08).toBe(0x08);
    expect(batch.maxTimestamp).toBe(appendTime);
    expect(batch.baseTimestamp).toBe(PRODUCER_TIMESTAMP); // records keep their own deltas, as in Kafka

    expect(await consumeTimestamps('stamped', 2)).toEqual([`${appendTime} LogAppendTime`, `${appendTime} LogAppendTime`]);
  });

  it('a CreateTime topic keeps the producer timestamps, and its Produce response says log_append_time -1', async () => {
    broker.createTopics({ name: 'as-sent', partitions: 1 });
    const { meta } = await produce('as-sent', ['c']);
    expect(meta.logAppendTime).toBe('-1');
    expect(broker.records('as-sent').map(({ timestamp, timestampType }) => ({ timestamp, timestampType }))).toEqual([
      { timestamp: PRODUCER_TIMESTAMP, timestampType: 'CreateTime' },
    ]);
    const [batch] = await fetchedBatches('as-sent');
    expect(batch.attributes & 0x08).toBe(0);
    expect(await consumeTimestamps('as-sent', 1)).toEqual([`${PRODUCER_TIMESTAMP} CreateTime`]);
  });

  it('CreateTopics takes the config from kafkajs, DescribeConfigs reports it, and the topic stamps append times', async () => {
    const admin = kafka.admin();
    await admin.connect();
    open.push(admin);
    await admin.createTopics({ topics: [{ topic: 'stamped-by-admin', numPartitions: 1, configEntries: [{ name: 'message.timestamp.type', value: 'LogAppendTime' }] }] });
    const described = await admin.describeConfigs({ resources: [{ type: 2, name: 'stamped-by-admin', configNames: ['message.timestamp.type'] }], includeSynonyms: false });
    expect(described.resources[0].configEntries).toEqual([expect.objectContaining({ configName: 'message.timestamp.type', configValue: 'LogAppendTime', isDefault: false })]);

    const { meta } = await produce('stamped-by-admin', ['d']);
    expect(Number(meta.logAppendTime)).toBeGreaterThan(PRODUCER_TIMESTAMP);
    expect(broker.records('stamped-by-admin')[0]).toMatchObject({ timestamp: Number(meta.logAppendTime), timestampType: 'LogAppendTime' });
  });

  it('refuses a message.timestamp.type other than CreateTime or LogAppendTime', async () => {
    const admin = kafka.admin();
    await admin.connect();
    open.push(admin);
    await expect(
      admin.createTopics({ topics: [{ topic: 'bad-type', configEntries: [{ name: 'message.timestamp.type', value: 'BrokerTime' }] }] }),
    ).rejects.toMatchObject({ errors: [expect.objectContaining({ type: 'INVALID_CONFIG' })] });
    expect(() => broker.createTopics({ name: 'bad-type', configs: { 'message.timestamp.type': 'BrokerTime' } })).toThrow(
      /Invalid value BrokerTime for configuration message.timestamp.type: String must be one of: CreateTime, LogAppendTime/,
    );
    expect(broker.topicNames()).not.toContain('bad-type');
  });

  it('a retried idempotent batch is acknowledged with the append time of its first write', async () => {
    broker.createTopics({ name: 'stamped-once', partitions: 1, configs: LOG_APPEND_TIME });
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, topic: 'stamped-once', dropResponse: true });
    const { meta } = await produce('stamped-once', ['e'], { idempotent: true });
    await fault.exhausted;
    const [record] = broker.records('stamped-once');
    expect(broker.endOffset('stamped-once')).toBe(1);
    expect(meta.logAppendTime).toBe(String(record.timestamp));
  });
});
