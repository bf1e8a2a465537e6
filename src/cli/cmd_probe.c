/*
 * cmd_probe.c — "autodidact probe MODEL... --probes FILE...": the bias-probe
 * report (src/probe/).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "cli/cli.h"
#include "lm/lm.h"
#include "src/probe/datadir.h"   /* generated: PROBE_DATADIR, PROBE_SRCDIR */
#include "probe/probe.h"

static const char probe_help[] =
"usage: autodidact probe [MODEL...] --probes FILE|NAME [--probes ...] [--corpus FILE]\n"
"                        [--vectors FILE...] [--format md|html|json] [-o REPORT] [options]\n"
"\n"
"Measure the social associations each model learned, with confidence intervals\n"
"and p-values, beside the same associations counted in the training text:\n"
"paired sentences (CrowS-Pairs), word-set association (WEAT) and prior-corrected\n"
"template scores. MODEL is any model file autodidact wrote, an ARPA file, or a\n"
"GPT-2 checkpoint (see autodidact-models(5)).\n"
"A probe file is our format or the CrowS-Pairs CSV; a NAME finds a shipped set\n"
"(gender-occupation, gender-family-career, age, weat-classic).\n"
"\n"
"Options:\n"
"  -p, --probes FILE    a probe set (repeat for several); FILE or a shipped NAME\n"
"  -t, --tokenizer FILE the tokenizer of the GPT-2 checkpoints among the models:\n"
"                       r50k_base.tiktoken, or vocab.json with merges.txt\n"
"                       beside it (other models hold their own)\n"
"  -c, --corpus FILE    the models' training text: counted for the corpus side\n"
"                       (mirror or amplify?) and for rare or absent words\n"
"  --vectors FILE       word vectors (GloVe or word2vec text, gzip too) as a WEAT\n"
"                       source of their own; repeat for several\n"
"  -f, --format FMT     md (default), html or json; by default taken from the\n"
"                       extension of -o (.html, .json)\n"
"  -o, --output REPORT  where to write the report (default: stdout)\n"
"  --seed S             seed of every resampling (default 1)\n"
"  --bootstrap N        bootstrap resamples per interval (default 10000)\n"
"  --permutations N     random partitions when a permutation test is not\n"
"                       enumerated exactly (default 100000)\n"
"  --exact N            enumerate permutation tests exactly up to N partitions\n"
"                       (default 1000000)\n"
"  --correction C       holm (default), bh (Benjamini-Hochberg) or none\n"
"  --alpha A            significance level after correction (default 0.05)\n"
"  --window N           corpus co-occurrence window in words each side; 0 = the\n"
"                       whole line (default 10)\n"
"  --rare N             warn about probe words seen fewer than N times (default 10)\n"
"  --precision P        fp32 (default) or bf16: the transformers' matrix products\n"
"                       in bf16 with fp32 sums, where the CPU has AVX512-BF16\n"
"                       (n-gram models are unchanged)\n"
"  -q, --quiet          no progress on stderr\n"
"  -h, --help           show this help\n";

/*
 * The directories searched for shipped probe sets: $AUTODIDACT_PROBES, the
 * installed data directory, then the source tree this program was built
 * from (so that an uninstalled build finds them too).
 */
static char *
probe_dirs(void)
{
	const char *env = getenv("AUTODIDACT_PROBES");
	size_t      n = (env ? strlen(env) : 0) + strlen(PROBE_DATADIR) + strlen(PROBE_SRCDIR) + 3;
	char       *d = ad_malloc(n);

	if (d != NULL)
		snprintf(d, n, "%s%s%s:%s", env && *env ? env : "", env && *env ? ":" : "",
		    PROBE_DATADIR, PROBE_SRCDIR);
	return d;
}

static int
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/*
 * Read each --vectors file, keeping the words of the sets' WEAT tests (as
 * written: vector files are matched exactly, case included).
 */
static int
read_vectors(const char *const *paths, size_t n, const struct probe_set *const *sets,
    size_t nsets, struct probe_vectors **out, size_t *nout, struct ad_progress *prog,
    struct ad_error *err)
{
	static const char *const none[1] = { NULL };   /* no words: keep none, not all */
	char  **words = NULL;
	size_t  nwords = 0;
	int     rc;

	if ((rc = probe_weat_words(sets, nsets, &words, &nwords, err)) != 0)
		return rc;
	for (size_t i = 0; i < n && rc == 0; i++)
		if ((rc = probe_vectors_read(&out[*nout], paths[i], words != NULL ?
		    (const char *const *)words : none, nwords, prog, err)) == 0)
			(*nout)++;
	probe_focus_free(words, nwords);
	return rc;
}

int
cmd_probe(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "probes",       required_argument, NULL, 'p' },
		{ "corpus",       required_argument, NULL, 'c' },
		{ "vectors",      required_argument, NULL, 'V' },
		{ "format",       required_argument, NULL, 'f' },
		{ "output",       required_argument, NULL, 'o' },
		{ "seed",         required_argument, NULL, 'S' },
		{ "bootstrap",    required_argument, NULL, 'B' },
		{ "permutations", required_argument, NULL, 'P' },
		{ "exact",        required_argument, NULL, 'E' },
		{ "correction",   required_argument, NULL, 'C' },
		{ "alpha",        required_argument, NULL, 'A' },
		{ "window",       required_argument, NULL, 'W' },
		{ "rare",         required_argument, NULL, 'R' },
		{ "precision",    required_argument, NULL, 'X' },
		{ "quiet",        no_argument,       NULL, 'q' },
		{ "help",         no_argument,       NULL, 'h' },
		{ "tokenizer",    required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe_options opt;
	struct cli_common    common = { 0 };
	struct ad_error      err = { 0 };
	struct ad_atomic     out;
	struct ad_progress  *prog;
	struct probe_report *report = NULL;
	struct probe_set   **sets = NULL;
	struct lm          **models = NULL;
	struct probe_vectors **vectors = NULL;
	const char          *corpus = NULL, *output = "-", *format = NULL, *tok = NULL;
	const char         **names = NULL, **vnames = NULL;
	char                *dirs = NULL;
	size_t               nnames = 0, nsets = 0, nmodels = 0, nvnames = 0, nvectors = 0;
	uint64_t             v;
	int                  c, rc, status = CLI_EXIT_FAIL, bf16 = 0;

	probe_options_default(&opt);
	if ((names = ad_calloc((size_t)argc + 1, sizeof *names)) == NULL ||
	    (vnames = ad_calloc((size_t)argc + 1, sizeof *vnames)) == NULL) {
		ad_free(names);
		return cli_failf("out of memory");
	}
	while ((c = cli_getopt(argc, argv, "p:c:f:o:t:qh", longopts, "probe")) != -1) {
		switch (c) {
		case 'p': names[nnames++] = optarg; break;
		case 't': tok = optarg; break;
		case 'c': corpus = optarg; break;
		case 'V': vnames[nvnames++] = optarg; break;
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'S':
			if ((rc = cli_u64("probe", "--seed", optarg, 0, UINT64_MAX, &opt.rs.seed)) != 0)
				goto usage;
			break;
		case 'B':
			if ((rc = cli_u64("probe", "--bootstrap", optarg, 1, 10000000, &v)) != 0)
				goto usage;
			opt.rs.bootstrap = (uint32_t)v;
			break;
		case 'P':
			if ((rc = cli_u64("probe", "--permutations", optarg, 1, 100000000, &v)) != 0)
				goto usage;
			opt.rs.permutations = (uint32_t)v;
			break;
		case 'E':
			if ((rc = cli_u64("probe", "--exact", optarg, 0, 1000000000, &opt.rs.max_exact)) != 0)
				goto usage;
			break;
		case 'C':
			if (strcmp(optarg, "holm") == 0)
				opt.correction = PROBE_HOLM;
			else if (strcmp(optarg, "bh") == 0)
				opt.correction = PROBE_BH;
			else if (strcmp(optarg, "none") == 0)
				opt.correction = PROBE_NONE;
			else {
				rc = cli_usage("probe", "--correction: '%s' is not holm, bh or none", optarg);
				goto usage;
			}
			break;
		case 'A':
			if ((rc = cli_double("probe", "--alpha", optarg, 1e-12, 0.5, &opt.alpha)) != 0)
				goto usage;
			break;
		case 'W':
			if ((rc = cli_u64("probe", "--window", optarg, 0, 100000, &v)) != 0)
				goto usage;
			opt.window = (unsigned)v;
			break;
		case 'R':
			if ((rc = cli_u64("probe", "--rare", optarg, 0, UINT64_MAX, &opt.rare)) != 0)
				goto usage;
			break;
		case 'X':
			if ((rc = cli_precision("probe", optarg, &bf16)) != 0)
				goto usage;
			break;
		case 'q': common.quiet = 1; break;
		case 'h':
			ad_free(names);
			ad_free(vnames);
			return cli_help(probe_help);
		default:
			rc = CLI_EXIT_USAGE;
			goto usage;
		}
	}
	if (nnames == 0) {
		rc = cli_usage("probe", "no probe set: give --probes FILE or a shipped NAME");
		goto usage;
	}
	if (optind == argc && corpus == NULL && nvnames == 0) {
		rc = cli_usage("probe", "no model: give one or more MODEL files (or --corpus FILE "
		    "for a report on the corpus alone, or --vectors FILE for word vectors)");
		goto usage;
	}
	if (format == NULL)
		format = ends_with(output, ".html") || ends_with(output, ".htm") ? "html" :
		    ends_with(output, ".json") ? "json" : "md";
	if (strcmp(format, "md") != 0 && strcmp(format, "html") != 0 && strcmp(format, "json") != 0) {
		rc = cli_usage("probe", "--format: '%s' is not md, html or json", format);
		goto usage;
	}

	/* Inputs first, so that a bad file fails before any long work. */
	dirs = probe_dirs();
	sets = ad_calloc(nnames, sizeof *sets);
	models = ad_calloc((size_t)(argc - optind) + 1, sizeof *models);
	vectors = ad_calloc(nvnames + 1, sizeof *vectors);
	if (dirs == NULL || sets == NULL || models == NULL || vectors == NULL) {
		ad_fail(&err, AD_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < nnames; i++) {
		char *path;
		if (probe_set_find(names[i], dirs, &path, &err) != 0)
			goto fail;
		rc = probe_set_read(&sets[nsets], path, &err);
		ad_free(path);
		if (rc != 0)
			goto fail;
		nsets++;
	}
	for (int i = optind; i < argc; i++) {
		if (lm_open_with(&models[nmodels], argv[i], tok, &err) != 0)
			goto fail;
		nmodels++;
		/* The precision is a transformer's; an n-gram model has no products. */
		if (models[nmodels - 1]->vt->set_bf16 != NULL &&
		    cli_apply_precision(models[nmodels - 1], bf16, common.quiet, &err) != 0)
			goto fail;
	}
	prog = cli_progress(&common, "probe", 0, "items");
	if (nvnames > 0 && (rc = read_vectors(vnames, nvnames, (const struct probe_set *const *)sets,
	    nsets, vectors, &nvectors, prog, &err)) != 0) {
		ad_progress_free(prog);
		goto fail;
	}
	rc = probe_run_vectors(&report, models, nmodels, (const struct probe_vectors *const *)vectors,
	    nvectors, (const struct probe_set *const *)sets, nsets, corpus, &opt, prog, &err);
	if (rc != 0) {
		ad_progress_free(prog);
		goto fail;
	}
	ad_progress_finish(prog);
	if (ad_atomic_open(&out, output, &err) != 0)
		goto fail;
	rc = strcmp(format, "json") == 0 ? probe_write_json(report, out.f, &err) :
	    strcmp(format, "html") == 0 ? probe_write_html(report, out.f, &err) :
	    probe_write_markdown(report, out.f, &err);
	if (rc != 0) {
		if (ferror(out.f))
			ad_atomic_fail(&out, &err);
		else
			ad_atomic_abort(&out);
		goto fail;
	}
	if (ad_atomic_commit(&out, &err) != 0)
		goto fail;
	if (!common.quiet && report->nwarnings > 0)
		fprintf(stderr, "autodidact probe: %zu warning%s in the report\n", report->nwarnings,
		    report->nwarnings == 1 ? "" : "s");
	status = CLI_EXIT_OK;
fail:
	if (status != CLI_EXIT_OK)
		cli_fail(&err);
	probe_report_free(report);
	for (size_t i = 0; i < nsets; i++)
		probe_set_free(sets[i]);
	for (size_t i = 0; i < nmodels; i++)
		lm_free(models[i]);
	for (size_t i = 0; i < nvectors; i++)
		probe_vectors_free(vectors[i]);
	ad_free(sets);
	ad_free(models);
	ad_free(vectors);
	ad_free(dirs);
	ad_free(names);
	ad_free(vnames);
	return status;
usage:
	ad_free(names);
	ad_free(vnames);
	return rc;
}
