/**
 * Bounded stores of scored windows for online learning. A window's raw frames are copied when it
 * is scored (the detector's rings are overwritten soon after), into memory allocated once per
 * buffer: memory is `capacity * window * channels` floats whatever the stream does.
 */
import { mulberry32 } from '../stats/random.js';
import { SeismoError } from '../errors.js';

/** Identifies one window of a stream: its series and the index of its first frame in it. */
export interface WindowRef {
  seriesId: string;
  /** Index of the window's first frame in its series (0 = the first frame pushed). */
  start: number;
}

/** The key of a {@link WindowRef} in maps and in the label-queue file. */
export function refKey(ref: WindowRef): string {
  return `${ref.seriesId}@${ref.start}`;
}

/** One window held by a {@link WindowBuffer}. */
export interface BufferedWindow {
  ref: WindowRef;
  /** Raw frames `[window, channels]` row-major (a view into the buffer: copy it to keep it). */
  frames: Float32Array;
  /** Score when it was scored online, and by which model version. */
  score: number;
  version: number;
  /** 1 anomaly, 0 normal, -1 unlabelled. */
  label: number;
}

/** Options of {@link WindowBuffer}. */
export interface WindowBufferOptions {
  /** Windows held at most. */
  capacity: number;
  /** Floats per window (`window * channels`). */
  windowSize: number;
  /**
   * What a full buffer does with one more window: `fifo` replaces the oldest (recent windows
   * matter most: update buffers, held-out sample); `reservoir` keeps a uniform sample of every
   * window offered so far (replay of the stream's past), seeded.
   */
  policy?: 'fifo' | 'reservoir';
  /** Seed of the reservoir's choices. Default 1. */
  seed?: number;
}

/** A bounded set of windows with their frames, preallocated. */
export class WindowBuffer {
  readonly capacity: number;
  readonly windowSize: number;
  readonly policy: 'fifo' | 'reservoir';
  private readonly data: Float32Array;
  private readonly meta: (Omit<BufferedWindow, 'frames'> | undefined)[];
  private next = 0;
  private count = 0;
  private offered = 0;
  private rand: () => number;

  constructor(options: WindowBufferOptions) {
    if (!Number.isInteger(options.capacity) || options.capacity <= 0) throw new SeismoError('ERR_INVALID_OPTION', `buffer capacity must be a positive integer, got ${options.capacity}`);
    if (!Number.isInteger(options.windowSize) || options.windowSize <= 0) throw new SeismoError('ERR_INVALID_OPTION', `buffer windowSize must be a positive integer, got ${options.windowSize}`);
    this.capacity = options.capacity;
    this.windowSize = options.windowSize;
    this.policy = options.policy ?? 'fifo';
    this.data = new Float32Array(this.capacity * this.windowSize);
    this.meta = new Array(this.capacity).fill(undefined);
    this.rand = mulberry32(options.seed ?? 1);
  }

  get size(): number {
    return this.count;
  }

  get full(): boolean {
    return this.count === this.capacity;
  }

  /** Windows offered since the last clear (a reservoir keeps `capacity` of them). */
  get seen(): number {
    return this.offered;
  }

  /**
   * Offers a window; its frames are copied. Returns false when a reservoir declined it.
   * @param frames `[window, channels]` raw frames.
   */
  add(ref: WindowRef, frames: Float32Array, score: number, version: number, label: number): boolean {
    if (frames.length !== this.windowSize) throw new SeismoError('ERR_BAD_SHAPE', `window has ${frames.length} values, the buffer holds ${this.windowSize} per window`);
    this.offered++;
    let at: number;
    if (this.count < this.capacity) {
      at = this.policy === 'fifo' ? this.next : this.count;
      this.count++;
    } else if (this.policy === 'fifo') {
      at = this.next;
    } else {
      const j = Math.floor(this.rand() * this.offered);
      if (j >= this.capacity) return false;
      at = j;
    }
    if (this.policy === 'fifo') this.next = (this.next + 1) % this.capacity;
    this.data.set(frames, at * this.windowSize);
    this.meta[at] = { ref: { ...ref }, score, version, label };
    return true;
  }

  /** The windows held, oldest first for fifo; frames are views into the buffer. */
  items(): BufferedWindow[] {
    const out: BufferedWindow[] = [];
    const first = this.policy === 'fifo' && this.count === this.capacity ? this.next : 0;
    for (let k = 0; k < this.count; k++) {
      const i = (first + k) % this.capacity;
      out.push({ ...this.meta[i]!, frames: this.data.subarray(i * this.windowSize, (i + 1) * this.windowSize) });
    }
    return out;
  }

  /** Copies every held window's frames into one `[size, window, channels]` array, and their labels. */
  snapshot(): { frames: Float32Array; labels: Uint8Array; refs: WindowRef[] } {
    const items = this.items();
    const frames = new Float32Array(items.length * this.windowSize);
    items.forEach((it, k) => frames.set(it.frames, k * this.windowSize));
    return { frames, labels: Uint8Array.from(items, (it) => (it.label === 1 ? 1 : 0)), refs: items.map((it) => it.ref) };
  }

  clear(): void {
    this.next = 0;
    this.count = 0;
    this.offered = 0;
    this.meta.fill(undefined);
  }
}

