/*
 * adjust.c — stage 2: raw counts to adjusted counts, for every order.
 *
 * Input: m->g[N] from count.c: the distinct N-token windows with raw
 * counts, sorted by ids, plus records for sentences shorter than N padded
 * with NGRAM_PAD.
 * Output: m->g[n] for n = 1..N, every n-gram of the model with its adjusted
 * count a, each sorted by ids (lexicographic):
 *  - order N: a = the raw count;
 *  - order n < N, starting with <s>: a = the raw count, the number of
 *    sentences that begin with it (sums over the windows and padded
 *    records that start with it);
 *  - order n < N, otherwise: a = the number of distinct tokens v with
 *    "v g" an (n+1)-gram — the continuation count N1+(. g) of Kneser & Ney
 *    (Chen & Goodman 1998, section 3.4, eq. 15 applied to lower orders);
 *  - <unk> and <s>: a = 0 (lmplz).
 * An n-gram that does not start with <s> is a suffix of an (n+1)-gram, so
 * the two kinds never collide and order n is: the suffixes of order n+1,
 * sorted and counted, merged with the <s> n-grams.
 */
#include "config.h"

#include <string.h>

#include "ngram/ngram_impl.h"

/*
 * The n-grams starting with <s> of order n < N: prefixes of the N-records
 * (windows and padded records) that start with <s>, excluding any prefix
 * reaching into the padding. The N-records that start with <s> are one
 * contiguous range of the sorted array, and records with one prefix are
 * contiguous within it, so one scan sums them in sorted order.
 */
static int
adjust_bos_grams(const struct ngram_grams *full, uint32_t n, uint32_t **out, size_t *count,
                 struct ad_error *e)
{
	uint32_t  N = full->n, width = N + 1;
	size_t    lo = 0, hi, k = 0, cap = 0;
	uint32_t *r = NULL;

	while (lo < full->count && full->rec[lo * width] < NGRAM_BOS)
		lo++;
	hi = lo;
	while (hi < full->count && full->rec[hi * width] == NGRAM_BOS)
		hi++;
	for (size_t i = lo; i < hi; i++) {
		const uint32_t *x = full->rec + i * width;
		if (x[n - 1] == NGRAM_PAD)
			continue;
		if (k > 0 && memcmp(r + (k - 1) * (n + 1), x, (size_t)n * 4) == 0) {
			uint64_t c = (uint64_t)r[(k - 1) * (n + 1) + n] + x[N];
			r[(k - 1) * (n + 1) + n] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
			continue;
		}
		if (k == cap) {
			size_t    ncap = cap ? cap * 2 : 1024;
			uint32_t *nr = ad_reallocarray(r, ncap, (size_t)(n + 1) * 4);
			if (nr == NULL) {
				ad_free(r);
				return ad_fail(e, AD_ENOMEM, "out of memory for the n-grams after <s>");
			}
			r = nr;
			cap = ncap;
		}
		memcpy(r + k * (n + 1), x, (size_t)n * 4);
		r[k * (n + 1) + n] = x[N];
		k++;
	}
	*out = r;
	*count = k;
	return 0;
}

static int
adjust_cmp(const uint32_t *x, const uint32_t *y, uint32_t n)
{
	for (uint32_t t = 0; t < n; t++)
		if (x[t] != y[t])
			return x[t] < y[t] ? -1 : 1;
	return 0;
}

/* Order n from order n + 1 (continuation counts) and the <s> n-grams. */
static int
adjust_order(struct ngram_est *m, uint32_t n, const uint32_t *bos, size_t nbos,
             struct ad_error *e)
{
	const struct ngram_grams *up = &m->g[n + 1];
	uint32_t                  width = n + 1, uw = n + 2;
	uint32_t                 *suf, *tmp, *r;
	size_t                    nsuf, i, j, k;

	suf = ad_mallocarray(up->count ? up->count : 1, (size_t)width * 4);
	tmp = ad_mallocarray(up->count ? up->count : 1, (size_t)width * 4);
	if (suf == NULL || tmp == NULL) {
		ad_free(suf);
		ad_free(tmp);
		return ad_fail(e, AD_ENOMEM, "out of memory for the %u-grams", n);
	}
	/* Each (n+1)-gram v g contributes one to the continuation count of g. */
	for (i = 0; i < up->count; i++) {
		memcpy(suf + i * width, up->rec + i * uw + 1, (size_t)n * 4);
		suf[i * width + n] = 1;
	}
	ngram_sort(suf, tmp, up->count, width, n, m->vocab.size - 1);
	nsuf = ngram_dedupe(suf, up->count, width, n);
	ad_free(tmp);
	/* Merge the two sorted lists; their keys are disjoint (see above). */
	r = ad_mallocarray(nsuf + nbos + 1, (size_t)width * 4);
	if (r == NULL) {
		ad_free(suf);
		return ad_fail(e, AD_ENOMEM, "out of memory for the %u-grams", n);
	}
	for (i = j = k = 0; i < nsuf || j < nbos; k++) {
		if (j == nbos || (i < nsuf && adjust_cmp(suf + i * width, bos + j * width, n) < 0))
			memcpy(r + k * width, suf + i++ * width, (size_t)width * 4);
		else
			memcpy(r + k * width, bos + j++ * width, (size_t)width * 4);
	}
	ad_free(suf);
	m->g[n].n = n;
	m->g[n].rec = r;
	m->g[n].count = k;
	return 0;
}

/*
 * Unigrams: one per vocabulary id, in id order. <unk> (never in the text)
 * and <s> get a = 0; so does </s> when the only line lacks a newline.
 */
static int
adjust_unigrams(struct ngram_est *m, struct ad_error *e)
{
	struct ngram_grams *g = &m->g[1];
	uint32_t            V = m->vocab.size;
	uint32_t           *r = ad_calloc(V, 2 * 4);

	if (r == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for the unigrams");
	for (uint32_t id = 0; id < V; id++)
		r[id * 2] = id;
	for (size_t i = 0; i < g->count; i++)
		r[g->rec[i * 2] * 2 + 1] = g->rec[i * 2 + 1];
	r[NGRAM_UNK * 2 + 1] = 0;
	r[NGRAM_BOS * 2 + 1] = 0;
	ad_free(g->rec);
	g->n = 1;
	g->rec = r;
	g->count = V;
	return 0;
}

int
ngram_adjust(struct ngram_est *m, struct ad_error *e)
{
	uint32_t            N = m->cfg.order, width = N + 1;
	struct ngram_grams *full = &m->g[N];
	uint32_t           *bos[NGRAM_MAX_ORDER] = { NULL };
	size_t              nbos[NGRAM_MAX_ORDER] = { 0 }, k = 0;
	int                 rc = 0;

	full->n = N;
	if (N == 1)
		return adjust_unigrams(m, e);
	/* The <s> n-grams read the padded records; then order N keeps only
	 * the real N-grams. */
	for (uint32_t n = 1; n < N && rc == 0; n++)
		rc = adjust_bos_grams(full, n, &bos[n], &nbos[n], e);
	if (rc == 0) {
		for (size_t i = 0; i < full->count; i++)
			if (full->rec[i * width + N - 1] != NGRAM_PAD) {
				if (k != i)
					memcpy(full->rec + k * width, full->rec + i * width, (size_t)width * 4);
				k++;
			}
		full->count = k;
		for (uint32_t n = N - 1; n >= 1 && rc == 0; n--)
			rc = adjust_order(m, n, bos[n], nbos[n], e);
	}
	for (uint32_t n = 1; n < N; n++)
		ad_free(bos[n]);
	return rc != 0 ? rc : adjust_unigrams(m, e);
}
