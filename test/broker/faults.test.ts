/**
 * Fault injection seen from kafkajs: injected error codes, delays and dropped connections reach the client
 * exactly as a real broker's would, its retries recover from the retriable ones, and `fault.exhausted`
 * tells the test when the client has met the fault.
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Consumer, Kafka, type logCreator, logLevel, type Producer } from 'kafkajs';
import { ApiKey, EmbeddedKafkaBroker, ErrorCode, silentLogger } from '@kafka-nest/broker';
import type { Reader } from '../../libs/broker/src/protocol/reader.js';
import type { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient, requestFrame } from './raw-client.js';
import { encodeBatch } from './support/record-batch.js';
import { waitFor } from './support/wait.js';

/** A Produce v3 request body: one batch of `values` for `partition` of each topic. */
const produceBody =
  (topics: string | string[], values: string[], acks = 1, partition = 0) =>
  (w: Writer) => {
    w.nullableString(null).int16(acks).int32(30_000);
    w.array([topics].flat(), (w, t) => w.string(t).array([partition], (w, p) => w.int32(p).bytes(encodeBatch(values.map((value) => ({ value }))))));
  };

/** Produce v3 response: error code per topic (one partition each). */
const produceErrors = (r: Reader) =>
  Object.fromEntries(r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])[0][1]] as const));

/** Metadata v2 response. */
function metadataV2(r: Reader) {
  const brokers = r.array((r) => ({ nodeId: r.int32(), host: r.string(), port: r.int32(), rack: r.nullableString() }));
  const clusterId = r.nullableString();
  const controllerId = r.int32();
  const topics = r.array((r) => ({
    errorCode: r.int16(),
    name: r.string(),
    internal: r.bool(),
    partitions: r.array((r) => ({ errorCode: r.int16(), index: r.int32(), leader: r.int32(), replicas: r.array((r) => r.int32()), isr: r.array((r) => r.int32()) })),
  }));
  return { brokers, clusterId, controllerId, topics };
}

/**
 * Sends `frame` (which gets no response) and then a Metadata request: 'closed' when the broker closes the
 * connection instead of answering that one, 'answered' otherwise.
 */
function answeredOrClosed(raw: RawClient, frame: Buffer): Promise<'answered' | 'closed'> {
  raw.send(frame);
  raw.send(requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 2, body: (w) => w.array([], () => {}) }, 99));
  return raw.nextFrame().then(
    () => 'answered',
    () => 'closed',
  );
}

interface LogEntry {
  level: number;
  namespace: string;
  message: string;
  retryCount?: number;
  error?: string;
}

describe('fault injection seen by kafkajs', () => {
  let broker: EmbeddedKafkaBroker;
  const log: LogEntry[] = [];
  const capture: logCreator = () => ({ level, namespace, log: entry }) => log.push({ level, namespace, ...entry } as LogEntry);
  const open: { disconnect(): Promise<void> }[] = [];

  function kafka(options: { requestTimeout?: number; retries?: number; logLevel?: logLevel } = {}) {
    return new Kafka({
      clientId: 'faults-test',
      brokers: broker.brokers,
      logLevel: options.logLevel ?? logLevel.ERROR,
      logCreator: capture,
      requestTimeout: options.requestTimeout ?? 30_000,
      retry: { retries: options.retries ?? 5, initialRetryTime: 20, maxRetryTime: 200 },
    });
  }

  async function connectedProducer(options: Parameters<typeof kafka>[0] = {}): Promise<Producer> {
    const producer = kafka(options).producer();
    await producer.connect();
    open.push(producer);
    return producer;
  }

  const values = (topic: string) => broker.allRecords(topic).map((r) => r.value?.toString());

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger });
  });

  afterEach(async () => {
    broker.clearFaults();
    await Promise.all(open.splice(0).map((c) => c.disconnect()));
    log.length = 0;
  });

  afterAll(async () => broker?.stop());

  it('a retriable error on Produce is retried, surfaces in the retry log and request events, and the record is written once', async () => {
    broker.createTopics({ name: 'retried', partitions: 1 });
    const producer = await connectedProducer();
    const produceRequests: number[] = [];
    producer.on(producer.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Produce') produceRequests.push(e.payload.correlationId);
    });

    const fault = broker.injectFault({ apiKey: ApiKey.Produce, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, count: 2 });
    const [meta] = await producer.send({ topic: 'retried', acks: -1, messages: [{ value: 'survivor' }] });

    await fault.exhausted;
    expect(fault.hits).toBe(2);
    expect(meta).toMatchObject({ topicName: 'retried', partition: 0, errorCode: 0, baseOffset: '0' });
    expect(values('retried')).toEqual(['survivor']);
    expect(produceRequests).toHaveLength(3);
    const retries = log.filter((e) => e.message.startsWith('Failed to send messages'));
    expect(retries.map((e) => e.retryCount)).toEqual([0, 1]);
    expect(retries[0].message).toMatch(/not the leader/);
  });

  it('a non-retriable error code reaches the caller as a KafkaJSProtocolError of that type, without retries', async () => {
    broker.createTopics({ name: 'forbidden', partitions: 1 });
    const producer = await connectedProducer();
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });

    const error = await producer.send({ topic: 'forbidden', messages: [{ value: 'denied' }] }).catch((e) => e);
    await fault.exhausted;
    expect(error).toMatchObject({ name: 'KafkaJSProtocolError', type: 'TOPIC_AUTHORIZATION_FAILED', code: 29, retriable: false });
    expect(values('forbidden')).toEqual([]);
  });

  it('a fault scoped to a topic leaves requests for other topics alone', async () => {
    broker.createTopics({ name: 'scoped', partitions: 1 }, { name: 'unscoped', partitions: 1 });
    const producer = await connectedProducer({ retries: 0 });
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, topic: 'scoped', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });

    await producer.send({ topic: 'unscoped', messages: [{ value: 'free' }] });
    expect(fault.hits).toBe(0);
    await expect(producer.send({ topic: 'scoped', messages: [{ value: 'caught' }] })).rejects.toMatchObject({ type: 'TOPIC_AUTHORIZATION_FAILED' });
    await fault.exhausted;
    expect(values('unscoped')).toEqual(['free']);
    expect(values('scoped')).toEqual([]);
  });

  it('an injected error on a Produce with acks=0, which gets no response, closes the connection as Kafka does', async () => {
    broker.createTopics({ name: 'fire-and-forget', partitions: 1 });
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    expect(await answeredOrClosed(raw, requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('fire-and-forget', ['lost'], 0) }, 1))).toBe('closed');
    expect(fault.hits).toBe(1);
    expect(values('fire-and-forget')).toEqual([]);

    // without a fault, acks=0 is written and gets no response: the next request's answer comes first
    const ok = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    ok.send(requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('fire-and-forget', ['kept'], 0) }, 1));
    const meta = await ok.request({ apiKey: ApiKey.Metadata, apiVersion: 2, correlationId: 2, body: (w) => w.array(['fire-and-forget'], (w, n) => w.string(n)) });
    expect(metadataV2(meta).topics[0].errorCode).toBe(0);
    expect(values('fire-and-forget')).toEqual(['kept']);
    ok.close();
  });

  it('a real error on a Produce with acks=0 closes the connection too, so the producer refreshes its metadata', async () => {
    broker.createTopics({ name: 'one-partition', partitions: 1 });
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    expect(await answeredOrClosed(raw, requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('one-partition', ['nowhere'], 0, 5) }, 1))).toBe('closed');
    expect(broker.endOffset('one-partition')).toBe(0);
  });

  it('an injected Metadata error on an all-topics request keeps brokers, controller and cluster id, and fails every topic', async () => {
    broker.createTopics({ name: 'meta-a', partitions: 2 }, { name: 'meta-b', partitions: 1 });
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    const normal = metadataV2(await raw.request({ apiKey: ApiKey.Metadata, apiVersion: 2, body: (w) => w.int32(-1) }));
    const fault = broker.injectFault({ apiKey: ApiKey.Metadata, errorCode: ErrorCode.LEADER_NOT_AVAILABLE });
    const faulted = metadataV2(await raw.request({ apiKey: ApiKey.Metadata, apiVersion: 2, body: (w) => w.int32(-1) }));
    await fault.exhausted;

    expect(faulted.brokers).toEqual(normal.brokers);
    expect(faulted.brokers).toHaveLength(1);
    expect(faulted.controllerId).toBe(0);
    expect(faulted.clusterId).toBe(broker.cluster.options.clusterId);
    expect(faulted.topics.map((t) => t.name).sort()).toEqual(broker.topicNames());
    expect(faulted.topics.map((t) => t.name)).toContain('meta-a');
    for (const t of faulted.topics) expect(t).toMatchObject({ errorCode: ErrorCode.LEADER_NOT_AVAILABLE, partitions: [] });
    raw.close();
  });

  it('a fault scoped to a topic fails only that topic in a request naming several (Produce, Fetch, ListOffsets, Metadata)', async () => {
    broker.createTopics({ name: 'faulted', partitions: 1 }, { name: 'spared', partitions: 1 });
    const raw = await RawClient.connect(Number(broker.brokers[0].split(':')[1]));
    const scoped = (apiKey: ApiKey) => broker.injectFault({ apiKey, topic: 'faulted', errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER });

    let fault = scoped(ApiKey.Produce);
    const produced = produceErrors(await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody(['faulted', 'spared'], ['both']) }));
    expect(fault.hits).toBe(1);
    expect(produced).toEqual({ faulted: ErrorCode.NOT_LEADER_OR_FOLLOWER, spared: 0 });
    expect(values('faulted')).toEqual([]);
    expect(values('spared')).toEqual(['both']);
    await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('faulted', ['later']) });

    fault = scoped(ApiKey.Fetch);
    const fetched = await raw.request({
      apiKey: ApiKey.Fetch,
      apiVersion: 4,
      body: (w) => {
        w.int32(-1).int32(5000).int32(1).int32(1 << 20).int8(0);
        w.array(['faulted', 'spared'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int64(0).int32(1 << 20)));
      },
    });
    fetched.int32(); // throttle
    const fetchResult = Object.fromEntries(
      fetched.array((r) => [r.string(), r.array((r) => ({ partition: r.int32(), errorCode: r.int16(), hw: r.int64(), lso: r.int64(), abortedCount: r.int32(), bytes: r.bytes()?.length }))[0]] as const),
    );
    expect(fault.hits).toBe(1);
    expect(fetchResult.faulted).toMatchObject({ errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, bytes: 0 });
    expect(fetchResult.spared).toMatchObject({ errorCode: 0, hw: 1 });
    expect(fetchResult.spared.bytes).toBeGreaterThan(0);

    fault = scoped(ApiKey.ListOffsets);
    const listed = await raw.request({
      apiKey: ApiKey.ListOffsets,
      apiVersion: 1,
      body: (w) => w.int32(-1).array(['faulted', 'spared'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int64(-1))),
    });
    const offsets = Object.fromEntries(listed.array((r) => [r.string(), r.array((r) => ({ index: r.int32(), errorCode: r.int16(), timestamp: r.int64(), offset: r.int64() }))[0]] as const));
    expect(fault.hits).toBe(1);
    expect(offsets).toEqual({
      faulted: { index: 0, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, timestamp: -1, offset: -1 },
      spared: { index: 0, errorCode: 0, timestamp: -1, offset: 1 },
    });

    fault = scoped(ApiKey.Metadata);
    const meta = metadataV2(await raw.request({ apiKey: ApiKey.Metadata, apiVersion: 2, body: (w) => w.array(['faulted', 'spared'], (w, n) => w.string(n)) }));
    expect(fault.hits).toBe(1);
    expect(meta.topics.map((t) => [t.name, t.errorCode, t.partitions.length])).toEqual([
      ['faulted', ErrorCode.NOT_LEADER_OR_FOLLOWER, 0],
      ['spared', 0, 1],
    ]);
    raw.close();
  });

  it('a delay shorter than the request timeout only slows the request down', async () => {
    broker.createTopics({ name: 'slow', partitions: 1 });
    const producer = await connectedProducer();
    const durations: number[] = [];
    producer.on(producer.events.REQUEST, (e) => {
      if (e.payload.apiName === 'Produce') durations.push(e.payload.duration);
    });
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, delayMs: 300 });
    await producer.send({ topic: 'slow', messages: [{ value: 'late' }] });
    await fault.exhausted;
    expect(durations).toHaveLength(1);
    expect(durations[0]).toBeGreaterThanOrEqual(290);
    expect(values('slow')).toEqual(['late']);
  });

  it('a delay longer than requestTimeout times the request out; the delayed write still lands, as on Kafka', async () => {
    broker.createTopics({ name: 'timed-out', partitions: 1 });
    const producer = await connectedProducer({ requestTimeout: 200, retries: 0 });
    const timeouts: string[] = [];
    producer.on(producer.events.REQUEST_TIMEOUT, (e) => timeouts.push(e.payload.apiName));
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, delayMs: 1000 });

    const error = await producer.send({ topic: 'timed-out', messages: [{ value: 'in-doubt' }] }).catch((e) => e);
    await fault.exhausted;
    expect(error.name).toBe('KafkaJSNumberOfRetriesExceeded');
    expect(error.cause).toMatchObject({ name: 'KafkaJSRequestTimeoutError' });
    expect(timeouts).toEqual(['Produce']);

    // the broker handles the request once the delay is over: a timeout does not mean "not written"
    await waitFor(() => broker.endOffset('timed-out') === 1, 5000, 'the delayed produce to be written');
    expect(values('timed-out')).toEqual(['in-doubt']);
  });

  it('a delayed request is cancelled by broker.stop(): stop resolves promptly and the request is never handled', async () => {
    const own = await EmbeddedKafkaBroker.start({ logger: silentLogger });
    const DELAY_MS = 300;
    const fault = own.injectFault({ apiKey: ApiKey.Produce, delayMs: DELAY_MS });
    const raw = await RawClient.connect(Number(own.brokers[0].split(':')[1]));
    raw.send(requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('auto-created', ['never']) }, 1));
    await waitFor(() => fault.hits === 1, 5000, 'the produce to meet the delay');

    const started = Date.now();
    await own.stop();
    expect(Date.now() - started).toBeLessThan(DELAY_MS);
    await raw.closed;

    // Timers fire in the order they were set: once this one has fired, the fault's delay is over too, and
    // a request still waiting on it would have been handled (auto-creating its topic) by now.
    await sleep(DELAY_MS);
    expect(own.topicNames()).toEqual([]);
  });

  it("a delay's timer does not keep the process alive after broker.stop()", async () => {
    // A child process holds a Produce with a 60 s delay, stops the broker and returns without process.exit.
    const script = fileURLToPath(new URL('./support/stop-during-delay.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', '@swc-node/register/esm-register', script], { cwd: fileURLToPath(new URL('../../', import.meta.url)) });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([exited, new Promise<'still running'>((resolve) => (timer = setTimeout(resolve, 15_000, 'still running')))]);
    clearTimeout(timer);
    if (outcome === 'still running') child.kill();
    expect(outcome).toBe(0);
    expect(stdout).toBe('stopped\n');
  });

  it('a delayed request whose connection closes is not handled, even if its node is back by the end of the delay', async () => {
    const own = await EmbeddedKafkaBroker.start({ logger: silentLogger, topics: [{ name: 'held' }] });
    try {
      const DELAY_MS = 300;
      const fault = own.injectFault({ apiKey: ApiKey.Produce, delayMs: DELAY_MS });
      const raw = await RawClient.connect(Number(own.brokers[0].split(':')[1]));
      raw.send(requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('held', ['never']) }, 1));
      await waitFor(() => fault.hits === 1, 5000, 'the produce to meet the delay');

      await own.stopNode(0); // drops the connection mid-delay
      await raw.closed;
      await own.startNode(0);
      await sleep(DELAY_MS); // as above: the fault's delay is over once this fires
      expect(own.endOffset('held')).toBe(0);
    } finally {
      await own.stop();
    }
  });

  it('a dropped connection is reconnected and the request retried, writing the record once', async () => {
    broker.createTopics({ name: 'dropped', partitions: 1 });
    const producer = await connectedProducer({ logLevel: logLevel.DEBUG });
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, dropConnection: true });

    await producer.send({ topic: 'dropped', messages: [{ value: 'again' }] });
    await fault.exhausted;
    expect(values('dropped')).toEqual(['again']);
    expect(fault.hits).toBe(1);
    // kafkajs noticed the closed socket and reconnected before retrying (debug-level lines)
    expect(log).toContainEqual(expect.objectContaining({ namespace: 'Connection', message: 'Kafka server has closed connection' }));
    expect(log).toContainEqual(expect.objectContaining({ namespace: 'Producer', message: expect.stringMatching(/^Cluster has disconnected, reconnecting/) }));
  });

  it('faults on the consumer path (Fetch, FindCoordinator) are ridden out and every record arrives', async () => {
    broker.createTopics({ name: 'consumed', partitions: 2 });
    const producer = await connectedProducer();
    await producer.send({ topic: 'consumed', messages: Array.from({ length: 6 }, (_, i) => ({ value: `c${i}`, partition: i % 2 })) });

    const coordinatorFault = broker.injectFault({ apiKey: ApiKey.FindCoordinator, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE, count: 2 });
    const fetchFault = broker.injectFault({ apiKey: ApiKey.Fetch, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, count: 2 });
    const consumer: Consumer = kafka().consumer({ groupId: 'faulty-group', maxWaitTimeInMs: 100, retry: { retries: 10, initialRetryTime: 20 } });
    open.push(consumer);
    const seen: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic: 'consumed', fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });

    await Promise.all([coordinatorFault.exhausted, fetchFault.exhausted]);
    await waitFor(() => seen.length === 6, 15_000, 'all six records');
    expect(seen.sort()).toEqual(['c0', 'c1', 'c2', 'c3', 'c4', 'c5']);
  });

  it('clearFaults resolves the exhausted promise of faults that were never hit', async () => {
    const fault = broker.injectFault({ apiKey: ApiKey.DeleteRecords, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, count: 3 });
    broker.clearFaults();
    await fault.exhausted;
    expect(fault.hits).toBe(0);
  });

  it('refuses a fault with nothing to do or a count below 1', () => {
    expect(() => broker.injectFault({ apiKey: ApiKey.Produce })).toThrow(RangeError);
    expect(() => broker.injectFault({ apiKey: ApiKey.Produce, errorCode: 6, count: 0 })).toThrow(/positive integer/);
  });
});
