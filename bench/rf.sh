#!/bin/sh
# bench/rf.sh — the double-descent curve of the random-feature model with
# the minimum-norm readout (src/rf/) on real prose: trains a BPE vocabulary
# of VOCAB ids (default 1024) on the text with the build's autodidact,
# builds bench/rf_curve.c against the build's library and runs it over a
# grid of F/n (see the comment at the top of bench/rf_curve.c).
# usage: bench/rf.sh [BUILDDIR [rf_curve options...]]
#   CORPUS=FILE: the text (default: Pride and Prejudice from shared/corpora)
#   VOCAB=N: ids of the BPE vocabulary (default 1024)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-.}
test $# -gt 0 && shift
# The shared corpora sit beside the main repository (../shared) or beside
# a worktree's parent (../../shared).
shared=$src/../shared/corpora
test -d "$shared" || shared=$src/../../shared/corpora
corpus=${CORPUS:-$shared/pg1342_pride_and_prejudice_en.txt}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$build/autodidact" tokenize train --quiet -o "$tmp/vocab" --vocab-size "${VOCAB:-1024}" "$corpus"
cc -O2 -march=native -fopenmp -I"$src/src" -I"$build" "$src/bench/rf_curve.c" \
	"$build/libautodidact.a" $(pkg-config --libs libutf8proc libpcre2-8) -lm -o "$tmp/rf_curve"
"$tmp/rf_curve" -t "$tmp/vocab" "$@" "$corpus"
