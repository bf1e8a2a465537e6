#!/bin/sh
# mpi-ngram.sh — n-gram counting over MPI (built with --with-mpi only): 2
# and 3 ranks each count a shard of the corpus and rank 0 merges the counts;
# the model and ARPA files must be byte for byte those of one process
# (whose estimate tests/ngram.sh checks against KenLM). Real text (the
# KenLM fixture) in words, bytes and BPE tokens; a file without a final
# newline in the middle (its last line gets </s>) and at the end (it does
# not); more ranks than lines; an empty corpus and standard input refused
# on every rank.
. "$AD_SRCDIR/tests/lib.sh"

MPIRUN=$(sed -n 's/^MPIRUN = //p' "$AD_BUILDDIR/Makefile")
[ -n "$MPIRUN" ] || { echo "FAIL: this build has no MPIRUN (configure --with-mpi)" >&2; exit 1; }
# In a build with --enable-asan: Open MPI's own allocations (in components it
# unloads before exit) would fail LeakSanitizer; the other sanitizer checks
# stay on, and our code's leaks are checked by the tests without MPI.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
MPI="timeout 300 $MPIRUN --allow-run-as-root --oversubscribe"

# Real text (the KenLM fixture), so that every discount is estimated.
cp "$AD_TESTDATA/kenlm/small.train.txt" "$T/s.txt"
printf 'a line without a newline' >"$T/open.txt"
sed -n '1,200p' "$T/s.txt" >"$T/head.txt"
run 0 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/v.bpe" "$T/s.txt"

# same_model NP UNIT... -- FILES: one process and NP ranks write the same bytes.
same_model() {
	np=$1
	shift
	run 0 "$AD" train ngram --quiet "$@" -o "$T/one.bin" --arpa "$T/one.arpa"
	run 0 $MPI -np "$np" "$AD" train ngram --quiet "$@" -o "$T/n.bin" --arpa "$T/n.arpa"
	same "$T/one.bin" "$T/n.bin"
	same "$T/one.arpa" "$T/n.arpa"
	rm -f "$T/one.bin" "$T/one.arpa" "$T/n.bin" "$T/n.arpa"
}

same_model 2 --words --order 4 "$T/s.txt" "$T/open.txt" "$T/head.txt"
same_model 3 --words --order 4 "$T/s.txt" "$T/open.txt" "$T/head.txt"
same_model 3 --words --order 3 "$T/head.txt" "$T/s.txt" "$T/open.txt"
same_model 2 --bytes --order 5 --discount-fallback "$T/head.txt" "$T/open.txt"
same_model 3 -t "$T/v.bpe" --order 4 "$T/s.txt" "$T/open.txt"
# Two lines over three ranks: one rank's shard is empty.
printf 'the cat sat\nthe dog sat down\n' >"$T/two.txt"
same_model 3 --words --order 2 --discount-fallback "$T/two.txt"

# An empty corpus and standard input: every rank stops, nothing is written.
: >"$T/empty.txt"
run 1 $MPI -np 2 "$AD" train ngram --quiet --words -o "$T/x.bin" "$T/empty.txt"
has "$T/err" "empty"
run 1 $MPI -np 2 "$AD" train ngram --quiet --words -o "$T/x.bin" - <"$T/two.txt"
has "$T/err" "give files, not '-'"
[ -e "$T/x.bin" ] && fail "a refused run wrote a model" || ok
finish
