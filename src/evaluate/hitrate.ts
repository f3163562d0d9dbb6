/**
 * HitRate@P%: how well a detector names the channels behind an anomaly (the interpretation metric
 * of OmniAnomaly, Su et al., KDD 2019).
 *
 * For an anomalous row t with labelled channels G_t (|G_t| >= 1) and the detector's channels ranked
 * by attribution, most anomalous first:
 *
 *     HitRate@P%(t) = |G_t ∩ top_k(t)| / |G_t|,   k = min(floor(|G_t| * P / 100), C)
 *
 * and HitRate@P% is its mean over the rows that have at least one labelled channel. At 100% the
 * detector gets as many guesses as there are culprits; at 150% half as many again (for a single
 * culprit floor(1.5) = 1, so both agree). Ties in attribution are broken by channel order (a stable
 * sort); an attribution that is flat across channels therefore scores about what chance would,
 * or better when the labelled channels come first: compare kinds on the same labels.
 */
import { SeismoError } from '../errors.js';

/** Per-channel inputs of {@link hitRate}: one row per evaluated point, C channels each. */
export interface HitRateInput {
  /** `[rows, C]` row-major: each channel's attribution (higher = more to blame). NaN ranks last. */
  attribution: ArrayLike<number>;
  /** `[rows, C]` row-major 0/1: the channels labelled anomalous at each row. */
  channelLabels: ArrayLike<number>;
  /** Channels per row (C >= 1). */
  channels: number;
  /**
   * Optional `[rows]` 0/1 mask of the rows to evaluate (e.g. the rows a detector flagged, as
   * OmniAnomaly scores interpretation on detected anomalies). Default: every row with a labelled channel.
   */
  rows?: ArrayLike<number>;
}

/** Result of {@link hitRate}. */
export interface HitRateResult {
  /** Mean HitRate@100% over the evaluated rows; NaN when no row has a labelled channel. */
  hitRate100: number;
  /** Mean HitRate@150%; NaN when no row has a labelled channel. */
  hitRate150: number;
  /** Share of evaluated rows whose top-ranked channel is labelled (top-1 accuracy). */
  top1: number;
  /** Rows evaluated (those with at least one labelled channel, within `rows` when given). */
  rows: number;
}

/**
 * HitRate@100% and @150% (and the top-1 hit share) of an attribution against per-channel labels.
 * @throws SeismoError `ERR_BAD_SHAPE` when the arrays do not hold `rows * channels` values,
 *   `ERR_EVAL` for a label other than 0/1.
 */
export function hitRate(input: HitRateInput): HitRateResult {
  const { attribution, channelLabels, channels: C } = input;
  if (!Number.isInteger(C) || C < 1) throw new SeismoError('ERR_BAD_SHAPE', `hitRate: channels must be a positive integer, got ${C}`);
  if (attribution.length !== channelLabels.length || attribution.length % C !== 0) {
    throw new SeismoError('ERR_BAD_SHAPE', `hitRate: attribution has ${attribution.length} values and channelLabels ${channelLabels.length}; both must hold rows * ${C} channels`);
  }
  const n = attribution.length / C;
  if (input.rows && input.rows.length !== n) throw new SeismoError('ERR_BAD_SHAPE', `hitRate: rows mask has ${input.rows.length} entries for ${n} rows`);
  const order = new Int32Array(C);
  let sum100 = 0;
  let sum150 = 0;
  let top1 = 0;
  let rows = 0;
  for (let r = 0; r < n; r++) {
    if (input.rows && !input.rows[r]) continue;
    let labelled = 0;
    for (let c = 0; c < C; c++) {
      const y = channelLabels[r * C + c]!;
      if (y !== 0 && y !== 1) throw new SeismoError('ERR_EVAL', `hitRate: channelLabels[${r * C + c}] is ${y}; labels must be 0 or 1`);
      labelled += y;
    }
    if (labelled === 0) continue;
    rankChannels(attribution, r * C, C, order);
    const k100 = Math.min(Math.floor(labelled), C);
    const k150 = Math.min(Math.floor(labelled * 1.5), C);
    let hits = 0;
    for (let k = 0; k < k150; k++) {
      hits += channelLabels[r * C + order[k]!]!;
      if (k === k100 - 1) sum100 += hits / labelled;
    }
    sum150 += hits / labelled;
    top1 += channelLabels[r * C + order[0]!]!;
    rows++;
  }
  return { hitRate100: rows ? sum100 / rows : NaN, hitRate150: rows ? sum150 / rows : NaN, top1: rows ? top1 / rows : NaN, rows };
}

/** Channel indices of one row by attribution, largest first; NaN last; ties by index (a stable insertion sort: C is small). */
export function rankChannels(attribution: ArrayLike<number>, offset: number, C: number, order: Int32Array): void {
  const key = (c: number): number => {
    const v = attribution[offset + c]!;
    return Number.isNaN(v) ? -Infinity : v;
  };
  for (let c = 0; c < C; c++) {
    let j = c;
    const v = key(c);
    while (j > 0 && key(order[j - 1]!) < v) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = c;
  }
}
