/**
 * Exactly once under SIGKILL: two instances of a transactional consume-transform-produce application
 * (test/fixtures/reliability/transactional-app.ts) run in child processes, in one group, while a producer
 * keeps feeding the input topic. Over several rounds one instance is SIGKILLed, preferably while it holds an
 * open transaction (the broker lists it Ongoing at the moment of the kill), and started again. The survivor
 * or the restarted instance takes the partitions over; its producer for each partition has the same
 * transactional id, which fences the dead one and aborts what it left open.
 *
 * After the traffic stops and the output is drained, the output topic read `read_committed` must hold one
 * record for every input record (by the input's partition:offset, carried in a header): none lost, none
 * twice. The uncommitted output (aborted attempts) shows the kills did interrupt transactions.
 *
 * Longer runs: RELIABILITY_EOS_ROUNDS (kills), RELIABILITY_EOS_RECORDS (cap on the records sent),
 * RELIABILITY_SEED (replays the pauses and victims).
 */
import { type EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { ChildApp, createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import type { Producer } from 'kafkajs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TransactionalAppConfig } from '../fixtures/reliability/transactional-app.js';
import { envInt, prng, steadyTraffic, testProducer } from './support.js';

const ROUNDS = envInt('RELIABILITY_EOS_ROUNDS', 8);
const MAX_RECORDS = envInt('RELIABILITY_EOS_RECORDS', 20_000);
const SEED = envInt('RELIABILITY_SEED', Date.now() % 2 ** 31);
const PARTITIONS = 3;
const INSTANCES = 2;
const APP = fileURLToPath(new URL('../fixtures/reliability/transactional-app.ts', import.meta.url));
const INPUT = 'eos-in';
const OUTPUT = 'eos-out';
const GROUP = 'eos-group';

let broker: EmbeddedKafkaBroker;
let producer: Producer;

beforeAll(async () => {
  broker = await createKafkaTestBroker({ groupMinSessionTimeoutMs: 1_000, topics: [{ name: INPUT, partitions: PARTITIONS }, { name: OUTPUT, partitions: PARTITIONS }] });
  producer = await testProducer(broker, 'eos-producer');
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
});

/** Partitions an instance said it holds in its last `assigned` message. */
function assignedTo(app: ChildApp): number[] {
  const last = app.messages.filter((m) => m.type === 'assigned').at(-1) as { partitions?: { partitions: number[] }[] } | undefined;
  return (last?.partitions ?? []).flatMap((tp) => tp.partitions);
}

it('SIGKILL rounds on a transactional consume-transform-produce app: read_committed output holds every input exactly once', async () => {
  const random = prng(SEED);
  const apps: ChildApp[] = [];
  let spawned = 0;
  const spawn = (slot: number) => {
    const config: TransactionalAppConfig = {
      brokers: broker.brokers,
      input: INPUT,
      output: OUTPUT,
      groupId: GROUP,
      member: `eos-m${spawned++}`,
      handlerMs: [2, 15],
      transactionTimeoutMs: 30_000,
      properties: { 'session.timeout.ms': 2_000, 'heartbeat.interval.ms': 300, 'max.poll.interval.ms': 4_000, 'fetch.max.wait.ms': 100 },
    };
    apps[slot] = ChildApp.start({ entry: APP, env: { RELIABILITY_APP: JSON.stringify(config) } });
  };
  /** Partitions whose transaction (the listener's producer for it) is open on the broker now. */
  const openTransactions = () =>
    new Set(
      broker
        .transactions()
        .filter((t) => t.state === 'Ongoing' && t.transactionalId.startsWith(`eos-app-${GROUP}.${INPUT}.`))
        .map((t) => Number(t.transactionalId.split('.').at(-1))),
    );

  let kills = 0;
  let midTransaction = 0;
  let traffic: ReturnType<typeof steadyTraffic> | undefined;
  try {
    for (let i = 0; i < INSTANCES; i++) spawn(i);
    await Promise.all(apps.map((a) => a.waitForMessage('ready', 60_000)));
    traffic = steadyTraffic(
      (records) => producer.send({ topic: INPUT, acks: -1, messages: records.map((r) => ({ partition: r.partition, value: r.value })) }),
      { partitions: PARTITIONS, batch: 3, max: MAX_RECORDS, pauseMs: 30 },
    );

    for (let round = 0; round < ROUNDS; round++) {
      // Let the group settle and process for a while, then kill an instance holding an open transaction if one does.
      await waitFor(() => apps.every((a) => assignedTo(a).length > 0), { timeoutMs: 60_000, message: `round ${round}: both instances assigned` });
      await new Promise((r) => setTimeout(r, 300 + random() * 700));
      const victim = await waitFor(
        () => {
          const open = openTransactions();
          const holding = apps.map((a, i) => (assignedTo(a).some((p) => open.has(p)) ? i : -1)).filter((i) => i >= 0);
          if (holding.length === 0) return undefined;
          const chosen = holding[Math.floor(random() * holding.length)];
          // killed in the same turn as the broker state was read: the transaction is open at the kill
          void apps[chosen].kill('SIGKILL');
          return { index: chosen };
        },
        { timeoutMs: 10_000, intervalMs: 1, message: `round ${round}: an instance with an open transaction` },
      ).catch(() => {
        const chosen = Math.floor(random() * apps.length);
        void apps[chosen].kill('SIGKILL');
        return { index: chosen, idle: true };
      });
      kills++;
      if (!('idle' in victim)) midTransaction++;
      await apps[victim.index].exited;
      spawn(victim.index);
      await apps[victim.index].waitForMessage('ready', 60_000);
    }

    await traffic.stop();
    const inputs = broker.allRecords(INPUT).length;
    // Drain: every input's offset committed (in a transaction) and no transaction open.
    await waitFor(
      () =>
        broker.offsets(INPUT).every((p) => broker.committedOffsets(GROUP).find((c) => c.topic === INPUT && c.partition === p.partition)?.offset === p.endOffset) &&
        openTransactions().size === 0,
      { timeoutMs: 120_000, message: 'the output to drain (all input offsets committed, no transaction open)' },
    );

    const expected = new Set(broker.allRecords(INPUT).map((r) => `${r.partition}:${r.offset}`));
    const seen = new Map<string, number>();
    for (let p = 0; p < PARTITIONS; p++) {
      for (const r of broker.committedRecords(OUTPUT, p)) {
        const from = r.headers.find((h) => h.key === 'from')!.value!.toString();
        seen.set(from, (seen.get(from) ?? 0) + 1);
      }
    }
    const lost = [...expected].filter((k) => !seen.has(k));
    const duplicates = [...seen.values()].reduce((n, c) => n + c - 1, 0);
    const aborted = broker.allRecords(OUTPUT).length - [...seen.values()].reduce((n, c) => n + c, 0);
    console.log(
      `exactly-once: seed ${SEED}; kills ${kills} (${midTransaction} with a transaction open); input records ${inputs}; ` +
        `output read_committed ${[...seen.values()].reduce((n, c) => n + c, 0)}; lost ${lost.length}; duplicates ${duplicates}; aborted output records ${aborted}`,
    );
    expect(kills).toBe(ROUNDS);
    expect(midTransaction, 'most kills interrupt an open transaction').toBeGreaterThanOrEqual(Math.ceil(ROUNDS / 2));
    expect(inputs).toBeGreaterThan(100);
    expect(lost, 'input records with no committed output').toEqual([]);
    expect(duplicates, 'input records with more than one committed output').toBe(0);
    expect([...seen.keys()].every((k) => expected.has(k))).toBe(true);
  } finally {
    await traffic?.stop();
    await Promise.all(apps.map((a) => (a.alive ? a.kill('SIGKILL') : undefined)));
  }
}, 600_000);
