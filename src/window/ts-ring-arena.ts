/**
 * The ring arena of native/ring_arena.cc in TypeScript, for machines where the addon cannot load
 * (no prebuild for the platform, glibc older than the prebuild's, `SEISMO_NATIVE=off`). Same
 * layout, counters, overflow policies, codes and messages, so FrameRings behaves the same on top
 * of either; it is slower (a JS loop per frame) and its memory is an ordinary ArrayBuffer, which
 * another thread cannot view: the inference worker gets a copy of each batch's rows instead
 * (see InferenceWorker.runArena).
 */
import { SeismoError } from '../errors.js';

// Structurally the addon's NativeRingArena (src/native.ts), which chooses between the two and so
// imports this file: declared here again rather than imported, to keep the imports one-way.

/** Ids of TypeScript arenas start here, far above the addon's, so that the two never collide in one process. */
const FIRST_ID = 2 ** 31;
let nextId = FIRST_ID;
/** This thread's live arenas by id (weakly: an arena nobody disposed is still collected). */
const registry = new Map<number, WeakRef<TsRingArena>>();

const REJECT = 0;
const DROP_OLDEST = 1;

export class TsRingArena {
  readonly id: number;
  private readonly channels: number;
  private readonly capacity: number;
  private readonly slots: number;
  private readonly policy: number;
  private memory: ArrayBuffer | undefined;
  private data: Float32Array;
  /** Per slot: written, released, dropped (absolute frame counts, exact as doubles up to 2^53). */
  private readonly counters: Float64Array;
  /** Reused when a push's source overlaps the slot it is written into (a span of the arena pushed back). */
  private staged = new Float32Array(0);

  constructor(channels: number, capacity: number, slots: number, policy: number) {
    for (const v of [channels, capacity, slots]) {
      if (!Number.isInteger(v) || v <= 0 || v > 0xffffffff) {
        throw new SeismoError('ERR_INVALID_OPTION', 'RingArena: channels, capacity, slots must be positive and policy 0|1');
      }
    }
    if (policy !== REJECT && policy !== DROP_OLDEST) {
      throw new SeismoError('ERR_INVALID_OPTION', 'RingArena: channels, capacity, slots must be positive and policy 0|1');
    }
    const floats = slots * 2 * capacity * channels;
    if (floats > 2 ** 40 / 4) throw new SeismoError('ERR_INVALID_OPTION', 'ring arena larger than 1 TiB requested');
    try {
      // Zeroed by the allocation, as the native arena is, so a view never shows stale data.
      this.memory = new ArrayBuffer(floats * 4);
    } catch (err) {
      throw new SeismoError('ERR_RESOURCE', 'RingArena: out of memory for the requested size; ask for fewer series or a smaller capacity', {}, { cause: err });
    }
    this.data = new Float32Array(this.memory);
    this.channels = channels;
    this.capacity = capacity;
    this.slots = slots;
    this.policy = policy;
    this.counters = new Float64Array(slots * 3);
    this.id = nextId++;
    registry.set(this.id, new WeakRef(this));
  }

  /** Views a live TypeScript arena of this thread (other threads cannot: its memory is not shared). */
  static attach(id: number): { buffer: ArrayBuffer; channels: number; capacity: number; slots: number } {
    const arena = registry.get(id)?.deref();
    if (!arena?.memory) {
      throw new SeismoError('ERR_DISPOSED', `ring arena ${id} is not live in this thread (TypeScript arenas are not shared between threads)`);
    }
    return { buffer: arena.memory, channels: arena.channels, capacity: arena.capacity, slots: arena.slots };
  }

  /** Whether `id` names a TypeScript arena (of any thread). */
  static owns(id: number): boolean {
    return id >= FIRST_ID;
  }

  buffer(): ArrayBuffer {
    return this.live();
  }

  push(slot: number, frames: Float32Array, count: number): number {
    this.live();
    this.checkSlot(slot);
    if (!(frames instanceof Float32Array)) throw new SeismoError('ERR_BAD_SHAPE', 'push: frames must be a Float32Array');
    const C = this.channels;
    const cap = this.capacity;
    if (count * C > frames.length) throw new SeismoError('ERR_BAD_SHAPE', 'push: count * channels exceeds the frames array');
    const s = slot * 3;
    const live = this.counters[s]! - this.counters[s + 1]!;
    if (live + count > cap) {
      const excess = live + count - cap;
      if (this.policy === REJECT) {
        throw new SeismoError(
          'ERR_RING_OVERFLOW',
          `ring slot ${slot} is full: ${live} of ${cap} frames are unreleased and ${count} more were pushed; ` +
            'score (release) pending windows first, or raise the capacity, or use the drop-oldest policy',
        );
      }
      // As in the addon: the overwritten live frames and a too-large push's own leading frames are both `excess`.
      this.counters[s + 2]! += excess;
      this.counters[s + 1]! += excess;
    }
    const base = slot * 2 * cap * C;
    const skip = count > cap ? count - cap : 0;
    let k = this.counters[s]! + skip;
    let src: Float32Array = frames;
    let from = skip * C;
    let left = count - skip;
    const floats = left * C;
    // A span of this very slot pushed back into it: the mirror copy would read rows the first copy
    // has already overwritten, so copy the source aside first.
    if (left > 0 && frames.buffer === this.memory) {
      const begin = frames.byteOffset / 4 + from;
      if (begin < base + 2 * cap * C && base < begin + floats) {
        if (this.staged.length < floats) this.staged = new Float32Array(floats);
        this.staged.set(frames.subarray(from, from + floats));
        src = this.staged;
        from = 0;
      }
    }
    const data = this.data;
    while (left > 0) {
      const row = k % cap;
      const run = Math.min(left, cap - row);
      const n = run * C;
      const a = base + row * C;
      const b = a + cap * C;
      for (let i = 0; i < n; i++) {
        const v = src[from + i]!;
        data[a + i] = v;
        data[b + i] = v;
      }
      from += n;
      k += run;
      left -= run;
    }
    this.counters[s]! += count;
    return this.counters[s]!;
  }

  release(slot: number, upTo: number): void {
    this.live();
    this.checkSlot(slot);
    const s = slot * 3;
    if (upTo > this.counters[s]!) {
      throw new SeismoError('ERR_INVALID_OPTION', `cannot release frame ${upTo}: only ${this.counters[s]!} were written`);
    }
    // Monotone, as in the addon: results of concurrent batches may come back out of order.
    if (upTo > this.counters[s + 1]!) this.counters[s + 1] = upTo;
  }

  state(slot: number, out: Float64Array): void {
    this.live();
    this.checkSlot(slot);
    out[0] = this.counters[slot * 3]!;
    out[1] = this.counters[slot * 3 + 1]!;
    out[2] = this.counters[slot * 3 + 2]!;
  }

  /** Frees the memory now: every view of it is detached (length 0), as the addon's are. */
  dispose(): void {
    if (!this.memory) return;
    const memory = this.memory;
    this.memory = undefined;
    this.data = new Float32Array(0);
    registry.delete(this.id);
    structuredClone(memory, { transfer: [memory] });
  }

  private checkSlot(slot: number): void {
    if (!Number.isInteger(slot) || slot < 0 || slot >= this.slots) {
      throw new SeismoError('ERR_INVALID_OPTION', `slot ${slot} out of range (slots: ${this.slots})`);
    }
  }

  private live(): ArrayBuffer {
    if (!this.memory) throw new SeismoError('ERR_DISPOSED', 'RingArena used after dispose()');
    return this.memory;
  }
}
