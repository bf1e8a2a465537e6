/*
 * cmd_tokenize.c — "autodidact tokenize train|encode|decode|info": the
 * byte-level BPE tokenizer on the command line (library: src/bpe/bpe.h).
 *
 * Token files (what encode writes and decode reads, and what the n-gram
 * trainer reads): one output line per input line, the ids of the line's
 * text without its newline, separated by single spaces; an empty line gives
 * an empty line, and the last line ends with a newline exactly when the
 * input's did. So decode(encode(x)) == x for every byte string x (with
 * normalization none). --stream instead encodes the whole input as one
 * text, newlines included, as tiktoken does.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/io.h"
#include "base/json.h"
#include "cli/cli.h"
#include "bpe/bpe.h"
#include "bpe/pretok.h"

static const char tokenize_help[] =
"usage: autodidact tokenize train -o VOCAB --vocab-size N [--pattern NAME|REGEX]\n"
"                         [--normalize none|nfc|nfkc] [--casefold] [--special TOKEN]...\n"
"                         [--min-frequency N] [--threads N] [--quiet] [FILE...]\n"
"       autodidact tokenize encode -t VOCAB [--stream] [--threads N] [-o OUT] [FILE]\n"
"       autodidact tokenize decode -t VOCAB [--stream] [-o OUT] [FILE]\n"
"       autodidact tokenize info -t VOCAB [--json] [--threads N] [FILE...]\n"
"\n"
"Byte-level BPE: learn a vocabulary from text, turn text into token ids and\n"
"back, describe a vocabulary. FILE '-' or no FILE reads standard input.\n"
"\n"
"train options:\n"
"  -o, --output VOCAB      the vocabulary file to write\n"
"  --vocab-size N          ids in all: 256 bytes + merges + special tokens\n"
"  --pattern NAME|REGEX    pre-tokenization: gpt2 (r50k), gpt4 (cl100k, the\n"
"                          default), o200k, or a PCRE2 regular expression\n"
"  --normalize MODE        none (default), nfc or nfkc (Unicode normalization)\n"
"  --casefold              fold case (Unicode full case folding)\n"
"  --special TOKEN         a special token: never split, never merged across\n"
"                          (repeatable; ids after the regular tokens)\n"
"  --min-frequency N       no merge of a pair seen fewer than N times (default 2)\n"
"\n"
"encode, decode and info options:\n"
"  -t, --vocab VOCAB       an autodidact vocabulary, or a tiktoken rank file;\n"
"                          r50k_base, cl100k_base and o200k_base are known by\n"
"                          content and bring tiktoken's pattern and specials\n"
"  --pattern NAME|REGEX    a tiktoken rank file's pattern (another file needs it)\n"
"  --special TOKEN[=ID]    a tiktoken rank file's special tokens instead of its\n"
"                          usual set (repeatable): with =ID that id, else\n"
"                          tiktoken's for one of the usual set, else the id\n"
"                          after the previous special's\n"
"  --stream                encode the whole input as one text (newlines are\n"
"                          tokens); decode concatenates every id\n"
"  -o, --output OUT        where to write (default: standard output)\n"
"  --json                  info: machine-readable output\n"
"\n"
"Common options:\n"
"  --threads N             threads (default: all cores)\n"
"  -q, --quiet             no progress on stderr\n"
"  -h, --help              show this help\n";

struct tok_opts {
	const char        *output, *vocab, *pattern;
	const char       **specials;
	size_t             nspecials;
	enum norm_mode     norm;
	int                casefold, stream;
	uint64_t           vocab_size, min_freq;
	struct cli_common  common;
};

static int
tok_threads(const struct tok_opts *o)
{
#ifdef _OPENMP
	return o->common.threads > 0 ? o->common.threads : omp_get_max_threads();
#else
	(void)o;
	return 1;
#endif
}

/* An autodidact vocabulary, or a tiktoken rank file. */
static int
tok_load(const struct tok_opts *o, struct bpe **b)
{
	struct ad_error e = { 0 };
	struct ad_map   m;
	int             rc;

	if (ad_map_file(o->vocab, &m, &e) != 0)
		return cli_fail(&e);
	if (m.size >= 15 && memcmp(m.data, "autodidact-bpe ", 15) == 0) {
		if (o->pattern != NULL || o->nspecials > 0) {
			ad_map_release(&m);
			return cli_usage("tokenize", "--pattern and --special apply to a tiktoken rank "
			    "file; %s is an autodidact vocabulary, which has its own", o->vocab);
		}
		rc = bpe_parse(b, m.data, m.size, o->vocab, &e);
	} else {
		/* A tiktoken rank file: --pattern may be left out for tiktoken's own. */
		rc = bpe_parse_tiktoken(b, m.data, m.size, o->vocab, o->pattern,
		    (const char *const *)o->specials, o->nspecials, &e);
	}
	ad_map_release(&m);
	return rc != 0 ? cli_fail(&e) : 0;
}

/* ---- train -------------------------------------------------------------- */

static int
tok_train(struct tok_opts *o, int nfiles, char **files)
{
	struct bpe_train_config cfg = { 0 };
	struct bpe_train_stats  st = { 0 };
	struct ad_error         e = { 0 };
	struct ad_progress     *cp, *mp;
	struct bpe             *b = NULL;
	const char             *stdin_path[] = { "-" };
	int                     rc;

	if (o->output == NULL)
		return cli_usage("tokenize", "train: no output file: give -o VOCAB");
	if (o->vocab_size == 0)
		return cli_usage("tokenize", "train: give --vocab-size N");
	if (o->vocab != NULL || o->stream)
		return cli_usage("tokenize", "train: -t and --stream are for encode, decode and info");
	for (size_t k = 0; k < o->nspecials; k++) {
		size_t   l;
		uint32_t id;
		if (bpe_special_split(o->specials[k], &l, &id) != 0)
			return cli_usage("tokenize", "train: --special '%s': a trained vocabulary numbers "
			    "its special tokens after the merges; TOKEN=ID is for tiktoken rank files",
			    o->specials[k]);
	}
	cfg.vocab_size = (uint32_t)o->vocab_size;
	cfg.pattern = o->pattern ? o->pattern : "gpt4";
	cfg.norm = o->norm;
	cfg.casefold = o->casefold;
	cfg.specials = (const char *const *)o->specials;
	cfg.nspecials = o->nspecials;
	cfg.min_frequency = o->min_freq;
	cfg.threads = o->common.threads;
	if (cfg.vocab_size < 256 + o->nspecials)
		return cli_usage("tokenize", "--vocab-size: %u is less than the 256 byte tokens plus "
		    "%zu special tokens", cfg.vocab_size, o->nspecials);
	for (int i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") != 0 && ad_path_is_dir(files[i]))
			return cli_failf("%s: is a directory, not a file", files[i]);
	cp = cli_progress(&o->common, "counting", 0, "B");
	mp = cli_progress(&o->common, "merging", cfg.vocab_size - 256 - o->nspecials, "merges");
	rc = bpe_train(&b, &cfg, nfiles > 0 ? (const char *const *)files : stdin_path,
	    nfiles > 0 ? (size_t)nfiles : 1, cp, mp, &st, &e);
	if (rc != 0) {
		ad_progress_free(mp);
		return cli_fail(&e);
	}
	ad_progress_finish(mp);
	if ((rc = bpe_save(b, o->output, &e)) != 0) {
		bpe_free(b);
		return cli_fail(&e);
	}
	if (st.merges < st.wanted)
		fprintf(stderr, "autodidact: note: stopped after %u of %u merges: no pair of tokens "
		    "occurs %llu times or more in this text; %s has %u ids\n", st.merges, st.wanted,
		    (unsigned long long)(o->min_freq), o->output, bpe_vocab_size(b));
	if (!o->common.quiet)
		fprintf(stderr, "autodidact: %s: %u ids (%u merges) from %llu bytes, %llu pieces "
		    "(%llu distinct); counting %.2fs, merging %.2fs\n", o->output, bpe_vocab_size(b),
		    st.merges, (unsigned long long)st.bytes, (unsigned long long)st.pieces,
		    (unsigned long long)st.unique, st.count_seconds, st.merge_seconds);
	bpe_free(b);
	return CLI_EXIT_OK;
}

/* ---- encode ------------------------------------------------------------- */

/* Append the decimal digits of v. */
static char *
put_u32(char *p, uint32_t v)
{
	char tmp[10];
	int  n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

struct text_out {
	char  *buf;
	size_t len, cap;
};

static int
out_reserve(struct text_out *t, size_t extra)
{
	size_t nc;
	char  *p;

	if (t->len + extra <= t->cap)
		return 0;
	nc = t->cap ? t->cap : 1 << 16;
	while (nc < t->len + extra)
		nc *= 2;
	if ((p = ad_realloc(t->buf, nc)) == NULL)
		return AD_ENOMEM;
	t->buf = p;
	t->cap = nc;
	return 0;
}

/*
 * Encoding and decoding stream their input in pieces of TOK_CHUNK bytes
 * (ad_chunks) that end on a line end. A piece inside a line longer than that
 * is encoded up to its last cut point (bpe_cut_point) and the rest is
 * carried over to the next piece, as is the tail of every piece in --stream
 * mode; so memory stays near the piece size and the threads' buffers
 * whatever the size of the input, except that a line with no cut point (a
 * user pattern; a line with no letter followed by a space) is held whole.
 * Within a piece, lines go in batches of blocks of at least TOK_BLOCK bytes;
 * each block is encoded by one thread into its own buffer, and the buffers
 * are written in order. A line running TOK_LONG bytes past a block's start
 * is cut there at a cut point too.
 */
#define TOK_CHUNK ((size_t)8 << 20)
#define TOK_BLOCK ((size_t)256 << 10)
#define TOK_LONG  (4 * TOK_BLOCK)

/*
 * Open the input in pieces and the output (-o, or stdout) of encode and
 * decode. On failure: the message printed, b freed, CLI_EXIT_FAIL.
 */
static int
tok_open_io(const struct tok_opts *o, const char *input, struct bpe *b, struct ad_chunks **ck,
    struct ad_atomic *out)
{
	struct ad_error e = { 0 };

	if (ad_chunks_open(ck, input, TOK_CHUNK, &e) != 0) {
		bpe_free(b);
		return cli_fail(&e);
	}
	if (ad_atomic_open(out, o->output ? o->output : "-", &e) != 0) {
		ad_chunks_free(*ck);
		bpe_free(b);
		return cli_fail(&e);
	}
	return 0;
}

/* Line mode: encode the lines of s[0..len); *errat is where a failing line starts. */
static int
encode_lines(struct bpe_encoder *enc, const uint8_t *s, size_t len, struct text_out *out,
    uint32_t **ids, size_t *cap, size_t *errat, struct ad_error *e)
{
	size_t pos = 0;

	while (pos < len) {
		const uint8_t *nl = memchr(s + pos, '\n', len - pos);
		size_t         end = nl ? (size_t)(nl - s) : len, n = 0;
		int            rc;

		if ((rc = bpe_encode(enc, s + pos, end - pos, ids, &n, cap, e)) != 0) {
			*errat = pos;
			return rc;
		}
		if (out_reserve(out, n * 11 + 1) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		{
			char *p = out->buf + out->len;
			for (size_t i = 0; i < n; i++) {
				if (i > 0)
					*p++ = ' ';
				p = put_u32(p, (*ids)[i]);
			}
			if (nl != NULL)
				*p++ = '\n';
			out->len = (size_t)(p - out->buf);
		}
		pos = nl ? end + 1 : len;
	}
	return 0;
}

/* Newlines in s[0..n). */
static uint64_t
count_lines(const uint8_t *s, size_t n)
{
	uint64_t       k = 0;
	const uint8_t *p = s, *nl;

	while (p < s + n && (nl = memchr(p, '\n', (size_t)(s + n - p))) != NULL) {
		k++;
		p = nl + 1;
	}
	return k;
}

/* A block that starts at or before z ends after the next newline, or at a cut point. */
static size_t
block_end(const struct bpe *b, const uint8_t *s, size_t len, size_t z)
{
	const uint8_t *nl;
	size_t         k;

	if (z >= len)
		return len;
	if ((nl = memchr(s + z, '\n', len - z < TOK_LONG ? len - z : TOK_LONG)) != NULL)
		return (size_t)(nl - s) + 1;
	if (len - z > TOK_LONG && (k = bpe_cut_point(b, s + z, TOK_LONG)) > 0)
		return z + k;
	nl = memchr(s + z, '\n', len - z);
	return nl ? (size_t)(nl - s) + 1 : len;
}

struct blk {
	size_t          a, z;
	int             cont;   /* starts inside a line: write a space first */
	struct text_out out;
	int             rc;
	size_t          errat;
	struct ad_error err;
};

struct enc_state {
	const struct bpe    *b;
	int                  nt;
	FILE                *f;
	const char          *name;
	/* line mode */
	struct bpe_encoder **encs;   /* (nt) */
	uint32_t           **tids;   /* (nt) id scratch */
	size_t              *tcap;   /* (nt) */
	struct blk          *blk;    /* (nb) */
	size_t               nb;
	int                  cont;   /* the next block starts inside a line */
	uint64_t             lines;  /* newlines before the next block */
	/* --stream */
	uint32_t            *ids;
	size_t               idcap;
	struct text_out      t;
	int                  any;    /* an id was written: sep goes before the next */
	char                 sep;
};

/* Line mode: encode s[0..len), which ends on a line end or at a cut point. */
static int
encode_text_lines(struct enc_state *st, const uint8_t *s, size_t len, struct ad_error *e)
{
	size_t pos = 0;

	while (pos < len) {
		size_t k = 0;
		for (; k < st->nb && pos < len; k++) {
			size_t z = block_end(st->b, s, len, pos + TOK_BLOCK);
			st->blk[k].a = pos;
			st->blk[k].z = z;
			st->blk[k].cont = st->cont;
			st->blk[k].out.len = 0;
			st->blk[k].rc = 0;
			st->cont = s[z - 1] != '\n';
			pos = z;
		}
		/* Block j is written only by the thread that runs iteration j,
		 * with that thread's encoder and id scratch. */
		#pragma omp parallel for num_threads(st->nt) schedule(dynamic, 1)
		for (size_t j = 0; j < k; j++) {
			int t = 0;
#ifdef _OPENMP
			t = omp_get_thread_num();
#endif
			st->blk[j].rc = encode_lines(st->encs[t], s + st->blk[j].a,
			    st->blk[j].z - st->blk[j].a, &st->blk[j].out, &st->tids[t], &st->tcap[t],
			    &st->blk[j].errat, &st->blk[j].err);
		}
		for (size_t j = 0; j < k; j++) {
			struct blk *bk = &st->blk[j];
			if (bk->rc != 0) {
				*e = bk->err;
				if (bk->rc != AD_ENOMEM)
					ad_error_prefix(e, "%s:%llu", st->name, (unsigned long long)(st->lines +
					    count_lines(s + bk->a, bk->errat) + 1));
				return bk->rc;
			}
			/* Both sides of a cut inside a line have ids: a cut is after a letter. */
			if (bk->cont)
				fputc(' ', st->f);
			fwrite(bk->out.buf, 1, bk->out.len, st->f);
			st->lines += count_lines(s + bk->a, bk->z - bk->a);
		}
	}
	return 0;
}

/* --stream: encode s[0..len), which ends at a cut point or at the end. */
static int
encode_text_stream(struct enc_state *st, const uint8_t *s, size_t len, struct ad_error *e)
{
	size_t n = 0;
	int    rc;

	if ((rc = bpe_encode_parallel(st->b, st->nt, s, len, &st->ids, &n, &st->idcap, e)) != 0) {
		ad_error_prefix(e, "%s", st->name);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		size_t         tl;
		const uint8_t *tb = bpe_token_bytes(st->b, st->ids[i], &tl);
		if (out_reserve(&st->t, 12) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		if (st->any)
			st->t.buf[st->t.len++] = st->sep;
		st->t.len = (size_t)(put_u32(st->t.buf + st->t.len, st->ids[i]) - st->t.buf);
		/* A line break after a token that ends a line keeps files readable. */
		st->sep = tl > 0 && tb[tl - 1] == '\n' ? '\n' : ' ';
		st->any = 1;
		if (st->t.len > (1u << 20)) {
			fwrite(st->t.buf, 1, st->t.len, st->f);
			st->t.len = 0;
		}
	}
	return 0;
}

/* Append n bytes to a growing buffer. */
static int
carry_add(struct text_out *c, const uint8_t *s, size_t n)
{
	if (n == 0)
		return 0;
	if (out_reserve(c, n) != 0)
		return AD_ENOMEM;
	memmove(c->buf + c->len, s, n);
	c->len += n;
	return 0;
}

static int
tok_encode(struct tok_opts *o, const char *input)
{
	struct ad_error   e = { 0 };
	struct ad_atomic  out;
	struct ad_chunks *ck;
	struct bpe       *b;
	struct enc_state  st = { 0 };
	struct text_out   carry = { 0 };
	const uint8_t    *data;
	size_t            len;
	int               rc, cut;

	if ((rc = tok_load(o, &b)) != 0)
		return rc;
	st.b = b;
	st.nt = tok_threads(o);
	st.name = strcmp(input, "-") == 0 ? "<stdin>" : input;
	if (tok_open_io(o, input, b, &ck, &out) != 0)
		return CLI_EXIT_FAIL;
	st.f = out.f;
	rc = 0;
	if (!o->stream) {
		st.nb = (size_t)st.nt * 4;
		if ((st.encs = ad_calloc((size_t)st.nt, sizeof *st.encs)) == NULL ||
		    (st.tids = ad_calloc((size_t)st.nt, sizeof *st.tids)) == NULL ||
		    (st.tcap = ad_calloc((size_t)st.nt, sizeof *st.tcap)) == NULL ||
		    (st.blk = ad_calloc(st.nb, sizeof *st.blk)) == NULL)
			rc = ad_fail(&e, AD_ENOMEM, "out of memory");
		for (int t = 0; t < st.nt && rc == 0; t++)
			rc = bpe_encoder_new(b, &st.encs[t], &e);
	}
	while (rc == 0 && (rc = ad_chunks_next(ck, &data, &len, &cut, &e)) == 1) {
		const uint8_t *s = data;
		size_t         n = len, k;

		rc = 0;
		if (carry.len > 0) {
			if (carry_add(&carry, data, len) != 0) {
				rc = ad_fail(&e, AD_ENOMEM, "%s: out of memory holding a line of %zu bytes",
				    st.name, carry.len + len);
				break;
			}
			s = (const uint8_t *)carry.buf;
			n = carry.len;
		}
		k = n;
		/* A piece inside a long line, and in --stream mode every piece, is
		 * encoded up to its last cut point; the rest waits for more. */
		if (o->stream || cut)
			k = bpe_cut_point(b, s, n);
		if (k > 0)
			rc = o->stream ? encode_text_stream(&st, s, k, &e) :
			    encode_text_lines(&st, s, k, &e);
		if (rc == 0 && s == (const uint8_t *)carry.buf) {
			memmove(carry.buf, carry.buf + k, n - k);
			carry.len = n - k;
		} else if (rc == 0 && carry_add(&carry, s + k, n - k) != 0) {
			rc = ad_fail(&e, AD_ENOMEM, "%s: out of memory", st.name);
		}
	}
	if (rc == 0 && carry.len > 0)
		rc = o->stream ? encode_text_stream(&st, (const uint8_t *)carry.buf, carry.len, &e) :
		    encode_text_lines(&st, (const uint8_t *)carry.buf, carry.len, &e);
	if (rc == 0 && o->stream) {
		if (st.any) {
			st.t.buf[st.t.len++] = '\n';  /* out_reserve left room for 12 */
			fwrite(st.t.buf, 1, st.t.len, st.f);
		}
	}
	for (int t = 0; t < st.nt; t++) {
		if (st.encs != NULL)
			bpe_encoder_free(st.encs[t]);
		if (st.tids != NULL)
			ad_free(st.tids[t]);
	}
	for (size_t j = 0; st.blk != NULL && j < st.nb; j++)
		ad_free(st.blk[j].out.buf);
	ad_free(st.blk);
	ad_free(st.encs);
	ad_free(st.tids);
	ad_free(st.tcap);
	ad_free(st.ids);
	ad_free(st.t.buf);
	ad_free(carry.buf);
	ad_chunks_free(ck);
	bpe_free(b);
	if (rc != 0) {
		ad_atomic_abort(&out);
		return cli_fail(&e);
	}
	if (ad_atomic_commit(&out, &e) != 0)
		return cli_fail(&e);
	return CLI_EXIT_OK;
}

/* ---- decode ------------------------------------------------------------- */

struct dec_state {
	const struct bpe *b;
	const char       *name, *vocab;
	FILE             *f;
	int               stream;
	uint32_t          nids;
	size_t            line;
	uint8_t          *bytes;
	size_t            blen, bcap;
};

/* Decode the ids in s[0..len), which ends between two ids. */
static int
decode_text(struct dec_state *d, const uint8_t *s, size_t len, struct ad_error *e)
{
	int rc = 0;

	for (size_t i = 0; i < len && rc == 0;) {
		uint8_t c = s[i];
		if (c == ' ' || c == '\t' || c == '\r') {
			i++;
		} else if (c == '\n') {
			if (!d->stream) {
				if (d->blen + 1 > d->bcap) {
					uint8_t *p = ad_realloc(d->bytes, d->bcap = d->bcap * 2 + 4096);
					if (p == NULL)
						return ad_fail(e, AD_ENOMEM, "out of memory");
					d->bytes = p;
				}
				d->bytes[d->blen++] = '\n';
			}
			d->line++;
			i++;
		} else if (c >= '0' && c <= '9') {
			uint64_t v = 0;
			size_t   st = i;
			while (i < len && s[i] >= '0' && s[i] <= '9' && v < (1ull << 33))
				v = v * 10 + (uint64_t)(s[i++] - '0');
			if (i < len && s[i] > ' ') {
				rc = ad_fail(e, AD_EFORMAT, "%s:%zu: '%.*s' is not a token id", d->name,
				    d->line, (int)(i + 1 - st > 20 ? 20 : i + 1 - st), (const char *)s + st);
			} else if (v >= d->nids) {
				rc = ad_fail(e, AD_EFORMAT, "%s:%zu: id %llu is not a token of %s (%u ids)",
				    d->name, d->line, (unsigned long long)v, d->vocab, d->nids);
			} else {
				uint32_t id = (uint32_t)v;
				if (bpe_decode(d->b, &id, 1, &d->bytes, &d->blen, &d->bcap, e) != 0) {
					ad_error_prefix(e, "%s:%zu", d->name, d->line);
					rc = e->code;
				}
			}
		} else {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: '%c' where a token id was expected "
			    "(not a token file?)", d->name, d->line, c >= 0x20 && c < 0x7f ? c : '?');
		}
		if (d->blen > (1u << 20)) {
			fwrite(d->bytes, 1, d->blen, d->f);
			d->blen = 0;
		}
	}
	return rc;
}

static int
tok_decode(struct tok_opts *o, const char *input)
{
	struct ad_error   e = { 0 };
	struct ad_atomic  out;
	struct ad_chunks *ck;
	struct bpe       *b;
	struct dec_state  d = { 0 };
	struct text_out   carry = { 0 };
	const uint8_t    *data;
	size_t            len;
	int               rc = 0, cut;

	if ((rc = tok_load(o, &b)) != 0)
		return rc;
	d.b = b;
	d.nids = bpe_vocab_size(b);
	d.name = strcmp(input, "-") == 0 ? "<stdin>" : input;
	d.vocab = o->vocab;
	d.stream = o->stream;
	d.line = 1;
	if (tok_open_io(o, input, b, &ck, &out) != 0)
		return CLI_EXIT_FAIL;
	d.f = out.f;
	while (rc == 0 && (rc = ad_chunks_next(ck, &data, &len, &cut, &e)) == 1) {
		const uint8_t *s = data;
		size_t         n = len, k;

		rc = 0;
		if (carry.len > 0) {
			if (carry_add(&carry, data, len) != 0) {
				rc = ad_fail(&e, AD_ENOMEM, "out of memory");
				break;
			}
			s = (const uint8_t *)carry.buf;
			n = carry.len;
		}
		k = n;
		/* A piece inside a long line ends after its last blank (an id is
		 * never cut); a tail longer than any id is left to fail below. */
		if (cut) {
			while (k > 0 && s[k - 1] != ' ' && s[k - 1] != '\t' && s[k - 1] != '\r')
				k--;
			if (n - k > 32)
				k = n;
		}
		rc = decode_text(&d, s, k, &e);
		if (rc == 0 && s == (const uint8_t *)carry.buf) {
			memmove(carry.buf, carry.buf + k, n - k);
			carry.len = n - k;
		} else if (rc == 0 && carry_add(&carry, s + k, n - k) != 0) {
			rc = ad_fail(&e, AD_ENOMEM, "out of memory");
		}
	}
	if (rc == 0 && carry.len > 0)
		rc = decode_text(&d, (const uint8_t *)carry.buf, carry.len, &e);
	if (rc == 0 && d.blen > 0)
		fwrite(d.bytes, 1, d.blen, out.f);
	ad_free(d.bytes);
	ad_free(carry.buf);
	ad_chunks_free(ck);
	bpe_free(b);
	if (rc != 0) {
		ad_atomic_abort(&out);
		return cli_fail(&e);
	}
	if (ad_atomic_commit(&out, &e) != 0)
		return cli_fail(&e);
	return CLI_EXIT_OK;
}

/* ---- info --------------------------------------------------------------- */

static int
tok_info(struct tok_opts *o, int nfiles, char **files)
{
	struct ad_error e = { 0 };
	struct ad_json  j;
	struct bpe     *b;
	const char     *pname;
	int             rc, nt = tok_threads(o);
	char            ident[17];

	if ((rc = tok_load(o, &b)) != 0)
		return rc;
	pname = bpe_pattern_name(b);
	snprintf(ident, sizeof ident, "%016llx", (unsigned long long)bpe_identity(b));
	if (o->common.json) {
		ad_json_init(&j, stdout, 1);
		ad_json_object_begin(&j);
		ad_json_key(&j, "vocabulary");
		ad_json_string(&j, o->vocab);
		ad_json_key(&j, "ids");
		ad_json_uint(&j, bpe_vocab_size(b));
		ad_json_key(&j, "tokens");
		ad_json_uint(&j, bpe_num_tokens(b));
		ad_json_key(&j, "tiktoken");
		if (bpe_tiktoken_name(b))
			ad_json_string(&j, bpe_tiktoken_name(b));
		else
			ad_json_null(&j);
		ad_json_key(&j, "pattern_name");
		if (pname)
			ad_json_string(&j, pname);
		else
			ad_json_null(&j);
		ad_json_key(&j, "pattern");
		ad_json_string(&j, bpe_pattern(b));
		ad_json_key(&j, "normalize");
		ad_json_string(&j, norm_name(bpe_normalization(b)));
		ad_json_key(&j, "casefold");
		ad_json_bool(&j, bpe_casefold(b));
		ad_json_key(&j, "specials");
		ad_json_array_begin(&j);
		for (uint32_t i = 0; i < bpe_num_specials(b); i++) {
			size_t         l;
			const uint8_t *s = bpe_token_bytes(b, bpe_special_id(b, i), &l);
			ad_json_object_begin(&j);
			ad_json_key(&j, "id");
			ad_json_uint(&j, bpe_special_id(b, i));
			ad_json_key(&j, "text");
			ad_json_string_n(&j, (const char *)s, l);
			ad_json_object_end(&j);
		}
		ad_json_array_end(&j);
		ad_json_key(&j, "identity");
		ad_json_string(&j, ident);
		ad_json_key(&j, "files");
		ad_json_array_begin(&j);
	} else {
		printf("vocabulary  %s\n", o->vocab);
		printf("ids         %u (%u regular tokens, %u special)\n", bpe_vocab_size(b),
		    bpe_num_tokens(b), bpe_num_specials(b));
		if (bpe_tiktoken_name(b))
			printf("tiktoken    %s (the rank file tiktoken publishes)\n", bpe_tiktoken_name(b));
		printf("pattern     %s%s%s\n", pname ? pname : "", pname ? ": " : "", bpe_pattern(b));
		printf("normalize   %s\n", norm_name(bpe_normalization(b)));
		printf("casefold    %s\n", bpe_casefold(b) ? "yes" : "no");
		for (uint32_t i = 0; i < bpe_num_specials(b); i++) {
			size_t         l;
			const uint8_t *s = bpe_token_bytes(b, bpe_special_id(b, i), &l);
			printf("special     %u ", bpe_special_id(b, i));
			ad_json_write_string(stdout, (const char *)s, l);
			putchar('\n');
		}
		printf("identity    %s\n", ident);
	}
	for (int f = 0; f < nfiles && rc == 0; f++) {
		struct ad_map m;
		uint32_t     *ids = NULL;
		size_t        n = 0, cap = 0;
		double        t0, dt;

		if ((rc = ad_map_file(files[f], &m, &e)) != 0)
			break;
		t0 = ad_now();
		rc = bpe_encode_parallel(b, nt, m.data, m.size, &ids, &n, &cap, &e);
		dt = ad_now() - t0;
		if (rc == 0 && o->common.json) {
			ad_json_object_begin(&j);
			ad_json_key(&j, "file");
			ad_json_string(&j, files[f]);
			ad_json_key(&j, "bytes");
			ad_json_uint(&j, m.size);
			ad_json_key(&j, "tokens");
			ad_json_uint(&j, n);
			ad_json_key(&j, "bytes_per_token");
			ad_json_double(&j, n ? (double)m.size / (double)n : 0);
			ad_json_key(&j, "encode_seconds");
			ad_json_double(&j, dt);
			ad_json_key(&j, "threads");
			ad_json_int(&j, nt);
			ad_json_object_end(&j);
		} else if (rc == 0) {
			printf("file        %s: %zu bytes, %zu tokens, %.3f bytes/token; encoded in "
			    "%.3fs (%.1f MB/s, %d thread%s)\n", files[f], m.size, n,
			    n ? (double)m.size / (double)n : 0.0, dt, dt > 0 ? (double)m.size / 1e6 / dt : 0.0,
			    nt, nt == 1 ? "" : "s");
		}
		ad_free(ids);
		ad_map_release(&m);
	}
	if (o->common.json && rc == 0) {
		ad_json_array_end(&j);
		ad_json_object_end(&j);
		ad_json_end(&j);
	}
	bpe_free(b);
	return rc != 0 ? cli_fail(&e) : CLI_EXIT_OK;
}

/* ---- dispatch ----------------------------------------------------------- */

int
cmd_tokenize(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output",        required_argument, NULL, 'o' },
		{ "vocab",         required_argument, NULL, 't' },
		{ "tokenizer",     required_argument, NULL, 't' },   /* an alias */
		{ "vocab-size",    required_argument, NULL, 'V' },
		{ "pattern",       required_argument, NULL, 'p' },
		{ "normalize",     required_argument, NULL, 'N' },
		{ "casefold",      no_argument,       NULL, 'c' },
		{ "special",       required_argument, NULL, 's' },
		{ "min-frequency", required_argument, NULL, 'm' },
		{ "stream",        no_argument,       NULL, 'S' },
		{ "json",          no_argument,       NULL, 'j' },
		{ "threads",       required_argument, NULL, 'T' },
		{ "quiet",         no_argument,       NULL, 'q' },
		{ "help",          no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct tok_opts o = { .norm = NORM_NONE, .min_freq = 2 };
	const char     *sub;
	uint64_t        v;
	int             c, rc, normset = 0;

	if (argc < 2) {
		fputs(tokenize_help, stderr);
		return CLI_EXIT_USAGE;
	}
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
		return cli_help(tokenize_help);
	if (strcmp(sub, "train") != 0 && strcmp(sub, "encode") != 0 && strcmp(sub, "decode") != 0 &&
	    strcmp(sub, "info") != 0)
		return cli_usage("tokenize", "'%s' is not one of train, encode, decode, info", sub);
	argc--;
	argv++;
	optind = 1;
	if ((o.specials = ad_calloc((size_t)argc + 1, sizeof *o.specials)) == NULL)
		return cli_failf("out of memory");
	while ((c = cli_getopt(argc, argv, "o:t:qh", longopts, "tokenize")) != -1) {
		rc = 0;
		switch (c) {
		case 'o': o.output = optarg; break;
		case 't': o.vocab = optarg; break;
		case 'V': rc = cli_u64("tokenize", "--vocab-size", optarg, 256, 1u << 30, &o.vocab_size); break;
		case 'p': o.pattern = optarg; break;
		case 'N':
			if (norm_parse(optarg, &o.norm) != 0)
				rc = cli_usage("tokenize", "--normalize: '%s' is not none, nfc or nfkc", optarg);
			normset = 1;
			break;
		case 'c': o.casefold = 1; break;
		case 's':
			if (*optarg == '\0')
				rc = cli_usage("tokenize", "--special: a special token cannot be empty");
			for (size_t k = 0; rc == 0 && k < o.nspecials; k++)
				if (strcmp(o.specials[k], optarg) == 0)
					rc = cli_usage("tokenize", "--special: '%s' given twice", optarg);
			o.specials[o.nspecials++] = optarg;
			break;
		case 'm': rc = cli_u64("tokenize", "--min-frequency", optarg, 1, UINT64_MAX, &o.min_freq); break;
		case 'S': o.stream = 1; break;
		case 'j': o.common.json = 1; break;
		case 'T':
			rc = cli_u64("tokenize", "--threads", optarg, 1, 4096, &v);
			o.common.threads = (int)v;
			break;
		case 'q': o.common.quiet = 1; break;
		case 'h': ad_free(o.specials); return cli_help(tokenize_help);
		default:  ad_free(o.specials); return CLI_EXIT_USAGE;
		}
		if (rc != 0) {
			ad_free(o.specials);
			return rc;
		}
	}
	cli_apply_threads(&o.common);
	if (strcmp(sub, "train") == 0) {
		rc = tok_train(&o, argc - optind, argv + optind);
	} else {
		if (o.vocab == NULL)
			rc = cli_usage("tokenize", "%s: give the vocabulary with -t VOCAB", sub);
		else if (normset || o.casefold || o.vocab_size || o.min_freq != 2)
			rc = cli_usage("tokenize", "%s: --vocab-size, --normalize, --casefold and "
			    "--min-frequency are training options (a vocabulary keeps its own)", sub);
		else if (strcmp(sub, "info") == 0)
			rc = tok_info(&o, argc - optind, argv + optind);
		else if (argc - optind > 1)
			rc = cli_usage("tokenize", "%s: one input file at most", sub);
		else if (o.common.json)
			rc = cli_usage("tokenize", "%s: --json is for info", sub);
		else if (strcmp(sub, "encode") == 0)
			rc = tok_encode(&o, optind < argc ? argv[optind] : "-");
		else
			rc = tok_decode(&o, optind < argc ? argv[optind] : "-");
	}
	ad_free(o.specials);
	return rc;
}
