#!/usr/bin/env python3
"""tests/export_check.py -- an export in the Hugging Face GPT-2 layout, read
the way the Python tools read it, against autodidact's own figures.

Written from the published formats and GPT-2's architecture, not from
autodidact's code: a safetensors parser (u64 little-endian header length,
JSON header, raw tensors), GPT-2's forward pass in PyTorch over the tensors
by their GPT-2 names (Conv1D: x W + b with W input-major; pre-LayerNorm
blocks; causal attention; tanh GELU, "gelu_new"; tied output layer), and
two tokenizers over the exported files: GPT-2's merge-list BPE over
vocab.json + merges.txt (pairs merged in merges.txt order), and tiktoken's
rank rule over tokenizer.tiktoken (the adjacent pair whose concatenation has
the lowest rank merges first).

usage: export_check.py DIR TEXT IDS EVAL_JSON SAMPLE_JSON PROMPT_IDS

  DIR          the export
  TEXT         an ASCII text (the pre-tokenization regex is rewritten for
               Python's re, which lacks \\p{..}: exact for ASCII only)
  IDS          autodidact's ids of TEXT ('tokenize encode')
  EVAL_JSON    'autodidact eval --json MODEL TEXT' (total nats)
  SAMPLE_JSON  'autodidact sample --json --temperature 0 --prompt P MODEL'
  PROMPT_IDS   autodidact's ids of P

Checks, each failing the exit status: the file's structure; the shapes
against config.json; both tokenizers give IDS; the log-probabilities of
TEXT (BOS first, the input-only ids suppressed) sum to eval's nats within
1e-5 relative; the greedy continuation of P is torch's argmax at every
step, with each token's log-probability within 1e-5 relative.
"""
import base64
import json
import math
import re
import struct
import sys

import torch

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL: " + what, file=sys.stderr)


# ---- safetensors ---------------------------------------------------------

def read_safetensors(path):
    data = open(path, "rb").read()
    check(len(data) >= 8, "safetensors shorter than its length field")
    (n,) = struct.unpack("<Q", data[:8])
    check(8 + n <= len(data), "header length past the end")
    raw = data[8:8 + n]
    check((8 + n) % 8 == 0, "tensor data does not start at a multiple of 8")
    check(raw[:1] == b"{", "header does not start with '{'")
    check(raw.rstrip(b" ")[-1:] == b"}", "header padding is not spaces after '}'")
    header = json.loads(raw.decode("utf-8"))
    meta = header.pop("__metadata__", None)
    check(meta is not None and meta.get("format") == "pt", "no __metadata__ format pt")
    check(all(isinstance(v, str) for v in (meta or {}).values()),
          "metadata values must be strings")
    body = data[8 + n:]
    spans = sorted((v["data_offsets"][0], v["data_offsets"][1], k) for k, v in header.items())
    end = 0
    for a, b, k in spans:
        check(a == end, "tensor %s starts at %d, previous ended at %d" % (k, a, end))
        end = b
    check(end == len(body), "tensors end at %d, data is %d bytes" % (end, len(body)))
    tensors = {}
    for k, v in header.items():
        check(v["dtype"] == "F32", "%s: dtype %s" % (k, v["dtype"]))
        a, b = v["data_offsets"]
        count = 1
        for d in v["shape"]:
            count *= d
        check(b - a == 4 * count, "%s: %d bytes for shape %s" % (k, b - a, v["shape"]))
        t = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32)
        tensors[k] = t.reshape(v["shape"]).double()
    return tensors, meta


# ---- GPT-2, as its layout defines it ------------------------------------

def gpt2_logits(w, cfg, ids):
    """Logits (T, vocab_size) for one sequence of ids."""
    C, L, NH = cfg["n_embd"], cfg["n_layer"], cfg["n_head"]
    eps = cfg["layer_norm_epsilon"]
    check(cfg["activation_function"] == "gelu_new", "activation is not gelu_new")
    hs = C // NH
    x = torch.tensor(ids)
    T = len(ids)
    h = w["wte.weight"][x] + w["wpe.weight"][:T]
    mask = torch.tril(torch.ones(T, T, dtype=torch.bool))

    def ln(v, name):
        return torch.nn.functional.layer_norm(v, (C,), w[name + ".weight"],
                                              w[name + ".bias"], eps)

    def conv1d(v, name):   # GPT-2's Conv1D: x W + b, W is (in, out)
        return v @ w[name + ".weight"] + w[name + ".bias"]

    for l in range(L):
        p = "h.%d." % l
        qkv = conv1d(ln(h, p + "ln_1"), p + "attn.c_attn")
        q, k, v = qkv.split(C, dim=1)
        q = q.view(T, NH, hs).transpose(0, 1)
        k = k.view(T, NH, hs).transpose(0, 1)
        v = v.view(T, NH, hs).transpose(0, 1)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(0, 1).reshape(T, C)
        h = h + conv1d(y, p + "attn.c_proj")
        m = torch.nn.functional.gelu(conv1d(ln(h, p + "ln_2"), p + "mlp.c_fc"),
                                     approximate="tanh")
        h = h + conv1d(m, p + "mlp.c_proj")
    return ln(h, "ln_f") @ w["wte.weight"].t()


def log_probs(logits, suppress):
    z = logits.clone()
    z[:, suppress] = float("-inf")
    return torch.log_softmax(z, dim=-1)


# ---- tokenizers ----------------------------------------------------------

def bytes_to_unicode():
    """GPT-2's map: printable bytes stand for themselves, the rest for
    U+0100 onwards in byte order."""
    keep = (list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) +
            list(range(0xAE, 0x100)))
    out, n = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + n)
            n += 1
    return out


def ascii_regex(pattern):
    """The pattern with \\p{L} and \\p{N} as ASCII classes (Python's re)."""
    out, inclass, i = [], False, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and pattern[i + 1:i + 5] in ("p{L}", "p{N}"):
            cls = "a-zA-Z" if pattern[i + 3] == "L" else "0-9"
            out.append(cls if inclass else "[" + cls + "]")
            i += 5
            continue
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "[" and not inclass:
            inclass = True
        elif c == "]" and inclass:
            inclass = False
        out.append(c)
        i += 1
    return re.compile("".join(out))


def pieces(pattern, text):
    if pattern is None:     # a byte-level model: any split gives its ids
        return [text]
    return ascii_regex(pattern).findall(text)


def encode_merges(vocab, merges, pattern, text):
    b2u = bytes_to_unicode()
    rank = {pair: i for i, pair in enumerate(merges)}
    ids = []
    for piece in pieces(pattern, text):
        parts = [b2u[b] for b in piece.encode("utf-8")]
        while len(parts) > 1:
            pairs = [(rank.get((parts[i], parts[i + 1]), math.inf), i)
                     for i in range(len(parts) - 1)]
            r, i = min(pairs)
            if r == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids += [vocab[p] for p in parts]
    return ids


def encode_ranks(ranks, pattern, text):
    ids = []
    for piece in pieces(pattern, text):
        parts = [bytes([b]) for b in piece.encode("utf-8")]
        while len(parts) > 1:
            best = min((ranks.get(parts[i] + parts[i + 1], math.inf), i)
                       for i in range(len(parts) - 1))
            if best[0] == math.inf:
                break
            i = best[1]
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids += [ranks[p] for p in parts]
    return ids


def read_ids(path):
    return [int(t) for t in open(path).read().split()]


def close(a, b, rel=1e-5, what=""):
    ok = abs(a - b) <= rel * max(abs(a), abs(b), 1.0)
    check(ok, "%s: %.10g vs %.10g" % (what, a, b))


def main():
    d, text_path, ids_path, eval_path, sample_path, prompt_path = sys.argv[1:7]
    cfg = json.load(open(d + "/config.json"))
    tcfg = json.load(open(d + "/tokenizer_config.json"))
    gen = json.load(open(d + "/generation_config.json"))
    w, meta = read_safetensors(d + "/model.safetensors")

    ours = cfg["autodidact"]
    V, Vin, bos = ours["output_vocab_size"], cfg["vocab_size"], cfg["bos_token_id"]
    C, L, T = cfg["n_embd"], cfg["n_layer"], cfg["n_positions"]
    check(cfg["model_type"] == "gpt2" and cfg["architectures"] == ["GPT2LMHeadModel"],
          "not a GPT2LMHeadModel config")
    check(bos == V and Vin == V + 1, "BOS is not the one id past the tokenizer's")
    check(gen["suppress_tokens"] == [V] and gen["bos_token_id"] == V,
          "generation_config does not suppress BOS")
    check(meta.get("autodidact_bos_token_id") == str(V), "metadata BOS id")
    want = {"wte.weight": [Vin, C], "wpe.weight": [T, C], "ln_f.weight": [C], "ln_f.bias": [C]}
    for l in range(L):
        p = "h.%d." % l
        want.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C],
                     p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
                     p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                     p + "ln_2.weight": [C], p + "ln_2.bias": [C],
                     p + "mlp.c_fc.weight": [C, 4 * C], p + "mlp.c_fc.bias": [4 * C],
                     p + "mlp.c_proj.weight": [4 * C, C], p + "mlp.c_proj.bias": [C]})
    check(sorted(want) == sorted(w), "tensor names: %s" % sorted(set(want) ^ set(w)))
    for k, s in want.items():
        if k in w:
            check(list(w[k].shape) == s, "%s: shape %s, want %s" % (k, list(w[k].shape), s))

    # Tokenizers: both files give autodidact's ids.
    text = open(text_path, "rb").read().decode("ascii")
    ids = read_ids(ids_path)
    vocab = json.load(open(d + "/vocab.json", encoding="utf-8"))
    check(vocab.get(tcfg["bos_token"]) == V, "vocab.json lacks the BOS token at id V")
    lines = open(d + "/merges.txt", encoding="utf-8").read().split("\n")
    check(lines[0] == "#version: 0.2", "merges.txt has no version line")
    merges = [tuple(x.split(" ")) for x in lines[1:] if x]
    pattern = tcfg["autodidact"]["pattern"]
    got = encode_merges(vocab, merges, pattern, text)
    check(got == ids, "vocab.json + merges.txt encode the text to other ids: %s... vs %s..."
          % (got[:12], ids[:12]))
    ranks = {}
    for line in open(d + "/tokenizer.tiktoken"):
        tok, r = line.split()
        ranks[base64.b64decode(tok)] = int(r)
    got = encode_ranks(ranks, pattern, text)
    check(got == ids, "tokenizer.tiktoken encodes the text to other ids")
    if tcfg["autodidact"]["gpt2_tokenizer_exact"]:
        check(pattern is None or tcfg["autodidact"]["pattern_name"] == "gpt2",
              "exact for GPT2Tokenizer with a pattern other than GPT-2's")

    # The model: eval's nats over the text (one window: BOS, then the ids).
    check(1 <= len(ids) <= T, "the text must fit one context (%d ids, T %d)" % (len(ids), T))
    logits = gpt2_logits(w, cfg, [bos] + ids[:-1])
    lp = log_probs(logits, [V])
    nats = -sum(lp[i, t].item() for i, t in enumerate(ids))
    ev = json.load(open(eval_path))["total"]
    check(ev["tokens"] == len(ids), "eval scored %d tokens, the text has %d"
          % (ev["tokens"], len(ids)))
    close(nats, ev["nats"], what="nats of the text, torch vs autodidact eval")
    # Without suppressing BOS the figure differs: the extra row matters.
    raw = -sum(torch.log_softmax(logits, -1)[i, t].item() for i, t in enumerate(ids))
    check(raw > nats, "leaving BOS in the softmax should cost nats")

    # The greedy continuation of the prompt, step by step.
    prompt = read_ids(prompt_path)
    toks = json.load(open(sample_path))["samples"][0]["tokens"]
    check(len(toks) > 0, "no tokens sampled")
    seq = [bos] + prompt
    for tk in toks:
        check(len(seq) <= T, "the continuation outgrew the context")
        lp = log_probs(gpt2_logits(w, cfg, seq), [V])[-1]
        best = int(torch.argmax(lp))
        check(best == tk["id"], "greedy step %d: torch %d, autodidact %d"
              % (len(seq), best, tk["id"]))
        close(lp[tk["id"]].item(), tk["logprob"], what="log-probability of a sampled token")
        seq.append(tk["id"])

    if failures:
        sys.exit(1)
    print("export_check: %d tensors, %d ids, nats %.6f, %d greedy steps: all agree"
          % (len(w), len(ids), nats, len(toks)))


main()
