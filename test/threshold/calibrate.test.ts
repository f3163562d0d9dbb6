// `seismo calibrate` in-process on the shared tiny model: it must improve the objective over the
// stored default threshold on a labelled validation series, and write only `thresholds`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerCalibrate } from '../../src/cli/calibrate.js';
import { writeSeriesCsv } from '../../src/ingest/csv.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { readModelDir } from '../../src/model/model-dir.js';
import { thresholdFromManifest } from '../../src/threshold/index.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';
import { copyModelDir, tinyModel } from '../helpers/tiny-model.js';

/** Runs `seismo calibrate <args>` in this process. */
const calibrate = (args: string[]): Promise<CliRun> => runCli(registerCalibrate, ['calibrate', ...args]);

describe('cli: seismo calibrate', function () {
  this.timeout(120_000);
  let dir = '';
  let model = '';

  before(async () => {
    const tiny = await tinyModel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-calibrate-'));
    model = copyModelDir(tiny.dir);
    // Same generator settings as the tiny model's training data, new seed, planted anomalies.
    const val = generateSeries({ length: 1200, channels: 3, seed: 12, periods: [48, 12], normalPrefix: 0.2 });
    await writeSeriesCsv(path.join(dir, 'val.csv'), val.table);
    fs.writeFileSync(path.join(dir, 'labels.csv'), `timestamp,label\n${val.table.timestamps.map((t, i) => `${t},${val.labels[i]}`).join('\n')}\n`);
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(model, { recursive: true, force: true });
  });

  it('--method best raises F1 over the stored quantile threshold and writes it atomically into model.json', async () => {
    const manifestBefore = readModelDir(model).manifest;
    const r = await calibrate(['--model', model, '--data', path.join(dir, 'val.csv'), '--labels', path.join(dir, 'labels.csv'), '--provider', 'cpu', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout).result;
    assert.ok(s.after.f1 > s.before.f1, `F1 ${s.before.f1} -> ${s.after.f1}`);
    assert.equal(s.improvement, s.after.f1 - s.before.f1);
    const m = readModelDir(model).manifest;
    assert.equal(m.thresholds.global.method, 'best-f1');
    assert.equal(m.thresholds.global.value, s.after.threshold);
    assert.equal(m.thresholds.channels, null);
    assert.deepEqual({ ...m, thresholds: null }, { ...manifestBefore, thresholds: null });
    assert.deepEqual(fs.readdirSync(model).filter((f) => f.endsWith('.tmp')), []);
  });

  it('--method per-channel --objective f2 stores one channel-sigma band per channel, never below best', async () => {
    const best = JSON.parse((await calibrate(['--model', model, '--data', path.join(dir, 'val.csv'), '--labels', path.join(dir, 'labels.csv'), '--provider', 'cpu', '--objective', 'f2', '--json'])).stdout).result;
    const r = await calibrate(['--model', model, '--data', path.join(dir, 'val.csv'), '--labels', path.join(dir, 'labels.csv'), '--provider', 'cpu', '--objective', 'f2', '--method', 'per-channel', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout).result;
    assert.ok(s.after.f2 >= best.after.f2, `per-channel F2 ${s.after.f2} < best ${best.after.f2}`);
    const m = readModelDir(model).manifest;
    assert.equal(m.thresholds.channels?.length, 3);
    assert.ok(m.thresholds.channels!.every((c) => c.method === 'channel-sigma' && typeof c.params.alpha === 'number'));
    thresholdFromManifest(m); // loads back
  });

  it('rejects an unknown objective with ERR_INVALID_OPTION', async () => {
    const r = await calibrate(['--model', model, '--data', path.join(dir, 'val.csv'), '--labels', path.join(dir, 'labels.csv'), '--objective', 'f3']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ERR_INVALID_OPTION/);
  });
});
