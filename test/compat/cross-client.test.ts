/**
 * Cross-client, byte for byte: records produced by kafkajs are read by kcat, kafka-python and
 * confluent-kafka-python exactly as sent, and records produced by each of those are read exactly by kafkajs.
 * The corpus covers every byte value, empty and null values, a 1 KiB random value and binary header values.
 * Batches compressed by librdkafka with each codec pass through the broker to every reader unchanged.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedKafkaBroker, silentLogger } from '@kafka-nest/broker';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { b64, kafkajs, kafkajsRead, kcat, type PythonConsumeResult, type PythonProduceResult, python, unb64, type WireRecord } from './support/clients.js';
import { KCAT_EXACT_FORMAT, parseKcatExact } from './support/kcat-format.js';

interface Sample {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, Buffer>;
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const corpus: Sample[] = [
  { key: Buffer.from('all-bytes'), value: allBytes, headers: { bin: Buffer.from([0, 255, 10, 13, 0x80]) } },
  { key: Buffer.from('empty'), value: Buffer.alloc(0), headers: {} },
  { key: Buffer.from('tombstone'), value: null, headers: { reason: Buffer.from('deleted') } },
  { key: null, value: Buffer.from('no key, ünïcödé ✓ 🚀'), headers: { 'content-type': Buffer.from('text/plain; charset=utf-8') } },
  { key: Buffer.from([0xde, 0xad, 0xbe, 0xef]), value: randomBytes(1024), headers: { a: Buffer.from('1'), b: Buffer.alloc(0) } },
];

/** Corpus record by its key (the null key is unique in the corpus). */
const sampleFor = (key: Buffer | null): Sample => corpus.find((s) => (s.key === null ? key === null : key !== null && s.key.equals(key)))!;

function expectWireRecordsMatch(records: readonly WireRecord[]): void {
  expect(records).toHaveLength(corpus.length);
  for (const r of records) {
    const sample = sampleFor(unb64(r.key));
    expect(sample, `a record with key ${r.key} was not in the corpus`).toBeDefined();
    expect(unb64(r.value)).toEqual(sample.value);
    expect(r.headers.map(([k, v]) => [k, unb64(v)])).toEqual(Object.entries(sample.headers));
  }
}

describe('cross-client, byte for byte', () => {
  let broker: EmbeddedKafkaBroker;
  let kafka: Kafka;
  let bootstrap: string;

  beforeAll(async () => {
    broker = await EmbeddedKafkaBroker.start({ logger: silentLogger, defaultPartitions: 2 });
    bootstrap = broker.brokers[0];
    kafka = kafkajs(broker.brokers);
  });

  afterAll(async () => {
    await broker?.stop();
  });

  describe('kafkajs produces; kcat, kafka-python and confluent-kafka-python read', () => {
    beforeAll(async () => {
      const producer = kafka.producer();
      await producer.connect();
      await producer.send({
        topic: 'from-kafkajs',
        acks: -1,
        messages: corpus.map((s, i) => ({ key: s.key, value: s.value, headers: s.headers, partition: i % 2 })),
      });
      await producer.disconnect();
    });

    it('kcat', async () => {
      const records = parseKcatExact(await kcat(['-b', bootstrap, '-C', '-t', 'from-kafkajs', '-e', '-f', KCAT_EXACT_FORMAT]));
      expect(records).toHaveLength(corpus.length);
      for (const r of records) {
        const sample = sampleFor(r.key);
        expect(r.value).toEqual(sample.value);
        expect(r.partition).toBe(corpus.indexOf(sample) % 2);
      }
      // kcat prints header values as text; check the printable ones.
      expect(records.find((r) => r.key?.toString() === 'tombstone')!.headers).toBe('reason=deleted');
    });

    it('kafka-python', async () => {
      const { records } = await python<PythonConsumeResult>('kafka_python', { op: 'consume', bootstrap, topic: 'from-kafkajs', group: null, count: corpus.length });
      expectWireRecordsMatch(records);
    });

    it('confluent-kafka-python', async () => {
      const { records } = await python<PythonConsumeResult>('confluent', { op: 'consume', bootstrap, topic: 'from-kafkajs', group: 'xc-confluent', count: corpus.length, commit: false });
      expectWireRecordsMatch(records);
    });
  });

  describe('each client produces; kafkajs reads', () => {
    const wireCorpus = corpus.map((s) => ({ key: b64(s.key), value: b64(s.value), headers: Object.entries(s.headers).map(([k, v]) => [k, b64(v)]) }));

    async function expectKafkajsReadsCorpus(topic: string, samples = corpus): Promise<void> {
      const read = await kafkajsRead(kafka, topic, samples.length);
      expect(read).toHaveLength(samples.length);
      for (const r of read) {
        const sample = sampleFor(r.key);
        expect(r.value).toEqual(sample.value);
        expect(r.headers).toEqual(sample.headers);
      }
    }

    it('kcat (each file one record, with a key and headers)', async () => {
      // kcat sends every file named on the command line as one record, bytes untouched; -k and -H apply to all.
      // (It skips an empty file without a word, so the empty value is covered by the other producers.)
      const dir = await mkdtemp(join(tmpdir(), 'kafka-nest-compat-'));
      try {
        const files = await Promise.all(
          [allBytes, randomBytes(1024), Buffer.from('\n\n')].map(async (bytes, i) => {
            const file = join(dir, `record-${i}.bin`);
            await writeFile(file, bytes);
            return { file, bytes };
          }),
        );
        await kcat(['-b', bootstrap, '-P', '-t', 'from-kcat', '-p', '0', '-k', 'kcat-key', '-H', 'origin=kcat', ...files.map((f) => f.file)]);

        const read = await kafkajsRead(kafka, 'from-kcat', files.length);
        expect(read.map((r) => r.value)).toEqual(files.map((f) => f.bytes));
        for (const r of read) {
          expect(r.key?.toString()).toBe('kcat-key');
          expect(r.headers.origin?.toString()).toBe('kcat');
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('kafka-python (a record needs a key or a value, so the tombstone keeps its key)', async () => {
      await python<PythonProduceResult>('kafka_python', { op: 'produce', bootstrap, topic: 'from-kafka-python', records: wireCorpus });
      await expectKafkajsReadsCorpus('from-kafka-python');
    });

    it('confluent-kafka-python', async () => {
      await python<PythonProduceResult>('confluent', { op: 'produce', bootstrap, topic: 'from-confluent', records: wireCorpus });
      await expectKafkajsReadsCorpus('from-confluent');
    });
  });

  describe.each(['gzip', 'snappy', 'lz4', 'zstd'])('a batch compressed with %s by librdkafka', (codec) => {
    const topic = `compressed-${codec}`;
    const records = Array.from({ length: 50 }, (_, i) => ({ key: b64(`k-${i}`), value: b64(`${codec} record ${i} `.repeat(20)), headers: [] }));

    beforeAll(async () => {
      await python<PythonProduceResult>('confluent', {
        op: 'produce',
        bootstrap,
        topic,
        records: records.map((r) => ({ ...r, partition: 0 })),
        config: { 'compression.type': codec, 'linger.ms': 50 },
      });
    });

    it('passes through the broker and reads back exactly with confluent-kafka-python and kcat', async () => {
      const viaConfluent = await python<PythonConsumeResult>('confluent', { op: 'consume', bootstrap, topic, group: `xc-${codec}`, count: records.length, commit: false });
      expect(viaConfluent.records.map((r) => [r.offset, r.key, r.value])).toEqual(records.map((r, i) => [i, r.key, r.value]));

      const viaKcat = parseKcatExact(await kcat(['-b', bootstrap, '-C', '-t', topic, '-e', '-f', KCAT_EXACT_FORMAT]));
      expect(viaKcat.map((r) => [r.offset, b64(r.key), b64(r.value)])).toEqual(records.map((r, i) => [i, r.key, r.value]));
    });
  });
});
