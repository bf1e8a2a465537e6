/*
 * cmd_sweep.c — "autodidact sweep FILE...": options, progress and the
 * report on stdout. The engine (the split, the grid's trainings as child
 * processes or in process, reuse, the learning curves, the threshold) is
 * sweep_run in src/compare/sweep.c.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/progress.h"
#include "cli/cli.h"
#include "compare/sweep.h"

static const char sweep_help[] =
"usage: autodidact sweep [OPTIONS] FILE...\n"
"\n"
"Split FILE... once into training and held-out text and train a grid of\n"
"models on it: transformer widths x depths, n-gram orders or random-feature\n"
"counts, for each training-set size. Report each point's training and\n"
"held-out loss, the learning curves, and the interpolation threshold (the\n"
"smallest model whose training loss is at most the floor), as Markdown on\n"
"stdout and sweep.md, sweep.json and sweep.html in the output directory.\n"
"Points trained by an earlier run with the same configuration are reused.\n"
"\n"
"Data:\n"
"  -o, --out DIR          output and work directory (default sweep-out)\n"
"  --val-fraction F       hold out the last F of each file, by lines (default 0.1)\n"
"  --val FILE             hold out FILE instead\n"
"  -t, --vocab VOCAB      use this vocabulary instead of training one\n"
"  --vocab-size N         ids of the tokenizer trained here (default 1024)\n"
"  --fractions LIST       training-set sizes, fractions of the training split\n"
"                         (its first lines), e.g. 0.25,0.5,1 (default 1)\n"
"Model:\n"
"  --model KIND           transformer (default), ngram or rf\n"
"  --widths LIST          transformer widths (default 8,16,32,64)\n"
"  --depths LIST          transformer depths (default 1)\n"
"  --heads N              attention heads; divides every width (default 2)\n"
"  --context N            transformer context (default 32)\n"
"  --orders LIST          n-gram orders, e.g. 1..5 or 2,4 (default 1..5)\n"
"  --features LIST        random-feature counts (default 64,128,256,512,1024)\n"
"  --rf-context N         random features: tokens of context (default 2)\n"
"  --rf-embed D           random features: Gaussian token embedding of D numbers\n"
"                         (default 16; 0: one-hot tokens)\n"
"  --rf-fourier           random Fourier features instead of ReLU ones\n"
"  --rf-limit             also fit the limit of infinitely many features (the\n"
"                         kernel they sample, minimum-norm interpolation)\n"
"Training:\n"
"  --steps N              transformer optimiser steps (default 300)\n"
"  --epochs E             or E passes over each point's training text\n"
"  --batch N              sequences per step (default 8)\n"
"  --lr X                 peak learning rate (default the trainer's)\n"
"  --weight-decay X       AdamW weight decay (default 0)\n"
"  --label-noise P        replace a fraction P in [0, 1] of the training\n"
"                         targets by uniform random tokens (seeded; the\n"
"                         held-out text is never corrupted)\n"
"  --curve-points N       held-out evaluations per run (default 20)\n"
"  --eval-tokens N        tokens per evaluation (default 16384; 0: all)\n"
"  --interp-tol X         the interpolation threshold is the smallest size from\n"
"                         which the training loss stays within X of its descent\n"
"                         above its floor (the lowest in the grid; default 0.02)\n"
"  --retrain              train every point again even if one can be reused\n"
"Common:\n"
"  -j, --jobs N           trainings at once (default: one per core, at most 2)\n"
"  -s, --seed S           seed of every training (default 1)\n"
"  --threads N            threads in all, shared by the jobs\n"
"  --json                 print the JSON report on stdout instead of Markdown\n"
"  -q, --quiet            no progress on stderr\n"
"  -h, --help             show this help\n";

/* A list of positive integers: "8,16,32", or "LO..HI" where ranges are
 * allowed; an empty string is an empty list (sweep_check then says so). */
static int
sweep_parse_u32(const char *s, uint32_t *out, size_t *n, int ranges)
{
	const char *dots = strstr(s, "..");
	char       *end;

	*n = 0;
	if (ranges && dots != NULL) {
		long lo = strtol(s, &end, 10), hi;
		if (end != dots || end == s)
			return -1;
		hi = strtol(dots + 2, &end, 10);
		if (*end != '\0' || end == dots + 2 || lo < 1 || lo > hi || hi - lo >= SWEEP_MAX_AXIS)
			return -1;
		for (long k = lo; k <= hi; k++)
			out[(*n)++] = (uint32_t)k;
		return 0;
	}
	while (*s) {
		long v = strtol(s, &end, 10);
		if (end == s || v < 1 || v > 1L << 24 || *n >= SWEEP_MAX_AXIS ||
		    (*end != ',' && *end != '\0'))
			return -1;
		out[(*n)++] = (uint32_t)v;
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

static int
sweep_parse_fractions(const char *s, double *out, size_t *n)
{
	char *end;

	*n = 0;
	while (*s) {
		double v = strtod(s, &end);
		if (end == s || *n >= SWEEP_MAX_AXIS || (*end != ',' && *end != '\0'))
			return -1;
		out[(*n)++] = v;   /* the range is sweep_check's */
		s = *end == ',' ? end + 1 : end;
	}
	return 0;
}

enum {
	O_VALFRAC = 256, O_VAL, O_VOCABSIZE, O_FRACTIONS, O_MODEL, O_WIDTHS, O_DEPTHS, O_HEADS,
	O_CONTEXT, O_ORDERS, O_FEATURES, O_RFCONTEXT, O_RFEMBED, O_RFFOURIER, O_STEPS, O_EPOCHS,
	O_BATCH, O_LR, O_WD, O_NOISE, O_CURVE, O_EVALTOK, O_INTERP, O_RETRAIN, O_THREADS, O_JSON,
	O_RFLIMIT,
};

static int
sweep_options(int argc, char **argv, struct sweep_cfg *cf, struct cli_common *common)
{
	static const struct option longopts[] = {
		{ "out",          required_argument, NULL, 'o' },
		{ "val-fraction", required_argument, NULL, O_VALFRAC },
		{ "val",          required_argument, NULL, O_VAL },
		{ "vocab",        required_argument, NULL, 't' },
		{ "vocab-size",   required_argument, NULL, O_VOCABSIZE },
		{ "fractions",    required_argument, NULL, O_FRACTIONS },
		{ "model",        required_argument, NULL, O_MODEL },
		{ "widths",       required_argument, NULL, O_WIDTHS },
		{ "depths",       required_argument, NULL, O_DEPTHS },
		{ "heads",        required_argument, NULL, O_HEADS },
		{ "context",      required_argument, NULL, O_CONTEXT },
		{ "orders",       required_argument, NULL, O_ORDERS },
		{ "features",     required_argument, NULL, O_FEATURES },
		{ "rf-context",   required_argument, NULL, O_RFCONTEXT },
		{ "rf-embed",     required_argument, NULL, O_RFEMBED },
		{ "rf-fourier",   no_argument,       NULL, O_RFFOURIER },
		{ "rf-limit",     no_argument,       NULL, O_RFLIMIT },
		{ "steps",        required_argument, NULL, O_STEPS },
		{ "epochs",       required_argument, NULL, O_EPOCHS },
		{ "batch",        required_argument, NULL, O_BATCH },
		{ "lr",           required_argument, NULL, O_LR },
		{ "weight-decay", required_argument, NULL, O_WD },
		{ "label-noise",  required_argument, NULL, O_NOISE },
		{ "curve-points", required_argument, NULL, O_CURVE },
		{ "eval-tokens",  required_argument, NULL, O_EVALTOK },
		{ "interp-tol",   required_argument, NULL, O_INTERP },
		{ "retrain",      no_argument,       NULL, O_RETRAIN },
		{ "jobs",         required_argument, NULL, 'j' },
		{ "seed",         required_argument, NULL, 's' },
		{ "threads",      required_argument, NULL, O_THREADS },
		{ "json",         no_argument,       NULL, O_JSON },
		{ "quiet",        no_argument,       NULL, 'q' },
		{ "help",         no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "sweep";
	uint64_t    v;
	int         c, rc = 0, given_steps = 0;

	while ((c = cli_getopt(argc, argv, "o:t:j:s:qh", longopts, cmd)) != -1) {
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
		case O_FRACTIONS:
			if (sweep_parse_fractions(optarg, cf->fractions, &cf->nfractions) != 0)
				rc = cli_usage(cmd, "--fractions: '%s' is not a list of fractions in "
				    "(0, 1] (e.g. 0.25,0.5,1)", optarg);
			break;
		case O_MODEL:
			if (strcmp(optarg, "transformer") == 0)
				cf->model = SWEEP_TRANSFORMER;
			else if (strcmp(optarg, "ngram") == 0)
				cf->model = SWEEP_NGRAM;
			else if (strcmp(optarg, "rf") == 0)
				cf->model = SWEEP_RF;
			else
				rc = cli_usage(cmd, "--model: '%s' is not transformer, ngram or rf", optarg);
			break;
		case O_WIDTHS:
		case O_DEPTHS:
		case O_ORDERS:
		case O_FEATURES: {
			uint32_t *list = c == O_WIDTHS ? cf->widths : c == O_DEPTHS ? cf->depths :
			    c == O_ORDERS ? cf->orders : cf->features;
			size_t   *n = c == O_WIDTHS ? &cf->nwidths : c == O_DEPTHS ? &cf->ndepths :
			    c == O_ORDERS ? &cf->norders : &cf->nfeatures;
			if (sweep_parse_u32(optarg, list, n, c == O_ORDERS) != 0)
				rc = cli_usage(cmd, "%s: '%s' is not a list of at most %d positive "
				    "integers (e.g. 8,16,32%s)", c == O_WIDTHS ? "--widths" :
				    c == O_DEPTHS ? "--depths" : c == O_ORDERS ? "--orders" : "--features",
				    optarg, SWEEP_MAX_AXIS, c == O_ORDERS ? " or 1..5" : "");
			break;
		}
		case O_HEADS:
			if ((rc = cli_u64(cmd, "--heads", optarg, 1, 1024, &v)) == 0)
				cf->heads = (uint32_t)v;
			break;
		case O_CONTEXT:
			if ((rc = cli_u64(cmd, "--context", optarg, 2, 65536, &v)) == 0)
				cf->context = (uint32_t)v;
			break;
		case O_RFCONTEXT:
			if ((rc = cli_u64(cmd, "--rf-context", optarg, 1, 1024, &v)) == 0)
				cf->rf_context = (uint32_t)v;
			break;
		case O_RFEMBED:
			if ((rc = cli_u64(cmd, "--rf-embed", optarg, 0, 65536, &v)) == 0)
				cf->rf_embed = (uint32_t)v;
			break;
		case O_RFFOURIER: cf->rf_fourier = 1; break;
		case O_RFLIMIT: cf->rf_limit = 1; break;
		case O_STEPS:
			rc = cli_u64(cmd, "--steps", optarg, 1, 1u << 30, &cf->steps);
			given_steps = 1;
			break;
		case O_EPOCHS: rc = cli_double(cmd, "--epochs", optarg, 1e-3, 1e6, &cf->epochs); break;
		case O_BATCH:
			if ((rc = cli_u64(cmd, "--batch", optarg, 1, 4096, &v)) == 0)
				cf->batch = (uint32_t)v;
			break;
		case O_LR: rc = cli_double(cmd, "--lr", optarg, 1e-8, 10, &cf->lr); break;
		case O_WD: rc = cli_double(cmd, "--weight-decay", optarg, 0, 10, &cf->weight_decay); break;
		case O_NOISE:
			rc = cli_double(cmd, "--label-noise", optarg, 0, 1, &cf->label_noise);
			break;
		case O_CURVE:
			if ((rc = cli_u64(cmd, "--curve-points", optarg, 1, 10000, &v)) == 0)
				cf->curve_points = (uint32_t)v;
			break;
		case O_EVALTOK:
			rc = cli_u64(cmd, "--eval-tokens", optarg, 0, UINT64_MAX / 4, &cf->eval_tokens);
			break;
		case O_INTERP:
			rc = cli_double(cmd, "--interp-tol", optarg, 1e-12, 1, &cf->interp_tol);
			break;
		case O_RETRAIN: cf->retrain = 1; break;
		case 'j':
			if ((rc = cli_u64(cmd, "--jobs", optarg, 1, 64, &v)) == 0)
				cf->jobs = (int)v;
			break;
		case 's': rc = cli_u64(cmd, "--seed", optarg, 0, UINT64_MAX, &cf->seed); break;
		case O_THREADS:
			if ((rc = cli_u64(cmd, "--threads", optarg, 1, 1024, &v)) == 0)
				common->threads = (int)v;
			break;
		case O_JSON: common->json = 1; break;
		case 'q': common->quiet = 1; break;
		case 'h': cli_help(sweep_help); return -1;
		default: return CLI_EXIT_USAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage(cmd, "no corpus: give one or more FILEs");
	if (given_steps && cf->epochs > 0)
		return cli_usage(cmd, "give --steps or --epochs, not both");
	if (cf->val != NULL && cf->val_fraction > 0)
		return cli_usage(cmd, "give --val FILE or --val-fraction, not both");
	if (cf->vocab != NULL && cf->vocab_size > 0)
		return cli_usage(cmd, "--vocab-size is for the tokenizer trained here; with -t the "
		    "vocabulary is given");
	return 0;
}

/* ---- hooks: what the engine reports while it works ------------------------------- */

static void
sweep_on_stage(void *ctx, const char *what)
{
	(void)ctx;
	fprintf(stderr, "sweep: %s\n", what);
}

static struct ad_progress *
sweep_on_progress(void *ctx, const char *label, uint64_t total, const char *unit)
{
	return cli_progress(ctx, label, total, unit);
}

/* An axis not given takes its default. */
static void
sweep_default(uint32_t *list, size_t *n, const uint32_t *def, size_t ndef, int given)
{
	if (given)
		return;
	memcpy(list, def, ndef * sizeof *def);
	*n = ndef;
}

int
cmd_sweep(int argc, char **argv)
{
	static const uint32_t widths[] = { 8, 16, 32, 64 }, depths[] = { 1 },
	                      orders[] = { 1, 2, 3, 4, 5 }, features[] = { 64, 128, 256, 512, 1024 };
	struct sweep_cfg    cfg = { .out = "sweep-out", .heads = 2, .context = 32, .batch = 8,
	                            .curve_points = 20, .eval_tokens = 16384, .rf_context = 2,
	                            .rf_embed = 16, .seed = 1 };
	struct cli_common   common = { 0 };
	struct ad_error     err = { 0 };
	struct sweep_report rep = { 0 };
	const char         *self;
	int                 rc, status, ncores = 1;
	size_t              given[4];

	/* SIZE_MAX marks an axis not given (an empty list is a given, empty axis). */
	cfg.nwidths = cfg.ndepths = cfg.norders = cfg.nfeatures = cfg.nfractions = SIZE_MAX;
	if ((rc = sweep_options(argc, argv, &cfg, &common)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	given[0] = cfg.nwidths != SIZE_MAX;
	given[1] = cfg.ndepths != SIZE_MAX;
	given[2] = cfg.norders != SIZE_MAX;
	given[3] = cfg.nfeatures != SIZE_MAX;
	sweep_default(cfg.widths, &cfg.nwidths, widths, 4, (int)given[0]);
	sweep_default(cfg.depths, &cfg.ndepths, depths, 1, (int)given[1]);
	sweep_default(cfg.orders, &cfg.norders, orders, 5, (int)given[2]);
	sweep_default(cfg.features, &cfg.nfeatures, features, 5, (int)given[3]);
	if (cfg.nfractions == SIZE_MAX) {   /* the whole training split */
		cfg.fractions[0] = 1;
		cfg.nfractions = 1;
	}
	if (cfg.val == NULL && cfg.val_fraction == 0)
		cfg.val_fraction = 0.1;
	if (cfg.vocab == NULL && cfg.vocab_size == 0)
		cfg.vocab_size = 1024;
	if (cfg.steps == 0 && cfg.epochs == 0)
		cfg.steps = 300;
#ifdef _OPENMP
	ncores = omp_get_num_procs();
#endif
	/* Small models train faster side by side, one thread each, than one
	 * at a time on two threads (sweep.c says why). */
	if (cfg.jobs == 0)
		cfg.jobs = ncores >= 2 ? 2 : 1;
	cfg.files = (const char *const *)argv + optind;
	cfg.nfiles = (size_t)(argc - optind);
	cfg.threads = common.threads;
	cfg.quiet = 1;
	self = getenv("AUTODIDACT_SELF");
	cfg.self = self != NULL && *self != '\0' ? self : "/proc/self/exe";
	cfg.hook_ctx = &common;
	if (!common.quiet)
		cfg.on_stage = sweep_on_stage;
	cfg.on_progress = sweep_on_progress;
	cli_apply_threads(&common);

	if (sweep_run(&cfg, &rep, &err) != 0 || sweep_report_save(&rep, cfg.out, &err) != 0) {
		sweep_report_free(&rep);
		return cli_fail(&err);
	}
	if (common.json) {
		sweep_write_json(&rep, stdout);
	} else {
		sweep_write_markdown(&rep, stdout);
		printf("\nThe report is in %s/sweep.md, %s/sweep.html and %s/sweep.json.\n", cfg.out,
		    cfg.out, cfg.out);
	}
	status = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the report");
	sweep_report_free(&rep);
	return status;
}
