// The native LSTM-AE scorer: the whole exported LSTM-AE graph (training/kinds/lstm-ae/export.ts)
// for a batch of windows cut from one span of frames, fused into one pass per window, float32,
// on the calling thread.
//
// Pure C++ (no N-API; lstm_ae_score_binding.cc binds it). The graph's arithmetic, in ONNX
// layouts (src/native.ts LstmAeNetSpec says the same for TypeScript):
//   scaled_t = (x_t - mean) / std                                  per frame of the window
//   encoder stack: LSTM (zero state; z = W x_t + Wb + R h + Rb, gate blocks i, o, f, c;
//     c = f(z_f) c + f(z_i) tanh(z_c); h = f(z_o) tanh(c)), all layers return sequences but the
//     last, whose final h is the code
//   decoder stack: the code repeated W times into the first layer, sequences throughout
//   rec_t = h_t K + b; channel_score = mean_t (rec - scaled)^2 / C; score = its sum over c;
//   channel_activity = mean_{t>=1} |scaled_t - scaled_{t-1}|.
//
// The implementation (lstm_ae_score_impl.inc) is compiled three times: for AVX-512 (F, DQ, VL
// with FMA), for AVX2+FMA and for the x86-64 baseline; Make picks one by CPUID (or by name, for
// tests and benchmarks), so one prebuild runs on any x86-64 CPU.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels.h"  // KernelError: a failure with a stable code

namespace seismo {
namespace lstm_ae {

using kernels::KernelError;

/** f of the gates: the logistic sigmoid, or ONNX HardSigmoid(0.2, 0.5) = clip(0.2 x + 0.5, 0, 1). */
enum class Gate : int32_t { Sigmoid = 0, HardSigmoid = 1 };

/** One LSTM layer, ONNX layouts (the arrays are read at construction only, then packed). */
struct LayerSpec {
  int64_t input_size;  // F
  int64_t units;       // H
  const float* W;      // [4H, F], gate blocks i, o, f, c
  const float* R;      // [4H, H]
  const float* B;      // [8H]: Wb then Rb
  Gate gate;
};

/** The whole net; every pointer is read at construction only. */
struct NetSpec {
  int64_t window;    // W
  int64_t channels;  // C
  const float* scaler_mean;  // [C]
  const float* scaler_std;   // [C]
  std::vector<LayerSpec> encoder;  // >= 1
  std::vector<LayerSpec> decoder;  // >= 1
  const float* out_kernel;  // [H_last, C] row-major
  const float* out_bias;    // [C] or null
};

/** One call: n windows of `frames` ([rows, C]); window i = rows starts[i] .. starts[i] + W - 1. */
struct ScoreArgs {
  const float* frames;
  int64_t rows;
  const int64_t* starts;    // [n]
  int64_t n;
  float* score;             // [n]
  float* channel_score;     // [n, C]
  float* channel_activity;  // [n, C] or null (W < 3 or unwanted)
  float* reconstruction;    // [n, W, C] or null
};

/** Largest sizes a spec may have (far above any trained model; they bound the packed buffers). */
constexpr int64_t kMaxUnits = 4096;
constexpr int64_t kMaxChannels = 65536;
constexpr int64_t kMaxWindow = 1 << 20;
constexpr int64_t kMaxLayers = 64;

/** A scorer over one spec's packed weights. Not thread-safe: its scratch is its own. */
class Scorer {
 public:
  explicit Scorer(int64_t window) : window_(window) {}
  virtual ~Scorer() = default;
  /** The compiled variant: "avx512" | "avx2" | "baseline". */
  virtual const char* isa() const = 0;
  /**
   * Scores args.n windows. Throws KernelError ERR_BAD_SHAPE when a start is outside
   * [0, rows - W] (nothing written then). Scratch grows on the first call at a larger n, never
   * after; ERR_RESOURCE when it cannot.
   */
  void Score(const ScoreArgs& args);

 protected:
  /** Score() once the starts are checked: the compiled variant's work. */
  virtual void Run(const ScoreArgs& args) = 0;

 private:
  int64_t window_;
};

/**
 * Throws ERR_RESOURCE for scratch that cannot be allocated. Defined in the baseline file:
 * the variants never build a std::string (or any inline library code) themselves, since an
 * inline function instantiated in a file compiled for AVX could be the copy the linker keeps
 * for every caller (see kernels_avx2.cc).
 */
[[noreturn]] void ThrowOutOfMemory();

/**
 * Checks the spec's sizes and layer chain: ERR_INVALID_OPTION for sizes out of range (units,
 * window, channels, layer counts), ERR_BAD_SHAPE for a layer whose input size is not the previous
 * layer's output. Array lengths are the binding's to check (it alone sees them).
 */
void Validate(const NetSpec& spec);

/** The variants this CPU runs, best first ("avx512", "avx2", "baseline"). */
std::vector<std::string> SupportedIsas();

/**
 * Validates the spec and packs its weights for `isa` ("" = the best this CPU runs). An unknown
 * name, or one this CPU cannot run, throws ERR_INVALID_OPTION.
 */
std::unique_ptr<Scorer> MakeScorer(const NetSpec& spec, const std::string& isa);

// One factory per compiled variant (lstm_ae_score_{avx512,avx2,baseline}.cc); the spec is valid,
// the caller owns the result (a raw pointer: no std::unique_ptr code is instantiated there).
namespace avx512 { Scorer* Make(const NetSpec& spec); }
namespace avx2 { Scorer* Make(const NetSpec& spec); }
namespace baseline { Scorer* Make(const NetSpec& spec); }

}  // namespace lstm_ae
}  // namespace seismo
