/*
 * tokens.c — token models: counting and scoring over the ids of a BPE
 * tokenizer (-t VOCAB). Every tokenizer call of the module is here.
 *
 * In a token model the "words" are token ids: a line is encoded and each
 * id is a word, written in ARPA as its decimal number, so that lmplz run on
 * the output of `autodidact tokenize encode` gives the same model. The
 * model's internal ids (first appearance, after the markers) differ from
 * the tokenizer's; the model file stores the map, and the lm interface
 * speaks the tokenizer's ids, with <s>, </s>, <unk> after them.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>

#include "ngram/ngram_impl.h"
#include "bpe/bpe.h"

struct tokens_enc {
	struct bpe_encoder *enc;
	uint32_t           *buf;   /* the ids of the current line */
	size_t              cap;
};

int
ngram_tokens_begin(struct ngram_est *m, void **encp, uint32_t **tokmap, struct ad_error *e)
{
	struct tokens_enc *t;
	int                rc;

	*encp = NULL;
	*tokmap = NULL;
	if ((t = ad_calloc(1, sizeof *t)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	m->tok_size = bpe_vocab_size(m->cfg.tok);
	m->tok_identity = bpe_identity(m->cfg.tok);
	if ((rc = bpe_encoder_new(m->cfg.tok, &t->enc, e)) != 0 ||
	    (rc = bpe_serialize(m->cfg.tok, &m->tok_blob, &m->tok_len, e)) != 0) {
		bpe_encoder_free(t->enc);
		ad_free(t);
		return rc;
	}
	if ((*tokmap = ad_mallocarray(m->tok_size, sizeof **tokmap)) == NULL) {
		bpe_encoder_free(t->enc);
		ad_free(t);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	for (uint32_t i = 0; i < m->tok_size; i++)
		(*tokmap)[i] = UINT32_MAX;
	*encp = t;
	return 0;
}

void
ngram_tokens_end(void *encp, uint32_t *tokmap)
{
	struct tokens_enc *t = encp;

	if (t != NULL) {
		bpe_encoder_free(t->enc);
		ad_free(t->buf);
		ad_free(t);
	}
	ad_free(tokmap);
}

int
ngram_count_line_tokens(struct ngram_est *m, void *encp, uint32_t **ids, size_t *n,
                        size_t *cap, const uint8_t *p, size_t len, uint32_t *tokmap,
                        const char *path, uint64_t lineno, struct ad_error *e)
{
	struct tokens_enc *t = encp;
	size_t             nb = 0;
	int                rc;

	if ((rc = bpe_encode(t->enc, p, len, &t->buf, &nb, &t->cap, e)) != 0) {
		ad_error_prefix(e, "%s:%llu", path, (unsigned long long)lineno);
		return rc;
	}
	if (*n + nb + 1 > *cap) {
		size_t    ncap = (*cap * 2 > *n + nb + 1 ? *cap * 2 : *n + nb + 1) + (1 << 16);
		uint32_t *np = ad_reallocarray(*ids, ncap, sizeof *np);
		if (np == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory holding %zu tokens of the corpus",
			    *n);
		*ids = np;
		*cap = ncap;
	}
	for (size_t i = 0; i < nb; i++) {
		uint32_t tok = t->buf[i], id = tokmap[tok];
		if (id == UINT32_MAX) {
			char word[16];
			int  wl = snprintf(word, sizeof word, "%u", tok);
			if ((rc = ngram_vocab_add(&m->vocab, word, (size_t)wl, &id, e)) != 0)
				return rc;
			tokmap[tok] = id;
		}
		(*ids)[(*n)++] = id;
	}
	return 0;
}

size_t
ngram_tokens_cut(const struct ngram_est *m, const uint8_t *p, size_t len)
{
	return bpe_cut_point(m->cfg.tok, p, len);
}

int
ngram_tokens_open(struct ngram_model *m, const void *blob, size_t len, uint64_t identity,
                  const char *path, struct ad_error *e)
{
	int rc;

	for (int i = 0; i < NGRAM_ENCODERS; i++)
		atomic_flag_clear(&m->enclock[i]);
	if ((rc = bpe_parse(&m->bpe, blob, len, path, e)) != 0)
		return rc;
	if (bpe_identity(m->bpe) != identity || bpe_vocab_size(m->bpe) + 3 != m->lm.V) {
		bpe_free(m->bpe);
		m->bpe = NULL;
		return ad_fail(e, AD_EMISMATCH, "%s: the embedded tokenizer is not the one the model "
		    "was trained with; train the model again", path);
	}
	return 0;
}

int
ngram_tokens_encode(const struct ngram_model *cm, const uint8_t *text, size_t len,
                    uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e)
{
	/* The pool is a cache inside a model that is otherwise read-only; each
	 * slot is used by the one thread that set its flag. */
	struct ngram_model *m = (struct ngram_model *)(uintptr_t)cm;
	struct bpe_encoder *enc = NULL;
	size_t              first = *n;
	int                 slot = -1, rc = 0;

	for (int i = 0; i < NGRAM_ENCODERS && slot < 0; i++)
		if (!atomic_flag_test_and_set(&m->enclock[i]))
			slot = i;
	if (slot >= 0 && m->encpool[slot] == NULL)
		rc = bpe_encoder_new(m->bpe, &m->encpool[slot], e);
	if (rc == 0)
		enc = slot >= 0 ? m->encpool[slot] : NULL;
	if (rc == 0 && enc == NULL)
		rc = bpe_encoder_new(m->bpe, &enc, e);
	if (rc == 0)
		rc = bpe_encode(enc, text, len, ids, n, cap, e);
	if (slot < 0)
		bpe_encoder_free(enc);
	else
		atomic_flag_clear(&m->enclock[slot]);
	/* A token the model never saw is unknown to it: <unk>, as for words. */
	for (size_t i = first; rc == 0 && i < *n; i++)
		if (m->lm2int[(*ids)[i]] == NGRAM_UNK)
			(*ids)[i] = m->lm.unk;
	return rc;
}

const uint8_t *
ngram_tokens_bytes(const struct ngram_model *m, uint32_t id, size_t *len)
{
	return bpe_token_bytes(m->bpe, id, len);
}

void
ngram_tokens_close(struct ngram_model *m)
{
	for (int i = 0; i < NGRAM_ENCODERS; i++) {
		bpe_encoder_free(m->encpool[i]);
		m->encpool[i] = NULL;
	}
	bpe_free(m->bpe);
	m->bpe = NULL;
}
