import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EnsembleScorer } from '../../src/score/ensemble';

const ROOT = path.resolve(__dirname, '..', '..');

interface Run {
  stdout: string;
  stderr: string;
  status: number;
}

/** Starts `seismo <args>` from the TypeScript sources in a child process; `input` goes to its standard input. */
function seismo(args: string[], input?: string, whileRunning?: () => Promise<void>): Promise<Run> {
  const code = `require('tsx/cjs'); require(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))}).main(['node', 'seismo', ...process.argv.slice(1)]);`;
  const child = spawn(process.execPath, ['-e', code, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  if (input !== undefined) child.stdin.end(input);
  const done = new Promise<Run>((resolve) => child.on('close', (status) => resolve({ stdout, stderr, status: status ?? -1 })));
  return (async () => {
    await whileRunning?.();
    return done;
  })();
}

/** `timestamp,value` rows of a wave; row `missing` is empty, row `spike` jumps. */
function csvRows(from: number, to: number, missing = -1, spike = -1): string {
  const lines: string[] = [];
  for (let t = from; t < to; t++) {
    const v = Math.sin((2 * Math.PI * t) / 24) + 0.03 * Math.sin(t * 1.3) + (t === spike ? 30 : 0);
    lines.push(`${t},${t === missing ? '' : v.toFixed(5)}`);
  }
  return `${lines.join('\n')}\n`;
}

const TINY = ['detect', '--online', '--kind', 'deepant', '--window', '16', '--warmup', '64'];

describe('seismo detect --online', function () {
  this.timeout(180_000);
  let dir: string;
  let config: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-cli-'));
    config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ filters: [8, 8], hidden: 16 }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('scores standard input as it comes (--data -), holds a missing value, counts it, and writes every scored sample', async () => {
    const r = await seismo([...TINY, '--config', config, '--data', '-', '--out', '-'], `timestamp,value\n${csvRows(0, 400, 200, 300)}`);
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.trim().split('\n');
    assert.equal(rows[0], 'series,timestamp,score,normalized,anomaly,version');
    // 400 samples, 64 warm up: 336 scored, in order, series 'stdin'.
    assert.equal(rows.length - 1, 336);
    assert.deepEqual(rows.slice(1).map((l) => Number(l.split(',')[1])), Array.from({ length: 336 }, (_, i) => 64 + i));
    assert.ok(rows.slice(1).every((l) => l.startsWith('stdin,')));
    assert.match(r.stderr, /missing values: 1 held, 0 skipped/);
    assert.match(r.stderr, /alarm stdin 30\d/);
  });

  it('follows a growing file (--follow) and stops when it stops growing (--idle-exit)', async () => {
    const file = path.join(dir, 'grow.csv');
    fs.writeFileSync(file, `timestamp,value\n${csvRows(0, 150)}`);
    const out = path.join(dir, 'grow-scores.csv');
    const r = await seismo([...TINY, '--config', config, '--data', file, '--follow', '--idle-exit', '4', '--out', out, '--json'], undefined, async () => {
      // Appended while seismo runs, in two pieces, the first ending mid-line.
      await new Promise((res) => setTimeout(res, 1500));
      const more = csvRows(150, 300);
      fs.appendFileSync(file, more.slice(0, 1000));
      await new Promise((res) => setTimeout(res, 500));
      fs.appendFileSync(file, more.slice(1000));
    });
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout).result as { rows: number; stats: { scored: number; samples: number } };
    assert.equal(summary.rows, 300);
    assert.equal(summary.stats.samples, 300);
    assert.equal(summary.stats.scored, 300 - 64);
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows.length - 1, 236);
    assert.equal(rows.at(-1)!.split(',')[1], '299');
  });

  it('--scorer ensemble judges every sample with the ensemble (levels fixed on the warm-up), and --resume continues with it', async () => {
    const rows = csvRows(0, 400, -1, 300);
    const saved = path.join(dir, 'ensemble-saved');
    const first = await seismo([...TINY, '--config', config, '--scorer', 'ensemble', '--data', '-', '--out', '-', '--save', saved], `timestamp,value\n${rows}`);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stderr, /scorer ensemble/);
    assert.match(first.stderr, /alarm stdin 30[01] /);
    const more = csvRows(400, 520);
    const resumed = await seismo(['detect', '--online', '--resume', saved, '--data', '-', '--out', '-'], `timestamp,value\n${more}`);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /scorer ensemble/);

    // The same scorer run directly over the values as the engine holds them (float32): the
    // normalised column is its output at every judged sample, across the save and the resume.
    const direct = new EnsembleScorer(1, { deep: null, contexts: [{ warmup: 64 }] });
    const values = `${rows}${more}`.trim().split('\n').map((l) => Math.fround(Number(l.split(',')[1])));
    const expected = values.map((v) => Math.fround(direct.update([v])));
    const got = [...first.stdout.trim().split('\n').slice(1), ...resumed.stdout.trim().split('\n').slice(1)].map((l) => l.split(','));
    assert.equal(got.length, 520 - 64);
    let compared = 0;
    for (const [, t, , normalized] of got) {
      // The first `settle` (= warm-up) judged samples report 0 while the deep model settles.
      if (Number(t) < 128) continue;
      assert.equal(Number(normalized), expected[Number(t)], `row ${t}`);
      compared++;
    }
    assert.equal(compared, 520 - 128);
  });

  it('refuses what it cannot do with coded errors', async () => {
    const both = await seismo([...TINY, '--data', '-', '--out', '-', '--json'], 'timestamp,value\n');
    assert.equal(both.status, 1);
    assert.match(both.stderr, /ERR_INVALID_OPTION/);
    const strict = await seismo([...TINY, '--config', config, '--data', '-', '--missing', 'error'], `timestamp,value\n${csvRows(0, 100, 80)}`);
    assert.equal(strict.status, 1);
    assert.match(strict.stderr, /ERR_NON_FINITE/);
    for (const args of [['--scorer', 'gaussian'], ['--scorer-config', config], ['--scorer', 'ensemble', '--scorer-config', path.join(dir, 'missing.json')]]) {
      const bad = await seismo([...TINY, ...args, '--data', '-'], `timestamp,value\n${csvRows(0, 10)}`);
      assert.equal(bad.status, 1, args.join(' '));
      assert.match(bad.stderr, /ERR_INVALID_OPTION: --scorer/, args.join(' '));
    }
    const noModel = await seismo(['detect', '--data', '-'], '');
    assert.equal(noModel.status, 1);
    assert.match(noModel.stderr, /ERR_INVALID_OPTION: --model <dir> is required/);
  });
});
