// Runtime choice between the AVX-512, the AVX2 and the baseline build of the kernels. Compiled for
// the baseline: nothing here may use AVX2 or AVX-512 before the CPU check has run.
#include <atomic>

#include "kernels.h"

namespace seismo {
namespace kernels {

bool CpuHasAvx2() {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports checks CPUID and, for AVX, that the OS saves the YMM registers.
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
#else
  return false;
#endif
}

bool CpuHasAvx512() {
#if defined(__x86_64__) || defined(__i386__)
  // As for AVX2, __builtin_cpu_supports also checks that the OS saves the ZMM and mask registers.
  static const bool has = CpuHasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
  return has;
#else
  return false;
#endif
}

namespace {
const KernelTable* Best() {
  if (CpuHasAvx512()) return &avx512::Table();
  if (CpuHasAvx2()) return &avx2::Table();
  return &baseline::Table();
}

// Process-wide, like the CPU it describes; an atomic pointer so worker threads read a whole one.
std::atomic<const KernelTable*>& Current() {
  static std::atomic<const KernelTable*> current{Best()};
  return current;
}
}  // namespace

const KernelTable& Active() { return *Current().load(std::memory_order_acquire); }

void Select(const std::string& isa) {
  if (isa == "avx512") {
    if (!CpuHasAvx512()) throw KernelError("ERR_INVALID_OPTION", "kernels: this CPU has no AVX-512 (F, DQ, VL, BW)");
    Current().store(&avx512::Table(), std::memory_order_release);
  } else if (isa == "avx2") {
    if (!CpuHasAvx2()) throw KernelError("ERR_INVALID_OPTION", "kernels: this CPU has no AVX2+FMA");
    Current().store(&avx2::Table(), std::memory_order_release);
  } else if (isa == "baseline") {
    Current().store(&baseline::Table(), std::memory_order_release);
  } else {
    throw KernelError("ERR_INVALID_OPTION", "kernels: unknown instruction set '" + isa + "' (avx512 | avx2 | baseline)");
  }
}

}  // namespace kernels
}  // namespace seismo
