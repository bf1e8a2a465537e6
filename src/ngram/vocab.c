/*
 * vocab.c — stage 0: words to ids.
 *
 * Input: words (byte strings, any bytes but the separators) in corpus order.
 * Output: an id per word, in order of first appearance after the markers
 * <unk> = 0, <s> = 1, </s> = 2 (lmplz's numbering, so that our ARPA lists
 * unigrams in the same order as lmplz's). Lookup is an open-addressing
 * table of ids (4 bytes a slot, load <= 1/2) probed by ngram_word_hash; the
 * words themselves live back to back in one text buffer with an offset per
 * id, the same layout the binary model file stores and maps.
 */
#include "config.h"

#include <string.h>

#include "ngram/ngram_impl.h"

/*
 * A fast hash for short strings: 8 bytes at a time through a multiply-xor
 * step, finished with the SplitMix64 mixer. Stored models depend on it
 * (their word slots were placed with it), so it is part of the file format.
 */
uint64_t
ngram_word_hash(const char *s, size_t len)
{
	uint64_t h = 0x243f6a8885a308d3ULL ^ (uint64_t)len;
	size_t   i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	if (i < len) {
		uint64_t x = 0;
		memcpy(&x, s + i, len - i);
		h = (h ^ x) * 0x9e3779b97f4a7c15ULL;
	}
	return ad_mix64(h);
}

uint32_t
ngram_words_find(const struct ngram_words *w, const char *s, size_t len)
{
	uint32_t mask = w->nslot - 1, i = (uint32_t)ngram_word_hash(s, len) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t id = w->slot[i];
		if (id == 0)
			return UINT32_MAX;
		id--;
		if (w->off[id + 1] - w->off[id] == len && memcmp(w->text + w->off[id], s, len) == 0)
			return id;
	}
}

void
ngram_vocab_view(const struct ngram_vocab *v, struct ngram_words *w)
{
	w->size = v->size;
	w->off = v->off;
	w->text = v->text;
	w->slot = v->slot;
	w->nslot = v->nslot;
}

static int
vocab_rehash(struct ngram_vocab *v, uint32_t nslot, struct ad_error *e)
{
	uint32_t *slot = ad_calloc(nslot, sizeof *slot);

	if (slot == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for a vocabulary of %u words", v->size);
	for (uint32_t id = 0; id < v->size; id++) {
		uint32_t i = (uint32_t)ngram_word_hash(v->text + v->off[id],
		    (size_t)(v->off[id + 1] - v->off[id])) & (nslot - 1);
		while (slot[i] != 0)
			i = (i + 1) & (nslot - 1);
		slot[i] = id + 1;
	}
	ad_free(v->slot);
	v->slot = slot;
	v->nslot = nslot;
	return 0;
}

int
ngram_vocab_init(struct ngram_vocab *v, struct ad_error *e)
{
	static const char *const markers[] = { "<unk>", "<s>", "</s>" };
	uint32_t id;
	int      rc;

	memset(v, 0, sizeof *v);
	v->cap = 1024;
	v->text_cap = 8192;
	v->nslot = 2048;
	v->off = ad_mallocarray((size_t)v->cap + 1, sizeof *v->off);
	v->text = ad_malloc(v->text_cap);
	v->slot = ad_calloc(v->nslot, sizeof *v->slot);
	if (v->off == NULL || v->text == NULL || v->slot == NULL) {
		ngram_vocab_free(v);
		return ad_fail(e, AD_ENOMEM, "out of memory for the vocabulary");
	}
	v->off[0] = 0;
	for (int i = 0; i < 3; i++)
		if ((rc = ngram_vocab_add(v, markers[i], strlen(markers[i]), &id, e)) != 0) {
			ngram_vocab_free(v);
			return rc;
		}
	return 0;
}

void
ngram_vocab_free(struct ngram_vocab *v)
{
	ad_free(v->off);
	ad_free(v->text);
	ad_free(v->slot);
	memset(v, 0, sizeof *v);
}

int
ngram_vocab_add(struct ngram_vocab *v, const char *s, size_t len, uint32_t *id,
                struct ad_error *e)
{
	uint32_t mask = v->nslot - 1, i = (uint32_t)ngram_word_hash(s, len) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t got = v->slot[i];
		if (got == 0)
			break;
		got--;
		if (v->off[got + 1] - v->off[got] == len && memcmp(v->text + v->off[got], s, len) == 0) {
			*id = got;
			return 0;
		}
	}
	if (v->size >= UINT32_MAX / 4)
		return ad_fail(e, AD_EDATA, "more than %u distinct words: too many for one model",
		    UINT32_MAX / 4);
	if (v->size == v->cap) {
		uint64_t *off = ad_reallocarray(v->off, (size_t)v->cap * 2 + 1, sizeof *off);
		if (off == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for a vocabulary of %u words", v->size);
		v->off = off;
		v->cap *= 2;
	}
	if (v->text_len + len > v->text_cap) {
		size_t cap = v->text_cap * 2 > v->text_len + len ? v->text_cap * 2 : v->text_len + len;
		char  *text = ad_realloc(v->text, cap);
		if (text == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for a vocabulary of %u words", v->size);
		v->text = text;
		v->text_cap = cap;
	}
	memcpy(v->text + v->text_len, s, len);
	v->text_len += len;
	v->off[v->size + 1] = v->text_len;
	v->slot[i] = v->size + 1;
	*id = v->size++;
	/* Keep the load at most 1/2 so that probes stay short. */
	if ((uint64_t)v->size * 2 > v->nslot)
		return vocab_rehash(v, v->nslot * 2, e);
	return 0;
}

/* ---- text to ids for scoring ------------------------------------------- */

/* query's word separators. */
static inline int
vocab_is_sep(uint8_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

size_t
ngram_words_encode_ref(const struct ngram_words *w, const uint8_t *text, size_t len,
                       uint32_t *ids)
{
	size_t n = 0;

	for (size_t i = 0; i < len;) {
		size_t   start;
		uint32_t id;

		while (i < len && vocab_is_sep(text[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !vocab_is_sep(text[i]))
			i++;
		id = ngram_words_find(w, (const char *)text + start, i - start);
		/* The markers are not words of the text: read as unknown. */
		if (id == UINT32_MAX || id == NGRAM_BOS || id == NGRAM_EOS)
			id = NGRAM_UNK;
		ids[n++] = id;
	}
	return n;
}

/* 8 bytes at p as a little-endian number (byte p[0] lowest). */
static inline uint64_t
vocab_load8(const uint8_t *p)
{
	uint64_t x;

	memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* The same for the n < 8 bytes at p, the rest filled with fill bytes. */
static inline uint64_t
vocab_load_part(const uint8_t *p, size_t n, uint8_t fill)
{
	uint64_t x = 0;

	for (size_t i = 8; i-- > 0;)
		x = x << 8 | (i < n ? p[i] : fill);
	return x;
}

/* One 8-byte step of the index's hash. */
static inline uint64_t
vocab_mix(uint64_t h, uint64_t x)
{
	return (h ^ x) * 0x9e3779b97f4a7c15ULL;
}

#define VOCAB_SEED 0x452821e638d01377ULL

/* The index's hash of s: its 8-byte pieces, the last zero-padded. */
static uint64_t
vocab_tab_hash(const uint8_t *s, size_t len)
{
	uint64_t h = VOCAB_SEED;
	size_t   i = 0;

	for (; i + 8 <= len; i += 8)
		h = vocab_mix(h, vocab_load8(s + i));
	if (i < len)
		h = vocab_mix(h, vocab_load_part(s + i, len - i, 0));
	return h;
}

void
ngram_wordtab_build(struct ngram_wordtab *t, const struct ngram_words *w, uint64_t min_slots)
{
	uint64_t nslot = 16;
	uint32_t bits = 4;

	memset(t, 0, sizeof *t);
	if (min_slots == 0)
		min_slots = 2 * (uint64_t)w->size;
	while (nslot < min_slots && nslot <= UINT32_MAX) {
		nslot *= 2;
		bits++;
	}
	/* At least one slot stays empty, so that a probe ends. */
	if (nslot <= (uint64_t)w->size - 3 || nslot > UINT32_MAX ||
	    (t->slot = ad_calloc((size_t)nslot, sizeof *t->slot)) == NULL)
		return;
	t->mask = (uint32_t)(nslot - 1);
	t->shift = 64 - bits;
	for (uint32_t id = 3; id < w->size; id++) {
		const uint8_t *s = (const uint8_t *)w->text + w->off[id];
		uint64_t       len = w->off[id + 1] - w->off[id];
		uint32_t       i;

		if (len == 0 || len > UINT32_MAX)
			continue;
		i = (uint32_t)(vocab_tab_hash(s, (size_t)len) >> t->shift);
		while (t->slot[i].len != 0)
			i = (i + 1) & t->mask;
		t->slot[i].head = len >= 8 ? vocab_load8(s) : vocab_load_part(s, (size_t)len, 0);
		t->slot[i].len = (uint32_t)len;
		t->slot[i].id = id;
	}
}

void
ngram_wordtab_free(struct ngram_wordtab *t)
{
	ad_free(t->slot);
	memset(t, 0, sizeof *t);
}

/*
 * Bit 7 of each byte of x below 0x21 (the separators and the other control
 * bytes), exact up to the lowest such byte; above it, a byte of 0x21 may
 * be flagged too (the subtraction's borrow), never one missed. A flagged
 * byte is then tested exactly.
 */
static inline uint64_t
vocab_low_bytes(uint64_t x)
{
	return (x - 0x2121212121212121ULL) & ~x & 0x8080808080808080ULL;
}

/* Whether the len > 8 bytes at a and b are equal from byte 8 on. */
static inline int
vocab_tail_eq(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t i = 8;

	for (; i + 8 <= len; i += 8)
		if (vocab_load8(a + i) != vocab_load8(b + i))
			return 0;
	for (; i < len; i++)
		if (a[i] != b[i])
			return 0;
	return 1;
}

size_t
ngram_wordtab_encode(const struct ngram_wordtab *t, const struct ngram_words *w,
                     const uint8_t *text, size_t len, uint32_t *ids)
{
	const uint8_t *p = text, *end = text + len;
	size_t         n = 0;

	if (t->slot == NULL)
		return ngram_words_encode_ref(w, text, len, ids);
	for (;;) {
		uint64_t h = VOCAB_SEED, head = 0, x, flags;
		size_t   wl = 0;
		unsigned b;
		uint32_t i, id;

		while (p < end && vocab_is_sep(*p))
			p++;
		if (p == end)
			return n;
		/* The word's bytes 8 at a time (past the end of the text, spaces)
		 * until the first separator, hashing each full piece. */
		for (;;) {
			if (end - (p + wl) >= 8)
				x = vocab_load8(p + wl);
			else if (end - text >= 8) {
				/* The last r < 8 bytes: the 8 that end there, shifted down,
				 * spaces above. */
				unsigned r = (unsigned)(end - (p + wl));
				x = r == 0 ? 0x2020202020202020ULL : vocab_load8(end - 8) >> (64 - 8 * r) |
				    0x2020202020202020ULL << (8 * r);
			} else
				x = vocab_load_part(p + wl, (size_t)(end - (p + wl)), ' ');
			for (flags = vocab_low_bytes(x); flags != 0; flags &= flags - 1) {
				b = (unsigned)__builtin_ctzll(flags) >> 3;
				if (vocab_is_sep((uint8_t)(x >> (8 * b))))
					goto found;
			}
			if (wl == 0)
				head = x;
			h = vocab_mix(h, x);
			wl += 8;
		}
found:
		/* Bytes b.. of x are not the word's: the last piece, zero-padded. */
		if (b > 0) {
			x &= ~0ULL >> (64 - 8 * b);
			if (wl == 0)
				head = x;
			h = vocab_mix(h, x);
			wl += b;
		}
		for (i = (uint32_t)(h >> t->shift);; i = (i + 1) & t->mask) {
			const struct ngram_wslot *s = &t->slot[i];
			if (s->head == head && s->len == wl && (wl <= 8 ||
			    vocab_tail_eq((const uint8_t *)w->text + w->off[s->id], p, wl))) {
				id = s->id;
				break;
			}
			if (s->len == 0) {
				id = NGRAM_UNK;
				break;
			}
		}
		ids[n++] = id;
		p += wl;
	}
}
