/*
 * norm.c — normalization of valid UTF-8 runs with utf8proc, invalid bytes
 * passed through. See norm.h.
 */
#include "config.h"

#include <string.h>
#include <utf8proc.h>

#include "base/json.h"
#include "bpe/norm.h"

int
norm_parse(const char *name, enum norm_mode *mode)
{
	if (strcmp(name, "none") == 0)
		*mode = NORM_NONE;
	else if (strcmp(name, "nfc") == 0)
		*mode = NORM_NFC;
	else if (strcmp(name, "nfkc") == 0)
		*mode = NORM_NFKC;
	else
		return AD_EINVAL;
	return 0;
}

const char *
norm_name(enum norm_mode mode)
{
	switch (mode) {
	case NORM_NFC:  return "nfc";
	case NORM_NFKC: return "nfkc";
	default:        return "none";
	}
}

/* Make room for extra more output bytes. */
static int
norm_reserve(struct norm_buf *nb, size_t extra)
{
	size_t   want, cap;
	uint8_t *p;

	if (extra > SIZE_MAX - nb->len)
		return AD_ENOMEM;
	want = nb->len + extra;
	if (want <= nb->cap)
		return 0;
	cap = nb->cap ? nb->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	if ((p = ad_realloc(nb->out, cap)) == NULL)
		return AD_ENOMEM;
	nb->out = p;
	nb->cap = cap;
	return 0;
}

/* Normalize one stretch of valid UTF-8 that contains non-ASCII characters. */
static int
norm_slow(struct norm_buf *nb, int options, const uint8_t *s, size_t n, struct ad_error *e)
{
	utf8proc_ssize_t k, m;
	size_t           need;

	for (;;) {
		k = utf8proc_decompose(s, (utf8proc_ssize_t)n, nb->cp, (utf8proc_ssize_t)nb->cpcap,
		    (utf8proc_option_t)options);
		if (k < 0)  /* cannot happen on valid UTF-8; keep the bytes rather than lose them */
			goto copy;
		if ((size_t)k <= nb->cpcap)
			break;
		need = (size_t)k + 64;
		ad_free(nb->cp);
		if ((nb->cp = ad_mallocarray(need, sizeof *nb->cp)) == NULL) {
			nb->cpcap = 0;
			return ad_fail(e, AD_ENOMEM, "out of memory normalizing %zu bytes", n);
		}
		nb->cpcap = need;
	}
	m = utf8proc_normalize_utf32(nb->cp, k, (utf8proc_option_t)options);
	if (m < 0)
		goto copy;
	if (norm_reserve(nb, (size_t)m * 4) != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory normalizing %zu bytes", n);
	for (utf8proc_ssize_t i = 0; i < m; i++)
		nb->len += (size_t)utf8proc_encode_char(nb->cp[i], nb->out + nb->len);
	return 0;
copy:
	if (norm_reserve(nb, n) != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory normalizing %zu bytes", n);
	memcpy(nb->out + nb->len, s, n);
	nb->len += n;
	return 0;
}

/* Copy ASCII, lowercasing when case folding (the whole of casefold on ASCII). */
static void
norm_ascii(struct norm_buf *nb, int casefold, const uint8_t *s, size_t n)
{
	uint8_t *d = nb->out + nb->len;

	if (!casefold) {
		memcpy(d, s, n);
	} else {
		for (size_t i = 0; i < n; i++)
			d[i] = (uint8_t)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	}
	nb->len += n;
}

int
norm_apply(struct norm_buf *nb, enum norm_mode mode, int casefold, const uint8_t *text,
    size_t len, struct ad_error *e)
{
	int    options = UTF8PROC_STABLE;
	size_t i = 0, j, q, r;

	nb->len = 0;
	if (norm_reserve(nb, len + 1) != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory normalizing %zu bytes", len);
	if (mode == NORM_NFC)
		options |= UTF8PROC_COMPOSE;
	else if (mode == NORM_NFKC)
		options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
	if (casefold)
		options |= UTF8PROC_CASEFOLD;
	if (mode == NORM_NONE && !casefold) {
		memcpy(nb->out, text, len);
		nb->len = len;
		return 0;
	}
	while (i < len) {
		/* [i, j): a maximal run of valid UTF-8. */
		j = i;
		while (j < len) {
			size_t c = ad_utf8_valid_len(text + j, len - j);
			if (c == 0)
				break;
			j += c;
		}
		if (j == i) {  /* an invalid byte: passed through */
			if (norm_reserve(nb, 1) != 0)
				return ad_fail(e, AD_ENOMEM, "out of memory normalizing %zu bytes", len);
			nb->out[nb->len++] = text[i++];
			continue;
		}
		/*
		 * Within the run, an ASCII character followed by another ASCII
		 * character (or the end) is a normalization boundary: no canonical
		 * composition has an ASCII second element, and nothing reorders
		 * around a starter. So ASCII stretches are copied and only the
		 * stretches around non-ASCII characters go through utf8proc (with
		 * the ASCII character before them, which a combining mark may join).
		 */
		while (i < j) {
			q = i;
			while (q < j && text[q] < 0x80)
				q++;
			if (q == j) {
				if (norm_reserve(nb, j - i) != 0)
					return ad_fail(e, AD_ENOMEM, "out of memory normalizing");
				norm_ascii(nb, casefold, text + i, j - i);
				i = j;
				break;
			}
			if (q > i + 1) {
				if (norm_reserve(nb, q - 1 - i) != 0)
					return ad_fail(e, AD_ENOMEM, "out of memory normalizing");
				norm_ascii(nb, casefold, text + i, q - 1 - i);
				i = q - 1;
			}
			r = q;
			while (r < j && !(text[r] < 0x80 && (r + 1 == j || text[r + 1] < 0x80)))
				r++;
			if (norm_slow(nb, options, text + i, r - i, e) != 0)
				return e ? e->code : AD_ENOMEM;
			i = r;
		}
	}
	return 0;
}

void
norm_buf_free(struct norm_buf *nb)
{
	if (nb == NULL)
		return;
	ad_free(nb->out);
	ad_free(nb->cp);
	memset(nb, 0, sizeof *nb);
}
