/**
 * From each channel's attribution z to what an anomaly names: the per-series running average of
 * z (`AttributionMemory`), the shares `max(z_c, 0) / sum_k max(z_k, 0)`, and the top channels of
 * a window picked in one pass (no sort per anomaly). Formulas in ./attribution.ts.
 */
/**
 * Per-series memory of the attribution: an exponential average of each channel's z over the
 * series' recent windows, so that a channel that has stood out for a while keeps its rank through
 * a window where the evidence is weaker (a level shift after its onset, a broken correlation that
 * is mild on every single window), while the noise of the others averages out. One row of C per
 * series slot, allocated once.
 */
export class AttributionMemory {
  /**
   * `[slots, C]` each series' average, and whether it has one yet: read and written in place by
   * `ChannelAttribution.attributeAndLearnBatch` too, which folds a window in as {@link apply}
   * does while its z are still in registers.
   */
  readonly state: Float32Array;
  readonly seen: Uint8Array;

  /**
   * @param slots series slots; @param channels C;
   * @param weight weight of the newest window in the average (1 = no memory).
   */
  constructor(
    slots: number,
    private readonly channels: number,
    readonly weight: number,
  ) {
    this.state = new Float32Array(slots * channels);
    this.seen = new Uint8Array(slots);
  }

  /** Folds window z `z[offset .. offset + C)` of series `slot` into its average, and writes the attribution back there. */
  apply(slot: number, z: Float32Array, offset: number): void {
    const C = this.channels;
    const row = slot * C;
    if (!this.seen[slot]) {
      for (let c = 0; c < C; c++) this.state[row + c] = z[offset + c]!;
      this.seen[slot] = 1;
      return;
    }
    const w = this.weight;
    for (let c = 0; c < C; c++) {
      const v = z[offset + c]!;
      if (!Number.isFinite(v)) continue;
      const avg = (1 - w) * this.state[row + c]! + w * v;
      this.state[row + c] = avg;
      z[offset + c] = avg;
    }
  }

  /** Forgets a series (its slot is reused, or its statistics changed meaning). */
  reset(slot: number): void {
    this.seen[slot] = 0;
  }
}

/**
 * Each channel's share of an attribution row: `max(z_c, 0) / sum_k max(z_k, 0)`, or `1/C` each
 * when no channel is above its normal median. Writes `out[outOffset .. outOffset + C)`.
 */
export function attributionShares<T extends Float32Array | Float64Array>(z: ArrayLike<number>, offset: number, C: number, out: T, outOffset = 0): T {
  let total = 0;
  for (let c = 0; c < C; c++) {
    const v = z[offset + c]!;
    if (v > 0) total += v;
  }
  for (let c = 0; c < C; c++) {
    const v = z[offset + c]!;
    out[outOffset + c] = total > 0 ? (v > 0 ? v / total : 0) : 1 / C;
  }
  return out;
}

/** Scratch of {@link topChannels} for C channels, allocated once by its caller. */
export interface TopChannelsScratch {
  order: Int32Array;
  shares: Float32Array;
}

/** Scratch arrays for {@link topChannels} of C channels. */
export function topChannelsScratch(channels: number): TopChannelsScratch {
  return { order: new Int32Array(channels), shares: new Float32Array(channels) };
}

/**
 * The `k` channels of an attribution row ranked first, most anomalous first, each with its share
 * ({@link attributionShares}): what an anomaly event lists. Allocates only the returned list.
 */
export function topChannels(attribution: ArrayLike<number>, offset: number, names: readonly string[], k: number, scratch: TopChannelsScratch): { name: string; score: number }[] {
  const C = names.length;
  const top = Math.min(k, C);
  const { order, shares } = scratch;
  // One insertion pass into a top-k list: O(C * k), no sort (events are on the hot path of busy
  // streams; sorting every channel dominated the main thread with many channels). Ties keep the
  // lower channel index first; NaN ranks last.
  const key = (c: number): number => {
    const v = attribution[offset + c]!;
    return Number.isNaN(v) ? -Infinity : v;
  };
  let found = 0;
  for (let c = 0; c < C && top > 0; c++) {
    const v = key(c);
    if (found === top && !(v > key(order[top - 1]!))) continue;
    let j = found < top ? found++ : top - 1;
    while (j > 0 && v > key(order[j - 1]!)) {
      order[j] = order[j - 1]!;
      j--;
    }
    order[j] = c;
  }
  attributionShares(attribution, offset, C, shares);
  const out = new Array<{ name: string; score: number }>(top);
  for (let j = 0; j < top; j++) out[j] = { name: names[order[j]!]!, score: shares[order[j]!]! };
  return out;
}
