/*
 * encode.c — text to ids and back.
 *
 * The hot path of bpe_encode, per piece of pre-tokenized text:
 *   1. the per-encoder cache (piece bytes -> ids), which catches most of
 *      the pieces of natural text after the first few kilobytes;
 *   2. a piece that is itself a token maps to it directly (tiktoken does
 *      the same, and it is part of the rule, not only a shortcut);
 *   3. otherwise BPE merges on integer ids through the pair table: a
 *      linear scan for the lowest rank for pieces up to ENC_SCAN_MAX bytes
 *      (few parts, tiny arrays), a binary heap keyed by (rank, position)
 *      over a linked list of parts for longer ones, so a megabyte-long
 *      piece costs O(n log n) rather than O(n^2).
 * Both merge loops pick the lowest rank and, among equal ranks, the
 * leftmost pair, which is exactly tiktoken's choice.
 */
#include "config.h"

#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bpe/bpe_impl.h"

#define ENC_SCAN_MAX   128          /* longest piece merged by linear scan */
#define ENC_CACHE_BITS 16           /* cache slots: 65536 */
#define ENC_CACHE_KEY  64           /* longest piece cached */
#define ENC_ARENA      (1u << 22)   /* cache arena bytes before a reset */

struct cache_slot {
	uint64_t hash;      /* 0 = empty */
	uint32_t key;       /* offset of the piece's bytes in kbytes */
	uint32_t ids;       /* offset of its ids in kids */
	uint16_t klen;
	uint16_t nids;
};

struct bpe_encoder {
	const struct bpe   *b;
	struct pretok_iter *it;
	struct norm_buf     nb;
	struct cache_slot  *slots;   /* (1 << ENC_CACHE_BITS) */
	size_t              used;
	uint8_t            *kbytes;  /* (ENC_ARENA) piece bytes */
	size_t              klen;
	uint32_t           *kids;    /* (ENC_ARENA / 4) ids */
	size_t              kn;
	/* Merge scratch, grown to the longest piece seen: (cap) each. */
	uint32_t           *id, *rank, *next, *prev;
	uint64_t           *heap;
	size_t              cap;
	size_t             *sp_next;  /* (nspecials) next occurrence of each special (SIZE_MAX: unknown) */
	const uint8_t      *base;     /* the text being encoded (error offsets are into it) */
};

int
bpe_encoder_new(const struct bpe *b, struct bpe_encoder **out, struct ad_error *e)
{
	struct bpe_encoder *enc = ad_calloc(1, sizeof *enc);
	int                 rc;

	if (enc == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for an encoder");
	enc->b = b;
	if ((rc = pretok_iter_new(b->pt, &enc->it, e)) != 0) {
		ad_free(enc);
		return rc;
	}
	if ((enc->slots = ad_calloc((size_t)1 << ENC_CACHE_BITS, sizeof *enc->slots)) == NULL ||
	    (enc->kbytes = ad_malloc(ENC_ARENA)) == NULL ||
	    (enc->kids = ad_malloc(ENC_ARENA)) == NULL ||
	    (enc->sp_next = ad_calloc(b->nspecials + 1, sizeof *enc->sp_next)) == NULL) {
		bpe_encoder_free(enc);
		return ad_fail(e, AD_ENOMEM, "out of memory for an encoder");
	}
	*out = enc;
	return 0;
}

void
bpe_encoder_free(struct bpe_encoder *enc)
{
	if (enc == NULL)
		return;
	pretok_iter_free(enc->it);
	norm_buf_free(&enc->nb);
	ad_free(enc->slots);
	ad_free(enc->kbytes);
	ad_free(enc->kids);
	ad_free(enc->id);
	ad_free(enc->rank);
	ad_free(enc->next);
	ad_free(enc->prev);
	ad_free(enc->heap);
	ad_free(enc->sp_next);
	ad_free(enc);
}

/* ---- output ------------------------------------------------------------ */

static int
ids_reserve(uint32_t **ids, size_t *n, size_t *cap, size_t extra)
{
	size_t    nc;
	uint32_t *p;

	if (*n + extra <= *cap)
		return 0;
	nc = *cap ? *cap : 1024;
	while (nc < *n + extra)
		nc *= 2;
	if ((p = ad_reallocarray(*ids, nc, sizeof *p)) == NULL)
		return AD_ENOMEM;
	*ids = p;
	*cap = nc;
	return 0;
}

static int
enc_scratch(struct bpe_encoder *enc, size_t n)
{
	size_t nc;

	if (n <= enc->cap)
		return 0;
	nc = enc->cap ? enc->cap : 256;
	while (nc < n)
		nc *= 2;
	ad_free(enc->id);
	ad_free(enc->rank);
	ad_free(enc->next);
	ad_free(enc->prev);
	ad_free(enc->heap);
	enc->id = ad_mallocarray(nc, sizeof *enc->id);
	enc->rank = ad_mallocarray(nc, sizeof *enc->rank);
	enc->next = ad_mallocarray(nc, sizeof *enc->next);
	enc->prev = ad_mallocarray(nc, sizeof *enc->prev);
	enc->heap = ad_mallocarray(nc * 3, sizeof *enc->heap);  /* pushes <= 3m */
	if (!enc->id || !enc->rank || !enc->next || !enc->prev || !enc->heap) {
		enc->cap = 0;
		return AD_ENOMEM;
	}
	enc->cap = nc;
	return 0;
}

/* ---- merging ----------------------------------------------------------- */

/* Linear scan: parts in id[0..m), rank[i] the rank of pair (i, i+1). */
static size_t
merge_scan(const struct bpe *b, uint32_t *id, uint32_t *rank, size_t m)
{
	for (size_t i = 0; i + 1 < m; i++)
		rank[i] = bpe_pair_rank(b, id[i], id[i + 1]);
	while (m > 1) {
		uint32_t best = BPE_NONE;
		size_t   at = 0;

		for (size_t i = 0; i + 1 < m; i++)
			if (rank[i] < best) {
				best = rank[i];
				at = i;
			}
		if (best == BPE_NONE)
			break;
		id[at] = best;
		memmove(id + at + 1, id + at + 2, (m - at - 2) * sizeof *id);
		memmove(rank + at + 1, rank + at + 2, (m - at - 2) * sizeof *rank);
		m--;
		if (at > 0)
			rank[at - 1] = bpe_pair_rank(b, id[at - 1], id[at]);
		if (at + 1 < m)
			rank[at] = bpe_pair_rank(b, id[at], id[at + 1]);
	}
	return m;
}

/* A binary min-heap of keys rank << 32 | position. */
static void
heap_push(uint64_t *h, size_t *n, uint64_t key)
{
	size_t i = (*n)++;

	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (h[p] <= key)
			break;
		h[i] = h[p];
		i = p;
	}
	h[i] = key;
}

static uint64_t
heap_pop(uint64_t *h, size_t *n)
{
	uint64_t top = h[0], last = h[--(*n)];
	size_t   i = 0;

	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= last)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = last;
	return top;
}

/*
 * Heap merging for long pieces: parts form a linked list over positions
 * 0..m-1 (a part keeps the position of its first byte), rank[i] is the
 * current rank of the pair starting at part i; stale heap entries are those
 * whose rank no longer matches. Compacts the surviving ids into id[].
 */
static size_t
merge_heap(struct bpe_encoder *enc, size_t m)
{
	const struct bpe *b = enc->b;
	uint32_t         *id = enc->id, *rank = enc->rank, *next = enc->next, *prev = enc->prev;
	uint64_t         *h = enc->heap;
	size_t            hn = 0, k = 0;

	for (size_t i = 0; i < m; i++) {
		next[i] = (uint32_t)(i + 1);
		prev[i] = (uint32_t)(i - 1);  /* UINT32_MAX for the first */
		rank[i] = i + 1 < m ? bpe_pair_rank(b, id[i], id[i + 1]) : BPE_NONE;
		if (rank[i] != BPE_NONE)
			heap_push(h, &hn, (uint64_t)rank[i] << 32 | i);
	}
	while (hn > 0) {
		uint64_t key = heap_pop(h, &hn);
		uint32_t r = (uint32_t)(key >> 32), i = (uint32_t)key, j;

		if (rank[i] != r)
			continue;  /* stale: the pair changed since it was pushed */
		j = next[i];
		id[i] = r;
		next[i] = next[j];
		if (next[j] < m)
			prev[next[j]] = i;
		rank[j] = BPE_NONE;
		rank[i] = next[i] < m ? bpe_pair_rank(b, id[i], id[next[i]]) : BPE_NONE;
		if (rank[i] != BPE_NONE)
			heap_push(h, &hn, (uint64_t)rank[i] << 32 | i);
		if (prev[i] != UINT32_MAX) {
			uint32_t p = prev[i];
			rank[p] = bpe_pair_rank(b, id[p], id[i]);
			if (rank[p] != BPE_NONE)
				heap_push(h, &hn, (uint64_t)rank[p] << 32 | p);
		}
	}
	for (uint32_t i = 0; i < m; i = next[i])
		id[k++] = id[i];
	return k;
}

/* Encode one piece, appending its ids. */
static int
encode_piece(struct bpe_encoder *enc, const uint8_t *s, size_t n, uint32_t **ids, size_t *nids,
    size_t *cap)
{
	const struct bpe  *b = enc->b;
	struct cache_slot *slot = NULL;
	uint64_t           h = 0;
	uint32_t           r;
	size_t             m;

	if (n == 1) {
		if (ids_reserve(ids, nids, cap, 1) != 0)
			return AD_ENOMEM;
		(*ids)[(*nids)++] = b->byte_id[s[0]];
		return 0;
	}
	if (n <= ENC_CACHE_KEY) {
		size_t mask = ((size_t)1 << ENC_CACHE_BITS) - 1, i;
		h = text_hash(s, n) | 1;
		for (i = (size_t)h & mask; enc->slots[i].hash != 0; i = (i + 1) & mask) {
			struct cache_slot *c = &enc->slots[i];
			if (c->hash == h && c->klen == n && memcmp(enc->kbytes + c->key, s, n) == 0) {
				if (ids_reserve(ids, nids, cap, c->nids) != 0)
					return AD_ENOMEM;
				memcpy(*ids + *nids, enc->kids + c->ids, c->nids * sizeof **ids);
				*nids += c->nids;
				return 0;
			}
		}
		slot = &enc->slots[i];
	}
	if (n <= b->max_len && (r = bpe_rank_of(b, s, n)) != BPE_NONE) {
		m = 1;
		if (enc_scratch(enc, 1) != 0)
			return AD_ENOMEM;
		enc->id[0] = r;
	} else {
		if (enc_scratch(enc, n) != 0)
			return AD_ENOMEM;
		for (size_t i = 0; i < n; i++)
			enc->id[i] = b->byte_id[s[i]];
		m = n <= ENC_SCAN_MAX ? merge_scan(b, enc->id, enc->rank, n) : merge_heap(enc, n);
	}
	if (ids_reserve(ids, nids, cap, m) != 0)
		return AD_ENOMEM;
	memcpy(*ids + *nids, enc->id, m * sizeof **ids);
	*nids += m;
	if (slot != NULL) {
		size_t slots = (size_t)1 << ENC_CACHE_BITS;
		if (enc->used * 2 >= slots || enc->klen + n > ENC_ARENA ||
		    (enc->kn + m) * sizeof *enc->kids > ENC_ARENA) {
			/* Full: start over (cheap, and natural text refills it at once). */
			memset(enc->slots, 0, slots * sizeof *enc->slots);
			enc->used = enc->klen = enc->kn = 0;
			for (slot = &enc->slots[(size_t)h & (slots - 1)]; slot->hash != 0; slot++)
				;
		}
		memcpy(enc->kbytes + enc->klen, s, n);
		memcpy(enc->kids + enc->kn, enc->id, m * sizeof *enc->kids);
		*slot = (struct cache_slot){ .hash = h, .key = (uint32_t)enc->klen,
		    .ids = (uint32_t)enc->kn, .klen = (uint16_t)n, .nids = (uint16_t)m };
		enc->klen += n;
		enc->kn += m;
		enc->used++;
	}
	return 0;
}

/* The reference rule on one piece: byte strings and a plain scan. */
static int
encode_piece_ref(const struct bpe *b, const uint8_t *s, size_t n, uint32_t **ids, size_t *nids,
    size_t *cap)
{
	size_t *start, m = n;
	uint32_t r;

	if ((r = bpe_rank_of(b, s, n)) != BPE_NONE) {
		if (ids_reserve(ids, nids, cap, 1) != 0)
			return AD_ENOMEM;
		(*ids)[(*nids)++] = r;
		return 0;
	}
	if ((start = ad_mallocarray(n + 1, sizeof *start)) == NULL)
		return AD_ENOMEM;
	for (size_t i = 0; i <= n; i++)
		start[i] = i;   /* part i is s[start[i], start[i + 1]) */
	for (;;) {
		uint32_t best = BPE_NONE;
		size_t   at = 0;
		for (size_t i = 0; i + 1 < m; i++) {
			uint32_t k = bpe_rank_of(b, s + start[i], start[i + 2] - start[i]);
			if (k < best) {
				best = k;
				at = i;
			}
		}
		if (best == BPE_NONE)
			break;
		memmove(start + at + 1, start + at + 2, (m - at - 1) * sizeof *start);
		m--;
	}
	if (ids_reserve(ids, nids, cap, m) != 0) {
		ad_free(start);
		return AD_ENOMEM;
	}
	for (size_t i = 0; i < m; i++)
		(*ids)[(*nids)++] = bpe_rank_of(b, s + start[i], start[i + 1] - start[i]);
	ad_free(start);
	return 0;
}

/* ---- segments ---------------------------------------------------------- */

/*
 * Normalize and pre-tokenize seg[0..len + ctx) and encode the pieces that
 * start before the normalized length of seg[0..len): ctx bytes (0 or one
 * ASCII letter or digit) are look-ahead context only.
 */
static int
encode_segment(struct bpe_encoder *enc, const uint8_t *seg, size_t len, size_t ctx, int ref,
    uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e)
{
	const struct bpe *b = enc->b;
	const uint8_t    *subj = seg;
	size_t            slen = len + ctx, stop = len, ps, pe;
	int               rc;

	if (b->norm != NORM_NONE || b->casefold) {
		if ((rc = norm_apply(&enc->nb, b->norm, b->casefold, seg, len + ctx, e)) != 0)
			return rc;
		subj = enc->nb.out;
		slen = enc->nb.len;
		stop = slen - ctx;  /* an ASCII letter or digit normalizes to one byte */
	}
	pretok_start(enc->it, subj, slen, stop);
	while ((rc = pretok_next(enc->it, &ps, &pe, e)) == 1) {
		rc = ref ? encode_piece_ref(b, subj + ps, pe - ps, ids, n, cap) :
		    encode_piece(enc, subj + ps, pe - ps, ids, n, cap);
		if (rc != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory encoding");
	}
	if (rc < 0)  /* normalized text: the offset of the segment */
		ad_error_prefix(e, "byte %zu", (size_t)(seg - enc->base) + (subj == seg ? ps : 0));
	return rc;
}

/* Find the earliest special token at or after pos (the longest on a tie). */
static size_t
next_special(struct bpe_encoder *enc, const uint8_t *text, size_t len, size_t pos,
    uint32_t *which)
{
	const struct bpe *b = enc->b;
	size_t            best = len, blen = 0;

	for (uint32_t k = 0; k < b->nspecials; k++) {
		uint32_t id = b->special[k];
		size_t   sl = b->off[id + 1] - b->off[id];

		if (enc->sp_next[k] == SIZE_MAX || enc->sp_next[k] < pos) {
			/* The cached occurrence is unknown or behind us: search again. */
			const uint8_t *f = sl <= len - pos ?
			    memmem(text + pos, len - pos, b->bytes + b->off[id], sl) : NULL;
			enc->sp_next[k] = f ? (size_t)(f - text) : len;
		}
		if (enc->sp_next[k] < len &&
		    (enc->sp_next[k] < best || (enc->sp_next[k] == best && sl > blen))) {
			best = enc->sp_next[k];
			blen = sl;
			*which = id;
		}
	}
	return best;
}

static int
encode_text(struct bpe_encoder *enc, const uint8_t *text, size_t len, size_t ctx, int ref,
    uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e)
{
	const struct bpe *b = enc->b;
	size_t            pos = 0, at;
	uint32_t          sid = 0;
	int               rc;

	if (b->nspecials == 0)
		goto plain;
	for (uint32_t k = 0; k < b->nspecials; k++)
		enc->sp_next[k] = SIZE_MAX;
	while (pos < len) {
		at = next_special(enc, text, len, pos, &sid);
		if (at == len)
			break;
		if (at > pos && (rc = encode_segment(enc, text + pos, at - pos, 0, ref, ids, n, cap, e)) != 0)
			return rc;
		if (ids_reserve(ids, n, cap, 1) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory encoding");
		(*ids)[(*n)++] = sid;
		pos = at + (b->off[sid + 1] - b->off[sid]);
	}
	if (pos >= len)
		return 0;
	return encode_segment(enc, text + pos, len - pos, ctx, ref, ids, n, cap, e);
plain:
	return encode_segment(enc, text, len, ctx, ref, ids, n, cap, e);
}

int
bpe_encode(struct bpe_encoder *enc, const uint8_t *text, size_t len, uint32_t **ids, size_t *n,
    size_t *cap, struct ad_error *e)
{
	enc->base = text;
	return encode_text(enc, text, len, 0, 0, ids, n, cap, e);
}

int
bpe_encode_ref(struct bpe_encoder *enc, const uint8_t *text, size_t len, uint32_t **ids,
    size_t *n, size_t *cap, struct ad_error *e)
{
	enc->base = text;
	return encode_text(enc, text, len, 0, 1, ids, n, cap, e);
}

/* ---- parallel ---------------------------------------------------------- */

size_t
text_split_point(const uint8_t *s, size_t len, size_t from)
{
	if (from == 0)
		return 0;
	for (size_t i = from; i < len; i++) {
		uint8_t c = s[i];
		if (s[i - 1] == '\n' && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9')))
			return i;
	}
	return len;
}

int
bpe_encode_parallel(const struct bpe *b, int threads, const uint8_t *text, size_t len,
    uint32_t **ids, size_t *n, size_t *cap, struct ad_error *e)
{
	struct bpe_encoder **encs = NULL;
	struct chunk { size_t a, z; uint32_t *ids; size_t n, cap; int rc; struct ad_error err; } *ch = NULL;
	size_t               nch = 0, total = 0;
	int                  rc = 0, nt = threads;

#ifdef _OPENMP
	if (nt <= 0)
		nt = omp_get_max_threads();
#else
	nt = 1;
#endif
	if (nt < 1)
		nt = 1;
	if (nt == 1 || len < ((size_t)1 << 20) || !pretok_is_builtin(b->pt) || b->specials_nl) {
		struct bpe_encoder *enc;
		if ((rc = bpe_encoder_new(b, &enc, e)) != 0)
			return rc;
		rc = bpe_encode(enc, text, len, ids, n, cap, e);
		bpe_encoder_free(enc);
		return rc;
	}
	/* Chunks of about 256 KiB, at least 4 per thread, cut at split points. */
	{
		size_t want = len / ((size_t)256 << 10);
		if (want < (size_t)nt * 4)
			want = (size_t)nt * 4;
		if ((ch = ad_calloc(want + 1, sizeof *ch)) == NULL ||
		    (encs = ad_calloc((size_t)nt, sizeof *encs)) == NULL) {
			ad_free(ch);
			return ad_fail(e, AD_ENOMEM, "out of memory encoding");
		}
		for (size_t a = 0; a < len;) {
			size_t z = text_split_point(text, len, a + len / want > a + 1 ? a + len / want : a + 1);
			ch[nch].a = a;
			ch[nch].z = z;
			nch++;
			a = z;
		}
	}
	for (int t = 0; t < nt && rc == 0; t++)
		rc = bpe_encoder_new(b, &encs[t], e);
	if (rc == 0) {
		/* Each chunk is encoded by one thread with that thread's encoder
		 * into the chunk's own id array: no shared writes. The id arrays
		 * grow inside the region (their size is unknown beforehand). */
		#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
		for (size_t c = 0; c < nch; c++) {
			int    t = 0;
			size_t ctx;
#ifdef _OPENMP
			t = omp_get_thread_num();
#endif
			encs[t]->base = text;
			ctx = ch[c].z < len ? 1 : 0;
			/* A special token starting at the cut is not look-ahead context. */
			for (uint32_t k = 0; ctx && k < b->nspecials; k++) {
				uint32_t id = b->special[k];
				size_t   sl = b->off[id + 1] - b->off[id];
				if (sl <= len - ch[c].z &&
				    memcmp(text + ch[c].z, b->bytes + b->off[id], sl) == 0)
					ctx = 0;
			}
			ch[c].rc = encode_text(encs[t], text + ch[c].a, ch[c].z - ch[c].a, ctx, 0,
			    &ch[c].ids, &ch[c].n, &ch[c].cap, &ch[c].err);
		}
		for (size_t c = 0; c < nch && rc == 0; c++) {
			if (ch[c].rc != 0) {
				rc = ch[c].rc;
				if (e != NULL)
					*e = ch[c].err;
			}
			total += ch[c].n;
		}
	}
	if (rc == 0 && ids_reserve(ids, n, cap, total) != 0)
		rc = ad_fail(e, AD_ENOMEM, "out of memory for %zu ids", total);
	for (size_t c = 0; c < nch; c++) {
		if (rc == 0) {
			memcpy(*ids + *n, ch[c].ids, ch[c].n * sizeof **ids);
			*n += ch[c].n;
		}
		ad_free(ch[c].ids);
	}
	for (int t = 0; t < nt; t++)
		bpe_encoder_free(encs[t]);
	ad_free(encs);
	ad_free(ch);
	return rc;
}

size_t
bpe_cut_point(const struct bpe *b, const uint8_t *s, size_t len)
{
	if (!pretok_is_builtin(b->pt))
		return 0;
	for (uint32_t id = b->nranks; id < b->nids; id++)
		if (memchr(b->bytes + b->off[id], ' ', b->off[id + 1] - b->off[id]) != NULL)
			return 0;
	return text_cut_point(s, len);
}

/* ---- decoding ---------------------------------------------------------- */

int
bpe_decode(const struct bpe *b, const uint32_t *ids, size_t n, uint8_t **out, size_t *len,
    size_t *cap, struct ad_error *e)
{
	uint32_t nids = b->nids;

	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[i];
		size_t   tl;

		if (id >= nids || (tl = b->off[id + 1] - b->off[id]) == 0)
			return ad_fail(e, AD_EINVAL, "id %u at position %zu is not a token of this "
			    "vocabulary (%u ids)", id, i + 1, nids);
		if (*len + tl > *cap) {
			size_t   nc = *cap ? *cap : 4096;
			uint8_t *p;
			while (nc < *len + tl)
				nc *= 2;
			if ((p = ad_realloc(*out, nc)) == NULL)
				return ad_fail(e, AD_ENOMEM, "out of memory decoding");
			*out = p;
			*cap = nc;
		}
		memcpy(*out + *len, b->bytes + b->off[id], tl);
		*len += tl;
	}
	return 0;
}
