/**
 * kafka_nest_consumer_lag end to end: real listener containers on the embedded broker, read through a
 * prom-client registry as a scrape reads it.
 */
import { KafkaTemplate } from '@kafka-nest/core';
import { Registry } from 'prom-client';
import { beforeAll, expect, it } from 'vitest';
import { brokerPerTest, startApp } from '../../fixtures/kafka-app.js';
import { quietNest, recordListener } from '../error-handling/e2e-support.js';

beforeAll(quietNest);
const env = brokerPerTest();

/** The lag samples of a scrape, as `group topic-partition` → lag. */
async function lagSamples(registry: Registry): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const m of (await registry.metrics()).matchAll(/^kafka_nest_consumer_lag\{group="([^"]+)",topic="([^"]+)",partition="(\d+)"\} (\d+)$/gm)) {
    out[`${m[1]} ${m[2]}-${m[3]}`] = Number(m[4]);
  }
  return out;
}

it('reports every topic of a group whose listeners consume different topics', async () => {
  env.broker.createTopics({ name: 'orders', partitions: 2 }, { name: 'refunds', partitions: 1 });
  const registry = new Registry();
  // Records written before the listeners start, which begin at the log end: never consumed, all lag.
  const seed = await startApp(env.broker);
  const template = seed.get(KafkaTemplate);
  await template.sendBatch('orders', [{ value: 1, partition: 0 }, { value: 2, partition: 1 }, { value: 3, partition: 1 }]);
  await template.sendBatch('refunds', [{ value: 4 }, { value: 5 }, { value: 6 }, { value: 7 }]);
  await seed.close();

  env.app = await startApp(env.broker, {
    providers: [
      recordListener({ id: 'orders', topics: ['orders'], groupId: 'shop' }, []),
      recordListener({ id: 'refunds', topics: ['refunds'], groupId: 'shop' }, []),
    ],
    options: { metrics: { registry } },
  });

  // Each instance reports the partitions it owns: once the group has settled, this one owns them all.
  await expect.poll(() => lagSamples(registry), { timeout: 15_000 }).toEqual({ 'shop orders-0': 1, 'shop orders-1': 2, 'shop refunds-0': 4 });
});
