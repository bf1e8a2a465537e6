/*
 * json.h — a small streaming JSON writer for --json output and reports.
 *
 * The writer tracks nesting and commas; callers emit values in order.
 * Strings are taken as bytes: valid UTF-8 passes through, control characters
 * are escaped (\n, \t, ... or \u00XX), and every byte that is not part of a
 * valid UTF-8 sequence becomes U+FFFD, so the output is always valid JSON
 * even for binary tokens. Non-finite numbers are written as null. Doubles
 * are written with the fewest digits that read back to the same value.
 */
#ifndef AD_JSON_H
#define AD_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AD_JSON_DEPTH 32

struct ad_json {
	FILE *f;
	int   pretty;                    /* newlines and two-space indents */
	int   depth;
	int   count[AD_JSON_DEPTH];      /* values written at each level */
	int   after_key;                 /* the next value follows a key */
};

void ad_json_init(struct ad_json *j, FILE *f, int pretty);
void ad_json_object_begin(struct ad_json *j);
void ad_json_object_end(struct ad_json *j);
void ad_json_array_begin(struct ad_json *j);
void ad_json_array_end(struct ad_json *j);
void ad_json_key(struct ad_json *j, const char *key);
void ad_json_string(struct ad_json *j, const char *s);
void ad_json_string_n(struct ad_json *j, const char *s, size_t n);
void ad_json_double(struct ad_json *j, double v);
void ad_json_int(struct ad_json *j, int64_t v);
void ad_json_uint(struct ad_json *j, uint64_t v);
void ad_json_bool(struct ad_json *j, int v);
void ad_json_null(struct ad_json *j);
/* Ends the document with a newline (after the outermost value). */
void ad_json_end(struct ad_json *j);

/* Write s (n bytes) as a JSON string literal, with the escaping above. */
void ad_json_write_string(FILE *f, const char *s, size_t n);

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), or 0 when the
 * byte at s does not start one (overlong forms, surrogates and code points
 * above U+10FFFF are invalid, as in Unicode 15 section 3.9, table 3-7).
 */
size_t ad_utf8_valid_len(const unsigned char *s, size_t n);

#endif
