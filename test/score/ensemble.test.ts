import assert from 'node:assert/strict';
import { ContextNovelty } from '../../src/score/context.js';
import { EnsembleScorer } from '../../src/score/ensemble.js';
import { Random } from '../../src/stats/random.js';

/** A noisy square-ish wave: levels 0..3 in a fixed order, period 40. */
function wave(n: number, seed: number): Float64Array {
  const r = new Random(seed);
  return Float64Array.from({ length: n }, (_, t) => Math.floor((t % 40) / 10) + 0.05 * r.normal());
}

describe('context novelty', () => {
  it('scores 0 in warm-up, low on the learnt pattern, high on a never-seen level and on a wrong succession', () => {
    const x = wave(2000, 1);
    const det = new ContextNovelty({ warmup: 200, levels: 8, order: 1 });
    const out = Array.from(x, (v) => det.update(v));
    assert.ok(out.slice(0, 200).every((s) => s === 0));
    const normal = Math.max(...out.slice(400));
    assert.ok(normal < 0.3, `normal max ${normal}`);
    // Out of the warm-up range: a never-seen level.
    assert.ok(det.update(9) > 0.35);
    // In range, but level 3 right after level 0 never happened (the wave goes 0, 1, 2, 3): it
    // scores above level 3 after level 2, where it belongs.
    const feed = (d: ContextNovelty, prev: number) => {
      for (const v of x) d.update(v);
      for (let i = 0; i < 5; i++) d.update(prev);
      return d.update(3);
    };
    const jump = feed(new ContextNovelty({ warmup: 200, levels: 8, order: 1 }), 0);
    const usual = feed(new ContextNovelty({ warmup: 200, levels: 8, order: 1 }), 2);
    assert.ok(jump > usual, `wrong succession ${jump} vs usual ${usual}`);
  });

  it('resumes from its JSON state, during and after the warm-up', () => {
    const x = wave(800, 2);
    for (const cut of [50, 500]) {
      const a = new ContextNovelty({ warmup: 100, order: 2 });
      const full = Array.from(x, (v) => a.update(v));
      const b = new ContextNovelty({ warmup: 100, order: 2 });
      for (let t = 0; t < cut; t++) b.update(x[t]!);
      const c = new ContextNovelty(undefined, JSON.parse(JSON.stringify(b.toJSON())));
      const rest = Array.from(x.subarray(cut), (v) => c.update(v));
      assert.deepEqual(rest, full.slice(cut));
    }
  });

  it('handles a flat warm-up and NaN, and rejects bad options', () => {
    const det = new ContextNovelty({ warmup: 10 });
    for (let i = 0; i < 100; i++) assert.ok(det.update(5) < 0.1);
    assert.ok(Number.isNaN(det.update(NaN)));
    assert.ok(det.update(6) > 0.3);
    assert.throws(() => new ContextNovelty({ levels: 1 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new ContextNovelty({ order: 3 }), { code: 'ERR_INVALID_OPTION' });
  });
});

describe('ensemble scorer', () => {
  it('flags a level shift in one channel of several, once (suppression), and resumes from JSON', () => {
    const r = new Random(3);
    const n = 3000;
    const frames = new Float64Array(n * 3);
    for (let t = 0; t < n; t++) for (let c = 0; c < 3; c++) frames[t * 3 + c] = Math.sin(t / (5 + c)) + 0.05 * r.normal() + (c === 2 && t >= 2500 ? 4 : 0);
    const opts = { contexts: [{ warmup: 300 }, { warmup: 300, levels: 16, order: 0 }], forecast: { lags: 4 }, suppress: 100 };
    const a = new EnsembleScorer(3, opts);
    const out: number[] = [];
    for (let t = 0; t < n; t++) out.push(a.update(frames, undefined, t * 3));
    const before = Math.max(...out.slice(600, 2500));
    const at = Math.max(...out.slice(2500, 2510));
    assert.ok(at > 0.4 && at > before, `shift ${at} vs before ${before}`);
    // Suppression: within 100 samples of the peak nothing lower is reported.
    const peakAt = 2500 + out.slice(2500, 2510).indexOf(at);
    for (let t = peakAt + 1; t < peakAt + 100; t++) assert.ok(out[t]! === 0 || out[t]! > at, `t=${t}: ${out[t]}`);

    const b = new EnsembleScorer(3, opts);
    for (let t = 0; t < 2000; t++) b.update(frames, undefined, t * 3);
    const c = EnsembleScorer.fromJSON(JSON.parse(JSON.stringify(b.toJSON())));
    const rest: number[] = [];
    for (let t = 2000; t < n; t++) rest.push(c.update(frames, undefined, t * 3));
    assert.deepEqual(rest, out.slice(2000));
  });

  it('adds a gated deep score: below the gate it is ignored, above it counts', () => {
    const x = wave(1500, 4);
    const e = new EnsembleScorer(1, { contexts: [{ warmup: 200 }], deep: { gate: 0.5 }, suppress: 0 });
    const f = new Float64Array(1);
    const r = new Random(5);
    for (let t = 0; t < 1400; t++) {
      f[0] = x[t]!;
      e.update(f, Math.abs(r.normal()));
    }
    f[0] = x[1400]!;
    e.update(f, 1000);
    assert.ok(e.parts().deep > 0.5);
    assert.equal(e.parts().reported, Math.max(e.parts().context, e.parts().deep));
  });

  it('rejects bad options and foreign states with coded errors', () => {
    assert.throws(() => new EnsembleScorer(0), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new EnsembleScorer(1, { contexts: [] }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new EnsembleScorer(1, { suppress: -1 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => EnsembleScorer.fromJSON({ format: 'other' } as never), { code: 'ERR_MODEL_CORRUPT' });
    const s = new EnsembleScorer(1).toJSON();
    assert.throws(() => EnsembleScorer.fromJSON({ ...s, version: 2 as never }), { code: 'ERR_MODEL_VERSION' });
  });
});
