#!/bin/sh
# fill.sh — 'autodidact fill' on every model kind, against oracles that do
# not go through fill:
#  - n-gram: the probability of each word in the blank is the likelihood of
#    the whole sentence with that word ('autodidact eval'), normalised over
#    the vocabulary's words (exact: fill rescores every token);
#  - causal transformer: the ratio of two fillers' probabilities is the
#    ratio of the two sentences' likelihoods (eval on each sentence);
#  - masked transformer: the ln p of the true byte at each position, one
#    fill per position, adds up to the text's token PLL ('eval --pll token',
#    which batches the masked copies);
# then bad input (one line, non-zero exit, nothing on stdout) and the man
# page's examples, as written there.
. "$AD_SRCDIR/tests/lib.sh"

# n-gram: the vocabulary of w.txt is these ten words (and the markers).
printf 'the cat sat on the mat\nthe dog sat on the rug\nthe cat ran to the dog\na dog sat\n' \
	>"$T/w.txt"
run 0 "$AD" train ngram --words --order 3 --discount-fallback --quiet -o "$T/ngram.model" \
	"$T/w.txt"
run 0 "$AD" fill --json --tokens 1 -k 20 "$T/ngram.model" "the [MASK] sat on the mat"
cp "$T/out" "$T/fill.json"
has "$T/fill.json" '"exact": true'
has "$T/fill.json" '"best": "the cat sat on the mat"'
: >"$T/oracle"
for w in the cat sat on mat dog rug ran to a; do
	printf 'the %s sat on the mat\n' "$w" >"$T/s.txt"
	"$AD" eval --json "$T/ngram.model" "$T/s.txt" >"$T/e.json" || fail "eval of '$w'"
	awk -v w="$w" '/"total"/ { t = 1 } t && /"nats":/ { gsub(/[",]/, ""); print w, $2; exit }' \
		"$T/e.json" >>"$T/oracle"
done
# fill's p per word, then both against the normalised likelihoods.
awk '/"text": "/ { split($0, a, "\""); w = a[4] } /"p": / { gsub(/,/, ""); print w, $2 }' \
	"$T/fill.json" >"$T/got"
lines "$T/got" 10
awk 'NR == FNR { nats[$1] = $2; z += exp(-$2); next }
	{ want = exp(-nats[$1]) / z; d = $2 - want; if (d < 0) d = -d
	  if (!($1 in nats) || d > 1e-9) { print "word " $1 ": fill " $2 ", eval " want; bad = 1 } }
	END { exit bad }' "$T/oracle" "$T/got" && ok || fail "n-gram fill differs from eval's likelihoods"

# A causal byte-level transformer and a masked one on the same text.
awk 'NR <= 400' "$AD_SRCDIR/README.md" >"$T/c.txt"
tt="--bytes --preset tiny --batch 4 --steps 120 --val-every 0 --quiet"
run 0 "$AD" train transformer $tt -o "$T/causal.model" "$T/c.txt"
run 0 "$AD" train transformer $tt --objective masked -o "$T/masked.model" "$T/c.txt"

# Causal: two fillers' probability ratio = the two sentences' likelihood ratio.
run 0 "$AD" fill --json --tokens 1 -k 40 "$T/causal.model" "the mo[MASK]el file"
has "$T/out" "causal transformer: candidates most likely after the left context"
has "$T/out" '"exact": false'
awk '/"text": "[a-z]"/ { split($0, a, "\""); w = a[4] }
	/"p": / && w != "" { gsub(/,/, ""); print w, $2; w = ""; if (++n == 2) exit }' \
	"$T/out" >"$T/two"
lines "$T/two" 2
i=0
while read -r w p; do
	i=$((i + 1))
	printf 'the mo%sel file' "$w" >"$T/s$i.txt"
	"$AD" eval --json "$T/causal.model" "$T/s$i.txt" >"$T/e$i.json" || fail "eval $i"
	awk -v p="$p" '/"total"/ { t = 1 } t && /"nats":/ { gsub(/[",]/, ""); print p, $2; exit }' \
		"$T/e$i.json" >>"$T/ratio"
done <"$T/two"
awk '{ p[NR] = $1; n[NR] = $2 }
	END { r = (p[1] / p[2]) / exp(n[2] - n[1]); exit !(NR == 2 && r > 0.9999 && r < 1.0001) }' \
	"$T/ratio" && ok || fail "causal fill ratio is not the likelihood ratio: $(cat "$T/ratio")"

# Masked: one blank per position of "to be or", the true byte's ln p, summed,
# is the token PLL of the text.
txt="to be or"
printf '%s' "$txt" >"$T/tb.txt"
run 0 "$AD" eval --json --pll token "$T/masked.model" "$T/tb.txt"
awk '/"total"/ { t = 1 } t && /"pll":/ { gsub(/[",]/, ""); print $2; exit }' "$T/out" >"$T/pll"
: >"$T/terms"
n=${#txt}
k=1
while [ $k -le "$n" ]; do
	pre=$(printf '%s' "$txt" | cut -c1-$((k - 1)))
	ch=$(printf '%s' "$txt" | cut -c$k)
	post=$(printf '%s' "$txt" | cut -c$((k + 1))-)
	[ $k -eq 1 ] && pre=
	"$AD" fill --json --tokens 1 -k 256 "$T/masked.model" "$pre[MASK]$post" >"$T/f.json" ||
		fail "fill at $k"
	awk -v want="$ch" '/"text": "/ { split($0, a, "\""); w = a[4] }
		/"logp": / && w == want && !done { gsub(/,/, ""); print $2; done = 1 }' \
		"$T/f.json" >>"$T/terms"
	k=$((k + 1))
done
lines "$T/terms" "$n"
awk 'NR == FNR { pll = $1; next } { s += $1 }
	END { d = s - pll; if (d < 0) d = -d; exit !(d < 1e-4) }' "$T/pll" "$T/terms" &&
	ok || fail "masked fill terms $(tr '\n' ' ' <"$T/terms") do not add up to the PLL $(cat "$T/pll")"
# The model's own distribution over all 256 bytes.
run 0 "$AD" fill --json --tokens 1 -k 256 "$T/masked.model" "to [MASK]e"
has "$T/out" '"exact": true'
awk '/"p": / { gsub(/,/, ""); s += $2 } END { exit !(s > 0.9999 && s < 1.0001) }' "$T/out" &&
	ok || fail "a masked model's fillers over every byte do not add up to 1"
# Several tokens, iterative decoder; the same seed gives the same output.
run 0 "$AD" fill --tokens 3 --temperature 0.8 --seed 4 "$T/masked.model" "the [MASK] file"
has "$T/out" "iterative decoder"
cp "$T/out" "$T/d1"
run 0 "$AD" fill --tokens 3 --temperature 0.8 --seed 4 "$T/masked.model" "the [MASK] file"
same "$T/d1" "$T/out"
# A blank at the very start or end of the text (nothing on one side).
run 0 "$AD" fill -k 2 "$T/ngram.model" "[MASK] cat sat"
has "$T/out" "best: the cat sat"
run 0 "$AD" fill -k 2 "$T/masked.model" "the model[MASK]"
has "$T/out" "blank 1 (byte 9)"
run 0 "$AD" fill -k 2 "$T/causal.model" "[MASK]"
has "$T/out" "blank 1 (byte 0)"
# Two blanks: each gets its fillers; the best text holds both.
run 0 "$AD" fill -k 2 "$T/ngram.model" "the [MASK] sat on the [MASK]"
has "$T/out" "blank 2 (byte 22)"
has "$T/out" "best: the cat sat on the "

# Bad input: one line on stderr, nothing on stdout, a non-zero exit.
bad() {
	bad_code=$1
	bad_msg=$2
	shift 2
	run "$bad_code" "$AD" fill "$@"
	has "$T/err" "$bad_msg"
	lines "$T/err" 1
	lines "$T/out" 0
}
bad 2 "the text has no blank" "$T/masked.model" "no blank here"
bad 2 "no text given" "$T/masked.model"
bad 1 "shorten the text around the blank" "$T/masked.model" \
	"a text far longer than the context of this tiny model, with a [MASK] in it"
bad 1 "give one sentence" "$T/ngram.model" "the [MASK]
sat"
bad 2 "-k" -k 0 "$T/ngram.model" "the [MASK]"
bad 2 "--tokens" --tokens 9 "$T/ngram.model" "the [MASK]"
bad 1 "cannot open" "$T/none.model" "the [MASK]"

# The man page's examples, as written there, on models of those names.
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-fill.1" |
	sed 's/\\-/-/g' | grep '^autodidact fill' >"$T/examples"
[ -s "$T/examples" ] && ok || fail "no examples in autodidact-fill.1"
while read -r line; do
	line=${line#autodidact }
	(cd "$T" && eval "\"\$AD\" $line" >"$T/ex.out" 2>"$T/ex.err") && ok ||
		fail "man example failed: $line: $(cat "$T/ex.err")"
	grep -q '^best: ' "$T/ex.out" || grep -q '"best"' "$T/ex.out" && ok ||
		fail "man example printed no fillers: $line"
done <"$T/examples"
finish
