/**
 * kafkajs's idle request-queue timer: a listener and a template talking to the embedded broker arm no timer
 * with a negative delay (which Node clamps to 1 ms, waking every idle connection each millisecond, and which
 * Node 24 reports as a TimeoutNegativeWarning in the application's log).
 */
import { Injectable } from '@nestjs/common';
import { KafkaListener, KafkaTemplate, Payload } from '@kafka-nest/core';
import { afterEach, expect, it } from 'vitest';
import { brokerPerTest, startApp } from '../../fixtures/kafka-app.js';

const env = brokerPerTest();

@Injectable()
class Orders {
  readonly seen: string[] = [];
  @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders-service', 'auto.offset.reset': 'earliest', deserializer: 'string' })
  handle(@Payload() value: string) {
    this.seen.push(value);
  }
}

const realSetTimeout = globalThis.setTimeout;
afterEach(() => {
  globalThis.setTimeout = realSetTimeout;
});

it('a listener and a template round trip arm no timer with a negative delay, nor warn', async () => {
  const negative: number[] = [];
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  globalThis.setTimeout = ((fn: (...a: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    if (typeof ms === 'number' && ms < 0) negative.push(ms);
    return realSetTimeout(fn, ms, ...args);
  }) as typeof setTimeout;
  try {
    env.broker.createTopics({ name: 'orders', partitions: 1 });
    env.app = await startApp(env.broker, { providers: [Orders] });
    await env.app.get(KafkaTemplate).send('orders', 'order-1');
    await expect.poll(() => env.app!.get(Orders).seen, { timeout: 15_000 }).toEqual(['order-1']);
    // The connections stay open and idle for a while, as between polls in production.
    await env.app.get(KafkaTemplate).send('orders', 'order-2');
    await expect.poll(() => env.app!.get(Orders).seen, { timeout: 15_000 }).toEqual(['order-1', 'order-2']);
  } finally {
    process.off('warning', onWarning);
  }
  expect(negative).toEqual([]);
  expect(warnings).not.toContain('TimeoutNegativeWarning');
});
