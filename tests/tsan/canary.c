/*
 * canary.c — the check of the checker (tests/tsan/run.sh). Built with the
 * same compiler, flags and OpenMP runtime as the project under test.
 *
 *   canary race   a true data race (every thread adds to one shared
 *                 counter without synchronisation): ThreadSanitizer must
 *                 report it, or the race check could not fail.
 *   canary clean  the synchronisation the project relies on (barriers,
 *                 the implicit barrier at the end of a region, reduction,
 *                 atomic, critical, static and dynamic schedules, regions
 *                 opened again and again by the same threads): must give no
 *                 report, or the check would cry wolf on correct code.
 *                 (The OpenMP runtime itself is not instrumented; Archer
 *                 tells ThreadSanitizer about its synchronisation.)
 *
 * Prints a checksum computed by the threads, compared by run.sh with the
 * closed form, so that the clean run also shows the program worked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

#define N 4096

static long
clean(void)
{
	static long a[N], b[N];
	long        sum = 0, atom = 0, crit = 0;

	for (int round = 0; round < 8; round++) {
		#pragma omp parallel
		{
			int t = omp_get_thread_num(), nt = omp_get_num_threads();

			#pragma omp for schedule(static)
			for (long i = 0; i < N; i++)
				a[i] = i + round;
			/* implicit barrier: b reads elements other threads wrote */
			#pragma omp for schedule(dynamic, 7)
			for (long i = 0; i < N; i++)
				b[i] = a[N - 1 - i];
			#pragma omp single
			a[0] = -1;
			/* implicit barrier after single */
			if (a[0] != -1)
				abort();
			#pragma omp barrier
			#pragma omp for schedule(static) reduction(+:sum)
			for (long i = 0; i < N; i++)
				sum += b[(i + (long)t * 17 + nt) % N] - b[(i + (long)t * 17 + nt) % N] + b[i];
			#pragma omp atomic
			atom += 1;
			#pragma omp critical
			crit += t;
		}
	}
	/* sum over rounds of sum_i (i + round) = 8 * N(N-1)/2 + N * (0 + ... + 7) */
	return sum + (atom > 0 ? 0 : 1) + (crit >= 0 ? 0 : 1);
}

static long
race(void)
{
	static long shared;

	#pragma omp parallel for schedule(static)
	for (long i = 0; i < N; i++)
		shared += i;   /* the race */
	return shared;
}

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "clean") == 0) {
		printf("%ld %ld\n", clean(), 8L * N * (N - 1) / 2 + (long)N * 28);
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "race") == 0) {
		printf("%ld\n", race());
		return 0;
	}
	fprintf(stderr, "usage: canary clean|race\n");
	return 2;
}
