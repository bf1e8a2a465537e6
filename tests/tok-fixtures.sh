#!/bin/sh
# tok-fixtures.sh — regenerate the checked-in tiktoken oracle of the
# tokenizer tests (tests/data/tok/) from the real npm package "tiktoken".
#
#   AD_NPM_DIR=DIR sh tests/tok-fixtures.sh     (DIR/node_modules/tiktoken)
#
# From tests/data/tok/cases.jsonl (the test strings, written by hand, one
# JSON string per line) it writes:
#   cases.hex                 the strings' UTF-8 bytes in hex, one per line
#   ENC.expected              tiktoken's ids (encode_ordinary), one line per string
#   ENC.subset.tiktoken       the ranks of every token that occurs inside a
#                             string, plus the 256 bytes: enough to give the
#                             exact ids without the full rank files
# for ENC in r50k_base and cl100k_base. The package version used is recorded
# in tiktoken.version. The tests use these files when npm or the package is
# not there, and the package itself (all ranks) when it is.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
d=$here/data/tok
js=$here/tiktoken-oracle.js
node "$js" hex "$d/cases.jsonl" >"$d/cases.hex"
for enc in r50k_base cl100k_base; do
	node "$js" cases "$enc" "$d/cases.jsonl" >"$d/$enc.expected"
	node "$js" subset "$enc" "$d/cases.jsonl" "$d/$enc.subset.tiktoken"
done
node -e 'console.log("tiktoken " + require(process.argv[1] + "/node_modules/tiktoken/package.json").version)' \
	"${AD_NPM_DIR:?set AD_NPM_DIR to the directory holding node_modules/tiktoken}" >"$d/tiktoken.version"
