# lib.sh — helpers for the command-line tests (sourced, POSIX sh).
# Every check that fails prints why and makes the test exit non-zero.

: "${AUTODIDACT:?set by make check}"
: "${AD_TMPDIR:=/tmp}"
AD=$AUTODIDACT
T=$(mktemp -d "$AD_TMPDIR/cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
failures=0
checks=0

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	failures=$((failures + 1))
}

ok() {
	checks=$((checks + 1))
}

# run CODE CMD...: run CMD, capture stdout/stderr in $T/out and $T/err,
# check the exit status.
run() {
	want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -ne "$want" ]; then
		fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$T/err")"
	else
		ok
	fi
}

# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
	if grep -qF -- "$2" "$1"; then ok; else fail "$1 lacks '$2': $(head -c 400 "$1")"; fi
}

# lines FILE N: FILE has exactly N lines.
lines() {
	n=$(wc -l <"$1")
	if [ "$n" -eq "$2" ]; then ok; else fail "$1 has $n lines, expected $2: $(head -c 400 "$1")"; fi
}

same() {
	if cmp -s "$1" "$2"; then ok; else fail "$1 and $2 differ"; fi
}

finish() {
	echo "$checks checks, $failures failures"
	[ "$failures" -eq 0 ]
}
