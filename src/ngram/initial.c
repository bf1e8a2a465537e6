/*
 * initial.c — stage 4: initial probabilities and backoff mass.
 *
 * Input: m->g[n] for every order, sorted by ids, so that the n-grams
 * sharing a context h (their first n - 1 ids) are adjacent, and the
 * discounts m->disc.
 * Output, per order n, aligned with m->g[n]:
 *   alpha(h w) = (a(h w) - D(a(h w))) / S(h),    S(h) = sum_w a(h w)
 * the discounted, uninterpolated part of p(w | h), and per context h
 *   gamma(h) = (D1 N1(h) + D2 N2(h) + D3+ N3+(h)) / S(h)
 * the mass set aside for the lower order, where Nj(h) counts the w with
 * a(h w) = j (3: at least 3). Chen & Goodman 1998, eqs. 17 and 19 with the
 * modified discounts of section 3.5; D(a) uses D3+ for a >= 3. gamma(h) is
 * stored with the (n-1)-gram h (m->gamma[n-1]), which is how it is written
 * to ARPA: as h's backoff weight. n-grams that are no context keep -1,
 * a mark that interpolate.c turns into NGRAM_NOEXT.
 * Unigrams share the empty context; its gamma is m->gamma0. A unigram with
 * a = 0 (<unk>, <s>) has alpha 0.
 */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "ngram/ngram_impl.h"

static int
initial_cmp(const uint32_t *x, const uint32_t *y, uint32_t n)
{
	for (uint32_t t = 0; t < n; t++)
		if (x[t] != y[t])
			return x[t] < y[t] ? -1 : 1;
	return 0;
}

int
ngram_initial(struct ngram_est *m, struct ad_error *e)
{
	uint32_t N = m->cfg.order;

	for (uint32_t n = 1; n <= N; n++) {
		m->alpha[n] = ad_mallocarray(m->g[n].count ? m->g[n].count : 1, sizeof(float));
		if (n < N)
			m->gamma[n] = ad_mallocarray(m->g[n].count ? m->g[n].count : 1, sizeof(float));
		if (m->alpha[n] == NULL || (n < N && m->gamma[n] == NULL))
			return ad_fail(e, AD_ENOMEM, "out of memory for the %u-gram probabilities", n);
		if (n < N)
			for (size_t i = 0; i < m->g[n].count; i++)
				m->gamma[n][i] = -1.0f;   /* no context (see interpolate.c) */
	}
	for (uint32_t n = 1; n <= N; n++) {
		const struct ngram_grams *g = &m->g[n], *lo = &m->g[n - 1];
		const double             *D = m->disc[n];
		uint32_t                  w = n + 1;
		size_t                    j = 0;

		for (size_t i = 0; i < g->count;) {
			size_t   end = i + 1;
			uint64_t S = 0, Nj[4] = { 0 };
			double   gamma;

			/* The run of n-grams with this context (all unigrams for n = 1). */
			while (end < g->count &&
			    (n == 1 || memcmp(g->rec + end * w, g->rec + i * w, (size_t)(n - 1) * 4) == 0))
				end++;
			for (size_t k = i; k < end; k++) {
				uint32_t a = g->rec[k * w + n];
				S += a;
				Nj[a < 3 ? a : 3]++;
			}
			gamma = S > 0 ? (D[1] * Nj[1] + D[2] * Nj[2] + D[3] * Nj[3]) / (double)S : 0;
			for (size_t k = i; k < end; k++) {
				uint32_t a = g->rec[k * w + n];
				m->alpha[n][k] = a == 0 ? 0.0f :
				    (float)(((double)a - D[a < 3 ? a : 3]) / (double)S);
			}
			if (n == 1) {
				m->gamma0 = gamma;
			} else {
				/* Contexts come in sorted order, and each is an (n-1)-gram. */
				while (j < lo->count && initial_cmp(lo->rec + j * n, g->rec + i * w, n - 1) < 0)
					j++;
				assert(j < lo->count && initial_cmp(lo->rec + j * n, g->rec + i * w, n - 1) == 0);
				m->gamma[n - 1][j] = (float)gamma;
			}
			i = end;
		}
	}
	return 0;
}
