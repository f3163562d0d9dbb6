// The model directory as one unit: what it refuses to load, and what a kill -9 of its writer leaves.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../src/detector/index.js';
import { isSeismoError, type SeismoErrorCode } from '../../src/errors.js';
import { writeSeriesCsv } from '../../src/ingest/csv.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { readCalibration, readModelDir, readWeights, type ScoreCalibration, type WeightTensor, writeModelDir } from '../../src/model/model-dir.js';
import { trainModel } from '../../training/index.js';
import { copyModelDir, tinyModel } from '../helpers/tiny-model.js';

const ROOT = path.resolve(__dirname, '../..');

const code = (expected: SeismoErrorCode) => (e: unknown) => isSeismoError(e, expected);

/** A model's files, to tell after a kill which model a directory holds. */
interface Snapshot {
  onnx: Uint8Array;
  threshold: number;
  weights: WeightTensor[];
  calibration: ScoreCalibration;
}

/** Edits model.json; the value `'@chain@'` becomes an any-of threshold chain nested 5000 deep. */
function editManifest(dir: string, edit: (m: Record<string, any>) => void): void {
  const file = path.join(dir, 'model.json');
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  edit(m);
  const depth = 5000;
  const chain = `${'{"value":1,"method":"any-of","params":{"steps":['.repeat(depth)}{"value":1,"method":"static","params":{}}${']}}'.repeat(depth)}`;
  fs.writeFileSync(file, JSON.stringify(m).replace('"@chain@"', chain));
}

/** Which of `models` the directory holds, checked file by file; throws when it mixes them. */
function whichModel(dir: string, models: Snapshot[]): number {
  const loaded = readModelDir(dir);
  const index = models.findIndex((m) => Buffer.compare(Buffer.from(m.onnx), Buffer.from(loaded.onnx)) === 0);
  assert.ok(index >= 0, 'model.onnx is none of the models written');
  const m = models[index]!;
  assert.equal(loaded.manifest.thresholds.global.value, m.threshold, 'model.json belongs to another model than model.onnx');
  assert.deepEqual(readCalibration(dir), m.calibration, 'calibration.json belongs to another model');
  const weights = readWeights(dir);
  assert.ok(weights, 'weights missing');
  assert.deepEqual(
    weights.map((w) => Array.from(w.data.subarray(0, 8))),
    m.weights.map((w) => Array.from(w.data.subarray(0, 8))),
    'weights belong to another model',
  );
  assert.deepEqual(loaded.calibration, m.calibration, 'the calibration read with the model is not its own');
  return index;
}

/** Hidden files that only a write in progress (or a killed one) leaves. */
function leftovers(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith('.'));
}

describe('model directory: one unit, checked at load', function () {
  this.timeout(300_000);
  let base: Awaited<ReturnType<typeof tinyModel>>;
  let other: { manifest: typeof base.manifest; onnx: Uint8Array; weights: WeightTensor[] };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-modeldir-'));

  before(async () => {
    base = await tinyModel();
    // The same kind, shape and data as the shared tiny model, another seed: only the weights differ.
    const data = generateSeries({ length: 600, channels: 3, seed: 11, periods: [48, 12], anomalies: [] });
    const r = await trainModel({ kind: 'lstm-ae', frames: data.table.frames, channels: data.table.channels, config: { window: 8, encoderUnits: [8], decoderUnits: [4], epochs: 1, batchSize: 32 }, stride: 2, seed: 4 });
    other = { manifest: r.manifest, onnx: r.onnx, weights: r.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: w.dataSync() as Float32Array })) };
    r.dispose();
  });

  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('refuses a model.onnx from another training of the same kind', async () => {
    const dir = copyModelDir(base.dir);
    fs.writeFileSync(path.join(dir, 'model.onnx'), other.onnx);
    assert.throws(() => readModelDir(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_MISMATCH') && /SHA-256/.test((e as Error).message));
    await assert.rejects(Detector.load(dir), code('ERR_MODEL_MISMATCH'));
  });

  it('refuses a model.onnx with flipped bytes, wherever they are', () => {
    const bytes = fs.readFileSync(path.join(base.dir, 'model.onnx'));
    const dir = copyModelDir(base.dir);
    // 40 positions over the whole file: headers, graph, and the float weights the graph still parses with.
    for (let k = 0; k < 40; k++) {
      const at = Math.floor(((k + 0.5) / 40) * bytes.length);
      const flipped = Buffer.from(bytes);
      flipped[at] = flipped[at]! ^ 0x10;
      fs.writeFileSync(path.join(dir, 'model.onnx'), flipped);
      assert.throws(() => readModelDir(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_MISMATCH') || isSeismoError(e, 'ERR_MODEL_CORRUPT'), `byte ${at} of ${bytes.length}`);
    }
  });

  it('keeps the files of a model inside its directory', () => {
    for (const file of ['../../dev/zero', '/dev/zero', '..', 'sub/model.onnx']) {
      const dir = copyModelDir(base.dir);
      editManifest(dir, (m) => (m.onnx.file = file));
      assert.throws(() => readModelDir(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /onnx\.file/.test((e as Error).message), file);
    }
    // A link named model.onnx that leads out of the directory.
    const dir = copyModelDir(base.dir);
    fs.rmSync(path.join(dir, 'model.onnx'));
    fs.symlinkSync('/dev/zero', path.join(dir, 'model.onnx'));
    assert.throws(() => readModelDir(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /outside the model directory/.test((e as Error).message));
  });

  it('refuses a directory as model.onnx, an unbounded stride or window, a scaler of the wrong length, a threshold chain 5000 deep', async () => {
    const asDir = copyModelDir(base.dir);
    fs.rmSync(path.join(asDir, 'model.onnx'));
    fs.mkdirSync(path.join(asDir, 'model.onnx'));
    assert.throws(() => readModelDir(asDir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /is a directory/.test((e as Error).message));
    await assert.rejects(Detector.load(asDir), code('ERR_MODEL_CORRUPT'));

    const cases: [string, (m: Record<string, any>) => void, RegExp][] = [
      ['stride 1e6', (m) => (m.stride = 1e6), /stride/],
      ['window 1e6', (m) => (m.window = 1e6), /window/],
      ['scaler of 2 channels for 3', (m) => ((m.scaler.mean = m.scaler.mean.slice(0, 2)), (m.scaler.std = m.scaler.std.slice(0, 2))), /scaler/],
      // As text: JSON.stringify itself overflows the stack on 15000 levels.
      ['threshold chain 5000 deep', (m) => (m.thresholds.global = '@chain@'), /thresholds/],
    ];
    for (const [what, edit, message] of cases) {
      const dir = copyModelDir(base.dir);
      editManifest(dir, edit);
      assert.throws(() => readModelDir(dir), (e: unknown) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && message.test((e as Error).message), what);
      await assert.rejects(Detector.load(dir), code('ERR_MODEL_CORRUPT'), what);
    }
  });

  it('writes a model over another as a unit: the old one\'s weights and calibration do not stay beside the new graph', () => {
    const dir = path.join(tmp, 'unit');
    const m = readModelDir(base.dir);
    writeModelDir(dir, m.manifest, m.onnx, { weights: other.weights, calibration: { center: 1, scale: 1, windows: 3, on: 'a' } });
    assert.ok(readWeights(dir));
    writeModelDir(dir, other.manifest, other.onnx);
    assert.equal(readWeights(dir), undefined);
    assert.equal(readCalibration(dir), undefined);
    assert.deepEqual(Buffer.from(readModelDir(dir).onnx), Buffer.from(other.onnx));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['model.json', 'model.onnx']);
    // Files that are not a model's stay.
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    writeModelDir(dir, m.manifest, m.onnx);
    assert.equal(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
  });

  it('deletes at the next write the temp files of a killed writer, and finishes a committed write it left', () => {
    const dir = path.join(tmp, 'leftovers');
    const m = readModelDir(base.dir);
    writeModelDir(dir, m.manifest, m.onnx);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    for (const name of [`.model.onnx.${dead}-00ff.staged`, `.model.json.${dead}.tmp`, `.seismo-commit.${dead}-00ff.tmp`]) fs.writeFileSync(path.join(dir, name), 'x');
    // A write that was committed (its record renamed into place) and killed before it was applied.
    fs.writeFileSync(path.join(dir, `.model.onnx.${dead}-0a.staged`), other.onnx);
    const manifestText = `${JSON.stringify({ ...other.manifest, files: { 'model.onnx': createHash('sha256').update(other.onnx).digest('hex') } })}\n`;
    fs.writeFileSync(path.join(dir, `.model.json.${dead}-0a.staged`), manifestText);
    fs.writeFileSync(path.join(dir, '.seismo-commit.json'), JSON.stringify({ format: 1, put: { 'model.onnx': `.model.onnx.${dead}-0a.staged`, 'model.json': `.model.json.${dead}-0a.staged` }, remove: [] }));
    // Readers already see the committed model, without changing the directory.
    assert.deepEqual(Buffer.from(readModelDir(dir).onnx), Buffer.from(other.onnx));
    assert.equal(leftovers(dir).length, 6);
    writeModelDir(dir, m.manifest, m.onnx);
    assert.deepEqual(leftovers(dir), []);
    assert.deepEqual(Buffer.from(readModelDir(dir).onnx), Buffer.from(m.onnx));
  });

  describe('kill -9 of a writer', () => {
    let models: Snapshot[];
    let sources: string[];

    before(() => {
      const m = readModelDir(base.dir);
      const baseWeights = other.weights.map((w) => ({ shape: w.shape, data: w.data.map((v) => v * 0.5) }));
      models = [
        { onnx: m.onnx, threshold: m.manifest.thresholds.global.value, weights: baseWeights, calibration: { center: -1, scale: 0.5, windows: 10, on: 'a' } },
        { onnx: other.onnx, threshold: other.manifest.thresholds.global.value, weights: other.weights, calibration: { center: 2, scale: 0.25, windows: 20, on: 'b' } },
      ];
      assert.notEqual(models[0]!.threshold, models[1]!.threshold);
      sources = [m.manifest, other.manifest].map((manifest, i) => {
        const dir = path.join(tmp, `source-${i}`);
        writeModelDir(dir, manifest, models[i]!.onnx, { weights: models[i]!.weights, calibration: models[i]!.calibration });
        return dir;
      });
    });

    it('at random points of writes in a loop leaves the old model or the new one, never a mix', async () => {
      const target = path.join(tmp, 'loop');
      writeModelDir(target, readModelDir(sources[0]!).manifest, models[0]!.onnx, { weights: models[0]!.weights, calibration: models[0]!.calibration });
      const script = `
        require('tsx/cjs');
        const md = require(${JSON.stringify(path.join(ROOT, 'src/model/model-dir.ts'))});
        const sources = ${JSON.stringify(sources)}.map((d) => { const m = md.readModelDir(d); return [m.manifest, m.onnx, { weights: md.readWeights(d), calibration: m.calibration }]; });
        process.stdout.write('ready\\n');
        for (let i = 0; ; i++) md.writeModelDir(${JSON.stringify(target)}, ...sources[i % 2]);
      `;
      let midWrite = 0;
      for (let round = 0; round < 12; round++) {
        const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
        await untilReady(child);
        await sleep(Math.random() * 60);
        await killed(child);
        if (leftovers(target).length > 0) midWrite++;
        whichModel(target, models);
      }
      // The writer spends nearly all its time inside a write: the kills must have caught some there.
      assert.ok(midWrite >= 1, `no kill landed inside a write (${midWrite} of 12)`);
      writeModelDir(target, readModelDir(sources[1]!).manifest, models[1]!.onnx, { weights: models[1]!.weights, calibration: models[1]!.calibration });
      assert.deepEqual(leftovers(target), [], 'a write cleans up what killed writers left');
    });

    it('of `seismo train` over an existing model, during its write or at a random point, leaves the old model or the new one', async () => {
      const data = generateSeries({ length: 600, channels: 3, seed: 11, periods: [48, 12], anomalies: [] });
      const csv = path.join(tmp, 'train.csv');
      await writeSeriesCsv(csv, data.table);
      const config = path.join(tmp, 'config.json');
      fs.writeFileSync(config, JSON.stringify({ window: 8, encoderUnits: [8], decoderUnits: [4], batchSize: 32 }));
      const target = path.join(tmp, 'trained');
      // Round 0: kill at a random point of the whole run; then kill when the run starts writing the
      // directory (the first file event), after a random delay of up to 40 ms.
      const outcomes: string[] = [];
      for (let round = 0; round < 4; round++) {
        writeModelDir(target, readModelDir(sources[round % 2]!).manifest, models[round % 2]!.onnx, { weights: models[round % 2]!.weights, calibration: models[round % 2]!.calibration });
        const code = `require('tsx/cjs'); require(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))}).main(['node', 'seismo', ...process.argv.slice(1)]);`;
        const child = spawn(process.execPath, ['-e', code, 'train', '--kind', 'lstm-ae', '--data', csv, '--config', config, '--epochs', '2', '--seed', String(10 + round), '--out', target, '--json'], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (round === 0) {
          await Promise.race([sleep(500 + Math.random() * 3000), exited]);
        } else {
          const watcher = fs.watch(target);
          await Promise.race([new Promise((resolve) => watcher.once('change', resolve)), exited]);
          watcher.close();
          await sleep(Math.random() * 40);
        }
        await killed(child);
        const loaded = readModelDir(target);
        const index = models.findIndex((m) => Buffer.compare(Buffer.from(m.onnx), Buffer.from(loaded.onnx)) === 0);
        if (index === round % 2) {
          assert.equal(whichModel(target, models), round % 2);
          outcomes.push('old');
        } else {
          // The new model: a complete one, all of whose files agree (the checksums held at load).
          assert.equal(index, -1, 'the other old model came back');
          assert.equal(loaded.manifest.training.seed, 10 + round);
          assert.ok(readWeights(target));
          assert.ok(readCalibration(target));
          outcomes.push('new');
        }
        const detector = await Detector.load(target, { provider: 'cpu' });
        await detector.close();
      }
      assert.equal(outcomes.length, 4);
    });

    it('of `seismo calibrate` at a random point leaves the model loadable, with its old thresholds or the new ones', async () => {
      const val = generateSeries({ length: 1200, channels: 3, seed: 12, periods: [48, 12], normalPrefix: 0.2 });
      const csv = path.join(tmp, 'val.csv');
      await writeSeriesCsv(csv, val.table);
      const labels = path.join(tmp, 'val-labels.csv');
      fs.writeFileSync(labels, `timestamp,label\n${Array.from(val.table.timestamps, (t, i) => `${t},${val.labels[i]}`).join('\n')}\n`);
      const target = path.join(tmp, 'calibrated');
      const thresholds = new Set<number>();
      for (let round = 0; round < 4; round++) {
        writeModelDir(target, readModelDir(sources[0]!).manifest, models[0]!.onnx, { weights: models[0]!.weights, calibration: models[0]!.calibration });
        const code = `require('tsx/cjs'); require(${JSON.stringify(path.join(ROOT, 'src/cli/main.ts'))}).main(['node', 'seismo', ...process.argv.slice(1)]);`;
        const child = spawn(process.execPath, ['-e', code, 'calibrate', '--model', target, '--data', csv, '--labels', labels, '--provider', 'cpu', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (round % 2 === 0) {
          await Promise.race([sleep(300 + Math.random() * 2500), exited]);
        } else {
          // Kill while it writes: at the first file event in the folder, after up to 20 ms.
          const watcher = fs.watch(target);
          await Promise.race([new Promise((resolve) => watcher.once('change', resolve)), exited]);
          watcher.close();
          await sleep(Math.random() * 20);
        }
        await killed(child);
        // The checksums hold (readModelDir checks them); graph, weights and calibration are the model's own.
        const loaded = readModelDir(target);
        assert.equal(Buffer.compare(Buffer.from(loaded.onnx), Buffer.from(models[0]!.onnx)), 0, 'model.onnx changed');
        assert.deepEqual(readCalibration(target), models[0]!.calibration);
        assert.deepEqual(readWeights(target)!.map((w) => Array.from(w.data.subarray(0, 8))), models[0]!.weights.map((w) => Array.from(w.data.subarray(0, 8))));
        thresholds.add(loaded.manifest.thresholds.global.value);
        const detector = await Detector.load(target, { provider: 'cpu' });
        await detector.close();
      }
      assert.ok(thresholds.size >= 1);
    });
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function untilReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (status) => reject(new Error(`writer exited early (${status})`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
