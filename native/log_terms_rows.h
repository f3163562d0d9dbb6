// One window's row of the batch attribution (log_terms_attribution.h), channel by channel: the
// scalar form, used by the baseline build for whole rows and by the AVX2 build for the channels
// past the last multiple of four. Internal linkage on purpose: this header is compiled into the
// baseline file and into the -mavx2 one, and one shared (inline) copy could be the AVX2 one on a
// CPU without AVX2. Every operation is the TypeScript's, in its order (src/score/attribution.ts,
// attributeAndLearnReady; built with -ffp-contract=off).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace seismo::logterms {

// What a row needs besides its arrays.
struct RowSettings {
  double rate;       // tracking step
  double min_scale;  // MIN_CHANNEL_SCALE
  double margin;     // activity evidence counts beyond this many z
  bool two_sided;    // |z_act| (else -z_act)
};

namespace {

// Math.sign of a non-zero number, indexed by d > 0 (NaN reads -1, as TypeScript's SIGN table):
// a branch on the sign mispredicts every other time (the median is where half the values lie).
constexpr double kSign[2] = {-1.0, 1.0};

// cond ? a : b on the bits, so that no compiler turns it into a branch: which of the error and the
// activity term wins a channel is as random as the signs.
inline float Select(bool cond, float a, float b) {
  uint32_t ua;
  uint32_t ub;
  std::memcpy(&ua, &a, sizeof ua);
  std::memcpy(&ub, &b, sizeof ub);
  const uint32_t mask = 0u - static_cast<uint32_t>(cond);
  const uint32_t r = (ua & mask) | (ub & ~mask);
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

// `Math.max(min, v)` after `v > min` failed: NaN stays NaN (std::max would return min).
inline double FloorScale(double v, double min) { return v > min ? v : (v != v ? v : min); }

// ChannelTracker's step on one channel (attributeAndLearnReady's inline form): the median moves by
// rate * scale towards the value, the spread by rate of the gap. `d` is value - center.
inline void Track(double* center, double* scale, int64_t c, double d, double rate, double min_scale) {
  const double m = center[c];
  const double s = scale[c];
  const double step = rate * s;
  // SIGN[+(d > 0)] for d != 0 (NaN included, as in TypeScript), Math.sign(d) = d for +-0.
  center[c] = d != 0 ? m + step * kSign[d > 0] : m + step * d;
  scale[c] = FloorScale(s + rate * (1.2533 * std::fabs(d) - s), min_scale);
}

// Channels [from, C): row = (ln e - center) / scale, then the tracking step when `step`.
inline void ErrorRowScalar(const double* logs, double* center, double* scale, float* row, int64_t from, int64_t C, bool step, const RowSettings& s) {
  for (int64_t c = from; c < C; c++) {
    const double d = logs[c] - center[c];
    row[c] = static_cast<float>(d / scale[c]);
    if (step) Track(center, scale, c, d, s.rate, s.min_scale);
  }
}

// Channels [from, C): the activity's evidence where it beats the row's error z (when `use`), then
// the tracking step when `step`.
inline void ActivityRowScalar(const double* logs, double* center, double* scale, float* row, int64_t from, int64_t C, bool use, bool step, const RowSettings& s) {
  for (int64_t c = from; c < C; c++) {
    const double d = logs[c] - center[c];
    if (use) {
      const double za = d / scale[c];
      const double evidence = (s.two_sided ? std::fabs(za) : -za) - s.margin;
      const float r = row[c];
      row[c] = Select(evidence > static_cast<double>(r), static_cast<float>(evidence), r);
    }
    if (step) Track(center, scale, c, d, s.rate, s.min_scale);
  }
}

// Channels [from, C) of AttributionMemory.apply for a series seen before: finite values folded
// into its average, which the row then reads.
inline void MemoryRowScalar(float* state, float* row, int64_t from, int64_t C, double w) {
  const double keep = 1 - w;
  for (int64_t c = from; c < C; c++) {
    const double v = row[c];
    if (!std::isfinite(v)) continue;
    const double avg = keep * static_cast<double>(state[c]) + w * v;
    state[c] = static_cast<float>(avg);
    row[c] = static_cast<float>(avg);
  }
}

}  // namespace

// Whole rows, one variant per instruction set (the same bits).
namespace baseline {
void ErrorRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool step, const RowSettings& s);
void ActivityRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool use, bool step, const RowSettings& s);
void MemoryRow(float* state, float* row, int64_t C, double w);
}  // namespace baseline
namespace avx2 {
void ErrorRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool step, const RowSettings& s);
void ActivityRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool use, bool step, const RowSettings& s);
void MemoryRow(float* state, float* row, int64_t C, double w);
}  // namespace avx2

}  // namespace seismo::logterms
