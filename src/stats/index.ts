/**
 * Statistics shared by every stage: quantiles and the median with one NaN policy (non-finite
 * values are skipped, see ./quantile.ts), and the seeded random generators that make synthetic
 * data, sampling and training reproducible.
 */
export { median, quantile, quantileSorted, sortedFinite } from './quantile.js';
export { mulberry32, Random, shuffled } from './random.js';
