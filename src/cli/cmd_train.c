/*
 * cmd_train.c — "autodidact train KIND": dispatch to one model family.
 * Each family's command is in cmd_train_<kind>.c.
 */
#include "config.h"

#include <string.h>

#include "cli/cli.h"

struct train_kind {
	const char *name;
	const char *summary;
	int       (*run)(int argc, char **argv);
};

static const struct train_kind train_kinds[] = {
	{ "ngram", "interpolated modified Kneser-Ney n-gram model (KenLM-identical)", cmd_train_ngram },
	{ "transformer", "GPT-2 style transformer (causal next-token objective, AdamW)", cmd_train_transformer },
	{ NULL, NULL, NULL },
};

static void
train_help(FILE *f)
{
	fputs("usage: autodidact train KIND [OPTIONS] FILE...\n"
	    "\n"
	    "Train a language model on the next-token objective. Kinds:\n", f);
	for (const struct train_kind *k = train_kinds; k->name != NULL; k++)
		fprintf(f, "  %-12s  %s\n", k->name, k->summary);
	fputs("\n'autodidact train KIND --help' describes the options of a kind.\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help    show this help\n", f);
}

int
cmd_train(int argc, char **argv)
{
	if (argc < 2) {
		train_help(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		train_help(stdout);
		return CLI_EXIT_OK;
	}
	for (const struct train_kind *k = train_kinds; k->name != NULL; k++)
		if (strcmp(argv[1], k->name) == 0) {
			optind = 1;
			return k->run(argc - 1, argv + 1);
		}
	return cli_usage("train", "'%s' is not a kind of model", argv[1]);
}
