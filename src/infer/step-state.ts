/**
 * Per-series state of a step graph (`model.step.onnx`, see `training/export/step.ts`): the
 * history that each dilated causal convolution of the network needs to compute its output for
 * one new frame, kept here in plain memory rather than passed through the graph.
 *
 * Why outside the graph: a step needs only `k - 1` old columns per layer (the taps at
 * `t - d, t - 2d, ...`), but the history behind them is `(k - 1) * d` columns. Carried as a graph
 * input and output, the whole history (16 KB per series for the default DC-VAE) would be copied
 * in and out of onnxruntime on every point; kept here as one ring per layer, a step copies the
 * `k - 1` tap columns in (`gather`) and the one new column per layer out (`scatter`), about 1.3 KB
 * per point for the default DC-VAE, and nothing is shifted.
 *
 * Layout of one series' state: layer after layer, a ring of `(k - 1) * d` columns of `in` floats
 * (column of frame t at ring slot `t mod ((k - 1) * d)`). A fresh series' rings are zeros, which
 * is what the window graph's causal zero padding feeds a layer before the window's first frame:
 * stepping through a window's frames from a zero state reproduces that window's score.
 */
import { SeismoError } from '../errors.js';

/** One dilated causal convolution of a step graph, in the order its taps and columns are laid out. */
export interface StepLayer {
  /** Input features of the layer (floats per column). */
  in: number;
  /** Frames between taps, d >= 1. */
  dilation: number;
  /** Taps k >= 2 (a kernel-1 layer has no history and is not listed). */
  kernel: number;
}

/** What a step graph declares about its state (graph metadata `seismo.step.layers`). */
export interface StepLayout {
  layers: readonly StepLayer[];
}

/** Metadata key of a step graph holding its {@link StepLayout} as JSON. */
export const STEP_LAYOUT_KEY = 'seismo.step.layers';

/** Input and output names of a step graph (besides the kind's score outputs). */
export const STEP_IO = {
  /** Input: one raw frame per series `[B, C]` float32. */
  frame: 'frame',
  /** Input: rows of `state` holding each series' taps, `[B, taps]` int64 (see {@link stepSizes}). */
  tapRows: 'tap_rows',
  /** Input: the store of every layer's columns, `[rows, width]` float32 (see {@link stepWidth}). */
  state: 'state',
  /** Output: each layer's input column at this frame, `[layers, B, width]` float32, to store for later steps. */
  columns: 'columns',
} as const;

/** Floats per stored column: the widest layer input (narrower columns are padded to it). */
export function stepWidth(layout: StepLayout): number {
  return Math.max(1, ...layout.layers.map((l) => l.in));
}

/** Sizes of a layout. */
export interface StepSizes {
  /** Floats of state per series: sum over layers of `((k - 1) * d + 1)` columns of {@link stepWidth} floats. */
  state: number;
  /** Entries of `tap_rows` per series: sum of `k - 1`. */
  taps: number;
}

/** Columns a layer's ring holds: its taps reach `(k - 1) d` frames back, and one more column keeps the new one apart from them. */
export function ringLength(layer: StepLayer): number {
  return (layer.kernel - 1) * layer.dilation + 1;
}

export function stepSizes(layout: StepLayout): StepSizes {
  const width = stepWidth(layout);
  let state = 0;
  let taps = 0;
  for (const l of layout.layers) {
    state += ringLength(l) * width;
    taps += l.kernel - 1;
  }
  return { state, taps };
}
/**
 * Checks a layout read from a graph (metadata is data: a damaged one must not size memory).
 * @throws SeismoError `ERR_MODEL_CORRUPT`.
 */
export function parseStepLayout(text: string | undefined, source: string): StepLayout {
  let raw: unknown;
  try {
    raw = JSON.parse(text ?? 'null');
  } catch {
    raw = null;
  }
  const ok =
    Array.isArray(raw) &&
    raw.length > 0 &&
    raw.length <= 256 &&
    raw.every(
      (l: unknown) =>
        typeof l === 'object' &&
        l !== null &&
        [(l as StepLayer).in, (l as StepLayer).dilation, (l as StepLayer).kernel].every((v) => Number.isInteger(v) && v >= 1 && v <= 65_536) &&
        (l as StepLayer).kernel >= 2,
    );
  if (!ok) throw new SeismoError('ERR_MODEL_CORRUPT', `${source}: metadata '${STEP_LAYOUT_KEY}' is not a list of {in, dilation, kernel >= 2}: export the model again`, { file: source });
  const layout = { layers: (raw as StepLayer[]).map((l) => ({ in: l.in, dilation: l.dilation, kernel: l.kernel })) };
  if (stepSizes(layout).state > 1 << 24) throw new SeismoError('ERR_MODEL_CORRUPT', `${source}: its step state would exceed 64 MB per series`, { file: source });
  return layout;
}

/**
 * The state of many series (slots): one store of rows of {@link stepWidth} floats, each a column
 * of one layer of one series (layer l's rows `[ring, slots]`, column of frame t of a series at
 * ring position `t mod ring`), which the step graph reads in place through `tap_rows`; and how
 * far each series has stepped. Nothing here allocates per step.
 */
export class StepStates {
  readonly sizes: StepSizes;
  readonly width: number;
  /** `[rows, width]` row-major: what the graph's `state` input views. */
  readonly store: Float32Array;
  /** Per slot: index (in the series) of the next frame the state expects. */
  readonly next: Float64Array;
  private readonly bases: Int32Array;
  private readonly rings: Int32Array;
  private readonly dilations: Int32Array;
  private readonly kernels: Int32Array;

  constructor(
    readonly layout: StepLayout,
    readonly slots: number,
  ) {
    this.sizes = stepSizes(layout);
    this.width = stepWidth(layout);
    this.rings = Int32Array.from(layout.layers, ringLength);
    this.dilations = Int32Array.from(layout.layers, (l) => l.dilation);
    this.kernels = Int32Array.from(layout.layers, (l) => l.kernel);
    this.bases = new Int32Array(layout.layers.length);
    let rows = 0;
    for (let l = 0; l < layout.layers.length; l++) {
      this.bases[l] = rows;
      rows += this.rings[l]! * slots;
    }
    this.store = new Float32Array(rows * this.width);
    this.next = new Float64Array(slots);
  }

  /** Rows of the store. */
  get rows(): number {
    return this.store.length / this.width;
  }

  /** Bytes of state per series (the rings; the frame counter adds 8). */
  get bytesPerSeries(): number {
    return this.sizes.state * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Forgets a slot's history: its next step is frame `from` of the series, after zero padding. */
  reset(slot: number, from: number): void {
    const F = this.width;
    for (let l = 0; l < this.rings.length; l++) {
      for (let p = 0; p < this.rings[l]!; p++) {
        const row = this.bases[l]! + p * this.slots + slot;
        this.store.fill(0, row * F, (row + 1) * F);
      }
    }
    this.next[slot] = from;
  }

  /**
   * Writes the `tap_rows` of frame `t` of `slot` at row `row` of `words`, the Int32Array view of
   * the `[B, taps]` BigInt64Array input (low words; the high words stay 0): per layer, the rows
   * of frames `t - (k-1)d, ..., t - d`, oldest first. Frames before the slot's last reset sit at
   * positions nothing has written since, so they read as the zero padding.
   */
  tapRows(slot: number, t: number, words: Int32Array, row: number): void {
    let o = 2 * row * this.sizes.taps;
    for (let l = 0; l < this.rings.length; l++) {
      const ring = this.rings[l]!;
      const d = this.dilations[l]!;
      const k = this.kernels[l]!;
      for (let j = 0; j < k - 1; j++) {
        const p = (((t - (k - 1 - j) * d) % ring) + ring) % ring;
        words[o] = this.bases[l]! + p * this.slots + slot;
        o += 2;
      }
    }
  }

  /**
   * Stores the `columns` output (`[layers, rows, width]`) of a call whose row r was frame
   * `frames[r]` of slot `slots[r]`, and advances those slots. Rows of consecutive slots at the
   * same frame go to consecutive rows of the store, so each run of them is one block copy per layer.
   */
  scatterRows(slots: Int32Array, frames: Float64Array, rows: number, columns: Float32Array): void {
    const F = this.width;
    let r = 0;
    while (r < rows) {
      const slot = slots[r]!;
      const t = frames[r]!;
      let end = r + 1;
      while (end < rows && slots[end] === slot + (end - r) && frames[end] === t) end++;
      for (let l = 0; l < this.rings.length; l++) {
        const dst = (this.bases[l]! + (t % this.rings[l]!) * this.slots + slot) * F;
        const src = (l * rows + r) * F;
        const n = (end - r) * F;
        if (n >= 64) {
          this.store.set(columns.subarray(src, src + n), dst);
        } else {
          for (let i = 0; i < n; i++) this.store[dst + i] = columns[src + i]!;
        }
      }
      for (let q = r; q < end; q++) this.next[slots[q]!] = frames[q]! + 1;
      r = end;
    }
  }
}
