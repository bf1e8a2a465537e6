/*
 * sweep.h — grids of models on one split: held-out and training loss
 * against model size, training-set size and training time, to see
 * scaling and double descent (Belkin et al., PNAS 2019; Nakkiran et al.,
 * "Deep Double Descent", 2019) on one's own text.
 *
 * sweep_run (sweep.c) splits a corpus once, trains or reuses a tokenizer,
 * and trains one model per point of a grid — transformer width x depth, or
 * n-gram order, or random-feature count — for each training-set size (a
 * fraction of the training split: its first lines), all scored on the same
 * held-out text. It is the comparison engine's machinery (compare.h):
 * transformers and n-grams are trained by this program's own commands in
 * child processes, each model file is keyed by the text it was trained on
 * and its whole configuration, and a file already there is reused, so a
 * killed sweep continues where it stopped (an interrupted transformer from
 * its checkpoint) and a wider grid trains only the points it adds. Random-
 * feature points (src/rf/rf.h) are fitted in this process; their results
 * are kept in a small keyed file the same way.
 *
 * Every transformer point logs its learning curve (training and held-out
 * loss every steps / curve_points steps), so epoch-wise behaviour is read
 * from the same runs. Losses are nats per token for the transformer and the
 * n-gram (on the training text as trained: under label noise, against the
 * noisy targets), and the squared loss the random-feature readout minimises
 * for that model (its clipped log-loss is reported beside it).
 *
 * The measured interpolation threshold, for each training-set size, is
 * where the training loss reaches its floor. The floor is the lowest final
 * training loss of any size in the grid; the band is the floor plus
 * interp_tol (default 0.02) of the descent from the highest training loss
 * to the floor; the threshold is the smallest size (parameters; for random
 * features, the feature count) from which every larger size's training
 * loss is in the band — counted only when at least two sizes are in it, so
 * a training loss still falling at the largest size marks none. The floor
 * is 0 where a model can fit its training targets exactly; where the same
 * context is followed by different tokens it cannot, and the floor is that
 * irreducible loss (the random-feature model reaches it exactly from
 * F = its distinct training contexts on).
 *
 * Like all library code it prints nothing and reads no environment: the
 * caller names the program to run (cfg->self) and gets progress through
 * hooks.
 */
#ifndef AD_SWEEP_H
#define AD_SWEEP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

enum sweep_model {
	SWEEP_TRANSFORMER,
	SWEEP_NGRAM,
	SWEEP_RF,
};

#define SWEEP_MAX_AXIS 32

struct ad_progress;

/*
 * A sweep's configuration. Strings are borrowed for the duration of
 * sweep_run (files and out for the life of the report).
 */
struct sweep_cfg {
	const char *const *files;          /* the corpus (nfiles paths) */
	size_t             nfiles;
	const char        *out;            /* work directory: split, models, reports */
	const char        *self;           /* the autodidact program, run for each training */
	double             val_fraction;   /* hold out this much of each file, by lines, */
	const char        *val;            /* or this file (then val_fraction is 0) */
	const char        *vocab;          /* a vocabulary to use, or NULL to train one */
	uint64_t           vocab_size;     /* of the tokenizer trained here */
	enum sweep_model   model;
	/* The axes: every combination is a point (size x fraction). */
	uint32_t           widths[SWEEP_MAX_AXIS], depths[SWEEP_MAX_AXIS];
	uint32_t           orders[SWEEP_MAX_AXIS], features[SWEEP_MAX_AXIS];
	double             fractions[SWEEP_MAX_AXIS];   /* of the training split, in (0, 1] */
	size_t             nwidths, ndepths, norders, nfeatures, nfractions;
	/* The transformer's fixed shape and training. */
	uint32_t           heads, context, batch;
	uint64_t           steps;          /* optimiser steps, or 0 and */
	double             epochs;         /* passes over each point's training text */
	double             lr;             /* 0: the trainer's default */
	double             weight_decay;
	double             label_noise;    /* in [0, 1]: transformer and random features */
	uint32_t           curve_points;   /* held-out evaluations per run */
	uint64_t           eval_tokens;    /* tokens of each evaluation (0: all) */
	/* The random-feature model's fixed part (rf.h). */
	uint32_t           rf_context, rf_embed;
	int                rf_fourier;
	int                rf_limit;       /* also the limit of infinitely many features */
	double             interp_tol;     /* the threshold's band above the floor, as a share
	                                    * of the descent; <= 0: the default 0.02 */
	uint64_t           seed;
	int                threads;        /* in all; 0: every core */
	int                jobs;           /* trainings at once (transformer, n-gram) */
	int                retrain;        /* never reuse a point */
	int                quiet;          /* the children print no progress */
	uint64_t           mem_limit;      /* bytes the machine has for training; 0: read it */
	/* Hooks, each optional: a stage ("tokenizer", "point w32 d1 f0.5
	 * trained"); the progress reporter of the whole sweep. */
	void                *hook_ctx;
	void               (*on_stage)(void *ctx, const char *what);
	struct ad_progress *(*on_progress)(void *ctx, const char *label, uint64_t total,
	                                   const char *unit);
};

/* One evaluation of a point's learning curve. */
struct sweep_curve {
	double step;
	double val;     /* held-out loss */
	double train;   /* training loss (NaN when not evaluated) */
};

struct sweep_point {
	char                name[64];       /* "w32 d2", "3-gram", "F=512" */
	double              fraction;
	uint32_t            width, depth, order, features;
	uint64_t            params;         /* parameters (n-gram: stored n-grams) */
	uint64_t            steps;          /* optimiser steps (transformer) */
	uint64_t            train_tokens;   /* tokens of its training text */
	double              train_loss, val_loss;
	/* Top-1 error: the share of next tokens that are not the model's most
	 * probable one (1 - lm_calib's accuracy, the figure of `eval
	 * --calibration`), on the whole held-out text and on the point's
	 * training text as written (the clean targets, also under label noise);
	 * NAN when not measured. Random features: rf_val_err and rf_train_err
	 * (the readout's argmax; training against the noisy targets). Kept in
	 * the model's .top1 file, so a reused point is not scored again. */
	double              val_err, train_err;
	double              seconds;        /* training wall clock */
	uint64_t            rss_kb;         /* peak resident set of the training */
	int                 reused;         /* found in the work directory */
	char               *path;           /* model or result file (owned) */
	char               *command;        /* the command that trained it (owned); NULL: rf */
	struct sweep_curve *curve;          /* (ncurve) owned; transformer only */
	size_t              ncurve;
	/* Random features only (rf_result): the distinct training contexts (the
	 * predicted threshold), 0-1 errors, clipped log-losses, the jitter. */
	uint64_t            rf_distinct;
	double              rf_train_err, rf_val_err, rf_train_logloss, rf_val_logloss;
	double              rf_jitter;
};

struct sweep_report {
	const struct sweep_cfg *cfg;
	uint64_t            split_hash;
	uint64_t            train_bytes, val_bytes, val_tokens;
	uint32_t            vocab_size;
	char               *vocab_path;     /* owned */
	const char         *loss_unit;      /* "nats/token" or "squared loss" */
	double              interp_tol;     /* the band in force */
	struct sweep_point *points;         /* (npoints) owned, by fraction then size */
	size_t              npoints, ntrained, nreused;
	double              thresholds[SWEEP_MAX_AXIS];   /* per fraction: sweep_size, or NAN */
	double              floors[SWEEP_MAX_AXIS];       /* per fraction: the lowest training
	                                                   * loss, or NAN */
	struct sweep_point  rf_limit[SWEEP_MAX_AXIS];  /* per fraction, with cfg->rf_limit:
	                                               * the limit F -> infinity (rf_limit) */
	double              seconds;        /* the sweep's wall clock */
	int                 jobs;           /* trainings run at once */
};

/*
 * Check the configuration (empty grid, label noise outside [0, 1], shapes,
 * the memory the largest points need against the machine's) before anything
 * is trained: AD_EINVAL with a message that names the option to change.
 * sweep_run calls it first; it is separate so the caller can refuse bad
 * input without a corpus.
 */
int  sweep_check(const struct sweep_cfg *cfg, uint32_t vocab_size, struct ad_error *e);
/*
 * Run the sweep cfg describes and fill *out (on success only; free it with
 * sweep_report_free). Returns 0, or a negative AD_E* code with e filled:
 * AD_EINTR when a signal stopped it (the points finished so far stay in
 * cfg->out for the next run), AD_EIO when a child failed, AD_EINVAL for a
 * configuration that cannot run (nothing trained).
 */
int  sweep_run(const struct sweep_cfg *cfg, struct sweep_report *out, struct ad_error *e);
void sweep_report_free(struct sweep_report *r);

/* A point's size on the plots' x axis: its parameters, or for random
 * features the feature count F (the readout has F x V weights). */
double sweep_size(const struct sweep_point *p);
/* The measured interpolation threshold of the points of one fraction (as
 * above, band tol), or NAN; *floor the lowest training loss (NAN when there
 * is no descent: fewer than two sizes, or all equal). */
double sweep_threshold(const struct sweep_point *p, size_t n, double fraction, double tol,
                       double *floor);

/* Write sweep.md, sweep.json and sweep.html into dir (each atomically). */
int sweep_report_save(const struct sweep_report *r, const char *dir, struct ad_error *e);
int sweep_write_markdown(const struct sweep_report *r, FILE *f);
int sweep_write_json(const struct sweep_report *r, FILE *f);
int sweep_write_html(const struct sweep_report *r, FILE *f);

#endif
