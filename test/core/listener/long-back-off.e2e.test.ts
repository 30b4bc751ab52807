/**
 * A back-off longer than a Node timer can wait (2^31-1 ms, about 24.8 days): Node would fire it after 1 ms
 * (with a TimeoutOverflowWarning), redelivering at once. The container waits in steps instead: the record
 * stays held, its partition paused, while the other partition flows.
 */
import { DefaultErrorHandler, FixedBackOff, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { committed, type Delivery, quietNest, recordListener, startApp } from '../error-handling/e2e-support.js';
import { brokerPerTest } from '../../fixtures/kafka-app.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');
const THIRTY_DAYS_MS = 30 * 24 * 3600 * 1000;

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }] });
const warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
beforeEach(() => void process.on('warning', onWarning));
afterEach(() => void process.off('warning', onWarning));

it('a 30-day back-off holds the record: no redelivery, no timer overflow, the other partition goes on', async () => {
  const deliveries: Delivery[] = [];
  const listener = recordListener(
    { id: 'orders', topics: ['orders'], groupId: 'orders', fromBeginning: true, errorHandler: ERROR_HANDLER },
    deliveries,
    (payload) => {
      if ((payload as { id: string }).id === 'held') throw new Error('supplier closed for the month');
    },
  );
  const handler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(new FixedBackOff(THIRTY_DAYS_MS, 1)) };
  env.app = await startApp(env.broker, [handler, listener]);
  await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'orders', 2);
  const template = env.app.get(KafkaTemplate);

  await template.send('orders', { id: 'held' }, { partition: 0 });
  await waitFor(() => deliveries.length === 1);
  // Two rounds on the other partition: fetches of both partitions went on meanwhile.
  await template.send('orders', { id: 'next-1' }, { partition: 1 });
  await waitForCommit(env.broker, 'orders', 'orders', 1, 1);
  await template.send('orders', { id: 'next-2' }, { partition: 1 });
  await waitForCommit(env.broker, 'orders', 'orders', 1, 2);

  expect(deliveries.map((d) => `${d.partition}@${d.offset}#${d.attempt}`)).toEqual(['0@0#1', '1@0#1', '1@1#1']);
  expect(committed(env.broker, 'orders', 'orders', 0)).toBe(-1);
  expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
});
