#!/usr/bin/env python3
"""gpt2_ref.py -- the oracle of the GPT-2 import (tests/gpt2.sh, bench/gpt2.sh).

  gpt2_ref.py make DIR RANKS [L NH C T SEED BENCH]
      Build a GPT-2 with random weights in PyTorch (the forward below is
      written from Radford et al. 2019 and the transformers GPT2 layout:
      Conv1D weights stored (in, out)), and write it to DIR as
        f32/   model.safetensors (F32) + config.json + vocab.json + merges.txt
        bf16/  model.safetensors (BF16, names prefixed "transformer.", the
               attn.bias mask buffers and a tied lm_head.weight included)
        f16/   model.safetensors (F16)
        model.bin       llm.c version 3 (float32, vocab padded to 128)
        model_bf16.bin  llm.c version 5 (bfloat16)
      The safetensors header is written by hand (u64 LE length, JSON, data),
      and vocab.json / merges.txt are made from the tiktoken rank file RANKS
      with GPT-2's bytes-to-unicode table, so that the pair describes the
      same ranks. The weights each copy holds are saved to DIR/*.pt. With
      BENCH 1 only f32/ and model.bin are written (no .pt: check then reads
      the weights from f32/model.safetensors).
  gpt2_ref.py check DIR WEIGHTS IDS EVAL_JSON [SAMPLE_JSON PROMPT_IDS]
      Score the ids (the text as our tokenizer encoded it) with the torch
      model from WEIGHTS, <|endoftext|> first, and compare the total nats
      with `eval --json`; with a sample, redo greedy decoding from the
      prompt and compare every drawn id and its log-probability. Exit 1 on
      a relative difference above 1e-4.
"""
import base64
import json
import math
import os
import struct
import sys

import torch


def bytes_to_unicode():
    """GPT-2's table: printable Latin-1 bytes stand for themselves, the
    other 68 for U+0100 onwards, in byte order."""
    keep = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    table, k = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + k)
            k += 1
    return table


def shapes(L, C, V, T):
    """Hugging Face names and shapes, in file order."""
    out = [("wte.weight", (V, C)), ("wpe.weight", (T, C))]
    for l in range(L):
        p = "h.%d." % l
        out += [(p + "ln_1.weight", (C,)), (p + "ln_1.bias", (C,)),
                (p + "attn.c_attn.weight", (C, 3 * C)), (p + "attn.c_attn.bias", (3 * C,)),
                (p + "attn.c_proj.weight", (C, C)), (p + "attn.c_proj.bias", (C,)),
                (p + "ln_2.weight", (C,)), (p + "ln_2.bias", (C,)),
                (p + "mlp.c_fc.weight", (C, 4 * C)), (p + "mlp.c_fc.bias", (4 * C,)),
                (p + "mlp.c_proj.weight", (4 * C, C)), (p + "mlp.c_proj.bias", (C,))]
    out += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    return out


def forward(w, ids, L, NH, C, prefix=""):
    """Logits (n, V) of ids (n) under weights w (name -> float tensor)."""
    g = lambda k: w[prefix + k].double()
    n = len(ids)
    x = g("wte.weight")[torch.tensor(ids)] + g("wpe.weight")[:n]
    hs = C // NH
    mask = torch.tril(torch.ones(n, n, dtype=torch.bool))
    for l in range(L):
        p = "h.%d." % l
        h = torch.nn.functional.layer_norm(x, (C,), g(p + "ln_1.weight"), g(p + "ln_1.bias"), 1e-5)
        qkv = h @ g(p + "attn.c_attn.weight") + g(p + "attn.c_attn.bias")
        q, k, v = qkv.split(C, dim=1)
        q = q.view(n, NH, hs).transpose(0, 1)
        k = k.view(n, NH, hs).transpose(0, 1)
        v = v.view(n, NH, hs).transpose(0, 1)
        att = (q @ k.transpose(1, 2)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(0, 1).reshape(n, C)
        x = x + y @ g(p + "attn.c_proj.weight") + g(p + "attn.c_proj.bias")
        h = torch.nn.functional.layer_norm(x, (C,), g(p + "ln_2.weight"), g(p + "ln_2.bias"), 1e-5)
        h = h @ g(p + "mlp.c_fc.weight") + g(p + "mlp.c_fc.bias")
        h = 0.5 * h * (1 + torch.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h ** 3)))
        x = x + h @ g(p + "mlp.c_proj.weight") + g(p + "mlp.c_proj.bias")
    x = torch.nn.functional.layer_norm(x, (C,), g("ln_f.weight"), g("ln_f.bias"), 1e-5)
    return x @ g("wte.weight").T


def st_write(path, tensors, dtype_name):
    """A safetensors file by hand: u64 LE header length, JSON, raw data."""
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors:
        if dtype_name == "F32":
            raw = t.float().contiguous().numpy().tobytes()
        else:
            tt = t.to(torch.bfloat16 if dtype_name == "BF16" else torch.float16).contiguous()
            raw = tt.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)   # pad: the data starts 8-aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def llmc_write(path, w, L, NH, C, V, T, version):
    """llm.c's model file: 256 int32 header, then the 16 tensors in its
    order, matrices (out, in), wte padded to a multiple of 128 rows."""
    Vp = (V + 127) // 128 * 128
    hdr = [0] * 256
    hdr[:8] = [20240326, version, T, V, L, NH, C, Vp]
    wte = torch.zeros(Vp, C)
    wte[:V] = w["wte.weight"]
    per = lambda k: [w["h.%d.%s" % (l, k)] for l in range(L)]
    perT = lambda k: [w["h.%d.%s" % (l, k)].T for l in range(L)]
    parts = [wte, w["wpe.weight"]] + per("ln_1.weight") + per("ln_1.bias") + \
        perT("attn.c_attn.weight") + per("attn.c_attn.bias") + perT("attn.c_proj.weight") + \
        per("attn.c_proj.bias") + per("ln_2.weight") + per("ln_2.bias") + \
        perT("mlp.c_fc.weight") + per("mlp.c_fc.bias") + perT("mlp.c_proj.weight") + \
        per("mlp.c_proj.bias") + [w["ln_f.weight"], w["ln_f.bias"]]
    flat = torch.cat([p.contiguous().reshape(-1) for p in parts])
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *hdr))
        if version == 3:
            f.write(flat.float().numpy().tobytes())
        else:
            f.write(flat.to(torch.bfloat16).view(torch.int16).numpy().tobytes())


def tokenizer_files(d, ranks_path, V):
    """vocab.json and merges.txt from a tiktoken rank file."""
    table = bytes_to_unicode()
    ranks = {}
    with open(ranks_path) as f:
        for line in f:
            if line.strip():
                b64, r = line.split()
                ranks[base64.b64decode(b64)] = int(r)
    enc = lambda b: "".join(table[x] for x in b)
    vocab = {enc(b): r for b, r in ranks.items()}
    vocab["<|endoftext|>"] = V - 1
    with open(os.path.join(d, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    # A merge for every token whose two halves (by BPE over lower ranks) are
    # both in the file, in rank order: what BPE would have learned.
    lines = ["#version: 0.2"]
    for tok, r in sorted(ranks.items(), key=lambda kv: kv[1]):
        if len(tok) < 2:
            continue
        parts = [bytes([x]) for x in tok]
        while len(parts) > 2:
            best = None
            for i in range(len(parts) - 1):
                rr = ranks.get(parts[i] + parts[i + 1])
                if rr is not None and rr < r and (best is None or rr < best[0]):
                    best = (rr, i)
            if best is None:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        if len(parts) == 2 and parts[0] in ranks and parts[1] in ranks:
            lines.append(enc(parts[0]) + " " + enc(parts[1]))
    with open(os.path.join(d, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def make(d, ranks, L=2, NH=2, C=32, T=128, seed=5, bench=0):
    V = 50257
    torch.manual_seed(seed)
    w = {}
    for name, shp in shapes(L, C, V, T):
        if name.endswith("ln_1.weight") or name.endswith("ln_2.weight") or name == "ln_f.weight":
            w[name] = 1 + 0.1 * torch.randn(shp)
        elif name.endswith(".bias"):
            w[name] = 0.05 * torch.randn(shp)
        else:
            w[name] = 0.08 * torch.randn(shp)
    config = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_layer": L,
              "n_head": NH, "n_embd": C, "n_positions": T, "n_ctx": T, "vocab_size": V,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-05,
              "task_specific_params": {"text-generation": {"do_sample": True}}}
    os.makedirs(d, exist_ok=True)
    for sub, dt in (("f32", "F32"),) if bench else (("f32", "F32"), ("bf16", "BF16"), ("f16", "F16")):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        with open(os.path.join(d, sub, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
        items = [(n, w[n]) for n, _ in shapes(L, C, V, T)]
        if sub == "bf16":
            items = [("transformer." + n, t) for n, t in items]
            for l in range(L):
                items.append(("transformer.h.%d.attn.bias" % l,
                              torch.tril(torch.ones(T, T)).view(1, 1, T, T)))
            items.append(("lm_head.weight", w["wte.weight"]))
        st_write(os.path.join(d, sub, "model.safetensors"), items, dt)
        # What the file holds, as float: the oracle's weights for it.
        rt = {n: (t.to(torch.bfloat16) if dt == "BF16" else t.half() if dt == "F16" else t).float()
              for n, t in w.items()}
        if not bench:
            torch.save(rt, os.path.join(d, sub + ".pt"))
    tokenizer_files(os.path.join(d, "f32"), ranks, V)
    llmc_write(os.path.join(d, "model.bin"), w, L, NH, C, V, T, 3)
    if not bench:
        torch.save(w, os.path.join(d, "f32.pt"))
        llmc_write(os.path.join(d, "model_bf16.bin"), w, L, NH, C, V, T, 5)
    with open(os.path.join(d, "shape"), "w") as f:
        f.write("%d %d %d %d\n" % (L, NH, C, T))


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def check(d, weights, ids_path, eval_path, sample_path=None, prompt_path=None):
    L, NH, C, T = map(int, open(os.path.join(d, "shape")).read().split())
    if weights.endswith(".safetensors"):
        import numpy
        import warnings
        warnings.filterwarnings("ignore", "The given NumPy array is not writable")
        hdr, data = st_read(os.path.join(d, weights))
        w = {k: torch.from_numpy(numpy.frombuffer(data, dtype=numpy.float32,
                                                  count=(v["data_offsets"][1] - v["data_offsets"][0]) // 4,
                                                  offset=v["data_offsets"][0]).reshape(v["shape"]))
             for k, v in hdr.items() if k != "__metadata__"}
    else:
        w = torch.load(os.path.join(d, weights))
    V = w["wte.weight"].shape[0]
    ids = [int(x) for x in open(ids_path).read().split()]
    bad = 0
    assert len(ids) < T, "the oracle scores one window"
    lp = forward(w, [V - 1] + ids[:-1], L, NH, C).log_softmax(-1)
    nats = -sum(lp[i, t].item() for i, t in enumerate(ids))
    ev = json.load(open(eval_path))
    ours = ev["total"]["nats"] if "total" in ev else ev["nats"]
    if ev.get("total", ev)["tokens"] != len(ids) or rel(ours, nats) > 1e-4:
        print("eval: ours %.8g nats over %s tokens, torch %.8g over %d" %
              (ours, ev.get("total", ev)["tokens"], nats, len(ids)))
        bad = 1
    else:
        print("eval: %d tokens, ours %.8g nats, torch %.8g, rel %.2g" %
              (len(ids), ours, nats, rel(ours, nats)))
    if sample_path:
        seq = [V - 1] + [int(x) for x in open(prompt_path).read().split()]
        s = json.load(open(sample_path))
        toks = s["samples"][0]["tokens"] if "samples" in s else s[0]["tokens"]
        worst = 0
        for t in toks:
            lp = forward(w, seq, L, NH, C)[-1].log_softmax(-1)
            want = int(lp.argmax())
            if t["id"] != want:
                print("sample: drew %d, torch's greedy choice is %d" % (t["id"], want))
                bad = 1
                break
            worst = max(worst, rel(t["logprob"], lp[want].item()))
            seq.append(want)
        print("sample: %d greedy tokens, worst rel logp diff %.2g" % (len(toks), worst))
        if worst > 1e-4:
            bad = 1
    return bad


def st_read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def st_rewrite(path, header, data, pad=True):
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def corrupt(d, out):
    """Damaged copies of DIR/f32 and DIR/model.bin, one directory (or file)
    each under OUT, named after the damage."""
    import shutil
    src = os.path.join(d, "f32")
    hdr, data = st_read(os.path.join(src, "model.safetensors"))
    config = json.load(open(os.path.join(src, "config.json")))

    def variant(name, header=None, blob=None, cfg=None, raw=None):
        o = os.path.join(out, name)
        os.makedirs(o, exist_ok=True)
        for f in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(src, f), o)
        with open(os.path.join(o, "config.json"), "w") as f:
            json.dump(cfg if cfg is not None else config, f)
        if raw is not None:
            with open(os.path.join(o, "model.safetensors"), "wb") as f:
                f.write(raw)
        else:
            st_rewrite(os.path.join(o, "model.safetensors"),
                       header if header is not None else hdr, blob if blob is not None else data)

    whole = open(os.path.join(src, "model.safetensors"), "rb").read()
    variant("truncated", raw=whole[:len(whole) // 2])
    h = json.loads(json.dumps(hdr))
    h["h.0.ln_1.weight"]["data_offsets"][1] = len(data) + 4096
    variant("past-end", header=h)
    h = json.loads(json.dumps(hdr))
    h["h.1.ln_2.bias"]["data_offsets"] = list(h["h.1.ln_2.weight"]["data_offsets"])
    variant("overlap", header=h)
    h = json.loads(json.dumps(hdr))
    b, e = h["h.0.mlp.c_fc.bias"]["data_offsets"]
    h["h.0.mlp.c_fc.bias"]["data_offsets"] = [b + 2, e + 2]
    variant("misaligned", header=h)
    h = json.loads(json.dumps(hdr))
    h["wpe.weight"]["dtype"] = "F33"
    variant("dtype", header=h)
    h = json.loads(json.dumps(hdr))
    h["ln_f.bias"]["dtype"] = "I32"
    variant("int-dtype", header=h)
    c = dict(config, n_embd=config["n_embd"] * 2)
    variant("shape", cfg=c)
    c = dict(config, n_layer=1)
    variant("layers", cfg=c)
    c = dict(config, model_type="llama", architectures=["LlamaForCausalLM"])
    variant("arch", cfg=c)
    h = json.loads(json.dumps(hdr))
    del h["h.1.mlp.c_fc.bias"]
    variant("missing", header=h)
    variant("absurd", raw=struct.pack("<Q", 1 << 40) + whole[8:])
    variant("badjson", raw=whole[:8] + b"{\"wte.weight\": [" + whole[8 + 15:])
    m = open(os.path.join(src, "merges.txt")).read().split("\n")
    m[3], m[40] = m[40], m[3]   # two merges out of rank order
    variant("merges")
    with open(os.path.join(out, "merges", "merges.txt"), "w") as f:
        f.write("\n".join(m))
    # Random damage to the header (seeded): each must be refused or read,
    # never crash. Bytes of the JSON are replaced by JSON's own characters
    # as often as by any byte, so that some of them still parse.
    import random
    rng = random.Random(1)
    n = struct.unpack("<Q", whole[:8])[0]
    for k in range(40):
        b = bytearray(whole)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(0, 8 + n)
            b[i] = rng.choice(b'0123456789[]{}",:-eE. ') if rng.random() < 0.5 else rng.randrange(256)
        variant("fuzz%02d" % k, raw=bytes(b))
    llmc = open(os.path.join(d, "model.bin"), "rb").read()
    for k in range(20):
        b = bytearray(llmc)
        i = rng.randrange(0, 32)
        b[i] = rng.randrange(256)
        with open(os.path.join(out, "llmc-fuzz%02d.bin" % k), "wb") as f:
            f.write(bytes(b))
    with open(os.path.join(out, "llmc-truncated.bin"), "wb") as f:
        f.write(llmc[:-4])
    with open(os.path.join(out, "llmc-version.bin"), "wb") as f:
        f.write(llmc[:4] + struct.pack("<i", 4) + llmc[8:])
    with open(os.path.join(out, "llmc-shape.bin"), "wb") as f:
        f.write(llmc[:24] + struct.pack("<i", 33) + llmc[28:])


if __name__ == "__main__":
    if sys.argv[1] == "corrupt":
        corrupt(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "make":
        a = sys.argv[2:]
        make(a[0], a[1], *map(int, a[2:]))
    else:
        sys.exit(check(*sys.argv[2:]))
