/*
 * For `bench/pytorch/*.py --blas mkl-avx512` only (bench/pytorch/torch_blas.py compiles it and
 * LD_PRELOADs it into the PyTorch peer's process, nowhere else): MKL 2020 Update 1 and later ask
 * this internal function whether the CPU is Intel's and, on other vendors' CPUs, skip the AVX-512
 * kernels (MKL_DEBUG_CPU_TYPE=5, which used to force them, is no longer read). Answering "yes"
 * lets MKL dispatch on the instruction sets the CPU reports, so the peer gets MKL's fastest path.
 */
int mkl_serv_intel_cpu_true(void) { return 1; }
