/**
 * Writes Kafka protocol primitives. Small fields go into a growing scratch buffer; large payloads
 * (stored record batches) are appended by reference with `raw()`, so a Fetch response never copies the log.
 * See {@link Reader} for the classic and flexible encodings.
 */
export class Writer {
  private chunks: Buffer[] = [];
  private scratch: Buffer;
  private pos = 0;
  private flushedBytes = 0;

  constructor(
    public flexible = false,
    initial = 256,
  ) {
    this.scratch = Buffer.allocUnsafe(initial);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.flushedBytes + this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.scratch.length) return;
    this.flush();
    if (n > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(n, this.scratch.length * 2));
  }

  private flush(): void {
    if (this.pos === 0) return;
    this.chunks.push(this.scratch.subarray(0, this.pos));
    this.flushedBytes += this.pos;
    this.scratch = this.scratch.subarray(this.pos);
    if (this.scratch.length < 64) this.scratch = Buffer.allocUnsafe(1024);
    this.pos = 0;
  }

  int8(v: number): this {
    this.ensure(1);
    this.scratch.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }

  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }

  int16(v: number): this {
    this.ensure(2);
    this.scratch.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }

  int32(v: number): this {
    this.ensure(4);
    this.scratch.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  uint32(v: number): this {
    this.ensure(4);
    this.scratch.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }

  int64(v: number | bigint): this {
    this.ensure(8);
    this.scratch.writeBigInt64BE(BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }

  uvarint(v: number): this {
    this.ensure(5);
    while (v >= 0x80) {
      this.scratch[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.scratch[this.pos++] = v;
    return this;
  }

  varint(v: number): this {
    return this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  varlong(v: number | bigint): this {
    let z = BigInt(v);
    z = (z << 1n) ^ (z >> 63n);
    z = BigInt.asUintN(64, z);
    this.ensure(10);
    while (z >= 0x80n) {
      this.scratch[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.scratch[this.pos++] = Number(z);
    return this;
  }

  private prefix(len: number, wide: boolean): this {
    if (this.flexible) return this.uvarint(len + 1);
    return wide ? this.int32(len) : this.int16(len);
  }

  nullableString(s: string | null | undefined): this {
    if (s === null || s === undefined) return this.prefix(-1, false);
    const len = Buffer.byteLength(s);
    this.prefix(len, false);
    this.ensure(len);
    this.scratch.write(s, this.pos, 'utf8');
    this.pos += len;
    return this;
  }

  string(s: string): this {
    return this.nullableString(s);
  }

  nullableBytes(b: Buffer | null | undefined): this {
    if (b === null || b === undefined) return this.prefix(-1, true);
    this.prefix(b.length, true);
    return this.raw(b);
  }

  bytes(b: Buffer): this {
    return this.nullableBytes(b);
  }

  /** Appends bytes as they are; buffers of 1 KiB or more are kept by reference, not copied. */
  raw(b: Buffer): this {
    if (b.length >= 1024) {
      this.flush();
      this.chunks.push(b);
      this.flushedBytes += b.length;
      return this;
    }
    this.ensure(b.length);
    b.copy(this.scratch, this.pos);
    this.pos += b.length;
    return this;
  }

  uuid(b: Buffer): this {
    return this.raw(b);
  }

  nullableArray<T>(items: readonly T[] | null | undefined, item: (w: Writer, v: T) => void): this {
    if (items === null || items === undefined) return this.prefix(-1, true);
    this.prefix(items.length, true);
    for (const v of items) item(this, v);
    return this;
  }

  array<T>(items: readonly T[], item: (w: Writer, v: T) => void): this {
    return this.nullableArray(items, item);
  }

  /** An empty tagged-field section, closing a struct in flexible versions. */
  tags(): this {
    return this.flexible ? this.uvarint(0) : this;
  }

  /** The written bytes as a list of buffers, for a vectored socket write. */
  toChunks(): Buffer[] {
    this.flush();
    return this.chunks;
  }

  toBuffer(): Buffer {
    const chunks = this.toChunks();
    return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, this.flushedBytes);
  }
}
