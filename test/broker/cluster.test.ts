/**
 * Multi-node behaviour: leadership spread over the nodes, requests to a non-leader refused as Kafka
 * refuses them, and nodes stopped and restarted under running kafkajs clients without losing any
 * acknowledged record; also a single node restarted on the same port with its data.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { ApiKey, EmbeddedKafkaBroker, ErrorCode, silentLogger } from '@kafka-nest/broker';
import type { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient } from './raw-client.js';
import { encodeBatch } from './support/record-batch.js';
import { waitFor } from './support/wait.js';

const portOf = (broker: EmbeddedKafkaBroker, nodeId: number) => Number(broker.nodes[nodeId].address.split(':')[1]);

function kafkaFor(bootstrap: string[], clientId: string) {
  return new Kafka({ clientId, brokers: bootstrap, logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 50, maxRetryTime: 500 } });
}

/** Leader node of each partition, as kafkajs's admin reads it from Metadata. */
async function leaders(admin: Admin, topic: string): Promise<number[]> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return [...topics[0].partitions].sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader);
}

/**
 * Produces `key-i` records one at a time until stopped, remembering which were acknowledged; a send that
 * fails (while a node is down and the client has not yet found the new leader) is simply not counted.
 */
function steadyProducer(producer: Producer, topic: string) {
  const acked: string[] = [];
  let running = true;
  let i = 0;
  const done = (async () => {
    while (running) {
      const value = `v${i++}`;
      try {
        await producer.send({ topic, acks: -1, messages: [{ key: value, value }] });
        acked.push(value);
      } catch {
        // not acknowledged: may or may not be in the log, and is not counted
      }
    }
  })();
  return {
    acked,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

describe('a three-node cluster', () => {
  let broker: EmbeddedKafkaBroker;
  let admin: Admin;
  const open: { disconnect(): Promise<void> }[] = [];

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 3, topics: [{ name: 'spread', partitions: 6 }] });
    admin = kafkaFor(broker.brokers, 'cluster-admin').admin();
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.disconnect()));
    for (const n of broker.nodes) if (!n.alive) await broker.startNode(n.id);
  });

  afterAll(async () => {
    await admin?.disconnect();
    await broker?.stop();
  });

  it('lists three nodes on distinct ports, node 0 as controller, and spreads partition leaders over them', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([0, 1, 2]);
    expect(new Set(cluster.brokers.map((b) => b.port)).size).toBe(3);
    expect(cluster.controller).toBe(0);
    expect(await leaders(admin, 'spread')).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('answers Produce and Fetch for a partition on a node that does not lead it with NOT_LEADER_OR_FOLLOWER', async () => {
    const raw = await RawClient.connect(portOf(broker, 1)); // node 1 leads partitions 1 and 4, not 0
    try {
      const produce = (partition: number) => (w: Writer) => {
        w.nullableString(null).int16(-1).int32(5000);
        w.array(['spread'], (w, t) => w.string(t).array([partition], (w, p) => w.int32(p).bytes(encodeBatch([{ value: `to-${partition}` }]))));
      };
      const readProduce = (r: Awaited<ReturnType<RawClient['request']>>) =>
        r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])] as const)[0][1][0];

      const refused = readProduce(await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produce(0) }));
      expect(refused.slice(0, 3)).toEqual([0, ErrorCode.NOT_LEADER_OR_FOLLOWER, -1]);
      const accepted = readProduce(await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produce(1) }));
      expect(accepted.slice(0, 2)).toEqual([1, 0]);

      const fetch = await raw.request({
        apiKey: ApiKey.Fetch,
        apiVersion: 4,
        body: (w) => {
          w.int32(-1).int32(0).int32(0).int32(1 << 20).int8(0);
          w.array(['spread'], (w, t) => w.string(t).array([0, 1], (w, p) => w.int32(p).int64(0).int32(1 << 20)));
        },
      });
      expect(fetch.int32()).toBe(0); // throttle_time_ms
      const [[, partitions]] = fetch.array((r) => [
        r.string(),
        r.array((r) => {
          const p = { partition: r.int32(), errorCode: r.int16(), highWatermark: r.int64() };
          r.int64(); // last_stable_offset
          r.nullableArray((r) => [r.int64(), r.int64()]);
          r.nullableBytes();
          return p;
        }),
      ]);
      expect(partitions).toEqual([
        { partition: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, highWatermark: -1 },
        { partition: 1, errorCode: 0, highWatermark: broker.endOffset('spread', 1) },
      ]);
    } finally {
      raw.close();
    }
  });

  it('moves leadership off a stopped node, drops its connections, and takes it back on restart at the same address', async () => {
    const before = broker.nodes[1].address;
    const raw = await RawClient.connect(portOf(broker, 1));
    await broker.stopNode(1);
    await raw.closed;
    expect(broker.nodes[1].alive).toBe(false);
    expect(broker.brokers).not.toContain(before);

    expect(await leaders(admin, 'spread')).toEqual([0, 2, 2, 0, 2, 2]);
    const cluster = await admin.describeCluster();
    expect(cluster.brokers.map((b) => b.nodeId).sort()).toEqual([0, 2]);

    await broker.startNode(1);
    expect(broker.nodes[1]).toEqual({ id: 1, address: before, alive: true });
    expect(await leaders(admin, 'spread')).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('moves the controller when it stops, and admin requests follow it', async () => {
    await broker.stopNode(0);
    const survivor = kafkaFor([broker.nodes[1].address], 'controller-follower').admin();
    await survivor.connect();
    open.push(survivor);
    expect((await survivor.describeCluster()).controller).toBe(1);
    expect(await survivor.createTopics({ topics: [{ topic: 'made-without-0', numPartitions: 3 }] })).toBe(true);
    expect(broker.partitionCount('made-without-0')).toBe(3);
  });

  it('loses no acknowledged record while a node stops and restarts under a running producer and consumer group', async () => {
    broker.createTopics({ name: 'durable', partitions: 6 });
    const kafka = kafkaFor(broker.brokers, 'durable-client');
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    open.push(producer);
    const consumer: Consumer = kafka.consumer({ groupId: 'durable-group', maxWaitTimeInMs: 100, sessionTimeout: 10_000, heartbeatInterval: 500 });
    await consumer.connect();
    open.push(consumer);
    const consumed: string[] = [];
    await consumer.subscribe({ topic: 'durable', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void consumed.push(message.value!.toString()) });

    const load = steadyProducer(producer, 'durable');
    await waitFor(() => load.acked.length >= 30, 10_000, 'records before the stop');
    await broker.stopNode(1);
    const atStop = load.acked.length;
    await waitFor(() => load.acked.length >= atStop + 100, 20_000, 'records acknowledged while node 1 is down');
    await broker.startNode(1);
    const atStart = load.acked.length;
    await waitFor(() => load.acked.length >= atStart + 100, 20_000, 'records acknowledged after the restart');
    await load.stop();

    const stored = broker.allRecords('durable').map((r) => r.value!.toString());
    expect(stored).toEqual(expect.arrayContaining(load.acked));
    expect(new Set(stored).size).toBe(stored.length); // idempotence: no retried batch was written twice
    await waitFor(() => load.acked.every((v) => consumed.includes(v)), 20_000, 'the consumer to see every acknowledged record');
  });
});

describe('a single node', () => {
  it('restarts on the same port with its data, and kafkajs clients reconnect by themselves', async () => {
    const broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, brokers: 1, topics: [{ name: 'kept', partitions: 2 }] });
    const kafka = kafkaFor(broker.brokers, 'single-node');
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: 'single-node-group', maxWaitTimeInMs: 100 });
    try {
      await producer.connect();
      await producer.send({ topic: 'kept', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `before-${i}` })) });
      const address = broker.nodes[0].address;

      await broker.stopNode(0);
      expect(broker.brokers).toEqual([]);
      await broker.startNode(0);
      expect(broker.brokers).toEqual([address]);
      expect(broker.allRecords('kept')).toHaveLength(5);

      // the producer's connection died with the node; its next send reconnects on its own
      await producer.send({ topic: 'kept', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `after-${i}` })) });

      const seen: string[] = [];
      await consumer.connect();
      await consumer.subscribe({ topic: 'kept', fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
      await waitFor(() => seen.length === 10, 15_000, 'all ten records');
      expect(seen.sort()).toEqual([...Array.from({ length: 5 }, (_, i) => `after-${i}`), ...Array.from({ length: 5 }, (_, i) => `before-${i}`)]);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await broker.stop();
    }
  });
});
