/*
 * corpus.c — the corpus side of a bias report: word counts, co-occurrence
 * counts around the probe words, and PPMI vectors.
 *
 * Input: a text file, streamed once in large pieces that end on line
 * boundaries (base/io.h); each line is split into lower-cased words
 * (probe_words). Output: for every word its frequency and its number of
 * window pairs; for every focus word f (the probe's WEAT words and template
 * targets) two sparse rows over the vocabulary:
 *
 *   pairs[f][w]  pairs of occurrences (f at i, w at j), |i - j| <= W, i != j,
 *                on the same line: the co-occurrence counts behind PPMI;
 *   near[f][w]   occurrences of w within W words of some occurrence of f on
 *                its line, each counted once (W = 0: anywhere on the line):
 *                the template association counts. On a one-sentence-per-line
 *                synthetic corpus with W = 0 these are exactly the counts of
 *                `autodidact synth`'s ground truth.
 *
 * Memory: the vocabulary (a hash table of strings) and the rows of the
 * focus words; never the text. Work: O(tokens · W) for the focus words.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/progress.h"
#include "probe/probe.h"

#define NONE UINT32_MAX

/* A map from 64-bit keys (focus << 32 | word) to counts, open addressing. */
struct cmap {
	uint64_t *key;     /* (cap) key + 1; 0 = empty */
	uint64_t *val;     /* (cap) */
	size_t    n, cap;  /* cap a power of two */
};

static int
cmap_add(struct cmap *m, uint64_t key, uint64_t add)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		size_t    nc = m->cap ? m->cap * 2 : 1024;
		uint64_t *nk = ad_calloc(nc, sizeof *nk), *nv = ad_calloc(nc, sizeof *nv);
		if (nk == NULL || nv == NULL) {
			ad_free(nk);
			ad_free(nv);
			return -1;
		}
		for (size_t j = 0; j < m->cap; j++) {
			if (m->key[j] == 0)
				continue;
			for (i = ad_mix64(m->key[j]) & (nc - 1); nk[i] != 0; i = (i + 1) & (nc - 1))
				;
			nk[i] = m->key[j];
			nv[i] = m->val[j];
		}
		ad_free(m->key);
		ad_free(m->val);
		m->key = nk;
		m->val = nv;
		m->cap = nc;
	}
	key++;
	for (i = ad_mix64(key) & (m->cap - 1); m->key[i] != 0 && m->key[i] != key;
	    i = (i + 1) & (m->cap - 1))
		;
	if (m->key[i] == 0) {
		m->key[i] = key;
		m->n++;
	}
	m->val[i] += add;
	return 0;
}

static uint64_t
cmap_get(const struct cmap *m, uint64_t key)
{
	if (m->cap == 0)
		return 0;
	key++;
	for (size_t i = ad_mix64(key) & (m->cap - 1); m->key[i] != 0; i = (i + 1) & (m->cap - 1))
		if (m->key[i] == key)
			return m->val[i];
	return 0;
}

static void
cmap_free(struct cmap *m)
{
	ad_free(m->key);
	ad_free(m->val);
}

/* One entry of a focus word's sparse row, sorted by word. */
struct cell { uint32_t w; uint64_t n; };

struct probe_corpus {
	/* The vocabulary: strings in one arena, a hash table of ids. */
	char      *arena;   size_t narena, carena;
	uint32_t  *off;     /* (V) offset of word id in arena */
	uint32_t  *len;     /* (V) */
	uint64_t  *freq;    /* (V) occurrences */
	uint64_t  *ctx;     /* (V) window pairs involving the word */
	uint32_t  *focus;   /* (V) focus index of the word, NONE if not focus */
	size_t     V, capV;
	uint32_t  *table;   /* (ctable) word id + 1; 0 = empty */
	size_t     ctable;
	/* The focus words. */
	uint32_t  *fword;   /* (nfocus) their word ids */
	size_t     nfocus;
	struct cmap pairs, near;
	/* Rows of pairs[f], built after counting (CSR). */
	size_t     *row;    /* (nfocus + 1) */
	struct cell *cells;
	double      D;      /* all window pairs */
	/* Totals. */
	uint64_t   lines, tokens, bytes, hash;
	unsigned   window;
	/* Per-line scratch. */
	uint32_t  *ids;     size_t nids, cids;
	uint64_t  *stamp;   size_t cstamp;
	uint64_t   stampno;
	int        oom;
};

static uint64_t
word_hash(const char *w, size_t n)
{
	return ad_hash64(w, n, 0x70726f6265ULL);
}

/* The id of word w (n bytes), inserting it when insert; NONE if absent. */
static uint32_t
vocab_id(struct probe_corpus *c, const char *w, size_t n, int insert)
{
	uint64_t h = word_hash(w, n);
	size_t   i;

	if (c->ctable > 0)
		for (i = h & (c->ctable - 1); c->table[i] != 0; i = (i + 1) & (c->ctable - 1)) {
			uint32_t id = c->table[i] - 1;
			if (c->len[id] == n && memcmp(c->arena + c->off[id], w, n) == 0)
				return id;
		}
	if (!insert)
		return NONE;
	if (c->V >= UINT32_MAX - 1 || c->narena + n > UINT32_MAX)
		return c->oom = 1, NONE;
	/* Grow the table at half load, and the per-word arrays. */
	if (2 * (c->V + 1) > c->ctable) {
		size_t    nc = c->ctable ? c->ctable * 2 : 1 << 14;
		uint32_t *nt = ad_calloc(nc, sizeof *nt);
		if (nt == NULL)
			return c->oom = 1, NONE;
		for (uint32_t id = 0; id < c->V; id++) {
			uint64_t hh = word_hash(c->arena + c->off[id], c->len[id]);
			for (i = hh & (nc - 1); nt[i] != 0; i = (i + 1) & (nc - 1))
				;
			nt[i] = id + 1;
		}
		ad_free(c->table);
		c->table = nt;
		c->ctable = nc;
	}
	if (c->V == c->capV) {
		size_t nc = c->capV ? c->capV * 2 : 1 << 13;
		void  *p;
#define GROWV(f) if ((p = ad_reallocarray(c->f, nc, sizeof *c->f)) == NULL) return c->oom = 1, NONE; c->f = p
		GROWV(off); GROWV(len); GROWV(freq); GROWV(ctx); GROWV(focus);
#undef GROWV
		c->capV = nc;
	}
	if (c->narena + n > c->carena) {
		size_t nc = c->carena ? c->carena * 2 : 1 << 16;
		char  *p;
		while (nc < c->narena + n)
			nc *= 2;
		if ((p = ad_realloc(c->arena, nc)) == NULL)
			return c->oom = 1, NONE;
		c->arena = p;
		c->carena = nc;
	}
	memcpy(c->arena + c->narena, w, n);
	c->off[c->V] = (uint32_t)c->narena;
	c->len[c->V] = (uint32_t)n;
	c->freq[c->V] = 0;
	c->ctx[c->V] = 0;
	c->focus[c->V] = NONE;
	c->narena += n;
	for (i = h & (c->ctable - 1); c->table[i] != 0; i = (i + 1) & (c->ctable - 1))
		;
	c->table[i] = (uint32_t)c->V + 1;
	return (uint32_t)c->V++;
}

static void
line_word(const char *w, size_t n, size_t pos, void *ctx)
{
	struct probe_corpus *c = ctx;
	uint32_t             id;

	(void)pos;
	if (c->oom)
		return;
	if ((id = vocab_id(c, w, n, 1)) == NONE)
		return;
	if (c->nids == c->cids) {
		size_t    nc = c->cids ? c->cids * 2 : 256;
		uint32_t *p = ad_reallocarray(c->ids, nc, sizeof *p);
		if (p == NULL) {
			c->oom = 1;
			return;
		}
		c->ids = p;
		c->cids = nc;
	}
	c->ids[c->nids++] = id;
}

/* Count one line's words (already in c->ids). */
static int
count_line(struct probe_corpus *c)
{
	size_t L = c->nids, W = c->window ? c->window : L;

	if (L > c->cstamp) {
		uint64_t *p = ad_reallocarray(c->stamp, L, sizeof *p);
		if (p == NULL)
			return -1;
		memset(p, 0, L * sizeof *p);
		c->stamp = p;
		c->cstamp = L;
	}
	for (size_t i = 0; i < L; i++) {
		uint32_t id = c->ids[i], f = c->focus[id];
		size_t   lo = i > W ? i - W : 0, hi = i + W < L - 1 ? i + W : L - 1;
		c->freq[id]++;
		c->ctx[id] += hi - lo;
		if (f == NONE)
			continue;
		for (size_t j = lo; j <= hi; j++)
			if (j != i && cmap_add(&c->pairs, (uint64_t)f << 32 | c->ids[j], 1) != 0)
				return -1;
	}
	/*
	 * near: for each focus word on the line (at its first occurrence), mark
	 * every position within the window of any of its occurrences once.
	 */
	for (size_t i = 0; i < L; i++) {
		uint32_t f = c->focus[c->ids[i]];
		size_t   first;
		if (f == NONE)
			continue;
		for (first = 0; c->ids[first] != c->ids[i]; first++)
			;
		if (first != i)
			continue;
		c->stampno++;
		for (size_t k = i; k < L; k++) {
			size_t lo, hi;
			if (c->ids[k] != c->ids[i])
				continue;
			lo = k > W ? k - W : 0;
			hi = k + W < L - 1 ? k + W : L - 1;
			for (size_t j = lo; j <= hi; j++) {
				if (c->ids[j] == c->ids[i] || c->stamp[j] == c->stampno)
					continue;
				c->stamp[j] = c->stampno;
				if (cmap_add(&c->near, (uint64_t)f << 32 | c->ids[j], 1) != 0)
					return -1;
			}
		}
	}
	return 0;
}

/* Count every line of a piece of text that ends on a line boundary. */
static int
count_text(struct probe_corpus *c, const char *text, size_t len, char **buf, size_t *cbuf,
    struct ad_error *e)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t      n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > *cbuf) {
			char *q = ad_realloc(*buf, n);
			if (q == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory counting the corpus");
			*buf = q;
			*cbuf = n;
		}
		c->nids = 0;
		probe_words(p, n, *buf, line_word, c);
		if (c->oom || count_line(c) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory counting the corpus");
		c->tokens += c->nids;
		c->lines++;
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int
cmp_cell(const void *a, const void *b)
{
	const struct cell *x = a, *y = b;

	return x->w < y->w ? -1 : x->w > y->w;
}

/* Build the sorted rows of pairs[] and the total D. */
static int
finish(struct probe_corpus *c, struct ad_error *e)
{
	size_t *fill;

	c->D = 0;
	for (size_t id = 0; id < c->V; id++)
		c->D += (double)c->ctx[id];
	c->row = ad_calloc(c->nfocus + 1, sizeof *c->row);
	c->cells = ad_mallocarray(c->pairs.n ? c->pairs.n : 1, sizeof *c->cells);
	fill = ad_calloc(c->nfocus + 1, sizeof *fill);
	if (c->row == NULL || c->cells == NULL || fill == NULL) {
		ad_free(fill);
		return ad_fail(e, AD_ENOMEM, "out of memory for the co-occurrence rows");
	}
	for (size_t i = 0; i < c->pairs.cap; i++)
		if (c->pairs.key[i] != 0)
			c->row[((c->pairs.key[i] - 1) >> 32) + 1]++;
	for (size_t f = 0; f < c->nfocus; f++)
		c->row[f + 1] += c->row[f];
	for (size_t i = 0; i < c->pairs.cap; i++)
		if (c->pairs.key[i] != 0) {
			uint64_t k = c->pairs.key[i] - 1;
			size_t   f = (size_t)(k >> 32);
			c->cells[c->row[f] + fill[f]].w = (uint32_t)k;
			c->cells[c->row[f] + fill[f]].n = c->pairs.val[i];
			fill[f]++;
		}
	for (size_t f = 0; f < c->nfocus; f++)
		qsort(c->cells + c->row[f], c->row[f + 1] - c->row[f], sizeof *c->cells, cmp_cell);
	ad_free(fill);
	ad_free(c->ids);
	ad_free(c->stamp);
	c->ids = NULL;
	c->stamp = NULL;
	c->cids = c->cstamp = 0;
	return 0;
}

/* Lower-case a probe word; 0 if it has a character the corpus never splits into a word. */
static int
lower_word(const char *w, char *out, size_t cap)
{
	size_t n = strlen(w);

	if (n == 0 || n >= cap)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		unsigned char ch = (unsigned char)w[i];
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		else if (ch != 0 && !((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch >= 0x80))
			return 0;
		out[i] = (char)ch;
	}
	return 1;
}

static int
corpus_new(struct probe_corpus **out, const char *const *focus, size_t nfocus, unsigned window,
    struct ad_error *e)
{
	struct probe_corpus *c = ad_calloc(1, sizeof *c);

	if (c == NULL || (c->fword = ad_mallocarray(nfocus ? nfocus : 1, sizeof *c->fword)) == NULL) {
		ad_free(c);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	c->window = window;
	for (size_t i = 0; i < nfocus; i++) {
		char     w[256];
		uint32_t id;
		if (!lower_word(focus[i], w, sizeof w)) {
			c->fword[i] = NONE;
			continue;
		}
		if ((id = vocab_id(c, w, strlen(w), 1)) == NONE) {
			probe_corpus_free(c);
			return ad_fail(e, AD_ENOMEM, "out of memory");
		}
		c->fword[i] = id;
		if (c->focus[id] == NONE)
			c->focus[id] = (uint32_t)i;
		else
			c->fword[i] = id;   /* a duplicate: shares the first one's rows */
	}
	c->nfocus = nfocus;
	*out = c;
	return 0;
}

int
probe_corpus_count_mem(struct probe_corpus **out, const char *text, size_t len,
    const char *const *focus, size_t nfocus, unsigned window, struct ad_error *e)
{
	struct probe_corpus *c;
	char                *buf = NULL;
	size_t               cbuf = 0;
	int                  rc;

	if ((rc = corpus_new(&c, focus, nfocus, window, e)) != 0)
		return rc;
	c->hash = ad_hash64(text, len, 0);
	c->bytes = len;
	if ((rc = count_text(c, text, len, &buf, &cbuf, e)) == 0)
		rc = finish(c, e);
	ad_free(buf);
	if (rc != 0) {
		probe_corpus_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

int
probe_corpus_count(struct probe_corpus **out, const char *path, const char *const *focus,
    size_t nfocus, unsigned window, struct ad_progress *progress, struct ad_error *e)
{
	struct probe_corpus *c;
	struct ad_chunks    *ch;
	struct ad_hash       h;
	const uint8_t       *data;
	size_t               len, cbuf = 0;
	char                *buf = NULL;
	int                  rc, cut;

	if ((rc = corpus_new(&c, focus, nfocus, window, e)) != 0)
		return rc;
	if ((rc = ad_chunks_open(&ch, path, (size_t)16 << 20, e)) != 0) {
		probe_corpus_free(c);
		return rc;
	}
	ad_progress_set_total(progress, ad_chunks_total(ch));
	ad_hash_init(&h, 0);
	while ((rc = ad_chunks_next(ch, &data, &len, &cut, e)) == 1) {
		/* A line longer than a piece is split there: a rare, harmless cut. */
		ad_hash_update(&h, data, len);
		c->bytes += len;
		if ((rc = count_text(c, (const char *)data, len, &buf, &cbuf, e)) != 0)
			break;
		ad_progress_update(progress, ad_chunks_offset(ch));
		if (ad_interrupted()) {
			rc = ad_fail(e, AD_EINTR, "%s: interrupted while counting", path);
			break;
		}
	}
	ad_chunks_free(ch);
	ad_free(buf);
	if (rc == 0) {
		c->hash = ad_hash_digest(&h);
		rc = finish(c, e);
	}
	if (rc != 0) {
		if (e != NULL && e->code == AD_ENOMEM)
			ad_error_prefix(e, "%s", path);
		probe_corpus_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void
probe_corpus_free(struct probe_corpus *c)
{
	if (c == NULL)
		return;
	ad_free(c->arena);
	ad_free(c->off);
	ad_free(c->len);
	ad_free(c->freq);
	ad_free(c->ctx);
	ad_free(c->focus);
	ad_free(c->table);
	ad_free(c->fword);
	cmap_free(&c->pairs);
	cmap_free(&c->near);
	ad_free(c->row);
	ad_free(c->cells);
	ad_free(c->ids);
	ad_free(c->stamp);
	ad_free(c);
}

uint64_t probe_corpus_hash(const struct probe_corpus *c) { return c->hash; }
uint64_t probe_corpus_lines(const struct probe_corpus *c) { return c->lines; }
uint64_t probe_corpus_tokens(const struct probe_corpus *c) { return c->tokens; }
uint64_t probe_corpus_bytes(const struct probe_corpus *c) { return c->bytes; }
unsigned probe_corpus_window(const struct probe_corpus *c) { return c->window; }

static uint32_t
lookup(const struct probe_corpus *c, const char *word)
{
	char w[256];

	if (!lower_word(word, w, sizeof w))
		return NONE;
	return vocab_id((struct probe_corpus *)c, w, strlen(w), 0);
}

uint64_t
probe_corpus_freq(const struct probe_corpus *c, const char *word)
{
	uint32_t id = lookup(c, word);

	return id == NONE ? 0 : c->freq[id];
}

/* The focus index of a word, NONE when it is not a focus word. */
static uint32_t
focus_of(const struct probe_corpus *c, const char *word)
{
	uint32_t id = lookup(c, word);

	return id == NONE ? NONE : c->focus[id];
}

uint64_t
probe_corpus_near(const struct probe_corpus *c, const char *target, const char *word)
{
	uint32_t f = focus_of(c, target), w = lookup(c, word);

	if (f == NONE || w == NONE)
		return 0;
	return cmap_get(&c->near, (uint64_t)f << 32 | w);
}

uint64_t
probe_corpus_pairs(const struct probe_corpus *c, const char *fw, const char *word)
{
	uint32_t f = focus_of(c, fw), w = lookup(c, word);

	if (f == NONE || w == NONE)
		return 0;
	return cmap_get(&c->pairs, (uint64_t)f << 32 | w);
}

/* PPMI of focus f with word w given their pair count n. */
static double
ppmi(const struct probe_corpus *c, uint32_t f, uint32_t w, uint64_t n)
{
	double v = log((double)n * c->D / ((double)c->ctx[c->fword[f]] * (double)c->ctx[w]));

	return v > 0 ? v : 0;
}

double
probe_corpus_ppmi_cos(const struct probe_corpus *c, const char *w1, const char *w2)
{
	uint32_t     f = focus_of(c, w1), g = focus_of(c, w2);
	const struct cell *a, *ae, *b, *be;
	double       ab = 0, aa = 0, bb = 0;

	if (f == NONE || g == NONE)
		return NAN;
	a = c->cells + c->row[f];
	ae = c->cells + c->row[f + 1];
	b = c->cells + c->row[g];
	be = c->cells + c->row[g + 1];
	for (const struct cell *x = a; x < ae; x++) {
		double v = ppmi(c, f, x->w, x->n);
		aa += v * v;
	}
	for (const struct cell *x = b; x < be; x++) {
		double v = ppmi(c, g, x->w, x->n);
		bb += v * v;
	}
	/* Merge the two sorted rows for the dot product. */
	while (a < ae && b < be) {
		if (a->w < b->w) {
			a++;
		} else if (b->w < a->w) {
			b++;
		} else {
			ab += ppmi(c, f, a->w, a->n) * ppmi(c, g, b->w, b->n);
			a++;
			b++;
		}
	}
	if (aa == 0 || bb == 0)
		return NAN;
	return ab / sqrt(aa * bb);
}
