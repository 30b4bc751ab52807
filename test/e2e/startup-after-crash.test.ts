// Issue 11 item 4: at start-up, a group that does not admit a consumer yet (its SyncGroup times out, as it
// does while the members of a crashed instance still hold their places) is waited for, with a log line
// saying so, up to 'startupTimeoutMs'; only then does start-up fail, with an error naming the real cause.
import { Injectable } from '@nestjs/common';
import { ApiKey, ErrorCode } from '@kafka-nest/broker';
import { KafkaListener, KafkaListenerEndpointRegistry, KafkaNestError, KafkaTemplate } from '@kafka-nest/core';
import { waitForCommit } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, CapturingLogger, compileApp, startApp } from '../fixtures/kafka-app.js';

// A 1 s session (the broker allows it here) keeps the members of failed attempts from holding the group long.
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }], groupMinSessionTimeoutMs: 1_000 });

// kafkajs gives up on a join after one retry, and on a request after 500 ms: the faults below outlast it.
const client = () => ({ brokers: env.broker.brokers, retry: { retries: 1, initialRetryTime: 50, maxRetryTime: 100 } });
const properties = { 'request.timeout.ms': 500, 'session.timeout.ms': 1_000, 'heartbeat.interval.ms': 300 };

function ordersListener(received: unknown[]) {
  @Injectable()
  class Orders {
    @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders', concurrency: 2, fromBeginning: true, properties })
    on(payload: unknown) {
      received.push(payload);
    }
  }
  return Orders;
}

describe('start-up while the group does not admit the consumer yet', () => {
  it('retries SyncGroup timeouts until the group admits it, saying what it waits for, then consumes', async () => {
    // Three SyncGroups (more than kafkajs's own retries for one consumer) go unanswered past the request timeout.
    const fault = env.broker.injectFault({ apiKey: ApiKey.SyncGroup, delayMs: 1_500, count: 3 });
    const logger = new CapturingLogger();
    const received: unknown[] = [];
    env.app = await startApp(env.broker, { providers: [ordersListener(received)], options: { client: client() }, logger });
    await fault.exhausted;

    const waiting = logger.lines('warn').filter((l) => l.includes('is waiting for group'));
    expect(waiting.length).toBeGreaterThanOrEqual(1);
    expect(waiting[0]).toMatch(
      /^consumer [01] of listener 'orders' is waiting for group 'orders' to admit it \(SyncGroup timed out\); after a crash, the previous instance's members keep their places until their session times out \(session\.timeout\.ms 1000\); retrying for up to 60000 ms \('startupTimeoutMs'\)$/,
    );
    expect(env.app.get(KafkaListenerEndpointRegistry).isRunning('orders')).toBe(true);
    await env.app.get(KafkaTemplate).send('orders', { id: 1 }, { partition: 1 });
    await waitForCommit(env.broker, 'orders', 'orders', 1, 1);
    expect(received).toEqual([{ id: 1 }]);
  });

  it("fails start-up after 'startupTimeoutMs' with an error naming the group and what the consumer met", async () => {
    env.broker.injectFault({ apiKey: ApiKey.SyncGroup, errorCode: ErrorCode.REBALANCE_IN_PROGRESS, count: 10_000 });
    const app = await compileApp(env.broker, { providers: [ordersListener([])], options: { client: client(), startupTimeoutMs: 1_500 } });
    const began = Date.now();
    const err = await app.init().then(
      () => undefined,
      (e: unknown) => e,
    );
    const took = Date.now() - began;
    await app.close();
    env.broker.clearFaults();
    expect(took).toBeLessThan(1_500 + 1_000);
    expect(err).toBeInstanceOf(KafkaNestError);
    expect((err as Error).message).toMatch(
      /^listener 'orders' \(Orders\.on\) could not start: group 'orders' did not admit its consumer within \d+ ms \(last attempt: REBALANCE_IN_PROGRESS\)\. Members of a previous run that did not leave \(a crashed instance\) keep their places until their session times out \(session\.timeout\.ms, 1000 here\).*raise 'startupTimeoutMs'/,
    );
    expect((err as Error).message).not.toContain("check 'client.brokers'");
  });
});
