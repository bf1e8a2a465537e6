/*
 * check_calib.c — the calibration metrics (src/lm/calib.c) against
 * independent oracles: predictions worked by hand (accuracy, Brier, ECE
 * with 15 equal-width and 15 equal-mass bins), a perfectly calibrated
 * synthetic predictor whose ECE must stay under a bound derived below and
 * shrink with n, a synthetic model whose logits were scaled by a known
 * 1/T0 (the fitted temperature must undo it), the scaled NLL against a
 * direct computation, and the uniform model's closed form against the
 * general path.
 */
#include "config.h"

#include <math.h>

#include "base/rng.h"
#include "lm/lm.h"
#include "testutil.h"

/* Record a distribution given as probabilities (scores = ln p). */
static void
add_probs(struct lm_calib_acc *a, const double *p, uint32_t V, uint32_t y)
{
	float           s[64];
	struct ad_error e = { 0 };

	ck_assert_uint_le(V, 64);
	for (uint32_t k = 0; k < V; k++)
		s[k] = p[k] > 0 ? (float)log(p[k]) : -INFINITY;
	ck_assert_int_eq(lm_calib_add(a, s, V, y, &e), 0);
}

static void
finish(struct lm_calib_acc *a, struct lm_calib *c)
{
	struct ad_error e = { 0 };

	ck_assert_int_eq(lm_calib_finish(a, c, &e), 0);
}

/* Bins are ((m-1)/15, m/15]: an upper edge belongs to its bin. */
START_TEST(test_bins_are_right_closed)
{
	ck_assert_int_eq(lm_calib_bin(1e-9), 0);
	ck_assert_int_eq(lm_calib_bin(1.0 / 15), 0);
	ck_assert_int_eq(lm_calib_bin(0.07), 1);
	ck_assert_int_eq(lm_calib_bin(0.5), 7);      /* (7/15, 8/15] = (.467, .533] */
	ck_assert_int_eq(lm_calib_bin(0.65), 9);     /* (.6, .667] */
	ck_assert_int_eq(lm_calib_bin(0.7), 10);     /* (.667, .733] */
	ck_assert_int_eq(lm_calib_bin(0.95), 14);
	ck_assert_int_eq(lm_calib_bin(1.0), 14);
}
END_TEST

/*
 * Five predictions over three tokens, worked by hand:
 *   p                   y  conf  bin  correct  Brier = sum p^2 - 2 p_y + 1
 *   (.7,  .2,  .1 )     0  .70   10   yes      .54 - 1.4 + 1  = .14
 *   (.1,  .65, .25)     2  .65    9   no       .495 - .5 + 1  = .995
 *   (.5,  .3,  .2 )     0  .50    7   yes      .38 - 1 + 1    = .38
 *   (.2,  .1,  .7 )     1  .70   10   no       .54 - .2 + 1   = 1.34
 *   (.95, .03, .02)     0  .95   14   yes      .9038 - 1.9 + 1 = .0038
 * accuracy 3/5; Brier 2.8588/5 = .57176;
 * ECE: bin 10 (2 of 5, acc .5, conf .7) .08 + bin 9 .65/5 = .13
 *      + bin 7 .5/5 = .1 + bin 14 .05/5 = .01 = .32.
 * Equal mass, 15 bins of 5 positions: bin b holds sorted positions
 * [floor(5b/15), floor(5(b+1)/15)), so one position each (and ten empty):
 * mean |correct - conf| = (.3 + .65 + .5 + .7 + .05)/5 = .44.
 * NLL = -(ln .7 + ln .25 + ln .5 + ln .1 + ln .95)/5.
 */
START_TEST(test_metrics_by_hand)
{
	static const double p[5][3] = {
		{ .7, .2, .1 }, { .1, .65, .25 }, { .5, .3, .2 }, { .2, .1, .7 }, { .95, .03, .02 },
	};
	static const uint32_t y[5] = { 0, 2, 0, 1, 0 };
	struct lm_calib_acc  *a;
	struct lm_calib       c;
	struct ad_error       e = { 0 };

	ck_assert_int_eq(lm_calib_acc_new(&a, &e), 0);
	for (int i = 0; i < 5; i++)
		add_probs(a, p[i], 3, y[i]);
	finish(a, &c);
	ck_assert_uint_eq(c.n, 5);
	ck_assert_double_eq_tol(c.accuracy, 0.6, 1e-12);
	ck_assert_double_eq_tol(c.brier, 0.57176, 1e-6);
	ck_assert_double_eq_tol(c.ece, 0.32, 1e-6);
	ck_assert_double_eq_tol(c.ece_mass, 0.44, 1e-6);
	ck_assert_double_eq_tol(c.nll, -(log(.7) + log(.25) + log(.5) + log(.1) + log(.95)) / 5,
	    1e-6);
	/* The reliability diagram. */
	ck_assert_uint_eq(c.bin_n[10], 2);
	ck_assert_uint_eq(c.bin_n[9], 1);
	ck_assert_uint_eq(c.bin_n[7], 1);
	ck_assert_uint_eq(c.bin_n[14], 1);
	ck_assert_uint_eq(c.bin_n[8], 0);
	ck_assert_double_eq_tol(c.bin_conf[10], 0.7, 1e-6);
	ck_assert_double_eq_tol(c.bin_acc[10], 0.5, 1e-12);
	ck_assert(isnan(c.bin_conf[0]));
	/* Halves: fit on positions 0-1, test on 2-4 (ln .5, ln .1, ln .95). */
	ck_assert_double_eq_tol(c.test_nll, -(log(.5) + log(.1) + log(.95)) / 3, 1e-6);
	ck_assert_double_eq_tol(c.test_ece, (.5 + .7 + .05) / 3, 1e-6);
	lm_calib_acc_free(a);
}
END_TEST

/*
 * Thirty predictions over two tokens, p = (c_i, 1 - c_i) with
 * c_i = .5 + i/60, y = i mod 2 (so even i are right). Sorted by confidence
 * the equal-mass bins are the pairs {2b, 2b+1}: accuracy .5, mean
 * confidence .5 + (4b+1)/120, so
 * ECE_mass = sum_b (2/30) (4b+1)/120 = (4 * 105 + 15) / 1800 = 435/1800.
 */
START_TEST(test_equal_mass_bins_by_hand)
{
	struct lm_calib_acc *a;
	struct lm_calib      c;
	struct ad_error      e = { 0 };

	ck_assert_int_eq(lm_calib_acc_new(&a, &e), 0);
	/* In decreasing order, so the sort has work to do. */
	for (int i = 29; i >= 0; i--) {
		double p[2] = { .5 + i / 60.0, .5 - i / 60.0 };
		add_probs(a, p, 2, (uint32_t)(i % 2));
	}
	finish(a, &c);
	ck_assert_double_eq_tol(c.ece_mass, 435.0 / 1800, 1e-6);
	ck_assert_double_eq_tol(c.accuracy, 0.5, 1e-12);
	lm_calib_acc_free(a);
}
END_TEST

/*
 * A synthetic model over V tokens: logits z ~ N(0, 2^2) per position; the
 * world draws y from softmax(z), the model states softmax(z / T0). Returns
 * the calibration; *exact_nll, when not NULL, is the NLL of the second half
 * at the fitted T* computed directly from the stored z (the oracle of the
 * interpolation), and *brier_want the mean of 1 - sum p^2 (the expected
 * Brier of a calibrated predictor).
 */
#define SYN_V 10

static void
synthetic(size_t n, double T0, uint64_t seed, struct lm_calib *c, double *exact_nll,
    double *brier_want)
{
	struct lm_calib_acc *a;
	struct ad_rng        rng;
	struct ad_error      e = { 0 };
	float               *z = malloc(n * SYN_V * sizeof *z);
	uint32_t            *y = malloc(n * sizeof *y);
	double               bw = 0;

	ck_assert_ptr_nonnull(z);
	ck_assert_ptr_nonnull(y);
	ck_assert_int_eq(lm_calib_acc_new(&a, &e), 0);
	ad_rng_seed(&rng, seed, 7);
	for (size_t i = 0; i < n; i++) {
		double p[SYN_V], s = 0, u, sq = 0;
		float  st[SYN_V];
		for (int k = 0; k < SYN_V; k++) {
			z[i * SYN_V + k] = (float)(2 * ad_rng_normal(&rng));
			p[k] = exp(z[i * SYN_V + k]);
			s += p[k];
		}
		u = ad_rng_uniform(&rng) * s;
		y[i] = SYN_V - 1;
		for (int k = 0; k < SYN_V; k++) {
			if (u < p[k]) {
				y[i] = (uint32_t)k;
				break;
			}
			u -= p[k];
		}
		for (int k = 0; k < SYN_V; k++) {
			st[k] = (float)(z[i * SYN_V + k] / T0);
			sq += (p[k] / s) * (p[k] / s);
		}
		bw += 1 - sq;
		ck_assert_int_eq(lm_calib_add(a, st, SYN_V, y[i], &e), 0);
	}
	finish(a, c);
	if (exact_nll != NULL) {
		double nll = 0, T = c->temperature;
		for (size_t i = n / 2; i < n; i++) {
			double mx = -INFINITY, s = 0;
			for (int k = 0; k < SYN_V; k++)
				mx = fmax(mx, z[i * SYN_V + k] / T0 / T);
			for (int k = 0; k < SYN_V; k++)
				s += exp(z[i * SYN_V + k] / T0 / T - mx);
			nll -= z[i * SYN_V + y[i]] / T0 / T - mx - log(s);
		}
		*exact_nll = nll / (double)(n - n / 2);
	}
	if (brier_want != NULL)
		*brier_want = bw / (double)n;
	lm_calib_acc_free(a);
	free(z);
	free(y);
}

/*
 * A bound for a perfectly calibrated predictor. Given the confidences, a
 * bin's accuracy is a mean of n_b independent Bernoulli(conf_i) draws whose
 * mean is the bin's confidence, so E|acc_b - conf_b| <= sqrt(1 / (4 n_b))
 * and E[ECE] <= sum_b (n_b / n) / (2 sqrt(n_b)) = sum_b sqrt(n_b) / (2n)
 * <= sqrt(M n) / (2n) = sqrt(M / n) / 2 (Cauchy-Schwarz over M = 15 bins).
 */
static double
calibrated_bound(size_t n)
{
	return sqrt(LM_CALIB_BINS / (double)n) / 2;
}

START_TEST(test_calibrated_predictor_has_small_ece)
{
	struct lm_calib small, big, over;
	double          bw;

	synthetic(2000, 1.0, 11, &small, NULL, NULL);
	synthetic(50000, 1.0, 12, &big, NULL, &bw);
	ck_assert_double_lt(small.ece, calibrated_bound(2000));      /* 0.0433 */
	ck_assert_double_lt(big.ece, calibrated_bound(50000));       /* 0.0087 */
	ck_assert_double_lt(big.ece, small.ece);
	ck_assert_double_lt(big.ece_mass, calibrated_bound(50000));
	/* A calibrated predictor's expected Brier is mean(1 - sum p^2); the
	 * Brier terms lie in [0, 2], so the sd of the mean is below 1/sqrt(n). */
	ck_assert_double_eq_tol(big.brier, bw, 3 / sqrt(50000.0));
	/* Nothing to correct: T* near 1, and scaling changes little. */
	ck_assert_double_eq_tol(big.temperature, 1.0, 0.05);
	/* The same model stated at T0 = 1/2 (too sure) is far out of bound. */
	synthetic(50000, 0.5, 12, &over, NULL, NULL);
	ck_assert_double_gt(over.ece, 5 * calibrated_bound(50000));
}
END_TEST

START_TEST(test_temperature_recovers_known_scale)
{
	static const double T0[] = { 0.5, 1.6, 0.3 };

	for (size_t t = 0; t < sizeof T0 / sizeof T0[0]; t++) {
		struct lm_calib c;
		double          exact;

		synthetic(40000, T0[t], 21 + t, &c, &exact, NULL);
		/* softmax((z / T0) / T) = softmax(z) at T = 1 / T0. */
		ck_assert_double_eq_tol(c.temperature, 1 / T0[t], 0.03 / T0[t]);
		ck_assert_double_lt(c.test_nll_scaled, c.test_nll);
		ck_assert_double_lt(c.test_ece_scaled, c.test_ece);
		ck_assert_double_lt(c.test_ece_scaled, 2 * calibrated_bound(20000));
		/* The interpolated NLL at T* against the direct computation. */
		ck_assert_double_eq_tol(c.test_nll_scaled, exact, 2e-4);
	}
}
END_TEST

/* The uniform model's closed form agrees with recording it token by token. */
START_TEST(test_uniform_closed_form)
{
	enum { V = 7, N = 41 };
	uint32_t             ids[N];
	double               p[V];
	struct lm_calib_acc *a;
	struct lm_calib      want, got;
	struct ad_error      e = { 0 };

	for (int k = 0; k < V; k++)
		p[k] = 1.0 / V;
	ck_assert_int_eq(lm_calib_acc_new(&a, &e), 0);
	for (int i = 0; i < N; i++) {
		ids[i] = (uint32_t)((i * i + 3 * i) % V);
		add_probs(a, p, V, ids[i]);
	}
	finish(a, &want);
	lm_calib_uniform(ids, N, V, &got);
	ck_assert_double_eq_tol(got.accuracy, want.accuracy, 1e-12);
	ck_assert_double_eq_tol(got.ece, want.ece, 1e-6);
	ck_assert_double_eq_tol(got.ece_mass, want.ece_mass, 1e-6);
	ck_assert_double_eq_tol(got.brier, want.brier, 1e-6);
	ck_assert_double_eq_tol(got.nll, want.nll, 1e-6);
	ck_assert_double_eq_tol(got.test_ece, want.test_ece, 1e-6);
	ck_assert_double_eq_tol(got.test_nll, want.test_nll, 1e-6);
	for (int b = 0; b < LM_CALIB_BINS; b++)
		ck_assert_uint_eq(got.bin_n[b], want.bin_n[b]);
	ck_assert(isnan(got.temperature));
	lm_calib_acc_free(a);
}
END_TEST

START_TEST(test_empty_and_append)
{
	static const double p[2][3] = { { .7, .2, .1 }, { .1, .65, .25 } };
	struct lm_calib_acc *a, *b, *both;
	struct lm_calib      c1, c2;
	struct ad_error      e = { 0 };

	ck_assert_int_eq(lm_calib_acc_new(&a, &e), 0);
	ck_assert_int_eq(lm_calib_acc_new(&b, &e), 0);
	ck_assert_int_eq(lm_calib_acc_new(&both, &e), 0);
	finish(a, &c1);
	ck_assert(isnan(c1.ece) && isnan(c1.temperature));
	add_probs(a, p[0], 3, 0);
	add_probs(b, p[1], 3, 2);
	add_probs(both, p[0], 3, 0);
	add_probs(both, p[1], 3, 2);
	ck_assert_int_eq(lm_calib_append(a, b, &e), 0);
	ck_assert_uint_eq(lm_calib_acc_count(a), 2);
	finish(a, &c1);
	finish(both, &c2);
	ck_assert_mem_eq(&c1, &c2, offsetof(struct lm_calib, temperature));
	lm_calib_acc_free(a);
	lm_calib_acc_free(b);
	lm_calib_acc_free(both);
}
END_TEST

/* ---- a real transformer: the batched fast path against the generic one -- */

/*
 * A tiny byte-level transformer trained for a few steps by the program
 * itself; its batched score_dist (logits of the forward pass) must give
 * the calibration that the generic path (a state, lm_next, lm_push) gives,
 * over one window (beyond it the two slide their context differently), and
 * the log-probabilities of lm_score over many windows.
 */
START_TEST(test_transformer_fast_path_matches_generic)
{
	const char          *self = getenv("AUTODIDACT");
	char                *dir = tu_tmpdir(), cmd[8192], path[4200], text[4096];
	struct lm           *m;
	struct lm_calib_acc *fast, *slow;
	struct lm_calib      cf, cs;
	struct lm_vtab       generic;
	const struct lm_vtab *vt;
	struct ad_error      e = { 0 };
	uint32_t            *ids = NULL;
	size_t               n = 0, cap = 0, len = 0, W;
	double              *lp, *want;
	FILE                *f;

	snprintf(path, sizeof path, "%s/t.txt", dir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (int i = 0; len + 64 < sizeof text; i++)
		len += (size_t)snprintf(text + len, sizeof text - len, "the cat %d sat on the mat %d.\n",
		    i % 7, i % 3);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(cmd, sizeof cmd, "'%s' train transformer --quiet --bytes --preset tiny --steps 30 "
	    "--threads 1 -o '%s/t.gpt' '%s'", self != NULL && *self ? self : "./autodidact", dir, path);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof path, "%s/t.gpt", dir);
	ck_assert_int_eq(lm_open(&m, path, &e), 0);
	ck_assert_ptr_nonnull(m->vt->score_dist);
	ck_assert_int_eq(lm_encode(m, (const uint8_t *)text, len, &ids, &n, &cap, &e), 0);
	W = m->context;
	ck_assert_uint_gt(n, 4 * W);
	ck_assert_ptr_nonnull(lp = calloc(n, sizeof *lp));
	ck_assert_ptr_nonnull(want = calloc(n, sizeof *want));

	/* One window: the same distributions, so the same calibration. */
	ck_assert_int_eq(lm_calib_acc_new(&fast, &e), 0);
	ck_assert_int_eq(lm_calib_acc_new(&slow, &e), 0);
	ck_assert_int_eq(lm_score_dist(m, ids, W, lp, lm_calib_add, fast, &e), 0);
	vt = m->vt;
	generic = *vt;
	generic.score_dist = NULL;
	m->vt = &generic;
	ck_assert_int_eq(lm_score_dist(m, ids, W, want, lm_calib_add, slow, &e), 0);
	m->vt = vt;
	ck_assert_int_eq(lm_calib_finish(fast, &cf, &e), 0);
	ck_assert_int_eq(lm_calib_finish(slow, &cs, &e), 0);
	for (size_t i = 0; i < W; i++)
		ck_assert_double_eq_tol(lp[i], want[i], 1e-4);
	ck_assert_uint_eq(cf.n, W);
	ck_assert_double_eq_tol(cf.accuracy, cs.accuracy, 1e-12);
	ck_assert_double_eq_tol(cf.ece, cs.ece, 1e-5);
	ck_assert_double_eq_tol(cf.ece_mass, cs.ece_mass, 1e-5);
	ck_assert_double_eq_tol(cf.brier, cs.brier, 1e-5);
	ck_assert_double_eq_tol(cf.nll, cs.nll, 1e-5);
	ck_assert_double_eq_tol(cf.temperature, cs.temperature, 1e-3);
	ck_assert_double_eq_tol(cf.test_nll_scaled, cs.test_nll_scaled, 1e-5);
	lm_calib_acc_free(fast);
	lm_calib_acc_free(slow);

	/* Many windows: every position once, with lm_score's log-probability. */
	ck_assert_int_eq(lm_calib_acc_new(&fast, &e), 0);
	ck_assert_int_eq(lm_score(m, ids, n, want, &e), 0);
	ck_assert_int_eq(lm_score_dist(m, ids, n, lp, lm_calib_add, fast, &e), 0);
	ck_assert_uint_eq(lm_calib_acc_count(fast), n);
	ck_assert_int_eq(lm_calib_finish(fast, &cf, &e), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_double_eq(lp[i], want[i]);
	{
		double nll = 0;
		for (size_t i = 0; i < n; i++)
			nll -= want[i];
		ck_assert_double_eq_tol(cf.nll, nll / (double)n, 1e-5);
	}
	lm_calib_acc_free(fast);
	free(lp);
	free(want);
	free(ids);
	lm_free(m);
	free(dir);
}
END_TEST

static Suite *
calib_suite(void)
{
	Suite *s = suite_create("calib");
	TCase *tc = tcase_create("metrics");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_bins_are_right_closed);
	tcase_add_test(tc, test_metrics_by_hand);
	tcase_add_test(tc, test_equal_mass_bins_by_hand);
	tcase_add_test(tc, test_calibrated_predictor_has_small_ece);
	tcase_add_test(tc, test_temperature_recovers_known_scale);
	tcase_add_test(tc, test_uniform_closed_form);
	tcase_add_test(tc, test_empty_and_append);
	suite_add_tcase(s, tc);
	tc = tcase_create("transformer");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_transformer_fast_path_matches_generic);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(calib_suite());
}
