/**
 * The step path's `channel_activity` (see `./step-scorer.ts`): the window graph computes each
 * channel's activity over a whole window; a step scorer sees each frame once, so it keeps per-series
 * running sums instead.
 */

/**
 * Per-series running sums of the absolute steps `|x_t - x_{t-1}|` (raw units) over the last W - 1
 * frames, each channel's activity being that sum over `(W - 1) std_c` (the formula the window
 * graph and the detector's host fallback use). The sum is rebuilt from the ring every W - 1 frames,
 * so rounding cannot drift along a long stream.
 */
export class ActivitySums {
  private readonly L: number;
  /** `[slots, W - 1, C]` the last W - 1 steps (float32, so that what leaves is exactly what came in). */
  private readonly ring: Float32Array;
  private readonly sums: Float64Array;
  private readonly prev: Float32Array;
  /** Per slot: 0 until the slot has a previous frame since its last reset. */
  private readonly primed: Uint8Array;
  private readonly scale: Float64Array;

  constructor(
    private readonly C: number,
    W: number,
    slots: number,
    std: ArrayLike<number>,
  ) {
    this.L = W - 1;
    this.ring = new Float32Array(slots * this.L * C);
    this.sums = new Float64Array(slots * C);
    this.prev = new Float32Array(slots * C);
    this.primed = new Uint8Array(slots);
    this.scale = Float64Array.from({ length: C }, (_, c) => 1 / ((W - 1) * std[c]!));
  }

  /** A fresh state: the window starting here has no step before its first frame. */
  reset(slot: number): void {
    const C = this.C;
    this.ring.fill(0, slot * this.L * C, (slot + 1) * this.L * C);
    this.sums.fill(0, slot * C, (slot + 1) * C);
    this.primed[slot] = 0;
  }

  /** Steps frame t of `slot` (`frame` at `src` in `source`) and writes the activity of the window ending at it to `out` at `at`. */
  step(slot: number, t: number, source: Float32Array, src: number, out: Float32Array, at: number): void {
    const C = this.C;
    const L = this.L;
    const p = t % L;
    const ring = (slot * L + p) * C;
    const sums = slot * C;
    const primed = this.primed[slot] === 1;
    for (let c = 0; c < C; c++) {
      const x = source[src + c]!;
      const a = primed ? Math.fround(Math.abs(x - this.prev[sums + c]!)) : 0;
      this.sums[sums + c] = this.sums[sums + c]! + a - this.ring[ring + c]!;
      this.ring[ring + c] = a;
      this.prev[sums + c] = x;
    }
    this.primed[slot] = 1;
    if (p === L - 1) {
      // Rebuild the sums from the ring (W - 1 frames: O(C) per frame on average).
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let q = 0; q < L; q++) sum += this.ring[(slot * L + q) * C + c]!;
        this.sums[sums + c] = sum;
      }
    }
    for (let c = 0; c < C; c++) out[at + c] = this.sums[sums + c]! * this.scale[c]!;
  }
}
