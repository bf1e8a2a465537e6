/*
 * cmd_eval.c — "autodidact eval MODEL FILE...": held-out cross-entropy,
 * perplexity and bits per byte of any model, through lm.h.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "cli/cli.h"
#include "lm/lm.h"

static const char eval_help[] =
"usage: autodidact eval [--calibration] [--pll word-l2r|token] [--json] [--precision P]\n"
"                       [--threads N] [--quiet] [-t TOKENIZER] MODEL FILE...\n"
"\n"
"Score text with a model and report, per file and in total: tokens, OOVs,\n"
"cross-entropy in nats per token, perplexity (with and without OOVs, as\n"
"KenLM's query computes them) and bits per byte (total nats / ln 2 / bytes of\n"
"the text: comparable across tokenizers and model kinds). MODEL is any model\n"
"file autodidact wrote, an ARPA file, or a GPT-2 checkpoint (a Hugging Face\n"
"model directory or model.safetensors, or llm.c's .bin); '-' as FILE reads stdin.\n"
"\n"
"A masked (bidirectional) transformer has no left-to-right probability of a\n"
"text: it is scored by pseudo-log-likelihood (PLL, each token given all the\n"
"others), reported as PLL nats per token, pseudo-perplexity and pseudo bits\n"
"per byte, which are NOT comparable with a causal model's figures.\n"
"\n"
"Options:\n"
"  -c, --calibration\n"
"                 also report how far the model's confidence can be trusted:\n"
"                 top-1 next-token accuracy, expected calibration error (15\n"
"                 equal-width bins as Guo et al. 2017, and 15 equal-mass bins),\n"
"                 Brier score, and the temperature T* fitted on the first half\n"
"                 of the tokens with NLL and ECE on the second half before and\n"
"                 after it; needs every token's whole distribution (slower)\n"
"  --pll KIND     a masked model's PLL: word-l2r (default: a word's later\n"
"                 pieces are masked too, Kauf & Ivanova 2023) or token (each\n"
"                 token alone, Salazar et al. 2020)\n"
"  --json         print the results as JSON\n"
"  --precision P  fp32 (default) or bf16: a transformer's matrix products in\n"
"                 bf16 with fp32 sums, where the CPU has AVX512-BF16\n"
"  -t, --tokenizer FILE\n"
"                 a GPT-2 checkpoint's tokenizer: r50k_base.tiktoken, or\n"
"                 vocab.json with merges.txt beside it (default: vocab.json and\n"
"                 merges.txt in the model's directory)\n"
"  --threads N    threads for scoring (default: all cores); results do not\n"
"                 depend on it\n"
"  -q, --quiet    no progress on stderr\n"
"  -h, --help     show this help\n";

static void
eval_print_calib(const char *name, const struct lm_calib *c)
{
	printf("%-24s %8.4f %7.4f %9.4f %7.4f %6.3f %9.4f %9.4f %7.4f %7.4f\n", name, c->accuracy,
	    c->ece, c->ece_mass, c->brier, c->temperature, c->test_nll, c->test_nll_scaled,
	    c->test_ece, c->test_ece_scaled);
}

/* Finish acc into r->calib. */
static int
eval_finish_calib(struct lm_calib_acc *acc, struct lm_eval *r, struct ad_error *e)
{
	if (acc == NULL)
		return 0;
	r->has_calib = 1;
	return lm_calib_finish(acc, &r->calib, e);
}

static void
eval_print_row(const char *name, const struct lm_eval *r)
{
	if (r->pseudo) {
		printf("%-24s %9llu %11llu %17.4f %17.4f %18.4f\n", name,
		    (unsigned long long)r->lines, (unsigned long long)r->tokens,
		    lm_eval_pseudo_nats_per_token(r), lm_eval_pseudo_perplexity(r),
		    lm_eval_pseudo_bits_per_byte(r));
		return;
	}
	printf("%-24s %9llu %11llu %8llu %10.4f %11.4f %13.4f %9.4f\n", name,
	    (unsigned long long)r->lines, (unsigned long long)r->tokens,
	    (unsigned long long)r->oovs, lm_eval_nats_per_token(r), lm_eval_perplexity(r),
	    lm_eval_perplexity_excl_oov(r), lm_eval_bits_per_byte(r));
}

int
cmd_eval(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "calibration", no_argument,   NULL, 'c' },
		{ "json",    no_argument,       NULL, 'j' },
		{ "pll",     required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 'T' },
		{ "precision", required_argument, NULL, 'R' },
		{ "quiet",   no_argument,       NULL, 'q' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "tokenizer", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char       *tok = NULL;
	struct cli_common common = { 0 };
	struct ad_error   err = { 0 };
	struct lm        *m = NULL;
	struct lm_eval   *res = NULL, total = { 0 };
	struct ad_json    j;
	struct lm_calib_acc *acc = NULL, *acc_total = NULL;
	uint64_t          v;
	int               c, rc, nfiles, calib = 0, bf16 = 0;
	enum lm_pll       pll = LM_PLL_DEFAULT;

	while ((c = cli_getopt(argc, argv, "cqht:", longopts, "eval")) != -1) {
		switch (c) {
		case 'c': calib = 1; break;
		case 't': tok = optarg; break;
		case 'j': common.json = 1; break;
		case 'P':
			if (lm_pll_parse(optarg, &pll) != 0)
				return cli_usage("eval", "--pll is word-l2r or token");
			break;
		case 'T':
			if ((rc = cli_u64("eval", "--threads", optarg, 1, 1024, &v)) != 0)
				return rc;
			common.threads = (int)v;
			break;
		case 'R':
			if ((rc = cli_precision("eval", optarg, &bf16)) != 0)
				return rc;
			break;
		case 'q': common.quiet = 1; break;
		case 'h': return cli_help(eval_help);
		default:  return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind < 2)
		return cli_usage("eval", argc - optind < 1 ? "no model given" :
		    "no text to score: give one or more FILEs");
	cli_apply_threads(&common);
	if ((rc = lm_open_with(&m, argv[optind], tok, &err)) != 0)
		return cli_fail(&err);
	if (calib && lm_is_masked(m)) {
		rc = cli_failf("%s: --calibration is of next-token predictions, and a masked model "
		    "makes none; evaluate it without --calibration", argv[optind]);
		lm_free(m);
		return rc;
	}
	total.pseudo = lm_is_masked(m);
	total.pll = pll;
	if ((rc = cli_apply_precision(m, bf16, common.quiet, &err)) != 0) {
		lm_free(m);
		return cli_fail(&err);
	}
	nfiles = argc - optind - 1;
	if ((res = ad_calloc((size_t)nfiles, sizeof *res)) == NULL) {
		lm_free(m);
		return cli_failf("out of memory");
	}
	if (calib && (lm_calib_acc_new(&acc_total, &err) != 0 || lm_calib_acc_new(&acc, &err) != 0))
		goto fail;
	for (int f = 0; f < nfiles; f++) {
		const char         *path = argv[optind + 1 + f];
		struct ad_map       map;
		struct ad_progress *prog;

		if ((rc = ad_map_file(path, &map, &err)) != 0)
			goto fail;
		prog = cli_progress(&common, "eval", map.size, "B");
		lm_calib_acc_free(acc);
		acc = NULL;
		res[f].pll = pll;
		if (calib && (rc = lm_calib_acc_new(&acc, &err)) == 0)
			rc = lm_eval_text_calib(m, map.data, map.size, &res[f], acc, prog, &err);
		else if (!calib)
			rc = lm_eval_text(m, map.data, map.size, &res[f], prog, &err);
		if (rc == 0)
			ad_progress_finish(prog);
		else
			ad_progress_free(prog);
		ad_map_release(&map);
		if (rc != 0) {
			ad_error_prefix(&err, "%s", path);
			goto fail;
		}
		if (res[f].tokens == 0) {
			ad_fail(&err, AD_EDATA, "%s: nothing to score (the file is empty)", path);
			rc = AD_EDATA;
			goto fail;
		}
		total.nats += res[f].nats;
		total.oov_nats += res[f].oov_nats;
		total.tokens += res[f].tokens;
		total.oovs += res[f].oovs;
		total.lines += res[f].lines;
		total.bytes += res[f].bytes;
		if (calib && ((rc = eval_finish_calib(acc, &res[f], &err)) != 0 ||
		    (rc = lm_calib_append(acc_total, acc, &err)) != 0))
			goto fail;
	}
	if (calib && (rc = eval_finish_calib(acc_total, &total, &err)) != 0)
		goto fail;

	if (common.json) {
		ad_json_init(&j, stdout, 1);
		ad_json_object_begin(&j);
		cli_json_model(&j, argv[optind], m);
		ad_json_key(&j, "params");
		ad_json_uint(&j, m->params);
		ad_json_object_end(&j);
		ad_json_key(&j, "files");
		ad_json_array_begin(&j);
		for (int f = 0; f < nfiles; f++) {
			ad_json_object_begin(&j);
			ad_json_key(&j, "path");
			ad_json_string(&j, argv[optind + 1 + f]);
			lm_eval_json(&j, &res[f]);
			ad_json_object_end(&j);
		}
		ad_json_array_end(&j);
		ad_json_key(&j, "total");
		ad_json_object_begin(&j);
		lm_eval_json(&j, &total);
		ad_json_object_end(&j);
		ad_json_object_end(&j);
		ad_json_end(&j);
	} else {
		printf("model: %s (%s%s%s)\n", argv[optind], m->kind,
		    m->description[0] ? ", " : "", m->description);
		if (total.pseudo) {
			printf("masked model: scored by pseudo-log-likelihood (PLL %s; Salazar et al. 2020),"
			    "\nnot a probability of the text: NOT comparable with a causal model's "
			    "nats/token,\nperplexity or bits/byte\n", lm_pll_name(pll));
			printf("%-24s %9s %11s %17s %17s %18s\n", "file", "lines", "tokens",
			    "PLL nats/token", "pseudo-perplexity", "pseudo bits/byte");
		} else
			printf("%-24s %9s %11s %8s %10s %11s %13s %9s\n", "file", "lines", "tokens",
			    "OOVs", "nats/token", "perplexity", "ppl excl OOV", "bits/byte");
		for (int f = 0; f < nfiles; f++) {
			const char *path = argv[optind + 1 + f], *base = strrchr(path, '/');
			eval_print_row(base ? base + 1 : path, &res[f]);
		}
		if (nfiles > 1)
			eval_print_row("total", &total);
		if (calib) {
			printf("\ncalibration of the top-1 next token (ECE: 15 equal-width bins, Guo et al. "
			    "2017;\nT* fitted on the first half of the tokens, NLL and ECE on the second)\n");
			printf("%-24s %8s %7s %9s %7s %6s %9s %9s %7s %7s\n", "file", "accuracy", "ECE",
			    "ECE mass", "Brier", "T*", "NLL half2", "NLL at T*", "ECE h2", "at T*");
			for (int f = 0; f < nfiles; f++) {
				const char *path = argv[optind + 1 + f], *base = strrchr(path, '/');
				eval_print_calib(base ? base + 1 : path, &res[f].calib);
			}
			if (nfiles > 1)
				eval_print_calib("total", &total.calib);
		}
	}
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the results");
	ad_free(res);
	lm_calib_acc_free(acc);
	lm_calib_acc_free(acc_total);
	lm_free(m);
	return rc;
fail:
	ad_free(res);
	lm_calib_acc_free(acc);
	lm_calib_acc_free(acc_total);
	lm_free(m);
	return cli_fail(&err);
}
