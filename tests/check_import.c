/*
 * check_import.c — the readers behind GPT-2 import: the JSON tree reader
 * (base/jtree.h), the safetensors header (nn/import.h) and the 16-bit
 * float conversions. The whole import against PyTorch is tests/gpt2.sh.
 */
#include "config.h"

#include <math.h>
#include <stdint.h>

#include "base/err.h"
#include "base/jtree.h"
#include "nn/import.h"
#include "testutil.h"

/* ---- JSON ------------------------------------------------------------------ */

static struct ad_jt *
parse_ok(const char *s)
{
	struct ad_jt *t = NULL;
	size_t        bad = 0;

	ck_assert_msg(ad_jt_parse(s, strlen(s), &t, &bad) == 0, "%s: fails at %zu", s, bad);
	return t;
}

static size_t
parse_bad(const char *s)
{
	struct ad_jt *t = NULL;
	size_t        bad = SIZE_MAX;

	ck_assert_int_eq(ad_jt_parse(s, strlen(s), &t, &bad), AD_EFORMAT);
	return bad;
}

START_TEST(test_jtree_values)
{
	struct ad_jt       *t = parse_ok(" {\"a\": [1, -2.5e1, true, false, null, \"x\"],"
	                                 " \"b\": {\"c\": {}}, \"a\": 7 } ");
	const struct ad_jt *a = ad_jt_get(t, "a"), *c;

	ck_assert_int_eq(t->type, AD_JT_OBJECT);
	ck_assert_uint_eq(t->n, 3);
	/* Duplicate keys are kept; ad_jt_get finds the first. */
	ck_assert_int_eq(a->type, AD_JT_ARRAY);
	ck_assert_uint_eq(a->n, 6);
	ck_assert(a->items[1].number == -25.0);
	ck_assert_int_eq(a->items[2].type, AD_JT_TRUE);
	ck_assert_int_eq(a->items[3].type, AD_JT_FALSE);
	ck_assert_int_eq(a->items[4].type, AD_JT_NULL);
	ck_assert_str_eq(a->items[5].str, "x");
	c = ad_jt_get(ad_jt_get(t, "b"), "c");
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->type, AD_JT_OBJECT);
	ck_assert_uint_eq(c->n, 0);
	ck_assert_ptr_null(ad_jt_get(t, "z"));
	ck_assert_ptr_null(ad_jt_get(a, "a"));
	ad_jt_free(t);
}
END_TEST

START_TEST(test_jtree_strings)
{
	/* é is U+00E9 (C3 A9); U+1F600 is the pair D83D DE00 (F0 9F 98 80). */
	struct ad_jt *t = parse_ok("[\"\\u00e9\\n\\\"\\\\\\/\", \"\\ud83d\\ude00\", \"\\u0120t\"]");

	ck_assert_str_eq(t->items[0].str, "\xc3\xa9\n\"\\/");
	ck_assert_uint_eq(t->items[0].len, 6);
	ck_assert_str_eq(t->items[1].str, "\xf0\x9f\x98\x80");
	ck_assert_str_eq(t->items[2].str, "\xc4\xa0t");
	ad_jt_free(t);
	parse_bad("[\"\\ude00\"]");          /* a low surrogate alone */
	parse_bad("[\"\\ud83d\"]");          /* a high one without its pair */
	parse_bad("[\"\\x\"]");              /* no such escape */
	parse_bad("[\"a\nb\"]");             /* a raw control character */
	parse_bad("[\"abc");                 /* unterminated */
}
END_TEST

START_TEST(test_jtree_numbers_and_limits)
{
	struct ad_jt *t = parse_ok("[18446744073709551615, 18446744073709551616, 1.0, 1e3, -1, 0]");
	uint64_t      v = 0;
	char          deep[2 * AD_JT_DEPTH + 8];

	ck_assert_int_eq(ad_jt_u64(&t->items[0], &v), 0);
	ck_assert(v == UINT64_MAX);
	ck_assert_int_eq(ad_jt_u64(&t->items[1], &v), -1);   /* 2^64 */
	ck_assert_int_eq(ad_jt_u64(&t->items[2], &v), -1);   /* a fraction */
	ck_assert_int_eq(ad_jt_u64(&t->items[3], &v), -1);   /* an exponent */
	ck_assert_int_eq(ad_jt_u64(&t->items[4], &v), -1);   /* negative */
	ck_assert_int_eq(ad_jt_u64(&t->items[5], &v), 0);
	ck_assert(v == 0);
	ad_jt_free(t);
	parse_bad("[01]");
	parse_bad("[1.]");
	parse_bad("[-]");
	ck_assert_uint_eq(parse_bad("{\"a\": 1} x"), 9);
	ck_assert_uint_eq(parse_bad("{\"a\" 1}"), 5);
	parse_bad("");
	parse_bad("[1,]");
	/* Nesting: AD_JT_DEPTH levels inside the outer one are read, one more
	 * is refused (a hostile file cannot exhaust the stack). */
	for (int n = AD_JT_DEPTH + 1; n <= AD_JT_DEPTH + 2; n++) {
		struct ad_jt *d = NULL;
		memset(deep, '[', (size_t)n);
		memset(deep + n, ']', (size_t)n);
		ck_assert_int_eq(ad_jt_parse(deep, 2 * (size_t)n, &d, NULL),
		    n == AD_JT_DEPTH + 1 ? 0 : AD_EFORMAT);
		ad_jt_free(d);
	}
}
END_TEST

/* ---- 16-bit floats ----------------------------------------------------------- */

/* IEEE 754 binary16 by its definition, in double. */
static double
f16_ref(unsigned h)
{
	int    s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
	double v;

	if (e == 31)
		v = f == 0 ? INFINITY : NAN;
	else if (e == 0)
		v = ldexp(f, -24);
	else
		v = ldexp(1024 + f, e - 25);
	return s ? -v : v;
}

START_TEST(test_f16_every_value)
{
	for (unsigned h = 0; h < 65536; h++) {
		double want = f16_ref(h);
		float  got = nn_f16_to_f32((uint16_t)h);
		if (isnan(want)) {
			ck_assert_msg(isnan(got), "%#x", h);
			continue;
		}
		ck_assert_msg((double)got == want && !signbit(got) == !signbit(want), "%#x: %g, not %g",
		    h, (double)got, want);
	}
	ck_assert(nn_f16_to_f32(0x3c00) == 1.0f);
	ck_assert(nn_f16_to_f32(0x7bff) == 65504.0f);
}
END_TEST

START_TEST(test_bf16_values)
{
	ck_assert(nn_bf16_to_f32(0x3f80) == 1.0f);
	ck_assert(nn_bf16_to_f32(0xc040) == -3.0f);
	ck_assert(nn_bf16_to_f32(0x0001) == ldexpf(1, -133));   /* smallest subnormal */
	ck_assert(isinf(nn_bf16_to_f32(0x7f80)));
	ck_assert(isnan(nn_bf16_to_f32(0x7fc0)));
}
END_TEST

/* ---- safetensors --------------------------------------------------------------- */

/* A file of two tensors, written here byte by byte: a (2) F32 = 1, 2 and
 * b () BF16 = 1, its header padded with spaces to a multiple of 8. */
static size_t
st_build(uint8_t *buf, const char *json)
{
	size_t n = strlen(json), pad = (8 - n % 8) % 8, at;
	float  a[2] = { 1, 2 };

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)((n + pad) >> (8 * i));
	memcpy(buf + 8, json, n);
	memset(buf + 8 + n, ' ', pad);
	at = 8 + n + pad;
	memcpy(buf + at, a, 8);
	buf[at + 8] = 0x80;
	buf[at + 9] = 0x3f;
	return at + 10;
}

static const char st_json[] =
    "{\"__metadata__\":{\"format\":\"pt\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[],\"data_offsets\":[8,10]}}";

START_TEST(test_safetensors_reads)
{
	uint8_t                    buf[512];
	size_t                     n = st_build(buf, st_json);
	struct nn_st              *st = NULL;
	struct ad_error            e = { 0 };
	const struct nn_st_tensor *a, *b;
	float                      f;

	ck_assert(nn_st_probe(buf, n));
	ck_assert_msg(nn_st_parse(buf, n, "t", &st, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(st->n, 2);
	a = nn_st_find(st, "a");
	b = nn_st_find(st, "b");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(a->dtype, NN_ST_F32);
	ck_assert_uint_eq(a->ndim, 1);
	ck_assert(a->shape[0] == 2);
	ck_assert_uint_eq(a->nbytes, 8);
	memcpy(&f, a->data + 4, 4);
	ck_assert(f == 2.0f);
	ck_assert_int_eq(b->dtype, NN_ST_BF16);
	ck_assert_uint_eq(b->ndim, 0);
	ck_assert_uint_eq(b->nbytes, 2);
	ck_assert(nn_bf16_to_f32((uint16_t)(b->data[0] | b->data[1] << 8)) == 1.0f);
	ck_assert_ptr_null(nn_st_find(st, "__metadata__"));
	nn_st_free(st);
	nn_st_free(NULL);
}
END_TEST

START_TEST(test_safetensors_every_truncation_fails)
{
	uint8_t         buf[512];
	size_t          n = st_build(buf, st_json);
	struct ad_error e = { 0 };

	/* Every proper prefix of the file: the header or a tensor is cut. */
	for (size_t k = 0; k < n; k++) {
		struct nn_st *st = NULL;
		uint8_t      *copy = malloc(k + 1);
		memcpy(copy, buf, k);
		ck_assert_msg(nn_st_parse(copy, k, "t", &st, &e) == AD_EFORMAT, "prefix %zu", k);
		ck_assert_ptr_null(st);
		free(copy);
	}
}
END_TEST

START_TEST(test_safetensors_refuses)
{
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
		  "tensor a: its shape of F32 needs 12 bytes, its offsets span 8" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}",
		  "tensor a: its data ends at byte 16 of the data, past the end" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
		  "tensor a: its data at byte 2 of the data is not aligned" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
		  "tensors a and b overlap" },
		{ "{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}",
		  "tensor a: unknown dtype \"Q4\"" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
		  "tensor a: data_offsets is not a pair" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}",
		  "tensor a: its header entry lacks" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
		  "\"data_offsets\":[0,8]}}", "tensor a: its shape overflows 64 bits" },
		{ "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
		  "\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,8]}}",
		  "tensor a is named twice" },
		{ "[1]", "the header is not a JSON object" },
	};
	uint8_t         buf[512];
	struct ad_error e = { 0 };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t        n = st_build(buf, bad[i].json);
		struct nn_st *st = NULL;
		ck_assert_int_eq(nn_st_parse(buf, n, "t", &st, &e), AD_EFORMAT);
		ck_assert_msg(strstr(e.msg, bad[i].msg) != NULL, "%zu: %s", i, e.msg);
		ck_assert_ptr_null(st);
	}
	/* A header length beyond 100 MB, or beyond the file. */
	st_build(buf, st_json);
	buf[5] = 1;
	ck_assert_int_eq(nn_st_parse(buf, 512, "t", &(struct nn_st *){ NULL }, &e), AD_EFORMAT);
	ck_assert_msg(strstr(e.msg, "is absurd") != NULL, "%s", e.msg);
	st_build(buf, st_json);
	buf[2] = 1;
	ck_assert_int_eq(nn_st_parse(buf, 512, "t", &(struct nn_st *){ NULL }, &e), AD_EFORMAT);
	ck_assert_msg(strstr(e.msg, "the file is truncated") != NULL, "%s", e.msg);
}
END_TEST

static Suite *
import_suite(void)
{
	Suite *s = suite_create("import");
	TCase *tc = tcase_create("readers");

	tcase_add_test(tc, test_jtree_values);
	tcase_add_test(tc, test_jtree_strings);
	tcase_add_test(tc, test_jtree_numbers_and_limits);
	tcase_add_test(tc, test_f16_every_value);
	tcase_add_test(tc, test_bf16_values);
	tcase_add_test(tc, test_safetensors_reads);
	tcase_add_test(tc, test_safetensors_every_truncation_fails);
	tcase_add_test(tc, test_safetensors_refuses);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(import_suite());
}
