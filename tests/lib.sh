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

# wait_lines FILE N [TENTHS]: wait until FILE (a log being written by a job
# in the background) has N lines, for at most TENTHS tenths of a second
# (default 600); the caller checks what it then needs.
wait_lines() {
	_n=0
	while [ "$(cat "$1" 2>/dev/null | wc -l)" -lt "$2" ] && [ $_n -lt "${3:-600}" ]; do
		sleep 0.1
		_n=$((_n + 1))
	done
}

same() {
	if cmp -s "$1" "$2"; then ok; else fail "$1 and $2 differ"; fi
}

# find_torch: PY becomes a python3 that imports torch, or empty when none does
# (each test says itself whether that is a skip or a failure).
find_torch() {
	PY=
	for p in /usr/bin/python3 python3; do
		if "$p" -c 'import torch' >/dev/null 2>&1; then PY=$p; return 0; fi
	done
}

finish() {
	echo "$checks checks, $failures failures"
	[ "$failures" -eq 0 ]
}

# render_check HTML: render HTML in headless Chromium and check that every
# <svg> chart is laid out with a real size and has marks (rect, circle or
# path) in it, and that a screenshot is made. Returns 1 (after no check)
# when no Chromium is installed; the caller then checks the markup itself.
render_check() {
	chrome=$(command -v chromium || command -v chromium-browser || true)
	[ -n "$chrome" ] || return 1
	nsvg=$(grep -c '<svg' "$1")
	sed 's|</body>|<script>var s=document.querySelectorAll("svg"),k=0;for(var i=0;i<s.length;i++){var b=s[i].getBoundingClientRect();if(b.width>100\&\&b.height>50\&\&s[i].querySelectorAll("rect,circle,path").length>0)k++;}document.body.setAttribute("data-check","svgs="+s.length+" drawn="+k);</script></body>|' \
		"$1" >"$T/render-check.html"
	timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$T/chrome" --dump-dom "file://$T/render-check.html" >"$T/dom" 2>"$T/chrome.err"
	has "$T/dom" "data-check=\"svgs=$nsvg drawn=$nsvg\""
	rm -f "$T/shot.png"
	timeout 120 "$chrome" --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--user-data-dir="$T/chrome" --window-size=1200,3000 --screenshot="$T/shot.png" \
		"file://$1" >/dev/null 2>&1
	[ -s "$T/shot.png" ] && ok || fail "headless Chromium made no screenshot of $1"
	return 0
}

# resumed_cost MODEL LOG: a resumed transformer's .run seconds cover both of
# its runs: at least LOG's last "elapsed", which a resumed trainer counts on
# from its checkpoint's training time (the resumed run alone stays below it).
resumed_cost() {
	_last=$(tail -n 1 "$2" | sed -n 's/.*"elapsed":\([0-9.]*\).*/\1/p')
	_secs=$(sed -n 's/^seconds //p' "$1.run")
	awk -v s="$_secs" -v l="$_last" 'BEGIN { exit !(l > 0 && s >= l) }' && ok ||
		fail "the resumed $1 trained for $_secs s, less than its log's $_last s"
}

# budget_end CSV S: the last line of CSV (train transformer's log, CSV
# columns) of a run under a time budget of S seconds ends the schedule: its
# rate is within 1% of the cosine's range above the default floor (0.0001
# under --lr 0.001), or, for a short run, within its last step (the rate is
# taken before a step counts, so the last of n steps runs
# (1 - cos(pi/(n-1)))/2 of the range above the floor); and it ended less
# than half a second past the budget.
budget_end() {
	tail -1 "$1" | awk -F, -v s="$2" '{ pi = atan2(0, -1);
		r = (1 - cos(pi / ($1 - 1))) / 2 * 1.01; if (r < 0.01) r = 0.01;
		b = 0.0001 + 0.0009 * r;
		exit !($1 > 4 && $4 < b && $7 < s + 0.5) }'
}

# resumed_budget CSV S: in CSV, the log of a run resumed under a budget of S
# seconds, the elapsed time counts on across the resume (it never falls: a
# resumed trainer starts from its checkpoint's training time), and every
# step but the last ended within the budget (the log's three decimals: at
# most S); the last one either ends the schedule or is the first past the
# budget (budget_end bounds it).
resumed_budget() {
	awk -F, 'NR > 2 && $7 < e { bad++ } NR > 1 { e = $7 } END { exit bad > 0 }' "$1" && ok ||
		fail "resumed under a budget: the elapsed time fell: $(head -n 12 "$1")"
	tail -n 2 "$1" | awk -F, -v s="$2" 'NR == 1 { exit !($7 <= s) }' && ok ||
		fail "resumed under a budget of $2 s: a step ended past it before the last: $(tail -n 2 "$1")"
}
