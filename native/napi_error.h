// A JS Error carrying a stable `code`: the one way native code reports a failure to JS (see
// addon.cc's decisions).
#pragma once

#include <napi.h>

#include <string>

namespace seismo::binding {

inline Napi::Error MakeError(Napi::Env env, const char* code, const std::string& message) {
  Napi::Error err = Napi::Error::New(env, message);
  err.Set("code", Napi::String::New(env, code));
  return err;
}

}  // namespace seismo::binding
