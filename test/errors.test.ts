// Errors say what happened: missing files are ERR_IO, bad JSON is ERR_JSON_PARSE, out of memory is
// ERR_RESOURCE, output paths are checked before the work starts, and odd inputs (null frames) get
// a code instead of a TypeError with a stack. Through the CLI as a user meets them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerDetect } from '../src/cli/detect.js';
import { registerEval } from '../src/cli/eval.js';
import { registerTrain } from '../src/cli/train.js';
import { Detector } from '../src/detector/index.js';
import { fileError, isSeismoError, resourceError, type SeismoErrorCode } from '../src/errors.js';
import { writeSeriesCsv } from '../src/ingest/csv.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { evaluate } from '../src/evaluate/index.js';
import { FrameRings } from '../src/window/frame-rings.js';
import { runCli } from './helpers/run-cli.js';
import { tinyModel } from './helpers/tiny-model.js';

const code = (c: SeismoErrorCode, text?: RegExp) => (e: unknown): boolean => isSeismoError(e, c) && (text === undefined || text.test(e.message));

/** A CLI failure: exit 1, the code on stderr and in the --json answer, and no stack trace. */
function assertFails(r: { stdout: string; stderr: string; code: number }, expected: SeismoErrorCode): void {
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`^seismo: ${expected}: `, 'm'));
  assert.equal(JSON.parse(r.stdout).error.code, expected);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
}

describe('errors that say what happened', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-errors-'));
  let modelDir = '';
  let dataCsv = '';

  before(async () => {
    modelDir = (await tinyModel()).dir;
    const series = generateSeries({ length: 64, channels: 3, seed: 11, periods: [48, 12], anomalies: [] });
    dataCsv = path.join(dir, 'data.csv');
    await writeSeriesCsv(dataCsv, series.table);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('detect --out into a missing folder fails with ERR_IO before scoring', async () => {
    const r = await runCli(registerDetect, ['detect', '--model', modelDir, '--data', dataCsv, '--out', path.join(dir, 'missing', 'scores.csv'), '--json']);
    assertFails(r, 'ERR_IO');
    assert.match(r.stderr, /missing does not exist/);
    assert.doesNotMatch(r.stderr, /scoring on|detect:/, 'nothing was scored');
    const folder = await runCli(registerDetect, ['detect', '--model', modelDir, '--data', dataCsv, '--out', dir, '--json']);
    assertFails(folder, 'ERR_IO');
    assert.match(folder.stderr, /is a folder/);
  });

  it('train --out under a file fails with ERR_IO before training', async () => {
    const r = await runCli(registerTrain, ['train', '--kind', 'lstm-ae', '--data', dataCsv, '--out', path.join(dataCsv, 'model'), '--json']);
    assertFails(r, 'ERR_IO');
    assert.doesNotMatch(r.stderr, /training lstm-ae/, 'nothing was trained');
  });

  it('a missing data file is ERR_IO and a config that is not JSON is ERR_JSON_PARSE (not ERR_CSV_PARSE)', async () => {
    assertFails(await runCli(registerDetect, ['detect', '--model', modelDir, '--data', path.join(dir, 'nowhere.csv'), '--json']), 'ERR_IO');
    assertFails(await runCli(registerEval, ['eval', '--scores', path.join(dir, 'nowhere.csv'), '--labels', dataCsv, '--json']), 'ERR_IO');
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, '{"window": ');
    assertFails(await runCli(registerTrain, ['train', '--kind', 'lstm-ae', '--data', dataCsv, '--config', config, '--out', path.join(dir, 'm'), '--json']), 'ERR_JSON_PARSE');
    assertFails(await runCli(registerTrain, ['train', '--kind', 'lstm-ae', '--data', dataCsv, '--config', path.join(dir, 'none.json'), '--out', path.join(dir, 'm'), '--json']), 'ERR_IO');
  });

  it('null frames and similar inputs are coded errors, not TypeErrors', async () => {
    const detector = await Detector.load(modelDir, { provider: 'cpu' });
    try {
      assert.throws(() => detector.push('a', 1, null as never), code('ERR_BAD_SHAPE', /values must be an array/));
      assert.throws(() => detector.push(null as never, 1, [1, 2, 3]), code('ERR_INVALID_OPTION', /series id/));
      await assert.rejects(detector.write('a', [1], null as never), code('ERR_BAD_SHAPE', /frames must be a Float32Array, got null/));
      await assert.rejects(detector.write('a', [1], [1, 2, 3] as never), code('ERR_BAD_SHAPE', /Float32Array.from/));
      await assert.rejects(detector.write('a', null as never, new Float32Array(3)), code('ERR_BAD_SHAPE', /timestamps/));
    } finally {
      await detector.close();
    }
    await assert.rejects(Detector.load(null as never), code('ERR_INVALID_OPTION'));
    const rings = new FrameRings({ channels: 2, capacity: 8, slots: 1 });
    try {
      assert.throws(() => rings.push(0, null as never), code('ERR_BAD_SHAPE'));
    } finally {
      rings.dispose();
    }
    assert.throws(() => evaluate(null as never, [1]), code('ERR_BAD_SHAPE', /labels/));
  });

  it('out of memory is ERR_RESOURCE, a full disk too; a missing path is ERR_IO', () => {
    let oom: unknown;
    try {
      new ArrayBuffer(2 ** 52);
    } catch (err) {
      oom = err;
    }
    assert.ok(oom instanceof RangeError, 'V8 refuses a 4 PiB buffer');
    assert.equal(resourceError(oom, 'testing')?.code, 'ERR_RESOURCE');
    assert.equal(resourceError(new Error('ort: bad_alloc'), 'scoring')?.code, 'ERR_RESOURCE');
    assert.equal(resourceError(new TypeError('x is not a function'), 'scoring'), undefined);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
    assert.equal(fileError('/tmp/x', enospc, 'write').code, 'ERR_RESOURCE');
    let missing: unknown;
    try {
      fs.readFileSync(path.join(dir, 'none'));
    } catch (err) {
      missing = err;
    }
    assert.ok(fileError(path.join(dir, 'none'), missing).message.endsWith('not found'));
    assert.equal(fileError(path.join(dir, 'none'), missing).code, 'ERR_IO');
  });
});
