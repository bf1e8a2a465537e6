/*
 * lm.c — scoring a sequence through the shared interface. See lm.h. Opening
 * a model file is in models/models.c, the one place that knows every family.
 */
#include "config.h"

#include "lm/lm.h"

void
lm_free(struct lm *m)
{
	if (m != NULL)
		m->vt->free(m);
}

/*
 * One window of a stream model's batched scorer: ids[0..n) from the reset
 * state, the distributions before ids[from..n) to fn when fn is not NULL.
 */
static int
score_window(const struct lm *m, const uint32_t *ids, size_t n, size_t from, double *logp,
    lm_dist_fn fn, void *ctx, struct ad_error *e)
{
	if (fn == NULL)
		return m->vt->score(m, ids, n, logp, e);
	return m->vt->score_dist(m, ids, n, from, logp, fn, ctx, e);
}

/*
 * Stream models see at most `context` tokens. Score in windows that overlap
 * by half, keeping from each window only the tokens that had at least half
 * a window of context (all of the first window).
 */
static int
score_windows(const struct lm *m, const uint32_t *ids, size_t n, double *logp, lm_dist_fn fn,
    void *ctx, struct ad_error *e)
{
	size_t  W = m->context, stride = W / 2 > 0 ? W / 2 : 1, start = 0;
	double *tmp;
	int     rc;

	if (n <= W)
		return score_window(m, ids, n, 0, logp, fn, ctx, e);
	if ((tmp = ad_mallocarray(W, sizeof *tmp)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory scoring %zu tokens", n);
	if ((rc = score_window(m, ids, W, 0, logp, fn, ctx, e)) != 0) {
		ad_free(tmp);
		return rc;
	}
	/* Window k starts at k * stride; its kept part begins where the
	 * previous window ended, so every token is scored exactly once. */
	for (start = stride;; start += stride) {
		size_t len = n - start < W ? n - start : W;
		if ((rc = score_window(m, ids + start, len, W - stride, tmp, fn, ctx, e)) != 0) {
			ad_free(tmp);
			return rc;
		}
		for (size_t i = W - stride; i < len; i++)
			logp[start + i] = tmp[i];
		if (start + len >= n)
			break;
	}
	ad_free(tmp);
	return 0;
}

int
lm_score(const struct lm *m, const uint32_t *ids, size_t n, double *logp, struct ad_error *e)
{
	struct lm_state *st;
	int              rc;

	if (m->vt->score != NULL && !m->line_model)
		return score_windows(m, ids, n, logp, NULL, NULL, e);
	if ((rc = lm_state_new(m, &st, e)) != 0)
		return rc;
	lm_state_reset(m, st);
	for (size_t i = 0; i < n; i++)
		if ((rc = lm_push(m, st, ids[i], &logp[i], e)) != 0)
			break;
	lm_state_free(m, st);
	return rc;
}

int
lm_score_dist(const struct lm *m, const uint32_t *ids, size_t n, double *logp, lm_dist_fn fn,
    void *ctx, struct ad_error *e)
{
	struct lm_state *st;
	float           *dist;
	int              rc;

	if (m->vt->score_dist != NULL && !m->line_model)
		return score_windows(m, ids, n, logp, fn, ctx, e);
	if ((dist = ad_mallocarray(m->V, sizeof *dist)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for a %u-token distribution", m->V);
	if ((rc = lm_state_new(m, &st, e)) != 0) {
		ad_free(dist);
		return rc;
	}
	lm_state_reset(m, st);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((rc = lm_next(m, st, dist, e)) != 0 ||
		    (rc = fn(ctx, dist, m->V, ids[i], e)) != 0 ||
		    (rc = lm_push(m, st, ids[i], &logp[i], e)) != 0)
			break;
		if (m->line_model && ids[i] == m->eos)
			lm_state_reset(m, st);
	}
	lm_state_free(m, st);
	ad_free(dist);
	return rc;
}

/* The checks of lm_fill_dist and lm_fill_batch (B windows, n tokens each). */
static int
fill_check(const struct lm *m, const uint32_t *ids, size_t B, size_t n, const uint32_t *pos,
    size_t npos, struct ad_error *e)
{
	if (m->vt->fill_dist == NULL)
		return ad_fail(e, AD_EINVAL, "%s: a left-to-right (%s) model has no fill-in "
		    "distribution; only a masked model answers it (score candidates in the whole "
		    "sentence instead: lm_fill_word)", m->path != NULL ? m->path : m->kind,
		    m->objective != NULL ? m->objective : "causal");
	if (n == 0 || n > m->context)
		return ad_fail(e, AD_EINVAL, "a window of %zu tokens; the model takes 1 to %u", n,
		    m->context);
	for (size_t i = 0; i < B * n; i++)
		if (ids[i] >= m->V && ids[i] != m->mask)
			return ad_fail(e, AD_EINVAL, "token id %u at %zu of window %zu is neither one "
			    "of the model's %u ids nor its mask id %u", ids[i], i % n, i / n, m->V,
			    m->mask);
	for (size_t j = 0; j < B * npos; j++)
		if (pos[j] >= n)
			return ad_fail(e, AD_EINVAL, "position %u asked of a window of %zu tokens",
			    pos[j], n);
	return 0;
}

int
lm_fill_dist(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
    size_t npos, float *logp, struct ad_error *e)
{
	int rc;

	if ((rc = fill_check(m, ids, 1, n, pos, npos, e)) != 0)
		return rc;
	return m->vt->fill_dist(m, ids, n, pos, npos, logp, e);
}

int
lm_fill_batch(const struct lm *m, const uint32_t *ids, size_t B, size_t n, const uint32_t *pos,
    size_t npos, float *logp, struct ad_error *e)
{
	int rc;

	if ((rc = fill_check(m, ids, B, n, pos, npos, e)) != 0)
		return rc;
	if (m->vt->fill_batch != NULL)
		return m->vt->fill_batch(m, ids, B, n, pos, npos, logp, e);
	for (size_t b = 0; b < B && rc == 0; b++)
		rc = m->vt->fill_dist(m, ids + b * n, n, pos + b * npos, npos,
		    logp + b * npos * (size_t)m->V, e);
	return rc;
}
