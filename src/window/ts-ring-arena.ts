/**
 * The ring arena's memory in TypeScript, for machines where the addon cannot load (no prebuild
 * for the platform, glibc older than the prebuild's, `SEISMO_NATIVE=off`). Like the addon's
 * (native/ring_arena.h) it is only the block: FrameRings pushes and counts frames over either
 * with the same code. The difference is that this memory is an ordinary ArrayBuffer, which
 * another thread cannot view: the inference worker gets a copy of each batch's rows instead (see
 * InferenceWorker.runArena).
 */
import { SeismoError } from '../errors.js';

// Structurally the addon's NativeRingArena (src/native.ts), which chooses between the two and so
// imports this file: declared here again rather than imported, to keep the imports one-way.

/** Ids of TypeScript arenas start here, far above the addon's, so that the two never collide in one process. */
const FIRST_ID = 2 ** 31;
let nextId = FIRST_ID;
/** This thread's live arenas by id (weakly: an arena nobody disposed is still collected). */
const registry = new Map<number, WeakRef<TsRingArena>>();

export class TsRingArena {
  readonly id: number;
  private readonly channels: number;
  private readonly capacity: number;
  private readonly slots: number;
  private memory: ArrayBuffer | undefined;

  constructor(channels: number, capacity: number, slots: number) {
    for (const v of [channels, capacity, slots]) {
      if (!Number.isInteger(v) || v <= 0 || v > 0xffffffff) {
        throw new SeismoError('ERR_INVALID_OPTION', 'RingArena: channels, capacity, slots must be positive integers below 2^32');
      }
    }
    const floats = slots * 2 * capacity * channels;
    if (floats > 2 ** 40 / 4) throw new SeismoError('ERR_INVALID_OPTION', 'ring arena larger than 1 TiB requested');
    try {
      // Zeroed by the allocation, as the native arena is, so a view never shows stale data.
      this.memory = new ArrayBuffer(floats * 4);
    } catch (err) {
      throw new SeismoError('ERR_RESOURCE', 'RingArena: out of memory for the requested size; ask for fewer series or a smaller capacity', {}, { cause: err });
    }
    this.channels = channels;
    this.capacity = capacity;
    this.slots = slots;
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
    if (!this.memory) throw new SeismoError('ERR_DISPOSED', 'RingArena used after dispose()');
    return this.memory;
  }

  /** Frees the memory now: every view of it is detached (length 0), as the addon's are. */
  dispose(): void {
    if (!this.memory) return;
    const memory = this.memory;
    this.memory = undefined;
    registry.delete(this.id);
    structuredClone(memory, { transfer: [memory] });
  }
}
