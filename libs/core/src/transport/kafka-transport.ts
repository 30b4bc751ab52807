/**
 * The seam between kafka-nest and a Kafka client library. Listener containers and `KafkaTemplate` only
 * talk to these interfaces; `KafkajsTransport` implements them with kafkajs, and another client could be
 * plugged in through `KafkaModuleOptions.transport`.
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';

/** Connection settings shared by consumers, producers and admin clients. */
export interface KafkaClientOptions {
  /** Bootstrap servers, `host:port`. */
  readonly brokers: readonly string[];
  /** @default 'kafka-nest' */
  readonly clientId?: string;
  /** Passed through to the client (kafkajs `ssl`). */
  readonly ssl?: unknown;
  /** Passed through to the client (kafkajs `sasl`). */
  readonly sasl?: unknown;
  /** @default the client's (kafkajs: 1000 ms) */
  readonly connectionTimeout?: number;
  /** @default the client's (kafkajs: 30000 ms); `request.timeout.ms` on a listener overrides it */
  readonly requestTimeout?: number;
  /** Client retry settings, passed through (kafkajs `retry`). */
  readonly retry?: unknown;
}

export interface TopicPartitions {
  readonly topic: string;
  readonly partitions: readonly number[];
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** For commits: the next offset to consume (last processed + 1), as Kafka commits it. */
  readonly offset: number;
  /** Client metadata committed with the offset (Kafka's `committed_metadata`); read back by `committedOffsets`. */
  readonly metadata?: string;
}

/** Consumer settings, already validated and mapped from their Kafka names. */
export interface TransportConsumerConfig {
  readonly groupId: string;
  readonly clientId?: string;
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** How long the group waits for members to rejoin (Kafka: `max.poll.interval.ms`). */
  readonly rebalanceTimeoutMs: number;
  readonly requestTimeoutMs?: number;
  readonly fetchMinBytes?: number;
  readonly fetchMaxBytes?: number;
  readonly fetchMaxWaitMs?: number;
  readonly maxPartitionFetchBytes?: number;
  /** Read records of open and aborted transactions too (Kafka: `isolation.level=read_uncommitted`). @default false */
  readonly readUncommitted?: boolean;
}

/** Records of one partition handed over by one fetch, with the controls valid while it is processed. */
export interface TransportBatch {
  readonly topic: string;
  readonly partition: number;
  /** Number of records. */
  readonly size: number;
  /** Every record, in offset order (made on first use). */
  readonly records: readonly ConsumedRecord[];
  /** Record `i`, made on first use: a batch listener reading values only never needs most of them. */
  recordAt(i: number): ConsumedRecord;
  /** The value of record `i`, without making the record. */
  valueAt(i: number): Buffer | null;
  /** Marks `offset` as consumed, so the next fetch starts after it (does not commit). */
  resolveOffset(offset: number): void;
  /** Commits the given offsets (next offset to read) now, even while the consumer is stopping. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /**
   * Sends a heartbeat if one is due. Rejects when the member's generation is over, with an error whose `type`
   * is the Kafka error name (`REBALANCE_IN_PROGRESS`, `ILLEGAL_GENERATION`, `UNKNOWN_MEMBER_ID`), as kafkajs's do.
   */
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping: finish the current record and return. */
  isRunning(): boolean;
  /** True once a seek or a rebalance made the rest of this batch obsolete. */
  isStale(): boolean;
}

export interface TransportConsumer {
  connect(): Promise<void>;
  subscribe(topics: readonly (string | RegExp)[], fromBeginning: boolean): Promise<void>;
  /**
   * Starts the fetch loop; partitions of one consumer are processed concurrently, one batch per partition at
   * a time. Resolves once the consumer joined its group; rejects with the client's error when it could not
   * (`onFatalError` is for crashes after that).
   */
  run(options: { partitionsConsumedConcurrently: number; eachBatch: (batch: TransportBatch) => Promise<void> }): Promise<void>;
  /** Stops fetching the partitions; kept across rebalances. Never throws: a consumer with no group (restarting) ignores it. */
  pause(partitions: readonly TopicPartitions[]): void;
  /** Fetches the partitions again. Never throws, as `pause`. */
  resume(partitions: readonly TopicPartitions[]): void;
  /** The next fetch of the partition starts at `offset`; batches of it still in hand become stale. Never throws, as `pause`. */
  seek(topic: string, partition: number, offset: number): void;
  /** Partitions assigned to this consumer by the last rebalance. */
  assignment(): TopicPartitions[];
  /** Called on every rebalance with the new assignment. */
  onAssignment(callback: (assignment: TopicPartitions[]) => void): void;
  /** Called when the consumer crashed, after `run()` resolved, and will not restart by itself. */
  onFatalError(callback: (error: Error) => void): void;
  /** Stops fetching, waits for the batch in hand, leaves the group and closes connections. */
  disconnect(): Promise<void>;
}

/** A record to produce; the value and key are already serialized. */
export interface TransportProducerRecord {
  readonly key: Buffer | string | null;
  readonly value: Buffer | string | null;
  /** An array value: the header once per value, in order. */
  readonly headers?: Readonly<Record<string, Buffer | string | readonly (Buffer | string)[]>>;
  readonly partition?: number;
  readonly timestamp?: number;
}

/** Where a produced record landed. */
export interface RecordMetadata {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
}

export interface TransportProducerConfig {
  /** -1 (all), 0 or 1: what a send waits for unless it says otherwise. */
  readonly acks: -1 | 0 | 1;
  readonly idempotent: boolean;
  readonly allowAutoTopicCreation: boolean;
  /** @default the client's */
  readonly timeoutMs?: number;
  /** Makes the producer transactional under this `transactional.id` (then idempotent too). @default none */
  readonly transactionalId?: string;
  /** The broker aborts a transaction open longer than this (`transaction.timeout.ms`). @default the client's (kafkajs: 60000) */
  readonly transactionTimeoutMs?: number;
}

/** A transaction in progress on a transactional producer; it ends with `commit` or `abort`. */
export interface TransportTransaction {
  /** Sends records to one topic inside the transaction. */
  send(topic: string, records: readonly TransportProducerRecord[]): Promise<RecordMetadata[]>;
  /** Commits the consumer group's offsets (next offset to read) with the transaction. */
  sendOffsets(groupId: string, offsets: readonly TopicPartitionOffset[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface TransportProducer {
  connect(): Promise<void>;
  /** Sends records to one topic in one request; `acks` overrides the producer's for this send. */
  send(topic: string, records: readonly TransportProducerRecord[], options?: { readonly acks?: -1 | 0 | 1 }): Promise<RecordMetadata[]>;
  /** Begins a transaction (a producer made with `transactionalId` only; one at a time). */
  transaction?(): Promise<TransportTransaction>;
  disconnect(): Promise<void>;
}

export interface TransportAdmin {
  connect(): Promise<void>;
  /** Committed offset of each partition of the topics for the group; -1 when none. */
  committedOffsets(groupId: string, topics: readonly string[]): Promise<TopicPartitionOffset[]>;
  /** Log-end offset (high watermark) of each partition of a topic; `start` is the log-start offset, when the client reports it. */
  endOffsets(topic: string): Promise<{ partition: number; offset: number; start?: number }[]>;
  listTopics(): Promise<string[]>;
  /** Partition count of a topic, or undefined when it does not exist. */
  partitionCount(topic: string): Promise<number | undefined>;
  /** Creates the topics that do not exist yet. */
  createTopics(topics: readonly { topic: string; numPartitions: number }[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** A Kafka client library behind kafka-nest. */
export interface KafkaTransport {
  createConsumer(client: KafkaClientOptions, config: TransportConsumerConfig): TransportConsumer;
  createProducer(client: KafkaClientOptions, config: TransportProducerConfig): TransportProducer;
  createAdmin(client: KafkaClientOptions): TransportAdmin;
}
