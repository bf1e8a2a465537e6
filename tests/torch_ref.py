#!/usr/bin/env python3
"""tests/torch_ref.py -- the PyTorch oracle of the transformer (check_nn).

Builds a small GPT-2 in PyTorch, written from the architecture and not from
autodidact's code, with random weights, and runs it in float64 on a random
batch: the logits, the mean loss, the gradient of every parameter, and the
losses of 10 AdamW steps (decay on matrices and embeddings only, clipping by
global norm, linear warmup then cosine). Then the masked objective on the
same weights plus an embedding row for the MASK marker (id V + 1): the
attention without the causal mask, a batch whose chosen positions hold MASK,
a random token or the original (BERT's three cases), the loss over the
chosen positions only; its logits, loss and gradients are the m_ records.
Writes everything, inputs and outputs, to one file that tests/check_nn.c
reads (test_torch_reference, test_torch_masked):

    "ADTORCH1", then records: u32 name length, name, u32 type (0 f32,
    1 f64, 2 u32), u64 count, the values (little-endian)

The shape is odd on purpose (heads of 5 channels, T and V prime) so that
every tile edge of autodidact's kernels is crossed.

usage: torch_ref.py OUT [SEED]
"""
import math
import struct
import sys

import torch

L, NH, C, T, V, B, TB = 2, 3, 15, 11, 37, 3, 11
STEPS, LR, MIN_LR, WARMUP, WD, CLIP = 10, 1e-2, 1e-3, 3, 0.1, 1.0
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
DECAY = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}


def shapes():
    return {"wte": (V + 1, C), "wpe": (T, C), "ln1w": (L, C), "ln1b": (L, C),
            "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C),
            "attprojb": (L, C), "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, 4 * C, C),
            "fcb": (L, 4 * C), "fcprojw": (L, C, 4 * C), "fcprojb": (L, C),
            "lnfw": (C,), "lnfb": (C,)}


def forward(p, idx, tgt, mask, full=False):
    """Mean cross-entropy over unmasked positions, and the logits; full:
    every position attends to every position (the masked objective)."""
    Bn, Tn = idx.shape
    hs = C // NH
    x = p["wte"][idx] + p["wpe"][:Tn]
    causal = torch.tril(torch.ones(Tn, Tn, dtype=torch.bool))
    if full:
        causal = torch.ones(Tn, Tn, dtype=torch.bool)
    for l in range(L):
        h = torch.nn.functional.layer_norm(x, (C,), p["ln1w"][l], p["ln1b"][l], 1e-5)
        qkv = h @ p["qkvw"][l].t() + p["qkvb"][l]
        q, k, v = qkv.split(C, dim=2)
        q = q.view(Bn, Tn, NH, hs).transpose(1, 2)
        k = k.view(Bn, Tn, NH, hs).transpose(1, 2)
        v = v.view(Bn, Tn, NH, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(Bn, Tn, C)
        x = x + y @ p["attprojw"][l].t() + p["attprojb"][l]
        h = torch.nn.functional.layer_norm(x, (C,), p["ln2w"][l], p["ln2b"][l], 1e-5)
        h = torch.nn.functional.gelu(h @ p["fcw"][l].t() + p["fcb"][l], approximate="tanh")
        x = x + h @ p["fcprojw"][l].t() + p["fcprojb"][l]
    x = torch.nn.functional.layer_norm(x, (C,), p["lnfw"], p["lnfb"], 1e-5)
    logits = x @ p["wte"][:V].t()
    t = tgt.clone()
    t[mask == 0] = -100
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), t.reshape(-1),
                                             ignore_index=-100)
    return loss, logits


def lr_at(step):
    if step < WARMUP:
        return LR * (step + 1) / WARMUP
    if step >= STEPS:
        return MIN_LR
    frac = (step - WARMUP) / (STEPS - WARMUP)
    return MIN_LR + 0.5 * (LR - MIN_LR) * (1 + math.cos(math.pi * frac))


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    g = torch.Generator().manual_seed(seed)
    init = {}
    for n, s in shapes().items():
        w = torch.randn(s, generator=g) * (0.3 if n in DECAY else 0.1)
        if n in ("ln1w", "ln2w", "lnfw"):
            w = w + 1.0
        init[n] = w.float()   # the weights both sides start from, exactly
    idx = torch.randint(0, V, (B, TB), generator=g)
    idx[:, 0] = V             # every window opens with the BOS marker
    tgt = torch.randint(0, V, (B, TB), generator=g)
    mask = torch.ones(B, TB, dtype=torch.int64)
    mask[1, 4] = 0
    mask[2, 0] = 0

    p = {n: init[n].double().clone().requires_grad_(True) for n in NAMES}
    loss, logits = forward(p, idx, tgt, mask)
    loss.backward()
    grads = {n: p[n].grad.detach().clone() for n in NAMES}

    # 10 AdamW steps on the same batch, as torch.optim.AdamW does them.
    q = [init[n].double().clone().requires_grad_(True) for n in NAMES]
    qd = dict(zip(NAMES, q))
    opt = torch.optim.AdamW(
        [{"params": [qd[n] for n in NAMES if n in DECAY], "weight_decay": WD},
         {"params": [qd[n] for n in NAMES if n not in DECAY], "weight_decay": 0.0}],
        lr=LR, betas=(0.9, 0.95), eps=1e-8)
    losses = []
    for step in range(STEPS):
        opt.zero_grad()
        l, _ = forward(qd, idx, tgt, mask)
        losses.append(l.item())
        l.backward()
        torch.nn.utils.clip_grad_norm_(q, CLIP)
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step)
        opt.step()

    # The masked objective: drawn after everything above, so that the
    # causal records do not depend on it.
    mrow = (torch.randn((1, C), generator=g) * 0.3).float()
    seq = torch.randint(0, V, (B, TB), generator=g)
    seq[:, 0] = V
    minp = seq.clone()
    mmask = torch.zeros(B, TB, dtype=torch.int64)
    for b in range(B):
        pos = (torch.randperm(TB - 1, generator=g)[:4] + 1).tolist()
        # MASK twice, a random token once, the original once.
        for j, t in enumerate(pos):
            mmask[b, t] = 1
            if j < 2:
                minp[b, t] = V + 1
            elif j == 2:
                minp[b, t] = int(torch.randint(0, V, (1,), generator=g))
    mp = {n: init[n].double().clone().requires_grad_(True) for n in NAMES if n != "wte"}
    mwte = torch.cat([init["wte"], mrow]).float()
    mp["wte"] = mwte.double().clone().requires_grad_(True)
    mloss, mlogits = forward(mp, minp, seq, mmask, full=True)
    mloss.backward()
    masked = {"m_wte": mwte, "m_inputs": minp.reshape(-1).tolist(),
              "m_targets": seq.reshape(-1).tolist(), "m_mask": mmask.reshape(-1).tolist(),
              "m_logits": mlogits.detach(),
              "m_loss": torch.tensor([mloss.item()], dtype=torch.float64)}
    for n in NAMES:
        masked["m_d_" + n] = mp[n].grad.detach()

    with open(out, "wb") as f:
        f.write(b"ADTORCH1")

        def rec(name, kind, values):
            fmt = {0: "f", 1: "d", 2: "I"}[kind]
            f.write(struct.pack("<I", len(name)) + name.encode())
            f.write(struct.pack("<IQ", kind, len(values)))
            f.write(struct.pack("<%d%s" % (len(values), fmt), *values))

        rec("config", 2, [L, NH, C, T, V, B, TB, STEPS, WARMUP])
        rec("adamw", 1, [LR, MIN_LR, WD, CLIP])
        for n in NAMES:
            rec(n, 0, init[n].reshape(-1).tolist())
        rec("inputs", 2, idx.reshape(-1).tolist())
        rec("targets", 2, tgt.reshape(-1).tolist())
        rec("mask", 2, mask.reshape(-1).tolist())
        rec("logits", 1, logits.detach().reshape(-1).tolist())
        rec("loss", 1, [loss.item()])
        for n in NAMES:
            rec("d_" + n, 1, grads[n].reshape(-1).tolist())
        rec("losses", 1, losses)
        for n, v in masked.items():
            if isinstance(v, list):
                rec(n, 2, v)
            elif v.dtype == torch.float32:
                rec(n, 0, v.reshape(-1).tolist())
            else:
                rec(n, 1, v.reshape(-1).tolist())


if __name__ == "__main__":
    main()
