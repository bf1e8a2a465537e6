/*
 * check_rf.c — the random-feature model: the solver against an independent
 * pseudo-inverse, the feature map against the kernel it approximates, and
 * the double-descent shape on a tiny deterministic case.
 *
 * Oracles: the minimum-norm solution computed a different way — modified
 * Gram-Schmidt QR of the (weighted) feature matrix itself, in long double,
 * never forming a Gram matrix or calling the module's Cholesky (for F < n,
 * w = R^-1 Q' D Y with X = Q R; for F > n, w = Q R^-T D Y with X' = Q R);
 * Rahimi and Recht's theorem for random Fourier features (the mean of
 * phi(x).phi(x') is exp(-sd^2 |x - x'|^2 / 2)); and Belkin et al.'s
 * prediction that the held-out loss of the minimum-norm model peaks where
 * the features equal the training samples.
 */
#include "config.h"

#include <math.h>
#include <sys/resource.h>

#include "rf/rf.h"
#include "testutil.h"

#define PI 3.14159265358979323846

/* ---- the long-double QR oracle ---- */

/*
 * Modified Gram-Schmidt on the columns of A (r, c), r >= c, row-major:
 * Q (r, c) with orthonormal columns, R (c, c) upper triangular, A = Q R.
 */
static void
mgs(const long double *A, size_t r, size_t c, long double *Q, long double *R)
{
	memcpy(Q, A, r * c * sizeof *Q);
	memset(R, 0, c * c * sizeof *R);
	for (size_t j = 0; j < c; j++) {
		long double s = 0;

		for (size_t i = 0; i < r; i++)
			s += Q[i * c + j] * Q[i * c + j];
		R[j * c + j] = sqrtl(s);
		ck_assert(R[j * c + j] > 0);
		for (size_t i = 0; i < r; i++)
			Q[i * c + j] /= R[j * c + j];
		for (size_t q = j + 1; q < c; q++) {
			long double d = 0;

			for (size_t i = 0; i < r; i++)
				d += Q[i * c + j] * Q[i * c + q];
			R[j * c + q] = d;
			for (size_t i = 0; i < r; i++)
				Q[i * c + q] -= d * Q[i * c + j];
		}
	}
}

/* w (F, k) = pinv(D phi) D Y by QR, for phi (n, F) of full rank min(n, F). */
static void
minnorm_qr(const double *phi, size_t n, size_t F, const double *weight, const double *Y,
           size_t k, long double *w)
{
	int          dual = F > n;
	size_t       r = dual ? F : n, c = dual ? n : F;
	long double *A = malloc(r * c * sizeof *A), *Q = malloc(r * c * sizeof *Q);
	long double *R = malloc(c * c * sizeof *R), *DY = malloc(n * k * sizeof *DY);
	long double *z = malloc(c * k * sizeof *z);

	for (size_t i = 0; i < n; i++) {
		long double s = weight ? sqrtl(weight[i]) : 1;

		for (size_t f = 0; f < F; f++)
			A[dual ? f * n + i : i * F + f] = s * phi[i * F + f];
		for (size_t j = 0; j < k; j++)
			DY[i * k + j] = s * Y[i * k + j];
	}
	mgs(A, r, c, Q, R);
	if (!dual) {
		/* R w = Q' D Y, back substitution. */
		for (size_t j = 0; j < k; j++)
			for (size_t a = F; a-- > 0;) {
				long double s = 0;

				for (size_t i = 0; i < n; i++)
					s += Q[i * F + a] * DY[i * k + j];
				for (size_t b = a + 1; b < F; b++)
					s -= R[a * F + b] * w[b * k + j];
				w[a * k + j] = s / R[a * F + a];
			}
	} else {
		/* R' z = D Y, forward substitution; w = Q z. */
		for (size_t j = 0; j < k; j++)
			for (size_t a = 0; a < n; a++) {
				long double s = DY[a * k + j];

				for (size_t b = 0; b < a; b++)
					s -= R[b * n + a] * z[b * k + j];
				z[a * k + j] = s / R[a * n + a];
			}
		for (size_t f = 0; f < F; f++)
			for (size_t j = 0; j < k; j++) {
				long double s = 0;

				for (size_t a = 0; a < n; a++)
					s += Q[f * n + a] * z[a * k + j];
				w[f * k + j] = s;
			}
	}
	free(A);
	free(Q);
	free(R);
	free(DY);
	free(z);
}

/* A small pseudo-random generator of the test's own (xorshift64*). */
static uint64_t
xs(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Features of n random contexts, weights in 1..3, random targets Y (n, k). */
static void
problem(struct rf_config *c, size_t n, uint32_t V, double *phi, double *weight, double *Y,
        size_t k, uint64_t seed)
{
	uint32_t      *ctx = malloc(n * c->context * sizeof *ctx);
	struct ad_error e = { 0 };

	for (size_t i = 0; i < n * c->context; i++)
		ctx[i] = (uint32_t)(xs(&seed) % V);
	ck_assert_int_eq(rf_features(c, ctx, n, V, phi, &e), 0);
	for (size_t i = 0; i < n; i++) {
		weight[i] = 1 + (double)(xs(&seed) % 3);
		for (size_t j = 0; j < k; j++)
			Y[i * k + j] = (double)(xs(&seed) % 1000) / 1000.0;
	}
	free(ctx);
}

static void
check_solver(size_t n, size_t F, enum rf_act act, uint32_t embed)
{
	struct rf_config c = { .context = 2, .features = (uint32_t)F, .embed = embed,
	                       .act = act, .seed = 7, .threads = 2 };
	size_t           k = 3;
	uint32_t         V = 1000;   /* contexts all distinct: Phi of full rank */
	double          *phi = malloc(n * F * sizeof *phi), *weight = malloc(n * sizeof *weight);
	double          *Y = malloc(n * k * sizeof *Y), *w = malloc(F * k * sizeof *w), jit = -1;
	long double     *ref = malloc(F * k * sizeof *ref), maxref = 0, maxdiff = 0;
	struct ad_error  e = { 0 };

	problem(&c, n, V, phi, weight, Y, k, 0x1234 + n * 31 + F);
	ck_assert_int_eq(rf_minnorm(phi, n, F, weight, Y, k, 2, w, &jit, &e), 0);
	ck_assert_msg(jit == 0, "n %zu F %zu: jitter %g", n, F, jit);
	minnorm_qr(phi, n, F, weight, Y, k, ref);
	for (size_t i = 0; i < F * k; i++) {
		long double d = fabsl(ref[i] - w[i]);

		maxdiff = d > maxdiff ? d : maxdiff;
		maxref = fabsl(ref[i]) > maxref ? fabsl(ref[i]) : maxref;
	}
	ck_assert_msg(maxdiff <= 1e-7 * maxref, "n %zu F %zu: |w - w_qr| %Lg, |w_qr| %Lg", n, F,
	              maxdiff, maxref);
	if (F > n) {
		/* The interpolation property, computed from phi and w alone. */
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < k; j++) {
				double s = 0;

				for (size_t f = 0; f < F; f++)
					s += phi[i * F + f] * w[f * k + j];
				ck_assert_msg(fabs(s - Y[i * k + j]) < 1e-7, "row %zu: %g vs %g", i, s,
				              Y[i * k + j]);
			}
	}
	free(phi);
	free(weight);
	free(Y);
	free(w);
	free(ref);
}

START_TEST(test_solver_primal)
{
	check_solver(60, 17, RF_RELU, 0);
	check_solver(70, 40, RF_FOURIER, 8);
}
END_TEST

START_TEST(test_solver_dual)
{
	check_solver(20, 55, RF_RELU, 0);
	check_solver(30, 90, RF_FOURIER, 4);
	/* Square: F = n, the singular point, still well enough posed here. */
	check_solver(24, 24, RF_FOURIER, 0);
}
END_TEST

/*
 * Rahimi and Recht (2007), claim 1: for W ~ N(0, sd^2 I), b ~ U[0, 2 pi),
 * E[2 cos(w.x + b) cos(w.x' + b)] = exp(-sd^2 |x - x'|^2 / 2). One-hot
 * contexts of 2 tokens differing in d positions are |x - x'|^2 = 2d apart,
 * sd^2 = scale^2 / context = 1/2: the kernel is exp(-d / 2).
 */
START_TEST(test_fourier_kernel)
{
	struct rf_config c = { .context = 2, .features = 40000, .act = RF_FOURIER, .seed = 3,
	                       .threads = 2 };
	uint32_t         ctx[] = { 5, 9, 5, 11, 12, 13 };   /* x; one token off; both off */
	size_t           F = c.features;
	double          *phi = malloc(3 * F * sizeof *phi), dots[3] = { 0, 0, 0 };
	struct ad_error  e = { 0 };

	ck_assert_int_eq(rf_features(&c, ctx, 3, 20, phi, &e), 0);
	for (size_t f = 0; f < F; f++)
		for (size_t q = 0; q < 3; q++)
			dots[q] += phi[f] * phi[q * F + f];
	/* Standard error ~ 1/sqrt(2F) = 0.0035: 0.02 is over five of them. */
	ck_assert_msg(fabs(dots[0] - 1.0) < 0.02, "k(x, x) = %g", dots[0]);
	ck_assert_msg(fabs(dots[1] - exp(-0.5)) < 0.02, "k(x, x') = %g vs %g", dots[1], exp(-0.5));
	ck_assert_msg(fabs(dots[2] - exp(-1.0)) < 0.02, "k(x, x'') = %g vs %g", dots[2], exp(-1.0));
	free(phi);
}
END_TEST

/*
 * Cho and Saul (2009), equations 3 and 6: for w ~ N(0, I),
 * E[relu(w.x) relu(w.y)] = |x| |y| (sin a + (pi - a) cos a) / (2 pi), a the
 * angle between x and y. The features are relu(w.x + b) with (w, b) ~
 * N(0, sd^2): the kernel of (x, 1) and (y, 1), times sd^2. One-hot
 * contexts of 2 tokens: |(x, 1)|^2 = 3, (x, 1).(y, 1) = 1 + shared tokens.
 */
static double
arccos1(double xy, double xx, double yy)
{
	double a = acos(xy / sqrt(xx * yy));

	return sqrt(xx * yy) * (sin(a) + (PI - a) * cos(a)) / (2 * PI);
}

START_TEST(test_relu_kernel)
{
	struct rf_config c = { .context = 2, .features = 40000, .act = RF_RELU, .seed = 4,
	                       .threads = 2 };
	uint32_t         ctx[] = { 5, 9, 5, 11, 12, 13 };
	size_t           F = c.features;
	double          *phi = malloc(3 * F * sizeof *phi), dots[3] = { 0, 0, 0 }, sd2 = 0.5;
	double           want[3] = { sd2 * arccos1(3, 3, 3), sd2 * arccos1(2, 3, 3),
	                             sd2 * arccos1(1, 3, 3) };
	struct ad_error  e = { 0 };

	ck_assert_int_eq(rf_features(&c, ctx, 3, 20, phi, &e), 0);
	for (size_t f = 0; f < F; f++)
		for (size_t q = 0; q < 3; q++)
			dots[q] += phi[f] * phi[q * F + f];
	/* relu(z)^2 has mean sd2 * 3 / 2 and a relative standard deviation
	 * of about 2.2: over 40,000 features, 1.1% — 4% is over three. */
	for (size_t q = 0; q < 3; q++)
		ck_assert_msg(fabs(dots[q] - want[q]) < 0.04 * want[0], "k %zu: %g vs %g", q,
		              dots[q], want[q]);
	free(phi);
}
END_TEST

/* The first F features of a wider model are the narrower model's (up to 1/sqrt(F)). */
START_TEST(test_features_nested)
{
	struct rf_config a = { .context = 3, .features = 10, .embed = 6, .seed = 9, .threads = 1 };
	struct rf_config b = a;
	uint32_t         ctx[] = { 1, 2, 3, 4, 0, 6 };
	double           pa[20], pb[2 * 25];
	struct ad_error  e = { 0 };

	b.features = 25;
	b.threads = 2;
	ck_assert_int_eq(rf_features(&a, ctx, 2, 7, pa, &e), 0);
	ck_assert_int_eq(rf_features(&b, ctx, 2, 7, pb, &e), 0);
	for (size_t i = 0; i < 2; i++)
		for (size_t f = 0; f < 10; f++)
			ck_assert(fabs(pa[i * 10 + f] * sqrt(10.0) - pb[i * 25 + f] * sqrt(25.0)) < 1e-12);
}
END_TEST

/*
 * A tiny deterministic language: token t is the sum of the two before it
 * mod V with probability 1/2, else a uniform token.
 */
static uint32_t *
stream(size_t N, uint32_t V, uint64_t seed)
{
	uint32_t *t = malloc(N * sizeof *t);

	t[0] = 0;
	t[1] = 1;
	for (size_t i = 2; i < N; i++)
		t[i] = xs(&seed) % 2 ? (t[i - 1] + t[i - 2]) % V : (uint32_t)(xs(&seed) % V);
	return t;
}

START_TEST(test_double_descent)
{
	static const double ratio[] = { 0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.5, 2.0, 4.0 };
	enum { NR = sizeof ratio / sizeof ratio[0] };
	uint32_t         V = 40, *train = stream(123, V, 11), *test = stream(603, V, 12);
	struct rf_config c = { .context = 3, .act = RF_RELU, .seed = 5, .threads = 2 };
	struct rf_result r[NR];
	struct ad_error  e = { 0 };
	size_t           n, peak = 0;

	/* 120 training samples, all contexts distinct: the threshold is F = 120. */
	c.features = 10;
	ck_assert_int_eq(rf_run(&c, train, 123, test, 603, V, &r[0], &e), 0);
	n = r[0].n_train;
	ck_assert_uint_eq(n, 120);
	ck_assert_uint_eq(r[0].n_distinct, n);
	ck_assert_uint_eq(r[0].n_test, 600);
	for (size_t i = 0; i < NR; i++) {
		c.features = (uint32_t)lround(ratio[i] * (double)n);
		ck_assert_msg(rf_run(&c, train, 123, test, 603, V, &r[i], &e) == 0, "%s", e.msg);
		if (r[i].test_mse > r[peak].test_mse)
			peak = i;
		/* Training loss falls with F, and is ~0 past the threshold. */
		if (i > 0 && ratio[i] <= 1.0)
			ck_assert_msg(r[i].train_mse < r[i - 1].train_mse, "F %u: train %g", c.features,
			              r[i].train_mse);
		if (ratio[i] >= 1.0) {
			ck_assert_msg(r[i].train_mse < 1e-6, "F %u: train %g", c.features,
			              r[i].train_mse);
			ck_assert(r[i].train_err == 0);
			ck_assert(r[i].dual);
		}
	}
	ck_assert_msg(ratio[peak] == 1.0, "the held-out loss peaks at F = %g n, not at n",
	              ratio[peak]);
	ck_assert(r[NR - 1].test_mse < r[4].test_mse);
	free(train);
	free(test);
}
END_TEST

/*
 * The kernel limit is where the features go: on the tiny language, the
 * held-out squared loss and the readout norm of the minimum-norm fit
 * approach rf_limit's as F grows — within 3% at F = 6000 (50 n), and at
 * least twice as close as at F = 1500 (the gap shrinks about as 1/F).
 */
START_TEST(test_limit)
{
	uint32_t         V = 40, *train = stream(123, V, 11), *test = stream(603, V, 12);
	struct rf_config c = { .context = 3, .seed = 5, .threads = 2 };
	struct rf_result a, b, lim;
	struct ad_error  e = { 0 };

	for (int act = 0; act < 2; act++) {
		c.act = act ? RF_FOURIER : RF_RELU;
		ck_assert_msg(rf_limit(&c, train, 123, test, 603, V, &lim, &e) == 0, "%s", e.msg);
		ck_assert(lim.train_mse < 1e-9);
		ck_assert(lim.jitter == 0);
		c.features = 1500;
		ck_assert_int_eq(rf_run(&c, train, 123, test, 603, V, &a, &e), 0);
		c.features = 6000;
		ck_assert_int_eq(rf_run(&c, train, 123, test, 603, V, &b, &e), 0);
		ck_assert_msg(fabs(b.test_mse - lim.test_mse) < 0.03 * lim.test_mse
		              && fabs(b.test_mse - lim.test_mse) < fabs(a.test_mse - lim.test_mse) / 2,
		              "%s: F = 1500 %g, F = 6000 %g, limit %g", act ? "fourier" : "relu",
		              a.test_mse, b.test_mse, lim.test_mse);
		ck_assert_msg(fabs(b.norm - lim.norm) < 0.03 * lim.norm
		              && fabs(b.norm - lim.norm) < fabs(a.norm - lim.norm) / 2,
		              "norm %g, %g, limit %g", a.norm, b.norm, lim.norm);
	}
	free(train);
	free(test);
}
END_TEST

/*
 * rf_memory bounds what a run really takes: the growth of the process's
 * peak resident set over a run (every large buffer is written) stays
 * below the estimate, on either side of the threshold, one-hot and
 * embedded. Under a sanitizer or valgrind the resident set holds their
 * shadow memory too, so there only the runs are checked.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RSS_MEANINGFUL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RSS_MEANINGFUL 0
#endif
#endif
#ifndef RSS_MEANINGFUL
#define RSS_MEANINGFUL 1
#endif

START_TEST(test_memory_bound)
{
	static const uint32_t F[] = { 1600, 400, 1200 };
	uint32_t         V = 2000, *train = stream(803, V, 21), *test = stream(203, V, 22);
	struct rf_config c = { .context = 2, .seed = 3, .threads = 2 };
	struct rf_result r;
	struct ad_error  e = { 0 };
	const char      *pre = getenv("LD_PRELOAD");
	int              check = RSS_MEANINGFUL && !(pre && strstr(pre, "vgpreload"));

	for (size_t i = 0; i < 3; i++) {
		struct rusage u0, u1;
		size_t        est;

		c.features = F[i];
		c.embed = i == 2 ? 16 : 0;
		est = rf_memory(&c, 803, 203, V);
		getrusage(RUSAGE_SELF, &u0);
		ck_assert_int_eq(rf_run(&c, train, 803, test, 203, V, &r, &e), 0);
		getrusage(RUSAGE_SELF, &u1);
		ck_assert_msg(!check || (size_t)(u1.ru_maxrss - u0.ru_maxrss) * 1024 <= est,
		              "F %u: peak grew %ld KB, estimate %zu KB", F[i],
		              u1.ru_maxrss - u0.ru_maxrss, est / 1024);
	}
	free(train);
	free(test);
}
END_TEST

/* Same configuration, same bytes, whatever the thread count. */
START_TEST(test_threads)
{
	uint32_t         V = 24, *train = stream(203, V, 1), *test = stream(103, V, 2);
	struct rf_config c = { .context = 2, .features = 150, .embed = 5, .act = RF_FOURIER,
	                       .label_noise = 0.2, .seed = 8, .threads = 1 };
	struct rf_result a, b;
	struct ad_error  e = { 0 };

	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	ck_assert_int_eq(rf_run(&c, train, 203, test, 103, V, &a, &e), 0);
	c.threads = 2;
	ck_assert_int_eq(rf_run(&c, train, 203, test, 103, V, &b, &e), 0);
	ck_assert(memcmp(&a, &b, sizeof a) == 0);
	free(train);
	free(test);
}
END_TEST

/*
 * Label noise: each training target is redrawn with probability p and
 * changes with probability p (1 - 1/V); the count stays within four
 * standard deviations of that.
 */
START_TEST(test_label_noise)
{
	uint32_t         V = 10, *train = stream(2003, V, 3), *test = stream(53, V, 4);
	struct rf_config c = { .context = 1, .features = 20, .seed = 8, .threads = 2 };
	struct rf_result r;
	struct ad_error  e = { 0 };
	double           p = 0.3, q = p * (1 - 1.0 / V), mean = 2000 * q;

	ck_assert_int_eq(rf_run(&c, train, 2003, test, 53, V, &r, &e), 0);
	ck_assert_uint_eq(r.noisy, 0);
	c.label_noise = p;
	ck_assert_int_eq(rf_run(&c, train, 2003, test, 53, V, &r, &e), 0);
	ck_assert_msg(fabs((double)r.noisy - mean) < 4 * sqrt(2000 * q * (1 - q)), "%zu noisy",
	              r.noisy);
	free(train);
	free(test);
}
END_TEST

/*
 * Hand-worked losses. One context token, V = 3; the training stream
 * 0 1 0 2 gives samples 0->1, 1->0, 0->2: two distinct contexts, and with
 * F >= 2 the readout interpolates the mean targets: context 0 scores
 * (0, 1/2, 1/2), context 1 scores (1, 0, 0). Squared loss: context 0's two
 * samples each |(0, .5, .5) - e|^2 = 0.5, context 1's is 0: 1/3 per sample.
 * Argmax: context 0 ties 1 and 2 and picks 1 (smaller id): one error in
 * three. Log-loss: p(1 | 0) = p(2 | 0) = (0.5 + f) / (1 + 3 f), p(0 | 1) =
 * (1 + f) / (1 + 3 f), f = 1e-3.
 */
START_TEST(test_hand_losses)
{
	uint32_t         train[] = { 0, 1, 0, 2 }, test[] = { 1, 0, 1 };
	struct rf_config c = { .context = 1, .features = 8, .seed = 1, .threads = 1 };
	struct rf_result r;
	struct ad_error  e = { 0 };
	double           f = 1e-3, ll;

	ck_assert_int_eq(rf_run(&c, train, 4, test, 3, 3, &r, &e), 0);
	ck_assert_uint_eq(r.n_train, 3);
	ck_assert_uint_eq(r.n_distinct, 2);
	ck_assert_uint_eq(r.classes, 3);
	ck_assert(fabs(r.train_mse - 1.0 / 3) < 1e-9);
	ck_assert(fabs(r.train_err - 1.0 / 3) < 1e-12);
	ll = -(2 * log((0.5 + f) / (1 + 3 * f)) + log((1 + f) / (1 + 3 * f))) / 3;
	ck_assert_msg(fabs(r.train_logloss - ll) < 1e-9, "%g vs %g", r.train_logloss, ll);
	/* Held out: 1->0 (scores (1,0,0): right, loss 0), 0->1 (right by the
	 * tie, loss 0.5): squared loss 1/4, error 0. */
	ck_assert_uint_eq(r.n_test, 2);
	ck_assert(fabs(r.test_mse - 0.25) < 1e-9);
	ck_assert(r.test_err == 0);
}
END_TEST

START_TEST(test_bad_input)
{
	uint32_t         t[] = { 0, 1, 2, 3, 4 };
	struct rf_config c = { .context = 1, .features = 4, .seed = 1 };
	struct rf_result r;
	struct ad_error  e = { 0 };
	size_t           mem;

	c.label_noise = 1.5;
	ck_assert_int_eq(rf_run(&c, t, 5, t, 5, 5, &r, &e), AD_EINVAL);
	ck_assert(strstr(e.msg, "label noise 1.5 is outside [0, 1]") != NULL);
	c.label_noise = 0;
	c.context = 5;
	ck_assert_int_eq(rf_run(&c, t, 5, t, 5, 5, &r, &e), AD_EDATA);
	c.context = 0;
	ck_assert_int_eq(rf_run(&c, t, 5, t, 5, 5, &r, &e), AD_EINVAL);
	c.context = 1;
	ck_assert_int_eq(rf_run(&c, t, 5, t, 5, 4, &r, &e), AD_EINVAL);
	ck_assert(strstr(e.msg, "token 4 is 4, not below V = 4") != NULL);
	{
		enum rf_act a = RF_RELU;

		ck_assert_int_eq(rf_act_parse("fourier", &a, &e), 0);
		ck_assert_int_eq(a, RF_FOURIER);
		ck_assert_str_eq(rf_act_name(a), "fourier");
		ck_assert_int_eq(rf_act_parse("relu", &a, &e), 0);
		ck_assert_str_eq(rf_act_name(a), "relu");
		ck_assert_int_eq(rf_act_parse("tanh", &a, &e), AD_EINVAL);
		ck_assert_str_eq(e.msg, "rf: unknown nonlinearity 'tanh': relu or fourier");
	}
	/* The memory estimate grows with the features and saturates. */
	mem = rf_memory(&c, 1000, 10, 50);
	c.features = 400;
	ck_assert(mem < rf_memory(&c, 1000, 10, 50));
	c.features = UINT32_MAX;
	ck_assert(rf_memory(&c, SIZE_MAX / 2, 10, 50) == SIZE_MAX);
}
END_TEST

static Suite *
rf_suite(void)
{
	Suite *s = suite_create("rf");
	TCase *t = tcase_create("rf");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_solver_primal);
	tcase_add_test(t, test_solver_dual);
	tcase_add_test(t, test_fourier_kernel);
	tcase_add_test(t, test_relu_kernel);
	tcase_add_test(t, test_features_nested);
	tcase_add_test(t, test_limit);
	tcase_add_test(t, test_double_descent);
	tcase_add_test(t, test_threads);
	tcase_add_test(t, test_memory_bound);
	tcase_add_test(t, test_label_noise);
	tcase_add_test(t, test_hand_losses);
	tcase_add_test(t, test_bad_input);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(rf_suite());
}
