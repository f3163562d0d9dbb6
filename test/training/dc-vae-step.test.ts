// The DC-VAE step graph against the window graph: every stride-1 window of several series, scored
// through StepScorer in uneven batches (aligned and misaligned rounds, a gap, a window scored
// twice, series starting at different frames), must equal the window graph's outputs.
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { StepScorer } from '../../src/infer/step-scorer';
import { tailStepGraph } from '../../src/infer/step-tails';
import { parseStepLayout, STEP_IO, STEP_LAYOUT_KEY, stepColumns, stepSizes } from '../../src/infer/step-state';
import { initBackend } from '../../training/backend';
import { fitScaler } from '../../training/fit';
import { dcVaeNetworkField, dcVaeStepExact, exportDcVae, exportDcVaeStep } from '../../training/kinds/dc-vae/export';
import { buildDcVae, type DcVaeConfig, resolveDcVaeConfig } from '../../training/kinds/dc-vae/model';
import { maxRelDiff } from '../helpers/ort-run';
import { scrambleWeights, sineMixture } from './helpers';
import { type Plan, windowScores } from './step-harness';

const C = 3;
const CHANNELS = ['a', 'b', 'c'];
const OUTPUTS = ['score', 'channel_score', 'mean', 'std'] as const;


/**
 * Scores `plan` through a StepScorer in batches of the given sizes, the series' frames stacked in
 * one `[sum T, C]` array; returns every output per planned window.
 */
async function stepScores(bytes: Uint8Array, series: Float32Array[], window: number, plan: Plan, batchSizes: number[], activityStd?: ArrayLike<number>, tails = false): Promise<{ out: Record<string, Float32Array>; scorer: StepScorer }> {
  const layout = parseStepLayout(new Map(onnx.ModelProto.decode(bytes).metadataProps.map((p) => [p.key!, p.value!])).get(STEP_LAYOUT_KEY), 'step');
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  // The tails form as the inference worker makes it (`src/infer/step-tails.ts`).
  const tailBytes = tails ? tailStepGraph(bytes, layout) : undefined;
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
  const outputs = activityStd ? [...OUTPUTS, 'channel_activity'] : OUTPUTS;
  const scorer = new StepScorer(session, ort.Tensor, layout, { window, channels: C, slots: series.length, outputs, ...(activityStd ? { activityStd } : {}), ...(tailSession ? { tailSession } : {}) });
  const out: Record<string, Float32Array> = {};
  try {
    let at = 0;
    for (let b = 0; at < plan.length; b++) {
      const n = Math.min(batchSizes[b % batchSizes.length]!, plan.length - at);
      const part = plan.slice(at, at + n);
      // `score` into an array of the caller's (as the worker's outbox slot), the others allocated.
      const into = { score: new Float32Array(n), channel_score: new Float32Array(n * C + 1) };
      const got = await scorer.score(
        n,
        Int32Array.from(part, ([s]) => s),
        Float64Array.from(part, ([, t]) => t),
        stacked,
        Int32Array.from(part, ([s, t]) => base[s]! + t),
        into,
      );
      assert.equal(got.score, into.score, 'writes into the array given');
      assert.notEqual(got.channel_score, into.channel_score, 'an array of another length is not written into');
      for (const name of outputs) {
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

/** Each planned window's mean absolute step per channel over std (the window graph's `channel_activity`), by loops. */
function activityByLoops(series: Float32Array[], window: number, plan: Plan, std: ArrayLike<number>): Float32Array {
  const out = new Float32Array(plan.length * C);
  plan.forEach(([k, s], n) => {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let t = s + 1; t < s + window; t++) sum += Math.abs(series[k]![t * C + c]! - series[k]![(t - 1) * C + c]!);
      out[n * C + c] = sum / (window - 1) / std[c]!;
    }
  });
  return out;
}

/**
 * The same step graph in the form exported before per-layer columns: one flat `columns` output,
 * layer after layer a `[T, B, in]` block (each `columns_l` flattened and joined), which the scorer
 * still reads.
 */
function flatColumnsGraph(bytes: Uint8Array, layers: number): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph!;
  const flat = onnx.TensorProto.create({ name: 'test_flat_shape', dataType: 7, dims: [1], rawData: new Uint8Array(new BigInt64Array([-1n]).buffer) });
  g.initializer!.push(flat);
  const parts = Array.from({ length: layers }, (_, l) => {
    g.node!.push(onnx.NodeProto.create({ opType: 'Reshape', name: `test_flat_${l}`, input: [stepColumns(l), 'test_flat_shape'], output: [`test_flat_${l}`] }));
    return `test_flat_${l}`;
  });
  g.node!.push(onnx.NodeProto.create({ opType: 'Concat', name: 'test_columns', input: parts, output: [STEP_IO.columns], attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 })] }));
  g.output = g.output!.filter((o) => !/^columns_\d+$/.test(o.name!));
  g.output.push(onnx.ValueInfoProto.create({ name: STEP_IO.columns, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: 'n' }] } } } }));
  return onnx.ModelProto.encode(model).finish();
}


describe('training/dc-vae step graph', function () {
  this.timeout(120_000);

  before(async () => {
    await initBackend();
  });

  it('is declared exact only when the window covers the whole network (encoder and decoder)', () => {
    assert.equal(dcVaeNetworkField({ kernelSize: 2, depth: 6 }), 127);
    assert.equal(dcVaeStepExact(resolveDcVaeConfig({}, C)), true, 'the default (window 64, depth 5) reaches 63 frames back: it has a step graph');
    assert.equal(dcVaeStepExact(resolveDcVaeConfig({ depth: 6 }, C)), false, 'depth 6 reaches 127 frames back');
    assert.equal(dcVaeStepExact(resolveDcVaeConfig({ depth: 6, window: 127 }, C)), true);
  });

  const cases: [string, Partial<DcVaeConfig>][] = [
    ['window 16, depth 3, kernel 2, relu', { window: 16, depth: 3, filters: 6, latent: 2 }],
    ['window 13, depth 2, kernel 3, tanh', { window: 13, depth: 2, kernelSize: 3, filters: 5, latent: 1, activation: 'tanh' }],
  ];
  cases.forEach(([name, partial], i) => {
    it(`gives the window graph's score, channel_score, mean and std on every stride-1 window within 1e-5 (${name})`, async () => {
      const config = resolveDcVaeConfig(partial, C);
      assert.ok(dcVaeStepExact(config));
      const W = config.window;
      const series = [sineMixture(150, C, 1), sineMixture(150, C, 2), sineMixture(90, C, 3)];
      const scaler = fitScaler(series[0]!, C);
      const model = buildDcVae(config);
      try {
        scrambleWeights(model, 40 + i, 0.5);
        const windowBytes = exportDcVae(model, config, CHANNELS, scaler);
        const stepBytes = exportDcVaeStep(model, config, CHANNELS, scaler);
        // Series 0 and 1 tick together (aligned rounds); series 2 starts 40 frames later; series 1
        // skips windows 60..69 (a gap: the state starts over) and has window 30 scored twice.
        const plan: Plan = [];
        for (let t = 0; t + W <= 150; t++) {
          plan.push([0, t]);
          if (t < 60 || t >= 70) plan.push([1, t]);
          if (t === 31) plan.push([1, 30]);
          if (t >= 40 && t - 40 + W <= 90) plan.push([2, t - 40]);
        }
        const ref = await windowScores(windowBytes, series, plan, C, OUTPUTS);
        const { out, scorer } = await stepScores(stepBytes, series, W, plan, [1, 7, 3, 64, 2, 250], scaler.std);
        for (const o of OUTPUTS) {
          const d = maxRelDiff(out[o]!, ref[o]!);
          assert.ok(d <= 1e-5, `${o} differs by ${d}`);
        }
        // Each layer's columns are an output of the node that computes them (no copy to make them
        // an output), and a graph with the one flat `columns` output of before scores the same.
        const layers = scorer.states.layout.layers.length;
        const nodes = onnx.ModelProto.decode(stepBytes).graph!.node!;
        for (let l = 0; l < layers; l++) {
          const producer = nodes.find((n) => n.output!.includes(stepColumns(l)));
          assert.ok(producer && !['Identity', 'Reshape', 'Concat'].includes(producer.opType!), `columns_${l} made by ${producer?.opType}`);
        }
        const flatBytes = flatColumnsGraph(stepBytes, layers);
        const flat = await stepScores(flatBytes, series, W, plan, [1, 7, 3, 64, 2, 250], scaler.std);
        // A graph of before the per-layer columns has no tails form (its columns come back whole).
        assert.equal(tailStepGraph(flatBytes, scorer.states.layout), undefined);
        for (const o of OUTPUTS) assert.deepEqual(flat.out[o], out[o], `${o} through the flat columns output`);
        // Calls in which every series advances by the same frames through the tails form (only the
        // frames the rings keep come back), the others through the graph itself: the same bits.
        const tailed = await stepScores(stepBytes, series, W, plan, [1, 7, 3, 64, 2, 250], scaler.std, true);
        for (const o of [...OUTPUTS, 'channel_activity']) assert.deepEqual(tailed.out[o], out[o], `${o} with the tails form`);
        assert.ok(tailed.scorer.tailRuns > 0 && tailed.scorer.tailRuns < tailed.scorer.runs, `${tailed.scorer.tailRuns} of ${tailed.scorer.runs} calls through the tails form`);
        // The activity the worker keeps per series (running sums) against its definition.
        const activity = maxRelDiff(out['channel_activity']!, activityByLoops(series, W, plan, scaler.std));
        assert.ok(activity <= 1e-5, `channel_activity differs by ${activity}`);
        assert.ok(scorer.steps < plan.length + 4 * W + 40, `${scorer.steps} steps for ${plan.length} windows: the state is reused, not rebuilt per window`);
        assert.equal(scorer.states.bytesPerSeries, 4 * stepSizes(scorer.states.layout).state);
      } finally {
        model.dispose();
      }
    });
  });

  it('differs from the window graph where the window is shorter than the network (why those models keep the window path)', async () => {
    const config = resolveDcVaeConfig({ window: 8, depth: 3, filters: 6, latent: 2 }, C);
    assert.equal(dcVaeStepExact(config), false);
    const frames = sineMixture(60, C, 5);
    const scaler = fitScaler(frames, C);
    const model = buildDcVae(config);
    try {
      scrambleWeights(model, 7, 0.5);
      const plan: Plan = Array.from({ length: 60 - 8 + 1 }, (_, t) => [0, t]);
      const ref = await windowScores(exportDcVae(model, config, CHANNELS, scaler), [frames], plan, C, OUTPUTS);
      const { out } = await stepScores(exportDcVaeStep(model, config, CHANNELS, scaler), [frames], 8, plan, [5]);
      // The first window starts from the zero padding on both paths; later ones do not.
      assert.ok(Math.abs(out['score']![0]! - ref['score']![0]!) <= 1e-5 * Math.max(1, Math.abs(ref['score']![0]!)));
      assert.ok(maxRelDiff(out['score']!, ref['score']!) > 1e-3);
    } finally {
      model.dispose();
    }
  });

  it('refuses a damaged layout', () => {
    assert.throws(() => parseStepLayout('[{"in": 3, "dilation": 1, "kernel": 1}]', 'x.onnx'), /kernel >= 2/);
    assert.throws(() => parseStepLayout('nope', 'x.onnx'), (e: unknown) => (e as { code?: string }).code === 'ERR_MODEL_CORRUPT');
    assert.deepEqual(parseStepLayout('[{"in": 3, "dilation": 2, "kernel": 2}]', 'x.onnx'), { layers: [{ in: 3, dilation: 2, kernel: 2 }] });
  });
});
