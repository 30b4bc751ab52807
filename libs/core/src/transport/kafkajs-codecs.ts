/**
 * Snappy, LZ4 and ZStandard for kafkajs, which ships gzip only: without these, a listener cannot read a
 * topic written by a Java or librdkafka producer with `compression.type` snappy, lz4 or zstd, and
 * `KafkaTemplate` cannot write one.
 *
 * - snappy: the `snappy` package (napi-rs, prebuilt). Writes raw snappy, as librdkafka and kafkajs-snappy
 *   do (every Kafka client reads it); reads raw snappy and xerial's framing, which the Java client writes
 *   (magic `\x82SNAPPY\0`, two int32 versions, then blocks each prefixed by its int32 size).
 * - lz4: `lz4-napi` (napi-rs, prebuilt), the LZ4 frame format Kafka uses.
 * - zstd: `@mongodb-js/zstd` (napi-rs, prebuilt).
 *
 * kafkajs keeps its codecs in one process-wide table; a codec the application registered itself is kept.
 */
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
// kafkajs is CommonJS and Node's ESM loader does not see these two among its named exports: take them from the module object.
import kafkajs from 'kafkajs';
import { compressFrame as lz4Compress, decompressFrame as lz4Decompress } from 'lz4-napi';
import { compress as snappyCompress, uncompress as snappyUncompress } from 'snappy';

const { CompressionCodecs, CompressionTypes } = kafkajs;

/** What kafkajs asks of a codec: `encoder.buffer` holds the records to compress. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

async function snappyDecompress(buffer: Buffer): Promise<Buffer> {
  const raw = (b: Buffer) => snappyUncompress(b, { asBuffer: true }) as Promise<Buffer>;
  if (buffer.length < XERIAL_HEADER_SIZE || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return raw(buffer);
  const blocks: Buffer[] = [];
  for (let pos = XERIAL_HEADER_SIZE; pos < buffer.length; ) {
    const size = buffer.readInt32BE(pos);
    pos += 4;
    if (size < 0 || pos + size > buffer.length) throw new Error(`xerial snappy block of ${size} bytes does not fit the ${buffer.length}-byte body`);
    blocks.push(await raw(buffer.subarray(pos, pos + size)));
    pos += size;
  }
  return Buffer.concat(blocks);
}

/** Level 3, zstd's own default and what librdkafka and the Java client use unless told otherwise. */
const ZSTD_LEVEL = 3;

const CODECS: Record<number, KafkajsCodec> = {
  [CompressionTypes.Snappy]: {
    compress: (encoder) => snappyCompress(encoder.buffer),
    decompress: snappyDecompress,
  },
  [CompressionTypes.LZ4]: {
    compress: (encoder) => lz4Compress(encoder.buffer),
    decompress: (buffer) => lz4Decompress(buffer),
  },
  [CompressionTypes.ZSTD]: {
    compress: (encoder) => zstdCompress(encoder.buffer, ZSTD_LEVEL),
    decompress: (buffer) => zstdDecompress(buffer),
  },
};

/** True while kafkajs's table holds its own placeholder, which throws "not implemented" when looked up. */
function isPlaceholder(type: keyof typeof CompressionCodecs): boolean {
  try {
    CompressionCodecs[type]();
    return false;
  } catch (err) {
    return (err as Error)?.name === 'KafkaJSNotImplemented';
  }
}

let registered = false;

/** Puts the snappy, lz4 and zstd codecs into kafkajs's table, once, leaving any the application registered. */
export function registerKafkajsCodecs(): void {
  if (registered) return;
  registered = true;
  for (const [type, codec] of Object.entries(CODECS)) {
    const t = Number(type) as keyof typeof CompressionCodecs;
    if (isPlaceholder(t)) CompressionCodecs[t] = () => codec;
  }
}

/** Codec names, as Kafka's `compression.type` spells them, to kafkajs's ids. */
export const COMPRESSION_TYPES = {
  none: CompressionTypes.None,
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
} as const;
