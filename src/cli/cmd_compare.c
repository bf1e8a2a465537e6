/*
 * cmd_compare.c — "autodidact compare FILE...": the comparison engine.
 *
 * One split of the corpus (data_split_files), one tokenizer, then every
 * model trained on the same training part by running this very program's
 * own commands (tokenize train, train ngram, train transformer) as child
 * processes: so each row's training time and peak memory are measured in
 * isolation (wait4's rusage), an interruption keeps every model already
 * finished, and the report can list the exact command behind each row.
 * Finished models are keyed by a hash of the split text and their whole
 * configuration, and reused by a later run instead of retrained. All models
 * are then scored on the same held-out part through lm_eval_text, sampled
 * for the same prompts and seed, and reported (src/compare/).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/rng.h"
#include "cli/cli.h"
#include "compare/compare.h"
#include "data/data.h"
#include "text/bpe.h"

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
"  --no-transformer       n-grams and baselines only\n"
"  --retrain              train every model again even if one can be reused\n"
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
"  -q, --quiet            no progress on stderr\n"
"  -h, --help             show this help\n";

#define CMP_MAX_PROMPTS 8
#define CMP_MAX_ORDERS  8

struct cmp_opts {
	const char *out, *val, *vocab, *preset, *lr;
	const char *layers, *heads, *dim, *context;
	double      val_fraction, temperature, top_p, budget;
	uint64_t    vocab_size, steps, batch, seed, tokens, top_k;
	int         orders[CMP_MAX_ORDERS + 1], norders;
	int         no_transformer, retrain;
	const char *prompts[CMP_MAX_PROMPTS];
	size_t      nprompts;
	struct cli_common common;
};

/* ---- small helpers ------------------------------------------------------------ */

static char *
cmp_path(const char *dir, const char *fmt, ...) AD_PRINTF(2, 3);

static char *
cmp_path(const char *dir, const char *fmt, ...)
{
	char    name[256], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if ((p = malloc(strlen(dir) + strlen(name) + 2)) != NULL)
		sprintf(p, "%s/%s", dir, name);
	return p;
}

static int
cmp_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static uint64_t
cmp_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* A key for a model: the split's hash and the model's whole configuration. */
static uint64_t
cmp_key(uint64_t split_hash, const char *config)
{
	return ad_hash64(config, strlen(config), split_hash);
}

/* The argv as one shell-readable line (single quotes where needed). */
static char *
cmp_join(char *const argv[])
{
	size_t len = 16;
	char  *s, *p;

	for (int i = 0; argv[i] != NULL; i++)
		len += 4 * strlen(argv[i]) + 3;
	if ((s = malloc(len)) == NULL)
		return NULL;
	p = s + sprintf(s, "autodidact");
	for (int i = 0; argv[i] != NULL; i++) {
		const char *a = argv[i];
		int quote = *a == '\0' || strpbrk(a, " \t\n'\"\\$`*?[]<>|&;()#~") != NULL;
		*p++ = ' ';
		if (!quote) {
			p += sprintf(p, "%s", a);
			continue;
		}
		*p++ = '\'';
		for (; *a; a++) {
			if (*a == '\'')
				p += sprintf(p, "'\\''");
			else
				*p++ = *a;
		}
		*p++ = '\'';
		*p = '\0';
	}
	return s;
}

/*
 * Run this program with argv (argv[0] is the command name, e.g. "train") as
 * a child process, its stdout sent to our stderr; measure its wall time and
 * peak resident memory.
 */
static int
cmp_run(char *const argv[], double *seconds, uint64_t *rss_kb, struct ad_error *e)
{
	char         *full[64];
	struct rusage ru;
	double        t0 = ad_now();
	pid_t         pid, w;
	int           status, n = 0, forwarded = 0;

	full[n++] = "autodidact";
	for (int i = 0; argv[i] != NULL && n < 63; i++)
		full[n++] = argv[i];
	full[n] = NULL;
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) < 0)
		return ad_fail_errno(e, errno, "cannot start '%s %s'", argv[0], argv[1]);
	if (pid == 0) {
		/* Its own process group: a Ctrl-C on the terminal reaches only
		 * compare, which passes exactly one SIGINT on (below), so the child
		 * stops cleanly (a second signal would kill it mid-checkpoint). */
		setpgid(0, 0);
		const char *self = getenv("AUTODIDACT_SELF");
		/* This program, unless AUTODIDACT_SELF names another (under
		 * valgrind /proc/self/exe is valgrind's own tool). */
		if (self == NULL || *self == '\0')
			self = "/proc/self/exe";
		dup2(STDERR_FILENO, STDOUT_FILENO);
		execv(self, full);
		fprintf(stderr, "autodidact: cannot run %s: %s\n", self, strerror(errno));
		_exit(127);
	}
	for (;;) {
		w = wait4(pid, &status, WNOHANG, &ru);
		if (w < 0 && errno == EINTR)
			continue;
		if (w != 0)
			break;
		if (ad_interrupted() && !forwarded) {
			kill(pid, SIGINT);
			forwarded = 1;
		}
		usleep(20000);
	}
	if (w < 0)
		return ad_fail_errno(e, errno, "waiting for '%s %s'", argv[0], argv[1]);
	*seconds = ad_now() - t0;
	*rss_kb = (uint64_t)ru.ru_maxrss;
	if (ad_interrupted())
		return ad_fail(e, AD_EINTR, "interrupted");
	if (WIFSIGNALED(status))
		return ad_fail(e, AD_EIO, "'autodidact %s %s' was killed by signal %d",
		    argv[0], argv[1], WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return ad_fail(e, AD_EIO, "'autodidact %s %s' failed (exit %d; its message is above)",
		    argv[0], argv[1], WEXITSTATUS(status));
	return 0;
}

/*
 * What an earlier run measured while training a model, kept beside it in
 * MODEL.run ("seconds S", "rss_kb K", "tokens T" lines) so that a reused
 * model still reports its cost.
 */
static int
cmp_run_save(const char *model, const struct compare_model *m, struct ad_error *e)
{
	char  path[4200], buf[256];
	int   n;

	snprintf(path, sizeof path, "%s.run", model);
	n = snprintf(buf, sizeof buf, "seconds %.17g\nrss_kb %llu\ntokens %.17g\n",
	    m->train_seconds, (unsigned long long)m->peak_rss_kb, m->train_tokens);
	return ad_write_file(path, buf, (size_t)n, e);
}

static int
cmp_run_load(const char *model, struct compare_model *m)
{
	char               path[4200];
	FILE              *f;
	unsigned long long rss = 0;
	int                got = 0;

	snprintf(path, sizeof path, "%s.run", model);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	got += fscanf(f, "seconds %lf\n", &m->train_seconds) == 1;
	got += fscanf(f, "rss_kb %llu\n", &rss) == 1;
	got += fscanf(f, "tokens %lf\n", &m->train_tokens) == 1;
	fclose(f);
	m->peak_rss_kb = rss;
	return got == 3 ? 0 : -1;
}

/* Train (or reuse) the model at path with argv; fill the cost fields of m. */
static int
cmp_train(struct compare_model *m, const char *path, char **argv, int retrain,
    double tokens, struct ad_error *e)
{
	int rc;

	m->path = strdup(path);
	m->command = cmp_join(argv);
	if (m->path == NULL || m->command == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	if (!retrain && cmp_exists(path) && cmp_run_load(path, m) == 0) {
		m->reused = 1;
		return 0;
	}
	if ((rc = cmp_run(argv, &m->train_seconds, &m->peak_rss_kb, e)) != 0)
		return rc;
	if (tokens > 0)
		m->train_tokens = tokens;
	return cmp_run_save(path, m, e);
}

/* ---- the transformer's learning curve, from its JSON Lines log ----------------- */

static double
cmp_json_number(const char *line, const char *key, int *ok)
{
	const char *p = strstr(line, key);
	char       *end;
	double      v;

	*ok = 0;
	if (p == NULL)
		return NAN;
	p += strlen(key);
	v = strtod(p, &end);
	*ok = end != p;
	return v;
}

/*
 * Read every held-out point (val_loss in nats per token) and convert it to
 * bits per byte with the held-out text's tokens per byte; also report the
 * last step.
 */
static void
cmp_curve(struct compare_model *m, const char *log, double tokens_per_byte, double *last_step)
{
	FILE  *f = fopen(log, "r");
	char   line[1024];
	size_t cap = 0;

	*last_step = 0;
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		int    ok1, ok2, ok3;
		double step = cmp_json_number(line, "\"step\":", &ok1);
		double val = cmp_json_number(line, "\"val_loss\":", &ok2);
		double sec = cmp_json_number(line, "\"elapsed\":", &ok3);

		if (ok1)
			*last_step = step;
		if (!ok1 || !ok2 || !ok3)
			continue;
		if (m->ncurve == cap) {
			struct compare_point *p = realloc(m->curve, (cap * 2 + 16) * sizeof *p);
			if (p == NULL)
				break;
			m->curve = p;
			cap = cap * 2 + 16;
		}
		m->curve[m->ncurve].step = step;
		m->curve[m->ncurve].seconds = sec;
		m->curve[m->ncurve].bpb = val * tokens_per_byte / M_LN2;
		m->ncurve++;
	}
	fclose(f);
}

/* ---- options ------------------------------------------------------------------ */

static int
cmp_parse_orders(const char *s, struct cmp_opts *o)
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
		if (end == s || v < 1 || v > 8 || o->norders >= CMP_MAX_ORDERS)
			return -1;
		o->orders[o->norders++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0')
			return -1;
	}
	return o->norders > 0 ? 0 : -1;
}

enum {
	O_VALFRAC = 256, O_VAL, O_VOCABSIZE, O_ORDERS, O_PRESET, O_LAYERS, O_HEADS, O_DIM,
	O_CONTEXT, O_STEPS, O_BUDGET, O_BATCH, O_LR, O_NOTRANS, O_RETRAIN, O_TEMP, O_TOPK,
	O_TOPP, O_THREADS,
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
		{ "retrain",        no_argument,       NULL, O_RETRAIN },
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
	const char *cmd = "compare";
	uint64_t    v;
	double      d;
	int         c, rc = 0;

	while ((c = cli_getopt(argc, argv, "o:t:p:n:s:qh", longopts, cmd)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case O_VALFRAC:
			rc = cli_double(cmd, "--val-fraction", optarg, 0.001, 0.9, &o->val_fraction);
			break;
		case O_VAL: o->val = optarg; break;
		case 't': o->vocab = optarg; break;
		case O_VOCABSIZE:
			rc = cli_u64(cmd, "--vocab-size", optarg, 257, 1u << 20, &o->vocab_size);
			break;
		case O_ORDERS:
			if (cmp_parse_orders(optarg, o) != 0)
				rc = cli_usage(cmd, "--orders: '%s' is not a list of orders in 1..8 "
				    "(e.g. 2..5 or 3,5)", optarg);
			break;
		case O_PRESET: o->preset = optarg; break;
		case O_LAYERS:
		case O_HEADS:
		case O_DIM:
		case O_CONTEXT:
			if ((rc = cli_u64(cmd, c == O_LAYERS ? "--layers" : c == O_HEADS ? "--heads" :
			    c == O_DIM ? "--dim" : "--context", optarg, 1, 1u << 16, &v)) == 0) {
				if (c == O_LAYERS) o->layers = optarg;
				if (c == O_HEADS) o->heads = optarg;
				if (c == O_DIM) o->dim = optarg;
				if (c == O_CONTEXT) o->context = optarg;
			}
			break;
		case O_STEPS: rc = cli_u64(cmd, "--steps", optarg, 1, 1u << 30, &o->steps); break;
		case O_BUDGET: rc = cli_double(cmd, "--time-budget", optarg, 1, 1e7, &o->budget); break;
		case O_BATCH: rc = cli_u64(cmd, "--batch", optarg, 1, 4096, &o->batch); break;
		case O_LR:
			if ((rc = cli_double(cmd, "--lr", optarg, 1e-8, 10, &d)) == 0)
				o->lr = optarg;
			break;
		case O_NOTRANS: o->no_transformer = 1; break;
		case O_RETRAIN: o->retrain = 1; break;
		case 'p':
			if (o->nprompts == CMP_MAX_PROMPTS)
				rc = cli_usage(cmd, "at most %d prompts", CMP_MAX_PROMPTS);
			else
				o->prompts[o->nprompts++] = optarg;
			break;
		case 'n': rc = cli_u64(cmd, "--tokens", optarg, 1, 100000, &o->tokens); break;
		case O_TEMP: rc = cli_double(cmd, "--temperature", optarg, 0, 100, &o->temperature); break;
		case O_TOPK: rc = cli_u64(cmd, "--top-k", optarg, 0, UINT32_MAX, &o->top_k); break;
		case O_TOPP: rc = cli_double(cmd, "--top-p", optarg, 1e-9, 1, &o->top_p); break;
		case 's': rc = cli_u64(cmd, "--seed", optarg, 0, UINT64_MAX, &o->seed); break;
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
	if (o->steps > 0 && o->budget > 0)
		return cli_usage(cmd, "give --steps or --time-budget, not both");
	if (o->val != NULL && o->val_fraction > 0)
		return cli_usage(cmd, "give --val FILE or --val-fraction, not both");
	if (o->vocab != NULL && o->vocab_size > 0)
		return cli_usage(cmd, "--vocab-size is for the tokenizer trained here; with -t the "
		    "vocabulary is given");
	return 0;
}

/* ---- the engine ---------------------------------------------------------------- */

/* lm_generate's emit: collect the text in a memory stream. */
static int
cmp_emit(void *ctx, const uint8_t *b, size_t n)
{
	return fwrite(b, 1, n, ctx) != n;
}

/* Default prompts: the first words of two held-out lines. */
static size_t
cmp_default_prompts(const struct data_split *sp, char **out, size_t max)
{
	size_t n = 0, lines = sp->val_lines, want[2] = { 0, lines / 2 }, line = 0, pos = 0;

	while (pos < sp->val_len && n < max && n < 2) {
		const uint8_t *nl = memchr(sp->val + pos, '\n', sp->val_len - pos);
		size_t         end = nl ? (size_t)(nl - sp->val) : sp->val_len, w = 0, k = pos;

		if (line >= want[n] && end > pos) {
			/* Up to four words. */
			while (k < end && w < 4) {
				while (k < end && sp->val[k] == ' ')
					k++;
				while (k < end && sp->val[k] != ' ')
					k++;
				w++;
			}
			if ((out[n] = strndup((const char *)sp->val + pos, k - pos)) != NULL)
				n++;
		}
		line++;
		pos = end + 1;
	}
	return n;
}

int
cmd_compare(int argc, char **argv)
{
	struct cmp_opts       o = { .out = "compare-out", .preset = "small", .temperature = 0.8,
	                            .top_p = 1.0, .batch = 8, .seed = 1, .tokens = 30 };
	struct ad_error       err = { 0 };
	struct data_split     sp = { 0 };
	struct compare_report rep = { 0 };
	struct compare_model  models[CMP_MAX_ORDERS + 3];
	struct bpe           *vocab = NULL;
	char                 *vocab_path = NULL, *train_path = NULL, *val_path = NULL;
	char                 *prompt_buf[CMP_MAX_PROMPTS] = { NULL };
	const char           *prompts[CMP_MAX_PROMPTS];
	char                  threads[16], seed[24], cfg[512], num[32];
	uint32_t             *ids = NULL;
	size_t                nids = 0, cap = 0, nm = 0, ntrain_tok = 0;
	uint64_t              split_hash;
	int                   rc, status = CLI_EXIT_FAIL;

	memset(models, 0, sizeof models);
	o.orders[0] = 2;
	o.orders[1] = 3;
	o.orders[2] = 4;
	o.orders[3] = 5;
	o.norders = 4;
	if ((rc = cmp_options(argc, argv, &o)) != 0)
		return rc < 0 ? CLI_EXIT_OK : rc;
	if (o.val == NULL && o.val_fraction == 0)
		o.val_fraction = 0.1;
	if (o.vocab == NULL && o.vocab_size == 0)
		o.vocab_size = 4096;
	if (o.steps == 0 && o.budget == 0)
		o.budget = 120;
	cli_apply_threads(&o.common);
	snprintf(threads, sizeof threads, "%d", o.common.threads);
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)o.seed);

	/* 1. One split, written where the children read it. */
	if (mkdir(o.out, 0777) != 0 && errno != EEXIST) {
		ad_fail_errno(&err, errno, "%s: cannot create the output directory", o.out);
		goto fail;
	}
	if (data_split_files(&sp, (const char *const *)argv + optind, (size_t)(argc - optind),
	    o.val_fraction, o.val, &err) != 0)
		goto fail;
	if (sp.val_len == 0) {
		ad_fail(&err, AD_EDATA, "the held-out part is empty: the corpus is too small for a "
		    "split (give more text, a larger --val-fraction, or --val FILE)");
		goto fail;
	}
	split_hash = ad_hash64(sp.val, sp.val_len, ad_hash64(sp.train, sp.train_len, 0));
	train_path = cmp_path(o.out, "train.txt");
	val_path = cmp_path(o.out, "val.txt");
	if (train_path == NULL || val_path == NULL) {
		ad_fail(&err, AD_ENOMEM, "out of memory");
		goto fail;
	}
	/* Rewritten only when they change, so a reused model's inputs stay put. */
	{
		struct ad_map m;
		int same = 0;
		if (ad_map_file(train_path, &m, NULL) == 0) {
			same = m.size == sp.train_len && memcmp(m.data, sp.train, m.size) == 0;
			ad_map_release(&m);
		}
		if (!same && ad_write_file(train_path, sp.train, sp.train_len, &err) != 0)
			goto fail;
		same = 0;
		if (ad_map_file(val_path, &m, NULL) == 0) {
			same = m.size == sp.val_len && memcmp(m.data, sp.val, m.size) == 0;
			ad_map_release(&m);
		}
		if (!same && ad_write_file(val_path, sp.val, sp.val_len, &err) != 0)
			goto fail;
	}

	/* 2. The tokenizer. */
	if (o.vocab != NULL) {
		vocab_path = strdup(o.vocab);
	} else {
		struct compare_model tm = { 0 };
		snprintf(cfg, sizeof cfg, "tokenizer v1 vocab-size %llu", (unsigned long long)o.vocab_size);
		vocab_path = cmp_path(o.out, "vocab-%016llx.txt",
		    (unsigned long long)cmp_key(ad_hash64(sp.train, sp.train_len, 0), cfg));
		snprintf(num, sizeof num, "%llu", (unsigned long long)o.vocab_size);
		char *targv[12];
		int   k = 0;
		targv[k++] = "tokenize";
		targv[k++] = "train";
		targv[k++] = "-o";
		targv[k++] = vocab_path;
		targv[k++] = "--vocab-size";
		targv[k++] = num;
		targv[k++] = "--quiet";
		if (o.common.threads) {
			targv[k++] = "--threads";
			targv[k++] = threads;
		}
		targv[k++] = train_path;
		targv[k] = NULL;
		if (vocab_path == NULL) {
			ad_fail(&err, AD_ENOMEM, "out of memory");
			goto fail;
		}
		if (!o.common.quiet)
			fprintf(stderr, "compare: tokenizer (%s ids)\n", num);
		if (cmp_train(&tm, vocab_path, targv, o.retrain, 0, &err) != 0) {
			compare_model_free(&tm, 0);
			goto fail;
		}
		compare_model_free(&tm, 0);
	}
	if (vocab_path == NULL || bpe_load(&vocab, vocab_path, &err) != 0)
		goto fail;
	if (data_tokenize(vocab, o.common.threads, sp.val, sp.val_len, &ids, &nids, &cap, &err) != 0)
		goto fail;
	rep.val_tokens = nids;
	nids = 0;
	if (data_tokenize(vocab, o.common.threads, sp.train, sp.train_len, &ids, &nids, &cap, &err) != 0)
		goto fail;
	ntrain_tok = nids;

	/* 3. The uniform baseline needs no training. */
	{
		struct compare_model *m = &models[nm++];
		snprintf(m->name, sizeof m->name, "uniform");
		m->kind = COMPARE_UNIFORM;
		m->eval.tokens = rep.val_tokens;
		m->eval.nats = (double)rep.val_tokens * log((double)bpe_vocab_size(vocab));
		m->eval.bytes = sp.val_len;
		m->eval.lines = sp.val_lines;
	}

	/* 4. n-grams: the unigram baseline, then the orders asked for. */
	{
		int orders[CMP_MAX_ORDERS + 1], n = 0;
		orders[n++] = 1;
		for (int i = 0; i < o.norders; i++)
			if (o.orders[i] != 1)
				orders[n++] = o.orders[i];
		for (int i = 0; i < n; i++) {
			struct compare_model *m = &models[nm++];
			char  *path, ord[8];
			snprintf(ord, sizeof ord, "%d", orders[i]);
			snprintf(cfg, sizeof cfg, "ngram v1 order %d vocab %016llx", orders[i],
			    (unsigned long long)bpe_identity(vocab));
			path = cmp_path(o.out, "ngram%d-%016llx.bin", orders[i],
			    (unsigned long long)cmp_key(split_hash, cfg));
			char *nargv[16];
			int   k = 0;
			nargv[k++] = "train";
			nargv[k++] = "ngram";
			nargv[k++] = "-t";
			nargv[k++] = vocab_path;
			nargv[k++] = "--order";
			nargv[k++] = ord;
			nargv[k++] = "-o";
			nargv[k++] = path;
			nargv[k++] = "--quiet";
			/* Small or synthetic text can leave a count-of-counts at zero. */
			nargv[k++] = "--discount-fallback";
			if (o.common.threads) {
				nargv[k++] = "--threads";
				nargv[k++] = threads;
			}
			nargv[k++] = train_path;
			nargv[k] = NULL;
			if (orders[i] == 1)
				snprintf(m->name, sizeof m->name, "unigram");
			else
				snprintf(m->name, sizeof m->name, "%d-gram", orders[i]);
			m->kind = COMPARE_NGRAM;
			m->order = orders[i];
			if (path == NULL) {
				ad_fail(&err, AD_ENOMEM, "out of memory");
				goto fail;
			}
			if (!o.common.quiet)
				fprintf(stderr, "compare: %s\n", m->name);
			rc = cmp_train(m, path, nargv, o.retrain, (double)ntrain_tok, &err);
			free(path);
			if (rc != 0)
				goto fail;
		}
	}

	/* 5. The transformer. */
	if (!o.no_transformer) {
		struct compare_model *m = &models[nm++];
		char  *path, *ckpt, *log, steps[24], budget[32], batch[24], val_every[24];
		char  *targv[48];
		int    k = 0;
		double last_step;

		snprintf(steps, sizeof steps, "%llu", (unsigned long long)o.steps);
		snprintf(budget, sizeof budget, "%g", o.budget);
		snprintf(batch, sizeof batch, "%llu", (unsigned long long)o.batch);
		snprintf(val_every, sizeof val_every, "%llu",
		    (unsigned long long)(o.steps >= 50 ? o.steps / 25 : o.steps > 0 ? 2 : 50));
		snprintf(cfg, sizeof cfg, "transformer v1 vocab %016llx preset %s layers %s heads %s "
		    "dim %s context %s steps %s budget %s batch %s lr %s seed %s",
		    (unsigned long long)bpe_identity(vocab), o.preset, o.layers ? o.layers : "-",
		    o.heads ? o.heads : "-", o.dim ? o.dim : "-", o.context ? o.context : "-",
		    steps, budget, batch, o.lr ? o.lr : "-", seed);
		path = cmp_path(o.out, "transformer-%016llx.bin",
		    (unsigned long long)cmp_key(split_hash, cfg));
		ckpt = cmp_path(o.out, "transformer-%016llx.bin.ckpt",
		    (unsigned long long)cmp_key(split_hash, cfg));
		log = cmp_path(o.out, "transformer-%016llx.jsonl",
		    (unsigned long long)cmp_key(split_hash, cfg));
		if (path == NULL || ckpt == NULL || log == NULL) {
			free(path);
			free(ckpt);
			free(log);
			ad_fail(&err, AD_ENOMEM, "out of memory");
			goto fail;
		}
		targv[k++] = "train";
		targv[k++] = "transformer";
		/* An interrupted run left a checkpoint: continue it. */
		if (!o.retrain && !cmp_exists(path) && cmp_exists(ckpt)) {
			targv[k++] = "--resume";
			targv[k++] = ckpt;
		} else {
			targv[k++] = "-t";
			targv[k++] = vocab_path;
			targv[k++] = "--preset";
			targv[k++] = (char *)o.preset;
			if (o.layers) { targv[k++] = "--layers"; targv[k++] = (char *)o.layers; }
			if (o.heads) { targv[k++] = "--heads"; targv[k++] = (char *)o.heads; }
			if (o.dim) { targv[k++] = "--dim"; targv[k++] = (char *)o.dim; }
			if (o.context) { targv[k++] = "--context"; targv[k++] = (char *)o.context; }
			targv[k++] = "--batch";
			targv[k++] = batch;
			if (o.lr) { targv[k++] = "--lr"; targv[k++] = (char *)o.lr; }
			targv[k++] = "--seed";
			targv[k++] = seed;
		}
		if (o.steps > 0) {
			targv[k++] = "--steps";
			targv[k++] = steps;
		} else {
			targv[k++] = "--time-budget";
			targv[k++] = budget;
		}
		targv[k++] = "--val";
		targv[k++] = val_path;
		/* A learning curve of about 25 points, each on a sample of the held-out
		 * text (the table's figure scores all of it). */
		targv[k++] = "--val-every";
		targv[k++] = val_every;
		targv[k++] = "--val-tokens";
		targv[k++] = "8192";
		targv[k++] = "--log";
		targv[k++] = log;
		targv[k++] = "-o";
		targv[k++] = path;
		if (o.common.quiet)
			targv[k++] = "--quiet";
		if (o.common.threads) {
			targv[k++] = "--threads";
			targv[k++] = threads;
		}
		targv[k++] = train_path;
		targv[k] = NULL;
		snprintf(m->name, sizeof m->name, "transformer (%s)", o.preset);
		m->kind = COMPARE_TRANSFORMER;
		if (!o.common.quiet)
			fprintf(stderr, "compare: %s\n", m->name);
		rc = cmp_train(m, path, targv, o.retrain, 0, &err);
		cmp_curve(m, log, (double)rep.val_tokens / (double)sp.val_len, &last_step);
		free(path);
		free(ckpt);
		free(log);
		if (rc != 0)
			goto fail;
		if (!m->reused)
			m->train_tokens = 0;   /* filled below from the model's shape */
		/* Tokens processed: steps x batch x context (context from the model). */
		{
			struct lm *lm;
			if (lm_open(&lm, m->path, &err) != 0)
				goto fail;
			if (!(m->train_tokens > 0)) {
				m->train_tokens = last_step * (double)o.batch * (double)lm->context;
				if (cmp_run_save(m->path, m, &err) != 0) {
					lm_free(lm);
					goto fail;
				}
			}
			lm_free(lm);
		}
	}

	/* 6. Score everything on the same held-out text; sample each model. */
	for (size_t p = 0; p < o.nprompts; p++)
		prompts[p] = o.prompts[p];
	rep.nprompts = o.nprompts;
	if (rep.nprompts == 0) {
		rep.nprompts = cmp_default_prompts(&sp, prompt_buf, CMP_MAX_PROMPTS);
		for (size_t p = 0; p < rep.nprompts; p++)
			prompts[p] = prompt_buf[p];
	}
	rep.sampling.temperature = o.temperature;
	rep.sampling.top_k = (uint32_t)o.top_k;
	rep.sampling.top_p = o.top_p;
	rep.sample_tokens = o.tokens;
	for (size_t i = 0; i < nm; i++) {
		struct compare_model *m = &models[i];
		struct lm            *lm;
		struct lm_generator  *gen;
		struct ad_progress   *prog;

		if (m->path == NULL)
			continue;
		if (lm_open(&lm, m->path, &err) != 0)
			goto fail;
		m->params = lm->params;
		m->file_bytes = cmp_file_size(m->path);
		prog = cli_progress(&o.common, "eval", sp.val_len, "B");
		rc = lm_eval_text(lm, sp.val, sp.val_len, &m->eval, prog, &err);
		ad_progress_free(prog);
		if (rc != 0) {
			lm_free(lm);
			ad_error_prefix(&err, "%s", m->path);
			goto fail;
		}
		if ((m->samples = calloc(rep.nprompts + 1, sizeof *m->samples)) == NULL ||
		    lm_generator_new(&gen, lm, &err) != 0) {
			lm_free(lm);
			if (err.code == 0)
				ad_fail(&err, AD_ENOMEM, "out of memory");
			goto fail;
		}
		for (size_t p = 0; p < rep.nprompts; p++) {
			struct ad_rng rng;
			char         *text = NULL;
			size_t        tlen = 0;
			FILE         *mem = open_memstream(&text, &tlen);

			if (mem == NULL) {
				rc = ad_fail(&err, AD_ENOMEM, "out of memory");
				break;
			}
			/* The same random stream for every model, one per prompt. */
			ad_rng_seed(&rng, o.seed, p);
			rc = lm_generate(gen, &rep.sampling, &rng, prompts[p], o.tokens, cmp_emit, mem,
			    NULL, NULL, &err);
			fclose(mem);
			if (rc != 0 && rc != AD_EINVAL) {
				free(text);
				break;
			}
			if (rc == AD_EINVAL) {
				/* The prompt means nothing to this model: say so in the report. */
				free(text);
				text = strdup("(the prompt encodes to no tokens for this model)");
				rc = 0;
			}
			m->samples[p] = text;
		}
		lm_generator_free(gen);
		lm_free(lm);
		if (rc != 0)
			goto fail;
	}

	/* 7. The report. */
	rep.files = (const char *const *)argv + optind;
	rep.nfiles = (size_t)(argc - optind);
	rep.corpus_hash = split_hash;
	rep.train_bytes = sp.train_len;
	rep.val_bytes = sp.val_len;
	rep.train_lines = sp.train_lines;
	rep.val_lines = sp.val_lines;
	rep.val_fraction = o.val_fraction;
	rep.val_path = o.val;
	rep.vocab_path = vocab_path;
	rep.vocab_size = bpe_vocab_size(vocab);
	rep.vocab_identity = bpe_identity(vocab);
	rep.seed = o.seed;
	rep.prompts = prompts;
	rep.models = models;
	rep.nmodels = nm;
	rep.outdir = o.out;
	{
		static const struct {
			const char *name;
			int (*write)(const struct compare_report *, FILE *);
		} formats[] = {
			{ "report.md", compare_write_markdown },
			{ "report.json", compare_write_json },
			{ "report.html", compare_write_html },
		};
		for (size_t i = 0; i < 3; i++) {
			struct ad_atomic a;
			char            *path = cmp_path(o.out, "%s", formats[i].name);
			if (path == NULL || ad_atomic_open(&a, path, &err) != 0) {
				free(path);
				if (err.code == 0)
					ad_fail(&err, AD_ENOMEM, "out of memory");
				goto fail;
			}
			if (formats[i].write(&rep, a.f) != 0) {
				ad_atomic_fail(&a, &err);
				free(path);
				goto fail;
			}
			rc = ad_atomic_commit(&a, &err);
			free(path);
			if (rc != 0)
				goto fail;
		}
	}
	compare_write_markdown(&rep, stdout);
	printf("\nThe report is in %s/report.md, %s/report.html and %s/report.json.\n",
	    o.out, o.out, o.out);
	status = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the report");
	goto done;
fail:
	if (err.code == AD_EINTR)
		ad_fail(&err, AD_EINTR, "interrupted; the models finished so far are kept in %s "
		    "and the next run reuses them", o.out);
	status = cli_fail(&err);
done:
	for (size_t i = 0; i < nm; i++)
		compare_model_free(&models[i], rep.nprompts);
	for (size_t p = 0; p < CMP_MAX_PROMPTS; p++)
		free(prompt_buf[p]);
	bpe_free(vocab);
	data_split_free(&sp);
	free(ids);
	free(vocab_path);
	free(train_path);
	free(val_path);
	return status;
}
