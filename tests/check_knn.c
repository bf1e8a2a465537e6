/*
 * check_knn.c — the kNN-LM: exact search against a brute-force double
 * search, the store file (round trip, a model it does not match, damage),
 * the kNN-LM's distribution (sums to 1; lambda = 0 is the transformer bit
 * for bit; p_kNN recomputed by hand from the brute-force neighbours of the
 * key cache's context vector), and the contrast of Gaussian data against
 * the 1 / sqrt(D) law.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "base/io.h"
#include "base/rng.h"
#include "knn/knn.h"
#include "lm/lm.h"
#include "nn/nn.h"
#include "testutil.h"

static float *
gaussian(size_t n, uint64_t seed)
{
	struct ad_rng r;
	float        *x = malloc(n * sizeof *x);

	ck_assert_ptr_nonnull(x);
	ad_rng_seed(&r, seed, 1);
	for (size_t i = 0; i < n; i++)
		x[i] = (float)ad_rng_normal(&r);
	return x;
}

/* Exact search = a plain double search: the same neighbours in the same
 * order, distances within float rounding; with 2100 queries the key block
 * is 2^22 / 2100 = 1997 keys, so the 2500 keys span two blocks. */
START_TEST(test_search_exact)
{
	enum knn_metric metric = _i % 2 == 0 ? KNN_L2 : KNN_COSINE;
	size_t          N = 2500, C = 24, nq = _i < 2 ? 37 : 2100, k = 10;
	float          *keys = gaussian(N * C, 1), *q = gaussian(nq * C, 2), *sq, *dist, *dmax;
	uint32_t       *idx, *ridx;
	double         *rdist;
	struct ad_error e = { 0 };

	sq = malloc(N * sizeof *sq);
	dist = malloc(nq * k * sizeof *dist);
	dmax = malloc(nq * sizeof *dmax);
	idx = malloc(nq * k * sizeof *idx);
	ridx = malloc(nq * N * sizeof *ridx);
	rdist = malloc(nq * N * sizeof *rdist);
	for (size_t i = 0; i < N; i++) {
		double s = 0;
		for (size_t c = 0; c < C; c++)
			s += (double)keys[i * C + c] * keys[i * C + c];
		sq[i] = (float)s;
	}
	ck_assert_int_eq(knn_search(keys, sq, N, C, metric, q, nq, k, idx, dist, dmax, &e), 0);
	ck_assert_int_eq(knn_search_ref(keys, N, C, metric, q, nq, N, ridx, rdist), 0);
	for (size_t i = 0; i < nq; i++) {
		for (size_t j = 0; j < k; j++) {
			ck_assert_uint_eq(idx[i * k + j], ridx[i * N + j]);
			ck_assert_double_le(fabs(dist[i * k + j] - rdist[i * N + j]),
			    1e-4 * (1 + rdist[i * N + j]));
		}
		ck_assert_double_le(fabs(dmax[i] - rdist[i * N + N - 1]),
		    1e-4 * (1 + rdist[i * N + N - 1]));
	}
	/* More neighbours than keys: the rest is padded. */
	ck_assert_int_eq(knn_search(keys, sq, 3, C, metric, q, 1, 5, idx, dist, NULL, &e), 0);
	ck_assert_uint_eq(idx[0] + idx[1] + idx[2], 3);
	ck_assert_uint_eq(idx[3], UINT32_MAX);
	ck_assert(isinf(dist[4]));
	free(keys); free(q); free(sq); free(dist); free(dmax); free(idx); free(ridx); free(rdist);
}
END_TEST

/* The mixture by hand: ln(l e^b + (1 - l) e^a), and lambda = 0 bit for bit. */
START_TEST(test_mix)
{
	float    d[4] = { 1.0f, 2.0f, 2.0f, 5.0f };
	uint32_t idx[4] = { 0, 1, 2, 3 }, val[4] = { 7, 8, 7, 9 };
	double   z = exp(0) + exp(-0.5) + exp(-0.5) + exp(-2), a = log(0.3);

	/* tau = 2: weights e^{-(d - 1)/2}. */
	ck_assert_double_le(fabs(knn_log_pknn(d, idx, val, 4, 2.0, 7) -
	    log((1 + exp(-0.5)) / z)), 1e-12);
	ck_assert(isinf(knn_log_pknn(d, idx, val, 4, 2.0, 3)));
	ck_assert_double_le(fabs(knn_mix(0.25, a, log(0.6)) - log(0.25 * 0.6 + 0.75 * 0.3)), 1e-12);
	for (int i = 0; i < 100; i++) {
		double lp = -0.37 * i - 1e-3;
		double m = knn_mix(0, lp, -0.1 * i);
		ck_assert_mem_eq(&m, &lp, sizeof m);
	}
	ck_assert(isinf(knn_mix(1, a, -INFINITY)));
}
END_TEST

/* A small byte-level transformer saved at path, from seed. */
static void
save_model(const char *path, uint64_t seed)
{
	struct gpt_config c = { 2, 2, 16, 12, 256, 257 };
	struct nn_file    f = { 0 };
	struct ad_error   e = { 0 };
	struct gpt       *g;
	struct ad_rng     r;

	ck_assert_int_eq(gpt_new(&g, &c, &e), 0);
	ad_rng_seed(&r, seed, 0);
	gpt_init(g, &r);
	f.cfg = c;
	f.tok_kind = NN_TOK_BYTES;
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	gpt_free(g);
}

static const char train_text[] =
    "the cat sat on the mat. the dog sat on the log. a cat and a dog sat.\n"
    "the cat ran to the mat and the dog ran to the log.\n";
static const char held_text[] = "the dog sat on the mat. a cat ran to the log.\n";

static void
build_store(const char *dir, char *model, char *store, double lambda, uint32_t k)
{
	struct knn_params p = { .k = k, .lambda = lambda, .temperature = 3.0, .metric = KNN_L2 };
	struct ad_error   e = { 0 };

	sprintf(model, "%s/m.bin", dir);
	sprintf(store, "%s/s.knn", dir);
	save_model(model, 5);
	ck_assert_msg(knn_build(model, (const uint8_t *)train_text, sizeof train_text - 1, &p,
	    0, store, NULL, &e) == 0, "%s", e.msg);
}

/*
 * lambda = 0: the kNN-LM's scores are the transformer's, bit for bit, over
 * windows (the text is longer than the context); lambda = 0.4: each
 * position's distribution sums to 1, push gives next's value, and the
 * value is recomputed from a brute-force double search over the store's
 * keys with the key cache's context vector as the query.
 */
START_TEST(test_lm)
{
	char             *dir = tu_tmpdir(), model[4200], store[4200];
	struct ad_error   e = { 0 };
	struct lm        *m, *t;
	struct lm_state  *st, *ts;
	uint32_t         *ids = NULL, ridx[400];
	size_t            n = 0, cap = 0;
	double            a[64], b[64], pushed, rdist[400];
	float             logp[256], d32[400];
	struct knn_params p;

	build_store(dir, model, store, 0.0, 8);
	ck_assert_int_eq(lm_open(&t, model, &e), 0);
	ck_assert_msg(lm_open(&m, store, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(m->kind, "knn");
	ck_assert_uint_eq(knn_lm_store(m)->N, sizeof train_text - 1);
	ck_assert_int_eq(lm_encode(m, (const uint8_t *)held_text, sizeof held_text - 1, &ids, &n,
	    &cap, &e), 0);
	ck_assert_uint_eq(n, sizeof held_text - 1);
	ck_assert_int_eq(lm_score(m, ids, n, a, &e), 0);
	ck_assert_int_eq(lm_score(t, ids, n, b, &e), 0);
	ck_assert_mem_eq(a, b, n * sizeof *a);

	p = knn_lm_store(m)->params;
	p.lambda = 0.4;
	ck_assert_int_eq(knn_lm_set_params(m, &p, &e), 0);
	ck_assert_int_eq(lm_score(m, ids, n, a, &e), 0);
	ck_assert_int_eq(lm_state_new(m, &st, &e), 0);
	ck_assert_int_eq(lm_state_new(t, &ts, &e), 0);
	for (size_t i = 0; i < 11; i++) {
		const struct knn_store *s = knn_lm_store(m);
		double sum = 0, tl, lk;
		ck_assert_int_eq(lm_next(m, st, logp, &e), 0);
		for (int v = 0; v < 256; v++)
			sum += exp((double)logp[v]);
		ck_assert_double_le(fabs(sum - 1), 1e-5);
		/* The oracle: neighbours of the cache's vector by the double search. */
		ck_assert_int_eq(knn_search_ref(s->keys, s->N, s->C, KNN_L2,
		    nn_lm_state_hidden(ts), 1, p.k, ridx, rdist), 0);
		for (size_t j = 0; j < p.k; j++)
			d32[j] = (float)rdist[j];
		lk = knn_log_pknn(d32, ridx, s->values, p.k, p.temperature, ids[i]);
		ck_assert_int_eq(lm_push(t, ts, ids[i], &tl, &e), 0);
		ck_assert_int_eq(lm_push(m, st, ids[i], &pushed, &e), 0);
		ck_assert_double_le(fabs(pushed - log(0.4 * exp(lk) + 0.6 * exp(tl))), 1e-4);
		ck_assert_double_le(fabs(pushed - logp[ids[i]]), 1e-4);
		/* The batched window (11 < context 12) agrees with the cache. */
		ck_assert_double_le(fabs(pushed - a[i]), 1e-4);
	}
	lm_state_free(m, st);
	lm_state_free(t, ts);
	/* Eval's calibration path: every visited distribution sums to 1. */
	{
		struct lm_eval r = { 0 };
		struct lm_calib_acc *acc;
		ck_assert_int_eq(lm_calib_acc_new(&acc, &e), 0);
		ck_assert_int_eq(lm_eval_text_calib(m, (const uint8_t *)held_text,
		    sizeof held_text - 1, &r, acc, NULL, &e), 0);
		ck_assert_uint_eq(lm_calib_acc_count(acc), n);
		lm_calib_acc_free(acc);
	}
	free(ids);
	lm_free(m);
	lm_free(t);
	free(dir);
}
END_TEST

/* A visitor that checks each distribution sums to 1. */
static int
sums_to_one(void *ctx, const float *scores, uint32_t V, uint32_t y, struct ad_error *e)
{
	double s = 0;

	(void)y;
	(void)e;
	for (uint32_t v = 0; v < V; v++)
		s += exp((double)scores[v]);
	ck_assert_double_le(fabs(s - 1), 1e-5);
	(*(int *)ctx)++;
	return 0;
}

START_TEST(test_score_dist_sums)
{
	char           *dir = tu_tmpdir(), model[4200], store[4200];
	struct ad_error e = { 0 };
	struct lm      *m;
	uint32_t       *ids = NULL;
	size_t          n = 0, cap = 0;
	double          lp[64], lq[64];
	int             seen = 0;

	build_store(dir, model, store, 0.7, 4);
	ck_assert_int_eq(lm_open(&m, store, &e), 0);
	ck_assert_int_eq(lm_encode(m, (const uint8_t *)held_text, sizeof held_text - 1, &ids, &n,
	    &cap, &e), 0);
	ck_assert_int_eq(lm_score_dist(m, ids, n, lp, sums_to_one, &seen, &e), 0);
	ck_assert_int_eq(seen, (int)n);
	ck_assert_int_eq(lm_score(m, ids, n, lq, &e), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_double_le(fabs(lp[i] - lq[i]), 1e-12);
	free(ids);
	lm_free(m);
	free(dir);
}
END_TEST

/* The store refuses another model (same path, other weights), damage and
 * truncation; a rewrite keeps the keys and changes the parameters. */
START_TEST(test_store_refused)
{
	char             *dir = tu_tmpdir(), model[4200], store[4200], other[4300];
	struct ad_error   e = { 0 };
	struct lm        *m = NULL;
	struct knn_params p = { .k = 3, .lambda = 0.5, .temperature = 1, .metric = KNN_COSINE };
	struct knn_store *s;
	size_t            len = 0;
	char             *buf;
	FILE             *f;

	build_store(dir, model, store, 0.25, 8);
	sprintf(other, "%s/t.knn", dir);
	ck_assert_int_eq(knn_store_rewrite(store, other, &p, &e), 0);
	ck_assert_int_eq(knn_store_open(&s, other, &e), 0);
	ck_assert_uint_eq(s->params.k, 3);
	ck_assert_int_eq(s->params.metric, KNN_COSINE);
	ck_assert_double_eq(s->params.lambda, 0.5);
	knn_store_free(s);
	/* Damage: one flipped bit in a key. */
	buf = tu_slurp(store, &len);
	buf[len / 2] ^= 0x10;
	f = fopen(other, "wb");
	fwrite(buf, 1, len, f);
	fclose(f);
	ck_assert_int_eq(lm_open(&m, other, &e), AD_ECHECKSUM);
	ck_assert_ptr_nonnull(strstr(e.msg, "damaged"));
	buf[len / 2] ^= 0x10;
	/* Truncated. */
	f = fopen(other, "wb");
	fwrite(buf, 1, len - 9, f);
	fclose(f);
	ck_assert_int_eq(lm_open(&m, other, &e), AD_EFORMAT);
	free(buf);
	/* The model replaced by another of the same shape. */
	save_model(model, 6);
	ck_assert_int_eq(lm_open(&m, store, &e), AD_EMISMATCH);
	ck_assert_ptr_nonnull(strstr(e.msg, "another model"));
	/* The right model back: opened again. */
	save_model(model, 5);
	ck_assert_int_eq(lm_open(&m, store, &e), 0);
	lm_free(m);
	free(dir);
}
END_TEST

/*
 * Beyer et al.: the relative contrast of i.i.d. Gaussian data falls with
 * the dimension; distances concentrate at sqrt(2 D) with a spread that
 * stays O(1), so contrast x sqrt(D) is about constant for large D.
 */
START_TEST(test_contrast_gaussian)
{
	size_t          n = 2000, dims[5] = { 2, 8, 32, 128, 512 };
	double          rc[5], agree, twonn;
	struct ad_error e = { 0 };

	for (int i = 0; i < 5; i++) {
		float *x = gaussian(n * dims[i], 10 + (uint64_t)i);
		ck_assert_int_eq(knn_contrast_of(x, n, dims[i], NULL, 200, 5, &rc[i], &agree,
		    &twonn, &e), 0);
		if (i > 0)
			ck_assert_double_lt(rc[i], rc[i - 1]);
		/* TwoNN finds the dimension of low-dimensional Gaussian data. */
		if (dims[i] == 8)
			ck_assert_double_le(fabs(twonn - 8), 2.5);
		free(x);
	}
	ck_assert(isnan(agree));
	ck_assert_double_le(fabs(rc[4] * sqrt(512.0) / (rc[3] * sqrt(128.0)) - 1), 0.25);
}
END_TEST

static Suite *
knn_suite(void)
{
	Suite *s = suite_create("knn");
	TCase *t = tcase_create("knn");

	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, test_search_exact, 0, 4);
	tcase_add_test(t, test_mix);
	tcase_add_test(t, test_lm);
	tcase_add_test(t, test_score_dist_sums);
	tcase_add_test(t, test_store_refused);
	tcase_add_test(t, test_contrast_gaussian);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(knn_suite());
}
