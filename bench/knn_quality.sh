#!/bin/sh
# bench/knn_quality.sh — the kNN-LM's figures on a book: the last 10% of
# its lines held out (the Project Gutenberg licence after the "*** END OF"
# line left out of the held-out text: it is not the book), a 2048-token BPE,
# the small transformer trained for BUDGET seconds, a store of every
# training token, then eval, tune (k, temperature, lambda on the held-out
# text's first half, figures on its second) and the contrast report.
# usage: bench/knn_quality.sh BOOK [BUDGET] [AUTODIDACT]
#   (default BUDGET 240 s; AUTODIDACT the program, default ./autodidact)
set -eu
book=$1
budget=${2:-240}
ad=${3:-./autodidact}
case $ad in /*) ;; *) ad=$(pwd)/$ad ;; esac
case $book in /*) ;; *) book=$(pwd)/$book ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
n=$(wc -l <"$book")
head -n $((n * 9 / 10)) "$book" >train.txt
tail -n +$((n * 9 / 10 + 1)) "$book" | sed '/^ *\*\*\* END OF/,$d' >held.txt
"$ad" tokenize train -q -o v.vocab --vocab-size 2048 train.txt
"$ad" train transformer -q -t v.vocab -o small.bin --preset small --time-budget "$budget" \
	--val held.txt --val-every 0 train.txt
/usr/bin/time -f 'build: %e s wall, %U s user, %M kB max resident' \
	"$ad" knn build -m small.bin -o small.knn train.txt
"$ad" eval -q small.bin held.txt
/usr/bin/time -f 'eval: %e s wall, %U s user, %M kB max resident' "$ad" eval -q small.knn held.txt
/usr/bin/time -f 'tune: %e s wall, %U s user, %M kB max resident' \
	"$ad" knn tune -o tuned.knn small.knn held.txt
"$ad" knn contrast small.knn
