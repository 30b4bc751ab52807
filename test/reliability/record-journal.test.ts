/**
 * The journal the crash tests rely on: a torn last line (a writer killed mid-write) is ignored and cut off
 * when the file is opened again; a bad line anywhere else is an error naming the file and line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordJournal } from '@kafka-nest/testing';
import { describe, expect, it } from 'vitest';
import { journalDir } from './support.js';

const line = (offset: number) => `${JSON.stringify({ topic: 't', partition: 0, offset })}\n`;

describe('RecordJournal', () => {
  it('ignores a torn last line, and cuts it off before appending again', () => {
    const file = join(journalDir('journal'), 'a.jsonl');
    writeFileSync(file, line(0) + line(1) + '{"topic":"t","parti');
    expect(RecordJournal.read(file).map((e) => e.offset)).toEqual([0, 1]);
    const journal = new RecordJournal(file);
    journal.append({ topic: 't', partition: 0, offset: 2 });
    journal.close();
    expect(RecordJournal.read(file).map((e) => e.offset)).toEqual([0, 1, 2]);
    expect(readFileSync(file, 'utf8').endsWith('\n')).toBe(true);
  });

  it('a complete line that is not an entry throws with the file and line number', () => {
    const dir = journalDir('journal');
    const file = join(dir, 'b.jsonl');
    writeFileSync(file, line(0) + '{"topic":"t","parti\n' + line(2));
    expect(() => RecordJournal.read(dir)).toThrow(`${file}:2: not a journal entry`);
    writeFileSync(file, line(0) + '\n');
    expect(() => RecordJournal.read(file)).toThrow(`${file}:2: not a journal entry`);
    writeFileSync(file, '{"topic":"t"}\n');
    expect(() => RecordJournal.read(file)).toThrow(`${file}:1: not a journal entry (needs topic, partition and offset)`);
  });
});
