import assert from 'node:assert/strict';
import { nabFolds } from '../../bench/nab-folds.js';

describe('NAB two-fold split by file name', () => {
  const keys = Array.from({ length: 58 }, (_, i) => `cat${i % 7}/file${i}.csv`);

  it('splits into two disjoint halves covering every file, the same for the same seed whatever the order', () => {
    const a = nabFolds(keys, 1);
    const b = nabFolds([...keys].reverse(), 1);
    assert.equal(a.A.size, 29);
    assert.equal(a.B.size, 29);
    for (const k of keys) assert.ok(a.A.has(k) !== a.B.has(k));
    assert.deepEqual([...a.A].sort(), [...b.A].sort());
  });

  it('gives another split for another seed', () => {
    assert.notDeepEqual([...nabFolds(keys, 1).A].sort(), [...nabFolds(keys, 2).A].sort());
  });
});
