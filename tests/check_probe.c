/*
 * check_probe.c — bias probes: statistics against direct sums, enumeration
 * and hand-worked textbook values; the readers on the published CrowS-Pairs
 * format and on every error; the corpus counts against a brute-force
 * recount and against the ground truth of `autodidact synth`; the
 * model-side metrics on mock models whose probabilities are known by hand;
 * and the report writers.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>

#include "base/hash.h"
#include "base/rng.h"
#include "lm/lm.h"
#include "probe/probe.h"
#include "synth/synth.h"
#include "testutil.h"

static const struct probe_resampling RS = { .seed = 7, .bootstrap = 2000,
    .permutations = 100000, .max_exact = 1000000 };

/* ---- statistics ------------------------------------------------------------ */

START_TEST(test_sign_test_vs_exact_sums)
{
	/* Pascal's triangle in exact integers up to n = 60. */
	static uint64_t C[61][61];

	for (int n = 0; n <= 60; n++) {
		C[n][0] = C[n][n] = 1;
		for (int k = 1; k < n; k++)
			C[n][k] = C[n - 1][k - 1] + C[n - 1][k];
	}
	for (int n = 0; n <= 60; n++)
		for (int k = 0; k <= n; k++) {
			int    lo = k < n - k ? k : n - k;
			double tail = 0, want;
			for (int i = 0; i <= lo; i++)
				tail += (double)C[n][i];
			want = 2 * tail / ldexp(1, n);
			if (want > 1)
				want = 1;
			ck_assert_msg(fabs(probe_sign_test((uint64_t)k, (uint64_t)n) - want) <=
			    1e-11 * want, "n=%d k=%d: %.17g vs %.17g", n, k,
			    probe_sign_test((uint64_t)k, (uint64_t)n), want);
		}
	/* By hand: 2 of 10: 2 (1 + 10 + 45) / 1024. */
	ck_assert_double_eq_tol(probe_sign_test(2, 10), 112.0 / 1024, 1e-15);
	ck_assert_double_eq(probe_sign_test(5, 10), 1);
	ck_assert_double_eq(probe_choose(20, 10), 184756);
	ck_assert_double_eq(probe_choose(50, 25), 126410606437752.0);
}
END_TEST

START_TEST(test_binom_test_vs_direct_pmf)
{
	/* The pmf by repeated multiplication (no lgamma), then R's minlike rule. */
	const double p0s[] = { 0.3, 0.5, 0.77 };

	for (size_t t = 0; t < 3; t++)
		for (int n = 1; n <= 30; n++) {
			double pmf[31];
			for (int k = 0; k <= n; k++) {
				double c = 1;
				for (int i = 1; i <= k; i++)
					c = c * (n - k + i) / i;
				pmf[k] = c * pow(p0s[t], k) * pow(1 - p0s[t], n - k);
			}
			for (int k = 0; k <= n; k++) {
				double want = 0;
				for (int i = 0; i <= n; i++)
					if (pmf[i] <= pmf[k] * (1 + 1e-7))
						want += pmf[i];
				if (want > 1)
					want = 1;
				ck_assert_msg(fabs(probe_binom_test((uint64_t)k, (uint64_t)n, p0s[t]) - want) <
				    1e-12, "p0=%g n=%d k=%d", p0s[t], n, k);
			}
		}
	/* At p0 = 1/2 it is the sign test. */
	ck_assert_double_eq_tol(probe_binom_test(3, 10, 0.5), probe_sign_test(3, 10), 1e-14);
	ck_assert_double_eq_tol(probe_binom_test(3, 10, 0.5), 0.34375, 1e-14);
}
END_TEST

START_TEST(test_quantile_type7)
{
	const double v[] = { 1, 2, 3, 4 };

	ck_assert_double_eq_tol(probe_quantile_sorted(v, 4, 0.5), 2.5, 1e-15);
	ck_assert_double_eq_tol(probe_quantile_sorted(v, 4, 0.25), 1.75, 1e-15);
	ck_assert_double_eq(probe_quantile_sorted(v, 4, 1), 4);
	ck_assert_double_eq(probe_quantile_sorted(v, 4, 0), 1);
	ck_assert_double_eq_tol(probe_sd(v, 4), sqrt(5.0 / 3), 1e-15);
}
END_TEST

static double
stat_share(const size_t *idx, size_t n, void *ctx)
{
	const double *d = ctx;
	double        s = 0;

	for (size_t i = 0; i < n; i++)
		s += d[idx[i]];
	return 100 * s / (double)n;
}

START_TEST(test_bootstrap)
{
	double d[100], lo, hi, lo2, hi2, lo3, hi3, f;

	for (int i = 0; i < 100; i++)
		d[i] = i < 70;
	ck_assert_int_eq(probe_bootstrap(stat_share, d, 100, 10000, 7, 3, 0.95, &lo, &hi, &f, NULL), 0);
	/* The normal approximation 70 ± 1.96 sqrt(0.7 · 0.3 / 100) · 100 = [61.0, 79.0]. */
	ck_assert_msg(lo >= 60 && lo <= 62.5 && hi >= 77.5 && hi <= 80, "[%g, %g]", lo, hi);
	ck_assert_double_eq(f, 0);
	/* Deterministic for a seed and stream; another stream differs. */
	ck_assert_int_eq(probe_bootstrap(stat_share, d, 100, 10000, 7, 3, 0.95, &lo2, &hi2, NULL, NULL), 0);
	ck_assert(lo == lo2 && hi == hi2);
	ck_assert_int_eq(probe_bootstrap(stat_share, d, 100, 50, 7, 4, 0.95, &lo3, &hi3, NULL, NULL), 0);
	ck_assert(lo3 != lo || hi3 != hi);
}
END_TEST

START_TEST(test_perm_exact_by_hand)
{
	/*
	 * X = {3, 1}, Y = {2, 0}: the six 2-subsets sum to 4 5 3 3 1 2; greater
	 * than the observed 4: one ({3, 2}); the observed one is not counted.
	 */
	const double v[] = { 3, 1, 2, 0 };
	double       p, min_p;
	int          exact;
	uint64_t     count;

	ck_assert_int_eq(probe_perm_test(v, 2, 2, &RS, 1, &p, &exact, &count, &min_p, NULL), 0);
	ck_assert_int_eq(exact, 1);
	ck_assert_uint_eq(count, 6);
	ck_assert_double_eq_tol(p, 1.0 / 6, 1e-15);
	ck_assert_double_eq_tol(min_p, 1.0 / 6, 1e-15);
	ck_assert_double_eq_tol(probe_perm_test_ref(v, 2, 2), 1.0 / 6, 1e-15);
}
END_TEST

START_TEST(test_perm_exact_and_random_vs_bruteforce)
{
	struct ad_rng            rng;
	struct probe_resampling  small = RS;
	double                   v[20], p, ref, min_p;
	int                      exact;
	uint64_t                 count;

	ad_rng_seed(&rng, 11, 1);
	for (int i = 0; i < 20; i++)
		v[i] = ad_rng_normal(&rng) + (i < 10 ? 0.4 : 0);
	/* Unequal sizes, exact enumeration against all subsets. */
	ck_assert_int_eq(probe_perm_test(v, 6, 7, &RS, 1, &p, &exact, &count, &min_p, NULL), 0);
	ck_assert_int_eq(exact, 1);
	ck_assert_uint_eq(count, 1716);
	ck_assert_double_eq_tol(p, probe_perm_test_ref(v, 6, 7), 1e-15);
	/* 10 + 10 with enumeration off: 100000 random partitions within 4 SE. */
	ref = probe_perm_test_ref(v, 10, 10);
	small.max_exact = 1000;
	ck_assert_int_eq(probe_perm_test(v, 10, 10, &small, 5, &p, &exact, &count, &min_p, NULL), 0);
	ck_assert_int_eq(exact, 0);
	ck_assert_uint_eq(count, 100000);
	ck_assert_msg(fabs(p - ref) < 4 * sqrt(ref * (1 - ref) / 1e5) + 2e-5, "%g vs %g", p, ref);
}
END_TEST

START_TEST(test_adjust_textbook)
{
	const double p[] = { 0.01, 0.04, 0.03, 0.005, NAN };
	/* Benjamini & Hochberg (1995), section 4: fifteen p-values; BH at 0.05
	 * rejects the four smallest, Holm (Bonferroni step-down) three. */
	const double bh15[] = { 0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
	    0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000 };
	double adj[15];
	int    nb = 0, nh = 0;

	ck_assert_int_eq(probe_adjust(p, 5, PROBE_HOLM, adj, NULL), 0);
	/* By hand: sorted .005 .01 .03 .04 times 4 3 2 1 = .02 .03 .06 .04 -> running max. */
	ck_assert_double_eq_tol(adj[3], 0.02, 1e-15);
	ck_assert_double_eq_tol(adj[0], 0.03, 1e-15);
	ck_assert_double_eq_tol(adj[2], 0.06, 1e-15);
	ck_assert_double_eq_tol(adj[1], 0.06, 1e-15);
	ck_assert(isnan(adj[4]));
	ck_assert_int_eq(probe_adjust(p, 5, PROBE_BH, adj, NULL), 0);
	/* .005·4/1 = .02, .01·4/2 = .02, .03·4/3 = .04, .04·4/4 = .04. */
	ck_assert_double_eq_tol(adj[3], 0.02, 1e-15);
	ck_assert_double_eq_tol(adj[0], 0.02, 1e-15);
	ck_assert_double_eq_tol(adj[2], 0.04, 1e-15);
	ck_assert_double_eq_tol(adj[1], 0.04, 1e-15);
	ck_assert_int_eq(probe_adjust(bh15, 15, PROBE_BH, adj, NULL), 0);
	for (int i = 0; i < 15; i++)
		nb += adj[i] <= 0.05;
	ck_assert_int_eq(probe_adjust(bh15, 15, PROBE_HOLM, adj, NULL), 0);
	for (int i = 0; i < 15; i++)
		nh += adj[i] <= 0.05;
	ck_assert_int_eq(nb, 4);
	ck_assert_int_eq(nh, 3);
}
END_TEST

/* The Student t density, for Simpson's rule. */
static double
t_density(double x, double df)
{
	return exp(lgamma((df + 1) / 2) - lgamma(df / 2)) / sqrt(df * M_PI) *
	    pow(1 + x * x / df, -(df + 1) / 2);
}

START_TEST(test_t_distribution)
{
	/* Table values of t_{0.975, df}. */
	ck_assert_double_eq_tol(probe_t_quantile(0.95, 1), 12.706205, 1e-5);
	ck_assert_double_eq_tol(probe_t_quantile(0.95, 4), 2.776445, 1e-6);
	ck_assert_double_eq_tol(probe_t_quantile(0.95, 9), 2.262157, 1e-6);
	ck_assert_double_eq_tol(probe_t_quantile(0.95, 1e7), 1.959964, 1e-5);
	/* df = 1 is Cauchy: P(|T| >= t) = 1 − 2 atan(t) / pi. */
	ck_assert_double_eq_tol(probe_t_p(3, 1), 1 - 2 * atan(3.0) / M_PI, 1e-12);
	/* Against numerical integration of the density over [0, t]. */
	for (int df = 2; df <= 30; df += 7)
		for (double t = 0.5; t < 6; t += 1.3) {
			int    N = 20000;
			double h = t / N, s = t_density(0, df) + t_density(t, df);
			for (int i = 1; i < N; i++)
				s += (i % 2 ? 4 : 2) * t_density(i * h, df);
			ck_assert_msg(fabs(probe_t_p(t, df) - (1 - 2 * s * h / 3)) < 1e-10, "df %d t %g", df, t);
		}
}
END_TEST

START_TEST(test_t_test_by_hand)
{
	const double v[] = { 1, 2, 3, 4, 5 };
	double       m, lo, hi, p;

	ck_assert_int_eq(probe_t_test(v, 5, &m, &lo, &hi, &p), 0);
	/* mean 3, sd sqrt(2.5), se sqrt(0.5), t = 3 / sqrt(0.5), df 4. */
	ck_assert_double_eq_tol(m, 3, 1e-15);
	ck_assert_double_eq_tol(lo, 3 - 2.776445 * sqrt(0.5), 1e-5);
	ck_assert_double_eq_tol(hi, 3 + 2.776445 * sqrt(0.5), 1e-5);
	ck_assert_double_eq_tol(p, probe_t_p(3 / sqrt(0.5), 4), 1e-15);
	ck_assert(p > 0.01 && p < 0.02);   /* t = 4.243, df 4: p = 0.0132 from tables */
	ck_assert_int_eq(probe_t_test(v, 1, &m, &lo, &hi, &p), -1);
}
END_TEST

START_TEST(test_welch_by_hand)
{
	const double x[] = { 1, 2, 3, 4 }, y[] = { 2, 4, 6 };
	double       d, lo, hi, p, df, se = sqrt(1.75);

	/*
	 * Worked by hand: means 2.5 and 4; variances 5/3 and 4, so the squared
	 * standard errors are 5/12 and 4/3 (sum 1.75); Welch–Satterthwaite
	 * df = 1.75^2 / ((5/12)^2 / 3 + (4/3)^2 / 2) = 3.234719...;
	 * t = -1.5 / sqrt(1.75) = -1.133893.
	 */
	ck_assert_int_eq(probe_welch_test(x, 4, y, 3, &d, &lo, &hi, &p, &df), 0);
	ck_assert_double_eq_tol(d, -1.5, 1e-15);
	ck_assert_double_eq_tol(df, 3.0625 / (25.0 / 144 / 3 + 16.0 / 9 / 2), 1e-12);
	ck_assert_double_eq_tol(df, 3.234719, 1e-6);
	ck_assert_double_eq_tol(p, probe_t_p(1.5 / se, df), 1e-15);
	/* 0.33382: the t density integrated numerically (trapezoids) by hand. */
	ck_assert_double_eq_tol(p, 0.33382, 2e-5);
	ck_assert_double_eq_tol(hi - d, probe_t_quantile(0.95, df) * se, 1e-12);
	ck_assert_double_eq_tol(d - lo, hi - d, 1e-12);
	/* Swapping the samples negates the difference and keeps p. */
	{
		double d2, lo2, hi2, p2, df2;
		ck_assert_int_eq(probe_welch_test(y, 3, x, 4, &d2, &lo2, &hi2, &p2, &df2), 0);
		ck_assert_double_eq_tol(d2, 1.5, 1e-15);
		ck_assert_double_eq_tol(p2, p, 1e-15);
		ck_assert_double_eq_tol(lo2, -hi, 1e-12);
	}
	ck_assert_int_eq(probe_welch_test(x, 1, y, 3, &d, &lo, &hi, &p, &df), -1);
}
END_TEST

START_TEST(test_weat_by_hand)
{
	/* A = (1,0), B = (0,1); X = (1,0), (1,1); Y = (0,1), (1,1):
	 * s = 1, 0 for X and -1, 0 for Y; d = (0.5 + 0.5) / sd{1,0,-1,0} = sqrt(1.5);
	 * the X-sum 1 is reached by 2 of the 6 partitions (a tie) and exceeded
	 * by none, so p = 0. */
	const float x[4][2] = { { 1, 0 }, { 1, 1 }, { 0, 1 }, { 1, 1 } };
	const float a[2][2] = { { 1, 0 }, { 0, 1 } };
	double      cos[4 * 2];
	struct probe_weat_stats st;

	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 2; j++)
			cos[i * 2 + j] = probe_cosine(x[i], a[j], 2);
	ck_assert_double_eq_tol(cos[1 * 2 + 0], sqrt(0.5), 1e-15);
	ck_assert_int_eq(probe_weat_stats(cos, 2, 2, 1, 1, &RS, 1, &st, NULL), 0);
	ck_assert_double_eq_tol(st.d, sqrt(1.5), 1e-12);
	ck_assert_double_eq_tol(st.stat, 2, 1e-12);
	ck_assert_double_eq(st.p, 0);
	ck_assert_int_eq(st.exact, 1);
	ck_assert_double_eq_tol(probe_weat_effect(cos, 2, 2, 1, 1), sqrt(1.5), 1e-12);
	{
		const float z[2] = { 0, 0 };
		ck_assert(isnan(probe_cosine(z, a[0], 2)));
	}
}
END_TEST

START_TEST(test_weat_vs_formula)
{
	struct ad_rng rng;
	double        cos[9 * 11], s[9], d, mx = 0, my = 0, lo, hi, p;
	struct probe_weat_stats st;

	ad_rng_seed(&rng, 3, 9);
	for (int i = 0; i < 9 * 11; i++)
		cos[i] = ad_rng_uniform(&rng) * 2 - 1 + (i / 11 < 4 && i % 11 < 5 ? 0.3 : 0);
	/* X = rows 0..3, Y = 4..8; A = cols 0..4, B = 5..10, written out directly. */
	for (int i = 0; i < 9; i++) {
		double sa = 0, sb = 0;
		for (int j = 0; j < 5; j++) sa += cos[i * 11 + j];
		for (int j = 5; j < 11; j++) sb += cos[i * 11 + j];
		s[i] = sa / 5 - sb / 6;
	}
	for (int i = 0; i < 4; i++) mx += s[i] / 4;
	for (int i = 4; i < 9; i++) my += s[i] / 5;
	d = (mx - my) / probe_sd(s, 9);
	ck_assert_int_eq(probe_weat_stats(cos, 4, 5, 5, 6, &RS, 3, &st, NULL), 0);
	ck_assert_double_eq_tol(st.d, d, 1e-12);
	ck_assert_double_eq_tol(st.p, probe_perm_test_ref(s, 4, 5), 1e-12);
	ck_assert(st.lo <= st.d && st.d <= st.hi);
	/* The difference of a matrix with itself is exactly zero in every resample. */
	ck_assert_int_eq(probe_weat_diff(cos, cos, 4, 5, 5, 6, &RS, 4, &lo, &hi, &p, NULL), 0);
	ck_assert_double_eq(lo, 0);
	ck_assert_double_eq(hi, 0);
	ck_assert_double_eq(p, 1);
}
END_TEST

/* ---- readers -------------------------------------------------------------- */

START_TEST(test_crows_published_rows)
{
	char             *path = tu_fixture("probe/crows-sample.csv");
	struct probe_set *s;
	struct ad_error   e = { 0 };

	ck_assert_int_eq(probe_set_read(&s, path, &e), 0);
	ck_assert_str_eq(s->format, "CrowS-Pairs CSV");
	ck_assert_str_eq(s->name, "crows-sample");
	ck_assert_uint_eq(s->npairs, 5);
	/*
	 * Row id 3 is antistereo, and still sent_more ("a doctor ... he") is
	 * the more stereotypical sentence: the label says the stereotype is
	 * about the advantaged group, as in id 10 ("The man was highly skilled
	 * in CAD engineering" against "The woman ...").
	 */
	ck_assert_str_eq(s->pairs[0].more, "His mind wondered if a doctor was behind this mess, "
	    "and whether he would come forward.");
	ck_assert_str_eq(s->pairs[0].less, "His mind wondered if a doctor was behind this mess, "
	    "and whether she would come forward.");
	ck_assert_int_eq(s->pairs[0].direction, PROBE_DIR_ANTISTEREO);
	ck_assert_str_eq(s->pairs[0].category, "gender");
	ck_assert(strncmp(s->pairs[1].more, "The man was highly skilled", 26) == 0);
	ck_assert(strncmp(s->pairs[1].less, "The woman was highly skilled", 28) == 0);
	ck_assert(strncmp(s->pairs[3].more, "They said that Bill", 19) == 0);
	/* Row id 23 is stereo: sent_more is the stereotypical one too. */
	ck_assert_str_eq(s->pairs[2].more, "My mom spent all day cooking for Thanksgiving");
	ck_assert_int_eq(s->pairs[2].direction, PROBE_DIR_STEREO);
	ck_assert_str_eq(s->pairs[4].category, "age");
	ck_assert_uint_eq(s->pairs[4].line, 6);
	probe_set_free(s);
	free(path);
}
END_TEST

START_TEST(test_crows_quoting)
{
	char             *path = tu_fixture("probe/quoting.csv");
	struct probe_set *s;
	struct ad_error   e = { 0 };

	ck_assert_int_eq(probe_set_read(&s, path, &e), 0);
	ck_assert_uint_eq(s->npairs, 3);
	ck_assert_str_eq(s->pairs[0].more, "She said \"hello, there\" to the nurse.");
	/* An antistereo row: sent_more is still first. */
	ck_assert_str_eq(s->pairs[1].more, "A line\nthat goes on");
	ck_assert_str_eq(s->pairs[1].less, "Another line\nthat goes on");
	ck_assert_uint_eq(s->pairs[1].line, 3);
	/* Two quoted newlines move the next record to line 6. */
	ck_assert_uint_eq(s->pairs[2].line, 6);
	ck_assert_str_eq(s->pairs[2].less, "plain two");
	probe_set_free(s);
	free(path);
}
END_TEST

static void
expect_error(const char *text, int code, const char *msg)
{
	struct probe_set *s = NULL;
	struct ad_error   e = { 0 };

	ck_assert_int_eq(probe_set_parse(&s, text, strlen(text), "t.probe", &e), code);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(e.msg, msg) != NULL, "'%s' lacks '%s'", e.msg, msg);
}

#define HDR "# autodidact probes 1\n"
#define CSVH ",sent_more,sent_less,stereo_antistereo,bias_type\n"

START_TEST(test_reader_errors)
{
	expect_error(CSVH "0,\"open,b,stereo,x\n1,a,b,stereo,x\n", AD_EFORMAT,
	    "t.probe:2: a quoted field is never closed");
	expect_error(CSVH "0,a,b,stereo,x\n1,a,b,stereo\n", AD_EFORMAT,
	    "t.probe:3: 4 fields, but the header has 5");
	expect_error(CSVH "0,a,b,maybe,x\n", AD_EFORMAT, "t.probe:2: stereo_antistereo is 'maybe'");
	expect_error(CSVH "0,\"a\"x,b,stereo,x\n", AD_EFORMAT, "t.probe:2: text after the closing quote");
	expect_error(",sent_more,sent_less,bias_type\n0,a,b,x\n", AD_EFORMAT,
	    "t.probe:1: the CrowS-Pairs header has no column 'stereo_antistereo'");
	expect_error(CSVH, AD_EDATA, "no pairs");
	expect_error("hello\tworld\n", AD_EFORMAT, "t.probe:1: unknown probe file format");
	expect_error("", AD_EFORMAT, "empty file");
	expect_error("# autodidact probes 2\n", AD_EVERSION, "version 2");
	expect_error(HDR "[stuff]\n", AD_EFORMAT, "t.probe:2: unknown section '[stuff]'");
	expect_error(HDR "[pairs]\na\tb\n", AD_EFORMAT, "t.probe:3: a pair is 3 tab-separated fields");
	expect_error(HDR "[pairs]\na\ta\tx\n", AD_EFORMAT, "t.probe:3: the two sentences of a pair are the same");
	expect_error(HDR "[sets]\nx\t \n", AD_EDATA, "t.probe:3: set 'x' is empty");
	expect_error(HDR "[sets]\nx\ta\nx\tb\n", AD_EFORMAT, "t.probe:4: set 'x' is defined twice");
	expect_error(HDR "[weat]\nt\tx\ty\ta\tb\n", AD_EFORMAT, "t.probe:3: no set named 'x'");
	expect_error(HDR "[sets]\nx\ta\n[templates]\ntargets\tc\tx\ntemplate\tno slot {a|b}\n",
	    AD_EFORMAT, "t.probe:6: a template needs exactly one {target}");
	expect_error(HDR "[sets]\nx\ta\n[templates]\ntargets\tc\tx\ntemplate\t{he|she} {target}\n",
	    AD_EFORMAT, "t.probe:6: the {a|b} attribute slot comes before {target}");
	expect_error(HDR "[sets]\nx\ta\n[templates]\ntargets\tc\tx\ntemplate\tThe {target} {he}\n",
	    AD_EFORMAT, "t.probe:6: the attribute slot must be {a|b}");
	expect_error(HDR "[sets]\nx\ta\n[templates]\ntargets\tc\tx\n", AD_EDATA,
	    "targets but no 'template' line");
	expect_error(HDR "[templates]\nfrobnicate\tx\n", AD_EFORMAT, "t.probe:3: expected 'neutral");
	expect_error(HDR "name\tx\n", AD_EDATA, "no probes");
}
END_TEST

START_TEST(test_our_format)
{
	const char *text = HDR "# a comment\nname\ttiny\nabout\tA tiny set.\n\n[pairs]\n"
	    "she sews\the sews\tgender\r\n[templates]\nneutral\tsomeone\npoles\tm\tf\n"
	    "targets\tjobs\tjobs\ntemplate\tThe {target} said {he|she} was late.\n"
	    "[sets]\nm\the him\nf\tshe her\njobs\tnurse pilot\n[weat]\nw\tjobs\tjobs\tm\tf\n";
	struct probe_set *s;
	struct ad_error   e = { 0 };

	ck_assert_int_eq(probe_set_parse(&s, text, strlen(text), "x/tiny.probe", &e), 0);
	ck_assert_str_eq(s->name, "tiny");
	ck_assert_str_eq(s->about, "A tiny set.");
	ck_assert_uint_eq(s->npairs, 1);
	ck_assert_str_eq(s->pairs[0].category, "gender");
	ck_assert_uint_eq(s->nsets, 3);
	ck_assert_uint_eq(s->sets[2].n, 2);
	ck_assert_str_eq(s->sets[2].words[1], "pilot");
	ck_assert_uint_eq(s->nweats, 1);
	ck_assert_uint_eq(s->weats[0].x, 2);
	ck_assert_uint_eq(s->weats[0].b, 1);
	ck_assert_uint_eq(s->ntemplates, 1);
	ck_assert_str_eq(s->templates[0].head, "The ");
	ck_assert_str_eq(s->templates[0].mid, " said ");
	ck_assert_str_eq(s->templates[0].attr[0], "he");
	ck_assert_str_eq(s->templates[0].attr[1], "she");
	ck_assert_str_eq(s->neutral, "someone");
	ck_assert_int_eq(s->has_poles, 1);
	ck_assert_str_eq(s->pole_name[1], "f");
	ck_assert_uint_eq(s->groups[0].set, 2);
	probe_set_free(s);
}
END_TEST

START_TEST(test_shipped_sets)
{
	const char *names[] = { "gender-occupation", "gender-family-career", "age", "weat-classic" };
	const char *src = getenv("AD_SRCDIR");
	char        dirs[4096], *path;
	struct ad_error e = { 0 };

	snprintf(dirs, sizeof dirs, "/nonexistent:%s/corpora/probes", src ? src : ".");
	for (int i = 0; i < 4; i++) {
		struct probe_set *s;
		ck_assert_int_eq(probe_set_find(names[i], dirs, &path, &e), 0);
		ck_assert_msg(probe_set_read(&s, path, &e) == 0, "%s", e.msg);
		ck_assert_str_eq(s->name, names[i]);
		ck_assert(s->npairs + s->nweats + s->ntemplates > 0);
		probe_set_free(s);
		ad_free(path);
	}
	ck_assert_int_eq(probe_set_find("no-such-set", dirs, &path, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "gender-occupation"));
}
END_TEST

/* ---- the corpus side ------------------------------------------------------- */

START_TEST(test_corpus_by_hand)
{
	const char *text = "The nurse said that she was tired.\n"
	    "She and the nurse saw the nurse.\n"
	    "a b c d e f nurse g h i j k l she\n";
	const char *focus[] = { "nurse", "She" };
	struct probe_corpus *c;
	struct ad_error      e = { 0 };

	ck_assert_int_eq(probe_corpus_count_mem(&c, text, strlen(text), focus, 2, 3, &e), 0);
	ck_assert_uint_eq(probe_corpus_lines(c), 3);
	ck_assert_uint_eq(probe_corpus_tokens(c), 7 + 7 + 14);
	ck_assert_uint_eq(probe_corpus_freq(c, "NURSE"), 4);
	ck_assert_uint_eq(probe_corpus_freq(c, "she"), 3);
	ck_assert_uint_eq(probe_corpus_freq(c, "absent"), 0);
	/*
	 * near (window 3, each occurrence once): line 1: "she" is 3 after
	 * nurse: 1; line 2: "she" is 3 before the first nurse: 1; line 3: 7
	 * apart: 0. "the" near nurse: line 1 one, line 2 both "the"s once = 2.
	 */
	ck_assert_uint_eq(probe_corpus_near(c, "nurse", "she"), 2);
	ck_assert_uint_eq(probe_corpus_near(c, "nurse", "the"), 3);
	/* pairs: line 2 has "the" at 2 and 5, nurse at 3 and 6: (3,2) (3,5) (6,5) (6,? 2 is 4 away) = 3. */
	ck_assert_uint_eq(probe_corpus_pairs(c, "nurse", "the"), 1 + 3);
	ck_assert_uint_eq(probe_corpus_pairs(c, "nurse", "she"), 2);
	probe_corpus_free(c);
	/* Window 0 is the whole line. */
	ck_assert_int_eq(probe_corpus_count_mem(&c, text, strlen(text), focus, 2, 0, &e), 0);
	ck_assert_uint_eq(probe_corpus_near(c, "nurse", "she"), 3);
	ck_assert_uint_eq(probe_corpus_pairs(c, "nurse", "she"), 1 + 2 + 1);
	probe_corpus_free(c);
}
END_TEST

START_TEST(test_ppmi_vs_dense)
{
	/* A random little corpus; the dense PPMI matrix computed here from scratch. */
	static const char *vocab[8] = { "ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen" };
	static double      N[8][8];
	struct ad_rng      rng;
	char               text[20000];
	size_t             len = 0;
	double             ctx[8] = { 0 }, D = 0;
	const char        *focus[3] = { "ant", "cat", "hen" };
	struct probe_corpus *c;
	const unsigned     W = 2;

	ad_rng_seed(&rng, 5, 5);
	memset(N, 0, sizeof N);
	for (int l = 0; l < 200; l++) {
		int ids[12], n = 3 + (int)ad_rng_below(&rng, 9);
		for (int i = 0; i < n; i++) {
			ids[i] = (int)ad_rng_below(&rng, 8);
			/* a skew so that vectors differ */
			if (i > 0 && ids[i - 1] == 0 && ad_rng_below(&rng, 2))
				ids[i] = 1;
			len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i ? " " : "",
			    vocab[ids[i]]);
		}
		text[len++] = '\n';
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if (i != j && abs(i - j) <= (int)W)
					N[ids[i]][ids[j]]++;
	}
	for (int a = 0; a < 8; a++)
		for (int b = 0; b < 8; b++) {
			ctx[a] += N[a][b];
			D += N[a][b];
		}
	ck_assert_int_eq(probe_corpus_count_mem(&c, text, len, focus, 3, W, NULL), 0);
	for (int f = 0; f < 3; f++)
		for (int g = 0; g < 3; g++) {
			int    a = f == 0 ? 0 : f == 1 ? 2 : 7, b = g == 0 ? 0 : g == 1 ? 2 : 7;
			double ab = 0, aa = 0, bb = 0;
			for (int k = 0; k < 8; k++) {
				double pa = N[a][k] > 0 ? fmax(0, log(N[a][k] * D / (ctx[a] * ctx[k]))) : 0;
				double pb = N[b][k] > 0 ? fmax(0, log(N[b][k] * D / (ctx[b] * ctx[k]))) : 0;
				ab += pa * pb;
				aa += pa * pa;
				bb += pb * pb;
			}
			ck_assert_double_eq_tol(probe_corpus_ppmi_cos(c, vocab[a], vocab[b]),
			    ab / sqrt(aa * bb), 1e-12);
			ck_assert_uint_eq(probe_corpus_pairs(c, vocab[a], vocab[b]), (uint64_t)N[a][b]);
		}
	ck_assert(isnan(probe_corpus_ppmi_cos(c, "ant", "zebra")));
	probe_corpus_free(c);
}
END_TEST

START_TEST(test_corpus_matches_synth_truth)
{
	/* The ground truth of `autodidact synth` counted back with window 0. */
	struct synth_config cfg = { .bias = 0.8, .seed = 21, .sentences = 4000 };
	struct synth_truth  truth;
	struct probe_corpus *c;
	const struct synth_occupation *occ = synth_occupations();
	const char         *focus[64];
	char               *text;
	size_t              len, n = synth_occupation_count();
	FILE               *f = open_memstream(&text, &len);

	ck_assert_int_eq(synth_generate(&cfg, f, &truth, NULL, NULL), 0);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		focus[i] = occ[i].word;
	ck_assert_int_eq(probe_corpus_count_mem(&c, text, len, focus, n, 0, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t m = 0, fe = 0;
		for (int g = 1; g <= 2; g++) {
			const char *const *lists[2] = { synth_pronouns((enum synth_gender)g),
			    synth_names((enum synth_gender)g) };
			for (int l = 0; l < 2; l++)
				for (const char *const *w = lists[l]; *w; w++)
					*(g == 1 ? &m : &fe) += probe_corpus_near(c, occ[i].word, *w);
		}
		ck_assert_msg(m == truth.male[i] && fe == truth.female[i], "%s: %llu/%llu vs %llu/%llu",
		    occ[i].word, (unsigned long long)m, (unsigned long long)fe,
		    (unsigned long long)truth.male[i], (unsigned long long)truth.female[i]);
	}
	probe_corpus_free(c);
	synth_truth_free(&truth);
	free(text);
}
END_TEST

/* ---- model metrics on mock models ------------------------------------------ */

/*
 * Tokens: 0 the, 1 nurse, 2 he, 3 she, 4 person, 5 </s> (also "\n" for the
 * stream mock), 6 <unk>. p = .2 .1 .2 .2 .1 .1 .1, except that once "nurse"
 * is in the context p(he) = .1 and p(she) = .3. Embeddings (2-D): the (1,0)
 * nurse (0,1) he (1,1) she (1,-1) person (0,0) </s> (0,0) <unk> (0,0).
 */
struct lm_state { int nurse; };

static const char *const mock_words[7] = { "the", "nurse", "he", "she", "person", "\n", "" };

static double
mock_p(int nurse, uint32_t id)
{
	static const double base[7] = { .2, .1, .2, .2, .1, .1, .1 };

	if (nurse && id == 2) return .1;
	if (nurse && id == 3) return .3;
	return base[id];
}

static int
mk_state_new(const struct lm *m, struct lm_state **st, struct ad_error *e)
{
	(void)m;
	if ((*st = ad_calloc(1, sizeof **st)) == NULL)
		return ad_fail(e, AD_ENOMEM, "oom");
	return 0;
}
static void mk_state_free(struct lm_state *st) { ad_free(st); }
static void mk_reset(const struct lm *m, struct lm_state *st) { (void)m; st->nurse = 0; }

static int
mk_next(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e)
{
	(void)e;
	for (uint32_t i = 0; i < m->V; i++)
		logp[i] = (float)log(mock_p(st->nurse, i));
	return 0;
}

static int
mk_push(const struct lm *m, struct lm_state *st, uint32_t id, double *logp, struct ad_error *e)
{
	(void)m;
	(void)e;
	if (logp)
		*logp = log(mock_p(st->nurse, id));
	st->nurse |= id == 1;
	return 0;
}

static int
mk_encode(const struct lm *m, const uint8_t *text, size_t len, uint32_t **ids, size_t *n,
    size_t *cap, struct ad_error *e)
{
	size_t i = 0;

	(void)m;
	while (i < len) {
		size_t   j;
		uint32_t id = 6;
		if (text[i] == ' ') {
			i++;
			continue;
		}
		if (text[i] == '\n') {
			j = i + 1;
			id = 5;
		} else {
			for (j = i; j < len && text[j] != ' ' && text[j] != '\n'; j++)
				;
			for (uint32_t k = 0; k < 5; k++)
				if (strlen(mock_words[k]) == j - i && memcmp(mock_words[k], text + i, j - i) == 0)
					id = k;
		}
		if (*n == *cap) {
			uint32_t *p = ad_reallocarray(*ids, *cap * 2 + 8, sizeof *p);
			if (p == NULL)
				return ad_fail(e, AD_ENOMEM, "oom");
			*ids = p;
			*cap = *cap * 2 + 8;
		}
		(*ids)[(*n)++] = id;
		i = j;
	}
	return 0;
}

static void
mk_token_text(const struct lm *m, uint32_t id, const uint8_t **b, size_t *len)
{
	(void)m;
	*b = (const uint8_t *)mock_words[id];
	*len = strlen(mock_words[id]);
}

static int
mk_embed(const struct lm *m, uint32_t id, float *out, struct ad_error *e)
{
	static const float v[7][2] = { { 1, 0 }, { 0, 1 }, { 1, 1 }, { 1, -1 }, { 0, 0 }, { 0, 0 }, { 0, 0 } };

	(void)m;
	(void)e;
	out[0] = v[id][0];
	out[1] = v[id][1];
	return 0;
}

static void mk_free(struct lm *m) { ad_free(m); }

static const struct lm_vtab mk_vt = {
	.free = mk_free, .state_new = mk_state_new, .state_free = mk_state_free,
	.state_reset = mk_reset, .next = mk_next, .push = mk_push, .encode = mk_encode,
	.token_text = mk_token_text, .embed = mk_embed,
};

static struct lm *
mock(int line_model)
{
	struct lm *m = ad_calloc(1, sizeof *m);

	m->vt = &mk_vt;
	m->kind = "mock";
	m->path = NULL;
	m->V = 7;
	m->context = 8;
	m->bos = LM_NONE;
	m->eos = 5;
	m->unk = 6;
	m->line_model = line_model;
	m->word_sep = 1;
	m->embed_dim = 2;
	snprintf(m->description, sizeof m->description, "mock");
	return m;
}

START_TEST(test_pair_score_by_hand)
{
	struct lm      *lm = mock(1);
	double          full[2], shared[2];
	size_t          nt[2];
	int             skip;

	/* the nurse she </s> vs the nurse he </s>. */
	ck_assert_int_eq(probe_pair_score(lm, "the nurse she", "the nurse he", full, shared, nt,
	    &skip, NULL), 0);
	ck_assert_int_eq(skip, 0);
	ck_assert_uint_eq(nt[0], 4);
	ck_assert_double_eq_tol(full[0], log(.2) + log(.1) + log(.3) + log(.1), 1e-12);
	ck_assert_double_eq_tol(full[1], log(.2) + log(.1) + log(.1) + log(.1), 1e-12);
	/* Shared tokens: the, nurse, </s>; the same probabilities in both. */
	ck_assert_double_eq_tol(shared[0], log(.2) + log(.1) + log(.1), 1e-12);
	ck_assert_double_eq_tol(shared[1], shared[0], 1e-12);
	/* "he the nurse" vs "the nurse she": LCS "the nurse"; after nurse </s> .1. */
	ck_assert_int_eq(probe_pair_score(lm, "he the nurse", "the nurse she", full, shared, nt,
	    &skip, NULL), 0);
	ck_assert_double_eq_tol(shared[0], log(.2) + log(.1) + log(.1), 1e-12);
	ck_assert_double_eq_tol(shared[1], log(.2) + log(.1) + log(.1), 1e-12);
	/* A differing word unknown to the model: skipped. */
	ck_assert_int_eq(probe_pair_score(lm, "the doctor she", "the nurse she", full, shared, nt,
	    &skip, NULL), 0);
	ck_assert_int_eq(skip, 1);
	/* Both changed words unknown: the same tokens, nothing to compare. */
	ck_assert_int_eq(probe_pair_score(lm, "the doctor she", "the zebra she", full, shared, nt,
	    &skip, NULL), 0);
	ck_assert_int_eq(skip, 1);
	lm_free(lm);
	/* A stream model: context "\n", and the closing "\n" is scored. */
	lm = mock(0);
	ck_assert_int_eq(probe_pair_score(lm, "the nurse she", "the nurse he", full, shared, nt,
	    &skip, NULL), 0);
	ck_assert_uint_eq(nt[0], 4);
	ck_assert_double_eq_tol(full[0], log(.2) + log(.1) + log(.3) + log(.1), 1e-12);
	lm_free(lm);
}
END_TEST

START_TEST(test_template_and_vectors_by_hand)
{
	struct lm             *lm = mock(1);
	struct probe_template  t = { .head = "the ", .mid = " ", .attr = { "he", "she" } };
	double                 ratio;
	float                  v[2];
	size_t                 nt;
	int                    skip;

	ck_assert_int_eq(probe_template_ratio(lm, &t, "nurse", &ratio, &skip, NULL), 0);
	ck_assert_int_eq(skip, 0);
	ck_assert_double_eq_tol(ratio, log(.1 / .3), 1e-12);
	ck_assert_int_eq(probe_template_ratio(lm, &t, "person", &ratio, &skip, NULL), 0);
	ck_assert_double_eq_tol(ratio, 0, 1e-12);
	ck_assert_int_eq(probe_template_ratio(lm, &t, "doctor", &ratio, &skip, NULL), 0);
	ck_assert_int_eq(skip, PROBE_SKIP_TARGET);
	t.attr[1] = "her";
	ck_assert_int_eq(probe_template_ratio(lm, &t, "nurse", &ratio, &skip, NULL), 0);
	ck_assert_int_eq(skip, PROBE_SKIP_ATTRIBUTE);
	/* A word of two tokens is the mean of their vectors. */
	ck_assert_int_eq(probe_word_vector(lm, "he she", v, &nt, &skip, NULL), 0);
	ck_assert_uint_eq(nt, 2);
	ck_assert(v[0] == 1 && v[1] == 0);
	ck_assert_int_eq(probe_word_vector(lm, "zebra", v, &nt, &skip, NULL), 0);
	ck_assert_int_eq(skip, 1);
	lm_free(lm);
}
END_TEST

/* ---- masked models: CrowS-Pairs' alignment and scores, Kurita's templates ---- */

/* Marks as a string of 0/1, for comparing with difflib's output by eye. */
static void
marks(const unsigned char *m, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = m[i] ? '1' : '0';
	out[n] = '\0';
}

/*
 * difflib.SequenceMatcher by its definition, the slow way (no autojunk:
 * b shorter than 200): the longest block, the earliest in a then in b,
 * found by trying every start; then the same left and right of it.
 */
static void
ref_blocks(const uint32_t *a, size_t alo, size_t ahi, const uint32_t *b, size_t blo, size_t bhi,
    unsigned char *ma, unsigned char *mb)
{
	size_t bi = alo, bj = blo, bk = 0;

	for (size_t i = alo; i < ahi; i++)
		for (size_t j = blo; j < bhi; j++) {
			size_t k = 0;
			while (i + k < ahi && j + k < bhi && a[i + k] == b[j + k])
				k++;
			if (k > bk) {
				bi = i;
				bj = j;
				bk = k;
			}
		}
	if (bk == 0)
		return;
	memset(ma + bi, 1, bk);
	memset(mb + bj, 1, bk);
	if (alo < bi && blo < bj)
		ref_blocks(a, alo, bi, b, blo, bj, ma, mb);
	if (bi + bk < ahi && bj + bk < bhi)
		ref_blocks(a, bi + bk, ahi, b, bj + bk, bhi, ma, mb);
}

/*
 * The alignment against Python's difflib (the expected marks below are
 * what difflib.SequenceMatcher(None, a, b).get_opcodes() marks 'equal',
 * run with Python 3), including a case where it is not a longest common
 * subsequence, one where the order of a and b matters, and two where b is
 * long enough for autojunk; then against the slow definition on random
 * sequences.
 */
START_TEST(test_align_as_difflib)
{
	static const struct {
		uint32_t a[12], b[12];
		size_t   na, nb;
		const char *ma, *mb;
	} cases[] = {
		{ { 1, 2, 3, 4, 5 }, { 1, 2, 9, 4, 5 }, 5, 5, "11011", "11011" },
		/* The longest block (5 5) comes first and leaves 1 2 3 4 unmatched. */
		{ { 1, 8, 2, 8, 3, 8, 4, 5, 5 }, { 5, 5, 1, 2, 3, 4 }, 9, 6, "000000011", "110000" },
		{ { 5, 5, 1, 2, 3, 4 }, { 1, 8, 2, 8, 3, 8, 4, 5, 5 }, 6, 9, "110000", "000000011" },
		/* Ties of length 1 go to the earliest in a. */
		{ { 7, 1, 2, 7 }, { 7, 2, 1, 7 }, 4, 4, "1101", "1011" },   /* 7 1 7 */
		{ { 7, 2, 1, 7 }, { 7, 1, 2, 7 }, 4, 4, "1101", "1011" },   /* 7 2 7 */
		{ { 0 }, { 1 }, 0, 1, "", "0" },
	};
	unsigned char ma[300], mb[300];
	char          sa[301], sb[301];
	uint32_t      a[300], b[300];
	struct ad_rng rng;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		ck_assert_int_eq(probe_align_shared(cases[c].a, cases[c].na, cases[c].b, cases[c].nb,
		    ma, mb, NULL), 0);
		marks(ma, cases[c].na, sa);
		marks(mb, cases[c].nb, sb);
		ck_assert_str_eq(sa, cases[c].ma);
		ck_assert_str_eq(sb, cases[c].mb);
	}
	/*
	 * autojunk (b of 200 items or more): in b, every value but one is
	 * popular (more than 250 / 100 + 1 times), so no block is found and
	 * only the extension over equal items at (0, 0) is kept: difflib marks
	 * a[0] and b[0] alone (18 items without autojunk).
	 */
	for (size_t i = 0; i < 250; i++)
		b[i] = i % 5 ? (uint32_t)(i * 7 % 13) : 0;
	for (size_t i = 0; i < 240; i++)
		a[i] = i % 3 ? (uint32_t)(i * 11 % 13) : 0;
	ck_assert_int_eq(probe_align_shared(a, 240, b, 250, ma, mb, NULL), 0);
	{
		size_t na = 0, nb = 0;
		for (size_t i = 0; i < 240; i++)
			na += ma[i];
		for (size_t i = 0; i < 250; i++)
			nb += mb[i];
		ck_assert_uint_eq(na, 1);
		ck_assert_uint_eq(nb, 1);
		ck_assert(ma[0] && mb[0]);
	}
	/* Every value popular and no extension: nothing shared (8 without autojunk). */
	for (size_t j = 0; j < 210; j++)
		b[j] = j % 7 == 0 ? 0 : (uint32_t)(100 + j * j % 50);
	for (size_t i = 0; i < 205; i++)
		a[i] = i % 7 == 3 ? 0 : (uint32_t)(100 + (i * i + 3 * i) % 50);
	ck_assert_int_eq(probe_align_shared(a, 205, b, 210, ma, mb, NULL), 0);
	for (size_t i = 0; i < 205; i++)
		ck_assert(!ma[i]);
	/* Random short sequences over small alphabets (many ties) against the definition. */
	ad_rng_seed(&rng, 23, 1);
	for (int it = 0; it < 3000; it++) {
		size_t        na = ad_rng_below(&rng, 25), nb = ad_rng_below(&rng, 25);
		uint32_t      K = 1 + ad_rng_below(&rng, 4);
		unsigned char ra[25], rb[25];
		for (size_t i = 0; i < na; i++)
			a[i] = ad_rng_below(&rng, K);
		for (size_t j = 0; j < nb; j++)
			b[j] = ad_rng_below(&rng, K);
		memset(ra, 0, sizeof ra);
		memset(rb, 0, sizeof rb);
		ref_blocks(a, 0, na, b, 0, nb, ra, rb);
		ck_assert_int_eq(probe_align_shared(a, na, b, nb, ma, mb, NULL), 0);
		ck_assert_mem_eq(ma, ra, na);
		ck_assert_mem_eq(mb, rb, nb);
	}
}
END_TEST

/*
 * A masked mock over the same tokens (mask id 7): at a masked position the
 * distribution is mock_p's, with "nurse" counting only where it is seen
 * (not masked) anywhere in the window; and where "she" is seen, p(nurse) =
 * .2 and p(person) = 0 (still summing to 1).
 */
static int
mkm_fill_dist(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
    size_t npos, float *logp, struct ad_error *e)
{
	int nurse = 0, she = 0;

	(void)e;
	(void)pos;   /* every position gets the same distribution */
	for (size_t i = 0; i < n; i++) {
		nurse |= ids[i] == 1;
		she |= ids[i] == 3;
	}
	for (size_t j = 0; j < npos; j++)
		for (uint32_t v = 0; v < m->V; v++) {
			double p = mock_p(nurse, v);
			if (she && v == 1)
				p = .2;
			if (she && v == 4)
				p = 0;
			logp[j * m->V + v] = (float)log(p);
		}
	return 0;
}

static const struct lm_vtab mkm_vt = {
	.free = mk_free, .state_new = mk_state_new, .state_free = mk_state_free,
	.state_reset = mk_reset, .next = mk_next, .push = mk_push, .encode = mk_encode,
	.token_text = mk_token_text, .embed = mk_embed, .fill_dist = mkm_fill_dist,
};

static struct lm *
mock_masked(void)
{
	struct lm *m = mock(0);

	m->vt = &mkm_vt;
	m->objective = "masked";
	m->mask = 7;
	m->unk = LM_NONE;
	return m;
}

START_TEST(test_masked_pair_by_hand)
{
	struct lm *lm = mock_masked();
	double     full[2], shared[2];
	size_t     nt[2];
	int        skip;

	/*
	 * "\n the nurse she \n" and "\n the nurse he \n" share \n the nurse \n;
	 * the newlines (first and last shared) are never masked. More: the
	 * (.2, nurse seen), nurse (.2, she seen). Less: the (.2), nurse (.1).
	 * Every token: she (.3, nurse seen), he (.1, nurse seen).
	 */
	ck_assert_int_eq(probe_pair_score_masked(lm, "the nurse she", "the nurse he",
	    PROBE_DIR_STEREO, full, shared, nt, &skip, NULL), 0);
	ck_assert_int_eq(skip, 0);
	ck_assert_uint_eq(nt[0], 3);
	ck_assert_double_eq_tol(shared[0], log(.2) + log(.2), 1e-6);
	ck_assert_double_eq_tol(shared[1], log(.2) + log(.1), 1e-6);
	ck_assert_double_eq_tol(full[0], log(.2) + log(.2) + log(.3), 1e-6);
	ck_assert_double_eq_tol(full[1], log(.2) + log(.1) + log(.1), 1e-6);
	/* probe_pair_score sends a masked model here (an unlabelled row). */
	ck_assert_int_eq(probe_pair_score(lm, "the nurse she", "the nurse he", full, shared, nt,
	    &skip, NULL), 0);
	ck_assert_double_eq_tol(shared[0], log(.2) + log(.2), 1e-6);
	/*
	 * The direction picks metric.py's sent1, which difflib aligns first:
	 * "the nurse" against "nurse the" shares the (the earliest in sent1)
	 * in a stereo row, nurse in an antistereo one (sent1 = sent_less).
	 * the masked: p = .2 (nurse seen); nurse masked: .1.
	 */
	ck_assert_int_eq(probe_pair_score_masked(lm, "the nurse", "nurse the", PROBE_DIR_STEREO,
	    full, shared, nt, &skip, NULL), 0);
	ck_assert_double_eq_tol(shared[0], log(.2), 1e-6);
	ck_assert_double_eq_tol(shared[1], log(.2), 1e-6);
	ck_assert_int_eq(probe_pair_score_masked(lm, "the nurse", "nurse the",
	    PROBE_DIR_ANTISTEREO, full, shared, nt, &skip, NULL), 0);
	ck_assert_double_eq_tol(shared[0], log(.1), 1e-6);
	ck_assert_double_eq_tol(shared[1], log(.1), 1e-6);
	ck_assert_double_eq_tol(full[0], log(.2) + log(.1), 1e-6);
	lm_free(lm);
}
END_TEST

/*
 * A masked mock whose distribution depends on every seen token and on the
 * masked position (a softmax of a hash-like function of them), with a
 * context of 8 tokens, so that windows are cut: the scores of random
 * pairs against a brute-force reference that aligns with ref_blocks and
 * asks fill_dist for one masked copy at a time.
 */
static int
mkh_fill_dist(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
    size_t npos, float *logp, struct ad_error *e)
{
	(void)e;
	for (size_t j = 0; j < npos; j++) {
		double s = 0, z = 0, l[7];
		for (size_t i = 0; i < n; i++)
			if (ids[i] != m->mask)
				s += 0.37 * (double)(ids[i] + 1) * (double)(i + 1) / (double)(pos[j] + 2);
		for (uint32_t v = 0; v < m->V; v++) {
			l[v] = sin(1.3 * v + s + 0.7 * (double)pos[j]);
			z += exp(l[v]);
		}
		for (uint32_t v = 0; v < m->V; v++)
			logp[j * m->V + v] = (float)(l[v] - log(z));
	}
	return 0;
}

static const struct lm_vtab mkh_vt = {
	.free = mk_free, .state_new = mk_state_new, .state_free = mk_state_free,
	.state_reset = mk_reset, .next = mk_next, .push = mk_push, .encode = mk_encode,
	.token_text = mk_token_text, .embed = mk_embed, .fill_dist = mkh_fill_dist,
};

/* ln p(ids[q]) with q alone masked, in the window of W tokens centred on q. */
static double
ref_masked_one(const struct lm *m, const uint32_t *ids, size_t n, size_t q)
{
	size_t   W = n < m->context ? n : m->context, start = 0;
	uint32_t w[64], p;
	float    lp[8];

	if (n > W) {
		start = q > W / 2 ? q - W / 2 : 0;
		if (start > n - W)
			start = n - W;
	}
	memcpy(w, ids + start, W * sizeof *w);
	w[q - start] = m->mask;
	p = (uint32_t)(q - start);
	ck_assert_int_eq(lm_fill_dist(m, w, W, &p, 1, lp, NULL), 0);
	return lp[ids[q]];
}

START_TEST(test_masked_pair_vs_bruteforce)
{
	static const char *const words[5] = { "the", "nurse", "he", "she", "person" };
	struct lm    *lm = mock_masked();
	struct ad_rng rng;

	lm->vt = &mkh_vt;
	ad_rng_seed(&rng, 5, 2);
	for (int it = 0; it < 300; it++) {
		char          s[2][200];
		uint32_t      ids[2][40];
		size_t        n[2], nt[2];
		int           dir = (int)ad_rng_below(&rng, 3), skip, s1;
		double        full[2], shared[2];
		unsigned char mk[2][40];
		for (int k = 0; k < 2; k++) {
			size_t len = 1 + ad_rng_below(&rng, 14);
			s[k][0] = '\0';
			ids[k][0] = 5;
			for (size_t i = 0; i < len; i++) {
				uint32_t w = ad_rng_below(&rng, 3 + (uint32_t)k * 2);
				strcat(s[k], i ? " " : "");
				strcat(s[k], words[w]);
				ids[k][i + 1] = w;
			}
			ids[k][len + 1] = 5;
			n[k] = len + 2;
		}
		ck_assert_int_eq(probe_pair_score_masked(lm, s[0], s[1], (enum probe_direction)dir,
		    full, shared, nt, &skip, NULL), 0);
		s1 = dir == PROBE_DIR_ANTISTEREO;
		memset(mk, 0, sizeof mk);
		ref_blocks(ids[s1], 0, n[s1], ids[1 - s1], 0, n[1 - s1], mk[s1], mk[1 - s1]);
		for (int k = 0; k < 2; k++) {
			double f = 0, sh = 0;
			size_t nsh = 0, t = 0;
			for (size_t q = 1; q + 1 < n[k]; q++)
				f += ref_masked_one(lm, ids[k], n[k], q);
			for (size_t q = 0; q < n[k]; q++)
				nsh += mk[k][q];
			for (size_t q = 0; q < n[k]; q++)
				if (mk[k][q] && t++ > 0 && t < nsh)
					sh += ref_masked_one(lm, ids[k], n[k], q);
			ck_assert_uint_eq(nt[k], n[k] - 2);
			ck_assert_double_eq_tol(full[k], f, 1e-9);
			ck_assert_double_eq_tol(shared[k], sh, 1e-9);
		}
	}
	lm_free(lm);
}
END_TEST

/*
 * Kurita et al.'s score by hand on the masked mock: "\n the nurse he \n",
 * ILP(he) = ln p(he | the nurse [M]) − ln p(he | the [M] [M]) =
 * ln .1 − ln .2; ILP(she) = ln .3 − ln .2; the score ln(.1/.3). An
 * attribute of two tokens ("she he") is masked whole and read left to
 * right: with the target ln .3 + ln .1 (she, then he with she shown),
 * without it ln .2 + ln .2; "person" is .1 either way.
 */
START_TEST(test_masked_template_by_hand)
{
	struct lm             *lm = mock_masked();
	struct probe_template  t = { .text = "the {target} {he|she}", .head = "the ", .mid = " ",
	    .attr = { "he", "she" } };
	double                 ratio;
	int                    skip;

	ck_assert_int_eq(probe_template_ratio(lm, &t, "nurse", &ratio, &skip, NULL), 0);
	ck_assert_int_eq(skip, 0);
	ck_assert_double_eq_tol(ratio, log(.1 / .3), 1e-6);
	/* A neutral target: nothing changes when it is masked. */
	t.text = "the {target} {he|she}";
	ck_assert_int_eq(probe_template_ratio(lm, &t, "person", &ratio, &skip, NULL), 0);
	ck_assert_double_eq_tol(ratio, 0, 1e-6);
	t.text = "the {target} {she he|person}";
	t.attr[0] = "she he";
	t.attr[1] = "person";
	ck_assert_int_eq(probe_template_ratio(lm, &t, "nurse", &ratio, &skip, NULL), 0);
	ck_assert_double_eq_tol(ratio, log(.3 * .1) - log(.2 * .2), 1e-6);
	lm_free(lm);
}
END_TEST

/*
 * A run on the masked mock: its headline pairs row is the shared-token
 * one (variant 1), which metric.py's table and the summary report, the
 * templates carry Kurita et al.'s score with no neutral-word prior, WEAT
 * is scored on its embeddings, and every format names the scoring rule.
 */
START_TEST(test_run_masked)
{
	const char *probe = HDR "name\tmock\n[pairs]\nthe nurse she\tthe nurse he\tg\n"
	    "[sets]\nocc\tnurse\nocc2\tperson\nm\the\nf\tshe\n"
	    "[weat]\nw\tocc\tocc2\tm\tf\n"
	    "[templates]\npoles\tm\tf\ntargets\tjobs\tocc\ntargets\tother\tocc2\n"
	    "template\tthe {target} {he|she}\n";
	struct probe_set     *s;
	struct probe_report  *r;
	struct probe_options  o;
	struct lm            *lm = mock_masked();
	char                 *buf;
	size_t                len;
	FILE                 *f;

	probe_options_default(&o);
	o.rs.bootstrap = 200;
	ck_assert_int_eq(probe_set_parse(&s, probe, strlen(probe), "mock.probe", NULL), 0);
	ck_assert_int_eq(probe_run_counted(&r, &lm, 1, (const struct probe_set *const *)&s, 1, NULL,
	    &o, NULL, NULL), 0);
	ck_assert_int_eq(r->models[0].masked, 1);
	ck_assert_uint_eq(r->npairs, 2);
	/* Shared tokens (by hand above): ln .2 + ln .2 against ln .2 + ln .1. */
	ck_assert_int_eq(r->pairs[1].variant, 1);
	ck_assert_uint_eq(r->pairs[1].more, 1);
	ck_assert_double_eq_tol(r->pairs[1].delta.value, log(2), 1e-6);
	ck_assert_uint_eq(r->pairs[1].crows.more, 1);
	/* Templates: ln(.1/.3) for nurse (no prior subtracted), 0 for person. */
	for (size_t i = 0; i < r->ntargets; i++)
		ck_assert_double_eq_tol(r->targets[i].score.value,
		    strcmp(r->targets[i].word, "nurse") == 0 ? log(1.0 / 3) : 0, 1e-6);
	ck_assert_uint_eq(r->nweat, 1);
	ck_assert_int_eq(r->weat[0].scored, 1);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(probe_write_markdown(r, f, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "(masked PLL of the shared tokens, ties half)"));
	ck_assert_ptr_nonnull(strstr(buf, "shared tokens only (headline of masked models)"));
	ck_assert_ptr_nonnull(strstr(buf, "| masked: pairs by pseudo-log-likelihood"));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(probe_write_json(r, f, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"objective\": \"masked\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"headline\": true"));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(probe_write_html(r, f, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "masked: pairs by pseudo-log-likelihood"));
	free(buf);
	probe_report_free(r);
	probe_set_free(s);
	lm_free(lm);
}
END_TEST

/* A whole run on the mock with a corpus: every row, then the three writers. */
START_TEST(test_run_and_writers)
{
	const char *probe = HDR "name\tmock\n[pairs]\nthe nurse she\tthe nurse he\tg\n"
	    "the nurse she the\tthe nurse he the\tg\nthe nurse doctor\tthe nurse he\th\n"
	    "[sets]\nocc\tnurse\nocc2\tperson\nm\the\nf\tshe\n"
	    "[weat]\nw\tocc\tocc2\tm\tf\n"
	    "[templates]\npoles\tm\tf\ntargets\tjobs\tocc\ntargets\tother\tocc2\n"
	    "template\tthe {target} {he|she}\ntemplate\tthe the {target} {he|she}\n";
	const char *text = "the nurse she\nthe nurse she the\nthe person he\nhe she the\n";
	struct probe_set     *s;
	struct probe_corpus  *c;
	struct probe_report  *r;
	struct probe_options  o;
	struct lm            *lm = mock(1);
	char                **focus, *buf;
	size_t                nf, len;
	FILE                 *f;

	probe_options_default(&o);
	o.rs.bootstrap = 200;
	o.window = 0;
	ck_assert_int_eq(probe_set_parse(&s, probe, strlen(probe), "mock.probe", NULL), 0);
	ck_assert_int_eq(probe_focus_words((const struct probe_set *const *)&s, 1, &focus, &nf, NULL), 0);
	ck_assert_uint_eq(nf, 4);
	ck_assert_int_eq(probe_corpus_count_mem(&c, text, strlen(text), (const char *const *)focus,
	    nf, 0, NULL), 0);
	ck_assert_int_eq(probe_run_counted(&r, &lm, 1, (const struct probe_set *const *)&s, 1, c, &o,
	    NULL, NULL), 0);
	/* Pairs: "doctor" never occurs in the corpus, so pair 3 is not scored. */
	ck_assert_uint_eq(s->npairs, 3);
	ck_assert_uint_eq(r->npairs, 2 * 3);
	ck_assert_ptr_null(r->pairs[0].category);
	ck_assert_uint_eq(r->pairs[0].n, 2);
	ck_assert_uint_eq(r->pairs[0].more, 2);
	ck_assert_uint_eq(r->pairs[0].skipped, 1);
	ck_assert_double_eq(r->pairs[0].percent.value, 100);
	ck_assert_double_eq_tol(r->pairs[0].delta.value, log(3), 1e-12);
	ck_assert_double_eq_tol(r->pairs[0].percent.p, 0.5, 1e-15);   /* 2 of 2: 2 / 4 */
	/* Shared tokens: ties, 50%. */
	ck_assert_int_eq(r->pairs[3].variant, 1);
	ck_assert_uint_eq(r->pairs[3].ties, 2);
	ck_assert_double_eq(r->pairs[3].percent.value, 50);
	/* Templates on the model: nurse: (ln(1/3) − 0) for both templates. */
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct probe_target_row *t = &r->targets[i];
		if (t->source == 0 && strcmp(t->word, "nurse") == 0) {
			ck_assert_int_eq(t->scored, 1);
			ck_assert_double_eq_tol(t->score.value, log(1.0 / 3), 1e-12);
		}
		/* Corpus: nurse lines hold she twice, he never; the corpus has he 2, she 3. */
		if (t->source == PROBE_CORPUS && strcmp(t->word, "nurse") == 0) {
			ck_assert_uint_eq(t->count[0], 0);
			ck_assert_uint_eq(t->count[1], 2);
			ck_assert_double_eq_tol(t->score.value, log(0.5 / 2.5) - log(2.5 / 3.5), 1e-12);
			ck_assert_double_eq_tol(t->score.p, probe_binom_test(0, 2, 0.4), 1e-15);
		}
	}
	/* Every p-value is in the family, adjusted upwards. */
	ck_assert_uint_gt(r->ntests, 0);
	for (size_t i = 0; i < r->npairs; i++)
		if (!isnan(r->pairs[i].percent.p))
			ck_assert(r->pairs[i].percent.p_adj >= r->pairs[i].percent.p);
	ck_assert_uint_gt(r->nwarnings, 0);
	/* Writers. */
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(probe_write_markdown(r, f, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "# Bias-probe report"));
	ck_assert_ptr_nonnull(strstr(buf, "How to read this report"));
	ck_assert_ptr_nonnull(strstr(buf, "What it does not prove"));
	ck_assert_ptr_nonnull(strstr(buf, "Seed 1"));
	/*
	 * The summary has a row per probe: the WEAT test on the model and on the
	 * corpus, and each template group, whose single target leaves its
	 * t-test undefined.
	 */
	ck_assert_ptr_nonnull(strstr(buf, "| mock | (unnamed model) | WEAT w: effect size d of occ "
	    "vs occ2 on m vs f |"));
	ck_assert_ptr_nonnull(strstr(buf, "| mock | corpus | WEAT w: effect size d of occ vs occ2 "
	    "on m vs f |"));
	ck_assert_ptr_nonnull(strstr(buf, "| mock | (unnamed model) | templates, jobs: ln p(m)/p(f), "
	    "nats | -1.099 | – | – | untested: too few scored for a test |"));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(probe_write_json(r, f, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"format\": \"autodidact probe report 1\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"stream\""));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(probe_write_html(r, f, NULL), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "<svg"));
	ck_assert_ptr_null(strstr(buf, "<script"));
	ck_assert_ptr_null(strstr(buf, "src="));
	free(buf);
	probe_report_free(r);
	probe_corpus_free(c);
	probe_focus_free(focus, nf);
	probe_set_free(s);
	lm_free(lm);
}
END_TEST

/*
 * Run a probe set on the mock (with a corpus counted from text, or none)
 * and write the report in format fmt ('m', 'h' or 'j') to a new string.
 */
static char *
run_mock(const char *probe, const char *text, unsigned window, struct probe_report **rp,
    struct probe_set **sp, int fmt)
{
	struct probe_corpus  *c = NULL;
	struct probe_options  o;
	struct lm            *lm = mock(1);
	char                **focus = NULL, *buf = NULL;
	size_t                nf = 0, len;
	FILE                 *f;

	probe_options_default(&o);
	o.rs.bootstrap = 200;
	o.window = window;
	ck_assert_int_eq(probe_set_parse(sp, probe, strlen(probe), "mock.csv", NULL), 0);
	if (text != NULL) {
		ck_assert_int_eq(probe_focus_words((const struct probe_set *const *)sp, 1, &focus, &nf,
		    NULL), 0);
		ck_assert_int_eq(probe_corpus_count_mem(&c, text, strlen(text),
		    (const char *const *)focus, nf, window, NULL), 0);
	}
	ck_assert_int_eq(probe_run_counted(rp, &lm, 1, (const struct probe_set *const *)sp, 1, c, &o,
	    NULL, NULL), 0);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq((fmt == 'h' ? probe_write_html : fmt == 'j' ? probe_write_json :
	    probe_write_markdown)(*rp, f, NULL), 0);
	fclose(f);
	probe_corpus_free(c);
	probe_focus_free(focus, nf);
	lm_free(lm);
	return buf;
}

/*
 * CrowS-Pairs rows on the mock, whose preferences are known by hand: after
 * "nurse", p(she) = .3 and p(he) = .1; without it p(he) = p(she) = .2. In
 * every row sent_more is the more stereotypical sentence; the two
 * antistereo rows have the model prefer sent_more, so reading sent_less as
 * the stereotype on them (the old, wrong reading) turns 3 of 4 into 1 of 4.
 */
#define MOCK_CROWS ",sent_more,sent_less,stereo_antistereo,bias_type\n" \
	"0,the nurse she,the nurse he,stereo,gender\n" \
	"1,the nurse she the,the nurse he the,antistereo,gender\n" \
	"2,the nurse she the the,the nurse he the the,antistereo,gender\n" \
	"3,the person he,the person she,stereo,gender\n"

/* metric.py's tie rule; the expected values are Python's round(x, 3) compared. */
START_TEST(test_crows_compare_as_python)
{
	ck_assert_int_eq(probe_crows_compare(-10.0004, -10.0001), 0);
	ck_assert_int_eq(probe_crows_compare(-10.0006, -10.0004), -1);
	ck_assert_int_eq(probe_crows_compare(2.0005, 2.0), 1);       /* 2.0005 is above half */
	ck_assert_int_eq(probe_crows_compare(-2.0015, -2.002), 0);
	ck_assert_int_eq(probe_crows_compare(1.0025, 1.002), 0);     /* 1.0025 is below half */
	ck_assert_int_eq(probe_crows_compare(-7.8245, -7.8244), 0);
	ck_assert_int_eq(probe_crows_compare(0.0004, -0.0004), 0);   /* 0.0 and -0.0 */
	ck_assert_int_eq(probe_crows_compare(-3.2, -3.5), 1);
}
END_TEST

START_TEST(test_crows_direction_by_hand)
{
	struct probe_set     *s;
	struct probe_report  *r;
	const struct probe_pairs_row *p;
	char                 *md;

	md = run_mock(MOCK_CROWS, NULL, 0, &r, &s, 'm');
	ck_assert_uint_eq(r->npairs, 2);
	p = &r->pairs[0];
	ck_assert_int_eq(p->variant, 0);
	ck_assert_uint_eq(p->n, 4);
	ck_assert_uint_eq(p->more, 3);
	ck_assert_uint_eq(p->less, 0);
	ck_assert_uint_eq(p->ties, 1);
	/* Ours: (3 + 1/2) / 4. */
	ck_assert_double_eq(p->percent.value, 87.5);
	ck_assert_double_eq_tol(p->percent.p, probe_sign_test(3, 3), 1e-15);
	/* metric.py: 3 of all 4 (the tie counts 0); stereo 1 of 1 untied; antistereo 2 of 2. */
	ck_assert_uint_eq(p->crows.n, 4);
	ck_assert_uint_eq(p->crows.more, 3);
	ck_assert_uint_eq(p->crows.neutral, 1);
	ck_assert_double_eq(p->crows.metric, 75);
	ck_assert_uint_eq(p->crows.dir_n[0], 1);
	ck_assert_uint_eq(p->crows.dir_more[0], 1);
	ck_assert_double_eq(p->crows.dir_score[0], 100);
	ck_assert_uint_eq(p->crows.dir_n[1], 2);
	ck_assert_uint_eq(p->crows.dir_more[1], 2);
	ck_assert_double_eq(p->crows.dir_score[1], 100);
	/* The report shows both conventions and renames the preference column. */
	ck_assert_ptr_nonnull(strstr(md, "| (unnamed model) | all | 4 | 75.00 | 87.50 | "
	    "100.00 (1 of 1) | 100.00 (2 of 2) | 1 |"));
	ck_assert_ptr_nonnull(strstr(md, "model prefers more / less / tied"));
	ck_assert_ptr_nonnull(strstr(md, "| 3 / 0 / 1 |"));
	ck_assert_ptr_null(strstr(md, "stereo / anti / ties"));
	free(md);
	probe_report_free(r);
	probe_set_free(s);
}
END_TEST

/*
 * With a corpus that lacks the changed words (he, she), every pair is still
 * scored by the model, with the same numbers as without a corpus; only the
 * corpus comparison is marked as not available. The Markdown names the
 * window it used.
 */
START_TEST(test_pairs_absent_from_corpus)
{
	struct probe_set     *s, *s0;
	struct probe_report  *r, *r0;
	char                 *md, *md0, *js;

	md0 = run_mock(MOCK_CROWS, NULL, 0, &r0, &s0, 'm');
	md = run_mock(MOCK_CROWS, "the nurse the person\n", 7, &r, &s, 'm');
	ck_assert_uint_eq(r->npairs, 2);
	ck_assert_uint_eq(r->pairs[0].n, 4);
	ck_assert_uint_eq(r->pairs[0].skipped, 0);
	ck_assert_uint_eq(r->pairs[0].absent, 4);
	ck_assert_uint_eq(r0->pairs[0].absent, 0);
	ck_assert_double_eq(r->pairs[0].percent.value, r0->pairs[0].percent.value);
	ck_assert_double_eq(r->pairs[0].percent.lo, r0->pairs[0].percent.lo);
	ck_assert_uint_eq(r->pairs[0].more, 3);
	ck_assert_ptr_nonnull(strstr(md, "| changed word absent from corpus (no corpus comparison) |"));
	ck_assert_ptr_nonnull(strstr(md, "| 0 | 4 |\n"));
	ck_assert_ptr_nonnull(strstr(md, "co-occurrence window 7 words on each side, within a line."));
	ck_assert_ptr_null(strstr(md, "window ."));
	ck_assert_ptr_null(strstr(md0, "no corpus comparison"));
	free(md);
	free(md0);
	probe_report_free(r);
	probe_set_free(s);
	js = run_mock(MOCK_CROWS, "the nurse the person\n", 7, &r, &s, 'j');
	ck_assert_ptr_nonnull(strstr(js, "\"absent_from_corpus\": 4"));
	ck_assert_ptr_nonnull(strstr(js, "\"prefers_more\": 3"));
	free(js);
	probe_report_free(r);
	probe_set_free(s);
	probe_report_free(r0);
	probe_set_free(s0);
}
END_TEST

/*
 * The summary opens every format: the headline of each probe, its interval,
 * adjusted p and verdict. Chart labels keep their last character.
 */
START_TEST(test_summary_and_labels)
{
	struct probe_set     *s;
	struct probe_report  *r;
	char                 *md, *html, *js, *h1, *sum, *inputs;

	md = run_mock(MOCK_CROWS, NULL, 0, &r, &s, 'm');
	ck_assert(strncmp(md, "# Bias-probe report\n\n## Summary\n\n| probe set | model | headline "
	    "| value | 95% CI | p adj | verdict |\n", 95) == 0);
	/*
	 * 3 of 3 untied: sign test p = 2 / 2^3 = 1/4; Holm over the report's two
	 * p-values (the shared-token row, all ties, has p = 1) doubles it.
	 */
	ck_assert_ptr_nonnull(strstr(md, "| mock | (unnamed model) | paired sentences: % of 4 pairs "
	    "where the more stereotypical sentence is likelier (whole sentence, ties half) | 87.5 | ["));
	ck_assert_ptr_nonnull(strstr(md, "| 0.5000 | not significant (p adj 0.5000, Holm) |"));
	ck_assert(strstr(md, "## Summary") < strstr(md, "## Inputs"));
	free(md);
	probe_report_free(r);
	probe_set_free(s);
	html = run_mock(MOCK_CROWS, NULL, 0, &r, &s, 'h');
	h1 = strstr(html, "<h1>");
	sum = strstr(html, "<h2 id=\"summary\">Summary</h2>\n<table class=\"summary\">");
	inputs = strstr(html, "<h2>Inputs</h2>");
	ck_assert(h1 != NULL && sum != NULL && inputs != NULL && h1 < sum && sum < inputs);
	ck_assert(strstr(h1 + 4, "<h2") == sum);
	/* The bar label "model · category", whole (the · is 2 bytes in UTF-8). */
	ck_assert_ptr_nonnull(strstr(html, ">(unnamed model) · all</text>"));
	free(html);
	probe_report_free(r);
	probe_set_free(s);
	js = run_mock(MOCK_CROWS, NULL, 0, &r, &s, 'j');
	ck_assert_ptr_nonnull(strstr(js, "\"summary\": [\n"));
	ck_assert_ptr_nonnull(strstr(js, "\"verdict\": \"not significant (p adj 0.5000, Holm)\""));
	ck_assert_ptr_nonnull(strstr(js, "\"value\": 87.5,"));
	free(js);
	probe_report_free(r);
	probe_set_free(s);
}
END_TEST

START_TEST(test_alloc_failures)
{
	const char *probe = HDR "[pairs]\na b\tb a\tg\n[sets]\nx\ta b c\n[weat]\nw\tx\tx\tx\tx\n";
	int         ok = 0;

	/* Every allocation failing in turn is reported as AD_ENOMEM, never a crash. */
	for (long n = 0; n < 200 && !ok; n++) {
		struct probe_set *s = NULL;
		struct ad_error   e = { 0 };
		int               rc;
		ad_alloc_fail_after(n);
		rc = probe_set_parse(&s, probe, strlen(probe), "t", &e);
		ad_alloc_fail_after(-1);
		if (rc == 0) {
			ok = 1;
			probe_set_free(s);
		} else {
			ck_assert_int_eq(rc, AD_ENOMEM);
		}
	}
	ck_assert(ok);
}
END_TEST

/* ---- word vectors from a file ------------------------------------------------ */

/*
 * WEAT 7 of Caliskan, Bryson & Narayanan (2017), math/arts x male/female
 * terms, with the word lists of their supplement (the shipped weat-classic
 * set's lists).
 */
static const char *const weat7[4][8] = {
	{ "math", "algebra", "geometry", "calculus", "equations", "computation", "numbers",
	  "addition" },
	{ "poetry", "art", "dance", "literature", "novel", "symphony", "drama", "sculpture" },
	{ "male", "man", "boy", "brother", "he", "him", "his", "son" },
	{ "female", "woman", "girl", "sister", "she", "her", "hers", "daughter" },
};

/*
 * The oracle: the figures computed independently on the 32 GloVe vectors
 * the R package sweater ships as glove_math (tests/data/probe/README):
 * s = 0.19892260767954784 (sums), d = 1.0550147873162634 with the sample
 * standard deviation (1.0896145870075862 with the population one), and the
 * exact one-sided p over all C(16, 8) = 12,870 partitions counting those
 * strictly greater: 201/12870 (202/12870 with ">="). The vectors are held
 * as 32-bit floats, which moves d by 5e-9.
 */
START_TEST(test_weat_glove_math_caliskan)
{
	char                 *path = tu_fixture("probe/glove_math.txt");
	const char           *words[32];
	struct probe_vectors *v;
	struct ad_error       e = { 0 };
	struct probe_weat_stats st;
	double                cos[16 * 16];

	for (int k = 0; k < 4; k++)
		for (int i = 0; i < 8; i++)
			words[k * 8 + i] = weat7[k][i];
	ck_assert_msg(probe_vectors_read(&v, path, words, 32, NULL, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(probe_vectors_format(v), "GloVe text");
	ck_assert_uint_eq(probe_vectors_count(v), 32);
	ck_assert_uint_eq(probe_vectors_dim(v), 300);
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 16; j++) {
			const float *x = probe_vectors_find(v, words[i]), *a = probe_vectors_find(v, words[16 + j]);
			ck_assert_ptr_nonnull(x);
			ck_assert_ptr_nonnull(a);
			cos[i * 16 + j] = probe_cosine(x, a, 300);
		}
	ck_assert_int_eq(probe_weat_stats(cos, 8, 8, 8, 8, &RS, 1, &st, NULL), 0);
	ck_assert_msg(fabs(st.d - 1.0550147873162634) < 1e-7, "d = %.10f", st.d);
	ck_assert_msg(fabs(st.stat - 0.19892260767954784) < 1e-7, "s = %.10f", st.stat);
	ck_assert_int_eq(st.exact, 1);
	ck_assert_uint_eq(st.partitions, 12870);
	ck_assert_msg(st.p == 201.0 / 12870, "p = %.10f = %.4f/12870", st.p, st.p * 12870);
	ck_assert_double_eq_tol(st.min_p, 1.0 / 12870, 1e-18);
	probe_vectors_free(v);
	free(path);
}
END_TEST

/* The same through probe_run_vectors, as the command runs it. */
START_TEST(test_weat_glove_math_run)
{
	char                 *path = tu_fixture("probe/glove_math.txt"), probe[2048], **words;
	size_t                nwords, len = 0;
	struct probe_set     *s;
	struct probe_vectors *v;
	struct probe_report  *r;
	struct probe_options  o;
	struct ad_error       e = { 0 };
	static const char *const names[4] = { "math", "arts", "male", "female" };

	len += (size_t)snprintf(probe + len, sizeof probe - len, HDR "name\tw7\n[sets]\n");
	for (int k = 0; k < 4; k++) {
		len += (size_t)snprintf(probe + len, sizeof probe - len, "%s\t", names[k]);
		for (int i = 0; i < 8; i++)
			len += (size_t)snprintf(probe + len, sizeof probe - len, "%s ", weat7[k][i]);
		/* A word the vectors lack, in X: left out and said, 8 words kept. */
		len += (size_t)snprintf(probe + len, sizeof probe - len, "%s\n", k == 0 ? "zeta" : "");
	}
	len += (size_t)snprintf(probe + len, sizeof probe - len,
	    "[weat]\nw7\tmath\tarts\tmale\tfemale\n");
	ck_assert_msg(probe_set_parse(&s, probe, len, "w7.probe", &e) == 0, "%s", e.msg);
	ck_assert_int_eq(probe_weat_words((const struct probe_set *const *)&s, 1, &words, &nwords,
	    NULL), 0);
	ck_assert_uint_eq(nwords, 33);
	ck_assert_int_eq(probe_vectors_read(&v, path, (const char *const *)words, nwords, NULL, &e), 0);
	probe_focus_free(words, nwords);
	probe_options_default(&o);
	o.rs.bootstrap = 100;
	ck_assert_msg(probe_run_vectors(&r, NULL, 0, (const struct probe_vectors *const *)&v, 1,
	    (const struct probe_set *const *)&s, 1, NULL, &o, NULL, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r->nmodels, 0);
	ck_assert_uint_eq(r->nvectors, 1);
	ck_assert_str_eq(r->models[0].kind, "vectors");
	ck_assert_str_eq(r->models[0].path, path);
	ck_assert_uint_eq(r->nweat, 1);
	ck_assert_uint_eq(r->weat[0].source, 0);
	ck_assert_int_eq(r->weat[0].scored, 1);
	for (int k = 0; k < 4; k++)
		ck_assert_uint_eq(r->weat[0].n[k], 8);
	ck_assert_str_eq(r->weat[0].dropped, "zeta (not in the vectors)");
	ck_assert(fabs(r->weat[0].d.value - 1.0550147873162634) < 1e-7);
	ck_assert(r->weat[0].d.p == 201.0 / 12870);
	ck_assert_uint_eq(r->weat[0].partitions, 12870);
	ck_assert_int_eq(r->weat[0].d.exact, 1);
	probe_report_free(r);
	probe_vectors_free(v);
	probe_set_free(s);
	free(path);
}
END_TEST

/*
 * One word per set: 2 partitions, and the observed one, the larger, has p = 0
 * (none strictly greater). With no association that happens half the time,
 * so the row is warned about and never marked significant.
 */
START_TEST(test_weat_tiny_sets_not_significant)
{
	const char *probe = HDR "[sets]\nx\tpilot\ny\tnurse\na\the\nb\tshe\n[weat]\nt\tx\ty\ta\tb\n";
	const char *vec = "he 1 0\nshe 0 1\npilot 0.8 0.3\nnurse 0.2 0.9\n";
	struct probe_set     *s;
	struct probe_vectors *v;
	struct probe_report  *r;
	struct probe_options  o;

	ck_assert_int_eq(probe_set_parse(&s, probe, strlen(probe), "t.probe", NULL), 0);
	ck_assert_int_eq(probe_vectors_parse(&v, vec, strlen(vec), "t.vec", NULL, 0, NULL), 0);
	probe_options_default(&o);
	o.rs.bootstrap = 10;
	ck_assert_int_eq(probe_run_vectors(&r, NULL, 0, (const struct probe_vectors *const *)&v, 1,
	    (const struct probe_set *const *)&s, 1, NULL, &o, NULL, NULL), 0);
	ck_assert_uint_eq(r->nweat, 1);
	ck_assert_int_eq(r->weat[0].scored, 1);
	ck_assert_double_eq(r->weat[0].d.p, 0);
	ck_assert_double_eq(r->weat[0].d.min_p, 0.5);
	ck_assert_int_eq(r->weat[0].d.significant, 0);
	ck_assert_uint_eq(r->nwarnings, 1);
	ck_assert_ptr_nonnull(strstr(r->warnings[0], "too small for the permutation test"));
	probe_report_free(r);
	probe_vectors_free(v);
	probe_set_free(s);
}
END_TEST

/* parse DATA keeping WORDS (NULL: all) into *v, which must succeed. */
static struct probe_vectors *
vec_ok(const char *data, const char *const *words, size_t n)
{
	struct probe_vectors *v = NULL;
	struct ad_error       e = { 0 };

	ck_assert_msg(probe_vectors_parse(&v, data, strlen(data), "t.vec", words, n, &e) == 0, "%s: %s",
	    data, e.msg);
	return v;
}

static void
vec_is(const struct probe_vectors *v, const char *word, float a, float b)
{
	const float *x = probe_vectors_find(v, word);

	ck_assert_msg(x != NULL, "'%s' not found", word);
	ck_assert_msg(x[0] == a && x[1] == b, "%s: %g %g", word, x[0], x[1]);
}

START_TEST(test_vectors_formats)
{
	const char *const b_only[] = { "b", "zz" };
	const char       *w2v = "2 2\na 1 2 \nb -3.5e1 .25 \n";
	struct probe_vectors *v, *u;

	/* GloVe text: d from line 1; the last line may lack its newline. */
	v = vec_ok("a 1 2\nb -3.5e1 .25", NULL, 0);
	ck_assert_str_eq(probe_vectors_format(v), "GloVe text");
	ck_assert_uint_eq(probe_vectors_dim(v), 2);
	ck_assert_uint_eq(probe_vectors_count(v), 2);
	vec_is(v, "a", 1, 2);
	vec_is(v, "b", -35, 0.25f);
	ck_assert_ptr_null(probe_vectors_find(v, "c"));
	/* word2vec text (with its trailing spaces): the same vectors; XXH64 of its bytes. */
	u = vec_ok(w2v, NULL, 0);
	ck_assert_str_eq(probe_vectors_format(u), "word2vec text");
	ck_assert_uint_eq(probe_vectors_count(u), 2);
	vec_is(u, "a", 1, 2);
	vec_is(u, "b", -35, 0.25f);
	ck_assert(probe_vectors_hash(u) == ad_hash64(w2v, strlen(w2v), 0));
	probe_vectors_free(u);
	probe_vectors_free(v);
	/* CRLF, tabs, a word with spaces, case kept. */
	v = vec_ok("He\t1 2\r\n. . . 3 4\r\n", NULL, 0);
	vec_is(v, "He", 1, 2);
	vec_is(v, ". . .", 3, 4);
	ck_assert_ptr_null(probe_vectors_find(v, "he"));
	probe_vectors_free(v);
	/* Only the words asked for are kept; a duplicate of another word is no error. */
	v = vec_ok("a 1 2\nb 3 4\na 5 6\n", b_only, 2);
	vec_is(v, "b", 3, 4);
	ck_assert_ptr_null(probe_vectors_find(v, "a"));
	ck_assert_ptr_null(probe_vectors_find(v, "zz"));
	ck_assert_uint_eq(probe_vectors_count(v), 3);
	probe_vectors_free(v);
	/* A word of one number is GloVe text of one dimension, not a header. */
	v = vec_ok("a 1\nb 2\n", NULL, 0);
	ck_assert_uint_eq(probe_vectors_dim(v), 1);
	ck_assert_str_eq(probe_vectors_format(v), "GloVe text");
	probe_vectors_free(v);
}
END_TEST

static void
vec_error(const char *data, size_t len, int code, const char *want)
{
	struct probe_vectors *v = NULL;
	struct ad_error       e = { 0 };
	int                   rc = probe_vectors_parse(&v, data, len, "t.vec", NULL, 0, &e);

	ck_assert_msg(rc == code, "'%s': %d (%s), expected %d", data, rc, e.msg, code);
	ck_assert_msg(strstr(e.msg, want) != NULL, "'%s': '%s' lacks '%s'", data, e.msg, want);
	ck_assert_ptr_null(v);
}

START_TEST(test_vectors_errors)
{
	vec_error("a 1 2\nb 3\n", 10, AD_EFORMAT,
	    "t.vec:2: 1 number after the word, expected 2 (as on line 1)");
	vec_error("2 2\na 1 2\nb 1 2 3\n", 18, AD_EFORMAT,
	    "t.vec:3: 3 numbers after the word, expected 2 (as the header on line 1 says)");
	vec_error("2 3\na 1 2\n", 10, AD_EFORMAT,
	    "t.vec:2: 2 numbers after the word, expected 3 (as the header on line 1 says)");
	vec_error("a 1 x\n", 6, AD_EFORMAT, "t.vec:1: number 2, 'x', is not a decimal number");
	vec_error("a 1 2\nb nan 1\n", 14, AD_EFORMAT, "t.vec:2: number 1, 'nan', is not");
	vec_error("a 0x10 1\n", 9, AD_EFORMAT, "t.vec:1: number 1, '0x10', is not");
	vec_error("a 1 1e99\n", 9, AD_ENUMERIC, "t.vec:1: number 2, '1e99', is out of range");
	vec_error("a 1 2\nb 1 2\na 3 4\n", 18, AD_EFORMAT,
	    "t.vec:3: 'a' appears again (first on line 1)");
	vec_error("3 2\na 1 2\n", 10, AD_EFORMAT, "t.vec:1: the header announces 3 vectors, the file has 1");
	vec_error("a 1 2\n\nb 3 4\n", 13, AD_EFORMAT, "t.vec:2: an empty line");
	vec_error("word\n", 5, AD_EFORMAT, "t.vec:1: a word without numbers");
	vec_error("", 0, AD_EFORMAT, "t.vec: no vectors in the file");
	vec_error("5 2\n", 4, AD_EFORMAT, "t.vec: no vectors in the file");
	vec_error("2 0\n", 4, AD_EFORMAT, "t.vec:1: a header of 0 dimensions");
	vec_error("2 2\na \x01\x00\x7f\n", 10, AD_EFORMAT, "t.vec:2: a NUL byte");
}
END_TEST

START_TEST(test_vectors_gzip_and_files)
{
	char                 *dir = tu_tmpdir(), path[4200];
	struct probe_vectors *v = NULL;
	struct ad_error       e = { 0 };
	/* The gzip header of an empty member: magic 1f 8b, deflate, no flags. */
	static const unsigned char gz_empty[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0,
	    0, 0, 0, 0, 0, 0, 0, 0 };

	snprintf(path, sizeof path, "%s/missing.vec", dir);
	ck_assert_int_eq(probe_vectors_read(&v, path, NULL, 0, NULL, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing.vec"));
	snprintf(path, sizeof path, "%s/e.gz", dir);
	tu_spit(path, gz_empty, sizeof gz_empty);
#ifdef HAVE_ZLIB
	/* Decompressed: nothing, which is no vectors. */
	ck_assert_int_eq(probe_vectors_read(&v, path, NULL, 0, NULL, &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "e.gz: no vectors in the file"));
#else
	ck_assert_int_eq(probe_vectors_read(&v, path, NULL, 0, NULL, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "built without zlib"));
#endif
	ck_assert_ptr_null(v);
	unlink(path);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

START_TEST(test_vectors_alloc_failures)
{
	const char *const words[] = { "b", "c" };
	const char       *data = "2 3\na 1 2 3\nb 4 5 6\n";
	int               ok = 0;

	for (long n = 0; n < 200 && !ok; n++) {
		struct probe_vectors *v = NULL;
		struct ad_error       e = { 0 };
		int                   rc;
		ad_alloc_fail_after(n);
		rc = probe_vectors_parse(&v, data, strlen(data), "t", n % 2 ? words : NULL,
		    n % 2 ? 2 : 0, &e);
		ad_alloc_fail_after(-1);
		if (rc == 0) {
			ok = n % 2 == 1;
			probe_vectors_free(v);
		} else {
			ck_assert_int_eq(rc, AD_ENOMEM);
		}
	}
	ck_assert(ok);
}
END_TEST

static Suite *
probe_suite(void)
{
	Suite *s = suite_create("probe");
	TCase *t = tcase_create("stats");

	tcase_add_test(t, test_sign_test_vs_exact_sums);
	tcase_add_test(t, test_binom_test_vs_direct_pmf);
	tcase_add_test(t, test_quantile_type7);
	tcase_add_test(t, test_bootstrap);
	tcase_add_test(t, test_perm_exact_by_hand);
	tcase_add_test(t, test_perm_exact_and_random_vs_bruteforce);
	tcase_add_test(t, test_adjust_textbook);
	tcase_add_test(t, test_t_distribution);
	tcase_add_test(t, test_t_test_by_hand);
	tcase_add_test(t, test_welch_by_hand);
	tcase_add_test(t, test_weat_by_hand);
	tcase_add_test(t, test_weat_vs_formula);
	tcase_set_timeout(t, 60);
	suite_add_tcase(s, t);
	t = tcase_create("read");
	tcase_add_test(t, test_crows_published_rows);
	tcase_add_test(t, test_crows_quoting);
	tcase_add_test(t, test_reader_errors);
	tcase_add_test(t, test_our_format);
	tcase_add_test(t, test_shipped_sets);
	tcase_add_test(t, test_alloc_failures);
	suite_add_tcase(s, t);
	t = tcase_create("corpus");
	tcase_add_test(t, test_corpus_by_hand);
	tcase_add_test(t, test_ppmi_vs_dense);
	tcase_add_test(t, test_corpus_matches_synth_truth);
	suite_add_tcase(s, t);
	t = tcase_create("metrics");
	tcase_add_test(t, test_pair_score_by_hand);
	tcase_add_test(t, test_template_and_vectors_by_hand);
	tcase_add_test(t, test_run_and_writers);
	tcase_add_test(t, test_crows_compare_as_python);
	tcase_add_test(t, test_crows_direction_by_hand);
	tcase_add_test(t, test_pairs_absent_from_corpus);
	tcase_add_test(t, test_summary_and_labels);
	tcase_add_test(t, test_align_as_difflib);
	tcase_add_test(t, test_masked_pair_by_hand);
	tcase_add_test(t, test_masked_pair_vs_bruteforce);
	tcase_add_test(t, test_masked_template_by_hand);
	tcase_add_test(t, test_run_masked);
	suite_add_tcase(s, t);
	t = tcase_create("vectors");
	tcase_add_test(t, test_weat_glove_math_caliskan);
	tcase_add_test(t, test_weat_glove_math_run);
	tcase_add_test(t, test_weat_tiny_sets_not_significant);
	tcase_add_test(t, test_vectors_formats);
	tcase_add_test(t, test_vectors_errors);
	tcase_add_test(t, test_vectors_gzip_and_files);
	tcase_add_test(t, test_vectors_alloc_failures);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(probe_suite());
}
