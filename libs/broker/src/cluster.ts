/**
 * The state shared by every node of an embedded cluster: topics and their logs, partition leadership,
 * consumer groups and committed offsets, idempotent-producer state, transactions, and the fault injector.
 *
 * Leadership is deterministic: partition p of a topic prefers node (p mod N) and falls to the next live
 * node when that one is stopped; a group's coordinator is chosen the same way from a hash of its id. Data
 * lives in the cluster, not in a node, so stopping a node loses nothing that was acknowledged.
 */
import { randomBytes } from 'node:crypto';
import type { TlsOptions } from 'node:tls';
import { type AclOptions, Authorizer } from './acls.js';
import { CONSUMER_OFFSETS_CONFIGS, CONSUMER_OFFSETS_TOPIC, ConsumerOffsetsLog } from './consumer-offsets.js';
import { FaultInjector } from './faults.js';
import { ALL_HANDLERS } from './handlers/index.js';
import { HandlerRegistry } from './handlers/handler.js';
import { GroupCoordinator } from './group-coordinator.js';
import { type BrokerLogger, consoleLogger } from './logger.js';
import { BrokerNode } from './node.js';
import { ProducerStateManager } from './producers.js';
import { ErrorCode } from './protocol/error-codes.js';
import { DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES } from './protocol/record-batch.js';
import { RequestMemoryBudget } from './connection-limits.js';
import { SaslCredentials } from './sasl.js';
import { TransactionCoordinator } from './transactions.js';
import { type Partition, Topic, topicConfigProblem, topicNameProblem } from './topics.js';

/** A topic to create at start-up. */
export interface TopicSpec {
  readonly name: string;
  /** @default the cluster's `defaultPartitions` */
  readonly partitions?: number;
  /**
   * Topic configs by their Kafka names, reported by DescribeConfigs. The broker acts on
   * `message.timestamp.type` (`'CreateTime'` or `'LogAppendTime'`) and `max.message.bytes`.
   * @default none: Kafka's defaults (CreateTime)
   */
  readonly configs?: Record<string, string>;
}

/** SASL users for the embedded broker's listener. */
export interface SaslOptions {
  /** Mechanisms offered. @default ['PLAIN'] */
  readonly mechanisms?: readonly ('PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512')[];
  /** Accepted users: name to password. */
  readonly users: Readonly<Record<string, string>>;
}

/**
 * One listener of every node, as an entry of Kafka's `listeners` setting (`SASL_SSL://:9093`): its own port
 * and security. Clients get, in Metadata and FindCoordinator, the addresses of the listener they came in on.
 */
export interface ListenerSpec {
  /** Listener name, as in Kafka (`PLAINTEXT`, `SASL_SSL`, `INTERNAL`...), reported in logs and by `listenerBrokers`. */
  readonly name: string;
  /**
   * Port of the first node's listener; node i listens on port + i (with several nodes, space the listeners'
   * ports apart: 9092 and 9192); 0 picks free ports. @default 0
   */
  readonly port?: number;
  /** Require SASL on this listener, with the broker's `sasl` users and mechanisms. @default false */
  readonly sasl?: boolean;
  /** Serve TLS on this listener, with the broker's `tls` options. @default false */
  readonly tls?: boolean;
}

/** A listener as the nodes serve it. */
export interface ResolvedListener {
  readonly name: string;
  readonly sasl: boolean;
  readonly tls: boolean;
  /** The port node `nodeId` listens on at first start (0: a free one). */
  readonly portOf: (nodeId: number) => number;
}

export interface EmbeddedKafkaBrokerOptions {
  /** Port of the first node; 0 picks a free port. @default 0 */
  readonly port?: number;
  /** One port per node, overriding `port`; its length must equal `brokers`. */
  readonly ports?: readonly number[];
  /** Interface to listen on. @default '127.0.0.1' (loopback only) */
  readonly host?: string;
  /** Number of broker nodes, each on its own port. @default 1 */
  readonly brokers?: number;
  /** Topics created at start-up. @default [] */
  readonly topics?: readonly TopicSpec[];
  /** Create an unknown topic when Metadata or Produce names it. @default true */
  readonly autoCreateTopics?: boolean;
  /** Partitions of an auto-created topic, and of a created topic that gives none. @default 1 */
  readonly defaultPartitions?: number;
  /**
   * Partitions of the internal `__consumer_offsets` topic, created on the first commit or group change
   * (Kafka's offsets.topic.num.partitions). @default 50, Kafka's
   */
  readonly offsetsTopicPartitions?: number;
  /** Largest request frame accepted; a larger one closes the connection. @default 104857600 (100 MiB, Kafka's socket.request.max.bytes) */
  readonly maxRequestBytes?: number;
  /**
   * Most bytes one produced batch's records may decompress to; a batch that would inflate past it is refused
   * with MESSAGE_TOO_LARGE and nothing of it is stored. Kafka streams records and has no such bound; here a
   * batch is decompressed whole to validate it, so this bound is what keeps a compression bomb (1 MB of gzip
   * inflating to 1 GB) from taking the broker's memory. It also bounds decompression for ListOffsets by
   * timestamp and the inspection API (`records()`).
   * @default 67108864 (64 MiB)
   */
  readonly maxDecompressedBatchBytes?: number;
  /**
   * Time a request frame may take to arrive whole, from its first byte; a connection whose frame is still
   * partial then is closed, so a half-sent frame is not buffered forever. (Kafka has no such limit; its
   * `connections.max.idle.ms` closes idle connections after 10 minutes.)
   * @default 30000
   */
  readonly requestReceiveTimeoutMs?: number;
  /**
   * Most bytes of request frames buffered at once across every connection of the cluster (partial frames and
   * frames waiting to be handled); a connection whose data would pass it is closed. At least `maxRequestBytes`.
   * (Kafka's `queued.max.request.bytes`, unbounded there by default.)
   * @default 268435456 (256 MiB)
   */
  readonly maxBufferedRequestBytes?: number;
  /**
   * With `sasl`: how long a connection may stay unauthenticated (the TLS handshake included) before it is
   * closed. (Kafka bounds the handshake with `connections.max.idle.ms`.)
   * @default 10000
   */
  readonly unauthenticatedTimeoutMs?: number;
  /**
   * With `sasl`: how many connections of one node may be open and not yet authenticated; a further one is
   * closed as soon as it connects. (Kafka limits connections per IP with `max.connections.per.ip`.)
   * @default 64
   */
  readonly maxUnauthenticatedConnections?: number;
  /** Delay before the first rebalance of a new group (group.initial.rebalance.delay.ms). @default 0, so tests are fast (Kafka: 3000) */
  readonly groupInitialRebalanceDelayMs?: number;
  /** Smallest and largest session timeout a member may ask for. @default 6000 and 1800000, Kafka's */
  readonly groupMinSessionTimeoutMs?: number;
  readonly groupMaxSessionTimeoutMs?: number;
  /** Cluster id reported by Metadata. @default a random id */
  readonly clusterId?: string;
  /** Where log lines go. @default warnings and errors to stderr */
  readonly logger?: BrokerLogger;
  /** Require SASL authentication on every connection. @default off */
  readonly sasl?: SaslOptions;
  /** Serve TLS with these options (key and cert at least). @default plaintext */
  readonly tls?: TlsOptions;
  /**
   * Several listeners on every node, as Kafka's `listeners` setting: say a plaintext port and a SASL_SSL one.
   * Each takes its security from `sasl` (users, mechanisms) and `tls` (certificate); `port`/`ports` are then
   * unused, and the first listener is the one `brokers` and `nodes` report.
   * @default one listener on `port`/`ports`, with SASL when `sasl` is set and TLS when `tls` is
   */
  readonly listeners?: readonly ListenerSpec[];
  /**
   * Enforce ACLs (Kafka's standard authorizer): requests are checked against the ACLs created with
   * CreateAcls, for the SASL user (`User:alice`; `User:ANONYMOUS` without SASL); super users may do
   * everything. @default no authorizer: everything is allowed and the ACL APIs answer SECURITY_DISABLED
   */
  readonly acls?: AclOptions;
}

export type ResolvedOptions = Required<Omit<EmbeddedKafkaBrokerOptions, 'ports' | 'sasl' | 'tls' | 'clusterId' | 'acls' | 'listeners'>> &
  Pick<EmbeddedKafkaBrokerOptions, 'ports' | 'sasl' | 'tls' | 'acls'> & { clusterId: string; listeners: readonly ResolvedListener[] };

function resolveListeners(o: EmbeddedKafkaBrokerOptions, port: number): ResolvedListener[] {
  if (!o.listeners) {
    return [{ name: 'default', sasl: o.sasl !== undefined, tls: o.tls !== undefined, portOf: (i) => o.ports?.[i] ?? (port === 0 ? 0 : port + i) }];
  }
  if (o.listeners.length === 0) throw new RangeError(`broker option 'listeners' is empty; give at least one listener, or leave it out for one on 'port'`);
  const names = new Set<string>();
  return o.listeners.map((l) => {
    if (!l.name || names.has(l.name)) throw new RangeError(`broker option 'listeners': each listener needs its own name, got '${l.name}' twice or empty`);
    names.add(l.name);
    const p = l.port ?? 0;
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new RangeError(`listener '${l.name}': port must be 0..65535, got ${p}`);
    if (l.sasl && !o.sasl) throw new RangeError(`listener '${l.name}' requires SASL, but the broker has no 'sasl' option; give the users there`);
    if (l.tls && !o.tls) throw new RangeError(`listener '${l.name}' serves TLS, but the broker has no 'tls' option; give the key and certificate there`);
    return { name: l.name, sasl: l.sasl ?? false, tls: l.tls ?? false, portOf: (i: number) => (p === 0 ? 0 : p + i) };
  });
}

function positiveInt(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`broker option '${name}' must be an integer of at least ${min}, got ${value}`);
  }
  return value;
}

export function resolveOptions(o: EmbeddedKafkaBrokerOptions = {}): ResolvedOptions {
  const brokers = positiveInt('brokers', o.brokers ?? o.ports?.length ?? 1);
  if (o.ports && o.ports.length !== brokers) {
    throw new RangeError(`broker option 'ports' lists ${o.ports.length} ports for ${brokers} brokers; give one port per broker`);
  }
  const port = o.port ?? 0;
  const maxRequestBytes = positiveInt('maxRequestBytes', o.maxRequestBytes ?? 100 * 1024 * 1024, 1024);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`broker option 'port' must be 0..65535, got ${port}`);
  return {
    port,
    ports: o.ports,
    host: o.host ?? '127.0.0.1',
    brokers,
    topics: o.topics ?? [],
    autoCreateTopics: o.autoCreateTopics ?? true,
    defaultPartitions: positiveInt('defaultPartitions', o.defaultPartitions ?? 1),
    offsetsTopicPartitions: positiveInt('offsetsTopicPartitions', o.offsetsTopicPartitions ?? 50),
    maxRequestBytes,
    maxDecompressedBatchBytes: positiveInt('maxDecompressedBatchBytes', o.maxDecompressedBatchBytes ?? DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES, 1024),
    requestReceiveTimeoutMs: positiveInt('requestReceiveTimeoutMs', o.requestReceiveTimeoutMs ?? 30_000, 100),
    maxBufferedRequestBytes: positiveInt('maxBufferedRequestBytes', o.maxBufferedRequestBytes ?? Math.max(256 * 1024 * 1024, maxRequestBytes), maxRequestBytes),
    unauthenticatedTimeoutMs: positiveInt('unauthenticatedTimeoutMs', o.unauthenticatedTimeoutMs ?? 10_000, 100),
    maxUnauthenticatedConnections: positiveInt('maxUnauthenticatedConnections', o.maxUnauthenticatedConnections ?? 64),
    groupInitialRebalanceDelayMs: positiveInt('groupInitialRebalanceDelayMs', o.groupInitialRebalanceDelayMs ?? 0, 0),
    groupMinSessionTimeoutMs: positiveInt('groupMinSessionTimeoutMs', o.groupMinSessionTimeoutMs ?? 6000, 0),
    groupMaxSessionTimeoutMs: positiveInt('groupMaxSessionTimeoutMs', o.groupMaxSessionTimeoutMs ?? 1_800_000, 0),
    clusterId: o.clusterId ?? randomBytes(16).toString('base64url').slice(0, 22),
    logger: o.logger ?? consoleLogger,
    sasl: o.sasl,
    tls: o.tls,
    acls: o.acls,
    listeners: resolveListeners(o, port),
  };
}

export class Cluster {
  readonly registry = new HandlerRegistry(ALL_HANDLERS);
  readonly faults = new FaultInjector();
  readonly topics = new Map<string, Topic>();
  readonly nodes: BrokerNode[];
  readonly groups: GroupCoordinator;
  /** Appends committed offsets and group changes to `__consumer_offsets`. */
  readonly consumerOffsets = new ConsumerOffsetsLog(this);
  readonly producers = new ProducerStateManager();
  readonly transactions = new TransactionCoordinator(this);
  readonly logger: BrokerLogger;
  /** Request bytes buffered across every connection, against `maxBufferedRequestBytes`. */
  readonly requestMemory: RequestMemoryBudget;
  /** The SASL users with their SCRAM credentials, computed once; null without SASL. */
  readonly credentials: SaslCredentials | null;
  /** Checks requests against ACLs; null when the broker runs without an authorizer (everything allowed). */
  readonly authorizer: Authorizer | null;

  constructor(readonly options: ResolvedOptions) {
    this.logger = options.logger;
    this.requestMemory = new RequestMemoryBudget(options.maxBufferedRequestBytes);
    this.credentials = options.sasl ? new SaslCredentials(options.sasl.users) : null;
    this.authorizer = options.acls ? new Authorizer(options.acls) : null;
    this.nodes = Array.from({ length: options.brokers }, (_, i) => new BrokerNode(i, options.host, options.listeners.map((l) => l.portOf(i)), this));
    this.groups = new GroupCoordinator(this);
    for (const spec of options.topics) this.createTopic(spec.name, spec.partitions, spec.configs);
  }

  /** Creates a topic; throws a RangeError naming the problem for a bad name, count, config value, or an existing topic. */
  createTopic(name: string, partitions = this.options.defaultPartitions, configs: Record<string, string> = {}, replicas?: readonly (readonly number[])[]): Topic {
    const problem = topicNameProblem(name);
    if (problem) throw new RangeError(problem);
    if (name === CONSUMER_OFFSETS_TOPIC) {
      throw new RangeError(
        `topic '${name}' is internal: the broker creates it on the first offset commit, with the broker option offsetsTopicPartitions (default 50) partitions; do not create it yourself`,
      );
    }
    if (this.topics.has(name)) throw new RangeError(`topic '${name}' already exists`);
    positiveInt(`partitions of topic '${name}'`, partitions);
    const configProblem = topicConfigProblem(configs);
    if (configProblem) throw new RangeError(`topic '${name}': ${configProblem}`);
    const topic = new Topic(name, partitions, configs, replicas);
    this.topics.set(name, topic);
    this.logger.debug(`created topic ${name} with ${partitions} partition(s)`);
    return topic;
  }

  /** Creates an internal topic (`__consumer_offsets`) with its Kafka configs and the configured partition count. */
  createInternalTopic(name: typeof CONSUMER_OFFSETS_TOPIC): Topic {
    const topic = new Topic(name, this.options.offsetsTopicPartitions, { ...CONSUMER_OFFSETS_CONFIGS });
    this.topics.set(name, topic);
    this.logger.debug(`created internal topic ${name} with ${topic.partitions.length} partition(s)`);
    return topic;
  }

  /**
   * The topic, auto-created when allowed and the name is legal; undefined otherwise. `__consumer_offsets`
   * is created as the internal topic whatever the flags, as Kafka creates it.
   */
  topicOrCreate(name: string, allowCreate = true): Topic | undefined {
    if (name === CONSUMER_OFFSETS_TOPIC) return this.consumerOffsets.topic();
    const existing = this.topics.get(name);
    if (existing || !allowCreate || !this.options.autoCreateTopics || topicNameProblem(name)) return existing;
    return this.createTopic(name);
  }

  deleteTopic(name: string): boolean {
    const topic = this.topics.get(name);
    if (!topic) return false;
    this.topics.delete(name);
    this.groups.onTopicDeleted?.(name);
    this.producers.forgetTopic(name); // a topic recreated under the same name starts without producer state
    return true;
  }

  get liveNodes(): BrokerNode[] {
    return this.nodes.filter((n) => n.alive);
  }

  /** The node id preferred by `slot`, or the next live one; -1 when every node is down. */
  private pick(slot: number): number {
    const n = this.nodes.length;
    for (let i = 0; i < n; i++) {
      const node = this.nodes[(slot + i) % n];
      if (node.alive) return node.id;
    }
    return -1;
  }

  /** Leader of partition `index`: the first live replica of an assigned replica set, else by the fixed rule. */
  leaderOf(index: number, replicas: readonly number[] | null = null): number {
    if (replicas === null) return this.pick(index);
    return replicas.find((id) => this.nodes[id]?.alive) ?? -1;
  }

  /** The replicas of a partition: its assigned set, or every live node by default. */
  replicasOf(partition: Partition): readonly number[] {
    return partition.replicas ?? this.liveNodes.map((n) => n.id);
  }

  /**
   * Partition `index` of `topic` when node `nodeId` leads it; otherwise the error code a request for it gets
   * (UNKNOWN_TOPIC_OR_PARTITION, or NOT_LEADER_OR_FOLLOWER so the client refreshes its metadata).
   */
  ledPartition(topic: Topic | undefined, index: number, nodeId: number): Partition | number {
    const partition = topic?.partition(index);
    if (!partition) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION;
    return this.leaderOf(index, partition.replicas) === nodeId ? partition : ErrorCode.NOT_LEADER_OR_FOLLOWER;
  }

  /** Coordinator node of a group (or transactional id): a stable hash of the key, as Kafka hashes onto __consumer_offsets. */
  coordinatorOf(key: string): number {
    let h = 0;
    for (let i = 0; i < key.length; i++) h = (Math.imul(31, h) + key.charCodeAt(i)) | 0;
    return this.pick(Math.abs(h));
  }

  /** The live node with the lowest id acts as controller. */
  get controllerId(): number {
    return this.liveNodes[0]?.id ?? -1;
  }
}
