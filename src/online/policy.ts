/**
 * The online policy: how a detector made with no model directory warms up, learns from the
 * stream, guards against learning anomalies, and treats missing values and gaps. Every field has
 * a default; {@link resolvePolicy} fills and checks them once, so the hot path reads plain numbers.
 */
import { SeismoError } from '../errors.js';
import { tailToNormalized } from '../score/normalize.js';

/** The kinds that can learn online: those whose training loss the fine-tuning worker can continue. */
export const ONLINE_KINDS = ['deepant', 'dc-vae', 'lstm-ae', 'dense-ae'] as const;
export type OnlineKind = (typeof ONLINE_KINDS)[number];

/**
 * What happens to a sample with a missing (NaN, null, non-finite) value in some channel:
 * - `hold`: the channel takes its last seen value (a series' first samples with nothing to hold are skipped); counted in `missingHeld` / `missingSkipped`.
 * - `skip`: the whole sample is left out (counted in `missingSkipped`); the series continues with the next one.
 * - `error`: `push` throws `ERR_NON_FINITE` and stores nothing.
 */
export type MissingPolicy = 'hold' | 'skip' | 'error';

/**
 * What happens when the time since a series' previous sample exceeds `gapFactor` times its usual
 * interval (the median interval of its warm-up samples):
 * - `ignore`: the stream goes on as if contiguous (the gap and its missing steps are counted).
 * - `hold`: the missing steps are filled with the last sample (at most `maxFill` of them, at the usual interval) and scored like the others; counted in `gapFilled`.
 * - `error`: `push` throws `ERR_STREAM_GAP` and stores nothing.
 */
export type GapPolicy = 'ignore' | 'hold' | 'error';

/**
 * When learning runs:
 * - `background`: updates run in the fine-tuning worker while scoring goes on; each version is
 *   swapped in when ready (what a live service wants; where it lands depends on wall time).
 * - `blocking`: scoring of the model's series waits while an update runs, so every update lands
 *   at the same stream position run after run (benchmarks, tests).
 * - `off`: no learning after the initial fit on the warm-up (a frozen model).
 */
export type LearningMode = 'background' | 'blocking' | 'off';

/** The online policy; every field optional. */
export interface OnlinePolicy {
  /**
   * Samples of a series used to warm up before it is scored: its scaler is fitted on them, their
   * windows are the first training data, and its usual sampling interval is their median
   * interval. At least `window + 1`. Default `max(4 * window, 256)`.
   */
  warmup?: number;
  /**
   * Scored samples of a series, right after its warm-up, whose raw scores are reported but not
   * judged: their normalised score is 0, they never alarm, and neither the normaliser nor the
   * alarm rule learns from them. A model fitted on a short warm-up still improves quickly over
   * the next samples; judged at once, those samples would raise early false alarms and teach the
   * normaliser and the threshold a score level the model soon leaves. Default: `warmup`.
   */
  settle?: number;
  /**
   * `shared` (default): one model for every series (they must have the same channels), with
   * per-series state (scaler, normaliser, alarm state). `per-series`: a model (and an inference
   * worker) per series, for a few series of different behaviour; bounded by `maxModels`.
   */
  sharing?: 'shared' | 'per-series';
  /** Most models with `sharing: 'per-series'` (each holds an inference worker thread). Default 16. */
  maxModels?: number;
  /** When learning runs (see {@link LearningMode}). Default `background`. */
  learning?: LearningMode;
  /**
   * Background learning: the most of the wall time the fine-tuning worker may spend updating a
   * model (after an update of d seconds the next waits d * (1 / share - 1) seconds), so that
   * scoring keeps its share of the cores. In (0, 1]; 1 updates back to back. Default 0.5.
   */
  learningShare?: number;
  /** Windows admitted for training (after the guard) between two updates of a model. Default 256. */
  updateEvery?: number;
  /** Most recent admitted windows kept per model and trained on in each update (FIFO). Default 512. */
  trainWindows?: number;
  /**
   * Every `admitEvery`-th window of a series may be admitted for training (stride-1 windows
   * overlap almost entirely; copying each would cost without teaching more). Default 4.
   */
  admitEvery?: number;
  /** Passes over the training windows per update. Default 2. */
  epochs?: number;
  /** Passes over the first warm-up's windows in the initial fit (from fresh weights). Default 15. */
  initialEpochs?: number;
  /** Adam learning rate of every update (a fresh optimizer each time). Default 1e-3. */
  learningRate?: number;
  /** Windows per gradient step. Default 32. */
  batchSize?: number;
  /**
   * The guard against learning anomalies: a window is admitted for training only when no window
   * overlapping it (the `window - 1` before it and after it) reached this normalised score; it is
   * decided `window - 1` samples late, once every overlapping window has been scored. In [0, 1];
   * default: the default normaliser's score for a tail probability of 1% (`tailToNormalized(0.01)`,
   * 1/6): well below an alarm, so near-alarms are kept out too. Lower keeps more out; with
   * stride-1 windows each hot window withdraws its `2 * window - 1` neighbours.
   */
  guardBelow?: number;
  /**
   * Expected false alarms per 10,000 samples of a series: the one knob of the default threshold,
   * the self-calibrating `alarm-rate` rule on the normalised scores (`src/threshold/alarm-rate.ts`).
   * In (0, 200). Default 5.
   */
  alarmsPer10k?: number;
  /** A fixed normalised score at or above which a window is an alarm, instead of `alarmsPer10k`. In (0, 1]. */
  threshold?: number;
  /**
   * Half-life in samples of the per-series scaler's adaptation after warm-up (exponentially
   * weighted mean and variance of the values it admits for training); 0 keeps the warm-up scaler.
   * Default 0.
   */
  scalerHalfLife?: number;
  /** Scaled values are clipped to +- this, so one absurd value cannot overflow a score. Default 100. */
  clip?: number;
  /** Missing values (see {@link MissingPolicy}). Default `hold`. */
  missing?: MissingPolicy;
  /** Time gaps (see {@link GapPolicy}). Default `ignore`. */
  gaps?: GapPolicy;
  /** A step longer than this many usual intervals is a gap. Default 2. */
  gapFactor?: number;
  /** Most samples a `hold` gap fills (a longer gap is filled up to this and counted). Default `window`. */
  maxFill?: number;
  /** A sample whose timestamp is not after the series' previous one: `skip` (counted in `disordered`) or `error` (`ERR_TIMESTAMP_ORDER`). Default `error`. */
  disorder?: 'skip' | 'error';
  /** Seed of weight initialisation and batch order. Default 42. */
  seed?: number;
}

/** {@link OnlinePolicy} with every field filled. */
export type ResolvedPolicy = Required<Omit<OnlinePolicy, 'threshold'>> & Pick<OnlinePolicy, 'threshold'>;

/**
 * Fills the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the field.
 */
export function resolvePolicy(p: OnlinePolicy | undefined, window: number): ResolvedPolicy {
  const o = p ?? {};
  const r: ResolvedPolicy = {
    warmup: o.warmup ?? Math.max(4 * window, 256),
    settle: o.settle ?? o.warmup ?? Math.max(4 * window, 256),
    sharing: o.sharing ?? 'shared',
    maxModels: o.maxModels ?? 16,
    learning: o.learning ?? 'background',
    updateEvery: o.updateEvery ?? 256,
    learningShare: o.learningShare ?? 0.5,
    trainWindows: o.trainWindows ?? 512,
    admitEvery: o.admitEvery ?? 4,
    epochs: o.epochs ?? 2,
    initialEpochs: o.initialEpochs ?? 15,
    learningRate: o.learningRate ?? 1e-3,
    batchSize: o.batchSize ?? 32,
    guardBelow: o.guardBelow ?? tailToNormalized(0.01),
    alarmsPer10k: o.alarmsPer10k ?? 5,
    threshold: o.threshold,
    scalerHalfLife: o.scalerHalfLife ?? 0,
    clip: o.clip ?? 100,
    missing: o.missing ?? 'hold',
    gaps: o.gaps ?? 'ignore',
    gapFactor: o.gapFactor ?? 2,
    maxFill: o.maxFill ?? window,
    disorder: o.disorder ?? 'error',
    seed: o.seed ?? 42,
  };
  const bad = (field: string, want: string, got: unknown): never => {
    throw new SeismoError('ERR_INVALID_OPTION', `online policy ${field} must be ${want}, got ${JSON.stringify(got)}`, { field });
  };
  const posInt = ['warmup', 'maxModels', 'updateEvery', 'trainWindows', 'admitEvery', 'epochs', 'initialEpochs', 'batchSize', 'maxFill'] as const;
  for (const k of posInt) if (!Number.isInteger(r[k]) || r[k] <= 0) bad(k, 'a positive integer', r[k]);
  if (r.warmup <= window) bad('warmup', `more than the window (${window})`, r.warmup);
  if (!Number.isInteger(r.seed)) bad('seed', 'an integer', r.seed);
  if (!Number.isInteger(r.settle) || r.settle < 0) bad('settle', 'a non-negative integer', r.settle);
  if (!(r.learningShare > 0 && r.learningShare <= 1)) bad('learningShare', 'in (0, 1]', r.learningShare);
  if (!(r.learningRate > 0 && Number.isFinite(r.learningRate))) bad('learningRate', 'a positive number', r.learningRate);
  if (!(r.guardBelow >= 0 && r.guardBelow <= 1)) bad('guardBelow', 'in [0, 1]', r.guardBelow);
  if (r.threshold !== undefined && !(r.threshold > 0 && r.threshold <= 1)) bad('threshold', 'in (0, 1]', r.threshold);
  if (!(r.alarmsPer10k > 0 && r.alarmsPer10k < 200)) bad('alarmsPer10k', 'in (0, 200)', r.alarmsPer10k);
  if (!(r.scalerHalfLife >= 0 && Number.isFinite(r.scalerHalfLife))) bad('scalerHalfLife', 'a non-negative number', r.scalerHalfLife);
  if (!(r.clip > 0)) bad('clip', 'a positive number', r.clip);
  if (!(r.gapFactor > 1 && Number.isFinite(r.gapFactor))) bad('gapFactor', 'a number above 1', r.gapFactor);
  if (!['shared', 'per-series'].includes(r.sharing)) bad('sharing', "'shared' or 'per-series'", r.sharing);
  if (!['background', 'blocking', 'off'].includes(r.learning)) bad('learning', "'background', 'blocking' or 'off'", r.learning);
  if (!['hold', 'skip', 'error'].includes(r.missing)) bad('missing', "'hold', 'skip' or 'error'", r.missing);
  if (!['ignore', 'hold', 'error'].includes(r.gaps)) bad('gaps', "'ignore', 'hold' or 'error'", r.gaps);
  if (!['skip', 'error'].includes(r.disorder)) bad('disorder', "'skip' or 'error'", r.disorder);
  return r;
}
