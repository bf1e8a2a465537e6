/*
 * json.c — streaming JSON writer. See json.h.
 */
#include "config.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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
