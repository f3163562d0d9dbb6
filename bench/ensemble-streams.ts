/**
 * The power-demand and KDD streams (bench/streams.ts) in the online mode: no model trained on a
 * head; the `ensemble` scorer (src/score/ensemble.ts) learns from the first frame, its warm-up
 * being the frames of the head that the static protocol trains on, and every window after the
 * head is scored by the maximum of its frames' scores. Same windows and labels as the static
 * protocol, so the window-level ROC AUC sits beside its figures.
 *
 *   npx tsx bench/ensemble-streams.ts <datasets-root> [power smtp-http ...]
 */
import path from 'node:path';
import { rocAuc } from '../src/evaluate/index.js';
import { EnsembleScorer, type EnsembleOptions } from '../src/score/ensemble.js';
import { prepare, STREAM_EXPERIMENTS, type StreamExperiment } from './streams.js';

export interface EnsembleStreamResult {
  experiment: StreamExperiment;
  setting: string;
  rocAuc: number;
  windows: number;
  anomalousWindows: number;
  seconds: number;
}

export async function runEnsembleStream(experiment: StreamExperiment, data: string, setting: { name: string; options: EnsembleOptions }): Promise<EnsembleStreamResult> {
  const s = await prepare(experiment, data);
  const C = s.channels.length;
  const T = s.frames.length / C;
  const windows = Math.floor((T - s.window) / s.stride) + 1;
  const headWindows = Math.floor(windows * s.headFraction);
  const warmup = Math.max(headWindows * s.stride, 2);
  const t0 = performance.now();
  const scorer = new EnsembleScorer(C, { ...setting.options, contexts: (setting.options.contexts ?? [{}]).map((c) => ({ ...c, warmup })), deep: null });
  const perFrame = new Float64Array(T);
  for (let t = 0; t < T; t++) perFrame[t] = scorer.update(s.frames, undefined, t * C);
  const scores: number[] = [];
  const labels: number[] = [];
  for (let w = headWindows; w < windows; w++) {
    let max = -Infinity;
    let label = 0;
    for (let r = w * s.stride; r < w * s.stride + s.window; r++) {
      if (perFrame[r]! > max) max = perFrame[r]!;
      if (s.labels[r]) label = 1;
    }
    scores.push(max);
    labels.push(label);
  }
  return {
    experiment,
    setting: setting.name,
    rocAuc: rocAuc(Uint8Array.from(labels), Float64Array.from(scores)),
    windows: labels.length,
    anomalousWindows: labels.reduce((a, b) => a + b, 0),
    seconds: (performance.now() - t0) / 1000,
  };
}

async function main(): Promise<void> {
  const root = process.argv[2] ?? '/work/shared/datasets';
  const experiments = (process.argv.length > 3 ? process.argv.slice(3) : ['power', 'smtp-http']) as StreamExperiment[];
  const settings = [
    { name: 'default (L8-o1-s200)', options: {} },
    { name: 'no suppression (L8-o1-s0)', options: { suppress: 0 } },
    { name: 'L8-o1-s0 + linear forecaster', options: { suppress: 0, forecast: {} } },
  ];
  for (const e of experiments) {
    if (!STREAM_EXPERIMENTS.includes(e)) throw new Error(`unknown stream ${e}`);
    const data = path.join(root, e === 'power' ? 'power_demand' : 'kdd99');
    for (const setting of settings) {
      const r = await runEnsembleStream(e, data, setting);
      console.log(`${e.padEnd(10)} ${setting.name.padEnd(30)} ROC AUC ${r.rocAuc.toFixed(4)} over ${r.windows} windows (${r.anomalousWindows} anomalous), ${r.seconds.toFixed(1)} s`);
    }
  }
}

if (require.main === module) void main();
