/**
 * `calibration.json` of a model directory: the shape of a score calibration and its check. The
 * math that fits and applies one is the score stage's (`src/score/calibration.ts`); reading and
 * writing the file is the model directory's (`./model-dir.ts`).
 */
import { SeismoError } from '../errors.js';
import type { ChannelCalibration } from '../score/channel-terms.js';
import { CalibrationSchema } from './manifest.js';

/** File of a model directory holding its score calibration. */
export const CALIBRATION_FILE = 'calibration.json';

/** Where a version's normal scores lie, on the log scale (see src/score/calibration.ts for the math). */
export interface ScoreCalibration {
  /** Median of ln(score) over the reference windows. */
  center: number;
  /** 1.4826 * median absolute deviation of ln(score) (or its mean-absolute-deviation fallback), > 0. */
  scale: number;
  /** Reference windows it was fitted on. */
  windows: number;
  /** What the reference windows were, in words (e.g. `validation windows`, `recent unlabelled windows`). */
  on: string;
  /** Per-channel normal error statistics for channel attribution (src/score/attribution.ts), when fitted. */
  channels?: ChannelCalibration;
}

/**
 * Checks a calibration's shape.
 * @param source names it in the error.
 * @throws SeismoError `ERR_MODEL_CORRUPT`.
 */
export function checkCalibration(raw: unknown, source: string): ScoreCalibration {
  const parsed = CalibrationSchema.safeParse(raw);
  if (!parsed.success) throw new SeismoError('ERR_MODEL_CORRUPT', `${source}: a score calibration needs a finite center and a positive scale`, { source });
  return parsed.data;
}

/** The file's text. @throws SeismoError `ERR_MODEL_CORRUPT` as {@link checkCalibration}. */
export function calibrationText(calibration: ScoreCalibration): string {
  return `${JSON.stringify(checkCalibration(calibration, 'calibration'), null, 2)}\n`;
}
