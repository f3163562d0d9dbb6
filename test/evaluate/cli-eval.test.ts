// `seismo eval` and `seismo eval nab` through commander, on small CSVs written to a temp folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerEval } from '../../src/cli/eval';
import { evaluate } from '../../src/evaluate';
import { runCli, type CliRun } from '../helpers/run-cli';

/** Runs `seismo <args>` in this process. */
const cli = (args: string[]): Promise<CliRun> => runCli(registerEval, args);

const stamp = (i: number) => `2024-01-01 00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}`;

describe('cli: seismo eval', () => {
  let dir = '';
  // 40 points, anomalies on 10..13 and 30..31; the detector is decent but not perfect.
  const labels = Array.from({ length: 40 }, (_, i) => ((i >= 10 && i <= 13) || i === 30 || i === 31 ? 1 : 0));
  const scores = labels.map((y, i) => (y ? 0.6 + ((i * 7) % 5) / 10 : ((i * 13) % 11) / 16));
  const rowThreshold = 0.65;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'seismo-eval-'));
    const s = ['timestamp,score,threshold,anomaly,score_a'];
    // The detector's first two rows have no label row: they must be skipped, not fail.
    s.push(`2023-12-31 23:59:58,0.1,${rowThreshold},0,0.1`, `2023-12-31 23:59:59,0.2,${rowThreshold},0,0.2`);
    scores.forEach((v, i) => s.push(`${stamp(i)},${v},${rowThreshold},${v >= 0.9 ? 1 : 0},${v}`));
    writeFileSync(join(dir, 'scores.csv'), `${s.join('\n')}\n`);
    writeFileSync(join(dir, 'plain.csv'), `timestamp,score\n${scores.map((v, i) => `${stamp(i)},${v}`).join('\n')}\n`);
    writeFileSync(join(dir, 'labels.csv'), `timestamp,label\n${labels.map((y, i) => `${stamp(i)},${y}`).join('\n')}\n`);
    writeFileSync(join(dir, 'bad.csv'), `timestamp,score\n${stamp(0)},oops\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--json prints exactly {"metrics": {...}} with the library numbers', async () => {
    const r = await cli(['eval', '--scores', join(dir, 'scores.csv'), '--labels', join(dir, 'labels.csv'), '--threshold', '0.5', '--sliding-window', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout).result;
    assert.deepEqual(Object.keys(out), ['metrics']);
    const expected = evaluate(labels, scores, { threshold: 0.5, slidingWindow: 4 });
    for (const [k, v] of Object.entries(expected)) assert.equal(out.metrics[k], v, k);
    assert.equal(out.metrics.points, 40);
    assert.equal(out.metrics.unlabelled, 2);
    assert.equal(out.metrics.thresholdSource, 'option');
  });

  it('without --threshold uses the anomaly column, then the threshold column, then best F1', async () => {
    const anomaly = JSON.parse((await cli(['eval', '--scores', join(dir, 'scores.csv'), '--labels', join(dir, 'labels.csv'), '--json'])).stdout).result.metrics;
    assert.equal(anomaly.thresholdSource, 'anomaly-column');
    const preds = scores.map((v) => (v >= 0.9 ? 1 : 0));
    assert.equal(anomaly.f1, evaluate(labels, scores, { predictions: preds }).f1);
    const plain = JSON.parse((await cli(['eval', '--scores', join(dir, 'plain.csv'), '--labels', join(dir, 'labels.csv'), '--json'])).stdout).result.metrics;
    assert.equal(plain.thresholdSource, 'best-f1');
    assert.equal(plain.threshold, plain.bestF1Threshold);
  });

  it('prints a readable table by default', async () => {
    const r = await cli(['eval', '--scores', join(dir, 'scores.csv'), '--labels', join(dir, 'labels.csv')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ROC AUC\s+\d\.\d{6}/);
    assert.match(r.stdout, /VUS-PR\s+\d/);
    assert.match(r.stdout, /40 labelled points/);
  });

  it('accepts NaN and Infinity thresholds (per-channel rules, a calibrating SPOT) and uses the anomaly column', async () => {
    const rows = ['timestamp,score,threshold,anomaly', ...scores.map((v, i) => `${stamp(i)},${v},${i < 5 ? 'Infinity' : 'NaN'},${v >= 0.9 ? 1 : 0}`)];
    writeFileSync(join(dir, 'odd-thresholds.csv'), `${rows.join('\n')}\n`);
    const r = await cli(['eval', '--scores', join(dir, 'odd-thresholds.csv'), '--labels', join(dir, 'labels.csv'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const expected = evaluate(labels, scores, { predictions: scores.map((v) => (v >= 0.9 ? 1 : 0)) });
    assert.equal(JSON.parse(r.stdout).result.metrics.f1, expected.f1);
  });

  it('reports errors on stderr with their code and exit code 1', async () => {
    const bad = await cli(['eval', '--scores', join(dir, 'bad.csv'), '--labels', join(dir, 'labels.csv'), '--json']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^seismo: ERR_CSV_PARSE: .*line 2/);
    // With --json every command also answers on stdout, so that a harness reads one JSON either way.
    assert.equal(JSON.parse(bad.stdout).error.code, 'ERR_CSV_PARSE');
    const missing = await cli(['eval', '--labels', join(dir, 'labels.csv')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /ERR_INVALID_OPTION/);
    const window = await cli(['eval', '--scores', join(dir, 'plain.csv'), '--labels', join(dir, 'labels.csv'), '--sliding-window', '-3']);
    assert.match(window.stderr, /ERR_INVALID_OPTION: --sliding-window/);
  });

  it('eval nab --json prints the three normalised profile scores', async () => {
    const root = join(dir, 'nab');
    mkdirSync(join(root, 'labels'), { recursive: true });
    mkdirSync(join(root, 'config'), { recursive: true });
    mkdirSync(join(root, 'results', 'toy', 'cat'), { recursive: true });
    const ts = Array.from({ length: 20 }, (_, i) => stamp(i));
    writeFileSync(join(root, 'labels', 'combined_windows.json'), JSON.stringify({ 'cat/a.csv': [[ts[10], ts[13]]] }));
    const cm = (fp: number, fn: number) => ({ CostMatrix: { tpWeight: 1, fpWeight: fp, fnWeight: fn, tnWeight: 1 } });
    writeFileSync(
      join(root, 'config', 'profiles.json'),
      JSON.stringify({ standard: cm(0.11, 1), reward_low_FP_rate: cm(0.22, 1), reward_low_FN_rate: cm(0.11, 2) }),
    );
    writeFileSync(join(root, 'config', 'thresholds.json'), '{}');
    // Fires at the window's first row: perfect under every profile once optimised.
    const rows = ts.map((t, i) => `${t},0,${i === 10 ? 0.8 : 0.1}`);
    writeFileSync(join(root, 'results', 'toy', 'cat', 'toy_a.csv'), `timestamp,value,anomaly_score\n${rows.join('\n')}\n`);
    const r = await cli(['eval', 'nab', '--nab', root, '--detector', 'toy', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const local = JSON.parse(r.stdout).result;
    assert.deepEqual(
      { standard: local.standard, rewardLowFP: local.rewardLowFP, rewardLowFN: local.rewardLowFN },
      { standard: 100, rewardLowFP: 100, rewardLowFN: 100 },
    );
    // NAB v1.0's local search by default: it starts at 0.5, which already fires on row 10 only.
    assert.deepEqual(local.search, { standard: 'local', rewardLowFP: 'local', rewardLowFN: 'local' });
    assert.equal(local.thresholds.standard, 0.5);
    const exact = JSON.parse((await cli(['eval', 'nab', '--nab', root, '--detector', 'toy', '--search', 'exact', '--json'])).stdout).result;
    assert.equal(exact.search.standard, 'exact');
    assert.equal(exact.thresholds.standard, 0.8);
    const table = await cli(['eval', 'nab', '--nab', root, '--detector', 'toy']);
    assert.match(table.stdout, /reward_low_FN_rate\s+100\.000/);
    assert.match(table.stdout, /thresholds: local: NAB v1\.0's hill-climb/);
    const bad = await cli(['eval', 'nab', '--nab', root, '--detector', 'toy', '--search', 'global']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /ERR_INVALID_OPTION/);
    const none = await cli(['eval', 'nab', '--nab', root, '--detector', 'nobody', '--json']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /ERR_EVAL/);
  });
});
