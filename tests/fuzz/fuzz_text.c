/*
 * fuzz_text.c — corpus text through normalization and pre-tokenization, the
 * first two stages every byte of a corpus goes through. The first byte picks
 * the normalization (none, NFC, NFKC; with or without case folding) and the
 * built-in pattern (gpt2, gpt4, o200k); the rest is the text. Invariants
 * checked (a broken one aborts):
 *   - normalization never fails on any bytes; with none and no folding it
 *     is the identity; NFC and NFKC are idempotent (UAX #15: a normalized
 *     string is its own normal form), invalid UTF-8 included, since it is
 *     passed through unchanged;
 *   - the pieces of the normalized text are non-empty and cover it exactly,
 *     in order (or the match limit stops the search with a clean error).
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "bpe/norm.h"
#include "bpe/pretok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct pretok *
pattern(int which)
{
	static struct pretok *p[3];
	static const char    *names[3] = { "gpt2", "gpt4", "o200k" };
	struct ad_error       e;

	if (p[which] == NULL && pretok_new(&p[which], names[which], &e) != 0)
		abort();
	return p[which];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct norm_buf nb, again;
	struct pretok_iter    *it;
	struct ad_error        e;
	enum norm_mode         mode;
	int                    fold, rc;
	size_t                 start, end, at = 0;

	if (size == 0)
		return 0;
	mode = (enum norm_mode)(data[0] % 3);
	fold = data[0] >> 2 & 1;
	data++, size--;
	if (norm_apply(&nb, mode, fold, data, size, &e) != 0)
		abort();
	if (mode == NORM_NONE && !fold && (nb.len != size || (size > 0 && memcmp(nb.out, data, size))))
		abort();
	if (mode != NORM_NONE && !fold) {
		if (norm_apply(&again, mode, 0, nb.out, nb.len, &e) != 0)
			abort();
		if (again.len != nb.len || (nb.len > 0 && memcmp(again.out, nb.out, nb.len) != 0))
			abort();
	}
	if (pretok_iter_new(pattern((data[-1] >> 3) % 3), &it, &e) != 0)
		abort();
	pretok_start(it, nb.out, nb.len, nb.len);
	while ((rc = pretok_next(it, &start, &end, &e)) == 1) {
		if (start != at || end <= start || end > nb.len)
			abort();
		at = end;
	}
	/* A match limit is a clean error, not a crash; otherwise all is covered. */
	if (rc == 0 && at != nb.len)
		abort();
	pretok_iter_free(it);
	return 0;
}
