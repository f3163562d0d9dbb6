import assert from 'node:assert/strict';
import { ensembleScorer, savedScorerFactory } from '../../src/online/normalizer';
import { EnsembleScorer } from '../../src/score/ensemble';
import { SeismoError } from '../../src/errors';

describe('online scorers: the built-in ensemble factory and restoring saved scorers', () => {
  const values = Array.from({ length: 300 }, (_, t) => [Math.sin(t / 5), t === 250 ? 9 : Math.cos(t / 7)]);

  it('ensembleScorer fixes each context on the given warm-up unless the context sets its own, and checks options at once', () => {
    const factory = ensembleScorer(2, { deep: null }, 50);
    assert.equal(factory.scorerName, 'ensemble');
    const a = factory();
    const b = new EnsembleScorer(2, { deep: null, contexts: [{ warmup: 50 }] });
    for (const v of values) assert.equal(a.update(v, NaN), b.update(v));
    const own = ensembleScorer(2, { contexts: [{ warmup: 20 }] }, 50)() as EnsembleScorer;
    assert.equal(own.options.contexts[0]!.warmup, 20);
    assert.throws(() => ensembleScorer(2, { suppress: -1 }, 50), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION');
  });

  it('savedScorerFactory restores ensemble states and makes new series with the saved options', () => {
    const first = ensembleScorer(2, { deep: null, suppress: 10 }, 40)();
    for (const v of values.slice(0, 200)) first.update(v, NaN);
    const state = JSON.parse(JSON.stringify(first.toJSON()));
    assert.equal(savedScorerFactory([undefined, undefined]), undefined);
    const factory = savedScorerFactory([undefined, state])!;
    assert.equal(factory.scorerName, 'ensemble');
    const restored = factory(state);
    for (const v of values.slice(200)) assert.equal(restored.update(v, NaN), first.update(v, NaN));
    const fresh = factory() as EnsembleScorer;
    assert.equal(fresh.options.suppress, 10);
    assert.equal(fresh.options.contexts[0]!.warmup, 40);
  });

  it('savedScorerFactory refuses a custom scorer state it cannot rebuild, naming what to pass', () => {
    assert.throws(
      () => savedScorerFactory([{ format: 'my-scorer', level: 3 }]),
      (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /pass the same scorer factory/.test(e.message),
    );
  });
});
