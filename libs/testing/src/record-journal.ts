/**
 * A durable journal of processed records: one JSON line per entry, written with `O_APPEND` and flushed to
 * disk (`fdatasync`) before `append` returns. A listener that appends a record before returning from its
 * handler leaves a trace that survives SIGKILL, so a test can compare what was processed with what the
 * broker says was committed. Several processes may append to one file: each line is one `write(2)` on an
 * `O_APPEND` descriptor, which the kernel does not interleave (unless the kernel writes it short, which
 * for a regular file happens only when the disk is full; the rest is then written by a second call).
 */
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** One line of a journal. `topic`, `partition` and `offset` name the record; anything else is the writer's. */
export interface JournalEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** `'done'` (the default) when the handler finished the record; writers may journal `'start'` too. */
  readonly event?: 'start' | 'done';
  /** Who processed it (process, consumer...), free form. */
  readonly member?: string;
  /** `performance.timeOrigin + performance.now()` at the time of writing: comparable across processes. */
  readonly at?: number;
}

/** Appends entries durably to a file. Open one per process; close it on shutdown (or never: SIGKILL is fine). */
export class RecordJournal {
  private fd: number | undefined;

  /**
   * Opens (creating) `path` for appending. A torn last line, left by a process killed in the middle of a
   * write, is cut off first, so that the next entry starts a line of its own.
   */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a+');
    cutTornTail(this.fd);
  }

  /** Writes one entry and flushes it to disk before returning; `at` is filled in when absent. */
  append(entry: JournalEntry): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed; open a new RecordJournal to append`);
    const line = Buffer.from(`${JSON.stringify({ at: performance.timeOrigin + performance.now(), ...entry })}\n`);
    // A short write (disk full...) leaves the rest to write: the line is complete, or append throws.
    for (let written = 0; written < line.length; ) written += writeSync(this.fd, line, written, line.length - written);
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Reads the entries of one journal file, or of every `*.jsonl` file of a directory. A torn last line
   * (no newline yet: a process killed in the middle of a write, or a write under way) is ignored: its
   * record was not finished. Any other line that is not an entry throws, naming the file and the line.
   */
  static read(path: string): JournalEntry[] {
    if (!existsSync(path)) return [];
    const files = path.endsWith('.jsonl') ? [path] : readdirSync(path).filter((f) => f.endsWith('.jsonl')).map((f) => join(path, f));
    const out: JournalEntry[] = [];
    for (const file of files) {
      const lines = readFileSync(file, 'utf8').split('\n');
      lines.pop(); // '' after the last newline, or a torn line
      lines.forEach((line, i) => out.push(parseEntry(line, file, i + 1)));
    }
    return out;
  }
}

/** One complete journal line as an entry; throws with the file and line number if it is not one. */
function parseEntry(line: string, file: string, lineNumber: number): JournalEntry {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch (err) {
    throw new Error(`${file}:${lineNumber}: not a journal entry (${(err as Error).message}): ${JSON.stringify(line.slice(0, 200))}; only the last line of a journal may be torn`);
  }
  const e = entry as Partial<JournalEntry> | null;
  if (typeof e !== 'object' || e === null || typeof e.topic !== 'string' || !Number.isInteger(e.partition) || !Number.isInteger(e.offset)) {
    throw new Error(`${file}:${lineNumber}: not a journal entry (needs topic, partition and offset): ${JSON.stringify(line.slice(0, 200))}`);
  }
  return e as JournalEntry;
}

/** Truncates the file of `fd` after its last newline, dropping a torn last line. */
function cutTornTail(fd: number): void {
  const size = fstatSync(fd).size;
  const chunk = Buffer.alloc(4096);
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const n = readSync(fd, chunk, 0, end - start, start);
    const nl = chunk.subarray(0, n).lastIndexOf(0x0a);
    if (nl >= 0) {
      if (start + nl + 1 < size) ftruncateSync(fd, start + nl + 1);
      return;
    }
    end = start;
  }
  if (size > 0) ftruncateSync(fd, 0);
}

/** What a journal says about the records of one topic. */
export interface JournalSummary {
  /** Finished records, `partition:offset`, each once. */
  readonly processed: ReadonlySet<string>;
  /** How many times each finished record was finished, for those finished more than once. */
  readonly duplicates: ReadonlyMap<string, number>;
  /** Finishes beyond the first, in all. */
  readonly duplicateCount: number;
}

/** Key of a record in `JournalSummary` sets: `partition:offset`. */
export const recordKey = (partition: number, offset: number) => `${partition}:${offset}`;

/** Counts the `done` entries of `topic`: which records were processed, and which more than once. */
export function summarizeJournal(entries: readonly JournalEntry[], topic: string): JournalSummary {
  const counts = new Map<string, number>();
  for (const e of entries) {
    if (e.topic !== topic || (e.event ?? 'done') !== 'done') continue;
    const k = recordKey(e.partition, e.offset);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const duplicates = new Map([...counts].filter(([, n]) => n > 1));
  let duplicateCount = 0;
  for (const n of duplicates.values()) duplicateCount += n - 1;
  return { processed: new Set(counts.keys()), duplicates, duplicateCount };
}

/**
 * Records at or past the committed offsets that the journal says were processed: what a consumer taking
 * over now would process again. `committed` gives the next offset to read per partition (-1 or absent:
 * nothing committed, so everything processed counts).
 */
export function processedPastCommit(summary: JournalSummary, committed: ReadonlyMap<number, number>): string[] {
  const out: string[] = [];
  for (const k of summary.processed) {
    const [p, o] = k.split(':').map(Number);
    if (o >= (committed.get(p) ?? -1)) out.push(k);
  }
  return out;
}

/**
 * Offsets below the committed offset that the journal does not hold: records marked done that were never
 * processed. Must be empty for at-least-once processing.
 */
export function committedButUnprocessed(summary: JournalSummary, committed: ReadonlyMap<number, number>, logStart = 0): string[] {
  const out: string[] = [];
  for (const [p, c] of committed) {
    for (let o = logStart; o < c; o++) if (!summary.processed.has(recordKey(p, o))) out.push(recordKey(p, o));
  }
  return out;
}
