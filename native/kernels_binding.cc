// N-API binding of the training kernels (kernels.h): the LSTM and causal-convolution forward and
// backward passes, and the choice of instruction set. The decisions of addon.cc hold here too:
// outputs and saved state are caller-owned Float32Arrays whose lengths are checked against the
// dims given (the one check C++ alone must make for memory safety), scratch is a per-thread
// buffer that grows to the largest call and is reused, and errors carry a `code`.
#define NAPI_VERSION 8
#include <napi.h>

#include <initializer_list>
#include <string>
#include <vector>

#include <cmath>
#include <cstring>

#include "kernels.h"
#include "kernels_binding.h"
#include "log_terms.h"
#include "napi_error.h"

namespace seismo::binding {

namespace kn = seismo::kernels;

namespace {

int64_t DimArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw MakeError(info.Env(), "ERR_INVALID_OPTION", std::string(fn) + ": " + name + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  // 2^31 per dimension; the products of dims are bounded by CheckFloats.
  if (!(v >= 1 && v <= 2147483647.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw MakeError(info.Env(), "ERR_BAD_SHAPE", std::string(fn) + ": " + name + " must be a positive integer");
  }
  return static_cast<int64_t>(v);
}

// A typed-array argument of element type `T` (the JS array `kType`, named `kind` in messages) of
// exactly `length` elements.
template <typename T, napi_typedarray_type kType>
T* TypedArg(const Napi::CallbackInfo& info, size_t i, int64_t length, const char* fn, const char* name, const char* kind,
            const char* unit) {
  Napi::Env env = info.Env();
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != kType) {
    throw MakeError(env, "ERR_BAD_SHAPE", std::string(fn) + ": " + name + " must be a " + kind);
  }
  Napi::TypedArrayOf<T> a = info[i].As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(a.ElementLength()) != length) {
    throw MakeError(env, "ERR_BAD_SHAPE", std::string(fn) + ": " + name + " has " + std::to_string(a.ElementLength()) + " " +
                                              unit + ", expected " + std::to_string(length));
  }
  return a.Data();
}

float* FloatArg(const Napi::CallbackInfo& info, size_t i, int64_t length, const char* fn, const char* name) {
  return TypedArg<float, napi_float32_array>(info, i, length, fn, name, "Float32Array", "floats");
}

double* DoubleArg(const Napi::CallbackInfo& info, size_t i, int64_t length, const char* fn, const char* name) {
  return TypedArg<double, napi_float64_array>(info, i, length, fn, name, "Float64Array", "doubles");
}

float* Scratch(Napi::Env env, int64_t floats) {
  // Per thread: kernels may run on the main thread and in workers at once. Always 64-byte aligned,
  // so that the kernels' results cannot depend on where the buffer happened to land.
  thread_local std::vector<float> scratch;
  const int64_t padded = floats + 16;
  try {
    if (static_cast<int64_t>(scratch.size()) < padded) scratch.resize(static_cast<size_t>(padded));
  } catch (const std::bad_alloc&) {
    throw MakeError(env, "ERR_RESOURCE", "kernel scratch: out of memory for " + std::to_string(floats) + " floats; train with a smaller batch");
  }
  const uintptr_t base = reinterpret_cast<uintptr_t>(scratch.data());
  return scratch.data() + ((64 - base % 64) % 64) / sizeof(float);
}

// Rejects shapes whose arrays would exceed 2^40 floats. Computed in double (exact enough for a
// comparison at that bound), so that every int64 size product computed afterwards, in the binding
// and in the kernels, is far from overflowing: all dims are >= 1, so no partial product exceeds
// the largest of these totals.
void CheckFloats(Napi::Env env, const char* fn, std::initializer_list<double> totals) {
  for (double total : totals) {
    if (total > 1099511627776.0) throw MakeError(env, "ERR_BAD_SHAPE", std::string(fn) + ": shape too large (an array would exceed 2^40 floats)");
  }
}

void ArgCount(const Napi::CallbackInfo& info, size_t n, const char* signature) {
  if (info.Length() != n) throw MakeError(info.Env(), "ERR_INVALID_OPTION", signature);
}

kn::LstmDims LstmDimsArg(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  kn::LstmDims d{};
  d.batch = DimArg(info, first, fn, "batch");
  d.steps = DimArg(info, first + 1, fn, "steps");
  d.features = DimArg(info, first + 2, fn, "features");
  d.units = DimArg(info, first + 3, fn, "units");
  if (!info[first + 4].IsNumber()) throw MakeError(info.Env(), "ERR_INVALID_OPTION", std::string(fn) + ": gate must be 0 (sigmoid) or 1 (hardSigmoid)");
  const int32_t gate = info[first + 4].As<Napi::Number>().Int32Value();
  if (gate != 0 && gate != 1) throw MakeError(info.Env(), "ERR_INVALID_OPTION", std::string(fn) + ": gate must be 0 (sigmoid) or 1 (hardSigmoid)");
  d.gate = static_cast<kn::GateActivation>(gate);
  if (!info[first + 5].IsBoolean()) throw MakeError(info.Env(), "ERR_INVALID_OPTION", std::string(fn) + ": returnSequences must be a boolean");
  d.return_sequences = info[first + 5].As<Napi::Boolean>().Value();
  const double B = d.batch, T = d.steps, F = d.features, H = d.units;
  CheckFloats(info.Env(), fn, {B * T * F, B * T * 6 * H + 12 * B * H, F * 4 * H, H * 4 * H});
  return d;
}

}  // namespace

// The optional last argument of lstmForward/lstmBackward: repeatedInput (x is [B, F], read at every step).
bool RepeatedArg(const Napi::CallbackInfo& info, size_t i, const char* fn) {
  if (info.Length() <= i || info[i].IsUndefined()) return false;
  if (!info[i].IsBoolean()) throw MakeError(info.Env(), "ERR_INVALID_OPTION", std::string(fn) + ": repeatedInput must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

void ArgCountRange(const Napi::CallbackInfo& info, size_t n, size_t m, const char* signature) {
  if (info.Length() < n || info.Length() > m) throw MakeError(info.Env(), "ERR_INVALID_OPTION", signature);
}

// lstmForward(x, kernel, recurrent, bias, y, state, B, T, F, H, gate, returnSequences, repeatedInput?)
Napi::Value LstmForward(const Napi::CallbackInfo& info) {
  const char* fn = "lstmForward";
  ArgCountRange(info, 12, 13, "lstmForward(x, kernel, recurrent, bias, y, state, batch, steps, features, units, gate, returnSequences, repeatedInput?)");
  kn::LstmForwardArgs a{};
  a.dims = LstmDimsArg(info, 6, fn);
  a.dims.repeated_input = RepeatedArg(info, 12, fn);
  const kn::LstmDims& d = a.dims;
  a.x = FloatArg(info, 0, kn::LstmInputRows(d) * d.features, fn, d.repeated_input ? "x [B, F]" : "x [B, T, F]");
  a.kernel = FloatArg(info, 1, d.features * 4 * d.units, fn, "kernel [F, 4H]");
  a.recurrent = FloatArg(info, 2, d.units * 4 * d.units, fn, "recurrent [H, 4H]");
  a.bias = FloatArg(info, 3, 4 * d.units, fn, "bias [4H]");
  a.y = FloatArg(info, 4, d.batch * (d.return_sequences ? d.steps : 1) * d.units, fn, "y");
  a.state = FloatArg(info, 5, kn::LstmStateFloats(d), fn, "state [T, B, 6H]");
  a.scratch = Scratch(info.Env(), kn::LstmForwardScratchFloats(d));
  kn::Active().lstm_forward(a);
  return info.Env().Undefined();
}

// lstmBackward(x, kernel, recurrent, state, dy, dx | null, dkernel, drecurrent, dbias, B, T, F, H, gate, returnSequences,
// repeatedInput?); dx null: the input's gradient is not computed.
Napi::Value LstmBackward(const Napi::CallbackInfo& info) {
  const char* fn = "lstmBackward";
  ArgCountRange(info, 15, 16, "lstmBackward(x, kernel, recurrent, state, dy, dx | null, dkernel, drecurrent, dbias, batch, steps, features, units, gate, returnSequences, repeatedInput?)");
  kn::LstmBackwardArgs a{};
  a.dims = LstmDimsArg(info, 9, fn);
  a.dims.repeated_input = RepeatedArg(info, 15, fn);
  const kn::LstmDims& d = a.dims;
  const int64_t inRows = kn::LstmInputRows(d);
  const char* xName = d.repeated_input ? "x [B, F]" : "x [B, T, F]";
  a.x = FloatArg(info, 0, inRows * d.features, fn, xName);
  a.kernel = FloatArg(info, 1, d.features * 4 * d.units, fn, "kernel [F, 4H]");
  a.recurrent = FloatArg(info, 2, d.units * 4 * d.units, fn, "recurrent [H, 4H]");
  a.state = FloatArg(info, 3, kn::LstmStateFloats(d), fn, "state [T, B, 6H]");
  a.dy = FloatArg(info, 4, d.batch * (d.return_sequences ? d.steps : 1) * d.units, fn, "dy");
  a.dx = info[5].IsNull() ? nullptr : FloatArg(info, 5, inRows * d.features, fn, d.repeated_input ? "dx [B, F]" : "dx [B, T, F]");
  a.dkernel = FloatArg(info, 6, d.features * 4 * d.units, fn, "dkernel [F, 4H]");
  a.drecurrent = FloatArg(info, 7, d.units * 4 * d.units, fn, "drecurrent [H, 4H]");
  a.dbias = FloatArg(info, 8, 4 * d.units, fn, "dbias [4H]");
  a.scratch = Scratch(info.Env(), kn::LstmBackwardScratchFloats(d));
  kn::Active().lstm_backward(a);
  return info.Env().Undefined();
}

kn::ConvDims ConvDimsArg(const Napi::CallbackInfo& info, size_t first, const char* fn) {
  kn::ConvDims d{};
  d.batch = DimArg(info, first, fn, "batch");
  d.steps = DimArg(info, first + 1, fn, "steps");
  d.in = DimArg(info, first + 2, fn, "inChannels");
  d.out = DimArg(info, first + 3, fn, "outChannels");
  d.taps = DimArg(info, first + 4, fn, "taps");
  d.dilation = DimArg(info, first + 5, fn, "dilation");
  const double N = d.batch, T = d.steps, Cin = d.in, Cout = d.out, K = d.taps;
  CheckFloats(info.Env(), fn, {N * T * K * Cin, N * T * Cout, K * Cin * Cout});
  return d;
}

// convForward(x, kernel, bias, y, N, T, Cin, Cout, k, dilation)
Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  const char* fn = "convForward";
  ArgCount(info, 10, "convForward(x, kernel, bias, y, batch, steps, inChannels, outChannels, taps, dilation)");
  kn::ConvForwardArgs a{};
  a.dims = ConvDimsArg(info, 4, fn);
  const kn::ConvDims& d = a.dims;
  a.x = FloatArg(info, 0, d.batch * d.steps * d.in, fn, "x [N, T, Cin]");
  a.kernel = FloatArg(info, 1, d.taps * d.in * d.out, fn, "kernel [k, Cin, Cout]");
  a.bias = FloatArg(info, 2, d.out, fn, "bias [Cout]");
  a.y = FloatArg(info, 3, d.batch * d.steps * d.out, fn, "y [N, T, Cout]");
  a.scratch = Scratch(info.Env(), kn::ConvScratchFloats(d));
  kn::Active().conv_forward(a);
  return info.Env().Undefined();
}

// convBackward(x, kernel, dy, dx, dkernel, dbias, N, T, Cin, Cout, k, dilation)
Napi::Value ConvBackward(const Napi::CallbackInfo& info) {
  const char* fn = "convBackward";
  ArgCount(info, 12, "convBackward(x, kernel, dy, dx, dkernel, dbias, batch, steps, inChannels, outChannels, taps, dilation)");
  kn::ConvBackwardArgs a{};
  a.dims = ConvDimsArg(info, 6, fn);
  const kn::ConvDims& d = a.dims;
  a.x = FloatArg(info, 0, d.batch * d.steps * d.in, fn, "x [N, T, Cin]");
  a.kernel = FloatArg(info, 1, d.taps * d.in * d.out, fn, "kernel [k, Cin, Cout]");
  a.dy = FloatArg(info, 2, d.batch * d.steps * d.out, fn, "dy [N, T, Cout]");
  a.dx = FloatArg(info, 3, d.batch * d.steps * d.in, fn, "dx [N, T, Cin]");
  a.dkernel = FloatArg(info, 4, d.taps * d.in * d.out, fn, "dkernel [k, Cin, Cout]");
  a.dbias = FloatArg(info, 5, d.out, fn, "dbias [Cout]");
  a.scratch = Scratch(info.Env(), kn::ConvScratchFloats(d));
  kn::Active().conv_backward(a);
  return info.Env().Undefined();
}

// channelLogTerms(term, channelScores, scores, n, channels, floor, out): see log_terms.h; the
// variant of the kernels' instruction set (kernelIsa).
Napi::Value ChannelLogTerms(const Napi::CallbackInfo& info) {
  const char* fn = "channelLogTerms";
  ArgCount(info, 7, "channelLogTerms(term, channelScores, scores, n, channels, floor, out)");
  Napi::Env env = info.Env();
  const double term = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
  if (!(term == 0 || term == 1 || term == 2)) throw MakeError(env, "ERR_INVALID_OPTION", "channelLogTerms: term must be 0, 1 or 2");
  seismo::logterms::LogTermsArgs a{};
  a.term = static_cast<seismo::logterms::Term>(static_cast<int32_t>(term));
  a.n = DimArg(info, 3, fn, "n");
  a.channels = DimArg(info, 4, fn, "channels");
  CheckFloats(env, fn, {static_cast<double>(a.n) * static_cast<double>(a.channels)});
  a.channel_scores = FloatArg(info, 1, a.n * a.channels, fn, "channelScores");
  a.scores = FloatArg(info, 2, a.n, fn, "scores");
  a.floor = info[5].IsNumber() ? info[5].As<Napi::Number>().DoubleValue() : NAN;
  if (!(std::isfinite(a.floor) && a.floor > 0)) throw MakeError(env, "ERR_INVALID_OPTION", "channelLogTerms: floor must be a finite number > 0");
  a.out = DoubleArg(info, 6, a.n * a.channels, fn, "out");
  // The AVX2 logarithms serve the AVX-512 kernels too (they are Math.log's bits in every variant).
  if (std::strcmp(kn::Active().isa, "baseline") != 0) {
    seismo::logterms::avx2::ChannelLogTerms(a);
  } else {
    seismo::logterms::baseline::ChannelLogTerms(a);
  }
  return env.Undefined();
}

// kernelIsa() -> "avx512" | "avx2" | "baseline"; kernelIsa(name) switches first (tests, benchmarks).
Napi::Value KernelIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() == 1) {
    if (!info[0].IsString()) throw MakeError(env, "ERR_INVALID_OPTION", "kernelIsa(name?: 'avx512' | 'avx2' | 'baseline')");
    try {
      kn::Select(info[0].As<Napi::String>().Utf8Value());
    } catch (const kn::KernelError& e) {
      throw MakeError(env, e.code(), e.what());
    }
  }
  return Napi::String::New(env, kn::Active().isa);
}

}  // namespace seismo::binding
