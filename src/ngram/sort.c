/*
 * sort.c — sorting and merging packed n-gram records (a helper of count.c
 * and adjust.c, not a stage).
 *
 * Records are `width` uint32s: the ids, then a count. The fast sort is an
 * LSD radix sort, one or two counting passes per key column (digits of up
 * to 16 bits, as many as max_id needs), skipping a pass whose digit is the
 * same in every record; it is stable, so the passes compose. NGRAM_PAD
 * counts as max_id + 1. Its workload
 * is millions of records of 3..9 words with ids below a few million, where
 * it moves each record a handful of times instead of the ~20 comparisons
 * per record of a comparison sort. ngram_sort_ref (qsort) is its oracle.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ngram/ngram_impl.h"

static void sort_small(uint32_t *rec, size_t count, uint32_t width, uint32_t nkey);

/* Copy one record: a fixed-size copy per width, inlined, not a call. */
static inline void
rec_copy(uint32_t *dst, const uint32_t *src, uint32_t width)
{
	switch (width) {
	case 2: memcpy(dst, src, 8); break;
	case 3: memcpy(dst, src, 12); break;
	case 4: memcpy(dst, src, 16); break;
	case 5: memcpy(dst, src, 20); break;
	case 6: memcpy(dst, src, 24); break;
	case 7: memcpy(dst, src, 28); break;
	case 8: memcpy(dst, src, 32); break;
	case 9: memcpy(dst, src, 36); break;
	default: memcpy(dst, src, (size_t)width * 4); break;
	}
}

static inline uint32_t
sort_key(uint32_t v, uint32_t pad)
{
	return v == NGRAM_PAD ? pad : v;
}

void
ngram_sort(uint32_t *rec, uint32_t *tmp, size_t count, uint32_t width, uint32_t nkey,
           uint32_t max_id)
{
	size_t   hist[1u << 16];
	uint32_t pad = max_id + 1, bits = 1, passes, dbits;
	uint32_t *src = rec, *dst = tmp;

	if (count < 64) {
		sort_small(rec, count, width, nkey);
		return;
	}
	while (bits < 32 && (pad >> bits) != 0)
		bits++;
	passes = (bits + 15) / 16;
	dbits = (bits + passes - 1) / passes;
	for (uint32_t col = nkey; col-- > 0;) {
		for (uint32_t p = 0; p < passes; p++) {
			uint32_t shift = p * dbits, mask = (1u << dbits) - 1;
			size_t   sum = 0;
			int      trivial = 0;

			memset(hist, 0, sizeof(size_t) << dbits);
			for (size_t i = 0; i < count; i++)
				hist[(sort_key(src[i * width + col], pad) >> shift) & mask]++;
			for (uint32_t d = 0; d <= mask; d++) {
				size_t c = hist[d];
				if (c == count)
					trivial = 1;
				hist[d] = sum;
				sum += c;
			}
			if (trivial)
				continue;
			for (size_t i = 0; i < count; i++) {
				const uint32_t *r = src + i * width;
				size_t          at = hist[(sort_key(r[col], pad) >> shift) & mask]++;
				rec_copy(dst + at * width, r, width);
			}
			uint32_t *t = src;
			src = dst;
			dst = t;
		}
	}
	if (src != rec)
		memcpy(rec, src, count * width * 4);
}

static int
rec_cmp(const uint32_t *x, const uint32_t *y, uint32_t nkey)
{
	for (uint32_t k = 0; k < nkey; k++)
		if (x[k] != y[k])
			return x[k] < y[k] ? -1 : 1;
	return 0;
}

/* Insertion sort (stable, reentrant) for the small arrays. */
static void
sort_small(uint32_t *rec, size_t count, uint32_t width, uint32_t nkey)
{
	uint32_t t[NGRAM_MAX_ORDER + 2];

	for (size_t i = 1; i < count; i++) {
		size_t j = i;
		memcpy(t, rec + i * width, (size_t)width * 4);
		while (j > 0 && rec_cmp(rec + (j - 1) * width, t, nkey) > 0) {
			memcpy(rec + j * width, rec + (j - 1) * width, (size_t)width * 4);
			j--;
		}
		memcpy(rec + j * width, t, (size_t)width * 4);
	}
}

static uint32_t ref_nkey;

static int
ref_cmp(const void *a, const void *b)
{
	return rec_cmp(a, b, ref_nkey);
}

/*
 * The reference: qsort with a comparator over the key columns. Not stable
 * and not reentrant (the key width is at file scope): for tests only.
 */
void
ngram_sort_ref(uint32_t *rec, size_t count, uint32_t width, uint32_t nkey)
{
	ref_nkey = nkey;
	qsort(rec, count, (size_t)width * 4, ref_cmp);
}
size_t
ngram_dedupe(uint32_t *rec, size_t count, uint32_t width, uint32_t nkey)
{
	size_t out = 0;

	for (size_t i = 0; i < count; i++) {
		uint32_t *r = rec + i * width;
		if (out > 0 && memcmp(rec + (out - 1) * width, r, (size_t)nkey * 4) == 0) {
			uint32_t *o = rec + (out - 1) * width;
			uint64_t  c = (uint64_t)o[nkey] + r[nkey];
			o[nkey] = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
			continue;
		}
		if (out != i)
			memcpy(rec + out * width, r, (size_t)width * 4);
		out++;
	}
	return out;
}
