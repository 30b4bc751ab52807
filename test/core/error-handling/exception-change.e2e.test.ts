/**
 * Issue 11 item 2, end to end: a record whose error keeps its class but whose cause alternates (a flaky
 * dependency) is not retried forever: with FixedBackOff(0, 2) it reaches the dead-letter topic on its 3rd
 * delivery, as Spring's resetStateOnExceptionChange compares only the top-level error.
 */
import { DeadLetterPublishingRecoverer, DefaultErrorHandler, FixedBackOff, KafkaTemplate } from '@kafka-nest/core';
import { getSingleRecord, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { type Delivery, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ERROR_HANDLER');
class PaymentFailedError extends Error {}
class ConnectionResetError extends Error {}
class GatewayTimeoutError extends Error {}

beforeAll(quietNest);
const env = brokerPerTest();

function handler(configure: (h: DefaultErrorHandler) => void = () => {}) {
  return {
    provide: ERROR_HANDLER,
    inject: [KafkaTemplate],
    useFactory: (template: KafkaTemplate) => {
      const h = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(0, 2));
      configure(h);
      return h;
    },
  };
}

describe('DefaultErrorHandler: retry state when the error changes', () => {
  it('dead-letters a record whose cause alternates on its 3rd delivery with FixedBackOff(0, 2)', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'payments', topics: ['payments'], groupId: 'payments', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (_payload, ctx) => {
        const cause = ctx.deliveryAttempt % 2 ? new ConnectionResetError('ECONNRESET') : new GatewayTimeoutError('504');
        throw new PaymentFailedError('payment gateway failed', { cause });
      },
    );
    env.app = await startApp(env.broker, [handler(), listener]);
    await env.app.get(KafkaTemplate).send('payments', { id: 'p-1' });

    const dead = await getSingleRecord(env.broker, 'payments.DLT');
    await waitForCommit(env.broker, 'payments', 'payments', 0, 1);
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(dead.value).toEqual(Buffer.from('{"id":"p-1"}'));
  });

  it('with setResetStateOnExceptionChange(false), counts deliveries across unrelated error classes too', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'payments', topics: ['payments'], groupId: 'payments', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (_payload, ctx) => {
        throw ctx.deliveryAttempt % 2 ? new ConnectionResetError('ECONNRESET') : new GatewayTimeoutError('504');
      },
    );
    env.app = await startApp(env.broker, [handler((h) => h.setResetStateOnExceptionChange(false)), listener]);
    await env.app.get(KafkaTemplate).send('payments', { id: 'p-2' });

    await getSingleRecord(env.broker, 'payments.DLT');
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
  });
});
