#!/bin/sh
# bench/masked.sh — training speed of the masked objective against the causal
# one on the same model: 'autodidact train transformer --preset small' (4
# layers, 4 heads, C=128, T=128, B=8) on a 4,096-token BPE vocabulary, runs
# alternating causal, masked, causal, ... so that a change in the machine's
# load falls on both. A run's figure is the median tokens/s (positions of the
# batch per second, the log's tokens_per_s) of its steps after the first
# three; the script prints the median over RUNS runs of each and their ratio.
# The masked objective does the same work per token except in attention,
# where full attention computes whole T x T products where causal attention
# skips the upper triangle.
#
# usage: bench/masked.sh path/to/autodidact corpus.txt
#        (the README's figure: /work/shared/corpora/pg1342_pride_and_prejudice_en.txt)
#        env: RUNS=3 STEPS=60 THREADS=2
set -eu
[ $# -eq 2 ] || { echo "usage: bench/masked.sh path/to/autodidact corpus.txt" >&2; exit 2; }
AD=$1
CORPUS=$2
RUNS=${RUNS:-3}
STEPS=${STEPS:-60}
THREADS=${THREADS:-2}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$AD" tokenize train --quiet --vocab-size 4096 -o "$tmp/v.bpe" "$CORPUS"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print v[int((NR + 1) / 2)] }'; }

# run OBJECTIVE: one run's median tokens/s over its steps after the third.
run() {
	"$AD" train transformer -t "$tmp/v.bpe" --preset small --steps "$STEPS" \
		--threads "$THREADS" --val-every 0 --checkpoint-every 0 --quiet \
		--objective "$1" --log "$tmp/log.csv" -o "$tmp/m.model" "$CORPUS"
	awk -F, 'NR > 4 { print $6 }' "$tmp/log.csv" | median
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; threads $THREADS"
: >"$tmp/causal"
: >"$tmp/masked"
i=0
while [ $i -lt "$RUNS" ]; do
	run causal >>"$tmp/causal"
	run masked >>"$tmp/masked"
	i=$((i + 1))
done
c=$(median <"$tmp/causal")
m=$(median <"$tmp/masked")
echo "causal: $(tr '\n' ' ' <"$tmp/causal")tokens/s, median $c"
echo "masked: $(tr '\n' ' ' <"$tmp/masked")tokens/s, median $m"
echo "$m $c" | awk '{ printf "masked / causal: %.3f\n", $1 / $2 }'
