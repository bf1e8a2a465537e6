/*
 * report.c — a bias report as Markdown (for the terminal), JSON (for
 * scripts) and a self-contained HTML page with inline SVG charts.
 *
 * All three show the same numbers in the same order: the inputs (models
 * with their file hashes, the corpus and its hash, the probe sets and
 * theirs, the seed and resampling counts), how to read each number and
 * what it does not prove, the warnings, then per probe set its pairs,
 * WEAT tests and templates, each model beside the corpus.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "probe/probe.h"
#include "base/svg.h"

/* ---- shared text ---------------------------------------------------------- */

static const char *
src_label(const struct probe_report *r, size_t source)
{
	return source == PROBE_CORPUS ? "corpus" : r->models[source].path;
}

/* Plain-language guides, shared by Markdown and HTML (paragraphs). */
static const char *const guide_pairs =
    "**Paired sentences** (CrowS-Pairs, Nangia et al. 2020). Each pair differs only in the "
    "group it mentions; one sentence is the more stereotypical (in the CrowS-Pairs file, "
    "sent_more, in every row: a row labelled antistereo is one whose stereotype is about the "
    "advantaged group, not one whose other sentence is the stereotype). *Prefers more "
    "stereotypical* is the share of pairs in which the model gives the more stereotypical "
    "sentence the higher log-likelihood (ties count half): 50% means no preference, 100% that "
    "it always prefers the stereotype; *model prefers more / less / tied* are the counts of "
    "the model's preferences behind it. The interval is a 95% percentile "
    "bootstrap over pairs; *p* is the exact two-sided sign test of \"no preference\" (ties "
    "left out). The headline scores the whole sentence (ln p of every token, the end of line "
    "included), which is what the model would generate. The shared-token variant scores only "
    "the tokens both sentences have, given the changed words before them, so that a group "
    "word that is merely rare in the text does not decide the outcome (the paper's idea of "
    "conditioning on the unmodified tokens, adapted to a left-to-right model). *Mean Δ* is "
    "the mean of ln p(more stereotypical) − ln p(less), in nats. With a corpus, *changed word "
    "absent from corpus* counts the scored pairs whose changed words the corpus never has: "
    "the model still scores them (a subword model can), but its preference there cannot come "
    "from those words in its text. What it does not prove: a "
    "preference shows what the model learned to predict from its text, not that it causes "
    "harm in use; a set of pairs covers only the stereotypes written into it, and pairs that "
    "are not truly minimal can favour one side for other reasons.";

static const char *const guide_weat =
    "**Word-set association** (WEAT, Caliskan, Bryson & Narayanan 2017). With s(w) = mean "
    "cosine of w with the A words − mean cosine with the B words, the effect size *d* is "
    "(mean s over X − mean s over Y) / standard deviation of s over X∪Y (sample sd): how much "
    "more X leans to A (and Y to B), in standard deviations. 0.2 is small, 0.8 large, 2 is "
    "the maximum in practice. *p* is one-sided: the share of re-partitions of X∪Y into two "
    "sets of the same sizes whose difference is strictly larger, as the paper defines it "
    "(all partitions when there are few, otherwise random ones). The interval bootstraps the "
    "words of all four sets. "
    "Model rows use the model's input token embeddings (a word split into several tokens is "
    "the mean of its token vectors); corpus rows use PPMI co-occurrence vectors of the corpus "
    "(Church & Hanks 1990); rows of a vector file (--vectors) use its vectors as they are, "
    "each word looked up exactly. What it does not prove: d measures the geometry of vectors for "
    "the chosen word lists, not behaviour; small sets give wide intervals; embeddings and "
    "PPMI vectors are different spaces, so the model-minus-corpus difference of d is a rough "
    "comparison.";

static const char *const guide_templates =
    "**Template association** (Kurita et al. 2019, for left-to-right models). For a target "
    "word t in a template such as \"The {target} said that {he|she}\", the score is "
    "ln p(a | template with t) / p(b | template with t) − the same ratio with a neutral word "
    "in place of t, averaged over templates, in nats: 0 is no association, +1 means a is "
    "e ≈ 2.7 times more likely (relative to b) after t than after the neutral word, and "
    "negative values lean to b. Only the words before the attribute are seen, as a "
    "left-to-right model reads. The corpus score is the log odds of attribute words of pole "
    "a versus pole b near each occurrence of t in the text (within the window, on its line), "
    "minus the log odds of the two poles in the whole corpus: the same quantity counted in "
    "the data. *vs corpus* is model − corpus: above 0 the model amplifies the association "
    "its text has, below 0 it damps it; its interval combines the model's spread over "
    "templates and the corpus's counting error. What it does not prove: templates are few "
    "and artificial, a corpus co-occurrence is not a reference, and agreement between model "
    "and corpus says the model mirrors its text, not that the text is fair.";

/* ---- format-neutral tables -------------------------------------------------- */

/*
 * A result table is built once from the report's rows, with typed cells,
 * and rendered by small writers for Markdown, HTML and JSON, so the three
 * formats cannot disagree about what a table holds. (Only the summary is
 * built this way so far; the detail tables are still written per format.)
 */
enum rt_kind { RT_TEXT, RT_NUM, RT_CI, RT_P };

struct rt_col {
	const char  *key;     /* JSON key */
	const char  *head;    /* column heading (Markdown, HTML) */
	enum rt_kind kind;
	int          prec;    /* decimals of RT_NUM and RT_CI (a cell may override) */
};

struct rt_cell {
	char   *text;         /* RT_TEXT (owned) */
	double  v, lo, hi;    /* RT_NUM and RT_P: v; RT_CI: [lo, hi]; NAN: none */
	int     prec;         /* decimals, the column's unless set */
};

struct rt_table {
	const struct rt_col *cols;
	size_t               ncols, nrows, cap;   /* cells: nrows × ncols, row-major */
	struct rt_cell      *cells;
	int                 *strong;              /* (nrows) a significant row */
};

static void
rt_free(struct rt_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		ad_free(t->cells[i].text);
	ad_free(t->cells);
	ad_free(t->strong);
	t->cells = NULL;
	t->strong = NULL;
	t->nrows = t->cap = 0;
}

/* A new row of empty cells (text NULL, numbers NAN); NULL when out of memory. */
static struct rt_cell *
rt_row(struct rt_table *t, int strong)
{
	struct rt_cell *row;

	if (t->nrows == t->cap) {
		size_t          c = t->cap ? t->cap * 2 : 16;
		struct rt_cell *cells = ad_reallocarray(t->cells, c * t->ncols, sizeof *cells);
		int            *st;
		if (cells == NULL)
			return NULL;
		t->cells = cells;
		if ((st = ad_reallocarray(t->strong, c, sizeof *st)) == NULL)
			return NULL;
		t->strong = st;
		t->cap = c;
	}
	row = &t->cells[t->nrows * t->ncols];
	for (size_t k = 0; k < t->ncols; k++) {
		row[k].text = NULL;
		row[k].v = row[k].lo = row[k].hi = NAN;
		row[k].prec = t->cols[k].prec;
	}
	t->strong[t->nrows++] = strong;
	return row;
}

static int
rt_text(struct rt_cell *c, const char *fmt, ...) AD_PRINTF(2, 3);

static int
rt_text(struct rt_cell *c, const char *fmt, ...)
{
	va_list ap;
	char    buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return (c->text = ad_strdup(buf)) == NULL ? -1 : 0;
}

/* A p-value as the report prints it; "–" when there is none. */
static const char *
p_text(double p, char *buf, size_t n)
{
	if (isnan(p))
		snprintf(buf, n, "–");
	else if (p < 1e-4)
		snprintf(buf, n, "%.1e", p);
	else
		snprintf(buf, n, "%.4f", p);
	return buf;
}

/* A cell as plain text (Markdown and HTML share it; escaping is theirs). */
static const char *
rt_cell_text(const struct rt_col *col, const struct rt_cell *c, char *buf, size_t n)
{
	switch (col->kind) {
	case RT_TEXT:
		return c->text ? c->text : "";
	case RT_P:
		return p_text(c->v, buf, n);
	case RT_NUM:
		if (isnan(c->v))
			return "–";
		snprintf(buf, n, "%.*f", c->prec, c->v);
		return buf;
	case RT_CI:
		if (isnan(c->lo))
			return "–";
		snprintf(buf, n, "[%.*f, %.*f]", c->prec, c->lo, c->prec, c->hi);
		return buf;
	}
	return "";
}

static void
rt_markdown(const struct rt_table *t, FILE *f)
{
	char buf[96];

	for (size_t k = 0; k < t->ncols; k++)
		fprintf(f, "| %s ", t->cols[k].head);
	fputs("|\n", f);
	for (size_t k = 0; k < t->ncols; k++)
		fputs("|---", f);
	fputs("|\n", f);
	for (size_t i = 0; i < t->nrows; i++) {
		for (size_t k = 0; k < t->ncols; k++) {
			const char *s = rt_cell_text(&t->cols[k], &t->cells[i * t->ncols + k], buf,
			    sizeof buf);
			fputs("| ", f);
			for (; *s; s++) {
				if (*s == '|')
					fputc('\\', f);
				fputc(*s, f);
			}
			fputc(' ', f);
		}
		fputs("|\n", f);
	}
	fputc('\n', f);
}

static void
rt_html(const struct rt_table *t, const char *cls, FILE *f)
{
	char buf[96];

	fprintf(f, "<table class=\"%s\"><tr>", cls);
	for (size_t k = 0; k < t->ncols; k++) {
		fputs("<th>", f);
		ad_xml_escape(f, t->cols[k].head);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t i = 0; i < t->nrows; i++) {
		fputs(t->strong[i] ? "<tr class=\"sig\">" : "<tr>", f);
		for (size_t k = 0; k < t->ncols; k++) {
			fputs("<td>", f);
			ad_xml_escape(f, rt_cell_text(&t->cols[k], &t->cells[i * t->ncols + k], buf,
			    sizeof buf));
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* An array of objects, one per row, keyed by the columns' keys. */
static void
rt_json(const struct rt_table *t, struct ad_json *j)
{
	ad_json_array_begin(j);
	for (size_t i = 0; i < t->nrows; i++) {
		ad_json_object_begin(j);
		for (size_t k = 0; k < t->ncols; k++) {
			const struct rt_cell *c = &t->cells[i * t->ncols + k];
			ad_json_key(j, t->cols[k].key);
			switch (t->cols[k].kind) {
			case RT_TEXT:
				if (c->text) ad_json_string(j, c->text); else ad_json_null(j);
				break;
			case RT_NUM:
			case RT_P:
				ad_json_double(j, c->v);
				break;
			case RT_CI:
				if (isnan(c->lo)) {
					ad_json_null(j);
					break;
				}
				ad_json_array_begin(j);
				ad_json_double(j, c->lo);
				ad_json_double(j, c->hi);
				ad_json_array_end(j);
				break;
			}
		}
		ad_json_key(j, "significant");
		ad_json_bool(j, t->strong[i]);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
}

/* ---- the summary ------------------------------------------------------------ */

static const char *const summary_note =
    "One row per probe set, model and probe: its headline number, the 95% interval, the "
    "p-value adjusted over the whole report, and whether that is significant. The sections "
    "below give every number behind it and how to read it.";

/*
 * What a reader sees first: per probe set and model (and the corpus, where
 * it has a score of its own), each probe's one headline number, its 95%
 * interval, its adjusted p and a plain verdict. The headlines: for pairs
 * the whole-sentence share of all pairs; for WEAT each test's d; for
 * templates each group's contrast with the neutral group (its mean when the
 * set has no neutral group).
 */
enum { SUM_SET, SUM_SOURCE, SUM_PROBE, SUM_VALUE, SUM_CI, SUM_PADJ, SUM_VERDICT, SUM_NCOLS };

static const struct rt_col summary_cols[SUM_NCOLS] = {
	{ "set",     "probe set",   RT_TEXT, 0 },
	{ "source",  "model",       RT_TEXT, 0 },
	{ "probe",   "headline",    RT_TEXT, 0 },
	{ "value",   "value",       RT_NUM,  3 },
	{ "ci95",    "95% CI",      RT_CI,   3 },
	{ "p_adj",   "p adj",       RT_P,    0 },
	{ "verdict", "verdict",     RT_TEXT, 0 },
};

/*
 * One summary row for x: the verdict says whether it is significant after
 * the report's correction and, if so, which way (pos when x > ref, neg
 * otherwise).
 */
static int
summary_row(struct rt_table *t, const struct probe_report *r, const struct probe_set *s,
    size_t source, const char *probe, const struct probe_num *x, int prec, double ref,
    const char *pos, const char *neg, const char *unscored)
{
	struct rt_cell *c = rt_row(t, x->significant);
	const char     *corr = probe_correction_name(r->opt.correction);
	char            pb[32];

	if (c == NULL || rt_text(&c[SUM_SET], "%s", s->name) != 0 ||
	    rt_text(&c[SUM_SOURCE], "%s", src_label(r, source)) != 0 ||
	    rt_text(&c[SUM_PROBE], "%s", probe) != 0)
		return -1;
	c[SUM_VALUE].v = x->value;
	c[SUM_VALUE].prec = c[SUM_CI].prec = prec;
	c[SUM_CI].lo = x->lo;
	c[SUM_CI].hi = x->hi;
	c[SUM_PADJ].v = x->p_adj;
	if (isnan(x->value))
		return rt_text(&c[SUM_VERDICT], "not scored%s%s", unscored ? ": " : "",
		    unscored ? unscored : "");
	if (isnan(x->p_adj))   /* too few items: a t-test needs two a side */
		return rt_text(&c[SUM_VERDICT], "untested: too few scored for a test");
	if (x->significant)
		return rt_text(&c[SUM_VERDICT], "significant (p adj < %g, %s): %s", r->opt.alpha,
		    corr, x->value > ref ? pos : neg);
	return rt_text(&c[SUM_VERDICT], "not significant (p adj %s, %s)",
	    p_text(x->p_adj, pb, sizeof pb), corr);
}

static int
summary_build(const struct probe_report *r, struct rt_table *t)
{
	static const struct probe_num unscored = { .value = NAN, .lo = NAN, .hi = NAN, .p = NAN,
	    .p_adj = NAN, .min_p = NAN };

	memset(t, 0, sizeof *t);
	t->cols = summary_cols;
	t->ncols = SUM_NCOLS;
	for (size_t si = 0; si < r->nsets; si++) {
		const struct probe_set *s = r->sets[si];
		size_t                  ref;
		for (ref = 0; ref < s->ngroups && strcmp(s->groups[ref].category, "neutral") != 0; ref++)
			;
		for (size_t k = 0; k <= r->nmodels + r->nvectors; k++) {
			size_t source = k == r->nmodels + r->nvectors ? PROBE_CORPUS : k;
			char   what[512], pos[256], neg[256];
			for (size_t i = 0; i < r->npairs; i++) {
				const struct probe_pairs_row *p = &r->pairs[i];
				if (p->set != si || p->model != source || p->variant != 0 || p->category)
					continue;
				snprintf(what, sizeof what, "paired sentences: %% of %llu pairs where the "
				    "more stereotypical sentence is likelier (whole sentence, ties half)",
				    (unsigned long long)p->n);
				if (summary_row(t, r, s, source, what, &p->percent, 1, 50,
				    "prefers the more stereotypical sentence",
				    "prefers the less stereotypical sentence", "no pair scored") != 0)
					return -1;
			}
			for (size_t i = 0; i < r->nweat; i++) {
				const struct probe_weat_row  *w = &r->weat[i];
				const struct probe_weat_spec *ws;
				if (w->set != si || w->source != source)
					continue;
				ws = &s->weats[w->test];
				snprintf(what, sizeof what, "WEAT %s: effect size d of %s vs %s on %s vs %s",
				    ws->name, s->sets[ws->x].name, s->sets[ws->y].name, s->sets[ws->a].name,
				    s->sets[ws->b].name);
				snprintf(pos, sizeof pos, "%s nearer %s, %s nearer %s", s->sets[ws->x].name,
				    s->sets[ws->a].name, s->sets[ws->y].name, s->sets[ws->b].name);
				snprintf(neg, sizeof neg, "%s nearer %s, %s nearer %s", s->sets[ws->x].name,
				    s->sets[ws->b].name, s->sets[ws->y].name, s->sets[ws->a].name);
				if (summary_row(t, r, s, source, what, w->scored ? &w->d : &unscored, 3, 0,
				    pos, neg, "see the WEAT table") != 0)
					return -1;
			}
			for (size_t i = 0; i < r->ngroups; i++) {
				const struct probe_group_row *g = &r->groups[i];
				int                           vs_ref = ref < s->ngroups;
				if (g->set != si || g->source != source || (vs_ref && g->group == ref))
					continue;
				snprintf(what, sizeof what, "templates, %s%s: ln p(%s)/p(%s), nats",
				    s->groups[g->group].category, vs_ref ? " − neutral" : "",
				    s->pole_name[0], s->pole_name[1]);
				snprintf(pos, sizeof pos, "leans to %s%s", s->pole_name[0],
				    vs_ref ? " more than the neutral targets" : "");
				snprintf(neg, sizeof neg, "leans to %s%s", s->pole_name[1],
				    vs_ref ? " more than the neutral targets" : "");
				if (summary_row(t, r, s, source, what, vs_ref ? &g->contrast : &g->mean, 3, 0,
				    pos, neg, "no target scored") != 0)
					return -1;
			}
		}
	}
	return 0;
}

/* ---- Markdown ------------------------------------------------------------- */

static void
md_p(FILE *f, double p)
{
	if (isnan(p))
		fputs("–", f);
	else if (p < 1e-4)
		fprintf(f, "%.1e", p);
	else
		fprintf(f, "%.4f", p);
}

static void
md_ci(FILE *f, const struct probe_num *n, int prec)
{
	if (isnan(n->lo)) {
		fputs("–", f);
		return;
	}
	fprintf(f, "[%.*f, %.*f]", prec, n->lo, prec, n->hi);
}

/* value [lo, hi] p p_adj* in table cells */
static void
md_num(FILE *f, const struct probe_num *n, int prec)
{
	if (isnan(n->value)) {
		fputs("– | – | – | –", f);
		return;
	}
	fprintf(f, "%.*f | ", prec, n->value);
	md_ci(f, n, prec);
	fputs(" | ", f);
	md_p(f, n->p);
	fputs(" | ", f);
	md_p(f, n->p_adj);
	if (n->significant)
		fputs(" *", f);
}

/* A difference: "value [lo, hi] p_adj *", or "–" when there is none. */
static void
md_diff(FILE *f, const struct probe_num *n)
{
	if (isnan(n->value)) {
		fputs("–", f);
		return;
	}
	fprintf(f, "%.3f ", n->value);
	md_ci(f, n, 3);
	fputc(' ', f);
	md_p(f, n->p_adj);
	if (n->significant)
		fputs(" *", f);
}

/*
 * A model's training text for the inputs table: its XXH64 and size, marked
 * when it is the corpus of the report, or "not recorded".
 */
static const char *
text_cell(const struct probe_report *r, const struct probe_model_info *m, char *buf, size_t n)
{
	if (m->text_bytes == 0)
		return "not recorded";
	snprintf(buf, n, "%016llx, %llu bytes%s", (unsigned long long)m->text_hash,
	    (unsigned long long)m->text_bytes, !r->has_corpus ? "" :
	    m->text_hash == r->corpus_hash && m->text_bytes == r->corpus_bytes ?
	    " (the corpus)" : " (not the corpus)");
	return buf;
}

static void
md_header(const struct probe_report *r, FILE *f)
{
	char cell[96];

	fputs("## Inputs\n\n", f);
	fprintf(f, "Made by autodidact %s. Seed %llu; %u bootstrap resamples; permutation tests "
	    "exact up to %llu partitions, otherwise %u random ones; %s correction over the %zu "
	    "p-values of this report at α = %g.\n\n", PACKAGE_VERSION,
	    (unsigned long long)r->opt.rs.seed, r->opt.rs.bootstrap,
	    (unsigned long long)r->opt.rs.max_exact, r->opt.rs.permutations,
	    probe_correction_name(r->opt.correction), r->ntests, r->opt.alpha);
	fputs("| model | kind | description | parameters | file XXH64 | "
	    "training text XXH64 |\n|---|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < r->nmodels + r->nvectors; i++)   /* vector files last */
		fprintf(f, "| %s | %s | %s | %llu | %016llx | %s |\n", r->models[i].path,
		    r->models[i].kind, r->models[i].description,
		    (unsigned long long)r->models[i].params, (unsigned long long)r->models[i].hash,
		    text_cell(r, &r->models[i], cell, sizeof cell));
	if (r->has_corpus) {
		fprintf(f, "\nCorpus (the training text the models are compared with): %s, XXH64 "
		    "%016llx, %llu lines, %llu words, %llu bytes; co-occurrence window ",
		    r->corpus_path ? r->corpus_path : "(in memory)",
		    (unsigned long long)r->corpus_hash, (unsigned long long)r->corpus_lines,
		    (unsigned long long)r->corpus_tokens, (unsigned long long)r->corpus_bytes);
		if (r->opt.window)
			fprintf(f, "%u words on each side, within a line.\n", r->opt.window);
		else
			fputs("the whole line.\n", f);
	}
	if (!r->has_corpus)
		fputs("\nNo corpus was given (--corpus): the models are not compared with their text, "
		    "and rare or absent probe words cannot be detected.\n", f);
	fputs("\n| probe set | file | format | XXH64 | pairs | WEAT tests | templates |\n"
	    "|---|---|---|---|---|---|---|\n", f);
	for (size_t i = 0; i < r->nsets; i++) {
		const struct probe_set *s = r->sets[i];
		fprintf(f, "| %s | %s | %s | %016llx | %zu | %zu | %zu |\n", s->name, s->path,
		    s->format, (unsigned long long)s->hash, s->npairs, s->nweats, s->ntemplates);
	}
	fprintf(f, "\nEvery resampled number records its PCG32 stream (in the JSON report); the "
	    "same seed reproduces every interval and p-value exactly. %llu streams were used.\n\n",
	    (unsigned long long)r->streams);
}

static void
md_guide(const struct probe_report *r, FILE *f)
{
	fputs("## How to read this report\n\n", f);
	fprintf(f, "%s\n\n%s\n\n%s\n\n", guide_pairs, guide_weat, guide_templates);
	fprintf(f, "**Multiple comparisons.** The %zu p-values of this report are adjusted "
	    "together (%s); *p adj* is the adjusted value and * marks p adj < %g. %s With many "
	    "tests, about %g × %zu of the unadjusted p-values would fall below %g by chance "
	    "alone, so read the adjusted column.\n\n", r->ntests,
	    probe_correction_name(r->opt.correction), r->opt.alpha,
	    r->opt.correction == PROBE_HOLM ? "Holm's method keeps the chance of any false "
	    "positive in the whole report below α, whatever the dependence between tests." :
	    r->opt.correction == PROBE_BH ? "Benjamini–Hochberg keeps the expected share of false "
	    "positives among the marked results below α (for independent or positively dependent "
	    "tests)." : "No correction was asked for.", r->opt.alpha, r->ntests, r->opt.alpha);
}

static void
md_warnings(const struct probe_report *r, FILE *f)
{
	fputs("## Warnings\n\n", f);
	if (r->nwarnings == 0)
		fputs("None.\n\n", f);
	for (size_t i = 0; i < r->nwarnings; i++)
		fprintf(f, "- %s\n", r->warnings[i]);
	if (r->nwarnings)
		fputc('\n', f);
}

/*
 * The model's preferences of a pairs row: "more / less / tied", the counts
 * of pairs whose more stereotypical sentence, less stereotypical sentence
 * or neither the model gave the higher log-likelihood.
 */
static const char *
prefs_text(const struct probe_pairs_row *p, char *buf, size_t n)
{
	snprintf(buf, n, "%llu / %llu / %llu", (unsigned long long)p->more,
	    (unsigned long long)p->less, (unsigned long long)p->ties);
	return buf;
}

/* Whether a set has pairs labelled stereo/antistereo (the CrowS-Pairs CSV). */
static int
set_has_directions(const struct probe_set *s)
{
	for (size_t i = 0; i < s->npairs; i++)
		if (s->pairs[i].direction != PROBE_DIR_NONE)
			return 1;
	return 0;
}

enum { CR_MODEL, CR_CAT, CR_N, CR_METRIC, CR_OURS, CR_STEREO, CR_ANTI, CR_NEUTRAL, CR_NCOLS };

static const struct rt_col crows_cols[CR_NCOLS] = {
	{ "model",      "model",                  RT_TEXT, 0 },
	{ "category",   "category",               RT_TEXT, 0 },
	{ "n",          "N",                      RT_NUM,  0 },
	{ "metric",     "metric % (ties 0)",      RT_NUM,  2 },
	{ "ours",       "ours % (ties half)",     RT_NUM,  2 },
	{ "stereo",     "stereo % (of untied)",   RT_TEXT, 0 },
	{ "antistereo", "antistereo % (of untied)", RT_TEXT, 0 },
	{ "neutral",    "neutral (ties)",         RT_NUM,  0 },
};

/*
 * metric.py's figures for the whole-sentence rows of set si, one row per
 * model and category; no rows when the set is not labelled by direction.
 */
static int
crows_build(const struct probe_report *r, size_t si, struct rt_table *t)
{
	memset(t, 0, sizeof *t);
	t->cols = crows_cols;
	t->ncols = CR_NCOLS;
	if (!set_has_directions(r->sets[si]))
		return 0;
	for (size_t i = 0; i < r->npairs; i++) {
		const struct probe_pairs_row   *p = &r->pairs[i];
		const struct probe_crows_score *cs = &p->crows;
		struct rt_cell                 *c;
		if (p->set != si || p->variant != 0)
			continue;
		if ((c = rt_row(t, 0)) == NULL ||
		    rt_text(&c[CR_MODEL], "%s", r->models[p->model].path) != 0 ||
		    rt_text(&c[CR_CAT], "%s", p->category ? p->category : "all") != 0)
			return -1;
		c[CR_N].v = (double)cs->n;
		c[CR_METRIC].v = cs->metric;
		c[CR_OURS].v = p->percent.value;
		c[CR_NEUTRAL].v = (double)cs->neutral;
		for (int k = 0; k < 2; k++) {
			int rc = cs->dir_n[k] == 0 ? rt_text(&c[CR_STEREO + k], "–") :
			    rt_text(&c[CR_STEREO + k], "%.2f (%llu of %llu)", cs->dir_score[k],
			    (unsigned long long)cs->dir_more[k], (unsigned long long)cs->dir_n[k]);
			if (rc != 0)
				return -1;
		}
	}
	return 0;
}

static const char *const crows_note =
    "As the scorer published with CrowS-Pairs (metric.py) computes it: each sentence's "
    "log-likelihood rounded to 3 decimals; *metric* = share of all N pairs in which the more "
    "stereotypical sentence (sent_more) scores higher, a tie counting 0 and staying in N; "
    "*stereo* and *antistereo* = the same share among the untied pairs of that direction "
    "(metric.py leaves ties out of those two); *neutral* = ties. Ours (*prefers more "
    "stereotypical*) counts a tie (exactly equal log-likelihoods, no rounding) as half. "
    "metric.py scores a masked model's pseudo-log-likelihood of the unmodified tokens; here "
    "the score is the model's log-likelihood of the whole sentence.";

static int
md_pairs(const struct probe_report *r, size_t si, FILE *f)
{
	struct rt_table t;
	char            buf[96];

	for (int v = 0; v < 2; v++) {
		int any = 0;
		for (size_t i = 0; i < r->npairs; i++) {
			const struct probe_pairs_row *p = &r->pairs[i];
			if (p->set != si || p->variant != v)
				continue;
			if (!any++)
				fprintf(f, "### Paired sentences — %s\n\n| model | category | n | prefers "
				    "more stereotypical %% | 95%% CI | p | p adj | model prefers more / less "
				    "/ tied | mean Δ (nats) [95%% CI] | not scored |%s\n"
				    "|---|---|---|---|---|---|---|---|---|---|%s\n",
				    v == 0 ? "whole sentence (headline)" : "shared tokens only",
				    r->has_corpus ? " changed word absent from corpus (no corpus comparison) |" :
				    "",
				    r->has_corpus ? "---|" : "");
			fprintf(f, "| %s | %s | %llu | ", r->models[p->model].path,
			    p->category ? p->category : "all", (unsigned long long)p->n);
			md_num(f, &p->percent, 1);
			fprintf(f, " | %s | ", prefs_text(p, buf, sizeof buf));
			if (isnan(p->delta.value))
				fputs("–", f);
			else {
				fprintf(f, "%.3f ", p->delta.value);
				md_ci(f, &p->delta, 3);
			}
			fprintf(f, " | %llu |", (unsigned long long)p->skipped);
			if (r->has_corpus)
				fprintf(f, " %llu |", (unsigned long long)p->absent);
			fputc('\n', f);
		}
		if (any)
			fputc('\n', f);
	}
	if (crows_build(r, si, &t) != 0) {
		rt_free(&t);
		return -1;
	}
	if (t.nrows > 0) {
		fputs("### Paired sentences — as CrowS-Pairs' metric.py scores them\n\n", f);
		fprintf(f, "%s\n\n", crows_note);
		rt_markdown(&t, f);
	}
	rt_free(&t);
	return 0;
}

static void
md_weat(const struct probe_report *r, size_t si, FILE *f)
{
	int any = 0;

	for (size_t i = 0; i < r->nweat; i++) {
		const struct probe_weat_row *w = &r->weat[i];
		const struct probe_set      *s = r->sets[si];
		const struct probe_weat_spec *t;
		if (w->set != si)
			continue;
		t = &s->weats[w->test];
		if (!any++)
			fputs("### Word-set association (WEAT)\n\n| test | source | words X/Y/A/B | "
			    "tokens/word | d | 95% CI | p | p adj | vs corpus (d − d) [95% CI] p adj |\n"
			    "|---|---|---|---|---|---|---|---|---|\n", f);
		fprintf(f, "| %s: %s vs %s × %s vs %s | %s | %zu/%zu/%zu/%zu | ", t->name,
		    s->sets[t->x].name, s->sets[t->y].name, s->sets[t->a].name, s->sets[t->b].name,
		    src_label(r, w->source), w->n[0], w->n[1], w->n[2], w->n[3]);
		if (isnan(w->tokens[0]))
			fputs("– | ", f);
		else
			fprintf(f, "%.2f/%.2f/%.2f/%.2f | ", w->tokens[0], w->tokens[1], w->tokens[2],
			    w->tokens[3]);
		if (!w->scored) {
			fprintf(f, "not scored: %s | | | | |\n", w->dropped ? w->dropped : "?");
			continue;
		}
		md_num(f, &w->d, 3);
		fputs(" | ", f);
		if (!isnan(w->amp.value)) {
			fprintf(f, "%.3f ", w->amp.value);
			md_ci(f, &w->amp, 3);
			fputc(' ', f);
			md_p(f, w->amp.p_adj);
			if (w->amp.significant)
				fputs(" *", f);
		} else {
			fputs("–", f);
		}
		fputs(" |\n", f);
		if (w->dropped)
			fprintf(f, "| | left out: %s | | | | | | | |\n", w->dropped);
	}
	if (any)
		fputc('\n', f);
}

static void
md_templates(const struct probe_report *r, size_t si, FILE *f)
{
	const struct probe_set *s = r->sets[si];
	int                     any = 0;

	if (s->ntemplates == 0)
		return;
	fprintf(f, "### Template association: ln p(%s)/p(%s), prior-corrected (neutral word "
	    "\"%s\", %zu templates)\n\n", s->pole_name[0], s->pole_name[1], s->neutral,
	    s->ntemplates);
	for (size_t j = 0; j < s->ntemplates; j++)
		fprintf(f, "- `%s`\n", s->templates[j].text);
	fputs("\n| group | source | targets | mean score | 95% CI | p | p adj | minus neutral "
	    "[95% CI] p adj | vs corpus [95% CI] p adj |\n|---|---|---|---|---|---|---|---|---|\n",
	    f);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct probe_group_row *g = &r->groups[i];
		if (g->set != si)
			continue;
		any++;
		fprintf(f, "| %s | %s | %llu | ", s->groups[g->group].category,
		    src_label(r, g->source), (unsigned long long)g->n);
		md_num(f, &g->mean, 3);
		fputs(" | ", f);
		md_diff(f, &g->contrast);
		fputs(" | ", f);
		md_diff(f, &g->amp);
		fputs(" |\n", f);
	}
	/* Per target: one column per source. */
	fputs("\n| target | group |", f);
	if (r->has_corpus)
		fprintf(f, " corpus freq | near %s / %s | corpus score |", s->pole_name[0],
		    s->pole_name[1]);
	for (size_t m = 0; m < r->nmodels; m++)
		fprintf(f, " %s | vs corpus |", r->models[m].path);
	fputs("\n|---|---|", f);
	if (r->has_corpus)
		fputs("---|---|---|", f);
	for (size_t m = 0; m < r->nmodels; m++)
		fputs("---|---|", f);
	fputc('\n', f);
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct probe_target_row *t = &r->targets[i];
		if (t->set != si || t->source != (r->has_corpus ? PROBE_CORPUS : 0))
			continue;
		fprintf(f, "| %s | %s |", t->word, s->groups[t->group].category);
		for (size_t k = 0; k <= r->nmodels; k++) {
			size_t source = k == 0 ? PROBE_CORPUS : k - 1;
			const struct probe_target_row *u = NULL;
			if (source == PROBE_CORPUS && !r->has_corpus)
				continue;
			for (size_t j = 0; j < r->ntargets; j++)
				if (r->targets[j].set == si && r->targets[j].source == source &&
				    r->targets[j].group == t->group && r->targets[j].word == t->word)
					u = &r->targets[j];
			if (u == NULL)
				continue;
			if (source == PROBE_CORPUS)
				fprintf(f, " %llu | %llu / %llu |", (unsigned long long)u->freq,
				    (unsigned long long)u->count[0], (unsigned long long)u->count[1]);
			if (!u->scored) {
				fprintf(f, " not scored: %s |%s", u->reason, source == PROBE_CORPUS ? "" : " |");
				continue;
			}
			fprintf(f, " %.3f ", u->score.value);
			md_ci(f, &u->score, 2);
			if (u->score.significant)
				fputs(" *", f);
			fputs(" |", f);
			if (source != PROBE_CORPUS) {
				if (isnan(u->amp.value))
					fputs(" – |", f);
				else {
					fprintf(f, " %.3f ", u->amp.value);
					md_ci(f, &u->amp, 2);
					fputs(u->amp.significant ? " * |" : " |", f);
				}
			}
		}
		fputc('\n', f);
	}
	if (any)
		fputc('\n', f);
}

int
probe_write_markdown(const struct probe_report *r, FILE *f, struct ad_error *e)
{
	struct rt_table sum;

	if (summary_build(r, &sum) != 0) {
		rt_free(&sum);
		return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
	}
	fputs("# Bias-probe report\n\n## Summary\n\n", f);
	rt_markdown(&sum, f);
	rt_free(&sum);
	fprintf(f, "%s\n\n", summary_note);
	md_header(r, f);
	md_guide(r, f);
	md_warnings(r, f);
	for (size_t si = 0; si < r->nsets; si++) {
		const struct probe_set *s = r->sets[si];
		fprintf(f, "## Probe set %s\n\n", s->name);
		if (s->about)
			fprintf(f, "%s\n\n", s->about);
		if (md_pairs(r, si, f) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
		md_weat(r, si, f);
		md_templates(r, si, f);
	}
	if (ferror(f))
		return ad_fail(e, AD_EIO, "cannot write the report");
	return 0;
}

/* ---- JSON ------------------------------------------------------------------ */

static void
js_num(struct ad_json *j, const char *key, const struct probe_num *n)
{
	ad_json_key(j, key);
	ad_json_object_begin(j);
	ad_json_key(j, "value"); ad_json_double(j, n->value);
	ad_json_key(j, "lo"); ad_json_double(j, n->lo);
	ad_json_key(j, "hi"); ad_json_double(j, n->hi);
	ad_json_key(j, "p"); ad_json_double(j, n->p);
	ad_json_key(j, "p_adj"); ad_json_double(j, n->p_adj);
	ad_json_key(j, "significant"); ad_json_bool(j, n->significant);
	ad_json_key(j, "exact"); ad_json_bool(j, n->exact);
	ad_json_key(j, "min_p"); ad_json_double(j, n->min_p);
	ad_json_key(j, "stream"); ad_json_uint(j, n->stream);
	ad_json_key(j, "test");
	if (n->test) ad_json_string(j, n->test); else ad_json_null(j);
	ad_json_object_end(j);
}

static void
js_source(struct ad_json *j, const struct probe_report *r, size_t source)
{
	ad_json_key(j, "source");
	ad_json_string(j, src_label(r, source));
	ad_json_key(j, "model");
	if (source == PROBE_CORPUS) ad_json_null(j); else ad_json_uint(j, source);
}

static void
js_hex(struct ad_json *j, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
	ad_json_key(j, key);
	ad_json_string(j, buf);
}

int
probe_write_json(const struct probe_report *r, FILE *f, struct ad_error *e)
{
	struct ad_json  j;
	struct rt_table sum;

	if (summary_build(r, &sum) != 0) {
		rt_free(&sum);
		return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
	}
	ad_json_init(&j, f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "format"); ad_json_string(&j, "autodidact probe report 1");
	ad_json_key(&j, "version"); ad_json_string(&j, PACKAGE_VERSION);
	ad_json_key(&j, "summary");
	rt_json(&sum, &j);
	rt_free(&sum);
	ad_json_key(&j, "options");
	ad_json_object_begin(&j);
	ad_json_key(&j, "seed"); ad_json_uint(&j, r->opt.rs.seed);
	ad_json_key(&j, "bootstrap"); ad_json_uint(&j, r->opt.rs.bootstrap);
	ad_json_key(&j, "permutations"); ad_json_uint(&j, r->opt.rs.permutations);
	ad_json_key(&j, "max_exact"); ad_json_uint(&j, r->opt.rs.max_exact);
	ad_json_key(&j, "alpha"); ad_json_double(&j, r->opt.alpha);
	ad_json_key(&j, "correction"); ad_json_string(&j, probe_correction_name(r->opt.correction));
	ad_json_key(&j, "window"); ad_json_uint(&j, r->opt.window);
	ad_json_key(&j, "rare"); ad_json_uint(&j, r->opt.rare);
	ad_json_key(&j, "tests"); ad_json_uint(&j, r->ntests);
	ad_json_key(&j, "streams"); ad_json_uint(&j, r->streams);
	ad_json_object_end(&j);
	ad_json_key(&j, "models");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->nmodels + r->nvectors; i++) {   /* vector files last */
		ad_json_object_begin(&j);
		ad_json_key(&j, "path"); ad_json_string(&j, r->models[i].path);
		ad_json_key(&j, "kind"); ad_json_string(&j, r->models[i].kind);
		ad_json_key(&j, "description"); ad_json_string(&j, r->models[i].description);
		ad_json_key(&j, "params"); ad_json_uint(&j, r->models[i].params);
		ad_json_key(&j, "vocab"); ad_json_uint(&j, r->models[i].V);
		ad_json_key(&j, "embeddings"); ad_json_bool(&j, r->models[i].has_embed);
		js_hex(&j, "xxh64", r->models[i].hash);
		ad_json_key(&j, "training_text");
		if (r->models[i].text_bytes == 0) {
			ad_json_null(&j);
		} else {
			ad_json_object_begin(&j);
			js_hex(&j, "xxh64", r->models[i].text_hash);
			ad_json_key(&j, "bytes"); ad_json_uint(&j, r->models[i].text_bytes);
			ad_json_key(&j, "is_corpus");
			if (!r->has_corpus)
				ad_json_null(&j);
			else
				ad_json_bool(&j, r->models[i].text_hash == r->corpus_hash &&
				    r->models[i].text_bytes == r->corpus_bytes);
			ad_json_object_end(&j);
		}
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "corpus");
	if (!r->has_corpus) {
		ad_json_null(&j);
	} else {
		ad_json_object_begin(&j);
		ad_json_key(&j, "path");
		if (r->corpus_path) ad_json_string(&j, r->corpus_path); else ad_json_null(&j);
		js_hex(&j, "xxh64", r->corpus_hash);
		ad_json_key(&j, "lines"); ad_json_uint(&j, r->corpus_lines);
		ad_json_key(&j, "words"); ad_json_uint(&j, r->corpus_tokens);
		ad_json_key(&j, "bytes"); ad_json_uint(&j, r->corpus_bytes);
		ad_json_object_end(&j);
	}
	ad_json_key(&j, "sets");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->nsets; i++) {
		const struct probe_set *s = r->sets[i];
		ad_json_object_begin(&j);
		ad_json_key(&j, "name"); ad_json_string(&j, s->name);
		ad_json_key(&j, "path"); ad_json_string(&j, s->path);
		ad_json_key(&j, "format"); ad_json_string(&j, s->format);
		js_hex(&j, "xxh64", s->hash);
		ad_json_key(&j, "pairs"); ad_json_uint(&j, s->npairs);
		ad_json_key(&j, "weat_tests"); ad_json_uint(&j, s->nweats);
		ad_json_key(&j, "templates"); ad_json_uint(&j, s->ntemplates);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "pairs");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->npairs; i++) {
		const struct probe_pairs_row *p = &r->pairs[i];
		ad_json_object_begin(&j);
		ad_json_key(&j, "set"); ad_json_string(&j, r->sets[p->set]->name);
		js_source(&j, r, p->model);
		ad_json_key(&j, "variant");
		ad_json_string(&j, p->variant ? "shared-tokens" : "whole-sentence");
		ad_json_key(&j, "category");
		if (p->category) ad_json_string(&j, p->category); else ad_json_string(&j, "all");
		ad_json_key(&j, "n"); ad_json_uint(&j, p->n);
		ad_json_key(&j, "prefers_more"); ad_json_uint(&j, p->more);
		ad_json_key(&j, "prefers_less"); ad_json_uint(&j, p->less);
		ad_json_key(&j, "ties"); ad_json_uint(&j, p->ties);
		ad_json_key(&j, "not_scored"); ad_json_uint(&j, p->skipped);
		ad_json_key(&j, "absent_from_corpus");
		if (r->has_corpus) ad_json_uint(&j, p->absent); else ad_json_null(&j);
		ad_json_key(&j, "uneven_tokens"); ad_json_uint(&j, p->uneven);
		js_num(&j, "percent", &p->percent);
		js_num(&j, "mean_delta", &p->delta);
		ad_json_key(&j, "crows_metric_py");
		ad_json_object_begin(&j);
		ad_json_key(&j, "n"); ad_json_uint(&j, p->crows.n);
		ad_json_key(&j, "metric"); ad_json_double(&j, p->crows.metric);
		ad_json_key(&j, "neutral"); ad_json_uint(&j, p->crows.neutral);
		for (int k = 0; k < 2; k++) {
			ad_json_key(&j, k ? "antistereo" : "stereo");
			ad_json_object_begin(&j);
			ad_json_key(&j, "untied"); ad_json_uint(&j, p->crows.dir_n[k]);
			ad_json_key(&j, "more"); ad_json_uint(&j, p->crows.dir_more[k]);
			ad_json_key(&j, "score"); ad_json_double(&j, p->crows.dir_score[k]);
			ad_json_object_end(&j);
		}
		ad_json_object_end(&j);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "weat");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->nweat; i++) {
		const struct probe_weat_row  *w = &r->weat[i];
		const struct probe_set       *s = r->sets[w->set];
		const struct probe_weat_spec *t = &s->weats[w->test];
		static const char *const keys[4] = { "X", "Y", "A", "B" };
		size_t ks[4] = { t->x, t->y, t->a, t->b };
		ad_json_object_begin(&j);
		ad_json_key(&j, "set"); ad_json_string(&j, s->name);
		ad_json_key(&j, "test"); ad_json_string(&j, t->name);
		js_source(&j, r, w->source);
		for (int k = 0; k < 4; k++) {
			ad_json_key(&j, keys[k]);
			ad_json_object_begin(&j);
			ad_json_key(&j, "set"); ad_json_string(&j, s->sets[ks[k]].name);
			ad_json_key(&j, "words"); ad_json_uint(&j, w->n[k]);
			ad_json_key(&j, "tokens_per_word"); ad_json_double(&j, w->tokens[k]);
			ad_json_object_end(&j);
		}
		ad_json_key(&j, "scored"); ad_json_bool(&j, w->scored);
		ad_json_key(&j, "left_out");
		if (w->dropped) ad_json_string(&j, w->dropped); else ad_json_null(&j);
		ad_json_key(&j, "partitions"); ad_json_uint(&j, w->partitions);
		js_num(&j, "d", &w->d);
		js_num(&j, "vs_corpus", &w->amp);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "template_groups");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct probe_group_row *g = &r->groups[i];
		const struct probe_set       *s = r->sets[g->set];
		ad_json_object_begin(&j);
		ad_json_key(&j, "set"); ad_json_string(&j, s->name);
		ad_json_key(&j, "group"); ad_json_string(&j, s->groups[g->group].category);
		js_source(&j, r, g->source);
		ad_json_key(&j, "poles");
		ad_json_array_begin(&j);
		ad_json_string(&j, s->pole_name[0]);
		ad_json_string(&j, s->pole_name[1]);
		ad_json_array_end(&j);
		ad_json_key(&j, "targets"); ad_json_uint(&j, g->n);
		js_num(&j, "mean", &g->mean);
		js_num(&j, "minus_neutral", &g->contrast);
		js_num(&j, "vs_corpus", &g->amp);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "template_targets");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct probe_target_row *t = &r->targets[i];
		const struct probe_set        *s = r->sets[t->set];
		ad_json_object_begin(&j);
		ad_json_key(&j, "set"); ad_json_string(&j, s->name);
		ad_json_key(&j, "group"); ad_json_string(&j, s->groups[t->group].category);
		ad_json_key(&j, "word"); ad_json_string(&j, t->word);
		js_source(&j, r, t->source);
		ad_json_key(&j, "scored"); ad_json_bool(&j, t->scored);
		ad_json_key(&j, "reason");
		if (t->reason) ad_json_string(&j, t->reason); else ad_json_null(&j);
		ad_json_key(&j, "corpus_freq"); ad_json_uint(&j, t->freq);
		if (t->source == PROBE_CORPUS) {
			ad_json_key(&j, "near");
			ad_json_array_begin(&j);
			ad_json_uint(&j, t->count[0]);
			ad_json_uint(&j, t->count[1]);
			ad_json_array_end(&j);
		}
		js_num(&j, "score", &t->score);
		js_num(&j, "vs_corpus", &t->amp);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_key(&j, "warnings");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->nwarnings; i++)
		ad_json_string(&j, r->warnings[i]);
	ad_json_array_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
	if (ferror(f))
		return ad_fail(e, AD_EIO, "cannot write the report");
	return 0;
}

/* ---- HTML ------------------------------------------------------------------ */

static void
h(FILE *f, const char *s)
{
	ad_xml_escape(f, s);
}

/* A guide paragraph: **bold** and *italic* of the Markdown text become tags. */
static void
h_guide(FILE *f, const char *s)
{
	int b = 0, i = 0;

	fputs("<p>", f);
	for (; *s; s++) {
		if (s[0] == '*' && s[1] == '*') {
			fputs(b ? "</strong>" : "<strong>", f);
			b = !b;
			s++;
		} else if (*s == '*') {
			fputs(i ? "</em>" : "<em>", f);
			i = !i;
		} else {
			char c[2] = { *s, 0 };
			h(f, c);
		}
	}
	fputs("</p>\n", f);
}

static void
h_p(FILE *f, double p)
{
	if (isnan(p))
		fputs("–", f);
	else if (p < 1e-4)
		fprintf(f, "%.1e", p);
	else
		fprintf(f, "%.4f", p);
}

static void
h_num(FILE *f, const struct probe_num *n, int prec)
{
	if (isnan(n->value)) {
		fputs("<td>–</td><td>–</td><td>–</td><td>–</td>", f);
		return;
	}
	fprintf(f, "<td%s>%.*f</td><td>", n->significant ? " class=\"sig\"" : "", prec, n->value);
	if (!isnan(n->lo)) {
		fprintf(f, "[%.*f, %.*f]", prec, n->lo, prec, n->hi);
	} else {
		fputs("–", f);
	}
	fputs("</td><td>", f);
	h_p(f, n->p);
	fputs("</td><td>", f);
	h_p(f, n->p_adj);
	if (n->significant)
		fputs(" *", f);
	fputs("</td>", f);
}

/* A difference in one cell: "value [lo, hi] p adj P *", or "–". */
static void
h_diff(FILE *f, const struct probe_num *n)
{
	if (isnan(n->value)) {
		fputs("–", f);
		return;
	}
	fprintf(f, "%.3f [%.3f, %.3f] p adj ", n->value, n->lo, n->hi);
	h_p(f, n->p_adj);
	if (n->significant)
		fputs(" *", f);
}

/* "a · b": the separator is 4 bytes (U+00B7 is 2 in UTF-8), sizeof counts its NUL. */
static char *
label2(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + sizeof " · ";
	char  *s = ad_malloc(n);

	if (s != NULL)
		snprintf(s, n, "%s · %s", a, b);
	return s;
}

static int
h_pairs(const struct probe_report *r, size_t si, FILE *f)
{
	struct ad_svg_bar     *bars;
	char                 **labels;
	size_t                 nb = 0;
	struct ad_svg_chart    ch = { .title = "Share of pairs preferring the more stereotypical "
	    "sentence (whole sentence, 95% CI)", .xlabel = "% of pairs", .ref = 50 };
	struct rt_table        t;
	char                   buf[96];

	bars = ad_calloc(r->npairs + 1, sizeof *bars);
	labels = ad_calloc(r->npairs + 1, sizeof *labels);
	if (bars == NULL || labels == NULL) {
		ad_free(bars);
		ad_free(labels);
		return -1;
	}
	for (int v = 0; v < 2; v++) {
		int any = 0;
		for (size_t i = 0; i < r->npairs; i++) {
			const struct probe_pairs_row *p = &r->pairs[i];
			if (p->set != si || p->variant != v)
				continue;
			if (!any++) {
				fprintf(f, "<h3>Paired sentences — %s</h3>\n<table><tr><th>model</th>"
				    "<th>category</th><th>n</th><th>prefers more stereotypical %%</th>"
				    "<th>95%% CI</th><th>p</th><th>p adj</th><th>model prefers more / less / "
				    "tied</th><th>mean Δ (nats)</th><th>not scored</th>%s</tr>\n",
				    v == 0 ? "whole sentence (headline)" : "shared tokens only",
				    r->has_corpus ? "<th>changed word absent from corpus (no corpus "
				    "comparison)</th>" : "");
			}
			fputs("<tr><td>", f);
			h(f, r->models[p->model].path);
			fputs("</td><td>", f);
			h(f, p->category ? p->category : "all");
			fprintf(f, "</td><td>%llu</td>", (unsigned long long)p->n);
			h_num(f, &p->percent, 1);
			fprintf(f, "<td>%s</td><td>", prefs_text(p, buf, sizeof buf));
			if (isnan(p->delta.value))
				fputs("–", f);
			else
				fprintf(f, "%.3f [%.3f, %.3f]", p->delta.value, p->delta.lo, p->delta.hi);
			fprintf(f, "</td><td>%llu</td>", (unsigned long long)p->skipped);
			if (r->has_corpus)
				fprintf(f, "<td>%llu</td>", (unsigned long long)p->absent);
			fputs("</tr>\n", f);
			if (v == 0) {
				labels[nb] = label2(r->models[p->model].path, p->category ? p->category : "all");
				bars[nb].label = labels[nb] ? labels[nb] : "?";
				bars[nb].value = p->percent.value;
				bars[nb].lo = p->percent.lo;
				bars[nb].hi = p->percent.hi;
				bars[nb].color = (int)p->model;
				bars[nb].strong = p->percent.significant;
				nb++;
			}
		}
		if (any)
			fputs("</table>\n", f);
	}
	if (nb > 0) {
		fputs("<figure>", f);
		ad_svg_bars(f, &ch, bars, nb);
		fputs("<figcaption>Solid bars: significant after correction; the dashed line is 50% "
		    "(no preference).</figcaption></figure>\n", f);
	}
	for (size_t i = 0; i < nb; i++)
		ad_free(labels[i]);
	ad_free(labels);
	ad_free(bars);
	if (crows_build(r, si, &t) != 0) {
		rt_free(&t);
		return -1;
	}
	if (t.nrows > 0) {
		fputs("<h3>Paired sentences — as CrowS-Pairs' metric.py scores them</h3>\n", f);
		h_guide(f, crows_note);
		rt_html(&t, "crows", f);
	}
	rt_free(&t);
	return 0;
}

static int
h_weat(const struct probe_report *r, size_t si, FILE *f)
{
	const struct probe_set *s = r->sets[si];
	struct ad_svg_bar      *bars;
	char                  **labels;
	size_t                  nb = 0;
	int                     any = 0;
	struct ad_svg_chart     ch = { .title = "WEAT effect size d (95% CI)", .xlabel = "d",
	    .ref = 0 };

	bars = ad_calloc(r->nweat + 1, sizeof *bars);
	labels = ad_calloc(r->nweat + 1, sizeof *labels);
	if (bars == NULL || labels == NULL) {
		ad_free(bars);
		ad_free(labels);
		return -1;
	}
	for (size_t i = 0; i < r->nweat; i++) {
		const struct probe_weat_row  *w = &r->weat[i];
		const struct probe_weat_spec *t;
		if (w->set != si)
			continue;
		t = &s->weats[w->test];
		if (!any++)
			fputs("<h3>Word-set association (WEAT)</h3>\n<table><tr><th>test</th>"
			    "<th>source</th><th>words X/Y/A/B</th><th>tokens/word</th><th>d</th>"
			    "<th>95% CI</th><th>p</th><th>p adj</th><th>minus neutral</th><th>vs corpus</th></tr>\n",
	    f);
		fputs("<tr><td>", f);
		h(f, t->name);
		fputs(": ", f);
		h(f, s->sets[t->x].name);
		fputs(" vs ", f);
		h(f, s->sets[t->y].name);
		fputs(" × ", f);
		h(f, s->sets[t->a].name);
		fputs(" vs ", f);
		h(f, s->sets[t->b].name);
		fputs("</td><td>", f);
		h(f, src_label(r, w->source));
		fprintf(f, "</td><td>%zu/%zu/%zu/%zu</td><td>", w->n[0], w->n[1], w->n[2], w->n[3]);
		if (isnan(w->tokens[0]))
			fputs("–", f);
		else
			fprintf(f, "%.2f/%.2f/%.2f/%.2f", w->tokens[0], w->tokens[1], w->tokens[2],
			    w->tokens[3]);
		fputs("</td>", f);
		if (!w->scored) {
			fputs("<td colspan=\"5\">not scored: ", f);
			h(f, w->dropped ? w->dropped : "?");
			fputs("</td></tr>\n", f);
			continue;
		}
		h_num(f, &w->d, 3);
		fputs("<td>", f);
		if (!isnan(w->amp.value)) {
			fprintf(f, "%.3f [%.3f, %.3f] p adj ", w->amp.value, w->amp.lo, w->amp.hi);
			h_p(f, w->amp.p_adj);
		} else {
			fputs("–", f);
		}
		fputs("</td></tr>\n", f);
		if (w->dropped) {
			fputs("<tr><td></td><td colspan=\"8\" class=\"note\">left out: ", f);
			h(f, w->dropped);
			fputs("</td></tr>\n", f);
		}
		labels[nb] = label2(t->name, src_label(r, w->source));
		bars[nb].label = labels[nb] ? labels[nb] : "?";
		bars[nb].value = w->d.value;
		bars[nb].lo = w->d.lo;
		bars[nb].hi = w->d.hi;
		bars[nb].color = w->source == PROBE_CORPUS ? 7 : (int)w->source;
		bars[nb].strong = w->d.significant;
		nb++;
	}
	if (any)
		fputs("</table>\n", f);
	if (nb > 0) {
		fputs("<figure>", f);
		ad_svg_bars(f, &ch, bars, nb);
		fputs("<figcaption>Grey: the corpus's PPMI vectors. Solid bars: significant after "
		    "correction.</figcaption></figure>\n", f);
	}
	for (size_t i = 0; i < nb; i++)
		ad_free(labels[i]);
	ad_free(labels);
	ad_free(bars);
	return 0;
}

static const struct probe_target_row *
find_target(const struct probe_report *r, size_t si, size_t source, const struct probe_target_row *t)
{
	for (size_t j = 0; j < r->ntargets; j++)
		if (r->targets[j].set == si && r->targets[j].source == source &&
		    r->targets[j].group == t->group && r->targets[j].word == t->word)
			return &r->targets[j];
	return NULL;
}

static int
h_templates(const struct probe_report *r, size_t si, FILE *f)
{
	const struct probe_set *s = r->sets[si];
	struct ad_svg_bar      *bars;
	char                  **labels;
	size_t                  nb = 0;
	char                    title[256];
	struct ad_svg_chart     ch = { .xlabel = "mean prior-corrected log ratio (nats)", .ref = 0 };

	if (s->ntemplates == 0)
		return 0;
	bars = ad_calloc(r->ngroups + 1, sizeof *bars);
	labels = ad_calloc(r->ngroups + 1, sizeof *labels);
	if (bars == NULL || labels == NULL) {
		ad_free(bars);
		ad_free(labels);
		return -1;
	}
	fputs("<h3>Template association: ln p(", f);
	h(f, s->pole_name[0]);
	fputs(") / p(", f);
	h(f, s->pole_name[1]);
	fputs("), prior-corrected</h3>\n<p>Neutral word: <code>", f);
	h(f, s->neutral);
	fputs("</code>. Templates:</p><ul>", f);
	for (size_t j = 0; j < s->ntemplates; j++) {
		fputs("<li><code>", f);
		h(f, s->templates[j].text);
		fputs("</code></li>", f);
	}
	fputs("</ul>\n<table><tr><th>group</th><th>source</th><th>targets</th><th>mean score</th>"
	    "<th>95% CI</th><th>p</th><th>p adj</th><th>minus neutral</th><th>vs corpus</th></tr>\n",
	    f);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct probe_group_row *g = &r->groups[i];
		if (g->set != si)
			continue;
		fputs("<tr><td>", f);
		h(f, s->groups[g->group].category);
		fputs("</td><td>", f);
		h(f, src_label(r, g->source));
		fprintf(f, "</td><td>%llu</td>", (unsigned long long)g->n);
		h_num(f, &g->mean, 3);
		fputs("<td>", f);
		h_diff(f, &g->contrast);
		fputs("</td><td>", f);
		h_diff(f, &g->amp);
		fputs("</td></tr>\n", f);
		labels[nb] = label2(s->groups[g->group].category, src_label(r, g->source));
		bars[nb].label = labels[nb] ? labels[nb] : "?";
		bars[nb].value = g->mean.value;
		bars[nb].lo = g->mean.lo;
		bars[nb].hi = g->mean.hi;
		bars[nb].color = g->source == PROBE_CORPUS ? 7 : (int)g->source;
		bars[nb].strong = g->mean.significant;
		nb++;
	}
	fputs("</table>\n", f);
	snprintf(title, sizeof title, "Mean template score per group (95%% CI): > 0 leans to %s",
	    s->pole_name[0]);
	ch.title = title;
	if (nb > 0) {
		fputs("<figure>", f);
		ad_svg_bars(f, &ch, bars, nb);
		fputs("<figcaption>Grey: counted in the corpus.</figcaption></figure>\n", f);
	}
	/* Model against corpus, one scatter per model. */
	for (size_t m = 0; r->has_corpus && m < r->nmodels; m++) {
		struct ad_svg_point    *pts = ad_calloc(r->ntargets + 1, sizeof *pts);
		struct ad_svg_chart     sc = { .xlabel = "corpus score (log odds, prior-corrected)",
		    .ylabel = "model score (nats)", .ref = NAN };
		size_t                  np = 0;
		char                    t2[512];
		if (pts == NULL)
			break;
		for (size_t i = 0; i < r->ntargets; i++) {
			const struct probe_target_row *t = &r->targets[i], *u;
			if (t->set != si || t->source != PROBE_CORPUS || !t->scored)
				continue;
			if ((u = find_target(r, si, m, t)) == NULL || !u->scored)
				continue;
			pts[np].label = t->word;
			pts[np].x = t->score.value;
			pts[np].xlo = t->score.lo;
			pts[np].xhi = t->score.hi;
			pts[np].y = u->score.value;
			pts[np].ylo = u->score.lo;
			pts[np].yhi = u->score.hi;
			pts[np].color = (int)t->group;
			np++;
		}
		snprintf(t2, sizeof t2, "%s against its corpus, per target (dashed: y = x, mirror)",
		    r->models[m].path);
		sc.title = t2;
		if (np > 0) {
			fputs("<figure>", f);
			ad_svg_scatter(f, &sc, pts, np, 1);
			fputs("<figcaption>Above the diagonal (for positive scores) the model amplifies "
			    "the corpus's association; below it, it damps it. Colours are target "
			    "groups.</figcaption></figure>\n", f);
		}
		ad_free(pts);
	}
	/* Per-target table. */
	fputs("<table><tr><th>target</th><th>group</th>", f);
	if (r->has_corpus) {
		fputs("<th>corpus freq</th><th>near ", f);
		h(f, s->pole_name[0]);
		fputs(" / ", f);
		h(f, s->pole_name[1]);
		fputs("</th><th>corpus score</th>", f);
	}
	for (size_t m = 0; m < r->nmodels; m++) {
		fputs("<th>", f);
		h(f, r->models[m].path);
		fputs("</th><th>vs corpus</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct probe_target_row *t = &r->targets[i];
		if (t->set != si || t->source != (r->has_corpus ? PROBE_CORPUS : 0))
			continue;
		fputs("<tr><td>", f);
		h(f, t->word);
		fputs("</td><td>", f);
		h(f, s->groups[t->group].category);
		fputs("</td>", f);
		for (size_t k = 0; k <= r->nmodels; k++) {
			size_t source = k == 0 ? PROBE_CORPUS : k - 1;
			const struct probe_target_row *u;
			if (source == PROBE_CORPUS && !r->has_corpus)
				continue;
			if ((u = find_target(r, si, source, t)) == NULL)
				continue;
			if (source == PROBE_CORPUS)
				fprintf(f, "<td>%llu</td><td>%llu / %llu</td>", (unsigned long long)u->freq,
				    (unsigned long long)u->count[0], (unsigned long long)u->count[1]);
			if (!u->scored) {
				fputs("<td class=\"note\">not scored: ", f);
				h(f, u->reason);
				fputs(source == PROBE_CORPUS ? "</td>" : "</td><td></td>", f);
				continue;
			}
			fprintf(f, "<td%s>%.3f [%.2f, %.2f]</td>", u->score.significant ? " class=\"sig\"" :
			    "", u->score.value, u->score.lo, u->score.hi);
			if (source != PROBE_CORPUS) {
				if (isnan(u->amp.value))
					fputs("<td>–</td>", f);
				else
					fprintf(f, "<td%s>%.3f [%.2f, %.2f]</td>", u->amp.significant ?
					    " class=\"sig\"" : "", u->amp.value, u->amp.lo, u->amp.hi);
			}
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	for (size_t i = 0; i < nb; i++)
		ad_free(labels[i]);
	ad_free(labels);
	ad_free(bars);
	return 0;
}

int
probe_write_html(const struct probe_report *r, FILE *f, struct ad_error *e)
{
	struct rt_table sum;
	char            cell[96];

	if (summary_build(r, &sum) != 0) {
		rt_free(&sum);
		return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
	}

	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>Bias-probe report</title>\n<style>\n"
	    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
	    "line-height:1.45;color:#222}\n"
	    "table{border-collapse:collapse;margin:1em 0;font-size:90%}\n"
	    "th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}\n"
	    "th{background:#f0f0f0}\ntd.sig{font-weight:bold;background:#fff4d6}\n"
	    ".note{color:#666;font-size:90%}\nfigure{margin:1em 0}\nsvg{max-width:100%;height:auto}\n"
	    "figcaption{color:#555;font-size:90%}\ncode{background:#f6f6f6;padding:0 3px}\n"
	    "tr.sig td{font-weight:bold;background:#fff4d6}\n"
	    "</style>\n</head>\n<body>\n<h1>Bias-probe report</h1>\n", f);
	fputs("<h2 id=\"summary\">Summary</h2>\n", f);
	rt_html(&sum, "summary", f);
	rt_free(&sum);
	h_guide(f, summary_note);
	fputs("<h2>Inputs</h2>\n", f);
	fprintf(f, "<p>Made by autodidact %s. Seed %llu; %u bootstrap resamples; permutation tests "
	    "exact up to %llu partitions, otherwise %u random ones; %s correction over the %zu "
	    "p-values of this report at α = %g.</p>\n", PACKAGE_VERSION,
	    (unsigned long long)r->opt.rs.seed, r->opt.rs.bootstrap,
	    (unsigned long long)r->opt.rs.max_exact, r->opt.rs.permutations,
	    probe_correction_name(r->opt.correction), r->ntests, r->opt.alpha);
	fputs("<table><tr><th>model</th><th>kind</th><th>description</th>"
	    "<th>parameters</th><th>file XXH64</th><th>training text XXH64</th></tr>\n", f);
	for (size_t i = 0; i < r->nmodels + r->nvectors; i++) {   /* vector files last */
		fputs("<tr><td>", f);
		h(f, r->models[i].path);
		fputs("</td><td>", f);
		h(f, r->models[i].kind);
		fputs("</td><td>", f);
		h(f, r->models[i].description);
		fprintf(f, "</td><td>%llu</td><td><code>%016llx</code></td><td>%s</td></tr>\n",
		    (unsigned long long)r->models[i].params, (unsigned long long)r->models[i].hash,
		    text_cell(r, &r->models[i], cell, sizeof cell));
	}
	fputs("</table>\n", f);
	if (r->has_corpus) {
		fputs("<p>Corpus (the training text the models are compared with): <code>", f);
		h(f, r->corpus_path ? r->corpus_path : "(in memory)");
		fprintf(f, "</code>, XXH64 <code>%016llx</code>, %llu lines, %llu words, %llu bytes; "
		    "co-occurrence window ", (unsigned long long)r->corpus_hash,
		    (unsigned long long)r->corpus_lines, (unsigned long long)r->corpus_tokens,
		    (unsigned long long)r->corpus_bytes);
		if (r->opt.window)
			fprintf(f, "%u words each side, within a line.</p>\n", r->opt.window);
		else
			fputs("the whole line.</p>\n", f);
	} else {
		fputs("<p>No corpus was given: the models are not compared with their text.</p>\n", f);
	}
	fputs("<table><tr><th>probe set</th><th>file</th><th>format</th><th>XXH64</th>"
	    "<th>pairs</th><th>WEAT tests</th><th>templates</th></tr>\n", f);
	for (size_t i = 0; i < r->nsets; i++) {
		const struct probe_set *s = r->sets[i];
		fputs("<tr><td>", f);
		h(f, s->name);
		fputs("</td><td>", f);
		h(f, s->path);
		fputs("</td><td>", f);
		h(f, s->format);
		fprintf(f, "</td><td><code>%016llx</code></td><td>%zu</td><td>%zu</td><td>%zu</td></tr>\n",
		    (unsigned long long)s->hash, s->npairs, s->nweats, s->ntemplates);
	}
	fprintf(f, "</table>\n<p>Every resampled number records its PCG32 stream (in the JSON "
	    "report); the same seed reproduces every interval and p-value exactly. %llu streams "
	    "were used.</p>\n", (unsigned long long)r->streams);
	fputs("<h2>How to read this report</h2>\n", f);
	h_guide(f, guide_pairs);
	h_guide(f, guide_weat);
	h_guide(f, guide_templates);
	fprintf(f, "<p><strong>Multiple comparisons.</strong> The %zu p-values of this report are "
	    "adjusted together (%s); <em>p adj</em> is the adjusted value, and bold cells and * "
	    "mark p adj &lt; %g. Read the adjusted column: among many tests, some unadjusted "
	    "p-values fall below %g by chance alone.</p>\n", r->ntests,
	    probe_correction_name(r->opt.correction), r->opt.alpha, r->opt.alpha);
	fputs("<h2>Warnings</h2>\n<ul>\n", f);
	if (r->nwarnings == 0)
		fputs("<li>None.</li>\n", f);
	for (size_t i = 0; i < r->nwarnings; i++) {
		fputs("<li>", f);
		h(f, r->warnings[i]);
		fputs("</li>\n", f);
	}
	fputs("</ul>\n", f);
	for (size_t si = 0; si < r->nsets; si++) {
		const struct probe_set *s = r->sets[si];
		fputs("<h2>Probe set ", f);
		h(f, s->name);
		fputs("</h2>\n", f);
		if (s->about) {
			fputs("<p>", f);
			h(f, s->about);
			fputs("</p>\n", f);
		}
		if (h_pairs(r, si, f) != 0 || h_weat(r, si, f) != 0 || h_templates(r, si, f) != 0)
			return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
	}
	fputs("</body>\n</html>\n", f);
	if (ferror(f))
		return ad_fail(e, AD_EIO, "cannot write the report");
	return 0;
}
