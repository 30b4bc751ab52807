/**
 * What reading every produced batch costs the broker, per codec: the broker's bounded decoders
 * (libs/broker/src/protocol/compression.ts) against the native decoders the kafkajs side uses, on the same
 * bodies, and the whole produce-time check (decompress and walk the records) against the header-and-CRC
 * split that came before it, the baseline of the same run.
 *
 *   npm run bench:codecs          (RUNS=7 RECORDS=1000 VALUE_BYTES=500 to change the defaults)
 *
 * Each figure is the median of RUNS runs of a loop of at least 200 ms; MB/s count decompressed bytes.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { gunzipSync, gzipSync } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrameSync as lz4Compress, decompressFrameSync as lz4Decompress } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';
import { validateBatchRecords } from '../libs/broker/src/protocol/batch-validator.js';
import { Compression, decompress, loadCodecChecksums } from '../libs/broker/src/protocol/compression.js';
import { splitBatches } from '../libs/broker/src/protocol/record-batch.js';
import { encodeBatch } from '../test/broker/support/record-batch.js';

const RUNS = Number(process.env.RUNS ?? 7);
const RECORDS = Number(process.env.RECORDS ?? 1000);
const VALUE_BYTES = Number(process.env.VALUE_BYTES ?? 500);
const LIMIT = 64 * 1024 * 1024;

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median ms per call of `fn`. */
async function time(fn: () => unknown | Promise<unknown>): Promise<number> {
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < 200) {
      await fn();
      n++;
    }
    runs.push((performance.now() - t0) / n);
  }
  return median(runs);
}

await loadCodecChecksums();
// JSON-like values: compressible, as real payloads are
const words = Array.from({ length: 200 }, () => randomBytes(3 + (randomBytes(1)[0] % 6)).toString('hex'));
const value = (i: number) => JSON.stringify({ id: i, text: Array.from({ length: VALUE_BYTES / 8 }, (_, j) => words[(i * 7 + j * 13) % words.length]).join(' ') }).slice(0, VALUE_BYTES);
const records = Array.from({ length: RECORDS }, (_, i) => ({ key: `key-${i}`, value: value(i) }));
const plain = encodeBatch(records).subarray(61);

const codecs: { name: string; codec: Compression; body: Buffer; native: (b: Buffer) => unknown }[] = [
  { name: 'gzip', codec: Compression.Gzip, body: gzipSync(plain), native: (b) => gunzipSync(b) },
  { name: 'snappy', codec: Compression.Snappy, body: snappyCompress(plain), native: (b) => snappyUncompress(b) },
  { name: 'lz4', codec: Compression.Lz4, body: lz4Compress(plain), native: (b) => lz4Decompress(b) },
  { name: 'zstd', codec: Compression.Zstd, body: await zstdCompress(plain, 3), native: (b) => zstdDecompress(b) },
];

const mb = plain.length / 1e6;
console.log(`batch of ${RECORDS} records of ${VALUE_BYTES} B: ${plain.length} bytes uncompressed; medians of ${RUNS} runs`);
console.log('codec    compressed   broker decoder     native decoder     produce check (decode + records)   vs header+CRC only');
const none = encodeBatch(records);
const baseline = await time(() => splitBatches(none));
console.log(`none     ${String(plain.length).padStart(10)}   ${'-'.padStart(16)}   ${'-'.padStart(16)}   ${(await time(() => validateBatchRecords(splitBatches(none)[0].header, none, LIMIT))).toFixed(3).padStart(8)} ms   baseline ${baseline.toFixed(3)} ms`);
for (const c of codecs) {
  const batch = encodeBatch(records, { codec: c.codec, body: c.body });
  const [{ header }] = splitBatches(batch);
  const split = await time(() => splitBatches(batch));
  const ours = await time(() => decompress(c.codec, c.body, LIMIT));
  const native = await time(() => c.native(c.body));
  const check = await time(() => validateBatchRecords(header, batch, LIMIT));
  console.log(
    `${c.name.padEnd(8)} ${String(c.body.length).padStart(10)}   ${(mb / (ours / 1000)).toFixed(0).padStart(10)} MB/s   ${(mb / (native / 1000)).toFixed(0).padStart(10)} MB/s   ` +
      `${check.toFixed(3).padStart(8)} ms   ${(check / split).toFixed(1)}x the ${split.toFixed(3)} ms split`,
  );
}
