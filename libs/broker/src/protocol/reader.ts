/**
 * Reads Kafka protocol primitives from a buffer.
 *
 * Kafka has two encodings of the same grammar: the classic one (INT16-length strings, INT32-length arrays)
 * and the "flexible" one introduced by KIP-482 (UNSIGNED_VARINT length + 1, tagged fields at the end of each
 * struct). A Reader is told which one its request uses, so a codec reads `string()` / `array()` once for
 * every version and the encoding follows the version.
 */
import { ProtocolError } from './protocol-error.js';

export class Reader {
  offset: number;

  constructor(
    readonly buf: Buffer,
    offset = 0,
    public flexible = false,
  ) {
    this.offset = offset;
  }

  get remaining(): number {
    return this.buf.length - this.offset;
  }

  private need(n: number, what: string): void {
    if (n < 0 || this.offset + n > this.buf.length) {
      throw new ProtocolError(`truncated ${what}: needs ${n} bytes at offset ${this.offset}, frame has ${this.buf.length}`);
    }
  }

  int8(): number {
    this.need(1, 'INT8');
    return this.buf.readInt8(this.offset++);
  }

  bool(): boolean {
    return this.int8() !== 0;
  }

  int16(): number {
    this.need(2, 'INT16');
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }

  int32(): number {
    this.need(4, 'INT32');
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  uint32(): number {
    this.need(4, 'UINT32');
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }

  /** INT64 as a JS number: offsets, timestamps and producer ids stay far below 2^53 in practice. */
  int64(): number {
    this.need(8, 'INT64');
    const v = this.buf.readBigInt64BE(this.offset);
    this.offset += 8;
    return Number(v);
  }

  /** UNSIGNED_VARINT: 7 bits a byte, least significant group first, at most 5 bytes for 32 bits. */
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      this.need(1, 'VARINT');
      const b = this.buf[this.offset++];
      value += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return value;
      shift += 7;
    }
    throw new ProtocolError(`malformed VARINT at offset ${this.offset}: more than 5 bytes`);
  }

  /** VARINT: zig-zag encoded signed 32-bit integer. */
  varint(): number {
    const u = this.uvarint();
    return u % 2 === 0 ? u / 2 : -(u + 1) / 2;
  }

  /** VARLONG: zig-zag encoded signed 64-bit integer (up to 10 bytes), returned as a JS number. */
  varlong(): number {
    let value = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      this.need(1, 'VARLONG');
      const b = this.buf[this.offset++];
      value |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return Number((value >> 1n) ^ -(value & 1n));
      shift += 7n;
    }
    throw new ProtocolError(`malformed VARLONG at offset ${this.offset}: more than 10 bytes`);
  }

  private length(what: string): number {
    return this.flexible ? this.uvarint() - 1 : what === 'array' || what === 'bytes' ? this.int32() : this.int16();
  }

  /** NULLABLE_STRING / COMPACT_NULLABLE_STRING. */
  nullableString(): string | null {
    const len = this.length('string');
    if (len < 0) return null;
    this.need(len, 'STRING');
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }

  /** STRING / COMPACT_STRING: null is a protocol error here. */
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new ProtocolError(`null STRING at offset ${this.offset} where a value is required`);
    return s;
  }

  /** NULLABLE_BYTES / COMPACT_NULLABLE_BYTES, as a view on the frame (no copy). */
  nullableBytes(): Buffer | null {
    const len = this.length('bytes');
    if (len < 0) return null;
    this.need(len, 'BYTES');
    const b = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return b;
  }

  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  /** Raw bytes of a known length (UUIDs, record payloads). */
  raw(len: number): Buffer {
    this.need(len, 'raw bytes');
    const b = this.buf.subarray(this.offset, this.offset + len);
    this.offset += len;
    return b;
  }

  uuid(): Buffer {
    return this.raw(16);
  }

  /** ARRAY / COMPACT_ARRAY; null arrays read as null. Element counts are bounded by the bytes left. */
  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const len = this.length('array');
    if (len < 0) return null;
    if (len > this.remaining) {
      throw new ProtocolError(`array of ${len} elements at offset ${this.offset} cannot fit in ${this.remaining} bytes`);
    }
    const out = new Array<T>(len);
    for (let i = 0; i < len; i++) out[i] = item(this);
    return out;
  }

  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }

  /** The tagged-field section closing every struct of a flexible version; its fields are skipped. */
  tags(): void {
    if (!this.flexible) return;
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      this.raw(this.uvarint());
    }
  }
}
