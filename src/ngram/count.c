/*
 * count.c — stage 1: text to counted N-gram windows.
 *
 * Input: the corpus files, read as one stream (as by cat); one line is one
 * sentence. Words are split on NUL, tab, CR and space, as lmplz splits them
 * (NGRAM_WORDS); or every byte but the newline is a token (NGRAM_BYTES); or
 * the line is encoded by the tokenizer (NGRAM_TOKENS, tokens.c).
 * Output: m->g[N], every distinct window of N consecutive tokens of the
 * sentences <s> w1 ... wk </s> with its raw count, sorted by ids; a
 * sentence shorter than N tokens gives one record padded with NGRAM_PAD
 * after its end (adjust.c turns those into the lower-order n-grams that
 * start with <s>). A final line without a newline gets no </s> (lmplz).
 *
 * The text is first turned into one id stream (sequentially: ids are given
 * in order of first appearance). The stream is then cut at sentence starts
 * into blocks; OpenMP threads turn blocks into windows, radix-sort them and
 * merge duplicates, a round of one block per thread at a time. The sorted
 * runs are merged as they come, keeping run sizes geometric (like the run
 * stack of a merge sort), so memory stays near the distinct windows plus
 * one block per thread.
 */
#include "config.h"

#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/io.h"
#include "base/progress.h"
#include "ngram/ngram_impl.h"

/* The growing id stream: <s> w1 ... wk </s> per line. */
struct stream {
	uint32_t *ids;
	size_t    n, cap;
};

static int
stream_push(struct stream *s, uint32_t id, struct ad_error *e)
{
	if (s->n == s->cap) {
		size_t    cap = s->cap ? s->cap * 2 : 1 << 16;
		uint32_t *ids = ad_reallocarray(s->ids, cap, sizeof *ids);
		if (ids == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory holding %zu tokens of the corpus",
			    s->n);
		s->ids = ids;
		s->cap = cap;
	}
	s->ids[s->n++] = id;
	return 0;
}

/* lmplz's word separators. */
static inline int
count_is_sep(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\0';
}

static int
count_special(const uint8_t *w, size_t len)
{
	return (len == 3 && memcmp(w, "<s>", 3) == 0) || (len == 4 && memcmp(w, "</s>", 4) == 0) ||
	    (len == 5 && memcmp(w, "<unk>", 5) == 0);
}

/* The tokens of one line (without its newline) onto the stream. */
static int
count_line_words(struct ngram_est *m, struct stream *s, const uint8_t *p, size_t len,
                 const char *path, uint64_t lineno, struct ad_error *e)
{
	size_t i = 0;
	int    rc;

	while (i < len) {
		size_t   start;
		uint32_t id;

		while (i < len && count_is_sep(p[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !count_is_sep(p[i]))
			i++;
		if (count_special(p + start, i - start)) {
			if (m->cfg.skip_symbols)
				continue;
			return ad_fail(e, AD_EFORMAT,
			    "%s:%llu: the word '%.*s' is a sentence marker and may not appear in the "
			    "text; remove it, or give --skip-symbols to read <s>, </s> and <unk> as "
			    "spaces", path, (unsigned long long)lineno, (int)(i - start),
			    (const char *)p + start);
		}
		if ((rc = ngram_vocab_add(&m->vocab, (const char *)p + start, i - start, &id, e)) != 0)
			return rc;
		if ((rc = stream_push(s, id, e)) != 0)
			return rc;
	}
	return 0;
}

static int
count_line_bytes(struct ngram_est *m, struct stream *s, const uint8_t *p, size_t len,
                 uint32_t byte_id[256], struct ad_error *e)
{
	int rc;

	for (size_t i = 0; i < len; i++) {
		uint32_t id = byte_id[p[i]];
		if (id == UINT32_MAX) {
			if ((rc = ngram_vocab_add(&m->vocab, (const char *)p + i, 1, &id, e)) != 0)
				return rc;
			byte_id[p[i]] = id;
		}
		if ((rc = stream_push(s, id, e)) != 0)
			return rc;
	}
	return 0;
}

static int
count_read(struct ngram_est *m, struct stream *s, const char *const *files, size_t nfiles,
           struct ad_progress *prog, struct ad_error *e)
{
	uint32_t byte_id[256];
	uint64_t done = 0, total = 0;
	void    *enc = NULL;
	uint32_t *tokmap = NULL;
	int      rc = 0;

	memset(byte_id, 0xff, sizeof byte_id);
	for (size_t f = 0; f < nfiles; f++) {
		uint64_t size;
		if (strcmp(files[f], "-") != 0 && ad_file_size(files[f], &size, NULL) == 0)
			total += size;
	}
	ad_progress_set_total(prog, total);
	if (m->cfg.unit == NGRAM_TOKENS && (rc = ngram_tokens_begin(m, &enc, &tokmap, e)) != 0)
		return rc;
	for (size_t f = 0; f < nfiles && rc == 0; f++) {
		struct ad_map map;
		uint64_t      lineno = 0;
		size_t        at = 0;

		if ((rc = ad_map_file(files[f], &map, e)) != 0)
			break;
		while (at < map.size && rc == 0) {
			const uint8_t *p = map.data + at, *nl;
			size_t         len, left = map.size - at;
			int            terminated;

			nl = memchr(p, '\n', left);
			len = nl != NULL ? (size_t)(nl - p) : left;
			terminated = nl != NULL || f + 1 < nfiles;
			lineno++;
			if ((rc = stream_push(s, NGRAM_BOS, e)) != 0)
				break;
			switch (m->cfg.unit) {
			case NGRAM_WORDS:
				rc = count_line_words(m, s, p, len, files[f], lineno, e);
				break;
			case NGRAM_BYTES:
				rc = count_line_bytes(m, s, p, len, byte_id, e);
				break;
			case NGRAM_TOKENS:
				rc = ngram_count_line_tokens(m, enc, &s->ids, &s->n, &s->cap, p, len, tokmap,
				    files[f], lineno, e);
				break;
			}
			/* lmplz ends a sentence at each newline; the last line of the
			 * input, when it has none, gets no </s>. */
			if (rc == 0 && terminated)
				rc = stream_push(s, NGRAM_EOS, e);
			m->lines++;
			at += len + (nl != NULL);
			if ((lineno & 0x3fff) == 0) {
				ad_progress_update(prog, done + at);
				if (ad_interrupted())
					rc = ad_fail(e, AD_EINTR, "%s:%llu: interrupted", files[f],
					    (unsigned long long)lineno);
			}
		}
		done += map.size;
		ad_map_release(&map);
		ad_progress_update(prog, done);
	}
	if (m->cfg.unit == NGRAM_TOKENS)
		ngram_tokens_end(enc, tokmap);
	if (rc == 0 && s->n == 0)
		return ad_fail(e, AD_EDATA, "%s%s: the corpus is empty; give a file with text in it",
		    files[0], nfiles > 1 ? " ..." : "");
	if (rc == 0 && s->n >= UINT32_MAX)
		return ad_fail(e, AD_EDATA, "the corpus has %zu tokens, more than a model counts "
		    "(%u); split it", s->n, UINT32_MAX - 1);
	return rc;
}

/* The windows of the sentences in ids[0..n), which starts at a <s>. */
static size_t
count_windows(const uint32_t *ids, size_t n, uint32_t N, uint32_t *out)
{
	size_t w = 0, s = 0;

	while (s < n) {
		size_t e = s + 1, L;
		while (e < n && ids[e] != NGRAM_BOS)
			e++;
		L = e - s;
		if (N == 1) {
			for (size_t i = s; i < e; i++, w++) {
				out[w * 2] = ids[i];
				out[w * 2 + 1] = 1;
			}
		} else if (L >= N) {
			for (size_t i = s; i + N <= e; i++, w++) {
				memcpy(out + w * (N + 1), ids + i, (size_t)N * 4);
				out[w * (N + 1) + N] = 1;
			}
		} else {
			uint32_t *r = out + w * (N + 1);
			memcpy(r, ids + s, L * 4);
			for (size_t k = L; k < N; k++)
				r[k] = NGRAM_PAD;
			r[N] = 1;
			w++;
		}
		s = e;
	}
	return w;
}

struct run {
	uint32_t *rec;
	size_t    count;
};

/* Merge two sorted, deduplicated runs into a new one (counts added). */
static int
count_merge(struct run *out, const struct run *a, const struct run *b, uint32_t N,
            struct ad_error *e)
{
	uint32_t  width = N + 1;
	uint32_t *r = ad_mallocarray(a->count + b->count, (size_t)width * 4);
	size_t    i = 0, j = 0, k = 0;

	if (r == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory merging %zu counted n-grams",
		    a->count + b->count);
	while (i < a->count && j < b->count) {
		const uint32_t *x = a->rec + i * width, *y = b->rec + j * width;
		int             c = 0;
		for (uint32_t t = 0; t < N && c == 0; t++)
			c = x[t] < y[t] ? -1 : x[t] > y[t];
		if (c < 0) {
			memcpy(r + k++ * width, x, (size_t)width * 4);
			i++;
		} else if (c > 0) {
			memcpy(r + k++ * width, y, (size_t)width * 4);
			j++;
		} else {
			uint64_t sum = (uint64_t)x[N] + y[N];
			memcpy(r + k * width, x, (size_t)width * 4);
			r[k++ * width + N] = sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
			i++;
			j++;
		}
	}
	memcpy(r + k * width, a->rec + i * width, (a->count - i) * width * 4);
	k += a->count - i;
	memcpy(r + k * width, b->rec + j * width, (b->count - j) * width * 4);
	k += b->count - j;
	out->rec = r;
	out->count = k;
	return 0;
}

/* Merge the two runs on top of the stack into one. */
static int
count_merge_top(struct run *stack, size_t *top, uint32_t N, struct ad_error *e)
{
	struct run merged;
	int        rc;

	if ((rc = count_merge(&merged, &stack[*top - 2], &stack[*top - 1], N, e)) != 0)
		return rc;
	ad_free(stack[*top - 2].rec);
	ad_free(stack[*top - 1].rec);
	stack[*top - 2] = merged;
	(*top)--;
	return 0;
}

int
ngram_count(struct ngram_est *m, const char *const *files, size_t nfiles,
            struct ad_progress *prog, struct ad_error *e)
{
	struct stream s = { 0 };
	uint32_t      N = m->cfg.order, width = N + 1, T = 1;
	size_t       *bstart = NULL, nblocks = 0, block, maxblock = 0;
	uint32_t    **scratch = NULL;
	size_t       *got = NULL;
	struct run    stack[64];
	size_t        top = 0;
	int           rc;

	if ((rc = count_read(m, &s, files, nfiles, prog, e)) != 0)
		goto out;
	for (size_t i = 0; i < s.n; i++)
		m->tokens += s.ids[i] != NGRAM_BOS;
#ifdef _OPENMP
	T = (uint32_t)omp_get_max_threads();
#endif
	block = m->cfg.block_tokens;
	if (block == 0) {
		block = s.n / (2 * (size_t)T);
		block = block < (1u << 16) ? 1u << 16 : block > (1u << 22) ? 1u << 22 : block;
	}
	/* Blocks start at sentence starts; a sentence longer than a block
	 * makes a longer block. */
	if ((bstart = ad_mallocarray(s.n / block + 2, sizeof *bstart)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < s.n;) {
		size_t end = i + block < s.n ? i + block : s.n;
		while (end < s.n && s.ids[end] != NGRAM_BOS)
			end++;
		bstart[nblocks++] = i;
		maxblock = end - i > maxblock ? end - i : maxblock;
		i = end;
	}
	bstart[nblocks] = s.n;
	scratch = ad_calloc((size_t)T * 2, sizeof *scratch);
	got = ad_calloc(T, sizeof *got);
	if (scratch == NULL || got == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto out;
	}
	for (uint32_t t = 0; t < 2 * T && t < 2 * nblocks; t++)
		if ((scratch[t] = ad_mallocarray(maxblock, (size_t)width * 4)) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory for counting blocks of %zu tokens",
			    maxblock);
			goto out;
		}
	for (size_t b0 = 0; b0 < nblocks; b0 += T) {
		size_t nb = nblocks - b0 < T ? nblocks - b0 : T;
		/* Each thread owns block b0 + t and the scratch pair 2t, 2t + 1;
		 * the stream is only read. */
		#pragma omp parallel for schedule(static, 1) num_threads(nb)
		for (size_t t = 0; t < nb; t++) {
			size_t    b = b0 + t;
			uint32_t *rec = scratch[2 * t], *tmp = scratch[2 * t + 1];
			size_t    w = count_windows(s.ids + bstart[b], bstart[b + 1] - bstart[b], N, rec);
			ngram_sort(rec, tmp, w, width, N, m->vocab.size - 1);
			got[t] = ngram_dedupe(rec, w, width, N);
		}
		for (size_t t = 0; t < nb; t++) {
			struct run r = { ad_mallocarray(got[t] ? got[t] : 1, (size_t)width * 4), got[t] };
			if (r.rec == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory keeping %zu counted n-grams",
				    got[t]);
				goto out;
			}
			memcpy(r.rec, scratch[2 * t], got[t] * width * 4);
			stack[top++] = r;
			while (top >= 2 && stack[top - 2].count <= 2 * stack[top - 1].count)
				if ((rc = count_merge_top(stack, &top, N, e)) != 0)
					goto out;
		}
		if (ad_interrupted()) {
			rc = ad_fail(e, AD_EINTR, "interrupted while counting");
			goto out;
		}
	}
	while (top >= 2)
		if ((rc = count_merge_top(stack, &top, N, e)) != 0)
			goto out;
	m->g[N].n = N;
	m->g[N].rec = stack[0].rec;
	m->g[N].count = stack[0].count;
	top = 0;
out:
	while (top > 0)
		ad_free(stack[--top].rec);
	if (scratch != NULL)
		for (uint32_t t = 0; t < 2 * T; t++)
			ad_free(scratch[t]);
	ad_free(scratch);
	ad_free(got);
	ad_free(bstart);
	ad_free(s.ids);
	return rc;
}
