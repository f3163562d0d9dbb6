/**
 * Per-series state of a step graph (`model.step.onnx`, see `training/export/step.ts`): the
 * history that each dilated causal convolution of the network needs to compute its output for
 * new frames, kept here in plain memory rather than in the graph.
 *
 * Why outside the graph: a layer's output at frame t reads its input at `t - (k-1)d, ..., t - d`,
 * so it needs the last `(k - 1) d` input columns, but a call that advances a series by T frames
 * reads only the oldest `min(T, d)` of them when k = 2 (the others are the call's own frames). So
 * the caller copies exactly the columns a call reads into its `history` input, and stores the new
 * columns the call returns: for one new frame per series (steady streaming), one column per layer
 * each way (about 1 KB per point for the default DC-VAE), and nothing is shifted.
 *
 * Layout of one series' state: layer after layer, a ring of `(k - 1) d` columns of `in` floats
 * (column of frame t at ring position `t mod ((k - 1) d)`): the least any cache of the layer holds.
 * A fresh series' rings are zeros, which is what the window graph's causal zero padding feeds a
 * layer before the window's first frame: stepping through a window's frames from a zero state
 * reproduces that window's score.
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

/** Input and output names of a step graph (besides the kind's score outputs, each `[B, T, ...]`). */
export const STEP_IO = {
  /** Input: T new raw frames per series `[B, T, C]` float32 (frames past a series' own are padding: their outputs are ignored). */
  frames: 'frames',
  /**
   * Input: the past columns each layer reads, `[B, M, width]` float32 (M: {@link historyDepth}):
   * layer l's block is columns `offset_l .. offset_l + in_l` of a row ({@link stepOffsets}), its
   * rows `0 .. min(M, (k-1)d) - 1` the layer's input at frames `t0 - (k-1)d, t0 - (k-1)d + 1, ...`
   * (oldest first), for a call whose first frame is t0.
   */
  history: 'history',
  /** Output: every layer's input column at each new frame, `[B, T, width]` float32 (layer l at its offset), to store for later calls. */
  columns: 'columns',
} as const;

/** Floats per row of `history` and `columns`: every layer's input side by side. */
export function stepWidth(layout: StepLayout): number {
  return layout.layers.reduce((sum, l) => sum + l.in, 0);
}

/** Column offset of each layer's block in a row of `history` and `columns`. */
export function stepOffsets(layout: StepLayout): number[] {
  const out: number[] = [];
  let at = 0;
  for (const l of layout.layers) {
    out.push(at);
    at += l.in;
  }
  return out;
}

/** Columns a layer's ring holds: its taps reach `(k - 1) d` frames back. */
export function ringLength(layer: StepLayer): number {
  return (layer.kernel - 1) * layer.dilation;
}

/**
 * Rows of `history` (M) for a call of T frames per series: a kernel-2 layer reads `min(T, d)`
 * past columns, a wider one all `(k - 1) d` (its taps interleave with the call's own frames). The
 * graph takes `min(M, (k - 1) d)` rows of each layer's block.
 */
export function historyDepth(layout: StepLayout, frames: number): number {
  let m = 1;
  for (const l of layout.layers) m = Math.max(m, l.kernel === 2 ? Math.min(frames, l.dilation) : ringLength(l));
  return m;
}

/** Sizes of a layout. */
export interface StepSizes {
  /** Floats of state per series: sum over layers of `(k - 1) d` columns of `in` floats. */
  state: number;
  /** Floats of a row of `history` and `columns` ({@link stepWidth}). */
  width: number;
}

export function stepSizes(layout: StepLayout): StepSizes {
  let state = 0;
  for (const l of layout.layers) state += ringLength(l) * l.in;
  return { state, width: stepWidth(layout) };
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
 * The state of many series (slots): per layer, a ring of `(k - 1) d` positions (column of frame t
 * at position `t mod ((k - 1) d)`), each position holding that column of every slot side by side,
 * and how far each series has stepped. Series stepped together (the same frame of consecutive
 * slots, as a batch of many series brings them) thus read and write consecutive memory. The caller
 * copies what a call reads into `history` ({@link gather}) and the call's new columns back
 * ({@link scatter}). Nothing here allocates per call.
 */
export class StepStates {
  readonly sizes: StepSizes;
  /** All rings: layer after layer; within a layer `[position, slot, in]`. */
  readonly store: Float32Array;
  /** The same memory as 32-bit words: columns are copied bit for bit (no float conversion per value). */
  private readonly bits: Int32Array;
  /** Per slot: index (in the series) of the next frame the state expects (-Infinity: none, the next window starts afresh). */
  readonly next: Float64Array;
  private readonly bases: Int32Array;
  private readonly rings: Int32Array;
  private readonly ins: Int32Array;
  private readonly offsets: Int32Array;

  constructor(
    readonly layout: StepLayout,
    readonly slots: number,
  ) {
    this.sizes = stepSizes(layout);
    this.rings = Int32Array.from(layout.layers, ringLength);
    this.ins = Int32Array.from(layout.layers, (l) => l.in);
    this.offsets = Int32Array.from(stepOffsets(layout));
    this.bases = new Int32Array(layout.layers.length);
    let floats = 0;
    for (let l = 0; l < layout.layers.length; l++) {
      this.bases[l] = floats;
      floats += this.rings[l]! * this.ins[l]! * slots;
    }
    this.store = new Float32Array(floats);
    this.bits = new Int32Array(this.store.buffer);
    this.next = new Float64Array(slots).fill(Number.NEGATIVE_INFINITY);
  }

  /** Bytes of state per series (the rings; the frame counter adds 8). */
  get bytesPerSeries(): number {
    return this.sizes.state * Float32Array.BYTES_PER_ELEMENT;
  }

  /** Forgets a slot's history: its next step is frame `from` of the series, after zero padding. */
  reset(slot: number, from: number): void {
    for (let l = 0; l < this.rings.length; l++) {
      const cin = this.ins[l]!;
      for (let p = 0; p < this.rings[l]!; p++) {
        const at = this.bases[l]! + (p * this.slots + slot) * cin;
        this.store.fill(0, at, at + cin);
      }
    }
    this.next[slot] = from;
  }

  /** Forgets where a slot stands: its next window starts over from a zero state at the window's first frame. */
  forget(slot: number): void {
    this.next[slot] = Number.NEGATIVE_INFINITY;
  }

  /**
   * Writes the past columns that a call whose first frame of `slot` is `t0` reads into row `row`
   * of `history` (`[rows, M, width]`, as 32-bit words: an Int32Array over the float32 input): per layer, rows `0 .. min(M, (k-1)d) - 1` of its block hold
   * frames `t0 - (k-1)d, ...`. Frames before the slot's last reset read as zeros (nothing has
   * written their ring positions since).
   */
  gather(slot: number, t0: number, M: number, history: Int32Array, row: number): void {
    const Q = this.sizes.width;
    const store = this.bits;
    for (let l = 0; l < this.rings.length; l++) {
      const R = this.rings[l]!;
      const cin = this.ins[l]!;
      const m = Math.min(M, R);
      const base = this.bases[l]! + slot * cin;
      const stride = this.slots * cin;
      let p = (((t0 - R) % R) + R) % R;
      let dst = row * M * Q + this.offsets[l]!;
      for (let j = 0; j < m; j++) {
        const src = base + p * stride;
        for (let c = 0; c < cin; c++) history[dst + c] = store[src + c]!;
        dst += Q;
        if (++p === R) p = 0;
      }
    }
  }

  /**
   * Stores the columns of frames `t0 .. t0 + count - 1` of `slot` from row `row` of `columns`
   * (`[rows, T, width]` as 32-bit words; only the last `(k-1)d` of them matter to a layer) and
   * advances the slot.
   */
  scatter(slot: number, t0: number, count: number, columns: Int32Array, row: number, T: number): void {
    const Q = this.sizes.width;
    const store = this.bits;
    for (let l = 0; l < this.rings.length; l++) {
      const R = this.rings[l]!;
      const cin = this.ins[l]!;
      const base = this.bases[l]! + slot * cin;
      const stride = this.slots * cin;
      const first = Math.max(0, count - R);
      let p = (t0 + first) % R;
      let src = (row * T + first) * Q + this.offsets[l]!;
      for (let q = first; q < count; q++) {
        const dst = base + p * stride;
        for (let c = 0; c < cin; c++) store[dst + c] = columns[src + c]!;
        src += Q;
        if (++p === R) p = 0;
      }
    }
    this.next[slot] = t0 + count;
  }
}
