// The addon's logarithms of channel attribution's error terms (native/log_terms.h) are Math.log's
// bit for bit, in both instruction-set variants, for every kind of input: the inference worker
// takes them instead of computing them in JavaScript, and the attribution's identity tests
// (test/score/attribution-hot-path.test.ts) rest on that. The whole float32 range was checked once
// (docs/benchmarks.md, per-record section); here every 4,099th bit pattern and random products.
import assert from 'node:assert/strict';
import { loadNative, type KernelIsa, type NativeBinding } from '../../src/native.js';
import { channelLogTerms, channelLogTermsJs, LOG_FLOOR, type ChannelTerm } from '../../src/score/channel-terms.js';
import { Random } from '../../src/stats/random.js';

const TERMS: ChannelTerm[] = ['channel-score', 'channel-score-squared', 'channel-score-times-score'];

function sameBits(a: Float64Array, b: Float64Array, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) assert.fail(`${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

describe('native channel log terms', function () {
  this.timeout(60_000);
  let native: NativeBinding | undefined;
  let isaBefore: KernelIsa | undefined;
  before(function () {
    try {
      native = loadNative();
    } catch {
      this.skip();
    }
    isaBefore = native!.kernelIsa();
  });
  after(() => {
    if (native && isaBefore) native.kernelIsa(isaBefore);
  });

  /** Every 4,099th float32 bit pattern (~1M values: both signs, zeros, subnormals, NaNs, infinities), as windows of 37 channels. */
  function patterns(): { cs: Float32Array; scores: Float32Array; n: number; C: number } {
    const C = 37;
    const count = Math.floor(2 ** 32 / 4099);
    const n = Math.floor(count / C);
    const bits = new Uint32Array(n * C);
    for (let i = 0; i < bits.length; i++) bits[i] = i * 4099;
    // Values fdlibm treats apart, at the start: exact powers of two, within 2^-20 of them, +-0, +-inf, NaN, the floor's neighbours.
    const special = Float32Array.of(1, 2, 0.5, 1 + 2 ** -23, 1 - 2 ** -24, 2 ** -20, 0, -0, Infinity, -Infinity, NaN, 1e-12, Math.fround(1e-12), 9.99e-13, 1.01e-12, Math.SQRT2, Math.SQRT1_2, 3.4e38, 1e-45);
    new Float32Array(bits.buffer).set(special);
    const rng = new Random(5);
    const scores = new Float32Array(n);
    for (let i = 0; i < n; i++) scores[i] = i % 97 === 0 ? [0, NaN, Infinity, -1][i % 4]! : Math.exp(rng.normal() * 5);
    return { cs: new Float32Array(bits.buffer), scores, n, C };
  }

  for (const isa of ['avx512', 'avx2', 'baseline'] as const) {
    it(`${isa}: Math.log's bits for every term, over the float32 range and random products`, function () {
      if ((isa === 'avx2' && !native!.cpuHasAvx2) || (isa === 'avx512' && !native!.cpuHasAvx512)) this.skip();
      native!.kernelIsa(isa);
      const { cs, scores, n, C } = patterns();
      for (const term of TERMS) {
        const want = new Float64Array(n * C);
        const got = new Float64Array(n * C);
        channelLogTermsJs({ term }, cs, scores, n, C, want);
        native!.channelLogTerms(TERMS.indexOf(term) as 0 | 1 | 2, cs, scores, n, C, LOG_FLOOR, got);
        sameBits(got, want, `${term}, bit patterns`);
        // Through the function the worker calls (which picks the addon).
        got.fill(0);
        channelLogTerms({ term }, cs, scores, n, C, got);
        sameBits(got, want, `${term}, channelLogTerms`);
      }
      // Ordinary magnitudes, the batch shapes the worker sees (C not a multiple of 4, one window).
      const rng = new Random(11);
      for (const [wn, wc] of [[1024, 38], [1, 3], [7, 1], [33, 5]] as const) {
        const x = new Float32Array(wn * wc);
        const s = new Float32Array(wn);
        for (let i = 0; i < x.length; i++) x[i] = Math.exp(rng.normal() * 4);
        for (let i = 0; i < wn; i++) s[i] = Math.exp(rng.normal() * 2);
        for (const term of TERMS) {
          const want = new Float64Array(wn * wc);
          const got = new Float64Array(wn * wc);
          channelLogTermsJs({ term }, x, s, wn, wc, want);
          native!.channelLogTerms(TERMS.indexOf(term) as 0 | 1 | 2, x, s, wn, wc, LOG_FLOOR, got);
          sameBits(got, want, `${term}, ${wn} x ${wc}`);
        }
      }
    });
  }

  it('refuses arrays of the wrong length or type, an unknown term and a floor that is not a positive number', () => {
    const cs = new Float32Array(6);
    const scores = new Float32Array(2);
    const out = new Float64Array(6);
    const code = (c: string) => (e: Error & { code?: string }) => e.code === c;
    assert.throws(() => native!.channelLogTerms(0, cs, scores, 2, 4, LOG_FLOOR, out), code('ERR_BAD_SHAPE'));
    assert.throws(() => native!.channelLogTerms(0, cs, new Float32Array(3), 2, 3, LOG_FLOOR, out), code('ERR_BAD_SHAPE'));
    assert.throws(() => native!.channelLogTerms(0, cs, scores, 2, 3, LOG_FLOOR, new Float64Array(5)), code('ERR_BAD_SHAPE'));
    assert.throws(() => native!.channelLogTerms(0, cs, scores, 2, 3, LOG_FLOOR, new Float32Array(6) as unknown as Float64Array), code('ERR_BAD_SHAPE'));
    assert.throws(() => native!.channelLogTerms(3 as 0, cs, scores, 2, 3, LOG_FLOOR, out), code('ERR_INVALID_OPTION'));
    assert.throws(() => native!.channelLogTerms(0, cs, scores, 2, 3, 0, out), code('ERR_INVALID_OPTION'));
    assert.throws(() => native!.channelLogTerms(0, cs, scores, 2, 3, NaN, out), code('ERR_INVALID_OPTION'));
    native!.channelLogTerms(0, cs, scores, 2, 3, LOG_FLOOR, out);
    assert.deepEqual(Array.from(out), new Array(6).fill(Math.log(LOG_FLOOR)));
  });
});
