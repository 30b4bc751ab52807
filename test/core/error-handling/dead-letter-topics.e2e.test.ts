/**
 * Issue 4, end to end: the dead-letter topics themselves. Created at listener start with the source's
 * partition count (unless disabled), checked for a valid name at start-up, and used even when they have
 * fewer partitions than the source.
 */
import { Test } from '@nestjs/testing';
import {
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  DltHeaders,
  FixedBackOff,
  KafkaListenerEndpointRegistry,
  KafkaTemplate,
} from '@kafka-nest/core';
import { getSingleRecord, KafkaTestingModule, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { type Delivery, headersOf, int32, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');

beforeAll(quietNest);
const env = brokerPerTest();

const dltHandler = (options: ConstructorParameters<typeof DeadLetterPublishingRecoverer>[1] = {}) => ({
  provide: ERROR_HANDLER,
  inject: [KafkaTemplate],
  useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template, options), new FixedBackOff(0, 0)),
});

const failing = (deliveries: Delivery[], topic = 'orders') =>
  recordListener({ id: 'orders', topics: [topic], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER }, deliveries, () => {
    throw new Error('rejected');
  });

it("creates <topic>.DLT at start-up with the source topic's partition count; '-dlt' with that suffix", async () => {
  env.broker.createTopics({ name: 'orders', partitions: 4 }, { name: 'payments', partitions: 2 });
  const payments = recordListener({ id: 'payments', topics: ['payments'], groupId: 'payments-service', errorHandler: 'PAYMENTS_ERROR_HANDLER' }, []);
  env.app = await startApp(env.broker, [
    dltHandler(),
    failing([]),
    { ...dltHandler({ suffix: '-dlt' }), provide: 'PAYMENTS_ERROR_HANDLER' },
    payments,
  ]);
  expect(env.broker.partitionCount('orders.DLT')).toBe(4);
  expect(env.broker.partitionCount('payments-dlt')).toBe(2);
});

it('creates no DLT when createTopics is false', async () => {
  env.broker.createTopics({ name: 'orders', partitions: 2 });
  env.app = await startApp(env.broker, [dltHandler({ createTopics: false }), failing([])]);
  await waitForAssignment(env.app.get(KafkaListenerEndpointRegistry), 'orders', 2);
  expect(env.broker.partitionCount('orders.DLT')).toBeUndefined();
});

// With createTopics false too: the name is not needed at start-up, but every recovery would fail on it and
// leave the record uncommitted, blocking its partition for good.
it.each([{ createTopics: true }, { createTopics: false }])('fails start-up, naming the listener, when the DLT name is not a valid topic name (%o)', async (options) => {
  const longTopic = 'o'.repeat(246); // valid; with '.DLT' it is 250 characters, one over Kafka's limit
  env.broker.createTopics({ name: longTopic, partitions: 1 });
  const module = await Test.createTestingModule({
    imports: [KafkaTestingModule.forBroker(env.broker)],
    providers: [dltHandler(options), failing([], longTopic)],
  }).compile();
  module.useLogger(false);
  try {
    await expect(module.init()).rejects.toThrow(/Listener 'orders': dead-letter topic of 'o+' is not a valid topic name: a topic name is at most 249 characters/);
  } finally {
    await module.close();
  }
});

it('lets the producer choose the partition when the DLT has fewer partitions than the source', async () => {
  env.broker.createTopics({ name: 'orders', partitions: 3 }, { name: 'orders.DLT', partitions: 1 });
  const deliveries: Delivery[] = [];
  env.app = await startApp(env.broker, [dltHandler(), failing(deliveries)]);

  await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' }, { partition: 2 });
  const dead = await getSingleRecord(env.broker, 'orders.DLT');
  await waitForCommit(env.broker, 'orders-service', 'orders', 2, 1);

  expect(dead.partition).toBe(0);
  expect(headersOf(dead)[DltHeaders.ORIGINAL_PARTITION]).toEqual(int32(2));
  expect(deliveries).toHaveLength(1);
});
