/**
 * The headers of request-reply, as Spring Kafka (`KafkaHeaders`) and `@nestjs/microservices` (whose
 * `KafkaHeaders` copies Spring's names) write them, and how their values are encoded on each side:
 *
 * | header                 | Spring Kafka                          | Nest's `ClientKafka` / `ServerKafka`   |
 * | ---------------------- | ------------------------------------- | -------------------------------------- |
 * | `kafka_replyTopic`     | UTF-8 topic name                      | UTF-8 topic name (`<pattern>.reply`)   |
 * | `kafka_replyPartition` | 4-byte big-endian int                 | decimal string (`"0"`)                 |
 * | `kafka_correlationId`  | 16 bytes (a UUID's two longs)         | UTF-8 string (a random id)             |
 * | `kafka_nest-err`       | -                                     | UTF-8 JSON of the error (reply only)   |
 * | `kafka_nest-is-disposed` | -                                   | present on the last reply of a stream  |
 *
 * Readers here accept both encodings; a correlation id is always copied to the reply byte for byte.
 */
import { randomUUID } from 'node:crypto';
import type { ConsumedRecord } from '../listener/consumed-record.js';

/** Header names of request-reply (Spring Kafka's `KafkaHeaders` constants of the same meaning). */
export const ReplyHeaders = {
  /** Where the reply goes. Spring's `KafkaHeaders.REPLY_TOPIC`. */
  REPLY_TOPIC: 'kafka_replyTopic',
  /** Which partition of the reply topic. Spring's `KafkaHeaders.REPLY_PARTITION`. */
  REPLY_PARTITION: 'kafka_replyPartition',
  /** Ties a reply to its request. Spring's `KafkaHeaders.CORRELATION_ID`. */
  CORRELATION_ID: 'kafka_correlationId',
  /** The error of a failed `@MessagePattern` handler, as JSON (Nest's `KafkaHeaders.NEST_ERR`). */
  NEST_ERR: 'kafka_nest-err',
  /** Marks the last reply of a `@MessagePattern` handler (Nest's `KafkaHeaders.NEST_IS_DISPOSED`). */
  NEST_IS_DISPOSED: 'kafka_nest-is-disposed',
} as const;

/** A partition number as Spring writes it: a 4-byte big-endian int. */
export function encodeReplyPartition(partition: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(partition);
  return b;
}

const DIGITS = /^[0-9]{1,10}$/;

/**
 * The reply partition a request names, or undefined when it names none. Reads Spring's 4-byte int and
 * Nest's decimal string; 4 bytes that are all ASCII digits are read as text (as an int they would be a
 * partition above 800 million). Throws on anything else.
 */
export function decodeReplyPartition(value: Buffer | undefined): number | undefined {
  if (value === undefined || value.length === 0) return undefined;
  const text = value.toString('latin1');
  if (DIGITS.test(text)) return Number(text);
  if (value.length === 4) return value.readInt32BE(0);
  throw new Error(
    `header '${ReplyHeaders.REPLY_PARTITION}' holds neither a 4-byte int (Spring) nor a decimal number (Nest): 0x${value.toString('hex')}`,
  );
}

/** A new correlation id as Spring makes one: the 16 bytes of a random UUID. */
export function newCorrelationId(): Buffer {
  return Buffer.from(randomUUID().replaceAll('-', ''), 'hex');
}

/** The correlation id of a record as a map key: hex of its bytes. */
export function correlationKey(id: Buffer): string {
  return id.toString('hex');
}

/** The request's reply coordinates, read off its headers. */
export interface ReplyAddress {
  /** `kafka_replyTopic`, or undefined when absent. */
  readonly topic: string | undefined;
  /** `kafka_replyPartition`, or undefined when absent (the partitioner then chooses). */
  readonly partition: number | undefined;
  /** `kafka_correlationId` as received, or undefined when absent. */
  readonly correlationId: Buffer | undefined;
}

/** Reads the reply topic, partition and correlation id of a request record. */
export function replyAddressOf(record: ConsumedRecord): ReplyAddress {
  const h = record.headers;
  const topic = h[ReplyHeaders.REPLY_TOPIC];
  return {
    topic: topic === undefined || topic.length === 0 ? undefined : topic.toString('utf8'),
    partition: decodeReplyPartition(h[ReplyHeaders.REPLY_PARTITION]),
    correlationId: h[ReplyHeaders.CORRELATION_ID],
  };
}
