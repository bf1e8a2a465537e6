/*
 * compare_impl.h — the comparison engine's helpers that the sweep engine
 * (sweep.c) shares with it: the work directory's file names and keys, the
 * child's command line as text, and the .run side file of a model's training
 * cost. Internal to src/compare/.
 */
#ifndef AD_COMPARE_IMPL_H
#define AD_COMPARE_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "compare/compare.h"

/* dir/NAME with NAME printed from fmt (ad_malloc'ed; NULL when out of memory). */
char    *compare_path(const char *dir, const char *fmt, ...) AD_PRINTF(2, 3);
struct ad_atomic;
/* ad_atomic_open of dir/name: a report file written whole or not at all. */
int      compare_atomic_open(struct ad_atomic *a, const char *dir, const char *name,
                             struct ad_error *e);
/* Whether path is a regular file. */
int      compare_exists(const char *path);
/* A model's key: XXH64 of its whole configuration as text, seeded with the
 * hash of the text it was trained on. */
uint64_t compare_key(uint64_t split_hash, const char *config);
/* "autodidact ARGV..." as one shell-readable line (ad_malloc'ed). */
char    *compare_join(char *const argv[]);
/* Write path with data only when it differs, so a reused model's inputs stay put. */
int      compare_write_if_changed(const char *path, const uint8_t *data, size_t len,
                                  struct ad_error *e);
/* MODEL.run: the training cost of m (seconds, peak RSS, tokens; and the
 * checkpoint's step when it was resumed). Load returns 0 when the three
 * costs were read, -1 otherwise (train again). */
int      compare_run_save(const char *model, const struct compare_model *m, struct ad_error *e);
int      compare_run_load(const char *model, struct compare_model *m);

/*
 * A transformer's run at path (its checkpoint ckpt) after an earlier one:
 * COMPARE_REUSE when that finished (path and its .run file exist, and need
 * too when not NULL); COMPARE_RESUME when it was interrupted and left ckpt
 * (a run stopped by a signal writes its model too, but no .run file), to be
 * continued with train transformer --resume; COMPARE_FRESH otherwise, and
 * always with retrain.
 */
enum compare_plan { COMPARE_FRESH, COMPARE_RESUME, COMPARE_REUSE };
enum compare_plan compare_plan(int retrain, const char *path, const char *ckpt, const char *need);
/* The training seconds a checkpoint records for the runs before it (0 when
 * unreadable), and its step in *step when not NULL (0 when unreadable):
 * read before resuming, as the resumed run rewrites it. A resumed model's
 * cost is these seconds plus the resumed run's wall clock. */
double   compare_ckpt_seconds(const char *ckpt, uint64_t *step);

/*
 * The stages the sweep shares. compare_train: train the model at path with
 * the child command argv (cfg->self; NULL-terminated), or reuse it when it
 * and its .run file exist (unless cfg->retrain), filling m's path, command
 * and cost. compare_tokenizer: cfg->vocab, or a tokenizer of cfg->vocab_size
 * ids trained on train_path (sp->train) or reused; sets *vocab_path.
 * compare_ngram: the n-gram of this order on train_path, keyed by
 * split_hash. threads is cfg->threads as text.
 */
struct data_split;
struct bpe;
int compare_train(const struct compare_cfg *cfg, struct compare_model *m, const char *path,
                  char **argv, double tokens, struct ad_error *e);
int compare_tokenizer(const struct compare_cfg *cfg, const struct data_split *sp,
                      const char *train_path, const char *threads, char **vocab_path,
                      struct ad_error *e);
int compare_ngram(const struct compare_cfg *cfg, struct compare_model *m, int order,
                  uint64_t split_hash, const struct bpe *vocab, const char *vocab_path,
                  const char *train_path, const char *threads, size_t ntrain_tok,
                  struct ad_error *e);

#endif
