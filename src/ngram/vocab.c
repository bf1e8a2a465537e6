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
