// The native LSTM-AE scorer (native/lstm_ae_score*.{h,cc}) in every compiled variant this CPU
// runs, against the float64 reference (test/helpers/lstm-ae-reference.ts) and onnxruntime on
// graphs exported through training/export's blocks; its shape and option errors.
import assert from 'node:assert/strict';
import { lstmAeFixture, type LstmAeFixtureShape, scoreLstmAeReference, uniform } from '../helpers/lstm-ae-reference.js';
import { maxRelDiff, runModel } from '../helpers/ort-run.js';
import { type LstmAeIsa, type LstmAeNetSpec, loadNative, type NativeLstmAeScorer } from '../../src/native.js';

/** The parity bar: relative to max(1, |x|), against onnxruntime's float32 and the float64 reference. */
const TOL = 1e-5;

const native = loadNative();
const isas = native.LstmAeScorer.supportedIsas;

interface Outputs {
  score: Float32Array;
  channelScore: Float32Array;
  channelActivity: Float32Array | null;
  reconstruction: Float32Array;
}

function run(scorer: NativeLstmAeScorer, spec: LstmAeNetSpec, frames: Float32Array, starts: readonly number[], activity = spec.window >= 3): Outputs {
  const n = starts.length;
  const C = spec.channels;
  const out: Outputs = {
    score: new Float32Array(n).fill(-1),
    channelScore: new Float32Array(n * C).fill(-1),
    channelActivity: activity ? new Float32Array(n * C).fill(-1) : null,
    reconstruction: new Float32Array(n * spec.window * C).fill(-1),
  };
  scorer.score(frames, BigInt64Array.from(starts, BigInt), n, out.score, out.channelScore, out.channelActivity, out.reconstruction);
  return out;
}

function assertClose(actual: Outputs, expected: { score: ArrayLike<number>; channelScore: ArrayLike<number>; channelActivity: ArrayLike<number> | null; reconstruction: ArrayLike<number> }, what: string): void {
  for (const key of ['score', 'channelScore', 'reconstruction'] as const) {
    const d = maxRelDiff(actual[key], expected[key]);
    assert.ok(d <= TOL, `${what}: ${key} differs by ${d}`);
  }
  if (expected.channelActivity && actual.channelActivity) {
    const d = maxRelDiff(actual.channelActivity, expected.channelActivity);
    assert.ok(d <= TOL, `${what}: channelActivity differs by ${d}`);
  }
}

/** Stride-1 windows (a batch not a multiple of any block), one lone window, and scattered, repeated starts far apart. */
function startSets(rows: number, window: number): [string, number[]][] {
  const last = rows - window;
  return [
    ['67 stride-1 windows', Array.from({ length: 67 }, (_, i) => i)],
    ['n = 1', [last]],
    ['scattered, repeated, unordered', [last, 0, 200, 3, 200, 101, 57, last - 1, 9, 150, 2]],
    // Farther apart than their frames: each window is scaled and projected on its own.
    ['two windows far apart', [last, 0]],
  ];
}

const cases: [string, LstmAeFixtureShape][] = [
  ['the reference shape (W 64, C 8, [32] / [16])', { window: 64, channels: 8, encoder: [32], decoder: [16] }],
  ['hardSigmoid gates in their clipped range, odd units [5] / [7]', { window: 12, channels: 3, encoder: [5], decoder: [7], gate: 'hardSigmoid', scale: 2 }],
  ['stacked odd layers [17, 5] / [3, 9], no output bias', { window: 9, channels: 5, encoder: [17, 5], decoder: [3, 9], outBias: false, seed: 4 }],
  ['wide: 20 channels, [48] / [33, 40]', { window: 16, channels: 20, encoder: [48], decoder: [33, 40], seed: 6, scale: 0.3 }],
  ['W 2 (no channel_activity)', { window: 2, channels: 2, encoder: [3], decoder: [2], seed: 5 }],
  ['W 1, C 1, one unit', { window: 1, channels: 1, encoder: [1], decoder: [1], seed: 8 }],
];

describe('native LSTM-AE scorer', function () {
  this.timeout(120_000);

  it(`lists the variants this CPU runs, best first, baseline always (${isas.join(', ')})`, () => {
    assert.equal(isas[isas.length - 1], 'baseline');
    assert.equal(new native.LstmAeScorer(lstmAeFixture({ window: 4, channels: 2, encoder: [2], decoder: [2] }).spec).isa, isas[0]);
  });

  for (const [name, shape] of cases) {
    it(`matches onnxruntime and the float64 reference in every variant: ${name}`, async () => {
      const { onnx, spec } = lstmAeFixture(shape);
      const rows = 300;
      const frames = uniform(rows * shape.channels, 21, 3);
      for (const [setName, starts] of startSets(rows, shape.window)) {
        const ort = await runModel(onnx, frames, shape.channels, starts);
        const fromOrt = { score: ort['score']!.data, channelScore: ort['channel_score']!.data, channelActivity: ort['channel_activity']?.data ?? null, reconstruction: ort['reconstruction']!.data };
        const ref = scoreLstmAeReference(spec, frames, starts, starts.length);
        for (const isa of isas) {
          const out = run(new native.LstmAeScorer(spec, isa), spec, frames, starts);
          assertClose(out, fromOrt, `${isa}, ${setName}, vs onnxruntime`);
          assertClose(out, ref, `${isa}, ${setName}, vs reference`);
          assert.equal(out.channelActivity === null, shape.window < 3);
        }
      }
    });
  }

  it('adds both biases (Wb and Rb), which exported graphs never exercise', () => {
    const { spec } = lstmAeFixture({ window: 10, channels: 3, encoder: [6, 5], decoder: [4], seed: 9 });
    for (const [i, layer] of [...spec.encoder, ...spec.decoder].entries()) layer.B.set(uniform(4 * layer.units, 50 + i, 0.5), 4 * layer.units);
    const frames = uniform(40 * 3, 4, 2);
    const starts = [0, 5, 30, 17];
    const ref = scoreLstmAeReference(spec, frames, starts, 4);
    for (const isa of isas) assertClose(run(new native.LstmAeScorer(spec, isa), spec, frames, starts), ref, isa);
  });

  it('gives every window the same bits whatever batch, block or span it is scored in', () => {
    const { spec } = lstmAeFixture({ window: 64, channels: 8, encoder: [32], decoder: [16] });
    const frames = uniform(400 * 8, 5, 2);
    const starts = Array.from({ length: 131 }, (_, i) => (i * 7) % 337);
    for (const isa of isas) {
      const scorer = new native.LstmAeScorer(spec, isa);
      const batch = run(scorer, spec, frames, starts);
      for (const [i, s] of starts.entries()) {
        if (i % 13 !== 0) continue;
        const one = run(scorer, spec, frames, [s]);
        assert.equal(one.score[0], batch.score[i], `${isa}: window ${i}`);
        assert.deepEqual(one.channelScore, batch.channelScore.subarray(i * 8, i * 8 + 8));
      }
    }
  });

  it('gives NaN scores to the windows that contain a NaN frame, as onnxruntime does, and to no other', async () => {
    const { onnx, spec } = lstmAeFixture({ window: 6, channels: 2, encoder: [3], decoder: [3] });
    const frames = uniform(20 * 2, 9, 1);
    frames[10 * 2 + 1] = NaN;
    const starts = [0, 5, 10, 11, 4, 14];
    const ort = await runModel(onnx, frames, 2, starts);
    const expected = Array.from(ort['score']!.data, Number.isNaN);
    assert.deepEqual(expected, [false, true, true, false, false, false]);
    for (const isa of isas) {
      const out = run(new native.LstmAeScorer(spec, isa), spec, frames, starts);
      assert.deepEqual(Array.from(out.score, Number.isNaN), expected, isa);
      assert.ok(Number.isFinite(out.score[0]) && Math.abs(out.score[0]! - ort['score']!.data[0]!) <= TOL);
    }
  });

  it('reads frames through a view at an offset, leaves null outputs alone and takes longer output buffers', () => {
    const { spec } = lstmAeFixture({ window: 8, channels: 3, encoder: [4], decoder: [4] });
    const backing = uniform(1000, 3, 1);
    const frames = backing.subarray(7, 7 + 50 * 3);
    const starts = [0, 42, 13];
    const ref = scoreLstmAeReference(spec, frames, starts, 3);
    const scorer = new native.LstmAeScorer(spec);
    const score = new Float32Array(10).fill(7);
    const channelScore = new Float32Array(30);
    scorer.score(frames, BigInt64Array.from(starts, BigInt), 3, score, channelScore, null, null);
    assert.ok(maxRelDiff(score.subarray(0, 3), ref.score) <= TOL);
    assert.deepEqual(Array.from(score.subarray(3)), new Array(7).fill(7));
    scorer.score(frames, new BigInt64Array(0), 0, new Float32Array(0), new Float32Array(0), null, null);
  });

  it('copies the weights at construction', () => {
    const { spec } = lstmAeFixture({ window: 8, channels: 3, encoder: [4], decoder: [4] });
    const frames = uniform(30 * 3, 3, 1);
    const scorer = new native.LstmAeScorer(spec);
    const before = run(scorer, spec, frames, [0, 5]);
    spec.encoder[0]!.R.fill(0);
    spec.outKernel.fill(0);
    assert.deepEqual(run(scorer, spec, frames, [0, 5]).score, before.score);
  });

  describe('errors', () => {
    const { spec } = lstmAeFixture({ window: 8, channels: 3, encoder: [4], decoder: [5] });
    const frames = uniform(30 * 3, 3, 1);
    const code = (c: string) => (err: unknown) => (err as { code?: string }).code === c;

    it('rejects a start outside [0, rows - W] with ERR_BAD_SHAPE and writes nothing', () => {
      const scorer = new native.LstmAeScorer(spec);
      for (const bad of [-1, 23, 1000]) {
        const score = new Float32Array(2).fill(5);
        assert.throws(() => scorer.score(frames, BigInt64Array.of(0n, BigInt(bad)), 2, score, new Float32Array(6), null, null), code('ERR_BAD_SHAPE'));
        assert.deepEqual(Array.from(score), [5, 5]);
      }
      scorer.score(frames, BigInt64Array.of(22n), 1, new Float32Array(1), new Float32Array(3), null, null);
    });

    it('rejects wrong lengths and types of score() arguments with ERR_BAD_SHAPE', () => {
      const scorer = new native.LstmAeScorer(spec);
      const s = BigInt64Array.of(0n, 1n);
      const calls: (() => void)[] = [
        () => scorer.score(frames.subarray(1), s, 2, new Float32Array(2), new Float32Array(6), null, null), // not whole rows
        () => scorer.score(frames, BigInt64Array.of(0n), 2, new Float32Array(2), new Float32Array(6), null, null), // starts too short
        () => scorer.score(frames, s, 2, new Float32Array(1), new Float32Array(6), null, null),
        () => scorer.score(frames, s, 2, new Float32Array(2), new Float32Array(5), null, null),
        () => scorer.score(frames, s, 2, new Float32Array(2), new Float32Array(6), new Float32Array(5), null),
        () => scorer.score(frames, s, 2, new Float32Array(2), new Float32Array(6), null, new Float32Array(47)),
        () => scorer.score(new Float64Array(90) as unknown as Float32Array, s, 2, new Float32Array(2), new Float32Array(6), null, null),
        () => scorer.score(frames, new Int32Array(2) as unknown as BigInt64Array, 2, new Float32Array(2), new Float32Array(6), null, null),
        () => scorer.score(frames, s, 1.5, new Float32Array(2), new Float32Array(6), null, null),
        () => scorer.score(frames.subarray(0, 7 * 3), BigInt64Array.of(0n), 1, new Float32Array(1), new Float32Array(3), null, null), // fewer rows than W
      ];
      for (const [i, call] of calls.entries()) assert.throws(call, code('ERR_BAD_SHAPE'), `call ${i}`);
      const short = lstmAeFixture({ window: 2, channels: 3, encoder: [4], decoder: [5] }).spec;
      assert.throws(() => new native.LstmAeScorer(short).score(frames, s, 2, new Float32Array(2), new Float32Array(6), new Float32Array(6), null), code('ERR_BAD_SHAPE'));
    });

    it('rejects an inconsistent spec: lengths and layer chain ERR_BAD_SHAPE, sizes and gates ERR_INVALID_OPTION', () => {
      const enc = spec.encoder[0]!;
      const dec = spec.decoder[0]!;
      const bad: [string, LstmAeNetSpec][] = [
        ['ERR_BAD_SHAPE', { ...spec, scalerStd: new Float32Array(2) }],
        ['ERR_BAD_SHAPE', { ...spec, encoder: [{ ...enc, W: new Float32Array(5) }] }],
        ['ERR_BAD_SHAPE', { ...spec, encoder: [{ ...enc, R: enc.W }] }],
        ['ERR_BAD_SHAPE', { ...spec, decoder: [{ ...dec, B: new Float32Array(4 * 5) }] }],
        ['ERR_BAD_SHAPE', { ...spec, outKernel: new Float32Array(4 * 3) }],
        ['ERR_BAD_SHAPE', { ...spec, outBias: new Float32Array(4) }],
        ['ERR_BAD_SHAPE', { ...spec, decoder: [{ ...dec, inputSize: 3 }] }],
        ['ERR_BAD_SHAPE', { ...spec, encoder: [{ ...enc, inputSize: 4 }] }],
        ['ERR_BAD_SHAPE', { ...spec, encoder: [{ ...enc, W: Array.from(enc.W) as unknown as Float32Array }] }],
        ['ERR_INVALID_OPTION', { ...spec, window: 0 }],
        ['ERR_INVALID_OPTION', { ...spec, channels: 2.5 }],
        ['ERR_INVALID_OPTION', { ...spec, encoder: [] }],
        ['ERR_INVALID_OPTION', { ...spec, decoder: [{ ...dec, units: 0 }] }],
        ['ERR_INVALID_OPTION', { ...spec, decoder: [{ ...dec, gate: 'relu' as 'sigmoid' }] }],
      ];
      for (const [c, s] of bad) assert.throws(() => new native.LstmAeScorer(s), code(c), JSON.stringify(Object.keys(s)));
      assert.throws(() => new native.LstmAeScorer(spec, 'sse9' as LstmAeIsa), code('ERR_INVALID_OPTION'));
      if (!isas.includes('avx512')) assert.throws(() => new native.LstmAeScorer(spec, 'avx512'), code('ERR_INVALID_OPTION'));
    });
  });
});
