#!/bin/sh
# probe-vectors.sh — 'probe --vectors FILE': WEAT on published word vectors,
# checked against the figures of Caliskan et al.'s WEAT 7 on the 32 GloVe
# vectors that the R package sweater ships (tests/data/probe/README): d =
# 1.0550148 with the sample sd, p = 201/12870 over all 12,870 partitions.
# The same vectors in word2vec's text format and gzip-compressed (made here
# with gzip(1)) give the same; words the file lacks are listed; bad files
# name the file and the line; the man page's examples run.
. "$AD_SRCDIR/tests/lib.sh"
AUTODIDACT_PROBES="$AD_SRCDIR/corpora/probes"
export AUTODIDACT_PROBES
D=$AD_TESTDATA/probe
G=$D/glove_math.txt

# weat7 JSON SOURCE: "partitions d p exact" of the WEAT 7 row of SOURCE.
weat7() {
	awk -v src="\"$2\"" '
	/"test": "weat[0-9]/ { t = /weat7-math-arts/; s = 0; next }
	t && /"source": / { s = index($0, src) > 0 }
	t && s && /"partitions": / { gsub(/,/, ""); part = $2 }
	t && s && /"value": / && v == "" { gsub(/,/, ""); v = $2 }
	t && s && /"p": / && p == "" { gsub(/,/, ""); p = $2 }
	t && s && /"exact": / { gsub(/,/, ""); print part, v, p, $2; exit }' "$1"
}
# check7 JSON SOURCE WHAT: that row is Caliskan's WEAT 7 on these vectors.
check7() {
	weat7 "$1" "$2" >"$T/w7"
	awk '{ dd = $2 - 1.0550147873162634; dp = $3 * 12870 - 201;
	       exit !($1 == 12870 && dd * dd < 1e-14 && dp * dp < 1e-12 && $4 == "true") }' "$T/w7" &&
		ok || fail "$3: WEAT 7 (partitions d p exact) is '$(cat "$T/w7")', expected 12870 1.0550148 201/12870 true"
}

# ---- usage ---------------------------------------------------------------------------
run 2 "$AD" probe --vectors "$G"
has "$T/err" "no probe set"
run 2 "$AD" probe --probes weat-classic
has "$T/err" "--vectors FILE"

# ---- GloVe text: Caliskan's WEAT 7 ----------------------------------------------------
run 0 "$AD" probe --quiet --vectors "$G" --probes weat-classic --format json -o "$T/g.json"
check7 "$T/g.json" "$G" "GloVe text"
has "$T/g.json" '"kind": "vectors"'
has "$T/g.json" '"description": "GloVe text, 32 words x 300 dimensions"'
# Markdown: the vectors among the inputs, the row, and the tests whose words are absent.
run 0 "$AD" probe --quiet --vectors "$G" --probes weat-classic -o "$T/g.md"
has "$T/g.md" "| $G | vectors | GloVe text, 32 words x 300 dimensions | 9600 |"
grep "^| weat7-math-arts: .* | $G | 8/8/8/8 | – | 1.055 | " "$T/g.md" >"$T/row"
lines "$T/row" 1
has "$T/row" "| 0.0156 |"
has "$T/g.md" "not scored: no word of science is in the vectors; left out: science, technology,"
has "$T/g.md" "strictly larger"

# ---- word2vec text: the same --------------------------------------------------------
{ echo "32 300"; cat "$G"; } >"$T/w2v.txt"
run 0 "$AD" probe --quiet --vectors "$T/w2v.txt" --probes weat-classic --format json -o "$T/w.json"
check7 "$T/w.json" "$T/w2v.txt" "word2vec text"
has "$T/w.json" '"description": "word2vec text, 32 words x 300 dimensions"'

# ---- gzip, by its magic bytes, whatever the name ---------------------------------------
if grep -q '^#define HAVE_ZLIB 1' "$AD_BUILDDIR/config.h"; then
	gzip -c "$G" >"$T/g.txt.gz"
	run 0 "$AD" probe --quiet --vectors "$T/g.txt.gz" --probes weat-classic --format json -o "$T/z.json"
	check7 "$T/z.json" "$T/g.txt.gz" "gzip"
	has "$T/z.json" '"description": "GloVe text, gzip, 32 words x 300 dimensions'
	gzip -c "$T/w2v.txt" >"$T/named.txt"
	run 0 "$AD" probe --quiet --vectors "$T/named.txt" --probes weat-classic --format json -o "$T/n.json"
	check7 "$T/n.json" "$T/named.txt" "gzip named .txt"
	head -c 30000 "$T/g.txt.gz" >"$T/cut.gz"
	run 1 "$AD" probe --quiet --vectors "$T/cut.gz" --probes weat-classic
	lines "$T/err" 1
	has "$T/err" "autodidact: $T/cut.gz: the gzip file is cut short (unexpected end of file)"
	printf '\037\213not deflate' >"$T/junk.gz"
	run 1 "$AD" probe --quiet --vectors "$T/junk.gz" --probes weat-classic
	lines "$T/err" 1
	has "$T/err" "autodidact: $T/junk.gz: a damaged gzip file: "
else
	gzip -c "$G" >"$T/g.txt.gz"
	run 1 "$AD" probe --quiet --vectors "$T/g.txt.gz" --probes weat-classic
	lines "$T/err" 1
	has "$T/err" "built without zlib"
fi

# ---- words the vectors lack are left out and listed ------------------------------------
awk -F'\t' -v OFS='\t' '$1 == "math" { $2 = $2 " zyzzyva" } 1' \
	"$AD_SRCDIR/corpora/probes/weat-classic.probe" >"$T/plus.probe"
has "$T/plus.probe" "zyzzyva"
run 0 "$AD" probe --quiet --vectors "$G" --probes "$T/plus.probe" --format json -o "$T/p.json"
check7 "$T/p.json" "$G" "with a word the vectors lack"
has "$T/p.json" '"left_out": "zyzzyva (not in the vectors)"'
# A long list (60 words, over 1,500 bytes) is written whole in every format.
awk -F'\t' -v OFS='\t' '$1 == "math" { for (i = 1; i <= 60; i++) $2 = $2 sprintf(" absentword%02dfromthevectors", i) } 1' \
	"$AD_SRCDIR/corpora/probes/weat-classic.probe" >"$T/long.probe"
run 0 "$AD" probe --quiet --vectors "$G" --probes "$T/long.probe" -o "$T/long.md"
has "$T/long.md" "| | left out: absentword01fromthevectors, absentword02fromthevectors,"
has "$T/long.md" "absentword59fromthevectors, absentword60fromthevectors (not in the vectors) | |"
run 0 "$AD" probe --quiet --vectors "$G" --probes "$T/long.probe" -o "$T/long.html"
has "$T/long.html" "absentword59fromthevectors, absentword60fromthevectors (not in the vectors)</td></tr>"

# ---- beside a model: its row and the vectors' -----------------------------------------
printf 'the man and the woman\nthe boy and the girl\n' >"$T/tiny.txt"
run 0 "$AD" train ngram --quiet --words --order 2 --discount-fallback -o "$T/tiny.ngram" \
	"$T/tiny.txt"
run 0 "$AD" probe --quiet "$T/tiny.ngram" --vectors "$G" --probes weat-classic --format json \
	-o "$T/m.json"
check7 "$T/m.json" "$G" "beside a model"
grep -c '"kind": ' "$T/m.json" >"$T/kinds"
has "$T/kinds" "2"
has "$T/m.json" "no token embeddings"

# ---- beside a corpus: the corpus's words for every source, and a warning --------------
run 0 "$AD" probe --quiet --vectors "$G" --probes weat-classic --corpus "$T/tiny.txt" -o "$T/c.md"
has "$T/c.md" "$G is a file of word vectors, which does not record the text they were trained on"
has "$T/c.md" "WEAT weat7-math-arts: left out for every source, never seen in the corpus: math,"

# ---- bad files: one line naming the file and the line; nothing written ----------------
echo "an old report" >"$T/old.md"
bad() {   # bad NAME EXPECTED: NAME is a bad vector file in $T
	run 1 "$AD" probe --quiet --vectors "$T/$1" --probes weat-classic -o "$T/old.md"
	lines "$T/err" 1
	has "$T/err" "autodidact: $T/$1$2"
	has "$T/old.md" "an old report"
}
awk 'NR == 5 { $NF = "" } 1' "$G" >"$T/short.txt"
bad short.txt ":5: 299 numbers after the word, expected 300 (as on line 1)"
awk 'NR == 7 { $2 = "abc" } 1' "$G" >"$T/nan.txt"
bad nan.txt ":7: number 1, 'abc', is not a decimal number"
{ cat "$G"; head -n 1 "$G"; } >"$T/twice.txt"
bad twice.txt ":33: '$(head -n 1 "$G" | cut -d ' ' -f 1)' appears again (first on line 1)"
{ echo "31 300"; cat "$G"; } >"$T/count.txt"
bad count.txt ":1: the header announces 31 vectors, the file has 32"
{ echo "32 299"; cat "$G"; } >"$T/dim.txt"
bad dim.txt ":2: 300 numbers after the word, expected 299 (as the header on line 1 says)"
: >"$T/empty.txt"
bad empty.txt ": no vectors in the file"
bad missing.txt ": No such file or directory"

# ---- the man page's examples -------------------------------------------------------------
cd "$T" || exit 1
cp "$G" glove_math.txt
run 0 "$AD" probe --quiet --vectors glove_math.txt --probes weat-classic
grep "^| weat7-math-arts: .* | glove_math.txt | 8/8/8/8 | – | 1.055 | .* | 0.0156 | " "$T/out" >"$T/row"
lines "$T/row" 1
if grep -q '^#define HAVE_ZLIB 1' "$AD_BUILDDIR/config.h"; then
	# A stand-in for the published file: the same format, compressed.
	gzip -c "$G" >glove.840B.300d.txt.gz
	run 0 "$AD" probe --quiet --vectors glove.840B.300d.txt.gz --probes weat-classic \
		--format json -o weat.json
	check7 weat.json glove.840B.300d.txt.gz "the man page's example"
fi
finish
