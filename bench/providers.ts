/**
 * Execution providers side by side (`seismo bench providers`): for each provider and batch size,
 * onnxruntime alone and the whole pipeline (through {@link runThroughput}, so the figures are the
 * same kind as the CPU throughput bench), and the parity of the scores with the CPU provider's on
 * the same windows. Made for the GPU check (WebGPU through Vulkan; CUDA where its libraries are
 * installed); on a machine without the provider the row says why it could not start instead.
 * At stride 1 a window is one new point per series, so windows/s is also points/s.
 */
import * as ort from 'onnxruntime-node';
import { createSession, type ProviderRequest } from '../src/infer/providers.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { runThroughput, type ThroughputResult } from './throughput.js';

export interface ProvidersBenchOptions {
  /** Model directory (required: the bench compares providers on one model). */
  model: string;
  /** Providers to compare; the first one is the parity reference. Default `['cpu', 'webgpu']`. */
  providers?: ProviderRequest[];
  /** Windows per inference call. Default `[256, 1024, 4096]`. */
  batchSizes?: number[];
  /** Alternating rounds per figure (medians). Default 3. */
  rounds?: number;
  /** Seconds per round. Default 2. */
  seconds?: number;
  log?: (line: string) => void;
}

export interface ProviderRow {
  /** Provider asked for. */
  requested: ProviderRequest;
  /** Provider that ran (from onnxruntime's session), or undefined when it could not start. */
  provider?: string;
  batchSize: number;
  ortWindowsPerSec?: number;
  pipelineWindowsPerSec?: number;
  /** Largest |score - reference score| over the parity windows. */
  maxAbsScoreDiff?: number;
  /** The same, relative to the reference score's magnitude (max over windows). */
  maxRelScoreDiff?: number;
  /** Why the provider could not run. */
  error?: string;
}

export interface ProvidersBenchResult {
  model: { dir: string; kind: string; window: number; channels: number };
  rows: ProviderRow[];
}

/** Scores of `n` stride-1 windows of a fixed synthetic span under one provider. */
async function scoresUnder(onnx: Uint8Array, provider: ProviderRequest, frames: Float32Array, window: number, channels: number, n: number): Promise<{ scores: Float32Array; provider: string }> {
  const { session, report } = await createSession(onnx, { provider });
  try {
    const starts = BigInt64Array.from({ length: n }, (_, i) => BigInt(i));
    const out = await session.run({
      frames: new ort.Tensor('float32', frames.subarray(0, (n + window - 1) * channels), [n + window - 1, channels]),
      starts: new ort.Tensor('int64', starts, [n]),
    }, ['score']);
    return { scores: Float32Array.from(out.score!.data as Float32Array), provider: report.provider };
  } finally {
    await session.release();
  }
}

export async function runProvidersBench(options: ProvidersBenchOptions): Promise<ProvidersBenchResult> {
  const log = options.log ?? (() => {});
  const providers = options.providers ?? ['cpu', 'webgpu'];
  const batchSizes = options.batchSizes ?? [256, 1024, 4096];
  const model = readModelDir(options.model);
  const W = model.manifest.window;
  const C = model.manifest.channels.length;
  const parityWindows = 1024;
  const span = generateSeries({ length: parityWindows + W, channels: C, seed: 3, anomalies: [] }).table.frames;
  const reference = await scoresUnder(model.onnx, providers[0]!, span, W, C, parityWindows);
  const rows: ProviderRow[] = [];
  for (const requested of providers) {
    let parity: { abs: number; rel: number } | undefined;
    try {
      const { scores } = await scoresUnder(model.onnx, requested, span, W, C, parityWindows);
      let abs = 0;
      let rel = 0;
      for (let i = 0; i < parityWindows; i++) {
        const d = Math.abs(scores[i]! - reference.scores[i]!);
        abs = Math.max(abs, d);
        rel = Math.max(rel, d / Math.max(Math.abs(reference.scores[i]!), 1e-12));
      }
      parity = { abs, rel };
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      log(`${requested}: cannot start (${message})`);
      for (const batchSize of batchSizes) rows.push({ requested, batchSize, error: message });
      continue;
    }
    for (const batchSize of batchSizes) {
      let r: ThroughputResult;
      try {
        r = await runThroughput({ model: options.model, batchSize, provider: requested, rounds: options.rounds ?? 3, seconds: options.seconds ?? 2 });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log(`${requested} batch ${batchSize}: ${message}`);
        rows.push({ requested, batchSize, error: message });
        continue;
      }
      const row: ProviderRow = {
        requested,
        provider: r.provider,
        batchSize,
        ortWindowsPerSec: r.ortWindowsPerSec,
        pipelineWindowsPerSec: r.pipelineWindowsPerSec,
        maxAbsScoreDiff: parity.abs,
        maxRelScoreDiff: parity.rel,
      };
      log(`${requested} (${r.provider}) batch ${batchSize}: ort ${r.ortWindowsPerSec.toFixed(0)} windows/s, pipeline ${r.pipelineWindowsPerSec.toFixed(0)} windows/s, parity ${parity.abs.toExponential(2)}`);
      rows.push(row);
    }
  }
  return { model: { dir: options.model, kind: model.manifest.kind, window: W, channels: C }, rows };
}
