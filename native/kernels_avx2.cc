// The kernels compiled with -mavx2 -mfma (set on this file only, in CMakeLists.txt).
//
// Two copies of Eigen's templates, built with different instruction sets, must not meet at link
// time: template instances are weak symbols, and the linker would keep one copy of each for both
// callers, so the baseline path could end up running AVX2 code on a CPU without it. Renaming
// Eigen's namespace for this translation unit gives its instances distinct symbol names.
// (test/native checks the .node for weak symbols of this file that escaped the renaming.)
#include "kernels.h"

#define Eigen seismo_eigen_avx2
#define SEISMO_KERNEL_NS avx2
#define SEISMO_KERNEL_ISA "avx2"
#include "kernels_impl.inc"
