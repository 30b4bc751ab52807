/**
 * The retry-topic headers byte for byte, as Spring Kafka's DeadLetterPublishingRecovererFactory writes and
 * reads them, so a Spring consumer reads our retry topics and we read theirs:
 *   retry_topic-backoff-timestamp, retry_topic-original-timestamp: BigInteger.valueOf(ms).toByteArray(),
 *     the shortest big-endian two's complement form, read back with new BigInteger(bytes).longValue();
 *   retry_topic-attempts: ByteBuffer.allocate(4).putInt(n); a single byte (older Spring versions) is read too.
 */
import type { ConsumedRecord } from '@kafka-nest/core';
import { describe, expect, it } from 'vitest';
import {
  attemptOf,
  bigIntegerBytes,
  dueTimeOf,
  originalTimestampBytes,
  readBigInteger,
  RetryTopicHeaders,
} from '../../../libs/core/src/retry-topic/retry-topic.headers.js';
import { int32Bytes } from '../../../libs/core/src/error-handling/dead-letter-headers.js';

const hex = (bytes: Buffer) => bytes.toString('hex').replace(/(..)(?!$)/g, '$1 ');

const record = (timestamp: number, headers: Record<string, Buffer> = {}): ConsumedRecord => ({
  topic: 'payments-retry',
  partition: 0,
  offset: 0,
  timestamp,
  timestampType: 'CreateTime',
  key: null,
  value: null,
  headers,
});

describe("retry-topic timestamps: Java's BigInteger.toByteArray()", () => {
  // Each value with what `BigInteger.valueOf(value).toByteArray()` returns in Java.
  it.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '00 80'],
    [255, '00 ff'],
    [256, '01 00'],
    [32_767, '7f ff'],
    [32_768, '00 80 00'],
    [-1, 'ff'],
    [-128, '80'],
    [-129, 'ff 7f'],
    [-256, 'ff 00'],
    [1_767_225_600_000, '01 9b 76 da a8 00'], // 2026-01-01T00:00:00Z in ms: 6 bytes
    [2 ** 47 - 1, '7f ff ff ff ff ff'],
    [2 ** 47, '00 80 00 00 00 00 00'],
    [Number.MAX_SAFE_INTEGER, '1f ff ff ff ff ff ff'],
  ])('%d -> %s', (value, bytes) => {
    expect(hex(bigIntegerBytes(value))).toBe(bytes);
    expect(readBigInteger(bigIntegerBytes(value))).toBe(value);
  });

  it('reads an 8-byte putLong too (new BigInteger(bytes).longValue()), and nothing longer or empty', () => {
    const long = Buffer.alloc(8);
    long.writeBigInt64BE(1_767_225_600_000n);
    expect(readBigInteger(long)).toBe(1_767_225_600_000);
    long.writeBigInt64BE(-2n);
    expect(readBigInteger(long)).toBe(-2);
    expect(readBigInteger(Buffer.alloc(9))).toBeUndefined();
    expect(readBigInteger(Buffer.alloc(0))).toBeUndefined();
    expect(readBigInteger(undefined)).toBeUndefined();
  });

  it("forwards the original-timestamp header a record carries, else encodes the record's own timestamp", () => {
    expect(hex(originalTimestampBytes(record(1_767_225_600_000)))).toBe('01 9b 76 da a8 00');
    const carried = Buffer.from('019b76daa7ff', 'hex');
    expect(originalTimestampBytes(record(1_767_225_600_500, { [RetryTopicHeaders.ORIGINAL_TIMESTAMP]: carried }))).toBe(carried);
    expect(dueTimeOf(record(0, { [RetryTopicHeaders.BACKOFF_TIMESTAMP]: Buffer.from('019b76daabe8', 'hex') }))).toBe(1_767_225_601_000);
  });
});

describe("retry_topic-attempts: Java's ByteBuffer.putInt", () => {
  it.each([
    [2, '00 00 00 02'],
    [3, '00 00 00 03'],
    [256, '00 00 01 00'],
  ])('%d -> %s, read back as the attempt', (attempt, bytes) => {
    expect(hex(int32Bytes(attempt))).toBe(bytes);
    expect(attemptOf(record(0, { [RetryTopicHeaders.ATTEMPTS]: int32Bytes(attempt) }))).toBe(attempt);
  });

  it('reads the single byte of older Spring versions; anything else, or no header, is attempt 1', () => {
    expect(attemptOf(record(0, { [RetryTopicHeaders.ATTEMPTS]: Buffer.from([3]) }))).toBe(3);
    expect(attemptOf(record(0, { [RetryTopicHeaders.ATTEMPTS]: Buffer.from([0, 3]) }))).toBe(1);
    expect(attemptOf(record(0, { [RetryTopicHeaders.ATTEMPTS]: int32Bytes(0) }))).toBe(1);
    expect(attemptOf(record(0))).toBe(1);
  });
});
