/**
 * Retries without a delay (`FixedBackOff(0, n)`, the default's shape) of a listener that throws at once:
 * each delivery again first lets timers and I/O run, so the application stays responsive, `stop()` ends the
 * retries, and heartbeats go on however long they last.
 */
import { Injectable } from '@nestjs/common';
import {
  Ctx,
  DefaultErrorHandler,
  FixedBackOff,
  KafkaContext,
  KafkaListener,
  KafkaListenerEndpointRegistry,
  KafkaTemplate,
} from '@kafka-nest/core';
import { waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, expect, it } from 'vitest';
import { quietNest } from '../error-handling/e2e-support.js';
import { brokerPerTest, startApp } from '../../fixtures/kafka-app.js';

const ERROR_HANDLER = Symbol('FAILING_ERROR_HANDLER');
const SESSION_TIMEOUT_MS = 1_000;
/**
 * The listener succeeds after this many calls: without a turn of the event loop between deliveries nothing
 * else (not even the test's timers, nor the broker) would run until then, and this ends it.
 */
const CAP = 1_000_000;

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'failing', partitions: 1 }], groupMinSessionTimeoutMs: 500 });

/**
 * A listener on `failing` that throws synchronously (a validation error) until `release.done` or CAP calls;
 * `short`: a session timeout of 1 s and heartbeats every 100 ms, else the test defaults (6 s, 1 s).
 */
function failingListener(release: { done: boolean }, batch: boolean, short: boolean) {
  const calls = { count: 0, first: 0 };
  const options = {
    id: 'failing',
    topics: ['failing'],
    concurrency: 2,
    fromBeginning: true,
    batch,
    errorHandler: ERROR_HANDLER,
    properties: short ? { 'session.timeout.ms': SESSION_TIMEOUT_MS, 'heartbeat.interval.ms': 100 } : {},
  };
  @Injectable()
  class Failing {
    @KafkaListener(options)
    on(@Ctx() _ctx: KafkaContext) {
      if (calls.count++ === 0) calls.first = performance.now();
      if (calls.count < CAP && !release.done) throw new Error('invalid order');
    }
  }
  const handler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(new FixedBackOff(0, FixedBackOff.UNLIMITED_ATTEMPTS)) };
  return { providers: [Failing, handler], calls };
}

async function stableGroup() {
  return waitFor(() => {
    const group = env.broker.describeGroup('failing');
    return group?.state === 'Stable' && group.members.length === 2 ? group : undefined;
  });
}

it('timers run between immediate retries, and stop() ends them', async () => {
  const { providers, calls } = failingListener({ done: false }, false, false);
  env.app = await startApp(env.broker, { providers });
  const registry = env.app.get(KafkaListenerEndpointRegistry);
  await waitForAssignment(registry, 'failing', 1);
  // The longest the event loop went without running this 10 ms timer.
  let last = performance.now();
  let longestGap = 0;
  const ticks = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
  }, 10);

  try {
    await env.app.get(KafkaTemplate).send('failing', { id: 1 });
    await waitFor(() => calls.count || undefined);
    // Longer than the heartbeat interval (1 s), the only other pause the loop would make.
    await waitFor(() => performance.now() - calls.first >= 1_500);
    await registry.stop('failing');
  } finally {
    clearInterval(ticks);
  }
  const atStop = calls.count;
  // Without a turn of the event loop between retries the gap would be the whole 1.5 s (or the 1 s heartbeat).
  expect(longestGap).toBeLessThan(500);
  expect(atStop).toBeLessThan(CAP);
  expect(registry.isRunning('failing')).toBe(false);
  await waitFor(() => env.broker.describeGroup('failing')?.members.length === 0);
  expect(calls.count).toBe(atStop);
});

for (const batch of [false, true]) {
  it(`immediate retries for 2.5 session timeouts keep the member in the group (${batch ? 'batch' : 'record'} listener)`, async () => {
    const release = { done: false };
    const { providers, calls } = failingListener(release, batch, true);
    env.app = await startApp(env.broker, { providers });
    await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'failing', 1);
    const before = await stableGroup();

    await env.app.get(KafkaTemplate).send('failing', { id: 1 });
    await waitFor(() => calls.count || undefined);
    // The scenario: a retry storm lasting longer than the session timeout.
    await waitFor(() => performance.now() - calls.first >= 2.5 * SESSION_TIMEOUT_MS, { timeoutMs: 20_000 });
    const during = env.broker.describeGroup('failing')!;
    const stormed = calls.count;
    release.done = true;
    await waitForCommit(env.broker, 'failing', 'failing', 0, 1);

    expect(stormed).toBeLessThan(CAP);
    expect(during.generationId).toBe(before.generationId);
    expect(during.members.map((m) => m.memberId).sort()).toEqual(before.members.map((m) => m.memberId).sort());
  });
}
