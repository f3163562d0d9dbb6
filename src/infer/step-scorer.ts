/**
 * Scores stride-1 windows with a step graph (see `./step-state.ts`): each window's score is the
 * step graph's output at the window's last frame, after stepping the series' state through every
 * frame since its last step. Series advance together: in each onnxruntime call, every series with
 * a frame left to step contributes one row (gather its taps, run, scatter its new columns), so
 * one call serves up to as many series as the batch holds, whatever their number.
 *
 * A window whose series' state is not just before it (the series is new to this scorer, windows
 * were skipped, or a batch is scored again after a worker restart) starts from a zero state at
 * the window's first frame: the window graph's own zero padding, so that window's score is the
 * window graph's exactly, and the windows after it too when the window covers the network's
 * receptive field (the condition under which a step graph is exported).
 */
import type * as ort from 'onnxruntime-node';
import { STEP_IO, type StepLayout, StepStates } from './step-state.js';

/** onnxruntime's Tensor constructor (passed in: this module does not load the binding itself). */
export type TensorConstructor = typeof ort.Tensor;

export interface StepScorerOptions {
  /** Frames per window (W). */
  window: number;
  /** Floats per frame (C). */
  channels: number;
  /** Series (slots) the scorer keeps state for. */
  slots: number;
  /** Score outputs to return per window (`score`, `channel_score`, ...), each `[N, ...]` row-major. */
  outputs: readonly string[];
}

export class StepScorer {
  readonly states: StepStates;
  private frameBuf = new Float32Array(0);
  private rowsBuf = new BigInt64Array(0);
  private rowsWords = new Int32Array(0);
  /** The `state` feed: a tensor over the store, made once (onnxruntime reads it in place). */
  private readonly stateFeed: ort.Tensor;
  private readonly fetches: string[];
  // Per active row of a round: window index, its next frame offset, its slot and frame.
  private activeWindow = new Int32Array(0);
  private activeOffset = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  private rowFrame = new Float64Array(0);
  // Per window of a batch (see score).
  private nextInChain = new Int32Array(0);
  private from = new Int32Array(0);
  private fresh = new Uint8Array(0);
  // Per slot, while planning a batch: last window of its chain, where its next window continues,
  // and the batch that wrote these (stale entries of earlier batches are ignored, not cleared).
  private readonly planLast: Int32Array;
  private readonly planNext: Float64Array;
  private readonly planStamp: Int32Array;
  private batchStamp = 0;
  /** onnxruntime calls made (for benchmarks and tests). */
  runs = 0;
  /** Frames stepped (rows of all calls). */
  steps = 0;

  constructor(
    private readonly session: ort.InferenceSession,
    private readonly Tensor: TensorConstructor,
    layout: StepLayout,
    private readonly o: StepScorerOptions,
  ) {
    this.states = new StepStates(layout, o.slots);
    this.planLast = new Int32Array(o.slots);
    this.planNext = new Float64Array(o.slots);
    this.planStamp = new Int32Array(o.slots);
    this.stateFeed = new Tensor('float32', this.states.store, [this.states.rows, this.states.width]);
    this.fetches = [...o.outputs, STEP_IO.columns];
  }

  /**
   * Scores `n` windows of stride-1 streams.
   * @param slots series of each window; a series' windows come in time order.
   * @param starts index (in its series) of each window's first frame.
   * @param source frames, row-major `[rows, C]`.
   * @param rows row in `source` of each window's first frame (the window's frames follow it).
   * @returns each requested output, window-major (`[n]`, `[n, C]`, ...).
   */
  async score(n: number, slots: ArrayLike<number>, starts: ArrayLike<number>, source: Float32Array, rows: ArrayLike<number>): Promise<Record<string, Float32Array>> {
    const W = this.o.window;
    const C = this.o.channels;
    const states = this.states;
    this.ensureBatch(n);
    // Chains: each series' windows of this batch, in order; `from` is the first frame offset to
    // step, `fresh` marks a window that starts over from a zero state (done when the chain gets there).
    const { nextInChain, from, fresh } = this;
    const stamp = ++this.batchStamp;
    let heads = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      const s = starts[i]!;
      const chained = this.planStamp[slot] === stamp;
      const at = chained ? this.planNext[slot]! : states.next[slot]!;
      nextInChain[i] = -1;
      if (at >= s && at <= s + W - 1) {
        from[i] = at - s;
        fresh[i] = 0;
      } else {
        // A gap, a fresh series, or a window stepped before: start over at the window (zero padding).
        fresh[i] = 1;
        from[i] = 0;
      }
      if (chained) {
        nextInChain[this.planLast[slot]!] = i;
      } else {
        this.planStamp[slot] = stamp;
        this.activeWindow[heads] = i;
        this.activeOffset[heads] = from[i]!;
        heads++;
      }
      this.planLast[slot] = i;
      this.planNext[slot] = s + W;
    }
    for (let r = 0; r < heads; r++) {
      const i = this.activeWindow[r]!;
      if (fresh[i]) states.reset(slots[i]!, starts[i]!);
    }

    const results: Record<string, Float32Array> = {};
    const widths: Record<string, number> = {};
    let active = heads;
    const P = states.sizes.taps;
    while (active > 0) {
      for (let r = 0; r < active; r++) {
        const i = this.activeWindow[r]!;
        const j = this.activeOffset[r]!;
        const slot = slots[i]!;
        const t = starts[i]! + j;
        this.rowSlot[r] = slot;
        this.rowFrame[r] = t;
        const src = (rows[i]! + j) * C;
        for (let c = 0; c < C; c++) this.frameBuf[r * C + c] = source[src + c]!;
        states.tapRows(slot, t, this.rowsWords, r);
      }
      const out = await this.session.run(
        {
          [STEP_IO.state]: this.stateFeed,
          [STEP_IO.frame]: new this.Tensor('float32', this.frameBuf.subarray(0, active * C), [active, C]),
          [STEP_IO.tapRows]: new this.Tensor('int64', this.rowsBuf.subarray(0, active * P), [active, P]),
        },
        this.fetches,
      );
      this.runs++;
      this.steps += active;
      states.scatterRows(this.rowSlot, this.rowFrame, active, out[STEP_IO.columns]!.data as Float32Array);
      let kept = 0;
      for (let r = 0; r < active; r++) {
        let i = this.activeWindow[r]!;
        let j = this.activeOffset[r]!;
        if (j === W - 1) {
          for (const name of this.o.outputs) {
            const data = out[name]!.data as Float32Array;
            const width = (widths[name] ??= data.length / active);
            const res = (results[name] ??= new Float32Array(n * width));
            for (let q = 0; q < width; q++) res[i * width + q] = data[r * width + q]!;
          }
          i = nextInChain[i]!;
          if (i < 0) continue; // the series is done for this batch
          j = from[i]!;
          if (fresh[i]) states.reset(slots[i]!, starts[i]!);
        } else {
          j++;
        }
        // Rows only move down (kept <= r), so compacting in place is safe.
        this.activeWindow[kept] = i;
        this.activeOffset[kept] = j;
        kept++;
      }
      active = kept;
    }
    for (const name of this.o.outputs) results[name] ??= new Float32Array(0);
    return results;
  }

  /** Grows the per-window and per-row scratch to a batch of `n` windows (rows never exceed windows). */
  private ensureBatch(n: number): void {
    if (this.activeWindow.length >= n) return;
    this.nextInChain = new Int32Array(n);
    this.from = new Int32Array(n);
    this.fresh = new Uint8Array(n);
    this.activeWindow = new Int32Array(n);
    this.activeOffset = new Int32Array(n);
    this.rowSlot = new Int32Array(n);
    this.rowFrame = new Float64Array(n);
    this.frameBuf = new Float32Array(n * this.o.channels);
    this.rowsBuf = new BigInt64Array(n * this.states.sizes.taps);
    this.rowsWords = new Int32Array(this.rowsBuf.buffer);
  }
}
