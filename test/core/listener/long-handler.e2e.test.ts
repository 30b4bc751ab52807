/**
 * A handler running longer than `session.timeout.ms`, with two members of the group on one partition.
 * kafkajs heartbeats only between records, so the container heartbeats while the handler runs: no
 * rebalance, and the record is not handed to the other member meanwhile. Past `max.poll.interval.ms` it
 * stops, and the member is removed as a Java consumer leaves the group.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable } from '@nestjs/common';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { expect, it } from 'vitest';
import { brokerPerTest, CapturingLogger, startApp } from '../../fixtures/kafka-app.js';

const SESSION_TIMEOUT_MS = 1_000;

const env = brokerPerTest({ topics: [{ name: 'slow', partitions: 1 }], groupMinSessionTimeoutMs: 500 });

/** A listener of two consumers on `slow` whose handler takes `handleMs`; records each call started and ended, and the most at once. */
function slowListener(handleMs: number, maxPollIntervalMs: number) {
  const starts: number[] = [];
  const calls: { offset: number; start: number; end: number }[] = [];
  const state = { inFlight: 0, maxInFlight: 0 };
  @Injectable()
  class Slow {
    @KafkaListener({
      id: 'slow',
      topics: ['slow'],
      concurrency: 2,
      fromBeginning: true,
      properties: { 'session.timeout.ms': SESSION_TIMEOUT_MS, 'heartbeat.interval.ms': 100, 'max.poll.interval.ms': maxPollIntervalMs },
    })
    async on(@Ctx() ctx: KafkaContext) {
      state.maxInFlight = Math.max(state.maxInFlight, ++state.inFlight);
      starts.push(ctx.offset);
      const start = performance.now();
      // The scenario itself: a handler busy for this long (a slow call downstream).
      await sleep(handleMs);
      calls.push({ offset: ctx.offset, start, end: performance.now() });
      state.inFlight--;
    }
  }
  return { Slow, starts, calls, state };
}

async function stableGroup() {
  return waitFor(() => {
    const group = env.broker.describeGroup('slow');
    return group?.state === 'Stable' && group.members.length === 2 ? group : undefined;
  });
}

it('a handler running 2.5 session timeouts keeps its partition: no rebalance, the record handled once', async () => {
  const { Slow, calls, state } = slowListener(2.5 * SESSION_TIMEOUT_MS, 30_000);
  env.app = await startApp(env.broker, { providers: [Slow] });
  await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'slow', 1);
  const before = await stableGroup();

  await env.app.get(KafkaTemplate).send('slow', { n: 1 });
  await waitForCommit(env.broker, 'slow', 'slow', 0, 1, 15_000);

  expect(calls.map((c) => c.offset)).toEqual([0]);
  expect(calls[0]!.end - calls[0]!.start).toBeGreaterThanOrEqual(2.5 * SESSION_TIMEOUT_MS - 1);
  expect(state.maxInFlight).toBe(1);
  const after = env.broker.describeGroup('slow')!;
  expect(after.state).toBe('Stable');
  expect(after.generationId).toBe(before.generationId);
  expect(after.members.map((m) => m.memberId).sort()).toEqual(before.members.map((m) => m.memberId).sort());
});

it('past max.poll.interval.ms the heartbeats stop: the member is removed and the record goes to the other one', async () => {
  const logger = new CapturingLogger();
  const { Slow, starts } = slowListener(4 * SESSION_TIMEOUT_MS, 1_500);
  env.app = await startApp(env.broker, { providers: [Slow], logger });
  await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'slow', 1);
  const before = await stableGroup();

  await env.app.get(KafkaTemplate).send('slow', { n: 1 });
  await waitFor(() => env.broker.describeGroup('slow')!.generationId > before.generationId);
  expect(logger.lines('warn').some((l) => l.includes('longer than max.poll.interval.ms (1500)'))).toBe(true);
  // The other member was given the partition and starts on the record again, as with a Java consumer (and
  // is removed in its turn: a record slower than max.poll.interval.ms is never committed).
  await waitFor(() => starts.length >= 2 || undefined, { timeoutMs: 15_000 });
  expect(starts.slice(0, 2)).toEqual([0, 0]);
});
