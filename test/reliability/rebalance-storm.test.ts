/**
 * Rebalance storms: three application instances in one group, each running a listener with two consumers
 * (`concurrency: 2`), leave and join the group over and over (their containers stopped and started through
 * the registry) while a producer keeps sending until the last cycle. Before each join or leave the test
 * waits until records were processed since the previous one, so every cycle runs under traffic. Every
 * record is processed, and no partition is ever processed by two members at once: each handler call is
 * recorded with its member and start and end times, and the calls of one partition never overlap.
 *
 * Longer runs: RELIABILITY_STORM_CYCLES (joins and leaves), RELIABILITY_STORM_RECORDS (a cap on the
 * records sent), RELIABILITY_SEED.
 */
import { Inject, Injectable, type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry } from '@kafka-nest/core';
import { createKafkaTestBroker, fullyCommitted, KafkaTestingModule, waitFor } from '@kafka-nest/testing';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envInt, prng, steadyTraffic, testProducer } from './support.js';

const CYCLES = envInt('RELIABILITY_STORM_CYCLES', 30);
const MAX_RECORDS = envInt('RELIABILITY_STORM_RECORDS', 50_000);
const SEED = envInt('RELIABILITY_SEED', Date.now() % 2 ** 31);
const TOPIC = 'storm';
const PARTITIONS = 6;
const INSTANCES = 3;
/** Handler calls awaited between two membership changes. */
const CALLS_PER_CYCLE = 20;
const MEMBER = Symbol('MEMBER');

/** One handler call. */
interface Call {
  member: string;
  partition: number;
  offset: number;
  start: number;
  end: number;
}

const calls: Call[] = [];
/** `partition:offset` of every record a handler finished. */
const processed = new Set<string>();

@Injectable()
class StormListener {
  constructor(@Inject(MEMBER) private readonly member: string) {}

  @KafkaListener({ id: 'storm', topics: [TOPIC], groupId: TOPIC, concurrency: 2, fromBeginning: true, deserializer: 'buffer' })
  async handle(@Ctx() ctx: KafkaContext) {
    const start = performance.now();
    const ms = Math.random() * 3;
    if (ms >= 1) await new Promise((r) => setTimeout(r, ms));
    calls.push({ member: this.member, partition: ctx.partition, offset: ctx.offset, start, end: performance.now() });
    processed.add(`${ctx.partition}:${ctx.offset}`);
  }
}

let broker: EmbeddedKafkaBroker;
let producer: Producer;
const apps: INestApplicationContext[] = [];

beforeAll(async () => {
  broker = await createKafkaTestBroker({ groupMinSessionTimeoutMs: 1_000, topics: [{ name: TOPIC, partitions: PARTITIONS }] });
  producer = await testProducer(broker, 'storm-producer');
  console.log(`rebalance-storm: seed ${SEED} (replay with RELIABILITY_SEED=${SEED}), ${CYCLES} joins and leaves`);
});

afterAll(async () => {
  await Promise.all(apps.map((a) => a.close()));
  await producer?.disconnect();
  await broker?.stop();
});

async function startInstance(index: number): Promise<INestApplicationContext> {
  const module = await Test.createTestingModule({
    imports: [
      KafkaTestingModule.forBroker(broker, {
        client: { clientId: `storm-${index}`, brokers: broker.brokers },
        properties: { 'session.timeout.ms': 2_000, 'heartbeat.interval.ms': 300, 'max.poll.interval.ms': 5_000 },
      }),
    ],
    providers: [StormListener, { provide: MEMBER, useValue: `instance-${index}` }],
  }).compile();
  module.useLogger(false);
  return module.init();
}

describe('members joining and leaving while records flow', () => {
  it('loses nothing and never lets two members process one partition at once', async () => {
    const random = prng(SEED);
    for (let i = 0; i < INSTANCES; i++) apps.push(await startInstance(i));
    const traffic = steadyTraffic(
      (records) => producer.send({ topic: TOPIC, acks: -1, messages: records.map((r) => ({ partition: r.partition, value: r.value })) }),
      { partitions: PARTITIONS, batch: 6, max: MAX_RECORDS, pauseMs: 20 },
    );
    let joins = 0;
    let leaves = 0;
    /** Handler calls between each membership change and the next. */
    const perCycle: number[] = [];
    let callsAtChange = calls.length;
    for (let cycle = 0; cycle < CYCLES; cycle++) {
      await new Promise((r) => setTimeout(r, 100 + random() * 500));
      // Records flow between any two changes, so the overlap check covers every cycle.
      await waitFor(() => calls.length >= callsAtChange + CALLS_PER_CYCLE, {
        timeoutMs: 30_000,
        message: `cycle ${cycle}: ${CALLS_PER_CYCLE} handler calls since the last join or leave (${calls.length - callsAtChange} so far)`,
      });
      perCycle.push(calls.length - callsAtChange);
      callsAtChange = calls.length;
      const registry = apps[Math.floor(random() * apps.length)].get(KafkaListenerEndpointRegistry);
      // Keep one member at least, so that the storm does not become an outage.
      const running = apps.filter((a) => a.get(KafkaListenerEndpointRegistry).isRunning('storm')).length;
      if (registry.isRunning('storm') && running > 1) {
        await registry.stop('storm');
        leaves++;
      } else if (!registry.isRunning('storm')) {
        await registry.start('storm');
        joins++;
      }
    }
    expect(traffic.acknowledged, 'the producer still sending at the last cycle').toBeLessThan(MAX_RECORDS);
    for (const app of apps) await app.get(KafkaListenerEndpointRegistry).start('storm');
    await traffic.stop();

    const total = () => broker.offsets(TOPIC).reduce((n, p) => n + p.endOffset, 0);
    await waitFor(() => processed.size >= total() && fullyCommitted(broker, TOPIC, TOPIC), {
      timeoutMs: 60_000,
      message: 'every record of the storm processed and committed',
    });

    const lost = broker.allRecords(TOPIC).filter((r) => !processed.has(`${r.partition}:${Number(r.offset)}`));
    expect(lost.length).toBe(0);
    const overlaps: string[] = [];
    for (let p = 0; p < PARTITIONS; p++) {
      const own = calls.filter((c) => c.partition === p).sort((a, b) => a.start - b.start);
      for (let i = 1; i < own.length; i++) {
        const [prev, next] = [own[i - 1], own[i]];
        if (next.start < prev.end) overlaps.push(`p${p}: ${prev.member}@${prev.offset} [${prev.start.toFixed(2)}, ${prev.end.toFixed(2)}] overlaps ${next.member}@${next.offset} from ${next.start.toFixed(2)}`);
      }
    }
    expect(overlaps).toEqual([]);
    console.log(
      `rebalance-storm: ${joins} joins, ${leaves} leaves, ${total()} records, lost 0, duplicates ${calls.length - processed.size}, overlapping handler calls 0, ` +
        `handler calls between changes min ${Math.min(...perCycle)} median ${[...perCycle].sort((a, b) => a - b)[perCycle.length >> 1]}`,
    );
  });
});
