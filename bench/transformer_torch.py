#!/usr/bin/env python3
"""bench/transformer_torch.py -- the PyTorch peer of bench/transformer.sh.

A GPT-2 of the given shape in plain PyTorch (no fused kernels, no compile),
written here from the architecture (not from autodidact's code): learned
token and position embeddings, pre-LayerNorm blocks of causal multi-head
attention and a GELU (tanh) MLP of width 4C, a final LayerNorm, tied output.
Trained with torch.optim.AdamW on random token batches of B x T, as
autodidact does per step. Prints one line:

    tokens_per_s=<median over timed steps> steps=<n> threads=<n> precision=<p>

PRECISION fp32 (the default) trains in fp32 throughout; bf16 runs the
forward pass and the loss under torch.autocast("cpu", dtype=torch.bfloat16)
(PyTorch's mixed precision: products in bf16, the weights, the optimizer and
reductions autocast keeps in fp32), the backward pass following the dtypes
the forward chose. On Debian's torch the bf16 products go to oneDNN
(DNNL_VERBOSE=1 names the kernel each one ran); the fp32 ones to OpenBLAS.

usage: transformer_torch.py L NH C T B V STEPS [THREADS [fp32|bf16]]
"""
import contextlib
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln1 = nn.LayerNorm(C)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.ln2 = nn.LayerNorm(C)
        self.fc = nn.Linear(C, 4 * C)
        self.fcproj = nn.Linear(4 * C, C)

    def forward(self, x, mask):
        B, T, C = x.shape
        hs = C // self.NH
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q = q.view(B, T, self.NH, hs).transpose(1, 2)
        k = k.view(B, T, self.NH, hs).transpose(1, 2)
        v = v.view(B, T, self.NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(mask[:T, :T] == 0, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.proj(y)
        return x + self.fcproj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, L, NH, C, T, V):
        super().__init__()
        self.wte = nn.Embedding(V + 1, C)
        self.wpe = nn.Embedding(T, C)
        self.blocks = nn.ModuleList([Block(C, NH) for _ in range(L)])
        self.lnf = nn.LayerNorm(C)
        self.V = V
        self.register_buffer("mask", torch.tril(torch.ones(T, T)))

    def forward(self, idx, targets):
        B, T = idx.shape
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for b in self.blocks:
            x = b(x, self.mask)
        logits = self.lnf(x) @ self.wte.weight[: self.V].t()
        return F.cross_entropy(logits.view(-1, self.V), targets.view(-1))


def autocast(precision):
    """The context a forward pass runs in: bf16 autocast, or none."""
    if precision == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def main():
    L, NH, C, T, B, V, steps = (int(a) for a in sys.argv[1:8])
    threads = int(sys.argv[8]) if len(sys.argv) > 8 else 2
    precision = sys.argv[9] if len(sys.argv) > 9 else "fp32"
    if precision not in ("fp32", "bf16"):
        sys.exit("transformer_torch.py: precision must be fp32 or bf16, not %r" % precision)
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model = GPT(L, NH, C, T, V)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1,
                            foreach=True)
    g = torch.Generator().manual_seed(2)
    rates = []
    for step in range(steps):
        idx = torch.randint(0, V, (B, T), generator=g)
        tgt = torch.randint(0, V, (B, T), generator=g)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with autocast(precision):
            loss = model(idx, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        # The first steps allocate and warm the caches; a run of three steps
        # or fewer (a check, not a measurement) times them all.
        if step >= 3 or steps <= 3:
            rates.append(B * T / dt)
    print("tokens_per_s=%.1f steps=%d threads=%d precision=%s"
          % (statistics.median(rates), len(rates), threads, precision))


if __name__ == "__main__":
    main()
