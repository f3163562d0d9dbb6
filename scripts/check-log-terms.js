#!/usr/bin/env node
// Checks the addon's channel log terms (native/log_terms.h) against Math.log over every float32
// bit pattern (2^32 inputs: both signs, zeros, subnormals, NaNs, infinities) for the term
// `channel-score`, and over random products for the other two terms, in one instruction-set
// variant: `node scripts/check-log-terms.js [avx2|baseline] [stride]` (after `npm run build`;
// ~2-4 minutes per variant). Exits 1 on the first mismatches it lists.
'use strict';
const { loadNative } = require('../dist/src/native.js');
const { LOG_FLOOR } = require('../dist/src/score/channel-terms.js');

const native = loadNative();
if (process.argv[2]) native.kernelIsa(process.argv[2]);
const stride = Number(process.argv[3] ?? 1);
const CHUNK = 1 << 20;
const bits = new Uint32Array(CHUNK);
const values = new Float32Array(bits.buffer);
const out = new Float64Array(CHUNK);
const t0 = Date.now();
let checked = 0;
let bad = 0;
const report = (what, got, want) => {
  if (bad++ < 10) console.log(`mismatch ${what}: ${got} vs Math.log's ${want}`);
};
for (let base = 0; base < 2 ** 32; base += CHUNK * stride) {
  let m = 0;
  while (m < CHUNK && base + m * stride < 2 ** 32) {
    bits[m] = base + m * stride;
    m++;
  }
  native.channelLogTerms(0, values.subarray(0, m), new Float32Array(1), 1, m, LOG_FLOOR, out.subarray(0, m));
  for (let j = 0; j < m; j++) {
    const e = values[j];
    const want = Math.log(e > LOG_FLOOR ? e : LOG_FLOOR);
    if (!Object.is(out[j], want)) report(`bits 0x${bits[j].toString(16)}`, out[j], want);
  }
  checked += m;
}
// The squared and the product terms: e is a double there, so random magnitudes instead.
const n = 4096;
const C = 37;
const cs = new Float32Array(n * C);
const scores = new Float32Array(n);
const o = new Float64Array(n * C);
for (let round = 0; round < 100; round++) {
  for (let i = 0; i < cs.length; i++) cs[i] = Math.exp((Math.random() - 0.5) * 80) * (Math.random() < 0.01 ? -1 : 1);
  for (let i = 0; i < n; i++) scores[i] = Math.exp((Math.random() - 0.5) * 60);
  for (const term of [1, 2]) {
    native.channelLogTerms(term, cs, scores, n, C, LOG_FLOOR, o);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < C; c++) {
        const v = cs[i * C + c];
        const e = term === 1 ? v * v : v * scores[i];
        const want = Math.log(e > LOG_FLOOR ? e : LOG_FLOOR);
        if (!Object.is(o[i * C + c], want)) report(`term ${term} of ${v} (score ${scores[i]})`, o[i * C + c], want);
      }
    }
    checked += n * C;
  }
}
console.log(`${native.kernelIsa()}: ${checked} logarithms checked, ${bad} mismatches (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
process.exit(bad === 0 ? 0 : 1);
