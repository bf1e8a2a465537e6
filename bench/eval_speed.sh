#!/bin/sh
# bench/eval_speed.sh — tokens per second of 'autodidact eval' on a model,
# for two builds (or two settings) measured alternately in one run, so
# that a shared machine's load falls on both alike: RUNS rounds of A then
# B, the median of each, and their ratio B/A.
#
# usage: bench/eval_speed.sh MODEL TEXT 'COMMAND-A' 'COMMAND-B'
#        each COMMAND is the eval command line before the model, e.g.
#        './old/autodidact eval' or './autodidact eval --precision bf16'
#        env: RUNS=5
set -eu
[ $# -eq 4 ] || { echo "usage: $0 MODEL TEXT 'COMMAND-A' 'COMMAND-B'" >&2; exit 2; }
MODEL=$1 TEXT=$2 A=$3 B=$4
RUNS=${RUNS:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# One run: the tokens scored (from --json) over the wall-clock seconds.
rate() {
	s0=$(date +%s.%N)
	$1 --quiet --json "$MODEL" "$TEXT" >"$tmp/out"
	s1=$(date +%s.%N)
	tok=$(sed -n 's/.*"tokens": *\([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
	nats=$(sed -n 's/.*"nats": *\([0-9.eE+-]*\).*/\1/p' "$tmp/out" | head -n 1)
	echo "$tok $s0 $s1 $nats" | awk '{ printf "%.1f %s\n", $1 / ($3 - $2), $4 }'
}
: >"$tmp/a"
: >"$tmp/b"
r=0
while [ "$r" -lt "$RUNS" ]; do
	rate "$A" >>"$tmp/a"
	rate "$B" >>"$tmp/b"
	r=$((r + 1))
done
med() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ma=$(med "$tmp/a")
mb=$(med "$tmp/b")
echo "A: $A: $(awk '{ printf "%s ", $1 }' "$tmp/a")tokens/s, median $ma (nats $(head -n 1 "$tmp/a" | cut -d' ' -f2))"
echo "B: $B: $(awk '{ printf "%s ", $1 }' "$tmp/b")tokens/s, median $mb (nats $(head -n 1 "$tmp/b" | cut -d' ' -f2))"
echo "$ma $mb" | awk '{ printf "B/A: %.2fx\n", $2 / $1 }'
