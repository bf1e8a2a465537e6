/*
 * main.c — the autodidact program: global options and the command table.
 * Each command lives in src/cli/cmd_<name>.c.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/io.h"
#include "cli/cli.h"
#include "nn/nn.h"

const struct cli_command cli_commands[] = {
	{ "tokenize", "learn a byte-level BPE vocabulary; text to token ids and back", cmd_tokenize },
	{ "train",    "train a language model (n-gram or transformer) on text", cmd_train },
	{ "compare",  "train every kind of model on one split and compare them", cmd_compare },
	{ "eval",     "score held-out text: nats/token, perplexity, bits per byte", cmd_eval },
	{ "sample",   "generate text from a model (temperature, top-k, top-p)", cmd_sample },
	{ "fill",     "the most likely fillers of each [MASK] in a sentence, any model", cmd_fill },
	{ "probe",    "report the social associations models learned, beside their corpus", cmd_probe },
	{ "synth",    "write a synthetic corpus with a known, injected bias", cmd_synth },
	{ "export",   "write a transformer in the Hugging Face GPT-2 layout (safetensors)", cmd_export },
	{ NULL, NULL, NULL },
};

static const char main_usage[] =
"usage: autodidact COMMAND [OPTIONS] [ARGS]\n"
"       autodidact help COMMAND\n"
"       autodidact --help | --version\n"
"\n"
"A self-supervised text-model playground: train a tokenizer and language\n"
"models on raw text, compare them, sample from them and probe them for bias.\n"
"\n"
"Commands:\n";

static void
main_help(FILE *f)
{
	fputs(main_usage, f);
	for (const struct cli_command *c = cli_commands; c->name != NULL; c++)
		fprintf(f, "  %-10s  %s\n", c->name, c->summary);
	fputs("\n'autodidact COMMAND --help' (or 'autodidact help COMMAND') describes a command;\n"
	    "'man autodidact' describes them all.\n", f);
}

static const struct cli_command *
main_find(const char *name)
{
	for (const struct cli_command *c = cli_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

/*
 * GNU OpenMP (libgomp) threads that wait at a barrier spin for up to 300,000
 * iterations before sleeping. When anything else runs on the machine (make
 * check -j2, a second job, a browser), a spinning thread holds a core its
 * partner needs, and a transformer step with thousands of barriers ran 20 to
 * 50 times slower than on one thread. A short spin keeps the fast wake-up
 * when the machine is idle. libgomp reads the setting when it is loaded,
 * before main, so the program re-executes itself once with it set, unless
 * the user chose a policy.
 */
static void
main_tune_openmp(char **argv)
{
#ifdef _OPENMP
	if (getenv("OMP_WAIT_POLICY") != NULL || getenv("GOMP_SPINCOUNT") != NULL)
		return;
	if (setenv("GOMP_SPINCOUNT", "10000", 1) != 0)
		return;
	execv("/proc/self/exe", argv);
	/* Could not re-execute: carry on with the default policy. */
#else
	(void)argv;
#endif
}

/*
 * AD_NN_KERNEL=portable or =avx2 forces the transformer's matrix-product
 * micro-kernel for every command (autodidact-train-transformer(1),
 * ENVIRONMENT); unset or any other value, the CPU decides at the first
 * product.
 */
static void
main_kernel_from_env(void)
{
	const char *k = getenv("AD_NN_KERNEL");

	if (k != NULL && strcmp(k, "portable") == 0)
		nn_kernel_select(NN_KERNEL_PORTABLE);
	else if (k != NULL && strcmp(k, "avx2") == 0)
		nn_kernel_select(NN_KERNEL_AVX2);
}

/* The first SIGINT/SIGTERM asks the work to stop cleanly; a second one kills. */
static void
main_on_signal(int signo)
{
	ad_interrupt_set(signo);
	signal(signo, SIG_DFL);
}

int
main(int argc, char **argv)
{
	const struct cli_command *c;
	const char               *fail;
	char                     *help_argv[3];

	main_tune_openmp(argv);
	if ((fail = getenv("AD_FAIL_ALLOC")) != NULL && *fail != '\0')
		ad_alloc_fail_after(strtol(fail, NULL, 10));
	if ((fail = getenv("AD_FAIL_WRITE")) != NULL && *fail != '\0')
		ad_write_fail_after(strtoll(fail, NULL, 10));
	main_kernel_from_env();
	signal(SIGINT, main_on_signal);
	signal(SIGTERM, main_on_signal);

	if (argc < 2) {
		main_help(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		main_help(stdout);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("autodidact %s\n", PACKAGE_VERSION);
		return CLI_EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		if (argc < 3) {
			main_help(stdout);
			return CLI_EXIT_OK;
		}
		if ((c = main_find(argv[2])) == NULL)
			return cli_usage(NULL, "'%s' is not a command", argv[2]);
		help_argv[0] = argv[2];
		help_argv[1] = "--help";
		help_argv[2] = NULL;
		return c->run(2, help_argv);
	}
	if (argv[1][0] == '-')
		return cli_usage(NULL, "unknown option '%s'", argv[1]);
	if ((c = main_find(argv[1])) == NULL)
		return cli_usage(NULL, "'%s' is not a command", argv[1]);
	optind = 1;
	return c->run(argc - 1, argv + 1);
}
