// Every metric against values computed by the reference Python implementations (scikit-learn,
// TSB-AD, prts) on 40 generated cases; see test/fixtures/metrics/README.md for the exact calls.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  affiliation,
  averagePrecision,
  bestF1,
  evaluate,
  pointAdjustedMetrics,
  rangeMetrics,
  rocAuc,
  thresholdMetrics,
  vus,
  type EvaluationResult,
} from '../../src/evaluate';

interface Case {
  id: string;
  labels: number[];
  scores: number[];
  threshold: number;
  slidingWindow: number;
  expected: Record<string, number>;
}

const cases: Case[] = JSON.parse(readFileSync(join(__dirname, '../fixtures/metrics/metric_cases.json'), 'utf8'));

/** Fixture field name -> key of the evaluate() result. */
const FIELD: Record<string, keyof EvaluationResult> = {
  rocAuc: 'rocAuc',
  prAuc: 'prAuc',
  pointPrecision: 'precision',
  pointRecall: 'recall',
  pointF1: 'f1',
  pointF2: 'f2',
  pointF05: 'f05',
  paPrecision: 'paPrecision',
  paRecall: 'paRecall',
  paF1: 'paF1',
  rangePrecision: 'rangePrecision',
  rangeRecall: 'rangeRecall',
  rangeF1: 'rangeF1',
  vusRoc: 'vusRoc',
  vusPr: 'vusPr',
  bestF1: 'bestF1',
  bestF1Threshold: 'bestF1Threshold',
  affiliationPrecision: 'affiliationPrecision',
  affiliationRecall: 'affiliationRecall',
};

// The reference README says 1e-9 covers summation-order differences for every field, VUS
// included; we measured ≤ 4e-15.
const TOL = 1e-9;

function close(actual: number, expected: number, what: string): void {
  assert.ok(Number.isFinite(actual), `${what}: got ${actual}`);
  assert.ok(Math.abs(actual - expected) <= TOL, `${what}: got ${actual}, expected ${expected} (diff ${Math.abs(actual - expected)})`);
}

describe('evaluate: reference cases (sklearn / TSB-AD / prts)', () => {
  it('has the 40 cases and every field in each', () => {
    assert.equal(cases.length, 40);
    for (const c of cases) assert.deepEqual(Object.keys(c.expected).sort(), Object.keys(FIELD).sort(), c.id);
  });

  for (const c of cases) {
    it(`${c.id} (n=${c.labels.length}, sw=${c.slidingWindow}): every field of evaluate()`, () => {
      const r = evaluate(c.labels, Float64Array.from(c.scores), { threshold: c.threshold, slidingWindow: c.slidingWindow });
      for (const [field, expected] of Object.entries(c.expected)) close(r[FIELD[field]] as number, expected, `${c.id} ${field}`);
    });
  }

  it('the standalone functions agree with the fixtures too', () => {
    for (const c of cases) {
      const e = c.expected;
      const labels = Uint8Array.from(c.labels);
      close(rocAuc(labels, c.scores), e.rocAuc, `${c.id} rocAuc`);
      close(averagePrecision(labels, c.scores), e.prAuc, `${c.id} prAuc`);
      const b = bestF1(labels, c.scores);
      close(b.f1, e.bestF1, `${c.id} bestF1`);
      assert.equal(b.threshold, e.bestF1Threshold, `${c.id} bestF1Threshold`);
      const t = thresholdMetrics(labels, c.scores, c.threshold);
      close(t.f2, e.pointF2, `${c.id} f2`);
      const pa = pointAdjustedMetrics(labels, c.scores, c.threshold);
      close(pa.f1, e.paF1, `${c.id} paF1`);
      const rm = rangeMetrics(labels, c.scores, c.threshold);
      close(rm.f, e.rangeF1, `${c.id} rangeF1`);
      const pred = c.scores.map((s) => (s >= c.threshold ? 1 : 0));
      const a = affiliation(labels, pred);
      close(a.precision, e.affiliationPrecision, `${c.id} affiliationPrecision`);
      close(a.recall, e.affiliationRecall, `${c.id} affiliationRecall`);
    }
  });

  it("standalone vus() on the linspace-trap case (n=1080) uses numpy's float rank indices", () => {
    const c = cases.find((x) => x.id.endsWith('linspace_trap'));
    assert.ok(c);
    const v = vus(c.labels, Float64Array.from(c.scores), { slidingWindow: c.slidingWindow });
    close(v.vusRoc, c.expected.vusRoc, 'vusRoc');
    close(v.vusPr, c.expected.vusPr, 'vusPr');
  });

  it('textbook point-adjust fills index 0 of a range starting at 0 (not TSB-AD\'s quirk)', () => {
    const c = cases.find((x) => x.id.endsWith('-start'));
    assert.ok(c);
    const pa = pointAdjustedMetrics(c.labels, c.scores, c.threshold);
    close(pa.precision, 0.24489795918367346, 'paPrecision');
    close(pa.recall, 0.26666666666666666, 'paRecall');
    assert.ok(Math.abs(pa.f1 - 0.23655913978494625) > 1e-3, 'must differ from TSB-AD index-0 value');
  });
});
