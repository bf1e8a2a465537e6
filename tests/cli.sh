#!/bin/sh
# cli.sh — the command-line contract: help, version, usage errors, exit
# codes, error messages, and that failures leave existing files intact.
. "$AD_SRCDIR/tests/lib.sh"

# Help and version.
run 0 "$AD" --help
has "$T/out" "usage: autodidact COMMAND"
has "$T/out" "synth"
run 0 "$AD" --version
has "$T/out" "autodidact "
run 2 "$AD"
has "$T/err" "usage: autodidact"

# Every command answers --help and 'help CMD' with the same text.
for cmd in $("$AD" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p'); do
	run 0 "$AD" "$cmd" --help
	cp "$T/out" "$T/help1"
	has "$T/help1" "usage: autodidact $cmd"
	run 0 "$AD" help "$cmd"
	same "$T/out" "$T/help1"
done

# Usage errors: one line on stderr, exit 2.
run 2 "$AD" no-such-command
lines "$T/err" 1
has "$T/err" "'no-such-command' is not a command"
run 2 "$AD" --frobnicate
lines "$T/err" 1
run 2 "$AD" synth --frobnicate -o "$T/x"
lines "$T/err" 1
has "$T/err" "autodidact synth: unknown option '--frobnicate'"
run 2 "$AD" synth -o
lines "$T/err" 1
has "$T/err" "needs a value"
run 2 "$AD" synth --bias 1.5 -o "$T/x"
has "$T/err" "--bias: '1.5' is not a number in [0, 1]"
run 2 "$AD" synth --bias nan -o "$T/x"
run 2 "$AD" synth --sentences -3 -o "$T/x"
has "$T/err" "--sentences: '-3' is not a whole number"
run 2 "$AD" synth --sentences 10x -o "$T/x"
run 2 "$AD" synth
has "$T/err" "no output file"
run 2 "$AD" help no-such-command
[ -e "$T/x" ] && fail "a usage error wrote a file" || ok

# synth: deterministic, with its truth beside it.
run 0 "$AD" synth --quiet --seed 3 --sentences 2000 -o "$T/a.txt"
run 0 "$AD" synth --quiet --seed 3 --sentences 2000 -o "$T/b.txt"
same "$T/a.txt" "$T/b.txt"
same "$T/a.txt.truth.tsv" "$T/b.txt.truth.tsv"
lines "$T/a.txt" 2000
has "$T/a.txt.truth.tsv" "# autodidact synth truth 1"
run 0 "$AD" synth --quiet --seed 3 --sentences 2000 --truth "$T/t.tsv" -o - 
same "$T/out" "$T/a.txt"
run 2 "$AD" synth --quiet -o -
has "$T/err" "give --truth FILE"

# Failures: exit 1, "autodidact: " and the file; old files untouched.
run 1 "$AD" synth --quiet --sentences 10 -o "$T/no/such/dir/c.txt"
lines "$T/err" 1
has "$T/err" "autodidact: $T/no/such/dir/c.txt: cannot create"
mkdir "$T/truthdir"
cp "$T/a.txt" "$T/keep.txt"
run 1 "$AD" synth --quiet --seed 9 --sentences 10 --truth "$T/truthdir" -o "$T/keep.txt"
has "$T/err" "is a directory"
same "$T/a.txt" "$T/keep.txt"
n=$(ls -A "$T" | grep -c '\.tmp-' || true)
[ "$n" -eq 0 ] && ok || fail "temporary files left behind: $(ls -A "$T")"

# Progress: plain lines on a non-terminal, nothing with --quiet.
run 0 "$AD" synth --seed 1 --sentences 1000 -o "$T/p.txt"
has "$T/err" "synth: 1.0k lines in"
run 0 "$AD" synth --quiet --seed 1 --sentences 1000 -o "$T/p.txt"
[ -s "$T/err" ] && fail "--quiet printed: $(cat "$T/err")" || ok

# Allocation failure is reported, not a crash.
AD_FAIL_ALLOC=0 "$AD" synth --quiet --sentences 10 -o "$T/oom.txt" 2>"$T/err"
rc=$?
[ "$rc" -eq 1 ] && ok || fail "AD_FAIL_ALLOC=0 synth exited $rc"
has "$T/err" "out of memory"
[ -e "$T/oom.txt" ] && fail "out-of-memory run wrote a file" || ok

# ---- hostile option values (issue 8) -----------------------------------------
# Every number is parsed by cli_u64 or cli_double: NaN, infinities, negative
# values (also behind white space, which strtoull would turn into 2^64 - 1),
# out-of-range and overflowing values are usage errors (exit 2) naming the
# option; nothing is written. Sizes that are legal but absurd for the text
# give a correct result, not an absurd allocation.
"$AD" synth --quiet --seed 5 --sentences 300 -o "$T/h.txt" || fail "synth"
run 0 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/h.bpe" "$T/h.txt"
run 0 "$AD" train ngram --quiet -t "$T/h.bpe" --order 3 -o "$T/h.ngram" "$T/h.txt"
tab_neg=$(printf '\t-1')
hostile() {  # hostile OPTION VALUE CMD...: exit 2, one line naming the option
	opt=$1 val=$2
	shift 2
	run 2 "$@" "$opt" "$val"
	lines "$T/err" 1
	has "$T/err" "$opt"
}
for v in 2147483648 2147483647 4294967296 18446744073709551616 -1 nan "$tab_neg"; do
	hostile --vocab-size "$v" "$AD" tokenize train --quiet -o "$T/x.bpe" "$T/h.txt"
done
for v in 9 4294967297 -1 inf; do
	hostile --order "$v" "$AD" train ngram --quiet --words -o "$T/x.ngram" "$T/h.txt"
done
for v in nan inf -inf -1 1e400; do
	hostile --time-budget "$v" "$AD" train transformer --quiet -t "$T/h.bpe" -o "$T/x.gpt" "$T/h.txt"
	hostile --lr "$v" "$AD" train transformer --quiet -t "$T/h.bpe" -o "$T/x.gpt" "$T/h.txt"
	hostile --temperature "$v" "$AD" sample "$T/h.ngram"
	hostile --top-p "$v" "$AD" sample "$T/h.ngram"
	hostile --alpha "$v" "$AD" probe --quiet "$T/h.ngram" --probes gender-occupation
	hostile --bias "$v" "$AD" synth --quiet -o "$T/x.txt"
	hostile --val-fraction "$v" "$AD" compare --quiet --out "$T/x.cmp" "$T/h.txt"
done
for v in -1 "$tab_neg" 18446744073709551616 nan 0x10 ""; do
	hostile --seed "$v" "$AD" synth --quiet -o "$T/x.txt"
	hostile --seed "$v" "$AD" sample "$T/h.ngram"
	hostile --seed "$v" "$AD" train transformer --quiet -t "$T/h.bpe" -o "$T/x.gpt" "$T/h.txt"
	hostile --threads "$v" "$AD" eval --quiet "$T/h.ngram" "$T/h.txt"
	hostile --batch "$v" "$AD" train transformer --quiet -t "$T/h.bpe" -o "$T/x.gpt" "$T/h.txt"
	hostile --bootstrap "$v" "$AD" probe --quiet "$T/h.ngram" --probes gender-occupation
done
hostile --top-p 0 "$AD" sample "$T/h.ngram"
hostile --top-p 1.5 "$AD" sample "$T/h.ngram"
hostile --sentences 0 "$AD" synth --quiet -o "$T/x.txt"
# sscanf's %d wrapped 4294967297 to 1: a range of orders must be in 1..8.
hostile --orders 1..4294967297 "$AD" compare --quiet --out "$T/x.cmp" "$T/h.txt"
hostile --orders 4294967297..3 "$AD" compare --quiet --out "$T/x.cmp" "$T/h.txt"
# A model the machine cannot hold is refused before anything is allocated.
run 2 "$AD" train transformer --quiet -t "$T/h.bpe" --dim 16384 --heads 1 --layers 256 \
	-o "$T/x.gpt" "$T/h.txt"
has "$T/err" "GB, more than 90% of this machine"
for f in x.bpe x.ngram x.gpt x.txt x.cmp; do
	[ -e "$T/$f" ] && fail "a usage error wrote $f" || ok
done
# Legal extremes give a correct result: a vocabulary of up to 2^30 ids on a
# small text stops when no pair repeats (the same vocabulary as asking for
# just enough), and temperature 0 is greedy (the same text for any seed).
run 0 "$AD" tokenize train --quiet --vocab-size 1073741824 -o "$T/big.bpe" "$T/h.txt"
has "$T/err" "stopped after"
n=$(sed -n 's/^tokens //p' "$T/big.bpe")
run 0 "$AD" tokenize train --quiet --vocab-size "$n" -o "$T/just.bpe" "$T/h.txt"
same "$T/big.bpe" "$T/just.bpe"
run 0 "$AD" sample --temperature 0 --seed 1 -n 20 "$T/h.ngram"
cp "$T/out" "$T/greedy1"
run 0 "$AD" sample --temperature 0 --seed 18446744073709551615 -n 20 "$T/h.ngram"
same "$T/out" "$T/greedy1"
# ---- end of hostile option values --------------------------------------------

finish
