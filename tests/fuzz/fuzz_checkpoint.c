/*
 * fuzz_checkpoint.c — the transformer checkpoint loader (nn_load): the
 * header, sizes, tokenizer blob, parameters, AdamW moments and training
 * state of a file that may be truncated, bit-flipped or hostile.
 */
#include "config.h"

#include "nn/nn.h"
#include "text/bpe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nn_file   f;
	struct gpt      *g = NULL;
	struct adamw    *opt = NULL;
	struct ad_error  e;
	struct bpe      *b = NULL;

	if (nn_load(data, size, "fuzz", &f, &g, &opt, &e) != 0)
		return 0;
	if (f.tok_kind == NN_TOK_BPE && bpe_parse(&b, f.tok_blob, f.tok_len, "fuzz", &e) == 0)
		bpe_free(b);
	adamw_free(opt);
	gpt_free(g);
	return 0;
}
