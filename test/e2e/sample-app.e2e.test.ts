/**
 * The sample application end to end: booted on the embedded broker as `npm start` boots it, driven over
 * HTTP, observed through /metrics, /health and the broker's own view of the topics.
 */
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Logger } from '@nestjs/common';
import { ApiKey } from '@kafka-nest/broker';
import { KafkaListenerEndpointRegistry, type KafkaTemplate } from '@kafka-nest/core';
import { createKafkaTestBroker, waitFor } from '@kafka-nest/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bootstrap, type RunningApp } from '../../src/bootstrap.js';
import { DEMO_INTERVAL_MS, DemoProducer } from '../../src/demo/demo-producer.js';
import { PROGRESS_LAG_TIMEOUT_MS, ProgressReporter } from '../../src/demo/progress-reporter.js';
import { ConfigError, readConfig } from '../../src/config.js';
import { kafkaProblemAt } from '../../src/ops/kafka-probe.js';
import { OrderStats } from '../../src/orders/order-stats.service.js';
import { FRAUD_LIMIT_CENTS } from '../../src/orders/orders.listener.js';

/** Value of one sample in Prometheus text, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    if (Object.entries(labels).every(([k, v]) => inside.includes(`${k}="${v}"`))) return Number(line.slice(line.indexOf('}') + 1));
  }
  return undefined;
}

/** What the tests read of the Grafana dashboard. */
interface Dashboard {
  __inputs?: { name: string }[];
  templating: { list: { name: string }[] };
  panels: { title: string; targets: { expr: string }[] }[];
}

const dashboard = readFileSync(new URL('../../ops/grafana/kafka-nest-dashboard.json', import.meta.url), 'utf8');

describe('sample application', () => {
  let running: RunningApp;
  let stats: OrderStats;
  let registry: KafkaListenerEndpointRegistry;

  const post = (body: unknown) => fetch(`${running.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const metrics = async () => (await fetch(`${running.url}/metrics`)).text();
  const ordersLag = async () => {
    const text = await metrics();
    return [0, 1, 2].map((p) => sample(text, 'kafka_nest_consumer_lag', { group: 'orders-service', topic: 'orders', partition: String(p) }) ?? NaN);
  };

  beforeAll(async () => {
    running = await bootstrap({ port: 0, demo: false }, { progressIntervalMs: 0, logger: false });
    stats = running.app.get(OrderStats);
    registry = running.app.get(KafkaListenerEndpointRegistry);
    await waitFor(() => registry.assignedPartitions('orders').length > 0 && registry.assignedPartitions('orders-dlt').length > 0, { timeoutMs: 15_000 });
  });

  afterAll(async () => {
    await running?.close();
  });

  it('reports healthy with every container running', async () => {
    const res = await fetch(`${running.url}/health`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; embeddedBroker: boolean; containers: { id: string; running: boolean }[] };
    expect(body.status).toBe('up');
    expect(body.embeddedBroker).toBe(true);
    expect(body.containers.map((c: { id: string; running: boolean }) => [c.id, c.running]).sort()).toEqual([
      ['orders', true],
      ['orders-dlt', true],
      ['payments', true],
      ['payments-dlt', true],
      ['payments-retry', true],
    ]);
  });

  it('rejects an invalid order with 400 and produces nothing', async () => {
    const before = running.broker!.offsets('orders').map((o) => o.endOffset);
    const res = await post({ id: 'bad-1', customerId: '', amountCents: -5, quantity: 1 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string[] }).message.join(' ')).toContain('amountCents must be a positive number');
    expect(running.broker!.offsets('orders').map((o) => o.endOffset)).toEqual(before);
  });

  it('shows lag while the orders container is paused, and 0 once it has caught up', async () => {
    await waitFor(async () => (await ordersLag()).every((l) => l === 0), { timeoutMs: 10_000 });
    registry.pause('orders');
    const processed = stats.processed;
    for (let i = 0; i < 6; i++) expect((await post({ id: `ok-${i}`, customerId: `c-${i}`, amountCents: 1200, quantity: 2 })).status).toBe(202);
    const paused = await ordersLag();
    expect(paused.reduce((a, b) => a + b, 0)).toBe(6);
    expect(stats.processed).toBe(processed);

    registry.resume('orders');
    await waitFor(() => stats.processed === processed + 6, { timeoutMs: 10_000 });
    await waitFor(async () => (await ordersLag()).every((l) => l === 0), { timeoutMs: 10_000 });
    const text = await metrics();
    expect(sample(text, 'kafka_nest_listener_records_total', { listener: 'orders', outcome: 'success' })).toBeGreaterThanOrEqual(6);
    expect(sample(text, 'kafka_nest_producer_sends_total', { topic: 'orders', result: 'success' })).toBeGreaterThanOrEqual(6);
  });

  it('dead-letters an order the handler rejects, after its retries, with the failure headers', async () => {
    const failures = stats.failedDeliveries;
    const res = await post({ id: 'too-big', customerId: 'c-fraud', amountCents: FRAUD_LIMIT_CENTS + 1, quantity: 1 });
    expect(res.status).toBe(202);
    const [dead] = await waitFor(() => {
      const r = running.broker!.allRecords('orders.DLT');
      return r.length === 1 ? r : undefined;
    }, { timeoutMs: 15_000 });
    expect(stats.failedDeliveries - failures).toBe(3); // FixedBackOff(200, 2): three deliveries in all
    expect(JSON.parse(dead.value!.toString())).toMatchObject({ id: 'too-big' });
    const header = (k: string) => dead.headers.find((h) => h.key === k)?.value?.toString();
    expect(header('kafka_dlt-original-topic')).toBe('orders');
    expect(header('kafka_dlt-exception-fqcn')).toBe('ListenerExecutionFailedError');
    expect(header('kafka_dlt-exception-cause-fqcn')).toBe('FraudCheckFailedError');
    expect(header('kafka_dlt-original-consumer-group')).toBe('orders-service');
    await waitFor(() => stats.deadLettered === 1, { timeoutMs: 10_000 });
    await waitFor(async () => (await ordersLag()).every((l) => l === 0), { timeoutMs: 10_000 });
    const text = await metrics();
    expect(sample(text, 'kafka_nest_dlt_publishes_total', { topic: 'orders.DLT', result: 'success' })).toBe(1);
    expect(sample(text, 'kafka_nest_listener_records_total', { listener: 'orders', outcome: 'failure' })).toBe(3);
  });

  it('counts a payment moved to payments-retry as a retry, not as a dead letter', async () => {
    const count = (text: string, name: string, labels: Record<string, string>) => sample(text, name, labels) ?? 0;
    const before = await metrics();
    const [charged, retries] = [stats.paymentsCharged, stats.paymentRetries];
    // The pretend gateway times out once on an order id ending in '8' (char code 56, a multiple of 4).
    expect((await post({ id: 'pay-8', customerId: 'c-pay', amountCents: 700, quantity: 1 })).status).toBe(202);
    await waitFor(() => stats.paymentsCharged === charged + 1 && stats.paymentRetries === retries + 1, { timeoutMs: 15_000 });

    const after = await metrics();
    const forwards = { topic: 'payments-retry', result: 'success' };
    expect(count(after, 'kafka_nest_retry_topic_forwards_total', forwards) - count(before, 'kafka_nest_retry_topic_forwards_total', forwards)).toBe(1);
    const retried = { listener: 'payments', topic: 'payments', outcome: 'retried' };
    expect(count(after, 'kafka_nest_listener_records_total', retried) - count(before, 'kafka_nest_listener_records_total', retried)).toBe(1);
    expect(sample(after, 'kafka_nest_dlt_publishes_total', { topic: 'payments-retry' })).toBeUndefined();
    expect(sample(after, 'kafka_nest_listener_records_total', { listener: 'payments', outcome: 'dead_lettered' })).toBeUndefined();
  });

  it('answers /metrics at once while the broker does not answer, without lag samples rather than stale ones', async () => {
    const broker = running.broker!;
    const lagFailures = (text: string) => sample(text, 'kafka_nest_consumer_lag_read_failures_total', { listener: 'orders' }) ?? 0;
    const ordersLagSample = (text: string) => sample(text, 'kafka_nest_consumer_lag', { group: 'orders-service' });
    const before = await metrics();
    expect(ordersLagSample(before)).toBeDefined();

    // Every lag read needs OffsetFetch and ListOffsets: held 8 s, they hang each container's read as a
    // broker that is down does (kafkajs's admin then retries for some 40 s).
    for (const apiKey of [ApiKey.OffsetFetch, ApiKey.ListOffsets]) broker.injectFault({ apiKey, delayMs: 8_000, count: 1_000 });
    try {
      for (const scrape of [1, 2]) {
        const started = performance.now();
        const text = await metrics();
        expect(performance.now() - started).toBeLessThan(4_000); // the 2 s lag time limit, once for all containers
        expect(ordersLagSample(text)).toBeUndefined();
        expect(lagFailures(text) - lagFailures(before)).toBe(scrape);
        expect(sample(text, 'kafka_nest_listener_records_total', { listener: 'orders', outcome: 'success' })).toBeGreaterThan(0);
        expect(sample(text, 'kafka_nest_listener_container_running', { listener: 'orders' })).toBe(1);
      }
    } finally {
      broker.clearFaults();
    }
    await waitFor(async () => ordersLagSample(await metrics()) !== undefined, { timeoutMs: 20_000 });
  });

  it("prints a progress line on time while the broker does not answer, with '?' for the lag", async () => {
    const broker = running.broker!;
    const lines: string[] = [];
    const spy = vi.spyOn(Logger.prototype, 'log').mockImplementation(function (this: Logger, message: unknown) {
      lines.push(String(message));
    });
    for (const apiKey of [ApiKey.OffsetFetch, ApiKey.ListOffsets]) broker.injectFault({ apiKey, delayMs: 8_000, count: 1_000 });
    try {
      const started = performance.now();
      await running.app.get(ProgressReporter).report();
      expect(performance.now() - started).toBeLessThan(PROGRESS_LAG_TIMEOUT_MS + 1_500);
      expect(lines.find((l) => l.startsWith('orders:'))).toMatch(/\| lag: orders-service \?, payments-service \?$/);
    } finally {
      spy.mockRestore();
      broker.clearFaults();
    }
  });

  it('exports every metric the Grafana dashboard queries', async () => {
    const queried = new Set([...dashboard.matchAll(/kafka_nest_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')));
    const exported = new Set([...(await metrics()).matchAll(/^# TYPE (kafka_nest_[a-z_]+) /gm)].map((m) => m[1]));
    expect(queried.size).toBeGreaterThan(4);
    expect(queried).toContain('kafka_nest_retry_topic_forwards_total');
    for (const name of queried) expect(exported, `dashboard queries ${name}`).toContain(name);
  });

  it("the dashboard's failure rate divides failed deliveries by deliveries, not by every outcome", () => {
    // A failed delivery is counted again as retried or recovered (and dead_lettered): over all outcomes, a
    // listener failing every delivery would show well under 100%.
    const panel = (JSON.parse(dashboard) as Dashboard).panels.find((p) => p.title.startsWith('Failure rate'));
    const [numerator, denominator] = panel!.targets[0]!.expr.split(' / ');
    expect(numerator).toContain('kafka_nest_listener_records_total{outcome="failure"}');
    expect(denominator).toContain('kafka_nest_listener_records_total{outcome=~"success|failure"}');
  });

  it('the dashboard uses each variable it declares and declares each it uses', () => {
    const { __inputs: inputs = [], templating } = JSON.parse(dashboard) as Dashboard;
    const declared = [...inputs.map((i) => i.name), ...templating.list.map((v) => v.name)];
    const used = new Set([...dashboard.matchAll(/\$\{([A-Za-z_]+)\}/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual([...declared].sort());
  });
});

/** A TCP server on 127.0.0.1 that is not Kafka: `onConnection` decides what it does with each client. */
async function notKafka(onConnection: (socket: Socket) => void): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('sample application start-up errors', () => {
  it('refuses KAFKA_BROKERS set but empty rather than quietly starting the embedded broker', () => {
    for (const value of ['', '  ']) {
      expect(() => readConfig({ KAFKA_BROKERS: value })).toThrow(
        'KAFKA_BROKERS is set but empty; give host:port,host:port (e.g. KAFKA_BROKERS=kafka-1:9092,kafka-2:9092), or unset it to start the embedded broker',
      );
    }
    expect(readConfig({}).brokers).toBeUndefined();
  });

  it('HOST chooses the HTTP address, loopback by default; a value that is no address is refused', () => {
    expect(readConfig({}).host).toBe('127.0.0.1');
    expect(readConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(() => readConfig({ HOST: 'not a host' })).toThrow("HOST must be a host name or an IP address (e.g. 0.0.0.0), got 'not a host'");
  });

  it('names an address that accepts connections but never answers as Kafka, within the 3 s limit', async () => {
    const silent = await notKafka(() => undefined);
    try {
      const started = Date.now();
      const failed = bootstrap({ brokers: [silent.address], port: 0, demo: false }, { logger: false });
      await expect(failed).rejects.toThrow(ConfigError);
      await expect(failed).rejects.toThrow(
        `cannot reach Kafka at ${silent.address} (KAFKA_BROKERS): ${silent.address} accepted a connection but sent no Kafka answer within 3 s; check the addresses and that the cluster is up`,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await silent.close();
    }
  });

  it('names an address that answers something other than Kafka, at once', async () => {
    const http = await notKafka((socket) => socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')));
    try {
      const started = Date.now();
      await expect(bootstrap({ brokers: [http.address], port: 0, demo: false }, { logger: false })).rejects.toThrow(
        `cannot reach Kafka at ${http.address} (KAFKA_BROKERS): ${http.address} answered, but not as a Kafka broker ("HTTP/1.1 400 Bad Request")`,
      );
      expect(Date.now() - started).toBeLessThan(1000);
    } finally {
      await http.close();
    }
  });

  it('takes a Kafka broker for one, by its answer to ApiVersions', async () => {
    const broker = await createKafkaTestBroker();
    try {
      expect(await kafkaProblemAt(broker.brokers[0]!, 3000)).toBeUndefined();
    } finally {
      await broker.stop();
    }
  });

  it('rejects a malformed KAFKA_BROKERS with the expected form', () => {
    expect(() => readConfig({ KAFKA_BROKERS: 'localhost' })).toThrow(ConfigError);
    expect(() => readConfig({ KAFKA_BROKERS: 'kafka:9092,localhost' })).toThrow("KAFKA_BROKERS has 'localhost', which is not host:port; expected a comma-separated list such as KAFKA_BROKERS=kafka-1:9092,kafka-2:9092");
    expect(readConfig({ KAFKA_BROKERS: 'kafka-1:9092, kafka-2:9093' }).brokers).toEqual(['kafka-1:9092', 'kafka-2:9093']);
  });

  it('names the unreachable address instead of retrying forever', async () => {
    const port = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    const started = Date.now();
    await expect(bootstrap({ brokers: [`127.0.0.1:${port}`], port: 0, demo: false }, { logger: false })).rejects.toThrow(
      `cannot reach Kafka at 127.0.0.1:${port} (KAFKA_BROKERS)`,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('demo timing', () => {
  it('sends demo orders between the progress lines, so that a line does not count an order sent on its own tick', async () => {
    vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'Date'] });
    const sentAt: number[] = [];
    // Only the schedule is under test here: the template records when it is called.
    const template = { send: async () => void sentAt.push(Date.now()) } as unknown as KafkaTemplate;
    const demo = new DemoProducer(template);
    try {
      demo.onApplicationBootstrap();
      await vi.advanceTimersByTimeAsync(4_000);
      expect(sentAt).toEqual([250, 750, 1250, 1750, 2250, 2750, 3250, 3750]);
      // Progress lines come every 2000 ms from start-up (and every 1000 or 500 ms if configured so).
      for (const t of sentAt) expect(t % DEMO_INTERVAL_MS).toBe(DEMO_INTERVAL_MS / 2);
    } finally {
      demo.onApplicationShutdown();
      vi.useRealTimers();
    }
  });
});
