#!/bin/sh
# tokenize.sh — "autodidact tokenize" on the command line: the man page's
# examples, round trips of token files, thread-count independence, every
# bad-input path, and tiktoken's own ids through the real npm package when
# it is installed (quickstart test installs it; check_bpe always checks the
# checked-in ids that the same package produced).
. "$AD_SRCDIR/tests/lib.sh"
D=$AD_TESTDATA/tok

# A corpus: synthetic English plus the test strings of the tiktoken oracle.
"$AD" synth --quiet --seed 4 --sentences 3000 -o "$T/corpus.txt" || fail "synth"
cat "$D/cases.jsonl" >>"$T/corpus.txt"

# The man page's first example.
run 0 "$AD" tokenize train --quiet --vocab-size 600 --special '<|endoftext|>' -o "$T/v.bpe" "$T/corpus.txt"
has "$T/v.bpe" "autodidact-bpe 1"
has "$T/v.bpe" "special 599 <|endoftext|>"
run 0 "$AD" tokenize encode -t "$T/v.bpe" "$T/corpus.txt" -o "$T/corpus.ids"
"$AD" tokenize decode -t "$T/v.bpe" "$T/corpus.ids" | cmp - "$T/corpus.txt" && ok || fail "decode | cmp"
lines "$T/corpus.ids" "$(wc -l <"$T/corpus.txt")"

# Token files: a line per line, empty lines kept, the final newline as given.
printf 'one two\n\nthree\r\nno newline at the end' >"$T/a.txt"
run 0 "$AD" tokenize encode -t "$T/v.bpe" "$T/a.txt" -o "$T/a.ids"
lines "$T/a.ids" 3
[ "$(sed -n 2p "$T/a.ids")" = "" ] && ok || fail "an empty line should give an empty line"
[ "$(tail -c 1 "$T/a.ids" | od -An -c | tr -d ' ')" != '\n' ] && ok || fail "final newline added"
run 0 "$AD" tokenize decode -t "$T/v.bpe" "$T/a.ids" -o "$T/a.back"
same "$T/a.txt" "$T/a.back"

# Any bytes round-trip, in both modes: binary, NUL, invalid UTF-8, a long line.
head -c 200000 "$AD" >"$T/bin"
printf 'x\000y\355\240\200z\377\n' >>"$T/bin"
awk 'BEGIN { for (i = 0; i < 30000; i++) printf "word%d ", i % 97; print "" }' >>"$T/bin"
for mode in "" --stream; do
	run 0 "$AD" tokenize encode $mode -t "$T/v.bpe" "$T/bin" -o "$T/bin.ids"
	run 0 "$AD" tokenize decode $mode -t "$T/v.bpe" "$T/bin.ids" -o "$T/bin.back"
	same "$T/bin" "$T/bin.back"
done
: >"$T/empty"
run 0 "$AD" tokenize encode -t "$T/v.bpe" "$T/empty" -o "$T/empty.ids"
[ ! -s "$T/empty.ids" ] && ok || fail "empty input should give an empty token file"
# stdin and stdout
"$AD" tokenize encode -t "$T/v.bpe" <"$T/a.txt" | "$AD" tokenize decode -t "$T/v.bpe" - | cmp - "$T/a.txt" && ok || fail "pipe round trip"

# The same ids whatever the thread count (blocks of lines; stream blocks).
for i in 1 2 3 4 5 6 7 8; do cat "$T/corpus.txt"; done >"$T/big.txt"
for mode in "" --stream; do
	run 0 "$AD" tokenize encode $mode --threads 1 -t "$T/v.bpe" "$T/big.txt" -o "$T/t1"
	run 0 "$AD" tokenize encode $mode --threads 2 -t "$T/v.bpe" "$T/big.txt" -o "$T/t2"
	same "$T/t1" "$T/t2"
done
# Training too.
run 0 "$AD" tokenize train --quiet --threads 1 --vocab-size 700 -o "$T/v1.bpe" "$T/big.txt"
run 0 "$AD" tokenize train --quiet --threads 2 --vocab-size 700 -o "$T/v2.bpe" "$T/big.txt"
same "$T/v1.bpe" "$T/v2.bpe"
# Several files and stdin are one corpus.
run 0 "$AD" tokenize train --quiet --vocab-size 700 -o "$T/v3.bpe" "$T/big.txt" "$T/a.txt"
cat "$T/big.txt" "$T/a.txt" | "$AD" tokenize train --quiet --vocab-size 700 -o "$T/v4.bpe" - && ok || fail "train from stdin"
same "$T/v3.bpe" "$T/v4.bpe"

# Normalization is stored and applied: NFKC + case folding.
printf 'Caf\303\251 CAFE\314\201 \357\254\201ne\n' >"$T/n.txt"
run 0 "$AD" tokenize train --quiet --normalize nfkc --casefold --vocab-size 300 -o "$T/n.bpe" "$T/n.txt"
has "$T/n.bpe" "normalize nfkc"
has "$T/n.bpe" "casefold yes"
run 0 "$AD" tokenize encode -t "$T/n.bpe" "$T/n.txt" -o "$T/n.ids"
run 0 "$AD" tokenize decode -t "$T/n.bpe" "$T/n.ids" -o "$T/n.back"
printf 'caf\303\251 caf\303\251 fine\n' >"$T/n.want"
same "$T/n.back" "$T/n.want"

# info: sizes, pattern, specials, compression; --json.
run 0 "$AD" tokenize info -t "$T/v.bpe" "$T/corpus.txt"
has "$T/out" "ids         600 (599 regular tokens, 1 special)"
has "$T/out" "pattern     gpt4:"
has "$T/out" "special     599 \"<|endoftext|>\""
has "$T/out" "bytes/token"
run 0 "$AD" tokenize info --json -t "$T/v.bpe" "$T/corpus.txt"
has "$T/out" '"ids": 600'
has "$T/out" '"bytes_per_token":'

# A corpus too small for the vocabulary: a note, exit 0, a valid smaller vocabulary.
printf 'abababab cdcd\n' >"$T/tiny.txt"
run 0 "$AD" tokenize train --vocab-size 5000 -o "$T/tiny.bpe" "$T/tiny.txt"
has "$T/err" "stopped after"
run 0 "$AD" tokenize info -t "$T/tiny.bpe"

# ---- bad input: one line naming the file (and line), exit 1 -----------------
echo "precious" >"$T/keep.bpe"
run 1 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/keep.bpe" "$T/empty"
lines "$T/err" 1
has "$T/err" "empty: no text"
run 1 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/keep.bpe" "$T/no-such-file"
has "$T/err" "no-such-file"
run 1 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/keep.bpe" "$T"
has "$T/err" "is a directory"
run 1 "$AD" tokenize train --quiet --vocab-size 300 --pattern '([a-z' -o "$T/keep.bpe" "$T/a.txt"
has "$T/err" "offset 5"
has "$T/err" "missing terminating ]"
[ "$(cat "$T/keep.bpe")" = precious ] && ok || fail "a failed training overwrote its output"
[ "$(ls -a "$T" | grep -c '\.tmp-')" -eq 0 ] && ok || fail "a temporary file was left behind"

# Vocabularies: truncated, corrupted, newer, duplicate rank.
head -c 3000 "$T/v.bpe" >"$T/trunc.bpe"
sed 's/^300 /300 X/' "$T/v.bpe" >"$T/corrupt.bpe"
sed '1s/ 1$/ 9/' "$T/v.bpe" >"$T/newer.bpe"
sed 's/^301 /300 /' "$T/v.bpe" >"$T/dup.bpe"   # (the checksum fails first: also refused)
for bad in trunc:truncated corrupt:checksum newer:"version 9" dup:checksum; do
	f=${bad%%:*}
	echo "old output" >"$T/keep.ids"
	run 1 "$AD" tokenize encode -t "$T/$f.bpe" "$T/a.txt" -o "$T/keep.ids"
	lines "$T/err" 1
	has "$T/err" "$f.bpe:"
	has "$T/err" "${bad#*:}"
	grep -q "^autodidact: .*$f.bpe:[0-9][0-9]*: " "$T/err" && ok || fail "no file:line in $(cat "$T/err")"
	[ "$(cat "$T/keep.ids")" = "old output" ] && ok || fail "a failed encode overwrote its output"
done
run 1 "$AD" tokenize encode -t "$T/a.txt" "$T/a.txt"
has "$T/err" "a.txt:1: not an autodidact vocabulary"
run 1 "$AD" tokenize encode -t "$T/no-such.bpe" "$T/a.txt"
has "$T/err" "no-such.bpe"
run 1 "$AD" tokenize encode -t "$T/v.bpe" "$T/no-such.txt"
has "$T/err" "no-such.txt"
run 1 "$AD" tokenize encode -t "$T/v.bpe" "$T"
has "$T/err" "is a directory"
# Token files: ids out of range, or not ids at all (binary).
printf '1 2 3\n4 600\n' >"$T/range.ids"
run 1 "$AD" tokenize decode -t "$T/v.bpe" "$T/range.ids"
has "$T/err" "range.ids:2: id 600 is not a token"
run 1 "$AD" tokenize decode -t "$T/v.bpe" "$T/bin"
lines "$T/err" 1
has "$T/err" "bin:1:"

# Usage errors: exit 2.
run 2 "$AD" tokenize
run 2 "$AD" tokenize frobnicate
has "$T/err" "not one of train, encode, decode, info"
run 2 "$AD" tokenize train --vocab-size 300 "$T/a.txt"
has "$T/err" "give -o VOCAB"
run 2 "$AD" tokenize train --vocab-size 10 -o "$T/x.bpe" "$T/a.txt"
run 2 "$AD" tokenize train --vocab-size 300 --normalize nfd -o "$T/x.bpe" "$T/a.txt"
has "$T/err" "not none, nfc or nfkc"
run 2 "$AD" tokenize encode "$T/a.txt"
has "$T/err" "-t VOCAB"
run 2 "$AD" tokenize encode -t "$T/v.bpe" --pattern gpt2 "$T/a.txt"
[ -e "$T/x.bpe" ] && fail "a usage error wrote a file" || ok

# ---- huge and hostile input (issue 8; bench/huge.sh runs the big sizes) -----
# A line longer than an encoding block (256 KiB + 1 MiB) is encoded in parts
# cut where a letter meets a space (bpe_cut_point); the oracle is the same
# vocabulary with its regex given as a user pattern, which is never cut, so
# the whole line is encoded at once: the ids must be identical.
g4=$("$AD" tokenize info -t "$T/v.bpe" | sed -n 's/^pattern     gpt4: //p')
run 0 "$AD" tokenize train --quiet --vocab-size 600 --special '<|endoftext|>' --pattern "(?:$g4)" \
	-o "$T/vu.bpe" "$T/corpus.txt"
for i in 1 2; do tr '\n' ' ' <"$T/big.txt"; done >"$T/long.txt"
printf '\nand a short line\n' >>"$T/long.txt"
[ "$(wc -c <"$T/long.txt")" -gt 2000000 ] && ok || fail "long.txt is too short to be cut"
for mode in "" --stream; do
	run 0 "$AD" tokenize encode $mode -t "$T/v.bpe" "$T/long.txt" -o "$T/long.ids"
	run 0 "$AD" tokenize encode $mode -t "$T/vu.bpe" "$T/long.txt" -o "$T/long-u.ids"
	same "$T/long.ids" "$T/long-u.ids"
	run 0 "$AD" tokenize decode $mode -t "$T/v.bpe" "$T/long.ids" -o "$T/long.back"
	same "$T/long.txt" "$T/long.back"
done
# Only NUL bytes: one piece of 512 KiB; training merges halves (18 merges,
# worked by hand: 2^19 bytes leave two symbols of 2^18), and everything
# round-trips.
head -c 524288 /dev/zero >"$T/nul"
run 0 "$AD" tokenize train --quiet --vocab-size 1000 -o "$T/nul.bpe" "$T/nul"
has "$T/nul.bpe" "tokens 274"
run 0 "$AD" tokenize encode -t "$T/nul.bpe" "$T/nul" -o "$T/nul.ids"
[ "$(cat "$T/nul.ids")" = "273 273" ] && ok || fail "NUL bytes: ids $(head -c 100 "$T/nul.ids")"
run 0 "$AD" tokenize decode -t "$T/nul.bpe" "$T/nul.ids" -o "$T/nul.back"
same "$T/nul" "$T/nul.back"
# Patterns that backtrack without end: one line naming the file, the line
# and the byte, exit 1, and the output untouched.
awk 'BEGIN { print "no match here"; s = ""; for (i = 0; i < 10000; i++) s = s "a"; print "xy " s "b" }' >"$T/ab.txt"
printf 'hello\n' >"$T/hello.txt"
run 0 "$AD" tokenize train --quiet --vocab-size 260 --pattern '(a+)+$' -o "$T/bt.bpe" "$T/hello.txt"
echo "old output" >"$T/keep.ids"
run 1 "$AD" tokenize encode -t "$T/bt.bpe" "$T/ab.txt" -o "$T/keep.ids"
lines "$T/err" 1
has "$T/err" "ab.txt:2: byte 0: the pre-tokenization pattern backtracks too much"
[ "$(cat "$T/keep.ids")" = "old output" ] && ok || fail "a failed encode overwrote its output"
run 1 "$AD" tokenize train --quiet --vocab-size 300 --pattern '(?:a|b)+c|a' -o "$T/keep.bpe" "$T/ab.txt"
lines "$T/err" 1
has "$T/err" "ab.txt:2: byte "
has "$T/err" "backtracks too much"
[ "$(cat "$T/keep.bpe")" = precious ] && ok || fail "a failed training overwrote its output"
# Refused when compiled: nesting, sizes (a short message, not the pattern).
nest=$(awk 'BEGIN { for (i = 0; i < 10000; i++) printf "("; printf "a"; for (i = 0; i < 10000; i++) printf ")" }')
run 1 "$AD" tokenize train --quiet --vocab-size 300 --pattern "$nest" -o "$T/keep.bpe" "$T/a.txt"
lines "$T/err" 1
has "$T/err" "parentheses are too deeply nested"
[ "$(wc -c <"$T/err")" -lt 300 ] && ok || fail "the message quotes all of a 20000-byte pattern"
run 1 "$AD" tokenize train --quiet --vocab-size 300 --pattern 'a{99999}' -o "$T/keep.bpe" "$T/a.txt"
has "$T/err" "number too big"
run 1 "$AD" tokenize train --quiet --vocab-size 300 --pattern '(?:a{0,65535}){0,65535}' -o "$T/keep.bpe" "$T/a.txt"
has "$T/err" "regular expression is too large"
# A pattern that matches only the empty string ends, and loses nothing.
run 0 "$AD" tokenize train --quiet --vocab-size 300 --pattern 'x*|(?=a)' -o "$T/empty.bpe" "$T/ab.txt"
run 0 "$AD" tokenize encode -t "$T/empty.bpe" "$T/ab.txt" -o "$T/e.ids"
"$AD" tokenize decode -t "$T/empty.bpe" "$T/e.ids" | cmp - "$T/ab.txt" && ok || fail "empty-match pattern round trip"
# ---- end of huge and hostile input -------------------------------------------

# ---- tiktoken's special tokens at tiktoken's ids (issue 22) -------------------
# TOKEN=ID on a subset of cl100k_base's ranks (tests/data/tok): the ids of
# tiktoken's encode(text, allowed_special="all"), from special.cl100k_base.expected
# (its first case, "Hello<|endoftext|>world") and <|endofprompt|>'s id 100276.
printf 'Hello<|endoftext|>world<|endofprompt|>' >"$T/sp.txt"
run 0 "$AD" tokenize encode -t "$D/special.cl100k_base.subset.tiktoken" --pattern gpt4 \
	--special '<|endoftext|>=100257' --special '<|endofprompt|>=100276' "$T/sp.txt" -o "$T/sp.ids"
[ "$(cat "$T/sp.ids")" = "9906 100257 14957 100276" ] && ok || fail "explicit special ids: $(cat "$T/sp.ids")"
run 0 "$AD" tokenize info -t "$D/special.cl100k_base.subset.tiktoken" --pattern gpt4 \
	--special '<|endoftext|>=100257' --special '<|endofprompt|>=100276'
has "$T/out" "special     100276 \"<|endofprompt|>\""
has "$T/out" "ids         100277 "
run 0 "$AD" tokenize decode -t "$D/special.cl100k_base.subset.tiktoken" --pattern gpt4 \
	--special '<|endoftext|>=100257' --special '<|endofprompt|>=100276' "$T/sp.ids" -o "$T/sp.back"
same "$T/sp.txt" "$T/sp.back"
run 1 "$AD" tokenize encode -t "$D/special.cl100k_base.subset.tiktoken" --pattern gpt4 \
	--special '<|endoftext|>=5' "$T/sp.txt"
lines "$T/err" 1
has "$T/err" "special token '<|endoftext|>' cannot have id 5"
run 1 "$AD" tokenize encode -t "$D/special.cl100k_base.subset.tiktoken" "$T/sp.txt"
has "$T/err" "needs a pattern"
run 2 "$AD" tokenize train --vocab-size 300 --special '<|endoftext|>=299' -o "$T/x.bpe" "$T/a.txt"
has "$T/err" "TOKEN=ID is for tiktoken rank files"
[ -e "$T/x.bpe" ] && fail "a usage error wrote a file" || ok

# ---- tiktoken, the real one ------------------------------------------------
# The npm package (the Rust core compiled to WASM) and its own ranks.
npm_dir=${AD_NPM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/autodidact/npm}
js=$AD_SRCDIR/tests/tiktoken-oracle.js
if command -v node >/dev/null 2>&1 && [ -f "$npm_dir/node_modules/tiktoken/package.json" ]; then
	export AD_NPM_DIR=$npm_dir
	node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) if (l) process.stdout.write(JSON.parse(l) + "\n")' \
		"$D/cases.jsonl" >"$T/cases.txt"
	cat "$T/cases.txt" "$T/corpus.txt" >"$T/tt.txt"
	for set in unicode special; do
		node -e 'for (const l of require("fs").readFileSync(process.argv[1], "utf8").split("\n")) if (l) process.stdout.write(JSON.parse(l) + "\n")' \
			"$D/$set.jsonl" >"$T/$set.txt"
	done
	mv "$T/unicode.txt" "$T/uni.txt"
	for v in r50k_base:gpt2 cl100k_base:gpt4 o200k_base:o200k; do
		enc=${v%%:*}
		pat=${v#*:}
		node "$js" ranks "$enc" "$T/$enc.tiktoken" && ok || fail "tiktoken ranks $enc"
		node "$js" encode "$enc" "$T/tt.txt" | tr -s ' \n' '\n\n' | sed '/^$/d' >"$T/want"
		run 0 "$AD" tokenize encode --stream -t "$T/$enc.tiktoken" --pattern "$pat" "$T/tt.txt" -o "$T/got"
		tr -s ' \n' '\n\n' <"$T/got" | sed '/^$/d' >"$T/got1"
		same "$T/got1" "$T/want"
		[ -s "$T/want" ] && ok || fail "tiktoken gave no ids"
		# The checked-in ids are still the package's.
		if [ "$enc" != o200k_base ]; then
			node "$js" cases "$enc" "$D/cases.jsonl" >"$T/cases.ids"
			same "$T/cases.ids" "$D/$enc.expected"
		fi
		node "$js" cases "$enc" "$D/unicode.jsonl" >"$T/cases.ids"
		same "$T/cases.ids" "$D/unicode.$enc.expected"
		node "$js" special "$enc" "$D/special.jsonl" >"$T/cases.ids"
		same "$T/cases.ids" "$D/special.$enc.expected"
		# Characters of every Unicode version since 6.0 (the hand-written
		# pre-tokenizer), and the published rank file known by its content:
		# no --pattern, no --special, and tiktoken's ids with its specials
		# allowed (encode(text, "all")).
		run 0 "$AD" tokenize info -t "$T/$enc.tiktoken"
		has "$T/out" "tiktoken    $enc "
		has "$T/out" "pattern     $pat:"
		cat "$T/uni.txt" "$T/special.txt" "$T/tt.txt" >"$T/all.txt"
		node "$js" encode "$enc" "$T/all.txt" all | tr -s ' \n' '\n\n' | sed '/^$/d' >"$T/want"
		run 0 "$AD" tokenize encode --stream -t "$T/$enc.tiktoken" "$T/all.txt" -o "$T/got"
		tr -s ' \n' '\n\n' <"$T/got" | sed '/^$/d' >"$T/got1"
		same "$T/got1" "$T/want"
		grep -qE '^(100257|199999|50256)$' "$T/want" && ok || fail "no special token in the $enc test"
		# --special TOKEN, one of the usual set, takes tiktoken's id.
		run 0 "$AD" tokenize encode -t "$T/$enc.tiktoken" --special '<|endoftext|>' "$T/sp.txt" -o "$T/got"
		case $enc in
		r50k_base) sp=50256 ;; cl100k_base) sp=100257 ;; *) sp=199999 ;;
		esac
		grep -q " $sp " "$T/got" && ok || fail "$enc: --special '<|endoftext|>' is not $sp: $(cat "$T/got")"
	done
	# The man page's cl100k_base examples: all of tiktoken's specials (the
	# oracle: encode(text, "all")), then <|endoftext|> and one of our own.
	printf '<|im_start|>user Hi<|endoftext|> x<|endofprompt|>' >"$T/chat.txt"
	cp "$T/cl100k_base.tiktoken" "$T/ex.tiktoken"   # any name: known by content
	run 0 "$AD" tokenize encode --stream -t "$T/ex.tiktoken" "$T/chat.txt" -o "$T/got"
	node "$js" encode cl100k_base "$T/chat.txt" all >"$T/want"
	same "$T/got" "$T/want"
	run 0 "$AD" tokenize encode --stream -t "$T/ex.tiktoken" --special '<|endoftext|>' \
		--special '<|im_start|>=100264' "$T/chat.txt" -o "$T/got"
	[ "$(cut -d' ' -f1 "$T/got")" = 100264 ] && grep -q ' 100257 ' "$T/got" && ! grep -q 100276 "$T/got" &&
		ok || fail "man page example ids: $(cat "$T/got")"
	echo "tiktoken $(node -p "require('$npm_dir/node_modules/tiktoken/package.json').version") compared"
else
	echo "note: npm tiktoken not found under $npm_dir: only the checked-in tiktoken ids (check_bpe) were compared"
fi
finish
