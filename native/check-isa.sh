#!/usr/bin/env bash
# Checks that no AVX/AVX2/FMA/AVX-512 instruction sits outside the AVX2 and AVX-512 kernels in an
# unstripped build (build/Release/seismo.node from `npm run build:native`): everything else must
# run on a CPU without AVX2, and no AVX-512 instruction may sit outside the AVX-512 kernels. A
# template instance shared between kernels_avx2.cc / kernels_avx512.cc and another file would
# show up here (see native/kernels_avx2.cc for why Eigen's namespace is renamed).
set -euo pipefail
node="${1:-$(dirname "$0")/../build/Release/seismo.node}"
bad="$(objdump -d -C --no-show-raw-insn "$node" |
  awk '/^[0-9a-f]+ <.*>:$/ {fn=$0} /ymm|vfmadd|vbroadcast|vpermps/ { if (fn !~ /avx2|avx512/) bad[fn]++ } /zmm|%k[0-7]/ { if (fn !~ /avx512/) bad[fn]++ } END { for (f in bad) print bad[f], f }')"
if [[ -n "$bad" ]]; then
  echo "AVX2 / AVX-512 instructions outside their kernels:"; echo "$bad"; exit 1
fi
echo "ok: AVX2 instructions only in the avx2 and avx512 kernels, AVX-512 only in the avx512 ones ($node)"
