/**
 * The study behind the ensemble scorer's NAB setting (docs/benchmarks.md, "How the scorer came
 * about"): prototypes of online detectors, each scored on the whole corpus and on the two folds of
 * bench/nab-folds.ts, NAB's exact threshold search per profile. Not part of the product; kept so
 * that every row of that table can be rerun:
 *
 *   npx tsx bench/nab-study.ts <nab-root> base,ctx8k0,'g_*'      # names below; 'x*' = prefix
 *   PERFILE=base npx tsx bench/nab-study.ts                      # per-file hits and false alarms
 */
import { loadNabStreams, nabFolds, prepareStream, scoreNabFiles, type NabStream } from './nab-folds.js';
import { logGaussianTail } from '../src/score/normalize.js';

type Det = (s: NabStream) => Float64Array;

function wg(s: NabStream): Float64Array {
  const W = 6400;
  const v = s.values;
  const out = new Float64Array(v.length);
  let sum = 0, sq = 0;
  for (let t = 0; t < v.length; t++) {
    const n = Math.min(t, W);
    if (n >= 2) {
      const mean = sum / n;
      const std = Math.sqrt(Math.max(sq / n - mean * mean, 0));
      if (std > 0) {
        const z = Math.abs(v[t]! - mean) / std;
        out[t] = -logGaussianTail(z);
      }
    }
    sum += v[t]!; sq += v[t]! * v[t]!;
    if (t >= W) { sum -= v[t - W]!; sq -= v[t - W]! * v[t - W]!; }
  }
  // map to [0,1)
  for (let t = 0; t < out.length; t++) out[t] = out[t]! / (out[t]! + 10);
  return out;
}


import { createNormalizer } from '../src/score/normalize.js';

interface CtxOpts { L: number; K: number; alpha: number; diff?: boolean }
function ctxRaw(s: NabStream, o: CtxOpts): Float64Array {
  const v = s.values;
  const P = Math.max(s.probation, 10);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < P; i++) { lo = Math.min(lo, v[i]!); hi = Math.max(hi, v[i]!); }
  let span = hi - lo;
  if (!(span > 0)) span = Math.max(Math.abs(lo) * 0.01, 1e-9);
  const out = new Float64Array(v.length);
  const counts: Map<string, number>[] = Array.from({ length: o.K + 1 }, () => new Map());
  const hist: number[] = [];
  const seen = new Set<number>();
  for (let t = 0; t < v.length; t++) {
    const x = Math.floor(((v[t]! - lo) / span) * o.L);
    let p = 0;
    const Ls = seen.size + 1;
    for (let k = 0; k <= o.K; k++) {
      if (hist.length < k) break;
      const ctx = hist.slice(hist.length - k).join(',');
      const m = counts[k]!;
      const cx = m.get(ctx + '|' + x) ?? 0;
      const c = m.get(ctx) ?? 0;
      p += (cx + o.alpha) / (c + o.alpha * Ls);
      m.set(ctx + '|' + x, cx + 1);
      m.set(ctx, c + 1);
    }
    p /= o.K + 1;
    out[t] = -Math.log(p);
    seen.add(x);
    hist.push(x);
    if (hist.length > o.K) hist.shift();
  }
  return out;
}
function levels(s: NabStream, L: number, of: 'value' | 'diff' = 'value'): Int32Array {
  const v = of === 'value' ? s.values : s.values.map((x, i) => (i === 0 ? 0 : x - s.values[i - 1]!));
  const P = Math.max(s.probation, 10);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < P; i++) { lo = Math.min(lo, v[i]!); hi = Math.max(hi, v[i]!); }
  let span = hi - lo;
  if (!(span > 0)) span = Math.max(Math.abs(lo) * 0.01, 1e-9);
  return Int32Array.from(v, (x) => Math.floor(((x - lo) / span) * L));
}
/** Surprisal of symbol stream under an order-K context model (orders 0..K averaged). */
function surprisal(sym: ArrayLike<number>, ctxSym: ArrayLike<number> | null, K: number, alpha: number): Float64Array {
  const out = new Float64Array(sym.length);
  const counts: Map<string, number>[] = Array.from({ length: K + 1 }, () => new Map());
  const seen = new Set<number>();
  for (let t = 0; t < sym.length; t++) {
    const x = sym[t]!;
    let p = 0;
    for (let k = 0; k <= K; k++) {
      let ctx = ctxSym ? String(ctxSym[t]) : '';
      for (let j = 1; j <= k; j++) ctx += ',' + (t - j >= 0 ? sym[t - j] : 'n');
      const m = counts[k]!;
      const cx = m.get(ctx + '|' + x) ?? 0;
      const c = m.get(ctx) ?? 0;
      p += (cx + alpha) / (c + alpha * (seen.size + 1));
      m.set(ctx + '|' + x, cx + 1);
      m.set(ctx, c + 1);
    }
    out[t] = -Math.log(p / (K + 1));
    seen.add(x);
  }
  return out;
}
/** Distance (in levels) from each symbol to the nearest symbol seen before it (0 when seen). */
function gapOf(sym: ArrayLike<number>): Float64Array {
  const out = new Float64Array(sym.length);
  let lo = Infinity, hi = -Infinity; const seen = new Set<number>();
  for (let t = 0; t < sym.length; t++) {
    const x = sym[t]!;
    if (!seen.has(x) && t > 0) {
      if (x > hi) out[t] = x - hi; else if (x < lo) out[t] = lo - x; else out[t] = 1;
    }
    seen.add(x); lo = Math.min(lo, x); hi = Math.max(hi, x);
  }
  return out;
}
/** |error| of an online normalised-LMS AR(p) forecaster on the probation-standardised values. */
function lmsError(s: NabStream, p = 8, mu = 0.05): Float64Array {
  const v = s.values; const P = Math.max(s.probation, 10);
  let m = 0, q = 0; for (let i = 0; i < P; i++) { m += v[i]!; q += v[i]! * v[i]!; } m /= P; const sd = Math.sqrt(Math.max(q / P - m * m, 1e-12)) || 1;
  const x = Float64Array.from(v, (y) => (y - m) / sd);
  const w = new Float64Array(p + 1); const out = new Float64Array(v.length);
  for (let t = p; t < v.length; t++) {
    let yhat = w[p]!; let nrm = 1; for (let j = 0; j < p; j++) { yhat += w[j]! * x[t - 1 - j]!; nrm += x[t - 1 - j]! ** 2; }
    const e = x[t]! - yhat; out[t] = Math.abs(e);
    const g = mu * e / nrm; for (let j = 0; j < p; j++) w[j]! += 0, w[j] = w[j]! + g * x[t - 1 - j]!; w[p] = w[p]! + g;
  }
  return out;
}
/** Levels of the mean of the last w values (probation range), per sample. */
function meanLevels(s: NabStream, L: number, w: number): Int32Array {
  const v = s.values; const m = new Float64Array(v.length); let sum = 0;
  for (let t = 0; t < v.length; t++) { sum += v[t]!; if (t >= w) sum -= v[t - w]!; m[t] = sum / Math.min(t + 1, w); }
  const P = Math.max(s.probation, 10); let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < P; i++) { lo = Math.min(lo, m[i]!); hi = Math.max(hi, m[i]!); }
  let span = hi - lo; if (!(span > 0)) span = Math.max(Math.abs(lo) * 0.01, 1e-9);
  return Int32Array.from(m, (x) => Math.floor(((x - lo) / span) * L));
}
/** Surprisal of sym[t] given sym[t - lag] (orders 0 and lagged-1 averaged). */
function lagSurprisal(sym: ArrayLike<number>, lag: number, alpha: number): Float64Array {
  const out = new Float64Array(sym.length); const c0 = new Map<number, number>(); const c1 = new Map<string, number>(); const cc = new Map<number, number>(); let n = 0;
  for (let t = 0; t < sym.length; t++) {
    const x = sym[t]!; const S = c0.size + 1;
    let p = ((c0.get(x) ?? 0) + alpha) / (n + alpha * S); let k = 1;
    if (t >= lag) { const ctx = sym[t - lag]!; p += ((c1.get(ctx + '|' + x) ?? 0) + alpha) / ((cc.get(ctx) ?? 0) + alpha * S); k++; c1.set(ctx + '|' + x, (c1.get(ctx + '|' + x) ?? 0) + 1); cc.set(ctx, (cc.get(ctx) ?? 0) + 1); }
    out[t] = -Math.log(p / k); c0.set(x, (c0.get(x) ?? 0) + 1); n++;
  }
  return out;
}
function asinhStream(s: NabStream, k: number): NabStream {
  const P = Math.max(s.probation, 10); const head = Array.from(s.values.subarray(0, P)).sort((a, b) => a - b);
  const med = head[Math.floor(P / 2)]!; const mad = Array.from(head, (x) => Math.abs(x - med)).sort((a, b) => a - b)[Math.floor(P / 2)]! || (head[P - 1]! - head[0]!) / 4 || 1;
  return { ...s, values: s.values.map((x) => Math.asinh((x - med) / (k * mad))) };
}
/** PPM-C style: unseen-symbol probability = distinct/(count+distinct) per context (times beta). */
function surprisalEsc(sym: ArrayLike<number>, K: number, beta: number, floor = 0): Float64Array {
  const out = new Float64Array(sym.length);
  const counts: Map<string, number>[] = Array.from({ length: K + 1 }, () => new Map());
  const distinct: Map<string, number>[] = Array.from({ length: K + 1 }, () => new Map());
  for (let t = 0; t < sym.length; t++) {
    const x = sym[t]!; let p = 0; let k2 = 0;
    for (let k = 0; k <= K; k++) {
      if (t < k) break;
      let ctx = ''; for (let j = 1; j <= k; j++) ctx += ',' + sym[t - j];
      const m = counts[k]!; const dm = distinct[k]!;
      const cx = m.get(ctx + '|' + x) ?? 0; const c = m.get(ctx) ?? 0; const d = dm.get(ctx) ?? 0;
      const q = c === 0 ? 1 : cx > 0 ? cx / (c + beta * d + floor) : Math.max(beta * d, floor) / (c + beta * d + floor) / 8;
      p += q; k2++;
      m.set(ctx + '|' + x, cx + 1); m.set(ctx, c + 1); if (cx === 0) dm.set(ctx, d + 1);
    }
    out[t] = -Math.log(p / k2);
  }
  return out;
}
const add = (...xs: Float64Array[]) => xs[0]!.map((_, i) => xs.reduce((a, x) => a + x[i]!, 0));
const maxOf = (...xs: Float64Array[]) => xs[0]!.map((_, i) => Math.max(...xs.map((x) => x[i]!)));
const hourOf = (s: NabStream, buckets: number) => Int32Array.from(s.times, (t) => Math.floor((((t / 3600000) % 24) + 24) % 24 / (24 / buckets)));
import { EnsembleScorer, type EnsembleOptions } from '../src/score/ensemble.js';
function ens(s: NabStream, o: EnsembleOptions): Float64Array {
  const warmup = Math.max(s.probation, 10);
  const e = new EnsembleScorer(1, { ...o, contexts: (o.contexts ?? [{}]).map((c) => ({ ...c, warmup })) });
  const out = new Float64Array(s.values.length); const f = new Float64Array(1);
  for (let t = 0; t < out.length; t++) { f[0] = s.values[t]!; out[t] = e.update(f); }
  return out;
}
const squash = (a: Float64Array, c = 10) => a.map((x) => x / (x + c));
function normed(a: Float64Array, opts = {}): Float64Array { const n = createNormalizer(opts); return a.map((x) => n.update(x)); }

/** Only a new high within the last R samples keeps its score; others are damped. */
function suppress(a: Float64Array, R: number, damp = 0): Float64Array {
  const out = new Float64Array(a.length);
  let last = -Infinity; let lastAt = -Infinity;
  for (let t = 0; t < a.length; t++) {
    if (t - lastAt > R || a[t]! > last) { out[t] = a[t]!; if (a[t]! > (t - lastAt > R ? -Infinity : last)) { } }
    else out[t] = a[t]! * damp;
    // track the max of the last R samples approximately: reset when it leaves the horizon
    if (a[t]! >= last || t - lastAt > R) { last = a[t]!; lastAt = t; }
  }
  return out;
}
const DETS: Record<string, Det> = {
  wg,
  ctx16: (s) => squash(ctxRaw(s, { L: 16, K: 3, alpha: 0.1 })),
  ctx4: (s) => squash(ctxRaw(s, { L: 4, K: 3, alpha: 0.1 })),
  ctx6: (s) => squash(ctxRaw(s, { L: 6, K: 3, alpha: 0.1 })),
  ctx8k1: (s) => squash(ctxRaw(s, { L: 8, K: 1, alpha: 0.1 })),
  ctx8k2: (s) => squash(ctxRaw(s, { L: 8, K: 2, alpha: 0.1 })),
  ctx8k5: (s) => squash(ctxRaw(s, { L: 8, K: 5, alpha: 0.1 })),
  ctx8a1: (s) => squash(ctxRaw(s, { L: 8, K: 3, alpha: 1 })),
  ctx8s: (s) => suppress(squash(ctxRaw(s, { L: 8, K: 3, alpha: 0.1 })), 100),
  wgs: (s) => suppress(wg(s), 100),
  ctx8k0: (s) => squash(ctxRaw(s, { L: 8, K: 0, alpha: 0.1 })),
  ctx4k1: (s) => squash(ctxRaw(s, { L: 4, K: 1, alpha: 0.1 })),
  ctx12k1: (s) => squash(ctxRaw(s, { L: 12, K: 1, alpha: 0.1 })),
  ctx8k1a01: (s) => squash(ctxRaw(s, { L: 8, K: 1, alpha: 0.01 })),
  ctx8k1s50: (s) => suppress(squash(ctxRaw(s, { L: 8, K: 1, alpha: 0.1 })), 50),
  ctx8k1s200: (s) => suppress(squash(ctxRaw(s, { L: 8, K: 1, alpha: 0.1 })), 200),
  ctx8k1s400: (s) => suppress(squash(ctxRaw(s, { L: 8, K: 1, alpha: 0.1 })), 400),
  mix: (s) => { const a = squash(ctxRaw(s, { L: 8, K: 1, alpha: 0.1 })); const b = wg(s); return suppress(a.map((x, i) => Math.max(x, b[i]!)), 200); },
  ...Object.fromEntries([6, 8, 10].flatMap((L) => [0, 1].flatMap((K) => [0.01, 0.001].flatMap((a) => [0, 200].map((R) => [`g_L${L}_K${K}_a${a}_R${R}`, (s: NabStream) => { const x = squash(ctxRaw(s, { L, K, alpha: a })); return R ? suppress(x, R) : x; }]))))),
  base: (s) => suppress(squash(surprisal(levels(s, 8), null, 1, 0.001)), 200),
  mres: (s) => suppress(squash(add(surprisal(levels(s, 4), null, 1, 0.001), surprisal(levels(s, 8), null, 1, 0.001), surprisal(levels(s, 16), null, 1, 0.001)), 30), 200),
  mresmax: (s) => suppress(squash(maxOf(surprisal(levels(s, 4), null, 1, 0.001), surprisal(levels(s, 8), null, 1, 0.001), surprisal(levels(s, 16), null, 1, 0.001))), 200),
  vdiff: (s) => suppress(squash(add(surprisal(levels(s, 8), null, 1, 0.001), surprisal(levels(s, 8, 'diff'), null, 0, 0.001)), 20), 200),
  diff: (s) => suppress(squash(surprisal(levels(s, 8, 'diff'), null, 0, 0.001)), 200),
  hour: (s) => suppress(squash(surprisal(levels(s, 8), hourOf(s, 6), 0, 0.001)), 200),
  vhour: (s) => suppress(squash(add(surprisal(levels(s, 8), null, 1, 0.001), surprisal(levels(s, 8), hourOf(s, 6), 0, 0.001)), 20), 200),
  gap1: (s) => { const l = levels(s, 8); const g = gapOf(l); return suppress(squash(surprisal(l, null, 1, 0.001).map((x, i) => x + Math.log1p(g[i]!))), 200); },
  gap2: (s) => { const l = levels(s, 8); const g = gapOf(l); return suppress(squash(surprisal(l, null, 1, 0.001).map((x, i) => x + 2 * Math.log1p(g[i]!))), 200); },
  base400: (s) => suppress(squash(surprisal(levels(s, 8), null, 1, 0.001)), 400),
  base800: (s) => suppress(squash(surprisal(levels(s, 8), null, 1, 0.001)), 800),
  mresmax400: (s) => suppress(squash(maxOf(surprisal(levels(s, 4), null, 1, 0.001), surprisal(levels(s, 8), null, 1, 0.001), surprisal(levels(s, 16), null, 1, 0.001))), 400),
  lms: (s) => suppress(normed(lmsError(s)), 200),
  lmsraw: (s) => normed(lmsError(s)),
  basePlusLms: (s) => { const a = squash(surprisal(levels(s, 8), null, 1, 0.001)); const b = normed(lmsError(s)); return suppress(a.map((x, i) => Math.max(x, b[i]!)), 200); },
  basePlusLms9: (s) => { const a = squash(surprisal(levels(s, 8), null, 1, 0.001)); const b = normed(lmsError(s)); return suppress(a.map((x, i) => Math.max(x, b[i]! > 0.6 ? b[i]! : 0)), 200); },
  basePlusLmsSum: (s) => { const a = surprisal(levels(s, 8), null, 1, 0.001); const b = normed(lmsError(s)); return suppress(squash(a.map((x, i) => x + 10 * b[i]! / (1 - b[i]!))), 200); },
  e_base: (s) => ens(s, {}),
  e_lms: (s) => ens(s, { forecast: {} }),
  e_lms7: (s) => ens(s, { forecast: { gate: 0.7 } }),
  e_2res: (s) => ens(s, { contexts: [{ levels: 8 }, { levels: 16, order: 0 }] }),
  ms4: (s) => { const b = surprisal(levels(s, 8), null, 1, 0.001); const m = lagSurprisal(meanLevels(s, 8, 4), 4, 0.001); return suppress(squash(maxOf(b, m)), 200); },
  ms16: (s) => { const b = surprisal(levels(s, 8), null, 1, 0.001); const m = lagSurprisal(meanLevels(s, 8, 16), 16, 0.001); return suppress(squash(maxOf(b, m)), 200); },
  ms64: (s) => { const b = surprisal(levels(s, 8), null, 1, 0.001); const m = lagSurprisal(meanLevels(s, 8, 64), 64, 0.001); return suppress(squash(maxOf(b, m)), 200); },
  ms16only: (s) => suppress(squash(lagSurprisal(meanLevels(s, 8, 16), 16, 0.001)), 200),
  ms4_16: (s) => { const b = surprisal(levels(s, 8), null, 1, 0.001); return suppress(squash(maxOf(b, lagSurprisal(meanLevels(s, 8, 4), 4, 0.001), lagSurprisal(meanLevels(s, 8, 16), 16, 0.001))), 200); },
  asinh1: (s) => suppress(squash(surprisal(levels(asinhStream(s, 1), 8), null, 1, 0.001)), 200),
  asinh5: (s) => suppress(squash(surprisal(levels(asinhStream(s, 5), 8), null, 1, 0.001)), 200),
  asinh20: (s) => suppress(squash(surprisal(levels(asinhStream(s, 20), 8), null, 1, 0.001)), 200),
  esc1: (s) => suppress(squash(surprisalEsc(levels(s, 8), 1, 1)), 200),
  esc03: (s) => suppress(squash(surprisalEsc(levels(s, 8), 1, 0.3)), 200),
  esc01: (s) => suppress(squash(surprisalEsc(levels(s, 8), 1, 0.1)), 200),
  esc1f: (s) => suppress(squash(surprisalEsc(levels(s, 8), 1, 1, 0.01)), 200),
  ctx16n: (s) => normed(ctxRaw(s, { L: 16, K: 3, alpha: 0.1 })),
  ctx8: (s) => squash(ctxRaw(s, { L: 8, K: 3, alpha: 0.1 })),
  ctx32: (s) => squash(ctxRaw(s, { L: 32, K: 3, alpha: 0.1 })),
  ctx16k6: (s) => squash(ctxRaw(s, { L: 16, K: 6, alpha: 0.1 })),
};

async function main() {
  const root = process.argv[2] ?? '/work/shared/datasets/nab';
  const which = (process.argv[3] ?? 'wg').split(',').flatMap((w) => w.endsWith('*') ? Object.keys(DETS).filter((k) => k.startsWith(w.slice(0, -1))) : [w]);
  const { streams, profiles } = await loadNabStreams(root);
  const { A, B } = nabFolds(streams.map((s) => s.key));
  for (const name of which) {
    const t0 = performance.now();
    const prepared = streams.map((s) => prepareStream(s, DETS[name]!(s)));
    const sec = (performance.now() - t0) / 1000;
    const fmt = (r: { standard: number; rewardLowFP: number; rewardLowFN: number }) => `${r.standard.toFixed(1)}/${r.rewardLowFP.toFixed(1)}/${r.rewardLowFN.toFixed(1)}`;
    const all = scoreNabFiles(prepared, profiles);
    const a = scoreNabFiles(prepared.filter((p) => A.has(p.path)), profiles);
    const b = scoreNabFiles(prepared.filter((p) => B.has(p.path)), profiles);
    console.log(`${name.padEnd(24)} all ${fmt(all)}  A ${fmt(a)}  B ${fmt(b)}  ${sec.toFixed(1)}s`);
  }
}
if (!process.env.PERFILE) main();
import { scoreNabCorpus } from '../src/evaluate/nab.js';
import { optimizeNabThreshold } from '../src/evaluate/nab-run.js';
export async function perFile(name: string) {
  const { streams, profiles } = await loadNabStreams('/work/shared/datasets/nab');
  const prepared = streams.map((s) => prepareStream(s, DETS[name]!(s)));
  const cost = profiles['standard']!;
  const th = optimizeNabThreshold(prepared, cost).threshold;
  const r = scoreNabCorpus(prepared, cost, th);
  console.log('threshold', th, r.normalized.toFixed(1));
  for (const f of r.files) {
    const p = prepared.find((x) => x.path === f.path)!;
    const nw = p.windows.length;
    let hit = 0; const firsts: string[] = [];
    p.windows.forEach((w) => { let first = -1; for (let i = w.start; i <= w.end; i++) if (i >= p.probationaryLength && p.scores[i]! >= th) { first = i; break; } if (first >= 0) { hit++; firsts.push(((first - w.start) / (w.end - w.start + 1)).toFixed(2)); } else firsts.push('-'); });
    let fpEv = 0; for (let i = Math.ceil(p.probationaryLength); i < p.length; i++) if (p.windowOf[i] < 0 && p.scores[i]! >= th) fpEv++;
    console.log(`${f.path.padEnd(58)} score ${f.score.toFixed(2).padStart(6)} win ${hit}/${nw} at [${firsts.join(' ')}] fp ${fpEv}`);
  }
}
if (process.env.PERFILE) perFile(process.env.PERFILE);
