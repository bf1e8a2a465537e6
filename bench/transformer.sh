#!/bin/sh
# bench/transformer.sh — training throughput of 'autodidact train transformer'
# against a GPT-2 of the same shape in PyTorch (bench/transformer_torch.py,
# Debian's python3-torch with OpenBLAS), in the same run, on the two reference
# shapes of the issue, and generation speed with the key/value cache.
#
#   S: 4 layers, 4 heads, C=128, T=128, B=8, V=4096 (1.33 M parameters)
#   M: 6 layers, 6 heads, C=384, T=256, B=4, V=4096 (12.3 M parameters)
#
# Each side runs RUNS times (default 3); a run's figure is the median tokens/s
# of its steps after the first three; the script prints the median over runs,
# the ratio, peak RSS (/usr/bin/time -f %M) and the achieved GFLOP/s
# (model FLOPs per step = 6 N B T + 6 L C T^2 B, N = 12 L C^2 + V C).
# PyTorch is run at its best here: OPENBLAS_CORETYPE unset, OMP_WAIT_POLICY
# PASSIVE, torch.set_num_threads(THREADS). autodidact runs with its own
# OpenMP policy (a short spin, GOMP_SPINCOUNT=10000, set by the program)
# unless OURS_WAIT names one: threads that spin at barriers for libgomp's
# default 300,000 iterations while their partner is descheduled cost 2-3x
# on a shared machine, and PASSIVE (no spin) pays a futex wake-up at every
# parallel region (measured here, shape S: 10,141 and 9,557 tokens/s with
# the program's policy, 7,425 and 8,983 with PASSIVE, alternating runs;
# generation, which opens ~30 parallel regions per token, suffers most).
# Needs: python3-torch, libopenblas0-pthread (without it PyTorch falls back
# to the reference BLAS), time.
#
# usage: bench/transformer.sh [path/to/autodidact] [corpus.txt]
#        env: RUNS=3 THREADS=2 SHAPES="S M" GEN=1 OURS_WAIT= (PASSIVE, ACTIVE)
#             PRECISION=fp32 (bf16: ours with --precision bf16, PyTorch under
#             bf16 autocast)
set -eu
AD=${1:-./autodidact}
CORPUS=${2:-}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SHAPES=${SHAPES:-"S M"}
GEN=${GEN:-1}
OURS_WAIT=${OURS_WAIT:-}
PRECISION=${PRECISION:-fp32}
# ours CMD...: run our program under the chosen OpenMP policy.
ours() {
	if [ -n "$OURS_WAIT" ]; then OMP_WAIT_POLICY=$OURS_WAIT "$@"; else "$@"; fi
}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The default corpus: War and Peace from the shared corpora (4,096 BPE ids
# need real text; the synthetic corpus has too small a vocabulary).
if [ -z "$CORPUS" ]; then
	for c in "$HERE/../../shared/corpora/pg2600_war_and_peace_en.txt" \
	    "$HERE/../corpora/pg2600_war_and_peace_en.txt"; do
		[ -f "$c" ] && CORPUS=$c && break
	done
	[ -n "$CORPUS" ] || { echo "bench/transformer.sh: give a corpus of a few MB of prose" >&2; exit 2; }
fi
"$AD" tokenize train --quiet --vocab-size 4096 -o "$tmp/v.bpe" "$CORPUS"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print v[int((NR + 1) / 2)] }'; }

shape() {
	case $1 in
	S) echo "4 4 128 128 8 30 20" ;;
	M) echo "6 6 384 256 4 12 10" ;;
	esac
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $THREADS; precision $PRECISION"
# The single-precision peak: a register-only FMA loop of our own, and the
# sgemm of numpy/OpenBLAS (OPENBLAS_CORETYPE unset) on 2048^3.
peak=
if cc -O3 -march=native -fopenmp "$HERE/fma_peak.c" -o "$tmp/fma_peak" 2>/dev/null ||
    cc -O3 -fopenmp "$HERE/fma_peak.c" -o "$tmp/fma_peak" 2>/dev/null; then
	peak=$(OMP_NUM_THREADS=$THREADS "$tmp/fma_peak")
	echo "peak: register-only AVX2 FMA loop $peak GFLOP/s on $THREADS threads"
	p512=$(OMP_NUM_THREADS=$THREADS "$tmp/fma_peak" avx512)
	[ "$p512" = 0 ] ||
		echo "peak: register-only AVX-512 FMA loop $p512 GFLOP/s on $THREADS threads (where it is" \
		    "no higher, 512-bit FMAs run as two 256-bit halves and a wider kernel gains no FLOPs)"
	# The peak is the wider loop's where it is higher (full-width 512-bit
	# FMAs, as on Zen 5): the 8x32 kernel runs 512-bit FMAs.
	peak=$(echo "$peak $p512" | awk '{ print ($2 > $1 ? $2 : $1) }')
fi
# OPENBLAS_VERBOSE=2 makes OpenBLAS name the kernel family it picked for this
# CPU (PyTorch loads the same library with the same environment).
env -u OPENBLAS_CORETYPE OPENBLAS_NUM_THREADS="$THREADS" OPENBLAS_VERBOSE=2 "$PY" -c '
import time
import numpy as np
a = np.random.rand(2048, 2048).astype(np.float32)
b = a.copy()
ts = []
for _ in range(5):
    s = time.perf_counter()
    a @ b
    ts.append(time.perf_counter() - s)
print("peak: numpy/OpenBLAS sgemm 2048^3 %.1f GFLOP/s" % (2 * 2048 ** 3 / min(ts) / 1e9))' \
	>"$tmp/sgemm" 2>"$tmp/blas" || true
awk -v core="$(sed -n 's/^Core: //p' "$tmp/blas")" '{
	print core != "" ? $0 " (OpenBLAS kernels: " core ")" : $0 }' "$tmp/sgemm"
echo "kernel: $("$AD" train transformer --bytes --preset tiny --steps 1 --val-every 0 \
	--checkpoint-every 0 -o "$tmp/k.model" "$CORPUS" 2>&1 | sed -n 's/.*kernel //p')"
for s in $SHAPES; do
	set -- $(shape "$s")
	L=$1 NH=$2 C=$3 T=$4 B=$5 OURSTEPS=$6 PTSTEPS=$7
	V=4096
	flops=$(echo "$L $C $T $B $V" | awk '{ N = 12 * $1 * $2 * $2 + $5 * $2;
		printf "%.0f", 6 * N * $4 * $3 + 6 * $1 * $2 * $3 * $3 * $4 }')
	: >"$tmp/ours"; : >"$tmp/ours.rss"; : >"$tmp/pt"; : >"$tmp/pt.rss"
	r=0
	while [ $r -lt "$RUNS" ]; do
		ours /usr/bin/time -f %M -o "$tmp/rss" \
			"$AD" train transformer -t "$tmp/v.bpe" \
			--layers "$L" --heads "$NH" --dim "$C" --context "$T" --batch "$B" \
			--steps "$OURSTEPS" --val-every 0 --checkpoint-every 0 --threads "$THREADS" \
			--precision "$PRECISION" --quiet --log "$tmp/log.csv" -o "$tmp/$s.model" "$CORPUS"
		awk -F, 'NR > 4 { print $6 }' "$tmp/log.csv" | median >>"$tmp/ours"
		cat "$tmp/rss" >>"$tmp/ours.rss"
		env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE /usr/bin/time -f %M -o "$tmp/rss" \
			"$PY" "$HERE/transformer_torch.py" "$L" "$NH" "$C" "$T" "$B" "$V" "$PTSTEPS" \
			"$THREADS" "$PRECISION" | sed -n 's/^tokens_per_s=\([0-9.]*\).*/\1/p' >>"$tmp/pt"
		cat "$tmp/rss" >>"$tmp/pt.rss"
		r=$((r + 1))
	done
	ours=$(median <"$tmp/ours"); pt=$(median <"$tmp/pt")
	ors=$(median <"$tmp/ours.rss"); prs=$(median <"$tmp/pt.rss")
	echo "$s $L $NH $C $T $B $flops $ours $pt $ors $prs $RUNS ${peak:-0}" | awk '{
		printf "shape %s (L=%d NH=%d C=%d T=%d B=%d): autodidact %.0f tokens/s, PyTorch %.0f tokens/s, ratio %.2fx; ",
			$1, $2, $3, $4, $5, $6, $8, $9, $8 / $9
		printf "%.1f vs %.1f GFLOP/s; peak RSS %.0f MB vs %.0f MB (medians of %d runs)\n",
			$7 * $8 / ($5 * $6) / 1e9, $7 * $9 / ($5 * $6) / 1e9, $10 / 1024, $11 / 1024, $12
		if ($13 > 0) printf "  autodidact at %.0f%% of the FMA peak\n", 100 * $7 * $8 / ($5 * $6) / 1e9 / $13 }'
done

# Generation at batch 1 with the key/value cache on shape M (T = 256):
# 'sample --timing' times, inside the program (loading the model and
# starting the process are not in it), each sample's tokens by position:
# 2-16, 17-32, ..., 513-1000 and 2-1000 (the first token, which reads the
# prompt, is left out). 4 samples of 1,000 tokens per run; the figure for
# each range is the median over all samples of all runs. The empty prompt
# is one token after BOS, so tokens 1-253 fit the cache; past them the
# cache slides (refilled with the last T/2 tokens by one forward pass)
# every T/2 tokens.
gen_rates() {
	ours "$AD" sample --timing --threads "$THREADS" -c 4 -n 1000 --seed "$1" --prompt "" \
		"$tmp/M.model" 2>&1 >/dev/null |
		sed -n 's/.*tokens\/s by position: //p' | tr -d , |
		awk '{ for (i = 1; i < NF; i += 2) print i, $i, $(i + 1) }'
}
if [ "$GEN" = 1 ] && [ -f "$tmp/M.model" ]; then
	# The bound: at batch 1 every token reads all 12.3 M weights (49 MB,
	# more than the last-level cache), so tokens/s <= memory read rate / 49 MB.
	# Measured before and after the generation runs: the host's memory
	# traffic moves it.
	bound() {
		[ -x "$tmp/fma_peak" ] || return 0
		OMP_NUM_THREADS=$THREADS "$tmp/fma_peak" read 49 | awk -v w="$1" '{
			printf "memory (%s): matrix-vector products read a 49 MB matrix at %.1f GB/s (median of 21 passes): generation on shape M, 49.3 MB of weights per token, is bounded by about %.0f tokens/s (an estimate: other work on the host moves it)\n",
				w, $1, $1 * 1e9 / 49.3e6 }'
	}
	bound before
	r=0
	while [ $r -lt "$RUNS" ]; do gen_rates $((r + 1)); r=$((r + 1)); done >"$tmp/gen"
	for i in $(cut -d' ' -f1 "$tmp/gen" | sort -n -u); do
		range=$(awk -v i="$i" '$1 == i { print $2; exit }' "$tmp/gen")
		awk -v i="$i" '$1 == i { print $3 }' "$tmp/gen" | median | awk -v r="$range" '{
			split(r, e, "-")
			printf "generation, shape M, batch 1, tokens %s%s: %.0f tokens/s\n", r,
				(e[1] == 2 && e[2] > 16 ? " (all but the first)" : e[1] > 253 ? " (the cache slides)" :
				e[2] > 253 ? " (the cache fills, then slides)" : ""), $1 }'
	done
	bound after
fi
