/*
 * report.c — a bias report as Markdown (for the terminal), JSON (for
 * scripts) and a self-contained HTML page with inline SVG charts.
 *
 * All three show the same numbers in the same order: the inputs (models
 * with their file hashes, the corpus and its hash, the probe sets and
 * theirs, the seed and resampling counts), how to read each number and
 * what it does not prove, the warnings, then per probe set its pairs,
 * WEAT tests and templates, each model beside the corpus.
 *
 * Every table is built once, by one *_build function per table, from the
 * report's rows into a format-neutral struct rt_table, and written by
 * rt_markdown, rt_html or rt_json; the md_* and h_* writers add only the
 * headings, the prose and (HTML) the charts. The file reads in that order:
 * the guides, the table type and its renderers, the tables (summary,
 * inputs, pairs, WEAT, templates), then the Markdown, JSON and HTML
 * writers.
 */
#include "config.h"

#include <assert.h>
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

/*
 * The way of scoring pairs that is a model's headline: the whole sentence
 * (variant 0) for a left-to-right model, the shared tokens (variant 1) for
 * a masked one, whose shared-token score is CrowS-Pairs' own.
 */
static int
pairs_headline(const struct probe_report *r, size_t model)
{
	return model < r->nmodels && r->models[model].masked;
}

/* The scoring rule behind a pairs row, in words. */
static const char *
pairs_rule(const struct probe_report *r, size_t model, int variant)
{
	if (model < r->nmodels && r->models[model].masked)
		return variant ? "masked PLL of the shared tokens (Nangia et al. 2020)" :
		    "masked PLL of every token (Salazar et al. 2020)";
	return variant ? "causal: ln p of the shared tokens, left to right" :
	    "causal: ln p of the whole sentence, left to right";
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
    "conditioning on the unmodified tokens, adapted to a left-to-right model). A masked "
    "(bidirectional) model is scored as the paper designed it (its *scoring* column says so): "
    "each token is masked alone and ln p of it given every other token is summed (a "
    "pseudo-log-likelihood); the shared-token variant, its headline, sums the tokens the "
    "two sentences share as CrowS-Pairs' scorer (metric.py) aligns them (difflib on token "
    "ids, the line's framing newlines never masked), and the whole-sentence variant sums "
    "every token (Salazar et al. 2020). *Mean Δ* is "
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
    "**Template association** (Kurita et al. 2019). For a target "
    "word t in a template such as \"The {target} said that {he|she}\", the score is "
    "ln p(a | template with t) / p(b | template with t) − the same ratio with a neutral word "
    "in place of t, averaged over templates, in nats: 0 is no association, +1 means a is "
    "e ≈ 2.7 times more likely (relative to b) after t than after the neutral word, and "
    "negative values lean to b. A left-to-right model sees only the words before the "
    "attribute. A masked model is scored by Kurita et al.'s own rule (its *scoring* in the "
    "inputs table): the attribute slot is masked and the whole line is seen; for each "
    "attribute word x, ln p([MASK] = x | template with t) − ln p([MASK] = x | template with "
    "t masked as well) (their increased log probability), and the score is that of a minus "
    "that of b, so the prior is the masked target, not a neutral word (a word of several "
    "tokens: as many masks, its pieces scored left to right). The corpus score is the log odds of attribute words of pole "
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
 * and rendered by small writers for Markdown, HTML and JSON, so the formats
 * cannot disagree about what a table holds. Every table of the report is
 * built this way. Only the summary goes to JSON through rt_json: the JSON
 * report's detail arrays keep their own nested objects (every number with
 * its test, stream and exactness), which scripts read by key.
 *
 * Where Markdown and HTML have always written a cell differently (an
 * interval printed whole in HTML, the star of a significant cell), the
 * difference is a property of the cell kind or a flag, so that the outputs
 * stay what they were.
 */
enum rt_kind {
	RT_TEXT,   /* text */
	RT_NUM,    /* v, with prec decimals */
	RT_CI,     /* [lo, hi], with prec decimals */
	RT_P,      /* v, a p-value */
	RT_EST,    /* "v [lo, hi]": an estimate and its interval in one cell */
	RT_DIFF,   /* "v [lo, hi] p": a difference, its interval and its adjusted p */
};

/* Cell flags. */
enum {
	RT_STAR_MD   = 1,     /* " *" after the cell in Markdown: significant */
	RT_STAR_HTML = 2,     /* the same in HTML */
	RT_STAR      = RT_STAR_MD | RT_STAR_HTML,
	RT_HL        = 4,     /* HTML: a highlighted (significant) cell */
	RT_NOTE      = 8,     /* HTML: a note, in small grey type */
	RT_CODE      = 16,    /* HTML: set as code (hashes) */
};

struct rt_col {
	const char  *key;        /* JSON key; NULL in tables never written as JSON */
	const char  *head;       /* column heading (HTML: unless the table's hheads has one) */
	enum rt_kind kind;
	int          prec;       /* decimals of numbers (a cell may override) */
};

struct rt_cell {
	char    *text;       /* owned; when set, shown whatever the column's kind */
	double   v, lo, hi;  /* RT_NUM, RT_P, RT_EST, RT_DIFF: v; intervals: [lo, hi]; NAN: none */
	double   p;          /* RT_DIFF: the adjusted p */
	int      prec;       /* decimals of v and of an RT_CI, the column's unless set */
	int      ciprec;     /* decimals of the interval of RT_EST and RT_DIFF */
	unsigned flags;      /* RT_STAR_MD ... */
	int      span;       /* > 1: also covers the next span − 1 shown columns */
};

struct rt_table {
	const struct rt_col *cols;
	const char *const   *hheads;              /* (ncols) HTML headings where they differ, or NULL */
	size_t               ncols, nrows, cap;   /* cells: nrows × ncols, row-major */
	struct rt_cell      *cells;
	int                 *strong;              /* (nrows) a significant row */
	struct rt_col       *own;                 /* columns made at run time (cols), or NULL */
};

/* An empty table of the given columns (NULL: columns added by rt_col_add). */
static void
rt_init(struct rt_table *t, const struct rt_col *cols, size_t ncols)
{
	memset(t, 0, sizeof *t);
	t->cols = cols;
	t->ncols = ncols;
}

static void
rt_free(struct rt_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		ad_free(t->cells[i].text);
	for (size_t k = 0; t->own != NULL && k < t->ncols; k++)
		ad_free((char *)t->own[k].head);
	ad_free(t->own);
	ad_free(t->cells);
	ad_free(t->strong);
	memset(t, 0, sizeof *t);
}

/*
 * Text of any length (a cell listing the words left out can be long);
 * NULL when out of memory.
 */
static char *
rt_vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	int     n;
	char   *s;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || (s = ad_malloc((size_t)n + 1)) == NULL)
		return NULL;
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

/* A column made at run time (its heading names a model or a pole), before any row. */
static int
rt_col_add(struct rt_table *t, enum rt_kind kind, int prec, const char *fmt, ...) AD_PRINTF(4, 5);

static int
rt_col_add(struct rt_table *t, enum rt_kind kind, int prec, const char *fmt, ...)
{
	struct rt_col *c;
	va_list        ap;

	assert(t->nrows == 0 && (t->cols == NULL || t->cols == t->own));
	if ((c = ad_reallocarray(t->own, t->ncols + 1, sizeof *c)) == NULL)
		return -1;
	t->own = c;
	t->cols = c;
	memset(&c[t->ncols], 0, sizeof *c);
	c[t->ncols].kind = kind;
	c[t->ncols].prec = prec;
	va_start(ap, fmt);
	c[t->ncols].head = rt_vformat(fmt, ap);
	va_end(ap);
	if (c[t->ncols].head == NULL)
		return -1;
	t->ncols++;
	return 0;
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
		memset(&row[k], 0, sizeof row[k]);
		row[k].v = row[k].lo = row[k].hi = row[k].p = NAN;
		row[k].prec = row[k].ciprec = t->cols[k].prec;
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

	va_start(ap, fmt);
	c->text = rt_vformat(fmt, ap);
	va_end(ap);
	return c->text == NULL ? -1 : 0;
}

/* A count as text (exact, where a double would round above 2^53). */
static int
rt_count(struct rt_cell *c, uint64_t n)
{
	return rt_text(c, "%llu", (unsigned long long)n);
}

/*
 * Four cells from x: its value, 95% interval, p and adjusted p; all four
 * "–" when x has no value. When x is significant the value is highlighted
 * and the adjusted p starred.
 */
static void
rt_num4(struct rt_cell *c, const struct probe_num *x, int prec)
{
	if (isnan(x->value))
		return;
	c[0].v = x->value;
	c[1].lo = x->lo;
	c[1].hi = x->hi;
	c[0].prec = c[1].prec = prec;
	c[2].v = x->p;
	c[3].v = x->p_adj;
	if (x->significant) {
		c[0].flags |= RT_HL;
		c[3].flags |= RT_STAR;
	}
}

/* A text column of a table not written as JSON. */
#define RT_TEXT_COL(head) { NULL, head, RT_TEXT, 0 }

/* The four columns rt_num4 fills, the first headed head. */
#define RT_NUM4_COLS(head, prec) \
	{ NULL, head, RT_NUM, prec }, { NULL, "95% CI", RT_CI, prec }, { NULL, "p", RT_P, 0 }, \
	{ NULL, "p adj", RT_P, 0 }

/* One RT_EST or RT_DIFF cell from x; sig: its flags when x is significant. */
static void
rt_est(struct rt_cell *c, const struct probe_num *x, int ciprec, unsigned sig)
{
	c->v = x->value;
	c->lo = x->lo;
	c->hi = x->hi;
	c->p = x->p_adj;
	c->ciprec = ciprec;
	if (!isnan(x->value) && x->significant)
		c->flags |= sig;
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

/*
 * A cell as plain text for Markdown (html 0) or HTML (html 1), before
 * escaping. The formats differ in two places only: HTML prints an
 * estimate's interval even when it has none, and names the p of a
 * difference ("p adj").
 */
static const char *
rt_cell_text(const struct rt_col *col, const struct rt_cell *c, int html, char *buf, size_t n)
{
	char ci[720], pb[32];   /* room for two numbers as large as DBL_MAX */

	if (c->text != NULL || col->kind == RT_TEXT)
		return c->text ? c->text : "";
	switch (col->kind) {
	case RT_TEXT:
		break;
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
	case RT_EST:
	case RT_DIFF:
		if (isnan(c->v))
			return "–";
		if (html || !isnan(c->lo))
			snprintf(ci, sizeof ci, "[%.*f, %.*f]", c->ciprec, c->lo, c->ciprec, c->hi);
		else
			snprintf(ci, sizeof ci, "–");
		if (col->kind == RT_EST)
			snprintf(buf, n, "%.*f %s", c->prec, c->v, ci);
		else
			snprintf(buf, n, "%.*f %s %s%s", c->prec, c->v, ci, html ? "p adj " : "",
			    p_text(c->p, pb, sizeof pb));
		return buf;
	}
	return "";
}

/*
 * A Markdown table, without the blank line that ends it (the caller
 * writes it, or the paragraph that follows). An empty cell is "| ", and a
 * spanning cell is followed by empty ones.
 */
static void
rt_markdown(const struct rt_table *t, FILE *f)
{
	char buf[1024];

	for (size_t k = 0; k < t->ncols; k++)
		fprintf(f, "| %s ", t->cols[k].head);
	fputs("|\n", f);
	for (size_t k = 0; k < t->ncols; k++)
		fputs("|---", f);
	fputs("|\n", f);
	for (size_t i = 0; i < t->nrows; i++) {
		int covered = 0;
		for (size_t k = 0; k < t->ncols; k++) {
			const struct rt_cell *c = &t->cells[i * t->ncols + k];
			const char           *s;
			if (covered > 0) {
				covered--;
				fputs("| ", f);
				continue;
			}
			covered = c->span > 1 ? c->span - 1 : 0;
			s = rt_cell_text(&t->cols[k], c, 0, buf, sizeof buf);
			fputs("| ", f);
			if (*s == '\0')
				continue;
			for (; *s; s++) {
				if (*s == '|')
					fputc('\\', f);
				fputc(*s, f);
			}
			fputs(c->flags & RT_STAR_MD ? " * " : " ", f);
		}
		fputs("|\n", f);
	}
}

/* An HTML table; cls: its class, or NULL. */
static void
rt_html(const struct rt_table *t, const char *cls, FILE *f)
{
	char buf[1024];

	if (cls != NULL)
		fprintf(f, "<table class=\"%s\"><tr>", cls);
	else
		fputs("<table><tr>", f);
	for (size_t k = 0; k < t->ncols; k++) {
		fputs("<th>", f);
		ad_xml_escape(f, t->hheads && t->hheads[k] ? t->hheads[k] : t->cols[k].head);
		fputs("</th>", f);
	}
	fputs("</tr>\n", f);
	for (size_t i = 0; i < t->nrows; i++) {
		int covered = 0;
		fputs(t->strong[i] ? "<tr class=\"sig\">" : "<tr>", f);
		for (size_t k = 0; k < t->ncols; k++) {
			const struct rt_cell *c = &t->cells[i * t->ncols + k];
			if (covered > 0) {
				covered--;
				continue;
			}
			fputs("<td", f);
			if (c->span > 1) {
				covered = c->span - 1;
				fprintf(f, " colspan=\"%d\"", c->span);
			}
			if (c->flags & (RT_HL | RT_NOTE))
				fputs(c->flags & RT_HL ? " class=\"sig\"" : " class=\"note\"", f);
			fputs(c->flags & RT_CODE ? "><code>" : ">", f);
			ad_xml_escape(f, rt_cell_text(&t->cols[k], c, 1, buf, sizeof buf));
			if (c->flags & RT_STAR_HTML)
				fputs(" *", f);
			fputs(c->flags & RT_CODE ? "</code></td>" : "</td>", f);
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
			assert(t->cols[k].key != NULL);
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
			case RT_EST:
			case RT_DIFF:
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

	rt_init(t, summary_cols, SUM_NCOLS);
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
				if (p->set != si || p->model != source || p->category ||
				    p->variant != pairs_headline(r, source))
					continue;
				snprintf(what, sizeof what, "paired sentences: %% of %llu pairs where the "
				    "more stereotypical sentence is likelier (%s, ties half)",
				    (unsigned long long)p->n, p->variant ? "masked PLL of the shared tokens" :
				    "whole sentence");
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

/* ---- the inputs ------------------------------------------------------------- */

/* The sentence that opens the inputs: the version, the seed, the resampling, the correction. */
static const char *
made_by(const struct probe_report *r, char *buf, size_t n)
{
	snprintf(buf, n, "Made by autodidact %s. Seed %llu; %u bootstrap resamples; permutation "
	    "tests exact up to %llu partitions, otherwise %u random ones; %s correction over the "
	    "%zu p-values of this report at α = %g.", PACKAGE_VERSION,
	    (unsigned long long)r->opt.rs.seed, r->opt.rs.bootstrap,
	    (unsigned long long)r->opt.rs.max_exact, r->opt.rs.permutations,
	    probe_correction_name(r->opt.correction), r->ntests, r->opt.alpha);
	return buf;
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

/*
 * The models and vector files (vector files last): what each is, its
 * parameter count, the XXH64 of its file, and the XXH64 and size of the
 * text it was trained on, so a reader can tell which files made the report
 * and whether a model was trained on the report's corpus.
 */
enum { MO_PATH, MO_KIND, MO_DESC, MO_PARAMS, MO_HASH, MO_TEXT, MO_RULE, MO_NCOLS };

static const struct rt_col models_cols[MO_NCOLS] = {
	RT_TEXT_COL("model"), RT_TEXT_COL("kind"), RT_TEXT_COL("description"),
	RT_TEXT_COL("parameters"), RT_TEXT_COL("file XXH64"), RT_TEXT_COL("training text XXH64"),
	RT_TEXT_COL("scoring"),
};

/* The scoring rules a source is probed by, in words (the models table, the JSON). */
static const char *
model_rule(const struct probe_model_info *m)
{
	if (strcmp(m->kind, "vectors") == 0)
		return "WEAT on its vectors";
	if (m->masked)
		return "masked: pairs by pseudo-log-likelihood of the shared tokens (Nangia et al. "
		    "2020), templates by the increased log probability (Kurita et al. 2019)";
	return "causal: pairs by ln p of the whole sentence, templates by ln p of the attribute "
	    "after the target, less that after the neutral word";
}

static int
models_build(const struct probe_report *r, struct rt_table *t)
{
	char buf[96];

	rt_init(t, models_cols, MO_NCOLS);
	for (size_t i = 0; i < r->nmodels + r->nvectors; i++) {
		const struct probe_model_info *m = &r->models[i];
		struct rt_cell                *c = rt_row(t, 0);
		if (c == NULL || rt_text(&c[MO_PATH], "%s", m->path) != 0 ||
		    rt_text(&c[MO_KIND], "%s", m->kind) != 0 ||
		    rt_text(&c[MO_DESC], "%s", m->description) != 0 ||
		    rt_count(&c[MO_PARAMS], m->params) != 0 ||
		    rt_text(&c[MO_HASH], "%016llx", (unsigned long long)m->hash) != 0 ||
		    rt_text(&c[MO_TEXT], "%s", text_cell(r, m, buf, sizeof buf)) != 0 ||
		    rt_text(&c[MO_RULE], "%s", model_rule(m)) != 0)
			return -1;
		c[MO_HASH].flags = RT_CODE;
	}
	return 0;
}

/* The probe sets: name, file, format, XXH64, and how many probes of each kind. */
enum { PS_NAME, PS_PATH, PS_FORMAT, PS_HASH, PS_PAIRS, PS_WEATS, PS_TEMPLATES, PS_NCOLS };

static const struct rt_col sets_cols[PS_NCOLS] = {
	RT_TEXT_COL("probe set"), RT_TEXT_COL("file"), RT_TEXT_COL("format"), RT_TEXT_COL("XXH64"),
	RT_TEXT_COL("pairs"), RT_TEXT_COL("WEAT tests"), RT_TEXT_COL("templates"),
};

static int
sets_build(const struct probe_report *r, struct rt_table *t)
{
	rt_init(t, sets_cols, PS_NCOLS);
	for (size_t i = 0; i < r->nsets; i++) {
		const struct probe_set *s = r->sets[i];
		struct rt_cell         *c = rt_row(t, 0);
		if (c == NULL || rt_text(&c[PS_NAME], "%s", s->name) != 0 ||
		    rt_text(&c[PS_PATH], "%s", s->path) != 0 ||
		    rt_text(&c[PS_FORMAT], "%s", s->format) != 0 ||
		    rt_text(&c[PS_HASH], "%016llx", (unsigned long long)s->hash) != 0 ||
		    rt_count(&c[PS_PAIRS], s->npairs) != 0 || rt_count(&c[PS_WEATS], s->nweats) != 0 ||
		    rt_count(&c[PS_TEMPLATES], s->ntemplates) != 0)
			return -1;
		c[PS_HASH].flags = RT_CODE;
	}
	return 0;
}

/* The tables that open every report: the summary, the models, the probe sets. */
struct opening {
	struct rt_table sum, models, sets;
};

static void
opening_free(struct opening *o)
{
	rt_free(&o->sum);
	rt_free(&o->models);
	rt_free(&o->sets);
}

static int
opening_build(const struct probe_report *r, struct opening *o)
{
	rt_init(&o->sum, NULL, 0);
	rt_init(&o->models, NULL, 0);
	rt_init(&o->sets, NULL, 0);
	if (summary_build(r, &o->sum) != 0 || models_build(r, &o->models) != 0 ||
	    sets_build(r, &o->sets) != 0) {
		opening_free(o);
		return -1;
	}
	return 0;
}

/* ---- paired sentences ------------------------------------------------------- */

/*
 * The pairs of set si scored one way (variant 0: the whole sentence, the
 * headline; 1: the shared tokens only), one row per model and category
 * ("all" first). *Prefers more stereotypical %* is the share of the n
 * scored pairs in which the model gives the more stereotypical sentence
 * the higher log-likelihood, ties counting half (50 = no preference), with
 * its bootstrap interval and the sign test's p; the counts behind it; the
 * mean log-likelihood difference in nats; the pairs the model could not
 * score; and, with a corpus, the scored pairs whose changed words the
 * corpus never has.
 */
enum { PR_MODEL, PR_CAT, PR_N, PR_PCT, PR_CI, PR_P, PR_PADJ, PR_PREFS, PR_DELTA, PR_SKIPPED,
    PR_ABSENT, PR_NCOLS };

static const struct rt_col pairs_cols[PR_NCOLS] = {
	RT_TEXT_COL("model"), RT_TEXT_COL("category"), RT_TEXT_COL("n"),
	RT_NUM4_COLS("prefers more stereotypical %", 1),
	RT_TEXT_COL("model prefers more / less / tied"),
	{ NULL, "mean Δ (nats) [95% CI]",           RT_EST,  3 },
	RT_TEXT_COL("not scored"),
	RT_TEXT_COL("changed word absent from corpus (no corpus comparison)"),
};

static const char *const pairs_hheads[PR_NCOLS] = { [PR_DELTA] = "mean Δ (nats)" };

static int
pairs_build(const struct probe_report *r, size_t si, int variant, struct rt_table *t)
{
	rt_init(t, pairs_cols, r->has_corpus ? PR_NCOLS : PR_ABSENT);
	t->hheads = pairs_hheads;
	for (size_t i = 0; i < r->npairs; i++) {
		const struct probe_pairs_row *p = &r->pairs[i];
		struct rt_cell               *c;
		if (p->set != si || p->variant != variant)
			continue;
		if ((c = rt_row(t, 0)) == NULL ||
		    rt_text(&c[PR_MODEL], "%s", r->models[p->model].path) != 0 ||
		    rt_text(&c[PR_CAT], "%s", p->category ? p->category : "all") != 0 ||
		    rt_count(&c[PR_N], p->n) != 0 ||
		    rt_text(&c[PR_PREFS], "%llu / %llu / %llu", (unsigned long long)p->more,
		    (unsigned long long)p->less, (unsigned long long)p->ties) != 0 ||
		    rt_count(&c[PR_SKIPPED], p->skipped) != 0 ||
		    (r->has_corpus && rt_count(&c[PR_ABSENT], p->absent) != 0))
			return -1;
		rt_num4(&c[PR_PCT], &p->percent, 1);
		rt_est(&c[PR_DELTA], &p->delta, 3, 0);
	}
	return 0;
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

/*
 * The whole-sentence pairs of set si as CrowS-Pairs' metric.py scores
 * them, one row per model and category, beside our share: metric.py's
 * share of all N pairs (a tie counts 0), ours (a tie counts half), the
 * share within each direction's untied pairs, and the ties. No rows when
 * the set is not labelled by direction.
 */
enum { CR_MODEL, CR_CAT, CR_N, CR_METRIC, CR_OURS, CR_STEREO, CR_ANTI, CR_NEUTRAL, CR_RULE,
    CR_NCOLS };

static const struct rt_col crows_cols[CR_NCOLS] = {
	{ "model",      "model",                  RT_TEXT, 0 },
	{ "category",   "category",               RT_TEXT, 0 },
	{ "n",          "N",                      RT_NUM,  0 },
	{ "metric",     "metric % (ties 0)",      RT_NUM,  2 },
	{ "ours",       "ours % (ties half)",     RT_NUM,  2 },
	{ "stereo",     "stereo % (of untied)",   RT_TEXT, 0 },
	{ "antistereo", "antistereo % (of untied)", RT_TEXT, 0 },
	{ "neutral",    "neutral (ties)",         RT_NUM,  0 },
	{ "scoring",    "scoring",                RT_TEXT, 0 },
};

static int
crows_build(const struct probe_report *r, size_t si, struct rt_table *t)
{
	rt_init(t, crows_cols, CR_NCOLS);
	if (!set_has_directions(r->sets[si]))
		return 0;
	for (size_t i = 0; i < r->npairs; i++) {
		const struct probe_pairs_row   *p = &r->pairs[i];
		const struct probe_crows_score *cs = &p->crows;
		struct rt_cell                 *c;
		if (p->set != si || p->variant != pairs_headline(r, p->model))
			continue;
		if ((c = rt_row(t, 0)) == NULL ||
		    rt_text(&c[CR_MODEL], "%s", r->models[p->model].path) != 0 ||
		    rt_text(&c[CR_CAT], "%s", p->category ? p->category : "all") != 0 ||
		    rt_text(&c[CR_RULE], "%s", pairs_rule(r, p->model, p->variant)) != 0)
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
    "metric.py scores a masked model's pseudo-log-likelihood of the unmodified tokens, and "
    "so does this report for a masked model (*scoring*: masked PLL); a left-to-right model's "
    "score is its log-likelihood of the whole sentence (*scoring*: causal).";

/* ---- WEAT --------------------------------------------------------------------- */

/*
 * The WEAT tests of set si, one row per test and source (models, vector
 * files, then the corpus): the words of X, Y, A and B kept, the mean
 * tokens per word (models), the effect size d (in standard deviations of
 * the association score) with its bootstrap interval and permutation p,
 * and a model's d minus the corpus's on the same words (starred where
 * significant). A row not scored says why across the number columns; the
 * words a source left out follow on a row of their own.
 */
enum { WT_TEST, WT_SOURCE, WT_WORDS, WT_TOKENS, WT_D, WT_CI, WT_P, WT_PADJ, WT_AMP, WT_NCOLS };

static const struct rt_col weat_cols[WT_NCOLS] = {
	RT_TEXT_COL("test"), RT_TEXT_COL("source"), RT_TEXT_COL("words X/Y/A/B"),
	RT_TEXT_COL("tokens/word"),
	RT_NUM4_COLS("d", 3),
	{ NULL, "vs corpus (d − d) [95% CI] p adj", RT_DIFF, 3 },
};

static const char *const weat_hheads[WT_NCOLS] = { [WT_AMP] = "vs corpus" };

static int
weat_build(const struct probe_report *r, size_t si, struct rt_table *t)
{
	const struct probe_set *s = r->sets[si];

	rt_init(t, weat_cols, WT_NCOLS);
	t->hheads = weat_hheads;
	for (size_t i = 0; i < r->nweat; i++) {
		const struct probe_weat_row  *w = &r->weat[i];
		const struct probe_weat_spec *ws;
		struct rt_cell               *c;
		int                           rc;
		if (w->set != si)
			continue;
		ws = &s->weats[w->test];
		if ((c = rt_row(t, 0)) == NULL ||
		    rt_text(&c[WT_TEST], "%s: %s vs %s × %s vs %s", ws->name, s->sets[ws->x].name,
		    s->sets[ws->y].name, s->sets[ws->a].name, s->sets[ws->b].name) != 0 ||
		    rt_text(&c[WT_SOURCE], "%s", src_label(r, w->source)) != 0 ||
		    rt_text(&c[WT_WORDS], "%zu/%zu/%zu/%zu", w->n[0], w->n[1], w->n[2], w->n[3]) != 0)
			return -1;
		rc = isnan(w->tokens[0]) ? rt_text(&c[WT_TOKENS], "–") :
		    rt_text(&c[WT_TOKENS], "%.2f/%.2f/%.2f/%.2f", w->tokens[0], w->tokens[1],
		    w->tokens[2], w->tokens[3]);
		if (rc != 0)
			return -1;
		if (!w->scored) {
			c[WT_D].span = 5;   /* d, its interval, p, p adj, vs corpus */
			if (rt_text(&c[WT_D], "not scored: %s", w->dropped ? w->dropped : "?") != 0)
				return -1;
			continue;
		}
		rt_num4(&c[WT_D], &w->d, 3);
		rt_est(&c[WT_AMP], &w->amp, 3, RT_STAR);
		if (w->dropped == NULL)
			continue;
		if ((c = rt_row(t, 0)) == NULL)
			return -1;
		c[WT_SOURCE].span = 8;   /* all but the first column */
		c[WT_SOURCE].flags = RT_NOTE;
		if (rt_text(&c[WT_SOURCE], "left out: %s", w->dropped) != 0)
			return -1;
	}
	return 0;
}

/* ---- templates ---------------------------------------------------------------- */

/*
 * The target groups of set si, one row per group and source (models, then
 * the corpus): how many targets were scored, the mean prior-corrected log
 * ratio ln p(a)/p(b) over them in nats (> 0 leans to pole a) with its t
 * interval and test, the group's mean minus the neutral group's (Welch),
 * and the mean of model − corpus over targets (> 0: the model amplifies
 * its text's association).
 */
enum { GR_GROUP, GR_SOURCE, GR_N, GR_MEAN, GR_CI, GR_P, GR_PADJ, GR_CONTRAST, GR_AMP, GR_NCOLS };

static const struct rt_col groups_cols[GR_NCOLS] = {
	RT_TEXT_COL("group"), RT_TEXT_COL("source"), RT_TEXT_COL("targets"),
	RT_NUM4_COLS("mean score", 3),
	{ NULL, "minus neutral [95% CI] p adj", RT_DIFF, 3 },
	{ NULL, "vs corpus [95% CI] p adj",     RT_DIFF, 3 },
};

static const char *const groups_hheads[GR_NCOLS] = {
	[GR_CONTRAST] = "minus neutral", [GR_AMP] = "vs corpus",
};

static int
groups_build(const struct probe_report *r, size_t si, struct rt_table *t)
{
	const struct probe_set *s = r->sets[si];

	rt_init(t, groups_cols, GR_NCOLS);
	t->hheads = groups_hheads;
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct probe_group_row *g = &r->groups[i];
		struct rt_cell               *c;
		if (g->set != si)
			continue;
		if ((c = rt_row(t, 0)) == NULL ||
		    rt_text(&c[GR_GROUP], "%s", s->groups[g->group].category) != 0 ||
		    rt_text(&c[GR_SOURCE], "%s", src_label(r, g->source)) != 0 ||
		    rt_count(&c[GR_N], g->n) != 0)
			return -1;
		rt_num4(&c[GR_MEAN], &g->mean, 3);
		rt_est(&c[GR_CONTRAST], &g->contrast, 3, RT_STAR);
		rt_est(&c[GR_AMP], &g->amp, 3, RT_STAR);
	}
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

/* A target's score cell: "score [95% CI]", or why it was not scored. */
static int
target_score(struct rt_cell *c, const struct probe_target_row *u)
{
	if (!u->scored) {
		c->flags = RT_NOTE;
		return rt_text(c, "not scored: %s", u->reason);
	}
	rt_est(c, &u->score, 2, RT_STAR_MD | RT_HL);
	return 0;
}

/*
 * The target words of set si, one row per word, one column group per
 * source. With a corpus: the word's frequency, the attribute words of
 * each pole counted near it, and its corpus score (the log odds of pole a
 * against pole b near the word, minus the corpus-wide log odds). Per
 * model: its score (the prior-corrected log ratio, nats, averaged over
 * templates) and the score minus the corpus's, with 95% intervals.
 */
static int
targets_build(const struct probe_report *r, size_t si, struct rt_table *t)
{
	const struct probe_set *s = r->sets[si];

	rt_init(t, NULL, 0);
	if (rt_col_add(t, RT_TEXT, 0, "target") != 0 || rt_col_add(t, RT_TEXT, 0, "group") != 0 ||
	    (r->has_corpus && (rt_col_add(t, RT_TEXT, 0, "corpus freq") != 0 ||
	    rt_col_add(t, RT_TEXT, 0, "near %s / %s", s->pole_name[0], s->pole_name[1]) != 0 ||
	    rt_col_add(t, RT_EST, 3, "corpus score") != 0)))
		return -1;
	for (size_t m = 0; m < r->nmodels; m++)
		if (rt_col_add(t, RT_EST, 3, "%s", r->models[m].path) != 0 ||
		    rt_col_add(t, RT_EST, 3, "vs corpus") != 0)
			return -1;
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct probe_target_row *w = &r->targets[i], *u;
		struct rt_cell                *c;
		size_t                         k = 2;
		if (w->set != si || w->source != (r->has_corpus ? PROBE_CORPUS : 0))
			continue;
		if ((c = rt_row(t, 0)) == NULL || rt_text(&c[0], "%s", w->word) != 0 ||
		    rt_text(&c[1], "%s", s->groups[w->group].category) != 0)
			return -1;
		if (r->has_corpus) {
			if ((u = find_target(r, si, PROBE_CORPUS, w)) != NULL &&
			    (rt_count(&c[k], u->freq) != 0 || rt_text(&c[k + 1], "%llu / %llu",
			    (unsigned long long)u->count[0], (unsigned long long)u->count[1]) != 0 ||
			    target_score(&c[k + 2], u) != 0))
				return -1;
			k += 3;
		}
		for (size_t m = 0; m < r->nmodels; m++, k += 2) {
			if ((u = find_target(r, si, m, w)) == NULL)
				continue;
			if (target_score(&c[k], u) != 0 ||
			    (!u->scored && rt_text(&c[k + 1], "%s", "") != 0))
				return -1;
			if (u->scored)
				rt_est(&c[k + 1], &u->amp, 2, RT_STAR_MD | RT_HL);
		}
	}
	return 0;
}

/* ---- Markdown ------------------------------------------------------------- */

static void
md_header(const struct probe_report *r, const struct rt_table *models,
    const struct rt_table *sets, FILE *f)
{
	char made[512];

	fprintf(f, "## Inputs\n\n%s\n\n", made_by(r, made, sizeof made));
	rt_markdown(models, f);
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
	fputc('\n', f);
	rt_markdown(sets, f);
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

/* A table under its heading (and a note), or nothing when it has no rows; frees t. */
static void
md_table(FILE *f, const char *heading, const char *note, struct rt_table *t)
{
	if (t->nrows > 0) {
		fprintf(f, "### %s\n\n", heading);
		if (note != NULL)
			fprintf(f, "%s\n\n", note);
		rt_markdown(t, f);
		fputc('\n', f);
	}
	rt_free(t);
}

/*
 * The tables of one probe set in Markdown: pairs (both ways of scoring,
 * then metric.py's figures), WEAT, templates (groups, then targets), each
 * under its heading, and nothing for a kind the set does not have.
 */
static int
md_set(const struct probe_report *r, size_t si, FILE *f)
{
	const struct probe_set *s = r->sets[si];
	struct rt_table         t;
	int                     any;

	for (int v = 0; v < 2; v++) {
		if (pairs_build(r, si, v, &t) != 0)
			goto oom;
		md_table(f, v == 0 ? "Paired sentences — whole sentence (headline of causal models)" :
		    "Paired sentences — shared tokens only (headline of masked models)", NULL, &t);
	}
	if (crows_build(r, si, &t) != 0)
		goto oom;
	md_table(f, "Paired sentences — as CrowS-Pairs' metric.py scores them", crows_note, &t);
	if (weat_build(r, si, &t) != 0)
		goto oom;
	md_table(f, "Word-set association (WEAT)", NULL, &t);
	if (s->ntemplates == 0)
		return 0;
	fprintf(f, "### Template association: ln p(%s)/p(%s), prior-corrected (neutral word "
	    "\"%s\", %zu templates)\n\n", s->pole_name[0], s->pole_name[1], s->neutral,
	    s->ntemplates);
	for (size_t j = 0; j < s->ntemplates; j++)
		fprintf(f, "- `%s`\n", s->templates[j].text);
	fputc('\n', f);
	if (groups_build(r, si, &t) != 0)
		goto oom;
	rt_markdown(&t, f);
	fputc('\n', f);
	any = t.nrows > 0;
	rt_free(&t);
	if (targets_build(r, si, &t) != 0)
		goto oom;
	rt_markdown(&t, f);
	if (any)
		fputc('\n', f);
	rt_free(&t);
	return 0;
oom:
	rt_free(&t);
	return -1;
}

int
probe_write_markdown(const struct probe_report *r, FILE *f, struct ad_error *e)
{
	struct opening o;

	if (opening_build(r, &o) != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
	fputs("# Bias-probe report\n\n## Summary\n\n", f);
	rt_markdown(&o.sum, f);
	fprintf(f, "\n%s\n\n", summary_note);
	md_header(r, &o.models, &o.sets, f);
	md_guide(r, f);
	md_warnings(r, f);
	for (size_t si = 0; si < r->nsets; si++) {
		const struct probe_set *s = r->sets[si];
		fprintf(f, "## Probe set %s\n\n", s->name);
		if (s->about)
			fprintf(f, "%s\n\n", s->about);
		if (md_set(r, si, f) != 0) {
			opening_free(&o);
			return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
		}
	}
	opening_free(&o);
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

/*
 * What made the report: the options (seed, resampling counts, correction),
 * every model and vector file with its hash and training text, the corpus
 * and the probe sets.
 */
static void
js_inputs(struct ad_json *j, const struct probe_report *r)
{
	ad_json_key(j, "options");
	ad_json_object_begin(j);
	ad_json_key(j, "seed"); ad_json_uint(j, r->opt.rs.seed);
	ad_json_key(j, "bootstrap"); ad_json_uint(j, r->opt.rs.bootstrap);
	ad_json_key(j, "permutations"); ad_json_uint(j, r->opt.rs.permutations);
	ad_json_key(j, "max_exact"); ad_json_uint(j, r->opt.rs.max_exact);
	ad_json_key(j, "alpha"); ad_json_double(j, r->opt.alpha);
	ad_json_key(j, "correction"); ad_json_string(j, probe_correction_name(r->opt.correction));
	ad_json_key(j, "window"); ad_json_uint(j, r->opt.window);
	ad_json_key(j, "rare"); ad_json_uint(j, r->opt.rare);
	ad_json_key(j, "tests"); ad_json_uint(j, r->ntests);
	ad_json_key(j, "streams"); ad_json_uint(j, r->streams);
	ad_json_object_end(j);
	ad_json_key(j, "models");
	ad_json_array_begin(j);
	for (size_t i = 0; i < r->nmodels + r->nvectors; i++) {   /* vector files last */
		ad_json_object_begin(j);
		ad_json_key(j, "path"); ad_json_string(j, r->models[i].path);
		ad_json_key(j, "kind"); ad_json_string(j, r->models[i].kind);
		ad_json_key(j, "description"); ad_json_string(j, r->models[i].description);
		ad_json_key(j, "params"); ad_json_uint(j, r->models[i].params);
		ad_json_key(j, "vocab"); ad_json_uint(j, r->models[i].V);
		ad_json_key(j, "embeddings"); ad_json_bool(j, r->models[i].has_embed);
		ad_json_key(j, "objective");
		if (i < r->nmodels) ad_json_string(j, r->models[i].masked ? "masked" : "causal");
		else ad_json_null(j);
		ad_json_key(j, "scoring"); ad_json_string(j, model_rule(&r->models[i]));
		js_hex(j, "xxh64", r->models[i].hash);
		ad_json_key(j, "training_text");
		if (r->models[i].text_bytes == 0) {
			ad_json_null(j);
		} else {
			ad_json_object_begin(j);
			js_hex(j, "xxh64", r->models[i].text_hash);
			ad_json_key(j, "bytes"); ad_json_uint(j, r->models[i].text_bytes);
			ad_json_key(j, "is_corpus");
			if (!r->has_corpus)
				ad_json_null(j);
			else
				ad_json_bool(j, r->models[i].text_hash == r->corpus_hash &&
				    r->models[i].text_bytes == r->corpus_bytes);
			ad_json_object_end(j);
		}
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
	ad_json_key(j, "corpus");
	if (!r->has_corpus) {
		ad_json_null(j);
	} else {
		ad_json_object_begin(j);
		ad_json_key(j, "path");
		if (r->corpus_path) ad_json_string(j, r->corpus_path); else ad_json_null(j);
		js_hex(j, "xxh64", r->corpus_hash);
		ad_json_key(j, "lines"); ad_json_uint(j, r->corpus_lines);
		ad_json_key(j, "words"); ad_json_uint(j, r->corpus_tokens);
		ad_json_key(j, "bytes"); ad_json_uint(j, r->corpus_bytes);
		ad_json_object_end(j);
	}
	ad_json_key(j, "sets");
	ad_json_array_begin(j);
	for (size_t i = 0; i < r->nsets; i++) {
		const struct probe_set *s = r->sets[i];
		ad_json_object_begin(j);
		ad_json_key(j, "name"); ad_json_string(j, s->name);
		ad_json_key(j, "path"); ad_json_string(j, s->path);
		ad_json_key(j, "format"); ad_json_string(j, s->format);
		js_hex(j, "xxh64", s->hash);
		ad_json_key(j, "pairs"); ad_json_uint(j, s->npairs);
		ad_json_key(j, "weat_tests"); ad_json_uint(j, s->nweats);
		ad_json_key(j, "templates"); ad_json_uint(j, s->ntemplates);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
}

/*
 * One object per pairs row of every set (model, way of scoring, category):
 * the counts of the model's preferences, the share preferring the more
 * stereotypical sentence and the mean difference in nats, each a number
 * object (value, interval, p, p adj, test, stream), and metric.py's figures.
 */
static void
js_pairs(struct ad_json *j, const struct probe_report *r)
{
	ad_json_key(j, "pairs");
	ad_json_array_begin(j);
	for (size_t i = 0; i < r->npairs; i++) {
		const struct probe_pairs_row *p = &r->pairs[i];
		ad_json_object_begin(j);
		ad_json_key(j, "set"); ad_json_string(j, r->sets[p->set]->name);
		js_source(j, r, p->model);
		ad_json_key(j, "variant");
		ad_json_string(j, p->variant ? "shared-tokens" : "whole-sentence");
		ad_json_key(j, "scoring"); ad_json_string(j, pairs_rule(r, p->model, p->variant));
		ad_json_key(j, "headline"); ad_json_bool(j, p->variant == pairs_headline(r, p->model));
		ad_json_key(j, "category");
		if (p->category) ad_json_string(j, p->category); else ad_json_string(j, "all");
		ad_json_key(j, "n"); ad_json_uint(j, p->n);
		ad_json_key(j, "prefers_more"); ad_json_uint(j, p->more);
		ad_json_key(j, "prefers_less"); ad_json_uint(j, p->less);
		ad_json_key(j, "ties"); ad_json_uint(j, p->ties);
		ad_json_key(j, "not_scored"); ad_json_uint(j, p->skipped);
		ad_json_key(j, "absent_from_corpus");
		if (r->has_corpus) ad_json_uint(j, p->absent); else ad_json_null(j);
		ad_json_key(j, "uneven_tokens"); ad_json_uint(j, p->uneven);
		js_num(j, "percent", &p->percent);
		js_num(j, "mean_delta", &p->delta);
		ad_json_key(j, "crows_metric_py");
		ad_json_object_begin(j);
		ad_json_key(j, "n"); ad_json_uint(j, p->crows.n);
		ad_json_key(j, "metric"); ad_json_double(j, p->crows.metric);
		ad_json_key(j, "neutral"); ad_json_uint(j, p->crows.neutral);
		for (int k = 0; k < 2; k++) {
			ad_json_key(j, k ? "antistereo" : "stereo");
			ad_json_object_begin(j);
			ad_json_key(j, "untied"); ad_json_uint(j, p->crows.dir_n[k]);
			ad_json_key(j, "more"); ad_json_uint(j, p->crows.dir_more[k]);
			ad_json_key(j, "score"); ad_json_double(j, p->crows.dir_score[k]);
			ad_json_object_end(j);
		}
		ad_json_object_end(j);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
}

/*
 * One object per WEAT row of every set (test, source): the words used of
 * X, Y, A and B, the effect size d and the model − corpus difference of d.
 */
static void
js_weat(struct ad_json *j, const struct probe_report *r)
{
	ad_json_key(j, "weat");
	ad_json_array_begin(j);
	for (size_t i = 0; i < r->nweat; i++) {
		const struct probe_weat_row  *w = &r->weat[i];
		const struct probe_set       *s = r->sets[w->set];
		const struct probe_weat_spec *t = &s->weats[w->test];
		static const char *const keys[4] = { "X", "Y", "A", "B" };
		size_t ks[4] = { t->x, t->y, t->a, t->b };
		ad_json_object_begin(j);
		ad_json_key(j, "set"); ad_json_string(j, s->name);
		ad_json_key(j, "test"); ad_json_string(j, t->name);
		js_source(j, r, w->source);
		for (int k = 0; k < 4; k++) {
			ad_json_key(j, keys[k]);
			ad_json_object_begin(j);
			ad_json_key(j, "set"); ad_json_string(j, s->sets[ks[k]].name);
			ad_json_key(j, "words"); ad_json_uint(j, w->n[k]);
			ad_json_key(j, "tokens_per_word"); ad_json_double(j, w->tokens[k]);
			ad_json_object_end(j);
		}
		ad_json_key(j, "scored"); ad_json_bool(j, w->scored);
		ad_json_key(j, "left_out");
		if (w->dropped) ad_json_string(j, w->dropped); else ad_json_null(j);
		ad_json_key(j, "partitions"); ad_json_uint(j, w->partitions);
		js_num(j, "d", &w->d);
		js_num(j, "vs_corpus", &w->amp);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
}

/*
 * One object per template group row (set, group, source: the mean score,
 * its contrast with the neutral group, model − corpus), then one per target
 * row (its score, the corpus counts near it, model − corpus).
 */
static void
js_templates(struct ad_json *j, const struct probe_report *r)
{
	ad_json_key(j, "template_groups");
	ad_json_array_begin(j);
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct probe_group_row *g = &r->groups[i];
		const struct probe_set       *s = r->sets[g->set];
		ad_json_object_begin(j);
		ad_json_key(j, "set"); ad_json_string(j, s->name);
		ad_json_key(j, "group"); ad_json_string(j, s->groups[g->group].category);
		js_source(j, r, g->source);
		ad_json_key(j, "poles");
		ad_json_array_begin(j);
		ad_json_string(j, s->pole_name[0]);
		ad_json_string(j, s->pole_name[1]);
		ad_json_array_end(j);
		ad_json_key(j, "targets"); ad_json_uint(j, g->n);
		js_num(j, "mean", &g->mean);
		js_num(j, "minus_neutral", &g->contrast);
		js_num(j, "vs_corpus", &g->amp);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
	ad_json_key(j, "template_targets");
	ad_json_array_begin(j);
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct probe_target_row *t = &r->targets[i];
		const struct probe_set        *s = r->sets[t->set];
		ad_json_object_begin(j);
		ad_json_key(j, "set"); ad_json_string(j, s->name);
		ad_json_key(j, "group"); ad_json_string(j, s->groups[t->group].category);
		ad_json_key(j, "word"); ad_json_string(j, t->word);
		js_source(j, r, t->source);
		ad_json_key(j, "scored"); ad_json_bool(j, t->scored);
		ad_json_key(j, "reason");
		if (t->reason) ad_json_string(j, t->reason); else ad_json_null(j);
		ad_json_key(j, "corpus_freq"); ad_json_uint(j, t->freq);
		if (t->source == PROBE_CORPUS) {
			ad_json_key(j, "near");
			ad_json_array_begin(j);
			ad_json_uint(j, t->count[0]);
			ad_json_uint(j, t->count[1]);
			ad_json_array_end(j);
		}
		js_num(j, "score", &t->score);
		js_num(j, "vs_corpus", &t->amp);
		ad_json_object_end(j);
	}
	ad_json_array_end(j);
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
	js_inputs(&j, r);
	js_pairs(&j, r);
	js_weat(&j, r);
	js_templates(&j, r);
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

/* The bars of a chart, each labelled "a · b", with a value and its 95% interval. */
struct bars {
	struct ad_svg_bar *bar;     /* (cap) */
	char             **label;   /* (cap) owned labels of the bars */
	size_t             n;
};

static int
bars_new(struct bars *b, size_t cap)
{
	b->n = 0;
	b->bar = ad_calloc(cap + 1, sizeof *b->bar);
	b->label = ad_calloc(cap + 1, sizeof *b->label);
	return b->bar == NULL || b->label == NULL ? -1 : 0;
}

static void
bars_free(struct bars *b)
{
	for (size_t i = 0; i < b->n; i++)
		ad_free(b->label[i]);
	ad_free(b->label);
	ad_free(b->bar);
}

/* One bar for x; solid when x is significant. */
static void
bars_add(struct bars *b, const char *a, const char *c, const struct probe_num *x, int color)
{
	struct ad_svg_bar *bar = &b->bar[b->n];

	b->label[b->n] = label2(a, c);
	bar->label = b->label[b->n] ? b->label[b->n] : "?";
	bar->value = x->value;
	bar->lo = x->lo;
	bar->hi = x->hi;
	bar->color = color;
	bar->strong = x->significant;
	b->n++;
}

/* The chart in a figure with its caption; nothing when it has no bars. */
static void
bars_figure(FILE *f, const struct ad_svg_chart *ch, const struct bars *b, const char *caption)
{
	if (b->n == 0)
		return;
	fputs("<figure>", f);
	ad_svg_bars(f, ch, b->bar, b->n);
	fprintf(f, "<figcaption>%s</figcaption></figure>\n", caption);
}

/*
 * A table under its heading (and a note), or nothing when it has no rows;
 * cls: the table's class, or NULL. Frees t.
 */
static void
h_table(FILE *f, const char *heading, const char *note, const char *cls, struct rt_table *t)
{
	if (t->nrows > 0) {
		fputs("<h3>", f);
		h(f, heading);
		fputs("</h3>\n", f);
		if (note != NULL)
			h_guide(f, note);
		rt_html(t, cls, f);
	}
	rt_free(t);
}

/* Pairs of set si: both tables, a chart of the headline shares, metric.py's table. */
static int
h_pairs(const struct probe_report *r, size_t si, FILE *f)
{
	struct ad_svg_chart ch = { .title = "Share of pairs preferring the more stereotypical "
	    "sentence (each model's headline scoring, 95% CI)", .xlabel = "% of pairs", .ref = 50 };
	struct rt_table     t;
	struct bars         b;

	for (int v = 0; v < 2; v++) {
		if (pairs_build(r, si, v, &t) != 0)
			goto oom;
		h_table(f, v == 0 ? "Paired sentences — whole sentence (headline of causal models)" :
		    "Paired sentences — shared tokens only (headline of masked models)", NULL, NULL, &t);
	}
	if (bars_new(&b, r->npairs) != 0) {
		bars_free(&b);
		return -1;
	}
	for (size_t i = 0; i < r->npairs; i++) {
		const struct probe_pairs_row *p = &r->pairs[i];
		if (p->set == si && p->variant == pairs_headline(r, p->model))
			bars_add(&b, r->models[p->model].path, p->category ? p->category : "all",
			    &p->percent, (int)p->model);
	}
	bars_figure(f, &ch, &b, "Solid bars: significant after correction; the dashed line is "
	    "50% (no preference).");
	bars_free(&b);
	if (crows_build(r, si, &t) != 0)
		goto oom;
	h_table(f, "Paired sentences — as CrowS-Pairs' metric.py scores them", crows_note, "crows",
	    &t);
	return 0;
oom:
	rt_free(&t);
	return -1;
}

/* A source's colour in the charts: the model's, grey for the corpus. */
static int
src_color(size_t source)
{
	return source == PROBE_CORPUS ? 7 : (int)source;
}

/* WEAT of set si: the table and a chart of every scored d. */
static int
h_weat(const struct probe_report *r, size_t si, FILE *f)
{
	struct ad_svg_chart ch = { .title = "WEAT effect size d (95% CI)", .xlabel = "d", .ref = 0 };
	struct rt_table     t;
	struct bars         b;

	if (weat_build(r, si, &t) != 0) {
		rt_free(&t);
		return -1;
	}
	h_table(f, "Word-set association (WEAT)", NULL, NULL, &t);
	if (bars_new(&b, r->nweat) != 0) {
		bars_free(&b);
		return -1;
	}
	for (size_t i = 0; i < r->nweat; i++) {
		const struct probe_weat_row *w = &r->weat[i];
		if (w->set == si && w->scored)
			bars_add(&b, r->sets[si]->weats[w->test].name, src_label(r, w->source), &w->d,
			    src_color(w->source));
	}
	bars_figure(f, &ch, &b, "Grey: the corpus's PPMI vectors. Solid bars: significant after "
	    "correction.");
	bars_free(&b);
	return 0;
}

/* Per model, its target scores against the corpus's: one scatter each. */
static int
h_scatters(const struct probe_report *r, size_t si, FILE *f)
{
	for (size_t m = 0; r->has_corpus && m < r->nmodels; m++) {
		struct ad_svg_point *pts = ad_calloc(r->ntargets + 1, sizeof *pts);
		struct ad_svg_chart  sc = { .xlabel = "corpus score (log odds, prior-corrected)",
		    .ylabel = "model score (nats)", .ref = NAN };
		size_t               np = 0;
		char                 title[512];
		if (pts == NULL)
			return -1;
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
		snprintf(title, sizeof title, "%s against its corpus, per target (dashed: y = x, mirror)",
		    r->models[m].path);
		sc.title = title;
		if (np > 0) {
			fputs("<figure>", f);
			ad_svg_scatter(f, &sc, pts, np, 1);
			fputs("<figcaption>Above the diagonal (for positive scores) the model amplifies "
			    "the corpus's association; below it, it damps it. Colours are target "
			    "groups.</figcaption></figure>\n", f);
		}
		ad_free(pts);
	}
	return 0;
}

/*
 * Templates of set si: the templates, the group table, a chart of the
 * group means, each model against the corpus, the target table.
 */
static int
h_templates(const struct probe_report *r, size_t si, FILE *f)
{
	const struct probe_set *s = r->sets[si];
	char                    title[256];
	struct ad_svg_chart     ch = { .title = title,
	    .xlabel = "mean prior-corrected log ratio (nats)", .ref = 0 };
	struct rt_table         t;
	struct bars             b;

	if (s->ntemplates == 0)
		return 0;
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
	fputs("</ul>\n", f);
	if (groups_build(r, si, &t) != 0)
		goto oom;
	rt_html(&t, NULL, f);
	rt_free(&t);
	if (bars_new(&b, r->ngroups) != 0) {
		bars_free(&b);
		return -1;
	}
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct probe_group_row *g = &r->groups[i];
		if (g->set == si)
			bars_add(&b, s->groups[g->group].category, src_label(r, g->source), &g->mean,
			    src_color(g->source));
	}
	snprintf(title, sizeof title, "Mean template score per group (95%% CI): > 0 leans to %s",
	    s->pole_name[0]);
	bars_figure(f, &ch, &b, "Grey: counted in the corpus.");
	bars_free(&b);
	if (h_scatters(r, si, f) != 0 || targets_build(r, si, &t) != 0)
		goto oom;
	rt_html(&t, NULL, f);
	rt_free(&t);
	return 0;
oom:
	rt_free(&t);
	return -1;
}

int
probe_write_html(const struct probe_report *r, FILE *f, struct ad_error *e)
{
	struct opening o;
	char           made[512];

	if (opening_build(r, &o) != 0)
		return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
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
	rt_html(&o.sum, "summary", f);
	h_guide(f, summary_note);
	fputs("<h2>Inputs</h2>\n<p>", f);
	h(f, made_by(r, made, sizeof made));
	fputs("</p>\n", f);
	rt_html(&o.models, NULL, f);
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
	rt_html(&o.sets, NULL, f);
	fprintf(f, "<p>Every resampled number records its PCG32 stream (in the JSON "
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
		if (h_pairs(r, si, f) != 0 || h_weat(r, si, f) != 0 || h_templates(r, si, f) != 0) {
			opening_free(&o);
			return ad_fail(e, AD_ENOMEM, "out of memory writing the report");
		}
	}
	fputs("</body>\n</html>\n", f);
	opening_free(&o);
	if (ferror(f))
		return ad_fail(e, AD_EIO, "cannot write the report");
	return 0;
}
