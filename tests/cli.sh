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

finish
