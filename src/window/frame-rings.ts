import { expectFloat32Array, SeismoError, type SeismoErrorCode } from '../errors.js';
import { loadNative, ringArenas, type NativeRingArena, type RingImplementation } from '../native.js';
import { TsRingArena } from './ts-ring-arena.js';

/**
 * What a full ring does with a new frame:
 * - `reject`: the push throws `ERR_RING_OVERFLOW` and writes nothing (no sample is lost silently;
 *   the caller waits for scoring to catch up and pushes again);
 * - `drop-oldest`: the oldest unscored frames are overwritten and counted in `dropped`.
 */
export type OverflowPolicy = 'reject' | 'drop-oldest';

export interface FrameRingsOptions {
  /** Floats per frame (one per channel). */
  channels: number;
  /** Frames each slot retains; any span of up to this many frames is contiguous. */
  capacity: number;
  /** Number of slots (series). Default 1. */
  slots?: number;
  /** Default `reject`. */
  overflow?: OverflowPolicy;
}

/** Counters of one slot; frames are numbered from 0 since the slot was created. */
export interface SlotState {
  /** Frames pushed so far. */
  written: number;
  /** Frames before this index may be overwritten. */
  released: number;
  /** Frames overwritten before they were released (drop-oldest only). */
  dropped: number;
}

/**
 * Mirrored float32 ring buffers for many series in one native block of memory (see
 * `native/ring_arena.h`; where the addon cannot load, an ordinary ArrayBuffer, see
 * `ts-ring-arena.ts`). `view` is the whole arena as a Float32Array over that memory: rows
 * of `channels` floats, `2 * capacity` rows per slot. A span of a slot's retained frames is the
 * zero-copy view `view.subarray(rowOf(slot, from) * channels, (rowOf(slot, from) + n) * channels)`.
 *
 * Frames are written and counted here, in TypeScript, on either memory: the addon only provides
 * the block. Writing one frame through `view` is a few stores, where a call into the addon per
 * sample cost ten times that (see native/ring_arena.h).
 */
export class FrameRings {
  readonly channels: number;
  readonly capacity: number;
  readonly slots: number;
  readonly overflow: OverflowPolicy;
  /** Process-wide id: a worker thread views the same memory with `attachFrameRings(id)`. */
  readonly id: number;
  /** The whole arena, shared with native code (no copy). */
  readonly view: Float32Array;
  /** `native` (the addon's memory) or `typescript` (the fallback: a worker thread gets copies of spans). */
  readonly implementation: RingImplementation;

  private arena: NativeRingArena | undefined;
  /**
   * Per slot, at `3 * slot`: written, released, dropped. Absolute frame counts since the slot was
   * created (exact as doubles up to 2^53); live frames are `[released, written)`. Only this
   * thread reads them: a worker reads the rows of a batch it was sent, never a counter.
   */
  private readonly counters: Float64Array;
  /**
   * Per slot, `written mod capacity` (the ring row the next frame goes to), kept as an int32 beside
   * `written`: `%` of a double is a library call (~45 ns), more than the write of a frame.
   */
  private readonly heads: Int32Array;
  private readonly dropOldest: boolean;
  /** One frame, read before it is written (see `push`). */
  private readonly one: Float32Array;
  /** Reused when a push's source overlaps the slot it is written into (a span of the arena pushed back). */
  private staged = new Float32Array(0);

  constructor(options: FrameRingsOptions) {
    const { channels, capacity, slots = 1, overflow = 'reject' } = options;
    for (const [name, value] of [['channels', channels], ['capacity', capacity], ['slots', slots]] as const) {
      if (!Number.isInteger(value) || value <= 0) {
        throw new SeismoError('ERR_INVALID_OPTION', `FrameRings: ${name} must be a positive integer, got ${value}`);
      }
    }
    if (overflow !== 'reject' && overflow !== 'drop-oldest') {
      throw new SeismoError('ERR_INVALID_OPTION', `FrameRings: overflow must be 'reject' or 'drop-oldest', got ${String(overflow)}`);
    }
    const { RingArena, implementation } = ringArenas();
    this.implementation = implementation;
    try {
      this.arena = new RingArena(channels, capacity, slots);
    } catch (err) {
      throw asSeismoError(err);
    }
    this.channels = channels;
    this.capacity = capacity;
    this.slots = slots;
    this.overflow = overflow;
    this.dropOldest = overflow === 'drop-oldest';
    this.counters = new Float64Array(3 * slots);
    this.heads = new Int32Array(slots);
    this.one = new Float32Array(channels);
    this.id = this.arena.id;
    this.view = new Float32Array(this.arena.buffer());
  }

  /**
   * Appends frames to a slot.
   * @param frames row-major `[count, channels]`; only the first `count * channels` floats are read.
   * @param count frames to append (default: all of `frames`).
   * @returns the slot's frames written so far.
   * @throws SeismoError `ERR_RING_OVERFLOW` under `reject` when unreleased frames would be
   *   overwritten (nothing is written), `ERR_BAD_SHAPE` on a length mismatch.
   */
  push(slot: number, frames: Float32Array, count = frames?.length / this.channels): number {
    this.checkSlot(slot, 'push');
    expectFloat32Array(frames, 'push: frames');
    if (!Number.isInteger(count) || count < 0 || count * this.channels > frames.length) {
      throw new SeismoError('ERR_BAD_SHAPE', `push: ${frames.length} floats do not hold ${count} frames of ${this.channels} channels`);
    }
    this.live();
    const C = this.channels;
    const cap = this.capacity;
    const counters = this.counters;
    const s = 3 * slot;
    const written = counters[s]!;
    const live = written - counters[s + 1]!;
    if (live + count > cap) {
      if (!this.dropOldest) {
        throw new SeismoError(
          'ERR_RING_OVERFLOW',
          `ring slot ${slot} is full: ${live} of ${cap} frames are unreleased and ${count} more were pushed; ` +
            'score (release) pending windows first, or raise the capacity, or use the drop-oldest policy',
        );
      }
      // Every frame that leaves the ring unreleased is lost and counted: the live frames that are
      // overwritten and, for a push larger than the capacity, its own leading frames that are
      // never stored. Both are `excess` (the push keeps only its last `capacity` frames).
      const excess = live + count - cap;
      counters[s + 2] = counters[s + 2]! + excess;
      counters[s + 1] = counters[s + 1]! + excess;
    }
    const data = this.view;
    const base = slot * 2 * cap * C;
    const head = this.heads[slot]!;
    if (count === 1) {
      // The common case (one sample of one series): read whole first, then its row and its mirror.
      // Read first because `frames` may be a view of these very rows (a span pushed back); asking
      // `frames.buffer` instead, to tell, cost more than this copy.
      const one = this.one;
      for (let c = 0; c < C; c++) one[c] = frames[c]!;
      const a = base + head * C;
      const b = a + cap * C;
      for (let c = 0; c < C; c++) {
        const v = one[c]!;
        data[a + c] = v;
        data[b + c] = v;
      }
      this.heads[slot] = head + 1 === cap ? 0 : head + 1;
    } else if (count > 0) {
      this.copyIn(base, head, frames, count);
      this.heads[slot] = (head + (count % cap)) % cap;
    }
    return (counters[s] = written + count);
  }

  /** Frames of `slot` before `upTo` are no longer needed and may be overwritten. */
  release(slot: number, upTo: number): void {
    this.checkSlot(slot, 'release');
    if (!Number.isSafeInteger(upTo) || upTo < 0) {
      throw new SeismoError('ERR_INVALID_OPTION', `release: frame index must be an integer >= 0, got ${String(upTo)}`);
    }
    this.live();
    const s = 3 * slot;
    if (upTo > this.counters[s]!) {
      throw new SeismoError('ERR_INVALID_OPTION', `cannot release frame ${upTo}: only ${this.counters[s]!} were written`);
    }
    // Releasing is monotone: an older mark is ignored, not an error, since results of
    // concurrent batches may come back out of order.
    if (upTo > this.counters[s + 1]!) this.counters[s + 1] = upTo;
  }

  state(slot: number): SlotState {
    this.checkSlot(slot, 'state');
    this.live();
    const s = 3 * slot;
    return { written: this.counters[s]!, released: this.counters[s + 1]!, dropped: this.counters[s + 2]! };
  }

  /**
   * Where the next frame of `slot` goes in its ring: `written mod capacity`, the row within the
   * slot (an index `[0, capacity)`, as `rowOf(slot, written) - slot * 2 * capacity`). For a
   * caller that keeps per-frame data beside the ring (the batcher's timestamps): an int, read
   * without a division. `slot` is not checked: the caller's own, valid by construction.
   * @internal
   */
  headOf(slot: number): number {
    return this.heads[slot]!;
  }

  /** Arena row of frame `frame` of `slot`; the next `capacity - (written - frame)` rows are contiguous. */
  rowOf(slot: number, frame: number): number {
    this.checkSlot(slot, 'rowOf');
    return slot * 2 * this.capacity + (frame % this.capacity);
  }

  /** Zero-copy view of frames `[from, to)` of `slot`, row-major `[to - from, channels]`. */
  span(slot: number, from: number, to: number): Float32Array {
    const written = this.state(slot).written;
    if (!(from >= 0 && to >= from && to <= written && from >= written - this.capacity)) {
      throw new SeismoError('ERR_INVALID_OPTION', `span [${from}, ${to}) of slot ${slot} is not retained (written ${written}, capacity ${this.capacity})`);
    }
    const row = this.rowOf(slot, from);
    return this.view.subarray(row * this.channels, (row + to - from) * this.channels);
  }

  /**
   * Frees the native memory now: `view` and every span taken from it are detached (length 0
   * from then on); a worker thread's attached view keeps the memory until it is collected there.
   * Later calls throw `ERR_DISPOSED`; a second dispose does nothing.
   */
  dispose(): void {
    this.arena?.dispose();
    this.arena = undefined;
  }

  /**
   * Writes `count` frames (count >= 1) from ring row `head` (the slot's `written mod capacity`) of
   * the slot at `base`, wrapping, row and mirror; a push larger than the capacity keeps only its
   * last `capacity` frames.
   */
  private copyIn(base: number, head: number, frames: Float32Array, count: number): void {
    const C = this.channels;
    const cap = this.capacity;
    const data = this.view;
    const skip = count > cap ? count - cap : 0;
    let row = (head + (skip % cap)) % cap;
    let src = frames;
    let from = skip * C;
    let left = count - skip;
    const floats = left * C;
    // A span of this very slot pushed back into it: the mirror copy would read rows the first copy
    // has already overwritten, so the source is copied aside first.
    if (frames.buffer === data.buffer) {
      const begin = frames.byteOffset / 4 + from;
      if (begin < base + 2 * cap * C && base < begin + floats) {
        if (this.staged.length < floats) this.staged = new Float32Array(floats);
        this.staged.set(frames.subarray(from, from + floats));
        src = this.staged;
        from = 0;
      }
    }
    while (left > 0) {
      const run = Math.min(left, cap - row);
      const n = run * C;
      const a = base + row * C;
      const b = a + cap * C;
      if (n >= 64) {
        // set() of a Float32Array into a Float32Array is a memmove (and copes with a source in another slot of this arena).
        const part = src.subarray(from, from + n);
        data.set(part, a);
        data.set(part, b);
      } else {
        for (let i = 0; i < n; i++) {
          const v = src[from + i]!;
          data[a + i] = v;
          data[b + i] = v;
        }
      }
      from += n;
      row = row + run === cap ? 0 : row + run;
      left -= run;
    }
  }

  /**
   * Slot numbers are integers in `[0, slots)`. Checked before anything is read or written,
   * because a number such as 1.5 or 2^32 would otherwise address another series' rows.
   * @throws SeismoError `ERR_INVALID_OPTION`.
   */
  private checkSlot(slot: number, fn: string): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new SeismoError('ERR_INVALID_OPTION', `${fn}: slot ${typeof slot === 'number' ? slot : JSON.stringify(slot)} is not an integer in [0, ${this.slots}) (slots of this arena: ${this.slots})`);
    }
  }

  private live(): void {
    if (!this.arena) throw new SeismoError('ERR_DISPOSED', 'FrameRings used after dispose()');
  }
}

/** From any thread: a view of a live arena's memory (`[slots * 2 * capacity, channels]` float32). */
export function attachFrameRings(id: number): { view: Float32Array; channels: number; capacity: number; slots: number } {
  // A TypeScript arena's memory is not shared: only its own thread can view it (see InferenceWorker.runArena).
  const attached = TsRingArena.owns(id) ? TsRingArena.attach(id) : loadNative().RingArena.attach(id);
  return { view: new Float32Array(attached.buffer), channels: attached.channels, capacity: attached.capacity, slots: attached.slots };
}

/** Native errors carry `code`; give them the typed class and this thread's JS stack. */
function asSeismoError(err: unknown): unknown {
  if (err instanceof SeismoError || !(err instanceof Error)) return err;
  const code = (err as Error & { code?: string }).code;
  return code ? new SeismoError(code as SeismoErrorCode, err.message, {}, { cause: err }) : err;
}
