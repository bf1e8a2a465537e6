/*
 * contrast.c — the curse of dimensionality, measured on a store.
 *
 * Beyer et al. (1999, "When is nearest neighbor meaningful?") showed that
 * for many distributions the ratio D_max / D_min of a query's farthest and
 * nearest points tends to 1 as the dimension grows; Aggarwal et al. (2001)
 * measure it as the relative contrast (D_max - D_min) / D_min. For i.i.d.
 * Gaussian data the distances concentrate around sqrt(2 D) with a spread
 * that does not grow, so the contrast falls like 1 / sqrt(D). Learned
 * vectors escape this as far as they lie near a low-dimensional structure;
 * two estimates of that structure's dimension are given: the PCA spectrum
 * (components for 90% of the variance, and the participation ratio
 * (sum l)^2 / sum l^2) and TwoNN (Facco et al. 2017, Scientific Reports 7,
 * 12140: from the ratio mu = r2 / r1 of each point's two nearest distances,
 * the maximum-likelihood d = n / sum ln mu).
 *
 * Distances here are Euclidean (not squared); every query is one of the
 * points, searched against all the others.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "base/rng.h"
#include "knn/knn.h"
#include "nn/nn.h"

int
knn_contrast_of(const float *x, size_t n, size_t D, const uint32_t *values, size_t nq,
    uint32_t k, double *contrast, double *agree, double *twonn, struct ad_error *e)
{
	size_t    K = (size_t)k + 1, used = 0, uk = 0, u2 = 0;
	float    *sq = ad_mallocarray(n, sizeof *sq), *Q = ad_mallocarray(nq * D, sizeof *Q);
	float    *dist = ad_mallocarray(nq * K, sizeof *dist), *dmax = ad_mallocarray(nq, 4);
	uint32_t *idx = ad_mallocarray(nq * K, sizeof *idx);
	double    rc_sum = 0, agree_n = 0, lmu = 0;
	int       rc = 0;

	if (nq > n)
		nq = n;
	if (sq == NULL || Q == NULL || dist == NULL || dmax == NULL || idx == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the contrast of %zu points", n);
		goto out;
	}
	if (n < K + 1) {
		rc = ad_fail(e, AD_EDATA, "%zu points: the contrast of %u neighbours needs at least "
		    "%zu", n, k, K + 1);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		sq[i] = nn_dot(x + i * D, x + i * D, D);
	/* Queries spread evenly over the points (the points are in random order). */
	for (size_t q = 0; q < nq; q++)
		memcpy(Q + q * D, x + (q * n / nq) * D, D * sizeof *Q);
	if ((rc = knn_search(x, sq, n, D, KNN_L2, Q, nq, K, idx, dist, dmax, e)) != 0)
		goto out;
	for (size_t q = 0; q < nq; q++) {
		uint32_t self = (uint32_t)(q * n / nq);
		double   r[2] = { 0, 0 };
		size_t   got = 0, same = 0;
		/* The K nearest less the query itself (or the last, when a
		 * duplicate of the query hid it). */
		for (size_t j = 0; j < K; j++) {
			uint32_t i = idx[q * K + j];
			if (i == self || (j + 1 == K && got == k))
				continue;
			if (got < 2)
				r[got] = sqrt((double)dist[q * K + j]);
			if (values != NULL && values[i] == values[self])
				same++;
			got++;
		}
		agree_n += (double)same / k;
		uk++;
		if (r[0] > 0) {
			rc_sum += (sqrt((double)dmax[q]) - r[0]) / r[0];
			used++;
			if (got >= 2 && r[1] > r[0]) {
				lmu += log(r[1] / r[0]);
				u2++;
			}
		}
	}
	*contrast = used > 0 ? rc_sum / (double)used : NAN;
	*agree = values != NULL && uk > 0 ? agree_n / (double)uk : NAN;
	if (twonn != NULL)
		*twonn = lmu > 0 ? (double)u2 / lmu : NAN;
out:
	ad_free(sq);
	ad_free(Q);
	ad_free(dist);
	ad_free(dmax);
	ad_free(idx);
	return rc;
}

/*
 * Eigenvalues (decreasing, into w) and eigenvectors (columns of v, n x n) of
 * the symmetric a (n x n, destroyed): cyclic Jacobi rotations (Golub & Van
 * Loan, "Matrix Computations", section 8.5) until the off-diagonal is
 * negligible. O(n^3) a sweep; for n <= 1024, a few seconds at most.
 */
static void
jacobi_eigen(double *a, double *v, double *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			v[i * n + j] = i == j;
	for (int sweep = 0; sweep < 60; sweep++) {
		double off = 0, diag = 0;
		for (size_t i = 0; i < n; i++) {
			diag += a[i * n + i] * a[i * n + i];
			for (size_t j = i + 1; j < n; j++)
				off += a[i * n + j] * a[i * n + j];
		}
		if (off <= 1e-22 * diag)
			break;
		for (size_t p = 0; p < n; p++)
			for (size_t q = p + 1; q < n; q++) {
				double apq = a[p * n + q], theta, t, c, s;
				if (fabs(apq) < 1e-300)
					continue;
				theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
				t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1));
				c = 1 / sqrt(t * t + 1);
				s = t * c;
				for (size_t r = 0; r < n; r++) {   /* columns p, q */
					double arp = a[r * n + p], arq = a[r * n + q];
					a[r * n + p] = c * arp - s * arq;
					a[r * n + q] = s * arp + c * arq;
				}
				for (size_t r = 0; r < n; r++) {   /* rows p, q */
					double apr = a[p * n + r], aqr = a[q * n + r];
					a[p * n + r] = c * apr - s * aqr;
					a[q * n + r] = s * apr + c * aqr;
				}
				for (size_t r = 0; r < n; r++) {
					double vrp = v[r * n + p], vrq = v[r * n + q];
					v[r * n + p] = c * vrp - s * vrq;
					v[r * n + q] = s * vrp + c * vrq;
				}
			}
	}
	for (size_t i = 0; i < n; i++)
		w[i] = a[i * n + i];
	/* Selection sort into decreasing order, moving the vectors along. */
	for (size_t i = 0; i < n; i++) {
		size_t m = i;
		for (size_t j = i + 1; j < n; j++)
			m = w[j] > w[m] ? j : m;
		if (m == i)
			continue;
		double t = w[i];
		w[i] = w[m];
		w[m] = t;
		for (size_t r = 0; r < n; r++) {
			t = v[r * n + i];
			v[r * n + i] = v[r * n + m];
			v[r * n + m] = t;
		}
	}
}

static int
add_row(struct knn_contrast *c, const char *set, uint32_t dim, const float *x, size_t n,
    const uint32_t *values, size_t nq, uint32_t k, double *twonn, struct ad_error *e)
{
	struct knn_contrast_row *r = &c->rows[c->nrows];
	int                      rc;

	r->set = set;
	r->dim = dim;
	if ((rc = knn_contrast_of(x, n, dim, values, nq, k, &r->contrast, &r->agree, twonn, e))
	    != 0)
		return rc;
	c->nrows++;
	return 0;
}

int
knn_contrast_run(const struct knn_store *s, size_t points, size_t queries, uint32_t k,
    uint64_t seed, struct knn_contrast *out, struct ad_error *e)
{
	struct knn_contrast c = { 0 };
	struct ad_rng       rng;
	size_t              n = points < s->N ? points : (size_t)s->N, C = s->C, ndims = 0;
	uint32_t           *perm = NULL, *vals = NULL, dims[40];
	float              *X = NULL, *Y = NULL;
	double             *cov = NULL, *vec = NULL, *mean = NULL;
	uint64_t            same = 0, pairs = 0, *count = NULL;
	int                 rc = 0;

	if (k < 1 || n < (size_t)k + 2)
		return ad_fail(e, AD_EDATA, "%zu points and k = %u: the contrast needs k >= 1 and "
		    "at least k + 2 points", n, k);
	for (uint32_t d = 1; d < C; d *= 2)
		dims[ndims++] = d;
	dims[ndims++] = (uint32_t)C;
	perm = ad_mallocarray(s->N, sizeof *perm);
	vals = ad_mallocarray(n, sizeof *vals);
	X = ad_mallocarray(n * C, sizeof *X);
	Y = ad_mallocarray(n * C, sizeof *Y);
	cov = ad_calloc(C * C, sizeof *cov);
	vec = ad_mallocarray(C * C, sizeof *vec);
	mean = ad_calloc(C, sizeof *mean);
	c.spectrum = ad_mallocarray(C, sizeof *c.spectrum);
	c.rows = ad_calloc(3 * ndims, sizeof *c.rows);
	count = ad_calloc(s->V, sizeof *count);
	if (perm == NULL || vals == NULL || X == NULL || Y == NULL || cov == NULL || vec == NULL ||
	    mean == NULL || c.spectrum == NULL || c.rows == NULL || count == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the contrast of %zu points", n);
		goto out;
	}
	/* A seeded sample without replacement: the first n of a partial
	 * Fisher-Yates shuffle. */
	ad_rng_seed(&rng, seed, 0);
	for (size_t i = 0; i < s->N; i++)
		perm[i] = (uint32_t)i;
	for (size_t i = 0; i < n; i++) {
		size_t   j = i + ad_rng_below(&rng, (uint32_t)(s->N - i));
		uint32_t t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
		memcpy(X + i * C, s->keys + (size_t)perm[i] * C, C * sizeof *X);
		vals[i] = s->values[perm[i]];
		count[vals[i]]++;
	}
	for (uint32_t v = 0; v < s->V; v++)
		same += count[v] * (count[v] > 0 ? count[v] - 1 : 0);
	pairs = (uint64_t)n * (n - 1);
	c.chance = (double)same / (double)pairs;
	c.points = n;
	c.queries = queries < n ? queries : n;
	c.k = k;
	c.C = (uint32_t)C;
	/* Random Gaussian data of the same count, with the sample's values. */
	for (size_t d = 0; d < ndims; d++) {
		for (size_t i = 0; i < n * dims[d]; i++)
			Y[i] = (float)ad_rng_normal(&rng);
		if ((rc = add_row(&c, "gaussian", dims[d], Y, n, vals, c.queries, k, NULL, e)) != 0)
			goto out;
	}
	if ((rc = add_row(&c, "model", (uint32_t)C, X, n, vals, c.queries, k, &c.twonn, e)) != 0)
		goto out;
	/* PCA: the covariance in double, its eigenvectors, the projections. */
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; a < C; a++)
			mean[a] += X[i * C + a];
	for (size_t a = 0; a < C; a++)
		mean[a] /= (double)n;
	for (size_t i = 0; i < n; i++)
		for (size_t a = 0; a < C; a++) {
			double xa = X[i * C + a] - mean[a];
			for (size_t b = a; b < C; b++)
				cov[a * C + b] += xa * (X[i * C + b] - mean[b]);
		}
	for (size_t a = 0; a < C; a++)
		for (size_t b = a; b < C; b++)
			cov[b * C + a] = cov[a * C + b] /= (double)(n - 1);
	jacobi_eigen(cov, vec, c.spectrum, C);
	{
		double total = 0, sum = 0, sq = 0, acc = 0;
		for (size_t a = 0; a < C; a++) {
			double l = c.spectrum[a] > 0 ? c.spectrum[a] : 0;
			total += l;
			sq += l * l;
		}
		sum = total;
		c.participation = sq > 0 ? sum * sum / sq : NAN;
		c.pca90 = (double)C;
		for (size_t a = 0; a < C; a++) {
			acc += c.spectrum[a] > 0 ? c.spectrum[a] : 0;
			if (acc >= 0.9 * total) {
				c.pca90 = (double)(a + 1);
				break;
			}
		}
	}
	for (size_t d = 0; d + 1 < ndims; d++) {
		size_t D = dims[d];
		for (size_t i = 0; i < n; i++)
			for (size_t j = 0; j < D; j++) {
				double y = 0;
				for (size_t a = 0; a < C; a++)
					y += (X[i * C + a] - mean[a]) * vec[a * C + j];
				Y[i * D + j] = (float)y;
			}
		if ((rc = add_row(&c, "pca", (uint32_t)D, Y, n, vals, c.queries, k, NULL, e)) != 0)
			goto out;
	}
	*out = c;
	c.spectrum = NULL;
	c.rows = NULL;
out:
	knn_contrast_free(&c);
	ad_free(perm);
	ad_free(vals);
	ad_free(X);
	ad_free(Y);
	ad_free(cov);
	ad_free(vec);
	ad_free(mean);
	ad_free(count);
	return rc;
}

void
knn_contrast_free(struct knn_contrast *c)
{
	if (c == NULL)
		return;
	ad_free(c->spectrum);
	ad_free(c->rows);
	c->spectrum = NULL;
	c->rows = NULL;
}
