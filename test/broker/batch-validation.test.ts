/**
 * Every produced batch is decompressed (within a bound) and its records read before it is stored, as
 * Kafka's LogValidator does: a batch whose CRC is right but whose body does not decompress, whose records
 * do not parse or whose record count lies is refused and nothing of it is stored, so consumers are never
 * blocked behind it; a compression bomb is refused without the broker's memory following it.
 */
import { createGzip, gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { ApiKey, type BrokerLogger, EmbeddedKafkaBroker, ErrorCode } from '@kafka-nest/broker';
import { Kafka, logLevel } from 'kafkajs';
import { compressFrameSync as lz4Compress } from 'lz4-napi';
import { compressSync as snappyCompress } from 'snappy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient } from './raw-client.js';
import { encodeBatch, type TestRecord } from './support/record-batch.js';
import { waitFor } from './support/wait.js';

interface ProduceResult {
  errorCode: number;
  baseOffset: number;
  errorMessage: string | null;
}

/** A 1 GB run of zeros, gzip-compressed to under 1 MB, streamed so the test never holds the gigabyte. */
async function gzipBomb(bytes: number): Promise<Buffer> {
  const gzip = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gzip.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => gzip.on('end', resolve));
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  for (let sent = 0; sent < bytes; sent += zeros.length) {
    if (!gzip.write(zeros.subarray(0, Math.min(zeros.length, bytes - sent)))) await new Promise((r) => gzip.once('drain', r));
  }
  gzip.end();
  await done;
  return Buffer.concat(out);
}

describe('batch validation on produce', () => {
  let broker: EmbeddedKafkaBroker;
  let port: number;
  const warnings: string[] = [];
  const errors: string[] = [];
  const logger: BrokerLogger = { debug: () => {}, info: () => {}, warn: (m) => warnings.push(m), error: (m) => errors.push(m) };
  const kafka = () => new Kafka({ clientId: 'validation-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger });
    port = Number(broker.brokers[0].split(':')[1]);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  /** One Produce v8 for partition 0 of `topic` carrying `records` (one or more batches, concatenated). */
  async function produce(topic: string, records: Buffer): Promise<ProduceResult> {
    const raw = await RawClient.connect(port);
    try {
      const r = await raw.request({
        apiKey: ApiKey.Produce,
        apiVersion: 8,
        body: (w: Writer) => {
          w.nullableString(null).int16(1).int32(30_000);
          w.array([topic], (w, name) => w.string(name).array([0], (w, p) => w.int32(p).bytes(records)));
        },
      });
      const [[, [result]]] = r.array((r) => [
        r.string(),
        r.array((r): ProduceResult => {
          r.int32();
          const errorCode = r.int16();
          const baseOffset = Number(r.int64());
          r.int64();
          r.int64();
          r.array((r) => [r.int32(), r.nullableString()]);
          return { errorCode, baseOffset, errorMessage: r.nullableString() };
        }),
      ]);
      return result;
    } finally {
      raw.close();
    }
  }

  const records: TestRecord[] = [
    { key: 'k1', value: 'one', headers: { h: 'x' } },
    { key: null, value: 'two' },
    { key: 'k3', value: null },
  ];

  it.each([
    ['gzip', 1, (b: Buffer) => gzipSync(b)],
    ['snappy', 2, (b: Buffer) => snappyCompress(b)],
    ['lz4', 3, (b: Buffer) => lz4Compress(b)],
  ])('stores a valid %s batch, and the inspection API decodes it', async (name, codec, compressBody) => {
    const topic = `valid-${name}`;
    expect(await produce(topic, encodeBatch(records, { codec, compressBody }))).toMatchObject({ errorCode: 0, baseOffset: 0 });
    expect(broker.records(topic).map((r) => [r.key?.toString() ?? null, r.value?.toString() ?? null])).toEqual([
      ['k1', 'one'],
      [null, 'two'],
      ['k3', null],
    ]);
  });

  it('stores a valid zstd batch, and the inspection API decodes it', async () => {
    const body = await zstdCompress(encodeBatch(records).subarray(61), 3);
    expect(await produce('valid-zstd', encodeBatch(records, { codec: 4, body }))).toMatchObject({ errorCode: 0 });
    expect(broker.records('valid-zstd').map((r) => r.value?.toString() ?? null)).toEqual(['one', 'two', null]);
  });

  const oneRecord = encodeBatch([{ value: 'v' }]).subarray(61);
  const threeRecords = encodeBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }]).subarray(61);
  const refusals: [string, { codec?: number; body: Buffer }, number, RegExp][] = [
    ['a gzip body that is not gzip', { codec: 1, body: Buffer.from('definitely not gzip') }, ErrorCode.CORRUPT_MESSAGE, /gzip body does not decompress/],
    ['a snappy body that is not snappy', { codec: 2, body: Buffer.from([0x05, 0xff, 0xff, 0xff]) }, ErrorCode.CORRUPT_MESSAGE, /snappy body does not decompress/],
    ['an lz4 body that is not an lz4 frame', { codec: 3, body: Buffer.from('not an lz4 frame') }, ErrorCode.CORRUPT_MESSAGE, /lz4 body does not decompress/],
    ['a zstd body that is not zstd', { codec: 4, body: Buffer.from('not a zstd frame') }, ErrorCode.CORRUPT_MESSAGE, /zstd body does not decompress/],
    ['a record count that lies (3 declared, 1 held)', { body: oneRecord }, ErrorCode.INVALID_RECORD, /declares 3 records but holds 1/],
    ['bytes after the last record', { body: Buffer.concat([threeRecords, Buffer.from([1, 2, 3])]) }, ErrorCode.INVALID_RECORD, /3 bytes remain after the 3 records/],
    ['a record whose length lies', { body: Buffer.concat([Buffer.from([0x7e]), threeRecords.subarray(1)]) }, ErrorCode.INVALID_RECORD, /Invalid record size/],
    ['records whose offset deltas repeat', { body: Buffer.concat([oneRecord, oneRecord, oneRecord]) }, ErrorCode.INVALID_RECORD, /Invalid offset delta 0 for record 1/],
  ];

  it.each(refusals)('refuses %s and stores nothing', async (_what, options, errorCode, message) => {
    const topic = `refused-${Math.random().toString(36).slice(2)}`;
    const refused = await produce(topic, encodeBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }], options));
    expect(refused.errorCode).toBe(errorCode);
    expect(refused.errorMessage).toMatch(message);
    expect(broker.endOffset(topic)).toBe(0);
  });

  it('keeps a partition readable: a kafkajs consumer reads the good records sent after every refused batch', async () => {
    const topic = 'readable-after-refusals';
    for (const [, options] of refusals) await produce(topic, encodeBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }], options));
    const producer = kafka().producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ value: 'after-1' }, { value: 'after-2' }] });
    await producer.disconnect();
    const consumer = kafka().consumer({ groupId: `${topic}-reader` });
    const read: string[] = [];
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message }) => void read.push(message.value!.toString()) });
    await waitFor(() => read.length === 2, 20_000, 'both good records consumed');
    await consumer.disconnect();
    expect(read).toEqual(['after-1', 'after-2']);
    expect(errors).toEqual([]);
  });

  it.each([0, 1, 2])('serves Produce v%i (advertised so librdkafka < 2.10 compresses) in its own format, magic 2 batches only', async (version) => {
    const topic = `produce-v${version}`;
    const raw = await RawClient.connect(port);
    const send = async (batch: Buffer) => {
      const r = await raw.request({
        apiKey: ApiKey.Produce,
        apiVersion: version,
        body: (w: Writer) => {
          w.int16(1).int32(30_000); // no transactional_id before v3
          w.array([topic], (w, name) => w.string(name).array([0], (w, p) => w.int32(p).bytes(batch)));
        },
      });
      const [[name, [[index, errorCode, baseOffset, logAppendTime]]]] = r.array((r) => [
        r.string(),
        r.array((r) => [r.int32(), r.int16(), Number(r.int64()), version >= 2 ? Number(r.int64()) : undefined] as const),
      ]);
      if (version >= 1) expect(r.int32()).toBe(0); // throttle_time_ms
      expect(r.remaining).toBe(0);
      return { name, index, errorCode, baseOffset, logAppendTime };
    };
    try {
      expect(await send(encodeBatch([{ value: 'v' }], { codec: 1, compressBody: (b) => gzipSync(b) }))).toEqual({
        name: topic,
        index: 0,
        errorCode: 0,
        baseOffset: 0,
        logAppendTime: version >= 2 ? -1 : undefined,
      });
      expect((await send(encodeBatch([{ value: 'old' }], { magic: 1 }))).errorCode).toBe(ErrorCode.INVALID_RECORD);
      expect(broker.records(topic).map((r) => r.value?.toString())).toEqual(['v']);
    } finally {
      raw.close();
    }
  });

  it.each([
    ['gzip', 1, (b: Buffer) => gzipSync(b)],
    ['snappy', 2, (b: Buffer) => snappyCompress(b)],
    ['lz4', 3, (b: Buffer) => lz4Compress(b)],
  ])('ListOffsets by timestamp finds the record inside a %s batch', async (name, codec, compressBody) => {
    const topic = `by-time-${name}`;
    const base = Date.now() - 60_000;
    const timed = [0, 1000, 2000, 3000].map((timestampDelta, i) => ({ value: `t${i}`, timestampDelta }));
    expect((await produce(topic, encodeBatch(timed, { codec, compressBody, timestamp: base }))).errorCode).toBe(0);
    const admin = kafka().admin();
    await admin.connect();
    try {
      // the first record at or after base + 1500 is the third (offset 2), not the batch's first
      expect(await admin.fetchTopicOffsetsByTimestamp(topic, base + 1500)).toEqual([{ partition: 0, offset: '2' }]);
    } finally {
      await admin.disconnect();
    }
  });

  it('refuses a record set whose second batch is invalid, storing none of its batches', async () => {
    const good = encodeBatch([{ value: 'good' }]);
    const bad = encodeBatch([{ value: 'x' }], { codec: 1, body: Buffer.from('not gzip') });
    expect((await produce('half-bad', Buffer.concat([good, bad]))).errorCode).toBe(ErrorCode.CORRUPT_MESSAGE);
    expect(broker.endOffset('half-bad')).toBe(0);
  });

  it('refuses a 1 MB gzip batch inflating to 1 GB without the memory following it, and stays responsive', async () => {
    const bomb = await gzipBomb(1_000_000_000);
    expect(bomb.length).toBeLessThan(1_048_588 - 100); // fits the default max.message.bytes
    const batch = encodeBatch([{ value: 'x' }], { codec: 1, body: bomb });
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 5);
    const started = performance.now();
    const result = await produce('bomb', batch);
    const elapsedMs = performance.now() - started;
    clearInterval(sampler);
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);

    expect(result.errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    expect(result.errorMessage).toMatch(/gzip batch refused: decompressed batch would exceed 67108864 bytes \(maxDecompressedBatchBytes\)/);
    expect(broker.endOffset('bomb')).toBe(0);
    // Inflating all of it takes about 1 GB more and seconds; the bound stops at 64 MiB.
    expect(rssPeak - rssBefore).toBeLessThan(300 * 1024 * 1024);
    expect(elapsedMs).toBeLessThan(5_000);
    expect(warnings.some((w) => w.includes("rejected produce to 'bomb' partition 0"))).toBe(true);
    expect(errors).toEqual([]);
  });

  it('bounds decompression by the maxDecompressedBatchBytes option', async () => {
    const small = await EmbeddedKafkaBroker.start({ logger, maxDecompressedBatchBytes: 4096 });
    try {
      const smallPort = Number(small.brokers[0].split(':')[1]);
      const raw = await RawClient.connect(smallPort);
      const batch = encodeBatch([{ value: Buffer.alloc(10_000) }], { codec: 1, compressBody: (b) => gzipSync(b) });
      const r = await raw.request({
        apiKey: ApiKey.Produce,
        apiVersion: 3,
        body: (w: Writer) => {
          w.nullableString(null).int16(1).int32(30_000);
          w.array(['t'], (w, name) => w.string(name).array([0], (w, p) => w.int32(p).bytes(batch)));
        },
      });
      raw.close();
      const [[, [[, errorCode]]]] = r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])] as const);
      expect(errorCode).toBe(ErrorCode.MESSAGE_TOO_LARGE);
    } finally {
      await small.stop();
    }
    await expect(EmbeddedKafkaBroker.start({ maxDecompressedBatchBytes: 10 })).rejects.toThrow(/maxDecompressedBatchBytes' must be an integer of at least 1024, got 10/);
  });
});
