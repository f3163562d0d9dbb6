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
 * This file is the facade (over 400 lines because the loop is described here once, with the
 * public API's documentation and the per-batch routing it calls). The parts: this file attaches to the detector and routes (each batch to sampling, drift and
 * question selection; each label to its buffer); `sampling.ts` keeps the windows (update buffers,
 * held-out sample, anchor, calibration reference, replay behind its filter); `label-queue.ts`
 * owns the questions and their persisted frames; `journal.ts` keeps every accepted label durable
 * until the update that uses it is committed; `updater.ts` turns a snapshot of the buffers into a
 * version and its record; `versions.ts` names and writes versions; `committee.ts` is the optional
 * query by committee.
 *
 * Drift policy: a shift of the input statistic (mean |z| of a window under the model's scaler)
 * means normal behaviour changed: an update is made as soon as the normal buffer holds
 * `minUpdateWindows` labelled windows. A shift of the score distribution alone (log score) means
 * the threshold no longer fits: it is recalibrated to a robust upper bound of the recent scores
 * (median + 3 MAD on the log scale) and set on the live version (`setThresholdRule`: no new
 * worker, no new version, no retraining). After either, drift events are ignored for `driftCooldown` windows.
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
import type { Detector, ScoredBatch } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { readWeights, type ScoreCalibration, WEIGHTS_INDEX_FILE } from '../model/model-dir.js';
import { mulberry32 } from '../stats/random.js';
import { refKey, type WindowBuffer, type WindowRef } from './buffers.js';
import { Committee, type PoolEntry } from './committee.js';
import { DriftWatch, type DriftSignal } from './drift.js';
import { resolveOptions, type LabelOutcome, type LearnerStats, type OnlineLearnerOptions, type ResolvedOptions } from './learner-options.js';
import type { WeightTensor } from './finetune-protocol.js';
import { FineTuner } from './finetuner.js';
import { LabelJournal, type LabelDestination } from './journal.js';
import { LabelQueue, parseKey, type QueueItem, type RejectedAnswer } from './label-queue.js';
import { Sampler, type Captured, type UpdateSnapshot } from './sampling.js';
import { committeePool, selectQueries, type Candidate, type QueryReason } from './select.js';
import { Updater, type FineTuneOptions, type UpdateRecord } from './updater.js';
import { VersionStore } from './versions.js';

export type { FineTuneOptions, UpdateRecord } from './updater.js';
export { describeUpdate } from './updater.js';
export type { OnlineLearnerOptions, DriftEvent, LearnerStats, LabelOutcome } from './learner-options.js';

const OUTCOME: Record<LabelDestination, LabelOutcome> = { normal: 'normal-buffer', anomaly: 'anomaly-buffer', 'held-out': 'held-out' };

/**
 * Online learning around a detector (see the file comment for the whole loop). Create with
 * {@link OnlineLearner.attach}; it subscribes to the detector's scored batches.
 */
export class OnlineLearner {
  readonly detector: Detector;
  readonly queue: LabelQueue;
  readonly history: UpdateRecord[] = [];
  private readonly sampler: Sampler;
  private readonly journal: LabelJournal;
  private readonly updater: Updater;
  private readonly committee: Committee | undefined;
  private readonly o: ResolvedOptions;
  private readonly options: OnlineLearnerOptions;
  private readonly fineTuner: FineTuner;
  private readonly drift: DriftWatch;
  private readonly rand = mulberry32(11);
  private readonly unsubscribe: () => void;
  private readonly per: number;
  private readonly scratch: Float32Array;
  private running: Promise<void> | undefined;
  private earlyUpdate = false;
  private labelCount = 0;
  private readonly restored: string[] = [];
  private stopped = false;
  private readonly counters: LearnerStats = { windows: 0, asked: 0, labels: 0, unknownLabels: 0, updates: 0, rejectedUpdates: 0, recalibrations: 0, drifts: 0, restoredLabels: 0, rejectedAnswers: 0 };

  private constructor(detector: Detector, fineTuner: FineTuner, options: OnlineLearnerOptions, weights: WeightTensor[]) {
    this.detector = detector;
    this.fineTuner = fineTuner;
    this.options = options;
    this.o = resolveOptions(options);
    this.per = detector.window * detector.channels.length;
    this.scratch = new Float32Array(this.per);
    this.sampler = new Sampler(this.per, { ...this.o, anchor: options.anchor });
    const versions = new VersionStore(options.workDir, detector.modelDir, detector.version);
    this.updater = new Updater(detector, fineTuner, versions, { ...this.o, fineTune: options.fineTune ?? {} }, weights);
    this.committee = this.o.committee ? new Committee() : undefined;
    if (options.calibration) detector.setCalibration(options.calibration);
    const q = options.queue ?? {};
    this.queue = new LabelQueue({ capacity: q.capacity, budget: q.budget, period: q.period, dir: q.persist ? options.workDir : undefined, frameSize: this.per });
    // Pending questions of an earlier learner: their windows, for the answers still to come.
    for (const item of this.queue.pending()) {
      this.sampler.keep({ ref: item.ref, frames: this.queue.framesOf(item.key)!, score: item.score, threshold: item.threshold, version: item.version, alarm: item.reason === 'alarm' });
    }
    this.journal = new LabelJournal(options.workDir, this.per);
    this.restoreLabels();
    this.drift = new DriftWatch(options.drift, this.o.driftCooldown);
    this.unsubscribe = detector.on('batch', (batch) => this.onBatch(batch));
  }

  /**
   * Starts the fine-tuning worker and attaches to `detector` (subscribing to its scored batches).
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
    let learner: OnlineLearner;
    try {
      learner = new OnlineLearner(detector, fineTuner, options, weights);
    } catch (err) {
      // Bad options (buffer sizes, anchor shape): the worker must not outlive the failed attach.
      await fineTuner.close();
      throw err;
    }
    // Labels taken up from the journal may fill a buffer already.
    learner.maybeUpdate();
    return learner;
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

  get normal(): WindowBuffer {
    return this.sampler.normal;
  }

  get anomaly(): WindowBuffer {
    return this.sampler.anomaly;
  }

  get heldOut(): WindowBuffer {
    return this.sampler.heldOut;
  }

  get replayBuffer(): WindowBuffer | undefined {
    return this.sampler.replay;
  }

  get calibrationBuffer(): WindowBuffer | undefined {
    return this.sampler.calibration;
  }

  /** The sample of the live model's training windows replayed in every update (see `anchor`); dropped after a rescale. */
  get anchorBuffer(): WindowBuffer | undefined {
    return this.sampler.anchor;
  }

  /** The readable name (`v0005`) of the version the detector numbers `version` (default: the live one). */
  versionName(version = this.detector.version): string {
    return this.updater.nameOf(version);
  }

  /**
   * Labels a window (asynchronous feedback: any time after it was scored, or never). The label is
   * written to the journal (fsync'd) before anything else changes: from then on it survives a
   * crash until the update that uses it is committed. Labels on windows whose frames are no longer
   * kept (not asked about, not a recent alarm, or evicted) are counted and ignored. May start an
   * update in the background.
   */
  label(ref: WindowRef, isAnomaly: boolean): LabelOutcome {
    const key = refKey(ref);
    const outcome = this.accept(key, isAnomaly);
    this.options.onLabel?.(key, isAnomaly, outcome);
    if (outcome !== 'kept' && outcome !== 'unknown-window' && outcome !== 'already-labelled') this.maybeUpdate();
    return outcome;
  }

  /** Keys of the labels taken up at attach from the journal of an earlier learner on the folder. */
  restoredLabels(): string[] {
    return [...this.restored];
  }

  private accept(key: string, isAnomaly: boolean): LabelOutcome {
    if (this.journal.has(key)) {
      // Read again after a crash between the journal and the answers file's offset: applied once.
      this.queue.remove(key);
      return 'already-labelled';
    }
    const c = this.sampler.captureOf(key);
    if (!c) {
      this.queue.remove(key);
      this.counters.unknownLabels++;
      return 'unknown-window';
    }
    const n = this.labelCount + 1;
    const y = isAnomaly ? 1 : 0;
    const dest = this.sampler.route(c, isAnomaly, n);
    // Durable first: from here on a crash cannot lose it.
    if (dest !== 'kept') this.journal.append({ key, ref: c.ref, label: y, dest, score: c.score, threshold: c.threshold, version: c.version, n, frames: c.frames });
    this.labelCount = n;
    this.queue.remove(key);
    this.sampler.forget(key, true);
    this.counters.labels++;
    if (dest === 'kept') return 'kept';
    this.sampler.place(dest, c.ref, c.frames, c.score, c.version, y);
    return OUTCOME[dest];
  }

  /**
   * Applies the answers appended to the queue's answers file (what `seismo label` writes); the
   * file's read offset moves only after they are in the journal. A malformed line or a key that
   * names no window is reported (`onRejectedAnswer`, `stats().rejectedAnswers`) and skipped.
   * @returns the answers applied or ignored (not the rejected lines).
   */
  importAnswers(): number {
    const { answers, rejected, offset } = this.queue.readAnswers();
    for (const r of rejected) {
      this.counters.rejectedAnswers++;
      this.options.onRejectedAnswer?.(r);
    }
    for (const a of answers) this.label(parseKey(a.key)!, a.anomaly);
    this.queue.markAnswersRead(offset);
    return answers.length;
  }

  /** Resolves when no update is running (and re-checks whether one is due). */
  async idle(): Promise<void> {
    for (;;) {
      const chain = this.committee?.pending;
      if (this.running) await this.running;
      await chain;
      if (!this.running && chain === this.committee?.pending) return;
    }
  }

  /** Forces an update now with what the buffers hold (no-op when empty or one is running). */
  async updateNow(): Promise<void> {
    if (!this.running && this.sampler.normal.size + this.sampler.anomaly.size > 0) this.startUpdate('normal-buffer-full');
    await this.idle();
  }

  /**
   * Detaches from the detector and stops the fine-tuning worker. An update in progress is
   * abandoned; its labels, and those still in the buffers, stay in the journal for the next
   * learner on the same folder.
   */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    await this.fineTuner.close();
    await this.running?.catch(() => {});
    await this.committee?.close();
  }

  // ---- per mini-batch ----

  private onBatch(batch: ScoredBatch): void {
    if (this.stopped) return;
    const m = this.detector.manifest;
    const candidates: Candidate[] = [];
    this.sampler.filter.beginBatch();
    for (let i = 0; i < batch.size; i++) {
      const score = batch.scores[i]!;
      if (Number.isNaN(score)) continue;
      this.counters.windows++;
      const threshold = batch.thresholds[i]!;
      const alarm = batch.anomalies[i] === 1;
      // One scale across versions: the normalised score where the version is calibrated.
      const z = batch.normalizedScores[i]!;
      const level = Number.isFinite(z) ? z : Math.log(Math.max(score, 1e-12));
      const replay = this.sampler.filter.admit(level, alarm) && this.sampler.replay !== undefined;
      candidates.push({ index: i, score, threshold, alarm });
      if (this.drift.watchesInput || replay || this.sampler.calibration) {
        // Into a scratch array: the buffers copy what they keep, the drift statistic keeps nothing.
        const ref = { seriesId: batch.seriesIds[i]!, start: batch.starts[i]! };
        const frames = this.detector.windowFrames(ref.seriesId, ref.start, this.scratch);
        if (frames) {
          this.sampler.observe(ref, frames, score, batch.version, replay);
          const signal = this.drift.input(frames, m.scaler, this.counters.windows);
          if (signal) this.onDrift('input', signal, batch, i);
        }
      }
      const signal = this.drift.score(level, this.counters.windows);
      if (signal) this.onDrift('score', signal, batch, i);
      if (alarm) {
        const c = this.windowOf(batch, i);
        if (c) this.sampler.keepAlarm(c, (key) => this.queue.has(key));
      }
    }
    const k = Math.min(this.o.queriesPerBatch, this.queue.remaining(this.counters.windows));
    if (k <= 0) return;
    if (this.committee?.ready) {
      const pool: PoolEntry<{ window: Captured; timestamp: number }>[] = [];
      for (const candidate of committeePool(candidates, 4 * k, this.rand)) {
        const window = this.windowOf(batch, candidate.index);
        if (window) pool.push({ candidate, frames: window.frames, item: { window, timestamp: batch.timestamps[candidate.index]! } });
      }
      const budget = (): number => Math.min(k, this.queue.remaining(this.counters.windows));
      this.committee.select(pool, this.detector.window, this.detector.channels.length, budget, this.o.uncertainBand, this.rand, (p, reason) => {
        if (!this.stopped) this.askAbout(this.sampler.captureOf(refKey(p.item.window.ref)) ?? p.item.window, p.item.timestamp, reason);
      });
      return;
    }
    for (const { candidate, reason } of selectQueries(candidates, k, this.o.uncertainBand, this.rand)) {
      const c = this.windowOf(batch, candidate.index);
      if (c) this.askAbout(c, batch.timestamps[candidate.index]!, reason);
    }
  }

  /** Puts a question in the queue (which keeps its frames); keeps its window for the answer. Returns false when the queue declined it. */
  private askAbout(c: Captured, timestamp: number, reason: QueryReason): boolean {
    const key = refKey(c.ref);
    const item: QueueItem = { key, ref: c.ref, timestamp, score: c.score, threshold: c.threshold, version: c.version, versionName: this.updater.nameOf(c.version), reason, askedAt: this.counters.windows };
    const dropped = this.queue.ask(item, c.frames);
    if (!dropped) return false;
    this.sampler.keep(c);
    for (const d of dropped) this.sampler.forget(d);
    this.counters.asked++;
    this.options.onQuery?.(item);
    return true;
  }

  /** Window `i` of the batch as a {@link Captured}: the one already kept, or a copy of its frames (not kept). */
  private windowOf(batch: ScoredBatch, i: number): Captured | undefined {
    const ref = { seriesId: batch.seriesIds[i]!, start: batch.starts[i]! };
    const kept = this.sampler.captureOf(refKey(ref));
    if (kept) return kept;
    const frames = this.detector.windowFrames(ref.seriesId, ref.start);
    if (!frames) return undefined;
    return { ref, frames, score: batch.scores[i]!, threshold: batch.thresholds[i]!, version: batch.version, alarm: batch.anomalies[i] === 1 };
  }

  /** Puts the labels an earlier learner on this folder accepted and no update used back in their buffers. */
  private restoreLabels(): void {
    for (const e of this.journal.entriesInOrder()) {
      this.sampler.place(e.dest, e.ref, e.frames, e.score, e.version, e.label);
      this.labelCount = Math.max(this.labelCount, e.n);
      // Answered, though the crash may have come before its question left the queue.
      this.queue.remove(e.key);
      this.sampler.forget(e.key, true);
      this.restored.push(e.key);
      this.counters.restoredLabels++;
    }
  }

  /** A shift seen on window `i` of `batch`: counted, reported (also as the detector's `drift` event), acted on. */
  private onDrift(on: 'input' | 'score', signal: DriftSignal, batch: ScoredBatch, i: number): void {
    this.detector.emit('drift', { seriesId: batch.seriesIds[i], statistic: `page-hinkley:${on}`, value: signal.mean, timestamp: batch.timestamps[i]! });
    this.counters.drifts++;
    const action = on === 'input' ? 'update' : 'recalibrate';
    this.options.onDrift?.({ on, signal, at: this.counters.windows, action });
    if (action === 'update') {
      this.earlyUpdate = true;
      this.maybeUpdate();
    } else if (!this.running) {
      this.recalibrate();
    }
  }

  // ---- updates ----

  private maybeUpdate(): void {
    if (this.running || this.stopped) return;
    if (this.sampler.normal.full) this.startUpdate('normal-buffer-full');
    else if (this.sampler.anomaly.full) this.startUpdate('anomaly-buffer-full');
    else if (this.earlyUpdate && this.sampler.normal.size >= this.o.minUpdateWindows) this.startUpdate('input-drift');
  }

  private startUpdate(trigger: UpdateRecord['trigger']): void {
    this.earlyUpdate = false;
    const at = this.counters.windows;
    const snapshot = this.sampler.take();
    const run = this.update(snapshot, trigger, at)
      .catch((err: Error) => {
        if (!this.stopped) this.record({ ...this.updater.emptyRecord('finetune', trigger, at), labels: [...snapshot.normal.refs, ...snapshot.anomaly.refs].map(refKey), reason: err.message });
      })
      .finally(() => {
        // The buffers were taken and the attempt recorded: the journal keeps what they hold now
        // (an update abandoned by close keeps it all, for the next learner).
        if (!this.stopped) this.journal.compact(this.sampler.labelledKeys());
        this.running = undefined;
        if (!this.stopped) this.maybeUpdate();
      });
    this.running = run;
  }

  private async update(snapshot: UpdateSnapshot, trigger: UpdateRecord['trigger'], at: number): Promise<void> {
    const done = await this.updater.finetune(snapshot, trigger, at, this.history.length, () => this.stopped);
    if (!done || this.stopped) return;
    if (done.record.accepted) {
      // A new regime (see `anchor`): the starting model's training windows no longer describe normal data.
      if (done.record.rescaled) this.sampler.dropAnchor();
      if (this.committee && done.replaced) await this.committee.setMember(done.replaced.onnx(), done.replaced.threshold);
      this.updater.prune();
    }
    this.record(done.record);
  }

  private recalibrate(): void {
    let r: UpdateRecord | undefined;
    try {
      r = this.updater.recalibrate(this.sampler.filter.levels(), this.counters.windows);
    } catch (err) {
      r = { ...this.updater.emptyRecord('recalibration', 'score-drift', this.counters.windows), reason: (err as Error).message };
    }
    if (r) this.record(r);
  }

  private record(r: UpdateRecord): void {
    // Durable before the journal lets go of the labels it names.
    this.updater.versions.record(r);
    this.history.push(r);
    // Bounded history: the last 256 attempts are plenty for reports.
    if (this.history.length > 256) this.history.shift();
    if (r.kind === 'finetune') {
      if (r.accepted) this.counters.updates++;
      else this.counters.rejectedUpdates++;
    } else if (r.accepted) this.counters.recalibrations++;
    this.options.onUpdate?.(r);
  }
}
