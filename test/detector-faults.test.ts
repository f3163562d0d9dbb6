// Faults the detector must survive or report (issue 15): a dead inference worker, a version that
// fails at inference, listeners that throw, and the smaller defects of push/write/drain/close.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { Detector, type ScoredBatch, type SwapEvent } from '../src/detector/index.js';
import { isSeismoError, SeismoError, type SeismoErrorCode } from '../src/errors.js';
import { registerDetect } from '../src/cli/detect.js';
import { InferenceWorker } from '../src/infer/inference-worker.js';
import { writeSeriesCsv } from '../src/ingest/csv.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { writeModelDir } from '../src/model/model-dir.js';
import { scoreTable } from '../src/score/score-table.js';
import { runCli } from './helpers/run-cli.js';
import { referenceScores, tinyModel, type TinyModel } from './helpers/tiny-model.js';

const code = (c: SeismoErrorCode) => (err: unknown) => isSeismoError(err, c);

/** The live version's inference worker (private: reached for fault injection only). */
function liveWorker(detector: Detector): InferenceWorker {
  return (detector as unknown as { models: { live: { worker: InferenceWorker } } }).models.live.worker;
}

/** Resolves with 'returned' or 'hung' after `ms`. */
function within(p: Promise<unknown>, ms: number): Promise<'returned' | 'hung'> {
  return Promise.race([p.then(() => 'returned' as const, () => 'returned' as const), new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);
}

/**
 * A copy of `model` whose graph loads and passes every check but fails at every run: its `score`
 * goes through a Reshape to `[-1, 1000003]`, which no batch size fits.
 */
function brokenModel(model: TinyModel): string {
  const proto = onnx.ModelProto.decode(model.onnx);
  const graph = proto.graph!;
  for (const node of graph.node!) {
    node.input = node.input!.map((n) => (n === 'score' ? 'score_inner' : n));
    node.output = node.output!.map((n) => (n === 'score' ? 'score_inner' : n));
  }
  const int64 = (name: string, values: number[]): onnx.ITensorProto => ({ name, dataType: 7, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
  graph.initializer!.push(int64('bad_shape', [-1, 1000003]), int64('flat_shape', [-1]));
  graph.node!.push(
    { opType: 'Reshape', name: 'break_1', input: ['score_inner', 'bad_shape'], output: ['score_mid'] },
    { opType: 'Reshape', name: 'break_2', input: ['score_mid', 'flat_shape'], output: ['score'] },
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-broken-'));
  writeModelDir(dir, model.manifest, onnx.ModelProto.encode(proto).finish());
  return dir;
}

describe('Detector faults', function () {
  this.timeout(60_000);
  let model: TinyModel;
  const W = 8;
  const C = 3;
  const T = 400;
  const data = generateSeries({ length: T, channels: C, seed: 7, periods: [48, 12], anomalies: [] }).table;
  let reference: Float32Array;

  before(async function () {
    this.timeout(120_000);
    model = await tinyModel();
    reference = (await referenceScores(model.onnx, data.frames, C, W)).score;
  });

  describe('a dead inference worker', () => {
    it('is restarted, and the windows it left unscored are scored once afterwards', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8, maxInFlight: 3 });
      const errors: SeismoError[] = [];
      detector.on('error', (e) => errors.push(e));
      try {
        // Kill the worker when the first batch arrives: batches in flight, most of the table to come.
        let killed: Promise<void> | undefined;
        const off = detector.on('batch', () => {
          off();
          killed = liveWorker(detector).terminate();
        });
        const s = await scoreTable(detector, data.time, data.frames, { seriesId: 's', chunk: 16 });
        await killed;
        assert.equal(s.scores.length, T - W + 1);
        for (let w = 0; w < s.scores.length; w++) assert.ok(Math.abs(s.scores[w]! - reference[w]!) <= 1e-5 * Math.max(1, Math.abs(reference[w]!)), `window ${w}`); // the native scorer's bar against onnxruntime
        assert.equal(detector.stats().windowsScored, T - W + 1);
        assert.equal(detector.stats().workerRestarts, 1);
        assert.deepEqual(errors, []);
        // Killed between batches: the next batch finds it dead and restarts it too.
        await liveWorker(detector).terminate();
        await detector.write('s', Float64Array.of(data.time[T - 1]! + 1), data.frames.subarray(0, C));
        await detector.flush();
        assert.equal(detector.stats().windowsScored, T - W + 2);
        assert.equal(detector.stats().workerRestarts, 2);
      } finally {
        await detector.close();
      }
    });

    it('past its restarts, fails every pending and later call with ERR_INFERENCE, reports it, and close() returns', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8, workerRestarts: 0 });
      const errors: SeismoError[] = [];
      detector.on('error', (e) => errors.push(e));
      await liveWorker(detector).terminate();
      const written = detector.write('s', data.time, data.frames);
      const flushed = written.then(() => detector.flush());
      await assert.rejects(flushed, code('ERR_INFERENCE'));
      await assert.rejects(detector.drain(), code('ERR_INFERENCE'));
      assert.throws(() => detector.push('s', data.time[T - 1]! + 1, [0, 0, 0]), code('ERR_INFERENCE'));
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.code, 'ERR_INFERENCE');
      assert.match(errors[0]!.message, /version 1 cannot score/);
      assert.equal(await within(detector.close(), 10_000), 'returned');
    });
  });

  describe('a version that fails at inference', () => {
    it('is rolled back automatically, its windows scored by the previous version', async () => {
      const broken = brokenModel(model);
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8 });
      const swaps: SwapEvent[] = [];
      const errors: SeismoError[] = [];
      const versions = new Set<number>();
      detector.on('swap', (e) => swaps.push(e));
      detector.on('error', (e) => errors.push(e));
      detector.on('batch', (b) => versions.add(b.version));
      try {
        await detector.swapModel(broken);
        assert.equal(detector.version, 2);
        const s = await scoreTable(detector, data.time, data.frames, { seriesId: 's', chunk: 40 });
        for (let w = 0; w < s.scores.length; w++) assert.ok(Math.abs(s.scores[w]! - reference[w]!) <= 1e-5 * Math.max(1, Math.abs(reference[w]!)), `window ${w}`); // the native scorer's bar against onnxruntime
        assert.equal(detector.stats().windowsScored, T - W + 1);
        assert.deepEqual([...versions], [1]);
        assert.equal(detector.version, 1);
        assert.deepEqual(detector.versions().map((v) => v.version), [1]);
        assert.deepEqual(swaps.map((e) => [e.kind, e.previous, e.version]), [['swap', 1, 2], ['auto-rollback', 2, 1]]);
        assert.match(swaps[1]!.reason!, /reshape/i);
        assert.deepEqual(errors, []);
      } finally {
        await detector.close();
      }
    });

    it('with nothing to fall back on, fails with ERR_INFERENCE; a swap to a working model recovers', async () => {
      const broken = brokenModel(model);
      const detector = await Detector.load(broken, { provider: 'cpu', stride: 1, batchSize: 8 });
      try {
        // 100 rows do not fit the ring (capacity 40): the write waits for room and learns of the failure.
        await assert.rejects(
          detector.write('s', data.time.subarray(0, 100), data.frames.subarray(0, 100 * C)),
          (err: unknown) => isSeismoError(err, 'ERR_INFERENCE') && typeof err.details.stored === 'number' && err.details.stored > 0,
        );
        assert.throws(() => detector.push('s', data.time[100]!, [0, 0, 0]), code('ERR_INFERENCE'));
        const stored = detector.stats().framesPushed;
        await detector.swapModel(model.dir);
        // The lost windows were counted and their frames freed: the stream goes on from where it was stored.
        assert.ok(detector.stats().windowsFailed > 0);
        await detector.write('s', data.time.subarray(stored, stored + 100), data.frames.subarray(stored * C, (stored + 100) * C));
        await detector.flush();
        const stats = detector.stats();
        assert.equal(stats.windowsScored + stats.windowsFailed, stored + 100 - W + 1);
      } finally {
        await detector.close();
      }
    });

    it('after a listener threw, later calls and rollback() still work', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8 });
      const errors: SeismoError[] = [];
      detector.on('error', (e) => errors.push(e));
      detector.on('batch', () => {
        throw new Error('listener bug');
      });
      try {
        await detector.swapModel(model.dir);
        await detector.write('s', data.time.subarray(0, 50), data.frames.subarray(0, 50 * C));
        await detector.flush();
        assert.ok(errors.length > 0 && errors.every((e) => e.code === 'ERR_LISTENER'));
        const back = await detector.rollback();
        assert.deepEqual([back.previous, back.version], [2, 1]);
        await detector.write('s', data.time.subarray(50, 100), data.frames.subarray(50 * C, 100 * C));
        await detector.flush();
        assert.equal(detector.stats().windowsScored, 100 - W + 1);
      } finally {
        await detector.close();
      }
    });
  });

  describe('smaller defects', () => {
    it('windowsScored does not count windows dropped while they were scored', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 4, capacity: 24, overflow: 'drop-oldest' });
      let delivered = 0;
      let unscored = 0;
      detector.on('batch', (b: ScoredBatch) => {
        for (const s of b.scores) {
          if (Number.isNaN(s)) unscored++;
          else delivered++;
        }
      });
      try {
        for (let r = 0; r < 200; r++) detector.push('x', data.time[r]!, data.frames.subarray(r * C, (r + 1) * C));
        await detector.flush();
        const stats = detector.stats();
        assert.ok(unscored > 0, 'some windows must be overwritten while in flight for this test to mean anything');
        assert.equal(stats.windowsScored, delivered);
        assert.equal(stats.windowsScored + stats.windowsDropped, 200 - W + 1);
      } finally {
        await detector.close();
      }
    });

    it('a second close() waits for the first', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu' });
      let first = false;
      void detector.close().then(() => (first = true));
      await detector.close();
      assert.ok(first);
    });

    it('a failed write() does not advance the series\' clock', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8 });
      try {
        const times = data.time.subarray(0, 20);
        const values = data.frames.subarray(0, 20 * C);
        // The ring refuses the frames once (injected: as a native failure would).
        const rings = (detector as unknown as { batcher: { rings: { push: (...a: unknown[]) => number } } }).batcher.rings;
        const push = rings.push;
        rings.push = function (this: unknown, ...args: unknown[]) {
          rings.push = push;
          throw new SeismoError('ERR_RESOURCE', 'injected: the ring cannot take the frames');
        };
        await assert.rejects(detector.write('x', times, values), code('ERR_RESOURCE'));
        // The same rows again: the clock did not move, so they are in order.
        await detector.write('x', times, values);
        await detector.flush();
        assert.equal(detector.stats().windowsScored, 20 - W + 1);
      } finally {
        await detector.close();
      }
    });

    it('rejected pushes and writes do not use up a series slot', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', maxSeries: 1 });
      try {
        assert.throws(() => detector.push('a', NaN, [0, 0, 0]), code('ERR_NON_FINITE'));
        assert.throws(() => detector.push('b', Infinity, [0, 0, 0]), code('ERR_NON_FINITE'));
        await assert.rejects(detector.write('c', [2, 1], new Float32Array(2 * C)), code('ERR_TIMESTAMP_ORDER'));
        detector.push('d', 1, [0, 0, 0]);
        assert.equal(detector.stats().series, 1);
      } finally {
        await detector.close();
      }
    });

    it('push() refuses non-finite timestamps and values beyond float32, and the series goes on', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu' });
      try {
        detector.push('x', 1, [0, 0, 0]);
        assert.throws(() => detector.push('x', Infinity, [0, 0, 0]), code('ERR_NON_FINITE'));
        assert.throws(() => detector.push('x', 2, [3.5e38, 0, 0]), code('ERR_NON_FINITE'));
        assert.throws(() => detector.push('x', 2, [0, -1e300, 0]), code('ERR_NON_FINITE'));
        detector.push('x', 2, [3.4e38, 0, 0]); // the float32 maximum is a value like any other
        assert.equal(detector.stats().framesPushed, 2);
      } finally {
        await detector.close();
      }
    });

    it('drain() waits for room, not for the whole backlog', async () => {
      const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8, maxInFlight: 1, capacity: 2000 });
      try {
        await detector.write('x', data.time, data.frames); // fits: no waiting
        await detector.drain(); // every ring has room: nothing to wait for
        const pending = T - W + 1;
        assert.ok(detector.stats().windowsScored < pending / 2, `drain waited for ${detector.stats().windowsScored} of ${pending} windows`);
        // A full ring: drain returns once a push fits again, long before the backlog is scored.
        const small = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 8, maxInFlight: 1, capacity: 200, maxSeries: 2 });
        try {
          let r = 0;
          for (; r < T; r++) {
            try {
              small.push('y', data.time[r]!, data.frames.subarray(r * C, (r + 1) * C));
            } catch (err) {
              assert.ok(isSeismoError(err, 'ERR_RING_OVERFLOW'), String(err));
              break;
            }
          }
          assert.equal(r, 200);
          await small.drain('y');
          small.push('y', data.time[r]!, data.frames.subarray(r * C, (r + 1) * C));
          assert.ok(small.stats().windowsScored < 200 - W + 1 - 8, `drain waited for ${small.stats().windowsScored} windows`);
        } finally {
          await small.close();
        }
      } finally {
        await detector.close();
      }
    });

    it('an uncaught ERR_TOO_MANY_SERIES from write() ends the process with that error, not an abort in native teardown', async function () {
      this.timeout(120_000);
      const script = path.join(__dirname, 'fixtures/detector/uncaught-too-many-series.ts');
      // Timing decides whether a run is inside onnxruntime when the process ends: try several.
      for (const delay of [5, 15, 30, 60]) {
        const { status, stderr } = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, model.dir, String(delay)], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          child.stderr.on('data', (d: Buffer) => (err += d.toString()));
          child.on('close', (s) => resolve({ status: s, stderr: err }));
        });
        assert.doesNotMatch(stderr, /terminate called|FATAL ERROR/, `delay ${delay}: ${stderr.slice(-400)}`);
        assert.equal(status, 1, `delay ${delay}: exit ${status}\n${stderr.slice(-400)}`);
        assert.match(stderr, /ERR_TOO_MANY_SERIES/);
      }
    });
  });

  describe('seismo detect', () => {
    let csv: string;
    before(async () => {
      csv = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-faults-')), 'data.csv');
      await writeSeriesCsv(csv, { ...data, channels: model.manifest.channels });
    });

    it('exits non-zero with ERR_INFERENCE, writing no --out file, when every worker it starts dies', async () => {
      // Every worker dies at its first batch, the restarted ones too: no transient cause.
      const run = InferenceWorker.prototype.runArena;
      InferenceWorker.prototype.runArena = function (this: InferenceWorker, ...args: Parameters<typeof run>) {
        void this.terminate();
        return run.apply(this, args);
      };
      const out = path.join(path.dirname(csv), 'scores.csv');
      try {
        const running = runCli(registerDetect, ['detect', '--model', model.dir, '--data', csv, '--out', out, '--provider', 'cpu', '--json']);
        assert.equal(await within(running, 50_000), 'returned', 'detect hung');
        const result = await running;
        assert.equal(result.code, 1, result.stderr);
        assert.match(result.stdout + result.stderr, /ERR_INFERENCE/);
        assert.ok(!fs.existsSync(out));
      } finally {
        InferenceWorker.prototype.runArena = run;
      }
    });

    it('succeeds when a worker dies once: it is restarted and every window is written', async () => {
      const run = InferenceWorker.prototype.runArena;
      let kills = 1;
      InferenceWorker.prototype.runArena = function (this: InferenceWorker, ...args: Parameters<typeof run>) {
        if (kills-- > 0) void this.terminate();
        return run.apply(this, args);
      };
      const out = path.join(path.dirname(csv), 'scores-once.csv');
      try {
        const result = await runCli(registerDetect, ['detect', '--model', model.dir, '--data', csv, '--out', out, '--provider', 'cpu', '--stride', '1', '--json']);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(fs.readFileSync(out, 'utf8').trim().split('\n').length - 1, T - W + 1);
      } finally {
        InferenceWorker.prototype.runArena = run;
      }
    });
  });
});
