// The rows of the batch attribution (log_terms_rows.h) four channels at a time: every lane the
// scalar form's operations in its order (IEEE operations are exact per lane, so the same bits),
// the choices (the sign, the floor of the spread, which term wins, whether the memory takes a
// value) as blends. Built with -mavx2 and -ffp-contract=off, without -mfma; chosen at run time
// with the kernels (kernels_dispatch.cc).
#include <immintrin.h>

#include "log_terms_rows.h"

namespace seismo::logterms::avx2 {

namespace {

// Track on four lanes: center + rate*scale*sign (d for +-0, -1 for NaN), and the spread floored.
inline void Track4(double* center, double* scale, int64_t c, __m256d d, __m256d rate, __m256d min_scale) {
  const __m256d m = _mm256_loadu_pd(center + c);
  const __m256d s = _mm256_loadu_pd(scale + c);
  const __m256d step = _mm256_mul_pd(rate, s);
  const __m256d zero = _mm256_setzero_pd();
  const __m256d sign = _mm256_blendv_pd(_mm256_set1_pd(-1.0), _mm256_set1_pd(1.0), _mm256_cmp_pd(d, zero, _CMP_GT_OQ));
  // d != 0 is true for NaN (unordered), as in C++ and TypeScript.
  const __m256d mult = _mm256_blendv_pd(d, sign, _mm256_cmp_pd(d, zero, _CMP_NEQ_UQ));
  _mm256_storeu_pd(center + c, _mm256_add_pd(m, _mm256_mul_pd(step, mult)));
  const __m256d absd = _mm256_andnot_pd(_mm256_set1_pd(-0.0), d);
  const __m256d spread = _mm256_add_pd(s, _mm256_mul_pd(rate, _mm256_sub_pd(_mm256_mul_pd(_mm256_set1_pd(1.2533), absd), s)));
  const __m256d keep = _mm256_or_pd(_mm256_cmp_pd(spread, min_scale, _CMP_GT_OQ), _mm256_cmp_pd(spread, spread, _CMP_UNORD_Q));
  _mm256_storeu_pd(scale + c, _mm256_blendv_pd(min_scale, spread, keep));
}

// The float lanes of `mask` (four 64-bit lane masks) as a 128-bit float mask.
inline __m128 FloatMask(__m256d mask) {
  const __m256i low = _mm256_permutevar8x32_epi32(_mm256_castpd_si256(mask), _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
  return _mm_castsi128_ps(_mm256_castsi256_si128(low));
}

}  // namespace

void ErrorRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool step, const RowSettings& s) {
  const __m256d rate = _mm256_set1_pd(s.rate);
  const __m256d min_scale = _mm256_set1_pd(s.min_scale);
  int64_t c = 0;
  for (; c + 4 <= C; c += 4) {
    const __m256d d = _mm256_sub_pd(_mm256_loadu_pd(logs + c), _mm256_loadu_pd(center + c));
    _mm_storeu_ps(row + c, _mm256_cvtpd_ps(_mm256_div_pd(d, _mm256_loadu_pd(scale + c))));
    if (step) Track4(center, scale, c, d, rate, min_scale);
  }
  ErrorRowScalar(logs, center, scale, row, c, C, step, s);
}

void ActivityRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool use, bool step, const RowSettings& s) {
  const __m256d rate = _mm256_set1_pd(s.rate);
  const __m256d min_scale = _mm256_set1_pd(s.min_scale);
  const __m256d margin = _mm256_set1_pd(s.margin);
  const __m256d sign_bit = _mm256_set1_pd(-0.0);
  int64_t c = 0;
  for (; c + 4 <= C; c += 4) {
    const __m256d d = _mm256_sub_pd(_mm256_loadu_pd(logs + c), _mm256_loadu_pd(center + c));
    if (use) {
      const __m256d za = _mm256_div_pd(d, _mm256_loadu_pd(scale + c));
      // |za| clears the sign bit, -za flips it: fabs and unary minus, bit for bit.
      const __m256d evidence = _mm256_sub_pd(s.two_sided ? _mm256_andnot_pd(sign_bit, za) : _mm256_xor_pd(sign_bit, za), margin);
      const __m128 rf = _mm_loadu_ps(row + c);
      const __m256d r = _mm256_cvtps_pd(rf);
      // A lane keeps its float as it is (every bit) or takes the evidence rounded once.
      _mm_storeu_ps(row + c, _mm_blendv_ps(rf, _mm256_cvtpd_ps(evidence), FloatMask(_mm256_cmp_pd(evidence, r, _CMP_GT_OQ))));
    }
    if (step) Track4(center, scale, c, d, rate, min_scale);
  }
  ActivityRowScalar(logs, center, scale, row, c, C, use, step, s);
}

void MemoryRow(float* state, float* row, int64_t C, double w) {
  const __m256d wv = _mm256_set1_pd(w);
  const __m256d keep = _mm256_set1_pd(1 - w);
  const __m256d inf = _mm256_set1_pd(INFINITY);
  int64_t c = 0;
  for (; c + 4 <= C; c += 4) {
    const __m128 vf = _mm_loadu_ps(row + c);
    const __m128 sf = _mm_loadu_ps(state + c);
    const __m256d v = _mm256_cvtps_pd(vf);
    const __m256d avg = _mm256_add_pd(_mm256_mul_pd(keep, _mm256_cvtps_pd(sf)), _mm256_mul_pd(wv, v));
    // isfinite(v): |v| < inf (false for NaN); other lanes keep every bit of the state and the row.
    const __m128 finite = FloatMask(_mm256_cmp_pd(_mm256_andnot_pd(_mm256_set1_pd(-0.0), v), inf, _CMP_LT_OQ));
    const __m128 avgf = _mm256_cvtpd_ps(avg);
    _mm_storeu_ps(state + c, _mm_blendv_ps(sf, avgf, finite));
    _mm_storeu_ps(row + c, _mm_blendv_ps(vf, avgf, finite));
  }
  MemoryRowScalar(state, row, c, C, w);
}

}  // namespace seismo::logterms::avx2
