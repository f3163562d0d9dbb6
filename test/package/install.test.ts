// seismo as a dependency: `npm pack`, then `npm install <tarball>` into a fresh project with only
// the npm registry (and npm's cache as it is), as a user would; then `seismo detect` and an ESM and
// a CJS import there. Two installs (one stopped by the preinstall check, one after its fix) take
// most of the time.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSeriesCsv } from '../../src/ingest/csv.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { TRAINING_PACKAGES } from '../../src/training-part.js';
import { tinyModel } from '../helpers/tiny-model.js';
import { buildPackage, ROOT } from './build.js';

/** npm's own settings from the `npm test` that runs us must not leak into the user's install. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^ONNXRUNTIME_NODE_INSTALL/.test(k) || k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 240_000 });
}

describe('package: the packed tarball installs into a fresh project', function () {
  this.timeout(600_000);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-pack-'));
  const project = path.join(work, 'project');
  let tarball = '';
  let modelDir = '';
  // A closed port on this machine stands in for api.nuget.org, so that the check sees the same
  // unreachable host on a machine with internet as on one without.
  const unreachable = { SEISMO_ORT_PROBE_URL: 'https://127.0.0.1:9/v3/index.json' };

  before(() => {
    buildPackage();
    // dist/ is built above; --ignore-scripts keeps `npm pack` from compiling it a second time (prepare).
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, env: userEnv(), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    tarball = path.join(work, (JSON.parse(out) as { filename: string }[])[0]!.filename);
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }, null, 2));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('ships the prebuilt addon, a LICENSE, source maps that carry their sources, and no tests', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    assert.ok(list.includes('package/package.json'));
    assert.ok(list.includes('package/LICENSE'));
    assert.ok(list.includes('package/prebuilds/linux-x64/seismo.node'));
    assert.ok(!list.some((f) => f.startsWith('package/test/')), 'tests are not shipped');
    // src/ is not shipped: every map holds the TypeScript it names.
    const maps = list.filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 100, `${maps.length} maps`);
    for (const name of ['package/dist/src/native.js.map', 'package/dist/src/cli/main.js.map']) {
      const map = JSON.parse(execFileSync('tar', ['-xzOf', tarball, name], { encoding: 'utf8' })) as { sources: string[]; sourcesContent?: string[] };
      assert.equal(map.sourcesContent?.length, map.sources.length, name);
      assert.ok(map.sourcesContent!.every((t) => t.length > 0), name);
    }
  });

  it('keeps build tools out of its dependencies and training in the optional ones', () => {
    const pkg = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as {
      dependencies: Record<string, string>; optionalDependencies: Record<string, string>; scripts: Record<string, string>; license: string;
    };
    for (const tool of ['cmake-js', 'node-addon-api', 'node-api-headers', 'prebuildify']) assert.equal(pkg.dependencies[tool], undefined, tool);
    assert.equal(pkg.scripts.install, undefined, 'nothing compiles at install: the prebuild or the TypeScript rings');
    assert.ok(pkg.optionalDependencies['@tensorflow/tfjs-core']);
    assert.ok(!Object.keys(pkg.dependencies).some((d) => d.startsWith('@tensorflow/')));
    assert.equal(pkg.license, 'MIT');
  });

  it('without a setting for onnxruntime-node, stops in its preinstall with the fix instead of failing in the CUDA download', () => {
    const t0 = Date.now();
    const r = npm(['install', tarball], project, userEnv(unreachable));
    const seconds = (Date.now() - t0) / 1000;
    assert.notEqual(r.status, 0, 'the install must not pass when the CUDA download would fail');
    assert.match(r.stderr, /seismo: install stopped before onnxruntime-node downloads its CUDA provider/);
    assert.match(r.stderr, /npm pkg set allowScripts\.onnxruntime-node=false --json/);
    // onnxruntime-node's own script never ran: no DNS or connection error from it.
    assert.doesNotMatch(r.stderr, /ENOTFOUND|ECONNREFUSED|script\/install/);
    assert.ok(!fs.existsSync(path.join(project, 'node_modules', 'seismo')), 'npm rolled the failed install back');
    console.log(`      (stopped after ${seconds.toFixed(1)} s)`);
  });

  it('installs with the fix the message names, and no flags', () => {
    const fix = npm(['pkg', 'set', 'allowScripts.onnxruntime-node=false', '--json'], project, userEnv());
    assert.equal(fix.status, 0, fix.stderr);
    const r = npm(['install', tarball], project, userEnv(unreachable));
    assert.equal(r.status, 0, `npm install failed:\n${r.stderr}`);
    assert.ok(fs.existsSync(path.join(project, 'node_modules', 'seismo', 'prebuilds', 'linux-x64', 'seismo.node')));
    assert.ok(fs.existsSync(path.join(project, 'node_modules', 'onnxruntime-node', 'package.json')));
  });

  it('runs `seismo detect` there on a small model', async () => {
    const model = await tinyModel();
    modelDir = model.dir;
    const data = generateSeries({ length: 300, channels: 3, seed: 5, periods: [48, 12], anomalies: [] });
    const csv = path.join(work, 'live.csv');
    await writeSeriesCsv(csv, data.table);
    const bin = path.join(project, 'node_modules', '.bin', 'seismo');
    const r = spawnSync(bin, ['detect', '--model', modelDir, '--data', csv, '--provider', 'cpu', '--out', path.join(work, 'scores.csv')], { cwd: project, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    const rows = fs.readFileSync(path.join(work, 'scores.csv'), 'utf8').trim().split('\n');
    assert.match(rows[0]!, /^timestamp,score,threshold,anomaly/);
    assert.ok(rows.length > 50, `${rows.length - 1} scored windows`);
  });

  it('detects there on the TypeScript rings where the addon cannot load, with one warning and the same scores', () => {
    const prebuilds = path.join(project, 'node_modules', 'seismo', 'prebuilds');
    fs.renameSync(prebuilds, `${prebuilds}.away`);
    try {
      const bin = path.join(project, 'node_modules', '.bin', 'seismo');
      const out = path.join(work, 'scores-ts.csv');
      const r = spawnSync(bin, ['detect', '--model', modelDir, '--data', path.join(work, 'live.csv'), '--provider', 'cpu', '--out', out], { cwd: project, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.match(/SEISMO_NATIVE_FALLBACK/g)?.length, 1, r.stderr);
      assert.match(r.stderr, /ring buffers run in TypeScript \(slower\)/);
      // With the addon the LSTM-AE is scored by its native scorer, without it by onnxruntime: the
      // same rows, flags and columns, numbers within the scorer's 1e-5 (relative to max(1, |x|)).
      const table = (file: string) => fs.readFileSync(file, 'utf8').trim().split('\n').map((line) => line.split(','));
      const [ts, native] = [table(out), table(path.join(work, 'scores.csv'))];
      assert.deepEqual(ts.map((r) => [r[0], r[3], r.length]), native.map((r) => [r[0], r[3], r.length]));
      assert.deepEqual(ts[0], native[0]);
      for (const [i, row] of ts.entries()) {
        if (i === 0) continue;
        for (const [j, cell] of row.entries()) {
          const [a, b] = [Number(cell), Number(native[i]![j])];
          if (Number.isNaN(a) || Number.isNaN(b)) assert.equal(cell, native[i]![j]);
          else assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `row ${i}, column ${native[0]![j]}: ${cell} vs ${native[i]![j]}`);
        }
      }
    } finally {
      fs.renameSync(`${prebuilds}.away`, prebuilds);
    }
  });

  it('detects there without the training part (as after --omit=optional), and says what to install to train', () => {
    for (const name of TRAINING_PACKAGES) fs.rmSync(path.join(project, 'node_modules', name), { recursive: true, force: true });
    const bin = path.join(project, 'node_modules', '.bin', 'seismo');
    const r = spawnSync(bin, ['detect', '--model', modelDir, '--data', path.join(work, 'live.csv'), '--provider', 'cpu', '--json'], { cwd: project, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
    const t = spawnSync(bin, ['train', '--kind', 'lstm-ae', '--data', path.join(work, 'live.csv'), '--out', path.join(work, 'm'), '--json'], { cwd: project, env: userEnv(), encoding: 'utf8', timeout: 120_000 });
    assert.equal(t.status, 1, t.stderr);
    const error = JSON.parse(t.stdout).error as { code: string; message: string };
    assert.equal(error.code, 'ERR_TRAINING_UNAVAILABLE');
    assert.match(error.message, /npm install @tensorflow\/tfjs-core@4\.22\.0/);
  });

  it('imports there with ESM and with CJS', () => {
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "import { Detector, SeismoError } from 'seismo'; console.log(typeof Detector, typeof SeismoError)"], { cwd: project, env: userEnv(), encoding: 'utf8' });
    assert.equal(esm.status, 0, esm.stderr);
    assert.equal(esm.stdout.trim(), 'function function');
    const cjs = spawnSync(process.execPath, ['-e', "const { Detector, SeismoError } = require('seismo'); console.log(typeof Detector, typeof SeismoError)"], { cwd: project, env: userEnv(), encoding: 'utf8' });
    assert.equal(cjs.status, 0, cjs.stderr);
    assert.equal(cjs.stdout.trim(), 'function function');
  });
});
