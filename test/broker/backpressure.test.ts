/**
 * A client that pipelines requests and never reads its responses must not make the broker buffer them
 * all: as Kafka mutes a channel until its response is sent, the broker stops handling that connection's
 * requests while its output is full, and other connections keep being served.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ApiKey, EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { Reader } from '../../libs/broker/src/protocol/reader.js';
import type { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient, requestFrame } from './raw-client.js';
import { waitFor } from './support/wait.js';

const RECORD_BYTES = 128 * 1024;
const REQUESTS = 1000; // 128 MB of responses, more than the loopback socket buffers can absorb

/** Fetch v4 of partition 0 of `topic` from offset 0, without waiting. */
const fetchBody = (topic: string) => (w: Writer) => {
  w.int32(-1).int32(0).int32(0).int32(4 * RECORD_BYTES).int8(0);
  w.array([topic], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int64(0).int32(4 * RECORD_BYTES)));
};

describe('back-pressure on a connection that does not read', () => {
  let broker: EmbeddedKafkaBroker;
  let producer: Producer;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'big' }, { name: 'bystander' }] });
    producer = new Kafka({ clientId: 'bystander', brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: 'big', messages: [{ value: Buffer.alloc(RECORD_BYTES, 7) }] });
  });

  afterAll(async () => {
    await producer?.disconnect();
    await broker?.stop();
  });

  it('stops handling pipelined requests while the output is full, serves other clients, and answers every request once the client reads', async () => {
    const before = new Set(broker.cluster.nodes[0].connections);
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    raw.socket.pause(); // the client stops reading
    const server = await waitFor(() => [...broker.cluster.nodes[0].connections].find((c) => !before.has(c)), 5000, 'the server side of the connection');

    const frames = Array.from({ length: REQUESTS }, (_, i) => requestFrame({ apiKey: ApiKey.Fetch, apiVersion: 4, body: fetchBody('big') }, i + 1));
    raw.send(Buffer.concat(frames));

    // Either the broker stops (output over its high-water mark, socket no longer read) or, without
    // back-pressure, it keeps queueing responses far beyond any socket buffer.
    const LIMIT = 16 * 1024 * 1024;
    await waitFor(
      () => server.socket.writableLength > LIMIT || (server.socket.writableNeedDrain && server.socket.isPaused()),
      20_000,
      'the broker to stop reading, or to buffer more than 16 MiB',
    );
    expect(server.socket.writableLength).toBeLessThan(1024 * 1024); // about one response beyond the high-water mark

    // another connection is served meanwhile
    await producer.send({ topic: 'bystander', messages: [{ value: 'still served' }] });
    expect(broker.records('bystander').map((r) => r.value?.toString())).toEqual(['still served']);
    expect(server.socket.writableLength).toBeLessThan(1024 * 1024);

    // once the client reads, every request is answered, in order, and nothing was lost
    raw.socket.resume();
    for (let i = 1; i <= REQUESTS; i++) {
      const r = new Reader(await raw.nextFrame());
      expect(r.int32()).toBe(i);
      r.int32(); // throttle
      const [[, [[partition, errorCode]]]] = r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16()] as const)] as const);
      expect([partition, errorCode]).toEqual([0, 0]);
    }
    raw.close();
  });
});
