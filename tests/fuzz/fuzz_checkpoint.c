/*
 * fuzz_checkpoint.c — the transformer checkpoint loader (nn_load): the
 * header, sizes, tokenizer blob, parameters, AdamW moments and training
 * state of a file that may be truncated, bit-flipped or hostile.
 *
 * Each input is loaded as it is, and again with its last 8 bytes replaced
 * by the right checksum of the rest: most mutations would otherwise only
 * ever reach the checksum test, and the fuzzer would never see the parser
 * behind it.
 */
#include "config.h"

#include "fixsum.h"
#include "nn/nn.h"
#include "bpe/bpe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
load(const uint8_t *data, size_t size)
{
	struct nn_file   f;
	struct gpt      *g = NULL;
	struct adamw    *opt = NULL;
	struct ad_error  e;
	struct bpe      *b = NULL;

	if (nn_load(data, size, "fuzz", &f, &g, &opt, &e) != 0)
		return;
	if (f.tok_kind == NN_TOK_BPE && bpe_parse(&b, f.tok_blob, f.tok_len, "fuzz", &e) == 0)
		bpe_free(b);
	adamw_free(opt);
	gpt_free(g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_with_fixed_checksum(load, data, size);
	return 0;
}
