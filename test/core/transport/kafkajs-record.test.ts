/**
 * The timestamp type of a consumed record (and so its kafka_dlt-original-timestamp-type header), as kafkajs
 * decodes it from the bytes a broker sends: a record batch of a `message.timestamp.type=LogAppendTime`
 * topic has bit 3 of its attributes set, and its records' timestamp is the batch's max timestamp (the
 * broker's append time).
 *
 * Unit level because the embedded broker serves every topic as CreateTime for now; the bytes are those of
 * kafkajs's own RecordBatch encoder with the attribute bit and the CRC-32C set as a broker sets them, and
 * they are decoded by the decoder kafkajs's consumer runs.
 */
import { createRequire } from 'node:module';
import { crc32c } from '@node-rs/crc32';
import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { deadLetterHeaders, DltHeaders } from '../../../libs/core/src/error-handling/dead-letter-headers.js';
import { KafkajsRecord } from '../../../libs/core/src/transport/kafkajs.transport.js';

// kafkajs's protocol internals (CommonJS, untyped): typed here as far as the test uses them.
const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
  RecordBatch: (batch: { firstTimestamp: number; maxTimestamp: number; records: unknown[] }) => Promise<{ buffer: Buffer }>;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: { offsetDelta: number; key: Buffer; value: Buffer }) => unknown;
const decodeRecordBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (decoder: unknown) => Promise<{ records: KafkaMessage[] }>;
const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;

const CREATED_AT = 1_767_225_600_000;
const APPENDED_AT = CREATED_AT + 42;

/** RecordBatch v2 bytes of one record, as a broker sends them for a topic of this timestamp type. */
async function batchBytes(timestampType: 'CreateTime' | 'LogAppendTime'): Promise<Buffer> {
  const logAppendTime = timestampType === 'LogAppendTime';
  const encoded = await RecordBatch({
    firstTimestamp: CREATED_AT,
    maxTimestamp: logAppendTime ? APPENDED_AT : CREATED_AT,
    records: [Record({ offsetDelta: 0, key: Buffer.from('k'), value: Buffer.from('v') })],
  });
  const bytes = Buffer.from(encoded.buffer);
  // baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 | attributes int16 ...
  if (logAppendTime) bytes.writeInt16BE(bytes.readInt16BE(21) | 0x08, 21);
  bytes.writeUInt32BE(crc32c(bytes.subarray(21)), 17); // the CRC covers attributes to the end
  return bytes;
}

async function consumed(timestampType: 'CreateTime' | 'LogAppendTime'): Promise<KafkajsRecord> {
  const { records } = await decodeRecordBatch(new Decoder(await batchBytes(timestampType)));
  expect(records).toHaveLength(1);
  return new KafkajsRecord('orders', 0, records[0]!);
}

describe('KafkajsRecord.timestampType', () => {
  it('is LogAppendTime for a record of a LogAppendTime batch, with the append time as its timestamp', async () => {
    const record = await consumed('LogAppendTime');
    expect(record.timestampType).toBe('LogAppendTime');
    expect(record.timestamp).toBe(APPENDED_AT);
    expect(record.toJSON()).toMatchObject({ timestampType: 'LogAppendTime' });
    const headers = deadLetterHeaders(record, new Error('rejected'), 'orders-service');
    expect(headers[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]?.toString()).toBe('LogAppendTime');
  });

  it('is CreateTime for a record of a CreateTime batch, with the producer’s timestamp', async () => {
    const record = await consumed('CreateTime');
    expect(record.timestampType).toBe('CreateTime');
    expect(record.timestamp).toBe(CREATED_AT);
    expect(deadLetterHeaders(record, new Error('rejected'), 'orders-service')[DltHeaders.ORIGINAL_TIMESTAMP_TYPE]?.toString()).toBe('CreateTime');
  });
});
