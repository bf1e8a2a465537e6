/*
 * arpa_read.c — an ARPA file from any tool (lmplz, SRILM, ours) as a model.
 *
 * Input: ARPA text, mapped: "\data\", "ngram n=count" lines for n = 1..N,
 * then per order "\n-grams:" and count lines "log10p w1 ... wn [log10bo]"
 * (fields separated by tabs or spaces; the backoff may be left out below
 * order N, meaning 0), then "\end\".
 * Output: the same query structure our binary files hold (ngram_impl.h),
 * built on the heap, scored by model.c with standard back-off.
 *
 * Every departure is an error naming the file and line: a missing or
 * misplaced section, a count that does not match the lines, a positive
 * log10 probability, a number that does not parse, a word missing from the
 * unigrams, a repeated n-gram, and an n-gram whose prefix or suffix is
 * missing (the scorer relies on both, as KenLM's does; lmplz and SRILM
 * without pruning always write them). An n-gram that begins no longer one
 * gets the backoff NGRAM_NOEXT when its backoff is 0, for the scorer. <s> and </s> must be unigrams; a
 * missing <unk> is added with log10 p = -100, as KenLM does.
 *
 * A model whose words other than the markers are all <0xHH> (as our byte
 * models are written) is read as a byte model, so it scores raw text.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "ngram/ngram_impl.h"

struct arpa {
	const char    *path;
	const uint8_t *p, *end;    /* the unread text */
	uint64_t       line;       /* the number of the line last read */
	const uint8_t *ls;         /* the line last read, without its newline */
	size_t         ll;
};

/* The next line; 0 at the end of the file. */
static int
arpa_next(struct arpa *a)
{
	const uint8_t *nl;

	if (a->p >= a->end)
		return 0;
	nl = memchr(a->p, '\n', (size_t)(a->end - a->p));
	a->ls = a->p;
	a->ll = nl != NULL ? (size_t)(nl - a->p) : (size_t)(a->end - a->p);
	a->p += a->ll + (nl != NULL);
	a->line++;
	while (a->ll > 0 && (a->ls[a->ll - 1] == '\r' || a->ls[a->ll - 1] == ' ' ||
	    a->ls[a->ll - 1] == '\t'))
		a->ll--;
	return 1;
}

static int
arpa_blank(const struct arpa *a)
{
	for (size_t i = 0; i < a->ll; i++)
		if (!isspace(a->ls[i]))
			return 0;
	return 1;
}

/* The next line that is not blank; 0 at the end. */
static int
arpa_next_text(struct arpa *a)
{
	while (arpa_next(a))
		if (!arpa_blank(a))
			return 1;
	return 0;
}

static int
arpa_is(const struct arpa *a, const char *s)
{
	size_t i = 0, n = strlen(s);

	while (i < a->ll && (a->ls[i] == ' ' || a->ls[i] == '\t'))
		i++;
	return a->ll - i == n && memcmp(a->ls + i, s, n) == 0;
}

/* Split the line into fields separated by spaces and tabs. */
static size_t
arpa_fields(const struct arpa *a, const uint8_t **f, size_t *fl, size_t max)
{
	size_t n = 0, i = 0;

	while (i < a->ll) {
		while (i < a->ll && (a->ls[i] == ' ' || a->ls[i] == '\t'))
			i++;
		if (i == a->ll)
			break;
		if (n == max)
			return max + 1;
		f[n] = a->ls + i;
		while (i < a->ll && a->ls[i] != ' ' && a->ls[i] != '\t')
			i++;
		fl[n] = (size_t)(a->ls + i - f[n]);
		n++;
	}
	return n;
}

static int
arpa_number(const uint8_t *s, size_t len, double *out)
{
	char  buf[64];
	char *end;

	if (len == 0 || len >= sizeof buf)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0' && !isnan(*out) ? 0 : -1;
}

int
ngram_arpa_probe(const uint8_t *data, size_t size)
{
	size_t i = 0;

	while (i < size && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' || data[i] == '\n'))
		i++;
	return size - i >= 6 && memcmp(data + i, "\\data\\", 6) == 0;
}

/* Key of the ids r[0..n) (oldest first), read newest first. */
static uint64_t
arpa_key(const uint32_t *r, uint32_t n)
{
	uint64_t k = ngram_key1(r[n - 1]);

	for (uint32_t t = n - 1; t-- > 0;)
		k = ngram_key_ext(k, r[t]);
	return k;
}

static int
arpa_present(const struct ngram_model *m, const uint32_t *r, uint32_t n)
{
	return n == 1 || ngram_table_find(&m->tab[n], arpa_key(r, n)) != NULL;
}

/* Words other than the markers all <0xHH>: a byte model. */
static int
arpa_byte_words(const struct ngram_vocab *v)
{
	for (uint32_t id = 3; id < v->size; id++) {
		const char *w = v->text + v->off[id];
		if (v->off[id + 1] - v->off[id] != 6 || memcmp(w, "<0x", 3) != 0 ||
		    !isxdigit((uint8_t)w[3]) || !isxdigit((uint8_t)w[4]) || w[5] != '>')
			return 0;
	}
	return v->size > 3;
}

static int
arpa_load(struct ngram_model *m, struct ngram_vocab *v, struct arpa *a, struct ad_error *e)
{
	uint64_t count[NGRAM_MAX_ORDER + 2] = { 0 };
	uint32_t N = 0;
	float   *uni;
	uint8_t *seen;
	int      rc;

	if (!arpa_next_text(a) || !arpa_is(a, "\\data\\"))
		return ad_fail(e, AD_EFORMAT, "%s:%llu: expected \\data\\ to open an ARPA file",
		    a->path, (unsigned long long)a->line);
	/* The counts. */
	for (;;) {
		unsigned n;
		unsigned long long c;
		char     buf[128];
		int      used = 0;

		if (!arpa_next(a))
			return ad_fail(e, AD_EFORMAT, "%s:%llu: the file ends inside the \\data\\ "
			    "section", a->path, (unsigned long long)a->line);
		if (arpa_blank(a)) {
			if (N == 0)
				continue;
			break;
		}
		if (a->ll >= sizeof buf)
			return ad_fail(e, AD_EFORMAT, "%s:%llu: expected 'ngram N=COUNT'", a->path,
			    (unsigned long long)a->line);
		memcpy(buf, a->ls, a->ll);
		buf[a->ll] = '\0';
		if (sscanf(buf, " ngram %u = %llu %n", &n, &c, &used) != 2 || buf[used] != '\0')
			return ad_fail(e, AD_EFORMAT, "%s:%llu: expected 'ngram N=COUNT' in the "
			    "\\data\\ section, found '%.60s'", a->path, (unsigned long long)a->line, buf);
		if (n != N + 1 || n > NGRAM_MAX_ORDER)
			return ad_fail(e, AD_EFORMAT, "%s:%llu: 'ngram %u=' out of order (orders must "
			    "run 1, 2, ... up to %d)", a->path, (unsigned long long)a->line, n,
			    NGRAM_MAX_ORDER);
		if (c == 0 || c > (1ULL << 40))
			return ad_fail(e, AD_EFORMAT, "%s:%llu: bad count %llu for order %u", a->path,
			    (unsigned long long)a->line, c, n);
		count[n] = c;
		N = n;
	}
	if (count[1] >= UINT32_MAX / 4)
		return ad_fail(e, AD_EFORMAT, "%s: %llu unigrams are too many", a->path,
		    (unsigned long long)count[1]);
	/*
	 * Before allocating for the counts, check that the rest of the file can
	 * hold them: an n-gram line is at least 2n + 2 bytes ("p", a tab, n
	 * one-byte words and their spaces, the newline). A header that lies
	 * must not cost gigabytes of memory before the lines are read.
	 */
	{
		uint64_t need = 0, left = (uint64_t)(a->end - a->p);
		for (uint32_t n = 1; n <= N; n++)
			need += count[n] * (2 * (uint64_t)n + 2);
		if (need > left)
			return ad_fail(e, AD_EFORMAT, "%s:%llu: the \\data\\ section announces more "
			    "n-grams than the remaining %llu bytes can hold: the file is truncated or "
			    "the counts are wrong", a->path, (unsigned long long)a->line,
			    (unsigned long long)left);
	}
	m->N = N;
	if ((uni = ad_mallocarray(count[1] + 3, 2 * sizeof(float))) == NULL ||
	    (seen = ad_calloc(count[1] + 3, 1)) == NULL) {
		ad_free(uni);
		return ad_fail(e, AD_ENOMEM, "out of memory for %llu unigrams",
		    (unsigned long long)count[1]);
	}
	m->heap[0] = uni;
	m->uni = uni;
	for (uint64_t i = 0; i < count[1] + 3; i++) {
		uni[2 * i] = -100.0f;
		uni[2 * i + 1] = NGRAM_NOEXT;
	}
	rc = 0;
	for (uint32_t n = 1; n <= N && rc == 0; n++) {
		char     head[32];
		uint32_t stride = n < N ? 16 : 12;
		uint64_t cap = ngram_table_cap(count[n]);
		uint8_t *slots = NULL;

		snprintf(head, sizeof head, "\\%u-grams:", n);
		if (!arpa_next_text(a) || !arpa_is(a, head)) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%llu: expected the section %s", a->path,
			    (unsigned long long)a->line, head);
			break;
		}
		if (n >= 2) {
			if ((slots = ad_calloc(cap, stride)) == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory for %llu %u-grams",
				    (unsigned long long)count[n], n);
				break;
			}
			m->heap[n] = slots;
			m->tab[n].slots = slots;
			m->tab[n].cap = cap;
			m->tab[n].stride = stride;
		}
		for (uint64_t i = 0; i < count[n]; i++) {
			const uint8_t *f[NGRAM_MAX_ORDER + 2];
			size_t         fl[NGRAM_MAX_ORDER + 2], nf;
			uint32_t       ids[NGRAM_MAX_ORDER];
			double         p, bo = 0;

			if (!arpa_next(a) || arpa_blank(a) || a->ls[0] == '\\') {
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: the header promises %llu %u-grams "
				    "but the section has %llu", a->path, (unsigned long long)a->line,
				    (unsigned long long)count[n], n, (unsigned long long)i);
				break;
			}
			nf = arpa_fields(a, f, fl, n + 2);
			if (nf != n + 1 && !(nf == n + 2 && n < N)) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: expected a log10 probability, %u "
				    "word%s%s", a->path, (unsigned long long)a->line, n, n > 1 ? "s" : "",
				    n < N ? " and an optional backoff" : "");
				break;
			}
			if (arpa_number(f[0], fl[0], &p) != 0 || (nf == n + 2 &&
			    arpa_number(f[n + 1], fl[n + 1], &bo) != 0)) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: a value is not a number", a->path,
				    (unsigned long long)a->line);
				break;
			}
			if (p > 0) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: positive log10 probability %g "
				    "(a probability above 1)", a->path, (unsigned long long)a->line, p);
				break;
			}
			if (n == 1) {
				uint32_t id, before = v->size;
				if ((rc = ngram_vocab_add(v, (const char *)f[1], fl[1], &id, e)) != 0)
					break;
				if (v->size == before && seen[id]) {
					rc = ad_fail(e, AD_EFORMAT, "%s:%llu: the unigram '%.*s' appears twice",
					    a->path, (unsigned long long)a->line, (int)fl[1], (const char *)f[1]);
					break;
				}
				if (v->size > count[1] + 3) {
					rc = ad_fail(e, AD_EFORMAT, "%s:%llu: more unigrams than the header "
					    "says", a->path, (unsigned long long)a->line);
					break;
				}
				seen[id] = 1;
				uni[2 * id] = (float)p;
				uni[2 * id + 1] = bo == 0 ? NGRAM_NOEXT : (float)bo;
				continue;
			}
			{
				struct ngram_words w;
				ngram_vocab_view(v, &w);
				for (uint32_t t = 0; t < n; t++) {
					ids[t] = ngram_words_find(&w, (const char *)f[t + 1], fl[t + 1]);
					if (ids[t] == UINT32_MAX || !seen[ids[t]]) {
						rc = ad_fail(e, AD_EFORMAT, "%s:%llu: the word '%.*s' is not among "
						    "the unigrams", a->path, (unsigned long long)a->line,
						    (int)fl[t + 1], (const char *)f[t + 1]);
						break;
					}
				}
			}
			if (rc != 0)
				break;
			if (!arpa_present(m, ids, n - 1) || !arpa_present(m, ids + 1, n - 1)) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: the %s of this %u-gram is not in the "
				    "model; this reader needs every n-gram's prefix and suffix (as lmplz "
				    "writes them)", a->path, (unsigned long long)a->line,
				    arpa_present(m, ids, n - 1) ? "suffix" : "prefix", n);
				break;
			}
			/* The prefix begins this n-gram: it is a context. */
			if (n == 2) {
				if (!ngram_extends(uni[2 * ids[0] + 1]))
					uni[2 * ids[0] + 1] = 0.0f;
			} else {
				uint8_t *s = (uint8_t *)(uintptr_t)ngram_table_find(&m->tab[n - 1],
				    arpa_key(ids, n - 1));
				float    pb = ngram_entry_f(s, 1);
				if (!ngram_extends(pb)) {
					pb = 0.0f;
					memcpy(s + 12, &pb, 4);
				}
			}
			if (ngram_table_insert(slots, cap, stride, arpa_key(ids, n), (float)p,
			    bo == 0 ? NGRAM_NOEXT : (float)bo) != 0) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: this %u-gram appears twice", a->path,
				    (unsigned long long)a->line, n);
				break;
			}
		}
		if (rc == 0 && n == 1) {
			if (!seen[NGRAM_BOS] || !seen[NGRAM_EOS])
				rc = ad_fail(e, AD_EFORMAT, "%s:%llu: the unigrams lack %s: not a model of "
				    "sentences", a->path, (unsigned long long)a->line,
				    !seen[NGRAM_BOS] ? "<s>" : "</s>");
			seen[NGRAM_UNK] = 1;
		}
		m->counts[n] = n == 1 ? v->size : count[n];
	}
	ad_free(seen);
	if (rc != 0)
		return rc;
	for (uint32_t n = 2; n <= N; n++) {
		uint64_t  bits = ngram_filter_bits(count[n]);
		uint64_t *f = ad_calloc(bits / 64, 8);
		if (f == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for the %u-gram filter", n);
		m->heap[NGRAM_MAX_ORDER + 4 + n] = f;
		ngram_filter_build(f, bits, m->tab[n].slots, m->tab[n].cap, m->tab[n].stride);
		m->tab[n].filter = f;
		m->tab[n].fmask = bits - 1;
	}
	if (!arpa_next_text(a) || !arpa_is(a, "\\end\\"))
		return ad_fail(e, AD_EFORMAT, "%s:%llu: expected \\end\\ after the %u-grams (more "
		    "lines than the header says?)", a->path, (unsigned long long)a->line, N);
	m->Vi = v->size;
	return 0;
}

int
ngram_arpa_open(struct lm **out, const char *path, struct ad_map *map, struct ad_error *e)
{
	struct ngram_model *m;
	struct ngram_vocab  v, raw;
	struct arpa         a = { path, map->data, map->data + map->size, 0, NULL, 0 };
	int                 rc;

	if ((m = ad_calloc(1, sizeof *m)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	if ((rc = ngram_vocab_init(&v, e)) != 0) {
		ad_free(m);
		return rc;
	}
	m->unit = NGRAM_WORDS;
	if ((rc = arpa_load(m, &v, &a, e)) != 0)
		goto fail;
	if (arpa_byte_words(&v)) {
		/* Same ids, the words turned back into their bytes. */
		if ((rc = ngram_vocab_init(&raw, e)) != 0)
			goto fail;
		for (uint32_t id = 3; id < v.size && rc == 0; id++) {
			char     hex[3] = { v.text[v.off[id] + 3], v.text[v.off[id] + 4], 0 };
			char     b = (char)strtoul(hex, NULL, 16);
			uint32_t got;
			rc = ngram_vocab_add(&raw, &b, 1, &got, e);
			if (rc == 0 && got != id)
				rc = ad_fail(e, AD_EFORMAT, "%s: the byte <0x%s> appears twice", path, hex);
		}
		if (rc != 0) {
			ngram_vocab_free(&raw);
			goto fail;
		}
		ngram_vocab_free(&v);
		v = raw;
		m->unit = NGRAM_BYTES;
	}
	ngram_vocab_view(&v, &m->words);
	m->heap[NGRAM_MAX_ORDER + 1] = v.off;
	m->heap[NGRAM_MAX_ORDER + 2] = v.text;
	m->heap[NGRAM_MAX_ORDER + 3] = v.slot;
	if ((rc = ngram_model_finish(m, "arpa", path, e)) != 0) {
		ngram_model_free_(m);
		return rc;
	}
	/* The model is on the heap: the text is no longer needed. */
	ad_map_release(map);
	*out = &m->lm;
	return 0;
fail:
	ngram_vocab_free(&v);
	ngram_model_free_(m);
	return rc;
}
