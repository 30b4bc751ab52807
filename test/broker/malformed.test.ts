/**
 * Hostile and broken input over raw sockets. Each case gets the Kafka error code the protocol defines, or
 * a closed connection when the bytes cannot be answered; meanwhile a kafkajs producer on its own
 * connection keeps writing, and the broker logs no internal error.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { ApiKey, type BrokerLogger, EmbeddedKafkaBroker, ErrorCode } from '@kafka-nest/broker';
import { Writer } from '../../libs/broker/src/protocol/writer.js';
import { RawClient, requestFrame } from './raw-client.js';

const MAX_REQUEST_BYTES = 4096;

/**
 * A magic-2 RecordBatch holding one record, with a valid CRC-32C unless told otherwise; the header fields
 * can be set to lie about it.
 */
function recordBatch(
  value: string,
  { magic = 2, corruptCrc = false, attributes = 0, lastOffsetDelta = 0, recordCount = 1, producerId = -1, producerEpoch = -1, baseSequence = -1 } = {},
): Buffer {
  const payload = Buffer.from(value);
  const record = new Writer().int8(0).varlong(0).varint(0).varint(-1).varint(payload.length).raw(payload).varint(0).toBuffer();
  const now = Date.now();
  const afterCrc = new Writer()
    .int16(attributes) // default: no compression, CreateTime
    .int32(lastOffsetDelta)
    .int64(now)
    .int64(now)
    .int64(producerId)
    .int16(producerEpoch)
    .int32(baseSequence)
    .int32(recordCount)
    .varint(record.length)
    .raw(record)
    .toBuffer();
  const crc = (crc32c(afterCrc) >>> 0) ^ (corruptCrc ? 0xff : 0);
  return new Writer()
    .int64(0)
    .int32(4 + 1 + 4 + afterCrc.length)
    .int32(-1) // partitionLeaderEpoch
    .int8(magic)
    .uint32(crc)
    .raw(afterCrc)
    .toBuffer();
}

/** A Produce v3 request body for one partition. */
const produceBody = (topic: string, records: Buffer) => (w: Writer) => {
  w.nullableString(null).int16(1).int32(5000);
  w.array([topic], (w, name) => {
    w.string(name);
    w.array([0], (w, p) => w.int32(p).bytes(records));
  });
};

describe('malformed input', () => {
  let broker: EmbeddedKafkaBroker;
  let producer: Producer;
  let port: number;
  const warnings: string[] = [];
  const errors: string[] = [];
  const logger: BrokerLogger = { debug: () => {}, info: () => {}, warn: (m) => warnings.push(m), error: (m) => errors.push(m) };
  let sent = 0;

  /** The kafkajs producer, on its own connection, still gets its writes acknowledged. */
  async function clientStillWorks(): Promise<void> {
    await producer.send({ topic: 'healthy', messages: [{ value: `after-${sent}` }] });
    sent++;
    expect(broker.endOffset('healthy')).toBe(sent);
  }

  async function expectClosed(raw: RawClient): Promise<void> {
    await raw.closed;
    expect(raw.isOpen).toBe(false);
    await clientStillWorks();
  }

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger, maxRequestBytes: MAX_REQUEST_BYTES, topics: [{ name: 'healthy' }, { name: 'target' }] });
    port = Number(broker.brokers[0].split(':')[1]);
    producer = new Kafka({ clientId: 'bystander', brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    await clientStillWorks();
  });

  afterEach(() => {
    // an internal error would mean a handler threw on bad input instead of refusing it
    expect(errors).toEqual([]);
  });

  afterAll(async () => {
    await producer?.disconnect();
    await broker?.stop();
  });

  it('closes a connection whose frame is shorter than its grammar requires', async () => {
    const raw = await RawClient.connect(port);
    // Metadata v1 announcing 3 topic names but carrying one
    raw.send(requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 1, body: (w) => w.int32(3).string('only-one') }, 1));
    await expectClosed(raw);
    expect(warnings.at(-1)).toMatch(/malformed request \(API key 3 v1\): truncated/);
  });

  it('drops a partial frame when the client goes away mid-request', async () => {
    const raw = await RawClient.connect(port);
    const frame = requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 1, body: (w) => w.int32(-1) }, 1);
    raw.send(frame.subarray(0, frame.length - 3));
    raw.socket.end();
    await raw.closed;
    await expect.poll(() => broker.cluster.nodes[0].connections.size).toBe(1); // the bystander's only
    await clientStillWorks();
  });

  it.each([
    ['negative', -5],
    ['zero', 0],
    ['oversized', MAX_REQUEST_BYTES + 1],
    ['2 GiB', 0x7fffffff],
  ])('closes a connection declaring a %s frame size without waiting for the body', async (_what, size) => {
    const raw = await RawClient.connect(port);
    raw.send(new Writer().int32(size).int16(ApiKey.Metadata).toBuffer());
    await expectClosed(raw);
    expect(warnings.at(-1)).toMatch(/outside the accepted range 8\.\.4096 \(maxRequestBytes\)/);
  });

  it('accepts a frame of exactly maxRequestBytes', async () => {
    const raw = await RawClient.connect(port);
    // Metadata v1 for one topic whose name pads the frame to the limit; the name is illegal (too long), so it
    // comes back as INVALID_TOPIC_EXCEPTION rather than creating anything
    const overhead = requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 1, body: (w) => w.int32(1).string('') }, 1).length - 4;
    const name = 'n'.repeat(MAX_REQUEST_BYTES - overhead);
    const r = await raw.request({ apiKey: ApiKey.Metadata, apiVersion: 1, body: (w) => w.int32(1).string(name) });
    r.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString()]);
    r.int32(); // controller
    const [topic] = r.array((r) => ({ errorCode: r.int16(), name: r.string(), internal: r.bool(), partitions: r.array(() => 0) }));
    expect(topic.errorCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);
    expect(topic.name.length).toBe(name.length);
    raw.close();
  });

  it('closes a connection that sends an unknown API key', async () => {
    const raw = await RawClient.connect(port);
    raw.send(requestFrame({ apiKey: 999, apiVersion: 0 }, 1));
    await expectClosed(raw);
    expect(warnings.at(-1)).toMatch(/unknown API key 999/);
  });

  it('closes a connection that asks for a Metadata version not served', async () => {
    const raw = await RawClient.connect(port);
    raw.send(requestFrame({ apiKey: ApiKey.Metadata, apiVersion: 12, flexibleHeader: true, body: (w) => w.uvarint(0).bool(true).bool(false).uvarint(0) }, 1));
    await expectClosed(raw);
    expect(warnings.at(-1)).toMatch(/Metadata v12 is not served \(versions 0-8 are\)/);
  });

  it('answers ApiVersions v9 in the v0 format with UNSUPPORTED_VERSION and the full list, and keeps the connection', async () => {
    const raw = await RawClient.connect(port);
    const r = await raw.request({ apiKey: ApiKey.ApiVersions, apiVersion: 9, flexibleHeader: true, body: (w) => w.string('x').string('1').tags() });
    expect(r.int16()).toBe(ErrorCode.UNSUPPORTED_VERSION);
    const versions = r.array((r) => ({ apiKey: r.int16(), minVersion: r.int16(), maxVersion: r.int16() }));
    expect(r.remaining).toBe(0); // v0: no throttle time, no tags
    expect(versions).toEqual(broker.cluster.registry.versions());
    expect(versions).toContainEqual({ apiKey: ApiKey.ApiVersions, minVersion: 0, maxVersion: 3 });
    expect(versions).toContainEqual({ apiKey: ApiKey.Metadata, minVersion: 0, maxVersion: 8 });

    // the client steps down to v3 (flexible request, v0 response header) on the same connection
    const v3 = await raw.request({ apiKey: ApiKey.ApiVersions, apiVersion: 3, flexibleHeader: true, body: (w) => w.string('raw-client').string('1.0').tags() });
    v3.flexible = true;
    expect(v3.int16()).toBe(0);
    const listed = v3.array((r) => {
      const v = [r.int16(), r.int16(), r.int16()];
      r.tags();
      return v;
    });
    expect(listed.length).toBe(versions.length);
    expect(v3.int32()).toBe(0);
    v3.tags();
    expect(v3.remaining).toBe(0);
    raw.close();
    await clientStillWorks();
  });

  it.each([
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')],
    ['a TLS ClientHello', Buffer.from('160301020001000200030300000000', 'hex')],
    ['a small frame of 0xff', Buffer.concat([Buffer.from('0000000c', 'hex'), Buffer.alloc(12, 0xff)])],
  ])('closes a connection that sends garbage: %s', async (_what, bytes) => {
    const raw = await RawClient.connect(port);
    raw.send(bytes);
    await expectClosed(raw);
  });

  it('answers a Produce with a bad CRC with CORRUPT_MESSAGE and stores nothing', async () => {
    const raw = await RawClient.connect(port);
    const r = await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('target', recordBatch('bad', { corruptCrc: true })) });
    const [[name, [[index, errorCode, baseOffset]]]] = r.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])] as const);
    expect([name, index, errorCode, baseOffset]).toEqual(['target', 0, ErrorCode.CORRUPT_MESSAGE, -1]);
    expect(broker.endOffset('target')).toBe(0);

    // the connection stays usable, and a valid batch on it is stored
    const ok = await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody('target', recordBatch('good')) });
    const [[, [[, okCode, okOffset]]]] = ok.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])] as const);
    expect([okCode, okOffset]).toEqual([0, 0]);
    expect(broker.records('target').map((rec) => rec.value?.toString())).toEqual(['good']);
    raw.close();
    await clientStillWorks();
  });

  /** Sends one Produce v`version` for partition 0 of 'target' and returns its error code and message (v8). */
  async function produceError(records: Buffer | null, version = 3): Promise<{ errorCode: number; errorMessage?: string | null }> {
    const raw = await RawClient.connect(port);
    const before = broker.endOffset('target');
    const body = (w: Writer) => {
      w.nullableString(null).int16(1).int32(5000);
      w.array(['target'], (w, name) => w.string(name).array([0], (w, p) => w.int32(p).nullableBytes(records)));
    };
    const r = await raw.request({ apiKey: ApiKey.Produce, apiVersion: version, body });
    const [[, [result]]] = r.array(
      (r) =>
        [
          r.string(),
          r.array((r) => {
            const res: { errorCode: number; errorMessage?: string | null } = { errorCode: (r.int32(), r.int16()) }; // partition index, then the error code
            r.int64(); // base offset
            r.int64(); // log append time
            if (version >= 5) r.int64(); // log start offset
            if (version >= 8) {
              r.array((r) => [r.int32(), r.nullableString()]);
              res.errorMessage = r.nullableString();
            }
            return res;
          }),
        ] as const,
    );
    expect(broker.endOffset('target')).toBe(before); // nothing stored
    raw.close();
    await clientStillWorks();
    return result;
  }

  it('answers a Produce with a magic 1 message set with INVALID_RECORD, as Kafka does', async () => {
    expect(await produceError(recordBatch('old', { magic: 1 }), 8)).toEqual({
      errorCode: ErrorCode.INVALID_RECORD,
      errorMessage: expect.stringMatching(/magic 1 is not supported; Produce v3\+ takes only magic 2/),
    });
  });

  it.each([
    ['null', null],
    ['zero-length', Buffer.alloc(0)],
  ])('answers a Produce with a %s record set with INVALID_RECORD (not the retriable CORRUPT_MESSAGE)', async (_what, records) => {
    expect(await produceError(records, 8)).toEqual({
      errorCode: ErrorCode.INVALID_RECORD,
      errorMessage: 'Produce requests with version 8 must have at least one record batch per partition',
    });
  });

  it.each([
    ['no records', { recordCount: 0, lastOffsetDelta: -1 }, 'Invalid reported count for record batch: 0'],
    ['a record count that is not lastOffsetDelta + 1', { recordCount: 1, lastOffsetDelta: 4 }, 'Inconsistent batch offset range [0, 4] and count of records 1'],
    ['a negative record count', { recordCount: -3 }, 'Invalid reported count for record batch: -3'],
    ['the control flag (a transaction marker)', { attributes: 0x20 }, 'Clients are not allowed to write control records'],
    ['a producer id without a sequence number', { producerId: 4242, producerEpoch: 0, baseSequence: -1 }, 'Invalid sequence number -1 in record batch with producerId 4242'],
    ['an unknown compression codec', { attributes: 6 }, 'Unknown compression type id 6 in record batch'],
  ])('answers a batch whose header has %s with INVALID_RECORD and stores nothing', async (_what, header, message) => {
    expect(await produceError(recordBatch('liar', header), 8)).toEqual({ errorCode: ErrorCode.INVALID_RECORD, errorMessage: message });
  });

  it('answers a zstd batch in a Produce before v7 with UNSUPPORTED_COMPRESSION_TYPE', async () => {
    expect(await produceError(recordBatch('zstd?', { attributes: 4 }))).toEqual({ errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE });
  });

  it('closes a connection whose Produce records field runs past the frame', async () => {
    const raw = await RawClient.connect(port);
    const body = (w: Writer) => {
      w.nullableString(null).int16(1).int32(5000);
      w.array(['target'], (w, name) => w.string(name).array([0], (w, p) => w.int32(p).int32(1000).raw(Buffer.alloc(10))));
    };
    raw.send(requestFrame({ apiKey: ApiKey.Produce, apiVersion: 3, body }, 1));
    await expectClosed(raw);
  });

  it('answers an invalid topic name with INVALID_TOPIC_EXCEPTION in Produce, Metadata and CreateTopics', async () => {
    const raw = await RawClient.connect(port);
    const bad = 'no/slashes allowed';

    const produced = await raw.request({ apiKey: ApiKey.Produce, apiVersion: 3, body: produceBody(bad, recordBatch('x')) });
    const [[, [[, produceCode]]]] = produced.array((r) => [r.string(), r.array((r) => [r.int32(), r.int16(), r.int64(), r.int64()])] as const);
    expect(produceCode).toBe(ErrorCode.INVALID_TOPIC_EXCEPTION);

    const meta = await raw.request({ apiKey: ApiKey.Metadata, apiVersion: 1, body: (w) => w.array([bad], (w, n) => w.string(n)) });
    meta.array((r) => [r.int32(), r.string(), r.int32(), r.nullableString()]);
    meta.int32();
    expect(meta.array((r) => [r.int16(), r.string(), r.bool(), r.array(() => 0)])).toEqual([[ErrorCode.INVALID_TOPIC_EXCEPTION, bad, false, []]]);

    const created = await raw.request({
      apiKey: ApiKey.CreateTopics,
      apiVersion: 1,
      body: (w) => w.array([bad], (w, n) => w.string(n).int32(1).int16(1).array([], () => {}).array([], () => {})).int32(1000).bool(false),
    });
    expect(created.array((r) => [r.string(), r.int16(), r.nullableString()])).toEqual([[bad, ErrorCode.INVALID_TOPIC_EXCEPTION, expect.stringMatching(/outside/)]]);

    expect(broker.topicNames()).toEqual(['healthy', 'target']);
    raw.close();
    await clientStillWorks();
  });

  it('survives many broken connections at once while the client keeps producing', async () => {
    const hostile = Array.from({ length: 20 }, async (_, i) => {
      const raw = await RawClient.connect(port);
      raw.send(i % 2 === 0 ? Buffer.from([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]) : requestFrame({ apiKey: ApiKey.Fetch, apiVersion: 4, body: (w) => w.int32(-1).int32(5).int32(1) }, i));
      await raw.closed;
    });
    const writes = Array.from({ length: 5 }, (_, i) => producer.send({ topic: 'healthy', messages: [{ value: `concurrent-${i}` }] }));
    await Promise.all([...hostile, ...writes]);
    sent += writes.length;
    expect(broker.endOffset('healthy')).toBe(sent);
    await clientStillWorks();
  });
});
