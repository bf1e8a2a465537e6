/*
 * eval.c — scoring held-out text through the model interface: the numbers
 * every comparison rests on (nats per token, perplexity, bits per byte).
 *
 * Line models (n-gram, ARPA) follow KenLM's query: each line is a sentence
 * scored from <s>, its tokens then </s>; an unknown word is an OOV scored as
 * <unk>. A last line without a newline gets no </s>: its words are scored
 * and nothing after them, as query scores them (and as lmplz counts such a
 * line in training). The text is cut into EVAL_CHUNKS pieces on line boundaries, scored
 * in parallel, and the per-piece totals are added in order, so the result is
 * the same for any number of threads. Stream models (transformer) encode the
 * whole text and score it as one sequence with lm_score.
 *
 * Bits per byte (tokenizer-independent): total nats / ln 2 / bytes of the
 * original text, newlines included.
 *
 * With a calibration accumulator (lm_eval_text_calib) every scored token's
 * whole distribution also goes to lm_calib_add, through lm_score_dist; line
 * models keep one accumulator per chunk and append them in chunk order, so
 * the positions stay in text order for any thread count.
 */
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/json.h"
#include "base/progress.h"
#include "lm/lm.h"

#define EVAL_CHUNKS 256   /* fixed, so sums do not depend on the thread count */

double
lm_eval_nats_per_token(const struct lm_eval *r)
{
	return r->tokens > 0 && !r->pseudo ? r->nats / (double)r->tokens : NAN;
}

double
lm_eval_pseudo_nats_per_token(const struct lm_eval *r)
{
	return r->tokens > 0 && r->pseudo ? r->nats / (double)r->tokens : NAN;
}

double
lm_eval_pseudo_perplexity(const struct lm_eval *r)
{
	return exp(lm_eval_pseudo_nats_per_token(r));
}

double
lm_eval_pseudo_bits_per_byte(const struct lm_eval *r)
{
	return r->bytes > 0 && r->pseudo ? r->nats / M_LN2 / (double)r->bytes : NAN;
}

double
lm_eval_perplexity(const struct lm_eval *r)
{
	return exp(lm_eval_nats_per_token(r));
}

double
lm_eval_perplexity_excl_oov(const struct lm_eval *r)
{
	if (r->tokens <= r->oovs || r->pseudo)
		return NAN;
	return exp((r->nats - r->oov_nats) / (double)(r->tokens - r->oovs));
}

double
lm_eval_bits_per_byte(const struct lm_eval *r)
{
	return r->bytes > 0 && !r->pseudo ? r->nats / M_LN2 / (double)r->bytes : NAN;
}

/* "calibration": { ... }, the fields of struct lm_calib (lm.h). */
static void
eval_calib_json(struct ad_json *j, const struct lm_calib *c)
{
	ad_json_key(j, "calibration");
	ad_json_object_begin(j);
	ad_json_key(j, "tokens");
	ad_json_uint(j, c->n);
	ad_json_key(j, "accuracy");
	ad_json_double(j, c->accuracy);
	ad_json_key(j, "ece");
	ad_json_double(j, c->ece);
	ad_json_key(j, "ece_bins");
	ad_json_uint(j, LM_CALIB_BINS);
	ad_json_key(j, "ece_equal_mass");
	ad_json_double(j, c->ece_mass);
	ad_json_key(j, "brier");
	ad_json_double(j, c->brier);
	ad_json_key(j, "nll");
	ad_json_double(j, c->nll);
	ad_json_key(j, "reliability");
	ad_json_array_begin(j);
	for (int b = 0; b < LM_CALIB_BINS; b++) {
		ad_json_object_begin(j);
		ad_json_key(j, "lo");
		ad_json_double(j, (double)b / LM_CALIB_BINS);
		ad_json_key(j, "hi");
		ad_json_double(j, (double)(b + 1) / LM_CALIB_BINS);
		ad_json_key(j, "count");
		ad_json_uint(j, c->bin_n[b]);
		ad_json_key(j, "confidence");
		ad_json_double(j, c->bin_conf[b]);
		ad_json_key(j, "accuracy");
		ad_json_double(j, c->bin_acc[b]);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
	ad_json_key(j, "temperature");
	ad_json_double(j, c->temperature);
	ad_json_key(j, "fit_tokens");
	ad_json_uint(j, c->n / 2);
	ad_json_key(j, "test_tokens");
	ad_json_uint(j, c->n - c->n / 2);
	ad_json_key(j, "test_nll");
	ad_json_double(j, c->test_nll);
	ad_json_key(j, "test_nll_scaled");
	ad_json_double(j, c->test_nll_scaled);
	ad_json_key(j, "test_ece");
	ad_json_double(j, c->test_ece);
	ad_json_key(j, "test_ece_scaled");
	ad_json_double(j, c->test_ece_scaled);
	ad_json_object_end(j);
}

void
lm_eval_json(struct ad_json *j, const struct lm_eval *r)
{
	ad_json_key(j, "lines");
	ad_json_uint(j, r->lines);
	ad_json_key(j, "bytes");
	ad_json_uint(j, r->bytes);
	ad_json_key(j, "tokens");
	ad_json_uint(j, r->tokens);
	ad_json_key(j, "oovs");
	ad_json_uint(j, r->oovs);
	ad_json_key(j, "nats");
	ad_json_double(j, r->nats);
	ad_json_key(j, "nats_per_token");
	ad_json_double(j, lm_eval_nats_per_token(r));
	ad_json_key(j, "perplexity");
	ad_json_double(j, lm_eval_perplexity(r));
	ad_json_key(j, "perplexity_excl_oov");
	ad_json_double(j, lm_eval_perplexity_excl_oov(r));
	ad_json_key(j, "bits_per_byte");
	ad_json_double(j, lm_eval_bits_per_byte(r));
	if (r->pseudo) {
		ad_json_key(j, "pseudo_log_likelihood");
		ad_json_string(j, lm_pll_name(r->pll));
		ad_json_key(j, "pll");
		ad_json_double(j, -r->nats);
		ad_json_key(j, "pll_nats_per_token");
		ad_json_double(j, lm_eval_pseudo_nats_per_token(r));
		ad_json_key(j, "pseudo_perplexity");
		ad_json_double(j, lm_eval_pseudo_perplexity(r));
		ad_json_key(j, "pseudo_bits_per_byte");
		ad_json_double(j, lm_eval_pseudo_bits_per_byte(r));
		ad_json_key(j, "comparable_with_causal");
		ad_json_bool(j, 0);
	}
	if (r->has_calib)
		eval_calib_json(j, &r->calib);
}

/*
 * Ids per batch handed to the model's batched scorer: large enough that a
 * scorer overlapping its cache misses across tokens runs at full speed,
 * small enough to stay in cache.
 */
#define EVAL_BATCH 65536

/* Per-thread scratch, allocated before the parallel region. */
struct eval_scratch {
	struct lm_state *st;
	uint32_t        *ids;    /* (cap) a batch of lines, each ending with eos */
	double          *logp;   /* (cap) */
	size_t           cap;
	struct lm_calib_acc *acc;  /* the chunk's calibration, or NULL */
};

/* Add the scores of ids[0..n) to *r (OOVs are the ids equal to unk). */
static int
eval_batch(const struct lm *m, struct eval_scratch *s, size_t n, struct lm_eval *r,
    struct ad_error *e)
{
	int rc;

	if (n == 0)
		return 0;
	if (s->acc != NULL) {
		if ((rc = lm_score_dist(m, s->ids, n, s->logp, lm_calib_add, s->acc, e)) != 0)
			return rc;
	} else if (m->vt->score != NULL) {
		if ((rc = m->vt->score(m, s->ids, n, s->logp, e)) != 0)
			return rc;
	} else {
		lm_state_reset(m, s->st);
		for (size_t i = 0; i < n; i++) {
			if ((rc = lm_push(m, s->st, s->ids[i], &s->logp[i], e)) != 0)
				return rc;
			if (s->ids[i] == m->eos)
				lm_state_reset(m, s->st);
		}
	}
	for (size_t i = 0; i < n; i++) {
		r->nats -= s->logp[i];
		if (s->ids[i] == m->unk && m->unk != LM_NONE) {
			r->oovs++;
			r->oov_nats -= s->logp[i];
		}
	}
	r->tokens += n;
	return 0;
}

/*
 * Score the lines of text[0..len) into *r: lines are encoded into batches
 * of whole sentences (each id list followed by eos, but a last line without
 * a newline) and scored together.
 */
static int
eval_lines(const struct lm *m, const uint8_t *text, size_t len, struct eval_scratch *s,
    struct lm_eval *r, struct ad_error *e)
{
	size_t pos = 0, n = 0;
	int    rc;

	while (pos < len) {
		const uint8_t *nl = memchr(text + pos, '\n', len - pos);
		size_t         end = nl ? (size_t)(nl - text) : len;

		/* A line of L bytes is at most L + 2 ids with its eos: flush the
		 * batch first when it might not fit (cap holds the longest line). */
		if (n > 0 && n + (end - pos) + 2 > s->cap) {
			if ((rc = eval_batch(m, s, n, r, e)) != 0)
				return rc;
			n = 0;
		}
		if ((rc = lm_encode(m, text + pos, end - pos, &s->ids, &n, &s->cap, e)) != 0)
			return rc;
		if (nl != NULL)
			s->ids[n++] = m->eos;
		r->lines++;
		pos = end + 1;
		if (n >= EVAL_BATCH) {
			if ((rc = eval_batch(m, s, n, r, e)) != 0)
				return rc;
			n = 0;
		}
	}
	return eval_batch(m, s, n, r, e);
}

static int
eval_line_model(const struct lm *m, const uint8_t *text, size_t len, struct lm_eval *out,
    struct lm_calib_acc *acc, struct ad_progress *progress, struct ad_error *e)
{
	size_t               cut[EVAL_CHUNKS + 1], longest = 0, start = 0;
	struct lm_eval       part[EVAL_CHUNKS];
	struct lm_calib_acc *pacc[EVAL_CHUNKS] = { 0 };
	struct ad_error      perr[EVAL_CHUNKS];
	int                  prc[EVAL_CHUNKS];
	struct eval_scratch *scratch;
	int                  nthreads = 1, rc = 0;
	uint64_t             done = 0;

	/* Cut points on line boundaries, and the longest line (which bounds the
	 * number of ids one line can encode to, so encoding never reallocates
	 * inside the parallel region). */
	cut[0] = 0;
	for (int c = 1; c <= EVAL_CHUNKS; c++) {
		size_t target = (size_t)((double)len * c / EVAL_CHUNKS), p = cut[c - 1] > target ? cut[c - 1] : target;
		const uint8_t *nl;
		if (c == EVAL_CHUNKS || p >= len) {
			cut[c] = len;
			continue;
		}
		nl = p > 0 && text[p - 1] == '\n' ? text + p - 1 : memchr(text + p, '\n', len - p);
		cut[c] = nl ? (size_t)(nl - text) + 1 : len;
	}
	while (start <= len) {
		const uint8_t *nl = start < len ? memchr(text + start, '\n', len - start) : NULL;
		size_t         end = nl ? (size_t)(nl - text) : len;
		if (end - start > longest)
			longest = end - start;
		start = end + 1;
	}
#ifdef _OPENMP
	nthreads = omp_get_max_threads();
#endif
	if ((scratch = ad_calloc((size_t)nthreads, sizeof *scratch)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	for (int t = 0; t < nthreads && rc == 0; t++) {
		scratch[t].cap = (longest + 2 > EVAL_BATCH ? longest + 2 : EVAL_BATCH) + 2;
		if ((scratch[t].ids = ad_mallocarray(scratch[t].cap, sizeof(uint32_t))) == NULL ||
		    (scratch[t].logp = ad_mallocarray(scratch[t].cap, sizeof(double))) == NULL)
			rc = ad_fail(e, AD_ENOMEM, "out of memory for a %zu-byte line", longest);
		else
			rc = lm_state_new(m, &scratch[t].st, e);
	}
	for (int c = 0; c < EVAL_CHUNKS && rc == 0 && acc != NULL; c++)
		rc = lm_calib_acc_new(&pacc[c], e);
	memset(part, 0, sizeof part);
	for (int c = 0; c < EVAL_CHUNKS; c++)
		prc[c] = 0;
	if (rc == 0) {
		/* Each chunk writes only its own part[c], perr[c], prc[c]; the
		 * scratch is per thread; only thread 0 touches the progress. */
		#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
		for (int c = 0; c < EVAL_CHUNKS; c++) {
			int t = 0;
#ifdef _OPENMP
			t = omp_get_thread_num();
#endif
			if (ad_interrupted()) {
				prc[c] = ad_fail(&perr[c], AD_EINTR, "interrupted");
				continue;
			}
			/* The chunk's own accumulator (it grows here: how many tokens
			 * a chunk holds is known only once it is encoded). */
			scratch[t].acc = pacc[c];
			prc[c] = eval_lines(m, text + cut[c], cut[c + 1] - cut[c], &scratch[t],
			    &part[c], &perr[c]);
			#pragma omp atomic
			done += cut[c + 1] - cut[c];
			if (t == 0) {
				uint64_t d;
				#pragma omp atomic read
				d = done;
				ad_progress_update(progress, d);
			}
		}
		for (int c = 0; c < EVAL_CHUNKS; c++) {
			if (prc[c] != 0 && rc == 0) {
				rc = prc[c];
				if (e != NULL)
					*e = perr[c];
			}
			out->nats += part[c].nats;
			out->oov_nats += part[c].oov_nats;
			out->tokens += part[c].tokens;
			out->oovs += part[c].oovs;
			out->lines += part[c].lines;
			if (rc == 0 && acc != NULL)
				rc = lm_calib_append(acc, pacc[c], e);
		}
		out->bytes += len;
	}
	for (int t = 0; t < nthreads; t++) {
		ad_free(scratch[t].ids);
		ad_free(scratch[t].logp);
		lm_state_free(m, scratch[t].st);
	}
	for (int c = 0; c < EVAL_CHUNKS; c++)
		lm_calib_acc_free(pacc[c]);
	ad_free(scratch);
	ad_progress_update(progress, len);
	return rc;
}

static int
eval_stream_model(const struct lm *m, const uint8_t *text, size_t len, struct lm_eval *out,
    struct lm_calib_acc *acc, struct ad_progress *progress, struct ad_error *e)
{
	uint32_t *ids = NULL;
	double   *lp = NULL;
	size_t    n = 0, cap = 0;
	int       rc;

	if ((rc = lm_encode(m, text, len, &ids, &n, &cap, e)) != 0)
		goto out;
	if (n > 0 && (lp = ad_mallocarray(n, sizeof *lp)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for %zu token scores", n);
		goto out;
	}
	if (lm_is_masked(m)) {
		/* Pseudo-log-likelihood; no next-token distribution to calibrate. */
		if (acc != NULL) {
			rc = ad_fail(e, AD_EINVAL, "%s: calibration is of next-token predictions, and "
			    "a masked model makes none; evaluate it without calibration", m->path);
			goto out;
		}
		out->pseudo = 1;
		if (n > 0 && (rc = lm_pll_progress(m, ids, n, out->pll, lp, progress, len, e)) != 0)
			goto out;
	} else if (n > 0 && (rc = acc != NULL ?
	    lm_score_dist(m, ids, n, lp, lm_calib_add, acc, e) : lm_score(m, ids, n, lp, e)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		out->nats -= lp[i];
	out->tokens += n;
	for (size_t i = 0; i < len; i++)
		out->lines += text[i] == '\n';
	if (len > 0 && text[len - 1] != '\n')
		out->lines++;
	out->bytes += len;
	ad_progress_update(progress, len);
out:
	ad_free(ids);
	ad_free(lp);
	return rc;
}

int
lm_eval_text_calib(const struct lm *m, const uint8_t *text, size_t len, struct lm_eval *out,
    struct lm_calib_acc *acc, struct ad_progress *progress, struct ad_error *e)
{
	if (m->line_model)
		return eval_line_model(m, text, len, out, acc, progress, e);
	return eval_stream_model(m, text, len, out, acc, progress, e);
}

int
lm_eval_text(const struct lm *m, const uint8_t *text, size_t len, struct lm_eval *out,
    struct ad_progress *progress, struct ad_error *e)
{
	return lm_eval_text_calib(m, text, len, out, NULL, progress, e);
}
