// Hand-computed cases and error paths of the metric functions.
import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import {
  affiliation,
  averagePrecision,
  bestF1,
  confusionMatrix,
  evaluate,
  findRanges,
  pointAdjust,
  rangePrecisionRecall,
  rocAuc,
  thresholdMetrics,
  thresholdRanks,
  vus,
} from '../../src/evaluate';

const near = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} != ${b}`);
const code = (c: string) => (err: unknown) => isSeismoError(err) && err.code === c;

describe('evaluate: curves', () => {
  it('ROC AUC counts a tie between a positive and a negative as 1/2', () => {
    // positives at 0.9 and 0.5, negatives at 0.5 and 0.1: pairs (0.9>0.5, 0.9>0.1, 0.5=0.5, 0.5>0.1)
    assert.equal(rocAuc([1, 1, 0, 0], [0.9, 0.5, 0.5, 0.1]), 3.5 / 4);
    assert.equal(rocAuc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]), 0.5);
    assert.equal(rocAuc([1, 0], [0, 1]), 0);
  });

  it('average precision is step-wise (no interpolation) and P/n for constant scores', () => {
    // order: 1 (P=1/1), 0, 1 (P=2/3): AP = 0.5*1 + 0.5*2/3
    assert.ok(Math.abs(averagePrecision([1, 0, 1], [0.9, 0.8, 0.7]) - (0.5 + 1 / 3)) < 1e-15);
    assert.equal(averagePrecision([1, 0, 0, 0], new Float32Array([0.2, 0.2, 0.2, 0.2])), 0.25);
  });

  it('best F1 is exact and breaks ties toward the largest threshold', () => {
    // t=0.9: TP1, Npred1 -> 2/(1+2)=2/3; t=0.8: TP1,Npred2 -> 2/4; t=0.7: TP2,Npred3 -> 4/5... check
    const b = bestF1([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]);
    assert.equal(b.threshold, 0.7);
    assert.equal(b.f1, 4 / 5);
    // tie: t=0.9 gives 2/(1+2)=2/3, t=0.5 gives 4/(4+2)=2/3 -> largest threshold wins
    const tie = bestF1([1, 0, 0, 1, 0], [0.9, 0.8, 0.7, 0.5, 0.1]);
    assert.equal(tie.f1, 2 / 3);
    assert.equal(tie.threshold, 0.9);
  });

  it('rejects mismatched lengths, NaN scores, non-binary labels and one-class labels', () => {
    assert.throws(() => rocAuc([1, 0], [0.1]), code('ERR_BAD_SHAPE'));
    assert.throws(() => rocAuc([], []), code('ERR_BAD_SHAPE'));
    assert.throws(() => rocAuc([1, 0], [0.1, NaN]), code('ERR_NON_FINITE'));
    assert.throws(() => rocAuc([1, 0], [0.1, Infinity]), code('ERR_NON_FINITE'));
    assert.throws(() => rocAuc([1, 2], [0.1, 0.2]), code('ERR_EVAL'));
    assert.throws(() => rocAuc([0, 0], [0.1, 0.2]), /no anomalous point/);
    assert.throws(() => averagePrecision([1, 1], [0.1, 0.2]), /no normal point/);
    assert.throws(() => vus([0, 0, 0], [1, 2, 3], { slidingWindow: 2 }), code('ERR_EVAL'));
    assert.throws(() => vus([0, 1, 0], [1, 2, 3], { slidingWindow: -1 }), code('ERR_INVALID_OPTION'));
    assert.throws(() => bestF1([0, 0], [1, 2]), code('ERR_EVAL'));
  });
});

describe('evaluate: threshold metrics', () => {
  it('thresholds inclusively and computes F-beta from counts', () => {
    const y = [1, 1, 0, 0, 1];
    const s = [0.5, 0.2, 0.5, 0.1, 0.9];
    assert.deepEqual(confusionMatrix(y, s, 0.5), { tp: 2, fp: 1, fn: 1, tn: 1 });
    const m = thresholdMetrics(y, s, 0.5);
    assert.equal(m.precision, 2 / 3);
    assert.equal(m.recall, 2 / 3);
    assert.equal(m.f1, 2 / 3);
    assert.equal(m.f2, (5 * 2) / (5 * 2 + 4 * 1 + 1));
    assert.equal(m.f05, (1.25 * 2) / (1.25 * 2 + 0.25 * 1 + 1));
    // nothing predicted: zero_division = 0
    const none = thresholdMetrics(y, s, 2);
    assert.equal(none.precision, 0);
    assert.equal(none.f1, 0);
  });

  it('point-adjust fills whole hit ranges, index 0 included, and keeps false positives', () => {
    const y = [1, 1, 1, 0, 0, 1, 1, 0];
    const p = [0, 0, 1, 0, 1, 0, 0, 0];
    assert.deepEqual([...pointAdjust(y, p)], [1, 1, 1, 0, 1, 0, 0, 0]);
  });

  it('finds maximal runs with inclusive ends', () => {
    assert.deepEqual(findRanges(Uint8Array.from([1, 1, 0, 1, 0, 0, 1])), [
      { start: 0, end: 1 },
      { start: 3, end: 3 },
      { start: 6, end: 6 },
    ]);
  });
});

describe('evaluate: range-based (Tatbul et al.)', () => {
  // truth [2..5] and [8..9]; predictions [4..8]
  const y = [0, 0, 1, 1, 1, 1, 0, 0, 1, 1];
  const p = [0, 0, 0, 0, 1, 1, 1, 1, 1, 0];

  it('defaults: mean covered fraction per range', () => {
    const r = rangePrecisionRecall(y, p);
    near(r.recall, (2 / 4 + 1 / 2) / 2);
    near(r.precision, 3 / 5);
    near(r.f, (2 * 0.5 * 0.6) / 1.1);
  });

  it('alpha, reciprocal cardinality and positional bias', () => {
    // alpha 0.5: each true range is hit, existence 1
    near(rangePrecisionRecall(y, p, { alpha: 0.5 }).recall, 0.5 * 1 + 0.5 * 0.5);
    // the prediction overlaps two true ranges -> gamma 1/2 on precision
    near(rangePrecisionRecall(y, p, { cardinality: 'reciprocal' }).precision, (1 / 2) * (3 / 5));
    // back bias on [2..5]: weights 1,2,3,4, overlap covers positions 3,4 -> 7/10
    const back = rangePrecisionRecall(y, p, { bias: 'back' });
    near(back.recall, (7 / 10 + 1 / 3) / 2);
    // front bias: weights 4,3,2,1 -> 3/10; [8..9] weights 2,1, covered first -> 2/3
    near(rangePrecisionRecall(y, p, { bias: 'front' }).recall, (3 / 10 + 2 / 3) / 2);
    assert.throws(() => rangePrecisionRecall(y, p, { alpha: 2 }), code('ERR_INVALID_OPTION'));
  });

  it('no predicted range gives 0, not an exception', () => {
    assert.deepEqual(rangePrecisionRecall(y, new Array(10).fill(0)), { precision: 0, recall: 0, f: 0 });
  });
});

describe('evaluate: VUS and affiliation', () => {
  it('samples rank thresholds with float truncation like numpy.linspace(...).astype(int)', () => {
    const idx = thresholdRanks(1080, 250);
    assert.equal(idx[0], 0);
    assert.equal(idx[249], 1079);
    // exact integer floor(27*1079/249) is 117, but numpy's float64 27*(1079/249) truncates to 116
    assert.equal(idx[27], 116);
    assert.equal(idx[51], 220);
  });

  it('a perfect ranking has VUS-ROC 1 at window 0', () => {
    const y = [0, 0, 1, 1, 0, 0, 0, 0];
    const s = [0.1, 0.2, 0.9, 0.8, 0.3, 0.1, 0.2, 0.1];
    const v = vus(y, s, { slidingWindow: 0 });
    assert.ok(Math.abs(v.vusRoc - rocAuc(y, s)) < 1e-12);
  });

  it('affiliation: exact detection scores 1/1, a near miss less than 1', () => {
    const y = [0, 0, 0, 1, 1, 0, 0, 0, 0, 0];
    assert.deepEqual(affiliation(y, y), { precision: 1, recall: 1 });
    const near = affiliation(y, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.ok(near.precision < 1 && near.precision > 0.5);
    assert.ok(near.recall < 1 && near.recall > 0.5);
    assert.deepEqual(affiliation(y, new Array(10).fill(0)), { precision: 0, recall: 0 });
  });
});

describe('evaluate()', () => {
  it('defaults to the best-F1 threshold and slidingWindow 100', () => {
    const y = [0, 0, 1, 1, 0, 0, 0, 1, 0, 0];
    const s = [0.1, 0.3, 0.8, 0.7, 0.2, 0.1, 0.4, 0.9, 0.1, 0.2];
    const r = evaluate(y, s);
    assert.equal(r.threshold, r.bestF1Threshold);
    assert.equal(r.f1, r.bestF1);
    assert.equal(r.slidingWindow, 100);
    assert.equal(r.f1, 1);
    assert.equal(r.rocAuc, 1);
  });

  it('rejects a non-finite threshold', () => {
    assert.throws(() => evaluate([0, 1], [0, 1], { threshold: NaN }), code('ERR_INVALID_OPTION'));
  });
});
