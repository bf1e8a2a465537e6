/*
 * fill.c — filling blanks: the most likely fillers of a gap in a sentence,
 * for every model kind, through lm.h only.
 *
 * One score for a filler c of a blank between left and right, per kind
 * (lm_fill_word):
 *   masked model: the word-l2r chain (Kauf and Ivanova 2023): the sum over
 *     the filler's pieces i of ln p(c_i | left, c_<i, MASK at c_i..c_k,
 *     right), all pieces in one batched call; for one piece, the model's
 *     own ln p(c | both sides).
 *   left-to-right model: ln p(c, right | left), the log-probability of the
 *     whole sentence less that of the left part (lm_score on left, c, right),
 *     a proper joint probability whatever the filler's length. An n-gram's
 *     prediction sees only the N-1 tokens before it, so only the left's last
 *     N-1 tokens and the right's first N-1 can matter: the sums keep those
 *     (the rest adds the same to every filler).
 *
 * Candidates (lm_fill_blank), per length k of the lengths tried:
 *   k = 1, masked: every id, from one fill_dist (exact);
 *   k = 1, n-gram (a line model): every id but the markers, each rescored
 *     in the whole sentence (exact: V sentences of at most 2N-1 pushes);
 *   k = 1, causal transformer: the `shortlist` ids most likely after the
 *     left context alone, rescored in the whole sentence (approximate: a
 *     filler the left context finds unlikely is never considered);
 *   k > 1, masked: an iterative decoder (most confident position first,
 *     as in Ghazvininejad et al. 2019's mask-predict with one token fixed
 *     per step): the branches are the B most likely tokens at the most
 *     confident position, each completed one position at a time, the most
 *     confident remaining position first, with the most likely token
 *     (temperature 0) or a draw at the temperature;
 *   k > 1, causal: a left-to-right beam of width B over the left context
 *     (temperature 0) or B draws at the temperature, then each complete
 *     filler rescored in the whole sentence.
 * B = max(k_shown, 8). The candidates of every length tried are pooled,
 * ranked by score, and their probabilities normalised over the pool: exact
 * for one token of a masked or n-gram model, relative to what was found
 * otherwise.
 *
 * Text (lm_fill_text): "[MASK]" marks a blank. Blanks are filled left to
 * right, each earlier one holding its best filler; a masked model sees the
 * later blanks as one MASK each, a left-to-right model's right context ends
 * at the next blank. With a BPE vocabulary the space before a blank goes
 * into the filler (" nurse" is one token, as the pretokenizer cuts it).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "lm/lm.h"

#define FILL_BLANK      "[MASK]"
#define FILL_SHORTLIST  64
#define FILL_BRANCHES   8

/* ---- Scoring one filler ---------------------------------------------------- */

/* dst = the last n of src[0..nsrc) (src may be NULL when n is 0). */
static void
fill_tail(uint32_t *dst, const uint32_t *src, size_t nsrc, size_t n)
{
	if (n > 0)
		memcpy(dst, src + nsrc - n, n * sizeof *dst);
}

/* How many of nl left and nr right tokens to keep around nc filler tokens
 * in a window of W: the left's nearest at least half of what is left over. */
static void
fill_fit(size_t W, size_t nl, size_t nr, size_t nc, size_t *kl, size_t *kr)
{
	size_t avail = W > nc ? W - nc : 0, l = nl < avail / 2 ? nl : avail / 2;
	size_t r = nr < avail - l ? nr : avail - l;

	l = nl < avail - r ? nl : avail - r;
	*kl = l;
	*kr = r;
}

int
lm_fill_word(const struct lm *m, const uint32_t *left, size_t nl, const uint32_t *right,
    size_t nr, const uint32_t *cand, size_t nc, double *score, struct ad_error *e)
{
	size_t    kl, kr, n, W = m->context;
	uint32_t *ids, *pos = NULL;
	double   *lp = NULL;
	float    *dist = NULL;
	int       rc = 0;

	if (nc == 0 || nc > LM_FILL_MAX_TOKENS)
		return ad_fail(e, AD_EINVAL, "a filler of %zu tokens; 1 to %d are possible", nc,
		    LM_FILL_MAX_TOKENS);
	if (m->line_model) {
		/* Only N - 1 tokens on each side can change with the filler. */
		kl = nl < W ? nl : W;
		kr = nr < W ? nr : W;
	} else {
		if (nc > W)
			return ad_fail(e, AD_EINVAL, "a filler of %zu tokens in a model that sees %u",
			    nc, m->context);
		fill_fit(W, nl, nr, nc, &kl, &kr);
	}
	n = kl + nc + kr;
	if ((ids = ad_mallocarray(lm_is_masked(m) ? n * nc : n, sizeof *ids)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory scoring a filler");
	fill_tail(ids, left, nl, kl);
	memcpy(ids + kl, cand, nc * sizeof *ids);
	fill_tail(ids + kl + nc, right, kr, kr);
	if (lm_is_masked(m)) {
		/* Copy i hides pieces i .. nc-1 and is asked for piece i. */
		if ((pos = ad_mallocarray(nc, sizeof *pos)) == NULL ||
		    (dist = ad_mallocarray(nc * (size_t)m->V, sizeof *dist)) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory scoring a filler");
			goto out;
		}
		for (size_t i = 1; i < nc; i++)
			memcpy(ids + i * n, ids, n * sizeof *ids);
		for (size_t i = 0; i < nc; i++) {
			for (size_t j = i; j < nc; j++)
				ids[i * n + kl + j] = m->mask;
			pos[i] = (uint32_t)(kl + i);
		}
		if ((rc = lm_fill_batch(m, ids, nc, n, pos, 1, dist, e)) != 0)
			goto out;
		*score = 0;
		for (size_t i = 0; i < nc; i++)
			*score += dist[i * m->V + cand[i]];
	} else {
		if ((lp = ad_mallocarray(n, sizeof *lp)) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory scoring a filler");
			goto out;
		}
		if ((rc = lm_score(m, ids, n, lp, e)) != 0)
			goto out;
		*score = 0;
		for (size_t i = kl; i < n; i++)
			*score += lp[i];
	}
out:
	ad_free(ids);
	ad_free(pos);
	ad_free(lp);
	ad_free(dist);
	return rc;
}

/* ---- A pool of candidate fillers ------------------------------------------- */

struct fill_pool {
	struct lm_filler *f;
	size_t            n, cap;
};

/* Add a filler of ids[0..nc) with its score, unless the pool has it. */
static int
pool_add(struct fill_pool *p, const uint32_t *ids, size_t nc, double score, struct ad_error *e)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->f[i].n == nc && memcmp(p->f[i].ids, ids, nc * sizeof *ids) == 0)
			return 0;
	if (p->n == p->cap) {
		size_t            cap = p->cap * 2 + 64;
		struct lm_filler *f = ad_reallocarray(p->f, cap, sizeof *f);
		if (f == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for the fillers");
		p->f = f;
		p->cap = cap;
	}
	memset(&p->f[p->n], 0, sizeof p->f[p->n]);
	memcpy(p->f[p->n].ids, ids, nc * sizeof *ids);
	p->f[p->n].n = (uint32_t)nc;
	p->f[p->n].score = score;
	p->n++;
	return 0;
}

/* Best first; ties by fewer tokens, then by ids (a fixed order). */
static int
filler_cmp(const void *a, const void *b)
{
	const struct lm_filler *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	return memcmp(x->ids, y->ids, x->n * sizeof *x->ids) < 0 ? -1 : 1;
}

/* Sort, and ln p of each normalised over the pool. */
static void
pool_finish(struct fill_pool *p)
{
	double mx = -INFINITY, s = 0, lse;

	qsort(p->f, p->n, sizeof *p->f, filler_cmp);
	for (size_t i = 0; i < p->n; i++)
		mx = p->f[i].score > mx ? p->f[i].score : mx;
	for (size_t i = 0; i < p->n; i++)
		s += exp(p->f[i].score - mx);
	lse = mx + log(s);
	for (size_t i = 0; i < p->n; i++)
		p->f[i].logp = p->f[i].score - lse;
}

/* The `want` ids of scores[0..V) with the highest scores (ties: lower id),
 * skipping ids that skip() says to; returns how many were found. */
struct fill_top { uint32_t id; float s; };

static int
top_cmp(const void *a, const void *b)
{
	const struct fill_top *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return x->id < y->id ? -1 : 1;
}

static size_t
fill_top(const float *scores, uint32_t V, size_t want, struct fill_top *tmp, uint32_t *out)
{
	for (uint32_t v = 0; v < V; v++)
		tmp[v] = (struct fill_top){ v, scores[v] };
	qsort(tmp, V, sizeof *tmp, top_cmp);
	want = want < V ? want : V;
	for (size_t i = 0; i < want; i++)
		out[i] = tmp[i].id;
	return want;
}

/* Whether id may fill a blank: a token with text, not a marker. */
static int
fill_allowed(const struct lm *m, uint32_t id)
{
	const uint8_t *b;
	size_t         len;

	if (id == m->bos || id == m->eos || id == m->unk)
		return 0;
	lm_token_text(m, id, &b, &len);
	return len > 0;
}

/* ---- Candidates of one length ---------------------------------------------- */

/* Scratch shared by the steps of one blank. */
struct fill_ctx {
	const struct lm          *m;
	const struct lm_fill_cfg *cfg;
	const uint32_t           *left, *right;
	size_t                    nl, nr;
	struct fill_pool         *pool;
	float                    *dist;    /* (B * LM_FILL_MAX_TOKENS * V) */
	struct fill_top          *tmp;     /* (V) */
	struct lm_sampler        *sampler;
	struct ad_rng             rng;
	size_t                    B;       /* branches of a multi-token decode */
};

/* A token from a row of ln p: the most likely at temperature 0 (ties to
 * the lowest id), else a draw from softmax(ln p / T) with the blank's rng. */
static uint32_t
fill_pick(struct fill_ctx *c, const float *row)
{
	struct lm_sampling s = { .temperature = c->cfg->temperature, .top_k = 0, .top_p = 1 };

	return lm_sample_draw(c->sampler, &s, row, &c->rng, NULL);
}

/* Score ids[0..k) in the whole sentence and pool it. */
static int
fill_rescore(struct fill_ctx *c, const uint32_t *ids, size_t k, struct ad_error *e)
{
	double s = 0;
	int    rc;

	if ((rc = lm_fill_word(c->m, c->left, c->nl, c->right, c->nr, ids, k, &s, e)) != 0)
		return rc;
	return pool_add(c->pool, ids, k, s, e);
}

/* One token, masked model: its distribution at the blank, all V ids. */
static int
fill_masked_one(struct fill_ctx *c, struct ad_error *e)
{
	const struct lm *m = c->m;
	size_t           kl, kr, n;
	uint32_t        *ids, at;
	int              rc = 0;

	fill_fit(m->context, c->nl, c->nr, 1, &kl, &kr);
	n = kl + 1 + kr;
	if ((ids = ad_mallocarray(n, sizeof *ids)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory filling a blank");
	fill_tail(ids, c->left, c->nl, kl);
	ids[kl] = m->mask;
	fill_tail(ids + kl + 1, c->right, kr, kr);
	at = (uint32_t)kl;
	if ((rc = lm_fill_dist(m, ids, n, &at, 1, c->dist, e)) == 0)
		for (uint32_t v = 0; v < m->V && rc == 0; v++)
			rc = pool_add(c->pool, &v, 1, c->dist[v], e);
	ad_free(ids);
	return rc;
}

/*
 * k tokens, masked model: the iterative decoder. Row b of the batch is
 * branch b's window; filled[b][j] says whether its piece j is fixed.
 */
static int
fill_masked_many(struct fill_ctx *c, size_t k, struct ad_error *e)
{
	const struct lm *m = c->m;
	size_t           kl, kr, n, V = m->V, B = c->B;
	uint32_t        *ids, pos[FILL_BRANCHES * 4 * LM_FILL_MAX_TOKENS], first[FILL_BRANCHES * 4];
	uint8_t          filled[FILL_BRANCHES * 4][LM_FILL_MAX_TOKENS] = { { 0 } };
	size_t           best_j = 0, nb;
	double           best = -INFINITY;
	int              rc = 0;

	B = B < FILL_BRANCHES * 4 ? B : FILL_BRANCHES * 4;
	fill_fit(m->context, c->nl, c->nr, k, &kl, &kr);
	n = kl + k + kr;
	if ((ids = ad_mallocarray(B * n, sizeof *ids)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory filling a blank");
	fill_tail(ids, c->left, c->nl, kl);
	for (size_t j = 0; j < k; j++) {
		ids[kl + j] = m->mask;
		pos[j] = (uint32_t)(kl + j);
	}
	fill_tail(ids + kl + k, c->right, kr, kr);
	/* The first step, shared: the most confident position and its B best. */
	if ((rc = lm_fill_dist(m, ids, n, pos, k, c->dist, e)) != 0)
		goto out;
	for (size_t j = 0; j < k; j++)
		for (size_t v = 0; v < V; v++)
			if (c->dist[j * V + v] > best) {
				best = c->dist[j * V + v];
				best_j = j;
			}
	nb = fill_top(c->dist + best_j * V, (uint32_t)V, B, c->tmp, first);
	for (size_t b = 0; b < nb; b++) {
		if (b > 0) {
			memcpy(ids + b * n, ids, n * sizeof *ids);
			memcpy(pos + b * k, pos, k * sizeof *pos);
		}
		filled[b][best_j] = 1;
	}
	for (size_t b = 0; b < nb; b++)
		ids[b * n + kl + best_j] = first[b];
	/* Then one position per step in every branch, batched. */
	for (size_t step = 1; step < k; step++) {
		if ((rc = lm_fill_batch(m, ids, nb, n, pos, k, c->dist, e)) != 0)
			goto out;
		for (size_t b = 0; b < nb; b++) {
			const float *d = c->dist + b * k * V;
			size_t       jb = k;
			double       conf = -INFINITY;
			for (size_t j = 0; j < k; j++) {
				if (filled[b][j])
					continue;
				for (size_t v = 0; v < V; v++)
					if (d[j * V + v] > conf) {
						conf = d[j * V + v];
						jb = j;
					}
			}
			ids[b * n + kl + jb] = fill_pick(c, d + jb * V);
			filled[b][jb] = 1;
		}
	}
	for (size_t b = 0; b < nb && rc == 0; b++)
		rc = fill_rescore(c, ids + b * n + kl, k, e);
out:
	ad_free(ids);
	return rc;
}

/* ln p of every next token after left ++ prefix[0..np) (a causal model). */
static int
fill_next(struct fill_ctx *c, const uint32_t *prefix, size_t np, float *out,
    struct ad_error *e)
{
	const struct lm *m = c->m;
	struct lm_state *st;
	size_t           kl = c->nl < m->context ? c->nl : m->context;
	int              rc;

	if ((rc = lm_state_new(m, &st, e)) != 0)
		return rc;
	lm_state_reset(m, st);
	if ((kl == 0 || (rc = lm_push_many(m, st, c->left + c->nl - kl, kl, e)) == 0) &&
	    (np == 0 || (rc = lm_push_many(m, st, prefix, np, e)) == 0))
		rc = lm_next(m, st, out, e);
	lm_state_free(m, st);
	return rc;
}

/* One token, causal model: every allowed id (n-gram) or a shortlist. */
static int
fill_causal_one(struct fill_ctx *c, struct ad_error *e)
{
	const struct lm *m = c->m;
	size_t           S = c->cfg->shortlist ? c->cfg->shortlist : FILL_SHORTLIST, ns;
	uint32_t        *list;
	int              rc = 0;

	if (m->line_model) {
		for (uint32_t v = 0; v < m->V && rc == 0; v++)
			if (fill_allowed(m, v))
				rc = fill_rescore(c, &v, 1, e);
		return rc;
	}
	S = S > c->cfg->k ? S : c->cfg->k;
	if ((list = ad_mallocarray(S, sizeof *list)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory filling a blank");
	if ((rc = fill_next(c, NULL, 0, c->dist, e)) == 0) {
		ns = fill_top(c->dist, m->V, S, c->tmp, list);
		for (size_t i = 0; i < ns && rc == 0; i++)
			if (fill_allowed(m, list[i]))
				rc = fill_rescore(c, &list[i], 1, e);
	}
	ad_free(list);
	return rc;
}

/* A beam item of a causal multi-token decode. */
struct fill_beam {
	uint32_t ids[LM_FILL_MAX_TOKENS];
	double   s;
};

static int
beam_cmp(const void *a, const void *b)
{
	const struct fill_beam *x = a, *y = b;

	if (x->s != y->s)
		return x->s > y->s ? -1 : 1;
	return memcmp(x->ids, y->ids, sizeof x->ids) < 0 ? -1 : 1;
}

/* k tokens, causal model: a beam (or draws) left to right, then rescored. */
static int
fill_causal_many(struct fill_ctx *c, size_t k, struct ad_error *e)
{
	const struct lm  *m = c->m;
	size_t            B = c->B, nbeam = 1, V = m->V;
	struct fill_beam *beam, *next;
	uint32_t         *top;
	int               rc = 0;

	beam = ad_calloc(B, sizeof *beam);
	next = ad_calloc(B * B, sizeof *next);
	top = ad_mallocarray(B, sizeof *top);
	if (beam == NULL || next == NULL || top == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory filling a blank");
		goto out;
	}
	if (c->cfg->temperature > 0) {
		/* B draws, each left to right at the temperature. */
		for (size_t b = 0; b < B && rc == 0; b++) {
			for (size_t t = 0; t < k && rc == 0; t++)
				if ((rc = fill_next(c, beam[b].ids, t, c->dist, e)) == 0) {
					for (size_t v = 0; v < V; v++)
						if (!fill_allowed(m, (uint32_t)v))
							c->dist[v] = -INFINITY;
					beam[b].ids[t] = fill_pick(c, c->dist);
				}
			if (rc == 0)
				rc = fill_rescore(c, beam[b].ids, k, e);
		}
		goto out;
	}
	for (size_t t = 0; t < k; t++) {
		size_t nn = 0;
		for (size_t b = 0; b < nbeam; b++) {
			size_t nt;
			if ((rc = fill_next(c, beam[b].ids, t, c->dist, e)) != 0)
				goto out;
			for (size_t v = 0; v < V; v++)
				if (!fill_allowed(m, (uint32_t)v))
					c->dist[v] = -INFINITY;
			nt = fill_top(c->dist, (uint32_t)V, B, c->tmp, top);
			for (size_t i = 0; i < nt; i++) {
				next[nn] = beam[b];
				next[nn].ids[t] = top[i];
				next[nn].s = beam[b].s + c->dist[top[i]];
				nn++;
			}
		}
		qsort(next, nn, sizeof *next, beam_cmp);
		nbeam = nn < B ? nn : B;
		memcpy(beam, next, nbeam * sizeof *beam);
	}
	for (size_t b = 0; b < nbeam && rc == 0; b++)
		if (isfinite(beam[b].s))
			rc = fill_rescore(c, beam[b].ids, k, e);
out:
	ad_free(beam);
	ad_free(next);
	ad_free(top);
	return rc;
}

/* ---- One blank ------------------------------------------------------------- */

static int
fill_check_cfg(const struct lm_fill_cfg *cfg, struct ad_error *e)
{
	if (cfg->min_tokens < 1 || cfg->min_tokens > cfg->max_tokens ||
	    cfg->max_tokens > LM_FILL_MAX_TOKENS)
		return ad_fail(e, AD_EINVAL, "filler lengths %u to %u; 1 to %d are possible",
		    cfg->min_tokens, cfg->max_tokens, LM_FILL_MAX_TOKENS);
	if (cfg->k < 1)
		return ad_fail(e, AD_EINVAL, "no fillers asked for (k is 0)");
	if (!(cfg->temperature >= 0) || !isfinite(cfg->temperature))
		return ad_fail(e, AD_EINVAL, "temperature %g; it is 0 or more", cfg->temperature);
	return 0;
}

int
lm_fill_blank(const struct lm *m, const struct lm_fill_cfg *cfg, const uint32_t *left,
    size_t nl, const uint32_t *right, size_t nr, struct lm_filler **out, size_t *nout,
    int *exact, struct ad_error *e)
{
	struct fill_pool pool = { 0 };
	struct fill_ctx  c = { .m = m, .cfg = cfg, .left = left, .right = right, .nl = nl,
	                       .nr = nr, .pool = &pool };
	int              rc;

	if ((rc = fill_check_cfg(cfg, e)) != 0)
		return rc;
	if (!m->line_model && nl + cfg->max_tokens + nr > m->context)
		return ad_fail(e, AD_EINVAL, "the blank and the text around it are %zu tokens, and "
		    "the model sees %u at once: shorten the text around the blank",
		    nl + cfg->max_tokens + nr, m->context);
	c.B = cfg->k > FILL_BRANCHES ? cfg->k : FILL_BRANCHES;
	ad_rng_seed(&c.rng, cfg->seed, 0x66696c6c);   /* "fill" */
	c.dist = ad_mallocarray((size_t)FILL_BRANCHES * 4 * LM_FILL_MAX_TOKENS * m->V,
	    sizeof *c.dist);
	c.tmp = ad_mallocarray(m->V, sizeof *c.tmp);
	if (c.dist == NULL || c.tmp == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory filling a blank");
		goto out;
	}
	if ((rc = lm_sampler_new(&c.sampler, m->V, e)) != 0)
		goto out;
	for (size_t k = cfg->min_tokens; k <= cfg->max_tokens && rc == 0; k++) {
		if (lm_is_masked(m))
			rc = k == 1 ? fill_masked_one(&c, e) : fill_masked_many(&c, k, e);
		else
			rc = k == 1 ? fill_causal_one(&c, e) : fill_causal_many(&c, k, e);
	}
	if (rc == 0 && pool.n == 0)
		rc = ad_fail(e, AD_EINVAL, "no filler found: the model has no token that can stand "
		    "in a blank");
	if (rc == 0) {
		pool_finish(&pool);
		*out = pool.f;
		*nout = pool.n;
		pool.f = NULL;
		if (exact != NULL)
			*exact = cfg->max_tokens == 1 && (lm_is_masked(m) || m->line_model);
	}
out:
	ad_free(pool.f);
	ad_free(c.dist);
	ad_free(c.tmp);
	lm_sampler_free(c.sampler);
	return rc;
}

int
lm_fill_rank(const struct lm *m, const struct lm_fill_cfg *cfg, const uint32_t *left,
    size_t nl, const uint32_t *right, size_t nr, const uint32_t *word, size_t nw,
    double *logp, size_t *rank, struct ad_error *e)
{
	struct lm_fill_cfg one = *cfg;
	struct lm_filler  *f = NULL;
	size_t             n = 0, at = SIZE_MAX;
	double             s, mx = -INFINITY, sum = 0;
	int                rc;

	if (nw == 0 || nw > LM_FILL_MAX_TOKENS)
		return ad_fail(e, AD_EINVAL, "a word of %zu tokens; 1 to %d are possible", nw,
		    LM_FILL_MAX_TOKENS);
	one.min_tokens = one.max_tokens = (uint32_t)nw;
	if ((rc = lm_fill_blank(m, &one, left, nl, right, nr, &f, &n, NULL, e)) != 0)
		return rc;
	for (size_t i = 0; i < n && at == SIZE_MAX; i++)
		if (f[i].n == nw && memcmp(f[i].ids, word, nw * sizeof *word) == 0)
			at = i;
	if (at != SIZE_MAX) {
		*logp = f[at].logp;
	} else {
		/* Not found: scored on its own and added to the normaliser. */
		if ((rc = lm_fill_word(m, left, nl, right, nr, word, nw, &s, e)) != 0) {
			ad_free(f);
			return rc;
		}
		mx = s;
		for (size_t i = 0; i < n; i++)
			mx = f[i].score > mx ? f[i].score : mx;
		for (size_t i = 0; i < n; i++)
			sum += exp(f[i].score - mx);
		*logp = s - mx - log(sum + exp(s - mx));
	}
	*rank = at;
	ad_free(f);
	return 0;
}

/* ---- Text with blanks ------------------------------------------------------ */

void
lm_fill_blanks_free(struct lm_fill_blank *b, size_t n)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		ad_free(b[i].fillers);
	ad_free(b);
}

/* Append the ids of text[0..len) (len may be 0) to *ids. */
static int
fill_encode(const struct lm *m, const char *text, size_t len, uint32_t **ids, size_t *n,
    size_t *cap, struct ad_error *e)
{
	if (len == 0)
		return 0;
	return lm_encode(m, (const uint8_t *)text, len, ids, n, cap, e);
}

/* Whether the space before a blank goes into the filler (BPE tokens carry
 * their leading space). */
static int
fill_moves_space(const struct lm *m)
{
	return m->tok != NULL && !m->word_sep;
}

int
lm_fill_text(const struct lm *m, const struct lm_fill_cfg *cfg, const char *text,
    struct lm_fill_blank **out, size_t *nout, struct ad_error *e)
{
	const size_t          bl = strlen(FILL_BLANK);
	const char          **seg = NULL;   /* (nb + 1) starts of the text between blanks */
	size_t               *slen = NULL, nb = 0;
	struct lm_fill_blank *res = NULL;
	uint32_t             *L = NULL, *R = NULL;
	size_t                nl, nr, capl = 0, capr = 0;
	int                   rc = 0;

	for (const char *p = strstr(text, FILL_BLANK); p != NULL; p = strstr(p + bl, FILL_BLANK))
		nb++;
	if (nb == 0)
		return ad_fail(e, AD_EINVAL, "the text has no blank: write %s where a word is "
		    "missing", FILL_BLANK);
	if (m->line_model && strchr(text, '\n') != NULL)
		return ad_fail(e, AD_EINVAL, "the text is more than one line, and this model's "
		    "sentences are lines: give one sentence");
	if ((rc = fill_check_cfg(cfg, e)) != 0)
		return rc;
	seg = ad_mallocarray(nb + 1, sizeof *seg);
	slen = ad_mallocarray(nb + 1, sizeof *slen);
	res = ad_calloc(nb, sizeof *res);
	if (seg == NULL || slen == NULL || res == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory filling blanks");
		goto fail;
	}
	seg[0] = text;
	for (size_t i = 0; i < nb; i++) {
		const char *p = strstr(seg[i], FILL_BLANK);
		slen[i] = (size_t)(p - seg[i]);
		res[i].at = (size_t)(p - text);
		seg[i + 1] = p + bl;
	}
	slen[nb] = strlen(seg[nb]);
	for (size_t i = 0; i < nb; i++) {
		/* Left: the segments and best fillers before blank i. */
		nl = 0;
		for (size_t j = 0; j <= i; j++) {
			size_t len = slen[j];
			int    mv = fill_moves_space(m) && len > 0 && seg[j][len - 1] == ' ';
			if (j == i)
				res[i].moved_space = mv;
			if ((rc = fill_encode(m, seg[j], len - (size_t)mv, &L, &nl, &capl, e)) != 0)
				goto fail;
			if (j < i) {
				if (nl + LM_FILL_MAX_TOKENS > capl) {
					uint32_t *p = ad_reallocarray(L, nl + LM_FILL_MAX_TOKENS, sizeof *p);
					if (p == NULL) {
						rc = ad_fail(e, AD_ENOMEM, "out of memory filling blanks");
						goto fail;
					}
					L = p;
					capl = nl + LM_FILL_MAX_TOKENS;
				}
				memcpy(L + nl, res[j].fillers[0].ids, res[j].fillers[0].n * sizeof *L);
				nl += res[j].fillers[0].n;
			}
		}
		/* Right: to the next blank (causal), or on with one MASK per blank. */
		nr = 0;
		for (size_t j = i + 1; j <= nb; j++) {
			size_t len = slen[j];
			int    mv = j < nb && lm_is_masked(m) && fill_moves_space(m) && len > 0 &&
			            seg[j][len - 1] == ' ';
			if ((rc = fill_encode(m, seg[j], len - (size_t)mv, &R, &nr, &capr, e)) != 0)
				goto fail;
			if (j == nb || !lm_is_masked(m))
				break;
			if (nr + 1 > capr) {
				uint32_t *p = ad_reallocarray(R, nr + 1, sizeof *p);
				if (p == NULL) {
					rc = ad_fail(e, AD_ENOMEM, "out of memory filling blanks");
					goto fail;
				}
				R = p;
				capr = nr + 1;
			}
			R[nr++] = m->mask;
		}
		/* A line model's sentence ends after the last blank's right part. */
		if (m->line_model && i + 1 == nb && m->eos != LM_NONE) {
			if (nr + 1 > capr) {
				uint32_t *p = ad_reallocarray(R, nr + 1, sizeof *p);
				if (p == NULL) {
					rc = ad_fail(e, AD_ENOMEM, "out of memory filling blanks");
					goto fail;
				}
				R = p;
				capr = nr + 1;
			}
			R[nr++] = m->eos;
		}
		if ((rc = lm_fill_blank(m, cfg, L, nl, R, nr, &res[i].fillers, &res[i].n,
		    &res[i].exact, e)) != 0) {
			if (nb > 1)
				ad_error_prefix(e, "blank %zu of %zu", i + 1, nb);
			goto fail;
		}
	}
	ad_free(seg);
	ad_free(slen);
	ad_free(L);
	ad_free(R);
	*out = res;
	*nout = nb;
	return 0;
fail:
	ad_free(seg);
	ad_free(slen);
	ad_free(L);
	ad_free(R);
	lm_fill_blanks_free(res, nb);
	return rc;
}
