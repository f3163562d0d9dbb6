#!/usr/bin/env python3
"""Parity input for bench/onednn/lstm_ae_peer.cc: the PyTorch scorer of the PyTorch peer
(bench/pytorch/score_bench.py's LstmAeScorer, seeded), its span and weights written as the oneDNN
peer's --params file, and the scores torch computes for that span as JSON on stdout
{"score": [B], "channelScore": [B*C]}.

Usage: /usr/bin/python3 bench/onednn/parity.py PARAMS_FILE [--batch 64]
test/fixtures/onednn/ holds its output for --batch 32 (the test of the oneDNN peer compares against it).
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'pytorch'))
# Imports torch with the PyTorch peer's BLAS and thread settings (one thread).
from score_bench import LstmAeScorer  # noqa: E402
from train_bench import CHANNELS, WINDOW  # noqa: E402
import torch  # noqa: E402


def main():
    out = sys.argv[1]
    batch = int(sys.argv[sys.argv.index('--batch') + 1]) if '--batch' in sys.argv else 64
    torch.manual_seed(7)
    model = LstmAeScorer().eval()
    span = torch.randn(batch + WINDOW - 1, CHANNELS)
    starts = torch.arange(batch)
    with torch.inference_mode():
        score, channel = model(span, starts)
    # The order lstm_ae_peer.cc reads: span, then the tensors in state_dict order.
    tensors = [span] + [t for t in model.state_dict().values()]
    with open(out, 'wb') as f:
        for t in tensors:
            f.write(t.detach().contiguous().float().numpy().tobytes())
    print(json.dumps({'score': score.tolist(), 'channelScore': channel.reshape(-1).tolist(), 'keys': list(model.state_dict().keys())}))


if __name__ == '__main__':
    main()
