#!/usr/bin/env bash
# Checks that no AVX instruction (any VEX/EVEX-encoded one, so also an SSE operation that -mavx2
# re-encoded) sits outside the AVX2 and AVX-512 variants in an unstripped build
# (build/Release/seismo.node from `npm run build:native`), and no AVX-512 one (zmm or mask
# registers) outside the AVX-512 variant: everything else must run on a CPU without them. A
# template instance shared between a variant's file and another file would show up here (see
# native/kernels_avx2.cc for why Eigen's namespace is renamed).
set -euo pipefail
node="${1:-$(dirname "$0")/../build/Release/seismo.node}"
bad="$(objdump -d -C --no-show-raw-insn "$node" |
  awk '/^[0-9a-f]+ <.*>:$/ {fn=$0}
       /^ +[0-9a-f]+:\t(v[a-z0-9]+|k[a-z]+) / { if (fn !~ /avx2|avx512/) bad[fn]++ }
       /zmm|%k[0-7]/ { if (fn !~ /avx512/) bad[fn]++ }
       END { for (f in bad) print bad[f], f }')"
if [[ -n "$bad" ]]; then
  echo "AVX instructions outside the AVX2 / AVX-512 variants:"; echo "$bad"; exit 1
fi
echo "ok: AVX2 instructions only in the avx2 and avx512 variants, AVX-512 only in the avx512 one ($node)"
