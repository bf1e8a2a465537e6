#!/bin/sh
# knn.sh — 'autodidact knn' from the command line: a store built from a tiny
# transformer is a model for eval (with --lambda 0, the transformer's very
# figures), tune's halves and its tuned store, the contrast report in its
# three formats, refusals (another model, damage) with nothing written, and
# the man page's examples.
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1
K=$AD_TESTDATA/kenlm

head -n 300 "$K/small.train.txt" >train.txt
head -n 80 "$K/small.val.txt" >held-out.txt
run 0 "$AD" train transformer --quiet --bytes --preset tiny --steps 20 --threads 1 \
	-o model.bin train.txt

# json_total FILE KEY: KEY's value in the "total" object of eval --json.
json_total() {
	awk -v k="\"$2\":" '/"total": \{/ { on = 1 } on && $1 == k { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}

# lambda 0: the kNN-LM's eval is the transformer's, to the last digit.
# (--quiet: no progress and no summary line, on either stream.)
run 0 "$AD" knn build --quiet --lambda 0 -m model.bin -o zero.knn train.txt
[ ! -s "$T/out" ] && [ ! -s "$T/err" ] && ok ||
	fail "knn build --quiet printed: $(cat "$T/out" "$T/err" | head -c 400)"
run 0 "$AD" eval --quiet --json model.bin held-out.txt
cp "$T/out" t.json
run 0 "$AD" eval --quiet --json zero.knn held-out.txt
cp "$T/out" z.json
has z.json '"kind": "knn"'
[ "$(json_total t.json nats)" = "$(json_total z.json nats)" ] && ok ||
	fail "lambda 0: nats $(json_total z.json nats), the transformer's $(json_total t.json nats)"

# lambda 0.5 changes the figure; the calibration path agrees with it.
run 0 "$AD" knn build --lambda 0.5 --k 8 --temperature 2 -m model.bin -o half.knn train.txt
has "$T/out" "half.knn: "
has "$T/out" " entries of "
run 0 "$AD" eval --quiet --json --calibration half.knn held-out.txt
cp "$T/out" h.json
a=$(json_total h.json nats_per_token)
b=$(awk '$1 == "\"nll\":" { v = $2; sub(/,$/, "", v); x = v } END { print x }' h.json)
awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d < 1e-4 && d > -1e-4) }' && ok ||
	fail "calibration NLL $b, eval $a nats/token"
[ "$(json_total t.json nats)" != "$(json_total h.json nats)" ] && ok ||
	fail "lambda 0.5 gave the transformer's figure"
# sample draws from it.
run 0 "$AD" sample --seed 3 -n 20 -p "the" half.knn
[ -s "$T/out" ] && ok || fail "sample wrote nothing"

# tune: three figures on the second half, and a store with the chosen k.
run 0 "$AD" knn tune --json -o tuned.knn half.knn held-out.txt
cp "$T/out" tune.json
has tune.json '"bpb_mixture"'
k=$(awk '$1 == "\"k\":" { v = $2; sub(/,$/, "", v); print v; exit }' tune.json)
run 0 "$AD" eval --quiet --json tuned.knn held-out.txt
has "$T/out" "k $k,"
# The tuned mixture is never worse than the transformer on the half it was
# tuned on; lambda = 0 is in the grid. (On the other half it may be.)
run 0 "$AD" knn tune -o tuned2.knn half.knn held-out.txt
has "$T/out" "kNN-LM"

# set: lambda 0 again gives the transformer's figure to the last digit; the
# other parameters stay as stored.
run 0 "$AD" knn set --lambda 0 -o zero2.knn half.knn
has "$T/out" "k 8, lambda 0, temperature 2, l2"
run 0 "$AD" eval --quiet --json zero2.knn held-out.txt
[ "$(json_total t.json nats)" = "$(json_total "$T/out" nats)" ] && ok ||
	fail "set --lambda 0: nats $(json_total "$T/out" nats), the transformer's $(json_total t.json nats)"
# A store needs a causal transformer: an n-gram model is refused.
run 0 "$AD" train ngram --quiet --bytes --order 3 -o ngram.bin train.txt
run 1 "$AD" knn build -m ngram.bin -o ng.knn train.txt
has "$T/err" "causal transformer"
[ -e ng.knn ] && fail "ng.knn written by a failed build" || ok

# contrast: md, json and html with two SVG plots.
run 0 "$AD" knn contrast --points 200 --queries 40 half.knn
has "$T/out" "| gaussian | 1 |"
has "$T/out" "| model | 32 |"
has "$T/out" "| pca | 16 |"
run 0 "$AD" knn contrast --points 200 --queries 40 --format json -o c.json half.knn
has c.json '"twonn"'
run 0 "$AD" knn contrast --points 200 --queries 40 --format html -o c.html half.knn
[ "$(grep -c '<svg' c.html)" -eq 2 ] && ok || fail "contrast.html: $(grep -c '<svg' c.html) plots"

# Refusals: one line naming the file, exit 1, nothing written.
cp half.knn bad.knn
printf 'X' | dd of=bad.knn bs=1 seek=5000 conv=notrunc 2>/dev/null
run 1 "$AD" eval bad.knn held-out.txt
has "$T/err" "bad.knn"
has "$T/err" "damaged"
lines "$T/err" 1
run 1 "$AD" knn tune -o never.knn bad.knn held-out.txt
[ -e never.knn ] && fail "tune wrote never.knn after failing" || ok
run 0 "$AD" train transformer --quiet --bytes --preset tiny --steps 3 --threads 1 \
	-o other.bin train.txt
cp other.bin model.bin
run 1 "$AD" eval half.knn held-out.txt
has "$T/err" "another model"
lines "$T/err" 1
run 2 "$AD" knn build -o x.knn train.txt
run 2 "$AD" knn frobnicate
run 2 "$AD" knn build --lambda 2 -m model.bin -o x.knn train.txt
[ -e x.knn ] && fail "x.knn written by a usage error" || ok

# The man page's examples, with a fresh model.
run 0 "$AD" train transformer --quiet --bytes --preset tiny --steps 20 --threads 1 \
	-o model.bin train.txt
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-knn.1" |
	grep '^autodidact ' | sed 's/\\-/-/g' >examples
lines examples 5
while read -r line; do
	sh -c "\"\$0\" ${line#autodidact }" "$AD" >exout 2>exerr && ok ||
		fail "man example failed: $line: $(cat exerr)"
done <examples
[ -s contrast.html ] && [ -s tuned.knn ] && [ -s alone.knn ] && ok ||
	fail "the examples wrote no report or store"

# A store moved with its model: the recorded path is gone, the model of the
# same name beside the store is used.
mkdir moved && mv model.bin store.knn moved/ && ok || fail "cannot move the store"
run 0 "$AD" eval --quiet moved/store.knn held-out.txt
rm moved/model.bin
run 1 "$AD" eval --quiet moved/store.knn held-out.txt
has "$T/err" "cannot be read"
finish
