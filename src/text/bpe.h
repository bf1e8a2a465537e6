/*
 * bpe.h — the byte-level BPE tokenizer: the part of its surface every other
 * module relies on. (Owned by the tokenizer work: training, the vocabulary
 * file format, normalization and pre-tokenization are declared beside this
 * as they land; the functions below are the contract with the models.)
 *
 * A struct bpe is immutable once built or loaded and may be shared between
 * threads; encoding state that must not be shared lives in a struct
 * bpe_encoder, one per thread.
 *
 * Ids are 0 .. bpe_vocab_size() - 1: the ranks of the byte-level tokens,
 * then the special tokens.
 */
#ifndef AD_BPE_H
#define AD_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct bpe;
struct bpe_encoder;

/* Load a vocabulary file written by bpe_save (format in the man page). */
int  bpe_load(struct bpe **out, const char *path, struct ad_error *e);
/* The same from memory (e.g. embedded in a model file); name is for messages. */
int  bpe_parse(struct bpe **out, const void *data, size_t len, const char *name,
               struct ad_error *e);
int  bpe_save(const struct bpe *b, const char *path, struct ad_error *e);
/* The vocabulary file's bytes in a new buffer (ad_free it), for embedding. */
int  bpe_serialize(const struct bpe *b, char **buf, size_t *len, struct ad_error *e);
void bpe_free(struct bpe *b);

uint32_t bpe_vocab_size(const struct bpe *b);
/*
 * A 64-bit identity of everything that decides the ids: the tokens and their
 * ranks, the pattern, the normalization and the specials (XXH64 of the
 * serialized form). Models store it and refuse a different tokenizer.
 */
uint64_t bpe_identity(const struct bpe *b);
/* The bytes of token id (for a special token, its text). */
const uint8_t *bpe_token_bytes(const struct bpe *b, uint32_t id, size_t *len);

int  bpe_encoder_new(const struct bpe *b, struct bpe_encoder **out, struct ad_error *e);
void bpe_encoder_free(struct bpe_encoder *enc);
/*
 * Encode text (len bytes, any bytes) and append the ids to *ids (capacity
 * *cap, grown with ad_realloc; *n is the count so far).
 */
int  bpe_encode(struct bpe_encoder *enc, const uint8_t *text, size_t len, uint32_t **ids,
                size_t *n, size_t *cap, struct ad_error *e);

#endif
