/*
 * safetensors.c — the header of a safetensors file, read and validated.
 *
 * Input: the whole file in memory (mapped). Output: a table of tensors,
 * each a name, a dtype, a shape and a pointer to its bytes inside the
 * file, every one checked before it is handed out (see import.h): a
 * caller reads a tensor's nbytes at data without further checks.
 *
 * The layout is that of the format's README (huggingface/safetensors):
 * u64 little-endian header length N, N bytes of JSON, the data buffer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/jtree.h"
#include "nn/import.h"

/* A header longer than this is not a model's: refuse before parsing it. */
#define ST_MAX_HEADER ((uint64_t)100 << 20)

static const struct {
	const char      *name;
	enum nn_st_dtype dtype;
	size_t           size;
} st_dtypes[] = {
	{ "F32", NN_ST_F32, 4 }, { "F16", NN_ST_F16, 2 }, { "BF16", NN_ST_BF16, 2 },
	{ "F64", NN_ST_OTHER, 8 }, { "I64", NN_ST_OTHER, 8 }, { "I32", NN_ST_OTHER, 4 },
	{ "I16", NN_ST_OTHER, 2 }, { "I8", NN_ST_OTHER, 1 }, { "U8", NN_ST_OTHER, 1 },
	{ "U16", NN_ST_OTHER, 2 }, { "U32", NN_ST_OTHER, 4 }, { "U64", NN_ST_OTHER, 8 },
	{ "BOOL", NN_ST_OTHER, 1 }, { "F8_E4M3", NN_ST_OTHER, 1 }, { "F8_E5M2", NN_ST_OTHER, 1 },
};

static uint64_t
rd_u64le(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int
nn_st_probe(const uint8_t *data, size_t size)
{
	size_t i = 8;

	/* Only the '{' decides: a header length that is absurd or past the end
	 * is then reported by nn_st_parse, not taken for another kind. */
	while (i < size && i < 64 && (data[i] == ' ' || data[i] == '\n' || data[i] == '\t' ||
	    data[i] == '\r'))
		i++;
	return i < size && data[i] == '{';
}

void
nn_st_free(struct nn_st *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++)
		ad_free(st->t[i].name);
	ad_free(st->t);
	ad_free(st);
}

const struct nn_st_tensor *
nn_st_find(const struct nn_st *st, const char *name)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->t[i].name, name) == 0)
			return &st->t[i];
	return NULL;
}

static int
by_begin(const void *a, const void *b)
{
	const struct nn_st_tensor *x = *(const struct nn_st_tensor *const *)a;
	const struct nn_st_tensor *y = *(const struct nn_st_tensor *const *)b;

	return x->data < y->data ? -1 : x->data > y->data;
}

/* One tensor's entry, checked against the data buffer (base, len). */
static int
st_entry(struct nn_st_tensor *t, const struct ad_jt *v, const uint8_t *base, uint64_t len,
    const char *name, struct ad_error *e)
{
	const struct ad_jt *dt = ad_jt_get(v, "dtype"), *sh = ad_jt_get(v, "shape"),
	                   *off = ad_jt_get(v, "data_offsets");
	uint64_t            begin, end, need;
	size_t              esize = 0;

	if (v->type != AD_JT_OBJECT || dt == NULL || dt->type != AD_JT_STRING || sh == NULL ||
	    sh->type != AD_JT_ARRAY || off == NULL || off->type != AD_JT_ARRAY)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: its header entry lacks a dtype, a "
		    "shape or data_offsets: the file is damaged", name, t->name);
	for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
		if (strcmp(dt->str, st_dtypes[i].name) == 0) {
			t->dtype = st_dtypes[i].dtype;
			t->dtype_name = st_dtypes[i].name;
			esize = st_dtypes[i].size;
		}
	if (esize == 0)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: unknown dtype \"%.32s\" (safetensors "
		    "defines F32, F16, BF16, F64, the integers, BOOL and F8)", name, t->name,
		    dt->str);
	if (sh->n > NN_ST_MAXDIM)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: %zu dimensions (at most %d are read)",
		    name, t->name, sh->n, NN_ST_MAXDIM);
	t->ndim = (uint32_t)sh->n;
	need = esize;
	for (size_t i = 0; i < sh->n; i++) {
		if (ad_jt_u64(&sh->items[i], &t->shape[i]) != 0)
			return ad_fail(e, AD_EFORMAT, "%s: tensor %s: dimension %zu of its shape is "
			    "not a non-negative integer", name, t->name, i);
		if (t->shape[i] != 0 && need > UINT64_MAX / t->shape[i])
			return ad_fail(e, AD_EFORMAT, "%s: tensor %s: its shape overflows 64 bits",
			    name, t->name);
		need *= t->shape[i];
	}
	if (off->n != 2 || ad_jt_u64(&off->items[0], &begin) != 0 ||
	    ad_jt_u64(&off->items[1], &end) != 0 || begin > end)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: data_offsets is not a pair "
		    "[begin, end] with begin <= end", name, t->name);
	if (end > len)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: its data ends at byte %llu of the "
		    "data, past the end of the file (%llu bytes of data): the file is truncated or "
		    "damaged", name, t->name, (unsigned long long)end, (unsigned long long)len);
	if (end - begin != need)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: its shape of %s needs %llu bytes, its "
		    "offsets span %llu", name, t->name, t->dtype_name, (unsigned long long)need,
		    (unsigned long long)(end - begin));
	t->data = base + begin;
	t->nbytes = (size_t)need;
	/* The element loads must be aligned: the format's writer pads the
	 * header so that they are (README: "the header ... may be padded"). */
	if ((uintptr_t)t->data % esize != 0)
		return ad_fail(e, AD_EFORMAT, "%s: tensor %s: its data at byte %llu of the data is "
		    "not aligned to its %zu-byte elements: the file is damaged", name, t->name,
		    (unsigned long long)begin, esize);
	return 0;
}

int
nn_st_parse(const uint8_t *data, size_t size, const char *name, struct nn_st **out,
    struct ad_error *e)
{
	uint64_t              n, len;
	size_t                bad = 0;
	struct ad_jt         *h = NULL;
	struct nn_st         *st = NULL;
	struct nn_st_tensor **order = NULL;
	int                   rc;

	if (size < 8)
		return ad_fail(e, AD_EFORMAT, "%s: %zu bytes: shorter than a safetensors header "
		    "length: the file is truncated", name, size);
	n = rd_u64le(data);
	if (n > ST_MAX_HEADER)
		return ad_fail(e, AD_EFORMAT, "%s: byte 0: a header length of %llu bytes is absurd "
		    "(at most %llu): not a safetensors file, or a damaged one", name,
		    (unsigned long long)n, (unsigned long long)ST_MAX_HEADER);
	if (n > size - 8)
		return ad_fail(e, AD_EFORMAT, "%s: byte 0: a header of %llu bytes, but the file "
		    "has %zu after the length: the file is truncated", name, (unsigned long long)n,
		    size - 8);
	len = size - 8 - n;
	if ((rc = ad_jt_parse((const char *)data + 8, (size_t)n, &h, &bad)) != 0) {
		if (rc == AD_ENOMEM)
			return ad_fail(e, rc, "%s: out of memory reading the header", name);
		return ad_fail(e, AD_EFORMAT, "%s: byte %zu: the header is not valid JSON there",
		    name, (size_t)8 + bad);
	}
	if (h->type != AD_JT_OBJECT) {
		rc = ad_fail(e, AD_EFORMAT, "%s: byte 8: the header is not a JSON object", name);
		goto out;
	}
	if ((st = ad_calloc(1, sizeof *st)) == NULL ||
	    (st->t = ad_calloc(h->n + 1, sizeof *st->t)) == NULL ||
	    (order = ad_calloc(h->n + 1, sizeof *order)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory for %zu tensors", name, h->n);
		goto out;
	}
	for (size_t i = 0; i < h->n; i++) {
		struct nn_st_tensor *t;
		if (strcmp(h->keys[i], "__metadata__") == 0)
			continue;
		t = &st->t[st->n];
		if ((t->name = ad_strdup(h->keys[i])) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", name);
			goto out;
		}
		st->n++;
		if (strlen(t->name) != h->key_len[i]) {
			rc = ad_fail(e, AD_EFORMAT, "%s: a tensor name holds a NUL byte", name);
			goto out;
		}
		if (nn_st_find(st, t->name) != t) {
			rc = ad_fail(e, AD_EFORMAT, "%s: tensor %s is named twice in the header", name,
			    t->name);
			goto out;
		}
		if ((rc = st_entry(t, &h->items[i], data + 8 + n, len, name, e)) != 0)
			goto out;
		order[st->n - 1] = t;
	}
	/* No two tensors may share a byte: sort by start, compare neighbours. */
	qsort(order, st->n, sizeof *order, by_begin);
	for (size_t i = 0, last = SIZE_MAX; i < st->n; i++) {
		if (order[i]->nbytes == 0)
			continue;
		if (last != SIZE_MAX && order[last]->data + order[last]->nbytes > order[i]->data) {
			rc = ad_fail(e, AD_EFORMAT, "%s: tensors %s and %s overlap in the data: the "
			    "file is damaged", name, order[last]->name, order[i]->name);
			goto out;
		}
		if (last == SIZE_MAX || order[i]->data + order[i]->nbytes >
		    order[last]->data + order[last]->nbytes)
			last = i;
	}
	*out = st;
	st = NULL;
	rc = 0;
out:
	ad_free(order);
	nn_st_free(st);
	ad_jt_free(h);
	return rc;
}
