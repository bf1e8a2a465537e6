/*
 * rf.c — the random-feature model of rf.h, in pipeline order: samples from
 * the token streams, label noise, merging repeated contexts, features, the
 * minimum-norm readout, and the losses on the training and held-out rows.
 *
 * The random projection is never stored for one-hot inputs: entry (f, c, t)
 * of W is a normal deviate computed from a hash of (seed, f, c, t), so W
 * costs no memory however large V is, any row of features can be computed
 * alone on any thread, and the first F features of a wider model are those
 * of a narrower one (the models of a sweep over F are nested, as in Belkin
 * et al.'s figure 2, which keeps the curve free of resampling noise).
 */
#include "rf/rf.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#include "base/hash.h"
#include "rf/rf_impl.h"

#define RF_PI 3.14159265358979323846
/* The floor of the clipped normalisation behind the log-loss (rf.h). */
#define RF_FLOOR 1e-3
/* Scores this close to the best (relative, or absolute below 1) tie. */
#define RF_TIE 1e-9
/* Rows of features computed and scored at once in evaluation. */
#define RF_ROWS 256
/* The jitter schedule of rf_minnorm: 1e-12, 1e-10, ... 1e-2 of the mean diagonal. */
#define RF_JITTER_FIRST 1e-12
#define RF_JITTER_LAST  1e-2

/* Domain tags of the hashed random numbers, so W, b, E and noise never share one. */
enum { TAG_W = 1, TAG_B = 2, TAG_E = 3 };

static int
nthreads(int threads)
{
	return threads > 0 ? threads : omp_get_max_threads();
}

/* A uniform in (0, 1] and a standard normal (Box-Muller) from a hash of four words. */
static uint64_t
key4(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = ad_mix64(seed ^ 0x9e3779b97f4a7c15ULL);

	h = ad_mix64(h ^ (a * 0xd1b54a32d192ed03ULL));
	h = ad_mix64(h ^ (b * 0x8cb92ba72f3d8dd7ULL));
	return ad_mix64(h ^ (c * 0xf1357aea2e62a9c5ULL));
}

static double
unit(uint64_t h)
{
	return ((h >> 11) + 1) * (1.0 / 9007199254740992.0);
}

static double
hnormal(uint64_t seed, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = key4(seed, a, b, c);

	return sqrt(-2.0 * log(unit(h))) * cos(2.0 * RF_PI * unit(ad_mix64(h + 1)));
}

const char *
rf_act_name(enum rf_act a)
{
	return a == RF_FOURIER ? "fourier" : a == RF_RELU ? "relu" : "unknown";
}

int
rf_act_parse(const char *s, enum rf_act *out, struct ad_error *e)
{
	if (strcmp(s, "relu") == 0)
		*out = RF_RELU;
	else if (strcmp(s, "fourier") == 0)
		*out = RF_FOURIER;
	else
		return ad_fail(e, AD_EINVAL, "rf: unknown nonlinearity '%s': relu or fourier", s);
	return 0;
}

int
rf_config_check(const struct rf_config *c, uint32_t V, struct ad_error *e)
{
	if (c->context == 0)
		return ad_fail(e, AD_EINVAL, "rf: context is 0: give at least one previous token");
	if (c->features == 0)
		return ad_fail(e, AD_EINVAL, "rf: features is 0: give at least one random feature");
	if (!(c->label_noise >= 0 && c->label_noise <= 1))
		return ad_fail(e, AD_EINVAL, "rf: label noise %g is outside [0, 1]", c->label_noise);
	if (!(c->scale >= 0) || !isfinite(c->scale))
		return ad_fail(e, AD_EINVAL, "rf: scale %g is not a finite number >= 0 (0: 1)",
		               c->scale);
	if (c->act != RF_RELU && c->act != RF_FOURIER)
		return ad_fail(e, AD_EINVAL, "rf: unknown nonlinearity %d: relu or fourier",
		               (int)c->act);
	if (V == 0)
		return ad_fail(e, AD_EINVAL, "rf: an empty vocabulary (V = 0)");
	return 0;
}

/* a * b + c in size_t, SIZE_MAX on overflow (saturating, for estimates). */
static size_t
mad(size_t a, size_t b, size_t c)
{
	if (a != 0 && b > (SIZE_MAX - c) / a)
		return SIZE_MAX;
	return a * b + c;
}

size_t
rf_memory(const struct rf_config *c, size_t ntrain, size_t ntest, uint32_t V)
{
	size_t n = ntrain > c->context ? ntrain - c->context : 0;
	size_t F = c->features, k = n < V ? n : V, m = n < F ? n : F, dim, b = 0;
	int nt = nthreads(c->threads);

	(void)ntest;   /* held-out rows are scored RF_ROWS at a time */
	dim = c->embed ? (size_t)c->context * c->embed : 0;
	/* The peak is inside rf_minnorm; scoring needs less (phi, Y and the
	 * solver's buffers are freed by then). */
	b = mad(16 * n, F, b);                 /* phi and its weighted copy X */
	if (F < n) {
		b = mad(8 * n, F, b);          /* X' (primal route) */
		b = mad(8 * n, k, b);          /* D Y when it does not fit in X' */
	}
	b = mad(8 * m, m + 1, b);              /* the Gram matrix and its diagonal */
	b = mad(8 * n, k, b);                  /* mean targets Y */
	b = mad(8 * (n > F ? n : F), k, b);    /* right-hand sides R */
	b = mad(8 * F, k, b);                  /* the readout w */
	b = mad(8 * RF_ROWS, F + k, b);        /* a block of rows being scored */
	b = mad(8 * F, dim + 1, b);            /* W (embedded inputs) and b */
	b = mad(16 * (size_t)nt, dim + 1, b);  /* per-thread inputs */
	b = mad(12 * (size_t)c->context + 80, n, b);   /* contexts, targets, tables */
	b = mad(8, V, b);                      /* class and token maps */
	return b;
}

/*
 * The fixed random projection of c: for embedded inputs W (F, dim) is
 * stored, for one-hot inputs it is hashed on use (above); b (F) always.
 */
struct proj {
	const struct rf_config *c;
	size_t  F, dim;     /* dim: context * embed, 0 for one-hot */
	double  sd;         /* standard deviation of W's entries and of ReLU's b */
	double *W;          /* (F, dim) */
	double *b;          /* (F) */
};

static void
proj_free(struct proj *p)
{
	ad_free(p->W);
	ad_free(p->b);
}

static int
proj_new(struct proj *p, const struct rf_config *c, int nt, struct ad_error *e)
{
	size_t F = c->features;

	memset(p, 0, sizeof *p);
	p->c = c;
	p->F = F;
	p->dim = (size_t)c->context * c->embed;
	p->sd = (c->scale > 0 ? c->scale : 1.0) / sqrt((double)c->context);
	p->b = ad_mallocarray(F, sizeof *p->b);
	if (p->dim) {
		size_t fd = mad(F, p->dim, 0);

		p->W = fd == SIZE_MAX ? NULL : ad_mallocarray(fd, sizeof *p->W);
	}
	if (!p->b || (p->dim && !p->W)) {
		proj_free(p);
		return ad_fail(e, AD_ENOMEM, "rf: out of memory for the random projection "
		               "(%zu features): use fewer features", F);
	}
	/* Race-free: feature f writes only its own row of W and entry of b. */
	#pragma omp parallel for schedule(static) num_threads(nt)
	for (size_t f = 0; f < F; f++) {
		if (c->act == RF_FOURIER)
			p->b[f] = 2.0 * RF_PI * unit(key4(c->seed, TAG_B, f, 0));
		else
			p->b[f] = p->sd * hnormal(c->seed, TAG_B, f, 0);
		for (size_t j = 0; j < p->dim; j++)
			p->W[f * p->dim + j] = p->sd * hnormal(c->seed, TAG_W, f, j);
	}
	return 0;
}

/*
 * The input x of an embedded context (t, context tokens): the fixed
 * Gaussian embeddings of its tokens, concatenated, context * embed numbers.
 * A one-hot input is never written out.
 */
static void
embed_ctx(const struct rf_config *c, const uint32_t *t, double *x)
{
	size_t D = c->embed;

	for (size_t q = 0; q < c->context; q++)
		for (size_t d = 0; d < D; d++)
			x[q * D + d] = hnormal(c->seed, TAG_E, t[q], d) / sqrt((double)D);
}

/*
 * phi (n, F): the features of contexts ctx (n, context). x is per-thread
 * scratch of nt * dim doubles (embedded inputs only).
 */
static void
proj_features(const struct proj *p, const uint32_t *ctx, size_t n, double *phi, double *x,
              int nt)
{
	const struct rf_config *c = p->c;
	size_t F = p->F, dim = p->dim, C = c->context;
	double norm = 1.0 / sqrt((double)F);

	/* Race-free: row i writes only row i of phi and its thread's x. */
	#pragma omp parallel for schedule(static) num_threads(nt)
	for (size_t i = 0; i < n; i++) {
		const uint32_t *t = ctx + i * C;
		double *out = phi + i * F;
		double *xi = dim ? x + (size_t)omp_get_thread_num() * dim : NULL;

		if (dim)
			embed_ctx(c, t, xi);
		for (size_t f = 0; f < F; f++) {
			double z = p->b[f];

			if (dim) {
				const double *w = p->W + f * dim;

				for (size_t j = 0; j < dim; j++)
					z += w[j] * xi[j];
			} else {
				/* One-hot: W x is the sum of the columns of the tokens. */
				for (size_t q = 0; q < C; q++)
					z += p->sd * hnormal(c->seed, TAG_W, f, q * (uint64_t)UINT32_MAX + t[q] + 1);
			}
			out[f] = norm * (c->act == RF_FOURIER ? sqrt(2.0) * cos(z) : (z > 0 ? z : 0));
		}
	}
}

int
rf_features(const struct rf_config *c, const uint32_t *ctx, size_t n, uint32_t V,
            double *phi, struct ad_error *e)
{
	struct proj p;
	double *x;
	int rc, nt = nthreads(c->threads);

	if ((rc = rf_config_check(c, V, e)) < 0)
		return rc;
	for (size_t i = 0; i < n * c->context; i++)
		if (ctx[i] >= V)
			return ad_fail(e, AD_EINVAL, "rf: token %u at context %zu is not below V = %u",
			               ctx[i], i / c->context, V);
	if ((rc = proj_new(&p, c, nt, e)) < 0)
		return rc;
	x = ad_mallocarray((size_t)nt * (p.dim ? p.dim : 1), sizeof *x);
	if (!x) {
		proj_free(&p);
		return ad_fail(e, AD_ENOMEM, "rf: out of memory for the inputs");
	}
	proj_features(&p, ctx, n, phi, x, nt);
	ad_free(x);
	proj_free(&p);
	return 0;
}

/*
 * R (m, k) becomes G^-1 R for the Gram matrix G (m, m), given in its lower
 * triangle (overwritten; diag is scratch of m). Cholesky, retried with the
 * jitter schedule of rf.h when a pivot is not positive; *jit is the jitter
 * used. AD_ENUMERIC when the largest jitter does not help.
 */
static int
gram_solve(double *G, double *diag, size_t m, double *R, size_t k, int nt, double *jit,
           struct ad_error *e)
{
	double mean = 0, j = 0;
	size_t fail;

	/* Keep the Gram matrix in the strict upper triangle and diag, so a
	 * failed factorisation can start again from it. */
	for (size_t i = 0; i < m; i++) {
		diag[i] = G[i * m + i];
		mean += diag[i];
		for (size_t q = 0; q < i; q++)
			G[q * m + i] = G[i * m + q];
	}
	mean /= (double)m;
	if (!(mean > 0) || !isfinite(mean))
		return ad_fail(e, AD_ENUMERIC, "the Gram matrix's mean diagonal is %g: the "
		               "features are all zero or not finite; check the scale", mean);
	for (;;) {
		for (size_t i = 0; i < m; i++) {
			G[i * m + i] = diag[i] + j;
			for (size_t q = 0; q < i; q++)
				G[i * m + q] = G[q * m + i];
		}
		if ((fail = rf__cholesky(G, m, m, nt)) == 0)
			break;
		j = j == 0 ? RF_JITTER_FIRST * mean : j * 100;
		if (j > RF_JITTER_LAST * mean * 1.0000001)
			return ad_fail(e, AD_ENUMERIC, "the Gram matrix is not positive definite "
			               "even with a jitter of %g of its mean diagonal (pivot %zu): "
			               "the features are degenerate; change the seed or the scale",
			               RF_JITTER_LAST, fail - 1);
	}
	rf__chol_solve(G, m, m, R, k, k, nt);
	*jit = j;
	return 0;
}

/* dst (n, cols) = D src, D = diag(sqrt(weight)) (weight NULL: all 1). */
static void
scale_rows(double *dst, const double *src, size_t n, size_t cols, const double *weight)
{
	for (size_t i = 0; i < n; i++) {
		double s = weight ? sqrt(weight[i]) : 1.0;

		for (size_t j = 0; j < cols; j++)
			dst[i * cols + j] = s * src[i * cols + j];
	}
}

int
rf_minnorm(const double *phi, size_t n, size_t F, const double *weight, const double *Y,
           size_t k, int threads, double *w, double *jitter, struct ad_error *e)
{
	int nt = nthreads(threads), dual = F >= n;
	size_t m = dual ? n : F;
	double *X = NULL, *Xt = NULL, *G = NULL, *diag = NULL, *R = NULL, jit = 0;
	int rc = 0;

	X = ad_mallocarray(mad(n, F, 0), sizeof *X);
	G = ad_mallocarray(mad(m, m, 0), sizeof *G);
	diag = ad_mallocarray(m, sizeof *diag);
	R = ad_mallocarray(mad(dual ? n : F, k, 0), sizeof *R);
	if (!dual)
		Xt = ad_mallocarray(mad(n, F, 0), sizeof *Xt);
	if (!X || !G || !diag || !R || (!dual && !Xt)) {
		rc = ad_fail(e, AD_ENOMEM, "rf: out of memory for the readout of %zu rows and "
		             "%zu features: use fewer of either", n, F);
		goto out;
	}
	/* X = D Phi and the right-hand sides: dual, R = D Y (n, k); primal,
	 * R = X' D Y (F, k), the normal equations' right-hand side. */
	scale_rows(X, phi, n, F, weight);
	memset(G, 0, m * m * sizeof *G);
	if (dual) {
		scale_rows(R, Y, n, k, weight);
		rf__syrk(G, m, X, F, n, F, 1.0, nt);          /* K = X X' (n, n) */
	} else {
		/* D Y (n, k) borrows Xt (n, F) before the transpose when it fits. */
		double *DY = k <= F ? Xt : ad_mallocarray(mad(n, k, 0), sizeof *DY);

		if (!DY) {
			rc = ad_fail(e, AD_ENOMEM, "rf: out of memory for the targets");
			goto out;
		}
		scale_rows(DY, Y, n, k, weight);
		memset(R, 0, F * k * sizeof *R);
		rf__gemm_tn(R, k, X, F, DY, k, F, k, n, nt);
		if (DY != Xt)
			ad_free(DY);
		for (size_t i = 0; i < n; i++)
			for (size_t f = 0; f < F; f++)
				Xt[f * n + i] = X[i * F + f];
		rf__syrk(G, m, Xt, n, F, n, 1.0, nt);         /* G = X'X (F, F) */
	}
	if ((rc = gram_solve(G, diag, m, R, k, nt, &jit, e)) < 0) {
		ad_error_prefix(e, "rf: %zu rows and %zu features", n, F);
		goto out;
	}
	if (dual) {
		/* w = X' (X X')^-1 D Y. */
		memset(w, 0, F * k * sizeof *w);
		rf__gemm_tn(w, k, X, F, R, k, F, k, n, nt);
	} else {
		memcpy(w, R, F * k * sizeof *w);
	}
	*jitter = jit;
out:
	ad_free(X);
	ad_free(Xt);
	ad_free(G);
	ad_free(diag);
	ad_free(R);
	return rc;
}

/* ---- rf_run ---- */

/*
 * The training rows after merging: u (nu) distinct contexts, each with its
 * count and its targets as (class, count) pairs in CSR form.
 */
struct rows {
	size_t    nu;
	uint32_t *ctx;      /* (nu, context) */
	double   *count;    /* (nu) samples with this context */
	size_t   *off;      /* (nu + 1) into cls and cnt */
	uint32_t *cls;      /* target class (index into the class list) */
	double   *cnt;      /* how many of the context's samples have that target */
};

static void
rows_free(struct rows *r)
{
	ad_free(r->ctx);
	ad_free(r->count);
	ad_free(r->off);
	ad_free(r->cls);
	ad_free(r->cnt);
}

/* Hash of a context of C tokens, for the open-addressing table of merge(). */
static uint64_t
ctx_hash(const uint32_t *t, size_t C)
{
	return ad_hash64(t, C * sizeof *t, 0x5eed);
}

/*
 * Merge the samples (ctx (n, C), class y (n)) into distinct contexts in
 * order of first appearance. Returns 0 or AD_ENOMEM.
 */
static int
merge(struct rows *r, const uint32_t *ctx, const uint32_t *y, size_t n, size_t C)
{
	size_t cap = 1, *slot = NULL, *which = NULL, *fill = NULL;
	int rc = AD_ENOMEM;

	memset(r, 0, sizeof *r);
	while (cap < 2 * n)
		cap <<= 1;
	slot = ad_mallocarray(cap, sizeof *slot);   /* distinct index + 1, 0: empty */
	which = ad_mallocarray(n, sizeof *which);   /* sample -> distinct index */
	r->ctx = ad_mallocarray(mad(n, C, 0), sizeof *r->ctx);
	r->count = ad_calloc(n, sizeof *r->count);
	if (!slot || !which || !r->ctx || !r->count)
		goto out;
	memset(slot, 0, cap * sizeof *slot);
	for (size_t i = 0; i < n; i++) {
		const uint32_t *t = ctx + i * C;
		size_t h = (size_t)ctx_hash(t, C) & (cap - 1);

		while (slot[h] && memcmp(r->ctx + (slot[h] - 1) * C, t, C * sizeof *t) != 0)
			h = (h + 1) & (cap - 1);
		if (!slot[h]) {
			memcpy(r->ctx + r->nu * C, t, C * sizeof *t);
			slot[h] = ++r->nu;
		}
		which[i] = slot[h] - 1;
		r->count[which[i]] += 1;
	}
	/* CSR of (class, count) per distinct context: samples bucketed by
	 * context in sample order, then equal classes merged. */
	r->off = ad_calloc(r->nu + 1, sizeof *r->off);
	fill = ad_calloc(r->nu, sizeof *fill);
	r->cls = ad_mallocarray(n, sizeof *r->cls);
	r->cnt = ad_mallocarray(n, sizeof *r->cnt);
	if (!r->off || !fill || !r->cls || !r->cnt)
		goto out;
	for (size_t u = 0; u < r->nu; u++)
		r->off[u + 1] = r->off[u] + (size_t)r->count[u];
	for (size_t i = 0; i < n; i++) {
		size_t u = which[i], at = r->off[u], j;

		for (j = at; j < at + fill[u] && r->cls[j] != y[i]; j++)
			;
		if (j < at + fill[u]) {
			r->cnt[j] += 1;
		} else {
			r->cls[j] = y[i];
			r->cnt[j] = 1;
			fill[u]++;
		}
	}
	/* Close the gaps left by merged classes. */
	{
		size_t to = 0;

		for (size_t u = 0; u < r->nu; u++) {
			size_t from = r->off[u], len = fill[u];

			memmove(r->cls + to, r->cls + from, len * sizeof *r->cls);
			memmove(r->cnt + to, r->cnt + from, len * sizeof *r->cnt);
			r->off[u] = to;
			to += len;
		}
		r->off[r->nu] = to;
	}
	rc = 0;
out:
	ad_free(slot);
	ad_free(which);
	ad_free(fill);
	if (rc < 0)
		rows_free(r);
	return rc;
}

/* The sums behind the losses of rf_result, over rows of samples. */
struct tally {
	double sq, wrong, nll, samples;
};

/*
 * Score one row: s (k) are the readout's scores of the k classes (ids
 * cls_id), every other token scores 0; the row stands for `count` samples
 * whose targets are (tcls[j], tcnt[j]) — a class index, or k for a token
 * the readout has no column for. unseen is the smallest token id outside
 * the classes (V when there is none).
 */
static void
tally_row(struct tally *t, const double *s, size_t k, const uint32_t *cls_id, uint32_t V,
          uint32_t unseen, double count, const uint32_t *tcls, const double *tcnt,
          size_t nt_, const uint32_t *tid)
{
	double ss = 0, pos = 0, best = -INFINITY, tol;
	uint32_t pred = V;

	for (size_t j = 0; j < k; j++) {
		ss += s[j] * s[j];
		pos += s[j] > 0 ? s[j] : 0;
		best = s[j] > best ? s[j] : best;
	}
	/* Ties: two tokens seen only after the same contexts have identical
	 * targets, so their scores are equal but for rounding; every score
	 * within tol of the best counts as the best, and the smallest id wins. */
	if (unseen < V && !(best > 0))
		best = 0;   /* the tokens without a column score 0 */
	tol = RF_TIE * (fabs(best) > 1 ? fabs(best) : 1);
	for (size_t j = 0; j < k; j++)
		if (s[j] >= best - tol && cls_id[j] < pred)
			pred = cls_id[j];
	if (unseen < V && 0 >= best - tol && unseen < pred)
		pred = unseen;
	pos += RF_FLOOR * V;
	t->samples += count;
	/* |s - e_y|^2 = |s|^2 - 2 s_y + 1, summed over the row's samples. */
	t->sq += count * (ss + 1);
	t->wrong += count;
	for (size_t j = 0; j < nt_; j++) {
		double sy = tcls[j] < k ? s[tcls[j]] : 0;

		t->sq -= 2 * tcnt[j] * sy;
		if (tid[j] == pred)
			t->wrong -= tcnt[j];
		t->nll -= tcnt[j] * log(((sy > 0 ? sy : 0) + RF_FLOOR) / pos);
	}
}

/*
 * One fitted model, as a scorer of contexts: with features (proj != NULL),
 * scores = phi(x) w; in the kernel limit, scores = sum_u k(x, x_u) At_u
 * over the distinct training contexts x_u.
 */
struct fit {
	const struct rf_config *c;
	size_t        k;        /* classes: columns of the scores */
	struct proj  *proj;     /* the features, or NULL: the kernel limit */
	const double *w;        /* (F, k) */
	const struct rows *r;   /* the kernel limit: the training contexts ... */
	const double *At;       /* ... (nu, k): D (D K D)^-1 D Ybar */
	double       *x;        /* per-thread inputs (nt * dim) */
	double       *block;    /* (RF_ROWS, F) features, or (RF_ROWS, nu) kernel values */
	int           nt;
};

/*
 * The kernel the features approximate (phi(x).phi(x') -> k(x, x') as F
 * grows, since phi carries 1/sqrt(F)), from x.x', |x|^2 and |x'|^2:
 * Fourier, exp(-sd^2 |x - x'|^2 / 2) (Rahimi and Recht 2007); ReLU, the
 * arc-cosine kernel of degree 1 of the inputs extended by the bias,
 * xt = (x, 1): sd^2 / (2 pi) |xt| |xt'| (sin a + (pi - a) cos a), a the
 * angle between xt and xt' (Cho and Saul 2009, equations 3 and 6).
 */
static double
kernel(const struct rf_config *c, double sd, double xy, double xx, double yy)
{
	double nx, ny, cs, a;

	if (c->act == RF_FOURIER)
		return exp(-sd * sd * (xx + yy - 2 * xy) / 2);
	nx = sqrt(xx + 1);
	ny = sqrt(yy + 1);
	cs = (xy + 1) / (nx * ny);
	cs = cs > 1 ? 1 : cs < -1 ? -1 : cs;
	a = acos(cs);
	return sd * sd / (2 * RF_PI) * nx * ny * (sin(a) + (RF_PI - a) * cs);
}

/* k(x_i, x_u) for contexts a (n) against b (nb): out (n, nb). */
static void
kernel_block(const struct rf_config *c, const uint32_t *a, size_t n, const uint32_t *b,
             size_t nb, double *out, double *x, int nt)
{
	size_t C = c->context, dim = C * c->embed;
	double sd = (c->scale > 0 ? c->scale : 1.0) / sqrt((double)C);

	/* Race-free: row i writes only row i of out and its thread's x. */
	#pragma omp parallel for schedule(static) num_threads(nt)
	for (size_t i = 0; i < n; i++) {
		double *xi = x + (size_t)omp_get_thread_num() * 2 * (dim ? dim : 1), *xu = xi + dim;
		double  xx = (double)C;

		if (dim) {
			embed_ctx(c, a + i * C, xi);
			xx = 0;
			for (size_t j = 0; j < dim; j++)
				xx += xi[j] * xi[j];
		}
		for (size_t u = 0; u < nb; u++) {
			double xy = 0, yy = (double)C;

			if (dim) {
				embed_ctx(c, b + u * C, xu);
				yy = 0;
				for (size_t j = 0; j < dim; j++) {
					xy += xi[j] * xu[j];
					yy += xu[j] * xu[j];
				}
			} else {
				for (size_t q = 0; q < C; q++)
					xy += a[i * C + q] == b[u * C + q];
			}
			out[i * nb + u] = kernel(c, sd, xy, xx, yy);
		}
	}
}

/* scores (nr, k) of the contexts ctx (nr, context), nr <= RF_ROWS. */
static void
fit_scores(const struct fit *f, const uint32_t *ctx, size_t nr, double *scores)
{
	size_t k = f->k;

	memset(scores, 0, nr * k * sizeof *scores);
	if (f->proj) {
		size_t F = f->proj->F;

		proj_features(f->proj, ctx, nr, f->block, f->x, f->nt);
		rf__gemm_nn(scores, k, f->block, F, f->w, k, nr, k, F, f->nt);
	} else {
		size_t nu = f->r->nu;

		kernel_block(f->c, ctx, nr, f->r->ctx, nu, f->block, f->x, f->nt);
		rf__gemm_nn(scores, k, f->block, nu, f->At, k, nr, k, nu, f->nt);
	}
}

/*
 * rf_run and rf_limit: the samples, the label noise, the classes and the
 * merged contexts; then the fit (features and rf_minnorm, or the kernel
 * system); then the losses, a block of rows at a time: the distinct
 * training contexts (each with its samples' targets), then the held-out
 * samples.
 */
static int
run(const struct rf_config *c, int limit, const uint32_t *train, size_t ntrain,
    const uint32_t *test, size_t ntest, uint32_t V, struct rf_result *out,
    struct ad_error *e)
{
	size_t C = c->context, F = c->features, n, m, k = 0, noisy = 0, cols;
	int nt = nthreads(c->threads), rc;
	uint32_t *y = NULL, *ctx = NULL, *cls_id = NULL, *class_of = NULL, unseen;
	double *Y = NULL, *w = NULL, *phi = NULL, *block = NULL, *scores = NULL, *x = NULL;
	double *G = NULL, *diag = NULL, jitter = 0, norm = 0;
	struct rows r;
	struct proj p;
	struct fit fit;
	struct tally tr = { 0, 0, 0, 0 }, te = { 0, 0, 0, 0 };
	struct rf_result res;

	memset(&r, 0, sizeof r);
	memset(&p, 0, sizeof p);
	if (limit) {
		/* The limit has no F: check the rest. */
		struct rf_config cl = *c;

		cl.features = 1;
		rc = rf_config_check(&cl, V, e);
	} else {
		rc = rf_config_check(c, V, e);
	}
	if (rc < 0)
		return rc;
	if (ntrain <= C || ntest <= C)
		return ad_fail(e, AD_EDATA, "rf: %s stream of %zu tokens has no sample with a "
		               "context of %zu: give more text or a shorter context",
		               ntrain <= C ? "the training" : "the held-out",
		               ntrain <= C ? ntrain : ntest, C);
	for (size_t i = 0; i < ntrain; i++)
		if (train[i] >= V)
			return ad_fail(e, AD_EINVAL, "rf: training token %zu is %u, not below V = %u",
			               i, train[i], V);
	for (size_t i = 0; i < ntest; i++)
		if (test[i] >= V)
			return ad_fail(e, AD_EINVAL, "rf: held-out token %zu is %u, not below V = %u",
			               i, test[i], V);
	n = ntrain - C;
	m = ntest - C;

	/* Samples and label noise: target i is replaced, with probability
	 * label_noise, by a uniform token; both draws hashed from (seed, i). */
	ctx = ad_mallocarray(mad(n, C, 0), sizeof *ctx);
	y = ad_mallocarray(n, sizeof *y);
	class_of = ad_mallocarray(V, sizeof *class_of);
	cls_id = ad_mallocarray(n < V ? n : V, sizeof *cls_id);
	if (!ctx || !y || !class_of || !cls_id)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		memcpy(ctx + i * C, train + i, C * sizeof *ctx);
		y[i] = train[i + C];
		if (c->label_noise > 0 && unit(key4(c->seed, 4, i, 0)) <= c->label_noise) {
			uint32_t t = (uint32_t)(unit(key4(c->seed, 5, i, 0)) * V);

			t = t < V ? t : V - 1;   /* unit() may return 1 */
			noisy += t != y[i];
			y[i] = t;
		}
	}
	/* Classes: the distinct training targets, in order of first appearance. */
	for (uint32_t v = 0; v < V; v++)
		class_of[v] = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		if (class_of[y[i]] == UINT32_MAX) {
			class_of[y[i]] = (uint32_t)k;
			cls_id[k++] = y[i];
		}
		y[i] = class_of[y[i]];
	}
	for (unseen = 0; unseen < V && class_of[unseen] != UINT32_MAX; unseen++)
		;
	if (merge(&r, ctx, y, n, C) < 0)
		goto nomem;
	if (ad_interrupted()) {
		rc = ad_fail(e, AD_EINTR, "rf: interrupted");
		goto out;
	}

	/* The mean targets of the distinct contexts, then the fit. */
	Y = ad_calloc(mad(r.nu, k, 0), sizeof *Y);
	x = ad_mallocarray((size_t)nt * 2 * (c->embed ? C * c->embed : 1), sizeof *x);
	if (!Y || !x)
		goto nomem;
	for (size_t u = 0; u < r.nu; u++)
		for (size_t j = r.off[u]; j < r.off[u + 1]; j++)
			Y[u * k + r.cls[j]] = r.cnt[j] / r.count[u];
	memset(&fit, 0, sizeof fit);
	fit.c = c;
	fit.k = k;
	fit.x = x;
	fit.nt = nt;
	if (!limit) {
		if ((rc = proj_new(&p, c, nt, e)) < 0)
			goto out;
		phi = ad_mallocarray(mad(r.nu, F, 0), sizeof *phi);
		w = ad_mallocarray(mad(F, k, 0), sizeof *w);
		if (!phi || !w)
			goto nomem;
		proj_features(&p, r.ctx, r.nu, phi, x, nt);
		rc = rf_minnorm(phi, r.nu, F, r.count, Y, k, c->threads, w, &jitter, e);
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < F * k; i++)
			norm += w[i] * w[i];
		fit.proj = &p;
		fit.w = w;
		cols = F;
	} else {
		/* (D K D) A = D Ybar; At = D A; |w|^2 -> A' (D K D) A = A . D Ybar. */
		size_t nu = r.nu;

		G = ad_mallocarray(mad(nu, nu, 0), sizeof *G);
		diag = ad_mallocarray(nu, sizeof *diag);
		w = ad_mallocarray(mad(nu, k, 0), sizeof *w);
		if (!G || !diag || !w)
			goto nomem;
		kernel_block(c, r.ctx, nu, r.ctx, nu, G, x, nt);
		for (size_t u = 0; u < nu; u++)
			for (size_t q = 0; q <= u; q++)
				G[u * nu + q] *= sqrt(r.count[u] * r.count[q]);
		scale_rows(w, Y, nu, k, r.count);
		if ((rc = gram_solve(G, diag, nu, w, k, nt, &jitter, e)) < 0) {
			ad_error_prefix(e, "rf: the kernel limit on %zu contexts", nu);
			goto out;
		}
		for (size_t u = 0; u < nu; u++)
			for (size_t j = 0; j < k; j++) {
				norm += w[u * k + j] * sqrt(r.count[u]) * Y[u * k + j];
				w[u * k + j] *= sqrt(r.count[u]);
			}
		fit.r = &r;
		fit.At = w;
		cols = nu;
	}
	ad_free(phi);
	phi = NULL;
	ad_free(Y);
	Y = NULL;
	ad_free(G);
	G = NULL;
	if (ad_interrupted()) {
		rc = ad_fail(e, AD_EINTR, "rf: interrupted");
		goto out;
	}

	block = ad_mallocarray(mad(RF_ROWS, cols, 0), sizeof *block);
	scores = ad_mallocarray(mad(RF_ROWS, k, 0), sizeof *scores);
	if (!block || !scores)
		goto nomem;
	fit.block = block;
	for (size_t u0 = 0; u0 < r.nu; u0 += RF_ROWS) {
		size_t nr = r.nu - u0 < RF_ROWS ? r.nu - u0 : RF_ROWS;

		fit_scores(&fit, r.ctx + u0 * C, nr, scores);
		for (size_t a = 0; a < nr; a++) {
			size_t u = u0 + a, at = r.off[u], len = r.off[u + 1] - at;
			uint32_t tid[RF_ROWS];

			/* tid: the token ids of the row's targets, in chunks. */
			for (size_t j0 = 0; j0 < len; j0 += RF_ROWS) {
				size_t nj = len - j0 < RF_ROWS ? len - j0 : RF_ROWS;

				for (size_t j = 0; j < nj; j++)
					tid[j] = cls_id[r.cls[at + j0 + j]];
				tally_row(&tr, scores + a * k, k, cls_id, V, unseen,
				          j0 == 0 ? r.count[u] : 0, r.cls + at + j0, r.cnt + at + j0,
				          nj, tid);
			}
		}
		if (ad_interrupted()) {
			rc = ad_fail(e, AD_EINTR, "rf: interrupted");
			goto out;
		}
	}
	for (size_t i0 = 0; i0 < m; i0 += RF_ROWS) {
		size_t nr = m - i0 < RF_ROWS ? m - i0 : RF_ROWS;
		uint32_t tctx[RF_ROWS * 16], *tc = tctx;

		if (C > 16) {
			tc = ad_mallocarray(mad(nr, C, 0), sizeof *tc);
			if (!tc)
				goto nomem;
		}
		for (size_t a = 0; a < nr; a++)
			memcpy(tc + a * C, test + i0 + a, C * sizeof *tc);
		fit_scores(&fit, tc, nr, scores);
		if (tc != tctx)
			ad_free(tc);
		for (size_t a = 0; a < nr; a++) {
			uint32_t tok = test[i0 + a + C];
			uint32_t tcl = class_of[tok] == UINT32_MAX ? (uint32_t)k : class_of[tok];
			double one = 1;

			tally_row(&te, scores + a * k, k, cls_id, V, unseen, 1, &tcl, &one, 1, &tok);
		}
		if (ad_interrupted()) {
			rc = ad_fail(e, AD_EINTR, "rf: interrupted");
			goto out;
		}
	}

	memset(&res, 0, sizeof res);
	res.n_train = n;
	res.n_distinct = r.nu;
	res.n_test = m;
	res.classes = k;
	res.noisy = noisy;
	res.dual = limit || F >= r.nu;
	res.train_mse = tr.sq / tr.samples;
	res.test_mse = te.sq / te.samples;
	res.train_err = tr.wrong / tr.samples;
	res.test_err = te.wrong / te.samples;
	res.train_logloss = tr.nll / tr.samples;
	res.test_logloss = te.nll / te.samples;
	res.norm = sqrt(norm);
	res.jitter = jitter;
	*out = res;
	rc = 0;
	goto out;
nomem:
	rc = ad_fail(e, AD_ENOMEM, "rf: out of memory for %zu training samples and %zu "
	             "features (about %zu MB): use fewer of either", n, limit ? n : F,
	             rf_memory(c, ntrain, ntest, V) >> 20);
out:
	rows_free(&r);
	proj_free(&p);
	ad_free(ctx);
	ad_free(y);
	ad_free(class_of);
	ad_free(cls_id);
	ad_free(Y);
	ad_free(w);
	ad_free(phi);
	ad_free(G);
	ad_free(diag);
	ad_free(block);
	ad_free(scores);
	ad_free(x);
	return rc;
}

int
rf_run(const struct rf_config *c, const uint32_t *train, size_t ntrain,
       const uint32_t *test, size_t ntest, uint32_t V, struct rf_result *out,
       struct ad_error *e)
{
	return run(c, 0, train, ntrain, test, ntest, V, out, e);
}

int
rf_limit(const struct rf_config *c, const uint32_t *train, size_t ntrain,
         const uint32_t *test, size_t ntest, uint32_t V, struct rf_result *out,
         struct ad_error *e)
{
	return run(c, 1, train, ntrain, test, ntest, V, out, e);
}
