/*
 * lm.h — the one interface every language model presents.
 *
 * Everything downstream of training (eval, compare, sample, probe) talks to
 * a model only through this header: an n-gram model, an ARPA file written by
 * another tool and a transformer are the same thing here. A model family
 * fills a struct lm_vtab and registers an opener in models/models.c.
 *
 * Tokens. A model predicts ids in its own id space [0, V): for a model
 * trained on a tokenizer, the tokenizer's ids (the model embeds the
 * tokenizer, see lm_tokenizer); for an n-gram model over words or bytes, its
 * own vocabulary. lm_encode turns text into those ids and lm_token_text
 * turns an id back into bytes, so callers never need to know which.
 *
 * Sentences. A "line model" (n-gram, ARPA) treats each line as a sentence:
 * the state starts after <s>, the line's tokens are scored, then </s> (the
 * id lm->eos) stands for the newline; <s> itself is never scored (KenLM
 * conventions). A "stream model" (transformer) sees the text as one stream
 * in which the newline is an ordinary token; the state starts empty.
 * lm_eval_text (eval.c) handles both, so every figure is comparable:
 * bits per byte = total nats / ln 2 / bytes of the original text.
 *
 * State. A struct lm_state is an incremental context: the n-gram history or
 * the transformer's KV cache. lm_push appends one token in O(1) for an
 * n-gram and O(T) for a transformer, and can return the log-probability the
 * state gave that token, so scoring never needs the full distribution;
 * lm_next gives the whole next-token distribution (for sampling). A state
 * that reaches lm->context tokens keeps working: an n-gram forgets the
 * oldest, a transformer slides its window.
 *
 * All log-probabilities are natural logarithms, in double for sums.
 * Threads: a model is read-only after opening and may be shared; each
 * thread uses its own states.
 */
#ifndef AD_LM_H
#define AD_LM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define LM_NONE UINT32_MAX

struct bpe;
struct lm;
struct lm_state;

/*
 * A visitor of next-token distributions (lm_score_dist): scores[0..V) is
 * ln p of every next token up to one additive constant (a transformer's
 * logits, or lm_next's log-probabilities), y the token that came. Called
 * in position order; nonzero stops the scoring with that status.
 */
typedef int (*lm_dist_fn)(void *ctx, const float *scores, uint32_t V, uint32_t y,
                          struct ad_error *e);

struct lm_vtab {
	void (*free)(struct lm *m);
	int  (*state_new)(const struct lm *m, struct lm_state **st, struct ad_error *e);
	void (*state_free)(struct lm_state *st);
	/* Back to the start of a sentence (line model) or of a document. */
	void (*state_reset)(const struct lm *m, struct lm_state *st);
	/* Natural-log probabilities of every next token, logp[V]. */
	int  (*next)(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e);
	/* Append id; when logp is not NULL, store ln p(id | state before). */
	int  (*push)(const struct lm *m, struct lm_state *st, uint32_t id, double *logp,
	             struct ad_error *e);
	/*
	 * Optional (NULL: push is used): ln p of each of ids[0..n) scored from
	 * the reset state in one batched pass; n <= lm->context for stream
	 * models. For a line model the ids may span many sentences: each eos
	 * ends one, and the next id starts a new one from <s>.
	 */
	int  (*score)(const struct lm *m, const uint32_t *ids, size_t n, double *logp,
	              struct ad_error *e);
	/*
	 * Text to ids, appended to *ids (capacity *cap, grown with ad_realloc).
	 * For a line model text is one line without its newline; unknown words
	 * become lm->unk. Must be safe to call from several OpenMP threads at
	 * once (eval does): a model that needs encoding scratch (a BPE encoder)
	 * keeps one per thread, indexed by omp_get_thread_num(), made at open.
	 * A line of L bytes never encodes to more than L + 1 ids.
	 */
	int  (*encode)(const struct lm *m, const uint8_t *text, size_t len, uint32_t **ids,
	               size_t *n, size_t *cap, struct ad_error *e);
	/*
	 * The bytes id stands for when text is rebuilt: a BPE token's bytes, a
	 * byte, or a word (the caller joins words with spaces, see word_sep).
	 * Markers (<s>, </s>, <unk>) have no bytes (len 0) except eos, "\n".
	 */
	void (*token_text)(const struct lm *m, uint32_t id, const uint8_t **bytes, size_t *len);
	/*
	 * Optional (NULL when the model has no embeddings, e.g. n-grams): copy
	 * the input embedding vector of id, embed_dim floats, to out. Used by
	 * the word-set association probes (WEAT).
	 */
	int  (*embed)(const struct lm *m, uint32_t id, float *out, struct ad_error *e);
	/*
	 * Optional (NULL: push, one id at a time): append ids[0..n) without
	 * their log-probabilities (a prompt), as n pushes would, up to the
	 * order of sums (a transformer feeds them in one forward pass).
	 */
	int  (*push_many)(const struct lm *m, struct lm_state *st, const uint32_t *ids, size_t n,
	                  struct ad_error *e);
	/*
	 * Optional, stream models (NULL: next and push, one token at a time):
	 * score, and also hand the distribution before each of ids[from..n) to
	 * fn, in order (a transformer's batched pass has every position's
	 * logits at hand). For calibration (calib.c).
	 */
	int  (*score_dist)(const struct lm *m, const uint32_t *ids, size_t n, size_t from,
	                   double *logp, lm_dist_fn fn, void *ctx, struct ad_error *e);
	/*
	 * Optional, masked (bidirectional) models only; NULL for every
	 * left-to-right model. One forward pass over one window ids[0..n),
	 * 1 <= n <= lm->context, in which the CALLER has already put lm->mask
	 * at the positions it hides (any id < V stays as given, which is how
	 * BERT's "random token" and "kept" cases are asked). The model opens
	 * the window with its BOS marker itself, as every training window
	 * opens (so ids[0] is the window's first text token, at model position
	 * 1, and the window holds at most lm->context = T - 1 tokens). Writes,
	 * for each of pos[0..npos) (positions in the window, < n, any order,
	 * repeats allowed), ln p of every token there given the whole window:
	 * logp is npos rows of V floats, row j for pos[j], each normalised over
	 * the V ids (BOS and MASK are inputs only and have no row entry).
	 */
	int  (*fill_dist)(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
	                  size_t npos, float *logp, struct ad_error *e);
	/*
	 * Optional (NULL: B calls of fill_dist): fill_dist over B windows of
	 * the same length n at once, batched in as few forward passes as memory
	 * allows (pseudo-log-likelihood scores one masked copy of a window per
	 * token). ids is B x n (window b at ids + b n), pos is B x npos (the
	 * positions of window b at pos + b npos), logp is B x npos x V (row
	 * b npos + j for pos[b npos + j] of window b). The result is that of B
	 * separate fill_dist calls, up to the order of sums.
	 */
	int  (*fill_batch)(const struct lm *m, const uint32_t *ids, size_t B, size_t n,
	                   const uint32_t *pos, size_t npos, float *logp, struct ad_error *e);
};

struct lm {
	const struct lm_vtab *vt;
	const char  *kind;        /* "ngram", "arpa", "transformer" */
	const char  *objective;   /* "causal" (every left-to-right model, n-grams
	                           * included) or "masked" (vt->fill_dist set) */
	uint32_t     mask;        /* the masked model's MASK input id (V + 1: not
	                           * in [0, V)), LM_NONE for any other model */
	char        *path;        /* the file it was opened from (owned) */
	uint32_t     V;           /* size of the next-token distribution */
	uint32_t     context;     /* tokens of context that matter: N-1, or T (a
	                           * masked model's window: T - 1 after its BOS) */
	uint32_t     bos, eos, unk;  /* marker ids, LM_NONE where absent */
	int          line_model;  /* 1: lines are sentences with <s> ... </s> */
	int          word_sep;    /* 1: tokens are words, joined by one space */
	uint64_t     params;      /* parameters, or stored n-grams */
	uint32_t     embed_dim;   /* length of an embedding vector, 0 without vt->embed */
	const struct bpe *tok;    /* the tokenizer the model was trained with, or NULL */
	/*
	 * The training text as recorded in the model file: XXH64 (seed 0) of
	 * the bytes of the files it was trained on, concatenated in the order
	 * given (held-out part included), and their total. text_bytes is 0 when
	 * the file does not record it (ARPA files, older model files).
	 */
	uint64_t     text_hash, text_bytes;
	char         description[256];  /* e.g. "5-gram, modified Kneser-Ney, 1.2M n-grams" */
};

/*
 * Open any model file: the kind is read from the file (an 8-byte magic, or
 * the "\data\" header of an ARPA file), never from its name.
 */
int  lm_open(struct lm **out, const char *path, struct ad_error *e);
/* The same from a copy of len bytes in memory; name is used in messages. */
int  lm_open_buffer(struct lm **out, const char *name, const void *data, size_t len,
                    struct ad_error *e);
void lm_free(struct lm *m);

static inline int lm_state_new(const struct lm *m, struct lm_state **st, struct ad_error *e)
{ return m->vt->state_new(m, st, e); }
static inline void lm_state_free(const struct lm *m, struct lm_state *st)
{ if (st != NULL) m->vt->state_free(st); }
static inline void lm_state_reset(const struct lm *m, struct lm_state *st)
{ m->vt->state_reset(m, st); }
static inline int lm_next(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e)
{ return m->vt->next(m, st, logp, e); }
static inline int lm_push(const struct lm *m, struct lm_state *st, uint32_t id, double *logp,
                          struct ad_error *e)
{ return m->vt->push(m, st, id, logp, e); }
static inline int lm_push_many(const struct lm *m, struct lm_state *st, const uint32_t *ids,
                               size_t n, struct ad_error *e)
{
	int rc = 0;

	if (m->vt->push_many != NULL)
		return m->vt->push_many(m, st, ids, n, e);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = m->vt->push(m, st, ids[i], NULL, e);
	return rc;
}
static inline int lm_encode(const struct lm *m, const uint8_t *text, size_t len, uint32_t **ids,
                            size_t *n, size_t *cap, struct ad_error *e)
{ return m->vt->encode(m, text, len, ids, n, cap, e); }
static inline void lm_token_text(const struct lm *m, uint32_t id, const uint8_t **b, size_t *len)
{ m->vt->token_text(m, id, b, len); }

/* Whether m is a masked (bidirectional) model: it answers fill_dist and
 * has no next-token distribution (lm_state_new fails with AD_EINVAL). */
static inline int lm_is_masked(const struct lm *m)
{ return m->vt->fill_dist != NULL; }
/*
 * vt->fill_dist and vt->fill_batch, with the checks every caller needs: a
 * model without them (a causal one) is AD_EINVAL, and so is a window longer
 * than lm->context, an id that is neither < V nor lm->mask, or a position
 * outside the window (the message names it). See struct lm_vtab.
 */
int lm_fill_dist(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
                 size_t npos, float *logp, struct ad_error *e);
int lm_fill_batch(const struct lm *m, const uint32_t *ids, size_t B, size_t n,
                  const uint32_t *pos, size_t npos, float *logp, struct ad_error *e);

/*
 * ln p of each of ids[0..n) from the reset state: the model's batched score
 * when it has one (in windows of lm->context for stream models), otherwise
 * a state and push. The common path of eval and probes.
 */
int lm_score(const struct lm *m, const uint32_t *ids, size_t n, double *logp, struct ad_error *e);
/*
 * lm_score that also hands the distribution before every token to fn, in
 * order: through the model's score_dist when it has one, otherwise through
 * a state, lm_next and lm_push. For a line model the ids may span many
 * sentences, each ending with eos (the state starts a new one after it).
 */
int lm_score_dist(const struct lm *m, const uint32_t *ids, size_t n, double *logp,
                  lm_dist_fn fn, void *ctx, struct ad_error *e);

/* ---- Pseudo-log-likelihood of a masked model (pll.c) --------------------- */

/*
 * PLL(s) = sum_t ln p(w_t | s with w_t masked) (Salazar et al. 2020), and
 * PLL-word-l2r (Kauf and Ivanova 2023): the copy that scores a piece of a
 * word also masks the word's later pieces. word-l2r is the default: the
 * plain PLL scores a word of several pieces almost surely from its own
 * other pieces. A PLL is not the log-probability of a text (its terms do
 * not come from one factorisation), so it is never comparable with a
 * causal model's log-likelihood.
 */
enum lm_pll { LM_PLL_WORD_L2R = 0, LM_PLL_TOKEN = 1 };
#define LM_PLL_DEFAULT LM_PLL_WORD_L2R

const char *lm_pll_name(enum lm_pll kind);             /* "token", "word-l2r" */
int         lm_pll_parse(const char *s, enum lm_pll *kind);   /* -1: unknown */
/*
 * Whether id begins a word after prev (prev LM_NONE: the text's start):
 * unless the last byte of prev and the first of id are both word bytes
 * (ASCII letters and digits, bytes of multi-byte UTF-8), the rule of
 * whole-word masking in training (nn_word_classes). Every token of a word
 * model, and every marker, begins one.
 */
int         lm_word_start(const struct lm *m, uint32_t prev, uint32_t id);
/*
 * logp[i] = the PLL term of ids[i] (ids < V, no masks), any n: in windows
 * of lm->context (see pll.c), each window's masked copies batched through
 * lm_fill_batch. AD_EINVAL for a model that is not masked.
 */
int lm_pll(const struct lm *m, const uint32_t *ids, size_t n, enum lm_pll kind, double *logp,
           struct ad_error *e);
/* lm_pll that moves progress along to total as it goes (eval's bytes). */
struct ad_progress;
int lm_pll_progress(const struct lm *m, const uint32_t *ids, size_t n, enum lm_pll kind,
                    double *logp, struct ad_progress *progress, uint64_t total,
                    struct ad_error *e);

/* ---- Filling blanks (fill.c) --------------------------------------------- */

/*
 * The most likely fillers of a gap in a sentence, for every model kind (see
 * fill.c for how each kind finds and scores them). A blank sits between
 * left[0..nl) and right[0..nr) (ids < V; for a masked model right may hold
 * lm->mask where other blanks are; for a line model right ends with eos
 * when the sentence ends there). Transformers must see it all: nl + the
 * longest filler + nr <= lm->context, or AD_EINVAL.
 */
#define LM_FILL_MAX_TOKENS 8   /* the longest filler */

struct lm_fill_cfg {
	uint32_t k;            /* fillers wanted (the decoders keep max(k, 8) branches) */
	uint32_t min_tokens;   /* filler lengths tried, */
	uint32_t max_tokens;   /* 1 <= min <= max <= LM_FILL_MAX_TOKENS, pooled */
	double   temperature;  /* of the multi-token decoders' choices; 0: most likely */
	uint64_t seed;         /* of their draws */
	uint32_t shortlist;    /* a causal transformer's one-token candidates (0: 64) */
};

struct lm_filler {
	uint32_t ids[LM_FILL_MAX_TOKENS];
	uint32_t n;
	double   score;   /* lm_fill_word's score */
	double   logp;    /* ln p, normalised over the candidates found for the blank */
};

/*
 * The score of the filler cand[0..nc) in the blank, which ranks fillers:
 * a masked model's word-l2r chain, sum_i ln p(c_i | left, c_<i, MASK at
 * c_i..c_nc-1, right) (one piece: its ln p given both sides); a left-to-
 * right model's ln p(cand, right | left) up to a term that is the same for
 * every filler (an n-gram's right part beyond N-1 tokens is left out).
 */
int lm_fill_word(const struct lm *m, const uint32_t *left, size_t nl, const uint32_t *right,
                 size_t nr, const uint32_t *cand, size_t nc, double *score,
                 struct ad_error *e);
/*
 * Every candidate filler found for one blank, best first, in *out (owned by
 * the caller: ad_free), *nout of them. *exact (when not NULL) says whether
 * the probabilities are the model's own over every id (one token, masked or
 * n-gram model) rather than normalised over the candidates found.
 */
int lm_fill_blank(const struct lm *m, const struct lm_fill_cfg *cfg, const uint32_t *left,
                  size_t nl, const uint32_t *right, size_t nr, struct lm_filler **out,
                  size_t *nout, int *exact, struct ad_error *e);
/*
 * A known word in the blank (held-out fill-in accuracy): its ln p as
 * lm_fill_blank normalises it, over the candidates of its own length plus
 * the word itself, and its rank among those candidates (0: the best;
 * SIZE_MAX when the decoders did not find it). cfg's lengths are ignored.
 */
int lm_fill_rank(const struct lm *m, const struct lm_fill_cfg *cfg, const uint32_t *left,
                 size_t nl, const uint32_t *right, size_t nr, const uint32_t *word, size_t nw,
                 double *logp, size_t *rank, struct ad_error *e);

/* One blank of a text: where it was, and its fillers. */
struct lm_fill_blank {
	size_t            at;           /* byte offset of its "[MASK]" in the text */
	int               moved_space;  /* the space before it went into the fillers */
	int               exact;        /* as lm_fill_blank's */
	struct lm_filler *fillers;      /* (n) best first */
	size_t            n;
};

/*
 * Fill every "[MASK]" of text (one line for a line model), left to right:
 * each earlier blank holds its best filler; a masked model sees the later
 * blanks as one MASK each, a left-to-right model's right context ends at
 * the next blank. With a BPE vocabulary the space before a blank goes into
 * its fillers (" nurse" is one token). AD_EINVAL, with a message, for a text
 * without a blank or one a transformer cannot see whole.
 */
int  lm_fill_text(const struct lm *m, const struct lm_fill_cfg *cfg, const char *text,
                  struct lm_fill_blank **out, size_t *nout, struct ad_error *e);
void lm_fill_blanks_free(struct lm_fill_blank *b, size_t n);

/* ---- Calibration (calib.c) ----------------------------------------------- */

/*
 * How far a model's stated confidence can be trusted, over next-token
 * predictions (Guo et al. 2017): the prediction is the top-1 token (ties to
 * the lowest id), its confidence its probability. ECE uses 15 equal-width
 * bins ((m-1)/15, m/15] as Guo et al.; the equal-mass variant 15 bins of
 * equal counts. The temperature T* (p_T = softmax(ln p / T)) minimises the
 * NLL of the first half of the positions, [0, floor(n/2)), and is judged on
 * the second half, [floor(n/2), n). See calib.c for the formulas.
 */
#define LM_CALIB_BINS 15
#define LM_CALIB_GRID 61   /* beta = 1/T = 0.25, 0.3125, ..., 4 */

struct lm_calib {
	uint64_t n;                         /* positions */
	double   accuracy;                  /* top-1 next-token accuracy */
	double   ece;                       /* 15 equal-width bins */
	double   ece_mass;                  /* 15 equal-mass bins */
	double   brier;                     /* mean sum_k (p_k - [k = y])^2, in [0, 2] */
	double   nll;                       /* nats per token (as lm_eval's, in float) */
	uint64_t bin_n[LM_CALIB_BINS];      /* the reliability diagram: per bin, */
	double   bin_conf[LM_CALIB_BINS];   /* the mean confidence (NAN when empty) */
	double   bin_acc[LM_CALIB_BINS];    /* and the accuracy */
	double   temperature;               /* T*, NAN when n < 2 or any T fits */
	double   test_nll, test_nll_scaled; /* second half, at T = 1 and at T* */
	double   test_ece, test_ece_scaled;
};

struct lm_calib_acc;
int    lm_calib_acc_new(struct lm_calib_acc **out, struct ad_error *e);
void   lm_calib_acc_free(struct lm_calib_acc *a);
size_t lm_calib_acc_count(const struct lm_calib_acc *a);
/* Record one position: scores as for lm_dist_fn (so it is one). */
int    lm_calib_add(void *acc, const float *scores, uint32_t V, uint32_t y, struct ad_error *e);
/* Append src's positions after dst's. */
int    lm_calib_append(struct lm_calib_acc *dst, const struct lm_calib_acc *src,
                       struct ad_error *e);
int    lm_calib_finish(const struct lm_calib_acc *a, struct lm_calib *out, struct ad_error *e);
/*
 * The calibration of the uniform distribution over V ids on the tokens
 * ids[0..n), without scoring them: every confidence is 1/V, the top-1 token
 * id 0, and every temperature fits equally (T* is NAN).
 */
void   lm_calib_uniform(const uint32_t *ids, size_t n, uint32_t V, struct lm_calib *out);
/* The grid's beta_j, and the equal-width bin of a confidence (for tests). */
double lm_calib_beta(int j);
int    lm_calib_bin(double conf);

/* ---- Evaluation (eval.c) ------------------------------------------------- */

/*
 * Totals of scoring a text. Perplexities follow KenLM's query: tokens are
 * the scored tokens (for a line model, its words plus one </s> per line; <s>
 * is never scored), an OOV is a token scored as <unk>, and the perplexity
 * excluding OOVs leaves out both their count and their log-probability.
 */
struct lm_eval {
	double   nats;       /* sum of -ln p over the scored tokens */
	double   oov_nats;   /* the part of nats from OOV tokens */
	uint64_t tokens;
	uint64_t oovs;
	uint64_t lines;
	uint64_t bytes;      /* bytes of the original text */
	int      has_calib;  /* calib is filled (lm_eval_text_calib) */
	/* A masked model's text is scored by pseudo-log-likelihood: nats is
	 * then -PLL, and the likelihood figures (nats per token, perplexity,
	 * bits per byte) are NAN; the lm_eval_pseudo_* figures stand instead,
	 * never comparable with a causal model's. */
	int      pseudo;
	enum lm_pll pll;     /* which PLL: the caller may set it before scoring
	                      * (zero, the default, is word-l2r) */
	struct lm_calib calib;
};

/*
 * Score text (len bytes) with m and add the totals into *out (zero it
 * first). Line models score each line as a sentence, in parallel over a
 * fixed split of the text, summed in a fixed order: the result does not
 * depend on the thread count. Stream models score the whole text as one
 * sequence (lm_score).
 */
struct ad_progress;
int lm_eval_text(const struct lm *m, const uint8_t *text, size_t len, struct lm_eval *out,
                 struct ad_progress *progress, struct ad_error *e);

/*
 * lm_eval_text that also records every scored position's calibration into
 * acc (appended, in text order) when acc is not NULL; the caller then
 * fills out->calib with lm_calib_finish. This needs each position's whole
 * distribution: O(V) per token for an n-gram instead of O(order).
 */
int lm_eval_text_calib(const struct lm *m, const uint8_t *text, size_t len, struct lm_eval *out,
                       struct lm_calib_acc *acc, struct ad_progress *progress,
                       struct ad_error *e);

double lm_eval_nats_per_token(const struct lm_eval *r);
double lm_eval_perplexity(const struct lm_eval *r);
double lm_eval_perplexity_excl_oov(const struct lm_eval *r);
double lm_eval_bits_per_byte(const struct lm_eval *r);
/* A masked model's (r->pseudo; NAN otherwise): -PLL per token, its
 * exponential (the pseudo-perplexity of Salazar et al. 2020, section 2.3)
 * and -PLL / ln 2 / bytes ("pseudo bits per byte"). */
double lm_eval_pseudo_nats_per_token(const struct lm_eval *r);
double lm_eval_pseudo_perplexity(const struct lm_eval *r);
double lm_eval_pseudo_bits_per_byte(const struct lm_eval *r);

/*
 * An evaluation's fields as JSON keys of the object j has open (lines,
 * bytes, tokens, oovs, nats, nats_per_token, perplexity,
 * perplexity_excl_oov, bits_per_byte, and "calibration" when has_calib;
 * for a masked model's (pseudo) the likelihood keys are null and
 * "pseudo_log_likelihood" (its kind), "pll", "pll_nats_per_token",
 * "pseudo_perplexity", "pseudo_bits_per_byte" and "comparable_with_causal":
 * false follow):
 * the one writer behind `eval --json` and the compare report, so both say
 * the same thing in the same words.
 */
struct ad_json;
void lm_eval_json(struct ad_json *j, const struct lm_eval *r);

/* ---- Sampling (sample.c) -------------------------------------------------- */

/*
 * How the next token is drawn from a distribution (applied in this order):
 * temperature T (T = 0: the most likely token, ties to the lowest id),
 * top-k (keep the k most likely; 0 = all), top-p (keep the smallest set of
 * most likely tokens whose probability reaches p; 1 = all). Then one
 * uniform draw from the renormalised kept set (inverse CDF over the tokens
 * in decreasing probability, ties by id), so a seed decides the sample.
 */
struct lm_sampling {
	double   temperature;
	uint32_t top_k;
	double   top_p;
};

struct ad_rng;
struct lm_sampler;

int  lm_sampler_new(struct lm_sampler **out, uint32_t V, struct ad_error *e);
void lm_sampler_free(struct lm_sampler *s);
/*
 * Draw one id from logp (V natural-log probabilities; -INFINITY = banned).
 * *p_out, when not NULL, receives the probability the drawing distribution
 * gave the chosen id.
 */
uint32_t lm_sample_draw(struct lm_sampler *s, const struct lm_sampling *cfg, const float *logp,
                        struct ad_rng *rng, double *p_out);
/*
 * The distribution lm_sample_draw draws from, written to probs (V doubles):
 * for tests and for showing what a setting does.
 */
void lm_sample_distribution(struct lm_sampler *s, const struct lm_sampling *cfg,
                            const float *logp, double *probs);

/*
 * Generation: continue prompt (NUL-terminated) with up to max_tokens drawn
 * tokens. A line model takes the prompt line by line (each newline ends a
 * sentence; the last line stays open) and, when it draws </s>, emits "\n"
 * and starts a new sentence; a stream model takes the prompt as one text
 * (an empty prompt is "\n"). <s> and <unk> are never drawn. Each token's
 * text goes to emit as soon as it is drawn (words of a word model are
 * preceded by a space where needed); emit returns nonzero to stop. Tokens
 * and the model's ln p of each (before temperature) go to toks when not
 * NULL (max_tokens entries), with the probability the token was drawn with
 * (after temperature, top-k and top-p), each written before the token's
 * text is emitted (and *ntoks counts it by then). Fails with AD_EINVAL when a non-empty prompt
 * encodes to no tokens.
 */
struct lm_gen_token {
	uint32_t id;
	double   logp;   /* the model's ln p of id */
	double   p;      /* the probability id was drawn with */
};

typedef int (*lm_emit_fn)(void *ctx, const uint8_t *bytes, size_t len);

struct lm_generator;
int  lm_generator_new(struct lm_generator **out, const struct lm *m, struct ad_error *e);
void lm_generator_free(struct lm_generator *g);
int  lm_generate(struct lm_generator *g, const struct lm_sampling *cfg, struct ad_rng *rng,
                 const char *prompt, size_t max_tokens, lm_emit_fn emit, void *ctx,
                 struct lm_gen_token *toks, size_t *ntoks, struct ad_error *e);

/*
 * Model-file openers, one per family, registered in models/models.c. Each receives the
 * file already mapped (it may keep the mapping: ownership passes on success).
 */
struct ad_map;
typedef int (*lm_opener)(struct lm **out, const char *path, struct ad_map *map,
                         struct ad_error *e);

#endif
