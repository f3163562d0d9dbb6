// The training part is optional: where its packages are missing, everything that trains stops
// with ERR_TRAINING_UNAVAILABLE naming the install command (here the lookup is replaced through
// the loader's seam; test/package/install.test.ts removes the packages from a real install).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerTrain } from '../../src/cli/train.js';
import { isSeismoError } from '../../src/errors.js';
import { FineTuner } from '../../src/learn/finetuner.js';
import type { Manifest } from '../../src/model/manifest.js';
import { missingTrainingPackages, requireTrainingPart, setTrainingResolver, TRAINING_PACKAGES } from '../../src/training-part.js';
import { runCli } from '../helpers/run-cli.js';

/** Node's resolution, except that `absent` cannot be found. */
function without(...absent: string[]): (name: string) => string {
  return (name) => {
    if (absent.includes(name)) throw Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' });
    return require.resolve(name);
  };
}

describe('training part: optional, with a coded error when it is missing', () => {
  afterEach(() => setTrainingResolver(undefined));

  it('is installed in this checkout (optionalDependencies are installed by default)', () => {
    assert.deepEqual(missingTrainingPackages(), []);
    assert.doesNotThrow(() => requireTrainingPart('test'));
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8')) as { dependencies: Record<string, string>; optionalDependencies: Record<string, string> };
    for (const name of TRAINING_PACKAGES) {
      assert.ok(pkg.optionalDependencies[name], `${name} is an optional dependency`);
      assert.equal(pkg.dependencies[name], undefined, `${name} is not a required dependency`);
    }
  });

  it('names the missing packages and the npm install that adds them, pinned', () => {
    setTrainingResolver(without('@tensorflow/tfjs-core', '@tensorflow/tfjs-layers'));
    assert.throws(
      () => requireTrainingPart('seismo train'),
      (err: unknown) =>
        isSeismoError(err, 'ERR_TRAINING_UNAVAILABLE') &&
        /^seismo train needs seismo's training part/.test(err.message) &&
        err.message.includes('npm install @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-layers@4.22.0') &&
        /--omit=optional/.test(err.message),
    );
  });

  it('stops `seismo train` before any work, with exit code 1 and the code in the JSON envelope', async () => {
    setTrainingResolver(without('@tensorflow/tfjs-core'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-optional-'));
    try {
      fs.writeFileSync(path.join(dir, 'train.csv'), `timestamp,a\n${Array.from({ length: 200 }, (_, i) => `${i},${Math.sin(i / 5)}`).join('\n')}\n`);
      const r = await runCli(registerTrain, ['train', '--kind', 'lstm-ae', '--data', path.join(dir, 'train.csv'), '--out', path.join(dir, 'model'), '--json']);
      assert.equal(r.code, 1);
      const out = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(out.ok, false);
      assert.equal(out.error.code, 'ERR_TRAINING_UNAVAILABLE');
      assert.match(out.error.message, /npm install @tensorflow\/tfjs-core@4\.22\.0/);
      assert.ok(!fs.existsSync(path.join(dir, 'model')), 'nothing was written');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops online learning before its fine-tune thread starts', async () => {
    setTrainingResolver(without('ml-pca'));
    await assert.rejects(FineTuner.start({} as Manifest), (err: unknown) => isSeismoError(err, 'ERR_TRAINING_UNAVAILABLE') && /npm install ml-pca@4\.1\.1/.test(err.message));
  });
});
