#!/bin/sh
# replay.sh — every fuzz harness replays its corpus (seeds and every input
# that once crashed it): a regression test for the parsers of outside input.
. "$AD_SRCDIR/tests/lib.sh"
for corpus in "$AD_SRCDIR"/tests/fuzz/corpus/*; do
	name=$(basename "$corpus")
	bin="$AD_BUILDDIR/tests/fuzz/fuzz_$name"
	if [ ! -x "$bin" ]; then
		fail "no harness binary for corpus $name ($bin)"
		continue
	fi
	run 0 ${AD_VALGRIND:+"$AD_SRCDIR/tests/valgrind.sh"} "$bin" "$corpus"
	has "$T/out" "inputs replayed"
done
finish
