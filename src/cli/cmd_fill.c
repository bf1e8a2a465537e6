/*
 * cmd_fill.c — "autodidact fill MODEL TEXT": the most likely fillers of
 * each [MASK] in a sentence, for any model (lm_fill_text does the work).
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "cli/cli.h"
#include "lm/lm.h"

static const char fill_help[] =
"usage: autodidact fill [OPTIONS] MODEL TEXT\n"
"\n"
"Print, for each [MASK] in TEXT, the K most likely fillers and their\n"
"probabilities. Any model: a masked transformer gives its distribution at\n"
"the blank given both sides; an n-gram model rescores every token in the\n"
"whole sentence (exact); a causal transformer rescores the tokens most\n"
"likely after the left context (approximate). Fillers of 1 to 3 tokens are\n"
"tried and ranked together (--tokens fixes the length); several tokens are\n"
"chosen by an iterative decoder (masked: the most confident position first;\n"
"causal: a beam left to right), then rescored in the whole sentence.\n"
"\n"
"Options:\n"
"  -k, --top K           fillers to print per blank (default 5)\n"
"  --tokens N            fillers of exactly N tokens (1 to 8)\n"
"  --max-tokens N        fillers of 1 to N tokens (default 3; at most 8)\n"
"  --temperature T       the decoders' choices of a multi-token filler:\n"
"                        0 = the most likely (default), else draws\n"
"  -s, --seed S          random seed of those draws (default 1)\n"
"  --json                print JSON\n"
"  --threads N           threads for the model's forward pass\n"
"  -h, --help            show this help\n";

/* The filler's text: its tokens' bytes (words joined by spaces), without
 * the leading space that came from before the blank. */
static char *
fill_filler_text(const struct lm *m, const struct lm_filler *f, int moved_space)
{
	size_t len = 0, cap = 64;
	char  *s = malloc(cap);

	for (uint32_t i = 0; s != NULL && i < f->n; i++) {
		const uint8_t *b;
		size_t         n;
		lm_token_text(m, f->ids[i], &b, &n);
		if (len + n + 2 > cap) {
			char *p = realloc(s, cap = 2 * (len + n + 2));
			if (p == NULL) {
				free(s);
				return NULL;
			}
			s = p;
		}
		if (m->word_sep && i > 0)
			s[len++] = ' ';
		memcpy(s + len, b, n);
		len += n;
	}
	if (s == NULL)
		return NULL;
	s[len] = '\0';
	if (moved_space && s[0] == ' ')
		memmove(s, s + 1, len);
	return s;
}

/* The text with every blank holding its best filler. */
static char *
fill_best_text(const struct lm *m, const char *text, const struct lm_fill_blank *b, size_t nb)
{
	size_t len = strlen(text), cap = len + 1, out = 0, from = 0;
	char  *s = malloc(cap);

	for (size_t i = 0; s != NULL && i <= nb; i++) {
		size_t to = i < nb ? b[i].at : len, cut = i < nb && b[i].moved_space;
		char  *w = NULL;
		size_t wl = 0;
		if (i < nb) {
			if ((w = fill_filler_text(m, &b[i].fillers[0], 0)) == NULL) {
				free(s);
				return NULL;
			}
			wl = strlen(w);
		}
		if (out + (to - from) + wl + 3 > cap) {
			char *p = realloc(s, cap = 2 * (out + (to - from) + wl + 3));
			if (p == NULL) {
				free(s);
				free(w);
				return NULL;
			}
			s = p;
		}
		memcpy(s + out, text + from, to - from - cut);
		out += to - from - cut;
		/* A word model's words stand apart from whatever touches the blank. */
		if (w != NULL && m->word_sep && out > 0 && s[out - 1] != ' ')
			s[out++] = ' ';
		if (w != NULL)
			memcpy(s + out, w, wl);
		out += wl;
		if (w != NULL && m->word_sep && to + 6 < len && text[to + 6] != ' ')
			s[out++] = ' ';
		free(w);
		from = to + 6;   /* strlen("[MASK]") */
	}
	if (s != NULL)
		s[out] = '\0';
	return s;
}

/* How this model's fillers were found, in a few words. */
static const char *
fill_method(const struct lm *m, const struct lm_fill_cfg *cfg)
{
	if (lm_is_masked(m))
		return cfg->max_tokens == 1 ? "masked model: its distribution at the blank given "
		    "both sides (exact)" : "masked model: one token from its distribution at the "
		    "blank, several by an iterative decoder (most confident position first)";
	if (m->line_model)
		return cfg->max_tokens == 1 ? "n-gram: every token rescored in the whole sentence "
		    "(exact)" : "n-gram: one token by rescoring every token in the whole sentence, "
		    "several by a beam over the left context rescored in the whole sentence";
	return "causal transformer: candidates most likely after the left context, rescored "
	    "in the whole sentence (approximate: a filler the left context finds unlikely is "
	    "never tried)";
}

/* Print s with newlines and tabs escaped (one line per filler), and with
 * quotes and backslashes too when quoted. */
static void
fill_print_escaped(const char *s, int quoted)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs("\\n", stdout);
		else if (*s == '\t')
			fputs("\\t", stdout);
		else if (quoted && (*s == '"' || *s == '\\'))
			printf("\\%c", *s);
		else
			putchar(*s);
	}
}

int
cmd_fill(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "top",         required_argument, NULL, 'k' },
		{ "tokens",      required_argument, NULL, 'n' },
		{ "max-tokens",  required_argument, NULL, 'x' },
		{ "temperature", required_argument, NULL, 't' },
		{ "seed",        required_argument, NULL, 's' },
		{ "json",        no_argument,       NULL, 'j' },
		{ "threads",     required_argument, NULL, 'T' },
		{ "help",        no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lm_fill_cfg    cfg = { .k = 5, .min_tokens = 1, .max_tokens = 3, .seed = 1 };
	struct cli_common     common = { 0 };
	struct ad_error       err = { 0 };
	struct lm            *m = NULL;
	struct lm_fill_blank *b = NULL;
	struct ad_json        j;
	size_t                nb = 0;
	uint64_t              v;
	int                   c, rc, fixed = 0;
	const char           *text;

	while ((c = cli_getopt(argc, argv, "k:s:h", longopts, "fill")) != -1) {
		switch (c) {
		case 'k':
			if ((rc = cli_u64("fill", "-k", optarg, 1, 100000, &v)) != 0)
				return rc;
			cfg.k = (uint32_t)v;
			break;
		case 'n':
			if ((rc = cli_u64("fill", "--tokens", optarg, 1, LM_FILL_MAX_TOKENS, &v)) != 0)
				return rc;
			cfg.min_tokens = cfg.max_tokens = (uint32_t)v;
			fixed = 1;
			break;
		case 'x':
			if ((rc = cli_u64("fill", "--max-tokens", optarg, 1, LM_FILL_MAX_TOKENS, &v)) != 0)
				return rc;
			cfg.max_tokens = (uint32_t)v;
			break;
		case 't':
			if ((rc = cli_double("fill", "--temperature", optarg, 0, 100,
			    &cfg.temperature)) != 0)
				return rc;
			break;
		case 's':
			if ((rc = cli_u64("fill", "--seed", optarg, 0, UINT64_MAX, &cfg.seed)) != 0)
				return rc;
			break;
		case 'j': common.json = 1; break;
		case 'T':
			if ((rc = cli_u64("fill", "--threads", optarg, 1, 1024, &v)) != 0)
				return rc;
			common.threads = (int)v;
			break;
		case 'h': return cli_help(fill_help);
		default:  return CLI_EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage("fill", argc - optind < 1 ? "no model given" : argc - optind < 2 ?
		    "no text given: write [MASK] where a word is missing" :
		    "one model and one text (quote the text)");
	if (fixed)
		cfg.min_tokens = cfg.max_tokens;   /* --tokens wins over --max-tokens */
	text = argv[optind + 1];
	if (strstr(text, "[MASK]") == NULL)
		return cli_usage("fill", "the text has no blank: write [MASK] where a word is "
		    "missing");
	cli_apply_threads(&common);
	if (lm_open(&m, argv[optind], &err) != 0 ||
	    lm_fill_text(m, &cfg, text, &b, &nb, &err) != 0) {
		if (m != NULL)
			ad_error_prefix(&err, "%s", argv[optind]);
		lm_free(m);
		return cli_fail(&err);
	}
	if (common.json) {
		ad_json_init(&j, stdout, 1);
		ad_json_object_begin(&j);
		cli_json_model(&j, argv[optind], m);
		ad_json_object_end(&j);
		ad_json_key(&j, "text");
		ad_json_string(&j, text);
		ad_json_key(&j, "method");
		ad_json_string(&j, fill_method(m, &cfg));
		ad_json_key(&j, "min_tokens");
		ad_json_uint(&j, cfg.min_tokens);
		ad_json_key(&j, "max_tokens");
		ad_json_uint(&j, cfg.max_tokens);
		ad_json_key(&j, "temperature");
		ad_json_double(&j, cfg.temperature);
		ad_json_key(&j, "seed");
		ad_json_uint(&j, cfg.seed);
	} else {
		printf("model: %s (%s%s%s)\n%s\n", argv[optind], m->kind,
		    m->description[0] ? ", " : "", m->description, fill_method(m, &cfg));
	}
	rc = 0;
	{
		char *best = fill_best_text(m, text, b, nb);
		if (best == NULL) {
			rc = cli_failf("out of memory");
			goto out;
		}
		if (common.json) {
			ad_json_key(&j, "best");
			ad_json_string(&j, best);
			ad_json_key(&j, "blanks");
			ad_json_array_begin(&j);
		} else {
			fputs("best: ", stdout);
			fill_print_escaped(best, 0);
			putchar('\n');
		}
		free(best);
	}
	for (size_t i = 0; i < nb && rc == 0; i++) {
		size_t show = b[i].n < cfg.k ? b[i].n : cfg.k;
		if (common.json) {
			ad_json_object_begin(&j);
			ad_json_key(&j, "at");
			ad_json_uint(&j, b[i].at);
			ad_json_key(&j, "exact");
			ad_json_bool(&j, b[i].exact);
			ad_json_key(&j, "candidates");
			ad_json_uint(&j, b[i].n);
			ad_json_key(&j, "fillers");
			ad_json_array_begin(&j);
		} else {
			printf("blank %zu (byte %zu): %s over %s\n", i + 1, b[i].at,
			    "probabilities", b[i].exact ? "every token (the model's own)" :
			    "the candidates found");
		}
		for (size_t f = 0; f < show; f++) {
			char *w = fill_filler_text(m, &b[i].fillers[f], b[i].moved_space);
			if (w == NULL) {
				rc = cli_failf("out of memory");
				break;
			}
			if (common.json) {
				ad_json_object_begin(&j);
				ad_json_key(&j, "text");
				ad_json_string(&j, w);
				ad_json_key(&j, "tokens");
				ad_json_array_begin(&j);
				for (uint32_t t = 0; t < b[i].fillers[f].n; t++)
					ad_json_uint(&j, b[i].fillers[f].ids[t]);
				ad_json_array_end(&j);
				ad_json_key(&j, "p");
				ad_json_double(&j, exp(b[i].fillers[f].logp));
				ad_json_key(&j, "logp");
				ad_json_double(&j, b[i].fillers[f].logp);
				ad_json_key(&j, "score");
				ad_json_double(&j, b[i].fillers[f].score);
				ad_json_object_end(&j);
			} else {
				printf("%4zu  %.4f  \"", f + 1, exp(b[i].fillers[f].logp));
				fill_print_escaped(w, 1);
				fputs("\"\n", stdout);
			}
			free(w);
		}
		if (common.json) {
			ad_json_array_end(&j);
			ad_json_object_end(&j);
		}
	}
	if (common.json && rc == 0) {
		ad_json_array_end(&j);
		ad_json_object_end(&j);
		ad_json_end(&j);
	}
	if (rc == 0)
		rc = fflush(stdout) == 0 ? CLI_EXIT_OK : cli_failf("cannot write the results");
out:
	lm_fill_blanks_free(b, nb);
	lm_free(m);
	return rc;
}
