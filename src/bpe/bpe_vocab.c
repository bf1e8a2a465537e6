/*
 * vocab.c — the vocabulary: building its tables, the autodidact-bpe text
 * format (parse, serialize), and tiktoken rank files.
 *
 * The format (version 1; the man page autodidact-tokenize(1) documents it):
 *
 *   autodidact-bpe 1
 *   pattern REGEX              the pre-tokenization regex, raw, to end of line
 *   normalize none|nfc|nfkc
 *   casefold yes|no
 *   tokens N                   N regular token lines follow
 *   specials M                 M special token lines follow them
 *   RANK TOKEN                 N times: decimal rank, one space, escaped bytes
 *   special ID TOKEN           M times: ids right after the highest rank
 *   checksum HHHHHHHHHHHHHHHH  XXH64 (seed 0) of every byte before this line
 *
 * Escaping: bytes 0x21-0x7E other than backslash stand for themselves, a
 * backslash is written \\, every other byte \xHH (two lowercase hex digits).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/hash.h"
#include "base/io.h"
#include "bpe/bpe_impl.h"

#define BPE_FORMAT  "autodidact-bpe"
#define BPE_VERSION 1
#define BPE_MAX_RANK (1u << 30)
/* Special ids lie within this many ids after the highest rank. */
#define BPE_SPECIAL_SPAN (1u << 20)

/* ---- building ---------------------------------------------------------- */

static size_t
table_size(size_t n)
{
	size_t s = 16;

	while (s < 2 * n + 2)
		s *= 2;
	return s;
}

int
bpe_build(struct bpe *b, const char *name, struct ad_error *e)
{
	uint32_t nids, nsp = 0;
	size_t   slots;
	int      rc;
	char    *ser = NULL;
	size_t   serlen, nlens = 0;
	uint64_t *haslen;
	uint32_t *lens;

	if (b->nids == 0)
		b->nids = b->nranks + b->nspecials;
	nids = b->nids;

	/* Bytes -> rank. */
	slots = table_size(b->nranks);
	if ((b->tok = ad_calloc(slots, sizeof *b->tok)) == NULL)
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for %u tokens", name, b->nranks);
	b->tok_mask = slots - 1;
	b->ntokens = 0;
	b->max_len = 0;
	for (uint32_t r = 0; r < b->nranks; r++) {
		const uint8_t *s = b->bytes + b->off[r];
		size_t         n = b->off[r + 1] - b->off[r], i;
		uint32_t       v;

		if (n == 0)
			continue;  /* an unused rank */
		i = (size_t)text_hash(s, n) & b->tok_mask;
		while ((v = b->tok[i]) != 0) {
			uint32_t o = v - 1;
			if (b->off[o + 1] - b->off[o] == n && memcmp(b->bytes + b->off[o], s, n) == 0)
				return ad_fail(e, AD_EFORMAT, "%s: ranks %u and %u are the same token; "
				    "every token must be distinct", name, o, r);
			i = (i + 1) & b->tok_mask;
		}
		b->tok[i] = r + 1;
		b->ntokens++;
		if (n > b->max_len)
			b->max_len = (uint32_t)n;
	}
	for (int c = 0; c < 256; c++) {
		uint8_t byte = (uint8_t)c;
		if ((b->byte_id[c] = bpe_rank_of(b, &byte, 1)) == BPE_NONE)
			return ad_fail(e, AD_EFORMAT, "%s: byte 0x%02x has no token; a byte-level "
			    "vocabulary needs all 256 single bytes", name, c);
	}

	/* (left, right) -> rank of the concatenation, for every split of every
	 * token into two tokens. A split at k can only be one when some token
	 * is k bytes long and some n - k: a token n bytes long is tried at
	 * those k only, which keeps long tokens (a vocabulary learned from a
	 * file of NUL bytes has tokens of 2^k bytes up to megabytes) from
	 * costing n hashes of n bytes each. haslen has a bit per length. */
	if ((haslen = ad_calloc((size_t)b->max_len / 64 + 1, sizeof *haslen)) == NULL ||
	    (lens = ad_mallocarray(b->max_len + 1, sizeof *lens)) == NULL) {
		ad_free(haslen);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for %u tokens", name, b->nranks);
	}
	for (uint32_t r = 0; r < b->nranks; r++) {
		size_t n = b->off[r + 1] - b->off[r];
		haslen[n / 64] |= (uint64_t)1 << (n % 64);
	}
	for (size_t n = 1; n <= b->max_len; n++)
		if (haslen[n / 64] >> (n % 64) & 1)
			lens[nlens++] = (uint32_t)n;
	slots = table_size((size_t)b->ntokens * 2);
	if ((b->pair_key = ad_mallocarray(slots, sizeof *b->pair_key)) == NULL ||
	    (b->pair_val = ad_mallocarray(slots, sizeof *b->pair_val)) == NULL) {
		ad_free(haslen);
		ad_free(lens);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for the pair table", name);
	}
	memset(b->pair_key, 0xff, slots * sizeof *b->pair_key);
	b->pair_mask = slots - 1;
	{
		size_t used = 0;
		for (uint32_t r = 0; r < b->nranks; r++) {
			const uint8_t *s = b->bytes + b->off[r];
			size_t         n = b->off[r + 1] - b->off[r];

			for (size_t li = 0; li < nlens && lens[li] < n; li++) {
				size_t   k = lens[li];
				uint32_t l, rr;
				uint64_t key;
				size_t   i;

				if (!(haslen[(n - k) / 64] >> ((n - k) % 64) & 1))
					continue;
				if ((l = bpe_rank_of(b, s, k)) == BPE_NONE ||
				    (rr = bpe_rank_of(b, s + k, n - k)) == BPE_NONE)
					continue;
				key = (uint64_t)l << 32 | rr;
				if (used * 4 >= (b->pair_mask + 1) * 3) {
					/* Grow: rehash every entry into a table twice the size. */
					size_t    ns = (b->pair_mask + 1) * 2;
					uint64_t *nk = ad_mallocarray(ns, sizeof *nk);
					uint32_t *nv = ad_mallocarray(ns, sizeof *nv);
					if (nk == NULL || nv == NULL) {
						ad_free(nk);
						ad_free(nv);
						ad_free(haslen);
						ad_free(lens);
						return ad_fail(e, AD_ENOMEM, "%s: out of memory for the pair table",
						    name);
					}
					memset(nk, 0xff, ns * sizeof *nk);
					for (size_t j = 0; j <= b->pair_mask; j++) {
						size_t t;
						if (b->pair_key[j] == UINT64_MAX)
							continue;
						t = (size_t)ad_mix64(b->pair_key[j]) & (ns - 1);
						while (nk[t] != UINT64_MAX)
							t = (t + 1) & (ns - 1);
						nk[t] = b->pair_key[j];
						nv[t] = b->pair_val[j];
					}
					ad_free(b->pair_key);
					ad_free(b->pair_val);
					b->pair_key = nk;
					b->pair_val = nv;
					b->pair_mask = ns - 1;
				}
				i = (size_t)ad_mix64(key) & b->pair_mask;
				while (b->pair_key[i] != UINT64_MAX && b->pair_key[i] != key)
					i = (i + 1) & b->pair_mask;
				if (b->pair_key[i] == UINT64_MAX) {
					b->pair_key[i] = key;
					b->pair_val[i] = r;
					used++;
				}
			}
		}
	}
	ad_free(haslen);
	ad_free(lens);

	b->specials_nl = 0;
	if ((b->special = ad_mallocarray(b->nspecials + 1, sizeof *b->special)) == NULL)
		return ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
	for (uint32_t id = b->nranks; id < nids; id++) {
		if (b->off[id + 1] == b->off[id])
			continue;   /* a hole between specials given ids */
		if (nsp == b->nspecials)
			return ad_fail(e, AD_EFORMAT, "%s: more than %u special tokens", name, nsp);
		if (memchr(b->bytes + b->off[id], '\n', b->off[id + 1] - b->off[id]) != NULL)
			b->specials_nl = 1;
		for (uint32_t k = 0; k < nsp; k++) {
			uint32_t j = b->special[k];
			if (b->off[j + 1] - b->off[j] == b->off[id + 1] - b->off[id] &&
			    memcmp(b->bytes + b->off[j], b->bytes + b->off[id], b->off[id + 1] - b->off[id]) == 0)
				return ad_fail(e, AD_EFORMAT, "%s: special tokens %u and %u are the same", name,
				    j, id);
		}
		b->special[nsp++] = id;
	}
	if (nsp != b->nspecials)
		return ad_fail(e, AD_EFORMAT, "%s: %u special tokens, not %u", name, nsp, b->nspecials);
	if ((rc = pretok_new(&b->pt, b->pattern, e)) != 0) {
		ad_error_prefix(e, "%s", name);
		return rc;
	}
	if ((rc = bpe_serialize(b, &ser, &serlen, e)) != 0)
		return rc;
	b->identity = ad_hash64(ser, serlen, 0);
	ad_free(ser);
	return 0;
}

void
bpe_free(struct bpe *b)
{
	if (b == NULL)
		return;
	ad_free(b->off);
	ad_free(b->special);
	ad_free(b->bytes);
	ad_free(b->tok);
	ad_free(b->pair_key);
	ad_free(b->pair_val);
	ad_free(b->pattern);
	pretok_free(b->pt);
	ad_free(b);
}

/* ---- accessors --------------------------------------------------------- */

uint32_t
bpe_vocab_size(const struct bpe *b)
{
	return b->nids;
}

uint64_t
bpe_identity(const struct bpe *b)
{
	return b->identity;
}

const uint8_t *
bpe_token_bytes(const struct bpe *b, uint32_t id, size_t *len)
{
	if (id >= b->nids) {
		*len = 0;
		return NULL;
	}
	*len = b->off[id + 1] - b->off[id];
	return b->bytes + b->off[id];
}

const char *
bpe_pattern(const struct bpe *b)
{
	return b->pattern;
}

const char *
bpe_pattern_name(const struct bpe *b)
{
	return pretok_builtin_name(b->pattern);
}

enum norm_mode
bpe_normalization(const struct bpe *b)
{
	return b->norm;
}

int
bpe_casefold(const struct bpe *b)
{
	return b->casefold;
}

uint32_t
bpe_num_tokens(const struct bpe *b)
{
	return b->ntokens;
}

uint32_t
bpe_num_specials(const struct bpe *b)
{
	return b->nspecials;
}

uint32_t
bpe_special_id(const struct bpe *b, uint32_t i)
{
	return b->special[i];
}

const char *
bpe_tiktoken_name(const struct bpe *b)
{
	return b->tiktoken;
}

int
bpe_is_special(const struct bpe *b, uint32_t id)
{
	return id >= b->nranks && id < b->nids && b->off[id + 1] > b->off[id];
}

/* ---- writing ----------------------------------------------------------- */

static int
buf_put(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = *cap ? *cap : 4096;
		char  *p;
		while (nc < *len + n + 1)
			nc *= 2;
		if ((p = ad_realloc(*buf, nc)) == NULL)
			return AD_ENOMEM;
		*buf = p;
		*cap = nc;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static int
buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) AD_PRINTF(4, 5);

static int
buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	char    tmp[128];
	va_list ap;
	int     n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return buf_put(buf, len, cap, tmp, (size_t)n);
}

int
text_escape(char **buf, size_t *len, size_t *cap, const uint8_t *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	char              tmp[256];
	size_t            k = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		if (k + 4 > sizeof tmp) {
			if (buf_put(buf, len, cap, tmp, k) != 0)
				return AD_ENOMEM;
			k = 0;
		}
		if (c == '\\') {
			tmp[k++] = '\\';
			tmp[k++] = '\\';
		} else if (c >= 0x21 && c <= 0x7e) {
			tmp[k++] = (char)c;
		} else {
			tmp[k++] = '\\';
			tmp[k++] = 'x';
			tmp[k++] = hex[c >> 4];
			tmp[k++] = hex[c & 15];
		}
	}
	return buf_put(buf, len, cap, tmp, k);
}

int
bpe_serialize(const struct bpe *b, char **out, size_t *outlen, struct ad_error *e)
{
	char  *buf = NULL;
	size_t len = 0, cap = 0;
	int    rc = 0;

	rc |= buf_printf(&buf, &len, &cap, "%s %d\n", BPE_FORMAT, BPE_VERSION);
	rc |= buf_put(&buf, &len, &cap, "pattern ", 8);
	rc |= buf_put(&buf, &len, &cap, b->pattern, strlen(b->pattern));
	rc |= buf_printf(&buf, &len, &cap, "\nnormalize %s\ncasefold %s\ntokens %u\nspecials %u\n",
	    norm_name(b->norm), b->casefold ? "yes" : "no", b->ntokens, b->nspecials);
	for (uint32_t id = 0; id < b->nids && rc == 0; id++) {
		if (b->off[id + 1] == b->off[id])
			continue;
		if (id < b->nranks)
			rc |= buf_printf(&buf, &len, &cap, "%u ", id);
		else
			rc |= buf_printf(&buf, &len, &cap, "special %u ", id);
		rc |= text_escape(&buf, &len, &cap, b->bytes + b->off[id], b->off[id + 1] - b->off[id]);
		rc |= buf_put(&buf, &len, &cap, "\n", 1);
	}
	if (rc == 0)
		rc = buf_printf(&buf, &len, &cap, "checksum %016llx\n",
		    (unsigned long long)ad_hash64(buf, len, 0));
	if (rc != 0) {
		ad_free(buf);
		return ad_fail(e, AD_ENOMEM, "out of memory writing the vocabulary");
	}
	*out = buf;
	*outlen = len;
	return 0;
}

int
bpe_save(const struct bpe *b, const char *path, struct ad_error *e)
{
	char  *buf;
	size_t len;
	int    rc;

	if ((rc = bpe_serialize(b, &buf, &len, e)) != 0)
		return rc;
	rc = ad_write_file(path, buf, len, e);
	ad_free(buf);
	return rc;
}

/* ---- reading ----------------------------------------------------------- */

/* A line reader over a buffer that knows its line number. */
struct lines {
	const char *p, *end;
	const char *name;
	size_t      lineno;
	const char *line;   /* the current line, len bytes, without its newline */
	size_t      len;
};

/* Next line: 1, or 0 at the end; a last line without its newline is an error. */
static int
lines_next(struct lines *l, struct ad_error *e)
{
	const char *nl;

	if (l->p >= l->end)
		return 0;
	l->lineno++;
	nl = memchr(l->p, '\n', (size_t)(l->end - l->p));
	if (nl == NULL)
		return ad_fail(e, AD_EFORMAT, "%s:%zu: truncated: the last line has no newline",
		    l->name, l->lineno);
	l->line = l->p;
	l->len = (size_t)(nl - l->p);
	l->p = nl + 1;
	return 1;
}

/* Parse a decimal number < limit from s[0..n) (all of it). */
static int
parse_u32(const char *s, size_t n, uint32_t limit, uint32_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v >= limit)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape s[0..n) into d (at least n bytes); returns the length or -1. */
static long
unescape(const char *s, size_t n, uint8_t *d)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];
		if (c == '\\') {
			if (i + 1 < n && s[i + 1] == '\\') {
				d[k++] = '\\';
				i++;
			} else if (i + 3 < n && s[i + 1] == 'x' && hexval(s[i + 2]) >= 0 &&
			    hexval(s[i + 3]) >= 0) {
				d[k++] = (uint8_t)(hexval(s[i + 2]) << 4 | hexval(s[i + 3]));
				i += 3;
			} else {
				return -1;
			}
		} else if (c >= 0x21 && c <= 0x7e) {
			d[k++] = c;
		} else {
			return -1;
		}
	}
	return (long)k;
}

/* A header line "key value": the value, or an error naming the line. */
static int
header(struct lines *l, const char *key, const char **val, size_t *vlen, struct ad_error *e)
{
	size_t kl = strlen(key);
	int    rc;

	if ((rc = lines_next(l, e)) < 0)
		return rc;
	if (rc == 0)
		return ad_fail(e, AD_EFORMAT, "%s:%zu: truncated: expected the '%s' line", l->name,
		    l->lineno + 1, key);
	if (l->len < kl + 1 || memcmp(l->line, key, kl) != 0 || l->line[kl] != ' ')
		return ad_fail(e, AD_EFORMAT, "%s:%zu: expected '%s ...', found '%.*s'", l->name,
		    l->lineno, key, (int)(l->len > 40 ? 40 : l->len), l->line);
	*val = l->line + kl + 1;
	*vlen = l->len - kl - 1;
	return 0;
}

/*
 * Token storage while reading: (rank, bytes) pairs in file order, then laid
 * out by rank into a struct bpe.
 */
struct entry {
	uint32_t rank;
	uint32_t line;   /* for messages */
	size_t   off, len;
};

struct reading {
	struct entry *ent;
	size_t        n, cap;
	uint8_t      *bytes;
	size_t        blen, bcap;
};

static int
reading_add(struct reading *r, uint32_t rank, size_t line, const uint8_t *s, size_t n)
{
	if (r->n == r->cap) {
		size_t        nc = r->cap ? r->cap * 2 : 1024;
		struct entry *p = ad_reallocarray(r->ent, nc, sizeof *p);
		if (p == NULL)
			return AD_ENOMEM;
		r->ent = p;
		r->cap = nc;
	}
	if (r->blen + n > r->bcap) {
		size_t   nc = r->bcap ? r->bcap : 1 << 16;
		uint8_t *p;
		while (nc < r->blen + n)
			nc *= 2;
		if ((p = ad_realloc(r->bytes, nc)) == NULL)
			return AD_ENOMEM;
		r->bytes = p;
		r->bcap = nc;
	}
	memcpy(r->bytes + r->blen, s, n);
	r->ent[r->n++] = (struct entry){ .rank = rank, .line = (uint32_t)line, .off = r->blen,
	    .len = n };
	r->blen += n;
	return 0;
}

static void
reading_free(struct reading *r)
{
	ad_free(r->ent);
	ad_free(r->bytes);
}

/*
 * Lay out regular entries (ranks, any order) and specials into b. A special
 * entry's rank is its id, or BPE_NONE for the id after the previous
 * special's (after the highest rank for the first); ids lie in
 * nranks .. nranks + BPE_SPECIAL_SPAN - 1, the ids between them are holes.
 * Duplicate ranks and ids are reported by line (or by special, line 0).
 */
static int
layout(struct bpe *b, struct reading *r, size_t nregular, const char *name, struct ad_error *e)
{
	uint32_t  nranks = 0, *where = NULL, next, span = 0;
	size_t    total = r->blen;
	uint32_t  nids;
	size_t    pos = 0;

	for (size_t i = 0; i < nregular; i++)
		if (r->ent[i].rank + 1 > nranks)
			nranks = r->ent[i].rank + 1;
	b->nranks = nranks;
	b->nspecials = (uint32_t)(r->n - nregular);
	next = nranks;
	for (size_t i = nregular; i < r->n; i++) {
		struct entry *en = &r->ent[i];
		if (en->rank == BPE_NONE)
			en->rank = next;
		if (en->rank < nranks || en->rank - nranks >= BPE_SPECIAL_SPAN) {
			char at[32] = "";
			if (en->line != 0)
				snprintf(at, sizeof at, ":%u", en->line);
			return ad_fail(e, AD_EINVAL, "%s%s: special token '%.*s' cannot have id %u: "
			    "special ids follow the highest rank, from %u to %u", name, at,
			    (int)(en->len > 40 ? 40 : en->len), (const char *)r->bytes + en->off,
			    en->rank, nranks, nranks + BPE_SPECIAL_SPAN - 1);
		}
		next = en->rank + 1;
		if (next - nranks > span)
			span = next - nranks;
	}
	nids = nranks + span;
	b->nids = nids;
	if ((where = ad_mallocarray((size_t)nids + 1, sizeof *where)) == NULL ||
	    (b->off = ad_mallocarray((size_t)nids + 1, sizeof *b->off)) == NULL ||
	    (b->bytes = ad_malloc(total)) == NULL) {
		ad_free(where);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for %u tokens", name, nids);
	}
	for (uint32_t k = 0; k < nids; k++)
		where[k] = UINT32_MAX;
	for (size_t i = 0; i < r->n; i++) {
		uint32_t k = r->ent[i].rank;
		if (where[k] != UINT32_MAX) {
			const struct entry *f = &r->ent[where[k]];
			int rc = i < nregular ?
			    ad_fail(e, AD_EFORMAT, "%s:%u: rank %u appears twice (first at line %u)",
			    name, r->ent[i].line, k, f->line) :
			    ad_fail(e, AD_EINVAL, "%s: special tokens '%.*s' and '%.*s' both have id %u",
			    name, (int)(f->len > 40 ? 40 : f->len), (const char *)r->bytes + f->off,
			    (int)(r->ent[i].len > 40 ? 40 : r->ent[i].len),
			    (const char *)r->bytes + r->ent[i].off, k);
			ad_free(where);
			return rc;
		}
		where[k] = (uint32_t)i;
	}
	for (uint32_t k = 0; k < nids; k++) {
		b->off[k] = pos;
		if (where[k] != UINT32_MAX) {
			const struct entry *en = &r->ent[where[k]];
			memcpy(b->bytes + pos, r->bytes + en->off, en->len);
			pos += en->len;
		}
	}
	b->off[nids] = pos;
	ad_free(where);
	return 0;
}

int
bpe_parse(struct bpe **out, const void *data, size_t len, const char *name, struct ad_error *e)
{
	struct lines   l = { .p = data, .end = (const char *)data + len, .name = name };
	struct reading rd = { 0 };
	struct bpe    *b = NULL;
	const char    *v;
	size_t         vl, body_end;
	uint32_t       ntok, nspec, version;
	uint8_t       *tmp = NULL;
	size_t         tmpcap = 0;
	int            rc;

	if ((rc = lines_next(&l, e)) <= 0) {
		if (rc == 0)
			return ad_fail(e, AD_EFORMAT, "%s:1: empty file, not a vocabulary", name);
		return rc;
	}
	if (l.len < sizeof BPE_FORMAT || memcmp(l.line, BPE_FORMAT " ", sizeof BPE_FORMAT) != 0)
		return ad_fail(e, AD_EFORMAT, "%s:1: not an autodidact vocabulary (the first line "
		    "should be '%s %d'; a tiktoken rank file needs --pattern)", name, BPE_FORMAT,
		    BPE_VERSION);
	if (parse_u32(l.line + sizeof BPE_FORMAT, l.len - sizeof BPE_FORMAT, UINT32_MAX,
	    &version) != 0)
		return ad_fail(e, AD_EFORMAT, "%s:1: bad format version '%.*s'", name,
		    (int)(l.len - sizeof BPE_FORMAT), l.line + sizeof BPE_FORMAT);
	if (version != BPE_VERSION)
		return ad_fail(e, AD_EVERSION, "%s:1: format version %u; this program reads "
		    "version %d (a newer autodidact wrote it?)", name, version, BPE_VERSION);
	if ((b = ad_calloc(1, sizeof *b)) == NULL)
		return ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
	if ((rc = header(&l, "pattern", &v, &vl, e)) != 0)
		goto fail;
	if ((b->pattern = ad_strndup(v, vl)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	if (strlen(b->pattern) != vl) {
		rc = ad_fail(e, AD_EFORMAT, "%s:%zu: a NUL byte in the pattern", name, l.lineno);
		goto fail;
	}
	if ((rc = header(&l, "normalize", &v, &vl, e)) != 0)
		goto fail;
	if (vl == 3 && memcmp(v, "nfc", 3) == 0)
		b->norm = NORM_NFC;
	else if (vl == 4 && memcmp(v, "nfkc", 4) == 0)
		b->norm = NORM_NFKC;
	else if (vl == 4 && memcmp(v, "none", 4) == 0)
		b->norm = NORM_NONE;
	else {
		rc = ad_fail(e, AD_EFORMAT, "%s:%zu: normalize must be none, nfc or nfkc", name,
		    l.lineno);
		goto fail;
	}
	if ((rc = header(&l, "casefold", &v, &vl, e)) != 0)
		goto fail;
	if (vl == 3 && memcmp(v, "yes", 3) == 0)
		b->casefold = 1;
	else if (vl == 2 && memcmp(v, "no", 2) == 0)
		b->casefold = 0;
	else {
		rc = ad_fail(e, AD_EFORMAT, "%s:%zu: casefold must be yes or no", name, l.lineno);
		goto fail;
	}
	if ((rc = header(&l, "tokens", &v, &vl, e)) != 0)
		goto fail;
	if (parse_u32(v, vl, BPE_MAX_RANK, &ntok) != 0) {
		rc = ad_fail(e, AD_EFORMAT, "%s:%zu: bad token count", name, l.lineno);
		goto fail;
	}
	if ((rc = header(&l, "specials", &v, &vl, e)) != 0)
		goto fail;
	if (parse_u32(v, vl, 1u << 20, &nspec) != 0) {
		rc = ad_fail(e, AD_EFORMAT, "%s:%zu: bad special token count", name, l.lineno);
		goto fail;
	}
	for (uint64_t i = 0; i < (uint64_t)ntok + nspec; i++) {
		const char *sp;
		uint32_t    id;
		long        n;
		int         special = i >= ntok;

		if ((rc = lines_next(&l, e)) < 0)
			goto fail;
		if (rc == 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: truncated: %llu of %u token lines and %u "
			    "special lines present", name, l.lineno + 1,
			    (unsigned long long)(i < ntok ? i : ntok), ntok, nspec);
			goto fail;
		}
		v = l.line;
		vl = l.len;
		if (special) {
			if (vl < 8 || memcmp(v, "special ", 8) != 0) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%zu: expected 'special ID TOKEN' (%u specials "
				    "declared)", name, l.lineno, nspec);
				goto fail;
			}
			v += 8;
			vl -= 8;
		}
		if ((sp = memchr(v, ' ', vl)) == NULL ||
		    parse_u32(v, (size_t)(sp - v), special ? UINT32_MAX : BPE_MAX_RANK, &id) != 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: expected '%sRANK TOKEN'", name, l.lineno,
			    special ? "special " : "");
			goto fail;
		}
		sp++;
		vl -= (size_t)(sp - v);
		if (vl + 1 > tmpcap) {
			uint8_t *t2 = ad_realloc(tmp, tmpcap = vl + 256);
			if (t2 == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
				goto fail;
			}
			tmp = t2;
		}
		if ((n = unescape(sp, vl, tmp)) <= 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: bad token '%.*s' (empty, or a bad escape: "
			    "use \\\\ and \\xHH)", name, l.lineno, (int)(vl > 40 ? 40 : vl), sp);
			goto fail;
		}
		if (reading_add(&rd, id, l.lineno, tmp, (size_t)n) != 0) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
			goto fail;
		}
	}
	body_end = (size_t)(l.p - (const char *)data);
	if ((rc = header(&l, "checksum", &v, &vl, e)) != 0)
		goto fail;
	{
		char     want[17];
		uint64_t h = ad_hash64(data, body_end, 0);
		snprintf(want, sizeof want, "%016llx", (unsigned long long)h);
		if (vl != 16 || memcmp(v, want, 16) != 0) {
			rc = ad_fail(e, AD_ECHECKSUM, "%s:%zu: checksum mismatch: the file is corrupted "
			    "(or was edited; retrain or restore it)", name, l.lineno);
			goto fail;
		}
	}
	if (l.p != l.end) {
		rc = ad_fail(e, AD_EFORMAT, "%s:%zu: unexpected data after the checksum", name,
		    l.lineno + 1);
		goto fail;
	}
	for (uint32_t s = 1; s < nspec; s++)
		if (rd.ent[ntok + s].rank <= rd.ent[ntok + s - 1].rank) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%u: special token id %u should be above %u "
			    "(specials are listed by increasing id)", name, rd.ent[ntok + s].line,
			    rd.ent[ntok + s].rank, rd.ent[ntok + s - 1].rank);
			goto fail;
		}
	if ((rc = layout(b, &rd, ntok, name, e)) != 0)
		goto fail;
	if ((rc = bpe_build(b, name, e)) != 0)
		goto fail;
	ad_free(tmp);
	reading_free(&rd);
	*out = b;
	return 0;
fail:
	ad_free(tmp);
	reading_free(&rd);
	bpe_free(b);
	return rc;
}

int
bpe_load(struct bpe **out, const char *path, struct ad_error *e)
{
	struct ad_map m;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	rc = bpe_parse(out, m.data, m.size, path, e);
	ad_map_release(&m);
	return rc;
}

/* ---- tiktoken rank files ----------------------------------------------- */

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Strict base64 (with padding) of s[0..n) into d; the length or -1. */
static long
b64decode(const char *s, size_t n, uint8_t *d)
{
	size_t k = 0;

	if (n == 0 || n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int a = b64val(s[i]), b = b64val(s[i + 1]), c, dd;
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			return -1;
		d[k++] = (uint8_t)(a << 2 | b >> 4);
		if (last && s[i + 2] == '=') {
			if (s[i + 3] != '=' || (b & 15) != 0)
				return -1;
			break;
		}
		if ((c = b64val(s[i + 2])) < 0)
			return -1;
		d[k++] = (uint8_t)((b & 15) << 4 | c >> 2);
		if (last && s[i + 3] == '=') {
			if ((c & 3) != 0)
				return -1;
			break;
		}
		if ((dd = b64val(s[i + 3])) < 0)
			return -1;
		d[k++] = (uint8_t)((c & 3) << 6 | dd);
	}
	return (long)k;
}

/*
 * The rank files tiktoken publishes, known by their content (never by the
 * file's name): the number of ranks and a fingerprint of all (rank, token)
 * pairs, the sum of ad_mix64(ad_hash64(token, length, rank)), which does
 * not depend on the order of the lines. Such a file's pattern and special
 * tokens default to tiktoken's, at tiktoken's ids (the npm package tiktoken
 * 1.0.22, encoders/NAME.json: pat_str and special_tokens), so that encoding
 * gives the ids of tiktoken's encode(text, allowed_special="all").
 */
struct tiktoken_std {
	const char *name;
	uint32_t    nranks;
	uint64_t    fingerprint;
	const char *pattern;          /* a built-in pattern's name */
	struct {
		const char *text;
		uint32_t    id;
	} specials[6];                /* ending with a NULL text */
};

static const struct tiktoken_std tiktoken_std[] = {
	{ "r50k_base", 50256, UINT64_C(0x3a8adb4066db1655), "gpt2",
	  { { "<|endoftext|>", 50256 }, { NULL, 0 } } },
	{ "cl100k_base", 100256, UINT64_C(0xde7f11291d95de71), "gpt4",
	  { { "<|endoftext|>", 100257 }, { "<|fim_prefix|>", 100258 }, { "<|fim_middle|>", 100259 },
	    { "<|fim_suffix|>", 100260 }, { "<|endofprompt|>", 100276 }, { NULL, 0 } } },
	{ "o200k_base", 199998, UINT64_C(0x07c22a0dd183b24d), "o200k",
	  { { "<|endoftext|>", 199999 }, { "<|endofprompt|>", 200018 }, { NULL, 0 } } },
};

int
bpe_special_split(const char *arg, size_t *len, uint32_t *id)
{
	const char *eq = strrchr(arg, '=');
	uint64_t    v = 0;

	*len = strlen(arg);
	if (eq == NULL || eq == arg || eq[1] == '\0' || strspn(eq + 1, "0123456789") != strlen(eq + 1))
		return 0;
	for (const char *d = eq + 1; *d != '\0'; d++)
		if ((v = v * 10 + (uint64_t)(*d - '0')) >= UINT32_MAX)
			return -1;
	*len = (size_t)(eq - arg);
	*id = (uint32_t)v;
	return 1;
}

int
bpe_parse_tiktoken(struct bpe **out, const void *data, size_t len, const char *name,
    const char *pattern, const char *const *specials, size_t nspecials, struct ad_error *e)
{
	struct lines               l = { .p = data, .end = (const char *)data + len, .name = name };
	struct reading             rd = { 0 };
	struct bpe                *b = NULL;
	const struct tiktoken_std *std = NULL;
	uint8_t                    tmp[4096];
	size_t                     nregular;
	uint64_t                   fp = 0;
	int                        rc;

	if ((b = ad_calloc(1, sizeof *b)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	while ((rc = lines_next(&l, e)) == 1) {
		const char *sp;
		uint32_t    rank;
		long        n;

		if (l.len == 0)
			continue;  /* tiktoken skips empty lines too */
		if ((sp = memchr(l.line, ' ', l.len)) == NULL ||
		    parse_u32(sp + 1, (size_t)(l.line + l.len - sp - 1), BPE_MAX_RANK, &rank) != 0) {
			rc = pattern == NULL && rd.n == 0 ?
			    ad_fail(e, AD_EFORMAT, "%s:%zu: not an autodidact vocabulary (the first line "
			    "should be '%s %d') nor a tiktoken rank file ('BASE64TOKEN RANK')", name,
			    l.lineno, BPE_FORMAT, BPE_VERSION) :
			    ad_fail(e, AD_EFORMAT, "%s:%zu: expected 'BASE64TOKEN RANK'", name, l.lineno);
			goto fail;
		}
		if ((size_t)(sp - l.line) > sizeof tmp ||
		    (n = b64decode(l.line, (size_t)(sp - l.line), tmp)) <= 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: bad base64 token '%.*s'", name, l.lineno,
			    (int)(sp - l.line > 40 ? 40 : sp - l.line), l.line);
			goto fail;
		}
		if (reading_add(&rd, rank, l.lineno, tmp, (size_t)n) != 0) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
			goto fail;
		}
		fp += ad_mix64(ad_hash64(tmp, (size_t)n, rank));
	}
	if (rc < 0)
		goto fail;
	if (rd.n == 0) {
		rc = ad_fail(e, AD_EFORMAT, "%s:1: no tokens: not a tiktoken rank file", name);
		goto fail;
	}
	nregular = rd.n;
	for (size_t k = 0; k < sizeof tiktoken_std / sizeof *tiktoken_std; k++)
		if (tiktoken_std[k].nranks == nregular && tiktoken_std[k].fingerprint == fp)
			std = &tiktoken_std[k];
	if (pattern == NULL && std == NULL) {
		rc = ad_fail(e, AD_EINVAL, "%s: a tiktoken rank file other than r50k_base, "
		    "cl100k_base and o200k_base needs a pattern (gpt2, gpt4, o200k or a regex)", name);
		goto fail;
	}
	if (pattern == NULL)
		pattern = std->pattern;
	if ((b->pattern = ad_strdup(pretok_builtin(pattern) ? pretok_builtin(pattern) : pattern)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	b->tiktoken = std != NULL ? std->name : NULL;
	/* Specials: as given (TOKEN or TOKEN=ID; a standard one's id by default),
	 * else the standard set. */
	for (size_t s = 0; std != NULL && nspecials == 0 && std->specials[s].text != NULL; s++)
		if (reading_add(&rd, std->specials[s].id, 0, (const uint8_t *)std->specials[s].text,
		    strlen(std->specials[s].text)) != 0) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
			goto fail;
		}
	for (size_t s = 0; s < nspecials; s++) {
		size_t   sl;
		uint32_t id = BPE_NONE;
		int      has = bpe_special_split(specials[s], &sl, &id);
		if (has < 0) {
			rc = ad_fail(e, AD_EINVAL, "special token '%s': the id is too large", specials[s]);
			goto fail;
		}
		if (sl == 0) {
			rc = ad_fail(e, AD_EINVAL, "special token %zu is empty", s + 1);
			goto fail;
		}
		for (size_t k = 0; !has && std != NULL && std->specials[k].text != NULL; k++)
			if (strlen(std->specials[k].text) == sl &&
			    memcmp(std->specials[k].text, specials[s], sl) == 0)
				id = std->specials[k].id;
		if (reading_add(&rd, id, 0, (const uint8_t *)specials[s], sl) != 0) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
			goto fail;
		}
	}
	if ((rc = layout(b, &rd, nregular, name, e)) != 0 || (rc = bpe_build(b, name, e)) != 0)
		goto fail;
	reading_free(&rd);
	*out = b;
	return 0;
fail:
	reading_free(&rd);
	bpe_free(b);
	return rc;
}

int
bpe_load_tiktoken(struct bpe **out, const char *path, const char *pattern,
    const char *const *specials, size_t nspecials, struct ad_error *e)
{
	struct ad_map m;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	rc = bpe_parse_tiktoken(out, m.data, m.size, path, pattern, specials, nspecials, e);
	ad_map_release(&m);
	return rc;
}
