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
 */
#include "config.h"

#include <stdio.h>

#include "ngram/ngram_impl.h"

int
ngram_discount(struct ngram_est *m, struct ad_error *e)
{
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
