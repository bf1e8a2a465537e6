/*
 * write.c — the comparison report as Markdown, JSON and HTML, and the
 * three files in the work directory. See compare.h. Every writer shows the
 * same facts in the same order: the corpus and its split, the table of
 * held-out results and costs, the samples, how to read the numbers, and the
 * commands that trained each model (so any row can be reproduced by hand).
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "base/progress.h"
#include "compare/compare.h"
#include "compare/compare_impl.h"
#include "base/svg.h"

void
compare_model_free(struct compare_model *m, size_t nprompts)
{
	if (m == NULL)
		return;
	ad_free(m->path);
	ad_free(m->command);
	ad_free(m->curve);
	if (m->samples != NULL)
		for (size_t i = 0; i < nprompts; i++)
			ad_free(m->samples[i]);
	ad_free(m->samples);
	if (m->shades != NULL)
		for (size_t i = 0; i < nprompts; i++)
			ad_free(m->shades[i]);
	ad_free(m->shades);
	ad_free(m->nshades);
	compare_fill_free(&m->fill);
	memset(m, 0, sizeof *m);
}

const struct compare_model *
compare_best(const struct compare_report *r)
{
	const struct compare_model *best = NULL;

	for (size_t i = 0; i < r->nmodels; i++) {
		double b = lm_eval_bits_per_byte(&r->models[i].eval);
		if (isfinite(b) && (best == NULL || b < lm_eval_bits_per_byte(&best->eval)))
			best = &r->models[i];
	}
	return best;
}

static const char compare_reading[] =
"Every model is scored on the same held-out text by the same code. "
"*Bits per byte* (total nats / ln 2 / bytes of the held-out text) is the "
"figure to compare: it does not depend on how the text was cut into tokens, "
"so it is fair between models with different vocabularies. *Nats per token* "
"and *perplexity* (e to the nats per token: the number of equally likely "
"choices the model is as unsure as) are per token of each model's own "
"tokenization; for an n-gram model every line also ends with a </s> token "
"standing for the newline. *uniform* spends ln V nats on every token (it "
"learned nothing); *unigram* knows only how often each token occurs; the "
"gap between them and a model is what the model learned from context. "
"Training time, throughput and peak memory are of the training process on "
"this machine; a row marked *reused* was trained by an earlier run with the "
"same configuration on the same split, and one marked *resumed at step N* "
"was interrupted at step N and continued from its checkpoint by a later run: "
"its training time is both runs' together, and its figures are of the "
"finished model. A lower held-out figure means the "
"model predicts this text better; it does not say the model writes better "
"or generalises to other text. "
"*Calibration* asks whether a model's confidence can be trusted: at each "
"held-out token the model's most likely next token is its guess, and the "
"probability it gave that guess its confidence. *Accuracy* is how often the "
"guess was the next token; *ECE* (expected calibration error, Guo et al. "
"2017) is the gap between confidence and accuracy averaged over 15 "
"equal-width confidence bins, weighted by how many guesses fall in each (0: "
"when it says 80% it is right 80% of the time); the equal-mass variant uses "
"15 bins of equal counts. *Brier* is the mean squared error of the whole "
"distribution against the token that came (0 is perfect, 1 - 1/V is "
"uniform). *T\\** is the temperature that, dividing the model's log-"
"probabilities, minimises the negative log-likelihood of the first half of "
"the held-out tokens; the second half shows NLL and ECE before and after it "
"(T* above 1: the model was overconfident; below 1: underconfident). The "
"uniform model guesses id 0 at confidence 1/V, and any temperature fits it "
"equally (no T*).";

/* ---- formatting helpers ------------------------------------------------------ */

static const char *
fmt_count(char *buf, size_t n, double v)
{
	if (!(v > 0))
		return "-";
	return ad_format_count(buf, n, v, "");
}

static const char *
fmt_bytes(char *buf, size_t n, double v)
{
	if (!(v > 0))
		return "-";
	return ad_format_count(buf, n, v, "B");
}

static const char *
fmt_seconds(char *buf, size_t n, double s)
{
	if (!(s > 0))
		return "-";
	if (s < 60)
		snprintf(buf, n, "%.1f s", s);
	else
		snprintf(buf, n, "%.0fm %02.0fs", floor(s / 60), fmod(s, 60));
	return buf;
}

/* After a row's training time: " (reused)", " (resumed at step N)" (its
 * figures come from two runs: interrupted at step N, then continued from
 * its checkpoint), both, or nothing. */
static const char *
fmt_origin(char *buf, size_t n, const struct compare_model *m)
{
	if (m->resumed)
		snprintf(buf, n, " (resumed at step %llu%s)", (unsigned long long)m->resumed_step,
		    m->reused ? ", reused" : "");
	else
		snprintf(buf, n, "%s", m->reused ? " (reused)" : "");
	return buf;
}

/* The fitted temperature, or "-" (the uniform model, too few tokens). */
static const char *
fmt_temp(char *buf, size_t n, const struct lm_eval *ev)
{
	if (!ev->has_calib || !isfinite(ev->calib.temperature))
		return "-";
	snprintf(buf, n, "%.3f", ev->calib.temperature);
	return buf;
}

/* A figure with prec decimals, or "-" where it does not apply (NAN: the
 * likelihood figures of a masked model, the pseudo one of a causal one). */
static const char *
fmt_fig(char *buf, size_t n, double v, int prec)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, n, "%.*f", prec, v);
	return buf;
}

/* Whether some model was scored by pseudo-log-likelihood (a masked one):
 * then the tables get a column of their own for it. */
static int
any_pseudo(const struct compare_report *r)
{
	for (size_t i = 0; i < r->nmodels; i++)
		if (r->models[i].eval.pseudo)
			return 1;
	return 0;
}

static const char *
fmt_rate(char *buf, size_t n, const struct compare_model *m)
{
	char c[32];

	if (!(m->train_seconds > 0) || !(m->train_tokens > 0))
		return "-";
	snprintf(buf, n, "%s/s", ad_format_count(c, sizeof c, m->train_tokens / m->train_seconds,
	    "tok"));
	return buf;
}

/* ---- Markdown ------------------------------------------------------------------ */

static void
md_sample(FILE *f, const char *text)
{
	/* A blockquote keeps the sample's own line breaks visible. */
	fputs("> ", f);
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			if (p[1] != '\0')
				fputs("  \n> ", f);
		} else if (*p == '<') {
			fputs("&lt;", f);
		} else {
			putc(*p, f);
		}
	}
	fputs("\n\n", f);
}

/*
 * The calibration table's rows (html: as <tr>, else Markdown): both ECEs,
 * and the second half of the held-out tokens before and after the
 * temperature fitted on the first.
 */
static void
calib_rows(const struct compare_report *r, FILE *f, int html)
{
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct lm_calib *c = &r->models[i].eval.calib;
		char                   t[32];
		if (!r->models[i].eval.has_calib)
			continue;
		if (html) {
			fputs("<tr><td>", f);
			ad_xml_escape(f, r->models[i].name);
			fprintf(f, "</td><td class=\"n\">%.4f</td><td class=\"n\">%.4f</td>"
			    "<td class=\"n\">%.4f</td><td class=\"n\">%.4f</td><td class=\"n\">%s</td>"
			    "<td class=\"n\">%.4f</td><td class=\"n\">%.4f</td><td class=\"n\">%.4f</td>"
			    "<td class=\"n\">%.4f</td></tr>\n", c->accuracy, c->ece, c->ece_mass,
			    c->brier, fmt_temp(t, sizeof t, &r->models[i].eval), c->test_nll,
			    c->test_nll_scaled, c->test_ece, c->test_ece_scaled);
		} else {
			fprintf(f, "| %s | %.4f | %.4f | %.4f | %.4f | %s | %.4f | %.4f | %.4f | %.4f |\n",
			    r->models[i].name, c->accuracy, c->ece, c->ece_mass, c->brier,
			    fmt_temp(t, sizeof t, &r->models[i].eval), c->test_nll, c->test_nll_scaled,
			    c->test_ece, c->test_ece_scaled);
		}
	}
}

static void html_text(FILE *f, const char *s);

/* Text for Markdown (as is, but | escaped) or HTML (escaped). */
static void
fill_text(FILE *f, const char *s, int html)
{
	if (html) {
		html_text(f, s);
		return;
	}
	for (; *s; s++) {
		if (*s == '|')
			fputs("\\|", f);
		else
			putc(*s == '\n' ? ' ' : *s, f);
	}
}

/* The fill-in task: how it was set, a row per model, then the first
 * blank and each model's best fillers for it (Markdown or HTML). */
static void
fill_section(const struct compare_report *r, FILE *f, int html)
{
	const struct compare_model *ex = NULL;

	if (r->blanks == 0)
		return;
	fputs(html ? "<h2>Fill in the blank</h2>\n<p>" : "\n## Fill in the blank\n\n", f);
	fprintf(f, "%zu words of the held-out text (of %zu asked for), drawn with seed %llu, "
	    "the same for every model, each hidden in turn with the text on both sides shown; "
	    "the model ranks the fillers of the word's length in tokens. *top-1* and *top-5*: "
	    "the share of words the model ranks first and among its first five; *mean ln p*: "
	    "the mean natural log-probability of the hidden word given both sides, exact for the "
	    "n-grams and the masked transformer on one-token words, and otherwise normalised over "
	    "the candidates the model's search found (for a causal transformer, the 64 tokens "
	    "most likely after the left context), which can only overstate it.",
	    r->nwords, r->blanks, (unsigned long long)r->seed);
	fputs(html ? "</p>\n<table>\n<tr><th>model</th><th>blanks</th><th>top-1</th>"
	    "<th>top-5</th><th>mean ln p</th></tr>\n" :
	    "\n\n| model | blanks | top-1 | top-5 | mean ln p |\n|---|---:|---:|---:|---:|\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_model *m = &r->models[i];
		const struct compare_fill  *x = &m->fill;
		double                      n = (double)x->blanks;
		if (!m->has_fill)
			continue;
		if (ex == NULL && x->ex_text != NULL)
			ex = m;
		fputs(html ? "<tr><td>" : "| ", f);
		fill_text(f, m->name, html);
		if (x->blanks == 0)
			fputs(html ? "</td><td class=\"n\">0</td><td>-</td><td>-</td><td>-</td></tr>\n" :
			    " | 0 | - | - | - |\n", f);
		else
			fprintf(f, html ? "</td><td class=\"n\">%zu</td><td class=\"n\">%.4f</td>"
			    "<td class=\"n\">%.4f</td><td class=\"n\">%.4f</td></tr>\n" :
			    " | %zu | %.4f | %.4f | %.4f |\n", x->blanks, (double)x->top1 / n,
			    (double)x->top5 / n, x->logp / n);
	}
	if (html)
		fputs("</table>\n", f);
	if (ex == NULL)
		return;
	fputs(html ? "<p>The first blank: </p><blockquote>" : "\nThe first blank:\n\n> ", f);
	fill_text(f, ex->fill.ex_text, html);
	fputs(html ? "</blockquote>\n<p>The hidden word: <b>" : "\n\nThe hidden word: **", f);
	fill_text(f, ex->fill.ex_word, html);
	fputs(html ? "</b>. Each model's best fillers:</p>\n<ul>\n" :
	    "**. Each model's best fillers:\n\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_fill *x = &r->models[i].fill;
		if (!r->models[i].has_fill || x->ex_text == NULL)
			continue;
		fputs(html ? "<li><b>" : "- **", f);
		fill_text(f, r->models[i].name, html);
		fputs(html ? "</b>:" : "**:", f);
		for (size_t k = 0; k < x->ex_n; k++) {
			fputs(k > 0 ? ", " : " ", f);
			fputs(html ? "<code>" : "`", f);
			fill_text(f, x->ex_fill[k], html);
			fprintf(f, html ? "</code> %.3f" : "` %.3f", x->ex_p[k]);
		}
		fputs(html ? "</li>\n" : "\n", f);
	}
	if (html)
		fputs("</ul>\n", f);
}

/* A figure, or "∞" (p_kNN alone, where some token got probability 0). */
static const char *
fmt_inf(char *buf, size_t n, double v, int prec)
{
	if (v == INFINITY)
		return "\u221e";
	return fmt_fig(buf, n, v, prec);
}

/* One row of the kNN-LM's table: nats over the second half. */
static void
knn_row(FILE *f, int html, const char *name, const struct compare_knn *k, double nats,
    const char *note)
{
	const struct knn_tune *t = &k->tune;
	char                   a[32], b[32], c[32];

	fputs(html ? "<tr><td>" : "| ", f);
	fill_text(f, name, html);
	fprintf(f, html ? "</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
	    "<td class=\"n\">%s%s</td></tr>\n" : " | %s | %s | %s%s |\n",
	    fmt_inf(a, sizeof a, nats / (double)t->test_tokens, 4),
	    fmt_inf(b, sizeof b, exp(nats / (double)t->test_tokens), 2),
	    fmt_inf(c, sizeof c, nats / M_LN2 / (double)t->test_bytes, 4), note);
}

/* The tokens that gain (or lose) most, as a table. */
static void
knn_gains(FILE *f, int html, const char *title, const struct compare_gain *g, size_t n)
{
	if (n == 0)
		return;
	fputs(html ? "<p>" : "\n", f);
	fputs(title, f);
	fputs(html ? "</p>\n<table>\n<tr><th>token</th><th>id</th><th>count</th>"
	    "<th>nats</th></tr>\n" : "\n\n| token | id | count | nats |\n|---|---:|---:|---:|\n", f);
	for (size_t i = 0; i < n; i++) {
		fputs(html ? "<tr><td><code>" : "| `", f);
		fill_text(f, g[i].text != NULL ? g[i].text : "", html);
		fprintf(f, html ? "</code></td><td class=\"n\">%u</td><td class=\"n\">%llu</td>"
		    "<td class=\"n\">%+.2f</td></tr>\n" : "` | %u | %llu | %+.2f |\n", g[i].id,
		    (unsigned long long)g[i].count, g[i].nats);
	}
	if (html)
		fputs("</table>\n", f);
}

/*
 * The kNN-LM over the causal transformer (compare --knn): the store, the
 * tuned parameters, the three rows on the second half of the held-out
 * text, and the tokens that gain and lose most (Markdown or HTML).
 */
static void
knn_section(const struct compare_report *r, FILE *f, int html)
{
	const struct compare_knn *k = r->knn;
	const struct knn_tune    *t;
	char                      a[32], b[32], c[32], name[160], note[128];

	if (k == NULL)
		return;
	t = &k->tune;
	fputs(html ? "<h2>Nearest-neighbour LM</h2>\n<p>" : "\n## Nearest-neighbour LM\n\n", f);
	fputs("A store of the context vectors of ", f);
	fill_text(f, k->model, html);
	fprintf(f, " (the last block's MLP input after its LayerNorm) at %llu positions of the "
	    "training text (", (unsigned long long)k->entries);
	if (k->max_tokens > 0)
		fprintf(f, "its first %llu tokens at most", (unsigned long long)k->max_tokens);
	else
		fputs("all of it", f);
	fprintf(f, "), %u floats each, %s, built in %s%s: ", k->width,
	    fmt_bytes(a, sizeof a, (double)k->file_bytes),
	    fmt_seconds(b, sizeof b, k->build_seconds), k->reused ? " (reused)" : "");
	fputs(html ? "<code>" : "`", f);
	fill_text(f, k->path, html);
	fputs(html ? "</code>" : "`", f);
	fprintf(f, ". k, the temperature T and the weight \u03bb of p_kNN were tuned on the first "
	    "half of the held-out text (%llu tokens) to minimise its nats; every figure below is "
	    "on the second half (%llu tokens, %llu bytes, from byte %llu of the held-out text), "
	    "the transformer alone scored again there, so the three rows compare with each "
	    "other but not with the table above (the whole held-out text). p = \u03bb p_kNN + "
	    "(1 \u2212 \u03bb) p_LM (Khandelwal et al. 2020); the store keeps the tuned "
	    "parameters, so eval of it gives the last row.", (unsigned long long)t->tune_tokens,
	    (unsigned long long)t->test_tokens, (unsigned long long)t->test_bytes,
	    (unsigned long long)k->cut);
	fputs(html ? "</p>\n<table>\n<tr><th>second half of the held-out text</th>"
	    "<th>nats/token</th><th>perplexity</th><th>bits/byte</th></tr>\n" :
	    "\n\n| second half of the held-out text | nats/token | perplexity | bits/byte |\n"
	    "|---|---:|---:|---:|\n", f);
	snprintf(name, sizeof name, "%s alone", k->model);
	knn_row(f, html, name, k, t->test_nats_lm, "");
	snprintf(name, sizeof name, "p_kNN alone (\u03bb = 1, k = %u, T = %.4g)", t->best.k,
	    t->best.temperature);
	snprintf(note, sizeof note, t->test_knn_zero > 0 ? " (%llu tokens, %.1f%%, got p = 0: "
	    "no neighbour's next token)" : "", (unsigned long long)t->test_knn_zero,
	    100.0 * (double)t->test_knn_zero / (double)t->test_tokens);
	knn_row(f, html, name, k, t->test_nats_knn, note);
	snprintf(name, sizeof name, "kNN-LM (k = %u, T = %.4g, \u03bb = %.2f, %s)", t->best.k,
	    t->best.temperature, t->best.lambda, knn_metric_name(t->best.metric));
	knn_row(f, html, name, k, t->test_nats_mix, "");
	if (html)
		fputs("</table>\n<p>", f);
	else
		fputs("\n", f);
	fprintf(f, "Tuning and scoring took %s (%llu queries on the second half, %.0f a second, "
	    "%s of exact search).", fmt_seconds(a, sizeof a, k->tune_seconds),
	    (unsigned long long)t->queries, t->search_seconds > 0 ?
	    (double)t->queries / t->search_seconds : 0.0,
	    fmt_seconds(c, sizeof c, t->search_seconds));
	fputs(html ? "</p>\n" : "\n", f);
	knn_gains(f, html, "The tokens that gain most from the interpolation (nats summed over "
	    "their positions in the second half):", k->gain, k->ngain);
	knn_gains(f, html, "The tokens that lose most:", k->lose, k->nlose);
}

int
compare_write_markdown(const struct compare_report *r, FILE *f)
{
	const struct compare_model *best = compare_best(r);
	int                         pseudo = any_pseudo(r);
	char a[32], b[32], c[32], d[32], e[40], t[32];

	fputs("# autodidact compare\n\n", f);
	fputs("**Corpus:**", f);
	for (size_t i = 0; i < r->nfiles; i++)
		fprintf(f, " `%s`", r->files[i]);
	fprintf(f, " (XXH64 of the split text %016llx).  \n", (unsigned long long)r->corpus_hash);
	fprintf(f, "**Split:** training %llu lines (%s), held out %llu lines (%s): ",
	    (unsigned long long)r->train_lines, fmt_bytes(a, sizeof a, (double)r->train_bytes),
	    (unsigned long long)r->val_lines, fmt_bytes(b, sizeof b, (double)r->val_bytes));
	if (r->val_path != NULL)
		fprintf(f, "the file `%s`.  \n", r->val_path);
	else
		fprintf(f, "the last %.3g%% of each file, by whole lines.  \n", 100 * r->val_fraction);
	fprintf(f, "**Tokenizer:** `%s`, %u ids (identity %016llx); the held-out text is %llu "
	    "tokens.  \n", r->vocab_path, r->vocab_size, (unsigned long long)r->vocab_identity,
	    (unsigned long long)r->val_tokens);
	fprintf(f, "**Seed:** %llu.\n\n", (unsigned long long)r->seed);

	fputs("## Held-out results\n\n", f);
	fputs("| model | params / n-grams | file | train time | throughput | peak memory "
	    "| nats/token | perplexity | bits/byte | accuracy | ECE | Brier | T\\* |", f);
	fputs(pseudo ? " pseudo bits/byte (masked: not comparable) |\n" : "\n", f);
	fputs("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|", f);
	fputs(pseudo ? "---:|\n" : "\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_model *m = &r->models[i];
		char f1[32], f2[32], f3[32], f4[32], o[64];
		fprintf(f, "| %s%s%s | %s | %s | %s%s | %s | %s | %s | %s | %s | %.4f | %.4f "
		    "| %.4f | %s |",
		    m == best ? "**" : "", m->name, m == best ? "**" : "",
		    fmt_count(a, sizeof a, (double)m->params), fmt_bytes(b, sizeof b, (double)m->file_bytes),
		    fmt_seconds(c, sizeof c, m->train_seconds), fmt_origin(o, sizeof o, m),
		    fmt_rate(e, sizeof e, m), fmt_bytes(d, sizeof d, (double)m->peak_rss_kb * 1024),
		    fmt_fig(f1, sizeof f1, lm_eval_nats_per_token(&m->eval), 4),
		    fmt_fig(f2, sizeof f2, lm_eval_perplexity(&m->eval), 2),
		    fmt_fig(f3, sizeof f3, lm_eval_bits_per_byte(&m->eval), 4),
		    m->eval.calib.accuracy, m->eval.calib.ece,
		    m->eval.calib.brier, fmt_temp(t, sizeof t, &m->eval));
		if (pseudo)
			fprintf(f, " %s |", fmt_fig(f4, sizeof f4,
			    lm_eval_pseudo_bits_per_byte(&m->eval), 4));
		fputc('\n', f);
	}
	if (pseudo)
		fputs("\nA masked model is scored by pseudo-log-likelihood (each token given all the "
		    "others; Salazar et al. 2020), which is not a probability of the text: its pseudo "
		    "bits per byte stand apart and are not comparable with the bits per byte of the "
		    "left-to-right models.\n", f);
	if (best != NULL)
		fprintf(f, "\nLowest held-out bits per byte: **%s**, %.4f.\n",
		    best->name, lm_eval_bits_per_byte(&best->eval));
	knn_section(r, f, 0);
	fill_section(r, f, 0);
	fputs("\n## Calibration\n\nThe top-1 next token and its probability at every held-out "
	    "token. ECE over 15 equal-width bins (Guo et al. 2017) and over 15 equal-mass bins; "
	    "T\\* fitted on the first half of the held-out tokens, NLL (nats/token) and ECE on the "
	    "second half before and after it.\n\n", f);
	fputs("| model | accuracy | ECE | ECE equal-mass | Brier | T\\* | NLL | NLL at T\\* "
	    "| ECE | ECE at T\\* |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n", f);
	calib_rows(r, f, 0);

	if (r->nprompts > 0) {
		fprintf(f, "\n## Samples\n\nSeed %llu, temperature %g, top-k %u, top-p %g, up to "
		    "%zu tokens, the same for every model.\n\n", (unsigned long long)r->seed,
		    r->sampling.temperature, r->sampling.top_k, r->sampling.top_p, r->sample_tokens);
		for (size_t p = 0; p < r->nprompts; p++) {
			fprintf(f, "### \"%s\" …\n\n", r->prompts[p]);
			for (size_t i = 0; i < r->nmodels; i++) {
				const struct compare_model *m = &r->models[i];
				if (m->samples == NULL || m->samples[p] == NULL)
					continue;
				fprintf(f, "**%s**\n\n", m->name);
				md_sample(f, m->samples[p]);
			}
		}
	}
	fprintf(f, "## How to read this\n\n%s\n\n", compare_reading);
	fputs("## How each model was trained\n\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_model *m = &r->models[i];
		if (m->command == NULL)
			continue;
		fprintf(f, "- %s: `%s`", m->name, m->command);
		if (m->resumed)
			fprintf(f, ", resumed at step %llu from its checkpoint `%s.ckpt` (the "
			    "training time is both runs')", (unsigned long long)m->resumed_step,
			    m->path);
		fputc('\n', f);
	}
	if (r->knn != NULL)
		fprintf(f, "- kNN-LM store: `%s`\n", r->knn->command);
	return ferror(f) ? AD_EIO : 0;
}

/* ---- JSON -------------------------------------------------------------------- */

static void
knn_json_gains(struct ad_json *j, const char *key, const struct compare_gain *g, size_t n)
{
	ad_json_key(j, key);
	ad_json_array_begin(j);
	for (size_t i = 0; i < n; i++) {
		ad_json_object_begin(j);
		ad_json_key(j, "id");
		ad_json_uint(j, g[i].id);
		ad_json_key(j, "text");
		ad_json_string(j, g[i].text != NULL ? g[i].text : "");
		ad_json_key(j, "count");
		ad_json_uint(j, g[i].count);
		ad_json_key(j, "nats");
		ad_json_double(j, g[i].nats);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
}

/* The kNN-LM: its store, tuned parameters and the second half's figures
 * (bits per byte null where p_kNN gave some token probability 0). */
static void
knn_json(struct ad_json *j, const struct compare_knn *k)
{
	const struct knn_tune *t = &k->tune;
	double                 bytes = (double)t->test_bytes;

	ad_json_key(j, "knn");
	ad_json_object_begin(j);
	ad_json_key(j, "model");
	ad_json_string(j, k->model);
	ad_json_key(j, "store");
	ad_json_string(j, k->path);
	ad_json_key(j, "command");
	ad_json_string(j, k->command);
	ad_json_key(j, "max_tokens");
	ad_json_uint(j, k->max_tokens);
	ad_json_key(j, "entries");
	ad_json_uint(j, k->entries);
	ad_json_key(j, "width");
	ad_json_uint(j, k->width);
	ad_json_key(j, "file_bytes");
	ad_json_uint(j, k->file_bytes);
	ad_json_key(j, "build_seconds");
	ad_json_double(j, k->build_seconds);
	ad_json_key(j, "peak_rss_bytes");
	ad_json_uint(j, k->peak_rss_kb * 1024);
	ad_json_key(j, "reused");
	ad_json_bool(j, k->reused);
	ad_json_key(j, "k");
	ad_json_uint(j, t->best.k);
	ad_json_key(j, "temperature");
	ad_json_double(j, t->best.temperature);
	ad_json_key(j, "lambda");
	ad_json_double(j, t->best.lambda);
	ad_json_key(j, "metric");
	ad_json_string(j, knn_metric_name(t->best.metric));
	ad_json_key(j, "tune_tokens");
	ad_json_uint(j, t->tune_tokens);
	ad_json_key(j, "second_half_offset");
	ad_json_uint(j, k->cut);
	ad_json_key(j, "test_tokens");
	ad_json_uint(j, t->test_tokens);
	ad_json_key(j, "test_bytes");
	ad_json_uint(j, t->test_bytes);
	ad_json_key(j, "bpb_transformer");
	ad_json_double(j, t->test_nats_lm / M_LN2 / bytes);
	ad_json_key(j, "bpb_knn");
	ad_json_double(j, t->test_nats_knn / M_LN2 / bytes);
	ad_json_key(j, "knn_zero_tokens");
	ad_json_uint(j, t->test_knn_zero);
	ad_json_key(j, "bpb_mixture");
	ad_json_double(j, t->test_nats_mix / M_LN2 / bytes);
	ad_json_key(j, "tune_seconds");
	ad_json_double(j, k->tune_seconds);
	ad_json_key(j, "queries");
	ad_json_uint(j, t->queries);
	ad_json_key(j, "search_seconds");
	ad_json_double(j, t->search_seconds);
	knn_json_gains(j, "gains", k->gain, k->ngain);
	knn_json_gains(j, "losses", k->lose, k->nlose);
	ad_json_object_end(j);
}

int
compare_write_json(const struct compare_report *r, FILE *f)
{
	static const char *kinds[] = { "uniform", "ngram", "transformer" };
	struct ad_json     j;
	char               hex[20];

	ad_json_init(&j, f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "corpus");
	ad_json_object_begin(&j);
	ad_json_key(&j, "files");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->nfiles; i++)
		ad_json_string(&j, r->files[i]);
	ad_json_array_end(&j);
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->corpus_hash);
	ad_json_key(&j, "xxh64");
	ad_json_string(&j, hex);
	ad_json_key(&j, "train_bytes");
	ad_json_uint(&j, r->train_bytes);
	ad_json_key(&j, "train_lines");
	ad_json_uint(&j, r->train_lines);
	ad_json_key(&j, "val_bytes");
	ad_json_uint(&j, r->val_bytes);
	ad_json_key(&j, "val_lines");
	ad_json_uint(&j, r->val_lines);
	ad_json_key(&j, "val_file");
	ad_json_string(&j, r->val_path);
	ad_json_key(&j, "val_fraction");
	if (r->val_path != NULL)
		ad_json_null(&j);
	else
		ad_json_double(&j, r->val_fraction);
	ad_json_object_end(&j);
	ad_json_key(&j, "tokenizer");
	ad_json_object_begin(&j);
	ad_json_key(&j, "path");
	ad_json_string(&j, r->vocab_path);
	ad_json_key(&j, "vocab_size");
	ad_json_uint(&j, r->vocab_size);
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)r->vocab_identity);
	ad_json_key(&j, "identity");
	ad_json_string(&j, hex);
	ad_json_key(&j, "val_tokens");
	ad_json_uint(&j, r->val_tokens);
	ad_json_object_end(&j);
	ad_json_key(&j, "seed");
	ad_json_uint(&j, r->seed);
	ad_json_key(&j, "fill_blanks");
	ad_json_uint(&j, r->blanks);
	ad_json_key(&j, "fill_words");
	ad_json_uint(&j, r->nwords);
	ad_json_key(&j, "models");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_model *m = &r->models[i];
		ad_json_object_begin(&j);
		ad_json_key(&j, "name");
		ad_json_string(&j, m->name);
		ad_json_key(&j, "kind");
		ad_json_string(&j, kinds[m->kind]);
		if (m->kind == COMPARE_NGRAM) {
			ad_json_key(&j, "order");
			ad_json_int(&j, m->order);
		}
		ad_json_key(&j, "path");
		ad_json_string(&j, m->path);
		ad_json_key(&j, "command");
		ad_json_string(&j, m->command);
		ad_json_key(&j, "params");
		ad_json_uint(&j, m->params);
		ad_json_key(&j, "file_bytes");
		ad_json_uint(&j, m->file_bytes);
		ad_json_key(&j, "train_seconds");
		ad_json_double(&j, m->train_seconds);
		ad_json_key(&j, "train_tokens");
		ad_json_double(&j, m->train_tokens);
		ad_json_key(&j, "train_tokens_per_second");
		ad_json_double(&j, m->train_seconds > 0 ? m->train_tokens / m->train_seconds : NAN);
		ad_json_key(&j, "peak_rss_bytes");
		ad_json_uint(&j, m->peak_rss_kb * 1024);
		ad_json_key(&j, "reused");
		ad_json_bool(&j, m->reused);
		/* Trained in two runs: the step its checkpoint had (null: one run). */
		ad_json_key(&j, "resumed_from_step");
		if (m->resumed)
			ad_json_uint(&j, m->resumed_step);
		else
			ad_json_null(&j);
		ad_json_key(&j, "heldout");
		ad_json_object_begin(&j);
		lm_eval_json(&j, &m->eval);
		ad_json_object_end(&j);
		if (m->has_fill) {
			const struct compare_fill *x = &m->fill;
			double                     n = (double)x->blanks;
			ad_json_key(&j, "fill");
			ad_json_object_begin(&j);
			ad_json_key(&j, "blanks");
			ad_json_uint(&j, x->blanks);
			ad_json_key(&j, "skipped");
			ad_json_uint(&j, x->skipped);
			ad_json_key(&j, "top1");
			ad_json_double(&j, x->blanks ? (double)x->top1 / n : NAN);
			ad_json_key(&j, "top5");
			ad_json_double(&j, x->blanks ? (double)x->top5 / n : NAN);
			ad_json_key(&j, "mean_logp");
			ad_json_double(&j, x->blanks ? x->logp / n : NAN);
			if (x->ex_text != NULL) {
				ad_json_key(&j, "example");
				ad_json_object_begin(&j);
				ad_json_key(&j, "text");
				ad_json_string(&j, x->ex_text);
				ad_json_key(&j, "word");
				ad_json_string(&j, x->ex_word);
				ad_json_key(&j, "fillers");
				ad_json_array_begin(&j);
				for (size_t k = 0; k < x->ex_n; k++) {
					ad_json_object_begin(&j);
					ad_json_key(&j, "text");
					ad_json_string(&j, x->ex_fill[k]);
					ad_json_key(&j, "p");
					ad_json_double(&j, x->ex_p[k]);
					ad_json_object_end(&j);
				}
				ad_json_array_end(&j);
				ad_json_object_end(&j);
			}
			ad_json_object_end(&j);
		}
		if (m->ncurve > 0) {
			ad_json_key(&j, "curve");
			ad_json_array_begin(&j);
			for (size_t k = 0; k < m->ncurve; k++) {
				ad_json_object_begin(&j);
				ad_json_key(&j, "step");
				ad_json_double(&j, m->curve[k].step);
				ad_json_key(&j, "seconds");
				ad_json_double(&j, m->curve[k].seconds);
				ad_json_key(&j, "bits_per_byte");
				ad_json_double(&j, m->curve[k].bpb);
				ad_json_object_end(&j);
			}
			ad_json_array_end(&j);
		}
		if (m->samples != NULL) {
			ad_json_key(&j, "samples");
			ad_json_array_begin(&j);
			for (size_t p = 0; p < r->nprompts; p++)
				ad_json_string(&j, m->samples[p]);
			ad_json_array_end(&j);
		}
		if (m->shades != NULL) {
			/* Each sample's tokens: their text and the probability each
			 * was drawn with. */
			ad_json_key(&j, "sample_tokens");
			ad_json_array_begin(&j);
			for (size_t p = 0; p < r->nprompts; p++) {
				size_t start = 0;
				ad_json_array_begin(&j);
				for (size_t t = 0; m->shades[p] != NULL && t < m->nshades[p]; t++) {
					size_t end = m->shades[p][t].end;
					ad_json_object_begin(&j);
					ad_json_key(&j, "text");
					ad_json_string_n(&j, m->samples[p] + start, end - start);
					ad_json_key(&j, "p");
					ad_json_double(&j, m->shades[p][t].p);
					ad_json_object_end(&j);
					start = end;
				}
				ad_json_array_end(&j);
			}
			ad_json_array_end(&j);
		}
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	if (r->knn != NULL)
		knn_json(&j, r->knn);
	ad_json_key(&j, "sampling");
	ad_json_object_begin(&j);
	ad_json_key(&j, "prompts");
	ad_json_array_begin(&j);
	for (size_t p = 0; p < r->nprompts; p++)
		ad_json_string(&j, r->prompts[p]);
	ad_json_array_end(&j);
	ad_json_key(&j, "temperature");
	ad_json_double(&j, r->sampling.temperature);
	ad_json_key(&j, "top_k");
	ad_json_uint(&j, r->sampling.top_k);
	ad_json_key(&j, "top_p");
	ad_json_double(&j, r->sampling.top_p);
	ad_json_key(&j, "tokens");
	ad_json_uint(&j, r->sample_tokens);
	ad_json_object_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
	return ferror(f) ? AD_EIO : 0;
}

/* ---- HTML -------------------------------------------------------------------- */

static void
html_text(FILE *f, const char *s)
{
	ad_xml_escape(f, s);
}

/*
 * A sample with each token shaded by the probability it was drawn with, in
 * the four bands of sample --show-probs (none from 0.5, then yellow, light
 * red, red below 0.05), the probability in its title.
 */
static void
html_shaded_sample(FILE *f, const char *text, const struct compare_shade *sh, size_t n)
{
	size_t start = 0;

	for (size_t t = 0; t < n; t++) {
		double      p = sh[t].p;
		const char *bg = p >= 0.5 ? NULL : p >= 0.2 ? "#fff0a8" : p >= 0.05 ? "#ffc4c4" :
		    "#ff7b7b";
		char       *piece = ad_strndup(text + start, sh[t].end - start);
		if (piece == NULL)
			return;
		if (bg != NULL)
			fprintf(f, "<span class=\"tok\" style=\"background:%s\" title=\"p = %.4f\">", bg, p);
		else
			fprintf(f, "<span class=\"tok\" title=\"p = %.4f\">", p);
		html_text(f, piece);
		fputs("</span>", f);
		ad_free(piece);
		start = sh[t].end;
	}
	html_text(f, text + start);
}

/* The two charts: bits per byte against training time, and against size. */
static void
html_charts(const struct compare_report *r, FILE *f)
{
	struct ad_svg_plot_series    s[2 * 16 + 2];
	double                       xs[64], ys[64];
	size_t                       n = 0, nx = 0;
	struct ad_svg_chart          c = { 0 };
	double                      *cx = NULL, *cy = NULL;
	int                          color = 0;

	c.ylabel = "held-out bits per byte";
	c.ref = NAN;
	c.title = "Held-out bits per byte against training time";
	c.xlabel = "training time (seconds, this machine)";
	for (size_t i = 0; i < r->nmodels && n < 16; i++) {
		const struct compare_model *m = &r->models[i];
		double bpb = lm_eval_bits_per_byte(&m->eval);

		if (m->eval.pseudo)   /* no bits per byte: not on this chart */
			continue;

		if (m->kind == COMPARE_UNIFORM || (m->kind == COMPARE_NGRAM && m->order == 1)) {
			ys[nx] = bpb;
			xs[nx] = 0;
			s[n] = (struct ad_svg_plot_series){ m->name, &xs[nx], &ys[nx], 1, color++,
			    AD_SVG_HLINE };
			nx++;
		} else if (m->kind == COMPARE_TRANSFORMER && m->ncurve > 0 && cx == NULL) {
			/* The curve of the trainer's held-out loss. */
			cx = ad_mallocarray(m->ncurve, sizeof *cx);
			cy = ad_mallocarray(m->ncurve, sizeof *cy);
			if (cx == NULL || cy == NULL)
				continue;
			for (size_t t = 0; t < m->ncurve; t++) {
				cx[t] = m->curve[t].seconds;
				cy[t] = m->curve[t].bpb;
			}
			s[n] = (struct ad_svg_plot_series){ m->name, cx, cy, m->ncurve, color++,
			    AD_SVG_LINE };
		} else {
			xs[nx] = m->train_seconds;
			ys[nx] = bpb;
			s[n] = (struct ad_svg_plot_series){ m->name, &xs[nx], &ys[nx], 1, color++,
			    AD_SVG_POINTS };
			nx++;
		}
		n++;
	}
	ad_svg_plot(f, &c, s, n, 0);

	n = 0;
	color = 0;
	c.title = "Held-out bits per byte against model size";
	c.xlabel = "parameters (transformer) or stored n-grams (n-gram), log scale";
	for (size_t i = 0; i < r->nmodels && n < 16; i++) {
		const struct compare_model *m = &r->models[i];
		color++;
		if (m->kind == COMPARE_UNIFORM || !(m->params > 0) || m->eval.pseudo)
			continue;
		xs[nx] = (double)m->params;
		ys[nx] = lm_eval_bits_per_byte(&m->eval);
		s[n] = (struct ad_svg_plot_series){ m->name, &xs[nx], &ys[nx], 1, color - 1,
		    AD_SVG_POINTS };
		nx++;
		n++;
	}
	ad_svg_plot(f, &c, s, n, 1);
	ad_free(cx);
	ad_free(cy);
}

/* The calibration table and one reliability diagram per model. */
static void
html_calibration(const struct compare_report *r, FILE *f)
{
	fputs("<h2>Calibration</h2>\n<p>The top-1 next token and its probability at every "
	    "held-out token. ECE over 15 equal-width bins (Guo et al. 2017) and over 15 "
	    "equal-mass bins; T* fitted on the first half of the held-out tokens, NLL "
	    "(nats/token) and ECE on the second half before and after it.</p>\n", f);
	fputs("<table>\n<tr><th>model</th><th>accuracy</th><th>ECE</th>"
	    "<th>ECE equal-mass</th><th>Brier</th><th>T*</th><th>NLL</th><th>NLL at T*</th>"
	    "<th>ECE</th><th>ECE at T*</th></tr>\n", f);
	calib_rows(r, f, 1);
	fputs("</table>\n<div class=\"reliability\">\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_model *m = &r->models[i];
		struct ad_svg_chart         c = { 0 };
		if (!m->eval.has_calib || m->eval.calib.n == 0)
			continue;
		c.title = m->name;
		c.xlabel = "confidence (15 bins)";
		c.ylabel = "accuracy";
		c.ref = NAN;
		ad_svg_reliability(f, &c, m->eval.calib.bin_conf, m->eval.calib.bin_acc,
		    m->eval.calib.bin_n, LM_CALIB_BINS);
	}
	fputs("</div>\n<p>Reliability diagrams: each bar is the accuracy of the guesses made "
	    "with a confidence in its bin, the red tick their mean confidence, the number above "
	    "how many there were; bars below the diagonal are overconfidence.</p>\n", f);
}

int
compare_write_html(const struct compare_report *r, FILE *f)
{
	const struct compare_model *best = compare_best(r);
	char a[32], b[32], c[32], d[32], e[40], t[32];
	int  em = 0, pseudo = any_pseudo(r);

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<title>autodidact compare</title>\n<style>\n"
	    "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}\n"
	    "table{border-collapse:collapse;margin:1em 0}td,th{padding:.3em .6em;border-bottom:1px solid #ddd}\n"
	    "td.n{text-align:right;font-variant-numeric:tabular-nums}tr.best{font-weight:bold}\n"
	    "blockquote{white-space:pre-wrap;background:#f6f6f6;margin:.3em 0 1em;padding:.5em 1em}\n"
	    "code{background:#f2f2f2;padding:0 .2em}figure{margin:1.5em 0}\n"
	    "</style></head><body>\n<h1>autodidact compare</h1>\n<p>", f);
	fputs("<b>Corpus:</b>", f);
	for (size_t i = 0; i < r->nfiles; i++) {
		fputs(" <code>", f);
		html_text(f, r->files[i]);
		fputs("</code>", f);
	}
	fprintf(f, " (XXH64 of the split text %016llx).<br>\n", (unsigned long long)r->corpus_hash);
	fprintf(f, "<b>Split:</b> training %llu lines (%s), held out %llu lines (%s): ",
	    (unsigned long long)r->train_lines, fmt_bytes(a, sizeof a, (double)r->train_bytes),
	    (unsigned long long)r->val_lines, fmt_bytes(b, sizeof b, (double)r->val_bytes));
	if (r->val_path != NULL) {
		fputs("the file <code>", f);
		html_text(f, r->val_path);
		fputs("</code>.<br>\n", f);
	} else {
		fprintf(f, "the last %.3g%% of each file, by whole lines.<br>\n", 100 * r->val_fraction);
	}
	fputs("<b>Tokenizer:</b> <code>", f);
	html_text(f, r->vocab_path);
	fprintf(f, "</code>, %u ids (identity %016llx); the held-out text is %llu tokens.<br>\n"
	    "<b>Seed:</b> %llu.</p>\n", r->vocab_size, (unsigned long long)r->vocab_identity,
	    (unsigned long long)r->val_tokens, (unsigned long long)r->seed);

	fputs("<h2>Held-out results</h2>\n<table>\n<tr><th>model</th><th>params / n-grams</th>"
	    "<th>file</th><th>train time</th><th>throughput</th><th>peak memory</th>"
	    "<th>nats/token</th><th>perplexity</th><th>bits/byte</th><th>accuracy</th>"
	    "<th>ECE</th><th>Brier</th><th>T*</th>", f);
	fputs(pseudo ? "<th>pseudo bits/byte (masked: not comparable)</th></tr>\n" : "</tr>\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		const struct compare_model *m = &r->models[i];
		char f1[32], f2[32], f3[32], f4[32], o[64];
		fprintf(f, "<tr%s><td>", m == best ? " class=\"best\"" : "");
		html_text(f, m->name);
		fprintf(f, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s%s</td>"
		    "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
		    "<td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%.4f</td>"
		    "<td class=\"n\">%.4f</td><td class=\"n\">%.4f</td><td class=\"n\">%s</td>",
		    fmt_count(a, sizeof a, (double)m->params), fmt_bytes(b, sizeof b, (double)m->file_bytes),
		    fmt_seconds(c, sizeof c, m->train_seconds), fmt_origin(o, sizeof o, m),
		    fmt_rate(e, sizeof e, m), fmt_bytes(d, sizeof d, (double)m->peak_rss_kb * 1024),
		    fmt_fig(f1, sizeof f1, lm_eval_nats_per_token(&m->eval), 4),
		    fmt_fig(f2, sizeof f2, lm_eval_perplexity(&m->eval), 2),
		    fmt_fig(f3, sizeof f3, lm_eval_bits_per_byte(&m->eval), 4),
		    m->eval.calib.accuracy, m->eval.calib.ece,
		    m->eval.calib.brier, fmt_temp(t, sizeof t, &m->eval));
		if (pseudo)
			fprintf(f, "<td class=\"n\">%s</td>",
			    fmt_fig(f4, sizeof f4, lm_eval_pseudo_bits_per_byte(&m->eval), 4));
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	fputs("<figure class=\"chart\">\n", f);
	html_charts(r, f);
	fputs("<figcaption>The transformer's curve is its trainer's held-out loss converted "
	    "to bits per byte with the held-out text's tokens per byte; every other figure "
	    "(and the table) comes from scoring the whole held-out text.</figcaption>\n"
	    "</figure>\n", f);
	knn_section(r, f, 1);
	html_calibration(r, f);
	fill_section(r, f, 1);

	if (r->nprompts > 0) {
		fprintf(f, "<h2>Samples</h2>\n<p>Seed %llu, temperature %g, top-k %u, top-p %g, up to "
		    "%zu tokens, the same for every model. Each token is shaded by the probability it "
		    "was drawn with (hover for it): unshaded from 0.5, yellow from 0.2, light red "
		    "from 0.05, red below: where a fluent sentence was a guess.</p>\n",
		    (unsigned long long)r->seed,
		    r->sampling.temperature, r->sampling.top_k, r->sampling.top_p, r->sample_tokens);
		for (size_t p = 0; p < r->nprompts; p++) {
			fputs("<h3>\u201c", f);
			html_text(f, r->prompts[p]);
			fputs("\u201d \u2026</h3>\n", f);
			for (size_t i = 0; i < r->nmodels; i++) {
				const struct compare_model *m = &r->models[i];
				if (m->samples == NULL || m->samples[p] == NULL)
					continue;
				fputs("<p><b>", f);
				html_text(f, m->name);
				fputs("</b></p><blockquote>", f);
				if (m->shades != NULL && m->shades[p] != NULL)
					html_shaded_sample(f, m->samples[p], m->shades[p], m->nshades[p]);
				else
					html_text(f, m->samples[p]);
				fputs("</blockquote>\n", f);
			}
		}
	}
	fputs("<h2>How to read this</h2>\n<p>", f);
	for (const char *p = compare_reading; *p; p++) {
		if (*p == '*') {
			fputs(em ? "</em>" : "<em>", f);
			em = !em;
		} else if (*p == '<') {
			fputs("&lt;", f);
		} else if (*p == '>') {
			fputs("&gt;", f);
		} else {
			putc(*p, f);
		}
	}
	fputs("</p>\n<h2>How each model was trained</h2>\n<ul>\n", f);
	for (size_t i = 0; i < r->nmodels; i++) {
		if (r->models[i].command == NULL)
			continue;
		fputs("<li>", f);
		html_text(f, r->models[i].name);
		fputs(": <code>", f);
		html_text(f, r->models[i].command);
		fputs("</code>", f);
		if (r->models[i].resumed) {
			fprintf(f, ", resumed at step %llu from its checkpoint <code>",
			    (unsigned long long)r->models[i].resumed_step);
			html_text(f, r->models[i].path);
			fputs(".ckpt</code> (the training time is both runs')", f);
		}
		fputs("</li>\n", f);
	}
	if (r->knn != NULL) {
		fputs("<li>kNN-LM store: <code>", f);
		html_text(f, r->knn->command);
		fputs("</code></li>\n", f);
	}
	fputs("</ul>\n</body></html>\n", f);
	return ferror(f) ? AD_EIO : 0;
}

/* ---- the three files ------------------------------------------------------------ */

int
compare_report_save(const struct compare_report *r, const char *dir, struct ad_error *e)
{
	static const struct {
		const char *name;
		int (*write)(const struct compare_report *, FILE *);
	} formats[] = {
		{ "report.md",   compare_write_markdown },
		{ "report.json", compare_write_json },
		{ "report.html", compare_write_html },
	};

	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct ad_atomic a;
		int              rc;

		if ((rc = compare_atomic_open(&a, dir, formats[i].name, e)) != 0)
			return rc;
		if (formats[i].write(r, a.f) != 0)
			return ad_atomic_fail(&a, e);
		if ((rc = ad_atomic_commit(&a, e)) != 0)
			return rc;
	}
	return 0;
}
