#!/usr/bin/env python3
"""tests/torch_fill.py -- the PyTorch oracle of a masked model behind lm.h.

The GPT-2 of tests/torch_ref.py (its forward pass, imported, with full
attention) as a byte-level masked model (V = 256 ids, embedding rows for
BOS = 256 and MASK = 257, so that autodidact opens it as an lm), random
weights, and one window of T - 1 random bytes with some positions holding
MASK: the log-softmax of the logits at those positions, in float64, given
the window after BOS. check_nn's test_torch_fill_dist loads the weights,
saves them as a masked model file, opens it with lm_open and compares
lm_fill_dist with these. Same record format as torch_ref.py:

    "ADTORCH1", then records: u32 name length, name, u32 type (0 f32,
    1 f64, 2 u32), u64 count, the values (little-endian)

usage: torch_fill.py OUT [SEED]
"""
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_ref as ref  # noqa: E402

ref.V = 256   # forward() reads the module's V for the output layer
V, T, MASK = 256, ref.T, 257


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    g = torch.Generator().manual_seed(seed)
    init = {}
    for n, s in ref.shapes().items():
        if n == "wte":
            s = (V + 2, s[1])   # the token rows, BOS and MASK
        w = torch.randn(s, generator=g) * (0.3 if n in ref.DECAY else 0.1)
        if n in ("ln1w", "ln2w", "lnfw"):
            w = w + 1.0
        init[n] = w.float()
    n = T - 1
    window = torch.randint(0, V, (n,), generator=g)
    pos = sorted(torch.randperm(n, generator=g)[:4].tolist())
    for t in pos[:3]:          # three hidden, one asked with its byte in view
        window[t] = MASK
    idx = torch.cat([torch.tensor([V]), window]).view(1, n + 1)
    p = {k: init[k].double() for k in ref.NAMES}
    zeros = torch.zeros(1, n + 1, dtype=torch.int64)
    _, logits = ref.forward(p, idx, zeros, zeros + 1, full=True)
    logp = torch.log_softmax(logits[0], dim=-1)[[t + 1 for t in pos]]

    with open(out, "wb") as f:
        f.write(b"ADTORCH1")

        def rec(name, kind, values):
            fmt = {0: "f", 1: "d", 2: "I"}[kind]
            f.write(struct.pack("<I", len(name)) + name.encode())
            f.write(struct.pack("<IQ", kind, len(values)))
            f.write(struct.pack("<%d%s" % (len(values), fmt), *values))

        rec("config", 2, [ref.L, ref.NH, ref.C, T, V])
        for k in ref.NAMES:
            rec(k, 0, init[k].reshape(-1).tolist())
        rec("window", 2, window.tolist())
        rec("pos", 2, pos)
        rec("logp", 1, logp.reshape(-1).tolist())


if __name__ == "__main__":
    main()
