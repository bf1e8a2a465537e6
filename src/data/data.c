/*
 * data.c — the train/held-out split by lines and tokenization. See data.h.
 */
#include "config.h"

#include <string.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/rng.h"
#include "data/data.h"
#include "bpe/bpe.h"

/* A growable byte buffer. */
struct buf {
	uint8_t *p;
	size_t   len, cap;
};

static int
buf_add(struct buf *b, const uint8_t *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t   cap = b->cap ? b->cap : 4096;
		uint8_t *p;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = ad_realloc(b->p, cap)) == NULL)
			return AD_ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* Append text and a newline if it lacks one; count its lines. */
static int
buf_add_lines(struct buf *b, const uint8_t *s, size_t n, size_t *lines)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = buf_add(b, s, n)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		*lines += s[i] == '\n';
	if (s[n - 1] != '\n') {
		*lines += 1;
		return buf_add(b, (const uint8_t *)"\n", 1);
	}
	return 0;
}

/* Where the held-out part of one text starts. */
static size_t
split_point(const uint8_t *s, size_t n, double frac)
{
	size_t held, cut, line;

	if (frac <= 0 || n == 0)
		return n;
	held = (size_t)(frac * (double)n + 0.5);
	if (held == 0)
		held = 1;
	cut = held >= n ? 0 : n - held;
	for (line = cut; line > 0 && s[line - 1] != '\n'; line--)
		;
	if (cut - line <= held || cut - line <= 4096)
		return line;
	/* Few or no line breaks (one long line, say): back to a line start would
	 * add more than was asked, and more than 4 KB, to the held-out part (or
	 * hold out all of it). Cut at the start of the UTF-8 character instead. */
	for (int k = 0; k < 3 && cut > 0 && (s[cut] & 0xC0) == 0x80; k++)
		cut--;   /* (at most 3: text that is not UTF-8 stays near the cut) */
	return cut;
}

static int
split_one(struct buf *tr, struct buf *va, struct data_split *out, const uint8_t *s, size_t n,
    double frac)
{
	size_t cut = split_point(s, n, frac);
	int    rc;

	if ((rc = buf_add_lines(tr, s, cut, &out->train_lines)) != 0)
		return rc;
	return buf_add_lines(va, s + cut, n - cut, &out->val_lines);
}

static int
split_finish(struct data_split *out, struct buf *tr, struct buf *va, const char *what,
    struct ad_error *e)
{
	if (tr->len == 0) {
		ad_free(tr->p);
		ad_free(va->p);
		return ad_fail(e, AD_EDATA, "%s: no training text is left after the split: give "
		    "more text or a smaller --val-fraction", what);
	}
	out->train = tr->p;
	out->train_len = tr->len;
	out->val = va->p;
	out->val_len = va->len;
	return 0;
}

int
data_split_text(struct data_split *out, const uint8_t *text, size_t len, double val_fraction,
    struct ad_error *e)
{
	struct buf        tr = { 0 }, va = { 0 };
	struct data_split s = { 0 };

	if (val_fraction < 0 || val_fraction >= 1)
		return ad_fail(e, AD_EINVAL, "held-out fraction %g: give a number in [0, 1)",
		    val_fraction);
	if (split_one(&tr, &va, &s, text, len, val_fraction) != 0) {
		ad_free(tr.p);
		ad_free(va.p);
		return ad_fail(e, AD_ENOMEM, "out of memory splitting %zu bytes", len);
	}
	if (split_finish(&s, &tr, &va, "the text", e) != 0)
		return e != NULL ? e->code : AD_EDATA;
	*out = s;
	return 0;
}

int
data_split_files(struct data_split *out, const char *const *paths, size_t npaths,
    double val_fraction, const char *val_path, struct ad_error *e)
{
	struct buf        tr = { 0 }, va = { 0 };
	struct data_split s = { 0 };
	struct ad_map     m;
	struct ad_hash    h;
	int               rc;

	ad_hash_init(&h, 0);
	if (val_fraction < 0 || val_fraction >= 1)
		return ad_fail(e, AD_EINVAL, "held-out fraction %g: give a number in [0, 1)",
		    val_fraction);
	for (size_t i = 0; i < npaths + (val_path != NULL); i++) {
		int held = i == npaths;
		const char *p = held ? val_path : paths[i];
		if ((rc = ad_map_file(p, &m, e)) != 0)
			goto fail;
		if (held)
			rc = buf_add_lines(&va, m.data, m.size, &s.val_lines);
		else {
			ad_hash_update(&h, m.data, m.size);
			s.text_bytes += m.size;
			rc = split_one(&tr, &va, &s, m.data, m.size, val_path ? 0 : val_fraction);
		}
		ad_map_release(&m);
		if (rc != 0) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory reading the corpus", p);
			goto fail;
		}
	}
	s.text_hash = ad_hash_digest(&h);
	if ((rc = split_finish(&s, &tr, &va, npaths ? paths[0] : "the corpus", e)) != 0)
		return rc;
	*out = s;
	return 0;
fail:
	ad_free(tr.p);
	ad_free(va.p);
	return rc;
}

void
data_split_free(struct data_split *s)
{
	if (s == NULL)
		return;
	ad_free(s->train);
	ad_free(s->val);
	memset(s, 0, sizeof *s);
}

int
data_tokenize(const struct bpe *b, int threads, const uint8_t *text, size_t len,
    uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e)
{
	if (b != NULL)
		return bpe_encode_parallel(b, threads, text, len, ids, n, cap, e);
	if (*n + len > *cap) {
		size_t    nc = *n + len;
		uint32_t *p = ad_reallocarray(*ids, nc ? nc : 1, sizeof *p);
		if (p == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for %zu tokens", nc);
		*ids = p;
		*cap = nc;
	}
	for (size_t i = 0; i < len; i++)
		(*ids)[*n + i] = text[i];
	*n += len;
	return 0;
}

void
data_label_noise(uint32_t *targets, const uint32_t *ids, size_t n, double p, uint32_t V,
    uint64_t seed)
{
	struct ad_rng rng;

	ad_rng_seed(&rng, seed, 0x6c6e6f697365);   /* "lnoise" */
	for (size_t i = 0; i < n; i++)
		targets[i] = ad_rng_uniform(&rng) < p ? ad_rng_below(&rng, V) : ids[i];
}
