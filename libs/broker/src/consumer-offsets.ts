/**
 * The internal `__consumer_offsets` topic: every committed offset and every group change, appended as
 * Kafka's group coordinator appends them, so that lag monitors (Burrow, kafka-python scripts, anything that
 * decodes the topic) see the groups, their members and owners, and their offsets. The coordinator still
 * answers OffsetFetch and DescribeGroups from memory; the topic is a faithful record of the same state.
 *
 * A group's records go to partition `abs(javaHashCode(groupId)) % partitions`, as Kafka's
 * `GroupMetadataManager.partitionFor` chooses it. The topic is created, with `offsetsTopicPartitions`
 * partitions (Kafka's offsets.topic.num.partitions, default 50), on the first record or when a Metadata
 * request names it; Metadata flags it internal.
 *
 * Records, as Kafka writes them (keys and values start with an INT16 schema version; strings are INT16-length):
 *   OffsetCommitKey v1     => group: STRING, topic: STRING, partition: INT32
 *   OffsetCommitValue v3   => offset: INT64, leader_epoch: INT32, metadata: STRING, commit_timestamp: INT64
 *   GroupMetadataKey v2    => group: STRING
 *   GroupMetadataValue v1  => protocol_type: STRING, generation: INT32, protocol: NULLABLE_STRING,
 *                             leader: NULLABLE_STRING, [members: member_id: STRING, client_id: STRING,
 *                             client_host: STRING, rebalance_timeout: INT32, session_timeout: INT32,
 *                             subscription: BYTES, assignment: BYTES]
 * A null value is a tombstone: written for each offset of a deleted topic, and for a deleted group.
 *
 * Deliberate differences from Apache Kafka: group metadata is written as value version 1 (what brokers up to
 * 2.0 write, and the newest version Burrow 1.2 decodes), so it carries no current_state_timestamp (v2+) and no
 * group_instance_id (v3+); offsets are written as value version 3 (Kafka 2.1+), never with an expire
 * timestamp. Compaction runs every 1000 records appended to a partition and keeps the latest record of each
 * key, tombstones included (Kafka drops a tombstone after delete.retention.ms; here it stays), so a reader
 * replaying the topic sees the current state and a bounded part of the history.
 */
import { crc32c } from '@node-rs/crc32';
import type { Cluster } from './cluster.js';
import type { PartitionLog } from './log.js';
import { BATCH_HEADER_SIZE, decodeBatch } from './protocol/record-batch.js';
import { Writer } from './protocol/writer.js';
import type { Topic } from './topics.js';

/** Name of the internal topic holding committed offsets and group metadata. */
export const CONSUMER_OFFSETS_TOPIC = '__consumer_offsets';

/** Topic configs Kafka gives `__consumer_offsets`, reported by DescribeConfigs. */
export const CONSUMER_OFFSETS_CONFIGS: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'compression.type': 'producer',
  'segment.bytes': '104857600',
};

/** Java's `String.hashCode` of `s` (UTF-16 code units, 32-bit wrap-around). */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's `Utils.abs`: the absolute value, with Integer.MIN_VALUE mapped to 0. */
function kafkaAbs(n: number): number {
  return n === -2147483648 ? 0 : Math.abs(n);
}

/** The `__consumer_offsets` partition of `groupId` among `partitions`, as Kafka chooses it. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  return kafkaAbs(javaStringHashCode(groupId)) % partitions;
}

/** A group member, as a group-metadata record lists it. */
export interface GroupMetadataMember {
  readonly memberId: string;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** The member's metadata for the chosen protocol (for consumers, its subscription). */
  readonly subscription: Buffer;
  /** The assignment the leader gave it (empty while none is). */
  readonly assignment: Buffer;
}

/** A group's state as a group-metadata record holds it. */
export interface GroupMetadataSnapshot {
  readonly groupId: string;
  readonly protocolType: string;
  readonly generationId: number;
  readonly protocol: string | null;
  readonly leaderId: string | null;
  readonly members: readonly GroupMetadataMember[];
}

/** One committed offset, as an offset-commit record holds it. */
export interface OffsetCommitRecord {
  readonly offset: number;
  readonly leaderEpoch: number;
  readonly metadata: string;
  readonly commitTimestamp: number;
}

export function encodeOffsetCommitKey(groupId: string, topic: string, partition: number): Buffer {
  return new Writer().int16(1).string(groupId).string(topic).int32(partition).toBuffer();
}

export function encodeOffsetCommitValue(o: OffsetCommitRecord): Buffer {
  return new Writer().int16(3).int64(o.offset).int32(o.leaderEpoch).string(o.metadata).int64(o.commitTimestamp).toBuffer();
}

export function encodeGroupMetadataKey(groupId: string): Buffer {
  return new Writer().int16(2).string(groupId).toBuffer();
}

export function encodeGroupMetadataValue(g: GroupMetadataSnapshot): Buffer {
  const w = new Writer().int16(1).string(g.protocolType).int32(g.generationId).nullableString(g.protocol).nullableString(g.leaderId);
  w.array(g.members, (w, m) =>
    w
      .string(m.memberId)
      .string(m.clientId)
      .string(m.clientHost)
      .int32(m.rebalanceTimeoutMs)
      .int32(m.sessionTimeoutMs)
      .bytes(m.subscription)
      .bytes(m.assignment),
  );
  return w.toBuffer();
}

/**
 * One uncompressed magic-2 record batch holding `records`, written by the broker itself (no producer id,
 * CreateTime `timestamp` for every record). By default the records take offsets 0, 1, ... from base offset 0
 * (the log rewrites the base on append); compaction gives each record's `offsetDelta`, the batch's
 * `baseOffset` and its original `lastOffsetDelta`.
 */
export function encodeBrokerBatch(
  records: readonly { key: Buffer; value: Buffer | null; offsetDelta?: number }[],
  timestamp: number,
  at: { baseOffset: number; lastOffsetDelta: number } = { baseOffset: 0, lastOffsetDelta: records.length - 1 },
): Buffer {
  const body = new Writer();
  records.forEach((r, i) => {
    const rec = new Writer().int8(0).varlong(0).varint(r.offsetDelta ?? i).varint(r.key.length).raw(r.key);
    if (r.value === null) rec.varint(-1);
    else rec.varint(r.value.length).raw(r.value);
    rec.varint(0); // headers
    const bytes = rec.toBuffer();
    body.varint(bytes.length).raw(bytes);
  });
  const recordBytes = body.toBuffer();
  const batch = new Writer()
    .int64(at.baseOffset)
    .int32(BATCH_HEADER_SIZE - 12 + recordBytes.length) // batch length: from partitionLeaderEpoch on
    .int32(-1) // partition leader epoch
    .int8(2) // magic
    .int32(0) // crc, filled below
    .int16(0) // attributes: no compression, CreateTime, not transactional
    .int32(at.lastOffsetDelta)
    .int64(timestamp)
    .int64(timestamp)
    .int64(-1) // producer id
    .int16(-1) // producer epoch
    .int32(-1) // base sequence
    .int32(records.length)
    .raw(recordBytes)
    .toBuffer();
  batch.writeUInt32BE(crc32c(batch.subarray(21)) >>> 0, 17);
  return batch;
}

/** Records appended to one partition between two compactions of it. */
const COMPACT_EVERY = 1000;

/** Appends the coordinator's records to `__consumer_offsets`, and compacts it as Kafka's cleaner would. */
export class ConsumerOffsetsLog {
  /** Records appended to each partition since its last compaction. */
  private readonly sinceCompaction = new Map<number, number>();

  constructor(private readonly cluster: Cluster) {}

  /** The internal topic, created with the configured partition count when it does not exist yet. */
  topic(): Topic {
    return this.cluster.topics.get(CONSUMER_OFFSETS_TOPIC) ?? this.cluster.createInternalTopic(CONSUMER_OFFSETS_TOPIC);
  }

  /** The partition holding `groupId`'s records. */
  partitionFor(groupId: string): number {
    return offsetsPartitionFor(groupId, this.topic().partitions.length);
  }

  /** Appends one offset-commit record per committed partition of `groupId`, in one batch. */
  offsetsCommitted(groupId: string, offsets: readonly ({ topic: string; partition: number } & OffsetCommitRecord)[]): void {
    if (offsets.length === 0) return;
    this.append(
      groupId,
      offsets.map((o) => ({ key: encodeOffsetCommitKey(groupId, o.topic, o.partition), value: encodeOffsetCommitValue(o) })),
    );
  }

  /** Appends tombstones for offsets of `groupId` that no longer exist. */
  offsetsDeleted(groupId: string, partitions: readonly { topic: string; partition: number }[]): void {
    if (partitions.length === 0) return;
    this.append(
      groupId,
      partitions.map((p) => ({ key: encodeOffsetCommitKey(groupId, p.topic, p.partition), value: null })),
    );
  }

  /** Appends the group's current generation, members and assignments. */
  groupChanged(group: GroupMetadataSnapshot): void {
    this.append(group.groupId, [{ key: encodeGroupMetadataKey(group.groupId), value: encodeGroupMetadataValue(group) }]);
  }

  /** Appends the group's tombstone (the group no longer exists). */
  groupDeleted(groupId: string): void {
    this.append(groupId, [{ key: encodeGroupMetadataKey(groupId), value: null }]);
  }

  private append(groupId: string, records: readonly { key: Buffer; value: Buffer | null }[]): void {
    const topic = this.topic();
    const index = offsetsPartitionFor(groupId, topic.partitions.length);
    const partition = topic.partitions[index];
    const now = Date.now();
    const bytes = encodeBrokerBatch(records, now);
    partition.log.append(bytes, {
      length: bytes.length,
      magic: 2,
      attributes: 0,
      lastOffsetDelta: records.length - 1,
      baseTimestamp: now,
      maxTimestamp: now,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: records.length,
    });
    const appended = (this.sinceCompaction.get(index) ?? 0) + records.length;
    this.sinceCompaction.set(index, appended);
    if (appended >= COMPACT_EVERY) {
      this.sinceCompaction.set(index, 0);
      compact(partition.log);
    }
  }
}

/**
 * Keeps only the latest record of each key (a tombstone included: it is the key's latest state), so that
 * the topic holds about one record per group, offset and member set rather than every commit ever made.
 */
export function compact(log: PartitionLog): void {
  const latest = new Map<string, number>();
  for (const r of log.records()) latest.set(r.key!.toString('latin1'), r.offset);
  log.compact((batch) => {
    const records = decodeBatch(batch.bytes);
    const kept = records.filter((r) => latest.get(r.key!.toString('latin1')) === r.offset);
    if (kept.length === records.length) return batch.bytes;
    if (kept.length === 0) return null;
    const timestamp = Number(batch.bytes.readBigInt64BE(27));
    return encodeBrokerBatch(
      kept.map((r) => ({ key: r.key!, value: r.value, offsetDelta: r.offset - batch.baseOffset })),
      timestamp,
      { baseOffset: batch.baseOffset, lastOffsetDelta: batch.lastOffset - batch.baseOffset },
    );
  });
}
