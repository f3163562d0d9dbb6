// N-API binding of the ring arena.
//
// Decisions, written down once:
// - C++ exceptions are on (NAPI_CPP_EXCEPTIONS). The core throws RingError; every entry point
//   converts it into a JS Error carrying `code`, so JS sees one typed error path.
// - Validation of shapes and types is done in TypeScript (src/native.ts); C++ checks only the
//   bounds and invariants it alone can see (sizes). The ring arena binding hands out memory only:
//   frames are pushed and counted in TypeScript over that memory (see native/ring_arena.h).
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
// - This file binds the ring arena and registers the addon; the kernels' functions are bound in
//   kernels_binding.cc, the LSTM-AE scorer class in lstm_ae_score_binding.cc, and napi_error.h
//   makes the coded errors of all of them.
#define NAPI_VERSION 8
#include <napi.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels.h"
#include "kernels_binding.h"
#include "log_terms_binding.h"
#include "lstm_ae_score_binding.h"
#include "napi_error.h"
#include "ring_arena.h"

namespace {

using seismo::RingArena;
using seismo::RingError;

using seismo::binding::MakeError;
namespace kn = seismo::kernels;
namespace bind = seismo::binding;

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
                           InstanceMethod<&RingArenaWrap::Dispose>("dispose"),
                           InstanceAccessor<&RingArenaWrap::Id>("id"),
                           StaticMethod<&RingArenaWrap::Attach>("attach"),
                       });
  }

  explicit RingArenaWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<RingArenaWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() != 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber()) {
      throw MakeError(env, "ERR_INVALID_OPTION", "RingArena(channels, capacity, slots) takes three numbers");
    }
    const int64_t channels = info[0].As<Napi::Number>().Int64Value();
    const int64_t capacity = info[1].As<Napi::Number>().Int64Value();
    const int64_t slots = info[2].As<Napi::Number>().Int64Value();
    if (channels <= 0 || capacity <= 0 || slots <= 0 || channels > UINT32_MAX || capacity > UINT32_MAX ||
        slots > UINT32_MAX) {
      throw MakeError(env, "ERR_INVALID_OPTION", "RingArena: channels, capacity, slots must be positive integers below 2^32");
    }
    try {
      arena_ = std::make_shared<RingArena>(static_cast<uint32_t>(channels), static_cast<uint32_t>(capacity),
                                           static_cast<uint32_t>(slots));
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

  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Live(info.Env());
    Napi::ArrayBuffer view = ExternalView(info.Env(), arena_);
    views_.push_back(Napi::Weak(view));
    return view;
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

class SeismoAddon : public Napi::Addon<SeismoAddon> {
 public:
  SeismoAddon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("RingArena", RingArenaWrap::Define(env), napi_enumerable),
                             InstanceValue("abiVersion", Napi::Number::New(env, 7), napi_enumerable),
                             InstanceValue("cpuHasAvx2", Napi::Boolean::New(env, kn::CpuHasAvx2()), napi_enumerable),
                             InstanceValue("cpuHasAvx512", Napi::Boolean::New(env, kn::CpuHasAvx512()), napi_enumerable),
                             InstanceValue("lstmForward", Napi::Function::New<bind::LstmForward>(env, "lstmForward"), napi_enumerable),
                             InstanceValue("lstmBackward", Napi::Function::New<bind::LstmBackward>(env, "lstmBackward"), napi_enumerable),
                             InstanceValue("convForward", Napi::Function::New<bind::ConvForward>(env, "convForward"), napi_enumerable),
                             InstanceValue("convBackward", Napi::Function::New<bind::ConvBackward>(env, "convBackward"), napi_enumerable),
                             InstanceValue("kernelIsa", Napi::Function::New<bind::KernelIsa>(env, "kernelIsa"), napi_enumerable),
                             InstanceValue("channelLogTerms", Napi::Function::New<bind::ChannelLogTerms>(env, "channelLogTerms"), napi_enumerable),
                             InstanceValue("attributeBatch", Napi::Function::New<bind::AttributeBatch>(env, "attributeBatch"), napi_enumerable),
                             InstanceValue("LstmAeScorer", bind::DefineLstmAeScorer(env), napi_enumerable),
                         });
  }
};

}  // namespace

NODE_API_ADDON(SeismoAddon)
