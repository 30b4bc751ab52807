// KafkaMetrics on its own registry: what each report adds, and a second registration refused with the fix.
import { KafkaMetrics, type PartitionLag } from '@kafka-nest/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';

const container = (lag: number) => ({
  id: 'orders',
  groupId: 'orders-service',
  isRunning: () => true,
  lag: async () => [{ topic: 'orders', partition: 0, committed: 5, endOffset: 5 + lag, lag }],
  assignedPartitions: () => [{ topic: 'orders', partitions: [0] }],
});

describe('KafkaMetrics', () => {
  it('counts outcomes, commits, dead letters and sends, and reads lag and state at scrape time', async () => {
    const registry = new Registry();
    const metrics = new KafkaMetrics({ containers: () => [container(7)] }, { registry });
    const ev = { listenerId: 'orders', groupId: 'orders-service', topic: 'orders', partition: 0 };
    metrics.recordOutcome({ ...ev, outcome: 'success', count: 3, durationMs: 2 });
    metrics.recordOutcome({ ...ev, outcome: 'failure', count: 1, durationMs: 1 });
    metrics.recordOutcome({ ...ev, outcome: 'retried', count: 1 });
    metrics.commit({ ...ev, ok: true });
    metrics.commit({ ...ev, ok: false });
    metrics.deadLetter({ ...ev, deadLetterTopic: 'orders.DLT', kind: 'dead-letter', ok: true });
    metrics.send({ topic: 'orders', count: 4, ok: true });

    const text = await registry.metrics();
    expect(text).toContain('kafka_nest_listener_records_total{listener="orders",group="orders-service",topic="orders",outcome="success"} 3');
    expect(text).toContain('kafka_nest_listener_records_total{listener="orders",group="orders-service",topic="orders",outcome="dead_lettered"} 1');
    expect(text).toContain('kafka_nest_listener_handler_duration_seconds_count{listener="orders",group="orders-service",topic="orders"} 2');
    expect(text).toContain('kafka_nest_commits_total{listener="orders",group="orders-service",result="failure"} 1');
    expect(text).toContain('kafka_nest_dlt_publishes_total{topic="orders.DLT",result="success"} 1');
    expect(text).toContain('kafka_nest_producer_sends_total{topic="orders",result="success"} 4');
    expect(text).toContain('kafka_nest_consumer_lag{group="orders-service",topic="orders",partition="0"} 7');
    expect(text).toContain('kafka_nest_listener_container_running{listener="orders",group="orders-service"} 1');
  });

  it('counts a forward to a retry topic as retried, not as a dead letter', async () => {
    const registry = new Registry();
    const metrics = new KafkaMetrics({ containers: () => [] }, { registry });
    const ev = { listenerId: 'payments', groupId: 'payments-service', topic: 'payments', partition: 0 };
    metrics.deadLetter({ ...ev, deadLetterTopic: 'payments-retry', kind: 'retry', ok: true });
    metrics.deadLetter({ ...ev, deadLetterTopic: 'payments-retry', kind: 'retry', ok: false });
    metrics.deadLetter({ ...ev, topic: 'payments-retry', deadLetterTopic: 'payments-dlt', kind: 'dead-letter', ok: true });

    const text = await registry.metrics();
    expect(text).toContain('kafka_nest_retry_topic_forwards_total{topic="payments-retry",result="success"} 1');
    expect(text).toContain('kafka_nest_retry_topic_forwards_total{topic="payments-retry",result="failure"} 1');
    expect(text).toContain('kafka_nest_listener_records_total{listener="payments",group="payments-service",topic="payments",outcome="retried"} 1');
    expect(text).toContain('kafka_nest_dlt_publishes_total{topic="payments-dlt",result="success"} 1');
    expect(text).toContain('kafka_nest_listener_records_total{listener="payments",group="payments-service",topic="payments-retry",outcome="dead_lettered"} 1');
    expect(text).not.toContain('kafka_nest_dlt_publishes_total{topic="payments-retry"');
    expect(text).not.toContain('topic="payments",outcome="dead_lettered"');
  });

  it('gives up on a lag read after lagTimeoutMs, counts it, and lets the next scrape await the same read', async () => {
    const registry = new Registry();
    let reads = 0;
    let answer!: (lags: PartitionLag[]) => void;
    const stuck = {
      ...container(0),
      id: 'refunds',
      groupId: 'refunds-service',
      lag: () => {
        reads++;
        return new Promise<PartitionLag[]>((resolve) => (answer = resolve));
      },
      assignedPartitions: () => [{ topic: 'refunds', partitions: [0] }],
    };
    const metrics = new KafkaMetrics({ containers: () => [container(3), stuck] }, { registry, lagTimeoutMs: 50 });
    metrics.send({ topic: 'refunds', count: 1, ok: true });

    for (const scrape of [1, 2]) {
      const text = await registry.metrics();
      expect(text).toContain(`kafka_nest_consumer_lag_read_failures_total{listener="refunds",group="refunds-service"} ${scrape}`);
      expect(text).toContain('kafka_nest_consumer_lag{group="orders-service",topic="orders",partition="0"} 3');
      expect(text).not.toContain('kafka_nest_consumer_lag{group="refunds-service"');
      expect(text).toContain('kafka_nest_producer_sends_total{topic="refunds",result="success"} 1');
    }
    expect(reads).toBe(1);

    answer([{ topic: 'refunds', partition: 0, committed: 1, endOffset: 3, lag: 2 }]);
    const text = await registry.metrics();
    expect(text).toContain('kafka_nest_consumer_lag{group="refunds-service",topic="refunds",partition="0"} 2');
    expect(text).toContain('kafka_nest_consumer_lag_read_failures_total{listener="refunds",group="refunds-service"} 2');
  });

  it('reports per-partition lag only for the partitions this instance owns, and the group lag per topic for all', async () => {
    const registry = new Registry();
    const owner = {
      ...container(0),
      lag: async () => [
        { topic: 'orders', partition: 0, committed: 5, endOffset: 9, lag: 4 },
        { topic: 'orders', partition: 1, committed: 2, endOffset: 8, lag: 6 },
        { topic: 'orders', partition: 2, committed: -1, endOffset: 3, lag: 3 },
      ],
      assignedPartitions: () => [{ topic: 'orders', partitions: [1] }],
    };
    new KafkaMetrics({ containers: () => [owner] }, { registry });

    const text = await registry.metrics();
    expect(text).toContain('kafka_nest_consumer_lag{group="orders-service",topic="orders",partition="1"} 6');
    expect(text).not.toContain('kafka_nest_consumer_lag{group="orders-service",topic="orders",partition="0"}');
    expect(text).not.toContain('kafka_nest_consumer_lag{group="orders-service",topic="orders",partition="2"}');
    expect(text).toContain('kafka_nest_consumer_group_lag{group="orders-service",topic="orders"} 13');
  });

  it('refuses a lagTimeoutMs that is not a positive number of milliseconds', () => {
    expect(() => new KafkaMetrics({ containers: () => [] }, { registry: new Registry(), lagTimeoutMs: 0 })).toThrow(
      "kafka-nest metrics: 'lagTimeoutMs' must be a finite number of milliseconds > 0, got 0",
    );
  });

  it('refuses a second registration on the same registry, saying how to fix it', () => {
    const registry = new Registry();
    new KafkaMetrics({ containers: () => [] }, { registry });
    expect(() => new KafkaMetrics({ containers: () => [] }, { registry })).toThrow(
      "kafka-nest metrics are already registered on this prom-client registry (kafka_nest_listener_records_total); give each application its own registry ('metrics: { registry }') or a different 'prefix'",
    );
    expect(() => new KafkaMetrics({ containers: () => [] }, { registry, prefix: 'other_' })).not.toThrow();
  });
});
