/*
 * estimate.c — the estimation pipeline end to end, and what an estimate
 * holds. The stages are in count.c, adjust.c, discount.c, initial.c and
 * interpolate.c; this file runs them in order and answers questions about
 * the result.
 */
#include "config.h"

#include <string.h>

#include "base/progress.h"
#include "ngram/ngram_impl.h"

void
ngram_config_default(struct ngram_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->order = 5;
	cfg->unit = NGRAM_WORDS;
	cfg->fallback[0] = 0.5;
	cfg->fallback[1] = 1.0;
	cfg->fallback[2] = 1.5;
}

int
ngram_estimate(struct ngram_est **out, const struct ngram_config *cfg,
               const char *const *files, size_t nfiles, struct ad_progress *prog,
               struct ad_error *e)
{
	struct ngram_est *m;
	int               rc;

	if (cfg->order < 1 || cfg->order > NGRAM_MAX_ORDER)
		return ad_fail(e, AD_EINVAL, "order %u is out of range: give an order from 1 to %d",
		    cfg->order, NGRAM_MAX_ORDER);
	if (cfg->unit != NGRAM_WORDS && cfg->unit != NGRAM_BYTES && cfg->unit != NGRAM_TOKENS)
		return ad_fail(e, AD_EINVAL, "unknown unit %d", (int)cfg->unit);
	if (cfg->unit == NGRAM_TOKENS && cfg->tok == NULL)
		return ad_fail(e, AD_EINVAL, "a token model needs its tokenizer");
	if (cfg->discount_fallback)
		for (int j = 0; j < 3; j++)
			if (!(cfg->fallback[j] >= 0 && cfg->fallback[j] <= j + 1))
				return ad_fail(e, AD_EINVAL, "fallback discount D%d = %g is outside [0, %d]",
				    j + 1, cfg->fallback[j], j + 1);
	if (nfiles == 0)
		return ad_fail(e, AD_EINVAL, "no corpus file given");
	if ((m = ad_calloc(1, sizeof *m)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	m->cfg = *cfg;
	if ((rc = ngram_vocab_init(&m->vocab, e)) != 0) {
		ad_free(m);
		return rc;
	}
	/* The stages after counting report themselves as notes on the bar. */
	if ((rc = ngram_count(m, files, nfiles, prog, e)) != 0 ||
	    (ad_progress_note(prog, "adjusting counts"), rc = ngram_adjust(m, e)) != 0 ||
	    (rc = ngram_discount(m, e)) != 0 ||
	    (ad_progress_note(prog, "probabilities"), rc = ngram_initial(m, e)) != 0 ||
	    (ad_progress_note(prog, "interpolating"), rc = ngram_interpolate(m, e)) != 0) {
		ngram_est_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

void
ngram_est_free(struct ngram_est *m)
{
	if (m == NULL)
		return;
	ngram_vocab_free(&m->vocab);
	for (int n = 0; n <= NGRAM_MAX_ORDER; n++) {
		ad_free(m->g[n].rec);
		ad_free(m->alpha[n]);
		ad_free(m->gamma[n]);
		ad_free(m->tab[n].slots);
		ad_free(m->tab[n].filter);
	}
	ad_free(m->uni);
	ad_free(m->tok_blob);
	ad_free(m);
}

uint32_t
ngram_est_order(const struct ngram_est *m)
{
	return m->cfg.order;
}

uint64_t
ngram_est_count(const struct ngram_est *m, uint32_t n)
{
	return n >= 1 && n <= m->cfg.order ? m->g[n].count : 0;
}

int
ngram_est_discounts(const struct ngram_est *m, uint32_t n, double d[3])
{
	for (int j = 0; j < 3; j++)
		d[j] = m->disc[n][j + 1];
	return m->disc_fallback[n];
}

uint32_t
ngram_est_vocab(const struct ngram_est *m)
{
	return m->vocab.size;
}

const char *
ngram_est_word(const struct ngram_est *m, uint32_t id, size_t *len)
{
	*len = (size_t)(m->vocab.off[id + 1] - m->vocab.off[id]);
	return m->vocab.text + m->vocab.off[id];
}

uint64_t
ngram_est_tokens(const struct ngram_est *m)
{
	return m->tokens;
}

uint64_t
ngram_est_lines(const struct ngram_est *m)
{
	return m->lines;
}

uint64_t
ngram_est_text(const struct ngram_est *m, uint64_t *bytes)
{
	*bytes = m->text_bytes;
	return m->text_hash;
}

void
ngram_est_ngram(const struct ngram_est *m, uint32_t n, size_t i, const uint32_t **ids,
                uint32_t *adjusted)
{
	*ids = m->g[n].rec + i * (n + 1);
	*adjusted = m->g[n].rec[i * (n + 1) + n];
}

void
ngram_est_prob(const struct ngram_est *m, uint32_t n, size_t i, float *log10p, float *log10bo)
{
	*log10p = m->alpha[n][i];
	*log10bo = n < m->cfg.order ? m->gamma[n][i] : 0.0f;
}
