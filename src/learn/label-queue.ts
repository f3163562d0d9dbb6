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
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import { refKey, type WindowRef } from './buffers.js';
import type { QueryReason } from './select.js';

export const QUEUE_FILE = 'label-queue.jsonl';
export const ANSWERS_FILE = 'label-answers.jsonl';
export const STATE_FILE = 'label-state.json';

/** One question for the expert. */
export interface QueueItem {
  /** `seriesId@start`: what an answer names. */
  key: string;
  ref: WindowRef;
  /** Timestamp of the window's last frame. */
  timestamp: number;
  score: number;
  threshold: number;
  version: number;
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
}

/** Bounded queue of windows awaiting a label, with a per-period budget. */
export class LabelQueue {
  readonly capacity: number;
  readonly budget: number;
  readonly period: number;
  readonly dir: string | undefined;
  private readonly items = new Map<string, QueueItem>();
  private periodIndex = 0;
  private spent = 0;
  private answersOffset = 0;
  /** Questions dropped unanswered because the queue was full. */
  expired = 0;

  constructor(options: LabelQueueOptions = {}) {
    this.capacity = options.capacity ?? 64;
    this.budget = options.budget ?? 16;
    this.period = options.period ?? 1024;
    this.dir = options.dir;
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
    if (pending.length > this.capacity) this.save();
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
  ask(item: QueueItem): string[] | undefined {
    this.roll(item.askedAt);
    if (this.spent >= this.budget || this.items.has(item.key)) return undefined;
    this.spent++;
    const dropped: string[] = [];
    while (this.items.size >= this.capacity) {
      const oldest = this.items.keys().next().value as string;
      this.items.delete(oldest);
      this.expired++;
      dropped.push(oldest);
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
    return had;
  }

  /** Answers appended to the answers file since the last call (none without `dir`). */
  readAnswers(): LabelAnswer[] {
    if (!this.dir) return [];
    const file = path.join(this.dir, ANSWERS_FILE);
    if (!fs.existsSync(file)) return [];
    const text = fs.readFileSync(file, 'utf8');
    // A shorter file than the offset was replaced, not appended to: read it from the start.
    if (text.length < this.answersOffset) this.answersOffset = 0;
    // Only whole lines: a writer may be half-way through the last one.
    const end = text.lastIndexOf('\n') + 1;
    if (end <= this.answersOffset) return [];
    const lines = text.slice(this.answersOffset, end).split('\n').filter((l) => l.trim().length > 0);
    const answers = lines.map((l) => parseAnswer(l, file));
    this.answersOffset = end;
    writeFileAtomic(path.join(this.dir, STATE_FILE), `${JSON.stringify({ answersOffset: end })}\n`);
    return answers;
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

function parseAnswer(line: string, file: string): LabelAnswer {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (cause) {
    throw new SeismoError('ERR_LABEL', `${file}: an answer line is not JSON: ${line.slice(0, 80)}`, { file }, { cause });
  }
  const a = v as Partial<LabelAnswer>;
  if (typeof a.key !== 'string' || typeof a.anomaly !== 'boolean') throw new SeismoError('ERR_LABEL', `${file}: an answer needs {"key": string, "anomaly": boolean}: ${line.slice(0, 80)}`, { file });
  return { key: a.key, anomaly: a.anomaly };
}

export { refKey };
