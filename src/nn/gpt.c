/*
 * gpt.c — the GPT-2 model: configuration, parameters, activations, the
 * forward and backward passes over a batch, and single-token steps with a
 * key/value cache for generation.
 *
 * Reads top to bottom in pipeline order: embeddings, L blocks of
 * (LayerNorm, attention, residual, LayerNorm, MLP, residual), the final
 * LayerNorm and the tied output layer; backward in the opposite order.
 */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "nn/nn.h"

/* ------------------------------------------------------------------------
 * Configuration
 * ------------------------------------------------------------------------ */

static const struct {
	const char *name;
	uint32_t    L, NH, C, T;
} gpt_presets[] = {
	{ "tiny",  2, 2,  32,  32 },   /* tests: ~0.01 M + the embedding */
	{ "small", 4, 4, 128, 128 },   /* shape S: 1.33 M parameters at V = 4096 */
	{ "base",  6, 6, 384, 256 },   /* shape M: 12.3 M parameters at V = 4096 */
};

int
gpt_preset(const char *name, struct gpt_config *cfg)
{
	for (size_t i = 0; i < sizeof gpt_presets / sizeof gpt_presets[0]; i++)
		if (strcmp(name, gpt_presets[i].name) == 0) {
			cfg->L = gpt_presets[i].L;
			cfg->NH = gpt_presets[i].NH;
			cfg->C = gpt_presets[i].C;
			cfg->T = gpt_presets[i].T;
			return 0;
		}
	return -1;
}

const char *
gpt_preset_list(void)
{
	return "tiny (2 layers, 2 heads, width 32, context 32), "
	       "small (4, 4, 128, 128), base (6, 6, 384, 256)";
}

int
gpt_config_check(const struct gpt_config *c, struct ad_error *e)
{
	if (c->L < 1 || c->L > 256)
		return ad_fail(e, AD_EINVAL, "%u layers: give --layers between 1 and 256", c->L);
	if (c->NH < 1 || c->C < 1 || c->C % c->NH != 0)
		return ad_fail(e, AD_EINVAL,
		    "width %u is not divisible by %u heads: change --dim or --heads so that "
		    "the width is a multiple of the heads", c->C, c->NH);
	if (c->C > 16384)
		return ad_fail(e, AD_EINVAL, "width %u: give --dim of at most 16384", c->C);
	if (c->T < 2 || c->T > 65536)
		return ad_fail(e, AD_EINVAL, "context %u: give --context between 2 and 65536", c->T);
	if (c->V < 2 || c->V > UINT32_MAX - 2)
		return ad_fail(e, AD_EINVAL, "vocabulary of %u tokens: at least 2 are needed", c->V);
	if (c->Vin != c->V + 1 && c->Vin != c->V + 2)
		return ad_fail(e, AD_EINVAL, "%u input ids for %u tokens: the markers are BOS and, "
		    "in a masked model, MASK (V + 1 or V + 2)", c->Vin, c->V);
	return 0;
}

void
gpt_tensor_sizes(const struct gpt_config *c, size_t s[GPT_NTENSORS])
{
	size_t L = c->L, C = c->C;

	s[0] = (size_t)c->Vin * C;   /* wte */
	s[1] = (size_t)c->T * C;     /* wpe */
	s[2] = L * C;                /* ln1w */
	s[3] = L * C;                /* ln1b */
	s[4] = L * 3 * C * C;        /* qkvw */
	s[5] = L * 3 * C;            /* qkvb */
	s[6] = L * C * C;            /* attprojw */
	s[7] = L * C;                /* attprojb */
	s[8] = L * C;                /* ln2w */
	s[9] = L * C;                /* ln2b */
	s[10] = L * 4 * C * C;       /* fcw */
	s[11] = L * 4 * C;           /* fcb */
	s[12] = L * C * 4 * C;       /* fcprojw */
	s[13] = L * C;               /* fcprojb */
	s[14] = C;                   /* lnfw */
	s[15] = C;                   /* lnfb */
}

static const char *const gpt_names[GPT_NTENSORS] = {
	"wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
	"ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb",
};

const char *
gpt_tensor_name(int i)
{
	return i >= 0 && i < GPT_NTENSORS ? gpt_names[i] : "?";
}

int
gpt_tensor_decays(int i)
{
	/* Embeddings and the four weight matrices; no biases, no LayerNorm. */
	return i == 0 || i == 1 || i == 4 || i == 6 || i == 10 || i == 12;
}

uint64_t
gpt_param_count(const struct gpt_config *c)
{
	size_t   s[GPT_NTENSORS];
	uint64_t n = 0;

	gpt_tensor_sizes(c, s);
	for (int i = 0; i < GPT_NTENSORS; i++)
		n += s[i];
	return n;
}

/* Point the 16 named tensors into one block. */
static void
gpt_point(struct gpt_params *p, float *mem, const struct gpt_config *c)
{
	size_t s[GPT_NTENSORS];
	float **t[GPT_NTENSORS] = {
		&p->wte, &p->wpe, &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb, &p->attprojw,
		&p->attprojb, &p->ln2w, &p->ln2b, &p->fcw, &p->fcb, &p->fcprojw, &p->fcprojb,
		&p->lnfw, &p->lnfb,
	};

	gpt_tensor_sizes(c, s);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		*t[i] = mem;
		mem += s[i];
	}
}

int
gpt_new(struct gpt **out, const struct gpt_config *cfg, struct ad_error *e)
{
	struct gpt *g;
	int         rc;

	if ((rc = gpt_config_check(cfg, e)) != 0)
		return rc;
	if ((g = ad_calloc(1, sizeof *g)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for a model");
	g->cfg = *cfg;
	g->nparams = (size_t)gpt_param_count(cfg);
	if ((g->param_mem = ad_calloc(g->nparams, sizeof(float))) == NULL) {
		ad_free(g);
		return ad_fail(e, AD_ENOMEM, "out of memory for %zu parameters (%.1f MB)",
		    (size_t)gpt_param_count(cfg), gpt_param_count(cfg) * 4 / 1e6);
	}
	gpt_point(&g->params, g->param_mem, cfg);
	*out = g;
	return 0;
}

void
gpt_free(struct gpt *g)
{
	if (g == NULL)
		return;
	ad_free(g->param_mem);
	ad_free(g->grad_mem);
	ad_free(g->act_mem);
	ad_free(g->gact_mem);
	ad_free(g->wbf_mem);
	ad_free(g->blockw);
	ad_free(g);
}

/* Per-layer views of the parameters and activations. */
struct gpt_layer {
	float *ln1w, *ln1b, *qkvw, *qkvb, *attprojw, *attprojb, *ln2w, *ln2b;
	float *fcw, *fcb, *fcprojw, *fcprojb;
};

static struct gpt_layer
gpt_layer_of(const struct gpt_params *p, const struct gpt_config *c, size_t l)
{
	size_t           C = c->C;
	struct gpt_layer w = {
		p->ln1w + l * C, p->ln1b + l * C, p->qkvw + l * 3 * C * C, p->qkvb + l * 3 * C,
		p->attprojw + l * C * C, p->attprojb + l * C, p->ln2w + l * C, p->ln2b + l * C,
		p->fcw + l * 4 * C * C, p->fcb + l * 4 * C, p->fcprojw + l * 4 * C * C,
		p->fcprojb + l * C,
	};
	return w;
}

/* Block l of the model's parameters, its four matrices where blockw says
 * when they lie apart (an imported file's tensors). */
static struct gpt_layer
gpt_block_of(const struct gpt *g, size_t l)
{
	struct gpt_layer w = gpt_layer_of(&g->params, &g->cfg, l);

	if (g->blockw != NULL) {
		w.qkvw = g->blockw[4 * l];
		w.attprojw = g->blockw[4 * l + 1];
		w.fcw = g->blockw[4 * l + 2];
		w.fcprojw = g->blockw[4 * l + 3];
	}
	return w;
}

/* dst (OC, IC) in bf16 from W, which is (OC, IC), or (IC, OC) when
 * in_major: then transposed, in tiles of 32 x 32 (the bf16 kernels read
 * our layout, a row of W per output). */
static void
bf16_block(uint16_t *dst, const float *W, size_t OC, size_t IC, int in_major)
{
	if (!in_major) {
		nn_bf16_from(dst, W, OC * IC);
		return;
	}
	for (size_t i0 = 0; i0 < IC; i0 += 32)
		for (size_t o0 = 0; o0 < OC; o0 += 32)
			for (size_t i = i0; i < IC && i < i0 + 32; i++)
				for (size_t o = o0; o < OC && o < o0 + 32; o++)
					dst[o * IC + i] = nn_bf16_of(W[i * OC + o]);
}

int
gpt_set_precision(struct gpt *g, enum nn_precision prec, struct ad_error *e)
{
	const struct gpt_config *c = &g->cfg;
	size_t                   L = c->L, C = c->C, n;
	uint16_t                *p;

	g->precision = prec;
	if (prec != NN_PREC_BF16 || !nn_bf16_available()) {
		ad_free(g->wbf_mem);
		g->wbf_mem = NULL;
		memset(&g->wbf, 0, sizeof g->wbf);
		return 0;
	}
	if (g->wbf_mem != NULL)
		return 0;
	n = (size_t)c->V * C + L * 12 * C * C;
	if ((p = ad_mallocarray(n, sizeof *p)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for the weights in bf16 (%.1f MB)",
		    n * 2 / 1e6);
	g->wbf_mem = p;
	/* The output layer is the token embedding's first V rows. */
	g->wbf.wte = p;       nn_bf16_from(p, g->params.wte, (size_t)c->V * C);  p += (size_t)c->V * C;
	g->wbf.qkvw = p;      p += L * 3 * C * C;
	g->wbf.attprojw = p;  p += L * C * C;
	g->wbf.fcw = p;       p += L * 4 * C * C;
	g->wbf.fcprojw = p;
	for (size_t l = 0; l < L; l++) {
		struct gpt_layer w = gpt_block_of(g, l);

		bf16_block(g->wbf.qkvw + l * 3 * C * C, w.qkvw, 3 * C, C, g->w_in_major);
		bf16_block(g->wbf.attprojw + l * C * C, w.attprojw, C, C, g->w_in_major);
		bf16_block(g->wbf.fcw + l * 4 * C * C, w.fcw, 4 * C, C, g->w_in_major);
		bf16_block(g->wbf.fcprojw + l * 4 * C * C, w.fcprojw, C, 4 * C, g->w_in_major);
	}
	return 0;
}

void
gpt_init(struct gpt *g, struct ad_rng *rng)
{
	const struct gpt_config *c = &g->cfg;
	size_t                   s[GPT_NTENSORS];
	float                   *p = g->param_mem;
	double                   resid = 0.02 / sqrt(2.0 * c->L);

	gpt_tensor_sizes(c, s);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		for (size_t j = 0; j < s[i]; j++) {
			switch (i) {
			case 0: case 1: case 4: case 10:
				p[j] = (float)(0.02 * ad_rng_normal(rng));
				break;
			case 6: case 12:  /* residual projections */
				p[j] = (float)(resid * ad_rng_normal(rng));
				break;
			case 2: case 8: case 14:  /* LayerNorm weights */
				p[j] = 1.0f;
				break;
			default:  /* biases */
				p[j] = 0.0f;
			}
		}
		p += s[i];
	}
}

/* Floats of activations and of block-gradient scratch for (B, Tb). */
static void
gpt_act_sizes(const struct gpt_config *c, size_t B, size_t Tb, size_t *acts, size_t *gacts)
{
	size_t L = c->L, C = c->C, NH = c->NH, BT = B * Tb;

	*acts = BT * C                      /* encoded */
	      + L * BT * (C * 8 + 8 * C + 4) /* ln1 qkv(3) atty res2 ln2 res3 | fch fch_gelu | stats */
	      + L * B * NH * Tb * Tb        /* att */
	      + BT * C + 2 * BT             /* lnf, lnf stats */
	      + BT * (size_t)c->V           /* logits */
	      + BT;                         /* losses */
	*gacts = BT * C * 3 + BT * 3 * C + BT * C + B * NH * Tb * Tb + 2 * BT * 4 * C;
}

static int gpt_alloc_acts(struct gpt *g, size_t B, size_t Tb, int grads,
                          size_t chunk_bytes, struct ad_error *e);

uint64_t
gpt_train_bytes(const struct gpt_config *c, size_t B, size_t Tb)
{
	size_t a, ga;

	gpt_act_sizes(c, B, Tb, &a, &ga);
	/* activations, block gradients, params, grads, two moments */
	return ((uint64_t)a + ga + 4 * gpt_param_count(c)) * sizeof(float);
}

int
gpt_alloc(struct gpt *g, size_t B, size_t Tb, int grads, struct ad_error *e)
{
	g->one_block = 0;
	return gpt_alloc_acts(g, B, Tb, grads, SIZE_MAX, e);
}

int
gpt_alloc_scoring(struct gpt *g, size_t B, size_t Tb, size_t chunk_bytes, struct ad_error *e)
{
	/* The sizes of a one-block model: every block's activations then lie
	 * where the first block's do (gpt_forward_hidden's stride is 0). */
	g->one_block = 1;
	return gpt_alloc_acts(g, B, Tb, 0, chunk_bytes, e);
}

/* Activations for (B, Tb), the logits and attention scores cut to
 * chunk_bytes each (see gpt_alloc_scoring). */
static int
gpt_alloc_acts(struct gpt *g, size_t B, size_t Tb, int grads, size_t chunk_bytes,
    struct ad_error *e)
{
	struct gpt_config        one = g->cfg;
	const struct gpt_config *c = &one;
	size_t                   a, ga, L, C = c->C, NH = c->NH, BT = B * Tb;
	size_t                   lrows, acap, block = Tb * Tb;
	float                   *p;

	if (g->one_block)
		one.L = 1;
	L = one.L;

	if (Tb > c->T || B == 0 || Tb == 0)
		return ad_fail(e, AD_EINVAL, "a batch of %zu x %zu does not fit a context of %u",
		    B, Tb, c->T);
	/* The product's buffers first, so that a failure leaves nothing behind. */
	if (nn_sgemm_prepare() != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory for the matrix-product buffers");
	gpt_act_sizes(c, B, Tb, &a, &ga);
	/* The rows of logits and (b, h) blocks of scores that fit chunk_bytes,
	 * at least one; the floats gpt_act_sizes counted beyond them are not
	 * allocated. */
	lrows = chunk_bytes / sizeof(float) / c->V;
	lrows = lrows < 1 ? 1 : lrows > BT ? BT : lrows;
	acap = chunk_bytes / sizeof(float) / block;
	acap = (acap < 1 ? 1 : acap > B * NH ? B * NH : acap) * block;
	a -= (BT - lrows) * c->V + L * (B * NH * block - acap);
	ad_free(g->act_mem);
	ad_free(g->gact_mem);
	g->gact_mem = NULL;
	if ((g->act_mem = ad_mallocarray(a, sizeof(float))) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for activations of a %zu x %zu batch "
		    "(%.0f MB): use a smaller --batch or --context", B, Tb, a * 4 / 1e6);
	if (grads) {
		if ((g->gact_mem = ad_mallocarray(ga, sizeof(float))) == NULL ||
		    (g->grad_mem == NULL &&
		     (g->grad_mem = ad_calloc(g->nparams, sizeof(float))) == NULL)) {
			ad_free(g->act_mem);
			ad_free(g->gact_mem);
			g->act_mem = g->gact_mem = NULL;
			return ad_fail(e, AD_ENOMEM, "out of memory for gradients: use a smaller "
			    "--batch or --context");
		}
		gpt_point(&g->grads, g->grad_mem, c);
	}
	g->B = B;
	g->Tb = Tb;
	g->logit_rows = lrows;
	g->att_cap = acap;
	p = g->act_mem;
#define TAKE(field, n) do { g->acts.field = p; p += (n); } while (0)
	TAKE(encoded, BT * C);
	TAKE(ln1, L * BT * C);
	TAKE(ln1_mean, L * BT);
	TAKE(ln1_rstd, L * BT);
	TAKE(qkv, L * BT * 3 * C);
	TAKE(atty, L * BT * C);
	TAKE(att, L * acap);
	TAKE(res2, L * BT * C);
	TAKE(ln2, L * BT * C);
	TAKE(ln2_mean, L * BT);
	TAKE(ln2_rstd, L * BT);
	TAKE(fch, L * BT * 4 * C);
	TAKE(fch_gelu, L * BT * 4 * C);
	TAKE(res3, L * BT * C);
	TAKE(lnf, BT * C);
	TAKE(lnf_mean, BT);
	TAKE(lnf_rstd, BT);
	TAKE(logits, lrows * c->V);
	TAKE(losses, BT);
#undef TAKE
	if (grads) {
		p = g->gact_mem;
#define TAKE(field, n) do { g->gacts.field = p; p += (n); } while (0)
		TAKE(dres, BT * C);
		TAKE(dres2, BT * C);
		TAKE(dln, BT * C);
		TAKE(dqkv, BT * 3 * C);
		TAKE(datty, BT * C);
		TAKE(datt, B * NH * Tb * Tb);
		TAKE(dfch, BT * 4 * C);
		TAKE(dfch_gelu, BT * 4 * C);
#undef TAKE
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Forward and backward over a batch
 * ------------------------------------------------------------------------ */

/* out (N, OC) = inp (N, C) times a block matrix + bias: W^T for our layout
 * (W is (OC, C)), W itself for an input-major one ((C, OC), w_in_major). */
static void
block_forward(const struct gpt *g, float *out, const float *inp, const float *W,
    const float *bias, size_t N, size_t C, size_t OC)
{
	if (g->w_in_major)
		nn_gemm(g->precision, 0, 0, N, OC, C, inp, C, W, OC, bias, out, OC, 0);
	else
		nn_matmul_forward(out, inp, W, bias, N, C, OC, g->precision);
}

/* A block past its attention, on N rows (of the block's buffers ls): res2 =
 * residual + the projection of atty, out = res2 + the MLP of LayerNorm(res2).
 * Every step computes a row from that row alone. */
static void
block_tail(struct gpt *g, const struct gpt_layer *w, size_t ls, const float *atty,
    const float *residual, float *res2, float *ln2, float *fch, float *fchg, float *out,
    size_t N)
{
	struct gpt_acts *a = &g->acts;
	size_t           C = g->cfg.C, SBT = g->B * g->Tb;

	block_forward(g, res2, atty, w->attprojw, w->attprojb, N, C, C);
	nn_residual_forward(res2, residual, res2, N * C);
	nn_layernorm_forward(ln2, a->ln2_mean + ls * SBT, a->ln2_rstd + ls * SBT, res2, w->ln2w,
	    w->ln2b, N, C);
	block_forward(g, fch, ln2, w->fcw, w->fcb, N, C, 4 * C);
	nn_gelu_forward(fchg, fch, N * 4 * C);
	block_forward(g, out, fchg, w->fcprojw, w->fcprojb, N, 4 * C, C);
	nn_residual_forward(out, res2, out, N * C);
}

/* The forward pass through the blocks: returns the residual stream after
 * the last one, (B, Tb, C) in the acts (no final LayerNorm, no logits).
 * With stop_at_last_attention, the last block stops after its attention
 * (its output in the block's atty) and the residual stream it reads is
 * returned instead: gpt_forward_at runs the rest of it on some rows. */
static const float *
gpt_forward_blocks(struct gpt *g, const uint32_t *inputs, size_t B, size_t Tb,
    int stop_at_last_attention)
{
	const struct gpt_config *c = &g->cfg;
	struct gpt_acts         *a = &g->acts;
	size_t                   C = c->C, NH = c->NH, BT = B * Tb;
	size_t                   SBT = g->B * g->Tb;   /* the layer stride: allocated rows */
	size_t                   Satt = g->att_cap;
	/* (b, h) pairs whose scores att holds at once: all, or a group
	 * (gpt_alloc_scoring). */
	size_t                   pairs = g->att_cap / (Tb * Tb);
	const float             *residual;

	assert(B <= g->B && Tb <= g->Tb);
	g->fwd_B = B;
	g->fwd_Tb = Tb;
	nn_encoder_forward(a->encoded, inputs, g->params.wte, g->params.wpe, B, Tb, C);
	residual = a->encoded;
	for (size_t l = 0; l < c->L; l++) {
		struct gpt_layer w = gpt_block_of(g, l);
		/* The block's activations: its own, or the one block's that every
		 * block reuses (gpt_alloc_scoring; the residual it reads, res3 of
		 * the block before, is spent once res2 is summed). */
		size_t ls = g->one_block ? 0 : l;
		float *ln1 = a->ln1 + ls * SBT * C, *qkv = a->qkv + ls * SBT * 3 * C;
		float *atty = a->atty + ls * SBT * C, *att = a->att + ls * Satt;
		float *res2 = a->res2 + ls * SBT * C, *ln2 = a->ln2 + ls * SBT * C;
		float *fch = a->fch + ls * SBT * 4 * C, *fchg = a->fch_gelu + ls * SBT * 4 * C;
		float *res3 = a->res3 + ls * SBT * C;

		nn_layernorm_forward(ln1, a->ln1_mean + ls * SBT, a->ln1_rstd + ls * SBT, residual,
		    w.ln1w, w.ln1b, BT, C);
		block_forward(g, qkv, ln1, w.qkvw, w.qkvb, BT, C, 3 * C);
		for (size_t bh = 0; bh < B * NH; bh += pairs)
			nn_attention_forward_heads(atty, att, qkv, B, Tb, C, NH, g->attention, bh,
			    B * NH - bh < pairs ? B * NH - bh : pairs);
		if (stop_at_last_attention && l + 1 == c->L)
			return residual;
		block_tail(g, &w, ls, atty, residual, res2, ln2, fch, fchg, res3, BT);
		residual = res3;
	}
	return residual;
}

/* The forward pass up to the final LayerNorm (acts.lnf); no logits. */
static void
gpt_forward_hidden(struct gpt *g, const uint32_t *inputs, size_t B, size_t Tb)
{
	struct gpt_acts *a = &g->acts;
	const float     *residual = gpt_forward_blocks(g, inputs, B, Tb, 0);

	nn_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, residual, g->params.lnfw,
	    g->params.lnfb, B * Tb, g->cfg.C);
}

/*
 * The output layer and the losses after gpt_forward_hidden, logit_rows rows
 * at a time, each group shown to fn (when not NULL) before the next
 * overwrites acts.logits. A row's logits and loss are computed from that
 * row alone (gemm.c, "Determinism"), and the total is summed over the rows
 * in order afterwards, so the bits do not depend on the groups.
 */
static int
gpt_output(struct gpt *g, const uint32_t *targets, const uint8_t *mask, size_t BT,
    gpt_rows_fn fn, void *ctx)
{
	const struct gpt_config *c = &g->cfg;
	struct gpt_acts         *a = &g->acts;
	size_t                   counted = 0;
	double                   total = 0;
	int                      rc;

	assert(targets != NULL || BT <= g->logit_rows);
	for (size_t r0 = 0; r0 < BT; r0 += g->logit_rows) {
		size_t nr = BT - r0 < g->logit_rows ? BT - r0 : g->logit_rows;
		/* The output layer is the token embedding (rows < V), transposed. */
		nn_matmul_forward(a->logits, a->lnf + r0 * c->C, g->params.wte, NULL, nr, c->C, c->V,
		    g->precision);
		if (targets != NULL)
			(void)nn_crossentropy_forward(a->losses + r0, a->logits, targets + r0,
			    mask != NULL ? mask + r0 : NULL, nr, c->V, c->V);
		if (fn != NULL && (rc = fn(ctx, r0, nr, a->logits)) != 0)
			return rc;
	}
	if (targets == NULL)
		return 0;
	/* nn_crossentropy_forward's sum, over every row in order. */
	for (size_t i = 0; i < BT; i++) {
		total += a->losses[i];
		counted += mask == NULL || mask[i];
	}
	g->loss = counted ? total / (double)counted : 0;
	return 0;
}

double
gpt_forward(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
    const uint8_t *mask, size_t B, size_t Tb)
{
	gpt_forward_hidden(g, inputs, B, Tb);
	(void)gpt_output(g, targets, mask, B * Tb, NULL, NULL);
	return targets != NULL ? g->loss : 0;
}

int
gpt_forward_rows(struct gpt *g, const uint32_t *inputs, const uint32_t *targets, size_t B,
    size_t Tb, gpt_rows_fn fn, void *ctx)
{
	gpt_forward_hidden(g, inputs, B, Tb);
	return gpt_output(g, targets, NULL, B * Tb, fn, ctx);
}

void
gpt_forward_at(struct gpt *g, const uint32_t *inputs, size_t B, size_t Tb, const size_t *at,
    size_t R, float *out)
{
	const struct gpt_config *c = &g->cfg;
	struct gpt_acts         *a = &g->acts;
	size_t                   C = c->C, cap = g->B * g->Tb, SBT = cap;
	size_t                   ls = g->one_block ? 0 : c->L - 1;
	struct gpt_layer         w = gpt_block_of(g, c->L - 1);
	const float             *residual = gpt_forward_blocks(g, inputs, B, Tb, 1);
	/* The last block's buffers: its attention's output (every row), and
	 * the rest of the block's, which the rows asked reuse packed. */
	const float *atty = a->atty + ls * SBT * C;
	float       *x = a->ln1 + ls * SBT * C;   /* spent once qkv was computed */
	float       *xr = a->qkv + ls * SBT * 3 * C;   /* spent once atty was */
	float       *res2 = a->res2 + ls * SBT * C, *ln2 = a->ln2 + ls * SBT * C;
	float       *fch = a->fch + ls * SBT * 4 * C, *fchg = a->fch_gelu + ls * SBT * 4 * C;

	/* Past its attention, a block computes each row from that row alone:
	 * so the rest of the last block, the final LayerNorm and the output
	 * layer run on the rows asked only, up to cap at a time, packed (the
	 * projection and the MLP were 3/4 of the last block's products, which
	 * a PLL, one row asked of each window, paid in full). Each step is
	 * gpt_forward's arithmetic on that row: LayerNorm row by row, GELU and
	 * the residual sums element by element, and a product computes a row
	 * in the same order whatever the other rows (gemm.c, "Determinism"),
	 * so these are gpt_forward's bits. The residual read may be a->res3
	 * (one block's activations) or a->encoded (one block): neither is
	 * written before the last chunk has read it; x holds the attention's
	 * rows, then the block's output, xr the residual's rows. */
	for (size_t r0 = 0; r0 < R; r0 += cap) {
		size_t nr = R - r0 < cap ? R - r0 : cap;
		for (size_t i = 0; i < nr; i++) {
			assert(at[r0 + i] < B * Tb);
			memcpy(x + i * C, atty + at[r0 + i] * C, C * sizeof *x);
			memcpy(xr + i * C, residual + at[r0 + i] * C, C * sizeof *xr);
		}
		block_tail(g, &w, ls, x, xr, res2, ln2, fch, fchg, x, nr);
		nn_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, x, g->params.lnfw,
		    g->params.lnfb, nr, C);
		nn_matmul_forward(out + r0 * c->V, a->lnf, g->params.wte, NULL, nr, C, c->V,
		    g->precision);
	}
}

void
gpt_zero_grad(struct gpt *g)
{
	if (g->grad_mem != NULL)
		memset(g->grad_mem, 0, g->nparams * sizeof(float));
}

int
gpt_backward(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
    const uint8_t *mask, size_t B, size_t Tb, float scale, struct ad_error *e)
{
	return gpt_backward_hooked(g, inputs, targets, mask, B, Tb, scale, NULL, NULL, e);
}

int
gpt_backward_hooked(struct gpt *g, const uint32_t *inputs, const uint32_t *targets,
    const uint8_t *mask, size_t B, size_t Tb, float scale, void (*hook)(void *ctx, size_t s),
    void *ctx, struct ad_error *e)
{
	const struct gpt_config *c = &g->cfg;
	struct gpt_acts         *a = &g->acts;
	struct gpt_grad_acts    *d = &g->gacts;
	struct gpt_params       *gp = &g->grads;
	size_t                   C = c->C, NH = c->NH, BT = B * Tb;
	size_t                   SBT = g->B * g->Tb, Satt = g->B * NH * g->Tb * g->Tb;

	/* The activations hold the last forward's rows, packed as (fwd_B, fwd_Tb):
	 * any other shape would read stale rows or rows cut at the wrong length. */
	if (g->gact_mem == NULL)
		return ad_fail(e, AD_EINVAL, "a backward pass on a model sized without gradients "
		    "(gpt_alloc with grads)");
	if (g->w_in_major || g->blockw != NULL)
		return ad_fail(e, AD_EINVAL, "a backward pass on an imported checkpoint's weights "
		    "(input-major, in place): such a model is for inference only");
	if (B != g->fwd_B || Tb != g->fwd_Tb)
		return ad_fail(e, AD_EINVAL, "a backward pass over a batch of %zu x %zu after a "
		    "forward pass over %zu x %zu: run the forward pass on the same batch first", B,
		    Tb, g->fwd_B, g->fwd_Tb);

	/* losses = crossentropy(logits): logits become dlogits. */
	nn_crossentropy_backward(a->logits, targets, mask, scale, BT, c->V, c->V);
	/* logits = lnf wte^T */
	nn_matmul_backward(d->dln, gp->wte, NULL, a->logits, a->lnf, g->params.wte, BT, C, c->V,
	    0, g->precision);
	/* lnf = layernorm(res3[L-1]) */
	memset(d->dres, 0, BT * C * sizeof(float));
	nn_layernorm_backward(d->dres, gp->lnfw, gp->lnfb, d->dln,
	    a->res3 + (c->L - 1) * SBT * C, g->params.lnfw, a->lnf_mean, a->lnf_rstd, BT, C);
	if (hook != NULL)
		hook(ctx, c->L);

	for (size_t l = c->L; l-- > 0;) {
		struct gpt_layer w = gpt_layer_of(&g->params, c, l);
		struct gpt_layer dw = gpt_layer_of(gp, c, l);
		const float *residual = l == 0 ? a->encoded : a->res3 + (l - 1) * SBT * C;
		float *ln1 = a->ln1 + l * SBT * C, *qkv = a->qkv + l * SBT * 3 * C;
		float *atty = a->atty + l * SBT * C, *att = a->att + l * Satt;
		float *res2 = a->res2 + l * SBT * C, *ln2 = a->ln2 + l * SBT * C;
		float *fch = a->fch + l * SBT * 4 * C, *fchg = a->fch_gelu + l * SBT * 4 * C;

		/* res3 = res2 + fcproj(fchg): dres2 = dres3 */
		memcpy(d->dres2, d->dres, BT * C * sizeof(float));
		/* fcproj = fchg fcprojw^T + fcprojb */
		nn_matmul_backward(d->dfch_gelu, dw.fcprojw, dw.fcprojb, d->dres, fchg, w.fcprojw,
		    BT, 4 * C, C, 0, g->precision);
		if (hook != NULL)
			hook(ctx, l + 1);
		/* fchg = gelu(fch) */
		memset(d->dfch, 0, BT * 4 * C * sizeof(float));
		nn_gelu_backward(d->dfch, fch, d->dfch_gelu, BT * 4 * C);
		/* fch = ln2 fcw^T + fcb */
		nn_matmul_backward(d->dln, dw.fcw, dw.fcb, d->dfch, ln2, w.fcw, BT, C, 4 * C, 0,
		    g->precision);
		if (hook != NULL)
			hook(ctx, l + 1);
		/* ln2 = layernorm(res2) */
		nn_layernorm_backward(d->dres2, dw.ln2w, dw.ln2b, d->dln, res2, w.ln2w,
		    a->ln2_mean + l * SBT, a->ln2_rstd + l * SBT, BT, C);
		/* res2 = residual + attproj(atty): dresidual = dres2 */
		memcpy(d->dres, d->dres2, BT * C * sizeof(float));
		/* attproj = atty attprojw^T + attprojb */
		nn_matmul_backward(d->datty, dw.attprojw, dw.attprojb, d->dres2, atty, w.attprojw,
		    BT, C, C, 0, g->precision);
		if (hook != NULL)
			hook(ctx, l + 1);
		/* atty = attention(qkv) */
		memset(d->dqkv, 0, BT * 3 * C * sizeof(float));
		nn_attention_backward(d->dqkv, d->datt, d->datty, qkv, att, B, Tb, C, NH,
		    g->attention);
		if (hook != NULL)
			hook(ctx, l + 1);
		/* qkv = ln1 qkvw^T + qkvb */
		nn_matmul_backward(d->dln, dw.qkvw, dw.qkvb, d->dqkv, ln1, w.qkvw, BT, C, 3 * C, 0,
		    g->precision);
		/* ln1 = layernorm(residual) */
		nn_layernorm_backward(d->dres, dw.ln1w, dw.ln1b, d->dln, residual, w.ln1w,
		    a->ln1_mean + l * SBT, a->ln1_rstd + l * SBT, BT, C);
		if (hook != NULL)
			hook(ctx, l);
	}
	/* encoded = wte[inputs] + wpe */
	nn_encoder_backward(gp->wte, gp->wpe, d->dres, inputs, B, Tb, C);
	return 0;
}

/* ------------------------------------------------------------------------
 * Generation: one token at a time with a key/value cache
 * ------------------------------------------------------------------------ */

/* The schedule of a decoding step among threads: see gpt_kv_step. */
enum kv_kind { KV_FP32, KV_IN, KV_BF16, KV_ATT };

struct kv_job {
	enum kv_kind    kind;
	float          *out;     /* (rows) */
	const float    *W;       /* (rows, C) fp32 weights (KV_FP32); (C, rows) KV_IN's,
	                          * input-major (w_in_major) */
	const uint16_t *Wb;      /* (rows, C) bf16 weights (KV_BF16) */
	const float    *x;       /* (C) input (KV_FP32; KV_BF16: the same rounded in xb) */
	const uint16_t *xb;      /* (C rounded up to 32) x in bf16 (KV_BF16) */
	const float    *bias;    /* (rows) or NULL */
	size_t          C;
	size_t          rows;    /* output rows, or heads (KV_ATT) */
	size_t          chunk;   /* rows per chunk (KV_IN: columns of W) */
	size_t          c0, nc;  /* its chunks' states: st[c0 .. c0 + nc) */
	size_t          layer;   /* KV_ATT: whose cache */
	const float    *q;       /* (C) KV_ATT: the queries */
};

/* Jobs of one step: per layer QKV, attention, projection, MLP up, MLP down;
 * then the logits. Per layer its own buffers (an input is never written
 * again within the step, so a late helper reads what it was given). */
#define KV_JOBS(L)   (5 * (size_t)(L) + 1)
#define KV_LAYER(C)  (12 * (size_t)(C))   /* ln1 C, qkv 3C, atty C, proj C, ln2 C, h 4C, fc C */
#define KV_HELP(C, T) (16384 + (size_t)(T) + (size_t)(C))   /* a helper's scratch */
#define KV_QUIT      0xffffffffu
/* A chunk's state: free, being computed by a helper into its scratch, being
 * copied by it to the output, done, or taken over by thread 0. */
enum { KV_FREE, KV_HELPING, KV_COPYING, KV_DONE, KV_TAKEN };

struct gpt_kv_sched {
	_Atomic uint32_t  now;      /* job index + 1 being offered; KV_QUIT when over */
	char              pad[64 - sizeof(uint32_t)];   /* the chunk states on other lines */
	const struct gpt *g;
	struct gpt_kv    *kv;
	size_t            pos;
	int               helpers;  /* threads besides thread 0 with scratch */
	int               threads;  /* threads of this step (<= helpers + 1) */
	float            *scratch;  /* (helpers, KV_HELP) */
	float            *act;      /* (L, KV_LAYER) the blocks' buffers */
	_Atomic unsigned char *st;  /* (chunks of every job) */
	size_t            nst;
	struct kv_job     job[];    /* (KV_JOBS(L)) */
};

/* Chunks of a product of OC rows of C inputs: ~64 KB of fp32 weights each,
 * a multiple of 4 rows (the bf16 kernel's block). */
static size_t
kv_chunk(size_t C)
{
	size_t chunk = 16384 / C / 4 * 4;

	return chunk < 4 ? 4 : chunk;
}

/* The same for an input-major W (C, OC): a chunk of outputs reads a piece
 * of each of W's C rows, so it is made wide enough for those pieces to
 * stream (at least 128 floats, the AVX-512 kernel's panel), never more
 * chunks than kv_chunk's (the chunk states are counted by it). */
static size_t
kv_chunk_in(size_t C)
{
	return (kv_chunk(C) + 127) / 128 * 128;
}

static void
kv_sched_free(struct gpt_kv_sched *s)
{
	if (s == NULL)
		return;
	ad_free(s->scratch);
	ad_free(s->act);
	ad_free((void *)s->st);
	ad_free(s);
}

static int
kv_sched_new(const struct gpt *g, struct gpt_kv *kv)
{
	const struct gpt_config *c = &g->cfg;
	size_t                   C = c->C, nst;
	struct gpt_kv_sched     *s;
	int                      th = 1;

#ifdef _OPENMP
	th = omp_get_max_threads();
#endif
	nst = c->L * ((3 * C + kv_chunk(C) - 1) / kv_chunk(C) + c->NH + (C + kv_chunk(C) - 1) /
	    kv_chunk(C) + (4 * C + kv_chunk(C) - 1) / kv_chunk(C) + (C + kv_chunk(4 * C) - 1) /
	    kv_chunk(4 * C)) + (c->V + kv_chunk(C) - 1) / kv_chunk(C);
	if ((s = ad_calloc(1, sizeof *s + KV_JOBS(c->L) * sizeof s->job[0])) == NULL)
		return -1;
	s->helpers = th - 1;
	s->nst = nst;
	if ((s->scratch = ad_calloc((size_t)th * KV_HELP(C, c->T), sizeof(float))) == NULL ||
	    (s->act = ad_calloc(c->L * KV_LAYER(C), sizeof(float))) == NULL ||
	    (s->st = ad_calloc(nst, 1)) == NULL ||
	    (kv->xb16 = ad_calloc(c->L * 7 * C + C + 32 * (5 * c->L + 1), sizeof(uint16_t))) ==
	    NULL) {
		kv_sched_free(s);
		return -1;
	}
	kv->sched = s;
	return 0;
}

int
gpt_kv_new(const struct gpt *g, struct gpt_kv **out, struct ad_error *e)
{
	const struct gpt_config *c = &g->cfg;
	struct gpt_kv           *kv;
	size_t                   C = c->C, T = c->T, n;
	float                   *p;

	/* A cache holds the past only: a position of a masked model also sees
	 * the ones after it, which generation does not have. */
	if (g->attention != NN_ATTN_CAUSAL)
		return ad_fail(e, AD_EINVAL, "a masked (bidirectional) model cannot generate "
		    "left to right: it predicts hidden tokens from both sides");
	n = 2 * (size_t)c->L * T * C + C + C + 3 * C + c->NH * T + C + 4 * C + c->V + C;
	if ((kv = ad_calloc(1, sizeof *kv)) == NULL || (p = ad_calloc(n, sizeof(float))) == NULL ||
	    kv_sched_new(g, kv) != 0) {
		if (kv != NULL)
			ad_free(p);
		ad_free(kv);
		return ad_fail(e, AD_ENOMEM, "out of memory for a key/value cache");
	}
	kv->T = T;
	kv->k = p;      p += (size_t)c->L * T * C;
	kv->v = p;      p += (size_t)c->L * T * C;
	kv->x = p;      p += C;
	kv->xb = p;     p += C;
	kv->qkv = p;    p += 3 * C;
	kv->att = p;    p += c->NH * T;
	kv->atty = p;   p += C;
	kv->h = p;      p += 4 * C;
	kv->logits = p; p += c->V;
	kv->hid = p;
	*out = kv;
	return 0;
}

void
gpt_kv_free(struct gpt_kv *kv)
{
	if (kv == NULL)
		return;
	ad_free(kv->k);
	kv_sched_free(kv->sched);
	ad_free(kv->xb16);
	ad_free(kv);
}

void
gpt_kv_reset(struct gpt_kv *kv)
{
	kv->pos = 0;
}

/* out (OC) = W (OC, C) x + bias for generation: from the bf16 copy Wb of W
 * when the model keeps one (gpt_set_precision), else from W. */
static void
kv_matvec(float *out, const float *W, const uint16_t *Wb, const float *x, const float *bias,
    size_t C, size_t OC)
{
	if (Wb != NULL)
		nn_matvec_bf16(out, Wb, x, bias, C, OC);
	else
		nn_matvec(out, W, x, bias, C, OC);
}

/* LayerNorm of one vector (the same arithmetic as nn_layernorm_forward). */
static void
kv_layernorm(float *out, const float *x, const float *w, const float *b, size_t C)
{
	float mean, rstd;

	nn_layernorm_forward(out, &mean, &rstd, x, w, b, 1, C);
}

/*
 * One decoding step shared among threads without a barrier per product.
 *
 * At batch 1 a step is 4L + 1 matrix-vector products (memory-bound: they
 * read every weight once) and L attentions, each needing the one before.
 * With a parallel loop per product that is ~5L barriers a token, and on a
 * machine shared with other work each waits whenever the scheduler has
 * taken a partner thread away: on a loaded 2-core machine two threads
 * generated at half the speed of one. Here the whole step is one parallel
 * region. Thread 0 runs the step in order and does the small serial parts
 * (embedding, LayerNorm, residual, GELU); each product or attention is a
 * job cut into chunks of rows (of heads), which thread 0 takes from the
 * front and helper t of n threads from t/n of the way along, both in
 * ascending order (a helper that reaches the end goes on downwards from
 * where it began). Ascending, each thread reads its weights as one forward
 * stream, which the hardware prefetcher follows: taking the chunks from
 * the back, 64 KB forward then 128 KB back each time, a helper left about
 * a fifth of its bandwidth unused (2-core Zen 5, GPT-2 124M: fp32
 * generation 1.2x faster ascending). A helper computes into its own
 * scratch and copies to the output only if thread 0 has not taken the
 * chunk over meanwhile; thread 0, out of free chunks, waits a moment for
 * those a helper holds, then computes them itself. So thread 0 never waits
 * for a thread that is not running, and every row is computed whole by one
 * call of the same kernel: the bits do not depend on which thread did it
 * or how many there are. Each job reads inputs of its own (per-layer
 * buffers), written before it is offered and not again within the step,
 * so a helper that is late reads what it was given; the region's end
 * waits for it before the next step reuses them.
 */

static void
kv_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Chunk k of job j into out (thread 0: the job's output; a helper: its
 * scratch, indexed from the chunk's first row), att: (T) scratch. */
static void
kv_compute(const struct gpt_kv_sched *s, const struct kv_job *j, size_t k, float *out,
    size_t base, float *att)
{
	size_t o0 = k * j->chunk, o1 = o0 + j->chunk < j->rows ? o0 + j->chunk : j->rows;

	switch (j->kind) {
	case KV_FP32:
		nn_matvec_rows(out - base, j->W, j->x, j->bias, j->C, o0, o1);
		break;
	case KV_IN:
		nn_matvec_in_rows(out - base, j->W, j->x, j->bias, j->C, j->rows, o0, o1);
		break;
	case KV_BF16:
		nn_matvec_bf16_rows(out - base, j->Wb, j->xb, j->bias, j->C, o0, o1);
		break;
	case KV_ATT: {
		const struct gpt_config *c = &s->g->cfg;
		size_t C = c->C, hs = C / c->NH, T = c->T, pos = s->pos;
		for (size_t h = o0; h < o1; h++)
			/* softmax(q K^T / sqrt(hs)) V over the cache, one head. */
			nn_attend_one(out - base + h * hs, j->q + h * hs,
			    s->kv->k + j->layer * T * C + h * T * hs,
			    s->kv->v + j->layer * T * C + h * T * hs, pos + 1, hs, att);
		break;
	}
	}
}

/* Floats of output of chunk k (its rows, or its heads' hs each). */
static size_t
kv_chunk_len(const struct gpt_kv_sched *s, const struct kv_job *j, size_t k, size_t *first)
{
	size_t o0 = k * j->chunk, o1 = o0 + j->chunk < j->rows ? o0 + j->chunk : j->rows;
	size_t w = j->kind == KV_ATT ? s->g->cfg.C / s->g->cfg.NH : 1;

	*first = o0 * w;
	return (o1 - o0) * w;
}

/* Thread 0: offer job n, compute free chunks from the front, then make sure
 * every chunk is done (waiting briefly for a helper's, then taking it). */
static void
kv_run(struct gpt_kv_sched *s, size_t n)
{
	const struct kv_job    *j = &s->job[n];
	_Atomic unsigned char *st = s->st + j->c0;

	atomic_store_explicit(&s->now, (uint32_t)n + 1, memory_order_release);
	for (size_t k = 0; k < j->nc; k++) {
		unsigned char f = KV_FREE;
		if (atomic_compare_exchange_strong_explicit(&st[k], &f, KV_DONE,
		    memory_order_acq_rel, memory_order_acquire))
			kv_compute(s, j, k, j->out, 0, s->kv->att);
	}
	for (size_t k = 0; k < j->nc; k++) {
		unsigned char v = atomic_load_explicit(&st[k], memory_order_acquire);
		for (int spin = 0; v == KV_HELPING && spin < 4096; spin++) {
			kv_cpu_relax();
			v = atomic_load_explicit(&st[k], memory_order_acquire);
		}
		if (v == KV_HELPING && atomic_compare_exchange_strong_explicit(&st[k], &v, KV_TAKEN,
		    memory_order_acq_rel, memory_order_acquire)) {
			kv_compute(s, j, k, j->out, 0, s->kv->att);
			continue;
		}
		while (v != KV_DONE && v != KV_TAKEN) {   /* a helper's copy (a few floats) */
			kv_cpu_relax();
			v = atomic_load_explicit(&st[k], memory_order_acquire);
		}
	}
}

/* A helper (thread t > 0 of s->threads): take chunks of each job offered,
 * ascending from t/threads of the way along, then descending from there. */
static void
kv_help(struct gpt_kv_sched *s, int t)
{
	float   *scr = s->scratch + (size_t)(t - 1) * KV_HELP(s->g->cfg.C, s->g->cfg.T);
	float   *att = scr + 16384 + s->g->cfg.C;
	uint32_t seen = 0;
	unsigned idle = 0;

	for (;;) {
		uint32_t n = atomic_load_explicit(&s->now, memory_order_acquire);
		if (n == KV_QUIT)
			return;
		if (n == 0 || n == seen) {
			/* Thread 0's serial parts take microseconds; past that it is
			 * probably not running, and spinning would only take the
			 * CPU it needs. */
			if (++idle % 256 == 0)
				sched_yield();
			else
				kv_cpu_relax();
			continue;
		}
		idle = 0;
		seen = n;
		const struct kv_job    *j = &s->job[n - 1];
		_Atomic unsigned char *st = s->st + j->c0;
		size_t start = j->nc * (size_t)t / (size_t)s->threads;
		for (size_t i = 0; i < j->nc; i++) {
			unsigned char f = KV_FREE;
			size_t        first, len;
			size_t        k = start + i < j->nc ? start + i : j->nc - 1 - i;
			if (atomic_load_explicit(&s->now, memory_order_relaxed) != n)
				break;
			if (atomic_load_explicit(&st[k], memory_order_relaxed) != KV_FREE ||
			    !atomic_compare_exchange_strong_explicit(&st[k], &f, KV_HELPING,
			    memory_order_acq_rel, memory_order_relaxed))
				continue;
			len = kv_chunk_len(s, j, k, &first);
			kv_compute(s, j, k, scr, first, att);
			f = KV_HELPING;
			if (atomic_compare_exchange_strong_explicit(&st[k], &f, KV_COPYING,
			    memory_order_acq_rel, memory_order_relaxed)) {
				memcpy(j->out + first, scr, len * sizeof(float));
				atomic_store_explicit(&st[k], KV_DONE, memory_order_release);
			}
		}
	}
}

static void
kv_product(struct kv_job *j, size_t *c0, float *out, const float *W, const uint16_t *Wb,
    int in_major, const float *x, uint16_t *xb, const float *bias, size_t C, size_t OC)
{
	enum kv_kind kind = Wb != NULL ? KV_BF16 : in_major ? KV_IN : KV_FP32;
	size_t       chunk = kind == KV_IN ? kv_chunk_in(C) : kv_chunk(C);

	*j = (struct kv_job){ .kind = kind, .out = out, .W = W,
		.Wb = Wb, .x = x, .xb = Wb != NULL ? xb : NULL, .bias = bias, .C = C, .rows = OC,
		.chunk = chunk, .c0 = *c0, .nc = (OC + chunk - 1) / chunk };
	*c0 += j->nc;
}

/* Thread 0's part of a step: the step in order. */
static void
kv_lead(struct gpt_kv_sched *s, uint32_t id)
{
	const struct gpt        *g = s->g;
	const struct gpt_config *c = &g->cfg;
	const struct gpt_params *p = &g->params;
	struct gpt_kv           *kv = s->kv;
	size_t                   C = c->C, NH = c->NH, hs = C / NH, T = c->T, pos = s->pos;
	const struct kv_job     *j = s->job;

	for (size_t i = 0; i < C; i++)
		kv->x[i] = p->wte[(size_t)id * C + i] + p->wpe[pos * C + i];
	for (size_t l = 0; l < c->L; l++, j += 5) {
		struct gpt_layer w = gpt_block_of(g, l);
		float           *kc = kv->k + l * T * C, *vc = kv->v + l * T * C;

		kv_layernorm((float *)j[0].x, kv->x, w.ln1w, w.ln1b, C);
		if (j[0].xb != NULL)
			nn_matvec_bf16_x((uint16_t *)j[0].xb, j[0].x, C);
		kv_run(s, (size_t)(j - s->job));
		for (size_t h = 0; h < NH; h++) {
			memcpy(kc + (h * T + pos) * hs, j[0].out + C + h * hs, hs * sizeof(float));
			memcpy(vc + (h * T + pos) * hs, j[0].out + 2 * C + h * hs, hs * sizeof(float));
		}
		kv_run(s, (size_t)(j - s->job) + 1);
		if (j[2].xb != NULL)
			nn_matvec_bf16_x((uint16_t *)j[2].xb, j[2].x, C);
		kv_run(s, (size_t)(j - s->job) + 2);
		for (size_t i = 0; i < C; i++)
			kv->x[i] += j[2].out[i];
		kv_layernorm((float *)j[3].x, kv->x, w.ln2w, w.ln2b, C);
		if (l + 1 == c->L)
			memcpy(kv->hid, j[3].x, C * sizeof(float));
		if (j[3].xb != NULL)
			nn_matvec_bf16_x((uint16_t *)j[3].xb, j[3].x, C);
		kv_run(s, (size_t)(j - s->job) + 3);
		nn_gelu_forward((float *)j[4].x, j[3].out, 4 * C);
		if (j[4].xb != NULL)
			nn_matvec_bf16_x((uint16_t *)j[4].xb, j[4].x, 4 * C);
		kv_run(s, (size_t)(j - s->job) + 4);
		for (size_t i = 0; i < C; i++)
			kv->x[i] += j[4].out[i];
	}
	kv_layernorm(kv->xb, kv->x, p->lnfw, p->lnfb, C);
	if (j[0].xb != NULL)
		nn_matvec_bf16_x((uint16_t *)j[0].xb, kv->xb, C);
	kv_run(s, (size_t)(j - s->job));
}

/* Weights a step streams below which it stays on one thread (a model of
 * the tests' size: waking another thread costs more than it saves). */
#define KV_PAR_MIN 65536

void
gpt_kv_step(const struct gpt *g, struct gpt_kv *kv, uint32_t id)
{
	const struct gpt_config *c = &g->cfg;
	const struct gpt_params *p = &g->params;
	struct gpt_kv_sched     *s = kv->sched;
	size_t                   C = c->C, c0 = 0;
	int                      bf = g->wbf_mem != NULL, in = g->w_in_major, th = 1;
	struct kv_job           *j = s->job;
	uint16_t                *xb = kv->xb16;

	s->g = g;
	s->kv = kv;
	s->pos = kv->pos;
	for (size_t l = 0; l < c->L; l++, j += 5) {
		struct gpt_layer w = gpt_block_of(g, l);
		float           *a = s->act + l * KV_LAYER(C);   /* ln1, qkv, atty, proj, ln2, h, fc */
		/* The block's matrices in bf16, when the model keeps them. */
		const uint16_t *bqkv = bf ? g->wbf.qkvw + l * 3 * C * C : NULL;
		const uint16_t *bproj = bf ? g->wbf.attprojw + l * C * C : NULL;
		const uint16_t *bfc = bf ? g->wbf.fcw + l * 4 * C * C : NULL;
		const uint16_t *bfcproj = bf ? g->wbf.fcprojw + l * 4 * C * C : NULL;

		kv_product(&j[0], &c0, a + C, w.qkvw, bqkv, in, a, xb, w.qkvb, C, 3 * C);
		xb += C + 32;
		j[1] = (struct kv_job){ .kind = KV_ATT, .out = a + 4 * C, .rows = c->NH,
			.chunk = 1, .c0 = c0, .nc = c->NH, .layer = l, .q = a + C };
		c0 += c->NH;
		kv_product(&j[2], &c0, a + 5 * C, w.attprojw, bproj, in, a + 4 * C, xb, w.attprojb, C,
		    C);
		xb += C + 32;
		kv_product(&j[3], &c0, a + 7 * C, w.fcw, bfc, in, a + 6 * C, xb, w.fcb, C, 4 * C);
		xb += C + 32;
		kv_product(&j[4], &c0, a + 11 * C, w.fcprojw, bfcproj, in, a + 7 * C, xb, w.fcprojb,
		    4 * C, C);
		xb += 4 * C + 32;
	}
	kv_product(j, &c0, kv->logits, p->wte, g->wbf.wte, 0, kv->xb, xb, NULL, C, c->V);
	assert(c0 <= s->nst);
	memset((void *)s->st, KV_FREE, c0);
	atomic_store_explicit(&s->now, 0, memory_order_relaxed);
#ifdef _OPENMP
	th = omp_get_max_threads() < s->helpers + 1 ? omp_get_max_threads() : s->helpers + 1;
#endif
	s->threads = th;
	/* Race-free: the jobs and chunk states are written above and only read
	 * or changed atomically inside; thread 0 writes a job's inputs before
	 * offering it (release) and no input is written twice in a step; a
	 * chunk is written to the output by the one thread that won it (see
	 * kv_run and kv_help), and thread 0 reads an output after every chunk
	 * of it is done (acquire). */
	#pragma omp parallel num_threads(th) if (th > 1 && 12 * c->L * C * C + c->V * C >= KV_PAR_MIN)
	{
		int t = 0;
#ifdef _OPENMP
		t = omp_get_thread_num();
#endif
		if (t != 0)
			kv_help(s, t);
		else {
			kv_lead(s, id);
			atomic_store_explicit(&s->now, KV_QUIT, memory_order_release);
		}
	}
	kv->pos = s->pos + 1;
}

void
gpt_kv_prefill(struct gpt *view, struct gpt_kv *kv, const uint32_t *ids, size_t n)
{
	const struct gpt_config *c = &view->cfg;
	size_t                   C = c->C, NH = c->NH, hs = C / NH, T = c->T;

	assert(n >= 1 && n <= view->Tb && !view->one_block);
	/* Logits are wanted for the last position only: one matrix-vector
	 * product (as in gpt_kv_step) instead of n rows of them. */
	gpt_forward_hidden(view, ids, 1, n);
	for (size_t l = 0; l < c->L; l++) {
		const float *qkv = view->acts.qkv + l * view->B * view->Tb * 3 * C;
		float       *kc = kv->k + l * T * C, *vc = kv->v + l * T * C;
		for (size_t h = 0; h < NH; h++)
			for (size_t t = 0; t < n; t++) {
				memcpy(kc + (h * T + t) * hs, qkv + t * 3 * C + C + h * hs,
				    hs * sizeof(float));
				memcpy(vc + (h * T + t) * hs, qkv + t * 3 * C + 2 * C + h * hs,
				    hs * sizeof(float));
			}
	}
	kv_matvec(kv->logits, view->params.wte, view->wbf.wte, view->acts.lnf + (n - 1) * C, NULL,
	    C, c->V);
	memcpy(kv->hid, view->acts.ln2 + ((c->L - 1) * view->B * view->Tb + n - 1) * C,
	    C * sizeof(float));
	kv->pos = n;
}
