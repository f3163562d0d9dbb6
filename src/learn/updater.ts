/**
 * The updater: turns a snapshot of the learner's buffers into a new model version and its record.
 *
 * A fine-tune runs in the fine-tuning worker (from the live weights, through training's one
 * training loop); the {@link FineTuner} then scores its graph with onnxruntime on the check windows
 * (the held-out sample and the calibration reference) through the same inference worker the
 * detector uses, and compares them with the tfjs scores (parity). An update that passes parity and does not regress on the
 * held-out sample gets its threshold from its own scores of the labelled windows, a calibration on
 * the reference, and is written as the next version folder (see `versions.ts`) and handed to the
 * detector as the in-memory model directory: nothing is read back.
 *
 * A threshold-only recalibration (the score distribution moved, the graph did not) changes the
 * live version's rule with `detector.setThresholdRule`: no new worker, no new version.
 */
import type { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { rocAuc } from '../evaluate/index.js';
import { ManifestSchema, type Manifest } from '../model/manifest.js';
import { readModelDir, readWeights, type ScoreCalibration, WEIGHTS_INDEX_FILE } from '../model/model-dir.js';
import { quantile } from '../stats/quantile.js';
import { thresholdFromManifest, tuneThreshold } from '../threshold/index.js';
import { refKey } from './buffers.js';
import { channelTermOf, fitActivityCalibration, fitChannelCalibration, termAverageOf } from '../score/channel-terms.js';
import { fitCalibration } from '../score/calibration.js';
import type { FineTuneParams, WeightTensor } from './finetune-protocol.js';
import type { FineTuner } from './finetuner.js';
import type { UpdateSnapshot } from './sampling.js';
import type { VersionStore } from './versions.js';

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

/** One update attempt. */
export interface UpdateRecord {
  /** `finetune`: a retrained model; `recalibration`: the live graph with a new threshold. */
  kind: 'finetune' | 'recalibration';
  /** Why it ran. */
  trigger: 'normal-buffer-full' | 'anomaly-buffer-full' | 'input-drift' | 'score-drift';
  accepted: boolean;
  /** Why it was rejected, when it was. */
  reason?: string;
  /** Name of the version it started from (`v0004`; `v0000` is a model no learner made). */
  fromVersion: string;
  /** Name of the version it made and swapped in (accepted fine-tunes; a recalibration makes none). */
  version?: string;
  normalWindows: number;
  anomalyWindows: number;
  replayWindows: number;
  /** Windows of the anchor (the live model's training sample, see `anchor`) trained on with them. */
  anchorWindows: number;
  /** Keys (`seriesId@start`) of the labelled windows it trained on. */
  labels: string[];
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

/** Rules of an {@link Updater} (see `OnlineLearnerOptions` for each). */
export interface UpdaterOptions {
  fineTune: FineTuneOptions;
  minCalibrationWindows: number;
  regressionTolerance: number;
  parityTolerance: number;
  minAnomaliesToTune: number;
  thresholdQuantile: number;
  recalibrationSigmas: number;
}

/** What an accepted fine-tune replaced (the committee's next member). */
export interface Replaced {
  onnx: () => Uint8Array;
  threshold: number;
}

/** Makes versions for one learner. */
export class Updater {
  private readonly detector: Detector;
  private readonly fineTuner: FineTuner;
  readonly versions: VersionStore;
  private readonly o: UpdaterOptions;
  private readonly per: number;
  /** tfjs weights and graphs of the versions this learner knows, by the detector's number. */
  private readonly weightsByVersion = new Map<number, WeightTensor[]>();
  private readonly graphs = new Map<number, Uint8Array>();
  /** The live rule's manifest after a recalibration (the detector's manifest keeps the graph's threshold). */
  private readonly recalibrated = new Map<number, Manifest>();

  constructor(detector: Detector, fineTuner: FineTuner, versions: VersionStore, o: UpdaterOptions, weights: WeightTensor[]) {
    this.detector = detector;
    this.fineTuner = fineTuner;
    this.versions = versions;
    this.o = o;
    this.per = detector.window * detector.channels.length;
    this.weightsByVersion.set(detector.version, weights);
  }

  /** The live version's manifest as it decides now (its threshold moved by recalibrations). */
  liveManifest(): Manifest {
    return this.recalibrated.get(this.detector.version) ?? this.detector.manifest;
  }

  /** The name of the version the detector numbers `version` (the live one by default). */
  nameOf(version = this.detector.version): string {
    return this.versions.nameOf(version) ?? `(detector version ${version})`;
  }

  /** A record of an attempt that did nothing yet. */
  emptyRecord(kind: UpdateRecord['kind'], trigger: UpdateRecord['trigger'], at: number): UpdateRecord {
    return {
      kind, trigger, accepted: false, fromVersion: this.nameOf(), normalWindows: 0, anomalyWindows: 0, replayWindows: 0, anchorWindows: 0, labels: [],
      heldOutAucBefore: NaN, heldOutAucAfter: NaN, parity: NaN, rescaled: false, threshold: NaN, thresholdMethod: '', losses: [], seconds: 0, at,
    };
  }

  /**
   * Fine-tunes on `snap`, checks the result and, when it passes, writes and swaps in the next
   * version. `stopped` is polled after the long steps: a learner closing meanwhile abandons it.
   * @returns the record, and for accepted updates what they replaced and whether they rescaled.
   */
  async finetune(snap: UpdateSnapshot, trigger: UpdateRecord['trigger'], at: number, attempt: number, stopped: () => boolean): Promise<{ record: UpdateRecord; replaced?: Replaced } | undefined> {
    const t0 = performance.now();
    const fromVersion = this.detector.version;
    const fromDir = this.detector.modelDir;
    const weights = this.liveWeights();
    const live = this.liveManifest();
    const threshold = live.thresholds.global.value;
    const { normal, anomaly, replay, anchor, held } = snap;
    const nHeld = held.labels.length;
    const check = concatF32(held.frames, snap.reference);
    const nReplay = replay ? replay.labels.length : 0;
    const nAnchor = anchor ? anchor.labels.length : 0;
    // Labelled normal windows first (the worker checks them alone for a change of scale), the anchor last (left out when it rescales).
    const normalFrames = concatF32(normal.frames, replay?.frames ?? new Float32Array(0), anchor?.frames ?? new Float32Array(0));
    if (normalFrames.length === 0) {
      // Labelled anomalies alone: the hinge would push every score up with nothing holding normal windows down.
      throw new SeismoError('ERR_LEARN', 'an update needs normal windows: none labelled, none replayed, and no anchor (give `anchor`, or keep `replay` on)');
    }
    const ft = this.o.fineTune;
    const params: FineTuneParams = {
      epochs: ft.epochs ?? 10,
      batchSize: ft.batchSize ?? 32,
      learningRate: ft.learningRate ?? 1e-3,
      anomalyWeight: ft.anomalyWeight ?? 0.5,
      margin: (ft.marginFactor ?? 3) * threshold,
      seed: (ft.seed ?? 7) + attempt,
      rescaleAbove: ft.rescaleAbove ?? 4,
    };
    const res = await this.fineTuner.update(weights, { mean: [...live.scaler.mean], std: [...live.scaler.std] }, normalFrames, normal.labels.length, nAnchor, anomaly.frames, check, params);
    if (stopped()) return undefined;
    const { checkAfter, normalAfter, anomalyAfter, parity } = res;
    const base: UpdateRecord = {
      ...this.emptyRecord('finetune', trigger, at),
      normalWindows: normal.labels.length,
      anomalyWindows: anomaly.labels.length,
      replayWindows: nReplay,
      anchorWindows: res.rescaled ? 0 : nAnchor,
      labels: [...normal.refs, ...anomaly.refs].map(refKey),
      parity,
      rescaled: res.rescaled,
      losses: res.losses,
    };
    const heldBoth = held.labels.includes(1) && held.labels.includes(0);
    const heldBefore = res.checkBefore.subarray(0, nHeld);
    const heldAfter = checkAfter.subarray(0, nHeld);
    base.heldOutAucBefore = heldBoth ? rocAuc(held.labels, heldBefore) : NaN;
    base.heldOutAucAfter = heldBoth ? rocAuc(held.labels, heldAfter) : NaN;
    const seconds = (): number => (performance.now() - t0) / 1000;
    if (!(parity <= this.o.parityTolerance)) {
      return { record: { ...base, reason: `ONNX parity ${parity.toExponential(2)} above ${this.o.parityTolerance}`, seconds: seconds() } };
    }
    if (heldBoth && base.heldOutAucAfter < base.heldOutAucBefore - this.o.regressionTolerance) {
      return { record: { ...base, reason: `held-out ROC AUC fell from ${base.heldOutAucBefore.toFixed(3)} to ${base.heldOutAucAfter.toFixed(3)}`, seconds: seconds() } };
    }
    // Threshold of the new version, from its own scores of every labelled window it can see.
    const labels = concatU8(held.labels, normal.labels, anomaly.labels);
    const scores = concatF32(heldAfter, normalAfter.subarray(0, normal.labels.length), anomalyAfter);
    let value: number;
    let method: string;
    const positives = labels.reduce((a, b) => a + b, 0);
    if (positives >= this.o.minAnomaliesToTune && positives < labels.length) {
      value = tuneThreshold(labels, scores, 'f1').threshold;
      method = 'best-f1';
    } else {
      const normals = [...scores.filter((_, i) => labels[i] === 0), ...normalAfter.subarray(normal.labels.length)];
      value = quantile(normals, this.o.thresholdQuantile);
      method = 'quantile';
    }
    if (!Number.isFinite(value)) value = threshold;
    const manifest = { ...nextManifest(live, value, method, { labelled: labels.length, anomalies: positives, quantile: this.o.thresholdQuantile }, res.losses, res.seconds), scaler: res.scaler };
    const calibration = snap.referenceWindows >= this.o.minCalibrationWindows ? fitCalibration(checkAfter.subarray(nHeld), `${snap.referenceWindows} recent unlabelled windows it was not trained on`) : undefined;
    if (calibration) {
      // The new version's own channel statistics on the same windows (channel attribution).
      const C = live.channels.length;
      const stats = fitChannelCalibration(res.checkChannelScores.subarray(nHeld * C), checkAfter.subarray(nHeld), C, channelTermOf(live.score.definition), termAverageOf(live.score.definition));
      const activity = res.checkActivity ? fitActivityCalibration(res.checkActivity.subarray(nHeld * C), C) : undefined;
      if (stats) calibration.channels = activity ? { ...stats, activity } : stats;
    }
    const name = this.versions.allocate();
    const record: UpdateRecord = { ...base, accepted: true, version: name, threshold: value, thresholdMethod: method, calibration, seconds: seconds() };
    const model = this.versions.write(name, { manifest, onnx: res.onnx, weights: res.weights, calibration }, { parent: base.fromVersion, record: jsonSafe(record) });
    const swap = await this.detector.swapModel(model);
    this.versions.bind(swap.version, name);
    this.weightsByVersion.set(swap.version, res.weights);
    this.graphs.set(swap.version, res.onnx);
    const replacedGraph = this.graphs.get(fromVersion);
    return { record: { ...record, seconds: seconds() }, replaced: { onnx: () => replacedGraph ?? readModelDir(fromDir).onnx, threshold } };
  }

  /**
   * Moves the live threshold to `median + k * 1.4826 * MAD` of the recent score `levels`, mapped
   * back to the live version's raw scale (robust to bursts of anomalies among them, up to half,
   * unlike a high quantile). Same graph, same scores: the calibration stays, and so does the version.
   */
  recalibrate(levels: Float64Array, at: number): UpdateRecord | undefined {
    const t0 = performance.now();
    const n = levels.length;
    if (n < 32) return undefined;
    const live = this.liveManifest();
    const all = Array.from(levels);
    const median = quantile(all, 0.5);
    const mad = quantile(all.map((v) => Math.abs(v - median)), 0.5);
    const level = median + this.o.recalibrationSigmas * 1.4826 * mad;
    const cal = this.detector.calibration();
    const value = Math.exp(cal ? cal.center + cal.scale * level : level);
    const manifest = nextManifest(live, value, 'quantile', { method: 'median+k*MAD of log scores', k: this.o.recalibrationSigmas, windows: n, on: 'recent scores' });
    const version = this.detector.version;
    this.detector.setThresholdRule(thresholdFromManifest(manifest));
    this.recalibrated.set(version, manifest);
    return { ...this.emptyRecord('recalibration', 'score-drift', at), accepted: true, threshold: value, thresholdMethod: 'median+MAD', calibration: cal, seconds: (performance.now() - t0) / 1000 };
  }

  /** Forgets what it holds of versions the detector no longer keeps, and prunes their folders (only those this learner made). */
  prune(): void {
    const kept = this.detector.versions();
    const numbers = new Set(kept.map((k) => k.version));
    for (const map of [this.weightsByVersion, this.graphs, this.recalibrated]) for (const v of [...map.keys()]) if (!numbers.has(v)) map.delete(v);
    this.versions.prune(kept.map((k) => k.dir));
  }

  /** The live version's weights: kept in memory for the versions this learner made, else read from its directory (e.g. after a rollback). */
  private liveWeights(): WeightTensor[] {
    const version = this.detector.version;
    const weights = this.weightsByVersion.get(version) ?? readWeights(this.detector.modelDir);
    if (!weights) throw new SeismoError('ERR_LEARN', `no tfjs weights for the live version ${this.nameOf(version)}: ${this.detector.modelDir} has no ${WEIGHTS_INDEX_FILE}`);
    this.weightsByVersion.set(version, weights);
    return weights;
  }
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

/** A record as plain JSON (NaN becomes null). */
function jsonSafe(r: UpdateRecord): unknown {
  return JSON.parse(JSON.stringify(r));
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

/** One line that says what an update attempt did (for logs: `seismo learn`, the benchmarks). */
export function describeUpdate(u: UpdateRecord): string {
  const what = !u.accepted ? `rejected: ${u.reason}` : u.version ? `${u.fromVersion} -> ${u.version}` : `${u.fromVersion}, new threshold`;
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
