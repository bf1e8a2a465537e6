/*
 * pretok.c — pre-tokenization alone: the hand-written matcher of the
 * built-in patterns against PCRE2 (JIT) running the same pattern, on whole
 * files. For each file and pattern the two run alternately REPS times in
 * this one process (median MB/s of each, and their ratio); the pieces must
 * be the same (checked on the first run). Built and run by bench/pretok.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "base/progress.h"
#include "bpe/pretok.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Cut text into pieces; the number of pieces and a checksum of their ends. */
static size_t
cut(struct pretok_iter *it, const uint8_t *s, size_t n, size_t *sum)
{
	struct ad_error e = { 0 };
	size_t          a, z, k = 0;

	*sum = 0;
	pretok_start(it, s, n, n);
	while (pretok_next(it, &a, &z, &e) == 1) {
		*sum = *sum * 31 + z;
		k++;
	}
	return k;
}

int
main(int argc, char **argv)
{
	static const char *pats[] = { "gpt2", "gpt4", "o200k" };
	int reps = argc > 1 ? atoi(argv[1]) : 9;

	if (reps < 1 || reps > 99)
		reps = 9;
	for (int f = 2; f < argc; f++) {
		struct ad_map   m;
		struct ad_error e = { 0 };
		if (ad_map_file(argv[f], &m, &e) != 0) {
			fprintf(stderr, "pretok: %s\n", e.msg);
			return 1;
		}
		for (size_t pi = 0; pi < 3; pi++) {
			struct pretok      *p[2];
			struct pretok_iter *it[2];
			double              t[2][99], mbs[2];
			size_t              k[2], sum[2];
			for (int w = 0; w < 2; w++) {
				if (pretok_new(&p[w], pats[pi], &e) != 0 || pretok_iter_new(p[w], &it[w], &e) != 0) {
					fprintf(stderr, "pretok: %s\n", e.msg);
					return 1;
				}
			}
			pretok_use_pcre2(p[1]);
			for (int r = 0; r < reps; r++)
				for (int w = 0; w < 2; w++) {
					size_t s2, k2;
					double t0 = ad_now();
					k2 = cut(it[w], m.data, m.size, &s2);
					t[w][r] = ad_now() - t0;
					if (r == 0) {
						k[w] = k2;
						sum[w] = s2;
					}
				}
			if (k[0] != k[1] || sum[0] != sum[1]) {
				fprintf(stderr, "pretok: %s on %s: the pieces differ\n", pats[pi], argv[f]);
				return 1;
			}
			for (int w = 0; w < 2; w++) {
				qsort(t[w], (size_t)reps, sizeof t[w][0], cmp);
				mbs[w] = (double)m.size / 1e6 / t[w][reps / 2];
			}
			printf("%-40s %-5s %8zu pieces  hand %7.1f MB/s  PCRE2 JIT %7.1f MB/s  %.2fx%s\n",
			    strrchr(argv[f], '/') ? strrchr(argv[f], '/') + 1 : argv[f], pats[pi], k[0],
			    mbs[0], mbs[1], mbs[0] / mbs[1], pretok_jit(p[1]) ? "" : " (no JIT)");
			for (int w = 0; w < 2; w++) {
				pretok_iter_free(it[w]);
				pretok_free(p[w]);
			}
		}
		ad_map_release(&m);
	}
	return 0;
}
