import assert from 'node:assert/strict';
import { SeriesHistory } from '../../src/serve/history.js';

describe('serve: per-series history rings', () => {
  it('keeps the last samples across the wrap point, indexed from the first sample', () => {
    const h = new SeriesHistory('a', { channels: 2, capacity: 5 });
    h.addSamples([1, 2, 3], Float32Array.from([1, 1, 2, 2, 3, 3]));
    h.addSamples([4, 5, 6, 7], Float32Array.from([4, 4, 5, 5, 6, 6, 7, 7]));
    const s = h.samplesSlice(0, 100);
    assert.deepEqual(s.time, [3, 4, 5, 6, 7]);
    assert.deepEqual(s.values[1], [3, 4, 5, 6, 7]);
    assert.equal(s.firstIndex, 2);
    // A batch longer than the ring keeps its tail.
    h.addSamples([8, 9, 10, 11, 12, 13, 14], Float32Array.from([8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14]));
    assert.deepEqual(h.samplesSlice(0, 100).time, [10, 11, 12, 13, 14]);
    assert.equal(h.samples, 14);
    assert.deepEqual([...h.windowFrames(10, 2)!], [11, 11, 12, 12]);
    assert.equal(h.windowFrames(8, 2), undefined, 'overwritten');
    assert.equal(h.timeOf(13), 14);
    assert.equal(h.timeOf(3), undefined);
  });

  it('thins scores but keeps every alarm, and finds them by time', () => {
    const h = new SeriesHistory('a', { channels: 1, capacity: 100 });
    for (let i = 0; i < 20; i++) h.addScore(i, i / 10, 1, i === 7);
    const thin = h.scoresSlice(0, 20, 5);
    assert.deepEqual(thin.scoreTime, [0, 5, 7, 10, 15]);
    assert.deepEqual(thin.anomaly, [0, 0, 1, 0, 0]);
    assert.equal(h.alarms, 1);
    assert.deepEqual(h.scoresBetween(3, 5).scoreTime, [3, 4, 5]);
  });
});
