// One window-label rule (src/evaluate/inputs.ts) in the library and in `seismo eval`: what a
// score covers, which label it is judged against, and labelled rows that no score covers.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { registerDetect } from '../../src/cli/detect';
import { registerEval } from '../../src/cli/eval';
import { registerTrain } from '../../src/cli/train';
import { labelSpans, windowLabels, withMissedAnomalies } from '../../src/evaluate';
import { runCli } from '../helpers/run-cli';

const all = (p: Command) => {
  registerTrain(p);
  registerDetect(p);
  registerEval(p);
};
/** The command's JSON result, bare or inside the CLI's `{ok, command, result}` envelope. */
const result = (stdout: string) => {
  const body = JSON.parse(stdout);
  return body.result ?? body;
};
const seismo = async (args: string[]) => {
  const r = await runCli(all, args);
  assert.equal(r.code, 0, `seismo ${args.join(' ')}: ${r.stderr}`);
  return r;
};

describe('label rule: library', () => {
  it('any: a window is anomalous when any row it covers is; last: when its last row is', () => {
    const rows = [0, 0, 0, 1, 0, 0, 0, 0];
    const ends = [3, 4, 5, 6, 7]; // window 4
    assert.deepEqual([...windowLabels(rows, ends, 4, 'any').labels], [1, 1, 1, 1, 0]);
    assert.deepEqual([...windowLabels(rows, ends, 4, 'last').labels], [1, 0, 0, 0, 0]);
    assert.deepEqual([...windowLabels(rows, ends, 4).labels], [1, 1, 1, 1, 0], 'any is the default');
  });

  it('counts the rows no score is judged on, and the anomalies among them', () => {
    const rows = [0, 1, 0, 0, 0, 0];
    // Window 3 ending at rows 2..5: under `any` every row is covered; under `last` rows 0 and 1 are not.
    const any = windowLabels(rows, [2, 3, 4, 5], 3, 'any');
    assert.equal(any.unscoredRows, 0);
    assert.equal(any.unscoredAnomalies, 0);
    const last = windowLabels(rows, [2, 3, 4, 5], 3, 'last');
    assert.equal(last.unscoredRows, 2);
    assert.equal(last.unscoredAnomalies, 1);
    // Strided windows under `last` leave the rows between their ends unjudged.
    assert.equal(labelSpans(rows, [0, 3], [2, 5], 'last').unscoredRows, 4);
    assert.throws(() => labelSpans(rows, [3], [2]), { code: 'ERR_BAD_SHAPE' });
    assert.throws(() => windowLabels(rows, [2], 0), { code: 'ERR_INVALID_OPTION' });
  });

  it('withMissedAnomalies adds positives below every score, predicted normal', () => {
    const r = withMissedAnomalies([0, 1, 0], [0.2, 0.9, 0.5], 2, [0, 1, 0]);
    assert.deepEqual([...r.labels], [0, 1, 0, 1, 1]);
    assert.ok(r.scores[3]! < 0.2 && r.scores[4] === r.scores[3]);
    assert.deepEqual([...r.predictions!], [0, 1, 0, 0, 0]);
  });
});

describe('label rule: seismo eval on a new user\'s CSV with one planted anomaly', function () {
  // Trains a small LSTM autoencoder (a few seconds), then detect + eval as the README says.
  this.timeout(180_000);
  const W = 16;
  let dir = '';
  const stamp = (i: number) => String(1_700_000_000_000 + i * 60_000);

  /** Two channels (a 40-row cycle and a slow one, with noise); one spike on cpu at `spike`. */
  function series(from: number, to: number, spike: number): { data: string; labels: string } {
    let seed = 1;
    const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.1;
    const data = ['timestamp,cpu,mem'];
    const labels = ['timestamp,label'];
    for (let i = 0; i < to; i++) {
      const cpu = Math.sin((i * 2 * Math.PI) / 40) + noise() + (i === spike ? 4 : 0);
      const mem = 0.5 * Math.cos((i * 2 * Math.PI) / 110) + noise();
      if (i < from) continue;
      data.push(`${stamp(i)},${cpu.toFixed(4)},${mem.toFixed(4)}`);
      labels.push(`${stamp(i)},${i === spike ? 1 : 0}`);
    }
    return { data: `${data.join('\n')}\n`, labels: `${labels.join('\n')}\n` };
  }

  async function evalJson(scores: string, labels: string, rule: string) {
    const r = await seismo(['eval', '--scores', join(dir, scores), '--labels', join(dir, labels), '--label-rule', rule, '--json']);
    return result(r.stdout).metrics;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'seismo-label-rule-'));
    writeFileSync(join(dir, 'train.csv'), series(0, 1000, -1).data);
    const late = series(1000, 1800, 1500); // the spike well inside the live part
    writeFileSync(join(dir, 'live.csv'), late.data);
    writeFileSync(join(dir, 'labels.csv'), late.labels);
    const early = series(1000, 1800, 1005); // the spike in the first window-1 rows
    writeFileSync(join(dir, 'early.csv'), early.data);
    writeFileSync(join(dir, 'early-labels.csv'), early.labels);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ window: W, encoderUnits: [16], decoderUnits: [8], epochs: 8, learningRate: 3e-3 }));
    await seismo(['train', '--kind', 'lstm-ae', '--data', join(dir, 'train.csv'), '--config', join(dir, 'config.json'), '--out', join(dir, 'model'), '--json']);
    await seismo(['detect', '--model', join(dir, 'model'), '--data', join(dir, 'live.csv'), '--out', join(dir, 'scores.csv'), '--json']);
    await seismo(['detect', '--model', join(dir, 'model'), '--data', join(dir, 'early.csv'), '--out', join(dir, 'early-scores.csv'), '--json']);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('by default (any) PR AUC and ROC AUC tell the same story; under last the windows after the spike read as false positives', async () => {
    const any = await evalJson('scores.csv', 'labels.csv', 'any');
    assert.equal(any.labelRule, 'any');
    assert.equal(any.covers, 'window column');
    assert.ok(any.rocAuc > 0.9, `ROC AUC ${any.rocAuc}`);
    assert.ok(any.prAuc > 0.6 && any.rocAuc - any.prAuc < 0.3, `any: PR AUC ${any.prAuc} beside ROC AUC ${any.rocAuc}`);
    assert.equal(any.tp + any.fn, W, 'every window holding the spike is a positive');
    // The `last` rule judges each window by its last row: the W-1 windows after the spike (which
    // hold it, and score high) count as false positives and PR AUC collapses. That is why `any`
    // is the default for window scores.
    const last = await evalJson('scores.csv', 'labels.csv', 'last');
    assert.equal(last.tp + last.fn, 1);
    assert.ok(last.prAuc < 0.5 && last.rocAuc > 0.9, `last: PR AUC ${last.prAuc} beside ROC AUC ${last.rocAuc}`);
  });

  it('an anomaly in the first window-1 rows is counted, not dropped: missed under last, covered by the first windows under any', async () => {
    const last = await evalJson('early-scores.csv', 'early-labels.csv', 'last');
    assert.equal(last.unscoredRows, W - 1);
    assert.equal(last.unscoredAnomalies, 1);
    assert.equal(last.fn, 1, 'the unscored anomaly is a false negative');
    assert.equal(last.recall, 0);
    const text = (await seismo(['eval', '--scores', join(dir, 'early-scores.csv'), '--labels', join(dir, 'early-labels.csv'), '--label-rule', 'last'])).stdout;
    assert.match(text, /15 labelled rows no score covers, 1 of them anomalous: counted as missed/);
    const any = await evalJson('early-scores.csv', 'early-labels.csv', 'any');
    assert.equal(any.unscoredRows, 0);
    assert.equal(any.tp + any.fn, 6, 'the windows that hold row 5');
  });

  it('a scores CSV without a start column covers its own row (or --window rows); unscored anomalies still count', async () => {
    // The user's own detector, per-row scores starting late: the first labelled anomaly has no score.
    const labels = ['timestamp,label', ...Array.from({ length: 30 }, (_, i) => `${stamp(i)},${i === 2 || i === 20 ? 1 : 0}`)];
    const scores = ['timestamp,score', ...Array.from({ length: 25 }, (_, k) => `${stamp(k + 5)},${k + 5 === 20 ? 0.9 : 0.1 + (k % 3) / 10}`)];
    writeFileSync(join(dir, 'own-labels.csv'), `${labels.join('\n')}\n`);
    writeFileSync(join(dir, 'own-scores.csv'), `${scores.join('\n')}\n`);
    const m = await evalJson('own-scores.csv', 'own-labels.csv', 'any');
    assert.equal(m.covers, 'window of 1 label row');
    assert.equal(m.unscoredRows, 5);
    assert.equal(m.unscoredAnomalies, 1);
    assert.equal(m.recall, 0.5, 'one anomaly found, the unscored one missed');
    const w = result((await seismo(['eval', '--scores', join(dir, 'own-scores.csv'), '--labels', join(dir, 'own-labels.csv'), '--window', '5', '--json'])).stdout).metrics;
    assert.equal(w.unscoredRows, 1, '--window 5: the first score covers rows 1..5');
    assert.equal(w.unscoredAnomalies, 0);
    await assert.rejects(runCli(all, ['eval', '--scores', join(dir, 'own-scores.csv'), '--labels', join(dir, 'own-labels.csv'), '--label-rule', 'first']).then((r) => {
      if (r.code !== 0) throw new Error(r.stderr);
    }), /--label-rule must be any or last/);
  });
});
