/*
 * norm.h — Unicode normalization of text before pre-tokenization (utf8proc).
 *
 * The input is any byte string. It is cut into maximal runs of valid UTF-8
 * (surrogate code points and overlong forms are invalid); every valid run is
 * normalized (NFC or NFKC, optionally case-folded) and every invalid byte is
 * passed through unchanged, in place. So normalization never fails on bad
 * input and never loses a byte it cannot interpret. Normalization is the
 * identity on ASCII (except case folding, which lowercases A-Z), so runs of
 * ASCII take a copying fast path and only the stretches around non-ASCII
 * characters go through utf8proc.
 *
 * A struct norm_buf is per-thread scratch that grows as needed and is reused.
 */
#ifndef AD_NORM_H
#define AD_NORM_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum norm_mode {
	NORM_NONE = 0,  /* bytes unchanged (case folding may still apply) */
	NORM_NFC  = 1,  /* canonical composition (UAX #15) */
	NORM_NFKC = 2,  /* compatibility composition (UAX #15) */
};

struct norm_buf {
	uint8_t *out;     /* the normalized bytes of the last call, len of them */
	size_t   len, cap;
	int32_t *cp;      /* utf8proc scratch: code points, cpcap of them */
	size_t   cpcap;
};

/* Parse "none", "nfc", "nfkc" (0 or AD_EINVAL). */
int         norm_parse(const char *name, enum norm_mode *mode);
const char *norm_name(enum norm_mode mode);

/*
 * Normalize text[0..len) into nb->out (nb->len bytes). mode NORM_NONE with
 * casefold 0 copies. Fails only for lack of memory.
 */
int  norm_apply(struct norm_buf *nb, enum norm_mode mode, int casefold, const uint8_t *text,
                size_t len, struct ad_error *e);
void norm_buf_free(struct norm_buf *nb);

#endif
