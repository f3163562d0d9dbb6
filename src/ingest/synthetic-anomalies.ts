/**
 * The anomalies that `generateSeries` (./synthetic.ts) plants: their kinds, how a caller asks for
 * them, and where they go. Placement draws from the generator's own PRNG, in the generator's
 * order, so a seed gives the same series whichever file the code lives in.
 */
import { SeismoError } from '../errors.js';
import type { Random } from '../stats/random.js';

/** The anomaly kinds the generator can plant. */
export type AnomalyKind =
  /** One to three consecutive points far off (6 std by default), on one channel. */
  | 'spike'
  /** A segment of one or two channels offset by a constant (3 std by default). */
  | 'level_shift'
  /** DDoS-like surge: traffic-like channels rise together with a ramp, plateau and fall; CPU and latency follow. */
  | 'burst'
  /** A channel frozen at its value at the segment start (a stuck sensor or a dead exporter). */
  | 'stuck'
  /** The seasonal pattern of one channel switches to a faster cycle for a segment. */
  | 'frequency'
  /**
   * A broken correlation: one channel's movement is mirrored around its segment mean, so it
   * runs against the load that still drives the others while keeping its level and range.
   */
  | 'correlation';

/**
 * The kinds the default plan cycles through, in that order. `correlation` is not among them (it
 * came later; the default plan, and so the demo's series, stays as it was): request it by name.
 */
export const ANOMALY_KINDS: readonly AnomalyKind[] = ['spike', 'level_shift', 'burst', 'stuck', 'frequency'];

/** Every kind the generator can plant. */
export const ALL_ANOMALY_KINDS: readonly AnomalyKind[] = [...ANOMALY_KINDS, 'correlation'];

/** One anomaly to plant; fields left out are drawn from the generator's PRNG. */
export interface AnomalyRequest {
  kind: AnomalyKind;
  /** First row (0-based). Default: a random place in the anomalous part (after `normalPrefix`). */
  start?: number;
  /** Rows affected. Default: spike 1-3, stuck 40-80, others 24-64. */
  length?: number;
  /** Channels affected (0-based). Default: one random channel; for `burst`, the traffic-like ones. */
  channels?: number[];
  /** Size in units of the channel's clean standard deviation. Default: spike 6, level_shift 3, burst 4. */
  magnitude?: number;
}

/** A planted anomaly as it ended up in the series. */
export interface PlantedAnomaly {
  kind: AnomalyKind;
  /** First anomalous row (inclusive). */
  start: number;
  /** One past the last anomalous row (exclusive): rows [start, end) are labelled 1. */
  end: number;
  /** Channels it touches (0-based, ascending). */
  channels: number[];
}

/** A planted anomaly with the index of the request it came from. */
export interface Placement extends PlantedAnomaly {
  requestIndex: number;
}

/**
 * Places the requested anomalies. Requests with an explicit `start` go where asked; the others
 * share the part after the normal prefix in equal slots, each placed at random inside its slot
 * with a margin, so anomalies never overlap and normal stretches separate them.
 */
export function placeAnomalies(
  requests: AnomalyRequest[], rng: Random, length: number, C: number, prefix: number, traffic: number[],
): Placement[] {
  const auto = requests.flatMap((r, i) => (r.start === undefined ? [i] : []));
  const slotCount = auto.length;
  const slotLen = slotCount > 0 ? Math.floor((length - prefix) / slotCount) : 0;
  // Shuffle which slot each automatic request gets, so kinds are mixed over time.
  const slotOf = new Map<number, number>(rng.shuffle([...auto]).map((reqIdx, slot) => [reqIdx, slot]));
  const out: Placement[] = [];
  for (const [i, r] of requests.entries()) {
    if (!ALL_ANOMALY_KINDS.includes(r.kind)) invalid(`anomalies[${i}].kind`, r.kind, ALL_ANOMALY_KINDS.join(', '));
    const len = r.length ?? defaultLength(r.kind, rng);
    checkInt(`anomalies[${i}].length`, len, 1);
    let start: number;
    if (r.start !== undefined) {
      start = r.start;
      checkInt(`anomalies[${i}].start`, start, 0);
      if (start + len > length) invalid(`anomalies[${i}]`, `${start}+${len}`, `to end within the ${length} rows`);
    } else {
      const slot = slotOf.get(i)!;
      // Keep part of the slack (at least 1 row) clear on each side, so neighbours never touch.
      const margin = Math.max(1, Math.floor((slotLen - len) / 4));
      const room = slotLen - 2 * margin - len;
      if (room < 0) {
        invalid('anomalies', `${slotCount} anomalies of up to ${len} rows`,
          `to fit after the normal prefix (${length - prefix} rows); use a longer series, fewer anomalies or a smaller normalPrefix`);
      }
      start = prefix + slot * slotLen + margin + rng.int(0, room);
    }
    let channels: number[];
    if (r.channels !== undefined) {
      channels = [...new Set(r.channels)].sort((a, b) => a - b);
      if (channels.length === 0 || channels.some((c) => !Number.isInteger(c) || c < 0 || c >= C)) {
        invalid(`anomalies[${i}].channels`, r.channels, `channel indices in [0, ${C - 1}]`);
      }
    } else if (r.kind === 'burst') {
      // Traffic channels move together; with fewer than two of them (C < 3), use every channel.
      channels = traffic.length >= 2 ? traffic : Array.from({ length: C }, (_, c) => c);
    } else if (r.kind === 'level_shift' && C >= 2 && rng.next() < 0.5) {
      const a = rng.int(0, C - 1);
      channels = [a, (a + 1 + rng.int(0, C - 2)) % C].sort((x, y) => x - y);
    } else {
      channels = [rng.int(0, C - 1)];
    }
    out.push({ kind: r.kind, start, end: start + len, channels, requestIndex: i });
  }
  out.sort((a, b) => a.start - b.start);
  return out;
}

function defaultLength(kind: AnomalyKind, rng: Random): number {
  switch (kind) {
    case 'spike': return rng.int(1, 3);
    case 'stuck': return rng.int(40, 80);
    default: return rng.int(24, 64);
  }
}

/** Throws unless `v` is an integer >= `min`. */
export function checkInt(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) invalid(name, v, `an integer >= ${min}`);
}

/** The generator's invalid-option error. */
export function invalid(name: string, value: unknown, expected: string): never {
  throw new SeismoError('ERR_INVALID_OPTION', `generateSeries: ${name} is ${JSON.stringify(value)}, expected ${expected}`, { option: name, value });
}
