// N-API binding of the ring arena.
//
// Decisions, written down once:
// - C++ exceptions are on (NAPI_CPP_EXCEPTIONS). The core throws RingError; every entry point
//   converts it into a JS Error carrying `code`, so JS sees one typed error path.
// - Validation of shapes and types is done in TypeScript (src/native.ts); C++ checks only the
//   bounds and invariants it alone can see (slot range, frame counts, capacity).
// - Memory reaches JS as external ArrayBuffers. Each buffer's finalizer owns a reference to the
//   storage, so a view outlives `dispose()` safely: dispose drops the arena's own reference and
//   makes its methods throw, the memory goes when the last view is collected.
// - Worker threads attach by id through a process-wide registry of weak references; per-isolate
//   state (the constructor) lives in the addon's instance data, so the addon loads in any number
//   of workers.
// - Training kernels (kernels.h) take caller-owned Float32Arrays: TypeScript allocates outputs and
//   saved state, C++ checks every length against the dims it is given (the one check it alone
//   must make for memory safety) and writes in place; no JS array is copied element by element.
//   Their scratch is a per-thread buffer that grows to the largest call and is reused.
#define NAPI_VERSION 8
#include <napi.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels.h"
#include "ring_arena.h"

namespace {

using seismo::RingArena;
using seismo::RingError;

Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

// Process-wide: a worker isolate looks an arena up by the id its creator handed over.
class Registry {
 public:
  static Registry& Get() {
    static Registry* instance = new Registry();  // never destroyed: workers may outlive main's statics
    return *instance;
  }
  uint32_t Add(const std::shared_ptr<RingArena>& arena) {
    std::lock_guard<std::mutex> lock(mutex_);
    const uint32_t id = ++next_id_;
    arenas_[id] = arena;
    return id;
  }
  std::shared_ptr<RingArena> Find(uint32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = arenas_.find(id);
    if (it == arenas_.end()) return nullptr;
    std::shared_ptr<RingArena> arena = it->second.lock();
    if (!arena) arenas_.erase(it);
    return arena;
  }
  void Remove(uint32_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    arenas_.erase(id);
  }

 private:
  std::mutex mutex_;
  uint32_t next_id_ = 0;
  std::unordered_map<uint32_t, std::weak_ptr<RingArena>> arenas_;
};

// An external ArrayBuffer over the whole arena; the finalizer keeps the storage alive.
//
// The view's bytes are reported to the isolate's GC as external memory (and taken back in the
// finalizer): V8 sees only a small JS object, and without this a process creating and dropping
// arenas reached gigabytes of RSS before a collection freed any. The raw C call is used because
// the finalizer may run while the environment is torn down, where a thrown Napi::Error would end
// in std::terminate; its status is deliberately ignored (accounting is advice to the GC).
Napi::ArrayBuffer ExternalView(Napi::Env env, const std::shared_ptr<RingArena>& arena) {
  auto* keep = new std::shared_ptr<RingArena>(arena);
  const int64_t bytes = static_cast<int64_t>(arena->byte_length());
  Napi::ArrayBuffer view = Napi::ArrayBuffer::New(
      env, arena->data(), arena->byte_length(),
      [](Napi::Env finalizing, void*, std::shared_ptr<RingArena>* hint) {
        int64_t ignored = 0;
        napi_adjust_external_memory(finalizing, -static_cast<int64_t>((*hint)->byte_length()), &ignored);
        delete hint;
      },
      keep);
  int64_t ignored = 0;
  napi_adjust_external_memory(env, bytes, &ignored);
  return view;
}

class RingArenaWrap : public Napi::ObjectWrap<RingArenaWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "RingArena",
                       {
                           InstanceMethod<&RingArenaWrap::Buffer>("buffer"),
                           InstanceMethod<&RingArenaWrap::Push>("push"),
                           InstanceMethod<&RingArenaWrap::Release>("release"),
                           InstanceMethod<&RingArenaWrap::State>("state"),
                           InstanceMethod<&RingArenaWrap::Dispose>("dispose"),
                           InstanceAccessor<&RingArenaWrap::Id>("id"),
                           StaticMethod<&RingArenaWrap::Attach>("attach"),
                       });
  }

  explicit RingArenaWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingArenaWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 4 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber() ||
        !info[3].IsNumber()) {
      throw MakeError(env, "ERR_INVALID_OPTION", "RingArena(channels, capacity, slots, policy) takes four numbers");
    }
    const int64_t channels = info[0].As<Napi::Number>().Int64Value();
    const int64_t capacity = info[1].As<Napi::Number>().Int64Value();
    const int64_t slots = info[2].As<Napi::Number>().Int64Value();
    const int32_t policy = info[3].As<Napi::Number>().Int32Value();
    if (channels <= 0 || capacity <= 0 || slots <= 0 || channels > UINT32_MAX || capacity > UINT32_MAX ||
        slots > UINT32_MAX || (policy != 0 && policy != 1)) {
      throw MakeError(env, "ERR_INVALID_OPTION", "RingArena: channels, capacity, slots must be positive and policy 0|1");
    }
    try {
      arena_ = std::make_shared<RingArena>(static_cast<uint32_t>(channels), static_cast<uint32_t>(capacity),
                                           static_cast<uint32_t>(slots), static_cast<seismo::OverflowPolicy>(policy));
    } catch (const RingError& e) {
      throw MakeError(env, e.code(), e.what());
    } catch (const std::bad_alloc&) {
      throw MakeError(env, "ERR_RESOURCE", "RingArena: out of memory for the requested size; ask for fewer series or a smaller capacity");
    }
    id_ = Registry::Get().Add(arena_);
  }

  ~RingArenaWrap() override { Registry::Get().Remove(id_); }

 private:
  RingArena& Live(Napi::Env env) {
    if (!arena_) throw MakeError(env, "ERR_DISPOSED", "RingArena used after dispose()");
    return *arena_;
  }

  Napi::Value Id(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), id_); }

  // A slot number from JS. Uint32Value() would wrap 2^32 to 0 and truncate 1.5 to 1, writing into
  // another series' slot: anything but an integer in [0, slots) is refused here, whatever the
  // TypeScript layer checked, since only this side owns the arena's bounds.
  static uint32_t SlotArg(Napi::Env env, const Napi::Value& value, const RingArena& arena) {
    const double slot = value.As<Napi::Number>().DoubleValue();
    if (!(slot >= 0 && slot < static_cast<double>(arena.slots())) || slot != static_cast<double>(static_cast<uint32_t>(slot))) {
      throw MakeError(env, "ERR_INVALID_OPTION", "slot " + value.ToString().Utf8Value() +
                                                     " is not an integer in [0, " + std::to_string(arena.slots()) + ")");
    }
    return static_cast<uint32_t>(slot);
  }

  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Live(info.Env());
    Napi::ArrayBuffer view = ExternalView(info.Env(), arena_);
    views_.push_back(Napi::Weak(view));
    return view;
  }

  // push(slot, frames: Float32Array, count): count frames from the start of `frames`.
  Napi::Value Push(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RingArena& arena = Live(env);
    if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber()) {
      throw MakeError(env, "ERR_INVALID_OPTION", "push(slot, frames: Float32Array, count)");
    }
    Napi::TypedArray typed = info[1].As<Napi::TypedArray>();
    if (typed.TypedArrayType() != napi_float32_array) {
      throw MakeError(env, "ERR_BAD_SHAPE", "push: frames must be a Float32Array");
    }
    Napi::Float32Array frames = info[1].As<Napi::Float32Array>();
    const int64_t count = info[2].As<Napi::Number>().Int64Value();
    const uint32_t slot = SlotArg(env, info[0], arena);
    if (count < 0 || static_cast<uint64_t>(count) * arena.channels() > frames.ElementLength() || count > UINT32_MAX) {
      throw MakeError(env, "ERR_BAD_SHAPE", "push: count * channels exceeds the frames array");
    }
    try {
      const uint64_t written = arena.Push(slot, frames.Data(), static_cast<uint32_t>(count));
      return Napi::Number::New(env, static_cast<double>(written));
    } catch (const RingError& e) {
      throw MakeError(env, e.code(), e.what());
    }
  }

  Napi::Value Release(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RingArena& arena = Live(env);
    if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
      throw MakeError(env, "ERR_INVALID_OPTION", "release(slot, upToFrame)");
    }
    const double up_to = info[1].As<Napi::Number>().DoubleValue();
    if (!(up_to >= 0 && up_to <= 9007199254740992.0) || up_to != static_cast<double>(static_cast<uint64_t>(up_to))) {
      throw MakeError(env, "ERR_INVALID_OPTION", "release: frame must be an integer >= 0");
    }
    try {
      arena.Release(SlotArg(env, info[0], arena), static_cast<uint64_t>(up_to));
    } catch (const RingError& e) {
      throw MakeError(env, e.code(), e.what());
    }
    return env.Undefined();
  }

  // state(slot, out: Float64Array(3)) writes [written, released, dropped]; no allocation.
  Napi::Value State(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    RingArena& arena = Live(env);
    if (info.Length() != 2 || !info[0].IsNumber() || !info[1].IsTypedArray() ||
        info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
        info[1].As<Napi::Float64Array>().ElementLength() < 3) {
      throw MakeError(env, "ERR_INVALID_OPTION", "state(slot, out: Float64Array of length 3)");
    }
    try {
      const seismo::SlotState& s = arena.State(SlotArg(env, info[0], arena));
      double* out = info[1].As<Napi::Float64Array>().Data();
      out[0] = static_cast<double>(s.written);
      out[1] = static_cast<double>(s.released);
      out[2] = static_cast<double>(s.dropped);
    } catch (const RingError& e) {
      throw MakeError(env, e.code(), e.what());
    }
    return env.Undefined();
  }

  // dispose() frees the block now rather than at some later GC: every view this object handed
  // out on this thread is detached (its typed arrays read as length 0 from then on, never as
  // freed memory), which drops the last references to the storage unless a worker thread still
  // holds a view from attach() (that one keeps it alive until it is collected there).
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    Registry::Get().Remove(id_);
    for (Napi::Reference<Napi::ArrayBuffer>& ref : views_) {
      if (ref.IsEmpty()) continue;
      Napi::ArrayBuffer view = ref.Value();
      if (!view.IsEmpty() && !view.IsDetached()) view.Detach();
    }
    views_.clear();
    arena_.reset();
    return info.Env().Undefined();
  }

  // attach(id) from any thread of the process: { buffer, channels, capacity, slots }.
  static Napi::Value Attach(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsNumber()) throw MakeError(env, "ERR_INVALID_OPTION", "attach(id)");
    std::shared_ptr<RingArena> arena = Registry::Get().Find(info[0].As<Napi::Number>().Uint32Value());
    if (!arena) throw MakeError(env, "ERR_DISPOSED", "no live RingArena with that id (disposed or never created)");
    Napi::Object out = Napi::Object::New(env);
    out.Set("buffer", ExternalView(env, arena));
    out.Set("channels", Napi::Number::New(env, arena->channels()));
    out.Set("capacity", Napi::Number::New(env, arena->capacity()));
    out.Set("slots", Napi::Number::New(env, arena->slots()));
    return out;
  }

  std::shared_ptr<RingArena> arena_;
  uint32_t id_ = 0;
  // Weak references to the views buffer() made, so that dispose() can detach them.
  std::vector<Napi::Reference<Napi::ArrayBuffer>> views_;
};

// ---- Training kernels -------------------------------------------------------------------------

namespace kn = seismo::kernels;

int64_t DimArg(const Napi::CallbackInfo& info, size_t i, const char* fn, const char* name) {
  if (!info[i].IsNumber()) throw MakeError(info.Env(), "ERR_INVALID_OPTION", std::string(fn) + ": " + name + " must be a number");
  const double v = info[i].As<Napi::Number>().DoubleValue();
  // 2^31 per dimension; the products of dims are bounded by CheckFloats.
  if (!(v >= 1 && v <= 2147483647.0) || v != static_cast<double>(static_cast<int64_t>(v))) {
    throw MakeError(info.Env(), "ERR_BAD_SHAPE", std::string(fn) + ": " + name + " must be a positive integer");
  }
  return static_cast<int64_t>(v);
}

// A Float32Array argument of exactly `length` elements.
float* FloatArg(const Napi::CallbackInfo& info, size_t i, int64_t length, const char* fn, const char* name) {
  Napi::Env env = info.Env();
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw MakeError(env, "ERR_BAD_SHAPE", std::string(fn) + ": " + name + " must be a Float32Array");
  }
  Napi::Float32Array a = info[i].As<Napi::Float32Array>();
  if (static_cast<int64_t>(a.ElementLength()) != length) {
    throw MakeError(env, "ERR_BAD_SHAPE", std::string(fn) + ": " + name + " has " + std::to_string(a.ElementLength()) +
                                              " floats, expected " + std::to_string(length));
  }
  return a.Data();
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

// lstmForward(x, kernel, recurrent, bias, y, state, B, T, F, H, gate, returnSequences)
Napi::Value LstmForward(const Napi::CallbackInfo& info) {
  const char* fn = "lstmForward";
  ArgCount(info, 12, "lstmForward(x, kernel, recurrent, bias, y, state, batch, steps, features, units, gate, returnSequences)");
  kn::LstmForwardArgs a{};
  a.dims = LstmDimsArg(info, 6, fn);
  const kn::LstmDims& d = a.dims;
  a.x = FloatArg(info, 0, d.batch * d.steps * d.features, fn, "x [B, T, F]");
  a.kernel = FloatArg(info, 1, d.features * 4 * d.units, fn, "kernel [F, 4H]");
  a.recurrent = FloatArg(info, 2, d.units * 4 * d.units, fn, "recurrent [H, 4H]");
  a.bias = FloatArg(info, 3, 4 * d.units, fn, "bias [4H]");
  a.y = FloatArg(info, 4, d.batch * (d.return_sequences ? d.steps : 1) * d.units, fn, "y");
  a.state = FloatArg(info, 5, kn::LstmStateFloats(d), fn, "state [T, B, 6H]");
  a.scratch = Scratch(info.Env(), kn::LstmForwardScratchFloats(d));
  kn::Active().lstm_forward(a);
  return info.Env().Undefined();
}

// lstmBackward(x, kernel, recurrent, state, dy, dx, dkernel, drecurrent, dbias, B, T, F, H, gate, returnSequences)
Napi::Value LstmBackward(const Napi::CallbackInfo& info) {
  const char* fn = "lstmBackward";
  ArgCount(info, 15, "lstmBackward(x, kernel, recurrent, state, dy, dx, dkernel, drecurrent, dbias, batch, steps, features, units, gate, returnSequences)");
  kn::LstmBackwardArgs a{};
  a.dims = LstmDimsArg(info, 9, fn);
  const kn::LstmDims& d = a.dims;
  a.x = FloatArg(info, 0, d.batch * d.steps * d.features, fn, "x [B, T, F]");
  a.kernel = FloatArg(info, 1, d.features * 4 * d.units, fn, "kernel [F, 4H]");
  a.recurrent = FloatArg(info, 2, d.units * 4 * d.units, fn, "recurrent [H, 4H]");
  a.state = FloatArg(info, 3, kn::LstmStateFloats(d), fn, "state [T, B, 6H]");
  a.dy = FloatArg(info, 4, d.batch * (d.return_sequences ? d.steps : 1) * d.units, fn, "dy");
  a.dx = FloatArg(info, 5, d.batch * d.steps * d.features, fn, "dx [B, T, F]");
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

// kernelIsa() -> "avx2" | "baseline"; kernelIsa(name) switches first (tests, benchmarks).
Napi::Value KernelIsa(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() == 1) {
    if (!info[0].IsString()) throw MakeError(env, "ERR_INVALID_OPTION", "kernelIsa(name?: 'avx2' | 'baseline')");
    try {
      kn::Select(info[0].As<Napi::String>().Utf8Value());
    } catch (const kn::KernelError& e) {
      throw MakeError(env, e.code(), e.what());
    }
  }
  return Napi::String::New(env, kn::Active().isa);
}

class SeismoAddon : public Napi::Addon<SeismoAddon> {
 public:
  SeismoAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("RingArena", RingArenaWrap::Define(env), napi_enumerable),
                             InstanceValue("abiVersion", Napi::Number::New(env, 2), napi_enumerable),
                             InstanceValue("cpuHasAvx2", Napi::Boolean::New(env, kn::CpuHasAvx2()), napi_enumerable),
                             InstanceValue("lstmForward", Napi::Function::New<LstmForward>(env, "lstmForward"), napi_enumerable),
                             InstanceValue("lstmBackward", Napi::Function::New<LstmBackward>(env, "lstmBackward"), napi_enumerable),
                             InstanceValue("convForward", Napi::Function::New<ConvForward>(env, "convForward"), napi_enumerable),
                             InstanceValue("convBackward", Napi::Function::New<ConvBackward>(env, "convBackward"), napi_enumerable),
                             InstanceValue("kernelIsa", Napi::Function::New<KernelIsa>(env, "kernelIsa"), napi_enumerable),
                         });
  }
};

}  // namespace

NODE_API_ADDON(SeismoAddon)
