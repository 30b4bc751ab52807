/**
 * Committed offsets, by group, topic and partition: what OffsetCommit stores and OffsetFetch returns.
 * They live in memory with the cluster, so they survive a node stop (the coordinator moves, the offsets
 * stay) but not the broker object; every commit and deletion is also appended to `__consumer_offsets`
 * (through the {@link OffsetLogSink}) for lag monitors that read that topic.
 * Offsets never expire (Kafka: offsets.retention.minutes); they go when their topic is deleted.
 */

/** One committed offset, as stored. */
export interface StoredOffset {
  readonly offset: number;
  /** Client metadata committed with the offset; '' when the client sent null. */
  readonly metadata: string;
  /** Leader epoch sent with OffsetCommit v6+, or -1. */
  readonly leaderEpoch: number;
  /** When the coordinator stored it (ms since the epoch). */
  readonly commitTimestamp: number;
}

/** Where the store reports each change, in order: `__consumer_offsets`. */
export interface OffsetLogSink {
  offsetsCommitted(groupId: string, offsets: readonly ({ topic: string; partition: number } & StoredOffset)[]): void;
  offsetsDeleted(groupId: string, partitions: readonly { topic: string; partition: number }[]): void;
}

export class OffsetStore {
  private readonly byGroup = new Map<string, Map<string, Map<number, StoredOffset>>>();

  constructor(private readonly sink?: OffsetLogSink) {}

  /** Stores one offset; see {@link commitAll} for several committed together (one record batch). */
  commit(groupId: string, topic: string, partition: number, offset: StoredOffset): void {
    this.commitAll(groupId, [{ topic, partition, ...offset }]);
  }

  /** Stores the offsets of one commit request and appends them to the sink as one batch. */
  commitAll(groupId: string, offsets: readonly ({ topic: string; partition: number } & StoredOffset)[]): void {
    let topics = this.byGroup.get(groupId);
    if (!topics) this.byGroup.set(groupId, (topics = new Map()));
    for (const { topic, partition, ...offset } of offsets) {
      let partitions = topics.get(topic);
      if (!partitions) topics.set(topic, (partitions = new Map()));
      partitions.set(partition, offset);
    }
    this.sink?.offsetsCommitted(groupId, offsets);
  }

  get(groupId: string, topic: string, partition: number): StoredOffset | undefined {
    return this.byGroup.get(groupId)?.get(topic)?.get(partition);
  }

  /** Every committed offset of a group, ordered by topic then partition. */
  list(groupId: string): ({ topic: string; partition: number } & StoredOffset)[] {
    const topics = this.byGroup.get(groupId);
    if (!topics) return [];
    return [...topics.keys()].sort().flatMap((topic) =>
      [...topics.get(topic)!.entries()].sort(([a], [b]) => a - b).map(([partition, o]) => ({ topic, partition, ...o })),
    );
  }

  /** Topics a group has committed offsets for, sorted. */
  topics(groupId: string): string[] {
    return [...(this.byGroup.get(groupId)?.keys() ?? [])].sort();
  }

  /** Whether the group has committed any offset. */
  has(groupId: string): boolean {
    return [...(this.byGroup.get(groupId)?.values() ?? [])].some((partitions) => partitions.size > 0);
  }

  /** Forgets every offset the group committed (a tombstone each, as Kafka writes them). */
  deleteGroup(groupId: string): void {
    const topics = this.byGroup.get(groupId);
    this.byGroup.delete(groupId);
    if (!topics) return;
    const partitions = [...topics.entries()].flatMap(([topic, ps]) => [...ps.keys()].sort((a, b) => a - b).map((partition) => ({ topic, partition })));
    if (partitions.length > 0) this.sink?.offsetsDeleted(groupId, partitions);
  }

  /** Forgets every offset committed for `topic`, in every group (a tombstone each, as Kafka writes them). */
  deleteTopic(topic: string): void {
    for (const [groupId, topics] of this.byGroup) {
      const partitions = topics.get(topic);
      if (!partitions) continue;
      topics.delete(topic);
      this.sink?.offsetsDeleted(groupId, [...partitions.keys()].sort((a, b) => a - b).map((partition) => ({ topic, partition })));
    }
  }
}
