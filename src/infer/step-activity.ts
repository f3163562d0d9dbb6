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

  /**
   * Steps frames `t0 .. t0 + count - 1` of `slot`, read from a call's `[T, rows, C]` frames (row
   * `row` of `rows`: frame `t0 + q` at `((q rows) + row) C`), and writes the activity of the window
   * ending at each to `out` at the same place. One call per series and onnxruntime call, not per
   * frame: a frame index is a float64, which a call that is not inlined boxes (a heap number per
   * frame, ~60% of the inference worker's garbage); and the ring position is counted along the
   * run (a float64 `%` is a call into the C library).
   */
  stepRun(slot: number, t0: number, count: number, frames: Float32Array, row: number, rows: number, out: Float32Array): void {
    if (count <= 0) return;
    const C = this.C;
    const L = this.L;
    // The fields in locals: the loop below is the worker's per-frame work besides the copies.
    const ringArr = this.ring;
    const sumsArr = this.sums;
    const prev = this.prev;
    const scale = this.scale;
    const sums = slot * C;
    const base = slot * L;
    let p = t0 % L;
    let primed = this.primed[slot] === 1;
    for (let q = 0; q < count; q++) {
      const src = (q * rows + row) * C;
      const ring = (base + p) * C;
      for (let c = 0; c < C; c++) {
        const x = frames[src + c]!;
        const a = primed ? Math.fround(Math.abs(x - prev[sums + c]!)) : 0;
        sumsArr[sums + c] = sumsArr[sums + c]! + a - ringArr[ring + c]!;
        ringArr[ring + c] = a;
        prev[sums + c] = x;
      }
      primed = true;
      if (p === L - 1) {
        // Rebuild the sums from the ring (W - 1 frames: O(C) per frame on average).
        for (let c = 0; c < C; c++) {
          let sum = 0;
          for (let j = 0; j < L; j++) sum += ringArr[(base + j) * C + c]!;
          sumsArr[sums + c] = sum;
        }
      }
      for (let c = 0; c < C; c++) out[src + c] = sumsArr[sums + c]! * scale[c]!;
      if (++p === L) p = 0;
    }
    this.primed[slot] = 1;
  }
}
