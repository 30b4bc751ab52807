/**
 * The protocol codec: Reader/Writer round trips of every primitive in both encodings, byte-for-byte
 * agreement with kafkajs's own Encoder, and request bodies produced by kafkajs's request encoders (the
 * bytes a real kafkajs client puts on the wire) decoded by our handlers, plus our responses decoded by
 * kafkajs's response decoders.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Reader } from '../../libs/broker/src/protocol/reader.js';
import { Writer } from '../../libs/broker/src/protocol/writer.js';
import { ProtocolError } from '../../libs/broker/src/protocol/protocol-error.js';
import type { ApiHandler } from '../../libs/broker/src/handlers/handler.js';
import { createTopicsHandler } from '../../libs/broker/src/handlers/19-create-topics.js';
import { deleteTopicsHandler } from '../../libs/broker/src/handlers/20-delete-topics.js';
import { deleteRecordsHandler } from '../../libs/broker/src/handlers/21-delete-records.js';
import { initProducerIdHandler } from '../../libs/broker/src/handlers/22-init-producer-id.js';
import { describeConfigsHandler } from '../../libs/broker/src/handlers/32-describe-configs.js';
import { createPartitionsHandler } from '../../libs/broker/src/handlers/37-create-partitions.js';
import { metadataHandler } from '../../libs/broker/src/handlers/03-metadata.js';

const require = createRequire(import.meta.url);
const KafkaJsEncoder = require('kafkajs/src/protocol/encoder.js');
const kafkajsRequestFrame = require('kafkajs/src/protocol/request.js');

const bytes = (build: (w: Writer) => void, flexible = false) => {
  const w = new Writer(flexible, 8); // a tiny scratch buffer, so growth is exercised too
  build(w);
  return w.toBuffer();
};
const hex = (b: Buffer) => b.toString('hex');

describe('Reader/Writer primitives', () => {
  it('round-trips fixed-width integers and booleans at their limits', () => {
    const b = bytes((w) =>
      w
        .int8(-128)
        .int8(127)
        .bool(true)
        .bool(false)
        .int16(-32768)
        .int16(32767)
        .int32(-2147483648)
        .int32(2147483647)
        .uint32(4294967295)
        .int64(-1)
        .int64(Number.MAX_SAFE_INTEGER)
        .int64(-9223372036854775808n),
    );
    const r = new Reader(b);
    expect([r.int8(), r.int8(), r.bool(), r.bool(), r.int16(), r.int16(), r.int32(), r.int32(), r.uint32(), r.int64(), r.int64()]).toEqual([
      -128, 127, true, false, -32768, 32767, -2147483648, 2147483647, 4294967295, -1, Number.MAX_SAFE_INTEGER,
    ]);
    expect(r.int64()).toBe(Number(-9223372036854775808n));
    expect(r.remaining).toBe(0);
  });

  it.each([
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [16383, 'ff7f'],
    [16384, '808001'],
    [2147483647, 'ffffffff07'],
    [4294967295, 'ffffffff0f'],
  ])('UNSIGNED_VARINT %i is %s', (value, encoded) => {
    const b = bytes((w) => w.uvarint(value));
    expect(hex(b)).toBe(encoded);
    expect(hex(new KafkaJsEncoder().writeUVarInt(value).buffer)).toBe(encoded);
    const r = new Reader(b);
    expect(r.uvarint()).toBe(value);
    expect(r.remaining).toBe(0);
  });

  it.each([
    [0, '00'],
    [-1, '01'],
    [1, '02'],
    [-64, '7f'],
    [63, '7e'],
    [64, '8001'],
    [-65, '8101'],
    [2147483647, 'feffffff0f'],
    [-2147483648, 'ffffffff0f'],
  ])('VARINT %i is %s', (value, encoded) => {
    const b = bytes((w) => w.varint(value));
    expect(hex(b)).toBe(encoded);
    expect(hex(new KafkaJsEncoder().writeVarInt(value).buffer)).toBe(encoded);
    expect(new Reader(b).varint()).toBe(value);
  });

  it.each([0, -1, 1, 300, -300, 2 ** 31, -(2 ** 31) - 1, 1_700_000_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER])(
    'VARLONG %i round-trips and matches kafkajs',
    (value) => {
      const b = bytes((w) => w.varlong(value));
      expect(hex(b)).toBe(hex(new KafkaJsEncoder().writeVarLong(value).buffer));
      const r = new Reader(b);
      expect(r.varlong()).toBe(value);
      expect(r.remaining).toBe(0);
    },
  );

  it('encodes the 64-bit VARLONG extremes in 10 bytes', () => {
    expect(hex(bytes((w) => w.varlong(-9223372036854775808n)))).toBe('ffffffffffffffffff01');
    expect(hex(bytes((w) => w.varlong(9223372036854775807n)))).toBe('feffffffffffffffff01');
    expect(new Reader(Buffer.from('ffffffffffffffffff01', 'hex')).varlong()).toBe(Number(-9223372036854775808n));
  });

  it('round-trips classic strings, bytes and arrays, null and empty included, as kafkajs encodes them', () => {
    const b = bytes((w) =>
      w
        .string('')
        .nullableString(null)
        .string('héllo ✓')
        .bytes(Buffer.alloc(0))
        .nullableBytes(null)
        .bytes(Buffer.from([1, 2, 3]))
        .array([1, 2], (w, v) => w.int32(v))
        .nullableArray(null, () => {})
        .array([], () => {}),
    );
    const kafkajs = new KafkaJsEncoder()
      .writeString('')
      .writeString(null)
      .writeString('héllo ✓')
      .writeBytes(Buffer.alloc(0))
      .writeBytes(null)
      .writeBytes(Buffer.from([1, 2, 3]))
      .writeArray([1, 2])
      .writeNullableArray([]) // kafkajs encodes an empty nullable array as null (-1)
      .writeArray([]);
    expect(hex(b)).toBe(hex(kafkajs.buffer));

    const r = new Reader(b);
    expect(r.string()).toBe('');
    expect(r.nullableString()).toBeNull();
    expect(r.string()).toBe('héllo ✓');
    expect(r.bytes()).toEqual(Buffer.alloc(0));
    expect(r.nullableBytes()).toBeNull();
    expect([...r.bytes()]).toEqual([1, 2, 3]);
    expect(r.array((r) => r.int32())).toEqual([1, 2]);
    expect(r.nullableArray((r) => r.int32())).toBeNull();
    expect(r.array((r) => r.int32())).toEqual([]);
    expect(r.remaining).toBe(0);
  });

  it('round-trips compact (flexible) strings, bytes and arrays: length + 1 as UNSIGNED_VARINT, 0 for null', () => {
    const long = 'x'.repeat(200);
    const b = bytes(
      (w) =>
        w
          .nullableString(null)
          .string('')
          .string('abc')
          .string(long)
          .nullableBytes(null)
          .bytes(Buffer.from([9]))
          .nullableArray(null, () => {})
          .array(['a', 'b'], (w, s) => w.string(s)),
      true,
    );
    expect(hex(b.subarray(0, 6))).toBe('00' + '01' + '04' + Buffer.from('abc').toString('hex'));
    const kafkajs = new KafkaJsEncoder()
      .writeUVarIntString(null)
      .writeUVarIntString('')
      .writeUVarIntString('abc')
      .writeUVarIntString(long)
      .writeUVarIntBytes(null)
      .writeUVarIntBytes(Buffer.from([9]))
      .writeUVarInt(0)
      .writeUVarIntArray(['a', 'b'].map((s) => new KafkaJsEncoder().writeUVarIntString(s)));
    expect(hex(b)).toBe(hex(kafkajs.buffer));

    const r = new Reader(b, 0, true);
    expect([r.nullableString(), r.string(), r.string(), r.string()]).toEqual([null, '', 'abc', long]);
    expect(r.nullableBytes()).toBeNull();
    expect([...r.bytes()]).toEqual([9]);
    expect(r.nullableArray((r) => r.string())).toBeNull();
    expect(r.array((r) => r.string())).toEqual(['a', 'b']);
    expect(r.remaining).toBe(0);
  });

  it('skips tagged fields it does not know, and writes an empty tag section only when flexible', () => {
    // two tagged fields (tag 0: 3 bytes, tag 7: 1 byte), then an INT16 that must still be read correctly
    const frame = Buffer.from('02' + '00' + '03' + 'aabbcc' + '07' + '01' + 'ff' + '1234', 'hex');
    const r = new Reader(frame, 0, true);
    r.tags();
    expect(r.int16()).toBe(0x1234);
    expect(r.remaining).toBe(0);

    const classic = new Reader(Buffer.from('1234', 'hex'));
    classic.tags(); // no tag section in classic versions
    expect(classic.int16()).toBe(0x1234);

    expect(hex(bytes((w) => w.tags(), true))).toBe('00');
    expect(hex(bytes((w) => w.tags(), false))).toBe('');
  });

  it('keeps large payloads by reference and small ones copied, in order', () => {
    const big = Buffer.alloc(4096, 7);
    const w = new Writer(false, 16);
    w.int32(1).raw(big).int16(2);
    const chunks = w.toChunks();
    expect(chunks).toContain(big);
    expect(w.length).toBe(4 + 4096 + 2);
    const r = new Reader(Buffer.concat(chunks));
    expect(r.int32()).toBe(1);
    expect(r.raw(4096).equals(big)).toBe(true);
    expect(r.int16()).toBe(2);
  });

  it('reports truncation, impossible lengths, runaway varints and null required strings as ProtocolError', () => {
    const cases: [string, () => unknown][] = [
      ['INT32 from 3 bytes', () => new Reader(Buffer.alloc(3)).int32()],
      ['string longer than the frame', () => new Reader(Buffer.from('0005616263', 'hex')).string()],
      ['array count beyond the frame', () => new Reader(Buffer.from('7fffffff00', 'hex')).array((r) => r.int8())],
      ['bytes length beyond the frame', () => new Reader(Buffer.from('00000010ff', 'hex')).bytes()],
      ['6-byte VARINT', () => new Reader(Buffer.from('ffffffffff01', 'hex')).uvarint()],
      ['11-byte VARLONG', () => new Reader(Buffer.from('ffffffffffffffffffff01', 'hex')).varlong()],
      ['null STRING', () => new Reader(Buffer.from('ffff', 'hex')).string()],
      ['tagged field longer than the frame', () => new Reader(Buffer.from('010009', 'hex'), 0, true).tags()],
    ];
    for (const [what, read] of cases) expect(read, what).toThrow(ProtocolError);
  });
});

/** A request as kafkajs frames it, decoded the way the connection does: header, then the handler's decode. */
async function decodeKafkaJsRequest<Req>(handler: ApiHandler<Req>, api: string, version: number, args: object): Promise<Req> {
  const request = require(`kafkajs/src/protocol/requests/${api}/v${version}/request.js`)(args);
  const frame: Buffer = (await kafkajsRequestFrame({ correlationId: 42, clientId: 'kafkajs-capture', request })).buffer;
  const r = new Reader(frame);
  expect(r.int32()).toBe(frame.length - 4);
  expect([r.int16(), r.int16(), r.int32(), r.nullableString()]).toEqual([handler.apiKey, version, 42, 'kafkajs-capture']);
  const decoded = handler.decode(r, version);
  expect(r.remaining).toBe(0);
  return decoded;
}

/** Our encoding of a response, decoded by kafkajs's response decoder for that version. */
async function kafkajsDecodes<Res>(handler: ApiHandler<unknown, Res>, api: string, version: number, res: Res, requestArgs: object = {}) {
  const w = new Writer();
  handler.encode(w, res, version);
  let response = require(`kafkajs/src/protocol/requests/${api}/v${version}/response.js`);
  if (typeof response === 'function') response = response(requestArgs);
  return response.decode(w.toBuffer());
}

describe('kafkajs request bytes decoded by our handlers', () => {
  it.each([0, 1, 2, 3])('CreateTopics v%i', async (version) => {
    const req = await decodeKafkaJsRequest(createTopicsHandler, 'createTopics', version, {
      topics: [
        { topic: 'a', numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: '10' }] },
        { topic: 'b', replicaAssignment: [{ partition: 0, replicas: [0, 1] }] },
      ],
      validateOnly: true,
      timeout: 1234,
    });
    expect(req).toEqual({
      topics: [
        { name: 'a', numPartitions: 3, replicationFactor: 1, assignments: [], configs: [{ name: 'retention.ms', value: '10' }] },
        { name: 'b', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [0, 1] }], configs: [] },
      ],
      timeoutMs: 1234,
      validateOnly: version >= 1,
    });
  });

  it.each([0, 1])('DeleteTopics v%i', async (version) => {
    expect(await decodeKafkaJsRequest(deleteTopicsHandler, 'deleteTopics', version, { topics: ['x', 'y'], timeout: 99 })).toEqual({
      topicNames: ['x', 'y'],
      timeoutMs: 99,
    });
  });

  it.each([0, 1])('DeleteRecords v%i', async (version) => {
    const req = await decodeKafkaJsRequest(deleteRecordsHandler, 'deleteRecords', version, {
      topics: [{ topic: 't', partitions: [{ partition: 2, offset: '-1' }, { partition: 0, offset: '12345678901' }] }],
      timeout: 500,
    });
    expect(req).toEqual({ topics: [{ name: 't', partitions: [{ partitionIndex: 2, offset: -1 }, { partitionIndex: 0, offset: 12345678901 }] }], timeoutMs: 500 });
  });

  it.each([0, 1])('InitProducerId v%i', async (version) => {
    expect(await decodeKafkaJsRequest(initProducerIdHandler, 'initProducerId', version, { transactionalId: null, transactionTimeout: 30000 })).toEqual({
      transactionalId: null,
      transactionTimeoutMs: 30000,
    });
  });

  it.each([0, 1, 2])('DescribeConfigs v%i', async (version) => {
    const req = await decodeKafkaJsRequest(describeConfigsHandler, 'describeConfigs', version, {
      resources: [
        { type: 2, name: 'topic-a', configNames: ['retention.ms'] },
        { type: 4, name: '0', configNames: [] }, // kafkajs sends an empty list as null: all configs
      ],
      includeSynonyms: true,
    });
    expect(req).toEqual({
      resources: [
        { resourceType: 2, resourceName: 'topic-a', configNames: ['retention.ms'] },
        { resourceType: 4, resourceName: '0', configNames: null },
      ],
      includeSynonyms: version >= 1,
      includeDocumentation: false,
    });
  });

  it.each([0, 1])('CreatePartitions v%i', async (version) => {
    const req = await decodeKafkaJsRequest(createPartitionsHandler, 'createPartitions', version, {
      topicPartitions: [{ topic: 'p', count: 5 }, { topic: 'q', count: 2, assignments: [[0], [1]] }],
      validateOnly: false,
      timeout: 300,
    });
    expect(req).toEqual({
      topics: [
        { name: 'p', count: 5, assignments: null },
        { name: 'q', count: 2, assignments: [[0], [1]] },
      ],
      timeoutMs: 300,
      validateOnly: false,
    });
  });

  it.each([0, 1, 4, 5, 6])('Metadata v%i', async (version) => {
    const req = await decodeKafkaJsRequest(metadataHandler, 'metadata', version, { topics: ['m1', 'm2'], allowAutoTopicCreation: false });
    expect(req).toEqual({ topics: ['m1', 'm2'], allowAutoTopicCreation: version >= 4 ? false : true });
  });
});

describe('our responses decoded by kafkajs', () => {
  it.each([0, 1, 2, 3])('CreateTopics v%i', async (version) => {
    const decoded = await kafkajsDecodes(createTopicsHandler, 'createTopics', version, {
      topics: [
        { name: 'b', errorCode: 36, errorMessage: 'exists' },
        { name: 'a', errorCode: 0, errorMessage: null },
      ],
    });
    expect(decoded.topicErrors.map((t: any) => [t.topic, t.errorCode])).toEqual([
      ['a', 0],
      ['b', 36],
    ]);
    if (version >= 1) expect(decoded.topicErrors[1].errorMessage).toBe('exists');
  });

  it.each([0, 1])('DeleteTopics v%i', async (version) => {
    const decoded = await kafkajsDecodes(deleteTopicsHandler, 'deleteTopics', version, { responses: [{ name: 'x', errorCode: 3 }] });
    expect(decoded.topicErrors).toEqual([{ topic: 'x', errorCode: 3 }]);
  });

  it.each([0, 1])('DeleteRecords v%i', async (version) => {
    const decoded = await kafkajsDecodes(
      deleteRecordsHandler,
      'deleteRecords',
      version,
      { topics: [{ name: 't', partitions: [{ partitionIndex: 0, lowWatermark: 7, errorCode: 0 }] }] },
      { topics: [{ topic: 't', partitions: [{ partition: 0, offset: '7' }] }] },
    );
    expect(decoded.topics[0].topic).toBe('t');
    expect(decoded.topics[0].partitions[0]).toMatchObject({ partition: 0, errorCode: 0 });
    expect(decoded.topics[0].partitions[0].lowWatermark.toString()).toBe('7');
  });

  it.each([0, 1])('InitProducerId v%i', async (version) => {
    const decoded = await kafkajsDecodes(initProducerIdHandler, 'initProducerId', version, { errorCode: 0, producerId: 1000, producerEpoch: 0 });
    expect(decoded).toMatchObject({ errorCode: 0, producerId: '1000', producerEpoch: 0 });
  });

  it.each([0, 1, 2])('DescribeConfigs v%i', async (version) => {
    const decoded = await kafkajsDecodes(describeConfigsHandler, 'describeConfigs', version, {
      results: [
        {
          errorCode: 0,
          errorMessage: null,
          resourceType: 2,
          resourceName: 't',
          configs: [
            { name: 'retention.ms', value: '5', readOnly: false, source: 1, synonyms: [{ name: 'retention.ms', value: '5', source: 1 }] },
            { name: 'cleanup.policy', value: 'delete', readOnly: false, source: 5, synonyms: [] },
          ],
        },
      ],
    });
    const [entryA, entryB] = decoded.resources[0].configEntries;
    expect(entryA).toMatchObject({ configName: 'retention.ms', configValue: '5', isDefault: false, configSource: 1 });
    expect(entryB).toMatchObject({ configName: 'cleanup.policy', configValue: 'delete', isDefault: true, configSource: 5 });
    if (version >= 1) expect(entryA.configSynonyms).toEqual([{ configName: 'retention.ms', configValue: '5', configSource: 1 }]);
  });

  it.each([0, 1])('CreatePartitions v%i', async (version) => {
    const decoded = await kafkajsDecodes(createPartitionsHandler, 'createPartitions', version, {
      results: [{ name: 'p', errorCode: 37, errorMessage: 'Topic already has 2 partitions.' }],
    });
    expect(decoded.topicErrors).toEqual([{ topic: 'p', errorCode: 37, errorMessage: 'Topic already has 2 partitions.' }]);
  });
});
