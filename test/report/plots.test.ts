// `seismo eval --plots`: every chart is written as a valid, non-trivial PNG and an SVG.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerEval } from '../../src/cli/eval.js';
import { Random } from '../../src/stats/random.js';
import { runCli } from '../helpers/run-cli.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('report: seismo eval --plots', () => {
  let dir = '';
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-plots-'));
    const r = new Random(6);
    const rows = ['timestamp,score,threshold,anomaly,score_cpu,score_mem'];
    const labels = ['timestamp,label'];
    for (let i = 0; i < 400; i++) {
      const y = (i >= 100 && i < 120) || (i >= 300 && i < 310) ? 1 : 0;
      const cpu = Math.abs(r.normal()) + (y ? 3 : 0);
      const mem = Math.abs(r.normal()) * 0.5;
      const s = cpu + mem;
      rows.push(`${i},${s},2.5,${s >= 2.5 ? 1 : 0},${cpu},${mem}`);
      labels.push(`${i},${y}`);
    }
    fs.writeFileSync(path.join(dir, 'scores.csv'), `${rows.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'labels.csv'), `${labels.join('\n')}\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes histogram, ROC, PR, timeline and event-channel charts as PNG and SVG', async () => {
    const r = await runCli(registerEval, ['eval', '--scores', path.join(dir, 'scores.csv'), '--labels', path.join(dir, 'labels.csv'), '--plots', path.join(dir, 'plots'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const stdout = r.stdout;
    const out = JSON.parse(stdout).result;
    assert.ok(out.metrics.rocAuc > 0.9);
    for (const name of ['scores-histogram', 'roc', 'pr', 'timeline', 'event-channels']) {
      const png = fs.readFileSync(path.join(dir, 'plots', `${name}.png`));
      assert.deepEqual(png.subarray(0, 8), PNG_SIGNATURE, name);
      assert.ok(png.length > 10_000, `${name}.png is ${png.length} bytes`);
      const svg = fs.readFileSync(path.join(dir, 'plots', `${name}.svg`), 'utf8');
      assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      assert.ok(svg.includes('<path') || svg.includes('<rect'), name);
    }
    assert.equal(out.plots.length, 10);
  });
});
