#!/bin/sh
# build.sh — build every fuzz harness as a libFuzzer binary (clang, with
# AddressSanitizer and UndefinedBehaviorSanitizer), instrumenting the whole
# library, and optionally run them.
#
#   tests/fuzz/build.sh OUTDIR                 build only
#   tests/fuzz/build.sh OUTDIR SECONDS [NAME]  build, then fuzz each harness
#                                              (or NAME) for SECONDS from
#                                              tests/fuzz/corpus/NAME; new inputs
#                                              go to OUTDIR/corpus/NAME, crashes
#                                              to OUTDIR/crashes (copy a fixed
#                                              crash into tests/fuzz/corpus/NAME
#                                              to keep it as a regression test)
#
# Needs clang and its runtime (Debian: clang, libclang-rt-14-dev); config.h
# comes from an existing build directory given as BUILDDIR (default: OUTDIR's
# parent must hold one, or set BUILDDIR).
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: build.sh OUTDIR [SECONDS [NAME]]}
secs=${2:-0}
only=${3:-}
build=${BUILDDIR:-$(pwd)}
[ -f "$build/config.h" ] || { echo "build.sh: no config.h in $build (set BUILDDIR to a configured build directory)" >&2; exit 1; }
mkdir -p "$out"
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -I$src/src -I$build $(pkg-config --cflags libutf8proc libpcre2-8)"
libs="$(pkg-config --libs libutf8proc libpcre2-8) -lm"
# zlib when the build uses it (gzip'ed word vectors, src/probe/vectors.c).
if grep -q '^#define HAVE_ZLIB 1' "$build/config.h"; then libs="$libs -lz"; fi
lib_srcs=$(find "$src/src" -name '*.c' ! -path '*/cli/main.c' | sort)
# The library once, as objects.
mkdir -p "$out/obj"
objs=""
for f in $lib_srcs; do
	o="$out/obj/$(echo "${f#$src/src/}" | tr / _ | sed 's/\.c$/.o/')"
	if [ ! -f "$o" ] || [ "$f" -nt "$o" ]; then
		clang $cflags -fopenmp -c "$f" -o "$o"
	fi
	objs="$objs $o"
done
for h in "$src"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$h" .c | sed 's/^fuzz_//')
	[ -z "$only" ] || [ "$only" = "$name" ] || continue
	clang $cflags -fsanitize=fuzzer -fopenmp "$h" $objs $libs -o "$out/fuzz_$name"
	echo "built $out/fuzz_$name"
	if [ "$secs" -gt 0 ]; then
		mkdir -p "$out/corpus/$name" "$out/crashes"
		"$out/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix="$out/crashes/${name}-" \
			"$out/corpus/$name" "$src/tests/fuzz/corpus/$name" 2>&1 |
			grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|(DONE|INITED).*cov:|SUMMARY' |
			tail -n 5
	fi
done
