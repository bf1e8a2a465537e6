/*
 * precision.c — training steps in fp32 and in bf16 (--precision) taken in
 * turn in one process: on a machine shared with other jobs the load moves
 * from one minute to the next, so whole runs timed one after the other
 * measure the load as much as the precision; here neighbouring steps, one
 * per precision, see the same load.
 *
 * Two models of shape S or M (bench/transformer.sh's: S 4 layers, 4 heads,
 * C 128, T 128, B 8; M 6, 6, 384, 256, 4; V 4096), initialised alike, each
 * with its trainer on the same random token stream, one in fp32 and one in
 * bf16. After two rounds of warm-up, ROUNDS rounds of one step of each
 * (round r starts with fp32 when r is even, with bf16 when odd); prints
 * the median tokens/s of each and the median over rounds of the ratio of
 * the two steps of a round (fp32 time / bf16 time).
 *
 *   cc -O2 -fopenmp -I src -I BUILD bench/precision.c BUILD/libautodidact.a \
 *       -lutf8proc -lpcre2-8 -lm -o precision
 *   OMP_NUM_THREADS=2 ./precision S|M [ROUNDS]
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int
main(int argc, char **argv)
{
	struct ad_error       e = { 0 };
	struct gpt_config     cfg = { 0 };
	struct gpt           *g[2] = { NULL, NULL };
	struct adamw         *opt[2] = { NULL, NULL };
	struct adamw_config   ac = { 3e-4, 3e-5, 0.9, 0.95, 1e-8, 0.1, 1.0, 10, 1000000 };
	struct nn_train_state st;
	struct nn_trainer    *tr[2] = { NULL, NULL };
	struct nn_step_stats  ss;
	struct ad_rng         rng;
	uint32_t             *tok;
	size_t                ntok = 1 << 20;
	double               *rate[2], *ratio, t[2];
	int                   rounds = argc > 2 ? atoi(argv[2]) : 15, batch;

	if (argc < 2 || (strcmp(argv[1], "S") != 0 && strcmp(argv[1], "M") != 0) || rounds < 1) {
		fprintf(stderr, "usage: precision S|M [ROUNDS]\n");
		return 2;
	}
	if (!nn_bf16_available())
		fprintf(stderr, "precision: this CPU lacks AVX512-BF16: both run in fp32\n");
	if (argv[1][0] == 'S') {
		cfg.L = 4, cfg.NH = 4, cfg.C = 128, cfg.T = 128, batch = 8;
	} else {
		cfg.L = 6, cfg.NH = 6, cfg.C = 384, cfg.T = 256, batch = 4;
	}
	cfg.V = 4096;
	cfg.Vin = cfg.V + 1;
	if ((tok = malloc(ntok * sizeof *tok)) == NULL)
		return 1;
	ad_rng_seed(&rng, 2, 0);
	for (size_t i = 0; i < ntok; i++)
		tok[i] = ad_rng_below(&rng, cfg.V);
	memset(&st, 0, sizeof st);
	st.steps = ac.steps;
	st.warmup = ac.warmup;
	st.seed = 1;
	st.batch = (uint32_t)batch;
	st.accum = 1;
	st.context = cfg.T;
	st.lr = ac.lr, st.min_lr = ac.min_lr, st.beta1 = ac.beta1, st.beta2 = ac.beta2;
	st.eps = ac.eps, st.weight_decay = ac.weight_decay, st.clip = ac.clip;
	st.last_val = NAN;
	strcpy(st.objective, "causal");
	ad_rng_seed(&st.rng, 1, 0);
	for (int p = 0; p < 2; p++) {
		st.precision = p ? NN_PREC_BF16 : NN_PREC_FP32;
		ad_rng_seed(&rng, 1, 1);
		if (gpt_new(&g[p], &cfg, &e) != 0 || (gpt_init(g[p], &rng), 0) ||
		    adamw_new(&opt[p], &ac, g[p]->nparams, &e) != 0 ||
		    nn_trainer_new(&tr[p], g[p], opt[p], &nn_objective_causal, &st, tok, ntok,
		    &e) != 0) {
			fprintf(stderr, "precision: %s\n", e.msg);
			return 1;
		}
	}
	rate[0] = malloc((size_t)rounds * sizeof(double));
	rate[1] = malloc((size_t)rounds * sizeof(double));
	ratio = malloc((size_t)rounds * sizeof(double));
	if (rate[0] == NULL || rate[1] == NULL || ratio == NULL)
		return 1;
	for (int r = -2; r < rounds; r++) {
		for (int i = 0; i < 2; i++) {
			int    p = (i + (r < 0 ? 0 : r)) % 2;
			double t0 = ad_now();
			if (nn_trainer_step(tr[p], &ss, &e) != 0) {
				fprintf(stderr, "precision: %s\n", e.msg);
				return 1;
			}
			t[p] = ad_now() - t0;
		}
		if (r < 0)
			continue;
		rate[0][r] = batch * cfg.T / t[0];
		rate[1][r] = batch * cfg.T / t[1];
		ratio[r] = t[0] / t[1];
	}
	printf("shape %s: fp32 %.0f tokens/s, bf16 %.0f tokens/s, bf16/fp32 %.2fx "
	    "(medians of %d rounds of one step each, in turn)\n", argv[1], median(rate[0], rounds),
	    median(rate[1], rounds), median(ratio, rounds), rounds);
	for (int p = 0; p < 2; p++) {
		nn_trainer_free(tr[p]);
		adamw_free(opt[p]);
		gpt_free(g[p]);
	}
	free(rate[0]);
	free(rate[1]);
	free(ratio);
	free(tok);
	return 0;
}
