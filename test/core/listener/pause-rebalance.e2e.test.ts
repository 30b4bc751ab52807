/**
 * A paused container across rebalances. kafkajs keeps a consumer's paused partitions when the group
 * rebalances, so a partition paused before it moved to another instance, and given back after `resume()`,
 * must be fetched again; while the container is paused, a partition coming back stays paused.
 */
import { Injectable, type INestApplicationContext } from '@nestjs/common';
import { Ctx, KafkaContext, KafkaListener, KafkaListenerEndpointRegistry, KafkaTemplate } from '@kafka-nest/core';
import { waitFor, waitForAssignment } from '@kafka-nest/testing';
import { afterEach, expect, it } from 'vitest';
import { brokerPerTest, startApp } from '../../fixtures/kafka-app.js';

const env = brokerPerTest({ topics: [{ name: 'orders', partitions: 2 }] });
let second: INestApplicationContext | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
});

/** One instance of the service: a listener in group `orders`, recording `partition:value`. */
function instance(seen: string[]) {
  @Injectable()
  class Orders {
    @KafkaListener({ id: 'orders', topics: ['orders'], groupId: 'orders', fromBeginning: true, deserializer: 'string' })
    on(@Ctx() ctx: KafkaContext) {
      seen.push(`${ctx.partition}:${ctx.value?.toString()}`);
    }
  }
  return Orders;
}

it('pause, a second instance joins, resume, it leaves: both partitions are fetched again', async () => {
  const seen: string[] = [];
  env.app = await startApp(env.broker, { providers: [instance(seen)] });
  const registry = env.app.get(KafkaListenerEndpointRegistry);
  await waitForAssignment(registry, 'orders', 2);

  registry.pause('orders');
  second = await startApp(env.broker, { providers: [instance([])] });
  await waitForAssignment(second.get(KafkaListenerEndpointRegistry), 'orders', 1);
  await waitForAssignment(registry, 'orders', 1);
  registry.resume('orders');
  await second.close();
  second = undefined;
  await waitForAssignment(registry, 'orders', 2);
  await waitFor(() => env.broker.describeGroup('orders')?.state === 'Stable');

  const template = env.app.get(KafkaTemplate);
  await template.send('orders', 'a', { partition: 0 });
  await template.send('orders', 'b', { partition: 1 });
  await waitFor(() => seen.length === 2 || undefined, { message: 'both records' });
  expect(seen.sort()).toEqual(['0:a', '1:b']);
});

it('a partition assigned while the container is paused stays paused until resume()', async () => {
  const seen: string[] = [];
  const other: string[] = [];
  second = await startApp(env.broker, { providers: [instance(other)] });
  env.app = await startApp(env.broker, { providers: [instance(seen)] });
  const registry = env.app.get(KafkaListenerEndpointRegistry);
  await waitForAssignment(registry, 'orders', 1);

  registry.pause('orders');
  await second.close();
  second = undefined;
  await waitForAssignment(registry, 'orders', 2);
  await waitFor(() => env.broker.describeGroup('orders')?.state === 'Stable');
  const template = env.app.get(KafkaTemplate);
  await template.send('orders', 'a', { partition: 0 });
  await template.send('orders', 'b', { partition: 1 });
  // Both records wait: lag shows them, and nothing was delivered.
  await waitFor(async () => (await registry.lag('orders')).reduce((n, p) => n + p.lag, 0) === 2);
  expect(seen).toEqual([]);

  registry.resume('orders');
  await waitFor(() => seen.length === 2 || undefined);
  expect(seen.sort()).toEqual(['0:a', '1:b']);
});
