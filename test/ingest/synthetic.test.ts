import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors.js';
import { parseSeriesCsv } from '../../src/ingest/csv.js';
import { Random } from '../../src/stats/random.js';
import { ANOMALY_KINDS, generateSeries, labelsCsv } from '../../src/ingest/synthetic.js';

function bytes(a: Float32Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('ingest/random', () => {
  it('is deterministic per seed and roughly uniform / standard normal', () => {
    const a = new Random(7);
    const b = new Random(7);
    const c = new Random(8);
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
    assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
    const r = new Random(1);
    let sum = 0;
    let sq = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
    assert.ok(Math.abs(sq / n - 1) < 0.05, `var ${sq / n}`);
    for (let i = 0; i < 1000; i++) {
      const u = r.next();
      assert.ok(u >= 0 && u < 1);
      const k = r.int(3, 5);
      assert.ok(k >= 3 && k <= 5 && Number.isInteger(k));
    }
  });
});

describe('ingest/synthetic', () => {
  const base = generateSeries({ length: 2048, channels: 8, seed: 3 });

  it('has the requested shape, names and timestamps', () => {
    const { table, labels } = base;
    assert.equal(table.length, 2048);
    assert.equal(table.channels.length, 8);
    assert.equal(table.frames.length, 2048 * 8);
    assert.equal(labels.length, 2048);
    assert.equal(table.timestamps[0], '2024-01-01 00:00:00');
    assert.equal(table.timestamps[1], '2024-01-01 00:05:00');
    assert.equal(table.time[1]! - table.time[0]!, 300_000);
    assert.ok(table.frames.every(Number.isFinite));
    // Timestamps read back through the CSV parser to the same epoch ms.
    const csv = 'timestamp,v\n' + table.timestamps.slice(0, 50).map((t) => `${t},1`).join('\n');
    assert.deepEqual(Array.from(parseSeriesCsv(csv).time), Array.from(table.time.subarray(0, 50)));
  });

  it('is byte-identical for the same seed and differs for another seed', () => {
    const again = generateSeries({ length: 2048, channels: 8, seed: 3 });
    assert.ok(bytes(again.table.frames).equals(bytes(base.table.frames)));
    assert.ok(bytes(again.labels).equals(bytes(base.labels)));
    assert.deepEqual(again.anomalies, base.anomalies);
    const other = generateSeries({ length: 2048, channels: 8, seed: 4 });
    assert.ok(!bytes(other.table.frames).equals(bytes(base.table.frames)));
  });

  it('plants every kind after the normal prefix, and labels are exactly their union', () => {
    const { anomalies, labels } = base;
    assert.deepEqual([...new Set(anomalies.map((a) => a.kind))].sort(), [...ANOMALY_KINDS].sort());
    const expected = new Uint8Array(labels.length);
    for (const a of anomalies) {
      assert.ok(a.start >= 1024, `${a.kind} at ${a.start} inside the normal prefix`);
      assert.ok(a.end > a.start && a.end <= 2048);
      expected.fill(1, a.start, a.end);
    }
    assert.deepEqual(labels, expected);
    assert.ok(labels.subarray(0, 1024).every((v) => v === 0));
  });

  it('makes each kind visible in the data', () => {
    const clean = generateSeries({ length: 2048, channels: 8, seed: 3, anomalies: [] });
    assert.equal(clean.anomalies.length, 0);
    assert.ok(clean.labels.every((v) => v === 0));
    const C = 8;
    const at = (f: Float32Array, t: number, c: number): number => f[t * C + c]!;
    const std = (c: number): number => {
      let s = 0;
      let q = 0;
      for (let t = 0; t < 1024; t++) {
        s += at(clean.table.frames, t, c);
        q += at(clean.table.frames, t, c) ** 2;
      }
      return Math.sqrt(q / 1024 - (s / 1024) ** 2);
    };
    const g = generateSeries({
      length: 2048, channels: 8, seed: 3,
      anomalies: [
        { kind: 'spike', start: 1100, length: 1, channels: [2] },
        { kind: 'level_shift', start: 1300, length: 40, channels: [5], magnitude: 3 },
        { kind: 'burst', start: 1500, length: 40 },
        { kind: 'stuck', start: 1700, length: 50, channels: [6] },
        { kind: 'frequency', start: 1850, length: 60, channels: [0] },
      ],
    });
    const f = g.table.frames;
    const diff = (t: number, c: number): number => at(f, t, c) - at(clean.table.frames, t, c);
    assert.ok(Math.abs(diff(1100, 2)) > 4 * std(2), 'spike');
    assert.ok(Math.abs(diff(1320, 5)) > 2 * std(5), 'level shift');
    const burst = g.anomalies.find((a) => a.kind === 'burst')!;
    // Traffic channels (0, 1, 2, 7) and their followers (cpu 3, latency 4) all rise at the plateau.
    assert.deepEqual(burst.channels, [0, 1, 2, 3, 4, 7]);
    for (const c of burst.channels) assert.ok(diff(1520, c) > 1.5 * std(c), `burst channel ${c}`);
    for (let t = 1700; t < 1750; t++) assert.equal(at(f, t, 6), at(f, 1700, 6), 'stuck');
    let changed = 0;
    for (let t = 1850; t < 1910; t++) changed += Math.abs(diff(t, 0));
    assert.ok(changed / 60 > 0.3 * std(0), 'frequency change');
    // Outside the anomalies the series equals the clean one: anomalies do not leak.
    for (let t = 0; t < 1100; t++) for (let c = 0; c < C; c++) assert.equal(at(f, t, c), at(clean.table.frames, t, c));
  });

  it('builds correlated channels (traffic in/out, connections move together)', () => {
    const C = 8;
    const col = (c: number): number[] => Array.from({ length: 1024 }, (_, t) => base.table.frames[t * C + c]!);
    const corr = (x: number[], y: number[]): number => {
      const mx = x.reduce((a, b) => a + b) / x.length;
      const my = y.reduce((a, b) => a + b) / y.length;
      let sxy = 0;
      let sx = 0;
      let sy = 0;
      for (let i = 0; i < x.length; i++) {
        sxy += (x[i]! - mx) * (y[i]! - my);
        sx += (x[i]! - mx) ** 2;
        sy += (y[i]! - my) ** 2;
      }
      return sxy / Math.sqrt(sx * sy);
    };
    assert.ok(corr(col(0), col(1)) > 0.9);
    assert.ok(corr(col(0), col(7)) > 0.9);
    assert.ok(corr(col(0), col(3)) > 0.8);
  });

  it('supports more channels than metric types, sub-second steps and drift', () => {
    const g = generateSeries({ length: 600, channels: 11, step: 250, drift: 2, anomalies: ['spike'], normalPrefix: 0.8 });
    assert.deepEqual(g.table.channels.slice(8), ['traffic_in_2', 'traffic_out_2', 'requests_2']);
    assert.equal(g.table.timestamps[1], '2024-01-01 00:00:00.250');
    assert.equal(g.anomalies.length, 1);
    assert.ok(g.anomalies[0]!.start >= 480);
  });

  it('labels every planted anomaly per channel, plants broken correlations, and writes both labels as CSV', () => {
    const g = generateSeries({
      length: 2048, channels: 8, seed: 3,
      anomalies: [
        { kind: 'correlation', start: 1200, length: 48, channels: [0] },
        { kind: 'burst', start: 1500, length: 40 },
        { kind: 'frequency', start: 1700, length: 60, channels: [6] },
      ],
    });
    const clean = generateSeries({ length: 2048, channels: 8, seed: 3, anomalies: [] });
    const C = 8;
    // Per-channel labels are exactly the planted channels' rows.
    const expected = new Uint8Array(2048 * C);
    for (const a of g.anomalies) for (let t = a.start; t < a.end; t++) for (const c of a.channels) expected[t * C + c] = 1;
    assert.deepEqual(g.channelLabels, expected);
    assert.deepEqual(g.anomalies.find((a) => a.kind === 'burst')!.channels, [0, 1, 2, 3, 4, 7]);
    // A broken correlation keeps the channel's level but moves it against the others.
    let mean = 0;
    let cleanMean = 0;
    let cov = 0;
    for (let t = 1200; t < 1248; t++) {
      mean += g.table.frames[t * C]! / 48;
      cleanMean += clean.table.frames[t * C]! / 48;
    }
    for (let t = 1200; t < 1248; t++) cov += (g.table.frames[t * C]! - mean) * (clean.table.frames[t * C]! - cleanMean);
    assert.ok(Math.abs(mean - cleanMean) < 1e-3 * Math.abs(cleanMean), 'same level');
    assert.ok(cov < 0, 'moves against its clean self');
    // A frequency change shows on every channel type (temperature runs on its own cycle, not the load's).
    let changed = 0;
    for (let t = 1700; t < 1760; t++) changed += Math.abs(g.table.frames[t * C + 6]! - clean.table.frames[t * C + 6]!);
    assert.ok(changed / 60 > 1, `temperature moved by ${changed / 60} on average`);
    const lines = labelsCsv(g).trimEnd().split('\n');
    assert.equal(lines[0], `timestamp,label,${g.table.channels.join(',')}`);
    assert.equal(lines.length, 2049);
    assert.equal(lines[1 + 1510], `${g.table.timestamps[1510]},1,1,1,1,1,1,0,0,1`);
    assert.equal(lines[1 + 10], `${g.table.timestamps[10]},0,0,0,0,0,0,0,0,0`);
    // Quiet and noisy channels side by side.
    const noisy = generateSeries({ length: 512, channels: 2, seed: 3, anomalies: [], channelNoise: [0, 1] });
    const base = generateSeries({ length: 512, channels: 2, seed: 3, anomalies: [], noise: 0 });
    for (let t = 0; t < 512; t++) assert.ok(Math.abs(noisy.table.frames[t * 2]! - base.table.frames[t * 2]!) < 1e-3, 'channel 0 noiseless');
  });

  it('rejects bad options with ERR_INVALID_OPTION', () => {
    const bad = [
      { length: 0 }, { channels: 1.5 }, { periods: [] }, { noise: -1 }, { step: 0 }, { normalPrefix: 1 }, { channelNoise: [] }, { channelNoise: [-1] },
      { length: 100, anomalies: Array(20).fill('burst') },
      { anomalies: [{ kind: 'spike' as const, start: 4095, length: 5 }] },
      { anomalies: [{ kind: 'spike' as const, channels: [8] }] },
      { anomalies: [{ kind: 'nope' as never }] },
    ];
    for (const options of bad) {
      assert.throws(() => generateSeries(options), (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION'), JSON.stringify(options));
    }
  });
});
