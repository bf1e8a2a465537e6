/*
 * ckpt.c — transformer model files and checkpoints: one format for both.
 *
 * A model file holds the configuration, the tokenizer (its identity and, for
 * BPE, the whole serialized vocabulary, so a model is never paired with the
 * wrong one) and the parameters; a checkpoint holds, besides, the training
 * configuration and position (step, data sampler, tokens seen, data hash)
 * and the two AdamW moments, which is everything --resume needs to go on
 * bit-identically. Layout, all little-endian (documented in
 * man/autodidact-train-transformer.1):
 *
 *   magic "ADGPT\0\0\1" (8)  version u32  flags u32 (1: training state,
 *                                                  2: masked objective,
 *                                                  4: with 1, the run's products
 *                                                     are bf16)
 *   L NH C T V Vin u32 x 6   tokenizer kind u32  identity u64
 *   tokenizer bytes u64      parameters u64
 *   training text: XXH64 u64, bytes u64   (version 2; absent in version 1)
 *   [masked objective, 16 bytes, when flags & 2: mask rate f64, whole-word
 *    u32, zero u32]
 *   [training state, 184 bytes, when flags & 1]
 *   tokenizer bytes, zero padding to a multiple of 64
 *   parameters f32 x N  [m f32 x N, v f32 x N when flags & 1]
 *   XXH64 (seed 0) of everything before it, u64
 *
 * Writes go through ad_atomic, so an interrupted save leaves the previous
 * file whole. Loads check the magic, the version, every size against the
 * file size and the checksum before trusting anything.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "base/hash.h"
#include "base/io.h"
#include "nn/nn.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model format is written in the host's byte order, which must be little-endian"
#endif

#define HDR_V1      (8 + 4 + 4 + 6 * 4 + 4 + 8 + 8 + 8)
#define HDR_FIXED   (HDR_V1 + 8 + 8)
#define TRAIN_BYTES 184
#define MASK_BYTES  16

struct wr {
	struct ad_atomic a;
	struct ad_hash   h;
	int              bad;
	int              err;   /* errno of the failed write */
};

static void
wr_put(struct wr *w, const void *p, size_t n)
{
	if (w->bad || n == 0)
		return;
	if (fwrite(p, 1, n, w->a.f) != n) {
		w->bad = 1;
		w->err = errno ? errno : EIO;
	}
	ad_hash_update(&w->h, p, n);
}

static void wr_u32(struct wr *w, uint32_t v) { wr_put(w, &v, 4); }
static void wr_u64(struct wr *w, uint64_t v) { wr_put(w, &v, 8); }
static void wr_f64(struct wr *w, double v) { wr_put(w, &v, 8); }

static size_t
pad64(size_t n)
{
	return (64 - n % 64) % 64;
}

int
nn_save(const char *path, const struct nn_file *f, const struct gpt *g, const struct adamw *opt,
    struct ad_error *e)
{
	static const uint8_t zeros[64];
	struct wr            w = { .bad = 0 };
	const struct nn_train_state *t = &f->train;
	uint64_t             digest;
	size_t               head;
	int                  rc;

	if ((rc = ad_atomic_open(&w.a, path, e)) != 0)
		return rc;
	ad_hash_init(&w.h, 0);
	wr_put(&w, NN_MAGIC, 8);
	wr_u32(&w, NN_VERSION);
	/* A run in bf16 says so in flag 4, which a build without bf16 refuses:
	 * fp32 files are unchanged. */
	wr_u32(&w, (opt != NULL ? 1u : 0u) | (f->masked ? 2u : 0u) |
	    (opt != NULL && t->precision == NN_PREC_BF16 ? 4u : 0u));
	wr_u32(&w, g->cfg.L);
	wr_u32(&w, g->cfg.NH);
	wr_u32(&w, g->cfg.C);
	wr_u32(&w, g->cfg.T);
	wr_u32(&w, g->cfg.V);
	wr_u32(&w, g->cfg.Vin);
	wr_u32(&w, (uint32_t)f->tok_kind);
	wr_u64(&w, f->tok_identity);
	wr_u64(&w, f->tok_len);
	wr_u64(&w, g->nparams);
	wr_u64(&w, f->text_hash);
	wr_u64(&w, f->text_bytes);
	head = HDR_FIXED;
	if (f->masked) {
		wr_f64(&w, f->mask_rate);
		wr_u32(&w, f->whole_word ? 1 : 0);
		wr_u32(&w, 0);
		head += MASK_BYTES;
	}
	if (opt != NULL) {
		char obj[16] = { 0 };
		wr_u64(&w, t->step);
		wr_u64(&w, t->steps);
		wr_u64(&w, t->seed);
		wr_u32(&w, t->batch);
		wr_u32(&w, t->accum);
		wr_u32(&w, t->context);
		wr_u32(&w, t->threads);
		wr_u64(&w, t->warmup);
		wr_f64(&w, t->lr);
		wr_f64(&w, t->min_lr);
		wr_f64(&w, t->beta1);
		wr_f64(&w, t->beta2);
		wr_f64(&w, t->eps);
		wr_f64(&w, t->weight_decay);
		wr_f64(&w, t->clip);
		wr_u64(&w, t->rng.state);
		wr_u64(&w, t->rng.inc);
		wr_u64(&w, t->tokens_seen);
		wr_u64(&w, t->data_hash);
		wr_u64(&w, t->data_tokens);
		wr_f64(&w, t->elapsed);
		wr_f64(&w, t->last_val);
		memcpy(obj, t->objective, strnlen(t->objective, sizeof obj - 1));
		wr_put(&w, obj, 16);
		wr_u64(&w, opt->t);
		head += TRAIN_BYTES;
	}
	wr_put(&w, f->tok_blob, f->tok_len);
	wr_put(&w, zeros, pad64(head + f->tok_len));
	wr_put(&w, g->param_mem, g->nparams * sizeof(float));
	if (opt != NULL) {
		wr_put(&w, opt->m, opt->n * sizeof(float));
		wr_put(&w, opt->v, opt->n * sizeof(float));
	}
	digest = ad_hash_digest(&w.h);
	wr_put(&w, &digest, 8);
	if (w.bad) {
		/* w.err, kept: fclose and unlink in the abort may change errno */
		ad_atomic_abort(&w.a);
		return ad_fail_errno(e, w.err, "%s: cannot write the model", path);
	}
	return ad_atomic_commit(&w.a, e);
}

struct rd {
	const uint8_t *p;
	size_t         left;
};

static int
rd_get(struct rd *r, void *out, size_t n)
{
	if (r->left < n)
		return -1;
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

int
nn_parse(const uint8_t *data, size_t size, const char *name, struct nn_file *f,
    size_t *params_at, struct ad_error *e)
{
	struct rd   r = { data, size };
	uint32_t    version = 0, flags = 0, kind = 0, dims[6] = { 0 };
	uint64_t    id = 0, toklen = 0, np = 0, digest, need;
	size_t      head, fixed;
	struct nn_file out;

	memset(&out, 0, sizeof out);
	if (size < HDR_V1 + 8 || memcmp(data, NN_MAGIC, 8) != 0)
		return ad_fail(e, AD_EFORMAT, "%s: not a transformer model file (bad magic or "
		    "shorter than a header)", name);
	r.p += 8;
	r.left -= 8;
	rd_get(&r, &version, 4);
	rd_get(&r, &flags, 4);
	if (version != 1 && version != NN_VERSION)
		return ad_fail(e, AD_EVERSION, "%s: transformer format version %u; this program "
		    "reads versions 1 to %u: use the autodidact that wrote it", name, version,
		    NN_VERSION);
	fixed = version == 1 ? HDR_V1 : HDR_FIXED;
	if (size < fixed + 8)
		return ad_fail(e, AD_EFORMAT, "%s: shorter than a header: truncated", name);
	for (int i = 0; i < 6; i++)
		rd_get(&r, &dims[i], 4);
	rd_get(&r, &kind, 4);
	rd_get(&r, &id, 8);
	rd_get(&r, &toklen, 8);
	rd_get(&r, &np, 8);
	if (version >= 2) {
		rd_get(&r, &out.text_hash, 8);
		rd_get(&r, &out.text_bytes, 8);
	}
	out.cfg = (struct gpt_config){ dims[0], dims[1], dims[2], dims[3], dims[4], dims[5] };
	if ((flags & ~7u) != 0 || (flags & 5u) == 4u ||
	    (kind != NN_TOK_BYTES && kind != NN_TOK_BPE))
		return ad_fail(e, AD_EFORMAT, "%s: byte 12: unknown flags %#x or tokenizer kind %u",
		    name, flags, kind);
	if (gpt_config_check(&out.cfg, e) != 0) {
		ad_error_prefix(e, "%s: byte 16: bad configuration", name);
		return AD_EFORMAT;
	}
	if (np != gpt_param_count(&out.cfg))
		return ad_fail(e, AD_EFORMAT, "%s: byte 56: %llu parameters stored, the "
		    "configuration has %llu", name, (unsigned long long)np,
		    (unsigned long long)gpt_param_count(&out.cfg));
	if (!(flags & 2) != (out.cfg.Vin == out.cfg.V + 1))
		return ad_fail(e, AD_EFORMAT, "%s: byte 36: %u input ids for %u tokens do not "
		    "match the %s objective of flags %#x", name, out.cfg.Vin, out.cfg.V,
		    (flags & 2) ? "masked" : "causal", flags);
	head = fixed + ((flags & 2) ? MASK_BYTES : 0) + ((flags & 1) ? TRAIN_BYTES : 0);
	/* Every size checked against the file before any is used as an offset. */
	if (toklen > size || np > size / 4)
		return ad_fail(e, AD_EFORMAT, "%s: sizes larger than the file: truncated or corrupt",
		    name);
	need = head + toklen + pad64(head + toklen) + np * 4 * ((flags & 1) ? 3 : 1) + 8;
	if (need != size)
		return ad_fail(e, AD_EFORMAT, "%s: %zu bytes, the header describes %llu: the file "
		    "is truncated or corrupt", name, size, (unsigned long long)need);
	memcpy(&digest, data + size - 8, 8);
	if (ad_hash64(data, size - 8, 0) != digest)
		return ad_fail(e, AD_ECHECKSUM, "%s: checksum mismatch: the file is corrupt "
		    "(retrain or restore it)", name);
	if (flags & 2) {
		uint32_t ww = 0, zero = 0;
		out.masked = 1;
		rd_get(&r, &out.mask_rate, 8);
		rd_get(&r, &ww, 4);
		rd_get(&r, &zero, 4);
		if (!(out.mask_rate > 0 && out.mask_rate <= 1) || ww > 1 || zero != 0)
			return ad_fail(e, AD_EFORMAT, "%s: byte %zu: a masked objective with mask rate "
			    "%g, whole-word %u: corrupt", name, fixed, out.mask_rate, ww);
		out.whole_word = (int)ww;
	}
	if (flags & 1) {
		struct nn_train_state *t = &out.train;
		uint64_t               opt_t = 0;
		rd_get(&r, &t->step, 8);
		rd_get(&r, &t->steps, 8);
		rd_get(&r, &t->seed, 8);
		rd_get(&r, &t->batch, 4);
		rd_get(&r, &t->accum, 4);
		rd_get(&r, &t->context, 4);
		rd_get(&r, &t->threads, 4);
		rd_get(&r, &t->warmup, 8);
		rd_get(&r, &t->lr, 8);
		rd_get(&r, &t->min_lr, 8);
		rd_get(&r, &t->beta1, 8);
		rd_get(&r, &t->beta2, 8);
		rd_get(&r, &t->eps, 8);
		rd_get(&r, &t->weight_decay, 8);
		rd_get(&r, &t->clip, 8);
		rd_get(&r, &t->rng.state, 8);
		rd_get(&r, &t->rng.inc, 8);
		rd_get(&r, &t->tokens_seen, 8);
		rd_get(&r, &t->data_hash, 8);
		rd_get(&r, &t->data_tokens, 8);
		rd_get(&r, &t->elapsed, 8);
		rd_get(&r, &t->last_val, 8);
		rd_get(&r, t->objective, 16);
		rd_get(&r, &opt_t, 8);
		t->objective[15] = '\0';
		t->precision = flags & 4 ? NN_PREC_BF16 : NN_PREC_FP32;
		if (opt_t != t->step || t->batch == 0 || t->accum == 0 || t->context < 2 ||
		    t->context > out.cfg.T || (t->rng.inc & 1) == 0 ||
		    (strcmp(t->objective, "masked") == 0) != out.masked)
			return ad_fail(e, AD_EFORMAT, "%s: byte %zu: inconsistent training state", name,
			    head - TRAIN_BYTES);
		out.has_train = 1;
	}
	out.tok_kind = (enum nn_tok_kind)kind;
	out.tok_identity = id;
	out.tok_blob = data + head;
	out.tok_len = (size_t)toklen;
	*f = out;
	*params_at = head + (size_t)toklen + pad64(head + (size_t)toklen);
	return 0;
}

int
nn_load(const uint8_t *data, size_t size, const char *name, struct nn_file *f,
    struct gpt **gp, struct adamw **optp, struct ad_error *e)
{
	struct gpt   *g;
	struct adamw *opt = NULL;
	size_t        at;
	int           rc;

	if ((rc = nn_parse(data, size, name, f, &at, e)) != 0)
		return rc;
	if ((rc = gpt_new(&g, &f->cfg, e)) != 0)
		return rc;
	memcpy(g->param_mem, data + at, g->nparams * sizeof(float));
	g->attention = f->masked ? NN_ATTN_FULL : NN_ATTN_CAUSAL;
	if (optp != NULL && f->has_train) {
		struct adamw_config c = nn_train_adamw_config(&f->train);
		if ((rc = adamw_new(&opt, &c, g->nparams, e)) != 0) {
			gpt_free(g);
			return rc;
		}
		at += g->nparams * sizeof(float);
		memcpy(opt->m, data + at, g->nparams * sizeof(float));
		at += g->nparams * sizeof(float);
		memcpy(opt->v, data + at, g->nparams * sizeof(float));
		opt->t = f->train.step;
	}
	*gp = g;
	if (optp != NULL)
		*optp = opt;
	return 0;
}
