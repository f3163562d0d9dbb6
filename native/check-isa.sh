#!/usr/bin/env bash
# Checks that no AVX/AVX2/FMA instruction sits outside the AVX2 kernels in an unstripped build
# (build/Release/seismo.node from `npm run build:native`): everything else must run on a CPU
# without AVX2. A template instance shared between kernels_avx2.cc and another file would show
# up here (see native/kernels_avx2.cc for why Eigen's namespace is renamed).
set -euo pipefail
node="${1:-$(dirname "$0")/../build/Release/seismo.node}"
bad="$(objdump -d -C --no-show-raw-insn "$node" |
  awk '/^[0-9a-f]+ <.*>:$/ {fn=$0} /ymm|vfmadd|vbroadcast|vpermps/ { if (fn !~ /avx2/) bad[fn]++ } END { for (f in bad) print bad[f], f }')"
if [[ -n "$bad" ]]; then
  echo "AVX2 instructions outside the AVX2 kernels:"; echo "$bad"; exit 1
fi
echo "ok: AVX2 instructions only in the avx2 kernels ($node)"
