/**
 * The transaction coordinator (KIP-98): transactional ids and their producer id and epoch, the partitions
 * and consumer groups each open transaction has touched, the offsets committed into it, and, per partition,
 * the transactions still open (which hold back the last stable offset) and those aborted (which a
 * `read_committed` fetch lists so the client drops their records).
 *
 * Life of a transaction, as Kafka's coordinator runs it:
 * - InitProducerId with a transactional id hands out the id's producer id with its epoch bumped, which
 *   fences any older instance (its requests get INVALID_PRODUCER_EPOCH); a transaction the old instance left
 *   open is aborted first.
 * - AddPartitionsToTxn / AddOffsetsToTxn open the transaction (state Ongoing) and start its timeout.
 * - Produce of a transactional batch (attribute bit 4) is accepted only for a partition added to the
 *   producer's open transaction (KIP-890's verification; INVALID_TXN_STATE otherwise).
 * - TxnOffsetCommit stages offsets for a group added with AddOffsetsToTxn; they are not visible to
 *   OffsetFetch until the transaction commits.
 * - EndTxn writes a control batch (a COMMIT or ABORT marker) to every partition of the transaction, applies
 *   or drops the staged offsets, and closes it. A transaction left open longer than its
 *   `transaction.timeout.ms` is aborted by the coordinator, which bumps the epoch so the late producer is
 *   fenced, as Kafka does.
 *
 * Deliberate differences from Apache Kafka: state lives in memory (no __transaction_state topic) and every
 * step is synchronous, so there are no PrepareCommit/PrepareAbort states and CONCURRENT_TRANSACTIONS is
 * never answered; markers are written directly instead of through WriteTxnMarkers; an epoch reaching
 * 32767 is not rolled over to a new producer id.
 */
import type { Cluster } from './cluster.js';
import type { PartitionLog } from './log.js';
import { ErrorCode } from './protocol/error-codes.js';
import { Writer } from './protocol/writer.js';
import { crc32c } from '@node-rs/crc32';
import { type BatchHeader, type DecodedRecord, decodeBatch } from './protocol/record-batch.js';

/** Attribute bit of a transactional batch. */
export const TRANSACTIONAL_FLAG = 0x10;
const CONTROL_FLAG = 0x20;
/** Kafka's transaction.max.timeout.ms default: a producer asking for more gets INVALID_TRANSACTION_TIMEOUT. */
export const TRANSACTION_MAX_TIMEOUT_MS = 900_000;

/** State of a transactional id, Kafka's names (without the Prepare* states, which do not last here). */
export type TransactionState = 'Empty' | 'Ongoing' | 'CompleteCommit' | 'CompleteAbort';

/** A transactional id as the coordinator knows it (`EmbeddedKafkaBroker.transactions()`). */
export interface TransactionDescription {
  readonly transactionalId: string;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly state: TransactionState;
  readonly timeoutMs: number;
  /** Partitions of the open transaction, as `topic-partition`, sorted. */
  readonly partitions: string[];
  /** Consumer groups whose offsets the open transaction carries. */
  readonly groups: string[];
  /** When the open transaction started (ms since the epoch), or -1. */
  readonly startedAt: number;
}

interface StagedOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
  metadata: string;
  leaderEpoch: number;
}

interface Transaction {
  readonly transactionalId: string;
  readonly producerId: number;
  epoch: number;
  timeoutMs: number;
  state: TransactionState;
  partitions: Map<string, { topic: string; partition: number }>;
  groups: Set<string>;
  offsets: StagedOffset[];
  startedAt: number;
  timer?: NodeJS.Timeout;
}

/** Open and aborted transactions of one partition. */
interface PartitionTxnState {
  /** First offset of each producer's open transaction here. */
  open: Map<number, number>;
  /** Aborted transactions: producer, first offset, and the offset of their ABORT marker. */
  aborted: { producerId: number; firstOffset: number; lastOffset: number }[];
}

export interface AbortedTransaction {
  readonly producerId: number;
  readonly firstOffset: number;
}

export class TransactionCoordinator {
  private readonly byId = new Map<string, Transaction>();
  private readonly byProducerId = new Map<number, Transaction>();
  private readonly partitions = new WeakMap<PartitionLog, PartitionTxnState>();

  constructor(private readonly cluster: Cluster) {}

  /**
   * InitProducerId with a transactional id: the id's producer id with a bumped epoch (a new id at epoch 0
   * the first time). A transaction left open by the previous epoch is aborted.
   */
  initProducerId(transactionalId: string, timeoutMs: number): { errorCode: number; producerId: number; producerEpoch: number } {
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > TRANSACTION_MAX_TIMEOUT_MS) {
      return { errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1, producerEpoch: -1 };
    }
    const { producerId, producerEpoch } = this.cluster.producers.initProducerId(transactionalId);
    let txn = this.byId.get(transactionalId);
    if (!txn) {
      txn = { transactionalId, producerId, epoch: producerEpoch, timeoutMs, state: 'Empty', partitions: new Map(), groups: new Set(), offsets: [], startedAt: -1 };
      this.byId.set(transactionalId, txn);
      this.byProducerId.set(producerId, txn);
    } else {
      txn.epoch = producerEpoch;
      if (txn.state === 'Ongoing') {
        this.cluster.logger.info(`transactional id '${transactionalId}' re-initialised at epoch ${producerEpoch}: aborting its open transaction`);
        this.complete(txn, false);
      }
      txn.timeoutMs = timeoutMs;
    }
    return { errorCode: ErrorCode.NONE, producerId, producerEpoch };
  }

  /** The error a request naming (transactional id, producer id, epoch) gets, or the transaction. */
  private lookup(transactionalId: string, producerId: number, epoch: number): Transaction | number {
    const txn = this.byId.get(transactionalId);
    if (!txn || txn.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (epoch !== txn.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    return txn;
  }

  private begin(txn: Transaction): void {
    if (txn.state === 'Ongoing') return;
    txn.state = 'Ongoing';
    txn.startedAt = Date.now();
    txn.timer = setTimeout(() => this.expire(txn), txn.timeoutMs);
    txn.timer.unref();
  }

  /** Aborts a transaction open past its timeout and fences its producer (the epoch is bumped). */
  private expire(txn: Transaction): void {
    if (txn.state !== 'Ongoing') return;
    const { producerEpoch } = this.cluster.producers.initProducerId(txn.transactionalId);
    this.cluster.logger.warn(
      `transaction of '${txn.transactionalId}' (producer ${txn.producerId}, epoch ${txn.epoch}) was open longer than its ` +
        `transaction.timeout.ms ${txn.timeoutMs}: aborted, epoch bumped to ${producerEpoch}`,
    );
    txn.epoch = producerEpoch;
    this.complete(txn, false);
  }

  /** AddPartitionsToTxn: per partition, an error code. */
  addPartitions(
    transactionalId: string,
    producerId: number,
    epoch: number,
    topics: readonly { name: string; partitions: readonly number[] }[],
  ): { name: string; partitions: { index: number; errorCode: number }[] }[] {
    const txn = this.lookup(transactionalId, producerId, epoch);
    const unknown = (name: string, index: number) => !this.cluster.topics.get(name)?.partition(index);
    const anyUnknown = typeof txn !== 'number' && topics.some((t) => t.partitions.some((p) => unknown(t.name, p)));
    const result = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((index) => {
        if (typeof txn === 'number') return { index, errorCode: txn };
        if (anyUnknown) return { index, errorCode: unknown(t.name, index) ? ErrorCode.UNKNOWN_TOPIC_OR_PARTITION : ErrorCode.OPERATION_NOT_ATTEMPTED };
        return { index, errorCode: ErrorCode.NONE };
      }),
    }));
    if (typeof txn === 'number' || anyUnknown) return result;
    this.begin(txn);
    for (const t of topics) for (const partition of t.partitions) txn.partitions.set(`${t.name}-${partition}`, { topic: t.name, partition });
    return result;
  }

  /** AddOffsetsToTxn: the group's offsets will be committed with the transaction. */
  addOffsets(transactionalId: string, producerId: number, epoch: number, groupId: string): number {
    const txn = this.lookup(transactionalId, producerId, epoch);
    if (typeof txn === 'number') return txn;
    this.begin(txn);
    txn.groups.add(groupId);
    return ErrorCode.NONE;
  }

  /** TxnOffsetCommit: stages offsets, applied when the transaction commits. */
  commitOffsets(
    transactionalId: string,
    groupId: string,
    producerId: number,
    epoch: number,
    topics: readonly { name: string; partitions: readonly { index: number; offset: number; leaderEpoch: number; metadata: string | null }[] }[],
  ): { name: string; partitions: { index: number; errorCode: number }[] }[] {
    let txn = this.lookup(transactionalId, producerId, epoch);
    if (typeof txn !== 'number' && (txn.state !== 'Ongoing' || !txn.groups.has(groupId))) txn = ErrorCode.INVALID_TXN_STATE;
    return topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (typeof txn === 'number') return { index: p.index, errorCode: txn };
        if (!this.cluster.topics.get(t.name)?.partition(p.index)) return { index: p.index, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
        txn.offsets.push({ group: groupId, topic: t.name, partition: p.index, offset: p.offset, metadata: p.metadata ?? '', leaderEpoch: p.leaderEpoch });
        return { index: p.index, errorCode: ErrorCode.NONE };
      }),
    }));
  }

  /** EndTxn: commits or aborts the open transaction. A retry of the same outcome succeeds again. */
  endTxn(transactionalId: string, producerId: number, epoch: number, commit: boolean): number {
    const txn = this.lookup(transactionalId, producerId, epoch);
    if (typeof txn === 'number') return txn;
    if (txn.state === 'Ongoing') {
      this.complete(txn, commit);
      return ErrorCode.NONE;
    }
    if ((txn.state === 'CompleteCommit' && commit) || (txn.state === 'CompleteAbort' && !commit)) return ErrorCode.NONE;
    return ErrorCode.INVALID_TXN_STATE;
  }

  /** Writes the markers, applies or drops the staged offsets, and closes the transaction. */
  private complete(txn: Transaction, commit: boolean): void {
    clearTimeout(txn.timer);
    const now = Date.now();
    for (const { topic, partition } of txn.partitions.values()) {
      const log = this.cluster.topics.get(topic)?.partition(partition)?.log;
      if (!log) continue; // deleted meanwhile
      const state = this.stateOf(log);
      const firstOffset = state.open.get(txn.producerId);
      const { bytes, header } = controlBatch(txn.producerId, txn.epoch, commit, now);
      state.open.delete(txn.producerId);
      const markerOffset = log.append(bytes, header);
      if (!commit && firstOffset !== undefined) state.aborted.push({ producerId: txn.producerId, firstOffset, lastOffset: markerOffset });
    }
    if (commit) {
      for (const o of txn.offsets) {
        if (!this.cluster.topics.has(o.topic)) continue;
        this.cluster.groups.offsets.commit(o.group, o.topic, o.partition, { offset: o.offset, metadata: o.metadata, leaderEpoch: o.leaderEpoch, commitTimestamp: now });
      }
    }
    this.cluster.logger.debug(
      `transaction of '${txn.transactionalId}' ${commit ? 'committed' : 'aborted'}: ${txn.partitions.size} partition(s), ${txn.offsets.length} offset(s)`,
    );
    txn.state = commit ? 'CompleteCommit' : 'CompleteAbort';
    txn.partitions = new Map();
    txn.groups = new Set();
    txn.offsets = [];
    txn.startedAt = -1;
  }

  /**
   * Whether a transactional batch may be appended: its producer must have added the partition to its open
   * transaction. An error code, or NONE.
   */
  checkProduce(topic: string, partition: number, h: BatchHeader): number {
    if ((h.attributes & TRANSACTIONAL_FLAG) === 0) return ErrorCode.NONE;
    const txn = this.byProducerId.get(h.producerId);
    if (!txn) return ErrorCode.INVALID_PRODUCER_ID_MAPPING;
    if (h.producerEpoch !== txn.epoch) return ErrorCode.INVALID_PRODUCER_EPOCH;
    if (txn.state !== 'Ongoing' || !txn.partitions.has(`${topic}-${partition}`)) return ErrorCode.INVALID_TXN_STATE;
    return ErrorCode.NONE;
  }

  /** Records an appended transactional batch: the partition's stable offset stays before it until the end. */
  appended(log: PartitionLog, h: BatchHeader, baseOffset: number): void {
    if ((h.attributes & TRANSACTIONAL_FLAG) === 0) return;
    const state = this.stateOf(log);
    if (!state.open.has(h.producerId)) state.open.set(h.producerId, baseOffset);
  }

  /** The last stable offset: the first offset of the oldest open transaction, else the high watermark. */
  lastStableOffset(log: PartitionLog): number {
    const state = this.partitions.get(log);
    let lso = log.endOffset;
    if (state) for (const first of state.open.values()) lso = Math.min(lso, first);
    return lso;
  }

  /** Aborted transactions overlapping offsets [from, to]: what a read_committed fetch of that range lists. */
  abortedTransactions(log: PartitionLog, from: number, to: number): AbortedTransaction[] {
    const state = this.partitions.get(log);
    if (!state) return [];
    return state.aborted.filter((a) => a.lastOffset >= from && a.firstOffset <= to).map(({ producerId, firstOffset }) => ({ producerId, firstOffset }));
  }

  /**
   * The records a read_committed consumer gets from `from` on: below the last stable offset, without
   * aborted transactions' records (control records are never decoded as records).
   */
  committedRecords(log: PartitionLog, from: number): DecodedRecord[] {
    const lso = this.lastStableOffset(log);
    const aborted = this.partitions.get(log)?.aborted ?? [];
    const out: DecodedRecord[] = [];
    for (const batch of log.read(from, Number.MAX_SAFE_INTEGER).chunks) {
      const baseOffset = Number(batch.readBigInt64BE(0));
      if (baseOffset >= lso) break;
      if ((batch.readInt16BE(21) & TRANSACTIONAL_FLAG) !== 0) {
        const producerId = Number(batch.readBigInt64BE(43));
        if (aborted.some((a) => a.producerId === producerId && a.firstOffset <= baseOffset && baseOffset <= a.lastOffset)) continue;
      }
      for (const r of decodeBatch(batch)) if (r.offset >= from && r.offset >= log.logStartOffset) out.push(r);
    }
    return out;
  }

  private stateOf(log: PartitionLog): PartitionTxnState {
    let state = this.partitions.get(log);
    if (!state) this.partitions.set(log, (state = { open: new Map(), aborted: [] }));
    return state;
  }

  /** Every transactional id, sorted. */
  list(): TransactionDescription[] {
    return [...this.byId.values()]
      .sort((a, b) => a.transactionalId.localeCompare(b.transactionalId))
      .map((t) => ({
        transactionalId: t.transactionalId,
        producerId: t.producerId,
        producerEpoch: t.epoch,
        state: t.state,
        timeoutMs: t.timeoutMs,
        partitions: [...t.partitions.keys()].sort(),
        groups: [...t.groups].sort(),
        startedAt: t.startedAt,
      }));
  }

  /** Stops the timeout timers (broker stop). */
  close(): void {
    for (const t of this.byId.values()) clearTimeout(t.timer);
  }
}

/**
 * A control batch holding one transaction marker, as the coordinator writes it:
 *   key   => version: INT16 (0) type: INT16 (0 ABORT, 1 COMMIT)
 *   value => version: INT16 (0) coordinator_epoch: INT32
 * in a batch with the control and transactional attribute bits set, the producer's id and epoch, and
 * base sequence -1. The base offset is left 0 for the log to rewrite.
 */
export function controlBatch(producerId: number, epoch: number, commit: boolean, timestamp: number): { bytes: Buffer; header: BatchHeader } {
  const key = new Writer().int16(0).int16(commit ? 1 : 0).toBuffer();
  const value = new Writer().int16(0).int32(0).toBuffer();
  const body = new Writer().int8(0).varlong(0).varint(0).varint(key.length).raw(key).varint(value.length).raw(value).varint(0).toBuffer();
  const record = new Writer().varint(body.length).raw(body).toBuffer();
  const attributes = CONTROL_FLAG | TRANSACTIONAL_FLAG;
  // From attributes on: the part the CRC covers.
  const tail = new Writer()
    .int16(attributes)
    .int32(0) // lastOffsetDelta
    .int64(timestamp)
    .int64(timestamp)
    .int64(producerId)
    .int16(epoch)
    .int32(-1) // baseSequence
    .int32(1) // record count
    .raw(record)
    .toBuffer();
  const head = new Writer()
    .int64(0) // baseOffset
    .int32(tail.length + 9) // batchLength: leader epoch, magic, crc, then the tail
    .int32(-1) // partitionLeaderEpoch
    .int8(2) // magic
    .toBuffer();
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32c(tail) >>> 0);
  const bytes = Buffer.concat([head, crc, tail]);
  const header: BatchHeader = {
    length: bytes.length,
    magic: 2,
    attributes,
    lastOffsetDelta: 0,
    baseTimestamp: timestamp,
    maxTimestamp: timestamp,
    producerId,
    producerEpoch: epoch,
    baseSequence: -1,
    recordCount: 1,
  };
  return { bytes, header };
}
