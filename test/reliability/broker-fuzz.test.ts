/**
 * Hostile input to the broker: a bounded fuzzing run of random and mutated frames on many connections,
 * loopback only, while a well-behaved kafkajs producer and consumer keep working on other connections.
 * The broker must never crash, must close (or answer) every bad connection, and must keep its memory
 * bounded; the well-behaved client's sends and reads must never stall for more than 3 s while the fuzzing
 * runs. Each connection draws its frames from its own PRNG, seeded from the run's seed and the
 * connection's index, so FUZZ_SEED replays the same frames on each connection whatever the timing.
 *
 * Hostile batches are among the frames: compressed bodies (each codec) that are corrupt or random, record
 * counts that lie, records that do not parse, and gzip bombs. None may reach the log: afterwards every stored
 * batch of the target topic decodes and a kafkajs consumer reads the topic to its end.
 *
 * Knobs: FUZZ_SEED, FUZZ_FRAMES (frames in all), FUZZ_TIME_LIMIT_MS.
 */
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from '@mongodb-js/zstd';
import { compressFrameSync as lz4Compress } from 'lz4-napi';
import { compressSync as snappyCompress } from 'snappy';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writer } from '../../libs/broker/src/protocol/writer.js';
import { registerKafkajsCodecs } from '../../libs/core/src/transport/kafkajs-codecs.js';
import { requestFrame } from '../broker/raw-client.js';
import { encodeBatch } from '../broker/support/record-batch.js';
import { waitFor } from '../broker/support/wait.js';
import { prng } from './support.js';

const FRAMES = Number(process.env.FUZZ_FRAMES ?? 200_000);
const TIME_LIMIT_MS = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 60_000);
const CONNECTIONS_AT_ONCE = 16;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
/** A hostile connection the broker neither answers nor closes (nor even accepts) is hung up after this long. */
const CONNECTION_TIMEOUT_MS = 5_000;
/** The longest the well-behaved client may go without a send acknowledged, or a record read, while fuzzing. */
const STALL_LIMIT_MS = 3_000;

/** The PRNG of hostile connection `index`: its frames depend on the seed and the index only. */
const connectionPrng = (index: number) => prng((SEED ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);

/** Well-formed requests of many APIs, the material the mutations start from. */
function validFrames(): Buffer[] {
  const produce = (batch: Buffer) => (w: Writer) => {
    w.nullableString(null).int16(-1).int32(1000);
    w.array(['fuzz-target'], (w, t) => {
      w.string(t).array([0], (w, p) => w.int32(p).bytes(batch));
    });
  };
  const bodies: { apiKey: number; apiVersion: number; body?: (w: Writer) => void; flexibleHeader?: boolean }[] = [
    { apiKey: 18, apiVersion: 0 },
    { apiKey: 18, apiVersion: 3, flexibleHeader: true, body: (w) => w.string('fuzz').string('1.0').tags() },
    { apiKey: 3, apiVersion: 1, body: (w) => w.array(['fuzz-target', 'other'], (w, t) => w.string(t)) },
    { apiKey: 3, apiVersion: 8, body: (w) => w.array(['fuzz-target'], (w, t) => w.string(t)).bool(true).bool(false).bool(false) },
    { apiKey: 0, apiVersion: 7, body: produce(encodeBatch([{ key: 'k', value: 'v', headers: { h: 'x' } }])) },
    {
      apiKey: 1,
      apiVersion: 11,
      body: (w) => {
        w.int32(-1).int32(10).int32(1).int32(1 << 20).int8(0).int32(0).int32(-1);
        w.array(['fuzz-target'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int32(-1).int64(0).int64(-1).int32(1 << 20)));
        w.array([], () => {}).string('');
      },
    },
    { apiKey: 2, apiVersion: 1, body: (w) => w.int32(-1).array(['fuzz-target'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).int64(-1))) },
    { apiKey: 10, apiVersion: 2, body: (w) => w.string('fuzz-group').int8(0) },
    {
      apiKey: 11,
      apiVersion: 5,
      body: (w) => w.string('fuzz-group').int32(6000).int32(6000).string('').nullableString(null).string('consumer').array(['range'], (w, p) => w.string(p).bytes(Buffer.from([0, 1, 0, 0, 0, 0]))),
    },
    { apiKey: 12, apiVersion: 3, body: (w) => w.string('fuzz-group').int32(1).string('member').nullableString(null) },
    { apiKey: 9, apiVersion: 5, body: (w) => w.string('fuzz-group').nullableArray(null, () => {}) },
    { apiKey: 19, apiVersion: 3, body: (w) => w.array(['fuzz-created'], (w, t) => w.string(t).int32(2).int16(1).array([], () => {}).array([], () => {})).int32(1000).bool(false) },
  ];
  return bodies.map((b, i) => requestFrame(b, i + 1));
}

type Mutation = (frame: Buffer, rnd: () => number) => Buffer;

/** A Produce v7 frame writing `batch` to partition 0 of the fuzz target. */
const produceFrame = (batch: Buffer) =>
  requestFrame({ apiKey: 0, apiVersion: 7, body: (w) => w.nullableString(null).int16(1).int32(1000).array(['fuzz-target'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).bytes(batch))) }, 11);

/** The records part of a valid 3-record batch, compressed with each codec (index = codec id); filled in beforeAll. */
const compressedBodies: Buffer[] = [];
/** 64 MiB of zeros in about 64 KiB of gzip: past the fuzz broker's 4 MiB decompression bound. */
let gzipBomb = Buffer.alloc(0);
const threeRecords = () => [{ key: 'a', value: 'one' }, { value: 'two' }, { key: 'c', value: null }];

async function prepareHostileBatches(): Promise<void> {
  const plain = encodeBatch(threeRecords()).subarray(61);
  compressedBodies[0] = plain;
  compressedBodies[1] = gzipSync(plain);
  compressedBodies[2] = snappyCompress(plain);
  compressedBodies[3] = lz4Compress(plain);
  compressedBodies[4] = await zstdCompress(plain, 3);
  gzipBomb = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
}

const int = (rnd: () => number, n: number) => Math.floor(rnd() * n);

/** Each mutation produces the bytes to write on the socket for one "frame". */
const MUTATIONS: Record<string, Mutation> = {
  random: (_f, rnd) => {
    const body = Buffer.alloc(int(rnd, 200));
    for (let i = 0; i < body.length; i++) body[i] = int(rnd, 256);
    const out = Buffer.alloc(4 + body.length);
    out.writeInt32BE(body.length, 0);
    body.copy(out, 4);
    return out;
  },
  truncated: (f, rnd) => {
    const keep = 4 + int(rnd, f.length - 4);
    const out = Buffer.from(f.subarray(0, keep));
    out.writeInt32BE(keep - 4, 0); // a consistent frame whose body stops early
    return out;
  },
  wrongLength: (f, rnd) => {
    const out = Buffer.from(f);
    out.writeInt32BE(Math.max(0, f.length - 4 + int(rnd, 64) - 32), 0);
    return out;
  },
  hugeDeclaredSize: (f, rnd) => {
    const out = Buffer.from(f);
    out.writeInt32BE([2 ** 31 - 1, -1, -(2 ** 31), 200 * 1024 * 1024, 3][int(rnd, 5)], 0);
    return out;
  },
  flippedBytes: (f, rnd) => {
    const out = Buffer.from(f);
    for (let i = 0, n = 1 + int(rnd, 4); i < n; i++) out[12 + int(rnd, Math.max(1, out.length - 12))] ^= 1 << int(rnd, 8);
    return out;
  },
  hugeCounts: (f, rnd) => {
    const out = Buffer.from(f);
    const at = 12 + int(rnd, Math.max(1, out.length - 16));
    if (at + 4 <= out.length) out.writeInt32BE([2 ** 31 - 1, -2, 0x10000000][int(rnd, 3)], at);
    return out;
  },
  badVarints: (_f, rnd) => {
    const w = new Writer();
    w.int32(0).int16(18).int16(3).int32(7).nullableString('fuzz').raw(Buffer.alloc(6 + int(rnd, 10), 0xff));
    const out = w.toBuffer();
    out.writeInt32BE(out.length - 4, 0);
    return out;
  },
  badCrc: (_f, rnd) => {
    const batch = encodeBatch([{ value: 'crc' }]);
    batch[batch.length - 1 - int(rnd, 4)] ^= 0xff;
    const frame = requestFrame({ apiKey: 0, apiVersion: 7, body: (w) => w.nullableString(null).int16(1).int32(1000).array(['fuzz-target'], (w, t) => w.string(t).array([0], (w, p) => w.int32(p).bytes(batch))) }, 9);
    return frame;
  },
  hostileBatch: (_f, rnd) => {
    // Each batch's CRC is right: only reading its records can refuse it.
    const codec = 1 + int(rnd, 4);
    const flipped = (b: Buffer) => {
      const out = Buffer.from(b);
      for (let i = 0, n = 1 + int(rnd, 3); i < n; i++) out[int(rnd, out.length)] ^= 1 << int(rnd, 8);
      return out;
    };
    const random = (n: number) => Buffer.from(Array.from({ length: n }, () => int(rnd, 256)));
    const kinds = [
      () => encodeBatch(threeRecords(), { codec, body: flipped(compressedBodies[codec]) }), // corrupt compressed body
      () => encodeBatch(threeRecords(), { codec, body: random(1 + int(rnd, 100)) }), // not the codec's bytes at all
      () => encodeBatch(Array.from({ length: 1 + int(rnd, 6) }, () => ({ value: 'x' })), { body: compressedBodies[0] }), // count lies
      () => encodeBatch(threeRecords(), { body: flipped(compressedBodies[0]) }), // records that do not parse
      () => encodeBatch(threeRecords(), { codec, body: compressedBodies[codec] }), // valid, compressed
      () => encodeBatch([{ value: 'bomb' }], { codec: 1, body: gzipBomb }), // inflates past the bound
    ];
    return produceFrame(kinds[int(rnd, kinds.length)]());
  },
  unknownKeyOrVersion: (f, rnd) => {
    const out = Buffer.from(f);
    if (rnd() < 0.5) out.writeInt16BE([-1, 99, 1000, 32767, 67][int(rnd, 5)], 4);
    else out.writeInt16BE([-1, 99, 32767][int(rnd, 3)], 6);
    return out;
  },
};

describe('fuzzing the broker with hostile frames', () => {
  let broker: EmbeddedKafkaBroker;

  beforeAll(async () => {
    await prepareHostileBatches();
    registerKafkajsCodecs(); // the target topic holds valid snappy, lz4 and zstd batches too
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, maxRequestBytes: 1024 * 1024, maxDecompressedBatchBytes: 4 * 1024 * 1024, topics: [{ name: 'fuzz-target', partitions: 1 }, { name: 'well-behaved', partitions: 2 }] });
  });

  afterAll(async () => {
    await broker?.stop();
  });

  it('survives, stays bounded, and keeps serving a well-behaved client', async () => {
    const valid = validFrames();
    const names = Object.keys(MUTATIONS);
    const port = Number(broker.brokers[0].split(':')[1]);

    // A well-behaved client produces and consumes throughout.
    const kafka = new Kafka({ brokers: broker.brokers, clientId: 'well-behaved', logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    const consumer = kafka.consumer({ groupId: 'well-behaved', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topic: 'well-behaved', fromBeginning: true });
    const consumed = new Set<string>();
    await consumer.run({ eachMessage: async ({ message }) => void consumed.add(message.value!.toString()) });
    let sent = 0;
    let producing = true;
    // The fuzzing starts on a working client: the consumer has joined and read a first record.
    await producer.send({ topic: 'well-behaved', messages: [{ key: 'warm-up', value: 'warm-up' }] });
    await waitFor(() => consumed.has('warm-up'), 30_000, 'the well-behaved consumer to read its first record');
    consumed.clear();
    const producing$ = (async () => {
      while (producing) {
        await producer.send({ topic: 'well-behaved', messages: [{ key: String(sent), value: `ok-${sent}` }] });
        sent++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const started = Date.now();
    const baseline = process.memoryUsage().rss;
    let peakRss = baseline;
    let frames = 0;
    let connections = 0;
    const byMutation: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]));

    // While the fuzzing runs, the well-behaved client's progress is sampled every 50 ms: the longest time
    // between two samples that saw a send acknowledged (a record read) is its stall.
    const stall = { sent: { value: sent, since: Date.now(), max: 0 }, consumed: { value: 0, since: Date.now(), max: 0 } };
    const sample = () => {
      const now = Date.now();
      for (const [s, value] of [[stall.sent, sent], [stall.consumed, consumed.size]] as const) {
        s.max = Math.max(s.max, now - s.since);
        if (value !== s.value) {
          s.value = value;
          s.since = now;
        }
      }
    };
    const sampler = setInterval(sample, 50);

    let timedOut = 0;
    const oneConnection = () =>
      new Promise<void>((resolve) => {
        const rnd = connectionPrng(connections++);
        const socket = connect({ port, host: '127.0.0.1' });
        const guard = setTimeout(() => {
          timedOut++;
          socket.destroy();
        }, CONNECTION_TIMEOUT_MS);
        socket.on('error', () => {});
        socket.on('data', () => {}); // answers are read and dropped
        socket.on('close', () => {
          clearTimeout(guard);
          resolve();
        });
        socket.on('connect', () => {
          const n = 1 + int(rnd, 40);
          for (let i = 0; i < n && frames < FRAMES; i++) {
            const name = names[int(rnd, names.length)];
            byMutation[name]++;
            frames++;
            socket.write(MUTATIONS[name](valid[int(rnd, valid.length)], rnd));
          }
          // Give the broker a moment to answer or close, then hang up ourselves.
          setTimeout(() => socket.destroy(), 20).unref();
        });
      });

    const workers = Array.from({ length: CONNECTIONS_AT_ONCE }, async () => {
      while (frames < FRAMES && Date.now() - started < TIME_LIMIT_MS) {
        await oneConnection();
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
    });
    await Promise.all(workers);
    const elapsed = Date.now() - started;
    sample();
    clearInterval(sampler);

    producing = false;
    await producing$;
    await waitFor(() => consumed.size === sent, 20_000, `the well-behaved consumer to read all ${sent} records`);
    await Promise.all([producer.disconnect(), consumer.disconnect()]);

    // Every hostile connection is gone: nothing is leaked per connection.
    await waitFor(() => broker.cluster.nodes[0].connections.size === 0, 10_000, 'hostile connections to close');
    const growthMb = (peakRss - baseline) / 2 ** 20;
    console.log(
      `fuzz: seed=${SEED} frames=${frames} connections=${connections} elapsed=${elapsed}ms rssGrowth=${growthMb.toFixed(1)}MiB ` +
        `wellBehaved=${sent} produced/${consumed.size} consumed, longest stall while fuzzing: sends ${stall.sent.max}ms, reads ${stall.consumed.max}ms ` +
        `connectionsTimedOut=${timedOut} crashes=0 mutations=${JSON.stringify(byMutation)}`,
    );
    expect(frames).toBeGreaterThan(Math.min(FRAMES, 1000));
    expect(sent).toBeGreaterThan(0);
    expect(consumed.size).toBe(sent);
    expect(stall.sent.max, 'longest time without a well-behaved send acknowledged while fuzzing (ms)').toBeLessThanOrEqual(STALL_LIMIT_MS);
    expect(stall.consumed.max, 'longest time without a well-behaved record read while fuzzing (ms)').toBeLessThanOrEqual(STALL_LIMIT_MS);
    expect(growthMb).toBeLessThan(256);

    // No hostile batch reached the log: every stored batch decodes, and a consumer reads the topic to its end.
    const stored = broker.records('fuzz-target');
    expect(stored.length).toBe(broker.endOffset('fuzz-target') - broker.offsets('fuzz-target')[0].logStartOffset);
    const reader = kafka.consumer({ groupId: 'fuzz-target-reader', maxWaitTimeInMs: 100 });
    let read = 0;
    await reader.connect();
    await reader.subscribe({ topic: 'fuzz-target', fromBeginning: true });
    await reader.run({ eachMessage: async () => void read++ });
    await waitFor(() => read >= stored.length, 30_000, `a consumer to read all ${stored.length} records of the fuzz target`);
    await reader.disconnect();
    expect(byMutation.hostileBatch).toBeGreaterThan(0);
  });
});
