/**
 * Running NAB for a detector: the threshold per profile, then the corpus score at it (scoring
 * itself is `nab.ts`).
 *
 * NAB v1.0 ran a local search (a "twiddle" hill-climb) over the threshold, and the published
 * scores of its leaderboard come from it; NAB v1.1 replaced it by an exhaustive sweep over every distinct anomaly score of the corpus, which finds the global
 * maximum of the summed raw score. Both are here: {@link localNabThreshold} (the hill-climb,
 * for comparison with published figures) and {@link optimizeNabThreshold} (the exhaustive
 * sweep, O(N log N) for N rows, picking the highest threshold on ties). Where the summed score
 * has several local maxima the two differ (numenta's reward-low-FP: 63.12 published, 63.21 at
 * the global optimum).
 */
import { SeismoError } from '../errors.js';
import { nabBounds, nabScaledSigmoid, prepareNabFile, scoreNabCorpus, scoreNabFile, type NabCorpusScore, type NabCostMatrix, type NabDataFile, type NabLabelWindow, type NabPreparedFile, type NabProfiles, type NabScoringOptions } from './nab.js';

/** A detection's reward at a window's left edge (σ(-1)): true-positive weights are relative to it. */
const MAX_TP = nabScaledSigmoid(-1);

/** Result of {@link optimizeNabThreshold}. */
export interface NabThresholdChoice {
  /** The threshold with the highest summed raw score (the highest one on ties). */
  threshold: number;
  /** That summed raw score. */
  rawScore: number;
}

/**
 * NAB's threshold optimisation for a new detector: the threshold that maximises the corpus'
 * summed raw score for one profile, found exactly by sweeping every distinct anomaly score
 * (plus "never fire"), in O(N log N) for N rows.
 *
 * "Never fire" is reported as threshold 1.1 when every score is below 1.1 (as NAB does for
 * its [0, 1] scores), else as the largest score plus 1.
 */
export function optimizeNabThreshold(files: ReadonlyArray<NabPreparedFile>, cost: NabCostMatrix): NabThresholdChoice {
  // Every scored (post-probation) row of the corpus, as (file, row).
  let total = 0;
  for (const f of files) total += Math.max(0, f.length - Math.ceil(f.probationaryLength));
  const fileIdx = new Int32Array(total);
  const rowIdx = new Int32Array(total);
  const score = new Float64Array(total);
  const windowBase: number[] = [];
  let nWindows = 0;
  let k = 0;
  let maxScore = -Infinity;
  files.forEach((f, fi) => {
    windowBase.push(nWindows);
    nWindows += f.windows.length;
    for (let i = Math.ceil(f.probationaryLength); i < f.length; i++) {
      fileIdx[k] = fi;
      rowIdx[k] = i;
      score[k] = f.scores[i];
      if (f.scores[i] > maxScore) maxScore = f.scores[i];
      k++;
    }
  });
  const order = new Uint32Array(k);
  for (let i = 0; i < k; i++) order[i] = i;
  order.sort((a, b) => score[b] - score[a]);

  // Start with nothing detected: every scored window is a false negative.
  let current = nabBounds(files, cost).nullScore;
  const windowBest = new Float64Array(nWindows).fill(-Infinity);
  let bestScore = current;
  let bestThreshold = maxScore < 1.1 ? 1.1 : maxScore + 1;
  for (let j = 0; j < k; ) {
    const t = score[order[j]];
    // Lower the threshold to t: every row scoring t becomes a detection.
    for (; j < k && score[order[j]] === t; j++) {
      const f = files[fileIdx[order[j]]];
      const i = rowIdx[order[j]];
      const w = f.windowOf[i];
      if (w < 0) {
        current += f.unweighted[i] * cost.fpWeight;
      } else {
        const g = windowBase[fileIdx[order[j]]] + w;
        const s = (f.unweighted[i] * cost.tpWeight) / MAX_TP;
        if (windowBest[g] === -Infinity) {
          current += cost.fnWeight + s; // the window turns from a miss into a hit
          windowBest[g] = s;
        } else if (s > windowBest[g]) {
          current += s - windowBest[g]; // an earlier detection in an already-hit window
          windowBest[g] = s;
        }
      }
    }
    // Strictly better only: on a tie the higher threshold (seen first) stays.
    if (current > bestScore) {
      bestScore = current;
      bestThreshold = t;
    }
  }
  return { threshold: bestThreshold, rawScore: bestScore };
}

/** How a NAB threshold is searched: NAB v1.0's local hill-climb, or the exact global optimum. */
export type NabSearch = 'local' | 'exact';

/**
 * NAB v1.0's threshold search, as its leaderboard was produced: a hill-climb on the corpus'
 * summed raw score from threshold 0.5 with step 0.1. A step that improves is taken and the step
 * doubles; otherwise the opposite step is tried; when neither improves, the step halves, until
 * it is at most 1e-7. Thresholds outside [0, 1] score -Infinity (NAB's detectors emit [0, 1]).
 * Every evaluated threshold is remembered, and the best of them is returned (the first one
 * evaluated among equals). Each evaluation scores the whole corpus: O(N) per step, some 60-100
 * steps.
 */
export function localNabThreshold(files: ReadonlyArray<NabPreparedFile>, cost: NabCostMatrix): NabThresholdChoice {
  const seen = new Map<number, number>();
  const objective = (x: number): number => {
    let v = seen.get(x);
    if (v === undefined) {
      v = x >= 0 && x <= 1 ? files.reduce((sum, f) => sum + scoreNabFile(f, cost, x).score, 0) : -Infinity;
      seen.set(x, v);
    }
    return v;
  };
  let x = 0.5;
  let step = 0.1;
  let best = objective(x);
  while (step > 1e-7) {
    x += step;
    if (objective(x) > best) {
      best = objective(x);
      step *= 2;
      continue;
    }
    x -= 2 * step;
    if (objective(x) > best) {
      best = objective(x);
      step *= 2;
      continue;
    }
    x += step;
    step *= 0.5;
  }
  let threshold = 0.5;
  let rawScore = -Infinity;
  for (const [t, v] of seen) {
    if (v > rawScore) {
      rawScore = v;
      threshold = t;
    }
  }
  return { threshold, rawScore };
}

/** The threshold of one profile by the chosen search. */
export function searchNabThreshold(files: ReadonlyArray<NabPreparedFile>, cost: NabCostMatrix, search: NabSearch): NabThresholdChoice {
  return search === 'local' ? localNabThreshold(files, cost) : optimizeNabThreshold(files, cost);
}

/** NAB's profile names, and the short keys seismo's CLI prints them under. */
export const NAB_PROFILE_KEYS = {
  standard: 'standard',
  reward_low_FP_rate: 'rewardLowFP',
  reward_low_FN_rate: 'rewardLowFN',
} as const;

/** Scores of one detector under one profile. */
export interface NabProfileResult extends NabCorpusScore {
  profile: string;
  /**
   * Where the threshold came from: given by the caller, found by NAB v1.0's local search
   * ({@link localNabThreshold}), or the exact optimum ({@link optimizeNabThreshold}).
   */
  thresholdSource: 'given' | 'local' | 'exact';
}

/** Options of {@link runNab}. */
export interface NabRunOptions extends NabScoringOptions {
  /** How a profile without a given threshold is searched. Default `local` (NAB v1.0, as published). */
  search?: NabSearch;
}

/**
 * Runs NAB end to end for one detector: prepares the files, and for each profile scores the
 * corpus at the given threshold, or at the searched one when none is given.
 *
 * @param files the detector's scores, one entry per data file
 * @param windows label windows keyed by the files' corpus-relative paths
 * @param profiles cost matrix per profile name
 * @param thresholds per-profile thresholds (e.g. from NAB's config/thresholds.json); a profile
 *   without one is searched (`options.search`)
 * @throws SeismoError ERR_EVAL when a file has no entry in `windows`
 */
export function runNab(
  files: ReadonlyArray<NabDataFile>,
  windows: Readonly<Record<string, ReadonlyArray<NabLabelWindow>>>,
  profiles: NabProfiles,
  thresholds: Readonly<Record<string, number>> = {},
  options: NabRunOptions = {},
): Record<string, NabProfileResult> {
  const search = options.search ?? 'local';
  const prepared = files.map((f) => {
    const w = windows[f.path];
    if (!w) throw new SeismoError('ERR_EVAL', `no label windows for ${f.path}; is it a NAB data file?`, { path: f.path });
    return prepareNabFile(f, w, options);
  });
  const out: Record<string, NabProfileResult> = {};
  for (const [profile, cost] of Object.entries(profiles)) {
    const given = thresholds[profile];
    const threshold = given ?? searchNabThreshold(prepared, cost, search).threshold;
    out[profile] = { profile, thresholdSource: given === undefined ? search : 'given', ...scoreNabCorpus(prepared, cost, threshold) };
  }
  return out;
}
