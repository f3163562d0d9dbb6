// Detection without the native addon: the Detector on the TypeScript ring arena scores the same
// windows with the same scores as on the addon's, across many ring wraps and several series.
import assert from 'node:assert/strict';
import { Detector } from '../../src/detector/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { useRingImplementation, type RingImplementation } from '../../src/native.js';
import { TsRingArena } from '../../src/window/ts-ring-arena.js';
import { tinyModel } from '../helpers/tiny-model.js';

/** Scores by `series:start` of a stride-1 run over three series, on the given ring arena. */
async function scoreAll(implementation: RingImplementation): Promise<{ scores: Map<string, number>; tsPushes: number }> {
  const model = await tinyModel();
  const data = generateSeries({ length: 400, channels: 3, seed: 9, periods: [48, 12], anomalies: [] });
  const C = 3;
  useRingImplementation(implementation);
  const scores = new Map<string, number>();
  // Counts the frames written through the TypeScript arena, to know which one the detector used.
  const push = TsRingArena.prototype.push;
  let tsPushes = 0;
  TsRingArena.prototype.push = function (this: TsRingArena, ...args: Parameters<typeof push>) {
    tsPushes++;
    return push.apply(this, args);
  };
  try {
    // Capacity 32 against 400 frames: each ring wraps a dozen times.
    const detector = await Detector.load(model.dir, {
      stride: 1, batchSize: 16, maxSeries: 3, capacity: 32, provider: 'cpu',
      onBatch: (b) => b.starts.forEach((s, i) => scores.set(`${b.seriesIds[i]}:${s}`, b.scores[i]!)),
    });
    try {
      for (let from = 0; from < 400; from += 20) {
        for (const id of ['a', 'b', 'c']) {
          await detector.write(id, data.table.time.subarray(from, from + 20), data.table.frames.subarray(from * C, (from + 20) * C));
        }
      }
      await detector.flush();
    } finally {
      await detector.close();
    }
    return { scores, tsPushes };
  } finally {
    TsRingArena.prototype.push = push;
    useRingImplementation(undefined);
  }
}

describe('detection on the TypeScript ring arena (no native addon)', function () {
  this.timeout(120_000);

  it('scores every window as the native arena does', async () => {
    const native = await scoreAll('native');
    const ts = await scoreAll('typescript');
    assert.equal(native.tsPushes, 0);
    assert.ok(ts.tsPushes >= 60, `${ts.tsPushes} pushes into the TypeScript arena`);
    assert.equal(native.scores.size, 3 * (400 - 8 + 1));
    assert.deepEqual([...ts.scores.keys()].sort(), [...native.scores.keys()].sort());
    for (const [key, score] of native.scores) assert.equal(ts.scores.get(key), score, key);
  });
});
