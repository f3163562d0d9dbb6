import assert from 'node:assert/strict';
import { scriptFlags } from '../../bench/script-flags';

describe('bench script flags', () => {
  const spec = { numbers: ['seconds', 'series'], strings: ['model'], booleans: ['stream'] } as const;

  it('reads numbers, strings and booleans, and leaves absent flags undefined', () => {
    const flags = scriptFlags(spec, ['--seconds', '2.5', '--model', '/tmp/m', '--stream']);
    assert.deepEqual(flags, { seconds: 2.5, model: '/tmp/m', stream: true });
    assert.deepEqual(scriptFlags(spec, []), {});
  });

  it('refuses a flag the script does not take, naming those it does', () => {
    assert.throws(() => scriptFlags(spec, ['--secs', '1']), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && /--secs/.test(err.message) && /--seconds, --series, --model, --stream/.test(err.message));
  });

  it('refuses a number flag whose value is not a finite number', () => {
    for (const bad of ['x', '', 'Infinity', 'NaN']) {
      assert.throws(() => scriptFlags(spec, ['--series', bad]), (err: Error & { code?: string }) => err.code === 'ERR_INVALID_OPTION' && err.message.includes('--series takes a number'));
    }
  });
});
