/*
 * sample.c — drawing the next token: temperature, top-k, top-p (nucleus).
 *
 * One code path for every model kind: it sees only a vector of natural-log
 * probabilities. Workload: one call per generated token over V entries
 * (V up to ~10^5); it sorts only when top-k or top-p actually truncate.
 *
 * Nucleus sampling: Holtzman et al., "The Curious Case of Neural Text
 * Degeneration", ICLR 2020. Top-k: Fan et al., "Hierarchical Neural Story
 * Generation", ACL 2018.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "lm/lm.h"

/* A (weight, id) pair, sorted by decreasing weight then increasing id. */
struct sample_key {
	double   p;
	uint32_t id;
};

struct lm_sampler {
	uint32_t           V;
	double            *p;     /* (V) unnormalised weights after temperature */
	uint32_t          *idx;   /* (V) ids in the drawing order */
	struct sample_key *keys;  /* (V) scratch for sorting */
};

int
lm_sampler_new(struct lm_sampler **out, uint32_t V, struct ad_error *e)
{
	struct lm_sampler *s = ad_calloc(1, sizeof *s);

	if (s == NULL || V == 0 || (s->p = ad_mallocarray(V, sizeof *s->p)) == NULL ||
	    (s->idx = ad_mallocarray(V, sizeof *s->idx)) == NULL ||
	    (s->keys = ad_mallocarray(V, sizeof *s->keys)) == NULL) {
		lm_sampler_free(s);
		return ad_fail(e, AD_ENOMEM, "out of memory for a sampler over %u tokens", V);
	}
	s->V = V;
	*out = s;
	return 0;
}

void
lm_sampler_free(struct lm_sampler *s)
{
	if (s == NULL)
		return;
	ad_free(s->p);
	ad_free(s->idx);
	ad_free(s->keys);
	ad_free(s);
}

static int
sample_cmp(const void *a, const void *b)
{
	const struct sample_key *x = a, *y = b;

	if (x->p != y->p)
		return x->p > y->p ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Fill s->p with the weights of the drawing distribution and s->idx with the
 * drawing order; return how many leading entries of s->idx are kept, and
 * their total weight in *total.
 */
static uint32_t
sample_prepare(struct lm_sampler *s, const struct lm_sampling *cfg, const float *logp,
    double *total)
{
	uint32_t V = s->V, kept = 0, best = UINT32_MAX;
	double   maxz = -INFINITY, sum = 0;
	int      truncate;

	for (uint32_t i = 0; i < V; i++)
		if (isfinite(logp[i]) && (best == UINT32_MAX || logp[i] > logp[best]))
			best = i;
	if (best == UINT32_MAX) {
		/* Nothing allowed at all: the caller's bug, but answer sanely. */
		s->idx[0] = 0;
		s->p[0] = 1;
		*total = 1;
		return 1;
	}
	if (cfg->temperature <= 0) {
		/* Only the kept entries of p are ever read (s->idx[0 .. kept)):
		 * no need to clear the other V - 1 (400 KB at GPT-2's V, each
		 * token). */
		s->p[best] = 1;
		s->idx[0] = best;
		*total = 1;
		return 1;
	}
	maxz = logp[best] / cfg->temperature;
	for (uint32_t i = 0; i < V; i++) {
		s->p[i] = isfinite(logp[i]) ? exp(logp[i] / cfg->temperature - maxz) : 0.0;
		sum += s->p[i];
	}
	truncate = (cfg->top_k > 0 && cfg->top_k < V) || cfg->top_p < 1.0;
	if (!truncate) {
		for (uint32_t i = 0; i < V; i++)
			s->idx[i] = i;
		*total = sum;
		return V;
	}
	/* Sort the nonzero weights; V is small enough that a full sort is cheap
	 * next to the model's forward pass. */
	{
		struct sample_key *k = s->keys;
		uint32_t           n = 0, limit;
		double             run = 0, kept_sum;

		for (uint32_t i = 0; i < V; i++)
			if (s->p[i] > 0) {
				k[n].p = s->p[i];
				k[n].id = i;
				n++;
			}
		qsort(k, n, sizeof *k, sample_cmp);
		limit = cfg->top_k > 0 && cfg->top_k < n ? cfg->top_k : n;
		kept_sum = 0;
		for (uint32_t i = 0; i < limit; i++)
			kept_sum += k[i].p;
		for (kept = 0; kept < limit;) {
			run += k[kept].p;
			s->idx[kept] = k[kept].id;
			kept++;
			if (cfg->top_p < 1.0 && run >= cfg->top_p * kept_sum)
				break;
		}
		*total = run;
	}
	return kept;
}

uint32_t
lm_sample_draw(struct lm_sampler *s, const struct lm_sampling *cfg, const float *logp,
    struct ad_rng *rng, double *p_out)
{
	double   total, u, run = 0;
	uint32_t kept = sample_prepare(s, cfg, logp, &total), pick = s->idx[kept - 1];

	u = ad_rng_uniform(rng) * total;
	for (uint32_t i = 0; i < kept; i++) {
		run += s->p[s->idx[i]];
		if (u < run) {
			pick = s->idx[i];
			break;
		}
	}
	if (p_out != NULL)
		*p_out = s->p[pick] / total;
	return pick;
}

void
lm_sample_distribution(struct lm_sampler *s, const struct lm_sampling *cfg, const float *logp,
    double *probs)
{
	double   total;
	uint32_t kept = sample_prepare(s, cfg, logp, &total);

	for (uint32_t i = 0; i < s->V; i++)
		probs[i] = 0;
	for (uint32_t i = 0; i < kept; i++)
		probs[s->idx[i]] = s->p[s->idx[i]] / total;
}

/* ---- generation ------------------------------------------------------------ */

struct lm_generator {
	const struct lm   *m;
	struct lm_state   *st;
	struct lm_sampler *sampler;
	float             *logp;   /* (V) */
	uint32_t          *ids;    /* prompt ids, grown by lm_encode */
	size_t             cap;
};

int
lm_generator_new(struct lm_generator **out, const struct lm *m, struct ad_error *e)
{
	struct lm_generator *g = ad_calloc(1, sizeof *g);
	int                  rc;

	if (g == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	g->m = m;
	if ((rc = lm_state_new(m, &g->st, e)) != 0 ||
	    (rc = lm_sampler_new(&g->sampler, m->V, e)) != 0) {
		lm_generator_free(g);
		return rc;
	}
	if ((g->logp = ad_mallocarray(m->V, sizeof *g->logp)) == NULL) {
		lm_generator_free(g);
		return ad_fail(e, AD_ENOMEM, "out of memory for %u log-probabilities", m->V);
	}
	*out = g;
	return 0;
}

void
lm_generator_free(struct lm_generator *g)
{
	if (g == NULL)
		return;
	lm_state_free(g->m, g->st);
	lm_sampler_free(g->sampler);
	ad_free(g->logp);
	ad_free(g->ids);
	ad_free(g);
}

/* Push the prompt; *count receives the number of prompt tokens. */
static int
gen_prompt(struct lm_generator *g, const char *prompt, size_t *count, struct ad_error *e)
{
	const struct lm *m = g->m;
	size_t           plen = strlen(prompt), n;
	int              rc = 0;

	*count = 0;
	lm_state_reset(m, g->st);
	if (!m->line_model) {
		if (plen == 0) {
			prompt = "\n";
			plen = 1;
		}
		n = 0;
		if ((rc = lm_encode(m, (const uint8_t *)prompt, plen, &g->ids, &n, &g->cap, e)) != 0)
			return rc;
		rc = lm_push_many(m, g->st, g->ids, n, e);
		*count = n;
		return rc;
	}
	for (size_t pos = 0; pos < plen && rc == 0;) {
		const char *nl = memchr(prompt + pos, '\n', plen - pos);
		size_t      end = nl ? (size_t)(nl - prompt) : plen;

		n = 0;
		if ((rc = lm_encode(m, (const uint8_t *)prompt + pos, end - pos, &g->ids, &n,
		    &g->cap, e)) != 0)
			return rc;
		rc = lm_push_many(m, g->st, g->ids, n, e);
		*count += n;
		if (nl != NULL)
			lm_state_reset(m, g->st);   /* the newline ended that sentence */
		pos = nl != NULL ? end + 1 : end;
	}
	return rc;
}

int
lm_generate(struct lm_generator *g, const struct lm_sampling *cfg, struct ad_rng *rng,
    const char *prompt, size_t max_tokens, lm_emit_fn emit, void *ctx,
    struct lm_gen_token *toks, size_t *ntoks, struct ad_error *e)
{
	const struct lm *m = g->m;
	size_t           nprompt, plen = strlen(prompt), made = 0;
	/* Whether the next word needs a space before it (word models). */
	int              need_space = m->word_sep && plen > 0 && prompt[plen - 1] != '\n';
	int              rc;

	if (ntoks != NULL)
		*ntoks = 0;
	if ((rc = gen_prompt(g, prompt, &nprompt, e)) != 0)
		return rc;
	if (plen > 0 && nprompt == 0)
		return ad_fail(e, AD_EINVAL, "the prompt encodes to no tokens for this model; "
		    "give a prompt with words the model knows, or none");
	for (; made < max_tokens; made++) {
		const uint8_t *b;
		size_t         blen;
		uint32_t       id;
		double         lp, pdraw;
		int            stop;

		if (ad_interrupted())
			return ad_fail(e, AD_EINTR, "interrupted");
		if ((rc = lm_next(m, g->st, g->logp, e)) != 0)
			return rc;
		if (m->bos != LM_NONE)
			g->logp[m->bos] = -INFINITY;
		if (m->unk != LM_NONE)
			g->logp[m->unk] = -INFINITY;
		id = lm_sample_draw(g->sampler, cfg, g->logp, rng, &pdraw);
		lp = g->logp[id];
		if ((rc = lm_push(m, g->st, id, NULL, e)) != 0)
			return rc;
		if (toks != NULL) {
			toks[made].id = id;
			toks[made].logp = lp;
			toks[made].p = pdraw;
			*ntoks = made + 1;
		}
		if (m->line_model && id == m->eos) {
			lm_state_reset(m, g->st);
			need_space = 0;
			stop = emit(ctx, (const uint8_t *)"\n", 1);
		} else {
			lm_token_text(m, id, &b, &blen);
			stop = need_space ? emit(ctx, (const uint8_t *)" ", 1) : 0;
			if (!stop)
				stop = emit(ctx, b, blen);
			need_space = m->word_sep;
		}
		if (stop) {
			made++;
			break;
		}
	}
	return 0;
}
