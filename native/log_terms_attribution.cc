// The attribution of a batch (log_terms_attribution.h). Each line names the TypeScript it mirrors
// in src/score/attribution.ts; built with -ffp-contract=off, so that every multiply and add rounds
// as JavaScript's do.
#include "log_terms_attribution.h"
#include "log_terms_rows.h"

#include <cmath>
#include <cstdint>
#include <cstring>

namespace seismo::logterms {

namespace baseline {

void ErrorRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool step, const RowSettings& s) {
  ErrorRowScalar(logs, center, scale, row, 0, C, step, s);
}

void ActivityRow(const double* logs, double* center, double* scale, float* row, int64_t C, bool use, bool step, const RowSettings& s) {
  ActivityRowScalar(logs, center, scale, row, 0, C, use, step, s);
}

void MemoryRow(float* state, float* row, int64_t C, double w) { MemoryRowScalar(state, row, 0, C, w); }

}  // namespace baseline

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
  const RowSettings settings{a.rate, a.min_scale, a.margin, a.activity_mode == kTwoSided};
  auto error_row = avx2 ? &avx2::ErrorRow : &baseline::ErrorRow;
  auto activity_row = avx2 ? &avx2::ActivityRow : &baseline::ActivityRow;
  auto memory_row = avx2 ? &avx2::MemoryRow : &baseline::MemoryRow;
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
    float* row = a.out + base;
    error_row(err_logs + base, center, scale, row, C, learn_err && a.rate > 0, settings);
    if (act_logs != nullptr) activity_row(act_logs + base, act_center, act_scale, row, C, use_act, learn_act && a.rate > 0, settings);
    // AttributionMemory.apply (the fused form in attributeAndLearnReady is the same arithmetic).
    if (a.memory_state != nullptr) {
      const int64_t slot = a.slots[i];
      float* state = a.memory_state + slot * C;
      if (!a.memory_seen[slot]) {
        for (int64_t c = 0; c < C; c++) state[c] = row[c];
        a.memory_seen[slot] = 1;
        continue;
      }
      memory_row(state, row, C, a.memory_weight);
    }
  }
}

}  // namespace seismo::logterms
