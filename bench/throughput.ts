/**
 * Throughput of the hot path, measured in one run so that the ratio is fair on a shared machine:
 * - `ortWindowsPerSec`: onnxruntime alone, `session.run` on prepared tensors in this thread;
 * - `pipelineWindowsPerSec`: seismo's whole path, samples pushed into the native rings, cut into
 *   windows, scored by the worker thread, results and events delivered;
 * - `ingestSamplesPerSec`: frames pushed one at a time into a ring buffer, nothing else.
 * Rounds alternate between the measurements; each figure is the median over rounds.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { createSession, type ProviderRequest } from '../src/infer/providers.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { SeismoError } from '../src/errors.js';
import { readModelDir } from '../src/model/model-dir.js';
import { PACKAGE_ROOT } from '../src/native.js';
import { median } from '../src/stats/quantile.js';
import { FrameRings } from '../src/window/frame-rings.js';
import { ortRounds, withReferenceModel, writeChunks } from './rounds.js';

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
  /**
   * Also run the PyTorch scoring peer (bench/pytorch/score_bench.py, one thread) in the same
   * alternating rounds: true for `/usr/bin/python3`, or a python executable. Default false.
   */
  pytorch?: boolean | string;
  /** Progress lines. */
  log?: (line: string) => void;
}

/** The PyTorch scoring peer's figures and what it computed with. */
export interface PytorchScoring {
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
  /** BLAS library, MKL and oneDNN (mkldnn) availability, as torch reports them. */
  backends: Record<string, unknown>;
  /** Which mode won each round. */
  modes: string[];
}

export interface ThroughputResult {
  model: { dir: string | null; kind: string; window: number; channels: number };
  batchSize: number;
  provider: string;
  ortWindowsPerSec: number;
  pipelineWindowsPerSec: number;
  ratio: number;
  /** pipeline / onnxruntime within each round, median over rounds. */
  roundRatio: number;
  ingestSamplesPerSec: number;
  /** The PyTorch peer (with `pytorch`): the same model shape scored on one thread. */
  pytorch?: PytorchScoring;
  rounds: { ort: number[]; pipeline: number[]; ingest: number[]; pytorch?: number[] };
  machine: { cpus: number; cpuModel: string; node: string };
}


export async function runThroughput(options: ThroughputOptions = {}): Promise<ThroughputResult> {
  const log = options.log ?? (() => {});
  const batch = options.batchSize ?? 64;
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 2;
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
    const detector = await Detector.load(dir, { provider: options.provider, batchSize: batch, stride: 1, maxSeries: rounds + 1 });
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

    // 3. ingest alone: one N-API call per frame.
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
    const torchRates: number[] = [];
    const torchModes: string[] = [];
    let torchInfo: { torch: string; backends: Record<string, unknown> } | undefined;
    const python = options.pytorch ? (typeof options.pytorch === 'string' ? options.pytorch : '/usr/bin/python3') : undefined;
    if (python && (model.manifest.kind !== 'lstm-ae' || W !== 64 || C !== 8)) {
      throw new SeismoError('ERR_INVALID_OPTION', `the PyTorch scoring peer models the reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16); drop --model to compare against it`);
    }
    try {
      await pipelineRound(); // warm-up: worker session, JIT
      for (let r = 0; r < rounds; r++) {
        ortRates.push(await ortRound());
        pipeRates.push(await pipelineRound());
        ingestRates.push(ingestRound());
        let torchText = '';
        if (python) {
          // One process per round, so that its rounds alternate with ours under the same load.
          const t = runPytorchScoring(python, batch, seconds);
          torchRates.push(t.windowsPerSec);
          torchModes.push(t.mode);
          torchInfo = { torch: t.torch, backends: t.backends };
          torchText = `, pytorch ${t.windowsPerSec.toFixed(0)} windows/s (${t.mode})`;
        }
        log(`round ${r + 1}/${rounds}: ort ${ortRates.at(-1)!.toFixed(0)} windows/s, pipeline ${pipeRates.at(-1)!.toFixed(0)} windows/s, ingest ${(ingestRates.at(-1)! / 1e6).toFixed(2)} M samples/s${torchText}`);
      }
    } finally {
      await detector.close();
      await session.release();
      rings.dispose();
    }
    const ortMedian = median(ortRates);
    const pipeMedian = median(pipeRates);
    return {
      model: { dir: options.model ?? null, kind: model.manifest.kind, window: W, channels: C },
      batchSize: batch,
      provider: report.provider,
      ortWindowsPerSec: ortMedian,
      pipelineWindowsPerSec: pipeMedian,
      ratio: pipeMedian / ortMedian,
      roundRatio: median(pipeRates.map((p, i) => p / ortRates[i]!)),
      ingestSamplesPerSec: median(ingestRates),
      ...(torchInfo
        ? {
            pytorch: {
              windowsPerSec: median(torchRates),
              pipelineRatio: pipeMedian / median(torchRates),
              ortRatio: ortMedian / median(torchRates),
              roundRatios: { pipeline: median(pipeRates.map((p, i) => p / torchRates[i]!)), ort: median(ortRates.map((o, i) => o / torchRates[i]!)) },
              ...torchInfo,
              modes: torchModes,
            },
          }
        : {}),
      rounds: { ort: ortRates, pipeline: pipeRates, ingest: ingestRates, ...(torchInfo ? { pytorch: torchRates } : {}) },
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node },
    };
  });
}

/** One round of bench/pytorch/score_bench.py: windows/s of the faster of eager and TorchScript. */
export function runPytorchScoring(python: string, batch: number, seconds: number): { windowsPerSec: number; mode: string; torch: string; backends: Record<string, unknown> } {
  // From the package root, not __dirname: tsc does not copy the .py file into dist/.
  const script = path.join(PACKAGE_ROOT, 'bench', 'pytorch', 'score_bench.py');
  if (!fs.existsSync(script)) {
    throw new SeismoError('ERR_INVALID_OPTION', `PyTorch scoring script not found at ${script} (it ships with a source checkout of seismo, not the npm package).`, { script });
  }
  const r = spawnSync(python, [script, '--json', '--rounds', '1', '--seconds', String(seconds), '--batch', String(batch)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 });
  if (r.status !== 0) {
    throw new SeismoError('ERR_INVALID_OPTION', `PyTorch scoring peer failed (${r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').at(-1)}`}); install Debian's python3-torch or pass --pytorch <python>.`, { python });
  }
  const out = JSON.parse(r.stdout) as { windowsPerSec: number; mode: string; torch: string; backends: Record<string, unknown> };
  return { windowsPerSec: out.windowsPerSec, mode: out.mode, torch: out.torch, backends: out.backends };
}
