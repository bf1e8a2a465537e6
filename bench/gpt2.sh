#!/bin/sh
# bench/gpt2.sh — an imported GPT-2 of the 124M shape (12 layers, 12 heads,
# width 768, context 1024, 50257 ids) with random weights, written by
# tests/gpt2_ref.py in the Hugging Face layout (safetensors F32) and as
# llm.c's .bin (version 3), then:
#
#   1. correctness at this shape: eval's nats on a short text against the
#      PyTorch forward of tests/gpt2_ref.py (weights read back from the
#      safetensors file), 1e-4 relative;
#   2. opening: wall time of opening the model and drawing one token, and
#      memory while it generates: peak RSS (/usr/bin/time -f %M), and the
#      largest RssAnon (memory of its own: copies, activations, the cache)
#      and RssFile (pages of the mapped checkpoint, shared with the page
#      cache, not a copy) seen in /proc/PID/status;
#   3. eval's tokens/s on the first EVAL_KB KB of a text, the time 1 MB
#      would take at that rate, and eval's peak RSS (which past two windows
#      does not grow with the text: the weights, one batch's activations and
#      the 64 MB chunks of logits and attention scores);
#   4. generation at batch 1 (greedy, GEN tokens) against the memory bound:
#      bytes of weights read per token (4 (12 L C^2 + V C): every matrix,
#      and the tied output layer) over the bandwidth bench/membw.c measures
#      (the same threads summing a 1 GiB array), with one thread and with
#      every core, REPS times alternating.
#
# STEPS="1 2 3 4" chooses the parts to run (the checkpoints are written
# whenever DIR lacks them).
#
# The tokenizer is the subset rank file of the tests unless RANKS names
# r50k_base.tiktoken: with the subset a text splits into more tokens, which
# changes tokens per byte but not tokens per second.
#
# usage: bench/gpt2.sh [path/to/autodidact] [text]
#        env: DIR= (keep the checkpoints there; default a temporary
#             directory), RANKS=, EVAL_KB=32, GEN=128, REPS=2, STEPS="1 2 3 4",
#             PY=/usr/bin/python3, CC=cc
set -eu
AD=${1:-./autodidact}
SRC=$(cd "$(dirname "$0")/.." && pwd)
TEXT=${2:-/work/shared/corpora/pg1342_pride_and_prejudice_en.txt}
PY=${PY:-/usr/bin/python3}
CC=${CC:-cc}
RANKS=${RANKS:-$SRC/tests/data/tok/r50k_base.subset.tiktoken}
EVAL_KB=${EVAL_KB:-32}
GEN=${GEN:-128}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/gpt2bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
D=${DIR:-$TMP/ckpt}
L=12 NH=12 C=768 T=1024 V=50257

echo "bench/gpt2.sh: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), $(nproc) cores," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: figures vary)"
if [ ! -f "$D/model.bin" ]; then
	echo "writing the checkpoints to $D ..."
	"$PY" "$SRC/tests/gpt2_ref.py" make "$D" "$RANKS" $L $NH $C $T 5 1
fi
ls -l "$D/model.bin" "$D/f32/model.safetensors" | awk '{ printf "  %s: %.1f MB\n", $NF, $5 / 1e6 }'

STEPS=${STEPS:-1 2 3 4}
step() { case " $STEPS " in *" $1 "*) return 0;; esac; return 1; }

# 1. Correctness at this shape.
step 1 && {
head -c 600 "$TEXT" | tail -c 400 >"$TMP/short.txt"
"$AD" tokenize encode --stream --pattern gpt2 -t "$RANKS" "$TMP/short.txt" >"$TMP/ids"
for m in "$D/f32" "$D/model.bin"; do
	"$AD" eval -q --json -t "$D/f32/vocab.json" "$m" "$TMP/short.txt" >"$TMP/eval.json"
	printf '  %s: ' "$m"
	"$PY" "$SRC/tests/gpt2_ref.py" check "$D" f32/model.safetensors "$TMP/ids" "$TMP/eval.json"
done
}

# 2. Opening and memory.
step 2 && for m in "$D/model.bin" "$D/f32"; do
	/usr/bin/time -f '%e %M' -o "$TMP/time" "$AD" sample -t "$D/f32/vocab.json" -n 1 \
		--temperature 0 --prompt 'The' "$m" >/dev/null
	"$AD" sample -t "$D/f32/vocab.json" -n 64 --temperature 0 --prompt 'The' "$m" \
		>/dev/null 2>&1 &
	pid=$!
	anon=0 file=0
	while kill -0 $pid 2>/dev/null; do
		if [ -r /proc/$pid/status ]; then
			set -- $(awk '/^RssAnon/ { a = $2 } /^RssFile/ { f = $2 } END { print a + 0, f + 0 }' \
				/proc/$pid/status 2>/dev/null || echo 0 0)
			[ "${1:-0}" -gt $anon ] && anon=$1
			[ "${2:-0}" -gt $file ] && file=$2
		fi
		sleep 0.2
	done
	wait $pid || true
	awk -v m="$m" -v a=$anon -v f=$file '{ printf "  open %s: %.2f s to open and draw one token, " \
		"peak RSS %.0f MB; while generating: own memory (RssAnon) %.0f MB, mapped " \
		"checkpoint (RssFile) %.0f MB\n", m, $1, $2 / 1024, a / 1024, f / 1024 }' "$TMP/time"
done

# 3. eval's rate.
step 3 && {
head -c $((EVAL_KB * 1024)) "$TEXT" >"$TMP/eval.txt"
start=$(date +%s.%N)
/usr/bin/time -f '%M' -o "$TMP/eval.rss" "$AD" eval -q --json -t "$D/f32/vocab.json" \
	"$D/model.bin" "$TMP/eval.txt" >"$TMP/eval.json"
end=$(date +%s.%N)
tokens=$(awk -F'[:,]' '/"tokens"/ { t = $2 } END { print t + 0 }' "$TMP/eval.json")
rss=$(tail -n 1 "$TMP/eval.rss")
awk -v s="$start" -v e="$end" -v t="$tokens" -v kb="$EVAL_KB" -v rss="$rss" 'BEGIN {
	printf "  eval: %d KB, %d tokens in %.1f s: %.0f tokens/s, %.1f KB/s; 1 MB would take " \
	    "%.0f s; peak RSS %.0f MB\n", kb, t, e - s, t / (e - s), kb / (e - s),
	    1024 / (kb / (e - s)), rss / 1024 }'
}

# 4. Generation against the memory bound, with one thread and with all,
# in fp32 and from bf16 weights (sample --precision bf16: half the bytes),
# each right after its bandwidth (OMP_NUM_THREADS threads summing), REPS
# times alternating: on a shared machine every thread count and precision
# should see the same load.
step 4 || exit 0
"$CC" -O3 -march=native -fopenmp "$SRC/bench/membw.c" -o "$TMP/membw"
r=0
while [ $r -lt "${REPS:-2}" ]; do
	for th in 1 $(nproc); do
		bw=$(OMP_NUM_THREADS=$th "$TMP/membw" 1024 5 2>/dev/null)
		for prec in fp32 bf16; do
			"$AD" sample --precision $prec --threads $th -t "$D/f32/vocab.json" -n "$GEN" \
				--temperature 0 --timing --prompt 'The' "$D/model.bin" >/dev/null 2>"$TMP/gen.err"
			rate=$(awk '/tokens\/s$/ { r = $(NF - 1) } END { print r + 0 }' "$TMP/gen.err")
			awk -v bw="$bw" -v r="$rate" -v L=$L -v C=$C -v V=$V -v n="$GEN" -v th=$th \
			    -v prec=$prec 'BEGIN {
				bytes = (prec == "bf16" ? 2 : 4) * (12 * L * C * C + V * C)
				bound = bw * 1e9 / bytes
				printf "  generation (%s, %d tokens, %d threads): %.2f tokens/s; memory " \
				    "bound %.2f tokens/s (%.0f MB of weights per token at %.2f GB/s " \
				    "measured): %.0f%% of the bound\n", prec, n, th, r, bound, bytes / 1e6,
				    bw, 100 * r / bound }'
		done
	done
	r=$((r + 1))
done
