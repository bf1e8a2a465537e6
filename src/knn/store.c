/*
 * store.c — the kNN datastore file: building it from a transformer and a
 * text, validating it, and rewriting its parameters.
 *
 * Layout, all little-endian (documented in man/autodidact-knn.1):
 *
 *   magic "ADKNN\0\0\1" (8)  version u32  metric u32 (1 L2, 2 cosine)
 *   C u32  V u32  k u32  zero u32
 *   N u64  lambda f64  temperature f64
 *   model checksum u64 (the model file's last 8 bytes)
 *   text XXH64 u64  text bytes u64  model path bytes u64
 *   model path, zero padding to a multiple of 64
 *   keys f32 x N*C   squared norms f32 x N   values u32 x N
 *   zero padding to a multiple of 8   build seconds f64
 *   XXH64 (seed 0) of everything before it, u64
 *
 * The keys start at a multiple of 64 bytes, so a mapped store is read in
 * place. The build streams: the header (N is the token count, known after
 * encoding), then each window's keys as the forward pass makes them, so it
 * needs memory for the norms and values (8 bytes a token), not the keys.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/progress.h"
#include "knn/knn.h"
#include "lm/lm.h"
#include "nn/nn.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the store format is written in the host's byte order, which must be little-endian"
#endif

#define HDR_BYTES 88

const char *
knn_metric_name(enum knn_metric m)
{
	return m == KNN_COSINE ? "cosine" : "l2";
}

int
knn_metric_parse(const char *s, enum knn_metric *m)
{
	if (strcmp(s, "l2") == 0)
		*m = KNN_L2;
	else if (strcmp(s, "cosine") == 0)
		*m = KNN_COSINE;
	else
		return -1;
	return 0;
}

int
knn_params_check(const struct knn_params *p, struct ad_error *e)
{
	if (p->k < 1 || p->k > KNN_KMAX)
		return ad_fail(e, AD_EINVAL, "k = %u neighbours: use 1 to %u", p->k, KNN_KMAX);
	if (!(p->lambda >= 0 && p->lambda <= 1))
		return ad_fail(e, AD_EINVAL, "lambda = %g: the weight of p_kNN is in [0, 1]",
		    p->lambda);
	if (!(p->temperature > 0 && isfinite(p->temperature)))
		return ad_fail(e, AD_EINVAL, "temperature = %g: use a finite value above 0",
		    p->temperature);
	if (p->metric != KNN_L2 && p->metric != KNN_COSINE)
		return ad_fail(e, AD_EINVAL, "unknown distance %d: use l2 or cosine", (int)p->metric);
	return 0;
}

static size_t
pad_to(size_t n, size_t m)
{
	return (m - n % m) % m;
}

/* ---- Reading ------------------------------------------------------------- */

static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static double   getf64(const uint8_t *p) { double v; memcpy(&v, p, 8); return v; }

int
knn_store_parse(struct knn_store **out, const char *name, struct ad_map *map, struct ad_error *e)
{
	const uint8_t    *d = map->data;
	size_t            size = map->size, at, need;
	struct knn_store *s;
	uint64_t          N, plen;
	uint32_t          C, version;
	int               rc = 0;

	if (size < HDR_BYTES + 16 || memcmp(d, KNN_MAGIC, 8) != 0)
		return ad_fail(e, AD_EFORMAT, "%s: not a kNN store (too short or no ADKNN magic); "
		    "stores are written by 'autodidact knn build'", name);
	if ((version = get32(d + 8)) != KNN_VERSION)
		return ad_fail(e, AD_EVERSION, "%s: kNN store version %u; this build reads version "
		    "%u: rebuild the store with 'autodidact knn build'", name, version, KNN_VERSION);
	C = get32(d + 16);
	N = get64(d + 32);
	plen = get64(d + 80);
	/* Every size is checked against the file before it is multiplied. */
	if (C == 0 || C > 65536 || N > UINT32_MAX - 1 || plen > 4096)
		return ad_fail(e, AD_EFORMAT, "%s: byte 16: impossible sizes (width %u, %llu "
		    "entries, a model path of %llu bytes): the file is damaged", name, C,
		    (unsigned long long)N, (unsigned long long)plen);
	at = HDR_BYTES + plen;
	at += pad_to(at, 64);
	need = at + (size_t)N * C * 4 + (size_t)N * 8;
	need += pad_to(need, 8) + 16;
	if (need != size)
		return ad_fail(e, AD_EFORMAT, "%s: %zu bytes where the header says %zu: the file is "
		    "truncated or damaged; rebuild it with 'autodidact knn build'", name, size, need);
	if (ad_hash64(d, size - 8, 0) != get64(d + size - 8))
		return ad_fail(e, AD_ECHECKSUM, "%s: checksum mismatch: the store is damaged; "
		    "rebuild it with 'autodidact knn build'", name);
	if ((s = ad_calloc(1, sizeof *s)) == NULL ||
	    (s->model_path = ad_strndup((const char *)d + HDR_BYTES, plen)) == NULL) {
		ad_free(s);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
	}
	s->N = N;
	s->C = C;
	s->V = get32(d + 20);
	s->params.metric = (enum knn_metric)get32(d + 12);
	s->params.k = get32(d + 24);
	s->params.lambda = getf64(d + 40);
	s->params.temperature = getf64(d + 48);
	s->model_hash = get64(d + 56);
	s->text_hash = get64(d + 64);
	s->text_bytes = get64(d + 72);
	s->build_seconds = getf64(d + size - 16);
	if (strlen(s->model_path) != plen || (rc = knn_params_check(&s->params, e)) != 0) {
		knn_store_free(s);
		if (rc == 0)
			return ad_fail(e, AD_EFORMAT, "%s: a NUL in the model path", name);
		ad_error_prefix(e, "%s: byte 12", name);
		return AD_EFORMAT;
	}
	s->keys = (const float *)(d + at);
	s->sqnorms = s->keys + (size_t)N * C;
	s->values = (const uint32_t *)(s->sqnorms + N);
	for (uint64_t i = 0; i < N; i++)
		if (s->values[i] >= s->V) {
			knn_store_free(s);
			return ad_fail(e, AD_EFORMAT, "%s: entry %llu holds token %u of a %u-token "
			    "vocabulary", name, (unsigned long long)i, s->values[i], s->V);
		}
	s->map = *map;
	*out = s;
	return 0;
}

int
knn_store_open(struct knn_store **out, const char *path, struct ad_error *e)
{
	struct ad_map m;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	if ((rc = knn_store_parse(out, path, &m, e)) != 0)
		ad_map_release(&m);
	return rc;
}

void
knn_store_free(struct knn_store *s)
{
	if (s == NULL)
		return;
	if (s->map.data != NULL)
		ad_map_release(&s->map);
	ad_free(s->model_path);
	ad_free(s);
}

int
knn_model_hash(const char *path, uint64_t *hash, struct ad_error *e)
{
	struct ad_map m;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	if (m.size < 16) {
		ad_map_release(&m);
		return ad_fail(e, AD_EFORMAT, "%s: too short to be a model file", path);
	}
	*hash = get64(m.data + m.size - 8);
	ad_map_release(&m);
	return 0;
}

/* ---- Context vectors ----------------------------------------------------- */

int
knn_contexts(const struct lm *m, const uint32_t *ids, size_t n, knn_rows_fn fn, void *ctx,
    struct ad_error *e)
{
	const struct gpt *g = nn_lm_gpt(m);
	struct gpt       *view;
	uint32_t         *in;
	double           *lp;
	size_t            W, stride, C, L;
	int               rc = 0;

	if (g == NULL)
		return ad_fail(e, AD_EINVAL, "%s: a %s model; a kNN store is built from a causal "
		    "transformer's context vectors", m->path, m->kind);
	W = g->cfg.T;
	stride = W / 2 > 0 ? W / 2 : 1;
	C = g->cfg.C;
	L = g->cfg.L;
	for (size_t i = 0; i < n; i++)
		if (ids[i] >= m->V)
			return ad_fail(e, AD_EINVAL, "token id %u at %zu is outside the model's %u ids",
			    ids[i], i, m->V);
	in = ad_mallocarray(W, sizeof *in);
	lp = ad_mallocarray(W, sizeof *lp);
	if (in == NULL || lp == NULL) {
		ad_free(in);
		ad_free(lp);
		return ad_fail(e, AD_ENOMEM, "out of memory for the context vectors");
	}
	if ((rc = nn_lm_view_take(m, &view, e)) != 0) {
		ad_free(in);
		ad_free(lp);
		return rc;
	}
	/* The windows of lm_score (lm.c): window j starts at j * stride and keeps
	 * the rows from W - stride on (all of the first), so every token's key
	 * comes from the forward pass that scores it. */
	for (size_t start = 0; start < n && rc == 0; start += stride) {
		size_t len = n - start < W ? n - start : W, keep = start == 0 ? 0 : W - stride;
		in[0] = gpt_bos(g);
		memcpy(in + 1, ids + start, (len - 1) * sizeof *in);
		gpt_forward(view, in, ids + start, NULL, 1, len);
		for (size_t i = keep; i < len; i++)
			lp[i] = -(double)view->acts.losses[i];
		/* ln2 of the last layer, rows (1, len) at the layer stride B * Tb. */
		rc = fn(ctx, start + keep, len - keep,
		    view->acts.ln2 + ((L - 1) * view->B * view->Tb + keep) * C, lp + keep, e);
		if (start + len >= n)
			break;
	}
	nn_lm_view_give(m, view);
	ad_free(in);
	ad_free(lp);
	return rc;
}

/* ---- Writing ------------------------------------------------------------- */

struct wr {
	struct ad_atomic a;
	struct ad_hash   h;
	int              err;   /* errno of the first failed write, 0: none */
};

static void
wr_put(struct wr *w, const void *p, size_t n)
{
	if (w->err || n == 0)
		return;
	if (fwrite(p, 1, n, w->a.f) != n)
		w->err = errno ? errno : EIO;
	ad_hash_update(&w->h, p, n);
}

static void wr_u32(struct wr *w, uint32_t v) { wr_put(w, &v, 4); }
static void wr_u64(struct wr *w, uint64_t v) { wr_put(w, &v, 8); }
static void wr_f64(struct wr *w, double v) { wr_put(w, &v, 8); }

static void
wr_zeros(struct wr *w, size_t n)
{
	static const uint8_t zeros[64];

	wr_put(w, zeros, n);
}

/* What a store's header holds, for wr_header. */
struct store_head {
	uint64_t N;
	uint32_t C, V;
	struct knn_params p;
	uint64_t model_hash, text_hash, text_bytes;
	const char *model_path;
};

static void
wr_header(struct wr *w, const struct store_head *h)
{
	size_t plen = strlen(h->model_path);

	wr_put(w, KNN_MAGIC, 8);
	wr_u32(w, KNN_VERSION);
	wr_u32(w, (uint32_t)h->p.metric);
	wr_u32(w, h->C);
	wr_u32(w, h->V);
	wr_u32(w, h->p.k);
	wr_u32(w, 0);
	wr_u64(w, h->N);
	wr_f64(w, h->p.lambda);
	wr_f64(w, h->p.temperature);
	wr_u64(w, h->model_hash);
	wr_u64(w, h->text_hash);
	wr_u64(w, h->text_bytes);
	wr_u64(w, plen);
	wr_put(w, h->model_path, plen);
	wr_zeros(w, pad_to(HDR_BYTES + plen, 64));
}

/* End the file: padding, build seconds, checksum; commit or abort. */
static int
wr_finish(struct wr *w, size_t body, double seconds, struct ad_error *e)
{
	uint64_t digest;

	wr_zeros(w, pad_to(body, 8));
	wr_f64(w, seconds);
	digest = ad_hash_digest(&w->h);
	wr_put(w, &digest, 8);
	if (w->err) {
		ad_atomic_abort(&w->a);
		return ad_fail_errno(e, w->err, "%s: writing the store", w->a.path != NULL ?
		    w->a.path : "output");
	}
	return ad_atomic_commit(&w->a, e);
}

struct build_ctx {
	struct wr          *w;
	float              *sqnorms;   /* (N) */
	size_t              C, done;
	struct ad_progress *prog;
};

static int
build_rows(void *ctx, size_t first, size_t len, const float *rows, const double *lp,
    struct ad_error *e)
{
	struct build_ctx *b = ctx;

	(void)lp;
	wr_put(b->w, rows, len * b->C * sizeof *rows);
	for (size_t i = 0; i < len; i++)
		b->sqnorms[first + i] = nn_dot(rows + i * b->C, rows + i * b->C, b->C);
	b->done = first + len;
	ad_progress_update(b->prog, b->done);
	if (ad_interrupted())
		return ad_fail(e, AD_EINTR, "interrupted: no store written");
	return 0;
}

int
knn_build(const char *model_path, const uint8_t *text, size_t len, const struct knn_params *p,
    size_t max_tokens, const char *out, struct ad_progress *prog, struct ad_error *e)
{
	struct lm        *m = NULL;
	uint32_t         *ids = NULL;
	size_t            n = 0, cap = 0;
	float            *sq = NULL;
	char             *abs = NULL;
	struct wr         w = { .err = 0 };
	struct store_head h;
	struct build_ctx  b;
	double            t0 = ad_now();
	int               rc;

	if ((rc = knn_params_check(p, e)) != 0)
		return rc;
	if ((rc = knn_model_hash(model_path, &h.model_hash, e)) != 0 ||
	    (rc = lm_open(&m, model_path, e)) != 0)
		return rc;
	if (nn_lm_gpt(m) == NULL) {
		rc = ad_fail(e, AD_EINVAL, "%s: a %s model; a kNN store needs a causal transformer "
		    "(written by 'autodidact train transformer')", model_path, m->kind);
		goto out;
	}
	if ((rc = lm_encode(m, text, len, &ids, &n, &cap, e)) != 0)
		goto out;
	if (max_tokens > 0 && n > max_tokens)
		n = max_tokens;
	if (n == 0) {
		rc = ad_fail(e, AD_EDATA, "the text holds no tokens: nothing to store");
		goto out;
	}
	if (n > UINT32_MAX - 1) {
		rc = ad_fail(e, AD_EINVAL, "%zu tokens: a store holds at most %u", n,
		    UINT32_MAX - 1);
		goto out;
	}
	if ((sq = ad_mallocarray(n, sizeof *sq)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for %zu entries", n);
		goto out;
	}
	/* The model's absolute path, so the store opens from any directory. */
	abs = realpath(model_path, NULL);
	h.N = n;
	h.C = nn_lm_gpt(m)->cfg.C;
	h.V = m->V;
	h.p = *p;
	h.text_hash = ad_hash64(text, len, 0);
	h.text_bytes = len;
	h.model_path = abs != NULL ? abs : model_path;
	if (strlen(h.model_path) > 4096) {
		rc = ad_fail(e, AD_EINVAL, "%s: a model path longer than 4096 bytes", model_path);
		goto out;
	}
	if ((rc = ad_atomic_open(&w.a, out, e)) != 0)
		goto out;
	ad_hash_init(&w.h, 0);
	wr_header(&w, &h);
	ad_progress_set_total(prog, n);
	b = (struct build_ctx){ .w = &w, .sqnorms = sq, .C = h.C, .done = 0, .prog = prog };
	if ((rc = knn_contexts(m, ids, n, build_rows, &b, e)) != 0) {
		ad_atomic_abort(&w.a);
		goto out;
	}
	wr_put(&w, sq, n * sizeof *sq);
	wr_put(&w, ids, n * sizeof *ids);
	rc = wr_finish(&w, n * h.C * 4 + n * 8, ad_now() - t0, e);
out:
	free(abs);
	ad_free(sq);
	ad_free(ids);
	lm_free(m);
	return rc;
}

int
knn_store_rewrite(const char *in, const char *out, const struct knn_params *p,
    struct ad_error *e)
{
	struct knn_store *s;
	struct store_head h;
	struct wr         w = { .err = 0 };
	size_t            body;
	int               rc;

	if ((rc = knn_params_check(p, e)) != 0 || (rc = knn_store_open(&s, in, e)) != 0)
		return rc;
	h = (struct store_head){ .N = s->N, .C = s->C, .V = s->V, .p = *p,
	    .model_hash = s->model_hash, .text_hash = s->text_hash, .text_bytes = s->text_bytes,
	    .model_path = s->model_path };
	if ((rc = ad_atomic_open(&w.a, out, e)) != 0) {
		knn_store_free(s);
		return rc;
	}
	ad_hash_init(&w.h, 0);
	wr_header(&w, &h);
	body = (size_t)s->N * s->C * 4 + (size_t)s->N * 8;
	wr_put(&w, s->keys, body);
	rc = wr_finish(&w, body, s->build_seconds, e);
	knn_store_free(s);
	return rc;
}
