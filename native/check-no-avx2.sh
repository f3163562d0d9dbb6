#!/usr/bin/env bash
# Runs the addon on an emulated CPU without AVX (qemu-user, `-cpu Westmere`; apt-get install
# qemu-user) and checks that it picks the baseline kernels and computes exactly what the baseline
# kernels compute on this machine. An AVX2 instruction anywhere on that path would raise SIGILL.
set -euo pipefail
cd "$(dirname "$0")/.."
addon="${1:-prebuilds/linux-x64/seismo.node}"
here="$(node test/native/no-avx2-smoke.js "$addon" --baseline)"
there="$(qemu-x86_64 -cpu Westmere "$(command -v node)" test/native/no-avx2-smoke.js "$addon")"
if [[ "$here" != "$there" ]]; then
  echo "mismatch between the baseline kernels here and on the emulated CPU without AVX"; exit 1
fi
echo "ok: $addon runs the baseline kernels on a CPU without AVX (qemu Westmere), same results"
