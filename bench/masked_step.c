/*
 * masked_step.c — the cost of full attention in a training step: one
 * forward and backward pass of the preset "small" (4 layers, 4 heads,
 * C=128, T=128, B=8, V=4096) with causal attention and with full attention
 * (the masked objective's), alternating in one process so that the load of
 * a shared machine falls on both alike. Each repetition times one causal
 * and one full step; the script prints the median time of each and the
 * median of the per-repetition ratios full / causal. Nothing else differs:
 * the same weights, inputs, targets and loss positions.
 *
 * Built against a configured build's library (BUILD: the build directory):
 *
 *   cc -O2 -march=native -fopenmp -Isrc -I$BUILD bench/masked_step.c \
 *       $BUILD/libautodidact.a $(pkg-config --libs libutf8proc libpcre2-8) -lm \
 *       -o masked_step
 *   ./masked_step [REPS]      (41 by default)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

/* One training pass (forward and backward) with the given attention. */
static double
step(struct gpt *g, enum nn_attention att, const uint32_t *in, const uint32_t *tg,
    const uint8_t *mk, size_t B, size_t T, size_t counted)
{
	struct ad_error e = { 0 };
	double          t0 = now();

	g->attention = att;
	gpt_forward(g, in, tg, mk, B, T);
	gpt_zero_grad(g);
	if (gpt_backward(g, in, tg, mk, B, T, (float)(1.0 / (double)counted), &e) != 0) {
		fprintf(stderr, "masked_step: %s\n", e.msg);
		exit(1);
	}
	return now() - t0;
}

int
main(int argc, char **argv)
{
	int               reps = argc > 1 ? atoi(argv[1]) : 41;
	struct gpt_config cfg;
	struct gpt       *g;
	struct ad_error   e = { 0 };
	struct ad_rng     r;
	size_t            B = 8, T, n, counted = 0;
	uint32_t         *in, *tg;
	uint8_t          *mk;
	double           *tc, *tf, *ratio;

	if (reps < 1 || gpt_preset("small", &cfg) != 0)
		return 2;
	cfg.V = 4096;
	cfg.Vin = cfg.V + 2;
	T = cfg.T;
	n = B * T;
	if (gpt_new(&g, &cfg, &e) != 0 || gpt_alloc(g, B, T, 1, &e) != 0) {
		fprintf(stderr, "masked_step: %s\n", e.msg);
		return 1;
	}
	ad_rng_seed(&r, 1, 1);
	gpt_init(g, &r);
	in = malloc(n * sizeof *in);
	tg = malloc(n * sizeof *tg);
	mk = malloc(n);
	tc = malloc((size_t)reps * sizeof *tc);
	tf = malloc((size_t)reps * sizeof *tf);
	ratio = malloc((size_t)reps * sizeof *ratio);
	if (!in || !tg || !mk || !tc || !tf || !ratio)
		return 1;
	/* Random tokens; the loss on 15% of the positions, as the masked run's. */
	for (size_t i = 0; i < n; i++) {
		in[i] = ad_rng_below(&r, cfg.V);
		tg[i] = ad_rng_below(&r, cfg.V);
		mk[i] = ad_rng_below(&r, 100) < 15;
		counted += mk[i];
	}
	/* Warm-up: page faults and packing buffers. */
	step(g, NN_ATTN_CAUSAL, in, tg, mk, B, T, counted);
	step(g, NN_ATTN_FULL, in, tg, mk, B, T, counted);
	for (int i = 0; i < reps; i++) {
		tc[i] = step(g, NN_ATTN_CAUSAL, in, tg, mk, B, T, counted);
		tf[i] = step(g, NN_ATTN_FULL, in, tg, mk, B, T, counted);
		ratio[i] = tf[i] / tc[i];
	}
	printf("preset small, B=%zu T=%zu V=%u, kernel %s, %d alternating repetitions\n", B, T,
	    cfg.V, nn_kernel_name(), reps);
	printf("causal step: median %.2f ms (%.0f tokens/s)\n", median(tc, reps) * 1e3,
	    (double)n / median(tc, reps));
	printf("full   step: median %.2f ms (%.0f tokens/s)\n", median(tf, reps) * 1e3,
	    (double)n / median(tf, reps));
	printf("full / causal time: median ratio %.3f\n", median(ratio, reps));
	free(in); free(tg); free(mk); free(tc); free(tf); free(ratio);
	gpt_free(g);
	return 0;
}
