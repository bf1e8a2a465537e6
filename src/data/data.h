/*
 * data.h — from corpus files to the token streams models train on.
 *
 * A corpus is one or more text files. It is split ONCE into a training and
 * a held-out (validation) part by whole lines, so that every model family
 * compared on it (n-gram, transformer) sees exactly the same split:
 *
 *   - with a fraction f: the last f of each file's bytes, moved back to the
 *     start of the line it falls in, is held out (so the held-out part is
 *     the end of each file, at least f of it, never half a line), unless
 *     that would add more than f, and more than 4 KB, to the held-out part
 *     (a file of one long line, say): then the cut moves back only to the
 *     start of a UTF-8 character;
 *   - with a held-out file: all the given files train, that file is held out.
 *
 * Files are joined in the order given, each ending with a newline (one is
 * added to a file that lacks it), so no line of one file runs into the next.
 * The parts are then turned into token streams: a BPE vocabulary's ids, or
 * the bytes themselves (ids 0..255). Batches of windows over a stream are
 * the training objective's business (nn.h, struct nn_objective).
 *
 * Workload: corpora of a few MB to a few GB, read through mmap; tokenizing
 * runs on every thread (bpe_encode_parallel).
 */
#ifndef AD_DATA_H
#define AD_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct bpe;

struct data_split {
	uint8_t *train;      /* train_len bytes (owned) */
	size_t   train_len;
	uint8_t *val;        /* val_len bytes (owned); empty when nothing is held out */
	size_t   val_len;
	size_t   train_lines, val_lines;
	/* data_split_files: XXH64 (seed 0) of the bytes of paths, concatenated
	 * (the held-out fraction included, a --val file not), and their total. */
	uint64_t text_hash, text_bytes;
};

/*
 * Split paths[0..npaths) as above: val_path != NULL holds that file out,
 * otherwise val_fraction in [0, 1) of each file is held out (0: none).
 * Fails with AD_EDATA when the training part would be empty.
 */
int  data_split_files(struct data_split *out, const char *const *paths, size_t npaths,
                      double val_fraction, const char *val_path, struct ad_error *e);
/* The same split of one text in memory (the first part of the rule above). */
int  data_split_text(struct data_split *out, const uint8_t *text, size_t len,
                     double val_fraction, struct ad_error *e);
void data_split_free(struct data_split *s);

/*
 * Tokens of text appended to *ids (*n so far, capacity *cap, grown with
 * ad_realloc): BPE ids when b is not NULL (threads as bpe_encode_parallel),
 * else one id per byte.
 */
int  data_tokenize(const struct bpe *b, int threads, const uint8_t *text, size_t len,
                   uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e);

/*
 * Label noise (Zhang et al. 2017, "Understanding deep learning requires
 * rethinking generalization"; Nakkiran et al. 2019, "Deep Double Descent",
 * section 3): targets[i] = ids[i], except at positions chosen independently
 * with probability p, where targets[i] is a token drawn uniformly from
 * [0, V) instead (the original again by chance, with probability 1/V).
 * Deterministic in seed: one PCG32 generator (seed, stream "lnoise") draws,
 * for each position in order, a uniform double u (replaced when u < p) and,
 * only when replaced, the token. p = 0 copies ids; p = 1 replaces every
 * position. ids is only read: the caller keeps the clean stream for the
 * inputs and for the held-out text, which is never corrupted. V > 0.
 */
void data_label_noise(uint32_t *targets, const uint32_t *ids, size_t n, double p, uint32_t V,
                      uint64_t seed);

#endif
