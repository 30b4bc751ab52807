/** Parsers for kcat's consumer output: `-J` JSON lines, and a length-prefixed format that keeps bytes exact. */

/** One line of `kcat -C -J`. Key and payload are strings (kcat writes them as text). */
export interface KcatJsonRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly ts: number;
  readonly key: string | null;
  readonly payload: string | null;
  /** Alternating names and values, as kcat prints them; absent when the record has none. */
  readonly headers?: (string | null)[];
}

export function parseKcatJson(stdout: Buffer): KcatJsonRecord[] {
  return stdout
    .toString()
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => JSON.parse(line) as KcatJsonRecord);
}

/**
 * `-f` format for byte-exact reads: a text line with partition, offset, key length and value length (-1 for
 * null) and the headers as kcat prints them (`name=value,...`), then the raw key and value bytes.
 */
export const KCAT_EXACT_FORMAT = '%p %o %K %S %h\n%k%s';

export interface KcatExactRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Header text as kcat prints it: `name=value` pairs joined by commas; empty without headers. */
  readonly headers: string;
}

export function parseKcatExact(stdout: Buffer): KcatExactRecord[] {
  const records: KcatExactRecord[] = [];
  let pos = 0;
  while (pos < stdout.length) {
    const eol = stdout.indexOf(0x0a, pos);
    if (eol < 0) throw new Error(`truncated kcat output at byte ${pos}: ${stdout.subarray(pos).toString()}`);
    const line = stdout.subarray(pos, eol).toString();
    const m = /^(\d+) (\d+) (-1|\d+) (-1|\d+) ?(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected kcat record line '${line}'`);
    pos = eol + 1;
    const take = (length: number): Buffer | null => {
      if (length < 0) return null;
      const bytes = Buffer.from(stdout.subarray(pos, pos + length));
      pos += length;
      return bytes;
    };
    const key = take(Number(m[3]));
    const value = take(Number(m[4]));
    records.push({ partition: Number(m[1]), offset: Number(m[2]), key, value, headers: m[5] });
  }
  return records;
}
