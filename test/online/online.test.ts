import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OnlineDetector, type OnlineBatch, type OnlineDetectorOptions, type OnlineUpdate } from '../../src/online/index.js';
import { isSeismoError } from '../../src/errors.js';
import { OnlineLearner } from '../../src/learn/online.js';

/** A small DeepAnT: fast to fit on two cores. */
const TINY: Pick<OnlineDetectorOptions, 'kind' | 'window' | 'config'> = { kind: 'deepant', window: 16, config: { filters: [8, 8], hidden: 16 } };

interface Collected {
  scores: Map<string, { t: number; score: number; normalized: number; version: number; alarm: boolean }[]>;
  updates: OnlineUpdate[];
}

function collect(d: OnlineDetector): Collected {
  const c: Collected = { scores: new Map(), updates: [] };
  d.on('batch', (b: OnlineBatch) => {
    for (let i = 0; i < b.size; i++) {
      const list = c.scores.get(b.seriesIds[i]!) ?? [];
      list.push({ t: b.timestamps[i]!, score: b.scores[i]!, normalized: b.normalized[i]!, version: b.version, alarm: b.anomalies[i] === 1 });
      c.scores.set(b.seriesIds[i]!, list);
    }
  });
  d.on('update', (u) => c.updates.push(u));
  return c;
}

/** A periodic signal with small noise (seeded). */
function wave(n: number, from = 0, shape: (t: number) => number = (t) => Math.sin((2 * Math.PI * t) / 24)): Float32Array {
  let seed = 12345 + from;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  return Float32Array.from({ length: n }, (_, i) => shape(from + i) + 0.05 * rand());
}

async function feed(d: OnlineDetector, id: string, values: Float32Array, t0 = 0): Promise<void> {
  const times = Float64Array.from({ length: values.length }, (_, i) => t0 + i);
  await d.write(id, times, values);
}

describe('online mode', function () {
  this.timeout(180_000);
  const open: OnlineDetector[] = [];
  const make = async (o: Partial<OnlineDetectorOptions> = {}): Promise<OnlineDetector> => {
    const d = await OnlineDetector.create({ ...TINY, channels: 1, ...o, policy: { warmup: 64, initialEpochs: 8, ...o.policy } });
    open.push(d);
    return d;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });

  it('warms up on the first samples, then scores every later sample once, causally, with the fitted version', async () => {
    const d = await make({ policy: { learning: 'off' } });
    const c = collect(d);
    await feed(d, 'a', wave(300));
    await d.flush();
    const got = c.scores.get('a')!;
    // Samples 0..63 warm up; 64..299 are scored, one window each, in order.
    assert.equal(got.length, 300 - 64);
    got.forEach((s, i) => assert.equal(s.t, 64 + i));
    assert.ok(got.every((s) => Number.isFinite(s.score) && s.normalized >= 0 && s.normalized <= 1));
    // Nothing was scored by the untrained network: the initial fit (version 2) scored everything.
    assert.equal(c.updates.length, 1);
    assert.ok(c.updates[0]!.initial && c.updates[0]!.accepted);
    assert.ok(got.every((s) => s.version === 2));
    const st = d.stats();
    assert.equal(st.samples, 300);
    assert.equal(st.scored, 236);
    assert.equal(st.warming, 0);
    assert.equal(st.queued, 0);
  });

  it('keeps learning: versions swap in, and scores on a drifting stream come down where a frozen model stays surprised', async () => {
    const before = wave(400);
    // The drift: a new period and level for good.
    const after = wave(1600, 400, (t) => 2 + 0.8 * Math.sin((2 * Math.PI * t) / 9));
    const run = async (learning: 'blocking' | 'off'): Promise<{ c: Collected; tailMean: number }> => {
      const d = await make({ policy: { learning, updateEvery: 64, admitEvery: 2, epochs: 3, trainWindows: 256 } });
      const c = collect(d);
      await feed(d, 's', before);
      await feed(d, 's', after, 400);
      await d.flush();
      await d.idle();
      const s = c.scores.get('s')!;
      const tail = s.slice(-300);
      return { c, tailMean: tail.reduce((a, x) => a + x.score, 0) / tail.length };
    };
    const learnt = await run('blocking');
    const frozen = await run('off');
    const accepted = learnt.c.updates.filter((u) => u.accepted && !u.initial);
    assert.ok(accepted.length >= 3, `${accepted.length} updates swapped in`);
    const versions = new Set(learnt.c.scores.get('s')!.map((s) => s.version));
    assert.ok(versions.size >= 3, `scored by versions ${[...versions].join(', ')}`);
    assert.ok(learnt.tailMean < 0.5 * frozen.tailMean, `mean score after the drift: learning ${learnt.tailMean}, frozen ${frozen.tailMean}`);
  });

  it('does not learn the anomalies: windows near an alarm are kept out of training', async () => {
    const d = await make({ policy: { learning: 'blocking', updateEvery: 32, admitEvery: 1, trainWindows: 1024, threshold: 0.3 } });
    const c = collect(d);
    const values = wave(1200);
    const spikes = [500, 700, 900, 1100];
    for (const at of spikes) values[at] = 40;
    await feed(d, 'x', values);
    await d.flush();
    const alarms = c.scores.get('x')!.filter((s) => s.alarm).map((s) => s.t);
    // The normaliser averages a short run of raw scores: an alarm comes within a few samples of the spike.
    for (const at of spikes) assert.ok(alarms.some((t) => t >= at && t < at + 16), `spike at ${at} alarms (alarms: ${alarms.join(', ')})`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-guard-'));
    try {
      await d.save(dir);
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'online.json'), 'utf8')) as { models: { train: { frames: number[] }[] }[] };
      const train = saved.models[0]!.train;
      assert.ok(train.length > 100, `${train.length} training windows kept`);
      // A spike is ~50 standard deviations out; no kept window holds one.
      const worst = Math.max(...train.map((w) => Math.max(...w.frames.map(Math.abs))));
      assert.ok(worst < 5, `largest |scaled value| in the training windows: ${worst}`);
      assert.ok(d.stats().withdrawn > 0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('saves and resumes where it stopped: the next scores are the same', async () => {
    const d = await make({ policy: { learning: 'blocking', updateEvery: 100, admitEvery: 2 } });
    const c = collect(d);
    const values = wave(700);
    // Two series, so that per-series state (scaler, normaliser) is what is tested, not one global one.
    await feed(d, 'p', values.subarray(0, 450));
    await feed(d, 'q', Float32Array.from(values.subarray(0, 450), (v) => 10 + 3 * v));
    await d.flush();
    await d.idle();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-save-'));
    try {
      await d.save(dir);
      const r = await OnlineDetector.resume(dir);
      open.push(r);
      const rc = collect(r);
      for (const e of [d, r]) {
        await feed(e, 'p', values.subarray(450, 560), 450);
        await feed(e, 'q', Float32Array.from(values.subarray(450, 560), (v) => 10 + 3 * v), 450);
        await e.flush();
      }
      for (const id of ['p', 'q']) {
        const original = c.scores.get(id)!.filter((s) => s.t >= 450);
        const resumed = rc.scores.get(id)!;
        assert.equal(resumed.length, 110);
        assert.deepEqual(resumed.map((s) => s.t), original.map((s) => s.t));
        resumed.forEach((s, i) => {
          assert.ok(Math.abs(s.score - original[i]!.score) <= 1e-6 * Math.max(1, original[i]!.score), `${id} at ${s.t}: ${s.score} vs ${original[i]!.score}`);
          assert.ok(Math.abs(s.normalized - original[i]!.normalized) <= 1e-6, `${id} normalised at ${s.t}`);
        });
      }
      assert.deepEqual(r.stats().samples, d.stats().samples);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('follows an explicit policy for missing values, gaps and disorder, and counts each', async () => {
    const hold = await make({ policy: { learning: 'off', missing: 'hold', gaps: 'hold', maxFill: 5, disorder: 'skip' } });
    const c = collect(hold);
    const v = wave(200);
    for (let t = 0; t < 100; t++) hold.push('g', t, [v[t]!]);
    hold.push('g', 100, [NaN]); // held: takes 99's value
    hold.push('g', 100, [1]); // not after 100: skipped
    hold.push('g', 108, [v[108]!]); // a gap of 7 missing samples: 5 filled at the usual interval
    hold.push('g', 109, [v[109]!]);
    await hold.flush();
    const st = hold.stats();
    assert.equal(st.missingHeld, 1);
    assert.equal(st.disordered, 1);
    assert.equal(st.gaps, 1);
    assert.equal(st.gapMissing, 7);
    assert.equal(st.gapFilled, 5);
    assert.deepEqual(c.scores.get('g')!.map((s) => s.t).slice(-8), [100, 101, 102, 103, 104, 105, 108, 109]);
    assert.equal(st.samples, 100 + 1 + 5 + 2);

    const strict = await make({ policy: { learning: 'off', missing: 'error', gaps: 'error' } });
    for (let t = 0; t < 70; t++) strict.push('h', t, [v[t]!]);
    assert.throws(() => strict.push('h', 70, [NaN]), (e: unknown) => isSeismoError(e, 'ERR_NON_FINITE'));
    assert.throws(() => strict.push('h', 80, [0]), (e: unknown) => isSeismoError(e, 'ERR_STREAM_GAP'));
    assert.throws(() => strict.push('h', 69, [0]), (e: unknown) => isSeismoError(e, 'ERR_TIMESTAMP_ORDER'));
    strict.push('h', 71, [0]); // the rejected samples stored nothing: 71 follows 69 (one step of 2, not a gap)

    const skip = await make({ policy: { learning: 'off', missing: 'skip' } });
    skip.push('k', 0, [NaN]);
    skip.push('k', 1, [1]);
    skip.push('k', 2, [NaN]);
    assert.equal(skip.stats().missingSkipped, 2);
    assert.equal(skip.stats().samples, 1);
  });

  it('feeds a per-series scorer every raw sample in order, with the deep score once scored, and reports its output', async () => {
    const seen = new Map<number, { frames: number[]; deep: number[] }>();
    let made = 0;
    const d = await make({
      policy: { learning: 'off', threshold: 0.9, settle: 0 },
      scorer: () => {
        const id = made++;
        const log = { frames: [] as number[], deep: [] as number[] };
        seen.set(id, log);
        return {
          update: (frame, deep, offset = 0) => {
            log.frames.push(frame[offset]!);
            log.deep.push(deep);
            // A scorer of its own: how far the value is from 0, squashed into [0, 1).
            return Math.abs(frame[offset]!) / (1 + Math.abs(frame[offset]!));
          },
          toJSON: () => ({ id }),
        };
      },
    });
    const c = collect(d);
    const values = wave(200, 0, (t) => 100 + Math.sin(t / 3));
    values[150] = 1000;
    await feed(d, 'w', values);
    await d.flush();
    const log = seen.get(0)!;
    assert.equal(made, 1);
    // Every sample, in order, raw (not scaled): warm-up ones with NaN deep scores, the rest with the model's.
    assert.deepEqual(log.frames, Array.from(values));
    assert.ok(log.deep.slice(0, 64).every(Number.isNaN));
    const scored = c.scores.get('w')!;
    assert.deepEqual(log.deep.slice(64), scored.map((x) => x.score));
    scored.forEach((x, i) => assert.equal(x.normalized, Math.fround(values[64 + i]! / (1 + values[64 + i]!))));
    assert.deepEqual(scored.filter((x) => x.alarm).map((x) => x.t).slice(0, 3), [64, 65, 66]);
  });

  it('does not judge the first samples after the warm-up (settle): normalised 0, no alarm, nothing learnt by the normaliser', async () => {
    const d = await make({ policy: { learning: 'off', settle: 50, threshold: 0.01 } });
    const c = collect(d);
    const values = wave(300);
    values[100] = 30; // inside the settle period (scored from 64, judged from 114)
    values[250] = 30;
    await feed(d, 'z', values);
    await d.flush();
    const got = c.scores.get('z')!;
    assert.ok(got.slice(0, 50).every((x) => x.normalized === 0 && !x.alarm));
    assert.ok(got[100 - 64]!.score > 10 * got[99 - 64]!.score, 'the spike is scored (raw) while settling');
    assert.ok(got.some((x) => x.t >= 250 && x.t < 266 && x.alarm), 'a spike after settling alarms');
  });

  it('gives each series a model of its own when asked (sharing: per-series)', async () => {
    const d = await make({ policy: { learning: 'off', sharing: 'per-series', maxModels: 2 } });
    const c = collect(d);
    await feed(d, 'u', wave(120));
    await feed(d, 'v', wave(120, 7, (t) => 50 + 10 * Math.cos(t / 5)));
    await d.flush();
    assert.equal(d.models, 2);
    assert.equal(c.scores.get('u')!.length, 56);
    assert.equal(c.scores.get('v')!.length, 56);
    assert.equal(c.updates.filter((u) => u.initial && u.accepted).length, 2);
    assert.deepEqual(new Set(c.updates.map((u) => u.model)), new Set([0, 1]));
    assert.throws(() => d.push('third', 0, [1]), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
  });

  it('takes expert labels through an OnlineLearner attached to its detector, and continues from the versions it makes', async () => {
    const d = await make({ policy: { learning: 'blocking', updateEvery: 64, admitEvery: 2, threshold: 0.3 } });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-learner-'));
    const learner = await OnlineLearner.attach(d.detector(), { workDir: work, normalBuffer: 2, heldOutEvery: 1000, drift: false, queue: { budget: 1, period: 100000 } });
    try {
      const alarms: { seriesId: string; start: number }[] = [];
      const named: string[] = [];
      d.on('anomaly', (a) => {
        alarms.push({ seriesId: a.seriesId, start: a.start });
        named.push(a.channels[0]!.name);
      });
      const c = collect(d);
      const values = wave(600);
      values[300] = 25;
      values[450] = 25;
      await feed(d, 'e', values);
      await d.flush();
      assert.ok(alarms.length >= 2, `${alarms.length} alarms`);
      // Alarms name their channels as the Detector's events do (one channel here).
      assert.ok(named.every((n) => n === d.channels[0]), named.join(','));
      // The expert says: false alarms. The learner kept the alarms' windows and learns from the answers.
      const outcomes = [learner.label(alarms[0]!, false), learner.label(alarms.at(-1)!, false)];
      assert.deepEqual(outcomes, ['normal-buffer', 'normal-buffer']);
      await learner.idle();
      assert.equal(learner.history.length, 1);
      const learnt = learner.history[0]!;
      assert.ok(learnt.accepted, learnt.reason);
      const learnerVersion = d.detector().version;
      // The engine's next update starts from the learner's version.
      await feed(d, 'e', wave(200, 600), 600);
      await d.flush();
      await d.idle();
      const after = c.updates.filter((u) => u.accepted && u.version! > learnerVersion);
      assert.ok(after.length >= 1, 'the engine updated after the learner');
    } finally {
      await learner.close();
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('rejects kinds that cannot learn online and bad policies with coded errors', async () => {
    await assert.rejects(OnlineDetector.create({ kind: 'pca' as never, channels: 1 }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
    await assert.rejects(OnlineDetector.create({ ...TINY, channels: 1, policy: { warmup: 8 } }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
    await assert.rejects(OnlineDetector.create({ ...TINY, channels: 1, policy: { threshold: 2 } }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
  });
});
