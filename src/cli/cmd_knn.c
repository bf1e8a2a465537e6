/*
 * cmd_knn.c — "autodidact knn build|tune|contrast": the kNN-LM's datastore,
 * its tuning on held-out text, and the curse-of-dimensionality report.
 * The work is in src/knn; this file holds options and printing.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "base/svg.h"
#include "cli/cli.h"
#include "knn/knn.h"
#include "lm/lm.h"

static const char knn_help[] =
"usage: autodidact knn build -m MODEL -o STORE [--k K] [--lambda L]\n"
"                            [--temperature T] [--metric l2|cosine]\n"
"                            [--max-tokens N] FILE\n"
"       autodidact knn tune -o OUT [--json] STORE FILE\n"
"       autodidact knn set -o OUT [--k K] [--lambda L] [--temperature T]\n"
"                            [--metric l2|cosine] STORE\n"
"       autodidact knn contrast [--points N] [--queries Q] [--k K] [--seed S]\n"
"                            [--format md|html|json] [-o REPORT] STORE\n"
"\n"
"A nearest-neighbour language model (Khandelwal et al. 2020): a datastore of\n"
"a transformer's context vectors (the last block's MLP input after its\n"
"LayerNorm) and the token that followed each, and the model\n"
"p = lambda p_kNN + (1 - lambda) p_LM over it. A STORE is a model file:\n"
"eval, compare, sample and probe open it (and its transformer) like any other.\n"
"\n"
"  build     store every position of FILE under MODEL (a causal transformer);\n"
"            the parameters given are stored with it\n"
"  tune      choose k, temperature and lambda on the first half of FILE\n"
"            (held-out text), report on the second half (transformer alone,\n"
"            p_kNN alone, the mixture, the tokens that gain) and write the\n"
"            store with the chosen parameters to OUT (may be STORE)\n"
"  set       write the store with the parameters given changed (--lambda 1:\n"
"            p_kNN alone; --lambda 0: the transformer's scores exactly)\n"
"  contrast  relative contrast (D_max - D_min) / D_min and neighbours' agreement\n"
"            on the next token against dimension: Gaussian data, the model's\n"
"            vectors, and their PCA projections\n"
"\n"
"Options:\n"
"  -m, --model MODEL    the transformer (build)\n"
"  -o, --output FILE    the store (build, tune, set) or the report (contrast; default\n"
"                       stdout)\n"
"  --k K                neighbours (default 16; contrast: 10)\n"
"  --lambda L           weight of p_kNN in [0, 1] (default 0.25)\n"
"  --temperature T      p_kNN ~ exp(-distance / T) (default 1)\n"
"  --metric M           l2 (squared Euclidean, default) or cosine (1 - cos)\n"
"  --max-tokens N       build: store only the first N tokens of FILE\n"
"  --points N           contrast: keys sampled from the store (default 20000)\n"
"  --queries Q          contrast: of them, queried against all (default 500)\n"
"  --seed S             contrast: the sample and the Gaussian data (default 1)\n"
"  --format F           contrast: md (default), html (with an SVG plot) or json\n"
"  --json               tune: the report as JSON\n"
"  --threads N          threads (default: all cores)\n"
"  -q, --quiet          no progress on stderr; build, set: no summary line\n"
"  -h, --help           show this help\n";

enum { OPT_K = 256, OPT_LAMBDA, OPT_TEMP, OPT_METRIC, OPT_POINTS, OPT_QUERIES, OPT_SEED,
       OPT_FORMAT, OPT_JSON, OPT_THREADS, OPT_MAXTOK };

static const struct option knn_longopts[] = {
	{ "model",       required_argument, NULL, 'm' },
	{ "output",      required_argument, NULL, 'o' },
	{ "k",           required_argument, NULL, OPT_K },
	{ "lambda",      required_argument, NULL, OPT_LAMBDA },
	{ "temperature", required_argument, NULL, OPT_TEMP },
	{ "metric",      required_argument, NULL, OPT_METRIC },
	{ "points",      required_argument, NULL, OPT_POINTS },
	{ "queries",     required_argument, NULL, OPT_QUERIES },
	{ "seed",        required_argument, NULL, OPT_SEED },
	{ "format",      required_argument, NULL, OPT_FORMAT },
	{ "json",        no_argument,       NULL, OPT_JSON },
	{ "threads",     required_argument, NULL, OPT_THREADS },
	{ "max-tokens",  required_argument, NULL, OPT_MAXTOK },
	{ "quiet",       no_argument,       NULL, 'q' },
	{ "help",        no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct knn_opts {
	const char       *model, *output, *format;
	struct knn_params p;
	int               k_given, lambda_given, temp_given, metric_given;
	uint64_t          points, queries, seed, max_tokens;
	struct cli_common common;
};

static int
knn_parse(int argc, char **argv, const char *cmd, struct knn_opts *o)
{
	uint64_t v;
	int      c, rc;

	*o = (struct knn_opts){ .format = "md", .points = 20000, .queries = 500, .seed = 1,
	    .p = { .k = 16, .lambda = 0.25, .temperature = 1, .metric = KNN_L2 } };
	optind = 1;
	while ((c = cli_getopt(argc, argv, "m:o:qh", knn_longopts, cmd)) != -1) {
		switch (c) {
		case 'm': o->model = optarg; break;
		case 'o': o->output = optarg; break;
		case OPT_K:
			if ((rc = cli_u64(cmd, "--k", optarg, 1, KNN_KMAX, &v)) != 0)
				return rc;
			o->p.k = (uint32_t)v;
			o->k_given = 1;
			break;
		case OPT_LAMBDA:
			if ((rc = cli_double(cmd, "--lambda", optarg, 0, 1, &o->p.lambda)) != 0)
				return rc;
			o->lambda_given = 1;
			break;
		case OPT_TEMP:
			if ((rc = cli_double(cmd, "--temperature", optarg, 1e-30, 1e30,
			    &o->p.temperature)) != 0)
				return rc;
			o->temp_given = 1;
			break;
		case OPT_METRIC:
			if (knn_metric_parse(optarg, &o->p.metric) != 0)
				return cli_usage(cmd, "--metric %s: use l2 or cosine", optarg);
			o->metric_given = 1;
			break;
		case OPT_POINTS:
			if ((rc = cli_u64(cmd, "--points", optarg, 3, 10000000, &o->points)) != 0)
				return rc;
			break;
		case OPT_QUERIES:
			if ((rc = cli_u64(cmd, "--queries", optarg, 1, 10000000, &o->queries)) != 0)
				return rc;
			break;
		case OPT_SEED:
			if ((rc = cli_u64(cmd, "--seed", optarg, 0, UINT64_MAX, &o->seed)) != 0)
				return rc;
			break;
		case OPT_MAXTOK:
			if ((rc = cli_u64(cmd, "--max-tokens", optarg, 1, UINT32_MAX - 1,
			    &o->max_tokens)) != 0)
				return rc;
			break;
		case OPT_FORMAT:
			if (strcmp(optarg, "md") != 0 && strcmp(optarg, "html") != 0 &&
			    strcmp(optarg, "json") != 0)
				return cli_usage(cmd, "--format %s: use md, html or json", optarg);
			o->format = optarg;
			break;
		case OPT_JSON: o->common.json = 1; break;
		case OPT_THREADS:
			if ((rc = cli_u64(cmd, "--threads", optarg, 1, 1024, &v)) != 0)
				return rc;
			o->common.threads = (int)v;
			break;
		case 'q': o->common.quiet = 1; break;
		case 'h': return -1;
		default:  return CLI_EXIT_USAGE;
		}
	}
	cli_apply_threads(&o->common);
	return 0;
}

static int
knn_build_cmd(int argc, char **argv)
{
	struct knn_opts     o;
	struct ad_error     err = { 0 };
	struct ad_map       map;
	struct ad_progress *prog;
	struct knn_store   *s;
	int                 rc;

	if ((rc = knn_parse(argc, argv, "knn build", &o)) != 0)
		return rc < 0 ? cli_help(knn_help) : rc;
	if (o.model == NULL)
		return cli_usage("knn build", "no model: give -m MODEL (a transformer)");
	if (o.output == NULL)
		return cli_usage("knn build", "no output: give -o STORE");
	if (argc - optind != 1)
		return cli_usage("knn build", "give one text FILE to store");
	if (ad_map_file(argv[optind], &map, &err) != 0)
		return cli_fail(&err);
	prog = cli_progress(&o.common, "knn build", 0, "tokens");
	rc = knn_build(o.model, map.data, map.size, &o.p, (size_t)o.max_tokens, o.output, prog,
	    &err);
	ad_map_release(&map);
	if (rc != 0) {
		ad_progress_free(prog);
		return cli_fail(&err);
	}
	ad_progress_finish(prog);
	if (knn_store_open(&s, o.output, &err) != 0)
		return cli_fail(&err);
	/* Opened even when quiet: a store that does not open is an error. */
	if (!o.common.quiet)
		printf("%s: %llu entries of %u floats, %.1f MB, built in %.2f s\n", o.output,
		    (unsigned long long)s->N, s->C, (double)s->map.size / 1e6, s->build_seconds);
	knn_store_free(s);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the results");
}

static int
knn_set_cmd(int argc, char **argv)
{
	struct knn_opts   o;
	struct ad_error   err = { 0 };
	struct knn_store *s;
	struct knn_params p;
	int               rc;

	if ((rc = knn_parse(argc, argv, "knn set", &o)) != 0)
		return rc < 0 ? cli_help(knn_help) : rc;
	if (o.output == NULL)
		return cli_usage("knn set", "no output: give -o OUT (it may be the STORE)");
	if (argc - optind != 1)
		return cli_usage("knn set", "give one STORE");
	if (knn_store_open(&s, argv[optind], &err) != 0)
		return cli_fail(&err);
	/* The stored parameters, with the ones given in their place. */
	p = s->params;
	knn_store_free(s);
	p.k = o.k_given ? o.p.k : p.k;
	p.lambda = o.lambda_given ? o.p.lambda : p.lambda;
	p.temperature = o.temp_given ? o.p.temperature : p.temperature;
	p.metric = o.metric_given ? o.p.metric : p.metric;
	if (knn_store_rewrite(argv[optind], o.output, &p, &err) != 0)
		return cli_fail(&err);
	if (!o.common.quiet)
		printf("%s: k %u, lambda %.4g, temperature %.4g, %s\n", o.output, p.k, p.lambda,
		    p.temperature, knn_metric_name(p.metric));
	return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the results");
}

static double
bpb(double nats, uint64_t bytes)
{
	return nats / M_LN2 / (double)bytes;
}

/* One token's line: id, count, nats gained, and its text with escapes. */
static void
tune_print_gain(const struct lm *m, const struct knn_token_gain *g)
{
	const uint8_t *b;
	size_t         n;

	lm_token_text(m, g->id, &b, &n);
	printf("  %6u x%-6llu %+9.2f  \"", g->id, (unsigned long long)g->count, g->nats);
	for (size_t i = 0; i < n; i++)
		if (b[i] == '\n')
			fputs("\\n", stdout);
		else if (b[i] < 0x20 || b[i] == '"' || b[i] == '\\')
			printf("\\x%02x", b[i]);
		else
			putchar(b[i]);
	puts("\"");
}

static int
knn_tune_cmd(int argc, char **argv)
{
	struct knn_opts o;
	struct ad_error err = { 0 };
	struct ad_map   map;
	struct lm      *m;
	struct knn_tune t;
	size_t          show;
	int             rc;

	if ((rc = knn_parse(argc, argv, "knn tune", &o)) != 0)
		return rc < 0 ? cli_help(knn_help) : rc;
	if (o.output == NULL)
		return cli_usage("knn tune", "no output: give -o OUT for the tuned store");
	if (argc - optind != 2)
		return cli_usage("knn tune", "give a STORE and a held-out text FILE");
	if (lm_open(&m, argv[optind], &err) != 0)
		return cli_fail(&err);
	if (knn_lm_store(m) == NULL) {
		lm_free(m);
		return cli_failf("%s: a %s model, not a kNN store (write one with 'autodidact knn "
		    "build')", argv[optind], m->kind);
	}
	if (ad_map_file(argv[optind + 1], &map, &err) != 0) {
		lm_free(m);
		return cli_fail(&err);
	}
	rc = knn_tune(m, map.data, map.size, &t, &err);
	ad_map_release(&map);
	if (rc == 0)
		rc = knn_store_rewrite(argv[optind], o.output, &t.best, &err);
	if (rc != 0) {
		lm_free(m);
		return cli_fail(&err);
	}
	show = t.ngains < 10 ? t.ngains : 10;
	if (o.common.json) {
		struct ad_json j;
		ad_json_init(&j, stdout, 1);
		ad_json_object_begin(&j);
		ad_json_key(&j, "k"); ad_json_uint(&j, t.best.k);
		ad_json_key(&j, "lambda"); ad_json_double(&j, t.best.lambda);
		ad_json_key(&j, "temperature"); ad_json_double(&j, t.best.temperature);
		ad_json_key(&j, "metric"); ad_json_string(&j, knn_metric_name(t.best.metric));
		ad_json_key(&j, "tune_tokens"); ad_json_uint(&j, t.tune_tokens);
		ad_json_key(&j, "test_tokens"); ad_json_uint(&j, t.test_tokens);
		ad_json_key(&j, "test_bytes"); ad_json_uint(&j, t.test_bytes);
		ad_json_key(&j, "bpb_transformer"); ad_json_double(&j, bpb(t.test_nats_lm, t.test_bytes));
		ad_json_key(&j, "bpb_knn"); ad_json_double(&j, bpb(t.test_nats_knn, t.test_bytes));
		ad_json_key(&j, "knn_zero_tokens"); ad_json_uint(&j, t.test_knn_zero);
		ad_json_key(&j, "bpb_mixture"); ad_json_double(&j, bpb(t.test_nats_mix, t.test_bytes));
		ad_json_key(&j, "queries"); ad_json_uint(&j, t.queries);
		ad_json_key(&j, "search_seconds"); ad_json_double(&j, t.search_seconds);
		ad_json_key(&j, "search_gflops"); ad_json_double(&j, t.flops / t.search_seconds / 1e9);
		ad_json_key(&j, "gains");
		ad_json_array_begin(&j);
		for (size_t i = 0; i < t.ngains; i++) {
			ad_json_object_begin(&j);
			const uint8_t *b;
			size_t         bl;
			lm_token_text(m, t.gains[i].id, &b, &bl);
			ad_json_key(&j, "id"); ad_json_uint(&j, t.gains[i].id);
			ad_json_key(&j, "text"); ad_json_string_n(&j, (const char *)b, bl);
			ad_json_key(&j, "count"); ad_json_uint(&j, t.gains[i].count);
			ad_json_key(&j, "nats"); ad_json_double(&j, t.gains[i].nats);
			ad_json_object_end(&j);
		}
		ad_json_array_end(&j);
		ad_json_object_end(&j);
		ad_json_end(&j);
	} else {
		printf("tuned on the first half (%llu tokens): k %u, temperature %.4g, lambda %.2f "
		    "(%s)\n", (unsigned long long)t.tune_tokens, t.best.k, t.best.temperature,
		    t.best.lambda, knn_metric_name(t.best.metric));
		printf("second half: %llu tokens, %llu bytes\n", (unsigned long long)t.test_tokens,
		    (unsigned long long)t.test_bytes);
		printf("  %-22s %9.4f bits/byte\n", "transformer alone", bpb(t.test_nats_lm,
		    t.test_bytes));
		printf("  %-22s %9.4f bits/byte (%llu tokens got p = 0)\n", "p_kNN alone",
		    bpb(t.test_nats_knn, t.test_bytes), (unsigned long long)t.test_knn_zero);
		printf("  %-22s %9.4f bits/byte\n", "kNN-LM", bpb(t.test_nats_mix, t.test_bytes));
		printf("search: %llu queries in %.2f s, %.0f queries/s, %.1f GFLOP/s\n",
		    (unsigned long long)t.queries, t.search_seconds,
		    (double)t.queries / t.search_seconds, t.flops / t.search_seconds / 1e9);
		printf("tokens that gain most / lose most (nats summed over the second half):\n");
		for (size_t i = 0; i < show; i++)
			tune_print_gain(m, &t.gains[i]);
		printf("  ...\n");
		for (size_t i = t.ngains - show; i < t.ngains; i++)
			tune_print_gain(m, &t.gains[i]);
	}
	knn_tune_free(&t);
	lm_free(m);
	return fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the results");
}

/* ---- knn contrast --------------------------------------------------------- */

static void
contrast_md(FILE *f, const char *store, const struct knn_contrast *c)
{
	fprintf(f, "# Relative contrast of nearest-neighbour queries\n\n");
	fprintf(f, "Store `%s`: %llu keys of width %u sampled, %llu queries against all, k = %u.\n"
	    "Relative contrast (D_max - D_min) / D_min, Euclidean, mean over queries; agreement: "
	    "share of the k nearest whose next token is the query's (chance %.4f).\n\n", store,
	    (unsigned long long)c->points, c->C, (unsigned long long)c->queries, c->k, c->chance);
	fprintf(f, "| data | dimension | relative contrast | agreement |\n|---|---:|---:|---:|\n");
	for (size_t i = 0; i < c->nrows; i++)
		fprintf(f, "| %s | %u | %.4f | %.4f |\n", c->rows[i].set, c->rows[i].dim,
		    c->rows[i].contrast, c->rows[i].agree);
	fprintf(f, "\nIntrinsic dimension of the model's vectors: TwoNN %.1f; PCA: %.0f components "
	    "hold 90%% of the variance, participation ratio %.1f.\n", c->twonn, c->pca90,
	    c->participation);
}

static void
contrast_json(FILE *f, const char *store, const struct knn_contrast *c)
{
	struct ad_json j;

	ad_json_init(&j, f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "store"); ad_json_string(&j, store);
	ad_json_key(&j, "points"); ad_json_uint(&j, c->points);
	ad_json_key(&j, "queries"); ad_json_uint(&j, c->queries);
	ad_json_key(&j, "k"); ad_json_uint(&j, c->k);
	ad_json_key(&j, "width"); ad_json_uint(&j, c->C);
	ad_json_key(&j, "chance_agreement"); ad_json_double(&j, c->chance);
	ad_json_key(&j, "twonn"); ad_json_double(&j, c->twonn);
	ad_json_key(&j, "pca90"); ad_json_double(&j, c->pca90);
	ad_json_key(&j, "participation_ratio"); ad_json_double(&j, c->participation);
	ad_json_key(&j, "rows");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < c->nrows; i++) {
		ad_json_object_begin(&j);
		ad_json_key(&j, "data"); ad_json_string(&j, c->rows[i].set);
		ad_json_key(&j, "dimension"); ad_json_uint(&j, c->rows[i].dim);
		ad_json_key(&j, "contrast"); ad_json_double(&j, c->rows[i].contrast);
		ad_json_key(&j, "agreement"); ad_json_double(&j, c->rows[i].agree);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "spectrum");
	ad_json_array_begin(&j);
	for (uint32_t i = 0; i < c->C; i++)
		ad_json_double(&j, c->spectrum[i]);
	ad_json_array_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
}

/* Two plots: contrast and agreement against dimension, one series per set. */
static void
contrast_html(FILE *f, const char *store, const struct knn_contrast *c)
{
	static const char *sets[3] = { "gaussian", "model", "pca" };
	double             x[3][40], yc[3][40], ya[3][40], ch[1];
	size_t             n[3] = { 0, 0, 0 };
	struct ad_svg_plot_series s[4];

	for (size_t i = 0; i < c->nrows; i++)
		for (int k = 0; k < 3; k++)
			if (strcmp(c->rows[i].set, sets[k]) == 0 && n[k] < 40) {
				x[k][n[k]] = c->rows[i].dim;
				/* The contrast spans decades: plotted as its log10. */
				yc[k][n[k]] = log10(c->rows[i].contrast);
				ya[k][n[k]++] = c->rows[i].agree;
			}
	fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>autodidact knn contrast</title></head><body>\n", f);
	fputs("<h1>Relative contrast of nearest-neighbour queries</h1>\n<p>Store ", f);
	ad_xml_escape(f, store);
	fprintf(f, ": %llu keys of width %u, %llu queries, k = %u. Relative contrast "
	    "(D<sub>max</sub> &minus; D<sub>min</sub>) / D<sub>min</sub> (Beyer et al. 1999; "
	    "Aggarwal et al. 2001). Intrinsic dimension: TwoNN %.1f, PCA 90%% %.0f, participation "
	    "ratio %.1f.</p>\n", (unsigned long long)c->points, c->C,
	    (unsigned long long)c->queries, c->k, c->twonn, c->pca90, c->participation);
	for (int k = 0; k < 3; k++)
		s[k] = (struct ad_svg_plot_series){ sets[k], x[k], yc[k], n[k], k, k == 1 ?
		    AD_SVG_POINTS : AD_SVG_LINE };
	ad_svg_plot(f, &(struct ad_svg_chart){ .title = "Relative contrast against dimension",
	    .xlabel = "dimension", .ylabel = "log10 (Dmax - Dmin) / Dmin", .ref = NAN }, s, 3, 1);
	for (int k = 0; k < 3; k++)
		s[k].y = ya[k];
	ch[0] = c->chance;
	s[3] = (struct ad_svg_plot_series){ "chance", ch, ch, 1, 3, AD_SVG_HLINE };
	ad_svg_plot(f, &(struct ad_svg_chart){ .title = "Neighbours agreeing on the next token",
	    .xlabel = "dimension", .ylabel = "share of the k nearest", .ref = NAN }, s, 4, 1);
	fputs("<pre>\n", f);
	contrast_md(f, store, c);
	fputs("</pre>\n</body></html>\n", f);
}

static int
knn_contrast_cmd(int argc, char **argv)
{
	struct knn_opts     o;
	struct ad_error     err = { 0 };
	struct knn_store   *s;
	struct knn_contrast c;
	struct ad_atomic    a;
	int                 rc;

	if ((rc = knn_parse(argc, argv, "knn contrast", &o)) != 0)
		return rc < 0 ? cli_help(knn_help) : rc;
	if (argc - optind != 1)
		return cli_usage("knn contrast", "give one STORE");
	if (!o.k_given)
		o.p.k = 10;
	if (knn_store_open(&s, argv[optind], &err) != 0)
		return cli_fail(&err);
	rc = knn_contrast_run(s, o.points, o.queries, o.p.k, o.seed, &c, &err);
	knn_store_free(s);
	if (rc != 0)
		return cli_fail(&err);
	if ((rc = ad_atomic_open(&a, o.output != NULL ? o.output : "-", &err)) != 0) {
		knn_contrast_free(&c);
		return cli_fail(&err);
	}
	if (strcmp(o.format, "html") == 0)
		contrast_html(a.f, argv[optind], &c);
	else if (strcmp(o.format, "json") == 0)
		contrast_json(a.f, argv[optind], &c);
	else
		contrast_md(a.f, argv[optind], &c);
	knn_contrast_free(&c);
	if (ferror(a.f)) {
		ad_atomic_fail(&a, &err);
		return cli_fail(&err);
	}
	if (ad_atomic_commit(&a, &err) != 0)
		return cli_fail(&err);
	return CLI_EXIT_OK;
}

int
cmd_knn(int argc, char **argv)
{
	static const struct { const char *name; int (*run)(int, char **); } subs[] = {
		{ "build", knn_build_cmd }, { "tune", knn_tune_cmd }, { "set", knn_set_cmd },
		{ "contrast", knn_contrast_cmd },
	};

	if (argc < 2) {
		fputs(knn_help, stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cli_help(knn_help);
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(argc - 1, argv + 1);
	return cli_usage("knn", "'%s' is not a knn command: use build, tune, set or contrast", argv[1]);
}
