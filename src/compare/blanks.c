/*
 * blanks.c — held-out fill-in accuracy: one task every model can do,
 * whatever it was trained to predict.
 *
 * The positions (compare_blanks_pick). A "word" of the held-out text is a
 * maximal run of 1 to COMPARE_BLANK_MAX_LETTERS ASCII letters that follows
 * a space and is followed by the end of its line, a space or an ASCII
 * punctuation mark other than an apostrophe or a hyphen ("don't" and
 * "well-known" are never cut in two; neither is a word with digits or
 * non-ASCII letters in it). The words at the start of a line are left out,
 * so that every blank has text on its left. From the N such words of the
 * text, `want` are drawn without replacement by reservoir sampling
 * (Vitter's algorithm R) with ad_rng seeded by the run's seed on the stream
 * "blnk": the positions depend on the held-out bytes and the seed only,
 * never on a model, so every model of a comparison, and every run with the
 * same seed, fills the same blanks. They are kept in text order.
 *
 * What each model sees (compare_fill_score). The word is hidden whole; with
 * a BPE vocabulary the space before it goes with it (" word" is how the
 * pretokenizer cuts it), so the filler is 1 or more tokens. A line model
 * (an n-gram) sees the blank's line, its sentence, with </s> at the end; a
 * stream model (a transformer, causal or masked) sees COMPARE_FILL_WINDOW
 * tokens on each side, across line ends, as few as its context needs. The
 * model is told how many tokens the word has (as a masked model is, by the
 * number of MASKs), and lm_fill_rank ranks the word among the candidates of
 * that length its filler search finds (lm_fill_blank, what `autodidact
 * fill` shows) and gives its ln p normalised over them plus the word:
 *   - a one-token word in an n-gram or a masked model: every id is a
 *     candidate, so the rank and the ln p are exact;
 *   - a causal transformer's one-token word: the 64 ids most likely after
 *     the left context, rescored in the whole window; a word outside them
 *     is a miss, and its ln p, normalised over fewer candidates than the
 *     vocabulary, is an upper bound of the exact one (optimistic);
 *   - a word of several tokens: the candidates of the decoders (a beam, or
 *     the masked model's iterative decoder), likewise an upper bound.
 * top-1 and top-5 count the words ranked first, and among the first five.
 *
 * Cost: one lm_fill_rank per blank and model, plus one lm_fill_blank for
 * the example. For an n-gram that is V rescorings of at most 2N-1 tokens; for
 * a causal transformer 65 forward passes over the window (one-token words);
 * for a masked model one (one-token words) or about 2k (k tokens).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "compare/compare.h"

/* ---- The positions -------------------------------------------------------- */

static int
blank_letter(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether c may follow a word: a space or ASCII punctuation but ' and -. */
static int
blank_after_ok(uint8_t c)
{
	if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 1;
	if (c == '\'' || c == '-' || c >= 0x80 || c < 0x20)
		return 0;
	return !blank_letter(c) && !(c >= '0' && c <= '9');
}

/* Calls fn for each word of text[0..len) in order; stops on nonzero. */
static int
blank_words(const uint8_t *text, size_t len,
    int (*fn)(void *ctx, size_t line, size_t at, size_t end, size_t line_end), void *ctx)
{
	size_t line = 0, line_end, i;
	int    rc;

	while (line < len) {
		const uint8_t *nl = memchr(text + line, '\n', len - line);
		line_end = nl != NULL ? (size_t)(nl - text) : len;
		for (i = line + 1; i < line_end; i++) {
			size_t at = i, end;
			if (!blank_letter(text[i]) || text[i - 1] != ' ')
				continue;
			for (end = at; end < line_end && blank_letter(text[end]); end++)
				;
			i = end;
			if (end - at > COMPARE_BLANK_MAX_LETTERS ||
			    (end < line_end && !blank_after_ok(text[end])))
				continue;
			if ((rc = fn(ctx, line, at, end, line_end)) != 0)
				return rc;
		}
		line = line_end + 1;
	}
	return 0;
}

struct blank_pick {
	struct compare_blank *b;      /* (want) the reservoir */
	size_t                want, seen;
	struct ad_rng         rng;
};

static int
blank_offer(void *ctx, size_t line, size_t at, size_t end, size_t line_end)
{
	struct blank_pick   *p = ctx;
	struct compare_blank w = { line, at, end, line_end };
	uint64_t             j;

	/* Algorithm R: the i-th word (from 0) replaces a random slot with
	 * probability want / (i + 1). */
	if (p->seen < p->want) {
		p->b[p->seen] = w;
	} else {
		j = ad_rng_u64(&p->rng) % (p->seen + 1);
		if (j < p->want)
			p->b[j] = w;
	}
	p->seen++;
	return 0;
}

static int
blank_cmp(const void *a, const void *b)
{
	const struct compare_blank *x = a, *y = b;

	return x->at < y->at ? -1 : x->at > y->at;
}

int
compare_blanks_pick(const uint8_t *text, size_t len, size_t want, uint64_t seed,
    struct compare_blank **out, size_t *nout, struct ad_error *e)
{
	struct blank_pick p = { .want = want };

	if (want > 0 && (p.b = ad_mallocarray(want, sizeof *p.b)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory choosing the blanks");
	ad_rng_seed(&p.rng, seed, 0x626c6e6b);   /* "blnk" */
	if (want > 0)
		blank_words(text, len, blank_offer, &p);
	if (p.seen < want)
		want = p.seen;
	qsort(p.b, want, sizeof *p.b, blank_cmp);
	*out = p.b;
	*nout = want;
	return 0;
}

/* ---- Scoring one model ------------------------------------------------------ */

void
compare_fill_free(struct compare_fill *f)
{
	if (f == NULL)
		return;
	ad_free(f->ex_text);
	ad_free(f->ex_word);
	for (size_t i = 0; i < f->ex_n; i++)
		ad_free(f->ex_fill[i]);
	memset(f, 0, sizeof *f);
}

/* Token ids of text[a..b) appended to *ids (nothing when a >= b). */
static int
blank_encode(const struct lm *m, const uint8_t *text, size_t a, size_t b, uint32_t **ids,
    size_t *n, size_t *cap, struct ad_error *e)
{
	return a < b ? lm_encode(m, text + a, b - a, ids, n, cap, e) : 0;
}

/* The text of a filler, its tokens' texts joined, less the space before
 * it (the example's text keeps that space before its "[MASK]"). */
static char *
blank_filler_text(const struct lm *m, const uint32_t *ids, size_t n)
{
	size_t len = 0, k = 0;
	char  *s;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *b;
		size_t         bl;
		lm_token_text(m, ids[i], &b, &bl);
		len += bl + (m->word_sep && i > 0);
	}
	if ((s = ad_malloc(len + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *b;
		size_t         bl;
		lm_token_text(m, ids[i], &b, &bl);
		if (m->word_sep && i > 0)
			s[k++] = ' ';
		memcpy(s + k, b, bl);
		k += bl;
	}
	s[k] = '\0';
	if (s[0] == ' ')
		memmove(s, s + 1, k);
	return s;
}

/* The example: the blank's line with the word as "[MASK]", the word, and
 * the model's best fillers of its length. */
static int
blank_example(const struct lm *m, const struct lm_fill_cfg *cfg, const uint8_t *text,
    const struct compare_blank *b, const uint32_t *L, size_t nl, const uint32_t *R,
    size_t nr, size_t nw, struct compare_fill *f, struct ad_error *e)
{
	struct lm_fill_cfg one = *cfg;
	struct lm_filler  *fl = NULL;
	size_t             n = 0, tl = b->line_end - b->line, k;
	int                rc;

	one.min_tokens = one.max_tokens = (uint32_t)nw;
	one.k = COMPARE_FILL_TOPK;
	if ((rc = lm_fill_blank(m, &one, L, nl, R, nr, &fl, &n, NULL, e)) != 0)
		return rc;
	f->ex_text = ad_malloc(tl + 8);
	f->ex_word = ad_strndup((const char *)text + b->at, b->end - b->at);
	if (f->ex_text == NULL || f->ex_word == NULL) {
		ad_free(fl);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	k = b->at - b->line;
	memcpy(f->ex_text, text + b->line, k);
	memcpy(f->ex_text + k, "[MASK]", 6);
	memcpy(f->ex_text + k + 6, text + b->end, b->line_end - b->end);
	f->ex_text[tl - (b->end - b->at) + 6] = '\0';
	for (size_t i = 0; i < n && f->ex_n < COMPARE_FILL_TOPK; i++) {
		if ((f->ex_fill[f->ex_n] = blank_filler_text(m, fl[i].ids, fl[i].n)) == NULL) {
			ad_free(fl);
			return ad_fail(e, AD_ENOMEM, "out of memory");
		}
		f->ex_p[f->ex_n++] = exp(fl[i].logp);
	}
	ad_free(fl);
	return 0;
}

/*
 * The ids around blank b as model m sees them (see the file's comment):
 * left in *L (*nl), the word in *W (*nw), right in *R (*nr).
 */
static int
blank_ids(const struct lm *m, const uint8_t *text, size_t len, const struct compare_blank *b,
    uint32_t **L, size_t *nl, size_t *capl, uint32_t **W, size_t *nw, size_t *capw,
    uint32_t **R, size_t *nr, size_t *capr, struct ad_error *e)
{
	/* With a BPE vocabulary the word takes the space before it; a word
	 * model's words need none; a byte model keeps it on the left. */
	size_t ws = m->tok != NULL && !m->word_sep ? b->at - 1 : b->at;
	size_t ls, re;
	int    rc;

	*nl = *nw = *nr = 0;
	if (m->line_model) {
		ls = b->line;
		re = b->line_end;
	} else {
		/* Enough bytes for the window (a token is at least one byte),
		 * starting and ending at a space so no word is cut. */
		ls = b->at > 8 * COMPARE_FILL_WINDOW ? b->at - 8 * COMPARE_FILL_WINDOW : 0;
		while (ls > 0 && ls < ws && text[ls - 1] != ' ' && text[ls - 1] != '\n')
			ls++;
		re = len - b->end > 8 * COMPARE_FILL_WINDOW ? b->end + 8 * COMPARE_FILL_WINDOW : len;
		while (re < len && re > b->end && text[re] != ' ' && text[re] != '\n')
			re--;
	}
	if ((rc = blank_encode(m, text, ls, m->word_sep ? b->at - 1 : ws, L, nl, capl, e)) != 0 ||
	    (rc = blank_encode(m, text, ws, b->end, W, nw, capw, e)) != 0 ||
	    (rc = blank_encode(m, text, b->end, re, R, nr, capr, e)) != 0)
		return rc;
	if (m->line_model && m->eos != LM_NONE) {
		if (*nr + 1 > *capr) {
			uint32_t *p = ad_reallocarray(*R, *nr + 1, sizeof *p);
			if (p == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory");
			*R = p;
			*capr = *nr + 1;
		}
		(*R)[(*nr)++] = m->eos;
	}
	if (!m->line_model) {
		/* The window: COMPARE_FILL_WINDOW a side, within what the model
		 * sees, the left's nearest at least half of the room. */
		size_t room = m->context > *nw ? m->context - *nw : 0, kl, kr;
		kl = *nl < COMPARE_FILL_WINDOW ? *nl : COMPARE_FILL_WINDOW;
		kr = *nr < COMPARE_FILL_WINDOW ? *nr : COMPARE_FILL_WINDOW;
		kl = kl < room / 2 ? kl : room / 2;
		kr = kr < room - kl ? kr : room - kl;
		kl = (*nl < COMPARE_FILL_WINDOW ? *nl : COMPARE_FILL_WINDOW);
		kl = kl < room - kr ? kl : room - kr;
		if (kl > 0)
			memmove(*L, *L + (*nl - kl), kl * sizeof **L);
		*nl = kl;
		*nr = kr;
	}
	return 0;
}

int
compare_fill_score(const struct lm *m, const uint8_t *text, size_t len,
    const struct compare_blank *b, size_t nb, struct compare_fill *out, struct ad_error *e)
{
	struct lm_fill_cfg cfg = { .k = COMPARE_FILL_TOPK, .min_tokens = 1, .max_tokens = 1 };
	struct compare_fill f = { 0 };
	uint32_t           *L = NULL, *W = NULL, *R = NULL;
	size_t              nl, nw, nr, capl = 0, capw = 0, capr = 0;
	int                 rc = 0;

	/* Never NULL, even for an empty side. */
	L = ad_mallocarray(capl = 64, sizeof *L);
	W = ad_mallocarray(capw = 64, sizeof *W);
	R = ad_mallocarray(capr = 64, sizeof *R);
	if (L == NULL || W == NULL || R == NULL)
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
	for (size_t i = 0; i < nb && rc == 0; i++) {
		double logp;
		size_t rank;
		if ((rc = blank_ids(m, text, len, &b[i], &L, &nl, &capl, &W, &nw, &capw, &R, &nr,
		    &capr, e)) != 0)
			break;
		if (nw == 0 || nw > LM_FILL_MAX_TOKENS) {
			/* Cannot happen with a word of at most 20 letters and a
			 * tokenizer that covers the bytes; skipped all the same. */
			f.skipped++;
			continue;
		}
		if ((rc = lm_fill_rank(m, &cfg, L, nl, R, nr, W, nw, &logp, &rank, e)) != 0)
			break;
		f.blanks++;
		f.logp += logp;
		f.top1 += rank == 0;
		f.top5 += rank < COMPARE_FILL_TOPK;
		if (f.ex_text == NULL)
			rc = blank_example(m, &cfg, text, &b[i], L, nl, R, nr, nw, &f, e);
	}
	ad_free(L);
	ad_free(W);
	ad_free(R);
	if (rc != 0) {
		compare_fill_free(&f);
		return rc;
	}
	*out = f;
	return 0;
}
