import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSeismoError } from '../../src/errors.js';
import { WindowBuffer } from '../../src/learn/buffers.js';
import { mulberry32 } from '../../src/stats/random.js';
import { PageHinkley } from '../../src/learn/drift.js';
import { ExpertSimulator } from '../../src/learn/expert.js';
import { appendAnswers, LabelQueue, readQueueFile, type QueueItem } from '../../src/learn/label-queue.js';
import { committeePool, relativeLogScore, selectByCommittee, selectQueries, uncertainty } from '../../src/learn/select.js';

const item = (start: number, askedAt: number): QueueItem => ({
  key: `s@${start}`, ref: { seriesId: 's', start }, timestamp: start, score: 1, threshold: 1, version: 1, reason: 'uncertain', askedAt,
});

describe('learn: buffers, label queue, drift, selection', () => {
  it('a fifo window buffer stays bounded, keeps the newest windows and copies their frames', () => {
    const b = new WindowBuffer({ capacity: 3, windowSize: 2 });
    const frames = new Float32Array(2);
    for (let k = 0; k < 10; k++) {
      frames.fill(k);
      b.add({ seriesId: 'a', start: k }, frames, k, 1, 0);
    }
    assert.equal(b.size, 3);
    assert.deepEqual(b.items().map((i) => i.ref.start), [7, 8, 9]);
    assert.deepEqual(Array.from(b.snapshot().frames), [7, 7, 8, 8, 9, 9]);
    assert.throws(() => b.add({ seriesId: 'a', start: 0 }, new Float32Array(3), 0, 1, 0), (e) => isSeismoError(e, 'ERR_BAD_SHAPE'));
    b.clear();
    assert.equal(b.size, 0);
  });

  it('a reservoir buffer stays bounded and samples the whole stream uniformly', () => {
    const counts = new Float64Array(10);
    for (let rep = 0; rep < 300; rep++) {
      const b = new WindowBuffer({ capacity: 5, windowSize: 1, policy: 'reservoir', seed: rep + 1 });
      for (let k = 0; k < 100; k++) b.add({ seriesId: 'a', start: k }, new Float32Array([k]), 0, 1, -1);
      assert.equal(b.size, 5);
      for (const it of b.items()) counts[Math.floor(it.ref.start / 10)]++;
    }
    // Each tenth of the stream holds ~150 of the 1500 kept windows.
    for (const c of counts) assert.ok(c > 100 && c < 200, `decile count ${c}`);
  });

  it('the label queue asks at most `budget` questions per period and holds at most `capacity`', () => {
    const q = new LabelQueue({ capacity: 4, budget: 3, period: 100 });
    assert.deepEqual(q.ask(item(0, 0)), []);
    q.ask(item(1, 10));
    q.ask(item(2, 20));
    assert.equal(q.ask(item(3, 30)), undefined, 'budget spent');
    assert.equal(q.remaining(99), 0);
    assert.equal(q.remaining(100), 3, 'a new period, a new budget');
    q.ask(item(4, 100));
    assert.deepEqual(q.ask(item(5, 110)), ['s@0'], 'full: the oldest question is dropped');
    assert.equal(q.size, 4);
    assert.equal(q.expired, 1);
    assert.ok(q.remove('s@4'));
    assert.equal(q.size, 3);
  });

  it('a queue on a folder resumes the questions still pending and reads only the answers given since', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-queue-'));
    try {
      const first = new LabelQueue({ capacity: 8, budget: 8, period: 100, dir });
      for (const k of [0, 1, 2]) first.ask(item(k, k));
      appendAnswers(dir, [{ key: 's@0', anomaly: true }]);
      const read = first.readAnswers();
      assert.deepEqual(read.answers, [{ key: 's@0', anomaly: true }]);
      assert.deepEqual(first.readAnswers().answers, read.answers, 'not consumed until marked read');
      first.markAnswersRead(read.offset);
      first.remove('s@0');
      // Answered while no learner runs:
      appendAnswers(dir, [{ key: 's@1', anomaly: false }]);
      const second = new LabelQueue({ capacity: 8, budget: 8, period: 100, dir });
      assert.deepEqual(second.pending().map((q) => q.key), ['s@1', 's@2']);
      assert.deepEqual(second.readAnswers().answers, [{ key: 's@1', anomaly: false }], 'the answer read before is not read again');
      // A smaller capacity keeps the newest questions.
      const third = new LabelQueue({ capacity: 1, dir });
      assert.deepEqual(third.pending().map((q) => q.key), ['s@2']);
      assert.deepEqual(readQueueFile(dir).map((q) => q.key), ['s@2']);
      fs.writeFileSync(path.join(dir, 'label-queue.jsonl'), '{"key": "s@9", "ref": {"seriesId": "s", "start": 8}}\n');
      assert.throws(() => new LabelQueue({ dir }), (e) => isSeismoError(e, 'ERR_LABEL'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('query by committee asks about the windows two versions disagree on most, then as selectQueries would', () => {
    const c = (index: number, score: number, alarm = false) => ({ index, score, threshold: 1, alarm });
    const candidates = [c(0, 1.0), c(1, 1.1), c(2, 0.2), c(3, 5, true), c(4, 0.9), c(5, 3, true)];
    // The second version's threshold-relative log scores differ most on windows 2 and 4.
    const disagreement = new Map([[0, 0.1], [1, 0.05], [2, 2.5], [4, 1.5], [3, NaN]]);
    const picked = selectByCommittee(candidates, disagreement, 4, 0.5, mulberry32(2));
    assert.deepEqual(picked.slice(0, 2).map((p) => [p.candidate.index, p.reason]), [[2, 'disagreement'], [4, 'disagreement']]);
    assert.deepEqual(picked.slice(2).map((p) => p.reason), ['uncertain', 'alarm'], 'the rest: nearest the threshold, then an alarm');
    assert.equal(new Set(picked.map((p) => p.candidate.index)).size, 4);
    assert.deepEqual(selectByCommittee(candidates, new Map(), 2, 0.5).map((p) => p.reason), ['uncertain', 'alarm'], 'no opinion: plain selection');
    // The pool: up to a quarter alarms, the rest the most uncertain windows.
    const pool = committeePool(candidates, 4, mulberry32(3));
    assert.equal(pool.length, 4);
    assert.equal(pool.filter((p) => p.alarm).length, 1);
    assert.ok(pool.some((p) => p.index === 0) && pool.some((p) => p.index === 1) && pool.some((p) => p.index === 4));
    assert.ok(Math.abs(relativeLogScore(2, 1) - Math.log(2)) < 1e-12 && Number.isNaN(relativeLogScore(0, 1)));
  });

  it('the expert simulator answers within its budget, after its delay', () => {
    const answered: number[] = [];
    const learner = { label: (ref: { start: number }) => answered.push(ref.start) } as never;
    const e = new ExpertSimulator({ truth: () => false, budget: 2, period: 50, delay: 10 });
    for (const k of [0, 1, 2]) e.ask(item(k, k));
    assert.equal(e.declined, 1);
    assert.equal(e.tick(learner, 9), 0);
    assert.equal(e.tick(learner, 11), 2);
    assert.deepEqual(answered, [0, 1]);
  });

  it('Page-Hinkley flags a shift of the mean soon after it, and stays quiet on stationary noise', () => {
    const rand = mulberry32(3);
    const gauss = (): number => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    const quiet = new PageHinkley();
    for (let i = 0; i < 5000; i++) assert.equal(quiet.update(gauss()), undefined, `false alarm at ${i}`);
    for (const [shift, direction] of [[2, 'up'], [-2, 'down']] as const) {
      const ph = new PageHinkley();
      let at = -1;
      for (let i = 0; i < 2000 && at < 0; i++) {
        const s = ph.update(gauss() + (i >= 1000 ? shift : 0));
        if (s) {
          at = i;
          assert.equal(s.direction, direction);
        }
      }
      assert.ok(at >= 1000 && at < 1100, `shift ${shift} detected at ${at}`);
    }
    assert.throws(() => new PageHinkley({ threshold: 0 }), (e) => isSeismoError(e, 'ERR_INVALID_OPTION'));
  });

  it('selection asks about the windows nearest the threshold, then reviews alarms', () => {
    assert.equal(uncertainty(2, 1), Math.log(2));
    assert.equal(uncertainty(0, 1), Infinity);
    const c = [
      { index: 0, score: 1.05, threshold: 1, alarm: true },
      { index: 1, score: 0.1, threshold: 1, alarm: false },
      { index: 2, score: 0.9, threshold: 1, alarm: false },
      { index: 3, score: 50, threshold: 1, alarm: true },
      { index: 4, score: 0.2, threshold: 1, alarm: false },
    ];
    const picked = selectQueries(c, 3, 0.5);
    assert.deepEqual(picked.map((p) => [p.candidate.index, p.reason]), [[0, 'uncertain'], [2, 'uncertain'], [3, 'alarm']]);
    assert.deepEqual(selectQueries(c, 0, 0.5), []);
  });

  it("a queue keeps its questions' frames under hashed names, and takes up those an older seismo saved under the escaped key", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-queue-'));
    try {
      const q = new LabelQueue({ dir, budget: 8, frameSize: 2 });
      q.ask(item(0, 0), Float32Array.of(1, 2));
      assert.throws(() => q.ask(item(1, 0), Float32Array.of(1)), (e) => isSeismoError(e, 'ERR_BAD_SHAPE'));
      const files = fs.readdirSync(path.join(dir, 'questions'));
      assert.equal(files.length, 1);
      assert.match(files[0]!, /^[0-9a-f]{40}\.f32$/);
      // As an older seismo left it: the frames file named by the escaped key.
      fs.renameSync(path.join(dir, 'questions', files[0]!), path.join(dir, 'questions', `${encodeURIComponent('s@0')}.f32`));
      const resumed = new LabelQueue({ dir, budget: 8, frameSize: 2 });
      assert.deepEqual(Array.from(resumed.framesOf('s@0')!), [1, 2]);
      resumed.remove('s@0');
      assert.deepEqual(fs.readdirSync(path.join(dir, 'questions')), [], 'an answered question leaves no file behind');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('seismo label lists the queue and appends answers; unknown keys are refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-label-'));
    const q = new LabelQueue({ dir, budget: 5 });
    q.ask(item(8, 0));
    q.ask(item(16, 1));
    assert.equal(readQueueFile(dir).length, 2);
    const cli = (...args: string[]): string =>
      execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', "require('./src/cli/main.ts').main(['node','seismo',...process.argv.slice(1)])", '--', ...args], { cwd: path.join(__dirname, '..', '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const listed = (JSON.parse(cli('label', '--dir', dir, '--json')) as { result: { pending: QueueItem[] } }).result;
    assert.deepEqual(listed.pending.map((p) => p.key), ['s@8', 's@16']);
    cli('label', '--dir', dir, '--normal', 's@8', '--anomaly', 's@16', '--json');
    assert.deepEqual(q.readAnswers().answers, [{ key: 's@8', anomaly: false }, { key: 's@16', anomaly: true }]);
    const bad = JSON.parse(execSafe(() => cli('label', '--dir', dir, '--normal', 'nope@1', '--json'))) as { error: { code: string } };
    assert.equal(bad.error.code, 'ERR_LABEL');
  });
});

/** Runs a CLI call expected to fail (exit code 1) and returns its stdout. */
function execSafe(run: () => string): string {
  try {
    run();
  } catch (err) {
    return (err as { stdout: string }).stdout;
  }
  assert.fail('the command succeeded');
}
