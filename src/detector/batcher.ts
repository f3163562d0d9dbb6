/**
 * The batching of windows across series: one native ring per series (slot), each series' clock
 * (frames written, last timestamp, the timestamps of retained frames), the queue of series with
 * windows ready, and the assembly of batches of up to `batchSize` windows, oldest series first.
 * The hot path (`store`) allocates nothing per sample: per-slot state lives in typed arrays.
 */
import { SeismoError } from '../errors.js';
import { FrameRings, type OverflowPolicy } from '../window/frame-rings.js';
import type { ThresholdRule } from '../threshold/index.js';
import type { LiveModel } from './versions.js';

/** Windows sent to one inference call. */
export interface Batch {
  size: number;
  slots: Int32Array;
  /** Index of each window's first frame in its series. */
  starts: Float64Array;
  /** The model version that scores and decides the batch (the live one when it was dispatched). */
  model: LiveModel;
  /** The rule that decides the batch: its version's rule when it was dispatched (see `setThresholdRule`). */
  rule: ThresholdRule;
}

/** Where a batch's windows lie in the arena, as the inference worker reads them. */
export interface BatchSpan {
  rowStart: number;
  rowCount: number;
  /** Window starts in rows relative to `rowStart`. */
  starts: BigInt64Array;
}

export interface BatcherOptions {
  window: number;
  stride: number;
  channels: number;
  capacity: number;
  batchSize: number;
  maxSeries: number;
  overflow: OverflowPolicy;
}

export class WindowBatcher {
  readonly rings: FrameRings;
  readonly window: number;
  readonly stride: number;
  readonly capacity: number;
  readonly batchSize: number;
  /** Complete windows stored and not yet dispatched. */
  pendingWindows = 0;
  /** Windows lost because drop-oldest overwrote their frames before they were scored. */
  windowsDropped = 0;
  framesPushed = 0;
  readonly seriesIds: string[] = [];
  private readonly slotOf = new Map<string, number>();
  // Per slot, as typed arrays so the hot path allocates nothing.
  private readonly written: Float64Array;
  /**
   * The ring's `released` mark per slot, kept here as the ring moves it (a release, and a
   * drop-oldest push that overwrites unreleased frames): `room()` runs for every series on every
   * `drain()`, and asking the native ring was a call and an object per series each time (~15% of
   * a stride-1 step detector's main thread at 100 series).
   */
  private readonly released: Float64Array;
  /** Per slot, the `release()` call that last released it (see there), and that call's number. */
  private readonly releasedIn: Float64Array;
  private releaseStamp = 0;
  private readonly nextStart: Float64Array;
  private readonly lastTime: Float64Array;
  private readonly times: Float64Array;
  private readonly queued: Uint8Array;
  private readonly queue: Int32Array;
  /** Each window's arena row while `span` runs (computed once, used twice). */
  private rowScratch: Float64Array;
  private queueHead = 0;
  private queueSize = 0;

  constructor(o: BatcherOptions) {
    this.window = o.window;
    this.stride = o.stride;
    this.capacity = o.capacity;
    this.batchSize = o.batchSize;
    this.rings = new FrameRings({ channels: o.channels, capacity: o.capacity, slots: o.maxSeries, overflow: o.overflow });
    this.written = new Float64Array(o.maxSeries);
    this.released = new Float64Array(o.maxSeries);
    this.releasedIn = new Float64Array(o.maxSeries);
    this.nextStart = new Float64Array(o.maxSeries);
    this.lastTime = new Float64Array(o.maxSeries).fill(-Infinity);
    this.times = new Float64Array(o.maxSeries * o.capacity);
    this.queued = new Uint8Array(o.maxSeries);
    this.queue = new Int32Array(o.maxSeries);
    this.rowScratch = new Float64Array(o.batchSize);
  }

  get slots(): number {
    return this.rings.slots;
  }

  /** The slot of a series, assigning the next free one to a new series. */
  slotFor(seriesId: string): number {
    let slot = this.slotOf.get(seriesId);
    if (slot === undefined) {
      slot = this.seriesIds.length;
      if (slot >= this.rings.slots) {
        throw new SeismoError('ERR_TOO_MANY_SERIES', `series '${seriesId}' would be number ${slot + 1}; this detector serves ${this.rings.slots}. Load it with a larger maxSeries.`, { seriesId });
      }
      this.slotOf.set(seriesId, slot);
      this.seriesIds.push(seriesId);
    }
    return slot;
  }

  /** The slot of a known series, or undefined. */
  find(seriesId: string): number | undefined {
    return this.slotOf.get(seriesId);
  }

  /** The last timestamp stored in a slot (-Infinity for a new series, `slot` undefined). */
  lastTimeOf(slot: number | undefined): number {
    return slot === undefined ? -Infinity : this.lastTime[slot]!;
  }

  /** Frames the slot's ring can take now without overwriting a window not yet scored. */
  room(slot: number): number {
    return this.capacity - (this.written[slot]! - this.released[slot]!);
  }

  /** Whether the ring of some series cannot take another frame. */
  anyFull(): boolean {
    for (let slot = 0; slot < this.seriesIds.length; slot++) if (this.room(slot) <= 0) return true;
    return false;
  }

  /**
   * Appends `count` frames (at most `capacity`) to a slot with their timestamps
   * (`timestamps[from .. from + count)`, validated by the caller) and queues its new windows. The
   * series' clock moves only once the ring has taken the frames: a push that throws changes nothing.
   */
  store(slot: number, timestamps: ArrayLike<number>, from: number, frames: Float32Array, count: number): void {
    const before = this.readyOf(slot);
    let at = this.rings.headOf(slot);
    const written = this.rings.push(slot, frames, count);
    const base = slot * this.capacity;
    for (let i = 0; i < count; i++) {
      this.times[base + at] = timestamps[from + i]!;
      at = at + 1 === this.capacity ? 0 : at + 1;
    }
    this.stored(slot, timestamps[from + count - 1]!, written, count, before);
  }

  /**
   * `store` of one frame (`Detector.push`): the same, with the timestamp as a number, so that the
   * per-sample path neither boxes it in an array nor shares `store`'s loop over every kind of
   * array `write()` is given.
   */
  storeOne(slot: number, timestamp: number, frame: Float32Array): void {
    const before = this.readyOf(slot);
    const at = this.rings.headOf(slot);
    const written = this.rings.push(slot, frame, 1);
    this.times[slot * this.capacity + at] = timestamp;
    this.stored(slot, timestamp, written, 1, before);
  }

  /** The clock and queue after `count` frames went into the ring of `slot` (its windows ready `before` then). */
  private stored(slot: number, last: number, written: number, count: number, before: number): void {
    this.lastTime[slot] = last;
    this.written[slot] = written;
    // Under drop-oldest a push past the capacity releases what it overwrites (the ring's rule).
    if (written - this.capacity > this.released[slot]!) this.released[slot] = written - this.capacity;
    this.framesPushed += count;
    const ready = this.readyOf(slot);
    if (ready > before) {
      this.pendingWindows += ready - before;
      if (this.queued[slot] === 0) this.enqueue(slot);
    }
  }

  /**
   * Takes up to `batchSize` ready windows, oldest series first, for `model`; undefined when none is ready.
   * @param interleave one window per series in turn (a series with more goes to the back of the
   *   queue) instead of all of a series' ready windows at once: for the step graph, which serves
   *   one window of each series per onnxruntime call.
   */
  next(model: LiveModel, interleave = false): Batch | undefined {
    const batch: Batch = { size: 0, slots: new Int32Array(this.batchSize), starts: new Float64Array(this.batchSize), model, rule: model.rule };
    while (batch.size < this.batchSize && this.queueSize > 0) {
      const slot = this.queue[this.queueHead]!;
      // Under drop-oldest, windows whose first frames were overwritten are gone: skip and count them.
      const oldest = this.written[slot]! - this.capacity;
      if (this.nextStart[slot]! < oldest) {
        const lost = Math.ceil((oldest - this.nextStart[slot]!) / this.stride);
        this.nextStart[slot] = this.nextStart[slot]! + lost * this.stride;
        this.windowsDropped += lost;
        this.pendingWindows -= lost;
      }
      const ready = this.readyOf(slot);
      const room = this.batchSize - batch.size;
      const take = interleave ? Math.min(ready, room, 1) : Math.min(ready, room);
      let start = this.nextStart[slot]!;
      for (let i = 0; i < take; i++) {
        batch.slots[batch.size] = slot;
        batch.starts[batch.size] = start;
        batch.size++;
        start += this.stride;
      }
      this.nextStart[slot] = start;
      this.pendingWindows -= take;
      // The queue's indices wrap by a comparison: this loop runs once per window (per point at stride 1).
      const length = this.queue.length;
      this.queueHead = this.queueHead + 1 === length ? 0 : this.queueHead + 1;
      if (ready === take) {
        this.queued[slot] = 0;
        this.queueSize--;
      } else if (interleave) {
        // To the back of the queue: the other series' windows come first.
        const tail = this.queueHead + this.queueSize - 1;
        this.queue[tail >= length ? tail - length : tail] = slot;
      } else {
        // The batch is full and the series has more: it stays at the head.
        this.queueHead = this.queueHead === 0 ? length - 1 : this.queueHead - 1;
      }
    }
    return batch.size > 0 ? batch : undefined;
  }

  /** One contiguous row range of the arena covers every window of a batch: the worker reads it as a view. */
  span(batch: Batch): BatchSpan {
    let rowStart = Infinity;
    let rowEnd = 0;
    // The rows as FrameRings.rowOf numbers them, inline: the slots here are the batcher's own
    // (valid by construction), and this loop runs once per window (per record at window 1).
    const rowsPerSlot = 2 * this.capacity;
    if (this.rowScratch.length < batch.size) this.rowScratch = new Float64Array(batch.size);
    const rows = this.rowScratch;
    for (let i = 0; i < batch.size; i++) {
      const row = batch.slots[i]! * rowsPerSlot + (batch.starts[i]! % this.capacity);
      rows[i] = row;
      if (row < rowStart) rowStart = row;
      if (row + this.window > rowEnd) rowEnd = row + this.window;
    }
    const starts = new BigInt64Array(batch.size);
    // Window starts are small non-negative integers: write the low 32-bit words, no BigInt per window.
    const words = new Int32Array(starts.buffer);
    for (let i = 0; i < batch.size; i++) words[2 * i] = rows[i]! - rowStart;
    return { rowStart, rowCount: rowEnd - rowStart, starts };
  }

  /** Whether drop-oldest overwrote the window at `start` of `slot` (its score is then not trusted). */
  overwritten(slot: number, start: number): boolean {
    return start < this.written[slot]! - this.capacity;
  }

  /** Timestamp of the last frame of the window at `start` of `slot`. */
  timestampOf(slot: number, start: number): number {
    return this.times[slot * this.capacity + ((start + this.window - 1) % this.capacity)]!;
  }

  /** After delivery: windows of one series come back in order, so frames before the next window are free. */
  release(batch: Batch): void {
    // Once per series, at its last window (the latest: a series' windows are in time order): an
    // interleaved batch (see `next`) has a series' windows apart, and releasing at each window was
    // a ring call per window.
    const stamp = ++this.releaseStamp;
    for (let i = batch.size - 1; i >= 0; i--) {
      const slot = batch.slots[i]!;
      if (this.releasedIn[slot] === stamp) continue;
      this.releasedIn[slot] = stamp;
      const upTo = Math.min(batch.starts[i]! + this.stride, this.written[slot]!);
      this.rings.release(slot, upTo);
      // Releases are monotone (an older mark is ignored), as in the ring.
      if (upTo > this.released[slot]!) this.released[slot] = upTo;
    }
  }

  /** A copy of a window's raw frames while they are retained; undefined once overwritten. */
  windowFrames(seriesId: string, start: number, out?: Float32Array): Float32Array | undefined {
    const slot = this.slotOf.get(seriesId);
    if (slot === undefined) return undefined;
    const end = start + this.window;
    const written = this.written[slot]!;
    if (!(start >= 0 && end <= written && start >= written - this.capacity)) return undefined;
    const view = this.rings.span(slot, start, end);
    const copy = out ?? new Float32Array(view.length);
    copy.set(view);
    return copy;
  }

  dispose(): void {
    this.rings.dispose();
  }

  private readyOf(slot: number): number {
    const span = this.written[slot]! - this.window - this.nextStart[slot]!;
    if (span < 0) return 0;
    // Stride 1 without a division: this runs twice per stored sample and twice per window taken.
    return this.stride === 1 ? span + 1 : Math.floor(span / this.stride) + 1;
  }

  private enqueue(slot: number): void {
    this.queue[(this.queueHead + this.queueSize) % this.queue.length] = slot;
    this.queueSize++;
    this.queued[slot] = 1;
  }
}
