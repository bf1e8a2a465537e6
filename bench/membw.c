/*
 * membw.c — the memory bandwidth generation at batch 1 is bound by: every
 * OpenMP thread sums its share of a float array much larger than the
 * caches (default 1 GiB), as the matrix-vector products of a decoding step
 * read their weights once each. Prints the best of REPS passes in GB/s
 * (10^9 bytes). Built and run by bench/gpt2.sh.
 *
 * usage: membw [MiB] [REPS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>

int
main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
	int    reps = argc > 2 ? atoi(argv[2]) : 5;
	size_t n = mib * 1024 * 1024 / sizeof(float);
	float *a = malloc(n * sizeof *a);
	double best = 0, sink = 0;

	if (a == NULL)
		return 1;
	/* First touch in parallel: the pages land where the threads run. */
#pragma omp parallel for schedule(static)
	for (size_t i = 0; i < n; i++)
		a[i] = (float)(i & 7);
	for (int r = 0; r < reps; r++) {
		double t0 = omp_get_wtime(), s = 0;
		/* Each thread reads a disjoint static slice of 16-float rows into
		 * 16 independent lanes (vectorised, no chain of dependent adds);
		 * the per-thread sums are reduced. */
#pragma omp parallel reduction(+:s)
		{
			float lane[16] = { 0 };
#pragma omp for schedule(static)
			for (size_t i = 0; i < n / 16; i++)
				for (int k = 0; k < 16; k++)
					lane[k] += a[i * 16 + k];
			for (int k = 0; k < 16; k++)
				s += lane[k];
		}
		double dt = omp_get_wtime() - t0;
		sink += s;
		if (n * sizeof *a / dt / 1e9 > best)
			best = n * sizeof *a / dt / 1e9;
	}
	printf("%.2f\n", best);
	fprintf(stderr, "membw: %zu MiB, %d threads, best of %d: %.2f GB/s (checksum %g)\n", mib,
	    omp_get_max_threads(), reps, best, sink);
	free(a);
	return 0;
}
