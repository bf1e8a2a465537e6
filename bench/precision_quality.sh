#!/bin/sh
# bench/precision_quality.sh — does training in bf16 cost quality? Trains
# the same transformer (same seed, same steps, same batches) with
# --precision fp32 and with --precision bf16, and evaluates both on the
# same held-out text in both precisions ('autodidact eval --precision'),
# printing held-out bits per byte and the relative difference.
#
# The text is the corpus files joined; its last 5% of lines are held out
# (val.txt), the rest is trained on (train.txt); the vocabulary (4,096
# tokens) is learned on train.txt.
#
# usage: bench/precision_quality.sh [path/to/autodidact] [corpus files...]
#        env: STEPS=1500 PRESET=small THREADS=2 OUT=dir
set -eu
AD=${1:-./autodidact}
[ $# -gt 0 ] && shift
HERE=$(cd "$(dirname "$0")" && pwd)
if [ $# -eq 0 ]; then
	set -- "$HERE"/../../shared/corpora/pg1342_pride_and_prejudice_en.txt
fi
STEPS=${STEPS:-1500}
PRESET=${PRESET:-small}
THREADS=${THREADS:-2}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
cat "$@" >"$OUT/all.txt"
lines=$(wc -l <"$OUT/all.txt")
keep=$((lines - lines / 20))
head -n "$keep" "$OUT/all.txt" >"$OUT/train.txt"
tail -n +"$((keep + 1))" "$OUT/all.txt" >"$OUT/val.txt"
echo "corpus: $* -> train $(wc -c <"$OUT/train.txt") bytes, held out $(wc -c <"$OUT/val.txt") bytes"
"$AD" tokenize train --quiet --vocab-size 4096 -o "$OUT/v.bpe" "$OUT/train.txt"
for p in fp32 bf16; do
	s0=$(date +%s)
	"$AD" train transformer --quiet -t "$OUT/v.bpe" --preset "$PRESET" --steps "$STEPS" \
	    --threads "$THREADS" --precision "$p" --val-every 0 --checkpoint-every 0 \
	    --val "$OUT/val.txt" -o "$OUT/$p.model" "$OUT/train.txt"
	s1=$(date +%s)
	echo "trained $PRESET in $p: $STEPS steps, $((s1 - s0)) s"
done
bpb() {
	"$AD" eval --quiet --json --precision "$2" "$1" "$OUT/val.txt" |
	    sed -n 's/.*"bits_per_byte": *\([0-9.eE+-]*\).*/\1/p' | head -n 1
}
echo "held-out bits per byte (rows: trained in; columns: evaluated in)"
echo "trained  eval-fp32  eval-bf16"
for p in fp32 bf16; do
	echo "$p $(bpb "$OUT/$p.model" fp32) $(bpb "$OUT/$p.model" bf16)"
done | tee "$OUT/bpb.txt" | awk '{ printf "%-8s %9s  %9s\n", $1, $2, $3 }'
awk 'NR == 1 { f = $2 } NR == 2 { b = $2 }
END { printf "bf16 training vs fp32 (both evaluated in fp32): %+.3f%%\n", 100 * (b - f) / f }' \
    "$OUT/bpb.txt"
