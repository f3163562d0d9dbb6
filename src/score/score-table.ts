import type { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';

let tables = 0;

/** Every window of one series scored by a detector, in time order. */
export interface TableScores {
  /** Row (0-based, in the input) of each window's last frame. */
  endRows: Int32Array;
  /** `[N]`. */
  scores: Float32Array;
  /** `[N, C]` row-major. */
  channelScores: Float32Array;
  /** `[N, C]` row-major: each channel's attribution (see `ScoredBatch.attribution`), higher = more to blame. */
  attribution: Float32Array;
  /** 1 where the detector's threshold rule called the window an anomaly. */
  anomalies: Uint8Array;
  /** The score threshold in force when each window was decided (NaN for rules without one). */
  thresholds: Float64Array;
}

/**
 * Streams a whole recorded series through a detector, as a live feed would arrive, and collects
 * every window's score. `seriesId` must be new to the detector (default: a fresh one).
 * @param time `[T]` strictly increasing timestamps (any unit).
 * @param frames `[T, C]` row-major, in the detector's channel order.
 * @param options.chunk frames per `write` call (the size of the batches an ingestion service receives).
 */
export async function scoreTable(detector: Detector, time: Float64Array, frames: Float32Array, options: { seriesId?: string; chunk?: number; onProgress?: (rows: number) => void } = {}): Promise<TableScores> {
  const seriesId = options.seriesId ?? `table-${++tables}`;
  const C = detector.channels.length;
  const T = time.length;
  if (T < detector.window) {
    throw new SeismoError('ERR_BAD_SHAPE', `the series has ${T} rows, fewer than one window of ${detector.window}`);
  }
  const expected = Math.floor((T - detector.window) / detector.stride) + 1;
  const endRows = new Int32Array(expected);
  const scores = new Float32Array(expected);
  const channelScores = new Float32Array(expected * C);
  const attribution = new Float32Array(expected * C);
  const anomalies = new Uint8Array(expected);
  const thresholds = new Float64Array(expected);
  let n = 0;
  const unsubscribe = detector.on('batch', (batch) => {
    for (let i = 0; i < batch.size; i++) {
      if (batch.seriesIds[i] !== seriesId) continue;
      const w = (batch.starts[i]! / detector.stride) | 0;
      endRows[w] = batch.starts[i]! + detector.window - 1;
      scores[w] = batch.scores[i]!;
      anomalies[w] = batch.anomalies[i]!;
      thresholds[w] = batch.thresholds[i]!;
      channelScores.set(batch.channelScores.subarray(i * C, (i + 1) * C), w * C);
      attribution.set(batch.attribution.subarray(i * C, (i + 1) * C), w * C);
      n++;
    }
  });
  try {
    const chunk = options.chunk ?? 1024;
    for (let r = 0; r < T; r += chunk) {
      const end = Math.min(T, r + chunk);
      await detector.write(seriesId, time.subarray(r, end), frames.subarray(r * C, end * C));
      options.onProgress?.(end);
    }
    await detector.flush();
  } finally {
    unsubscribe();
  }
  if (n !== expected) {
    throw new SeismoError('ERR_INFERENCE', `scored ${n} windows of ${expected}: ${detector.stats().windowsDropped} were dropped`);
  }
  return { endRows, scores, channelScores, attribution, anomalies, thresholds };
}
