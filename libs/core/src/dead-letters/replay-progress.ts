/**
 * The replay group's progress on one DLT partition, as it is committed: the offset (every record before it
 * was replayed or parked) plus, in the commit's metadata, the offsets after it that were handled too, by a
 * run whose filter left an earlier record pending. The metadata reads `kafka-nest-replay/1 done=12-15,18`.
 */

const PREFIX = 'kafka-nest-replay/1 done=';
/** Kafka's `offset.metadata.max.bytes` default is 4096; stay under it. */
export const MAX_PROGRESS_METADATA = 4000;

export class ReplayProgress {
  /** Offsets above `position` already handled. */
  private readonly done = new Set<number>();

  /** @param position next offset not known to be handled (every record before it was) */
  constructor(public position: number) {}

  /** Reads a committed offset (-1: none, start at `start`) and its metadata. */
  static fromCommit(offset: number, metadata: string | undefined, start: number): ReplayProgress {
    const progress = new ReplayProgress(offset >= 0 ? offset : start);
    if (metadata?.startsWith(PREFIX)) {
      for (const part of metadata.slice(PREFIX.length).split(',')) {
        const m = /^(\d+)(?:-(\d+))?$/.exec(part);
        if (!m) continue;
        const from = Number(m[1]);
        const to = m[2] === undefined ? from : Number(m[2]);
        for (let o = from; o <= to && o - from < 1_000_000; o++) if (o >= progress.position) progress.done.add(o);
      }
    }
    return progress;
  }

  isDone(offset: number): boolean {
    return offset < this.position || this.done.has(offset);
  }

  /**
   * Marks `offset` handled. With `contiguous` (no record before it is left pending in this run), the position
   * moves past it and past the handled offsets that follow.
   */
  markDone(offset: number, contiguous: boolean): void {
    if (offset < this.position) return;
    if (contiguous && offset === this.position) {
      this.done.delete(offset);
      this.position++;
      while (this.done.delete(this.position)) this.position++;
    } else {
      this.done.add(offset);
    }
  }

  /** The commit metadata: '' when nothing above the position is handled. */
  metadata(): string {
    if (this.done.size === 0) return '';
    const sorted = [...this.done].sort((a, b) => a - b);
    const ranges: string[] = [];
    for (let i = 0; i < sorted.length; ) {
      let j = i;
      while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
      ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
      i = j + 1;
    }
    return PREFIX + ranges.join(',');
  }

  /** Whether marking `offset` done (out of order) would still fit the metadata limit. */
  fitsWith(offset: number): boolean {
    if (this.done.has(offset)) return true;
    this.done.add(offset);
    const size = Buffer.byteLength(this.metadata());
    this.done.delete(offset);
    return size <= MAX_PROGRESS_METADATA;
  }
}
