/*
 * align.c — which tokens two sentences of a pair share, found the way the
 * CrowS-Pairs scorer finds them.
 *
 * Nangia et al. (2020) score a masked model on the tokens a pair's two
 * sentences share, and their scorer (nyu-mll/crows-pairs, metric.py,
 * get_span) finds those tokens with Python's difflib.SequenceMatcher over
 * the two sequences of token ids: the shared tokens are the "equal" opcodes,
 * that is the matching blocks. SequenceMatcher is not a longest common
 * subsequence: it takes the longest matching block (the earliest in a, then
 * in b), then recurses on the parts to its left and to its right, and when b
 * has 200 or more items it ignores "popular" items (more than 1% + 1 of b)
 * while searching, extending a block over them afterwards (autojunk). Ties
 * and popular items change which tokens are shared, and so the score; this
 * file does what difflib does (CPython's Lib/difflib.py, find_longest_match
 * and get_matching_blocks, with isjunk None and autojunk on, as metric.py
 * calls it), so that the score is the paper's.
 *
 * Workload: sentences of tens of tokens, a few thousand pairs: dense
 * O(|a| |b|) rows instead of difflib's dictionaries.
 */
#include "config.h"

#include <string.h>

#include "probe/probe.h"

struct sm {
	const uint32_t *a, *b;
	size_t          na, nb;
	unsigned char  *popular;   /* (nb) b[j]'s value is popular (autojunk) */
	size_t         *prev, *cur; /* (nb + 1) j2len rows, indexed j + 1 */
};

/*
 * difflib's find_longest_match(alo, ahi, blo, bhi): the longest block of
 * equal, non-popular items, earliest in a then in b (a block is only
 * replaced by a strictly longer one), then extended over equal items at
 * both ends (popular ones included: with no isjunk nothing is junk).
 */
static void
sm_longest(struct sm *s, size_t alo, size_t ahi, size_t blo, size_t bhi, size_t *bi, size_t *bj,
    size_t *bk)
{
	size_t besti = alo, bestj = blo, bestsize = 0;

	/* prev[j + 1]: length of the block of the previous row ending at b[j]. */
	for (size_t j = blo; j <= bhi; j++)
		s->prev[j] = 0;
	for (size_t i = alo; i < ahi; i++) {
		size_t *t;
		for (size_t j = blo; j < bhi; j++) {
			size_t k = 0;
			if (s->a[i] == s->b[j] && !s->popular[j]) {
				k = s->prev[j] + 1;   /* j2len[j - 1] + 1 */
				if (k > bestsize) {
					besti = i + 1 - k;
					bestj = j + 1 - k;
					bestsize = k;
				}
			}
			s->cur[j + 1] = k;
		}
		s->cur[blo] = 0;
		t = s->prev;
		s->prev = s->cur;
		s->cur = t;
	}
	while (besti > alo && bestj > blo && s->a[besti - 1] == s->b[bestj - 1]) {
		besti--;
		bestj--;
		bestsize++;
	}
	while (besti + bestsize < ahi && bestj + bestsize < bhi &&
	    s->a[besti + bestsize] == s->b[bestj + bestsize])
		bestsize++;
	*bi = besti;
	*bj = bestj;
	*bk = bestsize;
}

/*
 * get_matching_blocks, marking each block's items in ma and mb. difflib
 * keeps a queue; the blocks of disjoint ranges do not depend on the order
 * they are found in, so plain recursion gives the same set (its depth is
 * at most the number of blocks, bounded by the shorter sentence).
 */
static void
sm_blocks(struct sm *s, size_t alo, size_t ahi, size_t blo, size_t bhi, unsigned char *ma,
    unsigned char *mb)
{
	size_t i, j, k;

	sm_longest(s, alo, ahi, blo, bhi, &i, &j, &k);
	if (k == 0)
		return;
	memset(ma + i, 1, k);
	memset(mb + j, 1, k);
	if (alo < i && blo < j)
		sm_blocks(s, alo, i, blo, j, ma, mb);
	if (i + k < ahi && j + k < bhi)
		sm_blocks(s, i + k, ahi, j + k, bhi, ma, mb);
}

int
probe_align_shared(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, unsigned char *ma,
    unsigned char *mb, struct ad_error *e)
{
	struct sm s = { a, b, na, nb, NULL, NULL, NULL };
	int       rc = 0;

	memset(ma, 0, na);
	memset(mb, 0, nb);
	s.popular = ad_calloc(nb ? nb : 1, 1);
	s.prev = ad_mallocarray(nb + 1, sizeof *s.prev);
	s.cur = ad_mallocarray(nb + 1, sizeof *s.cur);
	if (s.popular == NULL || s.prev == NULL || s.cur == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory aligning %zu and %zu tokens", na, nb);
		goto out;
	}
	/* autojunk: a value is popular when b has it more than nb / 100 + 1 times. */
	if (nb >= 200)
		for (size_t j = 0; j < nb; j++) {
			size_t c = 0;
			for (size_t l = 0; l < nb; l++)
				c += b[l] == b[j];
			s.popular[j] = c > nb / 100 + 1;
		}
	if (na > 0 && nb > 0)
		sm_blocks(&s, 0, na, 0, nb, ma, mb);
out:
	ad_free(s.popular);
	ad_free(s.prev);
	ad_free(s.cur);
	return rc;
}
