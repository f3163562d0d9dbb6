import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { isSeismoError } from '../../src/errors';
import { initBackend } from '../../training/backend';

describe('training/backend', () => {
  // Later suites train on whatever is active: leave the default choice behind.
  after(async () => {
    await initBackend('wasm');
  });

  it('tries the native backends first, skips them cleanly when absent, and reports every attempt', async () => {
    const choice = await initBackend();
    assert.equal(choice.backend, tf.getBackend());
    assert.ok(['tensorflow', 'wasm', 'cpu'].includes(choice.backend), choice.backend);
    const names = choice.tried.map((t) => t.name);
    assert.deepEqual(names, ['tfjs-node-gpu', 'tfjs-node', 'wasm', 'cpu'].slice(0, names.length), 'tried in the documented order');
    const chosen = choice.tried.at(-1)!;
    assert.equal(chosen.error, undefined, 'the chosen backend carries no error');
    for (const attempt of choice.tried.slice(0, -1)) assert.match(attempt.error ?? '', /\S/, `${attempt.name} failed without a reason`);
    if (choice.backend !== 'tensorflow') {
      // Not installed here (they need libtensorflow from the internet): both must have been tried.
      assert.deepEqual(names.slice(0, 2), ['tfjs-node-gpu', 'tfjs-node']);
      assert.match(choice.tried[0]!.error!, /Cannot find module/);
    }
  });

  it('is idempotent', async () => {
    const a = await initBackend();
    const b = await initBackend();
    assert.equal(a, b);
  });

  it('tries a preferred backend first', async () => {
    const choice = await initBackend('cpu');
    assert.equal(choice.backend, 'cpu');
    assert.deepEqual(choice.tried, [{ name: 'cpu' }]);
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('rejects an unknown backend name with ERR_INVALID_OPTION', async () => {
    await assert.rejects(initBackend('webgl'), (err) => isSeismoError(err, 'ERR_INVALID_OPTION') && /webgl/.test(err.message));
  });
});
