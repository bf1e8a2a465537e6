/*
 * export.c — a transformer trained here, written in the Hugging Face GPT-2
 * layout (export.h says what is written and how the layouts differ).
 *
 * Input: a loaded causal model (its parameters as nn.h lays them out, one
 * allocation of 16 tensors) and its tokenizer. Output: a directory, built
 * under a temporary name beside the target and renamed into place:
 *
 *   model.safetensors       u64 LE header length N, N bytes of JSON
 *                           (name -> dtype, shape, data_offsets, and
 *                           "__metadata__"), padded with spaces so that the
 *                           data starts at a multiple of 8, then the raw
 *                           little-endian F32 tensors back to back, in the
 *                           order of the header (the safetensors format of
 *                           the huggingface/safetensors project)
 *   config.json             GPT2Config's keys, and an "autodidact" object
 *   generation_config.json  BOS and the suppressed input-only id
 *   vocab.json, merges.txt  the tokenizer as GPT-2 published its own
 *   tokenizer.tiktoken      the same ranks, "BASE64 RANK" per line
 *   tokenizer_config.json   GPT2Tokenizer's settings and our pattern
 *
 * The tensors, ours (nn.h) to GPT-2's: wte (Vin, C) -> wte.weight [Vin, C];
 * wpe (T, C) -> wpe.weight [T, C]; per layer l, ln1 -> h.l.ln_1.*, qkvw
 * (3C, C) -> h.l.attn.c_attn.weight [C, 3C] (GPT-2's Conv1D computes
 * x W + b, so its matrix is ours transposed: input-major), qkvb ->
 * c_attn.bias [3C] (q, k, v side by side in both, heads side by side
 * within each), attprojw (C, C) -> h.l.attn.c_proj.weight [C, C]
 * transposed, ln2 -> h.l.ln_2.*, fcw (4C, C) -> h.l.mlp.c_fc.weight
 * [C, 4C] transposed, fcprojw (C, 4C) -> h.l.mlp.c_proj.weight [4C, C]
 * transposed, lnf -> ln_f.*. The output layer is tied to wte in both.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/json.h"
#include "bpe/bpe.h"
#include "nn/export.h"
#include "nn/nn.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors are little-endian and are written in the host's byte order"
#endif

/* The name of the text-opening id V in the tokenizer files: GPT-2's, unless
 * the vocabulary already has a token of that text. */
#define EXPORT_BOS      "<|endoftext|>"
#define EXPORT_BOS_ALT  "<|autodidact_bos|>"

/* ------------------------------------------------------------------------
 * GPT-2's byte-to-unicode map
 * ------------------------------------------------------------------------ */

/*
 * GPT-2's vocabulary files spell every byte as one printable character:
 * the bytes '!'..'~', 0xA1..0xAC and 0xAE..0xFF stand for the code point
 * of the same value, and the other 68 bytes (controls, space, 0x7F..0xA0,
 * 0xAD), in increasing order, for U+0100, U+0101, ... (Radford et al.
 * 2019's encoder.py, bytes_to_unicode).
 */
static uint32_t
export_byte_codepoint(uint8_t b)
{
	uint32_t n = 0;

	if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
		return b;
	for (uint32_t c = 0; c < b; c++)
		if (!((c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || c >= 0xAE))
			n++;
	return 256 + n;
}

int
nn_export_byte_char(uint8_t b, char *out)
{
	uint32_t cp = export_byte_codepoint(b);

	/* Every code point of the map is below U+0800: one or two bytes. */
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = '\0';
		return 1;
	}
	out[0] = (char)(0xC0 | (cp >> 6));
	out[1] = (char)(0x80 | (cp & 0x3F));
	out[2] = '\0';
	return 2;
}

/* bytes (len) in the byte-to-unicode spelling, into a new string. */
static char *
export_spell(const uint8_t *bytes, size_t len)
{
	char  *s = ad_mallocarray(len * 2 + 1, 1);
	size_t n = 0;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		n += (size_t)nn_export_byte_char(bytes[i], s + n);
	s[n] = '\0';
	return s;
}

/* ------------------------------------------------------------------------
 * Merges from ranks
 * ------------------------------------------------------------------------ */

/* Token bytes -> id, for the regular tokens of a vocabulary (open
 * addressing; slot holds id + 1, 0 empty). Built once per export. */
struct export_ids {
	const struct bpe *b;
	uint32_t         *slot;
	size_t            mask;
};

static size_t
export_ids_hash(const uint8_t *s, size_t len)
{
	return (size_t)ad_hash64(s, len, 0);
}

static int
export_ids_build(struct export_ids *t, const struct bpe *b, struct ad_error *e)
{
	uint32_t V = bpe_vocab_size(b);
	size_t   cap = 16;

	while (cap < (size_t)V * 2)
		cap *= 2;
	if ((t->slot = ad_calloc(cap, sizeof *t->slot)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory for a table of %u tokens", V);
	t->b = b;
	t->mask = cap - 1;
	for (uint32_t id = 0; id < V; id++) {
		size_t         len, h;
		const uint8_t *s = bpe_token_bytes(b, id, &len);
		if (len == 0 || bpe_is_special(b, id))
			continue;
		for (h = export_ids_hash(s, len) & t->mask; t->slot[h] != 0; h = (h + 1) & t->mask)
			;
		t->slot[h] = id + 1;
	}
	return 0;
}

/* The id of the regular token with these bytes, or UINT32_MAX. */
static uint32_t
export_ids_find(const struct export_ids *t, const uint8_t *s, size_t len)
{
	for (size_t h = export_ids_hash(s, len) & t->mask; t->slot[h] != 0; h = (h + 1) & t->mask) {
		size_t         n;
		const uint8_t *k = bpe_token_bytes(t->b, t->slot[h] - 1, &n);
		if (n == len && memcmp(k, s, len) == 0)
			return t->slot[h] - 1;
	}
	return UINT32_MAX;
}

/*
 * The merge that makes the token of rank r (bytes s, len >= 2): its bytes
 * encoded by the rank rule of bpe.h with only the tokens of lower rank
 * (start from single bytes, merge the adjacent pair of lowest rank below r,
 * the leftmost on a tie), which must end in exactly two parts; *cut is the
 * length of the first. (The same derivation turns tiktoken's ranks into
 * GPT-2's merges.) parts is scratch of len + 1 entries. Returns 0, or -1
 * when the token is not one merge of two lower-ranked tokens.
 */
static int
export_split(const struct export_ids *t, const uint8_t *s, size_t len, uint32_t r,
    size_t *parts, size_t *cut)
{
	size_t n = len;   /* parts: [parts[i], parts[i + 1]) for i < n */

	for (size_t i = 0; i <= len; i++)
		parts[i] = i;
	for (size_t i = 0; i < len; i++) {
		uint32_t id = export_ids_find(t, s + i, 1);
		if (id == UINT32_MAX || id >= r)
			return -1;
	}
	while (n > 2) {
		uint32_t best = UINT32_MAX;
		size_t   at = 0;
		for (size_t i = 0; i + 1 < n; i++) {
			uint32_t id = export_ids_find(t, s + parts[i], parts[i + 2] - parts[i]);
			if (id < r && id < best) {
				best = id;
				at = i;
			}
		}
		if (best == UINT32_MAX)
			return -1;
		memmove(parts + at + 1, parts + at + 2, (n - at - 1) * sizeof *parts);
		n--;
	}
	*cut = parts[1];
	return 0;
}

/* ------------------------------------------------------------------------
 * The files
 * ------------------------------------------------------------------------ */

/* A file being written into the temporary directory. */
static int
export_open(struct ad_atomic *a, const char *dir, const char *file, struct ad_error *e)
{
	char  *path;
	size_t n = strlen(dir) + strlen(file) + 2;
	int    rc;

	if ((path = ad_malloc(n)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	snprintf(path, n, "%s/%s", dir, file);
	rc = ad_atomic_open(a, path, e);
	ad_free(path);
	return rc;
}

/* One tensor of the safetensors file: rows x cols (cols 0: a vector),
 * from src; transposed: src is stored (cols, rows). */
struct export_tensor {
	char         name[48];
	size_t       rows, cols;
	const float *src;
	int          transposed;
};

static size_t
export_count(const struct export_tensor *t)
{
	return t->rows * (t->cols ? t->cols : 1);
}

/* The 4 + 12 L tensors of GPT-2's layout, in its order, into t; returns
 * how many. */
static size_t
export_tensors(const struct gpt *g, struct export_tensor *t)
{
	const struct gpt_config *c = &g->cfg;
	const struct gpt_params *p = &g->params;
	size_t                   C = c->C, n = 0;

#define T_ADD(nm, r, cl, s, tr) do { \
		snprintf(t[n].name, sizeof t[n].name, "%s", nm); \
		t[n].rows = (r); t[n].cols = (cl); t[n].src = (s); t[n].transposed = (tr); n++; \
	} while (0)
	T_ADD("wte.weight", c->Vin, C, p->wte, 0);
	T_ADD("wpe.weight", c->T, C, p->wpe, 0);
	for (size_t l = 0; l < c->L; l++) {
		char nm[48];
#define L_ADD(suffix, r, cl, s, tr) do { \
		snprintf(nm, sizeof nm, "h.%zu.%s", l, suffix); \
		T_ADD(nm, r, cl, s, tr); \
	} while (0)
		L_ADD("ln_1.weight", C, 0, p->ln1w + l * C, 0);
		L_ADD("ln_1.bias", C, 0, p->ln1b + l * C, 0);
		L_ADD("attn.c_attn.weight", C, 3 * C, p->qkvw + l * 3 * C * C, 1);
		L_ADD("attn.c_attn.bias", 3 * C, 0, p->qkvb + l * 3 * C, 0);
		L_ADD("attn.c_proj.weight", C, C, p->attprojw + l * C * C, 1);
		L_ADD("attn.c_proj.bias", C, 0, p->attprojb + l * C, 0);
		L_ADD("ln_2.weight", C, 0, p->ln2w + l * C, 0);
		L_ADD("ln_2.bias", C, 0, p->ln2b + l * C, 0);
		L_ADD("mlp.c_fc.weight", C, 4 * C, p->fcw + l * 4 * C * C, 1);
		L_ADD("mlp.c_fc.bias", 4 * C, 0, p->fcb + l * 4 * C, 0);
		L_ADD("mlp.c_proj.weight", 4 * C, C, p->fcprojw + l * 4 * C * C, 1);
		L_ADD("mlp.c_proj.bias", C, 0, p->fcprojb + l * C, 0);
#undef L_ADD
	}
	T_ADD("ln_f.weight", C, 0, p->lnfw, 0);
	T_ADD("ln_f.bias", C, 0, p->lnfb, 0);
#undef T_ADD
	return n;
}

/* A growing string (the safetensors header). */
struct export_buf {
	char  *s;
	size_t len, cap;
	int    oom;
};

static void
export_printf(struct export_buf *b, const char *fmt, ...) AD_PRINTF(2, 3);

static void
export_printf(struct export_buf *b, const char *fmt, ...)
{
	va_list ap;
	int     n;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if (b->s != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->len + (size_t)n + 1)
			cap *= 2;
		char *p = ad_realloc(b->s, cap);
		if (p == NULL) {
			b->oom = 1;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
}

static int
export_safetensors(const char *dir, const struct gpt *g, struct nn_export_result *r,
    struct ad_error *e)
{
	struct export_tensor *t;
	struct export_buf     h = { 0 };
	struct ad_atomic      a;
	size_t                n, off = 0, C = g->cfg.C;
	float                *row = NULL;
	uint64_t              hlen;
	int                   rc;

	if ((t = ad_mallocarray(4 + 12 * (size_t)g->cfg.L, sizeof *t)) == NULL ||
	    (row = ad_mallocarray(4 * C, sizeof *row)) == NULL) {
		ad_free(t);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	n = export_tensors(g, t);
	/* The metadata's values must be strings (safetensors reads a map of
	 * strings); "format": "pt" is what PyTorch's writers put there. */
	export_printf(&h, "{\"__metadata__\":{\"format\":\"pt\",\"autodidact_bos_token_id\":\"%u\","
	    "\"autodidact_output_vocab_size\":\"%u\"}", g->cfg.V, g->cfg.V);
	for (size_t i = 0; i < n; i++) {
		size_t bytes = export_count(&t[i]) * sizeof(float);
		if (t[i].cols)
			export_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu,%zu],"
			    "\"data_offsets\":[%zu,%zu]}", t[i].name, t[i].rows, t[i].cols, off,
			    off + bytes);
		else
			export_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%zu],"
			    "\"data_offsets\":[%zu,%zu]}", t[i].name, t[i].rows, off, off + bytes);
		off += bytes;
	}
	export_printf(&h, "}");
	while (!h.oom && (8 + h.len) % 8 != 0)
		export_printf(&h, " ");
	if (h.oom) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory for the safetensors header");
		goto out;
	}
	if ((rc = export_open(&a, dir, "model.safetensors", e)) != 0)
		goto out;
	hlen = h.len;
	fwrite(&hlen, 8, 1, a.f);
	fwrite(h.s, 1, h.len, a.f);
	for (size_t i = 0; i < n && !ferror(a.f); i++) {
		if (!t[i].transposed) {
			fwrite(t[i].src, sizeof(float), export_count(&t[i]), a.f);
			continue;
		}
		/* Row i of GPT-2's [rows, cols] is column i of ours (cols, rows). */
		for (size_t i0 = 0; i0 < t[i].rows; i0++) {
			for (size_t j = 0; j < t[i].cols; j++)
				row[j] = t[i].src[j * t[i].rows + i0];
			fwrite(row, sizeof(float), t[i].cols, a.f);
		}
	}
	if ((rc = ad_atomic_commit(&a, e)) == 0)
		r->bytes = 8 + h.len + off;
out:
	ad_free(h.s);
	ad_free(row);
	ad_free(t);
	return rc;
}

static const char *
export_bos_name(const struct bpe *bpe)
{
	if (bpe == NULL)
		return EXPORT_BOS;
	for (uint32_t i = 0; i < bpe_num_specials(bpe); i++) {
		size_t         len;
		const uint8_t *s = bpe_token_bytes(bpe, bpe_special_id(bpe, i), &len);
		if (len == strlen(EXPORT_BOS) && memcmp(s, EXPORT_BOS, len) == 0)
			return EXPORT_BOS_ALT;
	}
	return EXPORT_BOS;
}

/* The "autodidact" object of config.json: how this export differs from
 * GPT-2's conventions, for readers that care (ours among them). */
static void
export_json_ours(struct ad_json *j, const struct nn_file *f, const struct gpt *g)
{
	char hash[24];

	ad_json_key(j, "autodidact");
	ad_json_object_begin(j);
	ad_json_key(j, "output_vocab_size");
	ad_json_uint(j, g->cfg.V);
	ad_json_key(j, "bos_token_id");
	ad_json_uint(j, g->cfg.V);
	ad_json_key(j, "input_only_ids");
	ad_json_array_begin(j);
	ad_json_uint(j, g->cfg.V);
	ad_json_array_end(j);
	ad_json_key(j, "objective");
	ad_json_string(j, "causal");
	ad_json_key(j, "tokenizer");
	ad_json_string(j, f->tok_kind == NN_TOK_BPE ? "bpe" : "bytes");
	ad_json_key(j, "training_text_xxh64");
	snprintf(hash, sizeof hash, "%016llx", (unsigned long long)f->text_hash);
	ad_json_string(j, hash);
	ad_json_key(j, "training_text_bytes");
	ad_json_uint(j, f->text_bytes);
	ad_json_key(j, "note");
	ad_json_string(j, "Every text opens with bos_token_id, as GPT-2's <|endoftext|> opens one. "
	    "It is an input-only id: the model never predicts it, so its logit (the last row of "
	    "wte.weight) must be suppressed to give the model's next-token distribution over "
	    "the first output_vocab_size ids.");
	ad_json_object_end(j);
}

static int
export_config(const char *dir, const struct nn_file *f, const struct gpt *g, struct ad_error *e)
{
	const struct gpt_config *c = &g->cfg;
	struct ad_atomic         a;
	struct ad_json           j;
	int                      rc;

	if ((rc = export_open(&a, dir, "config.json", e)) != 0)
		return rc;
	ad_json_init(&j, a.f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "architectures");
	ad_json_array_begin(&j);
	ad_json_string(&j, "GPT2LMHeadModel");
	ad_json_array_end(&j);
	ad_json_key(&j, "model_type");
	ad_json_string(&j, "gpt2");
	ad_json_key(&j, "vocab_size");
	ad_json_uint(&j, c->Vin);
	ad_json_key(&j, "n_positions");
	ad_json_uint(&j, c->T);
	ad_json_key(&j, "n_ctx");
	ad_json_uint(&j, c->T);
	ad_json_key(&j, "n_embd");
	ad_json_uint(&j, c->C);
	ad_json_key(&j, "n_layer");
	ad_json_uint(&j, c->L);
	ad_json_key(&j, "n_head");
	ad_json_uint(&j, c->NH);
	ad_json_key(&j, "n_inner");
	ad_json_null(&j);   /* 4 n_embd, ours */
	/* nn.h: GELU's tanh form (gelu_new in GPT-2's code), LayerNorm eps 1e-5. */
	ad_json_key(&j, "activation_function");
	ad_json_string(&j, "gelu_new");
	ad_json_key(&j, "layer_norm_epsilon");
	ad_json_double(&j, 1e-5);
	/* Trained without dropout. */
	ad_json_key(&j, "resid_pdrop");
	ad_json_double(&j, 0.0);
	ad_json_key(&j, "embd_pdrop");
	ad_json_double(&j, 0.0);
	ad_json_key(&j, "attn_pdrop");
	ad_json_double(&j, 0.0);
	ad_json_key(&j, "initializer_range");
	ad_json_double(&j, 0.02);
	ad_json_key(&j, "scale_attn_weights");
	ad_json_bool(&j, 1);
	ad_json_key(&j, "tie_word_embeddings");
	ad_json_bool(&j, 1);
	ad_json_key(&j, "bos_token_id");
	ad_json_uint(&j, c->V);
	ad_json_key(&j, "eos_token_id");
	ad_json_uint(&j, c->V);
	ad_json_key(&j, "torch_dtype");
	ad_json_string(&j, "float32");
	export_json_ours(&j, f, g);
	ad_json_object_end(&j);
	ad_json_end(&j);
	if ((rc = ad_atomic_commit(&a, e)) != 0)
		return rc;

	if ((rc = export_open(&a, dir, "generation_config.json", e)) != 0)
		return rc;
	ad_json_init(&j, a.f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "bos_token_id");
	ad_json_uint(&j, c->V);
	ad_json_key(&j, "eos_token_id");
	ad_json_uint(&j, c->V);
	ad_json_key(&j, "suppress_tokens");
	ad_json_array_begin(&j);
	ad_json_uint(&j, c->V);
	ad_json_array_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
	return ad_atomic_commit(&a, e);
}

/* The bytes of regular token id (len 0: none, a hole or a special); a
 * byte-level model's id is its byte, put in *one. */
static const uint8_t *
export_token(const struct bpe *bpe, uint32_t id, uint8_t *one, size_t *len)
{
	if (bpe == NULL) {
		*one = (uint8_t)id;
		*len = id < 256;
		return one;
	}
	if (bpe_is_special(bpe, id)) {
		*len = 0;
		return NULL;
	}
	return bpe_token_bytes(bpe, id, len);
}

static void
export_base64(FILE *f, const uint8_t *s, size_t n)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		fputc(digits[v >> 18], f);
		fputc(digits[(v >> 12) & 63], f);
		fputc(i + 1 < n ? digits[(v >> 6) & 63] : '=', f);
		fputc(i + 2 < n ? digits[v & 63] : '=', f);
	}
}

/* vocab.json: spelling -> id in id order, the specials as their text, the
 * text-opening id V last. */
static int
export_vocab(const char *dir, const struct bpe *bpe, uint32_t V, const char *bos,
    struct ad_error *e)
{
	struct ad_atomic a;
	struct ad_json   j;
	int              rc;

	if ((rc = export_open(&a, dir, "vocab.json", e)) != 0)
		return rc;
	ad_json_init(&j, a.f, 0);
	ad_json_object_begin(&j);
	for (uint32_t id = 0; id < V; id++) {
		size_t         len;
		uint8_t        one;
		const uint8_t *s = export_token(bpe, id, &one, &len);
		char          *key;
		if (bpe != NULL && bpe_is_special(bpe, id)) {
			s = bpe_token_bytes(bpe, id, &len);
			if ((key = ad_malloc(len + 1)) != NULL) {
				memcpy(key, s, len);
				key[len] = '\0';
			}
		} else if (len == 0) {
			continue;   /* an unused rank of a tiktoken file */
		} else {
			key = export_spell(s, len);
		}
		if (key == NULL) {
			ad_atomic_abort(&a);
			return ad_fail(e, AD_ENOMEM, "out of memory writing vocab.json");
		}
		ad_json_key(&j, key);
		ad_json_uint(&j, id);
		ad_free(key);
	}
	ad_json_key(&j, bos);
	ad_json_uint(&j, V);
	ad_json_object_end(&j);
	ad_json_end(&j);
	return ad_atomic_commit(&a, e);
}

/* merges.txt: for each regular token of two or more bytes, in rank order,
 * the two tokens it is made of (export_split), spelled as in vocab.json. */
static int
export_merges(const char *dir, const char *name, const struct bpe *bpe, uint32_t V,
    uint32_t *nmerges, struct ad_error *e)
{
	struct export_ids ids = { 0 };
	struct ad_atomic  a;
	size_t           *parts = NULL, nparts = 0;
	uint32_t          n = 0;
	int               rc;

	if (bpe != NULL && (rc = export_ids_build(&ids, bpe, e)) != 0)
		return rc;
	if ((rc = export_open(&a, dir, "merges.txt", e)) != 0) {
		ad_free(ids.slot);
		return rc;
	}
	fputs("#version: 0.2\n", a.f);
	for (uint32_t id = 0; bpe != NULL && id < V; id++) {
		size_t         len, cut;
		uint8_t        one;
		const uint8_t *s = export_token(bpe, id, &one, &len);
		char          *left, *right;
		if (len < 2)
			continue;
		if (len + 1 > nparts) {
			size_t *p = ad_reallocarray(parts, len + 1, sizeof *p);
			if (p == NULL) {
				rc = ad_fail(e, AD_ENOMEM, "out of memory writing merges.txt");
				break;
			}
			parts = p;
			nparts = len + 1;
		}
		if (export_split(&ids, s, len, id, parts, &cut) != 0) {
			rc = ad_fail(e, AD_EFORMAT, "%s: token %u is not one merge of two tokens of "
			    "lower rank, so merges.txt cannot describe the vocabulary (a tiktoken rank "
			    "file can: 'autodidact tokenize' reads it)", name, id);
			break;
		}
		left = export_spell(s, cut);
		right = export_spell(s + cut, len - cut);
		if (left == NULL || right == NULL) {
			ad_free(left);
			ad_free(right);
			rc = ad_fail(e, AD_ENOMEM, "out of memory writing merges.txt");
			break;
		}
		fprintf(a.f, "%s %s\n", left, right);
		ad_free(left);
		ad_free(right);
		n++;
	}
	ad_free(parts);
	ad_free(ids.slot);
	if (rc != 0) {
		ad_atomic_abort(&a);
		return rc;
	}
	*nmerges = n;
	return ad_atomic_commit(&a, e);
}

/* tokenizer.tiktoken: "BASE64 RANK" for every regular token, as tiktoken's
 * rank files have them (the specials are not in those files). */
static int
export_tiktoken(const char *dir, const struct bpe *bpe, uint32_t V, struct ad_error *e)
{
	struct ad_atomic a;
	int              rc;

	if ((rc = export_open(&a, dir, "tokenizer.tiktoken", e)) != 0)
		return rc;
	for (uint32_t id = 0; id < V; id++) {
		size_t         len;
		uint8_t        one;
		const uint8_t *s = export_token(bpe, id, &one, &len);
		if (len == 0)
			continue;
		export_base64(a.f, s, len);
		fprintf(a.f, " %u\n", id);
	}
	return ad_atomic_commit(&a, e);
}

/* One entry of tokenizer_config.json's added_tokens_decoder. */
static void
export_added(struct ad_json *j, uint32_t id, const uint8_t *text, size_t len)
{
	char key[16];

	snprintf(key, sizeof key, "%u", id);
	ad_json_key(j, key);
	ad_json_object_begin(j);
	ad_json_key(j, "content");
	ad_json_string_n(j, (const char *)text, len);
	ad_json_key(j, "lstrip");
	ad_json_bool(j, 0);
	ad_json_key(j, "normalized");
	ad_json_bool(j, 0);
	ad_json_key(j, "rstrip");
	ad_json_bool(j, 0);
	ad_json_key(j, "single_word");
	ad_json_bool(j, 0);
	ad_json_key(j, "special");
	ad_json_bool(j, 1);
	ad_json_object_end(j);
}

static int
export_tokenizer_config(const char *dir, const struct gpt *g, const struct bpe *bpe,
    const char *bos, int exact, struct ad_error *e)
{
	struct ad_atomic a;
	struct ad_json   j;
	int              rc;

	if ((rc = export_open(&a, dir, "tokenizer_config.json", e)) != 0)
		return rc;
	ad_json_init(&j, a.f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "tokenizer_class");
	ad_json_string(&j, "GPT2Tokenizer");
	/* GPT2Tokenizer puts bos_token before a text when add_bos_token. */
	ad_json_key(&j, "add_bos_token");
	ad_json_bool(&j, 1);
	ad_json_key(&j, "add_prefix_space");
	ad_json_bool(&j, 0);
	ad_json_key(&j, "bos_token");
	ad_json_string(&j, bos);
	ad_json_key(&j, "eos_token");
	ad_json_string(&j, bos);
	ad_json_key(&j, "unk_token");
	ad_json_string(&j, bos);
	ad_json_key(&j, "model_max_length");
	ad_json_uint(&j, g->cfg.T);
	ad_json_key(&j, "errors");
	ad_json_string(&j, "replace");
	ad_json_key(&j, "added_tokens_decoder");
	ad_json_object_begin(&j);
	for (uint32_t i = 0; bpe != NULL && i < bpe_num_specials(bpe); i++) {
		size_t         len;
		uint32_t       id = bpe_special_id(bpe, i);
		const uint8_t *s = bpe_token_bytes(bpe, id, &len);
		export_added(&j, id, s, len);
	}
	export_added(&j, g->cfg.V, (const uint8_t *)bos, strlen(bos));
	ad_json_object_end(&j);
	/* What GPT2Tokenizer does not know: our pre-tokenization. */
	ad_json_key(&j, "autodidact");
	ad_json_object_begin(&j);
	ad_json_key(&j, "pattern");
	ad_json_string(&j, bpe != NULL ? bpe_pattern(bpe) : NULL);
	ad_json_key(&j, "pattern_name");
	ad_json_string(&j, bpe != NULL ? bpe_pattern_name(bpe) : NULL);
	ad_json_key(&j, "normalization");
	ad_json_string(&j, norm_name(bpe != NULL ? bpe_normalization(bpe) : NORM_NONE));
	ad_json_key(&j, "casefold");
	ad_json_bool(&j, bpe != NULL && bpe_casefold(bpe));
	ad_json_key(&j, "tiktoken_file");
	ad_json_string(&j, "tokenizer.tiktoken");
	ad_json_key(&j, "gpt2_tokenizer_exact");
	ad_json_bool(&j, exact);
	ad_json_object_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
	return ad_atomic_commit(&a, e);
}

static int
export_tokenizer(const char *dir, const char *name, const struct gpt *g, const struct bpe *bpe,
    struct nn_export_result *r, struct ad_error *e)
{
	uint32_t    V = g->cfg.V;
	const char *bos = export_bos_name(bpe);
	int         rc;

	/* A byte-level model has no merges, so any pre-tokenization gives its
	 * ids; a BPE vocabulary needs GPT-2's pattern and no normalization. */
	r->gpt2_exact = bpe == NULL || (bpe_pattern_name(bpe) != NULL &&
	    strcmp(bpe_pattern_name(bpe), "gpt2") == 0 && bpe_normalization(bpe) == NORM_NONE &&
	    !bpe_casefold(bpe));
	if ((rc = export_vocab(dir, bpe, V, bos, e)) != 0 ||
	    (rc = export_merges(dir, name, bpe, V, &r->merges, e)) != 0 ||
	    (rc = export_tiktoken(dir, bpe, V, e)) != 0)
		return rc;
	return export_tokenizer_config(dir, g, bpe, bos, r->gpt2_exact, e);
}

/* ------------------------------------------------------------------------
 * The directory
 * ------------------------------------------------------------------------ */

static int
export_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Remove the tree at path (a directory this export made or replaced). */
static void
export_rm_tree(const char *path)
{
	nftw(path, export_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* fsync the directory that holds path, so that a rename in it is durable. */
static void
export_sync_parent(const char *path)
{
	char  *p = ad_strdup(path), *slash;
	int    fd;

	if (p == NULL)
		return;
	slash = strrchr(p, '/');
	if (slash == NULL)
		strcpy(p, ".");
	else if (slash == p)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(p, O_RDONLY | O_DIRECTORY)) >= 0) {
		fsync(fd);
		close(fd);
	}
	ad_free(p);
}

/* A new name beside path: path + suffix + ".XXXXXX", made a directory. */
static char *
export_tmpdir(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 8;
	char  *t = ad_malloc(n);

	if (t == NULL)
		return NULL;
	snprintf(t, n, "%s%s.XXXXXX", path, suffix);
	if (mkdtemp(t) == NULL) {
		ad_free(t);
		return NULL;
	}
	return t;
}

/*
 * Put the complete directory tmp at dir. A new dir: one rename. An existing
 * one (force): the two names exchanged in one step where the system has
 * it (Linux's renameat2), else the old one renamed aside first (dir is
 * then missing for a moment, but never partly written); the old tree is
 * then removed.
 */
static int
export_install(const char *tmp, const char *dir, int exists, struct ad_error *e)
{
	char *old;

	if (!exists) {
		if (rename(tmp, dir) != 0)
			return ad_fail_errno(e, errno, "%s: cannot rename the export into place "
			    "(nothing was written there)", dir);
		export_sync_parent(dir);
		return 0;
	}
#if defined(RENAME_EXCHANGE) && defined(AT_FDCWD)
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir, RENAME_EXCHANGE) == 0) {
		export_sync_parent(dir);
		export_rm_tree(tmp);
		return 0;
	}
#endif
	if ((old = export_tmpdir(dir, ".old")) == NULL)
		return ad_fail_errno(e, errno, "%s: cannot make a name for the old export beside it",
		    dir);
	if (rename(dir, old) != 0) {
		int err = errno;
		rmdir(old);
		ad_free(old);
		return ad_fail_errno(e, err, "%s: cannot move the old export aside (it is untouched)",
		    dir);
	}
	if (rename(tmp, dir) != 0) {
		int err = errno;
		rename(old, dir);
		ad_free(old);
		return ad_fail_errno(e, err, "%s: cannot rename the export into place (the old "
		    "one is back)", dir);
	}
	export_sync_parent(dir);
	export_rm_tree(old);
	ad_free(old);
	return 0;
}

/* A message about a file of the temporary directory tmp, about the same
 * file of dir instead (tmp is gone by the time it is read), without the
 * writer's note on a previous file, which says less than ours. */
static void
export_rename_msg(struct ad_error *e, const char *tmp, const char *dir)
{
	static const char note[] = " (the previous file, if any, is untouched)";
	char              msg[AD_ERROR_MAX], *at;
	size_t            n = strlen(tmp);

	if (e == NULL || strncmp(e->msg, tmp, n) != 0 || e->msg[n] != '/')
		return;
	snprintf(msg, sizeof msg, "%s%s", dir, e->msg + n);
	if ((at = strstr(msg, note)) != NULL)
		memmove(at, at + strlen(note), strlen(at + strlen(note)) + 1);
	snprintf(e->msg, sizeof e->msg, "%s", msg);
}

int
nn_export_hf(const char *dir, const char *name, const struct nn_file *f, const struct gpt *g,
    const struct bpe *bpe, int force, struct nn_export_result *r, struct ad_error *e)
{
	struct nn_export_result res = { 0 };
	struct stat             st;
	char                   *tmp;
	int                     exists, rc;

	if (f->masked)
		return ad_fail(e, AD_EINVAL, "%s: a transformer trained on the masked objective "
		    "(bidirectional attention): GPT-2's layout attends causally, so it cannot hold "
		    "this model; export a causally trained one", name);
	if ((f->tok_kind == NN_TOK_BPE) != (bpe != NULL) || g->cfg.Vin != g->cfg.V + 1)
		return ad_fail(e, AD_EINVAL, "%s: the tokenizer or the input ids do not match the "
		    "model", name);
	exists = lstat(dir, &st) == 0;
	if (exists && !S_ISDIR(st.st_mode))
		return ad_fail(e, AD_EINVAL, "%s: exists and is not a directory: give a new name "
		    "for the export directory", dir);
	if (exists && !force)
		return ad_fail(e, AD_EINVAL, "%s: exists: give a new directory, or --force to "
		    "replace it", dir);
	if ((tmp = export_tmpdir(dir, ".tmp")) == NULL)
		return ad_fail_errno(e, errno, "%s: cannot make a temporary directory beside it",
		    dir);
	res.vocab_size = g->cfg.Vin;
	res.bos_id = g->cfg.V;
	if ((rc = export_safetensors(tmp, g, &res, e)) != 0 ||
	    (rc = export_config(tmp, f, g, e)) != 0 ||
	    (rc = export_tokenizer(tmp, name, g, bpe, &res, e)) != 0 ||
	    (rc = export_install(tmp, dir, exists, e)) != 0) {
		export_rm_tree(tmp);
		export_rename_msg(e, tmp, dir);
		ad_free(tmp);
		ad_error_prefix(e, "%s: nothing written%s", dir, exists ? " (the old export is "
		    "whole)" : "");
		return rc;
	}
	ad_free(tmp);
	*r = res;
	return 0;
}
