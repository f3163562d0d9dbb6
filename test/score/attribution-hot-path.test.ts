// The pipeline's per-window attribution path (ChannelAttribution.attributeAndLearn, with the
// logarithms computed beside onnxruntime by channelLogTerms or not) gives, bit for bit, what the
// reference pair attribute() + update() gives: same attribution rows, same tracked statistics.
import assert from 'node:assert/strict';
import { ChannelAttribution, FLAGGED_WINDOW, LEARN_WINDOW, SKIP_WINDOW, type ChannelAttributionOptions } from '../../src/score/attribution';
import { AttributionMemory } from '../../src/score/top-channels';
import { channelLogTerms, fitActivityCalibration, fitChannelCalibration, type ChannelTerm } from '../../src/score/channel-terms';
import { Random } from '../../src/stats/random';
import { BATCH_SHAPE, caseWindows } from '../helpers/attribution-batches';

// The windows of the batch tests (test/native/attribution-batch.test.ts): skewed errors, a level
// shift, flat activity, and every kind of non-finite or extreme value the graph can hand out.
const { C, N } = BATCH_SHAPE;
const windows = caseWindows;

/** Bitwise equality of two float arrays (NaN equal to NaN, +0 unequal to -0). */
function sameBits(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Object.is(a[i], b[i]), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

describe('score/attribution hot path', () => {
  const cases: { name: string; term: ChannelTerm; calibrated: boolean; activity: boolean; options: ChannelAttributionOptions }[] = [
    { name: 'calibrated, with activity (default options)', term: 'channel-score', calibrated: true, activity: true, options: {} },
    { name: 'calibrated, no activity output', term: 'channel-score', calibrated: true, activity: false, options: {} },
    { name: 'norm shares (channel_score * score), low activity with a margin, faster tracking', term: 'channel-score-times-score', calibrated: true, activity: true, options: { activity: 'low', activityMargin: 1, rate: 0.01 } },
    { name: 'activity ignored, tracking off', term: 'channel-score', calibrated: true, activity: true, options: { activity: 'none', rate: 0 } },
    { name: 'no statistics: raw shares while warming up, then learnt', term: 'channel-score', calibrated: false, activity: true, options: { warmup: 40 } },
    { name: 'no statistics, no activity', term: 'channel-score-times-score', calibrated: false, activity: false, options: { warmup: 40, term: 'channel-score-times-score' } },
    { name: 'squared standardised residuals, no statistics', term: 'channel-score-squared', calibrated: false, activity: true, options: { warmup: 40, term: 'channel-score-squared' } },
    { name: 'running mean of e_c per series (no log spec: computed here)', term: 'channel-score-squared', calibrated: true, activity: true, options: { average: 0.2 } },
    { name: 'running mean of e_c per series, warming up', term: 'channel-score-times-score', calibrated: false, activity: false, options: { average: 0.2, warmup: 40, term: 'channel-score-times-score' } },
  ];
  for (const k of cases) {
    for (const precomputed of [false, true]) {
      it(`${k.name}${precomputed ? ', logarithms computed beforehand' : ''}: the same rows and statistics as attribute() + update()`, () => {
        const { cs, scores, activity } = windows(7);
        const act = k.activity ? activity : undefined;
        const fit = windows(8);
        const calibration = k.calibrated ? fitChannelCalibration(fit.cs, fit.scores, C, k.term, k.options.average ?? 1) : undefined;
        if (calibration && k.activity) calibration.activity = fitActivityCalibration(fit.activity, C);
        const SLOTS = 3;
        const reference = new ChannelAttribution(C, calibration, k.options, SLOTS);
        const fast = new ChannelAttribution(C, calibration, k.options, SLOTS);
        // A state with a running mean has no log spec: nothing can compute its logarithms but it.
        assert.equal(fast.logSpec === undefined, (k.options.average ?? 1) < 1);
        let logTerms: Float64Array | undefined;
        if (precomputed && fast.logSpec) {
          logTerms = new Float64Array(N * C);
          channelLogTerms(fast.logSpec, cs, scores, N, C, logTerms);
        }
        const want = new Float32Array(N * C);
        const got = new Float32Array(N * C);
        const rng = new Random(9);
        let sources = 0;
        for (let n = 0; n < N; n++) {
          // About one window in twelve flagged by the rule (it teaches nothing).
          const learn = rng.uniform(0, 1) > 1 / 12;
          assert.equal(fast.source, reference.source);
          if (reference.source === 'channel-z') sources++;
          const slot = n % SLOTS;
          reference.attribute(cs, scores, act, n, want, n * C, slot);
          if (learn) reference.update(cs, scores, act, n, slot);
          fast.attributeAndLearn(cs, scores, act, n, got, n * C, learn, slot, logTerms);
        }
        sameBits(got, want, 'attribution');
        assert.ok(sources > N / 2, 'the statistics were in use for most windows');
        const a = reference.snapshot(N);
        const b = fast.snapshot(N);
        assert.ok(a && b, 'statistics exist at the end');
        sameBits(b.center, a.center, 'center');
        sameBits(b.scale, a.scale, 'scale');
        if (a.activity || b.activity) {
          sameBits(b.activity!.center, a.activity!.center, 'activity center');
          sameBits(b.activity!.scale, a.activity!.scale, 'activity scale');
        }
      });
    }
  }

  for (const k of cases) {
    for (const precomputed of [false, true]) {
      it(`${k.name}${precomputed ? ', logarithms computed beforehand' : ''}: attributeAndLearnBatch with the memory folded in, batch by batch, equals the window-by-window reference`, () => {
        const { cs, scores, activity } = windows(7);
        const act = k.activity ? activity : undefined;
        const fit = windows(8);
        const calibration = k.calibrated ? fitChannelCalibration(fit.cs, fit.scores, C, k.term, k.options.average ?? 1) : undefined;
        if (calibration && k.activity) calibration.activity = fitActivityCalibration(fit.activity, C);
        const SLOTS = 3;
        const reference = new ChannelAttribution(C, calibration, k.options, SLOTS);
        const fast = new ChannelAttribution(C, calibration, k.options, SLOTS);
        const refMemory = new AttributionMemory(SLOTS, C, 0.3);
        const fastMemory = new AttributionMemory(SLOTS, C, 0.3);
        const rng = new Random(9);
        // Batches of uneven sizes (the last one partial); windows of a series in time order.
        const B = 64;
        const decisions = new Uint8Array(B);
        const slots = new Int32Array(B);
        let skipped = 0;
        for (let first = 0; first < N; first += B) {
          const n = Math.min(B, N - first);
          const batchCs = cs.subarray(first * C, (first + n) * C);
          const batchScores = scores.subarray(first, first + n);
          const batchAct = act?.subarray(first * C, (first + n) * C);
          let logTerms: Float64Array | undefined;
          if (precomputed && fast.logSpec) {
            logTerms = new Float64Array(n * C);
            channelLogTerms(fast.logSpec, batchCs, batchScores, n, C, logTerms);
          }
          const want = new Float32Array(n * C).fill(NaN);
          const got = new Float32Array(n * C).fill(NaN);
          for (let i = 0; i < n; i++) {
            const u = rng.uniform(0, 1);
            // About one window in twelve flagged by the rule, one in forty not scored (drop-oldest overwrote it).
            decisions[i] = u < 1 / 40 ? SKIP_WINDOW : u < 1 / 12 ? FLAGGED_WINDOW : LEARN_WINDOW;
            slots[i] = (first + i) % SLOTS;
            if (decisions[i] === SKIP_WINDOW) {
              skipped++;
              continue;
            }
            reference.attribute(batchCs, batchScores, batchAct, i, want, i * C, slots[i]!);
            if (decisions[i] === LEARN_WINDOW) reference.update(batchCs, batchScores, batchAct, i, slots[i]!);
            refMemory.apply(slots[i]!, want, i * C);
          }
          fast.attributeAndLearnBatch(batchCs, batchScores, batchAct, n, decisions, slots, got, logTerms, fastMemory);
          sameBits(got, want, `attribution of the batch at ${first}`);
        }
        assert.ok(skipped > 0, 'some windows were not scored');
        const a = reference.snapshot(N);
        const b = fast.snapshot(N);
        assert.ok(a && b, 'statistics exist at the end');
        sameBits(b.center, a.center, 'center');
        sameBits(b.scale, a.scale, 'scale');
        if (a.activity || b.activity) {
          sameBits(b.activity!.center, a.activity!.center, 'activity center');
          sameBits(b.activity!.scale, a.activity!.scale, 'activity scale');
        }
      });
    }
  }

  it('channelLogTerms are the logarithms the attribution takes: ln e_c, floored at 1e-12', () => {
    const cs = Float32Array.of(1, 0, 2.5, NaN);
    const scores = Float32Array.of(4, 3);
    const out = new Float64Array(4);
    channelLogTerms({ term: 'channel-score' }, cs, scores, 2, 2, out);
    sameBits(out, [0, Math.log(1e-12), Math.log(2.5), Math.log(1e-12)], 'channel-score');
    channelLogTerms({ term: 'channel-score-times-score' }, cs, scores, 2, 2, out);
    sameBits(out, [Math.log(4), Math.log(1e-12), Math.log(7.5), Math.log(1e-12)], 'channel-score-times-score');
    channelLogTerms({ term: 'channel-score-squared' }, cs, scores, 2, 2, out);
    sameBits(out, [0, Math.log(1e-12), Math.log(6.25), Math.log(1e-12)], 'channel-score-squared');
  });
});
