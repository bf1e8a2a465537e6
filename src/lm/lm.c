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

int
lm_score(const struct lm *m, const uint32_t *ids, size_t n, double *logp, struct ad_error *e)
{
	struct lm_state *st;
	int              rc;

	if (m->vt->score != NULL && !m->line_model) {
		/*
		 * Stream models see at most `context` tokens. Score in windows that
		 * overlap by half, keeping from each window only the tokens that had
		 * at least half a window of context (all of the first window).
		 */
		size_t W = m->context, stride = W / 2 > 0 ? W / 2 : 1, start = 0;
		double *tmp;

		if (n <= W)
			return m->vt->score(m, ids, n, logp, e);
		if ((tmp = ad_mallocarray(W, sizeof *tmp)) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory scoring %zu tokens", n);
		if ((rc = m->vt->score(m, ids, W, logp, e)) != 0) {
			ad_free(tmp);
			return rc;
		}
		/* Window k starts at k * stride; its kept part begins where the
		 * previous window ended, so every token is scored exactly once. */
		for (start = stride;; start += stride) {
			size_t len = n - start < W ? n - start : W;
			if ((rc = m->vt->score(m, ids + start, len, tmp, e)) != 0) {
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
	if ((rc = lm_state_new(m, &st, e)) != 0)
		return rc;
	lm_state_reset(m, st);
	for (size_t i = 0; i < n; i++)
		if ((rc = lm_push(m, st, ids[i], &logp[i], e)) != 0)
			break;
	lm_state_free(m, st);
	return rc;
}
