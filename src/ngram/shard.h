/*
 * shard.h — n-gram counting over MPI: each rank counts a disjoint shard of
 * the corpus, rank 0 merges the counts and estimates the model.
 *
 * What it is. The corpus (the files read as one stream, as by cat) is cut
 * at line starts into `size` shards of about equal bytes; rank r counts the
 * lines of shard r with the one-process counter (count.c) into its own
 * vocabulary (ids in order of first appearance in the shard) and its own
 * sorted, deduplicated windows. Rank 0 receives every shard's vocabulary
 * and windows in rank order, adds the words to its vocabulary in that order
 * (which is the order of first appearance in the whole corpus, since the
 * shards are consecutive), renumbers each shard's windows, sorts and merges
 * them, then runs the estimate's later stages (adjust, discount, initial,
 * interpolate) unchanged.
 *
 * Invariant. Sentences are lines and windows never cross a line, so the
 * merged counts, the vocabulary, the token and line totals are exactly
 * those of one process, and so is every byte of the model written from
 * them. The one line of the input without a newline (the last) keeps its
 * missing </s>, as in lmplz.
 *
 * Workload. Corpora too slow to tokenize and count on one machine; the
 * merge on rank 0 holds every shard's distinct windows at once (as the
 * one-process counter holds its runs), so it saves time, not memory.
 */
#ifndef AD_NGRAM_SHARD_H
#define AD_NGRAM_SHARD_H

#include "base/err.h"
#include "base/progress.h"
#include "ngram/ngram.h"

/*
 * Collective over the MPI job's `size` ranks (this one is `rank`): on rank
 * 0, *out is the estimate of the whole corpus, the same as ngram_estimate
 * gives; on the others *out is NULL. Files must be regular files ("-" is
 * refused), the same on every rank. Shards are staged in temporary files
 * under cfg->tmpdir (default /tmp). Without MPI, or with size 1:
 * ngram_estimate.
 */
int ngram_estimate_sharded(struct ngram_est **out, const struct ngram_config *cfg,
                           const char *const *files, size_t nfiles, int rank, int size,
                           struct ad_progress *prog, struct ad_error *e);

#endif
