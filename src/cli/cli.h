/*
 * cli.h — what the command files share: the command table, usage errors,
 * option-value parsing and the common options (--quiet, --json, --threads).
 *
 * Only src/cli/ prints or exits. Exit status: 0 success, 1 failure, 2 usage
 * error. Errors are one line on stderr: "autodidact: FILE:LINE: message" for
 * failures (the library writes the "FILE:LINE: message" part) and
 * "autodidact CMD: message (try 'autodidact CMD --help')" for usage errors.
 */
#ifndef AD_CLI_H
#define AD_CLI_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"
#include "base/progress.h"

#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

struct cli_command {
	const char *name;
	const char *summary;          /* one line for "autodidact --help" */
	int       (*run)(int argc, char **argv);  /* argv[0] is the command name */
};

/* The command table, ending with a NULL name (main.c). */
extern const struct cli_command cli_commands[];

/* The command files (one line each; keep in the order of main.c's table). */
int cmd_tokenize(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_train_transformer(int argc, char **argv);
int cmd_train_ngram(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_fill(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_knn(int argc, char **argv);

/* Print a usage error for cmd and return CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) AD_PRINTF(2, 3);
/* Print a failure ("autodidact: " + e->msg) and return CLI_EXIT_FAIL. */
int cli_fail(const struct ad_error *e);
/* Print a failure from a format and return CLI_EXIT_FAIL. */
int cli_failf(const char *fmt, ...) AD_PRINTF(1, 2);

/*
 * getopt_long with our error messages: returns the option, -1 at the end, or
 * '?' after printing a usage error (unknown option, missing argument).
 * shortopts must not start with ':' (added here).
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts,
               const char *cmd);

/*
 * Option values. Each returns 0 and sets *out, or prints a usage error naming
 * the option and the accepted range and returns CLI_EXIT_USAGE. Negative,
 * NaN, infinite, trailing garbage and out-of-range values are all rejected.
 */
int cli_u64(const char *cmd, const char *opt, const char *arg, uint64_t min, uint64_t max,
            uint64_t *out);
int cli_double(const char *cmd, const char *opt, const char *arg, double min, double max,
               double *out);

/* Common options shared by every command that does long work. */
struct cli_common {
	int quiet;      /* --quiet: no progress */
	int json;       /* --json: machine-readable results on stdout */
	int threads;    /* --threads N; 0 = OpenMP's default */
};

/* A progress reporter on stderr honouring --quiet (NULL when quiet). */
struct ad_progress *cli_progress(const struct cli_common *c, const char *label,
                                 uint64_t total, const char *unit);
/* Apply --threads to OpenMP. */
void cli_apply_threads(const struct cli_common *c);

/*
 * --precision fp32|bf16 of the commands that run models: cli_precision
 * parses it (or prints a usage error), cli_apply_precision gives it to a
 * model (lm_set_bf16) and, unless quiet, says on stderr when the CPU runs
 * bf16 in fp32.
 */
struct lm;
int cli_precision(const char *cmd, const char *arg, int *bf16);
int cli_apply_precision(struct lm *m, int bf16, int quiet, struct ad_error *e);

/* The "model" object of a command's JSON output: path, kind, objective and
 * description, left open for the caller's further keys (and its end). */
struct ad_json;
void cli_json_model(struct ad_json *j, const char *path, const struct lm *m);

/* Print text to stdout (help screens); returns CLI_EXIT_OK. */
int cli_help(const char *text);

/*
 * The MPI job's configuration from the environment (dist_env.c): whether a
 * launcher started the process, AD_MPI_TIMEOUT, AD_MPI_BUCKET_KB and
 * AD_MPI_OVERLAP; installs the watchdog's SIGALRM handler when the process
 * runs under a launcher in a build with MPI. A bad value is AD_EINVAL.
 */
struct nn_dist_config;
int cli_dist_config(struct nn_dist_config *c, struct ad_error *e);

#endif
