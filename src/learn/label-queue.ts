/**
 * The label queue: windows the learner asks a person about, bounded in size and by a labelling
 * budget per period. It can live in a JSON-lines file in the model directory, so that
 * `seismo label` (another process) lists the pending questions and appends answers that the
 * learner imports.
 *
 * Files (in `dir`): `label-queue.jsonl`, one pending {@link QueueItem} per line, rewritten whole
 * (atomically) when the queue changes; `label-answers.jsonl`, one {@link LabelAnswer} per line,
 * appended by whoever answers, read by the learner from the offset it reached last time, which
 * `label-state.json` keeps. A queue opened on a folder that holds these resumes them: the
 * questions still pending, and the answers not yet read (a person may answer while no learner runs).
 *
 * The queue owns its questions' windows too: with `frameSize`, each pending question's raw frames
 * are kept in `questions/` (one small file each, named by a hash of its key, since series ids may
 * be longer than a file name may be), so that a learner resuming the queue can use the answers.
 *
 * Answers are read without being consumed: {@link LabelQueue.readAnswers} returns them with the
 * offset after them, and {@link LabelQueue.markAnswersRead} moves the stored offset once the
 * caller has made them durable (the learner's label journal). A malformed line is reported and
 * skipped, never fatal.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import { refKey, type WindowRef } from './buffers.js';
import type { QueryReason } from './select.js';

export const QUEUE_FILE = 'label-queue.jsonl';
export const ANSWERS_FILE = 'label-answers.jsonl';
export const STATE_FILE = 'label-state.json';
/** Folder (in the queue's folder) of the pending questions' frames. */
export const QUESTIONS_DIR = 'questions';

/** One question for the expert. */
export interface QueueItem {
  /** `seriesId@start`: what an answer names. */
  key: string;
  ref: WindowRef;
  /** Timestamp of the window's last frame. */
  timestamp: number;
  score: number;
  threshold: number;
  /** The detector's number of the version that scored it (valid in the asking process only). */
  version: number;
  /** The name of that version (`v0003`), the same in folders and logs. */
  versionName?: string;
  /** Why it was asked: near the threshold, an alarm drawn for review, or the committee's disagreement. */
  reason: QueryReason;
  /** Stream position (windows scored so far) when it was asked. */
  askedAt: number;
}

/** One answer, as `seismo label` appends it. */
export interface LabelAnswer {
  key: string;
  anomaly: boolean;
}

/** Options of {@link LabelQueue}. */
export interface LabelQueueOptions {
  /** Questions pending at most; when full, the oldest is dropped (the answer is no longer wanted). Default 64. */
  capacity?: number;
  /** Questions asked per period at most (what a person can answer). Default 16. */
  budget?: number;
  /** Length of a budget period, in windows scored. Default 1024. */
  period?: number;
  /** Folder for the queue files (resumed when they exist); none: the queue lives in memory only. */
  dir?: string;
  /** Floats per window (`window * channels`): with `dir`, each pending question's frames are kept there too. */
  frameSize?: number;
}

/** An answer line that was not used, and why. */
export interface RejectedAnswer {
  /** The line (cut to 200 characters). */
  line: string;
  reason: string;
}

/** What {@link LabelQueue.readAnswers} found. */
export interface AnswersRead {
  answers: LabelAnswer[];
  rejected: RejectedAnswer[];
  /** Offset after them: give it to {@link LabelQueue.markAnswersRead} once they are applied. */
  offset: number;
}

/** Bounded queue of windows awaiting a label, with a per-period budget. */
export class LabelQueue {
  readonly capacity: number;
  readonly budget: number;
  readonly period: number;
  readonly dir: string | undefined;
  readonly frameSize: number | undefined;
  private readonly items = new Map<string, QueueItem>();
  private periodIndex = 0;
  private spent = 0;
  private answersOffset = 0;
  /** Frames of pending questions, by key (in memory; on disk too with `dir`). */
  private readonly frames = new Map<string, Float32Array>();
  /** Questions dropped unanswered because the queue was full. */
  expired = 0;

  constructor(options: LabelQueueOptions = {}) {
    this.capacity = options.capacity ?? 64;
    this.budget = options.budget ?? 16;
    this.period = options.period ?? 1024;
    this.dir = options.dir;
    this.frameSize = options.frameSize;
    for (const [k, v] of Object.entries({ capacity: this.capacity, period: this.period })) {
      if (!Number.isInteger(v) || v <= 0) throw new SeismoError('ERR_INVALID_OPTION', `label queue ${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(this.budget) || this.budget < 0) throw new SeismoError('ERR_INVALID_OPTION', `label queue budget must be an integer >= 0, got ${this.budget}`);
    if (this.dir) this.resume(this.dir);
  }

  /** Takes up the questions and the answers offset a previous queue left in `dir`. */
  private resume(dir: string): void {
    const pending = readQueueFile(dir);
    // The newest `capacity` of them, if the capacity shrank.
    for (const item of pending.slice(-this.capacity)) this.items.set(item.key, item);
    this.expired += Math.max(0, pending.length - this.capacity);
    const stateFile = path.join(dir, STATE_FILE);
    if (fs.existsSync(stateFile)) {
      let state: { answersOffset?: unknown };
      try {
        state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { answersOffset?: unknown };
      } catch (cause) {
        throw new SeismoError('ERR_LABEL', `${stateFile} is not JSON: ${(cause as Error).message} (delete it to read every answer again)`, { file: stateFile }, { cause });
      }
      if (Number.isSafeInteger(state.answersOffset) && (state.answersOffset as number) >= 0) this.answersOffset = state.answersOffset as number;
    }
    if (this.frameSize !== undefined) {
      // A question whose frames are gone or do not fit this model cannot be answered usefully: dropped.
      for (const key of [...this.items.keys()]) {
        const file = questionFile(dir, key);
        // A folder written before file names were hashed names the frames by the escaped key.
        const legacy = path.join(dir, QUESTIONS_DIR, `${encodeURIComponent(key)}.f32`);
        if (!fs.existsSync(file) && Buffer.byteLength(path.basename(legacy)) <= 255 && fs.existsSync(legacy)) fs.renameSync(legacy, file);
        const bytes = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
        if (!bytes || bytes.byteLength !== this.frameSize * 4) {
          this.items.delete(key);
          fs.rmSync(file, { force: true });
          continue;
        }
        const f = new Float32Array(this.frameSize);
        new Uint8Array(f.buffer).set(bytes);
        this.frames.set(key, f);
      }
    }
    if (pending.length !== this.items.size) this.save();
  }

  /** The kept frames of a pending question (a view: copy to keep). */
  framesOf(key: string): Float32Array | undefined {
    return this.frames.get(key);
  }

  get size(): number {
    return this.items.size;
  }

  /** Questions that may still be asked in the period that holds stream position `position`. */
  remaining(position: number): number {
    this.roll(position);
    return this.budget - this.spent;
  }

  /**
   * Asks a question if the period's budget allows; returns the keys of questions dropped to make room.
   * @returns undefined when the budget is spent (nothing was queued).
   */
  ask(item: QueueItem, frames?: Float32Array): string[] | undefined {
    this.roll(item.askedAt);
    if (this.spent >= this.budget || this.items.has(item.key)) return undefined;
    if (this.frameSize !== undefined && frames?.length !== this.frameSize) {
      throw new SeismoError('ERR_BAD_SHAPE', `question ${item.key}: ${frames?.length ?? 0} frame values, the queue keeps ${this.frameSize} per window`);
    }
    this.spent++;
    const dropped: string[] = [];
    while (this.items.size >= this.capacity) {
      const oldest = this.items.keys().next().value as string;
      this.items.delete(oldest);
      this.forgetFrames(oldest);
      this.expired++;
      dropped.push(oldest);
    }
    if (frames && this.frameSize !== undefined) {
      const copy = frames.slice();
      this.frames.set(item.key, copy);
      if (this.dir) {
        // Frames first: a queue file never names a question whose frames are missing.
        fs.mkdirSync(path.join(this.dir, QUESTIONS_DIR), { recursive: true });
        writeFileAtomic(questionFile(this.dir, item.key), new Uint8Array(copy.buffer));
      }
    }
    this.items.set(item.key, item);
    this.save();
    return dropped;
  }

  pending(): QueueItem[] {
    return [...this.items.values()];
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** Removes an answered (or no longer wanted) question. */
  remove(key: string): boolean {
    const had = this.items.delete(key);
    if (had) this.save();
    this.forgetFrames(key);
    return had;
  }

  /**
   * Answers appended to the answers file since the offset last marked read (none without `dir`).
   * Reading does not consume them: call {@link markAnswersRead} with the returned offset after
   * applying them, so that a crash in between reads them again rather than losing them.
   */
  readAnswers(): AnswersRead {
    const none = { answers: [], rejected: [], offset: this.answersOffset };
    if (!this.dir) return none;
    const file = path.join(this.dir, ANSWERS_FILE);
    if (!fs.existsSync(file)) return none;
    const buf = fs.readFileSync(file);
    // A shorter file than the offset was replaced, not appended to: read it from the start.
    if (buf.byteLength < this.answersOffset) this.answersOffset = 0;
    // Only whole lines: a writer may be half-way through the last one.
    const end = buf.lastIndexOf(0x0a) + 1;
    if (end <= this.answersOffset) return { ...none, offset: this.answersOffset };
    const answers: LabelAnswer[] = [];
    const rejected: RejectedAnswer[] = [];
    for (const line of buf.subarray(this.answersOffset, end).toString('utf8').split('\n')) {
      if (line.trim().length === 0) continue;
      const a = parseAnswer(line);
      if (typeof a === 'string') rejected.push({ line: line.slice(0, 200), reason: a });
      else answers.push(a);
    }
    return { answers, rejected, offset: end };
  }

  /** Stores the answers file's read offset (after the answers before it were applied durably). */
  markAnswersRead(offset: number): void {
    if (!this.dir || offset === this.answersOffset) return;
    this.answersOffset = offset;
    writeFileAtomic(path.join(this.dir, STATE_FILE), `${JSON.stringify({ answersOffset: offset })}\n`);
  }

  private forgetFrames(key: string): void {
    if (!this.frames.delete(key)) return;
    if (this.dir) fs.rmSync(questionFile(this.dir, key), { force: true });
  }

  private roll(position: number): void {
    const p = Math.floor(position / this.period);
    if (p !== this.periodIndex) {
      this.periodIndex = p;
      this.spent = 0;
    }
  }

  private save(): void {
    if (!this.dir) return;
    writeQueueFile(this.dir, this.pending());
  }
}

/** Rewrites the queue file atomically (write beside, rename). */
export function writeQueueFile(dir: string, items: QueueItem[]): void {
  fs.mkdirSync(dir, { recursive: true });
  writeFileAtomic(path.join(dir, QUEUE_FILE), items.map((i) => JSON.stringify(i)).join('\n') + (items.length ? '\n' : ''));
}

/** Reads the pending questions of a queue folder (empty when there is no queue file). */
export function readQueueFile(dir: string): QueueItem[] {
  const file = path.join(dir, QUEUE_FILE);
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l, i) => {
      let item: QueueItem;
      try {
        item = JSON.parse(l) as QueueItem;
      } catch (cause) {
        throw new SeismoError('ERR_LABEL', `${file} line ${i + 1} is not JSON: ${(cause as Error).message}`, { file }, { cause });
      }
      if (typeof item?.key !== 'string' || typeof item.ref?.seriesId !== 'string' || !Number.isSafeInteger(item.ref.start) || refKey(item.ref) !== item.key) {
        throw new SeismoError('ERR_LABEL', `${file} line ${i + 1} is not a question ({key: "seriesId@start", ref: {seriesId, start}, ...})`, { file });
      }
      return item;
    });
}

/** Appends answers to the answers file (what `seismo label --answer` does). */
export function appendAnswers(dir: string, answers: LabelAnswer[]): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, ANSWERS_FILE), answers.map((a) => `${JSON.stringify(a)}\n`).join(''));
}

/** An answer, or why the line is not one. */
function parseAnswer(line: string): LabelAnswer | string {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  const a = v as Partial<LabelAnswer>;
  if (typeof a?.key !== 'string' || typeof a.anomaly !== 'boolean') return 'an answer needs {"key": "seriesId@start", "anomaly": boolean}';
  if (parseKey(a.key) === undefined) return `key '${a.key.slice(0, 80)}' is not seriesId@start`;
  return { key: a.key, anomaly: a.anomaly };
}

/** The window a key (`seriesId@start`) names; undefined when it names none. */
export function parseKey(key: string): WindowRef | undefined {
  const at = key.lastIndexOf('@');
  const tail = key.slice(at + 1);
  if (at < 0 || !/^\d+$/.test(tail) || !Number.isSafeInteger(Number(tail))) return undefined;
  return { seriesId: key.slice(0, at), start: Number(tail) };
}

/**
 * The file of a question's frames: a hash of its key, because keys hold series ids of any length
 * and a file name may have at most 255 bytes.
 */
export function questionFile(dir: string, key: string): string {
  return path.join(dir, QUESTIONS_DIR, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.f32`);
}

export { refKey };
