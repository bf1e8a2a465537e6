/*
 * jtree.c — a recursive-descent JSON reader into a tree (see jtree.h).
 *
 * The grammar is RFC 8259's, section 2 to 7; nesting is bounded by
 * AD_JT_DEPTH so that a hostile document cannot exhaust the stack. Items
 * of an array or object are collected in a growing buffer and moved into
 * an array of their own when the container closes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/jtree.h"

struct jp {
	const char *s;
	size_t      n, i;
	int         nomem;
};

static void
jp_ws(struct jp *p)
{
	while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' ||
	    p->s[p->i] == '\r'))
		p->i++;
}

static void
jt_clear(struct ad_jt *t)
{
	for (size_t k = 0; k < t->n; k++) {
		jt_clear(&t->items[k]);
		if (t->keys != NULL)
			ad_free(t->keys[k]);
	}
	ad_free(t->items);
	ad_free(t->keys);
	ad_free(t->key_len);
	ad_free(t->str);
}

static int
hex4(const char *s, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* A string at p->i (the opening quote), decoded into a new buffer. */
static int
jp_string(struct jp *p, char **out, size_t *len)
{
	size_t i = p->i + 1, end, k = 0;
	char  *b;

	/* Find the closing quote first: the decoded text is never longer. */
	for (end = i; end < p->n && p->s[end] != '"'; end++) {
		if ((unsigned char)p->s[end] < 0x20)
			return -1;
		if (p->s[end] == '\\')
			end++;
	}
	if (end >= p->n)
		return -1;
	if ((b = ad_malloc(end - i + 1)) == NULL) {
		p->nomem = 1;
		return -1;
	}
	while (i < end) {
		unsigned c = (unsigned char)p->s[i++], u, u2;
		if (c != '\\') {
			b[k++] = (char)c;
			continue;
		}
		switch (p->s[i++]) {
		case '"':  b[k++] = '"'; break;
		case '\\': b[k++] = '\\'; break;
		case '/':  b[k++] = '/'; break;
		case 'b':  b[k++] = '\b'; break;
		case 'f':  b[k++] = '\f'; break;
		case 'n':  b[k++] = '\n'; break;
		case 'r':  b[k++] = '\r'; break;
		case 't':  b[k++] = '\t'; break;
		case 'u':
			if (end - i < 4 || hex4(p->s + i, &u) != 0)
				goto bad;
			i += 4;
			if (u >= 0xd800 && u < 0xdc00) {
				/* A high surrogate must be followed by a low one. */
				if (end - i < 6 || p->s[i] != '\\' || p->s[i + 1] != 'u' ||
				    hex4(p->s + i + 2, &u2) != 0 || u2 < 0xdc00 || u2 >= 0xe000)
					goto bad;
				i += 6;
				u = 0x10000 + ((u - 0xd800) << 10) + (u2 - 0xdc00);
			} else if (u >= 0xdc00 && u < 0xe000) {
				goto bad;
			}
			/* Six escaped bytes give at most four: it fits. */
			if (u < 0x80) {
				b[k++] = (char)u;
			} else if (u < 0x800) {
				b[k++] = (char)(0xc0 | (u >> 6));
				b[k++] = (char)(0x80 | (u & 0x3f));
			} else if (u < 0x10000) {
				b[k++] = (char)(0xe0 | (u >> 12));
				b[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
				b[k++] = (char)(0x80 | (u & 0x3f));
			} else {
				b[k++] = (char)(0xf0 | (u >> 18));
				b[k++] = (char)(0x80 | ((u >> 12) & 0x3f));
				b[k++] = (char)(0x80 | ((u >> 6) & 0x3f));
				b[k++] = (char)(0x80 | (u & 0x3f));
			}
			break;
		default:
			goto bad;
		}
	}
	b[k] = '\0';
	p->i = end + 1;
	*out = b;
	*len = k;
	return 0;
bad:
	ad_free(b);
	return -1;
}

static int
jp_number(struct jp *p, struct ad_jt *t)
{
	size_t i = p->i, start = i;
	char   buf[64];

	if (i < p->n && p->s[i] == '-')
		i++;
	if (i < p->n && p->s[i] == '0') {
		i++;
	} else if (i < p->n && p->s[i] >= '1' && p->s[i] <= '9') {
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	} else {
		return -1;
	}
	if (i < p->n && p->s[i] == '.') {
		if (++i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return -1;
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		if (i >= p->n || p->s[i] < '0' || p->s[i] > '9')
			return -1;
		while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9')
			i++;
	}
	t->type = AD_JT_NUMBER;
	t->num = p->s + start;
	t->len = i - start;
	/* strtod on a copy: the document need not be NUL-terminated. */
	if (t->len < sizeof buf) {
		memcpy(buf, t->num, t->len);
		buf[t->len] = '\0';
		t->number = strtod(buf, NULL);
	} else {
		t->number = 0;   /* absurdly long: only its text is kept */
	}
	p->i = i;
	return 0;
}

static int jp_value(struct jp *p, struct ad_jt *t, int depth);

/* An array or an object at p->i ('[' or '{'). */
static int
jp_container(struct jp *p, struct ad_jt *t, int depth, int object)
{
	struct ad_jt *items = NULL;
	char        **keys = NULL;
	size_t       *klen = NULL, n = 0, cap = 0, kcap = 0, lcap = 0;
	char          close = object ? '}' : ']';

	t->type = object ? AD_JT_OBJECT : AD_JT_ARRAY;
	p->i++;
	jp_ws(p);
	if (p->i < p->n && p->s[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		char  *key = NULL;
		size_t kl = 0;
		if (object) {
			jp_ws(p);
			if (p->i >= p->n || p->s[p->i] != '"' || jp_string(p, &key, &kl) != 0)
				goto fail;
			jp_ws(p);
			if (p->i >= p->n || p->s[p->i] != ':') {
				ad_free(key);
				goto fail;
			}
			p->i++;
		}
		if (ad_grow(&items, &cap, n + 1, sizeof *items, 8) != 0 ||
		    (object && (ad_grow(&keys, &kcap, n + 1, sizeof *keys, 8) != 0 ||
		    ad_grow(&klen, &lcap, n + 1, sizeof *klen, 8) != 0))) {
			ad_free(key);
			p->nomem = 1;
			goto fail;
		}
		memset(&items[n], 0, sizeof items[n]);
		if (object) {
			keys[n] = key;
			klen[n] = kl;
		}
		n++;
		if (jp_value(p, &items[n - 1], depth + 1) != 0)
			goto fail;
		jp_ws(p);
		if (p->i < p->n && p->s[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->s[p->i] == close) {
			p->i++;
			break;
		}
		goto fail;
	}
	t->items = items;
	t->keys = keys;
	t->key_len = klen;
	t->n = n;
	return 0;
fail:
	t->items = items;
	t->keys = keys;
	t->key_len = klen;
	t->n = n;
	return -1;
}

static int
jp_value(struct jp *p, struct ad_jt *t, int depth)
{
	if (depth > AD_JT_DEPTH)
		return -1;
	jp_ws(p);
	if (p->i >= p->n)
		return -1;
	switch (p->s[p->i]) {
	case '{':
		return jp_container(p, t, depth, 1);
	case '[':
		return jp_container(p, t, depth, 0);
	case '"':
		t->type = AD_JT_STRING;
		return jp_string(p, &t->str, &t->len);
	case 'n':
		if (p->n - p->i >= 4 && memcmp(p->s + p->i, "null", 4) == 0) {
			t->type = AD_JT_NULL;
			p->i += 4;
			return 0;
		}
		return -1;
	case 't':
		if (p->n - p->i >= 4 && memcmp(p->s + p->i, "true", 4) == 0) {
			t->type = AD_JT_TRUE;
			p->i += 4;
			return 0;
		}
		return -1;
	case 'f':
		if (p->n - p->i >= 5 && memcmp(p->s + p->i, "false", 5) == 0) {
			t->type = AD_JT_FALSE;
			p->i += 5;
			return 0;
		}
		return -1;
	default:
		return jp_number(p, t);
	}
}

int
ad_jt_parse(const char *s, size_t n, struct ad_jt **out, size_t *bad)
{
	struct jp     p = { s, n, 0, 0 };
	struct ad_jt *t = ad_calloc(1, sizeof *t);

	if (t == NULL)
		return AD_ENOMEM;
	if (jp_value(&p, t, 0) == 0) {
		jp_ws(&p);
		if (p.i == n) {
			*out = t;
			return 0;
		}
	}
	ad_jt_free(t);
	if (p.nomem)
		return AD_ENOMEM;
	if (bad != NULL)
		*bad = p.i;
	return AD_EFORMAT;
}

void
ad_jt_free(struct ad_jt *t)
{
	if (t == NULL)
		return;
	jt_clear(t);
	ad_free(t);
}

const struct ad_jt *
ad_jt_get(const struct ad_jt *t, const char *key)
{
	size_t len = strlen(key);

	if (t == NULL || t->type != AD_JT_OBJECT)
		return NULL;
	for (size_t k = 0; k < t->n; k++)
		if (t->key_len[k] == len && memcmp(t->keys[k], key, len) == 0)
			return &t->items[k];
	return NULL;
}

int
ad_jt_u64(const struct ad_jt *t, uint64_t *v)
{
	uint64_t x = 0;

	if (t == NULL || t->type != AD_JT_NUMBER || t->len == 0)
		return -1;
	for (size_t k = 0; k < t->len; k++) {
		unsigned d = (unsigned)(t->num[k] - '0');
		if (d > 9 || x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}
