// The LSTM-AE scorer compiled for the x86-64 baseline (SSE2): the path for CPUs without AVX2.
// Eigen's namespace is renamed so that this file's instances of its templates cannot stand in
// for another variant's at link time (see kernels_avx2.cc).
#define Eigen seismo_eigen_lstm_ae_baseline
#define SEISMO_LSTM_AE_NS baseline
#define SEISMO_LSTM_AE_ISA "baseline"
#define SEISMO_LSTM_AE_BLOCK 2
#define SEISMO_LSTM_AE_TILE 4
#include "lstm_ae_score_impl.inc"
