// The batch attribution's N-API function (log_terms_binding.cc), registered by addon.cc.
#pragma once

#include <napi.h>

namespace seismo::binding {

// attributeBatch(n, channels, settings, channelScores, scores, activity, logTerms, decisions, slots,
//   out, stats, running, started, memoryState, memorySeen, memoryWeight): log_terms_attribution.h.
Napi::Value AttributeBatch(const Napi::CallbackInfo& info);

}  // namespace seismo::binding
