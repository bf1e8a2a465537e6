/*
 * arpa_write.c — stage 6a: the model as an ARPA file.
 *
 * Input: an estimate (m->g[n] sorted by ids, and the query tables).
 * Output: standard ARPA text, as lmplz writes it: the "\data\" header with
 * the count of each order, then per order "\n-grams:" and one line per
 * n-gram "log10p<TAB>w1 ... wn[<TAB>log10backoff]", the backoff column on
 * every order but the highest ("0" for a backoff of 1), and "\end\".
 * Unigrams come in id order (<unk>, <s>, </s>, then first appearance);
 * higher orders in id order. Values are float32 printed as the shortest
 * decimal that reads back as the same float, as lmplz prints them.
 *
 * A word model writes its words. A byte model writes byte b as the word
 * <0xHH> (two upper-case hex digits), so every byte, space and control
 * bytes included, is a valid ARPA word; a token model writes each token's
 * id in decimal, so that the ARPA of `tokenize encode` output by lmplz and
 * ours coincide.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "ngram/ngram_impl.h"

static const double arpa_pow10[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
	1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/* Digits m (p of them) times 10^(e10 - p + 1), written out; returns length. */
static size_t
arpa_put_digits(char *buf, int neg, uint64_t m, int p, int e10)
{
	char   d[24];
	size_t n = 0;

	for (int i = p - 1; i >= 0; i--) {
		d[i] = (char)('0' + m % 10);
		m /= 10;
	}
	if (neg)
		buf[n++] = '-';
	if (e10 >= -5 && e10 < 21) {
		if (e10 < 0) {
			buf[n++] = '0';
			buf[n++] = '.';
			for (int i = 0; i < -e10 - 1; i++)
				buf[n++] = '0';
			memcpy(buf + n, d, (size_t)p);
			n += (size_t)p;
		} else {
			for (int i = 0; i <= e10; i++)
				buf[n++] = i < p ? d[i] : '0';
			if (p > e10 + 1) {
				buf[n++] = '.';
				memcpy(buf + n, d + e10 + 1, (size_t)(p - e10 - 1));
				n += (size_t)(p - e10 - 1);
			}
		}
	} else {
		buf[n++] = d[0];
		if (p > 1) {
			buf[n++] = '.';
			memcpy(buf + n, d + 1, (size_t)(p - 1));
			n += (size_t)(p - 1);
		}
		n += (size_t)sprintf(buf + n, "e%d", e10);
	}
	buf[n] = '\0';
	return n;
}

/*
 * The shortest decimal that reads back as f. For p = 1, 2, ... digits the
 * nearest p-digit decimal is computed in double and kept when it rounds
 * to f; a candidate within double rounding error of the midpoint between
 * f and a neighbour is settled by strtof on its text, so the result always
 * round-trips.
 */
size_t
ngram_format_float(char *buf, float f)
{
	double a = fabs((double)f);
	int    neg = signbit(f) != 0, e10;

	if (f == 0.0f) {
		strcpy(buf, "0");
		return 1;
	}
	if (!isfinite(f)) {
		strcpy(buf, isnan(f) ? "nan" : neg ? "-inf" : "inf");
		return strlen(buf);
	}
	e10 = (int)floor(log10(a));
	for (int p = 1; p <= 9; p++) {
		int      k = p - 1 - e10, e = e10;
		double   mm, c;
		uint64_t m;

		if (k > 22 || k < -22)
			break;
		mm = k >= 0 ? nearbyint(a * arpa_pow10[k]) : nearbyint(a / arpa_pow10[-k]);
		c = k >= 0 ? mm / arpa_pow10[k] : mm * arpa_pow10[-k];
		m = (uint64_t)mm;
		if (m >= (uint64_t)arpa_pow10[p]) {   /* 9.99 rounded up to 10.0 */
			m /= 10;
			e++;
		}
		if ((float)c != (float)a)
			continue;
		{
			float  up = nextafterf((float)a, INFINITY), dn = nextafterf((float)a, 0.0f);
			double mid_up = (a + (double)up) / 2, mid_dn = (a + (double)dn) / 2;
			size_t len = arpa_put_digits(buf, neg, m, p, e);
			if (fabs(c - mid_up) > a * 1e-14 && fabs(c - mid_dn) > a * 1e-14)
				return len;
			if (strtof(buf, NULL) == f)
				return len;
		}
	}
	return (size_t)sprintf(buf, "%.9g", (double)f);
}

/* The ARPA word for id (see the file comment). */
static size_t
arpa_word(const struct ngram_est *m, uint32_t id, char *buf, const char **out)
{
	size_t len = (size_t)(m->vocab.off[id + 1] - m->vocab.off[id]);

	*out = m->vocab.text + m->vocab.off[id];
	if (m->cfg.unit == NGRAM_BYTES && id > NGRAM_EOS) {
		len = (size_t)sprintf(buf, "<0x%02X>", (unsigned)(uint8_t)(*out)[0]);
		*out = buf;
	}
	return len;
}

int
ngram_est_write_arpa(const struct ngram_est *m, const char *path, struct ad_error *e)
{
	struct ad_atomic a;
	uint32_t         N = m->cfg.order;
	char            *line;
	size_t           cap = 64 + (size_t)N * 64;
	int              rc;

	if ((rc = ad_atomic_open(&a, path, e)) != 0)
		return rc;
	if ((line = ad_malloc(cap)) == NULL) {
		ad_atomic_abort(&a);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	fputs("\\data\\\n", a.f);
	for (uint32_t n = 1; n <= N; n++)
		fprintf(a.f, "ngram %u=%zu\n", n, m->g[n].count);
	for (uint32_t n = 1; n <= N; n++) {
		fprintf(a.f, "\n\\%u-grams:\n", n);
		for (size_t i = 0; i < m->g[n].count; i++) {
			const uint32_t *r = m->g[n].rec + i * (n + 1);
			float           lp, lb;
			size_t          len;

			ngram_est_prob(m, n, i, &lp, &lb);
			len = ngram_format_float(line, lp);
			for (uint32_t t = 0; t < n; t++) {
				char        wb[16];
				const char *w;
				size_t      wl = arpa_word(m, r[t], wb, &w);
				if (len + wl + 32 > cap) {
					char *nl = ad_realloc(line, 2 * (len + wl + 32));
					if (nl == NULL) {
						ad_free(line);
						ad_atomic_abort(&a);
						return ad_fail(e, AD_ENOMEM, "out of memory");
					}
					line = nl;
					cap = 2 * (len + wl + 32);
				}
				line[len++] = t == 0 ? '\t' : ' ';
				memcpy(line + len, w, wl);
				len += wl;
			}
			if (n < N) {
				line[len++] = '\t';
				len += ngram_format_float(line + len, lb);
			}
			line[len++] = '\n';
			fwrite(line, 1, len, a.f);
		}
	}
	fputs("\n\\end\\\n", a.f);
	ad_free(line);
	if (ferror(a.f)) {
		int err = errno ? errno : EIO;
		ad_atomic_abort(&a);
		return ad_fail_errno(e, err, "%s: cannot write the ARPA file (the previous file, if any, is untouched)", path);
	}
	return ad_atomic_commit(&a, e);
}
