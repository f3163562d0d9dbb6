/**
 * The write-ahead record of the expert's answers: an answer is durable from the moment the
 * learner accepts it until the update that uses it is committed.
 *
 * `labels.wal` (in the work folder) holds one JSON line per accepted label, with the window's raw
 * frames, appended and fsync'd before the label counts as accepted (before its question leaves
 * the queue, before the answers file's read offset moves). When an update has been written as a
 * version, the journal is rewritten (beside, fsync, rename) with only the labels still waiting in
 * the learner's buffers. A learner that starts on the same folder (after kill -9, or after a clean
 * exit with buffers that were not full) reads the journal back and puts every label where it was.
 *
 * A line cut short by a kill (the last one) is ignored: its label was never reported accepted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { appendDurable, fsyncPath } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import type { WindowRef } from './buffers.js';


export const JOURNAL_FILE = 'labels.wal';

/** Where an accepted label went. */
export type LabelDestination = 'normal' | 'anomaly' | 'held-out';

/** One accepted label and everything needed to put it back in its buffer. */
export interface JournalEntry {
  /** `seriesId@start`. */
  key: string;
  ref: WindowRef;
  /** 1 anomaly, 0 normal. */
  label: 0 | 1;
  dest: LabelDestination;
  score: number;
  threshold: number;
  version: number;
  /** Ordinal of the label among all the learner's labels (the held-out split counts them). */
  n: number;
  /** Raw frames `[window, channels]`. */
  frames: Float32Array;
}

/** The journal of one work folder. */
export class LabelJournal {
  readonly file: string;
  private readonly per: number;
  /** Entries not yet compacted away, in order, by key. */
  private readonly entries = new Map<string, JournalEntry>();
  /** Lines that could not be read back (torn or foreign), for the report. */
  readonly skippedLines: number;

  /** Opens (and reads back) the journal in `dir`; `per` is floats per window. */
  constructor(dir: string, per: number) {
    this.file = path.join(dir, JOURNAL_FILE);
    this.per = per;
    let skipped = 0;
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        const e = parseEntry(line, per);
        if (e) this.entries.set(e.key, e);
        else skipped++;
      }
    }
    this.skippedLines = skipped;
  }

  /** The labels read back from the folder (in the order they were accepted). */
  entriesInOrder(): JournalEntry[] {
    return [...this.entries.values()];
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Makes a label durable (append + fsync). Only then may the caller treat it as accepted. */
  append(entry: JournalEntry): void {
    if (entry.frames.length !== this.per) throw new SeismoError('ERR_BAD_SHAPE', `journal entry has ${entry.frames.length} values, expected ${this.per}`);
    const bytes = Buffer.from(entry.frames.buffer, entry.frames.byteOffset, entry.frames.byteLength);
    const { frames: _, ...rest } = entry;
    appendDurable(this.file, `${JSON.stringify({ ...rest, frames: bytes.toString('base64') })}\n`);
    this.entries.set(entry.key, { ...entry, frames: entry.frames.slice() });
  }

  /**
   * Keeps only the labels whose keys are in `live` (still waiting in a buffer): rewrites the file
   * beside and renames it over, fsync'd, so a crash leaves the old journal or the new one.
   */
  compact(live: Set<string>): void {
    for (const key of [...this.entries.keys()]) if (!live.has(key)) this.entries.delete(key);
    const tmp = `${this.file}.${process.pid}.tmp`;
    const lines = [...this.entries.values()].map((e) => {
      const { frames, ...rest } = e;
      return `${JSON.stringify({ ...rest, frames: Buffer.from(frames.buffer, frames.byteOffset, frames.byteLength).toString('base64') })}\n`;
    });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, lines.join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    fsyncPath(path.dirname(this.file));
  }
}

function parseEntry(line: string, per: number): JournalEntry | undefined {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const ref = v.ref as WindowRef | undefined;
  if (typeof v.key !== 'string' || typeof ref?.seriesId !== 'string' || !Number.isSafeInteger(ref.start) || typeof v.frames !== 'string') return undefined;
  if (!['normal', 'anomaly', 'held-out'].includes(v.dest as string) || (v.label !== 0 && v.label !== 1)) return undefined;
  const bytes = Buffer.from(v.frames, 'base64');
  // A journal of another model (other window or channels) cannot be put back.
  if (bytes.byteLength !== per * 4) return undefined;
  const frames = new Float32Array(per);
  new Uint8Array(frames.buffer).set(bytes);
  return {
    key: v.key,
    ref: { seriesId: ref.seriesId, start: ref.start },
    label: v.label,
    dest: v.dest as LabelDestination,
    score: Number(v.score),
    threshold: Number(v.threshold),
    version: Number(v.version),
    n: Number.isSafeInteger(v.n) ? (v.n as number) : 0,
    frames,
  };
}
