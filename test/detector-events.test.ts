import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector, type AnomalyEvent, type DriftEvent, type ScoredBatch, type SwapEvent } from '../src/detector/index.js';
import { isSeismoError, type SeismoError, type SeismoErrorCode } from '../src/errors.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { writeModelDir } from '../src/model/model-dir.js';
import { scoreTable } from '../src/score/score-table.js';
import { FixedThreshold } from '../src/threshold/index.js';
import { tinyModel, type TinyModel } from './helpers/tiny-model.js';

const code = (c: SeismoErrorCode) => (err: unknown) => isSeismoError(err, c);

describe('Detector events', function () {
  this.timeout(60_000);
  let model: TinyModel;
  const W = 8;
  const C = 3;
  const T = 300;
  const data = generateSeries({ length: T, channels: C, seed: 5, periods: [48, 12], anomalies: [] }).table;
  const windows = T - W + 1;

  before(async function () {
    this.timeout(120_000);
    model = await tinyModel();
  });

  it('hands every batch and anomaly to each of several listeners', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 16, threshold: 0 });
    const a: ScoredBatch[] = [];
    const b: ScoredBatch[] = [];
    const anomalies: AnomalyEvent[] = [];
    detector.on('batch', (x) => a.push(x));
    detector.on('batch', (x) => b.push(x));
    detector.on('anomaly', (e) => anomalies.push(e));
    try {
      await detector.write('s', data.time, data.frames);
      await detector.flush();
      assert.equal(a.length, detector.stats().batches);
      assert.deepEqual(a, b);
      assert.equal(a.reduce((n, x) => n + x.size, 0), windows);
      // threshold 0: every window is an anomaly.
      assert.equal(anomalies.length, windows);
      assert.equal(detector.stats().anomalies, windows);
    } finally {
      await detector.close();
    }
  });

  it('two watchers no longer clobber each other: score tables of two series and a batch tap, all complete', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8, maxSeries: 2 });
    let tapped = 0;
    detector.on('batch', (x) => (tapped += x.size));
    try {
      // Before the seam each scoreTable replaced `detector.onBatch` and put back its predecessor:
      // the one that finished first restored a hook that dropped the other's windows.
      const [p, q] = await Promise.all([
        scoreTable(detector, data.time, data.frames, { seriesId: 'p', chunk: 7 }),
        scoreTable(detector, data.time.subarray(0, 200), data.frames.subarray(0, 200 * C), { seriesId: 'q', chunk: 50 }),
      ]);
      assert.equal(p.scores.length, windows);
      assert.equal(q.scores.length, 200 - W + 1);
      assert.equal(tapped, windows + 200 - W + 1);
      // After both finished, the tap is still subscribed and the tables are not.
      await detector.write('p', Float64Array.of(data.time[T - 1]! + 1), data.frames.subarray(0, C));
      await detector.flush();
      assert.equal(tapped, windows + 200 - W + 2);
    } finally {
      await detector.close();
    }
  });

  it('unsubscribe stops a listener, once, even from inside its own call', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 16 });
    let kept = 0;
    let dropped = 0;
    let selfRemoved = 0;
    detector.on('batch', () => kept++);
    const off = detector.on('batch', () => dropped++);
    const offSelf = detector.on('batch', () => {
      selfRemoved++;
      offSelf();
    });
    try {
      await detector.write('s', data.time.subarray(0, 100), data.frames.subarray(0, 100 * C));
      await detector.flush();
      const batches = kept;
      assert.ok(batches >= 2);
      assert.equal(dropped, batches);
      assert.equal(selfRemoved, 1);
      off();
      off(); // a second call does nothing
      await detector.write('s', data.time.subarray(100, 200), data.frames.subarray(100 * C, 200 * C));
      await detector.flush();
      assert.ok(kept > batches);
      assert.equal(dropped, batches);
      assert.equal(selfRemoved, 1);
    } finally {
      await detector.close();
    }
  });

  it('a listener that throws is reported as an error event and breaks nothing', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 16, threshold: 0 });
    const errors: SeismoError[] = [];
    let after = 0;
    detector.on('error', (e) => errors.push(e));
    detector.on('batch', () => {
      throw new Error('batch listener bug');
    });
    detector.on('anomaly', () => {
      throw new Error('anomaly listener bug');
    });
    detector.on('batch', (x) => (after += x.size));
    try {
      await detector.write('s', data.time, data.frames);
      await detector.flush();
      // Every window scored and delivered to the listener after the throwing one.
      assert.equal(detector.stats().windowsScored, windows);
      assert.equal(after, windows);
      const batchErrors = errors.filter((e) => e.details.event === 'batch');
      const anomalyErrors = errors.filter((e) => e.details.event === 'anomaly');
      assert.equal(batchErrors.length, detector.stats().batches);
      assert.equal(anomalyErrors.length, windows);
      for (const e of errors) {
        assert.equal(e.code, 'ERR_LISTENER');
        assert.ok(e.cause instanceof Error);
      }
      // Later calls still work.
      detector.push('s', data.time[T - 1]! + 1, [0, 0, 0]);
      await detector.flush();
      assert.equal(detector.stats().windowsScored, windows + 1);
    } finally {
      await detector.close();
    }
  });

  it('an error nobody listens to becomes a process warning, not a crash or silence', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 16 });
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    detector.on('batch', () => {
      throw new Error('unwatched bug');
    });
    try {
      await detector.write('s', data.time.subarray(0, 30), data.frames.subarray(0, 30 * C));
      await detector.flush();
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      assert.ok(warnings.some((w) => /unwatched bug/.test(w.message)), warnings.map((w) => w.message).join('; '));
      assert.equal(detector.stats().windowsScored, 30 - W + 1);
    } finally {
      process.off('warning', onWarning);
      await detector.close();
    }
  });

  it('swap and rollback are announced as swap events', async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-events-'));
    writeModelDir(other, model.manifest, model.onnx);
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1 });
    const swaps: SwapEvent[] = [];
    detector.on('swap', (e) => swaps.push(e));
    try {
      await detector.swapModel(other);
      await detector.rollback();
      assert.deepEqual(swaps, [
        { version: 2, previous: 1, dir: other, kind: 'swap' },
        { version: 1, previous: 2, dir: model.dir, kind: 'rollback' },
      ]);
    } finally {
      await detector.close();
    }
  });

  it('drift reports reach drift listeners', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu' });
    const drifts: DriftEvent[] = [];
    detector.on('drift', (e) => drifts.push(e));
    try {
      detector.emit('drift', { seriesId: 's', statistic: 'page-hinkley:score', value: 3.5, timestamp: 42 });
      assert.deepEqual(drifts, [{ seriesId: 's', statistic: 'page-hinkley:score', value: 3.5, timestamp: 42 }]);
    } finally {
      await detector.close();
    }
  });

  it('refuses unknown events and listeners that are not functions', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu' });
    try {
      assert.throws(() => detector.on('batches' as 'batch', () => {}), code('ERR_INVALID_OPTION'));
      assert.throws(() => detector.on('batch', 42 as unknown as () => void), code('ERR_INVALID_OPTION'));
    } finally {
      await detector.close();
    }
  });

  it('setThresholdRule decides the batches dispatched after it; those in flight keep the rule they were sent with', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8, maxInFlight: 2, capacity: 2000, threshold: 1e9 });
    const batches: ScoredBatch[] = [];
    detector.on('batch', (x) => batches.push(x));
    try {
      // Room for everything: write() stores it all at once; two batches go out, the rest waits.
      const written = detector.write('s', data.time.subarray(0, 100), data.frames.subarray(0, 100 * C));
      detector.setThresholdRule(new FixedThreshold(0));
      await written;
      await detector.flush();
      const thresholds = batches.flatMap((b) => Array.from(b.thresholds));
      assert.equal(thresholds.length, 100 - W + 1);
      // The two batches in flight (16 windows) were decided by the rule they were dispatched with.
      assert.deepEqual(thresholds.slice(0, 16), new Array(16).fill(1e9));
      assert.ok(thresholds.slice(16).every((t) => t === 0));
      assert.equal(detector.stats().anomalies, 100 - W + 1 - 16);
    } finally {
      await detector.close();
    }
  });

  it('setThresholdRule changes the decisions from the next batch on, with no new version or worker', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 16, threshold: 1e9 });
    const batches: ScoredBatch[] = [];
    detector.on('batch', (x) => batches.push(x));
    const swaps: SwapEvent[] = [];
    detector.on('swap', (e) => swaps.push(e));
    try {
      const provider = detector.provider;
      await detector.write('s', data.time.subarray(0, 100), data.frames.subarray(0, 100 * C));
      await detector.flush();
      assert.equal(detector.stats().anomalies, 0);
      const before = batches.length;
      detector.setThresholdRule(new FixedThreshold(0));
      assert.equal(detector.threshold, 0);
      await detector.write('s', data.time.subarray(100, 200), data.frames.subarray(100 * C, 200 * C));
      await detector.flush();
      assert.equal(detector.stats().anomalies, 100);
      assert.ok(batches.slice(before).every((b) => b.version === 1 && b.thresholds.every((t) => t === 0) && b.anomalies.every((x) => x === 1)));
      assert.equal(detector.version, 1);
      assert.equal(detector.versions().length, 1);
      assert.equal(detector.provider, provider);
      assert.deepEqual(swaps, []);
      assert.throws(() => detector.setThresholdRule({} as FixedThreshold), code('ERR_INVALID_OPTION'));
    } finally {
      await detector.close();
    }
  });
});
