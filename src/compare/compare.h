/*
 * compare.h — the comparison report: what each kind of model learned from
 * one text, and at what cost.
 *
 * `autodidact compare` (src/cli/cmd_compare.c) splits a corpus once, trains
 * a tokenizer, n-gram models of several orders and a transformer on the
 * same training part, scores them all on the same held-out part through the
 * same code (lm_eval_text), samples each for the same prompts and seed, and
 * fills a struct compare_report. This module only writes that report:
 * Markdown (for the terminal), JSON (for scripts) and a self-contained HTML
 * page with inline SVG charts (held-out bits per byte against training time
 * and against model size).
 *
 * The two baselines give the scale: "uniform" spends ln V nats on every
 * token (no learning at all) and "unigram" (the order-1 n-gram) knows only
 * how often each token occurs.
 */
#ifndef AD_COMPARE_H
#define AD_COMPARE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

struct compare_model {
	char                  name[64];      /* "uniform", "unigram", "3-gram", "transformer" */
	enum compare_kind     kind;
	int                   order;         /* n-gram order, 0 otherwise */
	char                 *path;          /* model file (owned); NULL for uniform */
	char                 *command;       /* the command that trained it (owned) */
	uint64_t              params;        /* parameters, or stored n-grams */
	uint64_t              file_bytes;
	double                train_seconds;
	double                train_tokens;  /* tokens processed in training */
	uint64_t              peak_rss_kb;   /* of the training process */
	int                   reused;        /* trained by an earlier run, same key */
	struct lm_eval        eval;          /* on the held-out text */
	struct compare_point *curve;         /* (ncurve) owned; transformer only */
	size_t                ncurve;
	char                **samples;       /* (nprompts) owned texts */
};

struct compare_report {
	const char *const *files;       /* the corpus files, as given */
	size_t             nfiles;
	uint64_t           corpus_hash;   /* XXH64 of training part, then held-out part */
	uint64_t           train_bytes, val_bytes, train_lines, val_lines;
	double             val_fraction;  /* when no held-out file was given */
	const char        *val_path;      /* the held-out file, or NULL */
	const char        *vocab_path;
	uint32_t           vocab_size;
	uint64_t           vocab_identity;
	uint64_t           val_tokens;    /* held-out text as one token stream */
	uint64_t           seed;
	struct lm_sampling sampling;
	size_t             sample_tokens;
	const char *const *prompts;
	size_t             nprompts;
	struct compare_model *models;
	size_t             nmodels;
	const char        *outdir;
};

void compare_model_free(struct compare_model *m, size_t nprompts);

/* Each writer returns 0, or AD_EIO when the stream reports an error. */
int compare_write_markdown(const struct compare_report *r, FILE *f);
int compare_write_json(const struct compare_report *r, FILE *f);
int compare_write_html(const struct compare_report *r, FILE *f);

/* The model with the lowest held-out bits per byte (NULL when none). */
const struct compare_model *compare_best(const struct compare_report *r);

#endif
