/**
 * Whether training runs through the native kernels, decided in one place.
 *
 * The kernels are used when the addon loads and has them, unless `SEISMO_NATIVE_KERNELS=0` is set
 * in the environment or {@link setNativeKernelsEnabled}(false) was called (tests and benchmarks
 * compare both paths in one process). The decision is read at every op call, so a switch takes
 * effect on the next training step.
 */
import { loadNative, type NativeKernels } from '../../src/native';

/** Which implementation the training ops run on. */
export type KernelPath = 'native' | 'tfjs';

let loaded: NativeKernels | null | undefined;
let loadError: string | undefined;
let enabled = process.env['SEISMO_NATIVE_KERNELS'] !== '0';

function tryLoad(): NativeKernels | null {
  if (loaded !== undefined) return loaded;
  try {
    const binding = loadNative();
    loaded = typeof binding.lstmForward === 'function' ? binding : null;
    if (!loaded) loadError = 'the addon has no training kernels';
  } catch (err) {
    // No addon for this platform: the pure-tfjs ops are the fallback, with the same results.
    loaded = null;
    loadError = err instanceof Error ? err.message : String(err);
  }
  return loaded;
}

/** The native kernels when they are loaded and enabled, else undefined (use the tfjs ops). */
export function nativeKernels(): NativeKernels | undefined {
  if (!enabled) return undefined;
  return tryLoad() ?? undefined;
}

/** Turns the native kernels on or off for this process (off: the pure-tfjs ops run). */
export function setNativeKernelsEnabled(on: boolean): void {
  enabled = on;
}

/** What training runs on now, and why not native when it is not. */
export interface KernelPathInfo {
  path: KernelPath;
  /** Compiled variant in use on the native path: `avx512`, `avx2` or `baseline`. */
  isa?: string;
  /** Why the tfjs path is used (disabled, or the addon's load error). */
  reason?: string;
}

/** Reports the path the training ops take, for logs next to the tfjs backend name. */
export function kernelPath(): KernelPathInfo {
  const k = nativeKernels();
  if (k) return { path: 'native', isa: k.kernelIsa() };
  if (!enabled) return { path: 'tfjs', reason: 'native kernels disabled (SEISMO_NATIVE_KERNELS=0 or setNativeKernelsEnabled(false))' };
  tryLoad();
  return { path: 'tfjs', reason: loadError ?? 'native kernels unavailable' };
}

/** One line for logs: `native (avx512)` or `tfjs (<why>)`. */
export function describeKernelPath(): string {
  const p = kernelPath();
  return p.path === 'native' ? `native (${p.isa})` : `tfjs (${p.reason})`;
}
