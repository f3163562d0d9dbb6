// The DeepAnT step graph against the window graph: every stride-1 window of several series, scored
// through StepScorer in uneven batches (1 to 64 frames per series per call, aligned and misaligned
// rounds, a gap, a window scored twice, a series starting late), must equal the window graph's
// score, channel_score and forecast, for kernels, pool sizes, horizons and windows whose 'valid'
// poolings leave frames unread; attention models get no step graph.
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { tailStepGraph } from '../../src/infer/step-tails';
import { StepScorer } from '../../src/infer/step-scorer';
import { parseStepLayout, STEP_LAYOUT_KEY, stepSizes } from '../../src/infer/step-state';
import { initBackend } from '../../training/backend';
import { fitScaler } from '../../training/fit';
import { exportDeepAnt } from '../../training/kinds/deepant/export';
import { buildDeepAnt, type DeepAntConfig, resolveDeepAntConfig } from '../../training/kinds/deepant/model';
import { deepAntStep, deepAntStepGeometry, deepAntStepLayout, exportDeepAntStep } from '../../training/kinds/deepant/step';
import { maxRelDiff } from '../helpers/ort-run';
import { scrambleWeights, sineMixture } from './helpers';
import { type Plan, windowScores } from './step-harness';

const C = 3;
const CHANNELS = ['a', 'b', 'c'];
const OUTPUTS = ['score', 'channel_score', 'forecast'] as const;


function layoutOf(bytes: Uint8Array) {
  return parseStepLayout(new Map(onnx.ModelProto.decode(bytes).metadataProps.map((p) => [p.key!, p.value!])).get(STEP_LAYOUT_KEY), 'step');
}

/** Scores `plan` through a StepScorer in batches of the given sizes; every output per planned window. */
async function stepScores(bytes: Uint8Array, series: Float32Array[], window: number, plan: Plan, batchSizes: number[], maxT?: number, tails = false): Promise<{ out: Record<string, Float32Array>; scorer: StepScorer }> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  // The tails form as the inference worker gets it (`src/infer/step-tails.ts`).
  const tailBytes = tails ? tailStepGraph(bytes, layoutOf(bytes)) : undefined;
  if (tails) assert.ok(tailBytes, 'a graph with per-layer columns has a tails form');
  const tailSession = tailBytes ? await ort.InferenceSession.create(tailBytes, { intraOpNumThreads: 1, interOpNumThreads: 1 }) : undefined;
  const base: number[] = [];
  let rows = 0;
  for (const s of series) {
    base.push(rows);
    rows += s.length / C;
  }
  const stacked = new Float32Array(rows * C);
  series.forEach((s, i) => stacked.set(s, base[i]! * C));
  const scorer = new StepScorer(session, ort.Tensor, layoutOf(bytes), { window, channels: C, slots: series.length, outputs: OUTPUTS, ...(maxT ? { maxT } : {}), ...(tailSession ? { tailSession } : {}) });
  const out: Record<string, Float32Array> = {};
  try {
    let at = 0;
    for (let b = 0; at < plan.length; b++) {
      const n = Math.min(batchSizes[b % batchSizes.length]!, plan.length - at);
      const part = plan.slice(at, at + n);
      const got = await scorer.score(
        n,
        Int32Array.from(part, ([s]) => s),
        Float64Array.from(part, ([, t]) => t),
        stacked,
        Int32Array.from(part, ([s, t]) => base[s]! + t),
      );
      for (const name of OUTPUTS) {
        const width = got[name]!.length / n;
        out[name] ??= new Float32Array(plan.length * width);
        out[name]!.set(got[name]!, at * width);
      }
      at += n;
    }
  } finally {
    await session.release();
    await tailSession?.release();
  }
  return { out, scorer };
}


describe('training/deepant step graph', function () {
  this.timeout(180_000);

  before(async () => {
    await initBackend();
  });

  it('places the edge and the strided reads where the window graph pools them', () => {
    // Defaults: kernel 2, pool 2, window 48, horizon 1: 11 pooled columns, the first one an edge
    // column (from the window's first 4 frames), the others Q' 44, 40, ..., 4 frames back.
    const geo = deepAntStepGeometry(resolveDeepAntConfig({}, 8))!;
    assert.deepEqual({ pooled: geo.pooled, edge: geo.edge, edgeFrames: geo.edgeFrames, frameReach: geo.frameReach, pooledReach: geo.pooledReach }, { pooled: 11, edge: 1, edgeFrames: 4, frameReach: 47, pooledReach: 40 });
    assert.deepEqual(geo.pooledDelays, [40, 36, 32, 28, 24, 20, 16, 12, 8, 4]);
    // 7,296 bytes of state per series for the defaults with 8 channels (docs/benchmarks.md).
    assert.equal(4 * stepSizes({ layers: deepAntStepLayout(resolveDeepAntConfig({}, 8)) }).state, 7296);
    // Pointwise convolutions: no padding reaches the pooled columns, no edge.
    assert.equal(deepAntStepGeometry(resolveDeepAntConfig({ kernelSize: 1, window: 16, horizon: 3 }, C))!.edge, 0);
    // Wider kernels push the edge further in; when it covers every pooled column nothing is reused.
    assert.equal(deepAntStepGeometry(resolveDeepAntConfig({ kernelSize: 5 }, C))!.edge, 3);
    assert.equal(deepAntStepGeometry(resolveDeepAntConfig({ kernelSize: 5, window: 16 }, C)), undefined);
  });

  it('is not exported for attention models (they keep the window graph)', () => {
    for (const attention of ['self', 'bahdanau', true] as const) {
      const config = resolveDeepAntConfig({ window: 20, filters: [4, 4], hidden: 5, attention }, C);
      assert.equal(deepAntStepGeometry(config), undefined);
      const model = buildDeepAnt(config);
      try {
        assert.equal(deepAntStep(model, config, CHANNELS, { mean: [0, 0, 0], std: [1, 1, 1] }), undefined, String(attention));
      } finally {
        model.dispose();
      }
    }
    assert.ok(deepAntStepGeometry(resolveDeepAntConfig({ attention: 'none' }, C)));
    assert.ok(deepAntStepGeometry(resolveDeepAntConfig({ attention: false }, C)));
  });

  const cases: [string, Partial<DeepAntConfig>][] = [
    ['the defaults: window 48, kernel 2, pool 2, filters [32, 32], hidden 40', {}],
    ['window 20, kernel 2, pool 2, small layers', { window: 20, filters: [5, 4], hidden: 7 }],
    ['window 23, kernel 3, pool 2, horizon 2 (the last history frame unread)', { window: 23, kernelSize: 3, horizon: 2, filters: [4, 5], hidden: 6 }],
    ['window 25, kernel 2, pool 3, horizon 1', { window: 25, poolSize: 3, filters: [4, 3], hidden: 5 }],
    ['window 16, kernel 1 (no edge), pool 2, horizon 3', { window: 16, kernelSize: 1, horizon: 3, filters: [4, 4], hidden: 5 }],
    ['window 20, kernel 4, pool 1 (six edge columns)', { window: 20, kernelSize: 4, poolSize: 1, filters: [3, 4], hidden: 5 }],
    ['window 40, kernel 5, pool 2, horizon 4', { window: 40, kernelSize: 5, horizon: 4, filters: [4, 4], hidden: 6 }],
  ];
  cases.forEach(([name, partial], i) => {
    it(`gives the window graph's score, channel_score and forecast on every stride-1 window within 1e-5 (${name})`, async () => {
      const config = resolveDeepAntConfig(partial, C);
      assert.ok(deepAntStepGeometry(config));
      const W = config.window;
      const L = 150;
      const series = [sineMixture(L, C, 1), sineMixture(L, C, 2), sineMixture(L - 50, C, 3)];
      const scaler = fitScaler(series[0]!, C);
      const model = buildDeepAnt(config);
      try {
        scrambleWeights(model, 60 + i, 0.5);
        const windowBytes = exportDeepAnt(model, config, CHANNELS, scaler);
        const stepBytes = exportDeepAntStep(model, config, CHANNELS, scaler);
        assert.deepEqual(layoutOf(stepBytes).layers, deepAntStepLayout(config));
        // Series 0 and 1 tick together (aligned rounds); series 2 starts 45 frames later; series 1
        // skips windows 60..69 (a gap: the state starts over) and has window 30 scored twice.
        const plan: Plan = [];
        for (let t = 0; t + W <= L; t++) {
          plan.push([0, t]);
          if (t < 60 || t >= 70) plan.push([1, t]);
          if (t === 31) plan.push([1, 30]);
          if (t >= 45 && t - 45 + W <= L - 50) plan.push([2, t - 45]);
        }
        const ref = await windowScores(windowBytes, series, plan, C, OUTPUTS);
        // Uneven batches: 1 frame per series per call up to the 64-frame cap.
        const { out, scorer } = await stepScores(stepBytes, series, W, plan, [1, 7, 3, 64, 2, 250]);
        for (const o of OUTPUTS) {
          const d = maxRelDiff(out[o]!, ref[o]!);
          assert.ok(d <= 1e-5, `${o} differs by ${d}`);
        }
        assert.ok(ref['score']!.some((s) => s > 1e-3), 'the scrambled model forecasts badly enough for the scores to mean something');
        assert.ok(scorer.steps < plan.length + 4 * W + 40, `${scorer.steps} steps for ${plan.length} windows: the state is reused, not rebuilt per window`);
        // A smaller cap on frames per call (more calls, T of 1 to 5) gives the same scores.
        const capped = await stepScores(stepBytes, series, W, plan, [250], 5);
        assert.ok(maxRelDiff(capped.out['score']!, ref['score']!) <= 1e-5);
        // Calls whose series advance by nearly the same frames through the tails form: the same bits.
        const tailed = await stepScores(stepBytes, series, W, plan, [1, 7, 3, 64, 2, 250], undefined, true);
        for (const o of OUTPUTS) assert.deepEqual(tailed.out[o], out[o], `${o} with the tails form`);
        assert.ok(tailed.scorer.tailRuns > 0, `${tailed.scorer.tailRuns} of ${tailed.scorer.runs} calls through the tails form`);
      } finally {
        model.dispose();
      }
    });
  });
});
