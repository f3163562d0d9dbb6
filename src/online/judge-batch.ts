/**
 * A model's scored batch in online mode's terms: each raw score through its series' normaliser
 * (or scorer) to [0, 1], the alarm rule on it, and the guard — a window is admitted into the
 * model's training buffer only while no overlapping window reached `guardBelow`, and a window
 * that reaches it withdraws the recent admitted windows it overlaps. Per window nothing is
 * allocated; per batch, the two output arrays.
 */
import type { ScoredBatch } from '../detector/index.js';
import type { ThresholdRule } from '../threshold/rule.js';
import { live, type ModelGroup } from './online-model.js';
import type { ResolvedPolicy } from './policy.js';
import type { SeriesState } from './series.js';
import type { OnlineBatch } from './types.js';

/** What judging needs from the engine. */
export interface JudgeContext {
  series: ReadonlyMap<string, SeriesState>;
  policy: ResolvedPolicy;
  window: number;
  /** Decides alarms on normalised scores, the series' index as its slot. */
  alarmRule: ThresholdRule;
}

/** Online alarm rules see the normalised score alone. */
const NO_CHANNELS = new Float32Array(0);

/**
 * Judges one batch of model `g`: updates each series' counters, normaliser, alarm and guard state
 * and `g`'s training buffer, marks alarms in `batch.anomalies` too (listeners after the engine,
 * such as an `OnlineLearner` attached to the detector, see the online alarm), and returns the batch
 * as the engine reports it.
 */
export function judgeBatch(ctx: JudgeContext, g: ModelGroup, batch: ScoredBatch): OnlineBatch {
  const n = batch.size;
  const W = ctx.window;
  const p = ctx.policy;
  const normalized = new Float32Array(n);
  const anomalies = new Uint8Array(n);
  const learn = p.learning !== 'off';
  let s: SeriesState | undefined;
  for (let i = 0; i < n; i++) {
    const id = batch.seriesIds[i]!;
    if (s === undefined || s.id !== id) s = ctx.series.get(id)!;
    const raw = batch.scores[i]!;
    // A scorer sees the sample's raw frame (kept since it was sent) with the deep score, settling or not.
    const settling = s.counters.scored < p.settle;
    let z = s.scorer ? s.scorer.update(s.rawFifo!, raw, s.takeRaw()) : settling ? 0 : s.normalizer.update(raw);
    if (settling) z = 0;
    if (Number.isNaN(raw)) {
      normalized[i] = NaN;
      continue;
    }
    const start = batch.starts[i]!;
    const end = start + W - 1;
    normalized[i] = z;
    s.counters.scored++;
    s.lastEnd = end;
    if (!settling && ctx.alarmRule.decide(z, NO_CHANNELS, s.index)) {
      anomalies[i] = 1;
      batch.anomalies[i] = 1;
      s.counters.alarms++;
    }
    if (z >= p.guardBelow) {
      s.lastHot = end;
      if (learn) withdraw(g, s, end - W + 1);
    } else if (learn && s.lastHot < start && (end + s.base) % p.admitEvery === 0) {
      admit(g, s, start, end);
    }
  }
  g.scored += n;
  return { size: n, seriesIds: batch.seriesIds, timestamps: batch.timestamps, starts: batch.starts, scores: batch.scores, normalized, anomalies, attribution: batch.attribution, model: g.index, version: batch.version };
}

/** Copies a window the guard lets through into the training buffer (its frames are in the rings while the batch is delivered). */
function admit(g: ModelGroup, s: SeriesState, start: number, end: number): void {
  if (!live(g).windowFrames(s.id, start, g.buffer.headSlot())) return;
  const idx = g.buffer.commit(s.index, end);
  s.recentEntries[s.recentHead] = idx;
  s.recentHead = (s.recentHead + 1) % s.recentEntries.length;
  s.counters.admitted++;
  g.admittedSince++;
}

/** A window turned hot: the windows this series admitted recently that end at or after `from` (they overlap it) are withdrawn. */
function withdraw(g: ModelGroup, s: SeriesState, from: number): void {
  for (let k = 0; k < s.recentEntries.length; k++) {
    if (g.buffer.withdrawFrom(s.recentEntries[k]!, s.index, from)) {
      s.counters.withdrawn++;
      s.recentEntries[k] = -1;
    }
  }
}
