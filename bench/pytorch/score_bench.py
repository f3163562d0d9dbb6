#!/usr/bin/env python3
"""PyTorch scoring peer for `seismo bench --pytorch` (bench/throughput.ts): the reference LSTM-AE
(window 64, 8 channels, encoder LSTM 8->32, decoder LSTM 32->16, per-frame Linear 16->8) scoring
stride-1 windows on ONE CPU thread, the score computed as seismo's graph computes it (per-window
mean squared reconstruction error and its per-channel shares), so both sides do the same work.

Usage: /usr/bin/python3 bench/pytorch/score_bench.py [--blas openblas|mkl|mkl-avx512]
       /opt/torch-wheel/bin/python bench/pytorch/score_bench.py --blas wheel [--batch 64] [--rounds 5] [--seconds 2] [--json]
Prints progress on stderr and, with --json, {"windowsPerSec", "rounds", "mode", "torch", "backends", ...};
`backends` says which BLAS ran (bench/pytorch/torch_blas.py: `--blas mkl` gives this process
Debian's MKL through LD_LIBRARY_PATH, proven by counting MKL's own verbose lines in one forward pass).

Weights are random (the cost of a forward pass does not depend on them). Each round times
eager mode and TorchScript (torch.jit.trace + freeze) alternately; the peer is the faster of the
two medians. Windows are cut from one span per call (a gather, as seismo's graph does).
"""
import argparse
import json
import os
import sys
import time

import torch_blas

# Before torch loads: the BLAS of this process, threads capped (torch.set_num_threads does not
# reach OpenBLAS' own pool). May re-execute the script with LD_LIBRARY_PATH set.
torch_blas.select(torch_blas.preparse())

import torch

# The network and the thread settings are the training peer's: one definition of the reference LSTM-AE.
from train_bench import CHANNELS, WINDOW, LstmAe


class LstmAeScorer(LstmAe):
    def forward(self, span, starts):
        # span [B + W - 1, C], starts [B]: windows [B, W, C] gathered as seismo's graph does.
        idx = starts[:, None] + torch.arange(self.window)[None, :]
        x = span[idx]
        rec = super().forward(x)
        err = (rec - x) ** 2  # [B, W, C]
        channel = err.mean(1)  # [B, C]
        score = channel.sum(1) / x.shape[2]
        return score, channel / x.shape[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--rounds', type=int, default=5)
    ap.add_argument('--seconds', type=float, default=2.0)
    ap.add_argument('--json', action='store_true')
    torch_blas.add_argument(ap)
    args = ap.parse_args()
    torch.manual_seed(1)
    B = args.batch
    span = torch.randn(B + WINDOW - 1, CHANNELS)
    starts = torch.arange(B)
    eager = LstmAeScorer().eval()
    with torch.inference_mode():
        traced = torch.jit.freeze(torch.jit.trace(LstmAeScorer().eval(), (span, starts)))
    modes = {'eager': eager, 'torchscript': traced}
    rates = {m: [] for m in modes}
    with torch.inference_mode():
        for m in modes.values():
            for _ in range(20):
                m(span, starts)
        for r in range(args.rounds):
            for name, m in modes.items():
                n = 0
                t0 = time.perf_counter()
                while time.perf_counter() - t0 < args.seconds:
                    m(span, starts)
                    n += B
                rates[name].append(n / (time.perf_counter() - t0))
            print(f'  pytorch score round {r + 1}/{args.rounds}: ' + ', '.join(f'{k} {v[-1]:.0f} windows/s' for k, v in rates.items()), file=sys.stderr)

    def med(v):
        s = sorted(v)
        return s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2])

    best = max(modes, key=lambda k: med(rates[k]))
    out = {
        'windowsPerSec': med(rates[best]),
        'mode': best,
        'rounds': rates[best],
        'medians': {k: med(v) for k, v in rates.items()},
        'batch': B,
        'torch': torch.__version__,
        'threads': torch.get_num_threads(),
        'backends': backends(lambda: modes[best](span, starts), f'one {best} forward pass of batch {B}'),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(json.dumps(out, indent=1))


def backends(step, probe):
    """What this torch computed with (bench/pytorch/torch_blas.py), MKL calls counted in one forward
    pass of the mode that won (with the wheel also oneDNN's verbose lines and the profiler's ops)."""
    with torch.inference_mode():
        b = torch_blas.report(torch, step)
    b['probe'] = probe
    # The keys the CLI has printed since the OpenBLAS-only peer: 'blas' is now the proven one-liner.
    return {**b, 'blas': b['summary'], 'mkl': b['torchMkl']}


if __name__ == '__main__':
    main()
