/**
 * Per-series state of a step graph (`model.step.onnx`, see `training/export/step.ts`): the
 * history that each dilated causal convolution of the network needs to compute its output for
 * new frames, kept here in plain memory rather than in the graph.
 *
 * Why outside the graph: a layer's output at frame t reads its input at `t - (k-1)d, ..., t - d`,
 * so it needs the last `(k - 1) d` input columns, but a call that advances a series by T frames
 * reads only the oldest `min(T, d)` of them when k = 2 (the others are the call's own frames). So
 * the caller copies exactly the columns a call reads into its `history_l` inputs, and stores the new
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
  /** Input: T new raw frames per series `[T, B, C]` float32, time-major (frames past a series' own are padding: their outputs are ignored). */
  frames: 'frames',
  /**
   * Output of step graphs exported before 2026-11-30 09:00: every layer's input at each new frame,
   * `[T * B * width]` float32, layer after layer a `[T, B, in]` block (now one output per layer,
   * {@link stepColumns}; the scorer reads either).
   */
  columns: 'columns',
} as const;

/**
 * Name of the output holding layer `l`'s input at each new frame: `T * B * in` float32 values in
 * `[T, B, in]` order (declared `[T, B, in]` or `[T * B, in]`), which the caller stores for later calls.
 */
export function stepColumns(l: number): string {
  return `columns_${l}`;
}

/**
 * Name of the output of a step graph's tails form (`./step-tails.ts`) holding layer `l`'s input
 * at the call's last `min(T, (k-1)d + P)` frames (P: {@link TAIL_PAD}), in the order and rank of
 * its `columns_l` (`[F, B, in]`, or `[F B, in]` rows).
 */
export function stepTail(l: number): string {
  return `tail_${l}`;
}

/**
 * Input of the tails form: `[1]` int64, the most frames by which a series of the call is padded
 * (T minus its real frames); each tail holds that many frames more.
 */
export const TAIL_PAD = 'seismo_tail_pad';

/**
 * Name of the input holding layer `l`'s past columns, `[m, B, in]` float32 (time-major) with m =
 * {@link historyRows}: its input at frames `t0 - (k-1)d, t0 - (k-1)d + 1, ...` (oldest first), for
 * a call whose first new frame is t0.
 */
export function historyInput(l: number): string {
  return `history_${l}`;
}

/** Floats of every layer's input side by side (a frame's share of `columns`). */
export function stepWidth(layout: StepLayout): number {
  return layout.layers.reduce((sum, l) => sum + l.in, 0);
}

/** Offset of each layer's input in {@link stepWidth} (its block of `columns` starts at T B times it). */
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
 * Past columns a layer reads in a call of T frames per series: a kernel-2 layer the oldest
 * `min(T, d)` of its last d (later taps are the call's own frames), a wider one all `(k - 1) d`
 * (its taps interleave with the call's frames).
 */
export function historyRows(layer: StepLayer, frames: number): number {
  return layer.kernel === 2 ? Math.min(frames, layer.dilation) : ringLength(layer);
}

/** Sizes of a layout. */
export interface StepSizes {
  /** Floats of state per series: sum over layers of `(k - 1) d` columns of `in` floats. */
  state: number;
  /** Floats of every layer's input side by side ({@link stepWidth}). */
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
 * copies what a call reads into the `history_l` inputs ({@link gather}) and the call's new columns back
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
  private readonly kernels: Int32Array;

  constructor(
    readonly layout: StepLayout,
    readonly slots: number,
  ) {
    this.sizes = stepSizes(layout);
    this.rings = Int32Array.from(layout.layers, ringLength);
    this.ins = Int32Array.from(layout.layers, (l) => l.in);
    this.kernels = Int32Array.from(layout.layers, (l) => l.kernel);
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

  /**
   * Writes the past columns that a call of T frames (`rows` series) whose first frame is `t0`
   * reads, for `run` consecutive slots from `slot` (rows `row ..` of the call), into each layer's
   * `history_l` input (`histories[l]`, `[m_l, rows, in_l]` as 32-bit words: an Int32Array over
   * the float32 input; m_l = {@link historyRows}): frames `t0 - (k-1)d, ...`. Each frame of each
   * layer is one block copy for the whole run (the rings hold the same frame of consecutive slots
   * side by side, as the input does). Frames before a slot's last reset read as zeros (nothing
   * has written their ring positions since).
   */
  gather(slot: number, t0: number, T: number, histories: readonly Int32Array[], row: number, rows: number, run = 1): void {
    const store = this.bits;
    for (let l = 0; l < this.rings.length; l++) {
      const R = this.rings[l]!;
      const cin = this.ins[l]!;
      const m = this.kernels[l] === 2 ? Math.min(T, R) : R;
      const stride = this.slots * cin;
      const history = histories[l]!;
      let p = (((t0 - R) % R) + R) % R;
      const from = this.bases[l]! + slot * cin;
      for (let j = 0; j < m; j++) {
        copyWords(history, (j * rows + row) * cin, store, from + p * stride, run * cin);
        if (++p === R) p = 0;
      }
    }
  }

  /**
   * Stores the columns of frames `t0 .. t0 + count - 1` of `run` consecutive slots from `slot`
   * (rows `row ..` of a call of T frames of `rows` series) from `columns` (per layer, as 32-bit
   * words, its `[T, rows, in_l]` output, see {@link stepColumns}; only the last `(k-1)d` frames
   * matter to a layer), one block copy per frame and layer, and advances those slots.
   * @param firsts per layer, the call's first frame that `columns[l]` holds (its tail only, see
   *   `./step-tails.ts`: frames `firsts[l] .. T - 1`); omitted, all T.
   */
  scatter(slot: number, t0: number, count: number, columns: readonly Int32Array[], row: number, T: number, rows: number, run = 1, firsts?: Int32Array): void {
    const store = this.bits;
    for (let l = 0; l < this.rings.length; l++) {
      const R = this.rings[l]!;
      const cin = this.ins[l]!;
      const stride = this.slots * cin;
      const skip = Math.max(0, count - R);
      let p = (t0 + skip) % R;
      const to = this.bases[l]! + slot * cin;
      const from = columns[l]!;
      const first = firsts ? firsts[l]! : 0;
      if (skip < first) throw new Error(`step state: layer ${l} holds frames from ${first} of the call, ${skip} is needed`);
      for (let q = skip; q < count; q++) {
        copyWords(store, to + p * stride, from, ((q - first) * rows + row) * cin, run * cin);
        if (++p === R) p = 0;
      }
    }
    for (let i = 0; i < run; i++) this.next[slot + i] = t0 + count;
  }
}

/** Copies `n` words: a block copy when long enough to be worth its view, else a loop. */
function copyWords(dst: Int32Array, at: number, src: Int32Array, from: number, n: number): void {
  if (n >= 64) {
    dst.set(src.subarray(from, from + n), at);
  } else {
    for (let i = 0; i < n; i++) dst[at + i] = src[from + i]!;
  }
}
