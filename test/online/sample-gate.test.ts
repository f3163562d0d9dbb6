import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors.js';
import { resolvePolicy, type OnlinePolicy } from '../../src/online/policy.js';
import { gateSample, type SampleSink } from '../../src/online/sample-gate.js';
import { SeriesState } from '../../src/online/series.js';

const W = 4;

/** A series past its warm-up with a usual interval of 1, and a sink that records what it accepts as the engine does. */
function setup(policy: OnlinePolicy): { s: SeriesState; run: (t: number, values: number[]) => void; accepted: [number, number[]][] } {
  const p = resolvePolicy({ warmup: 8, ...policy }, W);
  const s = new SeriesState('a', 0, 0, 2, p.warmup, W, 2, { update: () => 0, toJSON: () => null });
  const accepted: [number, number[]][] = [];
  const sink: SampleSink = {
    accept(series, timestamp, raw) {
      series.lastTime = timestamp;
      if (raw !== series.last) series.last.set(raw);
      series.hasLast = true;
      accepted.push([timestamp, Array.from(raw)]);
    },
  };
  const raw = new Float32Array(2);
  return { s, accepted, run: (t, values) => gateSample(s, p, t, values, 0, raw, sink) };
}

describe('online: the sample gate', () => {
  it('holds a missing value at the channel\'s last one, and skips a sample with nothing to hold yet', () => {
    const { s, run, accepted } = setup({ missing: 'hold' });
    run(1, [NaN, 1]);
    run(2, [5, 6]);
    run(3, [NaN, 7]);
    assert.deepEqual(accepted, [[2, [5, 6]], [3, [5, 7]]]);
    assert.equal(s.counters.missingSkipped, 1);
    assert.equal(s.counters.missingHeld, 1);
  });

  it('skips or refuses a sample with a missing value as the policy says', () => {
    const skip = setup({ missing: 'skip' });
    skip.run(1, [1, 2]);
    skip.run(2, [NaN, 2]);
    assert.equal(skip.accepted.length, 1);
    assert.equal(skip.s.counters.missingSkipped, 1);
    const error = setup({ missing: 'error' });
    assert.throws(() => error.run(1, [1, NaN]), (e: unknown) => isSeismoError(e, 'ERR_NON_FINITE'));
    assert.equal(error.accepted.length, 0);
  });

  it('skips or refuses a timestamp that is not after the previous one', () => {
    const skip = setup({ disorder: 'skip' });
    skip.run(2, [1, 1]);
    skip.run(2, [1, 1]);
    skip.run(1, [1, 1]);
    assert.equal(skip.accepted.length, 1);
    assert.equal(skip.s.counters.disordered, 2);
    const error = setup({ disorder: 'error' });
    error.run(2, [1, 1]);
    assert.throws(() => error.run(2, [1, 1]), (e: unknown) => isSeismoError(e, 'ERR_TIMESTAMP_ORDER'));
    // A non-finite timestamp is refused even with disorder 'skip'.
    assert.throws(() => skip.run(NaN, [1, 1]), (e: unknown) => isSeismoError(e, 'ERR_TIMESTAMP_ORDER'));
  });

  it('counts a gap after the warm-up, fills it with the last sample (at most maxFill) or refuses it', () => {
    // The first sample while warming (no usual interval yet), then as after the warm-up.
    const afterWarmup = (x: ReturnType<typeof setup>): void => {
      x.run(10, [1, 2]);
      x.s.warming = false;
      x.s.interval = 1;
    };
    const hold = setup({ gaps: 'hold', maxFill: 2 });
    afterWarmup(hold);
    hold.run(15, [3, 4]);
    assert.deepEqual(hold.accepted, [[10, [1, 2]], [11, [1, 2]], [12, [1, 2]], [15, [3, 4]]]);
    assert.deepEqual([hold.s.counters.gaps, hold.s.counters.gapMissing, hold.s.counters.gapFilled], [1, 4, 2]);
    const error = setup({ gaps: 'error' });
    afterWarmup(error);
    assert.throws(() => error.run(13, [1, 2]), (e: unknown) => isSeismoError(e, 'ERR_STREAM_GAP'));
    assert.equal(error.accepted.length, 1);
    // A warming series has no usual interval yet: no gap.
    const warming = setup({ gaps: 'error' });
    warming.run(10, [1, 2]);
    warming.run(100, [1, 2]);
    assert.equal(warming.accepted.length, 2);
  });
});
