#!/bin/sh
# gpt2.sh — GPT-2 checkpoints written by other tools, against PyTorch.
# tests/gpt2_ref.py builds a small GPT-2 (2 layers, 2 heads, width 32,
# context 128, GPT-2's 50257 ids) with random weights, writes it in the
# Hugging Face layout (safetensors F32, BF16 with the "transformer." prefix,
# mask buffers and a tied lm_head, F16) and as llm.c's .bin (versions 3 and
# 5), with vocab.json + merges.txt made from the r50k_base subset rank file.
# Every copy must give PyTorch's nats on a text (eval) and its greedy
# continuation with its log-probabilities (sample), to 1e-4 relative; the
# two tokenizer sources must give the same ids; and each damaged file must
# get one clear error.
. "$AD_SRCDIR/tests/lib.sh"
find_torch
if [ -z "$PY" ]; then
	echo "FAIL: PyTorch is not installed (apt-get install python3-torch; ./quickstart test installs it)"
	exit 1
fi
REF=$AD_SRCDIR/tests/gpt2_ref.py
RANKS=$AD_TESTDATA/tok/r50k_base.subset.tiktoken
D=$T/gpt2
run 0 "$PY" "$REF" make "$D" "$RANKS"

printf 'The quick brown fox jumps over the lazy dog.\nIt was the best of times, it was the worst of times.\n' >"$T/text.txt"
printf 'The quick brown' >"$T/prompt.txt"
# The ids the oracle scores: the same text through the rank file.
run 0 "$AD" tokenize encode --stream --pattern gpt2 -t "$RANKS" "$T/text.txt"
cp "$T/out" "$T/ids"
run 0 "$AD" tokenize encode --stream --pattern gpt2 -t "$RANKS" "$T/prompt.txt"
cp "$T/out" "$T/pids"

# model, the weights the oracle uses for it, the tokenizer option
for c in "$D/f32 f32.pt" "$D/f32/model.safetensors f32.pt" "$D/bf16 bf16.pt" \
	"$D/f16/model.safetensors f16.pt" "$D/model.bin f32.pt" "$D/model_bf16.bin bf16.pt"; do
	set -- $c
	run 0 "$AD" eval -q --json -t "$D/f32/vocab.json" "$1" "$T/text.txt"
	cp "$T/out" "$T/eval.json"
	run 0 "$AD" sample -t "$D/f32/vocab.json" --json --temperature 0 -n 8 \
		--prompt 'The quick brown' "$1"
	cp "$T/out" "$T/sample.json"
	run 0 "$PY" "$REF" check "$D" "$2" "$T/ids" "$T/eval.json" "$T/sample.json" "$T/pids"
	cat "$T/out"
done

# The directory form finds vocab.json and merges.txt itself; the rank file
# (-t) gives the same figures as the pair, id for id.
run 0 "$AD" eval -q --json "$D/f32" "$T/text.txt"
grep '"nats"' "$T/out" >"$T/nats.pair"
run 0 "$AD" eval -q --json -t "$RANKS" "$D/f32" "$T/text.txt"
grep '"nats"' "$T/out" >"$T/nats.ranks"
same "$T/nats.pair" "$T/nats.ranks"
has "$T/out" 'GPT-2 (Hugging Face safetensors, F32), r50k_base, texts opened by <|endoftext|>'
run 0 "$AD" eval -t "$RANKS" "$D/model_bf16.bin" "$T/text.txt"
has "$T/out" 'GPT-2 (llm.c version 5, bfloat16), r50k_base, texts opened by <|endoftext|>'
run 0 "$AD" sample -t "$RANKS" --json --temperature 0 -n 8 --prompt 'The quick brown' "$D/model.bin"
grep '"id"' "$T/out" >"$T/ids.ranks"
run 0 "$AD" sample -t "$D/f32/vocab.json" --json --temperature 0 -n 8 --prompt 'The quick brown' \
	"$D/model.bin"
grep '"id"' "$T/out" >"$T/ids.pair"
same "$T/ids.ranks" "$T/ids.pair"
has "$T/out" '"id"'

# A float32 safetensors file's matrices are used in place (issue 27: the
# block matrices stay input-major, as Conv1D stores them); a 16-bit file's
# are widened into memory of the model's own. Generation from the F32 file
# (nn_matvec_in_rows) and from the llm.c copy of the same weights (our
# layout) sums in other orders: the same tokens, greedy and sampled, in fp32
# and bf16, and the same log-probabilities to 1e-5 relative.
run 0 "$AD" eval -t "$RANKS" "$D/f32" "$T/text.txt"
has "$T/out" 'texts opened by <|endoftext|>, its matrices mapped in place, causal objective'
run 0 "$AD" eval -t "$RANKS" "$D/model.bin" "$T/text.txt"
has "$T/out" 'GPT-2 (llm.c version 3, float32), r50k_base, texts opened by <|endoftext|>, its matrices mapped in place'
for m in "$D/f16/model.safetensors" "$D/bf16"; do
	run 0 "$AD" eval -t "$RANKS" "$m" "$T/text.txt"
	if grep -qF 'mapped in place' "$T/out"; then fail "$m: a 16-bit file said to be in place"; else ok; fi
done
for opts in "--temperature 0 -n 16" "--temperature 1 --seed 7 -n 24" \
	"--precision bf16 --temperature 0 -n 16" "--precision bf16 --temperature 1 --seed 3 -n 24"; do
	for m in "$D/f32" "$D/model.bin"; do
		# shellcheck disable=SC2086
		run 0 "$AD" sample -t "$RANKS" --json $opts --prompt 'The quick brown' "$m"
		grep '"id"' "$T/out" >"$T/ids.${m##*/}"
		grep '"logprob"' "$T/out" | sed 's/.*: *//; s/,$//' >"$T/lp.${m##*/}"
	done
	same "$T/ids.f32" "$T/ids.model.bin"
	paste "$T/lp.f32" "$T/lp.model.bin" >"$T/lp"
	if awk '{ d = $1 - $2; if (d < 0) d = -d; m = $2 < 0 ? -$2 : $2
		if (d > 1e-5 * (m > 1 ? m : 1)) bad = 1 } END { exit bad + (NR < 16) }' "$T/lp"; then
		ok
	else
		fail "sample $opts: log-probabilities from the two files differ: $(head -c 300 "$T/lp")"
	fi
done

# The same over many scripts (the tokenizer tests' cases, as bytes): equal
# token counts and nats from both sources.
for f in cases.jsonl unicode.jsonl special.jsonl; do
	run 0 "$AD" eval -q --json -t "$RANKS" "$D/model.bin" "$AD_TESTDATA/tok/$f"
	grep '"tokens"\|"nats"' "$T/out" >"$T/a"
	run 0 "$AD" eval -q --json -t "$D/f32/vocab.json" "$D/model.bin" "$AD_TESTDATA/tok/$f"
	grep '"tokens"\|"nats"' "$T/out" >"$T/b"
	same "$T/a" "$T/b"
done

# An llm.c file holds no tokenizer: it asks for one.
run 1 "$AD" eval "$D/model.bin" "$T/text.txt"
has "$T/err" 'an llm.c checkpoint holds no tokenizer: give -t r50k_base.tiktoken'

# Damaged files: one line each, naming the problem (and the tensor).
run 0 "$PY" "$REF" corrupt "$D" "$T/bad"
bad() {
	run 1 "$AD" eval -q -t "$D/f32/vocab.json" "$1" "$T/text.txt"
	has "$T/err" "$2"
	lines "$T/err" 1
}
B=$T/bad
bad "$B/truncated" 'past the end of the file'
bad "$B/past-end" 'tensor h.0.ln_1.weight: its data ends at byte'
bad "$B/overlap" 'tensors h.1.ln_2.weight and h.1.ln_2.bias overlap'
bad "$B/misaligned" 'tensor h.0.mlp.c_fc.bias: its data at byte'
bad "$B/dtype" 'tensor wpe.weight: unknown dtype "F33"'
bad "$B/int-dtype" 'tensor ln_f.bias is I32: weights are read in F32, F16 or BF16'
bad "$B/shape" 'tensor wte.weight has shape [50257, 32], but config.json makes it [50257, 64]'
bad "$B/layers" 'belongs to block 1, but config.json has n_layer 1'
bad "$B/arch" 'model_type is "llama", not "gpt2": a config for another architecture'
bad "$B/missing" 'tensor h.1.mlp.c_fc.bias is missing'
bad "$B/absurd" 'a header length of 1099511627776 bytes is absurd'
bad "$B/badjson" 'the header is not valid JSON there'
run 1 "$AD" eval -q "$B/merges" "$T/text.txt"
has "$T/err" 'merges.txt:5: this merge disagrees with vocab.json'
lines "$T/err" 1
bad "$B/llmc-truncated.bin" 'the file is truncated'
bad "$B/llmc-version.bin" 'llm.c model version 4; this program reads versions 3 (float32) and 5'
bad "$B/llmc-shape.bin" 'width 33 is not divisible by 2 heads'
# Random damage to the headers: an error of one line, or a model that
# opens (the damage missed anything that matters), never a crash.
for f in "$B"/fuzz* "$B"/llmc-fuzz*; do
	"$AD" eval -q -t "$D/f32/vocab.json" "$f" "$T/text.txt" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc -gt 1 ] || [ "$(wc -l <"$T/err")" -gt 1 ]; then
		fail "$f: exit $rc: $(head -c 300 "$T/err")"
	else
		ok
	fi
done
finish
