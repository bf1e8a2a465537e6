/*
 * pll.c — pseudo-log-likelihood: how a masked (bidirectional) model scores
 * a text, since it has no left-to-right factorisation.
 *
 * PLL (Salazar, Liang, Nguyen and Kirchhoff 2020, "Masked Language Model
 * Scoring", eq. 2): PLL(s) = sum_t ln p(w_t | s with w_t masked). Each token
 * is one masked copy of its window; the copies of a window go to the model
 * in one batched call (lm_fill_batch), one scored position per copy.
 *
 * PLL-word-l2r (Kauf and Ivanova 2023, "A Better Way to Do Masked Language
 * Model Scoring", section 3): when a word has several tokens, scoring one
 * piece with the later pieces visible inflates the score (the rest of the
 * word gives the piece away: "souvenir" as so|uven|ir scores almost surely).
 * So the copy for token t also masks the pieces of t's word to its right;
 * the pieces to its left stay visible. Words are told by the tokens' bytes
 * (lm_word_start), the rule of whole-word masking in training.
 *
 * Windows. A text longer than the model's context W is cut into windows of
 * W tokens that start every S = W/2 tokens; each window keeps the tokens of
 * its middle part [q, q + S) with q = (W - S)/2 (the first window from 0,
 * the last to its end), so every token is scored exactly once, with at
 * least q tokens of context on each side where the text has them.
 *
 * Cost: one forward pass of a window per token (n passes of W + 1
 * positions for n tokens), batched; only the scored position of each copy
 * goes through the output layer (the model's fill_batch), so a PLL costs
 * about W times a causal model's score of the same text, less the output
 * layer's share of a position's cost.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "base/progress.h"
#include "lm/lm.h"

/* Copies of a window per lm_fill_batch call: bounds the ids and the
 * distributions held at once (PLL_COPIES x V floats). */
#define PLL_COPIES 32

const char *
lm_pll_name(enum lm_pll kind)
{
	return kind == LM_PLL_TOKEN ? "token" : "word-l2r";
}

int
lm_pll_parse(const char *s, enum lm_pll *kind)
{
	if (strcmp(s, "token") == 0)
		*kind = LM_PLL_TOKEN;
	else if (strcmp(s, "word-l2r") == 0)
		*kind = LM_PLL_WORD_L2R;
	else
		return -1;
	return 0;
}

/* A word byte: an ASCII letter or digit, or a byte of a multi-byte UTF-8
 * character (nn_word_classes' rule, so that words are the same ones the
 * whole-word masking of training takes). */
static int
pll_word_byte(uint8_t c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

int
lm_word_start(const struct lm *m, uint32_t prev, uint32_t id)
{
	const uint8_t *a, *b;
	size_t         la, lb;

	if (prev == LM_NONE)
		return 1;
	lm_token_text(m, prev, &a, &la);
	lm_token_text(m, id, &b, &lb);
	/* Word models: every token is a word. */
	if (m->word_sep || la == 0 || lb == 0)
		return 1;
	return !(pll_word_byte(a[la - 1]) && pll_word_byte(b[0]));
}

/*
 * PLL of the tokens win[lo..hi) of one window win[0..n) (n <= context), to
 * logp[0..hi-lo). start[i] says whether win[i] begins a word (word-l2r).
 */
static int
pll_range(const struct lm *m, const uint32_t *win, const uint8_t *start, size_t n, size_t lo,
    size_t hi, enum lm_pll kind, uint32_t *ids, uint32_t *pos, float *dist, double *logp,
    struct ad_error *e)
{
	size_t V = m->V;
	int    rc;

	for (size_t t0 = lo; t0 < hi; t0 += PLL_COPIES) {
		size_t nb = hi - t0 < PLL_COPIES ? hi - t0 : PLL_COPIES;
		for (size_t b = 0; b < nb; b++) {
			size_t t = t0 + b;
			uint32_t *row = ids + b * n;
			memcpy(row, win, n * sizeof *row);
			row[t] = m->mask;
			/* word-l2r: the later pieces of t's word too. */
			for (size_t u = t + 1; kind == LM_PLL_WORD_L2R && u < n && !start[u]; u++)
				row[u] = m->mask;
			pos[b] = (uint32_t)t;
		}
		if ((rc = lm_fill_batch(m, ids, nb, n, pos, 1, dist, e)) != 0)
			return rc;
		for (size_t b = 0; b < nb; b++)
			logp[t0 + b - lo] = dist[b * V + win[t0 + b]];
	}
	return 0;
}

int
lm_pll_progress(const struct lm *m, const uint32_t *ids, size_t n, enum lm_pll kind,
    double *logp, struct ad_progress *progress, uint64_t total, struct ad_error *e)
{
	size_t    W = m->context, S = W / 2 > 0 ? W / 2 : 1, q = (W - S) / 2;
	uint32_t *copies, *pos;
	uint8_t  *start;
	float    *dist;
	int       rc = 0;

	if (!lm_is_masked(m))
		return lm_fill_dist(m, ids, 1, NULL, 0, NULL, e);   /* its refusal */
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= m->V)
			return ad_fail(e, AD_EINVAL, "token id %u at %zu is not one of the model's %u "
			    "ids (a text to score has no masks)", ids[i], i, m->V);
	copies = ad_mallocarray((size_t)PLL_COPIES * W, sizeof *copies);
	pos = ad_mallocarray(PLL_COPIES, sizeof *pos);
	start = ad_malloc(n);
	dist = ad_mallocarray((size_t)PLL_COPIES * m->V, sizeof *dist);
	if (copies == NULL || pos == NULL || start == NULL || dist == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the pseudo-log-likelihood of %zu "
		    "tokens", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		start[i] = (uint8_t)lm_word_start(m, i > 0 ? ids[i - 1] : LM_NONE, ids[i]);
	for (size_t s = 0;; s += S) {
		size_t len = n - s < W ? n - s : W, last = s + len >= n;
		size_t lo = s == 0 ? 0 : q, hi = last ? len : q + S;
		if ((rc = pll_range(m, ids + s, start + s, len, lo, hi, kind, copies, pos, dist,
		    logp + s + lo, e)) != 0)
			goto out;
		ad_progress_update(progress, (uint64_t)((double)total * (double)(s + hi) / (double)n));
		if (last)
			break;
	}
out:
	ad_free(copies);
	ad_free(pos);
	ad_free(start);
	ad_free(dist);
	return rc;
}

int
lm_pll(const struct lm *m, const uint32_t *ids, size_t n, enum lm_pll kind, double *logp,
    struct ad_error *e)
{
	return lm_pll_progress(m, ids, n, kind, logp, NULL, 0, e);
}
