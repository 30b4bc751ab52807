/**
 * A partition's log: record batches stored exactly as producers sent them, with their baseOffset rewritten
 * to the offset the broker assigned (and, in a LogAppendTime topic, stamped with the append time). Offsets only grow; DeleteRecords moves the log start forward.
 * There is one replica and no follower lag, so the high watermark is the log-end offset.
 */
import { type BatchHeader, type DecodedRecord, decodeBatch, stampLogAppendTime } from './protocol/record-batch.js';

export interface StoredBatch {
  readonly baseOffset: number;
  readonly lastOffset: number;
  readonly maxTimestamp: number;
  readonly bytes: Buffer;
}

export class PartitionLog {
  private batches: StoredBatch[] = [];
  /** First offset still readable (moved by DeleteRecords). */
  logStartOffset = 0;
  /** Offset the next record will get; equals the high watermark. */
  endOffset = 0;
  /** Bytes held by the stored batches. */
  sizeBytes = 0;
  private readonly listeners = new Set<() => void>();

  /**
   * Appends one validated batch (a view on the request frame, copied here) and returns its base offset.
   * With `logAppendTime` (a LogAppendTime topic) the copy is stamped with it; otherwise only the base
   * offset is rewritten.
   */
  append(bytes: Buffer, header: BatchHeader, logAppendTime?: number): number {
    const baseOffset = this.endOffset;
    const stored = Buffer.allocUnsafe(bytes.length);
    bytes.copy(stored);
    stored.writeBigInt64BE(BigInt(baseOffset), 0);
    if (logAppendTime !== undefined) stampLogAppendTime(stored, logAppendTime);
    const lastOffset = baseOffset + header.lastOffsetDelta;
    this.batches.push({ baseOffset, lastOffset, maxTimestamp: logAppendTime ?? header.maxTimestamp, bytes: stored });
    this.endOffset = lastOffset + 1;
    this.sizeBytes += stored.length;
    for (const l of this.listeners) l();
    return baseOffset;
  }

  /** Calls `listener` after each append until the returned function is called. */
  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Index of the first batch whose last offset is at or after `offset`. */
  private indexFor(offset: number): number {
    let lo = 0;
    let hi = this.batches.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.batches[mid].lastOffset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Batches from the one holding `offset` on, up to `maxBytes` in total, but always at least one batch
   * (as Kafka does, so a record larger than the limit still makes progress). A fetch starting inside a
   * batch gets the whole batch; the client skips the records before its offset.
   */
  read(offset: number, maxBytes: number): { chunks: Buffer[]; bytes: number } {
    const chunks: Buffer[] = [];
    let bytes = 0;
    for (let i = this.indexFor(offset); i < this.batches.length; i++) {
      const b = this.batches[i].bytes;
      if (chunks.length > 0 && bytes + b.length > maxBytes) break;
      chunks.push(b);
      bytes += b.length;
      if (bytes >= maxBytes) break;
    }
    return { chunks, bytes };
  }

  /** The max timestamp of the batch holding `offset` (its append time in a LogAppendTime topic), or -1. */
  timestampAt(offset: number): number {
    const batch = this.batches[this.indexFor(offset)];
    return batch && batch.baseOffset <= offset ? batch.maxTimestamp : -1;
  }

  /** Bytes available from `offset` on, counted up to `limit`. */
  bytesAvailable(offset: number, limit: number): number {
    let bytes = 0;
    for (let i = this.indexFor(offset); i < this.batches.length && bytes < limit; i++) bytes += this.batches[i].bytes.length;
    return bytes;
  }

  /**
   * The earliest record whose timestamp is at or after `timestamp`: its offset and its timestamp (what
   * ListOffsets answers), or -1s if there is none. Batches are decompressed within `maxDecompressedBytes`;
   * in one that cannot be decoded within it, the batch's first readable offset and its max timestamp are the
   * best answer known.
   */
  offsetForTimestamp(timestamp: number, maxDecompressedBytes?: number): { offset: number; timestamp: number } {
    for (const batch of this.batches) {
      if (batch.maxTimestamp < timestamp || batch.lastOffset < this.logStartOffset) continue;
      try {
        const hit = decodeBatch(batch.bytes, maxDecompressedBytes).find((r) => r.timestamp >= timestamp && r.offset >= this.logStartOffset);
        if (hit) return { offset: hit.offset, timestamp: hit.timestamp };
      } catch {
        return { offset: Math.max(batch.baseOffset, this.logStartOffset), timestamp: batch.maxTimestamp };
      }
    }
    return { offset: -1, timestamp: -1 };
  }

  /** The largest timestamp in the log and its offset (ListOffsets' MAX_TIMESTAMP), or -1s. */
  maxTimestamp(): { timestamp: number; offset: number } {
    let best = { timestamp: -1, offset: -1 };
    for (const batch of this.batches) if (batch.maxTimestamp > best.timestamp) best = { timestamp: batch.maxTimestamp, offset: batch.lastOffset };
    return best;
  }

  /** Makes offsets below `offset` unreadable (DeleteRecords); returns the new log start offset. */
  deleteBefore(offset: number): number {
    if (offset > this.logStartOffset) this.logStartOffset = Math.min(offset, this.endOffset);
    while (this.batches.length > 0 && this.batches[0].lastOffset < this.logStartOffset) {
      this.sizeBytes -= this.batches.shift()!.bytes.length;
    }
    return this.logStartOffset;
  }

  /**
   * Log compaction, as Kafka's cleaner does it for a compacted topic (`__consumer_offsets`): each stored batch
   * but the last (Kafka never cleans the active segment) is replaced by what `rewrite` returns, the same bytes,
   * a batch with fewer records, or null to drop it. Offsets never move: a rewritten batch keeps its base and
   * last offsets, the log end stays where it is, and readers skip the gaps.
   */
  compact(rewrite: (batch: StoredBatch) => Buffer | null): void {
    const kept: StoredBatch[] = [];
    let size = 0;
    this.batches.forEach((batch, i) => {
      const bytes = i === this.batches.length - 1 ? batch.bytes : rewrite(batch);
      if (!bytes) return;
      kept.push(bytes === batch.bytes ? batch : { ...batch, bytes });
      size += bytes.length;
    });
    this.batches = kept;
    this.sizeBytes = size;
  }

  /** Decoded records from `fromOffset` (default: log start) to the end, each batch decompressed within `maxDecompressedBytes`. */
  records(fromOffset = this.logStartOffset, maxDecompressedBytes?: number): DecodedRecord[] {
    const out: DecodedRecord[] = [];
    for (let i = this.indexFor(fromOffset); i < this.batches.length; i++) {
      for (const r of decodeBatch(this.batches[i].bytes, maxDecompressedBytes)) if (r.offset >= fromOffset && r.offset >= this.logStartOffset) out.push(r);
    }
    return out;
  }
}
