/*
 * lm_knn.c — the kNN-LM behind the shared model interface (lm.h): a store
 * file names its transformer, and the two together are one stream model.
 *
 * Opening a store opens the model it records: the absolute path written at
 * build time, or, when that file is gone, the file of the same name beside
 * the store (a directory moved as a whole). The model must end with the
 * checksum the store recorded: any other model (retrained, another size) is
 * refused, since its context vectors would not be the store's keys.
 *
 * A state is the transformer's state: next and push add the neighbours of
 * its context vector (gpt_kv.hid). score runs one forward pass over the
 * window and searches for all its positions at once (knn_search).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "knn/knn.h"
#include "lm/lm.h"
#include "nn/nn.h"

struct knn_lm {
	struct lm          base;
	struct lm         *inner;   /* the transformer (owned) */
	struct knn_store  *store;   /* (owned) */
	struct knn_params  p;
};

struct lm_state {
	struct lm_state *in;        /* the transformer's state */
	const struct lm *inner;
};

double
knn_log_pknn(const float *dist, const uint32_t *idx, const uint32_t *values, size_t k,
    double temperature, uint32_t y)
{
	double z = 0, num = 0, d0 = dist[0];

	/* softmax(-d / tau) over the neighbours, shifted by the nearest for
	 * range (the paper's eq. 2 uses exp(-d) itself: tau = 1). */
	for (size_t j = 0; j < k && idx[j] != UINT32_MAX; j++) {
		double w = exp(-((double)dist[j] - d0) / temperature);
		z += w;
		if (values[idx[j]] == y)
			num += w;
	}
	return num > 0 ? log(num / z) : -INFINITY;
}

double
knn_mix(double lambda, double lp_lm, double lp_knn)
{
	/* ln((1 - lambda) e^a + lambda e^b) by log-sum-exp; with lambda = 0 the
	 * second term is -inf and the result is a + log1p(-0) + 0 = a exactly. */
	double a = log1p(-lambda) + lp_lm, b = log(lambda) + lp_knn;
	double hi = a > b ? a : b, lo = a > b ? b : a;

	if (hi == -INFINITY)
		return -INFINITY;
	return hi + log1p(exp(lo - hi));
}

static void
knnlm_free(struct lm *m)
{
	struct knn_lm *x = (struct knn_lm *)m;

	lm_free(x->inner);
	knn_store_free(x->store);
	ad_free(m->path);
	ad_free(x);
}

static int
knnlm_state_new(const struct lm *m, struct lm_state **out, struct ad_error *e)
{
	const struct knn_lm *x = (const struct knn_lm *)m;
	struct lm_state     *st;
	int                  rc;

	if ((st = ad_calloc(1, sizeof *st)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for a model state");
	if ((rc = lm_state_new(x->inner, &st->in, e)) != 0) {
		ad_free(st);
		return rc;
	}
	st->inner = x->inner;
	*out = st;
	return 0;
}

static void
knnlm_state_free(struct lm_state *st)
{
	lm_state_free(st->inner, st->in);
	ad_free(st);
}

static void
knnlm_reset(const struct lm *m, struct lm_state *st)
{
	(void)m;
	lm_state_reset(st->inner, st->in);
}

/* The k neighbours of one query (k-sized idx and dist). */
static int
knnlm_search(const struct knn_lm *x, const float *q, size_t nq, uint32_t *idx, float *dist,
    struct ad_error *e)
{
	const struct knn_store *s = x->store;

	return knn_search(s->keys, s->sqnorms, s->N, s->C, x->p.metric, q, nq, x->p.k, idx, dist,
	    NULL, e);
}

/*
 * logp (V) = ln(lambda p_kNN + (1 - lambda) p_LM) from the transformer's ln p
 * in lm (V, float or double through the two pointers) and one query's
 * neighbours.
 */
static void
knnlm_mix_all(const struct knn_lm *x, const float *lmf, const double *lmd, const uint32_t *idx,
    const float *dist, float *logp)
{
	size_t V = x->base.V;

	for (size_t v = 0; v < V; v++)
		logp[v] = (float)knn_mix(x->p.lambda, lmf != NULL ? lmf[v] : lmd[v], -INFINITY);
	/* The tokens the neighbours vote for: each once (its first neighbour). */
	for (size_t j = 0; j < x->p.k && idx[j] != UINT32_MAX; j++) {
		uint32_t y = x->store->values[idx[j]];
		size_t   i;
		for (i = 0; i < j && x->store->values[idx[i]] != y; i++)
			;
		if (i < j)
			continue;
		logp[y] = (float)knn_mix(x->p.lambda, lmf != NULL ? lmf[y] : lmd[y],
		    knn_log_pknn(dist, idx, x->store->values, x->p.k, x->p.temperature, y));
	}
}

static int
knnlm_next(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e)
{
	const struct knn_lm *x = (const struct knn_lm *)m;
	uint32_t            *idx;
	float               *dist, *lm;
	int                  rc;

	idx = ad_mallocarray(x->p.k, sizeof *idx);
	dist = ad_mallocarray(x->p.k, sizeof *dist);
	lm = ad_mallocarray(m->V, sizeof *lm);
	if (idx == NULL || dist == NULL || lm == NULL)
		rc = ad_fail(e, AD_ENOMEM, "out of memory for %u neighbours", x->p.k);
	else if ((rc = lm_next(x->inner, st->in, lm, e)) == 0 &&
	    (rc = knnlm_search(x, nn_lm_state_hidden(st->in), 1, idx, dist, e)) == 0)
		knnlm_mix_all(x, lm, NULL, idx, dist, logp);
	ad_free(idx);
	ad_free(dist);
	ad_free(lm);
	return rc;
}

static int
knnlm_push(const struct lm *m, struct lm_state *st, uint32_t id, double *logp,
    struct ad_error *e)
{
	const struct knn_lm *x = (const struct knn_lm *)m;
	uint32_t            *idx;
	float               *dist;
	double               lp_lm, lp_knn = -INFINITY;
	int                  rc;

	if (logp == NULL)
		return lm_push(x->inner, st->in, id, NULL, e);
	/* The neighbours of the context before id, then id pushed. */
	idx = ad_mallocarray(x->p.k, sizeof *idx);
	dist = ad_mallocarray(x->p.k, sizeof *dist);
	if (idx == NULL || dist == NULL)
		rc = ad_fail(e, AD_ENOMEM, "out of memory for %u neighbours", x->p.k);
	else if ((rc = knnlm_search(x, nn_lm_state_hidden(st->in), 1, idx, dist, e)) == 0)
		lp_knn = knn_log_pknn(dist, idx, x->store->values, x->p.k, x->p.temperature, id);
	ad_free(idx);
	ad_free(dist);
	if (rc == 0 && (rc = lm_push(x->inner, st->in, id, &lp_lm, e)) == 0)
		*logp = knn_mix(x->p.lambda, lp_lm, lp_knn);
	return rc;
}

static int
knnlm_push_many(const struct lm *m, struct lm_state *st, const uint32_t *ids, size_t n,
    struct ad_error *e)
{
	(void)m;
	return lm_push_many(st->inner, st->in, ids, n, e);
}

/* One window's queries: their neighbours, and the mixture at each token. */
struct window_ctx {
	const struct knn_lm *x;
	const uint32_t      *ids;
	double              *logp;
	uint32_t            *idx;     /* (T, k) */
	float               *dist;    /* (T, k) */
	float               *scores;  /* (V), with a visitor */
	double              *lsm;     /* (V), with a visitor */
	lm_dist_fn           fn;
	void                *fctx;
	const struct gpt    *view;    /* for the logits, with a visitor */
	size_t               from;
};

static int
window_rows(void *ctx, size_t first, size_t len, const float *rows, const double *lp,
    struct ad_error *e)
{
	struct window_ctx   *w = ctx;
	const struct knn_lm *x = w->x;
	size_t               k = x->p.k, V = x->base.V;
	int                  rc;

	if ((rc = knnlm_search(x, rows, len, w->idx, w->dist, e)) != 0)
		return rc;
	for (size_t i = 0; i < len; i++) {
		size_t t = first + i;
		double lk = knn_log_pknn(w->dist + i * k, w->idx + i * k, x->store->values, k,
		    x->p.temperature, w->ids[t]);
		w->logp[t] = knn_mix(x->p.lambda, lp[i], lk);
	}
	for (size_t i = 0; w->fn != NULL && i < len; i++) {
		size_t       t = first + i;
		const float *l = w->view->acts.logits + t * V;
		double       mx = -INFINITY, s = 0, lse;
		if (t < w->from)
			continue;
		for (size_t v = 0; v < V; v++)
			mx = l[v] > mx ? l[v] : mx;
		for (size_t v = 0; v < V; v++)
			s += exp((double)l[v] - mx);
		lse = mx + log(s);
		for (size_t v = 0; v < V; v++)
			w->lsm[v] = (double)l[v] - lse;
		knnlm_mix_all(x, NULL, w->lsm, w->idx + i * k, w->dist + i * k, w->scores);
		if ((rc = w->fn(w->fctx, w->scores, (uint32_t)V, w->ids[t], e)) != 0)
			return rc;
	}
	return 0;
}

/*
 * score of one window of at most T tokens (lm.c cuts longer texts), and the
 * mixed distribution before ids[from..n) to fn when fn is not NULL.
 */
static int
knnlm_score_window(const struct lm *m, const uint32_t *ids, size_t n, size_t from,
    double *logp, lm_dist_fn fn, void *ctx, struct ad_error *e)
{
	const struct knn_lm *x = (const struct knn_lm *)m;
	const struct gpt    *g = nn_lm_gpt(x->inner);
	struct window_ctx    w = { .x = x, .ids = ids, .logp = logp, .fn = fn, .fctx = ctx,
	                           .from = from };
	size_t               T = g->cfg.T;
	struct gpt          *view = NULL;
	int                  rc;

	if (n == 0)
		return 0;
	if (n > T)
		return ad_fail(e, AD_EINVAL, "%zu tokens scored at once; the context is %zu", n, T);
	w.idx = ad_mallocarray(n * x->p.k, sizeof *w.idx);
	w.dist = ad_mallocarray(n * x->p.k, sizeof *w.dist);
	if (fn != NULL) {
		w.scores = ad_mallocarray(m->V, sizeof *w.scores);
		w.lsm = ad_mallocarray(m->V, sizeof *w.lsm);
	}
	if (w.idx == NULL || w.dist == NULL || (fn != NULL && (w.scores == NULL || w.lsm == NULL))) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory scoring %zu tokens", n);
		goto out;
	}
	if (fn == NULL) {
		rc = knn_contexts(x->inner, ids, n, window_rows, &w, e);
		goto out;
	}
	/* With a visitor the logits are needed too: the forward pass here. */
	if ((rc = nn_lm_view_take(x->inner, &view, e)) != 0)
		goto out;
	{
		uint32_t *in = ad_mallocarray(n, sizeof *in);
		double   *lp = ad_mallocarray(n, sizeof *lp);
		if (in == NULL || lp == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory scoring %zu tokens", n);
		} else {
			for (size_t i = 0; i < n; i++)
				if (ids[i] >= m->V) {
					rc = ad_fail(e, AD_EINVAL, "token id %u at %zu is outside the "
					    "model's %u ids", ids[i], i, m->V);
					break;
				}
		}
		if (rc == 0) {
			in[0] = gpt_bos(g);
			memcpy(in + 1, ids, (n - 1) * sizeof *in);
			gpt_forward(view, in, ids, NULL, 1, n);
			for (size_t i = 0; i < n; i++)
				lp[i] = -(double)view->acts.losses[i];
			w.view = view;
			rc = window_rows(&w, 0, n, view->acts.ln2 +
			    (size_t)(g->cfg.L - 1) * view->B * view->Tb * g->cfg.C, lp, e);
		}
		ad_free(in);
		ad_free(lp);
	}
	nn_lm_view_give(x->inner, view);
out:
	ad_free(w.idx);
	ad_free(w.dist);
	ad_free(w.scores);
	ad_free(w.lsm);
	return rc;
}

static int
knnlm_score(const struct lm *m, const uint32_t *ids, size_t n, double *logp, struct ad_error *e)
{
	return knnlm_score_window(m, ids, n, 0, logp, NULL, NULL, e);
}

static int
knnlm_encode(const struct lm *m, const uint8_t *text, size_t len, uint32_t **ids, size_t *n,
    size_t *cap, struct ad_error *e)
{
	return lm_encode(((const struct knn_lm *)m)->inner, text, len, ids, n, cap, e);
}

static void
knnlm_token_text(const struct lm *m, uint32_t id, const uint8_t **bytes, size_t *len)
{
	lm_token_text(((const struct knn_lm *)m)->inner, id, bytes, len);
}

static int
knnlm_embed(const struct lm *m, uint32_t id, float *out, struct ad_error *e)
{
	const struct lm *in = ((const struct knn_lm *)m)->inner;

	return in->vt->embed(in, id, out, e);
}

static const struct lm_vtab knnlm_vtab = {
	.free = knnlm_free, .state_new = knnlm_state_new, .state_free = knnlm_state_free,
	.state_reset = knnlm_reset, .next = knnlm_next, .push = knnlm_push, .score = knnlm_score,
	.encode = knnlm_encode, .token_text = knnlm_token_text, .embed = knnlm_embed,
	.push_many = knnlm_push_many, .score_dist = knnlm_score_window,
};

static void
knnlm_describe(struct knn_lm *x)
{
	snprintf(x->base.description, sizeof x->base.description,
	    "kNN-LM: %llu entries, k %u, lambda %.3g, temperature %.3g, %s distance; over %.150s",
	    (unsigned long long)x->store->N, x->p.k, x->p.lambda, x->p.temperature,
	    knn_metric_name(x->p.metric), x->inner->description);
}

/* Map the store's model: the recorded path, else the same name beside the store. */
static int
knnlm_map_model(const char *store_path, const char *model_path, struct ad_map *m, char **used,
    struct ad_error *e)
{
	const char *base = strrchr(model_path, '/'), *dir = strrchr(store_path, '/');
	char       *alt;
	int         rc;

	if ((rc = ad_map_file(model_path, m, e)) == 0)
		return (*used = ad_strdup(model_path)) != NULL ? 0 :
		    (ad_map_release(m), ad_fail(e, AD_ENOMEM, "out of memory"));
	base = base != NULL ? base + 1 : model_path;
	if ((alt = ad_malloc((dir != NULL ? (size_t)(dir - store_path) + 1 : 0) + strlen(base) + 1))
	    == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	sprintf(alt, "%.*s%s", dir != NULL ? (int)(dir - store_path) + 1 : 0, store_path, base);
	if (ad_map_file(alt, m, NULL) != 0) {
		ad_free(alt);
		return ad_fail(e, AD_EIO, "%s: its model %s cannot be read, nor %s beside the store: "
		    "put the model back or rebuild the store with 'autodidact knn build'",
		    store_path, model_path, base);
	}
	*used = alt;
	return 0;
}

int
knn_lm_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e)
{
	struct knn_lm *x;
	struct ad_map  mm;
	char          *mpath = NULL;
	uint64_t       h = 0;
	int            rc;

	if ((x = ad_calloc(1, sizeof *x)) == NULL || (x->base.path = ad_strdup(path)) == NULL) {
		ad_free(x);
		return ad_fail(e, AD_ENOMEM, "out of memory opening %s", path);
	}
	if ((rc = knn_store_parse(&x->store, path, map, e)) != 0)
		goto fail_store;
	if ((rc = knnlm_map_model(path, x->store->model_path, &mm, &mpath, e)) != 0)
		goto fail;
	if (mm.size < 16 || (memcpy(&h, mm.data + mm.size - 8, 8), h != x->store->model_hash)) {
		ad_map_release(&mm);
		rc = ad_fail(e, AD_EMISMATCH, "%s: the store was built with another model than %s "
		    "(checksum %016llx, not %016llx): rebuild the store with 'autodidact knn build' "
		    "for this model", path, mpath, (unsigned long long)x->store->model_hash,
		    mm.size < 16 ? 0ULL : (unsigned long long)h);
		goto fail;
	}
	if ((rc = nn_lm_open(&x->inner, mpath, &mm, e)) != 0) {
		ad_map_release(&mm);
		goto fail;
	}
	if (nn_lm_gpt(x->inner)->cfg.C != x->store->C || x->inner->V != x->store->V) {
		rc = ad_fail(e, AD_EMISMATCH, "%s: keys of width %u over %u tokens, but %s has width "
		    "%u and %u tokens: the store is damaged", path, x->store->C, x->store->V, mpath,
		    nn_lm_gpt(x->inner)->cfg.C, x->inner->V);
		goto fail;
	}
	ad_free(mpath);
	x->p = x->store->params;
	{
		char *own = x->base.path;
		x->base = *x->inner;   /* V, context, markers, tokenizer: the transformer's */
		x->base.path = own;
	}
	x->base.vt = &knnlm_vtab;
	x->base.kind = "knn";
	x->base.params = x->inner->params + x->store->N * ((uint64_t)x->store->C + 1);
	knnlm_describe(x);
	*out = &x->base;
	return 0;
fail:
	/* The map goes back to the caller, who releases it on failure. */
	x->store->map.data = NULL;
	knn_store_free(x->store);
	lm_free(x->inner);
	ad_free(mpath);
	ad_free(x->base.path);
	ad_free(x);
	return rc;
fail_store:
	ad_free(x->base.path);
	ad_free(x);
	return rc;
}

const struct knn_store *
knn_lm_store(const struct lm *m)
{
	return m->vt == &knnlm_vtab ? ((const struct knn_lm *)m)->store : NULL;
}

const struct lm *
knn_lm_inner(const struct lm *m)
{
	return m->vt == &knnlm_vtab ? ((const struct knn_lm *)m)->inner : NULL;
}

int
knn_lm_set_params(struct lm *m, const struct knn_params *p, struct ad_error *e)
{
	struct knn_lm *x = (struct knn_lm *)m;
	int            rc;

	if (m->vt != &knnlm_vtab)
		return ad_fail(e, AD_EINVAL, "%s: not a kNN-LM", m->path);
	if ((rc = knn_params_check(p, e)) != 0)
		return rc;
	x->p = *p;
	knnlm_describe(x);
	return 0;
}
