#!/bin/sh
# bench/calib.sh — what 'eval --calibration' costs, and the calibration it
# finds, on Pride and Prejudice: a 1024-id BPE trained on its first 600 kB,
# a 4-gram and the small transformer (30 steps: its speed, not its quality)
# on the same, scored on its last 60 kB with one thread. For each model,
# plain eval and eval --calibration alternate RUNS times (default 5) in one
# loop; it prints the median wall-clock of each and their ratio, then the
# calibration of each model.
# usage: bench/calib.sh [path/to/autodidact] [corpus.txt]
set -eu
AD=${1:-./autodidact}
C=${2:-/work/shared/corpora/pg1342_pride_and_prejudice_en.txt}
RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
head -c 600000 "$C" >"$tmp/train.txt"
tail -c 60000 "$C" >"$tmp/val.txt"
"$AD" tokenize train --quiet -o "$tmp/v.bpe" --vocab-size 1024 "$tmp/train.txt"
"$AD" train ngram --quiet -t "$tmp/v.bpe" --order 4 -o "$tmp/m4.bin" "$tmp/train.txt"
"$AD" train transformer --quiet -t "$tmp/v.bpe" --preset small --steps 30 \
	-o "$tmp/small.bin" "$tmp/train.txt"
secs() {
	s=$(date +%s.%N)
	"$AD" eval --quiet --threads 1 "$@" >/dev/null
	e=$(date +%s.%N)
	echo "$e - $s" | bc
}
med() { sort -n | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }'; }
for m in m4 small; do
	: >"$tmp/plain" && : >"$tmp/calib"
	i=0
	while [ $i -lt "$RUNS" ]; do
		secs "$tmp/$m.bin" "$tmp/val.txt" >>"$tmp/plain"
		secs --calibration "$tmp/$m.bin" "$tmp/val.txt" >>"$tmp/calib"
		i=$((i + 1))
	done
	p=$(med <"$tmp/plain")
	c=$(med <"$tmp/calib")
	echo "$m: eval $p s, eval --calibration $c s, ratio $(echo "scale=2; $c / $p" | bc)"
done
for m in m4 small; do
	"$AD" eval --quiet --calibration "$tmp/$m.bin" "$tmp/val.txt" | tail -n 2
done
