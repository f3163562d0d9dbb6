// The detector's attribution hot path (outputs in a shared outbox slot, ln e_c computed in the
// inference worker, each window attributed and learnt from in one pass, no per-batch arrays when
// nobody takes batch events) gives what the reference ChannelAttribution.attribute/update and
// AttributionMemory give when replayed over the batch events, bit for bit; and what a batch event
// hands out stays as it was while later batches reuse the slot.
import assert from 'node:assert/strict';
import { Detector, type AnomalyEvent, type ScoredBatch } from '../src/detector/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { ChannelAttribution } from '../src/score/attribution.js';
import { channelTermOf, termAverageOf } from '../src/score/channel-terms.js';
import { AttributionMemory } from '../src/score/top-channels.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeModelDir } from '../src/model/model-dir.js';
import { trainModel } from '../training/index.js';
import { tinyModel, type TinyModel } from './helpers/tiny-model.js';

describe('Detector attribution hot path', function () {
  this.timeout(120_000);
  const models: Record<string, TinyModel> = {};
  const C = 3;
  const T = 700;
  const data = generateSeries({ length: T, channels: C, seed: 21, periods: [48, 12] }).table;
  const series = ['a', 'b', 'c'];

  before(async function () {
    models['lstm-ae'] = await tinyModel();
    // A per-record kind (window 1, no channel_activity): every window after the warm-up takes the
    // one-pass path with the worker's logarithms.
    const train = generateSeries({ length: 600, channels: C, seed: 11, periods: [48, 12], anomalies: [] });
    const pca = await trainModel({ kind: 'pca', frames: train.table.frames, channels: train.table.channels, config: { window: 1 }, stride: 1, seed: 3 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-test-pca-'));
    writeModelDir(dir, pca.manifest, pca.onnx);
    pca.dispose();
    models['pca'] = { dir, manifest: pca.manifest, onnx: pca.onnx };
  });

  after(() => {
    if (models['pca']) fs.rmSync(models['pca'].dir, { recursive: true, force: true });
  });

  /** Writes three series, interleaved in uneven blocks, and flushes. */
  async function feed(detector: Detector): Promise<void> {
    const at = [0, 0, 0];
    const block = [37, 64, 23];
    while (at.some((r) => r < T)) {
      for (let s = 0; s < series.length; s++) {
        const n = Math.min(block[s]!, T - at[s]!);
        if (n <= 0) continue;
        await detector.write(series[s]!, data.time.subarray(at[s]!, at[s]! + n), data.frames.subarray(at[s]! * C, (at[s]! + n) * C));
        at[s]! += n;
      }
    }
    await detector.flush();
  }

  for (const kind of ['lstm-ae', 'pca']) it(`${kind}: batch events carry the reference attribution, bit for bit, and anomaly events are the same without a batch listener`, async () => {
    const model = models[kind]!;
    // The rule: a fixed threshold at the 95th percentile of the scores, so that some windows are
    // flagged (they teach the statistics nothing) and most are not.
    const probe = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 32, maxSeries: 3 });
    const all: number[] = [];
    probe.on('batch', (b) => all.push(...b.scores));
    await feed(probe);
    await probe.close();
    all.sort((x, y) => x - y);
    const threshold = all[Math.floor(all.length * 0.95)]!;

    // activity 'none': the replay below has no channel_activity (batch events do not carry it).
    const options = { provider: 'cpu' as const, stride: 1, batchSize: 32, maxSeries: 3, maxInFlight: 2, threshold, attribution: { activity: 'none' as const, warmup: 40 } };
    const detector = await Detector.load(model.dir, options);
    const batches: ScoredBatch[] = [];
    const copies: { scores: Float32Array; channelScores: Float32Array }[] = [];
    const events: AnomalyEvent[] = [];
    detector.on('batch', (b) => {
      batches.push(b);
      copies.push({ scores: b.scores.slice(), channelScores: b.channelScores.slice() });
    });
    detector.on('anomaly', (e) => events.push(e));
    await feed(detector);
    await detector.close();

    const quiet = await Detector.load(model.dir, options);
    const quietEvents: AnomalyEvent[] = [];
    quiet.on('anomaly', (e) => quietEvents.push(e));
    await feed(quiet);
    await quiet.close();

    assert.ok(batches.length > 20, `${batches.length} batches`);
    const definition = model.manifest.score.definition;
    const reference = new ChannelAttribution(C, undefined, { average: termAverageOf(definition), activity: 'none', warmup: 40, term: channelTermOf(definition) }, 3);
    const memory = new AttributionMemory(3, C, 0.3);
    const slots = new Map<string, number>();
    let flagged = 0;
    let zRows = 0;
    for (let k = 0; k < batches.length; k++) {
      const b = batches[k]!;
      // What a listener kept is what it was handed, although the outbox slot was reused since.
      assert.deepEqual(b.scores, copies[k]!.scores);
      assert.deepEqual(b.channelScores, copies[k]!.channelScores);
      assert.equal(b.attributionSource, reference.source);
      const want = new Float32Array(b.size * C);
      for (let i = 0; i < b.size; i++) {
        const id = b.seriesIds[i]!;
        if (!slots.has(id)) slots.set(id, slots.size);
        const slot = slots.get(id)!;
        reference.attribute(b.channelScores, b.scores, undefined, i, want, i * C, slot);
        if (b.attributionSource === 'channel-z') {
          memory.apply(slot, want, i * C);
          zRows++;
        }
        if (b.anomalies[i]) flagged++;
        else reference.update(b.channelScores, b.scores, undefined, i, slot);
      }
      for (let j = 0; j < want.length; j++) assert.ok(Object.is(b.attribution[j], want[j]), `batch ${k} value ${j}: ${b.attribution[j]} vs ${want[j]}`);
    }
    assert.ok(flagged > 10 && zRows > 1000, `${flagged} flagged windows, ${zRows} rows against statistics`);
    assert.ok(events.length === flagged && events.length > 10);
    assert.deepEqual(quietEvents, events);
  });
});
