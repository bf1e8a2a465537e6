/*
 * run.c — running every probe of every set on every model and on the
 * corpus, putting each model's number beside the corpus's, and adjusting
 * all the p-values of the report together.
 *
 * Order of work (and of the resampling streams, so a seed reproduces a
 * report): sets in the order given; within a set, pairs, then WEAT, then
 * templates; within each, models in the order given, then the corpus.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/progress.h"
#include "lm/lm.h"
#include "probe/probe.h"

void
probe_options_default(struct probe_options *o)
{
	memset(o, 0, sizeof *o);
	o->rs.seed = 1;
	o->rs.bootstrap = 10000;
	o->rs.permutations = 100000;
	o->rs.max_exact = 1000000;
	o->alpha = 0.05;
	o->correction = PROBE_HOLM;
	o->window = 10;
	o->rare = 10;
}

static void
num_init(struct probe_num *n)
{
	n->value = n->lo = n->hi = n->p = n->p_adj = NAN;
	n->significant = 0;
	n->exact = 0;
	n->min_p = NAN;
	n->stream = 0;
	n->test = NULL;
}

/* ---- growing the report's arrays ---------------------------------------- */

struct ctx {
	struct probe_report       *r;
	struct lm *const          *models;
	const struct probe_vectors *const *vectors;   /* (r->nvectors) after the models */
	const struct probe_corpus *corpus;
	struct ad_error           *e;
	size_t cpairs, cweat, ctargets, cgroups, cwarn;
	uint64_t stream;          /* the next free resampling stream */
};

static int
grow(void *pp, size_t n, size_t *cap, size_t elem)
{
	return ad_grow(pp, cap, n + 1, elem, 16);
}

static int
oom(struct ctx *c)
{
	return ad_fail(c->e, AD_ENOMEM, "out of memory building the report");
}

static int
warnf(struct ctx *c, const char *fmt, ...) AD_PRINTF(2, 3);

static int
warnf(struct ctx *c, const char *fmt, ...)
{
	va_list ap;
	char    buf[4096];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (grow(&c->r->warnings, c->r->nwarnings, &c->cwarn, sizeof *c->r->warnings) != 0 ||
	    (c->r->warnings[c->r->nwarnings] = ad_strdup(buf)) == NULL)
		return oom(c);
	c->r->nwarnings++;
	return 0;
}

static const char *
src_name(const struct ctx *c, size_t source)
{
	return source == PROBE_CORPUS ? "the corpus" : c->r->models[source].path;
}

/* ---- words of a sentence (the corpus's tokenization) --------------------- */

struct wordlist {
	char  **w;
	size_t  n, cap;
	int     oom;
};

static void
wl_add(const char *w, size_t n, size_t pos, void *ctx)
{
	struct wordlist *l = ctx;

	(void)pos;
	if (l->oom || grow(&l->w, l->n, &l->cap, sizeof *l->w) != 0 ||
	    (l->w[l->n] = ad_strndup(w, n)) == NULL) {
		l->oom = 1;
		return;
	}
	l->n++;
}

static void
wl_free(struct wordlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		ad_free(l->w[i]);
	ad_free(l->w);
	memset(l, 0, sizeof *l);
}

static int
wl_split(struct wordlist *l, const char *text)
{
	size_t n = strlen(text);
	char  *buf = ad_malloc(n + 1);

	memset(l, 0, sizeof *l);
	if (buf == NULL)
		return -1;
	probe_words(text, n, buf, wl_add, l);
	ad_free(buf);
	return l->oom ? -1 : 0;
}

static int
wl_has(const struct wordlist *l, const char *w)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->w[i], w) == 0)
			return 1;
	return 0;
}

/*
 * The least frequent corpus count of the words that differ between the two
 * sentences of a pair (UINT64_MAX when none differ); *word gets that word.
 */
static int
pair_min_freq(const struct probe_corpus *corpus, const char *s1, const char *s2, uint64_t *minf,
    char *word, size_t wcap)
{
	struct wordlist a, b;

	*minf = UINT64_MAX;
	word[0] = '\0';
	if (wl_split(&a, s1) != 0) {
		wl_free(&a);
		return -1;
	}
	if (wl_split(&b, s2) != 0) {
		wl_free(&a);
		wl_free(&b);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		const struct wordlist *x = k ? &b : &a, *y = k ? &a : &b;
		for (size_t i = 0; i < x->n; i++) {
			uint64_t f;
			if (wl_has(y, x->w[i]))
				continue;
			f = probe_corpus_freq(corpus, x->w[i]);
			if (f < *minf) {
				*minf = f;
				snprintf(word, wcap, "%s", x->w[i]);
			}
		}
	}
	wl_free(&a);
	wl_free(&b);
	return 0;
}

/* ---- paired sentences ------------------------------------------------------ */

/* Bootstrap statistics over the per-pair differences d (ln p(more) − ln p(less)). */
static double
stat_percent(const size_t *idx, size_t n, void *ctx)
{
	const double *d = ctx;
	double        s = 0;

	for (size_t i = 0; i < n; i++)
		s += d[idx[i]] > 0 ? 1 : d[idx[i]] == 0 ? 0.5 : 0;
	return 100 * s / (double)n;
}

static double
stat_mean(const size_t *idx, size_t n, void *ctx)
{
	const double *d = ctx;
	double        s = 0;

	for (size_t i = 0; i < n; i++)
		s += d[idx[i]];
	return s / (double)n;
}

/*
 * x rounded to 3 decimals as Python's round(x, 3) does it (metric.py rounds
 * each sentence's score so before comparing): both round the exact binary
 * value to the nearest multiple of 0.001, halfway cases to even, which is
 * what printf's "%.3f" does too.
 */
static double
round3(double x)
{
	char buf[64];

	snprintf(buf, sizeof buf, "%.3f", x);
	return strtod(buf, NULL);
}

int
probe_crows_compare(double more, double less)
{
	double a = round3(more), b = round3(less);

	return (a > b) - (a < b);
}

/* The pairs of one row: parallel arrays of n items. */
struct pair_sample {
	double        *d;       /* ln p(more) − ln p(less) */
	signed char   *cmp;     /* metric.py's comparison: +1 more higher, −1 less, 0 tie */
	unsigned char *dir;     /* enum probe_direction of the pair */
	unsigned char *absent;  /* a changed word never occurs in the corpus */
	size_t         n;
};

/* metric.py's figures from the comparisons of a row's pairs. */
static void
crows_score(struct probe_crows_score *cs, const struct pair_sample *ps)
{
	memset(cs, 0, sizeof *cs);
	cs->n = ps->n;
	for (size_t i = 0; i < ps->n; i++) {
		int k = ps->dir[i] == PROBE_DIR_ANTISTEREO;
		if (ps->cmp[i] == 0) {
			cs->neutral++;
			continue;
		}
		cs->more += ps->cmp[i] > 0;
		if (ps->dir[i] != PROBE_DIR_NONE) {
			cs->dir_n[k]++;
			cs->dir_more[k] += ps->cmp[i] > 0;
		}
	}
	cs->metric = cs->n ? 100 * (double)cs->more / (double)cs->n : NAN;
	for (int k = 0; k < 2; k++)
		cs->dir_score[k] = cs->dir_n[k] ? 100 * (double)cs->dir_more[k] / (double)cs->dir_n[k] :
		    NAN;
}

static int
pairs_row(struct ctx *c, size_t set, size_t model, int variant, const char *category,
    const struct pair_sample *ps, uint64_t skipped, uint64_t uneven)
{
	struct probe_report    *r = c->r;
	struct probe_pairs_row *row;
	const double           *d = ps->d;
	size_t                  n = ps->n;
	int                     rc;

	if (grow(&r->pairs, r->npairs, &c->cpairs, sizeof *r->pairs) != 0)
		return oom(c);
	row = &r->pairs[r->npairs++];
	memset(row, 0, sizeof *row);
	row->set = set;
	row->model = model;
	row->variant = variant;
	row->category = category;
	row->n = n;
	row->skipped = skipped;
	row->uneven = uneven;
	num_init(&row->percent);
	num_init(&row->delta);
	for (size_t i = 0; i < n; i++) {
		row->more += d[i] > 0;
		row->less += d[i] < 0;
		row->ties += d[i] == 0;
		row->absent += ps->absent[i];
	}
	crows_score(&row->crows, ps);
	if (n == 0)
		return 0;
	row->percent.value = 100 * ((double)row->more + 0.5 * (double)row->ties) / (double)n;
	row->percent.stream = c->stream++;
	row->percent.test = "exact two-sided sign test (ties dropped); 95% percentile bootstrap";
	if ((rc = probe_bootstrap(stat_percent, (void *)d, n, r->opt.rs.bootstrap, r->opt.rs.seed,
	    row->percent.stream, 0.95, &row->percent.lo, &row->percent.hi, NULL, c->e)) != 0)
		return rc;
	row->percent.p = probe_sign_test(row->more, row->more + row->less);
	row->percent.exact = 1;
	row->percent.min_p = probe_sign_test(0, row->more + row->less);
	row->delta.value = probe_mean(d, n);
	row->delta.stream = c->stream++;
	row->delta.test = "95% percentile bootstrap (its test is the sign test beside it)";
	return probe_bootstrap(stat_mean, (void *)d, n, r->opt.rs.bootstrap, r->opt.rs.seed,
	    row->delta.stream, 0.95, &row->delta.lo, &row->delta.hi, NULL, c->e);
}

/* Per pair and variant (0 whole sentence, 1 shared tokens) of one model. */
struct pair_scores {
	double      *d[2];
	signed char *cmp[2];
	int         *keep;      /* scored by the model */
};

/* The categories of the pairs of s, in order of first appearance (borrowed from s). */
static int
pairs_categories(const struct probe_set *s, const char ***cats, size_t *ncats)
{
	size_t cap = 0;

	for (size_t i = 0; i < s->npairs; i++) {
		size_t k;
		for (k = 0; k < *ncats && strcmp((*cats)[k], s->pairs[i].category) != 0; k++)
			;
		if (k == *ncats) {
			if (grow(cats, *ncats, &cap, sizeof **cats) != 0)
				return -1;
			(*cats)[(*ncats)++] = s->pairs[i].category;
		}
	}
	return 0;
}

/*
 * The pairs of s that a corpus cannot speak to: absent[i] when a word that
 * differs between the sentences never occurs in it, and a warning for
 * those and one for the pairs that hinge on rare words. A pair with an
 * absent word is still scored on every model (a model over subword tokens
 * can score a word its text lacks); the report marks it, since its
 * preference cannot come from that word in the corpus.
 */
static int
pairs_corpus_check(struct ctx *c, const struct probe_set *s, unsigned char *absent)
{
	uint64_t nabsent = 0, nrare = 0;
	char     rare_word[192] = "", absent_word[128] = "";
	int      rc;

	for (size_t i = 0; i < s->npairs; i++) {
		uint64_t f;
		char     w[128];
		if (pair_min_freq(c->corpus, s->pairs[i].more, s->pairs[i].less, &f, w, sizeof w) != 0)
			return oom(c);
		if (f == 0) {
			absent[i] = 1;
			if (nabsent++ == 0)
				snprintf(absent_word, sizeof absent_word, "%s", w);
		} else if (f != UINT64_MAX && f < c->r->opt.rare) {
			if (nrare++ == 0)
				snprintf(rare_word, sizeof rare_word, "%s (%llu)", w, (unsigned long long)f);
		}
	}
	if (nabsent > 0 && (rc = warnf(c, "%s: in %llu of %zu pairs a word that differs between "
	    "the sentences never occurs in the corpus (e.g. '%s'): the models score them, but "
	    "their preference cannot be compared with the corpus (counted under 'absent from "
	    "corpus')", s->name, (unsigned long long)nabsent, s->npairs, absent_word)) != 0)
		return rc;
	if (nrare > 0)
		return warnf(c, "%s: %llu pairs hinge on words seen fewer than %llu times in the "
		    "corpus (e.g. %s): the model has little evidence about them", s->name,
		    (unsigned long long)nrare, (unsigned long long)c->r->opt.rare, rare_word);
	return 0;
}

/*
 * Model mi's scores of every pair of s, both ways (whole sentence and
 * shared tokens) into sc, with warnings for the pairs it cannot score and
 * for those whose sentences it splits into different numbers of tokens
 * (*uneven of them).
 */
static int
pairs_model_scores(struct ctx *c, const struct probe_set *s, size_t mi, struct pair_scores *sc,
    uint64_t *uneven, struct ad_progress *progress, uint64_t *done)
{
	const struct lm *m = c->models[mi];
	uint64_t         unrep = 0;
	size_t           n = 0;
	int              rc;

	*uneven = 0;
	for (size_t i = 0; i < s->npairs; i++) {
		double f[2], sh[2];
		size_t nt[2];
		int    skip;
		sc->keep[i] = 0;
		/* A masked model is scored as metric.py scores it, which needs the row's direction. */
		rc = lm_is_masked(m) ? probe_pair_score_masked(m, s->pairs[i].more, s->pairs[i].less,
		    s->pairs[i].direction, f, sh, nt, &skip, c->e) : probe_pair_score(m,
		    s->pairs[i].more, s->pairs[i].less, f, sh, nt, &skip, c->e);
		if (rc != 0) {
			ad_error_prefix(c->e, "%s:%zu", s->path, s->pairs[i].line);
			return rc;
		}
		if (skip) {
			unrep++;
			continue;
		}
		sc->keep[i] = 1;
		*uneven += nt[0] != nt[1];
		sc->d[0][i] = f[0] - f[1];
		sc->d[1][i] = sh[0] - sh[1];
		sc->cmp[0][i] = (signed char)probe_crows_compare(f[0], f[1]);
		sc->cmp[1][i] = (signed char)probe_crows_compare(sh[0], sh[1]);
		n++;
		ad_progress_update(progress, ++*done);
	}
	if (unrep > 0 && (rc = warnf(c, "%s on %s: %llu pairs not scored: a word that differs is "
	    "unknown to the model (<unk>)", s->name, c->r->models[mi].path,
	    (unsigned long long)unrep)) != 0)
		return rc;
	if (*uneven > 0)
		return warnf(c, "%s on %s: in %llu of %zu pairs the two sentences have different "
		    "numbers of tokens; the whole-sentence likelihood favours the shorter one (a "
		    "tokenization confound): compare with the shared-token variant", s->name,
		    c->r->models[mi].path, (unsigned long long)*uneven, n);
	return 0;
}

/*
 * Model mi's pairs rows of set si from its scores sc: per way of scoring,
 * one row for all pairs and, when the set has several categories, one per
 * category (ps: room for a sample of every pair); a warning where the sign
 * test cannot reach α.
 */
static int
pairs_model_rows(struct ctx *c, size_t si, size_t mi, const struct pair_scores *sc,
    const unsigned char *absent, const char *const *cats, size_t ncats, uint64_t uneven,
    struct pair_sample *ps)
{
	const struct probe_set *s = c->r->sets[si];
	int                     rc = 0;

	for (int v = 0; v < 2 && rc == 0; v++) {
		for (size_t k = 0; k <= (ncats > 1 ? ncats : 0) && rc == 0; k++) {
			const char *cat = k == 0 ? NULL : cats[k - 1];
			uint64_t    sk = 0;
			ps->n = 0;
			for (size_t i = 0; i < s->npairs; i++) {
				if (cat != NULL && strcmp(s->pairs[i].category, cat) != 0)
					continue;
				if (!sc->keep[i]) {
					sk++;
					continue;
				}
				ps->d[ps->n] = sc->d[v][i];
				ps->cmp[ps->n] = sc->cmp[v][i];
				ps->dir[ps->n] = (unsigned char)s->pairs[i].direction;
				ps->absent[ps->n] = absent[i];
				ps->n++;
			}
			rc = pairs_row(c, si, mi, v, cat, ps, sk, v == 0 ? uneven : 0);
			if (rc == 0 && v == 0 && ps->n > 0 &&
			    c->r->pairs[c->r->npairs - 1].percent.min_p > c->r->opt.alpha)
				rc = warnf(c, "%s on %s, %s: only %zu pairs; the sign test cannot reach p < %g "
				    "with so few", s->name, c->r->models[mi].path, cat ? cat : "all", ps->n,
				    c->r->opt.alpha);
		}
	}
	return rc;
}

/*
 * The pairs of set si on every model: which pairs the corpus lacks words
 * of, then per model its scores and its rows.
 */
static int
run_pairs(struct ctx *c, size_t si, struct ad_progress *progress, uint64_t *done)
{
	const struct probe_set *s = c->r->sets[si];
	const char            **cats = NULL;
	size_t                  ncats = 0;
	struct pair_scores      sc = { { NULL, NULL }, { NULL, NULL }, NULL };
	struct pair_sample      ps = { 0 };
	unsigned char          *absent = NULL;
	int                     rc = 0;

	if (pairs_categories(s, &cats, &ncats) != 0) {
		ad_free(cats);
		return oom(c);
	}
	for (int v = 0; v < 2; v++) {
		sc.d[v] = ad_mallocarray(s->npairs, sizeof *sc.d[v]);
		sc.cmp[v] = ad_mallocarray(s->npairs, sizeof *sc.cmp[v]);
	}
	sc.keep = ad_mallocarray(s->npairs, sizeof *sc.keep);
	ps.d = ad_mallocarray(s->npairs, sizeof *ps.d);
	ps.cmp = ad_mallocarray(s->npairs, sizeof *ps.cmp);
	ps.dir = ad_mallocarray(s->npairs, sizeof *ps.dir);
	ps.absent = ad_mallocarray(s->npairs, sizeof *ps.absent);
	absent = ad_calloc(s->npairs, sizeof *absent);
	if (!sc.d[0] || !sc.d[1] || !sc.cmp[0] || !sc.cmp[1] || !sc.keep || !ps.d || !ps.cmp ||
	    !ps.dir || !ps.absent || !absent) {
		rc = oom(c);
		goto out;
	}
	if (c->corpus != NULL && (rc = pairs_corpus_check(c, s, absent)) != 0)
		goto out;
	for (size_t mi = 0; mi < c->r->nmodels && rc == 0; mi++) {
		uint64_t uneven;
		if ((rc = pairs_model_scores(c, s, mi, &sc, &uneven, progress, done)) == 0)
			rc = pairs_model_rows(c, si, mi, &sc, absent, cats, ncats, uneven, &ps);
	}
out:
	ad_free(cats);
	for (int v = 0; v < 2; v++) {
		ad_free(sc.d[v]);
		ad_free(sc.cmp[v]);
	}
	ad_free(sc.keep);
	ad_free(ps.d);
	ad_free(ps.cmp);
	ad_free(ps.dir);
	ad_free(ps.absent);
	ad_free(absent);
	return rc;
}

/* ---- WEAT ---------------------------------------------------------------- */

/* The words of X, Y, A, B kept for a source, as indices into each set. */
struct weat_words {
	size_t *idx[4];
	size_t  n[4];
};

static void
ww_free(struct weat_words *w)
{
	for (int k = 0; k < 4; k++)
		ad_free(w->idx[k]);
}

/* Append "word (reason)" to a growing string. */
static int
add_dropped(char **s, const char *word, const char *why)
{
	size_t old = *s ? strlen(*s) : 0, n = old + strlen(word) + (why ? strlen(why) : 0) + 8;
	char  *p = ad_realloc(*s, n);

	if (p == NULL)
		return -1;
	if (why != NULL)
		snprintf(p + old, n - old, "%s%s (%s)", old ? ", " : "", word, why);
	else
		snprintf(p + old, n - old, "%s%s", old ? ", " : "", word);
	*s = p;
	return 0;
}

static int
weat_row_new(struct ctx *c, size_t si, size_t ti, size_t source, struct probe_weat_row **out)
{
	struct probe_report   *r = c->r;
	struct probe_weat_row *row;

	if (grow(&r->weat, r->nweat, &c->cweat, sizeof *r->weat) != 0)
		return oom(c);
	row = &r->weat[r->nweat++];
	memset(row, 0, sizeof *row);
	row->set = si;
	row->test = ti;
	row->source = source;
	row->amp_d[0] = row->amp_d[1] = NAN;
	for (int k = 0; k < 4; k++)
		row->tokens[k] = NAN;
	num_init(&row->d);
	num_init(&row->amp);
	*out = row;
	return 0;
}

/* Cosines for a word list: from model vectors (vec, dim) or the corpus. */
static int
weat_cos(struct ctx *c, const struct probe_set *s, const struct probe_weat_spec *t,
    const struct weat_words *w, const float *const *vec[4], uint32_t dim, double **out)
{
	size_t rows = w->n[0] + w->n[1], cols = w->n[2] + w->n[3];
	double *cos = ad_mallocarray((rows * cols) != 0 ? rows * cols : 1, sizeof *cos);
	size_t  set_of[4] = { t->x, t->y, t->a, t->b };

	if (cos == NULL)
		return oom(c);
	for (size_t i = 0; i < rows; i++) {
		int    ki = i < w->n[0] ? 0 : 1;
		size_t ii = ki ? i - w->n[0] : i;
		for (size_t j = 0; j < cols; j++) {
			int    kj = j < w->n[2] ? 2 : 3;
			size_t jj = kj == 3 ? j - w->n[2] : j;
			if (vec != NULL)
				cos[i * cols + j] = probe_cosine(vec[ki][w->idx[ki][ii]],
				    vec[kj][w->idx[kj][jj]], dim);
			else
				cos[i * cols + j] = probe_corpus_ppmi_cos(c->corpus,
				    s->sets[set_of[ki]].words[w->idx[ki][ii]],
				    s->sets[set_of[kj]].words[w->idx[kj][jj]]);
			if (isnan(cos[i * cols + j]))
				cos[i * cols + j] = 0;
		}
	}
	*out = cos;
	return 0;
}

/* A word's vector from a vector file (out: dim floats); *skip when absent. */
static void
vectors_word(const struct probe_vectors *v, const char *word, float *out, uint32_t dim,
    size_t *ntok, int *skip)
{
	const float *x = probe_vectors_find(v, word);

	*ntok = 1;
	*skip = x == NULL;
	if (x != NULL)
		memcpy(out, x, dim * sizeof *out);
}

/*
 * The words a vector file lacks, "w1, w2": said once for all of them, and
 * naming a set that has none left (the row is then not scored).
 */
static int
vectors_note(char **dropped, const struct probe_wordset *const set[4], const struct weat_words *w)
{
	const char *empty = NULL;
	size_t      n;
	char       *note;

	for (int k = 0; k < 4 && empty == NULL; k++)
		if (w->n[k] == 0)
			empty = set[k]->name;
	n = strlen(*dropped) + (empty ? strlen(empty) : 0) + 80;
	if ((note = ad_malloc(n)) == NULL)
		return -1;
	if (empty != NULL)
		snprintf(note, n, "no word of %s is in the vectors; left out: %s (not in the vectors)",
		    empty, *dropped);
	else
		snprintf(note, n, "%s (not in the vectors)", *dropped);
	ad_free(*dropped);
	*dropped = note;
	return 0;
}

/*
 * The words of X, Y, A and B (set[k]) that occur in the corpus, into cw;
 * they are the candidates of every source, so a warning names the others
 * once.
 */
static int
weat_corpus_words(struct ctx *c, const struct probe_set *s, const struct probe_weat_spec *t,
    const struct probe_wordset *const set[4], struct weat_words *cw)
{
	char *dropped = NULL;
	int   rc = 0;

	for (int k = 0; k < 4 && rc == 0; k++) {
		if ((cw->idx[k] = ad_mallocarray(set[k]->n, sizeof *cw->idx[k])) == NULL) {
			rc = oom(c);
			break;
		}
		for (size_t i = 0; i < set[k]->n && rc == 0; i++) {
			if (probe_corpus_freq(c->corpus, set[k]->words[i]) != 0)
				cw->idx[k][cw->n[k]++] = i;
			else if (add_dropped(&dropped, set[k]->words[i], NULL) != 0)
				rc = oom(c);
		}
	}
	if (rc == 0 && dropped != NULL)
		rc = warnf(c, "%s, WEAT %s: left out for every source, never seen in the corpus: %s",
		    s->name, t->name, dropped);
	ad_free(dropped);
	return rc;
}

/*
 * The vectors of source mi (a model, or a vector file after the models)
 * for the words of each set, among the corpus's words cw when there is a
 * corpus: into vec (vec[k][i] for word i of set k, dim floats) and w, with
 * row->n, row->tokens and row->dropped. Returns 1 when the row cannot be
 * scored (row->dropped says why), 0 or an error otherwise.
 */
static int
weat_source_words(struct ctx *c, const struct probe_set *s, const struct probe_weat_spec *t,
    const struct probe_wordset *const set[4], size_t mi, const struct weat_words *cw,
    struct probe_weat_row *row, struct weat_words *w, float **vec[4], uint32_t *dim)
{
	const struct lm            *m = mi < c->r->nmodels ? c->models[mi] : NULL;
	const struct probe_vectors *v = m == NULL ? c->vectors[mi - c->r->nmodels] : NULL;
	char                       *dropped = NULL;
	int                         rc = 0;

	if (m != NULL && (m->vt->embed == NULL || m->embed_dim == 0)) {
		row->dropped = ad_strdup("no token embeddings (e.g. an n-gram model): WEAT does not "
		    "apply");
		return 1;
	}
	*dim = m != NULL ? m->embed_dim : probe_vectors_dim(v);
	for (int k = 0; k < 4 && rc == 0; k++) {
		size_t ntok = 0, cand = c->corpus ? cw->n[k] : set[k]->n;
		w->idx[k] = ad_mallocarray(cand ? cand : 1, sizeof *w->idx[k]);
		vec[k] = ad_calloc(set[k]->n, sizeof *vec[k]);
		if (w->idx[k] == NULL || vec[k] == NULL) {
			rc = oom(c);
			break;
		}
		for (size_t ci = 0; ci < cand && rc == 0; ci++) {
			size_t i = c->corpus ? cw->idx[k][ci] : ci, nt;
			int    skip;
			if ((vec[k][i] = ad_mallocarray(*dim, sizeof *vec[k][i])) == NULL) {
				rc = oom(c);
				break;
			}
			if (m == NULL)
				vectors_word(v, set[k]->words[i], vec[k][i], *dim, &nt, &skip);
			else if ((rc = probe_word_vector(m, set[k]->words[i], vec[k][i], &nt, &skip,
			    c->e)) != 0)
				break;
			if (skip) {
				if (add_dropped(&dropped, set[k]->words[i], m != NULL ? "unknown to the model" :
				    NULL) != 0)
					rc = oom(c);
				continue;
			}
			ntok += nt;
			w->idx[k][w->n[k]++] = i;
		}
		row->n[k] = w->n[k];
		row->tokens[k] = w->n[k] && m != NULL ? (double)ntok / (double)w->n[k] : NAN;
	}
	if (rc == 0 && m == NULL && dropped != NULL && vectors_note(&dropped, set, w) != 0)
		rc = oom(c);
	row->dropped = dropped;
	if (rc != 0)
		return rc;
	for (int k = 0; k < 4; k++)
		if (w->n[k] == 0) {
			if (m == NULL && row->dropped != NULL)
				return 1;   /* the note names the empty set */
			ad_free(row->dropped);
			row->dropped = ad_strdup(m != NULL ? "a set has no word the model can represent" :
			    "a set has no word in the vectors");
			return 1;
		}
	/* Uneven tokenization between the sets of a pair: a known confound. */
	for (int k = 0; k < 4; k += 2)
		if (fabs(row->tokens[k] - row->tokens[k + 1]) >= 0.5 &&
		    (rc = warnf(c, "%s, WEAT %s on %s: %s words average %.2f tokens and %s words "
		    "%.2f; vectors of split words are means of sub-word vectors, so the sets are not "
		    "represented alike", s->name, t->name, c->r->models[mi].path, set[k]->name,
		    row->tokens[k], set[k + 1]->name, row->tokens[k + 1])) != 0)
			return rc;
	return 0;
}

/*
 * A row's effect size d, its bootstrap interval and permutation p from the
 * cosines cos of the words w (two resampling streams), and a warning when
 * the sets are too small for the test to reach α.
 */
static int
weat_score(struct ctx *c, const struct probe_set *s, const struct probe_weat_spec *t,
    struct probe_weat_row *row, const double *cos, const struct weat_words *w)
{
	struct probe_weat_stats st;
	int                     rc;

	row->d.stream = c->stream;
	c->stream += 2;
	if ((rc = probe_weat_stats(cos, w->n[0], w->n[1], w->n[2], w->n[3], &c->r->opt.rs,
	    row->d.stream, &st, c->e)) != 0)
		return rc;
	row->scored = 1;
	row->d.value = st.d;
	row->d.lo = st.lo;
	row->d.hi = st.hi;
	row->d.p = st.p;
	row->d.exact = st.exact;
	row->d.min_p = st.min_p;
	row->partitions = st.partitions;
	row->d.test = st.exact ? "one-sided permutation test, all partitions; 95% bootstrap" :
	    "one-sided permutation test, random partitions; 95% bootstrap";
	if (isnan(st.d)) {
		row->scored = 0;
		row->dropped = ad_strdup("every association score is the same: d undefined");
		row->d.p = NAN;
		return 0;
	}
	if (st.min_p > c->r->opt.alpha)
		return warnf(c, "%s, WEAT %s on %s: the sets are too small for the permutation test "
		    "at α = %g: its p moves in steps of %.3g (one partition), and p = 0 (no partition "
		    "greater than the observed one) comes up with that chance even with no "
		    "association at all", s->name, t->name, src_name(c, row->source),
		    c->r->opt.alpha, st.min_p);
	return 0;
}

/*
 * Amplification of test ti: each model's d − the corpus's d on the same
 * words (mcos[model]: the model's cosines on the corpus's words cw, ccos:
 * the corpus's), with a paired bootstrap.
 */
static int
weat_amplification(struct ctx *c, size_t si, size_t ti, const struct probe_weat_row *crow,
    double *const *mcos, const double *ccos, const struct weat_words *cw)
{
	for (size_t i = 0; i < c->r->nweat && crow != NULL && crow->scored; i++) {
		struct probe_weat_row *row = &c->r->weat[i];
		int                    rc;
		if (row->set != si || row->test != ti || row->source == PROBE_CORPUS ||
		    mcos[row->source] == NULL)
			continue;
		row->amp_d[0] = row->d.value;
		row->amp_d[1] = crow->d.value;
		row->amp.value = row->amp_d[0] - row->amp_d[1];
		row->amp.stream = c->stream++;
		row->amp.test = "paired bootstrap over the words of all four sets (two-sided)";
		if ((rc = probe_weat_diff(mcos[row->source], ccos, cw->n[0], cw->n[1], cw->n[2],
		    cw->n[3], &c->r->opt.rs, row->amp.stream, &row->amp.lo, &row->amp.hi, &row->amp.p,
		    c->e)) != 0)
			return rc;
	}
	return 0;
}

/*
 * WEAT test ti of set si on every source: the models, the vector files and
 * the corpus (its words, counted first, are every source's candidates; its
 * row comes last), then each model's difference from the corpus.
 */
static int
run_weat(struct ctx *c, size_t si, size_t ti)
{
	const struct probe_set       *s = c->r->sets[si];
	const struct probe_weat_spec *t = &s->weats[ti];
	const struct probe_wordset   *set[4] = { &s->sets[t->x], &s->sets[t->y], &s->sets[t->a],
	    &s->sets[t->b] };
	struct weat_words             cw;
	double                       *ccos = NULL;
	struct probe_weat_row        *crow = NULL;
	double                      **mcos;
	size_t                        nsrc = c->r->nmodels + c->r->nvectors;
	int                           rc = 0;

	memset(&cw, 0, sizeof cw);
	if ((mcos = ad_calloc(nsrc + 1, sizeof *mcos)) == NULL)
		return oom(c);
	if (c->corpus != NULL && (rc = weat_corpus_words(c, s, t, set, &cw)) != 0)
		goto out;
	for (size_t mi = 0; mi <= nsrc && rc == 0; mi++) {
		size_t                 source = mi == nsrc ? PROBE_CORPUS : mi;
		struct probe_weat_row *row = NULL;
		struct weat_words      w;
		float                **vec[4] = { NULL, NULL, NULL, NULL };
		double                *cos = NULL;
		uint32_t               dim = 0;

		memset(&w, 0, sizeof w);
		if (source == PROBE_CORPUS && c->corpus == NULL)
			break;
		if ((rc = weat_row_new(c, si, ti, source, &row)) != 0)
			break;
		if (source == PROBE_CORPUS) {
			for (int k = 0; k < 4; k++)
				row->n[k] = cw.n[k];
			for (int k = 0; k < 4 && rc == 0; k++)
				if (cw.n[k] == 0) {
					row->dropped = ad_strdup("a set has no word that occurs in the corpus");
					rc = 1;
				}
			if (rc == 0)
				rc = weat_cos(c, s, t, &cw, NULL, 0, &cos);
		} else if ((rc = weat_source_words(c, s, t, set, mi, &cw, row, &w, vec, &dim)) == 0) {
			rc = weat_cos(c, s, t, &w, (const float *const **)vec, dim, &cos);
		}
		if (rc == 0)
			rc = weat_score(c, s, t, row, cos, source == PROBE_CORPUS ? &cw : &w);
		if (rc == 0 && source == PROBE_CORPUS) {
			ccos = cos;
			cos = NULL;
			crow = row;
		} else if (rc == 0 && c->corpus != NULL && row->scored) {
			/* Keep the model's cosines (on the corpus's word list) for the amplification. */
			int same = 1;
			for (int k = 0; k < 4; k++)
				same &= w.n[k] == cw.n[k];
			if (same) {
				mcos[mi] = cos;
				cos = NULL;
			}
		}
		if (rc > 0)   /* not scored */
			rc = 0;
		ad_free(cos);
		for (int k = 0; k < 4; k++) {
			for (size_t i = 0; vec[k] != NULL && i < set[k]->n; i++)
				ad_free(vec[k][i]);
			ad_free(vec[k]);
		}
		ww_free(&w);
	}
	if (rc == 0)
		rc = weat_amplification(c, si, ti, crow, mcos, ccos, &cw);
out:
	for (size_t mi = 0; mi < nsrc; mi++)
		ad_free(mcos[mi]);
	ad_free(mcos);
	ww_free(&cw);
	ad_free(ccos);
	return rc;
}

/* ---- templates ------------------------------------------------------------- */

static int
target_row_new(struct ctx *c, size_t si, size_t source, size_t g, const char *word,
    struct probe_target_row **out)
{
	struct probe_report     *r = c->r;
	struct probe_target_row *row;

	if (grow(&r->targets, r->ntargets, &c->ctargets, sizeof *r->targets) != 0)
		return oom(c);
	row = &r->targets[r->ntargets++];
	memset(row, 0, sizeof *row);
	row->set = si;
	row->source = source;
	row->group = g;
	row->word = word;
	num_init(&row->score);
	num_init(&row->amp);
	*out = row;
	return 0;
}

static int
group_row_new(struct ctx *c, size_t si, size_t source, size_t g, struct probe_group_row **out)
{
	struct probe_report    *r = c->r;
	struct probe_group_row *row;

	if (grow(&r->groups, r->ngroups, &c->cgroups, sizeof *r->groups) != 0)
		return oom(c);
	row = &r->groups[r->ngroups++];
	memset(row, 0, sizeof *row);
	row->set = si;
	row->source = source;
	row->group = g;
	num_init(&row->mean);
	num_init(&row->contrast);
	num_init(&row->amp);
	*out = row;
	return 0;
}

/*
 * The scores of one source's scored targets of group g (rows from first on)
 * into sc; with df, also their model − corpus differences (*nd of them).
 * Returns how many scores.
 */
static size_t
group_scores(const struct probe_report *r, size_t first, size_t source, size_t g, double *sc,
    double *df, size_t *nd)
{
	size_t n = 0;

	if (nd != NULL)
		*nd = 0;
	for (size_t i = first; i < r->ntargets; i++) {
		const struct probe_target_row *row = &r->targets[i];
		if (row->source != source || row->group != g || !row->scored)
			continue;
		sc[n++] = row->score.value;
		if (df != NULL && !isnan(row->amp.value))
			df[(*nd)++] = row->amp.value;
	}
	return n;
}

/* The attribute words the corpus counts for pole k. */
static int
pole_words(const struct probe_set *s, int k, const char ***words, size_t *n)
{
	size_t cap = 0;

	*words = NULL;
	*n = 0;
	if (s->has_poles) {
		const struct probe_wordset *w = &s->sets[s->poles[k]];
		if ((*words = ad_mallocarray(w->n, sizeof **words)) == NULL)
			return -1;
		for (size_t i = 0; i < w->n; i++)
			(*words)[(*n)++] = w->words[i];
		return 0;
	}
	for (size_t t = 0; t < s->ntemplates; t++) {
		size_t i;
		for (i = 0; i < *n && strcmp((*words)[i], s->templates[t].attr[k]) != 0; i++)
			;
		if (i < *n)
			continue;
		if (grow(words, *n, &cap, sizeof **words) != 0)
			return -1;
		(*words)[(*n)++] = s->templates[t].attr[k];
	}
	return 0;
}

/* What the steps of one set's template pass share. */
struct tpl {
	const struct probe_set *s;
	size_t                  si;
	double                 *prior;      /* (ntemplates) the model's log ratio for the neutral word */
	double                 *v;          /* (ntemplates) a target's prior-corrected ratios */
	const char            **pw[2];      /* the attribute words of each pole (corpus) */
	size_t                  npw[2];
	uint64_t                tot[2];     /* their total count in the corpus */
	int                     warned_k;   /* the few-templates warning was given */
	struct ad_progress     *progress;
	uint64_t               *done;
};

/*
 * The corpus's side of the poles: their attribute words and how often each
 * pole's words occur in the corpus; a warning when a pole never does.
 */
static int
tpl_poles(struct ctx *c, struct tpl *tp)
{
	const struct probe_set *s = tp->s;

	for (int k = 0; k < 2; k++) {
		if (pole_words(s, k, &tp->pw[k], &tp->npw[k]) != 0)
			return oom(c);
		for (size_t i = 0; i < tp->npw[k]; i++)
			tp->tot[k] += probe_corpus_freq(c->corpus, tp->pw[k][i]);
	}
	if (tp->tot[0] == 0 || tp->tot[1] == 0)
		return warnf(c, "%s: the corpus has no %s attribute word at all: the corpus side of "
		    "the templates is not scored", s->name, s->pole_name[tp->tot[0] ? 1 : 0]);
	return 0;
}

/*
 * Model m's prior per template: the same log ratio with the neutral word
 * as the target (NAN where it cannot score an attribute word); a warning
 * when the two attribute words of some template are split into different
 * numbers of tokens.
 */
static int
tpl_prior(struct ctx *c, struct tpl *tp, const struct lm *m, size_t source)
{
	const struct probe_set *s = tp->s;
	int                     rc, uneven = 0;

	for (size_t j = 0; j < s->ntemplates; j++) {
		int skip;
		/* Kurita et al.'s score of a masked model holds its own prior (the target masked). */
		if (lm_is_masked(m)) {
			tp->prior[j] = 0;
			continue;
		}
		if ((rc = probe_template_ratio(m, &s->templates[j], s->neutral, &tp->prior[j], &skip,
		    c->e)) != 0) {
			ad_error_prefix(c->e, "%s:%zu", s->path, s->templates[j].line);
			return rc;
		}
		if (skip & PROBE_SKIP_ATTRIBUTE)
			tp->prior[j] = NAN;
	}
	for (size_t j = 0; j < s->ntemplates; j++) {
		uint32_t *ids = NULL;
		size_t    n0 = 0, n1 = 0, cap = 0;
		if ((rc = lm_encode(m, (const uint8_t *)s->templates[j].attr[0],
		    strlen(s->templates[j].attr[0]), &ids, &n0, &cap, c->e)) != 0 ||
		    (rc = lm_encode(m, (const uint8_t *)s->templates[j].attr[1],
		    strlen(s->templates[j].attr[1]), &ids, &n1, &cap, c->e)) != 0) {
			ad_free(ids);
			return rc;
		}
		ad_free(ids);
		uneven |= n0 != n1;
	}
	if (uneven)
		return warnf(c, "%s on %s: the two attribute words of some templates are split into "
		    "different numbers of tokens; their log-probabilities are sums over different "
		    "numbers of predictions", s->name, c->r->models[source].path);
	return 0;
}

/*
 * A target's corpus score: the log odds of the two poles' attribute words
 * near it, minus their corpus-wide log odds, with a 95% normal interval
 * and an exact binomial test against the corpus-wide share.
 */
static int
tpl_corpus_score(struct ctx *c, const struct tpl *tp, struct probe_target_row *row)
{
	double a, b, pa, pb;

	if (tp->tot[0] == 0 || tp->tot[1] == 0) {
		row->scored = 0;
		row->reason = "the corpus lacks one attribute pole";
		return 0;
	}
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < tp->npw[k]; i++)
			row->count[k] += probe_corpus_near(c->corpus, row->word, tp->pw[k][i]);
	if (row->count[0] + row->count[1] == 0) {
		row->scored = 0;
		row->reason = "no attribute word near it in the corpus";
		return 0;
	}
	/*
	 * Log odds with Haldane's +1/2 (Haldane 1956), corrected by the
	 * corpus-wide odds of the two poles, and the delta-method standard
	 * error sqrt(1/a + 1/b).
	 */
	a = (double)row->count[0] + 0.5;
	b = (double)row->count[1] + 0.5;
	pa = (double)tp->tot[0] + 0.5;
	pb = (double)tp->tot[1] + 0.5;
	row->score.value = log(a / b) - log(pa / pb);
	row->score.lo = row->score.value - 1.959963985 * sqrt(1 / a + 1 / b);
	row->score.hi = row->score.value + 1.959963985 * sqrt(1 / a + 1 / b);
	row->score.p = probe_binom_test(row->count[0], row->count[0] + row->count[1],
	    (double)tp->tot[0] / (double)(tp->tot[0] + tp->tot[1]));
	row->score.exact = 1;
	row->score.test = "exact binomial test against the corpus-wide share; 95% normal interval "
	    "of the log odds";
	if (row->freq < c->r->opt.rare)
		return warnf(c, "%s: target '%s' occurs only %llu times in the corpus", tp->s->name,
		    row->word, (unsigned long long)row->freq);
	return 0;
}

/*
 * A target's score on model m: the mean over templates of its log ratio
 * minus the prior, with a t interval and test; row->amp.lo keeps the
 * standard error for the amplification.
 */
static int
tpl_model_score(struct ctx *c, struct tpl *tp, const struct lm *m, struct probe_target_row *row)
{
	const struct probe_set *s = tp->s;
	size_t                  k = 0;
	double                  mean, lo, hi, p;
	int                     rc, tested;

	for (size_t j = 0; j < s->ntemplates; j++) {
		double ratio;
		int    skip;
		if ((rc = probe_template_ratio(m, &s->templates[j], row->word, &ratio, &skip,
		    c->e)) != 0) {
			ad_error_prefix(c->e, "%s:%zu", s->path, s->templates[j].line);
			return rc;
		}
		if (skip) {
			k = 0;
			break;
		}
		if (!isnan(tp->prior[j]))
			tp->v[k++] = ratio - tp->prior[j];
	}
	ad_progress_update(tp->progress, ++*tp->done);
	if (k == 0) {
		row->scored = 0;
		row->reason = "unknown to the model";
		return 0;
	}
	tested = probe_t_test(tp->v, k, &mean, &lo, &hi, &p) == 0;
	row->score.value = mean;
	if (tested) {
		row->score.lo = lo;
		row->score.hi = hi;
		row->score.p = p;
		row->score.test = "one-sample t-test over templates; 95% t interval";
		/* The standard error, kept for the amplification. */
		row->amp.lo = k >= 2 ? probe_sd(tp->v, k) / sqrt((double)k) : 0;
	}
	if (k < 4 && !tp->warned_k) {
		tp->warned_k = 1;
		return warnf(c, "%s: only %zu templates: the per-word intervals rest on very few "
		    "sentences", s->name, k);
	}
	return 0;
}

/* One row per target word of every group for source, each scored. */
static int
tpl_targets(struct ctx *c, struct tpl *tp, size_t source)
{
	const struct probe_set *s = tp->s;
	int                     rc = 0;

	for (size_t g = 0; g < s->ngroups && rc == 0; g++) {
		const struct probe_wordset *ws = &s->sets[s->groups[g].set];
		for (size_t wi = 0; wi < ws->n && rc == 0; wi++) {
			struct probe_target_row *row = NULL;
			if ((rc = target_row_new(c, tp->si, source, g, ws->words[wi], &row)) != 0)
				break;
			row->scored = 1;
			if (c->corpus != NULL) {
				row->freq = probe_corpus_freq(c->corpus, row->word);
				if (row->freq == 0) {
					row->scored = 0;
					row->reason = "never occurs in the corpus";
					continue;
				}
			}
			rc = source == PROBE_CORPUS ? tpl_corpus_score(c, tp, row) :
			    tpl_model_score(c, tp, c->models[source], row);
		}
	}
	return rc;
}

/*
 * Per target of a model, model − corpus, with a z-test on the two standard
 * errors (the model's over templates, the corpus's from its counts).
 */
static void
tpl_amplification(struct ctx *c, size_t first)
{
	for (size_t i = first; i < c->r->ntargets; i++) {
		struct probe_target_row *row = &c->r->targets[i], *cr = NULL;
		double                   se_m = row->amp.lo, se_c;
		row->amp.lo = NAN;
		if (row->source == PROBE_CORPUS || c->corpus == NULL || !row->scored)
			continue;
		for (size_t j = first; j < c->r->ntargets; j++)
			if (c->r->targets[j].source == PROBE_CORPUS && c->r->targets[j].group == row->group
			    && c->r->targets[j].word == row->word)
				cr = &c->r->targets[j];
		if (cr == NULL || !cr->scored)
			continue;
		se_c = (cr->score.hi - cr->score.lo) / (2 * 1.959963985);
		if (isnan(se_m))
			se_m = 0;
		row->amp.value = row->score.value - cr->score.value;
		row->amp.lo = row->amp.value - 1.959963985 * sqrt(se_m * se_m + se_c * se_c);
		row->amp.hi = row->amp.value + 1.959963985 * sqrt(se_m * se_m + se_c * se_c);
		row->amp.p = probe_normal_p(row->amp.value / sqrt(se_m * se_m + se_c * se_c));
		row->amp.test = "z-test, standard errors of model (templates) and corpus (counts)";
	}
}

/*
 * The group rows of set si (its target rows from first on), per source:
 * the mean target score, its contrast with the group named "neutral" when
 * there is one, and the mean model − corpus difference.
 */
static int
tpl_groups(struct ctx *c, size_t si, size_t first)
{
	const struct probe_set *s = c->r->sets[si];
	size_t                  ref, nrows = c->r->ntargets - first;
	double                 *sc, *rs, *df;
	int                     rc = 0;

	for (ref = 0; ref < s->ngroups && strcmp(s->groups[ref].category, "neutral") != 0; ref++)
		;
	sc = ad_mallocarray(nrows ? nrows : 1, sizeof *sc);
	rs = ad_mallocarray(nrows ? nrows : 1, sizeof *rs);
	df = ad_mallocarray(nrows ? nrows : 1, sizeof *df);
	if (sc == NULL || rs == NULL || df == NULL) {
		rc = oom(c);
		goto out;
	}
	for (size_t mi = 0; mi <= c->r->nmodels; mi++) {
		size_t source = mi == c->r->nmodels ? PROBE_CORPUS : mi;
		size_t nr = 0;
		if (source == PROBE_CORPUS && c->corpus == NULL)
			break;
		if (ref < s->ngroups)
			nr = group_scores(c->r, first, source, ref, rs, NULL, NULL);
		for (size_t g = 0; g < s->ngroups; g++) {
			struct probe_group_row *gr = NULL;
			size_t                  n, nd;
			if ((rc = group_row_new(c, si, source, g, &gr)) != 0)
				goto out;
			n = group_scores(c->r, first, source, g, sc, df, &nd);
			gr->n = n;
			if (n > 0) {
				probe_t_test(sc, n, &gr->mean.value, &gr->mean.lo, &gr->mean.hi, &gr->mean.p);
				gr->mean.test = "one-sample t-test over target words; 95% t interval";
			}
			if (ref < s->ngroups) {
				double dof;
				gr->mean.p = NAN;
				gr->mean.test = "95% t interval over target words (descriptive: the "
				    "association is the contrast with the neutral group)";
				if (g != ref && probe_welch_test(sc, n, rs, nr, &gr->contrast.value,
				    &gr->contrast.lo, &gr->contrast.hi, &gr->contrast.p, &dof) == 0)
					gr->contrast.test = "Welch two-sample t-test over target words, "
					    "group − neutral group; 95% interval";
			}
			if (nd > 0) {
				probe_t_test(df, nd, &gr->amp.value, &gr->amp.lo, &gr->amp.hi, &gr->amp.p);
				gr->amp.test = "paired t-test over target words (model − corpus)";
			}
		}
	}
out:
	ad_free(sc);
	ad_free(rs);
	ad_free(df);
	return rc;
}

/*
 * The templates of set si on the corpus (computed first, reported after
 * the models) and on every model: a row per target word and source, each
 * model's difference from the corpus, then a row per group and source.
 */
static int
run_templates(struct ctx *c, size_t si, struct ad_progress *progress, uint64_t *done)
{
	struct tpl tp;
	size_t     first = c->r->ntargets;
	int        rc = 0;

	memset(&tp, 0, sizeof tp);
	tp.s = c->r->sets[si];
	tp.si = si;
	tp.progress = progress;
	tp.done = done;
	if ((tp.prior = ad_mallocarray(tp.s->ntemplates, sizeof *tp.prior)) == NULL ||
	    (tp.v = ad_mallocarray(tp.s->ntemplates, sizeof *tp.v)) == NULL) {
		rc = oom(c);
		goto out;
	}
	for (size_t mi = 0; mi <= c->r->nmodels && rc == 0; mi++) {
		size_t source = mi == 0 ? PROBE_CORPUS : mi - 1;
		if (source == PROBE_CORPUS && c->corpus == NULL)
			continue;
		if ((rc = source == PROBE_CORPUS ? tpl_poles(c, &tp) :
		    tpl_prior(c, &tp, c->models[source], source)) == 0)
			rc = tpl_targets(c, &tp, source);
	}
	if (rc == 0) {
		tpl_amplification(c, first);
		rc = tpl_groups(c, si, first);
	}
out:
	ad_free(tp.prior);
	ad_free(tp.v);
	ad_free(tp.pw[0]);
	ad_free(tp.pw[1]);
	return rc;
}

/* ---- the whole report --------------------------------------------------- */

int
probe_focus_words(const struct probe_set *const *sets, size_t nsets, char ***words, size_t *n,
    struct ad_error *e)
{
	char  **w = NULL;
	size_t  nw = 0, cap = 0;

	for (size_t si = 0; si < nsets; si++) {
		const struct probe_set *s = sets[si];
		char *used = ad_calloc(s->nsets ? s->nsets : 1, 1);
		if (used == NULL)
			goto oom;
		for (size_t t = 0; t < s->nweats; t++) {
			used[s->weats[t].x] = used[s->weats[t].y] = 1;
			used[s->weats[t].a] = used[s->weats[t].b] = 1;
		}
		for (size_t g = 0; g < s->ngroups; g++)
			used[s->groups[g].set] = 1;
		for (size_t k = 0; k < s->nsets; k++) {
			if (!used[k])
				continue;
			for (size_t i = 0; i < s->sets[k].n; i++) {
				char  *lw = ad_strdup(s->sets[k].words[i]);
				size_t j;
				if (lw == NULL) {
					ad_free(used);
					goto oom;
				}
				for (char *p = lw; *p; p++)
					if (*p >= 'A' && *p <= 'Z')
						*p = (char)(*p - 'A' + 'a');
				for (j = 0; j < nw && strcmp(w[j], lw) != 0; j++)
					;
				if (j < nw) {
					ad_free(lw);
					continue;
				}
				if (grow(&w, nw, &cap, sizeof *w) != 0) {
					ad_free(lw);
					ad_free(used);
					goto oom;
				}
				w[nw++] = lw;
			}
		}
		ad_free(used);
	}
	*words = w;
	*n = nw;
	return 0;
oom:
	probe_focus_free(w, nw);
	return ad_fail(e, AD_ENOMEM, "out of memory");
}

void
probe_focus_free(char **words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ad_free(words[i]);
	ad_free(words);
}

void
probe_report_free(struct probe_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nmodels + r->nvectors; i++)
		ad_free(r->models[i].path);
	ad_free(r->models);
	ad_free(r->sets);
	ad_free(r->corpus_path);
	for (size_t i = 0; i < r->nweat; i++)
		ad_free(r->weat[i].dropped);
	ad_free(r->pairs);
	ad_free(r->weat);
	ad_free(r->targets);
	ad_free(r->groups);
	for (size_t i = 0; i < r->nwarnings; i++)
		ad_free(r->warnings[i]);
	ad_free(r->warnings);
	ad_free(r);
}

/* Every number with a p-value, for the correction. */
static int
adjust_all(struct ctx *c)
{
	struct probe_report *r = c->r;
	struct probe_num   **all = NULL;
	double              *p = NULL;
	size_t               n = 0, cap = r->npairs * 2 + r->nweat * 2 + r->ntargets * 2 +
	                         r->ngroups * 3 + 1;
	int                  rc;

	if ((all = ad_mallocarray(cap, sizeof *all)) == NULL ||
	    (p = ad_mallocarray(cap, sizeof *p)) == NULL) {
		ad_free(all);
		return oom(c);
	}
#define ADD(x) do { if (!isnan((x).p)) all[n++] = &(x); } while (0)
	for (size_t i = 0; i < r->npairs; i++) ADD(r->pairs[i].percent);
	for (size_t i = 0; i < r->nweat; i++) { ADD(r->weat[i].d); ADD(r->weat[i].amp); }
	for (size_t i = 0; i < r->ntargets; i++) { ADD(r->targets[i].score); ADD(r->targets[i].amp); }
	for (size_t i = 0; i < r->ngroups; i++) {
		ADD(r->groups[i].mean);
		ADD(r->groups[i].contrast);
		ADD(r->groups[i].amp);
	}
#undef ADD
	for (size_t i = 0; i < n; i++)
		p[i] = all[i]->p;
	/*
	 * A test whose steps are coarser than alpha is never marked: WEAT's
	 * exact p (strictly greater partitions, as Caliskan et al. define it)
	 * is 0 for 1 + 1 words in half of all cases with no association.
	 */
	if ((rc = probe_adjust(p, n, r->opt.correction, p, c->e)) == 0)
		for (size_t i = 0; i < n; i++) {
			all[i]->p_adj = p[i];
			all[i]->significant = p[i] < r->opt.alpha &&
			    !(all[i]->exact && all[i]->min_p > r->opt.alpha);
		}
	r->ntests = n;
	ad_free(all);
	ad_free(p);
	return rc;
}

/*
 * The inputs table's entries of vector files, after the models': a word
 * vector file is a source of WEAT rows only.
 */
static int
vectors_info(struct probe_report *r, const struct probe_vectors *const *vectors,
    size_t nvectors, struct ad_error *e)
{
	for (size_t i = 0; i < nvectors; i++) {
		struct probe_model_info    *mi = &r->models[r->nmodels + i];
		const struct probe_vectors *v = vectors[i];
		if ((mi->path = ad_strdup(probe_vectors_path(v))) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		r->nvectors++;
		snprintf(mi->kind, sizeof mi->kind, "vectors");
		snprintf(mi->description, sizeof mi->description, "%s, %llu words x %u dimensions%s",
		    probe_vectors_format(v), (unsigned long long)probe_vectors_count(v),
		    probe_vectors_dim(v), strstr(probe_vectors_format(v), "gzip") != NULL ?
		    " (the XXH64 is of the decompressed text)" : "");
		mi->params = probe_vectors_count(v) * probe_vectors_dim(v);
		mi->hash = probe_vectors_hash(v);
		mi->V = probe_vectors_count(v) > UINT32_MAX ? UINT32_MAX :
		    (uint32_t)probe_vectors_count(v);
		mi->has_embed = 1;
	}
	return 0;
}

static int
run_counted(struct probe_report **out, struct lm *const *models, size_t nmodels,
    const struct probe_vectors *const *vectors, size_t nvectors,
    const struct probe_set *const *sets, size_t nsets, const struct probe_corpus *corpus,
    const struct probe_options *o, struct ad_progress *progress, struct ad_error *e)
{
	struct probe_report *r;
	struct ctx           c = { 0 };
	uint64_t             done = 0, total = 0;
	int                  rc = 0;

	if ((r = ad_calloc(1, sizeof *r)) == NULL ||
	    (r->models = ad_calloc(nmodels + nvectors ? nmodels + nvectors : 1,
	    sizeof *r->models)) == NULL ||
	    (r->sets = ad_calloc(nsets ? nsets : 1, sizeof *r->sets)) == NULL) {
		probe_report_free(r);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	r->opt = *o;
	r->nmodels = nmodels;
	r->nsets = nsets;
	for (size_t i = 0; i < nsets; i++)
		r->sets[i] = sets[i];
	for (size_t i = 0; i < nmodels; i++) {
		struct probe_model_info *mi = &r->models[i];
		struct ad_map            map;
		const struct lm         *m = models[i];
		if ((mi->path = ad_strdup(m->path ? m->path : "(unnamed model)")) == NULL) {
			probe_report_free(r);
			return ad_fail(e, AD_ENOMEM, "out of memory");
		}
		snprintf(mi->kind, sizeof mi->kind, "%s", m->kind ? m->kind : "?");
		snprintf(mi->description, sizeof mi->description, "%s", m->description);
		mi->params = m->params;
		mi->text_hash = m->text_hash;
		mi->text_bytes = m->text_bytes;
		mi->V = m->V;
		mi->has_embed = m->vt->embed != NULL && m->embed_dim > 0;
		mi->masked = lm_is_masked(m);
		if (m->path != NULL && ad_map_file(m->path, &map, NULL) == 0) {
			mi->hash = ad_hash64(map.data, map.size, 0);
			ad_map_release(&map);
		}
	}
	if (vectors_info(r, vectors, nvectors, e) != 0) {
		probe_report_free(r);
		return AD_ENOMEM;
	}
	if (corpus != NULL) {
		r->has_corpus = 1;
		r->corpus_hash = probe_corpus_hash(corpus);
		r->corpus_lines = probe_corpus_lines(corpus);
		r->corpus_tokens = probe_corpus_tokens(corpus);
		r->corpus_bytes = probe_corpus_bytes(corpus);
	}
	c.r = r;
	c.models = models;
	c.vectors = vectors;
	c.corpus = corpus;
	c.e = e;
	c.stream = 1;
	for (size_t i = 0; i < nmodels && rc == 0; i++) {
		const struct probe_model_info *mi = &r->models[i];
		if (mi->text_bytes == 0)
			rc = warnf(&c, "%s does not record the text it was trained on (%s): the "
			    "report cannot say whether %s", mi->path, strcmp(mi->kind, "arpa") == 0 ?
			    "ARPA files do not" : "a file from an older version",
			    corpus != NULL ? "the corpus is that text" : "the models share a corpus");
		else if (corpus != NULL && (mi->text_hash != r->corpus_hash ||
		    mi->text_bytes != r->corpus_bytes))
			rc = warnf(&c, "%s was trained on other text (XXH64 %016llx, %llu bytes) than "
			    "the corpus (XXH64 %016llx, %llu bytes): its columns against the corpus "
			    "compare it with text it did not see", mi->path,
			    (unsigned long long)mi->text_hash, (unsigned long long)mi->text_bytes,
			    (unsigned long long)r->corpus_hash, (unsigned long long)r->corpus_bytes);
	}
	for (size_t i = 0; i < nvectors && corpus != NULL && rc == 0; i++)
		rc = warnf(&c, "%s is a file of word vectors, which does not record the text they "
		    "were trained on: its WEAT rows against the corpus compare it with text it may "
		    "not have seen", r->models[nmodels + i].path);
	for (size_t si = 0; si < nsets; si++) {
		size_t nw = 0;
		for (size_t g = 0; g < sets[si]->ngroups; g++)
			nw += sets[si]->sets[sets[si]->groups[g].set].n;
		total += nmodels * (sets[si]->npairs + nw);
	}
	ad_progress_set_total(progress, total);
	for (size_t si = 0; si < nsets && rc == 0; si++) {
		if (sets[si]->npairs > 0)
			rc = run_pairs(&c, si, progress, &done);
		for (size_t t = 0; t < sets[si]->nweats && rc == 0; t++)
			rc = run_weat(&c, si, t);
		if (rc == 0 && sets[si]->ntemplates > 0)
			rc = run_templates(&c, si, progress, &done);
		if (rc == 0 && ad_interrupted())
			rc = ad_fail(e, AD_EINTR, "interrupted");
	}
	if (rc == 0)
		rc = adjust_all(&c);
	r->streams = c.stream - 1;
	if (rc != 0) {
		probe_report_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int
probe_run_counted(struct probe_report **out, struct lm *const *models, size_t nmodels,
    const struct probe_set *const *sets, size_t nsets, const struct probe_corpus *corpus,
    const struct probe_options *o, struct ad_progress *progress, struct ad_error *e)
{
	return run_counted(out, models, nmodels, NULL, 0, sets, nsets, corpus, o, progress, e);
}

int
probe_run(struct probe_report **out, struct lm *const *models, size_t nmodels,
    const struct probe_set *const *sets, size_t nsets, const char *corpus_path,
    const struct probe_options *o, struct ad_progress *progress, struct ad_error *e)
{
	return probe_run_vectors(out, models, nmodels, NULL, 0, sets, nsets, corpus_path, o,
	    progress, e);
}

int
probe_run_vectors(struct probe_report **out, struct lm *const *models, size_t nmodels,
    const struct probe_vectors *const *vectors, size_t nvectors,
    const struct probe_set *const *sets, size_t nsets, const char *corpus_path,
    const struct probe_options *o, struct ad_progress *progress, struct ad_error *e)
{
	struct probe_corpus *corpus = NULL;
	char               **focus = NULL;
	size_t               nfocus = 0;
	int                  rc;

	if (corpus_path != NULL) {
		if ((rc = probe_focus_words(sets, nsets, &focus, &nfocus, e)) != 0)
			return rc;
		rc = probe_corpus_count(&corpus, corpus_path, (const char *const *)focus, nfocus,
		    o->window, progress, e);
		probe_focus_free(focus, nfocus);
		if (rc != 0)
			return rc;
	}
	rc = run_counted(out, models, nmodels, vectors, nvectors, sets, nsets, corpus, o, progress,
	    e);
	if (rc == 0 && corpus_path != NULL && ((*out)->corpus_path = ad_strdup(corpus_path)) == NULL) {
		probe_report_free(*out);
		*out = NULL;   /* out-parameters are written only on success */
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
	}
	probe_corpus_free(corpus);
	return rc;
}
