/**
 * Replays a recorded series through a detector with an {@link OnlineLearner} and an expert: an
 * {@link ExpertSimulator} (the online protocol of the benchmarks and tests), or a person answering
 * through the label queue's files ({@link answersFromFiles}, what `seismo learn` uses without labels).
 *
 * Pacing: the series is pushed in chunks of `chunk` frames; after each chunk the expert's due
 * answers are given, and when `waitForUpdates` is set, an update that has started is waited for
 * before the next chunk. That models a stream slower than fine-tuning (seconds per update) and
 * makes the figures independent of machine load; without it the stream runs as fast as it can and
 * updates land wherever they finish (scoring never waits for them).
 */
import type { Detector, ScoredBatch } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { rocAuc } from '../evaluate/index.js';
import type { OnlineLearner } from './online.js';

/** Whoever answers the learner's questions; `tick` is called after every chunk pushed. */
export interface Expert {
  /** Gives the learner the answers due at stream position `position` (windows scored; Infinity at the end); returns how many. */
  tick(learner: OnlineLearner, position: number): number;
}

/** A person answering with `seismo label` (the queue folder's answers file): imported after every chunk. */
export function answersFromFiles(): Expert {
  return { tick: (learner) => learner.importAnswers() };
}

/** Options of {@link replayOnline}. */
export interface ReplayOptions {
  /** Series id to push under. Default `replay`. */
  seriesId?: string;
  /** Frames per write. Default: the detector's batch size times its stride. */
  chunk?: number;
  /** Wait for a running update before pushing the next chunk. Default true. */
  waitForUpdates?: boolean;
  /** Called after each chunk with the rows pushed so far. */
  onProgress?: (rows: number) => void;
}

/** Scores as produced online, one per window, and the version that produced each. */
export interface ReplayResult {
  /** `[N]` window scores, window w starting at frame `w * stride`. */
  scores: Float32Array;
  /** `[N]` the scores on one scale across versions (`ScoredBatch.normalizedScores`; NaN where the version had no calibration). */
  normalized: Float32Array;
  /** `[N]` model version that scored each window. */
  versions: Int32Array;
  /** `[N]` 1 where the live rule alarmed. */
  alarms: Uint8Array;
}

/** Streams `frames` (`[T, C]`) with timestamps `time` through `detector`, learning as it goes. */
export async function replayOnline(detector: Detector, learner: OnlineLearner, expert: Expert, time: Float64Array, frames: Float32Array, options: ReplayOptions = {}): Promise<ReplayResult> {
  const seriesId = options.seriesId ?? 'replay';
  const C = detector.channels.length;
  const T = time.length;
  const n = T < detector.window ? 0 : Math.floor((T - detector.window) / detector.stride) + 1;
  const scores = new Float32Array(n).fill(NaN);
  const normalized = new Float32Array(n).fill(NaN);
  const versions = new Int32Array(n);
  const alarms = new Uint8Array(n);
  let seen = 0;
  // A listener's exception does not stop the detector: keep the first and throw it at the end.
  let twice: SeismoError | undefined;
  const tap = (b: ScoredBatch): void => {
    for (let i = 0; i < b.size; i++) {
      if (b.seriesIds[i] !== seriesId) continue;
      const w = b.starts[i]! / detector.stride;
      if (!Number.isNaN(scores[w]!)) {
        twice ??= new SeismoError('ERR_INFERENCE', `window ${w} scored twice`);
        continue;
      }
      scores[w] = b.scores[i]!;
      normalized[w] = b.normalizedScores[i]!;
      versions[w] = b.version;
      alarms[w] = b.anomalies[i]!;
      seen++;
    }
  };
  const unsubscribe = detector.on('batch', tap);
  const chunk = options.chunk ?? detector.batchSize * detector.stride;
  const wait = options.waitForUpdates ?? true;
  try {
    for (let r = 0; r < T; r += chunk) {
      const end = Math.min(T, r + chunk);
      await detector.write(seriesId, time.subarray(r, end), frames.subarray(r * C, end * C));
      expert.tick(learner, learner.stats().windows);
      if (wait) await learner.idle();
      options.onProgress?.(end);
    }
    await detector.flush();
    expert.tick(learner, Infinity);
    if (wait) await learner.idle();
  } finally {
    unsubscribe();
  }
  if (twice) throw twice;
  if (seen !== n) throw new SeismoError('ERR_INFERENCE', `scored ${seen} windows of ${n}`);
  return { scores, normalized, versions, alarms };
}

/**
 * Window-level ROC AUC of a replay: `raw` pools the scores of all versions (each on its own
 * scale); `normalized` uses the one calibrated scale across versions, null when a version that
 * scored some window had no calibration (its windows have no place on that scale).
 * @param labels `[N]` 1 for an anomalous window, in the replay's window order.
 * @throws SeismoError ERR_EVAL when the labels lack one of the classes.
 */
export function replayRocAuc(labels: Uint8Array, r: ReplayResult): { raw: number; normalized: number | null } {
  return { raw: rocAuc(labels, r.scores), normalized: r.normalized.every(Number.isFinite) ? rocAuc(labels, r.normalized) : null };
}
