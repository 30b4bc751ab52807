// Parameter decorators and @KafkaListener options, each seen by a listener of a real application.
import { Inject, Injectable, Module, type PipeTransform } from '@nestjs/common';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import {
  Ctx,
  DeserializationError,
  Header,
  Headers,
  KafkaBatchContext,
  KafkaContext,
  KafkaListener,
  KafkaListenerEndpointRegistry,
  KafkaModule,
  KafkaTemplate,
  Key,
  Payload,
} from '@kafka-nest/core';
import { createKafkaTestBroker, kafkaTestOptions, waitFor, waitForAssignment, waitForCommit } from '@kafka-nest/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AppSpec, RecordingErrorHandler, startApp as startOn } from '../fixtures/kafka-app.js';

/** Most listeners here read strings; the JSON ones say so. */
const startApp = (b: EmbeddedKafkaBroker, spec: AppSpec = {}) => startOn(b, { ...spec, options: { deserializer: 'string', ...spec.options } });

let broker: EmbeddedKafkaBroker;
let app: INestApplicationContext | undefined;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ autoCreateTopics: true });
});
afterEach(async () => {
  await app?.close();
  app = undefined;
});
afterAll(() => broker.stop());

class UpperCasePipe implements PipeTransform {
  transform(value: unknown) {
    return typeof value === 'string' ? value.toUpperCase() : value;
  }
}

describe('parameter decorators', () => {
  it('@Payload, @Key, @Header, @Headers and @Ctx carry the record', async () => {
    broker.createTopics({ name: 'orders', partitions: 1 });
    const got: unknown[] = [];
    @Injectable()
    class OrdersListener {
      @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', fromBeginning: true, deserializer: 'json' })
      onOrder(
        @Payload() order: { id: number; item: string },
        @Payload('item', UpperCasePipe) item: string,
        @Key() key: string,
        @Header('trace-id') trace: string,
        @Header('absent') absent: string | undefined,
        @Headers() headers: Record<string, string>,
        @Ctx() ctx: KafkaContext,
      ) {
        got.push({ order, item, key, trace, absent, headers, ctx });
      }
    }
    app = await startApp(broker, { providers: [OrdersListener] });
    const sent = await app.get(KafkaTemplate).send('orders', { id: 7, item: 'tea' }, { key: 'customer-1', headers: { 'trace-id': 't-1', other: Buffer.from('x') } });
    await waitFor(() => got.length === 1);
    const [{ order, item, key, trace, absent, headers, ctx }] = got as any[];
    expect(order).toEqual({ id: 7, item: 'tea' });
    expect(item).toBe('TEA');
    expect(key).toBe('customer-1');
    expect(trace).toBe('t-1');
    expect(absent).toBeUndefined();
    expect(headers).toEqual({ 'trace-id': 't-1', other: 'x' });
    expect(ctx).toBeInstanceOf(KafkaContext);
    expect({ topic: ctx.topic, partition: ctx.partition, offset: ctx.offset, groupId: ctx.groupId, listenerId: ctx.listenerId, deliveryAttempt: ctx.deliveryAttempt }).toEqual({
      topic: 'orders', partition: 0, offset: sent.offset, groupId: 'orders-service', listenerId: 'orders', deliveryAttempt: 1,
    });
    expect(ctx.key).toEqual(Buffer.from('customer-1'));
    expect(JSON.parse(ctx.value.toString())).toEqual({ id: 7, item: 'tea' });
    expect(ctx.headers['trace-id']).toEqual(Buffer.from('t-1'));
    expect(Math.abs(ctx.timestamp - Date.now())).toBeLessThan(60_000);
    await waitForCommit(broker, 'orders-service', 'orders', 0, 1);
  });

  it('a method without decorators receives the payload and the context', async () => {
    broker.createTopics({ name: 'plain', partitions: 1 });
    const got: unknown[][] = [];
    @Injectable()
    class PlainListener {
      @KafkaListener({ topics: ['plain'], fromBeginning: true })
      handle(...args: unknown[]) {
        got.push(args);
      }
    }
    app = await startApp(broker, { providers: [PlainListener] });
    await app.get(KafkaTemplate).send('plain', 'just text');
    await waitFor(() => got.length === 1);
    expect(got[0][0]).toBe('just text');
    expect(got[0][1]).toBeInstanceOf(KafkaContext);
    // The id defaults to Class.method and the group to the id.
    expect(app.get(KafkaListenerEndpointRegistry).getListenerContainerIds()).toEqual(['PlainListener.handle']);
    await waitForCommit(broker, 'PlainListener.handle', 'plain', 0, 1);
  });
});

describe('@KafkaListener options', () => {
  it('several listeners per class, and two on one method, each with its own container and group', async () => {
    broker.createTopics({ name: 'multi-a' }, { name: 'multi-b' });
    const got: string[] = [];
    @Injectable()
    class Multi {
      @KafkaListener({ id: 'multi-a1', topics: ['multi-a'], fromBeginning: true })
      @KafkaListener({ id: 'multi-a2', topics: ['multi-a'], fromBeginning: true })
      onA(@Payload() v: string, @Ctx() ctx: KafkaContext) {
        got.push(`${ctx.listenerId}:${v}`);
      }

      @KafkaListener({ id: 'multi-b', topics: ['multi-b'], fromBeginning: true })
      onB(@Payload() v: string) {
        got.push(`multi-b:${v}`);
      }
    }
    app = await startApp(broker, { providers: [Multi] });
    const template = app.get(KafkaTemplate);
    await template.send('multi-a', 'x');
    await template.send('multi-b', 'y');
    await waitFor(() => got.length === 3);
    expect(got.sort()).toEqual(['multi-a1:x', 'multi-a2:x', 'multi-b:y']);
    expect(app.get(KafkaListenerEndpointRegistry).getListenerContainerIds()).toEqual(['multi-a1', 'multi-a2', 'multi-b']);
  });

  it('topicPattern subscribes to every matching topic', async () => {
    broker.createTopics({ name: 'metrics.cpu' }, { name: 'metrics.mem' }, { name: 'metricsXother' });
    const got: string[] = [];
    @Injectable()
    class PatternListener {
      @KafkaListener({ id: 'metrics', topicPattern: /^metrics\.\w+$/, fromBeginning: true })
      on(@Payload() v: string, @Ctx() ctx: KafkaContext) {
        got.push(`${ctx.topic}:${v}`);
      }
    }
    const producer = await startApp(broker, {});
    const t = producer.get(KafkaTemplate);
    await t.send('metrics.cpu', 'c');
    await t.send('metrics.mem', 'm');
    await t.send('metricsXother', 'o');
    await producer.close();
    app = await startApp(broker, { providers: [PatternListener] });
    await waitFor(() => got.length === 2);
    expect(got.sort()).toEqual(['metrics.cpu:c', 'metrics.mem:m']);
    expect(app.get(KafkaListenerEndpointRegistry).assignedPartitions('metrics').map((tp) => tp.topic)).toEqual(['metrics.cpu', 'metrics.mem']);
  });

  it('batch: true hands over the records of a fetch, at most max.poll.records at once', async () => {
    broker.createTopics({ name: 'batch', partitions: 1 });
    const batches: { values: number[]; keys: string[]; headers: (string | undefined)[]; ctx: KafkaBatchContext }[] = [];
    @Injectable()
    class BatchListener {
      @KafkaListener({ id: 'batch', topics: ['batch'], batch: true, autoStartup: false, fromBeginning: true, deserializer: 'json', properties: { 'max.poll.records': 3 } })
      on(@Payload() values: number[], @Key() keys: string[], @Header('h') headers: (string | undefined)[], @Ctx() ctx: KafkaBatchContext) {
        batches.push({ values, keys, headers, ctx });
      }
    }
    app = await startApp(broker, { providers: [BatchListener] });
    await app.get(KafkaTemplate).sendBatch('batch', [1, 2, 3, 4, 5].map((n) => ({ value: n, key: `k${n}`, headers: { h: `h${n}` } })));
    await app.get(KafkaListenerEndpointRegistry).start('batch');
    await waitForCommit(broker, 'batch', 'batch', 0, 5);
    expect(batches.map((b) => b.values)).toEqual([[1, 2, 3], [4, 5]]);
    expect(batches[0].keys).toEqual(['k1', 'k2', 'k3']);
    expect(batches[1].headers).toEqual(['h4', 'h5']);
    expect(batches[0].ctx).toBeInstanceOf(KafkaBatchContext);
    expect(batches[1].ctx.records.map((r) => r.offset)).toEqual([3, 4]);
    expect(batches[1].ctx.contexts[0].offset).toBe(3);
    expect(JSON.parse(JSON.stringify(batches[1].ctx))).toMatchObject({ listenerId: 'batch', deliveryAttempt: 1, records: [{ offset: 3 }, { offset: 4 }] });
  });

  it('autoStartup: false waits for the registry', async () => {
    broker.createTopics({ name: 'later' });
    const got: string[] = [];
    @Injectable()
    class Later {
      @KafkaListener({ id: 'later', topics: ['later'], autoStartup: false, fromBeginning: true })
      on(@Payload() v: string) {
        got.push(v);
      }
    }
    app = await startApp(broker, { providers: [Later] });
    const registry = app.get(KafkaListenerEndpointRegistry);
    expect(registry.isRunning('later')).toBe(false);
    await app.get(KafkaTemplate).send('later', 'v');
    expect(broker.describeGroup('later')).toBeUndefined();
    await registry.start('later');
    await waitFor(() => got.length === 1);
    expect(got).toEqual(['v']);
  });

  it("without fromBeginning, a new group starts at the log end ('latest')", async () => {
    broker.createTopics({ name: 'latest' });
    const got: string[] = [];
    @Injectable()
    class Latest {
      @KafkaListener({ id: 'latest', topics: ['latest'] })
      on(@Payload() v: string) {
        got.push(v);
      }
    }
    const early = await startApp(broker, {});
    await early.get(KafkaTemplate).send('latest', 'early');
    await early.close();
    app = await startApp(broker, { providers: [Latest] });
    const template = app.get(KafkaTemplate);
    await waitFor(async () => {
      await template.send('latest', 'late');
      return got.length > 0;
    }, { intervalMs: 200 });
    expect(got).not.toContain('early');
  });

  it("'auto.offset.reset': 'earliest' (option or property) reads from the start", async () => {
    broker.createTopics({ name: 'earliest' });
    const got: string[] = [];
    @Injectable()
    class Earliest {
      @KafkaListener({ id: 'earliest-1', topics: ['earliest'], 'auto.offset.reset': 'earliest' })
      one(@Payload() v: string) {
        got.push(`1:${v}`);
      }

      @KafkaListener({ id: 'earliest-2', topics: ['earliest'], properties: { 'auto.offset.reset': 'earliest' } })
      two(@Payload() v: string) {
        got.push(`2:${v}`);
      }
    }
    const early = await startApp(broker, {});
    await early.get(KafkaTemplate).send('earliest', 'first');
    await early.close();
    app = await startApp(broker, { providers: [Earliest] });
    await waitFor(() => got.length === 2);
    expect(got.sort()).toEqual(['1:first', '2:first']);
  });

  it('deserializers: string, buffer, a function, and module-wide defaults', async () => {
    broker.createTopics({ name: 'deser' });
    const got: Record<string, unknown> = {};
    @Injectable()
    class Deser {
      @KafkaListener({ id: 'd-string', topics: ['deser'], fromBeginning: true, deserializer: 'string' })
      s(@Payload() v: unknown) { got.string = v; }

      @KafkaListener({ id: 'd-buffer', topics: ['deser'], fromBeginning: true, deserializer: 'buffer', keyDeserializer: 'buffer' })
      b(@Payload() v: unknown, @Key() k: unknown) { got.buffer = [v, k]; }

      @KafkaListener({ id: 'd-fn', topics: ['deser'], fromBeginning: true, deserializer: (data) => data.length })
      f(@Payload() v: unknown) { got.fn = v; }

      @KafkaListener({ id: 'd-module', topics: ['deser'], fromBeginning: true })
      m(@Payload() v: unknown, @Key() k: unknown) { got.module = [v, k]; }
    }
    app = await startApp(broker, { providers: [Deser], options: { deserializer: 'string', keyDeserializer: 'json' } });
    await app.get(KafkaTemplate).send('deser', { a: 1 }, { key: '{"k":2}' });
    await waitFor(() => Object.keys(got).length === 4);
    expect(got.string).toBe('{"a":1}');
    expect(got.buffer).toEqual([Buffer.from('{"a":1}'), Buffer.from('{"k":2}')]);
    expect(got.fn).toBe(7);
    expect(got.module).toEqual(['{"a":1}', { k: 2 }]);
  });

  it('a value that fails to deserialize goes to the error handler with its bytes, never to the listener', async () => {
    broker.createTopics({ name: 'poison' });
    const handler = new RecordingErrorHandler();
    const got: unknown[] = [];
    @Injectable()
    class Poison {
      @KafkaListener({ id: 'poison', topics: ['poison'], fromBeginning: true, deserializer: 'json', errorHandler: 'POISON_EH' })
      on(@Payload() v: unknown) { got.push(v); }
    }
    app = await startApp(broker, { providers: [Poison, { provide: 'POISON_EH', useValue: handler }] });
    const template = app.get(KafkaTemplate);
    await template.send('poison', Buffer.from('{not json'));
    await template.send('poison', { ok: true });
    await waitForCommit(broker, 'poison', 'poison', 0, 2);
    expect(got).toEqual([{ ok: true }]);
    expect(handler.failures).toHaveLength(1);
    const { error, record } = handler.failures[0];
    expect(error).toBeInstanceOf(DeserializationError);
    expect((error as DeserializationError).data).toEqual(Buffer.from('{not json'));
    expect((error as DeserializationError).isKey).toBe(false);
    expect(record.offset).toBe(0);
  });

  it('batch listeners: a function deserializer sees each record; a value that fails stops the batch before it, reaches the error handler alone, and the rest follows', async () => {
    broker.createTopics({ name: 'batch-poison', partitions: 1 });
    const handler = new RecordingErrorHandler();
    const calls: unknown[][] = [];
    const described: unknown[][] = [];
    @Injectable()
    class BatchPoison {
      @KafkaListener({ id: 'batch-poison', topics: ['batch-poison'], batch: true, autoStartup: false, fromBeginning: true, deserializer: 'json', errorHandler: 'BATCH_POISON_EH' })
      on(@Payload() values: unknown[], @Ctx() ctx: KafkaBatchContext) {
        calls.push(values);
        expect(ctx.records.map((r) => JSON.parse(r.value!.toString()))).toEqual(values);
      }

      @KafkaListener({ id: 'batch-fn', topics: ['batch-poison'], batch: true, autoStartup: false, fromBeginning: true, deserializer: (data, record) => `${record.offset}:${data}` })
      fn(@Payload() values: unknown[]) {
        described.push(values);
      }
    }
    app = await startApp(broker, { providers: [BatchPoison, { provide: 'BATCH_POISON_EH', useValue: handler }] });
    await app.get(KafkaTemplate).sendBatch('batch-poison', ['1', '2', '{bad', '4', '5'].map((v) => ({ value: Buffer.from(v) })));
    const registry = app.get(KafkaListenerEndpointRegistry);
    await Promise.all([registry.start('batch-poison'), registry.start('batch-fn')]);
    await waitForCommit(broker, 'batch-poison', 'batch-poison', 0, 5);
    await waitForCommit(broker, 'batch-fn', 'batch-poison', 0, 5);

    expect(calls.flat()).toEqual([1, 2, 4, 5]);
    expect(calls[0]).toEqual([1, 2]);
    expect(handler.failures).toHaveLength(1);
    expect(handler.failures[0].error).toBeInstanceOf(DeserializationError);
    expect(handler.failures[0].error.message).toMatch(/^cannot deserialize the value of batch-poison-0@2: /);
    expect(handler.failures[0].record.offset).toBe(2);
    expect(handler.batchFailures).toEqual([]);
    expect(described.flat()).toEqual(['0:1', '1:2', '2:{bad', '3:4', '4:5']);
  });

  it('providers made by useFactory and useValue are scanned too', async () => {
    broker.createTopics({ name: 'factory' });
    const got: string[] = [];
    class FactoryMade {
      @KafkaListener({ id: 'factory-made', topics: ['factory'], fromBeginning: true })
      on(@Payload() v: string) { got.push(`factory:${v}`); }
    }
    class ValueMade {
      @KafkaListener({ id: 'value-made', topics: ['factory'], fromBeginning: true })
      on(@Payload() v: string) { got.push(`value:${v}`); }
    }
    app = await startApp(broker, {
      providers: [
        { provide: 'FACTORY', useFactory: () => new FactoryMade() },
        { provide: 'VALUE', useValue: new ValueMade() },
      ],
    });
    await app.get(KafkaTemplate).send('factory', 'v');
    await waitFor(() => got.length === 2);
    expect(got.sort()).toEqual(['factory:v', 'value:v']);
  });

  it('KafkaModule.forRootAsync takes its options from injected providers', async () => {
    broker.createTopics({ name: 'async-config' });
    const got: string[] = [];
    @Module({ providers: [{ provide: 'BROKERS', useValue: broker.brokers }], exports: ['BROKERS'] })
    class ConfigModule {}
    @Injectable()
    class AsyncListener {
      constructor(@Inject(KafkaTemplate) readonly template: KafkaTemplate) {}
      @KafkaListener({ id: 'async-config', topics: ['async-config'], fromBeginning: true })
      on(@Payload() v: string) { got.push(v); }
    }
    const module = await Test.createTestingModule({
      imports: [
        KafkaModule.forRootAsync({
          imports: [ConfigModule],
          inject: ['BROKERS'],
          useFactory: (brokers: string[]) => kafkaTestOptions(broker, { client: { brokers, clientId: 'async' }, deserializer: 'string' }),
        }),
      ],
      providers: [AsyncListener],
    }).compile();
    module.useLogger(false);
    app = await module.init();
    await app.get(AsyncListener).template.send('async-config', 'configured');
    await waitFor(() => got.length === 1);
    expect(got).toEqual(['configured']);
  });

  it('ssl and sasl pass through to kafkajs', async () => {
    const secure = await createKafkaTestBroker({ sasl: { users: { alice: 'secret' } }, topics: [{ name: 'secured' }] });
    const got: string[] = [];
    @Injectable()
    class Secured {
      @KafkaListener({ id: 'secured', topics: ['secured'], fromBeginning: true })
      on(@Payload() v: string) { got.push(v); }
    }
    const secured = await startApp(secure, {
      providers: [Secured],
      options: { client: { brokers: secure.brokers, sasl: { mechanism: 'plain', username: 'alice', password: 'secret' } } },
    });
    try {
      await secured.get(KafkaTemplate).send('secured', 'hush');
      await waitFor(() => got.length === 1);
      expect(got).toEqual(['hush']);
    } finally {
      await secured.close();
      await secure.stop();
    }
  });
});
