import assert from 'node:assert/strict';
import { TrainingBuffer } from '../../src/online/training-buffer.js';

const frames = (v: number, per = 2): Float32Array => new Float32Array(per).fill(v);

describe('online: TrainingBuffer', () => {
  it('keeps the newest entries FIFO, oldest first, and drops the oldest when full', () => {
    const b = new TrainingBuffer(3, 2);
    for (let k = 0; k < 5; k++) b.add(0, 10 + k, frames(k));
    assert.equal(b.count, 3);
    assert.deepEqual(b.entries().map((e) => [e.end, e.frames[0]]), [[12, 2], [13, 3], [14, 4]]);
    assert.deepEqual(Array.from(b.gather(b.validIndices(() => true))), [2, 2, 3, 3, 4, 4]);
  });

  it('commits the head slot filled in place, and leaves nothing changed when not committed', () => {
    const b = new TrainingBuffer(2, 2);
    b.headSlot().set([7, 8]);
    assert.equal(b.count, 0);
    const idx = b.commit(1, 5);
    assert.equal(b.count, 1);
    assert.deepEqual(b.entries(), [{ series: 1, end: 5, valid: true, frames: new Float32Array([7, 8]) }]);
    assert.equal(b.headSlot() === b.entries()[0]!.frames, false, 'the next head is another slot');
    assert.equal(idx, 0);
  });

  it('withdraws an entry only for its own series, when valid and ending at or after the mark', () => {
    const b = new TrainingBuffer(4, 2);
    const a = b.add(0, 10, frames(1));
    const c = b.add(1, 20, frames(2));
    assert.equal(b.withdrawFrom(a, 1, 0), false, 'another series');
    assert.equal(b.withdrawFrom(a, 0, 11), false, 'ends before the mark');
    assert.equal(b.withdrawFrom(-1, 0, 0), false, 'no entry');
    assert.equal(b.withdrawFrom(a, 0, 10), true);
    assert.equal(b.withdrawFrom(a, 0, 10), false, 'already withdrawn');
    assert.deepEqual(b.validIndices(() => true), [c]);
    // Withdrawn entries keep their place (a save writes them).
    assert.deepEqual(b.entries().map((e) => e.valid), [false, true]);
    b.setValid(a, true);
    assert.deepEqual(b.validIndices(() => true), [a, c]);
  });

  it('gives the valid entries the guard has decided, by series and end', () => {
    const b = new TrainingBuffer(4, 2);
    b.add(0, -1, frames(1));
    b.add(0, 30, frames(2));
    b.add(1, 40, frames(3));
    const seen: [number, number][] = [];
    const idx = b.validIndices((series, end) => {
      seen.push([series, end]);
      return end < 35;
    });
    assert.deepEqual(seen, [[0, -1], [0, 30], [1, 40]]);
    assert.deepEqual(Array.from(b.gather(idx)), [1, 1, 2, 2]);
  });
});
