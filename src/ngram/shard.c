/*
 * shard.c — n-gram counting over MPI (see shard.h).
 *
 * Input: the corpus files (the same on every rank) and the rank's place in
 * the job. Stage 1: rank r writes the lines of its shard to a temporary
 * file and counts it with ngram_count (count.c); stage 2: every rank but 0
 * sends rank 0 its vocabulary (offsets and text) and its windows, sorted by
 * its own ids; stage 3: rank 0 renumbers them into its vocabulary, sorts,
 * merges equal windows (counts added) and runs the later stages.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef HAVE_MPI
#include <mpi.h>
#endif

#include "base/io.h"
#include "ngram/shard.h"
#include "ngram/ngram_impl.h"

#ifndef HAVE_MPI

int
ngram_estimate_sharded(struct ngram_est **out, const struct ngram_config *cfg,
    const char *const *files, size_t nfiles, int rank, int size, struct ad_progress *prog,
    struct ad_error *e)
{
	(void)rank;
	(void)size;
	return ngram_estimate(out, cfg, files, nfiles, prog, e);
}

#else

/* Byte offset of the start of shard r of `size` over `total` bytes. */
static uint64_t
shard_cut(uint64_t total, int r, int size)
{
	return total / (uint64_t)size * (uint64_t)r + total % (uint64_t)size * (uint64_t)r /
	    (uint64_t)size;
}

/*
 * Write the lines of shard `rank` to out: the lines that START at a global
 * byte offset in [cut(rank), cut(rank + 1)). A line is written with a
 * newline exactly when count.c would end it with </s>: it had one, or it is
 * the last line of a file that is not the last file. *lines counts them.
 */
static int
shard_write(const char *const *files, size_t nfiles, int rank, int size, FILE *out,
    const char *outname, uint64_t *lines, struct ad_error *e)
{
	uint64_t total = 0, base = 0, lo, hi;
	int      rc = 0;

	*lines = 0;
	for (size_t f = 0; f < nfiles; f++) {
		uint64_t sz;
		if (strcmp(files[f], "-") == 0)
			return ad_fail(e, AD_EINVAL, "counting over MPI reads files by offset: give "
			    "files, not '-' (standard input)");
		if ((rc = ad_file_size(files[f], &sz, e)) != 0)
			return rc;
		total += sz;
	}
	lo = shard_cut(total, rank, size);
	hi = shard_cut(total, rank + 1, size);
	for (size_t f = 0; f < nfiles && rc == 0 && base < hi; f++) {
		struct ad_map map;
		size_t        at = 0;

		if ((rc = ad_map_file(files[f], &map, e)) != 0)
			break;
		while (at < map.size && base + at < hi) {
			const uint8_t *p = map.data + at, *nl = memchr(p, '\n', map.size - at);
			size_t         len = nl != NULL ? (size_t)(nl - p) : map.size - at;
			int            terminated = nl != NULL || f + 1 < nfiles;

			if (base + at >= lo) {
				if ((len > 0 && fwrite(p, 1, len, out) != len) ||
				    (terminated && putc('\n', out) == EOF)) {
					rc = ad_fail_errno(e, errno, "%s: cannot write the shard", outname);
					break;
				}
				(*lines)++;
			}
			at += len + (nl != NULL);
		}
		base += map.size;
		ad_map_release(&map);
	}
	if (rc == 0 && fflush(out) != 0)
		rc = ad_fail_errno(e, errno, "%s: cannot write the shard", outname);
	return rc;
}

/* The training text's hash and size (struct ngram_est) over the whole files. */
static int
files_hash(struct ngram_est *m, const char *const *files, size_t nfiles, struct ad_error *e)
{
	struct ad_hash h;
	int            rc;

	ad_hash_init(&h, 0);
	m->text_bytes = 0;
	for (size_t f = 0; f < nfiles; f++) {
		struct ad_map map;
		if ((rc = ad_map_file(files[f], &map, e)) != 0)
			return rc;
		ad_hash_update(&h, map.data, map.size);
		m->text_bytes += map.size;
		ad_map_release(&map);
	}
	m->text_hash = ad_hash_digest(&h);
	return 0;
}

/* Count this rank's shard into m (left empty when the shard is). */
static int
shard_count(struct ngram_est *m, const char *const *files, size_t nfiles, int rank, int size,
    struct ad_progress *prog, struct ad_error *e)
{
	const char *dir = m->cfg.tmpdir;
	char        path[4096];
	const char *paths[1] = { path };
	FILE       *f = NULL;
	uint64_t    lines = 0;
	int         fd, rc;

	snprintf(path, sizeof path, "%s/autodidact-shard%d-XXXXXX",
	    dir != NULL && *dir != '\0' ? dir : "/tmp", rank);
	if ((fd = mkstemp(path)) < 0)
		return ad_fail_errno(e, errno, "%s: cannot make a temporary file for the shard "
		    "(set TMPDIR to a writable directory)", path);
	if ((f = fdopen(fd, "wb")) == NULL) {
		rc = ad_fail_errno(e, errno, "%s: cannot open the shard", path);
		close(fd);
		unlink(path);
		return rc;
	}
	rc = shard_write(files, nfiles, rank, size, f, path, &lines, e);
	if (fclose(f) != 0 && rc == 0)
		rc = ad_fail_errno(e, errno, "%s: cannot write the shard", path);
	/* An empty shard (a corpus of fewer lines than ranks) counts nothing;
	 * rank 0's is empty only when the corpus is, and ngram_count says so. */
	if (rc == 0 && (lines > 0 || rank == 0))
		rc = ngram_count(m, paths, 1, prog, e);
	unlink(path);
	return rc;
}

/* Send or receive n bytes in pieces an int can count. */
static int
big_send(const void *buf, size_t n, int to)
{
	const size_t piece = (size_t)1 << 30;
	int          mrc = MPI_SUCCESS;

	for (size_t off = 0; off < n && mrc == MPI_SUCCESS; off += piece)
		mrc = MPI_Send((const char *)buf + off, (int)(n - off < piece ? n - off : piece),
		    MPI_BYTE, to, 0, MPI_COMM_WORLD);
	return mrc;
}

static int
big_recv(void *buf, size_t n, int from)
{
	const size_t piece = (size_t)1 << 30;
	int          mrc = MPI_SUCCESS;

	for (size_t off = 0; off < n && mrc == MPI_SUCCESS; off += piece)
		mrc = MPI_Recv((char *)buf + off, (int)(n - off < piece ? n - off : piece), MPI_BYTE,
		    from, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	return mrc;
}

/* What a rank sends first: the sizes of what follows. */
struct shard_head {
	uint64_t vocab;      /* words, markers included */
	uint64_t text_len;   /* bytes of their text */
	uint64_t count;      /* windows of order N */
	uint64_t tokens, lines;
};

static int
mpi_fail(struct ad_error *e, int mrc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int  len = 0;

	if (MPI_Error_string(mrc, msg, &len) != MPI_SUCCESS)
		snprintf(msg, sizeof msg, "MPI error %d", mrc);
	return ad_fail(e, AD_EIO, "MPI: %s failed: %s", what, msg);
}

/* A rank other than 0: send the counted shard to rank 0. */
static int
shard_send(const struct ngram_est *m, struct ad_error *e)
{
	uint32_t                  N = m->cfg.order;
	const struct ngram_vocab *v = &m->vocab;
	struct shard_head         h = { v->size, v->text_len, m->g[N].count, m->tokens, m->lines };
	int                       mrc;

	if ((mrc = big_send(&h, sizeof h, 0)) != MPI_SUCCESS ||
	    (mrc = big_send(v->off, ((size_t)v->size + 1) * sizeof *v->off, 0)) != MPI_SUCCESS ||
	    (mrc = big_send(v->text, v->text_len, 0)) != MPI_SUCCESS ||
	    (mrc = big_send(m->g[N].rec, m->g[N].count * (N + 1) * sizeof(uint32_t), 0)) !=
	    MPI_SUCCESS)
		return mpi_fail(e, mrc, "sending the counts to rank 0");
	return 0;
}

/*
 * Rank 0: receive rank r's shard into rec (room for its windows), add its
 * words to m's vocabulary in its order and renumber its windows.
 */
static int
shard_recv(struct ngram_est *m, int r, const struct shard_head *h, uint32_t *rec,
    struct ad_error *e)
{
	uint32_t  N = m->cfg.order, *map = NULL;
	uint64_t *off = NULL;
	char     *text = NULL;
	int       rc = 0, mrc;

	off = ad_mallocarray(h->vocab + 1, sizeof *off);
	text = ad_malloc(h->text_len > 0 ? h->text_len : 1);
	map = ad_mallocarray(h->vocab > 0 ? h->vocab : 1, sizeof *map);
	if (off == NULL || text == NULL || map == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the vocabulary of rank %d (%llu "
		    "words)", r, (unsigned long long)h->vocab);
		goto out;
	}
	if ((mrc = big_recv(off, (h->vocab + 1) * sizeof *off, r)) != MPI_SUCCESS ||
	    (mrc = big_recv(text, h->text_len, r)) != MPI_SUCCESS ||
	    (mrc = big_recv(rec, h->count * (N + 1) * sizeof *rec, r)) != MPI_SUCCESS) {
		rc = mpi_fail(e, mrc, "receiving a shard's counts");
		goto out;
	}
	/* The markers <unk> <s> </s> are ids 0, 1, 2 everywhere; the shard's
	 * other words, in its order of first appearance, extend ours. */
	for (uint64_t i = 0; i < h->vocab; i++) {
		if (i <= NGRAM_EOS) {
			map[i] = (uint32_t)i;
			continue;
		}
		if (off[i] > off[i + 1] || off[i + 1] > h->text_len) {
			rc = ad_fail(e, AD_EFORMAT, "rank %d sent a damaged vocabulary", r);
			goto out;
		}
		if ((rc = ngram_vocab_add(&m->vocab, text + off[i], (size_t)(off[i + 1] - off[i]),
		    &map[i], e)) != 0)
			goto out;
	}
	for (uint64_t k = 0; k < h->count; k++)
		for (uint32_t t = 0; t < N; t++) {
			uint32_t *id = rec + k * (N + 1) + t;
			if (*id == NGRAM_PAD)
				continue;
			if (*id >= h->vocab) {
				rc = ad_fail(e, AD_EFORMAT, "rank %d sent an id outside its vocabulary", r);
				goto out;
			}
			*id = map[*id];
		}
out:
	ad_free(off);
	ad_free(text);
	ad_free(map);
	return rc;
}

/* Rank 0: merge every other rank's windows into m->g[N]. */
static int
shard_merge(struct ngram_est *m, int size, struct ad_error *e)
{
	uint32_t           N = m->cfg.order, width = N + 1;
	struct shard_head *h;
	uint32_t          *all = NULL, *tmp = NULL;
	size_t             total = m->g[N].count, at;
	int                rc = 0, mrc = MPI_SUCCESS;

	if ((h = ad_calloc((size_t)size, sizeof *h)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	for (int r = 1; r < size; r++) {
		if ((mrc = big_recv(&h[r], sizeof h[r], r)) != MPI_SUCCESS) {
			rc = mpi_fail(e, mrc, "receiving a shard's sizes");
			goto out;
		}
		total += h[r].count;
	}
	all = ad_mallocarray(total > 0 ? total : 1, (size_t)width * 4);
	tmp = ad_mallocarray(total > 0 ? total : 1, (size_t)width * 4);
	if (all == NULL || tmp == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory merging %zu counted n-grams", total);
		goto out;
	}
	memcpy(all, m->g[N].rec, m->g[N].count * width * 4);
	at = m->g[N].count;
	for (int r = 1; r < size; r++) {
		if ((rc = shard_recv(m, r, &h[r], all + at * width, e)) != 0)
			goto out;
		at += h[r].count;
		m->tokens += h[r].tokens;
		m->lines += h[r].lines;
	}
	/* Rank 0's windows are already in order and in its numbering, which
	 * the other shards only extend; sort everything once and add up the
	 * windows that several shards counted. */
	ngram_sort(all, tmp, total, width, N, m->vocab.size - 1);
	total = ngram_dedupe(all, total, width, N);
	ad_free(m->g[N].rec);
	m->g[N].n = N;
	m->g[N].rec = all;
	m->g[N].count = total;
	all = NULL;
	if (m->g[N].count == 0)
		rc = ad_fail(e, AD_EDATA, "the corpus is empty; give a file with text in it");
out:
	ad_free(all);
	ad_free(tmp);
	ad_free(h);
	return rc;
}

int
ngram_estimate_sharded(struct ngram_est **out, const struct ngram_config *cfg,
    const char *const *files, size_t nfiles, int rank, int size, struct ad_progress *prog,
    struct ad_error *e)
{
	struct ngram_est *m;
	int               rc, worst, mrc;

	if (size <= 1)
		return ngram_estimate(out, cfg, files, nfiles, prog, e);
	*out = NULL;
	if (cfg->order < 1 || cfg->order > NGRAM_MAX_ORDER || nfiles == 0 ||
	    (cfg->unit == NGRAM_TOKENS && cfg->tok == NULL))
		return ngram_estimate(out, cfg, files, 0, prog, e);   /* its message */
	if ((m = ad_calloc(1, sizeof *m)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	m->cfg = *cfg;
	if ((rc = ngram_vocab_init(&m->vocab, e)) == 0)
		rc = shard_count(m, files, nfiles, rank, size, prog, e);
	/* Every rank learns whether any failed before anything is sent. */
	worst = rc;
	if ((mrc = MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD)) != MPI_SUCCESS)
		rc = mpi_fail(e, mrc, "comparing the ranks' counts");
	else if (rc == 0 && worst != 0)
		rc = ad_fail(e, worst, "another rank could not count its shard (see its message)");
	if (rc == 0) {
		if (rank != 0)
			rc = shard_send(m, e);
		else if ((rc = shard_merge(m, size, e)) == 0 &&
		    (rc = files_hash(m, files, nfiles, e)) == 0 &&
		    (ad_progress_note(prog, "adjusting counts"), rc = ngram_adjust(m, e)) == 0 &&
		    (rc = ngram_discount(m, e)) == 0 &&
		    (ad_progress_note(prog, "probabilities"), rc = ngram_initial(m, e)) == 0 &&
		    (ad_progress_note(prog, "interpolating"), rc = ngram_interpolate(m, e)) == 0) {
			*out = m;
			return 0;
		}
	}
	ngram_est_free(m);
	return rc;
}

#endif
