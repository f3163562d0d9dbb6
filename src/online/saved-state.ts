/**
 * The file a saved online detector resumes from, `online.json`: its shape, reading and writing it,
 * and one series' state to and from it. What goes in it is decided by the engine
 * (`online-detector.ts`: models and training buffers); this module owns the format.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import type { OnlineKind, ResolvedPolicy } from './policy.js';
import type { SeriesCounters, SeriesState } from './series.js';

export const ONLINE_STATE_FILE = 'online.json';

/** Saved by `OnlineDetector.save` as `online.json`. */
export interface SavedState {
  format: 'seismo-online';
  formatVersion: 1;
  kind: OnlineKind;
  channels: string[];
  window: number;
  config: Record<string, unknown>;
  policy: ResolvedPolicy;
  models: { dir: string; updates: number; rejected: number; admittedSince: number; pushedSince: number; train: SavedWindow[] }[];
  series: SavedSeries[];
}

/** One entry of a training buffer, oldest first; `end` in the resumed rings' positions (-1: warm-up). */
export interface SavedWindow {
  series: number;
  end: number;
  valid: boolean;
  frames: number[];
}

export interface SavedSeries {
  id: string;
  group: number;
  warming: boolean;
  warmTimes?: number[];
  warmFrames?: number[];
  mean: number[];
  std: number[];
  variance: number[];
  last: number[];
  hasLast: boolean;
  lastTime: number | null;
  interval: number | null;
  normalizer: unknown;
  /** The scorer's state, with a scorer. */
  scorer?: unknown;
  /** The last `window - 1` scaled frames and their timestamps: the context of the next window. */
  contextTimes: number[];
  contextFrames: number[];
  /** Samples since the last window that reached the guard threshold (null: none). */
  sinceHot: number | null;
  /** Frames before ring frame 0 once resumed (see `SeriesState.base`). */
  base: number;
  counters: SeriesCounters;
}

/**
 * Reads and checks the saved state of `dir`.
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` (no `online.json`), `ERR_MODEL_CORRUPT` (not JSON), `ERR_MODEL_VERSION` (another format).
 */
export function readSavedState(dir: string): SavedState {
  const file = path.join(dir, ONLINE_STATE_FILE);
  if (!fs.existsSync(file)) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${file} is missing: not a directory saved by an online detector`, { dir });
  let saved: SavedState;
  try {
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedState;
  } catch (err) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(err as Error).message}`, { dir });
  }
  if (saved.format !== 'seismo-online' || saved.formatVersion !== 1) throw new SeismoError('ERR_MODEL_VERSION', `${file} is not an online state of format version 1`, { dir });
  return saved;
}

/** Writes `online.json` into `dir` (which exists) through a temporary file renamed into place: a reader sees the old state or the new one. */
export function writeSavedState(dir: string, state: SavedState): void {
  writeFileAtomic(path.join(dir, ONLINE_STATE_FILE), JSON.stringify(state));
}

/**
 * One series as saved. `offset`: its ring frames a resumed detector does not push again (all but
 * the last `window - 1`; 0 while it warms up), by which `base` moves so positions keep counting.
 */
export function saveSeries(s: SeriesState, offset: number): SavedSeries {
  const C = s.channels;
  const tail = s.warming ? { times: [], frames: [] } : s.tail();
  return {
    id: s.id,
    group: s.group,
    warming: s.warming,
    warmTimes: s.warming ? Array.from(s.warmTimes!.subarray(0, s.warmCount)) : undefined,
    warmFrames: s.warming ? Array.from(s.warmFrames!.subarray(0, s.warmCount * C)) : undefined,
    mean: Array.from(s.mean),
    std: Array.from(s.std),
    variance: Array.from(s.variance),
    last: Array.from(s.last),
    hasLast: s.hasLast,
    lastTime: Number.isFinite(s.lastTime) ? s.lastTime : null,
    interval: Number.isFinite(s.interval) ? s.interval : null,
    normalizer: s.normalizer.toJSON(),
    scorer: s.scorer?.toJSON(),
    contextTimes: tail.times,
    contextFrames: tail.frames,
    sinceHot: Number.isFinite(s.lastHot) ? s.lastEnd - s.lastHot : null,
    base: s.base + (s.warming ? 0 : offset),
    counters: { ...s.counters },
  };
}

/**
 * Puts a saved series back into a fresh `SeriesState`: scaler, last values, clock, counters, and
 * its warm-up samples while it was warming up. A scored series also gets its guard state and its
 * last `window - 1` scaled samples, noted as sent and queued for the rings, which restart at
 * frame 0 with them. Returns how many were queued, or -1 for a series still warming up.
 * @throws SeismoError `ERR_MODEL_CORRUPT` when the saved context does not fit the window.
 */
export function restoreSeries(s: SeriesState, saved: SavedSeries, window: number): number {
  const C = s.channels;
  s.mean.set(saved.mean);
  s.std.set(saved.std);
  s.variance.set(saved.variance);
  s.last.set(saved.last);
  s.hasLast = saved.hasLast;
  s.lastTime = saved.lastTime ?? -Infinity;
  s.interval = saved.interval ?? NaN;
  Object.assign(s.counters, saved.counters);
  if (saved.warming) {
    s.warmCount = saved.warmTimes?.length ?? 0;
    s.warmTimes!.set(saved.warmTimes ?? []);
    s.warmFrames!.set(saved.warmFrames ?? []);
    return -1;
  }
  s.warming = false;
  s.warmTimes = undefined;
  s.warmFrames = undefined;
  const context = saved.contextTimes.length;
  if (saved.contextFrames.length !== context * C || context > window - 1) throw new SeismoError('ERR_MODEL_CORRUPT', `series '${s.id}': saved context does not fit window ${window}`, { seriesId: s.id });
  // The rings restart at frame 0 with the context: positions are counted from there.
  s.lastEnd = context - 1;
  s.lastHot = saved.sinceHot === null ? -Infinity : s.lastEnd - saved.sinceHot;
  s.base = saved.base;
  const frames = Float32Array.from(saved.contextFrames);
  for (let t = 0; t < context; t++) {
    const frame = frames.subarray(t * C, (t + 1) * C);
    s.noteSent(saved.contextTimes[t]!, frame);
    s.enqueue(saved.contextTimes[t]!, frame);
  }
  return context;
}
