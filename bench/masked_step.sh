#!/bin/sh
# bench/masked_step.sh — one training step (forward and backward) of the
# preset small with causal and with full attention, alternating in one
# process (bench/masked_step.c): the cost of the masked objective's
# attention, as a ratio that a shared machine's load does not skew.
# usage: bench/masked_step.sh [BUILDDIR]   (default: ./ ; needs a configured build)
#        env: REPS=41
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -march=native -fopenmp -I"$src/src" -I"$build" "$src/bench/masked_step.c" \
	"$build/libautodidact.a" $(pkg-config --libs libutf8proc libpcre2-8) -lm -o "$tmp/masked_step"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
"$tmp/masked_step" "${REPS:-41}"
