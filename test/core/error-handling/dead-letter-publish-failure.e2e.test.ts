/**
 * Issue 4, end to end: a dead-letter publish that the broker refuses. The original record must not be
 * committed; once the broker accepts again, the record reaches the DLT exactly once.
 */
import { ApiKey, ErrorCode } from '@kafka-nest/broker';
import { DeadLetterPublishingRecoverer, DefaultErrorHandler, FixedBackOff, KafkaTemplate, type KafkaModuleOptions } from '@kafka-nest/core';
import { getSingleRecord, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { committed, type Delivery, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 1 }] });

/**
 * Starts an application whose orders listener always fails, with a DefaultErrorHandler (`backOff`) and a
 * DeadLetterPublishingRecoverer; returns its deliveries and the messages of failed recoveries.
 */
async function failingOrders(backOff: FixedBackOff, overrides: Partial<KafkaModuleOptions> = {}) {
  const deliveries: Delivery[] = [];
  const recoveryFailures: string[] = [];
  const listener = recordListener(
    { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
    deliveries,
    () => {
      throw new Error('payment service down');
    },
  );
  const handler = {
    provide: ERROR_HANDLER,
    inject: [KafkaTemplate],
    useFactory: (template: KafkaTemplate) => {
      const h = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), backOff);
      h.setRetryListeners({ recoveryFailed: (record, original, failure) => recoveryFailures.push(failure.message) });
      return h;
    },
  };
  const app = await startApp(env.broker, [handler, listener], overrides);
  env.app = app;
  return { app, deliveries, recoveryFailures };
}


it('keeps the original uncommitted while the DLT publish fails, then dead-letters it exactly once', async () => {
  const { app, deliveries, recoveryFailures } = await failingOrders(new FixedBackOff(50, 1));

  // TOPIC_AUTHORIZATION_FAILED (no ACL for the DLT) is not retriable: kafkajs gives up at once and the send rejects.
  const fault = env.broker.injectFault({ apiKey: ApiKey.Produce, topic: 'orders.DLT', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, count: 2 });
  await app.get(KafkaTemplate).send('orders', { id: 'o-1' });

  await fault.exhausted;
  expect(committed(env.broker, 'orders-service', 'orders', 0)).toBe(-1);
  expect(env.broker.allRecords('orders.DLT')).toEqual([]);

  const dead = await getSingleRecord(env.broker, 'orders.DLT');
  await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1);
  expect(dead.value).toEqual(Buffer.from('{"id":"o-1"}'));
  expect(env.broker.allRecords('orders.DLT')).toHaveLength(1);
  expect(recoveryFailures).toHaveLength(2);
  expect(recoveryFailures[0]).toMatch(/^Dead-letter publication of orders-0@0 to orders\.DLT-0 failed: /);
  // Each failed recovery started the back-off anew: two deliveries per round, three rounds.
  expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 1, 2, 1, 2]);
});

it('publishes to the DLT with acks = all when the producer is set to acks 0, so a refused publish is seen and retried', async () => {
  env.broker.createTopics({ name: 'audit', partitions: 1 });
  const { app, deliveries, recoveryFailures } = await failingOrders(new FixedBackOff(0, 0), { producer: { acks: 0 } });
  const template = app.get(KafkaTemplate);

  // acks 0 is in force for the application's own sends: a refused one resolves all the same, and is lost.
  const refusedAudit = env.broker.injectFault({ apiKey: ApiKey.Produce, topic: 'audit', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
  await template.send('audit', { id: 'a-1' });
  await refusedAudit.exhausted;
  expect(env.broker.allRecords('audit')).toEqual([]);

  // The dead-letter publish waits for the broker: refused once, it fails the recovery and the original stays.
  const refusedDlt = env.broker.injectFault({ apiKey: ApiKey.Produce, topic: 'orders.DLT', errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED });
  // (Sent with acks -1: the broker closed the connection after refusing the acks-0 send, as Kafka does, and an
  // acks-0 record written into the closing connection would be lost unseen.)
  await template.send('orders', { id: 'o-1' }, { acks: -1 });
  await refusedDlt.exhausted;

  const dead = await getSingleRecord(env.broker, 'orders.DLT');
  await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1);
  expect(dead.value).toEqual(Buffer.from('{"id":"o-1"}'));
  expect(recoveryFailures).toHaveLength(1);
  expect(recoveryFailures[0]).toMatch(/^Dead-letter publication of orders-0@0 to orders\.DLT-0 failed: /);
  expect(deliveries.map((d) => d.attempt)).toEqual([1, 1]);
});
