/*
 * model.c — scoring: the struct lm_vtab of n-gram models, for our binary
 * files (kind "ngram") and ARPA files (kind "arpa").
 *
 * Standard back-off scoring as KenLM's query does it: log10 p(w | h) is the
 * log10 probability of the longest n-gram "h_k ... h_1 w" in the model plus
 * the log10 backoffs of every longer context "h_j ... h_1" (j >= k) that is
 * in the model. The state keeps the longest context that can still matter
 * (at most N - 1 ids, newest first) with the backoff of each of its
 * suffixes, so a token costs one lookup per order it matches plus one miss,
 * and the keys extend one another (ngram_key_ext): no context is hashed
 * twice. Because every prefix of an n-gram is an n-gram, a context that is
 * not in the model, or is in it but begins no longer n-gram (its backoff is
 * NGRAM_NOEXT), cannot match later: the state forgets it (KenLM's state
 * minimisation), which saves the lookups that would miss.
 *
 * An id the model never saw (an unknown word, byte or token) is scored as
 * <unk>: log10 p(<unk>) plus all the backoffs, and leaves a context from
 * which nothing longer matches. <s> is never predicted: next gives it
 * -inf, and pushing it starts a new sentence (its logp is -inf).
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ngram/ngram_impl.h"

struct ngram_state {
	uint32_t len;                     /* context ids kept, <= N - 1 */
	uint32_t ctx[NGRAM_MAX_ORDER];    /* ctx[0] is the newest (internal ids) */
	float    bo[NGRAM_MAX_ORDER];     /* bo[j]: log10 backoff of ctx[j] ... ctx[0] */
};

static const struct lm_vtab ngram_vtab;

static inline uint32_t
model_int(const struct ngram_model *m, uint32_t id)
{
	if (m->lm2int != NULL)
		return m->lm2int[id];
	return id < m->Vi ? id : NGRAM_UNK;
}

/*
 * log10 p(w | state) for internal id w != <s>, given keys[j], the key of
 * w h1 ... h_{j+1} for j < nk (the caller computed them and asked for
 * their cache lines; a longer one cannot be in the model); with update,
 * the state moves past w.
 */
/*
 * The lookups of one step, shared by model_step_keys and the batched
 * scorer: log10 p(w | state) for a state of len backoffs bo[], the keys as
 * model_step_keys takes them; *matched is the order of the longest n-gram
 * found and newbo[0..matched) the backoffs of w's contexts found.
 */
static inline double
model_lookup(const struct ngram_model *m, uint32_t w, const float *bo, uint32_t len,
             const uint64_t *keys, uint32_t nk, float *newbo, uint32_t *matched)
{
	const float *u = m->uni + 2 * (size_t)w;
	float        prob = u[0];
	uint32_t     mt = 1;
	double       total;

	newbo[0] = u[1];
	if (nk > len)
		nk = len;
	for (uint32_t j = 0; j < nk; j++) {
		const uint8_t *s;
		if ((s = ngram_table_find(&m->tab[j + 2], keys[j])) == NULL)
			break;
		prob = ngram_entry_f(s, 0);
		if (j + 2 < m->N)
			newbo[j + 1] = ngram_entry_f(s, 1);
		mt = j + 2;
	}
	total = prob;
	/* Contexts longer than the one used: their backoffs. */
	for (uint32_t j = mt - 1; j < len; j++)
		total += bo[j];
	*matched = mt;
	return total;
}

static inline double
model_step_keys(const struct ngram_model *m, struct ngram_state *st, uint32_t w,
                const uint64_t *keys, uint32_t nk, int update)
{
	float    newbo[NGRAM_MAX_ORDER];
	uint32_t matched, N = m->N;
	double   total = model_lookup(m, w, st->bo, st->len, keys, nk, newbo, &matched);

	if (update) {
		/* Keep the longest newest-first context that some longer n-gram
		 * begins with: a context that begins none cannot match later, and
		 * its backoff is 1 (ngram_extends is monotone in the length). */
		uint32_t len = 0, max = matched < N - 1 ? matched : N - 1;
		while (len < max && ngram_extends(newbo[len]))
			len++;
		for (uint32_t j = len; j-- > 1;)
			st->ctx[j] = st->ctx[j - 1];
		if (len > 0)
			st->ctx[0] = w;
		memcpy(st->bo, newbo, len * sizeof(float));
		st->len = len;
	}
	return total;
}

/*
 * Keys of w, w h1, w h1 h2, ... over ctx[0..len); returns how many may be
 * in the model: with filter, the first that a table's filter rules out
 * ends the list (every longer n-gram contains it as a suffix). Each table's
 * slot of the keys that may be there is prefetched.
 */
static inline uint32_t
model_keys(const struct ngram_model *m, uint32_t w, const uint32_t *ctx, uint32_t len,
           uint64_t *keys, int filter)
{
	uint64_t key = ngram_key1(w);

	for (uint32_t j = 0; j < len; j++) {
		const struct ngram_table *t = &m->tab[j + 2];
		key = ngram_key_ext(key, ctx[j]);
		if (filter && !ngram_filter_maybe(t, key))
			return j;
		keys[j] = key;
		__builtin_prefetch(t->slots + ngram_slot0(key, t->cap) * t->stride);
	}
	return len;
}

/* log10 p(w | state); the keys do not depend on what the lookups find, so
 * all of them are computed and every table's cache miss started at once. */
static inline double
model_step(const struct ngram_model *m, struct ngram_state *st, uint32_t w, int update)
{
	uint64_t keys[NGRAM_MAX_ORDER];
	uint32_t nk = model_keys(m, w, st->ctx, st->len, keys, 1);

	return model_step_keys(m, st, w, keys, nk, update);
}

static void
model_reset(const struct lm *lm, struct lm_state *s)
{
	const struct ngram_model *m = (const struct ngram_model *)lm;
	struct ngram_state       *st = (struct ngram_state *)s;

	st->len = m->N > 1;
	st->ctx[0] = NGRAM_BOS;
	st->bo[0] = m->uni[2 * NGRAM_BOS + 1];
}

static int
model_state_new(const struct lm *lm, struct lm_state **out, struct ad_error *e)
{
	struct ngram_state *st = ad_calloc(1, sizeof *st);

	if (st == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	model_reset(lm, (struct lm_state *)st);
	*out = (struct lm_state *)st;
	return 0;
}

static void
model_state_free(struct lm_state *st)
{
	ad_free(st);
}

static int
model_push(const struct lm *lm, struct lm_state *s, uint32_t id, double *logp,
           struct ad_error *e)
{
	const struct ngram_model *m = (const struct ngram_model *)lm;
	struct ngram_state       *st = (struct ngram_state *)s;
	uint32_t                  w;
	double                    lp;

	if (id >= lm->V)
		return ad_fail(e, AD_EINVAL, "%s: token id %u is outside the model's %u ids",
		    lm->path, id, lm->V);
	w = model_int(m, id);
	if (w == NGRAM_BOS) {
		model_reset(lm, s);
		if (logp != NULL)
			*logp = -INFINITY;
		return 0;
	}
	lp = model_step(m, st, w, 1);
	if (logp != NULL)
		*logp = lp * M_LN10;
	return 0;
}

/*
 * model_step_keys for the batched scorer, whose keys come from the raw
 * history, so that its state needs no context ids: just bo[0..*len). The
 * same lookups (model_lookup) and the same state update, so the same
 * results.
 */
static inline double
model_score_step(const struct ngram_model *m, float *bo, uint32_t *len, uint32_t w,
                 const uint64_t *keys, uint32_t nk)
{
	float    nb[NGRAM_MAX_ORDER];
	uint32_t matched, N = m->N, max, l = 0;
	double   total = model_lookup(m, w, bo, *len, keys, nk, nb, &matched);

	max = matched < N - 1 ? matched : N - 1;
	while (l < max && ngram_extends(nb[l])) {
		bo[l] = nb[l];
		l++;
	}
	*len = l;
	return total;
}

/*
 * How far ahead the batched scorer works: the keys of token i are made and
 * the filter words they test prefetched MODEL_FAR tokens before it is
 * scored; the filters are tested and the table slots of the keys that pass
 * prefetched MODEL_NEAR tokens before. MODEL_FAR is a power of two (the
 * ring of tokens in flight). Measured on the KJV order-5 model: 16/8 beat
 * the single stage 8 tokens ahead that tested no filter by about 1.4x;
 * 8/4, 16/4, 32/8 and 32/16 were within the noise of 16/8.
 */
#define MODEL_FAR  16
#define MODEL_NEAR 8

/*
 * ln p of each of ids[0..n) (checked to be < V) from the start of a
 * sentence: push's result, faster. </s> ends a sentence and the next id
 * starts a new one from <s>, so many lines (each ending in </s>) are
 * scored in one call.
 *
 * The keys of token i depend only on the ids before it (the state only
 * ever keeps a newest-first prefix of that history), so they are made
 * ahead of time and the cache misses of consecutive tokens overlap, in
 * three stages: MODEL_FAR tokens ahead, the keys of every order the
 * history allows and a prefetch of their filter words; MODEL_NEAR tokens
 * ahead, the filter test (a key that a filter rules out ends the list, as
 * in model_keys) and a prefetch of the table slots of the keys that pass;
 * then the lookups. The state before token i holds at most one id more
 * than the keys of token i - 1 that passed (the context of the longest
 * n-gram found, which passed, and that token), so no more keys are tested:
 * on the KJV order-5 model a token makes 3.7 keys, tests 2.1, prefetches
 * 1.1 slots and finds 1.1 n-grams.
 */
static void
model_score_run(const struct ngram_model *m, const uint32_t *ids, size_t n, double *logp)
{
	uint64_t keys[MODEL_FAR][NGRAM_MAX_ORDER];
	uint32_t nkeys[MODEL_FAR];        /* keys made, then keys that passed */
	uint32_t wr[MODEL_FAR];           /* the tokens' internal ids */
	uint32_t hist[NGRAM_MAX_ORDER];   /* newest first, <s> last */
	float    bo[NGRAM_MAX_ORDER];     /* the state: bo[0..len) */
	float    bos_bo = m->uni[2 * NGRAM_BOS + 1];
	uint32_t H = m->N - 1, hlen = H > 0, prev = H > 0, len = H > 0;

	hist[0] = NGRAM_BOS;
	bo[0] = bos_bo;
	for (size_t i = 0; i < n + MODEL_FAR; i++) {
		/* Stage 3: score token i - MODEL_FAR (first: token i takes its slot
		 * of the ring). */
		if (i >= MODEL_FAR) {
			size_t   t = i - MODEL_FAR;
			uint32_t w = wr[t % MODEL_FAR];
			if (w == NGRAM_BOS) {
				logp[t] = -INFINITY;
			} else {
				logp[t] = model_score_step(m, bo, &len, w, keys[t % MODEL_FAR],
				    nkeys[t % MODEL_FAR]) * M_LN10;
			}
			if (w == NGRAM_BOS || w == NGRAM_EOS) {
				len = H > 0;
				bo[0] = bos_bo;
			}
		}
		/* Stage 2: filter token i - (MODEL_FAR - MODEL_NEAR). */
		if (i >= MODEL_FAR - MODEL_NEAR && i - (MODEL_FAR - MODEL_NEAR) < n) {
			size_t          t = i - (MODEL_FAR - MODEL_NEAR);
			const uint64_t *k = keys[t % MODEL_FAR];
			uint32_t        nk = nkeys[t % MODEL_FAR], j, w = wr[t % MODEL_FAR];
			if (nk > prev + 1)
				nk = prev + 1;
			for (j = 0; j < nk; j++) {
				const struct ngram_table *tb = &m->tab[j + 2];
				if (!ngram_filter_maybe(tb, k[j]))
					break;
				__builtin_prefetch(tb->slots + ngram_slot0(k[j], tb->cap) * tb->stride);
			}
			nkeys[t % MODEL_FAR] = j;
			prev = w == NGRAM_EOS || w == NGRAM_BOS ? (H > 0) : j;
		}
		/* Stage 1: keys of token i and their filter words. */
		if (i < n) {
			uint32_t w = model_int(m, ids[i]);
			uint64_t key = ngram_key1(w), *k = keys[i % MODEL_FAR];
			wr[i % MODEL_FAR] = w;
			for (uint32_t j = 0; j < hlen; j++) {
				const struct ngram_table *tb = &m->tab[j + 2];
				key = ngram_key_ext(key, hist[j]);
				k[j] = key;
				__builtin_prefetch(&tb->filter[(key & tb->fmask) >> 6]);
			}
			nkeys[i % MODEL_FAR] = hlen;
			/* The history of token i + 1. */
			if (w == NGRAM_EOS || w == NGRAM_BOS) {
				hist[0] = NGRAM_BOS;
				hlen = H > 0;
			} else if (H > 0) {
				for (uint32_t j = H - 1; j > 0; j--)
					hist[j] = hist[j - 1];
				hist[0] = w;
				if (hlen < H)
					hist[hlen++] = NGRAM_BOS;
			}
		}
	}
}

static int
model_score(const struct lm *lm, const uint32_t *ids, size_t n, double *logp,
            struct ad_error *e)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= lm->V)
			return ad_fail(e, AD_EINVAL, "%s: token id %u is outside the model's %u ids",
			    lm->path, ids[i], lm->V);
	model_score_run((const struct ngram_model *)lm, ids, n, logp);
	return 0;
}

static int
model_next(const struct lm *lm, struct lm_state *s, float *logp, struct ad_error *e)
{
	const struct ngram_model *m = (const struct ngram_model *)lm;
	struct ngram_state        st = *(struct ngram_state *)s;

	(void)e;
	for (uint32_t t = 0; t < lm->V; t++) {
		uint32_t w = model_int(m, t);
		/* <s> is never next; a token id the model never saw has no mass
		 * of its own (it is scored as <unk>, whose id carries that mass). */
		if (w == NGRAM_BOS || (m->int2lm != NULL && m->int2lm[w] != t))
			logp[t] = -INFINITY;
		else
			logp[t] = (float)(model_step(m, &st, w, 0) * M_LN10);
	}
	return 0;
}

static int
model_grow(uint32_t **ids, size_t *cap, size_t need, struct ad_error *e)
{
	if (need <= *cap)
		return 0;
	size_t    ncap = *cap * 2 > need ? *cap * 2 : need + 16;
	uint32_t *p = ad_reallocarray(*ids, ncap, sizeof *p);
	if (p == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory encoding text");
	*ids = p;
	*cap = ncap;
	return 0;
}

static int
model_encode(const struct lm *lm, const uint8_t *text, size_t len, uint32_t **ids, size_t *n,
             size_t *cap, struct ad_error *e)
{
	const struct ngram_model *m = (const struct ngram_model *)lm;
	int                       rc;

	if (m->unit == NGRAM_TOKENS)
		return ngram_tokens_encode(m, text, len, ids, n, cap, e);
	if (m->unit == NGRAM_BYTES) {
		if ((rc = model_grow(ids, cap, *n + len, e)) != 0)
			return rc;
		for (size_t i = 0; i < len; i++)
			(*ids)[(*n)++] = m->byte_id[text[i]];
		return 0;
	}
	/* Words are separated: at most (len + 1) / 2 of them. */
	if ((rc = model_grow(ids, cap, *n + len / 2 + 1, e)) != 0)
		return rc;
	*n += ngram_wordtab_encode(&m->wordtab, &m->words, text, len, *ids + *n);
	return 0;
}

static void
model_token_text(const struct lm *lm, uint32_t id, const uint8_t **bytes, size_t *len)
{
	const struct ngram_model *m = (const struct ngram_model *)lm;

	*len = 0;
	*bytes = (const uint8_t *)"";
	if (id == lm->eos) {
		*bytes = (const uint8_t *)"\n";
		*len = 1;
		return;
	}
	if (id >= lm->V || id == lm->bos || id == lm->unk)
		return;
	if (m->unit == NGRAM_TOKENS) {
		*bytes = ngram_tokens_bytes(m, id, len);
		return;
	}
	*bytes = (const uint8_t *)m->words.text + m->words.off[id];
	*len = (size_t)(m->words.off[id + 1] - m->words.off[id]);
}

static void
model_free(struct lm *lm)
{
	ngram_model_free_((struct ngram_model *)lm);
}

static const struct lm_vtab ngram_vtab = {
	.free        = model_free,
	.state_new   = model_state_new,
	.state_free  = model_state_free,
	.state_reset = model_reset,
	.next        = model_next,
	.push        = model_push,
	.score       = model_score,
	.encode      = model_encode,
	.token_text  = model_token_text,
	.embed       = NULL,
};

void
ngram_model_free_(struct ngram_model *m)
{
	if (m == NULL)
		return;
	if (m->unit == NGRAM_TOKENS)
		ngram_tokens_close(m);
	ngram_wordtab_free(&m->wordtab);
	ad_free(m->int2lm);
	for (size_t i = 0; i < sizeof m->heap / sizeof m->heap[0]; i++)
		ad_free(m->heap[i]);
	if (m->has_map)
		ad_map_release(&m->map);
	ad_free(m->lm.path);
	ad_free(m);
}

int
ngram_model_finish(struct ngram_model *m, const char *kind, const char *path,
                   struct ad_error *e)
{
	static const char *const units[] = { "", "words", "bytes", "tokens" };
	struct lm *lm = &m->lm;
	uint64_t   total = 0;

	lm->vt = &ngram_vtab;
	lm->kind = kind;
	if ((lm->path = ad_strdup(path)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	lm->context = m->N - 1;
	lm->line_model = 1;
	lm->word_sep = m->unit == NGRAM_WORDS;
	lm->embed_dim = 0;
	lm->tok = m->bpe;
	if (m->unit == NGRAM_TOKENS) {
		lm->bos = lm->V - 3;
		lm->eos = lm->V - 2;
		lm->unk = lm->V - 1;
		if ((m->int2lm = ad_mallocarray(m->Vi, sizeof *m->int2lm)) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		for (uint32_t i = 0; i < m->Vi; i++)
			m->int2lm[i] = LM_NONE;
		for (uint32_t t = 0; t < lm->V; t++)
			if (m->lm2int[t] != NGRAM_UNK)
				m->int2lm[m->lm2int[t]] = t;
		m->int2lm[NGRAM_UNK] = lm->unk;
	} else {
		lm->V = m->Vi;
		lm->bos = NGRAM_BOS;
		lm->eos = NGRAM_EOS;
		lm->unk = NGRAM_UNK;
	}
	for (int b = 0; b < 256; b++)
		m->byte_id[b] = NGRAM_UNK;
	if (m->unit == NGRAM_WORDS)
		ngram_wordtab_build(&m->wordtab, &m->words, 0);
	if (m->unit == NGRAM_BYTES)
		for (uint32_t id = 3; id < m->Vi; id++)
			if (m->words.off[id + 1] - m->words.off[id] == 1)
				m->byte_id[(uint8_t)m->words.text[m->words.off[id]]] = id;
	for (uint32_t n = 1; n <= m->N; n++)
		total += m->counts[n];
	lm->params = total;
	snprintf(lm->description, sizeof lm->description,
	    "%u-gram, %s, over %s, %llu n-grams, %u %s", m->N,
	    strcmp(kind, "arpa") == 0 ? "ARPA back-off" : "modified Kneser-Ney",
	    units[m->unit], (unsigned long long)total, m->Vi, "vocabulary ids");
	return 0;
}

uint32_t
ngram_lm_order(const struct lm *lm)
{
	return lm->vt == &ngram_vtab ? ((const struct ngram_model *)lm)->N : 0;
}

/* Look an n-gram up from scratch: ids r[0..n) oldest first. */
static const uint8_t *
ref_find(const struct ngram_model *m, const uint32_t *r, uint32_t n)
{
	uint64_t k = ngram_key1(r[n - 1]);

	for (uint32_t t = n - 1; t-- > 0;)
		k = ngram_key_ext(k, r[t]);
	return ngram_table_find(&m->tab[n], k);
}

/* The textbook recursion: p(w | h) = P(h w) if present, else bo(h) p(w | h'). */
static double
ref_p(const struct ngram_model *m, const uint32_t *h, uint32_t k, uint32_t w)
{
	uint32_t       g[NGRAM_MAX_ORDER + 1];
	const uint8_t *s;
	double         bo = 0;

	if (k == 0)
		return m->uni[2 * (size_t)w];
	memcpy(g, h, k * sizeof *g);
	g[k] = w;
	if ((s = ref_find(m, g, k + 1)) != NULL)
		return ngram_entry_f(s, 0);
	if (k == 1)
		bo = m->uni[2 * (size_t)h[0] + 1];
	else if ((s = ref_find(m, h, k)) != NULL)
		bo = ngram_entry_f(s, 1);
	return bo + ref_p(m, h + 1, k - 1, w);
}

double
ngram_lm_log10p_ref(const struct lm *lm, const uint32_t *hist, size_t nhist, uint32_t w)
{
	const struct ngram_model *m = (const struct ngram_model *)lm;
	uint32_t                  h[NGRAM_MAX_ORDER], k = 0;
	uint32_t                  wi = model_int(m, w);

	if (wi == NGRAM_BOS)
		return -INFINITY;
	/* The last N - 1 ids of the history; a <s> starts it over. */
	for (size_t i = 0; i < nhist; i++) {
		uint32_t x = model_int(m, hist[i]);
		if (x == NGRAM_BOS)
			k = 0;
		if (m->N == 1)
			continue;
		if (k == m->N - 1) {
			memmove(h, h + 1, (k - 1) * sizeof *h);
			k--;
		}
		h[k++] = x;
	}
	return ref_p(m, h, k, wi);
}
