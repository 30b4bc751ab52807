/**
 * Consumer settings by their Kafka names, validated and mapped onto the transport's consumer config.
 * Values may be numbers or numeric strings, as in a Kafka properties file.
 */
import type { TransportConsumerConfig } from '../transport/kafka-transport.js';
import { didYouMean } from './did-you-mean.js';

/** Consumer settings by their Kafka names; see each key for its default and kafkajs mapping. */
export interface ConsumerProperties {
  /** Smallest fetch response the broker waits for (kafkajs `minBytes`). @default 1 */
  'fetch.min.bytes'?: number | string;
  /** Largest fetch response (kafkajs `maxBytes`). @default 52428800 (50 MiB, Kafka's; kafkajs's own is 10 MiB) */
  'fetch.max.bytes'?: number | string;
  /** Longest the broker holds a fetch waiting for `fetch.min.bytes` (kafkajs `maxWaitTimeInMs`). @default 500 (Kafka's; kafkajs's own is 5000) */
  'fetch.max.wait.ms'?: number | string;
  /** Largest data per partition in a fetch (kafkajs `maxBytesPerPartition`). @default 1048576 (1 MiB) */
  'max.partition.fetch.bytes'?: number | string;
  /**
   * Most records handed to a batch listener at once, and most records processed between two commits in
   * `BATCH` mode (kafkajs has no such setting; the container slices fetched batches). @default 500
   */
  'max.poll.records'?: number | string;
  /** kafkajs `heartbeatInterval`; must be below `session.timeout.ms`. @default 3000, or a third of `session.timeout.ms` when that is less */
  'heartbeat.interval.ms'?: number | string;
  /** kafkajs `sessionTimeout`; the broker accepts 6000..1800000 by default. @default 45000 (Kafka's) */
  'session.timeout.ms'?: number | string;
  /** kafkajs client `requestTimeout`. @default 30000 */
  'request.timeout.ms'?: number | string;
  /**
   * The longest a handler may run (kafkajs `rebalanceTimeout`, the JoinGroup rebalance timeout as in Kafka).
   * The container heartbeats while a handler runs, up to this long for one record (or batch); past it the
   * heartbeats stop, so the member is removed after `session.timeout.ms` (Kafka's consumer leaves the group at
   * once), and the container logs a warning naming the record. @default 300000
   */
  'max.poll.interval.ms'?: number | string;
  /** `'earliest'` or `'latest'` (kafkajs `fromBeginning`); kafkajs cannot do `'none'`. @default 'latest' */
  'auto.offset.reset'?: 'earliest' | 'latest';
  /** kafkajs `clientId` of the listener's consumers. @default the module's `client.clientId` */
  'client.id'?: string;
  /**
   * `'read_committed'`: records of open or aborted transactions are not delivered (a partition is read up to
   * its last stable offset); `'read_uncommitted'`: every record (kafkajs `readUncommitted`).
   * @default 'read_committed' when `transactionIdPrefix` is set (exactly-once pipelines), else 'read_uncommitted' (Kafka's)
   */
  'isolation.level'?: 'read_committed' | 'read_uncommitted';
}

/** The consumer settings after validation. */
export interface ResolvedConsumerProperties {
  readonly consumer: Omit<TransportConsumerConfig, 'groupId'>;
  readonly maxPollRecords: number;
  readonly maxPollIntervalMs: number;
  /** Undefined when not set: `fromBeginning` or the default (`latest`) decides. */
  readonly autoOffsetReset?: 'earliest' | 'latest';
}

type Rule = { min: number; max: number; field?: keyof TransportConsumerConfig };

const INT_MAX = 2 ** 31 - 1;
const NUMERIC: Record<string, Rule> = {
  'fetch.min.bytes': { min: 0, max: INT_MAX, field: 'fetchMinBytes' },
  'fetch.max.bytes': { min: 0, max: INT_MAX, field: 'fetchMaxBytes' },
  'fetch.max.wait.ms': { min: 0, max: INT_MAX, field: 'fetchMaxWaitMs' },
  'max.partition.fetch.bytes': { min: 0, max: INT_MAX, field: 'maxPartitionFetchBytes' },
  'max.poll.records': { min: 1, max: INT_MAX },
  'heartbeat.interval.ms': { min: 1, max: INT_MAX, field: 'heartbeatIntervalMs' },
  'session.timeout.ms': { min: 1, max: INT_MAX, field: 'sessionTimeoutMs' },
  'request.timeout.ms': { min: 1, max: INT_MAX, field: 'requestTimeoutMs' },
  'max.poll.interval.ms': { min: 1, max: INT_MAX, field: 'rebalanceTimeoutMs' },
};

/** Settings with a dedicated option; naming them in `properties` is refused with a pointer to it. */
const DEDICATED: Record<string, string> = {
  'group.id': "use the listener's 'groupId' option",
  'enable.auto.commit': "commits are made by the container; choose them with the listener's 'ackMode' option",
  'auto.commit.interval.ms': "commits are made by the container; choose them with the listener's 'ackMode' option",
  'key.deserializer': "use the listener's 'keyDeserializer' option",
  'value.deserializer': "use the listener's 'deserializer' option",
  'bootstrap.servers': "set 'client.brokers' in KafkaModule.forRoot",
};

/** The consumer property names kafka-nest understands. */
export const CONSUMER_PROPERTY_NAMES: readonly string[] = [...Object.keys(NUMERIC), 'auto.offset.reset', 'client.id', 'isolation.level'];
const KNOWN = CONSUMER_PROPERTY_NAMES;

/**
 * Validates `properties` (module ones overridden by the listener's) and maps them. `problem(message)`
 * builds the error to throw, so that it names the listener.
 */
export function resolveConsumerProperties(
  props: Readonly<Record<string, unknown>>,
  problem: (message: string) => Error,
): ResolvedConsumerProperties {
  const num = new Map<string, number>();
  for (const [name, raw] of Object.entries(props)) {
    if (raw === undefined) continue;
    if (name in DEDICATED) throw problem(`property '${name}' is not set through 'properties': ${DEDICATED[name]}`);
    const rule = NUMERIC[name];
    if (rule) {
      const value = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
        throw problem(
          `property '${name}' must be an integer from ${rule.min} to ${rule.max}, got ${JSON.stringify(raw)}; fix the value or remove the property`,
        );
      }
      num.set(name, value);
    } else if (name === 'auto.offset.reset') {
      if (raw !== 'earliest' && raw !== 'latest') {
        throw problem(`property 'auto.offset.reset' must be 'earliest' or 'latest', got ${JSON.stringify(raw)} (kafkajs cannot do 'none')`);
      }
    } else if (name === 'isolation.level') {
      if (raw !== 'read_committed' && raw !== 'read_uncommitted') {
        throw problem(`property 'isolation.level' must be 'read_committed' or 'read_uncommitted', got ${JSON.stringify(raw)}`);
      }
    } else if (name === 'client.id') {
      if (typeof raw !== 'string' || raw === '') throw problem(`property 'client.id' must be a non-empty string, got ${JSON.stringify(raw)}`);
    } else {
      const near = didYouMean(name, KNOWN);
      throw problem(
        `unknown consumer property '${name}'${near ? `; did you mean '${near}'?` : ''} Supported: ${KNOWN.join(', ')}`,
      );
    }
  }
  const sessionTimeoutMs = num.get('session.timeout.ms') ?? 45_000;
  const heartbeatIntervalMs = num.get('heartbeat.interval.ms') ?? Math.min(3_000, Math.floor(sessionTimeoutMs / 3));
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    throw problem(
      `property 'heartbeat.interval.ms' (${heartbeatIntervalMs}) must be lower than 'session.timeout.ms' (${sessionTimeoutMs}); Kafka advises at most a third of it`,
    );
  }
  const maxPollIntervalMs = num.get('max.poll.interval.ms') ?? 300_000;
  const consumer: Omit<TransportConsumerConfig, 'groupId'> = {
    sessionTimeoutMs,
    heartbeatIntervalMs,
    rebalanceTimeoutMs: maxPollIntervalMs,
    ...(props['client.id'] !== undefined && { clientId: props['client.id'] as string }),
    ...(num.has('request.timeout.ms') && { requestTimeoutMs: num.get('request.timeout.ms') }),
    ...(num.has('fetch.min.bytes') && { fetchMinBytes: num.get('fetch.min.bytes') }),
    // Kafka's defaults, not kafkajs's (10 MiB and 5000 ms): what a Kafka user reading the docs expects.
    fetchMaxBytes: num.get('fetch.max.bytes') ?? 52_428_800,
    fetchMaxWaitMs: num.get('fetch.max.wait.ms') ?? 500,
    ...(num.has('max.partition.fetch.bytes') && { maxPartitionFetchBytes: num.get('max.partition.fetch.bytes') }),
    readUncommitted: props['isolation.level'] !== 'read_committed',
  };
  return {
    consumer,
    maxPollRecords: num.get('max.poll.records') ?? 500,
    maxPollIntervalMs,
    autoOffsetReset: props['auto.offset.reset'] as 'earliest' | 'latest' | undefined,
  };
}
