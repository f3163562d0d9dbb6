// A small model with its training weights (so an OnlineLearner can attach), trained once per run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { writeModelDir, writeWeights } from '../../src/model/model-dir.js';
import { trainModel } from '../../training/index.js';

export const W = 8;
export const C = 3;

let cached: Promise<string> | undefined;

/** Window 8, 3 channels, LSTM-AE with weights saved; the directory is shared: copy it before changing it. */
export function learnableModel(): Promise<string> {
  cached ??= (async () => {
    const train = generateSeries({ length: 800, channels: C, seed: 11, periods: [48, 12], anomalies: [] });
    const r = await trainModel({ kind: 'lstm-ae', frames: train.table.frames, channels: train.table.channels, config: { window: W, encoderUnits: [8], decoderUnits: [8], epochs: 4, batchSize: 32, learningRate: 3e-3 }, stride: 2, seed: 3 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-serve-model-'));
    writeModelDir(dir, r.manifest, r.onnx);
    writeWeights(dir, r.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: Float32Array.from(w.dataSync() as Float32Array) })));
    r.dispose();
    return dir;
  })();
  return cached;
}

/** A copy of a model directory (a test may rewrite its model.json). */
export function copyDir(dir: string): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-serve-copy-'));
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
  return copy;
}

/** A stream like the training data with spikes planted every 150 rows from row 100. */
export function spikyStream(length = 3000): { time: Float64Array; frames: Float32Array; labels: Uint8Array } {
  const spikes = Array.from({ length: Math.floor((length - 150) / 150) }, (_, k) => ({ kind: 'spike' as const, start: 100 + k * 150, magnitude: 10 }));
  const s = generateSeries({ length, channels: C, seed: 13, periods: [48, 12], normalPrefix: 0, anomalies: spikes, start: Date.UTC(2024, 0, 1), step: 60000 });
  return { time: s.table.time, frames: s.table.frames, labels: s.labels };
}

/** Rows `[from, to)` as the JSON body `[[t, v1, ..., vC], ...]`. */
export function jsonRows(s: { time: Float64Array; frames: Float32Array }, from: number, to: number): number[][] {
  const rows: number[][] = [];
  for (let r = from; r < to; r++) rows.push([s.time[r]!, ...Array.from(s.frames.subarray(r * C, (r + 1) * C))]);
  return rows;
}

/**
 * Parses Prometheus text exposition format strictly enough to catch a malformed page: every
 * sample line is `name{labels} value`, every metric has HELP and TYPE before its samples, label
 * values are quoted, values are numbers. Returns samples by full name (with labels).
 */
export function parsePrometheus(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples = new Map<string, number>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('the exposition must end with a newline');
  for (const [i, line] of lines.slice(0, -1).entries()) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      helps.add(m[1]!);
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      if (types.has(m[1]!)) throw new Error(`line ${i + 1}: TYPE of ${m[1]} repeats`);
      types.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`line ${i + 1}: unknown comment '${line}'`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?(?:[0-9.]+(?:e[+-]?[0-9]+)?|[Nn][Aa][Nn]|\+Inf|-Inf))( -?[0-9]+)?$/.exec(line);
    // NaN in any case: Prometheus reads values with Go's ParseFloat, and prom-client writes the
    // event-loop-lag gauges as 'Nan' until their first sample.
    if (!m) throw new Error(`line ${i + 1} is not a sample: '${line}'`);
    const name = m[1]!;
    const family = types.has(name) ? name : name.replace(/_(bucket|sum|count|total|created)$/, '');
    if (!types.has(family) && !types.has(name)) throw new Error(`line ${i + 1}: ${name} has no TYPE before it`);
    if (!helps.has(family) && !helps.has(name)) throw new Error(`line ${i + 1}: ${name} has no HELP`);
    samples.set(name + (m[2] ?? ''), Number(m[3]!.replace('+Inf', 'Infinity')));
  }
  return samples;
}
