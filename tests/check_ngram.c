/*
 * check_ngram.c — the n-gram model against independent oracles:
 *  - KenLM: lmplz's counts, discounts and ARPA values, and query's per-word
 *    scores and perplexities, on the fixtures in tests/data/kenlm/ (copied
 *    from real lmplz/query runs, see its README.md);
 *  - a 3-line corpus worked by hand (counts, discounts, every probability);
 *  - a brute-force count of every n-gram and its adjusted count, written
 *    here from the rules alone, on random corpora of orders 1..6;
 *  - sums: every context's next-token distribution adds up to 1;
 *  - round trips: ARPA written and read back scores identically; the fast
 *    scorer, the batched scorer and the textbook recursion agree; a byte
 *    model equals the word model of the same bytes written as <0xHH>
 *    words; a token model equals the word model of its ids;
 *  - every error path, with the file and line in the message.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>

#include "base/io.h"
#include "lm/lm.h"
#include "ngram/ngram.h"
#include "ngram/ngram_impl.h"
#include "bpe/bpe.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------- */

static struct ngram_est *
train(const char *path, uint32_t order, enum ngram_unit unit, int fallback)
{
	struct ngram_config cfg;
	struct ngram_est   *m = NULL;
	struct ad_error     e = { 0 };
	const char         *files[1] = { path };
	int                 rc;

	ngram_config_default(&cfg);
	cfg.order = order;
	cfg.unit = unit;
	cfg.discount_fallback = fallback;
	rc = ngram_estimate(&m, &cfg, files, 1, NULL, &e);
	ck_assert_msg(rc == 0, "%s", e.msg);
	return m;
}

static int
train_err(const char *path, struct ngram_config *cfg, struct ad_error *e)
{
	struct ngram_est *m = NULL;
	const char       *files[1] = { path };
	int               rc = ngram_estimate(&m, cfg, files, 1, NULL, e);

	ngram_est_free(m);
	return rc;
}

static char *
write_tmp(const char *dir, const char *name, const char *text)
{
	char *p = malloc(4096);

	snprintf(p, 4096, "%s/%s", dir, name);
	tu_spit(p, text, strlen(text));
	return p;
}

static struct lm *
open_model(const char *path)
{
	struct lm      *m = NULL;
	struct ad_error e = { 0 };
	int             rc = lm_open(&m, path, &e);

	ck_assert_msg(rc == 0, "%s", e.msg);
	return m;
}

static void
rm_rf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* An ARPA file parsed independently of the library: "order:w1 w2" -> values. */
struct arpa_entry {
	char  *key;
	double p, bo;
};

struct arpa_table {
	struct arpa_entry *e;
	size_t             n, cap;
	uint64_t           count[10];
};

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct arpa_entry *)a)->key, ((const struct arpa_entry *)b)->key);
}

static void
arpa_parse(const char *path, struct arpa_table *t)
{
	char  *text = tu_slurp(path, NULL), *save = NULL, *line;
	int    order = 0;

	ck_assert_ptr_nonnull(text);
	memset(t, 0, sizeof *t);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned n;
		unsigned long long c;
		char *tab1, *tab2;

		if (sscanf(line, "ngram %u=%llu", &n, &c) == 2) {
			t->count[n] = c;
			continue;
		}
		if (line[0] == '\\') {
			if (sscanf(line, "\\%u-grams:", &n) == 1)
				order = (int)n;
			continue;
		}
		if (order == 0)
			continue;
		tab1 = strchr(line, '\t');
		ck_assert_ptr_nonnull(tab1);
		*tab1++ = '\0';
		tab2 = strchr(tab1, '\t');
		if (tab2 != NULL)
			*tab2++ = '\0';
		if (t->n == t->cap) {
			t->cap = t->cap ? 2 * t->cap : 1024;
			t->e = realloc(t->e, t->cap * sizeof *t->e);
		}
		t->e[t->n].key = malloc(strlen(tab1) + 8);
		sprintf(t->e[t->n].key, "%d:%s", order, tab1);
		t->e[t->n].p = strtod(line, NULL);
		t->e[t->n].bo = tab2 != NULL ? strtod(tab2, NULL) : 0;
		t->n++;
	}
	qsort(t->e, t->n, sizeof *t->e, entry_cmp);
	free(text);
}

static const struct arpa_entry *
arpa_find(const struct arpa_table *t, const char *key)
{
	struct arpa_entry k = { (char *)key, 0, 0 };

	return bsearch(&k, t->e, t->n, sizeof *t->e, entry_cmp);
}

static void
arpa_free(struct arpa_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->e[i].key);
	free(t->e);
}

/* The key "n:w1 w2 ..." of our i-th n-gram. */
static void
our_key(const struct ngram_est *m, uint32_t n, size_t i, char *buf, size_t cap, uint32_t *a)
{
	const uint32_t *ids;
	size_t          at = (size_t)snprintf(buf, cap, "%u:", n);

	ngram_est_ngram(m, n, i, &ids, a);
	for (uint32_t t = 0; t < n; t++) {
		size_t      len;
		const char *w = ngram_est_word(m, ids[t], &len);
		ck_assert(at + len + 2 < cap);
		if (t > 0)
			buf[at++] = ' ';
		memcpy(buf + at, w, len);
		at += len;
	}
	buf[at] = '\0';
}

/* ---- KenLM: counts, discounts, ARPA ------------------------------------ */

static void
check_against_lmplz(const char *corpus, uint32_t order)
{
	char              name[64];
	char             *train_path;
	struct ngram_est *m;
	struct arpa_table ref;
	char             *disc, *line, *save = NULL, key[4096];
	uint32_t          lines = 0;

	snprintf(name, sizeof name, "kenlm/%s.train.txt", corpus);
	train_path = tu_fixture(name);
	m = train(train_path, order, NGRAM_WORDS, 0);
	/* Counts and discounts as lmplz printed them ("%g" is C++'s default). */
	snprintf(name, sizeof name, "kenlm/%s.o%u.discounts.txt", corpus, order);
	char *dp = tu_fixture(name);
	disc = tu_slurp(dp, NULL);
	ck_assert_ptr_nonnull(disc);
	for (line = strtok_r(disc, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned n;
		char     ours[256];
		double   d[3];
		if (sscanf(line, "%u ", &n) != 1 || n < 1 || n > order)
			continue;
		ngram_est_discounts(m, n, d);
		snprintf(ours, sizeof ours, "%u %llu D1=%g D2=%g D3+=%g", n,
		    (unsigned long long)ngram_est_count(m, n), d[0], d[1], d[2]);
		ck_assert_str_eq(ours, line);
		lines++;
	}
	ck_assert_uint_eq(lines, order);

	/* The same n-grams, and every value within 1e-5 of lmplz's ARPA. */
	snprintf(name, sizeof name, "kenlm/%s.o%u.arpa", corpus, order);
	char *ap = tu_fixture(name);
	arpa_parse(ap, &ref);
	for (uint32_t n = 1; n <= order; n++) {
		ck_assert_uint_eq(ngram_est_count(m, n), ref.count[n]);
		for (size_t i = 0; i < ngram_est_count(m, n); i++) {
			uint32_t                 a;
			float                    p, bo;
			const struct arpa_entry *r;
			our_key(m, n, i, key, sizeof key, &a);
			r = arpa_find(&ref, key);
			ck_assert_msg(r != NULL, "%s is not in lmplz's ARPA", key);
			ngram_est_prob(m, n, i, &p, &bo);
			ck_assert_msg(fabs(p - r->p) <= 1e-5, "%s: log10 p %.8g, lmplz %.8g", key, p, r->p);
			ck_assert_msg(fabs(bo - r->bo) <= 1e-5, "%s: backoff %.8g, lmplz %.8g", key, bo,
			    r->bo);
		}
	}
	arpa_free(&ref);
	free(ap);
	free(dp);
	free(disc);
	free(train_path);
	ngram_est_free(m);
}

START_TEST(test_lmplz_o2) { check_against_lmplz("tiny", 2); }
END_TEST
START_TEST(test_lmplz_o3) { check_against_lmplz("tiny", 3); }
END_TEST
START_TEST(test_lmplz_o4) { check_against_lmplz("tiny", 4); }
END_TEST

/*
 * lmplz counts the suffixes of the last N-gram of its suffix-sorted stream
 * at their raw count in the counts of counts (discount.c). end.train.txt
 * ends with lines whose last new word zzz always follows "qqq rrr" or
 * starts "rrr zzz": the open suffixes zzz, rrr zzz and qqq rrr zzz have raw
 * counts 4, 4, 3 against adjusted counts 1, 2, 2 (at order 4 the line
 * "rrr zzz", shorter than N, is counted from the n-grams that start with
 * <s>). The discounts of orders 1 to N - 1 move (unigram D1 0.695513 ->
 * 0.695024) and many probabilities with them (by up to 0.038 in log10).
 */
START_TEST(test_lmplz_last_ngram_o2) { check_against_lmplz("end", 2); }
END_TEST
START_TEST(test_lmplz_last_ngram_o4) { check_against_lmplz("end", 4); }
END_TEST

/*
 * Sum of p(w | h) over the vocabulary (all but <s>), h the space-separated
 * words of ctx after <s> (a leading "<s>" is the state's own start).
 */
static double
next_sum(struct lm *lm, const char *ctx)
{
	struct ad_error  e = { 0 };
	struct lm_state *st;
	float           *lp = malloc(lm->V * sizeof *lp);
	char            *words = strdup(ctx), *save = NULL, *w;
	double           sum = 0, unused;
	uint32_t        *ids = NULL;
	size_t           cap = 0;

	ck_assert_int_eq(lm_state_new(lm, &st, &e), 0);
	lm_state_reset(lm, st);
	for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		size_t n = 0;
		if (strcmp(w, "<s>") == 0)
			continue;
		ck_assert_int_eq(lm_encode(lm, (const uint8_t *)w, strlen(w), &ids, &n, &cap, &e), 0);
		ck_assert_uint_eq(n, 1);
		ck_assert_int_eq(lm_push(lm, st, ids[0], &unused, &e), 0);
	}
	ck_assert_int_eq(lm_next(lm, st, lp, &e), 0);
	for (uint32_t v = 0; v < lm->V; v++)
		if (v != lm->bos)
			sum += exp((double)lp[v]);
	lm_state_free(lm, st);
	free(ids);
	free(words);
	free(lp);
	return sum;
}

/*
 * A text whose last line, "and the waters were", has no newline: the
 * bigram "waters were" occurs only there, is followed by nothing, and is
 * no context (backoff 1, log10 0). lmplz reads an order's backoffs from a
 * list of the contexts in order (interpolate.cc), as if every n-gram not
 * ending in </s> or <unk> were one, so from "waters were" on each bigram in
 * its order gets the next context's backoff. Every n-gram and probability
 * agrees with lmplz's; where a backoff differs, the definition (brute
 * force: our distribution sums to 1) says lmplz's is wrong: its
 * distribution in that context does not sum to 1.
 */
START_TEST(test_unterminated_backoffs)
{
	char             *dir = tu_tmpdir(), mp[4200], key[4096];
	char             *tp = tu_fixture("kenlm/unterminated.train.txt");
	char             *ap = tu_fixture("kenlm/unterminated.o3.arpa");
	struct ngram_est *m = train(tp, 3, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct arpa_table ref;
	struct lm        *ours, *theirs;
	size_t            differ = 0;
	double            worst = 0;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	ours = open_model(mp);
	theirs = open_model(ap);
	arpa_parse(ap, &ref);
	for (uint32_t n = 1; n <= 3; n++) {
		ck_assert_uint_eq(ngram_est_count(m, n), ref.count[n]);
		for (size_t i = 0; i < ngram_est_count(m, n); i++) {
			uint32_t                 a;
			float                    p, bo;
			const struct arpa_entry *r;
			our_key(m, n, i, key, sizeof key, &a);
			r = arpa_find(&ref, key);
			ck_assert_msg(r != NULL, "%s is not in lmplz's ARPA", key);
			ngram_est_prob(m, n, i, &p, &bo);
			ck_assert_msg(fabs(p - r->p) <= 1e-5, "%s: log10 p %.8g, lmplz %.8g", key, p, r->p);
			if (strcmp(key, "2:waters were") == 0)
				ck_assert_msg(bo == 0 && r->bo != 0, "waters were: %g, lmplz %g", bo, r->bo);
			if (fabs(bo - r->bo) > 1e-5) {
				double so = next_sum(ours, strchr(key, ':') + 1);
				double st = next_sum(theirs, strchr(key, ':') + 1);
				ck_assert_uint_eq(n, 2);
				ck_assert_msg(fabs(so - 1) < 1e-6, "%s: ours sums to %.9f", key, so);
				ck_assert_msg(fabs(st - 1) > 1e-4, "%s: lmplz's sums to %.9f", key, st);
				if (fabs(st - 1) > worst)
					worst = fabs(st - 1);
				differ++;
			}
		}
	}
	ck_assert_uint_eq(differ, 196);
	ck_assert_msg(worst > 0.5, "lmplz's sums are off by at most %g", worst);
	arpa_free(&ref);
	lm_free(ours);
	lm_free(theirs);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
	free(ap);
}
END_TEST

/* ---- KenLM: query -------------------------------------------------------- */

/* What the per-word fields of a query output add up to. */
struct query_words {
	uint64_t oovs;        /* fields whose id is 0 (<unk>) */
	double   oov_log10;   /* and the sum of their log10 p */
	uint64_t eos;         /* </s> fields */
};

/*
 * The log10 scores of a query output, in order: fields "word=id n log10p";
 * with qw, also their OOVs and </s>.
 */
static double *
query_scores_words(const char *path, size_t *count, double summary[4], struct query_words *qw)
{
	char   *text = tu_slurp(path, NULL), *save = NULL, *f;
	double *s = NULL;
	size_t  n = 0, cap = 0;

	ck_assert_ptr_nonnull(text);
	for (int i = 0; i < 4; i++)
		summary[i] = NAN;
	for (f = strtok_r(text, "\t\n", &save); f; f = strtok_r(NULL, "\t\n", &save)) {
		char *sp;
		if (strncmp(f, "Perplexity including OOVs:", 26) == 0) {
			summary[0] = strtod(strtok_r(NULL, "\t\n", &save), NULL);
			continue;
		}
		if (strncmp(f, "Perplexity excluding OOVs:", 26) == 0) {
			summary[1] = strtod(strtok_r(NULL, "\t\n", &save), NULL);
			continue;
		}
		if (strcmp(f, "OOVs:") == 0) {
			summary[2] = strtod(strtok_r(NULL, "\t\n", &save), NULL);
			continue;
		}
		if (strcmp(f, "Tokens:") == 0) {
			summary[3] = strtod(strtok_r(NULL, "\t\n", &save), NULL);
			continue;
		}
		if (strncmp(f, "Total:", 6) == 0 || (sp = strrchr(f, ' ')) == NULL)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			s = realloc(s, cap * sizeof *s);
		}
		s[n++] = strtod(sp + 1, NULL);
		if (qw != NULL && strstr(f, "=0 ") != NULL) {
			qw->oovs++;
			qw->oov_log10 += s[n - 1];
		}
		if (qw != NULL && strncmp(f, "</s>=", 5) == 0)
			qw->eos++;
	}
	free(text);
	*count = n;
	return s;
}

static double *
query_scores(const char *path, size_t *count, double summary[4])
{
	return query_scores_words(path, count, summary, NULL);
}

/*
 * Score every line of val with the model (push, and the batched score),
 * compare each token with query's log10, and return the query-style totals.
 */
static void
check_against_query(struct lm *m, const char *val_name, const char *query_name, int summary)
{
	char          *vp = tu_fixture(val_name), *qp = tu_fixture(query_name);
	struct ad_map  map;
	struct ad_error e = { 0 };
	double         want_sum[4], *want, total = 0, oov_total = 0;
	size_t         nwant, k = 0, pos = 0;
	uint64_t       tokens = 0, oovs = 0;
	uint32_t      *ids = NULL;
	size_t         cap = 0;
	struct lm_state *st;

	want = query_scores(qp, &nwant, want_sum);
	ck_assert_int_eq(ad_map_file(vp, &map, &e), 0);
	ck_assert_int_eq(lm_state_new(m, &st, &e), 0);
	while (pos < map.size) {
		const uint8_t *nl = memchr(map.data + pos, '\n', map.size - pos);
		size_t         end = nl ? (size_t)(nl - map.data) : map.size, n = 0;
		double         lp[4096], lq[4096];

		ck_assert_int_eq(lm_encode(m, map.data + pos, end - pos, &ids, &n, &cap, &e), 0);
		if (n + 1 > cap) {
			cap = n + 1;
			ids = realloc(ids, cap * sizeof *ids);
		}
		ids[n++] = m->eos;
		ck_assert(n < 4096);
		lm_state_reset(m, st);
		for (size_t i = 0; i < n; i++)
			ck_assert_int_eq(lm_push(m, st, ids[i], &lp[i], &e), 0);
		ck_assert_int_eq(m->vt->score(m, ids, n, lq, &e), 0);
		for (size_t i = 0; i < n; i++, k++) {
			double l10 = lp[i] / M_LN10;
			ck_assert_msg(lp[i] == lq[i], "push %.17g, score %.17g", lp[i], lq[i]);
			ck_assert_msg(k < nwant, "more tokens than query scored");
			ck_assert_msg(fabs(l10 - want[k]) <= 1e-5, "token %zu: log10 p %.8f, query %.8f",
			    k, l10, want[k]);
			total += l10;
			tokens++;
			if (ids[i] == m->unk) {
				oovs++;
				oov_total += l10;
			}
		}
		pos = end + 1;
	}
	ck_assert_uint_eq(k, nwant);
	if (summary) {
		double ppl = pow(10, -total / (double)tokens);
		double ppl_ex = pow(10, -(total - oov_total) / (double)(tokens - oovs));
		ck_assert_uint_eq(tokens, (uint64_t)want_sum[3]);
		ck_assert_uint_eq(oovs, (uint64_t)want_sum[2]);
		ck_assert_msg(fabs(ppl / want_sum[0] - 1) <= 1e-6, "ppl %.12g, query %.12g", ppl,
		    want_sum[0]);
		ck_assert_msg(fabs(ppl_ex / want_sum[1] - 1) <= 1e-6, "ppl excl. %.12g, query %.12g",
		    ppl_ex, want_sum[1]);
	}
	lm_state_free(m, st);
	ad_map_release(&map);
	free(ids);
	free(want);
	free(vp);
	free(qp);
}

START_TEST(test_query_tiny)
{
	char             *dir = tu_tmpdir(), mp[4200], ap[4200];
	char             *tp = tu_fixture("kenlm/tiny.train.txt");
	struct ngram_est *m = train(tp, 3, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct lm        *bin, *arpa, *theirs;
	char             *ref_arpa = tu_fixture("kenlm/tiny.o3.arpa");

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	snprintf(ap, sizeof ap, "%s/m.arpa", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	ck_assert_int_eq(ngram_est_write_arpa(m, ap, &e), 0);
	bin = open_model(mp);
	arpa = open_model(ap);
	theirs = open_model(ref_arpa);
	ck_assert_str_eq(bin->kind, "ngram");
	ck_assert_str_eq(arpa->kind, "arpa");
	ck_assert_uint_eq(bin->context, 2);
	ck_assert_uint_eq(bin->V, 1296);
	ck_assert_int_eq(bin->line_model, 1);
	ck_assert_int_eq(bin->word_sep, 1);
	/* Our binary model, our ARPA read back, and lmplz's own ARPA read by
	 * our reader all reproduce query. */
	check_against_query(bin, "kenlm/tiny.val.txt", "kenlm/tiny.o3.query.txt", 1);
	check_against_query(arpa, "kenlm/tiny.val.txt", "kenlm/tiny.o3.query.txt", 1);
	check_against_query(theirs, "kenlm/tiny.val.txt", "kenlm/tiny.o3.query.txt", 1);
	lm_free(bin);
	lm_free(arpa);
	lm_free(theirs);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
	free(ref_arpa);
}
END_TEST

START_TEST(test_query_small)
{
	char             *dir = tu_tmpdir(), mp[4200];
	char             *tp = tu_fixture("kenlm/small.train.txt");
	struct ngram_est *m = train(tp, 3, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct lm        *bin;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	bin = open_model(mp);
	check_against_query(bin, "kenlm/small.val.txt", "kenlm/small.o3.query.txt", 0);
	lm_free(bin);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

/*
 * A text whose last line has no newline: query scores that line's words and
 * no </s> after them, and counts them as tokens (138: 100 words and 4 </s>
 * on the first four lines, 34 words on the last). eval must give the same
 * tokens, OOVs and per-word total. The summary query prints for such a
 * text leaves the last line's scores out of its total and its OOVs out of
 * its OOV count (ngram_query.hh stops before adding them), so the oracle
 * is the sum of query's per-word scores, every one of which it printed.
 */
START_TEST(test_query_unterminated)
{
	char             *dir = tu_tmpdir(), mp[4200];
	char             *tp = tu_fixture("kenlm/tiny.train.txt");
	char             *vp = tu_fixture("kenlm/unterminated.val.txt");
	char             *qp = tu_fixture("kenlm/tiny.o3.unterminated.query.txt");
	char             *ref_arpa = tu_fixture("kenlm/tiny.o3.arpa");
	struct ngram_est *est = train(tp, 3, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct lm        *models[2];
	double            summary[4], *want, total = 0;
	size_t            nwant, len = 0;
	struct query_words qw = { 0 };
	uint8_t          *text = (uint8_t *)tu_slurp(vp, &len);

	ck_assert(len > 0 && text[len - 1] != '\n');
	want = query_scores_words(qp, &nwant, summary, &qw);
	for (size_t k = 0; k < nwant; k++)
		total += want[k];
	ck_assert_uint_eq(nwant, 138);
	ck_assert_uint_eq(qw.eos, 4);
	ck_assert_uint_eq((uint64_t)summary[3], nwant);
	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(est, mp, &e), 0);
	models[0] = open_model(mp);
	models[1] = open_model(ref_arpa);
	for (int i = 0; i < 2; i++) {
		struct lm_eval r = { 0 };
		double         ppl = pow(10, -total / (double)nwant);
		double         ppl_ex = pow(10, -(total - qw.oov_log10) / (double)(nwant - qw.oovs));
		ck_assert_int_eq(lm_eval_text(models[i], text, len, &r, NULL, &e), 0);
		ck_assert_uint_eq(r.tokens, nwant);
		ck_assert_uint_eq(r.oovs, qw.oovs);
		ck_assert_uint_eq(r.lines, 5);
		ck_assert_msg(fabs(lm_eval_perplexity(&r) / ppl - 1) <= 1e-6, "ppl %.12g, query's "
		    "words %.12g", lm_eval_perplexity(&r), ppl);
		ck_assert_msg(fabs(lm_eval_perplexity_excl_oov(&r) / ppl_ex - 1) <= 1e-6,
		    "ppl excl. %.12g, query's words %.12g", lm_eval_perplexity_excl_oov(&r), ppl_ex);
		lm_free(models[i]);
	}
	ngram_est_free(est);
	rm_rf(dir);
	free(dir);
	free(text);
	free(want);
	free(tp);
	free(vp);
	free(qp);
	free(ref_arpa);
}
END_TEST

/* ---- a corpus worked by hand ------------------------------------------- */

/*
 * Order 2 on "a b" / "a c" / "b a". Unigram adjusted counts (distinct left
 * neighbours): a 2 (<s>, b), b 2 (a, <s>), c 1 (a), </s> 3 (b, c, a).
 * t1 = 1, t2 = 2, t3 = 1, t4 = 0: Y = 1/5, D1 = 1 - 2(.2)(2)/1 = 0.2,
 * D2 = 2 - 3(.2)(1)/2 = 1.7, D3 = 3 - 4(.2)(0)/1 = 3. S = 8,
 * gamma = (0.2 + 1.7*2 + 3)/8 = 0.825, |V| = 5, so
 * p(a) = p(b) = 0.3/8 + 0.165 = 0.2025, p(c) = 0.8/8 + 0.165 = 0.265,
 * p(</s>) = 0 + 0.165, p(<unk>) = 0.165.
 * Bigrams: t1 = 7, t2 = 1, t3 = 0: no D3, so the fallback 0.5 1 1.5:
 *   <s>: a 2, b 1; S 3, gamma (0.5 + 1)/3 = 0.5:
 *     p(a|<s>) = 1/3 + .5(.2025), p(b|<s>) = .5/3 + .5(.2025)
 *   a: b, c, </s> once each; gamma 0.5: p(x|a) = 1/6 + .5 p(x)
 *   b: </s>, a; gamma 0.5: p(x|b) = 1/4 + .5 p(x)
 *   c: </s>; gamma 0.5: p(</s>|c) = 1/2 + .5(.165)
 */
START_TEST(test_hand_worked)
{
	char             *dir = tu_tmpdir();
	char             *cp = write_tmp(dir, "c.txt", "a b\na c\nb a\n");
	struct ngram_config cfg;
	struct ad_error   e = { 0 };
	struct ngram_est *m;
	double            d[3];
	char              mp[4200];
	struct lm        *lm;
	struct {
		const char *line;
		double      p[4];
	} cases[] = {
		{ "a c", { 1.0 / 3 + .5 * .2025, 1.0 / 6 + .5 * .265, .5 + .5 * .165, 0 } },
		{ "b a", { .5 / 3 + .5 * .2025, .25 + .5 * .2025, 1.0 / 6 + .5 * .165, 0 } },
		/* unseen bigrams back off: bo(<s>) p(c), bo(c) p(b) */
		{ "c b", { .5 * .265, .5 * .2025, .25 + .5 * .165, 0 } },
		/* an OOV: bo(<s>) p(<unk>); then </s> from the empty context */
		{ "zzz", { .5 * .165, .165, 0, 0 } },
	};

	ngram_config_default(&cfg);
	cfg.order = 2;
	ck_assert_int_eq(train_err(cp, &cfg, &e), AD_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "2-grams"));
	ck_assert_ptr_nonnull(strstr(e.msg, "--discount-fallback"));
	m = train(cp, 2, NGRAM_WORDS, 1);
	ck_assert_uint_eq(ngram_est_count(m, 1), 6);
	ck_assert_uint_eq(ngram_est_count(m, 2), 8);
	ck_assert_int_eq(ngram_est_discounts(m, 1, d), 0);
	ck_assert(fabs(d[0] - 0.2) < 1e-6 && fabs(d[1] - 1.7) < 1e-6 && fabs(d[2] - 3) < 1e-6);
	ck_assert_int_eq(ngram_est_discounts(m, 2, d), 1);
	ck_assert(d[0] == 0.5 && d[1] == 1 && d[2] == 1.5);
	ck_assert_uint_eq(ngram_est_tokens(m), 9);
	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	lm = open_model(mp);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		uint32_t *ids = NULL;
		size_t    n = 0, cap = 0;
		double    lp[8];
		ck_assert_int_eq(lm_encode(lm, (const uint8_t *)cases[c].line,
		    strlen(cases[c].line), &ids, &n, &cap, &e), 0);
		ids = realloc(ids, (n + 1) * sizeof *ids);
		ids[n++] = lm->eos;
		ck_assert_int_eq(lm_score(lm, ids, n, lp, &e), 0);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(fabs(exp(lp[i]) - cases[c].p[i]) < 1e-6, "'%s' token %zu: %.9f, "
			    "by hand %.9f", cases[c].line, i, exp(lp[i]), cases[c].p[i]);
		free(ids);
	}
	lm_free(lm);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(cp);
}
END_TEST

/* ---- brute-force n-grams and adjusted counts --------------------------- */

/*
 * From the rules alone: every window of 1..N tokens of <s> w1 .. wk </s>
 * with its count; the adjusted count of a window is its raw count at order
 * N or when it starts with <s>, else the number of distinct tokens seen
 * right before it; <unk> and <s> have 0. Windows are strings of ids.
 */
struct bf_gram {
	uint32_t ids[8];
	uint32_t n, raw, a;
	uint32_t left[64];
	uint32_t nleft;
};

static struct bf_gram *
bf_find(struct bf_gram *g, size_t ng, const uint32_t *ids, uint32_t n)
{
	for (size_t i = 0; i < ng; i++)
		if (g[i].n == n && memcmp(g[i].ids, ids, n * 4) == 0)
			return &g[i];
	return NULL;
}

START_TEST(test_brute_force_counts)
{
	char     *dir = tu_tmpdir();
	uint64_t  seed = 12345 + (uint64_t)_i;
	uint32_t  N = 1 + (uint32_t)_i % 6;

	for (int round = 0; round < 3; round++) {
		char              text[4096], path[4200];
		size_t            at = 0;
		uint32_t          sent[64][24], slen[64], nsent = 0, V = 3;
		struct bf_gram   *g = calloc(20000, sizeof *g);
		size_t            ng = 0;
		struct ngram_est *m;
		const char       *names[] = { "x", "y", "z", "w", "v" };

		/* Random sentences over 5 words (ids 3.. by first appearance),
		 * lengths 0..9, so short sentences and repeats are common. */
		uint32_t map[5] = { 0, 0, 0, 0, 0 };
		for (uint32_t s = 0; s < 40; s++) {
			uint32_t len = (uint32_t)((seed = seed * 6364136223846793005ULL + 1) >> 33) % 10;
			slen[nsent] = 0;
			sent[nsent][slen[nsent]++] = NGRAM_BOS;
			for (uint32_t k = 0; k < len; k++) {
				uint32_t wi = (uint32_t)((seed = seed * 6364136223846793005ULL + 1) >> 33) % 5;
				if (map[wi] == 0)
					map[wi] = V++;
				sent[nsent][slen[nsent]++] = map[wi];
				at += (size_t)sprintf(text + at, "%s%s", k ? " " : "", names[wi]);
			}
			sent[nsent][slen[nsent]++] = NGRAM_EOS;
			text[at++] = '\n';
			nsent++;
		}
		text[at] = '\0';
		snprintf(path, sizeof path, "%s/r.txt", dir);
		tu_spit(path, text, at);
		/* Brute force. */
		for (uint32_t s = 0; s < nsent; s++)
			for (uint32_t i = 0; i < slen[s]; i++)
				for (uint32_t n = 1; n <= N && i + n <= slen[s]; n++) {
					struct bf_gram *x = bf_find(g, ng, &sent[s][i], n);
					if (x == NULL) {
						x = &g[ng++];
						memcpy(x->ids, &sent[s][i], n * 4);
						x->n = n;
					}
					x->raw++;
					if (i > 0) {
						uint32_t v = sent[s][i - 1], seen = 0;
						for (uint32_t l = 0; l < x->nleft; l++)
							seen |= x->left[l] == v;
						if (!seen)
							x->left[x->nleft++] = v;
					}
				}
		m = train(path, N, NGRAM_WORDS, 1);
		for (uint32_t n = 1; n <= N; n++) {
			size_t want = 0;
			for (size_t i = 0; i < ng; i++) {
				struct bf_gram *x = &g[i];
				if (x->n != n)
					continue;
				want++;
				x->a = n == N || x->ids[0] == NGRAM_BOS ? x->raw : x->nleft;
				if (n == 1 && x->ids[0] == NGRAM_BOS)
					x->a = 0;
			}
			/* <unk> is a unigram too. */
			ck_assert_uint_eq(ngram_est_count(m, n), want + (n == 1));
			for (size_t i = 0; i < ngram_est_count(m, n); i++) {
				const uint32_t *ids;
				uint32_t        a;
				struct bf_gram *x;
				ngram_est_ngram(m, n, i, &ids, &a);
				if (n == 1 && ids[0] == NGRAM_UNK) {
					ck_assert_uint_eq(a, 0);
					continue;
				}
				x = bf_find(g, ng, ids, n);
				ck_assert_msg(x != NULL, "order %u: an n-gram the text does not have", n);
				ck_assert_msg(a == x->a, "order %u/%u n-gram %zu: adjusted %u, expected %u",
				    n, N, i, a, x->a);
				if (i > 0) {
					/* Sorted by ids, first id most significant. */
					const uint32_t *prev;
					uint32_t        pa, t = 0;
					ngram_est_ngram(m, n, i - 1, &prev, &pa);
					while (t < n && prev[t] == ids[t])
						t++;
					ck_assert(t < n && prev[t] < ids[t]);
				}
			}
		}
		ngram_est_free(m);
		free(g);
	}
	rm_rf(dir);
	free(dir);
}
END_TEST

/* ---- distributions sum to one; scorers agree ---------------------------- */

START_TEST(test_next_sums_to_one)
{
	char             *dir = tu_tmpdir(), mp[4200];
	char             *tp = tu_fixture("kenlm/tiny.train.txt");
	struct ngram_est *m = train(tp, 3, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct lm        *lm;
	struct lm_state  *st;
	float            *lp;
	size_t            contexts = 0;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	lm = open_model(mp);
	lp = malloc(lm->V * sizeof *lp);
	ck_assert_int_eq(lm_state_new(lm, &st, &e), 0);
	/* Every context of the model: the start of a sentence, each unigram
	 * and each bigram (orders 1 and 2 are the contexts of a trigram model),
	 * reached by pushing its words. */
	for (uint32_t n = 0; n <= 2; n++)
		for (size_t i = 0; i < (n == 0 ? 1 : ngram_est_count(m, n)); i++) {
			const uint32_t *ids = NULL;
			uint32_t        a;
			double          sum = 0, hist_lp;
			uint32_t        hist[3], nh = 0;

			lm_state_reset(lm, st);
			hist[nh++] = lm->bos;
			if (n > 0) {
				ngram_est_ngram(m, n, i, &ids, &a);
				for (uint32_t t = 0; t < n; t++)
					if (ids[t] != lm->bos) {
						ck_assert_int_eq(lm_push(lm, st, ids[t], &hist_lp, &e), 0);
						hist[nh++] = ids[t];
					}
			}
			ck_assert_int_eq(lm_next(lm, st, lp, &e), 0);
			for (uint32_t w = 0; w < lm->V; w++) {
				if (w == lm->bos) {
					ck_assert(isinf(lp[w]) && lp[w] < 0);
					continue;
				}
				sum += exp((double)lp[w]);
				/* next agrees with the textbook recursion on the history. */
				if (w % 97 == 0)
					ck_assert(fabs(lp[w] / M_LN10 - ngram_lm_log10p_ref(lm, hist, nh, w)) <
					    1e-5);
			}
			ck_assert_msg(fabs(sum - 1) < 1e-6, "context %u/%zu: sum %.9f", n, i, sum);
			contexts++;
		}
	ck_assert_uint_gt(contexts, 5000);
	free(lp);
	lm_state_free(lm, st);
	lm_free(lm);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

START_TEST(test_scorers_agree)
{
	char             *dir = tu_tmpdir(), mp[4200];
	char             *tp = tu_fixture("kenlm/small.train.txt");
	char             *vp = tu_fixture("kenlm/small.val.txt");
	struct ngram_est *m = train(tp, 5, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct ad_map     map;
	struct lm        *lm;
	uint32_t         *ids = NULL;
	size_t            n = 0, cap = 0, start = 0;
	double           *fast, *batch;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	lm = open_model(mp);
	ck_assert_int_eq(ad_map_file(vp, &map, &e), 0);
	/* All lines as one sequence, each ending in </s>. */
	for (size_t pos = 0; pos < map.size;) {
		const uint8_t *nl = memchr(map.data + pos, '\n', map.size - pos);
		size_t         end = nl ? (size_t)(nl - map.data) : map.size;
		ck_assert_int_eq(lm_encode(lm, map.data + pos, end - pos, &ids, &n, &cap, &e), 0);
		ids = realloc(ids, (n + 1) * sizeof *ids);
		cap = n + 1;
		ids[n++] = lm->eos;
		pos = end + 1;
	}
	fast = malloc(n * sizeof *fast);
	batch = malloc(n * sizeof *batch);
	ck_assert_int_eq(lm->vt->score(lm, ids, n, batch, &e), 0);
	{
		struct lm_state *st;
		ck_assert_int_eq(lm_state_new(lm, &st, &e), 0);
		for (size_t i = 0; i < n; i++) {
			ck_assert_int_eq(lm_push(lm, st, ids[i], &fast[i], &e), 0);
			if (ids[i] == lm->eos)
				lm_state_reset(lm, st);
		}
		lm_state_free(lm, st);
	}
	for (size_t i = 0; i < n; i++) {
		double ref;
		if (i > 0 && ids[i - 1] == lm->eos)
			start = i;
		/* The whole sentence so far as history: <s> then ids[start..i). */
		uint32_t hist[512];
		size_t   nh = 0;
		hist[nh++] = lm->bos;
		for (size_t k = start; k < i && nh < 512; k++)
			hist[nh++] = ids[k];
		ref = ngram_lm_log10p_ref(lm, hist, nh, ids[i]) * M_LN10;
		ck_assert_msg(fast[i] == batch[i], "token %zu: push %.17g, score %.17g", i, fast[i],
		    batch[i]);
		ck_assert_msg(fabs(fast[i] - ref) < 1e-9, "token %zu: push %.17g, ref %.17g", i,
		    fast[i], ref);
	}
	free(fast);
	free(batch);
	free(ids);
	ad_map_release(&map);
	lm_free(lm);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
	free(vp);
}
END_TEST

/*
 * The word index the scorer builds at open (ngram_wordtab_encode) against
 * the simple path through the file's word slots (ngram_words_encode_ref):
 * the same ids for every word of the vocabulary, for words one byte longer
 * or shorter, for control and non-ASCII bytes, at every separator, and at
 * the very end of a buffer allocated to the line's exact length (so that
 * an ASan build catches a read past it). Words of 7 to 17 bytes cover the
 * 8-byte steps of the fast path; families of words that share their first
 * 8 bytes and their length, in a nearly full index, make the compare of
 * the bytes after the first 8 decide; the ARPA model covers the heap
 * vocabulary.
 */
START_TEST(test_word_index_agrees)
{
	static const char *const extra[] = {
		"abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop", "abcdefghijklmnopq",
		"ab\x01" "cd", "\x7f", "\xc3\xa9t\xc3\xa9", "x!", "!", "\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1f\x1fz",
		"<unk>", "<s>", "</s>",
	};
	static const char seps[] = { ' ', '\t', '\n', '\v', '\f', '\r' };
	char             *dir = tu_tmpdir(), cp[4200], mp[4200], ap[4200];
	char             *tp = tu_fixture("kenlm/small.train.txt");
	struct ad_error   e = { 0 };
	struct ad_map     map;
	uint64_t          seed = 7;
	size_t            at = 0;
	char             *corpus;

	/* The fixture plus the words above, so that they are in the vocabulary. */
	ck_assert_int_eq(ad_map_file(tp, &map, &e), 0);
	corpus = malloc(map.size + 65536);
	memcpy(corpus, map.data, map.size);
	at = map.size;
	for (size_t i = 0; i < sizeof extra / sizeof extra[0] - 3; i++)
		at += (size_t)sprintf(corpus + at, "%s the %s\n", extra[i], extra[i]);
	/* Families of words that share their first 8 bytes and their length,
	 * present when their last letter is a-m. */
	for (int a = 0; a < 26; a++) {
		for (int b = 0; b < 13; b++)
			at += (size_t)sprintf(corpus + at, "ABCDEFGH%c%c ABCDEFGHIJ%c%c ABCDEFGHIJKLMNO%c%c ",
			    'a' + a, 'a' + b, 'a' + a, 'a' + b, 'a' + a, 'a' + b);
		corpus[at++] = '\n';
	}
	ad_map_release(&map);
	snprintf(cp, sizeof cp, "%s/c.txt", dir);
	tu_spit(cp, corpus, at);
	free(corpus);
	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	snprintf(ap, sizeof ap, "%s/m.arpa", dir);
	{
		struct ngram_est *est = train(cp, 3, NGRAM_WORDS, 1);
		ck_assert_int_eq(ngram_est_write_binary(est, mp, &e), 0);
		ck_assert_int_eq(ngram_est_write_arpa(est, ap, &e), 0);
		ngram_est_free(est);
	}
	/* The binary model's index, the ARPA model's, and the binary model's
	 * words in a nearly full index (long probe paths: many words that
	 * share their first 8 bytes and length meet there). */
	for (int which = 0; which < 3; which++) {
		struct lm                *lm = open_model(which == 1 ? ap : mp);
		const struct ngram_model *m = (const struct ngram_model *)lm;
		const struct ngram_words *w = &m->words;
		struct ngram_wordtab      dense, *tab = (struct ngram_wordtab *)&m->wordtab;
		uint32_t                  found = 0;

		ck_assert(m->wordtab.slot != NULL);
		if (which == 2) {
			uint64_t need = 2;
			while (need <= w->size - 3)
				need *= 2;
			/* Words added to the corpus above keep the load high. */
			ck_assert_msg((double)(w->size - 3) / (double)need > 0.75,
			    "%u words in %llu slots", w->size - 3, (unsigned long long)need);
			ngram_wordtab_build(&dense, w, need);
			ck_assert(dense.slot != NULL);
			tab = &dense;
		}
		/* Every member of the families, present (last letter a-m) or not. */
		for (int q = 0; q < 3 * 26 * 26; q++) {
			static const char *const fam[3] = { "ABCDEFGH", "ABCDEFGHIJ", "ABCDEFGHIJKLMNO" };
			char     word[32];
			size_t   len = strlen(fam[q % 3]);
			memcpy(word, fam[q % 3], len);
			word[len++] = (char)('a' + q / 3 / 26);
			word[len++] = (char)('a' + q / 3 % 26);
			word[len] = '\0';
			uint8_t *exact = malloc(len);
			uint32_t id1, id2;
			memcpy(exact, word, len);
			ck_assert_uint_eq(ngram_wordtab_encode(tab, w, exact, len, &id1), 1);
			ck_assert_uint_eq(ngram_words_encode_ref(w, exact, len, &id2), 1);
			ck_assert_msg(id1 == id2, "%s: %u, reference %u", word, id1, id2);
			ck_assert_msg((id1 != NGRAM_UNK) == (q / 3 % 26 < 13), "%s: id %u", word, id1);
			free(exact);
		}
		for (int round = 0; round < 3000; round++) {
			char      line[512];
			size_t    len = 0, n1, n2;
			uint32_t  nw = (uint32_t)((seed = seed * 6364136223846793005ULL + 1) >> 33) % 12;
			uint32_t  ids1[300], ids2[300];
			uint8_t  *exact;

			for (uint32_t k = 0; k < nw; k++) {
				uint32_t r = (uint32_t)((seed = seed * 6364136223846793005ULL + 1) >> 33);
				uint32_t id = r % w->size, kind = (r >> 20) % 8;
				size_t   wl = (size_t)(w->off[id + 1] - w->off[id]);
				/* Separators before the word: none at the start, sometimes
				 * several, of every kind. */
				for (uint32_t s = 0; s < (k > 0) + (r >> 24) % 2; s++)
					line[len++] = seps[(r >> (8 + 3 * s)) % 6];
				if (kind == 3) {
					/* A family member, present or not. */
					len += (size_t)sprintf(line + len, r & 1 ? "ABCDEFGH%c%c" :
					    "ABCDEFGHIJKLMNO%c%c", 'a' + (r >> 1) % 26, 'a' + (r >> 6) % 26);
					continue;
				}
				if (kind == 7) {
					const char *x = extra[(r >> 4) % (sizeof extra / sizeof extra[0])];
					memcpy(line + len, x, strlen(x));
					len += strlen(x);
					continue;
				}
				if (kind == 6 && wl > 1)
					wl--;   /* a prefix: usually not a word */
				memcpy(line + len, w->text + w->off[id], wl);
				len += wl;
				if (kind == 5)
					line[len++] = (char)(r & 0xff) == ' ' ? 'q' : 'e';   /* a suffix */
				if (kind == 4)
					line[len++] = '\0';
			}
			if ((seed >> 40) % 3 == 0)
				line[len++] = ' ';
			exact = malloc(len > 0 ? len : 1);
			memcpy(exact, line, len);
			n1 = ngram_wordtab_encode(tab, w, exact, len, ids1);
			n2 = ngram_words_encode_ref(w, exact, len, ids2);
			ck_assert_uint_eq(n1, n2);
			ck_assert_uint_le(n1, (len + 1) / 2);
			for (size_t i = 0; i < n1; i++) {
				ck_assert_msg(ids1[i] == ids2[i], "round %d word %zu: %u, reference %u",
				    round, i, ids1[i], ids2[i]);
				found += ids1[i] != NGRAM_UNK;
			}
			free(exact);
		}
		/* The fast path found most words and rejected the rest. */
		ck_assert_uint_gt(found, 5000);
		if (which == 2)
			ngram_wordtab_free(&dense);
		lm_free(lm);
	}
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

/* ARPA written by us and read back gives bit-identical scores. */
START_TEST(test_arpa_round_trip)
{
	char             *dir = tu_tmpdir(), mp[4200], ap[4200], ap2[4200];
	char             *tp = tu_fixture("kenlm/small.train.txt");
	struct ngram_est *m = train(tp, 4, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	struct lm        *bin, *arpa;
	struct lm_state  *s1, *s2;
	float            *l1, *l2;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	snprintf(ap, sizeof ap, "%s/m.arpa", dir);
	snprintf(ap2, sizeof ap2, "%s/m2.arpa", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	ck_assert_int_eq(ngram_est_write_arpa(m, ap, &e), 0);
	bin = open_model(mp);
	arpa = open_model(ap);
	ck_assert_uint_eq(bin->V, arpa->V);
	ck_assert_uint_eq(bin->params, arpa->params);
	l1 = malloc(bin->V * sizeof *l1);
	l2 = malloc(bin->V * sizeof *l2);
	ck_assert_int_eq(lm_state_new(bin, &s1, &e), 0);
	ck_assert_int_eq(lm_state_new(arpa, &s2, &e), 0);
	/* Walk a pseudo-random path through the vocabulary, comparing full
	 * distributions at each step. */
	for (uint32_t step = 0, w = 5; step < 200; step++) {
		double p1, p2;
		ck_assert_int_eq(lm_next(bin, s1, l1, &e), 0);
		ck_assert_int_eq(lm_next(arpa, s2, l2, &e), 0);
		ck_assert_int_eq(memcmp(l1, l2, bin->V * sizeof *l1), 0);
		w = (w * 2654435761u + step) % bin->V;
		if (w == bin->bos)
			w = bin->eos;
		ck_assert_int_eq(lm_push(bin, s1, w, &p1, &e), 0);
		ck_assert_int_eq(lm_push(arpa, s2, w, &p2, &e), 0);
		ck_assert(p1 == p2);
		if (w == bin->eos) {
			lm_state_reset(bin, s1);
			lm_state_reset(arpa, s2);
		}
	}
	lm_state_free(bin, s1);
	lm_state_free(arpa, s2);
	free(l1);
	free(l2);
	lm_free(bin);
	lm_free(arpa);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

/* ---- bytes and tokens ---------------------------------------------------- */

static void
file_eq(const char *a, const char *b)
{
	size_t la, lb;
	char  *x = tu_slurp(a, &la), *y = tu_slurp(b, &lb);

	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(y);
	ck_assert_uint_eq(la, lb);
	ck_assert_int_eq(memcmp(x, y, la), 0);
	free(x);
	free(y);
}

/* A byte model is the word model of the same bytes written as <0xHH>. */
START_TEST(test_bytes_as_words)
{
	char             *dir = tu_tmpdir(), ab[4200], aw[4200], wp[4200];
	char             *tp = tu_fixture("kenlm/tiny.val.txt");
	size_t            len = 0;
	char             *text = tu_slurp(tp, &len);
	FILE             *f;
	struct ngram_est *mb, *mw;
	struct ad_error   e = { 0 };
	struct lm        *lm;

	snprintf(wp, sizeof wp, "%s/w.txt", dir);
	f = fopen(wp, "w");
	for (size_t i = 0, col = 0; i < len; i++) {
		if (text[i] == '\n') {
			fputc('\n', f);
			col = 0;
			continue;
		}
		fprintf(f, "%s<0x%02X>", col++ ? " " : "", (unsigned)(uint8_t)text[i]);
	}
	fclose(f);
	mb = train(tp, 4, NGRAM_BYTES, 0);
	mw = train(wp, 4, NGRAM_WORDS, 0);
	snprintf(ab, sizeof ab, "%s/b.arpa", dir);
	snprintf(aw, sizeof aw, "%s/w.arpa", dir);
	ck_assert_int_eq(ngram_est_write_arpa(mb, ab, &e), 0);
	ck_assert_int_eq(ngram_est_write_arpa(mw, aw, &e), 0);
	file_eq(ab, aw);
	/* Read back, the ARPA is a byte model again. */
	lm = open_model(ab);
	ck_assert_int_eq(lm->word_sep, 0);
	{
		uint32_t      *ids = NULL;
		size_t         n = 0, cap = 0, bl;
		const uint8_t *b;
		ck_assert_int_eq(lm_encode(lm, (const uint8_t *)"And", 3, &ids, &n, &cap, &e), 0);
		ck_assert_uint_eq(n, 3);
		lm_token_text(lm, ids[1], &b, &bl);
		ck_assert_uint_eq(bl, 1);
		ck_assert_int_eq(b[0], 'n');
		free(ids);
	}
	lm_free(lm);
	ngram_est_free(mb);
	ngram_est_free(mw);
	free(text);
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

/* A token model is the word model of its ids written in decimal. */
START_TEST(test_tokens_as_words)
{
	char                   *dir = tu_tmpdir(), at[4200], aw[4200], wp[4200], mp[4200];
	char                   *tp = tu_fixture("kenlm/tiny.train.txt");
	struct bpe_train_config bc;
	struct bpe             *tok;
	struct bpe_encoder     *enc;
	struct ngram_config     cfg;
	struct ngram_est       *mt, *mw;
	struct ad_error         e = { 0 };
	const char             *files[1] = { tp };
	size_t                  len = 0;
	char                   *text = tu_slurp(tp, &len);
	FILE                   *f;
	struct lm              *lm;

	memset(&bc, 0, sizeof bc);
	bc.vocab_size = 320;
	bc.min_frequency = 2;
	ck_assert_int_eq(bpe_train(&tok, &bc, files, 1, NULL, NULL, NULL, &e), 0);
	ck_assert_int_eq(bpe_encoder_new(tok, &enc, &e), 0);
	snprintf(wp, sizeof wp, "%s/ids.txt", dir);
	f = fopen(wp, "w");
	for (size_t pos = 0; pos < len;) {
		char     *nl = memchr(text + pos, '\n', len - pos);
		size_t    end = nl ? (size_t)(nl - text) : len, n = 0, cap = 0;
		uint32_t *ids = NULL;
		ck_assert_int_eq(bpe_encode(enc, (const uint8_t *)text + pos, end - pos, &ids, &n, &cap,
		    &e), 0);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s%u", i ? " " : "", ids[i]);
		fputc('\n', f);
		free(ids);
		pos = end + 1;
	}
	fclose(f);
	ngram_config_default(&cfg);
	cfg.order = 3;
	cfg.unit = NGRAM_TOKENS;
	cfg.tok = tok;
	ck_assert_int_eq(ngram_estimate(&mt, &cfg, files, 1, NULL, &e), 0);
	mw = train(wp, 3, NGRAM_WORDS, 0);
	snprintf(at, sizeof at, "%s/t.arpa", dir);
	snprintf(aw, sizeof aw, "%s/w.arpa", dir);
	snprintf(mp, sizeof mp, "%s/t.bin", dir);
	ck_assert_int_eq(ngram_est_write_arpa(mt, at, &e), 0);
	ck_assert_int_eq(ngram_est_write_arpa(mw, aw, &e), 0);
	file_eq(at, aw);
	/* The binary token model speaks the tokenizer's ids and embeds it. */
	ck_assert_int_eq(ngram_est_write_binary(mt, mp, &e), 0);
	lm = open_model(mp);
	ck_assert_ptr_nonnull(lm->tok);
	ck_assert_uint_eq(bpe_identity(lm->tok), bpe_identity(tok));
	ck_assert_uint_eq(lm->V, bpe_vocab_size(tok) + 3);
	ck_assert_uint_eq(lm->bos, bpe_vocab_size(tok));
	{
		uint32_t *a = NULL, *b = NULL;
		size_t    na = 0, nb = 0, ca = 0, cb = 0;
		float    *lp = malloc(lm->V * sizeof *lp);
		double    sum = 0;
		struct lm_state *st;
		ck_assert_int_eq(lm_encode(lm, (const uint8_t *)text, 40, &a, &na, &ca, &e), 0);
		ck_assert_int_eq(bpe_encode(enc, (const uint8_t *)text, 40, &b, &nb, &cb, &e), 0);
		ck_assert_uint_eq(na, nb);
		ck_assert_int_eq(memcmp(a, b, na * sizeof *a), 0);
		ck_assert_int_eq(lm_state_new(lm, &st, &e), 0);
		ck_assert_int_eq(lm_push(lm, st, a[0], NULL, &e), 0);
		ck_assert_int_eq(lm_next(lm, st, lp, &e), 0);
		for (uint32_t t = 0; t < lm->V; t++)
			sum += exp((double)lp[t]);
		ck_assert(fabs(sum - 1) < 1e-6);
		lm_state_free(lm, st);
		free(lp);
		free(a);
		free(b);
	}
	lm_free(lm);
	bpe_encoder_free(enc);
	bpe_free(tok);
	ngram_est_free(mt);
	ngram_est_free(mw);
	free(text);
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

/* ---- sorting ------------------------------------------------------------ */

START_TEST(test_radix_sort)
{
	uint64_t seed = 7;

	for (uint32_t width = 2; width <= 9; width++)
		for (uint32_t maxid = 3; maxid < 300000; maxid = maxid * 13 + 1) {
			size_t    count = 5000;
			uint32_t *a = malloc(count * width * 4), *b = malloc(count * width * 4);
			uint32_t *tmp = malloc(count * width * 4);
			for (size_t i = 0; i < count * width; i++) {
				seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
				a[i] = (uint32_t)(seed >> 33) % (maxid + 1);
				if ((seed >> 20) % 17 == 0)
					a[i] = NGRAM_PAD;
			}
			/* Every column is key: records with equal keys are equal, so
			 * the two sorts must agree byte for byte. */
			memcpy(b, a, count * width * 4);
			ngram_sort(a, tmp, count, width, width, maxid);
			ngram_sort_ref(b, count, width, width);
			ck_assert_int_eq(memcmp(a, b, count * width * 4), 0);
			free(a);
			free(b);
			free(tmp);
		}
}
END_TEST

/* ---- errors ------------------------------------------------------------- */

START_TEST(test_bad_corpus)
{
	char               *dir = tu_tmpdir();
	char               *empty = write_tmp(dir, "empty.txt", "");
	char               *marker = write_tmp(dir, "m.txt", "a b\nc <s> d\n");
	char               *unk = write_tmp(dir, "u.txt", "a b\nc d\ne <unk>\n");
	struct ngram_config cfg;
	struct ad_error     e = { 0 };

	ngram_config_default(&cfg);
	ck_assert_int_eq(train_err(empty, &cfg, &e), AD_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "empty"));
	ck_assert_int_eq(train_err(marker, &cfg, &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "m.txt:2:"));
	ck_assert_ptr_nonnull(strstr(e.msg, "--skip-symbols"));
	ck_assert_int_eq(train_err(unk, &cfg, &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "u.txt:3:"));
	cfg.order = 0;
	ck_assert_int_eq(train_err(marker, &cfg, &e), AD_EINVAL);
	cfg.order = 9;
	ck_assert_int_eq(train_err(marker, &cfg, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "1 to 8"));
	/* --skip-symbols reads them as spaces: the same model as without them. */
	{
		char *plain = write_tmp(dir, "p.txt", "a b\nc d\n");
		struct ngram_est *m1, *m2;
		const char *f1[1] = { marker }, *f2[1] = { plain };
		char a1[4200], a2[4200];
		cfg.order = 2;
		cfg.skip_symbols = 1;
		cfg.discount_fallback = 1;
		ck_assert_int_eq(ngram_estimate(&m1, &cfg, f1, 1, NULL, &e), 0);
		ck_assert_int_eq(ngram_estimate(&m2, &cfg, f2, 1, NULL, &e), 0);
		snprintf(a1, sizeof a1, "%s/1.arpa", dir);
		snprintf(a2, sizeof a2, "%s/2.arpa", dir);
		ck_assert_int_eq(ngram_est_write_arpa(m1, a1, &e), 0);
		ck_assert_int_eq(ngram_est_write_arpa(m2, a2, &e), 0);
		file_eq(a1, a2);
		ngram_est_free(m1);
		ngram_est_free(m2);
		free(plain);
	}
	rm_rf(dir);
	free(dir);
	free(empty);
	free(marker);
	free(unk);
}
END_TEST

/* The last line without a newline gets no </s> (lmplz). */
START_TEST(test_unterminated_last_line)
{
	char             *dir = tu_tmpdir();
	char             *a = write_tmp(dir, "a.txt", "x y\nx z");
	struct ngram_est *m = train(a, 2, NGRAM_WORDS, 1);

	/* x y </s> and x z: tokens are 3 + 2. */
	ck_assert_uint_eq(ngram_est_tokens(m), 5);
	ck_assert_uint_eq(ngram_est_lines(m), 2);
	/* Bigrams: <s> x (2), x y, y </s>, x z. */
	ck_assert_uint_eq(ngram_est_count(m, 2), 4);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(a);
}
END_TEST

/*
 * Streaming: the corpus read in pieces of a few bytes, lines longer than a
 * piece cut into parts (between words, anywhere for bytes, at tokenizer cut
 * points), sentences longer than a block cut with N - 1 ids of overlap, and
 * groups that end inside a sentence, must count exactly what one piece and
 * one block count: every n-gram, adjusted count and probability, and the
 * tokens and lines. (The unstreamed estimate is checked against lmplz and
 * brute force above; a corpus this small is never cut by the defaults.)
 */
static void
assert_same_estimate(const struct ngram_est *a, const struct ngram_est *b, uint32_t N)
{
	ck_assert_uint_eq(ngram_est_tokens(a), ngram_est_tokens(b));
	ck_assert_uint_eq(ngram_est_lines(a), ngram_est_lines(b));
	ck_assert_uint_eq(ngram_est_vocab(a), ngram_est_vocab(b));
	for (uint32_t n = 1; n <= N; n++) {
		ck_assert_uint_eq(ngram_est_count(a, n), ngram_est_count(b, n));
		for (size_t i = 0; i < ngram_est_count(a, n); i++) {
			const uint32_t *ia, *ib;
			uint32_t        ca, cb;
			float           pa, pb, ba, bb;
			ngram_est_ngram(a, n, i, &ia, &ca);
			ngram_est_ngram(b, n, i, &ib, &cb);
			ck_assert_int_eq(memcmp(ia, ib, n * sizeof *ia), 0);
			ck_assert_uint_eq(ca, cb);
			ngram_est_prob(a, n, i, &pa, &ba);
			ngram_est_prob(b, n, i, &pb, &bb);
			ck_assert(pa == pb && ba == bb);
		}
	}
}

START_TEST(test_streamed_counts)
{
	char                   *dir = tu_tmpdir(), *p1, *p2, *text = malloc(1 << 16);
	const char             *words[] = { "the", "cat", "sat", "on", "a", "mat", "x\xc3\xa9", "1" };
	const char             *files[2];
	struct bpe_train_config bc;
	struct bpe             *tok;
	struct ad_error         e = { 0 };
	uint64_t                seed = 99;
	size_t                  at = 0;
	static const size_t     cuts[][2] = { { 1, 1 }, { 1, 2 }, { 7, 3 }, { 13, 5 }, { 64, 17 } };

	/* Short and long lines (up to 400 words), empty lines, runs of
	 * spaces; the second file ends without a newline. */
	for (int l = 0; l < 40; l++) {
		uint32_t len = (uint32_t)((seed = seed * 6364136223846793005ULL + 1) >> 33) %
		    (l % 7 == 0 ? 400 : 12);
		for (uint32_t k = 0; k < len; k++) {
			uint32_t w = (uint32_t)((seed = seed * 6364136223846793005ULL + 1) >> 33) % 8;
			at += (size_t)sprintf(text + at, "%s%s", k ? (w == 7 ? "   " : " ") : "", words[w]);
		}
		text[at++] = '\n';
	}
	text[at] = '\0';
	p1 = write_tmp(dir, "a.txt", text);
	p2 = write_tmp(dir, "b.txt", "the cat the cat the cat the cat sat\n\nthe mat");
	files[0] = p1;
	files[1] = p2;
	memset(&bc, 0, sizeof bc);
	bc.vocab_size = 300;
	bc.min_frequency = 2;
	ck_assert_int_eq(bpe_train(&tok, &bc, files, 2, NULL, NULL, NULL, &e), 0);
	for (int unit = NGRAM_WORDS; unit <= NGRAM_TOKENS; unit++)
		for (uint32_t N = 1; N <= 5; N += 2) {
			struct ngram_config cfg;
			struct ngram_est   *whole = NULL;
			ngram_config_default(&cfg);
			cfg.order = N;
			cfg.unit = (enum ngram_unit)unit;
			cfg.tok = tok;
			cfg.discount_fallback = 1;
			ck_assert_msg(ngram_estimate(&whole, &cfg, files, 2, NULL, &e) == 0, "%s", e.msg);
			for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
				struct ngram_est *part = NULL;
				cfg.chunk_bytes = cuts[c][0];
				cfg.block_tokens = cuts[c][1];
				ck_assert_msg(ngram_estimate(&part, &cfg, files, 2, NULL, &e) == 0, "%s",
				    e.msg);
				assert_same_estimate(whole, part, N);
				ngram_est_free(part);
			}
			ngram_est_free(whole);
		}
	bpe_free(tok);
	rm_rf(dir);
	free(dir);
	free(p1);
	free(p2);
	free(text);
}
END_TEST

static int
open_err(const char *path, struct ad_error *e)
{
	struct lm *m = NULL;
	int        rc = lm_open(&m, path, e);

	lm_free(m);
	return rc;
}

START_TEST(test_bad_model_file)
{
	char             *dir = tu_tmpdir(), mp[4200], bad[4200];
	char             *tp = tu_fixture("kenlm/tiny.train.txt");
	struct ngram_est *m = train(tp, 3, NGRAM_WORDS, 0);
	struct ad_error   e = { 0 };
	size_t            len = 0;
	char             *data;
	uint64_t          sum;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	snprintf(bad, sizeof bad, "%s/bad.bin", dir);
	ck_assert_int_eq(ngram_est_write_binary(m, mp, &e), 0);
	data = tu_slurp(mp, &len);
	/* One flipped byte: the checksum. */
	data[len / 2] ^= 0x40;
	tu_spit(bad, data, len);
	ck_assert_int_eq(open_err(bad, &e), AD_ECHECKSUM);
	ck_assert_ptr_nonnull(strstr(e.msg, "bad.bin"));
	data[len / 2] ^= 0x40;
	/* Truncated. */
	tu_spit(bad, data, len - 100);
	ck_assert_int_eq(open_err(bad, &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	tu_spit(bad, data, 20);
	ck_assert_int_eq(open_err(bad, &e), AD_EFORMAT);
	/* A newer version, with a valid checksum. */
	data[8] = 2;
	sum = ad_hash64(data, len - 8, 0);
	memcpy(data + len - 8, &sum, 8);
	tu_spit(bad, data, len);
	ck_assert_int_eq(open_err(bad, &e), AD_EVERSION);
	ck_assert_ptr_nonnull(strstr(e.msg, "version 2"));
	/* A checksummed file with a lying header: a table bigger than the file. */
	data[8] = 1;
	{
		uint64_t cap = (uint64_t)1 << 40;
		/* struct ngram_header: cap[0..8] starts at byte 144. */
		memcpy(data + 144 + 2 * 8, &cap, 8);
	}
	sum = ad_hash64(data, len - 8, 0);
	memcpy(data + len - 8, &sum, 8);
	tu_spit(bad, data, len);
	ck_assert_int_eq(open_err(bad, &e), AD_EFORMAT);
	/* Not a model at all. */
	tu_spit(bad, "hello\n", 6);
	ck_assert_int_eq(open_err(bad, &e), AD_EFORMAT);
	free(data);
	ngram_est_free(m);
	rm_rf(dir);
	free(dir);
	free(tp);
}
END_TEST

START_TEST(test_bad_arpa)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
		{ "\\data\\\nngram 1=3\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n\n\\end\\\n",
		  "a.arpa:7: the header promises 3 1-grams but the section has 2" },
		{ "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n0.5\t</s>\n\n\\end\\\n",
		  "a.arpa:6: positive log10 probability" },
		{ "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t<s>\t-0.1\n-1\t</s>\n\n\\end\\\n",
		  "a.arpa:9: expected the section \\2-grams:" },
		{ "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-1\t</s>\n",
		  "expected \\end\\" },
		{ "\\data\\\nngram 1=2\nngram 2=1\n\n\\1-grams:\n-1\t<s>\t0\n-1\t</s>\t0\n\n"
		  "\\2-grams:\n-1\t<s> a\n\n\\end\\\n",
		  "a.arpa:10: the word 'a' is not among the unigrams" },
		{ "\\data\\\nngram 1=3\nngram 2=1\nngram 3=1\n\n\\1-grams:\n-1\t<s>\t0\n-1\t</s>\t0\n"
		  "-1\ta\t0\n\n\\2-grams:\n-1\t<s> a\t0\n\n\\3-grams:\n-1\t<s> a a\n\n\\end\\\n",
		  "a.arpa:15: the suffix of this 3-gram is not in the model" },
		{ "\\data\\\nngram 1=2\n\n\\1-grams:\n-1\t<s>\n-x\t</s>\n\n\\end\\\n",
		  "a.arpa:6: a value is not a number" },
		{ "\\data\\\nngram 2=2\n\n", "a.arpa:2: 'ngram 2=' out of order" },
		{ "\\data\\\nngram 1=1\n\n\\1-grams:\n-1\t<s>\n\n\\end\\\n", "lack </s>" },
	};
	char *dir = tu_tmpdir();

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char           *p = write_tmp(dir, "a.arpa", cases[c].text);
		struct ad_error e = { 0 };
		ck_assert_int_eq(open_err(p, &e), AD_EFORMAT);
		ck_assert_msg(strstr(e.msg, cases[c].want) != NULL, "case %zu: '%s' lacks '%s'", c,
		    e.msg, cases[c].want);
		free(p);
	}
	/* A minimal valid one, with <unk> added. */
	{
		char       *p = write_tmp(dir, "a.arpa",
		    "\n\\data\\\nngram 1=2\n\n\\1-grams:\n-99\t<s>\n-0.30103\t</s>\n\n\\end\\\n");
		struct lm  *m = open_model(p);
		double      lp[1];
		uint32_t    id = m->eos;
		ck_assert_uint_eq(m->V, 3);
		ck_assert_int_eq(lm_score(m, &id, 1, lp, NULL), 0);
		ck_assert(fabs(lp[0] - log(0.5)) < 1e-6);
		lm_free(m);
		free(p);
	}
	rm_rf(dir);
	free(dir);
}
END_TEST

/* Every allocation failure turns into AD_ENOMEM (no crash, no leak). */
START_TEST(test_alloc_failures)
{
	char            *dir = tu_tmpdir(), mp[4200];
	char            *cp = write_tmp(dir, "c.txt", "a b c\na c b\nb a\nc\n\na b c d\n");
	struct ad_error  e = { 0 };
	int              ok = 0;

	snprintf(mp, sizeof mp, "%s/m.bin", dir);
	for (long k = 0; k < 400 && !ok; k++) {
		struct ngram_config cfg;
		struct ngram_est   *m = NULL;
		const char         *files[1] = { cp };
		struct lm          *lm = NULL;
		int                 rc;

		ngram_config_default(&cfg);
		cfg.order = 3;
		cfg.discount_fallback = 1;
		ad_alloc_fail_after(k);
		rc = ngram_estimate(&m, &cfg, files, 1, NULL, &e);
		if (rc == 0)
			rc = ngram_est_write_binary(m, mp, &e);
		if (rc == 0)
			rc = lm_open(&lm, mp, &e);
		ad_alloc_fail_after(-1);
		ck_assert_msg(rc == 0 || rc == AD_ENOMEM || rc == AD_EIO, "k=%ld: %d %s", k, rc, e.msg);
		ok = rc == 0;
		lm_free(lm);
		ngram_est_free(m);
	}
	ck_assert(ok);
	rm_rf(dir);
	free(dir);
	free(cp);
}
END_TEST

static Suite *
ngram_suite(void)
{
	Suite *s = suite_create("ngram");
	TCase *t = tcase_create("ngram");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_lmplz_o2);
	tcase_add_test(t, test_lmplz_o3);
	tcase_add_test(t, test_lmplz_o4);
	tcase_add_test(t, test_lmplz_last_ngram_o2);
	tcase_add_test(t, test_lmplz_last_ngram_o4);
	tcase_add_test(t, test_unterminated_backoffs);
	tcase_add_test(t, test_query_tiny);
	tcase_add_test(t, test_query_small);
	tcase_add_test(t, test_query_unterminated);
	tcase_add_test(t, test_hand_worked);
	tcase_add_loop_test(t, test_brute_force_counts, 0, 12);
	tcase_add_test(t, test_next_sums_to_one);
	tcase_add_test(t, test_scorers_agree);
	tcase_add_test(t, test_word_index_agrees);
	tcase_add_test(t, test_arpa_round_trip);
	tcase_add_test(t, test_bytes_as_words);
	tcase_add_test(t, test_tokens_as_words);
	tcase_add_test(t, test_radix_sort);
	tcase_add_test(t, test_bad_corpus);
	tcase_add_test(t, test_unterminated_last_line);
	tcase_add_test(t, test_streamed_counts);
	tcase_add_test(t, test_bad_model_file);
	tcase_add_test(t, test_bad_arpa);
	tcase_add_test(t, test_alloc_failures);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(ngram_suite());
}
