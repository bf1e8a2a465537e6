/*
 * compare.h — the comparison engine and its report: what each kind of model
 * learned from one text, and at what cost.
 *
 * compare_run (engine.c) splits a corpus once, trains a tokenizer, n-gram
 * models of several orders and a transformer on the same training part,
 * scores them all on the same held-out part through the same code
 * (lm_eval_text), samples each for the same prompts and seed, asks each
 * for the same hidden held-out words given both sides (blanks.c: the one
 * task a masked model and a left-to-right one share), and fills a struct
 * compare_report. With both objectives asked for it trains a causal and a
 * masked transformer of the same shape on the same budget. Each training is this very program's own command
 * (tokenize train, train ngram, train transformer) run as a child process
 * (child.c, the one place the library starts a process): so each row's
 * training time and peak memory are measured in isolation (wait4's rusage),
 * an interruption keeps every model already finished, and the report lists
 * the exact command behind each row. Finished models live in the work
 * directory under a key hashed from the split text and their whole
 * configuration, with what their training cost in a MODEL.run side file,
 * and a later run with the same key reuses them instead of retraining.
 *
 * write.c writes the report: Markdown (for the terminal), JSON (for
 * scripts) and a self-contained HTML page with inline SVG charts (held-out
 * bits per byte against training time and against model size).
 *
 * The two baselines give the scale: "uniform" spends ln V nats on every
 * token (no learning at all) and "unigram" (the order-1 n-gram) knows only
 * how often each token occurs.
 *
 * Like all library code, the engine prints nothing and reads no
 * environment: the caller names the program to run (cfg->self) and gets
 * progress through hooks; the children print their own progress on the
 * caller's stderr (their stdout goes there too).
 */
#ifndef AD_COMPARE_H
#define AD_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "knn/knn.h"
#include "lm/lm.h"

enum compare_kind {
	COMPARE_UNIFORM,
	COMPARE_NGRAM,
	COMPARE_TRANSFORMER,
};

/* One point of a learning curve: held-out bits per byte after some time. */
struct compare_point {
	double seconds;   /* training wall-clock time */
	double step;
	double bpb;
};

/* Where a sampled token's text ends in its sample, and the probability it
 * was drawn with (the HTML report shades each token by it). */
struct compare_shade {
	size_t end;
	double p;
};

/*
 * Held-out fill-in accuracy (blanks.c): whole words hidden at seeded
 * positions of the held-out text, the same for every model; see blanks.c
 * for what a word is, how the positions are drawn and what each model sees.
 */
#define COMPARE_BLANK_MAX_LETTERS 20   /* longer words are never hidden */
#define COMPARE_FILL_WINDOW       48   /* tokens a side a stream model sees */
#define COMPARE_FILL_TOPK         5
#define COMPARE_BLANKS_DEFAULT    100

/* A hidden word: byte offsets in the held-out text. */
struct compare_blank {
	size_t line;       /* start of its line */
	size_t at, end;    /* the word's letters [at, end) */
	size_t line_end;   /* its line's newline, or the text's end */
};

/* One model's fill-in figures, and its fillers of the first blank. */
struct compare_fill {
	size_t  blanks;                      /* scored */
	size_t  skipped;                     /* words of more than 8 tokens */
	size_t  top1, top5;                  /* ranked first, among the first 5 */
	double  logp;                        /* sum of ln p of the true words */
	char   *ex_text;                     /* the first blank's line, "[MASK]" for the word */
	char   *ex_word;                     /* the word hidden there */
	char   *ex_fill[COMPARE_FILL_TOPK];  /* (ex_n) the model's best fillers, */
	double  ex_p[COMPARE_FILL_TOPK];     /* and their probabilities */
	size_t  ex_n;
};

/*
 * Choose min(want, the words there are) blanks in text[0..len), a seeded
 * sample of its words, in text order, in *out (owned: ad_free).
 */
int  compare_blanks_pick(const uint8_t *text, size_t len, size_t want, uint64_t seed,
                         struct compare_blank **out, size_t *nout, struct ad_error *e);
/* Hide each of b[0..nb) from m in turn and fill *out (on success only). */
int  compare_fill_score(const struct lm *m, const uint8_t *text, size_t len,
                        const struct compare_blank *b, size_t nb, struct compare_fill *out,
                        struct ad_error *e);
void compare_fill_free(struct compare_fill *f);

struct compare_model {
	char                  name[64];      /* "uniform", "unigram", "3-gram", "transformer" */
	enum compare_kind     kind;
	int                   order;         /* n-gram order, 0 otherwise */
	char                 *path;          /* model file (owned); NULL for uniform */
	char                 *command;       /* the command that trained it (owned) */
	uint64_t              params;        /* parameters, or stored n-grams */
	uint64_t              file_bytes;
	double                train_seconds; /* wall clock, the child's start to its exit */
	double                train_tokens;  /* tokens processed in training */
	uint64_t              peak_rss_kb;   /* of the training process */
	int                   reused;        /* trained by an earlier run, same key */
	int                   resumed;       /* trained in two runs: interrupted, then */
	uint64_t              resumed_step;  /* continued from its checkpoint at this step
	                                      * (the last such step, if more than once) */
	struct lm_eval        eval;          /* on the held-out text */
	struct compare_point *curve;         /* (ncurve) owned; transformer only */
	size_t                ncurve;
	char                **samples;       /* (nprompts) owned texts */
	struct compare_shade **shades;       /* (nprompts) owned, each (nshades[p]) or NULL */
	size_t               *nshades;       /* (nprompts) */
	int                   has_fill;      /* fill was scored (not for uniform) */
	struct compare_fill   fill;
};

/*
 * The nearest-neighbour LM over the causal transformer (compare --knn): a
 * store of the transformer's context vectors on the first knn_tokens tokens
 * of the training text (built by a child "knn build", reused by key like a
 * model), k, temperature and lambda tuned on the first half of the held-out
 * text (knn_tune), and three rows on the second half: the transformer
 * alone, p_kNN alone (lambda 1) and the tuned interpolation, with the
 * tokens that gain and lose most.
 */
#define COMPARE_KNN_TOKENS_DEFAULT 50000
#define COMPARE_KNN_SHOW           10     /* tokens shown that gain, and that lose */

struct compare_gain {
	uint32_t id;
	uint64_t count;       /* its positions in the second half */
	double   nats;        /* summed ln p(kNN-LM) - ln p(transformer) there */
	char    *text;        /* the token's bytes (owned, NUL-terminated) */
};

struct compare_knn {
	char                model[64];      /* the transformer row's name */
	char               *path;           /* the store (owned) */
	char               *command;        /* the command that built it (owned) */
	uint64_t            max_tokens;     /* the cap asked for */
	uint64_t            entries;        /* stored positions */
	uint32_t            width;          /* floats a key */
	uint64_t            file_bytes;
	double              build_seconds;  /* wall clock of the child */
	uint64_t            peak_rss_kb;
	int                 reused;
	uint64_t            cut;            /* the second half starts at this held-out byte */
	struct knn_tune     tune;           /* figures (its gains moved to gain/lose) */
	double              tune_seconds;   /* both passes over the held-out text */
	struct compare_gain gain[COMPARE_KNN_SHOW], lose[COMPARE_KNN_SHOW];
	size_t              ngain, nlose;   /* lose[] from the most lost */
};

/*
 * A comparison's configuration. Strings are borrowed for the duration of
 * compare_run (and files, val and out for the life of the report). The
 * transformer's shape and learning rate are kept as the text given, since
 * they go verbatim into the child's command line and the model's key.
 */
#define COMPARE_MAX_ORDERS  8
#define COMPARE_MAX_PROMPTS 8

struct ad_progress;

struct compare_cfg {
	const char *const *files;          /* the corpus (nfiles paths) */
	size_t             nfiles;
	const char        *out;            /* work directory: split, models, reports */
	const char        *self;           /* the autodidact program, run for each training */
	double             val_fraction;   /* hold out this much of each file, by lines, */
	const char        *val;            /* or this file (then val_fraction is 0) */
	const char        *vocab;          /* a vocabulary to use, or NULL to train one */
	uint64_t           vocab_size;     /* of the tokenizer trained here */
	int                orders[COMPARE_MAX_ORDERS];   /* n-gram orders in 1..8 */
	int                norders;
	int                no_transformer;
	int                causal, masked;  /* the transformers trained: by objective;
	                                     * both 0 means causal alone */
	const char        *preset;         /* transformer preset name */
	const char        *layers, *heads, *dim, *context, *lr;   /* NULL: the preset's */
	uint64_t           steps;          /* optimiser steps, or 0 and */
	double             budget;         /* training seconds */
	uint64_t           batch;
	int                retrain;        /* never reuse a model */
	int                knn;            /* build and tune a kNN-LM over the causal transformer */
	uint64_t           knn_tokens;     /* training tokens stored (0: all) */
	size_t             blanks;         /* held-out words hidden (0: none) */
	const char *const *prompts;        /* (nprompts); 0 prompts: two held-out lines */
	size_t             nprompts;
	struct lm_sampling sampling;
	uint64_t           sample_tokens;
	uint64_t           seed;           /* of training and sampling */
	int                threads;        /* for every stage; 0: OpenMP's default */
	int                quiet;          /* the children print no progress */
	/* Hooks, each optional: a stage begins ("tokenizer (4096 ids)",
	 * "3-gram"); a progress reporter for scoring the held-out text. */
	void                *hook_ctx;
	void               (*on_stage)(void *ctx, const char *what);
	struct ad_progress *(*on_progress)(void *ctx, const char *label, uint64_t total,
	                                   const char *unit);
};

struct compare_report {
	const char *const *files;       /* the corpus files, as given (cfg's) */
	size_t             nfiles;
	uint64_t           corpus_hash;   /* XXH64 of training part, then held-out part */
	uint64_t           train_bytes, val_bytes, train_lines, val_lines;
	double             val_fraction;  /* when no held-out file was given */
	const char        *val_path;      /* the held-out file, or NULL (cfg's) */
	char              *vocab_path;    /* owned */
	uint32_t           vocab_size;
	uint64_t           vocab_identity;
	uint64_t           val_tokens;    /* held-out text as one token stream */
	uint64_t           seed;
	struct lm_sampling sampling;
	size_t             sample_tokens;
	char             **prompts;       /* (nprompts) owned */
	size_t             nprompts;
	struct compare_model *models;     /* (nmodels) owned */
	size_t             nmodels;
	const char        *outdir;        /* cfg's */
	size_t             blanks;        /* the fill-in task's blanks, asked for */
	size_t             nwords;        /* chosen (at most blanks) */
	struct compare_knn *knn;          /* owned; NULL without --knn */
};

/*
 * Run the comparison cfg describes and fill *out (on success only; free it
 * with compare_report_free). Returns 0, or a negative AD_E* code with e
 * filled: AD_EINTR when a signal stopped it (the models finished so far
 * stay in cfg->out for the next run), AD_EIO when a child failed (its own
 * message went to stderr), AD_EINVAL for a configuration that cannot run.
 */
int  compare_run(const struct compare_cfg *cfg, struct compare_report *out,
                 struct ad_error *e);
void compare_report_free(struct compare_report *r);
void compare_model_free(struct compare_model *m, size_t nprompts);
void compare_knn_free(struct compare_knn *k);

/*
 * Run the program self as a child process with the arguments argv (NULL-
 * terminated; argv[0] is the command, e.g. "train"; the child's own argv[0]
 * is "autodidact"), in its own process group, its stdout sent to our
 * stderr. Blocks until it exits (no polling: a pipe closes when it does)
 * and passes the first SIGINT or SIGTERM we get on to it as one SIGINT.
 * Sets *seconds (wall clock, fork to exit) and *rss_kb (its peak resident
 * set, from wait4) and returns 0 when it exited with status 0; AD_EINTR
 * when we were interrupted; AD_EIO when it failed or could not start.
 */
int compare_child_run(const char *self, char *const argv[], double *seconds,
                      uint64_t *rss_kb, struct ad_error *e);

/* Write report.md, report.json and report.html into dir (each atomically). */
int compare_report_save(const struct compare_report *r, const char *dir, struct ad_error *e);

/* Each writer returns 0, or AD_EIO when the stream reports an error. */
int compare_write_markdown(const struct compare_report *r, FILE *f);
int compare_write_json(const struct compare_report *r, FILE *f);
int compare_write_html(const struct compare_report *r, FILE *f);

/* The model with the lowest held-out bits per byte (NULL when none). */
const struct compare_model *compare_best(const struct compare_report *r);

#endif
