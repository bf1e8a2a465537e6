/*
 * knn_search.c — the kNN-LM's exact search alone: queries per second and
 * GFLOP/s of knn_search over a store's keys, for windows of nq queries
 * taken from the store itself (the shape of one scoring window: T/2 kept
 * rows). Each repetition is timed; the median is printed. Compare the
 * GFLOP/s with bench/fma_peak.c's peak, run by bench/knn.sh beside it.
 *
 * usage: knn_search STORE [NQ] [K] [REPS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "base/progress.h"
#include "knn/knn.h"

int
main(int argc, char **argv)
{
	struct knn_store *s;
	struct ad_error   e = { 0 };
	size_t            nq = argc > 2 ? strtoul(argv[2], NULL, 10) : 64;
	size_t            k = argc > 3 ? strtoul(argv[3], NULL, 10) : 16;
	int               reps = argc > 4 ? atoi(argv[4]) : 9;
	double            t[64];
	uint32_t         *idx;
	float            *dist;

	if (argc < 2 || knn_store_open(&s, argv[1], &e) != 0) {
		fprintf(stderr, "knn_search: %s\n", argc < 2 ? "usage: knn_search STORE" : e.msg);
		return 1;
	}
	reps = reps < 1 ? 1 : reps > 64 ? 64 : reps;
	idx = malloc(nq * k * sizeof *idx);
	dist = malloc(nq * k * sizeof *dist);
	for (int r = 0; r < reps; r++) {
		/* A different window each time: queries from spread-out keys. */
		const float *q = s->keys + ((size_t)r * 7919 % (s->N - nq)) * s->C;
		double       t0 = ad_now();
		if (knn_search(s->keys, s->sqnorms, s->N, s->C, s->params.metric, q, nq, k, idx, dist,
		    NULL, &e) != 0) {
			fprintf(stderr, "knn_search: %s\n", e.msg);
			return 1;
		}
		t[r] = ad_now() - t0;
	}
	/* The median: the timings in order (an insertion sort of a few). */
	for (int i = 1; i < reps; i++)
		for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
			double x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	printf("keys %llu width %u queries %zu k %zu: %.4f s median, %.0f queries/s, %.1f GFLOP/s\n",
	    (unsigned long long)s->N, s->C, nq, k, t[reps / 2], (double)nq / t[reps / 2],
	    2.0 * (double)nq * (double)s->N * s->C / t[reps / 2] / 1e9);
	knn_store_free(s);
	free(idx);
	free(dist);
	return 0;
}
