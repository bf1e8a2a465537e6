#!/bin/sh
# bench/pretok.sh — pre-tokenization speed: the hand-written matcher of the
# built-in patterns (gpt2, gpt4, o200k) against PCRE2's JIT on the same
# pattern, alternating in one process, median of REPS runs each, on the
# shared corpora (English War and Peace, French Vingt mille lieues).
# usage: bench/pretok.sh [BUILDDIR]   (default: ./ ; needs a configured build)
# Environment: CORPORA (default ../shared/corpora beside the repository), REPS.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-.}
CORPORA=${CORPORA:-$src/../../shared/corpora}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -I"$src/src" -I"$build" "$src/bench/pretok.c" \
	"$build/libautodidact.a" $(pkg-config --libs libutf8proc libpcre2-8) -lm -o "$tmp/pretok"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: /cpu: /' || :
"$tmp/pretok" "${REPS:-9}" "$CORPORA/pg2600_war_and_peace_en.txt" "$CORPORA/pg5097_20000_lieues_fr.txt"
