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
#
# PyTorch is measured at its best on the CPU at hand. Its fp32 products go
# to OpenBLAS, whose speed depends on the kernel family it runs (its "core
# type"): left to itself, Debian's OpenBLAS picks by CPU model and falls back
# to SSE3 (Prescott) kernels on models it does not know, and an environment
# may force a type (OPENBLAS_CORETYPE, with OPENBLAS_L2_SIZE). So every run
# trains PyTorch once per core type of CORETYPES that fits this CPU ("unset"
# is OpenBLAS's own choice; a type whose instructions the flags of
# /proc/cpuinfo lack is skipped, and the script says so), with both
# variables cleared first and OPENBLAS_VERBOSE=2, under which OpenBLAS names
# the kernels it loaded ("Core: ..."; an OpenBLAS too old to know a type
# says "Core not found" and chooses by itself, and the line says that). The
# script prints each type's kernels and median, and takes the fastest as
# "PyTorch fp32 at its best" for the ratio. Also OMP_WAIT_POLICY PASSIVE,
# torch.set_num_threads(THREADS) and AdamW with foreach=True.
#
# Where the CPU has bf16 products (avx512_bf16 or amx_bf16 in /proc/cpuinfo)
# PyTorch also trains the same model and batch under torch.autocast("cpu",
# dtype=torch.bfloat16), with the fastest fp32 core type so far, in the same
# runs. Like is compared with like: the fp32 ratio above is fp32 against
# fp32; the bf16 figure is printed with our fp32 against it, labelled
# fp32-vs-bf16, and with our --precision bf16 run (in the same runs)
# against it and against PyTorch's fp32 at its best. Before the shapes,
# one training step of the first shape under DNNL_VERBOSE=1 counts how many
# of its products PyTorch ran as oneDNN matmuls on bf16 inputs, and with
# which kernel: on Debian's torch 1.13 all 3 (6 L + 1) of them (each
# forward product and its two backward ones) ran as brg:avx512_core_bf16 on
# the Zen 5 EPYC this was written on.
#
# autodidact runs with its own
# OpenMP policy (a short spin, GOMP_SPINCOUNT=10000, set by the program)
# unless OURS_WAIT names one: threads that spin at barriers for libgomp's
# default 300,000 iterations while their partner is descheduled cost 2-3x
# on a shared machine, and PASSIVE (no spin) pays a futex wake-up at every
# parallel region (measured here, shape S: 10,141 and 9,557 tokens/s with
# the program's policy, 7,425 and 8,983 with PASSIVE, alternating runs;
# generation, which opens ~30 parallel regions per token, suffers most).
# Needs: python3-torch, libopenblas0-pthread (without it PyTorch falls back
# to the reference BLAS), time. Runs under dash and mawk (tests/bench.sh
# runs it so, with the programs replaced by stubs).
#
# usage: bench/transformer.sh [path/to/autodidact] [corpus.txt]
#        env: RUNS=3 THREADS=2 SHAPES="S M" GEN=1 OURS_WAIT= (PASSIVE, ACTIVE)
#             CORETYPES="unset SkylakeX Cooperlake Haswell Zen SapphireRapids"
#             PY=/usr/bin/python3 CPUINFO=/proc/cpuinfo (for tests/bench.sh)
set -eu
AD=${1:-./autodidact}
CORPUS=${2:-}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
SHAPES=${SHAPES:-"S M"}
GEN=${GEN:-1}
OURS_WAIT=${OURS_WAIT:-}
CORETYPES=${CORETYPES:-"unset SkylakeX Cooperlake Haswell Zen SapphireRapids"}
CPUINFO=${CPUINFO:-/proc/cpuinfo}
# ours CMD...: run our program under the chosen OpenMP policy.
ours() {
	if [ -n "$OURS_WAIT" ]; then OMP_WAIT_POLICY=$OURS_WAIT "$@"; else "$@"; fi
}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-/usr/bin/python3}
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

# The CPU's flags, space-delimited at both ends for matching whole words.
flags=" $(sed -n 's/^flags[[:space:]]*: //p' "$CPUINFO" | head -n 1) "
# lacks FLAG...: print the first FLAG this CPU lacks; false if it has them all.
lacks() {
	for f in "$@"; do
		case $flags in *" $f "*) ;; *) echo "$f"; return 0 ;; esac
	done
	return 1
}
# The instructions each OpenBLAS core type's kernels use (OpenBLAS's
# kernel/x86_64/KERNEL.<TYPE> and its dynamic.c CPU checks): Zen's kernels
# are Haswell's with other block sizes, Cooperlake's add the bf16 products
# to SkylakeX's, and SapphireRapids' add AMX tiles to Cooperlake's.
needs() {
	case $1 in
	unset) ;;
	Haswell | Zen) echo avx2 fma ;;
	SkylakeX) echo avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl ;;
	Cooperlake) echo avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 ;;
	SapphireRapids) echo avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl avx512_bf16 amx_tile amx_bf16 ;;
	*) echo "bench/transformer.sh: unknown OpenBLAS core type '$1' in CORETYPES" \
	    "(known: unset SkylakeX Cooperlake Haswell Zen SapphireRapids)" >&2; exit 2 ;;
	esac
}
echo "machine: $(grep -m1 'model name' "$CPUINFO" | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $THREADS"
tried=
for ct in $CORETYPES; do
	needs "$ct" >/dev/null
	if miss=$(lacks $(needs "$ct")); then
		echo "OpenBLAS core type $ct: skipped, this CPU lacks $miss"
	else
		tried="$tried $ct"
	fi
done
bf16=
lacks avx512_bf16 >/dev/null && lacks amx_bf16 >/dev/null || bf16=1
[ -n "$tried" ] || { echo "bench/transformer.sh: no core type of CORETYPES fits this CPU; add unset" >&2; exit 2; }

# blas TYPE CMD...: run CMD with OpenBLAS on core type TYPE ("unset": its
# own choice), OPENBLAS_L2_SIZE cleared too (both may be set here to suit
# another program), and OPENBLAS_VERBOSE=2 so that it names its kernels.
blas() {
	_ct=$1
	shift
	if [ "$_ct" = unset ]; then
		env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_VERBOSE=2 "$@"
	else
		env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE="$_ct" OPENBLAS_VERBOSE=2 "$@"
	fi
}

# pytorch TYPE PRECISION FILE: one PyTorch run of the current shape on core
# type TYPE in PRECISION (fp32, bf16); appends its tokens/s to FILE and its
# peak RSS to FILE.rss, writes the kernels OpenBLAS named to FILE.core and,
# when OpenBLAS did not know TYPE, 1 to FILE.unknown.
pytorch() {
	if ! blas "$1" OMP_WAIT_POLICY=PASSIVE /usr/bin/time -f %M -o "$tmp/rss" \
	    "$PY" "$HERE/transformer_torch.py" "$L" "$NH" "$C" "$T" "$B" "$V" "$PTSTEPS" \
	    "$THREADS" "$2" >"$tmp/torch.out" 2>"$tmp/torch.err"; then
		echo "bench/transformer.sh: PyTorch ($2, core type $1) failed:" >&2
		tail -n 5 "$tmp/torch.err" >&2
		exit 1
	fi
	sed -n 's/^tokens_per_s=\([0-9.]*\).*/\1/p' "$tmp/torch.out" >>"$3"
	cat "$tmp/rss" >>"$3.rss"
	sed -n 's/^Core: //p' "$tmp/torch.err" | tail -n 1 >"$3.core"
	if grep -q '^Core not found' "$tmp/torch.err"; then echo 1 >"$3.unknown"; fi
}

# fastest PREFIX: the tried core type whose runs in PREFIX.<type> have the
# highest median (the first of the list on a tie or when none has a figure).
fastest() {
	for ct in $tried; do
		echo "$(median <"$1.$ct") $ct"
	done | awk 'NR == 1 { best = $2 } $1 + 0 > rate { rate = $1 + 0; best = $2 } END { print best }'
}

shape() {
	case $1 in
	S) echo "4 4 128 128 8 30 20" ;;
	M) echo "6 6 384 256 4 12 10" ;;
	esac
}

# The single-precision peak: a register-only FMA loop of our own, and the
# sgemm of numpy/OpenBLAS (on its own choice of core type) on 2048^3.
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
blas unset OPENBLAS_NUM_THREADS="$THREADS" "$PY" -c '
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

# Does PyTorch's autocast run its products in bf16 here? One training step
# of the first shape under DNNL_VERBOSE=1 (ONEDNN_VERBOSE=1 for oneDNN 3),
# where oneDNN prints a line per primitive it executes:
#   onednn_verbose,exec,cpu,matmul,<kernel>,<kind>,src_bf16:... wei_bf16:...,...
# (oneDNN 3 puts "primitive," before "exec"). The step has 3 (6 L + 1)
# products: forward, the four linear layers and the two attention products
# of each block and the logits; backward, two for each of them.
if [ -n "$bf16" ]; then
	set -- $(shape "${SHAPES%% *}")
	if ! DNNL_VERBOSE=1 ONEDNN_VERBOSE=1 blas "$(echo $tried | cut -d' ' -f1)" "$PY" \
	    "$HERE/transformer_torch.py" "$1" "$2" "$3" "$4" "$5" 4096 1 "$THREADS" bf16 \
	    >"$tmp/dnnl" 2>"$tmp/dnnl.err"; then
		echo "bench/transformer.sh: PyTorch under bf16 autocast failed:" >&2
		tail -n 5 "$tmp/dnnl.err" >&2
		exit 1
	fi
	awk -F, -v want=$((3 * (6 * $1 + 1))) -v shape="${SHAPES%% *}" '
	{ for (i = 2; i <= 3 && $i != "exec"; i++) ; }
	i <= 3 && $(i + 2) == "matmul" {
		n++
		if ($(i + 5) ~ /src_bf16/ && $(i + 5) ~ /wei_bf16/) {
			b++
			if (!($(i + 3) in seen)) { seen[$(i + 3)] = 1; kern = kern (kern == "" ? "" : ", ") $(i + 3) }
		}
	}
	END {
		printf "PyTorch bf16 check (shape %s, one training step, DNNL_VERBOSE=1): %d of its %d products ran as oneDNN bf16 matmuls", shape, b, want
		if (b > 0) printf " (%s)", kern
		if (n > b) printf "; %d other oneDNN matmuls", n - b
		if (b < want) printf "; the rest took another path (not oneDNN: maybe no bf16 instructions)"
		printf "\n"
	}' "$tmp/dnnl"
fi

for s in $SHAPES; do
	set -- $(shape "$s")
	L=$1 NH=$2 C=$3 T=$4 B=$5 OURSTEPS=$6 PTSTEPS=$7
	V=4096
	flops=$(echo "$L $C $T $B $V" | awk '{ N = 12 * $1 * $2 * $2 + $5 * $2;
		printf "%.0f", 6 * N * $4 * $3 + 6 * $1 * $2 * $3 * $3 * $4 }')
	: >"$tmp/ours"; : >"$tmp/ours.rss"; : >"$tmp/ours.bf16"
	for f in $tried bf16; do
		: >"$tmp/pt.$f"; : >"$tmp/pt.$f.rss"; rm -f "$tmp/pt.$f.unknown"
	done
	r=0
	while [ $r -lt "$RUNS" ]; do
		ours /usr/bin/time -f %M -o "$tmp/rss" \
			"$AD" train transformer -t "$tmp/v.bpe" \
			--layers "$L" --heads "$NH" --dim "$C" --context "$T" --batch "$B" \
			--steps "$OURSTEPS" --val-every 0 --checkpoint-every 0 --threads "$THREADS" \
			--quiet --log "$tmp/log.csv" -o "$tmp/$s.model" "$CORPUS"
		awk -F, 'NR > 4 { print $6 }' "$tmp/log.csv" | median >>"$tmp/ours"
		cat "$tmp/rss" >>"$tmp/ours.rss"
		if [ -n "$bf16" ]; then
			ours "$AD" train transformer -t "$tmp/v.bpe" \
				--layers "$L" --heads "$NH" --dim "$C" --context "$T" --batch "$B" \
				--steps "$OURSTEPS" --val-every 0 --checkpoint-every 0 --threads "$THREADS" \
				--precision bf16 --quiet --log "$tmp/log.csv" -o "$tmp/$s.bf16.model" "$CORPUS"
			awk -F, 'NR > 4 { print $6 }' "$tmp/log.csv" | median >>"$tmp/ours.bf16"
		fi
		for ct in $tried; do pytorch "$ct" fp32 "$tmp/pt.$ct"; done
		# bf16 on the fastest fp32 core type so far: its products go to
		# oneDNN, but what autocast leaves in fp32 may still call OpenBLAS.
		[ -z "$bf16" ] || pytorch "$(fastest "$tmp/pt")" bf16 "$tmp/pt.bf16"
		r=$((r + 1))
	done
	for ct in $tried; do
		core=$(cat "$tmp/pt.$ct.core")
		echo "$s $ct ${core:-?} $(median <"$tmp/pt.$ct") $RUNS" | awk '{
			printf "shape %s: PyTorch fp32, OPENBLAS_CORETYPE %s: OpenBLAS kernels %s, %.0f tokens/s (median of %d runs)",
				$1, $2, $3, $4, $5 }'
		if [ -f "$tmp/pt.$ct.unknown" ]; then
			echo " (this OpenBLAS does not know $ct; it chose by itself)"
		else
			echo
		fi
	done
	best=$(fastest "$tmp/pt")
	core=$(cat "$tmp/pt.$best.core")
	ours=$(median <"$tmp/ours"); pt=$(median <"$tmp/pt.$best")
	ors=$(median <"$tmp/ours.rss"); prs=$(median <"$tmp/pt.$best.rss")
	echo "$s $L $NH $C $T $B $flops $ours $pt $ors $prs $RUNS ${peak:-0} $best ${core:-?}" | awk '{
		printf "shape %s (L=%d NH=%d C=%d T=%d B=%d): autodidact %.0f tokens/s, PyTorch fp32 at its best %.0f tokens/s (OPENBLAS_CORETYPE %s, kernels %s), ratio %.2fx; ",
			$1, $2, $3, $4, $5, $6, $8, $9, $14, $15, $8 / $9
		printf "%.1f vs %.1f GFLOP/s; peak RSS %.0f MB vs %.0f MB (medians of %d runs)\n",
			$7 * $8 / ($5 * $6) / 1e9, $7 * $9 / ($5 * $6) / 1e9, $10 / 1024, $11 / 1024, $12
		if ($13 > 0) printf "  autodidact at %.0f%% of the FMA peak\n", 100 * $7 * $8 / ($5 * $6) / 1e9 / $13 }'
	if [ -n "$bf16" ]; then
		echo "$s $flops $ours $(median <"$tmp/pt.bf16") $(median <"$tmp/pt.bf16.rss") $RUNS $T $B" | awk '{
			printf "shape %s: PyTorch bf16 (torch.autocast) %.0f tokens/s, %.1f GFLOP/s, peak RSS %.0f MB; ",
				$1, $4, $2 * $4 / ($7 * $8) / 1e9, $5 / 1024
			printf "autodidact fp32 / PyTorch bf16 = %.2fx (fp32 against bf16, not like for like; medians of %d runs)\n",
				$3 / $4, $6 }'
		echo "$s $flops $(median <"$tmp/ours.bf16") $(median <"$tmp/pt.bf16") $pt $RUNS $T $B" | awk '{
			printf "shape %s: autodidact bf16 (--precision bf16) %.0f tokens/s, %.1f GFLOP/s; ",
				$1, $3, $2 * $3 / ($7 * $8) / 1e9
			printf "/ PyTorch bf16 = %.2fx, / PyTorch fp32 at its best = %.2fx (medians of %d runs)\n",
				$3 / $4, $3 / $5, $6 }'
	fi
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
	# $2: the precision (bf16: the weights are read from a bf16 copy).
	ours "$AD" sample --timing --threads "$THREADS" -c 4 -n 1000 --seed "$1" \
		--precision "${2:-fp32}" --prompt "" "$tmp/M.model" 2>&1 >/dev/null |
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
	# Where the CPU has bf16 products, a run in bf16 follows each fp32 run
	# (alternating, so that both see the same load).
	: >"$tmp/gen.bf16"
	while [ $r -lt "$RUNS" ]; do
		gen_rates $((r + 1)) >>"$tmp/gen"
		[ -n "$bf16" ] && gen_rates $((r + 1)) bf16 >>"$tmp/gen.bf16"
		r=$((r + 1))
	done
	for i in $(cut -d' ' -f1 "$tmp/gen" | sort -n -u); do
		range=$(awk -v i="$i" '$1 == i { print $2; exit }' "$tmp/gen")
		# (An if chain, not nested ?: split over lines: POSIX awk, and so
		# mawk, allows no newline after ? or :.)
		awk -v i="$i" '$1 == i { print $3 }' "$tmp/gen" | median | awk -v r="$range" '{
			split(r, e, "-")
			note = ""
			if (e[1] == 2 && e[2] > 16) note = " (all but the first)"
			else if (e[1] > 253) note = " (the cache slides)"
			else if (e[2] > 253) note = " (the cache fills, then slides)"
			printf "generation, shape M, batch 1, tokens %s%s: %.0f tokens/s\n", r, note, $1 }'
	done
	# bf16 weights (sample --precision bf16), over all but the first token.
	if [ -s "$tmp/gen.bf16" ]; then
		i=$(awk '$2 ~ /^2-/ { i = $1 } END { print i }' "$tmp/gen")
		f=$(awk -v i="$i" '$1 == i { print $3 }' "$tmp/gen" | median)
		awk -v i="$i" '$1 == i { print $3 }' "$tmp/gen.bf16" | median | awk -v f="$f" -v r="$(awk -v i="$i" '$1 == i { print $2; exit }' "$tmp/gen")" '{
			printf "generation in bf16 (--precision bf16: bf16 weights), shape M, batch 1, tokens %s: %.0f tokens/s, %.2fx fp32 (medians of alternating runs)\n", r, $1, $1 / f }'
	fi
	bound after
fi
