/**
 * The NAB corpus for online detectors, and NAB scoring by folds: a seeded two-fold split of the
 * 58 files by name, each fold and the whole corpus scored with NAB's threshold optimisation per
 * profile. Settings are chosen on one fold and reported on the other (see bench/nab.ts).
 */
import { loadNabProfiles } from '../src/evaluate/nab-corpus.js';
import { type NabLabelWindow, nabProbationaryLength, prepareNabFile, scoreNabCorpus, type NabCostMatrix, type NabPreparedFile } from '../src/evaluate/nab.js';
import { NAB_PROFILE_KEYS, optimizeNabThreshold } from '../src/evaluate/nab-run.js';
import { loadNab, readNabWindows } from '../src/ingest/nab.js';
import { mulberry32 } from '../src/stats/random.js';

/** One NAB file as an online detector sees it. */
export interface NabStream {
  key: string;
  category: string;
  /** Row timestamps as written in the file. */
  timestamps: string[];
  /** Epoch milliseconds per row. */
  times: Float64Array;
  values: Float64Array;
  /** Rows of the probationary period (NAB's first 15%, at most 750). */
  probation: number;
  windows: ReadonlyArray<NabLabelWindow>;
}

/** NAB's three profiles under seismo's short keys. */
export interface NabProfileScores {
  standard: number;
  rewardLowFP: number;
  rewardLowFN: number;
}

export async function loadNabStreams(root: string, names?: string[]): Promise<{ streams: NabStream[]; profiles: Record<string, NabCostMatrix> }> {
  const series = await loadNab(root, { names });
  const windows = readNabWindows(root);
  const profiles = loadNabProfiles(root);
  const streams = series.map((s) => {
    const T = s.table.length;
    const values = new Float64Array(T);
    for (let i = 0; i < T; i++) values[i] = s.table.frames[i]!;
    return {
      key: s.key,
      category: s.category,
      timestamps: Array.from(s.table.timestamps, String),
      times: Float64Array.from(s.table.time),
      values,
      probation: nabProbationaryLength(T),
      windows: windows[s.key] ?? [],
    };
  });
  return { streams, profiles };
}

/**
 * The seeded two-fold split by file name: the keys shuffled by a seeded RNG after sorting, the
 * first half is fold A. Depends only on the names and the seed.
 */
export function nabFolds(keys: readonly string[], seed = 1): { A: Set<string>; B: Set<string> } {
  const sorted = [...keys].sort();
  const rand = mulberry32(seed);
  for (let i = sorted.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [sorted[i], sorted[j]] = [sorted[j]!, sorted[i]!];
  }
  const half = Math.ceil(sorted.length / 2);
  return { A: new Set(sorted.slice(0, half)), B: new Set(sorted.slice(half)) };
}

/** NAB scores (threshold optimised per profile on these files) of a set of scored files. */
export function scoreNabFiles(prepared: readonly NabPreparedFile[], profiles: Record<string, NabCostMatrix>): NabProfileScores & { thresholds: NabProfileScores } {
  const out: Record<string, number> = {};
  const thresholds: Record<string, number> = {};
  for (const [profile, key] of Object.entries(NAB_PROFILE_KEYS)) {
    const cost = profiles[profile]!;
    const choice = optimizeNabThreshold(prepared, cost);
    out[key] = scoreNabCorpus(prepared, cost, choice.threshold).normalized;
    thresholds[key] = choice.threshold;
  }
  return { standard: out.standard!, rewardLowFP: out.rewardLowFP!, rewardLowFN: out.rewardLowFN!, thresholds: thresholds as unknown as NabProfileScores };
}

export function prepareStream(stream: NabStream, scores: Float64Array): NabPreparedFile {
  return prepareNabFile({ path: stream.key, timestamps: stream.timestamps, scores }, stream.windows);
}
