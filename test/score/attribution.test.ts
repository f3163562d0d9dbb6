// Channel attribution: each channel against its own normal errors (src/score/attribution.ts).
import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import { ChannelAttribution, checkAttributionOptions } from '../../src/score/attribution';
import { channelTermOf, fitChannelCalibration, MIN_CHANNEL_SCALE, termAverageOf } from '../../src/score/channel-terms';
import { AttributionMemory, attributionShares } from '../../src/score/top-channels';
import { Random } from '../../src/stats/random';

/** Normal windows of 3 channels: channel 0 noisy (errors ~ e^N(0, 1)), 1 and 2 quiet (~ e^N(-6, 0.1)). */
function normalWindows(n: number, seed = 1): { cs: Float32Array; scores: Float32Array } {
  const rng = new Random(seed);
  const cs = new Float32Array(n * 3);
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    cs[i * 3] = Math.exp(rng.normal());
    cs[i * 3 + 1] = Math.exp(-6 + 0.1 * rng.normal());
    cs[i * 3 + 2] = Math.exp(-6 + 0.1 * rng.normal());
    scores[i] = cs[i * 3]! + cs[i * 3 + 1]! + cs[i * 3 + 2]!;
  }
  return { cs, scores };
}

describe('score/attribution', () => {
  it('fits each channel on its own log scale and ranks a quiet channel that breaks above a noisy one', () => {
    const { cs, scores } = normalWindows(2000);
    const cal = fitChannelCalibration(cs, scores, 3, 'channel-score')!;
    assert.equal(cal.windows, 2000);
    assert.ok(Math.abs(cal.center[0]!) < 0.1 && Math.abs(cal.scale[0]! - 1) < 0.1, JSON.stringify(cal));
    assert.ok(Math.abs(cal.center[1]! + 6) < 0.02 && Math.abs(cal.scale[1]! - 0.1) < 0.02, JSON.stringify(cal));
    // The noisy channel at a normal-ish 3 (ln 3 ~ 1.1 sd) holds 97% of the raw score; the quiet
    // channel 1 at 20x its usual error is the anomaly.
    const row = Float32Array.of(3, 20 * Math.exp(-6), Math.exp(-6));
    const score = Float32Array.of(row[0]! + row[1]! + row[2]!);
    const attr = new ChannelAttribution(3, cal);
    assert.equal(attr.source, 'channel-z');
    const z = new Float32Array(3);
    attr.attribute(row, score, undefined, 0, z, 0);
    assert.ok(z[1]! > 25 && z[0]! < 2 && Math.abs(z[2]!) < 1, Array.from(z).join(','));
    const shares = new Float32Array(3);
    attributionShares(z, 0, 3, shares);
    assert.ok(Math.abs(shares[0]! + shares[1]! + shares[2]! - 1) < 1e-6);
    assert.ok(shares[1]! > 0.9);
  });

  it('reads DeepAnT-like norm shares as channel_score * score', () => {
    assert.equal(channelTermOf('forecast-l2'), 'channel-score-times-score');
    assert.equal(channelTermOf('mse'), 'channel-score');
    // sq = [4, 1] -> ||e|| = sqrt(5), shares sq / ||e||: the term recovers sq.
    const n = Math.sqrt(5);
    const cal = fitChannelCalibration(Float32Array.of(4 / n, 1 / n, 4 / n, 1 / n), Float32Array.of(5 / n, 5 / n), 2, 'channel-score-times-score')!;
    assert.ok(Math.abs(cal.center[0]! - Math.log(4)) < 1e-6 && Math.abs(cal.center[1]!) < 1e-6);
    assert.equal(cal.scale[0], MIN_CHANNEL_SCALE); // all equal: the floor
  });

  it('keeps each series\' running mean of the error term before the log, fitted and applied alike (DC-VAE: the squared standardised residual)', () => {
    assert.equal(channelTermOf('gaussian-z'), 'channel-score-squared');
    assert.equal(termAverageOf('gaussian-z'), 0.2);
    assert.equal(termAverageOf('forecast-l2'), 0.2);
    assert.equal(termAverageOf('mse'), 1);
    // One channel, |z| alternating 1 and 3: squared 1, 9, 1, 9, ... A running mean at 0.5 starts
    // at the first value and settles between them; the fit sees the same sequence.
    const n = 200;
    const cs = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 3 : 1));
    const cal = fitChannelCalibration(cs, cs, 1, 'channel-score-squared', 0.5)!;
    assert.equal(cal.average, 0.5);
    const expected: number[] = [];
    for (let i = 0, m = 0; i < n; i++) {
      const e = cs[i]! ** 2;
      m = i === 0 ? e : m + 0.5 * (e - m);
      expected.push(Math.log(m));
    }
    // The running mean alternates ~3.67 / ~6.33 once settled: its log median lies between.
    assert.ok(cal.center[0]! > Math.log(3.6) && cal.center[0]! < Math.log(6.4), JSON.stringify(cal));
    // Two series on slots 0 and 1 keep their own means: a jump on slot 1 does not move slot 0.
    const attr = new ChannelAttribution(1, cal, {}, 2);
    const z = new Float32Array(1);
    const zs: number[][] = [[], []];
    for (let i = 0; i < 20; i++) {
      attr.attribute(cs, cs, undefined, i, z, 0, 0);
      zs[0]!.push(z[0]!);
      attr.attribute(Float32Array.of(30), Float32Array.of(30), undefined, 0, z, 0, 1);
      zs[1]!.push(z[0]!);
    }
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(zs[0]![i]! - (expected[i]! - cal.center[0]!) / cal.scale[0]!) < 1e-4, `slot 0 window ${i}`);
    assert.ok(zs[1]![19]! > 5, String(zs[1]));
    // Without the running mean (a calibration from before it), each window is its own.
    const plain = new ChannelAttribution(1, { ...cal, average: undefined }, {}, 2);
    plain.attribute(cs, cs, undefined, 1, z, 0, 0);
    assert.ok(Math.abs(z[0]! - (Math.log(9) - cal.center[0]!) / cal.scale[0]!) < 1e-4);
    // A slot reused by another series starts its mean afresh.
    attr.reset(1);
    attr.attribute(cs, cs, undefined, 0, z, 0, 1);
    assert.ok(Math.abs(z[0]! - (0 - cal.center[0]!) / cal.scale[0]!) < 1e-4);
  });

  it('attributeAndLearn (the pipeline\'s one pass) equals attribute then update, for every term, with and without running means, warm or not', () => {
    const rng = new Random(7);
    const C = 3;
    const N = 300;
    const cs = Float32Array.from({ length: N * C }, () => Math.exp(rng.normal() - 2));
    const scores = Float32Array.from({ length: N }, (_, n) => cs[n * C]! + cs[n * C + 1]! + cs[n * C + 2]!);
    const act = Float32Array.from({ length: N * C }, () => Math.exp(0.3 * rng.normal()));
    cs[50 * C + 1] = NaN; // a window that teaches nothing and leaves the running means as they are
    for (const term of ['channel-score', 'channel-score-squared', 'channel-score-times-score'] as const) {
      for (const average of [1, 0.2]) {
        for (const stored of [true, false]) {
          const cal = stored ? { ...fitChannelCalibration(cs.subarray(0, 100 * C), scores.subarray(0, 100), C, term, average)!, activity: { center: [0, 0, 0], scale: [0.3, 0.3, 0.3] } } : undefined;
          const options = { term, average, warmup: 16, rate: 0.01 };
          const a = new ChannelAttribution(C, cal, options, 2);
          const b = new ChannelAttribution(C, cal, options, 2);
          const za = new Float32Array(C);
          const zb = new Float32Array(C);
          for (let n = 0; n < N; n++) {
            const slot = n % 2;
            const learn = n % 7 !== 3;
            a.attribute(cs, scores, act, n, za, 0, slot);
            if (learn) a.update(cs, scores, act, n, slot);
            b.attributeAndLearn(cs, scores, act, n, zb, 0, learn, slot);
            for (let c = 0; c < C; c++) assert.ok(Object.is(za[c], zb[c]) || Math.abs(za[c]! - zb[c]!) <= 1e-6 * Math.max(1, Math.abs(za[c]!)), `${term} average ${average} stored ${stored} window ${n} channel ${c}: ${za[c]} vs ${zb[c]}`);
          }
          assert.deepEqual(a.snapshot(N), b.snapshot(N));
        }
      }
    }
  });

  it('without statistics ranks by raw shares, then learns them from unflagged windows and tracks drift', () => {
    const { cs, scores } = normalWindows(600, 2);
    const attr = new ChannelAttribution(3, undefined, { warmup: 64, rate: 0.01 });
    assert.equal(attr.source, 'raw-share');
    const z = new Float32Array(3);
    attr.attribute(cs, scores, undefined, 0, z, 0);
    assert.deepEqual(Array.from(z), Array.from(cs.subarray(0, 3)));
    for (let i = 0; i < 64; i++) attr.update(cs, scores, undefined, i);
    assert.equal(attr.source, 'channel-z');
    const fitted = attr.snapshot(64)!;
    assert.ok(Math.abs(fitted.center[1]! + 6) < 0.05, JSON.stringify(fitted));
    // Channel 2's errors double for good: the tracked center follows (ln 2 = 0.69 above).
    const drifted = Float32Array.from(cs);
    for (let i = 0; i < 600; i++) drifted[i * 3 + 2]! *= 2;
    for (let i = 64; i < 600; i++) attr.update(drifted, scores, undefined, i);
    const after = attr.snapshot(600)!;
    assert.ok(after.center[2]! > -6 + 0.5, JSON.stringify(after));
    assert.ok(Math.abs(after.center[1]! + 6) < 0.05);
  });

  it('ignores windows with a non-finite score or channel score', () => {
    const attr = new ChannelAttribution(2, undefined, { warmup: 2 });
    attr.update(Float32Array.of(NaN, 1), Float32Array.of(1), undefined, 0);
    attr.update(Float32Array.of(1, 1), Float32Array.of(NaN), undefined, 0);
    assert.equal(attr.source, 'raw-share');
  });

  it('keeps a per-series running average of the attribution (memory)', () => {
    const memory = new AttributionMemory(2, 2, 0.5);
    const z = Float32Array.of(4, 0, 0, 4);
    memory.apply(0, z, 0); // first window of series 0: taken as is
    assert.deepEqual(Array.from(z), [4, 0, 0, 4]);
    const next = Float32Array.of(0, 2);
    memory.apply(0, next, 0); // 0.5 * 4 + 0.5 * 0, 0.5 * 0 + 0.5 * 2
    assert.deepEqual(Array.from(next), [2, 1]);
    const other = Float32Array.of(1, 1);
    memory.apply(1, other, 0); // series 1 has its own memory
    assert.deepEqual(Array.from(other), [1, 1]);
    memory.reset(0);
    const fresh = Float32Array.of(0, 0);
    memory.apply(0, fresh, 0);
    assert.deepEqual(Array.from(fresh), [0, 0]);
  });

  it('refuses bad options by name', () => {
    for (const bad of [{ rate: -1 }, { warmup: 1 }, { memory: 0 }, { memory: 2 }, { activity: 'both' as never }, { activityMargin: -1 }, { average: 0 }, { average: 1.5 }, { term: 'x' as never }]) {
      assert.throws(() => checkAttributionOptions(bad), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && e.message.includes(`attribution.${Object.keys(bad)[0]}`), JSON.stringify(bad));
    }
    checkAttributionOptions({ rate: 0, warmup: 2, memory: 1, activity: 'none', activityMargin: 0 });
  });
});
