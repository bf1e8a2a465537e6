#!/bin/sh
# tok-fixtures.sh — regenerate the checked-in tiktoken oracle of the
# tokenizer tests (tests/data/tok/) and the character classes of the
# hand-written pre-tokenizer (src/bpe/pretok_uni.c) from the real npm
# package "tiktoken".
#
#   AD_NPM_DIR=DIR sh tests/tok-fixtures.sh     (DIR/node_modules/tiktoken)
#
# Needs /usr/share/unicode/DerivedAge.txt (Debian's unicode-data) or
# AD_DERIVED_AGE=FILE, to pick characters by the Unicode version that added
# them. From the test strings it writes, for each set SET:
#   SET.hex                   the strings' UTF-8 bytes in hex, one per line
#   SET.ENC.expected          tiktoken's ids, one line per string
#   SET.ENC.subset.tiktoken   the ranks of every token that occurs inside a
#                             string, plus the 256 bytes: enough to give the
#                             exact ids without the full rank files
# The sets: cases (cases.jsonl, written by hand; its files keep the names
# cases.hex, ENC.expected and ENC.subset.tiktoken), unicode (unicode.jsonl,
# made here: characters of every Unicode version since 6.0, see
# tiktoken-oracle.js unicode) and special (special.jsonl, written by hand;
# ids of encode(s, allowed_special="all")). The package version used is
# recorded in tiktoken.version. The tests use these files when npm or the
# package is not there, and the package itself (all ranks) when it is.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
d=$here/data/tok
js=$here/tiktoken-oracle.js
: "${AD_NPM_DIR:?set AD_NPM_DIR to the directory holding node_modules/tiktoken}"
export AD_NPM_DIR
node "$js" classes "$here/../src/bpe/pretok_uni.c"
node "$js" unicode "${AD_DERIVED_AGE:-/usr/share/unicode/DerivedAge.txt}" "$d/unicode.jsonl"
node "$js" hex "$d/cases.jsonl" >"$d/cases.hex"
for enc in r50k_base cl100k_base; do
	node "$js" cases "$enc" "$d/cases.jsonl" >"$d/$enc.expected"
	node "$js" subset "$enc" "$d/cases.jsonl" "$d/$enc.subset.tiktoken"
done
for set in unicode special; do
	node "$js" hex "$d/$set.jsonl" >"$d/$set.hex"
	for enc in r50k_base cl100k_base o200k_base; do
		if [ $set = special ]; then
			node "$js" special "$enc" "$d/$set.jsonl" >"$d/$set.$enc.expected"
		else
			node "$js" cases "$enc" "$d/$set.jsonl" >"$d/$set.$enc.expected"
		fi
		node "$js" subset "$enc" "$d/$set.jsonl" "$d/$set.$enc.subset.tiktoken"
	done
done
node -e 'console.log("tiktoken " + require(process.argv[1] + "/node_modules/tiktoken/package.json").version)' \
	"$AD_NPM_DIR" >"$d/tiktoken.version"
