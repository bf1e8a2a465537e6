/*
 * kernels.c — every threaded kernel of the transformer on shapes large
 * enough that each parallel region really runs on all threads (the `if`
 * clauses in src/nn/ keep small loops on one thread: the tests' shapes stay
 * under most of them), for tests/tsan/run.sh.
 *
 *   kernels N...   run everything with one thread, then with N threads for
 *                  each N given, and compare the results bit for bit
 *
 * Two oracles: ThreadSanitizer watches for races while it runs, and the
 * one-thread run is the reference the others must equal exactly (nn.h
 * promises results independent of the thread count). Covered: a GPT
 * forward and backward pass (embeddings, LayerNorm, the matrix products
 * and nn_sgemm, attention, GELU, the residual adds, the fused softmax
 * cross-entropy), the gradient norm and an AdamW step, twice; generation
 * with the key/value cache (a prefill, nn_matvec, attention over heads);
 * and nn_residual_backward, which
 * the model does not call. Exit 0 when every result matches, 1 otherwise.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/rng.h"
#include "nn/nn.h"

/*
 * B*T*C = 65536 and N*C reach NN_PAR_MIN (src/nn/layers.c); attention does
 * B*NH*T*T*hs = 8.4e6 >= 64*NN_PAR_MIN; the fc weight (4C*C = 65536) and
 * wte reach AdamW's 65536; C*V reaches nn_matvec's 65536 (the prefill's
 * logits); 12 L C^2 + V C reaches the size at which gpt_kv_step shares a
 * step among threads (KV_PAR_MIN in src/nn/gpt.c).
 */
static const struct gpt_config cfg = { 1, 4, 128, 128, 512, 513 };
#define B 4
#define STEPS 2
#define GEN 6
#define RES_N 65536
/* nn_matvec_bf16's (MV_OC, MV_C): C*OC = 131072 >= its 65536 threshold. */
#define MV_C 256
#define MV_OC 512

struct result {
	double  loss[STEPS];
	double  norm[STEPS];
	float  *grads;     /* (nparams) after the last backward */
	float  *params;    /* (nparams) after the last step */
	float  *logits;    /* (GEN, V) from the cache */
	float  *res;       /* (2, RES_N) from nn_residual_backward */
	float  *mv;        /* (2, MV_OC) from nn_matvec_bf16: the CPU's best kernel
	                    * (AVX512-BF16 where present), then plain C */
	size_t  np;        /* parameters */
};

static void
die(const char *what, struct ad_error *e)
{
	fprintf(stderr, "kernels: %s%s%s\n", what, e ? ": " : "", e ? e->msg : "");
	exit(2);
}

static void
run(int threads, struct result *r)
{
	struct adamw_config ac = { 1e-2, 1e-3, 0.9, 0.95, 1e-8, 0.1, 1.0, 1, STEPS };
	struct gpt         *g;
	struct adamw       *a;
	struct gpt_kv      *kv;
	struct ad_rng       rng;
	struct ad_error     e = { 0 };
	uint32_t            in[B * 128], tg[B * 128];
	float              *d1, *d2, *dout;

	omp_set_num_threads(threads);
	if (gpt_new(&g, &cfg, &e) != 0 || gpt_alloc(g, B, cfg.T, 1, &e) != 0 ||
	    adamw_new(&a, &ac, g->nparams, &e) != 0 || nn_sgemm_prepare() != 0)
		die("cannot make the model", &e);
	ad_rng_seed(&rng, 42, 1);
	gpt_init(g, &rng);
	for (size_t i = 0; i < B * cfg.T; i++) {
		in[i] = i % cfg.T == 0 ? GPT_BOS(&cfg) : ad_rng_below(&rng, cfg.V);
		tg[i] = ad_rng_below(&rng, cfg.V);
	}
	for (int s = 0; s < STEPS; s++) {
		r->loss[s] = gpt_forward(g, in, tg, NULL, B, cfg.T);
		gpt_zero_grad(g);
		if (gpt_backward(g, in, tg, NULL, B, cfg.T, 1.0f / (B * cfg.T), &e) != 0)
			die("backward", &e);
		r->norm[s] = nn_grad_norm(g->grad_mem, g->nparams);
		adamw_step(a, g, adamw_lr(&ac, (uint64_t)s), r->norm[s]);
	}
	r->grads = malloc(g->nparams * sizeof(float));
	r->params = malloc(g->nparams * sizeof(float));
	r->logits = malloc((size_t)GEN * cfg.V * sizeof(float));
	if (r->grads == NULL || r->params == NULL || r->logits == NULL)
		die("out of memory", NULL);
	r->np = g->nparams;
	memcpy(r->grads, g->grad_mem, g->nparams * sizeof(float));
	memcpy(r->params, g->param_mem, g->nparams * sizeof(float));

	/* The cache filled by one forward pass up to T - GEN, then GEN steps to
	 * the end of the context: the last reaches the threshold of the
	 * attention's loop over heads (C * (pos + 1) >= 16384). */
	if (gpt_kv_new(g, &kv, &e) != 0)
		die("cannot make the cache", &e);
	gpt_kv_prefill(g, kv, in, cfg.T - GEN);
	for (int t = 0; t < GEN; t++) {
		gpt_kv_step(g, kv, in[cfg.T - GEN + t]);
		memcpy(r->logits + (size_t)t * cfg.V, kv->logits, cfg.V * sizeof(float));
	}
	gpt_kv_free(kv);
	adamw_free(a);
	gpt_free(g);

	/* The one kernel the model does not use. */
	r->res = calloc(2 * RES_N, sizeof(float));
	dout = malloc(RES_N * sizeof(float));
	if (r->res == NULL || dout == NULL)
		die("out of memory", NULL);
	d1 = r->res;
	d2 = r->res + RES_N;
	for (size_t i = 0; i < RES_N; i++) {
		dout[i] = (float)ad_rng_below(&rng, 1000) / 7.0f;
		d1[i] = (float)i;
		d2[i] = -(float)i;
	}
	nn_residual_backward(d1, d2, dout, RES_N);
	free(dout);

	/* Generation's bf16 product, on each of its two paths. */
	{
		uint16_t *W = malloc((size_t)MV_OC * MV_C * sizeof *W);
		float    *x = malloc(MV_C * sizeof *x), *bias = malloc(MV_OC * sizeof *bias);

		r->mv = malloc(2 * MV_OC * sizeof(float));
		if (W == NULL || x == NULL || bias == NULL || r->mv == NULL)
			die("out of memory", NULL);
		for (size_t i = 0; i < (size_t)MV_OC * MV_C; i++)
			W[i] = nn_bf16_of((float)ad_rng_below(&rng, 2001) / 1000.0f - 1.0f);
		for (size_t i = 0; i < MV_C; i++)
			x[i] = (float)ad_rng_below(&rng, 2001) / 1000.0f - 1.0f;
		for (size_t i = 0; i < MV_OC; i++)
			bias[i] = (float)i / MV_OC;
		nn_matvec_bf16(r->mv, W, x, bias, MV_C, MV_OC);
		nn_kernel_select(NN_KERNEL_PORTABLE);
		nn_matvec_bf16(r->mv + MV_OC, W, x, bias, MV_C, MV_OC);
		nn_kernel_select(NN_KERNEL_AUTO);
		free(W);
		free(x);
		free(bias);
	}
}

static int
same(const char *what, const void *a, const void *b, size_t n, int threads)
{
	if (memcmp(a, b, n) == 0)
		return 0;
	fprintf(stderr, "kernels: %s with %d threads differs from one thread\n", what, threads);
	return 1;
}

static void
release(struct result *r)
{
	free(r->grads);
	free(r->params);
	free(r->logits);
	free(r->res);
	free(r->mv);
}

int
main(int argc, char **argv)
{
	struct result ref, r;
	int           bad = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: kernels THREADS...\n");
		return 2;
	}
	run(1, &ref);
	for (int i = 1; i < argc; i++) {
		int n = atoi(argv[i]);
		if (n < 2) {
			fprintf(stderr, "kernels: %s: give thread counts of 2 or more\n", argv[i]);
			return 2;
		}
		run(n, &r);
		if (r.np != ref.np)
			die("the models differ in size", NULL);
		bad |= same("the losses", ref.loss, r.loss, sizeof r.loss, n);
		bad |= same("the gradient norms", ref.norm, r.norm, sizeof r.norm, n);
		bad |= same("the gradients", ref.grads, r.grads, ref.np * sizeof(float), n);
		bad |= same("the parameters after AdamW", ref.params, r.params, ref.np * sizeof(float), n);
		bad |= same("the cached generation's logits", ref.logits, r.logits,
		    (size_t)GEN * cfg.V * sizeof(float), n);
		bad |= same("nn_residual_backward", ref.res, r.res, 2 * RES_N * sizeof(float), n);
		bad |= same("nn_matvec_bf16", ref.mv, r.mv, 2 * MV_OC * sizeof(float), n);
		release(&r);
		if (!bad)
			printf("kernels: %d threads: the same bits as one thread\n", n);
	}
	release(&ref);
	return bad;
}
