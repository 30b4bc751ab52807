/**
 * RecordBatch (magic v2), the unit in which Kafka stores and ships records.
 *
 *   baseOffset: int64 | batchLength: int32 | partitionLeaderEpoch: int32 | magic: int8 (= 2) | crc: uint32
 *   | attributes: int16 | lastOffsetDelta: int32 | baseTimestamp: int64 | maxTimestamp: int64
 *   | producerId: int64 | producerEpoch: int16 | baseSequence: int32 | records: [Record]   (int32 count)
 *
 *   Record => length: varint | attributes: int8 | timestampDelta: varlong | offsetDelta: varint
 *             | key: varint-length bytes | value: varint-length bytes | headers: [varint-length key, value]
 *
 * The CRC-32C covers everything from `attributes` to the end, so the broker assigns offsets by rewriting
 * `baseOffset` alone: no recompute, no decompression. Only a LogAppendTime topic's batches are changed
 * past it (attributes, maxTimestamp, then the CRC recomputed). Records are read on produce to validate
 * them (batch-validator.ts) and for inspection, both through bounded decompression (compression.ts).
 */
import { crc32c } from '@node-rs/crc32';
import { CODEC_NAMES, Compression, DecompressionError, decompress } from './compression.js';
import { ErrorCode } from './error-codes.js';
import { ProtocolError } from './protocol-error.js';
import { Reader } from './reader.js';

/** Size of the batch header up to and including the record count. */
export const BATCH_HEADER_SIZE = 61;
const CRC_START = 21;
/** Attribute bit of a control batch (transaction markers). */
const CONTROL_FLAG = 0x20;
/** Attribute bit of the timestamp type: set for LogAppendTime, clear for CreateTime. */
const LOG_APPEND_TIME_FLAG = 0x08;
const ATTRIBUTES_OFFSET = 21;
const MAX_TIMESTAMP_OFFSET = 35;
const CRC_OFFSET = 17;

export { Compression } from './compression.js';

/**
 * Most bytes a batch's records may decompress to, when no other bound is given: Kafka streams records and
 * has no such limit; here a batch is decompressed whole, so a bound keeps a compression bomb from taking
 * the broker's memory. The broker's option `maxDecompressedBatchBytes` sets it.
 */
export const DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES = 64 * 1024 * 1024;

/** The fields of a batch header the broker needs; the bytes themselves are kept as they came. */
export interface BatchHeader {
  readonly length: number; // whole batch, in bytes
  readonly magic: number;
  readonly attributes: number;
  readonly lastOffsetDelta: number;
  readonly baseTimestamp: number;
  readonly maxTimestamp: number;
  readonly producerId: number;
  readonly producerEpoch: number;
  readonly baseSequence: number;
  readonly recordCount: number;
}

/** Why a batch was refused, as a Kafka error code and a line for the log. */
export class InvalidBatchError extends Error {
  override readonly name = 'InvalidBatchError';
  constructor(
    message: string,
    readonly errorCode: number,
  ) {
    super(message);
  }
}

/**
 * Splits a produce request's record set into batches and validates each header and CRC.
 * Throws {@link InvalidBatchError}: CORRUPT_MESSAGE (2) for bytes that do not frame a batch or fail the
 * CRC; INVALID_RECORD (87) for a magic other than 2 and for a header Kafka refuses from a client (see
 * `headerProblem`), as Kafka answers a Produce v3+.
 */
export function splitBatches(records: Buffer): { header: BatchHeader; bytes: Buffer }[] {
  const out: { header: BatchHeader; bytes: Buffer }[] = [];
  let pos = 0;
  while (pos < records.length) {
    if (records.length - pos < BATCH_HEADER_SIZE) {
      throw new InvalidBatchError(`record set ends with a partial batch header (${records.length - pos} bytes)`, ErrorCode.CORRUPT_MESSAGE);
    }
    const batchLength = records.readInt32BE(pos + 8);
    const length = batchLength + 12;
    if (batchLength < BATCH_HEADER_SIZE - 12 || pos + length > records.length) {
      throw new InvalidBatchError(`batch length ${batchLength} does not fit the record set`, ErrorCode.CORRUPT_MESSAGE);
    }
    const bytes = records.subarray(pos, pos + length);
    const magic = bytes.readInt8(16);
    if (magic !== 2) {
      throw new InvalidBatchError(`record batch magic ${magic} is not supported; Produce v3+ takes only magic 2 (Kafka 0.11+) batches`, ErrorCode.INVALID_RECORD);
    }
    const crc = bytes.readUInt32BE(CRC_OFFSET);
    const actual = crc32c(bytes.subarray(CRC_START)) >>> 0;
    if (crc !== actual) {
      throw new InvalidBatchError(`record batch CRC mismatch: header says ${crc}, bytes give ${actual}`, ErrorCode.CORRUPT_MESSAGE);
    }
    const header: BatchHeader = {
      length,
      magic,
      attributes: bytes.readInt16BE(21),
      lastOffsetDelta: bytes.readInt32BE(23),
      baseTimestamp: Number(bytes.readBigInt64BE(27)),
      maxTimestamp: Number(bytes.readBigInt64BE(35)),
      producerId: Number(bytes.readBigInt64BE(43)),
      producerEpoch: bytes.readInt16BE(51),
      baseSequence: bytes.readInt32BE(53),
      recordCount: bytes.readInt32BE(57),
    };
    const problem = headerProblem(header);
    if (problem) throw new InvalidBatchError(problem, ErrorCode.INVALID_RECORD);
    out.push({ header, bytes });
    pos += length;
  }
  return out;
}

/**
 * What Kafka's LogValidator refuses in a client's batch header, with its wording, or null: the header must
 * agree with itself (a positive record count, equal to lastOffsetDelta + 1), a client may not write control
 * batches (transaction markers), and an idempotent batch (producer id set) needs a sequence number.
 * Header fields only, so the records are never read.
 */
function headerProblem(h: BatchHeader): string | null {
  if (h.recordCount <= 0) return `Invalid reported count for record batch: ${h.recordCount}`;
  if (h.lastOffsetDelta + 1 !== h.recordCount) {
    return `Inconsistent batch offset range [0, ${h.lastOffsetDelta}] and count of records ${h.recordCount}`;
  }
  if ((h.attributes & CONTROL_FLAG) !== 0) return 'Clients are not allowed to write control records';
  if (h.producerId >= 0 && h.baseSequence < 0) return `Invalid sequence number ${h.baseSequence} in record batch with producerId ${h.producerId}`;
  if ((h.attributes & 0x07) > Compression.Zstd) return `Unknown compression type id ${h.attributes & 0x07} in record batch`;
  return null;
}

/**
 * Marks a batch, in place, as stamped with the broker's append time (message.timestamp.type=LogAppendTime),
 * as Kafka's DefaultRecordBatch.setMaxTimestamp does: the timestamp-type bit set, maxTimestamp set to
 * `appendTime`, and the CRC-32C, which covers the attributes onward, recomputed. Records keep their own
 * deltas; readers take maxTimestamp as every record's timestamp.
 */
export function stampLogAppendTime(batch: Buffer, appendTime: number): void {
  batch.writeInt16BE(batch.readInt16BE(ATTRIBUTES_OFFSET) | LOG_APPEND_TIME_FLAG, ATTRIBUTES_OFFSET);
  batch.writeBigInt64BE(BigInt(appendTime), MAX_TIMESTAMP_OFFSET);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)) >>> 0, CRC_OFFSET);
}

/** A record decoded from the log, for tests and inspection. */
export interface DecodedRecord {
  readonly offset: number;
  /** The producer's timestamp (CreateTime), or the broker's append time for a LogAppendTime topic. */
  readonly timestamp: number;
  /** What `timestamp` is, from the batch's attributes, as Kafka's TimestampType names it. */
  readonly timestampType: 'CreateTime' | 'LogAppendTime';
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: { key: string; value: Buffer | null }[];
}

/**
 * Decodes the records of one stored batch, whatever its codec, decompressing at most `maxBytes`; throws
 * {@link ProtocolError} for a body that does not decompress within that or records that do not parse.
 */
export function decodeBatch(batch: Buffer, maxBytes = DEFAULT_MAX_DECOMPRESSED_BATCH_BYTES): DecodedRecord[] {
  const baseOffset = Number(batch.readBigInt64BE(0));
  const attributes = batch.readInt16BE(21);
  const baseTimestamp = Number(batch.readBigInt64BE(27));
  const logAppendTime = (attributes & LOG_APPEND_TIME_FLAG) !== 0;
  const timestampType = logAppendTime ? 'LogAppendTime' : 'CreateTime';
  const maxTimestamp = Number(batch.readBigInt64BE(MAX_TIMESTAMP_OFFSET));
  const count = batch.readInt32BE(57);
  const codec = attributes & 0x07;
  if ((attributes & CONTROL_FLAG) !== 0) return []; // control batch (transaction markers): no user records
  let body: Buffer;
  try {
    body = decompress(codec, batch.subarray(BATCH_HEADER_SIZE), maxBytes);
  } catch (err) {
    if (!(err instanceof DecompressionError)) throw err;
    throw new ProtocolError(`cannot decode a ${CODEC_NAMES[codec] ?? codec}-compressed batch: ${err.message}`);
  }
  const r = new Reader(body);
  const records: DecodedRecord[] = [];
  for (let i = 0; i < count; i++) {
    r.varint(); // length
    r.int8(); // attributes
    const timestampDelta = r.varlong();
    const offsetDelta = r.varint();
    const keyLen = r.varint();
    const key = keyLen < 0 ? null : Buffer.from(r.raw(keyLen));
    const valueLen = r.varint();
    const value = valueLen < 0 ? null : Buffer.from(r.raw(valueLen));
    const headerCount = r.varint();
    const headers: { key: string; value: Buffer | null }[] = [];
    for (let h = 0; h < headerCount; h++) {
      const hk = r.raw(r.varint()).toString('utf8');
      const hvLen = r.varint();
      headers.push({ key: hk, value: hvLen < 0 ? null : Buffer.from(r.raw(hvLen)) });
    }
    const timestamp = logAppendTime ? maxTimestamp : baseTimestamp + timestampDelta;
    records.push({ offset: baseOffset + offsetDelta, timestamp, timestampType, key, value, headers });
  }
  return records;
}
