import assert from 'node:assert/strict';
import { createNormalizer, logGaussianTail, normalizedToTail, tailToNormalized } from '../../src/score/normalize.js';
import { Random } from '../../src/stats/random.js';

function noise(n: number, seed: number): Float64Array {
  const r = new Random(seed);
  return Float64Array.from({ length: n }, () => Math.abs(r.normal()));
}

describe('score normaliser (anomaly likelihood)', () => {
  it('computes the Gaussian log tail accurately near the centre and in the far tail', () => {
    assert.ok(Math.abs(logGaussianTail(0) - Math.log(0.5)) < 1e-6);
    assert.ok(Math.abs(logGaussianTail(3) - Math.log(1.3498980316e-3)) < 1e-4);
    // Q(10) = 7.6198530242e-24: far below what exp() of the rational approximation resolves.
    assert.ok(Math.abs(logGaussianTail(10) - Math.log(7.6198530242e-24)) < 1e-3);
    // Q(40) = 3.655893540e-350 underflows a double; its log is -804.6088.
    assert.ok(Math.abs(logGaussianTail(40) - (Math.log(3.65589354) - 350 * Math.LN10)) < 1e-3);
    let prev = Infinity;
    for (let z = -8; z <= 60; z += 0.01) {
      const v = logGaussianTail(z);
      assert.ok(v <= prev + 1e-9, `not decreasing at z=${z}`);
      prev = v;
    }
  });

  it('maps tail probabilities to [0, 1) and back', () => {
    for (const p of [0.5, 1e-3, 1e-10, 1e-40]) {
      const s = tailToNormalized(p);
      assert.ok(s >= 0 && s < 1);
      assert.ok(Math.abs(Math.log10(normalizedToTail(s)) - Math.log10(p)) < 1e-9);
    }
    assert.equal(tailToNormalized(1e-10), 0.5);
    assert.throws(() => normalizedToTail(1), { code: 'ERR_INVALID_OPTION' });
  });

  it('stays low on stationary noise and rises on a sustained shift of the raw score', () => {
    const raw = noise(3000, 1);
    for (let i = 2500; i < 2530; i++) raw[i] += 3;
    const norm = createNormalizer();
    const out = Array.from(raw, (x) => norm.update(x));
    const before = out.slice(200, 2500);
    const high = before.filter((s) => s > tailToNormalized(1e-4)).length;
    assert.ok(high < 10, `${high} of ${before.length} normal samples above the 1e-4 level`);
    assert.ok(Math.max(...out.slice(2500, 2530)) > 0.5, 'the shift reaches P < 1e-10');
    for (const s of out) assert.ok(s >= 0 && s < 1);
  });

  it('is causal: a prefix of the stream gives the same outputs', () => {
    const raw = noise(800, 2);
    const a = createNormalizer({ warmup: 20 });
    const b = createNormalizer({ warmup: 20 });
    const full = Array.from(raw, (x) => a.update(x));
    const prefix = Array.from(raw.subarray(0, 500), (x) => b.update(x));
    assert.deepEqual(prefix, full.slice(0, 500));
  });

  it('resumes from its JSON state with the same outputs', () => {
    const raw = noise(1000, 3);
    for (let i = 700; i < 720; i++) raw[i] += 2;
    const a = createNormalizer({ shortWindow: 5, memory: 300, warmup: 50 });
    const full = Array.from(raw, (x) => a.update(x));
    const b = createNormalizer({ shortWindow: 5, memory: 300, warmup: 50 });
    for (let i = 0; i < 600; i++) b.update(raw[i]!);
    const state = JSON.parse(JSON.stringify(b.toJSON()));
    const c = createNormalizer(undefined, state);
    const resumed = Array.from(raw.subarray(600), (x) => c.update(x));
    assert.deepEqual(resumed, full.slice(600));
    assert.deepEqual(c.toJSON(), a.toJSON());
  });

  it('skips NaN without changing state and does not learn from +Infinity', () => {
    const norm = createNormalizer({ warmup: 0 });
    for (let i = 0; i < 50; i++) norm.update(i % 2);
    const before = norm.toJSON();
    assert.ok(Number.isNaN(norm.update(NaN)));
    assert.ok(norm.update(Infinity) > 0.99);
    assert.deepEqual(norm.toJSON(), before);
  });

  it('does not call the first wiggle of a score that was constant infinitely improbable', () => {
    const norm = createNormalizer({ warmup: 10 });
    for (let i = 0; i < 500; i++) assert.ok(norm.update(1) <= tailToNormalized(0.5) + 1e-6);
    // A 0.1% rise of a score constant so far: relativeMinStd keeps it unremarkable.
    assert.ok(norm.update(1.001) < tailToNormalized(1e-2));
    // A doubling is not.
    for (let i = 0; i < 9; i++) norm.update(2);
    assert.ok(norm.update(2) > 0.5);
  });

  it('rejects bad options and bad states with coded errors', () => {
    assert.throws(() => createNormalizer({ shortWindow: 0 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => createNormalizer({ memory: 1 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => createNormalizer({ method: 'rank' as never }), { code: 'ERR_INVALID_OPTION' });
    const good = createNormalizer().toJSON();
    assert.throws(() => createNormalizer(undefined, { ...good, version: 2 as never }), { code: 'ERR_MODEL_CORRUPT' });
    assert.throws(() => createNormalizer(undefined, { ...good, mean: NaN }), { code: 'ERR_MODEL_CORRUPT' });
    assert.throws(() => createNormalizer(undefined, { ...good, recent: ['x' as never] }), { code: 'ERR_MODEL_CORRUPT' });
  });
});
