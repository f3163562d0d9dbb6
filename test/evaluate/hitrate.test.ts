// HitRate@P% (OmniAnomaly's interpretation metric) against a case computed by hand, and through `seismo eval`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateCsvFiles } from '../../src/evaluate/csv-files';
import { isSeismoError } from '../../src/errors';
import { hitRate } from '../../src/evaluate/hitrate';

// 5 rows of 4 channels (a, b, c, d).
//   row 0: labelled {a}      ranking b > a > c > d   @100% k=1: {b} -> 0/1; @150% k=1 -> 0/1
//   row 1: labelled {a, c}   ranking c > d > a > b   @100% k=2: {c,d} -> 1/2; @150% k=3: {c,d,a} -> 2/2
//   row 2: nothing labelled                          not evaluated
//   row 3: labelled {b,c,d}  ranking b > a > d > c   @100% k=3: {b,a,d} -> 2/3; @150% k=min(4,4): all -> 3/3
//   row 4: labelled {d}      ranking d > ... (NaN on a ranks last)  -> 1/1 both
// HitRate@100% = (0 + 1/2 + 2/3 + 1) / 4 = 13/24; @150% = (0 + 1 + 1 + 1) / 4 = 3/4; top-1 = (0+1+1+1)/4.
const attribution = [
  0.5, 0.9, 0.1, 0.0,
  0.2, 0.1, 3.0, 1.0,
  1.0, 2.0, 3.0, 4.0,
  0.8, 0.9, 0.1, 0.7,
  NaN, 0.1, 0.2, 5.0,
];
const channelLabels = [
  1, 0, 0, 0,
  1, 0, 1, 0,
  0, 0, 0, 0,
  0, 1, 1, 1,
  0, 0, 0, 1,
];

describe('evaluate/hitrate', () => {
  it('matches the hand-computed case', () => {
    const r = hitRate({ attribution, channelLabels, channels: 4 });
    assert.equal(r.rows, 4);
    assert.ok(Math.abs(r.hitRate100 - 13 / 24) < 1e-12, String(r.hitRate100));
    assert.ok(Math.abs(r.hitRate150 - 3 / 4) < 1e-12, String(r.hitRate150));
    assert.equal(r.top1, 3 / 4);
  });

  it('evaluates only the masked rows when given, NaN when none is labelled', () => {
    const r = hitRate({ attribution, channelLabels, channels: 4, rows: [1, 1, 1, 0, 0] });
    assert.equal(r.rows, 2);
    assert.ok(Math.abs(r.hitRate100 - 1 / 4) < 1e-12);
    assert.ok(Number.isNaN(hitRate({ attribution: [1, 2], channelLabels: [0, 0], channels: 2 }).hitRate100));
  });

  it('refuses mismatched shapes and non-binary labels', () => {
    assert.throws(() => hitRate({ attribution: [1, 2, 3], channelLabels: [0, 1], channels: 2 }), (e: unknown) => isSeismoError(e, 'ERR_BAD_SHAPE'));
    assert.throws(() => hitRate({ attribution: [1, 2], channelLabels: [0, 2], channels: 2 }), (e: unknown) => isSeismoError(e, 'ERR_EVAL'));
  });

  it('`seismo eval` reports it from per-channel label columns, ranking by attr_<channel>', () => {
    const dir = mkdtempSync(join(tmpdir(), 'seismo-hitrate-'));
    try {
      const t = (i: number) => `2024-01-01 00:00:0${i}`;
      const names = ['a', 'b', 'c', 'd'];
      // score_ columns rank differently from attr_ ones: eval must use attr_.
      const scores = ['timestamp,score,' + names.map((n) => `score_${n}`).join(',') + ',' + names.map((n) => `attr_${n}`).join(',')];
      const labels = ['timestamp,label,d,c,b,a']; // channel columns in another order than the scores'
      for (let i = 0; i < 5; i++) {
        const row = attribution.slice(i * 4, i * 4 + 4);
        scores.push(`${t(i)},${i},1,1,1,1,${row.map(String).join(',')}`);
        const y = channelLabels.slice(i * 4, i * 4 + 4);
        labels.push(`${t(i)},${y.some((v) => v) ? 1 : 0},${y[3]},${y[2]},${y[1]},${y[0]}`);
      }
      writeFileSync(join(dir, 'scores.csv'), `${scores.join('\n')}\n`);
      writeFileSync(join(dir, 'labels.csv'), `${labels.join('\n')}\n`);
      const { metrics } = evaluateCsvFiles(join(dir, 'scores.csv'), join(dir, 'labels.csv'));
      assert.ok(metrics.hitRate);
      assert.equal(metrics.hitRate.rankedBy, 'attr');
      assert.deepEqual(metrics.hitRate.channels, names);
      assert.ok(Math.abs(metrics.hitRate.hitRate100 - 13 / 24) < 1e-12);
      assert.ok(Math.abs(metrics.hitRate.hitRate150 - 3 / 4) < 1e-12);
      // Without channel columns in the labels there is no HitRate.
      writeFileSync(join(dir, 'plain.csv'), `${labels.map((l) => l.split(',').slice(0, 2).join(',')).join('\n')}\n`);
      assert.equal(evaluateCsvFiles(join(dir, 'scores.csv'), join(dir, 'plain.csv')).metrics.hitRate, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
