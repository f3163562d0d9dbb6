// N-API binding of the native LSTM-AE scorer (lstm_ae_score.h). The decisions of addon.cc hold:
// the spec's arrays are checked against the sizes it declares and copied into the scorer's
// packed layout at construction (so the JS arrays may change or go afterwards); score() takes
// caller-owned typed arrays (frames may be a view of a ring arena), checks every length against
// what the call reads or writes, and writes in place; errors carry a `code`.
#define NAPI_VERSION 8
#include <napi.h>

#include <memory>
#include <string>
#include <vector>

#include "lstm_ae_score.h"
#include "lstm_ae_score_binding.h"
#include "napi_error.h"

namespace seismo::binding {

namespace la = seismo::lstm_ae;

namespace {

// A positive integer field of `obj` no larger than `max`, else ERR_INVALID_OPTION.
int64_t SizeField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& where, int64_t max) {
  Napi::Value v = obj.Get(key);
  const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
  if (!(d >= 1 && d <= static_cast<double>(max)) || d != static_cast<double>(static_cast<int64_t>(d))) {
    throw MakeError(env, "ERR_INVALID_OPTION", "LstmAeScorer: " + where + key + " must be an integer in [1, " + std::to_string(max) + "]");
  }
  return static_cast<int64_t>(d);
}

// A Float32Array field of exactly `length` floats, else ERR_BAD_SHAPE.
Napi::Float32Array FloatField(Napi::Env env, const Napi::Object& obj, const char* key, const std::string& where, int64_t length,
                              const char* shape) {
  Napi::Value v = obj.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw MakeError(env, "ERR_BAD_SHAPE", "LstmAeScorer: " + where + key + " must be a Float32Array " + shape);
  }
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  if (static_cast<int64_t>(a.ElementLength()) != length) {
    throw MakeError(env, "ERR_BAD_SHAPE", "LstmAeScorer: " + where + key + " " + shape + " has " + std::to_string(a.ElementLength()) +
                                              " floats, expected " + std::to_string(length));
  }
  return a;
}

// A typed-array argument of score() holding at least `length` elements (preallocated batch
// buffers may be longer than one call needs), or null when `nullable`.
template <typename T, napi_typedarray_type kType>
T* ArrayArg(const Napi::CallbackInfo& info, size_t i, int64_t length, const char* name, const char* kind, bool nullable) {
  Napi::Env env = info.Env();
  if (nullable && (info[i].IsNull() || info[i].IsUndefined())) return nullptr;
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != kType) {
    throw MakeError(env, "ERR_BAD_SHAPE", std::string("LstmAeScorer.score: ") + name + " must be a " + kind + (nullable ? " or null" : ""));
  }
  Napi::TypedArrayOf<T> a = info[i].As<Napi::TypedArrayOf<T>>();
  if (static_cast<int64_t>(a.ElementLength()) < length) {
    throw MakeError(env, "ERR_BAD_SHAPE", std::string("LstmAeScorer.score: ") + name + " has " + std::to_string(a.ElementLength()) +
                                              " elements, the call needs " + std::to_string(length));
  }
  return a.Data();
}

std::vector<la::LayerSpec> ParseStack(Napi::Env env, const Napi::Object& spec, const char* key) {
  Napi::Value v = spec.Get(key);
  if (!v.IsArray()) throw MakeError(env, "ERR_INVALID_OPTION", std::string("LstmAeScorer: spec.") + key + " must be an array of LSTM layers");
  Napi::Array arr = v.As<Napi::Array>();
  if (arr.Length() < 1 || arr.Length() > la::kMaxLayers) {
    throw MakeError(env, "ERR_INVALID_OPTION", std::string("LstmAeScorer: spec.") + key + " must hold 1 to " + std::to_string(la::kMaxLayers) + " layers");
  }
  std::vector<la::LayerSpec> out;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    const std::string where = std::string("spec.") + key + "[" + std::to_string(i) + "].";
    Napi::Value lv = arr.Get(i);
    if (!lv.IsObject()) throw MakeError(env, "ERR_INVALID_OPTION", "LstmAeScorer: " + where.substr(0, where.size() - 1) + " must be an object");
    Napi::Object l = lv.As<Napi::Object>();
    la::LayerSpec s{};
    s.input_size = SizeField(env, l, "inputSize", where, la::kMaxChannels > la::kMaxUnits ? la::kMaxChannels : la::kMaxUnits);
    s.units = SizeField(env, l, "units", where, la::kMaxUnits);
    Napi::Value g = l.Get("gate");
    const std::string gate = g.IsString() ? g.As<Napi::String>().Utf8Value() : "";
    if (gate == "sigmoid") {
      s.gate = la::Gate::Sigmoid;
    } else if (gate == "hardSigmoid") {
      s.gate = la::Gate::HardSigmoid;
    } else {
      throw MakeError(env, "ERR_INVALID_OPTION", "LstmAeScorer: " + where + "gate must be 'sigmoid' or 'hardSigmoid'");
    }
    out.push_back(s);
  }
  return out;
}

class LstmAeScorerWrap : public Napi::ObjectWrap<LstmAeScorerWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    Napi::Function ctor = DefineClass(env, "LstmAeScorer",
                                      {
                                          InstanceMethod<&LstmAeScorerWrap::Score>("score"),
                                          InstanceAccessor<&LstmAeScorerWrap::Isa>("isa"),
                                      });
    Napi::Array isas = Napi::Array::New(env);
    for (const std::string& name : la::SupportedIsas()) isas.Set(isas.Length(), Napi::String::New(env, name));
    isas.Freeze();
    ctor.DefineProperty(Napi::PropertyDescriptor::Value("supportedIsas", isas, napi_enumerable));
    return ctor;
  }

  // new LstmAeScorer(spec, isa?)
  explicit LstmAeScorerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LstmAeScorerWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || info.Length() > 2 || !info[0].IsObject()) {
      throw MakeError(env, "ERR_INVALID_OPTION", "new LstmAeScorer(spec, isa?) takes an LstmAeNetSpec and optionally 'avx512' | 'avx2' | 'baseline'");
    }
    std::string isa;
    if (info.Length() == 2 && !info[1].IsUndefined()) {
      if (!info[1].IsString()) throw MakeError(env, "ERR_INVALID_OPTION", "LstmAeScorer: isa must be 'avx512', 'avx2' or 'baseline'");
      isa = info[1].As<Napi::String>().Utf8Value();
    }
    Napi::Object spec = info[0].As<Napi::Object>();
    la::NetSpec s{};
    s.window = SizeField(env, spec, "window", "spec.", la::kMaxWindow);
    s.channels = SizeField(env, spec, "channels", "spec.", la::kMaxChannels);
    s.encoder = ParseStack(env, spec, "encoder");
    s.decoder = ParseStack(env, spec, "decoder");
    try {
      la::Validate(s);  // sizes and the layer chain, before any product of sizes is formed
    } catch (const la::KernelError& e) {
      throw MakeError(env, e.code(), e.what());
    }
    const int64_t C = s.channels;
    // The arrays stay referenced (as Napi values on this stack) until MakeScorer has copied them.
    std::vector<Napi::Float32Array> keep;
    auto take = [&](const Napi::Object& obj, const char* key, const std::string& where, int64_t length, const char* shape) {
      keep.push_back(FloatField(env, obj, key, where, length, shape));
      return static_cast<const float*>(keep.back().Data());
    };
    s.scaler_mean = take(spec, "scalerMean", "spec.", C, "[C]");
    s.scaler_std = take(spec, "scalerStd", "spec.", C, "[C]");
    auto arrays = [&](const char* key, std::vector<la::LayerSpec>& layers) {
      Napi::Array arr = spec.Get(key).As<Napi::Array>();
      for (uint32_t i = 0; i < layers.size(); i++) {
        const std::string where = std::string("spec.") + key + "[" + std::to_string(i) + "].";
        Napi::Object l = arr.Get(i).As<Napi::Object>();
        la::LayerSpec& ls = layers[i];
        ls.W = take(l, "W", where, 4 * ls.units * ls.input_size, "[4H, F]");
        ls.R = take(l, "R", where, 4 * ls.units * ls.units, "[4H, H]");
        ls.B = take(l, "B", where, 8 * ls.units, "[8H]");
      }
    };
    arrays("encoder", s.encoder);
    arrays("decoder", s.decoder);
    s.out_kernel = take(spec, "outKernel", "spec.", s.decoder.back().units * C, "[H_last_decoder, C]");
    Napi::Value ob = spec.Get("outBias");
    s.out_bias = ob.IsNull() || ob.IsUndefined() ? nullptr : take(spec, "outBias", "spec.", C, "[C] (or null)");
    try {
      scorer_ = la::MakeScorer(s, isa);
    } catch (const la::KernelError& e) {
      throw MakeError(env, e.code(), e.what());
    } catch (const std::bad_alloc&) {
      throw MakeError(env, "ERR_RESOURCE", "LstmAeScorer: out of memory for the packed weights");
    }
    window_ = s.window;
    channels_ = C;
  }

 private:
  Napi::Value Isa(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), scorer_->isa()); }

  // score(frames, starts, n, score, channelScore, channelActivity, reconstruction)
  Napi::Value Score(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 7) {
      throw MakeError(env, "ERR_INVALID_OPTION", "LstmAeScorer.score(frames, starts, n, score, channelScore, channelActivity, reconstruction) takes 7 arguments");
    }
    const double nd = info[2].IsNumber() ? info[2].As<Napi::Number>().DoubleValue() : -1;
    if (!(nd >= 0 && nd <= 2147483647.0) || nd != static_cast<double>(static_cast<int64_t>(nd))) {
      throw MakeError(env, "ERR_BAD_SHAPE", "LstmAeScorer.score: n must be an integer >= 0");
    }
    const int64_t n = static_cast<int64_t>(nd), W = window_, C = channels_;
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
      throw MakeError(env, "ERR_BAD_SHAPE", "LstmAeScorer.score: frames must be a Float32Array [rows, C]");
    }
    Napi::Float32Array frames = info[0].As<Napi::Float32Array>();
    const int64_t len = static_cast<int64_t>(frames.ElementLength());
    if (len % C != 0) {
      throw MakeError(env, "ERR_BAD_SHAPE", "LstmAeScorer.score: frames has " + std::to_string(len) + " floats, not a whole number of rows of " +
                                                std::to_string(C) + " channels");
    }
    la::ScoreArgs a{};
    a.frames = frames.Data();
    a.rows = len / C;
    a.n = n;
    a.starts = ArrayArg<int64_t, napi_bigint64_array>(info, 1, n, "starts", "BigInt64Array", false);
    a.score = ArrayArg<float, napi_float32_array>(info, 3, n, "score [n]", "Float32Array", false);
    a.channel_score = ArrayArg<float, napi_float32_array>(info, 4, n * C, "channelScore [n, C]", "Float32Array", false);
    a.channel_activity = ArrayArg<float, napi_float32_array>(info, 5, n * C, "channelActivity [n, C]", "Float32Array", true);
    a.reconstruction = ArrayArg<float, napi_float32_array>(info, 6, n * W * C, "reconstruction [n, W, C]", "Float32Array", true);
    if (a.channel_activity && W < 3) {
      throw MakeError(env, "ERR_BAD_SHAPE", "LstmAeScorer.score: channelActivity must be null for windows shorter than 3 frames (the graph declares no channel_activity)");
    }
    if (n == 0) return env.Undefined();
    try {
      scorer_->Score(a);
    } catch (const la::KernelError& e) {
      throw MakeError(env, e.code(), e.what());
    } catch (const std::bad_alloc&) {
      throw MakeError(env, "ERR_RESOURCE", "LstmAeScorer.score: out of memory for its scratch; score smaller batches");
    }
    return env.Undefined();
  }

  std::unique_ptr<la::Scorer> scorer_;
  int64_t window_ = 0;
  int64_t channels_ = 0;
};

}  // namespace

Napi::Function DefineLstmAeScorer(Napi::Env env) { return LstmAeScorerWrap::Define(env); }

}  // namespace seismo::binding
