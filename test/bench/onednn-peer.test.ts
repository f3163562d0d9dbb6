import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileOnednnPeer, runOnednnScoring } from '../../bench/onednn-peer.js';
import { SeismoError } from '../../src/errors.js';

describe('bench/onednn peer', function () {
  // g++ on the peer: ~10 s on a loaded machine.
  this.timeout(180_000);
  let dir: string;
  let exe: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-onednn-test-'));
    exe = compileOnednnPeer(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs one thread and reports its rounds as JSON', () => {
    const r = runOnednnScoring(exe, 16, 0.05, 2);
    assert.equal(r.threads, 1);
    assert.equal(r.batch, 16);
    assert.match(r.dnnl, /^\d+\.\d+\.\d+$/);
    assert.equal(r.rounds.length, 2);
    for (const v of r.rounds) assert.ok(Number.isFinite(v) && v > 0, `rate ${v}`);
    assert.equal(r.score, undefined);
  });

  it('scores the same as the PyTorch peer on the same weights and span (1e-4 relative)', () => {
    // Span, weights and torch's scores recorded by bench/onednn/parity.py (the PyTorch peer's
    // scorer, Debian's python3-torch), so that this check runs where torch is not installed.
    const fixtures = path.join(__dirname, '..', 'fixtures', 'onednn');
    const ref = JSON.parse(fs.readFileSync(path.join(fixtures, 'torch-scores-b32.json'), 'utf8')) as { score: number[]; channelScore: number[] };
    const r = runOnednnScoring(exe, 32, 0.01, 1, path.join(fixtures, 'params-b32.bin'));
    assert.equal(r.score!.length, 32);
    assert.equal(r.channelScore!.length, 32 * 8);
    const close = (a: number[], b: number[], what: string) => {
      a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) <= 1e-4 * Math.abs(b[i]!) + 1e-9, `${what}[${i}]: oneDNN ${x}, torch ${b[i]}`));
    };
    close(r.score!, ref.score, 'score');
    close(r.channelScore!, ref.channelScore, 'channelScore');
    // Windows differ, so must their scores: a constant answer would pass the comparison only by accident.
    assert.ok(new Set(r.score!.map((s) => s.toFixed(6))).size > 16);
  });

  it('says what failed when the params file is short', () => {
    const short = path.join(dir, 'short.bin');
    fs.writeFileSync(short, Buffer.alloc(64));
    assert.throws(() => runOnednnScoring(exe, 8, 0.01, 1, short), (e: unknown) => e instanceof SeismoError && e.code === 'ERR_INVALID_OPTION' && /too short/.test(e.message));
  });
});
