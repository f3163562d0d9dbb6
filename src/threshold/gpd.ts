/**
 * The generalised Pareto distribution (GPD) of peaks over a threshold, as SPOT uses it (Siffer et
 * al., "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017): by the
 * Pickands-Balkema-de Haan theorem, excesses Y = X - t over a high t are close to
 * GPD(gamma, sigma), whose survival function is (1 + gamma y / sigma)^(-1/gamma).
 *
 * The fit is Grimshaw's maximum-likelihood reduction (Grimshaw 1993), as in the paper's
 * reference code: the likelihood's stationary points satisfy w(x) = u(x) v(x) - 1 = 0 with
 * u(x) = 1 + mean log(1 + x Y), v(x) = mean 1 / (1 + x Y), for x = gamma / sigma; every root
 * gives gamma = u(x) - 1, sigma = gamma / x, and the candidate with the highest log-likelihood
 * wins, the exponential case (gamma = 0, sigma = mean Y) always among them. Unlike the reference
 * code (which polishes a few starting points with L-BFGS-B and can miss roots), the roots are
 * bracketed by a sign scan over the whole admissible range and refined by bisection.
 */

/** Parameters of a fitted GPD. */
export interface GpdFit {
  /** Shape (extreme value index): > 0 heavy tail, 0 exponential, < 0 bounded. */
  gamma: number;
  /** Scale, > 0, in the units of the peaks. */
  sigma: number;
  /** Log-likelihood of the peaks under the fit. */
  logLikelihood: number;
}

/** Grid points per bracket scan; roots closer than a grid step to each other may merge. */
const SCAN_POINTS = 48;
const BISECTIONS = 60;

/**
 * GPD log-likelihood of `y[0..n)` (all > 0); -Infinity outside the support.
 */
export function gpdLogLikelihood(y: Float64Array, n: number, gamma: number, sigma: number): number {
  if (!(sigma > 0) || n === 0) return -Infinity;
  if (Math.abs(gamma) < 1e-12) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += y[i]!;
    return -n * Math.log(sigma) - sum / sigma;
  }
  const tau = gamma / sigma;
  let sumLog = 0;
  for (let i = 0; i < n; i++) {
    const s = 1 + tau * y[i]!;
    if (!(s > 0)) return -Infinity;
    sumLog += Math.log(s);
  }
  return -n * Math.log(sigma) - (1 + 1 / gamma) * sumLog;
}

function w(y: Float64Array, n: number, x: number): number {
  let sumLog = 0;
  let sumInv = 0;
  for (let i = 0; i < n; i++) {
    const s = 1 + x * y[i]!;
    sumLog += Math.log(s);
    sumInv += 1 / s;
  }
  return (1 + sumLog / n) * (sumInv / n) - 1;
}

function meanLog1p(y: Float64Array, n: number, x: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.log(1 + x * y[i]!);
  return sum / n;
}

/** Roots of w on the grid `xs` (ascending), each refined by bisection between a sign change. */
function roots(y: Float64Array, n: number, xs: number[], out: number[]): void {
  let x0 = xs[0]!;
  let w0 = w(y, n, x0);
  for (let k = 1; k < xs.length; k++) {
    const x1 = xs[k]!;
    const w1 = w(y, n, x1);
    if (Number.isFinite(w0) && Number.isFinite(w1) && (w0 === 0 || w0 * w1 < 0)) {
      let lo = x0;
      let hi = x1;
      let wlo = w0;
      for (let it = 0; it < BISECTIONS && w0 !== 0; it++) {
        const mid = 0.5 * (lo + hi);
        if (mid === lo || mid === hi) break;
        const wm = w(y, n, mid);
        if (wm === 0) {
          lo = hi = mid;
          break;
        }
        if (wlo * wm < 0) hi = mid;
        else {
          lo = mid;
          wlo = wm;
        }
      }
      out.push(w0 === 0 ? x0 : 0.5 * (lo + hi));
    }
    x0 = x1;
    w0 = w1;
  }
}

/**
 * Maximum-likelihood GPD fit of peaks `y[0..n)` by Grimshaw's method.
 * @param y excesses over the threshold, all > 0 (any order).
 * @param n how many of `y` to use (default all), so a ring buffer can be passed as is.
 */
export function fitGpd(y: Float64Array, n = y.length): GpdFit {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const mean = n > 0 ? sum / n : 0;
  let best: GpdFit = { gamma: 0, sigma: mean > 0 ? mean : Number.MIN_VALUE, logLikelihood: gpdLogLikelihood(y, n, 0, mean) };
  // Too few or identical peaks: the exponential fit is all the data supports.
  if (n < 3 || !(max > min) || !(min > 0)) return best;

  const xs: number[] = [];
  // x in (-1/max, 0): gamma < 0. Denser near both ends, where roots of light or bounded tails sit.
  for (let k = 1; k < SCAN_POINTS; k++) {
    const f = k / SCAN_POINTS;
    xs.push(-(f * f * (3 - 2 * f)) / max);
  }
  xs.unshift(-(1 - 1e-9) / max);
  xs.push(-1e-9 / max);
  xs.sort((a, b) => a - b);
  const found: number[] = [];
  roots(y, n, xs, found);
  // x in (0, c], c = 2(mean - min) / min^2 (Grimshaw's upper bound for a positive root): gamma > 0.
  // The reference code scans [2(mean - min) / (mean min), c], which misses the root whenever the
  // smallest peak is tiny (it always is with many peaks), so heavy tails were fitted as exponential.
  // A geometric grid from where x * max is negligible (the exponential limit) up to c.
  const c = (2 * (mean - min)) / (min * min);
  const lo = 1e-8 / max;
  if (c > lo && Number.isFinite(c)) {
    const right: number[] = [];
    const ratio = c / lo;
    for (let k = 0; k <= 2 * SCAN_POINTS; k++) right.push(lo * Math.pow(ratio, k / (2 * SCAN_POINTS)));
    roots(y, n, right, found);
  }
  for (const x of found) {
    if (x === 0) continue;
    const gamma = meanLog1p(y, n, x);
    const sigma = gamma / x;
    const ll = gpdLogLikelihood(y, n, gamma, sigma);
    if (ll > best.logLikelihood) best = { gamma, sigma, logLikelihood: ll };
  }
  return best;
}

/**
 * SPOT's threshold z_q for risk `q` (Siffer et al. eq. 1): the score exceeded with probability q,
 * given t, the fit, `n` observations seen and `nt` of them above t.
 */
export function gpdQuantile(t: number, fit: { gamma: number; sigma: number }, q: number, n: number, nt: number): number {
  const r = (q * n) / nt;
  if (Math.abs(fit.gamma) < 1e-12) return t - fit.sigma * Math.log(r);
  return t + (fit.sigma / fit.gamma) * (Math.pow(r, -fit.gamma) - 1);
}
