/**
 * OpenTelemetry tracing end to end: a real Nest application on the embedded broker, with the SDK's
 * in-memory exporter registered (NodeTracerProvider: AsyncLocalStorage context, W3C propagator). Each
 * story checks the spans, their parents and links, and their messaging attributes.
 */
import { Injectable } from '@nestjs/common';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, NodeTracerProvider, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-node';
import {
  Ctx,
  DeadLetterPublishingRecoverer,
  DefaultErrorHandler,
  FixedBackOff,
  KafkaBatchContext,
  KafkaListener,
  KafkaTemplate,
  Payload,
} from '@kafka-nest/core';
import { getRecords, waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { brokerPerTest, compileApp, startApp } from '../../fixtures/kafka-app.js';
import { type Delivery, headersOf, quietNest, recordListener } from '../error-handling/e2e-support.js';
import { paymentsListener, type Payments } from '../retry-topic/support.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

beforeAll(() => {
  quietNest();
  provider.register();
});
afterAll(async () => {
  await provider.shutdown();
  trace.disable();
  context.disable();
  propagation.disable();
});
beforeEach(() => exporter.reset());
const env = brokerPerTest();

const ERROR_HANDLER = Symbol('ERROR_HANDLER');
const spans = () => exporter.getFinishedSpans();
const named = (name: string) => spans().filter((s) => s.name === name);
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;
const traceparentOf = (s: ReadableSpan) => `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01`;
/** Runs `fn` in a span standing for the HTTP request that sends, as an HTTP instrumentation would make it. */
async function inRequest<T>(fn: () => Promise<T>): Promise<{ request: ReadableSpan; result: T }> {
  const tracer = trace.getTracer('test');
  let id = '';
  const result = await tracer.startActiveSpan('POST /orders', async (span) => {
    id = span.spanContext().spanId;
    try {
      return await fn();
    } finally {
      span.end();
    }
  });
  return { request: spans().find((s) => s.spanContext().spanId === id)!, result };
}

describe('tracing', () => {
  it('a send and its delivery: producer span under the request, traceparent in the headers, consumer span under the producer span', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 2 });
    const deliveries: Delivery[] = [];
    let activeInHandler: string | undefined;
    const listener = recordListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true }, deliveries, () => {
      activeInHandler = trace.getActiveSpan()?.spanContext().spanId;
    });
    env.app = await startApp(env.broker, { providers: [listener] });
    const template = env.app.get(KafkaTemplate);

    const { request } = await inRequest(() => template.send('orders', { id: 'o-1' }, { key: 'o-1', partition: 1, headers: { origin: 'web' } }));
    await waitFor(() => named('process orders').length === 1, { timeoutMs: 15_000 });

    const [send] = named('send orders');
    expect(send.kind).toBe(SpanKind.PRODUCER);
    expect(send.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(send)).toBe(request.spanContext().spanId);
    expect(send.attributes).toMatchObject({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'send',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '1',
      'messaging.kafka.message.key': 'o-1',
      'messaging.kafka.offset': 0,
    });

    const [record] = await getRecords(env.broker, 'orders', 1);
    const headers = headersOf(record);
    expect(headers.traceparent?.toString()).toBe(traceparentOf(send));
    expect(headers.origin?.toString()).toBe('web');

    const [process] = named('process orders');
    expect(process.kind).toBe(SpanKind.CONSUMER);
    expect(process.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(parentOf(process)).toBe(send.spanContext().spanId);
    expect(process.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.name': 'process',
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': '1',
      'messaging.kafka.offset': 0,
      'messaging.consumer.group.name': 'orders-service',
      'messaging.kafka.message.key': 'o-1',
    });
    expect(process.status.code).toBe(SpanStatusCode.UNSET);
    expect(activeInHandler).toBe(process.spanContext().spanId);
  });

  it('a record retried then processed: one span per delivery, the failed ones with the exception, all in the trace of the send', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener(
      { id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER },
      deliveries,
      () => {
        if (deliveries.length < 3) throw new RangeError(`flaky ${deliveries.length}`);
      },
    );
    const errorHandler = { provide: ERROR_HANDLER, useFactory: () => new DefaultErrorHandler(undefined, new FixedBackOff(20, 2)) };
    env.app = await startApp(env.broker, { providers: [listener, errorHandler] });

    await env.app.get(KafkaTemplate).send('orders', { id: 'o-2' });
    await waitFor(() => named('process orders').length === 3, { timeoutMs: 15_000 });

    const [send] = named('send orders');
    const processes = named('process orders').sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
    for (const p of processes) {
      expect(p.spanContext().traceId).toBe(send.spanContext().traceId);
      expect(parentOf(p)).toBe(send.spanContext().spanId);
    }
    expect(processes.map((p) => p.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.ERROR, SpanStatusCode.UNSET]);
    expect(processes.map((p) => p.events.find((e) => e.name === 'exception')?.attributes?.['exception.message'])).toEqual(['flaky 1', 'flaky 2', undefined]);
    expect(processes[0].attributes['error.type']).toBe('RangeError');
  });

  it('a record sent to the DLT: the dead-letter publish is a producer span under the last delivery, and the DLT record carries its context', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 }, { name: 'orders.DLT', partitions: 1 });
    const listener = recordListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, errorHandler: ERROR_HANDLER }, [], () => {
      throw new Error('rejected');
    });
    const dead: Delivery[] = [];
    const dltListener = recordListener({ id: 'orders-dlt', topics: ['orders.DLT'], groupId: 'orders-dlt', fromBeginning: true }, dead);
    const errorHandler = {
      provide: ERROR_HANDLER,
      inject: [KafkaTemplate],
      useFactory: (template: KafkaTemplate) => new DefaultErrorHandler(new DeadLetterPublishingRecoverer(template), new FixedBackOff(0, 1)),
    };
    env.app = await startApp(env.broker, { providers: [listener, dltListener, errorHandler] });

    const { request } = await inRequest(() => env.app!.get(KafkaTemplate).send('orders', { id: 'o-3' }));
    await waitFor(() => named('process orders.DLT').length === 1, { timeoutMs: 15_000 });

    const traceId = request.spanContext().traceId;
    const [send] = named('send orders');
    const processes = named('process orders');
    expect(processes).toHaveLength(2);
    expect(processes.every((p) => p.status.code === SpanStatusCode.ERROR && parentOf(p) === send.spanContext().spanId)).toBe(true);
    const [dltSend] = named('send orders.DLT');
    expect(dltSend.kind).toBe(SpanKind.PRODUCER);
    const last = processes.find((p) => p.spanContext().spanId === parentOf(dltSend));
    expect(last).toBeDefined();
    const [dltRecord] = await getRecords(env.broker, 'orders.DLT', 1);
    expect(headersOf(dltRecord).traceparent?.toString()).toBe(traceparentOf(dltSend));
    const [dltProcess] = named('process orders.DLT');
    expect(parentOf(dltProcess)).toBe(dltSend.spanContext().spanId);
    expect([send, ...processes, dltSend, dltProcess].every((s) => s.spanContext().traceId === traceId)).toBe(true);
  });

  it('a retry-topic chain: each forward is a producer span under the failed delivery, each hop a delivery under it, to the DLT', async () => {
    env.broker.createTopics({ name: 'payments', partitions: 1 });
    const p: Payments = { calls: [], dead: [] };
    const listener = paymentsListener(
      { attempts: 3, backoff: { delay: 50 } },
      { id: 'payments', topics: ['payments'], groupId: 'payments', fromBeginning: true },
      p,
      () => {
        throw new Error('declined');
      },
      () => undefined,
    );
    env.app = await startApp(env.broker, { providers: [listener] });

    const { request } = await inRequest(() => env.app!.get(KafkaTemplate).send('payments', { id: 'p-1' }));
    await waitFor(() => p.dead.length === 1 && named('process payments-dlt').length === 1, { timeoutMs: 20_000 });

    // With one fixed delay, both retries go through one retry topic: send payments → process payments →
    // send payments-retry → process payments-retry (twice) → send payments-dlt → process payments-dlt (@DltHandler).
    const childOf = (parent: ReadableSpan, prefix: string) => spans().filter((s) => parentOf(s) === parent.spanContext().spanId && s.name.startsWith(prefix));
    const hops: string[] = [];
    let at = request;
    for (;;) {
      const sends = childOf(at, 'send ');
      if (sends.length === 0) break;
      expect(sends).toHaveLength(1);
      const [process] = childOf(sends[0], 'process ');
      expect(process.kind).toBe(SpanKind.CONSUMER);
      hops.push(`${sends[0].name} > ${process.name}${process.status.code === SpanStatusCode.ERROR ? ' (failed)' : ''}`);
      at = process;
    }
    expect(hops).toEqual([
      'send payments > process payments (failed)',
      'send payments-retry > process payments-retry (failed)',
      'send payments-retry > process payments-retry (failed)',
      'send payments-dlt > process payments-dlt',
    ]);
    expect(new Set(spans().map((s) => s.spanContext().traceId))).toEqual(new Set([request.spanContext().traceId]));
  });

  it('a batch listener: one span per delivery, linked to the context of each record', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const batches: number[] = [];
    @Injectable()
    class BatchListener {
      @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, batch: true })
      onBatch(@Payload() values: unknown[], @Ctx() ctx: KafkaBatchContext) {
        void ctx;
        batches.push(values.length);
      }
    }
    // Three sends (three producer spans) before the listener starts, so that one fetch holds the three.
    const seed = await startApp(env.broker);
    const template = seed.get(KafkaTemplate);
    for (const id of ['a', 'b', 'c']) await template.send('orders', { id }, { key: id });
    await seed.close();
    const sends = named('send orders');
    expect(sends).toHaveLength(3);

    env.app = await startApp(env.broker, { providers: [BatchListener] });
    await waitFor(() => batches.length === 1, { timeoutMs: 15_000 });
    await waitFor(() => named('process orders').length === 1, { timeoutMs: 5_000 });
    const [process] = named('process orders');
    expect(process.attributes).toMatchObject({ 'messaging.batch.message_count': 3, 'messaging.consumer.group.name': 'orders-service', 'messaging.destination.name': 'orders' });
    expect(process.links.map((l) => l.context.spanId)).toEqual(sends.map((s) => s.spanContext().spanId));
    expect(process.links.map((l) => l.attributes?.['messaging.kafka.offset'])).toEqual([0, 1, 2]);
    expect(parentOf(process)).toBeUndefined();
    expect(sends.some((s) => s.spanContext().traceId === process.spanContext().traceId)).toBe(false);
  });

  it('options: span names and attributes of your own, a link instead of a parent, and no key', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true }, deliveries);
    env.app = await startApp(env.broker, {
      providers: [listener],
      options: {
        tracing: {
          consumerParent: 'link',
          recordKey: false,
          producerSpanName: (topic) => `publish to ${topic}`,
          consumerSpanName: (topic, listenerId) => `${listenerId} handles ${topic}`,
          producerAttributes: (_topic, records) => ({ 'app.records': records.length }),
          consumerAttributes: (records, l) => ({ 'app.listener': l.id, 'app.first.offset': records[0].offset }),
        },
      },
    });
    await env.app.get(KafkaTemplate).send('orders', { id: 'x' }, { key: 'secret-customer' });
    await waitFor(() => named('orders handles orders').length === 1, { timeoutMs: 15_000 });
    const [send] = named('publish to orders');
    const [process] = named('orders handles orders');
    expect(send.attributes['app.records']).toBe(1);
    expect(send.attributes['messaging.kafka.message.key']).toBeUndefined();
    expect(process.attributes).toMatchObject({ 'app.listener': 'orders', 'app.first.offset': 0 });
    expect(process.attributes['messaging.kafka.message.key']).toBeUndefined();
    expect(parentOf(process)).toBeUndefined();
    expect(process.spanContext().traceId).not.toBe(send.spanContext().traceId);
    expect(process.links.map((l) => l.context.spanId)).toEqual([send.spanContext().spanId]);
  });

  it('tracing: false makes no span and writes no traceparent', async () => {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    const deliveries: Delivery[] = [];
    const listener = recordListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true }, deliveries);
    env.app = await startApp(env.broker, { providers: [listener], options: { tracing: false } });
    await env.app.get(KafkaTemplate).send('orders', { id: 'x' });
    await waitFor(() => deliveries.length === 1, { timeoutMs: 15_000 });
    expect(spans()).toEqual([]);
    const [record] = await getRecords(env.broker, 'orders', 1);
    expect(headersOf(record).traceparent).toBeUndefined();
  });

  it('refuses a malformed option at start-up, naming it', async () => {
    const bad = [
      [{ consumerParent: 'child' }, `kafka-nest tracing: 'consumerParent' must be 'parent' or 'link', got "child"`],
      [{ producerSpanName: 'send' }, "kafka-nest tracing: 'producerSpanName' must be a function, got string"],
      ['yes', "kafka-nest tracing: 'tracing' must be true, false or an options object, got yes"],
    ] as const;
    for (const [tracing, message] of bad) {
      const app = await compileApp(env.broker, { options: { tracing: tracing as never } }).catch((err: Error) => err);
      const err = app instanceof Error ? app : await (app as { init(): Promise<unknown> }).init().then(() => undefined, (e: Error) => e);
      expect(err?.name).toBe('KafkaConfigurationError');
      expect(err?.message).toBe(message);
    }
  });
});
