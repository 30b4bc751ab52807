/**
 * The broker's bounded decompression of each codec: bodies written by the codec libraries clients use
 * decompress to what was compressed; a body that would inflate past the bound stops there; bytes that are
 * not the codec's are refused as corrupt.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from '@mongodb-js/zstd';
import { compressFrameSync as lz4Compress, decompressFrameSync as lz4Decompress } from 'lz4-napi';
import xxhash from 'xxhash-wasm';
import { compressSync as snappyCompress } from 'snappy';
import { beforeAll, describe, expect, it } from 'vitest';
import { Compression, DecompressionError, decompress, loadCodecChecksums } from '../../libs/broker/src/protocol/compression.js';

/** Compressible but not trivial: random words repeated, so every codec emits literals and matches. */
function sample(bytes: number): Buffer {
  const words = Array.from({ length: 64 }, () => randomBytes(1 + Math.floor(Math.random() * 12)).toString('hex'));
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const w = words[Math.floor(Math.random() * words.length)];
    parts.push(w);
    size += w.length + 1;
  }
  return Buffer.from(parts.join(' ')).subarray(0, bytes);
}

/** xerial's snappy framing, as the Java client writes it: magic, two versions, then size-prefixed raw blocks. */
function xerialFrame(data: Buffer, blockSize = 32 * 1024): Buffer {
  const parts: Buffer[] = [Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1])];
  for (let i = 0; i < data.length; i += blockSize) {
    const block = snappyCompress(data.subarray(i, i + blockSize));
    const size = Buffer.alloc(4);
    size.writeInt32BE(block.length);
    parts.push(size, block);
  }
  return Buffer.concat(parts);
}

const compressors: Record<string, { codec: Compression; compress: (b: Buffer) => Promise<Buffer> | Buffer }> = {
  gzip: { codec: Compression.Gzip, compress: (b) => gzipSync(b) },
  'snappy (raw)': { codec: Compression.Snappy, compress: (b) => snappyCompress(b) },
  'snappy (xerial framing)': { codec: Compression.Snappy, compress: (b) => xerialFrame(b) },
  'lz4 (frame)': { codec: Compression.Lz4, compress: (b) => lz4Compress(b) },
  zstd: { codec: Compression.Zstd, compress: (b) => zstdCompress(b, 3) },
};

describe('bounded decompression', () => {
  beforeAll(() => loadCodecChecksums());

  for (const [name, { codec, compress }] of Object.entries(compressors)) {
    it(`${name}: small and multi-block bodies round-trip`, async () => {
      for (const size of [0, 1, 100, 70_000, 5 * 1024 * 1024 + 17]) {
        const data = sample(size);
        const out = decompress(codec, await compress(data), 64 * 1024 * 1024);
        expect(out.equals(data), `${name} ${size} bytes`).toBe(true);
      }
    });

    it(`${name}: a body inflating past the limit stops at the limit`, async () => {
      const bomb = await compress(Buffer.alloc(32 * 1024 * 1024));
      expect(bomb.length).toBeLessThan(2 * 1024 * 1024);
      let error: unknown;
      try {
        decompress(codec, bomb, 1024 * 1024);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DecompressionError);
      expect((error as DecompressionError).tooLarge).toBe(true);
      expect((error as Error).message).toMatch(/exceed 1048576 bytes \(maxDecompressedBatchBytes\)/);
    });

    it(`${name}: bytes that are not the codec's are refused as corrupt`, async () => {
      const good = await compress(sample(10_000));
      const garbage = Buffer.from(good);
      for (let i = Math.floor(garbage.length / 3); i < garbage.length; i += 7) garbage[i] ^= 0x5a;
      for (const bad of [randomBytes(300), garbage, good.subarray(0, Math.floor(good.length / 2))]) {
        let error: unknown;
        try {
          const out = decompress(codec, bad, 64 * 1024 * 1024);
          // a codec without checksums may decode flipped literals: the output then differs, and the records'
          // parse catches it; what must never happen is an unbounded or crashing decode
          expect(out.length).toBeLessThanOrEqual(64 * 1024 * 1024);
          continue;
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(DecompressionError);
      }
    });
  }

  /** Whether a decoder accepts the bytes, for comparing the broker's verdict with a client's. */
  const accepts = async (decode: () => unknown) => {
    try {
      await decode();
      return true;
    } catch {
      return false;
    }
  };

  it('lz4: verifies header and content checksums, agreeing with the decoder clients use', async () => {
    const { h32Raw } = await xxhash();
    const data = sample(100_000);
    const frame = lz4Compress(data); // magic, FLG, BD, HC, blocks, end mark
    // Turn the content checksum on: FLG bit 2, the header checksum recomputed, the checksum appended.
    const withChecksum = Buffer.concat([frame, Buffer.alloc(4)]);
    withChecksum[4] |= 0x04;
    withChecksum[6] = (h32Raw(withChecksum.subarray(4, 6), 0) >>> 8) & 0xff;
    withChecksum.writeUInt32LE(h32Raw(data, 0) >>> 0, withChecksum.length - 4);
    expect(decompress(Compression.Lz4, withChecksum, 1 << 20).equals(data)).toBe(true);
    expect(await accepts(() => lz4Decompress(withChecksum))).toBe(true);

    const badContent = Buffer.from(withChecksum);
    badContent[badContent.length - 1] ^= 1;
    const badHeader = Buffer.from(frame);
    badHeader[6] ^= 1;
    for (const bad of [badContent, badHeader]) {
      expect(() => decompress(Compression.Lz4, bad, 1 << 20)).toThrow(/checksum does not match/);
      expect(await accepts(() => lz4Decompress(bad))).toBe(false);
    }
  });

  it('zstd: verifies the content checksum, agreeing with libzstd', async () => {
    const { h64Raw } = await xxhash();
    const data = sample(300_000);
    const frame = await zstdCompress(data, 3);
    expect(frame[4] & 0x04).toBe(0); // libzstd's default: no checksum
    const withChecksum = Buffer.concat([frame, Buffer.alloc(4)]);
    withChecksum[4] |= 0x04;
    withChecksum.writeUInt32LE(Number(h64Raw(data, 0n) & 0xffffffffn), withChecksum.length - 4);
    expect(decompress(Compression.Zstd, withChecksum, 1 << 20).equals(data)).toBe(true);
    expect(await accepts(() => zstdDecompress(withChecksum))).toBe(true);

    const bad = Buffer.from(withChecksum);
    bad[bad.length - 2] ^= 0x10;
    expect(() => decompress(Compression.Zstd, bad, 1 << 20)).toThrow(/zstd content checksum does not match/);
    expect(await accepts(() => zstdDecompress(bad))).toBe(false);
  });

  it('refuses an unknown codec id', () => {
    expect(() => decompress(5 as Compression, Buffer.alloc(10), 1000)).toThrow(/unknown compression type id 5/);
  });
});
