/*
 * discount.c — stage 3: three discounts per order from counts of counts.
 *
 * Input: m->g[n] (any order) with adjusted counts.
 * Output: m->disc[n][1..3] = D1, D2, D3+ for each order n (D(0) = 0).
 *
 * Chen & Goodman 1998, eq. 26: with t_j the number of n-grams of order n
 * whose adjusted count is j,
 *     Y = t1 / (t1 + 2 t2),   D(j) = j - (j + 1) Y t_{j+1} / t_j,  j = 1, 2, 3.
 * Evaluated in single precision as lmplz does, so that the printed values
 * agree to the last digit. When t1, t2 or t3 is zero the formula is
 * undefined; when a D(j) falls outside [0, j] it is unusable. Both are an
 * error (the data cannot support the model) unless the configuration asks
 * for fallback discounts, which then replace all three of that order
 * (lmplz's --discount_fallback).
 *
 * The counts of counts are lmplz's, quirk included (discount_tail below):
 * a few n-grams at the end of lmplz's stream are counted at their raw
 * count instead of their adjusted count.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ngram/ngram_impl.h"

/*
 * The n-grams lmplz counts at their raw count. lmplz adjusts counts in one
 * pass over the N-grams of its padded stream (each sentence preceded by
 * N - 1 <s>) sorted in suffix order (last id most significant); a lower
 * n-gram enters the counts of counts when the pass moves past it. Those
 * still open when the stream ends, the suffixes of the last N-gram of that
 * order up to (not including) its first <s>, are entered with their raw
 * count instead (KenLM lm/builder/adjust_counts.cc, commit 4cb443e, the
 * loop after the main one); the model itself still uses their adjusted
 * counts. Only the counts of counts, hence the discounts, change: on ids
 * as words (`tokenize encode` output) enough to move D1 in the third digit.
 *
 * That last N-gram ends with the largest id the text holds; the id before
 * it is the largest one seen right before that id (<s> at a sentence
 * start), and so on. So: tail->rev[0] = the largest id with a count,
 * tail->rev[j] = the largest v with "v rev[j-1] ... rev[0]" an n-gram,
 * until that v is <s> or the suffix has N - 1 ids; tail->len suffixes.
 * The raw count of a suffix s of order j (which does not start with <s>)
 * is its number of occurrences: those ending at a token N - 1 or more
 * after the <s> are the N-grams (order N keeps raw counts) ending with s,
 * the others the n-grams from <s> of orders j + 1 .. N - 1 ending with s
 * (their adjusted counts are raw counts).
 */
struct discount_tail {
	uint32_t len;
	uint32_t rev[NGRAM_MAX_ORDER];       /* the ids of the longest suffix, last first */
	uint64_t raw[NGRAM_MAX_ORDER + 1];   /* raw count of the suffix of order j */
	uint32_t adj[NGRAM_MAX_ORDER + 1];   /* its adjusted count */
};

/* How many of the last ids of the n-gram x match tail->rev. */
static uint32_t
discount_common_suffix(const struct discount_tail *tail, const uint32_t *x, uint32_t n)
{
	uint32_t k = 0;

	while (k < tail->len && k < n && x[n - 1 - k] == tail->rev[k])
		k++;
	return k;
}

/* The adjusted count of the suffix of order j: records sorted by ids. */
static uint32_t
discount_adjusted(const struct ngram_grams *g, const struct discount_tail *tail, uint32_t j)
{
	size_t lo = 0, hi = g->count;

	while (lo < hi) {
		size_t          mid = lo + (hi - lo) / 2;
		const uint32_t *x = g->rec + mid * (j + 1);
		int             c = 0;
		for (uint32_t t = 0; t < j && c == 0; t++)
			if (x[t] != tail->rev[j - 1 - t])
				c = x[t] < tail->rev[j - 1 - t] ? -1 : 1;
		if (c == 0)
			return x[j];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;   /* not reached: every suffix of an n-gram is an n-gram */
}

static void
discount_tail(const struct ngram_est *m, struct discount_tail *tail)
{
	uint32_t                  N = m->cfg.order, id;
	const struct ngram_grams *u = &m->g[1];

	memset(tail, 0, sizeof *tail);
	if (N < 2)
		return;   /* lmplz's unigram-only pass has no such loop */
	for (id = (uint32_t)u->count; id-- > NGRAM_BOS + 1;)
		if (u->rec[id * 2 + 1] > 0)
			break;
	if (id <= NGRAM_BOS)
		return;
	tail->rev[tail->len++] = id;
	/* The records of order j + 1 are sorted by their first id, so the last
	 * one ending with the suffix has the largest id before it. */
	while (tail->len < N - 1) {
		const struct ngram_grams *g = &m->g[tail->len + 1];
		uint32_t                  v = NGRAM_BOS, w = tail->len + 2;
		for (size_t i = g->count; i-- > 0;)
			if (discount_common_suffix(tail, g->rec + i * w, w - 1) == tail->len) {
				v = g->rec[i * w];
				break;
			}
		if (v == NGRAM_BOS)
			break;
		tail->rev[tail->len++] = v;
	}
	for (uint32_t n = 2; n <= N; n++) {
		const struct ngram_grams *g = &m->g[n];
		for (size_t i = 0; i < g->count; i++) {
			const uint32_t *x = g->rec + i * (n + 1);
			uint32_t        k;
			if (n < N && x[0] != NGRAM_BOS)
				continue;
			k = discount_common_suffix(tail, x, n);
			for (uint32_t j = 1; j <= k; j++)
				tail->raw[j] += x[n];
		}
	}
	for (uint32_t j = 1; j <= tail->len; j++)
		tail->adj[j] = discount_adjusted(&m->g[j], tail, j);
}

int
ngram_discount(struct ngram_est *m, struct ad_error *e)
{
	struct discount_tail tail;

	discount_tail(m, &tail);
	for (uint32_t n = 1; n <= m->cfg.order; n++) {
		const struct ngram_grams *g = &m->g[n];
		uint64_t                  t[5] = { 0 };
		float                     y, d[4];
		int                       bad = 0;
		char                      why[300];

		for (size_t i = 0; i < g->count; i++) {
			uint32_t a = g->rec[i * (n + 1) + n];
			if (a >= 1 && a <= 4)
				t[a]++;
		}
		if (n <= tail.len) {
			if (tail.adj[n] >= 1 && tail.adj[n] <= 4)
				t[tail.adj[n]]--;
			if (tail.raw[n] >= 1 && tail.raw[n] <= 4)
				t[tail.raw[n]]++;
		}
		for (uint32_t j = 1; j <= 3 && !bad; j++)
			if (t[j] == 0) {
				snprintf(why, sizeof why,
				    "no %u-gram has adjusted count %u, so the discount for count %u "
				    "(Chen & Goodman eq. 26) is undefined", n, j, j == 3 ? 3 : j + 1);
				bad = 1;
			}
		if (!bad) {
			y = (float)((double)t[1] / ((double)t[1] + 2.0 * (double)t[2]));
			for (uint32_t j = 1; j <= 3; j++) {
				d[j] = (float)j - (float)(j + 1) * y * (float)t[j + 1] / (float)t[j];
				if (!bad && (d[j] < 0.0f || d[j] > (float)j)) {
					snprintf(why, sizeof why, "the discount for adjusted count %u comes "
					    "out as %g, outside [0, %u]", j, (double)d[j], j);
					bad = 1;
				}
			}
		}
		m->disc[n][0] = 0;
		if (!bad) {
			for (uint32_t j = 1; j <= 3; j++)
				m->disc[n][j] = d[j];
			continue;
		}
		if (!m->cfg.discount_fallback)
			return ad_fail(e, AD_EDATA,
			    "cannot estimate Kneser-Ney discounts for %u-grams: %s; is this small or "
			    "artificial data? Train on more (or deduplicated) text or a lower --order, "
			    "or give --discount-fallback to use fixed discounts (%g %g %g)", n, why,
			    m->cfg.fallback[0], m->cfg.fallback[1], m->cfg.fallback[2]);
		for (uint32_t j = 1; j <= 3; j++)
			m->disc[n][j] = m->cfg.fallback[j - 1];
		m->disc_fallback[n] = 1;
	}
	return 0;
}
