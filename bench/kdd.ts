/**
 * KDD Cup 99, per record (the Cloudera "Deep Learning for Anomaly Detection" protocol):
 * - the 10% file, all services, 38 numeric features (symbolic ones dropped), log1p-transformed
 *   (bytes and counts are heavy-tailed);
 * - test set: 8000 normal and 2000 attack records drawn at random (seeded);
 * - training set: 10,000 other normal records (the models learn normal traffic only);
 * - each record is a window of one frame; every model kind is trained with its defaults and
 *   scored through the detector (rings, worker, onnxruntime);
 * - per model: ROC AUC, PR AUC, and precision / recall / F1 / F2 at the best-F1 threshold (an
 *   optimistic, label-tuned operating point, as the study reports).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { trainToDir } from '../training/train-to-dir.js';
import { Detector } from '../src/detector/index.js';
import { averagePrecision, bestF1, rocAuc, thresholdMetrics } from '../src/evaluate/index.js';
import { loadKdd99 } from '../src/ingest/kdd99.js';
import { Random } from '../src/stats/random.js';
import { scoreTable } from '../src/score/score-table.js';

export const KDD_MODELS = ['dense-ae', 'vae', 'bigan', 'ocsvm', 'pca'] as const;

export interface KddOptions {
  /** The kdd99 folder (holding kddcup.data_10_percent.gz) or the file itself. */
  data: string;
  models?: string[];
  seed?: number;
  log?: (line: string) => void;
}

export interface KddModelResult {
  rocAuc: number;
  prAuc: number;
  precision: number;
  recall: number;
  f1: number;
  f2: number;
  threshold: number;
  trainSeconds: number;
}

export interface KddResult {
  protocol: string;
  train: number;
  test: { normal: number; attack: number };
  models: Record<string, KddModelResult>;
}

/** Draws `k` distinct indices of `pool` (partial Fisher-Yates, seeded). */
function sample(pool: number[], k: number, rng: Random): number[] {
  const a = pool.slice();
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.next() * (a.length - i));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, k);
}

export async function runKdd(options: KddOptions): Promise<KddResult> {
  const log = options.log ?? (() => {});
  const file = fs.statSync(options.data).isDirectory() ? path.join(options.data, 'kddcup.data_10_percent.gz') : options.data;
  const kdd = await loadKdd99(file);
  const C = kdd.table.channels.length;
  const normal: number[] = [];
  const attack: number[] = [];
  kdd.labels.forEach((y, i) => (y ? attack : normal).push(i));
  const rng = new Random(options.seed ?? 1);
  const picked = sample(normal, 18_000, rng);
  const testNormal = picked.slice(0, 8000);
  const trainRows = picked.slice(8000);
  const testRows = [...testNormal, ...sample(attack, 2000, rng)];
  // The test stream is shuffled so that attacks do not arrive as one block.
  const order = sample(testRows, testRows.length, rng);
  const gather = (rows: number[]): Float32Array => {
    const out = new Float32Array(rows.length * C);
    rows.forEach((r, i) => {
      for (let c = 0; c < C; c++) out[i * C + c] = Math.log1p(Math.max(0, kdd.table.frames[r * C + c]!));
    });
    return out;
  };
  const trainFrames = gather(trainRows);
  const testFrames = gather(order);
  const labels = Uint8Array.from(order, (r) => kdd.labels[r]!);
  const time = Float64Array.from({ length: order.length }, (_, i) => i);
  const models: Record<string, KddModelResult> = {};
  for (const kind of options.models ?? KDD_MODELS) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seismo-kdd-${kind}-`));
    try {
      const { summary } = await trainToDir(kind, trainFrames, kdd.table.channels, dir, { config: { window: 1 }, stride: 1, seed: options.seed ?? 1 });
      const detector = await Detector.load(dir, { provider: 'cpu', stride: 1 });
      try {
        const scored = await scoreTable(detector, time, testFrames);
        const best = bestF1(labels, scored.scores);
        const m = thresholdMetrics(labels, scored.scores, best.threshold);
        models[kind] = {
          rocAuc: rocAuc(labels, scored.scores),
          prAuc: averagePrecision(labels, scored.scores),
          precision: m.precision,
          recall: m.recall,
          f1: m.f1,
          f2: m.f2,
          threshold: best.threshold,
          trainSeconds: summary.seconds,
        };
        log(`${kind}: ROC AUC ${models[kind]!.rocAuc.toFixed(4)}, PR AUC ${models[kind]!.prAuc.toFixed(4)}, F1 ${m.f1.toFixed(4)} (trained in ${summary.seconds.toFixed(1)} s)`);
      } finally {
        await detector.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    protocol: 'KDD Cup 99 10%, all services, 38 numeric features log1p; train 10,000 normal records; test 8000 normal + 2000 attack (seeded); one record per window; metrics at the best-F1 threshold',
    train: trainRows.length,
    test: { normal: testNormal.length, attack: 2000 },
    models,
  };
}
