#!/bin/sh
# calib.sh — calibration and token probabilities from the command line:
# eval --calibration (its NLL against the plain score path, thread
# independence, the JSON), sample --show-probs (its lines against the plain
# text and --json, on a terminal its colours), and the man pages' examples.
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1
K=$AD_TESTDATA/kenlm

head -n 400 "$K/small.train.txt" >train.txt
head -n 120 "$K/small.val.txt" >held-out.txt
run 0 "$AD" train ngram --quiet --words --order 3 -o model3.bin train.txt
run 0 "$AD" train transformer --quiet --bytes --preset tiny --steps 20 --threads 1 \
	-o model.bin train.txt

# json_field FILE KEY: the value of KEY in the "total" object of eval --json.
json_field() {
	awk -v k="\"$2\":" '/"total": \{/ { on = 1 } on && $1 == k { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}

# The calibration's NLL comes from each token's whole distribution, the
# plain figure from the score path: they must agree. The halves add up.
for m in model3.bin model.bin; do
	run 0 "$AD" eval --quiet --json --calibration "$m" held-out.txt
	cp "$T/out" cal.json
	a=$(json_field cal.json nats_per_token)
	b=$(json_field cal.json nll)
	awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }' && ok ||
		fail "$m: calibration NLL $b, eval $a nats/token"
	n=$(json_field cal.json tokens)
	f=$(json_field cal.json fit_tokens)
	t=$(json_field cal.json test_tokens)
	[ $((f + t)) -eq "$n" ] && [ "$f" -eq $((n / 2)) ] && ok ||
		fail "$m: halves $f + $t of $n tokens"
	acc=$(json_field cal.json accuracy)
	awk -v a="$acc" 'BEGIN { exit !(a >= 0 && a <= 1) }' && ok || fail "$m: accuracy $acc"
	has cal.json '"ece_bins": 15'
	# Without the option, no calibration (and the rest unchanged).
	run 0 "$AD" eval --quiet --json "$m" held-out.txt
	grep -q calibration "$T/out" && fail "$m: calibration without --calibration" || ok
done

# The n-gram's calibration does not depend on the thread count.
run 0 "$AD" eval --quiet --calibration --threads 1 model3.bin held-out.txt held-out.txt
cp "$T/out" t1
run 0 "$AD" eval --quiet --calibration --threads 2 model3.bin held-out.txt held-out.txt
same t1 "$T/out"
has t1 "ECE mass"
# Two copies of one file: the total's figures are the file's (its halves
# are the first and the second copy, which differ from a file's own).
awk '/^held-out.txt/ { f = $2 " " $3 " " $4 " " $5 } /^total/ { t = $2 " " $3 " " $4 " " $5 }
	END { exit !(f == t) }' t1 && ok || fail "total's accuracy/ECE/Brier differ from the file's: $(cat t1)"

# The man pages' examples.
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-eval.1" |
	grep '^autodidact .*calibration' | sed 's/\\-/-/g' >examples
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-sample.1" |
	grep '^autodidact .*show' | sed 's/\\-/-/g' >>examples
lines examples 2
while read -r line; do
	(cd "$T" && sh -c "\"\$0\" ${line#autodidact }" "$AD" >exout 2>exerr) && [ -s exout ] &&
		ok || fail "man example failed: $line: $(cat exerr)"
done <examples

# sample --show-probs without a terminal: "text<TAB>p" lines whose texts,
# unescaped and joined, are the sample, and whose p are --json's.
for m in model3.bin model.bin; do
	run 0 "$AD" sample --seed 5 -n 40 -p "the" "$m"
	cp "$T/out" plain
	run 0 "$AD" sample --seed 5 -n 40 -p "the" --show-probs "$m"
	cp "$T/out" probs
	awk -F '\t' 'NF != 2 || !($2 >= 0 && $2 <= 1) { bad++ } END { exit bad > 0 }' probs && ok ||
		fail "$m: malformed --show-probs lines: $(head -c 300 probs)"
	awk -F '\t' '{ t = t $1 } END {
		out = ""
		for (i = 1; i <= length(t); i++) {
			c = substr(t, i, 1)
			if (c == "\\") { i++; c = substr(t, i, 1); c = c == "n" ? "\n" : c == "t" ? "\t" : c }
			out = out c
		}
		printf "%s", out }' probs >joined
	# sample ends its text with a newline when it has none.
	[ "$(tail -c 1 joined | od -An -c | tr -d ' ')" = '\n' ] || echo >>joined
	same plain joined
	run 0 "$AD" sample --seed 5 -n 40 -p "the" --json "$m"
	awk '$1 == "\"logprob\":" { lp = $2; sub(/,$/, "", lp) }
		$1 == "\"p\":" { print lp, $2 }' "$T/out" >pj
	[ "$(wc -l <pj)" -eq "$(wc -l <probs)" ] && ok || fail "$m: $(wc -l <pj) tokens in --json"
	# At temperature 1 without truncation, p is the model's own probability
	# renormalised without <s> and <unk> (never drawn): a little above it.
	awk '{ r = $2 / exp($1); if (!(r > 1 - 1e-6 && r < 1.01)) bad++ } END { exit bad > 0 }' pj &&
		ok || fail "$m: p is not exp(logprob) at the defaults: $(head -n 5 pj)"
	cut -f 2 probs >p1
	awk '{ printf "%.6f\n", $2 }' pj >p2
	same p1 p2
	# Greedy: every token is drawn with probability 1.
	run 0 "$AD" sample --temperature 0 -n 20 -p "the" --show-probs "$m"
	awk -F '\t' '$2 != "1.000000" { bad++ } END { exit bad > 0 || NR != 20 }' "$T/out" && ok ||
		fail "$m: greedy tokens not drawn with p = 1: $(head -c 300 "$T/out")"
done

# On a terminal: the same text, each token in its colour (script(1) gives
# the command a terminal; skipped without it).
if command -v script >/dev/null 2>&1; then
	script -qec "'$AD' sample --seed 5 -n 40 -p the --show-probs model3.bin" /dev/null >tty.raw
	esc=$(printf '\033')
	grep -q "$esc\[" tty.raw && ok || fail "no colour on a terminal: $(head -c 200 tty.raw)"
	# Strip the colours and the terminal's carriage returns: the plain text.
	sed "s/$esc\[[0-9;]*m//g" tty.raw | tr -d '\r' >tty.txt
	run 0 "$AD" sample --seed 5 -n 40 -p the model3.bin
	same "$T/out" tty.txt
	# A token drawn with p < 0.05 is white on red; one with p >= 0.5 plain.
	run 0 "$AD" sample --seed 5 -n 40 -p the --show-probs model3.bin
	if awk -F '\t' '$2 < 0.05 { f = 1 } END { exit !f }' "$T/out"; then
		grep -q "$esc\[97;41m" tty.raw && ok || fail "no white on red for a long shot"
	fi
fi
finish
