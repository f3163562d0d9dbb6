/**
 * A model's training buffer in online mode: the most recent admitted windows, FIFO, each with the
 * series it came from, the ring position of its last frame (-1: known good, e.g. warm-up) and a
 * valid flag the guard clears when an overlapping window turns hot. Allocated once; admitting a
 * window copies its frames into the slot at the head and allocates nothing.
 */

/** One entry as the engine saves it, oldest first. */
export interface TrainingEntry {
  series: number;
  end: number;
  valid: boolean;
  frames: Float32Array;
}

export class TrainingBuffer {
  /** Frames per window (`window * channels`). */
  readonly per: number;
  /** `[capacity, per]` frames; `views[k]` is entry k. */
  private readonly views: Float32Array[];
  private readonly series: Int32Array;
  private readonly ends: Float64Array;
  private readonly valid: Uint8Array;
  private head = 0;
  /** Entries held (at most the capacity). */
  count = 0;

  constructor(capacity: number, per: number) {
    this.per = per;
    const frames = new Float32Array(capacity * per);
    this.views = Array.from({ length: capacity }, (_, k) => frames.subarray(k * per, (k + 1) * per));
    this.series = new Int32Array(capacity).fill(-1);
    this.ends = new Float64Array(capacity);
    this.valid = new Uint8Array(capacity);
  }

  get capacity(): number {
    return this.views.length;
  }

  /** The slot the next entry goes to: fill it, then {@link commit} (or leave it, and nothing changes). */
  headSlot(): Float32Array {
    return this.views[this.head]!;
  }

  /** Makes the filled head slot the newest valid entry (the oldest falls out when full); returns its index. */
  commit(series: number, end: number): number {
    const idx = this.head;
    this.series[idx] = series;
    this.ends[idx] = end;
    this.valid[idx] = 1;
    this.head = (idx + 1) % this.views.length;
    if (this.count < this.views.length) this.count++;
    return idx;
  }

  /** Copies `frames` (`per` values) in as the newest entry; returns its index. */
  add(series: number, end: number, frames: ArrayLike<number>): number {
    this.views[this.head]!.set(frames);
    return this.commit(series, end);
  }

  /**
   * The guard: entry `idx` (one that `series` added recently) is withdrawn when it still belongs to
   * that series, is valid and ends at or after `from`. Returns whether it was.
   */
  withdrawFrom(idx: number, series: number, from: number): boolean {
    if (idx < 0 || this.series[idx] !== series || !this.valid[idx]) return false;
    if (this.ends[idx]! < from) return false;
    this.valid[idx] = 0;
    return true;
  }

  setValid(idx: number, valid: boolean): void {
    this.valid[idx] = valid ? 1 : 0;
  }

  /** Index of the k-th oldest entry. */
  private at(k: number): number {
    return (this.head - this.count + k + this.views.length) % this.views.length;
  }

  /** Indices of the valid entries, oldest first, for which `decided(series, end)` holds. */
  validIndices(decided: (series: number, end: number) => boolean): number[] {
    const out: number[] = [];
    for (let k = 0; k < this.count; k++) {
      const idx = this.at(k);
      if (this.valid[idx] && decided(this.series[idx]!, this.ends[idx]!)) out.push(idx);
    }
    return out;
  }

  /** The frames of entries `indices`, concatenated: `[indices.length, per]`. */
  gather(indices: readonly number[]): Float32Array {
    const out = new Float32Array(indices.length * this.per);
    indices.forEach((idx, k) => out.set(this.views[idx]!, k * this.per));
    return out;
  }

  /** Every entry, oldest first, withdrawn ones included (they hold their places in the FIFO). */
  entries(): TrainingEntry[] {
    const out: TrainingEntry[] = [];
    for (let k = 0; k < this.count; k++) {
      const idx = this.at(k);
      out.push({ series: this.series[idx]!, end: this.ends[idx]!, valid: this.valid[idx] === 1, frames: this.views[idx]! });
    }
    return out;
  }
}
