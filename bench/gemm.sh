#!/bin/sh
# bench/gemm.sh — the matrix product alone: GFLOP/s of nn_sgemm on the
# products of the transformer's shape M, one thread and all threads
# (medians of REPS timings; compare with bench/fma_peak.c's register-only
# peak, printed by bench/transformer.sh).
# usage: bench/gemm.sh [BUILDDIR]   (default: ./ ; needs a configured build)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -march=native -fopenmp -I"$src/src" -I"$build" "$src/bench/gemm.c" \
	"$build/libautodidact.a" $(pkg-config --libs libutf8proc libpcre2-8) -lm -o "$tmp/gemm"
"$tmp/gemm" "${REPS:-7}"
