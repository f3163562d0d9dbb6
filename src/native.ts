/**
 * The one place that loads the native addon. Its surface is declared here once; nothing else
 * in seismo calls `require` on the binary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from './errors.js';

/** Overflow policies as the addon numbers them. */
export const enum NativeOverflowPolicy {
  Reject = 0,
  DropOldest = 1,
}

/** A block of mirrored float32 ring buffers, one slot per series (see native/ring_arena.h). */
export interface NativeRingArena {
  /** Process-wide id, for {@link NativeRingArenaConstructor.attach} from a worker thread. */
  readonly id: number;
  /** External ArrayBuffer over the whole arena: `slots * 2 * capacity` rows of `channels` floats. */
  buffer(): ArrayBuffer;
  /** Appends `count` frames (row-major `[count, channels]`) to `slot`; returns the slot's frames written. */
  push(slot: number, frames: Float32Array, count: number): number;
  /** Frames of `slot` before `upTo` may be overwritten from now on. */
  release(slot: number, upTo: number): void;
  /** Writes `[written, released, dropped]` of `slot` into `out`. */
  state(slot: number, out: Float64Array): void;
  /** Drops the arena's memory once no view is left; later calls throw `ERR_DISPOSED`. */
  dispose(): void;
}

export interface AttachedArena {
  buffer: ArrayBuffer;
  channels: number;
  capacity: number;
  slots: number;
}

export interface NativeRingArenaConstructor {
  new (channels: number, capacity: number, slots: number, policy: NativeOverflowPolicy): NativeRingArena;
  /** Views the memory of a live arena created on any thread of this process. */
  attach(id: number): AttachedArena;
}

export interface NativeBinding {
  RingArena: NativeRingArenaConstructor;
  abiVersion: number;
}

let binding: NativeBinding | undefined;

/** Root of the installed package (prebuilds/ and build/ live there): from src/ or dist/src/. */
export const PACKAGE_ROOT = findPackageRoot(__dirname);

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest) && (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string }).name === 'seismo') {
      return dir;
    }
    if (path.dirname(dir) === dir) return path.resolve(from, '..');
  }
}

/** Loads the addon once (node-gyp-build: build/Release first, then prebuilds/<platform>-<arch>). */
export function loadNative(): NativeBinding {
  if (binding) return binding;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    binding = load(PACKAGE_ROOT);
  } catch (cause) {
    const libc = glibcVersion();
    throw new SeismoError(
      'ERR_NATIVE_LOAD',
      `seismo's native addon could not be loaded for ${process.platform}-${process.arch} (libc ${libc}, ` +
        `node ${process.versions.node}, N-API ${process.versions.napi}). Tried ${path.join(PACKAGE_ROOT, 'build/Release')} ` +
        `and ${path.join(PACKAGE_ROOT, 'prebuilds', `${process.platform}-${process.arch}`)}. ` +
        'Build it from source with `npx cmake-js compile` in the seismo package (needs cmake and a C++17 compiler).',
      { root: PACKAGE_ROOT },
      { cause },
    );
  }
  if (binding.abiVersion !== 1) {
    throw new SeismoError('ERR_NATIVE_LOAD', `seismo's native addon has ABI ${binding.abiVersion}, expected 1: rebuild it with \`npx cmake-js compile\`.`);
  }
  return binding;
}

function glibcVersion(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'non-glibc';
}
