// A retry delay longer than the session timeout: the retry listener holds the record by pausing its
// partition, keeps heartbeating, and the group is not rebalanced; the main topic keeps flowing.
import type { INestApplicationContext } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import { KafkaListenerEndpointRegistry, KafkaTemplate, RetryTopicHeaders } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp } from '../../fixtures/kafka-app.js';
import { quietNest } from '../error-handling/e2e-support.js';
import { bigInteger, type Payments, paymentsListener } from './support.js';

/** kafkaTestOptions' session timeout. */
const SESSION_TIMEOUT_MS = 6_000;
const DELAY_MS = SESSION_TIMEOUT_MS + 1_500;

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext;
const p: Payments = { calls: [], dead: [] };

beforeAll(async () => {
  quietNest();
  broker = await createKafkaTestBroker({ topics: [{ name: 'payments' }] });
  const listener = paymentsListener(
    { attempts: 2, backoff: { delay: DELAY_MS } },
    { id: 'payments', topics: ['payments'], groupId: 'payments', fromBeginning: true },
    p,
    (payload, ctx) => {
      if ((payload as { id: string }).id === 'slow' && ctx.deliveryAttempt === 1) throw new Error('gateway timed out');
    },
    () => undefined,
  );
  app = await startApp(broker, { providers: [listener] });
});
afterAll(async () => {
  await app.close();
  await broker.stop();
});

it(`delivers a record from the retry topic no sooner than a delay longer than the session timeout, once, without a rebalance`, async () => {
  await waitForAssignment(app.get(KafkaListenerEndpointRegistry), 'payments-retry', 1);
  const generation = () => broker.describeGroup('payments-retry')?.generationId;
  const before = generation();
  expect(before).toBeGreaterThan(0);

  const template = app.get(KafkaTemplate);
  await template.send('payments', { id: 'slow' });
  await waitForCommit(broker, 'payments', 'payments', 0, 1);
  // While the slow payment waits, the main topic keeps flowing.
  await template.send('payments', { id: 'next' });
  await waitForCommit(broker, 'payments', 'payments', 0, 2);
  const retried = await waitFor(() => p.calls.find((c) => c.topic === 'payments-retry'), { timeoutMs: DELAY_MS + 10_000, message: 'the retry' });
  const failed = p.calls[0]!;
  await waitForCommit(broker, 'payments-retry', 'payments-retry', 0, 1);

  expect(p.calls.map((c) => [c.topic, (c.payload as { id: string }).id])).toEqual([
    ['payments', 'slow'],
    ['payments', 'next'],
    ['payments-retry', 'slow'],
  ]);
  expect(p.calls[1]!.at).toBeLessThan(retried.at);
  expect(retried.at - failed.at).toBeGreaterThanOrEqual(DELAY_MS);
  expect(retried.at).toBeGreaterThanOrEqual(bigInteger(retried.headers[RetryTopicHeaders.BACKOFF_TIMESTAMP]));
  expect(generation()).toBe(before);
  expect(broker.describeGroup('payments-retry')?.members).toHaveLength(1);
}, 40_000);
