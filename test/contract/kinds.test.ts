// The contract every registered model kind keeps (River's `checks/anomaly.py` in spirit): trained
// on a clean stretch of a planted-anomaly series, exported, served, it must give the same scores
// in tfjs and onnxruntime, finite scores, channel shares that add up to the score, the same scores
// after a trip through a model directory and the Detector, and a ROC AUC well above chance.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runModel } from '../helpers/ort-run.js';
import { Detector } from '../../src/detector/index.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { readModelDir, writeModelDir } from '../../src/model/model-dir.js';
import { scoreTable } from '../../src/score/score-table.js';
import { initBackend } from '../../training/backend.js';
import { cutScaledWindows, getKind, type KindConfigs, listKinds, trainModel, type TrainResult } from '../../training/index.js';

/** How the suite trains and labels one kind. */
interface ContractCase<K extends keyof KindConfigs = keyof KindConfigs> {
  /** A small config (checked against the kind's config type): the whole suite must stay fast on a shared 2-core machine. */
  config: Partial<KindConfigs[K]>;
  /** Frames between training windows. */
  stride?: number;
  /**
   * Which frames a window's score is about: `last` for causal kinds that score the window's last
   * frame (DC-VAE, DeepAnT), `any` for kinds that score the whole window (reconstruction error).
   * A window's label is the label of those frames (any of them anomalous -> 1).
   */
  labels: 'last' | 'any';
}

const CASES: { [K in keyof KindConfigs]?: ContractCase<K> } = {
  'lstm-ae': { config: { window: 16, encoderUnits: [16], decoderUnits: [8], epochs: 4, batchSize: 32, learningRate: 0.01 }, stride: 2, labels: 'any' },
  'dc-vae': { config: { window: 16, depth: 4, filters: 16, latent: 2, epochs: 6, batchSize: 32, learningRate: 0.005 }, labels: 'last' },
  deepant: { config: { window: 16, filters: [16, 16], hidden: 32, epochs: 6, batchSize: 32, learningRate: 0.005 }, labels: 'last' },
  // A GAN needs more steps than the generic 4 epochs give: short windows, small nets, a larger step size.
  bigan: { config: { window: 8, epochs: 25, batchSize: 32, learningRate: 2e-3, latent: 4, encoderUnits: [32], generatorUnits: [32], discriminatorUnits: 32 }, labels: 'any' },
};

/** The kind's case above, or a small generic one (a kind registered by a user). */
function caseOf(kind: string): ContractCase {
  return (CASES[kind as keyof KindConfigs] as ContractCase | undefined) ?? { config: { window: 16, epochs: 4, batchSize: 32 }, labels: 'any' };
}

const C = 3;
const LENGTH = 1600;
/** Training uses the clean first half (the generator keeps the first half free of anomalies). */
const SPLIT = LENGTH / 2;
const data = generateSeries({ length: LENGTH, channels: C, seed: 7, periods: [48, 12] });
const frames = data.table.frames;
const channels = data.table.channels;
/** Relative tolerance of tfjs-vs-onnxruntime parity: |a - b| <= TOL * max(1, |b|). */
const TOL = 1e-4;

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

async function runOrt(bytes: Uint8Array, span: Float32Array, starts: ArrayLike<number>): Promise<{ score: Float32Array; channelScore: Float32Array }> {
  const out = await runModel(bytes, span, C, starts);
  return { score: out['score']!.data, channelScore: out['channel_score']!.data };
}

describe('contract: every registered model kind', function () {
  this.timeout(120_000);
  before(async () => {
    await initBackend();
  });

  it('covers at least the window kinds of this package', () => {
    for (const kind of ['lstm-ae', 'dc-vae', 'deepant']) assert.ok(listKinds().includes(kind), `${kind} is not registered`);
  });

  for (const kind of listKinds()) {
    describe(kind, () => {
      const contract = caseOf(kind);
      let trained: TrainResult;
      let W: number;
      /** The test half with W-1 frames of history before it: its windows end on every test frame. */
      let span: Float32Array;
      let spanTime: Float64Array;
      let starts: Int32Array;
      let ortScores: { score: Float32Array; channelScore: Float32Array };

      before(async () => {
        trained = await trainModel({ kind: kind as 'lstm-ae', frames: frames.subarray(0, SPLIT * C), channels, config: contract.config as never, stride: contract.stride, seed: 5 });
        W = trained.manifest.window;
        const from = SPLIT - W + 1;
        span = frames.subarray(from * C, LENGTH * C);
        spanTime = data.table.time.subarray(from, LENGTH);
        starts = Int32Array.from({ length: LENGTH - from - W + 1 }, (_, i) => i);
        ortScores = await runOrt(trained.onnx, span, starts);
      });
      after(() => trained?.dispose());

      it('scores the same in tfjs and onnxruntime', () => {
        const windows = cutScaledWindows(span, trained.manifest.scaler, W, starts);
        const ref = tf.tidy(() => {
          const s = getKind(kind).scoreWindows(trained.model, tf.tensor3d(windows, [starts.length, W, C]));
          return { score: s.score.dataSync() as Float32Array, channelScore: s.channelScore.dataSync() as Float32Array };
        });
        const dScore = relDiff(ortScores.score, ref.score);
        const dChannel = relDiff(ortScores.channelScore, ref.channelScore);
        assert.ok(dScore <= TOL, `score differs by ${dScore} (relative)`);
        assert.ok(dChannel <= TOL, `channel_score differs by ${dChannel} (relative)`);
      });

      it('gives finite scores whose channel shares sum to the score', () => {
        assert.equal(ortScores.score.length, starts.length);
        assert.equal(ortScores.channelScore.length, starts.length * C);
        for (let n = 0; n < starts.length; n++) {
          const s = ortScores.score[n]!;
          assert.ok(Number.isFinite(s), `window ${n}: score ${s}`);
          let sum = 0;
          for (let c = 0; c < C; c++) {
            const v = ortScores.channelScore[n * C + c]!;
            assert.ok(Number.isFinite(v), `window ${n} channel ${c}: ${v}`);
            sum += v;
          }
          assert.ok(Math.abs(sum - s) <= 1e-5 * Math.max(1, Math.abs(s)), `window ${n}: channel shares sum to ${sum}, score ${s}`);
        }
        assert.ok(Number.isFinite(trained.manifest.thresholds.global.value));
      });

      it('scores the same after save -> load through a model directory and the Detector, and finds the planted anomalies (ROC AUC > 0.7)', async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seismo-contract-${kind}-`));
        try {
          // With its step graph when the kind exports one (then stride 1 below streams through it).
          writeModelDir(dir, trained.manifest, trained.onnx, trained.step ? { step: trained.step } : {});
          const loaded = readModelDir(dir);
          // As trained, plus the checksums of the files written with it.
          const { files, ...manifest } = loaded.manifest;
          assert.deepEqual(Object.keys(files ?? {}), ['model.onnx', ...(trained.step ? ['model.step.onnx'] : [])]);
          assert.deepEqual(manifest, JSON.parse(JSON.stringify(trained.manifest)));
          const detector = await Detector.load(dir, { provider: 'cpu', stride: 1 });
          let served;
          // The window graph's own scores within 1e-6; a step graph's (sums in another order) and the
          // native LSTM-AE scorer's (DetectorOptions.runtime 'auto') within 1e-5, their bar.
          const tolerance = detector.stepGraph || detector.runtime.runtime !== 'onnxruntime' ? 1e-5 : 1e-6;
          try {
            served = await scoreTable(detector, spanTime, span, { chunk: 97 });
          } finally {
            await detector.close();
          }
          assert.equal(served.scores.length, starts.length);
          const d = relDiff(served.scores, ortScores.score);
          assert.ok(d <= tolerance, `served scores differ from the in-memory model's by ${d}`);
          assert.ok(relDiff(served.channelScores, ortScores.channelScore) <= tolerance);

          const offset = SPLIT - W + 1;
          const labels = Uint8Array.from(starts, (s, n) => {
            assert.equal(served.endRows[n], s + W - 1);
            const end = offset + s + W - 1;
            if (contract.labels === 'last') return data.labels[end]!;
            return data.labels.subarray(end - W + 1, end + 1).some((l) => l === 1) ? 1 : 0;
          });
          const auc = rocAuc(labels, served.scores);
          assert.ok(auc > 0.7, `ROC AUC ${auc.toFixed(3)} on the planted anomalies (window labels: ${contract.labels} frame)`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
});
