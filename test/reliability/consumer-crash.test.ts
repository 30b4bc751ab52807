/**
 * Consumer crashes: two instances of a listener application run in child processes, in one group, while
 * a producer keeps sending. Over several rounds one of them is SIGKILLed at a random moment — in a
 * handler, between a handler and its commit, while it or the other instance is joining the group — and
 * started again. The application journals each record durably before its handler returns.
 *
 * Checked at every kill: no offset below the committed one is missing from the journal (the committed
 * offset never passes an unprocessed record). Checked after the drain: every record in the log was
 * processed (none lost), and every record processed twice was, at a kill or a rebalance, processed but
 * not yet committed (duplicates only for records in flight). Run for each ack mode, with sync and async
 * commits; prints one line per mode with the duplicate counts.
 *
 * Longer runs: RELIABILITY_CRASH_ROUNDS (kills per mode), RELIABILITY_CRASH_RECORDS (records per mode),
 * RELIABILITY_SEED (replays a run).
 */
import { join } from 'node:path';
import { type EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { AckMode } from '@kafka-nest/core';
import {
  ChildApp,
  committedButUnprocessed,
  createKafkaTestBroker,
  processedPastCommit,
  RecordJournal,
  recordKey,
  summarizeJournal,
  waitFor,
} from '@kafka-nest/testing';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListenerAppConfig } from '../fixtures/reliability/listener-app.js';
import { committedMap, envInt, fullyCommitted, journalDir, LISTENER_APP, prng, steadyTraffic, testProducer } from './support.js';

const ROUNDS = envInt('RELIABILITY_CRASH_ROUNDS', 10);
const RECORDS = envInt('RELIABILITY_CRASH_RECORDS', 1_500);
const SEED = envInt('RELIABILITY_SEED', Date.now() % 2 ** 31);
const PARTITIONS = 3;
const INSTANCES = 2;

let broker: EmbeddedKafkaBroker;
let producer: Producer;
const table: string[] = [];

beforeAll(async () => {
  // Short sessions so that a killed member leaves the group quickly.
  broker = await createKafkaTestBroker({ groupMinSessionTimeoutMs: 1_000 });
  producer = await testProducer(broker, 'crash-producer');
  console.log(`consumer-crash: seed ${SEED} (replay with RELIABILITY_SEED=${SEED}), ${ROUNDS} kills per mode`);
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
  console.log(['consumer-crash: mode              commits  kills  sent  lost  duplicates  bound', ...table].join('\n'));
});

/** Partitions an instance said it holds in its last `assigned` message. */
function lastAssignment(app: ChildApp): number {
  const last = app.messages.filter((m) => m.type === 'assigned').at(-1) as { partitions?: { partitions: number[] }[] } | undefined;
  return (last?.partitions ?? []).reduce((n, tp) => n + tp.partitions.length, 0);
}

const modes = [AckMode.RECORD, AckMode.BATCH, AckMode.MANUAL, AckMode.MANUAL_IMMEDIATE].flatMap((ackMode) =>
  [true, false].map((syncCommits) => ({ ackMode, syncCommits })),
);

describe('SIGKILL of listener applications at random moments', () => {
  for (const { ackMode, syncCommits } of modes) it(`${ackMode}, ${syncCommits ? 'sync' : 'async'} commits: nothing lost, nothing committed unprocessed, duplicates only in flight`, async () => {
    const topic = `crash-${ackMode.toLowerCase().replace('_', '-')}-${syncCommits ? 'sync' : 'async'}`;
    broker.createTopics({ name: topic, partitions: PARTITIONS });
    const dir = journalDir(topic);
    const random = prng(SEED + topic.length * 7919 + (syncCommits ? 1 : 0) + Object.values(AckMode).indexOf(ackMode) * 31);
    const journal = () => summarizeJournal(RecordJournal.read(dir), topic);

    /** Records processed but not committed at some kill or rebalance: the only ones allowed to be processed again. */
    const mayRepeat = new Set<string>();
    const snapshot = () => {
      for (const k of processedPastCommit(journal(), committedMap(broker, topic, topic))) mayRepeat.add(k);
    };
    const apps: ChildApp[] = [];
    let spawned = 0;
    const spawn = () => {
      const member = `${topic}-m${spawned++}`;
      const config: ListenerAppConfig = {
        brokers: broker.brokers,
        topic,
        groupId: topic,
        ackMode,
        syncCommits,
        journal: join(dir, `${member}.jsonl`),
        handlerMs: [0, 4],
        member,
        properties: { 'session.timeout.ms': 2_000, 'heartbeat.interval.ms': 300, 'max.poll.interval.ms': 4_000, 'fetch.max.wait.ms': 100 },
      };
      const app = ChildApp.start({ entry: LISTENER_APP, env: { RELIABILITY_APP: JSON.stringify(config) } });
      // Every assignment a member reports ends a rebalance; what was processed and not committed then may come again.
      const onAssigned = (seen: number) =>
        void app
          .waitForMessage((m) => m.type === 'assigned' && app.messages.filter((x) => x.type === 'assigned').length > seen, 120_000)
          .then(() => {
            snapshot();
            onAssigned(seen + 1);
          }, () => undefined);
      onAssigned(0);
      return app;
    };

    try {
      for (let i = 0; i < INSTANCES; i++) apps.push(spawn());
      await Promise.all(apps.map((a) => a.waitForMessage('ready', 60_000)));
      const traffic = steadyTraffic(
        (records) => producer.send({ topic, acks: -1, messages: records.map((r) => ({ partition: r.partition, value: r.value })) }),
        { partitions: PARTITIONS, batch: 4, max: RECORDS, pauseMs: 10 },
      );

      for (let round = 0; round < ROUNDS; round++) {
        // A random moment: often while the instance started in the previous round is still joining.
        await new Promise((r) => setTimeout(r, random() * 1_500));
        // Mostly an instance holding partitions (so in a handler or before a commit), sometimes one still joining.
        const holding = apps.map((a, i) => (lastAssignment(a) > 0 ? i : -1)).filter((i) => i >= 0);
        const victim = holding.length && random() < 0.75 ? holding[Math.floor(random() * holding.length)] : Math.floor(random() * apps.length);
        await apps[victim].kill('SIGKILL');
        const committed = committedMap(broker, topic, topic);
        const now = journal();
        expect(committedButUnprocessed(now, committed), `round ${round}: committed offsets ${JSON.stringify([...committed])} pass unprocessed records`).toEqual([]);
        snapshot();
        apps[victim] = spawn();
      }

      await traffic.stop();
      const total = () => broker.offsets(topic).reduce((n, p) => n + p.endOffset, 0);
      await waitFor(() => journal().processed.size >= total() && fullyCommitted(broker, topic, topic), {
        timeoutMs: 90_000,
        message: `the group to process and commit all records of '${topic}'`,
      });
      await Promise.all(apps.map((a) => a.kill('SIGKILL')));

      const final = journal();
      const lost = broker.allRecords(topic).filter((r) => !final.processed.has(recordKey(r.partition, Number(r.offset))));
      expect(lost.map((r) => recordKey(r.partition, Number(r.offset)))).toEqual([]);
      expect(committedButUnprocessed(final, committedMap(broker, topic, topic))).toEqual([]);
      const unexplained = [...final.duplicates.keys()].filter((k) => !mayRepeat.has(k));
      expect(unexplained, 'records processed twice that were committed before any kill or rebalance').toEqual([]);
      table.push(
        `consumer-crash: ${ackMode.padEnd(16)}  ${(syncCommits ? 'sync' : 'async').padEnd(7)}  ${String(ROUNDS).padStart(5)}  ${String(total()).padStart(4)}  ${String(lost.length).padStart(4)}  ${String(final.duplicateCount).padStart(10)}  ${String(mayRepeat.size).padStart(5)}`,
      );
    } finally {
      await Promise.all(apps.map((a) => a.kill('SIGKILL')));
    }
  });
});
