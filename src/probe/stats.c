/*
 * stats.c — the statistics behind every number of a bias report: exact
 * binomial and sign tests, percentile bootstrap, permutation and sign-flip
 * tests, multiple-comparison adjustment, and the WEAT effect size. See
 * probe.h for the definitions; each function cites its source.
 *
 * Resampling draws from PCG32 (base/rng.h) seeded with (seed, stream), so
 * a report that stores its seed and each number's stream can be
 * reproduced bit for bit.
 */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "probe/probe.h"

double
probe_lchoose(uint64_t n, uint64_t k)
{
	if (k > n)
		return -INFINITY;
	return lgamma((double)n + 1) - lgamma((double)k + 1) - lgamma((double)(n - k) + 1);
}

double
probe_choose(uint64_t n, uint64_t k)
{
	double c = 1;

	if (k > n)
		return 0;
	if (k > n - k)
		k = n - k;
	/* C(n, k) = prod_{i=1..k} (n - k + i) / i; exact while it fits 2^53. */
	for (uint64_t i = 1; i <= k; i++)
		c = c * (double)(n - k + i) / (double)i;
	return nearbyint(c) < 9007199254740992.0 ? nearbyint(c) : c;
}

/* ln of the binomial probability of k in n at p0 (0 < p0 < 1). */
static double
binom_lpmf(uint64_t k, uint64_t n, double p0)
{
	return probe_lchoose(n, k) + (double)k * log(p0) + (double)(n - k) * log1p(-p0);
}

double
probe_binom_test(uint64_t k, uint64_t n, double p0)
{
	double d, p = 0;

	assert(k <= n);
	if (n == 0)
		return 1;
	if (p0 <= 0)
		return k == 0 ? 1 : 0;
	if (p0 >= 1)
		return k == n ? 1 : 0;
	/*
	 * R's binom.test: the p-value is the total probability of the outcomes
	 * whose probability does not exceed that of the observed one, with a
	 * relative tolerance so that exactly symmetric outcomes count.
	 */
	d = binom_lpmf(k, n, p0) + log1p(1e-7);
	for (uint64_t i = 0; i <= n; i++) {
		double l = binom_lpmf(i, n, p0);
		if (l <= d)
			p += exp(l);
	}
	return p > 1 ? 1 : p;
}

double
probe_sign_test(uint64_t k, uint64_t n)
{
	uint64_t lo;
	double   p = 0;

	assert(k <= n);
	if (n == 0)
		return 1;
	/* Symmetric at 1/2: twice the smaller tail (Conover 1999, sec. 3.4). */
	lo = k < n - k ? k : n - k;
	for (uint64_t i = 0; i <= lo; i++)
		p += exp(probe_lchoose(n, i) - (double)n * M_LN2);
	p *= 2;
	return p > 1 ? 1 : p;
}

double
probe_mean(const double *v, size_t n)
{
	double s = 0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return s / (double)n;
}

double
probe_sd(const double *v, size_t n)
{
	double m, s = 0;

	if (n < 2)
		return NAN;
	m = probe_mean(v, n);
	for (size_t i = 0; i < n; i++)
		s += (v[i] - m) * (v[i] - m);
	return sqrt(s / (double)(n - 1));
}

double
probe_quantile_sorted(const double *v, size_t n, double q)
{
	double h, f;
	size_t i;

	assert(n > 0);
	/* Hyndman & Fan (1996) definition 7: h = (n - 1) q. */
	h = (double)(n - 1) * q;
	i = (size_t)floor(h);
	f = h - (double)i;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + f * (v[i + 1] - v[i]);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
probe_bootstrap(probe_statfn f, void *ctx, size_t n, uint32_t B, uint64_t seed, uint64_t stream,
    double level, double *lo, double *hi, double *fraction_le0, struct ad_error *e)
{
	struct ad_rng rng;
	size_t       *idx;
	double       *stat;
	size_t        defined = 0, le0 = 0;

	*lo = *hi = NAN;
	if (fraction_le0 != NULL)
		*fraction_le0 = NAN;
	if (n == 0 || B == 0)
		return 0;
	if (n > UINT32_MAX)
		return ad_fail(e, AD_EINVAL, "bootstrap of %zu items: too many", n);
	idx = ad_mallocarray(n, sizeof *idx);
	stat = ad_mallocarray(B, sizeof *stat);
	if (idx == NULL || stat == NULL) {
		ad_free(idx);
		ad_free(stat);
		return ad_fail(e, AD_ENOMEM, "out of memory for the bootstrap");
	}
	ad_rng_seed(&rng, seed, stream);
	for (uint32_t b = 0; b < B; b++) {
		double s;
		for (size_t i = 0; i < n; i++)
			idx[i] = ad_rng_below(&rng, (uint32_t)n);
		s = f(idx, n, ctx);
		if (!isnan(s)) {
			stat[defined++] = s;
			le0 += s <= 0;
		}
	}
	if (defined > 0) {
		qsort(stat, defined, sizeof *stat, cmp_double);
		*lo = probe_quantile_sorted(stat, defined, (1 - level) / 2);
		*hi = probe_quantile_sorted(stat, defined, 1 - (1 - level) / 2);
		if (fraction_le0 != NULL)
			*fraction_le0 = (double)le0 / (double)defined;
	}
	ad_free(idx);
	ad_free(stat);
	return 0;
}

/*
 * A tolerance for "statistic > observed" that absorbs summation order: a
 * partition whose sum equals the observed one up to rounding is a tie, not
 * a larger statistic.
 */
static double
perm_tolerance(const double *v, size_t n)
{
	double s = 0;

	for (size_t i = 0; i < n; i++)
		s += fabs(v[i]);
	return 1e-10 * (s + 1e-300);
}

int
probe_perm_test(const double *v, size_t nx, size_t ny, const struct probe_resampling *r,
    uint64_t stream, double *p, int *exact, uint64_t *count, double *min_p, struct ad_error *e)
{
	size_t  N = nx + ny, *c;
	double  obs = 0, tol, parts;
	uint64_t hits = 0;

	if (nx == 0 || ny == 0)
		return ad_fail(e, AD_EDATA, "a permutation test needs two non-empty sets");
	for (size_t i = 0; i < nx; i++)
		obs += v[i];
	/*
	 * sum_X - sum_Y = 2 sum_X - (sum of all N, the same for every
	 * partition): comparing sum_X is enough. A partition counts when its
	 * statistic is strictly greater than the observed one, as Caliskan et
	 * al. (2017) define p = Pr_i[s(X_i, Y_i, A, B) > s(X, Y, A, B)]: the
	 * observed partition and ties with it are not counted. On their GloVe
	 * vectors of WEAT 7 this gives 201/12870; ">=" would give 202/12870.
	 */
	tol = perm_tolerance(v, N);
	parts = probe_choose(N, nx);
	if ((c = ad_mallocarray(N, sizeof *c)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for the permutation test");
	if (parts <= (double)r->max_exact) {
		/* Every nx-subset, in lexicographic order (Knuth 7.2.1.3, alg. L's order). */
		uint64_t n_parts = 0;
		for (size_t i = 0; i < nx; i++)
			c[i] = i;
		for (;;) {
			double s = 0;
			size_t j;
			for (size_t i = 0; i < nx; i++)
				s += v[c[i]];
			hits += s > obs + tol;
			n_parts++;
			/* The next combination: bump the rightmost index that can move. */
			for (j = nx; j-- > 0;)
				if (c[j] < N - nx + j)
					break;
			if (j == (size_t)-1)
				break;
			c[j]++;
			for (size_t i = j + 1; i < nx; i++)
				c[i] = c[i - 1] + 1;
		}
		*p = (double)hits / (double)n_parts;
		*exact = 1;
		*count = n_parts;
		*min_p = 1 / (double)n_parts;
	} else {
		struct ad_rng rng;
		ad_rng_seed(&rng, r->seed, stream);
		for (size_t i = 0; i < N; i++)
			c[i] = i;
		for (uint32_t t = 0; t < r->permutations; t++) {
			double s = 0;
			/* The first nx places of a partial Fisher–Yates shuffle. */
			for (size_t i = 0; i < nx; i++) {
				size_t j = i + ad_rng_below(&rng, (uint32_t)(N - i)), tmp = c[i];
				c[i] = c[j];
				c[j] = tmp;
				s += v[c[i]];
			}
			hits += s > obs + tol;
		}
		/*
		 * Phipson & Smyth (2010): the observed partition counts as one
		 * draw, so that a random estimate is never 0.
		 */
		*p = (double)(hits + 1) / ((double)r->permutations + 1);
		*exact = 0;
		*count = r->permutations;
		*min_p = parts > 0 ? 1 / parts : 0;
		if (*min_p < 1 / ((double)r->permutations + 1))
			*min_p = 1 / ((double)r->permutations + 1);
	}
	ad_free(c);
	return 0;
}

double
probe_perm_test_ref(const double *v, size_t nx, size_t ny)
{
	size_t   N = nx + ny;
	double   obs = 0, tol = perm_tolerance(v, N);
	uint64_t hits = 0, total = 0;

	assert(N <= 24);
	for (size_t i = 0; i < nx; i++)
		obs += v[i];
	for (uint32_t mask = 0; mask < (1u << N); mask++) {
		double s = 0;
		if ((size_t)__builtin_popcount(mask) != nx)
			continue;
		for (size_t i = 0; i < N; i++)
			if (mask & (1u << i))
				s += v[i];
		total++;
		hits += s > obs + tol;
	}
	return (double)hits / (double)total;
}

/*
 * The regularized incomplete beta function I_x(a, b) by its continued
 * fraction, evaluated with the modified Lentz method (Lentz 1976; the
 * fraction as in Abramowitz & Stegun 26.5.8), on the side where it
 * converges fast (x < (a + 1) / (a + b + 2)), using I_x(a,b) = 1 − I_{1−x}(b,a).
 */
static double
beta_cf(double x, double a, double b)
{
	const double tiny = 1e-300;
	double c = 1, d = 1 - (a + b) * x / (a + 1), h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 1000; m++) {
		double m2 = 2.0 * m, num, del;
		/* even step: d_{2m} = m (b − m) x / ((a + 2m − 1)(a + 2m)) */
		num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny) d = tiny;
		if (fabs(c) < tiny) c = tiny;
		d = 1 / d;
		h *= d * c;
		/* odd step: d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) */
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny) d = tiny;
		if (fabs(c) < tiny) c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-15)
			break;
	}
	return h;
}

double
probe_ibeta(double x, double a, double b)
{
	double lbt;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lbt) * beta_cf(x, a, b) / a;
	return 1 - exp(lbt) * beta_cf(1 - x, b, a) / b;
}

double
probe_t_p(double t, double df)
{
	if (isnan(t) || !(df > 0))
		return NAN;
	if (isinf(t))
		return 0;
	/* P(|T| >= |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2). */
	return probe_ibeta(df / (df + t * t), df / 2, 0.5);
}

double
probe_t_quantile(double level, double df)
{
	double lo = 0, hi = 1;

	/* The t with P(|T| >= t) = 1 − level, by bisection (the p is monotone in t). */
	while (probe_t_p(hi, df) > 1 - level)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
		double mid = (lo + hi) / 2;
		if (probe_t_p(mid, df) > 1 - level)
			lo = mid;
		else
			hi = mid;
	}
	return (lo + hi) / 2;
}

int
probe_welch_test(const double *x, size_t nx, const double *y, size_t ny, double *diff,
    double *lo, double *hi, double *p, double *df)
{
	double vx, vy, se2, q;

	*diff = probe_mean(x, nx) - probe_mean(y, ny);
	*lo = *hi = *p = *df = NAN;
	if (nx < 2 || ny < 2)
		return -1;
	vx = probe_sd(x, nx);
	vy = probe_sd(y, ny);
	vx = vx * vx / (double)nx;
	vy = vy * vy / (double)ny;
	se2 = vx + vy;
	if (se2 == 0) {
		*lo = *hi = *diff;
		*p = *diff == 0 ? 1 : 0;
		return 0;
	}
	*df = se2 * se2 / (vx * vx / (double)(nx - 1) + vy * vy / (double)(ny - 1));
	q = probe_t_quantile(0.95, *df);
	*lo = *diff - q * sqrt(se2);
	*hi = *diff + q * sqrt(se2);
	*p = probe_t_p(*diff / sqrt(se2), *df);
	return 0;
}

int
probe_t_test(const double *v, size_t n, double *mean, double *lo, double *hi, double *p)
{
	double m = probe_mean(v, n), sd = probe_sd(v, n), se, q;

	*mean = m;
	*lo = *hi = *p = NAN;
	if (n < 2 || isnan(sd))
		return -1;
	if (sd == 0) {
		/* Every value the same: the interval is the point, and p is 0 or 1. */
		*lo = *hi = m;
		*p = m == 0 ? 1 : 0;
		return 0;
	}
	se = sd / sqrt((double)n);
	q = probe_t_quantile(0.95, (double)(n - 1));
	*lo = m - q * se;
	*hi = m + q * se;
	*p = probe_t_p(m / se, (double)(n - 1));
	return 0;
}

double
probe_normal_p(double z)
{
	if (isnan(z))
		return NAN;
	return erfc(fabs(z) / M_SQRT2);
}

struct adj_item { double p; size_t i; };

static int
cmp_adj(const void *a, const void *b)
{
	const struct adj_item *x = a, *y = b;

	if (x->p != y->p)
		return x->p < y->p ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
probe_adjust(const double *p, size_t m, enum probe_correction c, double *adj, struct ad_error *e)
{
	struct adj_item *it;
	size_t           k = 0;

	if ((it = ad_mallocarray(m ? m : 1, sizeof *it)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory adjusting p-values");
	for (size_t i = 0; i < m; i++)
		if (!isnan(p[i])) {
			it[k].p = p[i];
			it[k].i = i;
			k++;
		}
	qsort(it, k, sizeof *it, cmp_adj);
	if (c == PROBE_HOLM) {
		/* Holm (1979): adj_(j) = max_{i <= j} min(1, (k - i + 1) p_(i)). */
		double run = 0;
		for (size_t j = 0; j < k; j++) {
			double a = (double)(k - j) * it[j].p;
			if (a > 1)
				a = 1;
			if (a > run)
				run = a;
			it[j].p = run;
		}
	} else if (c == PROBE_BH) {
		/* Benjamini & Hochberg (1995): adj_(j) = min_{i >= j} min(1, k p_(i) / i). */
		double run = 1;
		for (size_t j = k; j-- > 0;) {
			double a = (double)k * it[j].p / (double)(j + 1);
			if (a < run)
				run = a;
			it[j].p = run;
		}
	}
	for (size_t i = 0; i < m; i++)
		if (isnan(p[i]))
			adj[i] = NAN;
	for (size_t j = 0; j < k; j++)
		adj[it[j].i] = it[j].p;
	ad_free(it);
	return 0;
}

const char *
probe_correction_name(enum probe_correction c)
{
	switch (c) {
	case PROBE_HOLM: return "Holm";
	case PROBE_BH:   return "Benjamini-Hochberg";
	default:         return "none";
	}
}

double
probe_cosine(const float *a, const float *b, size_t d)
{
	double ab = 0, aa = 0, bb = 0;

	for (size_t i = 0; i < d; i++) {
		ab += (double)a[i] * b[i];
		aa += (double)a[i] * a[i];
		bb += (double)b[i] * b[i];
	}
	if (aa == 0 || bb == 0)
		return NAN;
	return ab / sqrt(aa * bb);
}

/* ---- WEAT ----------------------------------------------------------------- */

/*
 * s(w, A, B) for target row w over the attribute columns listed in ia[0..na)
 * (A) and ib[0..nb) (B), as in Caliskan et al. (2017), eq. for s(w, A, B).
 */
static double
weat_s(const double *cos, size_t cols, size_t w, const size_t *ia, size_t na, const size_t *ib,
    size_t nb)
{
	double sa = 0, sb = 0;

	for (size_t i = 0; i < na; i++)
		sa += cos[w * cols + ia[i]];
	for (size_t i = 0; i < nb; i++)
		sb += cos[w * cols + ib[i]];
	return sa / (double)na - sb / (double)nb;
}

/* d for the target rows ix (X) and iy (Y), attributes ia, ib; s is scratch. */
static double
weat_d(const double *cos, size_t cols, const size_t *ix, size_t nx, const size_t *iy, size_t ny,
    const size_t *ia, size_t na, const size_t *ib, size_t nb, double *s)
{
	double mx = 0, my = 0, sd;

	for (size_t i = 0; i < nx; i++) {
		s[i] = weat_s(cos, cols, ix[i], ia, na, ib, nb);
		mx += s[i];
	}
	for (size_t i = 0; i < ny; i++) {
		s[nx + i] = weat_s(cos, cols, iy[i], ia, na, ib, nb);
		my += s[nx + i];
	}
	sd = probe_sd(s, nx + ny);
	if (!(sd > 0))
		return NAN;
	return (mx / (double)nx - my / (double)ny) / sd;
}

struct weat_idx {
	size_t *ix, *iy, *ia, *ib;
	double *s;
};

static int
weat_idx_new(struct weat_idx *w, size_t nx, size_t ny, size_t na, size_t nb)
{
	w->ix = ad_mallocarray(nx, sizeof *w->ix);
	w->iy = ad_mallocarray(ny, sizeof *w->iy);
	w->ia = ad_mallocarray(na, sizeof *w->ia);
	w->ib = ad_mallocarray(nb, sizeof *w->ib);
	w->s = ad_mallocarray(nx + ny, sizeof *w->s);
	return w->ix && w->iy && w->ia && w->ib && w->s ? 0 : -1;
}

static void
weat_idx_free(struct weat_idx *w)
{
	ad_free(w->ix);
	ad_free(w->iy);
	ad_free(w->ia);
	ad_free(w->ib);
	ad_free(w->s);
}

/* Identity rows and columns: X = 0..nx, Y = nx..nx+ny, A = 0..na, B = na..na+nb. */
static void
weat_idx_identity(struct weat_idx *w, size_t nx, size_t ny, size_t na, size_t nb)
{
	for (size_t i = 0; i < nx; i++) w->ix[i] = i;
	for (size_t i = 0; i < ny; i++) w->iy[i] = nx + i;
	for (size_t i = 0; i < na; i++) w->ia[i] = i;
	for (size_t i = 0; i < nb; i++) w->ib[i] = na + i;
}

static void
weat_idx_draw(struct weat_idx *w, struct ad_rng *rng, size_t nx, size_t ny, size_t na, size_t nb)
{
	for (size_t i = 0; i < nx; i++) w->ix[i] = ad_rng_below(rng, (uint32_t)nx);
	for (size_t i = 0; i < ny; i++) w->iy[i] = nx + ad_rng_below(rng, (uint32_t)ny);
	for (size_t i = 0; i < na; i++) w->ia[i] = ad_rng_below(rng, (uint32_t)na);
	for (size_t i = 0; i < nb; i++) w->ib[i] = na + ad_rng_below(rng, (uint32_t)nb);
}

int
probe_weat_stats(const double *cos, size_t nx, size_t ny, size_t na, size_t nb,
    const struct probe_resampling *r, uint64_t stream, struct probe_weat_stats *out,
    struct ad_error *e)
{
	struct weat_idx w;
	struct ad_rng   rng;
	size_t          cols = na + nb, defined = 0;
	double         *boot = NULL, *s;
	int             rc;

	if (nx < 1 || ny < 1 || na < 1 || nb < 1)
		return ad_fail(e, AD_EDATA, "WEAT needs four non-empty word sets");
	memset(out, 0, sizeof *out);
	if (weat_idx_new(&w, nx, ny, na, nb) != 0 ||
	    (boot = ad_mallocarray(r->bootstrap ? r->bootstrap : 1, sizeof *boot)) == NULL ||
	    (s = ad_mallocarray(nx + ny, sizeof *s)) == NULL) {
		weat_idx_free(&w);
		ad_free(boot);
		return ad_fail(e, AD_ENOMEM, "out of memory for WEAT");
	}
	weat_idx_identity(&w, nx, ny, na, nb);
	out->d = weat_d(cos, cols, w.ix, nx, w.iy, ny, w.ia, na, w.ib, nb, w.s);
	memcpy(s, w.s, (nx + ny) * sizeof *s);
	out->stat = 0;
	for (size_t i = 0; i < nx; i++)
		out->stat += s[i];
	for (size_t i = 0; i < ny; i++)
		out->stat -= s[nx + i];
	rc = probe_perm_test(s, nx, ny, r, stream, &out->p, &out->exact, &out->partitions,
	    &out->min_p, e);
	ad_free(s);
	if (rc != 0) {
		weat_idx_free(&w);
		ad_free(boot);
		return rc;
	}
	/* The interval resamples each of the four word sets (stream + 1). */
	ad_rng_seed(&rng, r->seed, stream + 1);
	for (uint32_t b = 0; b < r->bootstrap; b++) {
		double d;
		weat_idx_draw(&w, &rng, nx, ny, na, nb);
		d = weat_d(cos, cols, w.ix, nx, w.iy, ny, w.ia, na, w.ib, nb, w.s);
		if (!isnan(d))
			boot[defined++] = d;
	}
	out->lo = out->hi = NAN;
	if (defined > 0) {
		qsort(boot, defined, sizeof *boot, cmp_double);
		out->lo = probe_quantile_sorted(boot, defined, 0.025);
		out->hi = probe_quantile_sorted(boot, defined, 0.975);
	}
	weat_idx_free(&w);
	ad_free(boot);
	return 0;
}

double
probe_weat_effect(const double *cos, size_t nx, size_t ny, size_t na, size_t nb)
{
	struct weat_idx w;
	double          d;

	if (nx < 1 || ny < 1 || na < 1 || nb < 1 || weat_idx_new(&w, nx, ny, na, nb) != 0)
		return NAN;
	weat_idx_identity(&w, nx, ny, na, nb);
	d = weat_d(cos, na + nb, w.ix, nx, w.iy, ny, w.ia, na, w.ib, nb, w.s);
	weat_idx_free(&w);
	return d;
}

int
probe_weat_diff(const double *cos1, const double *cos2, size_t nx, size_t ny, size_t na,
    size_t nb, const struct probe_resampling *r, uint64_t stream, double *lo, double *hi,
    double *p, struct ad_error *e)
{
	struct weat_idx w;
	struct ad_rng   rng;
	size_t          cols = na + nb, defined = 0, le0 = 0, ge0 = 0;
	double         *boot;

	*lo = *hi = *p = NAN;
	if (nx < 1 || ny < 1 || na < 1 || nb < 1)
		return ad_fail(e, AD_EDATA, "WEAT needs four non-empty word sets");
	if (weat_idx_new(&w, nx, ny, na, nb) != 0 ||
	    (boot = ad_mallocarray(r->bootstrap ? r->bootstrap : 1, sizeof *boot)) == NULL) {
		weat_idx_free(&w);
		return ad_fail(e, AD_ENOMEM, "out of memory for WEAT");
	}
	ad_rng_seed(&rng, r->seed, stream);
	for (uint32_t b = 0; b < r->bootstrap; b++) {
		double d1, d2;
		weat_idx_draw(&w, &rng, nx, ny, na, nb);
		d1 = weat_d(cos1, cols, w.ix, nx, w.iy, ny, w.ia, na, w.ib, nb, w.s);
		d2 = weat_d(cos2, cols, w.ix, nx, w.iy, ny, w.ia, na, w.ib, nb, w.s);
		if (!isnan(d1) && !isnan(d2)) {
			boot[defined++] = d1 - d2;
			le0 += d1 - d2 <= 0;
			ge0 += d1 - d2 >= 0;
		}
	}
	if (defined > 0) {
		double fl = (double)le0 / (double)defined, fg = (double)ge0 / (double)defined;
		qsort(boot, defined, sizeof *boot, cmp_double);
		*lo = probe_quantile_sorted(boot, defined, 0.025);
		*hi = probe_quantile_sorted(boot, defined, 0.975);
		/* Two-sided: twice the smaller tail, each tail including zero. */
		*p = 2 * (fl < fg ? fl : fg);
		if (*p > 1)
			*p = 1;
		/* A bootstrap p cannot be below the resolution of its resamples. */
		if (*p < 1 / (double)defined)
			*p = 1 / (double)defined;
	}
	weat_idx_free(&w);
	ad_free(boot);
	return 0;
}
