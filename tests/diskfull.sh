#!/bin/sh
# diskfull.sh — a write that fails because the disk is full: every writer
# (vocabulary, n-gram model and ARPA file, transformer model and checkpoint,
# corpus, encoded ids, comparison and probe reports) reports it in one line
# naming the file and the cause, exits 1, leaves the previous file byte for
# byte as it was, and leaves no temporary file behind. The full disk is
# injected (AD_FAIL_WRITE=N: the file system takes N more bytes, then every
# write fails with ENOSPC, as write(2) does), at many offsets; and, where the
# test may mount file systems (root), also real: a 64 KiB tmpfs.
. "$AD_SRCDIR/tests/lib.sh"
cd "$T" || exit 1
run 0 "$AD" synth --quiet --seed 5 --sentences 3000 -o c.txt
head -n 30 c.txt >small.txt

# full NAME FILE SIZE COMMAND...: FILE exists (the previous version); run
# COMMAND with a disk that fills after 0, 1, 100, 4095, 4096, 65536 and
# SIZE-1 bytes (SIZE: the new file's size, so the last write is the one
# that fails) and check all of the above each time.
full() {
	name=$1 file=$2 size=$3
	shift 3
	cp "$file" "$T/prev"
	for n in 0 1 100 4095 4096 65536 $((size - 1)); do
		[ "$n" -lt "$size" ] || continue
		AD_FAIL_WRITE=$n "$@" >/dev/null 2>"$T/err"
		got=$?
		[ "$got" -eq 1 ] && ok || fail "$name, disk full after $n bytes: exit $got, expected 1"
		lines "$T/err" 1
		has "$T/err" "$(basename "$file")"
		has "$T/err" "No space left on device"
		cmp -s "$file" "$T/prev" && ok || fail "$name, disk full after $n bytes: $file changed"
		left=$(ls -A | grep -c '^\..*\.tmp-' || true)
		[ "$left" -eq 0 ] && ok || fail "$name, disk full after $n bytes: $left temporary files left"
	done
}
size() { wc -c <"$1"; }

# Each writer: make the previous file, measure the new one's size elsewhere,
# then fail every write of the new one over the previous.
run 0 "$AD" tokenize train --quiet --vocab-size 400 -o v.txt c.txt
run 0 "$AD" tokenize train --quiet --vocab-size 600 -o v600.txt c.txt
full vocabulary v.txt "$(size v600.txt)" "$AD" tokenize train --quiet --vocab-size 600 -o v.txt c.txt

run 0 "$AD" tokenize encode --quiet -t v.txt -o ids.txt small.txt
run 0 "$AD" tokenize encode --quiet -t v.txt -o ids2.txt c.txt
full ids ids.txt "$(size ids2.txt)" "$AD" tokenize encode --quiet -t v.txt -o ids.txt c.txt

run 0 "$AD" train ngram --quiet --words --order 2 -o m.bin c.txt
run 0 "$AD" train ngram --quiet --words --order 4 -o m4.bin --arpa m4.arpa c.txt
full ngram m.bin "$(size m4.bin)" "$AD" train ngram --quiet --words --order 4 -o m.bin c.txt
run 0 "$AD" train ngram --quiet --words --order 2 --arpa m.arpa c.txt
full arpa m.arpa "$(size m4.arpa)" "$AD" train ngram --quiet --words --order 4 --arpa m.arpa c.txt

tr() {
	"$AD" train transformer --quiet --threads 1 --bytes --layers 1 --heads 2 --dim 16 --context 16 \
		--batch 4 --seed 3 --val-fraction 0.01 --val-every 0 "$@" c.txt
}
run 0 tr --steps 5 -o g.bin
run 0 tr --steps 10 -o g2.bin
full transformer g.bin "$(size g2.bin)" tr --steps 10 -o g.bin
run 0 tr --steps 5 -o g.bin --checkpoint g.ckpt
run 0 tr --steps 10 -o g2.bin --checkpoint g2.ckpt --checkpoint-every 5
full checkpoint g.ckpt "$(size g2.ckpt)" tr --steps 10 -o g2.bin --checkpoint g.ckpt --checkpoint-every 5

run 0 "$AD" synth --quiet --seed 6 --sentences 10 -o s.txt
full corpus s.txt "$(size c.txt)" "$AD" synth --quiet --seed 5 --sentences 3000 -o s.txt

run 0 "$AD" probe --quiet m.bin --probes gender-occupation --format md -o p.md
run 0 "$AD" probe --quiet m4.bin --probes gender-occupation --format md -o p4.md
full probe p.md "$(size p4.md)" "$AD" probe --quiet m4.bin --probes gender-occupation --format md -o p.md

# The real thing: a 64 KiB tmpfs, and a vocabulary larger than that over a
# small one. Mounting needs root (CI runs as root); elsewhere the injected
# faults above are the test.
if [ "$(id -u)" -eq 0 ] && mkdir -p "$T/small" && mount -t tmpfs -o size=64k tmpfs "$T/small" 2>/dev/null; then
	run 0 "$AD" tokenize train --quiet --vocab-size 300 -o "$T/small/v.txt" c.txt
	cp "$T/small/v.txt" prev-small
	# Fill the rest of the file system so the new vocabulary cannot fit.
	dd if=/dev/zero of="$T/small/filler" bs=1k count=64 2>/dev/null
	run 1 "$AD" tokenize train --quiet --vocab-size 600 -o "$T/small/v.txt" c.txt
	lines "$T/err" 1
	has "$T/err" "No space left on device"
	same "$T/small/v.txt" prev-small
	left=$(ls -A "$T/small" | grep -c '^\..*\.tmp-' || true)
	[ "$left" -eq 0 ] && ok || fail "tmpfs: $left temporary files left"
	umount "$T/small"
else
	echo "diskfull.sh: not root or no mount: the real tmpfs case was not run (the injected faults were)"
fi
finish
