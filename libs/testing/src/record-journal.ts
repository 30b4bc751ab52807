/**
 * A durable journal of processed records: one JSON line per entry, written with `O_APPEND` and flushed to
 * disk (`fdatasync`) before `append` returns. A listener that appends a record before returning from its
 * handler leaves a trace that survives SIGKILL, so a test can compare what was processed with what the
 * broker says was committed. Several processes may append to one file: each line is one `write(2)` on an
 * `O_APPEND` descriptor, which the kernel does not interleave.
 */
import { closeSync, existsSync, fdatasyncSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
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

  /** Opens (creating) `path` for appending. */
  constructor(readonly path: string) {
    this.fd = openSync(path, 'a');
  }

  /** Writes one entry and flushes it to disk before returning; `at` is filled in when absent. */
  append(entry: JournalEntry): void {
    if (this.fd === undefined) throw new Error(`journal ${this.path} is closed; open a new RecordJournal to append`);
    const line = `${JSON.stringify({ at: performance.timeOrigin + performance.now(), ...entry })}\n`;
    writeSync(this.fd, line);
    fdatasyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }

  /**
   * Reads the entries of one journal file, or of every `*.jsonl` file of a directory. A torn last line (a
   * process killed in the middle of a write) is ignored: its record was not finished.
   */
  static read(path: string): JournalEntry[] {
    if (!existsSync(path)) return [];
    const files = path.endsWith('.jsonl') ? [path] : readdirSync(path).filter((f) => f.endsWith('.jsonl')).map((f) => join(path, f));
    const out: JournalEntry[] = [];
    for (const file of files) {
      for (const line of readFileSync(file, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          out.push(JSON.parse(line) as JournalEntry);
        } catch {
          // torn write of a killed process
        }
      }
    }
    return out;
  }
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
