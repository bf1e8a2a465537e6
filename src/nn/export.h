/*
 * export.h — a transformer trained here, written in the Hugging Face GPT-2
 * layout, so that the usual Python tools open it (export.c).
 *
 * What is written. A directory holding model.safetensors (the weights under
 * GPT-2's names, Conv1D matrices input-major, all F32), config.json (a
 * GPT2LMHeadModel configuration), generation_config.json, and the
 * tokenizer: vocab.json and merges.txt in GPT-2's byte-to-unicode form,
 * tokenizer.tiktoken (the same ranks as a tiktoken rank file) and
 * tokenizer_config.json. Formats and every field in
 * man/autodidact-export.1.
 *
 * Where the layouts differ, and what is done about it:
 * - Our model embeds one input-only row past the tokenizer's V ids: BOS,
 *   which opens every text, as GPT-2's <|endoftext|> does. GPT-2 has one
 *   table of vocab_size rows for input and output, so vocab_size is V + 1
 *   and BOS is id V (bos_token_id = eos_token_id = V, as GPT-2's 50256 is
 *   both); the output row V is one our model never scores, so its logit
 *   must be suppressed (generation_config.json's suppress_tokens) to give
 *   our distribution, and config.json says so ("autodidact" object).
 * - A masked (bidirectional) model is refused: GPT-2 attends causally.
 * - Our LayerNorm eps is 1e-5 and our GELU the tanh form: GPT-2's
 *   layer_norm_epsilon and "gelu_new".
 * - GPT2Tokenizer splits text with GPT-2's pattern and does not normalize;
 *   a vocabulary made with another pattern or a normalization gives the
 *   same ids there only where they agree (the tiktoken file with the
 *   pattern recorded in tokenizer_config.json gives them exactly).
 *
 * The directory appears whole or not at all: it is written under a
 * temporary name beside it and renamed; an existing directory is replaced
 * only when asked, by an exchange of the two names, so that at every moment
 * the name holds the complete old export or the complete new one.
 */
#ifndef AD_NN_EXPORT_H
#define AD_NN_EXPORT_H

#include <stdint.h>

#include "base/err.h"

struct bpe;
struct gpt;
struct nn_file;

/* What an export wrote, for the command's report. */
struct nn_export_result {
	uint32_t vocab_size;      /* rows of wte.weight: V + 1 */
	uint32_t bos_id;          /* V: the id that opens a text */
	uint32_t merges;          /* lines of merges.txt after its version line */
	int      gpt2_exact;      /* 1: GPT2Tokenizer gives our ids (byte-level model,
	                           * or GPT-2's pattern without normalization) */
	uint64_t bytes;           /* of model.safetensors */
};

/*
 * Write the model g (with the header f it was loaded with; bpe its
 * vocabulary, NULL for a byte-level model) into the directory dir. An
 * existing dir is AD_EINVAL unless force, and is then replaced whole.
 * name is the model file's name, for messages.
 */
int nn_export_hf(const char *dir, const char *name, const struct nn_file *f,
                 const struct gpt *g, const struct bpe *bpe, int force,
                 struct nn_export_result *r, struct ad_error *e);

/*
 * GPT-2's byte-to-unicode map (as in the vocab.json and merges.txt it
 * published): byte b as the UTF-8 of one printable character, in out
 * (at least 3 bytes and a NUL); returns its length.
 */
int nn_export_byte_char(uint8_t b, char *out);

#endif
