import assert from 'node:assert/strict';
import { checkpointableRule } from '../../src/connect/checkpoint.js';
import { AnyOfThreshold, FixedThreshold, KOfNThreshold, SpotThreshold } from '../../src/threshold/index.js';

describe('connect: which threshold rules a checkpoint can carry', () => {
  it('takes fixed thresholds, alone or combined, and refuses rules that learn per series', () => {
    const fixed = new FixedThreshold(0.5, 'static');
    assert.equal(checkpointableRule(fixed.toJSON()), true);
    assert.equal(checkpointableRule(new AnyOfThreshold([fixed, new FixedThreshold(0.9, 'quantile')]).toJSON()), true);
    assert.equal(checkpointableRule(new SpotThreshold({ q: 1e-3 }).toJSON()), false);
    assert.equal(checkpointableRule(new KOfNThreshold(fixed, { k: 2, n: 3 }).toJSON()), false);
    assert.equal(checkpointableRule(new AnyOfThreshold([fixed, new SpotThreshold({ q: 1e-3 })]).toJSON()), false);
  });
});
