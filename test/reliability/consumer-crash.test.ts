/**
 * Consumer crashes: two instances of a listener application run in child processes, in one group, while
 * a producer keeps sending until the last kill. Over several rounds one of them is SIGKILLed and started
 * again (but for the last victim: the survivor takes over and drains), at a moment steered round robin
 * over three states:
 *
 * - `handler`: in a handler. The instances are asked to hold the next handler that starts; the first to
 *   report one (partition, offset) is killed while it waits there, before its record is journaled.
 * - `commit`: between a handler and its commit. The instances are asked to hold the next offset commit
 *   (seen through a wrapper of the transport); the first to report one is killed before it is sent, so the
 *   records it covers are processed and not committed.
 * - `rebalance`: while the group is rebalancing (the broker says PreparingRebalance or CompletingRebalance:
 *   a restarted instance joins, or a killed one was dropped); a member of the group is killed then.
 *
 * Each kill is checked against its state (the held record not journaled; the held commit not applied and
 * its records journaled; the group rebalancing), tallied by state, and every state is hit in every mode.
 * The application journals each record durably before its handler returns.
 *
 * Checked at every kill: no offset below the committed one is missing from the journal (the committed
 * offset never passes an unprocessed record). Checked after the drain: every record in the log was
 * processed (none lost), and every record processed twice had been, at some kill or some new assignment,
 * processed and not yet committed (the "bound"). Run for each ack mode, with sync and async commits;
 * prints one line per mode with the kills by state and the duplicate counts.
 *
 * Longer runs: RELIABILITY_CRASH_ROUNDS (kills per mode), RELIABILITY_CRASH_RECORDS (cap on the records
 * sent per mode), RELIABILITY_SEED (replays the choices of a run: its pauses and victims).
 */
import { join } from 'node:path';
import { type EmbeddedKafkaBroker, type GroupDescription } from '@kafka-nest/broker';
import { AckMode } from '@kafka-nest/core';
import {
  ChildApp,
  type ChildMessage,
  committedButUnprocessed,
  committedByPartition,
  createKafkaTestBroker,
  fullyCommitted,
  processedPastCommit,
  RecordJournal,
  recordKey,
  summarizeJournal,
  waitFor,
} from '@kafka-nest/testing';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HoldRequest, HoldState, ListenerAppConfig } from '../fixtures/reliability/listener-app.js';
import { envInt, journalDir, LISTENER_APP, prng, steadyTraffic, testProducer } from './support.js';

const ROUNDS = envInt('RELIABILITY_CRASH_ROUNDS', 9);
const MAX_RECORDS = envInt('RELIABILITY_CRASH_RECORDS', 20_000);
const SEED = envInt('RELIABILITY_SEED', Date.now() % 2 ** 31);
const PARTITIONS = 3;
const INSTANCES = 2;
const STATES = ['handler', 'commit', 'rebalance'] as const;
type KillState = (typeof STATES)[number];
const REBALANCING = new Set(['PreparingRebalance', 'CompletingRebalance']);

let broker: EmbeddedKafkaBroker;
let producer: Producer;
const table: string[] = [];

beforeAll(async () => {
  // Short sessions so that a killed member leaves the group quickly.
  broker = await createKafkaTestBroker({ groupMinSessionTimeoutMs: 1_000 });
  producer = await testProducer(broker, 'crash-producer');
  console.log(`consumer-crash: seed ${SEED} (replay with RELIABILITY_SEED=${SEED}), ${ROUNDS} kills per mode, round robin over ${STATES.join(', ')}`);
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
  console.log(['consumer-crash: mode              commits  kills (handler/commit/rebalance)  sent  lost  duplicates  bound', ...table].join('\n'));
});

/** Partitions an instance said it holds in its last `assigned` message. */
function lastAssignment(app: ChildApp): number {
  const last = app.messages.filter((m) => m.type === 'assigned').at(-1) as { partitions?: { partitions: number[] }[] } | undefined;
  return (last?.partitions ?? []).reduce((n, tp) => n + tp.partitions.length, 0);
}

const modes = [AckMode.RECORD, AckMode.BATCH, AckMode.MANUAL, AckMode.MANUAL_IMMEDIATE].flatMap((ackMode) =>
  [true, false].map((syncCommits) => ({ ackMode, syncCommits })),
);

describe('SIGKILL of listener applications in a handler, before a commit, during a rebalance', () => {
  for (const { ackMode, syncCommits } of modes) it(`${ackMode}, ${syncCommits ? 'sync' : 'async'} commits: nothing lost, nothing committed unprocessed, duplicates only of records processed and not yet committed`, async () => {
    const topic = `crash-${ackMode.toLowerCase().replace('_', '-')}-${syncCommits ? 'sync' : 'async'}`;
    broker.createTopics({ name: topic, partitions: PARTITIONS });
    const dir = journalDir(topic);
    const random = prng(SEED + topic.length * 7919 + (syncCommits ? 1 : 0) + Object.values(AckMode).indexOf(ackMode) * 31);
    const journal = () => summarizeJournal(RecordJournal.read(dir), topic);

    /** Records processed but not committed at some kill or rebalance: the only ones allowed to be processed again. */
    const mayRepeat = new Set<string>();
    const snapshot = () => {
      for (const k of processedPastCommit(journal(), committedByPartition(broker, topic, topic))) mayRepeat.add(k);
    };
    const apps: ChildApp[] = [];
    const members: string[] = [];
    let spawned = 0;
    const spawn = (slot: number) => {
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
      apps[slot] = app;
      members[slot] = member;
    };
    /** Done entries of `partition:offset` in one member's own journal. */
    const doneBy = (member: string, partition: number, offset: number) =>
      RecordJournal.read(join(dir, `${member}.jsonl`)).filter((e) => e.partition === partition && e.offset === offset && (e.event ?? 'done') === 'done').length;

    /**
     * Asks every instance to hold at `at`, kills the first to report a hold there, and releases the others.
     * Checks that the kill met the state: nothing of the held handler journaled; the held commit not applied.
     */
    const killHeld = async (at: 'handler' | 'commit', round: number) => {
      const since = apps.map((a) => a.messages.length);
      const hold: HoldRequest = { type: 'hold', at };
      // A child hears the parent only once it listens (before it says 'ready'): one just restarted is asked then.
      let decided = false;
      for (const a of apps) void a.waitForMessage('ready', 60_000).then(() => decided || a.send(hold), () => undefined);
      const isHold = (a: ChildApp, i: number) => (m: ChildMessage) => m.type === 'state' && (m as HoldState).state === at && a.messages.indexOf(m) >= since[i];
      const { victim, held } = await Promise.any(
        apps.map((a, i) => a.waitForMessage(isHold(a, i), 60_000).then((m) => ({ victim: i, held: m as HoldState }))),
      ).catch((err: AggregateError) => {
        throw new Error(`round ${round}: no instance reached a ${at} within 60 s: ${err.errors.map((e: Error) => e.message).join('; ')}`);
      });
      const before = at === 'handler' ? doneBy(members[victim], held.partition, held.offset) : 0;
      decided = true;
      const exited = apps[victim].kill('SIGKILL');
      const release: HoldRequest = { type: 'hold', at: null };
      apps.forEach((a, i) => i !== victim && a.send(release));
      await exited;
      if (at === 'handler') {
        expect(doneBy(members[victim], held.partition, held.offset), `round ${round}: the held handler of ${held.partition}:${held.offset} finished`).toBe(before);
      } else {
        const committed = committedByPartition(broker, topic, topic).get(held.partition) ?? -1;
        expect(committed, `round ${round}: the held commit of ${held.partition}@${held.offset} was applied`).toBeLessThan(held.offset);
        expect(doneBy(members[victim], held.partition, held.offset - 1), `round ${round}: the held commit's last record processed by the victim`).toBeGreaterThan(0);
      }
      return victim;
    };

    /** Waits for the group to rebalance and kills one of its members then. */
    const killRebalancing = async (round: number) => {
      const group = await waitFor(
        () => {
          const g = broker.describeGroup(topic);
          return g && REBALANCING.has(g.state) ? g : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 2, message: `round ${round}: the group '${topic}' to rebalance` },
      );
      // Killed in the same turn as the state was read: the broker, in this process, cannot have moved on.
      const inGroup = new Set((group as GroupDescription).members.map((m) => m.clientId));
      const candidates = apps.map((_, i) => i).filter((i) => inGroup.has(members[i]) && apps[i].alive);
      const pool = candidates.length ? candidates : apps.map((_, i) => i);
      const victim = pool[Math.floor(random() * pool.length)];
      const state = broker.describeGroup(topic)!.state;
      const exited = apps[victim].kill('SIGKILL');
      expect(REBALANCING.has(state), `round ${round}: the group was ${state} at the kill`).toBe(true);
      await exited;
      return victim;
    };

    const kills: Record<KillState, number> = { handler: 0, commit: 0, rebalance: 0 };
    try {
      for (let i = 0; i < INSTANCES; i++) spawn(i);
      await Promise.all(apps.map((a) => a.waitForMessage('ready', 60_000)));
      // Sends until stopped after the last kill (MAX_RECORDS only caps a run that goes on too long), at a
      // rate the group keeps up with between kills, so the drain at the end is short.
      const traffic = steadyTraffic(
        (records) => producer.send({ topic, acks: -1, messages: records.map((r) => ({ partition: r.partition, value: r.value })) }),
        { partitions: PARTITIONS, batch: 3, max: MAX_RECORDS, pauseMs: 50 },
      );
      const startedAt = Date.now();
      const ackedAtKill: number[] = [];

      for (let round = 0; round < ROUNDS; round++) {
        const want = STATES[round % STATES.length];
        await new Promise((r) => setTimeout(r, random() * 200));
        const victim = want === 'rebalance' ? await killRebalancing(round) : await killHeld(want, round);
        kills[want]++;
        ackedAtKill.push(traffic.acknowledged);
        const committed = committedByPartition(broker, topic, topic);
        const now = journal();
        expect(committedButUnprocessed(now, committed), `round ${round}: committed offsets ${JSON.stringify([...committed])} pass unprocessed records`).toEqual([]);
        snapshot();
        // The last victim stays down: the survivor takes its partitions over and drains.
        if (round < ROUNDS - 1) spawn(victim);
      }
      expect(ackedAtKill.at(-1), 'the producer still sending at the last kill').toBeLessThan(MAX_RECORDS);
      expect(ackedAtKill.at(-1)!, 'records sent between the first and the last kill').toBeGreaterThan(ackedAtKill[0]);
      for (const state of STATES) expect(kills[state], `kills ${state}`).toBe(Math.floor(ROUNDS / STATES.length) + (STATES.indexOf(state) < ROUNDS % STATES.length ? 1 : 0));

      await traffic.stop();
      const drainFrom = Date.now();
      const total = () => broker.offsets(topic).reduce((n, p) => n + p.endOffset, 0);
      // Polled every 100 ms: each poll rereads every journal, in the process that runs the broker.
      await waitFor(() => fullyCommitted(broker, topic, topic) && journal().processed.size >= total(), {
        timeoutMs: 90_000,
        intervalMs: 100,
        message: `the group to process and commit all records of '${topic}'`,
      });
      await Promise.all(apps.map((a) => a.kill('SIGKILL')));
      const seconds = (ms: number) => (ms / 1000).toFixed(1);
      const took = `kills ${seconds(drainFrom - startedAt)} s, drain ${seconds(Date.now() - drainFrom)} s`;

      const final = journal();
      const lost = broker.allRecords(topic).filter((r) => !final.processed.has(recordKey(r.partition, Number(r.offset))));
      expect(lost.map((r) => recordKey(r.partition, Number(r.offset)))).toEqual([]);
      expect(committedButUnprocessed(final, committedByPartition(broker, topic, topic))).toEqual([]);
      const unexplained = [...final.duplicates.keys()].filter((k) => !mayRepeat.has(k));
      expect(unexplained, 'records processed twice that were committed before any kill or rebalance').toEqual([]);
      const tally = STATES.map((s) => kills[s]).join('/');
      table.push(
        `consumer-crash: ${ackMode.padEnd(16)}  ${(syncCommits ? 'sync' : 'async').padEnd(7)}  ${tally.padStart(32)}  ${String(total()).padStart(4)}  ${String(lost.length).padStart(4)}  ${String(final.duplicateCount).padStart(10)}  ${String(mayRepeat.size).padStart(5)}  (${took})`,
      );
    } finally {
      await Promise.all(apps.map((a) => a.kill('SIGKILL')));
    }
  });
});
