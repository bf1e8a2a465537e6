/*
 * knn.h — memory as a language model: a datastore of a transformer's context
 * vectors and the tokens that followed them, and the kNN-LM over it
 * (Khandelwal et al., ICLR 2020, "Generalization through Memorization:
 * Nearest Neighbor Language Models").
 *
 * The store. For every position t of a training text, the key is the
 * transformer's context vector at t (the vector that predicts token t) and
 * the value is token t. The context vector is the input of the last block's
 * MLP after its LayerNorm (acts.ln2 of the last layer; gpt_kv.hid): the
 * paper's choice (its section 5, "Key function", found it the best of the
 * final layer's vectors), and the LayerNorm gives every key a comparable
 * scale, so distances between positions mean something.
 *
 * The kNN-LM. For a query context q, the k nearest keys (squared L2
 * distance, as the paper, or cosine distance 1 - cos) give
 *   p_kNN(y) = sum over neighbours i with value y of softmax(-d_i / tau)_i,
 *   p(y)     = lambda p_kNN(y) + (1 - lambda) p_LM(y)        (paper, eq. 2)
 * and it is an lm.h model like any other: a store file opened by lm_open
 * opens its transformer too (the store records the model's path and
 * checksum, and refuses any other model), so eval, compare, sample and
 * probe use it unchanged.
 *
 * Search is exact: distances ||q||^2 + ||k||^2 - 2 q.k from blocked matrix
 * products (nn_sgemm) of all queries of a window at once against blocks of
 * keys, then a bounded max-heap per query. Workload: stores of 10^4 to 10^7
 * keys of 32 to 768 floats, mapped from the file, never copied.
 */
#ifndef AD_KNN_H
#define AD_KNN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/io.h"

struct lm;

#define KNN_MAGIC   "ADKNN\x00\x00\x01"
#define KNN_VERSION 1
#define KNN_KMAX    4096

enum knn_metric { KNN_L2 = 1, KNN_COSINE = 2 };

/* How a kNN-LM turns neighbours into a distribution (stored in the file). */
struct knn_params {
	uint32_t        k;            /* neighbours, 1 .. KNN_KMAX */
	double          lambda;       /* weight of p_kNN, [0, 1] */
	double          temperature;  /* tau > 0: p_kNN ~ exp(-d / tau) */
	enum knn_metric metric;
};

const char *knn_metric_name(enum knn_metric m);          /* "l2", "cosine" */
int         knn_metric_parse(const char *s, enum knn_metric *m);   /* -1: unknown */
/* Check k, lambda and tau; the message says what to change. */
int         knn_params_check(const struct knn_params *p, struct ad_error *e);

/* ---- The store (store.c) ------------------------------------------------ */

/* A validated store file, mapped: keys, norms and values point into it. */
struct knn_store {
	struct ad_map     map;
	uint64_t          N;            /* entries */
	uint32_t          C, V;         /* key width, the model's vocabulary */
	struct knn_params params;
	uint64_t          model_hash;   /* the model file's own XXH64 (its last 8 bytes) */
	uint64_t          text_hash;    /* XXH64 of the text the store was built from */
	uint64_t          text_bytes;
	double            build_seconds;
	char             *model_path;   /* as recorded (owned, NUL-terminated) */
	const float      *keys;         /* (N, C) */
	const float      *sqnorms;      /* (N) ||key||^2 */
	const uint32_t   *values;       /* (N) the next token of each key */
};

/*
 * Validate a store in memory (magic, version, sizes, checksum) and point s
 * into it; the map passes to s on success (knn_store_free releases it).
 */
int  knn_store_parse(struct knn_store **out, const char *name, struct ad_map *map,
                     struct ad_error *e);
int  knn_store_open(struct knn_store **out, const char *path, struct ad_error *e);
void knn_store_free(struct knn_store *s);

/* The checksum a model file ends with (its last 8 bytes), the model's identity. */
int  knn_model_hash(const char *path, uint64_t *hash, struct ad_error *e);

/*
 * Context vectors of ids[0..n) under the transformer m (an lm opened from a
 * causal transformer file), in the windows lm_score uses (half-overlapping
 * windows of the context; each token keeps the window that gave it the most
 * context), handed to fn a window's kept rows at a time: rows (len, C)
 * for positions first .. first+len-1, with the transformer's ln p of each
 * position's token in logp_lm (len). nonzero from fn stops with that status.
 */
typedef int (*knn_rows_fn)(void *ctx, size_t first, size_t len, const float *rows,
                           const double *logp_lm, struct ad_error *e);
int  knn_contexts(const struct lm *m, const uint32_t *ids, size_t n, knn_rows_fn fn, void *ctx,
                  struct ad_error *e);

struct ad_progress;
/*
 * Build a store at out from the text (len bytes) under the transformer
 * model_path: every token's context vector and the token itself, written
 * atomically as the windows are computed (memory O(n), not O(n C)).
 * max_tokens > 0 stores only the text's first max_tokens tokens (the
 * store's size and every query's cost grow with them).
 */
int  knn_build(const char *model_path, const uint8_t *text, size_t len,
               const struct knn_params *p, size_t max_tokens, const char *out,
               struct ad_progress *prog, struct ad_error *e);
/* Copy the store at in to out with new parameters (a new checksum). */
int  knn_store_rewrite(const char *in, const char *out, const struct knn_params *p,
                       struct ad_error *e);

/* ---- Search (search.c) -------------------------------------------------- */

/*
 * The k nearest of N keys (N, C) to each of nq queries (nq, C), exact:
 * idx (nq, k) and dist (nq, k) sorted by distance, ties by index; when
 * k > N the rows end with index UINT32_MAX and distance INFINITY. Squared
 * L2 or cosine distance (1 - cos; a zero vector has cosine 0 with every
 * vector). sqnorms (N) are the keys' squared norms. dmax (nq, or NULL)
 * receives each query's largest distance (the relative contrast's D_max).
 */
int  knn_search(const float *keys, const float *sqnorms, size_t N, size_t C,
                enum knn_metric metric, const float *queries, size_t nq, size_t k,
                uint32_t *idx, float *dist, float *dmax, struct ad_error *e);
/* The oracle: the same in double precision with plain loops (AD_ENOMEM). */
int  knn_search_ref(const float *keys, size_t N, size_t C, enum knn_metric metric,
                    const float *queries, size_t nq, size_t k, uint32_t *idx, double *dist);

/* ---- The kNN-LM (lm_knn.c) ---------------------------------------------- */

/*
 * ln p_kNN(y) for each of the first k neighbours (dist, values of their
 * indices): ln of the summed softmax(-d / tau) weights of the neighbours
 * whose value is y, -INFINITY when none is.
 */
double knn_log_pknn(const float *dist, const uint32_t *idx, const uint32_t *values, size_t k,
                    double temperature, uint32_t y);
/* ln(lambda p_kNN + (1 - lambda) p_LM) from the two logs; lambda 0 gives lp_lm exactly. */
double knn_mix(double lambda, double lp_lm, double lp_knn);

/* The lm.h opener for store files (registered in models/models.c). */
struct lm;
int  knn_lm_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e);
/* The store and the transformer of a kNN-LM (NULL when m is not one). */
const struct knn_store *knn_lm_store(const struct lm *m);
const struct lm        *knn_lm_inner(const struct lm *m);
/* Change the parameters of an open kNN-LM (for tuning: not thread-safe). */
int  knn_lm_set_params(struct lm *m, const struct knn_params *p, struct ad_error *e);

/* ---- Tuning and the held-out report (tune.c) ---------------------------- */

#define KNN_TUNE_K   8      /* k in 1, 2, 4, ..., 128 */
#define KNN_TUNE_TAU 9      /* tau a multiple of the median nearest distance */
#define KNN_TUNE_LAM 21     /* lambda 0, 0.05, ..., 1 */

struct knn_token_gain {
	uint32_t id;
	uint64_t count;
	double   nats;     /* summed ln p(kNN-LM) - ln p(transformer) over its positions */
};

struct knn_tune {
	struct knn_params best;          /* tuned on the first half */
	uint64_t tune_tokens, test_tokens, test_bytes;
	double   tune_nats_lm, tune_nats_best;
	double   test_nats_lm;           /* the transformer alone, second half */
	double   test_nats_knn;          /* p_kNN alone (INFINITY when a token gets 0) */
	uint64_t test_knn_zero;          /* tokens p_kNN gave probability 0 */
	double   test_nats_mix;          /* the interpolation */
	double   search_seconds;         /* in the second half's pass */
	uint64_t queries;
	double   flops;                  /* of the search's products */
	struct knn_token_gain *gains;    /* per token id seen in the second half, */
	size_t   ngains;                 /* sorted by nats gained, most first */
};

/*
 * Tune k, tau and lambda of the kNN-LM m on the first half of text (by
 * bytes, cut at a newline) to minimise its nats, then score the second
 * half: transformer alone, p_kNN alone and the tuned interpolation, and
 * which tokens gain. m keeps the tuned parameters.
 */
int  knn_tune(struct lm *m, const uint8_t *text, size_t len, struct knn_tune *out,
              struct ad_error *e);
void knn_tune_free(struct knn_tune *t);

/* ---- The curse of dimensionality (contrast.c) --------------------------- */

struct knn_contrast_row {
	const char *set;     /* "gaussian", "model", "pca" */
	uint32_t    dim;
	double      contrast;       /* mean over queries of (D_max - D_min) / D_min */
	double      agree;          /* share of the k nearest sharing the query's next token */
};

struct knn_contrast {
	uint64_t points, queries;
	uint32_t k, C;
	double   chance;             /* share of pairs of points with the same value */
	double   pca90;              /* components holding 90% of the variance */
	double   participation;      /* (sum l)^2 / sum l^2 of the PCA spectrum */
	double   twonn;              /* TwoNN intrinsic dimension (Facco et al. 2017) */
	double  *spectrum;           /* (C) PCA eigenvalues, decreasing */
	struct knn_contrast_row *rows;
	size_t   nrows;
};

/*
 * The relative contrast (Beyer et al. 1999; Aggarwal et al. 2001) of
 * nearest-neighbour queries, and the agreement of the k nearest on the next
 * token, against dimension: for random Gaussian data of the same count, for
 * up to points of the store's keys (a seeded sample), and for those keys
 * projected onto their leading principal components. queries points are
 * queried (each against all others). The Gaussian data carries the sampled
 * keys' values, so its agreement is chance.
 */
int  knn_contrast_run(const struct knn_store *s, size_t points, size_t queries, uint32_t k,
                      uint64_t seed, struct knn_contrast *out, struct ad_error *e);
void knn_contrast_free(struct knn_contrast *c);
/* Contrast of one set of points (n, D): mean (D_max - D_min) / D_min and
 * the agreement of the k nearest (values may be NULL: agree is NAN). */
int  knn_contrast_of(const float *x, size_t n, size_t D, const uint32_t *values, size_t nq,
                     uint32_t k, double *contrast, double *agree, double *twonn,
                     struct ad_error *e);

#endif
