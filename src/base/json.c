/*
 * json.c — streaming JSON writer, and a reader for one flat object. See
 * json.h.
 */
#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"

size_t
ad_utf8_valid_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return n >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		return n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		return n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 &&
		    (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

void
ad_json_write_string(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t               i = 0, len;

	putc('"', f);
	while (i < n) {
		unsigned c = s[i];
		switch (c) {
		case '"':  fputs("\\\"", f); i++; continue;
		case '\\': fputs("\\\\", f); i++; continue;
		case '\b': fputs("\\b", f);  i++; continue;
		case '\f': fputs("\\f", f);  i++; continue;
		case '\n': fputs("\\n", f);  i++; continue;
		case '\r': fputs("\\r", f);  i++; continue;
		case '\t': fputs("\\t", f);  i++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
			i++;
			continue;
		}
		len = ad_utf8_valid_len(s + i, n - i);
		if (len == 0) {
			fputs("\\ufffd", f);
			i++;
			continue;
		}
		fwrite(s + i, 1, len, f);
		i += len;
	}
	putc('"', f);
}

void
ad_json_init(struct ad_json *j, FILE *f, int pretty)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	j->pretty = pretty;
}

static void
json_indent(struct ad_json *j)
{
	if (!j->pretty)
		return;
	putc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Comma and indentation before a value (or a key) at the current level. */
static void
json_sep(struct ad_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (j->depth > 0) {
		if (j->count[j->depth]++ > 0)
			putc(',', j->f);
		json_indent(j);
	}
}

static void
json_open(struct ad_json *j, int ch)
{
	json_sep(j);
	putc(ch, j->f);
	assert(j->depth + 1 < AD_JSON_DEPTH);
	j->depth++;
	j->count[j->depth] = 0;
}

static void
json_close(struct ad_json *j, int ch)
{
	int had = j->count[j->depth];

	assert(j->depth > 0);
	j->depth--;
	if (had)
		json_indent(j);
	putc(ch, j->f);
}

void ad_json_object_begin(struct ad_json *j) { json_open(j, '{'); }
void ad_json_object_end(struct ad_json *j)   { json_close(j, '}'); }
void ad_json_array_begin(struct ad_json *j)  { json_open(j, '['); }
void ad_json_array_end(struct ad_json *j)    { json_close(j, ']'); }

void
ad_json_key(struct ad_json *j, const char *key)
{
	json_sep(j);
	ad_json_write_string(j->f, key, strlen(key));
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = 1;
}

void
ad_json_string_n(struct ad_json *j, const char *s, size_t n)
{
	json_sep(j);
	ad_json_write_string(j->f, s, n);
}

void
ad_json_string(struct ad_json *j, const char *s)
{
	if (s == NULL)
		ad_json_null(j);
	else
		ad_json_string_n(j, s, strlen(s));
}

void
ad_json_double(struct ad_json *j, double v)
{
	char buf[32];

	if (!isfinite(v)) {
		ad_json_null(j);
		return;
	}
	json_sep(j);
	/* The shortest of %.15g .. %.17g that reads back exactly. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, j->f);
}

void
ad_json_int(struct ad_json *j, int64_t v)
{
	json_sep(j);
	fprintf(j->f, "%" PRId64, v);
}

void
ad_json_uint(struct ad_json *j, uint64_t v)
{
	json_sep(j);
	fprintf(j->f, "%" PRIu64, v);
}

void
ad_json_bool(struct ad_json *j, int v)
{
	json_sep(j);
	fputs(v ? "true" : "false", j->f);
}

void
ad_json_null(struct ad_json *j)
{
	json_sep(j);
	fputs("null", j->f);
}

void
ad_json_end(struct ad_json *j)
{
	assert(j->depth == 0);
	putc('\n', j->f);
}

/* ---- reading one flat object ------------------------------------------------- */

static size_t
json_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/*
 * A string starting at the quote s[i]: the index just past its closing
 * quote, or 0 when it is malformed (an unescaped control character, a bad
 * escape, no closing quote).
 */
static size_t
json_string_end(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"')
			return i + 1;
		if (c < 0x20)
			return 0;
		if (c != '\\')
			continue;
		if (++i >= n)
			return 0;
		if (s[i] == 'u') {
			for (int k = 1; k <= 4; k++)
				if (i + (size_t)k >= n || !isxdigit((unsigned char)s[i + (size_t)k]))
					return 0;
			i += 4;
		} else if (strchr("\"\\/bfnrt", s[i]) == NULL || s[i] == '\0') {
			return 0;
		}
	}
	return 0;
}

/* A number starting at s[i] (RFC 8259 section 6): the index past it, or 0. */
static size_t
json_number_end(const char *s, size_t n, size_t i)
{
	size_t d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0') {
		i++;
	} else {
		for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	return i;
}

int
ad_json_flat_parse(const char *s, size_t n, struct ad_json_field *out, size_t max,
    size_t *nout, size_t *bad)
{
	size_t i = json_ws(s, n, 0), k = 0, end;

	if (i >= n || s[i] != '{')
		goto fail;
	i = json_ws(s, n, i + 1);
	if (i < n && s[i] == '}') {
		i++;
		goto done;
	}
	for (;;) {
		struct ad_json_field f = { 0 };

		if (i >= n || s[i] != '"' || (end = json_string_end(s, n, i)) == 0 || k == max)
			goto fail;
		f.key = s + i + 1;
		f.key_len = end - i - 2;
		i = json_ws(s, n, end);
		if (i >= n || s[i] != ':')
			goto fail;
		i = json_ws(s, n, i + 1);
		if (i >= n)
			goto fail;
		if (s[i] == '"') {
			if ((end = json_string_end(s, n, i)) == 0)
				goto fail;
			f.type = AD_JSON_STRING;
			f.str = s + i + 1;
			f.str_len = end - i - 2;
		} else if (n - i >= 4 && memcmp(s + i, "null", 4) == 0) {
			f.type = AD_JSON_NULL;
			end = i + 4;
		} else if (n - i >= 4 && memcmp(s + i, "true", 4) == 0) {
			f.type = AD_JSON_BOOL;
			f.number = 1;
			end = i + 4;
		} else if (n - i >= 5 && memcmp(s + i, "false", 5) == 0) {
			f.type = AD_JSON_BOOL;
			end = i + 5;
		} else {
			char buf[64];
			if ((end = json_number_end(s, n, i)) == 0 || end - i >= sizeof buf)
				goto fail;
			/* strtod on a copy: s need not be NUL-terminated. */
			memcpy(buf, s + i, end - i);
			buf[end - i] = '\0';
			f.type = AD_JSON_NUMBER;
			f.number = strtod(buf, NULL);
		}
		out[k++] = f;
		i = json_ws(s, n, end);
		if (i < n && s[i] == ',') {
			i = json_ws(s, n, i + 1);
			continue;
		}
		if (i < n && s[i] == '}') {
			i++;
			break;
		}
		goto fail;
	}
done:
	if ((i = json_ws(s, n, i)) != n)
		goto fail;
	*nout = k;
	return 0;
fail:
	if (bad != NULL)
		*bad = i;
	return AD_EFORMAT;
}

const struct ad_json_field *
ad_json_flat_find(const struct ad_json_field *f, size_t n, const char *key)
{
	size_t len = strlen(key);

	for (size_t i = 0; i < n; i++)
		if (f[i].key_len == len && memcmp(f[i].key, key, len) == 0)
			return &f[i];
	return NULL;
}
