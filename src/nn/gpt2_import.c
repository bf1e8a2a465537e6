/*
 * gpt2_import.c — GPT-2 checkpoints written by other tools, opened as
 * models of this program's own architecture (nn.h), and GPT-2's tokenizer.
 *
 * Two layouts, recognised by content (models/models.c):
 *
 * The Hugging Face layout (transformers' GPT2LMHeadModel, saved as
 * safetensors): config.json gives the shape, model.safetensors holds
 * wte.weight (V, C), wpe.weight (T, C), per block h.N.ln_1, h.N.attn.c_attn
 * (weight (C, 3C)), h.N.attn.c_proj ((C, C)), h.N.ln_2, h.N.mlp.c_fc
 * ((C, 4C)), h.N.mlp.c_proj ((4C, C)), then ln_f; the names may carry a
 * "transformer." prefix. Its Conv1D weights are stored input-major (x W),
 * ours output-major (W x): the model keeps them input-major (struct gpt's
 * w_in_major, each block's four matrices found through blockw), so that a
 * float32 file is used in place like llm.c's: the embeddings and the
 * matrices point into the mapping, and opening a 500 MB checkpoint copies
 * only its LayerNorms and biases. F16 and BF16 tensors are widened.
 *
 * llm.c's model file (train_gpt2.c, gpt2_build_from_checkpoint): a header
 * of 256 little-endian int32 (magic 20240326, version 3 for float32 or 5
 * for bfloat16, max T, V, L, NH, C, padded V), then the sixteen tensors in
 * exactly our order and layout, the token embedding padded to Vp rows. A
 * version-3 file is used in place: the parameters point into the mapping.
 *
 * Either way the model opens a text with <|endoftext|> (id V - 1), as GPT-2
 * was trained (struct gpt's eot_bos; cfg.Vin = V: no marker rows), and its
 * tokenizer is GPT-2's byte-level BPE, r50k_base in tiktoken's terms.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/io.h"
#include "base/jtree.h"
#include "bpe/bpe.h"
#include "lm/lm.h"
#include "nn/import.h"
#include "nn/nn.h"

/* The files are little-endian; a float32 is used in place only on a host
 * that is too. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define AD_LITTLE_ENDIAN 1
#else
#define AD_LITTLE_ENDIAN 0
#endif

/* ------------------------------------------------------------------------
 * Numbers stored in 16 bits
 * ------------------------------------------------------------------------ */

/* bfloat16 is the top half of a float32 (Kalamkar et al. 2019). */
float
nn_bf16_to_f32(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float    f;

	memcpy(&f, &u, 4);
	return f;
}

/* IEEE 754 binary16: 1 sign, 5 exponent (bias 15), 10 fraction bits. */
float
nn_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31, ex = (h >> 10) & 31, fr = h & 1023, u;
	float    f;

	if (ex == 0) {
		/* Zero or subnormal: fr * 2^-24, exact in float32. */
		f = (float)fr * 0x1p-24f;
		return sign ? -f : f;
	}
	if (ex == 31)
		u = sign | 0x7f800000u | fr << 13;
	else
		u = sign | (ex + 112) << 23 | fr << 13;
	memcpy(&f, &u, 4);
	return f;
}

static uint16_t
rd_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Element i of a tensor of 4-byte floats or 2-byte halves, as float. */
static float
elem(const uint8_t *p, enum nn_st_dtype dt, size_t i)
{
	float f;

	switch (dt) {
	case NN_ST_F32:
		memcpy(&f, p + 4 * i, 4);
		return f;
	case NN_ST_BF16:
		return nn_bf16_to_f32(rd_u16(p + 2 * i));
	default:
		return nn_f16_to_f32(rd_u16(p + 2 * i));
	}
}

/* dst = src (rows, cols) as floats: copied when float32, widened otherwise. */
static void
convert(float *dst, const uint8_t *src, enum nn_st_dtype dt, size_t rows, size_t cols)
{
	if (dt == NN_ST_F32) {
		memcpy(dst, src, rows * cols * 4);
		return;
	}
	for (size_t i = 0; i < rows * cols; i++)
		dst[i] = elem(src, dt, i);
}

/* Give back the pages of a mapped range that was converted and is not read
 * again, so that a model's peak memory is not its file plus its copy. */
static void
drop_pages(const struct ad_map *map, const void *p, size_t n)
{
	long      page = sysconf(_SC_PAGESIZE);
	uintptr_t a = (uintptr_t)p, b = a + n;

	if (!map->mapped || page <= 0)
		return;
	a = (a + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
	b = b / (uintptr_t)page * (uintptr_t)page;
	if (b > a)
		(void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/* ------------------------------------------------------------------------
 * The tokenizer
 * ------------------------------------------------------------------------ */

/*
 * GPT-2's vocab.json writes each token's bytes as printable characters
 * (encoder.py, bytes_to_unicode): byte b is U+00b itself when it is
 * printable Latin-1 (33..126, 161..172, 174..255), otherwise U+0100 + k for
 * the k-th of the other 68 bytes in increasing order. The inverse: a code
 * point to its byte, or -1.
 */
static int
gpt2_unicode_byte(uint32_t cp)
{
	int k = 0;

	if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255))
		return (int)cp;
	if (cp < 256 || cp >= 256 + 68)
		return -1;
	for (int b = 0; b < 256; b++) {
		if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255))
			continue;
		if (k++ == (int)(cp - 256))
			return b;
	}
	return -1;
}

/* The bytes a vocab.json key stands for (UTF-8 of the mapped characters);
 * -1 when a character is not one of the 256. out holds len bytes. */
static int
gpt2_key_bytes(const char *s, size_t len, uint8_t *out, size_t *n)
{
	size_t k = 0;

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		int      b;
		uint8_t  c = (uint8_t)s[i];
		if (c < 0x80) {
			cp = c;
			i++;
		} else if ((c & 0xe0) == 0xc0 && i + 1 < len) {
			cp = (uint32_t)(c & 0x1f) << 6 | ((uint8_t)s[i + 1] & 0x3f);
			i += 2;
		} else {
			return -1;   /* the mapped characters all lie below U+0800 */
		}
		if ((b = gpt2_unicode_byte(cp)) < 0)
			return -1;
		out[k++] = (uint8_t)b;
	}
	*n = k;
	return 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Append the base64 of p (n bytes) to out (room for 4 (n + 2) / 3 bytes). */
static size_t
base64(char *out, const uint8_t *p, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
		             (i + 2 < n ? p[i + 2] : 0);
		out[k++] = b64[v >> 18 & 63];
		out[k++] = b64[v >> 12 & 63];
		out[k++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[k++] = i + 2 < n ? b64[v & 63] : '=';
	}
	return k;
}

struct rank_tok {
	uint64_t       rank;
	const uint8_t *bytes;   /* len bytes, in the pool */
	size_t         len;
};

static int
by_rank(const void *a, const void *b)
{
	const struct rank_tok *x = a, *y = b;

	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* vocab.json's tokens by rank (t) and by bytes (by_bytes), for looking
 * up the merges of merges.txt. */
struct tok_index {
	struct rank_tok        *t;          /* (n) in rank order */
	size_t                  n;
	const struct rank_tok **by_bytes;   /* (n) the same, in byte order */
};

static int
cmp_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	int c = memcmp(a, b, na < nb ? na : nb);

	return c != 0 ? c : (na > nb) - (na < nb);
}

static int
by_bytes(const void *a, const void *b)
{
	const struct rank_tok *x = *(const struct rank_tok *const *)a;
	const struct rank_tok *y = *(const struct rank_tok *const *)b;

	return cmp_bytes(x->bytes, x->len, y->bytes, y->len);
}

/* The rank of the token with bytes p (n), or -1 (binary search). */
static int64_t
tok_rank(const struct tok_index *ix, const uint8_t *p, size_t n)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t                 mid = (lo + hi) / 2;
		const struct rank_tok *t = ix->by_bytes[mid];
		int                    c = cmp_bytes(t->bytes, t->len, p, n);
		if (c == 0)
			return (int64_t)t->rank;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * merges.txt: an optional "#version" line, then one merge "A B" a line in
 * the order BPE learned them. Each must join two tokens of vocab.json into
 * a third of higher rank than both, and the ranks must rise down the file:
 * then the pair and the ranks describe the same tokenizer.
 */
static int
check_merges(const struct tok_index *ix, const char *path, struct ad_error *e)
{
	struct ad_map m;
	uint8_t      *buf = NULL;
	size_t        line = 0, cap = 0;
	int64_t       last = -1;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0) {
		ad_error_prefix(e, "GPT-2's vocab.json comes with merges.txt beside it");
		return rc;
	}
	for (size_t i = 0; i < m.size; line++) {
		const char *s = (const char *)m.data + i, *nl = memchr(s, '\n', m.size - i), *sp;
		size_t      len = nl != NULL ? (size_t)(nl - s) : m.size - i, na, nb;
		int64_t     ra, rb, rab;
		i += len + (nl != NULL);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len == 0 || (line == 0 && len >= 8 && memcmp(s, "#version", 8) == 0))
			continue;
		if (len * 2 > cap) {
			ad_free(buf);
			cap = len * 2;
			if ((buf = ad_malloc(cap)) == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
				goto out;
			}
		}
		if ((sp = memchr(s, ' ', len)) == NULL ||
		    gpt2_key_bytes(s, (size_t)(sp - s), buf, &na) != 0 ||
		    gpt2_key_bytes(sp + 1, len - (size_t)(sp - s) - 1, buf + na, &nb) != 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: not a merge \"A B\" of GPT-2's byte "
			    "characters", path, line + 1);
			goto out;
		}
		ra = tok_rank(ix, buf, na);
		rb = tok_rank(ix, buf + na, nb);
		rab = tok_rank(ix, buf, na + nb);
		if (ra < 0 || rb < 0 || rab < 0 || rab <= ra || rab <= rb || rab <= last) {
			rc = ad_fail(e, AD_EMISMATCH, "%s:%zu: this merge disagrees with vocab.json "
			    "(its parts or its result are missing there, or out of rank order): the "
			    "two files are not one tokenizer", path, line + 1);
			goto out;
		}
		last = rab;
	}
	rc = 0;
out:
	ad_free(buf);
	ad_map_release(&m);
	return rc;
}

/*
 * vocab.json (+ merges.txt) to the text of a tiktoken rank file, one
 * "BASE64 RANK" line per token in rank order, and the id of <|endoftext|>.
 */
static int
vocab_to_ranks(const uint8_t *data, size_t size, const char *path, const char *merges,
    uint32_t skip, char **text, size_t *tlen, int64_t *eot, struct ad_error *e)
{
	struct ad_jt    *j = NULL;
	struct tok_index ix = { 0 };
	uint8_t         *pool = NULL;
	size_t           bad = 0, used = 0, k = 0, cap = 0;
	char            *out = NULL;
	int              rc;

	*eot = -1;
	if ((rc = ad_jt_parse((const char *)data, size, &j, &bad)) != 0)
		return rc == AD_ENOMEM ? ad_fail(e, rc, "%s: out of memory", path)
		                       : ad_fail(e, AD_EFORMAT, "%s: byte %zu: not valid JSON", path,
		                             bad);
	if (j->type != AD_JT_OBJECT || j->n == 0) {
		rc = ad_fail(e, AD_EFORMAT, "%s: not a GPT-2 vocab.json (an object of token: id)",
		    path);
		goto out;
	}
	if ((ix.t = ad_calloc(j->n, sizeof *ix.t)) == NULL ||
	    (ix.by_bytes = ad_calloc(j->n, sizeof *ix.by_bytes)) == NULL ||
	    (pool = ad_malloc(size)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < j->n; i++) {
		uint64_t r;
		size_t   n;
		if (ad_jt_u64(&j->items[i], &r) != 0 || r > UINT32_MAX - 2) {
			rc = ad_fail(e, AD_EFORMAT, "%s: token %zu: its id is not an integer below "
			    "2^32", path, i);
			goto out;
		}
		if (r == skip)
			continue;   /* the input-only id of an export (its name varies) */
		if (strcmp(j->keys[i], "<|endoftext|>") == 0) {
			*eot = (int64_t)r;
			continue;
		}
		/* Decoded keys are no longer than their JSON text: the pool fits. */
		if (gpt2_key_bytes(j->keys[i], j->key_len[i], pool + used, &n) != 0 || n == 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s: token %zu (id %llu): not written in GPT-2's "
			    "byte characters", path, i, (unsigned long long)r);
			goto out;
		}
		ix.t[ix.n++] = (struct rank_tok){ r, pool + used, n };
		used += n;
	}
	qsort(ix.t, ix.n, sizeof *ix.t, by_rank);
	for (size_t i = 0; i < ix.n; i++) {
		ix.by_bytes[i] = &ix.t[i];
		if (i > 0 && ix.t[i].rank == ix.t[i - 1].rank) {
			rc = ad_fail(e, AD_EFORMAT, "%s: id %llu is given to two tokens", path,
			    (unsigned long long)ix.t[i].rank);
			goto out;
		}
	}
	qsort(ix.by_bytes, ix.n, sizeof *ix.by_bytes, by_bytes);
	for (size_t i = 1; i < ix.n; i++) {
		const struct rank_tok *a = ix.by_bytes[i - 1], *b = ix.by_bytes[i];
		if (cmp_bytes(a->bytes, a->len, b->bytes, b->len) == 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s: ids %llu and %llu are the same bytes", path,
			    (unsigned long long)a->rank, (unsigned long long)b->rank);
			goto out;
		}
	}
	if ((rc = check_merges(&ix, merges, e)) != 0)
		goto out;
	/* Each line: base64 (4/3 of the bytes, rounded up to 4), a space, up
	 * to 10 digits, a newline. */
	cap = 0;
	for (size_t i = 0; i < ix.n; i++)
		cap += (ix.t[i].len + 2) / 3 * 4 + 12;
	if ((out = ad_malloc(cap + 1)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	for (size_t i = 0; i < ix.n; i++) {
		k += base64(out + k, ix.t[i].bytes, ix.t[i].len);
		k += (size_t)snprintf(out + k, cap + 1 - k, " %llu\n",
		    (unsigned long long)ix.t[i].rank);
	}
	*text = out;
	*tlen = k;
	out = NULL;
	rc = 0;
out:
	ad_free(out);
	ad_free(pool);
	ad_free(ix.t);
	ad_free(ix.by_bytes);
	ad_jt_free(j);
	return rc;
}

/* dirname(path)/file, newly allocated. */
static char *
beside(const char *path, const char *file)
{
	const char *slash = strrchr(path, '/');
	size_t      d = slash != NULL ? (size_t)(slash - path) + 1 : 0, n = strlen(file);
	char       *s = ad_malloc(d + n + 1);

	if (s != NULL) {
		memcpy(s, path, d);
		memcpy(s + d, file, n + 1);
	}
	return s;
}

int
nn_gpt2_tokenizer_load(struct bpe **out, const char *path, const char *merges_path, uint32_t V,
    int eot_last, struct ad_error *e)
{
	struct ad_map m;
	char          special[48], *text = NULL, *merges = NULL;
	const char   *specials[1] = { special };
	size_t        tlen = 0, i = 0;
	int64_t       eot = eot_last ? (int64_t)V - 1 : -1;
	int           rc;
	struct bpe   *b = NULL;
	const uint8_t *tb;
	size_t        tn;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	while (i < m.size && (m.data[i] == ' ' || m.data[i] == '\n' || m.data[i] == '\r' ||
	    m.data[i] == '\t'))
		i++;
	if (i < m.size && m.data[i] == '{') {
		if (merges_path == NULL && (merges = beside(path, "merges.txt")) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto out;
		}
		rc = vocab_to_ranks(m.data, m.size, path, merges_path != NULL ? merges_path : merges,
		    eot_last ? UINT32_MAX : V, &text, &tlen, &eot, e);
		if (rc != 0)
			goto out;
		if (eot_last && eot != (int64_t)V - 1) {
			rc = ad_fail(e, AD_EMISMATCH, "%s: <|endoftext|> is %s%lld, but a GPT-2 of "
			    "%u ids has it at %u: not this model's tokenizer", path,
			    eot < 0 ? "missing" : "id ", (long long)(eot < 0 ? 0 : eot), V, V - 1);
			goto out;
		}
	}
	snprintf(special, sizeof special, "<|endoftext|>=%lld", (long long)eot);
	rc = bpe_parse_tiktoken(&b, text != NULL ? text : (const char *)m.data,
	    text != NULL ? tlen : m.size, path, "gpt2", specials, eot >= 0, e);
	if (rc != 0)
		goto out;
	if (bpe_vocab_size(b) != V || (eot_last && ((tb = bpe_token_bytes(b, V - 1, &tn)) == NULL ||
	    tn != 13 || memcmp(tb, "<|endoftext|>", 13) != 0))) {
		rc = ad_fail(e, AD_EMISMATCH, "%s: a tokenizer of %u ids, but the model has %u "
		    "(GPT-2's r50k_base has 50257, <|endoftext|> the last): not this model's "
		    "tokenizer", path, bpe_vocab_size(b), V);
		bpe_free(b);
		goto out;
	}
	*out = b;
out:
	ad_free(text);
	ad_free(merges);
	ad_map_release(&m);
	return rc;
}

/* ------------------------------------------------------------------------
 * The model around imported weights
 * ------------------------------------------------------------------------ */

/* A model with parameter pointers but no parameter block: the importer
 * points each tensor into the file or into own (floats it allocates). */
static int
import_new(struct gpt **out, const struct gpt_config *cfg, int eot, size_t own,
    const char *path, struct ad_error *e)
{
	struct gpt       *g;
	struct gpt_config ours = *cfg;

	/* GPT-2's is checked as if it had our BOS row: the other bounds are
	 * the same. */
	ours.Vin = cfg->V + 1;
	if (cfg->Vin != (eot ? cfg->V : cfg->V + 1))
		return ad_fail(e, AD_EFORMAT, "%s: %u input rows for %u output ids", path, cfg->Vin,
		    cfg->V);
	if (gpt_config_check(&ours, e) != 0) {
		ad_error_prefix(e, "%s: the checkpoint's shape is not one this program runs", path);
		return AD_EFORMAT;
	}
	if ((g = ad_calloc(1, sizeof *g)) == NULL ||
	    (own > 0 && (g->param_mem = ad_mallocarray(own, sizeof(float))) == NULL)) {
		ad_free(g);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for %zu parameters (%.1f MB)", path,
		    own, own * 4.0 / 1e6);
	}
	g->cfg = *cfg;
	g->eot_bos = eot;
	g->nparams = (size_t)gpt_param_count(cfg);
	*out = g;
	return 0;
}

/* The tokenizer for a model of V ids: -t, or beside the model. */
static int
find_tokenizer(struct bpe **out, const char *tokenizer, const char *dir_or_file, uint32_t V,
    int eot, const char *path, struct ad_error *e)
{
	char *vocab, *merges;
	int   rc;

	if (tokenizer != NULL)
		return nn_gpt2_tokenizer_load(out, tokenizer, NULL, V, eot, e);
	if (dir_or_file == NULL)
		return ad_fail(e, AD_EINVAL, "%s: an llm.c checkpoint holds no tokenizer: give "
		    "-t r50k_base.tiktoken (or -t vocab.json, with merges.txt beside it)", path);
	vocab = beside(dir_or_file, "vocab.json");
	merges = beside(dir_or_file, "merges.txt");
	if (vocab == NULL || merges == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
	} else if (access(vocab, R_OK) != 0) {
		rc = ad_fail(e, AD_EINVAL, "%s: no tokenizer: %s is missing; put GPT-2's "
		    "vocab.json and merges.txt there, or give -t r50k_base.tiktoken", path, vocab);
	} else {
		rc = nn_gpt2_tokenizer_load(out, vocab, merges, V, eot, e);
	}
	ad_free(vocab);
	ad_free(merges);
	return rc;
}

/* ------------------------------------------------------------------------
 * The Hugging Face layout
 * ------------------------------------------------------------------------ */

/* An integer field of config.json, or dflt (-1: required) when absent. */
static int
cfg_u32(const struct ad_jt *c, const char *key, int64_t dflt, uint32_t *v, const char *path,
    struct ad_error *e)
{
	const struct ad_jt *f = ad_jt_get(c, key);
	uint64_t            x;

	if (f == NULL || f->type == AD_JT_NULL) {
		if (dflt < 0)
			return ad_fail(e, AD_EFORMAT, "%s: \"%s\" is missing: GPT-2's config.json "
			    "gives n_layer, n_head, n_embd, n_positions and vocab_size", path, key);
		*v = (uint32_t)dflt;
		return 0;
	}
	if (ad_jt_u64(f, &x) != 0 || x > UINT32_MAX)
		return ad_fail(e, AD_EFORMAT, "%s: \"%s\" is not a whole number below 2^32", path,
		    key);
	*v = (uint32_t)x;
	return 0;
}

/* config.json to a configuration, refusing what this architecture is not. */
static int
read_config(const char *path, struct gpt_config *cfg, int *eot, struct ad_error *e)
{
	struct ad_map       m;
	struct ad_jt       *c = NULL;
	const struct ad_jt *f;
	size_t              bad = 0;
	uint32_t            inner = 0, npos = 0;
	int                 rc;

	if ((rc = ad_map_file(path, &m, e)) != 0) {
		ad_error_prefix(e, "a Hugging Face checkpoint has its shape in config.json beside "
		    "model.safetensors");
		return rc;
	}
	if ((rc = ad_jt_parse((const char *)m.data, m.size, &c, &bad)) != 0) {
		rc = rc == AD_ENOMEM ? ad_fail(e, rc, "%s: out of memory", path)
		                     : ad_fail(e, AD_EFORMAT, "%s: byte %zu: not valid JSON", path,
		                           bad);
		goto out;
	}
	f = ad_jt_get(c, "model_type");
	if (c->type != AD_JT_OBJECT || f == NULL || f->type != AD_JT_STRING ||
	    strcmp(f->str, "gpt2") != 0) {
		rc = ad_fail(e, AD_EFORMAT, "%s: model_type is %s%.40s%s, not \"gpt2\": a config for "
		    "another architecture (this program runs GPT-2's)", path,
		    f != NULL && f->type == AD_JT_STRING ? "\"" : "",
		    f != NULL && f->type == AD_JT_STRING ? f->str : "missing",
		    f != NULL && f->type == AD_JT_STRING ? "\"" : "");
		goto out;
	}
	memset(cfg, 0, sizeof *cfg);
	if ((rc = cfg_u32(c, "n_layer", -1, &cfg->L, path, e)) != 0 ||
	    (rc = cfg_u32(c, "n_head", -1, &cfg->NH, path, e)) != 0 ||
	    (rc = cfg_u32(c, "n_embd", -1, &cfg->C, path, e)) != 0 ||
	    (rc = cfg_u32(c, "vocab_size", -1, &cfg->V, path, e)) != 0 ||
	    (rc = cfg_u32(c, "n_ctx", 0, &npos, path, e)) != 0 ||
	    (rc = cfg_u32(c, "n_positions", npos != 0 ? (int64_t)npos : -1, &cfg->T, path, e)) != 0 ||
	    (rc = cfg_u32(c, "n_inner", 0, &inner, path, e)) != 0)
		goto out;
	if (inner != 0 && inner != 4 * cfg->C) {
		rc = ad_fail(e, AD_EFORMAT, "%s: n_inner %u: this program's MLP is 4 n_embd wide (%u)",
		    path, inner, 4 * cfg->C);
		goto out;
	}
	/* GPT-2's GELU is the tanh approximation ("gelu_new" in transformers). */
	if ((f = ad_jt_get(c, "activation_function")) != NULL &&
	    (f->type != AD_JT_STRING || (strcmp(f->str, "gelu_new") != 0 &&
	    strcmp(f->str, "gelu_pytorch_tanh") != 0))) {
		rc = ad_fail(e, AD_EFORMAT, "%s: activation_function %.40s: this program's MLP uses "
		    "the tanh GELU (\"gelu_new\")", path, f->type == AD_JT_STRING ? f->str : "?");
		goto out;
	}
	if ((f = ad_jt_get(c, "layer_norm_epsilon")) != NULL &&
	    (f->type != AD_JT_NUMBER || f->number < 0.99e-5 || f->number > 1.01e-5)) {
		rc = ad_fail(e, AD_EFORMAT, "%s: layer_norm_epsilon %g: this program's LayerNorm "
		    "uses 1e-5", path, f->number);
		goto out;
	}
	if (((f = ad_jt_get(c, "scale_attn_weights")) != NULL && f->type == AD_JT_FALSE) ||
	    ((f = ad_jt_get(c, "scale_attn_by_inverse_layer_idx")) != NULL &&
	    f->type == AD_JT_TRUE) ||
	    ((f = ad_jt_get(c, "tie_word_embeddings")) != NULL && f->type == AD_JT_FALSE) ||
	    ((f = ad_jt_get(c, "add_cross_attention")) != NULL && f->type == AD_JT_TRUE)) {
		rc = ad_fail(e, AD_EFORMAT, "%s: %s: a variant of GPT-2 this program does not run "
		    "(it scales attention by 1/sqrt(head size), ties the output to wte, and has no "
		    "cross-attention)", path, c->keys[f - c->items]);
		goto out;
	}
	cfg->Vin = cfg->V;   /* no marker rows: <|endoftext|> opens a text */
	*eot = 1;
	/* An export of a model trained here ('autodidact export') keeps our
	 * convention and says so: its last id, bos_token_id, opens every text
	 * and is input-only (never predicted). */
	if ((f = ad_jt_get(c, "autodidact")) != NULL) {
		uint32_t outV = 0, bos = 0;
		if ((rc = cfg_u32(f, "output_vocab_size", -1, &outV, path, e)) != 0 ||
		    (rc = cfg_u32(f, "bos_token_id", -1, &bos, path, e)) != 0)
			goto out;
		if (outV + 1 != cfg->V || bos != outV) {
			rc = ad_fail(e, AD_EFORMAT, "%s: the autodidact object gives output_vocab_size %u "
			    "and bos_token_id %u for vocab_size %u: this reader takes one input-only id "
			    "after the output ids", path, outV, bos, cfg->V);
			goto out;
		}
		cfg->V = outV;
		*eot = 0;
	}
	rc = 0;
out:
	ad_jt_free(c);
	ad_map_release(&m);
	return rc;
}

/* Which tensor of ours a Hugging Face name fills. */
enum { HF_LN1W, HF_LN1B, HF_QKVW, HF_QKVB, HF_PROJW, HF_PROJB, HF_LN2W, HF_LN2B,
       HF_FCW, HF_FCB, HF_FCPROJW, HF_FCPROJB, HF_NBLOCK };

static const struct {
	const char *suffix;   /* after "h.N." */
	int         ours;     /* index in struct gpt_params order */
	int         rows, cols;   /* the file's shape in units of C (0: a vector) */
} hf_block[HF_NBLOCK] = {
	{ "ln_1.weight",        2, 1, 0 }, { "ln_1.bias",          3, 1, 0 },
	{ "attn.c_attn.weight", 4, 1, 3 }, { "attn.c_attn.bias",   5, 3, 0 },
	{ "attn.c_proj.weight", 6, 1, 1 }, { "attn.c_proj.bias",   7, 1, 0 },
	{ "ln_2.weight",        8, 1, 0 }, { "ln_2.bias",          9, 1, 0 },
	{ "mlp.c_fc.weight",   10, 1, 4 }, { "mlp.c_fc.bias",     11, 4, 0 },
	{ "mlp.c_proj.weight", 12, 4, 1 }, { "mlp.c_proj.bias",   13, 1, 0 },
};

/* Find name (with prefix) and check its dtype and its shape (rows, cols;
 * cols 0: a vector of rows). */
static int
hf_tensor(const struct nn_st *st, const char *prefix, const char *name, uint64_t rows,
    uint64_t cols, const struct nn_st_tensor **out, const char *path, struct ad_error *e)
{
	char                       full[128];
	const struct nn_st_tensor *t;
	int                        ok;

	snprintf(full, sizeof full, "%s%s", prefix, name);
	if ((t = nn_st_find(st, full)) == NULL)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s is missing: not a complete GPT-2 "
		    "checkpoint", path, full);
	if (t->dtype == NN_ST_OTHER)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s is %s: weights are read in F32, F16 or "
		    "BF16", path, full, t->dtype_name);
	ok = cols == 0 ? t->ndim == 1 && t->shape[0] == rows
	               : t->ndim == 2 && t->shape[0] == rows && t->shape[1] == cols;
	if (!ok) {
		char   got[96] = "";
		size_t k = 0;
		for (uint32_t i = 0; i < t->ndim && k < sizeof got - 24; i++)
			k += (size_t)snprintf(got + k, sizeof got - k, "%s%llu", i ? ", " : "",
			    (unsigned long long)t->shape[i]);
		if (cols == 0)
			return ad_fail(e, AD_EFORMAT, "%s: tensor %s has shape [%s], but config.json "
			    "makes it [%llu]", path, full, got, (unsigned long long)rows);
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s has shape [%s], but config.json makes "
		    "it [%llu, %llu]", path, full, got, (unsigned long long)rows,
		    (unsigned long long)cols);
	}
	*out = t;
	return 0;
}

/* Refuse blocks past n_layer: a config that disagrees with the weights. */
static int
hf_extra(const struct nn_st *st, const char *prefix, uint32_t L, const char *path,
    struct ad_error *e)
{
	size_t pl = strlen(prefix);

	for (size_t i = 0; i < st->n; i++) {
		const char   *s = st->t[i].name;
		char         *end;
		unsigned long l;
		if (strncmp(s, prefix, pl) != 0 || strncmp(s + pl, "h.", 2) != 0)
			continue;
		l = strtoul(s + pl + 2, &end, 10);
		if (end != s + pl + 2 && *end == '.' && l >= L)
			return ad_fail(e, AD_EFORMAT, "%s: tensor %s belongs to block %lu, but "
			    "config.json has n_layer %u: the config is not this checkpoint's", path, s,
			    l, L);
	}
	return 0;
}

/* Whether tensor i of struct gpt_params is one of a block's four matrices
 * (qkvw, attprojw, fcw, fcprojw). */
static int
is_block_matrix(int i)
{
	return i == 4 || i == 6 || i == 10 || i == 12;
}

/* Tensor k of hf_block in block l, found and checked before. */
static const struct nn_st_tensor *
hf_find(const struct nn_st *st, const char *prefix, uint32_t l, int k)
{
	char name[128];

	snprintf(name, sizeof name, "%sh.%u.%s", prefix, l, hf_block[k].suffix);
	return nn_st_find(st, name);
}

/* The end of the description of a model whose matrices point into its file. */
static const char mapped_note[] = "its matrices mapped in place";

int
nn_gpt2_open_safetensors(struct lm **out, const char *path, const char *dir,
    const char *tokenizer, struct ad_map *map, struct ad_error *e)
{
	struct nn_st              *st = NULL;
	struct gpt_config          cfg;
	struct gpt                *g = NULL;
	struct bpe                *bpe = NULL;
	const struct nn_st_tensor *wte, *wpe, *lnfw, *lnfb, *lm_head;
	const char                *prefix = "";
	char                      *cfgpath, *where;
	size_t                     sizes[GPT_NTENSORS], own = 0, C;
	float                     *p, *dst[GPT_NTENSORS];
	int                        rc, eot = 1, in_place[GPT_NTENSORS] = { 0 };
	size_t                     mapped = 0;   /* block matrices used in place */
	char                       what[192];

	/* config.json and the tokenizer lie beside the file, or in dir. */
	if (dir != NULL) {
		size_t n = strlen(dir) + sizeof "/model.safetensors";
		if ((where = ad_malloc(n)) != NULL)
			snprintf(where, n, "%s/model.safetensors", dir);
	} else {
		where = ad_strdup(path);
	}
	if (where == NULL || (cfgpath = beside(where, "config.json")) == NULL) {
		ad_free(where);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	if ((rc = nn_st_parse(map->data, map->size, path, &st, e)) != 0 ||
	    (rc = read_config(cfgpath, &cfg, &eot, e)) != 0)
		goto fail;
	if (nn_st_find(st, "transformer.wte.weight") != NULL)
		prefix = "transformer.";
	C = cfg.C;
	{
		struct gpt_config ours = cfg;
		ours.Vin = cfg.V + 1;
		if (gpt_config_check(&ours, e) != 0) {
			ad_error_prefix(e, "%s", cfgpath);
			rc = AD_EFORMAT;
			goto fail;
		}
	}
	if ((rc = hf_tensor(st, prefix, "wte.weight", cfg.Vin, C, &wte, path, e)) != 0 ||
	    (rc = hf_tensor(st, prefix, "wpe.weight", cfg.T, C, &wpe, path, e)) != 0 ||
	    (rc = hf_tensor(st, prefix, "ln_f.weight", C, 0, &lnfw, path, e)) != 0 ||
	    (rc = hf_tensor(st, prefix, "ln_f.bias", C, 0, &lnfb, path, e)) != 0 ||
	    (rc = hf_extra(st, prefix, cfg.L, path, e)) != 0)
		goto fail;
	/* The output layer is wte (GPT-2 ties them); a separate lm_head must be it. */
	if ((lm_head = nn_st_find(st, "lm_head.weight")) != NULL &&
	    (lm_head->dtype != wte->dtype || lm_head->nbytes != wte->nbytes ||
	    (lm_head->data != wte->data && memcmp(lm_head->data, wte->data, wte->nbytes) != 0))) {
		rc = ad_fail(e, AD_EFORMAT, "%s: tensor lm_head.weight differs from wte.weight: an "
		    "untied output layer, which GPT-2 does not have", path);
		goto fail;
	}
	for (uint32_t l = 0; l < cfg.L; l++)
		for (int k = 0; k < HF_NBLOCK; k++) {
			const struct nn_st_tensor *t;
			char                       name[64];
			snprintf(name, sizeof name, "h.%u.%s", l, hf_block[k].suffix);
			if ((rc = hf_tensor(st, prefix, name, hf_block[k].rows * C,
			    hf_block[k].cols * C, &t, path, e)) != 0)
				goto fail;
		}
	if ((rc = find_tokenizer(&bpe, tokenizer, where, cfg.V, eot, path, e)) != 0)
		goto fail;

	/* A float32 tensor is used in place (when the file's bytes are the
	 * host's: little-endian; nn_st_parse has checked that each tensor's
	 * data is aligned to its elements): the embeddings and the block
	 * matrices, which stay input-major (w_in_major), so that a model opens
	 * in about the memory of its file. The rest is converted into own
	 * memory: the LayerNorms and biases (a few floats), and matrices in 16
	 * bits, widened but kept input-major too (one layout per model). */
	gpt_tensor_sizes(&cfg, sizes);
	in_place[0] = wte->dtype == NN_ST_F32 && AD_LITTLE_ENDIAN;
	in_place[1] = wpe->dtype == NN_ST_F32 && AD_LITTLE_ENDIAN;
	for (int i = 0; i < GPT_NTENSORS; i++)
		own += in_place[i] || is_block_matrix(i) ? 0 : sizes[i];
	for (uint32_t l = 0; l < cfg.L; l++)
		for (int k = 0; k < HF_NBLOCK; k++) {
			const struct nn_st_tensor *t;
			if (hf_block[k].cols == 0)
				continue;
			t = hf_find(st, prefix, l, k);
			if (t->dtype == NN_ST_F32 && AD_LITTLE_ENDIAN)
				mapped++;
			else
				own += (size_t)hf_block[k].rows * hf_block[k].cols * C * C;
		}
	if ((rc = import_new(&g, &cfg, eot, own, path, e)) != 0)
		goto fail;
	if ((g->blockw = ad_mallocarray(4 * (size_t)cfg.L, sizeof *g->blockw)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	g->w_in_major = 1;
	p = g->param_mem;
	for (int i = 0; i < GPT_NTENSORS; i++) {
		dst[i] = in_place[i] || is_block_matrix(i) ? NULL : p;
		p += in_place[i] || is_block_matrix(i) ? 0 : sizes[i];
	}
	if (in_place[0])
		dst[0] = (float *)(uintptr_t)wte->data;
	else
		convert(dst[0], wte->data, wte->dtype, cfg.Vin, C);
	if (in_place[1])
		dst[1] = (float *)(uintptr_t)wpe->data;
	else
		convert(dst[1], wpe->data, wpe->dtype, cfg.T, C);
	convert(dst[14], lnfw->data, lnfw->dtype, C, 1);
	convert(dst[15], lnfb->data, lnfb->dtype, C, 1);
	for (uint32_t l = 0; l < cfg.L; l++)
		for (int k = 0; k < HF_NBLOCK; k++) {
			const struct nn_st_tensor *t = hf_find(st, prefix, l, k);
			int                        o = hf_block[k].ours;
			size_t                     rows = (size_t)hf_block[k].rows * C,
			                           cols = hf_block[k].cols != 0 ? (size_t)hf_block[k].cols * C : 1;
			float                    **w;
			if (hf_block[k].cols == 0) {
				convert(dst[o] + (size_t)l * rows, t->data, t->dtype, rows, 1);
			} else {
				/* Conv1D's (in, out), as it is: x W. */
				w = &g->blockw[4 * (size_t)l + (size_t)(o == 4 ? 0 : o == 6 ? 1 : o == 10 ? 2 : 3)];
				if (t->dtype == NN_ST_F32 && AD_LITTLE_ENDIAN) {
					*w = (float *)(uintptr_t)t->data;
					continue;
				}
				*w = p;
				convert(p, t->data, t->dtype, rows, cols);
				p += rows * cols;
			}
			drop_pages(map, t->data, t->nbytes);
		}
	g->params = (struct gpt_params){ dst[0], dst[1], dst[2], dst[3], dst[4], dst[5], dst[6],
		dst[7], dst[8], dst[9], dst[10], dst[11], dst[12], dst[13], dst[14], dst[15] };
	if (eot)
		snprintf(what, sizeof what, "GPT-2 (Hugging Face safetensors, %s), r50k_base, texts "
		    "opened by <|endoftext|>", wte->dtype_name);
	else
		snprintf(what, sizeof what, "an autodidact export (Hugging Face safetensors, %s), its own "
		    "vocabulary, texts opened by the input-only id %u", wte->dtype_name, cfg.V);
	if (in_place[0] && in_place[1] && mapped == 4 * (size_t)cfg.L)
		snprintf(what + strlen(what), sizeof what - strlen(what), ", %s", mapped_note);
	nn_st_free(st);
	ad_free(cfgpath);
	ad_free(where);
	/* Keep the mapping only while parameters point into it. */
	if (in_place[0] || in_place[1] || mapped > 0)
		return nn_lm_wrap(out, path, g, bpe, map, what, e);
	if ((rc = nn_lm_wrap(out, path, g, bpe, NULL, what, e)) == 0)
		ad_map_release(map);
	return rc;
fail:
	gpt_free(g);
	bpe_free(bpe);
	nn_st_free(st);
	ad_free(cfgpath);
	ad_free(where);
	return rc;
}

/* ------------------------------------------------------------------------
 * llm.c's model file
 * ------------------------------------------------------------------------ */

static uint32_t
rd_i32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int
nn_llmc_probe(const uint8_t *data, size_t size)
{
	return size >= 4 && rd_i32(data) == NN_LLMC_MAGIC;
}

int
nn_gpt2_open_llmc(struct lm **out, const char *path, const char *tokenizer,
    struct ad_map *map, struct ad_error *e)
{
	const uint8_t    *d = map->data;
	uint32_t          version, h[8], Vp;
	struct gpt_config cfg = { 0 };
	struct gpt       *g = NULL;
	struct bpe       *bpe = NULL;
	size_t            sizes[GPT_NTENSORS], esize;
	uint64_t          np, need;
	int               rc, in_place;
	float            *p;
	char              what[192];

	if (map->size < 1024)
		return ad_fail(e, AD_EFORMAT, "%s: %zu bytes: shorter than llm.c's 1024-byte "
		    "header: the file is truncated", path, map->size);
	for (int i = 0; i < 8; i++)
		h[i] = rd_i32(d + 4 * i);
	version = h[1];
	if (version != 3 && version != 5)
		return ad_fail(e, AD_EVERSION, "%s: byte 4: llm.c model version %u; this program "
		    "reads versions 3 (float32) and 5 (bfloat16)", path, version);
	/* header[2..7]: max T, V, L, NH, C, padded V (train_gpt2.c). */
	cfg.T = h[2];
	cfg.V = h[3];
	cfg.L = h[4];
	cfg.NH = h[5];
	cfg.C = h[6];
	cfg.Vin = h[3] + 1;
	Vp = h[7];
	if ((rc = gpt_config_check(&cfg, e)) != 0 || Vp < cfg.V) {
		if (rc == 0)
			ad_fail(e, AD_EFORMAT, "padded V %u is below V %u", Vp, cfg.V);
		ad_error_prefix(e, "%s: byte 8: the header's shape (T %u, V %u, L %u, NH %u, C %u, "
		    "padded V %u)", path, h[2], h[3], h[4], h[5], h[6], h[7]);
		return AD_EFORMAT;
	}
	/* The model's wte has V rows; the file's has Vp, the rest padding. */
	cfg.Vin = cfg.V;
	esize = version == 3 ? 4 : 2;
	np = gpt_param_count(&cfg) + (uint64_t)(Vp - cfg.V) * cfg.C;
	need = 1024 + np * esize;
	if (map->size != need)
		return ad_fail(e, AD_EFORMAT, "%s: %zu bytes, but its header's shape needs %llu "
		    "(1024 + %llu parameters of %zu bytes): the file is %s", path, map->size,
		    (unsigned long long)need, (unsigned long long)np, esize,
		    map->size < need ? "truncated" : "longer than its parameters: damaged");
	if ((rc = find_tokenizer(&bpe, tokenizer, NULL, cfg.V, 1, path, e)) != 0)
		return rc;
	/* Version 3 is our layout in float32: point into the file. */
	in_place = version == 3 && AD_LITTLE_ENDIAN && (uintptr_t)(d + 1024) % 4 == 0;
	if ((rc = import_new(&g, &cfg, 1, in_place ? 0 : (size_t)np, path, e)) != 0) {
		bpe_free(bpe);
		return rc;
	}
	if (in_place) {
		p = (float *)(uintptr_t)(d + 1024);
	} else {
		p = g->param_mem;
		convert(p, d + 1024, version == 3 ? NN_ST_F32 : NN_ST_BF16, (size_t)np, 1);
	}
	gpt_tensor_sizes(&cfg, sizes);
	sizes[0] = (size_t)Vp * cfg.C;
	{
		float *t[GPT_NTENSORS];
		for (int i = 0; i < GPT_NTENSORS; i++) {
			t[i] = p;
			p += sizes[i];
		}
		g->params = (struct gpt_params){ t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7],
			t[8], t[9], t[10], t[11], t[12], t[13], t[14], t[15] };
	}
	snprintf(what, sizeof what, "GPT-2 (llm.c version %u, %s), r50k_base, texts opened by "
	    "<|endoftext|>", version,
	    version == 3 ? "float32" : "bfloat16");
	if (in_place)
		snprintf(what + strlen(what), sizeof what - strlen(what), ", %s", mapped_note);
	if (in_place)
		return nn_lm_wrap(out, path, g, bpe, map, what, e);
	if ((rc = nn_lm_wrap(out, path, g, bpe, NULL, what, e)) == 0)
		ad_map_release(map);
	return rc;
}
