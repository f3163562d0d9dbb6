// The programs in examples/ run as written. Each is started as a user would start it (`tsx`), and
// imports 'seismo' by its package name: the package's self-reference resolves that to the built
// package (`npm run build`), as an installed dependency would.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSeriesCsv } from '../../src/ingest/csv.js';
import { generateSeries, type SyntheticSeries } from '../../src/ingest/synthetic.js';
import { trainToDir } from '../../training/train-to-dir.js';

const ROOT = path.resolve(__dirname, '..', '..');
const W = 8;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tsx examples/<name> ...args`; `answer` (if given) sees stdout as it grows and returns
 * what to type next, or undefined to wait for more.
 */
function runExample(name: string, args: string[], answer?: (stdout: string) => string | undefined): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join('examples', name), ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let consumed = 0;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const typed = answer?.(stdout.slice(consumed));
      if (typed !== undefined) {
        consumed = stdout.length;
        child.stdin.write(`${typed}\n`);
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (!answer) child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples/', function () {
  // Trains a small LSTM autoencoder once (seconds), then runs each program in its own process.
  this.timeout(240_000);
  let dir = '';
  let model = '';
  let data: SyntheticSeries;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-examples-'));
    data = generateSeries({ length: 1400, channels: 3, seed: 5, periods: [48, 12], normalPrefix: 0.5 });
    const half = 700 * 3;
    model = path.join(dir, 'model');
    await trainToDir('lstm-ae', data.table.frames.subarray(0, half), data.table.channels, model, {
      config: { window: W, encoderUnits: [16], decoderUnits: [8], epochs: 6, learningRate: 3e-3 },
      seed: 3,
    });
    await writeSeriesCsv(path.join(dir, 'series.csv'), data.table);
    fs.writeFileSync(path.join(dir, 'labels.csv'), `timestamp,label\n${data.table.timestamps.map((t, i) => `${t},${data.labels[i]}`).join('\n')}\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('embed-service.mts: a service that writes POSTed batches into the detector scores every window', async () => {
    const r = await runExample('embed-service.mts', [model, path.join(dir, 'series.csv')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /listening on http:\/\/127\.0\.0\.1:\d+/);
    const m = /scored (\d+) windows of 1400 samples; (\d+) anomalous/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.equal(Number(m[1]), 1400 - W + 1);
    assert.ok(Number(m[2]) > 0, 'the planted anomalies raise alarms');
    assert.match(r.stdout, /anomaly: replay at \d+, score \d/);
  });

  it('online-learning.mts: a (simulated) person answers its questions on stdin and the learner updates the model', async () => {
    const rowOf = new Map(Array.from(data.table.time, (t, r) => [t, r]));
    let asked = 0;
    let yes = 0;
    const work = path.join(dir, 'learn');
    const r = await runExample('online-learning.mts', [model, path.join(dir, 'series.csv'), work], (out) => {
      const q = /window ending at (\d+) \(score [^)]*\): anomaly\? \[y\/n/.exec(out);
      if (!q) return undefined;
      asked++;
      // The person looks at the window: anomalous when any of its rows is (the `any` rule).
      const end = rowOf.get(Number(q[1]))!;
      const anomalous = data.labels.subarray(Math.max(0, end - W + 1), end + 1).some((y) => y === 1);
      if (anomalous) yes++;
      return anomalous ? 'y' : 'n';
    });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(asked >= 8, `asked ${asked} questions`);
    const done = /(\d+) answers; (\d+) updates; scoring with (v\d+)/.exec(r.stdout);
    assert.ok(done, r.stdout);
    assert.equal(Number(done[1]), asked);
    assert.ok(Number(done[2]) >= 1, `the answers (${yes} anomalous) led to an update:\n${r.stdout}`);
    assert.ok(fs.existsSync(path.join(work, 'labels.wal')) || fs.readdirSync(work).length > 0);
  });

  it('evaluate-labelled.mts: scores the labelled file and prints metrics under the label rule', async () => {
    const r = await runExample('evaluate-labelled.mts', [model, path.join(dir, 'series.csv'), path.join(dir, 'labels.csv')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`${1400 - W + 1} windows of ${W} rows`));
    const m = /ROC AUC (\d\.\d+)\s+PR AUC (\d\.\d+)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    assert.ok(Number(m[1]) > 0.7, `ROC AUC ${m[1]}`);
    assert.match(r.stdout, /precision \d\.\d{3}\s+recall \d\.\d{3}\s+F1/);
  });
});
