// N-API binding of the batch attribution (log_terms_attribution.h). Arrays are the caller's
// (ChannelAttribution's state, the pipeline's batch outputs): each is checked to hold at least
// what the shapes given read or write, and every window's slot against the state's slots, before
// anything is written, so that a bad call throws (code ERR_BAD_SHAPE / ERR_INVALID_OPTION) and
// changes nothing.
#define NAPI_VERSION 8
#include <napi.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kernels.h"
#include "log_terms_attribution.h"
#include "log_terms_binding.h"
#include "napi_error.h"

namespace seismo::binding {

namespace {

constexpr const char* kFn = "attributeBatch";

[[noreturn]] void Bad(Napi::Env env, const char* code, const std::string& what) { throw MakeError(env, code, std::string(kFn) + ": " + what); }

// A typed array of type `type` holding at least `length` elements, or null where `optional` and
// the argument is null or undefined.
template <typename T>
T* ArrayArg(const Napi::CallbackInfo& info, size_t i, napi_typedarray_type type, int64_t length, bool optional, const char* name, int64_t* held = nullptr) {
  Napi::Env env = info.Env();
  if (optional && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != type) Bad(env, "ERR_BAD_SHAPE", std::string(name) + " has the wrong type");
  // The typed array's own data pointer: its buffer may be a SharedArrayBuffer (the outbox's),
  // which napi_get_arraybuffer_info refuses.
  size_t count = 0;
  void* data = nullptr;
  if (napi_get_typedarray_info(env, info[i], nullptr, &count, &data, nullptr, nullptr) != napi_ok) Bad(env, "ERR_BAD_SHAPE", std::string(name) + " could not be read");
  if (static_cast<int64_t>(count) < length) Bad(env, "ERR_BAD_SHAPE", std::string(name) + " has " + std::to_string(count) + " elements, expected at least " + std::to_string(length));
  if (held != nullptr) *held = static_cast<int64_t>(count);
  return static_cast<T*>(data);
}

double NumberArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (!info[i].IsNumber()) Bad(info.Env(), "ERR_INVALID_OPTION", std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t CountArg(const Napi::CallbackInfo& info, size_t i, const char* name, double min) {
  const double v = NumberArg(info, i, name);
  if (!(v >= min && v <= 2147483647.0) || v != std::floor(v)) Bad(info.Env(), "ERR_BAD_SHAPE", std::string(name) + " must be an integer >= " + std::to_string(static_cast<int>(min)));
  return static_cast<int64_t>(v);
}

}  // namespace

// attributeBatch(n, channels, settings, channelScores, scores, activity, logTerms, decisions, slots,
//   out, stats, running, started, memoryState, memorySeen, memoryWeight)
Napi::Value AttributeBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 16) {
    Bad(env, "ERR_INVALID_OPTION", "expected (n, channels, settings, channelScores, scores, activity, logTerms, decisions, slots, out, stats, running, started, memoryState, memorySeen, memoryWeight)");
  }
  namespace lt = seismo::logterms;
  lt::AttributionArgs a{};
  a.n = CountArg(info, 0, "n", 0);
  a.channels = CountArg(info, 1, "channels", 1);
  if (static_cast<double>(a.n) * static_cast<double>(a.channels) > 1099511627776.0) Bad(env, "ERR_BAD_SHAPE", "shape too large");
  const int64_t C = a.channels;
  const int64_t total = a.n * C;
  // settings: [term, average, rate, activityMode, margin, logFloor, activityFloor, minScale]
  const double* s = ArrayArg<double>(info, 2, napi_float64_array, 8, false, "settings");
  if (!(s[0] == 0 || s[0] == 1 || s[0] == 2)) Bad(env, "ERR_INVALID_OPTION", "settings[0] (term) must be 0, 1 or 2");
  if (!(s[3] == 0 || s[3] == 1 || s[3] == 2)) Bad(env, "ERR_INVALID_OPTION", "settings[3] (activity mode) must be 0, 1 or 2");
  a.term = static_cast<lt::Term>(static_cast<int32_t>(s[0]));
  a.average = s[1];
  a.rate = s[2];
  a.activity_mode = static_cast<lt::ActivityMode>(static_cast<int32_t>(s[3]));
  a.margin = s[4];
  a.log_floor = s[5];
  a.activity_floor = s[6];
  a.min_scale = s[7];
  a.channel_scores = ArrayArg<float>(info, 3, napi_float32_array, total, false, "channelScores");
  a.scores = ArrayArg<float>(info, 4, napi_float32_array, a.n, false, "scores");
  a.activity = ArrayArg<float>(info, 5, napi_float32_array, total, true, "activity");
  a.log_terms = ArrayArg<double>(info, 6, napi_float64_array, total, true, "logTerms");
  a.decisions = ArrayArg<uint8_t>(info, 7, napi_uint8_array, a.n, false, "decisions");
  a.slots = ArrayArg<int32_t>(info, 8, napi_int32_array, a.n, false, "slots");
  a.out = ArrayArg<float>(info, 9, napi_float32_array, total, false, "out");
  a.stats = ArrayArg<double>(info, 10, napi_float64_array, 4 * C, false, "stats");
  int64_t running_held = 0;
  a.running = ArrayArg<double>(info, 11, napi_float64_array, C, true, "running", &running_held);
  int64_t started_held = 0;
  a.started = ArrayArg<uint8_t>(info, 12, napi_uint8_array, C, true, "started", &started_held);
  int64_t state_held = 0;
  a.memory_state = ArrayArg<float>(info, 13, napi_float32_array, C, true, "memoryState", &state_held);
  int64_t seen_held = 0;
  a.memory_seen = ArrayArg<uint8_t>(info, 14, napi_uint8_array, 1, true, "memorySeen", &seen_held);
  a.memory_weight = NumberArg(info, 15, "memoryWeight");
  if ((a.running == nullptr) != (a.started == nullptr)) Bad(env, "ERR_INVALID_OPTION", "running and started go together");
  if ((a.memory_state == nullptr) != (a.memory_seen == nullptr)) Bad(env, "ERR_INVALID_OPTION", "memoryState and memorySeen go together");
  // The slots every array holds; each attributed window's slot must lie below them all.
  int64_t slots = INT64_MAX;
  if (a.running != nullptr) slots = std::min(std::min(running_held, started_held) / C, slots);
  if (a.memory_state != nullptr) slots = std::min(std::min(state_held / C, seen_held), slots);
  for (int64_t i = 0; i < a.n; i++) {
    if (a.decisions[i] == lt::kSkipWindow) continue;
    if (a.slots[i] < 0 || a.slots[i] >= slots) Bad(env, "ERR_BAD_SHAPE", "window " + std::to_string(i) + "'s slot " + std::to_string(a.slots[i]) + " is outside the state's " + std::to_string(slots == INT64_MAX ? 0 : slots) + " slots");
  }
  // Per thread, reused: [3, n, C] doubles.
  thread_local std::vector<double> scratch;
  try {
    if (static_cast<int64_t>(scratch.size()) < 3 * total) scratch.resize(static_cast<size_t>(3 * total));
  } catch (const std::bad_alloc&) {
    Bad(env, "ERR_RESOURCE", "out of memory for the scratch of " + std::to_string(a.n) + " windows");
  }
  a.scratch = scratch.data();
  lt::AttributeBatch(a, std::strcmp(seismo::kernels::Active().isa, "baseline") != 0);  // AVX2 logarithms under AVX-512 too
  return env.Undefined();
}

}  // namespace seismo::binding
