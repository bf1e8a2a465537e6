#!/bin/sh
# ngram.sh — 'autodidact train ngram' from the command line: the perplexity
# KenLM's query printed for the fixtures, through 'autodidact eval'; both
# output formats; bytes and tokens; the man page's options and examples;
# every failure with its exit status, and no model overwritten by a failure.
. "$AD_SRCDIR/tests/lib.sh"
K=$AD_TESTDATA/kenlm

# close A B: A and B agree to 1e-6 relative.
close() {
	if awk -v a="$1" -v b="$2" 'BEGIN { d = a / b - 1; if (d < 0) d = -d; exit !(d <= 1e-6) }'
	then ok; else fail "$1 differs from $2 by more than 1e-6 relative"; fi
}

# json_num FILE KEY: the first number after "KEY": in FILE.
json_num() {
	sed -n "s/.*\"$2\": *\\([-0-9.eE+]*\\).*/\\1/p" "$1" | head -n 1
}

# Train, then eval: query's figures for tiny.val.txt (tiny.o3.query.txt).
run 0 "$AD" train ngram --words --order 3 -o "$T/m.ngram" --arpa "$T/m.arpa" "$K/tiny.train.txt"
has "$T/err" "3 5203 D1=0.835312 D2=1.40174 D3+=1.55003"
for model in "$T/m.ngram" "$T/m.arpa" "$K/tiny.o3.arpa"; do
	run 0 "$AD" eval --json "$model" "$K/tiny.val.txt"
	cp "$T/out" "$T/eval.json"
	close "$(json_num "$T/eval.json" perplexity)" 583.5145073740706
	close "$(json_num "$T/eval.json" perplexity_excl_oov)" 194.9662712187968
	[ "$(json_num "$T/eval.json" oovs)" = 427 ] && ok || fail "OOVs: $(json_num "$T/eval.json" oovs)"
	[ "$(json_num "$T/eval.json" tokens)" = 1414 ] && ok || fail "tokens"
done
# Our ARPA has lmplz's header.
head -n 4 "$T/m.arpa" >"$T/h1"
head -n 4 "$K/tiny.o3.arpa" >"$T/h2"
same "$T/h1" "$T/h2"

# --json, --quiet, stdin.
run 0 "$AD" train ngram --words --order 2 --quiet --json -o "$T/j.ngram" - <"$K/tiny.train.txt"
has "$T/out" '"ngrams": 3856'
[ -s "$T/err" ] && fail "--quiet printed: $(cat "$T/err")" || ok

# Bytes, and tokens through a tokenizer trained here.
run 0 "$AD" train ngram --bytes --order 4 -q -o "$T/b.ngram" "$K/tiny.train.txt"
run 0 "$AD" eval --json "$T/b.ngram" "$K/tiny.val.txt"
has "$T/out" '"kind": "ngram"'
run 0 "$AD" tokenize train -q --vocab-size 300 -o "$T/v.bpe" "$K/tiny.train.txt"
run 0 "$AD" train ngram -t "$T/v.bpe" --order 3 -q -o "$T/t.ngram" --arpa "$T/t.arpa" "$K/tiny.train.txt"
run 0 "$AD" eval "$T/t.ngram" "$K/tiny.val.txt"
# lmplz's view of a token model: the ids as words give the same ARPA.
run 0 "$AD" tokenize encode -t "$T/v.bpe" "$K/tiny.train.txt"
cp "$T/out" "$T/ids.txt"
run 0 "$AD" train ngram --words --order 3 -q --arpa "$T/w.arpa" "$T/ids.txt"
same "$T/t.arpa" "$T/w.arpa"

# The man page lists exactly the options of --help, and its examples run.
"$AD" train ngram --help >"$T/help"
sed 's/\\-/-/g' "$AD_SRCDIR/man/autodidact-train-ngram.1" >"$T/page"
grep -o -- '--[a-z][a-z0-9-]*' "$T/help" | sort -u >"$T/h"
sed -n '/^\.SH OPTIONS/,/^\.SH FILES/p' "$T/page" | grep -o -- '--[a-z][a-z0-9-]*' | sort -u >"$T/p"
same "$T/h" "$T/p"
head -n 200 "$K/tiny.train.txt" >"$T/train.txt"
tail -n 100 "$K/tiny.train.txt" >"$T/val.txt"
cp "$T/v.bpe" "$T/vocab.bpe"
sed -n '/^\.SH EXAMPLES/,/^\.SH SEE ALSO/p' "$AD_SRCDIR/man/autodidact-train-ngram.1" |
	grep '^autodidact ' | sed 's/\\-/-/g' >"$T/examples"
[ "$(wc -l <"$T/examples")" -ge 4 ] && ok || fail "too few examples in the man page"
while read -r line; do
	# shellcheck disable=SC2086
	(cd "$T" && set -- $line && shift && "$AD" "$@" >/dev/null 2>"$T/exerr") &&
		ok || fail "man example failed: $line: $(cat "$T/exerr")"
done <"$T/examples"

# Failures: usage errors exit 2, failures 1 with FILE:LINE, and an existing
# model is never replaced.
cp "$T/m.ngram" "$T/keep.ngram"
run 2 "$AD" train ngram --words --order 9 -o "$T/m.ngram" "$K/tiny.train.txt"
has "$T/err" "--order"
run 2 "$AD" train ngram --words --order 0 -o "$T/m.ngram" "$K/tiny.train.txt"
run 2 "$AD" train ngram --order 3 -o "$T/m.ngram" "$K/tiny.train.txt"
run 2 "$AD" train ngram --words --bytes -o "$T/m.ngram" "$K/tiny.train.txt"
run 2 "$AD" train ngram --words "$K/tiny.train.txt"
: >"$T/empty.txt"
run 1 "$AD" train ngram --words -o "$T/m.ngram" "$T/empty.txt"
has "$T/err" "empty"
printf 'a b\nc </s> d\n' >"$T/marker.txt"
run 1 "$AD" train ngram --words -o "$T/m.ngram" "$T/marker.txt"
has "$T/err" "marker.txt:2:"
run 1 "$AD" train ngram --words --order 3 -o "$T/m.ngram" "$T/train.txt" "$T/missing.txt"
has "$T/err" "missing.txt"
printf 'a b c\nb c a\n' >"$T/small.txt"
run 1 "$AD" train ngram --words --order 3 -o "$T/m.ngram" "$T/small.txt"
has "$T/err" "--discount-fallback"
same "$T/m.ngram" "$T/keep.ngram"
run 0 "$AD" train ngram --words --order 3 --discount-fallback -o "$T/f.ngram" "$T/small.txt"
has "$T/err" "(fallback)"
# A damaged model and a bad ARPA file are refused by eval.
cp "$T/m.ngram" "$T/bad.ngram"
printf 'X' | dd of="$T/bad.ngram" bs=1 seek=5000 conv=notrunc 2>/dev/null
run 1 "$AD" eval "$T/bad.ngram" "$K/tiny.val.txt"
has "$T/err" "checksum"
sed '7s/^-//' "$K/tiny.o3.arpa" >"$T/bad.arpa"
run 1 "$AD" eval "$T/bad.arpa" "$K/tiny.val.txt"
has "$T/err" "bad.arpa:7: positive log10 probability"
# Files are one text, except that a file without a final newline ends its
# last sentence there (man page): 'a b' then 'x y' are two sentences, so
# 'b </s>' is a bigram and no word 'bx' is made; the last file's unended
# line gets no </s> ('d </s>' is absent), as in lmplz.
printf 'a b' >"$T/f1.txt"
printf 'x y\nc d' >"$T/f2.txt"
run 0 "$AD" train ngram --quiet --words --order 2 --discount-fallback -o "$T/j.ngram" \
	--arpa "$T/j.arpa" "$T/f1.txt" "$T/f2.txt"
grep -q "	b </s>" "$T/j.arpa" && ok || fail "a file's unended last line did not end its sentence"
grep -q "bx" "$T/j.arpa" && fail "two files' lines were joined" || ok
grep -q "	d </s>" "$T/j.arpa" && fail "the last file's unended line got </s>" || ok
finish
