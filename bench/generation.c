/*
 * generation.c — generation at batch 1 (gpt_kv_step, the key/value cache)
 * with fp32 weights and with bf16 weights (gpt_set_precision), taken in
 * turn in one process, as precision.c does for training steps: on a shared
 * machine neighbouring runs see the same load.
 *
 * Shape M (bench/transformer.sh's: 6 layers, 6 heads, C 384, T 256,
 * V 4096; 49.3 MB of fp32 weights read per token, 24.6 MB in bf16), two
 * copies of one random initialisation, one kept in bf16. A run feeds
 * T - 1 tokens of a fixed random sequence after BOS to a fresh cache
 * (all positions of the context, as 'sample' fills it before it slides).
 * After one run of each as warm-up, ROUNDS rounds of one run of each
 * (round r starts with fp32 when r is even, with bf16 when odd); prints
 * the median tokens/s of each, by the wall clock and by the process's
 * CPU time, and the median over rounds of the ratio of a round's two runs.
 *
 *   cc -O2 -fopenmp -I src -I BUILD bench/generation.c BUILD/libautodidact.a \
 *       -lutf8proc -lpcre2-8 -lm -o generation
 *   OMP_NUM_THREADS=1 ./generation [ROUNDS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/progress.h"
#include "nn/nn.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* One run: BOS then ids[0 .. T-2]; seconds of wall clock and of CPU. */
static void
run(const struct gpt *g, struct gpt_kv *kv, const uint32_t *ids, double *wall, double *cpu)
{
	double w0 = ad_now(), c0 = cpu_now();

	gpt_kv_reset(kv);
	gpt_kv_step(g, kv, GPT_BOS(&g->cfg));
	for (size_t i = 0; i + 1 < g->cfg.T; i++)
		gpt_kv_step(g, kv, ids[i]);
	*wall = ad_now() - w0;
	*cpu = cpu_now() - c0;
}

int
main(int argc, char **argv)
{
	struct gpt_config cfg = { 6, 6, 384, 256, 4096, 4097 };
	struct ad_error   e = { 0 };
	struct gpt       *g[2] = { NULL, NULL };
	struct gpt_kv    *kv[2] = { NULL, NULL };
	struct ad_rng     rng;
	uint32_t          ids[256];
	int               rounds = argc > 1 ? atoi(argv[1]) : 9;
	double           *rate[2][2], *ratio[2], w, c;

	if (rounds < 1)
		rounds = 9;
	ad_rng_seed(&rng, 1, 1);
	for (int p = 0; p < 2; p++) {
		if (gpt_new(&g[p], &cfg, &e) != 0 || gpt_kv_new(g[0], &kv[p], &e) != 0) {
			fprintf(stderr, "generation: %s\n", e.msg);
			return 1;
		}
	}
	gpt_init(g[0], &rng);
	memcpy(g[1]->param_mem, g[0]->param_mem, g[0]->nparams * sizeof(float));
	if (gpt_set_precision(g[1], NN_PREC_BF16, &e) != 0) {
		fprintf(stderr, "generation: %s\n", e.msg);
		return 1;
	}
	if (g[1]->wbf_mem == NULL)
		fprintf(stderr, "generation: this CPU lacks AVX512-BF16: both runs are fp32\n");
	for (size_t i = 0; i < 256; i++)
		ids[i] = ad_rng_below(&rng, cfg.V);
	for (int p = 0; p < 2; p++) {
		rate[p][0] = calloc((size_t)rounds, sizeof(double));
		rate[p][1] = calloc((size_t)rounds, sizeof(double));
		ratio[p] = calloc((size_t)rounds, sizeof(double));
		run(g[p], kv[p], ids, &w, &c);   /* warm-up: page faults, caches */
	}
	for (int r = 0; r < rounds; r++) {
		double tw[2], tc[2];
		for (int k = 0; k < 2; k++) {
			int p = (r + k) % 2;
			run(g[p], kv[p], ids, &tw[p], &tc[p]);
			rate[p][0][r] = (double)cfg.T / tw[p];
			rate[p][1][r] = (double)cfg.T / tc[p];
		}
		ratio[0][r] = tw[0] / tw[1];
		ratio[1][r] = tc[0] / tc[1];
	}
	printf("generation, shape M, batch 1, %u tokens per run, %d rounds (%s):\n", cfg.T, rounds,
	    nn_kernel_name());
	printf("  fp32 weights: %.0f tokens/s (wall), %.0f (CPU time)\n",
	    median(rate[0][0], rounds), median(rate[0][1], rounds));
	printf("  bf16 weights: %.0f tokens/s (wall), %.0f (CPU time)\n",
	    median(rate[1][0], rounds), median(rate[1][1], rounds));
	printf("  bf16 / fp32: %.2fx (wall), %.2fx (CPU time), medians of the rounds' ratios\n",
	    median(ratio[0], rounds), median(ratio[1], rounds));
	for (int p = 0; p < 2; p++) {
		gpt_kv_free(kv[p]);
		gpt_free(g[p]);
		free(rate[p][0]);
		free(rate[p][1]);
		free(ratio[p]);
	}
	return 0;
}
