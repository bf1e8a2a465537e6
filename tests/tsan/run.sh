#!/bin/sh
# run.sh — the race check of the threaded kernels: builds the program and
# every test with ThreadSanitizer (clang -fsanitize=thread) against LLVM's
# OpenMP runtime with its Archer tool (which tells ThreadSanitizer about
# OpenMP's barriers, reductions, locks and tasks), runs the tests, and fails
# on any ThreadSanitizer report, on any failing test, or when some parallel
# region in src/ never ran with two or more threads (so was not checked).
#
#   tests/tsan/run.sh [--quick] [BUILDDIR]
#
# BUILDDIR (default: ./build-tsan) is configured once, out of tree, with
# CC=clang CFLAGS='-fsanitize=thread -g -O1'; make rebuilds what changed.
#
# What runs, each process under ThreadSanitizer:
#  - tests/tsan/kernels.c (every transformer kernel, on shapes that put
#    every parallel region of src/nn/ on all threads), and the commands that
#    train and apply a tokenizer, count n-grams and score text, on a 1.1 MB
#    synthetic corpus: each with 1 thread and with each thread count, the
#    results compared bit for bit (they must not depend on the thread count);
#  - unless --quick, the test suite: all of it with OMP_NUM_THREADS=2, then
#    the tests that reach threaded code again with 4 (more threads than
#    cores: other interleavings).
# AD_TSAN_THREADS overrides the thread counts (default "2 4", --quick "2");
# AD_TSAN_TESTS the tests of the passes after the first.
#
# Which process entered which parallel region, how often and with how many
# threads, is counted by an OMPT tool (tests/tsan/regions.c) and printed at
# the end; every report (reports/NAME-tN.PID), log and count is kept in
# BUILDDIR/tsan-out/.
#
# The checker is checked first (tests/tsan/canary.c): a planted race must be
# reported, correct OpenMP synchronisation must not be, and Archer must be
# loaded.
#
# Needs clang, LLVM's OpenMP runtime with Archer and the OMPT headers
# (Debian/Ubuntu: apt-get install clang libomp-dev), and what the build
# needs. Exit status: 0 clean, 1 races or failures, 2 cannot run.
set -eu
src=$(cd "$(dirname "$0")/../.." && pwd)
quick=no
if [ "${1:-}" = --quick ]; then
	quick=yes
	shift
fi
build=${1:-$(pwd)/build-tsan}
CC=${TSAN_CC:-clang}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
threads=${AD_TSAN_THREADS:-2 4}
[ "$quick" = yes ] && [ -z "${AD_TSAN_THREADS:-}" ] && threads=2
# The tests that reach threaded code (see the table this script prints); the
# others run in the first pass only.
threaded=${AD_TSAN_TESTS:-"tests/check_nn tests/check_bpe tests/check_lm tests/check_ngram tests/check_probe
	tests/nn.sh tests/tokenize.sh tests/ngram.sh tests/compare.sh tests/probe.sh tests/sweep.sh"}
threaded=$(echo $threaded)

die() {
	echo "tsan/run.sh: $*" >&2
	exit 2
}
t0=$(date +%s)

# ---- the toolchain ----------------------------------------------------------
command -v "$CC" >/dev/null 2>&1 ||
	die "no $CC: install clang and LLVM's OpenMP runtime (Debian/Ubuntu: apt-get install clang libomp-dev)"
llvmlib=$(cd "$("$CC" -print-resource-dir)/../.." && pwd)
archer=$llvmlib/libarcher.so
[ -f "$archer" ] || die "no $archer: install LLVM's OpenMP runtime with Archer (Debian/Ubuntu: apt-get install libomp-dev)"
[ -f "$llvmlib/../include/ompt-multiplex.h" ] ||
	die "no $llvmlib/../include/ompt-multiplex.h (Debian/Ubuntu: apt-get install libomp-dev)"
symbolizer=$llvmlib/../bin/llvm-symbolizer
[ -x "$symbolizer" ] || symbolizer=$(command -v llvm-symbolizer) || die "no llvm-symbolizer (apt-get install llvm)"
[ -x "$src/configure" ] || die "no $src/configure: run 'autoreconf -fi' in $src first"

# ---- the build --------------------------------------------------------------
mkdir -p "$build"
build=$(cd "$build" && pwd)
if [ ! -f "$build/Makefile" ]; then
	echo "tsan/run.sh: configuring $build"
	(cd "$build" && "$src/configure" -q CC="$CC" CFLAGS='-fsanitize=thread -g -O1' \
		LDFLAGS='-fsanitize=thread') || die "configure failed in $build"
fi
echo "tsan/run.sh: building in $build"
(cd "$build" && make -j"$jobs") >"$build/tsan-build.log" 2>&1 ||
	{ tail -n 30 "$build/tsan-build.log" >&2; die "the build failed (log: $build/tsan-build.log)"; }
ldd "$build/autodidact" | grep -q 'libomp\.so' ||
	die "$build/autodidact does not use LLVM's OpenMP runtime (libomp); was it configured with CC=clang?"
tools=$build/tsan-tools
mkdir -p "$tools"
"$CC" -shared -fPIC -g -O1 -Wall -Wextra -I"$llvmlib/../include" "$src/tests/tsan/regions.c" \
	-o "$tools/libregions.so" || die "cannot build the OMPT tool"
"$CC" -std=c11 -fsanitize=thread -fopenmp -g -O1 -Wall -Wextra "$src/tests/tsan/canary.c" \
	-o "$tools/canary" || die "cannot build the canary"

out=$build/tsan-out
rm -rf "$out"
mkdir -p "$out/reports" "$out/regions"
AD_TSAN_DIR=$out
OMP_TOOL_LIBRARIES=$tools/libregions.so
AD_OMPT_CLIENT=$archer
TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=0 exitcode=66 second_deadlock_stack=1 external_symbolizer_path=$symbolizer"
# main.c re-executes the program once unless this is set (a libgomp tuning,
# no effect on LLVM's runtime): one ThreadSanitizer start-up per command.
GOMP_SPINCOUNT=10000
# ThreadSanitizer runs code 5 to 15 times slower: Check's per-test time
# limits grow to match (four times the 10 'make check' gives them, for a
# busy machine: a test that timed out here says nothing about races).
CK_TIMEOUT_MULTIPLIER=${AD_TSAN_TIMEOUT_MULTIPLIER:-40}
export AD_TSAN_DIR OMP_TOOL_LIBRARIES AD_OMPT_CLIENT TSAN_OPTIONS GOMP_SPINCOUNT CK_TIMEOUT_MULTIPLIER

# ---- the check of the checker -------------------------------------------------
OMP_NUM_THREADS=2 ARCHER_OPTIONS=verbose=1 AD_OMPT_REGIONS_OUT=$out/canary.regions \
	TSAN_OPTIONS="$TSAN_OPTIONS log_path=$out/reports-canary-clean" \
	"$tools/canary" clean >"$out/canary-clean.out" 2>&1 || true
grep -q 'Archer detected' "$out/canary-clean.out" ||
	die "Archer was not loaded ($archer through $tools/libregions.so): see $out/canary-clean.out"
set -- $(grep -v Archer "$out/canary-clean.out")
[ $# -eq 2 ] && [ "$1" = "$2" ] || die "the canary computed a wrong sum: see $out/canary-clean.out"
if ls "$out"/reports-canary-clean.* >/dev/null 2>&1; then
	cat "$out"/reports-canary-clean.* >&2
	die "ThreadSanitizer reports a race in correct OpenMP code (the canary): the check would cry wolf"
fi
awk '$5 >= 8 { n++ } END { exit n == 1 ? 0 : 1 }' "$out/canary.regions" 2>/dev/null ||
	die "the OMPT tool did not see the canary's regions run on 2 threads: see $out/canary.regions"
OMP_NUM_THREADS=2 TSAN_OPTIONS="$TSAN_OPTIONS log_path=$out/reports-canary-race" \
	"$tools/canary" race >/dev/null 2>&1 || true
grep -q 'canary.c:' "$out"/reports-canary-race.* 2>/dev/null ||
	die "ThreadSanitizer did not report the canary's planted race: the check could not fail"
echo "tsan/run.sh: canary: the planted race is reported, correct code is not, Archer is loaded"

# resolve: the code addresses in the region counts not yet resolved, as
# source places, while the files counted are still those built (the next
# 'make check' may rebuild them). Each line of resolved/NAME:
#   FUNCTION FILE:LINE OMPFILE:OMPLINE TEAMS SERIAL MAXTEAM
# the innermost function and place of the code that opened the region, and
# the place of the outermost frame in the region's own outlined code around
# the start of its first loop (the line of its `parallel for` pragma), or -.
resolve() {
	mkdir -p "$out/resolved"
	new=""
	for f in "$out"/regions/*; do
		[ -f "$f" ] && [ ! -f "$out/resolved/${f##*/}" ] && new="$new $f"
	done
	[ -n "$new" ] || return 0
	cat $new | awk '$1 != "OVERFLOW" { print $1, $2; print $3, $4 }' |
		grep -v '^- ' | sort -u >"$out/addrs" || true
	for mod in $(awk '{ print $1 }' "$out/addrs" | sort -u); do
		awk -v m="$mod" '$1 == m { print $2 }' "$out/addrs" >"$out/offs"
		while read -r off; do printf '0x%x\n' $((off - 1)); done <"$out/offs" |
			"$symbolizer" --obj="$mod" |
			awk 'BEGIN { RS = ""; FS = "\n" } {
				omp = "-"
				for (i = 1; i < NF; i += 2) if ($i ~ /^\.omp_outlined/) omp = $(i + 1)
				loc = $2; sub(/:[0-9]+$/, "", loc); sub(/.*\/src\//, "src/", loc)
				sub(/:[0-9]+$/, "", omp); sub(/.*\/src\//, "src/", omp)
				print $1, loc, omp }' >"$out/syms"
		paste -d ' ' "$out/offs" "$out/syms" | sed "s|^|$mod |"
	done >"$out/addr2line"
	for f in $new; do
		awk 'FILENAME ~ /addr2line$/ { k = $1 " " $2; sym[k] = $3; loc[k] = $4; omp[k] = $5; next }
			$1 == "OVERFLOW" { print "OVERFLOW"; next }
			{
				fork = $1 " " $2; work = $3 " " $4
				print (fork in sym ? sym[fork] " " loc[fork] : "? ?"), \
				    (work in omp ? omp[work] : "-"), $5, $6, $7
			}' "$out/addr2line" "$f" >"$out/resolved/${f##*/}"
	done
}

# ---- the tests ----------------------------------------------------------------
status=0
first=yes
[ "$quick" = yes ] && passes="" || passes=$threads
for n in $passes; do
	if [ "$first" = yes ]; then
		set -- # the whole suite
		what="every test"
	else
		set -- TESTS="$threaded"
		what="the threaded tests"
	fi
	first=no
	echo "tsan/run.sh: OMP_NUM_THREADS=$n: $what"
	s=$(date +%s)
	(cd "$build" && OMP_NUM_THREADS=$n make -k -j"$jobs" check "$@" \
		LOG_COMPILER="sh $src/tests/tsan/wrap.sh" \
		SH_LOG_COMPILER="sh $src/tests/tsan/wrap.sh sh") >"$out/check-t$n.log" 2>&1 || status=1
	grep -E '^(FAIL|ERROR|XPASS):' "$out/check-t$n.log" || true
	grep -E '^# (TOTAL|PASS|FAIL|ERROR):' "$out/check-t$n.log" | tr '\n' ' '
	echo "($(($(date +%s) - s)) s)"
	# keep the logs of this pass
	mkdir -p "$out/logs-t$n"
	(cd "$build" && find tests -name '*.log' -exec cp {} "$out/logs-t$n/" \;)
	resolve
done

# ---- the kernels at full size; the tokenizer and n-grams on 1 MB -----------------
# Races, and results that change with the thread count: each run with N
# threads must give the bits of the one-thread run.
# with_env NAME CMD...: run CMD with its reports and region counts under NAME
# (66: ThreadSanitizer reported)
with_env() {
	name=$1
	shift
	wrc=0
	TSAN_OPTIONS="$TSAN_OPTIONS log_path=$out/reports/$name" \
		AD_OMPT_REGIONS_OUT=$out/regions/$name "$@" || wrc=$?
	[ "$wrc" -eq 0 ] || echo "tsan/run.sh: FAIL ($name): $* exited $wrc" >&2
	return "$wrc"
}
# Built and run after the tests: 'make check' rebuilds what others changed,
# and the code addresses counted must be those of the files symbolized.
(cd "$build" && make -j"$jobs") >>"$build/tsan-build.log" 2>&1 || die "the build failed"
"$CC" -std=c11 -fsanitize=thread -fopenmp -g -O1 -Wall -Wextra -I"$src/src" -I"$build" \
	"$src/tests/tsan/kernels.c" "$build/libautodidact.a" \
	$(pkg-config --libs libutf8proc libpcre2-8) -lm -o "$tools/kernels" ||
	die "cannot build tests/tsan/kernels.c"
s=$(date +%s)
wfail=0
w=$out/work
mkdir -p "$w"
rc=0
with_env kernels "$tools/kernels" $threads >"$w/kernels.out" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
	wfail=1
	echo "tsan/run.sh: FAIL: tests/tsan/kernels.c exited $rc (66: ThreadSanitizer reported):"
	sed 's/^/  /' "$w/kernels.out"
fi
AD=$build/autodidact
# 1.1 MB: a stream of 1 MiB or more is encoded in parallel (bpe/bpe_encode.c),
# and it makes several n-gram counting blocks of 65536 tokens (ngram/count.c).
with_env workload-t1 "$AD" synth --quiet --seed 3 --bytes 1100000 -o "$w/c.txt" || wfail=1
for n in 1 $threads; do
	with_env "workload-t$n" "$AD" tokenize train --quiet --vocab-size 400 --threads "$n" \
		-o "$w/vocab-$n" "$w/c.txt" || wfail=1
	with_env "workload-t$n" "$AD" tokenize encode --quiet -t "$w/vocab-1" --threads "$n" \
		-o "$w/lines-$n" "$w/c.txt" || wfail=1
	with_env "workload-t$n" "$AD" tokenize encode --quiet --stream -t "$w/vocab-1" \
		--threads "$n" -o "$w/stream-$n" "$w/c.txt" || wfail=1
	with_env "workload-t$n" "$AD" train ngram --quiet -t "$w/vocab-1" --order 4 --threads "$n" \
		-o "$w/ngram-$n" "$w/c.txt" || wfail=1
	with_env "workload-t$n" "$AD" eval --quiet --threads "$n" "$w/ngram-1" "$w/c.txt" \
		>"$w/eval-$n" || wfail=1
	for f in vocab lines stream ngram eval; do
		cmp -s "$w/$f-1" "$w/$f-$n" || {
			wfail=1
			echo "tsan/run.sh: FAIL: $w/$f-$n (with $n threads) differs from $w/$f-1 (one thread)"
		}
	done
done
# The kNN-LM's search, the random-feature solver and a sweep's job threads,
# on a tiny transformer: 30 kB of the corpus, a few steps.
head -c 30000 "$w/c.txt" >"$w/small.txt"
with_env workload-t1 "$AD" train transformer --quiet -t "$w/vocab-1" --layers 1 --heads 2 \
	--dim 32 --context 32 --steps 5 --threads 1 -o "$w/gpt.bin" "$w/small.txt" || wfail=1
with_env workload-t1 "$AD" knn build --quiet -m "$w/gpt.bin" -o "$w/store.knn" --threads 1 \
	"$w/small.txt" || wfail=1
for n in 1 $threads; do
	with_env "workload-t$n" "$AD" eval --quiet --json --threads "$n" "$w/store.knn" \
		"$w/small.txt" >"$w/knn-$n" || wfail=1
	[ "$n" -eq 1 ] || cmp -s "$w/knn-1" "$w/knn-$n" || {
		wfail=1
		echo "tsan/run.sh: FAIL: the kNN-LM's eval with $n threads differs from one thread"
	}
done
for n in $threads; do
	with_env "workload-t$n" "$AD" sweep --quiet --model rf --features 32,64,256 --rf-limit \
		--fractions 0.1 -t "$w/vocab-1" --threads "$n" -o "$w/rf-$n" "$w/small.txt" \
		>/dev/null || wfail=1
	with_env "workload-t$n" "$AD" sweep --quiet --widths 8,16 --context 16 --steps 5 \
		-t "$w/vocab-1" --eval-tokens 512 --threads "$n" -o "$w/sw-$n" "$w/small.txt" \
		>/dev/null || wfail=1
done
resolve
if [ "$wfail" -eq 0 ]; then
	echo "tsan/run.sh: kernels, tokenizer, n-gram counting and scoring with $threads threads: the bits of one thread ($(($(date +%s) - s)) s)"
else
	status=1
fi

# ---- reports ------------------------------------------------------------------
nrep=$(ls "$out/reports" | wc -l)
if [ "$nrep" -gt 0 ]; then
	status=1
	echo "tsan/run.sh: ThreadSanitizer reports ($nrep processes; full reports in $out/reports/):"
	for f in "$out"/reports/*; do
		grep -h '^SUMMARY' "$f" | sed "s|^|  $(basename "$f"): |"
	done | sort | uniq -c | sort -rn | head -n 40
fi

# ---- which region ran, where, with how many threads ----------------------------
# Every parallel region in src/: FILE:LINE and the function holding it.
(cd "$src" && grep -rn '#pragma omp parallel' src --include='*.c' | cut -d: -f1,2 |
	while IFS=: read -r f l; do
		awk -v f="$f" -v l="$l" 'NR < l && /^[A-Za-z_][A-Za-z0-9_]*\(/ { fn = $0 }
			NR == l { sub(/\(.*/, "", fn); print f ":" l, fn; exit }' "$f"
	done) >"$out/pragmas"
# A region is the pragma on the line of its loop's outlined code, or else the
# only pragma in the function that opened it.
awk '
	FILENAME ~ /pragmas$/ {
		pragma[$1] = 1; order[++np] = $1; f = $1; sub(/:.*/, "", f)
		nin[f, $2]++; only[f, $2] = $1; next }
	$1 == "OVERFLOW" { print "the OMPT tool ran out of room in " FILENAME; next }
	{
		t = FILENAME; sub(/.*\//, "", t); sub(/-t[0-9]+$/, "", t)
		r = ""
		if ($3 in pragma) r = $3
		if (r == "") {
			f = $2; sub(/:.*/, "", f)
			if (nin[f, $1] == 1) r = only[f, $1]
			else if ($2 in pragma) r = $2
			else r = $2 " (" $1 ")"
		}
		if ($4 > 0 && !((r, t) in seen)) { seen[r, t] = 1; tests[r] = tests[r] " " t }
		teams[r] += $4; serial[r] += $5
		if ($6 > maxt[r]) maxt[r] = $6
		any[r] = 1
	}
	END {
		printf "%-26s %8s %8s %3s  %s\n", "parallel region", "2+ thr.", "1 thr.", "max", "tests that ran it on 2+ threads"
		for (i = 1; i <= np; i++) {
			r = order[i]
			printf "%-26s %8d %8d %3d %s\n", r, teams[r], serial[r], maxt[r], tests[r] == "" ? "  NOT RUN ON 2+ THREADS" : tests[r]
			if (teams[r] == 0) bad++
		}
		for (r in any) if (!(r in pragma))
			printf "%-26s %8d %8d %3d %s  (not a pragma in src/)\n", r, teams[r], serial[r], maxt[r], tests[r]
		if (bad > 0) { printf "%d parallel regions in src/ never ran on two or more threads: not checked\n", bad; exit 1 }
	}' "$out/pragmas" "$out"/resolved/* >"$out/regions.txt" || status=1
cat "$out/regions.txt"

echo "tsan/run.sh: $(($(date +%s) - t0)) s; logs, reports and region counts in $out/"
if [ "$status" -eq 0 ]; then
	echo "tsan/run.sh: no data race reported; every parallel region in src/ ran on 2+ threads"
else
	echo "tsan/run.sh: FAILED (races, failing tests or unchecked regions: see above)"
fi
exit "$status"
