/**
 * Issue 5, end to end: @RetryableTopic and @DltHandler in a real Nest application, over kafkajs, against
 * the embedded broker.
 */
import type { BrokerRecord } from '@kafka-nest/broker';
import { DltHeaders, DltStrategy, KafkaListenerEndpointRegistry, KafkaTemplate, RetryTopicHeaders } from '@kafka-nest/core';
import { getRecords, waitFor, waitForCommit } from '@kafka-nest/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { brokerPerTest, CapturingLogger, startApp } from '../../fixtures/kafka-app.js';
import { headersOf, int32, int64, quietNest } from '../error-handling/e2e-support.js';
import { bigInteger, type Payments, paymentsListener } from './support.js';

class PaymentDeclinedError extends Error {}
class GatewayTimeoutError extends Error {}
class InvalidPaymentError extends Error {}

beforeAll(quietNest);
const env = brokerPerTest();

const LISTENER = { id: 'payments', topics: ['payments'], groupId: 'payments', fromBeginning: true };
const idOf = (payload: unknown) => (payload as { id: string }).id;
const newPayments = (): Payments => ({ calls: [], dead: [] });

/** Checks what every forwarded record carries: the original's key, value and headers, and where it came from. */
function expectForwarded(record: BrokerRecord, original: { key: string; value: string; offset: number; timestamp: number }, attempt: number) {
  expect(record.key).toEqual(Buffer.from(original.key));
  expect(record.value).toEqual(Buffer.from(original.value));
  const h = headersOf(record);
  expect(h['trace-id']).toEqual(Buffer.from('t-1'));
  expect(h[RetryTopicHeaders.ATTEMPTS]).toEqual(int32(attempt));
  expect(bigInteger(h[RetryTopicHeaders.ORIGINAL_TIMESTAMP])).toBe(original.timestamp);
  expect(h[DltHeaders.ORIGINAL_TOPIC]).toEqual(Buffer.from('payments'));
  expect(h[DltHeaders.ORIGINAL_PARTITION]).toEqual(int32(0));
  expect(h[DltHeaders.ORIGINAL_OFFSET]).toEqual(int64(original.offset));
  expect(h[DltHeaders.ORIGINAL_TIMESTAMP]).toEqual(int64(original.timestamp));
  expect(h[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]).toEqual(Buffer.from('CreateTime'));
  expect(h[DltHeaders.ORIGINAL_CONSUMER_GROUP]).toEqual(Buffer.from('payments'));
  expect(h[DltHeaders.EXCEPTION_FQCN]).toEqual(Buffer.from('ListenerExecutionFailedError'));
  expect(h[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('PaymentDeclinedError'));
  expect(h[DltHeaders.EXCEPTION_MESSAGE]).toEqual(Buffer.from('card declined'));
  expect(h[DltHeaders.EXCEPTION_STACKTRACE]!.toString()).toContain('Caused by: RangeError: limit exceeded');
}

describe('@RetryableTopic', () => {
  it('sends a record that always fails through each retry topic, no sooner than each delay, then to the DLT with the headers, where the @DltHandler gets it', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const listener = paymentsListener(
      { attempts: 4, backoff: { delay: 100, multiplier: 2, maxDelay: 300 } },
      LISTENER,
      p,
      () => {
        throw new PaymentDeclinedError('card declined', { cause: new RangeError('limit exceeded') });
      },
      () => undefined,
    );
    env.app = await startApp(env.broker, { providers: [listener] });

    const timestamp = Date.now() - 60_000;
    const value = '{"id":"p-1","amount":42}';
    const sent = await env.app.get(KafkaTemplate).send('payments', value, { key: 'customer-7', timestamp, headers: { 'trace-id': 't-1' } });
    await waitFor(() => p.dead.length === 1, { timeoutMs: 15_000, message: 'the DLT handler to be called' });

    expect(p.calls.map((c) => [c.topic, c.attempt])).toEqual([
      ['payments', 1],
      ['payments-retry-100', 2],
      ['payments-retry-200', 3],
      ['payments-retry-300', 4],
    ]);
    const delays = [100, 200, 300];
    for (let k = 1; k < p.calls.length; k++) {
      const due = bigInteger(p.calls[k]!.headers[RetryTopicHeaders.BACKOFF_TIMESTAMP]);
      expect(due - p.calls[k - 1]!.at, `due time of attempt ${k + 1}`).toBeGreaterThanOrEqual(delays[k - 1]!);
      expect(p.calls[k]!.at, `attempt ${k + 1} delivered before it was due`).toBeGreaterThanOrEqual(due);
    }

    const original = { key: 'customer-7', value, offset: sent.offset, timestamp };
    for (const [k, topic] of ['payments-retry-100', 'payments-retry-200', 'payments-retry-300'].entries()) {
      const [forwarded] = await getRecords(env.broker, topic, 1);
      expect(forwarded!.partition).toBe(0);
      expectForwarded(forwarded!, original, k + 2);
    }
    const [dead] = await getRecords(env.broker, 'payments-dlt', 1);
    expectForwarded(dead!, original, 5);
    expect(env.broker.allRecords('payments-dlt')).toHaveLength(1);

    expect(p.dead[0]!.payload).toEqual({ id: 'p-1', amount: 42 });
    expect(p.dead[0]!.topic).toBe('payments-dlt');
    expect(p.dead[0]!.attempt).toBe(5);
    await waitForCommit(env.broker, 'payments-dlt', 'payments-dlt', 0, 1);
    // Each topic's group (named like the topic) committed the record it forwarded.
    for (const topic of ['payments', 'payments-retry-100', 'payments-retry-200', 'payments-retry-300']) await waitForCommit(env.broker, topic, topic, 0, 1);
  });

  it('delivers a record that fails once again from the single retry topic of a fixed delay, where it succeeds', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const listener = paymentsListener({ backoff: { delay: 100 } }, LISTENER, p, (_payload, ctx) => {
      if (ctx.deliveryAttempt === 1) throw new GatewayTimeoutError('gateway timed out');
    }, () => undefined);
    env.app = await startApp(env.broker, { providers: [listener] });

    await env.app.get(KafkaTemplate).send('payments', { id: 'p-2' });
    await waitForCommit(env.broker, 'payments-retry', 'payments-retry', 0, 1);

    expect(p.calls.map((c) => [c.topic, c.attempt, idOf(c.payload)])).toEqual([
      ['payments', 1, 'p-2'],
      ['payments-retry', 2, 'p-2'],
    ]);
    expect(p.calls[1]!.at - p.calls[0]!.at).toBeGreaterThanOrEqual(100);
    expect(p.dead).toEqual([]);
    expect(env.broker.allRecords('payments-dlt')).toEqual([]);
    // A fixed delay: one retry topic serves every retry, named without a delay.
    expect(env.broker.topicNames().filter((t) => t.startsWith('payments'))).toEqual(['payments', 'payments-dlt', 'payments-retry']);
    await waitForCommit(env.broker, 'payments', 'payments', 0, 1);
  });

  it('keeps processing the main topic while a failed record waits in the retry topic', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const listener = paymentsListener({ attempts: 2, backoff: { delay: 300 } }, LISTENER, p, (payload, ctx) => {
      if (idOf(payload) === 'slow' && ctx.deliveryAttempt === 1) throw new GatewayTimeoutError('gateway timed out');
    }, () => undefined);
    env.app = await startApp(env.broker, { providers: [listener] });

    await env.app.get(KafkaTemplate).sendBatch('payments', [{ value: { id: 'slow' } }, { value: { id: 'a' } }, { value: { id: 'b' } }, { value: { id: 'c' } }]);
    await waitFor(() => p.calls.find((c) => c.topic === 'payments-retry'), { message: 'the retry of the slow payment' });

    const retried = p.calls.find((c) => c.topic === 'payments-retry')!;
    const failed = p.calls.find((c) => c.topic === 'payments' && idOf(c.payload) === 'slow')!;
    const later = p.calls.filter((c) => c.topic === 'payments' && idOf(c.payload) !== 'slow');
    expect(later.map((c) => idOf(c.payload))).toEqual(['a', 'b', 'c']);
    for (const c of later) expect(c.at, `'${idOf(c.payload)}' waited for the retry`).toBeLessThan(retried.at);
    expect(retried.at - failed.at).toBeGreaterThanOrEqual(300);
    await waitForCommit(env.broker, 'payments', 'payments', 0, 4);
  });

  it('sends an excluded error, found in the cause chain, straight to the DLT', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const listener = paymentsListener({ backoff: { delay: 50 }, exclude: [InvalidPaymentError] }, LISTENER, p, () => {
      throw new Error('charge failed', { cause: new InvalidPaymentError('IBAN is invalid') });
    }, () => undefined);
    env.app = await startApp(env.broker, { providers: [listener] });

    await env.app.get(KafkaTemplate).send('payments', { id: 'p-3' });
    await waitFor(() => p.dead.length === 1);

    expect(p.calls.map((c) => c.topic)).toEqual(['payments']);
    expect(env.broker.allRecords('payments-retry')).toEqual([]);
    const h = headersOf((await getRecords(env.broker, 'payments-dlt', 1))[0]!);
    expect(h[RetryTopicHeaders.ATTEMPTS]).toEqual(int32(2));
    expect(h[DltHeaders.EXCEPTION_FQCN]).toEqual(Buffer.from('ListenerExecutionFailedError'));
    expect(h[DltHeaders.EXCEPTION_CAUSE_FQCN]).toEqual(Buffer.from('Error'));
  });

  it('retries only included errors; any other goes straight to the DLT', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const listener = paymentsListener({ backoff: { delay: 50 }, include: [GatewayTimeoutError] }, LISTENER, p, (payload) => {
      if (idOf(payload) === 'timeout') throw new GatewayTimeoutError('gateway timed out');
      throw new PaymentDeclinedError('card declined');
    }, () => undefined);
    env.app = await startApp(env.broker, { providers: [listener] });

    await env.app.get(KafkaTemplate).sendBatch('payments', [{ value: { id: 'timeout' } }, { value: { id: 'declined' } }]);
    await waitFor(() => p.dead.length === 2, { message: 'both payments in the DLT' });

    const topicsOf = (id: string) => p.calls.filter((c) => idOf(c.payload) === id).map((c) => c.topic);
    expect(topicsOf('timeout')).toEqual(['payments', 'payments-retry', 'payments-retry']);
    expect(topicsOf('declined')).toEqual(['payments']);
    expect(p.dead.map((c) => idOf(c.payload)).sort()).toEqual(['declined', 'timeout']);
  });

  it('with NO_DLT, creates no DLT and drops, with an error log, a record whose retries are exhausted', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const logger = new CapturingLogger();
    const listener = paymentsListener({ attempts: 2, backoff: { delay: 50 }, dltStrategy: DltStrategy.NO_DLT }, LISTENER, p, () => {
      throw new PaymentDeclinedError('card declined');
    });
    env.app = await startApp(env.broker, { providers: [listener], logger });

    await env.app.get(KafkaTemplate).send('payments', { id: 'p-4' });
    await waitForCommit(env.broker, 'payments-retry', 'payments-retry', 0, 1);

    expect(p.calls.map((c) => c.topic)).toEqual(['payments', 'payments-retry']);
    expect(env.broker.topicNames()).not.toContain('payments-dlt');
    expect(env.app.get(KafkaListenerEndpointRegistry).getListenerContainerIds().sort()).toEqual(['payments', 'payments-retry']);
    expect(logger.lines('error').some((l) => l.includes('payments-retry-0@0') && l.includes('NO_DLT') && l.includes('dropped'))).toBe(true);
  });

  it('with FAIL_ON_ERROR, logs and commits a record whose DLT handler fails, without publishing it again', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const logger = new CapturingLogger();
    const listener = paymentsListener({ attempts: 1, dltStrategy: DltStrategy.FAIL_ON_ERROR }, LISTENER, p, () => {
      throw new PaymentDeclinedError('card declined');
    }, () => {
      throw new Error('ledger unavailable');
    });
    env.app = await startApp(env.broker, { providers: [listener], logger });

    await env.app.get(KafkaTemplate).send('payments', { id: 'p-5' });
    await waitForCommit(env.broker, 'payments-dlt', 'payments-dlt', 0, 1);

    // attempts: 1 means no retry topic at all.
    expect(p.calls.map((c) => c.topic)).toEqual(['payments']);
    expect(env.broker.topicNames().filter((t) => t.startsWith('payments'))).toEqual(['payments', 'payments-dlt']);
    expect(p.dead).toHaveLength(1);
    expect(env.broker.allRecords('payments-dlt')).toHaveLength(1);
    expect(logger.lines('error').some((l) => l.includes('FAIL_ON_ERROR') && l.includes('dropped'))).toBe(true);
  });

  it('with ALWAYS_RETRY_ON_ERROR (the default), publishes a record whose DLT handler fails to the DLT again, unless the error is not retryable', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const listener = paymentsListener({ attempts: 1 }, LISTENER, p, () => {
      throw new PaymentDeclinedError('card declined');
    }, (payload, ctx) => {
      if (idOf(payload) === 'broken') throw new TypeError('cannot read properties of undefined');
      if (ctx.offset === 0) throw new Error('ledger unavailable');
    });
    env.app = await startApp(env.broker, { providers: [listener] });

    await env.app.get(KafkaTemplate).sendBatch('payments', [{ value: { id: 'flaky' } }, { value: { id: 'broken' } }]);
    await waitForCommit(env.broker, 'payments-dlt', 'payments-dlt', 0, 3);

    expect(p.dead.map((c) => [idOf(c.payload), c.offset])).toEqual([
      ['flaky', 0],
      ['broken', 1],
      ['flaky', 2],
    ]);
    const records = env.broker.allRecords('payments-dlt');
    expect(records).toHaveLength(3);
    const again = headersOf(records[2]!);
    expect(again[RetryTopicHeaders.ATTEMPTS]).toEqual(int32(3));
    expect(again[DltHeaders.ORIGINAL_TOPIC]).toEqual(Buffer.from('payments'));
    expect(again[DltHeaders.ORIGINAL_OFFSET]).toEqual(int64(0));
    expect(again[DltHeaders.EXCEPTION_MESSAGE]).toEqual(Buffer.from('ledger unavailable'));
  });

  it('logs dead-lettered records when the class has no @DltHandler, and takes its defaults from KafkaModule.forRoot({ retryTopic })', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p = newPayments();
    const logger = new CapturingLogger();
    const listener = paymentsListener(undefined, LISTENER, p, () => {
      throw new PaymentDeclinedError('card declined');
    });
    env.app = await startApp(env.broker, {
      providers: [listener],
      logger,
      options: { retryTopic: { attempts: 2, backoff: { delay: 50 }, dltTopicSuffix: '.DEAD' } },
    });

    await env.app.get(KafkaTemplate).send('payments', { id: 'p-6' });
    await waitFor(() => logger.lines('error').find((l) => l.startsWith('Received message in DLT listener')), { message: 'the DLT log line' });

    expect(p.calls.map((c) => c.topic)).toEqual(['payments', 'payments-retry']);
    const line = logger.lines('error').find((l) => l.startsWith('Received message in DLT listener'))!;
    expect(line).toContain('payments.DEAD-0@0, from payments, after 2 attempt(s); PaymentDeclinedError: card declined');
    await waitForCommit(env.broker, 'payments.DEAD', 'payments.DEAD', 0, 1);
  });

  it('creates the main, retry and dead-letter topics with numPartitions, runs retry listeners with their concurrency, and keeps a record on its partition', async () => {
    const p = newPayments();
    const listener = paymentsListener(
      { attempts: 3, backoff: { delay: 50, multiplier: 2 }, numPartitions: 3, concurrency: 2 },
      LISTENER,
      p,
      () => {
        throw new PaymentDeclinedError('card declined');
      },
      () => undefined,
    );
    env.app = await startApp(env.broker, { providers: [listener] });

    for (const topic of ['payments', 'payments-retry-50', 'payments-retry-100', 'payments-dlt']) expect(env.broker.partitionCount(topic), topic).toBe(3);
    const registry = env.app.get(KafkaListenerEndpointRegistry);
    expect(registry.getListenerContainers().map((c) => [c.id, c.groupId])).toEqual([
      ['payments', 'payments'],
      ['payments-retry-50', 'payments-retry-50'],
      ['payments-retry-100', 'payments-retry-100'],
      ['payments-dlt', 'payments-dlt'],
    ]);
    for (const group of ['payments-retry-50', 'payments-retry-100', 'payments-dlt']) {
      await waitFor(() => env.broker.describeGroup(group)?.members.length === 2, { message: `two members in group ${group}` });
    }

    await env.app.get(KafkaTemplate).send('payments', { id: 'p-7' }, { partition: 2 });
    await waitFor(() => p.dead.length === 1);
    expect(p.calls.map((c) => [c.topic, c.partition])).toEqual([
      ['payments', 2],
      ['payments-retry-50', 2],
      ['payments-retry-100', 2],
    ]);
    expect(p.dead[0]!.partition).toBe(2);
  });
});
