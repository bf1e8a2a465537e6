/*
 * cmd_sample.c — "autodidact sample MODEL": generate text from any model,
 * streamed as it is produced, with one sampler for every kind (lm.h).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/io.h"
#include "base/json.h"
#include "base/progress.h"
#include "base/rng.h"
#include "cli/cli.h"
#include "lm/lm.h"

static const char sample_help[] =
"usage: autodidact sample [OPTIONS] MODEL\n"
"\n"
"Generate text from a model, continuing a prompt. The text is written to\n"
"stdout as it is generated. MODEL is any model file autodidact wrote, an\n"
"ARPA file, or a GPT-2 checkpoint (see autodidact-models(5)). Without --prompt, the prompt is read from stdin when stdin is\n"
"not a terminal; an empty prompt starts a new sentence (n-gram models) or a\n"
"new line (transformers).\n"
"\n"
"Options:\n"
"  -p, --prompt TEXT     the text to continue\n"
"  -n, --tokens N        the most tokens to generate per sample (default 50)\n"
"  -t, --tokenizer FILE  a GPT-2 checkpoint's tokenizer: r50k_base.tiktoken,\n"
"                        or vocab.json with merges.txt beside it\n"
"  --temperature T       divide log-probabilities by T before drawing;\n"
"                        0 = always the most likely token (default 1)\n"
"  -k, --top-k K         draw only among the K most likely tokens (0 = all)\n"
"  -P, --top-p P         draw only among the most likely tokens whose\n"
"                        probabilities add up to P (nucleus; default 1 = all)\n"
"  -s, --seed S          random seed (default 1): the same seed, model and\n"
"                        options give the same text\n"
"  -c, --count N         number of samples, each from the prompt (default 1)\n"
"  --stop STRING         end a sample when STRING is generated (not printed);\n"
"                        \\n and \\t are understood\n"
"  --show-probs          show the probability each token was drawn with: on a\n"
"                        terminal each token coloured by it (plain >= 0.5,\n"
"                        yellow >= 0.2, red >= 0.05, white on red below);\n"
"                        otherwise one line per token, its text (\\n, \\t and\n"
"                        \\\\ escaped), a tab and the probability\n"
"  --json                print JSON: each sample's text and its tokens with\n"
"                        ids, the model's log-probabilities and (\"p\") the\n"
"                        probability each was drawn with\n"
"  --precision P         fp32 (default) or bf16: a transformer's matrix products\n"
"                        in bf16 with fp32 sums, reading its weights from a\n"
"                        bf16 copy (half the bytes per token), where the CPU\n"
"                        has AVX512-BF16\n"
"  --threads N           threads for the model's forward pass\n"
"  --timing              after each sample, print to stderr how many tokens\n"
"                        it generated, in how long (reading the prompt\n"
"                        included) and the rate, then the rate by position\n"
"                        (tokens 2-16, 17-32, 33-64, ...)\n"
"  -h, --help            show this help\n";

/* The text of one sample, and how much of it has been written out. */
struct sample_out {
	char   *buf;
	size_t  len, cap;
	size_t  emitted;
	int     stream;         /* write to stdout as we go */
	const char *stop;
	size_t  stoplen;
	int     stopped;
	int     oom;            /* the text could not be kept */
	/* --timing: tokens drawn so far, when the last one was, and when
	 * token 1, 16, 32, 64, ... was */
	int     timing;
	size_t  ntok, nmark, mark[40];
	double  last, when[40];
	/* --show-probs: where each token's text ends in buf (ends[i], for the
	 * *ngen tokens drawn so far; lm_generate counts a token before its
	 * text is emitted) */
	size_t       *ends;
	const size_t *ngen;
};

static int
out_append(struct sample_out *o, const uint8_t *b, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char  *p = ad_realloc(o->buf, cap);
		if (p == NULL)
			return -1;
		o->buf = p;
		o->cap = cap;
	}
	memcpy(o->buf + o->len, b, n);
	o->len += n;
	o->buf[o->len] = '\0';
	return 0;
}

static double
out_rate(size_t n, double dt)
{
	return dt > 0 ? (double)n / dt : 0.0;
}

/*
 * --timing's second line: the rate over tokens 2-16, 17-32, 33-64, ... to
 * the last (each range timed from the draw of the token before it to that
 * of its last), and over all tokens but the first, which includes reading
 * the prompt. How generation's cost grows with the context.
 */
static void
out_timing(struct sample_out *o, uint64_t s)
{
	if (o->ntok < 2)
		return;
	if (o->mark[o->nmark - 1] != o->ntok) {
		o->mark[o->nmark] = o->ntok;
		o->when[o->nmark++] = o->last;
	}
	fprintf(stderr, "autodidact: sample %llu: tokens/s by position:", (unsigned long long)s);
	for (size_t i = 1; i < o->nmark; i++)
		fprintf(stderr, " %zu-%zu %.1f", o->mark[i - 1] + 1, o->mark[i],
		    out_rate(o->mark[i] - o->mark[i - 1], o->when[i] - o->when[i - 1]));
	fprintf(stderr, ", 2-%zu %.1f\n", o->ntok,
	    out_rate(o->ntok - 1, o->when[o->nmark - 1] - o->when[0]));
}

/*
 * After new text: look for the stop string, then write what is safe — not
 * a possible beginning of the stop string, not an incomplete UTF-8
 * sequence split between tokens.
 */
static void
out_flush(struct sample_out *o, int final)
{
	size_t safe = o->len;

	if (o->stoplen > 0) {
		size_t from = o->emitted >= o->stoplen ? o->emitted - o->stoplen + 1 : 0;
		for (size_t i = from; i + o->stoplen <= o->len; i++)
			if (memcmp(o->buf + i, o->stop, o->stoplen) == 0) {
				o->len = i;
				o->stopped = 1;
				final = 1;
				break;
			}
		safe = o->len;
		if (!final)
			safe = o->len >= o->stoplen - 1 ? o->len - (o->stoplen - 1) : 0;
	}
	if (!final) {
		/* Back up over a trailing incomplete UTF-8 sequence (at most 3 bytes). */
		for (size_t k = 1; k <= 3 && k <= safe; k++) {
			unsigned char c = (unsigned char)o->buf[safe - k];
			if ((c & 0xc0) == 0x80)
				continue;          /* a continuation byte: keep looking */
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			if (need > k)
				safe -= k;     /* the sequence is not complete yet */
			break;
		}
	}
	if (safe < o->emitted)
		safe = o->emitted;
	if (o->stream && safe > o->emitted) {
		fwrite(o->buf + o->emitted, 1, safe - o->emitted, stdout);
		fflush(stdout);
	}
	o->emitted = safe;
}

/* Interpret \n, \t and \\ in a --stop value. */
static char *
sample_unescape(const char *s)
{
	char  *d = ad_malloc(strlen(s) + 1), *p = d;

	if (d == NULL)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			*p++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
		} else {
			*p++ = *s;
		}
	}
	*p = '\0';
	return d;
}

/* lm_generate's emit: collect, look for the stop string, write what is safe. */
static int
sample_emit(void *ctx, const uint8_t *b, size_t n)
{
	struct sample_out *o = ctx;

	if (o->timing) {
		o->last = ad_now();
		if (++o->ntok == 1 || (o->ntok >= 16 && (o->ntok & (o->ntok - 1)) == 0)) {
			o->mark[o->nmark] = o->ntok;
			o->when[o->nmark++] = o->last;
		}
	}
	if (out_append(o, b, n) != 0) {
		o->oom = 1;
		return 1;
	}
	if (o->ends != NULL && *o->ngen > 0)
		o->ends[*o->ngen - 1] = o->len;
	out_flush(o, 0);
	return o->stopped;
}

/*
 * --show-probs, once a sample is complete (its text cut at the stop
 * string): each token's text with the probability it was drawn with, as
 * ANSI colours on a terminal, otherwise as "text<TAB>p" lines.
 */
static void
sample_show_probs(const struct sample_out *o, const struct lm_gen_token *toks, size_t ngen,
    int colour)
{
	size_t start = 0;

	for (size_t i = 0; i < ngen && (start < o->len || i == 0); i++) {
		size_t end = o->ends[i] < o->len ? o->ends[i] : o->len;
		double p = toks[i].p;
		if (end < start)
			end = start;
		if (colour) {
			/* Four shades: sure, likely, a guess, a long shot. */
			const char *sgr = p >= 0.5 ? NULL : p >= 0.2 ? "33" : p >= 0.05 ? "31" : "97;41";
			/* A newline is written uncoloured, so that a background does
			 * not run on to the end of the terminal's line. */
			for (size_t k = start; k < end; k++) {
				if (sgr != NULL && (k == start || o->buf[k - 1] == '\n') && o->buf[k] != '\n')
					printf("\033[%sm", sgr);
				if (sgr != NULL && o->buf[k] == '\n' && k > start && o->buf[k - 1] != '\n')
					fputs("\033[0m", stdout);
				putchar(o->buf[k]);
			}
			if (sgr != NULL && end > start && o->buf[end - 1] != '\n')
				fputs("\033[0m", stdout);
		} else {
			for (size_t k = start; k < end; k++) {
				char ch = o->buf[k];
				if (ch == '\n')
					fputs("\\n", stdout);
				else if (ch == '\t')
					fputs("\\t", stdout);
				else if (ch == '\\')
					fputs("\\\\", stdout);
				else
					putchar(ch);
			}
			printf("\t%.6f\n", p);
		}
		start = end;
	}
}

int
cmd_sample(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "prompt",      required_argument, NULL, 'p' },
		{ "tokens",      required_argument, NULL, 'n' },
		{ "temperature", required_argument, NULL, 'e' },
		{ "tokenizer",   required_argument, NULL, 't' },
		{ "top-k",       required_argument, NULL, 'k' },
		{ "top-p",       required_argument, NULL, 'P' },
		{ "seed",        required_argument, NULL, 's' },
		{ "count",       required_argument, NULL, 'c' },
		{ "stop",        required_argument, NULL, 'S' },
		{ "json",        no_argument,       NULL, 'j' },
		{ "threads",     required_argument, NULL, 'T' },
		{ "precision",   required_argument, NULL, 'X' },
		{ "timing",      no_argument,       NULL, 'M' },
		{ "show-probs",  no_argument,       NULL, 'R' },
		{ "help",        no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lm_sampling  cfg = { 1.0, 0, 1.0 };
	struct cli_common   common = { 0 };
	struct ad_error     err = { 0 };
	struct ad_rng       rng;
	struct ad_json      j;
	struct lm            *m = NULL;
	struct lm_generator  *gen = NULL;
	struct sample_out     out = { 0 };
	struct lm_gen_token  *toks = NULL;
	char                 *prompt = NULL, *stop = NULL;
	const char           *tok = NULL;
	uint64_t              ntok = 50, seed = 1, count = 1, v;
	int                   c, rc = 0, timing = 0, probs = 0, colour = 0, bf16 = 0;

	while ((c = cli_getopt(argc, argv, "p:n:k:P:s:c:t:h", longopts, "sample")) != -1) {
		switch (c) {
		case 'p':
			ad_free(prompt);
			if ((prompt = ad_strdup(optarg)) == NULL)
				return cli_failf("out of memory");
			break;
		case 'n':
			if ((rc = cli_u64("sample", "--tokens", optarg, 1, 1u << 30, &ntok)) != 0)
				goto usage;
			break;
		case 't': tok = optarg; break;
		case 'e':
			if ((rc = cli_double("sample", "--temperature", optarg, 0, 100, &cfg.temperature)) != 0)
				goto usage;
			break;
		case 'k':
			if ((rc = cli_u64("sample", "--top-k", optarg, 0, UINT32_MAX, &v)) != 0)
				goto usage;
			cfg.top_k = (uint32_t)v;
			break;
		case 'P':
			if ((rc = cli_double("sample", "--top-p", optarg, 1e-9, 1, &cfg.top_p)) != 0)
				goto usage;
			break;
		case 's':
			if ((rc = cli_u64("sample", "--seed", optarg, 0, UINT64_MAX, &seed)) != 0)
				goto usage;
			break;
		case 'c':
			if ((rc = cli_u64("sample", "--count", optarg, 1, 1000000, &count)) != 0)
				goto usage;
			break;
		case 'S':
			ad_free(stop);
			if ((stop = sample_unescape(optarg)) == NULL)
				return cli_failf("out of memory");
			if (*stop == '\0') {
				rc = cli_usage("sample", "--stop: the stop string is empty");
				goto usage;
			}
			break;
		case 'j': common.json = 1; break;
		case 'M': timing = 1; break;
		case 'X':
			if ((rc = cli_precision("sample", optarg, &bf16)) != 0)
				goto usage;
			break;
		case 'R': probs = 1; break;
		case 'T':
			if ((rc = cli_u64("sample", "--threads", optarg, 1, 1024, &v)) != 0)
				goto usage;
			common.threads = (int)v;
			break;
		case 'h':
			ad_free(prompt);
			ad_free(stop);
			return cli_help(sample_help);
		default:
			rc = CLI_EXIT_USAGE;
			goto usage;
		}
	}
	if (optind >= argc) {
		rc = cli_usage("sample", "no model given");
		goto usage;
	}
	if (argc - optind > 1) {
		rc = cli_usage("sample", "unexpected argument '%s' (quote a prompt with spaces: --prompt \"...\")",
		    argv[optind + 1]);
		goto usage;
	}
	cli_apply_threads(&common);
	if (prompt == NULL) {
		struct ad_map map;
		if (!isatty(STDIN_FILENO)) {
			if (ad_map_file("-", &map, &err) != 0)
				goto fail;
			prompt = ad_malloc(map.size + 1);
			if (prompt != NULL) {
				memcpy(prompt, map.data, map.size);
				prompt[map.size] = '\0';
			}
			ad_map_release(&map);
		} else {
			prompt = ad_strdup("");
		}
		if (prompt == NULL) {
			ad_fail(&err, AD_ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (lm_open_with(&m, argv[optind], tok, &err) != 0)
		goto fail;
	if (lm_is_masked(m)) {
		ad_fail(&err, AD_EINVAL, "%s: a masked (bidirectional) model cannot generate text "
		    "left to right; fill blanks with it instead: autodidact fill MODEL 'text with "
		    "[MASK]'", argv[optind]);
		goto fail;
	}
	if (cli_apply_precision(m, bf16, 0, &err) != 0 || lm_generator_new(&gen, m, &err) != 0)
		goto fail;
	if ((toks = ad_mallocarray(ntok, sizeof *toks)) == NULL) {
		ad_fail(&err, AD_ENOMEM, "out of memory");
		goto fail;
	}
	/* --show-probs prints each sample when it is complete. */
	out.stream = !common.json && !probs;
	if (probs && !common.json) {
		if ((out.ends = ad_calloc(ntok, sizeof *out.ends)) == NULL) {
			ad_fail(&err, AD_ENOMEM, "out of memory");
			goto fail;
		}
		colour = isatty(STDOUT_FILENO);
	}
	out.stop = stop;
	out.stoplen = stop ? strlen(stop) : 0;
	ad_rng_seed(&rng, seed, 0x73616d706c65ULL /* "sample" */);
	if (common.json) {
		ad_json_init(&j, stdout, 1);
		ad_json_object_begin(&j);
		ad_json_key(&j, "model");
		ad_json_string(&j, argv[optind]);
		ad_json_key(&j, "kind");
		ad_json_string(&j, m->kind);
		ad_json_key(&j, "seed");
		ad_json_uint(&j, seed);
		ad_json_key(&j, "temperature");
		ad_json_double(&j, cfg.temperature);
		ad_json_key(&j, "top_k");
		ad_json_uint(&j, cfg.top_k);
		ad_json_key(&j, "top_p");
		ad_json_double(&j, cfg.top_p);
		ad_json_key(&j, "prompt");
		ad_json_string(&j, prompt);
		ad_json_key(&j, "samples");
		ad_json_array_begin(&j);
	}
	for (uint64_t s = 0; s < count; s++) {
		size_t ngen = 0;
		double t0 = ad_now(), dt;

		out.ngen = &ngen;
		out.len = out.emitted = 0;
		out.stopped = 0;
		out.timing = timing;
		out.ntok = out.nmark = 0;
		if (lm_generate(gen, &cfg, &rng, prompt, ntok, sample_emit, &out, toks, &ngen,
		    &err) != 0)
			goto fail;
		dt = ad_now() - t0;
		if (timing) {
			fprintf(stderr, "autodidact: sample %llu: %zu tokens in %.6f s, %.1f tokens/s\n",
			    (unsigned long long)s + 1, ngen, dt, out_rate(ngen, dt));
			out_timing(&out, s + 1);
		}
		if (out.oom) {
			ad_fail(&err, AD_ENOMEM, "out of memory for the generated text");
			goto fail;
		}
		out_flush(&out, 1);
		if (common.json) {
			ad_json_object_begin(&j);
			ad_json_key(&j, "text");
			ad_json_string_n(&j, out.buf ? out.buf : "", out.len);
			ad_json_key(&j, "stopped");
			ad_json_bool(&j, out.stopped);
			ad_json_key(&j, "tokens");
			ad_json_array_begin(&j);
			for (size_t i = 0; i < ngen; i++) {
				const uint8_t *b;
				size_t         blen;
				lm_token_text(m, toks[i].id, &b, &blen);
				ad_json_object_begin(&j);
				ad_json_key(&j, "id");
				ad_json_uint(&j, toks[i].id);
				ad_json_key(&j, "text");
				ad_json_string_n(&j, (const char *)b, blen);
				ad_json_key(&j, "logprob");
				ad_json_double(&j, toks[i].logp);
				ad_json_key(&j, "p");
				ad_json_double(&j, toks[i].p);
				ad_json_object_end(&j);
			}
			ad_json_array_end(&j);
			ad_json_object_end(&j);
		} else if (probs && !colour) {
			sample_show_probs(&out, toks, ngen, 0);
			if (s + 1 < count)
				putchar('\n');
		} else {
			if (probs)
				sample_show_probs(&out, toks, ngen, 1);
			if (out.len == 0 || out.buf[out.len - 1] != '\n')
				putchar('\n');
			if (s + 1 < count)
				putchar('\n');
		}
	}
	if (common.json) {
		ad_json_array_end(&j);
		ad_json_object_end(&j);
		ad_json_end(&j);
	}
	rc = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the samples");
	goto done;
fail:
	if (out.stream && out.len > out.emitted)
		out_flush(&out, 1);
	rc = cli_fail(&err);
done:
	lm_generator_free(gen);
	lm_free(m);
	ad_free(toks);
	ad_free(out.ends);
	ad_free(out.buf);
	ad_free(prompt);
	ad_free(stop);
	return rc;
usage:
	ad_free(prompt);
	ad_free(stop);
	return rc;
}
