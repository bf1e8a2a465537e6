/*
 * cmd_compare.c — "autodidact compare FILE...": options, progress and the
 * report on stdout. The engine (the split, the trainings run as child
 * processes, reuse, scoring, sampling) is compare_run in src/compare/.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/progress.h"
#include "cli/cli.h"
#include "compare/compare.h"

static const char compare_help[] =
"usage: autodidact compare [OPTIONS] FILE...\n"
"\n"
"Split FILE... once into training and held-out text, train a tokenizer,\n"
"n-gram models and a transformer on the same training text, score them all\n"
"on the same held-out text, sample each for the same prompts, and write a\n"
"report (Markdown on stdout; report.md, report.json and report.html in the\n"
"output directory). Models trained by an earlier run with the same\n"
"configuration on the same split are reused.\n"
"\n"
"Data:\n"
"  -o, --out DIR          output and work directory (default compare-out)\n"
"  --val-fraction F       hold out the last F of each file, by lines (default 0.1)\n"
"  --val FILE             hold out FILE instead\n"
"  -t, --vocab VOCAB      use this vocabulary instead of training one\n"
"  --vocab-size N         ids of the tokenizer trained here (default 4096)\n"
"Models:\n"
"  --orders LIST          n-gram orders, e.g. 2..5 or 3,5 (default 2..5); the\n"
"                         unigram baseline (order 1) is always trained\n"
"  --preset NAME          transformer preset: tiny, small (default) or base\n"
"  --layers N, --heads N, --dim N, --context N\n"
"                         transformer shape (override the preset)\n"
"  --steps N              transformer optimiser steps\n"
"  --time-budget S        transformer training seconds (default 120 without\n"
"                         --steps)\n"
"  --batch N              transformer sequences per step (default 8)\n"
"  --lr X                 transformer peak learning rate\n"
"  --objective LIST       the transformers to train, each on the same budget:\n"
"                         causal (default), masked, or causal,masked\n"
"  --no-transformer       n-grams and baselines only\n"
"  --retrain              train every model again even if one can be reused\n"
"Nearest-neighbour LM:\n"
"  --knn                  build a kNN-LM store of the causal transformer on the\n"
"                         training text, tune k, temperature and lambda on the\n"
"                         first half of the held-out text and report the\n"
"                         transformer alone, p_kNN alone and the interpolation\n"
"                         on the second half, and the tokens that gain\n"
"  --knn-tokens N         training tokens stored (default 50000; 0: all)\n"
"Fill in the blank:\n"
"  --blanks N             held-out words to hide, one at a time, from every\n"
"                         model (default 100; 0: no fill-in task)\n"
"Samples:\n"
"  -p, --prompt TEXT      a prompt (repeatable; default: the start of two\n"
"                         held-out lines)\n"
"  -n, --tokens N         tokens per sample (default 30)\n"
"  --temperature T        sampling temperature (default 0.8)\n"
"  --top-k K              keep the K most likely tokens (default 0: all)\n"
"  --top-p P              nucleus sampling threshold (default 1)\n"
"Common:\n"
"  -s, --seed S           seed for training and sampling (default 1)\n"
"  --threads N            threads for every stage\n"
"  -q, --quiet            nothing on stderr but errors\n"
"  -h, --help             show this help\n";

struct cmp_opts {
	struct compare_cfg cfg;
	const char        *prompts[COMPARE_MAX_PROMPTS];
	uint64_t           top_k;
	struct cli_common  common;
};

/* ---- options ------------------------------------------------------------------ */

static int
cmp_parse_orders(const char *s, struct compare_cfg *o)
{
	const char *dots = strstr(s, "..");
	char       *stop;
	long        lo, hi;

	o->norders = 0;
	if (dots != NULL) {
		/* "LO..HI" (strtol, not sscanf's %d, which overflows silently). */
		lo = strtol(s, &stop, 10);
		if (stop != dots || stop == s)
			return -1;
		hi = strtol(dots + 2, &stop, 10);
		if (*stop != '\0' || stop == dots + 2 || lo < 1 || hi > 8 || lo > hi)
			return -1;
		for (long k = lo; k <= hi; k++)
			o->orders[o->norders++] = (int)k;
		return 0;
	}
	while (*s) {
		char *end;
		long  v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 8 || o->norders >= COMPARE_MAX_ORDERS)
			return -1;
		o->orders[o->norders++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return o->norders > 0 ? 0 : -1;
}

/* "causal", "masked", or both, comma-separated, each once. */
static int
cmp_parse_objectives(const char *s, struct compare_cfg *o)
{
	o->causal = o->masked = 0;
	for (;;) {
		size_t n = strcspn(s, ",");
		int   *flag = n == 6 && strncmp(s, "causal", 6) == 0 ? &o->causal :
		              n == 6 && strncmp(s, "masked", 6) == 0 ? &o->masked : NULL;
		if (flag == NULL || *flag)
			return -1;
		*flag = 1;
		if (s[n] == '\0')
			return 0;
		s += n + 1;
	}
}

enum {
	O_VALFRAC = 256, O_VAL, O_VOCABSIZE, O_ORDERS, O_PRESET, O_LAYERS, O_HEADS, O_DIM,
	O_CONTEXT, O_STEPS, O_BUDGET, O_BATCH, O_LR, O_NOTRANS, O_RETRAIN, O_TEMP, O_TOPK,
	O_TOPP, O_THREADS, O_OBJECTIVE, O_BLANKS, O_KNN, O_KNNTOK,
};

static int
cmp_options(int argc, char **argv, struct cmp_opts *o)
{
	static const struct option longopts[] = {
		{ "out",            required_argument, NULL, 'o' },
		{ "val-fraction",   required_argument, NULL, O_VALFRAC },
		{ "val",            required_argument, NULL, O_VAL },
		{ "vocab",          required_argument, NULL, 't' },
		{ "tokenizer",      required_argument, NULL, 't' },   /* an alias */
		{ "vocab-size",     required_argument, NULL, O_VOCABSIZE },
		{ "orders",         required_argument, NULL, O_ORDERS },
		{ "preset",         required_argument, NULL, O_PRESET },
		{ "layers",         required_argument, NULL, O_LAYERS },
		{ "heads",          required_argument, NULL, O_HEADS },
		{ "dim",            required_argument, NULL, O_DIM },
		{ "context",        required_argument, NULL, O_CONTEXT },
		{ "steps",          required_argument, NULL, O_STEPS },
		{ "time-budget",    required_argument, NULL, O_BUDGET },
		{ "batch",          required_argument, NULL, O_BATCH },
		{ "lr",             required_argument, NULL, O_LR },
		{ "no-transformer", no_argument,       NULL, O_NOTRANS },
		{ "objective",      required_argument, NULL, O_OBJECTIVE },
		{ "blanks",         required_argument, NULL, O_BLANKS },
		{ "retrain",        no_argument,       NULL, O_RETRAIN },
		{ "knn",            no_argument,       NULL, O_KNN },
		{ "knn-tokens",     required_argument, NULL, O_KNNTOK },
		{ "prompt",         required_argument, NULL, 'p' },
		{ "tokens",         required_argument, NULL, 'n' },
		{ "temperature",    required_argument, NULL, O_TEMP },
		{ "top-k",          required_argument, NULL, O_TOPK },
		{ "top-p",          required_argument, NULL, O_TOPP },
		{ "seed",           required_argument, NULL, 's' },
		{ "threads",        required_argument, NULL, O_THREADS },
		{ "quiet",          no_argument,       NULL, 'q' },
		{ "help",           no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct compare_cfg *cf = &o->cfg;
	const char *cmd = "compare";
	uint64_t    v;
	double      d;
	int         c, rc = 0;

	while ((c = cli_getopt(argc, argv, "o:t:p:n:s:qh", longopts, cmd)) != -1) {
		switch (c) {
		case 'o': cf->out = optarg; break;
		case O_VALFRAC:
			rc = cli_double(cmd, "--val-fraction", optarg, 0.001, 0.9, &cf->val_fraction);
			break;
		case O_VAL: cf->val = optarg; break;
		case 't': cf->vocab = optarg; break;
		case O_VOCABSIZE:
			rc = cli_u64(cmd, "--vocab-size", optarg, 257, 1u << 20, &cf->vocab_size);
			break;
		case O_ORDERS:
			if (cmp_parse_orders(optarg, cf) != 0)
				rc = cli_usage(cmd, "--orders: '%s' is not a list of orders in 1..8 "
				    "(e.g. 2..5 or 3,5)", optarg);
			break;
		case O_PRESET: cf->preset = optarg; break;
		case O_LAYERS:
		case O_HEADS:
		case O_DIM:
		case O_CONTEXT:
			if ((rc = cli_u64(cmd, c == O_LAYERS ? "--layers" : c == O_HEADS ? "--heads" :
			    c == O_DIM ? "--dim" : "--context", optarg, 1, 1u << 16, &v)) == 0) {
				if (c == O_LAYERS) cf->layers = optarg;
				if (c == O_HEADS) cf->heads = optarg;
				if (c == O_DIM) cf->dim = optarg;
				if (c == O_CONTEXT) cf->context = optarg;
			}
			break;
		case O_STEPS: rc = cli_u64(cmd, "--steps", optarg, 1, 1u << 30, &cf->steps); break;
		case O_BUDGET: rc = cli_double(cmd, "--time-budget", optarg, 1, 1e7, &cf->budget); break;
		case O_BATCH: rc = cli_u64(cmd, "--batch", optarg, 1, 4096, &cf->batch); break;
		case O_LR:
			if ((rc = cli_double(cmd, "--lr", optarg, 1e-8, 10, &d)) == 0)
				cf->lr = optarg;
			break;
		case O_NOTRANS: cf->no_transformer = 1; break;
		case O_OBJECTIVE:
			if (cmp_parse_objectives(optarg, cf) != 0)
				rc = cli_usage(cmd, "--objective: '%s' is not a list of objectives "
				    "(causal, masked, or causal,masked)", optarg);
			break;
		case O_BLANKS:
			if ((rc = cli_u64(cmd, "--blanks", optarg, 0, 1000000, &v)) == 0)
				cf->blanks = (size_t)v;
			break;
		case O_RETRAIN: cf->retrain = 1; break;
		case O_KNN: cf->knn = 1; break;
		case O_KNNTOK:
			rc = cli_u64(cmd, "--knn-tokens", optarg, 0, UINT32_MAX - 1, &cf->knn_tokens);
			break;
		case 'p':
			if (cf->nprompts == COMPARE_MAX_PROMPTS)
				rc = cli_usage(cmd, "at most %d prompts", COMPARE_MAX_PROMPTS);
			else
				o->prompts[cf->nprompts++] = optarg;
			break;
		case 'n': rc = cli_u64(cmd, "--tokens", optarg, 1, 100000, &cf->sample_tokens); break;
		case O_TEMP: rc = cli_double(cmd, "--temperature", optarg, 0, 100, &cf->sampling.temperature); break;
		case O_TOPK: rc = cli_u64(cmd, "--top-k", optarg, 0, UINT32_MAX, &o->top_k); break;
		case O_TOPP: rc = cli_double(cmd, "--top-p", optarg, 1e-9, 1, &cf->sampling.top_p); break;
		case 's': rc = cli_u64(cmd, "--seed", optarg, 0, UINT64_MAX, &cf->seed); break;
		case O_THREADS:
			if ((rc = cli_u64(cmd, "--threads", optarg, 1, 1024, &v)) == 0)
				o->common.threads = (int)v;
			break;
		case 'q': o->common.quiet = 1; break;
		case 'h': cli_help(compare_help); return -1;
		default: return CLI_EXIT_USAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage(cmd, "no corpus: give one or more FILEs");
	if (cf->steps > 0 && cf->budget > 0)
		return cli_usage(cmd, "give --steps or --time-budget, not both");
	if (cf->knn && (cf->no_transformer || (cf->masked && !cf->causal)))
		return cli_usage(cmd, "--knn needs the causal transformer (its context vectors are "
		    "the store's keys): drop --no-transformer, or add causal to --objective");
	if (cf->val != NULL && cf->val_fraction > 0)
		return cli_usage(cmd, "give --val FILE or --val-fraction, not both");
	if (cf->vocab != NULL && cf->vocab_size > 0)
		return cli_usage(cmd, "--vocab-size is for the tokenizer trained here; with -t the "
		    "vocabulary is given");
	return 0;
}

/* ---- hooks: what the engine reports while it works ------------------------------- */

static void
cmp_on_stage(void *ctx, const char *what)
{
	(void)ctx;
	fprintf(stderr, "compare: %s\n", what);
}

static struct ad_progress *
cmp_on_progress(void *ctx, const char *label, uint64_t total, const char *unit)
{
	return cli_progress(ctx, label, total, unit);
}

int
cmd_compare(int argc, char **argv)
{
	struct cmp_opts       o = { .cfg = { .out = "compare-out", .preset = "small",
	                            .sampling = { .temperature = 0.8, .top_p = 1.0 }, .batch = 8,
	                            .seed = 1, .sample_tokens = 30,
	                            .blanks = COMPARE_BLANKS_DEFAULT,
	                            .knn_tokens = COMPARE_KNN_TOKENS_DEFAULT } };
	struct compare_cfg   *cfg = &o.cfg;
	struct ad_error       err = { 0 };
	struct compare_report rep = { 0 };
	const char           *self;
	int                   rc, status;

	cfg->orders[0] = 2;
	cfg->orders[1] = 3;
	cfg->orders[2] = 4;
	cfg->orders[3] = 5;
	cfg->norders = 4;
	if ((rc = cmp_options(argc, argv, &o)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (cfg->val == NULL && cfg->val_fraction == 0)
		cfg->val_fraction = 0.1;
	if (cfg->vocab == NULL && cfg->vocab_size == 0)
		cfg->vocab_size = 4096;
	if (cfg->steps == 0 && cfg->budget == 0)
		cfg->budget = 120;
	cfg->sampling.top_k = (uint32_t)o.top_k;
	cfg->files = (const char *const *)argv + optind;
	cfg->nfiles = (size_t)(argc - optind);
	cfg->prompts = o.prompts;
	cfg->threads = o.common.threads;
	cfg->quiet = o.common.quiet;
	/* This program, unless AUTODIDACT_SELF names another (under valgrind
	 * /proc/self/exe is valgrind's own tool). */
	self = getenv("AUTODIDACT_SELF");
	cfg->self = self != NULL && *self != '\0' ? self : "/proc/self/exe";
	cfg->hook_ctx = &o.common;
	if (!o.common.quiet)
		cfg->on_stage = cmp_on_stage;
	cfg->on_progress = cmp_on_progress;
	cli_apply_threads(&o.common);

	if (compare_run(cfg, &rep, &err) != 0 || compare_report_save(&rep, cfg->out, &err) != 0) {
		compare_report_free(&rep);
		return cli_fail(&err);
	}
	compare_write_markdown(&rep, stdout);
	printf("\nThe report is in %s/report.md, %s/report.html and %s/report.json.\n",
	    cfg->out, cfg->out, cfg->out);
	status = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the report");
	compare_report_free(&rep);
	return status;
}
