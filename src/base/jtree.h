/*
 * jtree.h — reading a whole JSON document (RFC 8259) into a tree.
 *
 * What it is for. Files written by other tools: the header of a
 * safetensors file (an object of objects holding arrays), a Hugging Face
 * config.json and a GPT-2 vocab.json (an object of 50,257 strings). The
 * flat reader in json.h takes only one object of scalars; this one takes
 * any document, with the limits a hostile file needs: nesting at most
 * AD_JT_DEPTH deep, and nothing read past the n bytes given.
 *
 * Shape. A node is a scalar, an array of items or an object of (key,
 * item) pairs in file order (duplicate keys are kept; ad_jt_get finds the
 * first). Strings and keys are decoded (escapes, \uXXXX with surrogate
 * pairs, to UTF-8) and NUL-terminated; a number keeps its text, so that
 * integers past 2^53 (byte offsets) are read exactly by ad_jt_u64. The
 * tree is one allocation per node array and string; ad_jt_free frees it.
 */
#ifndef AD_JTREE_H
#define AD_JTREE_H

#include <stddef.h>
#include <stdint.h>

#define AD_JT_DEPTH 64

enum ad_jt_type { AD_JT_NULL, AD_JT_FALSE, AD_JT_TRUE, AD_JT_NUMBER, AD_JT_STRING,
                  AD_JT_ARRAY, AD_JT_OBJECT };

struct ad_jt {
	enum ad_jt_type type;
	char           *str;     /* a string's decoded bytes (len), NUL-terminated */
	size_t          len;
	const char     *num;     /* a number's text in the document (len bytes) */
	double          number;  /* and its value */
	size_t          n;       /* items of an array or object */
	struct ad_jt   *items;   /* (n) */
	char          **keys;    /* (n) an object's keys, decoded; NULL for an array */
	size_t         *key_len; /* (n) */
};

/*
 * Parse the document in s (n bytes, white space around it allowed) into a
 * new tree. Returns 0, AD_ENOMEM, or AD_EFORMAT with *bad (when not NULL)
 * the byte offset where the text stops being JSON (or nests too deep).
 */
int  ad_jt_parse(const char *s, size_t n, struct ad_jt **out, size_t *bad);
void ad_jt_free(struct ad_jt *t);
/* The item of object t under key, or NULL (t not an object, or no such key). */
const struct ad_jt *ad_jt_get(const struct ad_jt *t, const char *key);
/* A number that is a non-negative integer below 2^64 written without a
 * fraction or exponent: 0 with *v set, -1 otherwise. */
int  ad_jt_u64(const struct ad_jt *t, uint64_t *v);

#endif
