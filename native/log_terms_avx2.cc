// The AVX2 loop of the channel log terms (log_terms.h): fdlibm's log on four doubles at a time,
// the same operations in the same order as the scalar Log, so the same bits. Built with -mavx2
// and without -mfma (no fused multiply-add may replace a multiply and an add); chosen at run time
// with the kernels (kernels_dispatch.cc). Lanes fdlibm treats apart (+inf, |f| < 2^-20, ...) are
// rare and go through the scalar Log, four at a time.
#include <immintrin.h>

#include "log_terms.h"

namespace seismo::logterms::avx2 {

namespace {

// ln of four doubles (any: the lanes fdlibm treats apart go through the scalar Log).
inline void Log4(__m256d x, double* out) {
  const __m256i bits = _mm256_castpd_si256(x);
  const __m256i hx = _mm256_srli_epi64(bits, 32);
  const __m256i hxm = _mm256_and_si256(hx, _mm256_set1_epi64x(0x000fffff));
  // Lanes fdlibm treats apart: +inf, NaN and negatives (high word above 0x7fefffff), zeros and
  // subnormals (below 0x00100000), and |f| < 2^-20.
  const __m256i big = _mm256_or_si256(_mm256_cmpgt_epi64(hx, _mm256_set1_epi64x(0x7fefffff)), _mm256_cmpgt_epi64(_mm256_set1_epi64x(0x00100000), hx));
  const __m256i near = _mm256_cmpgt_epi64(_mm256_set1_epi64x(3), _mm256_and_si256(_mm256_add_epi64(hxm, _mm256_set1_epi64x(2)), _mm256_set1_epi64x(0x000fffff)));
  if (_mm256_movemask_pd(_mm256_castsi256_pd(_mm256_or_si256(big, near))) != 0) {
    alignas(32) double xs[4];
    _mm256_store_pd(xs, x);
    for (int l = 0; l < 4; l++) out[l] = Log(xs[l]);
    return;
  }
  const __m256i i = _mm256_and_si256(_mm256_add_epi64(hxm, _mm256_set1_epi64x(0x95f64)), _mm256_set1_epi64x(0x100000));
  const __m256i high = _mm256_or_si256(hxm, _mm256_xor_si256(i, _mm256_set1_epi64x(0x3ff00000)));
  const __m256d xn = _mm256_castsi256_pd(_mm256_or_si256(_mm256_slli_epi64(high, 32), _mm256_and_si256(bits, _mm256_set1_epi64x(0xffffffffLL))));
  const __m256i k = _mm256_add_epi64(_mm256_sub_epi64(_mm256_srli_epi64(hx, 20), _mm256_set1_epi64x(1023)), _mm256_srli_epi64(i, 20));
  // (double)k exactly (AVX2 has no int64 -> double): k added to the low bits of 1.5 * 2^52, which is then taken away.
  const __m256d magic = _mm256_set1_pd(6755399441055744.0);
  const __m256d dk = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(magic), k)), magic);
  const __m256d f = _mm256_sub_pd(xn, _mm256_set1_pd(1.0));
  const __m256d s = _mm256_div_pd(f, _mm256_add_pd(_mm256_set1_pd(2.0), f));
  const __m256d z = _mm256_mul_pd(s, s);
  const __m256d w = _mm256_mul_pd(z, z);
  const __m256d t1 = _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg2), _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg4), _mm256_mul_pd(w, _mm256_set1_pd(kLg6))))));
  const __m256d t2 = _mm256_mul_pd(z, _mm256_add_pd(_mm256_set1_pd(kLg1), _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg3), _mm256_mul_pd(w, _mm256_add_pd(_mm256_set1_pd(kLg5), _mm256_mul_pd(w, _mm256_set1_pd(kLg7))))))));
  const __m256d R = _mm256_add_pd(t2, t1);
  // fdlibm's (hx - 0x6147a) | (0x6b851 - hx) > 0: the hfsq form near the middle of the range.
  const __m256i sel = _mm256_or_si256(_mm256_sub_epi64(hxm, _mm256_set1_epi64x(0x6147a)), _mm256_sub_epi64(_mm256_set1_epi64x(0x6b851), hxm));
  const __m256d middle = _mm256_castsi256_pd(_mm256_cmpgt_epi64(sel, _mm256_setzero_si256()));
  // fdlibm's k == 0 forms (f - (...)) are the k != 0 forms with dk = 0 bit for bit (x + 0 and
  // x - 0 are x there, and a - b = -(b - a) in round-to-nearest), so one form serves every k.
  const __m256d hi = _mm256_mul_pd(dk, _mm256_set1_pd(kLn2Hi));
  const __m256d lo = _mm256_mul_pd(dk, _mm256_set1_pd(kLn2Lo));
  const __m256d hfsq = _mm256_mul_pd(_mm256_mul_pd(_mm256_set1_pd(0.5), f), f);
  // dk*ln2_hi - ((hfsq - (s*(hfsq+R) + dk*ln2_lo)) - f)
  const __m256d r1 = _mm256_sub_pd(hi, _mm256_sub_pd(_mm256_sub_pd(hfsq, _mm256_add_pd(_mm256_mul_pd(s, _mm256_add_pd(hfsq, R)), lo)), f));
  // dk*ln2_hi - ((s*(f-R) - dk*ln2_lo) - f)
  const __m256d r2 = _mm256_sub_pd(hi, _mm256_sub_pd(_mm256_sub_pd(_mm256_mul_pd(s, _mm256_sub_pd(f, R)), lo), f));
  _mm256_storeu_pd(out, _mm256_blendv_pd(r2, r1, middle));
}

// e floored: e > floor ? e : floor (a NaN takes the floor, as in TypeScript).
inline __m256d Floor(__m256d e, __m256d floor) { return _mm256_blendv_pd(floor, e, _mm256_cmp_pd(e, floor, _CMP_GT_OQ)); }

inline double FloorScalar(double e, double floor) { return e > floor ? e : floor; }

}  // namespace

void ChannelLogTerms(const LogTermsArgs& a) {
  const __m256d floor = _mm256_set1_pd(a.floor);
  const int64_t C = a.channels;
  if (a.term != kChannelScoreTimesScore) {
    // No per-window factor: the [n, C] values as one run.
    const bool squared = a.term == kChannelScoreSquared;
    const int64_t total = a.n * C;
    int64_t i = 0;
    for (; i + 4 <= total; i += 4) {
      __m256d e = _mm256_cvtps_pd(_mm_loadu_ps(a.channel_scores + i));
      if (squared) e = _mm256_mul_pd(e, e);
      Log4(Floor(e, floor), a.out + i);
    }
    for (; i < total; i++) {
      const double v = a.channel_scores[i];
      a.out[i] = Log(FloorScalar(squared ? v * v : v, a.floor));
    }
    return;
  }
  for (int64_t w = 0; w < a.n; w++) {
    const double score = a.scores[w];
    const __m256d s4 = _mm256_set1_pd(score);
    const float* cs = a.channel_scores + w * C;
    double* out = a.out + w * C;
    int64_t c = 0;
    for (; c + 4 <= C; c += 4) Log4(Floor(_mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(cs + c)), s4), floor), out + c);
    for (; c < C; c++) out[c] = Log(FloorScalar(static_cast<double>(cs[c]) * score, a.floor));
  }
}

void Logs(const double* x, int64_t count, double* out) {
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) Log4(_mm256_loadu_pd(x + i), out + i);
  for (; i < count; i++) out[i] = Log(x[i]);
}

}  // namespace seismo::logterms::avx2
