/**
 * The alarm-rate threshold's realised false-alarm rate on NAB's normal stretches: every file is
 * streamed through a scorer and the `alarm-rate` rule (src/threshold/alarm-rate.ts) at a few
 * rates; alarms on rows after the probationary period and outside every label window count as
 * false, per 10,000 such rows, and a window with at least one alarm counts as found.
 *
 *   npx tsx bench/nab-alarms.ts <nab-root>
 */
import { createNormalizer } from '../src/score/normalize.js';
import { AlarmRateThreshold } from '../src/threshold/alarm-rate.js';
import { Random } from '../src/stats/random.js';
import { loadNabStreams, prepareStream } from './nab-folds.js';
import { DEFAULT_SETTING, scoreStream } from './nab.js';

/** Normalised absolute first difference: the normaliser alone on the simplest raw score. */
function normalisedDiff(values: Float64Array, warmup: number): Float64Array {
  const n = createNormalizer({ warmup });
  return values.map((v, i) => n.update(i === 0 ? 0 : Math.abs(v - values[i - 1]!)));
}

/** Generated normal data: |AR(1)| errors (phi 0.7), normalised, 100,000 samples per seed. */
function generated(): void {
  for (const alarmsPer10k of [1, 5, 20]) {
    let alarms = 0;
    let rows = 0;
    for (let seed = 1; seed <= 5; seed++) {
      const r = new Random(seed);
      const n = createNormalizer();
      const rule = new AlarmRateThreshold({ alarmsPer10k });
      let e = 0;
      for (let i = 0; i < 100_000; i++) {
        e = 0.7 * e + r.normal();
        const alarm = rule.decide(n.update(Math.abs(e)), new Float32Array(0), 0);
        rows++;
        if (alarm) alarms++;
      }
    }
    console.log(`${'generated |AR(1)|'.padEnd(22)} asked ${String(alarmsPer10k).padStart(2)} per 10k: realised ${((alarms / rows) * 1e4).toFixed(2).padStart(6)} per 10k (${alarms} of ${rows}, seeds 1-5)`);
  }
}

async function main(): Promise<void> {
  generated();
  const root = process.argv[2] ?? '/work/shared/datasets/nab';
  const { streams } = await loadNabStreams(root);
  const scorers: Record<string, (s: (typeof streams)[number]) => Float64Array> = {
    'ensemble (default)': (s) => scoreStream(s, DEFAULT_SETTING),
    'normaliser on |diff|': (s) => normalisedDiff(s.values, Math.max(s.probation, 2)),
  };
  for (const [name, score] of Object.entries(scorers)) {
    const scored = streams.map((s) => ({ s, scores: score(s) }));
    for (const alarmsPer10k of [1, 5, 20]) {
      let normalRows = 0;
      let falseAlarms = 0;
      let windows = 0;
      let found = 0;
      for (const { s, scores } of scored) {
        const rule = new AlarmRateThreshold({ alarmsPer10k });
        const p = prepareStream(s, scores);
        const hit = new Uint8Array(p.windows.length);
        const none = new Float32Array(0);
        for (let i = 0; i < scores.length; i++) {
          const alarm = rule.decide(scores[i]!, none, 0);
          if (i < p.probationaryLength) continue;
          const w = p.windowOf[i]!;
          if (w >= 0) {
            if (alarm) hit[w] = 1;
          } else {
            normalRows++;
            if (alarm) falseAlarms++;
          }
        }
        p.windows.forEach((_, w) => {
          if (p.windowScored[w]) {
            windows++;
            found += hit[w]!;
          }
        });
      }
      console.log(`${name.padEnd(22)} asked ${String(alarmsPer10k).padStart(2)} per 10k: realised ${((falseAlarms / normalRows) * 1e4).toFixed(2).padStart(6)} per 10k normal rows (${falseAlarms} of ${normalRows}); windows found ${found} of ${windows}`);
    }
  }
}

void main();
