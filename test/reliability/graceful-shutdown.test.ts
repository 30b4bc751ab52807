/**
 * Graceful shutdown: a listener application in a child process (with `app.enableShutdownHooks()`) gets
 * SIGTERM while its handlers are busy. The handlers in flight finish, their offsets are committed, the
 * process exits by itself, and an instance started afterwards processes nothing a second time.
 */
import { join } from 'node:path';
import { type EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { AckMode } from '@kafka-nest/core';
import {
  ChildApp,
  committedButUnprocessed,
  committedByPartition,
  createKafkaTestBroker,
  fullyCommitted,
  processedPastCommit,
  RecordJournal,
  summarizeJournal,
  waitFor,
} from '@kafka-nest/testing';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ListenerAppConfig } from '../fixtures/reliability/listener-app.js';
import { envInt, journalDir, LISTENER_APP, testProducer } from './support.js';

const RECORDS = envInt('RELIABILITY_SHUTDOWN_RECORDS', 120);
const PARTITIONS = 2;

let broker: EmbeddedKafkaBroker;
let producer: Producer;

beforeAll(async () => {
  broker = await createKafkaTestBroker({ groupMinSessionTimeoutMs: 1_000 });
  producer = await testProducer(broker, 'shutdown-producer');
});

afterAll(async () => {
  await producer?.disconnect();
  await broker?.stop();
});

describe('SIGTERM while handlers are busy', () => {
  for (const ackMode of [AckMode.RECORD, AckMode.BATCH, AckMode.MANUAL, AckMode.MANUAL_IMMEDIATE]) {
    it(`${ackMode}: in-flight handlers finish, their offsets are committed, a restart reprocesses nothing`, async () => {
      const topic = `shutdown-${ackMode.toLowerCase().replace('_', '-')}`;
      broker.createTopics({ name: topic, partitions: PARTITIONS });
      const dir = journalDir(topic);
      const entries = () => RecordJournal.read(dir).filter((e) => e.topic === topic);
      const start = (member: string, handlerMs: [number, number]) => {
        const config: ListenerAppConfig = {
          brokers: broker.brokers,
          topic,
          groupId: topic,
          ackMode,
          syncCommits: true,
          journal: join(dir, `${member}.jsonl`),
          handlerMs,
          journalStarts: true,
          member,
          properties: { 'session.timeout.ms': 2_000, 'heartbeat.interval.ms': 300, 'fetch.max.wait.ms': 100 },
        };
        return ChildApp.start({ entry: LISTENER_APP, env: { RELIABILITY_APP: JSON.stringify(config) } });
      };
      await producer.send({ topic, acks: -1, messages: Array.from({ length: RECORDS }, (_, i) => ({ partition: i % PARTITIONS, value: `r${i}` })) });

      // Slow handlers, and SIGTERM only once the journal shows one started and not done: a handler is in
      // flight when the signal arrives (a fixed moment could fall between two records on a loaded machine).
      const first = start('first', [30, 50]);
      let second: ChildApp | undefined;
      try {
        const inFlight = () => {
          const seen = entries();
          const done = new Set(seen.filter((e) => e.event === 'done').map((e) => `${e.partition}:${e.offset}`));
          return done.size >= 10 && seen.some((e) => e.event === 'start' && !done.has(`${e.partition}:${e.offset}`));
        };
        await waitFor(inFlight, { timeoutMs: 60_000, intervalMs: 10, message: 'ten records processed and a handler in flight' });
        const signalledAt = performance.timeOrigin + performance.now();
        const exit = await first.stop('SIGTERM', 20_000);
        expect(exit.signal === 'SIGTERM' || exit.code === 0, `exit ${JSON.stringify(exit)}`).toBe(true);

        const seen = entries();
        const started = seen.filter((e) => e.event === 'start').map((e) => `${e.partition}:${e.offset}`);
        const done = new Set(seen.filter((e) => e.event === 'done').map((e) => `${e.partition}:${e.offset}`));
        expect(started.filter((k) => !done.has(k)), 'handlers cut short by the shutdown').toEqual([]);
        const startedAt = new Map(seen.filter((e) => e.event === 'start').map((e) => [`${e.partition}:${e.offset}`, e.at!]));
        const spanning = seen.filter((e) => e.event === 'done' && e.at! > signalledAt && startedAt.get(`${e.partition}:${e.offset}`)! < signalledAt);
        expect(spanning.length, 'handlers in flight when SIGTERM was sent, finished after it').toBeGreaterThan(0);
        const summary = summarizeJournal(seen, topic);
        const committed = committedByPartition(broker, topic, topic);
        expect(processedPastCommit(summary, committed), 'processed records left uncommitted').toEqual([]);
        expect(committedButUnprocessed(summary, committed)).toEqual([]);
        expect(summary.processed.size).toBeLessThan(RECORDS);

        second = start('second', [0, 2]);
        await waitFor(() => fullyCommitted(broker, topic, topic) && summarizeJournal(entries(), topic).processed.size === RECORDS, {
          timeoutMs: 60_000,
          message: `all ${RECORDS} records of '${topic}' processed and committed after the restart`,
        });
        const after = summarizeJournal(entries(), topic);
        expect([...after.duplicates.keys()], 'records processed again after the restart').toEqual([]);
        await second.stop('SIGTERM', 20_000);
      } finally {
        await Promise.all([first.kill('SIGKILL'), second?.kill('SIGKILL')]);
      }
    });
  }
});
