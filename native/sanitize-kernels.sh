#!/usr/bin/env bash
# Builds the training kernels (both variants, with the dispatcher) and the LSTM-AE scorer (its
# three variants, with its dispatcher) with AddressSanitizer and UndefinedBehaviorSanitizer and
# runs their drivers (test/native/kernels_sanitize.cc, test/native/lstm_ae_score_sanitize.cc). Needs the
# Eigen headers (apt-get install libeigen3-dev, or EIGEN3_INCLUDE_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
eigen="${EIGEN3_INCLUDE_DIR:-/usr/include/eigen3}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
flags=(-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra
  -isystem "$eigen" -DEIGEN_DONT_PARALLELIZE -DEIGEN_MPL2_ONLY)
g++ "${flags[@]}" -c native/kernels_baseline.cc -o "$out/baseline.o"
g++ "${flags[@]}" -mavx2 -mfma -c native/kernels_avx2.cc -o "$out/avx2.o"
g++ "${flags[@]}" -mavx512f -mavx512dq -mavx512vl -mavx512bw -mavx2 -mfma -Wno-maybe-uninitialized -c native/kernels_avx512.cc -o "$out/avx512.o"
g++ "${flags[@]}" native/kernels_dispatch.cc test/native/kernels_sanitize.cc "$out/baseline.o" "$out/avx2.o" "$out/avx512.o" -o "$out/kernels_test"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/kernels_test"
g++ "${flags[@]}" -c native/lstm_ae_score_baseline.cc -o "$out/lstm_baseline.o"
g++ "${flags[@]}" -mavx2 -mfma -c native/lstm_ae_score_avx2.cc -o "$out/lstm_avx2.o"
g++ "${flags[@]}" -mavx512f -mavx512dq -mavx512vl -mavx2 -mfma -Wno-maybe-uninitialized -Wno-uninitialized -c native/lstm_ae_score_avx512.cc -o "$out/lstm_avx512.o"
g++ "${flags[@]}" native/lstm_ae_score.cc native/kernels_dispatch.cc test/native/lstm_ae_score_sanitize.cc "$out/lstm_baseline.o" "$out/lstm_avx2.o" "$out/lstm_avx512.o" \
  "$out/baseline.o" "$out/avx2.o" -o "$out/lstm_ae_test"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 "$out/lstm_ae_test"
