/*
 * vectors.c — word vectors read from a text file, so that WEAT runs on any
 * published embedding (GloVe, word2vec, fastText) and can be checked
 * against the paper that measured it, beside the models and the corpus.
 *
 * Two formats, told apart by content, never by the file's name:
 *
 *   GloVe text     one word per line: the word, then d numbers, separated
 *                  by spaces (Pennington, Socher & Manning 2014, the files of
 *                  nlp.stanford.edu/projects/glove); no header, so d is the
 *                  number of fields of line 1 minus one.
 *   word2vec text  a first line "COUNT DIM" (two decimal integers), then the
 *                  same lines (word2vec's -binary 0 output, fastText's .vec
 *                  files); COUNT must be the number of lines that follow.
 *
 * Either may be gzip-compressed: the magic bytes 1f 8b, read through zlib
 * when it was built in (configure --with-zlib), refused with a message that
 * says what to do otherwise.
 *
 * Every line is checked: d numbers (a line with more fields is a word that
 * contains spaces; fewer is an error), each a decimal number; the numbers of
 * the words kept are converted to 32-bit floats and must be finite; a kept
 * word must not appear twice. Errors name the file and the line.
 *
 * Workload: published files of 0.4 to 3 million words of 50 to 300
 * dimensions (up to about 6 GB of text), read once as a stream, keeping only
 * the few hundred words the probe sets name; the memory used is that of the
 * probe words, whatever the size of the file.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef HAVE_ZLIB
#include <zlib.h>
#endif

#include "base/hash.h"
#include "base/progress.h"
#include "probe/probe.h"

/* Longer lines are not text word vectors (word2vec's binary format, say). */
#define VEC_MAX_LINE ((size_t)1 << 20)

struct vec_entry {
	char     *word;
	uint64_t  line;      /* where its vector was read; 0: not (yet) found */
};

struct probe_vectors {
	char             *path;
	char              format[40];   /* "GloVe text", "word2vec text", + ", gzip" */
	uint64_t          hash;         /* XXH64 of the text (after decompression) */
	uint64_t          count;        /* vectors in the file */
	uint32_t          dim;          /* d */
	int               keep_all;     /* keep every word (no list was given) */
	struct vec_entry *ent;          /* (nent) the words kept, or asked for */
	size_t            nent, cent;
	float            *vec;          /* (cent, dim): row i is ent[i]'s vector */
	size_t           *slot;         /* (nslot) open addressing over ent; SIZE_MAX empty */
	size_t            nslot;        /* a power of 2, at least twice nent */
};

/* ---- the table of words ------------------------------------------------------ */

static size_t
vec_find_slot(const struct probe_vectors *v, const char *w, size_t n)
{
	size_t i = (size_t)ad_hash64(w, n, 0) & (v->nslot - 1);

	while (v->slot[i] != SIZE_MAX &&
	    (strncmp(v->ent[v->slot[i]].word, w, n) != 0 || v->ent[v->slot[i]].word[n] != '\0'))
		i = (i + 1) & (v->nslot - 1);
	return i;
}

/* The index of word w[0..n) in the table, or SIZE_MAX. */
static size_t
vec_lookup(const struct probe_vectors *v, const char *w, size_t n)
{
	if (v->nslot == 0)
		return SIZE_MAX;
	return v->slot[vec_find_slot(v, w, n)];
}

/* Add word w[0..n) (absent); its vector row is allocated when dim is known. */
static int
vec_add(struct probe_vectors *v, const char *w, size_t n, size_t *index)
{
	if (2 * (v->nent + 1) > v->nslot) {
		size_t  ns = v->nslot ? v->nslot * 2 : 64;
		size_t *s = ad_mallocarray(ns, sizeof *s);
		if (s == NULL)
			return -1;
		ad_free(v->slot);
		v->slot = s;
		v->nslot = ns;
		for (size_t i = 0; i < ns; i++)
			s[i] = SIZE_MAX;
		for (size_t i = 0; i < v->nent; i++)
			s[vec_find_slot(v, v->ent[i].word, strlen(v->ent[i].word))] = i;
	}
	if (v->nent == v->cent) {
		size_t            c = v->cent ? v->cent * 2 : 64;
		struct vec_entry *e = ad_reallocarray(v->ent, c, sizeof *e);
		if (e == NULL)
			return -1;
		v->ent = e;
		if (v->dim > 0) {
			float *f = ad_reallocarray(v->vec, c, (size_t)v->dim * sizeof *f);
			if (f == NULL)
				return -1;
			v->vec = f;
		}
		v->cent = c;
	}
	if ((v->ent[v->nent].word = ad_strndup(w, n)) == NULL)
		return -1;
	v->ent[v->nent].line = 0;
	v->slot[vec_find_slot(v, w, n)] = v->nent;
	*index = v->nent++;
	return 0;
}

/* ---- the input: a file, a gzip file or memory ---------------------------------- */

struct vec_src {
	FILE       *f;
#ifdef HAVE_ZLIB
	gzFile      gz;
#endif
	const char *mem;
	size_t      len, pos;
	uint64_t    raw;         /* bytes of the file consumed (for progress) */
};

/* Read up to n bytes into buf: *got, 0 at the end. */
static int
vec_src_read(struct vec_src *s, const char *path, char *buf, size_t n, size_t *got,
    struct ad_error *e)
{
	if (n > (size_t)1 << 30)
		n = (size_t)1 << 30;
	if (s->mem != NULL) {
		*got = s->len - s->pos < n ? s->len - s->pos : n;
		memcpy(buf, s->mem + s->pos, *got);
		s->pos += *got;
		s->raw = s->pos;
		return 0;
	}
#ifdef HAVE_ZLIB
	if (s->gz != NULL) {
		int         errnum, r = gzread(s->gz, buf, (unsigned)n);
		const char *msg = gzerror(s->gz, &errnum);
		size_t      np = strlen(path);
		/* zlib's message starts with the path, which ours has already. */
		if (strncmp(msg, path, np) == 0 && msg[np] == ':' && msg[np + 1] == ' ')
			msg += np + 2;
		/*
		 * zlib: -1 is an error; at the end of the input, Z_BUF_ERROR says
		 * it ended inside the gzip stream (a truncated file).
		 */
		if (r < 0 && errnum == Z_ERRNO)
			return ad_fail_errno(e, errno, "%s", path);
		if (r < 0)
			return ad_fail(e, AD_EFORMAT, "%s: a damaged gzip file: %s", path, msg);
		if (r == 0 && errnum == Z_BUF_ERROR)
			return ad_fail(e, AD_EFORMAT, "%s: the gzip file is cut short (%s): download "
			    "it again", path, msg);
		*got = (size_t)r;
		s->raw = (uint64_t)gzoffset(s->gz);
		return 0;
	}
#endif
	*got = fread(buf, 1, n, s->f);
	if (*got < n && ferror(s->f))
		return ad_fail_errno(e, errno, "%s", path);
	s->raw += *got;
	return 0;
}

/* ---- lines --------------------------------------------------------------------- */

struct vec_reader {
	struct probe_vectors *v;
	const char           *path;
	int                   word2vec;   /* a header line was read */
	uint64_t              line;       /* the line being read (1-based) */
	char                **field;      /* (cfield) the fields of the line */
	char                **fend;
	size_t                cfield;
	struct ad_error      *e;
};

/* A decimal number: [+-] digits [. digits] [e [+-] digits], some digit before e. */
static int
vec_number_ok(const char *s)
{
	int digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	for (; *s >= '0' && *s <= '9'; s++)
		digits++;
	if (*s == '.')
		for (s++; *s >= '0' && *s <= '9'; s++)
			digits++;
	if (digits == 0)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

static int
vec_digits(const char *s, const char *end)
{
	if (s == end)
		return 0;
	for (; s < end; s++)
		if (!(*s >= '0' && *s <= '9'))
			return 0;
	return 1;
}

/* Where the dimension came from, for messages. */
static const char *
vec_dim_source(const struct vec_reader *r)
{
	return r->word2vec ? "as the header on line 1 says" : "as on line 1";
}

/* One line s[0..n), NUL-terminated at s[n]. */
static int
vec_line(struct vec_reader *r, char *s, size_t n)
{
	struct probe_vectors *v = r->v;
	size_t                nf = 0, nw, index;
	char                 *p = s, *end;

	if (memchr(s, '\0', n) != NULL)
		return ad_fail(r->e, AD_EFORMAT, "%s:%llu: a NUL byte: not a text file of word "
		    "vectors (word2vec's binary format is not read: save the vectors as text)",
		    r->path, (unsigned long long)r->line);
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	end = s + n;
	if (n == 0)
		return ad_fail(r->e, AD_EFORMAT, "%s:%llu: an empty line (every line of a word-vector "
		    "file is a word and its numbers)", r->path, (unsigned long long)r->line);
	/* Split at runs of spaces and tabs. */
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (nf == r->cfield) {
			size_t c = r->cfield ? r->cfield * 2 : 512;
			char **f = ad_reallocarray(r->field, c, sizeof *f), **g;
			if (f == NULL)
				return ad_fail(r->e, AD_ENOMEM, "out of memory reading %s", r->path);
			r->field = f;
			if ((g = ad_reallocarray(r->fend, c, sizeof *g)) == NULL)
				return ad_fail(r->e, AD_ENOMEM, "out of memory reading %s", r->path);
			r->fend = g;
			r->cfield = c;
		}
		r->field[nf] = p;
		while (p < end && *p != ' ' && *p != '\t')
			p++;
		r->fend[nf++] = p;
	}
	if (r->line == 1 && nf == 2 && vec_digits(r->field[0], r->fend[0]) &&
	    vec_digits(r->field[1], r->fend[1])) {
		/* word2vec's header: COUNT DIM. */
		unsigned long long count = strtoull(r->field[0], NULL, 10);
		unsigned long long dim = strtoull(r->field[1], NULL, 10);
		if (dim < 1 || dim > 100000)
			return ad_fail(r->e, AD_EFORMAT, "%s:1: a header of %llu dimensions (word2vec's "
			    "header is COUNT DIM, with DIM from 1 to 100000)", r->path, dim);
		r->word2vec = 1;
		v->count = count;
		v->dim = (uint32_t)dim;
		return 0;
	}
	if (v->dim == 0) {
		if (nf < 2)
			return ad_fail(r->e, AD_EFORMAT, "%s:%llu: a word without numbers: not a "
			    "word-vector file (GloVe text has a word and its numbers on each line; "
			    "word2vec text has a first line COUNT DIM)", r->path,
			    (unsigned long long)r->line);
		if (nf - 1 > 100000)
			return ad_fail(r->e, AD_EFORMAT, "%s:%llu: %zu numbers: more than 100000 "
			    "dimensions", r->path, (unsigned long long)r->line, nf - 1);
		v->dim = (uint32_t)(nf - 1);
	}
	/*
	 * More fields than d + 1 are a word that contains spaces (published
	 * files have a few, such as ". . ."), unless the field just before the
	 * last d is itself a number: then the line has too many numbers.
	 */
	nw = nf > v->dim ? nf - v->dim : 1;
	if (nw > 1) {
		char *last = r->fend[nw - 1], c = *last;
		*last = '\0';
		if (vec_number_ok(r->field[nw - 1]))
			nw = 1;
		*last = c;
	}
	if (nf != nw + v->dim)
		return ad_fail(r->e, AD_EFORMAT, "%s:%llu: %zu number%s after the word, expected %u "
		    "(%s)", r->path, (unsigned long long)r->line, nf - 1, nf == 2 ? "" : "s", v->dim,
		    vec_dim_source(r));
	*r->fend[nw - 1] = '\0';
	for (size_t i = nw; i < nf; i++) {
		*r->fend[i] = '\0';
		if (!vec_number_ok(r->field[i]))
			return ad_fail(r->e, AD_EFORMAT, "%s:%llu: number %zu, '%.40s', is not a decimal "
			    "number%s", r->path, (unsigned long long)r->line, i - nw + 1, r->field[i],
			    r->word2vec && r->line == 2 ? " (word2vec's binary format is not read: save "
			    "the vectors as text)" : "");
	}
	v->count += !r->word2vec;
	index = vec_lookup(v, r->field[0], (size_t)(r->fend[nw - 1] - r->field[0]));
	if (index == SIZE_MAX && v->keep_all &&
	    vec_add(v, r->field[0], (size_t)(r->fend[nw - 1] - r->field[0]), &index) != 0)
		return ad_fail(r->e, AD_ENOMEM, "out of memory reading %s", r->path);
	if (index == SIZE_MAX)
		return 0;
	if (v->ent[index].line != 0)
		return ad_fail(r->e, AD_EFORMAT, "%s:%llu: '%s' appears again (first on line %llu): "
		    "which of its vectors is meant?", r->path, (unsigned long long)r->line,
		    v->ent[index].word, (unsigned long long)v->ent[index].line);
	if (v->vec == NULL &&
	    (v->vec = ad_mallocarray(v->cent, (size_t)v->dim * sizeof *v->vec)) == NULL)
		return ad_fail(r->e, AD_ENOMEM, "out of memory reading %s", r->path);
	for (size_t i = nw; i < nf; i++) {
		float x = strtof(r->field[i], NULL);
		if (!isfinite(x))
			return ad_fail(r->e, AD_ENUMERIC, "%s:%llu: number %zu, '%.40s', is out of range "
			    "for a 32-bit float", r->path, (unsigned long long)r->line, i - nw + 1,
			    r->field[i]);
		v->vec[index * v->dim + (i - nw)] = x;
	}
	v->ent[index].line = r->line;
	return 0;
}

/* Read every line of s into v. */
static int
vec_read_all(struct probe_vectors *v, struct vec_src *s, const char *path,
    struct ad_progress *progress, struct ad_error *e)
{
	struct vec_reader r = { .v = v, .path = path, .line = 0, .e = e };
	struct ad_hash    h;
	size_t            cap = (size_t)1 << 16, have = 0, start = 0;
	char             *buf = ad_malloc(cap + 1), *nl, *q;
	int               eof = 0, rc = 0;

	if (buf == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory reading %s", path);
	ad_hash_init(&h, 0);
	for (;;) {
		nl = memchr(buf + start, '\n', have - start);
		if (nl == NULL && !eof) {
			size_t got = 0;
			memmove(buf, buf + start, have - start);
			have -= start;
			start = 0;
			if (have == cap) {
				if (cap >= VEC_MAX_LINE) {
					rc = ad_fail(e, AD_EFORMAT, "%s:%llu: a line longer than %zu bytes: not "
					    "a text file of word vectors (word2vec's binary format is not "
					    "read: save the vectors as text)", path,
					    (unsigned long long)r.line + 1, VEC_MAX_LINE);
					break;
				}
				if ((q = ad_realloc(buf, 2 * cap + 1)) == NULL) {
					rc = ad_fail(e, AD_ENOMEM, "out of memory reading %s", path);
					break;
				}
				buf = q;
				cap *= 2;
			}
			if ((rc = vec_src_read(s, path, buf + have, cap - have, &got, e)) != 0)
				break;
			ad_hash_update(&h, buf + have, got);
			have += got;
			eof = got == 0;
			ad_progress_update(progress, s->raw);
			if (ad_interrupted()) {
				rc = ad_fail(e, AD_EINTR, "interrupted");
				break;
			}
			continue;
		}
		if (nl == NULL && start == have)
			break;
		if (nl == NULL)
			nl = buf + have;   /* the last line has no newline: buf has room for the NUL */
		*nl = '\0';
		r.line++;
		if ((rc = vec_line(&r, buf + start, (size_t)(nl - (buf + start)))) != 0)
			break;
		start = nl == buf + have ? have : (size_t)(nl - buf) + 1;
	}
	ad_free(buf);
	ad_free(r.field);
	ad_free(r.fend);
	if (rc != 0)
		return rc;
	if (r.line == 0 || (r.word2vec && r.line == 1))
		return ad_fail(e, AD_EFORMAT, "%s: no vectors in the file", path);
	if (r.word2vec && v->count != r.line - 1)
		return ad_fail(e, AD_EFORMAT, "%s:1: the header announces %llu vectors, the file has "
		    "%llu", path, (unsigned long long)v->count, (unsigned long long)(r.line - 1));
	snprintf(v->format, sizeof v->format, "%s", r.word2vec ? "word2vec text" : "GloVe text");
	v->hash = ad_hash_digest(&h);
	return 0;
}

/* ---- the public surface -------------------------------------------------------- */

static int
vec_new(struct probe_vectors **out, const char *path, const char *const *words, size_t nwords,
    struct ad_error *e)
{
	struct probe_vectors *v = ad_calloc(1, sizeof *v);

	if (v == NULL || (v->path = ad_strdup(path)) == NULL) {
		ad_free(v);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	v->keep_all = words == NULL;
	for (size_t i = 0; words != NULL && i < nwords; i++) {
		size_t index, n = strlen(words[i]);
		if (vec_lookup(v, words[i], n) == SIZE_MAX && vec_add(v, words[i], n, &index) != 0) {
			probe_vectors_free(v);
			return ad_fail(e, AD_ENOMEM, "out of memory");
		}
	}
	*out = v;
	return 0;
}

int
probe_vectors_parse(struct probe_vectors **out, const char *data, size_t len, const char *path,
    const char *const *words, size_t nwords, struct ad_error *e)
{
	struct probe_vectors *v;
	struct vec_src        s = { .mem = data ? data : "", .len = len };
	int                   rc;

	if ((rc = vec_new(&v, path, words, nwords, e)) != 0)
		return rc;
	if ((rc = vec_read_all(v, &s, path, NULL, e)) != 0) {
		probe_vectors_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int
probe_vectors_read(struct probe_vectors **out, const char *path, const char *const *words,
    size_t nwords, struct ad_progress *progress, struct ad_error *e)
{
	struct probe_vectors *v = NULL;
	struct vec_src        s = { 0 };
	struct stat           st;
	unsigned char         magic[2] = { 0, 0 };
	size_t                nmagic;
	int                   rc, gzip;

	if ((s.f = fopen(path, "rb")) == NULL)
		return ad_fail_errno(e, errno, "%s", path);
	if (fstat(fileno(s.f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(s.f);
		return ad_fail(e, AD_EIO, "%s: a directory, not a file of word vectors", path);
	}
	nmagic = fread(magic, 1, 2, s.f);
	gzip = nmagic == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
	if (ferror(s.f) || fseek(s.f, 0, SEEK_SET) != 0) {
		rc = ad_fail_errno(e, errno, "%s", path);
		fclose(s.f);
		return rc;
	}
	if (gzip) {
#ifdef HAVE_ZLIB
		fclose(s.f);
		s.f = NULL;
		errno = 0;
		if ((s.gz = gzopen(path, "rb")) == NULL)
			return errno ? ad_fail_errno(e, errno, "%s", path) :
			    ad_fail(e, AD_ENOMEM, "out of memory opening %s", path);
		gzbuffer(s.gz, 1 << 17);
#else
		fclose(s.f);
		return ad_fail(e, AD_EINVAL, "%s: a gzip-compressed file, and this autodidact was "
		    "built without zlib: decompress it (gunzip -k %s) or rebuild with zlib "
		    "(apt-get install zlib1g-dev, then ./configure --with-zlib)", path, path);
#endif
	}
	if ((rc = vec_new(&v, path, words, nwords, e)) == 0) {
		if (progress != NULL && S_ISREG(st.st_mode))
			ad_progress_set_total(progress, (uint64_t)st.st_size);
		rc = vec_read_all(v, &s, path, progress, e);
		if (rc == 0 && gzip)
			snprintf(v->format + strlen(v->format), sizeof v->format - strlen(v->format),
			    ", gzip");
	}
#ifdef HAVE_ZLIB
	if (s.gz != NULL)
		gzclose(s.gz);
#endif
	if (s.f != NULL)
		fclose(s.f);
	if (rc != 0) {
		probe_vectors_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

void
probe_vectors_free(struct probe_vectors *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < v->nent; i++)
		ad_free(v->ent[i].word);
	ad_free(v->ent);
	ad_free(v->vec);
	ad_free(v->slot);
	ad_free(v->path);
	ad_free(v);
}

const float *
probe_vectors_find(const struct probe_vectors *v, const char *word)
{
	size_t i = vec_lookup(v, word, strlen(word));

	return i == SIZE_MAX || v->ent[i].line == 0 ? NULL : v->vec + i * v->dim;
}

const char *probe_vectors_path(const struct probe_vectors *v)   { return v->path; }
const char *probe_vectors_format(const struct probe_vectors *v) { return v->format; }
uint64_t    probe_vectors_hash(const struct probe_vectors *v)   { return v->hash; }
uint64_t    probe_vectors_count(const struct probe_vectors *v)  { return v->count; }
uint32_t    probe_vectors_dim(const struct probe_vectors *v)    { return v->dim; }

int
probe_weat_words(const struct probe_set *const *sets, size_t nsets, char ***words, size_t *n,
    struct ad_error *e)
{
	struct probe_vectors *seen = NULL;   /* a table of words, reused as a set */
	char                **w = NULL;
	size_t                nw = 0, cw = 0;
	int                   rc;

	if ((rc = vec_new(&seen, "(words)", NULL, 0, e)) != 0)
		return rc;
	for (size_t si = 0; si < nsets; si++)
		for (size_t t = 0; t < sets[si]->nweats; t++) {
			const struct probe_weat_spec *spec = &sets[si]->weats[t];
			size_t k4[4] = { spec->x, spec->y, spec->a, spec->b };
			for (int k = 0; k < 4; k++) {
				const struct probe_wordset *ws = &sets[si]->sets[k4[k]];
				for (size_t i = 0; i < ws->n; i++) {
					size_t index, len = strlen(ws->words[i]);
					char **q;
					if (vec_lookup(seen, ws->words[i], len) != SIZE_MAX)
						continue;
					if (vec_add(seen, ws->words[i], len, &index) != 0)
						goto oom;
					if (nw == cw) {
						cw = cw ? cw * 2 : 64;
						if ((q = ad_reallocarray(w, cw, sizeof *w)) == NULL)
							goto oom;
						w = q;
					}
					if ((w[nw] = ad_strdup(ws->words[i])) == NULL)
						goto oom;
					nw++;
				}
			}
		}
	probe_vectors_free(seen);
	*words = w;
	*n = nw;
	return 0;
oom:
	probe_vectors_free(seen);
	probe_focus_free(w, nw);
	return ad_fail(e, AD_ENOMEM, "out of memory");
}
