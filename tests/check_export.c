/*
 * check_export.c — the Hugging Face GPT-2 export (src/nn/export.c) below
 * the command line: GPT-2's byte spelling against values worked by hand
 * from its definition, the merges derived from GPT-2's own ranks against
 * the first lines of the merges.txt OpenAI published with GPT-2 (2019),
 * and the refusals. tests/export.sh checks the rest end to end in PyTorch.
 */
#include "config.h"

#include "bpe/bpe.h"
#include "nn/export.h"
#include "nn/nn.h"
#include "testutil.h"

/* GPT-2's spelling of a byte: printable bytes are themselves, the 68 others
 * U+0100 onwards in byte order (0x00-0x20: U+0100-U+0120, 0x7F: U+0121,
 * 0x80-0xA0: U+0122-U+0142, 0xAD: U+0143). */
START_TEST(test_byte_char)
{
	static const struct { uint8_t b; const char *s; } cases[] = {
		{ 'A', "A" }, { '!', "!" }, { '~', "~" },
		{ 0x00, "\xC4\x80" },    /* U+0100 */
		{ '\n', "\xC4\x8A" },    /* U+010A, GPT-2's "Ċ" */
		{ ' ', "\xC4\xA0" },     /* U+0120, GPT-2's "Ġ" */
		{ 0x7F, "\xC4\xA1" },    /* U+0121 */
		{ 0x80, "\xC4\xA2" },    /* U+0122 */
		{ 0xA0, "\xC5\x82" },    /* U+0142 */
		{ 0xA1, "\xC2\xA1" },    /* itself */
		{ 0xAD, "\xC5\x83" },    /* U+0143 */
		{ 0xAE, "\xC2\xAE" },
		{ 0xFF, "\xC3\xBF" },
	};
	char seen[256][4];

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[4];
		int  n = nn_export_byte_char(cases[i].b, out);
		ck_assert_int_eq(n, (int)strlen(cases[i].s));
		ck_assert_str_eq(out, cases[i].s);
	}
	/* A bijection: no two bytes share a spelling. */
	for (int b = 0; b < 256; b++) {
		nn_export_byte_char((uint8_t)b, seen[b]);
		for (int c = 0; c < b; c++)
			ck_assert_str_ne(seen[b], seen[c]);
	}
}
END_TEST

/* A model of the smallest shape over vocabulary b, exported to dir. */
static int
export_tiny(const struct bpe *b, uint32_t V, int masked, const char *dir, int force,
    struct nn_export_result *r, struct ad_error *e)
{
	struct gpt_config c = { 1, 1, 8, 8, V, V + (masked ? 2 : 1) };
	struct nn_file    f;
	struct gpt       *g;
	struct ad_rng     rng;
	int               rc;

	ck_assert_int_eq(gpt_new(&g, &c, e), 0);
	ad_rng_seed(&rng, 1, 1);
	gpt_init(g, &rng);
	memset(&f, 0, sizeof f);
	f.cfg = c;
	f.masked = masked;
	f.tok_kind = b != NULL ? NN_TOK_BPE : NN_TOK_BYTES;
	rc = nn_export_hf(dir, "tiny", &f, g, b, force, r, e);
	gpt_free(g);
	return rc;
}

/*
 * The ranks of GPT-2's tokens that tiktoken's r50k_base cases use (the
 * fixture, with holes elsewhere): the derived merges begin as GPT-2's
 * published merges.txt begins (up to its 15th line: "is", the 16th
 * token, is not in the fixture), every token of two or more bytes gets one,
 * and vocab.json spells " the" as GPT-2's does, at its id.
 */
START_TEST(test_r50k_merges)
{
	static const char *first =
	    "#version: 0.2\n"
	    "\xC4\xA0 t\n\xC4\xA0 a\nh e\ni n\nr e\no n\n\xC4\xA0t he\ne r\n\xC4\xA0 s\n"
	    "a t\n\xC4\xA0 w\n\xC4\xA0 o\ne n\n\xC4\xA0 c\ni t\n";
	struct ad_error          e = { 0 };
	struct nn_export_result  r;
	struct bpe              *b;
	char                    *fx = tu_fixture("tok/r50k_base.subset.tiktoken");
	char                    *dir = tu_tmpdir(), out[4096], path[4200], *text;
	uint32_t                 multi = 0;

	ck_assert_msg(bpe_load_tiktoken(&b, fx, "gpt2", NULL, 0, &e) == 0, "%s", e.msg);
	for (uint32_t id = 0; id < bpe_vocab_size(b); id++) {
		size_t len;
		bpe_token_bytes(b, id, &len);
		multi += len >= 2;
	}
	snprintf(out, sizeof out, "%s/hf", dir);
	ck_assert_msg(export_tiny(b, bpe_vocab_size(b), 0, out, 0, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.merges, multi);
	ck_assert_int_eq(r.gpt2_exact, 1);
	ck_assert_uint_eq(r.vocab_size, bpe_vocab_size(b) + 1);
	snprintf(path, sizeof path, "%s/merges.txt", out);
	ck_assert_ptr_nonnull(text = tu_slurp(path, NULL));
	ck_assert_int_eq(strncmp(text, first, strlen(first)), 0);
	free(text);
	snprintf(path, sizeof path, "%s/vocab.json", out);
	ck_assert_ptr_nonnull(text = tu_slurp(path, NULL));
	ck_assert_ptr_nonnull(strstr(text, "\"\xC4\xA0the\":262,"));
	snprintf(path, sizeof path, "\"<|endoftext|>\":%u}", bpe_vocab_size(b));
	ck_assert_ptr_nonnull(strstr(text, path));
	free(text);
	bpe_free(b);
	free(fx);
	free(dir);
}
END_TEST

/* Refused: a masked model, an existing directory without force (which is
 * left as it was); with force it is replaced. */
START_TEST(test_refusals)
{
	struct ad_error         e = { 0 };
	struct nn_export_result r;
	char                   *dir = tu_tmpdir(), path[4200];

	snprintf(path, sizeof path, "%s/m", dir);
	ck_assert_int_eq(export_tiny(NULL, 256, 1, path, 0, &r, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "masked objective"));
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(export_tiny(NULL, 256, 0, dir, 0, &r, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "exists"));
	ck_assert_int_eq(tu_count_entries(dir), 0);
	ck_assert_msg(export_tiny(NULL, 256, 0, dir, 1, &r, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(tu_count_entries(dir), 7);
	ck_assert_uint_eq(r.merges, 0);
	free(dir);
}
END_TEST

static Suite *
export_suite(void)
{
	Suite *s = suite_create("export");
	TCase *tc = tcase_create("export");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_byte_char);
	tcase_add_test(tc, test_r50k_merges);
	tcase_add_test(tc, test_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(export_suite());
}
