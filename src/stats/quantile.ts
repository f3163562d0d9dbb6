/**
 * Order statistics used across the stages (thresholds, calibration, training, benchmarks), in one
 * place so that every figure is computed the same way.
 *
 * NaN policy, the same for every function here: non-finite values (NaN, +Infinity, -Infinity) are
 * skipped. A NaN score is a window the detector could not score and an infinite one is an
 * overflow; neither is a level a threshold or a calibration can sit at. An input with no finite
 * value at all throws (`ERR_BAD_SHAPE`) instead of returning NaN, which would otherwise travel
 * silently into a threshold or a figure.
 */
import { SeismoError } from '../errors.js';

/** The finite values of `values`, ascending, as a new array. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) n++;
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) out[k++] = values[i]!;
  return out.sort();
}

/**
 * The `q`-quantile of an ascending array of finite values, interpolating linearly between order
 * statistics (NumPy's default `linear` method, so figures match a Python reference).
 * @param sorted ascending, finite, non-empty (e.g. from {@link sortedFinite}).
 * @param q level in [0, 1].
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * The `q`-quantile of the finite values of `values` (linear interpolation, NumPy's default).
 * @param q level in [0, 1].
 * @throws SeismoError `ERR_INVALID_OPTION` when `q` is outside [0, 1]; `ERR_BAD_SHAPE` when
 *   `values` holds no finite value.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new SeismoError('ERR_INVALID_OPTION', `quantile level must be in [0, 1], got ${q}`);
  const sorted = sortedFinite(values);
  if (sorted.length === 0) throw new SeismoError('ERR_BAD_SHAPE', `quantile of no finite values (${values.length} given)`, { length: values.length });
  return quantileSorted(sorted, q);
}

/**
 * The median of the finite values of `values` (the mean of the two middle ones for an even count).
 * @throws SeismoError `ERR_BAD_SHAPE` when `values` holds no finite value.
 */
export function median(values: ArrayLike<number>): number {
  const sorted = sortedFinite(values);
  if (sorted.length === 0) throw new SeismoError('ERR_BAD_SHAPE', `median of no finite values (${values.length} given)`, { length: values.length });
  const m = sorted.length >> 1;
  // (a + b) / 2 rather than the interpolation of quantile(0.5): the two differ in the last bit,
  // and calibrations saved before this module were computed this way.
  return sorted.length % 2 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}
