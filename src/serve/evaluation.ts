/**
 * The evaluation view's data: a scored, labelled file joined the way `seismo eval` joins it, sent
 * to the page as scores sorted from highest to lowest with their labels. The page counts the
 * confusion matrix for any threshold from that order by a binary search (a threshold slider
 * stays live on a million points), and draws the histograms, ROC and PR from the same arrays.
 */
import { evaluateCsvFiles } from '../evaluate/csv-files.js';
import { SeismoError } from '../errors.js';

/** What `GET /api/eval` answers. */
export interface EvalPayload {
  scoresFile: string;
  labelsFile: string;
  /** Labelled points. */
  points: number;
  positives: number;
  /** Scores sorted descending (the page's threshold search relies on it). */
  scores: number[];
  /** 0/1 label of each sorted score. */
  labels: number[];
  /** The threshold the file's own decisions used (its threshold column), else the best-F1 one. */
  threshold: number | null;
  rocAuc: number;
  prAuc: number;
  bestF1: number;
  bestF1Threshold: number | null;
}

/** @throws SeismoError `ERR_CSV_PARSE` / `ERR_EVAL` as `seismo eval`; `ERR_EVAL` without both classes. */
export function loadEvaluation(scoresFile: string, labelsFile: string): EvalPayload {
  const { metrics, joined } = evaluateCsvFiles(scoresFile, labelsFile);
  const n = joined.scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => joined.scores[b]! - joined.scores[a]!);
  const positives = joined.labels.reduce((a, b) => a + b, 0);
  if (positives === 0 || positives === n) {
    throw new SeismoError('ERR_EVAL', `the evaluation view needs normal and anomalous points; ${positives} of ${n} labelled points are anomalous`);
  }
  return {
    scoresFile,
    labelsFile,
    points: n,
    positives,
    scores: order.map((i) => joined.scores[i]!),
    labels: order.map((i) => joined.labels[i]!),
    threshold: joined.threshold ?? metrics.bestF1Threshold ?? null,
    rocAuc: metrics.rocAuc,
    prAuc: metrics.prAuc,
    bestF1: metrics.bestF1,
    bestF1Threshold: metrics.bestF1Threshold ?? null,
  };
}
