#!/bin/sh
# Makes the venv of the `wheel` PyTorch peer (`seismo bench --pytorch-blas wheel`, bench/pytorch/peer.ts):
# the PyTorch CPU wheel (torch 2.x+cpu: MKL linked into libtorch_cpu.so, oneDNN, whose fused RNN
# primitive runs nn.LSTM) and numpy, in a venv of its own so that Debian's python3-torch (the other
# peers) stays as it is.
#
# Usage: bench/pytorch/install-wheel.sh [VENV]          (default VENV: /opt/torch-wheel)
# Environment:
#   PYTHON      the interpreter of the venv (default python3); the wheel must match its version (cp311...)
#   WHEEL_DIR   a folder of local wheels searched first (default /opt/wheels); a torch-*+cpu-<tag>-*.whl
#               there is installed from the file, offline
#   TORCH_SPEC  what to ask the index for when no local wheel fits (default "torch"; e.g. "torch==2.13.0")
# Without a local wheel, torch comes from PyTorch's CPU index (https://download.pytorch.org/whl/cpu)
# and numpy from pip's configured index. Afterwards point the bench at it:
#   seismo bench --pytorch-blas wheel --pytorch-wheel VENV/bin/python   (or SEISMO_PYTORCH_WHEEL=VENV/bin/python)
set -eu

VENV=${1:-/opt/torch-wheel}
PYTHON=${PYTHON:-python3}
WHEEL_DIR=${WHEEL_DIR:-/opt/wheels}
TORCH_SPEC=${TORCH_SPEC:-torch}

if [ -e "$VENV/bin/python" ]; then
  echo "install-wheel: $VENV/bin/python exists; installing into that venv" >&2
else
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
TAG=$("$PY" -c 'import sys; print("cp%d%d" % sys.version_info[:2])')

# The newest local CPU wheel for this interpreter, if any (sort -V orders 2.9 before 2.13).
LOCAL=""
if [ -d "$WHEEL_DIR" ]; then
  LOCAL=$(ls "$WHEEL_DIR"/torch-*+cpu-"$TAG"-"$TAG"-*linux*_x86_64.whl 2>/dev/null | sort -V | tail -n 1 || true)
fi

if [ -n "$LOCAL" ]; then
  echo "install-wheel: installing $LOCAL (local wheel) into $VENV" >&2
  "$PY" -m pip install --find-links "$WHEEL_DIR" "$LOCAL" numpy
else
  echo "install-wheel: no torch-*+cpu-$TAG wheel in $WHEEL_DIR; installing $TORCH_SPEC from PyTorch's CPU index into $VENV" >&2
  "$PY" -m pip install --index-url https://download.pytorch.org/whl/cpu "$TORCH_SPEC"
  "$PY" -m pip install numpy
fi

# What was installed, as the peer will report it: a wheel without MKL is not this peer.
"$PY" - <<'EOF'
import torch
cfg = [l.strip(' -') for l in torch.__config__.show().splitlines()]
mkl = next((l for l in cfg if 'Math Kernel Library' in l), None)
dnn = next((l for l in cfg if 'MKL-DNN' in l or 'oneDNN' in l), None)
if not torch.backends.mkl.is_available() or mkl is None:
    raise SystemExit(f'install-wheel: torch {torch.__version__} has no MKL built in: not the CPU wheel this peer measures')
print(f'install-wheel: torch {torch.__version__}; {mkl}; {dnn}; oneDNN enabled: {torch.backends.mkldnn.is_available()}')
EOF
echo "install-wheel: done; run: seismo bench --pytorch-blas wheel --pytorch-wheel $PY" >&2
