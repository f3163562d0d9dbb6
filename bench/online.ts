/**
 * The online protocol on the thesis streams (`seismo bench power|smtp|http|smtp-http --online`).
 *
 * Same model, same head training and same stream as the static figure (bench/streams.ts). The
 * stream after the head is replayed through a second detector with an OnlineLearner attached; a
 * simulated expert answers the learner's questions from the ground-truth window labels, within a
 * budget per period and after a delay. Each window is scored once, by whichever version was live
 * when it was dispatched. Scores of different versions are on different scales (a fine-tuned
 * version reconstructs normal data better and scores everything lower), so each version carries a
 * score calibration (src/score/calibration.ts: robust location and spread of its log scores on
 * normal windows it did not train on; the static model's on its validation windows, written by
 * `seismo train` beside the model) and
 * `aucUpdatingNormalized` is the window-level ROC AUC of the normalised scores, the one scale an
 * alerting rule sees across hot swaps; `aucUpdating` (as before) pools the raw scores of all
 * versions, each on its own scale. The replay
 * waits for a running update before pushing the next chunk (a stream slower than fine-tuning;
 * see src/learn/replay.ts), so the figures do not depend on machine load.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { rocAuc } from '../src/evaluate/index.js';
import { ExpertSimulator } from '../src/learn/expert.js';
import { describeUpdate, OnlineLearner, type OnlineLearnerOptions, type UpdateRecord } from '../src/learn/online.js';
import { replayOnline, replayRocAuc } from '../src/learn/replay.js';
import { readCalibration, type ScoreCalibration } from '../src/model/model-dir.js';

/** Online settings of one stream: the learner's buffers and budget, the expert's budget and delay. */
export interface OnlineProtocol {
  /** Windows per inference call (= the mini-batch the learner sees). */
  batchSize: number;
  learner: Omit<OnlineLearnerOptions, 'workDir' | 'weights'>;
  expert: { budget: number; period: number; delay: number };
}

/** The protocol in words, from its settings (so the two cannot disagree). */
export function describeProtocol(p: OnlineProtocol): string {
  const { budget, period, delay } = p.expert;
  return `mini-batches of ${p.batchSize} windows, ${budget} questions per ${period} windows answered ${delay} windows later, buffers ${p.learner.normalBuffer} normal / ${p.learner.anomalyBuffer} anomalous`;
}

export interface OnlineFigures {
  /** ROC AUC of the raw scores pooled over versions (each version on its own scale). */
  aucUpdating: number;
  /** ROC AUC of the normalised scores (one scale across versions); null when a version had no calibration. */
  aucUpdatingNormalized: number | null;
  /** The static model's calibration, fitted on its validation windows. */
  calibration: ScoreCalibration;
  updates: number;
  rejectedUpdates: number;
  recalibrations: number;
  labels: number;
  questions: number;
  drifts: number;
  history: UpdateRecord[];
  onlineSeconds: number;
  protocolOnline: string;
  /** Windows each version scored, its anomalous ones, and the ROC AUC among them (NaN without both classes). */
  perVersion: { version: number; windows: number; anomalous: number; auc: number; meanNormalScore: number; meanNormalNormalized: number }[];
}

/** What {@link runOnline} replays, and against what. */
export interface OnlineRun {
  /** The static model's directory (with its saved weights, which the learner starts from). */
  dir: string;
  /** The streamed part, `[T, C]` from the first streamed frame on, cut into windows every `stride` frames. */
  frames: Float32Array;
  stride: number;
  /** Ground truth of the window starting at streamed frame `start` (1 anomalous). */
  label: (start: number) => number;
  protocol: OnlineProtocol;
  log: (line: string) => void;
  /** The static model's training windows, laid end to end: the learner's anchor. */
  anchor: Float32Array;
}

/** Replays the stream part with online learning. */
export async function runOnline(run: OnlineRun): Promise<OnlineFigures> {
  const { dir, frames, stride, label, protocol, log, anchor } = run;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-'));
  const t0 = performance.now();
  const calibration = readCalibration(dir);
  if (!calibration) throw new Error(`${dir} has no calibration.json: train it with trainToDir (seismo train)`);
  log(`  v0000 calibration on ${calibration.on}: center ${calibration.center.toPrecision(3)}, scale ${calibration.scale.toPrecision(3)}`);
  const detector = await Detector.load(dir, { stride, batchSize: protocol.batchSize });
  let learner: OnlineLearner | undefined;
  try {
    const expert = new ExpertSimulator({ truth: (ref) => label(ref.start) === 1, ...protocol.expert });
    learner = await OnlineLearner.attach(detector, {
      ...protocol.learner,
      workDir: work,
      anchor,
      onQuery: (item) => expert.ask(item),
      onUpdate: (u) => log(`  ${describeUpdate(u)}`),
      onDrift: (d) => log(`  drift on ${d.on} at window ${d.at} (${d.signal.direction}): ${d.action}`),
    });
    const C = detector.channels.length;
    const T = frames.length / C;
    const time = Float64Array.from({ length: T }, (_, i) => i);
    const r = await replayOnline(detector, learner, expert, time, frames);
    const labels = Uint8Array.from({ length: r.scores.length }, (_, w) => label(w * stride));
    const s = learner.stats();
    const perVersion = [...new Set(r.versions)].sort((a, b) => a - b).map((v) => {
      const idx = [...r.versions.keys()].filter((w) => r.versions[w] === v);
      const y = Uint8Array.from(idx, (w) => labels[w]!);
      const sc = Float32Array.from(idx, (w) => r.scores[w]!);
      const anomalous = y.reduce((a, b) => a + b, 0);
      const normals = idx.filter((w) => !labels[w]);
      const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
      return {
        version: v, windows: idx.length, anomalous, auc: anomalous > 0 && anomalous < idx.length ? rocAuc(y, sc) : NaN,
        meanNormalScore: mean(normals.map((w) => r.scores[w]!)), meanNormalNormalized: mean(normals.map((w) => r.normalized[w]!)),
      };
    });
    for (const p of perVersion) log(`  ${learner.versionName(p.version)}: ${p.windows} windows (${p.anomalous} anomalous), AUC ${p.auc.toFixed(3)}, mean normal score ${p.meanNormalScore.toPrecision(3)} (normalised ${p.meanNormalNormalized.toFixed(2)})`);
    const auc = replayRocAuc(labels, r);
    if (auc.normalized === null) log('  some windows were scored by versions without a calibration: no normalised figure');
    return {
      perVersion,
      calibration,
      aucUpdating: auc.raw,
      aucUpdatingNormalized: auc.normalized,
      updates: s.updates,
      rejectedUpdates: s.rejectedUpdates,
      recalibrations: s.recalibrations,
      labels: s.labels,
      questions: s.asked,
      drifts: s.drifts,
      history: learner.history,
      onlineSeconds: (performance.now() - t0) / 1000,
      protocolOnline: describeProtocol(protocol),
    };
  } finally {
    await learner?.close();
    await detector.close();
    fs.rmSync(work, { recursive: true, force: true });
  }
}
