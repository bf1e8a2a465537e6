/*
 * interpolate.c — stage 5: interpolation into the query tables.
 *
 * Input: m->g[n] sorted by ids, alpha and gamma from initial.c.
 * Output: the final model, as it is queried and written: m->uni (V, 2) for
 * unigrams and one probing table per order n >= 2, each entry holding
 * log10 p(w | h) and (below order N) the log10 backoff gamma(h w).
 *
 * Interpolated Kneser-Ney (Chen & Goodman 1998, eq. 20 with the modified
 * discounts of section 3.5), bottom-up:
 *   p(w)     = alpha(w) + gamma(empty) / |V|,  |V| = ids other than <s>
 *   p(w | h) = alpha(h w) + gamma(h) p(w | h')  (h' = h without its oldest)
 * p(<s>) is written as 1 (log10 0), as lmplz does; it is never predicted.
 * The tables hold linear probabilities while the orders are built (order
 * n looks up p(w | h') in order n - 1) and are turned into log10 at the end.
 * m->alpha[n] and m->gamma[n] end up holding the final log10 probability
 * and backoff of each n-gram in sorted order, for arpa_write.c.
 */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "ngram/ngram_impl.h"

int
ngram_table_insert(uint8_t *slots, uint64_t cap, uint32_t stride, uint64_t key, float prob,
                   float bo)
{
	uint64_t i = ngram_slot0(key, cap);

	for (;;) {
		uint8_t *s = slots + i * stride;
		uint64_t k;

		memcpy(&k, s, 8);
		if (k == key)
			return -1;
		if (k == 0) {
			memcpy(s, &key, 8);
			memcpy(s + 8, &prob, 4);
			if (stride >= 16)
				memcpy(s + 12, &bo, 4);
			return 0;
		}
		if (++i == cap)
			i = 0;
	}
}

void
ngram_filter_build(uint64_t *filter, uint64_t bits, const uint8_t *slots, uint64_t cap,
                   uint32_t stride)
{
	for (uint64_t i = 0; i < cap; i++) {
		uint64_t k;
		memcpy(&k, slots + i * stride, 8);
		if (k != 0)
			filter[(k & (bits - 1)) >> 6] |= (uint64_t)1 << (k & 63);
	}
}

/* Key of the n ids r[0..n) read newest first: r[n-1], r[n-2], ..., r[0]. */
static inline uint64_t
interp_key(const uint32_t *r, uint32_t n)
{
	uint64_t k = ngram_key1(r[n - 1]);

	for (uint32_t t = n - 1; t-- > 0;)
		k = ngram_key_ext(k, r[t]);
	return k;
}

/* A linear backoff to log10; -1 marks an n-gram that is no context. */
static inline float
interp_bo_log10(float bo)
{
	return bo < 0 ? NGRAM_NOEXT : log10f(bo);
}

static void
interp_to_log10(uint8_t *slots, uint64_t cap, uint32_t stride)
{
	/* Each iteration touches its own slot only. */
	#pragma omp parallel for schedule(static)
	for (uint64_t i = 0; i < cap; i++) {
		uint8_t *s = slots + i * stride;
		uint64_t k;
		float    f;

		memcpy(&k, s, 8);
		if (k == 0)
			continue;
		memcpy(&f, s + 8, 4);
		f = log10f(f);
		memcpy(s + 8, &f, 4);
		if (stride >= 16) {
			memcpy(&f, s + 12, 4);
			f = interp_bo_log10(f);
			memcpy(s + 12, &f, 4);
		}
	}
}

/* Batches of n-grams whose table slots are prefetched before use. */
#define INTERP_BATCH 32

int
ngram_interpolate(struct ngram_est *m, struct ad_error *e)
{
	uint32_t N = m->cfg.order, V = m->vocab.size;
	double   uniform = m->gamma0 / (double)(V - 1);

	if ((m->uni = ad_mallocarray(V, 2 * sizeof(float))) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for the unigrams");
	for (uint32_t w = 0; w < V; w++) {
		m->uni[w * 2] = w == NGRAM_BOS ? 1.0f : (float)(m->alpha[1][w] + uniform);
		m->uni[w * 2 + 1] = N > 1 ? m->gamma[1][w] : -1.0f;
	}
	for (uint32_t n = 2; n <= N; n++) {
		const struct ngram_grams *g = &m->g[n], *lo = &m->g[n - 1];
		struct ngram_table        low = { m->tab[n - 1].slots, m->tab[n - 1].cap,
		                                  m->tab[n - 1].stride, NULL, 0 };
		uint32_t                  w = n + 1, stride = n < N ? 16 : 12;
		uint64_t                  cap = ngram_table_cap(g->count);
		uint8_t                  *slots = ad_calloc(cap, stride);
		size_t                    j = 0;

		if (slots == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for the %u-gram table (%llu slots)",
			    n, (unsigned long long)cap);
		m->tab[n].slots = slots;
		m->tab[n].cap = cap;
		m->tab[n].stride = stride;
		for (size_t i0 = 0; i0 < g->count; i0 += INTERP_BATCH) {
			size_t   i1 = i0 + INTERP_BATCH < g->count ? i0 + INTERP_BATCH : g->count;
			uint64_t key[INTERP_BATCH], skey[INTERP_BATCH];

			/* The slots this batch reads and writes are random: ask for
			 * them all before waiting on any. */
			for (size_t i = i0; i < i1; i++) {
				const uint32_t *r = g->rec + i * w;
				key[i - i0] = interp_key(r, n);
				__builtin_prefetch(slots + ngram_slot0(key[i - i0], cap) * stride, 1);
				if (n > 2) {
					skey[i - i0] = interp_key(r + 1, n - 1);
					__builtin_prefetch(low.slots + ngram_slot0(skey[i - i0], low.cap) *
					    low.stride);
				}
			}
			for (size_t i = i0; i < i1; i++) {
				const uint32_t *r = g->rec + i * w;
				double          lower, p;

				/* gamma(h): h is the prefix, found by walking order n - 1 in step. */
				while (memcmp(lo->rec + j * n, r, (size_t)(n - 1) * 4) != 0)
					j++;
				assert(j < lo->count);
				/* p(w | h'): h' w is the suffix, an (n-1)-gram already final. */
				if (n == 2) {
					lower = m->uni[r[1] * 2];
				} else {
					const uint8_t *s = ngram_table_find(&low, skey[i - i0]);
					assert(s != NULL);
					lower = ngram_entry_f(s, 0);
				}
				p = m->alpha[n][i] + (double)m->gamma[n - 1][j] * lower;
				if (ngram_table_insert(slots, cap, stride, key[i - i0], (float)p,
				    n < N ? m->gamma[n][i] : 1.0f) != 0)
					return ad_fail(e, AD_EDATA, "two %u-grams share a 64-bit hash key; "
					    "this is astronomically unlikely: please report it with the corpus",
					    n);
				/* From here on alpha holds the final log10 p (for writing). */
				m->alpha[n][i] = log10f((float)p);
			}
		}
		/* Order n - 1 is final: its backoffs to log10 as well. */
		for (size_t i = 0; i < lo->count; i++)
			m->gamma[n - 1][i] = interp_bo_log10(m->gamma[n - 1][i]);
	}
	for (uint32_t w = 0; w < V; w++)
		m->alpha[1][w] = log10f(m->uni[w * 2]);
	for (uint32_t w = 0; w < V; w++) {
		m->uni[2 * w] = log10f(m->uni[2 * w]);
		m->uni[2 * w + 1] = interp_bo_log10(m->uni[2 * w + 1]);
	}
	for (uint32_t n = 2; n <= N; n++) {
		struct ngram_table_b *t = &m->tab[n];
		interp_to_log10(t->slots, t->cap, t->stride);
		t->fbits = ngram_filter_bits(m->g[n].count);
		if ((t->filter = ad_calloc(t->fbits / 64, 8)) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for the %u-gram filter", n);
		ngram_filter_build(t->filter, t->fbits, t->slots, t->cap, t->stride);
	}
	return 0;
}
