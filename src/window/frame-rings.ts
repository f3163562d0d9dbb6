import { expectFloat32Array, SeismoError, type SeismoErrorCode } from '../errors.js';
import { loadNative, NativeOverflowPolicy, ringArenas, type NativeRingArena, type RingImplementation } from '../native.js';
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
 * `native/ring_arena.h`; where the addon cannot load, the same arena in TypeScript, see
 * `ts-ring-arena.ts`). `view` is the whole arena as a Float32Array over native memory: rows
 * of `channels` floats, `2 * capacity` rows per slot. A span of a slot's retained frames is the
 * zero-copy view `view.subarray(rowOf(slot, from) * channels, (rowOf(slot, from) + n) * channels)`.
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
  /** `native` (the addon) or `typescript` (the fallback: slower, and a worker thread gets copies of spans). */
  readonly implementation: RingImplementation;

  private native: NativeRingArena | undefined;
  private readonly stateScratch = new Float64Array(3);

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
    this.native = new RingArena(channels, capacity, slots, overflow === 'reject' ? NativeOverflowPolicy.Reject : NativeOverflowPolicy.DropOldest);
    this.channels = channels;
    this.capacity = capacity;
    this.slots = slots;
    this.overflow = overflow;
    this.id = this.native.id;
    this.view = new Float32Array(this.native.buffer());
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
    try {
      return this.live().push(slot, frames, count);
    } catch (err) {
      throw asSeismoError(err);
    }
  }

  /** Frames of `slot` before `upTo` are no longer needed and may be overwritten. */
  release(slot: number, upTo: number): void {
    this.checkSlot(slot, 'release');
    if (!Number.isSafeInteger(upTo) || upTo < 0) {
      throw new SeismoError('ERR_INVALID_OPTION', `release: frame index must be an integer >= 0, got ${String(upTo)}`);
    }
    try {
      this.live().release(slot, upTo);
    } catch (err) {
      throw asSeismoError(err);
    }
  }

  state(slot: number): SlotState {
    this.checkSlot(slot, 'state');
    try {
      this.live().state(slot, this.stateScratch);
    } catch (err) {
      throw asSeismoError(err);
    }
    return { written: this.stateScratch[0]!, released: this.stateScratch[1]!, dropped: this.stateScratch[2]! };
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
    this.native?.dispose();
    this.native = undefined;
  }

  /**
   * Slot numbers are integers in `[0, slots)`. Checked here, before any native call, because a
   * number such as 1.5 or 2^32 would otherwise be converted (truncated, wrapped) into another
   * series' slot.
   * @throws SeismoError `ERR_INVALID_OPTION`.
   */
  private checkSlot(slot: number, fn: string): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new SeismoError('ERR_INVALID_OPTION', `${fn}: slot ${typeof slot === 'number' ? slot : JSON.stringify(slot)} is not an integer in [0, ${this.slots}) (slots of this arena: ${this.slots})`);
    }
  }

  private live(): NativeRingArena {
    if (!this.native) throw new SeismoError('ERR_DISPOSED', 'FrameRings used after dispose()');
    return this.native;
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
