/*
 * lm.c — opening any model file by its magic, and scoring a sequence through
 * the shared interface. See lm.h.
 */
#include "config.h"

#include <string.h>

#include "base/io.h"
#include "lm/lm.h"
#include "nn/nn.h"
#include "ngram/ngram.h"

/*
 * The families. A binary model file starts with its 8-byte magic; an ARPA
 * file is recognised by "\data\" after optional blank space. Each family
 * adds its line here.
 */
struct lm_family {
	const char *magic;    /* 8 bytes, or NULL for a text format tested by probe */
	int       (*probe)(const uint8_t *data, size_t size);
	lm_opener   open;
	const char *name;
};

static const struct lm_family lm_families[] = {
	{ NGRAM_MAGIC, NULL, ngram_lm_open, "ngram" },
	{ NULL, ngram_arpa_probe, ngram_arpa_open, "arpa" },
	{ NN_MAGIC, NULL, nn_lm_open, "transformer" },
	{ NULL, NULL, NULL, NULL },
};

/* Dispatch a mapped file to its family; the map passes on, or is released. */
static int
lm_open_map(struct lm **out, const char *path, struct ad_map *m, struct ad_error *e)
{
	int rc, empty;

	for (const struct lm_family *f = lm_families; f->open != NULL; f++) {
		int match = f->magic != NULL ? m->size >= 8 && memcmp(m->data, f->magic, 8) == 0
		                             : f->probe(m->data, m->size);
		if (!match)
			continue;
		rc = f->open(out, path, m, e);
		if (rc != 0)
			ad_map_release(m);
		return rc;
	}
	empty = m->size == 0;
	ad_map_release(m);
	if (empty)
		return ad_fail(e, AD_EFORMAT, "%s: empty file, not a model", path);
	return ad_fail(e, AD_EFORMAT,
	    "%s: not a model file (neither an autodidact model nor an ARPA file); "
	    "models are written by 'autodidact train'", path);
}

int
lm_open(struct lm **out, const char *path, struct ad_error *e)
{
	struct ad_map m;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	return lm_open_map(out, path, &m, e);
}

int
lm_open_buffer(struct lm **out, const char *name, const void *data, size_t len,
    struct ad_error *e)
{
	struct ad_map m;
	uint8_t      *copy = ad_malloc(len);

	if (copy == NULL)
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for %zu bytes", name, len);
	memcpy(copy, data, len);
	m.data = copy;
	m.size = len;
	m.mapped = 0;
	return lm_open_map(out, name, &m, e);
}

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
