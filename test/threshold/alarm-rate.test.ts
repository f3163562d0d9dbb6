import assert from 'node:assert/strict';
import { AlarmRateThreshold, thresholdFromJSON } from '../../src/threshold/index.js';
import { createNormalizer, tailToNormalized } from '../../src/score/normalize.js';
import { Random } from '../../src/stats/random.js';

const NO_CHANNELS = new Float32Array(0);

/** Normalised scores of an AR(1) forecast-error-like raw stream: autocorrelated, heavy-ish tails. */
function normalisedStream(n: number, seed: number): Float64Array {
  const r = new Random(seed);
  const norm = createNormalizer();
  const out = new Float64Array(n);
  let e = 0;
  for (let i = 0; i < n; i++) {
    e = 0.7 * e + r.normal();
    out[i] = norm.update(Math.abs(e));
  }
  return out;
}

describe('alarm-rate threshold (normalised scores)', function () {
  // Streams long normal series through the rules.
  this.timeout(30_000);
  it('starts at the nominal threshold of the requested rate', () => {
    const rule = new AlarmRateThreshold({ alarmsPer10k: 10 });
    assert.equal(rule.threshold(0), tailToNormalized(1e-3));
    assert.equal(rule.describe(0).fitted, false);
  });

  it('realises about the requested false-alarm rate on normal data once calibrated', () => {
    for (const alarmsPer10k of [5, 20]) {
      const scores = normalisedStream(60_000, 7);
      const rule = new AlarmRateThreshold({ alarmsPer10k });
      let alarms = 0;
      let judged = 0;
      for (let i = 0; i < scores.length; i++) {
        const a = rule.decide(scores[i]!, NO_CHANNELS, 0);
        if (i >= 5000) {
          judged++;
          if (a) alarms++;
        }
      }
      assert.equal(rule.describe(0).fitted, true);
      const realised = (alarms / judged) * 1e4;
      assert.ok(realised > alarmsPer10k / 3 && realised < alarmsPer10k * 3, `asked ${alarmsPer10k}, realised ${realised.toFixed(2)} per 10k`);
    }
  });

  it('keeps series apart: each slot calibrates on its own scores', () => {
    const rule = new AlarmRateThreshold({ alarmsPer10k: 5, initSize: 200 });
    const a = normalisedStream(2000, 1);
    for (let i = 0; i < a.length; i++) rule.decide(a[i]!, NO_CHANNELS, 0);
    assert.equal(rule.describe(0).fitted, true);
    assert.equal(rule.describe(1).fitted, false);
    rule.resetSlot(0);
    assert.equal(rule.describe(0).fitted, false);
  });

  it('does not flag everything on constant scores, and still flags a real excursion', () => {
    const rule = new AlarmRateThreshold({ alarmsPer10k: 5, initSize: 100 });
    for (let i = 0; i < 1000; i++) assert.equal(rule.decide(0, NO_CHANNELS, 0), false);
    assert.ok(rule.threshold(0) > 0);
    assert.equal(rule.decide(0.9, NO_CHANNELS, 0), true);
    assert.equal(rule.decide(NaN, NO_CHANNELS, 0), false);
  });

  it('round-trips through the threshold registry', () => {
    const rule = new AlarmRateThreshold({ alarmsPer10k: 2, initSize: 500 });
    const back = thresholdFromJSON(JSON.parse(JSON.stringify(rule.toJSON())));
    assert.ok(back instanceof AlarmRateThreshold);
    assert.deepEqual(back.options, rule.options);
    assert.equal(back.threshold(0), rule.threshold(0));
  });

  it('rejects a rate outside (0, 200) per 10,000', () => {
    assert.throws(() => new AlarmRateThreshold({ alarmsPer10k: 0 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new AlarmRateThreshold({ alarmsPer10k: 500 }), { code: 'ERR_INVALID_OPTION' });
  });
});
