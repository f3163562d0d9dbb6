import assert from 'node:assert/strict';
import { prepareNabFile, scoreNabCorpus } from '../../src/evaluate/nab.js';
import { localNabThreshold, optimizeNabThreshold, searchNabThreshold } from '../../src/evaluate/nab-run.js';

const STANDARD = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };

describe('NAB threshold search: local (NAB v1.0) and exact', () => {
  // 100 rows, probation 15; two false positives before the window score 0.55 and 0.35; the
  // window's rows score 0.2. Above 0.55 nothing fires (-1); lowering the threshold first adds
  // false positives (worse), and only at 0.2 does the window turn into a hit: a local maximum
  // above 0.55, the global one at 0.2.
  const scores = new Float64Array(100);
  scores[30] = 0.55;
  scores[40] = 0.35;
  for (let i = 70; i <= 80; i++) scores[i] = 0.2;
  const file = prepareNabFile({ path: 'x/a.csv', timestamps: Array.from({ length: 100 }, (_, i) => i), scores }, [[70, 80]]);

  it('the local search stays on the local maximum NAB v1.0 would find', () => {
    const local = localNabThreshold([file], STANDARD);
    assert.ok(local.threshold > 0.55 && local.threshold <= 1, String(local.threshold));
    assert.ok(Math.abs(local.rawScore - -1) < 1e-12);
    assert.equal(scoreNabCorpus([file], STANDARD, local.threshold).rawScore, local.rawScore);
  });

  it('the exact search finds the global one, and searchNabThreshold dispatches', () => {
    const exact = optimizeNabThreshold([file], STANDARD);
    assert.equal(exact.threshold, 0.2);
    assert.ok(exact.rawScore > 0);
    assert.deepEqual(searchNabThreshold([file], STANDARD, 'exact'), exact);
    assert.deepEqual(searchNabThreshold([file], STANDARD, 'local'), localNabThreshold([file], STANDARD));
  });

  it('agrees with the exact search where the score has one maximum', () => {
    const s = new Float64Array(100);
    for (let i = 70; i <= 80; i++) s[i] = 0.9;
    const f = prepareNabFile({ path: 'x/b.csv', timestamps: Array.from({ length: 100 }, (_, i) => i), scores: s }, [[70, 80]]);
    const local = localNabThreshold([f], STANDARD);
    assert.equal(local.rawScore, optimizeNabThreshold([f], STANDARD).rawScore);
  });
});
