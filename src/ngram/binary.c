/*
 * binary.c — stage 6b: our binary model file, written and opened by mmap.
 *
 * Input (write): an estimate. Output: a file that opens in the time it
 * takes to checksum it, with no parsing and no allocation proportional to
 * its size: the query structure is stored exactly as it is used.
 *
 * Layout (little-endian; every section starts at a multiple of 64 bytes):
 *   header      struct ngram_header below: magic "AD-NGRAM", version, sizes,
 *               the full configuration, counts, discounts, section offsets
 *   text        the vocabulary's words back to back (a byte model: the
 *               byte; a token model: the token id in decimal)
 *   off         (vocab + 1) u64: where each word starts in text
 *   slot        (nslot) u32: id + 1 of the word hashed to each slot
 *               (ngram_word_hash, linear probing), 0 = empty
 *   uni         (vocab, 2) f32: log10 p, log10 backoff of each unigram
 *   table n     for n = 2..N: (cap[n], 16 or 12 bytes) probing table, each
 *               slot a u64 key (0 = empty) then f32 log10 p and, below
 *               order N, f32 log10 backoff (ngram_impl.h)
 *   filter n    for n = 2..N: (filter_bits[n] / 64) u64, the table's filter
 *   tok         token models: the tokenizer file's bytes (bpe_serialize)
 *   tokmap      token models: (lm_vocab) u32 model id -> internal id
 *   checksum    u64 XXH64 (seed 0) of every byte before it
 * The opener checks the magic, the version, the header size, the file size,
 * the checksum, then every offset and count against the file size before
 * it trusts a byte of the data.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/hash.h"
#include "base/io.h"
#include "ngram/ngram_impl.h"

struct ngram_header {
	char     magic[8];            /* NGRAM_MAGIC */
	uint32_t version;             /* NGRAM_VERSION */
	uint32_t header_size;         /* sizeof(struct ngram_header) */
	uint64_t file_size;           /* including the checksum */
	uint32_t order;               /* N */
	uint32_t unit;                /* enum ngram_unit */
	uint32_t vocab;               /* internal ids, incl. the 3 markers */
	uint32_t lm_vocab;            /* ids of the lm interface (token models: tokenizer + 3) */
	uint32_t skip_symbols;        /* configuration */
	uint32_t discount_fallback;   /* configuration: fallback allowed */
	uint32_t fell_back;           /* bit n: order n used the fallback discounts */
	uint32_t nslot;               /* word slots (power of two) */
	uint64_t tokens, lines;       /* corpus: tokens (words + </s>) and lines */
	uint64_t count[NGRAM_MAX_ORDER + 1];     /* n-grams per order */
	uint64_t cap[NGRAM_MAX_ORDER + 1];       /* table slots per order (n >= 2) */
	double   discount[NGRAM_MAX_ORDER + 1][3];
	double   fallback[3];         /* configuration: the fallback discounts */
	uint64_t tok_identity;        /* bpe_identity of the embedded tokenizer */
	uint64_t off_text, len_text;
	uint64_t off_off, off_slot, off_uni;
	uint64_t off_tab[NGRAM_MAX_ORDER + 1];
	uint64_t off_tok, len_tok;
	uint64_t off_tokmap;
	uint64_t off_filter[NGRAM_MAX_ORDER + 1];  /* filter of each table (n >= 2) */
	uint64_t filter_bits[NGRAM_MAX_ORDER + 1];
	/* The training text (struct lm): XXH64 of its files' bytes and their
	 * total; both 0 in files written before it was recorded. */
	uint64_t text_hash, text_bytes;
	uint64_t reserved[6];
};

static uint64_t
bin_align(uint64_t x)
{
	return (x + 63) & ~(uint64_t)63;
}

struct bin_writer {
	FILE          *f;
	struct ad_hash h;
	uint64_t       at;
	int            err;
};

static void
bin_put(struct bin_writer *w, const void *p, size_t len)
{
	if (len == 0)
		return;
	if (fwrite(p, 1, len, w->f) != len)
		w->err = 1;
	ad_hash_update(&w->h, p, len);
	w->at += len;
}

static void
bin_pad_to(struct bin_writer *w, uint64_t off)
{
	static const uint8_t zero[64];

	assert(off >= w->at && off - w->at < 64);
	bin_put(w, zero, (size_t)(off - w->at));
}

/* Token models: model id -> internal id, from the decimal words. */
static uint32_t *
bin_tokmap(const struct ngram_est *m, uint32_t lm_vocab)
{
	uint32_t *map = ad_calloc(lm_vocab, sizeof *map);

	if (map == NULL)
		return NULL;
	for (uint32_t id = 3; id < m->vocab.size; id++) {
		uint64_t t = 0;
		for (uint64_t k = m->vocab.off[id]; k < m->vocab.off[id + 1]; k++)
			t = t * 10 + (uint64_t)(m->vocab.text[k] - '0');
		assert(t < m->tok_size);
		map[t] = id;
	}
	map[m->tok_size] = NGRAM_BOS;
	map[m->tok_size + 1] = NGRAM_EOS;
	map[m->tok_size + 2] = NGRAM_UNK;
	return map;
}

int
ngram_est_write_binary(const struct ngram_est *m, const char *path, struct ad_error *e)
{
	struct ngram_header h;
	struct bin_writer   w = { 0 };
	struct ad_atomic    a;
	uint32_t            N = m->cfg.order, V = m->vocab.size;
	uint32_t           *tokmap = NULL;
	uint64_t            at, digest;
	int                 rc;

	memset(&h, 0, sizeof h);
	memcpy(h.magic, NGRAM_MAGIC, 8);
	h.version = NGRAM_VERSION;
	h.header_size = sizeof h;
	h.order = N;
	h.unit = (uint32_t)m->cfg.unit;
	h.vocab = V;
	h.lm_vocab = m->cfg.unit == NGRAM_TOKENS ? m->tok_size + 3 : V;
	h.skip_symbols = (uint32_t)m->cfg.skip_symbols;
	h.discount_fallback = (uint32_t)m->cfg.discount_fallback;
	h.nslot = m->vocab.nslot;
	h.tokens = m->tokens;
	h.lines = m->lines;
	for (uint32_t n = 1; n <= N; n++) {
		h.count[n] = m->g[n].count;
		h.cap[n] = n >= 2 ? m->tab[n].cap : 0;
		for (int j = 0; j < 3; j++)
			h.discount[n][j] = m->disc[n][j + 1];
		if (m->disc_fallback[n])
			h.fell_back |= 1u << n;
	}
	for (int j = 0; j < 3; j++)
		h.fallback[j] = m->cfg.fallback[j];
	h.tok_identity = m->tok_identity;
	h.text_hash = m->text_hash;
	h.text_bytes = m->text_bytes;
	at = bin_align(sizeof h);
	h.off_text = at;
	h.len_text = m->vocab.text_len;
	at = bin_align(at + h.len_text);
	h.off_off = at;
	at = bin_align(at + ((uint64_t)V + 1) * 8);
	h.off_slot = at;
	at = bin_align(at + (uint64_t)h.nslot * 4);
	h.off_uni = at;
	at = bin_align(at + (uint64_t)V * 8);
	for (uint32_t n = 2; n <= N; n++) {
		h.off_tab[n] = at;
		at = bin_align(at + m->tab[n].cap * m->tab[n].stride);
		h.off_filter[n] = at;
		h.filter_bits[n] = m->tab[n].fbits;
		at = bin_align(at + m->tab[n].fbits / 8);
	}
	if (m->cfg.unit == NGRAM_TOKENS) {
		h.off_tok = at;
		h.len_tok = m->tok_len;
		at = bin_align(at + h.len_tok);
		h.off_tokmap = at;
		at = bin_align(at + (uint64_t)h.lm_vocab * 4);
		if ((tokmap = bin_tokmap(m, h.lm_vocab)) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	h.file_size = at + 8;

	if ((rc = ad_atomic_open(&a, path, e)) != 0) {
		ad_free(tokmap);
		return rc;
	}
	w.f = a.f;
	ad_hash_init(&w.h, 0);
	bin_put(&w, &h, sizeof h);
	bin_pad_to(&w, h.off_text);
	bin_put(&w, m->vocab.text, m->vocab.text_len);
	bin_pad_to(&w, h.off_off);
	bin_put(&w, m->vocab.off, ((size_t)V + 1) * 8);
	bin_pad_to(&w, h.off_slot);
	bin_put(&w, m->vocab.slot, (size_t)h.nslot * 4);
	bin_pad_to(&w, h.off_uni);
	bin_put(&w, m->uni, (size_t)V * 8);
	for (uint32_t n = 2; n <= N; n++) {
		bin_pad_to(&w, h.off_tab[n]);
		bin_put(&w, m->tab[n].slots, (size_t)(m->tab[n].cap * m->tab[n].stride));
		bin_pad_to(&w, h.off_filter[n]);
		bin_put(&w, m->tab[n].filter, (size_t)(m->tab[n].fbits / 8));
	}
	if (m->cfg.unit == NGRAM_TOKENS) {
		bin_pad_to(&w, h.off_tok);
		bin_put(&w, m->tok_blob, m->tok_len);
		bin_pad_to(&w, h.off_tokmap);
		bin_put(&w, tokmap, (size_t)h.lm_vocab * 4);
	}
	bin_pad_to(&w, at);
	digest = ad_hash_digest(&w.h);
	if (fwrite(&digest, 8, 1, a.f) != 1)
		w.err = 1;
	ad_free(tokmap);
	if (w.err || ferror(a.f)) {
		int err = errno ? errno : EIO;
		ad_atomic_abort(&a);
		return ad_fail_errno(e, err, "%s: cannot write the model (the previous file, if any, is untouched)", path);
	}
	return ad_atomic_commit(&a, e);
}

/* A section [off, off + len) lies inside the data part of the file. */
static int
bin_fits(const struct ngram_header *h, uint64_t off, uint64_t len)
{
	uint64_t end = h->file_size - 8;

	return off % 64 == 0 && off >= h->header_size && off <= end && len <= end - off;
}

int
ngram_lm_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e)
{
	struct ngram_header h;
	struct ngram_model *m;
	const uint8_t      *d = map->data;
	uint64_t            digest;
	int                 rc;

	if (map->size < sizeof h + 8)
		return ad_fail(e, AD_EFORMAT, "%s: truncated n-gram model (%zu bytes, shorter than "
		    "its header); train it again", path, map->size);
	memcpy(&h, d, sizeof h);
	if (h.version != NGRAM_VERSION)
		return ad_fail(e, AD_EVERSION, "%s: n-gram model format version %u, but this "
		    "program reads version %d; train the model again with this version", path,
		    h.version, NGRAM_VERSION);
	if (h.header_size != sizeof h)
		return ad_fail(e, AD_EFORMAT, "%s: bad header size %u (expected %zu): not a model "
		    "written by this program", path, h.header_size, sizeof h);
	if (h.file_size != map->size)
		return ad_fail(e, AD_EFORMAT, "%s: the file has %zu bytes but its header says "
		    "%llu: truncated or damaged; train the model again", path, map->size,
		    (unsigned long long)h.file_size);
	memcpy(&digest, d + map->size - 8, 8);
	if (ad_hash64(d, map->size - 8, 0) != digest)
		return ad_fail(e, AD_ECHECKSUM, "%s: checksum mismatch: the model file is corrupt; "
		    "train it again", path);
	/* The checksum proves the bytes are what we wrote; these checks guard
	 * against a writer bug or a hand-made file before any pointer is made. */
	if (h.order < 1 || h.order > NGRAM_MAX_ORDER || h.vocab < 3 ||
	    (h.unit != NGRAM_WORDS && h.unit != NGRAM_BYTES && h.unit != NGRAM_TOKENS) ||
	    h.count[1] != h.vocab || h.nslot == 0 || (h.nslot & (h.nslot - 1)) != 0 ||
	    h.nslot <= h.vocab || !bin_fits(&h, h.off_text, h.len_text) ||
	    !bin_fits(&h, h.off_off, ((uint64_t)h.vocab + 1) * 8) ||
	    !bin_fits(&h, h.off_slot, (uint64_t)h.nslot * 4) ||
	    !bin_fits(&h, h.off_uni, (uint64_t)h.vocab * 8) ||
	    (h.unit == NGRAM_TOKENS && (!bin_fits(&h, h.off_tok, h.len_tok) ||
	     h.lm_vocab < 3 || !bin_fits(&h, h.off_tokmap, (uint64_t)h.lm_vocab * 4))) ||
	    (h.unit != NGRAM_TOKENS && h.lm_vocab != h.vocab))
		return ad_fail(e, AD_EFORMAT, "%s: inconsistent n-gram model header; train the "
		    "model again", path);
	for (uint32_t n = 2; n <= h.order; n++) {
		uint32_t stride = n < h.order ? 16 : 12;
		if (h.cap[n] <= h.count[n] || h.cap[n] > UINT64_MAX / 16 ||
		    !bin_fits(&h, h.off_tab[n], h.cap[n] * stride) ||
		    h.filter_bits[n] != ngram_filter_bits(h.count[n]) ||
		    !bin_fits(&h, h.off_filter[n], h.filter_bits[n] / 8))
			return ad_fail(e, AD_EFORMAT, "%s: inconsistent %u-gram table in the header; "
			    "train the model again", path, n);
	}
	{
		const uint64_t *off = (const uint64_t *)(const void *)(d + h.off_off);
		const uint32_t *slot = (const uint32_t *)(const void *)(d + h.off_slot);
		if (off[0] != 0 || off[h.vocab] != h.len_text)
			return ad_fail(e, AD_EFORMAT, "%s: inconsistent vocabulary; train the model "
			    "again", path);
		for (uint32_t i = 0; i < h.vocab; i++)
			if (off[i + 1] < off[i])
				return ad_fail(e, AD_EFORMAT, "%s: inconsistent vocabulary; train the "
				    "model again", path);
		uint32_t used = 0;
		for (uint32_t i = 0; i < h.nslot; i++) {
			if (slot[i] > h.vocab)
				return ad_fail(e, AD_EFORMAT, "%s: inconsistent vocabulary; train the "
				    "model again", path);
			used += slot[i] != 0;
		}
		/* Lookups probe until an empty slot: there must be one. */
		if (used > h.vocab)
			return ad_fail(e, AD_EFORMAT, "%s: inconsistent vocabulary; train the "
			    "model again", path);
		if (h.unit == NGRAM_TOKENS) {
			const uint32_t *tm = (const uint32_t *)(const void *)(d + h.off_tokmap);
			for (uint32_t i = 0; i < h.lm_vocab; i++)
				if (tm[i] >= h.vocab)
					return ad_fail(e, AD_EFORMAT, "%s: inconsistent token map; train "
					    "the model again", path);
		}
	}

	/*
	 * Each n-gram table is probed until the key or an empty slot: a table
	 * with no empty slot (only a damaged or hostile file has one, as the
	 * writer keeps the load below 1) would make a lookup loop forever.
	 */
	for (uint32_t n = 2; n <= h.order; n++) {
		const uint8_t *t = d + h.off_tab[n];
		uint32_t       stride = n < h.order ? 16 : 12;
		uint64_t       i, k;
		for (i = 0; i < h.cap[n]; i++) {
			memcpy(&k, t + i * stride, 8);
			if (k == 0)
				break;
		}
		if (i == h.cap[n])
			return ad_fail(e, AD_EFORMAT, "%s: the %u-gram table has no empty slot; "
			    "train the model again", path, n);
	}

	if ((m = ad_calloc(1, sizeof *m)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	m->N = h.order;
	m->Vi = h.vocab;
	m->unit = (enum ngram_unit)h.unit;
	m->uni = (const float *)(const void *)(d + h.off_uni);
	for (uint32_t n = 2; n <= h.order; n++) {
		m->tab[n].slots = d + h.off_tab[n];
		m->tab[n].cap = h.cap[n];
		m->tab[n].stride = n < h.order ? 16 : 12;
		m->tab[n].filter = (const uint64_t *)(const void *)(d + h.off_filter[n]);
		m->tab[n].fmask = h.filter_bits[n] - 1;
	}
	for (uint32_t n = 1; n <= h.order; n++)
		m->counts[n] = h.count[n];
	m->words.size = h.vocab;
	m->words.off = (const uint64_t *)(const void *)(d + h.off_off);
	m->words.text = (const char *)(d + h.off_text);
	m->words.slot = (const uint32_t *)(const void *)(d + h.off_slot);
	m->words.nslot = h.nslot;
	m->lm.V = h.lm_vocab;
	m->lm.text_hash = h.text_hash;
	m->lm.text_bytes = h.text_bytes;
	if (h.unit == NGRAM_TOKENS) {
		m->lm2int = (const uint32_t *)(const void *)(d + h.off_tokmap);
		if ((rc = ngram_tokens_open(m, d + h.off_tok, (size_t)h.len_tok, h.tok_identity,
		    path, e)) != 0) {
			ad_free(m);
			return rc;
		}
	}
	m->map = *map;
	m->has_map = 1;
	if ((rc = ngram_model_finish(m, "ngram", path, e)) != 0) {
		m->has_map = 0;  /* the caller releases the map on failure */
		ngram_model_free_(m);
		return rc;
	}
	*out = &m->lm;
	return 0;
}
