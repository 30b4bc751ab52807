// Every bad @RetryableTopic / @DltHandler set-up fails at start-up with a message naming the class, the
// method and what to change.
import { Injectable, type Type } from '@nestjs/common';
import type { EmbeddedKafkaBroker } from '@kafka-nest/broker';
import {
  DefaultErrorHandler,
  DltHandler,
  KafkaConfigurationError,
  KafkaListener,
  type KafkaListenerOptions,
  RetryableTopic,
  type RetryableTopicOptions,
} from '@kafka-nest/core';
import { createKafkaTestBroker } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileApp } from '../../fixtures/kafka-app.js';

const LISTENER: KafkaListenerOptions = { id: 'payments', topics: ['payments'], autoStartup: false };
const ERROR_HANDLER = Symbol('PAYMENTS_ERROR_HANDLER');

let broker: EmbeddedKafkaBroker;
beforeAll(async () => {
  broker = await createKafkaTestBroker({ topics: [{ name: 'payments' }] });
});
afterAll(() => broker.stop());

/** Initializes an app with `provider`; returns the start-up error. */
async function startupError(provider: Type<unknown>): Promise<KafkaConfigurationError> {
  const app = await compileApp(broker, { providers: [provider, { provide: ERROR_HANDLER, useValue: new DefaultErrorHandler() }] });
  // A start that succeeds closes the app and yields undefined, which fails the check below.
  const err: unknown = await app.init().then(() => app.close(), (e: unknown) => e);
  expect(err).toBeInstanceOf(KafkaConfigurationError);
  return err as KafkaConfigurationError;
}

/** The start-up error of `Payments.charge` with these options. */
function optionsError(retry: RetryableTopicOptions, listener: KafkaListenerOptions = LISTENER): Promise<KafkaConfigurationError> {
  @Injectable()
  class Payments {
    @RetryableTopic(retry)
    @KafkaListener(listener)
    charge() {}
  }
  return startupError(Payments);
}

const PREFIX = `@RetryableTopic on Payments.charge (id 'payments'): `;

describe('@RetryableTopic start-up errors', () => {
  it('attempts below 1', async () => {
    const err = await optionsError({ attempts: 0 });
    expect(err.message).toBe(`${PREFIX}'attempts' must be a whole number of at least 1 (deliveries in all, the first one included), got 0`);
    expect(err.listener).toBe('Payments.charge');
  });

  it('a negative delay', async () => {
    const err = await optionsError({ backoff: { delay: -1 } });
    expect(err.message).toBe(`${PREFIX}'backoff.delay' must be a number of milliseconds >= 0, got -1`);
  });

  it('a multiplier below 1', async () => {
    const err = await optionsError({ backoff: { multiplier: 0.5 } });
    expect(err.message).toBe(`${PREFIX}'backoff.multiplier' must be a number >= 1 (1 for a fixed delay, 2 to double it each time), got 0.5`);
  });

  it('a maxDelay below the delay of an exponential back-off', async () => {
    const err = await optionsError({ backoff: { delay: 500, multiplier: 2, maxDelay: 100 } });
    expect(err.message).toBe(`${PREFIX}'backoff.maxDelay' (100) is below 'backoff.delay' (500); raise maxDelay or lower delay`);
  });

  it('a retry suffix making an invalid topic name', async () => {
    const err = await optionsError({ retryTopicSuffix: '/retry' });
    expect(err.message).toBe(
      `${PREFIX}'retryTopicSuffix' makes an invalid topic name for 'payments': 'payments/retry' has characters other than ASCII letters, digits, '.', '_' and '-'; use ASCII letters, digits, '.', '_' and '-', and keep the whole name within 249 characters`,
    );
  });

  it('a DLT suffix making a topic name too long', async () => {
    const err = await optionsError({ dltTopicSuffix: `-${'d'.repeat(245)}` });
    expect(err.message).toMatch(/^@RetryableTopic on Payments\.charge \(id 'payments'\): 'dltTopicSuffix' makes an invalid topic name for 'payments': a topic name is at most 249 characters/);
  });

  it('include and exclude together', async () => {
    const err = await optionsError({ include: [RangeError], exclude: [TypeError] });
    expect(err.message).toBe(`${PREFIX}give 'include' (only these errors are retried) or 'exclude' (these are not), not both`);
  });

  it('a batch listener', async () => {
    const err = await optionsError({}, { ...LISTENER, batch: true });
    expect(err.message).toBe(
      `${PREFIX}retry topics need a record listener (Spring does not support batch listeners either); remove 'batch: true', or keep it and use an 'errorHandler' with blocking retries instead`,
    );
  });

  it('a topic pattern', async () => {
    const err = await optionsError({}, { id: 'payments', topicPattern: /payments/, autoStartup: false });
    expect(err.message).toBe(`${PREFIX}retry topics are named after the listener's topics; give 'topics: [...]' instead of 'topicPattern'`);
  });

  it('an errorHandler on the listener', async () => {
    const err = await optionsError({}, { ...LISTENER, errorHandler: ERROR_HANDLER });
    expect(err.message).toBe(`${PREFIX}the listener also names an 'errorHandler', but retry topics bring their own; remove 'errorHandler', or remove @RetryableTopic for blocking retries`);
  });

  it('two @DltHandler methods in one class', async () => {
    @Injectable()
    class Payments {
      @RetryableTopic()
      @KafkaListener(LISTENER)
      charge() {}

      @DltHandler()
      onDead() {}

      @DltHandler()
      onDeadAgain() {}
    }
    const err = await startupError(Payments);
    expect(err.message).toBe(
      `class Payments has 2 @DltHandler methods (Payments.onDead, Payments.onDeadAgain); keep one: it receives the dead-lettered records of every @RetryableTopic listener of the class`,
    );
    expect(err.listener).toBe('Payments.onDeadAgain');
  });
});
