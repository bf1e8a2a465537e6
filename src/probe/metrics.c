/*
 * metrics.c — what a model says about one probe item, through lm.h only.
 *
 * A probe sentence is scored as the model would see it as a line of its
 * training text: a line model from <s>, with </s> at the end; a stream
 * model after a newline (the end of the previous line), with the newline
 * that ends it. Token ids come from lm_encode, so a word model, a byte
 * model and a BPE transformer are all handled alike.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lm/lm.h"
#include "probe/probe.h"

struct idbuf {
	uint32_t *ids;
	size_t    n, cap;
};

static int
enc(const struct lm *m, const char *text, struct idbuf *b, struct ad_error *e)
{
	return lm_encode(m, (const uint8_t *)text, strlen(text), &b->ids, &b->n, &b->cap, e);
}

static int
push_id(struct idbuf *b, uint32_t id, struct ad_error *e)
{
	if (b->n == b->cap) {
		size_t    nc = b->cap ? b->cap * 2 : 64;
		uint32_t *p = ad_reallocarray(b->ids, nc, sizeof *p);
		if (p == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		b->ids = p;
		b->cap = nc;
	}
	b->ids[b->n++] = id;
	return 0;
}

/*
 * ids of text as a line: [context] text [end]. *skip is the number of
 * context ids in front (scored by the model but not part of the sentence).
 */
static int
sentence_ids(const struct lm *m, const char *text, int with_end, struct idbuf *b, size_t *skip,
    struct ad_error *e)
{
	int rc;

	b->n = 0;
	if (!m->line_model && (rc = enc(m, "\n", b, e)) != 0)
		return rc;
	*skip = b->n;
	if ((rc = enc(m, text, b, e)) != 0)
		return rc;
	if (!with_end)
		return 0;
	if (m->line_model)
		return m->eos != LM_NONE ? push_id(b, m->eos, e) : 0;
	return enc(m, "\n", b, e);
}

static int
score_ids(const struct lm *m, const struct idbuf *b, double **lp, size_t *clp, struct ad_error *e)
{
	if (b->n > *clp) {
		double *p = ad_reallocarray(*lp, b->n, sizeof *p);
		if (p == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		*lp = p;
		*clp = b->n;
	}
	return b->n ? lm_score(m, b->ids, b->n, *lp, e) : 0;
}

/*
 * The longest common subsequence of a[0..na) and b[0..nb), marking the
 * matched positions in ma and mb (1 = shared). Plain O(na · nb) dynamic
 * programming; ties broken the same way every time.
 */
static int
lcs_mark(const uint32_t *a, size_t na, const uint32_t *b, size_t nb, char *ma, char *mb,
    struct ad_error *e)
{
	uint32_t *T;
	size_t    W = nb + 1, i, j;

	if ((T = ad_calloc((na + 1) * W, sizeof *T)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory aligning %zu and %zu tokens", na, nb);
	for (i = na; i-- > 0;)
		for (j = nb; j-- > 0;)
			T[i * W + j] = a[i] == b[j] ? T[(i + 1) * W + j + 1] + 1
			    : T[(i + 1) * W + j] > T[i * W + j + 1] ? T[(i + 1) * W + j] : T[i * W + j + 1];
	memset(ma, 0, na);
	memset(mb, 0, nb);
	for (i = 0, j = 0; i < na && j < nb;) {
		if (a[i] == b[j]) {
			ma[i++] = 1;
			mb[j++] = 1;
		} else if (T[(i + 1) * W + j] >= T[i * W + j + 1]) {
			i++;
		} else {
			j++;
		}
	}
	ad_free(T);
	return 0;
}

int
probe_pair_score(const struct lm *m, const char *more, const char *less, double full[2],
    double shared[2], size_t ntok[2], int *skip, struct ad_error *e)
{
	struct idbuf b[2] = { { 0 }, { 0 } };
	double      *lp[2] = { NULL, NULL };
	size_t       clp[2] = { 0, 0 }, sk[2];
	char        *mk[2] = { NULL, NULL };
	int          rc = 0;

	*skip = 0;
	for (int k = 0; k < 2 && rc == 0; k++)
		if ((rc = sentence_ids(m, k ? less : more, 1, &b[k], &sk[k], e)) == 0)
			rc = score_ids(m, &b[k], &lp[k], &clp[k], e);
	if (rc != 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		ntok[k] = b[k].n - sk[k];
		full[k] = shared[k] = 0;
		for (size_t i = sk[k]; i < b[k].n; i++)
			full[k] += lp[k][i];
		if ((mk[k] = ad_malloc(ntok[k] + 1)) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((rc = lcs_mark(b[0].ids + sk[0], ntok[0], b[1].ids + sk[1], ntok[1], mk[0], mk[1], e)) != 0)
		goto out;
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < ntok[k]; i++) {
			if (mk[k][i])
				shared[k] += lp[k][sk[k] + i];
			else if (m->unk != LM_NONE && b[k].ids[sk[k] + i] == m->unk)
				*skip = 1;   /* a word that differs is unknown to the model */
		}
	/*
	 * Two different sentences with the same tokens: the changed words all
	 * became <unk> ("man" and "woman" both unknown to a word model), so the
	 * model cannot tell them apart; scoring them would add a tie.
	 */
	if (ntok[0] == ntok[1] && memcmp(b[0].ids + sk[0], b[1].ids + sk[1],
	    ntok[0] * sizeof *b[0].ids) == 0 && strcmp(more, less) != 0)
		*skip = 1;
out:
	for (int k = 0; k < 2; k++) {
		ad_free(b[k].ids);
		ad_free(lp[k]);
		ad_free(mk[k]);
	}
	return rc;
}

static int
join(char **out, const char *a, const char *b, const char *c, const char *d)
{
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c), ld = strlen(d);

	if ((*out = ad_malloc(la + lb + lc + ld + 1)) == NULL)
		return -1;
	memcpy(*out, a, la);
	memcpy(*out + la, b, lb);
	memcpy(*out + la + lb, c, lc);
	memcpy(*out + la + lb + lc, d, ld + 1);
	return 0;
}

int
probe_template_ratio(const struct lm *m, const struct probe_template *t, const char *target,
    double *ratio, int *skip, struct ad_error *e)
{
	struct idbuf b[2] = { { 0 }, { 0 } }, tb = { 0 };
	double      *lp[2] = { NULL, NULL }, s[2] = { 0, 0 };
	size_t       clp[2] = { 0, 0 }, sk[2], c = 0;
	char        *text = NULL;
	int          rc = 0;

	*skip = 0;
	/*
	 * A target the model cannot represent says nothing about the target.
	 * Its tokens are taken in context — the ids of head + target past those
	 * of head alone — because a tokenizer cuts a word differently inside a
	 * sentence (" nurse") than on its own ("nurse"), and a model over token
	 * ids may know only the first.
	 */
	{
		struct idbuf hb = { 0 };
		char        *ht = NULL;
		size_t       common = 0;
		if (join(&ht, t->head, target, "", "") != 0) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto out;
		}
		rc = enc(m, ht, &tb, e);
		ad_free(ht);
		if (rc == 0)
			rc = enc(m, t->head, &hb, e);
		if (rc != 0) {
			ad_free(hb.ids);
			goto out;
		}
		while (common < hb.n && common < tb.n && hb.ids[common] == tb.ids[common])
			common++;
		for (size_t i = common; i < tb.n; i++)
			if (m->unk != LM_NONE && tb.ids[i] == m->unk)
				*skip |= PROBE_SKIP_TARGET;
		ad_free(hb.ids);
	}
	for (int k = 0; k < 2 && rc == 0; k++) {
		if (join(&text, t->head, target, t->mid, t->attr[k]) != 0) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = sentence_ids(m, text, 0, &b[k], &sk[k], e)) == 0)
			rc = score_ids(m, &b[k], &lp[k], &clp[k], e);
		ad_free(text);
		text = NULL;
	}
	if (rc != 0)
		goto out;
	/*
	 * The attribute's tokens are those after the longest common prefix of
	 * the two encodings: ln p(attribute | everything before it), summed over
	 * its tokens (the chain rule for a word of several tokens).
	 */
	while (c < b[0].n && c < b[1].n && b[0].ids[c] == b[1].ids[c])
		c++;
	for (int k = 0; k < 2; k++)
		for (size_t i = c; i < b[k].n; i++) {
			s[k] += lp[k][i];
			if (m->unk != LM_NONE && b[k].ids[i] == m->unk)
				*skip |= PROBE_SKIP_ATTRIBUTE;
		}
	*ratio = s[0] - s[1];
out:
	for (int k = 0; k < 2; k++) {
		ad_free(b[k].ids);
		ad_free(lp[k]);
	}
	ad_free(tb.ids);
	return rc;
}

int
probe_word_vector(const struct lm *m, const char *word, float *out, size_t *ntok, int *skip,
    struct ad_error *e)
{
	struct idbuf b = { 0 };
	float       *v;
	char        *text;
	int          rc;

	*skip = 0;
	*ntok = 0;
	if (m->vt->embed == NULL || m->embed_dim == 0)
		return ad_fail(e, AD_EINVAL, "%s: the model has no token embeddings", m->path);
	/*
	 * A word inside a sentence follows a space, and a byte-level BPE
	 * tokenizer learns that form (" nurse"), so that is the form embedded.
	 */
	if (join(&text, m->line_model ? "" : " ", word, "", "") != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	rc = enc(m, text, &b, e);
	ad_free(text);
	if (rc != 0)
		goto out;
	if (b.n == 0) {
		*skip = 1;
		goto out;
	}
	if ((v = ad_mallocarray(m->embed_dim, sizeof *v)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t d = 0; d < m->embed_dim; d++)
		out[d] = 0;
	for (size_t i = 0; i < b.n && rc == 0; i++) {
		if (m->unk != LM_NONE && b.ids[i] == m->unk)
			*skip = 1;
		if ((rc = m->vt->embed(m, b.ids[i], v, e)) == 0)
			for (uint32_t d = 0; d < m->embed_dim; d++)
				out[d] += v[d] / (float)b.n;
	}
	ad_free(v);
	*ntok = b.n;
out:
	ad_free(b.ids);
	return rc;
}
