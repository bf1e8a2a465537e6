/*
 * ngram.h — interpolated modified Kneser-Ney n-gram models, identical to
 * KenLM's lmplz (estimation) and query (scoring).
 *
 * What it is. An n-gram model of order N (1..8) over words, bytes or the ids
 * of a BPE tokenizer, estimated with interpolated modified Kneser-Ney
 * smoothing (Chen & Goodman 1998, "An Empirical Study of Smoothing
 * Techniques for Language Modeling", TR-10-98, section 3.5 and eq. 26),
 * following every convention of KenLM's lmplz: one line is one sentence
 * <s> w1 ... wk </s>; continuation counts for lower orders except for
 * n-grams that start with <s>; three discounts per order from the counts of
 * counts; p(<unk>) = gamma(empty) / |V|; backoff weights as in an ARPA file.
 * The conventions are written out in man/autodidact-train-ngram.1.
 *
 * Pipeline (one file per stage, in this order; each file's opening comment
 * states its input, its output and their sort order):
 *   vocab.c       words -> ids (first appearance), the marker ids 0, 1, 2
 *   count.c       text -> sorted unique N-gram windows with raw counts
 *   adjust.c      raw counts -> every order's n-grams with adjusted counts
 *   discount.c    counts of counts -> D1, D2, D3+ per order (eq. 26)
 *   initial.c     adjusted counts -> alpha(h w) and gamma(h)
 *   interpolate.c alpha, gamma -> interpolated probabilities in the
 *                 probing tables (the query structure)
 *   arpa_write.c  the model as ARPA text
 *   binary.c      the model as our binary file, and opening it by mmap
 *   arpa_read.c   an ARPA file from any tool -> the same query structure
 *   model.c       scoring: the struct lm_vtab for kinds "ngram" and "arpa"
 *
 * Invariants. Ids 0, 1, 2 are <unk>, <s>, </s> in every model (ours and
 * ARPA files read here). Every n-gram's prefix and suffix are n-grams too
 * (lmplz guarantees it; the ARPA reader checks it). Probabilities and
 * backoffs are stored as float log10, as in ARPA; the lm interface gives
 * natural logarithms in double.
 *
 * Workload. Estimation keeps every distinct n-gram in memory as packed
 * arrays of ids (4 bytes per id plus a 4-byte count), sorted by radix sort;
 * the corpus itself is streamed (count.c), so memory grows with the
 * distinct n-grams, not with the text. Counting runs on OpenMP threads over
 * blocks of sentences. A 100 M token corpus at order 5 fits comfortably in
 * 24 GiB. Scoring uses one open-addressing hash
 * table per order keyed by a 64-bit hash of the n-gram, computed
 * incrementally from the newest word backwards (like KenLM's probing
 * model): one or two cache lines per order per token.
 */
#ifndef AD_NGRAM_H
#define AD_NGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define NGRAM_MAX_ORDER 8
/* The 8-byte magic that opens a binary n-gram model file. */
#define NGRAM_MAGIC     "AD-NGRAM"
#define NGRAM_VERSION   1

struct ad_map;
struct ad_progress;
struct bpe;
struct lm;

enum ngram_unit {
	NGRAM_WORDS  = 1,  /* whitespace-separated words */
	NGRAM_BYTES  = 2,  /* every byte of a line is a token */
	NGRAM_TOKENS = 3,  /* the ids of a BPE tokenizer */
};

struct ngram_config {
	uint32_t          order;             /* N, 1 .. NGRAM_MAX_ORDER */
	enum ngram_unit   unit;
	int               skip_symbols;      /* words: literal <s> </s> <unk> are whitespace */
	int               discount_fallback; /* use fallback[] where eq. 26 fails */
	double            fallback[3];       /* D1, D2, D3+ used then (lmplz: 0.5 1 1.5) */
	const struct bpe *tok;               /* NGRAM_TOKENS: the tokenizer (borrowed) */
	size_t            block_tokens;      /* tokens per counting block; 0 = default (2^18) */
	size_t            chunk_bytes;       /* bytes read at a time; 0 = default (4 MiB) */
	const char       *tmpdir;            /* sharded counting's temporary files (borrowed;
	                                      * the command line passes TMPDIR); NULL, "": /tmp */
};

/* lmplz's defaults: order 5, --discount_fallback values 0.5 1 1.5. */
void ngram_config_default(struct ngram_config *cfg);

/*
 * An estimated model: every order's n-grams with their adjusted counts,
 * the discounts, and the query tables with the final probabilities.
 */
struct ngram_est;

/*
 * Estimate a model from the text of files[0..nfiles) ("-" is stdin), read
 * as one stream as by cat(1). Fails with AD_EDATA and an lmplz-style
 * message (why, and what to do) when the data cannot support a discount
 * and cfg->discount_fallback is 0. Progress (bytes read) goes to prog.
 */
int  ngram_estimate(struct ngram_est **out, const struct ngram_config *cfg,
                    const char *const *files, size_t nfiles, struct ad_progress *prog,
                    struct ad_error *e);
void ngram_est_free(struct ngram_est *m);

/* What the estimate holds (for reports and tests). */
uint32_t    ngram_est_order(const struct ngram_est *m);
uint64_t    ngram_est_count(const struct ngram_est *m, uint32_t n);  /* n-grams of order n */
/* D1, D2, D3+ of order n; returns 1 when they are the fallback values. */
int         ngram_est_discounts(const struct ngram_est *m, uint32_t n, double d[3]);
uint32_t    ngram_est_vocab(const struct ngram_est *m);      /* ids incl. the 3 markers */
const char *ngram_est_word(const struct ngram_est *m, uint32_t id, size_t *len);
uint64_t    ngram_est_tokens(const struct ngram_est *m);     /* words + </s>, like lmplz */
uint64_t    ngram_est_lines(const struct ngram_est *m);
/* XXH64 of the corpus files' bytes (in order; struct lm's text_hash), and *bytes. */
uint64_t    ngram_est_text(const struct ngram_est *m, uint64_t *bytes);
/* The i-th n-gram of order n (sorted by ids): its n ids and adjusted count. */
void        ngram_est_ngram(const struct ngram_est *m, uint32_t n, size_t i,
                            const uint32_t **ids, uint32_t *adjusted);
/* Its log10 probability and log10 backoff (0 at the highest order). */
void        ngram_est_prob(const struct ngram_est *m, uint32_t n, size_t i,
                           float *log10p, float *log10bo);

/* Write the model as ARPA text, or as our binary model file (atomically). */
int ngram_est_write_arpa(const struct ngram_est *m, const char *path, struct ad_error *e);
int ngram_est_write_binary(const struct ngram_est *m, const char *path, struct ad_error *e);

/*
 * The model families of lm.h: our binary file (kind "ngram") and an ARPA
 * file from any tool (kind "arpa"). Both take ownership of map on success.
 */
int ngram_lm_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e);
int ngram_arpa_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e);
/* 1 when data starts with "\data\" after blank space (an ARPA file). */
int ngram_arpa_probe(const uint8_t *data, size_t size);

/* The order of an n-gram lm opened by the two functions above (0 otherwise). */
uint32_t ngram_lm_order(const struct lm *m);

/*
 * Reference scorer: log10 p(w | hist) by the textbook back-off rule, from
 * the whole history (hist[0] the oldest of nhist ids, model ids), looking
 * every n-gram up from scratch. The oracle for the incremental scorer.
 */
double ngram_lm_log10p_ref(const struct lm *m, const uint32_t *hist, size_t nhist, uint32_t w);

#endif
