/**
 * Broker faults under a running listener application: records flow from KafkaTemplate to a
 * `@KafkaListener` while the broker answers with errors, drops connections, moves the group coordinator or
 * loses a node. The listener and the template recover by themselves: every record the template saw
 * acknowledged is processed, and the group ends up committed at the log end. A failing dead-letter publish
 * loses nothing either: the failed record stays uncommitted until its publish succeeds, once.
 */
import type { INestApplicationContext, InjectionToken } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ApiKey, type EmbeddedKafkaBroker, ErrorCode, type FaultSpec } from '@kafka-nest/broker';
import {
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  FixedBackOff,
  KafkaContext,
  KafkaListener,
  KafkaListenerEndpointRegistry,
  KafkaTemplate,
  Payload,
} from '@kafka-nest/core';
import { committedByPartition, createKafkaTestBroker, fullyCommitted, KafkaTestingModule, waitFor, waitForAssignment } from '@kafka-nest/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { envInt, prng, steadyTraffic } from './support.js';

const RECORDS = envInt('RELIABILITY_FAULT_RECORDS', 240);
const SEED = envInt('RELIABILITY_SEED', Date.now() % 2 ** 31);
const PARTITIONS = 3;
const DLT_HANDLER = Symbol('DLT_HANDLER');

interface Running {
  app: INestApplicationContext;
  template: KafkaTemplate;
  /** Times each value reached the listener. */
  processed: Map<string, number>;
}

const open: INestApplicationContext[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((a) => a.close()));
});

/** A Nest application with one listener on `topic` (group = topic) that remembers each value it handled. */
async function startListener(broker: EmbeddedKafkaBroker, topic: string, fail?: (value: string) => boolean): Promise<Running> {
  const processed = new Map<string, number>();
  @Injectable()
  class Listener {
    @KafkaListener({ id: topic, topics: [topic], fromBeginning: true, deserializer: 'string', ...(fail && { errorHandler: DLT_HANDLER }) })
    handle(@Payload() value: string, @Ctx() _ctx: KafkaContext) {
      if (fail?.(value)) throw new Error(`refusing ${value}`);
      processed.set(value, (processed.get(value) ?? 0) + 1);
    }
  }
  const errorHandler = {
    provide: DLT_HANDLER as InjectionToken,
    inject: [KafkaTemplate],
    useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(50, 1)),
  };
  const module = await Test.createTestingModule({
    imports: [
      KafkaTestingModule.forBroker(broker, {
        client: { brokers: broker.brokers, retry: { retries: 30, initialRetryTime: 50, maxRetryTime: 1_000 } },
        properties: { 'session.timeout.ms': 6_000, 'heartbeat.interval.ms': 500 },
      }),
    ],
    providers: [Listener, errorHandler],
  }).compile();
  module.useLogger(process.env.RELIABILITY_LOG ? ['error', 'warn', 'log'] : false);
  const app = await module.init();
  open.push(app);
  await waitForAssignment(app.get(KafkaListenerEndpointRegistry), topic, broker.partitionCount(topic)!, 30_000);
  return { app, template: app.get(KafkaTemplate), processed };
}

/** Sends records through the template while `disrupt` runs; then checks nothing acknowledged was lost. */
async function underTraffic(
  broker: EmbeddedKafkaBroker,
  running: Running,
  topic: string,
  disrupt: () => Promise<void>,
  { drainMs = 60_000 } = {},
) {
  // A send kafkajs resolves without acknowledging every partition is rejected by the transport
  // (kafkajs#1303): like any failed send, it is not counted as acknowledged.
  const send = (records: { partition: number; value: string }[]) => running.template.sendBatch(topic, records);
  const traffic = steadyTraffic(send, { partitions: PARTITIONS, batch: 3, max: RECORDS, pauseMs: 5 });
  await waitFor(() => traffic.acknowledged >= RECORDS / 4, { timeoutMs: 30_000, message: 'traffic flowing' });
  await disrupt();
  await traffic.finished;
  await waitFor(() => traffic.acked.every((v) => running.processed.has(v)) && fullyCommitted(broker, topic, topic), {
    timeoutMs: drainMs,
    message: `every acknowledged record of '${topic}' processed and committed`,
  }).catch((err: Error) => {
    const missing = traffic.acked.filter((v) => !running.processed.has(v));
    const inLog = new Set(broker.allRecords(topic).map((r) => r.value?.toString()));
    throw new Error(
      `${err.message}; ${missing.length} acknowledged record(s) never processed (${missing.slice(0, 5).join(', ')}...), ` +
        `${missing.filter((v) => !inLog.has(v)).length} of them not in the log; ` +
        `committed ${JSON.stringify([...committedByPartition(broker, topic, topic)])}, log ends ${JSON.stringify(broker.offsets(topic).map((p) => p.endOffset))}; ` +
        `group ${JSON.stringify(broker.describeGroup(topic)?.state)}, members ${broker.describeGroup(topic)?.members.length}`,
      { cause: err },
    );
  });
  return traffic;
}

describe('faults on a single node', () => {
  let broker: EmbeddedKafkaBroker;
  beforeAll(async () => {
    broker = await createKafkaTestBroker();
  });
  afterAll(() => broker?.stop());

  const cases: { name: string; faults: FaultSpec[]; templateRetries?: boolean }[] = [
    { name: 'NOT_COORDINATOR on commits and heartbeats', faults: [{ apiKey: ApiKey.OffsetCommit, errorCode: ErrorCode.NOT_COORDINATOR, count: 3 }, { apiKey: ApiKey.Heartbeat, errorCode: ErrorCode.NOT_COORDINATOR, count: 2 }] },
    { name: 'retriable fetch errors (NOT_LEADER_OR_FOLLOWER, REQUEST_TIMED_OUT)', faults: [{ apiKey: ApiKey.Fetch, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, count: 3 }, { apiKey: ApiKey.Fetch, errorCode: ErrorCode.REQUEST_TIMED_OUT, count: 2 }] },
    { name: 'produce errors on the template (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS)', faults: [{ apiKey: ApiKey.Produce, errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, count: 3 }, { apiKey: ApiKey.Produce, errorCode: ErrorCode.NOT_ENOUGH_REPLICAS, count: 2 }], templateRetries: true },
    { name: 'connections dropped mid-request (Fetch, OffsetCommit, Heartbeat, Produce)', faults: [{ apiKey: ApiKey.Fetch, dropConnection: true, count: 2 }, { apiKey: ApiKey.OffsetCommit, dropConnection: true }, { apiKey: ApiKey.Heartbeat, dropConnection: true }, { apiKey: ApiKey.Produce, dropConnection: true }], templateRetries: true },
    { name: 'a produce written but its acknowledgement lost', faults: [{ apiKey: ApiKey.Produce, dropResponse: true, count: 2 }], templateRetries: true },
  ];

  for (const { name, faults, templateRetries } of cases) {
    it(`${name}: the listener and the template recover, nothing acknowledged is lost`, async () => {
      const topic = `faults-${name.replace(/[^a-z]+/gi, '-').toLowerCase().slice(0, 40)}`;
      broker.createTopics({ name: topic, partitions: PARTITIONS });
      const running = await startListener(broker, topic);
      const traffic = await underTraffic(broker, running, topic, async () => {
        const injected = faults.map((f) => broker.injectFault(f));
        await waitFor(() => injected.every((f) => f.remaining <= 0), { timeoutMs: 20_000, message: 'the clients to meet every fault' });
      });
      if (templateRetries) expect(traffic.failed, 'template sends that failed despite retries').toBe(0);
    });
  }

  // kafkajs treats a fetch answered with UNKNOWN_SERVER_ERROR (or any non-retriable code) as fatal and does
  // not restart its consumer; the container replaces it, as a Spring container keeps polling.
  it('a fetch answered once with UNKNOWN_SERVER_ERROR: the listener recovers by itself', async () => {
    const topic = 'faults-fetch-unknown-server-error';
    broker.createTopics({ name: topic, partitions: PARTITIONS });
    const running = await startListener(broker, topic);
    await underTraffic(
      broker,
      running,
      topic,
      async () => {
        const fault = broker.injectFault({ apiKey: ApiKey.Fetch, errorCode: ErrorCode.UNKNOWN_SERVER_ERROR });
        await waitFor(() => fault.remaining <= 0, { timeoutMs: 20_000, message: 'the consumer to meet the fault' });
      },
      { drainMs: 30_000 },
    );
  });

  it('a dead-letter publish that fails: the record stays uncommitted, then reaches the DLT once', async () => {
    const topic = 'faults-dlt';
    broker.createTopics({ name: topic, partitions: PARTITIONS });
    const poison = 'r30'; // partition 0 under round robin
    const running = await startListener(broker, topic, (v) => v === poison);
    const fault = broker.injectFault({ apiKey: ApiKey.Produce, topic: `${topic}.DLT`, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, count: 1_000_000 });
    const traffic = steadyTraffic((records) => running.template.sendBatch(topic, records), { partitions: PARTITIONS, batch: 3, max: RECORDS, pauseMs: 5 });
    await traffic.finished;
    // The poison record's partition is held at it while its publish keeps failing; the others drain.
    const poisonOffset = broker.records(topic, 0).find((r) => r.value?.toString() === poison)!.offset;
    await waitFor(() => fault.hits >= 2, { timeoutMs: 30_000, message: 'two failed dead-letter publishes' });
    const committed = committedByPartition(broker, topic, topic);
    expect(committed.get(0) ?? -1).toBeLessThanOrEqual(Number(poisonOffset));
    for (const p of [1, 2]) await waitFor(() => committedByPartition(broker, topic, topic).get(p) === broker.endOffset(topic, p), { timeoutMs: 30_000, message: `partition ${p} drained` });
    expect(broker.allRecords(`${topic}.DLT`)).toEqual([]);

    broker.clearFaults();
    await waitFor(() => fullyCommitted(broker, topic, topic), { timeoutMs: 30_000, message: `'${topic}' committed to the end once the DLT accepts` });
    const dlt = broker.allRecords(`${topic}.DLT`);
    expect(dlt.map((r) => r.value?.toString())).toEqual([poison]);
    expect(traffic.acked.filter((v) => v !== poison && !running.processed.has(v))).toEqual([]);
  });
});

describe('a node of a three-node cluster stopped', () => {
  let broker: EmbeddedKafkaBroker;
  beforeAll(async () => {
    broker = await createKafkaTestBroker({ brokers: 3 });
  });
  afterAll(() => broker?.stop());

  it('each node in turn (the group coordinator and partition leaders move): nothing acknowledged is lost', async () => {
    const topic = 'faults-cluster';
    broker.createTopics({ name: topic, partitions: PARTITIONS });
    const running = await startListener(broker, topic);
    const traffic = await underTraffic(broker, running, topic, async () => {
      for (const node of [0, 1, 2]) {
        const before = running.processed.size;
        await broker.stopNode(node);
        await waitFor(() => running.processed.size > before + 10, { timeoutMs: 30_000, message: `records processed with node ${node} down` });
        await broker.startNode(node);
      }
    });
    console.log(`broker-faults: 3-node cluster, sendBatch over ${PARTITIONS} partitions: ${traffic.acknowledged} acknowledged, ${traffic.failed} in rejected sends (not counted)`);
  });
});

describe('the only node stopped and restarted on the same port with its data', () => {
  let broker: EmbeddedKafkaBroker;
  beforeAll(async () => {
    broker = await createKafkaTestBroker();
  });
  afterAll(() => broker?.stop());

  it('the listener and the template reconnect by themselves; nothing acknowledged is lost', async () => {
    const topic = 'faults-restart';
    broker.createTopics({ name: topic, partitions: PARTITIONS });
    const running = await startListener(broker, topic);
    const address = broker.brokers[0];
    const outageMs = Math.round(300 + prng(SEED)() * 700);
    console.log(`broker-faults: seed ${SEED} (replay with RELIABILITY_SEED=${SEED}), outage of the only node ${outageMs} ms`);
    await underTraffic(broker, running, topic, async () => {
      await broker.stopNode(0);
      // Nothing can be written while the node is down: what it holds now must be there after the restart.
      const before = { offsets: broker.offsets(topic), values: broker.allRecords(topic).map((r) => r.value?.toString()) };
      await new Promise((r) => setTimeout(r, outageMs));
      await broker.startNode(0);
      // Read before any client can reach the restarted node (its connections need I/O turns; this does not wait for one).
      const after = { offsets: broker.offsets(topic), values: broker.allRecords(topic).map((r) => r.value?.toString()) };
      expect(broker.brokers).toEqual([address]);
      expect(after.offsets, 'log start and end offsets across the restart').toEqual(before.offsets);
      expect(after.values, 'records across the restart').toEqual(before.values);
      expect(before.values.length, 'records written before the outage').toBeGreaterThan(0);
    });
  });
});
