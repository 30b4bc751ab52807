/** Builds RecordBatch v2 bytes for tests that send exact frames (see record-batch.ts in the broker for the grammar). */
import { crc32c } from '@node-rs/crc32';
import { Writer } from '../../../libs/broker/src/protocol/writer.js';

export interface TestRecord {
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, string>;
  /** Milliseconds after the batch's base timestamp. @default 0 */
  timestampDelta?: number;
}

const bytesOf = (v: Buffer | string | null | undefined): Buffer | null => (v === null || v === undefined ? null : Buffer.isBuffer(v) ? v : Buffer.from(v));

export interface BatchOptions {
  /** @default 2 */
  magic?: number;
  /** @default now */
  timestamp?: number;
  /** Idempotent batches: producer id, epoch and first sequence. @default -1, -1, -1 (not idempotent) */
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  /** Codec id in the attributes (1 gzip, 2 snappy, 3 lz4, 4 zstd), with `compressBody` to compress the records. @default 0 */
  codec?: number;
  compressBody?: (records: Buffer) => Buffer;
  /** Bytes to put where the records go, instead of encoding `records` (which then only sets the count). */
  body?: Buffer;
}

export function encodeBatch(records: TestRecord[], options: BatchOptions = {}): Buffer {
  const timestamp = options.timestamp ?? Date.now();
  const body = new Writer();
  records.forEach((rec, i) => {
    const r = new Writer();
    r.int8(0).varlong(rec.timestampDelta ?? 0).varint(i);
    for (const part of [bytesOf(rec.key), bytesOf(rec.value)]) {
      if (part === null) r.varint(-1);
      else r.varint(part.length).raw(part);
    }
    const headers = Object.entries(rec.headers ?? {});
    r.varint(headers.length);
    for (const [k, v] of headers) r.varint(Buffer.byteLength(k)).raw(Buffer.from(k)).varint(Buffer.byteLength(v)).raw(Buffer.from(v));
    const encoded = r.toBuffer();
    body.varint(encoded.length).raw(encoded);
  });
  const tail = new Writer();
  tail
    .int16(options.codec ?? 0)
    .int32(records.length - 1)
    .int64(timestamp)
    .int64(timestamp + Math.max(0, ...records.map((r) => r.timestampDelta ?? 0)))
    .int64(options.producerId ?? -1)
    .int16(options.producerEpoch ?? -1)
    .int32(options.baseSequence ?? -1)
    .int32(records.length)
    .raw(options.body ?? (options.compressBody ?? ((b: Buffer) => b))(body.toBuffer()));
  const afterCrc = tail.toBuffer();
  const w = new Writer();
  w.int64(0).int32(4 + 1 + 4 + afterCrc.length).int32(-1).int8(options.magic ?? 2).uint32(crc32c(afterCrc)).raw(afterCrc);
  return w.toBuffer();
}
