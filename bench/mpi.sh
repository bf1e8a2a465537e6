#!/bin/sh
# bench/mpi.sh — data-parallel training over MPI on this machine, and a
# model of it on many machines.
#
# For shapes S and M (bench/transformer.sh: S = 4 layers, C 128, T 128,
# batch 8, 1.33 M parameters; M = 6 layers, C 384, T 256, batch 4, 12.3 M
# parameters; V = 4096) it measures the median step time of
#   1x1: one process, 1 thread, the whole batch
#   1x2: one process, 2 threads, the whole batch
#   2x1: mpirun -np 2, 1 thread per rank, half the batch each, for each
#        bucket size in BUCKETS (AD_MPI_BUCKET_KB; 0 = one allreduce of
#        the whole gradient) and each of OVERLAPS (AD_MPI_OVERLAP: 0 = after
#        the backward pass, 1 = each bucket started during it)
#   2x1t: the same with Open MPI's TCP transport on the loopback instead
#         of shared memory (--mca btl tcp,self)
# with the gradient bytes per step and the time per step inside MPI calls
# on the gradient (waits for the other rank included) that rank 0 reports;
# then the MPI_Allreduce bandwidth itself (bench/allreduce.c) between 2
# ranks over shared memory and over TCP on the loopback, and the gradient
# of shape S (and M) summed in buckets of 64 KB and up.
#
# Finally a stated model of N machines like this one, each with the shape's
# batch and the 1x2 step time t_c (weak scaling, no overlap of communication
# with the backward pass counted):
#   t(N) = t_c + 2 log2(N) a + 2 (N-1)/N S / b
# (a bandwidth-optimal allreduce: reduce-scatter by recursive halving and
# allgather by recursive doubling, Thakur, Rabenseifner & Gropp 2005),
# S = 4 x parameters bytes, b the link rate (10 or 100 Gb/s, taken as fully
# usable), a the per-message latency (assumed 25 us at 10 Gb/s, 5 us at
# 100 Gb/s), throughput N B T / t(N), efficiency t_c / t(N).
#
# usage: bench/mpi.sh [path/to/autodidact] [corpus.txt]
#        env: RUNS=3 SHAPES="S M" MPIRUN=mpirun BUCKETS="0 1024" OVERLAPS="0 1"
#             BIND= (mpirun --bind-to; empty: mpirun's default, a core per rank)
#             ROUNDS=24 PAIRED="0:0 1024:0 0:1 1024:1" (the paired table below)
#
# Runs compared one after another on a machine shared with other jobs
# measure the load as much as the setting. So the bucket and overlap
# settings are also timed by bench/dist_step.c, which takes them in turn,
# step by step, in one job (ROUNDS rounds of one step per KB:OVERLAP
# setting of PAIRED), over shared memory and over TCP on the loopback: the
# median step, the median ratio of a step to the first setting's step of
# the same round, and the time in MPI calls on the gradient of the rank
# that waited most and of the rank that waited least (the last to arrive:
# what the communication cost beyond the backward pass). It is built from
# the build directory of the given program (its libautodidact.a).
set -eu
AD=${1:-./autodidact}
CORPUS=${2:-}
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-"S M"}
MPIRUN=${MPIRUN:-mpirun}
BUCKETS=${BUCKETS:-"0 1024"}
OVERLAPS=${OVERLAPS:-"0 1"}
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
BIND=${BIND:-}
ROUNDS=${ROUNDS:-24}
PAIRED=${PAIRED:-"0:0 1024:0 0:1 1024:1"}
MPI="$MPIRUN --allow-run-as-root --oversubscribe${BIND:+ --bind-to $BIND}"

if [ -z "$CORPUS" ]; then
	for c in "$HERE/../../shared/corpora/pg2600_war_and_peace_en.txt" \
	    "$HERE/../corpora/pg2600_war_and_peace_en.txt"; do
		[ -f "$c" ] && CORPUS=$c && break
	done
	[ -n "$CORPUS" ] || { echo "bench/mpi.sh: give a corpus of a few MB of prose" >&2; exit 2; }
fi
# The first 1 MB is enough text for a few steps and keeps tokenizing short.
head -c 1000000 "$CORPUS" >"$tmp/c.txt"
"$AD" tokenize train --quiet --vocab-size 4096 -o "$tmp/v.bpe" "$tmp/c.txt"

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "nan"; else print v[int((NR + 1) / 2)] }'; }

# L NH C T B STEPS
shape() {
	case $1 in
	S) echo "4 4 128 128 8 14" ;;
	M) echo "6 6 384 256 4 7" ;;
	esac
}

# step_time LOG: the median step time in seconds over the steps after the
# first two, from the log's elapsed column.
step_time() {
	awk -F, 'NR > 1 { if (p != "" && $1 > 2) print $7 - p; p = $7 }' "$1" | median
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; $($MPIRUN --version 2>/dev/null | head -n 1)"
echo "runs: $RUNS (medians; round-robin over the kinds); mpirun --bind-to ${BIND:-(default)}"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
# The runs of one shape: 1x1, 1x2, then 2x1/BUCKET/OVERLAP and
# 2x1t/BUCKET/OVERLAP for each pair.
runs() {
	echo 1x1 1x2
	for k in 2x1 2x1t; do
		for b in $BUCKETS; do
			for o in $OVERLAPS; do
				echo "$k/$b/$o"
			done
		done
	done
}

# One run of shape $s, kind $how: its median step time to $tmp/times.$how
# and, for 2 ranks, "MB ms" of the gradient's MPI calls to $tmp/ar.$how.
run_one() {
	case $how in
	1x1) OMP_WAIT_POLICY=PASSIVE "$AD" train transformer $m --quiet --threads 1 --batch $B \
		--log "$tmp/l.csv" -o "$tmp/m.model" "$tmp/c.txt" ;;
	1x2) OMP_WAIT_POLICY=PASSIVE "$AD" train transformer $m --quiet --threads 2 --batch $B \
		--log "$tmp/l.csv" -o "$tmp/m.model" "$tmp/c.txt" ;;
	2x1*) btl="" env=""
		case $how in 2x1t*) btl="--mca btl tcp,self" ;; esac
		env="-x AD_MPI_BUCKET_KB=$(echo "$how" | cut -d/ -f2)"
		env="$env -x AD_MPI_OVERLAP=$(echo "$how" | cut -d/ -f3)"
		$MPI $btl $env -x OMP_WAIT_POLICY=PASSIVE -np 2 "$AD" train transformer $m --threads 1 \
			--batch $((B / 2)) --log "$tmp/l.csv" -o "$tmp/m.model" "$tmp/c.txt" 2>"$tmp/err"
		sed -n 's/.* \([0-9.]*\) MB of gradient allreduced per step in \([0-9.]*\) ms.*/\1 \2/p' \
			"$tmp/err" >>"$tmp/ar.$(echo "$how" | tr / _)" ;;
	esac
	step_time "$tmp/l.csv" >>"$tmp/times.$(echo "$how" | tr / _)"
}

printf '%-5s %-12s %10s %12s %12s %12s\n' shape run step_ms tokens_per_s mpi_ms MB_per_step
for s in $SHAPES; do
	set -- $(shape "$s")
	L=$1 NH=$2 C=$3 T=$4 B=$5 STEPS=$6
	m="-t $tmp/v.bpe --layers $L --heads $NH --dim $C --context $T --val-every 0 --checkpoint-every 0 --steps $STEPS"
	# Round-robin over the kinds, RUNS rounds: a change in the machine's
	# load falls on every kind alike instead of on a few.
	rm -f "$tmp"/times.* "$tmp"/ar.*
	r=0
	while [ $r -lt "$RUNS" ]; do
		for how in $(runs); do
			run_one
		done
		r=$((r + 1))
	done
	for how in $(runs); do
		f=$(echo "$how" | tr / _)
		t=$(median <"$tmp/times.$f")
		if [ "$how" != 1x1 ] && [ "$how" != 1x2 ]; then
			arms=$(cut -d' ' -f2 "$tmp/ar.$f" | median)
			mb=$(cut -d' ' -f1 "$tmp/ar.$f" | head -n 1)
		else
			arms=- mb=-
		fi
		printf '%-5s %-12s %10.1f %12.0f %12s %12s\n' "$s" "$how" "$(echo "$t" | awk '{ print $1 * 1e3 }')" \
			"$(echo "$t" | awk -v b="$B" -v T="$T" '{ print b * T / $1 }')" "$arms" "$mb"
		echo "$s $how $t $B $T $mb" >>"$tmp/table"
	done
done

echo "load average after the training runs: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

echo
echo "Bucket and overlap settings in turn, step by step (bench/dist_step.c), 2 ranks x 1 thread,"
echo "$ROUNDS rounds (medians; ratio: to $(echo "$PAIRED" | cut -d' ' -f1) in the same round):"
BUILD=$(dirname "$AD")
if [ -f "$BUILD/libautodidact.a" ] && [ -f "$BUILD/config.h" ] &&
	mpicc -O2 -std=c11 -fopenmp -I "$HERE/../src" -I "$BUILD" -o "$tmp/dist_step" \
		"$HERE/dist_step.c" "$BUILD/libautodidact.a" -lutf8proc -lpcre2-8 -lm; then
	for s in $SHAPES; do
		for net in shm tcp; do
			btl=""
			[ $net = tcp ] && btl="--mca btl tcp,self"
			echo "-- shape $s, $net (load average $(cut -d' ' -f1 /proc/loadavg 2>/dev/null))"
			$MPI $btl -x OMP_NUM_THREADS=1 -x OMP_WAIT_POLICY=PASSIVE -np 2 "$tmp/dist_step" \
				"$s" "$ROUNDS" $PAIRED || echo "(bench/dist_step.c failed: a build without --with-mpi?)"
		done
	done
else
	echo "(skipped: no libautodidact.a and config.h beside $AD to build bench/dist_step.c)"
fi
echo
echo "MPI_Allreduce (float, sum), 2 ranks (bench/allreduce.c):"
mpicc -O2 -o "$tmp/allreduce" "$HERE/allreduce.c"
echo "-- shared memory"
$MPI -np 2 "$tmp/allreduce" 64 20 | tee "$tmp/shm"
echo "-- TCP over the loopback (--mca btl tcp,self)"
$MPI --mca btl tcp,self -np 2 "$tmp/allreduce" 64 20 | tee "$tmp/tcp"
for s in $SHAPES; do
	mb=$(grep "^$s 2x1/" "$tmp/table" | head -n 1 | cut -d' ' -f6)
	echo "-- shape $s's gradient in buckets, shared memory"
	$MPI -np 2 "$tmp/allreduce" 8 10 "$mb" | sed -n '/in buckets/,$p'
done

echo
echo "Model of N machines like this one (weak scaling; see the top of this script):"
printf '%-5s %-8s %6s %12s %14s %10s\n' shape network N step_ms tokens_per_s efficiency
for s in $SHAPES; do
	line=$(grep "^$s 1x2 " "$tmp/table")
	tc=$(echo "$line" | cut -d' ' -f3)
	B=$(echo "$line" | cut -d' ' -f4)
	T=$(echo "$line" | cut -d' ' -f5)
	mb=$(grep "^$s 2x1/" "$tmp/table" | head -n 1 | cut -d' ' -f6)
	for net in 10 100; do
		for N in 1 8 64 256; do
			awk -v tc="$tc" -v B="$B" -v T="$T" -v mb="$mb" -v gb="$net" -v N="$N" -v s="$s" 'BEGIN {
				S = mb * 1e6; b = gb * 1e9 / 8; a = gb == 10 ? 25e-6 : 5e-6
				tar = N > 1 ? 2 * log(N) / log(2) * a + 2 * (N - 1) / N * S / b : 0
				t = tc + tar
				printf "%-5s %-8s %6d %12.1f %14.0f %9.0f%%\n", s, gb " Gb/s", N, t * 1e3, N * B * T / t, 100 * tc / t
			}'
		done
	done
done
