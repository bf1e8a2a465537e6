/*
 * calib.c — how far a model's confidence can be trusted: top-1 accuracy,
 * expected calibration error, Brier score and temperature scaling (Guo,
 * Pleiss, Sun and Weinberger 2017, "On Calibration of Modern Neural
 * Networks", sections 2 and 4.2), over next-token predictions.
 *
 * Each scored position gives a distribution p over V tokens and the true
 * token y. The prediction is the top-1 token (ties to the lowest id), its
 * confidence p_max, and it is correct when it is y. Per position this file
 * keeps a small record (confidence, ln p_y, the Brier term, correct) and
 * ln sum_k p_k^beta on a fixed grid of beta = 1/T, so that everything,
 * temperature scaling included, is computed after one scoring pass:
 *
 *   ECE (equal width)  bins B_m = ((m-1)/M, m/M], M = 15 (Guo et al. eq. 3):
 *                      sum_m |B_m|/n |acc(B_m) - conf(B_m)|
 *   ECE (equal mass)   the same sum over M = 15 bins of (as nearly as
 *                      possible) equal counts, positions sorted by confidence
 *   Brier              mean over positions of sum_k (p_k - [k = y])^2
 *                      = sum_k p_k^2 - 2 p_y + 1 (Brier 1950, all V classes)
 *   temperature        p_T = softmax(ln p / T) (ln p is a logit vector up to
 *                      a constant, so this holds for every model kind); T*
 *                      minimises the negative log-likelihood of the first
 *                      half of the positions, [0, floor(n/2)), and is
 *                      reported with NLL and ECE on the second half, before
 *                      and after scaling.
 *
 * The grid is beta_j = 0.25 + j/16, j = 0..60 (T from 4 down to 0.25):
 * uniform in beta, so exp(beta_j d) = exp(beta_0 d) * exp(d/16)^j costs
 * one exponential and 61 products and sums per vocabulary entry and
 * position. NLL(beta) between
 * grid points is the cubic through the four nearest (Lagrange); T* is that
 * curve's minimum (golden-section search), and every position's
 * ln sum p^beta at T* is interpolated with the same weights, so the scaled
 * figures are those of T* up to the interpolation (fourth differences of
 * ln sum p^beta, which is smooth and convex in beta; the tests hold the
 * scaled NLL to 2e-4 nats of a direct computation). A T* at an end of the
 * grid means the best temperature lies at or beyond it.
 *
 * Memory: 16 + 4 * 61 bytes per scored position. Terms with p_k below
 * e^-100 p_max are left out of every sum (their share is below V e^-25 of
 * the largest term at beta >= 0.25).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lm/lm.h"

#define CALIB_BETA0  0.25
#define CALIB_DBETA  0.0625
#define CALIB_DMIN   (-100.0)
#define CALIB_LANES  32       /* entries carried through the grid at once */

struct calib_tok {
	float   conf;      /* p of the top-1 token */
	float   logp;      /* ln p_y */
	float   brier;     /* sum_k p_k^2 - 2 p_y + 1 */
	uint8_t correct;   /* top-1 == y */
};

struct lm_calib_acc {
	struct calib_tok *tok;    /* (n) in position order */
	float            *grid;   /* (n, LM_CALIB_GRID) ln sum_k p_k^beta_j */
	size_t            n, cap, gcap;
	double           *work;   /* (2, wcap) lm_calib_add's exp(beta d), exp(d/16) */
	size_t            wcap;
};

double
lm_calib_beta(int j)
{
	return CALIB_BETA0 + CALIB_DBETA * j;
}

int
lm_calib_acc_new(struct lm_calib_acc **out, struct ad_error *e)
{
	if ((*out = ad_calloc(1, sizeof **out)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	return 0;
}

void
lm_calib_acc_free(struct lm_calib_acc *a)
{
	if (a == NULL)
		return;
	ad_free(a->tok);
	ad_free(a->grid);
	ad_free(a->work);
	ad_free(a);
}

size_t
lm_calib_acc_count(const struct lm_calib_acc *a)
{
	return a->n;
}

static int
calib_reserve(struct lm_calib_acc *a, size_t need, struct ad_error *e)
{
	if (ad_grow(&a->tok, &a->cap, need, sizeof *a->tok, 4096) != 0 ||
	    ad_grow(&a->grid, &a->gcap, need * LM_CALIB_GRID, sizeof *a->grid,
	    4096 * LM_CALIB_GRID) != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory for the calibration of %zu tokens", need);
	return 0;
}

int
lm_calib_add(void *acc, const float *scores, uint32_t V, uint32_t y, struct ad_error *e)
{
	struct lm_calib_acc *a = acc;
	double              S[LM_CALIB_GRID], P[LM_CALIB_GRID][CALIB_LANES];
	double              mx = -INFINITY, z = 0, sq = 0, lz, py, *u, *r;
	uint32_t            top = 0;
	size_t              m = 0;
	struct calib_tok   *t;
	float              *g;
	int                 rc;

	if ((rc = calib_reserve(a, a->n + 1, e)) != 0)
		return rc;
	if ((size_t)V + CALIB_LANES > a->wcap) {
		double *w = ad_reallocarray(a->work, (size_t)V + CALIB_LANES, 2 * sizeof *w);
		if (w == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for a %u-token distribution", V);
		a->work = w;
		a->wcap = (size_t)V + CALIB_LANES;
	}
	u = a->work;
	r = a->work + a->wcap;
	for (uint32_t k = 0; k < V; k++)
		if (scores[k] > mx) {
			mx = scores[k];
			top = k;
		}
	/*
	 * d = ln p_k - ln p_max; the sums are of exp(beta d) (see the top).
	 * One exponential per entry: r = exp(d/16), then exp(beta_0 d) = r^4
	 * and exp(d) = r^16 by squaring (a few ulp).
	 */
	for (uint32_t k = 0; k < V; k++) {
		double d = (double)scores[k] - mx, x, ed;
		if (!(d >= CALIB_DMIN))
			continue;
		r[m] = exp(CALIB_DBETA * d);
		x = r[m] * r[m];
		u[m] = x * x;
		ed = u[m] * u[m];
		ed *= ed;
		z += ed;
		sq += ed * ed;
		m++;
	}
	while (m % CALIB_LANES != 0) {
		u[m] = r[m] = 0;
		m++;
	}
	/*
	 * Blocks of CALIB_LANES entries, each carried through the whole grid:
	 * P[j][l] += u[l]; u[l] *= r[l] are vertical operations in independent
	 * lanes (vector registers, several multiply chains in flight), summed
	 * across lanes once at the end.
	 */
	memset(P, 0, sizeof P);
	for (size_t k = 0; k < m; k += CALIB_LANES) {
		double ub[CALIB_LANES], rb[CALIB_LANES];
		memcpy(ub, u + k, sizeof ub);
		memcpy(rb, r + k, sizeof rb);
		for (int j = 0; j < LM_CALIB_GRID; j++)
			for (int l = 0; l < CALIB_LANES; l++) {
				P[j][l] += ub[l];
				ub[l] *= rb[l];
			}
	}
	for (int j = 0; j < LM_CALIB_GRID; j++) {
		S[j] = 0;
		for (int l = 0; l < CALIB_LANES; l++)
			S[j] += P[j][l];
	}
	lz = log(z);
	py = y < V && (double)scores[y] - mx >= CALIB_DMIN ? exp((double)scores[y] - mx) / z : 0;
	t = &a->tok[a->n];
	t->conf = (float)(1 / z);
	t->logp = y < V ? (float)((double)scores[y] - mx - lz) : -INFINITY;
	t->brier = (float)(sq / (z * z) - 2 * py + 1);
	t->correct = top == y;
	/* ln sum_k p_k^beta = ln sum_k exp(beta d_k) - beta ln z. */
	g = &a->grid[a->n * LM_CALIB_GRID];
	for (int j = 0; j < LM_CALIB_GRID; j++)
		g[j] = (float)(log(S[j]) - lm_calib_beta(j) * lz);
	a->n++;
	return 0;
}

int
lm_calib_append(struct lm_calib_acc *dst, const struct lm_calib_acc *src, struct ad_error *e)
{
	int rc;

	if (src->n == 0)
		return 0;
	if ((rc = calib_reserve(dst, dst->n + src->n, e)) != 0)
		return rc;
	memcpy(dst->tok + dst->n, src->tok, src->n * sizeof *src->tok);
	memcpy(dst->grid + dst->n * LM_CALIB_GRID, src->grid,
	    src->n * LM_CALIB_GRID * sizeof *src->grid);
	dst->n += src->n;
	return 0;
}

/* The equal-width bin of a confidence in (0, 1]: ((b)/M, (b+1)/M]. */
int
lm_calib_bin(double conf)
{
	int b = (int)ceil(conf * LM_CALIB_BINS) - 1;

	return b < 0 ? 0 : b >= LM_CALIB_BINS ? LM_CALIB_BINS - 1 : b;
}

/* ECE over M equal-width bins of pairs (conf[i], correct[i]). */
static double
calib_ece(size_t n, const double *conf, const uint8_t *ok, uint64_t *cnt, double *mconf,
    double *macc)
{
	double   sc[LM_CALIB_BINS] = { 0 }, sa[LM_CALIB_BINS] = { 0 }, ece = 0;
	uint64_t c[LM_CALIB_BINS] = { 0 };

	for (size_t i = 0; i < n; i++) {
		int b = lm_calib_bin(conf[i]);
		c[b]++;
		sc[b] += conf[i];
		sa[b] += ok[i];
	}
	for (int b = 0; b < LM_CALIB_BINS; b++) {
		if (c[b] > 0)
			ece += fabs(sa[b] - sc[b]) / (double)n;
		if (cnt != NULL) {
			cnt[b] = c[b];
			mconf[b] = c[b] > 0 ? sc[b] / (double)c[b] : NAN;
			macc[b] = c[b] > 0 ? sa[b] / (double)c[b] : NAN;
		}
	}
	return n > 0 ? ece : NAN;
}

/* The first sorted position of equal-mass bin b (b = M: the end). */
static size_t
calib_mass_edge(size_t n, int b)
{
	return b >= LM_CALIB_BINS ? n : (size_t)((double)n * b / LM_CALIB_BINS);
}

/* A position and its confidence, sorted by confidence, ties by position
 * (a total order, so the equal-mass bins do not depend on qsort). */
struct calib_rank {
	double conf;
	size_t pos;
};

static int
calib_cmp(const void *pa, const void *pb)
{
	const struct calib_rank *a = pa, *b = pb;

	if (a->conf != b->conf)
		return a->conf < b->conf ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/*
 * The cubic (Lagrange) interpolation of grid values at beta: the nodes
 * *c, *c + 1, *c + 2, *c + 3 around it (the two nearest on each side where
 * the grid allows) and their weights.
 */
static void
calib_weights(double beta, int *c, double w[4])
{
	double u, t[4];
	int    j = (int)floor((beta - CALIB_BETA0) / CALIB_DBETA) - 1;

	j = j < 0 ? 0 : j > LM_CALIB_GRID - 4 ? LM_CALIB_GRID - 4 : j;
	u = (beta - lm_calib_beta(j)) / CALIB_DBETA;
	for (int i = 0; i < 4; i++)
		t[i] = u - i;
	w[0] = -t[1] * t[2] * t[3] / 6;
	w[1] = t[0] * t[2] * t[3] / 2;
	w[2] = -t[0] * t[1] * t[3] / 2;
	w[3] = t[0] * t[1] * t[2] / 6;
	*c = j;
}

static double
calib_interp(const double *f, double beta)
{
	double w[4];
	int    c;

	calib_weights(beta, &c, w);
	return w[0] * f[c] + w[1] * f[c + 1] + w[2] * f[c + 2] + w[3] * f[c + 3];
}

static double
calib_interpf(const float *g, int c, const double w[4])
{
	return w[0] * g[c] + w[1] * g[c + 1] + w[2] * g[c + 2] + w[3] * g[c + 3];
}

/*
 * The beta minimising the interpolated NLL f: golden-section search
 * between the grid neighbours of the smallest grid value (NLL(beta) is
 * convex: its second derivative is the variance of ln p under p_beta).
 */
static double
calib_argmin(const double *f)
{
	const double phi = (sqrt(5.0) - 1) / 2;
	double       lo, hi, x1, x2, f1, f2;
	int          jmin = 0;

	for (int j = 1; j < LM_CALIB_GRID; j++)
		if (f[j] < f[jmin])
			jmin = j;
	lo = lm_calib_beta(jmin > 0 ? jmin - 1 : 0);
	hi = lm_calib_beta(jmin < LM_CALIB_GRID - 1 ? jmin + 1 : LM_CALIB_GRID - 1);
	x1 = hi - phi * (hi - lo);
	x2 = lo + phi * (hi - lo);
	f1 = calib_interp(f, x1);
	f2 = calib_interp(f, x2);
	for (int it = 0; it < 60; it++) {
		if (f1 <= f2) {
			hi = x2;
			x2 = x1;
			f2 = f1;
			x1 = hi - phi * (hi - lo);
			f1 = calib_interp(f, x1);
		} else {
			lo = x1;
			x1 = x2;
			f1 = f2;
			x2 = lo + phi * (hi - lo);
			f2 = calib_interp(f, x2);
		}
	}
	return (lo + hi) / 2;
}

int
lm_calib_finish(const struct lm_calib_acc *a, struct lm_calib *out, struct ad_error *e)
{
	struct lm_calib r;
	size_t          n = a->n, half = n / 2;
	struct calib_rank *order = NULL;
	double         *conf = NULL, f[LM_CALIB_GRID] = { 0 }, w[4], beta, nll = 0;
	uint8_t        *ok = NULL;
	int             c;

	memset(&r, 0, sizeof r);
	r.n = n;
	r.temperature = r.test_nll = r.test_nll_scaled = r.test_ece = r.test_ece_scaled = NAN;
	if (n == 0) {
		r.accuracy = r.ece = r.ece_mass = r.brier = r.nll = NAN;
		for (int b = 0; b < LM_CALIB_BINS; b++)
			r.bin_conf[b] = r.bin_acc[b] = NAN;
		*out = r;
		return 0;
	}
	conf = ad_mallocarray(n, sizeof *conf);
	ok = ad_mallocarray(n, sizeof *ok);
	order = ad_mallocarray(n, sizeof *order);
	if (conf == NULL || ok == NULL || order == NULL) {
		ad_free(conf);
		ad_free(ok);
		ad_free(order);
		return ad_fail(e, AD_ENOMEM, "out of memory for the calibration of %zu tokens", n);
	}
	/* Over every position: accuracy, Brier, NLL, both ECEs. */
	for (size_t i = 0; i < n; i++) {
		conf[i] = a->tok[i].conf;
		ok[i] = a->tok[i].correct;
		r.accuracy += ok[i];
		r.brier += a->tok[i].brier;
		nll -= a->tok[i].logp;
		order[i].conf = conf[i];
		order[i].pos = i;
	}
	r.accuracy /= (double)n;
	r.brier /= (double)n;
	r.nll = nll / (double)n;
	r.ece = calib_ece(n, conf, ok, r.bin_n, r.bin_conf, r.bin_acc);
	qsort(order, n, sizeof *order, calib_cmp);
	for (int b = 0; b < LM_CALIB_BINS; b++) {
		size_t lo = calib_mass_edge(n, b), hi = calib_mass_edge(n, b + 1);
		double sc = 0, sa = 0;
		for (size_t i = lo; i < hi; i++) {
			sc += order[i].conf;
			sa += ok[order[i].pos];
		}
		r.ece_mass += fabs(sa - sc) / (double)n;
	}

	/* Temperature: fit on [0, half), report on [half, n). */
	if (half > 0) {
		for (size_t i = 0; i < half; i++) {
			const float *g = &a->grid[i * LM_CALIB_GRID];
			for (int j = 0; j < LM_CALIB_GRID; j++)
				f[j] += (double)g[j] - lm_calib_beta(j) * a->tok[i].logp;
		}
		beta = calib_argmin(f);
		r.temperature = 1 / beta;
		calib_weights(beta, &c, w);
		r.test_nll = r.test_nll_scaled = 0;
		for (size_t i = half; i < n; i++) {
			double lg = calib_interpf(&a->grid[i * LM_CALIB_GRID], c, w);
			r.test_nll -= a->tok[i].logp;
			r.test_nll_scaled += lg - beta * a->tok[i].logp;
			/* p_max^beta / sum_k p_k^beta */
			conf[i] = exp(beta * log((double)a->tok[i].conf) - lg);
		}
		r.test_nll /= (double)(n - half);
		r.test_nll_scaled /= (double)(n - half);
		r.test_ece_scaled = calib_ece(n - half, conf + half, ok + half, NULL, NULL, NULL);
		for (size_t i = half; i < n; i++)
			conf[i] = a->tok[i].conf;
		r.test_ece = calib_ece(n - half, conf + half, ok + half, NULL, NULL, NULL);
	}
	ad_free(conf);
	ad_free(ok);
	ad_free(order);
	*out = r;
	return 0;
}

void
lm_calib_uniform(const uint32_t *ids, size_t n, uint32_t V, struct lm_calib *out)
{
	struct lm_calib r;
	size_t          half = n / 2, hits[2] = { 0, 0 };
	double          q = 1 / (double)V;

	memset(&r, 0, sizeof r);
	for (size_t i = 0; i < n; i++)
		hits[i >= half] += ids[i] == 0;
	r.n = n;
	r.accuracy = n > 0 ? (double)(hits[0] + hits[1]) / (double)n : NAN;
	/* One bin holds every position, at confidence 1/V; the equal-mass
	 * bins, with every confidence tied, are runs of positions. */
	r.ece = fabs(r.accuracy - q);
	for (int b = 0; b < LM_CALIB_BINS && n > 0; b++) {
		size_t lo = calib_mass_edge(n, b), hi = calib_mass_edge(n, b + 1), k = 0;
		for (size_t i = lo; i < hi; i++)
			k += ids[i] == 0;
		r.ece_mass += fabs((double)k - q * (double)(hi - lo)) / (double)n;
	}
	r.brier = n > 0 ? 1 - q : NAN;   /* V q^2 - 2 q + 1, whatever y is */
	r.nll = n > 0 ? log((double)V) : NAN;
	for (int b = 0; b < LM_CALIB_BINS; b++)
		r.bin_conf[b] = r.bin_acc[b] = NAN;
	if (n > 0) {
		int b = lm_calib_bin(q);
		r.bin_n[b] = n;
		r.bin_conf[b] = q;
		r.bin_acc[b] = r.accuracy;
	}
	r.temperature = NAN;
	r.test_nll = r.test_nll_scaled = n - half > 0 ? log((double)V) : NAN;
	r.test_ece = r.test_ece_scaled =
	    n - half > 0 ? fabs((double)hits[1] / (double)(n - half) - q) : NAN;
	*out = r;
}
