/**
 * The headers a record carries through the retry topics, named and encoded as Spring Kafka's
 * `RetryTopicHeaders` and `DeadLetterPublishingRecovererFactory` write them, so a Spring consumer can read
 * our retry topics and we can read theirs.
 */
import type { ConsumedRecord } from '../listener/consumed-record.js';

/** Spring Kafka's `RetryTopicHeaders.DEFAULT_HEADER_*` names. */
export const RetryTopicHeaders = {
  /**
   * The attempt the record is on when consumed from a retry topic or the DLT: 2 on the first retry topic, and
   * so on (the main topic's delivery is attempt 1). 4-byte big-endian int; a single byte is read too, as
   * Spring reads the encoding of its older versions.
   */
  ATTEMPTS: 'retry_topic-attempts',
  /**
   * When the record is due: the failure's time plus the delay of the topic it was forwarded to, in ms since
   * the epoch. The retry topic's listener does not deliver it earlier. Java's `BigInteger.toByteArray()`.
   */
  BACKOFF_TIMESTAMP: 'retry_topic-backoff-timestamp',
  /** The timestamp of the record on the main topic, ms since the epoch. Java's `BigInteger.toByteArray()`. */
  ORIGINAL_TIMESTAMP: 'retry_topic-original-timestamp',
} as const;

/** The largest attempt count Spring accepts in the attempts header (`Short.MAX_VALUE`). */
const ATTEMPTS_HARD_CAP = 32_767;

/** Java's `BigInteger.valueOf(n).toByteArray()`: the shortest big-endian two's complement form. */
export function bigIntegerBytes(value: number): Buffer {
  const v = BigInt(Math.trunc(value));
  let length = 1;
  while (v >= 1n << BigInt(8 * length - 1) || v < -(1n << BigInt(8 * length - 1))) length++;
  const out = Buffer.alloc(length);
  let rest = BigInt.asUintN(8 * length, v);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/**
 * Reads a big-endian two's complement integer of 1 to 8 bytes (`new BigInteger(bytes).longValue()`, which
 * also reads an 8-byte `putLong`); undefined when the header is missing or longer.
 */
export function readBigInteger(bytes: Buffer | undefined): number | undefined {
  if (!bytes || bytes.length === 0 || bytes.length > 8) return undefined;
  let v = 0n;
  for (const byte of bytes) v = (v << 8n) | BigInt(byte);
  return Number(BigInt.asIntN(8 * bytes.length, v));
}

/** The attempt a record consumed from a retry topic or the DLT is on, from its attempts header; 1 without one. */
export function attemptOf(record: ConsumedRecord): number {
  const bytes = record.headers[RetryTopicHeaders.ATTEMPTS];
  let raw: number | undefined;
  if (bytes?.length === 1) raw = bytes.readUInt8(0);
  else if (bytes?.length === 4) raw = bytes.readInt32BE(0);
  return raw !== undefined && raw >= 1 && raw <= ATTEMPTS_HARD_CAP ? raw : 1;
}

/** When the record is due (ms since the epoch), from its back-off timestamp header; undefined without one. */
export function dueTimeOf(record: ConsumedRecord): number | undefined {
  return readBigInteger(record.headers[RetryTopicHeaders.BACKOFF_TIMESTAMP]);
}

/** The original-timestamp header to forward: the one the record carries, or its own timestamp. */
export function originalTimestampBytes(record: ConsumedRecord): Buffer {
  const carried = record.headers[RetryTopicHeaders.ORIGINAL_TIMESTAMP];
  return carried && readBigInteger(carried) !== undefined ? carried : bigIntegerBytes(record.timestamp);
}
