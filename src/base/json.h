/*
 * json.h — a small streaming JSON writer for --json output and reports,
 * and a reader for the one kind of JSON the program reads back: a flat
 * object per line of its own JSON Lines logs (at the end).
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

/*
 * Reading: one flat JSON object, such as a line of a JSON Lines log the
 * program wrote itself ({"step":40,"val_loss":5.39,"elapsed":1.118}). The
 * whole text is checked against the JSON grammar (RFC 8259), but a value
 * may only be a string, a number, true, false or null: a nested object or
 * array is an error. Fields point into the text (nothing is allocated);
 * keys and strings are their bytes between the quotes, escapes undecoded.
 */
enum ad_json_type { AD_JSON_NULL, AD_JSON_BOOL, AD_JSON_NUMBER, AD_JSON_STRING };

struct ad_json_field {
	const char       *key;       /* (key_len) bytes between the quotes */
	size_t            key_len;
	enum ad_json_type type;
	double            number;    /* a number's value; 1 or 0 for true or false */
	const char       *str;       /* a string's bytes between the quotes */
	size_t            str_len;
};

/*
 * Parse the object in s (n bytes; white space around it is allowed) into
 * out (up to max fields; more is an error) and set *nout. Returns 0, or
 * AD_EFORMAT with *bad (when not NULL) the byte offset of the first byte
 * that does not fit.
 */
int ad_json_flat_parse(const char *s, size_t n, struct ad_json_field *out, size_t max,
                       size_t *nout, size_t *bad);

/* The field named key (compared with its raw bytes), or NULL. */
const struct ad_json_field *ad_json_flat_find(const struct ad_json_field *f, size_t n,
                                              const char *key);

#endif
