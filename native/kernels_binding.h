// The training kernels' N-API functions (kernels_binding.cc), registered by addon.cc.
#pragma once

#include <napi.h>

namespace seismo::binding {

// lstmForward(x, kernel, recurrent, bias, y, state, B, T, F, H, gate, returnSequences)
Napi::Value LstmForward(const Napi::CallbackInfo& info);
// lstmBackward(x, kernel, recurrent, state, dy, dx, dkernel, drecurrent, dbias, B, T, F, H, gate, returnSequences)
Napi::Value LstmBackward(const Napi::CallbackInfo& info);
// convForward(x, kernel, bias, y, N, T, Cin, Cout, k, dilation)
Napi::Value ConvForward(const Napi::CallbackInfo& info);
// convBackward(x, kernel, dy, dx, dkernel, dbias, N, T, Cin, Cout, k, dilation)
Napi::Value ConvBackward(const Napi::CallbackInfo& info);
// channelLogTerms(term, channelScores, scores, n, channels, floor, out): ln of attribution's error terms (log_terms.h).
Napi::Value ChannelLogTerms(const Napi::CallbackInfo& info);
// kernelIsa() -> "avx512" | "avx2" | "baseline"; kernelIsa(name) switches first (tests, benchmarks).
Napi::Value KernelIsa(const Napi::CallbackInfo& info);

}  // namespace seismo::binding
