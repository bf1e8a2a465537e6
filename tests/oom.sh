#!/bin/sh
# oom.sh — out of memory at every point: each command is run on a small
# input with its Nth allocation failing (AD_FAIL_ALLOC=N), for N = 0, 1,
# 2, ... until a run makes fewer allocations than N and succeeds. Every
# failing run must end with exit status 1 and a message, never a crash or
# a sanitizer report (in an --enable-asan build this also catches leaks on
# the error paths).
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1
MAX=${AD_OOM_MAX:-3000}

# scan COMMAND...: the scan described above.
scan() {
	n=0
	while [ $n -le "$MAX" ]; do
		AD_FAIL_ALLOC=$n "$@" >"$T/oom.out" 2>"$T/oom.err"
		rc=$?
		if grep -q -e 'Sanitizer' -e 'runtime error' "$T/oom.err"; then
			fail "allocation $n of '$*': $(head -c 600 "$T/oom.err")"
			return
		fi
		[ $rc -eq 0 ] && { ok; return; }
		if [ $rc -ne 1 ] || ! grep -q '^autodidact' "$T/oom.err"; then
			fail "allocation $n of '$*' failing: exit $rc, stderr '$(head -c 300 "$T/oom.err")'"
			return
		fi
		n=$((n + 1))
	done
	fail "'$*' still failing after $MAX allocations"
}

"$AD" synth --quiet --seed 5 --sentences 60 -o c.txt || fail "synth"
head -n 3 c.txt >e.txt
"$AD" tokenize train --quiet --vocab-size 300 -o v.txt c.txt || fail "tokenize"
"$AD" train ngram --quiet -t v.txt --order 3 --discount-fallback -o n.bin --arpa n.arpa c.txt ||
	fail "train ngram"
"$AD" tokenize encode -t v.txt e.txt -o n.ids || fail "encode"
"$AD" train transformer --quiet --threads 1 -t v.txt --layers 1 --heads 2 --dim 16 \
	--context 16 --batch 2 --steps 2 --val-every 0 -o g.bin c.txt >/dev/null || fail "train transformer"
"$AD" tokenize encode -t v.txt e.txt -o n.ids || fail "encode"
# A small probe set of every kind (the format of man/autodidact-probe.1).
cat >p.probe <<'P'
# autodidact probes 1
name	oom
[pairs]
The nurse said that she would be late today.	The nurse said that he would be late today.	f
The pilot finished his work and went home.	The pilot finished her work and went home.	m
[sets]
male-words	he him his
female-words	she her hers
m-occ	pilot farmer
f-occ	nurse teacher
[weat]
occ	m-occ	f-occ	male-words	female-words
[templates]
neutral	person
poles	male-words	female-words
targets	m	m-occ
targets	f	f-occ
template	The {target} said that {he|she} would be late.
P

scan "$AD" synth --quiet --sentences 10 -o s.txt
scan "$AD" tokenize train --quiet --vocab-size 300 -o v2.txt c.txt
scan "$AD" tokenize encode -t v.txt e.txt
scan "$AD" tokenize decode -t v.txt n.ids
scan "$AD" tokenize info -t v.txt e.txt
scan "$AD" train ngram --quiet -t v.txt --order 3 --discount-fallback -o n2.bin --arpa n2.arpa c.txt
scan "$AD" train ngram --quiet --words --order 2 --discount-fallback -o w.bin c.txt
scan "$AD" train transformer --quiet --threads 1 -t v.txt --layers 1 --heads 2 --dim 16 \
	--context 16 --batch 2 --steps 2 --val-every 0 -o g2.bin c.txt
scan "$AD" eval --quiet n.bin e.txt
scan "$AD" eval --quiet n.arpa e.txt
scan "$AD" eval --quiet g.bin e.txt
scan "$AD" sample -n 4 --prompt "The" n.bin
scan "$AD" sample -n 4 --prompt "The" --json g.bin
scan "$AD" probe --quiet n.bin g.bin --probes "$T/p.probe" --corpus e.txt --bootstrap 50 \
	--permutations 50
# Word vectors as a WEAT source (probe --vectors), gzip'ed when zlib is built in.
printf '4 2\nhe 1 0\nshe 0 1\npilot 0.8 0.3\nnurse 0.2 0.9\n' >v.vec
grep -q '^#define HAVE_ZLIB 1' "$AD_BUILDDIR/config.h" && gzip v.vec && mv v.vec.gz v.vec
scan "$AD" probe --quiet --vectors v.vec --probes "$T/p.probe" --bootstrap 50
[ -n "$AD_OOM_KEEP" ] && cp -r "$T" "$AD_OOM_KEEP"
finish
