/** The options of an {@link OnlineLearner}, its records and totals, and the defaults. */
import type { ScoreCalibration } from '../model/model-dir.js';
import type { DriftSignal, PageHinkleyOptions } from './drift.js';
import type { WeightTensor } from './finetune-protocol.js';
import type { QueueItem, RejectedAnswer } from './label-queue.js';
import type { FineTuneOptions, UpdateRecord } from './updater.js';

/** Options of {@link OnlineLearner}. */
export interface OnlineLearnerOptions {
  /**
   * Folder for the versions' model directories (`v0001/`, ... see `versions.ts`), the label
   * journal (`labels.wal`) and the label queue files. A learner attached to a folder that holds
   * them takes up the labels not yet used by an update and the questions still pending, and
   * continues the version names.
   */
  workDir: string;
  /**
   * tfjs weights of the live model (`model.getWeights()` order), to fine-tune from. Default: the
   * ones saved in the live model directory (`weights.json` + `weights.bin`, written by
   * `seismo train` and by every version this learner makes).
   */
  weights?: WeightTensor[];
  /** Capacity of the normal update buffer (an update starts when it is full). Default 64. */
  normalBuffer?: number;
  /** Capacity of the anomaly update buffer (an update starts when it is full). Default 16. */
  anomalyBuffer?: number;
  /**
   * Unlabelled windows that did not alarm and scored at most the `replayBelow` quantile of the
   * recent score levels (normalised scores where calibrated; a rank, not a multiple of the threshold: thresholds jump when the score scale
   * does, and then a multiple would let anomalies in), kept as a
   * uniform reservoir and replayed as normal data in each update so that fine-tuning on a few
   * hard windows does not forget the rest of normal behaviour. Capacity; 0 disables. Default 128.
   */
  replay?: number;
  /** Quantile of the recent scores (those of earlier mini-batches) under which a window may enter the replay reservoir. Default 0.5. */
  replayBelow?: number;
  /**
   * Normal windows the live model was trained on, laid end to end (`[n, window, channels]` raw
   * frames, e.g. its training set). A seeded uniform sample of `anchorWindows` of them is replayed
   * in every update beside the stream's replay reservoir: an update made of a few hard windows, or
   * of labelled anomalies alone, then cannot drag the model (and every score with it) away from the
   * normal behaviour it started from, and unlabelled anomalies that slipped into the stream's
   * reservoir stay a minority. When an update refits the scaler (the input left the live scaler's
   * range: a new regime), the anchor is left out of it and dropped for good, so that the old
   * regime does not hold back learning the new one. Without it, updates train on the labelled and
   * replayed windows only.
   */
  anchor?: Float32Array;
  /** Anchor windows kept at most. Default 128. */
  anchorWindows?: number;
  /**
   * Recent scored windows kept (FIFO, unlabelled) as the reference on which each fine-tuned
   * version's score calibration is fitted (those of them it trained on, or known to be
   * anomalous, are left out). 0 disables: new versions then have no calibration. Default 64.
   */
  calibrationWindows?: number;
  /** Fewest reference windows a calibration is fitted on; with fewer the version has none. Default 8. */
  minCalibrationWindows?: number;
  /**
   * The live version's score calibration (e.g. fitted with `fitCalibration` on its validation
   * windows), set on the detector at attach; otherwise the detector's own (from `calibration.json`) stays.
   */
  calibration?: ScoreCalibration;
  /** Held-out labelled windows (the most recent ones), for the no-regression check. Default 64. */
  heldOut?: number;
  /** Every n-th label goes to the held-out sample instead of the update buffers. Default 4. */
  heldOutEvery?: number;
  /** Recent alarms whose frames are kept so that a later label on them can be used. Default 128. */
  keepAlarms?: number;
  /** `|ln(score / threshold)|` within which a window counts as uncertain. Default 0.5. */
  uncertainBand?: number;
  /**
   * The label queue: capacity, budget per period (windows scored). Defaults 64, 16, 1024.
   * `persist`: keep it in `workDir` (`seismo label` reads and answers it there), with the frames
   * of every pending question (`questions/`, one small file each), so that a learner attached
   * later to the same folder (after a restart, or a `seismo learn` run that ended) takes up the
   * pending questions and applies the answers given meanwhile.
   */
  queue?: { capacity?: number; budget?: number; period?: number; persist?: boolean };
  /** Questions asked per scored mini-batch at most (the budget per period caps them too). Default 2. */
  queriesPerBatch?: number;
  /**
   * Query by committee: once an update has been swapped in, the version it replaced (kept for
   * rollback anyway) scores a pool of each mini-batch's most uncertain windows and some alarms,
   * in its own onnxruntime session in a worker thread, and half of the questions go to the
   * windows the two versions disagree on most (see `selectByCommittee`). The questions of a
   * mini-batch are then asked a moment later, when the committee has scored it; scoring never
   * waits. Before the first update, and with this off (the default), selection is by uncertainty
   * and alarm review alone. On the benchmark streams it did worse than that default
   * (docs/benchmarks.md): try it where successive versions are expected to differ in judgement,
   * not only in scale.
   */
  committee?: boolean;
  /** Fine-tuning hyper-parameters. */
  fineTune?: FineTuneOptions;
  /** Normal windows an update needs at least when drift calls for one early. Default a quarter of `normalBuffer`. */
  minUpdateWindows?: number;
  /** An update's held-out AUC may fall at most this much below the live version's. Default 0.02. */
  regressionTolerance?: number;
  /** Largest relative |tfjs - onnxruntime| score difference accepted. Default 1e-3. */
  parityTolerance?: number;
  /** Labelled anomalies needed to tune the threshold for F1; fewer: a quantile of normal scores. Default 3. */
  minAnomaliesToTune?: number;
  /** Quantile of the new version's scores of labelled and replayed normal windows that becomes its threshold otherwise. Default 0.99. */
  thresholdQuantile?: number;
  /** Page-Hinkley options for the input statistic and the score level (normalised score, or log score without a calibration); `false` turns drift detection off. */
  drift?: { input?: PageHinkleyOptions; score?: PageHinkleyOptions } | false;
  /**
   * On a score-only drift the threshold moves to `median + k * 1.4826 * MAD` of the recent score
   * levels, mapped back to the live version's raw scale: robust to bursts of anomalies among them (up to half), unlike a high quantile. k; default 3.
   */
  recalibrationSigmas?: number;
  /** Windows after a drift event during which further events of the same monitor are ignored (the change is being handled). Default 512. */
  driftCooldown?: number;
  /** Scores remembered for recalibration. Default 1024. */
  recentScores?: number;
  /** tfjs backend for fine-tuning (see `initBackend`). */
  backend?: string;
  /** Called after each update attempt (swapped in or rejected). */
  onUpdate?: (update: UpdateRecord) => void;
  /** Called with each drift event. */
  onDrift?: (event: DriftEvent) => void;
  /** Called with each question put in the label queue. */
  onQuery?: (item: QueueItem) => void;
  /** Called with each label given (`label`, `importAnswers`) and what became of it; accepted labels are durable by then. */
  onLabel?: (key: string, anomaly: boolean, outcome: LabelOutcome) => void;
  /** Called with each answer line of the answers file that could not be used (it is skipped). */
  onRejectedAnswer?: (answer: RejectedAnswer) => void;
}

/** A detected shift, and what the policy did about it. */
export interface DriftEvent {
  on: 'input' | 'score';
  signal: DriftSignal;
  /** Windows scored when it was detected. */
  at: number;
  action: 'update' | 'recalibrate';
}


/** Running totals of a learner. */
export interface LearnerStats {
  windows: number;
  asked: number;
  labels: number;
  /** Labels on windows whose frames were no longer kept (answered too late). */
  unknownLabels: number;
  updates: number;
  rejectedUpdates: number;
  recalibrations: number;
  drifts: number;
  /** Labels taken up from the journal of an earlier learner on the same folder. */
  restoredLabels: number;
  /** Answer lines skipped (malformed, or a key that names no window). */
  rejectedAnswers: number;
}


/** What became of a label. */
export type LabelOutcome = 'normal-buffer' | 'anomaly-buffer' | 'held-out' | 'kept' | 'unknown-window' | 'already-labelled';


/** The options that have defaults, resolved. */
export type ResolvedOptions = Required<Omit<OnlineLearnerOptions, 'drift' | 'backend' | 'onUpdate' | 'onDrift' | 'onQuery' | 'onLabel' | 'onRejectedAnswer' | 'queue' | 'fineTune' | 'weights' | 'calibration' | 'anchor'>>;

/** The options with their defaults filled in. */
export function resolveOptions(options: OnlineLearnerOptions): ResolvedOptions {
  const normalBuffer = options.normalBuffer ?? 64;
  return {
    workDir: options.workDir,
    normalBuffer,
    anomalyBuffer: options.anomalyBuffer ?? 16,
    replay: options.replay ?? 128,
    replayBelow: options.replayBelow ?? 0.5,
    anchorWindows: options.anchorWindows ?? 128,
    heldOut: options.heldOut ?? 64,
    calibrationWindows: options.calibrationWindows ?? 64,
    minCalibrationWindows: options.minCalibrationWindows ?? 8,
    heldOutEvery: options.heldOutEvery ?? 4,
    keepAlarms: options.keepAlarms ?? 128,
    uncertainBand: options.uncertainBand ?? 0.5,
    queriesPerBatch: options.queriesPerBatch ?? 2,
    committee: options.committee ?? false,
    minUpdateWindows: options.minUpdateWindows ?? Math.max(1, Math.floor(normalBuffer / 4)),
    regressionTolerance: options.regressionTolerance ?? 0.02,
    parityTolerance: options.parityTolerance ?? 1e-3,
    minAnomaliesToTune: options.minAnomaliesToTune ?? 3,
    thresholdQuantile: options.thresholdQuantile ?? 0.99,
    recalibrationSigmas: options.recalibrationSigmas ?? 3,
    driftCooldown: options.driftCooldown ?? 512,
    recentScores: options.recentScores ?? 1024,
  };
}
