/**
 * The one place that loads the native addon. Its surface is declared here once; nothing else
 * in seismo calls `require` on the binary.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from './errors.js';

/**
 * The memory of mirrored float32 ring buffers, one slot per series (see native/ring_arena.h):
 * frames are pushed and counted by FrameRings (src/window/frame-rings.ts) straight into it.
 */
export interface NativeRingArena {
  /** Process-wide id, for {@link NativeRingArenaConstructor.attach} from a worker thread. */
  readonly id: number;
  /** External ArrayBuffer over the whole arena: `slots * 2 * capacity` rows of `channels` floats, zeroed. */
  buffer(): ArrayBuffer;
  /** Drops the arena's memory once no view is left; every view `buffer()` gave is detached, later calls throw `ERR_DISPOSED`. */
  dispose(): void;
}

export interface AttachedArena {
  buffer: ArrayBuffer;
  channels: number;
  capacity: number;
  slots: number;
}

export interface NativeRingArenaConstructor {
  new (channels: number, capacity: number, slots: number): NativeRingArena;
  /** Views the memory of a live arena created on any thread of this process. */
  attach(id: number): AttachedArena;
}

/**
 * Training kernels (native/kernels.h): float32, row-major, single-threaded, synchronous. Every
 * array is caller-allocated with exactly the length its shape gives (the addon throws
 * `ERR_BAD_SHAPE` otherwise); outputs are overwritten, never accumulated into. Call them through
 * `training/native-ops/`, which validates shapes and wraps them as tfjs ops with custom gradients.
 *
 * LSTM shapes: x `[B, T, F]`, kernel `[F, 4H]`, recurrent `[H, 4H]`, bias `[4H]` (gate blocks
 * i, f, c, o as in tfjs-layers), y `[B, T, H]` (returnSequences) or `[B, H]`, state
 * `[T, B, 6H]` (what forward saves for backward). `gate`: 0 sigmoid, 1 hardSigmoid.
 * `repeatedInput` (default false): x is `[B, F]`, the same input at every step (an LSTM-AE
 * decoder's repeated code), projected once; backward's dx is then `[B, F]`, the repeat's gradient.
 * Backward's dx may be null: the input's gradient is not computed (a network's first layer).
 *
 * Conv shapes (causal, dilated): x `[N, T, Cin]`, kernel `[k, Cin, Cout]`, bias `[Cout]`,
 * y `[N, T, Cout]`.
 */
/** The compiled variants of the training kernels, widest first. */
export type KernelIsa = 'avx512' | 'avx2' | 'baseline';

export interface NativeKernels {
  lstmForward(
    x: Float32Array, kernel: Float32Array, recurrent: Float32Array, bias: Float32Array,
    y: Float32Array, state: Float32Array,
    batch: number, steps: number, features: number, units: number, gate: 0 | 1, returnSequences: boolean,
    repeatedInput?: boolean,
  ): void;
  lstmBackward(
    x: Float32Array, kernel: Float32Array, recurrent: Float32Array, state: Float32Array, dy: Float32Array,
    dx: Float32Array | null, dkernel: Float32Array, drecurrent: Float32Array, dbias: Float32Array,
    batch: number, steps: number, features: number, units: number, gate: 0 | 1, returnSequences: boolean,
    repeatedInput?: boolean,
  ): void;
  convForward(
    x: Float32Array, kernel: Float32Array, bias: Float32Array, y: Float32Array,
    batch: number, steps: number, inChannels: number, outChannels: number, taps: number, dilation: number,
  ): void;
  convBackward(
    x: Float32Array, kernel: Float32Array, dy: Float32Array, dx: Float32Array, dkernel: Float32Array, dbias: Float32Array,
    batch: number, steps: number, inChannels: number, outChannels: number, taps: number, dilation: number,
  ): void;
  /**
   * The compiled variant in use: `avx512` (AVX-512 F/DQ/VL/BW build, chosen when the CPU has it),
   * `avx2` (AVX2+FMA build, chosen when the CPU has that but not AVX-512) or `baseline` (x86-64
   * SSE2 build). Passing a name switches process-wide first (tests, benchmarks); a variant the CPU
   * cannot run throws `ERR_INVALID_OPTION`.
   */
  kernelIsa(select?: KernelIsa): KernelIsa;
  /** Whether this CPU can run the AVX2 variant. */
  readonly cpuHasAvx2: boolean;
  /** Whether this CPU can run the AVX-512 variant. */
  readonly cpuHasAvx512: boolean;
  /**
   * Channel attribution's `ln max(e_c, floor)` of every channel of windows `[0, n)`
   * (`channelLogTerms` in src/score/channel-terms.ts, which calls it): bit for bit what `Math.log`
   * gives (fdlibm's algorithm, native/log_terms.h), in the variant of {@link kernelIsa}.
   * @param term 0 `e_c = channel_score`, 1 its square, 2 `channel_score * score`.
   * @param channelScores `[n, channels]`; @param scores `[n]`; @param floor > 0;
   * @param out `[n, channels]`, overwritten.
   */
  channelLogTerms(term: 0 | 1 | 2, channelScores: Float32Array, scores: Float32Array, n: number, channels: number, floor: number, out: Float64Array): void;
  /**
   * Channel attribution of windows `[0, n)` once its statistics are ready: what
   * `ChannelAttribution.attributeAndLearnBatch` (src/score/attribution.ts, which calls it) computes
   * in TypeScript, bit for bit (native/log_terms_attribution.h), the logarithms in the variant of
   * {@link kernelIsa}. Arrays hold at least what the shapes read or write (`ERR_BAD_SHAPE`
   * otherwise, with nothing written).
   * @param settings `[8]`: term (0 `channel_score`, 1 its square, 2 times `score`), running-mean
   *   weight, tracking rate, activity mode (0 two-sided, 1 low, 2 none), activity margin, floor of
   *   `e_c`, floor of the activity, least scale.
   * @param channelScores `[n, channels]`; @param scores `[n]`; @param activity `[n, channels]` or null;
   * @param logTerms `[n, channels]` `ln e_c` computed already (only without running means) or null;
   * @param decisions `[n]` 0 skip, 1 learn, 2 flagged; @param slots `[n]` each window's series;
   * @param out `[n, channels]` rows, skipped windows' left as they are;
   * @param stats `[4, channels]` error center, error scale, activity center, activity scale (updated);
   * @param running `[slots, channels]` running means of `e_c` and @param started their flags, or null;
   * @param memoryState `[slots, channels]` and @param memorySeen `[slots]` the attribution memory, or null;
   * @param memoryWeight the memory's weight of the newest window.
   */
  attributeBatch(
    n: number, channels: number, settings: Float64Array, channelScores: Float32Array, scores: Float32Array,
    activity: Float32Array | null, logTerms: Float64Array | null, decisions: Uint8Array, slots: Int32Array, out: Float32Array,
    stats: Float64Array, running: Float64Array | null, started: Uint8Array | null,
    memoryState: Float32Array | null, memorySeen: Uint8Array | null, memoryWeight: number,
  ): void;
}

/**
 * One LSTM layer as the exported graph holds it (training/export/blocks.ts `lstm()`), in ONNX
 * layouts: forward, zero initial state, `z = W x_t + Wb + R h_{t-1} + Rb` with gate blocks
 * i, o, f, c; `c_t = f(z_f) c_{t-1} + f(z_i) tanh(z_c)`, `h_t = f(z_o) tanh(c_t)`.
 */
export interface LstmLayerWeights {
  /** Input features F of each step. */
  inputSize: number;
  /** Hidden units H. */
  units: number;
  /** `[4H, F]` row-major, gate blocks i, o, f, c (ONNX W without its leading 1). */
  W: Float32Array;
  /** `[4H, H]` row-major, same gate order. */
  R: Float32Array;
  /** `[8H]`: Wb then Rb, both added (exported graphs put Keras' bias in Wb, Rb = 0). */
  B: Float32Array;
  /** f of the gates: the logistic sigmoid, or `hardSigmoid` = `clip(0.2 x + 0.5, 0, 1)`; g = h = tanh. */
  gate: 'sigmoid' | 'hardSigmoid';
}

/** A whole exported LSTM-AE graph's arithmetic (training/kinds/lstm-ae/export.ts), weights in ONNX layouts. */
export interface LstmAeNetSpec {
  /** W frames per window. */
  window: number;
  /** C channels per frame. */
  channels: number;
  /** `[C]` raw units. */
  scalerMean: Float32Array;
  /** `[C]` raw units, > 0; `scaled = (x - mean) / std`, a division as the graph's Div. */
  scalerStd: Float32Array;
  /** >= 1 layers, the first's inputSize = C; all return sequences but the last, which gives its final h (the code). */
  encoder: LstmLayerWeights[];
  /** >= 1 layers; the first's input is the code repeated W times (inputSize = the last encoder's units). */
  decoder: LstmLayerWeights[];
  /** `[H_last_decoder, C]` row-major: `rec_t = h_t K (+ outBias)`, scaled units. */
  outKernel: Float32Array;
  /** `[C]`, or null when the Linear output has no bias. */
  outBias: Float32Array | null;
}

/** The compiled variants of the native LSTM-AE scorer. */
export type LstmAeIsa = 'avx512' | 'avx2' | 'baseline';

/** A native fused LSTM-AE scorer over one spec's weights (native/lstm_ae_score.h). */
export interface NativeLstmAeScorer {
  /** The compiled variant in use: `avx512` | `avx2` | `baseline`. */
  readonly isa: LstmAeIsa;
  /**
   * Scores n windows cut from one span: window i = rows `starts[i] .. starts[i] + W - 1` of
   * `frames` (`[rows, C]` float32, may be a view of a ring arena). Outputs as the ONNX graph
   * defines them: `score` `[n]`; `channelScore` `[n, C]` = `mean_t (rec - scaled)^2 / C` (score
   * is its row sum); `channelActivity` `[n, C]` = `mean_{t>=1} |scaled_t - scaled_{t-1}|` (null
   * when W < 3 or unwanted); `reconstruction` `[n, W, C]` in scaled units (null when unwanted).
   * Synchronous, on the calling thread; allocates nothing after the first call at the largest n.
   * NaN in frames gives NaN scores (as onnxruntime). Throws `ERR_BAD_SHAPE` on wrong lengths or
   * a start outside `[0, rows - W]`.
   */
  score(
    frames: Float32Array, starts: BigInt64Array, n: number, score: Float32Array, channelScore: Float32Array,
    channelActivity: Float32Array | null, reconstruction: Float32Array | null,
  ): void;
}

/** `LstmAeScorer` on the loaded addon (ABI 6 on): builds a {@link NativeLstmAeScorer}. */
export interface NativeLstmAeScorerConstructor {
  /**
   * Prepacks the spec's weights (copied: the arrays may be reused afterwards). `isa` picks a
   * compiled variant (tests, benchmarks; default the best this CPU runs); one the CPU lacks
   * throws `ERR_INVALID_OPTION`. An inconsistent spec throws `ERR_BAD_SHAPE` (array lengths) or
   * `ERR_INVALID_OPTION` (sizes, gate kinds).
   */
  new (spec: LstmAeNetSpec, isa?: LstmAeIsa): NativeLstmAeScorer;
  /** The variants this CPU can run, best first. */
  readonly supportedIsas: readonly LstmAeIsa[];
}

export interface NativeBinding extends NativeKernels {
  RingArena: NativeRingArenaConstructor;
  /** The native LSTM-AE scorer (ABI 6 on). */
  LstmAeScorer: NativeLstmAeScorerConstructor;
  abiVersion: number;
}

/** ABI of the addon this TypeScript expects; bumped whenever the binding's surface changes. */
const NATIVE_ABI = 7;

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

/**
 * Loads the addon once (node-gyp-build: build/Release first, then prebuilds/<platform>-<arch>).
 * `SEISMO_NATIVE=off` makes it fail as on a machine without a usable addon.
 */
export function loadNative(): NativeBinding {
  // As if no addon could load: the TypeScript rings and the tfjs training ops run instead.
  if (process.env.SEISMO_NATIVE === 'off') throw new SeismoError('ERR_NATIVE_LOAD', 'the native addon is turned off (SEISMO_NATIVE=off)');
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
        'Build it from source in the seismo package: `npm install --no-save cmake-js node-addon-api node-api-headers && npx cmake-js compile` (needs cmake, a C++17 compiler and the Eigen 3 headers, e.g. `apt-get install cmake g++ libeigen3-dev`).',
      { root: PACKAGE_ROOT },
      { cause },
    );
  }
  if (binding.abiVersion !== NATIVE_ABI) {
    const stale = binding.abiVersion;
    binding = undefined;
    throw new SeismoError('ERR_NATIVE_LOAD', `seismo's native addon has ABI ${stale}, expected ${NATIVE_ABI}: rebuild it with \`npx cmake-js compile\` (or delete build/ to use the prebuild).`);
  }
  return binding;
}

/** Which ring arena FrameRings builds on: the addon's, or the TypeScript one when the addon cannot load. */
export type RingImplementation = 'native' | 'typescript';

let rings: { RingArena: NativeRingArenaConstructor; implementation: RingImplementation } | undefined;

/**
 * The ring arena constructor FrameRings uses, chosen once per thread: the addon's when it loads;
 * otherwise the TypeScript arena (same behaviour, slower), after one warning that says why and
 * how to get the native one. `SEISMO_NATIVE=off` asks for the TypeScript arena without a warning.
 */
export function ringArenas(): { RingArena: NativeRingArenaConstructor; implementation: RingImplementation } {
  if (rings) return rings;
  if (process.env.SEISMO_NATIVE === 'off') return (rings = typescriptRings());
  try {
    return (rings = { RingArena: loadNative().RingArena, implementation: 'native' });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    process.emitWarning(
      `seismo: ring buffers run in TypeScript (slower) because the native addon is unavailable: ${reason} ` +
        '(SEISMO_NATIVE=off chooses the TypeScript rings without this warning)',
      { code: 'SEISMO_NATIVE_FALLBACK' },
    );
    return (rings = typescriptRings());
  }
}

/**
 * Chooses the ring arena of FrameRings built from now on in this thread (tests run the ring
 * suites against both); `undefined` goes back to the choice of {@link ringArenas}.
 * @internal
 */
export function useRingImplementation(implementation: RingImplementation | undefined): void {
  rings = implementation === undefined ? undefined : implementation === 'native' ? { RingArena: loadNative().RingArena, implementation } : typescriptRings();
}

function typescriptRings(): { RingArena: NativeRingArenaConstructor; implementation: RingImplementation } {
  // Loaded on demand: a process with the addon never needs it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { TsRingArena } = require('./window/ts-ring-arena.js') as typeof import('./window/ts-ring-arena.js');
  return { RingArena: TsRingArena, implementation: 'typescript' };
}

function glibcVersion(): string {
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ? `glibc ${header.glibcVersionRuntime}` : 'non-glibc';
}
