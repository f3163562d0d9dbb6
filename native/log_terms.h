// The natural logarithms of channel attribution's error terms (src/score/channel-terms.ts,
// `channelLogTerms`), bit for bit what JavaScript's Math.log returns for the same doubles.
//
// V8's Math.log is fdlibm's __ieee754_log (v8/src/base/ieee754.cc), so this is fdlibm's algorithm:
// x = 2^k * (1 + f) with 1 + f in [sqrt(2)/2, sqrt(2)), s = f / (2 + f), and
// ln(1 + f) = f - s * (f - R(s^2)) (or the hfsq form near the middle of the range), R the
// Remez polynomial Lg1..Lg7; every operation a plain IEEE double operation in fdlibm's order
// (built with -ffp-contract=off: a fused multiply-add would round differently).
//
// At window 1 a batch of 1,024 records of 38 channels takes ~39,000 logarithms, as long as
// onnxruntime takes for a cheap graph; Math.log costs ~8 ns each (a call out of the JIT's code
// and the algorithm's dependent chain), the AVX2 variant here computes four lanes at a time.
#pragma once

#include <cstdint>

namespace seismo::logterms {

// How a channel's error term e_c is read from the graph's outputs (ChannelTerm in TypeScript).
enum Term : int32_t {
  kChannelScore = 0,         // e_c = channel_score[c]
  kChannelScoreSquared = 1,  // e_c = channel_score[c]^2
  kChannelScoreTimesScore = 2,  // e_c = channel_score[c] * score
};

// fdlibm's constants (hexadecimal: their exact bits).
constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3fe62e42fee00000
constexpr double kLn2Lo = 1.90821492927058770002e-10;  // 0x3dea39ef35793c76
constexpr double kTwo54 = 1.80143985094819840000e+16;  // 0x4350000000000000
constexpr double kLg1 = 6.666666666666735130e-01;      // 0x3fe5555555555593
constexpr double kLg2 = 3.999999999940941908e-01;      // 0x3fd999999997fa04
constexpr double kLg3 = 2.857142874366239149e-01;      // 0x3fd2492494229359
constexpr double kLg4 = 2.222219843214978396e-01;      // 0x3fcc71c51d8e78af
constexpr double kLg5 = 1.818357216161805012e-01;      // 0x3fc7466496cb03de
constexpr double kLg6 = 1.531383769920937332e-01;      // 0x3fc39a09d078c69f
constexpr double kLg7 = 1.479819860511658591e-01;      // 0x3fc2f112df3e5244

struct LogTermsArgs {
  Term term;
  const float* channel_scores;  // [n, C]
  const float* scores;          // [n]
  int64_t n;
  int64_t channels;
  double floor;  // e_c below it (and NaN) take it instead: ln max(e_c, floor)
  double* out;   // [n, C]
};

// fdlibm's log of one double (any input: NaN, infinities, zeros, subnormals as Math.log).
double Log(double x);

// out[i, c] = Log(e > floor ? e : floor), e = e_c of window i, channel c; one variant per
// instruction set, the same values bit for bit.
namespace baseline {
void ChannelLogTerms(const LogTermsArgs& a);
// out[i] = Log(x[i]) for i in [0, count).
void Logs(const double* x, int64_t count, double* out);
}
namespace avx2 {
void ChannelLogTerms(const LogTermsArgs& a);
void Logs(const double* x, int64_t count, double* out);
}

}  // namespace seismo::logterms
