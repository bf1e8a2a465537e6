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
 * The text is streamed: read in pieces of cfg->chunk_bytes (ad_chunks) and
 * turned into ids (sequentially: ids are given in order of first
 * appearance), a line longer than a piece in parts cut where the unit
 * allows (between words; anywhere for bytes; at bpe_cut_point for tokens).
 * The ids collect in a stream until it holds a group of T blocks (T
 * threads); the group is then cut at sentence starts into blocks of about
 * `block` tokens, and OpenMP threads turn blocks into windows, radix-sort
 * them and merge duplicates, one block per thread. A sentence longer than
 * a block is cut inside, the next block starting N - 1 ids before the cut,
 * so that every window lies wholly in exactly one block; the same holds
 * when a group ends inside a sentence, whose last N - 1 ids start the next
 * group. The sorted runs are merged as they come, keeping run sizes
 * geometric (like the run stack of a merge sort). Memory is therefore the
 * distinct windows (twice, while the last runs merge) plus a group and two
 * blocks of windows per thread, whatever the size of the corpus: only a
 * line with nowhere to cut it (a single word of megabytes, or a tokenizer
 * with a user pattern) is held whole.
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

#define COUNT_CHUNK ((size_t)4 << 20)
#define COUNT_BLOCK ((size_t)1 << 18)

struct run {
	uint32_t *rec;
	size_t    count;
};

/* The state of a count: the stream of ids not yet counted, and the runs. */
struct counter {
	struct ngram_est *m;
	uint32_t          N, width, T;
	size_t            block;     /* ids per block */
	struct stream     s;         /* ids read since the last group */
	size_t            ctx;       /* s begins with this many ids of context (N - 1 or 0) */
	size_t            sent;      /* where the open sentence starts in s (its <s>, or 0) */
	uint64_t          pushed;    /* ids read in all */
	uint32_t        **scratch;   /* (2 T) blocks of windows, (scap, width) each */
	size_t            scap;
	size_t           *bstart;    /* block starts of a group, (nbcap) */
	uint8_t          *bmid;      /* (nbcap): block b + 1 starts N - 1 before block b's end */
	size_t            nbcap;
	size_t           *got;       /* (T) */
	struct run        stack[64];
	size_t            top;
};

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

/*
 * Count the stream: cut it into blocks, count T blocks at a time on the
 * threads, push the runs. open: the stream ends inside a sentence, whose
 * last N - 1 ids stay as the context of the next group.
 */
static int
count_group(struct counter *c, int open, struct ad_error *e)
{
	struct ngram_est *m = c->m;
	uint32_t         *ids = c->s.ids, N = c->N, width = c->width;
	size_t            n = c->s.n, nblocks = 0, maxblock = 0, keep;
	int               rc;

	if (n <= c->ctx)
		return 0;   /* only context: every window was counted */
	for (size_t i = c->ctx; i < n; i++)
		m->tokens += ids[i] != NGRAM_BOS;
	/* Blocks start at sentence starts, at least c->block ids apart; a
	 * sentence that runs 2 c->block past a block's start is cut there (it
	 * has c->block ids or more in the block, so N or more), and the next
	 * block starts N - 1 ids back, so the windows that cross the cut are
	 * counted there and only there. */
	for (size_t i = 0; i < n;) {
		size_t end = i + c->block < n ? i + c->block : n;
		int    mid = 0;
		while (end < n && ids[end] != NGRAM_BOS && end - i < 2 * c->block)
			end++;
		if (end < n && ids[end] != NGRAM_BOS)
			mid = 1;
		if (nblocks + 2 > c->nbcap) {
			size_t   nc = c->nbcap ? c->nbcap * 2 : 64;
			size_t  *bs = ad_reallocarray(c->bstart, nc, sizeof *bs);
			uint8_t *bm;
			if (bs == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory");
			c->bstart = bs;
			if ((bm = ad_realloc(c->bmid, nc)) == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory");
			c->bmid = bm;
			c->nbcap = nc;
		}
		c->bstart[nblocks] = i;
		c->bmid[nblocks++] = (uint8_t)mid;
		maxblock = end - i > maxblock ? end - i : maxblock;
		i = mid ? end - (N - 1) : end;
	}
	if (maxblock > c->scap) {
		for (uint32_t t = 0; t < 2 * c->T; t++) {
			ad_free(c->scratch[t]);
			if ((c->scratch[t] = ad_mallocarray(maxblock, (size_t)width * 4)) == NULL) {
				c->scap = 0;
				return ad_fail(e, AD_ENOMEM, "out of memory for counting blocks of %zu "
				    "tokens", maxblock);
			}
		}
		c->scap = maxblock;
	}
	for (size_t b0 = 0; b0 < nblocks; b0 += c->T) {
		size_t nb = nblocks - b0 < c->T ? nblocks - b0 : c->T;
		/* Each thread owns block b0 + t and the scratch pair 2t, 2t + 1;
		 * the stream is only read. */
		#pragma omp parallel for schedule(static, 1) num_threads(nb)
		for (size_t t = 0; t < nb; t++) {
			size_t    b = b0 + t;
			size_t    z = b + 1 < nblocks ? (c->bmid[b] ? c->bstart[b + 1] + (N - 1) :
			    c->bstart[b + 1]) : n;
			uint32_t *rec = c->scratch[2 * t], *tmp = c->scratch[2 * t + 1];
			size_t    w = count_windows(ids + c->bstart[b], z - c->bstart[b], N, rec);
			ngram_sort(rec, tmp, w, width, N, m->vocab.size - 1);
			c->got[t] = ngram_dedupe(rec, w, width, N);
		}
		for (size_t t = 0; t < nb; t++) {
			struct run r = { ad_mallocarray(c->got[t] ? c->got[t] : 1, (size_t)width * 4),
			    c->got[t] };
			if (r.rec == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory keeping %zu counted n-grams",
				    c->got[t]);
			memcpy(r.rec, c->scratch[2 * t], c->got[t] * width * 4);
			c->stack[c->top++] = r;
			while (c->top >= 2 && c->stack[c->top - 2].count <= 2 * c->stack[c->top - 1].count)
				if ((rc = count_merge_top(c->stack, &c->top, N, e)) != 0)
					return rc;
		}
	}
	keep = open ? N - 1 : 0;
	memmove(ids, ids + n - keep, keep * sizeof *ids);
	c->s.n = keep;
	c->ctx = keep;
	c->sent = 0;
	return 0;
}

/* Count the stream when it holds a group (and an open sentence N ids or more). */
static int
count_maybe(struct counter *c, int open, struct ad_error *e)
{
	if (c->s.n < (size_t)c->T * c->block || (open && c->s.n - c->sent < c->N))
		return 0;
	return count_group(c, open, e);
}

/* Where a part of a long line may end: after a separator, anywhere, or at a cut point. */
static size_t
count_cut(struct ngram_est *m, const uint8_t *p, size_t len)
{
	switch (m->cfg.unit) {
	case NGRAM_WORDS:
		while (len > 0 && !count_is_sep(p[len - 1]))
			len--;
		return len;
	case NGRAM_BYTES:
		return len;
	default:
		return ngram_tokens_cut(m, p, len);
	}
}

struct reader {
	struct ngram_est *m;
	struct counter   *c;
	uint32_t          byte_id[256];
	void             *enc;
	uint32_t         *tokmap;
};

/* The tokens of p[0..len), all or part of one line, onto the stream. */
static int
count_part(struct reader *r, const uint8_t *p, size_t len, const char *path, uint64_t lineno,
           struct ad_error *e)
{
	struct counter *c = r->c;
	size_t          before = c->s.n;
	int             rc;

	switch (r->m->cfg.unit) {
	case NGRAM_WORDS:
		rc = count_line_words(r->m, &c->s, p, len, path, lineno, e);
		break;
	case NGRAM_BYTES:
		rc = count_line_bytes(r->m, &c->s, p, len, r->byte_id, e);
		break;
	default:
		rc = ngram_count_line_tokens(r->m, r->enc, &c->s.ids, &c->s.n, &c->s.cap, p, len,
		    r->tokmap, path, lineno, e);
		break;
	}
	c->pushed += c->s.n - before;
	return rc;
}

static int
count_begin_line(struct counter *c, struct ad_error *e)
{
	c->sent = c->s.n;
	c->pushed++;
	return stream_push(&c->s, NGRAM_BOS, e);
}

/* End the open line: </s> when it had a newline or more files follow (lmplz). */
static int
count_end_line(struct counter *c, int terminated, struct ad_error *e)
{
	int rc;

	c->m->lines++;
	if (terminated) {
		c->pushed++;
		if ((rc = stream_push(&c->s, NGRAM_EOS, e)) != 0)
			return rc;
	}
	return count_maybe(c, 0, e);
}

static int
count_read(struct counter *c, const char *const *files, size_t nfiles,
           struct ad_progress *prog, struct ad_error *e)
{
	struct ngram_est *m = c->m;
	struct reader     r = { .m = m, .c = c };
	uint8_t          *carry = NULL;
	size_t            clen = 0, ccap = 0;
	uint64_t          done = 0, total = 0;
	size_t            chunk = m->cfg.chunk_bytes ? m->cfg.chunk_bytes : COUNT_CHUNK;
	struct ad_hash    th;
	int               rc = 0;

	memset(r.byte_id, 0xff, sizeof r.byte_id);
	ad_hash_init(&th, 0);
	m->text_bytes = 0;
	for (size_t f = 0; f < nfiles; f++) {
		uint64_t size;
		if (strcmp(files[f], "-") != 0 && ad_file_size(files[f], &size, NULL) == 0)
			total += size;
	}
	ad_progress_set_total(prog, total);
	if (m->cfg.unit == NGRAM_TOKENS && (rc = ngram_tokens_begin(m, &r.enc, &r.tokmap, e)) != 0)
		return rc;
	for (size_t f = 0; f < nfiles && rc == 0; f++) {
		struct ad_chunks *ck;
		const uint8_t    *data;
		size_t            len;
		uint64_t          lineno = 0;
		int               cut, open = 0;

		if ((rc = ad_chunks_open(&ck, files[f], chunk, e)) != 0)
			break;
		clen = 0;
		while (rc == 0 && (rc = ad_chunks_next(ck, &data, &len, &cut, e)) == 1) {
			const uint8_t *s = data, *nl;
			size_t         n = len, pos = 0, k;

			rc = 0;
			ad_hash_update(&th, data, len);
			m->text_bytes += len;
			if (clen > 0) {
				/* The start of a long line, carried over: join it to this piece. */
				if (clen + len > ccap) {
					size_t   nc = (clen + len) * 2;
					uint8_t *p = ad_realloc(carry, nc);
					if (p == NULL) {
						rc = ad_fail(e, AD_ENOMEM, "%s:%llu: out of memory holding a line "
						    "of %zu bytes", files[f], (unsigned long long)lineno, clen + len);
						break;
					}
					carry = p;
					ccap = nc;
				}
				memcpy(carry + clen, data, len);
				s = carry;
				n = clen + len;
				clen = 0;
			}
			/* Whole lines. */
			while (rc == 0 && pos < n && (nl = memchr(s + pos, '\n', n - pos)) != NULL) {
				if (!open) {
					lineno++;
					rc = count_begin_line(c, e);
				}
				if (rc == 0)
					rc = count_part(&r, s + pos, (size_t)(nl - s) - pos, files[f], lineno, e);
				if (rc == 0)
					rc = count_end_line(c, 1, e);
				open = 0;
				pos = (size_t)(nl - s) + 1;
			}
			/* A line that goes on in the next piece: count it up to a cut
			 * and carry the rest. (A piece that ends without a newline and
			 * is not cut ends the file; so does a cut piece that turns out
			 * to be the last, handled after the loop.) */
			if (rc == 0 && pos < n) {
				k = cut ? count_cut(m, s + pos, n - pos) : n - pos;
				if (k > 0) {
					if (!open) {
						lineno++;
						rc = count_begin_line(c, e);
						open = 1;
					}
					if (rc == 0)
						rc = count_part(&r, s + pos, k, files[f], lineno, e);
					if (rc == 0)
						rc = count_maybe(c, 1, e);
					pos += k;
				}
				if (rc == 0 && pos < n) {
					if (n - pos > ccap) {
						size_t   nc = (n - pos) * 2;
						uint8_t *p = ad_malloc(nc);
						if (p == NULL) {
							rc = ad_fail(e, AD_ENOMEM, "out of memory");
							break;
						}
						memcpy(p, s + pos, n - pos);
						ad_free(carry);
						carry = p;
						ccap = nc;
					} else {
						memmove(carry, s + pos, n - pos);
					}
					clen = n - pos;
				}
				if (rc == 0 && !cut) {
					rc = count_end_line(c, f + 1 < nfiles, e);
					open = 0;
				}
			}
			ad_progress_update(prog, done + ad_chunks_offset(ck));
			if (rc == 0 && ad_interrupted())
				rc = ad_fail(e, AD_EINTR, "%s:%llu: interrupted", files[f],
				    (unsigned long long)lineno);
		}
		if (rc == 0 && (clen > 0 || open)) {
			/* The file ended inside a line (without a newline). */
			if (!open) {
				lineno++;
				rc = count_begin_line(c, e);
			}
			if (rc == 0 && clen > 0)
				rc = count_part(&r, carry, clen, files[f], lineno, e);
			if (rc == 0)
				rc = count_end_line(c, f + 1 < nfiles, e);
		}
		clen = 0;
		done += ad_chunks_offset(ck);
		ad_chunks_free(ck);
		ad_progress_update(prog, done);
	}
	ad_free(carry);
	m->text_hash = ad_hash_digest(&th);
	if (m->cfg.unit == NGRAM_TOKENS)
		ngram_tokens_end(r.enc, r.tokmap);
	if (rc == 0 && c->pushed == 0)
		return ad_fail(e, AD_EDATA, "%s%s: the corpus is empty; give a file with text in it",
		    files[0], nfiles > 1 ? " ..." : "");
	return rc;
}

int
ngram_count(struct ngram_est *m, const char *const *files, size_t nfiles,
            struct ad_progress *prog, struct ad_error *e)
{
	struct counter c = { 0 };
	int            rc;

	c.m = m;
	c.N = m->cfg.order;
	c.width = c.N + 1;
	c.T = 1;
#ifdef _OPENMP
	c.T = (uint32_t)omp_get_max_threads();
#endif
	/* Blocks of COUNT_BLOCK ids; fewer for a small input, so that its
	 * blocks still keep every thread busy (an input of n bytes has about
	 * n / 4 ids or more). */
	c.block = m->cfg.block_tokens;
	if (c.block == 0) {
		uint64_t total = 0, size;
		int      known = 1;
		for (size_t f = 0; f < nfiles; f++)
			if (strcmp(files[f], "-") == 0 || ad_file_size(files[f], &size, NULL) != 0)
				known = 0;
			else
				total += size;
		c.block = COUNT_BLOCK;
		if (known && total / 8 / c.T < c.block)
			c.block = total / 8 / c.T < COUNT_BLOCK / 4 ? COUNT_BLOCK / 4 :
			    (size_t)(total / 8 / c.T);
	}
	if (c.block < c.N)
		c.block = c.N;
	if ((c.scratch = ad_calloc((size_t)c.T * 2, sizeof *c.scratch)) == NULL ||
	    (c.got = ad_calloc(c.T, sizeof *c.got)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = count_read(&c, files, nfiles, prog, e)) != 0 ||
	    (rc = count_group(&c, 0, e)) != 0)
		goto out;
	if (ad_interrupted()) {
		rc = ad_fail(e, AD_EINTR, "interrupted while counting");
		goto out;
	}
	while (c.top >= 2)
		if ((rc = count_merge_top(c.stack, &c.top, c.N, e)) != 0)
			goto out;
	m->g[c.N].n = c.N;
	m->g[c.N].rec = c.stack[0].rec;
	m->g[c.N].count = c.stack[0].count;
	c.top = 0;
out:
	while (c.top > 0)
		ad_free(c.stack[--c.top].rec);
	if (c.scratch != NULL)
		for (uint32_t t = 0; t < 2 * c.T; t++)
			ad_free(c.scratch[t]);
	ad_free(c.scratch);
	ad_free(c.got);
	ad_free(c.bstart);
	ad_free(c.bmid);
	ad_free(c.s.ids);
	return rc;
}
