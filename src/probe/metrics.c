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

static int template_ratio_masked(const struct lm *m, const struct probe_template *t,
    const char *target, double *ratio, int *skip, struct ad_error *e);

int
probe_pair_score(const struct lm *m, const char *more, const char *less, double full[2],
    double shared[2], size_t ntok[2], int *skip, struct ad_error *e)
{
	struct idbuf b[2] = { { 0 }, { 0 } };
	double      *lp[2] = { NULL, NULL };
	size_t       clp[2] = { 0, 0 }, sk[2];
	char        *mk[2] = { NULL, NULL };
	int          rc = 0;

	if (lm_is_masked(m))
		return probe_pair_score_masked(m, more, less, PROBE_DIR_NONE, full, shared, ntok, skip,
		    e);
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

	if (lm_is_masked(m))
		return template_ratio_masked(m, t, target, ratio, skip, e);
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

/* ---- masked (bidirectional) models ------------------------------------------ */

/*
 * How many masked copies go to the model in one batched call: each copy
 * brings a row of V floats back, so 32 keep that to 6 MB at V = 50,257.
 */
#define MASKED_BATCH 32

/*
 * The window of a sequence of n tokens the model sees when position p is
 * asked about: the whole sequence when it fits in lm->context tokens,
 * otherwise lm->context tokens centred on p (clamped to the ends).
 */
static size_t
masked_window(const struct lm *m, size_t n, size_t p, size_t *W)
{
	size_t w = n < m->context ? n : m->context, start = 0;

	if (n > w) {
		start = p > w / 2 ? p - w / 2 : 0;
		if (start > n - w)
			start = n - w;
	}
	*W = w;
	return start;
}

/*
 * For each of pos[0..npos), ln p(ids[pos[j]]) when that position alone is
 * masked and the rest of ids[0..n) is seen: the masked copies of the
 * sequence, MASKED_BATCH at a time, through lm_fill_batch.
 */
static int
masked_each(const struct lm *m, const uint32_t *ids, size_t n, const size_t *pos, size_t npos,
    double *out, struct ad_error *e)
{
	size_t    W;
	uint32_t *win = NULL, *wp = NULL;
	float    *lp = NULL;
	int       rc = 0;

	if (npos == 0)
		return 0;
	(void)masked_window(m, n, 0, &W);
	win = ad_mallocarray((size_t)MASKED_BATCH * W, sizeof *win);
	wp = ad_mallocarray(MASKED_BATCH, sizeof *wp);
	lp = ad_mallocarray((size_t)MASKED_BATCH * m->V, sizeof *lp);
	if (win == NULL || wp == NULL || lp == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for %d masked copies", MASKED_BATCH);
		goto out;
	}
	for (size_t c0 = 0; c0 < npos && rc == 0; c0 += MASKED_BATCH) {
		size_t nb = npos - c0 < MASKED_BATCH ? npos - c0 : MASKED_BATCH;
		for (size_t b = 0; b < nb; b++) {
			size_t p = pos[c0 + b], start = masked_window(m, n, p, &W);
			memcpy(win + b * W, ids + start, W * sizeof *win);
			win[b * W + (p - start)] = m->mask;
			wp[b] = (uint32_t)(p - start);
		}
		if ((rc = lm_fill_batch(m, win, nb, W, wp, 1, lp, e)) != 0)
			break;
		for (size_t b = 0; b < nb; b++)
			out[c0 + b] = lp[b * (size_t)m->V + ids[pos[c0 + b]]];
	}
out:
	ad_free(win);
	ad_free(wp);
	ad_free(lp);
	return rc;
}

int
probe_pair_score_masked(const struct lm *m, const char *more, const char *less,
    enum probe_direction dir, double full[2], double shared[2], size_t ntok[2], int *skip,
    struct ad_error *e)
{
	struct idbuf   b[2] = { { 0 }, { 0 } };
	double        *lp[2] = { NULL, NULL };
	size_t        *pos = NULL, sk[2];
	unsigned char *mk[2] = { NULL, NULL };
	/* metric.py's sent1 is sent_less in an antistereo row, sent_more otherwise. */
	int            s1 = dir == PROBE_DIR_ANTISTEREO ? 1 : 0, rc = 0;

	*skip = 0;
	if (!lm_is_masked(m))
		return ad_fail(e, AD_EINVAL, "%s: not a masked model", m->path);
	for (int k = 0; k < 2 && rc == 0; k++)
		rc = sentence_ids(m, k ? less : more, 1, &b[k], &sk[k], e);
	if (rc != 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		ntok[k] = b[k].n - 2 * sk[k];
		lp[k] = ad_calloc(b[k].n ? b[k].n : 1, sizeof *lp[k]);   /* the newlines: 0 */
		mk[k] = ad_malloc(b[k].n ? b[k].n : 1);
		if (lp[k] == NULL || mk[k] == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto out;
		}
	}
	if ((pos = ad_mallocarray(b[0].n + b[1].n + 1, sizeof *pos)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto out;
	}
	/*
	 * Each token between the framing newlines masked alone: every score
	 * below is a sum of these (masking one token at a time, the others'
	 * values do not depend on which tokens are summed).
	 */
	for (int k = 0; k < 2 && rc == 0; k++) {
		size_t np = 0;
		for (size_t i = sk[k]; i + sk[k] < b[k].n; i++)
			pos[np++] = i;
		rc = masked_each(m, b[k].ids, b[k].n, pos, np, lp[k] + sk[k], e);
	}
	if (rc != 0)
		goto out;
	if ((rc = probe_align_shared(b[s1].ids, b[s1].n, b[1 - s1].ids, b[1 - s1].n, mk[s1],
	    mk[1 - s1], e)) != 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		size_t nshared = 0, t = 0;
		full[k] = shared[k] = 0;
		for (size_t i = sk[k]; i + sk[k] < b[k].n; i++) {
			full[k] += lp[k][i];
			if (!mk[k][i] && m->unk != LM_NONE && b[k].ids[i] == m->unk)
				*skip = 1;   /* a token that differs is unknown to the model */
		}
		for (size_t i = 0; i < b[k].n; i++)
			nshared += mk[k][i];
		/*
		 * metric.py's loop over range(1, N - 1) of the shared tokens: all
		 * but the first and the last, which are [CLS] and [SEP] there and
		 * the framing newlines here.
		 */
		for (size_t i = 0; i < b[k].n; i++) {
			if (!mk[k][i])
				continue;
			if (t > 0 && t + 1 < nshared)
				shared[k] += lp[k][i];
			t++;
		}
	}
	if (ntok[0] == ntok[1] && memcmp(b[0].ids, b[1].ids, b[0].n * sizeof *b[0].ids) == 0 &&
	    strcmp(more, less) != 0)
		*skip = 1;
out:
	for (int k = 0; k < 2; k++) {
		ad_free(b[k].ids);
		ad_free(lp[k]);
		ad_free(mk[k]);
	}
	ad_free(pos);
	return rc;
}

/* The length of the longest common prefix of two id sequences. */
static size_t
lcp(const struct idbuf *x, const struct idbuf *y)
{
	size_t c = 0;

	while (c < x->n && c < y->n && x->ids[c] == y->ids[c])
		c++;
	return c;
}

/*
 * ln p of the tokens of ids[a0..a1) filled in when all of them are masked,
 * with ids[t0..t1) masked too when t1 > t0: the chain rule left to right
 * (mask every piece, score the first; show it, score the second; ...), so
 * a word of one token is Kurita et al.'s p([MASK] = word | sentence) and a
 * word of several is the product of its pieces in reading order. buf has
 * room for n ids.
 */
static int
masked_span_logp(const struct lm *m, const uint32_t *ids, size_t n, size_t a0, size_t a1,
    size_t t0, size_t t1, uint32_t *buf, float *row, double *out, struct ad_error *e)
{
	int rc = 0;

	*out = 0;
	for (size_t q = a0; q < a1 && rc == 0; q++) {
		size_t   W, start = masked_window(m, n, q, &W);
		uint32_t p;
		memcpy(buf, ids, n * sizeof *buf);
		for (size_t i = t0; i < t1; i++)
			buf[i] = m->mask;
		for (size_t i = q; i < a1; i++)
			buf[i] = m->mask;
		p = (uint32_t)(q - start);
		if ((rc = lm_fill_dist(m, buf + start, W, &p, 1, row, e)) == 0)
			*out += row[ids[q]];
	}
	return rc;
}

/*
 * Kurita et al. (2019), section 3, for a masked model: for each attribute
 * word x of the slot, the increased log probability
 *   ln p([MASK] = x | the template with the target) −
 *   ln p([MASK] = x | the template with the target masked as well),
 * and the ratio is that of the first attribute minus that of the second
 * (their bias score; the prior is inside it, so no neutral word is used).
 * The whole line is seen, the words after the attribute included. A target
 * of several tokens is masked by as many masks.
 */
static int
template_ratio_masked(const struct lm *m, const struct probe_template *t, const char *target,
    double *ratio, int *skip, struct ad_error *e)
{
	const char  *close = strrchr(t->text, '}');
	const char  *tail = close != NULL ? close + 1 : "";
	const char  *piece[5];
	struct idbuf full = { 0 }, pre = { 0 }, line = { 0 };
	uint32_t    *buf = NULL;
	float       *row = NULL;
	double       ilp[2] = { 0, 0 };
	int          rc = 0;

	*skip = 0;
	*ratio = NAN;
	if ((row = ad_mallocarray(m->V, sizeof *row)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	piece[0] = t->head;
	piece[1] = target;
	piece[2] = t->mid;
	piece[4] = tail;
	for (int k = 0; k < 2 && rc == 0; k++) {
		size_t cut[4], sk;
		double with, prior;
		char  *text = NULL;
		piece[3] = t->attr[k];
		/*
		 * The spans of the target and of the attribute: where the ids of
		 * the text up to each slot's start and end part from the ids of the
		 * whole line (a tokenizer cuts " nurse" inside a sentence otherwise
		 * than "nurse" alone, so the spans are read from the line itself).
		 */
		{
			size_t len = 0;
			for (int j = 0; j < 5; j++)
				len += strlen(piece[j]);
			if ((text = ad_malloc(len + 1)) == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory");
				goto out;
			}
			text[0] = '\0';
			for (int j = 0; j < 5; j++)
				strcat(text, piece[j]);
		}
		rc = sentence_ids(m, text, 1, &line, &sk, e);
		full.n = 0;
		if (rc == 0)
			rc = enc(m, text, &full, e);
		for (int c = 0; c < 4 && rc == 0; c++) {
			size_t len = 0;
			for (int j = 0; j <= c; j++)
				len += strlen(piece[j]);
			pre.n = 0;
			if ((rc = lm_encode(m, (const uint8_t *)text, len, &pre.ids, &pre.n, &pre.cap,
			    e)) == 0)
				cut[c] = sk + lcp(&pre, &full);
		}
		ad_free(text);
		if (rc != 0)
			goto out;
		/* [cut0, cut1): the target; [cut2, cut3): the attribute word. */
		if (!(cut[0] < cut[1] && cut[1] <= cut[2] && cut[2] < cut[3])) {
			*skip |= cut[0] < cut[1] ? PROBE_SKIP_ATTRIBUTE : PROBE_SKIP_TARGET;
			goto out;
		}
		for (size_t i = cut[0]; i < cut[3]; i++)
			if (m->unk != LM_NONE && line.ids[i] == m->unk)
				*skip |= i < cut[1] ? PROBE_SKIP_TARGET : i >= cut[2] ?
				    PROBE_SKIP_ATTRIBUTE : 0;
		{
			uint32_t *nb = ad_reallocarray(buf, line.n, sizeof *buf);
			if (nb == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory");
				goto out;
			}
			buf = nb;
		}
		if ((rc = masked_span_logp(m, line.ids, line.n, cut[2], cut[3], 0, 0, buf, row, &with,
		    e)) != 0 || (rc = masked_span_logp(m, line.ids, line.n, cut[2], cut[3], cut[0],
		    cut[1], buf, row, &prior, e)) != 0)
			goto out;
		ilp[k] = with - prior;
	}
	if (*skip == 0)
		*ratio = ilp[0] - ilp[1];
out:
	ad_free(full.ids);
	ad_free(pre.ids);
	ad_free(line.ids);
	ad_free(buf);
	ad_free(row);
	return rc;
}
