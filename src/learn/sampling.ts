/**
 * What an online learner keeps of the stream: the update buffers a label sorts a window into, the
 * held-out sample, the windows it may yet be told about (questions and recent alarms), the anchor
 * (the starting model's training windows), the calibration reference (recent scored windows) and
 * the replay reservoir behind an explicit {@link ReplayFilter}.
 *
 * Every store is bounded and allocated once; frames are copied in when a window is scored (the
 * detector's rings are overwritten soon after).
 */
import { SeismoError } from '../errors.js';
import { quantile } from '../stats/quantile.js';
import { refKey, WindowBuffer, type WindowRef } from './buffers.js';
import type { LabelDestination } from './journal.js';
import { uncertainty } from './select.js';

/** A window the learner may be told about: its frames and how it was scored. */
export interface Captured {
  ref: WindowRef;
  frames: Float32Array;
  score: number;
  threshold: number;
  version: number;
  alarm: boolean;
}

/** Sizes and rules of a {@link Sampler} (see `OnlineLearnerOptions` for each). */
export interface SamplingOptions {
  normalBuffer: number;
  anomalyBuffer: number;
  replay: number;
  replayBelow: number;
  anchor?: Float32Array;
  anchorWindows: number;
  calibrationWindows: number;
  heldOut: number;
  heldOutEvery: number;
  keepAlarms: number;
  uncertainBand: number;
  recentScores: number;
}

/**
 * Which unlabelled windows may be replayed as normal data: those that did not alarm and whose
 * score level is at most the `below` quantile of the recent levels (a rank, not a multiple of the
 * threshold: thresholds jump when the score scale does, and a multiple would then let anomalies
 * in). Needs 64 recent levels first; until then nothing is replayed. The recent levels also serve
 * the threshold recalibration.
 */
export class ReplayFilter {
  readonly below: number;
  private readonly recent: Float64Array;
  private count = 0;
  private cut = -Infinity;

  /** @param capacity score levels remembered. @param below quantile of them under which a window is replayed. */
  constructor(capacity: number, below: number) {
    this.recent = new Float64Array(capacity);
    this.below = below;
  }

  /** Fixes the cut-off for the next mini-batch from the levels of the earlier ones. */
  beginBatch(): void {
    const filled = Math.min(this.count, this.recent.length);
    this.cut = filled >= 64 ? quantile(this.recent.subarray(0, filled), this.below) : -Infinity;
  }

  /** Remembers a window's score level; true when it may be replayed. */
  admit(level: number, alarm: boolean): boolean {
    this.recent[this.count++ % this.recent.length] = level;
    return !alarm && level <= this.cut;
  }

  /** The remembered levels (no order). */
  levels(): Float64Array {
    return this.recent.subarray(0, Math.min(this.count, this.recent.length));
  }
}

/** The buffers' contents handed to one update (the update buffers are emptied by taking it). */
export interface UpdateSnapshot {
  normal: ReturnType<WindowBuffer['snapshot']>;
  anomaly: ReturnType<WindowBuffer['snapshot']>;
  replay: ReturnType<WindowBuffer['snapshot']> | undefined;
  anchor: ReturnType<WindowBuffer['snapshot']> | undefined;
  held: ReturnType<WindowBuffer['snapshot']>;
  /** Recent windows the new version is not trained on and that are not known anomalies: `[k, window, channels]`. */
  reference: Float32Array;
  referenceWindows: number;
}

/** The learner's stores of windows. */
export class Sampler {
  readonly normal: WindowBuffer;
  readonly anomaly: WindowBuffer;
  readonly heldOut: WindowBuffer;
  readonly replay: WindowBuffer | undefined;
  readonly calibration: WindowBuffer | undefined;
  readonly filter: ReplayFilter;
  private anchorSet: WindowBuffer | undefined;
  private readonly per: number;
  private readonly o: SamplingOptions;
  /** Windows an answer may still come for (questions, recent alarms), by key. */
  private readonly captured = new Map<string, Captured>();
  private readonly alarmKeys: string[] = [];
  /**
   * Labelled windows that found their update buffer full (labels that arrived while an update
   * ran): they wait here, oldest first, and fill the buffer again when the update takes it. An
   * accepted label is never dropped before an update uses it.
   */
  private readonly waiting: { dest: 'normal' | 'anomaly'; ref: WindowRef; frames: Float32Array; score: number; version: number; label: 0 | 1 }[] = [];

  /** @param per floats per window (`window * channels`). */
  constructor(per: number, o: SamplingOptions) {
    this.per = per;
    this.o = o;
    this.normal = new WindowBuffer({ capacity: o.normalBuffer, windowSize: per });
    this.anomaly = new WindowBuffer({ capacity: o.anomalyBuffer, windowSize: per });
    this.replay = o.replay > 0 ? new WindowBuffer({ capacity: o.replay, windowSize: per, policy: 'reservoir', seed: 5 }) : undefined;
    this.heldOut = new WindowBuffer({ capacity: o.heldOut, windowSize: per });
    this.anchorSet = o.anchor ? anchorSample(o.anchor, per, o.anchorWindows) : undefined;
    this.calibration = o.calibrationWindows > 0 ? new WindowBuffer({ capacity: o.calibrationWindows, windowSize: per }) : undefined;
    this.filter = new ReplayFilter(o.recentScores, o.replayBelow);
  }

  /** The sample of the live model's training windows replayed in every update; dropped after a rescale. */
  get anchor(): WindowBuffer | undefined {
    return this.anchorSet;
  }

  /** A new regime: the starting model's training windows no longer describe normal data. */
  dropAnchor(): void {
    this.anchorSet = undefined;
  }

  /** Unlabelled scored window (frames in a scratch array, copied by what keeps them): replay and calibration reference. */
  observe(ref: WindowRef, frames: Float32Array, score: number, version: number, replay: boolean): void {
    if (replay) this.replay!.add(ref, frames, score, version, -1);
    this.calibration?.add(ref, frames, score, version, -1);
  }

  get wantsFrames(): boolean {
    return this.replay !== undefined || this.calibration !== undefined;
  }

  captureOf(key: string): Captured | undefined {
    return this.captured.get(key);
  }

  /** Keeps a window that was asked about until it is answered or dropped. */
  keep(c: Captured): void {
    const key = refKey(c.ref);
    if (!this.captured.has(key)) this.captured.set(key, c);
  }

  /** Forgets a window (answered, or its question dropped) unless an alarm still holds it. */
  forget(key: string, evenIfAlarm = false): void {
    if (evenIfAlarm || !this.alarmKeys.includes(key)) this.captured.delete(key);
  }

  /** Keeps an alarm's window for a while (an expert may label any alarm): FIFO-bounded by `keepAlarms`. */
  keepAlarm(c: Captured, pending: (key: string) => boolean): void {
    const key = refKey(c.ref);
    this.captured.set(key, c);
    this.alarmKeys.push(key);
    while (this.alarmKeys.length > this.o.keepAlarms) {
      const old = this.alarmKeys.shift()!;
      if (!pending(old) && !this.alarmKeys.includes(old)) this.captured.delete(old);
    }
  }

  /**
   * Where the `n`-th label (1-based) of window `c` goes: every `heldOutEvery`-th to the held-out
   * sample; anomalies (confirmed alarms included: they are rare, every one teaches) to the anomaly
   * buffer; false alarms and uncertain normal windows to the normal buffer. A confident, correct
   * normal window teaches little (the replay covers such windows): `kept`, nowhere.
   */
  route(c: Captured, isAnomaly: boolean, n: number): LabelDestination | 'kept' {
    if (n % this.o.heldOutEvery === 0) return 'held-out';
    if (isAnomaly) return 'anomaly';
    if (c.alarm || uncertainty(c.score, c.threshold) <= this.o.uncertainBand) return 'normal';
    return 'kept';
  }

  /**
   * Puts a labelled window in its buffer; into the waiting list when that update buffer is full.
   * The held-out sample keeps the newest `heldOut` labels (an older one pushed out by a newer one
   * has served its turn).
   */
  place(dest: LabelDestination, ref: WindowRef, frames: Float32Array, score: number, version: number, label: 0 | 1): void {
    if (dest === 'held-out') {
      this.heldOut.add(ref, frames, score, version, label);
      return;
    }
    const buffer = dest === 'anomaly' ? this.anomaly : this.normal;
    if (buffer.full) this.waiting.push({ dest, ref: { ...ref }, frames: frames.slice(), score, version, label });
    else buffer.add(ref, frames, score, version, label);
  }

  /** Labelled windows waiting for room in a full update buffer. */
  get waitingLabels(): number {
    return this.waiting.length;
  }

  /** Keys of the labelled windows the buffers still hold or that wait for them (what the label journal must keep). */
  labelledKeys(): Set<string> {
    const held = [this.normal, this.anomaly, this.heldOut].flatMap((b) => b.items().map((it) => refKey(it.ref)));
    return new Set([...held, ...this.waiting.map((w) => refKey(w.ref))]);
  }

  /** Takes the update buffers (emptied: windows labelled meanwhile go to the next update) and copies the rest. */
  take(): UpdateSnapshot {
    const normal = this.normal.snapshot();
    const anomaly = this.anomaly.snapshot();
    const replay = this.replay?.snapshot();
    const anchor = this.anchorSet?.snapshot();
    const held = this.heldOut.snapshot();
    this.normal.clear();
    this.anomaly.clear();
    // The labels that waited for room go in now, oldest first; the rest wait on.
    const still = this.waiting.splice(0);
    for (const w of still) this.place(w.dest, w.ref, w.frames, w.score, w.version, w.label);
    // Calibration reference: recent windows the new version will not be trained on and that are not known anomalies.
    const exclude = new Set([...normal.refs, ...anomaly.refs, ...(replay?.refs ?? []), ...held.refs.filter((_, i) => held.labels[i] === 1)].map(refKey));
    const items = (this.calibration?.items() ?? []).filter((it) => !exclude.has(refKey(it.ref)));
    const reference = new Float32Array(items.length * this.per);
    items.forEach((it, k) => reference.set(it.frames, k * this.per));
    return { normal, anomaly, replay, anchor, held, reference, referenceWindows: items.length };
  }
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
