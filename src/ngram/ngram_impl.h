/*
 * ngram_impl.h — what the stage files of src/ngram/ share (not a public
 * surface: everything outside src/ngram/ uses ngram.h).
 *
 * Three structures:
 *  - struct ngram_vocab: words <-> ids, ids in order of first appearance
 *    after the markers <unk>=0, <s>=1, </s>=2 (lmplz's numbering). The same
 *    layout (offsets, text, open-addressing slots) is written to the binary
 *    file and used from the mapping, through struct ngram_words.
 *  - struct ngram_grams: all n-grams of one order as packed records of n
 *    ids and a 32-bit count, sorted by ids (lexicographic, first id most
 *    significant) unless a stage says otherwise.
 *  - struct ngram_table: the query structure of one order >= 2, an
 *    open-addressing table with linear probing keyed by a 64-bit hash of the
 *    n-gram read newest word first (w, h1, h2, ...), so that the key of a
 *    longer n-gram extends the key of the shorter one (ngram_key_ext). Only
 *    the key is stored, as in KenLM's probing model; two n-grams of one
 *    order with equal 64-bit keys are detected when the table is built.
 */
#ifndef AD_NGRAM_IMPL_H
#define AD_NGRAM_IMPL_H

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "base/hash.h"
#include "base/io.h"
#include "lm/lm.h"
#include "ngram/ngram.h"

#define NGRAM_UNK 0u
#define NGRAM_BOS 1u
#define NGRAM_EOS 2u
/* A padding id after the end of a sentence shorter than N (count.c). */
#define NGRAM_PAD UINT32_MAX
/* Table capacity per entry, as KenLM's default probing multiplier. */
#define NGRAM_TABLE_MULT 1.5

/* ---- vocabulary ------------------------------------------------------- */

/* A read-only view of a vocabulary (in a builder, or in a mapped file). */
struct ngram_words {
	uint32_t        size;    /* ids 0 .. size-1 */
	const uint64_t *off;     /* (size + 1) offsets of each word in text */
	const char     *text;    /* the words back to back */
	const uint32_t *slot;    /* (nslot) id + 1 of the word hashed there, 0 = empty */
	uint32_t        nslot;   /* a power of two, > size */
};

struct ngram_vocab {
	uint32_t  size, cap;
	uint64_t *off;           /* (cap + 1) */
	char     *text;
	size_t    text_len, text_cap;
	uint32_t *slot;          /* (nslot) */
	uint32_t  nslot;
};

uint64_t ngram_word_hash(const char *s, size_t len);
int      ngram_vocab_init(struct ngram_vocab *v, struct ad_error *e);
void     ngram_vocab_free(struct ngram_vocab *v);
/* The id of s, adding it when new; *id is set. */
int      ngram_vocab_add(struct ngram_vocab *v, const char *s, size_t len, uint32_t *id,
                         struct ad_error *e);
void     ngram_vocab_view(const struct ngram_vocab *v, struct ngram_words *w);
/* The id of s, or UINT32_MAX. */
uint32_t ngram_words_find(const struct ngram_words *w, const char *s, size_t len);

/*
 * Text to word ids for scoring: the words of text[0..len) (split at the
 * separators of KenLM's query: space, \t, \n, \v, \f, \r) as ids written
 * to ids[], which has room for (len + 1) / 2; returns how many. A word not
 * in w, and the markers' spellings, read as <unk>.
 *
 * ngram_words_encode_ref is the simple version (split, then
 * ngram_words_find). struct ngram_wordtab is the fast one, made when a
 * word model is opened: the file's word slots cost three dependent loads
 * and a memcmp call per word (the slot, the offsets, the text), a third of
 * the time of eval. Here a slot holds the word's first 8 bytes and its
 * length, so a word of up to 8 bytes (most words of running text) is found,
 * or found absent, with one compare per probe and no access to its text;
 * the hash is computed in the same 8-byte steps that look for the
 * separators (ngram_wordtab_encode). Open addressing, linear probing, load
 * at most 1/2, indexed by the top bits of a multiplicative hash.
 */
struct ngram_wslot {
	uint64_t head;           /* the word's first 8 bytes, zero-padded (little-endian) */
	uint32_t len;            /* its length in bytes; 0 = empty slot */
	uint32_t id;
};

struct ngram_wordtab {
	struct ngram_wslot *slot;   /* (mask + 1), or NULL: use the reference path */
	uint32_t            mask;
	uint32_t            shift;  /* 64 - log2(mask + 1) */
};

size_t ngram_words_encode_ref(const struct ngram_words *w, const uint8_t *text, size_t len,
                              uint32_t *ids);
/*
 * Build t from w (ids 3 and up; a word longer than UINT32_MAX bytes can
 * never be found through it) with the first power of two >= min_slots
 * slots, or, when min_slots is 0, >= twice the words (a test asks for a
 * nearly full table, to make long probe paths). Out of memory, or too few
 * slots for the words, leaves t->slot NULL, which ngram_wordtab_encode
 * answers through the reference path.
 */
void   ngram_wordtab_build(struct ngram_wordtab *t, const struct ngram_words *w,
                           uint64_t min_slots);
void   ngram_wordtab_free(struct ngram_wordtab *t);
size_t ngram_wordtab_encode(const struct ngram_wordtab *t, const struct ngram_words *w,
                            const uint8_t *text, size_t len, uint32_t *ids);

/* ---- n-gram records ----------------------------------------------------- */

struct ngram_grams {
	uint32_t  n;             /* the order */
	size_t    count;         /* records */
	uint32_t *rec;           /* (count, n + 1): n ids, then the count */
};

/*
 * Sort count records of width uint32s by their first nkey columns
 * (lexicographic; NGRAM_PAD sorts last), stably, with an LSD radix sort;
 * max_id bounds every key value other than NGRAM_PAD. tmp has room for
 * count records.
 */
void ngram_sort(uint32_t *rec, uint32_t *tmp, size_t count, uint32_t width, uint32_t nkey,
                uint32_t max_id);
/* Simple reference: the same order by insertion into a qsort. */
void ngram_sort_ref(uint32_t *rec, size_t count, uint32_t width, uint32_t nkey);
/*
 * Merge records with equal keys of a sorted array in place, adding their
 * counts (column nkey, saturating at UINT32_MAX); returns the new count.
 */
size_t ngram_dedupe(uint32_t *rec, size_t count, uint32_t width, uint32_t nkey);

/* ---- the estimate ------------------------------------------------------- */

struct ngram_est {
	struct ngram_config cfg;
	struct ngram_vocab  vocab;
	uint64_t            tokens;   /* words + </s>, as lmplz counts them */
	uint64_t            lines;
	uint64_t            text_hash;     /* XXH64 of the corpus files' bytes, in order */
	uint64_t            text_bytes;    /* and their total */
	uint64_t            tok_identity;  /* NGRAM_TOKENS: bpe_identity */
	uint32_t            tok_size;      /* NGRAM_TOKENS: bpe_vocab_size */
	char               *tok_blob;      /* NGRAM_TOKENS: bpe_serialize */
	size_t              tok_len;
	struct ngram_grams  g[NGRAM_MAX_ORDER + 1];       /* orders 1..N */
	double              disc[NGRAM_MAX_ORDER + 1][4]; /* D(0) = 0, D(1), D(2), D(3+) */
	int                 disc_fallback[NGRAM_MAX_ORDER + 1];
	/* initial.c: alpha(g) for each n-gram; gamma(g) for each n-gram of an
	 * order < N as the context of order n + 1 (1 when it is none); gamma0
	 * for the empty context. interpolate.c turns them into the final log10
	 * probability and log10 backoff of each n-gram. */
	float              *alpha[NGRAM_MAX_ORDER + 1];   /* (g[n].count) */
	float              *gamma[NGRAM_MAX_ORDER + 1];   /* (g[n].count), n < N */
	double              gamma0;
	float              *uni;                          /* (V, 2): log10 p, log10 backoff */
	struct ngram_table_b {
		uint8_t  *slots;   /* (cap, stride) */
		uint64_t  cap;
		uint32_t  stride;
		uint64_t *filter;  /* (fbits / 64) */
		uint64_t  fbits;
	} tab[NGRAM_MAX_ORDER + 1];
};

/* The stages, in pipeline order. */
int ngram_count(struct ngram_est *m, const char *const *files, size_t nfiles,
                struct ad_progress *prog, struct ad_error *e);
int ngram_adjust(struct ngram_est *m, struct ad_error *e);
int ngram_discount(struct ngram_est *m, struct ad_error *e);
int ngram_initial(struct ngram_est *m, struct ad_error *e);
int ngram_interpolate(struct ngram_est *m, struct ad_error *e);

/* ---- the query structure ------------------------------------------------- */

/* Key of the 1-gram w, and of (seq, x) from the key of seq. Never 0. */
static inline uint64_t
ngram_key1(uint32_t w)
{
	uint64_t k = ad_mix64((uint64_t)w + 0x51ed27a3c1f3d2b5ULL);
	return k != 0 ? k : 1;
}

static inline uint64_t
ngram_key_ext(uint64_t k, uint32_t x)
{
	k = ad_mix64(k + ((uint64_t)x + 1) * 0x9e3779b97f4a7c15ULL);
	return k != 0 ? k : 1;
}

struct ngram_table {
	const uint8_t  *slots;   /* (cap, stride): u64 key (0 = empty), f32 log10 p[, f32 log10 bo] */
	uint64_t        cap;
	uint32_t        stride;  /* 16 below the highest order, 12 at it */
	/*
	 * A one-hash Bloom filter over the keys, ((fmask + 1) / 64) words: bit
	 * (key & fmask) is set for every key in the table. At 8 bits per
	 * n-gram it is an eighth of the table's size, so it stays in cache and
	 * answers most misses (about 88% of absent keys) without touching the
	 * table. The scorer's last lookup for a token is usually a miss.
	 */
	const uint64_t *filter;
	uint64_t        fmask;
};

static inline int
ngram_filter_maybe(const struct ngram_table *t, uint64_t key)
{
	uint64_t b = key & t->fmask;

	return (int)((t->filter[b >> 6] >> (b & 63)) & 1);
}

/* Filter bits for a table of count entries: a power of two >= 8 count, >= 64. */
static inline uint64_t
ngram_filter_bits(uint64_t count)
{
	uint64_t b = 64;

	while (b < 8 * count)
		b *= 2;
	return b;
}

/* Set the bit of every key in slots (filter has bits / 64 zeroed words). */
void ngram_filter_build(uint64_t *filter, uint64_t bits, const uint8_t *slots, uint64_t cap,
                        uint32_t stride);

static inline uint64_t
ngram_slot0(uint64_t key, uint64_t cap)
{
	return (uint64_t)(((unsigned __int128)key * cap) >> 64);
}

/* The entry of key, or NULL. */
static inline const uint8_t *
ngram_table_find(const struct ngram_table *t, uint64_t key)
{
	uint64_t i = ngram_slot0(key, t->cap);

	for (;;) {
		const uint8_t *s = t->slots + i * t->stride;
		uint64_t       k;

		memcpy(&k, s, 8);
		if (k == key)
			return s;
		if (k == 0)
			return NULL;
		if (++i == t->cap)
			i = 0;
	}
}

static inline float
ngram_entry_f(const uint8_t *s, int field)
{
	float f;

	memcpy(&f, s + 8 + 4 * field, 4);
	return f;
}

/*
 * The log10 backoff of an n-gram that begins no longer n-gram (it is no
 * context): 0, written as -0.0 so that the scorer knows it can leave it out
 * of its state (KenLM's state minimisation); +0.0 is a context whose
 * backoff happens to be 1. Any nonzero backoff belongs to a context.
 */
#define NGRAM_NOEXT (-0.0f)

static inline int
ngram_extends(float log10bo)
{
	return !(log10bo == 0.0f && signbit(log10bo));
}

/* Capacity for count entries (> count, so a probe always ends). */
static inline uint64_t
ngram_table_cap(uint64_t count)
{
	return (uint64_t)((double)count * NGRAM_TABLE_MULT) + 1;
}

/*
 * Insert key with prob (and backoff when stride is 16) into a table being
 * built. Returns -1 when the key is already there (a 64-bit collision).
 */
int ngram_table_insert(uint8_t *slots, uint64_t cap, uint32_t stride, uint64_t key,
                       float prob, float bo);

#define NGRAM_ENCODERS 16

/*
 * The model being queried: one struct for our binary files (mapped) and for
 * ARPA files (built on the heap).
 */
struct ngram_model {
	struct lm           lm;           /* the interface; first, so a struct lm * is one */
	uint32_t            N;            /* order */
	uint32_t            Vi;           /* internal ids */
	enum ngram_unit     unit;
	const float        *uni;          /* (Vi, 2): log10 p, log10 backoff */
	struct ngram_table  tab[NGRAM_MAX_ORDER + 1];   /* orders 2..N */
	struct ngram_words  words;
	struct ngram_wordtab wordtab;     /* NGRAM_WORDS: the fast index of words */
	uint32_t            byte_id[256]; /* NGRAM_BYTES: byte -> id (unk when unseen) */
	const uint32_t     *lm2int;       /* NGRAM_TOKENS: (lm.V) model id -> internal id */
	uint32_t           *int2lm;       /* NGRAM_TOKENS: (Vi) internal id -> model id */
	struct bpe         *bpe;          /* NGRAM_TOKENS: the embedded tokenizer */
	/* NGRAM_TOKENS: encoders reused across lm_encode calls (an encoder
	 * is costly to make); a thread takes a free one by its flag. */
	struct bpe_encoder *encpool[NGRAM_ENCODERS];
	atomic_flag         enclock[NGRAM_ENCODERS];
	struct ad_map       map;          /* the mapped file (binary models) */
	int                 has_map;
	void               *heap[2 * NGRAM_MAX_ORDER + 8];  /* owned blocks of an ARPA model */
	uint64_t            counts[NGRAM_MAX_ORDER + 1];
};

/* Fill m->lm (vtab, V, markers, description) once the fields above are set. */
int  ngram_model_finish(struct ngram_model *m, const char *kind, const char *path,
                        struct ad_error *e);
void ngram_model_free_(struct ngram_model *m);

/*
 * Token models (tokens.c): the tokenizer side of counting and scoring.
 * ngram_tokens_open parses the embedded tokenizer into m->bpe and checks
 * it against the identity and vocabulary size recorded at training.
 */
int  ngram_tokens_begin(struct ngram_est *m, void **enc, uint32_t **tokmap, struct ad_error *e);
void ngram_tokens_end(void *enc, uint32_t *tokmap);
/* Encode one line (len bytes, no newline) onto the id stream *ids. */
int  ngram_count_line_tokens(struct ngram_est *m, void *enc, uint32_t **ids, size_t *n,
                             size_t *cap, const uint8_t *p, size_t len, uint32_t *tokmap,
                             const char *path, uint64_t lineno, struct ad_error *e);
/* Where a part of a long line may end (bpe_cut_point): 0 when nowhere. */
size_t ngram_tokens_cut(const struct ngram_est *m, const uint8_t *p, size_t len);
int  ngram_tokens_open(struct ngram_model *m, const void *blob, size_t len, uint64_t identity,
                       const char *path, struct ad_error *e);
int  ngram_tokens_encode(const struct ngram_model *m, const uint8_t *text, size_t len,
                         uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e);
const uint8_t *ngram_tokens_bytes(const struct ngram_model *m, uint32_t id, size_t *len);
void ngram_tokens_close(struct ngram_model *m);

/* Shortest decimal that reads back as f (like lmplz's output); returns length. */
size_t ngram_format_float(char *buf, float f);

#endif
