/*
 * lm_nn.c — a trained transformer behind the shared model interface (lm.h).
 *
 * The model sees the text as one stream in which the newline is an ordinary
 * token. A state is a key/value cache that starts with the BOS marker, so
 * the first token of a document is predicted from BOS alone, exactly as in
 * training (every training window starts with BOS). When the cache is full
 * (BOS + T-1 tokens), the state slides: it keeps the last T/2 tokens, starts
 * again from BOS and feeds them, so a push costs O(T) amortised.
 *
 * score runs the batched forward pass on up to T tokens (the caller,
 * lm_score, cuts longer sequences into overlapping windows).
 *
 * A model trained on the masked objective is opened too, with another
 * vtab: no state (nothing can be predicted left to right when every
 * position sees the ones after it), but fill_dist and fill_batch, one
 * bidirectional forward pass over BOS and a window of up to T - 1 tokens
 * in which the caller has put the MASK id at the hidden positions.
 */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/io.h"
#include "lm/lm.h"
#include "nn/nn.h"
#include "bpe/bpe.h"

struct nn_lm {
	struct lm        base;
	struct gpt      *g;
	struct bpe      *bpe;   /* NULL for a byte-level model */
	uint8_t          bytes[256];
	/* A view for score and for filling a cache, with activations for a
	 * whole context, kept between calls (a fresh one per window cost page
	 * faults: a third of eval's time). A caller takes it (view_take) or,
	 * when another thread holds it, makes its own; the first given back
	 * (view_give) is kept. */
	_Atomic(struct gpt *) spare;
	/* The same for score_batch: a view of nnlm_rows() rows with one
	 * block's activations, its logits and attention scores cut to
	 * NNLM_CHUNK_BYTES (gpt_alloc_scoring). */
	_Atomic(struct gpt *) spare_rows;
	/* An imported checkpoint's file, kept while parameters point into it
	 * (has_map; see nn_lm_wrap). */
	struct ad_map    map;
	int              has_map;
};

struct lm_state {
	struct gpt_kv *kv;
	uint32_t      *hist;    /* (T + 1) BOS, then the n tokens in the cache after it */
	size_t         n;
};

/* A view: the shared parameters, with activations of its own for 1 x T. */
static void
view_free(struct gpt *v)
{
	if (v != NULL)
		ad_free(v->act_mem);
	ad_free(v);
}

/*
 * Windows scored in one forward pass (score_batch): about 2,048 positions,
 * so that the products have 2,048 rows and their weights are packed once
 * for all of them; at most 16 windows of a short context. With one block's
 * activations, a row of the base preset (T 256, C 384, V 4,096) is ~12 MB.
 */
static size_t
nnlm_rows(const struct gpt_config *c)
{
	size_t r = 2048 / c->T;

	return r < 1 ? 1 : r > 16 ? 16 : r;
}

/*
 * Bytes of logits, and of attention scores, a scoring view holds at once
 * (gpt_alloc_scoring): the output layer and attention run in groups of
 * rows and (b, h) pairs that fit. Nothing is cut at the base preset
 * (2,048 rows x 4,096 ids: 32 MB); at GPT-2's shape (2 windows of 1,024
 * positions, V 50,257, 12 heads) the 412 MB of logits go in 7 groups of
 * up to 333 rows (the output layer's weights, 154 MB, packed 7 times
 * instead of once) and the 100 MB of scores in 2 groups of up to 16 pairs.
 */
#define NNLM_CHUNK_BYTES ((size_t)64 << 20)

/* x's spare view (rows 0: of 1 x T with every block's activations) or
 * spare scoring view (rows > 0: rows x T, gpt_alloc_scoring), or a new
 * one; AD_ENOMEM when none can be had. x is const to its callers: the
 * spares are a cache, not the model. */
static int
view_take_rows(const struct nn_lm *cx, size_t rows, struct gpt **out, struct ad_error *e)
{
	struct nn_lm *x = (struct nn_lm *)(uintptr_t)cx;
	struct gpt   *v;
	int           rc;

	if ((*out = atomic_exchange(rows ? &x->spare_rows : &x->spare, NULL)) != NULL)
		return 0;
	if ((v = ad_malloc(sizeof *v)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for the model's activations");
	*v = *x->g;
	v->act_mem = v->grad_mem = v->gact_mem = NULL;
	rc = rows ? gpt_alloc_scoring(v, rows, x->g->cfg.T, NNLM_CHUNK_BYTES, e) :
	    gpt_alloc(v, 1, x->g->cfg.T, 0, e);
	if (rc != 0) {
		ad_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

static void
view_give_rows(const struct nn_lm *cx, size_t rows, struct gpt *v)
{
	struct nn_lm *x = (struct nn_lm *)(uintptr_t)cx;

	view_free(atomic_exchange(rows ? &x->spare_rows : &x->spare, v));
}

static int
view_take(const struct nn_lm *cx, struct gpt **out, struct ad_error *e)
{
	return view_take_rows(cx, 0, out, e);
}

static void
view_give(const struct nn_lm *cx, struct gpt *v)
{
	view_give_rows(cx, 0, v);
}

static void
nnlm_free(struct lm *m)
{
	struct nn_lm *x = (struct nn_lm *)m;

	view_free(atomic_load(&x->spare));
	view_free(atomic_load(&x->spare_rows));
	gpt_free(x->g);
	bpe_free(x->bpe);
	if (x->has_map)
		ad_map_release(&x->map);
	ad_free(m->path);
	ad_free(x);
}

static void
nnlm_reset(const struct lm *m, struct lm_state *st)
{
	const struct nn_lm *x = (const struct nn_lm *)m;

	gpt_kv_reset(st->kv);
	gpt_kv_step(x->g, st->kv, gpt_bos(x->g));
	st->hist[0] = gpt_bos(x->g);
	st->n = 0;
}

static int
nnlm_state_new(const struct lm *m, struct lm_state **out, struct ad_error *e)
{
	const struct nn_lm *x = (const struct nn_lm *)m;
	struct lm_state    *st;
	int                 rc;

	if ((st = ad_calloc(1, sizeof *st)) == NULL ||
	    (st->hist = ad_mallocarray((size_t)x->g->cfg.T + 1, sizeof *st->hist)) == NULL) {
		if (st != NULL)
			ad_free(st);
		return ad_fail(e, AD_ENOMEM, "out of memory for a model state");
	}
	if ((rc = gpt_kv_new(x->g, &st->kv, e)) != 0) {
		ad_free(st->hist);
		ad_free(st);
		return rc;
	}
	nnlm_reset(m, st);
	*out = st;
	return 0;
}

static void
nnlm_state_free(struct lm_state *st)
{
	gpt_kv_free(st->kv);
	ad_free(st->hist);
	ad_free(st);
}

/* ln softmax(logits)[id], in double. */
static double
log_prob(const float *logits, size_t V, uint32_t id)
{
	double mx = -INFINITY, s = 0;

	for (size_t v = 0; v < V; v++)
		mx = logits[v] > mx ? logits[v] : mx;
	for (size_t v = 0; v < V; v++)
		s += exp((double)logits[v] - mx);
	return (double)logits[id] - mx - log(s);
}

static int
nnlm_next(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e)
{
	(void)e;
	nn_log_softmax(logp, st->kv->logits, m->V);
	return 0;
}

static int
nnlm_push(const struct lm *m, struct lm_state *st, uint32_t id, double *logp,
    struct ad_error *e)
{
	const struct nn_lm *x = (const struct nn_lm *)m;
	size_t              T = x->g->cfg.T;

	if (id >= m->V)
		return ad_fail(e, AD_EINVAL, "token id %u is outside the model's %u ids", id, m->V);
	if (logp != NULL)
		*logp = log_prob(st->kv->logits, m->V, id);
	if (st->kv->pos >= T) {
		/* Full: keep the last T/2 tokens after a fresh BOS, fed in one
		 * forward pass (the view first: a failure leaves the state as it
		 * was). */
		size_t      keep = T / 2;
		struct gpt *view;
		int         rc;
		if ((rc = view_take(x, &view, e)) != 0)
			return rc;
		memmove(st->hist + 1, st->hist + 1 + st->n - keep, keep * sizeof *st->hist);
		gpt_kv_reset(st->kv);
		gpt_kv_prefill(view, st->kv, st->hist, keep + 1);
		view_give(x, view);
		st->n = keep;
	}
	gpt_kv_step(x->g, st->kv, id);
	st->hist[1 + st->n++] = id;
	return 0;
}

static int
nnlm_push_many(const struct lm *m, struct lm_state *st, const uint32_t *ids, size_t n,
    struct ad_error *e)
{
	const struct nn_lm *x = (const struct nn_lm *)m;
	int                 rc = 0;

	for (size_t i = 0; i < n; i++)
		if (ids[i] >= m->V)
			return ad_fail(e, AD_EINVAL, "token id %u is outside the model's %u ids", ids[i],
			    m->V);
	/* Into a fresh state, the prompt goes in one forward pass: the tokens
	 * that n pushes would leave in the cache (all, or what the last slide
	 * kept and what came after it, see nnlm_push). */
	if (st->n == 0 && st->kv->pos == 1 && n >= 2) {
		size_t T = x->g->cfg.T, kept = 0;
		for (size_t i = 0; i < n; i++)
			kept = (kept + 1 >= T ? T / 2 : kept) + 1;
		if (kept + 1 <= T) {
			struct gpt *view;
			if ((rc = view_take(x, &view, e)) != 0)
				return rc;
			memcpy(st->hist + 1, ids + n - kept, kept * sizeof *ids);
			gpt_kv_prefill(view, st->kv, st->hist, kept + 1);
			view_give(x, view);
			st->n = kept;
			return 0;
		}
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = nnlm_push(m, st, ids[i], NULL, e);
	return rc;
}

/* What nnlm_score_rows hands a batch's logits on to: the visitor, and the
 * windows of the batch (its rows). */
struct nnlm_rows_ctx {
	lm_dist_fn       fn;
	void            *ctx;
	const size_t    *from;   /* (nb) the first position of each window shown to fn */
	const uint32_t  *tg;     /* (nb, n) the targets */
	size_t           n;      /* positions per window */
	uint32_t         V;
	struct ad_error *e;
};

/* gpt_rows_fn: rows r0 .. r0 + nr of the batch (window r / n, position
 * r % n), each from its window's from on, to the visitor in order. */
static int
nnlm_score_rows(void *ctx, size_t r0, size_t nr, const float *logits)
{
	const struct nnlm_rows_ctx *c = ctx;
	int                         rc = 0;

	for (size_t r = r0; r < r0 + nr && rc == 0; r++)
		if (r % c->n >= c->from[r / c->n])
			rc = c->fn(c->ctx, logits + (r - r0) * c->V, c->V, c->tg[r], c->e);
	return rc;
}

/*
 * score_batch (lm.h): the windows go nnlm_rows() at a time into one
 * forward pass of the scoring view, row b being BOS and win[b][0..n-1), its
 * targets win[b][0..n); the logits go to fn a group of rows at a time as
 * the output layer makes them (gpt_forward_rows: a batch's logits never
 * exist at once). Every kernel computes a row's outputs from that row
 * alone, in an order that depends neither on the other rows nor on the
 * thread count, so a window's scores are the same bits in any batch.
 */
static int
nnlm_score_batch(const struct lm *m, const uint32_t *const *win, size_t nwin, size_t n,
    const size_t *from, double *logp, lm_dist_fn fn, void *ctx, struct ad_error *e)
{
	const struct nn_lm  *x = (const struct nn_lm *)m;
	size_t               slot = nnlm_rows(&x->g->cfg), rows = slot < nwin ? slot : nwin;
	struct gpt          *view;
	uint32_t            *in, *tg;
	struct nnlm_rows_ctx rc_ctx = { fn, ctx, NULL, NULL, n, m->V, e };
	int                  rc = 0;

	if (n == 0 || nwin == 0)
		return 0;
	if (n > x->g->cfg.T)
		return ad_fail(e, AD_EINVAL, "%zu tokens scored at once; the context is %u", n,
		    x->g->cfg.T);
	for (size_t w = 0; w < nwin; w++)
		for (size_t i = 0; i < n; i++)
			if (win[w][i] >= m->V)
				return ad_fail(e, AD_EINVAL, "token id %u at %zu is outside the model's "
				    "%u ids", win[w][i], i, m->V);
	if ((in = ad_mallocarray(2 * rows * n, sizeof *in)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory scoring %zu tokens", n);
	tg = in + rows * n;
	/* A private view of the shared parameters with its own activations, so
	 * that threads may score with one model at once: the scoring view of
	 * nnlm_rows() rows, for one window too (the (1, T) view of every
	 * block's activations that prefill uses held 1.4 GB at GPT-2's shape). */
	if ((rc = view_take_rows(x, slot, &view, e)) != 0) {
		ad_free(in);
		return rc;
	}
	rc_ctx.tg = tg;
	for (size_t w0 = 0; w0 < nwin && rc == 0; w0 += rows) {
		size_t nb = nwin - w0 < rows ? nwin - w0 : rows;
		for (size_t b = 0; b < nb; b++) {
			in[b * n] = gpt_bos(view);
			memcpy(in + b * n + 1, win[w0 + b], (n - 1) * sizeof *in);
			memcpy(tg + b * n, win[w0 + b], n * sizeof *tg);
		}
		rc_ctx.from = from + w0;
		rc = gpt_forward_rows(view, in, tg, nb, n, fn != NULL ? nnlm_score_rows : NULL,
		    &rc_ctx);
		for (size_t i = 0; i < nb * n && rc == 0; i++)
			logp[w0 * n + i] = -(double)view->acts.losses[i];
	}
	view_give_rows(x, slot, view);
	ad_free(in);
	return rc;
}

/* score, and the logits before ids[from..n) to fn when fn is not NULL. */
static int
nnlm_score_window(const struct lm *m, const uint32_t *ids, size_t n, size_t from, double *logp,
    lm_dist_fn fn, void *ctx, struct ad_error *e)
{
	return nnlm_score_batch(m, &ids, 1, n, &from, logp, fn, ctx, e);
}

static int
nnlm_score(const struct lm *m, const uint32_t *ids, size_t n, double *logp, struct ad_error *e)
{
	return nnlm_score_window(m, ids, n, 0, logp, NULL, NULL, e);
}

static int
nnlm_encode(const struct lm *m, const uint8_t *text, size_t len, uint32_t **ids, size_t *n,
    size_t *cap, struct ad_error *e)
{
	const struct nn_lm *x = (const struct nn_lm *)m;
	struct bpe_encoder *enc;
	int                 rc;

	if (x->bpe == NULL) {
		if (*n + len > *cap) {
			uint32_t *p = ad_reallocarray(*ids, *n + len + 1, sizeof *p);
			if (p == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory encoding %zu bytes", len);
			*ids = p;
			*cap = *n + len + 1;
		}
		for (size_t i = 0; i < len; i++)
			(*ids)[(*n)++] = text[i];
		return 0;
	}
	if ((rc = bpe_encoder_new(x->bpe, &enc, e)) != 0)
		return rc;
	rc = bpe_encode(enc, text, len, ids, n, cap, e);
	bpe_encoder_free(enc);
	return rc;
}

static void
nnlm_token_text(const struct lm *m, uint32_t id, const uint8_t **bytes, size_t *len)
{
	const struct nn_lm *x = (const struct nn_lm *)m;

	if (x->bpe != NULL) {
		*bytes = bpe_token_bytes(x->bpe, id, len);
		return;
	}
	*bytes = id < 256 ? &x->bytes[id] : NULL;
	*len = id < 256;
}

static int
nnlm_embed(const struct lm *m, uint32_t id, float *out, struct ad_error *e)
{
	const struct nn_lm *x = (const struct nn_lm *)m;
	size_t              C = x->g->cfg.C;

	if (id >= m->V)
		return ad_fail(e, AD_EINVAL, "token id %u is outside the model's %u ids", id, m->V);
	memcpy(out, x->g->params.wte + (size_t)id * C, C * sizeof *out);
	return 0;
}

/* ---- A masked (bidirectional) model: fill_dist, and no next token ---- */

/* Bytes of forward activations a fill pass may hold at once (the rows of a
 * batch beyond it go in further passes). */
#define NNLM_FILL_BYTES ((uint64_t)128 << 20)

/*
 * lm_vtab.fill_batch: B windows of n tokens, each opened by BOS as in
 * training (masked_make_row), in passes of as many rows as NNLM_FILL_BYTES
 * holds; row b's logits at window position p are at model position p + 1.
 * Only the npos positions asked of each window go through the output
 * layer (gpt_forward_at), straight into logp, normalised there: with one
 * position per window (a PLL), 1/(n + 1) of the output layer's products.
 * The checks (ids, positions, n <= T - 1) are lm_fill_batch's.
 */
static int
nnlm_fill_batch(const struct lm *m, const uint32_t *ids, size_t B, size_t n,
    const uint32_t *pos, size_t npos, float *logp, struct ad_error *e)
{
	const struct nn_lm *x = (const struct nn_lm *)m;
	size_t              Tb = n + 1, V = m->V, rows;
	uint64_t            per_row;
	struct gpt         *view;
	uint32_t           *in;
	size_t             *at;
	int                 rc;

	if (B == 0 || npos == 0)
		return 0;
	/* Forward activations of one more row (gradient scratch included: an
	 * upper bound). */
	per_row = gpt_train_bytes(&x->g->cfg, 2, Tb) - gpt_train_bytes(&x->g->cfg, 1, Tb);
	rows = (size_t)(NNLM_FILL_BYTES / per_row);
	rows = rows < 1 ? 1 : rows > B ? B : rows;
	in = ad_mallocarray(rows * Tb, sizeof *in);
	at = ad_mallocarray(rows * npos, sizeof *at);
	if (in == NULL || at == NULL) {
		ad_free(in);
		ad_free(at);
		return ad_fail(e, AD_ENOMEM, "out of memory filling %zu windows", B);
	}
	if (rows == 1) {
		rc = view_take(x, &view, e);
	} else if ((view = ad_malloc(sizeof *view)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the model's activations");
	} else {
		*view = *x->g;
		view->act_mem = view->grad_mem = view->gact_mem = NULL;
		if ((rc = gpt_alloc(view, rows, Tb, 0, e)) != 0) {
			ad_free(view);
			view = NULL;
		}
	}
	if (rc != 0) {
		ad_free(in);
		ad_free(at);
		return rc;
	}
	for (size_t b0 = 0; b0 < B; b0 += rows) {
		size_t nb = B - b0 < rows ? B - b0 : rows;
		float *out = logp + b0 * npos * V;
		for (size_t b = 0; b < nb; b++) {
			in[b * Tb] = gpt_bos(x->g);
			memcpy(in + b * Tb + 1, ids + (b0 + b) * n, n * sizeof *in);
			for (size_t j = 0; j < npos; j++)
				at[b * npos + j] = b * Tb + 1 + pos[(b0 + b) * npos + j];
		}
		/* The logits of the positions asked, in the order asked: logp's
		 * rows for windows b0 .. b0 + nb, normalised in place. */
		gpt_forward_at(view, in, nb, Tb, at, nb * npos, out);
		for (size_t r = 0; r < nb * npos; r++)
			nn_log_softmax(out + r * V, out + r * V, V);
	}
	if (rows == 1)
		view_give(x, view);
	else
		view_free(view);
	ad_free(in);
	ad_free(at);
	return 0;
}

static int
nnlm_fill_dist(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
    size_t npos, float *logp, struct ad_error *e)
{
	return nnlm_fill_batch(m, ids, 1, n, pos, npos, logp, e);
}

static int
nnlm_masked_state_new(const struct lm *m, struct lm_state **out, struct ad_error *e)
{
	(void)out;
	return ad_fail(e, AD_EINVAL, "%s: a transformer trained on the masked objective "
	    "(bidirectional) has no next-token distribution: it cannot generate or score text "
	    "left to right; use 'autodidact fill', or 'autodidact eval' (pseudo-log-likelihood)",
	    m->path);
}

static void
nnlm_masked_reset(const struct lm *m, struct lm_state *st)
{
	(void)m;
	(void)st;
}

static int
nnlm_masked_next(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e)
{
	(void)st;
	(void)logp;
	return nnlm_masked_state_new(m, NULL, e);
}

static int
nnlm_masked_push(const struct lm *m, struct lm_state *st, uint32_t id, double *logp,
    struct ad_error *e)
{
	(void)st;
	(void)id;
	(void)logp;
	return nnlm_masked_state_new(m, NULL, e);
}

/* No state can be made, so next, push and state_free are never reached. */
static const struct lm_vtab nnlm_masked_vtab = {
	.free = nnlm_free, .state_new = nnlm_masked_state_new, .state_free = nnlm_state_free,
	.state_reset = nnlm_masked_reset, .next = nnlm_masked_next, .push = nnlm_masked_push,
	.encode = nnlm_encode, .token_text = nnlm_token_text, .embed = nnlm_embed,
	.fill_dist = nnlm_fill_dist, .fill_batch = nnlm_fill_batch,
};

static int
nnlm_set_bf16(struct lm *m, int bf16, struct ad_error *e)
{
	struct nn_lm *x = (struct nn_lm *)m;

	/* The spare views copied the model's struct, its precision with it. */
	view_free(atomic_exchange(&x->spare, NULL));
	view_free(atomic_exchange(&x->spare_rows, NULL));
	return gpt_set_precision(x->g, bf16 ? NN_PREC_BF16 : NN_PREC_FP32, e);
}

static const struct lm_vtab nnlm_vtab = {
	.free = nnlm_free, .state_new = nnlm_state_new, .state_free = nnlm_state_free,
	.state_reset = nnlm_reset, .next = nnlm_next, .push = nnlm_push, .score = nnlm_score,
	.encode = nnlm_encode, .token_text = nnlm_token_text, .embed = nnlm_embed,
	.push_many = nnlm_push_many, .score_dist = nnlm_score_window,
	.score_batch = nnlm_score_batch, .set_bf16 = nnlm_set_bf16,
};

/* The interface's fields of a model with configuration c; tok says what
 * its tokens are, in the description. A masked model has no next-token
 * distribution (each position also sees the ones after it): it answers
 * fill_dist, on windows of BOS and T - 1 tokens as it was trained. */
static void
nnlm_describe(struct nn_lm *x, const struct gpt_config *c, const char *tok, int masked)
{
	for (int i = 0; i < 256; i++)
		x->bytes[i] = (uint8_t)i;
	x->base.vt = masked ? &nnlm_masked_vtab : &nnlm_vtab;
	x->base.kind = "transformer";
	x->base.objective = masked ? "masked" : "causal";
	x->base.mask = masked ? GPT_MASK(c) : LM_NONE;
	x->base.V = c->V;
	x->base.context = masked ? c->T - 1 : c->T;
	x->base.bos = x->base.eos = x->base.unk = LM_NONE;
	x->base.line_model = 0;
	x->base.word_sep = 0;
	x->base.params = gpt_param_count(c);
	x->base.embed_dim = c->C;
	x->base.tok = x->bpe;
	snprintf(x->base.description, sizeof x->base.description,
	    "%u layers, %u heads, width %u, context %u, %.2fM parameters, %s, %s objective",
	    c->L, c->NH, c->C, c->T, (double)x->base.params / 1e6, tok, x->base.objective);
}

int
nn_lm_wrap(struct lm **out, const char *path, struct gpt *g, struct bpe *bpe,
    struct ad_map *map, const char *what, struct ad_error *e)
{
	struct nn_lm *x;

	if ((x = ad_calloc(1, sizeof *x)) == NULL || (x->base.path = ad_strdup(path)) == NULL) {
		ad_free(x);
		gpt_free(g);
		bpe_free(bpe);
		return ad_fail(e, AD_ENOMEM, "out of memory opening %s", path);
	}
	x->g = g;
	x->bpe = bpe;
	nnlm_describe(x, &g->cfg, what, 0);
	if (map != NULL) {
		x->map = *map;
		x->has_map = 1;
	}
	*out = &x->base;
	return 0;
}

int
nn_lm_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e)
{
	struct nn_lm  *x;
	struct nn_file f;
	int            rc;

	if ((x = ad_calloc(1, sizeof *x)) == NULL || (x->base.path = ad_strdup(path)) == NULL) {
		ad_free(x);
		return ad_fail(e, AD_ENOMEM, "out of memory opening %s", path);
	}
	if ((rc = nn_load(map->data, map->size, path, &f, &x->g, NULL, e)) != 0)
		goto fail;
	if (f.tok_kind == NN_TOK_BPE) {
		if ((rc = bpe_parse(&x->bpe, f.tok_blob, f.tok_len, path, e)) != 0)
			goto fail;
		if (bpe_identity(x->bpe) != f.tok_identity || bpe_vocab_size(x->bpe) != f.cfg.V) {
			rc = ad_fail(e, AD_EMISMATCH, "%s: the embedded vocabulary does not match the "
			    "identity the model was trained with: the file is damaged", path);
			goto fail;
		}
	} else if (f.cfg.V != 256) {
		rc = ad_fail(e, AD_EFORMAT, "%s: a byte-level model with %u ids", path, f.cfg.V);
		goto fail;
	}
	nnlm_describe(x, &f.cfg, x->bpe != NULL ? "BPE vocabulary" : "bytes", f.masked);
	x->base.text_hash = f.text_hash;
	x->base.text_bytes = f.text_bytes;
	ad_map_release(map);
	*out = &x->base;
	return 0;
fail:
	gpt_free(x->g);
	bpe_free(x->bpe);
	ad_free(x->base.path);
	ad_free(x);
	return rc;
}

const struct gpt *
nn_lm_gpt(const struct lm *m)
{
	return m->vt == &nnlm_vtab ? ((const struct nn_lm *)m)->g : NULL;
}

const float *
nn_lm_state_hidden(const struct lm_state *st)
{
	return st->kv->hid;
}

int
nn_lm_view_take(const struct lm *m, struct gpt **view, struct ad_error *e)
{
	return view_take((const struct nn_lm *)m, view, e);
}

void
nn_lm_view_give(const struct lm *m, struct gpt *view)
{
	view_give((const struct nn_lm *)m, view);
}
