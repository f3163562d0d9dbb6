// `seismo eval --plots`: every chart is written as a valid, non-trivial PNG and an SVG.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerEval } from '../../src/cli/eval.js';
import { histogram, prChart, rocChart, timeline, type EvalPlotData } from '../../src/report/plots.js';
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

describe('report: chart layout', () => {
  /** The plot area's frame (the last unfilled rect) and every text element's anchor point. */
  function layout(svg: string) {
    const frames = [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="none"/g)];
    const f = frames[frames.length - 1]!;
    const [x, y, w, h] = [1, 2, 3, 4].map((i) => Number(f[i]));
    const texts = [...svg.matchAll(/<text x="([\d.]+)" y="([\d.]+)"[^>]*text-anchor="(\w+)"[^>]*>([^<]*)<\/text>/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]), anchor: m[3]!, text: m[4]! }));
    return { plot: { x, y, w, h }, texts };
  }

  /** Scores whose operating point sits in a corner: recall 1 at precision 1 (top right of PR, top left of ROC). */
  function perfect(n = 200): EvalPlotData {
    const labels = Uint8Array.from({ length: n }, (_, i) => (i % 20 === 0 ? 1 : 0));
    const scores = Float64Array.from(labels, (y, i) => (y ? 50 + i : 0.01 + (i % 7) / 1000));
    return { timestamps: Array.from({ length: n }, (_, i) => String(i)), labels, scores, predictions: labels, threshold: 10, channels: [] };
  }

  it('keeps the operating-point label inside the plot area (not over the title, not clipped at the right)', () => {
    for (const svg of [rocChart(perfect()), prChart(perfect())]) {
      const { plot, texts } = layout(svg);
      const label = texts.find((t) => t.text === 'threshold')!;
      const width = 'threshold'.length * 12 * 0.62;
      const left = label.anchor === 'end' ? label.x - width : label.x;
      assert.ok(label.y - 12 >= plot.y, `label top ${label.y - 12} above the plot top ${plot.y}`);
      assert.ok(left >= plot.x && left + width <= plot.x + plot.w, `label ${left}..${left + width} outside ${plot.x}..${plot.x + plot.w}`);
      // The title and the legend sit above the plot area.
      for (const t of texts.filter((t) => /curve|detector|chance|operating/.test(t.text))) assert.ok(t.y < plot.y, t.text);
    }
  });

  it('draws scores spanning decades on log axes: the normal range is not pressed against zero', () => {
    const d = perfect();
    assert.match(histogram(d), /anomaly score \(log scale\)/);
    assert.match(timeline(d), /anomaly score \(log scale\)/);
    // Scores within one decade, or at or below zero, keep linear axes.
    const flat = { ...d, scores: Float64Array.from(d.scores, (v, i) => (i % 2 ? -v : v)) };
    assert.doesNotMatch(histogram(flat), /log scale/);
    assert.doesNotMatch(timeline(flat), /log scale/);
  });
});
