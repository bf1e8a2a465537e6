#!/bin/sh
# bench/knn.sh — the kNN-LM's search speed against the machine's peak, in
# one run: bench/fma_peak.c's register-only FMA peak (AVX-512, all threads),
# then knn_search on STORE for a window of 64 queries (a small model's
# scoring window keeps T/2 = 64 rows) and for 512, then the peak again.
# usage: bench/knn.sh STORE [BUILDDIR]   (needs a configured build)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
store=$1
build=${2:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O3 -march=native -fopenmp "$src/bench/fma_peak.c" -o "$tmp/peak"
cc -O2 -march=native -fopenmp -I"$src/src" -I"$build" "$src/bench/knn_search.c" \
	"$build/libautodidact.a" $(pkg-config --libs libutf8proc libpcre2-8) -lm -o "$tmp/search"
echo "peak: $("$tmp/peak" avx512)"
"$tmp/search" "$store" 64 16 "${REPS:-9}"
"$tmp/search" "$store" 512 16 "${REPS:-9}"
echo "peak: $("$tmp/peak" avx512)"
