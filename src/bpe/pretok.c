/*
 * pretok.c — PCRE2 pre-tokenization with a byte-level fallback. See pretok.h.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "base/json.h"
#include "bpe/pretok.h"
#include "bpe/pretok_uni.h"

/*
 * Under valgrind the pattern is not JIT-compiled: the generated code keeps
 * state in memory that memcheck cannot follow and reports uninitialised
 * reads inside it unless PCRE2 itself was built with --enable-valgrind.
 * Matching is the same either way, only slower.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define PRETOK_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef PRETOK_UNDER_VALGRIND
#define PRETOK_UNDER_VALGRIND() 0
#endif

/*
 * Bounds on matching, so that a pattern that backtracks badly fails with a
 * clear error instead of running for hours or exhausting memory.
 *
 * Time. PCRE2 counts the steps of a search (backtracking points, group
 * entries; the JIT counts in its own way) and stops at the match limit.
 * Exponential patterns ("(a+)+$" on "aaaa...b") hit any limit quickly, but
 * a limit per search is not enough: "(?:a|b)+c|a" on a line of n a's costs
 * about n steps for each one-byte piece, n^2 in all. So the iterator keeps
 * a budget across all its searches: it starts with PRETOK_BUDGET steps and
 * earns PRETOK_STEPS_PER_BYTE for every byte its pieces cover. A search
 * first runs with a limit of PRETOK_FIRST_LIMIT steps (ordinary pieces need
 * far fewer; not charged) and, when that is not enough, again with twice the
 * limit each time, each failed attempt charged, up to what the budget could
 * hold if the piece covered the whole rest of the text. The steps PCRE2
 * counts are then linear in the text: fewer than PRETOK_BUDGET plus
 * 3 (PRETOK_FIRST_LIMIT + PRETOK_STEPS_PER_BYTE) per byte. The built-in
 * patterns need under 2 per byte, even on 100 MB runs of one character
 * (spaces, newlines, letters, digits, punctuation, NUL), with or without
 * the JIT. What PCRE2 does not count is not bounded: a single-character
 * repeat scans in a tight loop, so "a+c|a" still takes time quadratic in
 * the length of a line of a's.
 *
 * Memory. The depth and heap limits bound the interpreter's backtracking
 * frames; the JIT uses its own stack, at most PRETOK_JIT_STACK bytes.
 */
#define PRETOK_BUDGET         10000000
#define PRETOK_STEPS_PER_BYTE 16
#define PRETOK_FIRST_LIMIT    256
#define PRETOK_DEPTH_LIMIT    1000000u
#define PRETOK_HEAP_LIMIT_KIB (64u * 1024)
#define PRETOK_JIT_STACK      (64u * 1024 * 1024)

/* Which matcher cuts the text (see "The hand-written matcher" below). */
enum pretok_hand {
	PRETOK_PCRE2 = 0,      /* a user pattern, or a built-in one after pretok_use_pcre2 */
	PRETOK_HAND_GPT2,
	PRETOK_HAND_GPT4,
	PRETOK_HAND_O200K
};

struct pretok {
	char       *pattern;   /* as given (built-in names expanded) */
	int         builtin;
	int         hand;      /* enum pretok_hand */
	uint8_t    *bmp;       /* (65536) class of every BMP code point, for hand */
	pcre2_code *code;      /* always compiled: user patterns, and the tests' oracle */
	int         jit;       /* JIT compilation succeeded */
};

struct pretok_iter {
	const struct pretok *p;
	pcre2_match_data    *md;
	pcre2_match_context *mc;
	pcre2_jit_stack     *stack;
	const uint8_t       *s;
	size_t               len, stop;
	size_t               pos;       /* first byte not handed out */
	size_t               ms, me;    /* the next match, when have */
	int                  have, done;
	int64_t              budget;    /* matching steps left (see PRETOK_BUDGET) */
	uint64_t             spent;     /* matching steps charged so far (messages) */
};

/* tiktoken's patterns (npm tiktoken 1.0.22, encoders/NAME.json, field pat_str). */
static const char pat_r50k[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
static const char pat_cl100k[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
static const char pat_o200k[] =
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

static const struct {
	const char *name;
	const char *canon;
	const char *pattern;
} pretok_names[] = {
	{ "gpt2",        "gpt2",  pat_r50k },
	{ "r50k",        "gpt2",  pat_r50k },
	{ "r50k_base",   "gpt2",  pat_r50k },
	{ "gpt4",        "gpt4",  pat_cl100k },
	{ "cl100k",      "gpt4",  pat_cl100k },
	{ "cl100k_base", "gpt4",  pat_cl100k },
	{ "o200k",       "o200k", pat_o200k },
	{ "o200k_base",  "o200k", pat_o200k },
};

/* Unicode White_Space (PropList.txt), the meaning of \s in Rust's regex crate. */
#define WS "\\t-\\r \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"

/*
 * The hand-written matcher of the built-in patterns.
 *
 * PCRE2 (10.42 here) classifies characters with Unicode 14 tables; the
 * regex engine inside tiktoken knows a newer Unicode (pretok_uni.h), so on
 * letters, marks and digits added since, PCRE2 cuts the text where tiktoken
 * does not. The three built-in patterns are therefore matched by hand, on
 * the classes of tiktoken's own engine; PCRE2 still runs user patterns, and
 * check_bpe runs it on the built-in ones as the oracle of this code (on
 * characters both tables know, random strings must give the same pieces).
 *
 * Both engines take the first alternative that matches at the leftmost
 * position, and within it the greediest repeat that lets the rest match;
 * the functions below follow the alternatives in order and settle each
 * repeat's backtracking by reasoning on the classes (written out at each).
 * Every valid character starts a match of each pattern, so a piece always
 * starts where the last one ended. Invalid UTF-8 is matched by nothing and
 * stops every repeat and look-ahead as the end of the text does (PCRE2's
 * MATCH_INVALID_UTF); its bytes are pieces of their own, at most
 * PRETOK_GAP_MAX each, as in the PCRE2 path.
 *
 * Classes, as bit masks of enum pretok_class: L = \p{L}; N = \p{N}; WS = \s;
 * O = [^\s\p{L}\p{N}] (punctuation, symbols, controls, marks); UP = o200k's
 * [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]; LO = o200k's [\p{Ll}\p{Lm}\p{Lo}\p{M}].
 * P = [^\r\n\p{L}\p{N}] is O, or WS other than \r and \n.
 */
#define B(c)    (1u << (c))
#define CL_L    (B(PRETOK_LU) | B(PRETOK_LL) | B(PRETOK_LT) | B(PRETOK_LM) | B(PRETOK_LO))
#define CL_N    B(PRETOK_N)
#define CL_WS   B(PRETOK_WS)
#define CL_O    (B(PRETOK_OTHER) | B(PRETOK_M))
#define CL_UP   (B(PRETOK_LU) | B(PRETOK_LT) | B(PRETOK_LM) | B(PRETOK_LO) | B(PRETOK_M))
#define CL_LO   (B(PRETOK_LL) | B(PRETOK_LM) | B(PRETOK_LO) | B(PRETOK_M))

/* The class of a code point above the BMP: the run holding it. */
static unsigned
uni_astral(uint32_t cp)
{
	size_t lo = 0, hi = pretok_uni_nruns;  /* runs[lo] <= cp < runs[hi] */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (pretok_uni_runs[mid] >> 4 <= cp)
			lo = mid;
		else
			hi = mid;
	}
	return pretok_uni_runs[lo] & 15;
}

/* The class of every BMP code point, from the runs (65536 bytes). */
static uint8_t *
pretok_bmp_new(void)
{
	uint8_t *t = ad_malloc(65536);

	if (t == NULL)
		return NULL;
	for (size_t r = 0; r < pretok_uni_nruns && pretok_uni_runs[r] >> 4 < 65536; r++) {
		uint32_t a = pretok_uni_runs[r] >> 4;
		uint32_t z = r + 1 < pretok_uni_nruns ? pretok_uni_runs[r + 1] >> 4 : 65536;
		memset(t + a, (int)(pretok_uni_runs[r] & 15), (z > 65536 ? 65536 : z) - a);
	}
	return t;
}

/*
 * The class of the character at s[i..n) and its length in *len: PRETOK_BAD
 * with *len 1 for a byte that does not start valid UTF-8 (the same test as
 * PCRE2's: no overlong forms, surrogates or code points past U+10FFFF), and
 * with *len 0 at the end.
 */
static inline unsigned
uni_at(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i, size_t *len)
{
	unsigned c;
	uint32_t cp;

	if (i >= n) {
		*len = 0;
		return PRETOK_BAD;
	}
	c = s[i];
	if (c < 0x80) {
		*len = 1;
		return bmp[c];
	}
	/* Two bytes: C2..DF, a continuation byte. */
	if (c >= 0xc2 && c <= 0xdf && i + 1 < n && (s[i + 1] & 0xc0) == 0x80) {
		*len = 2;
		return bmp[(c & 0x1fu) << 6 | (s[i + 1] & 0x3fu)];
	}
	/* Three: E0..EF, then A0..BF after E0 (not overlong), 80..9F after ED
	 * (no surrogates), else 80..BF; a continuation byte. */
	if (c >= 0xe0 && c <= 0xef && i + 2 < n && (s[i + 2] & 0xc0) == 0x80 &&
	    s[i + 1] >= (c == 0xe0 ? 0xa0 : 0x80) && s[i + 1] <= (c == 0xed ? 0x9f : 0xbf)) {
		*len = 3;
		return bmp[(c & 0x0fu) << 12 | (s[i + 1] & 0x3fu) << 6 | (s[i + 2] & 0x3fu)];
	}
	/* Four: F0..F4, then 90..BF after F0, 80..8F after F4 (at most
	 * U+10FFFF), else 80..BF; two continuation bytes. */
	if (c >= 0xf0 && c <= 0xf4 && i + 3 < n && (s[i + 2] & 0xc0) == 0x80 &&
	    (s[i + 3] & 0xc0) == 0x80 && s[i + 1] >= (c == 0xf0 ? 0x90 : 0x80) &&
	    s[i + 1] <= (c == 0xf4 ? 0x8f : 0xbf)) {
		*len = 4;
		cp = (c & 0x07u) << 18 | (s[i + 1] & 0x3fu) << 12 | (s[i + 2] & 0x3fu) << 6 |
		    (s[i + 3] & 0x3fu);
		return uni_astral(cp);
	}
	*len = 1;
	return PRETOK_BAD;
}

/* The end of the longest run of characters of classes mask from i. */
static size_t
hand_run(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i, unsigned mask)
{
	size_t l;

	for (;;) {
		/* ASCII, most of most text, without the decoder. */
		while (i < n && s[i] < 0x80 && (B(bmp[s[i]]) & mask) != 0)
			i++;
		if (i >= n || s[i] < 0x80 || (B(uni_at(bmp, s, n, i, &l)) & mask) == 0)
			return i;
		i += l;
	}
}

/* The end of [\r\n]* from i, or of [\r\n/]* with slash. */
static size_t
hand_newlines(const uint8_t *s, size_t n, size_t i, int slash)
{
	while (i < n && (s[i] == '\r' || s[i] == '\n' || (slash && s[i] == '/')))
		i++;
	return i;
}

/*
 * The length of a contraction at i, or 0: 's|'t|'re|'ve|'m|'ll|'d, and
 * with ci as (?i:...), where both engines fold case the Unicode way: only
 * s has a variant outside ASCII, U+017F LATIN SMALL LETTER LONG S
 * (tests/tiktoken-oracle.js classes checks this on tiktoken's engine).
 */
static size_t
hand_contraction(const uint8_t *s, size_t n, size_t i, int ci)
{
	unsigned a, b;

	if (i + 1 >= n || s[i] != '\'')
		return 0;
	a = s[i + 1];
	b = i + 2 < n ? s[i + 2] : 0;
	if (ci) {
		if (a == 0xc5 && b == 0xbf)
			return 3;
		a = a >= 'A' && a <= 'Z' ? a + 32 : a;
		b = b >= 'A' && b <= 'Z' ? b + 32 : b;
	}
	switch (a) {
	case 's': case 't': case 'm': case 'd':
		return 2;
	case 'r': case 'v':
		return b == 'e' ? 3 : 0;
	case 'l':
		return b == 'l' ? 3 : 0;
	}
	return 0;
}

/*
 * At i, a \s character: the end of \s*[\r\n]+ (tried first when nl), else of
 * \s+(?!\S), else of \s+.
 *
 * \s*[\r\n]+: \s* takes the whole run of spaces and gives characters back
 * from its end until [\r\n]+ can start; that is at the last \r or \n of the
 * run, and [\r\n]+ then ends after it (what follows is a space that is not
 * \r or \n, or the end of the run). No \r or \n in the run: no match.
 * \s+(?!\S): the whole run when what follows is not a character (the end,
 * or invalid UTF-8); else the run less its last character (which is the
 * \s the look-ahead then sees), when the run has two characters or more.
 * \s+: the whole run, which is then one character followed by \S.
 */
static size_t
hand_spaces(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i, int nl)
{
	size_t e = i, last = i, nl_end = 0, l;

	while (uni_at(bmp, s, n, e, &l) == PRETOK_WS) {
		if (s[e] == '\r' || s[e] == '\n')
			nl_end = e + 1;
		last = e;
		e += l;
	}
	if (nl && nl_end != 0)
		return nl_end;
	if (uni_at(bmp, s, n, e, &l) == PRETOK_BAD)
		return e;
	return last > i ? last : e;
}

/*
 * gpt2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * The contractions (case-sensitive); then ` ?X+` for X = L, N, O in turn:
 * with the space when a space is followed by X, else without it when the
 * character is X (a space is never X, so the two never compete); then the
 * spaces (hand_spaces, without the newline alternative).
 */
static size_t
hand_gpt2(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i)
{
	static const unsigned cls[3] = { CL_L, CL_N, CL_O };
	size_t   l0, l1, k;
	unsigned c0, c1;

	if ((k = hand_contraction(s, n, i, 0)) != 0)
		return i + k;
	c0 = uni_at(bmp, s, n, i, &l0);
	c1 = s[i] == ' ' ? uni_at(bmp, s, n, i + 1, &l1) : PRETOK_BAD;
	for (int a = 0; a < 3; a++) {
		if (B(c1) & cls[a])
			return hand_run(bmp, s, n, i + 1, cls[a]);
		if (B(c0) & cls[a])
			return hand_run(bmp, s, n, i, cls[a]);
	}
	return hand_spaces(bmp, s, n, i, 0);
}

/*
 * The alternatives gpt4 and o200k share after their letter runs, from i
 * whose character c0 is l0 bytes long: \p{N}{1,3}, then ` ?O+` followed by
 * newlines (and slashes for o200k), then the spaces.
 */
static size_t
hand_rest(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i, unsigned c0, size_t l0,
    int slash)
{
	size_t   e, l1;
	unsigned c1;

	if (c0 == PRETOK_N) {
		e = i + l0;
		for (int d = 1; d < 3 && uni_at(bmp, s, n, e, &l1) == PRETOK_N; d++)
			e += l1;
		return e;
	}
	c1 = s[i] == ' ' ? uni_at(bmp, s, n, i + 1, &l1) : PRETOK_BAD;
	if (B(c1) & CL_O)
		return hand_newlines(s, n, hand_run(bmp, s, n, i + 1, CL_O), slash);
	if (B(c0) & CL_O)
		return hand_newlines(s, n, hand_run(bmp, s, n, i, CL_O), slash);
	return hand_spaces(bmp, s, n, i, 1);
}

/*
 * gpt4 (cl100k_base):
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d)       1. hand_contraction, any case
 *   |[^\r\n\p{L}\p{N}]?\p{L}+          2. with P when P is followed by L, else L+
 *   |\p{N}{1,3}                        3. up to three N
 *   | ?[^\s\p{L}\p{N}]+[\r\n]*         4. as gpt2's ` ?O+`, then newlines
 *   |\s*[\r\n]+|\s+(?!\S)|\s+          5-7. hand_spaces
 */
static size_t
hand_gpt4(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i)
{
	size_t   l0, l1, k;
	unsigned c0;

	if ((k = hand_contraction(s, n, i, 1)) != 0)
		return i + k;
	c0 = uni_at(bmp, s, n, i, &l0);
	if ((B(c0) & (CL_O | CL_WS)) != 0 && s[i] != '\r' && s[i] != '\n' &&
	    (B(uni_at(bmp, s, n, i + l0, &l1)) & CL_L) != 0)
		return hand_run(bmp, s, n, i + l0, CL_L);
	if (B(c0) & CL_L)
		return hand_run(bmp, s, n, i, CL_L);
	return hand_rest(bmp, s, n, i, c0, l0, 0);
}

/*
 * o200k's [UP]*[LO]+C? from i (C the contractions, any case), or 0 when it
 * does not match. [UP]* takes the whole run of UP; if Ll follows (the only
 * LO class outside UP), [LO]+ takes the run of LO from there. Otherwise
 * [UP]* gives characters back until [LO]+ can start, at the last LO
 * character of the run (Lm, Lo or a mark), and [LO]+ ends after it (what
 * follows is Lu, Lt, or the end of the run: not LO). C? is taken when it
 * is there.
 */
static size_t
hand_o200k_lower(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i)
{
	size_t   lo_end = 0, l, e;
	unsigned c;

	while ((B(c = uni_at(bmp, s, n, i, &l)) & CL_UP) != 0) {
		if (B(c) & CL_LO)
			lo_end = i + l;
		i += l;
	}
	if (c == PRETOK_LL)
		e = hand_run(bmp, s, n, i, CL_LO);
	else if (lo_end != 0)
		e = lo_end;
	else
		return 0;
	return e + hand_contraction(s, n, e, 1);
}

/* o200k's [UP]+[LO]*C? from i, or 0: all greedy, nothing to give back. */
static size_t
hand_o200k_upper(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i)
{
	size_t e = hand_run(bmp, s, n, i, CL_UP);

	if (e == i)
		return 0;
	e = hand_run(bmp, s, n, e, CL_LO);
	return e + hand_contraction(s, n, e, 1);
}

/*
 * o200k (o200k_base), with P = [^\r\n\p{L}\p{N}], UP and LO as above:
 *   P?[UP]*[LO]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?    1. hand_o200k_lower, with P first
 *   |P?[UP]+[LO]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?   2. hand_o200k_upper, with P first
 *   |\p{N}{1,3}                                  3. up to three N
 *   | ?[^\s\p{L}\p{N}]+[\r\n/]*                  4. as gpt4's, newlines or slashes
 *   |\s*[\r\n]+|\s+(?!\S)|\s+                    5-7. hand_spaces
 * P? is tried with the character first and then without: a mark is both P
 * and UP/LO, so both ways can match.
 */
static size_t
hand_o200k(const uint8_t *bmp, const uint8_t *s, size_t n, size_t i)
{
	size_t   l0, e;
	unsigned c0;
	int      p;

	c0 = uni_at(bmp, s, n, i, &l0);
	p = (B(c0) & (CL_O | CL_WS)) != 0 && s[i] != '\r' && s[i] != '\n';
	if ((p && (e = hand_o200k_lower(bmp, s, n, i + l0)) != 0) ||
	    (e = hand_o200k_lower(bmp, s, n, i)) != 0 ||
	    (p && (e = hand_o200k_upper(bmp, s, n, i + l0)) != 0) ||
	    (e = hand_o200k_upper(bmp, s, n, i)) != 0)
		return e;
	return hand_rest(bmp, s, n, i, c0, l0, 1);
}

/*
 * The end of the piece that starts at i < n: a match of the pattern, or
 * the invalid bytes from i up to the next character (at most PRETOK_GAP_MAX).
 */
static size_t
hand_piece(const struct pretok *p, const uint8_t *s, size_t n, size_t i)
{
	size_t l, e;

	if (uni_at(p->bmp, s, n, i, &l) == PRETOK_BAD) {
		e = i + 1;
		while (e < n && e - i < PRETOK_GAP_MAX && uni_at(p->bmp, s, n, e, &l) == PRETOK_BAD)
			e++;
		return e;
	}
	switch (p->hand) {
	case PRETOK_HAND_GPT2:
		return hand_gpt2(p->bmp, s, n, i);
	case PRETOK_HAND_GPT4:
		return hand_gpt4(p->bmp, s, n, i);
	default:
		return hand_o200k(p->bmp, s, n, i);
	}
}

const char *
pretok_builtin(const char *name)
{
	for (size_t i = 0; i < sizeof pretok_names / sizeof pretok_names[0]; i++)
		if (strcmp(name, pretok_names[i].name) == 0)
			return pretok_names[i].pattern;
	return NULL;
}

const char *
pretok_builtin_name(const char *pattern)
{
	for (size_t i = 0; i < sizeof pretok_names / sizeof pretok_names[0]; i++)
		if (strcmp(pattern, pretok_names[i].pattern) == 0)
			return pretok_names[i].canon;
	return NULL;
}

/*
 * Rewrite \s and \S to White_Space classes, outside \Q...\E. Inside a
 * character class \s becomes the list of ranges; \S inside a class (which a
 * list cannot express) is left to PCRE2. Returns a new string or NULL.
 */
static char *
pretok_rewrite(const char *p)
{
	size_t n = strlen(p), cap = n * 8 + 64 + 1, k = 0;
	char  *out = ad_malloc(cap);
	int    in_class = 0, in_quote = 0;

	if (out == NULL)
		return NULL;
#define EMIT(str) do { size_t l_ = strlen(str); memcpy(out + k, (str), l_); k += l_; } while (0)
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (k + 2 * sizeof WS + n + 8 > cap) {
			char *o2;
			cap = cap * 2 + 2 * sizeof WS + n + 8;
			if ((o2 = ad_realloc(out, cap)) == NULL) {
				ad_free(out);
				return NULL;
			}
			out = o2;
		}
		if (in_quote) {
			if (c == '\\' && p[i + 1] == 'E') {
				in_quote = 0;
				EMIT("\\E");
				i++;
			} else {
				out[k++] = c;
			}
			continue;
		}
		if (c == '\\') {
			char d = p[i + 1];
			if (d == '\0') {
				out[k++] = c;
				continue;
			}
			i++;
			if (d == 'Q') {
				in_quote = 1;
				EMIT("\\Q");
			} else if (d == 's') {
				EMIT(in_class ? WS : "[" WS "]");
			} else if (d == 'S' && !in_class) {
				EMIT("[^" WS "]");
			} else {
				out[k++] = c;
				out[k++] = d;
			}
			continue;
		}
		if (in_class) {
			if (c == '[' && p[i + 1] == ':') {  /* [:alpha:] */
				const char *end = strstr(p + i + 2, ":]");
				if (end != NULL) {
					size_t l = (size_t)(end + 2 - (p + i));
					memcpy(out + k, p + i, l);
					k += l;
					i += l - 1;
					continue;
				}
			}
			if (c == ']')
				in_class = 0;
			out[k++] = c;
			continue;
		}
		out[k++] = c;
		if (c == '[') {
			in_class = 1;
			if (p[i + 1] == '^')
				out[k++] = p[++i];
			if (p[i + 1] == ']')  /* a leading ] is literal */
				out[k++] = p[++i];
		}
	}
#undef EMIT
	out[k] = '\0';
	return out;
}

int
pretok_new(struct pretok **out, const char *pattern, struct ad_error *e)
{
	struct pretok *p;
	const char    *regex = pretok_builtin(pattern);
	char          *rw;
	int            errcode;
	PCRE2_SIZE     erroff;
	PCRE2_UCHAR    msg[256];
	size_t         jitsize = 0;

	if (regex == NULL)
		regex = pattern;
	if (*regex == '\0')
		return ad_fail(e, AD_EINVAL, "pattern: the regular expression is empty");
	if (strpbrk(regex, "\n\r") != NULL)
		return ad_fail(e, AD_EINVAL, "pattern: a literal newline or carriage return in the "
		    "regular expression; write \\n or \\r instead");
	if ((p = ad_calloc(1, sizeof *p)) == NULL || (p->pattern = ad_strdup(regex)) == NULL ||
	    (rw = pretok_rewrite(regex)) == NULL) {
		if (p != NULL)
			ad_free(p->pattern);
		ad_free(p);
		return ad_fail(e, AD_ENOMEM, "out of memory compiling the pattern");
	}
	p->builtin = pretok_builtin_name(regex) != NULL;
	if (p->builtin) {
		const char *canon = pretok_builtin_name(regex);
		p->hand = strcmp(canon, "gpt2") == 0 ? PRETOK_HAND_GPT2 :
		    strcmp(canon, "gpt4") == 0 ? PRETOK_HAND_GPT4 : PRETOK_HAND_O200K;
		if ((p->bmp = pretok_bmp_new()) == NULL) {
			ad_free(rw);
			ad_free(p->pattern);
			ad_free(p);
			return ad_fail(e, AD_ENOMEM, "out of memory compiling the pattern");
		}
	}
	p->code = pcre2_compile((PCRE2_SPTR)rw, PCRE2_ZERO_TERMINATED,
	    PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_DOLLAR_ENDONLY, &errcode,
	    &erroff, NULL);
	ad_free(rw);
	if (p->code == NULL) {
		pcre2_get_error_message(errcode, msg, sizeof msg);
		/* The offset is in the rewritten pattern; it equals the user's offset
		 * unless \s or \S came before it, which are rarely the culprit. */
		ad_fail(e, AD_EINVAL, "pattern '%.*s%s': bad regular expression at offset %zu: %s",
		    (int)(strlen(regex) > 60 ? 60 : strlen(regex)), regex, strlen(regex) > 60 ?
		    "..." : "", (size_t)erroff, (const char *)msg);
		ad_free(p->bmp);
		ad_free(p->pattern);
		ad_free(p);
		return AD_EINVAL;
	}
	/* (*NO_JIT) in a pattern makes the JIT "succeed" with no code. */
	p->jit = !PRETOK_UNDER_VALGRIND() && pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0 &&
	    pcre2_pattern_info(p->code, PCRE2_INFO_JITSIZE, &jitsize) == 0 && jitsize > 0;
	*out = p;
	return 0;
}

void
pretok_free(struct pretok *p)
{
	if (p == NULL)
		return;
	pcre2_code_free(p->code);
	ad_free(p->bmp);
	ad_free(p->pattern);
	ad_free(p);
}

const char *
pretok_pattern(const struct pretok *p)
{
	return p->pattern;
}

int
pretok_is_builtin(const struct pretok *p)
{
	return p->builtin;
}

int
pretok_jit(const struct pretok *p)
{
	return p->jit;
}

void
pretok_no_jit(struct pretok *p)
{
	p->jit = 0;
}

int
pretok_hand(const struct pretok *p)
{
	return p->hand != PRETOK_PCRE2;
}

void
pretok_use_pcre2(struct pretok *p)
{
	p->hand = PRETOK_PCRE2;
}

const char *
pretok_unicode(void)
{
	return pretok_uni_version;
}

int
pretok_iter_new(const struct pretok *p, struct pretok_iter **out, struct ad_error *e)
{
	struct pretok_iter *it = ad_calloc(1, sizeof *it);

	if (it == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for the pre-tokenizer");
	it->p = p;
	it->md = pcre2_match_data_create_from_pattern(p->code, NULL);
	it->mc = pcre2_match_context_create(NULL);
	if (it->md == NULL || it->mc == NULL) {
		pretok_iter_free(it);
		return ad_fail(e, AD_ENOMEM, "out of memory for the pre-tokenizer");
	}
	/* The match limit is set before each search (pretok_search). */
	pcre2_set_depth_limit(it->mc, PRETOK_DEPTH_LIMIT);
	pcre2_set_heap_limit(it->mc, PRETOK_HEAP_LIMIT_KIB);
	it->budget = PRETOK_BUDGET;
	if (p->jit) {
		/* Long runs (a megabyte of spaces) need more than the 32 KiB default. */
		if ((it->stack = pcre2_jit_stack_create(32 * 1024, PRETOK_JIT_STACK, NULL)) == NULL) {
			pretok_iter_free(it);
			return ad_fail(e, AD_ENOMEM, "out of memory for the pre-tokenizer");
		}
		pcre2_jit_stack_assign(it->mc, NULL, it->stack);
	}
	*out = it;
	return 0;
}

void
pretok_iter_free(struct pretok_iter *it)
{
	if (it == NULL)
		return;
	pcre2_match_data_free(it->md);
	pcre2_match_context_free(it->mc);
	pcre2_jit_stack_free(it->stack);
	ad_free(it);
}

void
pretok_start(struct pretok_iter *it, const uint8_t *text, size_t len, size_t stop)
{
	it->s = text;
	it->len = len;
	it->stop = stop < len ? stop : len;
	it->pos = 0;
	it->have = 0;
	it->done = 0;
}

/*
 * The interpreter (no JIT: under valgrind, or where PCRE2 has no JIT)
 * checks the UTF-8 of the subject from the start offset to its end on every
 * call, which over a text of n bytes cut into pieces costs n^2 (300 s for a
 * megabyte of prose). So it is given a window: the subject cut at a
 * character boundary a little past it->pos, with PCRE2_PARTIAL_HARD, which
 * returns PCRE2_ERROR_PARTIAL whenever the search reached the cut, before
 * any complete match that might differ in the whole text; then, and when
 * nothing matched in the window, the window doubles. A window is used only
 * when it is valid UTF-8 (with invalid bytes the check stops at the first
 * one, so the whole subject costs little there). check_bpe compares the
 * pieces with the JIT's on prose, random bytes and a mixture.
 */
#define PRETOK_WINDOW 64

/* Bytes of s[0..n) that are whole, valid UTF-8 (as PCRE2 checks it). */
static size_t
utf8_valid_prefix(const uint8_t *s, size_t n)
{
	size_t i = 0, k;

	while (i < n && (k = ad_utf8_valid_len(s + i, n - i)) > 0)
		i += k;
	return i;
}

static int
pretok_interp_match(struct pretok_iter *it)
{
	size_t w = PRETOK_WINDOW;

	for (;;) {
		size_t   end = it->pos + w;
		uint32_t opt = PCRE2_NOTEMPTY;
		int      rc;
		if (end >= it->len || w >= it->len) {
			end = it->len;
		} else {
			/* Cut before a character, never inside one. */
			for (int k = 0; k < 3 && end > it->pos + 1 && (it->s[end] & 0xC0) == 0x80; k++)
				end--;
			if (utf8_valid_prefix(it->s + it->pos, end - it->pos) == end - it->pos)
				opt |= PCRE2_PARTIAL_HARD;
			else
				end = it->len;
		}
		rc = pcre2_match(it->p->code, it->s, end, it->pos, opt, it->md, it->mc);
		if (end < it->len && (rc == PCRE2_ERROR_PARTIAL || rc == PCRE2_ERROR_NOMATCH)) {
			w *= 2;
			continue;
		}
		return rc;
	}
}

/*
 * One search from it->pos under the budget (see PRETOK_BUDGET): the PCRE2
 * result code.
 */
static int
pretok_search(struct pretok_iter *it)
{
	/* The most this search may spend: what the budget would hold if the
	 * piece covered the rest of the text. */
	int64_t  most = it->budget + (int64_t)(it->len - it->pos) * PRETOK_STEPS_PER_BYTE;
	uint64_t lim = PRETOK_FIRST_LIMIT;
	int      rc;

	for (;;) {
		pcre2_set_match_limit(it->mc, (uint32_t)lim);
		if (it->p->jit)
			rc = pcre2_jit_match(it->p->code, it->s, it->len, it->pos, PCRE2_NOTEMPTY,
			    it->md, it->mc);
		else
			rc = pretok_interp_match(it);
		if (rc != PCRE2_ERROR_MATCHLIMIT)
			return rc;
		if (lim > PRETOK_FIRST_LIMIT) {
			it->budget -= (int64_t)lim;
			it->spent += lim;
		}
		if ((int64_t)lim >= most || lim >= UINT32_MAX)
			return rc;
		lim = lim * 2 > (uint64_t)most ? (uint64_t)most : lim * 2;
		if (lim > UINT32_MAX)
			lim = UINT32_MAX;
	}
}

int
pretok_next(struct pretok_iter *it, size_t *start, size_t *end, struct ad_error *e)
{
	size_t gap_end;
	int    rc;

	if (it->pos >= it->stop)
		return 0;
	if (it->p->hand != PRETOK_PCRE2) {
		*start = it->pos;
		*end = it->pos = hand_piece(it->p, it->s, it->len, it->pos);
		return 1;
	}
	if (!it->have && !it->done) {
		rc = pretok_search(it);
		if (rc >= 0) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(it->md);
			it->ms = ov[0];
			it->me = ov[1];
			it->have = 1;
			it->budget += (int64_t)(it->me - it->pos) * PRETOK_STEPS_PER_BYTE;
		} else if (rc == PCRE2_ERROR_NOMATCH) {
			it->done = 1;
			it->budget += (int64_t)(it->len - it->pos) * PRETOK_STEPS_PER_BYTE;
		} else if (rc == PCRE2_ERROR_MATCHLIMIT) {
			*start = it->pos;
			return ad_fail(e, AD_EDATA, "the pre-tokenization pattern backtracks too much "
			    "here: PCRE2's match limit was reached (%llu steps spent beyond the first "
			    "%d per piece); simplify the pattern (nested repeats such as (a+)+ take "
			    "exponential time)", (unsigned long long)it->spent, PRETOK_FIRST_LIMIT);
		} else {
			PCRE2_UCHAR msg[256];
			pcre2_get_error_message(rc, msg, sizeof msg);
			*start = it->pos;
			return ad_fail(e, AD_EDATA, "the pre-tokenization pattern fails here: %s "
			    "(it backtracks too deeply; simplify the pattern)", (const char *)msg);
		}
	}
	gap_end = it->have ? it->ms : it->len;
	if (it->pos < gap_end) {
		/* Bytes no match covers: pieces of their own, nothing lost. */
		*start = it->pos;
		*end = gap_end - it->pos > PRETOK_GAP_MAX ? it->pos + PRETOK_GAP_MAX : gap_end;
		it->pos = *end;
		return 1;
	}
	*start = it->ms;
	*end = it->me;
	it->pos = it->me;
	it->have = 0;
	return 1;
}
