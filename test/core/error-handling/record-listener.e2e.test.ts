/**
 * Issue 4, end to end: record listeners with DefaultErrorHandler and DeadLetterPublishingRecoverer, in a
 * real Nest application, over kafkajs, against the embedded broker.
 */
import { ValidationPipe } from '@nestjs/common';
import { Injectable } from '@nestjs/common';
import {
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  DltHeaders,
  ExponentialBackOff,
  FixedBackOff,
  KafkaContext,
  KafkaListener,
  KafkaTemplate,
  Payload,
  type ConsumedRecord,
} from '@kafka-nest/core';
import { getRecords, getSingleRecord, waitFor, waitForCommit } from '@kafka-nest/testing';
import { IsInt, IsString, Min } from 'class-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { committed, type Delivery, headersOf, int32, int64, quietNest, recordListener, startApp } from './e2e-support.js';

const ERROR_HANDLER = Symbol('ORDERS_ERROR_HANDLER');

class OrderFailedError extends Error {}

beforeAll(quietNest);
const env = brokerPerTest();

/** The error handler of the DI example, with the given back-off. */
function errorHandlerProvider(create: (template: KafkaTemplate) => DefaultErrorHandler) {
  return { provide: ERROR_HANDLER, useFactory: create, inject: [KafkaTemplate] };
}

const dlpr = (backOff: FixedBackOff | ExponentialBackOff) => (template: KafkaTemplate) =>
  new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), backOff);

describe('DefaultErrorHandler with DeadLetterPublishingRecoverer, record listener', () => {
  it('delivers a record that fails twice then succeeds three times, commits it, and publishes nothing to the DLT', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (payload, ctx) => {
        if (ctx.deliveryAttempt < 3) throw new OrderFailedError(`attempt ${ctx.deliveryAttempt} failed`);
      },
    );
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(new FixedBackOff(50, 2))), listener]);

    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' });
    await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1);

    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3]);
    expect(deliveries.every((d) => d.offset === 0)).toBe(true);
    expect(env.broker.partitionCount('orders.DLT')).toBe(1);
    expect(env.broker.allRecords('orders.DLT')).toEqual([]);
  });

  it('delivers an always-failing record exactly 3 times with FixedBackOff(50, 2), then dead-letters it on the same partition with byte-exact headers, and goes on in order', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 3 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (payload) => {
        if ((payload as { id: string }).id === 'poison') {
          throw new OrderFailedError('order poison cannot be shipped', { cause: new RangeError('quantity -1 is out of range') });
        }
      },
    );
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(new FixedBackOff(50, 2))), listener]);
    const template = env.app.get(KafkaTemplate);

    const timestamp = 1_700_000_000_123;
    const sent = await template.send('orders', { id: 'poison' }, { key: 'order-key', partition: 1, timestamp, headers: { 'trace-id': 't-1' } });
    await template.send('orders', { id: 'next-1' }, { partition: 1 });
    await template.send('orders', { id: 'next-2' }, { partition: 1 });
    await waitForCommit(env.broker, 'orders-service', 'orders', 1, sent.offset + 3);

    const onPartition1 = deliveries.filter((d) => d.partition === 1);
    expect(onPartition1.map((d) => [(d.payload as { id: string }).id, d.attempt])).toEqual([
      ['poison', 1],
      ['poison', 2],
      ['poison', 3],
      ['next-1', 1],
      ['next-2', 1],
    ]);
    // Each redelivery waited for the back-off.
    expect(onPartition1[1]!.at - onPartition1[0]!.at).toBeGreaterThanOrEqual(49);
    expect(onPartition1[2]!.at - onPartition1[1]!.at).toBeGreaterThanOrEqual(49);

    expect(env.broker.partitionCount('orders.DLT')).toBe(3);
    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    expect(dead.partition).toBe(1);
    const original = env.broker.records('orders', 1)[0]!;
    expect(dead.key).toEqual(original.key);
    expect(dead.value).toEqual(original.value);
    expect(dead.value).toEqual(Buffer.from('{"id":"poison"}'));
    const h = headersOf(dead);
    expect(h['trace-id']).toEqual(Buffer.from('t-1'));
    expect(h[DltHeaders.ORIGINAL_TOPIC]).toEqual(Buffer.from('orders'));
    expect(h[DltHeaders.ORIGINAL_PARTITION]).toEqual(int32(1));
    expect(h[DltHeaders.ORIGINAL_OFFSET]).toEqual(int64(sent.offset));
    expect(h[DltHeaders.ORIGINAL_TIMESTAMP]).toEqual(int64(timestamp));
    expect(h[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]).toEqual(Buffer.from('CreateTime'));
    expect(h[DltHeaders.ORIGINAL_CONSUMER_GROUP]).toEqual(Buffer.from('orders-service'));
    // Laid out as Spring lays them: the wrapper's class, then the class the listener threw.
    expect(h[DltHeaders.EXCEPTION_FQCN]).toEqual(Buffer.from('ListenerExecutionFailedError'));
    expect(h[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('OrderFailedError'));
    expect(h[DltHeaders.EXCEPTION_MESSAGE]).toEqual(Buffer.from('order poison cannot be shipped'));
    const stack = h[DltHeaders.EXCEPTION_STACKTRACE]!.toString('utf8');
    expect(stack).toMatch(/^OrderFailedError: order poison cannot be shipped\n\s+at /);
    expect(stack).toContain('\nCaused by: RangeError: quantity -1 is out of range\n');
    expect(Object.keys(h).sort()).toEqual(
      [
        'trace-id',
        DltHeaders.ORIGINAL_TOPIC,
        DltHeaders.ORIGINAL_PARTITION,
        DltHeaders.ORIGINAL_OFFSET,
        DltHeaders.ORIGINAL_TIMESTAMP,
        DltHeaders.ORIGINAL_TIMESTAMP_TYPE,
        DltHeaders.ORIGINAL_CONSUMER_GROUP,
        DltHeaders.EXCEPTION_FQCN,
        DltHeaders.EXCEPTION_CAUSE_FQCN,
        DltHeaders.EXCEPTION_MESSAGE,
        DltHeaders.EXCEPTION_STACKTRACE,
      ].sort(),
    );
  });

  it('sends a not-retryable error to the DLT after one delivery', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (payload) => {
        // A programming error: not retried by default.
        return (payload as { customer: { name: string } }).customer.name;
      },
    );
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(new FixedBackOff(50, 5))), listener]);

    await env.app.get(KafkaTemplate).send('orders', { id: 'no-customer' });
    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1);

    expect(deliveries.map((d) => d.attempt)).toEqual([1]);
    expect(headersOf(dead)[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('TypeError'));
  });

  it('sends a payload rejected by ValidationPipe to the DLT without retrying, the listener body never running', async () => {
    class OrderDto {
      @IsString() id!: string;
      @IsInt() @Min(1) quantity!: number;
    }
    const handled: OrderDto[] = [];
    @Injectable()
    class ValidatedListener {
      @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER })
      onOrder(@Payload(new ValidationPipe()) order: OrderDto) {
        handled.push(order);
      }
    }
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(new FixedBackOff(50, 5))), ValidatedListener]);
    const template = env.app.get(KafkaTemplate);

    await template.send('orders', { id: 'o-1', quantity: 0 });
    await template.send('orders', { id: 'o-2', quantity: 2 });
    await waitForCommit(env.broker, 'orders-service', 'orders', 0, 2);

    expect(handled.map((o) => o.id)).toEqual(['o-2']);
    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    expect(dead.value).toEqual(Buffer.from('{"id":"o-1","quantity":0}'));
    expect(headersOf(dead)[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('BadRequestException'));
    // The validation details, not only Nest's generic "Bad Request Exception".
    expect(headersOf(dead)[DltHeaders.EXCEPTION_MESSAGE]?.toString()).toBe('Bad Request Exception: quantity must not be less than 1');
  });

  it('never calls the listener with a poison payload that is not JSON; the DLT holds its raw bytes', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
    );
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(new FixedBackOff(50, 5))), listener]);
    const template = env.app.get(KafkaTemplate);

    const poison = Buffer.from([0x7b, 0x22, 0x69, 0x64, 0xff, 0x00, 0x0a]); // '{"id' then bytes no JSON parser accepts
    await template.send('orders', poison, { key: 'k' });
    await template.send('orders', { id: 'fine' });
    await waitForCommit(env.broker, 'orders-service', 'orders', 0, 2);

    expect(deliveries.map((d) => d.payload)).toEqual([{ id: 'fine' }]);
    const dead = await getSingleRecord(env.broker, 'orders.DLT');
    expect(dead.value).toEqual(poison);
    expect(dead.key).toEqual(Buffer.from('k'));
    expect(headersOf(dead)[DltHeaders.EXCEPTION_FQCN]).toEqual(Buffer.from('DeserializationError'));
  });

  it('waits at least each configured exponential delay between deliveries', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      () => {
        throw new OrderFailedError('still failing');
      },
    );
    const backOff = new ExponentialBackOff({ initialInterval: 100, multiplier: 2, maxInterval: 1000, maxRetries: 3 });
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(backOff)), listener]);

    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' });
    await getSingleRecord(env.broker, 'orders.DLT');

    expect(deliveries.map((d) => d.attempt)).toEqual([1, 2, 3, 4]);
    const gaps = deliveries.slice(1).map((d, i) => d.at - deliveries[i]!.at);
    // Never shorter than configured: a timer firing a hair early is set again for the rest.
    [100, 200, 400].forEach((configured, i) => expect(gaps[i]).toBeGreaterThanOrEqual(configured));
  });

  it('tells the retry listeners of each failed delivery and of the recovery', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const calls: string[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      [],
      () => {
        throw new OrderFailedError('nope');
      },
    );
    const handlerFactory = (template: KafkaTemplate) => {
      const handler = new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(20, 2));
      handler.setRetryListeners({
        failedDelivery: (record: ConsumedRecord, error, attempt) => calls.push(`failedDelivery ${record.offset} ${error.message} #${attempt}`),
        recovered: (record, error) => calls.push(`recovered ${record.offset} ${error.message}`),
        recoveryFailed: (record) => calls.push(`recoveryFailed ${record.offset}`),
      });
      return handler;
    };
    env.app = await startApp(env.broker, [errorHandlerProvider(handlerFactory), listener]);

    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' });
    await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1);

    expect(calls).toEqual(['failedDelivery 0 nope #1', 'failedDelivery 0 nope #2', 'failedDelivery 0 nope #3', 'recovered 0 nope']);
  });

  it('keeps the other partitions flowing while one partition backs off', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 2 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      (payload) => {
        if ((payload as { id: string }).id === 'stuck') throw new OrderFailedError('stuck');
      },
    );
    env.app = await startApp(env.broker, [errorHandlerProvider(dlpr(new FixedBackOff(1000, 2))), listener]);
    const template = env.app.get(KafkaTemplate);

    await template.send('orders', { id: 'stuck' }, { partition: 0 });
    await waitFor(() => deliveries.some((d) => d.partition === 0));
    for (let i = 0; i < 5; i++) await template.send('orders', { id: `flowing-${i}` }, { partition: 1 });
    await waitForCommit(env.broker, 'orders-service', 'orders', 1, 5);

    // Partition 1 is done while partition 0 still waits for its record's retries.
    expect(env.broker.allRecords('orders.DLT')).toEqual([]);
    expect(committed(env.broker, 'orders-service', 'orders', 0)).toBeLessThan(1);
    expect(deliveries.filter((d) => d.partition === 1).map((d) => (d.payload as { id: string }).id)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `flowing-${i}`),
    );

    const [dead] = await getRecords(env.broker, 'orders.DLT', 1);
    expect(dead!.partition).toBe(0);
    await waitForCommit(env.broker, 'orders-service', 'orders', 0, 1);
    expect(deliveries.filter((d) => d.partition === 0).map((d) => d.attempt)).toEqual([1, 2, 3]);
  });
});
