/*
 * check_data.c — the train/held-out split and byte tokenization, against
 * splits worked out by hand.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "data/data.h"
#include "testutil.h"

static void
expect(const struct data_split *s, const char *train, const char *val)
{
	ck_assert_uint_eq(s->train_len, strlen(train));
	ck_assert_int_eq(memcmp(s->train, train, s->train_len), 0);
	ck_assert_uint_eq(s->val_len, strlen(val));
	if (s->val_len)
		ck_assert_int_eq(memcmp(s->val, val, s->val_len), 0);
}

START_TEST(test_split_fraction)
{
	struct data_split s;
	struct ad_error   e = { 0 };
	const char       *t = "aa\nbb\ncc\ndd\n";   /* 12 bytes */
	static char       big[10000];

	/* Half: 6 bytes held out, from byte 6, a line start. */
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)t, 12, 0.5, &e), 0);
	expect(&s, "aa\nbb\n", "cc\ndd\n");
	ck_assert_uint_eq(s.train_lines, 2);
	ck_assert_uint_eq(s.val_lines, 2);
	data_split_free(&s);
	/* 0.3: 4 bytes held out from byte 8, inside "cc\n": back to its start. */
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)t, 12, 0.3, &e), 0);
	expect(&s, "aa\nbb\n", "cc\ndd\n");
	data_split_free(&s);
	/* 0.1: 1 byte from byte 11, the newline of "dd\n": the last line. */
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)t, 12, 0.1, &e), 0);
	expect(&s, "aa\nbb\ncc\n", "dd\n");
	data_split_free(&s);
	/* Long lines. Back to a line start here would hold out all of a
	 * 10,000-byte line for 1 byte asked: the cut stays at byte 9,999, inside
	 * the two bytes of an e-acute, and moves back to its start. */
	memset(big, 'x', 9998);
	memcpy(big + 9998, "\xc3\xa9", 2);
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)big, 10000, 0.0001, &e), 0);
	ck_assert_uint_eq(s.train_len, 9999);
	ck_assert_int_eq(memcmp(s.val, "\xc3\xa9\n", 3), 0);
	ck_assert_uint_eq(s.val_len, 3);
	ck_assert_uint_eq(s.train_lines + s.val_lines, 2);
	data_split_free(&s);
	/* A last line of 9,997 bytes for 3 asked: cut at byte 9,997. */
	memcpy(big, "ab\n", 3);
	memset(big + 3, 'y', 9997);
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)big, 10000, 0.0003, &e), 0);
	ck_assert_uint_eq(s.train_len, 9998);
	ck_assert_uint_eq(s.val_len, 4);
	data_split_free(&s);
	/* A last line of 1,000 bytes for 1 asked (at most 4 KB more): the
	 * line's start, as for short lines. */
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)big, 1003, 0.001, &e), 0);
	ck_assert_uint_eq(s.train_len, 3);
	ck_assert_uint_eq(s.val_len, 1001);
	data_split_free(&s);
	/* None held out; a missing final newline is added. */
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)"x\ny", 3, 0, &e), 0);
	expect(&s, "x\ny\n", "");
	data_split_free(&s);
}
END_TEST

START_TEST(test_split_errors)
{
	struct data_split s;
	struct ad_error   e = { 0 };

	/* One line cannot be split: everything would be held out. */
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)"one line\n", 9, 0.5, &e), AD_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "--val-fraction"));
	ck_assert_int_eq(data_split_text(&s, (const uint8_t *)"a\n", 2, 1.0, &e), AD_EINVAL);
}
END_TEST

START_TEST(test_split_files)
{
	struct data_split s;
	struct ad_error   e = { 0 };
	char             *dir = tu_tmpdir(), a[4200], b[4200], v[4200];
	const char       *paths[2] = { a, b };

	snprintf(a, sizeof a, "%s/a", dir);
	snprintf(b, sizeof b, "%s/b", dir);
	snprintf(v, sizeof v, "%s/v", dir);
	tu_spit(a, "1\n2\n3\n4", 7);
	tu_spit(b, "5\n6\n", 4);
	tu_spit(v, "held\n", 5);
	/* Each file keeps its head and gives its tail: a holds out 4 of its 7
	 * bytes, from byte 3, inside "2\n", so from byte 2; b holds out "6\n". */
	ck_assert_int_eq(data_split_files(&s, paths, 2, 0.5, NULL, &e), 0);
	expect(&s, "1\n5\n", "2\n3\n4\n6\n");
	data_split_free(&s);
	/* A held-out file: everything else trains. */
	ck_assert_int_eq(data_split_files(&s, paths, 2, 0, v, &e), 0);
	expect(&s, "1\n2\n3\n4\n5\n6\n", "held\n");
	data_split_free(&s);
	ck_assert_int_ne(data_split_files(&s, paths, 2, 0, "/nonexistent/v", &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "/nonexistent/v"));
	unlink(a); unlink(b); unlink(v);
	rmdir(dir);
	free(dir);
}
END_TEST

START_TEST(test_tokenize_bytes)
{
	uint32_t       *ids = NULL;
	size_t          n = 0, cap = 0;
	struct ad_error e = { 0 };

	ck_assert_int_eq(data_tokenize(NULL, 1, (const uint8_t *)"A\xff\n", 3, &ids, &n, &cap, &e), 0);
	ck_assert_int_eq(data_tokenize(NULL, 1, (const uint8_t *)"b", 1, &ids, &n, &cap, &e), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(ids[0], 65);
	ck_assert_uint_eq(ids[1], 255);
	ck_assert_uint_eq(ids[2], 10);
	ck_assert_uint_eq(ids[3], 98);
	ad_free(ids);
}
END_TEST

/*
 * Label noise. P = 0: the targets are the stream. P = 1: every target is
 * the generator's (replayed here from its documented draws: a uniform, then
 * a token, per position), and the clean stream (what the held-out text and
 * the inputs come from) is untouched. P = 0.3: the count of changed
 * positions is binomial(n, P (1 - 1/V)), checked within 5 standard
 * deviations, and the replacement tokens are uniform over V (a chi-square
 * with V - 1 = 15 degrees of freedom below 40, p < 0.001).
 */
START_TEST(test_label_noise)
{
	enum { N = 100000, V = 16 };
	uint32_t     *ids = malloc(N * sizeof *ids), *copy = malloc(N * sizeof *copy);
	uint32_t     *tg = malloc(N * sizeof *tg);
	struct ad_rng r;
	size_t        changed = 0, hist[V] = { 0 }, nrep = 0;
	double        mean, sd, chi = 0;

	ck_assert_ptr_nonnull(ids);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_nonnull(tg);
	for (size_t i = 0; i < N; i++)
		ids[i] = copy[i] = (uint32_t)(i * 7 % V);
	data_label_noise(tg, ids, N, 0, V, 5);
	ck_assert_int_eq(memcmp(tg, ids, N * sizeof *tg), 0);

	data_label_noise(tg, ids, N, 1, V, 5);
	ck_assert_int_eq(memcmp(ids, copy, N * sizeof *ids), 0);
	ad_rng_seed(&r, 5, 0x6c6e6f697365);
	for (size_t i = 0; i < N; i++) {
		(void)ad_rng_uniform(&r);
		ck_assert_uint_eq(tg[i], ad_rng_below(&r, V));
		changed += tg[i] != ids[i];
	}
	/* Every target drawn: about 1/V of them equal the original by chance. */
	ck_assert_uint_gt(changed, N * 0.9);

	/* A different seed, a different corruption. */
	memcpy(copy, tg, N * sizeof *tg);
	data_label_noise(tg, ids, N, 1, V, 6);
	ck_assert_int_ne(memcmp(tg, copy, N * sizeof *tg), 0);

	data_label_noise(tg, ids, N, 0.3, V, 7);
	changed = 0;
	for (size_t i = 0; i < N; i++)
		changed += tg[i] != ids[i];
	mean = N * 0.3 * (1 - 1.0 / V);
	sd = sqrt(N * 0.3 * (1 - 1.0 / V) * (1 - 0.3 * (1 - 1.0 / V)));
	ck_assert_double_lt(fabs((double)changed - mean), 5 * sd);
	/* Where the stream holds one token, any other target is a replacement. */
	for (size_t i = 0; i < N; i++)
		ids[i] = 3;
	data_label_noise(tg, ids, N, 0.5, V, 8);
	for (size_t i = 0; i < N; i++)
		if (tg[i] != 3) {
			hist[tg[i]]++;
			nrep++;
		}
	for (int v = 0; v < V; v++) {
		double want = v == 3 ? 0 : (double)nrep / (V - 1);
		if (want > 0)
			chi += ((double)hist[v] - want) * ((double)hist[v] - want) / want;
	}
	ck_assert_double_lt(chi, 40);
	free(ids);
	free(copy);
	free(tg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("data");
	TCase *t = tcase_create("split");

	tcase_add_test(t, test_split_fraction);
	tcase_add_test(t, test_split_errors);
	tcase_add_test(t, test_split_files);
	tcase_add_test(t, test_tokenize_bytes);
	tcase_add_test(t, test_label_noise);
	suite_add_tcase(s, t);
	return tu_run(s);
}
