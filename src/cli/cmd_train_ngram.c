/*
 * cmd_train_ngram.c — "autodidact train ngram": estimate an interpolated
 * modified Kneser-Ney model (src/ngram/) and write it as our binary model
 * and/or an ARPA file.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "ngram/shard.h"
#include "ngram/ngram.h"
#include "nn/dist.h"
#include "bpe/bpe.h"

static const char train_ngram_help[] =
"usage: autodidact train ngram (--words | --bytes | -t VOCAB) [--order N]\n"
"                              [-o MODEL] [--arpa FILE] [options] FILE...\n"
"\n"
"Estimate an interpolated modified Kneser-Ney n-gram model, the same model\n"
"KenLM's lmplz estimates: one line is one sentence, continuation counts for\n"
"lower orders, three discounts per order from counts of counts. FILE... are\n"
"read as one text ('-' is stdin).\n"
"\n"
"Options:\n"
"  -o, --output MODEL     write the binary model (mmap-able; any command that\n"
"                         takes a MODEL reads it)\n"
"  --arpa FILE            also (or only) write the model as ARPA text\n"
"  --order N              the order, 1 to 8 (default 5)\n"
"  --words                tokens are whitespace-separated words\n"
"  --bytes                tokens are bytes\n"
"  -t, --vocab VOCAB      tokens are the ids of this tokenizer (the model\n"
"                         embeds it)\n"
"  --discount-fallback    where the counts cannot support the discounts, use\n"
"                         D1=0.5 D2=1 D3+=1.5 instead of failing\n"
"  --skip-symbols         read the words <s>, </s> and <unk> in the text as\n"
"                         spaces instead of failing\n"
"  --threads N            threads for counting (default: all cores)\n"
"  --json                 print the counts and discounts as JSON on stdout\n"
"  -q, --quiet            no progress or summary on stderr\n"
"  -h, --help             show this help\n";

static void
train_ngram_summary(const struct ngram_est *m, FILE *f)
{
	uint64_t hash, bytes;

	fprintf(f, "%llu lines, %llu tokens, %u vocabulary ids\n",
	    (unsigned long long)ngram_est_lines(m), (unsigned long long)ngram_est_tokens(m),
	    ngram_est_vocab(m));
	hash = ngram_est_text(m, &bytes);
	fprintf(f, "training text: %llu bytes, xxh64 %016llx\n", (unsigned long long)bytes,
	    (unsigned long long)hash);
	for (uint32_t n = 1; n <= ngram_est_order(m); n++) {
		double d[3];
		int    fb = ngram_est_discounts(m, n, d);
		fprintf(f, "%u %llu D1=%g D2=%g D3+=%g%s\n", n,
		    (unsigned long long)ngram_est_count(m, n), d[0], d[1], d[2],
		    fb ? " (fallback)" : "");
	}
}

static void
train_ngram_json(const struct ngram_est *m)
{
	struct ad_json j;
	uint64_t       bytes, hash = ngram_est_text(m, &bytes);
	char           hex[17];

	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)hash);
	ad_json_init(&j, stdout, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "text_bytes");
	ad_json_uint(&j, bytes);
	ad_json_key(&j, "text_xxh64");
	ad_json_string(&j, hex);
	ad_json_key(&j, "lines");
	ad_json_uint(&j, ngram_est_lines(m));
	ad_json_key(&j, "tokens");
	ad_json_uint(&j, ngram_est_tokens(m));
	ad_json_key(&j, "vocabulary");
	ad_json_uint(&j, ngram_est_vocab(m));
	ad_json_key(&j, "orders");
	ad_json_array_begin(&j);
	for (uint32_t n = 1; n <= ngram_est_order(m); n++) {
		double d[3];
		int    fb = ngram_est_discounts(m, n, d);
		ad_json_object_begin(&j);
		ad_json_key(&j, "order");
		ad_json_uint(&j, n);
		ad_json_key(&j, "ngrams");
		ad_json_uint(&j, ngram_est_count(m, n));
		ad_json_key(&j, "discounts");
		ad_json_array_begin(&j);
		for (int k = 0; k < 3; k++)
			ad_json_double(&j, d[k]);
		ad_json_array_end(&j);
		ad_json_key(&j, "fallback");
		ad_json_bool(&j, fb);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
}

int
cmd_train_ngram(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output",            required_argument, NULL, 'o' },
		{ "arpa",              required_argument, NULL, 'A' },
		{ "order",             required_argument, NULL, 'n' },
		{ "words",             no_argument,       NULL, 'W' },
		{ "bytes",             no_argument,       NULL, 'B' },
		{ "vocab",             required_argument, NULL, 't' },
		{ "tokenizer",         required_argument, NULL, 't' },   /* an alias */
		{ "discount-fallback", no_argument,       NULL, 'D' },
		{ "skip-symbols",      no_argument,       NULL, 'S' },
		{ "threads",           required_argument, NULL, 'T' },
		{ "json",              no_argument,       NULL, 'j' },
		{ "quiet",             no_argument,       NULL, 'q' },
		{ "help",              no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ngram_config cfg;
	struct cli_common   common = { 0 };
	struct ad_error     err = { 0 };
	struct ngram_est   *m = NULL;
	struct bpe         *tok = NULL;
	struct ad_progress *prog;
	const char         *output = NULL, *arpa = NULL, *vocab = NULL;
	int                 units = 0, c, rc;
	uint64_t            v;
	struct nn_dist      dist;   /* the MPI job (one process without mpirun) */
	struct nn_dist_config dcfg;

	ngram_config_default(&cfg);
	cfg.tmpdir = getenv("TMPDIR");   /* where MPI ranks stage their shards */
	while ((c = cli_getopt(argc, argv, "o:t:qh", longopts, "train ngram")) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'A': arpa = optarg; break;
		case 'n':
			if ((rc = cli_u64("train ngram", "--order", optarg, 1, NGRAM_MAX_ORDER, &v)) != 0)
				return rc;
			cfg.order = (uint32_t)v;
			break;
		case 'W': cfg.unit = NGRAM_WORDS; units++; break;
		case 'B': cfg.unit = NGRAM_BYTES; units++; break;
		case 't': cfg.unit = NGRAM_TOKENS; vocab = optarg; units++; break;
		case 'D': cfg.discount_fallback = 1; break;
		case 'S': cfg.skip_symbols = 1; break;
		case 'T':
			if ((rc = cli_u64("train ngram", "--threads", optarg, 1, 1024, &v)) != 0)
				return rc;
			common.threads = (int)v;
			break;
		case 'j': common.json = 1; break;
		case 'q': common.quiet = 1; break;
		case 'h': return cli_help(train_ngram_help);
		default:  return CLI_EXIT_USAGE;
		}
	}
	if (units != 1)
		return cli_usage("train ngram", "give exactly one of --words, --bytes or -t VOCAB");
	if (output == NULL && arpa == NULL)
		return cli_usage("train ngram", "no output: give -o MODEL and/or --arpa FILE");
	if (optind >= argc)
		return cli_usage("train ngram", "no corpus: give one or more FILEs ('-' for stdin)");
	if (cfg.skip_symbols && cfg.unit != NGRAM_WORDS)
		return cli_usage("train ngram", "--skip-symbols only applies to --words");
	cli_apply_threads(&common);
	if (vocab != NULL) {
		if ((rc = bpe_load(&tok, vocab, &err)) != 0)
			return cli_fail(&err);
		cfg.tok = tok;
	}
	/* Under mpirun each rank counts a shard; rank 0 merges, reports and writes. */
	if (cli_dist_config(&dcfg, &err) != 0 || nn_dist_init(&dist, &dcfg, &err) != 0) {
		bpe_free(tok);
		return cli_fail(&err);
	}
	if (dist.rank != 0) {
		common.quiet = 1;
		common.json = 0;
	}
	prog = cli_progress(&common, "count", 0, "B");
	rc = ngram_estimate_sharded(&m, &cfg, (const char *const *)argv + optind,
	    (size_t)(argc - optind), dist.rank, dist.size, prog, &err);
	if (rc != 0) {
		ad_progress_free(prog);
		bpe_free(tok);
		rc = cli_fail(&err);
		nn_dist_finish(&dist, rc);
		return rc;
	}
	ad_progress_finish(prog);
	if (m == NULL) {   /* a rank other than 0: its counts went to rank 0 */
		bpe_free(tok);
		nn_dist_finish(&dist, 0);
		return CLI_EXIT_OK;
	}
	/* The binary model last: whatever fails, an existing MODEL is untouched
	 * unless the new one is complete. */
	if ((arpa != NULL && (rc = ngram_est_write_arpa(m, arpa, &err)) != 0) ||
	    (output != NULL && (rc = ngram_est_write_binary(m, output, &err)) != 0)) {
		ngram_est_free(m);
		bpe_free(tok);
		rc = cli_fail(&err);
		nn_dist_finish(&dist, rc);
		return rc;
	}
	if (!common.quiet)
		train_ngram_summary(m, stderr);
	if (common.json)
		train_ngram_json(m);
	ngram_est_free(m);
	bpe_free(tok);
	nn_dist_finish(&dist, 0);
	return CLI_EXIT_OK;
}
