/*
 * import.h — opening GPT-2 checkpoints written by other tools: the Hugging
 * Face layout in safetensors (model.safetensors with its config.json), and
 * llm.c's gpt2_124M.bin; and GPT-2's tokenizer from an r50k_base rank file
 * or from the vocab.json + merges.txt pair.
 *
 * Why. GPT-2's architecture is this program's transformer (nn.h), so an
 * imported checkpoint is a struct gpt behind the same lm.h interface; the
 * one difference is the opening marker: GPT-2 opens a text with
 * <|endoftext|> (id V - 1) instead of an extra input row (struct gpt's
 * eot_bos).
 *
 * Trust. Every byte offset, shape and size in a file is checked against
 * the file's size and the configuration before anything is read through
 * it; a damaged or hostile file is an AD_EFORMAT naming the tensor (or the
 * header field), never a read out of bounds.
 *
 * Memory. A float32 tensor whose layout is ours is used in place, in the
 * mapped file (all of an llm.c version-3 file; the embeddings of a
 * safetensors file); the rest (the transposed Conv1D weights of the
 * Hugging Face layout, and anything stored in 16 bits) is converted once
 * into one allocation.
 */
#ifndef AD_NN_IMPORT_H
#define AD_NN_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* ---- safetensors (safetensors.c) ---------------------------------------- */

/*
 * The format (github.com/huggingface/safetensors, README "Format"): a
 * little-endian u64 N, N bytes of a JSON object mapping each tensor's name
 * to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to
 * the byte after the header; an optional "__metadata__" object of
 * strings), then the data.
 */
enum nn_st_dtype { NN_ST_F32, NN_ST_F16, NN_ST_BF16, NN_ST_OTHER };

#define NN_ST_MAXDIM 8

struct nn_st_tensor {
	char            *name;
	enum nn_st_dtype dtype;
	const char      *dtype_name;   /* as in the file ("F32", "I64", ...) */
	uint32_t         ndim;
	uint64_t         shape[NN_ST_MAXDIM];
	const uint8_t   *data;         /* into the file; nbytes of it */
	size_t           nbytes;
};

struct nn_st {
	struct nn_st_tensor *t;
	size_t               n;
};

/* Whether data looks like a safetensors file (8 bytes, then '{'); the
 * header is then checked by nn_st_parse. */
int  nn_st_probe(const uint8_t *data, size_t size);
/*
 * Parse and validate the header of a safetensors file in memory (name is
 * used in messages): the header length within the file and at most 100 MB,
 * valid JSON, every tensor with a known dtype, a shape of at most 8
 * dimensions whose bytes are its offsets' span, offsets inside the data,
 * aligned to the element size, and no two tensors overlapping.
 */
int  nn_st_parse(const uint8_t *data, size_t size, const char *name, struct nn_st **out,
                 struct ad_error *e);
void nn_st_free(struct nn_st *st);
const struct nn_st_tensor *nn_st_find(const struct nn_st *st, const char *name);

/* ---- GPT-2 import (gpt2_import.c) ---------------------------------------- */

/* A bfloat16 and an IEEE 754 binary16 as float32 (exact: both widen). */
float nn_bf16_to_f32(uint16_t h);
float nn_f16_to_f32(uint16_t h);

/* The magic of llm.c's model files (int32 header[0]), and whether data is one. */
#define NN_LLMC_MAGIC 20240326
int  nn_llmc_probe(const uint8_t *data, size_t size);

struct lm;
struct ad_map;
struct bpe;
/*
 * Open an imported checkpoint as a model: path is the file (mapped in map,
 * whose ownership passes on success) or, for safetensors, the directory it
 * was found in (dir, or NULL when path is the file itself: config.json and
 * the tokenizer are then looked for beside it). tokenizer is a rank file or
 * vocab.json (-t), or NULL: vocab.json + merges.txt beside the model.
 */
int  nn_gpt2_open_safetensors(struct lm **out, const char *path, const char *dir,
                              const char *tokenizer, struct ad_map *map, struct ad_error *e);
int  nn_gpt2_open_llmc(struct lm **out, const char *path, const char *tokenizer,
                       struct ad_map *map, struct ad_error *e);
/*
 * GPT-2's tokenizer from path: a tiktoken rank file (r50k_base.tiktoken),
 * or a vocab.json, with the merges.txt beside it checked against it
 * (merges_path NULL: dirname(path)/merges.txt). The ids are the ranks of
 * vocab.json, which are r50k_base's (tiktoken's load.py builds r50k_base
 * from the same pair and checks it against the encoder), with
 * <|endoftext|> as its special token, which must be id V - 1 of a
 * tokenizer of V ids (the model's) when eot_last. Without eot_last (an
 * export of a model trained here, 'autodidact export'), vocab.json's id V
 * is the input-only opening id and is left out, and <|endoftext|> is a
 * special token only where the vocabulary had one below V.
 */
int  nn_gpt2_tokenizer_load(struct bpe **out, const char *path, const char *merges_path,
                            uint32_t V, int eot_last, struct ad_error *e);

#endif
