/**
 * The online framework: a learner attached to a {@link Detector} that turns an expert's labels
 * into model updates while the stream keeps being scored.
 *
 * Per scored mini-batch (one `onBatch` call): drift statistics are updated; active learning picks
 * the windows to ask about within the labelling budget, and their raw frames are copied (the
 * rings are overwritten soon after); alarms are kept the same way for a while, since an expert may
 * label any alarm. A label (`label(ref, isAnomaly)`, any time later, or never) sorts the window:
 * false alarms and uncertain normal windows go to the normal update buffer, missed, uncertain and
 * confirmed anomalies to the anomaly buffer, every `heldOutEvery`-th label to a held-out sample.
 * When a buffer is full (or drift asks for it sooner), an update runs in the fine-tuning worker:
 * fine-tune from the live weights, export, check ONNX parity and no regression on the held-out
 * sample, recalibrate the threshold, write the version's model directory, and swap it in.
 *
 * Drift policy: a shift of the input statistic (mean |z| of a window under the model's scaler)
 * means normal behaviour changed: an update is made as soon as the normal buffer holds
 * `minUpdateWindows` labelled windows. A shift of the score distribution alone (log score) means
 * the threshold no longer fits: it is recalibrated to a robust upper bound of the recent scores
 * (median + 3 MAD on the log scale) and swapped in as a new version of the same graph (no
 * retraining). After either, drift events are ignored for `driftCooldown` windows.
 *
 * Calibration (one score scale across versions): the most recent `calibrationWindows` scored
 * windows are kept (unlabelled; median and MAD tolerate the few anomalies among them). Each
 * fine-tuned version is scored on those of them it was not trained on, and the robust location
 * and spread of its log scores become its {@link ScoreCalibration}, written beside its model and
 * read by the Detector with the swap, so that `normalizedScores` of every batch are on one scale
 * whichever version scored it. A threshold-only recalibration keeps the live calibration (same
 * graph, same scores). The first version's calibration is given with `calibration` (e.g. fitted
 * on its validation windows) or read from its directory.
 *
 * The learner's own score statistics (the recent scores behind the replay cut-off and the
 * recalibration, the score drift monitor) use the same scale: a window's score level is its
 * normalised score when its version is calibrated, else ln(score). On raw scores a swap to a
 * version that scores everything lower looks like a score drift, and puts every window it scores,
 * anomalies included, under the replay cut-off computed from the previous version's scores.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Detector, ScoredBatch } from '../detector.js';
import { SeismoError } from '../errors.js';
import { rocAuc } from '../evaluate/index.js';
import { readModelDir, writeModelDir } from '../model/model-dir.js';
import { ManifestSchema, type Manifest } from '../model/manifest.js';
import { readWeights, WEIGHTS_INDEX_FILE, writeWeights } from '../model/weights.js';
import { tuneThreshold } from '../threshold/index.js';
import { quantile } from '../stats/quantile.js';
import { mulberry32 } from '../stats/random.js';
import { refKey, WindowBuffer, type WindowRef } from './buffers.js';
import { fitCalibration, writeCalibration, type ScoreCalibration } from '../score/calibration.js';
import { PageHinkley, type DriftSignal, type PageHinkleyOptions } from './drift.js';
import type { FineTuneParams, WeightTensor } from './finetune-protocol.js';
import { FineTuner } from './finetuner.js';
import { LabelQueue, type QueueItem } from './label-queue.js';
import { committeePool, relativeLogScore, selectByCommittee, selectQueries, uncertainty, type Candidate, type QueryReason } from './select.js';
import { InferenceWorker } from '../infer/inference-worker.js';

/** Fine-tuning hyper-parameters. */
export interface FineTuneOptions {
  /** Passes over the update buffer. Default 10. */
  epochs?: number;
  /** Normal windows per gradient step. Default 32. */
  batchSize?: number;
  /** Adam learning rate (fresh optimizer per update). Default 1e-3. */
  learningRate?: number;
  /** Weight of the anomaly hinge against the normal reconstruction loss. Default 0.5. */
  anomalyWeight?: number;
  /** The hinge pushes labelled anomalies' scores up to `marginFactor` times the live threshold. Default 3. */
  marginFactor?: number;
  /** Seed of the batch order. Default 7. */
  seed?: number;
  /**
   * Refit the scaler on the update's normal windows (labelled and replayed) when, in some channel,
   * the labelled normal windows' mean |z| under the live scaler exceeds this (normal data under
   * its own scaler: ~0.8); 0 never refits. Default 4.
   */
  rescaleAbove?: number;
}

/** Options of {@link OnlineLearner}. */
export interface OnlineLearnerOptions {
  /** Folder for the versions' model directories (`v<N>/`) and the label queue files. */
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
}

/** One update attempt. */
export interface UpdateRecord {
  /** `finetune`: a retrained model; `recalibration`: the same graph with a new threshold. */
  kind: 'finetune' | 'recalibration';
  /** Why it ran. */
  trigger: 'normal-buffer-full' | 'anomaly-buffer-full' | 'input-drift' | 'score-drift';
  accepted: boolean;
  /** Why it was rejected, when it was. */
  reason?: string;
  fromVersion: number;
  /** Version swapped in (accepted updates). */
  version?: number;
  normalWindows: number;
  anomalyWindows: number;
  replayWindows: number;
  /** Windows of the anchor (the live model's training sample, see `anchor`) trained on with them. */
  anchorWindows: number;
  /** Held-out ROC AUC before and after (NaN without both classes held out). */
  heldOutAucBefore: number;
  heldOutAucAfter: number;
  parity: number;
  /** True when the update refitted the scaler (the input left the live scaler's range). */
  rescaled: boolean;
  threshold: number;
  thresholdMethod: string;
  /** The new version's score calibration (accepted updates; undefined when too few reference windows). */
  calibration?: ScoreCalibration;
  losses: number[];
  seconds: number;
  /** Windows scored when the update started. */
  at: number;
}

/** A detected shift, and what the policy did about it. */
export interface DriftEvent {
  on: 'input' | 'score';
  signal: DriftSignal;
  /** Windows scored when it was detected. */
  at: number;
  action: 'update' | 'recalibrate';
}

/** What became of a label. */
export type LabelOutcome = 'normal-buffer' | 'anomaly-buffer' | 'held-out' | 'kept' | 'unknown-window';

interface Captured {
  ref: WindowRef;
  frames: Float32Array;
  score: number;
  threshold: number;
  version: number;
  alarm: boolean;
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
}

/**
 * Online learning around a detector (see the file comment for the whole loop). Create with
 * {@link OnlineLearner.attach}; it subscribes to the detector's `batch` event.
 */
export class OnlineLearner {
  readonly detector: Detector;
  readonly queue: LabelQueue;
  readonly normal: WindowBuffer;
  readonly anomaly: WindowBuffer;
  readonly replayBuffer: WindowBuffer | undefined;
  /** The sample of the live model's training windows replayed in every update (see `anchor`); dropped after a rescale. */
  get anchorBuffer(): WindowBuffer | undefined {
    return this.anchorSet;
  }
  private anchorSet: WindowBuffer | undefined;
  readonly heldOut: WindowBuffer;
  readonly calibrationBuffer: WindowBuffer | undefined;
  readonly history: UpdateRecord[] = [];
  private readonly o: Required<Omit<OnlineLearnerOptions, 'drift' | 'backend' | 'onUpdate' | 'onDrift' | 'onQuery' | 'queue' | 'fineTune' | 'weights' | 'calibration' | 'anchor'>>;
  private readonly options: OnlineLearnerOptions;
  private readonly fineTuner: FineTuner;
  private readonly weightsByVersion = new Map<number, WeightTensor[]>();
  private readonly captured = new Map<string, Captured>();
  private readonly alarmKeys: string[] = [];
  private readonly driftInput: PageHinkley | undefined;
  private readonly driftScore: PageHinkley | undefined;
  private readonly recent: Float64Array;
  private recentCount = 0;
  private readonly rand = mulberry32(11);
  private readonly unsubscribe: () => void;
  private readonly per: number;
  private readonly scratch: Float32Array;
  private running: Promise<void> | undefined;
  private earlyUpdate = false;
  /** Per monitor: the stream position before which its drift events are ignored. */
  private readonly driftQuietUntil = { input: 0, score: 0 };
  private labelCount = 0;
  /** Where the frames of pending questions are kept (a persisted queue), one file per question. */
  private readonly questionsDir: string | undefined;
  /** The committee's second member (the version the last update replaced), when `committee` is on. */
  private member: { worker: InferenceWorker; threshold: number } | undefined;
  /** Committee selections run one after another, in stream order. */
  private committeeChain: Promise<void> = Promise.resolve();
  private stopped = false;
  private readonly counters: LearnerStats = { windows: 0, asked: 0, labels: 0, unknownLabels: 0, updates: 0, rejectedUpdates: 0, recalibrations: 0, drifts: 0 };

  private constructor(detector: Detector, fineTuner: FineTuner, options: OnlineLearnerOptions, weights: WeightTensor[]) {
    this.detector = detector;
    this.fineTuner = fineTuner;
    this.options = options;
    const normalBuffer = options.normalBuffer ?? 64;
    this.o = {
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
    this.per = detector.window * detector.channels.length;
    this.scratch = new Float32Array(this.per);
    this.normal = new WindowBuffer({ capacity: this.o.normalBuffer, windowSize: this.per });
    this.anomaly = new WindowBuffer({ capacity: this.o.anomalyBuffer, windowSize: this.per });
    this.replayBuffer = this.o.replay > 0 ? new WindowBuffer({ capacity: this.o.replay, windowSize: this.per, policy: 'reservoir', seed: 5 }) : undefined;
    this.heldOut = new WindowBuffer({ capacity: this.o.heldOut, windowSize: this.per });
    this.anchorSet = options.anchor ? anchorSample(options.anchor, this.per, this.o.anchorWindows) : undefined;
    this.calibrationBuffer = this.o.calibrationWindows > 0 ? new WindowBuffer({ capacity: this.o.calibrationWindows, windowSize: this.per }) : undefined;
    if (options.calibration) detector.setCalibration(options.calibration);
    const q = options.queue ?? {};
    this.queue = new LabelQueue({ capacity: q.capacity, budget: q.budget, period: q.period, dir: q.persist ? options.workDir : undefined });
    this.questionsDir = q.persist ? path.join(options.workDir, QUESTIONS_DIR) : undefined;
    if (this.questionsDir) this.resumeQuestions(this.questionsDir);
    this.driftInput = options.drift === false ? undefined : new PageHinkley(options.drift?.input);
    this.driftScore = options.drift === false ? undefined : new PageHinkley(options.drift?.score);
    this.recent = new Float64Array(this.o.recentScores);
    this.weightsByVersion.set(detector.version, weights);
    this.unsubscribe = detector.on('batch', (batch) => this.onBatch(batch));
  }

  /**
   * Starts the fine-tuning worker and attaches to `detector` (subscribing to its `batch` event).
   * @throws SeismoError `ERR_LEARN` when the worker cannot start or the model kind cannot be
   *   fine-tuned, `ERR_INVALID_OPTION` on bad options or without weights (none given, none saved
   *   in the model directory), `ERR_MODEL_CORRUPT` / `ERR_MODEL_MISMATCH` on unreadable or stale saved weights,
   *   `ERR_BAD_SHAPE` / `ERR_NON_FINITE` on an anchor that is not whole finite windows.
   */
  static async attach(detector: Detector, options: OnlineLearnerOptions): Promise<OnlineLearner> {
    const weights = options.weights ?? readWeights(detector.modelDir);
    if (!Array.isArray(weights) || weights.length === 0) {
      throw new SeismoError(
        'ERR_INVALID_OPTION',
        `OnlineLearner needs the live model's tfjs weights to fine-tune from: ${detector.modelDir} has no ${WEIGHTS_INDEX_FILE} (written by \`seismo train\` since it saves weights; retrain, or pass options.weights)`,
        { dir: detector.modelDir },
      );
    }
    fs.mkdirSync(options.workDir, { recursive: true });
    const fineTuner = await FineTuner.start(detector.manifest, { backend: options.backend });
    try {
      return new OnlineLearner(detector, fineTuner, options, weights);
    } catch (err) {
      // Bad options (buffer sizes, anchor shape): the worker must not outlive the failed attach.
      await fineTuner.close();
      throw err;
    }
  }

  stats(): LearnerStats {
    return { ...this.counters };
  }

  /** Accepted fine-tunes so far. */
  get updates(): number {
    return this.counters.updates;
  }

  /** True while an update runs in the background. */
  get updating(): boolean {
    return this.running !== undefined;
  }

  /**
   * Labels a window (asynchronous feedback: any time after it was scored, or never). Labels on
   * windows whose frames are no longer kept (not asked about, not a recent alarm, or evicted) are
   * counted and ignored. May start an update in the background.
   */
  label(ref: WindowRef, isAnomaly: boolean): LabelOutcome {
    const key = refKey(ref);
    this.queue.remove(key);
    this.forgetQuestion(key);
    const c = this.captured.get(key);
    if (!c) {
      this.counters.unknownLabels++;
      return 'unknown-window';
    }
    this.captured.delete(key);
    this.counters.labels++;
    this.labelCount++;
    const y = isAnomaly ? 1 : 0;
    let outcome: LabelOutcome;
    const uncertain = uncertainty(c.score, c.threshold) <= this.o.uncertainBand;
    if (this.labelCount % this.o.heldOutEvery === 0) {
      this.heldOut.add(c.ref, c.frames, c.score, c.version, y);
      outcome = 'held-out';
    } else if (isAnomaly) {
      // Anomalies are rare: every labelled one teaches the hinge, confirmed alarms included.
      this.anomaly.add(c.ref, c.frames, c.score, c.version, 1);
      outcome = 'anomaly-buffer';
    } else if (c.alarm || uncertain) {
      this.normal.add(c.ref, c.frames, c.score, c.version, 0);
      outcome = 'normal-buffer';
    } else {
      // A confident, correct normal window teaches little; the replay reservoir covers such windows.
      outcome = 'kept';
    }
    this.maybeUpdate();
    return outcome;
  }

  /** Applies the answers appended to the queue's answers file (what `seismo label` writes). */
  importAnswers(): number {
    let n = 0;
    for (const a of this.queue.readAnswers()) {
      const at = a.key.lastIndexOf('@');
      const start = Number(a.key.slice(at + 1));
      if (at < 0 || !Number.isFinite(start)) throw new SeismoError('ERR_LABEL', `answer key '${a.key}' is not seriesId@start`);
      this.label({ seriesId: a.key.slice(0, at), start }, a.anomaly);
      n++;
    }
    return n;
  }

  /** Resolves when no update is running (and re-checks whether one is due). */
  async idle(): Promise<void> {
    for (;;) {
      const chain = this.committeeChain;
      if (this.running) await this.running;
      await chain;
      if (!this.running && chain === this.committeeChain) return;
    }
  }

  /** Forces an update now with what the buffers hold (no-op when empty or one is running). */
  async updateNow(): Promise<void> {
    if (!this.running && this.normal.size + this.anomaly.size > 0) this.startUpdate('normal-buffer-full');
    await this.idle();
  }

  /** Detaches from the detector and stops the fine-tuning worker (an update in progress is abandoned). */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    await this.fineTuner.close();
    await this.running?.catch(() => {});
    await this.committeeChain;
    await this.member?.worker.close();
    this.member = undefined;
  }

  // ---- per mini-batch ----

  private onBatch(batch: ScoredBatch): void {
    if (this.stopped) return;
    const m = this.detector.manifest;
    const candidates: Candidate[] = [];
    const filled = Math.min(this.recentCount, this.recent.length);
    // Needs some history first: until then nothing is replayed.
    const replayBelow = this.replayBuffer && filled >= 64 ? quantile(this.recent.subarray(0, filled), this.o.replayBelow) : -Infinity;
    for (let i = 0; i < batch.size; i++) {
      const score = batch.scores[i]!;
      if (Number.isNaN(score)) continue;
      this.counters.windows++;
      const threshold = batch.thresholds[i]!;
      const alarm = batch.anomalies[i] === 1;
      // One scale across versions: the normalised score where the version is calibrated.
      const z = batch.normalizedScores[i]!;
      const level = Number.isFinite(z) ? z : Math.log(Math.max(score, 1e-12));
      this.recent[this.recentCount++ % this.recent.length] = level;
      candidates.push({ index: i, score, threshold, alarm });
      const replay = !alarm && level <= replayBelow;
      if (this.driftInput || replay || this.calibrationBuffer) {
        // Into a scratch array: the replay buffer copies what it keeps, the drift statistic keeps nothing.
        const frames = this.detector.windowFrames(batch.seriesIds[i]!, batch.starts[i]!, this.scratch);
        if (frames) {
          if (replay) this.replayBuffer!.add({ seriesId: batch.seriesIds[i]!, start: batch.starts[i]! }, frames, score, batch.version, -1);
          this.calibrationBuffer?.add({ seriesId: batch.seriesIds[i]!, start: batch.starts[i]! }, frames, score, batch.version, -1);
          if (this.driftInput) {
            let s = 0;
            for (let k = 0; k < frames.length; k++) {
              const c = k % m.channels.length;
              s += Math.abs((frames[k]! - m.scaler.mean[c]!) / m.scaler.std[c]!);
            }
            const signal = this.driftInput.update(s / frames.length);
            if (signal) this.onDrift('input', signal);
          }
        }
      }
      const signal = this.driftScore?.update(level);
      if (signal) this.onDrift('score', signal);
      if (alarm) this.keepAlarm(batch, i);
    }
    const k = Math.min(this.o.queriesPerBatch, this.queue.remaining(this.counters.windows));
    if (k <= 0) return;
    if (this.member) {
      this.selectWithCommittee(batch, candidates, k, this.member);
      return;
    }
    for (const { candidate, reason } of selectQueries(candidates, k, this.o.uncertainBand, this.rand)) {
      const c = this.windowOf(batch, candidate.index);
      if (c) this.askAbout(c, batch.timestamps[candidate.index]!, reason);
    }
  }

  /**
   * Copies the pool's windows now (the batch and the rings move on), has the committee member
   * score them in its worker, and asks about the chosen ones when that is done.
   */
  private selectWithCommittee(batch: ScoredBatch, candidates: Candidate[], k: number, member: NonNullable<OnlineLearner['member']>): void {
    const pool: { candidate: Candidate; window: Captured; timestamp: number }[] = [];
    for (const candidate of committeePool(candidates, 4 * k, this.rand)) {
      const window = this.windowOf(batch, candidate.index);
      if (window) pool.push({ candidate, window, timestamp: batch.timestamps[candidate.index]! });
    }
    if (pool.length === 0) return;
    const W = this.detector.window;
    const C = this.detector.channels.length;
    this.committeeChain = this.committeeChain.then(async () => {
      if (this.stopped) return;
      const frames = new Float32Array(pool.length * this.per);
      pool.forEach((p, j) => frames.set(p.window.frames, j * this.per));
      const disagreement = new Map<number, number>();
      try {
        const out = await member.worker.runFrames(frames, C, BigInt64Array.from(pool, (_, j) => BigInt(j * W)));
        pool.forEach((p, j) => {
          const d = Math.abs(relativeLogScore(p.candidate.score, p.candidate.threshold) - relativeLogScore(out.score![j]!, member.threshold));
          if (Number.isFinite(d)) disagreement.set(p.candidate.index, d);
        });
      } catch {
        // The member could not score (closed by a later swap): select by uncertainty alone.
      }
      if (this.stopped) return;
      const byIndex = new Map(pool.map((p) => [p.candidate.index, p]));
      const budget = Math.min(k, this.queue.remaining(this.counters.windows));
      for (const { candidate, reason } of selectByCommittee(pool.map((p) => p.candidate), disagreement, budget, this.o.uncertainBand, this.rand)) {
        const p = byIndex.get(candidate.index)!;
        this.askAbout(this.captured.get(refKey(p.window.ref)) ?? p.window, p.timestamp, reason);
      }
    });
  }

  /** Makes the version an update replaced the committee's second member (its graph in a worker thread of its own). */
  private async setMember(dir: string, threshold: number): Promise<void> {
    const worker = await InferenceWorker.start(readModelDir(dir).onnx, { provider: 'cpu', intraOpThreads: 1 });
    if (this.stopped) {
      await worker.close();
      return;
    }
    const old = this.member;
    this.member = { worker, threshold };
    // Selections already queued may still use the old member: close it after them.
    if (old) this.committeeChain = this.committeeChain.then(() => old.worker.close());
  }

  /** Puts a question in the queue; keeps its window for the answer. Returns false when the queue declined it. */
  private askAbout(c: Captured, timestamp: number, reason: QueryReason): boolean {
    const key = refKey(c.ref);
    const item: QueueItem = { key, ref: c.ref, timestamp, score: c.score, threshold: c.threshold, version: c.version, reason, askedAt: this.counters.windows };
    const dropped = this.queue.ask(item);
    if (!dropped) return false;
    if (!this.captured.has(key)) this.captured.set(key, c);
    this.saveQuestion(key, c.frames);
    for (const d of dropped) {
      this.forgetQuestion(d);
      if (!this.isAlarmKept(d)) this.captured.delete(d);
    }
    this.counters.asked++;
    this.options.onQuery?.(item);
    return true;
  }

  /** Window `i` of the batch as a {@link Captured}: the one already kept, or a copy of its frames (not kept). */
  private windowOf(batch: ScoredBatch, i: number): Captured | undefined {
    const ref = { seriesId: batch.seriesIds[i]!, start: batch.starts[i]! };
    const kept = this.captured.get(refKey(ref));
    if (kept) return kept;
    const frames = this.detector.windowFrames(ref.seriesId, ref.start);
    if (!frames) return undefined;
    return { ref, frames, score: batch.scores[i]!, threshold: batch.thresholds[i]!, version: batch.version, alarm: batch.anomalies[i] === 1 };
  }

  /** Keeps an alarm's window for a while (an expert may label any alarm): FIFO-bounded by `keepAlarms`; questions are bounded by the queue. */
  private keepAlarm(batch: ScoredBatch, i: number): void {
    const c = this.windowOf(batch, i);
    if (!c) return;
    const key = refKey(c.ref);
    this.captured.set(key, c);
    this.alarmKeys.push(key);
    while (this.alarmKeys.length > this.o.keepAlarms) {
      const old = this.alarmKeys.shift()!;
      if (!this.queue.has(old) && !this.alarmKeys.includes(old)) this.captured.delete(old);
    }
  }

  /** A pending question's frames, for a learner that resumes the queue (rare: a few per period, a few KiB each). */
  private saveQuestion(key: string, frames: Float32Array): void {
    if (!this.questionsDir) return;
    fs.mkdirSync(this.questionsDir, { recursive: true });
    fs.writeFileSync(questionFile(this.questionsDir, key), new Uint8Array(frames.buffer, frames.byteOffset, frames.byteLength));
  }

  private forgetQuestion(key: string): void {
    if (this.questionsDir) fs.rmSync(questionFile(this.questionsDir, key), { force: true });
  }

  /** Takes up the questions a previous learner left pending in the folder; drops those whose frames are gone or do not fit this model. */
  private resumeQuestions(dir: string): void {
    for (const item of this.queue.pending()) {
      const file = questionFile(dir, item.key);
      const bytes = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
      if (!bytes || bytes.byteLength !== this.per * 4) {
        this.queue.remove(item.key);
        this.forgetQuestion(item.key);
        continue;
      }
      const frames = new Float32Array(this.per);
      new Uint8Array(frames.buffer).set(bytes);
      this.captured.set(item.key, { ref: item.ref, frames, score: item.score, threshold: item.threshold, version: item.version, alarm: item.reason === 'alarm' });
    }
  }

  private isAlarmKept(key: string): boolean {
    return this.alarmKeys.includes(key);
  }

  private onDrift(on: 'input' | 'score', signal: DriftSignal): void {
    // Each monitor has its own cooldown: a threshold recalibration must not mask a change of the input.
    if (this.counters.windows < this.driftQuietUntil[on]) return;
    this.driftQuietUntil[on] = this.counters.windows + this.o.driftCooldown;
    this.counters.drifts++;
    const action = on === 'input' ? 'update' : 'recalibrate';
    this.options.onDrift?.({ on, signal, at: this.counters.windows, action });
    if (action === 'update') {
      this.earlyUpdate = true;
      this.maybeUpdate();
    } else if (!this.running) {
      this.startRecalibration();
    }
  }

  // ---- updates ----

  private maybeUpdate(): void {
    if (this.running || this.stopped) return;
    if (this.normal.full) this.startUpdate('normal-buffer-full');
    else if (this.anomaly.full) this.startUpdate('anomaly-buffer-full');
    else if (this.earlyUpdate && this.normal.size >= this.o.minUpdateWindows) this.startUpdate('input-drift');
  }

  private startUpdate(trigger: UpdateRecord['trigger']): void {
    this.earlyUpdate = false;
    const run = this.update(trigger)
      .catch((err: Error) => {
        if (!this.stopped) this.record({ ...this.emptyRecord('finetune', trigger), reason: err.message });
      })
      .finally(() => {
        this.running = undefined;
        if (!this.stopped) this.maybeUpdate();
      });
    this.running = run;
  }

  private startRecalibration(): void {
    const run = this.recalibrate()
      .catch((err: Error) => {
        if (!this.stopped) this.record({ ...this.emptyRecord('recalibration', 'score-drift'), reason: err.message });
      })
      .finally(() => {
        this.running = undefined;
      });
    this.running = run;
  }

  private emptyRecord(kind: UpdateRecord['kind'], trigger: UpdateRecord['trigger']): UpdateRecord {
    return {
      kind, trigger, accepted: false, fromVersion: this.detector.version, normalWindows: 0, anomalyWindows: 0, replayWindows: 0, anchorWindows: 0,
      heldOutAucBefore: NaN, heldOutAucAfter: NaN, parity: NaN, rescaled: false, threshold: NaN, thresholdMethod: '', losses: [], seconds: 0, at: this.counters.windows,
    };
  }

  private record(r: UpdateRecord): void {
    this.history.push(r);
    // Bounded history: the last 256 attempts are plenty for reports.
    if (this.history.length > 256) this.history.shift();
    if (r.kind === 'finetune') {
      if (r.accepted) this.counters.updates++;
      else this.counters.rejectedUpdates++;
    } else if (r.accepted) this.counters.recalibrations++;
    this.options.onUpdate?.(r);
  }

  private async update(trigger: UpdateRecord['trigger']): Promise<void> {
    const t0 = performance.now();
    const fromVersion = this.detector.version;
    const fromDir = this.detector.modelDir;
    const weights = this.liveWeights();
    const live = this.detector.manifest;
    const threshold = live.thresholds.global.value;
    // Snapshot and empty the update buffers: windows labelled during the update go to the next one.
    const normal = this.normal.snapshot();
    const anomaly = this.anomaly.snapshot();
    const replay = this.replayBuffer?.snapshot();
    const anchor = this.anchorSet?.snapshot();
    const held = this.heldOut.snapshot();
    this.normal.clear();
    this.anomaly.clear();
    // Calibration reference: recent windows the new version will not be trained on and that are not known anomalies.
    const exclude = new Set([...normal.refs, ...anomaly.refs, ...(replay?.refs ?? []), ...held.refs.filter((_, i) => held.labels[i] === 1)].map(refKey));
    const reference = (this.calibrationBuffer?.items() ?? []).filter((it) => !exclude.has(refKey(it.ref)));
    const nHeld = held.labels.length;
    const check = new Float32Array(held.frames.length + reference.length * this.per);
    check.set(held.frames);
    reference.forEach((it, k) => check.set(it.frames, held.frames.length + k * this.per));
    const nReplay = replay ? replay.labels.length : 0;
    const nAnchor = anchor ? anchor.labels.length : 0;
    // Labelled normal windows first (the worker checks them alone for a change of scale), the anchor last (the worker leaves it out when it rescales).
    const normalFrames = concatF32(normal.frames, replay?.frames ?? new Float32Array(0), anchor?.frames ?? new Float32Array(0));
    if (normalFrames.length === 0) {
      // Labelled anomalies alone: the hinge would push every score up with nothing holding normal windows down.
      throw new SeismoError('ERR_LEARN', 'an update needs normal windows: none labelled, none replayed, and no anchor (give `anchor`, or keep `replay` on)');
    }
    const ft = this.options.fineTune ?? {};
    const params: FineTuneParams = {
      epochs: ft.epochs ?? 10,
      batchSize: ft.batchSize ?? 32,
      learningRate: ft.learningRate ?? 1e-3,
      anomalyWeight: ft.anomalyWeight ?? 0.5,
      margin: (ft.marginFactor ?? 3) * threshold,
      seed: (ft.seed ?? 7) + this.history.length,
      rescaleAbove: ft.rescaleAbove ?? 4,
    };
    const res = await this.fineTuner.update(weights, { mean: [...live.scaler.mean], std: [...live.scaler.std] }, normalFrames, normal.labels.length, nAnchor, anomaly.frames, check, params);
    if (this.stopped) return;
    const base: UpdateRecord = {
      ...this.emptyRecord('finetune', trigger),
      fromVersion,
      at: this.counters.windows,
      normalWindows: normal.labels.length,
      anomalyWindows: anomaly.labels.length,
      replayWindows: nReplay,
      anchorWindows: res.rescaled ? 0 : nAnchor,
      parity: res.parity,
      rescaled: res.rescaled,
      losses: res.losses,
    };
    const heldBoth = held.labels.includes(1) && held.labels.includes(0);
    const heldBefore = res.checkBefore.subarray(0, nHeld);
    const heldAfter = res.checkAfter.subarray(0, nHeld);
    base.heldOutAucBefore = heldBoth ? rocAuc(held.labels, heldBefore) : NaN;
    base.heldOutAucAfter = heldBoth ? rocAuc(held.labels, heldAfter) : NaN;
    if (!(res.parity <= this.o.parityTolerance)) {
      this.record({ ...base, reason: `ONNX parity ${res.parity.toExponential(2)} above ${this.o.parityTolerance}`, seconds: (performance.now() - t0) / 1000 });
      return;
    }
    if (heldBoth && base.heldOutAucAfter < base.heldOutAucBefore - this.o.regressionTolerance) {
      this.record({ ...base, reason: `held-out ROC AUC fell from ${base.heldOutAucBefore.toFixed(3)} to ${base.heldOutAucAfter.toFixed(3)}`, seconds: (performance.now() - t0) / 1000 });
      return;
    }
    // Threshold of the new version, from its own scores of every labelled window it can see.
    const labels = concatU8(held.labels, normal.labels, anomaly.labels);
    const scores = concatF32(heldAfter, res.normalAfter.subarray(0, normal.labels.length), res.anomalyAfter);
    let value: number;
    let method: string;
    const positives = labels.reduce((a, b) => a + b, 0);
    if (positives >= this.o.minAnomaliesToTune && positives < labels.length) {
      value = tuneThreshold(labels, scores, 'f1').threshold;
      method = 'best-f1';
    } else {
      const normals = [...scores.filter((_, i) => labels[i] === 0), ...res.normalAfter.subarray(normal.labels.length)];
      value = quantile(normals, this.o.thresholdQuantile);
      method = 'quantile';
    }
    if (!Number.isFinite(value)) value = threshold;
    const manifest = { ...nextManifest(live, value, method, { labelled: labels.length, anomalies: positives, quantile: this.o.thresholdQuantile }, res.losses, res.seconds), scaler: res.scaler };
    const calibration = reference.length >= this.o.minCalibrationWindows ? fitCalibration(res.checkAfter.subarray(nHeld), `${reference.length} recent unlabelled windows it was not trained on`) : undefined;
    const version = await this.install(manifest, res.onnx, res.weights, calibration);
    this.weightsByVersion.set(version, res.weights);
    // A new regime (see `anchor`): the starting model's training windows no longer describe normal data.
    if (res.rescaled) this.anchorSet = undefined;
    if (this.o.committee) await this.setMember(fromDir, threshold);
    this.pruneVersions();
    this.record({ ...base, accepted: true, version, threshold: value, thresholdMethod: method, calibration, seconds: (performance.now() - t0) / 1000 });
  }

  private async recalibrate(): Promise<void> {
    const t0 = performance.now();
    const n = Math.min(this.recentCount, this.recent.length);
    if (n < 32) return;
    const live = this.detector.manifest;
    const fromVersion = this.detector.version;
    // Score levels (normalised scores, or log scores without a calibration), back to the live version's raw scale.
    const levels = Array.from(this.recent.subarray(0, n));
    const median = quantile(levels, 0.5);
    const mad = quantile(levels.map((v) => Math.abs(v - median)), 0.5);
    const level = median + this.o.recalibrationSigmas * 1.4826 * mad;
    const cal = this.detector.calibration();
    const value = Math.exp(cal ? cal.center + cal.scale * level : level);
    const manifest = nextManifest(live, value, 'quantile', { method: 'median+k*MAD of log scores', k: this.o.recalibrationSigmas, windows: n, on: 'recent scores' });
    const onnx = readModelDir(this.detector.modelDir).onnx;
    // Same graph, same scores: the calibration stays.
    const calibration = this.detector.calibration();
    const weights = this.liveWeights();
    const version = await this.install(manifest, onnx, weights, calibration);
    this.weightsByVersion.set(version, weights);
    this.pruneVersions();
    this.record({ ...this.emptyRecord('recalibration', 'score-drift'), fromVersion, accepted: true, version, threshold: value, thresholdMethod: 'median+MAD', calibration, seconds: (performance.now() - t0) / 1000 });
  }

  /** The live version's weights: kept in memory for the versions this learner made, else read from its directory (e.g. after a rollback). */
  private liveWeights(): WeightTensor[] {
    const version = this.detector.version;
    const weights = this.weightsByVersion.get(version) ?? readWeights(this.detector.modelDir);
    if (!weights) throw new SeismoError('ERR_LEARN', `no tfjs weights for the live version ${version}: ${this.detector.modelDir} has no ${WEIGHTS_INDEX_FILE}`);
    this.weightsByVersion.set(version, weights);
    return weights;
  }

  private async install(manifest: Manifest, onnx: Uint8Array, weights: WeightTensor[], calibration: ScoreCalibration | undefined): Promise<number> {
    // The version number the detector will give it: named ahead so the directory says which it is.
    const dir = path.join(this.o.workDir, `v${Date.now().toString(36)}-${this.history.length + 1}`);
    writeModelDir(dir, manifest, onnx);
    // So that a learner can continue from this version after a restart (or from another process).
    writeWeights(dir, weights);
    // Beside the model, so the detector takes it with the swap: no window of the version goes uncalibrated.
    if (calibration) writeCalibration(dir, calibration);
    const swap = await this.detector.swapModel(readModelDir(dir));
    return swap.version;
  }

  /** Keeps weights and directories only of the versions the detector still keeps. */
  private pruneVersions(): void {
    const kept = this.detector.versions();
    const versions = new Set(kept.map((k) => k.version));
    for (const v of [...this.weightsByVersion.keys()]) if (!versions.has(v)) this.weightsByVersion.delete(v);
    const dirs = new Set(kept.map((k) => path.resolve(k.dir)));
    for (const name of fs.readdirSync(this.o.workDir)) {
      const full = path.resolve(this.o.workDir, name);
      if (/^v[0-9a-z]+-\d+$/.test(name) && !dirs.has(full)) fs.rmSync(full, { recursive: true, force: true });
    }
  }
}

/** One line that says what an update attempt did (for logs: `seismo learn`, the benchmarks). */
export function describeUpdate(u: UpdateRecord): string {
  const what = u.accepted ? `v${u.fromVersion} -> v${u.version}` : `rejected: ${u.reason}`;
  const parts = [`${u.kind} (${u.trigger}) at window ${u.at}: ${what}`];
  if (u.kind === 'finetune') parts.push(`${u.normalWindows} normal + ${u.replayWindows} replay + ${u.anchorWindows} anchor, ${u.anomalyWindows} anomalous`);
  if (!Number.isNaN(u.heldOutAucBefore)) parts.push(`held-out AUC ${u.heldOutAucBefore.toFixed(3)} -> ${u.heldOutAucAfter.toFixed(3)}`);
  if (u.accepted) parts.push(`threshold ${u.threshold.toPrecision(3)} (${u.thresholdMethod})`);
  if (u.rescaled) parts.push('rescaled');
  if (u.calibration) parts.push(`calibration ${u.calibration.center.toPrecision(3)} +- ${u.calibration.scale.toPrecision(3)} on ${u.calibration.windows}`);
  if (u.losses.length > 0) parts.push(`loss ${u.losses[0]!.toPrecision(3)} -> ${u.losses.at(-1)!.toPrecision(3)}`);
  parts.push(`${u.seconds.toFixed(1)} s`);
  return parts.join('; ');
}

/** The manifest of a new version: same model, new threshold, the update appended to its record. */
function nextManifest(live: Manifest, threshold: number, method: string, params: Record<string, unknown>, losses: number[] = [], seconds = 0): Manifest {
  return ManifestSchema.parse({
    ...live,
    thresholds: { global: { value: threshold, method: method === 'best-f1' ? 'best-f1' : 'quantile', params: { ...params, online: true } }, channels: null },
    training: {
      ...live.training,
      epochs: live.training.epochs + losses.length,
      losses: [...live.training.losses, ...losses],
      date: new Date().toISOString(),
      seconds: live.training.seconds + seconds,
    },
  });
}

/** Folder (inside the work folder) of the pending questions' frames. */
const QUESTIONS_DIR = 'questions';

/** One file per question; the key (`seriesId@start`) made safe as a file name. */
function questionFile(dir: string, key: string): string {
  return path.join(dir, `${encodeURIComponent(key)}.f32`);
}

/** A seeded uniform sample of at most `capacity` of the windows in `frames` (`[n, per]`). */
function anchorSample(frames: Float32Array, per: number, capacity: number): WindowBuffer {
  if (frames.length === 0 || frames.length % per !== 0) {
    throw new SeismoError('ERR_BAD_SHAPE', `anchor holds ${frames.length} values: expected a positive multiple of window * channels = ${per}`);
  }
  for (let i = 0; i < frames.length; i++) {
    if (!Number.isFinite(frames[i]!)) throw new SeismoError('ERR_NON_FINITE', `anchor value ${i} (window ${Math.floor(i / per)}) is ${frames[i]}: anchor windows must be finite`);
  }
  const buffer = new WindowBuffer({ capacity, windowSize: per, policy: 'reservoir', seed: 3 });
  for (let k = 0; k < frames.length / per; k++) buffer.add({ seriesId: '(anchor)', start: k }, frames.subarray(k * per, (k + 1) * per), NaN, 0, -1);
  return buffer;
}

function concatU8(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function concatF32(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
