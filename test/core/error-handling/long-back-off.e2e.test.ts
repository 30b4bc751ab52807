/**
 * Issue 4, end to end: a back-off three times the session timeout, with two members in the group. The
 * container pauses the partition instead of sleeping in the handler, so heartbeats go on: no rebalance, and
 * the record is not delivered to the other member.
 */
import { DefaultErrorHandler, FixedBackOff, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { type Delivery, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');
const SESSION_TIMEOUT_MS = 1_000;

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }], groupMinSessionTimeoutMs: 500 });

it('backs off for three session timeouts with two group members: no rebalance, no duplicate delivery', async () => {
  const deliveries: Delivery[] = [];
  const listener = recordListener(
    {
      id: 'orders',
      topics: ['orders'],
      groupId: 'orders-service',
      concurrency: 2,
      fromBeginning: true,
      errorHandler: ERROR_HANDLER,
      properties: { 'session.timeout.ms': SESSION_TIMEOUT_MS, 'heartbeat.interval.ms': 100 },
    },
    deliveries,
    (payload, ctx) => {
      if ((payload as { id: string }).id === 'slow' && ctx.deliveryAttempt === 1) throw new Error('inventory locked');
    },
  );
  const handler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(new FixedBackOff(3 * SESSION_TIMEOUT_MS, 1)) };
  env.app = await startApp(env.broker, [handler, listener]);
  await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'orders', 2);
  const before = await waitFor(() => {
    const group = env.broker.describeGroup('orders-service');
    return group?.state === 'Stable' && group.members.length === 2 ? group : undefined;
  });
  const template = env.app.get(KafkaTemplate);

  await template.send('orders', { id: 'slow' }, { partition: 0 });
  await waitFor(() => deliveries.some((d) => d.attempt === 1 && d.partition === 0));
  await template.send('orders', { id: 'meanwhile' }, { partition: 1 });
  await waitForCommit(env.broker, 'orders-service', 'orders', 1, 1);
  await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1, 15_000);

  const slow = deliveries.filter((d) => (d.payload as { id: string }).id === 'slow');
  expect(slow.map((d) => d.attempt)).toEqual([1, 2]);
  expect(slow[1]!.at - slow[0]!.at).toBeGreaterThanOrEqual(3 * SESSION_TIMEOUT_MS);
  // The other partition was served during the back-off.
  const meanwhile = deliveries.find((d) => (d.payload as { id: string }).id === 'meanwhile')!;
  expect(meanwhile.at).toBeLessThan(slow[1]!.at);
  const after = env.broker.describeGroup('orders-service')!;
  expect(after.state).toBe('Stable');
  expect(after.generationId).toBe(before.generationId);
  expect(after.members.map((m) => m.memberId).sort()).toEqual(before.members.map((m) => m.memberId).sort());
});
