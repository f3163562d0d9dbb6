// What a learner must never lose or break: versions it did not make, accepted answers, and file
// names derived from series ids (issue 15 items 2, 3 and 7).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../src/detector/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { appendAnswers, LabelQueue, readQueueFile } from '../../src/learn/label-queue.js';
import { OnlineLearner, type OnlineLearnerOptions } from '../../src/learn/online.js';
import { readVersionInfo, VERSION_FILE } from '../../src/learn/versions.js';
import { readModelDir, writeModelDir, writeWeights } from '../../src/model/model-dir.js';
import { scoreTable } from '../../src/score/score-table.js';
import { trainModel } from '../../training/index.js';

const W = 8;
const C = 3;

describe('learn: nothing lost', function () {
  this.timeout(300_000);
  let model: string;
  const tmp: string[] = [];
  const mk = (prefix: string): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    tmp.push(d);
    return d;
  };
  const stream = generateSeries({ length: 1200, channels: C, seed: 13, periods: [48, 12], normalPrefix: 0, anomalies: Array.from({ length: 8 }, (_, k) => ({ kind: 'spike' as const, start: 100 + k * 130, magnitude: 8 })) });
  const truth = (start: number): boolean => stream.labels.subarray(start, start + W).some((v) => v === 1);

  before(async () => {
    const train = generateSeries({ length: 600, channels: C, seed: 11, periods: [48, 12], anomalies: [] });
    const r = await trainModel({ kind: 'lstm-ae', frames: train.table.frames, channels: train.table.channels, config: { window: W, encoderUnits: [8], decoderUnits: [4], epochs: 3, batchSize: 32 }, stride: 4, seed: 3 });
    model = mk('seismo-durable-model-');
    writeModelDir(model, r.manifest, r.onnx);
    writeWeights(model, r.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: Float32Array.from(w.dataSync() as Float32Array) })));
    r.dispose();
  });

  after(() => {
    for (const d of tmp) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Scores rows [from, to) of the stream as series `id` with a learner attached; `act` runs before close. */
  async function session(modelDir: string, work: string, options: Partial<OnlineLearnerOptions>, rows: [number, number], act: (l: OnlineLearner, feed: (from: number, to: number, id: string) => Promise<unknown>) => Promise<void>, id = 's'): Promise<void> {
    const detector = await Detector.load(modelDir, { provider: 'cpu', batchSize: 16, keepVersions: 2 });
    const learner = await OnlineLearner.attach(detector, { workDir: work, drift: false, queriesPerBatch: 4, uncertainBand: 100, queue: { capacity: 64, budget: 64, period: 1000, persist: true }, fineTune: { epochs: 1 }, ...options });
    try {
      const feed = (from: number, to: number, seriesId: string): Promise<unknown> =>
        scoreTable(detector, stream.table.time.subarray(from, to), stream.table.frames.subarray(from * C, to * C), { seriesId });
      await feed(rows[0], rows[1], id);
      await act(learner, feed);
    } finally {
      await learner.close();
      await detector.close();
    }
  }

  it('never deletes a version it did not make, and continues the version names across runs', async () => {
    const work = mk('seismo-durable-work-');
    // An earlier run's folders: one in today's naming, one in the naming before it; and the model this run starts from.
    const m = readModelDir(model);
    for (const name of ['v0004', 'vmx2eftpa-4']) {
      writeModelDir(path.join(work, name), m.manifest, m.onnx);
      fs.copyFileSync(path.join(model, 'weights.json'), path.join(work, name, 'weights.json'));
      fs.copyFileSync(path.join(model, 'weights.bin'), path.join(work, name, 'weights.bin'));
    }
    fs.writeFileSync(path.join(work, 'v0004', VERSION_FILE), JSON.stringify({ name: 'v0004', parent: 'v0000', createdAt: new Date().toISOString() }));
    const made: string[] = [];
    await session(path.join(work, 'v0004'), work, { onUpdate: (u) => u.version && made.push(u.version) }, [0, 300], async (l, feed) => {
      assert.equal(l.versionName(), 'v0004', 'the starting model is named by its version.json');
      // Three updates with a detector that keeps two versions: this learner's first one falls out and is pruned.
      for (let k = 0; k < 3; k++) {
        if (k > 0) await feed(300 * k, 300 * (k + 1), `s${k}`);
        for (const q of l.queue.pending()) l.label(q.ref, truth(q.ref.start % 300));
        await l.updateNow();
        assert.equal(l.history.at(-1)!.accepted, true, l.history.at(-1)!.reason);
      }
      assert.equal(l.versionName(), made.at(-1));
    });
    assert.deepEqual(made, ['v0005', 'v0006', 'v0007'], 'names continue after the highest in the folder');
    const folders = fs.readdirSync(work).filter((n) => n.startsWith('v'));
    for (const kept of ['v0004', 'vmx2eftpa-4', 'v0006', 'v0007']) assert.ok(folders.includes(kept), `${kept} kept (folders: ${folders.join(', ')})`);
    assert.ok(!folders.includes('v0005'), 'its own version that the detector no longer keeps is pruned');
    assert.equal(readVersionInfo(path.join(work, 'v0007'))!.parent, 'v0006');
    // A re-run on the same folder, from the trained model, after v0007 was deleted by hand: names still move forward (the ledger remembers).
    fs.rmSync(path.join(work, 'v0007'), { recursive: true });
    const again: string[] = [];
    await session(model, work, { onUpdate: (u) => u.version && again.push(u.version) }, [400, 700], async (l) => {
      assert.equal(l.versionName(), 'v0000');
      for (const q of l.queue.pending()) l.label(q.ref, truth(q.ref.start));
      await l.updateNow();
    });
    assert.deepEqual(again, ['v0008']);
    assert.ok(fs.existsSync(path.join(work, 'v0006')), "an earlier run's version survives a later run");
  });

  it('keeps every accepted answer until an update uses it: a clean exit with buffers that are not full hands them to the next learner', async () => {
    const work = mk('seismo-durable-work-');
    let accepted: string[] = [];
    // Buffers far from full: no update runs.
    const options: Partial<OnlineLearnerOptions> = { normalBuffer: 500, anomalyBuffer: 500, heldOutEvery: 3 };
    await session(model, work, { ...options, onLabel: (key, _a, outcome) => ['normal-buffer', 'anomaly-buffer', 'held-out'].includes(outcome) && accepted.push(key) }, [0, 400], async (l) => {
      for (const q of l.queue.pending()) l.label(q.ref, truth(q.ref.start));
      assert.equal(l.history.length, 0);
    });
    assert.ok(accepted.length >= 10, `answers accepted: ${accepted.length}`);
    await session(model, work, options, [400, 500], async (l) => {
      assert.deepEqual(new Set(l.restoredLabels()), new Set(accepted), 'every accepted answer is taken up');
      assert.equal(l.normal.size + l.anomaly.size + l.heldOut.size, accepted.length);
      assert.equal(l.stats().restoredLabels, accepted.length);
      // An update uses them: afterwards the journal holds only what the buffers still hold (the held-out sample).
      await l.updateNow();
      assert.equal(l.history.at(-1)!.labels.length, l.history.at(-1)!.normalWindows + l.history.at(-1)!.anomalyWindows);
    });
    accepted = [];
    await session(model, work, options, [500, 600], async (l) => {
      const held = l.heldOut.items().map((it) => `${it.ref.seriesId}@${it.ref.start}`);
      assert.deepEqual(new Set(l.restoredLabels()), new Set(held), 'only the held-out labels remain after the update used the others');
      assert.equal(l.normal.size + l.anomaly.size, 0);
    });
  });

  it('skips and reports a bad answer (bad key, not JSON) and applies the others; answers are applied once', async () => {
    const work = mk('seismo-durable-work-');
    const rejected: string[] = [];
    await session(model, work, { normalBuffer: 500, anomalyBuffer: 500, onRejectedAnswer: (a) => rejected.push(a.reason) }, [0, 300], async (l) => {
      const pending = readQueueFile(work);
      assert.ok(pending.length >= 3);
      appendAnswers(work, [{ key: pending[0]!.key, anomaly: false }, { key: 'no-start-here', anomaly: true }]);
      fs.appendFileSync(path.join(work, 'label-answers.jsonl'), 'not json\n');
      appendAnswers(work, [{ key: pending[1]!.key, anomaly: true }, { key: pending[2]!.key, anomaly: false }]);
      assert.equal(l.importAnswers(), 3);
      assert.equal(l.importAnswers(), 0, 'read once');
      assert.equal(l.stats().labels, 3);
      assert.equal(l.stats().rejectedAnswers, 2);
      assert.equal(rejected.length, 2);
      assert.match(rejected.join('; '), /seriesId@start/);
      // An answer file read again (its offset lost, e.g. a crash before it was stored) does not apply an answer twice.
      fs.rmSync(path.join(work, 'label-state.json'));
      const again = new LabelQueue({ dir: work, frameSize: W * C });
      assert.equal(again.readAnswers().answers.length, 3);
    });
    await session(model, work, { normalBuffer: 500, anomalyBuffer: 500 }, [300, 400], async (l) => {
      const before = l.stats().restoredLabels;
      // The offset was deleted: every answer is read again, and none of them is applied twice.
      l.importAnswers();
      assert.equal(l.normal.size + l.anomaly.size + l.heldOut.size, before);
      assert.equal(l.stats().labels, 0);
    });
  });

  it('takes a series id longer than a file name may be', async () => {
    const work = mk('seismo-durable-work-');
    const id = `svc-${'x'.repeat(300)}`;
    let pendingKeys: string[] = [];
    await session(model, work, { normalBuffer: 500 }, [0, 300], async (l) => {
      pendingKeys = l.queue.pending().map((q) => q.key);
      assert.ok(pendingKeys.length > 0 && pendingKeys.every((k) => k.startsWith(id)));
    }, id);
    for (const f of fs.readdirSync(path.join(work, 'questions'))) assert.ok(Buffer.byteLength(f) < 100, f);
    // The next learner finds every question's frames and can use the answers.
    await session(model, work, { normalBuffer: 500 }, [300, 400], async (l) => {
      assert.deepEqual(l.queue.pending().map((q) => q.key).slice(0, pendingKeys.length), pendingKeys);
      const q = l.queue.pending()[0]!;
      assert.notEqual(l.label(q.ref, false), 'unknown-window');
    }, id);
  });

  it('recalibrates a threshold in place: no new worker, no new version, the next batches decided by it', async () => {
    const work = mk('seismo-durable-work-');
    const detector = await Detector.load(model, { provider: 'cpu', batchSize: 16 });
    const swaps: unknown[] = [];
    detector.on('swap', (e) => swaps.push(e));
    const learner = await OnlineLearner.attach(detector, { workDir: work, queriesPerBatch: 0, drift: { input: { threshold: 1e9 }, score: { threshold: 2, minInstances: 30 } } });
    const thresholds: number[] = [];
    detector.on('batch', (b) => thresholds.push(b.thresholds[0]!));
    try {
      // Scores jump when the stream's level does: a score drift with the input monitor silenced.
      const frames = stream.table.frames.slice(0, 800 * C);
      for (let i = 400 * C; i < frames.length; i++) frames[i] = frames[i]! * 3 + 2;
      await scoreTable(detector, stream.table.time.subarray(0, 800), frames, { seriesId: 's' });
      const r = learner.history.find((h) => h.kind === 'recalibration');
      assert.ok(r, JSON.stringify(learner.history));
      assert.equal(r.accepted, true, r.reason);
      assert.equal(r.version, undefined, 'no new version');
      assert.equal(r.fromVersion, 'v0000');
      assert.deepEqual([detector.version, detector.versions().length, swaps.length], [1, 1, 0], 'the same version, no swap');
      assert.equal(thresholds.at(-1), r.threshold, 'later batches are decided by the new threshold');
      assert.ok(!fs.readdirSync(work).some((n) => /^v\d+$/.test(n)), 'no version folder');
    } finally {
      await learner.close();
      await detector.close();
    }
  });
});
