/**
 * Seeded synthetic multichannel telemetry with planted, labelled anomalies: the data behind
 * `seismo demo`, and a fixture generator for tests and experiments. The channels are built from a
 * few shared latent signals (a daily-like load cycle, a slow AR(1) wander, a second cycle out of
 * phase) the way a service's metrics are: traffic in and out, requests, CPU, latency, memory,
 * temperature, connections. So they are correlated, some are functions of others, and an
 * autoencoder has structure to learn; a planted anomaly breaks that structure.
 */
import type { SeriesTable } from './csv.js';
import { Random } from '../stats/random.js';
import { ANOMALY_KINDS, type AnomalyKind, type AnomalyRequest, type PlantedAnomaly, checkInt, invalid, placeAnomalies } from './synthetic-anomalies.js';

export { ALL_ANOMALY_KINDS, ANOMALY_KINDS, type AnomalyKind, type AnomalyRequest, type PlantedAnomaly } from './synthetic-anomalies.js';

/** Options for {@link generateSeries}. Every field has a default. */
export interface SyntheticOptions {
  /** Rows (time steps). Default 4096. */
  length?: number;
  /** Channels, at least 1. The first 8 are distinct metric types; more repeat them with new phases. Default 8. */
  channels?: number;
  /** PRNG seed: the same seed and options give identical bytes. Default 42. */
  seed?: number;
  /**
   * Seasonal periods in rows; the first is the main (daily-like) cycle, each later one adds a
   * harmonic with half the previous amplitude. Default `[288, 72]` (a day and 6 hours at 5-minute steps).
   */
  periods?: number[];
  /** Noise std relative to a channel's seasonal amplitude. Default 0.05. */
  noise?: number;
  /**
   * Per-channel multipliers of `noise` (channel c gets `noise * channelNoise[c % length]`): quiet
   * and noisy channels side by side, as real telemetry has. Default: every channel 1.
   */
  channelNoise?: number[];
  /** Linear drift over the whole series, in units of the channel's seasonal amplitude. Default 0. */
  drift?: number;
  /** Timestamp of row 0, epoch ms (UTC). Default 2024-01-01T00:00:00Z. */
  start?: number;
  /** Time step between rows, ms. Default 300000 (5 minutes). */
  step?: number;
  /** Fraction of rows at the start kept free of anomalies (for training). Default 0.5. */
  normalPrefix?: number;
  /**
   * Anomalies to plant: kinds (placed at random in the anomalous part) or full requests.
   * Default: every kind twice (once when fewer than 1500 rows follow the prefix), in shuffled
   * order, spread evenly over the part after `normalPrefix`.
   * `[]` gives a clean series.
   */
  anomalies?: (AnomalyKind | AnomalyRequest)[];
}

/** Result of {@link generateSeries}. */
export interface SyntheticSeries {
  /** The series: `frames` is row-major `[length, channels]` float32. */
  table: SeriesTable;
  /** Per-row labels, 1 inside any planted anomaly. Length = `table.length`. */
  labels: Uint8Array;
  /**
   * Per-row, per-channel labels `[length, channels]` row-major: 1 where a planted anomaly touches
   * that channel (a burst's CPU and latency followers included). What per-channel evaluation
   * (HitRate, src/evaluate/hitrate.ts) takes; {@link labelsCsv} writes both.
   */
  channelLabels: Uint8Array;
  /** What was planted, sorted by start. */
  anomalies: PlantedAnomaly[];
}

/** Metric types of the first eight channels; `traffic` marks the ones a burst drives. */
const CHANNEL_TYPES = [
  { name: 'traffic_in', traffic: true },
  { name: 'traffic_out', traffic: true },
  { name: 'requests', traffic: true },
  { name: 'cpu', traffic: false },
  { name: 'latency', traffic: false },
  { name: 'memory', traffic: false },
  { name: 'temperature', traffic: false },
  { name: 'connections', traffic: true },
] as const;

/**
 * Generates a seeded multichannel series with labelled anomalies.
 *
 * @returns the table (timestamps written `YYYY-MM-DD HH:MM:SS`, UTC, or with `.sss` when the
 *   step is not whole seconds), per-row labels and the planted anomalies.
 * @throws SeismoError ERR_INVALID_OPTION for out-of-range options or anomalies that do not fit.
 */
export function generateSeries(options: SyntheticOptions = {}): SyntheticSeries {
  const length = options.length ?? 4096;
  const C = options.channels ?? 8;
  const seed = options.seed ?? 42;
  const periods = options.periods ?? [288, 72];
  const noise = options.noise ?? 0.05;
  const drift = options.drift ?? 0;
  const start = options.start ?? Date.UTC(2024, 0, 1);
  const step = options.step ?? 300_000;
  const normalPrefix = options.normalPrefix ?? 0.5;
  checkInt('length', length, 1);
  checkInt('channels', C, 1);
  if (!Number.isFinite(seed)) invalid('seed', seed, 'a finite number');
  if (periods.length === 0 || periods.some((p) => !(p >= 2 && Number.isFinite(p)))) invalid('periods', periods, 'a non-empty list of periods >= 2 rows');
  if (!(noise >= 0 && Number.isFinite(noise))) invalid('noise', noise, 'a finite number >= 0');
  const channelNoise = options.channelNoise ?? [1];
  if (channelNoise.length === 0 || channelNoise.some((v) => !(v >= 0 && Number.isFinite(v)))) invalid('channelNoise', channelNoise, 'a non-empty list of finite numbers >= 0');
  if (!Number.isFinite(drift)) invalid('drift', drift, 'a finite number');
  if (!Number.isFinite(start)) invalid('start', start, 'finite epoch milliseconds');
  if (!(step > 0 && Number.isFinite(step))) invalid('step', step, 'a positive number of milliseconds');
  if (!(normalPrefix >= 0 && normalPrefix < 1)) invalid('normalPrefix', normalPrefix, 'a fraction in [0, 1)');

  const rng = new Random(seed);

  // Latent signals shared by all channels. `season(phase)` is the multi-period cycle; a channel
  // reads it at its own phase lag, as metrics of one service lag each other.
  const amp = periods.map((_, k) => 0.5 ** k);
  const basePhase = periods.map(() => rng.uniform(0, 2 * Math.PI));
  const season = (t: number, lag: number, speed = 1): number => {
    let s = 0;
    for (let k = 0; k < periods.length; k++) s += amp[k]! * Math.sin((2 * Math.PI * speed * (t - lag)) / periods[k]! + basePhase[k]!);
    return s;
  };
  const seasonFast = (t: number, lag: number): number => season(t, lag, 4);
  // Slow AR(1) wander shared by the load-driven channels: correlated, not periodic.
  const wander = new Float64Array(length);
  for (let t = 1, w = 0; t < length; t++) {
    w = 0.995 * w + 0.05 * rng.normal();
    wander[t] = w;
  }

  // Per channel: seasonal lag, scale and offset; repeats of the 8 types get new lags and scales.
  const specs = Array.from({ length: C }, (_, c) => ({
    type: CHANNEL_TYPES[c % CHANNEL_TYPES.length]!,
    lag: c < CHANNEL_TYPES.length ? 0 : rng.uniform(0, periods[0]! / 4),
    scale: rng.uniform(0.7, 1.3),
  }));
  const names = specs.map((s, c) => (c < CHANNEL_TYPES.length ? s.type.name : `${s.type.name}_${Math.floor(c / CHANNEL_TYPES.length) + 1}`));

  // Clean signals in float64; `seasonal` is kept per channel so a frequency anomaly can swap it.
  const values = new Float64Array(length * C);
  const seasonal = new Float64Array(length * C);
  const seasonalFast = new Float64Array(length * C);
  for (let c = 0; c < C; c++) {
    const { type, lag } = specs[c]!;
    for (let t = 0; t < length; t++) {
      const load = 1 + 0.6 * season(t, lag) + 0.3 * wander[t]!;
      const loadFast = 1 + 0.6 * season(t, lag, 4) + 0.3 * wander[t]!;
      const v = channelValue(type.name, load, t, lag, season);
      seasonal[t * C + c] = v;
      // Every cycle of the channel runs faster, its own terms (memory, temperature) as well as the load's.
      seasonalFast[t * C + c] = channelValue(type.name, loadFast, t, lag, seasonFast);
      values[t * C + c] = v;
    }
  }
  // Noise and drift scaled to each channel's own spread, so every channel has the same
  // signal-to-noise ratio whatever its units.
  const std = channelStd(values, length, C);
  for (let c = 0; c < C; c++) {
    const s = std[c]! * specs[c]!.scale;
    for (let t = 0; t < length; t++) {
      const i = t * C + c;
      const trend = drift * s * (length > 1 ? t / (length - 1) : 0);
      values[i] = values[i]! * specs[c]!.scale + trend + noise * channelNoise[c % channelNoise.length]! * s * rng.normal();
      seasonal[i] = seasonal[i]! * specs[c]!.scale;
      seasonalFast[i] = seasonalFast[i]! * specs[c]!.scale;
    }
    std[c] = s;
  }

  const trafficChannels = specs.flatMap((s, c) => (s.type.traffic ? [c] : []));
  const followers = specs.flatMap((s, c) => (s.type.name === 'cpu' || s.type.name === 'latency' ? [c] : []));
  // Default plan: every kind twice when the anomalous part has room (~150 rows per anomaly), else once.
  const defaultPlan = (length - Math.ceil(normalPrefix * length)) >= 10 * 150 ? [...ANOMALY_KINDS, ...ANOMALY_KINDS] : [...ANOMALY_KINDS];
  const requests = (options.anomalies ?? defaultPlan).map((a) => (typeof a === 'string' ? { kind: a } : a));
  const planted = placeAnomalies(requests, rng, length, C, Math.ceil(normalPrefix * length), trafficChannels);

  const labels = new Uint8Array(length);
  for (const a of planted) {
    const req = requests[a.requestIndex]!;
    const len = a.end - a.start;
    for (let t = a.start; t < a.end; t++) labels[t] = 1;
    switch (a.kind) {
      case 'spike': {
        const m = req.magnitude ?? 6;
        for (const c of a.channels) {
          const sign = rng.next() < 0.5 ? -1 : 1;
          for (let t = a.start; t < a.end; t++) values[t * C + c]! += sign * m * std[c]!;
        }
        break;
      }
      case 'level_shift': {
        const m = req.magnitude ?? 3;
        for (const c of a.channels) {
          const sign = rng.next() < 0.5 ? -1 : 1;
          for (let t = a.start; t < a.end; t++) values[t * C + c]! += sign * m * std[c]!;
        }
        break;
      }
      case 'burst': {
        const m = req.magnitude ?? 4;
        // Ramp up over the first quarter, plateau, ramp down over the last quarter: an attack
        // that builds up, not a step.
        const ramp = Math.max(1, Math.floor(len / 4));
        for (let t = a.start; t < a.end; t++) {
          const i = t - a.start;
          const env = Math.min(1, (i + 1) / ramp, (a.end - t) / ramp);
          for (const c of a.channels) values[t * C + c]! += env * m * std[c]! * (1 + 0.1 * rng.normal());
          // CPU and latency respond to the surge at half strength: the correlation holds.
          for (const c of followers) if (!a.channels.includes(c)) values[t * C + c]! += env * 0.5 * m * std[c]!;
        }
        break;
      }
      case 'stuck': {
        for (const c of a.channels) {
          const frozen = values[a.start * C + c]!;
          for (let t = a.start; t < a.end; t++) values[t * C + c] = frozen;
        }
        break;
      }
      case 'frequency': {
        for (const c of a.channels) {
          for (let t = a.start; t < a.end; t++) {
            const i = t * C + c;
            values[i] = values[i]! - seasonal[i]! + seasonalFast[i]!;
          }
        }
        break;
      }
      case 'correlation': {
        // Mirror the channel's movement around its segment mean: same level and range, opposite
        // direction to the load the other channels still follow.
        for (const c of a.channels) {
          let mean = 0;
          for (let t = a.start; t < a.end; t++) mean += values[t * C + c]!;
          mean /= len;
          for (let t = a.start; t < a.end; t++) values[t * C + c] = 2 * mean - values[t * C + c]!;
        }
        break;
      }
    }
  }
  // A burst's followers are touched too: report them so that per-channel evaluation is honest.
  const anomalies: PlantedAnomaly[] = planted.map((a) => ({
    kind: a.kind,
    start: a.start,
    end: a.end,
    channels: a.kind === 'burst' ? [...new Set([...a.channels, ...followers])].sort((x, y) => x - y) : a.channels,
  }));
  const channelLabels = new Uint8Array(length * C);
  for (const a of anomalies) {
    for (let t = a.start; t < a.end; t++) for (const c of a.channels) channelLabels[t * C + c] = 1;
  }

  const timestamps = new Array<string>(length);
  const time = new Float64Array(length);
  const wholeSeconds = step % 1000 === 0 && start % 1000 === 0;
  for (let t = 0; t < length; t++) {
    const ms = start + t * step;
    time[t] = ms;
    const iso = new Date(ms).toISOString();
    timestamps[t] = wholeSeconds ? iso.slice(0, 19).replace('T', ' ') : iso.slice(0, 23).replace('T', ' ');
  }
  return {
    table: { timestamps, time, channels: names, frames: Float32Array.from(values), length },
    labels,
    channelLabels,
    anomalies,
  };
}

/**
 * The labels of a generated series as CSV: `timestamp,label,<channel>...` (one 0/1 column per
 * channel, named like the series' channels), the labels convention `seismo eval` reads per-channel
 * labels from.
 */
export function labelsCsv(series: SyntheticSeries): string {
  const { table, labels, channelLabels } = series;
  const C = table.channels.length;
  const lines = [['timestamp', 'label', ...table.channels].join(',')];
  for (let t = 0; t < table.length; t++) {
    const cells = [table.timestamps[t]!, String(labels[t]!)];
    for (let c = 0; c < C; c++) cells.push(String(channelLabels[t * C + c]!));
    lines.push(cells.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * One channel's clean value from the load level `l` (about 1 ± 0.6): the functional forms make
 * some channels derived from others (out ≈ 0.8 in, cpu saturates with load, latency grows
 * convexly), which is the cross-channel structure a multichannel model should learn.
 */
function channelValue(name: string, l: number, t: number, lag: number, season: (t: number, lag: number) => number): number {
  switch (name) {
    case 'traffic_in': return 100 * l;
    case 'traffic_out': return 80 * l + 5 * season(t, lag + 6);
    case 'requests': return 40 * l * l;
    case 'cpu': return 100 / (1 + Math.exp(-2.5 * (l - 1)));
    case 'latency': return 20 + 15 * l * l * l;
    case 'memory': return 60 + 10 * season(t, lag + 48) + 5 * l;
    case 'temperature': return 40 + 8 * season(t, lag + 96);
    default: return 500 * l + 50 * season(t, lag + 12); // connections
  }
}

function channelStd(values: Float64Array, length: number, C: number): Float64Array {
  const std = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    let sum = 0;
    let sq = 0;
    for (let t = 0; t < length; t++) {
      const v = values[t * C + c]!;
      sum += v;
      sq += v * v;
    }
    const mean = sum / length;
    // A constant channel (length 1) would give std 0; 1 keeps anomaly sizes meaningful.
    std[c] = Math.sqrt(Math.max(sq / length - mean * mean, 0)) || 1;
  }
  return std;
}

