/**
 * Scores stride-1 windows with a step graph (see `./step-state.ts`): each window's score is the
 * step graph's output at the window's last frame, after stepping the series' state through every
 * frame since its last step. Each onnxruntime call advances every series that has frames left in
 * the batch by up to T frames (one row per series, `[T, rows, C]`), so a call serves as many
 * series as the batch holds and as many frames of each as it has (T = 1 in steady streaming,
 * more when a batch brings several windows of a series): the fixed cost of a call is shared by
 * all of them.
 *
 * A window whose series' state is not just before it (the series is new to this scorer, windows
 * were skipped, or a batch is scored again after a worker restart) starts
 * from a zero state at the window's first frame: the window graph's own zero padding, so that
 * window's score is the window graph's exactly, and the windows after it too when the window
 * covers the network's receptive field (the condition under which a step graph is exported).
 *
 * Drop-oldest overflow: a frame that the main thread overwrites in the ring before this worker
 * reads it enters the series' state as a wrong frame, and stays in it while it is within the
 * network's reach (63 frames for the default DC-VAE). Every window whose score depends on it ends
 * within that reach after it, so (the window covering the reach) starts at or before it: at
 * delivery the pipeline finds each such window overwritten and drops it (NaN score, counted in
 * `windowsDropped`), as it does on the window path. No score computed from a wrong frame is
 * delivered, and the state is right again for the first window that starts after that frame
 * (`test/detector-step.test.ts` checks every delivered score against the window graph on the
 * true frames while the rings wrap under the batches in flight).
 *
 * Why one file of ~540 lines: `score` plans a batch (which series advance by how many frames,
 * whose state restarts), feeds the calls and scatters their outputs, all on the same per-row
 * scratch arrays; split, those arrays would have to travel between files as one more object.
 */
import type * as ort from 'onnxruntime-node';
import { ActivitySums } from './step-activity.js';
import { STEP_IO, type StepLayout, StepStates, historyInput, historyRows, ringLength, stepColumns, stepOffsets, stepTail, TAIL_PAD } from './step-state.js';

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
  /**
   * Most frames (rows x T) one call steps. Default 16,384: bounds the scratch (a call of the
   * default DC-VAE holds ~1.3 KB per frame of inputs and outputs) while leaving room for 1,024
   * series at T = 16 or one series at T = 64.
   */
  maxFramesPerCall?: number;
  /**
   * Most frames of one series per call (T). Default 2,048: onnxruntime's cost per call is about
   * as much as ~100 frames' work (its operators' dispatch, the step graph has ~130), so one series
   * catching up on a batch's frames is cheapest in calls of thousands of frames (a call per
   * series at T = 64 cost 2.7 us of CPU per frame, at T = 1,024-2,048 1.0-1.3 us; 100 series x 41
   * frames 1.0 us).
   */
  maxT?: number;
  /**
   * The scaler's per-channel std (raw units): also return `channel_activity` `[N, C]`, each
   * channel's mean absolute step over the window in scaled units (the window graph's output of
   * that name), kept per series as frames are stepped (a running sum over the window's last
   * W - 1 steps) rather than recomputed over the window for every point.
   */
  activityStd?: ArrayLike<number>;
  /**
   * The step graph's tails form (`tailStepGraph`, `./step-tails.ts`): used for the calls in which
   * every series advances by the same T frames and the tails are at most half the columns (T of
   * ~13 and more for the default DC-VAE), the others going through the session the scorer is
   * made with.
   */
  tailSession?: ort.InferenceSession;
}

/** Name of the activity output (the window graph's `channel_activity`). */
const ACTIVITY = 'channel_activity';

export class StepScorer {
  readonly states: StepStates;
  private readonly maxFrames: number;
  private readonly maxT: number;
  private framesBuf = new Float32Array(0);
  /** Per layer: its `history_l` input's scratch, and the same memory as 32-bit words. */
  private historyBufs: Float32Array[];
  private historyBits: Int32Array[];
  private readonly historyNames: string[];
  /** Per frame of a call: the activity of the window ending there (`[T, rows, C]`, as the frames), when kept. */
  private activityBuf = new Float32Array(0);
  private readonly activity: ActivitySums | undefined;
  /**
   * Outputs fetched besides `columns`: each one's shape after `[T, B]` and floats per frame (known
   * after the first call, until then `tail` undefined), and the buffer onnxruntime writes it into.
   */
  private readonly fetched: { name: string; tail: number[] | undefined; width: number; buf: Float32Array }[];
  /** Per requested output: its entry of `fetched` (undefined for the activity, kept here). */
  private readonly fetchOf: ({ name: string; tail: number[] | undefined; width: number; buf: Float32Array } | undefined)[];
  // Per requested output, during a call: where its values of the call are, their floats per
  // frame, and the batch's window-major result it is copied into.
  private readonly data: Float32Array[];
  private readonly widths: Int32Array;
  private readonly res: (Float32Array | undefined)[];
  /**
   * Whether the graph has one `columns_l` output per layer (else the one `columns` output of
   * graphs exported before them, see `STEP_IO.columns`).
   */
  private readonly perLayer: boolean;
  /**
   * Where onnxruntime writes the columns (preallocated: the largest outputs, ~1 KB per frame, not
   * allocated per call): per layer, or one buffer for all (`columns`) at index 0.
   */
  private columnBufs: Float32Array[];
  /** Per layer: the rank its `columns_l` output is declared with (2: `[T B, in]`, 3: `[T, B, in]`), 0 until a first call told. */
  private readonly columnRanks: Int32Array;
  /** Per layer, during a call: its columns as 32-bit words (views of `columnBufs`). */
  private readonly columnBits: Int32Array[];
  private readonly columnOffsets: number[];
  /** The tails session, when given and its outputs are the layers' tails (see `StepScorerOptions.tailSession`). */
  private readonly tails: ort.InferenceSession | undefined;
  /** Per layer: the rank of its `tail_l` output (as its `columns_l`'s), and where the tails session writes it. */
  private readonly tailRanks: Int32Array;
  private tailBufs: Float32Array[];
  /** Per layer, during a call: the call's first frame its columns hold (0, or T - its tail's frames). */
  private readonly firsts: Int32Array;
  /** Per layer: the columns its ring keeps, (k - 1) d; and its input features. */
  private readonly rings: Int32Array;
  private readonly ins: Int32Array;
  /** Whether the call being planned goes through the tails session, and its padding P (set by framesPerRow). */
  private useTails = false;
  private tailPad = 0;
  /** The tails session's {@link TAIL_PAD} input: one value, rewritten per call. */
  private readonly padValue = new BigInt64Array(1);
  /** onnxruntime calls made through the tails session (included in `runs`). */
  tailRuns = 0;
  // Per active row (series) of a round: its pending window (next output), next frame, last frame
  // of its current run of windows, frames in this call.
  private rowWindow = new Int32Array(0);
  private rowFrame = new Float64Array(0);
  private rowEnd = new Float64Array(0);
  private rowCount = new Int32Array(0);
  private rowSlot = new Int32Array(0);
  /** Per frame of a call (`[T, rows]`): the window of the batch that ends there, or -1. */
  private winAt = new Int32Array(0);
  // Per window of a batch (see score).
  private nextInChain = new Int32Array(0);
  private fresh = new Uint8Array(0);
  private runEnd = new Float64Array(0);
  // Per slot, while planning a batch: last window of its chain, where its next window continues,
  // and the batch that wrote these (stale entries of earlier batches are ignored, not cleared).
  private readonly planLast: Int32Array;
  private readonly planNext: Float64Array;
  private readonly planStamp: Int32Array;
  private batchStamp = 0;
  /** onnxruntime calls made (for benchmarks and tests). */
  runs = 0;
  /** Frames stepped (padding excluded). */
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
    this.maxFrames = Math.max(1, o.maxFramesPerCall ?? 16_384);
    this.maxT = Math.max(1, Math.min(o.maxT ?? 2048, this.maxFrames));
    this.historyNames = layout.layers.map((_, l) => historyInput(l));
    this.historyBufs = layout.layers.map(() => new Float32Array(0));
    this.historyBits = layout.layers.map(() => new Int32Array(0));
    this.perLayer = session.outputNames.includes(stepColumns(0));
    this.columnBufs = layout.layers.map(() => new Float32Array(0));
    this.columnRanks = new Int32Array(layout.layers.length);
    this.columnBits = layout.layers.map(() => new Int32Array(0));
    this.columnOffsets = stepOffsets(layout);
    this.rings = Int32Array.from(layout.layers, ringLength);
    this.ins = Int32Array.from(layout.layers, (l) => l.in);
    this.firsts = new Int32Array(layout.layers.length);
    this.tailBufs = layout.layers.map(() => new Float32Array(0));
    this.tailRanks = new Int32Array(layout.layers.length);
    const tails = o.tailSession;
    if (tails && this.perLayer) {
      layout.layers.forEach((_, l) => {
        const m = tails.outputMetadata.find((v) => v.name === stepTail(l));
        this.tailRanks[l] = m && m.isTensor ? m.shape.length : 0;
      });
    }
    this.tails = tails && this.tailRanks.every((r) => r === 2 || r === 3) ? tails : undefined;
    this.fetched = o.outputs.filter((name) => name !== ACTIVITY).map((name) => ({ name, tail: undefined, width: 0, buf: new Float32Array(0) }));
    this.fetchOf = o.outputs.map((name) => this.fetched.find((f) => f.name === name));
    this.data = o.outputs.map(() => new Float32Array(0));
    this.widths = new Int32Array(o.outputs.length);
    this.res = o.outputs.map(() => undefined);
    if (o.activityStd && o.window >= 2) this.activity = new ActivitySums(o.channels, o.window, o.slots, o.activityStd);
  }

  /**
   * Scores `n` windows of stride-1 streams.
   * @param slots series of each window; a series' windows come in time order.
   * @param starts index (in its series) of each window's first frame.
   * @param source frames, row-major `[rows, C]`.
   * @param rows row in `source` of each window's first frame (the window's frames follow it).
   * @param into where to write outputs, by name, each exactly `n` windows long (the inference
   *   worker passes views of the request's outbox slot, see `./outbox.ts`); the others (and any
   *   of another length) are allocated.
   * @returns each requested output, window-major (`[n]`, `[n, C]`, ...): `into`'s own arrays
   *   for the names it had.
   */
  async score(n: number, slots: ArrayLike<number>, starts: ArrayLike<number>, source: Float32Array, rows: ArrayLike<number>, into?: Readonly<Record<string, Float32Array | undefined>>): Promise<Record<string, Float32Array>> {
    const W = this.o.window;
    const C = this.o.channels;
    const states = this.states;
    this.ensureBatch(n);
    // Chains: each series' windows of this batch, in order; `fresh` marks a window that starts
    // over from a zero state at its first frame. A run is a fresh window and the windows that
    // continue it; `runEnd` is the last frame it steps to.
    const { nextInChain, fresh, runEnd } = this;
    const stamp = ++this.batchStamp;
    let active = 0;
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      const s = starts[i]!;
      const chained = this.planStamp[slot] === stamp;
      const at = chained ? this.planNext[slot]! : states.next[slot]!;
      nextInChain[i] = -1;
      // Otherwise a gap, a fresh series, or a window stepped before: start over at the window (zero padding).
      fresh[i] = at >= s && at <= s + W - 1 ? 0 : 1;
      if (chained) {
        nextInChain[this.planLast[slot]!] = i;
      } else {
        this.planStamp[slot] = stamp;
        this.rowWindow[active] = i;
        this.rowFrame[active] = fresh[i] ? s : at;
        active++;
      }
      this.planLast[slot] = i;
      this.planNext[slot] = s + W;
    }
    for (let i = n - 1; i >= 0; i--) {
      const next = nextInChain[i]!;
      runEnd[i] = next >= 0 && !fresh[next] ? runEnd[next]! : starts[i]! + W - 1;
    }
    for (let r = 0; r < active; r++) {
      const i = this.rowWindow[r]!;
      this.rowEnd[r] = runEnd[i]!;
      if (fresh[i]) this.reset(slots[i]!, starts[i]!);
    }

    const results: Record<string, Float32Array> = {};
    // Each output's destination (window-major) and, once known, its floats per frame.
    const outputs = this.o.outputs;
    const res = this.res;
    for (let k = 0; k < outputs.length; k++) res[k] = undefined;
    while (active > 0) {
      const T = this.framesPerRow(active);
      this.ensureCall(active, T);
      const framesBuf = this.framesBuf;
      const activity = this.activity;
      for (let r = 0; r < active; r++) {
        const t0 = this.rowFrame[r]!;
        const count = Math.min(T, this.rowEnd[r]! - t0 + 1);
        this.rowCount[r] = count;
        // Frame t lies in the first pending window that ends at or after it (a run's windows
        // overlap or touch, so that window also starts at or before t).
        let p = this.rowWindow[r]!;
        const slot = slots[p]!;
        this.rowSlot[r] = slot;
        for (let q = 0; q < count; q++) {
          const t = t0 + q;
          while (starts[p]! + W - 1 < t) p = nextInChain[p]!;
          const src = (rows[p]! + (t - starts[p]!)) * C;
          const dst = (q * active + r) * C;
          for (let c = 0; c < C; c++) framesBuf[dst + c] = source[src + c]!;
        }
        if (activity) activity.stepRun(slot, t0, count, framesBuf, r, active, this.activityBuf);
        // Padding past the series' own frames: its outputs are ignored and, the graph being
        // causal, it changes none of the real ones; zeros keep it finite.
        for (let q = count; q < T; q++) framesBuf.fill(0, (q * active + r) * C, (q * active + r + 1) * C);
      }
      // Past columns, by runs of rows of consecutive slots at the same frame (series that tick
      // together): one block copy per layer and run where each reads one column.
      for (let r = 0; r < active; ) {
        const e = this.runOf(r, active);
        states.gather(this.rowSlot[r]!, this.rowFrame[r]!, T, this.historyBits, r, active, e - r);
        r = e;
      }
      const feeds: Record<string, ort.Tensor> = { [STEP_IO.frames]: new this.Tensor('float32', framesBuf.subarray(0, active * T * C), [T, active, C]) };
      const layers = states.layout.layers;
      for (let l = 0; l < layers.length; l++) {
        const m = historyRows(layers[l]!, T);
        feeds[this.historyNames[l]!] = new this.Tensor('float32', this.historyBufs[l]!.subarray(0, active * m * layers[l]!.in), [m, active, layers[l]!.in]);
      }
      const fetches: Record<string, ort.Tensor | null> = {};
      const bufs = this.columnBufs;
      const tails = this.useTails ? this.tails : undefined;
      if (tails) {
        for (let l = 0; l < layers.length; l++) {
          const cin = layers[l]!.in;
          const F = Math.min(T, this.rings[l]! + this.tailPad);
          this.firsts[l] = T - F;
          const need = active * F * cin;
          if (this.tailBufs[l]!.length < need) this.tailBufs[l] = new Float32Array(Math.max(need, 2 * this.tailBufs[l]!.length));
          fetches[stepTail(l)] = new this.Tensor('float32', this.tailBufs[l]!.subarray(0, need), this.tailRanks[l] === 2 ? [F * active, cin] : [F, active, cin]);
        }
      } else if (this.perLayer) {
        this.firsts.fill(0);
        for (let l = 0; l < layers.length; l++) {
          const cin = layers[l]!.in;
          const name = stepColumns(l);
          const rank = this.columnRanks[l]!;
          if (rank === 0) {
            fetches[name] = null; // first call: onnxruntime says the shape (see below)
            continue;
          }
          const need = active * T * cin;
          if (bufs[l]!.length < need) bufs[l] = new Float32Array(Math.max(need, 2 * bufs[l]!.length));
          fetches[name] = new this.Tensor('float32', bufs[l]!.subarray(0, need), rank === 2 ? [T * active, cin] : [T, active, cin]);
        }
      } else {
        this.firsts.fill(0);
        const width = active * T * states.sizes.width;
        if (bufs[0]!.length < width) bufs[0] = new Float32Array(Math.max(width, 2 * bufs[0]!.length));
        fetches[STEP_IO.columns] = new this.Tensor('float32', bufs[0]!.subarray(0, width), [width]);
      }
      // The score outputs into buffers of this scorer too (once their shapes are known from a
      // first call): onnxruntime then allocates no output per call.
      const fetched = this.fetched;
      for (let k = 0; k < fetched.length; k++) {
        const f = fetched[k]!;
        if (!f.tail) {
          fetches[f.name] = null;
          continue;
        }
        const need = T * active * f.width;
        if (f.buf.length < need) f.buf = new Float32Array(Math.max(need, 2 * f.buf.length));
        fetches[f.name] = new this.Tensor('float32', f.buf.subarray(0, need), [T, active, ...f.tail]);
      }
      if (tails) {
        this.padValue[0] = BigInt(this.tailPad);
        feeds[TAIL_PAD] = new this.Tensor('int64', this.padValue, [1]);
      }
      const out = await (tails ?? this.session).run(feeds, fetches);
      this.runs++;
      if (tails) this.tailRuns++;
      const columns = this.columnBits;
      for (let l = 0; l < layers.length; l++) {
        if (tails) {
          // The layer's last frames of the call (see firsts), in the scorer's own buffer.
          const len = active * (T - this.firsts[l]!) * layers[l]!.in;
          const data = this.tailBufs[l]!;
          if (columns[l]!.buffer !== data.buffer || columns[l]!.byteOffset !== data.byteOffset || columns[l]!.length !== len) columns[l] = new Int32Array(data.buffer, data.byteOffset, len);
          continue;
        }
        const len = active * T * layers[l]!.in;
        if (this.perLayer && this.columnRanks[l] === 0) {
          // First call: the output's rank, and onnxruntime's own buffer this time (then reused).
          const got = out[stepColumns(l)]!;
          this.columnRanks[l] = got.dims.length;
          bufs[l] = got.data as Float32Array;
        }
        // Layer after layer in the one `columns` buffer, else each in its own.
        const data = this.perLayer ? bufs[l]! : bufs[0]!;
        const at = this.perLayer ? 0 : active * T * this.columnOffsets[l]!;
        if (columns[l]!.buffer !== data.buffer || columns[l]!.byteOffset !== data.byteOffset + 4 * at || columns[l]!.length !== len) columns[l] = new Int32Array(data.buffer, data.byteOffset + 4 * at, len);
      }
      // The outputs once per call (not per window): data, floats per frame, and the result arrays.
      for (let k = 0; k < fetched.length; k++) {
        const f = fetched[k]!;
        if (f.tail) continue;
        // First call: this output's shape after [T, B], and onnxruntime's own buffer this time.
        const got = out[f.name]!;
        f.tail = got.dims.slice(2);
        f.width = f.tail.reduce((a, b) => a * b, 1);
        f.buf = got.data as Float32Array;
      }
      for (let k = 0; k < outputs.length; k++) {
        const name = outputs[k]!;
        const f = this.fetchOf[k];
        if (!f && !activity) continue;
        const w = f ? f.width : C;
        this.data[k] = f ? f.buf : this.activityBuf;
        this.widths[k] = w;
        if (!res[k]) {
          const target = into?.[name];
          res[k] = results[name] = target && target.length === n * w ? target : new Float32Array(n * w);
        }
      }
      for (let r = 0; r < active; ) {
        const e = this.runOf(r, active);
        states.scatter(this.rowSlot[r]!, this.rowFrame[r]!, this.rowCount[r]!, columns, r, T, active, e - r, this.firsts);
        r = e;
      }
      // Per frame of the call (`[T, rows]`): the window that ends there, or -1.
      const cells = active * T;
      const winAt = this.winAt;
      winAt.fill(-1, 0, cells);
      let kept = 0;
      // Whether every window of the call sits at its own index among the call's frames: batches
      // of series ticking together (window-major by tick, rows in the order the series first
      // appear) come that way, and then each output is one block copy.
      let inPlace = true;
      let placed = 0;
      for (let r = 0; r < active; r++) {
        let i = this.rowWindow[r]!;
        const t0 = this.rowFrame[r]!;
        const count = this.rowCount[r]!;
        const slot = slots[i]!;
        this.steps += count;
        // The windows that end at these frames (at most one per frame within a run).
        for (let q = 0; q < count && i >= 0; q++) {
          if (starts[i]! + W - 1 !== t0 + q) continue;
          winAt[q * active + r] = i;
          if (i !== q * active + r) inPlace = false;
          placed++;
          i = nextInChain[i]!;
          if (i >= 0 && fresh[i]) break;
        }
        let t = t0 + count;
        if (t > this.rowEnd[r]!) {
          if (i < 0) continue; // the series is done for this batch
          // The next window starts a new run from a zero state.
          this.reset(slot, starts[i]!);
          t = starts[i]!;
          this.rowEnd[r] = runEnd[i]!;
        }
        // Rows only move down (kept <= r), so compacting in place is safe.
        this.rowWindow[kept] = i;
        this.rowFrame[kept] = t;
        this.rowEnd[kept] = this.rowEnd[r]!;
        kept++;
      }
      // The outputs of the windows ending in this call, in the call's order (reads in sequence,
      // and consecutive rows are mostly consecutive windows of the batch): copied per window
      // inside the loop above, the reads and writes jumped by a row of series each time.
      // Every window of the batch in this call, each at its own index: the first n cells are the
      // batch's windows in order (the cells past them are padding).
      const block = inPlace && placed === n;
      for (let k = 0; k < outputs.length; k++) {
        const dst = res[k];
        if (!dst) continue;
        const width = this.widths[k]!;
        const src = this.data[k]!;
        if (block) {
          dst.set(src.subarray(0, n * width));
          continue;
        }
        if (width === 1) {
          for (let x = 0; x < cells; x++) {
            const i = winAt[x]!;
            if (i >= 0) dst[i] = src[x]!;
          }
          continue;
        }
        for (let x = 0; x < cells; x++) {
          const i = winAt[x]!;
          if (i < 0) continue;
          const to = i * width;
          const from = x * width;
          for (let w = 0; w < width; w++) dst[to + w] = src[from + w]!;
        }
      }
      active = kept;
    }
    // No windows, or an output this scorer cannot give (the activity without its std).
    for (const name of outputs) results[name] ??= new Float32Array(0);
    return results;
  }

  /**
   * Frames per row (T) of the next call: the most any active series has left (within the caps),
   * halved while padding would be more than half of the call's frames (one series catching up on
   * a backlog beside many with one frame each).
   */
  private framesPerRow(active: number): number {
    let most = 1;
    for (let r = 0; r < active; r++) most = Math.max(most, this.rowEnd[r]! - this.rowFrame[r]! + 1);
    let T = Math.min(most, this.maxT, Math.max(1, Math.floor(this.maxFrames / active)));
    while (T > 1) {
      let real = 0;
      for (let r = 0; r < active; r++) real += Math.min(T, this.rowEnd[r]! - this.rowFrame[r]! + 1);
      if (2 * real >= active * T) break;
      T = Math.ceil(T / 2);
    }
    this.useTails = false;
    if (this.tails && T > 1) {
      // The tails reach back P frames more than the rings, P the most padding of a row (its real
      // frames end P before the call's last): worth it when they are at most half the columns.
      let fewest = T;
      for (let r = 0; r < active; r++) fewest = Math.min(fewest, this.rowEnd[r]! - this.rowFrame[r]! + 1);
      if (this.tailsPay(T, T - fewest)) {
        this.useTails = true;
        this.tailPad = T - fewest;
      }
    }
    return T;
  }

  /** Whether the layers' tails at T frames with padding P are at most half of their columns. */
  private tailsPay(T: number, P: number): boolean {
    let tails = 0;
    let all = 0;
    for (let l = 0; l < this.rings.length; l++) {
      tails += this.ins[l]! * Math.min(T, this.rings[l]! + P);
      all += this.ins[l]! * T;
    }
    return 2 * tails <= all;
  }

  /** End of the run of rows from `r`: consecutive slots at the same first frame and frame count. */
  private runOf(r: number, active: number): number {
    const slot = this.rowSlot[r]!;
    const t0 = this.rowFrame[r]!;
    const count = this.rowCount[r]!;
    let e = r + 1;
    while (e < active && this.rowSlot[e] === slot + (e - r) && this.rowFrame[e] === t0 && this.rowCount[e] === count) e++;
    return e;
  }

  /** Starts `slot` over from a zero state at frame `from` (the step state and the activity sums). */
  private reset(slot: number, from: number): void {
    this.states.reset(slot, from);
    this.activity?.reset(slot);
  }

  /** Grows the per-window and per-row scratch to a batch of `n` windows (rows never exceed windows). */
  private ensureBatch(n: number): void {
    if (this.nextInChain.length >= n) return;
    this.nextInChain = new Int32Array(n);
    this.fresh = new Uint8Array(n);
    this.runEnd = new Float64Array(n);
    this.rowWindow = new Int32Array(n);
    this.rowFrame = new Float64Array(n);
    this.rowEnd = new Float64Array(n);
    this.rowCount = new Int32Array(n);
    this.rowSlot = new Int32Array(n);
  }

  /** Grows the input scratch to a call of `rows` x `T` frames (grows only: no allocation in steady state). */
  private ensureCall(rows: number, T: number): void {
    if (this.winAt.length < rows * T) this.winAt = new Int32Array(Math.max(rows * T, 2 * this.winAt.length));
    const frames = rows * T * this.o.channels;
    if (this.framesBuf.length < frames) this.framesBuf = new Float32Array(Math.max(frames, 2 * this.framesBuf.length));
    if (this.activity && this.activityBuf.length < frames) this.activityBuf = new Float32Array(Math.max(frames, 2 * this.activityBuf.length));
    const layers = this.states.layout.layers;
    for (let l = 0; l < layers.length; l++) {
      const need = rows * historyRows(layers[l]!, T) * layers[l]!.in;
      if (this.historyBufs[l]!.length < need) {
        this.historyBufs[l] = new Float32Array(Math.max(need, 2 * this.historyBufs[l]!.length));
        this.historyBits[l] = new Int32Array(this.historyBufs[l]!.buffer);
      }
    }
  }
}
