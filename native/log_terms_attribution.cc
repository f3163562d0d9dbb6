// The attribution of a batch (log_terms_attribution.h). Each line names the TypeScript it mirrors
// in src/score/attribution.ts; built with -ffp-contract=off, so that every multiply and add rounds
// as JavaScript's do.
#include "log_terms_attribution.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace seismo::logterms {

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

}  // namespace

void AttributeBatch(const AttributionArgs& a, bool avx2) {
  const int64_t n = a.n;
  const int64_t C = a.channels;
  const int64_t total = n * C;
  auto logs = avx2 ? &avx2::Logs : &baseline::Logs;
  const bool squared = a.term == kChannelScoreSquared;
  const bool product = a.term == kChannelScoreTimesScore;

  // ln e_c of every window: as the worker computed them, or from the floored terms (logErrors).
  const double* err_logs = a.log_terms;
  if (a.log_terms == nullptr || a.running != nullptr) {
    double* floored = a.scratch;
    for (int64_t i = 0; i < n; i++) {
      double* f = floored + i * C;
      if (a.decisions[i] == kSkipWindow) {
        // Not attributed: its terms fold into nothing; any value keeps the logarithm loop simple.
        for (int64_t c = 0; c < C; c++) f[c] = 1.0;
        continue;
      }
      const double score = a.scores[i];
      const float* cs = a.channel_scores + i * C;
      if (a.running != nullptr) {
        double* running = a.running + static_cast<int64_t>(a.slots[i]) * C;
        uint8_t* started = a.started + static_cast<int64_t>(a.slots[i]) * C;
        for (int64_t c = 0; c < C; c++) {
          const double v = cs[c];
          const double e = squared ? v * v : product ? v * score : v;
          if (std::isfinite(e)) {
            running[c] = started[c] ? running[c] + a.average * (e - running[c]) : e;
            started[c] = 1;
          }
          const double m = started[c] ? running[c] : e;
          f[c] = m > a.log_floor ? m : a.log_floor;
        }
      } else {
        for (int64_t c = 0; c < C; c++) {
          const double v = cs[c];
          const double e = squared ? v * v : product ? v * score : v;
          f[c] = e > a.log_floor ? e : a.log_floor;
        }
      }
    }
    double* out = a.scratch + total;
    logs(floored, total, out);
    err_logs = out;
  }

  // ln a_c, when the activity is used or tracked.
  const bool use_act = a.activity != nullptr && a.activity_mode != kNone;
  const double* act_logs = nullptr;
  if (a.activity != nullptr && (use_act || a.rate > 0)) {
    double* floored = a.scratch;
    for (int64_t i = 0; i < total; i++) {
      const double v = a.activity[i];
      floored[i] = v > a.activity_floor ? v : a.activity_floor;
    }
    double* out = a.scratch + 2 * total;
    logs(floored, total, out);
    act_logs = out;
  }

  double* center = a.stats;
  double* scale = a.stats + C;
  double* act_center = a.stats + 2 * C;
  double* act_scale = a.stats + 3 * C;
  const bool two_sided = a.activity_mode == kTwoSided;
  for (int64_t i = 0; i < n; i++) {
    const uint8_t decision = a.decisions[i];
    if (decision == kSkipWindow) continue;
    const int64_t base = i * C;
    const float* cs = a.channel_scores + base;
    const float* act = a.activity != nullptr ? a.activity + base : nullptr;
    // update(): a window with a non-finite score or channel score teaches nothing, its activity
    // only when the errors taught and every activity is finite.
    bool learn_err = decision == kLearnWindow && std::isfinite(static_cast<double>(a.scores[i]));
    for (int64_t c = 0; learn_err && c < C; c++) learn_err = std::isfinite(static_cast<double>(cs[c]));
    bool learn_act = learn_err && act != nullptr;
    for (int64_t c = 0; learn_act && c < C; c++) learn_act = std::isfinite(static_cast<double>(act[c]));
    const bool step_err = learn_err && a.rate > 0;
    const bool step_act = learn_act && a.rate > 0;
    float* row = a.out + base;
    const double* el = err_logs + base;
    for (int64_t c = 0; c < C; c++) {
      const double d = el[c] - center[c];
      row[c] = static_cast<float>(d / scale[c]);
      if (step_err) Track(center, scale, c, d, a.rate, a.min_scale);
    }
    if (act_logs != nullptr) {
      const double* al = act_logs + base;
      for (int64_t c = 0; c < C; c++) {
        const double d = al[c] - act_center[c];
        if (use_act) {
          const double za = d / act_scale[c];
          const double evidence = (two_sided ? std::fabs(za) : -za) - a.margin;
          const float r = row[c];
          row[c] = Select(evidence > static_cast<double>(r), static_cast<float>(evidence), r);
        }
        if (step_act) Track(act_center, act_scale, c, d, a.rate, a.min_scale);
      }
    }
    // AttributionMemory.apply (the fused form in attributeAndLearnReady is the same arithmetic).
    if (a.memory_state != nullptr) {
      const int64_t slot = a.slots[i];
      float* state = a.memory_state + slot * C;
      if (!a.memory_seen[slot]) {
        for (int64_t c = 0; c < C; c++) state[c] = row[c];
        a.memory_seen[slot] = 1;
        continue;
      }
      const double w = a.memory_weight;
      const double keep = 1 - w;
      for (int64_t c = 0; c < C; c++) {
        const double v = row[c];
        if (!std::isfinite(v)) continue;
        const double avg = keep * static_cast<double>(state[c]) + w * v;
        state[c] = static_cast<float>(avg);
        row[c] = static_cast<float>(avg);
      }
    }
  }
}

}  // namespace seismo::logterms
