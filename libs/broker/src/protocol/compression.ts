/**
 * Bounded decompression of a record batch's body, for the four codecs a RecordBatch v2 may name in its
 * attributes (bits 0-2): gzip (1), snappy (2), lz4 (3), zstd (4). Every codec stops with
 * {@link DecompressionError} (`tooLarge`) as soon as its output would pass `limit` bytes, so a small
 * batch that inflates to gigabytes (a "compression bomb") costs at most `limit` bytes of memory and the
 * time to produce them; bytes that are not valid for the codec stop it with `tooLarge` false.
 *
 * - gzip: Node's zlib with `maxOutputLength`.
 * - snappy: raw snappy (what librdkafka and kafkajs write) or xerial's framing (what the Java client
 *   writes: the magic `\x82SNAPPY\0`, two int32 versions, then blocks each prefixed by its int32 size).
 *   Each raw block states its decompressed size first, so it is checked before the `snappy` package
 *   (napi-rs) decodes it.
 * - lz4: the LZ4 frame format (magic 0x184D2204), as Kafka uses since magic v1. The frame and its blocks
 *   are read here, by a small decoder that writes into an output that grows up to `limit`: the published
 *   LZ4 packages decode without an output bound. The header, block and content checksums (xxHash32) are
 *   verified when the frame has them, since the decoders clients use verify them and would fail on the batch.
 * - zstd: `fzstd` (pure JS) streaming block by block, each frame on its own; every frame's header is read
 *   first and a window larger than `limit` is refused before the decoder allocates it. A frame's content
 *   size and content checksum (xxHash64), when present, are verified, as libzstd does.
 *
 * The checksums come from `xxhash-wasm`, loaded once by {@link loadCodecChecksums} (the broker's start does).
 */
import { gunzipSync } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import { uncompressSync as snappyUncompress } from 'snappy';
import xxhash from 'xxhash-wasm';

type Hasher = Awaited<ReturnType<typeof xxhash>>;
let hasher: Hasher | null = null;

/** Loads the xxHash functions the lz4 and zstd checks need; the broker's start awaits it. */
export async function loadCodecChecksums(): Promise<void> {
  hasher ??= await xxhash();
}

function xxh(): Hasher {
  if (!hasher) throw new Error('codec checksums are not loaded: await loadCodecChecksums() first (EmbeddedKafkaBroker.start does)');
  return hasher;
}

export enum Compression {
  None = 0,
  Gzip = 1,
  Snappy = 2,
  Lz4 = 3,
  Zstd = 4,
}

/** The codec's name as Kafka's `compression.type` spells it. */
export const CODEC_NAMES: readonly string[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

/** A body that does not decompress, or whose output would pass the limit (`tooLarge`). */
export class DecompressionError extends Error {
  override readonly name = 'DecompressionError';
  constructor(
    message: string,
    readonly tooLarge: boolean,
  ) {
    super(message);
  }
}

/** Decompresses `body` written with `codec`, producing at most `limit` bytes; throws {@link DecompressionError}. */
export function decompress(codec: Compression, body: Buffer, limit: number): Buffer {
  const name = CODEC_NAMES[codec] ?? String(codec);
  try {
    switch (codec) {
      case Compression.None:
        return body;
      case Compression.Gzip:
        return gunzip(body, limit);
      case Compression.Snappy:
        return snappy(body, limit);
      case Compression.Lz4:
        return lz4Frame(body, limit);
      case Compression.Zstd:
        return zstd(body, limit);
      default:
        throw new DecompressionError(`unknown compression type id ${codec}`, false);
    }
  } catch (err) {
    if (err instanceof DecompressionError) {
      throw err.tooLarge ? err : new DecompressionError(`${name} body does not decompress: ${err.message}`, false);
    }
    throw new DecompressionError(`${name} body does not decompress: ${(err as Error)?.message ?? err}`, false);
  }
}

function tooLarge(limit: number): DecompressionError {
  return new DecompressionError(`decompressed batch would exceed ${limit} bytes (maxDecompressedBatchBytes)`, true);
}

function gunzip(body: Buffer, limit: number): Buffer {
  try {
    return gunzipSync(body, { maxOutputLength: limit });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw err;
  }
}

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic (8 bytes), version and compatible version (int32 each). */
const XERIAL_HEADER_SIZE = 16;

function snappy(body: Buffer, limit: number): Buffer {
  if (body.length < XERIAL_HEADER_SIZE || !body.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC)) return snappyBlock(body, limit);
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < body.length) {
    if (pos + 4 > body.length) throw new DecompressionError('xerial snappy block size truncated', false);
    const size = body.readInt32BE(pos);
    pos += 4;
    if (size < 0 || pos + size > body.length) throw new DecompressionError(`xerial snappy block of ${size} bytes does not fit the body`, false);
    const block = snappyBlock(body.subarray(pos, pos + size), limit, total);
    total += block.length;
    blocks.push(block);
    pos += size;
  }
  return Buffer.concat(blocks, total);
}

/** One raw snappy block: its decompressed length (a varint) is checked against the limit before decoding. */
function snappyBlock(block: Buffer, limit: number, before = 0): Buffer {
  let length = 0;
  for (let i = 0, shift = 0; ; i++, shift += 7) {
    if (i >= block.length || i >= 5) throw new DecompressionError('snappy block length preamble is malformed', false);
    length += (block[i] & 0x7f) * 2 ** shift;
    if ((block[i] & 0x80) === 0) break;
  }
  if (before + length > limit) throw tooLarge(limit);
  return snappyUncompress(block, { asBuffer: true }) as Buffer;
}

/** An output buffer that grows by doubling, never past `limit`. */
class BoundedOutput {
  buf: Buffer;
  length = 0;
  constructor(private readonly limit: number) {
    this.buf = Buffer.allocUnsafe(Math.min(limit, 64 * 1024));
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.length + n;
    if (need > this.limit) throw tooLarge(this.limit);
    if (need <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.min(this.limit, Math.max(need, this.buf.length * 2)));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;

/**
 * LZ4 frame format: magic (LE uint32), FLG (version 01, block independence, block checksum, content size,
 * content checksum, dict id), BD (block max size 64 KiB..4 MiB), [content size: 8][dict id: 4], header
 * checksum: 1; then blocks (LE uint32 size, high bit set for an uncompressed block, 0 ends the frame),
 * each followed by a 4-byte checksum when FLG says so; then a 4-byte content checksum when FLG says so.
 * Several frames may follow one another.
 */
function lz4Frame(body: Buffer, limit: number): Buffer {
  const out = new BoundedOutput(limit);
  let pos = 0;
  const need = (n: number, what: string) => {
    if (pos + n > body.length) throw new DecompressionError(`lz4 frame truncated in its ${what}`, false);
  };
  while (pos < body.length) {
    need(4, 'magic');
    const magic = body.readUInt32LE(pos);
    pos += 4;
    if (((magic & LZ4_SKIPPABLE_MASK) >>> 0) === LZ4_SKIPPABLE_MAGIC) {
      need(4, 'skippable frame size');
      pos += 4 + body.readUInt32LE(pos);
      continue;
    }
    if (magic !== LZ4_MAGIC) throw new DecompressionError(`lz4 frame magic 0x${magic.toString(16)} is not 0x184d2204`, false);
    const frameStart = out.length;
    need(2, 'header');
    const descriptorStart = pos;
    const flg = body[pos];
    const bd = body[pos + 1];
    pos += 2;
    if (flg >> 6 !== 1) throw new DecompressionError(`lz4 frame version ${flg >> 6} is not supported`, false);
    if ((flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw new DecompressionError('lz4 frame descriptor has reserved bits set', false);
    const blockChecksum = (flg & 0x10) !== 0;
    const hasContentSize = (flg & 0x08) !== 0;
    const contentChecksum = (flg & 0x04) !== 0;
    if ((flg & 0x01) !== 0) throw new DecompressionError('lz4 frame names a dictionary; Kafka clients write none', false);
    const blockMax = [0, 0, 0, 0, 64 << 10, 256 << 10, 1 << 20, 4 << 20][(bd >> 4) & 7];
    if (!blockMax) throw new DecompressionError(`lz4 block max size code ${(bd >> 4) & 7} is invalid`, false);
    need(hasContentSize ? 9 : 1, 'header');
    const contentSize = hasContentSize ? Number(body.readBigUInt64LE(pos)) : -1;
    if (contentSize > limit) throw tooLarge(limit);
    pos += hasContentSize ? 8 : 0;
    if (((xxh().h32Raw(body.subarray(descriptorStart, pos), 0) >>> 8) & 0xff) !== body[pos]) {
      throw new DecompressionError('lz4 frame header checksum does not match', false);
    }
    pos += 1;
    for (;;) {
      need(4, 'block size');
      const word = body.readUInt32LE(pos);
      pos += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      if (size > blockMax) throw new DecompressionError(`lz4 block of ${size} bytes is over the frame's block max ${blockMax}`, false);
      need(size + (blockChecksum ? 4 : 0), 'block');
      if (blockChecksum && xxh().h32Raw(body.subarray(pos, pos + size), 0) >>> 0 !== body.readUInt32LE(pos + size)) {
        throw new DecompressionError('lz4 block checksum does not match', false);
      }
      if (word & 0x80000000) {
        out.reserve(size);
        body.copy(out.buf, out.length, pos, pos + size);
        out.length += size;
      } else {
        lz4Block(body, pos, pos + size, out, blockMax);
      }
      pos += size + (blockChecksum ? 4 : 0);
    }
    if (hasContentSize && out.length - frameStart !== contentSize) {
      throw new DecompressionError(`lz4 frame declares ${contentSize} bytes of content but holds ${out.length - frameStart}`, false);
    }
    if (contentChecksum) {
      need(4, 'content checksum');
      if (xxh().h32Raw(out.buf.subarray(frameStart, out.length), 0) >>> 0 !== body.readUInt32LE(pos)) {
        throw new DecompressionError('lz4 content checksum does not match', false);
      }
      pos += 4;
    }
  }
  return out.result();
}

/**
 * One LZ4 block: sequences of a token (literal length : 4 | match length - 4 : 4), extra literal-length
 * bytes while 255, the literals, a LE uint16 match offset, extra match-length bytes while 255. The last
 * sequence has literals only. A match may reach back into earlier blocks (linked blocks) and overlap itself.
 */
function lz4Block(src: Buffer, start: number, end: number, out: BoundedOutput, blockMax: number): void {
  const blockStart = out.length;
  let s = start;
  const corrupt = (what: string) => new DecompressionError(`lz4 block is corrupt: ${what}`, false);
  const extra = (n: number) => {
    let b = 255;
    while (b === 255) {
      if (s >= end) throw corrupt('length runs past the block');
      b = src[s++];
      n += b;
    }
    return n;
  };
  while (s < end) {
    const token = src[s++];
    let literals = token >> 4;
    if (literals === 15) literals = extra(literals);
    if (s + literals > end) throw corrupt('literals run past the block');
    if (out.length - blockStart + literals > blockMax) throw corrupt('block decodes past its max size');
    out.reserve(literals);
    src.copy(out.buf, out.length, s, s + literals);
    out.length += literals;
    s += literals;
    if (s === end) return;
    if (s + 2 > end) throw corrupt('match offset runs past the block');
    const offset = src[s] | (src[s + 1] << 8);
    s += 2;
    if (offset === 0 || offset > out.length) throw corrupt(`match offset ${offset} reaches before the output`);
    let match = token & 15;
    if (match === 15) match = extra(match);
    match += 4;
    if (out.length - blockStart + match > blockMax) throw corrupt('block decodes past its max size');
    out.reserve(match);
    const buf = out.buf;
    let from = out.length - offset;
    if (offset >= match) buf.copy(buf, out.length, from, from + match);
    else for (let i = 0; i < match; i++) buf[out.length + i] = buf[from++];
    out.length += match;
  }
}

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
/** Block_Maximum_Size: no block decodes to more. */
const ZSTD_BLOCK_MAX = 128 * 1024;
/** A window this large is accepted even under a smaller limit: compressors choose it without regard to the content. */
const ZSTD_WINDOW_FLOOR = 8 * 1024 * 1024;

/** Where one zstd frame lies in the body, and what its header promises. */
interface ZstdFrame {
  readonly start: number;
  readonly end: number;
  /** Frame_Content_Size, or -1 when the header does not give it. */
  readonly contentSize: number;
  readonly checksum: boolean;
}

/**
 * Walks zstd frames (header, block headers, checksum) without decoding: skippable frames are passed over, a
 * content size larger than `limit`, a window larger than `limit` (and 8 MiB), or blocks that could decode
 * to more than `limit` are refused before a decoder allocates or decodes anything, and a dictionary
 * (which no Kafka client uses) is refused.
 */
function zstdFrames(body: Buffer, limit: number): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  let pos = 0;
  let upperBound = 0;
  const need = (n: number) => {
    if (pos + n > body.length) throw new DecompressionError('zstd frame truncated', false);
  };
  while (pos < body.length) {
    const start = pos;
    need(4);
    const magic = body.readUInt32LE(pos);
    pos += 4;
    if (((magic & ZSTD_SKIPPABLE_MASK) >>> 0) === ZSTD_SKIPPABLE_MAGIC) {
      need(4);
      pos += 4 + body.readUInt32LE(pos);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new DecompressionError(`zstd frame magic 0x${magic.toString(16)} is not 0xfd2fb528`, false);
    need(1);
    const fhd = body[pos++];
    const singleSegment = (fhd >> 5) & 1;
    const checksum = ((fhd >> 2) & 1) === 1;
    if ((fhd & 0x08) !== 0) throw new DecompressionError('zstd frame header has its reserved bit set', false);
    if ((fhd & 3) !== 0) throw new DecompressionError('zstd frame names a dictionary; Kafka clients write none', false);
    const fcsBytes = [singleSegment, 2, 4, 8][fhd >> 6];
    let window = 0;
    if (!singleSegment) {
      need(1);
      const wd = body[pos++];
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    need(fcsBytes);
    const contentSize =
      fcsBytes === 0 ? -1 : fcsBytes === 1 ? body[pos] : fcsBytes === 2 ? body.readUInt16LE(pos) + 256 : fcsBytes === 4 ? body.readUInt32LE(pos) : Number(body.readBigUInt64LE(pos));
    pos += fcsBytes;
    if (singleSegment) window = contentSize; // the window is the content
    // The decoder allocates the window: at most the limit, or 8 MiB (what zstd's levels up to 19 use) if more.
    if (window > Math.max(limit, ZSTD_WINDOW_FLOOR) || contentSize > limit) throw tooLarge(limit);
    // The most this frame can decode to: raw and RLE blocks say their size, a compressed block gives at most
    // Block_Maximum_Size. Compressors fill every block but the last, so this is close to the real size, and a
    // bomb is refused here, without spending the time to decode it.
    const blockMax = Math.min(window || ZSTD_BLOCK_MAX, ZSTD_BLOCK_MAX);
    for (let last = 0; !last; ) {
      need(3);
      const header = body[pos] | (body[pos + 1] << 8) | (body[pos + 2] << 16);
      pos += 3;
      last = header & 1;
      const type = (header >> 1) & 3;
      if (type === 3) throw new DecompressionError('zstd block type 3 is reserved', false);
      const size = header >>> 3;
      upperBound += type === 2 ? blockMax : size;
      if (upperBound > limit) throw tooLarge(limit);
      pos += type === 1 ? 1 : size; // RLE: one byte repeated
    }
    pos += checksum ? 4 : 0;
    need(0);
    frames.push({ start, end: pos, contentSize, checksum });
  }
  return frames;
}

function zstd(body: Buffer, limit: number): Buffer {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (const frame of zstdFrames(body, limit)) {
    const frameChunks: Uint8Array[] = [];
    let frameBytes = 0;
    const decoder = new ZstdDecompress((chunk) => {
      total += chunk.length;
      frameBytes += chunk.length;
      if (total > limit) throw tooLarge(limit);
      frameChunks.push(chunk.slice()); // the decoder may reuse its block buffer
    });
    decoder.push(body.subarray(frame.start, frame.end), true);
    if (frame.contentSize >= 0 && frameBytes !== frame.contentSize) {
      throw new DecompressionError(`zstd frame declares ${frame.contentSize} bytes of content but holds ${frameBytes}`, false);
    }
    if (frame.checksum) {
      const content = Buffer.concat(frameChunks, frameBytes);
      const expected = body.readUInt32LE(frame.end - 4);
      if (Number(xxh().h64Raw(content, 0n) & 0xffffffffn) !== expected) throw new DecompressionError('zstd content checksum does not match', false);
    }
    chunks.push(...frameChunks);
  }
  return Buffer.concat(chunks, total);
}
