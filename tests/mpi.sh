#!/bin/sh
# mpi.sh — data-parallel training under mpirun (built with --with-mpi only;
# see src/nn/local.mk). Two ranks with --batch B against one process with
# --batch 2B, the independent oracle being the plain one-process trainer:
# the loss and gradient-norm curves agree within a stated tolerance; every
# rank ends with byte-identical parameters (cmp of the models each rank
# writes); only rank 0 writes the log; a checkpoint resumes on 2 ranks
# bit-identically and on 1 process (and the other way round) within the
# tolerance; the gradient summed in buckets (AD_MPI_BUCKET_KB), blocking
# after the backward pass or started during it (AD_MPI_OVERLAP), gives on 2
# ranks the same bytes as one allreduce of the whole gradient (each float is
# the sum of two, and a + b = b + a exactly in IEEE arithmetic, whatever
# the algorithm) and on 3 ranks the one-process curve within the tolerance,
# reproducibly; ranks that disagree on the data, or a batch that does not
# split, stop every rank with a message; a rank killed mid-run brings the
# job down within seconds, a rank that hangs makes the others stop after the
# watchdog's time limit, and both leave the last checkpoint whole.
. "$AD_SRCDIR/tests/lib.sh"

MPIRUN=$(sed -n 's/^MPIRUN = //p' "$AD_BUILDDIR/Makefile")
[ -n "$MPIRUN" ] || { echo "FAIL: this build has no MPIRUN (configure --with-mpi)" >&2; exit 1; }
# In a build with --enable-asan: Open MPI's own allocations (in components it
# unloads before exit) would fail LeakSanitizer; the other sanitizer checks
# stay on, and our code's leaks are checked by the tests without MPI.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
export ASAN_OPTIONS
# Root in CI and containers; --oversubscribe so that 3 ranks run on 2 cores.
MPI="timeout 300 $MPIRUN --allow-run-as-root --oversubscribe"
TT="train transformer"

# A small corpus: 40 distinct lines, repeated.
i=0
while [ $i -lt 40 ]; do
	echo "line $i: the quick brown fox jumps over the lazy dog number $i."
	i=$((i + 1))
done >"$T/one.txt"
for k in 1 2 3 4 5; do cat "$T/one.txt"; done >"$T/c.txt"
m="--bytes --layers 2 --heads 4 --dim 64 --context 64 --val-every 0 --quiet --threads 1"

# close A.csv B.csv FIRST: the step, loss and gradient-norm columns of two
# logs agree from step FIRST on: |loss difference| <= 1e-4 nats and the
# norms within 1e-3 relative (float sums over the batch split in two
# places instead of one; measured differences are about 1e-6).
close() {
	if awk -F, -v first="$3" '
		NR == FNR { if (FNR > 1) { l[$1] = $2; g[$1] = $5 }; next }
		FNR > 1 && $1 >= first {
			n++
			if (!($1 in l)) { print "step " $1 " missing"; bad = 1; next }
			d = $2 - l[$1]; if (d < 0) d = -d
			r = ($5 - g[$1]) / g[$1]; if (r < 0) r = -r
			if (d > 1e-4 || r > 1e-3) { print "step " $1 ": loss " l[$1] " vs " $2 ", norm " g[$1] " vs " $5; bad = 1 }
		}
		END { if (n == 0) { print "no steps compared"; bad = 1 }; exit bad }' "$1" "$2" >"$T/close.out"
	then ok; else fail "$1 and $2 differ beyond the tolerance: $(head -c 400 "$T/close.out")"; fi
}

# One process, batch 4: the reference.
run 0 "$AD" $TT $m --batch 4 --steps 20 --log "$T/one.csv" -o "$T/one.model" "$T/c.txt"
lines "$T/one.csv" 21

# Two ranks, batch 2 each: the same training.
AD_MPI_RANK_MODELS=1
export AD_MPI_RANK_MODELS
run 0 $MPI -x AD_MPI_RANK_MODELS -np 2 "$AD" $TT $m --batch 2 --steps 20 --log "$T/two.csv" \
	-o "$T/two.model" "$T/c.txt"
unset AD_MPI_RANK_MODELS
lines "$T/two.csv" 21
close "$T/one.csv" "$T/two.csv" 1
# Every rank holds the same parameters: rank 1's model is rank 0's, byte for byte.
same "$T/two.model" "$T/two.model.rank1"
# The held-out score of the two models agrees as closely as the curves.
run 0 "$AD" eval --json "$T/one.model" "$T/one.txt"
cp "$T/out" "$T/one.eval"
run 0 "$AD" eval --json "$T/two.model" "$T/one.txt"
cp "$T/out" "$T/two.eval"
a=$(grep -o '"nats_per_token": *[0-9.e+-]*' "$T/one.eval" | head -n 1 | sed 's/.*: *//')
b=$(grep -o '"nats_per_token": *[0-9.e+-]*' "$T/two.eval" | head -n 1 | sed 's/.*: *//')
if [ -n "$a" ] && [ -n "$b" ] &&
	awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-4) }'; then
	ok
else
	fail "held-out nats/token of the 1-process and 2-rank models: '$a' vs '$b'"
fi

# The gradient summed in buckets. The model's gradient is 482,560 bytes:
# buckets of 16 KB make 30 allreduces, of 7 KB (1792 floats) 68 whose
# boundaries fall inside tensors; with AD_MPI_OVERLAP=1 each is started as
# the backward pass completes its layers, in the order of completion (the
# last block first), so a bucket packed before its layer was done, or
# unpacked to the wrong place, would change the bytes. One allreduce of the
# whole gradient after the backward pass (0 and 0) is the reference: on 2
# ranks every variant must give its bytes, and both ranks the same bytes.
AD_MPI_RANK_MODELS=1
export AD_MPI_RANK_MODELS
# bucketed KB:OVERLAP NP ARGS...: train on NP ranks with those settings.
bucketed() {
	AD_MPI_BUCKET_KB=${1%:*} AD_MPI_OVERLAP=${1#*:}
	export AD_MPI_BUCKET_KB AD_MPI_OVERLAP
	np=$2
	shift 2
	run 0 $MPI -x AD_MPI_RANK_MODELS -x AD_MPI_BUCKET_KB -x AD_MPI_OVERLAP -np "$np" "$AD" \
		$TT $m "$@"
}
for v in 0:0 16:0 16:1 7:1 0:1; do
	bucketed "$v" 2 --batch 2 --steps 20 --log "$T/b$v.csv" -o "$T/b$v.model" "$T/c.txt"
	close "$T/one.csv" "$T/b$v.csv" 1
	same "$T/b$v.model" "$T/b$v.model.rank1"
	same "$T/b0:0.model" "$T/b$v.model"
done
# Gradient accumulation: only the last batch's backward pass starts buckets.
for v in 0:0 7:1; do
	bucketed "$v" 2 --batch 2 --accum 2 --steps 10 --log "$T/a$v.csv" -o "$T/a$v.model" \
		"$T/c.txt"
	same "$T/a$v.model" "$T/a$v.model.rank1"
done
same "$T/a0:0.model" "$T/a7:1.model"
run 0 "$AD" $TT $m --batch 4 --accum 2 --steps 10 --log "$T/a1.csv" -o "$T/a1.model" "$T/c.txt"
close "$T/a1.csv" "$T/a7:1.csv" 1
# Three ranks: each float is a sum of three, whose order Open MPI's
# algorithm for the message size decides, so buckets may change the last
# bits (measured: 16 KB buckets blocking did, the overlapped ones did not);
# the curve stays within the tolerance of one process with the global
# batch, the ranks agree, and a run repeated gives the same bytes.
run 0 "$AD" $TT $m --batch 6 --steps 20 --log "$T/one6.csv" -o "$T/one6.model" "$T/c.txt"
for v in 0:0 16:0 7:1 7:1; do
	[ -e "$T/t$v.model" ] && mv "$T/t$v.model" "$T/t$v.first"
	bucketed "$v" 3 --batch 2 --steps 20 --log "$T/t$v.csv" -o "$T/t$v.model" "$T/c.txt"
	close "$T/one6.csv" "$T/t$v.csv" 1
	same "$T/t$v.model" "$T/t$v.model.rank1"
	same "$T/t$v.model" "$T/t$v.model.rank2"
done
same "$T/t7:1.first" "$T/t7:1.model"
unset AD_MPI_RANK_MODELS AD_MPI_BUCKET_KB AD_MPI_OVERLAP
# Bad settings stop every rank with a message.
run 1 $MPI -x AD_MPI_BUCKET_KB=lots -np 2 "$AD" $TT $m --batch 2 --steps 3 -o "$T/x.model" \
	"$T/c.txt"
has "$T/err" "AD_MPI_BUCKET_KB=lots: give the bucket size in KB"
run 1 $MPI -x AD_MPI_OVERLAP=yes -np 2 "$AD" $TT $m --batch 2 --steps 3 -o "$T/x.model" \
	"$T/c.txt"
has "$T/err" "AD_MPI_OVERLAP=yes: give 1"
[ -e "$T/x.model" ] && fail "a refused run wrote a model" || ok

# The man page's example. Without the test variable only rank 0 writes; it
# reports the check.
run 0 $MPI -np 2 "$AD" $TT --bytes --preset tiny --batch 4 --steps 20 -o "$T/q.model" "$T/c.txt"
[ -e "$T/q.model.rank1" ] && fail "rank 1 wrote a model" || ok
has "$T/err" "data parallel over 2 MPI ranks"
has "$T/err" "parameters identical on every rank"
n=$(grep -c "data parallel over" "$T/err")
[ "$n" -eq 1 ] && ok || fail "$n ranks reported progress, expected rank 0 alone"

# Stopped at step 10 on two ranks and resumed on two: the same bytes as the
# run straight through (every rank draws the same global batch again).
run 0 $MPI -np 2 "$AD" $TT $m --batch 2 --steps 20 --stop-at 10 --log "$T/r.csv" \
	-o "$T/r.model" "$T/c.txt"
cp "$T/r.model.ckpt" "$T/r10.ckpt"
run 0 $MPI -np 2 "$AD" $TT --resume "$T/r.model.ckpt" --quiet --val-every 0 --threads 1 \
	--log "$T/r.csv" -o "$T/r.model" "$T/c.txt"
same "$T/two.model" "$T/r.model"
cut -d, -f1-5 "$T/two.csv" >"$T/two.cut"
cut -d, -f1-5 "$T/r.csv" >"$T/r.cut"
same "$T/two.cut" "$T/r.cut"

# The 2-rank checkpoint (global batch 4) resumed by one process without
# mpirun, and a 1-process checkpoint resumed on two ranks: the same curves.
run 0 "$AD" $TT --resume "$T/r10.ckpt" --quiet --val-every 0 --threads 1 \
	--log "$T/r1.csv" -o "$T/r1.model" "$T/c.txt"
close "$T/one.csv" "$T/r1.csv" 11
run 0 "$AD" $TT $m --batch 4 --steps 20 --stop-at 10 -o "$T/s.model" "$T/c.txt"
run 0 $MPI -np 2 "$AD" $TT --resume "$T/s.model.ckpt" --quiet --val-every 0 --threads 1 \
	--log "$T/s2.csv" -o "$T/s.model" "$T/c.txt"
close "$T/one.csv" "$T/s2.csv" 11

# A global batch of 4 does not split over 3 ranks: every rank stops.
run 1 $MPI -np 3 "$AD" $TT --resume "$T/r10.ckpt" --quiet -o "$T/x.model" "$T/c.txt"
has "$T/err" "does not split evenly over 3 ranks"
[ -e "$T/x.model" ] && fail "a refused run wrote a model" || ok

# Ranks given different text refuse to train (MPMD launch: one command per rank).
sed 1d "$T/c.txt" >"$T/d.txt"
run 1 $MPI -np 1 "$AD" $TT $m --batch 2 --steps 3 -o "$T/x.model" "$T/c.txt" : \
	-np 1 "$AD" $TT $m --batch 2 --steps 3 -o "$T/x.model" "$T/d.txt"
has "$T/err" "do not hold the same training text"
[ -e "$T/x.model" ] && fail "a refused run wrote a model" || ok

# A rank killed with SIGKILL in the middle of training: the job ends (no
# hang) with a failure status, and the last checkpoint is whole: it resumes.
$MPI -np 2 "$AD" $TT $m --batch 2 --steps 1000000 --checkpoint-every 5 --log "$T/k.csv" \
	-o "$T/k.model" "$T/c.txt" >"$T/k.out" 2>"$T/k.err" &
mpid=$!
wait_lines "$T/k.csv" 12
# Rank 1 is the child of mpirun whose environment says so.
victim=""
for p in $(for c in $(ps -o pid= --ppid $mpid); do ps -o pid= --ppid "$c"; done); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' &&
		victim=$p
done
if [ -n "$victim" ]; then
	ok
	t0=$(date +%s)
	kill -KILL "$victim"
	wait $mpid
	st=$?
	t1=$(date +%s)
	[ $st -ne 0 ] && ok || fail "a killed rank: mpirun exited 0"
	[ $((t1 - t0)) -lt 60 ] && ok || fail "a killed rank: the job took $((t1 - t0)) s to stop"
	run 0 "$AD" $TT --resume "$T/k.model.ckpt" --steps 12 --quiet --val-every 0 --threads 1 \
		-o "$T/k2.model" "$T/c.txt"
	run 0 "$AD" eval "$T/k2.model" "$T/one.txt"
else
	fail "could not find rank 1 among mpirun's children"
	kill -TERM $mpid
	wait $mpid
fi

# A rank that hangs (SIGSTOP): the others give up after AD_MPI_TIMEOUT
# seconds with a message, the job ends, and the last checkpoint resumes.
AD_MPI_TIMEOUT=3
export AD_MPI_TIMEOUT
$MPI -x AD_MPI_TIMEOUT -np 2 "$AD" $TT $m --batch 2 --steps 1000000 --checkpoint-every 5 \
	--log "$T/h.csv" -o "$T/h.model" "$T/c.txt" >"$T/h.out" 2>"$T/h.err" &
mpid=$!
unset AD_MPI_TIMEOUT
wait_lines "$T/h.csv" 12
victim=""
for p in $(for c in $(ps -o pid= --ppid $mpid); do ps -o pid= --ppid "$c"; done); do
	tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' &&
		victim=$p
done
if [ -n "$victim" ]; then
	t0=$(date +%s)
	kill -STOP "$victim"
	wait $mpid
	st=$?
	t1=$(date +%s)
	kill -CONT "$victim" 2>/dev/null
	[ $st -ne 0 ] && ok || fail "a hung rank: mpirun exited 0"
	[ $((t1 - t0)) -lt 60 ] && ok || fail "a hung rank: the job took $((t1 - t0)) s to stop"
	has "$T/h.err" "no word from the other MPI ranks within the time limit"
	run 0 "$AD" $TT --resume "$T/h.model.ckpt" --steps 12 --quiet --val-every 0 --threads 1 \
		-o "$T/h2.model" "$T/c.txt"
else
	fail "could not find rank 1 among mpirun's children"
	kill -TERM $mpid
	wait $mpid
fi
finish
