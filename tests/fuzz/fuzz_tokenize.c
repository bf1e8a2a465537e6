/*
 * fuzz_tokenize.c — the tokenizer's parsers of outside input and its
 * encoder. The first byte picks the target:
 *   0: the rest is a vocabulary file (bpe_parse); when it loads, writing
 *      it out and loading that again gives the same identity;
 *   1: the rest is a tiktoken rank file (bpe_parse_tiktoken, gpt2);
 *   2: the rest is text for a small fixed vocabulary: the fast and the
 *      reference encoder agree and decoding gives the bytes back.
 * Any failure must be a clean error code, never a crash; a broken invariant
 * aborts.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "bpe/bpe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 256 single bytes and a few merges, as a tiktoken rank file. */
static struct bpe *
fixed_vocab(void)
{
	static struct bpe *b;
	static const char  b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char *merges[] = { "th", "he", "the", " t", " the", "in", "ing", "aa", "aaaa",
	    "\xc3\xa9", "  ", "\n\n", "er", "re", "ere" };
	char               buf[8192];
	size_t             k = 0;
	uint32_t           rank = 0;
	struct ad_error    e;

	if (b != NULL)
		return b;
	for (int c = 0; c < 256; c++)
		k += (size_t)snprintf(buf + k, sizeof buf - k, "%c%c== %u\n", b64[c >> 2],
		    b64[(c & 3) << 4], rank++);
	for (size_t m = 0; m < sizeof merges / sizeof merges[0]; m++) {
		const uint8_t *s = (const uint8_t *)merges[m];
		size_t         n = strlen(merges[m]);
		for (size_t i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
			    (i + 2 < n ? s[i + 2] : 0);
			buf[k++] = b64[v >> 18];
			buf[k++] = b64[(v >> 12) & 63];
			buf[k++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
			buf[k++] = i + 2 < n ? b64[v & 63] : '=';
		}
		k += (size_t)snprintf(buf + k, sizeof buf - k, " %u\n", rank++);
	}
	if (bpe_parse_tiktoken(&b, buf, k, "fixed", "gpt2", NULL, 0, &e) != 0)
		abort();
	return b;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ad_error e;
	struct bpe     *b = NULL, *c = NULL;

	if (size == 0)
		return 0;
	if (data[0] == 0) {
		if (bpe_parse(&b, data + 1, size - 1, "fuzz", &e) == 0) {
			char  *s;
			size_t n;
			if (bpe_serialize(b, &s, &n, &e) != 0 || bpe_parse(&c, s, n, "again", &e) != 0 ||
			    bpe_identity(b) != bpe_identity(c))
				abort();
			ad_free(s);
		}
	} else if (data[0] == 1) {
		(void)bpe_parse_tiktoken(&b, data + 1, size - 1, "fuzz", "gpt2", NULL, 0, &e);
	} else {
		struct bpe_encoder *enc;
		const struct bpe   *v = fixed_vocab();
		uint32_t           *ids = NULL, *rids = NULL;
		uint8_t            *back = NULL;
		size_t              n = 0, rn = 0, cap = 0, rcap = 0, bl = 0, bc = 0;

		if (bpe_encoder_new(v, &enc, &e) != 0)
			abort();
		if (bpe_encode(enc, data + 1, size - 1, &ids, &n, &cap, &e) != 0 ||
		    bpe_encode_ref(enc, data + 1, size - 1, &rids, &rn, &rcap, &e) != 0 ||
		    n != rn || (n > 0 && memcmp(ids, rids, n * sizeof *ids) != 0) ||
		    bpe_decode(v, ids, n, &back, &bl, &bc, &e) != 0 || bl != size - 1 ||
		    (bl > 0 && memcmp(back, data + 1, bl) != 0))
			abort();
		ad_free(ids);
		ad_free(rids);
		ad_free(back);
		bpe_encoder_free(enc);
	}
	bpe_free(b);
	bpe_free(c);
	return 0;
}
