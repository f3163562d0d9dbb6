// Runtime choice between the AVX2 and the baseline build of the kernels. Compiled for the
// baseline: nothing here may use AVX2 before the CPU check has run.
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

namespace {
// Process-wide, like the CPU it describes; an atomic pointer so worker threads read a whole one.
std::atomic<const KernelTable*>& Current() {
  static std::atomic<const KernelTable*> current{CpuHasAvx2() ? &avx2::Table() : &baseline::Table()};
  return current;
}
}  // namespace

const KernelTable& Active() { return *Current().load(std::memory_order_acquire); }

void Select(const std::string& isa) {
  if (isa == "avx2") {
    if (!CpuHasAvx2()) throw KernelError("ERR_INVALID_OPTION", "kernels: this CPU has no AVX2+FMA");
    Current().store(&avx2::Table(), std::memory_order_release);
  } else if (isa == "baseline") {
    Current().store(&baseline::Table(), std::memory_order_release);
  } else {
    throw KernelError("ERR_INVALID_OPTION", "kernels: unknown instruction set '" + isa + "' (avx2 | baseline)");
  }
}

}  // namespace kernels
}  // namespace seismo
