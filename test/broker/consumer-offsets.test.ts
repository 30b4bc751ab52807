import { ApiKey, EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { AssignerProtocol, type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { offsetsPartitionFor } from '../../libs/broker/src/consumer-offsets.js';
import { Reader } from '../../libs/broker/src/protocol/reader.js';
import { RawClient } from './raw-client.js';
import { waitFor } from './support/wait.js';

// A reader of __consumer_offsets written from Kafka's schemas (OffsetCommitKey/Value, GroupMetadataKey/Value),
// independent of the broker's encoder: what Burrow or a script decodes.
type OffsetsRecord =
  | { kind: 'offset'; partition: number; group: string; topic: string; topicPartition: number; value: { version: number; offset: number; leaderEpoch: number; metadata: string; commitTimestamp: number } | null }
  | {
      kind: 'group';
      partition: number;
      group: string;
      value: {
        version: number;
        protocolType: string;
        generation: number;
        protocol: string | null;
        leader: string | null;
        members: { memberId: string; clientId: string; clientHost: string; rebalanceTimeout: number; sessionTimeout: number; subscription: Buffer; assignment: Buffer }[];
      } | null;
    };

function decodeOffsetsRecord(partition: number, key: Buffer, value: Buffer | null): OffsetsRecord {
  const k = new Reader(key);
  const keyVersion = k.int16();
  if (keyVersion <= 1) {
    const group = k.string();
    const topic = k.string();
    const topicPartition = k.int32();
    if (value === null) return { kind: 'offset', partition, group, topic, topicPartition, value: null };
    const v = new Reader(value);
    const version = v.int16();
    expect(version).toBe(3);
    return {
      kind: 'offset',
      partition,
      group,
      topic,
      topicPartition,
      value: { version, offset: Number(v.int64()), leaderEpoch: v.int32(), metadata: v.string(), commitTimestamp: Number(v.int64()) },
    };
  }
  expect(keyVersion).toBe(2);
  const group = k.string();
  if (value === null) return { kind: 'group', partition, group, value: null };
  const v = new Reader(value);
  const version = v.int16();
  expect(version).toBe(1);
  return {
    kind: 'group',
    partition,
    group,
    value: {
      version,
      protocolType: v.string(),
      generation: v.int32(),
      protocol: v.nullableString(),
      leader: v.nullableString(),
      members: v.array((r) => ({
        memberId: r.string(),
        clientId: r.string(),
        clientHost: r.string(),
        rebalanceTimeout: r.int32(),
        sessionTimeout: r.int32(),
        subscription: Buffer.from(r.bytes()),
        assignment: Buffer.from(r.bytes()),
      })),
    },
  };
}

describe('__consumer_offsets', () => {
  let broker: EmbeddedKafkaBroker | undefined;
  const consumers: Consumer[] = [];

  afterEach(async () => {
    for (const c of consumers.splice(0)) await c.disconnect().catch(() => {});
    await broker?.stop();
    broker = undefined;
  });

  /** Reads `__consumer_offsets` over TCP with a kafkajs consumer until `done` holds for what was read. */
  async function readOffsetsTopic(kafka: Kafka, done: (records: OffsetsRecord[]) => boolean): Promise<OffsetsRecord[]> {
    const records: OffsetsRecord[] = [];
    const reader = kafka.consumer({ groupId: `offsets-reader-${consumers.length}`, maxWaitTimeInMs: 50 });
    consumers.push(reader);
    await reader.connect();
    await reader.subscribe({ topic: '__consumer_offsets', fromBeginning: true });
    await reader.run({ eachMessage: async ({ partition, message }) => void records.push(decodeOffsetsRecord(partition, message.key!, message.value)) });
    await waitFor(() => done(records), 15_000, '__consumer_offsets records');
    return records;
  }

  it('chooses the partition as Kafka does: abs(String.hashCode) mod partitions, Integer.MIN_VALUE going to 0', () => {
    // Values from Java: "orders-service".hashCode() = 23943117, "offsets-audit".hashCode() = 847326734,
    // "polygenelubricants".hashCode() = Integer.MIN_VALUE.
    expect(offsetsPartitionFor('orders-service', 50)).toBe(17);
    expect(offsetsPartitionFor('offsets-audit', 50)).toBe(34);
    expect(offsetsPartitionFor('polygenelubricants', 50)).toBe(0);
  });

  it('holds every commit and group change of a kafkajs consumer group, in Kafka schemas, on the group partition', async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'orders', partitions: 2 }] });
    const kafka = new Kafka({ clientId: 'orders-app', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: [0, 1, 2].map((i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 2 })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: 'orders-service', maxWaitTimeInMs: 50 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic: 'orders', fromBeginning: true });
    let seen = 0;
    await consumer.run({ eachMessage: async () => void seen++ });
    await waitFor(() => seen === 3, 15_000, 'three records consumed');
    await waitFor(() => broker!.committedOffsets('orders-service').length === 2, 15_000, 'both partitions committed');

    const ofService = (rs: OffsetsRecord[]) => rs.filter((r) => r.group === 'orders-service');
    const records = ofService(
      await readOffsetsTopic(kafka, (rs) => {
        const last = new Map(ofService(rs).filter((r) => r.kind === 'offset').map((r) => [(r as { topicPartition: number }).topicPartition, r]));
        return last.get(0)?.kind === 'offset' && (last.get(0) as { value: { offset: number } }).value?.offset === 2 && (last.get(1) as { value: { offset: number } } | undefined)?.value?.offset === 1;
      }),
    );
    expect(new Set(records.map((r) => r.partition))).toEqual(new Set([17]));

    const groups = records.filter((r) => r.kind === 'group');
    const stable = groups.at(-1)!;
    expect(stable.kind === 'group' && stable.value).toMatchObject({ version: 1, protocolType: 'consumer', protocol: 'RoundRobinAssigner' });
    const value = (stable as Extract<OffsetsRecord, { kind: 'group' }>).value!;
    expect(value.generation).toBeGreaterThanOrEqual(1);
    expect(value.members).toHaveLength(1);
    const [member] = value.members;
    expect(value.leader).toBe(member.memberId);
    expect(member).toMatchObject({ clientId: 'orders-app', clientHost: '/127.0.0.1' });
    expect(AssignerProtocol.MemberMetadata.decode(member.subscription)?.topics).toEqual(['orders']);
    expect(AssignerProtocol.MemberAssignment.decode(member.assignment)?.assignment).toEqual({ orders: [0, 1] });

    const offsets = records.filter((r): r is Extract<OffsetsRecord, { kind: 'offset' }> => r.kind === 'offset');
    expect(offsets.every((r) => r.topic === 'orders' && r.value !== null && r.value.version === 3 && r.value.commitTimestamp > 0)).toBe(true);
    const committed = broker.committedOffsets('orders-service').map((o) => [o.partition, o.offset]);
    expect(committed).toEqual([
      [0, 2],
      [1, 1],
    ]);

    // The last member leaves: the group is written empty, a generation later, with no leader or protocol.
    await consumer.disconnect();
    const after = ofService(
      await readOffsetsTopic(kafka, (rs) => ofService(rs).some((r) => r.kind === 'group' && r.value !== null && r.value.members.length === 0)),
    );
    const empty = after.filter((r) => r.kind === 'group').at(-1) as Extract<OffsetsRecord, { kind: 'group' }>;
    expect(empty.value).toMatchObject({ protocolType: 'consumer', generation: value.generation + 1, protocol: null, leader: null, members: [] });

    // Deleting the topic forgets its offsets: a tombstone for each.
    broker.deleteTopic('orders');
    const tombstones = await readOffsetsTopic(kafka, (rs) => ofService(rs).filter((r) => r.kind === 'offset' && r.value === null).length === 2);
    expect(
      tombstones
        .filter((r) => r.kind === 'offset' && r.value === null && r.group === 'orders-service')
        .map((r) => (r as { topicPartition: number }).topicPartition),
    ).toEqual([0, 1]);
  });

  it('is internal in Metadata, has offsetsTopicPartitions partitions, and refuses a client producing to it', async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, offsetsTopicPartitions: 3, autoCreateTopics: false, topics: [{ name: 'orders' }] });
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    try {
      const r = await raw.request({ apiKey: ApiKey.Metadata, apiVersion: 1, clientId: 'raw', body: (w) => w.array(['__consumer_offsets', 'orders'], (w, t) => w.string(t)) });
      r.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString()]);
      r.int32(); // controller
      const topics = r.array((r) => {
        const errorCode = r.int16();
        const name = r.string();
        const internal = r.bool();
        const partitions = r.array((r) => {
          r.int16();
          const index = r.int32();
          r.int32();
          r.array((r) => r.int32());
          r.array((r) => r.int32());
          return index;
        });
        return { errorCode, name, internal, partitions: partitions.length };
      });
      expect(topics).toEqual([
        { errorCode: 0, name: '__consumer_offsets', internal: true, partitions: 3 },
        { errorCode: 0, name: 'orders', internal: false, partitions: 1 },
      ]);
    } finally {
      raw.socket.destroy();
    }

    const kafka = new Kafka({ clientId: 'intruder', brokers: broker.brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    try {
      await expect(producer.send({ topic: '__consumer_offsets', messages: [{ value: 'x' }] })).rejects.toMatchObject({ type: 'INVALID_TOPIC_EXCEPTION' });
    } finally {
      await producer.disconnect();
    }
    expect(() => broker!.createTopics({ name: '__consumer_offsets', partitions: 1 })).toThrow(/internal.*offsetsTopicPartitions/);
  });

  it('is compacted as Kafka compacts it: the latest record of each key stays, at its offset, and readers see the current offsets', async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, offsetsTopicPartitions: 1, topics: [{ name: 'orders', partitions: 2 }] });
    const kafka = new Kafka({ clientId: 'reader', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    // Simple commits (generation -1) over one raw connection: OffsetCommit v2, as admin tools send them.
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    const commit = async (partitions: [number, number][]) => {
      const r = await raw.request({
        apiKey: ApiKey.OffsetCommit,
        apiVersion: 2,
        clientId: 'committer',
        body: (w) =>
          w
            .string('audit')
            .int32(-1)
            .string('')
            .int64(-1)
            .array(['orders'], (w, t) => w.string(t).array(partitions, (w, [p, o]) => w.int32(p).int64(o).nullableString(null))),
      });
      const errors = r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16()])]);
      expect(errors).toEqual([['orders', partitions.map(([p]) => [p, 0])]]);
    };
    try {
      // One commit of both partitions, then 2,000 of partition 0 alone: 2,002 records, two compactions.
      await commit([
        [0, 0],
        [1, 7],
      ]);
      for (let i = 1; i <= 2000; i++) await commit([[0, i]]);
    } finally {
      raw.socket.destroy();
    }
    expect(broker.offsets('__consumer_offsets')[0].endOffset).toBe(2002);

    // Left: partition 1's commit, alone in the first batch now, at its offset (1); partition 0's latest
    // commits (the cleaner leaves the last batch alone); every other record is gone.
    const stored = broker.records('__consumer_offsets', 0);
    expect(stored.length).toBeLessThan(10);
    expect(stored[0].offset).toBe(1);

    // A client reading from the start skips the gaps and ends with the current offsets.
    const latest = new Map<number, number>();
    await readOffsetsTopic(kafka, (rs) => {
      for (const r of rs) if (r.kind === 'offset' && r.group === 'audit') latest.set(r.topicPartition, r.value!.offset);
      return latest.get(0) === 2000;
    });
    expect(Object.fromEntries(latest)).toEqual({ 0: 2000, 1: 7 });
  });

  it('DeleteGroups writes a tombstone for each of the group\'s offsets and for the group', async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'orders', partitions: 2 }] });
    const kafka = new Kafka({ clientId: 'admin', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({ groupId: 'gone', topic: 'orders', partitions: [{ partition: 0, offset: '3' }, { partition: 1, offset: '5' }] });
      await admin.deleteGroups(['gone']);
    } finally {
      await admin.disconnect();
    }
    const records = await readOffsetsTopic(kafka, (rs) => rs.some((r) => r.kind === 'group' && r.group === 'gone' && r.value === null));
    // kafkajs's setOffsets joins the group to commit: its group records come first; the deletion comes last.
    const gone = records
      .filter((r) => r.group === 'gone')
      .map((r) => (r.kind === 'offset' ? `offset ${r.topicPartition} ${r.value?.offset ?? 'tombstone'}` : `group ${r.value ? r.value.members.length + ' member(s)' : 'tombstone'}`));
    expect(gone.filter((g) => g.startsWith('offset') && !g.endsWith('tombstone'))).toEqual(['offset 0 3', 'offset 1 5']);
    expect(gone.slice(-3)).toEqual(['offset 0 tombstone', 'offset 1 tombstone', 'group tombstone']);
  });
});
