/*
 * bpe_impl.h — the inside of the tokenizer module, shared by its files (bpe_vocab.c,
 * bpe_encode.c, bpe_train.c) and by its tests; not for other modules, which use
 * bpe.h.
 *
 * A struct bpe holds every token's bytes in one block (off[] indexes it by
 * id), an open-addressing table from bytes to rank, and a pair table from
 * (left id, right id) to the rank of their concatenation when that is a
 * token: the encoder's hot loop looks pairs up by two integers instead of
 * hashing byte strings. Both tables are built once when a vocabulary is
 * made or loaded (bpe_build) and never change after.
 */
#ifndef AD_BPE_IMPL_H
#define AD_BPE_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/err.h"
#include "base/hash.h"
#include "bpe/bpe.h"
#include "bpe/norm.h"
#include "bpe/pretok.h"

#define BPE_NONE UINT32_MAX

struct bpe {
	uint32_t       nranks;     /* regular ids are ranks 0..nranks-1 (a missing rank is a hole) */
	uint32_t       nspecials;  /* special tokens, at ids nranks..nids-1 (holes between them) */
	uint32_t       nids;       /* all ids; 0 before bpe_build means nranks + nspecials */
	uint32_t      *special;    /* (nspecials) the special ids, increasing; set by bpe_build */
	uint32_t       ntokens;    /* regular tokens present: nranks minus holes */
	size_t        *off;        /* (nids + 1): id i is bytes[off[i], off[i+1]); a hole is empty */
	uint8_t       *bytes;      /* off[nids] bytes */
	uint32_t      *tok;        /* (tok_mask + 1) slots: rank + 1, 0 empty; keyed by the token's bytes */
	size_t         tok_mask;
	uint64_t      *pair_key;   /* (pair_mask + 1): left << 32 | right, UINT64_MAX empty */
	uint32_t      *pair_val;   /* (pair_mask + 1): the rank of bytes(left) + bytes(right) */
	size_t         pair_mask;
	uint32_t       byte_id[256]; /* the rank of each single byte */
	uint32_t       max_len;    /* the longest regular token, in bytes */
	char          *pattern;    /* the pre-tokenization regex, as stored */
	enum norm_mode norm;
	int            casefold;
	int            specials_nl; /* some special contains a newline (no parallel split) */
	const char    *tiktoken;   /* the standard rank file recognised (static), or NULL */
	struct pretok *pt;
	uint64_t       identity;
};

/* A fast hash of a short byte string (pieces, tokens): 8 bytes at a time. */
static inline uint64_t
text_hash(const uint8_t *s, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL), w;

	while (n >= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
		s += 8;
		n -= 8;
	}
	if (n > 0) {
		w = 0;
		memcpy(&w, s, n);
		h = (h ^ w) * 0x94d049bb133111ebULL;
	}
	return ad_mix64(h);
}

/* The rank of a regular token with these bytes, or BPE_NONE. */
static inline uint32_t
bpe_rank_of(const struct bpe *b, const uint8_t *s, size_t n)
{
	size_t   i = (size_t)text_hash(s, n) & b->tok_mask;
	uint32_t v;

	while ((v = b->tok[i]) != 0) {
		uint32_t r = v - 1;
		if (b->off[r + 1] - b->off[r] == n && memcmp(b->bytes + b->off[r], s, n) == 0)
			return r;
		i = (i + 1) & b->tok_mask;
	}
	return BPE_NONE;
}

/* The rank of bytes(l) + bytes(r) when it is a token, or BPE_NONE. */
static inline uint32_t
bpe_pair_rank(const struct bpe *b, uint32_t l, uint32_t r)
{
	uint64_t key = (uint64_t)l << 32 | r, k;
	size_t   i = (size_t)ad_mix64(key) & b->pair_mask;

	while ((k = b->pair_key[i]) != UINT64_MAX) {
		if (k == key)
			return b->pair_val[i];
		i = (i + 1) & b->pair_mask;
	}
	return BPE_NONE;
}

/*
 * Finish a struct bpe whose off, bytes, nranks, nspecials, pattern, norm and
 * casefold are set: check it (every byte has a token, no duplicate tokens),
 * build the tables, compile the pattern, compute the identity. name is for
 * messages. On failure the caller still owns b and frees it with bpe_free.
 */
int bpe_build(struct bpe *b, const char *name, struct ad_error *e);

/* Append the escaped form of bytes to a growing string (vocab file syntax). */
int text_escape(char **buf, size_t *len, size_t *cap, const uint8_t *s, size_t n);

/*
 * The split points of a text for parallel encoding with a built-in pattern:
 * a position just after a newline that is followed by an ASCII letter or
 * digit is a piece boundary of all three built-in patterns (no piece joins a
 * newline to a letter or a digit). Returns the first such position at or
 * after from, or len when there is none.
 */
size_t text_split_point(const uint8_t *s, size_t len, size_t from);

/*
 * The last k in [1, len) where s[k] is a space and s[k - 1] an ASCII
 * letter, or 0: where a text may be cut under a built-in pattern (see
 * bpe_cut_point, which also checks the pattern and the special tokens).
 */
static inline size_t
text_cut_point(const uint8_t *s, size_t len)
{
	for (size_t k = len > 0 ? len - 1 : 0; k > 0; k--) {
		uint8_t c = s[k - 1];
		if (s[k] == ' ' && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			return k;
	}
	return 0;
}

#endif
