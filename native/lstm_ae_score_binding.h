// The native LSTM-AE scorer's N-API class (lstm_ae_score_binding.cc), registered by addon.cc as
// `LstmAeScorer`.
#pragma once

#include <napi.h>

namespace seismo::binding {

// The `LstmAeScorer` constructor: new LstmAeScorer(spec, isa?) with .isa and .score(...), and
// LstmAeScorer.supportedIsas.
Napi::Function DefineLstmAeScorer(Napi::Env env);

}  // namespace seismo::binding
