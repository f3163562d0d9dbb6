/**
 * LSTM-AE scoring, onnxruntime against PyTorch on one thread (`seismo bench lstm-scoring`): the
 * reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16) at several batch sizes,
 * onnxruntime at each graph optimisation level (`disabled`, `basic`, `extended`, `all`; seismo's
 * worker uses `all`), and the PyTorch peer (bench/pytorch/score_bench.py, the faster of eager and
 * TorchScript) at the same batch sizes, rounds alternating, medians reported.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median } from '../src/stats/quantile.js';
import { runPytorchScoring, trainReferenceModel } from './throughput.js';

export const GRAPH_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
type Level = (typeof GRAPH_LEVELS)[number];

export interface LstmScoringOptions {
  /** Batch sizes. Default [64, 256]. */
  batchSizes?: number[];
  /** Graph optimisation levels of onnxruntime. Default all four. */
  levels?: readonly Level[];
  /** Python with torch for the peer; false to skip it. Default `/usr/bin/python3`. */
  pytorch?: boolean | string;
  rounds?: number;
  seconds?: number;
  log?: (line: string) => void;
}

export interface LstmScoringRow {
  batchSize: number;
  /** windows/s per graph optimisation level, medians. */
  ort: Record<string, number>;
  pytorch?: number;
  /** onnxruntime at `all` / PyTorch. */
  ratioAllToPytorch?: number;
  rounds: Record<string, number[]>;
}

export interface LstmScoringResult {
  rows: LstmScoringRow[];
  pytorch?: { torch: string; backends: Record<string, unknown>; modes: string[] };
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1mBefore: number; loadAvg1mAfter: number };
}

export async function runLstmScoring(options: LstmScoringOptions = {}): Promise<LstmScoringResult> {
  const log = options.log ?? (() => undefined);
  const batchSizes = options.batchSizes ?? [64, 256];
  const levels = options.levels ?? GRAPH_LEVELS;
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 2;
  const python = options.pytorch === false ? undefined : typeof options.pytorch === 'string' ? options.pytorch : '/usr/bin/python3';
  const loadBefore = os.loadavg()[0]!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-'));
  const sessions: ort.InferenceSession[] = [];
  try {
    await trainReferenceModel(dir, log);
    const model = readModelDir(dir);
    const W = model.manifest.window;
    const C = model.manifest.channels.length;
    const stream = generateSeries({ length: 8192, channels: C, seed: 2, anomalies: [] }).table.frames;
    const runners = new Map<string, () => Promise<number>>();
    for (const level of levels) {
      // The worker's session options (src/infer/providers.ts), the level aside.
      const session = await ort.InferenceSession.create(model.onnx, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: level });
      sessions.push(session);
      for (const batch of batchSizes) {
        const feeds = {
          frames: new ort.Tensor('float32', stream.slice(0, (batch + W - 1) * C), [batch + W - 1, C]),
          starts: new ort.Tensor('int64', BigInt64Array.from({ length: batch }, (_, i) => BigInt(i)), [batch]),
        };
        for (let i = 0; i < 10; i++) await session.run(feeds, ['score', 'channel_score']);
        runners.set(`${batch}/${level}`, async () => {
          let windows = 0;
          const t0 = performance.now();
          while (performance.now() - t0 < seconds * 1000) {
            await session.run(feeds, ['score', 'channel_score']);
            windows += batch;
          }
          return windows / ((performance.now() - t0) / 1000);
        });
      }
    }
    const rates = new Map<string, number[]>();
    const push = (k: string, v: number): void => {
      rates.set(k, [...(rates.get(k) ?? []), v]);
    };
    let torchInfo: LstmScoringResult['pytorch'];
    const modes: string[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const batch of batchSizes) {
        const parts: string[] = [];
        for (const level of levels) {
          const v = await runners.get(`${batch}/${level}`)!();
          push(`${batch}/${level}`, v);
          parts.push(`${level} ${v.toFixed(0)}`);
        }
        if (python) {
          const t = runPytorchScoring(python, batch, seconds);
          push(`${batch}/pytorch`, t.windowsPerSec);
          modes.push(t.mode);
          torchInfo = { torch: t.torch, backends: t.backends, modes };
          parts.push(`pytorch ${t.windowsPerSec.toFixed(0)} (${t.mode})`);
        }
        log(`round ${r + 1}/${rounds}, batch ${batch}: ${parts.join(', ')} windows/s`);
      }
    }
    const rows: LstmScoringRow[] = batchSizes.map((batch) => {
      const ortMedians = Object.fromEntries(levels.map((l) => [l, median(rates.get(`${batch}/${l}`)!)]));
      const torch = python ? median(rates.get(`${batch}/pytorch`)!) : undefined;
      const roundsOf = Object.fromEntries([...levels, ...(python ? ['pytorch'] : [])].map((k) => [k, rates.get(`${batch}/${k}`)!]));
      return {
        batchSize: batch,
        ort: ortMedians,
        ...(torch === undefined ? {} : { pytorch: torch, ratioAllToPytorch: (ortMedians['all'] ?? NaN) / torch }),
        rounds: roundsOf,
      };
    });
    return {
      rows,
      ...(torchInfo ? { pytorch: torchInfo } : {}),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1mBefore: loadBefore, loadAvg1mAfter: os.loadavg()[0]! },
    };
  } finally {
    for (const s of sessions) await s.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
