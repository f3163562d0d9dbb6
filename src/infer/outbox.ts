/**
 * Shared output slots of the inference workers: onnxruntime's outputs of a batch written by the
 * worker into memory the main thread already holds, instead of posted as new buffers.
 *
 * A posted result arrives on the main thread as fresh ArrayBuffers (a batch of 1024 windows of 38
 * channels: 160 kB), and that much new external memory per batch kept V8 collecting: at window 1,
 * where a batch takes onnxruntime half a millisecond, a full collection every ~100 ms took 13% of
 * the main thread (`--trace-gc` on `seismo bench --per-record`). The scoring pipeline owns one
 * outbox with a slot per batch in flight (made when first needed, at most `maxInFlight`); a
 * batch's outputs stay in its slot until the batch is delivered, then the slot is reused.
 */

/** What one slot holds: each output `[windows, width]` float32, row-major, one after the other. */
export interface OutboxLayout {
  /** Windows per slot (the detector's batch size). */
  windows: number;
  /** The outputs written into a slot, with their values per window (`score` 1, `channel_score` C, ...). */
  outputs: { name: string; width: number }[];
  /**
   * Channels C of the float64 `[windows, C]` region after the outputs where the worker writes each
   * window's `ln e_c` when a request asks (`channelLogTerms` in src/score/attribution.ts); 0: none.
   */
  logTerms: number;
}

/** The name a worker's reply gives the `ln e_c` region when it wrote it. */
export const OUTBOX_LOG_TERMS = 'ln_channel_term';

/** Float32 values of a slot's outputs, rounded up to whole float64s (the log region follows). */
function outputFloats(layout: OutboxLayout): number {
  let width = 0;
  for (const o of layout.outputs) width += o.width;
  const floats = width * layout.windows;
  return floats + (floats % 2);
}

/** Views of one slot's memory: the outputs by name (`[windows * width]` each) and the log region. */
function slotViews(buffer: SharedArrayBuffer, layout: OutboxLayout): { outputs: Map<string, Float32Array>; logTerms: Float64Array } {
  const outputs = new Map<string, Float32Array>();
  let at = 0;
  for (const o of layout.outputs) {
    outputs.set(o.name, new Float32Array(buffer, at * Float32Array.BYTES_PER_ELEMENT, o.width * layout.windows));
    at += o.width * layout.windows;
  }
  const logTerms = new Float64Array(buffer, outputFloats(layout) * Float32Array.BYTES_PER_ELEMENT, layout.logTerms * layout.windows);
  return { outputs, logTerms };
}

/** Bytes of one slot. */
function slotBytes(layout: OutboxLayout): number {
  return outputFloats(layout) * Float32Array.BYTES_PER_ELEMENT + layout.logTerms * layout.windows * Float64Array.BYTES_PER_ELEMENT;
}

/**
 * The slots of an outbox as one side sees them: `view(slot, name, n)` is output `name` of the
 * first `n` windows of `slot`, undefined for an output or slot it does not have.
 */
export class OutboxViews {
  private readonly slots: ReturnType<typeof slotViews>[] = [];

  constructor(readonly layout: OutboxLayout) {}

  /** Adds (or replaces) slot `slot` over `buffer`. */
  attach(slot: number, buffer: SharedArrayBuffer): void {
    this.slots[slot] = slotViews(buffer, this.layout);
  }

  view(slot: number, name: string, n: number): Float32Array | undefined {
    const full = this.slots[slot]?.outputs.get(name);
    if (!full) return undefined;
    const width = full.length / this.layout.windows;
    return n * width <= full.length ? full.subarray(0, n * width) : undefined;
  }

  /** The `ln e_c` region of the first `n` windows of `slot`; undefined when the layout has none. */
  logTerms(slot: number, n: number): Float64Array | undefined {
    const full = this.slots[slot]?.logTerms;
    if (!full || full.length === 0 || n > this.layout.windows) return undefined;
    return full.subarray(0, n * this.layout.logTerms);
  }
}

/** The main thread's outbox: its slots (each its own shared memory), their views and which are free. */
export class Outbox {
  private static nextId = 1;
  /** Names the outbox in the workers' requests (each worker registers each slot once). */
  readonly id = Outbox.nextId++;
  readonly views: OutboxViews;
  /** Each slot's memory, as the workers are handed it. */
  readonly buffers: SharedArrayBuffer[] = [];
  private readonly free: number[] = [];
  /** Per slot, the log spec its `ln e_c` region was last written with by a worker (see `logTermsOf`). */
  readonly logsWith: (object | undefined)[] = [];

  /** @param maxSlots batches whose outputs can be held at once (the pipeline's `maxInFlight`). */
  constructor(
    readonly layout: OutboxLayout,
    private readonly maxSlots: number,
  ) {
    this.views = new OutboxViews(layout);
  }

  /** A free slot (made on first need); undefined when `maxSlots` batches hold one each. */
  take(): number | undefined {
    const slot = this.free.pop();
    if (slot !== undefined) this.logsWith[slot] = undefined;
    if (slot !== undefined || this.buffers.length >= this.maxSlots) return slot;
    const buffer = new SharedArrayBuffer(slotBytes(this.layout));
    this.buffers.push(buffer);
    this.views.attach(this.buffers.length - 1, buffer);
    return this.buffers.length - 1;
  }

  /** The `ln e_c` of the first `n` windows of `slot` when a worker wrote them with `spec` (the very object), else undefined. */
  logTermsOf(slot: number, spec: object | undefined, n: number): Float64Array | undefined {
    return spec !== undefined && this.logsWith[slot] === spec ? this.views.logTerms(slot, n) : undefined;
  }

  /** Frees a slot once its batch is delivered (or given up). */
  give(slot: number): void {
    this.free.push(slot);
  }
}
