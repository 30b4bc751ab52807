/**
 * Burrow (Debian's `burrow`, LinkedIn's lag monitor) against the sample application on the embedded broker:
 * Burrow reads the groups, their owners and offsets from `__consumer_offsets` and the log-end offsets from
 * the brokers, and its lag must agree, partition by partition, with the app's own `/metrics`. Burrow needs a
 * ZooKeeper for its own coordination: Debian's, started here on loopback.
 */
import { KafkaListenerEndpointRegistry } from '@kafka-nest/core';
import { waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, type RunningApp } from '../../src/bootstrap.js';
import { OrderStats } from '../../src/orders/order-stats.service.js';
import { type RunningProcess, startBurrow, startZooKeeper } from './support/burrow.js';

/** Value of one sample in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) return Number(line.slice(line.indexOf('}') + 1));
  }
  return undefined;
}

interface BurrowPartition {
  topic: string;
  partition: number;
  owner: string;
  current_lag: number;
  end: { offset: number } | null;
}

describe('Burrow reads the embedded broker', () => {
  let zookeeper: RunningProcess | undefined;
  let burrow: (RunningProcess & { url: string }) | undefined;
  let running: RunningApp;
  let registry: KafkaListenerEndpointRegistry;
  let stats: OrderStats;
  const REFRESH_SECONDS = 1;

  const post = (id: string) =>
    fetch(`${running.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, customerId: `c-${id}`, amountCents: 1200, quantity: 1 }) });
  /** The app's `kafka_nest_consumer_lag` for orders-service, by partition. */
  const appLag = async () => {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    return [0, 1, 2].map((p) => sample(text, 'kafka_nest_consumer_lag', { group: 'orders-service', topic: 'orders', partition: String(p) }));
  };
  const burrowGet = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${burrow!.url}/v3/kafka/local${path}`);
    return (await res.json()) as T;
  };
  /** Burrow's lag for orders-service on `orders`, by partition (undefined where it has none yet). */
  const burrowLag = async () => {
    const body = await burrowGet<{ error: boolean; status?: { partitions: BurrowPartition[] } }>('/consumer/orders-service/lag');
    const partitions = body.error ? [] : (body.status?.partitions ?? []).filter((p) => p.topic === 'orders');
    return [0, 1, 2].map((i) => partitions.find((p) => p.partition === i));
  };

  beforeAll(async () => {
    running = await bootstrap({ port: 0, demo: false }, { progressIntervalMs: 0, logger: false });
    registry = running.app.get(KafkaListenerEndpointRegistry);
    stats = running.app.get(OrderStats);
    await waitFor(() => registry.assignedPartitions('orders').length > 0, { timeoutMs: 15_000 });
    zookeeper = await startZooKeeper();
    burrow = await startBurrow(running.broker!.brokers, zookeeper.port, REFRESH_SECONDS);
  }, 90_000);

  afterAll(async () => {
    await burrow?.stop();
    await zookeeper?.stop();
    await running?.close();
  });

  it("lists the sample app's consumer groups", async () => {
    const groups = await waitFor(
      async () => {
        const body = await burrowGet<{ consumers: string[] }>('/consumer');
        return body.consumers?.includes('orders-service') && body.consumers.includes('payments-service') ? body.consumers : undefined;
      },
      { timeoutMs: 30_000, message: 'Burrow to list orders-service and payments-service' },
    );
    expect(groups).toEqual(expect.arrayContaining(['orders-service', 'payments-service']));
  });

  it("reports the lag of every partition as the app's /metrics does, and its owner from the group metadata", async () => {
    // Orders on every partition, consumed and committed: Burrow knows a partition once it has a commit.
    for (let i = 0; i < 12; i++) expect((await post(`before-${i}`)).status).toBe(202);
    await waitFor(() => stats.processed >= 12, { timeoutMs: 20_000 });
    await waitFor(() => running.broker!.committedOffsets('orders-service').filter((o) => o.topic === 'orders' && o.offset > 0).length === 3, {
      timeoutMs: 20_000,
      message: 'orders-service to commit on every partition',
    });

    // Burrow records an owner only for a partition of a topic it already knows, so the group metadata it read
    // at start-up (before its first topic refresh) named none: a rebalance now writes the members again.
    await waitFor(async () => (await burrowLag()).every((p) => p !== undefined), { timeoutMs: 15_000, message: 'Burrow to know every orders partition' });
    await registry.stop('orders');
    await registry.start('orders');
    await waitFor(() => registry.assignedPartitions('orders').length > 0, { timeoutMs: 15_000 });

    // Paused, the listener leaves new orders unread: a lag that holds still while both sides read it.
    registry.pause('orders');
    for (let i = 0; i < 7; i++) expect((await post(`paused-${i}`)).status).toBe(202);
    const fromApp = await waitFor(
      async () => {
        const lag = await appLag();
        return lag.reduce((a, b) => a! + (b ?? NaN), 0) === 7 ? lag : undefined;
      },
      { timeoutMs: 10_000, message: 'the app to report a lag of 7' },
    );
    // Burrow reads the log-end offsets every REFRESH_SECONDS: within a few refreshes it agrees exactly.
    const fromBurrow = await waitFor(
      async () => {
        const lag = await burrowLag();
        return lag.every((p, i) => p !== undefined && p.current_lag === fromApp[i] && p.owner !== '') ? lag : undefined;
      },
      { timeoutMs: 15_000 * REFRESH_SECONDS, message: `Burrow's lag (with owners) to agree with the app's ${JSON.stringify(fromApp)}` },
    );
    expect(fromBurrow.map((p) => p!.current_lag)).toEqual(fromApp);
    expect(fromBurrow.map((p) => p!.owner)).toEqual(['/127.0.0.1', '/127.0.0.1', '/127.0.0.1']);
    // The consumer detail has the member's client id from the same record, and the same lag.
    const detail = await burrowGet<{ topics: Record<string, { owner: string; client_id: string; 'current-lag': number }[]> }>('/consumer/orders-service');
    expect(detail.topics.orders.map((p) => p.client_id)).toEqual(['kafka-nest-sample', 'kafka-nest-sample', 'kafka-nest-sample']);

    registry.resume('orders');
    await waitFor(async () => (await appLag()).every((l) => l === 0), { timeoutMs: 20_000 });
    await waitFor(async () => (await burrowLag()).every((p) => p?.current_lag === 0), { timeoutMs: 15_000 * REFRESH_SECONDS, message: "Burrow's lag back to 0" });
  });
});
