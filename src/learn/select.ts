/**
 * Active learning: which windows of a scored mini-batch to ask the expert about.
 *
 * Uncertainty is the distance of the score from the threshold on a log scale,
 * `|ln(score / threshold)|`: reconstruction errors are heavy-tailed and positive, so a factor of
 * two above or below the threshold is equally (un)certain. Half of the budget goes to the windows
 * nearest the threshold; the other half reviews alarms drawn at random, because a whole new
 * regime of normal behaviour (a stream that switched service) scores far above the threshold —
 * certain, and wrong — and only alarm review finds it.
 *
 * Query by committee ({@link selectByCommittee}): where a second model scored the same windows
 * (the learner's previous version), half of the budget goes to the windows the two disagree on
 * most, on their threshold-relative log scores `ln(score / threshold)` (each model's own scale).
 */
import { mulberry32 } from '../stats/random.js';

/** One scored window offered to {@link selectQueries}. */
export interface Candidate {
  index: number;
  score: number;
  threshold: number;
  alarm: boolean;
}

/** Why a window was asked about. */
export type QueryReason = 'uncertain' | 'alarm' | 'disagreement';

/** `|ln(score / threshold)|` (Infinity for non-positive or non-finite inputs). */
export function uncertainty(score: number, threshold: number): number {
  const u = Math.abs(relativeLogScore(score, threshold));
  return Number.isNaN(u) ? Infinity : u;
}

/**
 * Picks up to `k` windows: the `ceil(k / 2)` most uncertain within `band`, then alarms at random.
 * @returns the chosen candidates with the reason for each.
 */
export function selectQueries(candidates: Candidate[], k: number, band: number, rand: () => number = mulberry32(1)): { candidate: Candidate; reason: QueryReason }[] {
  if (k <= 0 || candidates.length === 0) return [];
  const chosen = new Set<number>();
  const out: { candidate: Candidate; reason: QueryReason }[] = [];
  const uncertain = candidates
    .map((c) => ({ c, u: uncertainty(c.score, c.threshold) }))
    .filter((x) => x.u <= band)
    .sort((a, b) => a.u - b.u);
  for (const { c } of uncertain.slice(0, Math.ceil(k / 2))) {
    chosen.add(c.index);
    out.push({ candidate: c, reason: 'uncertain' });
  }
  const alarms = candidates.filter((c) => c.alarm && !chosen.has(c.index));
  while (out.length < k && alarms.length > 0) {
    const j = Math.floor(rand() * alarms.length);
    const c = alarms.splice(j, 1)[0]!;
    chosen.add(c.index);
    out.push({ candidate: c, reason: 'alarm' });
  }
  // Budget left and no alarm to review: spend it on the next most uncertain windows.
  for (const { c } of uncertain) {
    if (out.length >= k) break;
    if (chosen.has(c.index)) continue;
    chosen.add(c.index);
    out.push({ candidate: c, reason: 'uncertain' });
  }
  return out;
}

/** The signed threshold-relative log score `ln(score / threshold)` (NaN for non-positive or non-finite inputs). */
export function relativeLogScore(score: number, threshold: number): number {
  if (!(score > 0) || !(threshold > 0) || !Number.isFinite(score) || !Number.isFinite(threshold)) return NaN;
  return Math.log(score / threshold);
}

/**
 * The windows worth a committee's opinion: the `size - alarms` most uncertain and up to a quarter
 * of `size` alarms at random (the pool a second model scores before {@link selectByCommittee}).
 */
export function committeePool(candidates: Candidate[], size: number, rand: () => number = mulberry32(1)): Candidate[] {
  const alarmSlots = Math.floor(size / 4);
  const alarms = candidates.filter((c) => c.alarm);
  const picked = new Set<Candidate>();
  while (picked.size < alarmSlots && alarms.length > 0) picked.add(alarms.splice(Math.floor(rand() * alarms.length), 1)[0]!);
  const uncertain = candidates
    .filter((c) => !picked.has(c))
    .map((c) => ({ c, u: uncertainty(c.score, c.threshold) }))
    .filter((x) => Number.isFinite(x.u))
    .sort((a, b) => a.u - b.u);
  for (const { c } of uncertain) {
    if (picked.size >= size) break;
    picked.add(c);
  }
  return [...picked];
}

/**
 * Query by committee: the `ceil(k / 2)` candidates with the largest `disagreement` (by index;
 * candidates without one are not in the running), then {@link selectQueries} for the rest.
 */
export function selectByCommittee(candidates: Candidate[], disagreement: Map<number, number>, k: number, band: number, rand: () => number = mulberry32(1)): { candidate: Candidate; reason: QueryReason }[] {
  if (k <= 0 || candidates.length === 0) return [];
  const disputed = candidates
    .filter((c) => Number.isFinite(disagreement.get(c.index)))
    .sort((a, b) => disagreement.get(b.index)! - disagreement.get(a.index)!)
    .slice(0, Math.ceil(k / 2));
  const out: { candidate: Candidate; reason: QueryReason }[] = disputed.map((candidate) => ({ candidate, reason: 'disagreement' }));
  const taken = new Set(disputed.map((c) => c.index));
  return out.concat(selectQueries(candidates.filter((c) => !taken.has(c.index)), k - out.length, band, rand));
}
