/**
 * Consumer lag counted once across instances: two and then three instances of one application (child
 * processes) share a group; each exports `kafka_nest_consumer_lag` only for the partitions it owns, so the
 * dashboard's `sum by (group, topic, partition)` over their scrapes equals the broker's own lag for the group,
 * and `max by (group, topic)` of `kafka_nest_consumer_group_lag` equals the group's total.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { ChildApp, type ChildMessage } from '@kafka-nest/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerPerTest } from '../fixtures/kafka-app.js';
import type { LagInstanceConfig } from '../fixtures/metrics/lag-instance-app.js';

const INSTANCE_APP = fileURLToPath(new URL('../fixtures/metrics/lag-instance-app.ts', import.meta.url));
const PARTITIONS = 6;

const env = brokerPerTest();
const instances: ChildApp[] = [];
afterEach(async () => {
  await Promise.all(instances.splice(0).map((app) => app.kill()));
});

/** Every sample of `metric` in a scrape, with its labels. */
function samples(text: string, metric: string): { labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ labels, value: Number(m[2]) });
  }
  return out;
}

async function scrape(app: ChildApp): Promise<{ text: string; assigned: { topic: string; partitions: number[] }[] }> {
  const seen = app.messages.length;
  app.send({ type: 'scrape' });
  const answer = await app.waitForMessage((m: ChildMessage) => m.type === 'metrics' && app.messages.indexOf(m) >= seen, 10_000);
  return answer as unknown as { text: string; assigned: { topic: string; partitions: number[] }[] };
}

/** `partition + 1` records in each partition, written before the instances start (they read from the log end). */
async function seed(brokers: string[]): Promise<void> {
  const producer = new Kafka({ clientId: 'seed', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  for (let p = 0; p < PARTITIONS; p++) {
    await producer.send({ topic: 'orders', messages: Array.from({ length: p + 1 }, (_, i) => ({ value: `order-${i}`, partition: p })) });
  }
  await producer.disconnect();
}

describe('kafka_nest_consumer_lag across instances of one group', () => {
  it('the Grafana dashboard aggregates as this test does: lag summed per partition, group lag by max', () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../ops/grafana/kafka-nest-dashboard.json', import.meta.url), 'utf8')) as {
      panels: { targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs).toContain('sum by (group, topic, partition) (kafka_nest_consumer_lag)');
    expect(exprs).toContain('max by (group, topic) (kafka_nest_consumer_group_lag)');
  });

  it.each([2, 3])('%i instances: the dashboard sum equals the broker lag, each partition counted once', async (count) => {
    env.broker.createTopics({ name: 'orders', partitions: PARTITIONS });
    await seed(env.broker.brokers);
    const groupId = `orders-${count}`;
    for (let i = 0; i < count; i++) {
      const config: LagInstanceConfig = { brokers: env.broker.brokers, topic: 'orders', groupId, member: `instance-${i}` };
      instances.push(ChildApp.start({ entry: INSTANCE_APP, env: { LAG_INSTANCE_APP: JSON.stringify(config) } }));
    }
    await Promise.all(instances.map((app) => app.waitForMessage('ready', 60_000)));

    const brokerLag = () => Object.fromEntries(env.broker.lag(groupId).map((l) => [String(l.partition), l.lag]));
    const dashboard = async () => {
      const scrapes = await Promise.all(instances.map(scrape));
      // sum by (group, topic, partition) (kafka_nest_consumer_lag)
      const perPartition: Record<string, number> = {};
      for (const { text } of scrapes) {
        for (const s of samples(text, 'kafka_nest_consumer_lag')) {
          if (s.labels.group !== groupId) continue;
          perPartition[s.labels.partition!] = (perPartition[s.labels.partition!] ?? 0) + s.value;
        }
      }
      // max by (group, topic) (kafka_nest_consumer_group_lag)
      const groupLag = Math.max(...scrapes.flatMap(({ text }) => samples(text, 'kafka_nest_consumer_group_lag').map((s) => s.value)));
      const owners = scrapes.filter(({ assigned }) => assigned.some((tp) => tp.partitions.length > 0)).length;
      return { perPartition, groupLag, owners, broker: brokerLag() };
    };

    // Once every instance owns partitions (the group has settled), the sums agree.
    const expectedLag = Object.fromEntries(Array.from({ length: PARTITIONS }, (_, p) => [String(p), p + 1]));
    const total = Object.values(expectedLag).reduce((a, b) => a + b, 0);
    await expect
      .poll(dashboard, { timeout: 30_000, interval: 250 })
      .toEqual({ perPartition: expectedLag, groupLag: total, owners: count, broker: expectedLag });
  }, 120_000);
});
