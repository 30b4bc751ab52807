/**
 * Issue 4, end to end: a batch listener throwing BatchListenerFailedError at index 3 of 10, and one
 * throwing any other error.
 */
import { Injectable } from '@nestjs/common';
import {
  BatchListenerFailedError,
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  DltHeaders,
  FixedBackOff,
  KafkaBatchContext,
  KafkaListener,
  KafkaTemplate,
  Payload,
} from '@kafka-nest/core';
import { getRecords, getSingleRecord, waitForCommit } from '@kafka-nest/testing';
import { Kafka, logLevel } from 'kafkajs';
import { beforeAll, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { committed, headersOf, int64, quietNest, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');

class OrderFailedError extends Error {}

interface Order {
  n: number;
}

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 1 }] });

/** Ten orders written in one produce request, before any listener runs, so that one fetch returns them all. */
async function produceTenOrders(): Promise<void> {
  const producer = new Kafka({ clientId: 'seed', brokers: env.broker.brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 10 }, (_, n) => ({ key: `k${n}`, value: JSON.stringify({ n }) })) });
  await producer.disconnect();
}

interface BatchCall {
  ns: number[];
  attempt: number;
  /** The group's committed offset when the batch was delivered. */
  committed: number;
}

function batchListener(batches: BatchCall[], processed: number[], fail: (orders: Order[]) => void) {
  @Injectable()
  class OrdersBatchListener {
    @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, batch: true, errorHandler: ERROR_HANDLER })
    onOrders(@Payload() orders: Order[], @Ctx() ctx: KafkaBatchContext) {
      batches.push({ ns: orders.map((o) => o.n), attempt: ctx.deliveryAttempt, committed: committed(env.broker, 'orders-service', 'orders', 0) });
      fail(orders);
      processed.push(...orders.map((o) => o.n));
    }
  }
  return OrdersBatchListener;
}

const errorHandler = {
  provide: ERROR_HANDLER,
  inject: [KafkaTemplate],
  useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(50, 2)),
};

it('commits the records before a BatchListenerFailedError at index 3 of 10, retries from it, dead-letters it, then goes on', async () => {
  await produceTenOrders();
  const batches: BatchCall[] = [];
  const processed: number[] = [];
  const listener = batchListener(batches, processed, (orders) => {
    const index = orders.findIndex((o) => o.n === 3);
    if (index >= 0) {
      processed.push(...orders.slice(0, index).map((o) => o.n));
      throw new BatchListenerFailedError(`order 3 failed`, index, new OrderFailedError('order 3 cannot be priced'));
    }
  });
  env.app = await startApp(env.broker, [errorHandler, listener]);

  await waitForCommit(env.broker, 'orders-service', 'orders', 0, 10);

  const rest = [3, 4, 5, 6, 7, 8, 9];
  expect(batches).toEqual([
    { ns: [0, 1, 2, ...rest], attempt: 1, committed: -1 },
    { ns: rest, attempt: 2, committed: 3 },
    { ns: rest, attempt: 3, committed: 3 },
    { ns: [4, 5, 6, 7, 8, 9], attempt: 1, committed: 4 },
  ]);
  expect(processed).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
  const dead = await getSingleRecord(env.broker, 'orders.DLT');
  expect(dead.value).toEqual(Buffer.from('{"n":3}'));
  expect(dead.key).toEqual(Buffer.from('k3'));
  const h = headersOf(dead);
  expect(h[DltHeaders.ORIGINAL_OFFSET]).toEqual(int64(3));
  expect(h[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('OrderFailedError'));
});

it('retries a batch failing with any other error as a whole, then dead-letters each of its records in order', async () => {
  await produceTenOrders();
  const batches: BatchCall[] = [];
  const listener = batchListener(batches, [], () => {
    throw new OrderFailedError('pricing service down');
  });
  env.app = await startApp(env.broker, [errorHandler, listener]);

  await waitForCommit(env.broker, 'orders-service', 'orders', 0, 10);

  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  expect(batches).toEqual([1, 2, 3].map((attempt) => ({ ns: all, attempt, committed: -1 })));
  const dead = await getRecords(env.broker, 'orders.DLT', 10);
  expect(dead.map((r) => r.value!.toString())).toEqual(all.map((n) => JSON.stringify({ n })));
  expect(dead.map((r) => headersOf(r)[DltHeaders.ORIGINAL_OFFSET])).toEqual(all.map((n) => int64(n)));
});
