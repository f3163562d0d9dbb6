/**
 * Score calibration: one scale for the scores of every model version.
 *
 * Each version's raw scores (reconstruction errors, likelihoods, ...) live on their own scale: a
 * fine-tuned version typically reconstructs normal data better and so scores everything lower, a
 * rescaled one differently again. Alerting rules, dashboards and any figure pooled over a hot swap
 * need one scale. A calibration states where a version's *normal* scores lie: the median and the
 * robust spread (1.4826 * MAD; the mean absolute deviation when more than half the scores are
 * equal) of its log scores on normal windows that it was not trained on. The
 * normalised score of a window is then its robust z-score on the log scale,
 *
 *     z = (ln(score) - center) / scale,
 *
 * about 0 for a typical normal window and a few units above for an unusual one, under whichever
 * version produced it. Median and MAD tolerate up to half the reference windows being anomalous,
 * so unlabelled recent windows can serve as the reference.
 *
 * A calibration belongs to a version's graph (a threshold-only recalibration keeps it) and is
 * stored beside the model as `calibration.json` ({@link CALIBRATION_FILE}); the Detector reads it
 * when it loads or swaps in a model and adds `normalizedScores` to every scored batch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import { median } from '../stats/quantile.js';

/** File beside `model.json` holding the version's {@link ScoreCalibration}. */
export const CALIBRATION_FILE = 'calibration.json';

/** Where a version's normal scores lie, on the log scale. */
export interface ScoreCalibration {
  /** Median of ln(score) over the reference windows. */
  center: number;
  /** 1.4826 * median absolute deviation of ln(score) (a standard deviation for Gaussian log scores; 1.2533 * mean absolute deviation when the MAD is degenerate), floored at {@link MIN_SCALE}. */
  scale: number;
  /** Reference windows it was fitted on. */
  windows: number;
  /** What the reference windows were, in words (e.g. `validation windows`, `recent unlabelled windows`). */
  on: string;
}

/** Floor of a calibration's scale: reference scores that are all (nearly) equal must not turn tiny differences into huge z. */
export const MIN_SCALE = 0.05;

const LOG_FLOOR = 1e-12;

/**
 * Fits a calibration to a version's scores of normal reference windows (NaN scores are skipped).
 * @throws SeismoError `ERR_INVALID_OPTION` with fewer than 2 finite scores.
 */
export function fitCalibration(scores: ArrayLike<number>, on: string): ScoreCalibration {
  const logs: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isFinite(s)) logs.push(Math.log(Math.max(s, LOG_FLOOR)));
  }
  if (logs.length < 2) throw new SeismoError('ERR_INVALID_OPTION', `a score calibration needs at least 2 finite reference scores, got ${logs.length}`);
  const center = median(logs);
  const deviations = logs.map((v) => Math.abs(v - center));
  let scale = 1.4826 * median(deviations);
  // More than half the reference scores equal (repeated records): the MAD says nothing about the
  // spread. The usual fallback of modified z-scores: the mean absolute deviation (x 1.2533, also
  // a standard deviation for Gaussian data).
  if (scale < MIN_SCALE) scale = 1.2533 * deviations.reduce((a, d) => a + d, 0) / deviations.length;
  return { center, scale: Math.max(scale, MIN_SCALE), windows: logs.length, on };
}

/** The normalised score of `score` under `calibration` (NaN stays NaN). */
export function normalizeScore(score: number, calibration: ScoreCalibration): number {
  return (Math.log(Math.max(score, LOG_FLOOR)) - calibration.center) / calibration.scale;
}

/** Normalises many scores at once (a new array). */
export function normalizeScores(scores: ArrayLike<number>, calibration: ScoreCalibration): Float32Array {
  const out = new Float32Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = normalizeScore(scores[i]!, calibration);
  return out;
}

/** Reads `calibration.json` from a model directory; undefined when there is none. */
export function readCalibration(dir: string): ScoreCalibration | undefined {
  const file = path.join(dir, CALIBRATION_FILE);
  if (!fs.existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
  }
  return checkCalibration(raw, file);
}

/** Writes `calibration.json` into a model directory (atomically: a detector may be loading it). */
export function writeCalibration(dir: string, calibration: ScoreCalibration): void {
  checkCalibration(calibration, 'calibration');
  writeFileAtomic(path.join(dir, CALIBRATION_FILE), `${JSON.stringify(calibration, null, 2)}\n`);
}

/** Checks the shape of a calibration. @throws SeismoError `ERR_MODEL_CORRUPT`. */
export function checkCalibration(raw: unknown, source: string): ScoreCalibration {
  const c = raw as Partial<ScoreCalibration> | null;
  if (!c || typeof c !== 'object' || !Number.isFinite(c.center) || !(typeof c.scale === 'number' && c.scale > 0 && Number.isFinite(c.scale))) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${source}: a score calibration needs a finite center and a positive scale`, { source });
  }
  return { center: c.center!, scale: c.scale, windows: Number.isFinite(c.windows) ? c.windows! : 0, on: typeof c.on === 'string' ? c.on : '' };
}
