#!/usr/bin/env python3
"""PyTorch reference for `seismo bench train` (bench/train.ts): the same LSTM-AE and DC-VAE, the
same data, batch size, optimiser and epoch structure, on ONE CPU thread.

Usage: /usr/bin/python3 bench/pytorch/train_bench.py [--blas openblas|mkl|mkl-avx512] [--epochs 3] [--models lstmAe,dcVae] [--json]
       /opt/torch-wheel/bin/python bench/pytorch/train_bench.py --blas wheel [...]
Needs Debian's python3-torch (apt-get install python3-torch) and, for a fair figure, an optimised
BLAS (apt-get install libopenblas0-pthread; see below). Debian bookworm's torch 1.13.1 is built
with oneDNN (MKL-DNN 2.6.3, on by default: its convolutions use it) and without MKL of its own
(matmuls and the LSTM's GEMMs go through libblas.so.3, OpenBLAS here); `--blas mkl` gives this
process Debian's non-free MKL 2020.4 (apt-get install libmkl-rt) through LD_LIBRARY_PATH
(bench/pytorch/torch_blas.py). `--blas wheel`, run by the venv of the PyTorch CPU wheel
(bench/pytorch/install-wheel.sh; found on this machine's local wheel store), is torch 2.x with MKL
inside libtorch_cpu.so and oneDNN running nn.LSTM (aten::mkldnn_rnn_layer). Prints progress on
stderr and, with --json, {"lstmAe": {"secPerEpoch", "epochSeconds", "lastLoss"}, "dcVae": {...},
"torch": ..., "backends": {which BLAS ran, MKL calls counted in one training step}}.

Shapes follow the tfjs models: windows [N, W=64, C=8]; LSTM-AE encoder LSTM(8->32), last hidden
state repeated W times, decoder LSTM(32->16), per-frame Linear(16->8), MSE. DC-VAE: 4 causal
dilated Conv1d (32 filters, kernel 2, dilations 1, 2, 4, 8, relu) -> kernel-1 Gaussian head to
[mu_z, logVar_z] (latent 16) -> reparameterised z -> 4 more such convs -> Gaussian head to
[mu_x, logVar_x]; loss = Gaussian NLL summed over channels + 0.1 KL summed over latents, averaged
over frames and windows; log-variances clipped to [-8, 8].
"""
import argparse
import json
import math
import os
import sys
import time

import torch_blas

# Debian's torch does its matmuls through the system BLAS (libblas.so.3 alternative). With only
# the reference BLAS installed that is netlib's unoptimised code, several times slower than a
# real one: install libopenblas0-pthread for a fair baseline. Its threads are capped here, before
# torch loads it, because torch.set_num_threads does not reach OpenBLAS' own pool; `--blas mkl`
# re-executes the script with MKL's folder first on LD_LIBRARY_PATH. Only when run as a script:
# score_bench.py imports this module for the network and has made its own choice.
if __name__ == '__main__':
    torch_blas.select(torch_blas.preparse())

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

WINDOWS, WINDOW, CHANNELS, BATCH, LR, SEED = 4096, 64, 8, 64, 1e-3, 42


def frames(windows=WINDOWS, window=WINDOW, channels=CHANNELS):
    """The benchmark frames [T, C]: bench/train.ts benchFrames(), the same formula."""
    T = windows + window - 1
    t = torch.arange(T, dtype=torch.float64)[:, None]
    c = torch.arange(channels, dtype=torch.float64)[None, :]
    ripple = torch.sin(t * 12.9898 + c * 78.233) * 43758.5453
    x = torch.sin(2 * math.pi * t / (11 + 5 * c)) + 0.5 * torch.sin(2 * math.pi * t / (37 + 3 * c) + c) + 0.1 * (ripple - torch.floor(ripple) - 0.5)
    return x.float()


class LstmAe(nn.Module):
    def __init__(self, channels=CHANNELS, enc=32, dec=16, window=WINDOW):
        super().__init__()
        self.window = window
        self.encoder = nn.LSTM(channels, enc, batch_first=True)
        self.decoder = nn.LSTM(enc, dec, batch_first=True)
        self.out = nn.Linear(dec, channels)

    def forward(self, x):
        _, (h, _) = self.encoder(x)  # h [1, N, enc]
        code = h[-1].unsqueeze(1).expand(-1, self.window, -1)  # [N, W, enc]
        y, _ = self.decoder(code)
        return self.out(y)

    def loss(self, x):
        return F.mse_loss(self(x), x)


class CausalConv(nn.Module):
    def __init__(self, cin, cout, k, d):
        super().__init__()
        self.pad = d * (k - 1)
        self.conv = nn.Conv1d(cin, cout, k, dilation=d)

    def forward(self, x):  # [N, C, T]
        return self.conv(F.pad(x, (self.pad, 0)))


class DcVae(nn.Module):
    def __init__(self, channels=CHANNELS, filters=32, k=2, latent=16, dilations=(1, 2, 4, 8), kl_weight=0.1, bound=8.0):
        super().__init__()
        self.C, self.L, self.kl_weight, self.bound = channels, latent, kl_weight, bound
        self.enc = nn.ModuleList([CausalConv(channels if i == 0 else filters, filters, k, d) for i, d in enumerate(dilations)])
        self.enc_head = nn.Conv1d(filters, 2 * latent, 1)
        self.dec = nn.ModuleList([CausalConv(latent if i == 0 else filters, filters, k, d) for i, d in enumerate(dilations)])
        self.dec_head = nn.Conv1d(filters, 2 * channels, 1)

    def loss(self, x):  # x [N, W, C]
        h = x.transpose(1, 2)
        for conv in self.enc:
            h = F.relu(conv(h))
        mu_z, lv_z = self.enc_head(h).chunk(2, dim=1)
        lv_z = lv_z.clamp(-self.bound, self.bound)
        z = mu_z + torch.exp(0.5 * lv_z) * torch.randn_like(mu_z)
        h = z
        for conv in self.dec:
            h = F.relu(conv(h))
        mu, lv = self.dec_head(h).chunk(2, dim=1)
        lv = lv.clamp(-self.bound, self.bound)
        xt = x.transpose(1, 2)
        nll = 0.5 * (lv + (xt - mu) ** 2 * torch.exp(-lv)) + 0.5 * math.log(2 * math.pi)  # [N, C, W]
        kl = 0.5 * (mu_z ** 2 + torch.exp(lv_z) - lv_z - 1)  # [N, L, W]
        per_frame = nll.sum(1) + self.kl_weight * kl.sum(1)  # [N, W]
        return per_frame.mean()


def time_model(model, data, epochs, label):
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    offsets = torch.arange(WINDOW)
    gen = torch.Generator().manual_seed(SEED)
    seconds, cpu_seconds, loss_last, warmup = [], [], float('nan'), float('nan')
    for epoch in range(epochs + 1):  # epoch 0 warms up
        t0 = time.perf_counter()
        c0 = time.process_time()
        order = torch.randperm(WINDOWS, generator=gen)
        total = 0.0
        for b in range(0, WINDOWS, BATCH):
            starts = order[b:b + BATCH]
            x = data[starts[:, None] + offsets[None, :]]  # [B, W, C], cut like the tfjs gather
            opt.zero_grad(set_to_none=True)
            loss = model.loss(x)
            loss.backward()
            opt.step()
            total += loss.item() * len(starts)
        dt = time.perf_counter() - t0
        dc = time.process_time() - c0
        print(f'  pytorch {label} epoch {epoch + 1}{" (warm-up)" if epoch == 0 else ""}: {dt:.3f} s (cpu {dc:.3f} s), loss {total / WINDOWS:.5f}', file=sys.stderr)
        if epoch > 0:
            seconds.append(dt)
            cpu_seconds.append(dc)
            loss_last = total / WINDOWS
        else:
            warmup = dt
    return {'secPerEpoch': median(seconds), 'epochSeconds': seconds, 'cpuSecPerEpoch': median(cpu_seconds), 'epochCpuSeconds': cpu_seconds, 'lastLoss': loss_last, 'warmupSeconds': warmup}


def median(v):
    s = sorted(v)
    return s[len(s) // 2] if len(s) % 2 else 0.5 * (s[len(s) // 2 - 1] + s[len(s) // 2])


def train_step(model, data):
    """One optimiser step on one batch: the unit in which MKL's calls are counted."""
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    x = data[torch.arange(BATCH)[:, None] + torch.arange(WINDOW)[None, :]]
    return lambda: (opt.zero_grad(set_to_none=True), model.loss(x).backward(), opt.step())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--models', default='lstmAe,dcVae')
    ap.add_argument('--json', action='store_true')
    torch_blas.add_argument(ap)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    data = frames()
    data = (data - data.mean(0)) / data.std(0)  # scaled like the tfjs pipeline (values do not affect timing)
    builders = {'lstmAe': LstmAe, 'dcVae': DcVae}
    first = args.models.split(',')[0]
    backends = torch_blas.report(torch, train_step(builders[first](), data))
    backends['probe'] = f'one training step of {first} (batch {BATCH})'
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': backends['summary'], 'mkl': backends['torchMkl'], 'mkldnn': backends['mkldnn'], 'backends': backends}
    for name in args.models.split(','):
        out[name] = time_model(builders[name](), data, args.epochs, name)
        print(f'pytorch {name}: {out[name]["secPerEpoch"]:.3f} s/epoch', file=sys.stderr)
    if args.json:
        print(json.dumps(out))


if __name__ == '__main__':
    main()
