// A small LSTM-AE trained once per test run and shared by the suites that need a real model.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runModel } from './ort-run.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { writeModelDir } from '../../src/model/model-dir.js';
import type { Manifest } from '../../src/model/manifest.js';
import { trainModel } from '../../training/index.js';

export interface TinyModel {
  dir: string;
  manifest: Manifest;
  onnx: Uint8Array;
}

let cached: Promise<TinyModel> | undefined;

/** Window 8, channels 3, encoder [8], decoder [4], 2 epochs on a clean synthetic series. */
export function tinyModel(): Promise<TinyModel> {
  cached ??= (async () => {
    const data = generateSeries({ length: 600, channels: 3, seed: 11, periods: [48, 12], anomalies: [] });
    const result = await trainModel({
      kind: 'lstm-ae',
      frames: data.table.frames,
      channels: data.table.channels,
      config: { window: 8, encoderUnits: [8], decoderUnits: [4], epochs: 2, batchSize: 32 },
      stride: 2,
      seed: 3,
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-test-model-'));
    writeModelDir(dir, result.manifest, result.onnx);
    result.dispose();
    return { dir, manifest: result.manifest, onnx: result.onnx };
  })();
  return cached;
}

/** Scores of every stride-1 window of `frames` (`[T, C]`), computed by onnxruntime directly. */
export async function referenceScores(onnx: Uint8Array, frames: Float32Array, channels: number, window: number): Promise<{ score: Float32Array; channelScore: Float32Array }> {
  const n = frames.length / channels - window + 1;
  const out = await runModel(onnx, frames, channels, Array.from({ length: n }, (_, i) => i));
  return { score: out['score']!.data, channelScore: out['channel_score']!.data };
}

/** Copies a model directory so that a test can damage it. */
export function copyModelDir(dir: string): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-test-copy-'));
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
  return copy;
}
