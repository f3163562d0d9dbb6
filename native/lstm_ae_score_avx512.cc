// The LSTM-AE scorer compiled with -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma (set on this file only, in CMakeLists.txt).
// Eigen's namespace is renamed so that this file's instances of its templates cannot stand in
// for another variant's at link time (see kernels_avx2.cc).
#define Eigen seismo_eigen_lstm_ae_avx512
#define SEISMO_LSTM_AE_NS avx512
#define SEISMO_LSTM_AE_ISA "avx512"
#define SEISMO_LSTM_AE_BLOCK 4
#define SEISMO_LSTM_AE_TILE 4
#include "lstm_ae_score_impl.inc"
