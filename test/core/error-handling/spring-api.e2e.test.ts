/**
 * Issue 11 item 6, end to end: Spring API pieces Spring users reach for. ExponentialBackOffWithMaxRetries,
 * DefaultErrorHandler.setAckAfterHandle(false), and the batch variants of the retry listener callbacks.
 */
import { Injectable } from '@nestjs/common';
import {
  Ack,
  type Acknowledgment,
  AckMode,
  Ctx,
  type ConsumedRecord,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  ExponentialBackOffWithMaxRetries,
  FixedBackOff,
  KafkaContext,
  KafkaListener,
  KafkaTemplate,
  Payload,
} from '@kafka-nest/core';
import { getSingleRecord, waitFor, waitForCommit } from '@kafka-nest/testing';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { committed, type Delivery, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ERROR_HANDLER');
class OrderFailedError extends Error {}

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 1 }] });

function handlerProvider(make: (template: KafkaTemplate) => DefaultErrorHandler) {
  return { provide: ERROR_HANDLER, inject: [KafkaTemplate], useFactory: make };
}

describe('Spring API additions', () => {
  it('ExponentialBackOffWithMaxRetries(2) delivers 3 times with growing delays, then dead-letters', async () => {
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      () => {
        throw new OrderFailedError('always');
      },
    );
    const backOff = new ExponentialBackOffWithMaxRetries(2, { initialInterval: 40, multiplier: 2 });
    env.app = await startApp(env.broker, [
      handlerProvider((t) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(t), backOff)),
      listener,
    ]);
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' });

    await getSingleRecord(env.broker, 'orders.DLT');
    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(deliveries[1]!.at - deliveries[0]!.at).toBeGreaterThanOrEqual(39);
    expect(deliveries[2]!.at - deliveries[1]!.at).toBeGreaterThanOrEqual(79);
    expect(() => new ExponentialBackOffWithMaxRetries(2, { maxElapsedTime: 10 } as never)).toThrow(/'maxElapsedTime' is set by the maxRetries argument/);
  });

  it.each([
    [true, 1],
    [false, -1],
  ])('with setAckAfterHandle(%s), a recovered record in MANUAL_IMMEDIATE mode leaves the committed offset at %i', async (ackAfterHandle, expected) => {
    const seen: string[] = [];
    @Injectable()
    class ManualListener {
      @KafkaListener({ id: 'manual', topics: ['orders'], groupId: 'manual', fromBeginning: true, ackMode: AckMode.MANUAL_IMMEDIATE, errorHandler: ERROR_HANDLER })
      async onOrder(@Payload() order: { id: string }, @Ack() ack: Acknowledgment) {
        seen.push(order.id);
        if (order.id === 'poison') throw new OrderFailedError('poison');
        if (order.id !== 'hold') await ack.acknowledge();
      }
    }
    env.app = await startApp(env.broker, [
      handlerProvider((t) => {
        const h = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(t), new FixedBackOff(0, 0));
        h.setAckAfterHandle(ackAfterHandle);
        return h;
      }),
      ManualListener,
    ]);
    const template = env.app.get(KafkaTemplate);
    await template.send('orders', { id: 'poison' });
    await template.send('orders', { id: 'hold' });
    // The recovered record's commit, when there is one, is awaited before the next record is delivered.
    await waitFor(() => seen.includes('hold'));
    expect(committed(env.broker, 'manual', 'orders', 0)).toBe(expected);
    await template.send('orders', { id: 'next' });
    await waitForCommit(env.broker, 'manual', 'orders', 0, 3);
  });

  it('tells retry listeners about a batch: failedBatchDelivery per delivery, then batchRecovered (or batchRecoveryFailed)', async () => {
    const producer = new Kafka({ clientId: 'seed', brokers: env.broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await producer.send({ topic: 'orders', acks: -1, messages: [0, 1, 2].map((n) => ({ value: JSON.stringify({ n }) })) });
    await producer.disconnect();

    const events: string[] = [];
    let recoveries = 0;
    @Injectable()
    class BatchListener {
      @KafkaListener({ id: 'batch', topics: ['orders'], groupId: 'batch', fromBeginning: true, batch: true, errorHandler: ERROR_HANDLER })
      onOrders(@Payload() _orders: unknown[], @Ctx() _ctx: unknown) {
        throw new OrderFailedError('batch failed');
      }
    }
    const offsets = (records: readonly ConsumedRecord[]) => records.map((r) => r.offset).join(',');
    env.app = await startApp(env.broker, [
      handlerProvider(() => {
        const h = new DefaultErrorHandler((record: ConsumedRecord) => {
          // The first recovery fails once: the batch is redelivered, then recovered.
          if (recoveries++ === 0) throw new Error('DLT down');
        }, new FixedBackOff(0, 1));
        h.setRetryListeners({
          failedBatchDelivery: (records, _e, attempt) => events.push(`failedBatchDelivery ${offsets(records)} #${attempt}`),
          batchRecovered: (records) => events.push(`batchRecovered ${offsets(records)}`),
          batchRecoveryFailed: (records, _e, failure) => events.push(`batchRecoveryFailed ${offsets(records)} ${failure.message}`),
        });
        return h;
      }),
      BatchListener,
    ]);
    await waitForCommit(env.broker, 'batch', 'orders', 0, 3, 20_000);
    expect(events).toEqual([
      'failedBatchDelivery 0,1,2 #1',
      'failedBatchDelivery 0,1,2 #2',
      'batchRecoveryFailed 0,1,2 DLT down',
      'failedBatchDelivery 0,1,2 #1',
      'failedBatchDelivery 0,1,2 #2',
      'batchRecovered 0,1,2',
    ]);
  });
});
