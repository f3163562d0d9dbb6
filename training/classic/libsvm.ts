/**
 * One typed entry to libsvm-js (libsvm 3.x compiled by emscripten): one-class SVM training, and
 * the trained model read back as dense support vectors, coefficients and rho.
 *
 * Why libsvm-js: it is libsvm itself, the reference solver of the one-class dual (Schölkopf et
 * al. 2001; what scikit-learn's OneClassSVM wraps), it supports ONE_CLASS with the RBF kernel,
 * has no dependencies and loads offline in Node 20. Its asm.js build is used, not the wasm one:
 * the wasm build's loader first tries `fetch` on a file path in Node 20 and prints a warning on
 * every load before falling back; the asm.js build is synchronous, silent and the same C code
 * (measured: 3000 x 38 training set, 0.4 s asm.js vs 0.17 s wasm; training subsamples anyway).
 */
import { createRequire } from 'node:module';

interface LibsvmInstance {
  train(samples: number[][], labels: number[]): void;
  serializeModel(): string;
  free(): void;
}
interface LibsvmClass {
  new (options: Record<string, unknown>): LibsvmInstance;
  SVM_TYPES: { ONE_CLASS: string };
  KERNEL_TYPES: { RBF: string };
}

/** Process events whose listeners the emscripten runtime may add on load. */
const GUARDED_EVENTS = ['unhandledRejection', 'uncaughtException'];

let cached: LibsvmClass | undefined;
function libsvm(): LibsvmClass {
  if (cached) return cached;
  // The emscripten runtime inside libsvm-js registers `process.on('unhandledRejection', () =>
  // process.exit(1))` when it loads: any host's unhandled rejection would then end the process
  // silently. A library must not do that, so listeners added during the load are removed again.
  const before = new Map(GUARDED_EVENTS.map((e) => [e, new Set(process.listeners(e as 'unhandledRejection'))]));
  try {
    // libsvm-js ships no types; this file is the only place that loads it.
    cached = createRequire(__filename)('libsvm-js/asm') as LibsvmClass;
  } finally {
    for (const e of GUARDED_EVENTS) {
      for (const l of process.listeners(e as 'unhandledRejection')) if (!before.get(e)!.has(l)) process.removeListener(e, l);
    }
  }
  return cached;
}

/** A trained one-class SVM: `f(x) = sum_i coef[i] * exp(-gamma * |x - sv_i|^2) - rho`, f > 0 inside. */
export interface OneClassSvm {
  /** Support vectors, row-major `[M, D]`, float64. */
  supportVectors: Float64Array;
  /** Dual coefficients alpha_i, length M, in (0, 1]. */
  coef: Float64Array;
  /** Offset rho. */
  rho: number;
  gamma: number;
  /** M and D. */
  count: number;
  dims: number;
}

/** Options of {@link trainOneClassSvm}. */
export interface OneClassSvmOptions {
  /** Upper bound on the fraction of training outliers and lower bound on the fraction of support vectors, (0, 1]. */
  nu: number;
  /** RBF kernel width, > 0. */
  gamma: number;
  /** Stopping tolerance of libsvm's SMO (its `-e`). */
  tolerance: number;
  /** Kernel cache, MB (libsvm's `-m`). */
  cacheSize: number;
}

/**
 * Trains libsvm's one-class SVM on rows `[n, D]`.
 *
 * rho is recomputed in float64 from the free support vectors (0 < alpha < 1, where f = 0 by the
 * KKT conditions) because libsvm's model text prints it with `%g` (6 digits); libsvm's own value
 * is the fallback when every alpha is at a bound.
 */
export function trainOneClassSvm(rows: number[][], o: OneClassSvmOptions): OneClassSvm {
  const SVM = libsvm();
  const D = rows[0]?.length ?? 0;
  const svm = new SVM({
    type: SVM.SVM_TYPES.ONE_CLASS,
    kernel: SVM.KERNEL_TYPES.RBF,
    nu: o.nu,
    gamma: o.gamma,
    tolerance: o.tolerance,
    cacheSize: o.cacheSize,
    shrinking: true,
    quiet: true,
  });
  let text: string;
  try {
    svm.train(rows, rows.map(() => 1));
    text = svm.serializeModel();
  } finally {
    svm.free();
  }
  const lines = text.split('\n');
  const svAt = lines.findIndex((l) => l.trim() === 'SV');
  const rhoLine = lines.find((l) => l.startsWith('rho '));
  if (svAt < 0 || !rhoLine) throw new Error('libsvm-js: unexpected model text (no SV section or rho)');
  const svLines = lines.slice(svAt + 1).filter((l) => l.trim().length > 0);
  const M = svLines.length;
  const supportVectors = new Float64Array(M * D);
  const coef = new Float64Array(M);
  svLines.forEach((line, i) => {
    const [c, ...pairs] = line.trim().split(/\s+/);
    coef[i] = Number(c);
    // Sparse "index:value" with 1-based indices; zeros are left out.
    for (const p of pairs) {
      const colon = p.indexOf(':');
      supportVectors[i * D + Number(p.slice(0, colon)) - 1] = Number(p.slice(colon + 1));
    }
  });
  let rho = Number(rhoLine.slice(4));
  let sum = 0;
  let free = 0;
  for (let i = 0; i < M; i++) {
    if (!(coef[i]! > 1e-9 && coef[i]! < 1 - 1e-9)) continue;
    let f = 0;
    for (let j = 0; j < M; j++) {
      let d2 = 0;
      for (let d = 0; d < D; d++) {
        const t = supportVectors[i * D + d]! - supportVectors[j * D + d]!;
        d2 += t * t;
      }
      f += coef[j]! * Math.exp(-o.gamma * d2);
    }
    sum += f;
    free++;
  }
  if (free > 0) rho = sum / free;
  return { supportVectors, coef, rho, gamma: o.gamma, count: M, dims: D };
}
