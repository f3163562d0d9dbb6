// Validation of an LSTM-AE spec and the run-time choice of the scorer's compiled variant.
// Compiled for the x86-64 baseline: nothing here may run AVX code before the CPU check.
#include "lstm_ae_score.h"

namespace seismo {
namespace lstm_ae {

namespace {

bool CpuHasAvx512() {
#if defined(__x86_64__) || defined(__i386__)
  // The AVX-512 variant is built with -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma; the checks
  // include that the OS saves the ZMM state.
  static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

void CheckSize(int64_t v, int64_t max, const std::string& what) {
  if (v < 1 || v > max) {
    throw KernelError("ERR_INVALID_OPTION", "LstmAeScorer: " + what + " is " + std::to_string(v) + ", expected an integer in [1, " +
                                                std::to_string(max) + "]");
  }
}

void CheckStack(const std::vector<LayerSpec>& layers, const char* stack, int64_t input) {
  CheckSize(static_cast<int64_t>(layers.size()), kMaxLayers, std::string(stack) + " layer count");
  for (size_t i = 0; i < layers.size(); i++) {
    const LayerSpec& l = layers[i];
    const std::string name = std::string(stack) + "[" + std::to_string(i) + "]";
    CheckSize(l.units, kMaxUnits, name + ".units");
    if (l.input_size != input) {
      throw KernelError("ERR_BAD_SHAPE", "LstmAeScorer: " + name + ".inputSize is " + std::to_string(l.input_size) + ", but its input has " +
                                             std::to_string(input) + " features (the channels, or the previous layer's units)");
    }
    if (l.gate != Gate::Sigmoid && l.gate != Gate::HardSigmoid) throw KernelError("ERR_INVALID_OPTION", "LstmAeScorer: " + name + ".gate must be sigmoid or hardSigmoid");
    input = l.units;
  }
}

}  // namespace

void ThrowOutOfMemory() { throw KernelError("ERR_RESOURCE", "LstmAeScorer: out of memory for its scratch; score smaller batches"); }

void Scorer::Score(const ScoreArgs& a) {
  const int64_t maxStart = a.rows - window_;
  for (int64_t i = 0; i < a.n; i++) {
    if (a.starts[i] < 0 || a.starts[i] > maxStart) {
      throw KernelError("ERR_BAD_SHAPE", "LstmAeScorer.score: starts[" + std::to_string(i) + "] = " + std::to_string(a.starts[i]) +
                                             " is outside [0, rows - window] = [0, " + std::to_string(maxStart) +
                                             "]: every window must lie inside frames");
    }
  }
  if (a.n > 0) Run(a);
}

void Validate(const NetSpec& s) {
  CheckSize(s.window, kMaxWindow, "window");
  CheckSize(s.channels, kMaxChannels, "channels");
  CheckStack(s.encoder, "encoder", s.channels);
  CheckStack(s.decoder, "decoder", s.encoder.back().units);
}

std::vector<std::string> SupportedIsas() {
  std::vector<std::string> out;
  if (CpuHasAvx512()) out.push_back("avx512");
  if (kernels::CpuHasAvx2()) out.push_back("avx2");
  out.push_back("baseline");
  return out;
}

std::unique_ptr<Scorer> MakeScorer(const NetSpec& spec, const std::string& isa) {
  Validate(spec);
  const std::string pick = isa.empty() ? SupportedIsas().front() : isa;
  if (pick == "avx512") {
    if (!CpuHasAvx512()) throw KernelError("ERR_INVALID_OPTION", "LstmAeScorer: this CPU has no AVX-512 (F, DQ, VL); use avx2 or baseline");
    return std::unique_ptr<Scorer>(avx512::Make(spec));
  }
  if (pick == "avx2") {
    if (!kernels::CpuHasAvx2()) throw KernelError("ERR_INVALID_OPTION", "LstmAeScorer: this CPU has no AVX2+FMA; use baseline");
    return std::unique_ptr<Scorer>(avx2::Make(spec));
  }
  if (pick == "baseline") return std::unique_ptr<Scorer>(baseline::Make(spec));
  throw KernelError("ERR_INVALID_OPTION", "LstmAeScorer: unknown instruction set '" + pick + "' (avx512 | avx2 | baseline)");
}

}  // namespace lstm_ae
}  // namespace seismo
