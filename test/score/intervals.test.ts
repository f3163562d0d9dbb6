// Anomaly intervals: the gap rule, the streaming merger on a real detector, the batch function
// over a score table, and `seismo detect --events`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerDetect } from '../../src/cli/detect.js';
import { Detector } from '../../src/detector/index.js';
import { writeSeriesCsv } from '../../src/ingest/csv.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { IntervalMerger, mergeIntervals, type AnomalyInterval } from '../../src/score/intervals.js';
import { scoreTable } from '../../src/score/score-table.js';
import { runCli } from '../helpers/run-cli.js';
import { tinyModel } from '../helpers/tiny-model.js';

describe('intervals: the gap rule', () => {
  /** Feeds windows 0..n-1 of one series; `anomalous` lists the anomalous ones. */
  function feed(merger: IntervalMerger, n: number, anomalous: number[], score = (w: number) => 1 + w / 100): void {
    for (let w = 0; w < n; w++) {
      const a = anomalous.includes(w);
      merger.window('s', 1000 + w, a, a ? score(w) : 0.1, 0.5, a ? [{ name: 'cpu', score: 3 }, { name: 'mem', score: 1 }] : []);
    }
  }

  it('merges anomalous windows at most maxGap normal windows apart, and closes at the next normal window', () => {
    const out: AnomalyInterval[] = [];
    const merger = new IntervalMerger({ maxGap: 2 });
    merger.on('interval', (i) => out.push(i));
    // 3,4 | gap of 2 | 7 -> one interval; gap of 3 after 7 -> closed at window 10; 12 -> another.
    feed(merger, 14, [3, 4, 7, 12]);
    assert.equal(out.length, 1, 'the first interval closed at the 3rd normal window after 7');
    assert.deepEqual({ start: out[0]!.start, end: out[0]!.end, windows: out[0]!.windows }, { start: 1003, end: 1007, windows: 3 });
    assert.equal(out[0]!.peakTimestamp, 1007);
    assert.ok(Math.abs(out[0]!.peakScore - 1.07) < 1e-12);
    assert.ok(Math.abs(out[0]!.severity! - 1.07 / 0.5) < 1e-12, 'severity = peak / threshold');
    assert.deepEqual(out[0]!.channels, [{ name: 'cpu', share: 0.75 }, { name: 'mem', share: 0.25 }]);
    // The interval of window 12 is still open: the stream has not shown 3 normal windows after it.
    const rest = merger.flush();
    assert.equal(rest.length, 1);
    assert.equal(rest[0]!.start, 1012);
    assert.equal(out.length, 2, 'flush emits too');
  });

  it('maxGap 0 merges only consecutive windows; options are checked', () => {
    const merger = new IntervalMerger({ maxGap: 0 });
    const out: AnomalyInterval[] = [];
    merger.on('interval', (i) => out.push(i));
    feed(merger, 10, [1, 2, 4]);
    merger.flush();
    assert.deepEqual(out.map((i) => [i.start, i.end]), [[1001, 1002], [1004, 1004]]);
    assert.throws(() => new IntervalMerger({ maxGap: -1 }), { code: 'ERR_INVALID_OPTION' });
    assert.throws(() => new IntervalMerger({ topChannels: 0 }), { code: 'ERR_INVALID_OPTION' });
  });

  it('mergeIntervals over a score table: shares from the per-channel scores, severity null without a threshold', () => {
    const timestamps = [10, 20, 30, 40, 50, 60];
    const anomalies = [0, 1, 1, 0, 0, 1];
    const scores = [0.1, 2, 3, 0.1, 0.1, 5];
    const channelScores = [0, 0, 1, 1, 0, 3, 0, 0, 0, 0, 4, 1];
    const out = mergeIntervals({ timestamps, scores, anomalies, thresholds: [1, 1, 1, 1, 1, NaN], channelScores, channels: ['a', 'b'] }, { maxGap: 1 });
    assert.equal(out.length, 2);
    assert.deepEqual([out[0]!.start, out[0]!.end, out[0]!.windows, out[0]!.peakTimestamp, out[0]!.severity], [20, 30, 2, 30, 3]);
    assert.deepEqual(out[0]!.channels, [{ name: 'b', share: 0.8 }, { name: 'a', share: 0.2 }]);
    assert.equal(out[1]!.severity, null);
    assert.throws(() => mergeIntervals({ timestamps: [1], scores: [1, 2], anomalies: [0, 1] }), { code: 'ERR_BAD_SHAPE' });
  });
});

describe('intervals: on a detector and in seismo detect', function () {
  this.timeout(120_000);
  let dir = '';
  const series = generateSeries({ length: 900, channels: 3, seed: 11, periods: [48, 12], normalPrefix: 0.3 });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-intervals-'));
    await writeSeriesCsv(path.join(dir, 'live.csv'), series.table);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('IntervalMerger.attach gives what mergeIntervals gives on the same scores, per series', async () => {
    const model = await tinyModel();
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, topChannels: 3 });
    try {
      const merger = IntervalMerger.attach(detector);
      const streamed: AnomalyInterval[] = [];
      merger.on('interval', (i) => streamed.push(i));
      const s = await scoreTable(detector, series.table.time, series.table.frames, { seriesId: 'a' });
      merger.flush();
      merger.detach();
      const times = Float64Array.from(s.endRows, (r) => series.table.time[r]!);
      const gap = Math.ceil(detector.window / detector.stride);
      const batch = mergeIntervals({ timestamps: times, scores: s.scores, anomalies: s.anomalies, thresholds: s.thresholds, channelScores: s.channelScores, channels: detector.channels }, { maxGap: gap, seriesId: 'a' });
      assert.ok(streamed.length > 0, 'the planted anomalies make intervals');
      assert.ok(streamed.length < s.anomalies.reduce((a, b) => a + b, 0), 'fewer intervals than anomalous windows');
      assert.deepEqual(
        streamed.map((i) => [i.seriesId, i.start, i.end, i.windows, i.peakTimestamp, i.severity]),
        batch.map((i) => [i.seriesId, i.start, i.end, i.windows, i.peakTimestamp, i.severity]),
      );
      // Streaming shares come from the anomaly events' channel contributions (however the
      // detector attributes them), the batch ones from the channel scores: both are shares.
      for (const i of streamed) {
        assert.ok(i.channels.length >= 1 && i.channels.length <= 3);
        assert.ok(i.channels.every((c, j) => c.share > 0 && c.share <= 1 && (j === 0 || c.share <= i.channels[j - 1]!.share)));
        assert.ok(i.channels.reduce((a, c) => a + c.share, 0) <= 1 + 1e-9);
      }
    } finally {
      await detector.close();
    }
  });

  it('seismo detect --events writes the intervals; the text and JSON list them', async () => {
    const model = await tinyModel();
    const events = path.join(dir, 'events.csv');
    const r = await runCli(registerDetect, ['detect', '--model', model.dir, '--data', path.join(dir, 'live.csv'), '--stride', '1', '--events', events, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const body = JSON.parse(r.stdout);
    const out = body.result ?? body; // bare, or inside the CLI's {ok, command, result} envelope
    const lines = fs.readFileSync(events, 'utf8').trim().split('\n');
    assert.equal(lines[0], 'start,end,peak_timestamp,peak_score,severity,windows,channels');
    assert.equal(lines.length - 1, out.intervalCount);
    assert.ok(out.intervalCount > 0 && out.intervalCount < out.anomalies);
    const first = out.intervals[0];
    assert.match(first.start, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/, 'timestamps as the input wrote them');
    assert.ok(first.start <= first.peakTimestamp && first.peakTimestamp <= first.end);
    const cells = lines[1]!.split(',');
    assert.equal(cells[0], first.start);
    assert.match(cells[6]!, /^[a-z_]+:0\.\d{3}(;[a-z_]+:0\.\d{3})*$/);
    const text = await runCli(registerDetect, ['detect', '--model', model.dir, '--data', path.join(dir, 'live.csv'), '--stride', '1']);
    assert.match(text.stdout, /anomalous \(threshold .*\) in \d+ intervals:\n  \d{4}-.* \.\. .*peak .* at .*windows/);
  });
});
