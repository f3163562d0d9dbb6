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
 * stored beside the model as `calibration.json` (its shape, reading and writing are the model
 * directory's, `src/model/model-dir.ts`); the Detector reads it
 * when it loads or swaps in a model and adds `normalizedScores` to every scored batch.
 */
import { SeismoError } from '../errors.js';
import type { ScoreCalibration } from '../model/model-dir.js';
import { median } from '../stats/quantile.js';

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

