import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createSession } from '../src/infer/providers.js';
import { Detector, type AnomalyEvent, type ScoredBatch } from '../src/detector/index.js';
import { isSeismoError, type SeismoErrorCode } from '../src/errors.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { scoreTable } from '../src/score/score-table.js';
import type { ThresholdRule } from '../src/threshold/index.js';
import { copyModelDir, referenceScores, tinyModel, type TinyModel } from './helpers/tiny-model.js';

const code = (c: SeismoErrorCode) => (err: unknown) => isSeismoError(err, c);

// LSTM-AE graphs are scored by the addon's native scorer when it loads (DetectorOptions.runtime
// 'auto'), which agrees with onnxruntime within 1e-5 relative to max(1, |x|), not bit for bit.
const TOL = 1e-5;

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

/** Whether a detector's score `a` is onnxruntime's `b` within {@link TOL}. */
function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= TOL * Math.max(1, Math.abs(b));
}

describe('Detector', function () {
  let model: TinyModel;
  const W = 8;
  const C = 3;
  const data = generateSeries({ length: 700, channels: 3, seed: 5, periods: [48, 12] });
  const frames = data.table.frames;
  const time = data.table.time;
  let reference: { score: Float32Array; channelScore: Float32Array };

  before(async function () {
    this.timeout(120_000);
    model = await tinyModel();
    reference = await referenceScores(model.onnx, frames, C, W);
  });

  it('scores every window exactly once, as onnxruntime does on the same windows, across many ring wraps', async () => {
    // capacity 40 frames: the 700-frame series wraps each ring ~17 times.
    const detector = await Detector.load(model.dir, { batchSize: 16, capacity: 40, provider: 'cpu', stride: 1 });
    try {
      const s = await scoreTable(detector, time, frames, { chunk: 13 });
      assert.equal(s.scores.length, 700 - W + 1);
      assert.ok(maxRelDiff(s.scores, reference.score) <= TOL, `max diff ${maxRelDiff(s.scores, reference.score)}`);
      assert.ok(maxRelDiff(s.channelScores, reference.channelScore) <= TOL);
      for (let w = 0; w < s.endRows.length; w++) assert.equal(s.endRows[w], w + W - 1);
      assert.equal(detector.stats().windowsScored, 700 - W + 1);
    } finally {
      await detector.close();
    }
  });

  it('streams with the model\'s own stride by default', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu' });
    try {
      assert.equal(model.manifest.stride, 2);
      assert.equal(detector.stride, 2);
      const s = await scoreTable(detector, time, frames);
      assert.equal(s.scores.length, Math.floor((700 - W) / 2) + 1);
      for (let w = 0; w < s.scores.length; w++) {
        assert.equal(s.endRows[w], 2 * w + W - 1);
        assert.ok(near(s.scores[w]!, reference.score[2 * w]!));
      }
    } finally {
      await detector.close();
    }
  });

  it('serves many series pushed sample by sample, interleaved, in one batch stream', async () => {
    const batches: ScoredBatch[] = [];
    const detector = await Detector.load(model.dir, { stride: 1, batchSize: 8, maxSeries: 3, provider: 'cpu', onBatch: (b) => batches.push(b) });
    try {
      const T = 120;
      const offsets = [0, 200, 400];
      for (let t = 0; t < T; t++) {
        for (let s = 0; s < 3; s++) {
          const row = offsets[s]! + t;
          try {
            detector.push(`s${s}`, time[row]!, frames.subarray(row * C, (row + 1) * C));
          } catch (err) {
            if (!isSeismoError(err, 'ERR_RING_OVERFLOW')) throw err;
            await detector.drain();
            detector.push(`s${s}`, time[row]!, frames.subarray(row * C, (row + 1) * C));
          }
        }
      }
      await detector.flush();
      const seen = new Map<string, Map<number, number>>();
      let mixed = false;
      for (const b of batches) {
        if (new Set(b.seriesIds).size > 1) mixed = true;
        for (let i = 0; i < b.size; i++) {
          const perSeries = seen.get(b.seriesIds[i]!) ?? new Map<number, number>();
          assert.ok(!perSeries.has(b.starts[i]!), `window ${b.starts[i]} of ${b.seriesIds[i]} scored twice`);
          perSeries.set(b.starts[i]!, b.scores[i]!);
          seen.set(b.seriesIds[i]!, perSeries);
          const s = Number(b.seriesIds[i]!.slice(1));
          assert.equal(b.timestamps[i], time[offsets[s]! + b.starts[i]! + W - 1]);
        }
      }
      assert.ok(mixed, 'batches should mix series');
      for (let s = 0; s < 3; s++) {
        const got = seen.get(`s${s}`)!;
        assert.equal(got.size, T - W + 1);
        for (const [start, score] of got) assert.ok(near(score, reference.score[offsets[s]! + start]!));
      }
    } finally {
      await detector.close();
    }
  });

  it('emits anomaly events with the window end timestamp and the top channels', async () => {
    const events: AnomalyEvent[] = [];
    const threshold = reference.score[300]!; // some windows are above, some below
    const detector = await Detector.load(model.dir, { stride: 1, provider: 'cpu', threshold, topChannels: 2, onAnomaly: (e) => events.push(e) });
    try {
      await scoreTable(detector, time, frames, { seriesId: 'a' });
      const expected = Array.from(reference.score).filter((v) => v >= threshold).length;
      assert.equal(events.length, expected);
      assert.ok(expected > 0 && expected < reference.score.length);
      for (const e of events) {
        assert.equal(e.seriesId, 'a');
        assert.ok(e.score >= threshold);
        assert.equal(e.channels.length, 2);
        assert.ok(e.channels[0]!.score >= e.channels[1]!.score);
        assert.ok(data.table.channels.includes(e.channels[0]!.name));
      }
      const w = time.indexOf(events[0]!.timestamp) - W + 1;
      assert.ok(near(events[0]!.score, reference.score[w]!));
    } finally {
      await detector.close();
    }
  });

  it('hands every window to the threshold rule once, in each series\' time order, and reports its decisions', async () => {
    const calls: { slot: number; score: number }[] = [];
    // A stateful rule: alarms when a score beats the previous one of the same series by 10%.
    const last = new Map<number, number>();
    const rule: ThresholdRule = {
      method: 'test-rising',
      prepare: () => {},
      decide: (score, _channels, slot) => {
        calls.push({ slot, score });
        const prev = last.get(slot) ?? Infinity;
        last.set(slot, score);
        return score > prev * 1.1;
      },
      threshold: (slot) => (last.get(slot) ?? Infinity) * 1.1,
      resetSlot: (slot) => void last.delete(slot),
      toJSON: () => ({ value: 0, method: 'test-rising', params: {} }),
    };
    const batches: ScoredBatch[] = [];
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 16, maxSeries: 2, thresholdRule: rule, onBatch: (b) => batches.push(b) });
    try {
      await Promise.all([scoreTable(detector, time.subarray(0, 200), frames.subarray(0, 200 * C), { seriesId: 'p', chunk: 7 }), scoreTable(detector, time.subarray(0, 150), frames.subarray(300 * C, 450 * C), { seriesId: 'q', chunk: 5 })]);
      const perSlot = [0, 1].map((slot) => calls.filter((c) => c.slot === slot).map((c) => c.score));
      assert.deepEqual(perSlot.map((x) => x.length), [200 - W + 1, 150 - W + 1]);
      for (let w = 0; w < perSlot[0]!.length; w++) assert.ok(near(perSlot[0]![w]!, reference.score[w]!), 'series p in order');
      for (let w = 0; w < perSlot[1]!.length; w++) assert.ok(near(perSlot[1]![w]!, reference.score[300 + w]!), 'series q in order');
      let alarms = 0;
      for (const b of batches) for (let i = 0; i < b.size; i++) alarms += b.anomalies[i]!;
      assert.equal(alarms, detector.stats().anomalies);
      assert.ok(alarms > 0);
    } finally {
      await detector.close();
    }
  });

  it('rejects bad samples with typed errors and loses none of the accepted ones', async () => {
    const scored = new Map<number, number>();
    const detector = await Detector.load(model.dir, { stride: 1, provider: 'cpu', batchSize: 4, maxSeries: 1, onBatch: (b) => b.starts.forEach((s, i) => scored.set(s, b.scores[i]!)) });
    try {
      const row = (r: number) => frames.subarray(r * C, (r + 1) * C);
      for (let r = 0; r < 20; r++) detector.push('x', time[r]!, row(r));
      assert.throws(() => detector.push('x', time[20]!, [1, 2]), code('ERR_BAD_SHAPE'));
      assert.throws(() => detector.push('x', time[20]!, [1, NaN, 3]), code('ERR_NON_FINITE'));
      assert.throws(() => detector.push('x', time[20]!, [1, Infinity, 3]), code('ERR_NON_FINITE'));
      assert.throws(() => detector.push('x', time[5]!, row(20)), code('ERR_TIMESTAMP_ORDER'));
      assert.throws(() => detector.push('x', time[19]!, row(20)), code('ERR_TIMESTAMP_ORDER'));
      assert.throws(() => detector.push('y', time[0]!, row(0)), code('ERR_TOO_MANY_SERIES'));
      // A write with one bad value stores nothing of it.
      const bad = frames.slice(20 * C, 30 * C);
      bad[7] = NaN;
      await assert.rejects(detector.write('x', time.subarray(20, 30), bad), code('ERR_NON_FINITE'));
      await assert.rejects(detector.write('x', time.subarray(20, 30), frames.subarray(20 * C, 29 * C)), code('ERR_BAD_SHAPE'));
      await assert.rejects(detector.write('x', Float64Array.from([time[30]!, time[25]!]), frames.subarray(0, 2 * C)), code('ERR_TIMESTAMP_ORDER'));
      await detector.write('x', time.subarray(20, 40), frames.subarray(20 * C, 40 * C));
      await detector.flush();
      assert.equal(detector.stats().framesPushed, 40);
      assert.equal(scored.size, 40 - W + 1);
      for (const [start, score] of scored) assert.ok(near(score, reference.score[start]!), `window ${start}`);
    } finally {
      await detector.close();
    }
  });

  it('applies back-pressure: a full ring rejects a push whole, and accepts it after drain()', async () => {
    const detector = await Detector.load(model.dir, { stride: 1, provider: 'cpu', batchSize: 64, capacity: 24, maxInFlight: 1 });
    try {
      let accepted = 0;
      let overflowed = false;
      for (let r = 0; r < 200 && !overflowed; r++) {
        try {
          detector.push('x', time[r]!, frames.subarray(r * C, (r + 1) * C));
          accepted++;
        } catch (err) {
          assert.ok(isSeismoError(err, 'ERR_RING_OVERFLOW'), String(err));
          overflowed = true;
        }
      }
      assert.ok(overflowed, 'a ring of 24 frames with batches of 64 windows must fill up');
      assert.equal(accepted, 24);
      await detector.flush();
      detector.push('x', time[accepted]!, frames.subarray(accepted * C, (accepted + 1) * C));
      await detector.flush();
      assert.equal(detector.stats().windowsScored, accepted + 1 - W + 1);
    } finally {
      await detector.close();
    }
  });

  it('under drop-oldest, counts the windows it loses instead of blocking', async () => {
    let scoredWindows = 0;
    const detector = await Detector.load(model.dir, { stride: 1, provider: 'cpu', batchSize: 64, capacity: 24, overflow: 'drop-oldest', onBatch: (b) => (scoredWindows += b.scores.filter((s) => !Number.isNaN(s)).length) });
    try {
      for (let r = 0; r < 100; r++) detector.push('x', time[r]!, frames.subarray(r * C, (r + 1) * C));
      await detector.flush();
      const stats = detector.stats();
      assert.ok(stats.windowsDropped > 0);
      assert.equal(scoredWindows + stats.windowsDropped, 100 - W + 1);
    } finally {
      await detector.close();
    }
  });

  describe('providers', () => {
    // Whether the CUDA EP really starts here, asked of onnxruntime itself: `listSupportedBackends()`
    // marks cuda as not bundled even where ONNXRUNTIME_NODE_INSTALL=cuda12 installed it, so it
    // cannot tell. Where CUDA starts, the tests below take the other branch.
    let cudaStarts = false;
    before(async () => {
      try {
        const { session } = await createSession(model.onnx, { provider: 'cuda' });
        await session.release();
        cudaStarts = true;
      } catch (err) {
        if (!isSeismoError(err, 'ERR_PROVIDER_UNAVAILABLE')) throw err;
      }
    });

    it('auto picks CUDA where it starts, else falls back to CPU and says why', async () => {
      const detector = await Detector.load(model.dir, { provider: 'auto' });
      try {
        assert.equal(detector.provider.requested, 'auto');
        if (cudaStarts) {
          assert.equal(detector.provider.provider, 'cuda');
          assert.deepEqual(detector.provider.fallbacks, []);
        } else {
          assert.equal(detector.provider.provider, 'cpu');
          assert.equal(detector.provider.fallbacks[0]!.provider, 'cuda');
          assert.match(detector.provider.fallbacks[0]!.reason, /\S/);
        }
      } finally {
        await detector.close();
      }
    });

    it('an explicit cuda request fails with a clear error when the CUDA EP is absent', async function () {
      if (cudaStarts) this.skip(); // nothing to refuse: 'auto picks CUDA' above covered this machine
      await assert.rejects(Detector.load(model.dir, { provider: 'cuda' }), (err: unknown) => isSeismoError(err, 'ERR_PROVIDER_UNAVAILABLE') && /ONNXRUNTIME_NODE_INSTALL=cuda12/.test((err as Error).message));
    });

    it('rejects an unknown provider name', async () => {
      await assert.rejects(Detector.load(model.dir, { provider: 'tpu' as never }), code('ERR_INVALID_OPTION'));
    });
  });

  describe('model directory', () => {
    it('reports a missing directory or file', async () => {
      await assert.rejects(Detector.load('/nonexistent/seismo-model'), code('ERR_MODEL_NOT_FOUND'));
      const dir = copyModelDir(model.dir);
      fs.rmSync(path.join(dir, 'model.onnx'));
      await assert.rejects(Detector.load(dir), code('ERR_MODEL_NOT_FOUND'));
    });

    it('reports a corrupt model.json or model.onnx', async () => {
      const dir = copyModelDir(model.dir);
      fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "seismo-model", ');
      await assert.rejects(Detector.load(dir), code('ERR_MODEL_CORRUPT'));
      const dir2 = copyModelDir(model.dir);
      const bytes = fs.readFileSync(path.join(dir2, 'model.onnx'));
      fs.writeFileSync(path.join(dir2, 'model.onnx'), bytes.subarray(0, bytes.length >> 1));
      await assert.rejects(Detector.load(dir2), code('ERR_MODEL_CORRUPT'));
      const dir3 = copyModelDir(model.dir);
      const manifest = JSON.parse(fs.readFileSync(path.join(dir3, 'model.json'), 'utf8'));
      delete manifest.scaler;
      fs.writeFileSync(path.join(dir3, 'model.json'), JSON.stringify(manifest));
      await assert.rejects(Detector.load(dir3), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /scaler/.test((e as Error).message));
    });

    it('rejects a model.json that does not match the graph', async () => {
      const cases: [string, (m: Record<string, unknown>) => void, SeismoErrorCode][] = [
        // (with a scaler of as many channels: one of another length is a malformed manifest, not a mismatch)
        ['channels', (m) => ((m.channels = ['a', 'b', 'c', 'd']), (m.scaler = { mean: [0, 0, 0, 0], std: [1, 1, 1, 1] })), 'ERR_MODEL_MISMATCH'],
        ['window', (m) => (m.window = 16), 'ERR_MODEL_MISMATCH'],
        ['kind', (m) => (m.kind = 'dc-vae'), 'ERR_MODEL_MISMATCH'],
        ['version', (m) => (m.formatVersion = 2), 'ERR_MODEL_VERSION'],
      ];
      for (const [what, edit, expected] of cases) {
        const dir = copyModelDir(model.dir);
        const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'model.json'), 'utf8'));
        edit(manifest);
        fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
        await assert.rejects(Detector.load(dir), code(expected), what);
      }
    });
  });
});
