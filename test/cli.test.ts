// The CLI as a user runs it: separate processes, files in and out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { rocAuc, windowLabels } from '../src/evaluate/index.js';
import { readSeriesCsv, writeSeriesCsv, type SeriesTable } from '../src/ingest/csv.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readCalibration, readWeights } from '../src/model/model-dir.js';

const ROOT = path.resolve(__dirname, '..');

/** Runs `seismo <args>` from the TypeScript sources in a child process. */
function seismo(args: string[]): { stdout: string; stderr: string; status: number } {
  const code = `require('tsx/cjs'); require(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))}).main(['node', 'seismo', ...process.argv.slice(1)]);`;
  // `--`: the arguments are seismo's, even those node also knows (--verbose).
  const r = spawnSync(process.execPath, ['-e', code, '--', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status ?? -1 };
}

function slice(table: SeriesTable, from: number, to: number): SeriesTable {
  const C = table.channels.length;
  return { timestamps: table.timestamps.slice(from, to), time: table.time.slice(from, to), channels: table.channels, frames: table.frames.slice(from * C, to * C), length: to - from };
}

describe('cli: train, detect, eval', function () {
  this.timeout(300_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-cli-'));
  const modelDir = path.join(dir, 'model');
  // One series: train on its clean first half, detect on the second half (unseen, with planted anomalies).
  const series = generateSeries({ length: 2400, channels: 4, seed: 21, periods: [96, 24], normalPrefix: 0.5 });
  const W = 16;

  before(async () => {
    await writeSeriesCsv(path.join(dir, 'train.csv'), slice(series.table, 0, 1200));
    await writeSeriesCsv(path.join(dir, 'test.csv'), slice(series.table, 1200, 2400));
    const labels = ['timestamp,label', ...series.table.timestamps.slice(1200).map((t, i) => `${t},${series.labels[1200 + i]}`)];
    fs.writeFileSync(path.join(dir, 'labels.csv'), `${labels.join('\n')}\n`);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ window: W, encoderUnits: [16], decoderUnits: [8], epochs: 12, learningRate: 0.003 }));
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('train writes a model directory and a JSON summary', () => {
    const r = seismo(['train', '--kind', 'lstm-ae', '--data', path.join(dir, 'train.csv'), '--config', path.join(dir, 'config.json'), '--stride', '2', '--out', modelDir, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout).result;
    assert.equal(summary.kind, 'lstm-ae');
    assert.equal(summary.window, W);
    assert.ok(summary.epochs >= 1 && Number.isFinite(summary.finalValLoss));
    assert.match(r.stderr, /tfjs backend '(wasm|cpu|tensorflow)'/);
    const manifest = JSON.parse(fs.readFileSync(path.join(modelDir, 'model.json'), 'utf8'));
    assert.deepEqual(manifest.channels, series.table.channels);
    assert.ok(fs.statSync(path.join(modelDir, 'model.onnx')).size > 1000);
    // Beside the graph: the weights an online learner continues from, and the score calibration on the validation windows.
    assert.ok(readWeights(modelDir)!.length > 0);
    const calibration = readCalibration(modelDir)!;
    assert.match(calibration.on, /validation windows/);
    assert.ok(calibration.scale > 0 && Number.isFinite(calibration.center));
  });

  it('detect --out writes one row per window and separates the planted anomalies of an unseen series', async () => {
    const out = path.join(dir, 'scores.csv');
    const r = seismo(['detect', '--model', modelDir, '--data', path.join(dir, 'test.csv'), '--out', out, '--provider', 'auto', '--stride', '1', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout).result;
    assert.equal(summary.provider.provider, 'cpu');
    assert.equal(summary.windows, 1200 - W + 1);
    assert.equal(summary.events.length, Math.min(summary.anomalies, 100));
    const header = fs.readFileSync(out, 'utf8').split('\n')[0]!;
    assert.equal(header, ['timestamp', 'score', 'threshold', 'anomaly', ...series.table.channels.map((c) => `score_${c}`), ...series.table.channels.map((c) => `attr_${c}`), 'window'].join(','));
    // The scores file reads back in the DC-VAE convention: first timestamp is the first window's last frame.
    const scores = await readSeriesCsv(out);
    assert.equal(scores.length, 1200 - W + 1);
    assert.equal(scores.timestamps[0], series.table.timestamps[1200 + W - 1]);
    const score = Float64Array.from({ length: scores.length }, (_, i) => scores.frames[i * scores.channels.length]!);
    const labels = series.labels.subarray(1200 + W - 1);
    const auc = rocAuc(labels, score);
    assert.ok(auc > 0.75, `ROC AUC of the score column against point labels: ${auc}`);

    const e = seismo(['eval', '--scores', out, '--labels', path.join(dir, 'labels.csv'), '--json']);
    assert.equal(e.status, 0, e.stderr);
    // eval judges each window by the label rule (default any: a window holding a labelled row is anomalous).
    const windowY = windowLabels(series.labels.subarray(1200), Int32Array.from({ length: scores.length }, (_, i) => i + W - 1), W).labels;
    const evaluated = JSON.parse(e.stdout);
    assert.ok(Math.abs((evaluated.result ?? evaluated).metrics.rocAuc - rocAuc(windowY, score)) < 1e-6);
  });

  it('learn streams the unseen half with a simulated expert, writing versions a later detect loads; without labels it leaves the questions to `seismo label`', () => {
    const work = path.join(dir, 'learn');
    const out = path.join(dir, 'learn-scores.csv');
    fs.writeFileSync(path.join(dir, 'learner.json'), JSON.stringify({ normalBuffer: 8, anomalyBuffer: 4, uncertainBand: 2, fineTune: { epochs: 4 } }));
    const args = ['--model', modelDir, '--data', path.join(dir, 'test.csv'), '--anchor', path.join(dir, 'train.csv'), '--options', path.join(dir, 'learner.json'), '--budget', '16', '--period', '128', '--delay', '16'];
    const r = seismo(['learn', ...args, '--labels', path.join(dir, 'labels.csv'), '--work', work, '--out', out, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const s = JSON.parse(r.stdout).result;
    assert.ok(s.updates >= 1 && s.labels > 0 && s.labels <= s.asked, JSON.stringify({ updates: s.updates, labels: s.labels, asked: s.asked, history: s.history.map((h: { reason?: string }) => h.reason) }));
    assert.equal(s.windows, Math.floor((1200 - W) / 2) + 1);
    assert.ok(s.figures.rocAuc > 0.75, `online ROC AUC ${s.figures.rocAuc}`);
    assert.match(r.stderr, /finetune \(.*\) at window \d+: v0000 -> v0001/);
    // The live version is a whole model directory, weights included: detect (and a later learn) can start from it.
    assert.ok(fs.existsSync(path.join(s.liveModel, 'weights.json')) && s.liveModel.startsWith(work));
    const rows = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(rows[0], 'timestamp,score,normalized,anomaly,version');
    assert.equal(rows.length - 1, s.windows);
    assert.ok(new Set(rows.slice(1).map((l) => l.split(',')[4])).size >= 2, 'windows scored by more than one version');
    const d = seismo(['detect', '--model', s.liveModel, '--data', path.join(dir, 'test.csv'), '--json']);
    assert.equal(d.status, 0, d.stderr);

    const human = path.join(dir, 'learn-human');
    const h = seismo(['learn', ...args, '--work', human, '--json']);
    assert.equal(h.status, 0, h.stderr);
    const hs = JSON.parse(h.stdout).result;
    assert.ok(hs.pending > 0 && hs.labels === 0 && hs.updates === 0, JSON.stringify({ pending: hs.pending, labels: hs.labels }));
    const q = seismo(['label', '--dir', human, '--json']);
    const pending = JSON.parse(q.stdout).result.pending as { key: string; ref: { start: number } }[];
    assert.equal(pending.length, hs.pending);
    // The person answers after the run; the next run on the same folder (the next file of the stream) takes the answers up.
    const truth = (start: number): boolean => series.labels[1200 + start + W - 1] === 1;
    const normal = pending.filter((p) => !truth(p.ref.start)).map((p) => p.key);
    const anomalous = pending.filter((p) => truth(p.ref.start)).map((p) => p.key);
    const answer = seismo(['label', '--dir', human, ...(normal.length ? ['--normal', normal.join(',')] : []), ...(anomalous.length ? ['--anomaly', anomalous.join(',')] : []), '--json']);
    assert.equal(answer.status, 0, answer.stderr);
    const again = seismo(['learn', ...args, '--work', human, '--json']);
    assert.equal(again.status, 0, again.stderr);
    const as = JSON.parse(again.stdout).result;
    assert.equal(as.labels, pending.length, 'every answer given between the runs was applied');
    assert.equal(as.unknownLabels, 0);
    assert.equal(fs.readdirSync(path.join(human, 'questions')).length, as.pending, 'one frames file per question still pending');

    // A training config is not a learner's options: refused by name, as is what the command sets itself.
    fs.writeFileSync(path.join(dir, 'bad-learner.json'), JSON.stringify({ workDir: '/elsewhere' }));
    for (const [file, message] of [['config.json', /unknown OnlineLearner option 'window'/], ['bad-learner.json', /'workDir' is set by the command/]] as const) {
      const refused = seismo(['learn', ...args.slice(0, 4), '--work', human, '--options', path.join(dir, file), '--json']);
      assert.equal(refused.status, 1);
      const error = JSON.parse(refused.stdout).error;
      assert.equal(error.code, 'ERR_INVALID_OPTION');
      assert.match(error.message, message);
    }
  });

  it('fails with typed errors and exit code 1', () => {
    const cuda = seismo(['detect', '--model', modelDir, '--data', path.join(dir, 'test.csv'), '--provider', 'cuda', '--json']);
    assert.equal(cuda.status, 1);
    assert.equal(JSON.parse(cuda.stdout).error.code, 'ERR_PROVIDER_UNAVAILABLE');
    assert.match(cuda.stderr, /ONNXRUNTIME_NODE_INSTALL=cuda12/);

    const wrong = path.join(dir, 'wrong.csv');
    fs.writeFileSync(wrong, 'timestamp,a,b\n1,1,2\n2,3,4\n');
    const shape = seismo(['detect', '--model', modelDir, '--data', wrong, '--json']);
    assert.equal(shape.status, 1);
    assert.equal(JSON.parse(shape.stdout).error.code, 'ERR_BAD_SHAPE');

    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, 'timestamp,a\n1,1\n2,abc\n');
    const parse = seismo(['train', '--kind', 'lstm-ae', '--data', bad, '--out', path.join(dir, 'never'), '--json']);
    assert.equal(parse.status, 1);
    assert.equal(JSON.parse(parse.stdout).error.code, 'ERR_CSV_PARSE');
    assert.match(parse.stderr, /line 3/);
    assert.ok(!fs.existsSync(path.join(dir, 'never')));

    const kind = seismo(['train', '--kind', 'transformer', '--data', path.join(dir, 'train.csv'), '--out', path.join(dir, 'never'), '--json']);
    assert.equal(kind.status, 1);
    assert.equal(JSON.parse(kind.stdout).error.code, 'ERR_TRAINING');
  });

  it('prints one --json envelope for every command, failures and usage errors included (exit 0, 1, 2)', () => {
    const ok = seismo(['eval', '--scores', path.join(dir, 'scores.csv'), '--labels', path.join(dir, 'labels.csv'), '--json']);
    assert.equal(ok.status, 0, ok.stderr);
    const done = JSON.parse(ok.stdout);
    assert.deepEqual(Object.keys(done), ['ok', 'command', 'result']);
    assert.equal(done.ok, true);
    assert.equal(done.command, 'eval');

    const failed = seismo(['eval', '--scores', path.join(dir, 'none.csv'), '--labels', path.join(dir, 'labels.csv'), '--json']);
    assert.equal(failed.status, 1);
    const f = JSON.parse(failed.stdout);
    assert.deepEqual({ ok: f.ok, command: f.command, code: f.error.code }, { ok: false, command: 'eval', code: 'ERR_IO' });
    assert.match(f.error.message, /none\.csv/);

    // Usage errors: commander's message on stderr as before, the envelope on stdout, exit code 2.
    const unknown = seismo(['eval', 'nab', '--nab', dir, '--detector', 'toy', '--no-such-flag', '--json']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown option '--no-such-flag'/);
    const u = JSON.parse(unknown.stdout);
    assert.deepEqual(u, { ok: false, command: 'eval nab', error: { code: 'ERR_USAGE', message: "unknown option '--no-such-flag'", hint: 'see `seismo eval nab --help`' } });
    const missing = seismo(['calibrate', '--json']);
    assert.equal(missing.status, 2);
    assert.equal(JSON.parse(missing.stdout).error.code, 'ERR_USAGE');
    assert.match(JSON.parse(missing.stdout).error.message, /required option/);
    const nothing = seismo(['no-such-command', '--json']);
    assert.equal(nothing.status, 2);
    assert.equal(JSON.parse(nothing.stdout).error.code, 'ERR_USAGE');
    // Without --json stdout stays empty; the exit code is the same.
    const plain = seismo(['eval', '--no-such-flag']);
    assert.equal(plain.status, 2);
    assert.equal(plain.stdout, '');
  });

  it('detect --runtime onnxruntime scores on onnxruntime with the same scores; an unknown runtime is refused', () => {
    const scores = (runtime: string): string => {
      const out = path.join(dir, `scores-${runtime}.csv`);
      const r = seismo(['detect', '--model', modelDir, '--data', path.join(dir, 'test.csv'), '--provider', 'cpu', '--runtime', runtime, '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, runtime === 'onnxruntime' ? /scoring on onnxruntime 'cpu'\n/ : /scoring on (the addon's native LSTM-AE scorer \((avx512|avx2)\)|onnxruntime 'cpu')\n/);
      return fs.readFileSync(out, 'utf8');
    };
    const onnx = scores('onnxruntime').trim().split('\n');
    const auto = scores('auto').trim().split('\n');
    assert.equal(auto.length, onnx.length);
    assert.equal(auto[0], onnx[0], 'the same columns');
    // Scores within the native scorer's bar (1e-5 relative to max(1, |x|)); timestamps equal.
    for (let i = 1; i < onnx.length; i++) {
      const [ta, ...a] = auto[i]!.split(',');
      const [to, ...o] = onnx[i]!.split(',');
      assert.equal(ta, to);
      a.forEach((v, j) => {
        const x = Number(v), y = Number(o[j]);
        if (Number.isFinite(y)) assert.ok(Math.abs(x - y) <= 1e-5 * Math.max(1, Math.abs(y)), `row ${i} column ${j + 1}: ${v} vs ${o[j]}`);
        else assert.equal(v, o[j]);
      });
    }
    const refused = seismo(['detect', '--model', modelDir, '--data', path.join(dir, 'test.csv'), '--runtime', 'tensorflow', '--json']);
    assert.equal(refused.status, 1);
    const error = JSON.parse(refused.stdout).error;
    assert.equal(error.code, 'ERR_INVALID_OPTION');
    assert.match(error.message, /--runtime must be one of auto, onnxruntime, got 'tensorflow'/);
  });

  it('is quiet about skipped providers unless --verbose', () => {
    const quiet = seismo(['detect', '--model', modelDir, '--data', path.join(dir, 'test.csv'), '--provider', 'auto']);
    assert.equal(quiet.status, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /not used/);
    // An LSTM-AE: its windows go through the addon's scorer where the CPU has AVX2 (else onnxruntime on the CPU provider).
    assert.match(quiet.stderr, /scoring on (the addon's native LSTM-AE scorer \((avx512|avx2)\)|onnxruntime 'cpu')\n/);
    // The global flag, before the command or after it.
    for (const args of [['--verbose', 'detect'], ['detect', '--verbose']]) {
      const verbose = seismo([...args, '--model', modelDir, '--data', path.join(dir, 'test.csv'), '--provider', 'auto']);
      assert.equal(verbose.status, 0, verbose.stderr);
      assert.match(verbose.stderr, /provider cuda not used: /);
    }
  });
});

describe('package entry points', () => {
  it('imports as CommonJS and as ESM, and the bin answers', function () {
    this.timeout(60_000);
    if (!fs.existsSync(path.join(ROOT, 'dist/src/index.mjs'))) {
      assert.fail('dist/ is missing: `npm ci` (or `npm run build`) compiles it');
    }
    const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "import { Detector } from 'seismo'; import { evaluate } from 'seismo/evaluate'; import { trainModel } from 'seismo/training'; console.log(typeof Detector, typeof evaluate, typeof trainModel)"], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(esm.stdout.trim(), 'function function function', esm.stderr);
    const cjs = spawnSync(process.execPath, ['-e', "const s = require('seismo'); console.log(typeof s.Detector, typeof s.FrameRings)"], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(cjs.stdout.trim(), 'function function', cjs.stderr);
    const bin = spawnSync(process.execPath, [path.join(ROOT, 'bin/seismo.js'), '--version'], { encoding: 'utf8' });
    assert.equal(bin.stdout.trim(), JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });
});
