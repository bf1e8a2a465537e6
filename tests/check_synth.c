/*
 * check_synth.c — the synthetic corpus: determinism, the grammar invariant,
 * the ground truth counted back from the text, and the bias knob.
 *
 * The oracle is an independent count: the text is split into words by this
 * file's own tokenizer, and for every line that names an occupation the
 * gendered words are tallied, using only the lexicon's word lists.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>

#include "synth/synth.h"
#include "testutil.h"

struct gen {
	char              *text;
	size_t             len;
	struct synth_truth truth;
	char              *tsv;
};

static struct gen
generate(double bias, uint64_t seed, uint64_t sentences)
{
	struct synth_config cfg = { .bias = bias, .seed = seed, .sentences = sentences };
	struct ad_error     e = { 0 };
	struct gen          g;
	size_t              tl;
	FILE               *f = open_memstream(&g.text, &g.len);

	ck_assert_int_eq(synth_generate(&cfg, f, &g.truth, NULL, &e), 0);
	fclose(f);
	f = open_memstream(&g.tsv, &tl);
	ck_assert_int_eq(synth_truth_write(&g.truth, &cfg, f), 0);
	fclose(f);
	return g;
}

static void
gen_free(struct gen *g)
{
	free(g->text);
	free(g->tsv);
	synth_truth_free(&g->truth);
}

/* Tallies per occupation counted from the text alone. */
struct tally {
	uint64_t lines[64], male[64], female[64];
	uint64_t nlines, occ_lines;
};

static enum synth_gender
word_gender(const char *w)
{
	static const char *m[] = { "he", "him", "his", "himself" };
	static const char *f[] = { "she", "her", "hers", "herself" };

	for (int i = 0; i < 4; i++) {
		if (strcmp(w, m[i]) == 0)
			return SYNTH_MALE;
		if (strcmp(w, f[i]) == 0)
			return SYNTH_FEMALE;
	}
	for (const char *const *n = synth_names(SYNTH_MALE); *n; n++)
		if (strcasecmp(w, *n) == 0)
			return SYNTH_MALE;
	for (const char *const *n = synth_names(SYNTH_FEMALE); *n; n++)
		if (strcasecmp(w, *n) == 0)
			return SYNTH_FEMALE;
	return SYNTH_NONE;
}

static int
word_occupation(const char *w)
{
	const struct synth_occupation *o = synth_occupations();

	for (int i = 0; o[i].word != NULL; i++)
		if (strcmp(w, o[i].word) == 0)
			return i;
	return -1;
}

static void
count_back(const char *text, size_t len, struct tally *t)
{
	size_t pos = 0;

	memset(t, 0, sizeof *t);
	while (pos < len) {
		size_t end = pos;
		int    occ = -1, nm = 0, nf = 0;
		char   w[64];
		while (end < len && text[end] != '\n')
			end++;
		for (size_t i = pos; i < end;) {
			size_t k = 0;
			if (!isalpha((unsigned char)text[i])) {
				i++;
				continue;
			}
			while (i < end && isalpha((unsigned char)text[i]) && k < sizeof w - 1)
				w[k++] = (char)tolower((unsigned char)text[i++]);
			w[k] = '\0';
			int o = word_occupation(w);
			if (o >= 0) {
				/* The invariant: one occupation per line. */
				ck_assert_msg(occ < 0 || occ == o, "two occupations in line at %zu", pos);
				occ = o;
			}
			switch (word_gender(w)) {
			case SYNTH_MALE: nm++; break;
			case SYNTH_FEMALE: nf++; break;
			default: break;
			}
		}
		if (occ >= 0) {
			t->lines[occ]++;
			t->male[occ] += (uint64_t)nm;
			t->female[occ] += (uint64_t)nf;
			t->occ_lines++;
		}
		t->nlines++;
		pos = end + 1;
	}
}

START_TEST(test_same_seed_same_bytes)
{
	struct gen a = generate(0.8, 7, 5000), b = generate(0.8, 7, 5000), c = generate(0.8, 8, 5000);

	ck_assert_uint_eq(a.len, b.len);
	ck_assert_mem_eq(a.text, b.text, a.len);
	ck_assert_str_eq(a.tsv, b.tsv);
	ck_assert(a.len != c.len || memcmp(a.text, c.text, a.len) != 0);
	gen_free(&a);
	gen_free(&b);
	gen_free(&c);
}
END_TEST

START_TEST(test_truth_equals_counts_from_text)
{
	struct gen   g = generate(0.9, 3, 20000);
	struct tally t;
	size_t       n = synth_occupation_count();
	char        *line, *save = NULL;
	size_t       rows = 0;

	count_back(g.text, g.len, &t);
	ck_assert_uint_eq(t.nlines, 20000);
	ck_assert_uint_eq(g.truth.total_lines, 20000);
	ck_assert_uint_eq(g.truth.total_bytes, g.len);
	ck_assert_uint_gt(t.occ_lines, 8000);
	/* Every occupation line carries at least one gendered reference. */
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(g.truth.lines[i], t.lines[i]);
		ck_assert_uint_eq(g.truth.male[i], t.male[i]);
		ck_assert_uint_eq(g.truth.female[i], t.female[i]);
		ck_assert_uint_ge(t.male[i] + t.female[i], t.lines[i]);
	}
	/* The TSV says the same, row by row, in the documented layout. */
	line = strtok_r(g.tsv, "\n", &save);
	ck_assert_str_eq(line, "# autodidact synth truth 1");
	line = strtok_r(NULL, "\n", &save);
	ck_assert_ptr_nonnull(strstr(line, "seed=3 bias=0.9"));
	line = strtok_r(NULL, "\n", &save);
	ck_assert_str_eq(line, "occupation\tstereotype\tlines\tmale\tfemale\tmale_share");
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char occ[64], st[16];
		unsigned long long l, m, f;
		ck_assert_int_eq(sscanf(line, "%63[^\t]\t%15[^\t]\t%llu\t%llu\t%llu", occ, st, &l, &m, &f), 5);
		int i = word_occupation(occ);
		ck_assert_int_ge(i, 0);
		ck_assert_uint_eq(l, t.lines[i]);
		ck_assert_uint_eq(m, t.male[i]);
		ck_assert_uint_eq(f, t.female[i]);
		rows++;
	}
	ck_assert_uint_eq(rows, n);
	gen_free(&g);
}
END_TEST

/* Share of gendered references that use the stereotyped gender, pooled. */
static double
stereotyped_share(const struct tally *t, uint64_t *refs)
{
	const struct synth_occupation *o = synth_occupations();
	uint64_t st = 0, all = 0;

	for (int i = 0; o[i].word != NULL; i++) {
		if (o[i].stereotype == SYNTH_NONE)
			continue;
		st += o[i].stereotype == SYNTH_MALE ? t->male[i] : t->female[i];
		all += t->male[i] + t->female[i];
	}
	*refs = all;
	return (double)st / (double)all;
}

START_TEST(test_bias_knob_sets_the_share)
{
	/* References within a line share a gender, so the effective sample is
	 * the number of lines: allow 6 line-level standard errors. */
	double biases[] = { 0.5, 0.9, 0.2 };

	for (int k = 0; k < 3; k++) {
		struct gen   g = generate(biases[k], 11 + (uint64_t)k, 60000);
		struct tally t;
		uint64_t     refs;
		double       share, se;

		count_back(g.text, g.len, &t);
		share = stereotyped_share(&t, &refs);
		se = sqrt(biases[k] * (1 - biases[k]) / (double)(t.occ_lines * 2 / 3));
		ck_assert_msg(fabs(share - biases[k]) < 6 * se, "bias %g gave share %g (se %g)",
		    biases[k], share, se);
		gen_free(&g);
	}
}
END_TEST

START_TEST(test_neutral_occupations_stay_neutral)
{
	const struct synth_occupation *o = synth_occupations();
	struct gen   g = generate(1.0, 5, 60000);
	struct tally t;
	uint64_t     m = 0, all = 0, lines = 0;

	count_back(g.text, g.len, &t);
	for (int i = 0; o[i].word != NULL; i++) {
		if (o[i].stereotype == SYNTH_NONE) {
			m += t.male[i];
			all += t.male[i] + t.female[i];
			lines += t.lines[i];
		} else {
			/* bias 1: every reference uses the stereotyped gender. */
			ck_assert_uint_eq(o[i].stereotype == SYNTH_MALE ? t.female[i] : t.male[i], 0);
		}
	}
	ck_assert_double_lt(fabs((double)m / (double)all - 0.5), 6 * sqrt(0.25 / (double)lines));
	gen_free(&g);
}
END_TEST

START_TEST(test_bytes_mode_and_bad_config)
{
	struct synth_config cfg = { .bias = 0.5, .seed = 1, .bytes = 10000 };
	struct synth_truth  t;
	struct ad_error     e = { 0 };
	char               *buf = NULL;
	size_t              len = 0;
	FILE               *f = open_memstream(&buf, &len);

	ck_assert_int_eq(synth_generate(&cfg, f, &t, NULL, &e), 0);
	fclose(f);
	ck_assert_uint_ge(len, 10000);
	ck_assert_uint_lt(len, 10000 + 1024);   /* stops after the line that crosses */
	ck_assert_int_eq(buf[len - 1], '\n');
	synth_truth_free(&t);
	free(buf);
	cfg.bias = 1.5;
	ck_assert_int_eq(synth_generate(&cfg, stdout, &t, NULL, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "bias"));
	cfg.bias = NAN;
	ck_assert_int_eq(synth_generate(&cfg, stdout, &t, NULL, &e), AD_EINVAL);
}
END_TEST

static Suite *
synth_suite(void)
{
	Suite *s = suite_create("synth");
	TCase *tc = tcase_create("synth");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_same_seed_same_bytes);
	tcase_add_test(tc, test_truth_equals_counts_from_text);
	tcase_add_test(tc, test_bias_knob_sets_the_share);
	tcase_add_test(tc, test_neutral_occupations_stay_neutral);
	tcase_add_test(tc, test_bytes_mode_and_bad_config);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(synth_suite());
}
