/*
 * cmd_export.c — "autodidact export --format safetensors -o DIR MODEL": a
 * transformer trained here, written in the Hugging Face GPT-2 layout
 * (nn/export.h) so that the usual Python tools open it.
 */
#include "config.h"

#include <string.h>

#include "base/io.h"
#include "bpe/bpe.h"
#include "cli/cli.h"
#include "ngram/ngram.h"
#include "nn/export.h"
#include "nn/nn.h"

static const char export_help[] =
"usage: autodidact export --format safetensors -o DIR [--force] MODEL\n"
"\n"
"Write a transformer trained by autodidact in the Hugging Face GPT-2 layout:\n"
"DIR/model.safetensors (the weights under GPT-2's names, float32),\n"
"config.json and generation_config.json (GPT2LMHeadModel's), and the\n"
"tokenizer as vocab.json + merges.txt (GPT-2's byte-level spelling),\n"
"tokenizer.tiktoken (the same ranks) and tokenizer_config.json. The\n"
"vocabulary gets one more id, V (the tokenizer's size): the marker that\n"
"opens every text, which the model never predicts (suppress it to get the\n"
"model's distribution). DIR appears whole or not at all. A masked model is\n"
"refused (GPT-2 attends causally); an n-gram model's ARPA file is written\n"
"when it is trained (see autodidact-train-ngram(1)).\n"
"\n"
"Options:\n"
"  -f, --format FMT   safetensors (the only format; see above for ARPA)\n"
"  -o, --output DIR   the directory to write; it must not exist\n"
"  --force            replace DIR when it exists (the old one stays whole until\n"
"                     the new one is complete)\n"
"  -q, --quiet        no report on stdout\n"
"  -h, --help         show this help\n";

/* The model's kind, for a refusal that says what to do instead. */
static int
export_refuse(const char *path, const struct ad_map *m)
{
	if (m->size >= 8 && memcmp(m->data, NGRAM_MAGIC, 8) == 0)
		return cli_failf("%s: an n-gram model: export writes transformers; an n-gram model "
		    "is written as ARPA when it is trained ('autodidact train ngram --arpa FILE')",
		    path);
	if (ngram_arpa_probe(m->data, m->size))
		return cli_failf("%s: an ARPA file already: export writes transformers", path);
	return cli_failf("%s: not a transformer model file written by autodidact (bad magic)",
	    path);
}

int
cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "force",  no_argument,       NULL, 'F' },
		{ "quiet",  no_argument,       NULL, 'q' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ad_error         err = { 0 };
	struct ad_map           map;
	struct nn_file          f;
	struct nn_export_result res;
	struct gpt             *g = NULL;
	struct bpe             *bpe = NULL;
	const char             *format = NULL, *dir = NULL, *path;
	int                     c, rc, force = 0, quiet = 0;

	while ((c = cli_getopt(argc, argv, "f:o:qh", longopts, "export")) != -1) {
		switch (c) {
		case 'f': format = optarg; break;
		case 'o': dir = optarg; break;
		case 'F': force = 1; break;
		case 'q': quiet = 1; break;
		case 'h': return cli_help(export_help);
		default:  return CLI_EXIT_USAGE;
		}
	}
	if (format == NULL)
		return cli_usage("export", "no --format given: --format safetensors");
	if (strcmp(format, "arpa") == 0)
		return cli_usage("export", "--format arpa: an n-gram model's ARPA file is written "
		    "when it is trained ('autodidact train ngram --arpa FILE'); export writes "
		    "transformers (--format safetensors)");
	if (strcmp(format, "safetensors") != 0)
		return cli_usage("export", "unknown --format '%s': safetensors", format);
	if (dir == NULL)
		return cli_usage("export", "no output directory: give -o DIR");
	if (argc - optind != 1)
		return cli_usage("export", argc - optind < 1 ? "no model given" :
		    "one model at a time");
	path = argv[optind];
	if ((rc = ad_map_file(path, &map, &err)) != 0)
		return cli_fail(&err);
	if (map.size < 8 || memcmp(map.data, NN_MAGIC, 8) != 0) {
		rc = export_refuse(path, &map);
		ad_map_release(&map);
		return rc;
	}
	if ((rc = nn_load(map.data, map.size, path, &f, &g, NULL, &err)) != 0 ||
	    (f.tok_kind == NN_TOK_BPE &&
	    (rc = bpe_parse(&bpe, f.tok_blob, f.tok_len, path, &err)) != 0) ||
	    (rc = nn_export_hf(dir, path, &f, g, bpe, force, &res, &err)) != 0) {
		bpe_free(bpe);
		gpt_free(g);
		ad_map_release(&map);
		return cli_fail(&err);
	}
	bpe_free(bpe);
	gpt_free(g);
	ad_map_release(&map);
	if (!quiet) {
		printf("exported %s to %s in the Hugging Face GPT-2 layout\n", path, dir);
		printf("  model.safetensors  %llu bytes, float32; vocab_size %u = the tokenizer's "
		    "%u ids + id %u, which opens every text\n", (unsigned long long)res.bytes,
		    res.vocab_size, res.bos_id, res.bos_id);
		printf("  tokenizer          vocab.json, merges.txt (%u merges), tokenizer.tiktoken, "
		    "tokenizer_config.json\n", res.merges);
		if (!res.gpt2_exact)
			printf("  note: the vocabulary was not made with GPT-2's pattern alone (see "
			    "tokenizer_config.json): GPT2Tokenizer gives its ids only where the two "
			    "splits agree; tiktoken with tokenizer.tiktoken and that pattern gives them "
			    "all\n");
	}
	return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the report");
}
