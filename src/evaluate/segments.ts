/**
 * Anomaly ranges: maximal runs of consecutive 1s in a 0/1 vector. The range-aware metrics
 * (point-adjust, Tatbul range P/R, VUS, affiliation) all reason about these runs rather than
 * about single points.
 */

/** A closed index range `[start, end]` (both inclusive), length `end - start + 1`. */
export interface Range {
  start: number;
  end: number;
}

/** The maximal runs of 1s in `x`, in order. */
export function findRanges(x: Uint8Array): Range[] {
  const out: Range[] = [];
  let start = -1;
  for (let i = 0; i < x.length; i++) {
    if (x[i] === 1) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      out.push({ start, end: i - 1 });
      start = -1;
    }
  }
  if (start >= 0) out.push({ start, end: x.length - 1 });
  return out;
}
