// Every bad-input case fails at start-up (or, for a non-Error throw, is wrapped) with a message naming
// the class, the method and the fix.
import { Injectable } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import {
  KafkaConfigurationError,
  KafkaListener,
  KafkaTemplate,
  ListenerExecutionFailedError,
  type KafkaListenerOptions,
  type KafkaModuleOptions,
} from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApp, RecordingErrorHandler, startApp } from '../fixtures/kafka-app.js';

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'bad' }] });
});
afterAll(() => broker.stop());

/** Initializes an app with one listener `Orders.onOrder` carrying `options`; returns the start-up error. */
async function startupError(
  options: KafkaListenerOptions,
  extra: { providers?: any[]; second?: KafkaListenerOptions; module?: Partial<KafkaModuleOptions> } = {},
): Promise<KafkaConfigurationError> {
  @Injectable()
  class Orders {
    @KafkaListener(options)
    onOrder() {}
  }
  @Injectable()
  class Others {
    @KafkaListener(extra.second ?? { id: 'other', topics: ['bad'] })
    onOther() {}
  }
  const app = await compileApp(broker, { providers: [Orders, ...(extra.second ? [Others] : []), ...(extra.providers ?? [])], options: extra.module });
  const err = await app.init().then(
    async () => {
      await app.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KafkaConfigurationError);
  return err as KafkaConfigurationError;
}

describe('start-up errors', () => {
  it('a listener with no topics', async () => {
    const err = await startupError({ id: 'orders' });
    expect(err.message).toBe(`@KafkaListener on Orders.onOrder (id 'orders'): no topics: give 'topics: ["name", ...]' or 'topicPattern: /regex/'`);
    expect(err.listener).toBe('Orders.onOrder');
  });

  it('an empty topics list', async () => {
    const err = await startupError({ topics: [] });
    expect(err.message).toMatch(/^@KafkaListener on Orders\.onOrder: no topics/);
  });

  it('both topics and a pattern', async () => {
    const err = await startupError({ topics: ['bad'], topicPattern: /bad/ });
    expect(err.message).toContain(`give 'topics' or 'topicPattern', not both`);
  });

  it('two listeners with one id', async () => {
    const err = await startupError({ id: 'same', topics: ['bad'] }, { second: { id: 'same', topics: ['bad'] } });
    expect(err.message).toBe(`two listeners have the id 'same': Orders.onOrder and Others.onOther; give each @KafkaListener its own 'id'`);
  });

  it('an errorHandler token with no provider', async () => {
    const err = await startupError({ id: 'orders', topics: ['bad'], errorHandler: 'ORDERS_EH' });
    expect(err.message).toBe(
      `@KafkaListener on Orders.onOrder (id 'orders'): listener 'orders' names error handler token ORDERS_EH, but no provider is registered for it; add it to the module's providers`,
    );
  });

  it('an errorHandler token whose provider is not an error handler', async () => {
    const err = await startupError({ topics: ['bad'], errorHandler: 'NOT_EH' }, { providers: [{ provide: 'NOT_EH', useValue: { handle() {} } }] });
    expect(err.message).toContain('error handler token NOT_EH resolves to something that is not a CommonErrorHandler');
  });

  it('an unknown property, with a suggestion', async () => {
    const err = await startupError({ topics: ['bad'], properties: { 'max.poll.record': 10 } as any });
    expect(err.message).toMatch(/^@KafkaListener on Orders\.onOrder: unknown consumer property 'max\.poll\.record'; did you mean 'max\.poll\.records'\? Supported: fetch\.min\.bytes, /);
  });

  it('an out-of-range property', async () => {
    const err = await startupError({ topics: ['bad'], properties: { 'max.poll.records': 0 } });
    expect(err.message).toBe(
      `@KafkaListener on Orders.onOrder: property 'max.poll.records' must be an integer from 1 to 2147483647, got 0; fix the value or remove the property`,
    );
  });

  it('a property that is not a number', async () => {
    const err = await startupError({ topics: ['bad'], properties: { 'session.timeout.ms': 'soon' } });
    expect(err.message).toContain(`property 'session.timeout.ms' must be an integer from 1 to 2147483647, got "soon"`);
  });

  it('a heartbeat interval not below the session timeout', async () => {
    const err = await startupError({ topics: ['bad'], properties: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 6000 } });
    expect(err.message).toContain(`property 'heartbeat.interval.ms' (6000) must be lower than 'session.timeout.ms' (6000)`);
  });

  it('a bad auto.offset.reset', async () => {
    const err = await startupError({ topics: ['bad'], properties: { 'auto.offset.reset': 'none' as any } });
    expect(err.message).toContain(`property 'auto.offset.reset' must be 'earliest' or 'latest', got "none"`);
  });

  it('a setting that has its own option', async () => {
    const err = await startupError({ topics: ['bad'], properties: { 'group.id': 'g' } as any });
    expect(err.message).toContain(`property 'group.id' is not set through 'properties': use the listener's 'groupId' option`);
  });

  it('an invalid topic name', async () => {
    const err = await startupError({ topics: ['orders!'] });
    expect(err.message).toBe(
      `@KafkaListener on Orders.onOrder: topic "orders!" is not a legal Kafka topic name; use 1 to 249 characters of a-z, A-Z, 0-9, '.', '_' and '-' (not '.' or '..')`,
    );
  });

  it('an invalid topic pattern', async () => {
    const err = await startupError({ topicPattern: '(orders' as any });
    expect(err.message).toMatch(/^@KafkaListener on Orders\.onOrder: 'topicPattern' "\(orders" is not a valid regular expression \(.*\); fix the pattern$/);
  });

  it('a stateful (global) topic pattern', async () => {
    const err = await startupError({ topicPattern: /orders/g });
    expect(err.message).toContain(`'topicPattern' /orders/g has the 'g' or 'y' flag, which makes matching stateful; remove the flag`);
  });

  it('a bad concurrency', async () => {
    const err = await startupError({ topics: ['bad'], concurrency: 0 });
    expect(err.message).toContain(`'concurrency' must be an integer of at least 1, got 0`);
  });

  it('a boolean option given as a string or a number', async () => {
    const err = await startupError({ id: 'orders', topics: ['bad'], autoStartup: 'false' as any });
    expect(err.message).toBe(`@KafkaListener on Orders.onOrder (id 'orders'): 'autoStartup' must be true or false, got "false"`);
    expect((await startupError({ topics: ['bad'], batch: 1 as any })).message).toContain(`'batch' must be true or false, got 1`);
    expect((await startupError({ topics: ['bad'], fromBeginning: 'yes' as any })).message).toContain(`'fromBeginning' must be true or false, got "yes"`);
    expect((await startupError({ topics: ['bad'], syncCommits: 0 as any })).message).toContain(`'syncCommits' must be true or false, got 0`);
    expect((await startupError({ topics: ['bad'] }, { module: { syncCommits: 'no' as any } })).message).toContain(
      `'syncCommits' (KafkaModule option) must be true or false, got "no"`,
    );
  });

  it('a bad ack mode and a bad deserializer', async () => {
    expect((await startupError({ topics: ['bad'], ackMode: 'SOMETIMES' as any })).message).toContain(`'ackMode' must be one of RECORD, BATCH, MANUAL, MANUAL_IMMEDIATE`);
    expect((await startupError({ topics: ['bad'], deserializer: 'xml' as any })).message).toContain(`'deserializer' must be 'json', 'string', 'buffer' or a function, got "xml"`);
  });
});

describe('a handler that throws a non-Error value', () => {
  it('is wrapped in ListenerExecutionFailedError for the error handler', async () => {
    const handler = new RecordingErrorHandler();
    @Injectable()
    class Thrower {
      @KafkaListener({ id: 'thrower', topics: ['bad'], fromBeginning: true, errorHandler: 'EH' })
      onRecord() {
        throw 'boom';
      }
    }
    const app = await startApp(broker, { providers: [Thrower, { provide: 'EH', useValue: handler }] });
    try {
      await app.get(KafkaTemplate).send('bad', 1);
      await waitFor(() => handler.failures.length === 1);
      const { error } = handler.failures[0];
      expect(error).toBeInstanceOf(ListenerExecutionFailedError);
      expect(error.message).toBe(
        `listener 'thrower' (Thrower.onRecord) threw a non-Error value ("boom"); throw an Error (or a subclass) so that error handlers and logs get a message and a stack trace`,
      );
      expect((error as ListenerExecutionFailedError).thrown).toBe('boom');
      expect(error.cause).toBe('boom');
    } finally {
      await app.close();
    }
  });
});
