// The replay group's progress as committed: an offset, plus the handled offsets after it in the metadata.
import { describe, expect, it } from 'vitest';
import { MAX_PROGRESS_METADATA, ReplayProgress } from '../../../libs/core/src/dead-letters/replay-progress.js';

describe('ReplayProgress', () => {
  it('moves the position over contiguous records and keeps out-of-order ones in the metadata', () => {
    const p = ReplayProgress.fromCommit(-1, undefined, 5);
    expect(p.position).toBe(5);
    p.markDone(5, true);
    expect(p.position).toBe(6);
    expect(p.metadata()).toBe('');
    // 6 is left pending (not selected); 7, 8 and 10 are handled after it.
    for (const o of [7, 8, 10]) p.markDone(o, false);
    expect(p.position).toBe(6);
    expect(p.metadata()).toBe('kafka-nest-replay/1 done=7-8,10');
    expect([5, 6, 7, 8, 9, 10].map((o) => p.isDone(o))).toEqual([true, false, true, true, false, true]);

    const again = ReplayProgress.fromCommit(p.position, p.metadata(), 0);
    again.markDone(6, true); // a later run handles 6: the position jumps over 7 and 8
    expect(again.position).toBe(9);
    expect(again.metadata()).toBe('kafka-nest-replay/1 done=10');
    again.markDone(9, true);
    expect(again.position).toBe(11);
    expect(again.metadata()).toBe('');
  });

  it('ignores metadata it did not write and offsets below the committed one', () => {
    expect(ReplayProgress.fromCommit(3, 'something else', 0).metadata()).toBe('');
    expect(ReplayProgress.fromCommit(10, 'kafka-nest-replay/1 done=4-6,12', 0).metadata()).toBe('kafka-nest-replay/1 done=12');
  });

  it("says when one more out-of-order offset would not fit Kafka's metadata limit", () => {
    const p = new ReplayProgress(0);
    let o = 2;
    while (p.fitsWith(o)) {
      p.markDone(o, false);
      o += 2; // every other offset: one range per offset, the worst case
    }
    expect(Buffer.byteLength(p.metadata())).toBeLessThanOrEqual(MAX_PROGRESS_METADATA);
    expect(p.metadata().split(',').length).toBeGreaterThan(500);
  });
});
