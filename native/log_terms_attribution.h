// Channel attribution of a batch of windows once its statistics are ready (src/score/attribution.ts,
// `ChannelAttribution.attributeAndLearnBatch`): bit for bit what the TypeScript loop computes, in
// one call per batch instead of a loop of ~16 Math.log calls and the z, tracking and memory steps
// per window on the main thread.
//
// Per window, in window order (a batch holds many windows of the same series, and each window
// reads the state the ones before it left):
//   - its error terms e_c, folded into its series' running means when there are any;
//   - ln max(e_c or the running mean, log_floor), ln max(a_c, activity_floor) (fdlibm's log,
//     log_terms.h: the logarithms of the whole batch are taken at once, four lanes at a time with
//     AVX2, after the running means are folded in window order; a window's logarithm depends only
//     on its own floored value, so the order of the logarithms changes nothing);
//   - the row z_c = (ln e_c - center_c) / scale_c, with the activity evidence, then the tracking
//     step of each channel's median and spread on a window the rule let through;
//   - the row folded into its series' attribution memory.
// The rows' arithmetic is log_terms_rows.h (scalar) and log_terms_rows_avx2.cc (four channels at a
// time), chosen with the kernels' instruction set.
// Every operation is the TypeScript's double operation in its order (built with -ffp-contract=off);
// rows and the memory are float32 as there.
#pragma once

#include <cstdint>

#include "log_terms.h"

namespace seismo::logterms {

// Decisions of the rule per window (SKIP_WINDOW, LEARN_WINDOW, FLAGGED_WINDOW in TypeScript).
constexpr uint8_t kSkipWindow = 0;
constexpr uint8_t kLearnWindow = 1;

// How the activity joins the error (ChannelAttributionOptions.activity).
enum ActivityMode : int32_t { kTwoSided = 0, kLow = 1, kNone = 2 };

struct AttributionArgs {
  int64_t n;         // windows
  int64_t channels;  // C
  Term term;
  double average;  // weight of the newest window in the running mean of e_c (used when running)
  double rate;     // tracking step
  ActivityMode activity_mode;
  double margin;          // activity evidence counts beyond this many z
  double log_floor;       // LOG_FLOOR
  double activity_floor;  // ACTIVITY_FLOOR
  double min_scale;       // MIN_CHANNEL_SCALE
  const float* channel_scores;  // [n, C]
  const float* scores;          // [n]
  const float* activity;        // [n, C] or null
  const double* log_terms;      // [n, C] ln e_c computed already (only without running means), or null
  const uint8_t* decisions;     // [n]
  const int32_t* slots;         // [n] each window's series slot (checked against the state's slots)
  float* out;                   // [n, C] rows; a skipped window's row is left as it is
  double* stats;                // [4, C] error center, error scale, activity center, activity scale
  double* running;              // [slots, C] running means of e_c, or null (no running mean)
  uint8_t* started;             // [slots, C] whether each running mean has a value
  float* memory_state;          // [slots, C] attribution memory, or null (none)
  uint8_t* memory_seen;         // [slots]
  double memory_weight;
  double* scratch;  // [3, n, C] doubles: floored terms and both logarithms
};

// One implementation; `avx2` chooses the logarithm loop's variant (the same bits either way).
void AttributeBatch(const AttributionArgs& a, bool avx2);

}  // namespace seismo::logterms
