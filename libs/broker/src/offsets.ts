/**
 * Committed offsets, by group, topic and partition: what OffsetCommit stores and OffsetFetch returns.
 * Kafka keeps these in the compacted __consumer_offsets topic; here they live in memory with the cluster,
 * so they survive a node stop (the coordinator moves, the offsets stay) but not the broker object.
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

export class OffsetStore {
  private readonly byGroup = new Map<string, Map<string, Map<number, StoredOffset>>>();

  commit(groupId: string, topic: string, partition: number, offset: StoredOffset): void {
    let topics = this.byGroup.get(groupId);
    if (!topics) this.byGroup.set(groupId, (topics = new Map()));
    let partitions = topics.get(topic);
    if (!partitions) topics.set(topic, (partitions = new Map()));
    partitions.set(partition, offset);
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

  /** Forgets every offset committed for `topic`, in every group. */
  deleteTopic(topic: string): void {
    for (const topics of this.byGroup.values()) topics.delete(topic);
  }

  /** Forgets every offset committed by `groupId` (DeleteGroups). */
  deleteGroup(groupId: string): void {
    this.byGroup.delete(groupId);
  }
}
