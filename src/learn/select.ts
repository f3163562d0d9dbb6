/**
 * Active learning: which windows of a scored mini-batch to ask the expert about.
 *
 * Uncertainty is the distance of the score from the threshold on a log scale,
 * `|ln(score / threshold)|`: reconstruction errors are heavy-tailed and positive, so a factor of
 * two above or below the threshold is equally (un)certain. Half of the budget goes to the windows
 * nearest the threshold; the other half reviews alarms drawn at random, because a whole new
 * regime of normal behaviour (a stream that switched service) scores far above the threshold —
 * certain, and wrong — and only alarm review finds it.
 */
import { mulberry32 } from './buffers.js';

/** One scored window offered to {@link selectQueries}. */
export interface Candidate {
  index: number;
  score: number;
  threshold: number;
  alarm: boolean;
}

/** `|ln(score / threshold)|` (Infinity for non-positive or non-finite inputs). */
export function uncertainty(score: number, threshold: number): number {
  if (!(score > 0) || !(threshold > 0) || !Number.isFinite(score) || !Number.isFinite(threshold)) return Infinity;
  return Math.abs(Math.log(score / threshold));
}

/**
 * Picks up to `k` windows: the `ceil(k / 2)` most uncertain within `band`, then alarms at random.
 * @returns the chosen candidates with the reason for each.
 */
export function selectQueries(candidates: Candidate[], k: number, band: number, rand: () => number = mulberry32(1)): { candidate: Candidate; reason: 'uncertain' | 'alarm' }[] {
  if (k <= 0 || candidates.length === 0) return [];
  const chosen = new Set<number>();
  const out: { candidate: Candidate; reason: 'uncertain' | 'alarm' }[] = [];
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
