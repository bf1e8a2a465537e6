/*
 * cmd_train_transformer.c — "autodidact train transformer": train a GPT-2
 * style model on the causal next-token objective or the masked one, with
 * checkpoints, resume, validation, a progress bar and a metrics log.
 *
 * All checks that can fail (options, configuration, memory, data size) run
 * before the first step. The loop is the library's (nn_train_run in
 * src/nn/loop.c); this file gives it the options and the hooks that print
 * the progress and the log, write checkpoints and pass on SIGINT/SIGTERM
 * (main.c's handler sets the flag the stop hook reads between steps): a
 * signal writes a checkpoint and the model and stops. A NaN or infinite
 * loss stops without writing, so the last good checkpoint stays.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/io.h"
#include "cli/cli.h"
#include "data/data.h"
#include "nn/dist.h"
#include "nn/nn.h"
#include "bpe/bpe.h"

static const char tt_help[] =
"usage: autodidact train transformer (-t VOCAB | --bytes) -o MODEL [OPTIONS] FILE...\n"
"       autodidact train transformer --resume CHECKPOINT -o MODEL [OPTIONS] FILE...\n"
"\n"
"Train a GPT-2 style transformer on the causal next-token objective (or the\n"
"masked one) over the token stream of FILE... (the newline is an ordinary\n"
"token). A held-out part of the text is evaluated every --val-every steps.\n"
"\n"
"Tokens:\n"
"  -t, --vocab VOCAB      a BPE vocabulary ('autodidact tokenize train'); it is\n"
"                         embedded in the model file (--tokenizer: the same)\n"
"  --bytes                byte-level tokens (256 ids), no vocabulary\n"
"Model:\n"
"  --preset NAME          tiny, small (default) or base: see the man page\n"
"  --layers N             blocks (overrides the preset)\n"
"  --heads N              attention heads; must divide --dim\n"
"  --dim N                width (channels)\n"
"  --context N            context length in tokens\n"
"  --objective NAME       causal (default): predict each next token; masked:\n"
"                         predict hidden tokens from both sides (BERT's)\n"
"  --mask-rate X          masked: the fraction of tokens hidden (default 0.15)\n"
"  --whole-word           masked: hide whole words (X is then of the words)\n"
"Training:\n"
"  --steps N              optimiser steps (default 1000); the cosine schedule\n"
"                         ends here\n"
"  --time-budget S        stop after S seconds of training (a resumed run's\n"
"                         sessions together); without --steps the schedule is\n"
"                         fitted to the budget from the speed of the first\n"
"                         steps, and refitted as the speed changes\n"
"  --batch N              sequences per batch (default 8)\n"
"  --accum N              batches per optimiser step (default 1)\n"
"  --lr X                 peak learning rate (default 0.001)\n"
"  --min-lr X             final learning rate (default lr / 10)\n"
"  --warmup N             linear warmup steps (default steps / 20, at most 200)\n"
"  --weight-decay X       AdamW decoupled weight decay (default 0.1)\n"
"  --clip X               clip the global gradient norm to X (default 1; 0: off)\n"
"  --seed S               random seed for initialisation and batches (default 1)\n"
"  --label-noise P        replace a fraction P of the training targets by tokens\n"
"                         drawn uniformly (seeded by --seed; causal objective;\n"
"                         the inputs and the held-out text stay clean)\n"
"  --threads N            threads (default: all cores); results do not depend on it\n"
"  --precision P          fp32 (default) or bf16: the linear layers' products in\n"
"                         bf16 with fp32 sums, where the CPU has AVX512-BF16\n"
"Held-out text:\n"
"  --val-fraction F       hold out the last F of each file (default 0.05)\n"
"  --val FILE             hold out FILE instead\n"
"  --val-every N          evaluate every N steps (default 100; 0: at the end only)\n"
"  --val-tokens N         evaluate at most N tokens (default 65536; 0: all)\n"
"  --eval-train           with each held-out evaluation, also the training loss\n"
"                         on the first --val-tokens training tokens (their\n"
"                         noisy targets under --label-noise); logged as\n"
"                         train_loss in a JSON Lines log\n"
"Files:\n"
"  -o, --output MODEL     the model to write\n"
"  --checkpoint FILE      checkpoint path (default MODEL.ckpt)\n"
"  --checkpoint-every N   write a checkpoint every N steps (default 200; 0: only\n"
"                         at the end and on a signal)\n"
"  --resume FILE          continue the run saved in a checkpoint, bit-identically\n"
"                         (--lr, --min-lr, --warmup, --weight-decay and --clip\n"
"                         may be changed, e.g. after a divergence)\n"
"  --stop-at N            stop after step N as if interrupted (to train in sessions)\n"
"  --log FILE             metrics log: CSV, or JSON Lines if FILE ends in .jsonl\n"
"  -q, --quiet            no progress on stderr\n"
"  -h, --help             show this help\n";

/* The planned steps of a run fitted to a time budget before its first fit
 * (nn_budget_update's ceiling): what a checkpoint written that early holds. */
#define TT_STEPS_UNFITTED (UINT64_MAX / 8)

enum {
	O_BYTES = 256, O_PRESET, O_LAYERS, O_HEADS, O_DIM, O_CONTEXT, O_STEPS, O_BUDGET,
	O_BATCH, O_ACCUM, O_LR, O_MINLR, O_WARMUP, O_WD, O_CLIP, O_SEED, O_THREADS,
	O_VALFRAC, O_VAL, O_VALEVERY, O_VALTOK, O_CKPT, O_CKPTEVERY, O_RESUME, O_LOG, O_STOPAT,
	O_OBJECTIVE, O_MASKRATE, O_WHOLEWORD, O_PRECISION, O_NOISE, O_EVALTRAIN,
};

struct tt_opts {
	const char *vocab, *output, *preset, *val, *ckpt, *resume, *log, *objective;
	int         bytes, quiet, whole_word, eval_train;
	double      mask_rate, label_noise;
	uint64_t    layers, heads, dim, context, steps, batch, accum, warmup, seed, threads;
	uint64_t    val_every, val_tokens, ckpt_every, stop_at;
	double      budget, lr, min_lr, wd, clip, val_frac;
	int         given_model, given_train, given_steps, given_minlr, given_warmup;
	int         given_lr, given_wd, given_clip, given_valfrac, given_mask, given_precision;
	enum nn_precision precision;
};

static int
tt_parse(int argc, char **argv, struct tt_opts *o)
{
	static const struct option longopts[] = {
		{ "vocab", required_argument, NULL, 't' },
		{ "tokenizer", required_argument, NULL, 't' },   /* an alias */
		{ "bytes", no_argument, NULL, O_BYTES },
		{ "output", required_argument, NULL, 'o' },
		{ "preset", required_argument, NULL, O_PRESET },
		{ "layers", required_argument, NULL, O_LAYERS },
		{ "heads", required_argument, NULL, O_HEADS },
		{ "dim", required_argument, NULL, O_DIM },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "steps", required_argument, NULL, O_STEPS },
		{ "time-budget", required_argument, NULL, O_BUDGET },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "accum", required_argument, NULL, O_ACCUM },
		{ "lr", required_argument, NULL, O_LR },
		{ "min-lr", required_argument, NULL, O_MINLR },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "weight-decay", required_argument, NULL, O_WD },
		{ "clip", required_argument, NULL, O_CLIP },
		{ "seed", required_argument, NULL, O_SEED },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "val-fraction", required_argument, NULL, O_VALFRAC },
		{ "val", required_argument, NULL, O_VAL },
		{ "val-every", required_argument, NULL, O_VALEVERY },
		{ "val-tokens", required_argument, NULL, O_VALTOK },
		{ "checkpoint", required_argument, NULL, O_CKPT },
		{ "checkpoint-every", required_argument, NULL, O_CKPTEVERY },
		{ "resume", required_argument, NULL, O_RESUME },
		{ "log", required_argument, NULL, O_LOG },
		{ "stop-at", required_argument, NULL, O_STOPAT },
		{ "objective", required_argument, NULL, O_OBJECTIVE },
		{ "mask-rate", required_argument, NULL, O_MASKRATE },
		{ "whole-word", no_argument, NULL, O_WHOLEWORD },
		{ "precision", required_argument, NULL, O_PRECISION },
		{ "label-noise", required_argument, NULL, O_NOISE },
		{ "eval-train", no_argument, NULL, O_EVALTRAIN },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = "train transformer";
	int         c, rc = 0;

	while ((c = cli_getopt(argc, argv, "t:o:qh", longopts, cmd)) != -1) {
		switch (c) {
		case 't': o->vocab = optarg; break;
		case O_BYTES: o->bytes = 1; break;
		case 'o': o->output = optarg; break;
		case O_PRESET: o->preset = optarg; o->given_model = 1; break;
		case O_LAYERS:
			rc = cli_u64(cmd, "--layers", optarg, 1, 256, &o->layers);
			o->given_model = 1;
			break;
		case O_HEADS:
			rc = cli_u64(cmd, "--heads", optarg, 1, 1024, &o->heads);
			o->given_model = 1;
			break;
		case O_DIM:
			rc = cli_u64(cmd, "--dim", optarg, 1, 16384, &o->dim);
			o->given_model = 1;
			break;
		case O_CONTEXT:
			rc = cli_u64(cmd, "--context", optarg, 2, 65536, &o->context);
			o->given_model = 1;
			break;
		case O_STEPS:
			rc = cli_u64(cmd, "--steps", optarg, 1, UINT64_MAX / 4, &o->steps);
			o->given_steps = 1;
			break;
		case O_BUDGET: rc = cli_double(cmd, "--time-budget", optarg, 1e-3, 1e9, &o->budget); break;
		case O_BATCH:
			rc = cli_u64(cmd, "--batch", optarg, 1, 1u << 20, &o->batch);
			o->given_train = 1;
			break;
		case O_ACCUM:
			rc = cli_u64(cmd, "--accum", optarg, 1, 1u << 20, &o->accum);
			o->given_train = 1;
			break;
		case O_LR:
			rc = cli_double(cmd, "--lr", optarg, 1e-12, 10, &o->lr);
			o->given_lr = 1;
			break;
		case O_MINLR:
			rc = cli_double(cmd, "--min-lr", optarg, 0, 10, &o->min_lr);
			o->given_minlr = 1;
			break;
		case O_WARMUP:
			rc = cli_u64(cmd, "--warmup", optarg, 0, UINT64_MAX / 4, &o->warmup);
			o->given_warmup = 1;
			break;
		case O_WD:
			rc = cli_double(cmd, "--weight-decay", optarg, 0, 10, &o->wd);
			o->given_wd = 1;
			break;
		case O_CLIP:
			rc = cli_double(cmd, "--clip", optarg, 0, 1e9, &o->clip);
			o->given_clip = 1;
			break;
		case O_SEED:
			rc = cli_u64(cmd, "--seed", optarg, 0, UINT64_MAX, &o->seed);
			o->given_train = 1;
			break;
		case O_THREADS: rc = cli_u64(cmd, "--threads", optarg, 1, 1024, &o->threads); break;
		case O_PRECISION:
			if (nn_precision_parse(optarg, &o->precision) != 0)
				return cli_usage(cmd, "--precision: '%s' is not fp32 or bf16", optarg);
			o->given_precision = 1;
			break;
		case O_VALFRAC:
			rc = cli_double(cmd, "--val-fraction", optarg, 0, 0.9, &o->val_frac);
			o->given_valfrac = 1;
			break;
		case O_VAL: o->val = optarg; break;
		case O_VALEVERY: rc = cli_u64(cmd, "--val-every", optarg, 0, UINT64_MAX / 4, &o->val_every); break;
		case O_VALTOK: rc = cli_u64(cmd, "--val-tokens", optarg, 0, UINT64_MAX / 4, &o->val_tokens); break;
		case O_CKPT: o->ckpt = optarg; break;
		case O_CKPTEVERY: rc = cli_u64(cmd, "--checkpoint-every", optarg, 0, UINT64_MAX / 4, &o->ckpt_every); break;
		case O_RESUME: o->resume = optarg; break;
		case O_LOG: o->log = optarg; break;
		case O_STOPAT: rc = cli_u64(cmd, "--stop-at", optarg, 1, UINT64_MAX / 4, &o->stop_at); break;
		case O_OBJECTIVE: o->objective = optarg; break;
		case O_MASKRATE:
			rc = cli_double(cmd, "--mask-rate", optarg, 1e-6, 1, &o->mask_rate);
			o->given_mask = 1;
			break;
		case O_WHOLEWORD: o->whole_word = 1; o->given_mask = 1; break;
		case O_NOISE:
			rc = cli_double(cmd, "--label-noise", optarg, 0, 1, &o->label_noise);
			break;
		case O_EVALTRAIN: o->eval_train = 1; break;
		case 'q': o->quiet = 1; break;
		case 'h': return -1;
		default: return CLI_EXIT_USAGE;
		}
		if (rc != 0)
			return rc;
	}
	if (optind >= argc)
		return cli_usage(cmd, "no training text: give one or more FILEs");
	if (o->output == NULL)
		return cli_usage(cmd, "no output: give -o MODEL");
	if (o->objective != NULL && strcmp(o->objective, "causal") != 0 &&
	    strcmp(o->objective, "masked") != 0)
		return cli_usage(cmd, "--objective: '%s' is not an objective (causal, masked)",
		    o->objective);
	if (o->given_mask && o->resume == NULL &&
	    (o->objective == NULL || strcmp(o->objective, "masked") != 0))
		return cli_usage(cmd, "--mask-rate and --whole-word are options of --objective "
		    "masked");
	if (o->resume != NULL) {
		if (o->given_model || o->given_train || o->bytes || o->vocab != NULL ||
		    o->objective != NULL || o->given_mask)
			return cli_usage(cmd, "--resume continues with the model, objective, tokenizer, "
			    "batch and seed stored in the checkpoint: give only --steps, --time-budget, --threads, "
			    "the optimiser's --lr, --min-lr, --warmup, --weight-decay and --clip, "
			    "validation, file and log options with it");
	} else {
		if ((o->vocab == NULL) == (o->bytes == 0))
			return cli_usage(cmd, "give either -t VOCAB or --bytes");
	}
	if (o->val != NULL && o->given_valfrac)
		return cli_usage(cmd, "give --val FILE or --val-fraction, not both");
	return 0;
}

/* The metrics log: one line per step, CSV or JSON Lines. */
struct tt_log {
	FILE *f;
	int   jsonl;
};

static void
tt_log_line(struct tt_log *lg, uint64_t step, double loss, double val, double train_val,
    double lr, double norm, double tps, double elapsed)
{
	if (lg->f == NULL)
		return;
	if (lg->jsonl) {
		fprintf(lg->f, "{\"step\":%llu,\"loss\":%.6f,\"val_loss\":", (unsigned long long)step,
		    loss);
		if (isnan(val))
			fputs("null", lg->f);
		else
			fprintf(lg->f, "%.6f", val);
		if (!isnan(train_val))   /* --eval-train */
			fprintf(lg->f, ",\"train_loss\":%.6f", train_val);
		fprintf(lg->f, ",\"lr\":%.6g,\"grad_norm\":%.6g,\"tokens_per_s\":%.1f,"
		    "\"elapsed\":%.3f}\n", lr, norm, tps, elapsed);
	} else {
		fprintf(lg->f, "%llu,%.6f,", (unsigned long long)step, loss);
		if (!isnan(val))
			fprintf(lg->f, "%.6f", val);
		fprintf(lg->f, ",%.6g,%.6g,%.1f,%.3f\n", lr, norm, tps, elapsed);
	}
	fflush(lg->f);
}

/* What the run's hooks reach: the log, the progress bar, the checkpoint. */
struct tt_run {
	struct tt_log       lg;
	struct ad_progress *prog;
	double              tps_avg;   /* smoothed tokens/s for the progress line */
	struct nn_file     *nf;
	const char         *ckpt;
};

static void
tt_on_step(void *ctx, const struct nn_run_step *s)
{
	struct tt_run *t = ctx;

	t->tps_avg = t->tps_avg == 0 ? s->tokens_per_s : 0.9 * t->tps_avg + 0.1 * s->tokens_per_s;
	if (s->refit)
		ad_progress_set_total(t->prog, s->steps);
	tt_log_line(&t->lg, s->step, s->loss, s->val, s->train_val, s->lr, s->grad_norm,
	    s->tokens_per_s, s->elapsed);
	if (isnan(s->last_val))   /* no held-out pass yet */
		ad_progress_note(t->prog, "loss %.3f  val -  %.0f tok/s", s->loss, t->tps_avg);
	else
		ad_progress_note(t->prog, "loss %.3f  val %.3f  %.0f tok/s", s->loss, s->last_val,
		    t->tps_avg);
	ad_progress_update(t->prog, s->step);
}

static int
tt_on_checkpoint(void *ctx, const struct nn_trainer *tr, struct ad_error *e)
{
	struct tt_run *t = ctx;

	t->nf->train = tr->st;
	return nn_save(t->ckpt, t->nf, tr->g, tr->opt, e);
}

/* SIGINT and SIGTERM set the flag (main.c's handler); the loop polls it. */
static int
tt_on_stop(void *ctx)
{
	(void)ctx;
	return ad_interrupted();
}

int
cmd_train_transformer(int argc, char **argv)
{
	struct tt_opts o = {
		.preset = "small", .steps = 1000, .batch = 8, .accum = 1, .lr = 1e-3, .wd = 0.1,
		.mask_rate = 0.15,
		.clip = 1.0, .seed = 1, .val_frac = 0.05, .val_every = 100, .val_tokens = 65536,
		.ckpt_every = 200,
	};
	const char           *cmd = "train transformer";
	struct ad_error       err = { 0 };
	struct bpe           *bpe = NULL;
	struct data_split     split = { 0 };
	struct gpt           *g = NULL;
	struct adamw         *opt = NULL;
	struct nn_trainer    *tr = NULL;
	struct nn_file        nf = { 0 };
	struct nn_train_state st = { 0 };
	struct nn_train_options to = { 0 };
	struct ad_map         rmap = { 0 };
	struct tt_run         run = { { NULL, 0 }, NULL, 0, &nf, NULL };
	struct nn_run_config  rcfg = { 0 };
	struct nn_run_hooks   hooks = { &run, tt_on_step, tt_on_checkpoint, tt_on_stop, NULL };
	struct nn_run_result  res;
	struct cli_common     common = { 0 };
	uint32_t             *train = NULL, *val = NULL, *noisy = NULL;
	size_t                ntrain = 0, nval = 0, cap = 0;
	char                 *tokblob = NULL, *ckpt_path = NULL;
	size_t                toklen = 0;
	int                   rc, status = CLI_EXIT_FAIL, mapped = 0, clean = 0;
	uint64_t              phash;
	struct nn_dist        dist;   /* the MPI job (one process without mpirun) */
	struct nn_dist_config dcfg;
	const struct nn_objective *obj = &nn_objective_causal;
	struct nn_objective   mobj;        /* the masked objective with this run's recipe */
	uint8_t              *wclass = NULL;   /* (V) word classes for --whole-word */
	const char           *saved_path = NULL;   /* the last good checkpoint, and its step */
	uint64_t              saved_step = 0;

	if ((rc = tt_parse(argc, argv, &o)) != 0)
		return rc < 0 ? cli_help(tt_help) : rc;
	/* Under mpirun: only rank 0 reports, and each rank takes its share of cores. */
	if (cli_dist_config(&dcfg, &err) != 0 || nn_dist_init(&dist, &dcfg, &err) != 0)
		return cli_fail(&err);
	if (dist.rank != 0)
		o.quiet = 1;
	if (o.threads == 0)
		o.threads = (uint64_t)nn_dist_default_threads(&dist);
	common.quiet = o.quiet;
	common.threads = (int)o.threads;
	cli_apply_threads(&common);
	if (o.ckpt == NULL) {
		size_t n = strlen(o.output) + 6;
		if ((ckpt_path = ad_malloc(n)) == NULL) {
			status = cli_failf("out of memory");
			goto out;
		}
		snprintf(ckpt_path, n, "%s.ckpt", o.output);
		o.ckpt = ckpt_path;
	}
	run.ckpt = o.ckpt;
	to.steps = o.steps;
	to.seed = o.seed;
	to.accum = (uint32_t)o.accum;
	to.warmup = o.warmup;
	to.lr = o.lr;
	to.min_lr = o.min_lr;
	to.weight_decay = o.wd;
	to.clip = o.clip;
	to.precision = o.precision;
	to.given = (o.given_steps ? NN_GIVEN_STEPS : 0) | (o.given_lr ? NN_GIVEN_LR : 0) |
	    (o.given_minlr ? NN_GIVEN_MIN_LR : 0) | (o.given_warmup ? NN_GIVEN_WARMUP : 0) |
	    (o.given_wd ? NN_GIVEN_WD : 0) | (o.given_clip ? NN_GIVEN_CLIP : 0);

	/* 1. The model and its tokenizer: fresh, or from the checkpoint. */
	if (o.resume != NULL) {
		if ((rc = ad_map_file(o.resume, &rmap, &err)) != 0)
			goto fail;
		mapped = 1;
		if ((rc = nn_load(rmap.data, rmap.size, o.resume, &nf, &g, &opt, &err)) != 0)
			goto fail;
		if (!nf.has_train) {
			ad_fail(&err, AD_EINVAL, "%s: a finished model, not a checkpoint: resume from "
			    "the .ckpt file written beside it", o.resume);
			goto fail;
		}
		st = nf.train;
		saved_path = o.resume;
		saved_step = st.step;
		if (nf.tok_kind == NN_TOK_BPE &&
		    (rc = bpe_parse(&bpe, nf.tok_blob, nf.tok_len, o.resume, &err)) != 0)
			goto fail;
		if (nf.tok_len > 0) {
			if ((tokblob = ad_malloc(nf.tok_len)) == NULL) {
				ad_fail(&err, AD_ENOMEM, "out of memory");
				goto fail;
			}
			memcpy(tokblob, nf.tok_blob, nf.tok_len);
			toklen = nf.tok_len;
		}
		/* The optimiser's options may change on resume (after a divergence,
		 * say): from this step on, the schedule and the updates use them. */
		if (nn_train_state_override(&st, &to) && !o.quiet)
			fprintf(stderr, "autodidact: resuming at step %llu with lr %g, min-lr %g, "
			    "warmup %llu, weight decay %g, clip %g: changed options, so the run "
			    "is no longer the same as one that was not interrupted\n",
			    (unsigned long long)st.step, st.lr, st.min_lr,
			    (unsigned long long)st.warmup, st.weight_decay, st.clip);
		opt->cfg = nn_train_adamw_config(&st);
		if (o.given_precision && o.precision != (enum nn_precision)st.precision) {
			status = cli_usage(cmd, "--precision %s: %s was trained in %s; a resumed run "
			    "keeps its precision (give no --precision)", nn_precision_name(o.precision),
			    o.resume, nn_precision_name((enum nn_precision)st.precision));
			goto out;
		}
		if ((obj = nn_objective_find(st.objective)) == NULL) {
			ad_fail(&err, AD_EFORMAT, "%s: trained on the objective '%s', which this build "
			    "does not know", o.resume, st.objective);
			goto fail;
		}
		o.mask_rate = nf.mask_rate;
		o.whole_word = nf.whole_word;
	} else {
		struct gpt_config cfg = { 0 };
		struct ad_rng     init;

		if (gpt_preset(o.preset, &cfg) != 0) {
			status = cli_usage(cmd, "--preset: '%s' is not a preset (%s)", o.preset,
			    gpt_preset_list());
			goto out;
		}
		if (o.layers) cfg.L = (uint32_t)o.layers;
		if (o.heads) cfg.NH = (uint32_t)o.heads;
		if (o.dim) cfg.C = (uint32_t)o.dim;
		if (o.context) cfg.T = (uint32_t)o.context;
		if (o.vocab != NULL) {
			if ((rc = bpe_load(&bpe, o.vocab, &err)) != 0 ||
			    (rc = bpe_serialize(bpe, &tokblob, &toklen, &err)) != 0)
				goto fail;
			cfg.V = bpe_vocab_size(bpe);
			nf.tok_kind = NN_TOK_BPE;
			nf.tok_identity = bpe_identity(bpe);
		} else {
			cfg.V = 256;
			nf.tok_kind = NN_TOK_BYTES;
		}
		if (o.objective != NULL && strcmp(o.objective, "masked") == 0) {
			obj = &nn_objective_masked;
			nf.masked = 1;
			nf.mask_rate = o.mask_rate;
			nf.whole_word = o.whole_word;
		}
		cfg.Vin = cfg.V + 1 + (uint32_t)nf.masked;   /* BOS, and MASK */
		if ((rc = gpt_config_check(&cfg, &err)) != 0) {
			fprintf(stderr, "autodidact %s: %s (try 'autodidact %s --help')\n", cmd, err.msg,
			    cmd);
			status = CLI_EXIT_USAGE;
			goto out;
		}
		if (!o.given_steps && o.budget > 0)
			o.steps = TT_STEPS_UNFITTED;   /* fitted to the budget after a few steps */
		to.steps = o.steps;
		to.batch = (uint32_t)(o.batch * (uint64_t)dist.size);   /* the global batch */
		to.context = cfg.T;
		nn_train_state_init(&st, &to, obj);
		/* Configuration and memory, before anything long runs. */
		{
			int      by_cgroup;
			uint64_t need = gpt_train_bytes(&cfg, o.batch, cfg.T),
			         have = ad_memory_limit("/proc/self/cgroup", "/sys/fs/cgroup", &by_cgroup);
			if (have > 0 && need > have / 10 * 9) {
				fprintf(stderr, "autodidact %s: a batch of %llu x %u on this model needs "
				    "%.1f GB, more than 90%% of %s %.1f GB: lower --batch (use "
				    "--accum to keep the tokens per step) or --context\n", cmd,
				    (unsigned long long)o.batch, cfg.T, need / 1e9,
				    by_cgroup ? "the cgroup memory limit (a container's, say) of" :
				    "this machine's", have / 1e9);
				status = CLI_EXIT_USAGE;
				goto out;
			}
		}
		if ((rc = gpt_new(&g, &cfg, &err)) != 0)
			goto fail;
		ad_rng_seed(&init, o.seed, 0x696e6974);   /* "init" */
		gpt_init(g, &init);
		{
			struct adamw_config ac = nn_train_adamw_config(&st);
			if ((rc = adamw_new(&opt, &ac, g->nparams, &err)) != 0)
				goto fail;
		}
	}
	if (obj->attention == NN_ATTN_FULL) {
		/* The recipe, stored in the model file, and the word boundaries. */
		mobj = *obj;
		mobj.mask_rate = o.mask_rate;
		mobj.whole_word = o.whole_word;
		if (o.whole_word) {
			if ((wclass = ad_malloc(g->cfg.V)) == NULL) {
				ad_fail(&err, AD_ENOMEM, "out of memory");
				goto fail;
			}
			nn_word_classes(wclass, bpe, g->cfg.V);
			mobj.word_class = wclass;
		}
		obj = &mobj;
	}
	nf.cfg = g->cfg;
	nf.tok_blob = tokblob;
	nf.tok_len = toklen;
	st.threads = (uint32_t)o.threads;

	/* 2. The data: split by lines, tokenized. */
	if ((rc = data_split_files(&split, (const char *const *)argv + optind,
	    (size_t)(argc - optind), o.val != NULL ? 0 : o.val_frac, o.val, &err)) != 0)
		goto fail;
	if ((rc = data_tokenize(bpe, (int)o.threads, split.train, split.train_len, &train, &ntrain,
	    &cap, &err)) != 0)
		goto fail;
	nf.text_hash = split.text_hash;
	nf.text_bytes = split.text_bytes;
	cap = 0;
	if ((rc = data_tokenize(bpe, (int)o.threads, split.val, split.val_len, &val, &nval, &cap,
	    &err)) != 0)
		goto fail;
	if (ntrain < g->cfg.T) {
		fprintf(stderr, "autodidact %s: the training text is %zu tokens, shorter than the "
		    "context of %u: give more text or a smaller --context\n", cmd, ntrain, g->cfg.T);
		status = CLI_EXIT_USAGE;
		goto out;
	}
	/* Label noise: the targets the run trains on, a function of the clean
	 * stream and the seed; their hash joins the text's, so a resume needs the
	 * same --label-noise (and a run without noise keeps its old hash). */
	{
		uint64_t h = ad_hash64(train, ntrain * sizeof *train, 0);
		if (o.label_noise > 0) {
			if (obj->attention != NN_ATTN_CAUSAL) {
				status = cli_usage(cmd, "--label-noise needs the causal objective");
				goto out;
			}
			if ((noisy = ad_mallocarray(ntrain, sizeof *noisy)) == NULL) {
				ad_fail(&err, AD_ENOMEM, "out of memory");
				goto fail;
			}
			data_label_noise(noisy, train, ntrain, o.label_noise, g->cfg.V, st.seed);
			h = ad_hash64(noisy, ntrain * sizeof *noisy, h);
		}
		if (o.resume != NULL && (st.data_hash != h || st.data_tokens != ntrain)) {
			ad_fail(&err, AD_EMISMATCH, "%s: the training text differs from the one this "
			    "checkpoint was trained on (%llu tokens then, %zu now): give the same "
			    "FILEs, held-out options and --label-noise", o.resume,
			    (unsigned long long)st.data_tokens, ntrain);
			goto fail;
		}
		st.data_hash = h;
		st.data_tokens = ntrain;
	}
	if (mapped)
		ad_map_release(&rmap);
	mapped = 0;

	if ((rc = nn_dist_trainer_new(&dist, &tr, g, opt, obj, &st, train, ntrain, &err)) != 0 ||
	    (rc = nn_trainer_set_targets(tr, noisy, &err)) != 0)
		goto fail;
	if (!o.quiet)
		fprintf(stderr, "autodidact: transformer: %u layers, %u heads, width %u, context %u, "
		    "vocabulary %u: %llu parameters (%.2fM); %zu training tokens, %zu held out; "
		    "kernel %s\n", g->cfg.L, g->cfg.NH, g->cfg.C, g->cfg.T, g->cfg.V,
		    (unsigned long long)gpt_param_count(&g->cfg), gpt_param_count(&g->cfg) / 1e6,
		    ntrain, nval, nn_kernel_name());
	if (!o.quiet) {
		if (obj->attention == NN_ATTN_FULL)
			fprintf(stderr, "autodidact: objective masked: %.3g of the %s hidden (80%% "
			    "MASK, 10%% a random token, 10%% kept), full attention\n", obj->mask_rate,
			    obj->whole_word ? "words" : "tokens");
		else
			fprintf(stderr, "autodidact: objective causal: next token, causal attention\n");
	}
	if (!o.quiet && st.precision == NN_PREC_BF16)
		fprintf(stderr, "autodidact: precision bf16: %s\n", nn_bf16_available()
		    ? "the linear layers' products in bf16 (AVX512-BF16), sums, parameters, "
		    "gradients, moments and the rest in fp32"
		    : "this CPU lacks AVX512-BF16 (or the AVX-512 kernel is not in force): the "
		    "products run in fp32");
	if (!o.quiet)
		fprintf(stderr, "autodidact: training text: %llu bytes, xxh64 %016llx\n",
		    (unsigned long long)split.text_bytes, (unsigned long long)split.text_hash);
	if (!o.quiet && dist.size > 1)
		fprintf(stderr, "autodidact: data parallel over %d MPI ranks (%d on this machine): "
		    "%u sequences per step, %zu per rank; %llu OpenMP thread(s) per rank\n", dist.size,
		    dist.local_size, tr->st.batch, tr->batch.B, (unsigned long long)o.threads);
	if (o.log != NULL && dist.rank == 0) {
		size_t n = strlen(o.log);
		run.lg.jsonl = n > 6 && strcmp(o.log + n - 6, ".jsonl") == 0;
		if ((run.lg.f = fopen(o.log, o.resume != NULL ? "a" : "w")) == NULL) {
			ad_fail_errno(&err, errno, "%s: cannot write the metrics log", o.log);
			goto fail;
		}
		/* A resumed run appends to its log; a new or empty file gets the header. */
		if (!run.lg.jsonl && (o.resume == NULL ||
		    (fseek(run.lg.f, 0, SEEK_END) == 0 && ftell(run.lg.f) == 0)))
			fputs("step,loss,val_loss,lr,grad_norm,tokens_per_s,elapsed\n", run.lg.f);
	}

	/* 3. The loop (src/nn/loop.c); the hooks above log, show and save. */
	rcfg.val = val;
	rcfg.nval = nval;
	rcfg.val_every = o.val_every;
	rcfg.val_tokens = o.val_tokens;
	if (o.eval_train) {
		rcfg.train = train;
		rcfg.train_targets = noisy;
		rcfg.ntrain = ntrain;
	}
	rcfg.ckpt_every = o.ckpt_every;
	rcfg.stop_at = o.stop_at;
	rcfg.budget = o.budget;
	/*
	 * A budget is of the whole run's training time, the sessions before a
	 * resume included (the checkpoint's elapsed time counts on): so a
	 * resumed run goes on fitting the schedule to what is left of it, as
	 * the run would have had it not been interrupted. The warmup is the
	 * checkpoint's, unless it stopped before the first fit set it.
	 */
	rcfg.fit_budget = o.budget > 0 && !o.given_steps;
	rcfg.fit_warmup = !o.given_warmup && (o.resume == NULL || tr->st.steps == TT_STEPS_UNFITTED);
	run.prog = cli_progress(&common, "train", rcfg.fit_budget ? 0 : tr->st.steps, "steps");
	ad_progress_resume(run.prog, tr->st.step);
	if ((rc = nn_train_run(tr, &rcfg, &hooks, &res, &err)) != 0) {
		/* A NaN or infinity (then: what to change), or a failure of the MPI job. */
		int         nan = rc == AD_ENUMERIC;
		const char *how = " with a lower --lr (or a lower --weight-decay, a --clip or "
		                  "a smaller one)";
		if (!res.step_failed)
			goto fail;
		if (res.saved) {
			saved_path = o.ckpt;
			saved_step = res.saved_step;
		}
		ad_progress_free(run.prog);
		run.prog = NULL;
		if (saved_path != NULL)
			fprintf(stderr, "autodidact: %s; the last good checkpoint is %s (step "
			    "%llu)%s%s\n", err.msg, saved_path, (unsigned long long)saved_step,
			    nan ? ": resume from it" : "", nan ? how : "");
		else
			fprintf(stderr, "autodidact: %s; no checkpoint was written before it "
			    "(--checkpoint-every %llu)%s%s\n", err.msg,
			    (unsigned long long)o.ckpt_every, nan ? ": train again" : "",
			    nan ? how : "");
		goto out;
	}
	ad_progress_finish(run.prog);
	run.prog = NULL;

	/* 4. Save: the checkpoint (to continue) and the model (to use), by
	 * rank 0 once every rank is known to hold the same parameters. */
	nf.train = tr->st;
	if ((rc = nn_dist_check_params(&dist, g, &phash, &err)) != 0)
		goto fail;
	if (dist.rank == 0 && ((rc = nn_save(o.ckpt, &nf, g, opt, &err)) != 0 ||
	    (rc = nn_save(o.output, &nf, g, NULL, &err)) != 0))
		goto fail;
	if (dist.rank != 0 && getenv("AD_MPI_RANK_MODELS") != NULL) {
		/* Tests: every rank writes its own parameters beside rank 0's model. */
		char path[4096];
		snprintf(path, sizeof path, "%s.rank%d", o.output, dist.rank);
		if ((rc = nn_save(path, &nf, g, NULL, &err)) != 0)
			goto fail;
	}
	if (!o.quiet && dist.size > 1 && dist.reduces > 0)
		fprintf(stderr, "autodidact: %d ranks: parameters identical on every rank (XXH64 "
		    "%016llx); %.3f MB of gradient allreduced per step in %.2f ms (%.0f MB/s), "
		    "%.1f%% of the training time (waits for slower ranks included)\n", dist.size, (unsigned long long)phash,
		    dist.bytes / (double)dist.reduces / 1e6, dist.seconds / dist.reduces * 1e3,
		    dist.seconds > 0 ? dist.bytes / dist.seconds / 1e6 : 0,
		    tr->st.elapsed > 0 ? 100 * dist.seconds / tr->st.elapsed : 0);
	clean = 1;
	if (nval > 0 && !isnan(res.last_val) && !o.quiet && nf.masked) {
		/* Nats per hidden token: not a perplexity of the text, so no bits/byte. */
		fprintf(stderr, "autodidact: step %llu: held-out masked-token loss %.4f nats per "
		    "hidden token%s\n", (unsigned long long)tr->st.step, res.last_val,
		    res.val_step == tr->st.step ? "" : " (the last evaluated)");
	} else if (nval > 0 && !isnan(res.last_val) && !o.quiet) {
		double bpt = (double)split.val_len / (double)nval;
		if (res.val_step == tr->st.step)
			fprintf(stderr, "autodidact: step %llu: held-out loss %.4f nats/token, %.4f "
			    "bits/byte\n", (unsigned long long)tr->st.step, res.last_val,
			    res.last_val / log(2.0) / bpt);
		else
			fprintf(stderr, "autodidact: step %llu: the last held-out loss, %s %llu: %.4f "
			    "nats/token, %.4f bits/byte\n", (unsigned long long)tr->st.step,
			    res.val_step > 0 ? "at step" : "from before the resume at step",
			    (unsigned long long)(res.val_step > 0 ? res.val_step : res.start),
			    res.last_val, res.last_val / log(2.0) / bpt);
	}
	if (ad_interrupted()) {
		if (dist.rank == 0)
			fprintf(stderr, "autodidact: interrupted at step %llu of %llu: checkpoint "
			    "written to %s and the model to %s; continue with --resume %s\n",
			    (unsigned long long)tr->st.step, (unsigned long long)tr->st.steps, o.ckpt,
			    o.output, o.ckpt);
		status = CLI_EXIT_FAIL;
	} else {
		if (tr->st.step < tr->st.steps && o.stop_at > 0 && tr->st.step >= o.stop_at &&
		    !o.quiet && dist.rank == 0)
			fprintf(stderr, "autodidact: stopped at step %llu of %llu; continue with "
			    "--resume %s\n", (unsigned long long)tr->st.step,
			    (unsigned long long)tr->st.steps, o.ckpt);
		status = CLI_EXIT_OK;
	}
	goto out;
fail:
	status = cli_fail(&err);
out:
	ad_progress_free(run.prog);
	if (run.lg.f != NULL)
		fclose(run.lg.f);
	nn_trainer_free(tr);
	adamw_free(opt);
	gpt_free(g);
	bpe_free(bpe);
	data_split_free(&split);
	if (mapped)
		ad_map_release(&rmap);
	ad_free(train);
	ad_free(noisy);
	ad_free(val);
	ad_free(tokblob);
	ad_free(wclass);
	ad_free(ckpt_path);
	/* A failure on one rank aborts the job: no other rank waits for it. */
	nn_dist_finish(&dist, clean ? 0 : status);
	return status;
}
