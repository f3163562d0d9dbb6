// NAB scorer on small synthetic NAB-like files whose scores can be worked out by hand.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSeismoError } from '../../src/errors';
import { nabProbationaryLength, nabScaledSigmoid, nabTimestampKey, prepareNabFile, scoreNabCorpus, scoreNabFile, type NabCostMatrix, type NabDataFile, type NabLabelWindow } from '../../src/evaluate/nab';
import { optimizeNabThreshold, runNab } from '../../src/evaluate/nab-run';
import { loadNabProfiles, loadNabResults, loadNabThresholds } from '../../src/evaluate/nab-corpus';
import { readNabWindows } from '../../src/ingest/nab';

const STANDARD: NabCostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };
const LOW_FN: NabCostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 2 };

/** Minute-spaced timestamps written as NAB data files do. */
function stamps(n: number): string[] {
  return Array.from({ length: n }, (_, i) => new Date(Date.UTC(2020, 0, 1, 0, i)).toISOString().replace('T', ' ').slice(0, 19));
}

/** 20 rows (probation: rows 0..2), one window on rows 10..13 (width 4). */
function file(hot: number[], path = 'cat/a.csv'): NabDataFile {
  const scores = new Float64Array(20);
  for (const i of hot) scores[i] = 1;
  return { path, timestamps: stamps(20), scores };
}
const ts = stamps(20);
// The label file writes microseconds; the data file does not: they must still match.
const WINDOWS: NabLabelWindow[] = [[`${ts[10]}.000000`, `${ts[13]}.000000`]];
const sig = (x: number) => 2 / (1 + Math.exp(5 * x)) - 1;
const near = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-12, `${what} ${a} != ${b}`);

describe('evaluate: NAB scorer', () => {
  it('scaled sigmoid and probation follow NAB', () => {
    near(nabScaledSigmoid(-1), 2 / (1 + Math.exp(-5)) - 1);
    near(nabScaledSigmoid(0), 0);
    assert.equal(nabScaledSigmoid(3), -1);
    assert.equal(nabProbationaryLength(20), 3);
    assert.equal(nabProbationaryLength(100000), 750);
    assert.equal(nabTimestampKey('2014-04-10 07:15:00.000000'), nabTimestampKey('2014-04-10 07:15:00'));
  });

  it('a perfect detector (first row of each window) scores 100, the null detector 0', () => {
    const perfect = scoreNabCorpus([prepareNabFile(file([10]), WINDOWS)], STANDARD, 0.5);
    assert.equal(perfect.rawScore, 1);
    assert.equal(perfect.normalized, 100);
    const nul = scoreNabCorpus([prepareNabFile(file([]), WINDOWS)], LOW_FN, 0.5);
    assert.equal(nul.rawScore, -2);
    assert.equal(nul.normalized, 0);
  });

  it('a hand-computed mix of a late detection, false positives and probation', () => {
    // row 1: probation (ignored); row 5: FP before any window (-fpWeight);
    // row 12: TP at position -(13-12+1)/4 = -0.5; row 13 too (later, adds nothing);
    // row 15: FP at |13-15|/(4-1) = 2/3 past the window.
    const f = prepareNabFile(file([1, 5, 12, 13, 15]), WINDOWS);
    const r = scoreNabFile(f, STANDARD, 1);
    const expected = sig(-0.5) / sig(-1) - 0.11 + 0.11 * sig(2 / 3);
    near(r.score, expected, 'raw');
    assert.deepEqual({ tp: r.tp, fp: r.fp, fn: r.fn, tn: r.tn, total: r.total }, { tp: 2, fp: 2, fn: 2, tn: 11, total: 20 });
    const c = scoreNabCorpus([f], STANDARD, 1);
    near(c.normalized, (100 * (expected + 1)) / 2, 'normalised');
  });

  it('a window inside the probationary period is not scored', () => {
    const early: NabLabelWindow[] = [[ts[0], ts[1]]];
    const r = scoreNabFile(prepareNabFile(file([]), early), STANDARD, 0.5);
    assert.equal(r.score, 0);
  });

  it('the threshold sweep finds the brute-force optimum, highest threshold on ties', () => {
    // Graded scores over two files; brute force = score the corpus at every distinct score.
    const rnd = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    const next = rnd(7);
    const files = ['c/a.csv', 'c/b.csv'].map((path) => {
      const scores = Float64Array.from({ length: 20 }, () => Math.round(next() * 20) / 20);
      scores[11] = 0.97;
      return prepareNabFile({ path, timestamps: ts, scores }, WINDOWS);
    });
    for (const cost of [STANDARD, LOW_FN, { tpWeight: 1, fpWeight: 0.22, fnWeight: 1 }]) {
      const opt = optimizeNabThreshold(files, cost);
      const candidates = [1.1, ...new Set(files.flatMap((f) => [...f.scores]))].sort((a, b) => b - a);
      let best = -Infinity;
      let bestT = NaN;
      for (const t of candidates) {
        const s = scoreNabCorpus(files, cost, t).rawScore;
        if (s > best + 1e-12) {
          best = s;
          bestT = t;
        }
      }
      near(opt.rawScore, best, 'optimum');
      assert.equal(opt.threshold, bestT);
      near(scoreNabCorpus(files, cost, opt.threshold).rawScore, opt.rawScore, 'rescored');
    }
  });

  it('rejects windows whose timestamps are not rows of the file', () => {
    assert.throws(
      () => prepareNabFile(file([]), [['2021-01-01 00:00:00', ts[3]]]),
      (e: unknown) => isSeismoError(e, 'ERR_EVAL') && /does not start and end/.test(e.message),
    );
    assert.throws(() => prepareNabFile({ path: 'x', timestamps: ts, scores: [1] }, WINDOWS), (e: unknown) => isSeismoError(e, 'ERR_BAD_SHAPE'));
  });

  describe('on a NAB-like folder', () => {
    let root = '';
    before(() => {
      root = mkdtempSync(join(tmpdir(), 'seismo-nab-'));
      mkdirSync(join(root, 'labels'));
      mkdirSync(join(root, 'config'));
      mkdirSync(join(root, 'results', 'toy', 'cat'), { recursive: true });
      writeFileSync(join(root, 'labels', 'combined_windows.json'), JSON.stringify({ 'cat/a.csv': WINDOWS, 'cat/b.csv': [] }));
      writeFileSync(
        join(root, 'config', 'profiles.json'),
        JSON.stringify({
          standard: { CostMatrix: { ...STANDARD, tnWeight: 1 } },
          reward_low_FN_rate: { CostMatrix: { ...LOW_FN, tnWeight: 1 } },
        }),
      );
      writeFileSync(join(root, 'config', 'thresholds.json'), JSON.stringify({ toy: { standard: { score: 0, threshold: 0.5 } } }));
      const csv = (hot: number[]) =>
        'timestamp,value,anomaly_score,label\n' + ts.map((t, i) => `${t},${i},${hot.includes(i) ? 1 : 0},0`).join('\n') + '\n';
      writeFileSync(join(root, 'results', 'toy', 'cat', 'toy_a.csv'), csv([10]));
      writeFileSync(join(root, 'results', 'toy', 'cat', 'toy_b.csv'), csv([15]));
      writeFileSync(join(root, 'results', 'toy', 'toy_standard_scores.csv'), 'Detector,Profile\n');
    });
    after(() => rmSync(root, { recursive: true, force: true }));

    it('loads windows, profiles, thresholds and results, and scores them', () => {
      const files = loadNabResults(join(root, 'results'), 'toy');
      assert.deepEqual(
        files.map((f) => f.path),
        ['cat/a.csv', 'cat/b.csv'],
      );
      const thresholds = loadNabThresholds(root, 'toy');
      assert.deepEqual(thresholds, { standard: 0.5 });
      assert.equal(loadNabThresholds(root, 'other'), undefined);
      const res = runNab(files, readNabWindows(root), loadNabProfiles(root), thresholds);
      // standard at 0.5: a.csv perfect (+1), b.csv one FP before any window (-0.11)
      near(res.standard.rawScore, 1 - 0.11);
      assert.equal(res.standard.thresholdSource, 'given');
      near(res.standard.normalized, (100 * (0.89 + 1)) / 2);
      // reward_low_FN_rate has no threshold listed: searched, locally by default (NAB v1.0);
      // firing only on score 1 is best, which any threshold in (0, 1] does: the start 0.5 stays.
      assert.equal(res.reward_low_FN_rate.thresholdSource, 'local');
      assert.equal(res.reward_low_FN_rate.threshold, 0.5);
      const exact = runNab(files, readNabWindows(root), loadNabProfiles(root), thresholds, { search: 'exact' });
      assert.equal(exact.reward_low_FN_rate.thresholdSource, 'exact');
      assert.equal(exact.reward_low_FN_rate.threshold, 1);
      near(exact.reward_low_FN_rate.normalized, res.reward_low_FN_rate.normalized);
    });

    it('says what is missing when a results folder is empty', () => {
      assert.throws(() => loadNabResults(join(root, 'results'), 'nobody'), (e: unknown) => isSeismoError(e, 'ERR_EVAL'));
    });
  });
});
