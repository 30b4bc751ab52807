/**
 * Reads every record of a produced batch before it is stored, as Kafka's LogValidator does, so that no
 * batch a consumer cannot read reaches the log (one such batch blocks the partition for every consumer:
 * kcat waits forever on it, kafkajs fails on it and never reads past it).
 *
 * The body is decompressed within a bound (compression.ts), then each record is walked:
 *
 *   Record => length: varint | attributes: int8 | timestampDelta: varlong | offsetDelta: varint
 *             | keyLength: varint (-1 = null) | key | valueLength: varint (-1 = null) | value
 *             | headerCount: varint | [headerKeyLength: varint (>= 0) | key | headerValueLength: varint | value]
 *
 * Refusals, as Kafka answers them: a body that does not decompress, CORRUPT_MESSAGE (2); one that
 * would decompress past the bound, MESSAGE_TOO_LARGE (10) (a deliberate difference: Kafka streams records
 * and has no such bound); records that do not parse, whose length does not match their fields, whose offset
 * deltas are not 0, 1, 2..., fewer or more records than the header's count, or bytes left after the last
 * record: INVALID_RECORD (87).
 */
import { CODEC_NAMES, Compression, DecompressionError, decompress } from './compression.js';
import { ErrorCode } from './error-codes.js';
import { ProtocolError } from './protocol-error.js';
import { Reader } from './reader.js';
import { BATCH_HEADER_SIZE, type BatchHeader, InvalidBatchError } from './record-batch.js';

const CONTROL_FLAG = 0x20;

/**
 * Throws {@link InvalidBatchError} unless every record of the batch (already split and CRC-checked by
 * `splitBatches`) parses, decompressing at most `maxDecompressedBytes`.
 */
export function validateBatchRecords(header: BatchHeader, bytes: Buffer, maxDecompressedBytes: number): void {
  const codec = (header.attributes & 0x07) as Compression;
  let body: Buffer;
  try {
    body = decompress(codec, bytes.subarray(BATCH_HEADER_SIZE), maxDecompressedBytes);
  } catch (err) {
    if (!(err instanceof DecompressionError)) throw err;
    throw new InvalidBatchError(
      err.tooLarge ? `${CODEC_NAMES[codec]} batch refused: ${err.message}` : err.message,
      err.tooLarge ? ErrorCode.MESSAGE_TOO_LARGE : ErrorCode.CORRUPT_MESSAGE,
    );
  }
  // Clients may not write control batches; splitBatches refuses them, so every batch here holds records.
  if ((header.attributes & CONTROL_FLAG) !== 0) return;
  const r = new Reader(body);
  try {
    for (let i = 0; i < header.recordCount; i++) {
      if (r.remaining === 0) {
        throw new InvalidBatchError(`record batch declares ${header.recordCount} records but holds ${i}`, ErrorCode.INVALID_RECORD);
      }
      readRecord(r, i);
    }
  } catch (err) {
    if (err instanceof ProtocolError) throw new InvalidBatchError(`record does not parse: ${err.message}`, ErrorCode.INVALID_RECORD);
    throw err;
  }
  if (r.remaining > 0) {
    throw new InvalidBatchError(`Incorrect declared batch size: ${r.remaining} bytes remain after the ${header.recordCount} records`, ErrorCode.INVALID_RECORD);
  }
}

function readRecord(r: Reader, index: number): void {
  const length = r.varint();
  if (length < 0 || length > r.remaining) throw new InvalidBatchError(`Invalid record size ${length} for record ${index}`, ErrorCode.INVALID_RECORD);
  const start = r.remaining;
  r.int8(); // attributes, unused
  r.varlong(); // timestamp delta
  const offsetDelta = r.varint();
  if (offsetDelta !== index) throw new InvalidBatchError(`Invalid offset delta ${offsetDelta} for record ${index}; deltas must be 0, 1, 2...`, ErrorCode.INVALID_RECORD);
  skipBytes(r, 'key', -1);
  skipBytes(r, 'value', -1);
  const headers = r.varint();
  if (headers < 0) throw new InvalidBatchError(`Found invalid number of record headers ${headers}`, ErrorCode.INVALID_RECORD);
  for (let h = 0; h < headers; h++) {
    skipBytes(r, 'header key', 0);
    skipBytes(r, 'header value', -1);
  }
  const read = start - r.remaining;
  if (read !== length) throw new InvalidBatchError(`Invalid record size: expected to read ${length} bytes in record ${index} but read ${read}`, ErrorCode.INVALID_RECORD);
}

function skipBytes(r: Reader, what: string, min: number): void {
  const len = r.varint();
  if (len < min) throw new InvalidBatchError(`Invalid ${what} length ${len}`, ErrorCode.INVALID_RECORD);
  if (len > 0) r.raw(len);
}
