/*
 * check_bpe.c — the tokenizer: normalization, pre-tokenization, BPE
 * training, encoding, decoding and the vocabulary file.
 *
 * Oracles: merges worked by hand (Wikipedia's "aaabdaaabac"); a brute-force
 * trainer in this file that recounts every pair after every merge; the
 * reference encoder (bpe_encode_ref) against the fast one; ids produced by
 * the real tiktoken (npm package, tests/data/tok/, see tok-fixtures.sh);
 * round trips; hand-written pieces and normal forms.
 */
#include "config.h"

#include <ctype.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/rng.h"
#include "bpe/bpe.h"
#include "bpe/norm.h"
#include "bpe/pretok.h"
#include "bpe/pretok_uni.h"
#include "testutil.h"

#include <utf8proc.h>

/* ---- helpers ------------------------------------------------------------ */

static struct bpe *
train_text(const char *text, size_t len, uint32_t vocab, const char *pattern,
    enum norm_mode norm, int casefold, const char *const *specials, size_t nspecials,
    int threads, struct bpe_train_stats *st)
{
	char                   *dir = tu_tmpdir(), path[4200];
	const char             *paths[1] = { path };
	struct bpe_train_config cfg = { .vocab_size = vocab, .pattern = pattern, .norm = norm,
	    .casefold = casefold, .specials = specials, .nspecials = nspecials,
	    .min_frequency = 2, .threads = threads };
	struct ad_error         e = { 0 };
	struct bpe             *b = NULL;

	snprintf(path, sizeof path, "%s/corpus.txt", dir);
	tu_spit(path, text, len);
	ck_assert_msg(bpe_train(&b, &cfg, paths, 1, NULL, NULL, st, &e) == 0, "%s", e.msg);
	unlink(path);
	rmdir(dir);
	free(dir);
	return b;
}

static size_t
encode_all(const struct bpe *b, const void *text, size_t len, uint32_t **ids, int ref)
{
	struct bpe_encoder *enc;
	struct ad_error     e = { 0 };
	size_t              n = 0, cap = 0;

	*ids = NULL;
	ck_assert_int_eq(bpe_encoder_new(b, &enc, &e), 0);
	if (ref)
		ck_assert_msg(bpe_encode_ref(enc, text, len, ids, &n, &cap, &e) == 0, "%s", e.msg);
	else
		ck_assert_msg(bpe_encode(enc, text, len, ids, &n, &cap, &e) == 0, "%s", e.msg);
	bpe_encoder_free(enc);
	return n;
}

static void
assert_roundtrip(const struct bpe *b, const uint8_t *text, size_t len, int with_ref)
{
	uint32_t       *ids, *rids;
	uint8_t        *back = NULL;
	size_t          n = encode_all(b, text, len, &ids, 0), blen = 0, bcap = 0;
	struct ad_error e = { 0 };

	ck_assert_int_eq(bpe_decode(b, ids, n, &back, &blen, &bcap, &e), 0);
	ck_assert_uint_eq(blen, len);
	ck_assert(len == 0 || memcmp(back, text, len) == 0);
	if (with_ref) {
		size_t rn = encode_all(b, text, len, &rids, 1);
		ck_assert_uint_eq(rn, n);
		ck_assert(n == 0 || memcmp(ids, rids, n * sizeof *ids) == 0);
		ad_free(rids);
	}
	ad_free(ids);
	ad_free(back);
}

static char *
token_str(const struct bpe *b, uint32_t id)
{
	size_t         n;
	const uint8_t *s = bpe_token_bytes(b, id, &n);
	char          *r = malloc(n + 1);

	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

/* ---- hand-worked merges ------------------------------------------------- */

/*
 * Wikipedia's example: "aaabdaaabac". Pair counts (overlapping): aa 4, ab 2,
 * bd, da, ba, ac 1. Merge aa -> 256: "ZabdZabac"; now Za and ab both 2, and
 * the tie goes to the smaller left id, a (97) < 256: ab -> 257:
 * "ZYdZYac"; then ZY 2 -> 258 "aaab": "XdXac". Every other pair occurs once,
 * below the minimum frequency 2, so training stops there.
 */
START_TEST(test_wikipedia_merges)
{
	static const char       text[] = "aaabdaaabac\n";
	struct bpe_train_stats st;
	struct bpe            *b = train_text(text, sizeof text - 1, 300, "gpt2", NORM_NONE, 0, NULL,
	    0, 1, &st);
	uint32_t              *ids;
	size_t                 n;
	char                  *t;

	ck_assert_uint_eq(bpe_vocab_size(b), 259);
	ck_assert_uint_eq(st.merges, 3);
	ck_assert_uint_eq(st.wanted, 300 - 256);
	ck_assert_str_eq((t = token_str(b, 256)), "aa"); free(t);
	ck_assert_str_eq((t = token_str(b, 257)), "ab"); free(t);
	ck_assert_str_eq((t = token_str(b, 258)), "aaab"); free(t);
	n = encode_all(b, "aaabdaaabac", 11, &ids, 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(ids[0], 258);
	ck_assert_uint_eq(ids[1], 'd');
	ck_assert_uint_eq(ids[2], 258);
	ck_assert_uint_eq(ids[3], 'a');
	ck_assert_uint_eq(ids[4], 'c');
	ad_free(ids);
	/* "aaa": the leftmost aa merges first (ranks tie at the same token). */
	n = encode_all(b, "aaa", 3, &ids, 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ids[0], 256);
	ck_assert_uint_eq(ids[1], 'a');
	ad_free(ids);
	bpe_free(b);
}
END_TEST

/* ---- brute-force trainer ------------------------------------------------ */

/*
 * The textbook algorithm on words (here: whole lines, by the pattern
 * "[^\n]+"): recount every adjacent pair of every word after every merge,
 * take the most frequent (ties: smaller left id, then right id), rewrite
 * left to right. A merge whose bytes are already a token reuses its id.
 */
struct bword { uint32_t sym[64]; int len; uint64_t count; };

static int
brute_train(const char *text, uint32_t vocab, uint64_t minf, uint8_t tok[][64], int *toklen)
{
	struct bword w[256];
	int          nw = 0, ntok = 256;
	const char  *p = text;

	for (int c = 0; c < 256; c++) {
		tok[c][0] = (uint8_t)c;
		toklen[c] = 1;
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		int         len = (int)(nl - p), found = 0;
		for (int i = 0; i < nw && !found; i++)
			if (w[i].len == len) {
				int same = 1;
				for (int k = 0; k < len; k++)
					same &= w[i].sym[k] == (uint8_t)p[k];
				if (same) {
					w[i].count++;
					found = 1;
				}
			}
		if (!found && len > 0) {
			w[nw].len = len;
			w[nw].count = 1;
			for (int k = 0; k < len; k++)
				w[nw].sym[k] = (uint8_t)p[k];
			nw++;
		}
		p = nl + 1;
	}
	while (ntok < (int)vocab) {
		static uint64_t cnt[512][512];
		uint64_t        best = 0;
		int             bl = -1, br = -1, id = -1;

		memset(cnt, 0, sizeof cnt);
		for (int i = 0; i < nw; i++)
			for (int k = 0; k + 1 < w[i].len; k++)
				cnt[w[i].sym[k]][w[i].sym[k + 1]] += w[i].count;
		for (int l = 0; l < ntok; l++)
			for (int r = 0; r < ntok; r++)
				if (cnt[l][r] > best) {
					best = cnt[l][r];
					bl = l;
					br = r;
				}
		if (best < minf)
			break;
		/* the merged bytes */
		{
			uint8_t m[64];
			int     ml = toklen[bl] + toklen[br];
			memcpy(m, tok[bl], (size_t)toklen[bl]);
			memcpy(m + toklen[bl], tok[br], (size_t)toklen[br]);
			for (int t = 0; t < ntok; t++)
				if (toklen[t] == ml && memcmp(tok[t], m, (size_t)ml) == 0)
					id = t;
			if (id < 0) {
				id = ntok++;
				memcpy(tok[id], m, (size_t)ml);
				toklen[id] = ml;
			}
		}
		for (int i = 0; i < nw; i++) {
			int o = 0;
			for (int k = 0; k < w[i].len; k++) {
				if (k + 1 < w[i].len && (int)w[i].sym[k] == bl && (int)w[i].sym[k + 1] == br) {
					w[i].sym[o++] = (uint32_t)id;
					k++;
				} else {
					w[i].sym[o++] = w[i].sym[k];
				}
			}
			w[i].len = o;
		}
	}
	return ntok;
}

START_TEST(test_train_vs_brute_force)
{
	struct ad_rng r;
	static uint8_t tok[512][64];
	static int     toklen[512];

	ad_rng_seed(&r, 7, 1);
	for (int trial = 0; trial < 40; trial++) {
		char   text[4096];
		size_t len = 0;
		int    lines = 5 + (int)ad_rng_below(&r, 60), alpha = 2 + (int)ad_rng_below(&r, 4);
		struct bpe *b;
		int         nt;

		/* words over a tiny alphabet make many ties and overlapping pairs */
		for (int l = 0; l < lines; l++) {
			int wl = 1 + (int)ad_rng_below(&r, 12);
			for (int k = 0; k < wl; k++)
				text[len++] = (char)('a' + ad_rng_below(&r, (uint32_t)alpha));
			text[len++] = '\n';
		}
		text[len] = '\0';
		nt = brute_train(text, 256 + 40, 2, tok, toklen);
		b = train_text(text, len, 256 + 40, "[^\\n]+", NORM_NONE, 0, NULL, 0,
		    1 + trial % 2, NULL);
		ck_assert_uint_eq(bpe_vocab_size(b), (uint32_t)nt);
		for (int t = 256; t < nt; t++) {
			size_t         n;
			const uint8_t *s = bpe_token_bytes(b, (uint32_t)t, &n);
			ck_assert_msg(n == (size_t)toklen[t] && memcmp(s, tok[t], n) == 0,
			    "trial %d: token %d differs from the brute-force trainer", trial, t);
		}
		bpe_free(b);
	}
}
END_TEST

/* ---- tiktoken ----------------------------------------------------------- */

static uint8_t *
unhex(const char *s, size_t *n)
{
	size_t   l = strlen(s), k = 0;
	uint8_t *d = malloc(l / 2 + 1);

	for (size_t i = 0; i + 1 < l; i += 2) {
		unsigned v;
		ck_assert_int_eq(sscanf(s + i, "%2x", &v), 1);
		d[k++] = (uint8_t)v;
	}
	*n = k;
	return d;
}

/* Each case of hex_name, encoded with the vocabulary, equals expected_name (>= 20 cases). */
static void
check_expected_set(const struct bpe *b, const char *hex_name, const char *expected_name)
{
	char   *hp = tu_fixture(hex_name), *ep = tu_fixture(expected_name);
	char   *hex = tu_slurp(hp, NULL), *exp = tu_slurp(ep, NULL);
	char   *hl, *el;
	int     cases = 0;

	ck_assert_ptr_nonnull(hex);
	ck_assert_ptr_nonnull(exp);
	hl = hex;
	el = exp;
	while (*hl != '\0') {
		size_t    len, n, rn, want = 0;
		uint8_t  *text;
		uint32_t *ids, *rids, wid[4096];
		char     *nl = strchr(el, '\n'), *hnl = strchr(hl, '\n'), *q;

		ck_assert_ptr_nonnull(nl);
		ck_assert_ptr_nonnull(hnl);
		*nl = '\0';
		*hnl = '\0';
		text = unhex(hl, &len);
		for (q = el; *q;) {
			wid[want++] = (uint32_t)strtoul(q, &q, 10);
			while (*q == ' ')
				q++;
		}
		n = encode_all(b, text, len, &ids, 0);
		rn = encode_all(b, text, len, &rids, 1);
		ck_assert_msg(n == want, "%s case %d: %zu ids, tiktoken gives %zu", expected_name,
		    cases + 1, n, want);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(ids[i] == wid[i], "%s case %d id %zu: %u, tiktoken gives %u",
			    expected_name, cases + 1, i, ids[i], wid[i]);
		ck_assert_uint_eq(rn, n);
		ck_assert(n == 0 || memcmp(rids, ids, n * sizeof *ids) == 0);
		ad_free(ids);
		ad_free(rids);
		free(text);
		el = nl + 1;
		hl = hnl + 1;
		cases++;
	}
	ck_assert_int_ge(cases, 20);
	free(hex);
	free(exp);
	free(hp);
	free(ep);
}

/* Each case of cases.hex, encoded with the vocabulary, equals ENC.expected. */
static void
check_expected(const struct bpe *b, const char *expected_name)
{
	check_expected_set(b, "tok/cases.hex", expected_name);
}

START_TEST(test_tiktoken_subset)
{
	static const struct { const char *enc, *pattern; } v[] = {
		{ "r50k_base", "gpt2" }, { "cl100k_base", "gpt4" },
	};
	for (size_t i = 0; i < 2; i++) {
		char            name[128], *path;
		struct bpe     *b;
		struct ad_error e = { 0 };

		snprintf(name, sizeof name, "tok/%s.subset.tiktoken", v[i].enc);
		path = tu_fixture(name);
		ck_assert_msg(bpe_load_tiktoken(&b, path, v[i].pattern, NULL, 0, &e) == 0, "%s", e.msg);
		snprintf(name, sizeof name, "tok/%s.expected", v[i].enc);
		check_expected(b, name);
		bpe_free(b);
		free(path);
	}
}
END_TEST

/*
 * Characters of every Unicode version since 6.0, in the contexts where the
 * patterns cut (tests/data/tok/unicode.jsonl, from DerivedAge.txt): the ids
 * are tiktoken's, for all three patterns. PCRE2's Unicode 14 tables split
 * newer letters, marks and digits from their neighbours where tiktoken
 * does not (x, U+11F04 KAWI LETTER A, 's: tiktoken keeps 's whole).
 */
START_TEST(test_tiktoken_unicode)
{
	static const struct { const char *enc, *pattern; } v[] = {
		{ "r50k_base", "gpt2" }, { "cl100k_base", "gpt4" }, { "o200k_base", "o200k" },
	};
	for (size_t i = 0; i < 3; i++) {
		char            name[128], *path;
		struct bpe     *b;
		struct ad_error e = { 0 };

		snprintf(name, sizeof name, "tok/unicode.%s.subset.tiktoken", v[i].enc);
		path = tu_fixture(name);
		ck_assert_msg(bpe_load_tiktoken(&b, path, v[i].pattern, NULL, 0, &e) == 0, "%s", e.msg);
		snprintf(name, sizeof name, "tok/unicode.%s.expected", v[i].enc);
		check_expected_set(b, "tok/unicode.hex", name);
		bpe_free(b);
		free(path);
	}
}
END_TEST

/*
 * Special tokens at the ids tiktoken gives them, set explicitly (TOKEN=ID),
 * against tiktoken's encode(s, allowed_special="all") on
 * tests/data/tok/special.jsonl; the ids between them are holes; the
 * vocabulary survives a round trip through its own file format; ids that
 * collide or fall among the ranks are refused.
 */
START_TEST(test_tiktoken_specials)
{
	static const char *r50k[] = { "<|endoftext|>=50256" };
	static const char *cl100k[] = { "<|endoftext|>=100257", "<|fim_prefix|>=100258",
	    "<|fim_middle|>=100259", "<|fim_suffix|>=100260", "<|endofprompt|>=100276" };
	static const char *o200k[] = { "<|endofprompt|>=200018", "<|endoftext|>=199999" };
	static const struct { const char *enc, *pattern; const char **sp; size_t n; uint32_t V; } v[] = {
		{ "r50k_base", "gpt2", r50k, 1, 50257 },
		{ "cl100k_base", "gpt4", cl100k, 5, 100277 },
		{ "o200k_base", "o200k", o200k, 2, 200019 },
	};
	struct ad_error e = { 0 };
	struct bpe     *b, *b2;
	char            name[128], *path, *ser;
	size_t          serlen, len;
	uint32_t        id;

	for (size_t i = 0; i < 3; i++) {
		snprintf(name, sizeof name, "tok/special.%s.subset.tiktoken", v[i].enc);
		path = tu_fixture(name);
		ck_assert_msg(bpe_load_tiktoken(&b, path, v[i].pattern, v[i].sp, v[i].n, &e) == 0, "%s",
		    e.msg);
		ck_assert_uint_eq(bpe_vocab_size(b), v[i].V);
		ck_assert_uint_eq(bpe_num_specials(b), v[i].n);
		ck_assert_ptr_null(bpe_tiktoken_name(b));   /* a subset is not the published file */
		snprintf(name, sizeof name, "tok/special.%s.expected", v[i].enc);
		check_expected_set(b, "tok/special.hex", name);
		/* Round trip through the vocabulary file: the same identity and ids. */
		ck_assert_int_eq(bpe_serialize(b, &ser, &serlen, &e), 0);
		ck_assert_msg(bpe_parse(&b2, ser, serlen, "special.bpe", &e) == 0, "%s", e.msg);
		ck_assert_uint_eq(bpe_identity(b2), bpe_identity(b));
		ck_assert_uint_eq(bpe_vocab_size(b2), v[i].V);
		check_expected_set(b2, "tok/special.hex", name);
		bpe_free(b2);
		ad_free(ser);
		bpe_free(b);
		free(path);
	}
	path = tu_fixture("tok/special.cl100k_base.subset.tiktoken");
	ck_assert_int_eq(bpe_load_tiktoken(&b, path, "gpt4", cl100k, 5, &e), 0);
	ck_assert_uint_eq(bpe_special_id(b, 0), 100257);
	ck_assert_uint_eq(bpe_special_id(b, 4), 100276);
	ck_assert(bpe_is_special(b, 100276) && !bpe_is_special(b, 100261) && !bpe_is_special(b, 100256));
	(void)bpe_token_bytes(b, 100270, &len);   /* a hole */
	ck_assert_uint_eq(len, 0);
	bpe_free(b);
	{
		/* Without ids: after the highest rank (or the previous special). */
		const char *sp[] = { "<|a|>", "<|b|>=100300", "<|c|>" };
		ck_assert_int_eq(bpe_load_tiktoken(&b, path, "gpt4", sp, 3, &e), 0);
		ck_assert_uint_eq(bpe_special_id(b, 1), 100300);
		ck_assert_uint_eq(bpe_special_id(b, 2), 100301);
		ck_assert_uint_eq(bpe_vocab_size(b), 100302);
		bpe_free(b);
	}
	{
		const char *low[] = { "<|endoftext|>=5" };
		const char *dup[] = { "<|a|>=100300", "<|b|>=100300" };
		const char *clash[] = { "<|a|>=100301", "<|b|>=100300", "<|c|>" };
		const char *big[] = { "<|a|>=99999999999" };
		ck_assert_int_eq(bpe_load_tiktoken(&b, path, "gpt4", low, 1, &e), AD_EINVAL);
		ck_assert_msg(strstr(e.msg, "cannot have id 5") != NULL, "%s", e.msg);
		ck_assert_int_eq(bpe_load_tiktoken(&b, path, "gpt4", dup, 2, &e), AD_EINVAL);
		ck_assert_msg(strstr(e.msg, "both have id 100300") != NULL, "%s", e.msg);
		ck_assert_int_eq(bpe_load_tiktoken(&b, path, "gpt4", clash, 3, &e), AD_EINVAL);
		ck_assert_msg(strstr(e.msg, "both have id 100301") != NULL, "%s", e.msg);
		ck_assert_int_eq(bpe_load_tiktoken(&b, path, "gpt4", big, 1, &e), AD_EINVAL);
		ck_assert_msg(strstr(e.msg, "too large") != NULL, "%s", e.msg);
	}
	/* TOKEN=ID is split at the last '=' only before digits. */
	ck_assert_int_eq(bpe_special_split("a=b=12", &len, &id), 1);
	ck_assert_uint_eq(len, 3);
	ck_assert_uint_eq(id, 12);
	ck_assert_int_eq(bpe_special_split("<|x=y|>", &len, &id), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_int_eq(bpe_special_split("=12", &len, &id), 0);
	ck_assert_int_eq(bpe_special_split("x=", &len, &id), 0);
	free(path);
}
END_TEST

/* ---- round trips -------------------------------------------------------- */

static struct bpe *
small_vocab(void)
{
	char   *hp = tu_fixture("tok/cases.hex"), *hex = tu_slurp(hp, NULL), *hs, *hl;
	char   *text = malloc(1 << 16);
	size_t  len = 0;
	struct bpe *b;

	for (hl = strtok_r(hex, "\n", &hs); hl; hl = strtok_r(NULL, "\n", &hs)) {
		size_t   n;
		uint8_t *t = unhex(hl, &n);
		for (int rep = 0; rep < 3; rep++) {
			memcpy(text + len, t, n);
			len += n;
			text[len++] = '\n';
		}
		free(t);
	}
	b = train_text(text, len, 700, "gpt4", NORM_NONE, 0, NULL, 0, 2, NULL);
	free(text);
	free(hex);
	free(hp);
	return b;
}

START_TEST(test_roundtrip_random)
{
	struct bpe   *b = small_vocab();
	struct ad_rng r;
	uint8_t       buf[600];
	static const char *frag[] = { "the", " ", "  ", "\n", "\t", "caf\xc3\xa9", "\xed\xa0\x80",
	    "\xff", "\xc0\xaf", "\0", "\xe2\x80\x8d", "'s", "123", "\xf0\x9f\x98\x80", "\xe4\xbb\x8a",
	    "\xcc\x81", "\xf4\x90\x80\x80", "\xe0\x80\x80", "aaaa", "\r\n" };

	ad_rng_seed(&r, 42, 3);
	memset(buf, 0, sizeof buf);
	for (int t = 0; t < 3000; t++) {
		size_t len = 0, want = ad_rng_below(&r, 400);
		int    mode = (int)ad_rng_below(&r, 3);
		while (len < want) {
			if (mode == 0) {        /* uniform random bytes */
				buf[len++] = (uint8_t)ad_rng_below(&r, 256);
			} else if (mode == 1) { /* printable ASCII and whitespace */
				buf[len++] = (uint8_t)(ad_rng_below(&r, 8) == 0 ? (uint32_t)" \n\t"[ad_rng_below(&r, 3)] :
				    32 + ad_rng_below(&r, 95));
			} else {                /* fragments: valid and invalid UTF-8 */
				const char *f = frag[ad_rng_below(&r, sizeof frag / sizeof frag[0])];
				size_t      fl = f[0] == '\0' ? 1 : strlen(f);
				if (len + fl > sizeof buf)
					break;
				memcpy(buf + len, f, fl);
				len += fl;
			}
		}
		assert_roundtrip(b, buf, len, 1);
	}
	bpe_free(b);
}
END_TEST

START_TEST(test_roundtrip_edges)
{
	struct bpe *b = small_vocab();
	size_t      big = 1 << 20;
	uint8_t    *s = malloc(big);

	assert_roundtrip(b, (const uint8_t *)"", 0, 1);
	assert_roundtrip(b, (const uint8_t *)"\0", 1, 1);
	assert_roundtrip(b, (const uint8_t *)"a\0b\0\0c", 6, 1);
	assert_roundtrip(b, (const uint8_t *)"\xed\xa0\x80\xed\xbf\xbf", 6, 1);  /* surrogates */
	assert_roundtrip(b, (const uint8_t *)"\xf0\x9f\x98", 3, 1);             /* cut short */
	assert_roundtrip(b, (const uint8_t *)"\n\n\n\r\r\n \n", 8, 1);
	/* A long piece goes through the heap merger; 3000 bytes still checks
	 * against the reference. */
	memset(s, 'a', 3000);
	assert_roundtrip(b, s, 3000, 1);
	for (size_t i = 0; i < 3000; i++)
		s[i] = "the cat "[i % 8] == ' ' ? 'x' : (uint8_t)"the cat "[i % 8];
	assert_roundtrip(b, s, 3000, 1);
	/* A megabyte on one line: letters, spaces, invalid bytes. */
	memset(s, 'a', big);
	assert_roundtrip(b, s, big, 0);
	memset(s, ' ', big);
	assert_roundtrip(b, s, big, 0);
	memset(s, 0xff, big);
	assert_roundtrip(b, s, big, 0);
	free(s);
	bpe_free(b);
}
END_TEST

/* ---- pre-tokenization --------------------------------------------------- */

static int
pieces(const char *pattern, const char *text, size_t len, char out[][200])
{
	struct pretok      *p;
	struct pretok_iter *it;
	struct ad_error     e = { 0 };
	size_t              a, z;
	int                 n = 0;

	ck_assert_msg(pretok_new(&p, pattern, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(pretok_iter_new(p, &it, &e), 0);
	pretok_start(it, (const uint8_t *)text, len, len);
	while (pretok_next(it, &a, &z, &e) == 1) {
		memcpy(out[n], text + a, z - a);
		out[n][z - a] = '\0';
		n++;
	}
	pretok_iter_free(it);
	pretok_free(p);
	return n;
}

/* How boundaries() matches: PCRE2 with or without its JIT, or as pretok_new chose. */
enum how { PCRE2_INTERP, PCRE2_JIT, AS_CHOSEN };

/* The piece boundaries of text under pattern: ends[] (at most max), the count. */
static size_t
boundaries(const char *pattern, enum how how, const uint8_t *text, size_t len, size_t *ends,
    size_t max)
{
	struct pretok      *p;
	struct pretok_iter *it;
	struct ad_error     e = { 0 };
	size_t              a, z, n = 0;
	int                 rc;

	ck_assert_msg(pretok_new(&p, pattern, &e) == 0, "%s", e.msg);
	if (how != AS_CHOSEN)
		pretok_use_pcre2(p);
	if (how == PCRE2_INTERP)
		pretok_no_jit(p);
	ck_assert_int_eq(pretok_iter_new(p, &it, &e), 0);
	pretok_start(it, text, len, len);
	while ((rc = pretok_next(it, &a, &z, &e)) == 1) {
		ck_assert_uint_lt(n, max);
		ends[n++] = z;
	}
	ck_assert_msg(rc == 0, "%s", e.msg);
	pretok_iter_free(it);
	pretok_free(p);
	return n;
}

/*
 * The interpreter matches in windows (pretok.c); its pieces must be the
 * JIT's on prose with long runs, on random bytes (mostly invalid UTF-8) and
 * on a mixture of scripts, spaces, digits and damaged bytes, for every
 * built-in pattern and one with a lookbehind. Without a JIT in PCRE2 both
 * runs use the interpreter and only the windows are tested against
 * themselves, so the test says so.
 */
START_TEST(test_pretok_interpreter)
{
	static const char *pats[] = { "gpt2", "gpt4", "o200k", "(?<=a)b+|\\w+|\\s+(?!\\S)|\\s+|." };
	static const char *alpha[] = { "a", "b", "\xc3\xa9", "\xe6\x97\xa5", "  ", "\n", "\r\n",
	    "42", "1234567", "'s", " ", "!!", "\t", "\xc2\xa0", "z\xcc\x81", "\xf0\x9f\x98\x80",
	    "The", " word", "                                                                  " };
	size_t         len = 200000, n1, n2;
	uint8_t       *t[3];
	size_t        *e1 = malloc(len * sizeof *e1), *e2 = malloc(len * sizeof *e2);
	struct ad_rng  r;
	struct pretok *p;
	struct ad_error e = { 0 };

	ck_assert_int_eq(pretok_new(&p, "gpt2", &e), 0);
	if (!pretok_jit(p))
		fprintf(stderr, "check_bpe: PCRE2 has no JIT here: interpreter against itself\n");
	pretok_free(p);
	ad_rng_seed(&r, 11, 3);
	for (int k = 0; k < 3; k++) {
		size_t at = 0;
		t[k] = malloc(len);
		while (at < len) {
			const char *w = alpha[ad_rng_below(&r, sizeof alpha / sizeof *alpha)];
			size_t      wl = strlen(w);
			if (k == 1 || at + wl > len) {
				t[k][at++] = (uint8_t)ad_rng_below(&r, 256);
				continue;
			}
			memcpy(t[k] + at, w, wl);
			at += wl;
			if (k == 2 && ad_rng_below(&r, 50) == 0)
				t[k][at - 1] = (uint8_t)ad_rng_below(&r, 256);   /* damage */
		}
	}
	/* Prose: words and long runs of spaces and newlines. */
	for (size_t i = 0; i < len; i++)
		t[0][i] = i % 3000 < 700 ? ' ' : i % 3000 < 900 ? '\n' : t[0][i];
	for (size_t pi = 0; pi < sizeof pats / sizeof *pats; pi++)
		for (int k = 0; k < 3; k++) {
			n1 = boundaries(pats[pi], PCRE2_JIT, t[k], len, e1, len);
			n2 = boundaries(pats[pi], PCRE2_INTERP, t[k], len, e2, len);
			ck_assert_msg(n1 == n2, "%s, text %d: %zu pieces with the JIT, %zu without",
			    pats[pi], k, n1, n2);
			ck_assert_msg(memcmp(e1, e2, n1 * sizeof *e1) == 0, "%s, text %d: pieces differ",
			    pats[pi], k);
		}
	for (int k = 0; k < 3; k++)
		free(t[k]);
	free(e1);
	free(e2);
}
END_TEST

START_TEST(test_pretok)
{
	char            o[32][200];
	struct pretok  *p;
	struct ad_error e = { 0 };
	int             n;

	/* gpt2, by hand: ' ?\p{L}+' takes a leading space, so of "  here" one
	 * space is left to \s+(?!\S); of "\n\n1", \s+(?!\S) takes the first
	 * newline (backing off from the one before "1"), \s+ the second. */
	n = pieces("gpt2", "I'm  here\n\n123 x", 16, o);
	ck_assert_int_eq(n, 8);
	ck_assert_str_eq(o[0], "I");
	ck_assert_str_eq(o[1], "'m");
	ck_assert_str_eq(o[2], " ");
	ck_assert_str_eq(o[3], " here");
	ck_assert_str_eq(o[4], "\n");
	ck_assert_str_eq(o[5], "\n");
	ck_assert_str_eq(o[6], "123");
	ck_assert_str_eq(o[7], " x");
	/* gpt4: digits in threes, case-insensitive contractions. */
	n = pieces("gpt4", "12345 IT'S", 10, o);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(o[0], "123");
	ck_assert_str_eq(o[1], "45");
	ck_assert_str_eq(o[2], " IT");
	ck_assert_str_eq(o[3], "'S");
	/* Invalid UTF-8 never matches but becomes its own piece. */
	n = pieces("gpt2", "ab\xff\xfe" "cd", 6, o);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(o[0], "ab");
	ck_assert_str_eq(o[1], "\xff\xfe");
	ck_assert_str_eq(o[2], "cd");
	/* Text a user pattern does not match: gap pieces of at most 64 bytes. */
	{
		char text[150];
		memset(text, 'q', sizeof text);
		n = pieces("z+", text, sizeof text, o);
		ck_assert_int_eq(n, 3);
		ck_assert_uint_eq(strlen(o[0]), 64);
		ck_assert_uint_eq(strlen(o[2]), 150 - 128);
	}
	/* \s is White_Space: U+2003 (em space) is, U+180E (Mongolian vowel
	 * separator, which PCRE2's own \s would take) is not. */
	n = pieces("\\s+", "a\xe2\x80\x83" "b", 5, o);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(o[1], "\xe2\x80\x83");
	n = pieces("\\s+", "a\xe1\xa0\x8e" "b", 5, o);
	ck_assert_int_eq(n, 1);
	n = pieces("[^\\s]+", "a\xe1\xa0\x8e" "b c", 7, o);
	ck_assert_int_eq(n, 3);
	ck_assert_str_eq(o[0], "a\xe1\xa0\x8e" "b");
	/* Empty matches are never taken. */
	n = pieces("x*", "ab", 2, o);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(o[0], "ab");
	/* A bad regex: offset and PCRE2's message. */
	ck_assert_int_eq(pretok_new(&p, "ab(c", &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "offset 4"));
	ck_assert_ptr_nonnull(strstr(e.msg, "missing closing parenthesis"));
	ck_assert_int_eq(pretok_new(&p, "a\nb", &e), AD_EINVAL);
	ck_assert_str_eq(pretok_builtin_name(pretok_builtin("cl100k")), "gpt4");
}
END_TEST

/* ---- normalization ------------------------------------------------------ */

static void
assert_norm(enum norm_mode m, int cf, const char *in, size_t inlen, const char *want)
{
	struct norm_buf nb = { 0 };
	struct ad_error e = { 0 };

	ck_assert_int_eq(norm_apply(&nb, m, cf, (const uint8_t *)in, inlen, &e), 0);
	ck_assert_msg(nb.len == strlen(want) && memcmp(nb.out, want, nb.len) == 0,
	    "normalize '%s': got '%.*s', want '%s'", in, (int)nb.len, nb.out, want);
	norm_buf_free(&nb);
}

/* ---- the hand-written matcher of the built-in patterns ------------------ */

static size_t
put_utf8(uint8_t *b, uint32_t cp)
{
	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | cp >> 6);
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | cp >> 12);
		b[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	b[0] = (uint8_t)(0xf0 | cp >> 18);
	b[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	b[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	b[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

#define NCP 0x110000u
#define IS_SURROGATE(cp) ((cp) >= 0xd800 && (cp) <= 0xdfff)

/* The table's class of every code point, by walking its runs. */
static uint8_t *
table_classes(void)
{
	uint8_t *c = malloc(NCP);

	ck_assert_uint_eq(pretok_uni_runs[0] >> 4, 0);
	for (size_t r = 0; r < pretok_uni_nruns; r++) {
		uint32_t a = pretok_uni_runs[r] >> 4;
		uint32_t z = r + 1 < pretok_uni_nruns ? pretok_uni_runs[r + 1] >> 4 : NCP;
		ck_assert_uint_lt(a, z);
		memset(c + a, (int)(pretok_uni_runs[r] & 15), z - a);
	}
	return c;
}

/*
 * PCRE2's classes of every code point (its Unicode tables, 14.0 in PCRE2
 * 10.42), read through the pre-tokenizer itself with user patterns \p{Lu},
 * ..., \s, \p{Cn}: the text holds every code point after two \x01 bytes,
 * which no pattern matches, so a code point is in a class exactly when it
 * is a piece by itself. Unassigned code points get PRETOK_BAD.
 */
static uint8_t *
pcre2_classes(void)
{
	static const char *pat[] = { NULL, "\\p{Lu}", "\\p{Ll}", "\\p{Lt}", "\\p{Lm}", "\\p{Lo}",
	    "\\p{M}", "\\p{N}", "\\s", "\\p{Cn}" };
	uint8_t  *c = calloc(NCP, 1), *text = malloc((size_t)NCP * 6);
	uint32_t *at = malloc(NCP * sizeof *at);   /* code point -> its offset */
	size_t    len = 0;

	for (uint32_t cp = 0; cp < NCP; cp++) {
		if (IS_SURROGATE(cp))
			continue;
		text[len++] = 1;
		text[len++] = 1;
		at[cp] = (uint32_t)len;
		len += put_utf8(text + len, cp);
	}
	for (unsigned k = PRETOK_LU; k <= PRETOK_BAD; k++) {
		struct pretok      *p;
		struct pretok_iter *it;
		struct ad_error     e = { 0 };
		size_t              a, z, cp = 0;

		ck_assert_msg(pretok_new(&p, pat[k], &e) == 0, "%s", e.msg);
		ck_assert(!pretok_hand(p));
		ck_assert_int_eq(pretok_iter_new(p, &it, &e), 0);
		pretok_start(it, text, len, len);
		while (pretok_next(it, &a, &z, &e) == 1) {
			while (cp < NCP && (IS_SURROGATE(cp) || at[cp] < a))
				cp++;
			if (cp < NCP && at[cp] == a && memchr(text + a, 1, z - a) == NULL) {
				ck_assert_msg(c[cp] == 0, "U+%04zX is in two PCRE2 classes", cp);
				c[cp] = (uint8_t)k;
			}
		}
		pretok_iter_free(it);
		pretok_free(p);
	}
	free(at);
	free(text);
	return c;
}

/* utf8proc's classes (its Unicode version, 15.0 in utf8proc 2.8); unassigned: PRETOK_BAD. */
static unsigned
utf8proc_class(uint32_t cp)
{
	switch (utf8proc_category((utf8proc_int32_t)cp)) {
	case UTF8PROC_CATEGORY_CN: return PRETOK_BAD;
	case UTF8PROC_CATEGORY_LU: return PRETOK_LU;
	case UTF8PROC_CATEGORY_LL: return PRETOK_LL;
	case UTF8PROC_CATEGORY_LT: return PRETOK_LT;
	case UTF8PROC_CATEGORY_LM: return PRETOK_LM;
	case UTF8PROC_CATEGORY_LO: return PRETOK_LO;
	case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
		return PRETOK_M;
	case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
		return PRETOK_N;
	case UTF8PROC_CATEGORY_ZS: case UTF8PROC_CATEGORY_ZL: case UTF8PROC_CATEGORY_ZP:
		return PRETOK_WS;
	default:   /* White_Space (PropList.txt) holds these controls too */
		return (cp >= 9 && cp <= 13) || cp == 0x85 ? PRETOK_WS : PRETOK_OTHER;
	}
}

/*
 * The classes of the hand-written matcher (tiktoken's engine, pretok_uni.c)
 * against two independent tables: on every code point that PCRE2 (Unicode
 * 14 in 10.42) or utf8proc (15.0 in 2.8) knows, the class is theirs (none
 * differs today); the only differences allowed are code points one side
 * has not assigned yet, being of an older Unicode.
 */
START_TEST(test_pretok_classes)
{
	uint8_t *t = table_classes(), *pc = pcre2_classes();
	size_t   newer_pcre2 = 0, newer_u8 = 0, older = 0, differ = 0;

	for (uint32_t cp = 0; cp < NCP; cp++) {
		unsigned u = utf8proc_class(cp);
		if (IS_SURROGATE(cp))
			continue;
		/* Unassigned in the library: newer than its Unicode. Unassigned in
		 * the table (a library newer than tiktoken's engine): older. */
		if (pc[cp] == PRETOK_BAD)
			newer_pcre2 += t[cp] != PRETOK_OTHER;
		else if (pc[cp] != t[cp] && t[cp] == PRETOK_OTHER)
			older++;
		else if (pc[cp] != t[cp] && differ++ < 10)
			fprintf(stderr, "U+%04X: class %u in PCRE2, %u in the table\n", cp, pc[cp], t[cp]);
		if (u == PRETOK_BAD)
			newer_u8 += t[cp] != PRETOK_OTHER;
		else if (u != t[cp] && t[cp] == PRETOK_OTHER)
			older++;
		else if (u != t[cp] && differ++ < 10)
			fprintf(stderr, "U+%04X: class %u in utf8proc, %u in the table\n", cp, u, t[cp]);
	}
	ck_assert_msg(differ == 0, "%zu classes differ from PCRE2's or utf8proc's", differ);
	fprintf(stderr, "check_bpe: the table (Unicode %s) has %zu letters, marks, digits and "
	    "spaces PCRE2 does not know, %zu utf8proc (Unicode %s) does not; %zu the other way\n",
	    pretok_unicode(), newer_pcre2, newer_u8, utf8proc_unicode_version(), older);
	free(t);
	free(pc);
}
END_TEST

/* Piece ends of text with p (a pretok borrowed from the caller). */
static size_t
cut(struct pretok *p, const uint8_t *text, size_t len, size_t *ends, size_t max)
{
	struct pretok_iter *it;
	struct ad_error     e = { 0 };
	size_t              a, z, n = 0;

	ck_assert_int_eq(pretok_iter_new(p, &it, &e), 0);
	pretok_start(it, text, len, len);
	while (pretok_next(it, &a, &z, &e) == 1) {
		ck_assert_uint_lt(n, max);
		ends[n++] = z;
	}
	pretok_iter_free(it);
	return n;
}

/*
 * The hand-written matcher against PCRE2 running the same pattern, the
 * brute-force oracle, on random strings of characters that both tables
 * classify alike (every code point but those added since PCRE2's Unicode):
 * ASCII with the contractions' letters in both cases, every kind of space
 * and newline, long s, marks, titlecase and modifier letters, digits of
 * other scripts, slashes, random code points, invalid bytes and invalid
 * sequences (overlong, surrogates, past U+10FFFF, cut short) next to the
 * valid ones at the edges of the ranges. Each string alone, then all of
 * them as one text.
 */
START_TEST(test_pretok_hand)
{
	static const char *names[] = { "gpt2", "gpt4", "o200k" };
	static const char  ascii[] = " \t\n\r'''sStTrReEvVmMlLdDxQ09/.,!-  \n\n";
	static const uint32_t odd[] = { 0x17f, 0xa0, 0x85, 0x1680, 0x2000, 0x2028, 0x2029, 0x3000,
	    0x0b, 0x0c, 0x301, 0x20dd, 0x903, 0x1c5, 0x2b0, 0x5d0, 0xaa, 0x661, 0x2160, 0xb2,
	    0xc9, 0xe9, 0x130, 0x1f600, 0x20000, 0x1d400, 0x10400, 0x180e, 0x200b, 0 };
	static const char *bad[] = { "\xe0\x80\x80", "\xe0\x9f\xbf", "\xed\xa0\x80", "\xed\xbf\xbf",
	    "\xf0\x80\x80\x80", "\xf0\x8f\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80",
	    "\xc0\xaf", "\xc1\xbf", "\xe2\x82", "\xf0\x9f\x98", "\xf0\x9f", "\xc3", "\xef\xbf",
	    "\xf4\x8f\xbf\xbf", "\xee\x80\x80", "\xed\x9f\xbf" };
	uint8_t      *t = table_classes(), *pc = pcre2_classes();
	size_t        cap = 1 << 20, all_len = 0, *e1 = malloc(cap * sizeof *e1);
	size_t       *e2 = malloc(cap * sizeof *e2);
	uint8_t      *all = malloc(cap);
	struct ad_rng r;

	ad_rng_seed(&r, 23, 5);
	for (int s = 0; s < 6000; s++) {
		uint8_t buf[400];
		size_t  len = 0, want = ad_rng_below(&r, 48);
		for (size_t k = 0; k < want; k++) {
			uint32_t pick = ad_rng_below(&r, 100), cp;
			if (pick < 3) {
				buf[len++] = (uint8_t)(0x80 + ad_rng_below(&r, 128));   /* invalid */
				continue;
			}
			if (pick < 5) {   /* overlong, surrogate, past U+10FFFF, cut short */
				const char *b = bad[ad_rng_below(&r, sizeof bad / sizeof *bad)];
				memcpy(buf + len, b, strlen(b));
				len += strlen(b);
				continue;
			}
			if (pick < 60)
				cp = (uint8_t)ascii[ad_rng_below(&r, sizeof ascii - 1)];
			else if (pick < 80)
				cp = odd[ad_rng_below(&r, sizeof odd / sizeof *odd)];
			else if (pick < 93)
				cp = 0x80 + ad_rng_below(&r, 0x3000 - 0x80);
			else
				cp = ad_rng_below(&r, NCP);
			if (IS_SURROGATE(cp) || (pc[cp] == PRETOK_BAD ? PRETOK_OTHER : pc[cp]) != t[cp])
				cp = 'z';   /* a newer Unicode on one side: the tiktoken tests cover those */
			len += put_utf8(buf + len, cp);
		}
		for (int pi = 0; pi < 3; pi++) {
			struct pretok  *hand, *pcre;
			struct ad_error e = { 0 };
			size_t          n1, n2;
			ck_assert_int_eq(pretok_new(&hand, names[pi], &e), 0);
			ck_assert_int_eq(pretok_new(&pcre, names[pi], &e), 0);
			ck_assert(pretok_hand(hand));
			pretok_use_pcre2(pcre);
			n1 = cut(hand, buf, len, e1, cap);
			n2 = cut(pcre, buf, len, e2, cap);
			if (n1 != n2 || memcmp(e1, e2, n1 * sizeof *e1) != 0) {
				fprintf(stderr, "%s: the pieces differ on:", names[pi]);
				for (size_t i = 0; i < len; i++)
					fprintf(stderr, " %02x", buf[i]);
				fprintf(stderr, "\n hand:");
				for (size_t i = 0; i < n1; i++)
					fprintf(stderr, " %zu", e1[i]);
				fprintf(stderr, "\n PCRE2:");
				for (size_t i = 0; i < n2; i++)
					fprintf(stderr, " %zu", e2[i]);
				fprintf(stderr, "\n");
				ck_abort_msg("%s: hand-written pieces differ from PCRE2's", names[pi]);
			}
			pretok_free(hand);
			pretok_free(pcre);
		}
		memcpy(all + all_len, buf, len);
		all_len += len;
	}
	for (int pi = 0; pi < 3; pi++) {
		struct pretok  *hand, *pcre;
		struct ad_error e = { 0 };
		size_t          n1, n2;
		ck_assert_int_eq(pretok_new(&hand, names[pi], &e), 0);
		ck_assert_int_eq(pretok_new(&pcre, names[pi], &e), 0);
		pretok_use_pcre2(pcre);
		n1 = cut(hand, all, all_len, e1, cap);
		n2 = cut(pcre, all, all_len, e2, cap);
		ck_assert_uint_eq(n1, n2);
		ck_assert_msg(memcmp(e1, e2, n1 * sizeof *e1) == 0, "%s: the pieces of one text differ",
		    names[pi]);
		pretok_free(hand);
		pretok_free(pcre);
	}
	free(t);
	free(pc);
	free(e1);
	free(e2);
	free(all);
}
END_TEST

START_TEST(test_normalize)
{
	/* e + combining acute -> é (U+00E9) under NFC. */
	assert_norm(NORM_NFC, 0, "Cafe\xcc\x81", 6, "Caf\xc3\xa9");
	/* The ligature fi (U+FB01) is kept by NFC, split by NFKC. */
	assert_norm(NORM_NFC, 0, "\xef\xac\x81x", 4, "\xef\xac\x81x");
	assert_norm(NORM_NFKC, 0, "\xef\xac\x81x", 4, "fix");
	/* Full case folding: ß -> ss; ASCII lowercased. */
	assert_norm(NORM_NONE, 1, "Stra\xc3\x9f" "E", 7, "strasse");
	assert_norm(NORM_NFC, 1, "ABC", 3, "abc");
	/* Invalid bytes pass through, the valid runs around them normalize. */
	assert_norm(NORM_NFC, 1, "A\xff" "e\xcc\x81\xed\xa0\x80Z", 9, "a\xff\xc3\xa9\xed\xa0\x80z");
	/* Combining marks reorder (canonical order: dot below 323 before dot above 307). */
	assert_norm(NORM_NFC, 0, "q\xcc\x87\xcc\xa3", 5, "q\xcc\xa3\xcc\x87");
	assert_norm(NORM_NONE, 0, "As is\xff", 6, "As is\xff");
}
END_TEST

START_TEST(test_normalized_roundtrip)
{
	static const char text[] = "Caf\xc3\xa9 cafe\xcc\x81 CAFE\xcc\x81 \xef\xac\x81ne Stra\xc3\x9f" "e\n";
	struct bpe     *b;
	uint32_t       *ids;
	uint8_t        *back = NULL;
	size_t          n, bl = 0, bc = 0;
	struct ad_error e = { 0 };
	struct norm_buf nb = { 0 };

	b = train_text(text, sizeof text - 1, 300, "gpt4", NORM_NFKC, 1, NULL, 0, 1, NULL);
	n = encode_all(b, text, sizeof text - 1, &ids, 0);
	ck_assert_int_eq(bpe_decode(b, ids, n, &back, &bl, &bc, &e), 0);
	ck_assert_int_eq(norm_apply(&nb, NORM_NFKC, 1, (const uint8_t *)text, sizeof text - 1, &e), 0);
	ck_assert_uint_eq(bl, nb.len);
	ck_assert(memcmp(back, nb.out, bl) == 0);
	/* by hand: every form of café is the same after NFKC + case folding */
	ck_assert(memcmp(back, "caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 fine strasse\n", bl) == 0);
	ck_assert_int_eq(bpe_normalization(b), NORM_NFKC);
	ck_assert_int_eq(bpe_casefold(b), 1);
	norm_buf_free(&nb);
	ad_free(ids);
	ad_free(back);
	bpe_free(b);
}
END_TEST

/* ---- special tokens ----------------------------------------------------- */

START_TEST(test_specials)
{
	static const char *sp[] = { "<|end|>", "<|end|>!" };
	static const char  text[] = "ab<|end|>ab<|end|>ab<|end|>!ab\nab ab ab<|end|>\n";
	struct bpe        *b = train_text(text, sizeof text - 1, 270, "gpt4", NORM_NONE, 0, sp, 2, 1,
	    NULL);
	uint32_t          *ids;
	size_t             n;

	ck_assert_uint_eq(bpe_num_specials(b), 2);
	ck_assert_uint_eq(bpe_special_id(b, 0), bpe_vocab_size(b) - 2);
	ck_assert(bpe_is_special(b, bpe_vocab_size(b) - 1));
	/* the special text never reached the counts: no token contains '|' */
	for (uint32_t id = 256; id < bpe_vocab_size(b) - 2; id++) {
		size_t l;
		const uint8_t *s = bpe_token_bytes(b, id, &l);
		ck_assert(memchr(s, '|', l) == NULL);
	}
	/* split first, longest on a tie, never merged across */
	n = encode_all(b, "<|end|>!x<|end|><|end|>", 23, &ids, 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(ids[0], bpe_special_id(b, 1));
	ck_assert_uint_eq(ids[1], 'x');
	ck_assert_uint_eq(ids[2], bpe_special_id(b, 0));
	ck_assert_uint_eq(ids[3], bpe_special_id(b, 0));
	ad_free(ids);
	assert_roundtrip(b, (const uint8_t *)text, sizeof text - 1, 1);
	assert_roundtrip(b, (const uint8_t *)"<|end|<|end|>|>", 15, 1);
	bpe_free(b);
}
END_TEST

/* ---- the vocabulary file ------------------------------------------------ */

START_TEST(test_save_load)
{
	struct bpe     *b = small_vocab(), *c;
	struct ad_error e = { 0 };
	char           *buf, *buf2, *dir = tu_tmpdir(), path[4200];
	size_t          len, len2;
	uint32_t       *i1, *i2;
	size_t          n1, n2;
	static const char text[] = "Some text, with numbers 1234 and \xf0\x9f\x98\x80 emoji.\n";

	ck_assert_int_eq(bpe_serialize(b, &buf, &len, &e), 0);
	ck_assert_uint_eq(bpe_identity(b), ad_hash64(buf, len, 0));
	snprintf(path, sizeof path, "%s/v.bpe", dir);
	ck_assert_int_eq(bpe_save(b, path, &e), 0);
	ck_assert_msg(bpe_load(&c, path, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(bpe_serialize(c, &buf2, &len2, &e), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert(memcmp(buf, buf2, len) == 0);
	ck_assert_uint_eq(bpe_identity(b), bpe_identity(c));
	ck_assert_uint_eq(bpe_vocab_size(b), bpe_vocab_size(c));
	n1 = encode_all(b, text, sizeof text - 1, &i1, 0);
	n2 = encode_all(c, text, sizeof text - 1, &i2, 0);
	ck_assert_uint_eq(n1, n2);
	ck_assert(memcmp(i1, i2, n1 * sizeof *i1) == 0);
	ad_free(i1);
	ad_free(i2);
	ad_free(buf);
	ad_free(buf2);
	bpe_free(b);
	bpe_free(c);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

/* Rewrite the checksum line of a vocabulary text so it is valid again. */
static void
fix_checksum(char *s, size_t *len)
{
	char *ck = strstr(s, "\nchecksum ") + 1;

	snprintf(ck, 27, "checksum %016llx\n", (unsigned long long)ad_hash64(s, (size_t)(ck - s), 0));
	*len = (size_t)(ck - s) + 26;
}

static void
expect_parse_error(const char *text, size_t len, int code, const char *where, const char *what)
{
	struct bpe     *b = NULL;
	struct ad_error e = { 0 };

	ck_assert_int_eq(bpe_parse(&b, text, len, "v.bpe", &e), code);
	ck_assert_ptr_null(b);
	ck_assert_msg(strstr(e.msg, where) != NULL, "'%s' lacks '%s'", e.msg, where);
	ck_assert_msg(strstr(e.msg, what) != NULL, "'%s' lacks '%s'", e.msg, what);
}

START_TEST(test_load_errors)
{
	struct bpe     *b = small_vocab();
	struct ad_error e = { 0 };
	char           *good, *s, *p;
	size_t          len, l2;

	ck_assert_int_eq(bpe_serialize(b, &good, &len, &e), 0);
	s = malloc(len + 64);
	/* truncated in the middle of the token lines, and just before the end */
	expect_parse_error(good, len / 2, AD_EFORMAT, "v.bpe:", "truncated");
	p = strstr(good, "\n300 ");
	l2 = (size_t)(p - good) + 1;
	expect_parse_error(good, l2, AD_EFORMAT, "v.bpe:", "truncated");
	expect_parse_error(good, len - 1, AD_EFORMAT, "v.bpe:", "truncated");
	expect_parse_error("", 0, AD_EFORMAT, "v.bpe:1", "empty");
	/* corrupted: one token byte changed */
	memcpy(s, good, len);
	p = strstr(s, "\n300 ") + 5;
	*p = *p == 'q' ? 'r' : 'q';
	expect_parse_error(s, len, AD_ECHECKSUM, "v.bpe:", "checksum mismatch");
	/* a newer version */
	memcpy(s, good, len);
	s[15] = '2';
	expect_parse_error(s, len, AD_EVERSION, "v.bpe:1", "version 2");
	expect_parse_error("hello world\n", 12, AD_EFORMAT, "v.bpe:1", "not an autodidact vocabulary");
	/* duplicate rank: line of rank 300 says 299 (checksum made valid) */
	memcpy(s, good, len);
	p = strstr(s, "\n300 ") + 1;
	memcpy(p, "299", 3);
	l2 = len;
	fix_checksum(s, &l2);
	expect_parse_error(s, l2, AD_EFORMAT, "v.bpe:", "rank 299 appears twice");
	/* duplicate token: rank 65 ('A') written as 'B' */
	memcpy(s, good, len);
	p = strstr(s, "\n65 A\n") + 4;
	*p = 'B';
	l2 = len;
	fix_checksum(s, &l2);
	expect_parse_error(s, l2, AD_EFORMAT, "v.bpe", "same token");
	/* a bad escape */
	memcpy(s, good, len);
	p = strstr(s, "\n10 \\x0a\n") + 6;
	*p = 'y';
	l2 = len;
	fix_checksum(s, &l2);
	expect_parse_error(s, l2, AD_EFORMAT, "v.bpe:", "bad token");
	/* a bad pattern is reported with the file */
	memcpy(s, good, len);
	p = strstr(s, "pattern ") + 8;
	*p = ')';
	l2 = len;
	fix_checksum(s, &l2);
	expect_parse_error(s, l2, AD_EINVAL, "v.bpe", "offset");
	/* tiktoken files */
	ck_assert_int_eq(bpe_parse_tiktoken(&b, "IQ== 0\nIQ== 1\n", 14, "t.tiktoken", "gpt2", NULL, 0,
	    &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "same token"));
	ck_assert_int_eq(bpe_parse_tiktoken(&b, "IQ== 0\nIg== 0\n", 14, "t.tiktoken", "gpt2", NULL, 0,
	    &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "t.tiktoken:2: rank 0 appears twice (first at line 1)"));
	ck_assert_int_eq(bpe_parse_tiktoken(&b, "I*== 0\n", 7, "t.tiktoken", "gpt2", NULL, 0, &e),
	    AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "t.tiktoken:1: bad base64"));
	ck_assert_int_eq(bpe_parse_tiktoken(&b, "IQ== 0\n", 7, "t.tiktoken", "gpt2", NULL, 0, &e),
	    AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "byte 0x00 has no token"));
	ck_assert_int_eq(bpe_parse_tiktoken(&b, "IQ== 0", 6, "t.tiktoken", "gpt2", NULL, 0, &e),
	    AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "t.tiktoken:1: truncated"));
	free(s);
	ad_free(good);
	bpe_free(b);
}
END_TEST

/* Out of memory anywhere in loading or encoding is AD_ENOMEM, never a crash. */
START_TEST(test_alloc_failure)
{
	struct bpe *b = small_vocab();
	char       *buf;
	size_t      len;
	struct ad_error e = { 0 };
	int         ok = 0;

	ck_assert_int_eq(bpe_serialize(b, &buf, &len, &e), 0);
	for (long k = 0; k < 120; k++) {
		struct bpe         *c = NULL;
		struct bpe_encoder *enc = NULL;
		uint32_t           *ids = NULL;
		size_t              n = 0, cap = 0;
		int                 rc;

		ad_alloc_fail_after(k);
		rc = bpe_parse(&c, buf, len, "v", &e);
		if (rc == 0)
			rc = bpe_encoder_new(c, &enc, &e);
		if (rc == 0)
			rc = bpe_encode(enc, (const uint8_t *)"some words and more words\n", 26, &ids, &n,
			    &cap, &e);
		ad_alloc_fail_after(-1);
		ck_assert(rc == 0 || rc == AD_ENOMEM);
		ok += rc == 0;
		ad_free(ids);
		bpe_encoder_free(enc);
		bpe_free(c);
	}
	ck_assert_int_gt(ok, 0);
	ad_free(buf);
	bpe_free(b);
}
END_TEST

/* ---- training: determinism and errors ----------------------------------- */

START_TEST(test_train_threads_identical)
{
	char   *text = malloc(3 << 20);
	size_t  len = 0;
	struct ad_rng r;
	struct bpe *b1, *b2;
	char       *s1, *s2;
	size_t      l1, l2;
	struct ad_error e = { 0 };
	static const char *words[] = { "the", "cat", "sat", "on", "mat", "Dog", "42", "x'll",
	    "\xc3\xa9t\xc3\xa9", "\xe4\xbb\x8a\xe6\x97\xa5" };

	ad_rng_seed(&r, 5, 5);
	while (len < (3u << 20) - 64) {
		const char *w = words[ad_rng_below(&r, 10)];
		memcpy(text + len, w, strlen(w));
		len += strlen(w);
		text[len++] = ad_rng_below(&r, 9) == 0 ? '\n' : ' ';
	}
	b1 = train_text(text, len, 600, "gpt4", NORM_NONE, 0, NULL, 0, 1, NULL);
	b2 = train_text(text, len, 600, "gpt4", NORM_NONE, 0, NULL, 0, 2, NULL);
	ck_assert_int_eq(bpe_serialize(b1, &s1, &l1, &e), 0);
	ck_assert_int_eq(bpe_serialize(b2, &s2, &l2, &e), 0);
	ck_assert_uint_eq(l1, l2);
	ck_assert(memcmp(s1, s2, l1) == 0);
	/* parallel encoding gives the ids of one thread */
	{
		uint32_t *one, *par = NULL;
		size_t    n1 = encode_all(b1, text, len, &one, 0), np = 0, cap = 0;
		ck_assert_int_eq(bpe_encode_parallel(b1, 2, (const uint8_t *)text, len, &par, &np, &cap,
		    &e), 0);
		ck_assert_uint_eq(n1, np);
		ck_assert(memcmp(one, par, n1 * sizeof *one) == 0);
		ad_free(one);
		ad_free(par);
	}
	ad_free(s1);
	ad_free(s2);
	bpe_free(b1);
	bpe_free(b2);
	free(text);
}
END_TEST

START_TEST(test_train_errors)
{
	char                   *dir = tu_tmpdir(), empty[4200], missing[4200];
	const char             *p1[1] = { empty }, *p2[1] = { missing }, *p3[1] = { dir };
	struct bpe_train_config cfg = { .vocab_size = 300, .min_frequency = 2 };
	struct ad_error         e = { 0 };
	struct bpe             *b = NULL;

	snprintf(empty, sizeof empty, "%s/empty.txt", dir);
	snprintf(missing, sizeof missing, "%s/missing.txt", dir);
	tu_spit(empty, "", 0);
	ck_assert_int_eq(bpe_train(&b, &cfg, p1, 1, NULL, NULL, NULL, &e), AD_EDATA);
	ck_assert_ptr_nonnull(strstr(e.msg, "empty.txt: no text"));
	ck_assert_int_eq(bpe_train(&b, &cfg, p2, 1, NULL, NULL, NULL, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing.txt"));
	ck_assert_int_eq(bpe_train(&b, &cfg, p3, 1, NULL, NULL, NULL, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "directory"));
	cfg.pattern = "([a-z";
	ck_assert_int_eq(bpe_train(&b, &cfg, p1, 1, NULL, NULL, NULL, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "offset 5"));
	cfg.pattern = NULL;
	cfg.vocab_size = 255;
	ck_assert_int_eq(bpe_train(&b, &cfg, p1, 1, NULL, NULL, NULL, &e), AD_EINVAL);
	ck_assert_ptr_null(b);
	unlink(empty);
	rmdir(dir);
	free(dir);
}
END_TEST

/* ---- huge and hostile input -------------------------------------------- */

/* The ids of text[0..len) encoded in two parts, cut at k. */
static size_t
encode_cut(const struct bpe *b, const uint8_t *text, size_t len, size_t k, uint32_t **ids)
{
	struct bpe_encoder *enc;
	struct ad_error     e = { 0 };
	size_t              n = 0, cap = 0;

	*ids = NULL;
	ck_assert_int_eq(bpe_encoder_new(b, &enc, &e), 0);
	ck_assert_msg(bpe_encode(enc, text, k, ids, &n, &cap, &e) == 0, "%s", e.msg);
	ck_assert_msg(bpe_encode(enc, text + k, len - k, ids, &n, &cap, &e) == 0, "%s", e.msg);
	bpe_encoder_free(enc);
	return n;
}

/*
 * bpe_cut_point: encoding the two sides of every place it may return gives
 * the ids of the whole text (the oracle: bpe_encode on the whole), for the
 * three built-in patterns, with and without NFKC and case folding, and a
 * special token; it returns the last such place; never one for a user
 * pattern or when a special token has a space.
 */
START_TEST(test_cut_point)
{
	static const char *frag[] = { "the", " ", "  ", "\n", "\t", "caf\xc3\xa9", "\xff", "'s",
	    "'S", "123", " 4", "\xcc\x81", "\xe2\x80\x83", "\xef\xbc\xa1", "A", "x", ".", "!!",
	    "<|e|>", "\r\n", "\xe4\xbb\x8a" };
	static const char *pats[] = { "gpt2", "gpt4", "o200k" };
	static const char *special[] = { "<|e|>" }, *spaced[] = { "a <b>" };
	struct ad_rng      r;
	uint8_t            buf[700];
	char               corpus[] = "the cat's CAF\xc3\x89 sat on 123 mats.\nTHE Cat said 'hi'!\n";

	ad_rng_seed(&r, 7, 1);
	for (size_t pi = 0; pi < 3; pi++)
		for (int nm = 0; nm < 2; nm++) {
			struct bpe *b = train_text(corpus, strlen(corpus), 300, pats[pi],
			    nm ? NORM_NFKC : NORM_NONE, nm, special, 1, 1, NULL);
			for (int t = 0; t < 150; t++) {
				size_t    len = 0, want = 1 + ad_rng_below(&r, 400), n, last = 0;
				uint32_t *whole;
				while (len < want) {
					const char *f = frag[ad_rng_below(&r, sizeof frag / sizeof frag[0])];
					if (len + strlen(f) > sizeof buf)
						break;
					memcpy(buf + len, f, strlen(f));
					len += strlen(f);
				}
				n = encode_all(b, buf, len, &whole, 0);
				for (size_t k = 1; k < len; k++) {
					uint32_t *parts;
					size_t    m;
					if (buf[k] != ' ' || !isalpha(buf[k - 1]))
						continue;
					last = k;
					m = encode_cut(b, buf, len, k, &parts);
					ck_assert_msg(m == n && memcmp(parts, whole, n * sizeof *whole) == 0,
					    "%s: a cut at %zu changes the ids", pats[pi], k);
					ad_free(parts);
				}
				ck_assert_uint_eq(bpe_cut_point(b, buf, len), last);
				ad_free(whole);
			}
			bpe_free(b);
		}
	{
		struct bpe *u = train_text(corpus, strlen(corpus), 300, "[a-z]+| ", NORM_NONE, 0, NULL,
		    0, 1, NULL);
		struct bpe *sp = train_text(corpus, strlen(corpus), 300, "gpt4", NORM_NONE, 0, spaced,
		    1, 1, NULL);
		ck_assert_uint_eq(bpe_cut_point(u, (const uint8_t *)"the cat", 7), 0);
		ck_assert_uint_eq(bpe_cut_point(sp, (const uint8_t *)"the cat", 7), 0);
		bpe_free(u);
		bpe_free(sp);
	}
}
END_TEST

/*
 * Training reads its input in chunks; with a built-in pattern each chunk is
 * counted up to its last cut point and the rest carried over, so the pieces
 * and their counts, and hence the vocabulary, are those of the whole text
 * in one chunk (the oracle), for any chunk size: lines longer than a chunk,
 * normalization, case folding and a special token included.
 */
START_TEST(test_train_chunks)
{
	static const char *words[] = { "the", "cat", "sat", "on", "mat", "Dog", "42", "x'll",
	    "caf\xc3\xa9", "\xe4\xbb\x8a\xe6\x97\xa5", "\xef\xbc\xa1", "<|s|>" };
	static const char *special[] = { "<|s|>" };
	static const char *pats[] = { "gpt2", "gpt4", "o200k" };
	static const size_t chunks[] = { 500, 4096, 65537 };
	char                   *dir = tu_tmpdir(), path[4200];
	const char             *paths[1] = { path };
	char                   *text = malloc(300000);
	size_t                  len = 0;
	struct ad_rng           r;
	struct ad_error         e = { 0 };

	ad_rng_seed(&r, 11, 2);
	while (len < 300000 - 64) {
		const char *w = words[ad_rng_below(&r, 12)];
		memcpy(text + len, w, strlen(w));
		len += strlen(w);
		/* Mostly spaces: some lines run for tens of kilobytes. */
		text[len++] = ad_rng_below(&r, 2000) == 0 ? '\n' : ad_rng_below(&r, 9) == 0 ? '\t' : ' ';
	}
	snprintf(path, sizeof path, "%s/corpus.txt", dir);
	tu_spit(path, text, len);
	for (size_t pi = 0; pi < 3; pi++) {
		struct bpe_train_config cfg = { .vocab_size = 500, .pattern = pats[pi],
		    .norm = pi == 2 ? NORM_NFKC : NORM_NONE, .casefold = pi == 2, .specials = special,
		    .nspecials = 1, .min_frequency = 2, .threads = 2 };
		struct bpe_train_stats  st0, st;
		struct bpe             *b0, *b;
		char                   *s0, *s1;
		size_t                  l0, l1;
		ck_assert_msg(bpe_train(&b0, &cfg, paths, 1, NULL, NULL, &st0, &e) == 0, "%s", e.msg);
		ck_assert_int_eq(bpe_serialize(b0, &s0, &l0, &e), 0);
		for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
			cfg.chunk = chunks[c];
			ck_assert_msg(bpe_train(&b, &cfg, paths, 1, NULL, NULL, &st, &e) == 0, "%s", e.msg);
			ck_assert_uint_eq(st.pieces, st0.pieces);
			ck_assert_uint_eq(st.unique, st0.unique);
			ck_assert_int_eq(bpe_serialize(b, &s1, &l1, &e), 0);
			ck_assert_msg(l1 == l0 && memcmp(s0, s1, l0) == 0, "%s, chunk %zu: another vocabulary",
			    pats[pi], chunks[c]);
			ad_free(s1);
			bpe_free(b);
		}
		ad_free(s0);
		bpe_free(b0);
	}
	unlink(path);
	rmdir(dir);
	free(dir);
	free(text);
}
END_TEST

/* The pieces of text by pattern: 0 with the message, or the error. */
static int
pretok_run(const char *pattern, const uint8_t *text, size_t len, size_t *npieces,
    struct ad_error *e)
{
	struct pretok      *p;
	struct pretok_iter *it;
	size_t              a, z, pos = 0;
	int                 rc;

	*npieces = 0;
	if ((rc = pretok_new(&p, pattern, e)) != 0)
		return rc;
	ck_assert_int_eq(pretok_iter_new(p, &it, e), 0);
	pretok_start(it, text, len, len);
	while ((rc = pretok_next(it, &a, &z, e)) == 1) {
		/* Pieces cover the text in order, none empty. */
		ck_assert_uint_eq(a, pos);
		ck_assert_uint_gt(z, a);
		pos = z;
		(*npieces)++;
	}
	if (rc == 0)
		ck_assert_uint_eq(pos, len);
	pretok_iter_free(it);
	pretok_free(p);
	return rc;
}

/*
 * Hostile patterns end with an error that says what is wrong, quickly:
 * exponential backtracking (match limit), quadratic backtracking (the budget
 * across searches), deep recursion (heap limit, JIT stack), nesting and
 * sizes refused at compile time with a short message; patterns that match
 * only the empty string still cover the text and end.
 */
START_TEST(test_pattern_limits)
{
	size_t          big = 2000000, n;
	uint8_t        *s = malloc(big + 1);
	char            nest[700];
	struct ad_error e = { 0 };

	memset(s, 'a', big);
	s[3000] = 'b';
	ck_assert_int_eq(pretok_run("(a+)+$", s, 3001, &n, &e), AD_EDATA);
	ck_assert_msg(strstr(e.msg, "backtracks too much") != NULL, "%s", e.msg);
	ck_assert_int_eq(pretok_run("(*NO_JIT)(a+)+$", s, 3001, &n, &e), AD_EDATA);
	ck_assert_msg(strstr(e.msg, "backtracks too much") != NULL, "%s", e.msg);
	/* Each one-byte piece costs a search to the end of the line. */
	ck_assert_int_eq(pretok_run("(?:a|b)+c|a", s, 200000, &n, &e), AD_EDATA);
	ck_assert_msg(strstr(e.msg, "backtracks too much") != NULL, "%s", e.msg);
	ck_assert_int_eq(pretok_run("(*NO_JIT)a(?R)?", s, big, &n, &e), AD_EDATA);
	ck_assert_msg(strstr(e.msg, "heap limit") != NULL, "%s", e.msg);
	/* The same text is fine for a pattern that does not backtrack. */
	ck_assert_int_eq(pretok_run("a+", s, big, &n, &e), 0);
	ck_assert_uint_eq(n, 3);  /* a's, the b (a gap piece), a's */
	ck_assert_int_eq(pretok_run("gpt4", s, big, &n, &e), 0);
	/* Compile-time refusals, in one short line. */
	memset(nest, '(', 300);
	nest[300] = 'a';
	memset(nest + 301, ')', 300);
	nest[601] = '\0';
	ck_assert_int_eq(pretok_run(nest, s, 10, &n, &e), AD_EINVAL);
	ck_assert_msg(strstr(e.msg, "too deeply nested") != NULL, "%s", e.msg);
	ck_assert_uint_lt(strlen(e.msg), 200);
	ck_assert_int_eq(pretok_run("a{1000000}", s, 10, &n, &e), AD_EINVAL);
	ck_assert_msg(strstr(e.msg, "too big") != NULL, "%s", e.msg);
	ck_assert_int_eq(pretok_run("(?:a{0,65535}){0,65535}", s, 10, &n, &e), AD_EINVAL);
	ck_assert_msg(strstr(e.msg, "too large") != NULL, "%s", e.msg);
	/* Empty matches are never taken: the text becomes gap pieces. */
	ck_assert_int_eq(pretok_run("x*", s, 1000, &n, &e), 0);
	ck_assert_uint_eq(n, (1000 + PRETOK_GAP_MAX - 1) / PRETOK_GAP_MAX);
	ck_assert_int_eq(pretok_run("(?=a)|\\b|$", s, 1000, &n, &e), 0);
	ck_assert_uint_eq(n, (1000 + PRETOK_GAP_MAX - 1) / PRETOK_GAP_MAX);
	free(s);
}
END_TEST

/*
 * A megabyte of NUL bytes is one piece (gpt4's " ?[^\s\p{L}\p{N}]+"): with
 * 2^20 of them, merges (worked by hand) join equal halves 19 times, tokens
 * of 2^1 .. 2^19 bytes, until two symbols are left whose pair occurs once;
 * the text then encodes as two ids and decodes back. (Rewriting a word in
 * place per occurrence, or trying every split of every token when building
 * the pair table, made this take hours.)
 */
START_TEST(test_train_long_piece)
{
	size_t                 len = (size_t)1 << 20, blen = 0, bcap = 0, n;
	char                  *z = calloc(len, 1);
	struct bpe_train_stats st;
	struct bpe            *b = train_text(z, len, 4096, "gpt4", NORM_NONE, 0, NULL, 0, 2, &st);
	uint32_t              *ids;
	uint8_t               *back = NULL;
	struct ad_error        e = { 0 };

	ck_assert_uint_eq(st.merges, 19);
	ck_assert_uint_eq(bpe_vocab_size(b), 256 + 19);
	for (uint32_t k = 1; k <= 19; k++) {
		size_t tl;
		bpe_token_bytes(b, 255 + k, &tl);
		ck_assert_uint_eq(tl, (size_t)1 << k);
	}
	n = encode_all(b, z, len, &ids, 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(ids[0], 255 + 19);
	ck_assert_uint_eq(ids[1], 255 + 19);
	ck_assert_int_eq(bpe_decode(b, ids, n, &back, &blen, &bcap, &e), 0);
	ck_assert_uint_eq(blen, len);
	ck_assert_int_eq(memcmp(back, z, len), 0);
	ad_free(ids);
	ad_free(back);
	bpe_free(b);
	free(z);
}
END_TEST

static Suite *
text_suite(void)
{
	Suite *s = suite_create("text");
	TCase *t = tcase_create("core");

	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_wikipedia_merges);
	tcase_add_test(t, test_train_vs_brute_force);
	tcase_add_test(t, test_tiktoken_subset);
	tcase_add_test(t, test_tiktoken_unicode);
	tcase_add_test(t, test_tiktoken_specials);
	tcase_add_test(t, test_roundtrip_random);
	tcase_add_test(t, test_roundtrip_edges);
	tcase_add_test(t, test_pretok);
	tcase_add_test(t, test_pretok_interpreter);
	tcase_add_test(t, test_pretok_classes);
	tcase_add_test(t, test_pretok_hand);
	tcase_add_test(t, test_normalize);
	tcase_add_test(t, test_normalized_roundtrip);
	tcase_add_test(t, test_specials);
	tcase_add_test(t, test_save_load);
	tcase_add_test(t, test_load_errors);
	tcase_add_test(t, test_alloc_failure);
	tcase_add_test(t, test_train_threads_identical);
	tcase_add_test(t, test_train_errors);
	tcase_add_test(t, test_cut_point);
	tcase_add_test(t, test_train_chunks);
	tcase_add_test(t, test_pattern_limits);
	tcase_add_test(t, test_train_long_piece);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return tu_run(text_suite());
}
