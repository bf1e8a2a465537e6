#!/usr/bin/env python3
"""tests/torch_bf16.py -- PyTorch's bf16 autocast as the oracle of our bf16
forward pass (check_nn, test case "torch-bf16").

A small GPT-2 of our architecture, written from the architecture, with
random float32 weights and a random batch, is run three ways: in float64
(the exact reference), and under torch.autocast("cpu", dtype=torch.bfloat16)
(PyTorch's mixed precision: linear layers and matmuls take bf16 inputs and
give bf16 outputs; the rest as autocast decides). autodidact's bf16 forward
(check_nn) rounds the inputs of its linear layers to bf16 and keeps
everything else in fp32. Neither is exact, so the check is on how far each
can be from the float64 result, to first order:

    a quantity f rounded at a set of sites (every element v of a tensor
    rounded to bf16 moves by at most u = 2^-9 of itself) moves by at most
    u * sum over the sites' elements of |df/dv * v|,

with df/dv from float64 autograd. The sites of ours: the inputs of the
4L+1 linear layers and their weights. The sites of autocast: every tensor
that the autocast run holds in bf16 (found by running it and looking at the
dtypes), and every float32 input that a bf16 operation casts (the weights
of the linear layers and matmuls' operands). So the worst case is
    |f_ours - f_autocast| <= u (S_ours + S_autocast).
That bound adds every site's share with the same sign, and with ~10^5
sites it is loose (a loss of 6.4 could move by 1.5): no test. Rounding
errors of round-to-nearest are, to a good approximation, independent and
uniform within +-u of their value (variance u^2 / 3), so to first order
f_ours - f_autocast has a standard deviation sigma = u / sqrt(3) *
sqrt(sum over both runs' sites of (df/dv * v)^2), and the test asks for
|f_ours - f_autocast| <= 6 sigma (1 + margin): a false alarm has odds
below 1 in 10^8 for a Gaussian sum; margin 0.25 for second-order terms and
fp32 sums (~2^-16 of the first-order ones or below). A weight rounded once
and used at many positions is one site (its gradient sums the uses). Two quantities f: the mean loss, and
sum_j r_j z_j over every logit z_j with random signs r_j (a bound on a
linear functional of all the logits; ours is computed by check_nn).

Writes "ADTORCH1" records as tests/torch_ref.py does: config, the weights,
inputs, targets, mask, r (f32), ac_loss, ac_f (the autocast values), tol_loss,
tol_f, and loss64, f64 (the float64 values).

usage: torch_bf16.py OUT [SEED]
"""
import math
import struct
import sys

import torch

L, NH, C, T, V, B, TB = 2, 2, 48, 16, 67, 3, 16
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
MATRICES = {"qkvw", "attprojw", "fcw", "fcprojw"}


def shapes():
    return {"wte": (V + 1, C), "wpe": (T, C), "ln1w": (L, C), "ln1b": (L, C),
            "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C),
            "attprojb": (L, C), "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, 4 * C, C),
            "fcb": (L, 4 * C), "fcprojw": (L, C, 4 * C), "fcprojb": (L, C),
            "lnfw": (C,), "lnfb": (C,)}


class Sites:
    """Named intermediate tensors of one forward pass: the float64 run keeps
    them (with their gradients), the autocast run records their dtypes."""

    def __init__(self, keep):
        self.keep, self.t, self.dtype, self.ours = keep, {}, {}, set()

    def __call__(self, name, x, ours=False, cast=False):
        # cast: an input that autocast casts to bf16 (a float32 operand of a
        # bf16 operation); ours: an input autodidact rounds to bf16.
        if self.keep and x.requires_grad:
            x.retain_grad()
        self.t[name] = x
        self.dtype[name] = torch.bfloat16 if cast else x.dtype
        if ours:
            self.ours.add(name)
        return x


def forward(p, idx, tgt, s):
    hs = C // NH
    x = p["wte"][idx] + p["wpe"][:TB]
    causal = torch.tril(torch.ones(TB, TB, dtype=torch.bool))
    for l in range(L):
        h = s("ln1.%d" % l, torch.nn.functional.layer_norm(
            x, (C,), p["ln1w"][l], p["ln1b"][l], 1e-5), ours=True, cast=True)
        qkv = s("qkv.%d" % l, torch.nn.functional.linear(h, p["qkvw"][l], p["qkvb"][l]))
        q, k, v = qkv.split(C, dim=2)
        q = q.reshape(B, TB, NH, hs).transpose(1, 2)
        k = k.reshape(B, TB, NH, hs).transpose(1, 2)
        v = v.reshape(B, TB, NH, hs).transpose(1, 2)
        att = s("scores.%d" % l, torch.matmul(q, k.transpose(-2, -1)))
        att = s("scaled.%d" % l, att / math.sqrt(hs))
        att = s("att.%d" % l, att.masked_fill(~causal, float("-inf")).softmax(dim=-1))
        y = s("atty.%d" % l, torch.matmul(att, v).transpose(1, 2).reshape(B, TB, C),
              ours=True)
        y = s("proj.%d" % l, torch.nn.functional.linear(y, p["attprojw"][l], p["attprojb"][l]))
        x = x + y
        h = s("ln2.%d" % l, torch.nn.functional.layer_norm(
            x, (C,), p["ln2w"][l], p["ln2b"][l], 1e-5), ours=True, cast=True)
        h = s("fc.%d" % l, torch.nn.functional.linear(h, p["fcw"][l], p["fcb"][l]))
        h = s("gelu.%d" % l, torch.nn.functional.gelu(h, approximate="tanh"), ours=True)
        h = s("fcproj.%d" % l, torch.nn.functional.linear(h, p["fcprojw"][l], p["fcprojb"][l]))
        x = x + h
    x = s("lnf", torch.nn.functional.layer_norm(x, (C,), p["lnfw"], p["lnfb"], 1e-5),
          ours=True, cast=True)
    logits = s("logits", torch.nn.functional.linear(x, p["wout"]))
    lf = logits.double()
    loss = torch.nn.functional.cross_entropy(lf.reshape(-1, V), tgt.reshape(-1))
    return loss, lf


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    g = torch.Generator().manual_seed(seed)
    init = {}
    for n, sh in shapes().items():
        w = torch.randn(sh, generator=g) * (0.3 if n in MATRICES or n == "wte" else 0.1)
        if n in ("ln1w", "ln2w", "lnfw"):
            w = w + 1.0
        init[n] = w.float()
    idx = torch.randint(0, V, (B, TB), generator=g)
    idx[:, 0] = V
    tgt = torch.randint(0, V, (B, TB), generator=g)
    r = (torch.randint(0, 2, (B, TB, V), generator=g) * 2 - 1).double()

    # Autocast: the values, and which tensors it holds in bf16.
    pa = {n: init[n].clone() for n in NAMES}
    pa["wout"] = init["wte"][:V].clone()
    sa = Sites(False)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        ac_loss, ac_logits = forward(pa, idx, tgt, sa)
    ac_f = (ac_logits.double() * r).sum().item()
    bf = {n for n, d in sa.dtype.items() if d == torch.bfloat16}
    ours = sa.ours | {"logits_in"}

    tol, bound = {}, {}
    for what in ("loss", "f"):
        p = {n: init[n].double().clone().requires_grad_(True) for n in NAMES}
        p["wout"] = init["wte"][:V].double().clone().requires_grad_(True)
        s = Sites(True)
        loss, logits = forward(p, idx, tgt, s)
        f = loss if what == "loss" else (logits * r).sum()
        f.backward()

        def mass(t, k):
            return ((t.grad * t).abs() ** k).sum().item() if t.grad is not None else 0.0
        # Weights: those of the linear layers are rounded by both runs.
        w1 = sum(mass(p[n], 1) for n in MATRICES) + mass(p["wout"], 1)
        w2 = sum(mass(p[n], 2) for n in MATRICES) + mass(p["wout"], 2)
        worst = w1 * 2 + sum(mass(s.t[n], 1) for n in s.ours) + \
            sum(mass(s.t[n], 1) for n in bf if n in s.t)
        var = w2 * 2 + sum(mass(s.t[n], 2) for n in s.ours) + \
            sum(mass(s.t[n], 2) for n in bf if n in s.t)
        bound[what] = 2.0 ** -9 * worst
        tol[what] = 6 * 2.0 ** -9 / math.sqrt(3) * math.sqrt(var) * 1.25
        if what == "loss":
            loss64 = loss.item()
        else:
            f64 = f.item()
    print("autocast holds in bf16: %s" % " ".join(sorted(bf)), file=sys.stderr)
    print("loss: float64 %.6f, autocast %.6f, tolerance %.3g (worst case %.3g); f: float64 "
          "%.4f, autocast %.4f, tolerance %.3g (worst case %.3g)" % (
              loss64, ac_loss.item(), tol["loss"], bound["loss"], f64, ac_f, tol["f"],
              bound["f"]), file=sys.stderr)

    with open(out, "wb") as fh:
        fh.write(b"ADTORCH1")

        def rec(name, kind, values):
            fmt = {0: "f", 1: "d", 2: "I"}[kind]
            fh.write(struct.pack("<I", len(name)) + name.encode())
            fh.write(struct.pack("<IQ", kind, len(values)))
            fh.write(struct.pack("<%d%s" % (len(values), fmt), *values))

        rec("config", 2, [L, NH, C, T, V, B, TB])
        for n in NAMES:
            rec(n, 0, init[n].reshape(-1).tolist())
        rec("inputs", 2, idx.reshape(-1).tolist())
        rec("targets", 2, tgt.reshape(-1).tolist())
        rec("r", 0, r.float().reshape(-1).tolist())
        rec("ac_loss", 1, [ac_loss.item()])
        rec("ac_f", 1, [ac_f])
        rec("tol_loss", 1, [tol["loss"]])
        rec("tol_f", 1, [tol["f"]])
        rec("loss64", 1, [loss64])
        rec("f64", 1, [f64])


if __name__ == "__main__":
    main()
