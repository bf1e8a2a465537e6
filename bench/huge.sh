#!/bin/sh
# bench/huge.sh — huge and hostile input (issue 8): what the commands do, and
# how much memory they take, on inputs generated here:
#
#   corpus   a corpus of 0.5, 1 and 2 GB (the three shared books, then
#            synthetic text) through 'tokenize train' (4096 ids), 'tokenize
#            encode' and 'train ngram -t' (order 3): peak RSS must not grow
#            with the size (it grows with distinct pieces and n-grams)
#   line     one line of 500 MB (the same text, newlines turned to spaces, no
#            final newline): train, encode, decode and cmp, train ngram
#   nul      10 MB of NUL bytes: train, encode, decode and cmp, train ngram
#            --bytes and -t, eval, sample, compare, a transformer
#   pattern  pathological --pattern regexes (exponential and quadratic
#            backtracking, deep recursion, nesting, huge repeats, empty
#            matches)
#   options  absurd option values (2^31, 2^64, NaN, negative, ...)
#
# One line per case: case | exit status | peak RSS | seconds | the first line
# of stderr (notes left out) | the command. Peak RSS and seconds come from
# /usr/bin/time.
#
# usage: bench/huge.sh [path/to/autodidact]
#   SCRATCH=DIR  where the inputs and outputs go (default
#                ${TMPDIR:-/tmp}/autodidact-huge; about 12 GB; generated inputs
#                are kept and reused; never inside the source tree)
#   SIZES="500000000 1000000000 2000000000"   corpus sizes in bytes
#   PARTS="corpus line nul pattern options"    the parts to run
set -eu
AD=${1:-./autodidact}
case $AD in /*) ;; *) AD=$(pwd)/$AD ;; esac
[ -x "$AD" ] || { echo "bench/huge.sh: no program at $AD (give the path of autodidact)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/huge.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
HERE=$(cd "$(dirname "$0")/.." && pwd)
CORPORA=${CORPORA:-$HERE/../shared/corpora}
[ -d "$CORPORA" ] || CORPORA=/work/shared/corpora
S=${SCRATCH:-${TMPDIR:-/tmp}/autodidact-huge}
SIZES=${SIZES:-500000000 1000000000 2000000000}
PARTS=${PARTS:-corpus line nul pattern options}
mkdir -p "$S"
S=$(cd "$S" && pwd)
case $S/ in "$HERE"/*) echo "bench/huge.sh: SCRATCH=$S is inside the source tree" >&2; exit 1 ;; esac
cd "$S"

# case NAME CMD...: run CMD (stdin from /dev/null, stdout to NAME.out), print
# the line of the case. Never stops the script.
case_() {
	name=$1
	shift
	set +e
	/usr/bin/time -f '%e s %M KB' -o "$S/time" "$@" </dev/null >"$S/$name.out" 2>"$S/$name.err"
	rc=$?
	set -e
	t=$(tail -n 1 "$S/time")
	printf '%-24s | %3s | %11s | %8s | %s | %s\n' "$name" "$rc" "${t#* s }" "${t%% s *} s" \
	    "$(grep -v -e '^Command exited with' -e ': note: ' "$S/$name.err" | head -n 1 | cut -c1-150)" \
	    "$(printf '%s' "$*" | sed "s|$AD|autodidact|; s|$S/||g" | cut -c1-160)"
}

header() {
	echo
	echo "== $*"
	printf '%-24s | %3s | %11s | %8s | %s | %s\n' case rc "peak RSS" time "stderr (first line)" command
}

has_part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

# The corpus of n bytes: the three books, then synthetic text to n bytes.
corpus() {
	n=$1
	f=$S/corpus-$n.txt
	if [ ! -s "$f" ] || [ "$(wc -c <"$f")" -lt "$n" ]; then
		books=$(cat "$CORPORA"/pg*.txt | wc -c)
		{ cat "$CORPORA"/pg*.txt; "$AD" synth --quiet --seed 1 --bytes $((n - books)) \
		    --truth "$S/truth.tsv" -o -; } >"$f"
	fi
	echo "$f"
}

echo "bench/huge.sh: $("$AD" --version 2>/dev/null | head -n 1 || echo autodidact) in $S;" \
    "$(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GB", $2 / 1048576 }' /proc/meminfo)"

if has_part corpus; then
	header "corpus: tokenize train, encode, train ngram at each size (peak RSS must stay flat)"
	first=
	for n in $SIZES; do
		f=$(corpus "$n")
		[ -n "$first" ] || first=$n
		case_ "train-$n" "$AD" tokenize train --quiet --vocab-size 4096 -o "$S/v-$n.bpe" "$f"
		# Encoding and counting use the vocabulary of the first size, so
		# that only the size of the text changes.
		case_ "encode-$n" "$AD" tokenize encode -t "$S/v-$first.bpe" -o "$S/ids.txt" "$f"
		case_ "decode-$n" "$AD" tokenize decode -t "$S/v-$first.bpe" -o "$S/back.txt" "$S/ids.txt"
		case_ "roundtrip-$n" cmp "$S/back.txt" "$f"
		rm -f "$S/ids.txt" "$S/back.txt"
		case_ "ngram3-$n" "$AD" train ngram --quiet -t "$S/v-$first.bpe" --order 3 \
		    -o "$S/m3-$n.ngram" "$f"
	done
fi

if has_part line; then
	header "line: one line of 500 MB, no newline"
	f=$S/line-500m.txt
	if [ ! -s "$f" ]; then
		{ cat "$CORPORA"/pg*.txt; "$AD" synth --quiet --seed 2 --bytes 495000000 \
		    --truth "$S/truth.tsv" -o -; } | tr '\n' ' ' >"$f"
	fi
	case_ line-train "$AD" tokenize train --quiet --vocab-size 4096 -o "$S/line.bpe" "$f"
	case_ line-encode "$AD" tokenize encode -t "$S/line.bpe" -o "$S/line.ids" "$f"
	case_ line-decode "$AD" tokenize decode -t "$S/line.bpe" -o "$S/line.back" "$S/line.ids"
	case_ line-roundtrip cmp "$S/line.back" "$f"
	case_ line-stream-encode "$AD" tokenize encode --stream -t "$S/line.bpe" -o "$S/line.sids" "$f"
	# The same ids (--stream ends its output with a newline).
	case_ line-stream-same sh -c 'head -c "$(wc -c <"$1")" "$2" | cmp - "$1"' sh "$S/line.ids" "$S/line.sids"
	rm -f "$S/line.back" "$S/line.sids"
	# Synthetic text is too regular for Kneser-Ney's discounts: the fixed ones.
	case_ line-ngram3-tokens "$AD" train ngram --quiet -t "$S/line.bpe" --order 3 \
	    --discount-fallback -o "$S/line3.ngram" "$f"
	case_ line-ngram5-words "$AD" train ngram --quiet --words --order 5 --discount-fallback \
	    -o "$S/line5w.ngram" "$f"
	case_ line-ngram3-bytes "$AD" train ngram --quiet --bytes --order 3 --discount-fallback \
	    -o "$S/line3b.ngram" "$f"
	case_ line-ngram3-idsfile "$AD" train ngram --quiet --words --order 3 --discount-fallback \
	    -o "$S/line3i.ngram" "$S/line.ids"
	rm -f "$S/line.ids"
fi

if has_part nul; then
	header "nul: 10 MB of NUL bytes"
	f=$S/nul-10m
	head -c 10000000 /dev/zero >"$f"
	case_ nul-train "$AD" tokenize train --quiet --vocab-size 4096 -o "$S/nul.bpe" "$f"
	case_ nul-encode "$AD" tokenize encode -t "$S/nul.bpe" -o "$S/nul.ids" "$f"
	case_ nul-decode "$AD" tokenize decode -t "$S/nul.bpe" -o "$S/nul.back" "$S/nul.ids"
	case_ nul-roundtrip cmp "$S/nul.back" "$f"
	case_ nul-ngram3-bytes "$AD" train ngram --quiet --bytes --order 3 -o "$S/nulb.ngram" "$f"
	case_ nul-ngram3-bytes-fb "$AD" train ngram --quiet --bytes --order 3 --discount-fallback \
	    -o "$S/nulb.ngram" "$f"
	case_ nul-ngram3-tokens-fb "$AD" train ngram --quiet -t "$S/nul.bpe" --order 3 \
	    --discount-fallback -o "$S/nult.ngram" "$f"
	case_ nul-eval-bytes "$AD" eval --quiet "$S/nulb.ngram" "$f"
	case_ nul-eval-tokens "$AD" eval --quiet "$S/nult.ngram" "$f"
	case_ nul-sample "$AD" sample -n 20 "$S/nult.ngram"
	# One line: nothing is left to train on once a held-out part is split off
	# by lines; with the file itself as the held-out text, they run.
	case_ nul-compare "$AD" compare --quiet --no-transformer --orders 2..3 --out "$S/nul.cmp" "$f"
	case_ nul-compare-val "$AD" compare --quiet --orders 2..3 --steps 20 --preset tiny --val "$f" \
	    --out "$S/nul.cmp" "$f"
	case_ nul-transformer "$AD" train transformer --quiet --bytes --preset tiny --steps 20 \
	    -o "$S/nul.gpt" "$f"
	case_ nul-transformer-val "$AD" train transformer --quiet --bytes --preset tiny --steps 20 \
	    --val "$f" -o "$S/nul.gpt" "$f"
	case_ nul-eval-transformer "$AD" eval --quiet "$S/nul.gpt" "$f"
	rm -f "$S/nul.ids" "$S/nul.back"
fi

if has_part pattern; then
	header "pattern: pathological --pattern regexes (tokenize train)"
	awk 'BEGIN { s = ""; for (i = 0; i < 100000; i++) s = s "a"; print "xy " s "b" }' >"$S/ab.txt"
	head -c 10000000 /dev/zero | tr '\0' a >"$S/a10m.txt"
	nest=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "("; printf "a"; for (i = 0; i < 10000; i++) printf ")" }')
	p() { name=$1; pat=$2; shift 2; case_ "$name" "$AD" tokenize train --quiet --vocab-size 300 \
	    --pattern "$pat" -o "$S/p.bpe" "$@"; }
	p exponential '(a+)+$' "$S/ab.txt"
	p exponential-nojit '(*NO_JIT)(a+)+$' "$S/ab.txt"
	p quadratic-counted '(?:a|b)+c|a' "$S/ab.txt"
	p quadratic-uncounted 'a+c|a' "$S/ab.txt"
	p recursion-jit 'a(?R)?' "$S/a10m.txt"
	p recursion-nojit '(*NO_JIT)a(?R)?' "$S/a10m.txt"
	p nested-10000 "$nest" "$S/ab.txt"
	p repeat-1e6 'a{1000000}' "$S/ab.txt"
	p repeat-too-large '(?:a{0,65535}){0,65535}' "$S/ab.txt"
	p empty-match 'x*|(?=a)|\b' "$S/a10m.txt"
	p builtin-10m-a gpt4 "$S/a10m.txt"
fi

if has_part options; then
	header "options: absurd values (usage errors exit 2; legal extremes give a result)"
	f=$S/small.txt
	"$AD" synth --quiet --seed 3 --sentences 3000 --truth "$S/truth.tsv" -o "$f"
	"$AD" tokenize train --quiet --vocab-size 400 -o "$S/small.bpe" "$f"
	"$AD" train ngram --quiet -t "$S/small.bpe" --order 3 -o "$S/small.ngram" "$f"
	o() { name=$1; shift; case_ "$name" "$AD" "$@"; }
	o vocab-2^31 tokenize train --quiet --vocab-size 2147483648 -o "$S/x.bpe" "$f"
	o vocab-2^31-1 tokenize train --quiet --vocab-size 2147483647 -o "$S/x.bpe" "$f"
	o vocab-2^32 tokenize train --quiet --vocab-size 4294967296 -o "$S/x.bpe" "$f"
	o vocab-2^64 tokenize train --quiet --vocab-size 18446744073709551616 -o "$S/x.bpe" "$f"
	o vocab-2^30 tokenize train --quiet --vocab-size 1073741824 -o "$S/x.bpe" "$f"
	o order-9 train ngram --quiet --words --order 9 -o "$S/x.ngram" "$f"
	o order-2^32+3 train ngram --quiet --words --order 4294967299 -o "$S/x.ngram" "$f"
	o temperature-nan sample --temperature nan "$S/small.ngram"
	o temperature--1 sample --temperature -1 "$S/small.ngram"
	o temperature-inf sample --temperature inf "$S/small.ngram"
	o temperature-0 sample --temperature 0 -n 10 "$S/small.ngram"
	o top-p-nan sample --top-p nan "$S/small.ngram"
	o top-k-2^64 sample --top-k 18446744073709551616 "$S/small.ngram"
	o seed--1 sample --seed -1 "$S/small.ngram"
	o seed-tab--1 sample --seed "$(printf '\t-1')" "$S/small.ngram"
	o tokens-2^64 sample -n 18446744073709551616 "$S/small.ngram"
	o time-budget-nan train transformer --quiet -t "$S/small.bpe" --time-budget nan -o "$S/x.gpt" "$f"
	o lr-inf train transformer --quiet -t "$S/small.bpe" --lr inf -o "$S/x.gpt" "$f"
	o batch-2^20-ctx-64k train transformer --quiet -t "$S/small.bpe" --batch 1048576 --context 65536 \
	    -o "$S/x.gpt" "$f"
	o dim-16k-layers-256 train transformer --quiet -t "$S/small.bpe" --dim 16384 --heads 1 --layers 256 \
	    -o "$S/x.gpt" "$f"
	o eval-threads-0 eval --threads 0 "$S/small.ngram" "$f"
	o compare-orders-wrap compare --quiet --orders 1..4294967297 --out "$S/x.cmp" "$f"
	o compare-valfrac-nan compare --quiet --val-fraction nan --out "$S/x.cmp" "$f"
	o probe-alpha-nan probe --quiet "$S/small.ngram" --probes gender-occupation --alpha nan
	o probe-bootstrap--1 probe --quiet "$S/small.ngram" --probes gender-occupation --bootstrap -1
	o synth-bias-nan synth --quiet --bias nan -o "$S/x.txt"
	o synth-sentences-0 synth --quiet --sentences 0 -o "$S/x.txt"
fi
