#!/bin/sh
# bench/ngram.sh — speed and memory of 'autodidact train ngram' and of
# scoring with the model, against KenLM (lmplz and query).
#
# KenLM is not packaged for Debian and cannot be fetched here, so there is no
# same-run peer: the KenLM figures below are QUOTED from the reference runs
# (shared/reference/kenlm/README.md and shared/corpora/README.md, lmplz -o 5
# -S 1G and query with a probing binary, on a machine of this kind), not
# re-measured. Everything of ours is measured here: medians of RUNS runs
# (default 3), wall time and peak RSS from /usr/bin/time.
#
# usage: bench/ngram.sh [path/to/autodidact] [--big]
#   --big  also train order 5 on a generated 100 M token corpus (about 500 MB
#          of text; a few minutes) and report its time and peak memory.
set -eu
AD=${1:-./autodidact}
BIG=${2:-}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "$0")/.." && pwd)
CORPORA=${CORPORA:-$HERE/../shared/corpora}
[ -d "$CORPORA" ] || CORPORA=/work/shared/corpora
[ -x /usr/bin/time ] || { echo "bench/ngram.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v bible >/dev/null || { echo "bench/ngram.sh: needs the King James Bible (apt-get install bible-kjv)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The KJV as in the reference README: one verse per line, verse number
# stripped; first 90% of lines train, the rest validation.
bible -l100000 "Gen1:1-Rev22:21" 2>/dev/null | sed -n 's/^ *[0-9][0-9]* //p' >"$tmp/kjv.txt"
n=$(wc -l <"$tmp/kjv.txt")
head -n $((n * 9 / 10)) "$tmp/kjv.txt" >"$tmp/kjv.train"
tail -n +$((n * 9 / 10 + 1)) "$tmp/kjv.txt" >"$tmp/kjv.val"
# The shared corpora as words: the three books, empty lines dropped.
cat "$CORPORA/pg1342_pride_and_prejudice_en.txt" "$CORPORA/pg2600_war_and_peace_en.txt" \
    "$CORPORA/pg5097_20000_lieues_fr.txt" | awk 'NF' >"$tmp/corpora.txt"
echo "KJV: $(wc -l <"$tmp/kjv.train") train lines, $(wc -w <"$tmp/kjv.train") words;" \
    "shared corpora: $(wc -l <"$tmp/corpora.txt") lines, $(wc -w <"$tmp/corpora.txt") words"

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Wall clock in nanoseconds (GNU date), or 0 where date has no %N.
now_ns() { date +%s%N 2>/dev/null | grep -x '[0-9]*' || echo 0; }

# timed NAME CMD...: run CMD RUNS times; print the medians "wall peakKB cpu"
# (cpu = user + system seconds: on a shared machine, the wall time of a
# single-threaded run grows with the other jobs, its CPU time much less).
# The wall time is read from the nanosecond clock where there is one:
# /usr/bin/time rounds to 10 ms, 7% of a 0.15 s run.
timed() {
	name=$1
	shift
	: >"$tmp/$name.t"
	i=0
	while [ $i -lt "$RUNS" ]; do
		t0=$(now_ns)
		/usr/bin/time -f "%e %M %U %S" -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" ||
			{ cat "$tmp/err" >&2; exit 1; }
		t1=$(now_ns)
		awk -v t0="$t0" -v t1="$t1" '{ print (t0 > 0 ? (t1 - t0) / 1e9 : $1), $2, $3 + $4 }' \
		    "$tmp/time" >>"$tmp/$name.t"
		i=$((i + 1))
	done
	echo "$(cut -d' ' -f1 "$tmp/$name.t" | median) $(cut -d' ' -f2 "$tmp/$name.t" | median)" \
	    "$(cut -d' ' -f3 "$tmp/$name.t" | median)"
}

# report LABEL "SECONDS KB" PEER_SECONDS PEER_MB
report() {
	echo "$2" | awk -v l="$1" -v ps="$3" -v pm="$4" '{
		printf "%-34s %5.2f s (cpu %5.2f s) %4.0f MB | lmplz (quoted) %4.2f s %3.0f MB | time x%.2f (cpu x%.2f) memory x%.2f\n",
		    l, $1, $3, $2 / 1024, ps, pm, $1 / ps, $3 / ps, ($2 / 1024) / pm }'
}

echo
echo "== estimation, order 5 (ratio < 1: faster / smaller than lmplz)"
r=$(timed kjv_arpa "$AD" train ngram --words --order 5 -q -o "$tmp/kjv.ngram" --arpa "$tmp/kjv.arpa" "$tmp/kjv.train")
report "KJV, binary + ARPA (lmplz writes ARPA)" "$r" 2.20 222
r=$(timed kjv_bin "$AD" train ngram --words --order 5 -q -o "$tmp/kjv.ngram" "$tmp/kjv.train")
report "KJV, binary only" "$r" 2.20 222
r=$(timed kjv_t1 env OMP_NUM_THREADS=1 "$AD" train ngram --words --order 5 -q -o "$tmp/kjv1.ngram" "$tmp/kjv.train")
report "KJV, binary only, 1 thread" "$r" 2.20 222
r=$(timed corp_arpa "$AD" train ngram --words --order 5 -q -o "$tmp/c.ngram" --arpa "$tmp/c.arpa" "$tmp/corpora.txt")
report "shared corpora, binary + ARPA" "$r" 3.10 233
r=$(timed corp_bin "$AD" train ngram --words --order 5 -q -o "$tmp/c.ngram" "$tmp/corpora.txt")
report "shared corpora, binary only" "$r" 3.10 233
echo "(lmplz: 3.1-3.4 s on the shared corpora; the ratio uses its best, 3.1 s)"
cmp -s "$tmp/kjv.ngram" "$tmp/kjv1.ngram" && echo "1 and 2 threads give the same model file" ||
	echo "WARNING: the model depends on the thread count"

echo
echo "== memory per stored n-gram (binary model, order 5, KJV)"
"$AD" train ngram --words --order 5 --json -q -o "$tmp/kjv.ngram" "$tmp/kjv.train" >"$tmp/kjv.json"
total=$(sed -n 's/.*"ngrams": *\([0-9]*\).*/\1/p' "$tmp/kjv.json" | awk '{ s += $1 } END { print s }')
size=$(wc -c <"$tmp/kjv.ngram")
echo "$total $size" | awk '{ printf "%d n-grams in %d bytes: %.1f bytes per n-gram\n", $1, $2, $2 / $1 }'
echo "(KenLM's probing model by its own formula: 1.5 slots per n-gram of 16 bytes (key, p, backoff),"
echo " 12 at the highest order: about 19-24 bytes per n-gram; ours uses the same layout)"

echo
echo "== scoring, order 5 KJV model, KJV validation text repeated 20 times, 1 thread"
i=0
while [ $i -lt 20 ]; do cat "$tmp/kjv.val"; i=$((i + 1)); done >"$tmp/val20.txt"
"$AD" eval --threads 1 --json -q "$tmp/kjv.ngram" "$tmp/val20.txt" >"$tmp/eval.json"
tokens=$(sed -n 's/.*"tokens": *\([0-9]*\).*/\1/p' "$tmp/eval.json" | head -n 1)
r=$(timed eval env OMP_NUM_THREADS=1 "$AD" eval --threads 1 -q "$tmp/kjv.ngram" "$tmp/val20.txt")
echo "$r $tokens" | awk '{ printf "autodidact eval: %d tokens in %.3f s (cpu %.3f s) = %.1f M tokens/s (cpu: %.1f M/s); KenLM query (quoted) ~10 M words/s: x%.2f (cpu x%.2f)\n",
    $4, $1, $3, $4 / $1 / 1e6, $4 / $3 / 1e6, ($4 / $1 / 1e6) / 10, ($4 / $3 / 1e6) / 10 }'
echo "(eval includes reading, splitting and looking up words, and the process start)"
ppl=$(sed -n 's/.*"perplexity": *\([0-9.]*\).*/\1/p' "$tmp/eval.json" | head -n 1)
echo "perplexity $ppl (query on this model and text, quoted: 305.63405266794285)"

if [ "$BIG" = --big ]; then
	# Words drawn log-uniformly from 200,000 types (a Zipf-like law), lines
	# of 1-30 words: almost every 5-gram is new, the hard case for memory
	# (the synth corpus has only ~48,000 distinct 5-grams in 100 M tokens).
	echo
	echo "== a generated corpus of ~100 M tokens, order 5 (limit: 24 GiB)"
	awk -v n=100000000 -v V=200000 'BEGIN { srand(1); lv = log(V); t = 0
	    while (t < n) { L = 1 + int(rand() * 30); line = "w" int(exp(rand() * lv))
	        for (i = 1; i < L; i++) line = line " w" int(exp(rand() * lv))
	        print line; t += L + 1 } }' >"$tmp/big.txt"
	echo "$(wc -l <"$tmp/big.txt") lines, $(wc -w <"$tmp/big.txt") words"
	/usr/bin/time -f "%e %M" -o "$tmp/time" "$AD" train ngram --words --order 5 -q --json \
	    --discount-fallback -o "$tmp/big.ngram" "$tmp/big.txt" >"$tmp/big.json"
	awk '{ printf "trained in %.1f s, peak RSS %.2f GiB\n", $1, $2 / 1048576 }' "$tmp/time"
	sed -n 's/.*"ngrams": *\([0-9]*\).*/\1/p' "$tmp/big.json" | tr '\n' ' ' |
	    awk '{ printf "n-grams per order: %s\n", $0 }'
	echo "model file: $(wc -c <"$tmp/big.ngram") bytes"
	rm -f "$tmp/big.txt" "$tmp/big.ngram"
fi
