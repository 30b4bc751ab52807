/**
 * EmbeddedKafkaBroker: a Kafka cluster of one or more nodes inside the current process, speaking the real
 * wire protocol on loopback, with an inspection and control API for tests.
 */
import { Cluster, type EmbeddedKafkaBrokerOptions, resolveOptions, type TopicSpec } from './cluster.js';
import { loadCodecChecksums } from './protocol/compression.js';
import type { Fault, FaultSpec } from './faults.js';
import type { CommittedOffset, GroupDescription, GroupListing, PartitionLag } from './group-coordinator.js';
import type { DecodedRecord } from './protocol/record-batch.js';
import type { TransactionDescription } from './transactions.js';

/** A record read back from a partition's log. */
export interface BrokerRecord extends DecodedRecord {
  readonly topic: string;
  readonly partition: number;
}

/** Offsets of one partition: the first readable one and the log end (next offset to be written). */
export interface PartitionOffsets {
  readonly partition: number;
  readonly logStartOffset: number;
  readonly endOffset: number;
}

export class EmbeddedKafkaBroker {
  private stopped = false;

  private constructor(
    /** @internal the shared cluster state */
    readonly cluster: Cluster,
  ) {}

  /** Starts every node and resolves once all of them accept connections. */
  static async start(options: EmbeddedKafkaBrokerOptions = {}): Promise<EmbeddedKafkaBroker> {
    const cluster = new Cluster(resolveOptions(options));
    await loadCodecChecksums(); // lz4 and zstd checksums, verified when produced batches are read
    const broker = new EmbeddedKafkaBroker(cluster);
    try {
      // Nodes on fixed ports start together; with port 0 each takes a free one.
      await Promise.all(cluster.nodes.map((n) => n.start()));
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  }

  /** Bootstrap list for any client: `host:port` of every live node. */
  get brokers(): string[] {
    return this.cluster.liveNodes.map((n) => n.address);
  }

  /** Bootstrap list of the listener named `name` (the `listeners` option): `host:port` of every live node. */
  listenerBrokers(name: string): string[] {
    const index = this.cluster.options.listeners.findIndex((l) => l.name === name);
    if (index < 0) {
      throw new RangeError(`no listener named '${name}'; the listeners are ${this.cluster.options.listeners.map((l) => l.name).join(', ')}`);
    }
    return this.cluster.liveNodes.map((n) => n.addressOf(index));
  }

  /** Every node, live or stopped, with its id and address. */
  get nodes(): { id: number; address: string; alive: boolean }[] {
    return this.cluster.nodes.map((n) => ({ id: n.id, address: n.address, alive: n.alive }));
  }

  /** Stops every node; data is discarded with the broker object. Safe to call twice. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cluster.faults.clear();
    await Promise.all(this.cluster.nodes.map((n) => n.stop()));
    this.cluster.groups.close?.();
    this.cluster.transactions.close();
  }

  // ---- topics ------------------------------------------------------------------------------------

  /** Creates topics; throws if a name is invalid or taken. */
  createTopics(...specs: TopicSpec[]): void {
    for (const s of specs) this.cluster.createTopic(s.name, s.partitions, s.configs);
  }

  /** Deletes a topic and its data; returns false if it did not exist. */
  deleteTopic(name: string): boolean {
    return this.cluster.deleteTopic(name);
  }

  /** Names of all topics, sorted. */
  topicNames(): string[] {
    return [...this.cluster.topics.keys()].sort();
  }

  /** Partition count of a topic, or undefined if it does not exist. */
  partitionCount(topic: string): number | undefined {
    return this.cluster.topics.get(topic)?.partitions.length;
  }

  private partitionOf(topic: string, partition: number) {
    const t = this.cluster.topics.get(topic);
    if (!t) throw new RangeError(`topic '${topic}' does not exist; create it first or check the name`);
    const p = t.partition(partition);
    if (!p) throw new RangeError(`topic '${topic}' has no partition ${partition}; it has ${t.partitions.length}`);
    return p;
  }

  /** Decoded records of a partition from `fromOffset` (default: the log start), aborted and open transactions' included. */
  records(topic: string, partition = 0, fromOffset?: number): BrokerRecord[] {
    return this.partitionOf(topic, partition)
      .log.records(fromOffset, this.cluster.options.maxDecompressedBatchBytes)
      .map((r) => ({ ...r, topic, partition }));
  }

  /**
   * The records of a partition a `read_committed` consumer reads from `fromOffset` (default: the log start):
   * those of committed transactions and non-transactional ones, up to the last stable offset.
   */
  committedRecords(topic: string, partition = 0, fromOffset?: number): BrokerRecord[] {
    const log = this.partitionOf(topic, partition).log;
    return this.cluster.transactions.committedRecords(log, fromOffset ?? log.logStartOffset).map((r) => ({ ...r, topic, partition }));
  }

  /** Decoded records of every partition of a topic, ordered by partition then offset. */
  allRecords(topic: string): BrokerRecord[] {
    const t = this.cluster.topics.get(topic);
    if (!t) return [];
    return t.partitions.flatMap((p) => this.records(topic, p.index));
  }

  /** Log start and end offsets of each partition of a topic. */
  offsets(topic: string): PartitionOffsets[] {
    const t = this.cluster.topics.get(topic);
    if (!t) throw new RangeError(`topic '${topic}' does not exist; create it first or check the name`);
    return t.partitions.map((p) => ({ partition: p.index, logStartOffset: p.log.logStartOffset, endOffset: p.log.endOffset }));
  }

  /** Log-end offset (the next offset to be written) of one partition. */
  endOffset(topic: string, partition = 0): number {
    return this.partitionOf(topic, partition).log.endOffset;
  }

  /**
   * Last stable offset of one partition: where the oldest open transaction begins, or the log end when none
   * is open. A read_committed consumer reads up to here.
   */
  lastStableOffset(topic: string, partition = 0): number {
    return this.cluster.transactions.lastStableOffset(this.partitionOf(topic, partition).log);
  }

  // ---- transactions ------------------------------------------------------------------------------

  /**
   * Every transactional id the coordinator knows, sorted: producer id and epoch, state (`Ongoing` while a
   * transaction is open) and what the open transaction holds. Fail a step with `injectFault`, for example
   * `{ apiKey: ApiKey.EndTxn, errorCode: ErrorCode.COORDINATOR_NOT_AVAILABLE }`.
   */
  transactions(): TransactionDescription[] {
    return this.cluster.transactions.list();
  }

  // ---- nodes -------------------------------------------------------------------------------------

  /** Stops one node: its connections drop and the partitions it led move to live nodes. Data is kept. */
  async stopNode(nodeId: number): Promise<void> {
    await this.node(nodeId).stop();
  }

  /** Restarts a stopped node on the same port; it takes back the partitions it prefers to lead. */
  async startNode(nodeId: number): Promise<void> {
    await this.node(nodeId).start();
  }

  private node(nodeId: number) {
    const node = this.cluster.nodes[nodeId];
    if (!node) throw new RangeError(`no node ${nodeId}; the cluster has nodes 0..${this.cluster.nodes.length - 1}`);
    return node;
  }

  // ---- groups ------------------------------------------------------------------------------------

  /** Offsets committed by a group, ordered by topic then partition; empty for an unknown group. */
  committedOffsets(groupId: string): CommittedOffset[] {
    return this.cluster.groups.committedOffsets(groupId);
  }

  /**
   * Consumer lag of a group on every partition of the topics it has committed to or subscribes to:
   * log-end offset minus committed offset; without a commit, committed is -1 and lag counts from the log start.
   */
  lag(groupId: string): PartitionLag[] {
    return this.cluster.groups.lag(groupId);
  }

  /** Every group known to the cluster (whichever node coordinates it), sorted by id. */
  listGroups(): GroupListing[] {
    return this.cluster.groups.list();
  }

  /** A group's state, generation, chosen protocol and members with their assignments; undefined if unknown. */
  describeGroup(groupId: string): GroupDescription | undefined {
    const g = this.cluster.groups.describe(groupId);
    if (!g) return undefined;
    const { groupId: id, state, protocolType, protocol, generationId } = g;
    return {
      groupId: id,
      state,
      protocolType,
      protocol,
      generationId,
      members: g.members.map(({ memberId, clientId, clientHost, sessionTimeoutMs, rebalanceTimeoutMs, assignment }) => ({
        memberId,
        clientId,
        clientHost,
        sessionTimeoutMs,
        rebalanceTimeoutMs,
        assignment,
      })),
    };
  }

  // ---- faults ------------------------------------------------------------------------------------

  /**
   * Injects a fault: the next `count` requests of `apiKey` (optionally naming `topic`, or reaching
   * `nodeId`) get `errorCode`, wait `delayMs`, or lose their connection. Await `fault.exhausted` to know
   * the client has met it.
   */
  injectFault(spec: FaultSpec): Fault {
    return this.cluster.faults.add(spec);
  }

  /** Removes every fault still in force. */
  clearFaults(): void {
    this.cluster.faults.clear();
  }
}
