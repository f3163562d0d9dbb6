/**
 * The first step of a sample's way in online mode: the policy for disorder, missing values and
 * time gaps (see `OnlinePolicy`). A sample either throws (stored nowhere), is left out (counted),
 * or is handed on, with its missing values held and, with `gaps: 'hold'`, after the samples that
 * fill a gap. Nothing is allocated per sample: values are copied into the caller's `raw`.
 */
import { SeismoError } from '../errors.js';
import type { ResolvedPolicy } from './policy.js';
import type { SeriesState } from './series.js';

/** Where accepted samples go (the engine: warm-up or scaling and the rings). */
export interface SampleSink {
  /**
   * One accepted raw sample of `s`; `raw` may be `s.last` (a held sample) or the gate's buffer.
   * It must set `s.lastTime` and `s.last` (the next sample's order, hold and gap checks read them).
   */
  accept(s: SeriesState, timestamp: number, raw: Float32Array): void;
}

/**
 * Applies the policy to one sample: `values[offset .. offset + channels)` at `timestamp`.
 * `raw` (`[channels]`) is scratch space the accepted values are copied into.
 * @throws SeismoError `ERR_TIMESTAMP_ORDER` (`disorder: 'error'`), `ERR_NON_FINITE` (`missing: 'error'`),
 *   `ERR_STREAM_GAP` (`gaps: 'error'`); nothing is stored then.
 */
export function gateSample(s: SeriesState, p: ResolvedPolicy, timestamp: number, values: ArrayLike<number>, offset: number, raw: Float32Array, sink: SampleSink): void {
  const C = s.channels;
  if (!(timestamp > s.lastTime)) {
    if (p.disorder === 'skip' && Number.isFinite(timestamp)) {
      s.counters.disordered++;
      return;
    }
    throw new SeismoError('ERR_TIMESTAMP_ORDER', `series '${s.id}': timestamp ${timestamp} is not after the previous one (${s.lastTime}); the sample was not stored (policy disorder: '${p.disorder}')`, { seriesId: s.id, timestamp });
  }
  let missing = 0;
  for (let c = 0; c < C; c++) {
    const v = values[offset + c];
    if (typeof v !== 'number' || !Number.isFinite(v)) missing++;
    else raw[c] = v;
  }
  if (missing > 0) {
    if (p.missing === 'error') {
      throw new SeismoError('ERR_NON_FINITE', `series '${s.id}' at ${timestamp}: ${missing} missing value(s); the sample was not stored (policy missing: 'error'; 'hold' or 'skip' accept it)`, { seriesId: s.id, timestamp });
    }
    if (p.missing === 'skip' || !s.hasLast) {
      s.counters.missingSkipped++;
      return;
    }
    for (let c = 0; c < C; c++) {
      const v = values[offset + c];
      if (typeof v !== 'number' || !Number.isFinite(v)) raw[c] = s.last[c]!;
    }
    s.counters.missingHeld++;
  }
  if (!s.warming && s.interval > 0) {
    const step = timestamp - s.lastTime;
    if (step > p.gapFactor * s.interval) {
      const lost = Math.max(1, Math.round(step / s.interval) - 1);
      if (p.gaps === 'error') {
        throw new SeismoError('ERR_STREAM_GAP', `series '${s.id}': ${step} since the previous sample at ${s.lastTime}, about ${lost} samples missing (usual interval ${s.interval}); the sample was not stored (policy gaps: 'error'; 'ignore' or 'hold' accept it)`, { seriesId: s.id, timestamp, missing: lost });
      }
      s.counters.gaps++;
      s.counters.gapMissing += lost;
      if (p.gaps === 'hold') {
        const fill = Math.min(lost, p.maxFill);
        for (let k = 1; k <= fill; k++) {
          const t = s.lastTime + s.interval;
          if (!(t < timestamp)) break;
          // The held sample is the last one again: the sink copies it into `last` unchanged.
          sink.accept(s, t, s.last);
          s.counters.gapFilled++;
        }
      }
    }
  }
  sink.accept(s, timestamp, raw);
}
