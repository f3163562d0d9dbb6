// The public API as a user's project sees it: every entry point of package.json "exports",
// imported by its package name from another folder, with `import` and with `require`, from a
// fresh build of the sources.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildPackage, ROOT } from './build.js';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { entryPoints } = require(path.join(ROOT, 'scripts', 'entry-points.js')) as {
  entryPoints: () => { name: string; require: string; import: string; source: string }[];
};

/** Names a user should find at each entry point (a sample per stage, not the whole list). */
const EXPECTED: Record<string, string[]> = {
  seismo: ['Detector', 'SeismoError', 'isSeismoError', 'readSeriesCsv', 'scoreTable', 'OnlineLearner', 'FrameRings', 'createNormalizer'],
  'seismo/threshold': ['FixedThreshold', 'SpotThreshold', 'DspotThreshold', 'KOfNThreshold', 'quantileThreshold', 'thresholdFromJSON', 'registerThreshold', 'tuneThreshold'],
  'seismo/evaluate': ['evaluate', 'rocAuc', 'vus', 'runNab'],
  'seismo/datasets': ['loadNab', 'readNabWindows', 'loadKdd99', 'loadPowerDemand', 'generateSeries'],
  'seismo/training': ['trainModel', 'listKinds', 'initBackend'],
  'seismo/serve': ['mountSeismo', 'startServer'],
};

/** Internals that once leaked into the root and must stay out of it. */
const INTERNAL = ['ioError', 'readError', 'streamCsvRows', 'checkReadable', 'refKey', 'InferenceWorker', 'createSession', 'writeModelDir', 'writeWeights', 'checkGraph', 'attachFrameRings', 'describeUpdate', 'fileError', 'quantile'];

function exportNames(cwd: string, name: string, kind: 'cjs' | 'esm'): string[] {
  const code =
    kind === 'cjs'
      ? `console.log(JSON.stringify(Object.keys(require(${JSON.stringify(name)}))))`
      : `const m = await import(${JSON.stringify(name)}); console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default')))`;
  const args = kind === 'cjs' ? ['-e', code] : ['--input-type=module', '-e', code];
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `${kind} import of ${name} failed:\n${r.stderr}`);
  return (JSON.parse(r.stdout) as string[]).sort();
}

describe('package entry points', function () {
  // Compiles the whole package once (tsc), then starts a Node process per entry point and format.
  this.timeout(300_000);
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-user-'));

  before(() => {
    buildPackage();
    // A user's project: seismo in its node_modules (as npm links a local dependency).
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true }));
    fs.mkdirSync(path.join(project, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(project, 'node_modules', 'seismo'), 'dir');
  });
  after(() => fs.rmSync(project, { recursive: true, force: true }));

  it('lists the stages in package.json exports', () => {
    assert.deepEqual(entryPoints().map((e) => e.name), Object.keys(EXPECTED));
    for (const e of entryPoints()) assert.ok(fs.existsSync(path.join(ROOT, e.source)), `${e.name}: ${e.source} is missing`);
  });

  for (const name of Object.keys(EXPECTED)) {
    it(`${name}: the same names through import and require`, () => {
      const cjs = exportNames(project, name, 'cjs');
      const esm = exportNames(project, name, 'esm');
      assert.deepEqual(esm, cjs);
      for (const n of EXPECTED[name]!) assert.ok(cjs.includes(n), `${name} lacks ${n}`);
    });
  }

  it('keeps the internals out of the root', () => {
    const root = exportNames(project, 'seismo', 'cjs');
    const leaked = INTERNAL.filter((n) => root.includes(n));
    assert.deepEqual(leaked, []);
  });

  it('blocks deep imports of internal files', () => {
    const r = spawnSync(process.execPath, ['-e', "require('seismo/dist/src/ingest/csv.js')"], { cwd: project, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
