import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../src/detector/index.js';
import { isSeismoError } from '../../src/errors.js';
import { rocAuc } from '../../src/evaluate/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { ExpertSimulator } from '../../src/learn/expert.js';
import { appendAnswers, readQueueFile } from '../../src/learn/label-queue.js';
import { OnlineLearner, type UpdateRecord } from '../../src/learn/online.js';
import { replayOnline } from '../../src/learn/replay.js';
import type { WeightTensor } from '../../src/learn/finetune-protocol.js';
import { readModelDir, writeModelDir } from '../../src/model/model-dir.js';
import { readWeights, writeWeights } from '../../src/model/model-dir.js';
import { scoreTable } from '../../src/score/score-table.js';
import { trainModel } from '../../training/index.js';

const W = 8;
const C = 3;
const STRIDE = 4;

/** A stream whose normal behaviour changes a third of the way in, with spikes throughout. */
function driftStream(): { time: Float64Array; frames: Float32Array; labels: Uint8Array } {
  const spikes = Array.from({ length: 24 }, (_, k) => ({ kind: 'spike' as const, start: 100 + k * 120, magnitude: 8 }));
  const s = generateSeries({ length: 3000, channels: C, seed: 13, periods: [48, 12], normalPrefix: 0, anomalies: spikes });
  const frames = s.table.frames.slice();
  // From row 1000 on, channels 0 and 1 live at a new level with twice the swing: a new normal.
  for (let t = 1000; t < 3000; t++) {
    frames[t * C] = frames[t * C]! * 2 + 3;
    frames[t * C + 1] = frames[t * C + 1]! * 2 - 3;
  }
  return { time: s.table.time, frames, labels: s.labels };
}

describe('OnlineLearner', function () {
  // Trains and fine-tunes real models: seconds per test on a shared machine.
  this.timeout(60_000);
  let dir: string;
  let weights: WeightTensor[];
  const stream = driftStream();
  const windowLabel = (start: number): boolean => {
    for (let r = start; r < start + W; r++) if (stream.labels[r]) return true;
    return false;
  };

  /** The training series, cut into windows laid end to end: the anchor. */
  let trainWindows: Float32Array;

  before(async function () {
    const train = generateSeries({ length: 800, channels: C, seed: 11, periods: [48, 12], anomalies: [] });
    trainWindows = train.table.frames;
    const r = await trainModel({ kind: 'lstm-ae', frames: train.table.frames, channels: train.table.channels, config: { window: W, encoderUnits: [8], decoderUnits: [8], epochs: 8, batchSize: 32, learningRate: 3e-3 }, stride: STRIDE, seed: 3 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-test-'));
    writeModelDir(dir, r.manifest, r.onnx);
    weights = r.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: Float32Array.from(w.dataSync() as Float32Array) }));
    writeWeights(dir, weights);
    r.dispose();
  });

  it('beats the static model on a stream whose normal behaviour drifts, and swaps versions in as it learns', async () => {
    const staticDetector = await Detector.load(dir, { provider: 'cpu' });
    const staticScores = await scoreTable(staticDetector, stream.time, stream.frames);
    await staticDetector.close();
    const labels = Uint8Array.from(staticScores.endRows, (end) => (windowLabel(end - W + 1) ? 1 : 0));
    const aucStatic = rocAuc(labels, staticScores.scores);

    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 32 });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
    const expert = new ExpertSimulator({ truth: (ref) => windowLabel(ref.start), budget: 8, period: 64, delay: 16 });
    const updates: UpdateRecord[] = [];
    const learner = await OnlineLearner.attach(detector, {
      workDir: work,
      weights,
      normalBuffer: 24,
      anomalyBuffer: 6,
      replay: 64,
      queriesPerBatch: 4,
      queue: { capacity: 32, budget: 8, period: 64, persist: true },
      fineTune: { epochs: 20, batchSize: 16, learningRate: 3e-3 },
      onQuery: (q) => expert.ask(q),
      onUpdate: (u) => updates.push(u),
    });
    try {
      const r = await replayOnline(detector, learner, expert, stream.time, stream.frames, { chunk: 64 });
      const aucUpdating = rocAuc(labels, r.scores);
      if (process.env.SEISMO_TEST_LOG) console.log({ aucStatic, aucUpdating, updates: updates.map((u) => [u.trigger, u.accepted, u.reason]) });
      const accepted = updates.filter((u) => u.kind === 'finetune' && u.accepted);
      assert.ok(accepted.length >= 1, `no accepted update: ${JSON.stringify(updates.map((u) => u.reason))}`);
      assert.ok(aucUpdating > aucStatic + 0.02, `updating ${aucUpdating.toFixed(3)} vs static ${aucStatic.toFixed(3)}`);
      // Versions only go up along the stream, and each window was scored once (replayOnline checks).
      for (let w = 1; w < r.versions.length; w++) assert.ok(r.versions[w]! >= r.versions[w - 1]!);
      assert.equal(learner.updates, accepted.length);
      for (const u of accepted) assert.ok(u.parity <= 1e-3);
      // Each fine-tuned version carries a calibration fitted on recent windows, and every window it scored has a normalised score.
      for (const u of accepted) assert.ok(u.calibration && u.calibration.windows >= 8 && u.calibration.scale > 0, JSON.stringify(u.calibration));
      // ... and its own channel statistics for attribution, fitted on the same windows.
      for (const u of accepted) assert.equal(u.calibration!.channels?.center.length, detector.channels.length, JSON.stringify(u.calibration));
      for (let w = 0; w < r.versions.length; w++) if (r.versions[w]! > 1) assert.ok(Number.isFinite(r.normalized[w]!), `window ${w} (v${r.versions[w]}) not normalised`);
      // Kept versions are bounded (default 3), and so are the learner's version directories.
      assert.ok(detector.versions().length <= 3);
      assert.ok(fs.readdirSync(work).filter((f) => /^v/.test(f)).length <= 3);
      assert.ok(learner.normal.size <= 24 && learner.anomaly.size <= 6 && learner.queue.size <= 32);
    } finally {
      await learner.close();
      await detector.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('with a committee, asks about the windows the new and the replaced version disagree on, once there is a replaced version', async () => {
    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 32 });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
    const expert = new ExpertSimulator({ truth: (ref) => windowLabel(ref.start), budget: 8, period: 64, delay: 16 });
    const asked: { reason: string; at: number }[] = [];
    const learner = await OnlineLearner.attach(detector, {
      workDir: work,
      weights,
      committee: true,
      normalBuffer: 24,
      anomalyBuffer: 6,
      replay: 64,
      queriesPerBatch: 4,
      queue: { capacity: 32, budget: 8, period: 64 },
      fineTune: { epochs: 10, batchSize: 16, learningRate: 3e-3 },
      onQuery: (q) => {
        asked.push({ reason: q.reason, at: q.askedAt });
        expert.ask(q);
      },
    });
    try {
      const r = await replayOnline(detector, learner, expert, stream.time, stream.frames, { chunk: 64 });
      const first = learner.history.find((u) => u.kind === 'finetune' && u.accepted);
      assert.ok(first, JSON.stringify(learner.history.map((u) => u.reason)));
      const disputed = asked.filter((a) => a.reason === 'disagreement');
      assert.ok(disputed.length > 0, `reasons: ${[...new Set(asked.map((a) => a.reason))].join(', ')}`);
      assert.ok(disputed.every((a) => a.at >= first.at), 'no committee before a version was replaced');
      assert.ok(asked.length <= Math.ceil(r.scores.length / 64) * 8, 'the budget holds with asynchronous selection too');
      assert.equal(r.scores.filter(Number.isNaN).length, 0);
    } finally {
      await learner.close();
      await detector.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('keeps scoring while an update runs, and scores every window once across the swap it ends with', async () => {
    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 16 });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
    const learner = await OnlineLearner.attach(detector, { workDir: work, weights, drift: false, fineTune: { epochs: 40 } });
    const seen = new Map<number, number>();
    let scoredWhileUpdating = 0;
    const versions = new Set<number>();
    detector.on('batch', (b) => {
      for (let i = 0; i < b.size; i++) seen.set(b.starts[i]!, (seen.get(b.starts[i]!) ?? 0) + 1);
      if (learner.updating) scoredWhileUpdating += b.size;
      versions.add(b.version);
    });
    try {
      let row = 0;
      const push = async (rows: number): Promise<void> => {
        const frames = new Float32Array(rows * C);
        const time = new Float64Array(rows);
        for (let k = 0; k < rows; k++, row++) {
          time[k] = row;
          frames.set(stream.frames.subarray((row % 3000) * C, (row % 3000 + 1) * C), k * C);
        }
        await detector.write('s', time, frames);
      };
      await push(800);
      await detector.flush();
      for (const q of learner.queue.pending()) learner.label(q.ref, windowLabel(q.ref.start % 3000));
      const update = learner.updateNow();
      while (learner.updating) {
        await push(32);
        await new Promise((r) => setImmediate(r));
      }
      await update;
      await push(200);
      await detector.flush();
      assert.equal(learner.updates, 1, JSON.stringify(learner.history.map((h) => h.reason)));
      assert.ok(scoredWhileUpdating > 0, 'no window was scored during the update');
      assert.deepEqual([...versions].sort(), [1, 2]);
      const expected = Math.floor((row - W) / STRIDE) + 1;
      assert.equal(seen.size, expected);
      for (const [start, n] of seen) assert.equal(n, 1, `window ${start} scored ${n} times`);
    } finally {
      await learner.close();
      await detector.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('needs normal data for an update: anomalies alone are rejected, an anchor of training windows makes them trainable, a rescale drops it', async () => {
    /** Scores `rows` of the stream from `from` on, then labels every pending question `isAnomaly` and forces an update. */
    const updateAfter = async (learner: OnlineLearner, from: number, rows: number, isAnomaly: boolean): Promise<UpdateRecord> => {
      await scoreTable(learner.detector, stream.time.subarray(from, from + rows), stream.frames.subarray(from * C, (from + rows) * C), { seriesId: `s${from}` });
      for (const q of learner.queue.pending()) learner.label(q.ref, isAnomaly);
      await learner.updateNow();
      return learner.history.at(-1)!;
    };
    // Every question answered goes to an update buffer (none held out); replay off: only labelled windows and the anchor remain.
    const base = { weights, replay: 0, heldOutEvery: 1000, queriesPerBatch: 4, uncertainBand: 100, queue: { capacity: 64, budget: 64, period: 1000 }, drift: false as const, fineTune: { epochs: 3 } };
    const run = async (options: Partial<Parameters<typeof OnlineLearner.attach>[1]>, check: (learner: OnlineLearner) => Promise<void>): Promise<void> => {
      const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 16 });
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
      const learner = await OnlineLearner.attach(detector, { ...base, workDir: work, ...options });
      try {
        await check(learner);
      } finally {
        await learner.close();
        await detector.close();
        fs.rmSync(work, { recursive: true, force: true });
      }
    };

    await run({}, async (learner) => {
      const u = await updateAfter(learner, 0, 200, true);
      assert.ok(learner.anomaly.size === 0 && u.anomalyWindows === 0, 'the buffers were taken for the attempt');
      assert.equal(u.accepted, false);
      assert.match(u.reason ?? '', /needs normal windows/);
      assert.equal(learner.detector.version, 1, 'nothing swapped in');
    });

    // rescaleAbove 1.5: the drifted channels' mean |z| under the old scaler (normal data sits near 0.8 under its own) counts as a new regime.
    await run({ anchor: trainWindows, anchorWindows: 40, fineTune: { epochs: 3, rescaleAbove: 1.5 } }, async (learner) => {
      assert.equal(learner.anchorBuffer!.size, 40, 'a sample of anchorWindows of the 100 training windows');
      const u = await updateAfter(learner, 0, 200, true);
      assert.equal(u.accepted, true, u.reason);
      assert.deepEqual([u.normalWindows, u.replayWindows, u.anchorWindows], [0, 0, 40]);
      assert.ok(u.anomalyWindows > 0 && !u.rescaled);
      assert.equal(learner.detector.version, 2);
      // After the drift (row 1000 on) the labelled normal windows sit far outside the scaler: the update rescales and leaves the anchor out, for good.
      const after = await updateAfter(learner, 1200, 300, false);
      assert.equal(after.accepted, true, after.reason);
      assert.ok(after.rescaled && after.normalWindows > 0, JSON.stringify({ rescaled: after.rescaled, normal: after.normalWindows }));
      assert.equal(after.anchorWindows, 0);
      assert.equal(learner.anchorBuffer, undefined);
    });

    for (const [anchor, code] of [[trainWindows.subarray(0, W * C * 3 + 1), 'ERR_BAD_SHAPE'], [Float32Array.from(trainWindows).fill(NaN, 5, 6), 'ERR_NON_FINITE']] as const) {
      const detector = await Detector.load(dir, { provider: 'cpu' });
      try {
        await assert.rejects(OnlineLearner.attach(detector, { ...base, workDir: os.tmpdir(), anchor }), (e) => isSeismoError(e, code));
      } finally {
        await detector.close();
      }
    }
  });

  it('fine-tunes every kind with a training loss (DC-VAE, DeepAnT, dense AE) and refuses the others at attach', async () => {
    const train = generateSeries({ length: 600, channels: C, seed: 11, periods: [48, 12], anomalies: [] });
    const configs: Record<string, Record<string, unknown>> = {
      'dc-vae': { window: 16, epochs: 3, filters: 8, depth: 2, latent: 2 },
      deepant: { window: 16, epochs: 3, horizon: 1 },
      'dense-ae': { window: W, epochs: 3 },
      pca: { window: W },
    };
    for (const [kind, config] of Object.entries(configs)) {
      const r = await trainModel({ kind: kind as never, frames: train.table.frames, channels: train.table.channels, config: config as never, stride: STRIDE, seed: 3 });
      const kindDir = fs.mkdtempSync(path.join(os.tmpdir(), `seismo-online-${kind}-`));
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
      writeModelDir(kindDir, r.manifest, r.onnx);
      const kindWeights = r.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: Float32Array.from(w.dataSync() as Float32Array) }));
      r.dispose();
      const detector = await Detector.load(kindDir, { provider: 'cpu', batchSize: 16 });
      try {
        const options = { workDir: work, weights: kindWeights, drift: false as const, heldOutEvery: 1000, queriesPerBatch: 4, uncertainBand: 100, queue: { capacity: 64, budget: 64, period: 1000 }, fineTune: { epochs: 2 } };
        if (kind === 'pca') {
          await assert.rejects(OnlineLearner.attach(detector, options), (e) => isSeismoError(e, 'ERR_LEARN') && /cannot be fine-tuned online/.test((e as Error).message));
          continue;
        }
        const learner = await OnlineLearner.attach(detector, options);
        try {
          await scoreTable(detector, stream.time.subarray(0, 300), stream.frames.subarray(0, 300 * C), { seriesId: 's' });
          for (const q of learner.queue.pending()) learner.label(q.ref, windowLabel(q.ref.start));
          await learner.updateNow();
          const u = learner.history.at(-1)!;
          assert.equal(u.accepted, true, `${kind}: ${u.reason}`);
          assert.ok(u.parity <= 1e-3 && u.losses.length === 2 && u.losses.every(Number.isFinite), `${kind}: ${JSON.stringify(u.losses)}`);
          assert.equal(detector.version, 2);
          assert.equal(detector.manifest.kind, kind);
        } finally {
          await learner.close();
        }
      } finally {
        await detector.close();
        fs.rmSync(kindDir, { recursive: true, force: true });
        fs.rmSync(work, { recursive: true, force: true });
      }
    }
  });

  it('continues from saved weights: attaches to a model directory alone, and a second learner continues from the version the first made (a restart)', async () => {
    const works: string[] = [];
    const session = async (modelDir: string, from: number): Promise<string> => {
      const detector = await Detector.load(modelDir, { provider: 'cpu', batchSize: 16 });
      const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
      works.push(work);
      // No `weights`: the learner reads them from the model directory.
      const learner = await OnlineLearner.attach(detector, { workDir: work, drift: false, heldOutEvery: 1000, queriesPerBatch: 4, uncertainBand: 100, queue: { capacity: 64, budget: 64, period: 1000 }, fineTune: { epochs: 2 } });
      try {
        await scoreTable(detector, stream.time.subarray(from, from + 300), stream.frames.subarray(from * C, (from + 300) * C), { seriesId: 's' });
        for (const q of learner.queue.pending()) learner.label(q.ref, windowLabel(q.ref.start + from));
        await learner.updateNow();
        assert.equal(learner.history.at(-1)!.accepted, true, learner.history.at(-1)!.reason);
        return detector.modelDir;
      } finally {
        await learner.close();
        await detector.close();
      }
    };
    try {
      const first = await session(dir, 0);
      const saved = readWeights(first)!;
      assert.deepEqual(saved.map((w) => w.shape), weights.map((w) => w.shape));
      assert.ok(saved.some((w, i) => w.data.some((v, k) => v !== weights[i]!.data[k])), 'the version holds the fine-tuned weights, not the originals');
      // A new process would do exactly this: load the last version's directory and attach.
      const second = await session(first, 300);
      assert.notEqual(second, first);
      assert.ok(readWeights(second));
      const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-noweights-'));
      works.push(empty);
      const m = readModelDir(dir);
      writeModelDir(empty, m.manifest, m.onnx);
      const detector = await Detector.load(empty, { provider: 'cpu' });
      try {
        await assert.rejects(OnlineLearner.attach(detector, { workDir: empty }), (e) => isSeismoError(e, 'ERR_INVALID_OPTION') && /weights/.test((e as Error).message));
      } finally {
        await detector.close();
      }
    } finally {
      for (const w of works) fs.rmSync(w, { recursive: true, force: true });
    }
  });

  it('takes late labels, ignores labels on windows it no longer holds, and imports answers written by `seismo label`', async () => {
    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 16 });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-work-'));
    const learner = await OnlineLearner.attach(detector, { workDir: work, weights, queue: { capacity: 4, budget: 3, period: 1000, persist: true }, queriesPerBatch: 3, drift: false });
    try {
      await scoreTable(detector, stream.time.subarray(0, 400), stream.frames.subarray(0, 400 * C), { seriesId: 's' });
      const pending = readQueueFile(work);
      assert.equal(pending.length, 3, 'the budget of 3 per period caps the questions');
      assert.equal(learner.queue.remaining(learner.stats().windows), 0);
      assert.equal(learner.label({ seriesId: 's', start: 1e9 }, false), 'unknown-window');
      appendAnswers(work, [{ key: pending[0]!.key, anomaly: false }, { key: pending[1]!.key, anomaly: true }]);
      assert.equal(learner.importAnswers(), 2);
      assert.equal(learner.importAnswers(), 0, 'answers are read once');
      assert.equal(readQueueFile(work).length, 1);
      const s = learner.stats();
      assert.deepEqual([s.labels, s.unknownLabels], [2, 1]);
      assert.equal(learner.anomaly.size, 1);
    } finally {
      await learner.close();
      await detector.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
});
