// The kernels compiled with AVX-512 (F, DQ, VL, BW) besides AVX2+FMA (flags set on this file only,
// in CMakeLists.txt): 16-float packets in Eigen's GEMMs and in the fused LSTM cell loops, and 32
// vector registers for the recurrent products' register blocks. Eigen's namespace is renamed
// here too, so no copy of its templates can stand in for another at link time (see
// kernels_avx2.cc).
#include "kernels.h"

#define Eigen seismo_eigen_avx512
#define SEISMO_KERNEL_NS avx512
#define SEISMO_KERNEL_ISA "avx512"
#include "kernels_impl.inc"
