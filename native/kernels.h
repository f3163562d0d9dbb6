// Training kernels: an LSTM layer over a whole sequence and a causal dilated 1-D convolution,
// forward and backward, float32, single-threaded (tfjs calls them synchronously from one thread).
//
// Pure C++ (no N-API): the binding in addon.cc checks array lengths against these dims and then
// calls through the dispatch table below. All buffers are caller-owned and row-major; no kernel
// allocates except Eigen's GEMM blocking workspace.
//
// The implementation (kernels_impl.inc) is compiled three times: with AVX-512 (kernels_avx512.cc),
// with AVX2+FMA (kernels_avx2.cc) and for the x86-64 baseline (kernels_baseline.cc).
// kernels_dispatch.cc picks one at load time from CPUID, so one prebuild runs on any x86-64 and
// uses the widest vectors the CPU has.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace seismo {
namespace kernels {

/** Thrown by kernels for violated invariants; carries an error code like RingError. */
class KernelError : public std::runtime_error {
 public:
  KernelError(const char* code, const std::string& message) : std::runtime_error(message), code_(code) {}
  const char* code() const noexcept { return code_; }

 private:
  const char* code_;
};

/** Recurrent (gate) activation of the LSTM: Keras' `recurrentActivation`. */
enum class GateActivation : int32_t {
  Sigmoid = 0,      // 1 / (1 + exp(-x))
  HardSigmoid = 1,  // clip(0.2 x + 0.5, 0, 1), tfjs-layers' default and ONNX HardSigmoid(0.2, 0.5)
};

/**
 * One LSTM layer, Keras semantics: zero initial state, gate blocks in the order i, f, c, o
 * (the order of tfjs-layers' kernel columns and of training/export/blocks.ts), cell activation
 * tanh, gate activation per `gate`.
 *
 * Shapes (row-major): x [B, T, F] ([B, F] with repeated_input), kernel [F, 4H], recurrent [H, 4H], bias [4H];
 * y [B, T, H] when return_sequences else [B, H]; state [T, B, 6H] (see LstmStateFloats).
 */
struct LstmDims {
  int64_t batch;     // B
  int64_t steps;     // T
  int64_t features;  // F
  int64_t units;     // H
  GateActivation gate;
  bool return_sequences;
  // x is [B, F], the same input at every step (an LSTM-AE decoder reading its repeated code):
  // the input projection x W + b is computed once, not T times, and the backward pass gives
  // dx [B, F] = (sum_t dG_t) W^T and dkernel = x^T (sum_t dG_t), the gradients of the repeat.
  bool repeated_input = false;
};

/**
 * Floats of the state that the forward pass saves for the backward pass, time-major:
 * [T, B, 4H] activated gates, then [T, B, H] cell states, then [T, B, H] hidden states.
 */
inline int64_t LstmStateFloats(const LstmDims& d) { return d.steps * d.batch * 6 * d.units; }

/**
 * Scratch floats LstmBackward needs: [B, T, 4H] gate gradients (batch-major, so that the weight
 * gradients are one GEMM each), [B, T, H] time-shifted hidden states, 4 x [B, H] step rows
 * (two used), [B, 4H] (the gate gradients summed over the steps, for a repeated input) and
 * [4H, H] (the recurrent weights transposed).
 */
inline int64_t LstmBackwardScratchFloats(const LstmDims& d) {
  return d.batch * d.steps * 5 * d.units + 2 * d.batch * 4 * d.units + 4 * d.units * d.units;
}

/** Rows of x: B*T, or B for a repeated input. */
inline int64_t LstmInputRows(const LstmDims& d) { return d.repeated_input ? d.batch : d.batch * d.steps; }

/** Scratch floats LstmForward needs: the [B, T, 4H] input projection x W + b. */
inline int64_t LstmForwardScratchFloats(const LstmDims& d) { return d.batch * d.steps * 4 * d.units; }

struct LstmForwardArgs {
  LstmDims dims;
  const float* x;
  const float* kernel;
  const float* recurrent;
  const float* bias;
  float* y;
  float* state;
  float* scratch;
};

/**
 * Gradients of sum(y * dy) w.r.t. x and the weights. `dy` has y's shape. The weight gradients are
 * overwritten (not accumulated into): dx [B, T, F] ([B, F] for a repeated input; nullptr: not
 * wanted, e.g. for a network's first layer, and not computed), dkernel [F, 4H], drecurrent [H, 4H],
 * dbias [4H].
 */
struct LstmBackwardArgs {
  LstmDims dims;
  const float* x;
  const float* kernel;
  const float* recurrent;
  const float* state;
  const float* dy;
  float* dx;
  float* dkernel;
  float* drecurrent;
  float* dbias;
  float* scratch;
};

/**
 * Causal dilated 1-D convolution, batch-major:
 * y[n, t, o] = bias[o] + sum_j sum_i x[n, t - (k-1-j) d, i] kernel[j, i, o], x = 0 before t = 0.
 * Shapes: x [N, T, Cin], kernel [k, Cin, Cout], bias [Cout], y [N, T, Cout].
 */
struct ConvDims {
  int64_t batch;     // N
  int64_t steps;     // T
  int64_t in;        // Cin
  int64_t out;       // Cout
  int64_t taps;      // k
  int64_t dilation;  // d
};

/** Scratch floats of both conv passes: the im2col matrix [N*T, k*Cin]. */
inline int64_t ConvScratchFloats(const ConvDims& d) { return d.batch * d.steps * d.taps * d.in; }

struct ConvForwardArgs {
  ConvDims dims;
  const float* x;
  const float* kernel;
  const float* bias;
  float* y;
  float* scratch;
};

/** Gradients of sum(y * dy): dx [N, T, Cin], dkernel [k, Cin, Cout], dbias [Cout] (overwritten). */
struct ConvBackwardArgs {
  ConvDims dims;
  const float* x;
  const float* kernel;
  const float* dy;
  float* dx;
  float* dkernel;
  float* dbias;
  float* scratch;
};

/** One compiled variant of the kernels. */
struct KernelTable {
  const char* isa;
  void (*lstm_forward)(const LstmForwardArgs&);
  void (*lstm_backward)(const LstmBackwardArgs&);
  void (*conv_forward)(const ConvForwardArgs&);
  void (*conv_backward)(const ConvBackwardArgs&);
};

namespace avx512 {
const KernelTable& Table();
}
namespace avx2 {
const KernelTable& Table();
}
namespace baseline {
const KernelTable& Table();
}

/** True when this CPU (and OS) can run the AVX2+FMA variant. */
bool CpuHasAvx2();

/** True when this CPU (and OS) can run the AVX-512 variant (AVX-512 F, DQ, VL, BW and AVX2+FMA). */
bool CpuHasAvx512();

/**
 * The variant in use: AVX-512 where the CPU has it, else AVX2 where it has that, else baseline,
 * unless Select() said otherwise.
 */
const KernelTable& Active();

/**
 * Switches the variant ("avx512", "avx2" or "baseline"), process-wide; for tests and benchmarks.
 * @throws KernelError ERR_INVALID_OPTION for an unknown name or a variant this CPU cannot run.
 */
void Select(const std::string& isa);

}  // namespace kernels
}  // namespace seismo
