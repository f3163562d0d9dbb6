/**
 * What a stream consumer holds per owned partition and per series: the round being built (entry
 * ids, results, dead letters, touched series), and each series' place in the detector (its key,
 * frames written, windows scored), the entries whose windows are still to come, and the last
 * `window` frames, from which its checkpoint is cut.
 */
import type { SeriesNormalizer } from '../online/normalizer.js';
import { encodeCheckpoint, type SeriesCheckpoint } from './checkpoint.js';
import type { DeadLetter, PartitionLease } from './connector.js';

export interface PendingEntry {
  id: string;
  /** Index after the entry's last frame, in the series' current detector key. */
  end: number;
}

/** One series of an owned partition. */
export class Series {
  key = '';
  /** Frames pushed under `key` (tail included). */
  written = 0;
  /** Windows of `key` scored. */
  windows = 0;
  /** Frames consumed since the series began (all owners). */
  frames = 0;
  /** Windows scored since the series began (all owners). */
  windowsTotal = 0;
  lastTime = -Infinity;
  readonly tailFrames: Float32Array;
  readonly tailTimes: Float64Array;
  entries: PendingEntry[] = [];
  entryHead = 0;
  normalizer: SeriesNormalizer | undefined;

  constructor(
    readonly seriesId: string,
    readonly part: Partition,
    readonly window: number,
    readonly channels: number,
  ) {
    this.tailFrames = new Float32Array(window * channels);
    this.tailTimes = new Float64Array(window);
  }

  /** Keeps the last `window` frames (ring by frame index), the source of the next checkpoint. */
  remember(timestamps: Float64Array, frames: Float32Array, from: number): void {
    const n = timestamps.length;
    const C = this.channels;
    for (let i = Math.max(0, n - this.window); i < n; i++) {
      const pos = (from + i) % this.window;
      this.tailTimes[pos] = timestamps[i]!;
      this.tailFrames.set(frames.subarray(i * C, (i + 1) * C), pos * C);
    }
  }

  /** The frames after the next window's start (valid when every complete window is scored). */
  tail(stride: number): { times: Float64Array; frames: Float32Array } {
    const from = this.windows * stride;
    const L = Math.max(0, this.written - from);
    const times = new Float64Array(L);
    const frames = new Float32Array(L * this.channels);
    for (let k = 0; k < L; k++) {
      const pos = (from + k) % this.window;
      times[k] = this.tailTimes[pos]!;
      frames.set(this.tailFrames.subarray(pos * this.channels, (pos + 1) * this.channels), k * this.channels);
    }
    return { times, frames };
  }

  /**
   * The checkpoint of this series after the current round (cut at the next window's start), and
   * drops the entries wholly before that start: they will complete no more windows.
   */
  checkpoint(model: string, modelVersion: number, stride: number): string {
    const tail = this.tail(stride);
    const c: SeriesCheckpoint = {
      model,
      modelVersion,
      frames: this.frames,
      windows: this.windowsTotal,
      lastTime: this.lastTime,
      tailTimes: tail.times,
      tailFrames: tail.frames,
      normalizer: this.normalizer?.toJSON(),
    };
    const from = this.windows * stride;
    while (this.entryHead < this.entries.length && this.entries[this.entryHead]!.end <= from) this.entryHead++;
    if (this.entryHead > 64) {
      this.entries = this.entries.slice(this.entryHead);
      this.entryHead = 0;
    }
    return encodeCheckpoint(c);
  }
}

/** An owned partition: its lease, what is committed, and the round being built. */
export interface Partition {
  lease: PartitionLease;
  /** Last committed entry id ('' = none). */
  lastId: string;
  /** Checkpoints as loaded, used when a series first shows up. */
  stored: Map<string, string>;
  series: Map<string, Series>;
  // The round being built:
  ids: string[];
  results: string[][];
  dead: DeadLetter[];
  touched: Set<Series>;
}

/** Stream ids `ms-seq` in order. */
export function idNewer(a: string, b: string): boolean {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am > bm || (am === bm && as > bs);
}
