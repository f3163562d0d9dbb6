/**
 * Throughput of the hot path, measured in one run so that the ratio is fair on a shared machine:
 * - `ortWindowsPerSec`: onnxruntime alone, `session.run` on prepared tensors in this thread;
 * - `pipelineWindowsPerSec`: seismo's whole path, samples pushed into the native rings, cut into
 *   windows, scored by the worker thread, results and events delivered;
 * - `ingestSamplesPerSec`: frames pushed one at a time into a ring buffer, nothing else.
 * Rounds alternate between the measurements; each figure is the median over rounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { createSession, type ProviderRequest } from '../src/infer/providers.js';
import type { RuntimeReport, RuntimeRequest } from '../src/infer/runtime.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { SeismoError } from '../src/errors.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median } from '../src/stats/quantile.js';
import { FrameRings } from '../src/window/frame-rings.js';
import { compileOnednnPeer, runOnednnScoring, type OnednnScoring } from './onednn-peer.js';
import { pythonOf, resolvePytorchPeers, runPytorchScoring, type PytorchBackends, type PytorchBlas, type SkippedPeer } from './pytorch/peer.js';
import { ortRounds, withReferenceModel, writeChunks } from './rounds.js';

export { runPytorchScoring } from './pytorch/peer.js';

export interface ThroughputOptions {
  /** Model directory; default: an LSTM-AE of the reference size (window 64, 8 channels, encoder 32, decoder 16), trained 1 epoch. */
  model?: string;
  /** Windows per inference call. Default 64. */
  batchSize?: number;
  /** Measurement rounds per figure. Default 5. */
  rounds?: number;
  /** Seconds per round. Default 2. */
  seconds?: number;
  provider?: ProviderRequest;
  /** What runs the pipeline's model graph (DetectorOptions.runtime). Default `auto`. */
  runtime?: RuntimeRequest;
  /**
   * Also run the PyTorch scoring peer (bench/pytorch/score_bench.py, one thread) in the same
   * alternating rounds: true for `/usr/bin/python3`, or a python executable. Default false.
   */
  pytorch?: boolean | string;
  /**
   * BLAS of the PyTorch peer (bench/pytorch/peer.ts): each one a separate peer process in every
   * round, e.g. `['openblas', 'mkl']`. Default `['openblas']`.
   */
  pytorchBlas?: readonly PytorchBlas[];
  /**
   * Python of the `wheel` peer (the PyTorch CPU wheel's venv, bench/pytorch/install-wheel.sh).
   * Default: `SEISMO_PYTORCH_WHEEL`, else /opt/torch-wheel/bin/python; skipped, and said so, when absent.
   */
  pytorchWheel?: string;
  /**
   * Also run the oneDNN C++ peer (bench/onednn/lstm_ae_peer.cc: oneDNN's fused LSTM primitive and a
   * matmul on one thread, compiled here against Debian's libdnnl-dev) in the same alternating
   * rounds; skipped, and said so, when it cannot be compiled. Default false.
   */
  onednn?: boolean;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The PyTorch scoring peer's figures and what it computed with. */
export interface PytorchScoring {
  /** The BLAS this peer was given (`backends.summary` says what ran). */
  blas: PytorchBlas;
  /** Median windows/s over the rounds (each round the faster of eager and TorchScript). */
  windowsPerSec: number;
  /** seismo pipeline / PyTorch (above 1: seismo is faster). */
  pipelineRatio: number;
  /** onnxruntime alone / PyTorch. */
  ortRatio: number;
  /**
   * The same ratios taken within each round, then the median: steadier than a ratio of medians
   * when the machine's load changes between rounds (each round's sides ran back to back).
   */
  roundRatios: { pipeline: number; ort: number };
  torch: string;
  /** What the peer computed with, proven in its process: the BLAS library, MKL calls, oneDNN. */
  backends: PytorchBackends;
  /** Which mode won each round. */
  modes: string[];
  /** windows/s per round. */
  rounds: number[];
  /** The python that ran it. */
  python: string;
  /** pipeline / PyTorch of every round (each round's sides ran back to back). */
  pipelineRatioRounds: number[];
}

/** The oneDNN C++ peer's figures (bench/onednn-peer.ts), rounds alternating with seismo's. */
export interface OnednnThroughput {
  /** Median windows/s over the rounds. */
  windowsPerSec: number;
  /** seismo pipeline / oneDNN, and onnxruntime alone / oneDNN, ratios of medians. */
  pipelineRatio: number;
  ortRatio: number;
  /** The same ratios within each round, median over rounds. */
  roundRatios: { pipeline: number; ort: number };
  /** pipeline / oneDNN of every round. */
  pipelineRatioRounds: number[];
  rounds: number[];
  /** oneDNN's version (Debian's libdnnl) and the OpenMP threads it ran on (1). */
  dnnl: string;
  threads: number;
}

export interface ThroughputResult {
  model: { dir: string | null; kind: string; window: number; channels: number };
  batchSize: number;
  provider: string;
  /** What scored the pipeline's windows (the native LSTM-AE scorer or onnxruntime), and why not the native one. */
  runtime: RuntimeReport;
  ortWindowsPerSec: number;
  pipelineWindowsPerSec: number;
  ratio: number;
  /** pipeline / onnxruntime within each round, median over rounds. */
  roundRatio: number;
  ingestSamplesPerSec: number;
  /** The strongest PyTorch peer (with `pytorch`; highest median): the same model shape scored on one thread. */
  pytorch?: PytorchScoring;
  /** Every PyTorch peer, one per `pytorchBlas` entry, in that order. */
  pytorchPeers?: PytorchScoring[];
  /** With `onednn`: the oneDNN C++ peer. */
  onednn?: OnednnThroughput;
  /** Peers asked for but not run (the wheel's python missing, the oneDNN peer not compiling), and why. */
  skipped?: SkippedPeer[];
  rounds: { ort: number[]; pipeline: number[]; ingest: number[]; pytorch?: number[]; onednn?: number[] };
  /** pipeline / onnxruntime alone of every round. */
  pipelineRatioRounds: number[];
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1mBefore: number; loadAvg1mAfter: number };
}


export async function runThroughput(options: ThroughputOptions = {}): Promise<ThroughputResult> {
  const log = options.log ?? (() => {});
  const batch = options.batchSize ?? 64;
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 2;
  const loadBefore = os.loadavg()[0]!;
  return withReferenceModel(options.model, log, async (dir) => {
    const model = readModelDir(dir);
    const W = model.manifest.window;
    const C = model.manifest.channels.length;
    // Data: a long synthetic stream of the model's width.
    const total = 1 << 16;
    const stream = generateSeries({ length: total, channels: C, seed: 2, anomalies: [] }).table;

    // 1. onnxruntime alone, same session options as the worker, stride-1 windows of one span.
    const { session, report } = await createSession(model.onnx, { provider: options.provider });
    const ortRound = await ortRounds(session, { stream: stream.frames, window: W, channels: C, batch, seconds });

    // 2. the whole pipeline: chunks of 64 samples, the way an ingestion service receives them.
    const detector = await Detector.load(dir, { provider: options.provider, runtime: options.runtime, batchSize: batch, stride: 1, maxSeries: rounds + 1 });
    const runtime = detector.runtime;
    log(`pipeline runtime: ${runtime.runtime}${runtime.isa ? ` (${runtime.isa})` : ''}${runtime.reason ? ` (${runtime.reason})` : ''}`);
    let anomalies = 0;
    detector.on('anomaly', () => {
      anomalies++;
    });
    let series = 0;
    const clock = { row: 0, clock: 0 };
    // Each round a new series from the stream's start (the clock goes on).
    const pipelineRound = async (): Promise<number> => {
      clock.row = 0;
      return writeChunks(detector, `bench-${series++}`, stream.frames, C, seconds, clock);
    };

    // 3. ingest alone: one FrameRings.push per frame (written in TypeScript into the native memory).
    const rings = new FrameRings({ channels: C, capacity: 4096 });
    const ingestRound = (): number => {
      let n = 0;
      const t0 = performance.now();
      let written = rings.state(0).written;
      while (performance.now() - t0 < seconds * 1000) {
        for (let i = 0; i < 4096; i++) {
          const r = (i * 7) % total;
          written = rings.push(0, stream.frames.subarray(r * C, (r + 1) * C), 1);
        }
        rings.release(0, written);
        n += 4096;
      }
      return n / ((performance.now() - t0) / 1000);
    };

    const ortRates: number[] = [];
    const pipeRates: number[] = [];
    const ingestRates: number[] = [];
    const python = pythonOf(options.pytorch);
    const resolved = python ? resolvePytorchPeers(options.pytorchBlas ?? ['openblas'], python, options.pytorchWheel) : { peers: [], skipped: [] };
    const skipped: SkippedPeer[] = [...resolved.skipped];
    const peers = resolved.peers.map((p) => ({ ...p, rates: [] as number[], modes: [] as string[], torch: '', backends: undefined as PytorchBackends | undefined }));
    if ((python || options.onednn) && (model.manifest.kind !== 'lstm-ae' || W !== 64 || C !== 8)) {
      throw new SeismoError('ERR_INVALID_OPTION', `the PyTorch and oneDNN scoring peers model the reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16); drop --model to compare against it`);
    }
    // The oneDNN peer is compiled once, before the rounds; a machine without g++ or libdnnl-dev skips it.
    let onednnDir: string | undefined;
    let onednnExe: string | undefined;
    if (options.onednn) {
      onednnDir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-onednn-'));
      try {
        onednnExe = compileOnednnPeer(onednnDir);
      } catch (err) {
        if (!(err instanceof SeismoError)) throw err;
        skipped.push({ peer: 'onednn', reason: err.message });
      }
    }
    for (const s of skipped) log(`${s.peer} skipped: ${s.reason}`);
    const onednnRates: number[] = [];
    let onednnLast: OnednnScoring | undefined;
    try {
      await pipelineRound(); // warm-up: worker session, JIT
      for (let r = 0; r < rounds; r++) {
        ortRates.push(await ortRound());
        pipeRates.push(await pipelineRound());
        ingestRates.push(ingestRound());
        let torchText = '';
        for (const peer of peers) {
          // One process per round, so that its rounds alternate with ours under the same load.
          const t = runPytorchScoring(peer.python, batch, seconds, peer.blas);
          peer.rates.push(t.windowsPerSec);
          peer.modes.push(t.mode);
          peer.torch = t.torch;
          peer.backends = t.backends;
          torchText += `, pytorch/${peer.blas} ${t.windowsPerSec.toFixed(0)} windows/s (${t.mode})`;
        }
        if (onednnExe) {
          onednnLast = runOnednnScoring(onednnExe, batch, seconds);
          onednnRates.push(onednnLast.windowsPerSec);
          torchText += `, oneDNN ${onednnLast.windowsPerSec.toFixed(0)} windows/s`;
        }
        log(`round ${r + 1}/${rounds}: ort ${ortRates.at(-1)!.toFixed(0)} windows/s, pipeline ${pipeRates.at(-1)!.toFixed(0)} windows/s, ingest ${(ingestRates.at(-1)! / 1e6).toFixed(2)} M samples/s${torchText}`);
      }
    } finally {
      await detector.close();
      await session.release();
      rings.dispose();
      if (onednnDir) fs.rmSync(onednnDir, { recursive: true, force: true });
    }
    const ortMedian = median(ortRates);
    const pipeMedian = median(pipeRates);
    const pytorchPeers: PytorchScoring[] = peers.map((p) => ({
      blas: p.blas,
      windowsPerSec: median(p.rates),
      pipelineRatio: pipeMedian / median(p.rates),
      ortRatio: ortMedian / median(p.rates),
      roundRatios: { pipeline: median(pipeRates.map((v, i) => v / p.rates[i]!)), ort: median(ortRates.map((o, i) => o / p.rates[i]!)) },
      torch: p.torch,
      backends: p.backends!,
      modes: p.modes,
      rounds: p.rates,
      python: p.python,
      pipelineRatioRounds: pipeRates.map((v, i) => v / p.rates[i]!),
    }));
    const onednn: OnednnThroughput | undefined = onednnLast && {
      windowsPerSec: median(onednnRates),
      pipelineRatio: pipeMedian / median(onednnRates),
      ortRatio: ortMedian / median(onednnRates),
      roundRatios: { pipeline: median(pipeRates.map((v, i) => v / onednnRates[i]!)), ort: median(ortRates.map((o, i) => o / onednnRates[i]!)) },
      pipelineRatioRounds: pipeRates.map((v, i) => v / onednnRates[i]!),
      rounds: onednnRates,
      dnnl: onednnLast.dnnl,
      threads: onednnLast.threads,
    };
    const strongest = pytorchPeers.reduce<PytorchScoring | undefined>((best, p) => (best === undefined || p.windowsPerSec > best.windowsPerSec ? p : best), undefined);
    return {
      model: { dir: options.model ?? null, kind: model.manifest.kind, window: W, channels: C },
      batchSize: batch,
      provider: report.provider,
      runtime,
      ortWindowsPerSec: ortMedian,
      pipelineWindowsPerSec: pipeMedian,
      ratio: pipeMedian / ortMedian,
      roundRatio: median(pipeRates.map((p, i) => p / ortRates[i]!)),
      ingestSamplesPerSec: median(ingestRates),
      ...(strongest ? { pytorch: strongest, pytorchPeers } : {}),
      ...(onednn ? { onednn } : {}),
      ...(skipped.length > 0 ? { skipped } : {}),
      rounds: { ort: ortRates, pipeline: pipeRates, ingest: ingestRates, ...(strongest ? { pytorch: strongest.rounds } : {}), ...(onednn ? { onednn: onednnRates } : {}) },
      pipelineRatioRounds: pipeRates.map((p, i) => p / ortRates[i]!),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1mBefore: loadBefore, loadAvg1mAfter: os.loadavg()[0]! },
    };
  });
}
