/*
 * tune.c — choosing k, tau and lambda on one half of a held-out text and
 * reporting on the other (Khandelwal et al. tuned lambda on validation
 * data and reported on test data; we have one held-out text, so we cut it).
 *
 * The first half is searched once with the largest k of the grid: each
 * position keeps its KNN_TUNE_KMAX nearest distances and whether each
 * neighbour's value is the true next token, so every (k, tau, lambda) of
 * the grid is scored from memory, without searching again. tau runs over
 * powers of two times the median distance to the nearest key (distances
 * have the scale of the keys, which no fixed tau fits). The second half is
 * then scored with the chosen parameters: the transformer alone, p_kNN
 * alone and their mixture, and per token id the nats the mixture gained.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/progress.h"
#include "knn/knn.h"
#include "lm/lm.h"
#include "nn/nn.h"

#define KNN_TUNE_KMAX 128

struct half_ctx {
	const struct knn_store *s;
	const uint32_t         *ids;
	size_t                  k;         /* neighbours searched */
	enum knn_metric         metric;
	uint32_t               *idx;       /* (T, k) scratch */
	float                  *dist;      /* (T, k) scratch */
	/* First half: per position. */
	float                  *pd;        /* (n, k) distances */
	uint8_t                *hit;       /* (n, k) the neighbour's value is the token */
	double                 *lp;        /* (n) the transformer's ln p */
	/* Second half: the tuned mixture, sums and gains. */
	const struct knn_params *p;
	struct knn_tune        *out;
	double                 *gain;      /* (V) */
	uint64_t               *count;     /* (V) */
};

static int
tune_rows(void *ctx, size_t first, size_t len, const float *rows, const double *lp,
    struct ad_error *e)
{
	struct half_ctx *h = ctx;
	size_t           k = h->k;
	double           t0 = ad_now();
	int              rc;

	if ((rc = knn_search(h->s->keys, h->s->sqnorms, h->s->N, h->s->C, h->metric, rows, len, k,
	    h->idx, h->dist, NULL, e)) != 0)
		return rc;
	if (h->p == NULL) {
		for (size_t i = 0; i < len; i++) {
			size_t t = first + i;
			h->lp[t] = lp[i];
			for (size_t j = 0; j < k; j++) {
				uint32_t ix = h->idx[i * k + j];
				h->pd[t * k + j] = h->dist[i * k + j];
				h->hit[t * k + j] = ix != UINT32_MAX && h->s->values[ix] == h->ids[t];
			}
		}
		return ad_interrupted() ? ad_fail(e, AD_EINTR, "interrupted") : 0;
	}
	h->out->search_seconds += ad_now() - t0;
	h->out->queries += len;
	h->out->flops += 2.0 * (double)len * (double)h->s->N * h->s->C;
	for (size_t i = 0; i < len; i++) {
		uint32_t y = h->ids[first + i];
		double   lk = knn_log_pknn(h->dist + i * k, h->idx + i * k, h->s->values, k,
		    h->p->temperature, y);
		double   mix = knn_mix(h->p->lambda, lp[i], lk);
		h->out->test_nats_lm -= lp[i];
		h->out->test_nats_mix -= mix;
		if (lk == -INFINITY)
			h->out->test_knn_zero++;
		else
			h->out->test_nats_knn -= lk;
		h->gain[y] += mix - lp[i];
		h->count[y]++;
	}
	return ad_interrupted() ? ad_fail(e, AD_EINTR, "interrupted") : 0;
}

static int
float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

static int
gain_cmp(const void *a, const void *b)
{
	const struct knn_token_gain *x = a, *y = b;

	if (x->nats != y->nats)
		return x->nats > y->nats ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* ln p_kNN of each first-half position under (k, tau), into lk (n). */
static void
grid_lk(const struct half_ctx *h, size_t n, size_t k, double tau, double *lk)
{
	for (size_t t = 0; t < n; t++) {
		const float   *d = h->pd + t * h->k;
		const uint8_t *hit = h->hit + t * h->k;
		double         z = 0, num = 0;
		for (size_t j = 0; j < k && isfinite(d[j]); j++) {
			double w = exp(-((double)d[j] - d[0]) / tau);
			z += w;
			num += hit[j] ? w : 0;
		}
		lk[t] = num > 0 ? log(num / z) : -INFINITY;
	}
}

int
knn_tune(struct lm *m, const uint8_t *text, size_t len, struct knn_tune *out,
    struct ad_error *e)
{
	const struct knn_store *s = knn_lm_store(m);
	const struct lm        *inner = knn_lm_inner(m);
	struct knn_tune         r = { 0 };
	struct half_ctx         h = { 0 };
	uint32_t               *ids = NULL;
	size_t                  n1 = 0, n2 = 0, cap = 0, cut, T;
	double                  med, best = INFINITY;
	int                     rc;

	if (s == NULL)
		return ad_fail(e, AD_EINVAL, "%s: not a kNN-LM store", m->path);
	T = m->context;
	/* The cut: the first newline at or after the middle byte. */
	for (cut = len / 2 > 0 ? len / 2 : 1; cut < len && text[cut - 1] != '\n'; cut++)
		;
	if (cut >= len)
		cut = len / 2;   /* no newline after the middle: the middle byte */
	if (cut == 0)
		return ad_fail(e, AD_EDATA, "the held-out text is too short to cut in two halves "
		    "(one to tune on, one to report on): give more text");
	if ((rc = lm_encode(m, text, cut, &ids, &n1, &cap, e)) != 0)
		goto out;
	n2 = n1;   /* the second half is appended after the first */
	if ((rc = lm_encode(m, text + cut, len - cut, &ids, &n2, &cap, e)) != 0)
		goto out;
	n2 -= n1;
	if (n1 == 0 || n2 == 0) {
		rc = ad_fail(e, AD_EDATA, "a half of the held-out text holds no tokens");
		goto out;
	}
	h.s = s;
	h.ids = ids;
	h.metric = s->params.metric;
	h.k = KNN_TUNE_KMAX < s->N ? KNN_TUNE_KMAX : (size_t)s->N;
	h.idx = ad_mallocarray(T * h.k, sizeof *h.idx);
	h.dist = ad_mallocarray(T * h.k, sizeof *h.dist);
	h.pd = ad_mallocarray(n1 * h.k, sizeof *h.pd);
	h.hit = ad_mallocarray(n1 * h.k, 1);
	h.lp = ad_mallocarray(2 * n1, sizeof *h.lp);   /* ln p_LM, then ln p_kNN */
	h.gain = ad_calloc(m->V, sizeof *h.gain);
	h.count = ad_calloc(m->V, sizeof *h.count);
	if (h.idx == NULL || h.dist == NULL || h.pd == NULL || h.hit == NULL || h.lp == NULL ||
	    h.gain == NULL || h.count == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the neighbours of %zu tokens", n1);
		goto out;
	}
	if ((rc = knn_contexts(inner, ids, n1, tune_rows, &h, e)) != 0)
		goto out;
	/* The grid: tau scaled by the median nearest distance. */
	{
		float *d1 = ad_mallocarray(n1, sizeof *d1);
		if (d1 == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t t = 0; t < n1; t++)
			d1[t] = h.pd[t * h.k];
		qsort(d1, n1, sizeof *d1, float_cmp);
		med = d1[n1 / 2] > 0 ? d1[n1 / 2] : 1;
		ad_free(d1);
	}
	r.tune_tokens = n1;
	for (size_t t = 0; t < n1; t++)
		r.tune_nats_lm -= h.lp[t];
	r.best = s->params;
	for (size_t ki = 0; ki < KNN_TUNE_K && ((size_t)1 << ki) <= h.k; ki++)
		for (int ti = 0; ti < KNN_TUNE_TAU; ti++) {
			double tau = med * ldexp(1.0, ti - KNN_TUNE_TAU / 2);
			grid_lk(&h, n1, (size_t)1 << ki, tau, h.lp + n1);
			for (int li = 0; li < KNN_TUNE_LAM; li++) {
				double lam = li / (double)(KNN_TUNE_LAM - 1), nats = 0;
				for (size_t t = 0; t < n1; t++)
					nats -= knn_mix(lam, h.lp[t], h.lp[n1 + t]);
				if (nats < best) {
					best = nats;
					r.best.k = 1u << ki;
					r.best.temperature = tau;
					r.best.lambda = lam;
				}
			}
		}
	r.tune_nats_best = best;
	if ((rc = knn_lm_set_params(m, &r.best, e)) != 0)
		goto out;
	/* The second half, with the chosen parameters. */
	h.k = r.best.k;
	h.p = &r.best;
	h.out = &r;
	h.ids = ids + n1;
	r.test_tokens = n2;
	r.test_bytes = len - cut;
	if ((rc = knn_contexts(inner, ids + n1, n2, tune_rows, &h, e)) != 0)
		goto out;
	if (r.test_knn_zero > 0)
		r.test_nats_knn = INFINITY;
	for (uint32_t v = 0; v < m->V; v++)
		r.ngains += h.count[v] > 0;
	if ((r.gains = ad_mallocarray(r.ngains > 0 ? r.ngains : 1, sizeof *r.gains)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto out;
	}
	r.ngains = 0;
	for (uint32_t v = 0; v < m->V; v++)
		if (h.count[v] > 0)
			r.gains[r.ngains++] = (struct knn_token_gain){ v, h.count[v], h.gain[v] };
	qsort(r.gains, r.ngains, sizeof *r.gains, gain_cmp);
	*out = r;
out:
	ad_free(ids);
	ad_free(h.idx);
	ad_free(h.dist);
	ad_free(h.pd);
	ad_free(h.hit);
	ad_free(h.lp);
	ad_free(h.gain);
	ad_free(h.count);
	return rc;
}

void
knn_tune_free(struct knn_tune *t)
{
	if (t != NULL) {
		ad_free(t->gains);
		t->gains = NULL;
	}
}
