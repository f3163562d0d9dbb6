// The native LSTM-AE scorer against onnxruntime: per batch (the addon's LstmAeScorer on a spec
// read out of model.onnx vs session.run on the same frames and starts) and through the whole
// pipeline (the same stream through a Detector with runtime 'auto' and 'onnxruntime'), and the
// fallbacks (runtime 'onnxruntime', SEISMO_NATIVE=off, outputs it does not give).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { Detector } from '../../src/detector/index';
import type { DetectorOptions } from '../../src/detector/types';
import { InferenceWorker } from '../../src/infer/inference-worker';
import { extractLstmAeNet } from '../../src/infer/lstm-ae-net';
import { nativeScorerPays } from '../../src/infer/protocol';
import { createSession } from '../../src/infer/providers';
import type { RuntimeReport } from '../../src/infer/runtime';
import { generateSeries } from '../../src/ingest/synthetic';
import { loadNative, type LstmAeNetSpec } from '../../src/native';
import { trainModel } from '../../training/index';
import { lstmAeGraph } from '../helpers/lstm-ae-graphs';
import { lstmAeFixture, scoreLstmAeReference } from '../helpers/lstm-ae-reference';
import { maxRelDiff } from '../helpers/ort-run';
import { tinyModel } from '../helpers/tiny-model';

/** The bar: 1e-5 relative to max(1, |x|). */
const TOL = 1e-5;
const OUTPUTS = ['score', 'channel_score', 'channel_activity', 'reconstruction'] as const;

function specOf(bytes: Uint8Array): LstmAeNetSpec {
  const r = extractLstmAeNet(bytes);
  assert.ok(r.net, `not recognised: ${r.reason}`);
  return r.net.spec;
}

/** Frames `[rows, C]`: sines on each channel's own scale, with noise. */
function framesOf(rows: number, C: number, seed = 1): Float32Array {
  const out = new Float32Array(rows * C);
  let s = seed;
  for (let t = 0; t < rows; t++) {
    for (let c = 0; c < C; c++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      out[t * C + c] = (c + 1) * 3 * Math.sin(t / (4 + c)) + 10 * c + (s / 2 ** 31 - 0.5);
    }
  }
  return out;
}

interface Outputs {
  score: Float32Array;
  channel_score: Float32Array;
  channel_activity: Float32Array | null;
  reconstruction: Float32Array;
}

function scoreNative(spec: LstmAeNetSpec, frames: Float32Array, starts: number[]): Outputs {
  const scorer = new (loadNative().LstmAeScorer)(spec);
  const n = starts.length;
  const { window: W, channels: C } = spec;
  const out: Outputs = { score: new Float32Array(n), channel_score: new Float32Array(n * C), channel_activity: W >= 3 ? new Float32Array(n * C) : null, reconstruction: new Float32Array(n * W * C) };
  scorer.score(frames, BigInt64Array.from(starts, BigInt), n, out.score, out.channel_score, out.channel_activity, out.reconstruction);
  return out;
}

async function scoreOrt(bytes: Uint8Array, frames: Float32Array, C: number, starts: number[]): Promise<Record<string, Float32Array>> {
  // The worker's session options (graph optimisation `all`, one thread).
  const { session } = await createSession(bytes, { provider: 'cpu' });
  try {
    const out = await session.run({ frames: new ort.Tensor('float32', frames, [frames.length / C, C]), starts: new ort.Tensor('int64', BigInt64Array.from(starts, BigInt), [starts.length]) });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.data as Float32Array]));
  } finally {
    await session.release();
  }
}

/**
 * Largest relative difference over the windows whose score onnxruntime gives as a number; the
 * score is NaN in exactly the same windows. (A window with a NaN frame has a NaN score on both
 * sides, but its other outputs are not compared: onnxruntime's LSTM squashes a NaN gate input
 * into a number, so some of its channels stay finite, which is no behaviour to copy.)
 */
function compare(got: Float32Array, want: Float32Array, width: number, nanWindows: boolean[], what: string): number {
  assert.equal(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    if (nanWindows[Math.floor(i / width)]) continue;
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
    if (Number.isNaN(got[i]!) || Number.isNaN(want[i]!)) return Infinity;
  }
  return worst;
}

/** Which windows have a NaN score, the same on both sides. */
function nanScores(got: Float32Array, want: Float32Array, what: string): boolean[] {
  const nan = Array.from(want, Number.isNaN);
  assert.deepEqual(Array.from(got, Number.isNaN), nan, `${what}: NaN scores`);
  return nan;
}

async function assertBatchParity(bytes: Uint8Array, frames: Float32Array, starts: number[], what: string): Promise<void> {
  const spec = specOf(bytes);
  const got = scoreNative(spec, frames, starts);
  const want = await scoreOrt(bytes, frames, spec.channels, starts);
  const nan = nanScores(got.score, want['score']!, what);
  for (const name of OUTPUTS) {
    const g = got[name];
    if (!g) {
      assert.equal(want[name], undefined, `${what}: onnxruntime gives ${name}`);
      continue;
    }
    const d = compare(g, want[name]!, g.length / starts.length, nan, `${what} ${name}`);
    assert.ok(d <= TOL, `${what}: ${name} differs by ${d} (relative to max(1, |x|))`);
  }
}

/** Stride-1 starts from `from`, n of them. */
const run = (n: number, from = 0, stride = 1): number[] => Array.from({ length: n }, (_, i) => from + i * stride);

describe('infer: the native LSTM-AE scorer against onnxruntime', function () {
  this.timeout(180_000);

  describe('per batch, on a spec read out of model.onnx', () => {
    it('the spec read out of a graph is the one it was built from (kernel`s fixture builder)', () => {
      for (const gate of ['sigmoid', 'hardSigmoid'] as const) {
        const f = lstmAeFixture({ window: 9, channels: 3, encoder: [6, 5], decoder: [4, 7], gate, outBias: gate === 'sigmoid' });
        assert.deepEqual(specOf(f.onnx), f.spec);
      }
    });

    it('the spec read out of a trained model scores as onnxruntime does (float64 reference)', async () => {
      const m = await tinyModel();
      const frames = framesOf(60, 3);
      const starts = run(53);
      const ref = scoreLstmAeReference(specOf(m.onnx), frames, starts, starts.length);
      const want = await scoreOrt(m.onnx, frames, 3, starts);
      assert.ok(maxRelDiff(ref.score, want['score']!) <= 1e-5);
      assert.ok(maxRelDiff(ref.reconstruction, want['reconstruction']!) <= 1e-5);
    });

    it('a trained model: stride 1, stride 3, a batch of 1, irregular starts', async () => {
      const m = await tinyModel();
      const frames = framesOf(300, 3);
      await assertBatchParity(m.onnx, frames, run(64), 'stride 1');
      await assertBatchParity(m.onnx, frames, run(70, 5, 3), 'stride 3');
      await assertBatchParity(m.onnx, frames, [17], 'batch of 1');
      await assertBatchParity(m.onnx, frames, [292, 0, 100, 100, 3, 250], 'irregular');
    });

    it('deep, hardSigmoid in saturation, without biases, a window of 2', async () => {
      const cases = [
        { what: 'deep sigmoid', o: { window: 12, channels: 4, encoderUnits: [9, 5], decoderUnits: [6, 7] } },
        { what: 'hardSigmoid, saturated', o: { window: 10, channels: 3, encoderUnits: [8], decoderUnits: [5], gate: 'hardSigmoid' as const, scale: 2 } },
        { what: 'no biases', o: { window: 7, channels: 2, encoderUnits: [4], decoderUnits: [3], bias: false } },
        { what: 'window 2', o: { window: 2, channels: 3, encoderUnits: [4], decoderUnits: [2] } },
      ];
      for (const c of cases) {
        const g = await lstmAeGraph(c.o);
        const frames = framesOf(200, c.o.channels, 7);
        await assertBatchParity(g.onnx, frames, run(100, 0, 1), c.what);
        await assertBatchParity(g.onnx, frames, [200 - c.o.window], `${c.what}, last window alone`);
      }
    });

    it('the reference shape (window 64, 8 channels, encoder 32, decoder 16) at batch 64 and 256', async () => {
      const g = await lstmAeGraph({ window: 64, channels: 8, encoderUnits: [32], decoderUnits: [16], seed: 4, scale: 0.3 });
      const frames = framesOf(64 + 300, 8, 3);
      await assertBatchParity(g.onnx, frames, run(64), 'batch 64');
      await assertBatchParity(g.onnx, frames, run(256, 10), 'batch 256');
    });

    it('NaN in frames: a NaN score in exactly the windows that hold it, as onnxruntime; the others as onnxruntime', async () => {
      const m = await tinyModel();
      const frames = framesOf(100, 3);
      frames[40 * 3 + 1] = NaN;
      const starts = run(93);
      await assertBatchParity(m.onnx, frames, starts, 'NaN at row 40');
      const got = scoreNative(specOf(m.onnx), frames, starts);
      for (let i = 0; i < starts.length; i++) assert.equal(Number.isNaN(got.score[i]!), i >= 33 && i <= 40, `window ${i}`);
    });
  });

  describe('through the pipeline', () => {
    /** Every window's score and channel scores by series and start, the anomaly events, and what scored. */
    async function stream(dir: string, options: DetectorOptions, frames: Float32Array, C: number, series = 2): Promise<{ runtime: RuntimeReport; scores: Map<string, number[]>; anomalies: string[] }> {
      const detector = await Detector.load(dir, options);
      const scores = new Map<string, number[]>();
      const anomalies: string[] = [];
      detector.on('batch', (b) => {
        for (let i = 0; i < b.size; i++) scores.set(`${b.seriesIds[i]}@${b.starts[i]}`, [b.scores[i]!, ...b.channelScores.subarray(i * C, (i + 1) * C)]);
      });
      detector.on('anomaly', (e) => anomalies.push(`${e.seriesId}@${e.timestamp}`));
      try {
        const rows = frames.length / C;
        // Blocks of 37 frames, series interleaved: batches mix series and cut across writes.
        for (let r = 0; r < rows; r += 37) {
          const to = Math.min(rows, r + 37);
          for (let s = 0; s < series; s++) {
            await detector.write(`s${s}`, Array.from({ length: to - r }, (_, i) => r + i), frames.subarray(r * C, to * C));
          }
        }
        await detector.flush();
        return { runtime: detector.runtime, scores, anomalies };
      } finally {
        await detector.close();
      }
    }

    function assertSameScores(a: Map<string, number[]>, b: Map<string, number[]>, what: string): void {
      assert.ok(a.size > 0, `${what}: nothing scored`);
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort(), `${what}: other windows`);
      let worst = 0;
      for (const [k, v] of a) worst = Math.max(worst, maxRelDiff(v, b.get(k)!));
      assert.ok(worst <= TOL, `${what}: scores differ by ${worst}`);
    }

    for (const c of [
      { what: 'stride 1, batch 64', options: { stride: 1, batchSize: 64 } },
      { what: 'stride 3, batch 16', options: { stride: 3, batchSize: 16 } },
      { what: 'stride 1, batch 1', options: { stride: 1, batchSize: 1 } },
    ]) {
      it(`runtime auto (native) and onnxruntime give the same windows and scores: ${c.what}`, async () => {
        const m = await tinyModel();
        const data = generateSeries({ length: c.options.batchSize === 1 ? 150 : 600, channels: 3, seed: 5, periods: [48, 12], anomalies: [] });
        const frames = data.table.frames;
        const native = await stream(m.dir, { ...c.options, runtime: 'auto' }, frames, 3);
        const onnx = await stream(m.dir, { ...c.options, runtime: 'onnxruntime' }, frames, 3);
        assert.equal(native.runtime.runtime, 'native-lstm-ae', native.runtime.reason);
        assert.ok(['avx512', 'avx2', 'baseline'].includes(native.runtime.isa!));
        assert.deepEqual(onnx.runtime, { requested: 'onnxruntime', runtime: 'onnxruntime', reason: 'onnxruntime was asked for (runtime: onnxruntime)' });
        assertSameScores(native.scores, onnx.scores, c.what);
      });
    }

    it('the same anomaly events at a threshold both sides of which the scores keep clear', async () => {
      const m = await tinyModel();
      const data = generateSeries({ length: 600, channels: 3, seed: 9, periods: [48, 12], anomalies: [] });
      const probe = await stream(m.dir, { stride: 1, runtime: 'onnxruntime' }, data.table.frames, 3, 1);
      // A threshold in the widest gap of the middle scores: no window lies within the tolerance of it.
      const sorted = [...probe.scores.values()].map((v) => v[0]!).sort((a, b) => a - b);
      let at = 0;
      for (let i = Math.floor(sorted.length * 0.6); i < sorted.length * 0.95; i++) if (sorted[i + 1]! - sorted[i]! > sorted[at + 1]! - sorted[at]!) at = i;
      const threshold = (sorted[at]! + sorted[at + 1]!) / 2;
      const native = await stream(m.dir, { stride: 1, threshold, runtime: 'auto' }, data.table.frames, 3, 1);
      const onnx = await stream(m.dir, { stride: 1, threshold, runtime: 'onnxruntime' }, data.table.frames, 3, 1);
      assert.ok(onnx.anomalies.length > 0, 'no anomalies to compare');
      assert.deepEqual(native.anomalies, onnx.anomalies);
    });

    it('a worker: window-graph batches native, NaN frames as onnxruntime, a bad start fails the request with its code', async () => {
      const m = await tinyModel();
      const native = await InferenceWorker.start(m.onnx, { provider: 'cpu' });
      const onnx = await InferenceWorker.start(m.onnx, { provider: 'cpu', runtime: 'onnxruntime' });
      try {
        assert.equal(native.runtime.runtime, 'native-lstm-ae');
        const frames = framesOf(80, 3);
        frames[30 * 3] = NaN;
        const starts = BigInt64Array.from(run(73), BigInt);
        const a = await native.runFrames(frames.slice(), 3, starts.slice());
        const b = await onnx.runFrames(frames.slice(), 3, starts.slice());
        assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
        const nan = nanScores(a['score']!, b['score']!, 'runFrames');
        for (const k of Object.keys(b)) assert.ok(compare(a[k]!, b[k]!, a[k]!.length / starts.length, nan, k) <= TOL, k);
        assert.ok(Number.isNaN(a['score']![30]!) && !Number.isNaN(a['score']![31]!));
        await assert.rejects(native.runFrames(frames.slice(), 3, BigInt64Array.of(0n, 73n)), (e: Error & { code?: string }) => e.code === 'ERR_BAD_SHAPE');
        // The failure was that request's only: the worker still scores.
        assert.equal((await native.runFrames(frames.slice(), 3, BigInt64Array.of(1n))).score!.length, 1);
      } finally {
        await native.close();
        await onnx.close();
      }
    });

    it('outputs the native scorer does not give: onnxruntime scores, and says why', async () => {
      const m = await tinyModel();
      const w = await InferenceWorker.start(m.onnx, { provider: 'cpu', outputs: ['score', 'channel_score', 'no_such_output'] });
      try {
        assert.equal(w.runtime.runtime, 'onnxruntime');
        assert.match(w.runtime.reason!, /does not give no_such_output/);
      } finally {
        await w.close();
      }
    });

    it('other kinds are scored by onnxruntime, with the reason', async () => {
      const data = generateSeries({ length: 200, channels: 2, seed: 4, anomalies: [] });
      const dense = await trainModel({ kind: 'dense-ae', frames: data.table.frames, channels: data.table.channels, config: { window: 4, epochs: 1 }, seed: 1 });
      const w = await InferenceWorker.start(dense.onnx, { provider: 'cpu' });
      try {
        assert.equal(w.runtime.runtime, 'onnxruntime');
        assert.match(w.runtime.reason!, /not an LSTM-AE graph/);
      } finally {
        dense.dispose();
        await w.close();
      }
    });

    it('refuses an unknown runtime option', async () => {
      const m = await tinyModel();
      await assert.rejects(Detector.load(m.dir, { runtime: 'tensorflow' as never }), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION' && /runtime/.test(e.message));
    });

    it('runs only the vectorised variants: on a CPU without AVX2 the baseline would be slower than onnxruntime', () => {
      assert.equal(nativeScorerPays('avx512'), true);
      assert.equal(nativeScorerPays('avx2'), true);
      assert.equal(nativeScorerPays('baseline'), false);
      // What the addon picks on this CPU is one of the three, and a vectorised one on any x86-64 with AVX2.
      const isa = new (loadNative().LstmAeScorer)(lstmAeFixture({ window: 8, channels: 2, encoder: [4], decoder: [3] }).spec).isa;
      assert.ok(['avx512', 'avx2', 'baseline'].includes(isa), isa);
    });

    it('without the addon (SEISMO_NATIVE=off, a child process) onnxruntime scores the same windows', async () => {
      const m = await tinyModel();
      const data = generateSeries({ length: 300, channels: 3, seed: 5, periods: [48, 12], anomalies: [] });
      const here = await stream(m.dir, { stride: 1, runtime: 'auto' }, data.table.frames, 3, 1);
      const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '../helpers/lstm-ae-native.child.ts'), m.dir], {
        env: { ...process.env, SEISMO_NATIVE: 'off' },
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.equal(child.status, 0, child.stderr);
      const got = JSON.parse(child.stdout) as { runtime: RuntimeReport; scores: [string, number[]][] };
      assert.equal(got.runtime.runtime, 'onnxruntime');
      assert.match(got.runtime.reason!, /native addon is unavailable.*SEISMO_NATIVE=off/);
      assertSameScores(new Map(got.scores), here.scores, 'SEISMO_NATIVE=off');
    });
  });
});
