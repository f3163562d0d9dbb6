// The kernels compiled for the x86-64 baseline (SSE2): the path for CPUs without AVX2.
// Eigen's namespace is renamed here too, so neither copy of its templates can stand in for the
// other at link time (see kernels_avx2.cc).
#include "kernels.h"

#define Eigen seismo_eigen_baseline
#define SEISMO_KERNEL_NS baseline
#define SEISMO_KERNEL_ISA "baseline"
#include "kernels_impl.inc"
