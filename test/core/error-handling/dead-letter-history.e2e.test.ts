/**
 * Issue 11 item 6, end to end: a record dead-lettered twice (read from orders.DLT by a reprocessing listener
 * that fails too, published to a parking topic) carries the kafka_dlt-original-* headers of both times, the
 * newest last, as Spring's DeadLetterPublishingRecoverer appends them; its exception headers are replaced
 * (or, with stripPreviousExceptionHeaders: false, kept as history). A listener reads the last value from
 * KafkaContext.headers and every value from KafkaContext.headerValues().
 */
import { Injectable } from '@nestjs/common';
import {
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  DltHeaders,
  FixedBackOff,
  KafkaContext,
  KafkaListener,
  KafkaTemplate,
} from '@kafka-nest/core';
import { getSingleRecord, waitFor } from '@kafka-nest/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerPerTest } from '../../fixtures/kafka-app.js';
import { quietNest, startApp } from './e2e-support.js';

class OrderFailedError extends Error {}
class ReprocessingFailedError extends Error {}

beforeAll(quietNest);
const env = brokerPerTest({ topics: [{ name: 'orders' }, { name: 'orders.DLT' }, { name: 'orders-parking' }] });

function app(stripPreviousExceptionHeaders: boolean, parked: KafkaContext[]) {
  @Injectable()
  class Listeners {
    @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: 'TO_DLT' })
    onOrder() {
      throw new OrderFailedError('cannot ship');
    }

    @KafkaListener({ id: 'reprocess', topics: ['orders.DLT'], groupId: 'dlt-reprocessor', fromBeginning: true, errorHandler: 'TO_PARKING' })
    onDeadLetter() {
      throw new ReprocessingFailedError('still cannot ship');
    }

    @KafkaListener({ id: 'parking', topics: ['orders-parking'], groupId: 'auditor', fromBeginning: true, deserializer: 'buffer' })
    onParked(_value: unknown, @Ctx() ctx: KafkaContext) {
      parked.push(ctx);
    }
  }
  return [
    Listeners,
    {
      provide: 'TO_DLT',
      inject: [KafkaTemplate],
      useFactory: (t: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(t), new FixedBackOff(0, 0)),
    },
    {
      provide: 'TO_PARKING',
      inject: [KafkaTemplate],
      useFactory: (t: KafkaTemplate) =>
        new DefaultErrorHandler(
          new DeadLetterPublishingRecoverer(t, { destinationResolver: () => ({ topic: 'orders-parking' }), stripPreviousExceptionHeaders }),
          new FixedBackOff(0, 0),
        ),
    },
  ];
}

const text = (values: readonly (Buffer | null)[]) => values.map((v) => v?.toString('utf8'));

describe('dead-letter header history', () => {
  it('appends the original-* headers of each dead-lettering and replaces the exception headers; KafkaContext gives the last and all values', async () => {
    const parked: KafkaContext[] = [];
    env.app = await startApp(env.broker, app(true, parked));
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-1' }, { headers: { 'trace-id': ['t-1', 't-2'] } });

    const record = await getSingleRecord(env.broker, 'orders-parking');
    const raw = (name: string) => record.headers.filter((h) => h.key === name).map((h) => h.value);
    expect(text(raw(DltHeaders.ORIGINAL_TOPIC))).toEqual(['orders', 'orders.DLT']);
    expect(text(raw(DltHeaders.ORIGINAL_CONSUMER_GROUP))).toEqual(['orders-service', 'dlt-reprocessor']);
    expect(raw(DltHeaders.ORIGINAL_OFFSET)).toHaveLength(2);
    expect(text(raw(DltHeaders.EXCEPTION_FQCN))).toEqual(['ListenerExecutionFailedError']);
    expect(text(raw(DltHeaders.EXCEPTION_CAUSE_FQCN))).toEqual(['ReprocessingFailedError']);
    expect(text(raw(DltHeaders.EXCEPTION_MESSAGE))).toEqual(['still cannot ship']);
    // A header the producer sent twice keeps both values through both dead-letterings.
    expect(text(raw('trace-id'))).toEqual(['t-1', 't-2']);

    await waitFor(() => parked.length === 1);
    const ctx = parked[0]!;
    expect(ctx.headers[DltHeaders.ORIGINAL_TOPIC]?.toString()).toBe('orders.DLT');
    expect(text(ctx.headerValues(DltHeaders.ORIGINAL_TOPIC))).toEqual(['orders', 'orders.DLT']);
    expect(text(ctx.headerValues('trace-id'))).toEqual(['t-1', 't-2']);
    expect(ctx.headerValues('absent')).toEqual([]);
  });

  it('with stripPreviousExceptionHeaders: false, keeps the exception headers of each dead-lettering too', async () => {
    env.app = await startApp(env.broker, app(false, []));
    await env.app.get(KafkaTemplate).send('orders', { id: 'o-2' });

    const record = await getSingleRecord(env.broker, 'orders-parking');
    const raw = (name: string) => record.headers.filter((h) => h.key === name).map((h) => h.value);
    expect(text(raw(DltHeaders.EXCEPTION_CAUSE_FQCN))).toEqual(['OrderFailedError', 'ReprocessingFailedError']);
    expect(text(raw(DltHeaders.EXCEPTION_MESSAGE))).toEqual(['cannot ship', 'still cannot ship']);
  });
});
