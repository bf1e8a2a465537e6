/*
 * check_lm.c — the shared model interface: eval's totals and perplexities,
 * windowed scoring of stream models, and the sampler. The models here are
 * mocks whose probabilities are known by hand, so every expected number is
 * computed independently of the code under test.
 */
#include "config.h"

#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/rng.h"
#include "lm/lm.h"
#include "testutil.h"

/* ---- a mock line model: words "a", "b"; everything else is <unk> ---------- */
/* ids: a=0 b=1 </s>=2 <unk>=3 <s>=4; p(a)=1/2 p(b)=1/4 p(</s>)=1/8 p(<unk>)=1/8,
 * whatever the context (a unigram model). */

static const double mock_p[5] = { 0.5, 0.25, 0.125, 0.125, 0.0 };

struct lm_state { int pushed; int ctx; };

static int
mock_state_new(const struct lm *m, struct lm_state **st, struct ad_error *e)
{
	(void)m;
	if ((*st = ad_calloc(1, sizeof **st)) == NULL)
		return ad_fail(e, AD_ENOMEM, "oom");
	return 0;
}

static void mock_state_free(struct lm_state *st) { ad_free(st); }
static void mock_reset(const struct lm *m, struct lm_state *st) { (void)m; st->pushed = 0; st->ctx = 0; }

static int
mock_next(const struct lm *m, struct lm_state *st, float *logp, struct ad_error *e)
{
	(void)st;
	(void)e;
	for (uint32_t i = 0; i < m->V; i++)
		logp[i] = mock_p[i] > 0 ? (float)log(mock_p[i]) : -INFINITY;
	return 0;
}

static int
mock_push(const struct lm *m, struct lm_state *st, uint32_t id, double *logp, struct ad_error *e)
{
	(void)m;
	(void)e;
	if (logp)
		*logp = log(mock_p[id]);
	st->pushed++;
	return 0;
}

static int
mock_encode(const struct lm *m, const uint8_t *text, size_t len, uint32_t **ids, size_t *n,
    size_t *cap, struct ad_error *e)
{
	size_t i = 0;

	(void)m;
	while (i < len) {
		size_t j;
		while (i < len && text[i] == ' ')
			i++;
		if (i == len)
			break;
		for (j = i; j < len && text[j] != ' '; j++)
			;
		if (*n == *cap) {
			uint32_t *p = ad_reallocarray(*ids, *cap * 2 + 4, sizeof *p);
			if (p == NULL)
				return ad_fail(e, AD_ENOMEM, "oom");
			*ids = p;
			*cap = *cap * 2 + 4;
		}
		(*ids)[(*n)++] = j - i == 1 && text[i] == 'a' ? 0 : j - i == 1 && text[i] == 'b' ? 1 : 3;
		i = j;
	}
	return 0;
}

static void
mock_token_text(const struct lm *m, uint32_t id, const uint8_t **b, size_t *len)
{
	static const char *t[] = { "a", "b", "\n", "", "" };
	(void)m;
	*b = (const uint8_t *)t[id];
	*len = strlen(t[id]);
}

static void mock_free(struct lm *m) { ad_free(m); }

static const struct lm_vtab mock_line_vt = {
	.free = mock_free, .state_new = mock_state_new, .state_free = mock_state_free,
	.state_reset = mock_reset, .next = mock_next, .push = mock_push,
	.encode = mock_encode, .token_text = mock_token_text,
};

static struct lm *
mock_line_model(void)
{
	struct lm *m = ad_calloc(1, sizeof *m);

	m->vt = &mock_line_vt;
	m->kind = "mock";
	m->V = 5;
	m->context = 2;
	m->bos = 4;
	m->eos = 2;
	m->unk = 3;
	m->line_model = 1;
	m->word_sep = 1;
	return m;
}

START_TEST(test_eval_line_model_by_hand)
{
	struct lm      *m = mock_line_model();
	struct lm_eval  r = { 0 };
	struct ad_error e = { 0 };
	const char     *text = "a b\nzz\n\na";
	double          nats;

	ck_assert_int_eq(lm_eval_text(m, (const uint8_t *)text, strlen(text), &r, NULL, &e), 0);
	/* Line 1: a b </s>; line 2: <unk> </s>; line 3 (empty): </s>;
	 * line 4 (no final newline): a, and no </s> (KenLM's query). */
	ck_assert_uint_eq(r.lines, 4);
	ck_assert_uint_eq(r.tokens, 3 + 2 + 1 + 1);
	ck_assert_uint_eq(r.oovs, 1);
	ck_assert_uint_eq(r.bytes, strlen(text));
	nats = -(2 * log(0.5) + log(0.25) + 3 * log(0.125) + log(0.125));
	ck_assert_double_eq_tol(r.nats, nats, 1e-12);
	ck_assert_double_eq_tol(r.oov_nats, -log(0.125), 1e-12);
	ck_assert_double_eq_tol(lm_eval_perplexity(&r), exp(nats / 7), 1e-9);
	ck_assert_double_eq_tol(lm_eval_perplexity_excl_oov(&r), exp((nats + log(0.125)) / 6), 1e-9);
	ck_assert_double_eq_tol(lm_eval_bits_per_byte(&r), nats / log(2) / (double)strlen(text), 1e-12);
	lm_free(m);
}
END_TEST

START_TEST(test_eval_independent_of_thread_count)
{
	struct lm      *m = mock_line_model();
	struct ad_rng   rng;
	size_t          len = 0, cap = 1 << 20;
	char           *text = malloc(cap);
	struct lm_eval  r0 = { 0 }, r1 = { 0 }, r2 = { 0 }, c1 = { 0 }, c2 = { 0 };
	size_t          part;
	struct ad_error e = { 0 };
	uint64_t        lines = 0, tokens = 0;
	struct lm_calib_acc *a1, *a2;

	ad_rng_seed(&rng, 1, 2);
	while (len < cap - 64) {
		uint32_t words = ad_rng_below(&rng, 12);
		for (uint32_t w = 0; w < words; w++) {
			const char *pick[] = { "a", "b", "cat", "a" };
			const char *s = pick[ad_rng_below(&rng, 4)];
			memcpy(text + len, s, strlen(s));
			len += strlen(s);
			text[len++] = ' ';
		}
		text[len++] = '\n';
		lines++;
		tokens += words + 1;
	}
#ifdef _OPENMP
	omp_set_num_threads(1);
#endif
	ck_assert_int_eq(lm_eval_text(m, (uint8_t *)text, len, &r1, NULL, &e), 0);
	ck_assert_int_eq(lm_calib_acc_new(&a1, &e), 0);
	ck_assert_int_eq(lm_calib_acc_new(&a2, &e), 0);
	/* Calibration on the first eighth (lines) of the text: it is slower. */
	part = (size_t)((char *)memchr(text + len / 8, '\n', len - len / 8) - text) + 1;
	ck_assert_int_eq(lm_eval_text_calib(m, (uint8_t *)text, part, &c1, a1, NULL, &e), 0);
	ck_assert_int_eq(lm_eval_text(m, (uint8_t *)text, part, &r0, NULL, &e), 0);
#ifdef _OPENMP
	omp_set_num_threads(2);
#endif
	ck_assert_int_eq(lm_eval_text(m, (uint8_t *)text, len, &r2, NULL, &e), 0);
	ck_assert_int_eq(lm_eval_text_calib(m, (uint8_t *)text, part, &c2, a2, NULL, &e), 0);
	/* With calibration: the same sums, and the same positions in order. */
	ck_assert_uint_eq(lm_calib_acc_count(a1), r0.tokens);
	ck_assert(memcmp(&c1.nats, &r0.nats, sizeof r0.nats) == 0);
	ck_assert_int_eq(lm_calib_finish(a1, &c1.calib, &e), 0);
	ck_assert_int_eq(lm_calib_finish(a2, &c2.calib, &e), 0);
	ck_assert(memcmp(&c1.calib, &c2.calib, sizeof c1.calib) == 0);
	lm_calib_acc_free(a1);
	lm_calib_acc_free(a2);
	ck_assert_uint_eq(r1.lines, lines);
	ck_assert_uint_eq(r1.tokens, tokens);
	ck_assert_uint_eq(r2.tokens, tokens);
	ck_assert_uint_eq(r1.oovs, r2.oovs);
	/* Bit-identical sums, not merely close. */
	ck_assert(memcmp(&r1.nats, &r2.nats, sizeof r1.nats) == 0);
	ck_assert(memcmp(&r1.oov_nats, &r2.oov_nats, sizeof r1.nats) == 0);
	free(text);
	lm_free(m);
}
END_TEST

/* ---- a mock stream model: ln p(token | k tokens of context) = -(1 + k) ------
 * with context limit W; scoring through a window records the context each
 * token was given, so the windowing of lm_score can be checked exactly. */

static int
stream_score(const struct lm *m, const uint32_t *ids, size_t n, double *logp, struct ad_error *e)
{
	(void)ids;
	(void)e;
	ck_assert_uint_le(n, m->context);
	for (size_t i = 0; i < n; i++)
		logp[i] = -(1.0 + (double)i);
	return 0;
}

static const struct lm_vtab mock_stream_vt = {
	.free = mock_free, .state_new = mock_state_new, .state_free = mock_state_free,
	.state_reset = mock_reset, .next = mock_next, .push = mock_push, .score = stream_score,
	.encode = mock_encode, .token_text = mock_token_text,
};

START_TEST(test_lm_score_windows_overlap_by_half)
{
	struct lm       m = { .vt = &mock_stream_vt, .V = 5, .context = 8, .line_model = 0 };
	uint32_t        ids[37] = { 0 };
	double          lp[37];
	struct ad_error e = { 0 };

	for (size_t n = 1; n <= 37; n++) {
		for (size_t i = 0; i < n; i++)
			lp[i] = 99;
		ck_assert_int_eq(lm_score(&m, ids, n, lp, &e), 0);
		for (size_t i = 0; i < n; i++) {
			/* The first window gives token i context i; every later token
			 * is scored with between W/2 and W-1 tokens of context. */
			double k = -lp[i] - 1;
			if (i < 8)
				ck_assert_double_eq(k, (double)i);
			else
				ck_assert(k >= 4 && k <= 7);
		}
	}
}
END_TEST

/*
 * score_dist through windows: every position's distribution reaches the
 * visitor exactly once, in order, with its own token, and the log-probs
 * are those of lm_score. The mock's distribution before a token given k
 * tokens of context is one with ln p(k mod V) = -(1 + k) at its top.
 */
struct visit { uint32_t y[64]; size_t n; };

static int
visit_fn(void *ctx, const float *scores, uint32_t V, uint32_t y, struct ad_error *e)
{
	struct visit *v = ctx;

	(void)scores;
	(void)V;
	(void)e;
	v->y[v->n++] = y;
	return 0;
}

static int
stream_score_dist(const struct lm *m, const uint32_t *ids, size_t n, size_t from, double *logp,
    lm_dist_fn fn, void *ctx, struct ad_error *e)
{
	float s[5] = { 0 };
	int   rc = stream_score(m, ids, n, logp, e);

	for (size_t i = from; i < n && rc == 0; i++)
		rc = fn(ctx, s, m->V, ids[i], e);
	return rc;
}

static const struct lm_vtab mock_stream_dist_vt = {
	.free = mock_free, .state_new = mock_state_new, .state_free = mock_state_free,
	.state_reset = mock_reset, .next = mock_next, .push = mock_push, .score = stream_score,
	.encode = mock_encode, .token_text = mock_token_text, .score_dist = stream_score_dist,
};

START_TEST(test_lm_score_dist_visits_each_position_once)
{
	struct lm       m = { .vt = &mock_stream_dist_vt, .V = 5, .context = 8 };
	uint32_t        ids[37];
	double          lp[37], want[37];
	struct ad_error e = { 0 };

	for (size_t i = 0; i < 37; i++)
		ids[i] = (uint32_t)(i * 7 % 5);
	for (size_t n = 1; n <= 37; n++) {
		struct visit v = { .n = 0 };
		ck_assert_int_eq(lm_score(&m, ids, n, want, &e), 0);
		ck_assert_int_eq(lm_score_dist(&m, ids, n, lp, visit_fn, &v, &e), 0);
		ck_assert_uint_eq(v.n, n);
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_eq(v.y[i], ids[i]);
			ck_assert_double_eq(lp[i], want[i]);
		}
	}
}
END_TEST

/*
 * Calibration through eval, by hand: the mock line model states
 * p = (a .5, b .25, </s> .125, <unk> .125) everywhere, so its top-1 is "a"
 * at confidence .5. "a b\nzz\n\na" is a b </s> <unk> </s> </s> a: 2 of 7
 * right; sum p^2 = .34375, so Brier = 1.34375 - 2 mean(p_y) = 1.34375 -
 * 2 (1.75 / 7) = .84375; one bin (.5 is in (7/15, 8/15]), ECE |2/7 - .5|.
 */
START_TEST(test_eval_calibration_by_hand)
{
	struct lm           *m = mock_line_model();
	struct lm_eval       r = { 0 };
	struct lm_calib_acc *acc;
	struct ad_error      e = { 0 };
	const char          *text = "a b\nzz\n\na";

	ck_assert_int_eq(lm_calib_acc_new(&acc, &e), 0);
	ck_assert_int_eq(lm_eval_text_calib(m, (const uint8_t *)text, strlen(text), &r, acc, NULL,
	    &e), 0);
	ck_assert_int_eq(lm_calib_finish(acc, &r.calib, &e), 0);
	ck_assert_uint_eq(r.calib.n, 7);
	ck_assert_double_eq_tol(r.calib.accuracy, 2.0 / 7, 1e-12);
	ck_assert_double_eq_tol(r.calib.brier, 0.84375, 1e-6);
	ck_assert_double_eq_tol(r.calib.ece, 0.5 - 2.0 / 7, 1e-6);
	ck_assert_uint_eq(r.calib.bin_n[7], 7);
	ck_assert_double_eq_tol(r.calib.nll, lm_eval_nats_per_token(&r), 1e-6);
	lm_calib_acc_free(acc);
	lm_free(m);
}
END_TEST

/* ---- the sampler ----------------------------------------------------------- */

static void
fill_logp(float *logp, const double *p, uint32_t V)
{
	for (uint32_t i = 0; i < V; i++)
		logp[i] = p[i] > 0 ? (float)log(p[i]) : -INFINITY;
}

START_TEST(test_sampling_distributions_by_hand)
{
	/* p = (0.4, 0.3, 0.2, 0.1, 0); hand-worked transformed distributions. */
	const double       p[5] = { 0.4, 0.3, 0.2, 0.1, 0.0 };
	float              logp[5];
	double             q[5], z;
	struct lm_sampler *s;
	struct ad_error    e;
	struct lm_sampling cfg;

	fill_logp(logp, p, 5);
	ck_assert_int_eq(lm_sampler_new(&s, 5, &e), 0);

	cfg = (struct lm_sampling){ 1.0, 0, 1.0 };
	lm_sample_distribution(s, &cfg, logp, q);
	for (int i = 0; i < 5; i++)
		ck_assert_double_eq_tol(q[i], p[i], 1e-6);

	/* Temperature 0.5 squares the probabilities: 16, 9, 4, 1 over 30. */
	cfg = (struct lm_sampling){ 0.5, 0, 1.0 };
	lm_sample_distribution(s, &cfg, logp, q);
	ck_assert_double_eq_tol(q[0], 16.0 / 30, 1e-6);
	ck_assert_double_eq_tol(q[3], 1.0 / 30, 1e-6);

	/* Top-k 2: 0.4 and 0.3 renormalised. */
	cfg = (struct lm_sampling){ 1.0, 2, 1.0 };
	lm_sample_distribution(s, &cfg, logp, q);
	ck_assert_double_eq_tol(q[0], 4.0 / 7, 1e-6);
	ck_assert_double_eq_tol(q[1], 3.0 / 7, 1e-6);
	ck_assert_double_eq(q[2], 0);

	/* Top-p 0.75: 0.4 + 0.3 = 0.7 < 0.75, so 0.2 joins: 0.4, 0.3, 0.2 over 0.9. */
	cfg = (struct lm_sampling){ 1.0, 0, 0.75 };
	lm_sample_distribution(s, &cfg, logp, q);
	ck_assert_double_eq_tol(q[2], 0.2 / 0.9, 1e-6);
	ck_assert_double_eq(q[3], 0);

	/* Temperature 2, top-k 3, top-p 0.5: sqrt weights .632,.548,.447 (.316
	 * dropped by k); the first reaches 0.5 of 1.627? .632/1.627 = .389 < .5,
	 * so the second joins: .632 and .548 renormalised. */
	cfg = (struct lm_sampling){ 2.0, 3, 0.5 };
	lm_sample_distribution(s, &cfg, logp, q);
	z = sqrt(0.4) + sqrt(0.3);
	ck_assert_double_eq_tol(q[0], sqrt(0.4) / z, 1e-6);
	ck_assert_double_eq_tol(q[1], sqrt(0.3) / z, 1e-6);
	ck_assert_double_eq(q[2], 0);

	/* Temperature 0: greedy, ties to the lowest id. */
	cfg = (struct lm_sampling){ 0.0, 0, 1.0 };
	logp[1] = logp[0];
	lm_sample_distribution(s, &cfg, logp, q);
	ck_assert_double_eq(q[0], 1);
	lm_sampler_free(s);
}
END_TEST

START_TEST(test_sampling_frequencies_chi_square)
{
	/* 100,000 draws with a fixed seed for several settings; chi-square
	 * against the distribution worked out above. df <= 9, 0.999 quantile
	 * 27.88. */
	const double       p[10] = { 0.22, 0.18, 0.15, 0.12, 0.1, 0.08, 0.06, 0.05, 0.03, 0.01 };
	struct lm_sampling cfgs[] = { { 1, 0, 1 }, { 0.7, 0, 1 }, { 1.3, 5, 1 }, { 1, 0, 0.6 }, { 0.8, 6, 0.9 } };
	float              logp[10];
	double             q[10];
	struct lm_sampler *s;
	struct ad_error    e;

	fill_logp(logp, p, 10);
	ck_assert_int_eq(lm_sampler_new(&s, 10, &e), 0);
	for (size_t c = 0; c < sizeof cfgs / sizeof cfgs[0]; c++) {
		struct ad_rng rng;
		uint32_t      count[10] = { 0 };
		double        chi = 0;
		enum { N = 100000 };

		lm_sample_distribution(s, &cfgs[c], logp, q);
		ad_rng_seed(&rng, 2024, c);
		for (int i = 0; i < N; i++)
			count[lm_sample_draw(s, &cfgs[c], logp, &rng, NULL)]++;
		for (int i = 0; i < 10; i++) {
			if (q[i] == 0) {
				ck_assert_uint_eq(count[i], 0);
				continue;
			}
			chi += (count[i] - N * q[i]) * (count[i] - N * q[i]) / (N * q[i]);
		}
		ck_assert_msg(chi < 27.88, "setting %zu: chi-square %g", c, chi);
	}
	lm_sampler_free(s);
}
END_TEST

START_TEST(test_sampling_is_deterministic_for_a_seed)
{
	const double       p[4] = { 0.25, 0.25, 0.25, 0.25 };
	float              logp[4];
	struct lm_sampler *s;
	struct ad_error    e;
	struct lm_sampling cfg = { 1, 0, 1 };
	struct ad_rng      r1, r2;
	double             pr;

	fill_logp(logp, p, 4);
	ck_assert_int_eq(lm_sampler_new(&s, 4, &e), 0);
	ad_rng_seed(&r1, 5, 0);
	ad_rng_seed(&r2, 5, 0);
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(lm_sample_draw(s, &cfg, logp, &r1, &pr),
		    lm_sample_draw(s, &cfg, logp, &r2, NULL));
	ck_assert_double_eq_tol(pr, 0.25, 1e-6);
	lm_sampler_free(s);
}
END_TEST

/* ---- the whole path on a real model file ------------------------------------ */

/* A unigram ARPA model written by hand: p(a)=.4 p(b)=.3 p(c)=.2 p(</s>)=.05
 * p(<unk>)=.05. Sampling never draws <s> or <unk>, so the drawing
 * distribution over {a, b, c, </s>} is these renormalised by 0.95, then
 * transformed as worked out below for each setting. */
static const char hand_arpa[] =
    "\\data\\\n"
    "ngram 1=6\n"
    "\n"
    "\\1-grams:\n"
    "-0.39794000867\ta\n"          /* log10 0.4 */
    "-0.52287874528\tb\n"          /* log10 0.3 */
    "-0.69897000433\tc\n"          /* log10 0.2 */
    "-1.30102999566\t</s>\n"       /* log10 0.05 */
    "-1.30102999566\t<unk>\n"
    "-99\t<s>\n"
    "\n"
    "\\end\\\n";

struct count_ctx {
	char text[16];
	size_t len;
};

static int
count_emit(void *ctx, const uint8_t *b, size_t n)
{
	struct count_ctx *c = ctx;

	if (c->len + n < sizeof c->text) {
		memcpy(c->text + c->len, b, n);
		c->len += n;
	}
	return 0;
}

START_TEST(test_sampling_a_hand_made_ngram_model)
{
	/* Expected distributions over (a, b, c, newline), worked by hand:
	 * T=1: .4 .3 .2 .05 over .95;  T=0.5: squares 16 9 4 .25 over 29.25;
	 * top-k 2: .4 .3 over .7;  top-p 0.8 (of .95 = .76): .4+.3 = .7 < .76,
	 * so c joins: .4 .3 .2 over .9. */
	struct { struct lm_sampling cfg; double p[4]; } cases[] = {
		{ { 1.0, 0, 1.0 }, { .4 / .95, .3 / .95, .2 / .95, .05 / .95 } },
		{ { 0.5, 0, 1.0 }, { 16 / 29.25, 9 / 29.25, 4 / 29.25, .25 / 29.25 } },
		{ { 1.0, 2, 1.0 }, { .4 / .7, .3 / .7, 0, 0 } },
		{ { 1.0, 0, 0.8 }, { .4 / .9, .3 / .9, .2 / .9, 0 } },
	};
	char                *dir = tu_tmpdir(), path[4200];
	struct lm           *m;
	struct lm_generator *g;
	struct ad_error      e = { 0 };

	snprintf(path, sizeof path, "%s/hand.arpa", dir);
	tu_spit(path, hand_arpa, strlen(hand_arpa));
	ck_assert_msg(lm_open(&m, path, &e) == 0, "%s", e.msg);
	ck_assert_str_eq(m->kind, "arpa");
	ck_assert_int_eq(lm_generator_new(&g, m, &e), 0);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		enum { N = 100000 };
		uint32_t      count[4] = { 0 };
		struct ad_rng rng;
		double        chi = 0;

		ad_rng_seed(&rng, 77, c);
		/* Assertions stay outside the loop: Check logs each one it passes. */
		int bad = 0;
		for (int i = 0; i < N; i++) {
			struct count_ctx    ctx = { .len = 0 };
			struct lm_gen_token t;
			size_t              nt;
			if (lm_generate(g, &cases[c].cfg, &rng, "", 1, count_emit, &ctx, &t, &nt, &e) != 0 ||
			    nt != 1 || ctx.len != 1) {
				bad++;
				continue;
			}
			switch (ctx.text[0]) {
			case 'a':  count[0]++; break;
			case 'b':  count[1]++; break;
			case 'c':  count[2]++; break;
			case '\n': count[3]++; break;
			default:   bad++;
			}
		}
		ck_assert_int_eq(bad, 0);
		for (int k = 0; k < 4; k++) {
			if (cases[c].p[k] == 0) {
				ck_assert_uint_eq(count[k], 0);
				continue;
			}
			double ex = N * cases[c].p[k];
			chi += (count[k] - ex) * (count[k] - ex) / ex;
		}
		/* df <= 3: the 0.999 quantile is 16.27. */
		ck_assert_msg(chi < 16.27, "case %zu: chi-square %g", c, chi);
	}
	lm_generator_free(g);
	lm_free(m);
	free(dir);
}
END_TEST

/* ---- a mock masked model: p depends on how many masks the window has ------ */
/* At every asked position: p = 1/2 on the id (masks in the window) mod V, the
 * other half spread evenly. Token texts: 0 " the", 1 "cat", 2 "s", 3 " .",
 * the rest " w": so "cat" and "s" continue the word before them. Each call
 * is traced: a window whose ids are their own absolute positions (ids[i] =
 * i) tells where each scored token stood. */

static size_t mm_scored[64], mm_left[64], mm_right[64];

static int
mm_fill_dist(const struct lm *m, const uint32_t *ids, size_t n, const uint32_t *pos,
    size_t npos, float *logp, struct ad_error *e)
{
	size_t masks = 0;

	(void)e;
	for (size_t i = 0; i < n; i++)
		masks += ids[i] == m->mask;
	for (size_t j = 0; j < npos; j++) {
		size_t p = pos[j], at = p > 0 ? ids[p - 1] + 1 : ids[p + 1] - 1;
		for (uint32_t v = 0; v < m->V; v++)
			logp[j * m->V + v] = (float)log(v == masks % m->V ? 0.5 : 0.5 / (m->V - 1));
		if (at < 64) {
			mm_scored[at]++;
			mm_left[at] = p;
			mm_right[at] = n - 1 - p;
		}
	}
	return 0;
}

static void
mm_token_text(const struct lm *m, uint32_t id, const uint8_t **b, size_t *len)
{
	static const char *t[] = { " the", "cat", "s", " .", " w" };
	(void)m;
	*b = (const uint8_t *)t[id < 4 ? id : 4];
	*len = strlen((const char *)*b);
}

static int
mm_state_new(const struct lm *m, struct lm_state **st, struct ad_error *e)
{
	(void)m;
	(void)st;
	return ad_fail(e, AD_EINVAL, "a masked mock");
}

static const struct lm_vtab mock_masked_vt = {
	.free = mock_free, .state_new = mm_state_new, .state_free = mock_state_free,
	.state_reset = mock_reset, .next = mock_next, .push = mock_push,
	.encode = mock_encode, .token_text = mm_token_text, .fill_dist = mm_fill_dist,
};

static struct lm *
mock_masked_model(uint32_t V, uint32_t context)
{
	struct lm *m = ad_calloc(1, sizeof *m);

	m->vt = &mock_masked_vt;
	m->kind = "mock";
	m->objective = "masked";
	m->V = V;
	m->mask = V + 1;
	m->context = context;
	m->bos = m->eos = m->unk = LM_NONE;
	return m;
}

/*
 * PLL by hand on " the|cat|s| .| the|cat" (words: thecats, ., thecat).
 * token: every copy has one mask, so p = 1/2 goes to id 1: the two "cat"s
 * get ln 1/2, the other four ln 1/6. word-l2r: copy 0 masks the|cat|s (3
 * masks: id 3), copy 1 cat|s (2), copy 2 s (1), copy 3 . (1), copy 4
 * the|cat (2), copy 5 cat (1): only copy 5 hits (id 1 with one mask).
 */
START_TEST(test_pll_by_hand)
{
	struct lm      *m = mock_masked_model(4, 16);
	struct ad_error e = { 0 };
	uint32_t        ids[6] = { 0, 1, 2, 3, 0, 1 };
	double          lp[6], tok = 0, l2r = 0, h = log(0.5), s = log(0.5 / 3);
	struct lm_eval  r = { 0 };

	ck_assert_int_eq(lm_word_start(m, LM_NONE, 1), 1);
	ck_assert_int_eq(lm_word_start(m, 0, 1), 0);
	ck_assert_int_eq(lm_word_start(m, 2, 3), 1);
	ck_assert_int_eq(lm_pll(m, ids, 6, LM_PLL_TOKEN, lp, &e), 0);
	for (int i = 0; i < 6; i++)
		tok += lp[i];
	ck_assert_double_eq_tol(tok, 2 * h + 4 * s, 1e-6);
	ck_assert_double_eq_tol(lp[1], h, 1e-6);
	ck_assert_int_eq(lm_pll(m, ids, 6, LM_PLL_WORD_L2R, lp, &e), 0);
	for (int i = 0; i < 6; i++)
		l2r += lp[i];
	ck_assert_double_eq_tol(l2r, h + 5 * s, 1e-6);
	ck_assert_double_eq_tol(lp[5], h, 1e-6);
	/* eval: "a b a" encodes (mock_encode) to 0 1 0 = " the|cat| the": copy 0
	 * masks the|cat (2: miss), copy 1 cat (1: hit), copy 2 the (1: miss). */
	ck_assert_int_eq(lm_eval_text(m, (const uint8_t *)"a b a", 5, &r, NULL, &e), 0);
	ck_assert_int_eq(r.pseudo, 1);
	ck_assert_uint_eq(r.tokens, 3);
	ck_assert_double_eq_tol(-r.nats, h + 2 * s, 1e-6);
	ck_assert(isnan(lm_eval_bits_per_byte(&r)));
	ck_assert(isnan(lm_eval_perplexity(&r)));
	ck_assert_double_eq_tol(lm_eval_pseudo_bits_per_byte(&r), -(h + 2 * s) / M_LN2 / 5, 1e-6);
	ck_assert_double_eq_tol(lm_eval_pseudo_perplexity(&r), exp(-(h + 2 * s) / 3), 1e-6);
	/* A text is scored, never filled: a mask id in it is refused. */
	ids[2] = m->mask;
	ck_assert_int_eq(lm_pll(m, ids, 6, LM_PLL_TOKEN, lp, &e), AD_EINVAL);
	lm_free(m);
}
END_TEST

/*
 * A text longer than the context: every token is scored exactly once, with
 * at least q = (W - W/2) / 2 tokens of context on each side where the text
 * has them (pll.c's windows), for several context sizes and lengths (the
 * mock tells a position by its neighbour: windows of two tokens or more).
 */
START_TEST(test_pll_windows_score_each_token_once)
{
	struct ad_error e = { 0 };
	uint32_t        ids[64];
	double          lp[64];

	for (uint32_t i = 0; i < 64; i++)
		ids[i] = i;
	for (uint32_t W = 2; W <= 13; W++) {
		size_t q = (W - (W / 2 > 0 ? W / 2 : 1)) / 2;
		for (size_t n = 2; n <= 60; n += 7) {
			struct lm *m = mock_masked_model(64, W);
			memset(mm_scored, 0, sizeof mm_scored);
			ck_assert_int_eq(lm_pll(m, ids, n, LM_PLL_TOKEN, lp, &e), 0);
			for (size_t i = 0; i < n; i++) {
				ck_assert_msg(mm_scored[i] == 1, "W %u n %zu: token %zu scored %zu times",
				    W, n, i, mm_scored[i]);
				ck_assert_uint_ge(mm_left[i], i < q ? i : q);
				ck_assert_uint_ge(mm_right[i], n - 1 - i < q ? n - 1 - i : q);
			}
			lm_free(m);
		}
	}
}
END_TEST

/*
 * Fillers by hand on the masked mock (p = 1/2 on the id (masks in the
 * window) mod 4, 1/6 on each other). One token: one mask, so id 1 at 1/2,
 * the model's own distribution (exact). Two tokens: both positions give
 * id 2 at 1/2 with two masks; the tie goes to the first position, whose 4
 * ids start the branches (2, then 0, 1, 3 by id); the second position,
 * alone masked, takes id 1. The word-l2r scores: (2,1) ln 1/2 + ln 1/2, the
 * others ln 1/6 + ln 1/2. A word not found, (3,3), scores ln 1/6 + ln 1/6
 * and gets 1/36 / (1/4 + 3/12 + 1/36) = 1/19.
 */
START_TEST(test_fill_by_hand_on_a_masked_mock)
{
	struct lm          *m = mock_masked_model(4, 16);
	struct ad_error     e = { 0 };
	struct lm_fill_cfg  cfg = { .k = 3, .min_tokens = 1, .max_tokens = 1, .seed = 1 };
	struct lm_filler   *f;
	uint32_t            left[2] = { 0, 1 }, right[1] = { 3 }, w[2] = { 3, 3 }, w2[2] = { 2, 1 };
	size_t              n, rank;
	int                 exact;
	double              lp;

	ck_assert_int_eq(lm_fill_blank(m, &cfg, left, 2, right, 1, &f, &n, &exact, &e), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_int_eq(exact, 1);
	ck_assert_uint_eq(f[0].n, 1);
	ck_assert_uint_eq(f[0].ids[0], 1);
	ck_assert_double_eq_tol(exp(f[0].logp), 0.5, 1e-6);
	ck_assert_double_eq_tol(exp(f[1].logp), 0.5 / 3, 1e-6);
	ck_assert_uint_eq(f[1].ids[0], 0);   /* ties by id */
	ad_free(f);
	cfg.min_tokens = cfg.max_tokens = 2;
	ck_assert_int_eq(lm_fill_blank(m, &cfg, left, 2, right, 1, &f, &n, &exact, &e), 0);
	ck_assert_int_eq(exact, 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(f[0].n, 2);
	ck_assert_uint_eq(f[0].ids[0], 2);
	ck_assert_uint_eq(f[0].ids[1], 1);
	ck_assert_double_eq_tol(f[0].score, 2 * log(0.5), 1e-6);
	ck_assert_double_eq_tol(f[1].score, log(0.5) + log(0.5 / 3), 1e-6);
	ck_assert_double_eq_tol(exp(f[0].logp), 0.25 / 0.5, 1e-6);
	ad_free(f);
	ck_assert_int_eq(lm_fill_rank(m, &cfg, left, 2, right, 1, w2, 2, &lp, &rank, &e), 0);
	ck_assert_uint_eq(rank, 0);
	ck_assert_double_eq_tol(exp(lp), 0.5, 1e-6);
	ck_assert_int_eq(lm_fill_rank(m, &cfg, left, 2, right, 1, w, 2, &lp, &rank, &e), 0);
	ck_assert_uint_eq(rank, SIZE_MAX);
	ck_assert_double_eq_tol(exp(lp), 1.0 / 19, 1e-6);
	/* The window must hold the text and the longest filler. */
	cfg.max_tokens = 2;
	{
		struct lm *s = mock_masked_model(4, 4);
		ck_assert_int_eq(lm_fill_blank(s, &cfg, left, 2, right, 1, &f, &n, NULL, &e),
		    AD_EINVAL);
		ck_assert_ptr_nonnull(strstr(e.msg, "shorten the text around the blank"));
		lm_free(s);
	}
	lm_free(m);
}
END_TEST

static Suite *
lm_suite(void)
{
	Suite *s = suite_create("lm");
	TCase *tc = tcase_create("eval");

	tcase_add_test(tc, test_eval_line_model_by_hand);
	tcase_add_test(tc, test_eval_independent_of_thread_count);
	tcase_add_test(tc, test_lm_score_windows_overlap_by_half);
	tcase_add_test(tc, test_lm_score_dist_visits_each_position_once);
	tcase_add_test(tc, test_eval_calibration_by_hand);
	tcase_add_test(tc, test_pll_by_hand);
	tcase_add_test(tc, test_pll_windows_score_each_token_once);
	tcase_add_test(tc, test_fill_by_hand_on_a_masked_mock);
	suite_add_tcase(s, tc);
	tc = tcase_create("sample");
	tcase_add_test(tc, test_sampling_distributions_by_hand);
	tcase_add_test(tc, test_sampling_frequencies_chi_square);
	tcase_add_test(tc, test_sampling_is_deterministic_for_a_seed);
	tcase_add_test(tc, test_sampling_a_hand_made_ngram_model);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(lm_suite());
}
