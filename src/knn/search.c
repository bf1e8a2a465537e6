/*
 * search.c — exact k-nearest-neighbour search by blocked matrix products.
 *
 * All queries of a window are searched at once: for each block of KNN_BLOCK
 * keys, one product S = Q K^T (nq x block, nn_sgemm at the kernels' rate)
 * turns into distances ||q||^2 + ||k||^2 - 2 q.k (or 1 - q.k / (|q| |k|))
 * and each query keeps its k best in a bounded max-heap, ordered by
 * (distance, index) so that the result does not depend on the thread count
 * or the block size. knn_search_ref is the oracle: the same in double with
 * plain loops and a full sort.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "knn/knn.h"
#include "nn/nn.h"

/* Scores held at once, nq x block floats (16 MB): the key block is as long
 * as that allows, 1024 to 65536 keys, so that a window's search is a few
 * large products and parallel regions rather than many small ones (on a
 * shared machine every region's barrier waits for the slowest thread). */
#define KNN_SCORES (1u << 22)

/* (d, i) is worse than (e, j): larger distance, or the same and a larger index. */
static int
worse(float d, uint32_t i, float e, uint32_t j)
{
	return d > e || (d == e && i > j);
}

/* Restore the max-heap below position p (n entries). */
static void
heap_down(float *hd, uint32_t *hi, size_t n, size_t p)
{
	for (;;) {
		size_t l = 2 * p + 1, r = l + 1, m = p;
		if (l < n && worse(hd[l], hi[l], hd[m], hi[m]))
			m = l;
		if (r < n && worse(hd[r], hi[r], hd[m], hi[m]))
			m = r;
		if (m == p)
			return;
		float    td = hd[p];
		uint32_t ti = hi[p];
		hd[p] = hd[m]; hi[p] = hi[m];
		hd[m] = td;    hi[m] = ti;
		p = m;
	}
}

/* Offer (d, i) to a heap of at most k holding *n. */
static void
heap_offer(float *hd, uint32_t *hi, size_t *n, size_t k, float d, uint32_t i)
{
	if (*n < k) {
		size_t c = (*n)++;
		hd[c] = d;
		hi[c] = i;
		while (c > 0) {
			size_t p = (c - 1) / 2;
			if (!worse(hd[c], hi[c], hd[p], hi[p]))
				break;
			float    td = hd[p];
			uint32_t ti = hi[p];
			hd[p] = hd[c]; hi[p] = hi[c];
			hd[c] = td;    hi[c] = ti;
			c = p;
		}
		return;
	}
	if (!worse(hd[0], hi[0], d, i))
		return;
	hd[0] = d;
	hi[0] = i;
	heap_down(hd, hi, k, 0);
}

/* Heap to ascending order in place (heapsort), padding up to k. */
static void
heap_sort(float *hd, uint32_t *hi, size_t n, size_t k)
{
	for (size_t m = n; m > 1; m--) {
		float    td = hd[0];
		uint32_t ti = hi[0];
		hd[0] = hd[m - 1]; hi[0] = hi[m - 1];
		hd[m - 1] = td;    hi[m - 1] = ti;
		heap_down(hd, hi, m - 1, 0);
	}
	for (size_t j = n; j < k; j++) {
		hd[j] = INFINITY;
		hi[j] = UINT32_MAX;
	}
}

int
knn_search(const float *keys, const float *sqnorms, size_t N, size_t C, enum knn_metric metric,
    const float *queries, size_t nq, size_t k, uint32_t *idx, float *dist, float *dmax,
    struct ad_error *e)
{
	size_t  blk = nq > 0 ? KNN_SCORES / nq : KNN_SCORES;
	float  *S, *qsq;
	size_t *cnt;

	if (nq == 0 || k == 0)
		return 0;
	blk = blk < 1024 ? 1024 : blk > 65536 ? 65536 : blk;
	blk = N < blk ? N : blk;
	if (N > UINT32_MAX - 1)
		return ad_fail(e, AD_EINVAL, "a store of %zu keys: at most %u are searched", N,
		    UINT32_MAX - 1);
	S = ad_mallocarray(nq * (blk > 0 ? blk : 1), sizeof *S);
	qsq = ad_mallocarray(nq, sizeof *qsq);
	cnt = ad_calloc(nq, sizeof *cnt);
	if (S == NULL || qsq == NULL || cnt == NULL) {
		ad_free(S);
		ad_free(qsq);
		ad_free(cnt);
		return ad_fail(e, AD_ENOMEM, "out of memory searching %zu queries", nq);
	}
	for (size_t q = 0; q < nq; q++) {
		qsq[q] = nn_dot(queries + q * C, queries + q * C, C);
		if (dmax != NULL)
			dmax[q] = -INFINITY;
	}
	for (size_t b0 = 0; b0 < N; b0 += blk) {
		size_t nb = N - b0 < blk ? N - b0 : blk;
		/* S (nq, nb) = Q (nq, C) K_block^T: the keys are rows, so transB. */
		nn_sgemm(0, 1, nq, nb, C, queries, C, keys + b0 * C, C, S, nb, 0);
		/* Race-free: query q writes its own heap, count and dmax only. */
		#pragma omp parallel for schedule(static) if (nq >= 8)
		for (long ql = 0; ql < (long)nq; ql++) {
			size_t       q = (size_t)ql;
			const float *s = S + q * nb;
			float       *hd = dist + q * k, mx = dmax != NULL ? dmax[q] : 0;
			uint32_t    *hi = idx + q * k;
			float        qn = sqrtf(qsq[q]);
			for (size_t j = 0; j < nb; j++) {
				float d, ks = sqnorms[b0 + j];
				if (metric == KNN_COSINE) {
					float den = qn * sqrtf(ks);
					d = den > 0 ? 1.0f - s[j] / den : 1.0f;
				} else {
					d = qsq[q] + ks - 2.0f * s[j];
					d = d > 0 ? d : 0;
				}
				mx = d > mx ? d : mx;
				heap_offer(hd, hi, &cnt[q], k, d, (uint32_t)(b0 + j));
			}
			if (dmax != NULL)
				dmax[q] = mx;
		}
	}
	for (size_t q = 0; q < nq; q++)
		heap_sort(dist + q * k, idx + q * k, cnt[q], k);
	ad_free(S);
	ad_free(qsq);
	ad_free(cnt);
	return 0;
}

/* ---- The oracle ---------------------------------------------------------- */

struct ref_pair {
	double   d;
	uint32_t i;
};

static int
ref_cmp(const void *a, const void *b)
{
	const struct ref_pair *x = a, *y = b;

	if (x->d != y->d)
		return x->d < y->d ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

int
knn_search_ref(const float *keys, size_t N, size_t C, enum knn_metric metric,
    const float *queries, size_t nq, size_t k, uint32_t *idx, double *dist)
{
	struct ref_pair *p = ad_mallocarray(N > 0 ? N : 1, sizeof *p);

	if (p == NULL)
		return AD_ENOMEM;
	for (size_t q = 0; q < nq; q++) {
		const float *x = queries + q * C;
		for (size_t n = 0; n < N; n++) {
			const float *y = keys + n * C;
			double       dot = 0, xx = 0, yy = 0, d2 = 0;
			for (size_t c = 0; c < C; c++) {
				dot += (double)x[c] * y[c];
				xx += (double)x[c] * x[c];
				yy += (double)y[c] * y[c];
				d2 += ((double)x[c] - y[c]) * ((double)x[c] - y[c]);
			}
			p[n].d = metric == KNN_COSINE ? (xx > 0 && yy > 0 ? 1 - dot / sqrt(xx * yy) : 1)
			                              : d2;
			p[n].i = (uint32_t)n;
		}
		qsort(p, N, sizeof *p, ref_cmp);
		for (size_t j = 0; j < k; j++) {
			idx[q * k + j] = j < N ? p[j].i : UINT32_MAX;
			dist[q * k + j] = j < N ? p[j].d : INFINITY;
		}
	}
	ad_free(p);
	return 0;
}
