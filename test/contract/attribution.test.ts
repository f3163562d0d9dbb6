// The attribution contract every registered kind keeps: on a generated series with single-channel
// anomalies of each type planted on known channels, the detector's attribution names the right
// channel first in most anomalous rows (HitRate@100%, src/evaluate/hitrate.ts), the graph's
// model-free `channel_activity` equals its host twin, and training stores each channel's normal
// error and activity statistics with the calibration. The slow sweep over seeds and series
// families is `seismo bench attribution` (bench/attribution.ts, figures in docs/benchmarks.md).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchCase, measureKind, plantedSeries, SINGLE_CHANNEL_TYPES, type KindAttribution } from '../../bench/attribution.js';
import { Detector } from '../../src/detector/index.js';
import type { AnomalyEvent, DetectorOptions } from '../../src/detector/types.js';
import { readModelDir, writeCalibration } from '../../src/model/model-dir.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { channelTermOf, termAverageOf, windowActivity } from '../../src/score/channel-terms.js';
import { trainToDir } from '../../training/train-to-dir.js';
import { initBackend } from '../../training/backend.js';
import { applyScaler } from '../../training/fit.js';
import { listKinds } from '../../training/index.js';
import { runModel } from '../helpers/ort-run.js';

/** Kinds the issue holds to HitRate@100% >= 0.85 in the benchmark; the contract asks 0.8 of them on this one series. */
const DEEP_KINDS = new Set(['lstm-ae', 'dc-vae', 'deepant']);
const series = plantedSeries({ seed: 3, family: 'service' });
const C = series.table.channels.length;

/** Streams the planted series through a stride-1 detector on model `dir`; `listen` attaches its listeners first. */
async function streamSeries(dir: string, options: DetectorOptions, listen: (detector: Detector) => void): Promise<void> {
  const detector = await Detector.load(dir, { provider: 'cpu', stride: 1, ...options });
  listen(detector);
  try {
    await detector.write('s', series.table.time, series.table.frames);
    await detector.flush();
  } finally {
    await detector.close();
  }
}

describe('contract: channel attribution of every registered kind', function () {
  this.timeout(180_000);
  before(async () => {
    await initBackend();
  });

  for (const kind of listKinds()) {
    it(`${kind}: names the planted channel first in most anomalous rows, stores channel statistics, and its channel_activity matches the host formula`, async () => {
      let events: AnomalyEvent[] = [];
      const result: KindAttribution = await measureKind(kind, series, { seed: 3, family: 'service' }, { inspect: async (dir) => {
        const model = readModelDir(dir);
        const stats = model.calibration?.channels;
        assert.ok(stats, 'calibration.json holds per-channel statistics');
        assert.equal(stats.center.length, C);
        assert.equal(stats.activity?.center.length, C, 'and activity statistics (window >= 3)');
        // The kinds that score one frame per window keep a running mean of each channel's error
        // term, and their statistics say so; the others use none.
        assert.equal(stats.average ?? 1, termAverageOf(model.manifest.score.definition));
        assert.equal(stats.term, channelTermOf(model.manifest.score.definition));
        if (kind === 'dc-vae' || kind === 'deepant') assert.ok(stats.average !== undefined && stats.average < 1, `${kind} averages its one-frame error terms`);
        // The graph's channel_activity is the host formula on the scaled frames.
        const W = model.manifest.window;
        const span = series.table.frames.subarray(0, 200 * C);
        const starts = Array.from({ length: 200 - W + 1 }, (_, i) => i);
        const out = await runModel(model.onnx, span, C, starts);
        const host = windowActivity(applyScaler(span, model.manifest.scaler), C, W, starts);
        const graph = out['channel_activity']!.data;
        let worst = 0;
        for (let i = 0; i < host.length; i++) worst = Math.max(worst, Math.abs(graph[i]! - host[i]!) / Math.max(1e-3, host[i]!));
        assert.ok(worst < 1e-3, `channel_activity differs from the host formula by ${worst} (relative)`);
        // Events name channels by attribution, with shares that add up to at most 1.
        events = [];
        await streamSeries(dir, { topChannels: C }, (detector) => detector.on('anomaly', (e) => events.push(e)));
      } });
      assert.equal(result.source, 'channel-z');
      const single = result.attribution['single']!;
      assert.ok(single.rows > 300, `${single.rows} anomalous rows evaluated`);
      const bar = DEEP_KINDS.has(kind) ? 0.8 : 0.5;
      assert.ok(single.hitRate100 >= bar, `${kind}: HitRate@100% ${single.hitRate100.toFixed(3)} on single-channel anomalies (bar ${bar}; raw shares ${result.raw['single']!.hitRate100.toFixed(3)})`);
      // The case raw shares miss: a stuck sensor is easy to reconstruct, its activity is not normal.
      assert.ok(result.attribution['stuck']!.hitRate100 >= 0.8, `${kind}: stuck sensors named in ${result.attribution['stuck']!.hitRate100.toFixed(3)} of their rows`);
      // Broken correlations, which a one-frame error term hardly shows in any single window: the
      // running mean of DC-VAE's and DeepAnT's terms is what names them (DeepAnT on this series:
      // 0.62 without it, 0.80 with it).
      if (kind === 'dc-vae' || kind === 'deepant') assert.ok(result.attribution['correlation']!.hitRate100 >= 0.7, `${kind}: broken correlations named in ${result.attribution['correlation']!.hitRate100.toFixed(3)} of their rows`);
      for (const type of SINGLE_CHANNEL_TYPES) assert.ok(result.attribution[type]!.rows > 0, `${type} planted and evaluated`);
      assert.ok(events.length > 0, 'the planted anomalies raise events');
      for (const e of events) {
        assert.equal(e.attribution, 'channel-z');
        assert.equal(e.channels.length, C);
        const total = e.channels.reduce((a, c) => a + c.score, 0);
        assert.ok(Math.abs(total - 1) < 1e-5, `shares sum to ${total}`);
        for (let k = 1; k < C; k++) assert.ok(e.channels[k - 1]!.score >= e.channels[k]!.score - 1e-7, 'most anomalous first');
      }
    });
  }

  it('deepant with Bahdanau attention: names the planted channel, and its attention weights over past steps come with every batch and event', async () => {
    const batches: { steps?: number; rows: Float32Array | undefined }[] = [];
    let events: AnomalyEvent[] = [];
    const { kind, config } = benchCase('deepant-bahdanau');
    const result = await measureKind('deepant-bahdanau', series, { seed: 3, family: 'service' }, { config, inspect: async (dir) => {
      const model = readModelDir(dir);
      assert.equal(model.manifest.kind, kind);
      assert.ok(model.manifest.onnx.outputs.includes('attention'), 'the manifest names the attention output');
      await streamSeries(dir, {}, (detector) => {
        detector.on('batch', (b) => batches.push({ steps: b.attentionSteps, rows: b.attention }));
        detector.on('anomaly', (e) => events.push(e));
      });
    } });
    assert.ok(result.attribution['single']!.hitRate100 >= 0.8, `HitRate@100% ${result.attribution['single']!.hitRate100.toFixed(3)}`);
    // window 16, horizon 1, pool 2: 15 -> 7 -> 3 pooled steps.
    assert.ok(batches.length > 0 && batches.every((b) => b.steps === 3 && b.rows !== undefined));
    for (const b of batches) for (let i = 0; i < b.rows!.length / 3; i++) assert.ok(Math.abs(b.rows![i * 3]! + b.rows![i * 3 + 1]! + b.rows![i * 3 + 2]! - 1) < 1e-5);
    assert.ok(events.length > 0);
    for (const e of events) assert.equal(e.attention?.length, 3);
  });

  it('a model without channel statistics ranks by raw shares, says so, then learns them from the stream', async () => {
    let sources: string[] = [];
    await measureKind('pca', series, { seed: 3, family: 'service' }, { inspect: async (dir) => {
      const model = readModelDir(dir);
      const { channels: _dropped, ...old } = model.calibration!;
      writeCalibration(dir, old); // as written before seismo stored channel statistics
      assert.equal(readModelDir(dir).calibration?.channels, undefined);
      const detector = await Detector.load(dir, { provider: 'cpu', stride: 1, batchSize: 16, attribution: { warmup: 32 } });
      detector.on('batch', (b) => sources.push(b.attributionSource));
      try {
        await detector.write('s', series.table.time.subarray(0, 400), series.table.frames.subarray(0, 400 * C));
        await detector.flush();
      } finally {
        await detector.close();
      }
    } });
    assert.equal(sources[0], 'raw-share');
    assert.equal(sources.at(-1), 'channel-z');
  });
});

describe('attribution through the DC-VAE step graph', function () {
  this.timeout(180_000);
  it('equals the window graph\'s on every window (channel_activity kept per series by the inference worker)', async () => {
    const C3 = 3;
    const W = 16;
    const train = generateSeries({ length: 400, channels: C3, seed: 5, periods: [24, 7], anomalies: [] });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-attr-step-'));
    try {
      await trainToDir('dc-vae', train.table.frames, train.table.channels, dir, { config: { window: W, depth: 3, filters: 6, latent: 2, epochs: 1, batchSize: 32 }, seed: 3 });
      assert.ok(readModelDir(dir).step, 'the model has a step graph');
      // Six series ticking together, two with a stuck channel, so batches serve several series per step call.
      const series = [1, 2, 3, 4, 5, 6].map((seed) => generateSeries({ length: 90, channels: C3, seed, periods: [24, 7], anomalies: seed % 3 === 0 ? [{ kind: 'stuck', start: 40, length: 30, channels: [seed % C3] }] : [] }).table.frames);
      const run = async (stepGraph: boolean) => {
        // Fixed statistics (no online tracking), so each window's attribution depends on its series alone.
        const detector = await Detector.load(dir, { maxSeries: 8, batchSize: 24, stepGraph, attribution: { rate: 0 } });
        const out = new Map<string, Float32Array>();
        detector.on('batch', (b) => {
          for (let i = 0; i < b.size; i++) out.set(`${b.seriesIds[i]}@${b.starts[i]}`, b.attribution.slice(i * C3, (i + 1) * C3));
        });
        try {
          for (let t = 0; t < 90; t++) {
            for (let k = 0; k < series.length; k++) {
              await detector.drain();
              detector.push(`s${k}`, t, series[k]!.subarray(t * C3, (t + 1) * C3));
            }
          }
          await detector.flush();
          return { out, stepped: detector.stats().windowsStepped };
        } finally {
          await detector.close();
        }
      };
      const step = await run(true);
      const window = await run(false);
      assert.ok(step.stepped > 0 && window.stepped === 0);
      assert.equal(step.out.size, window.out.size);
      for (const [key, ref] of window.out) {
        const got = step.out.get(key)!;
        for (let c = 0; c < C3; c++) assert.ok(Math.abs(got[c]! - ref[c]!) <= 1e-3 * Math.max(1, Math.abs(ref[c]!)), `${key} channel ${c}: ${got[c]} vs ${ref[c]}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
