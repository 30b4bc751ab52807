// Issue 11 item 5: a misspelt @KafkaListener option or consumer property fails start-up with a suggestion,
// even where nothing type-checks the code (vitest, `nest start` with SWC).
import { Injectable } from '@nestjs/common';
import { KafkaConfigurationError, KafkaListener, type KafkaListenerOptions } from '@kafka-nest/core';
import { describe, expect, it } from 'vitest';
import { brokerPerTest, compileApp } from '../fixtures/kafka-app.js';

const env = brokerPerTest({ topics: [{ name: 'orders' }] });

async function startupError(options: Record<string, unknown>): Promise<KafkaConfigurationError> {
  @Injectable()
  class Orders {
    @KafkaListener(options as KafkaListenerOptions)
    onOrder() {}
  }
  const app = await compileApp(env.broker, { providers: [Orders] });
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

describe('misspelt listener options', () => {
  it('refuses unknown @KafkaListener options, suggesting the ones meant', async () => {
    const err = await startupError({ topics: ['orders'], fromBegining: true, groupid: 'g' });
    expect(err.message).toMatch(
      /^@KafkaListener on Orders\.onOrder: unknown options 'fromBegining' \(did you mean 'fromBeginning'\?\), 'groupid' \(did you mean 'groupId'\?\); @KafkaListener takes id, topics, /,
    );
    expect(err.listener).toBe('Orders.onOrder');
  });

  it('points a consumer property written at the top level into properties', async () => {
    const err = await startupError({ id: 'orders', topics: ['orders'], 'session.timeout.ms': 10_000 });
    expect(err.message).toContain(`unknown option 'session.timeout.ms' is a consumer property: put it in 'properties: { 'session.timeout.ms': ... }'`);
  });

  it("suggests 'session.timeout.ms' for the consumer property 'session.timeout'", async () => {
    const err = await startupError({ id: 'orders', topics: ['orders'], properties: { 'session.timeout': 10_000 } });
    expect(err.message).toMatch(/unknown consumer property 'session\.timeout'; did you mean 'session\.timeout\.ms'\? Supported: /);
  });

  it('starts with every option spelt right', async () => {
    @Injectable()
    class Orders {
      @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'g', fromBeginning: true, properties: { 'session.timeout.ms': 10_000 } })
      onOrder() {}
    }
    env.app = await compileApp(env.broker, { providers: [Orders] });
    await env.app.init();
  });
});
