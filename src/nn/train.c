/*
 * train.c — what turns a model and a token stream into training: the
 * objective (a plug-in), AdamW with warmup and a cosine schedule, clipping
 * by the global gradient norm, gradient accumulation, and evaluation on a
 * held-out stream.
 *
 * Input: a token stream (ids < V) and a model; output: updated parameters
 * and per-step statistics. Batches are windows at offsets drawn from the
 * trainer's PCG32, which with the step count is the whole data position:
 * a checkpoint that stores both resumes on exactly the batches an
 * uninterrupted run would have seen.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bpe/bpe.h"
#include "nn/nn.h"

/* ------------------------------------------------------------------------
 * Batches and the objectives
 * ------------------------------------------------------------------------ */

int
nn_batch_new(struct nn_batch *b, size_t B, size_t Tb, struct ad_error *e)
{
	memset(b, 0, sizeof *b);
	b->B = B;
	b->Tb = Tb;
	b->inputs = ad_mallocarray(B * Tb, sizeof *b->inputs);
	b->targets = ad_mallocarray(B * Tb, sizeof *b->targets);
	b->mask = ad_mallocarray(B * Tb, sizeof *b->mask);
	if (b->inputs == NULL || b->targets == NULL || b->mask == NULL) {
		nn_batch_free(b);
		return ad_fail(e, AD_ENOMEM, "out of memory for a batch of %zu x %zu", B, Tb);
	}
	return 0;
}

void
nn_batch_free(struct nn_batch *b)
{
	ad_free(b->inputs);
	ad_free(b->targets);
	ad_free(b->mask);
	b->inputs = b->targets = NULL;
	b->mask = NULL;
}

/* Inputs BOS x[s] .. x[s+Tb-2], targets x[s] .. x[s+Tb-1]: every position
 * predicts the next token from the ones before it (and BOS). */
static size_t
causal_make_row(const struct nn_objective *obj, const struct gpt_config *cfg,
    struct nn_batch *batch, size_t b, const uint32_t *stream, size_t n, size_t start,
    struct ad_rng *rng)
{
	size_t    Tb = batch->Tb, len = n - start < Tb ? n - start : Tb;
	uint32_t *in = batch->inputs + b * Tb, *tg = batch->targets + b * Tb;
	uint8_t  *mk = batch->mask + b * Tb;

	(void)obj;
	(void)rng;
	in[0] = GPT_BOS(cfg);
	for (size_t t = 0; t < Tb; t++) {
		if (t < len) {
			tg[t] = stream[start + t];
			mk[t] = 1;
		} else {
			tg[t] = 0;
			mk[t] = 0;
		}
		if (t + 1 < Tb)
			in[t + 1] = t < len ? stream[start + t] : 0;
	}
	return len;
}

static size_t
causal_row_tokens(size_t Tb)
{
	return Tb;
}

const struct nn_objective nn_objective_causal = {
	.name = "causal", .attention = NN_ATTN_CAUSAL, .row_tokens = causal_row_tokens,
	.make_row = causal_make_row,
};

/* Whether position t (1 <= t; tok[t] and tok[t-1] tokens of the row) begins
 * a word: nn_word_classes' rule; without classes every token is a word. */
static int
masked_word_start(const struct nn_objective *obj, const uint32_t *tok, size_t t)
{
	if (t == 1 || !obj->whole_word || obj->word_class == NULL)
		return 1;
	return !((obj->word_class[tok[t]] & NN_WORD_FIRST) &&
	    (obj->word_class[tok[t - 1]] & NN_WORD_LAST));
}

/*
 * Inputs BOS x[s] .. x[s+Tb-2] with the chosen positions hidden, targets
 * the original tokens at positions 1 .. len, the loss on the chosen ones.
 * The choice is selection sampling (Knuth, TAOCP vol. 2, 3.4.2, algorithm
 * S): unit u of N is taken with probability (k - taken) / (N - u), which
 * takes exactly k units, every k-subset alike, with no memory; a unit is a
 * token, or with whole_word a word (every piece). Then BERT's 80/10/10.
 */
static size_t
masked_make_row(const struct nn_objective *obj, const struct gpt_config *cfg,
    struct nn_batch *batch, size_t b, const uint32_t *stream, size_t n, size_t start,
    struct ad_rng *rng)
{
	size_t        Tb = batch->Tb, len = n - start < Tb - 1 ? n - start : Tb - 1;
	size_t        units = 0, k, taken = 0, seen = 0, chosen = 0;
	uint32_t     *in = batch->inputs + b * Tb, *tg = batch->targets + b * Tb;
	uint8_t      *mk = batch->mask + b * Tb;
	struct ad_rng r;
	int           take = 0;

	/* The row's own stream: one draw of the sampler, or (evaluation) the
	 * window's offset, so that its masks are the same at every evaluation. */
	ad_rng_seed(&r, rng != NULL ? ad_rng_u64(rng) : (uint64_t)start, 0x6d61736b);  /* "mask" */
	in[0] = GPT_BOS(cfg);
	tg[0] = 0;
	mk[0] = 0;
	for (size_t t = 1; t < Tb; t++) {
		in[t] = tg[t] = t <= len ? stream[start + t - 1] : 0;
		mk[t] = 0;
	}
	if (len == 0)
		return 0;
	for (size_t t = 1; t <= len; t++)
		units += (size_t)masked_word_start(obj, tg, t);
	/* BERT's count: max(1, round(rate * units)) (create_pretraining_data.py). */
	k = (size_t)floor(obj->mask_rate * (double)units + 0.5);
	k = k < 1 ? 1 : k > units ? units : k;
	for (size_t t = 1; t <= len; t++) {
		if (masked_word_start(obj, tg, t)) {
			take = ad_rng_below(&r, (uint32_t)(units - seen)) < k - taken;
			seen++;
			taken += (size_t)take;
		}
		if (!take)
			continue;
		mk[t] = 1;
		chosen++;
		/* Of the chosen: 80% the MASK marker, 10% a random token, 10% kept. */
		switch (ad_rng_below(&r, 10)) {
		case 8: in[t] = ad_rng_below(&r, cfg->V); break;
		case 9: break;
		default: in[t] = GPT_MASK(cfg); break;
		}
	}
	return chosen;
}

/* A row is BOS and Tb - 1 tokens. */
static size_t
masked_row_tokens(size_t Tb)
{
	return Tb - 1;
}

const struct nn_objective nn_objective_masked = {
	.name = "masked", .attention = NN_ATTN_FULL, .row_tokens = masked_row_tokens,
	.make_row = masked_make_row, .mask_rate = 0.15,
};

const struct nn_objective *
nn_objective_find(const char *name)
{
	if (strcmp(name, nn_objective_causal.name) == 0)
		return &nn_objective_causal;
	if (strcmp(name, nn_objective_masked.name) == 0)
		return &nn_objective_masked;
	return NULL;
}

/* A word byte: an ASCII letter or digit, or a byte of a multi-byte UTF-8
 * character (the letters of other scripts, and pieces of them). */
static int
word_byte(uint8_t c)
{
	return c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}

void
nn_word_classes(uint8_t *out, const struct bpe *bpe, uint32_t V)
{
	for (uint32_t id = 0; id < V; id++) {
		uint8_t        byte = (uint8_t)id;
		const uint8_t *p = &byte;
		size_t         len = 1;
		if (bpe != NULL)
			p = bpe_token_bytes(bpe, id, &len);
		out[id] = 0;
		if (p != NULL && len > 0)
			out[id] = (uint8_t)((word_byte(p[0]) ? NN_WORD_FIRST : 0) |
			    (word_byte(p[len - 1]) ? NN_WORD_LAST : 0));
	}
}

/* ------------------------------------------------------------------------
 * AdamW
 * ------------------------------------------------------------------------ */

int
adamw_new(struct adamw **out, const struct adamw_config *cfg, size_t n, struct ad_error *e)
{
	struct adamw *a;

	if ((a = ad_calloc(1, sizeof *a)) == NULL ||
	    (a->m = ad_calloc(n, sizeof(float))) == NULL ||
	    (a->v = ad_calloc(n, sizeof(float))) == NULL) {
		adamw_free(a);
		return ad_fail(e, AD_ENOMEM, "out of memory for the optimiser state (%.0f MB)",
		    n * 8 / 1e6);
	}
	a->cfg = *cfg;
	a->n = n;
	*out = a;
	return 0;
}

void
adamw_free(struct adamw *a)
{
	if (a == NULL)
		return;
	ad_free(a->m);
	ad_free(a->v);
	ad_free(a);
}

struct adamw_config
nn_train_adamw_config(const struct nn_train_state *st)
{
	return (struct adamw_config){ st->lr, st->min_lr, st->beta1, st->beta2, st->eps,
	                              st->weight_decay, st->clip, st->warmup, st->steps };
}

/* The default warmup: a twentieth of the run, at most 200 steps. */
static uint64_t
train_warmup(uint64_t steps)
{
	return steps / 20 < 200 ? steps / 20 : 200;
}

void
nn_train_state_init(struct nn_train_state *st, const struct nn_train_options *o,
    const struct nn_objective *obj)
{
	memset(st, 0, sizeof *st);
	st->steps = o->steps;
	st->seed = o->seed;
	st->batch = o->batch;
	st->accum = o->accum;
	st->context = o->context;
	st->warmup = o->given & NN_GIVEN_WARMUP ? o->warmup : train_warmup(o->steps);
	st->lr = o->lr;
	st->min_lr = o->given & NN_GIVEN_MIN_LR ? o->min_lr : o->lr / 10;
	st->beta1 = 0.9;
	st->beta2 = 0.95;
	st->eps = 1e-8;
	st->weight_decay = o->weight_decay;
	st->clip = o->clip;
	st->last_val = NAN;
	snprintf(st->objective, sizeof st->objective, "%s", obj->name);
	st->precision = (uint32_t)o->precision;
	ad_rng_seed(&st->rng, o->seed, 0x64617461);   /* the data stream: "data" */
}

int
nn_train_state_override(struct nn_train_state *st, const struct nn_train_options *o)
{
	unsigned g = o->given;

	if (g & NN_GIVEN_STEPS)
		st->steps = o->steps;
	if (g & NN_GIVEN_LR)
		st->lr = o->lr;
	if (g & (NN_GIVEN_MIN_LR | NN_GIVEN_LR))
		st->min_lr = g & NN_GIVEN_MIN_LR ? o->min_lr : o->lr / 10;
	if (g & NN_GIVEN_WARMUP)
		st->warmup = o->warmup;
	if (g & NN_GIVEN_WD)
		st->weight_decay = o->weight_decay;
	if (g & NN_GIVEN_CLIP)
		st->clip = o->clip;
	return (g & ~(unsigned)NN_GIVEN_STEPS) != 0;
}

double
adamw_lr(const struct adamw_config *c, uint64_t step)
{
	double frac;

	if (step < c->warmup)
		return c->lr * (double)(step + 1) / (double)c->warmup;
	if (step >= c->steps || c->steps <= c->warmup)
		return c->min_lr;
	frac = (double)(step - c->warmup) / (double)(c->steps - c->warmup);
	return c->min_lr + 0.5 * (c->lr - c->min_lr) * (1.0 + cos(M_PI * frac));
}

/* Chunks of the gradient-norm sum: a function of n only, never of threads. */
#define NORM_MAX_CHUNKS 1024

double
nn_grad_norm(const float *grad, size_t n)
{
	double partial[NORM_MAX_CHUNKS], total = 0;
	size_t chunk = n / NORM_MAX_CHUNKS + 1;
	long   nchunks;

	if (chunk < 16384)
		chunk = 16384;
	nchunks = (long)((n + chunk - 1) / chunk);
	/* Race-free: each chunk writes its own partial sum. One chunk is not
	 * worth waking a second thread for. */
	#pragma omp parallel for schedule(static) if (nchunks > 1)
	for (long ch = 0; ch < nchunks; ch++) {
		size_t i0 = (size_t)ch * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
		double s[8] = { 0 }, t = 0;
		size_t i = i0;
		/* Eight lanes, combined in a fixed order: the compiler vectorizes
		 * them (one chain of dependent adds ran at a quarter of the speed). */
		for (; i + 8 <= i1; i += 8)
			for (int j = 0; j < 8; j++)
				s[j] += (double)grad[i + j] * grad[i + j];
		for (; i < i1; i++)
			t += (double)grad[i] * grad[i];
		partial[ch] = LANES8(s, t);
	}
	for (long ch = 0; ch < nchunks; ch++)
		total += partial[ch];
	return sqrt(total);
}

void
adamw_step(struct adamw *a, struct gpt *g, double lr, double grad_norm)
{
	const struct adamw_config *c = &a->cfg;
	size_t                     s[GPT_NTENSORS], off = 0;
	double                     bc1, bc2, gscale = 1;
	float                      b1 = (float)c->beta1, b2 = (float)c->beta2;
	float                      step_size, rbc2, eps = (float)c->eps;

	if (c->clip > 0 && grad_norm > c->clip)
		gscale = c->clip / grad_norm;
	a->t++;
	bc1 = 1.0 - pow(c->beta1, (double)a->t);
	bc2 = 1.0 - pow(c->beta2, (double)a->t);
	step_size = (float)(lr / bc1);
	rbc2 = (float)(1.0 / sqrt(bc2));
	gpt_tensor_sizes(&g->cfg, s);
	for (int ti = 0; ti < GPT_NTENSORS; ti++) {
		float  decay = gpt_tensor_decays(ti) ? (float)(1.0 - lr * c->weight_decay) : 1.0f;
		float  gs = (float)gscale;
		float *p = g->param_mem + off, *gr = g->grad_mem + off;
		float *m = a->m + off, *v = a->v + off;

		/*
		 * Loshchilov & Hutter 2019, algorithm 2, in the arrangement of
		 * torch.optim.AdamW: p = p (1 - lr wd); m = b1 m + (1-b1) g;
		 * v = b2 v + (1-b2) g^2; p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps).
		 * Race-free: elementwise (and so the same in SIMD lanes).
		 */
		#pragma omp parallel for simd schedule(static) if (s[ti] >= 65536)
		for (long i = 0; i < (long)s[ti]; i++) {
			float gi = gr[i] * gs;
			m[i] = b1 * m[i] + (1.0f - b1) * gi;
			v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
			p[i] = p[i] * decay - step_size * (m[i] / (sqrtf(v[i]) * rbc2 + eps));
		}
		off += s[ti];
	}
}

/* ------------------------------------------------------------------------
 * The trainer
 * ------------------------------------------------------------------------ */

int
nn_trainer_new(struct nn_trainer **out, struct gpt *g, struct adamw *opt,
    const struct nn_objective *obj, const struct nn_train_state *st,
    const uint32_t *train, size_t ntrain, struct ad_error *e)
{
	struct nn_trainer *tr;
	int                rc;

	if (obj->attention == NN_ATTN_FULL && g->cfg.Vin != g->cfg.V + 2)
		return ad_fail(e, AD_EINVAL, "the objective '%s' hides tokens behind a MASK marker, "
		    "which this model has no embedding for: make the model with Vin = V + 2",
		    obj->name);
	if (obj->attention == NN_ATTN_FULL && !(obj->mask_rate > 0 && obj->mask_rate <= 1))
		return ad_fail(e, AD_EINVAL, "mask rate %g: give one in (0, 1]", obj->mask_rate);
	if (ntrain < obj->row_tokens(st->context))
		return ad_fail(e, AD_EDATA,
		    "the training text has %zu tokens, fewer than a context of %u: give more "
		    "text or a smaller --context", ntrain, st->context);
	if ((tr = ad_calloc(1, sizeof *tr)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	if ((rc = nn_batch_new(&tr->batch, st->batch, st->context, e)) != 0 ||
	    (rc = gpt_alloc(g, st->batch, st->context, 1, e)) != 0) {
		nn_batch_free(&tr->batch);
		ad_free(tr);
		return rc;
	}
	g->attention = obj->attention;
	tr->g = g;
	g->precision = (enum nn_precision)st->precision;
	tr->opt = opt;
	tr->obj = obj;
	tr->st = *st;
	tr->train = train;
	tr->ntrain = ntrain;
	*out = tr;
	return 0;
}

void
nn_trainer_free(struct nn_trainer *tr)
{
	if (tr == NULL)
		return;
	nn_batch_free(&tr->batch);
	ad_free(tr);
}

int
nn_trainer_set_targets(struct nn_trainer *tr, const uint32_t *targets, struct ad_error *e)
{
	if (targets != NULL && tr->obj->make_row != nn_objective_causal.make_row)
		return ad_fail(e, AD_EINVAL, "label noise needs the causal objective, not '%s'",
		    tr->obj->name);
	tr->targets = targets;
	return 0;
}

/* Row b of batch was made from stream[start ...] by the causal objective:
 * its targets at the positions that carry loss become targets[start + t]. */
static void
trainer_retarget(struct nn_batch *batch, size_t b, const uint32_t *targets, size_t start)
{
	uint32_t      *tg = batch->targets + b * batch->Tb;
	const uint8_t *mk = batch->mask + b * batch->Tb;

	for (size_t t = 0; t < batch->Tb; t++)
		if (mk[t])
			tg[t] = targets[start + t];
}

size_t
nn_trainer_draw(struct nn_trainer *tr, int rank, int size, struct nn_batch *scratch)
{
	struct nn_batch *b = &tr->batch;
	size_t           span = tr->obj->row_tokens(b->Tb), global = 0;
	uint32_t         range = (uint32_t)(tr->ntrain - span + 1);
	size_t           G = b->B * (size_t)size, first = b->B * (size_t)rank;

	b->counted = 0;
	for (size_t r = 0; r < G; r++) {
		size_t start = ad_rng_below(&tr->st.rng, range), c;
		if (r >= first && r < first + b->B) {
			c = tr->obj->make_row(tr->obj, &tr->g->cfg, b, r - first, tr->train, tr->ntrain,
			    start, &tr->st.rng);
			if (tr->targets != NULL)
				trainer_retarget(b, r - first, tr->targets, start);
			b->counted += c;
		} else {
			c = tr->obj->make_row(tr->obj, &tr->g->cfg, scratch, 0, tr->train, tr->ntrain,
			    start, &tr->st.rng);
		}
		global += c;
	}
	return global;
}

int
nn_trainer_pass(struct nn_trainer *tr, float scale, void (*hook)(void *ctx, size_t s),
    void *ctx, double *loss, struct ad_error *e)
{
	const struct nn_batch *b = &tr->batch;

	*loss = gpt_forward(tr->g, b->inputs, b->targets, b->mask, b->B, b->Tb);
	return gpt_backward_hooked(tr->g, b->inputs, b->targets, b->mask, b->B, b->Tb, scale,
	    hook, ctx, e);
}

int
nn_trainer_finish(struct nn_trainer *tr, double loss, struct nn_step_stats *s,
    struct ad_error *e)
{
	struct nn_train_state *st = &tr->st;
	double                 norm, lr;

	if (!isfinite(loss))
		return ad_fail(e, AD_ENUMERIC,
		    "the loss became %g at step %llu: training diverged", isnan(loss) ? NAN : loss,
		    (unsigned long long)st->step + 1);
	norm = nn_grad_norm(tr->g->grad_mem, tr->g->nparams);
	if (!isfinite(norm))
		return ad_fail(e, AD_ENUMERIC,
		    "the gradient norm became %g at step %llu: training diverged",
		    isnan(norm) ? NAN : norm,
		    (unsigned long long)st->step + 1);
	lr = adamw_lr(&tr->opt->cfg, st->step);
	adamw_step(tr->opt, tr->g, lr, norm);
	st->step++;
	s->loss = loss;
	s->lr = lr;
	s->grad_norm = norm;
	return 0;
}

int
nn_trainer_step(struct nn_trainer *tr, struct nn_step_stats *s, struct ad_error *e)
{
	struct nn_train_state *st = &tr->st;
	double                 loss = 0;
	int                    rc;

	gpt_zero_grad(tr->g);
	for (uint32_t k = 0; k < st->accum; k++) {
		size_t counted = nn_trainer_draw(tr, 0, 1, NULL);
		double l;
		if ((rc = nn_trainer_pass(tr, (float)(1.0 / ((double)counted * st->accum)), NULL,
		    NULL, &l, e)) != 0)
			return rc;
		loss += l;
		st->tokens_seen += counted;
	}
	return nn_trainer_finish(tr, loss / st->accum, s, e);
}

int
nn_evaluate(struct gpt *g, const struct nn_objective *obj, const uint32_t *ids, size_t n,
    size_t max_tokens, double *nats, size_t *count, struct ad_error *e)
{
	return nn_evaluate_targets(g, obj, ids, NULL, n, max_tokens, nats, count, e);
}

int
nn_evaluate_targets(struct gpt *g, const struct nn_objective *obj, const uint32_t *ids,
    const uint32_t *targets, size_t n, size_t max_tokens, double *nats, size_t *count,
    struct ad_error *e)
{
	size_t          Tb = g->Tb, B = g->B, done = 0, span = obj->row_tokens(Tb), scored = 0;
	struct nn_batch b;
	double          total = 0;
	int             rc;

	if (targets != NULL && obj->make_row != nn_objective_causal.make_row)
		return ad_fail(e, AD_EINVAL, "label noise needs the causal objective, not '%s'",
		    obj->name);
	if (max_tokens > 0 && n > max_tokens)
		n = max_tokens;
	if ((rc = nn_batch_new(&b, B, Tb, e)) != 0)
		return rc;
	/* Windows of span tokens, each opened by BOS, B at a time; a short
	 * last window is masked past its end, or (full attention, which would
	 * see the padding) ends at the text's end when the text has a whole
	 * window. */
	while (done < n) {
		size_t rows = 0;
		for (; rows < B && done < n; rows++) {
			size_t at = done;
			if (obj->attention == NN_ATTN_FULL && n - done < span && n >= span)
				at = n - span;
			scored += obj->make_row(obj, &g->cfg, &b, rows, ids, n, at, NULL);
			if (targets != NULL)
				trainer_retarget(&b, rows, targets, at);
			done += n - done < span ? n - done : span;
		}
		for (size_t r = rows; r < B; r++) {
			memset(b.inputs + r * Tb, 0, Tb * sizeof *b.inputs);
			memset(b.targets + r * Tb, 0, Tb * sizeof *b.targets);
			memset(b.mask + r * Tb, 0, Tb);
		}
		gpt_forward(g, b.inputs, b.targets, b.mask, B, Tb);
		for (size_t i = 0; i < B * Tb; i++)
			total += g->acts.losses[i];
	}
	nn_batch_free(&b);
	*nats = total;
	*count = scored;
	return 0;
}
