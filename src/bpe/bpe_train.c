/*
 * train.c — learning a byte-level BPE vocabulary (Sennrich, Haddow and
 * Birch, "Neural Machine Translation of Rare Words with Subword Units",
 * ACL 2016; byte-level as in Radford et al., "Language Models are
 * Unsupervised Multitask Learners", 2019).
 *
 * Stage 1, counting (input: files, streamed in chunks that end on lines;
 * output: distinct pre-tokens with their counts, in no particular order).
 * Each chunk is cut into blocks of about 256 KiB at the same split points
 * the parallel encoder uses, so the pieces do not depend on the number of
 * threads; OpenMP threads take blocks and count pieces in their own hash
 * tables, which are summed at the end. Memory grows with the number of
 * distinct pieces, never with the text.
 *
 * Stage 2, merging (input: the distinct pieces as symbol sequences with
 * counts; output: merges in order). Pair counts are kept in a hash table
 * with, for each pair, a list of the words that contain it. A merge
 * rewrites only those words and updates only the counts of the pairs it
 * touches (for each occurrence: the pair before it and the pair after it
 * lose the count, the new pairs with the merged symbol gain it). The best
 * pair comes from a max-heap with lazy deletion: an entry whose count is out
 * of date is pushed back with the current count when it surfaces, which is
 * correct because counts of existing pairs only ever decrease; pairs that
 * gained count (the new ones) are pushed after each merge.
 *
 * Order: the highest count; among equal counts the smaller left id, then
 * the smaller right id. Word order never matters, so the result is the
 * same for any number of threads.
 */
#include "config.h"

#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/io.h"
#include "bpe/bpe_impl.h"

#define TRAIN_BLOCK ((size_t)256 << 10)
#define TRAIN_CHUNK ((size_t)4 << 20)
#define TRAIN_CAP0  1024   /* items in a growing array's first allocation */

/* ---- stage 1: counting pieces ------------------------------------------ */

struct pent {
	uint64_t hash;
	uint64_t count;
	uint64_t off;    /* into bytes */
	uint32_t len;
};

/* Distinct pieces and their counts (one per thread while counting). */
struct ptab {
	uint32_t    *slot;   /* (mask + 1): entry + 1, 0 empty */
	size_t       mask;
	struct pent *ent;
	size_t       n, cap;
	uint8_t     *bytes;
	size_t       blen, bcap;
	int          oom;
};

static int
ptab_init(struct ptab *t)
{
	memset(t, 0, sizeof *t);
	t->mask = (1u << 12) - 1;
	return (t->slot = ad_calloc(t->mask + 1, sizeof *t->slot)) == NULL ? AD_ENOMEM : 0;
}

static void
ptab_free(struct ptab *t)
{
	ad_free(t->slot);
	ad_free(t->ent);
	ad_free(t->bytes);
}

static int
ptab_grow(struct ptab *t)
{
	size_t    ns = (t->mask + 1) * 2;
	uint32_t *s = ad_calloc(ns, sizeof *s);

	if (s == NULL)
		return AD_ENOMEM;
	for (size_t i = 0; i < t->n; i++) {
		size_t j = (size_t)t->ent[i].hash & (ns - 1);
		while (s[j] != 0)
			j = (j + 1) & (ns - 1);
		s[j] = (uint32_t)(i + 1);
	}
	ad_free(t->slot);
	t->slot = s;
	t->mask = ns - 1;
	return 0;
}

static int
ptab_add(struct ptab *t, const uint8_t *s, size_t n, uint64_t hash, uint64_t count)
{
	size_t   i = (size_t)hash & t->mask;
	uint32_t v;

	while ((v = t->slot[i]) != 0) {
		struct pent *p = &t->ent[v - 1];
		if (p->hash == hash && p->len == n && memcmp(t->bytes + p->off, s, n) == 0) {
			p->count += count;
			return 0;
		}
		i = (i + 1) & t->mask;
	}
	if (t->n >= UINT32_MAX - 1 || n > UINT32_MAX)
		return AD_ENOMEM;
	if (t->n == t->cap) {
		size_t       nc = t->cap ? t->cap * 2 : 4096;
		struct pent *p = ad_reallocarray(t->ent, nc, sizeof *p);
		if (p == NULL)
			return AD_ENOMEM;
		t->ent = p;
		t->cap = nc;
	}
	if (t->blen + n > t->bcap) {
		size_t   nc = t->bcap ? t->bcap : 1 << 16;
		uint8_t *p;
		while (nc < t->blen + n)
			nc *= 2;
		if ((p = ad_realloc(t->bytes, nc)) == NULL)
			return AD_ENOMEM;
		t->bytes = p;
		t->bcap = nc;
	}
	memcpy(t->bytes + t->blen, s, n);
	t->ent[t->n] = (struct pent){ .hash = hash, .count = count, .off = t->blen, .len = (uint32_t)n };
	t->blen += n;
	t->slot[i] = (uint32_t)++t->n;
	if (t->n * 2 > t->mask)
		return ptab_grow(t);
	return 0;
}

/* Per-thread state of the counting pass. */
struct counter {
	struct ptab         tab;
	struct pretok_iter *it;
	struct norm_buf     nb;
	uint64_t            pieces;
	int                 rc;
	struct ad_error     err;
	const uint8_t      *base;    /* the chunk being counted */
	size_t              errpos;  /* on a pre-tokenization error: its offset in the chunk */
};

/* Count the pieces of seg[0..len), with ctx bytes of look-ahead context. */
static int
count_segment(struct counter *c, const struct bpe_train_config *cfg, const uint8_t *seg,
    size_t len, size_t ctx)
{
	const uint8_t *subj = seg;
	size_t         slen = len + ctx, stop = len, ps, pe;
	int            rc;

	if (cfg->norm != NORM_NONE || cfg->casefold) {
		if ((rc = norm_apply(&c->nb, cfg->norm, cfg->casefold, seg, len + ctx, &c->err)) != 0)
			return rc;
		subj = c->nb.out;
		slen = c->nb.len;
		stop = slen - ctx;
	}
	pretok_start(c->it, subj, slen, stop);
	while ((rc = pretok_next(c->it, &ps, &pe, &c->err)) == 1) {
		if (ptab_add(&c->tab, subj + ps, pe - ps, text_hash(subj + ps, pe - ps), 1) != 0)
			return ad_fail(&c->err, AD_ENOMEM, "out of memory counting pieces (%zu distinct)",
			    c->tab.n);
		c->pieces++;
	}
	if (rc < 0)  /* in normalized text: the offset of the segment */
		c->errpos = (size_t)(seg - c->base) + (subj == seg ? ps : 0);
	return rc;
}

/* Count a block: split on special tokens (never counted), then segments. */
static int
count_block(struct counter *c, const struct bpe_train_config *cfg, const uint8_t *s, size_t len,
    size_t ctx)
{
	size_t pos = 0;
	int    rc;

	while (pos < len) {
		size_t best = len, blen = 0;
		for (size_t k = 0; k < cfg->nspecials; k++) {
			size_t         sl = strlen(cfg->specials[k]);
			const uint8_t *f = sl <= len - pos ? memmem(s + pos, len - pos, cfg->specials[k], sl) :
			    NULL;
			if (f != NULL && ((size_t)(f - s) < best || ((size_t)(f - s) == best && sl > blen))) {
				best = (size_t)(f - s);
				blen = sl;
			}
		}
		if (best == len)
			return count_segment(c, cfg, s + pos, len - pos, ctx);
		if (best > pos && (rc = count_segment(c, cfg, s + pos, best - pos, 0)) != 0)
			return rc;
		pos = best + blen;
	}
	return 0;
}

/* ---- stage 2: merging -------------------------------------------------- */

struct merger {
	/* Words: the distinct pieces of two or more bytes as symbol ids. */
	uint32_t  *sym;      /* all symbols, word w at sym[woff[w] .. woff[w] + wlen[w]) */
	uint64_t  *woff;
	uint32_t  *wlen;
	uint64_t  *wcount;
	uint32_t  *wstamp;   /* the last merge that rewrote the word */
	size_t     nw;
	/* Pairs: (pl, pr) with count and a list of the words holding them. */
	uint32_t  *pl, *pr;
	int64_t   *pcount;
	uint32_t  *phead;    /* first node of the word list, UINT32_MAX none */
	uint32_t  *pstamp;   /* the last merge that pushed the pair */
	size_t     np, pcap;
	uint32_t  *pslot;    /* (pmask + 1): pair + 1, keyed by (l, r) */
	size_t     pmask;
	/* Word-list nodes. */
	uint32_t  *nword, *nnext;
	size_t     nn, ncap;
	/* Heap of (count, pair). */
	struct hent { uint64_t count; uint32_t pair; } *heap;
	size_t     hn, hcap;
	/* Pairs that gained count in the current merge. */
	uint32_t  *touched;
	size_t     nt, tcap;
	/* Tokens: bytes and a table for "is this byte string already a token". */
	size_t    *toff;     /* (ntok + 1) */
	uint8_t   *tbytes;
	size_t     ntok, tokcap, tblen, tbcap;
	uint32_t  *tslot;
	size_t     tmask;
};

static uint32_t
pair_find(struct merger *m, uint32_t l, uint32_t r, int create)
{
	uint64_t key = (uint64_t)l << 32 | r;
	size_t   i = (size_t)ad_mix64(key) & m->pmask;
	uint32_t v;

	while ((v = m->pslot[i]) != 0) {
		if (m->pl[v - 1] == l && m->pr[v - 1] == r)
			return v - 1;
		i = (i + 1) & m->pmask;
	}
	if (!create)
		return UINT32_MAX;
	if (m->np >= UINT32_MAX - 2)
		return UINT32_MAX;
	if (m->np == m->pcap) {
		size_t nc = m->pcap ? m->pcap * 2 : 4096;
		void  *a = ad_reallocarray(m->pl, nc, sizeof *m->pl);
		if (a == NULL) return UINT32_MAX;
		m->pl = a;
		if ((a = ad_reallocarray(m->pr, nc, sizeof *m->pr)) == NULL) return UINT32_MAX;
		m->pr = a;
		if ((a = ad_reallocarray(m->pcount, nc, sizeof *m->pcount)) == NULL) return UINT32_MAX;
		m->pcount = a;
		if ((a = ad_reallocarray(m->phead, nc, sizeof *m->phead)) == NULL) return UINT32_MAX;
		m->phead = a;
		if ((a = ad_reallocarray(m->pstamp, nc, sizeof *m->pstamp)) == NULL) return UINT32_MAX;
		m->pstamp = a;
		m->pcap = nc;
	}
	v = (uint32_t)m->np++;
	m->pl[v] = l;
	m->pr[v] = r;
	m->pcount[v] = 0;
	m->phead[v] = UINT32_MAX;
	m->pstamp[v] = UINT32_MAX;
	m->pslot[i] = v + 1;
	if (m->np * 2 > m->pmask) {
		size_t    ns = (m->pmask + 1) * 2;
		uint32_t *s = ad_calloc(ns, sizeof *s);
		if (s == NULL)
			return UINT32_MAX;
		for (size_t k = 0; k < m->np; k++) {
			size_t j = (size_t)ad_mix64((uint64_t)m->pl[k] << 32 | m->pr[k]) & (ns - 1);
			while (s[j] != 0)
				j = (j + 1) & (ns - 1);
			s[j] = (uint32_t)(k + 1);
		}
		ad_free(m->pslot);
		m->pslot = s;
		m->pmask = ns - 1;
	}
	return v;
}

/* Add delta to the count of (l, r); a gain records word w in its list. */
static int
pair_add(struct merger *m, uint32_t l, uint32_t r, int64_t delta, uint32_t w, uint32_t stamp)
{
	uint32_t p = pair_find(m, l, r, delta > 0);

	if (p == UINT32_MAX)
		return delta > 0 ? AD_ENOMEM : 0;
	m->pcount[p] += delta;
	if (delta <= 0)
		return 0;
	if (m->phead[p] == UINT32_MAX || m->nword[m->phead[p]] != w) {
		if (m->nn == m->ncap) {
			size_t    nc = m->ncap ? m->ncap * 2 : 1 << 16;
			uint32_t *a;
			if (nc >= UINT32_MAX)
				return AD_ENOMEM;
			if ((a = ad_reallocarray(m->nword, nc, sizeof *a)) == NULL)
				return AD_ENOMEM;
			m->nword = a;
			if ((a = ad_reallocarray(m->nnext, nc, sizeof *a)) == NULL)
				return AD_ENOMEM;
			m->nnext = a;
			m->ncap = nc;
		}
		m->nword[m->nn] = w;
		m->nnext[m->nn] = m->phead[p];
		m->phead[p] = (uint32_t)m->nn++;
	}
	if (m->pstamp[p] != stamp) {
		m->pstamp[p] = stamp;
		if (ad_grow(&m->touched, &m->tcap, m->nt + 1, sizeof *m->touched,
		    TRAIN_CAP0) != 0)
			return AD_ENOMEM;
		m->touched[m->nt++] = p;
	}
	return 0;
}

/* Heap order: a before b when a's count is higher, or equal with smaller (l, r). */
static int
hent_before(const struct merger *m, const struct hent *a, const struct hent *b)
{
	if (a->count != b->count)
		return a->count > b->count;
	if (m->pl[a->pair] != m->pl[b->pair])
		return m->pl[a->pair] < m->pl[b->pair];
	return m->pr[a->pair] < m->pr[b->pair];
}

static int
heap_push(struct merger *m, uint64_t count, uint32_t pair)
{
	struct hent x = { count, pair };
	size_t      i;

	if (ad_grow(&m->heap, &m->hcap, m->hn + 1, sizeof *m->heap, TRAIN_CAP0) != 0)
		return AD_ENOMEM;
	i = m->hn++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!hent_before(m, &x, &m->heap[p]))
			break;
		m->heap[i] = m->heap[p];
		i = p;
	}
	m->heap[i] = x;
	return 0;
}

static struct hent
heap_pop(struct merger *m)
{
	struct hent top = m->heap[0], last = m->heap[--m->hn];
	size_t      i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= m->hn)
			break;
		if (c + 1 < m->hn && hent_before(m, &m->heap[c + 1], &m->heap[c]))
			c++;
		if (!hent_before(m, &m->heap[c], &last))
			break;
		m->heap[i] = m->heap[c];
		i = c;
	}
	if (m->hn > 0)
		m->heap[i] = last;
	return top;
}

/* The id of a token with these bytes, adding it when new (id = ntok). */
static int
token_add(struct merger *m, const uint8_t *s, size_t n, uint32_t *id)
{
	uint64_t h = text_hash(s, n);
	size_t   i = (size_t)h & m->tmask;
	uint32_t v;

	while ((v = m->tslot[i]) != 0) {
		size_t o = m->toff[v - 1];
		if (m->toff[v] - o == n && memcmp(m->tbytes + o, s, n) == 0) {
			*id = v - 1;
			return 0;
		}
		i = (i + 1) & m->tmask;
	}
	if (ad_grow(&m->toff, &m->tokcap, m->ntok + 2, sizeof *m->toff, TRAIN_CAP0) != 0 ||
	    ad_grow(&m->tbytes, &m->tbcap, m->tblen + n, 1, TRAIN_CAP0) != 0)
		return AD_ENOMEM;
	memcpy(m->tbytes + m->tblen, s, n);
	m->tblen += n;
	m->toff[m->ntok + 1] = m->tblen;
	m->tslot[i] = (uint32_t)(m->ntok + 1);
	*id = (uint32_t)m->ntok++;
	return 0;
}

/*
 * Rewrite word w, replacing each (l, r) left to right by id, in one pass:
 * symbols are read at i and written at j <= i, so the left neighbour of an
 * occurrence is the symbol already written (possibly id itself, as in
 * "a a a a" -> "aa aa") and the right neighbour is the one still unread.
 * Linear in the word's length however many occurrences it holds (a piece
 * of ten million NUL bytes is one word).
 */
static int
merge_word(struct merger *m, uint32_t w, uint32_t l, uint32_t r, uint32_t id, uint32_t stamp)
{
	uint32_t *s = m->sym + m->woff[w];
	uint32_t  len = m->wlen[w], i = 0, j = 0;
	int64_t   k = (int64_t)m->wcount[w];
	int       rc = 0;

	while (i < len) {
		if (i + 1 < len && s[i] == l && s[i + 1] == r) {
			if (j > 0) {
				rc |= pair_add(m, s[j - 1], l, -k, w, stamp);
				rc |= pair_add(m, s[j - 1], id, k, w, stamp);
			}
			if (i + 2 < len) {
				rc |= pair_add(m, r, s[i + 2], -k, w, stamp);
				rc |= pair_add(m, id, s[i + 2], k, w, stamp);
			}
			s[j++] = id;
			i += 2;
		} else {
			s[j++] = s[i++];
		}
	}
	m->wlen[w] = j;
	return rc;
}

static void
merger_free(struct merger *m)
{
	ad_free(m->sym);
	ad_free(m->woff);
	ad_free(m->wlen);
	ad_free(m->wcount);
	ad_free(m->wstamp);
	ad_free(m->pl);
	ad_free(m->pr);
	ad_free(m->pcount);
	ad_free(m->phead);
	ad_free(m->pstamp);
	ad_free(m->pslot);
	ad_free(m->nword);
	ad_free(m->nnext);
	ad_free(m->heap);
	ad_free(m->touched);
	ad_free(m->toff);
	ad_free(m->tbytes);
	ad_free(m->tslot);
}

/* Words from the counted pieces; pair counts; the first heap. */
static int
merger_init(struct merger *m, const struct ptab *t, uint32_t target, struct ad_error *e)
{
	size_t nsym = 0;

	memset(m, 0, sizeof *m);
	for (size_t i = 0; i < t->n; i++)
		if (t->ent[i].len >= 2)
			nsym += t->ent[i].len, m->nw++;
	if ((m->sym = ad_mallocarray(nsym + 1, sizeof *m->sym)) == NULL ||
	    (m->woff = ad_mallocarray(m->nw + 1, sizeof *m->woff)) == NULL ||
	    (m->wlen = ad_mallocarray(m->nw + 1, sizeof *m->wlen)) == NULL ||
	    (m->wcount = ad_mallocarray(m->nw + 1, sizeof *m->wcount)) == NULL ||
	    (m->wstamp = ad_mallocarray(m->nw + 1, sizeof *m->wstamp)) == NULL)
		goto oom;
	/* Each merge removes a symbol from some word, so no more than
	 * nsym - nw merges can happen: the token table is sized for what can be
	 * learned, not for what was asked (--vocab-size 2^30 on a small text). */
	if ((size_t)target > 256 + nsym - m->nw)
		target = (uint32_t)(256 + nsym - m->nw);
	m->pmask = (1u << 16) - 1;
	m->tmask = 1;
	while (m->tmask + 1 < (size_t)target * 2 + 2)
		m->tmask = m->tmask * 2 + 1;
	if ((m->pslot = ad_calloc(m->pmask + 1, sizeof *m->pslot)) == NULL ||
	    (m->tslot = ad_calloc(m->tmask + 1, sizeof *m->tslot)) == NULL)
		goto oom;
	if (ad_grow(&m->toff, &m->tokcap, 1, sizeof *m->toff, TRAIN_CAP0) != 0)
		goto oom;
	m->toff[0] = 0;
	for (int c = 0; c < 256; c++) {
		uint8_t  byte = (uint8_t)c;
		uint32_t id;
		if (token_add(m, &byte, 1, &id) != 0)
			goto oom;
	}
	nsym = 0;
	for (size_t i = 0, w = 0; i < t->n; i++) {
		const struct pent *p = &t->ent[i];
		if (p->len < 2)
			continue;
		m->woff[w] = nsym;
		m->wlen[w] = p->len;
		m->wcount[w] = p->count;
		m->wstamp[w] = UINT32_MAX;
		for (uint32_t j = 0; j < p->len; j++)
			m->sym[nsym + j] = t->bytes[p->off + j];
		for (uint32_t j = 0; j + 1 < p->len; j++)
			if (pair_add(m, m->sym[nsym + j], m->sym[nsym + j + 1], (int64_t)p->count,
			    (uint32_t)w, 0) != 0)
				goto oom;
		nsym += p->len;
		w++;
	}
	for (size_t p = 0; p < m->np; p++)
		if (m->pcount[p] > 0 && heap_push(m, (uint64_t)m->pcount[p], (uint32_t)p) != 0)
			goto oom;
	m->nt = 0;
	return 0;
oom:
	return ad_fail(e, AD_ENOMEM, "out of memory preparing %zu distinct pieces for merging",
	    m->nw);
}

/* ---- the whole --------------------------------------------------------- */

/*
 * Prefix e with "FILE:LINE: byte B" for offset pos of a text that starts
 * after lines newlines and col bytes into its line.
 */
static void
train_where(struct ad_error *e, const char *path, const uint8_t *data, size_t pos,
    uint64_t lines, uint64_t col)
{
	for (size_t i = 0; i < pos; i++)
		if (data[i] == '\n') {
			lines++;
			col = 0;
		} else {
			col++;
		}
	ad_error_prefix(e, "%s:%llu: byte %llu", strcmp(path, "-") == 0 ? "<stdin>" : path,
	    (unsigned long long)lines + 1, (unsigned long long)col);
}

/* The state of the counting pass. */
struct counting {
	const struct bpe_train_config *cfg;
	struct counter                *cs;      /* (nt) */
	int                            nt;
	size_t                        *cut;     /* block starts, (ncut) */
	size_t                         ncut;
	const char                    *path;
	uint64_t                       lines, col;  /* where the next text starts (messages) */
};

/* Count the pieces of data[0..len), which ends where a piece ends. */
static int
count_text(struct counting *k, const uint8_t *data, size_t len, struct ad_error *e)
{
	const struct bpe_train_config *cfg = k->cfg;
	struct counter                *cs = k->cs;
	size_t                         nb = 0;
	int                            rc = 0;

	for (int t = 0; t < k->nt; t++) {
		cs[t].base = data;
		cs[t].errpos = SIZE_MAX;
	}
	/* Blocks: cut at split points at or after every TRAIN_BLOCK bytes. */
	for (size_t a = 0; a < len;) {
		size_t z = text_split_point(data, len, a + TRAIN_BLOCK);
		if (ad_grow(&k->cut, &k->ncut, nb + 2, sizeof *k->cut, TRAIN_CAP0) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		k->cut[nb++] = a;
		a = z;
	}
	k->cut[nb] = len;
	/* Each block is counted by one thread into that thread's own table
	 * (cs[t]), so no two threads write the same memory; the tables grow
	 * inside the region because their size depends on the text. */
	#pragma omp parallel for num_threads(k->nt) schedule(dynamic, 1)
	for (size_t b = 0; b < nb; b++) {
		int    t = 0;
		size_t ctx;
#ifdef _OPENMP
		t = omp_get_thread_num();
#endif
		ctx = k->cut[b + 1] < len ? 1 : 0;
		/* A special token at the cut is not look-ahead context. */
		for (size_t q = 0; ctx && q < cfg->nspecials; q++) {
			size_t sl = strlen(cfg->specials[q]);
			if (sl <= len - k->cut[b + 1] &&
			    memcmp(data + k->cut[b + 1], cfg->specials[q], sl) == 0)
				ctx = 0;
		}
		if (cs[t].rc == 0)
			cs[t].rc = count_block(&cs[t], cfg, data + k->cut[b], k->cut[b + 1] - k->cut[b],
			    ctx);
	}
	for (int t = 0; t < k->nt; t++)
		if (cs[t].rc != 0 && rc == 0) {
			rc = cs[t].rc;
			if (e != NULL)
				*e = cs[t].err;
			if (cs[t].errpos != SIZE_MAX)
				train_where(e, k->path, data, cs[t].errpos, k->lines, k->col);
		}
	for (const uint8_t *p = data, *nl; p < data + len; p = nl + 1) {
		if ((nl = memchr(p, '\n', len - (size_t)(p - data))) == NULL) {
			k->col += len - (size_t)(p - data);
			break;
		}
		k->lines++;
		k->col = 0;
	}
	return rc;
}

/*
 * Whether texts may be cut where an ASCII letter meets a space (see
 * bpe_cut_point): a built-in pattern and no special token with a space.
 */
static int
train_cuttable(const struct bpe_train_config *cfg, const struct pretok *pt)
{
	if (!pretok_is_builtin(pt))
		return 0;
	for (size_t q = 0; q < cfg->nspecials; q++)
		if (strchr(cfg->specials[q], ' ') != NULL)
			return 0;
	return 1;
}

static int
train_count(const struct bpe_train_config *cfg, const struct pretok *pt,
    const char *const *paths, size_t npaths, struct ad_progress *prog, struct ptab *out,
    struct bpe_train_stats *st, struct ad_error *e)
{
	struct counting k = { .cfg = cfg };
	struct counter *cs = NULL;
	int             nt = cfg->threads, rc = 0, cuttable = train_cuttable(cfg, pt);
	uint64_t        total = 0, done = 0, sz;
	size_t          chunk = cfg->chunk ? cfg->chunk : TRAIN_CHUNK;
	uint8_t        *carry = NULL;
	size_t          clen = 0, ccap = 0;

#ifdef _OPENMP
	if (nt <= 0)
		nt = omp_get_max_threads();
#else
	nt = 1;
#endif
	if (nt < 1)
		nt = 1;
	for (size_t i = 0; i < npaths; i++) {
		if (strcmp(paths[i], "-") == 0)
			continue;
		if ((rc = ad_file_size(paths[i], &sz, e)) != 0)
			return rc;
		total += sz;
	}
	ad_progress_set_total(prog, total);
	if ((cs = ad_calloc((size_t)nt, sizeof *cs)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	k.cs = cs;
	k.nt = nt;
	for (int t = 0; t < nt && rc == 0; t++) {
		if (ptab_init(&cs[t].tab) != 0)
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
		else
			rc = pretok_iter_new(pt, &cs[t].it, e);
	}
	for (size_t f = 0; f < npaths && rc == 0; f++) {
		struct ad_chunks *ck;
		const uint8_t    *data;
		size_t            len;
		int               cutflag;

		if ((rc = ad_chunks_open(&ck, paths[f], chunk, e)) != 0)
			break;
		k.path = paths[f];
		k.lines = k.col = 0;
		clen = 0;
		while (rc == 0 && (rc = ad_chunks_next(ck, &data, &len, &cutflag, e)) == 1) {
			const uint8_t *s = data;
			size_t         n = len, z = len;

			rc = 0;
			/* With a built-in pattern every piece of text but the last is
			 * counted up to its last cut point (an ASCII letter followed by
			 * a space), the rest carried to the next: so the pieces are
			 * exactly those of the whole file, whatever the chunk size.
			 * A text with no cut point (a run of megabytes with no letter
			 * and space) is counted whole, as is every piece under a user
			 * pattern, which ends on a line when it can. */
			if (cuttable) {
				if (clen > 0) {
					if (ad_grow(&carry, &ccap, clen + len, 1, TRAIN_CAP0) != 0) {
						rc = ad_fail(e, AD_ENOMEM, "out of memory");
						break;
					}
					memcpy(carry + clen, data, len);
					s = carry;
					n = clen + len;
				}
				if ((z = text_cut_point(s, n)) == 0)
					z = n;
			}
			rc = count_text(&k, s, z, e);
			clen = n - z;
			if (rc == 0 && clen > 0) {
				if (s == carry) {
					memmove(carry, carry + z, clen);
				} else if (ad_grow(&carry, &ccap, clen, 1, TRAIN_CAP0) != 0) {
					rc = ad_fail(e, AD_ENOMEM, "out of memory");
				} else {
					memcpy(carry, s + z, clen);
				}
			}
			st->bytes += len;
			done += len;
			ad_progress_update(prog, done);
			if (rc == 0 && ad_interrupted())
				rc = ad_fail(e, AD_EINTR, "%s: interrupted", paths[f]);
		}
		if (rc == 0 && clen > 0)
			rc = count_text(&k, carry, clen, e);
		ad_chunks_free(ck);
	}
	ad_free(carry);
	ad_free(k.cut);
	/* Sum the per-thread tables into the first, in thread order. */
	for (int t = 1; t < nt && rc == 0; t++)
		for (size_t i = 0; i < cs[t].tab.n && rc == 0; i++) {
			const struct pent *p = &cs[t].tab.ent[i];
			if (ptab_add(&cs[0].tab, cs[t].tab.bytes + p->off, p->len, p->hash, p->count) != 0)
				rc = ad_fail(e, AD_ENOMEM, "out of memory summing piece counts");
		}
	for (int t = 0; t < nt; t++) {
		st->pieces += cs[t].pieces;
		if (t > 0 || rc != 0)
			ptab_free(&cs[t].tab);
		pretok_iter_free(cs[t].it);
		norm_buf_free(&cs[t].nb);
	}
	if (rc == 0) {
		*out = cs[0].tab;
		st->unique = out->n;
	}
	ad_free(cs);
	return rc;
}

int
bpe_train(struct bpe **out, const struct bpe_train_config *cfg, const char *const *paths,
    size_t npaths, struct ad_progress *count_prog, struct ad_progress *merge_prog,
    struct bpe_train_stats *stats, struct ad_error *e)
{
	struct bpe_train_stats st = { 0 };
	struct pretok         *pt = NULL;
	struct ptab            tab = { 0 };
	struct merger          m = { 0 };
	struct bpe            *b = NULL;
	const char            *pattern = cfg->pattern ? cfg->pattern : "gpt4";
	uint32_t               target, merges = 0;
	double                 t0 = ad_now();
	int                    rc;

	if (cfg->vocab_size < 256 + cfg->nspecials || cfg->vocab_size > (1u << 30)) {
		ad_progress_free(count_prog);
		return ad_fail(e, AD_EINVAL, "vocabulary size %u: must be at least 256 (the bytes) "
		    "plus the %zu special tokens, and at most 2^30", cfg->vocab_size, cfg->nspecials);
	}
	for (size_t k = 0; k < cfg->nspecials; k++)
		if (cfg->specials[k][0] == '\0') {
			ad_progress_free(count_prog);
			return ad_fail(e, AD_EINVAL, "special token %zu is empty", k + 1);
		}
	if (npaths == 0) {
		ad_progress_free(count_prog);
		return ad_fail(e, AD_EINVAL, "no input files");
	}
	if ((rc = pretok_new(&pt, pattern, e)) != 0) {
		ad_progress_free(count_prog);
		return rc;
	}
	target = cfg->vocab_size - (uint32_t)cfg->nspecials;
	st.wanted = target - 256;
	rc = train_count(cfg, pt, paths, npaths, count_prog, &tab, &st, e);
	if (rc == 0)
		ad_progress_finish(count_prog);
	else
		ad_progress_free(count_prog);
	if (rc != 0)
		goto done;
	st.count_seconds = ad_now() - t0;
	if (st.bytes == 0) {
		rc = ad_fail(e, AD_EDATA, "%s%s: no text to learn from (the input is empty)",
		    strcmp(paths[0], "-") == 0 ? "<stdin>" : paths[0], npaths > 1 ? " and the rest" : "");
		goto done;
	}
	t0 = ad_now();
	if ((rc = merger_init(&m, &tab, target, e)) != 0)
		goto done;
	ptab_free(&tab);
	memset(&tab, 0, sizeof tab);
	ad_progress_set_total(merge_prog, st.wanted);
	while (m.ntok < target && m.hn > 0) {
		struct hent top = heap_pop(&m);
		uint32_t    p = top.pair, l, r, id, node;
		uint64_t    cur = m.pcount[p] > 0 ? (uint64_t)m.pcount[p] : 0;
		size_t      nl, nr;
		uint8_t    *tmp;

		if (cur != top.count) {
			if (cur > 0 && cur >= cfg->min_frequency && heap_push(&m, cur, p) != 0) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory merging");
				goto done;
			}
			continue;
		}
		if (cur < cfg->min_frequency || cur == 0)
			break;
		l = m.pl[p];
		r = m.pr[p];
		nl = m.toff[l + 1] - m.toff[l];
		nr = m.toff[r + 1] - m.toff[r];
		if ((tmp = ad_malloc(nl + nr)) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory merging");
			goto done;
		}
		memcpy(tmp, m.tbytes + m.toff[l], nl);
		memcpy(tmp + nl, m.tbytes + m.toff[r], nr);
		rc = token_add(&m, tmp, nl + nr, &id);
		ad_free(tmp);
		if (rc != 0) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory merging");
			goto done;
		}
		merges++;
		st.last_count = cur;
		m.nt = 0;
		node = m.phead[p];
		m.phead[p] = UINT32_MAX;
		for (; node != UINT32_MAX; node = m.nnext[node]) {
			uint32_t w = m.nword[node];
			if (m.wstamp[w] == merges)
				continue;
			m.wstamp[w] = merges;
			if (merge_word(&m, w, l, r, id, merges) != 0) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory merging");
				goto done;
			}
		}
		m.pcount[p] = 0;
		for (size_t k = 0; k < m.nt; k++) {
			uint32_t q = m.touched[k];
			if (m.pcount[q] > 0 && (uint64_t)m.pcount[q] >= cfg->min_frequency &&
			    heap_push(&m, (uint64_t)m.pcount[q], q) != 0) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory merging");
				goto done;
			}
		}
		if ((merges & 63) == 0) {
			ad_progress_update(merge_prog, m.ntok - 256);
			if (ad_interrupted()) {
				rc = ad_fail(e, AD_EINTR, "training interrupted");
				goto done;
			}
		}
	}
	ad_progress_update(merge_prog, m.ntok - 256);
	st.merges = (uint32_t)(m.ntok - 256);
	st.merge_seconds = ad_now() - t0;

	/* The vocabulary: tokens by id, then the specials. */
	if ((b = ad_calloc(1, sizeof *b)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto done;
	}
	{
		size_t sbytes = 0;
		for (size_t k = 0; k < cfg->nspecials; k++)
			sbytes += strlen(cfg->specials[k]);
		b->nranks = (uint32_t)m.ntok;
		b->nspecials = (uint32_t)cfg->nspecials;
		b->norm = cfg->norm;
		b->casefold = cfg->casefold;
		if ((b->off = ad_mallocarray(m.ntok + cfg->nspecials + 1, sizeof *b->off)) == NULL ||
		    (b->bytes = ad_malloc(m.tblen + sbytes)) == NULL ||
		    (b->pattern = ad_strdup(pretok_pattern(pt))) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto done;
		}
		memcpy(b->off, m.toff, (m.ntok + 1) * sizeof *b->off);
		memcpy(b->bytes, m.tbytes, m.tblen);
		for (size_t k = 0; k < cfg->nspecials; k++) {
			size_t sl = strlen(cfg->specials[k]);
			memcpy(b->bytes + b->off[m.ntok + k], cfg->specials[k], sl);
			b->off[m.ntok + k + 1] = b->off[m.ntok + k] + sl;
		}
	}
	if ((rc = bpe_build(b, "training", e)) != 0)
		goto done;
	*out = b;
	b = NULL;
	if (stats != NULL)
		*stats = st;
done:
	bpe_free(b);
	merger_free(&m);
	ptab_free(&tab);
	pretok_free(pt);
	return rc;
}
