/**
 * Prometheus metrics for kafka-nest, with prom-client: consumer lag per group/topic/partition, records by
 * outcome, handler duration, commits, dead-letter publishes, retry-topic forwards and producer sends. Enabled with
 * `KafkaModule.forRoot({ metrics: true })` (or `{ metrics: { registry, prefix } }`); registered on
 * prom-client's default registry unless a registry is given.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `kafka_nest_consumer_lag` | gauge | group, topic, partition (only the partitions this instance owns) |
 * | `kafka_nest_consumer_group_lag` | gauge | group, topic (the whole group's, the same in every instance) |
 * | `kafka_nest_listener_records_total` | counter | listener, group, topic, outcome |
 * | `kafka_nest_listener_handler_duration_seconds` | histogram | listener, group, topic |
 * | `kafka_nest_commits_total` | counter | listener, group, result |
 * | `kafka_nest_dlt_publishes_total` | counter | topic, result |
 * | `kafka_nest_retry_topic_forwards_total` | counter | topic, result |
 * | `kafka_nest_producer_sends_total` | counter | topic, result |
 * | `kafka_nest_listener_container_running` | gauge | listener, group |
 * | `kafka_nest_consumer_lag_read_failures_total` | counter | listener, group |
 */
import { Counter, Gauge, Histogram, type Registry, register as defaultRegistry } from 'prom-client';
import { KafkaConfigurationError } from '../kafka.errors.js';
import type { PartitionLag } from '../listener/message-listener-container.js';
import type { TopicPartitions } from '../transport/kafka-transport.js';
import type { KafkaObserver, ListenerEvent, PublishedFailureKind, RecordOutcome } from './kafka-observer.js';

/** DI token of the `KafkaObserver` (the metrics), provided when `KafkaModule` options enable metrics. */
export const KAFKA_OBSERVER = Symbol('kafka-nest:observer');

/** `KafkaModule` options for metrics. */
export interface KafkaMetricsOptions {
  /** Registry the metrics are registered on. @default prom-client's default `register` */
  readonly registry?: Registry;
  /** Prefix of every metric name. @default 'kafka_nest_' */
  readonly prefix?: string;
  /**
   * How long a scrape waits for consumer lag, which each listener container reads from the brokers (all
   * in parallel). A container whose lag is not in by then (the brokers are down or slow) has no lag samples
   * in that scrape and counts in `consumer_lag_read_failures_total`; the rest of the metrics answer at once.
   * A read still running is reused by the next scrape, not started again.
   * @default 2000 ms
   */
  readonly lagTimeoutMs?: number;
}

/** What the metrics read lag and container state from (the endpoint registry). */
export interface LagSource {
  containers(): {
    id: string;
    groupId: string;
    isRunning(): boolean;
    lag(): Promise<PartitionLag[]>;
    assignedPartitions(): TopicPartitions[];
  }[];
}

const result = (ok: boolean) => (ok ? 'success' : 'failure');

/** What `promise` resolves to within `ms`; undefined if it rejects or takes longer. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, ms, undefined);
    timer.unref();
  });
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class KafkaMetrics implements KafkaObserver {
  readonly registry: Registry;
  private readonly records: Counter<'listener' | 'group' | 'topic' | 'outcome'>;
  private readonly duration: Histogram<'listener' | 'group' | 'topic'>;
  private readonly commits: Counter<'listener' | 'group' | 'result'>;
  private readonly deadLetters: Counter<'topic' | 'result'>;
  private readonly retryForwards: Counter<'topic' | 'result'>;
  private readonly sends: Counter<'topic' | 'result'>;

  constructor(source: LagSource, options: KafkaMetricsOptions = {}) {
    const registry = (this.registry = options.registry ?? defaultRegistry);
    const prefix = options.prefix ?? 'kafka_nest_';
    const lagTimeoutMs = options.lagTimeoutMs ?? 2000;
    if (typeof lagTimeoutMs !== 'number' || !(lagTimeoutMs > 0) || !Number.isFinite(lagTimeoutMs)) {
      throw new KafkaConfigurationError(`kafka-nest metrics: 'lagTimeoutMs' must be a finite number of milliseconds > 0, got ${String(lagTimeoutMs)}`);
    }
    const existing = registry.getSingleMetric(`${prefix}listener_records_total`);
    if (existing) {
      throw new Error(
        `kafka-nest metrics are already registered on this prom-client registry (${prefix}listener_records_total); give each application its own registry ('metrics: { registry }') or a different 'prefix'`,
      );
    }
    this.records = new Counter({
      name: `${prefix}listener_records_total`,
      help: 'Records handled by listeners, by outcome: success, failure (a delivery that threw), retried, recovered, dead_lettered',
      labelNames: ['listener', 'group', 'topic', 'outcome'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: `${prefix}listener_handler_duration_seconds`,
      help: 'Time a listener method took per delivery (per batch for batch listeners)',
      labelNames: ['listener', 'group', 'topic'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.commits = new Counter({
      name: `${prefix}commits_total`,
      help: 'Offset commits by result',
      labelNames: ['listener', 'group', 'result'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: `${prefix}dlt_publishes_total`,
      help: 'Records published to dead-letter topics, by result',
      labelNames: ['topic', 'result'],
      registers: [registry],
    });
    this.retryForwards = new Counter({
      name: `${prefix}retry_topic_forwards_total`,
      help: 'Failed records forwarded to a retry topic by @RetryableTopic, by retry topic and result',
      labelNames: ['topic', 'result'],
      registers: [registry],
    });
    this.sends = new Counter({
      name: `${prefix}producer_sends_total`,
      help: 'Records sent by KafkaTemplate, by result',
      labelNames: ['topic', 'result'],
      registers: [registry],
    });
    new Gauge({
      name: `${prefix}listener_container_running`,
      help: '1 while a listener container is running, 0 when stopped',
      labelNames: ['listener', 'group'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of source.containers()) this.set({ listener: c.id, group: c.groupId }, c.isRunning() ? 1 : 0);
      },
    });
    type Container = ReturnType<LagSource['containers']>[number];
    // Reads still running, by container id: a slow one is awaited again by the next scrape, not repeated.
    const lagReads = new Map<string, Promise<PartitionLag[]>>();
    const lagOf = (c: Container): Promise<PartitionLag[]> => {
      let read = lagReads.get(c.id);
      if (!read) {
        read = c.lag().finally(() => lagReads.delete(c.id));
        read.catch(() => undefined); // a read given up on must not be an unhandled rejection
        lagReads.set(c.id, read);
      }
      return read;
    };
    // One round of reads per scrape, shared by the lag gauge and the failure counter (prom-client collects
    // a scrape's metrics together), so that a scrape's failures are in that scrape's counter.
    let scrape: Promise<{ container: Container; lags: PartitionLag[] | undefined }[]> | undefined;
    const readLags = () =>
      (scrape ??= (async () => {
        const containers = source.containers();
        const lags = await Promise.all(containers.map((c) => within(lagOf(c), lagTimeoutMs)));
        const read = containers.map((container, i) => ({ container, lags: lags[i] }));
        for (const { container, lags } of read) {
          if (!lags) lagReadFailures.inc({ listener: container.id, group: container.groupId });
        }
        return read;
      })().finally(() => (scrape = undefined)));
    const lagReadFailures = new Counter({
      name: `${prefix}consumer_lag_read_failures_total`,
      help: `Scrapes in which a listener container's consumer lag could not be read within ${lagTimeoutMs} ms (brokers down or slow); its lag samples are then missing`,
      labelNames: ['listener', 'group'],
      registers: [registry],
      async collect() {
        await readLags();
      },
    });
    new Gauge({
      name: `${prefix}consumer_lag`,
      help: 'Records not yet processed by a group: log-end offset minus committed offset, per partition, for the partitions assigned to this instance (sum over instances for the group)',
      labelNames: ['group', 'topic', 'partition'],
      registers: [registry],
      async collect() {
        const read = await readLags();
        this.reset();
        // Each instance reports the partitions its own consumers own, so that the series of several
        // instances of one group add up to the group's lag, each partition counted once. Two listeners may
        // share a group on different topics: every group/topic/partition is kept, once. A container not read
        // has no samples, rather than stale ones.
        const seen = new Set<string>();
        for (const { container, lags } of read) {
          if (!lags) continue;
          const owned = new Set<string>();
          for (const tp of container.assignedPartitions()) for (const p of tp.partitions) owned.add(`${tp.topic}\u0000${p}`);
          for (const l of lags) {
            const key = `${container.groupId}\u0000${l.topic}\u0000${l.partition}`;
            if (!owned.has(`${l.topic}\u0000${l.partition}`) || seen.has(key)) continue;
            seen.add(key);
            this.set({ group: container.groupId, topic: l.topic, partition: String(l.partition) }, l.lag);
          }
        }
      },
    });
    new Gauge({
      name: `${prefix}consumer_group_lag`,
      help: "A group's lag per topic, every partition, whoever owns it (the same figure in every instance of the group: aggregate with max, not sum)",
      labelNames: ['group', 'topic'],
      registers: [registry],
      async collect() {
        const read = await readLags();
        this.reset();
        const seen = new Set<string>();
        const totals = new Map<string, { group: string; topic: string; lag: number }>();
        for (const { container, lags } of read) {
          for (const l of lags ?? []) {
            const key = `${container.groupId}\u0000${l.topic}\u0000${l.partition}`;
            if (seen.has(key)) continue;
            seen.add(key);
            const topicKey = `${container.groupId}\u0000${l.topic}`;
            const total = totals.get(topicKey) ?? { group: container.groupId, topic: l.topic, lag: 0 };
            total.lag += l.lag;
            totals.set(topicKey, total);
          }
        }
        for (const { group, topic, lag } of totals.values()) this.set({ group, topic }, lag);
      },
    });
  }

  recordOutcome(e: ListenerEvent & { outcome: RecordOutcome; count: number; durationMs?: number }): void {
    this.records.inc({ listener: e.listenerId, group: e.groupId, topic: e.topic, outcome: e.outcome }, e.count);
    if (e.durationMs !== undefined) this.duration.observe({ listener: e.listenerId, group: e.groupId, topic: e.topic }, e.durationMs / 1000);
  }

  commit(e: ListenerEvent & { ok: boolean }): void {
    this.commits.inc({ listener: e.listenerId, group: e.groupId, result: result(e.ok) });
  }

  /** A dead letter counts as a DLT publish and `dead_lettered`; a forward to a retry topic as a forward and `retried`. */
  deadLetter(e: ListenerEvent & { deadLetterTopic: string; kind: PublishedFailureKind; ok: boolean }): void {
    const retry = e.kind === 'retry';
    (retry ? this.retryForwards : this.deadLetters).inc({ topic: e.deadLetterTopic, result: result(e.ok) });
    if (e.ok) this.records.inc({ listener: e.listenerId, group: e.groupId, topic: e.topic, outcome: retry ? 'retried' : 'dead_lettered' });
  }

  send(e: { topic: string; count: number; ok: boolean }): void {
    this.sends.inc({ topic: e.topic, result: result(e.ok) }, e.count);
  }
}
