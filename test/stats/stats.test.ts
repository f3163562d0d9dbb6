import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors.js';
import { median, mulberry32, quantile, Random, shuffled, sortedFinite } from '../../src/stats/index.js';

const code = (c: string) => (e: unknown) => isSeismoError(e) && e.code === c;

describe('stats', () => {
  it('quantile interpolates like numpy.quantile and skips non-finite values', () => {
    // numpy.quantile([1, 2, 3, 4, 10], [0.25, 0.995]) -> 2, 9.88
    const v = [10, NaN, 1, Infinity, 3, -Infinity, 2, 4];
    assert.equal(quantile(v, 0.25), 2);
    assert.ok(Math.abs(quantile(v, 0.995) - 9.88) < 1e-12);
    assert.deepEqual(Array.from(sortedFinite(v)), [1, 2, 3, 4, 10]);
  });

  it('median of odd and even counts, with the same NaN policy', () => {
    assert.equal(median([3, NaN, 1, 2]), 2);
    assert.equal(median(Float32Array.of(4, 1, 3, 2)), 2.5);
  });

  it('refuses no finite values and levels outside [0, 1]', () => {
    assert.throws(() => quantile([NaN, Infinity], 0.5), code('ERR_BAD_SHAPE'));
    assert.throws(() => median([]), code('ERR_BAD_SHAPE'));
    assert.throws(() => quantile([1, 2], 1.5), code('ERR_INVALID_OPTION'));
  });

  it('seeded generators repeat their streams and shuffle into a permutation', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    for (let i = 0; i < 5; i++) assert.equal(a(), b());
    assert.equal(new Random(3).next(), new Random(3).next());
    assert.notEqual(new Random(3).next(), new Random(4).next());
    const order = shuffled(Int32Array.from({ length: 50 }, (_, i) => i), mulberry32(1));
    assert.notDeepEqual(Array.from(order), Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(Array.from(order).sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  });
});
