// The addon's attribution of a batch (native/log_terms_attribution.h, taken by
// ChannelAttribution.attributeAndLearnBatch once the statistics are ready) gives what the
// TypeScript loop gives, bit for bit: the rows, the tracked statistics, each series' running
// means of e_c and its attribution memory; in both instruction-set variants, with non-finite and
// extreme outputs, non-finite statistics, skipped and flagged windows, many windows of one series in a batch and series
// slots reset between batches. Without the addon (SEISMO_NATIVE=off) the TypeScript loop serves
// and gives the same bits again.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadNative, type KernelIsa, type NativeBinding } from '../../src/native.js';
import { ChannelAttribution, LEARN_WINDOW, SKIP_WINDOW, nativeAttributionBatchCount, useNativeAttribution } from '../../src/score/attribution.js';
import { AttributionMemory } from '../../src/score/top-channels.js';
import { fitChannelCalibration } from '../../src/score/channel-terms.js';
import { C, batchCases, caseWindows, resultBits, runBatchCase, type BatchCase } from '../helpers/attribution-batches.js';

/** Decodes resultBits' JSON back into arrays and compares them value by value (NaN equal to NaN, +0 unequal to -0). */
function sameResult(got: string, want: string, what: string): void {
  const g = JSON.parse(got) as Record<string, string | null>;
  const w = JSON.parse(want) as Record<string, string | null>;
  const width: Record<string, 'f32' | 'f64' | 'u8'> = { rows: 'f32', memoryState: 'f32', center: 'f64', scale: 'f64', activityCenter: 'f64', activityScale: 'f64', running: 'f64', memorySeen: 'u8', started: 'u8' };
  for (const key of Object.keys(width)) {
    assert.equal(g[key] === null, w[key] === null, `${what}: ${key} present on one side only`);
    if (g[key] === null) continue;
    const decode = (hex: string) => {
      const b = Buffer.from(hex, 'hex');
      const buf = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      return width[key] === 'f32' ? new Float32Array(buf) : width[key] === 'f64' ? new Float64Array(buf) : new Uint8Array(buf);
    };
    const a = decode(g[key]!);
    const e = decode(w[key]!);
    assert.equal(a.length, e.length, `${what}: ${key} length`);
    for (let i = 0; i < a.length; i++) if (!Object.is(a[i], e[i])) assert.fail(`${what}: ${key}[${i}] ${a[i]} vs ${e[i]}`);
  }
}

const label = (k: BatchCase) => `${k.term}, activity ${k.activity}, average ${k.average}${k.memory ? ', memory' : ''}${k.precomputed ? ', logarithms beforehand' : ''}${k.calibrated ? '' : ', warming up'}${k.oddStats ? ', non-finite statistics' : ''}`;

describe('native attribution batch', function () {
  this.timeout(120_000);
  let native: NativeBinding;
  let isaBefore: KernelIsa;
  before(() => {
    // The addon is part of the package: failing to load it here is a failure, not a skip.
    native = loadNative();
    isaBefore = native.kernelIsa();
  });
  after(() => {
    native.kernelIsa(isaBefore);
    useNativeAttribution(true);
  });

  for (const isa of ['avx512', 'avx2', 'baseline'] as const) {
    it(`${isa}: every case gives the TypeScript loop's rows, statistics, running means and memory`, function () {
      if ((isa === 'avx2' && !native.cpuHasAvx2) || (isa === 'avx512' && !native.cpuHasAvx512)) this.skip();
      native.kernelIsa(isa);
      for (const k of batchCases()) {
        useNativeAttribution(false);
        const before = nativeAttributionBatchCount();
        const want = resultBits(runBatchCase(k));
        assert.equal(nativeAttributionBatchCount(), before, 'the reference ran in TypeScript');
        useNativeAttribution(true);
        const got = resultBits(runBatchCase(k));
        assert.ok(nativeAttributionBatchCount() > before, `${label(k)}: the addon took batches`);
        sameResult(got, want, `${isa}, ${label(k)}`);
      }
    });
  }

  it('without the addon (SEISMO_NATIVE=off) the TypeScript loop gives the same bits', () => {
    native.kernelIsa(isaBefore);
    useNativeAttribution(true);
    const here = batchCases().map((k) => resultBits(runBatchCase(k)));
    const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(__dirname, '../helpers/attribution-batches.child.ts')], {
      env: { ...process.env, SEISMO_NATIVE: 'off' },
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    assert.equal(child.status, 0, child.stderr);
    const { nativeBatches, results } = JSON.parse(child.stdout) as { nativeBatches: number; results: string[] };
    assert.equal(nativeBatches, 0, 'the child had no addon');
    assert.equal(results.length, here.length);
    batchCases().forEach((k, i) => sameResult(results[i]!, here[i]!, `fallback, ${label(k)}`));
  });

  it('refuses a window slot outside the state, short arrays and unknown settings, and writes nothing then', () => {
    const { cs, scores } = caseWindows(3);
    const calibration = fitChannelCalibration(cs, scores, C, 'channel-score-squared', 0.2)!;
    const state = new ChannelAttribution(C, calibration, { term: 'channel-score-squared', average: 0.2 }, 2);
    const memory = new AttributionMemory(2, C, 0.3);
    const n = 4;
    const decisions = Uint8Array.of(LEARN_WINDOW, LEARN_WINDOW, SKIP_WINDOW, LEARN_WINDOW);
    const out = new Float32Array(n * C).fill(7);
    const code = (c: string) => (e: Error & { code?: string }) => e.code === c;
    const inner = state as unknown as { settings: Float64Array; stats: Float64Array; running: Float64Array; started: Uint8Array };
    const call = (slots: Int32Array, o = out, settings = inner.settings) =>
      native.attributeBatch(n, C, settings, cs, scores, null, null, decisions, slots, o, inner.stats, inner.running, inner.started, memory.state, memory.seen, memory.weight);
    const stats = inner.stats.slice();
    assert.throws(() => call(Int32Array.of(0, 1, 0, 2)), code('ERR_BAD_SHAPE'));
    assert.throws(() => call(Int32Array.of(0, -1, 0, 1)), code('ERR_BAD_SHAPE'));
    assert.throws(() => call(Int32Array.of(0, 1, 0, 1), new Float32Array(n * C - 1)), code('ERR_BAD_SHAPE'));
    assert.throws(() => call(Int32Array.of(0, 1, 0, 1), out, Float64Array.of(3, 0.2, 0.002, 0, 0, 1e-12, 1e-6, 0.05)), code('ERR_INVALID_OPTION'));
    assert.deepEqual(Array.from(out), new Array(n * C).fill(7), 'no row written');
    assert.deepEqual(inner.stats, stats, 'no statistic moved');
    assert.equal(inner.started.indexOf(1), -1, 'no running mean started');
    // A skipped window's slot is never read: out of range there is fine.
    call(Int32Array.of(0, 1, 5, 1));
    assert.deepEqual(Array.from(out.subarray(2 * C, 3 * C)), new Array(C).fill(7), 'the skipped row left as it was');
    assert.notDeepEqual(inner.stats, stats, 'the statistics learnt');
  });
});
