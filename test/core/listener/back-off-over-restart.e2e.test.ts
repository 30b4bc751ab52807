/**
 * A back-off ending while kafkajs restarts a crashed consumer. After a retriable crash kafkajs disconnects
 * the consumer and starts it again after a delay; meanwhile it has no group, and the back-off's resume
 * must not throw (from a timer that would end the process). The restarted consumer joins again and the
 * record is delivered again from the committed offset; if it is back before the back-off has ended, the
 * record still waits for it.
 */
import { ApiKey, ErrorCode } from '@kafka-nest/broker';
import { DefaultErrorHandler, FixedBackOff, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, expect, it } from 'vitest';
import { type Delivery, quietNest, recordListener, startApp } from '../error-handling/e2e-support.js';
import { brokerPerTest } from '../../fixtures/kafka-app.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');
const BACK_OFF_MS = 1_500;

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }] });

it('a back-off ending while kafkajs restarts the crashed consumer: no throw, the record comes again after the restart', async () => {
  const deliveries: Delivery[] = [];
  const uncaught: unknown[] = [];
  const onUncaught = (err: unknown) => uncaught.push(err);
  process.on('uncaughtException', onUncaught);
  let backOffEnds = Infinity;
  const crashes: number[] = [];
  try {
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (_payload, ctx) => {
        if (ctx.deliveryAttempt === 1) {
          backOffEnds = performance.now() + BACK_OFF_MS;
          throw new Error('stock service down');
        }
      },
    );
    const handler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(new FixedBackOff(BACK_OFF_MS, 1)) };
    // Quick client retries, and a restart that waits until the back-off has ended: the consumer has no
    // group when it does.
    const retry = {
      initialRetryTime: 50,
      maxRetryTime: 100,
      restartOnFailure: async () => {
        crashes.push(performance.now());
        await waitFor(() => performance.now() >= backOffEnds + 200);
        return true;
      },
    };
    env.app = await startApp(env.broker, [handler, listener], { client: { brokers: env.broker.brokers, retry } });
    const registry = env.app.get(KafkaListenerEndpointRegistry);
    await waitForAssignment(registry, 'orders', 2);

    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' }, { partition: 0 });
    await waitFor(() => deliveries.length === 1);
    // The back-off is pending: fetches (of the other partition) fail with a retriable error until kafkajs
    // gives up (five retries) and crashes the consumer, to restart it.
    env.broker.injectFault({ apiKey: ApiKey.Fetch, errorCode: ErrorCode.CORRUPT_MESSAGE, count: 6 });
    await waitFor(() => crashes.length > 0);
    expect(crashes[0]!).toBeLessThan(backOffEnds);

    await waitForCommit(env.broker, 'orders', 'orders', 0, 1, 15_000);
    expect(uncaught).toEqual([]);
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
});

it('a consumer restarted before the back-off ends still holds the record until it does', async () => {
  const deliveries: Delivery[] = [];
  const crashes: number[] = [];
  const listener = recordListener(
    { id: 'orders', topics: ['orders'], groupId: 'orders', fromBeginning: true, errorHandler: ERROR_HANDLER },
    deliveries,
    (_payload, ctx) => {
      if (ctx.deliveryAttempt === 1) throw new Error('stock service down');
    },
  );
  const handler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(new FixedBackOff(BACK_OFF_MS, 1)) };
  const retry = {
    initialRetryTime: 50,
    maxRetryTime: 100,
    restartOnFailure: async () => crashes.push(performance.now()) > 0,
  };
  env.app = await startApp(env.broker, [handler, listener], { client: { brokers: env.broker.brokers, retry } });
  const registry = env.app.get(KafkaListenerEndpointRegistry);
  await waitForAssignment(registry, 'orders', 2);

  await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' }, { partition: 0 });
  await waitFor(() => deliveries.length === 1);
  env.broker.injectFault({ apiKey: ApiKey.Fetch, errorCode: ErrorCode.CORRUPT_MESSAGE, count: 6 });
  await waitFor(() => crashes.length > 0);
  // The new consumer has its partitions back well before the back-off ends...
  await waitForAssignment(registry, 'orders', 2);
  expect(performance.now() - deliveries[0]!.at).toBeLessThan(BACK_OFF_MS);

  // ...and still delivers the record only once it has ended (a restarted kafkajs consumer forgets its pauses).
  await waitForCommit(env.broker, 'orders', 'orders', 0, 1, 15_000);
  expect(deliveries.map((d) => d.attempt)).toEqual([1, 2]);
  expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(BACK_OFF_MS);
});
