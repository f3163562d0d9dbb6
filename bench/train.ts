/**
 * Training speed of the reference models on a fixed synthetic set: seconds per epoch of the
 * LSTM-AE and the DC-VAE, through the native kernels and (optionally) through plain tfjs ops, and
 * (optionally) of the same models in PyTorch on one CPU thread (bench/pytorch/train_bench.py),
 * all in one run so that the ratios are taken under the same machine load.
 *
 * Every path trains on the same data, a deterministic formula (no PRNG, so Python computes the
 * very same frames): 4096 stride-1 windows of 64 frames x 8 channels, batch 64, Adam 1e-3,
 * seeded shuffling, no validation. The first epoch of each run warms up (JIT, allocations) and is
 * not counted; `secPerEpoch` is the median of the timed epochs.
 */
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { median } from '../src/stats/quantile.js';
import { initBackend } from '../training/backend.js';
import { buildDcVae, dcVaeTargets, resolveDcVaeConfig } from '../training/kinds/dc-vae/model.js';
import { fitWindows, type FitOptions } from '../training/fit.js';
import { buildLstmAe, resolveLstmAeConfig } from '../training/kinds/lstm-ae/model.js';
import { kernelPath, setNativeKernelsEnabled, type KernelPath } from '../training/native-ops/index.js';
import { pythonOf, resolvePytorchPeers, runPytorchTraining, type PytorchBackends, type PytorchBlas, type SkippedPeer } from './pytorch/peer.js';

/** The fixed benchmark configuration (issue 7), printed with every result. */
export const TRAIN_BENCH_CONFIG = Object.freeze({
  windows: 4096,
  window: 64,
  channels: 8,
  batchSize: 64,
  learningRate: 1e-3,
  seed: 42,
  lstmAe: { encoderUnits: [32], decoderUnits: [16], recurrentActivation: 'sigmoid' },
  dcVae: { depth: 4, dilations: [1, 2, 4, 8], filters: 32, kernelSize: 2, latent: 16, activation: 'relu', klWeight: 0.1 },
});

/** Options of {@link runTrainBench}. */
export interface TrainBenchOptions {
  /** Timed epochs per model and path (after one warm-up epoch). Default 3. */
  epochs?: number;
  /** Also time the pure-tfjs path (slow: ~20 s per LSTM-AE epoch on wasm). Default false. */
  tfjs?: boolean;
  /** Timed epochs of the pure-tfjs path. Default 1. */
  tfjsEpochs?: number;
  /** Also run the PyTorch reference: true for `/usr/bin/python3`, or a python executable. Default false. */
  pytorch?: boolean | string;
  /**
   * BLAS of the PyTorch reference (bench/pytorch/peer.ts): each one a separate peer, run after
   * seismo in every round, e.g. `['openblas', 'mkl']`. Default `['openblas']`.
   */
  pytorchBlas?: readonly PytorchBlas[];
  /**
   * Python of the `wheel` peer (the PyTorch CPU wheel's venv, bench/pytorch/install-wheel.sh).
   * Default: `SEISMO_PYTORCH_WHEEL`, else /opt/torch-wheel/bin/python; skipped, and said so, when absent.
   */
  pytorchWheel?: string;
  /** Models to time. Default both. */
  models?: readonly ('lstmAe' | 'dcVae')[];
  /**
   * Alternating rounds (with `pytorch`): each round times seismo then PyTorch on the same model,
   * so both see the same machine load; the figures are medians over every timed epoch of every
   * round, and `ratioRounds` holds each round's ratio. Default 1.
   */
  rounds?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** Timing of one model on one path. */
export interface EpochTiming {
  /** Median seconds per epoch over the timed epochs. */
  secPerEpoch: number;
  /** Every timed epoch, seconds. */
  epochSeconds: number[];
  /**
   * CPU seconds of the process per timed epoch, median (every thread of the process: user +
   * system). Steadier than wall time on a shared machine, where waiting for a core inflates
   * wall time but not CPU time; both sides are single-threaded.
   */
  cpuSecPerEpoch?: number;
  /** CPU seconds of every timed epoch. */
  epochCpuSeconds?: number[];
  /** Mean training loss of the last epoch (sanity: both paths should agree). */
  lastLoss: number;
  path: KernelPath | 'pytorch';
  /** Seconds of the warm-up epoch (not counted in `secPerEpoch`). */
  warmupSeconds?: number;
  /** PyTorch peers: the BLAS it was given. */
  blas?: PytorchBlas;
}

/** A PyTorch peer of one model, with seismo's ratio to it. */
export interface PytorchPeerTiming extends EpochTiming {
  blas: PytorchBlas;
  /** seismo / this peer, seconds per epoch (below 1: seismo is faster). */
  ratio: number;
  /** seismo / this peer in CPU seconds per epoch. */
  cpuRatio?: number;
  /** The same ratio within each round (both ran back to back), with rounds > 1. */
  ratioRounds?: number[];
  /** Warm-up epoch of each round. */
  warmupEpochSeconds?: number[];
}

/** Per model: seismo's timing, and with `pytorch` the strongest peer (`pytorch`, lowest s/epoch) and every peer. */
export type ModelTiming = EpochTiming & {
  tfjs?: EpochTiming;
  pytorch?: EpochTiming;
  ratioToPytorch?: number;
  ratioRounds?: number[];
  warmupEpochSeconds?: number[];
  pytorchPeers?: PytorchPeerTiming[];
};

export interface TrainBenchResult {
  /** Native path where the addon loads, else tfjs; `tfjs` holds the pure-tfjs figures when asked for. */
  lstmAe?: ModelTiming;
  dcVae?: ModelTiming;
  /** What each PyTorch peer computed with (by BLAS choice), proven in its process. */
  pytorchBackends?: Partial<Record<PytorchBlas, PytorchBackends & { torch: string; python: string }>>;
  /** Peers asked for but not run (the wheel's python missing), and why. */
  skipped?: SkippedPeer[];
  config: typeof TRAIN_BENCH_CONFIG & { timedEpochs: number; warmupEpochs: 1 };
  /** tfjs backend, kernel path and variant. */
  backend: string;
  kernels: string;
  machine: { cpus: number; model: string; loadAvg1mBefore: number; loadAvg1mAfter: number };
}

/**
 * The benchmark frames `[T, C]`: per channel two sines and a deterministic hash-like ripple,
 * T = windows + window - 1 so that stride-1 windows number exactly `windows`. Python's copy:
 * bench/pytorch/train_bench.py `frames()`.
 */
export function benchFrames(windows: number, window: number, channels: number): Float32Array {
  const T = windows + window - 1;
  const out = new Float32Array(T * channels);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < channels; c++) {
      const ripple = Math.sin(t * 12.9898 + c * 78.233) * 43758.5453;
      out[t * channels + c] =
        Math.sin((2 * Math.PI * t) / (11 + 5 * c)) + 0.5 * Math.sin((2 * Math.PI * t) / (37 + 3 * c) + c) + 0.1 * (ripple - Math.floor(ripple) - 0.5);
    }
  }
  return out;
}


async function timeModel(build: () => tfl.LayersModel, frames: tf.Tensor2D, epochs: number, targets: FitOptions['targets'], log: (l: string) => void, label: string): Promise<EpochTiming> {
  const cfg = TRAIN_BENCH_CONFIG;
  const model = build();
  const starts = Int32Array.from({ length: cfg.windows }, (_, i) => i);
  const seconds: number[] = [];
  const cpuSeconds: number[] = [];
  const losses: number[] = [];
  let warmup = NaN;
  // CPU time between epoch events (the loop does nothing else between them here: no validation).
  let cpu = process.cpuUsage();
  try {
    await fitWindows(model, frames, starts, new Int32Array(0), {
      window: cfg.window,
      epochs: epochs + 1,
      batchSize: cfg.batchSize,
      patience: 0,
      seed: cfg.seed,
      targets,
      onProgress: (p) => {
        if (p.phase !== 'epoch') return;
        const used = process.cpuUsage(cpu);
        cpu = process.cpuUsage();
        const cpuSec = (used.user + used.system) / 1e6;
        log(`  ${label} epoch ${p.epoch}${p.epoch === 1 ? ' (warm-up)' : ''}: ${p.seconds.toFixed(3)} s (cpu ${cpuSec.toFixed(3)} s), loss ${p.loss.toFixed(5)}`);
        if (p.epoch > 1) {
          seconds.push(p.seconds);
          cpuSeconds.push(cpuSec);
          losses.push(p.loss);
        } else warmup = p.seconds;
      },
    });
  } finally {
    model.dispose();
  }
  return { secPerEpoch: median(seconds), epochSeconds: seconds, cpuSecPerEpoch: median(cpuSeconds), epochCpuSeconds: cpuSeconds, lastLoss: losses[losses.length - 1]!, path: kernelPath().path, warmupSeconds: warmup };
}

/**
 * Times training of the reference LSTM-AE and DC-VAE (see {@link TRAIN_BENCH_CONFIG}).
 * @returns seconds per epoch per model and path, the config, and the machine load around the run.
 */
export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const log = options.log ?? (() => undefined);
  const epochs = options.epochs ?? 3;
  const tfjsEpochs = options.tfjsEpochs ?? 1;
  const models = options.models ?? ['lstmAe', 'dcVae'];
  const cfg = TRAIN_BENCH_CONFIG;
  const loadBefore = os.loadavg()[0]!;
  const { backend } = await initBackend();
  const kernels = kernelPath();
  const kernelsText = kernels.path === 'native' ? `native (${kernels.isa})` : `tfjs (${kernels.reason})`;
  log(`tfjs backend '${backend}', training kernels: ${kernelsText}; load ${loadBefore.toFixed(2)} on ${os.cpus().length} cpus`);

  const frames = tf.tensor2d(benchFrames(cfg.windows, cfg.window, cfg.channels), [cfg.windows + cfg.window - 1, cfg.channels]);
  const lstmConfig = resolveLstmAeConfig(
    { window: cfg.window, encoderUnits: [...cfg.lstmAe.encoderUnits], decoderUnits: [...cfg.lstmAe.decoderUnits], batchSize: cfg.batchSize, learningRate: cfg.learningRate, seed: cfg.seed },
    cfg.channels,
  );
  const vaeConfig = resolveDcVaeConfig(
    {
      window: cfg.window,
      depth: cfg.dcVae.depth,
      filters: cfg.dcVae.filters,
      kernelSize: cfg.dcVae.kernelSize,
      latent: cfg.dcVae.latent,
      activation: 'relu',
      klWeight: cfg.dcVae.klWeight,
      batchSize: cfg.batchSize,
      learningRate: cfg.learningRate,
      seed: cfg.seed,
    },
    cfg.channels,
  );
  const specs = {
    lstmAe: { build: () => buildLstmAe(lstmConfig), targets: undefined },
    dcVae: { build: () => buildDcVae(vaeConfig), targets: dcVaeTargets(vaeConfig) },
  } as const;
  const result: TrainBenchResult = {
    config: { ...cfg, timedEpochs: epochs, warmupEpochs: 1 },
    backend,
    kernels: kernelsText,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', loadAvg1mBefore: loadBefore, loadAvg1mAfter: NaN },
  };
  const rounds = options.pytorch ? Math.max(1, options.rounds ?? 1) : 1;
  const python = pythonOf(options.pytorch);
  const resolved = python ? resolvePytorchPeers(options.pytorchBlas ?? ['openblas'], python, options.pytorchWheel) : { peers: [], skipped: [] };
  for (const s of resolved.skipped) log(`${s.peer} skipped: ${s.reason}`);
  const blasList = resolved.peers.map((p) => p.blas);
  const pythonOfPeer = new Map(resolved.peers.map((p) => [p.blas, p.python]));
  const backends: NonNullable<TrainBenchResult['pytorchBackends']> = {};
  const runPeer = (blas: PytorchBlas, names: readonly string[]): Record<string, EpochTiming> => {
    const r = runPytorchTraining(pythonOfPeer.get(blas)!, epochs, names, blas, log);
    backends[blas] = { ...r.backends, torch: r.torch, python: pythonOfPeer.get(blas)! };
    return Object.fromEntries(Object.entries(r.models).map(([k, v]) => [k, { ...v, path: 'pytorch' as const, blas }]));
  };
  try {
    for (const name of models) {
      const spec = specs[name];
      const mine: EpochTiming[] = [];
      const theirs = new Map<PytorchBlas, EpochTiming[]>(blasList.map((b) => [b, []]));
      for (let r = 0; r < rounds; r++) {
        const label = rounds > 1 ? `${name} [${kernels.path}] round ${r + 1}/${rounds}` : `${name} [${kernels.path}]`;
        mine.push(await timeModel(spec.build, frames, epochs, spec.targets, log, label));
        // Without rounds, PyTorch runs after every model (as before); with them, right after ours.
        if (rounds > 1) for (const blas of blasList) theirs.get(blas)!.push(runPeer(blas, [name])[name]!);
      }
      const timing: EpochTiming = {
        secPerEpoch: median(mine.flatMap((m) => m.epochSeconds)),
        epochSeconds: mine.flatMap((m) => m.epochSeconds),
        cpuSecPerEpoch: median(mine.flatMap((m) => m.epochCpuSeconds!)),
        epochCpuSeconds: mine.flatMap((m) => m.epochCpuSeconds!),
        lastLoss: mine.at(-1)!.lastLoss,
        path: mine.at(-1)!.path,
      };
      let tfjs: EpochTiming | undefined;
      if (options.tfjs && kernels.path === 'native') {
        setNativeKernelsEnabled(false);
        try {
          tfjs = await timeModel(spec.build, frames, tfjsEpochs, spec.targets, log, `${name} [tfjs]`);
        } finally {
          setNativeKernelsEnabled(true);
        }
      }
      result[name] = { ...timing, warmupEpochSeconds: mine.map((m) => m.warmupSeconds!), ...(tfjs ? { tfjs } : {}) };
      log(`${name}: ${timing.secPerEpoch.toFixed(3)} s/epoch (${timing.path})${tfjs ? `, tfjs-only ${tfjs.secPerEpoch.toFixed(3)} s/epoch` : ''}`);
      if (rounds > 1) {
        const peers = blasList.map((blas): PytorchPeerTiming => {
          const t = theirs.get(blas)!;
          const all = t.flatMap((x) => x.epochSeconds);
          const cpuAll = t.flatMap((x) => x.epochCpuSeconds ?? []);
          const secPerEpoch = median(all);
          return {
            secPerEpoch,
            epochSeconds: all,
            ...(cpuAll.length > 0 ? { cpuSecPerEpoch: median(cpuAll), epochCpuSeconds: cpuAll, cpuRatio: timing.cpuSecPerEpoch! / median(cpuAll) } : {}),
            lastLoss: t.at(-1)!.lastLoss,
            path: 'pytorch',
            blas,
            warmupSeconds: t.at(-1)!.warmupSeconds,
            warmupEpochSeconds: t.map((x) => x.warmupSeconds!),
            ratio: timing.secPerEpoch / secPerEpoch,
            ratioRounds: mine.map((m, i) => m.secPerEpoch / t[i]!.secPerEpoch),
          };
        });
        attachPeers(result[name]!, peers, log, name);
      }
    }
  } finally {
    frames.dispose();
  }
  if (blasList.length > 0 && rounds === 1) {
    const ref = new Map(blasList.map((blas) => [blas, runPeer(blas, models)]));
    for (const name of models) {
      const mine = result[name];
      if (!mine) continue;
      attachPeers(
        mine,
        blasList.map((blas) => {
          const peer = ref.get(blas)![name]!;
          return { ...peer, blas, ratio: mine.secPerEpoch / peer.secPerEpoch, ...(peer.cpuSecPerEpoch ? { cpuRatio: mine.cpuSecPerEpoch! / peer.cpuSecPerEpoch } : {}) };
        }),
        log,
        name,
      );
    }
  }
  if (blasList.length > 0) result.pytorchBackends = backends;
  if (resolved.skipped.length > 0) result.skipped = resolved.skipped;
  result.machine.loadAvg1mAfter = os.loadavg()[0]!;
  return result;
}

/** Records every peer of a model and, as `pytorch`/`ratioToPytorch`/`ratioRounds`, the strongest (lowest s/epoch). */
function attachPeers(entry: ModelTiming, peers: PytorchPeerTiming[], log: (l: string) => void, name: string): void {
  if (peers.length === 0) return;
  const best = peers.reduce((a, b) => (b.secPerEpoch < a.secPerEpoch ? b : a));
  const { ratio, ratioRounds, cpuRatio: _c, warmupEpochSeconds: _w, ...timing } = best;
  entry.pytorch = timing;
  entry.ratioToPytorch = ratio;
  if (ratioRounds) entry.ratioRounds = ratioRounds;
  entry.pytorchPeers = peers;
  for (const p of peers) {
    const perRound = p.ratioRounds ? ` (per round ${p.ratioRounds.map((x) => x.toFixed(2)).join(', ')})` : '';
    const cpu = p.cpuRatio === undefined ? '' : `; cpu ${p.cpuSecPerEpoch!.toFixed(3)} s/epoch, ratio ${p.cpuRatio.toFixed(2)}x`;
    log(`${name}: PyTorch/${p.blas} ${p.secPerEpoch.toFixed(3)} s/epoch, ratio ${p.ratio.toFixed(2)}x${perRound}${cpu}${p === best ? ' <- strongest peer' : ''}`);
  }
}
