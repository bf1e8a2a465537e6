/*
 * cli.c — shared command-line helpers. See cli.h.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/json.h"
#include "cli/cli.h"
#include "lm/lm.h"
#include "nn/nn.h"

int
cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "autodidact%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'autodidact %s%s--help')\n", cmd ? cmd : "", cmd ? " " : "");
	return CLI_EXIT_USAGE;
}

int
cli_fail(const struct ad_error *e)
{
	fprintf(stderr, "autodidact: %s\n", e->msg[0] ? e->msg : ad_strerror(e->code));
	return CLI_EXIT_FAIL;
}

int
cli_failf(const char *fmt, ...)
{
	va_list ap;

	fputs("autodidact: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int
cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
    const char *cmd)
{
	char buf[128];
	int  c, idx = -1;

	snprintf(buf, sizeof buf, ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, buf, longopts, &idx);
	if (c == '?') {
		if (optopt != 0)
			cli_usage(cmd, "unknown option '-%c'", optopt);
		else
			cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
		return '?';
	}
	if (c == ':') {
		if (optopt != 0 && idx < 0 && strchr(shortopts, optopt) != NULL)
			cli_usage(cmd, "option '-%c' needs a value", optopt);
		else
			cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
		return '?';
	}
	return c;
}

int
cli_u64(const char *cmd, const char *opt, const char *arg, uint64_t min, uint64_t max,
    uint64_t *out)
{
	char              *end;
	unsigned long long v;

	errno = 0;
	/* strtoull skips all white space and then takes a minus sign as a
	 * negation ("\t-1" would become 2^64 - 1): refuse any sign here. */
	while (isspace((unsigned char)*arg))
		arg++;
	if (*arg == '-' || *arg == '\0')
		return cli_usage(cmd, "%s: '%s' is not a whole number in [%llu, %llu]", opt, arg,
		    (unsigned long long)min, (unsigned long long)max);
	v = strtoull(arg, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return cli_usage(cmd, "%s: '%s' is not a whole number in [%llu, %llu]", opt, arg,
		    (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

int
cli_double(const char *cmd, const char *opt, const char *arg, double min, double max,
    double *out)
{
	char  *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno != 0 || end == arg || *end != '\0' || !isfinite(v) || v < min || v > max)
		return cli_usage(cmd, "%s: '%s' is not a number in [%g, %g]", opt, arg, min, max);
	*out = v;
	return 0;
}

struct ad_progress *
cli_progress(const struct cli_common *c, const char *label, uint64_t total, const char *unit)
{
	const char *cols = getenv("COLUMNS");   /* the width where the terminal gives none */

	return ad_progress_new(stderr, c->quiet ? AD_PROGRESS_QUIET : AD_PROGRESS_AUTO,
	    cols != NULL ? atoi(cols) : 0, label, total, unit);
}

void
cli_apply_threads(const struct cli_common *c)
{
#ifdef _OPENMP
	if (c->threads > 0)
		omp_set_num_threads(c->threads);
#else
	(void)c;
#endif
}

int
cli_precision(const char *cmd, const char *arg, int *bf16)
{
	enum nn_precision p;

	if (nn_precision_parse(arg, &p) != 0)
		return cli_usage(cmd, "--precision: '%s' is not fp32 or bf16", arg);
	*bf16 = p == NN_PREC_BF16;
	return 0;
}

int
cli_apply_precision(struct lm *m, int bf16, int quiet, struct ad_error *e)
{
	int rc = lm_set_bf16(m, bf16, e);

	if (rc == 0 && bf16 && !quiet && !nn_bf16_available())
		fprintf(stderr, "autodidact: precision bf16: this CPU lacks AVX512-BF16 (or the "
		    "AVX-512 kernel is not in force): the products run in fp32\n");
	return rc;
}

void
cli_json_model(struct ad_json *j, const char *path, const struct lm *m)
{
	ad_json_key(j, "model");
	ad_json_object_begin(j);
	ad_json_key(j, "path");
	ad_json_string(j, path);
	ad_json_key(j, "kind");
	ad_json_string(j, m->kind);
	ad_json_key(j, "objective");
	ad_json_string(j, m->objective);
	ad_json_key(j, "description");
	ad_json_string(j, m->description);
}

int
cli_help(const char *text)
{
	fputs(text, stdout);
	return CLI_EXIT_OK;
}
