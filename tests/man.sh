#!/bin/sh
# man.sh — every man page is clean under a linter, every command has a page,
# and every option of 'CMD --help' is in the page and the other way round.
. "$AD_SRCDIR/tests/lib.sh"
M=$AD_SRCDIR/man

[ -n "$GROFF$MANDOC" ] || { fail "no groff or mandoc to lint man pages (apt-get install groff-base)"; finish; exit 1; }
for page in "$M"/*.1 "$M"/*.5; do
	if [ -n "$MANDOC" ]; then
		"$MANDOC" -T lint -W warning "$page" >"$T/lint" 2>&1
		# mandoc's style notes on a missing date/os from a build tree are not errors.
		grep -v 'STYLE' "$T/lint" >"$T/lint2" || true
		[ -s "$T/lint2" ] && fail "mandoc: $(cat "$T/lint2")" || ok
	fi
	if [ -n "$GROFF" ]; then
		"$GROFF" -man -ww -z "$page" >"$T/lint" 2>&1
		[ -s "$T/lint" ] && fail "groff: $page: $(cat "$T/lint")" || ok
	fi
done

# Options in --help versus the man page (long options only).
opts() { grep -o -- '--[a-z][a-z0-9-]*' "$1" | sort -u; }
for cmd in $("$AD" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p'); do
	page="$M/autodidact-$cmd.1"
	[ -f "$page" ] || { fail "no man page for $cmd"; continue; }
	"$AD" "$cmd" --help >"$T/help"
	# In the page, options are written \-\-name (escaped).
	sed 's/\\-/-/g' "$page" >"$T/page"
	opts "$T/help" >"$T/h"
	opts "$T/page" >"$T/p"
	missing=$(comm -23 "$T/h" "$T/p" | tr '\n' ' ')
	[ -z "$missing" ] && ok || fail "$cmd: in --help but not in $page: $missing"
	extra=$(comm -13 "$T/h" "$T/p" | tr '\n' ' ')
	[ -z "$extra" ] && ok || fail "$cmd: in $page but not in --help: $extra"
	grep -q "autodidact-$cmd" "$M/autodidact.1" && ok || fail "autodidact.1 does not mention autodidact-$cmd"
done

# autodidact-sweep(1)'s examples run, on a small synthetic corpus.
"$AD" synth --quiet --seed 2 --sentences 800 -o "$T/corpus.txt"
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$M/autodidact-sweep.1" |
	grep '^autodidact ' | sed 's/\\-/-/g' >"$T/examples"
[ "$(wc -l <"$T/examples")" -ge 5 ] && ok || fail "too few examples in autodidact-sweep.1"
while read -r line; do
	(cd "$T" && sh -c "\"\$0\" ${line#autodidact } --quiet" "$AD" >"$T/exout" 2>"$T/exerr") &&
		[ -s "$T/exout" ] && ok || fail "man example failed: $line: $(cat "$T/exerr")"
done <"$T/examples"
finish
