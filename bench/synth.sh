#!/bin/sh
# bench/synth.sh — throughput of 'autodidact synth' (target: >= 10 MB/s).
# There is no peer for this generator, so the figure is absolute: the median
# of 5 runs writing 200 MB, in MB/s.
# usage: bench/synth.sh [path/to/autodidact]
set -eu
AD=${1:-./autodidact}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in 1 2 3 4 5; do
	s=$(date +%s.%N)
	"$AD" synth --quiet --seed "$i" --bytes 200000000 -o "$tmp/c.txt"
	e=$(date +%s.%N)
	echo "$s $e $(wc -c <"$tmp/c.txt")"
done | awk '{ print $3 / ($2 - $1) / 1e6 }' | sort -n | awk '{ r[NR] = $1 } END {
	printf "synth: median %.0f MB/s over %d runs (min %.0f, max %.0f)\n", r[int((NR+1)/2)], NR, r[1], r[NR] }'
