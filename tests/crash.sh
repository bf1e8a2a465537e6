#!/bin/sh
# crash.sh — SIGKILL at random moments while a vocabulary, a model and a
# checkpoint are being written over good ones: afterwards the file is always
# whole and loadable (the old version or the new one, never a mixture), and
# the next write clears the killed writers' temporary files.
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1
run 0 "$AD" synth --quiet --seed 2 --sentences 20000 -o c.txt
head -n 20 c.txt >small.txt
ROUNDS=${AD_CRASH_ROUNDS:-12}

# A pause of 0-400 ms, different each round but the same each run.
pause() {
	sleep "$(awk -v s="$1" 'BEGIN { srand(s); printf "%.3f", rand() * 0.4 }')"
}

# kill_rounds NAME FILE CHECK-COMMAND COMMAND...: write FILE with COMMAND,
# killed with SIGKILL at a different moment each round, and check that FILE
# is then the old or the new version and passes CHECK-COMMAND.
kill_rounds() {
	name=$1 file=$2 check=$3
	shift 3
	for i in $(seq 1 "$ROUNDS"); do
		"$@" >/dev/null 2>&1 &
		pid=$!
		pause "$i$name"
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null
		if cmp -s "$file" "$file.old" || cmp -s "$file" "$file.new"; then ok; else
			fail "$name round $i: $file is neither the old nor the new version"
		fi
		sh -c "$check" >/dev/null 2>&1 && ok || fail "$name round $i: $file does not load"
	done
	# A complete write now clears every temporary the killed writers left.
	"$@" >/dev/null 2>&1 || fail "$name: the final write failed"
	same "$file" "$file.new"
	left=$(ls -A | grep -c "^\.$(basename "$file")\.tmp-" || true)
	[ "$left" -eq 0 ] && ok || fail "$name: $left temporary files left after a complete write"
}

# The vocabulary.
"$AD" tokenize train --quiet --vocab-size 600 -o v.txt c.txt && cp v.txt v.txt.old
"$AD" tokenize train --quiet --vocab-size 900 -o v.txt c.txt && cp v.txt v.txt.new
cp v.txt.old v.txt
kill_rounds vocab v.txt "'$AD' tokenize info -t v.txt" \
	"$AD" tokenize train --quiet --vocab-size 900 -o v.txt c.txt

# An n-gram model (with its ARPA file beside it).
"$AD" train ngram --quiet --words --order 3 -o m.bin c.txt && cp m.bin m.bin.old
"$AD" train ngram --quiet --words --order 4 -o m.bin c.txt && cp m.bin m.bin.new
cp m.bin.old m.bin
kill_rounds ngram m.bin "'$AD' eval --quiet m.bin small.txt" \
	"$AD" train ngram --quiet --words --order 4 -o m.bin c.txt

# A transformer checkpoint, written every step: killed mid-run it is
# always whole, and training resumes from it.
tr() {
	"$AD" train transformer --quiet --threads 1 --bytes --layers 1 --heads 2 --dim 16 --context 16 \
		--batch 4 --seed 3 --val-fraction 0.01 --val-every 0 --checkpoint-every 1 "$@" c.txt
}
tr --steps 400 -o g.bin --checkpoint g.ckpt
for i in $(seq 1 "$ROUNDS"); do
	rm -f g.bin g.ckpt
	tr --steps 400 -o g.bin --checkpoint g.ckpt >/dev/null 2>&1 &
	pid=$!
	pause "$i-ckpt"
	kill -KILL $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ -e g.ckpt ] || continue   # killed before the first checkpoint
	"$AD" eval --quiet g.ckpt small.txt >/dev/null 2>"$T/eval.err" && ok ||
		fail "checkpoint round $i does not load: $(cat "$T/eval.err")"
	"$AD" train transformer --quiet --threads 1 --resume g.ckpt --steps 400 --stop-at 401 -o g.bin \
		--val-fraction 0.01 --val-every 0 c.txt >/dev/null 2>"$T/resume.err" && ok ||
		fail "checkpoint round $i does not resume: $(cat "$T/resume.err")"
done
finish
