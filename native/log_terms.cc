// fdlibm's log and the baseline (x86-64 SSE2) loop of the channel log terms; see log_terms.h.
#include "log_terms.h"

#include <cstring>

namespace seismo::logterms {


double Log(double x) {
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  int32_t hx = static_cast<int32_t>(bits >> 32);
  const uint32_t lx = static_cast<uint32_t>(bits);
  int32_t k = 0;
  if (hx < 0x00100000) {  // x < 2^-1022
    if (((hx & 0x7fffffff) | lx) == 0) return -kTwo54 / 0.0;  // log(+-0) = -inf
    if (hx < 0) return (x - x) / 0.0;                         // log(-x) = NaN
    k -= 54;  // subnormal: scale up
    x *= kTwo54;
    std::memcpy(&bits, &x, sizeof bits);
    hx = static_cast<int32_t>(bits >> 32);
  }
  if (hx >= 0x7ff00000) return x + x;  // +inf, NaN
  k += (hx >> 20) - 1023;
  hx &= 0x000fffff;
  int32_t i = (hx + 0x95f64) & 0x100000;
  // x, or x / 2, with the exponent of [sqrt(2)/2, sqrt(2)).
  bits = (static_cast<uint64_t>(static_cast<uint32_t>(hx | (i ^ 0x3ff00000))) << 32) | (bits & 0xffffffffu);
  std::memcpy(&x, &bits, sizeof x);
  k += i >> 20;
  const double f = x - 1.0;
  const double dk = static_cast<double>(k);
  if ((0x000fffff & (2 + hx)) < 3) {  // -2^-20 <= f < 2^-20
    if (f == 0.0) return k == 0 ? 0.0 : dk * kLn2Hi + dk * kLn2Lo;
    const double R = f * f * (0.5 - 0.33333333333333333 * f);
    return k == 0 ? f - R : dk * kLn2Hi - ((R - dk * kLn2Lo) - f);
  }
  const double s = f / (2.0 + f);
  const double z = s * s;
  i = hx - 0x6147a;
  const double w = z * z;
  const int32_t j = 0x6b851 - hx;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  i |= j;
  const double R = t2 + t1;
  if (i > 0) {
    const double hfsq = 0.5 * f * f;
    return k == 0 ? f - (hfsq - s * (hfsq + R)) : dk * kLn2Hi - ((hfsq - (s * (hfsq + R) + dk * kLn2Lo)) - f);
  }
  return k == 0 ? f - s * (f - R) : dk * kLn2Hi - ((s * (f - R) - dk * kLn2Lo) - f);
}

namespace baseline {

void ChannelLogTerms(const LogTermsArgs& a) {
  const int64_t C = a.channels;
  for (int64_t i = 0; i < a.n; i++) {
    const double score = a.scores[i];
    const float* cs = a.channel_scores + i * C;
    double* out = a.out + i * C;
    for (int64_t c = 0; c < C; c++) {
      const double v = cs[c];
      const double e = a.term == kChannelScore ? v : a.term == kChannelScoreSquared ? v * v : v * score;
      out[c] = Log(e > a.floor ? e : a.floor);
    }
  }
}

void Logs(const double* x, int64_t count, double* out) {
  for (int64_t i = 0; i < count; i++) out[i] = Log(x[i]);
}

}  // namespace baseline
}  // namespace seismo::logterms
