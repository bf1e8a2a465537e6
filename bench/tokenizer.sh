#!/bin/sh
# bench/tokenizer.sh — the tokenizer against its peers, on the same text in
# the same run, medians of RUNS runs (default 3) and their ratios:
#
#   training   autodidact tokenize train  vs  SentencePiece spm_train
#              --model_type=bpe, same vocabulary sizes (4096, 16384), same
#              thread count; wall time and peak memory (/usr/bin/time %M)
#   encoding   autodidact (library encode time, tokenize info --json)  vs
#              npm tiktoken (WASM) encode_ordinary, same ranks (cl100k_base
#              and r50k_base from the npm package), same text, one thread;
#              our multi-threaded speed besides
#
# usage: bench/tokenizer.sh [path/to/autodidact]
# Environment: CORPORA (default ../shared/corpora beside the repository),
# AD_NPM_DIR (where node_modules/tiktoken is; default the quickstart cache),
# RUNS, THREADS (default: nproc).
# Needs: sentencepiece and time (Debian packages), node with npm tiktoken;
# bible-kjv adds the King James Bible to reach about 6 MB of text.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
AD=${1:-./autodidact}
CORPORA=${CORPORA:-$here/../../shared/corpora}
RUNS=${RUNS:-3}
THREADS=${THREADS:-$(nproc)}
AD_NPM_DIR=${AD_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/autodidact/npm}
export AD_NPM_DIR
js=$here/../tests/tiktoken-oracle.js
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for tool in spm_train node /usr/bin/time; do
	command -v "$tool" >/dev/null 2>&1 ||
		{ echo "tokenizer.sh: $tool is missing (apt-get install sentencepiece time nodejs)" >&2; exit 1; }
done

# About 6 MB of real text: the shared corpora, then the KJV Bible, cut at a line.
cat "$CORPORA"/*.txt >"$tmp/all.txt"
if command -v bible >/dev/null 2>&1; then
	bible -f "Gen1:1-Rev22:21" 2>/dev/null >>"$tmp/all.txt" || true
fi
head -c 6000000 "$tmp/all.txt" | sed '$d' >"$tmp/corpus.txt"
bytes=$(wc -c <"$tmp/corpus.txt")
echo "corpus: $bytes bytes, $(wc -l <"$tmp/corpus.txt") lines ($CORPORA/*.txt, then the KJV Bible)"
echo "machine: $(nproc) cores; threads: $THREADS; runs: $RUNS (medians)"

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# time_run OUTFILE CMD...: append "seconds kilobytes" of one run.
time_run() {
	out=$1
	shift
	/usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" ||
		{ echo "failed: $*" >&2; cat "$tmp/err" >&2; exit 1; }
	cat "$tmp/t" >>"$out"
}

echo
echo "== training (wall seconds, peak MB)"
for V in 4096 16384; do
	: >"$tmp/ours" ; : >"$tmp/spm"
	for r in $(seq "$RUNS"); do
		time_run "$tmp/ours" "$AD" tokenize train --quiet --threads "$THREADS" --vocab-size "$V" \
			-o "$tmp/v.bpe" "$tmp/corpus.txt"
		time_run "$tmp/spm" spm_train --input="$tmp/corpus.txt" --model_prefix="$tmp/spm" \
			--vocab_size="$V" --model_type=bpe --num_threads="$THREADS" --minloglevel=2
	done
	ot=$(cut -d' ' -f1 "$tmp/ours" | median); om=$(cut -d' ' -f2 "$tmp/ours" | median)
	st=$(cut -d' ' -f1 "$tmp/spm" | median); sm=$(cut -d' ' -f2 "$tmp/spm" | median)
	awk -v V="$V" -v ot="$ot" -v om="$om" -v st="$st" -v sm="$sm" 'BEGIN {
		printf "vocab %5d: autodidact %6.2f s %6.1f MB | spm_train %6.2f s %6.1f MB | %.1fx faster, %.2fx the memory\n",
		    V, ot, om / 1024, st, sm / 1024, st / ot, om / sm }'
done

echo
echo "== encoding (MB/s of encode time alone, vocabulary loading excluded)"
for v in cl100k_base:gpt4 r50k_base:gpt2; do
	enc=${v%%:*}
	pat=${v#*:}
	node "$js" ranks "$enc" "$tmp/$enc.tiktoken"
	node "$js" bench "$enc" "$tmp/corpus.txt" "$RUNS" >"$tmp/tk"
	: >"$tmp/o1"; : >"$tmp/on"
	for r in $(seq "$RUNS"); do
		"$AD" tokenize info --json --threads 1 -t "$tmp/$enc.tiktoken" --pattern "$pat" "$tmp/corpus.txt" >"$tmp/j1"
		"$AD" tokenize info --json --threads "$THREADS" -t "$tmp/$enc.tiktoken" --pattern "$pat" "$tmp/corpus.txt" >"$tmp/jn"
		sed -n 's/.*"encode_seconds": \([0-9.e-]*\).*/\1/p' "$tmp/j1" >>"$tmp/o1"
		sed -n 's/.*"encode_seconds": \([0-9.e-]*\).*/\1/p' "$tmp/jn" >>"$tmp/on"
	done
	ours_tokens=$(sed -n 's/.*"tokens": \([0-9]*\),$/\1/p' "$tmp/j1" | tail -1)
	tk_tokens=$(tail -1 "$tmp/tk" | cut -d' ' -f2)
	[ "$ours_tokens" = "$tk_tokens" ] || echo "WARNING: $enc: $ours_tokens tokens, tiktoken $tk_tokens"
	o1=$(median <"$tmp/o1"); on=$(median <"$tmp/on"); tk=$(cut -d' ' -f1 "$tmp/tk" | median)
	awk -v e="$enc" -v b="$bytes" -v o1="$o1" -v on="$on" -v tk="$tk" -v t="$THREADS" -v n="$tk_tokens" 'BEGIN {
		printf "%-11s (%d tokens): autodidact %.1f MB/s (1 thread), %.1f MB/s (%d threads) | tiktoken %.1f MB/s | %.1fx single-threaded\n",
		    e, n, b / o1 / 1e6, b / on / 1e6, t, b / tk / 1e6, tk / o1 }'
done
