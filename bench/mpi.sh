#!/bin/sh
# bench/mpi.sh — data-parallel training over MPI on this machine, and a
# model of it on many machines.
#
# For shapes S and M (bench/transformer.sh: S = 4 layers, C 128, T 128,
# batch 8, 1.33 M parameters; M = 6 layers, C 384, T 256, batch 4, 12.3 M
# parameters; V = 4096) it measures the median step time of
#   1x1: one process, 1 thread, the whole batch
#   1x2: one process, 2 threads, the whole batch
#   2x1: mpirun -np 2, 1 thread per rank, half the batch each
#   2x1t: the same with Open MPI's TCP transport on the loopback instead
#         of shared memory (--mca btl tcp,self)
# with the gradient bytes per step and the time inside MPI_Allreduce that
# rank 0 reports; then the MPI_Allreduce bandwidth itself (bench/allreduce.c)
# between 2 ranks over shared memory and over TCP on the loopback.
#
# Finally a stated model of N machines like this one, each with the shape's
# batch and the 1x2 step time t_c (weak scaling, no overlap of communication
# with the backward pass, which src/nn/dist.c does not do):
#   t(N) = t_c + 2 log2(N) a + 2 (N-1)/N S / b
# (a bandwidth-optimal allreduce: reduce-scatter by recursive halving and
# allgather by recursive doubling, Thakur, Rabenseifner & Gropp 2005),
# S = 4 x parameters bytes, b the link rate (10 or 100 Gb/s, taken as fully
# usable), a the per-message latency (assumed 25 us at 10 Gb/s, 5 us at
# 100 Gb/s), throughput N B T / t(N), efficiency t_c / t(N).
#
# usage: bench/mpi.sh [path/to/autodidact] [corpus.txt]
#        env: RUNS=3 SHAPES="S M" MPIRUN=mpirun
set -eu
AD=${1:-./autodidact}
CORPUS=${2:-}
RUNS=${RUNS:-3}
SHAPES=${SHAPES:-"S M"}
MPIRUN=${MPIRUN:-mpirun}
HERE=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
MPI="$MPIRUN --allow-run-as-root --oversubscribe"

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
echo "runs: $RUNS (medians)"
printf '%-5s %-4s %10s %12s %12s %12s\n' shape run step_ms tokens_per_s allred_ms MB_per_step
for s in $SHAPES; do
	set -- $(shape "$s")
	L=$1 NH=$2 C=$3 T=$4 B=$5 STEPS=$6
	m="-t $tmp/v.bpe --layers $L --heads $NH --dim $C --context $T --val-every 0 --checkpoint-every 0 --steps $STEPS"
	for how in 1x1 1x2 2x1 2x1t; do
		: >"$tmp/times"
		: >"$tmp/ar"
		r=0
		while [ $r -lt "$RUNS" ]; do
			case $how in
			1x1) OMP_WAIT_POLICY=PASSIVE "$AD" train transformer $m --quiet --threads 1 --batch $B \
				--log "$tmp/l.csv" -o "$tmp/m.model" "$tmp/c.txt" ;;
			1x2) OMP_WAIT_POLICY=PASSIVE "$AD" train transformer $m --quiet --threads 2 --batch $B \
				--log "$tmp/l.csv" -o "$tmp/m.model" "$tmp/c.txt" ;;
			2x1*) btl=""
				[ "$how" = 2x1t ] && btl="--mca btl tcp,self"
				$MPI $btl -x OMP_WAIT_POLICY=PASSIVE -np 2 "$AD" train transformer $m --threads 1 \
				--batch $((B / 2)) --log "$tmp/l.csv" -o "$tmp/m.model" "$tmp/c.txt" 2>"$tmp/err"
				sed -n 's/.* \([0-9.]*\) MB of gradient allreduced per step in \([0-9.]*\) ms.*/\1 \2/p' \
					"$tmp/err" >>"$tmp/ar" ;;
			esac
			step_time "$tmp/l.csv" >>"$tmp/times"
			r=$((r + 1))
		done
		t=$(median <"$tmp/times")
		if [ "$how" != 1x1 ] && [ "$how" != 1x2 ]; then
			arms=$(cut -d' ' -f2 "$tmp/ar" | median)
			mb=$(cut -d' ' -f1 "$tmp/ar" | head -n 1)
		else
			arms=- mb=-
		fi
		printf '%-5s %-4s %10.1f %12.0f %12s %12s\n' "$s" "$how" "$(echo "$t" | awk '{ print $1 * 1e3 }')" \
			"$(echo "$t" | awk -v b="$B" -v T="$T" '{ print b * T / $1 }')" "$arms" "$mb"
		echo "$s $how $t $B $T $mb" >>"$tmp/table"
	done
done

echo
echo "MPI_Allreduce (float, sum), 2 ranks (bench/allreduce.c):"
mpicc -O2 -o "$tmp/allreduce" "$HERE/allreduce.c"
echo "-- shared memory"
$MPI -np 2 "$tmp/allreduce" 64 20 | tee "$tmp/shm"
echo "-- TCP over the loopback (--mca btl tcp,self)"
$MPI --mca btl tcp,self -np 2 "$tmp/allreduce" 64 20 | tee "$tmp/tcp"

echo
echo "Model of N machines like this one (weak scaling; see the top of this script):"
printf '%-5s %-8s %6s %12s %14s %10s\n' shape network N step_ms tokens_per_s efficiency
for s in $SHAPES; do
	line=$(grep "^$s 1x2 " "$tmp/table")
	tc=$(echo "$line" | cut -d' ' -f3)
	B=$(echo "$line" | cut -d' ' -f4)
	T=$(echo "$line" | cut -d' ' -f5)
	mb=$(grep "^$s 2x1 " "$tmp/table" | cut -d' ' -f6)
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
