/*
 * pretok.h — pre-tokenization: cutting text into pieces with a regular
 * expression (PCRE2, JIT-compiled when the library supports it, or the
 * hand-written matcher of the built-in patterns), before BPE works inside
 * each piece.
 *
 * Patterns are PCRE2 syntax (JIT-compiled except under valgrind), compiled with UTF, UCP (so \p{L}, \w, \d are
 * Unicode), DOLLAR_ENDONLY ($ is the end of the text, as in Rust's regex
 * crate that tiktoken uses) and MATCH_INVALID_UTF (invalid UTF-8 never
 * matches but never stops the search either). \s and \S are rewritten to
 * mean exactly Unicode's White_Space property, as in Rust's regex crate;
 * PCRE2's own \s also matches U+180E. The built-in names are tiktoken's
 * patterns, byte for byte as the npm package tiktoken 1.0.22 defines them:
 *
 *   gpt2 (alias r50k)     GPT-2 and r50k_base
 *   gpt4 (alias cl100k)   cl100k_base
 *   o200k                 o200k_base
 *
 * The built-in patterns are matched by a hand-written matcher (pretok.c),
 * not by PCRE2: on the character classes of tiktoken's own regex engine
 * (pretok_uni.h, Unicode 16.0), where PCRE2 here knows Unicode 14, so that
 * letters, marks and digits of newer Unicode are cut as tiktoken cuts them.
 * It gives PCRE2's pieces wherever both tables agree (check_bpe), about
 * twice as fast as the JIT (bench/pretok.sh).
 *
 * Invariant: the pieces of a text cover it exactly, in order. Matches are
 * pieces; the bytes between matches (invalid UTF-8, or text a user pattern
 * does not match) become pieces of their own, at most PRETOK_GAP_MAX bytes
 * each, so that nothing is lost. Empty matches are never taken.
 *
 * A struct pretok is immutable and shared by threads; each thread iterates
 * with its own struct pretok_iter (which owns PCRE2 match data).
 */
#ifndef AD_PRETOK_H
#define AD_PRETOK_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define PRETOK_GAP_MAX 64

struct pretok;
struct pretok_iter;

/*
 * The regex for a built-in name (as written by tiktoken), or NULL when name
 * is not one. The canonical name of a pattern ("gpt2", "gpt4", "o200k") or
 * NULL for a user pattern.
 */
const char *pretok_builtin(const char *name);
const char *pretok_builtin_name(const char *pattern);

/*
 * Compile a pattern (a built-in name or a regex). A bad regex fails with
 * AD_EINVAL and a message naming the offset and PCRE2's complaint.
 */
int  pretok_new(struct pretok **out, const char *pattern, struct ad_error *e);
void pretok_free(struct pretok *p);
/* The regex as given (a built-in name is expanded). */
const char *pretok_pattern(const struct pretok *p);
/* Whether the pattern is built in (then parallel splitting is exact, see bpe.h). */
int  pretok_is_builtin(const struct pretok *p);
int  pretok_jit(const struct pretok *p);
/* Match with the interpreter from now on (tests: the two must agree). */
void pretok_no_jit(struct pretok *p);
/*
 * Whether a built-in pattern is matched by the hand-written matcher (it is,
 * from pretok_new on); pretok_use_pcre2 switches it to PCRE2 (tests: the
 * oracle on characters PCRE2's tables know; benchmarks).
 */
int  pretok_hand(const struct pretok *p);
void pretok_use_pcre2(struct pretok *p);
/* The Unicode version of the hand-written matcher's classes ("16.0"). */
const char *pretok_unicode(void);

int  pretok_iter_new(const struct pretok *p, struct pretok_iter **out, struct ad_error *e);
void pretok_iter_free(struct pretok_iter *it);
/*
 * Start on subject text[0..len); pieces are handed out while they start
 * before stop (stop <= len; the bytes after stop are context for look-ahead).
 */
void pretok_start(struct pretok_iter *it, const uint8_t *text, size_t len, size_t stop);
/*
 * The next piece as [*start, *end): 1, 0 at the end, or an error: the
 * pattern backtracks too much (a budget of matching steps that grows with
 * the text covered, see pretok.c) or too deeply (PCRE2's depth, heap or
 * JIT stack limit). On an error *start is where the failed search began.
 */
int  pretok_next(struct pretok_iter *it, size_t *start, size_t *end, struct ad_error *e);

#endif
