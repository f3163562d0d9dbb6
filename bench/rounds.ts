/**
 * The measuring pieces the throughput-side benches share: the reference model, onnxruntime alone on
 * a prepared batch, and a detector fed in blocks as an ingestion service feeds it. Each bench keeps
 * its own rounds and figures; these only make sure they all measure the same thing the same way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Detector } from '../src/detector/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { trainToDir } from '../training/train-to-dir.js';

/** Writes the reference model of the throughput benches into `dir`: an LSTM-AE (window 64, 8 channels, encoder 32, decoder 16) trained 1 epoch. */
export async function trainReferenceModel(dir: string, log: (line: string) => void): Promise<void> {
  log('training the reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16) for 1 epoch: its weights only need to exist');
  const data = generateSeries({ length: 1024, channels: 8, seed: 1, anomalies: [] });
  await trainToDir('lstm-ae', data.table.frames, data.table.channels, dir, {
    config: { window: 64, encoderUnits: [32], decoderUnits: [16], epochs: 1, validationSplit: 0 },
    stride: 4,
  });
}

/** Runs `work` on `model`, or on the reference model trained into a temporary folder (removed afterwards) when none is given. */
export async function withReferenceModel<T>(model: string | undefined, log: (line: string) => void, work: (dir: string) => Promise<T>): Promise<T> {
  if (model) return work(model);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-'));
  try {
    await trainReferenceModel(tmp, log);
    return await work(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** What {@link ortRounds} feeds the graph. */
export interface OrtBatch {
  /** Frames, row-major `[rows, channels]`; the span is cut from its start. */
  stream: Float32Array;
  /** Frames per window. */
  window: number;
  channels: number;
  /** Windows per call (stride 1, all from one span of `batch + window - 1` frames). */
  batch: number;
  /** Length of one round, seconds. */
  seconds: number;
  /** Runs before the first round (session set-up, JIT). Default 20. */
  warmup?: number;
}

/**
 * onnxruntime alone: `session.run` on one prepared batch, the graph contract's `frames` + `starts`
 * as the inference worker sends them. Warms the session, then returns a round: windows/s over
 * `seconds`.
 */
export async function ortRounds(session: ort.InferenceSession, b: OrtBatch): Promise<() => Promise<number>> {
  const rows = b.batch + b.window - 1;
  const feeds = {
    frames: new ort.Tensor('float32', b.stream.slice(0, rows * b.channels), [rows, b.channels]),
    starts: new ort.Tensor('int64', BigInt64Array.from({ length: b.batch }, (_, i) => BigInt(i)), [b.batch]),
  };
  const fetches = ['score', 'channel_score'];
  for (let i = 0; i < (b.warmup ?? 20); i++) await session.run(feeds, fetches);
  return async () => {
    let windows = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < b.seconds * 1000) {
      await session.run(feeds, fetches);
      windows += b.batch;
    }
    return windows / ((performance.now() - t0) / 1000);
  };
}

/** Where a fed stream stands: the next row of the data to send and the next timestamp. */
export interface StreamCursor {
  row: number;
  clock: number;
}

/**
 * Writes `stream` (`[rows, channels]`, wrapping at its end) into one series of `detector` in
 * blocks of `chunk` samples, awaiting each write as an ingestion service would, for `seconds`;
 * then flushes. Returns the windows/s the detector scored meanwhile.
 */
export async function writeChunks(
  detector: Detector,
  seriesId: string,
  stream: Float32Array,
  channels: number,
  seconds: number,
  cursor: StreamCursor,
  chunk = 64,
): Promise<number> {
  const total = stream.length / channels;
  const times = new Float64Array(chunk);
  const before = detector.stats().windowsScored;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    if (cursor.row + chunk > total) cursor.row = 0;
    for (let i = 0; i < chunk; i++) times[i] = cursor.clock++;
    await detector.write(seriesId, times, stream.subarray(cursor.row * channels, (cursor.row + chunk) * channels));
    cursor.row += chunk;
  }
  await detector.flush();
  return (detector.stats().windowsScored - before) / ((performance.now() - t0) / 1000);
}
