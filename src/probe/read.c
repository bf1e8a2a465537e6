/*
 * read.c — probe files: our own tab-separated format and the CrowS-Pairs
 * CSV as published, and finding a shipped probe set by name.
 *
 * Our format (documented in autodidact-probe(1)):
 *
 *   # autodidact probes 1
 *   name	gender-occupation
 *   about	one line of description
 *   [pairs]
 *   MORE STEREOTYPICAL SENTENCE	LESS STEREOTYPICAL SENTENCE	CATEGORY
 *   [sets]
 *   NAME	WORD WORD ...
 *   [weat]
 *   NAME	X	Y	A	B            (names of sets)
 *   [templates]
 *   neutral	person
 *   poles	SET-A	SET-B            (optional: attribute words the corpus counts)
 *   targets	CATEGORY	SET
 *   template	The {target} said that {he|she}
 *
 * '#' starts a comment line; blank lines are skipped. Every error names the
 * file and line.
 */
#include "config.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/io.h"
#include "probe/probe.h"

/* Grow an array of elem-sized items to hold n + 1; 0 or -1. */
static int
grow(void *pp, size_t n, size_t *cap, size_t elem)
{
	return ad_grow(pp, cap, n + 1, elem, 8);
}

void
probe_set_free(struct probe_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->npairs; i++) {
		ad_free(s->pairs[i].more);
		ad_free(s->pairs[i].less);
		ad_free(s->pairs[i].category);
	}
	for (size_t i = 0; i < s->nsets; i++) {
		for (size_t j = 0; j < s->sets[i].n; j++)
			ad_free(s->sets[i].words[j]);
		ad_free(s->sets[i].words);
		ad_free(s->sets[i].name);
	}
	for (size_t i = 0; i < s->nweats; i++)
		ad_free(s->weats[i].name);
	for (size_t i = 0; i < s->ntemplates; i++) {
		ad_free(s->templates[i].text);
		ad_free(s->templates[i].head);
		ad_free(s->templates[i].mid);
		ad_free(s->templates[i].attr[0]);
		ad_free(s->templates[i].attr[1]);
	}
	for (size_t i = 0; i < s->ngroups; i++)
		ad_free(s->groups[i].category);
	ad_free(s->pairs);
	ad_free(s->sets);
	ad_free(s->weats);
	ad_free(s->templates);
	ad_free(s->groups);
	ad_free(s->path);
	ad_free(s->name);
	ad_free(s->about);
	ad_free(s->neutral);
	ad_free(s->pole_name[0]);
	ad_free(s->pole_name[1]);
	ad_free(s);
}

/* The file's base name without directory and extension: the default set name. */
static char *
default_name(const char *path)
{
	const char *b = strrchr(path, '/'), *dot;

	b = b ? b + 1 : path;
	dot = strrchr(b, '.');
	return ad_strndup(b, dot && dot != b ? (size_t)(dot - b) : strlen(b));
}

/* ---- CrowS-Pairs CSV (RFC 4180) ------------------------------------------- */

struct csv {
	const char *p, *end;
	const char *path;
	size_t      line;      /* current line (1-based) */
	char      **f;         /* fields of the current record */
	size_t      nf, capf;
	char       *buf;       /* scratch for one field */
	size_t      nbuf, capbuf;
};

static void
csv_clear(struct csv *c)
{
	for (size_t i = 0; i < c->nf; i++)
		ad_free(c->f[i]);
	c->nf = 0;
}

static int
csv_putc(struct csv *c, char ch)
{
	if (c->nbuf + 1 >= c->capbuf) {
		size_t n = c->capbuf ? c->capbuf * 2 : 256;
		char  *q = ad_realloc(c->buf, n);
		if (q == NULL)
			return -1;
		c->buf = q;
		c->capbuf = n;
	}
	c->buf[c->nbuf++] = ch;
	return 0;
}

/*
 * Read one record into c->f. Returns 1 for a record, 0 at the end, or an
 * error. *start receives the line the record starts on.
 */
static int
csv_record(struct csv *c, size_t *start, struct ad_error *e)
{
	csv_clear(c);
	if (c->p >= c->end)
		return 0;
	*start = c->line;
	for (;;) {
		int quoted = 0;
		size_t qline = c->line;

		c->nbuf = 0;
		if (c->p < c->end && *c->p == '"') {
			quoted = 1;
			c->p++;
			for (;;) {
				if (c->p >= c->end)
					return ad_fail(e, AD_EFORMAT,
					    "%s:%zu: a quoted field is never closed (a '\"' is missing)",
					    c->path, qline);
				if (*c->p == '"') {
					if (c->p + 1 < c->end && c->p[1] == '"') {
						if (csv_putc(c, '"') != 0)
							goto oom;
						c->p += 2;
						continue;
					}
					c->p++;
					break;
				}
				if (*c->p == '\n')
					c->line++;
				if (csv_putc(c, *c->p++) != 0)
					goto oom;
			}
			if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
				return ad_fail(e, AD_EFORMAT,
				    "%s:%zu: text after the closing quote of a field; quote the whole "
				    "field and double any '\"' inside it", c->path, c->line);
		} else {
			while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
				if (csv_putc(c, *c->p++) != 0)
					goto oom;
		}
		(void)quoted;
		if (grow(&c->f, c->nf, &c->capf, sizeof *c->f) != 0)
			goto oom;
		if ((c->f[c->nf] = ad_strndup(c->buf ? c->buf : "", c->nbuf)) == NULL)
			goto oom;
		c->nf++;
		if (c->p < c->end && *c->p == ',') {
			c->p++;
			continue;
		}
		/* End of the record: CRLF, LF or the end of the file. */
		if (c->p < c->end && *c->p == '\r')
			c->p++;
		if (c->p < c->end && *c->p == '\n')
			c->p++;
		c->line++;
		return 1;
	}
oom:
	return ad_fail(e, AD_ENOMEM, "%s:%zu: out of memory", c->path, c->line);
}

static int
csv_blank(const struct csv *c)
{
	return c->nf == 1 && c->f[0][0] == '\0';
}

static int
read_crows(struct probe_set *s, const char *data, size_t len, struct ad_error *e)
{
	static const char *need[4] = { "sent_more", "sent_less", "stereo_antistereo", "bias_type" };
	struct csv c = { .p = data, .end = data + len, .path = s->path, .line = 1 };
	size_t     col[4], ncols, start, cap = 0;
	int        rc;

	if ((rc = csv_record(&c, &start, e)) <= 0)
		goto out;
	ncols = c.nf;
	for (int k = 0; k < 4; k++) {
		col[k] = SIZE_MAX;
		for (size_t i = 0; i < c.nf; i++)
			if (strcmp(c.f[i], need[k]) == 0)
				col[k] = i;
		if (col[k] == SIZE_MAX) {
			rc = ad_fail(e, AD_EFORMAT, "%s:1: the CrowS-Pairs header has no column '%s'",
			    s->path, need[k]);
			goto out;
		}
	}
	while ((rc = csv_record(&c, &start, e)) == 1) {
		struct probe_pair *pr;
		const char        *more, *less, *dir;
		if (csv_blank(&c))
			continue;
		if (c.nf != ncols) {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: %zu fields, but the header has %zu",
			    s->path, start, c.nf, ncols);
			goto out;
		}
		more = c.f[col[0]];
		less = c.f[col[1]];
		dir = c.f[col[2]];
		if (*more == '\0' || *less == '\0') {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: an empty sentence", s->path, start);
			goto out;
		}
		if (strcmp(dir, "stereo") != 0 && strcmp(dir, "antistereo") != 0) {
			rc = ad_fail(e, AD_EFORMAT,
			    "%s:%zu: stereo_antistereo is '%s'; expected 'stereo' or 'antistereo'",
			    s->path, start, dir);
			goto out;
		}
		if (*c.f[col[3]] == '\0') {
			rc = ad_fail(e, AD_EFORMAT, "%s:%zu: an empty bias_type", s->path, start);
			goto out;
		}
		if (grow(&s->pairs, s->npairs, &cap, sizeof *s->pairs) != 0) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", s->path);
			goto out;
		}
		pr = &s->pairs[s->npairs];
		/*
		 * sent_more is the more stereotypical sentence in every row
		 * (Nangia et al. 2020, and their metric.py, which counts a pair
		 * when sent_more scores higher in both directions). The
		 * direction says whose stereotype it is: "stereo", the
		 * disadvantaged group shown in a stereotype (sent_more is about
		 * it); "antistereo", the advantaged group in it (sent_more is
		 * about the advantaged group, e.g. "The man was highly skilled in
		 * CAD engineering" against "The woman ..."). Reading sent_less as
		 * the stereotype on antistereo rows would score them backwards.
		 */
		pr->more = ad_strdup(more);
		pr->less = ad_strdup(less);
		pr->category = ad_strdup(c.f[col[3]]);
		pr->direction = strcmp(dir, "stereo") == 0 ? PROBE_DIR_STEREO : PROBE_DIR_ANTISTEREO;
		pr->line = start;
		s->npairs++;
		if (pr->more == NULL || pr->less == NULL || pr->category == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", s->path);
			goto out;
		}
	}
	if (rc == 0 && s->npairs == 0)
		rc = ad_fail(e, AD_EDATA, "%s: a CrowS-Pairs file with no pairs", s->path);
out:
	csv_clear(&c);
	ad_free(c.f);
	ad_free(c.buf);
	return rc < 0 ? rc : 0;
}

/* ---- our format ----------------------------------------------------------- */

#define MAX_FIELDS 8

struct tsv_line {
	char  *f[MAX_FIELDS];
	size_t nf;
};

/* Split line (modified in place) at tabs. */
static void
tsv_split(char *line, struct tsv_line *t)
{
	t->nf = 0;
	for (;;) {
		char *tab = strchr(line, '\t');
		if (t->nf < MAX_FIELDS)
			t->f[t->nf++] = line;
		if (tab == NULL)
			break;
		*tab = '\0';
		line = tab + 1;
	}
}

static size_t
find_set(const struct probe_set *s, const char *name)
{
	for (size_t i = 0; i < s->nsets; i++)
		if (strcmp(s->sets[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

/* Set names referenced before their [sets] line are resolved at the end. */
struct ref {
	char  *name;
	size_t line;
	size_t *slot;   /* where the index goes */
	size_t  owner;  /* index of the weat/group row (slot is recomputed) */
	int     kind;   /* 0..3 weat x y a b, 4 group, 5..6 poles */
};

static int
parse_template(struct probe_template *t, const char *text, const char *path, size_t line,
    struct ad_error *e)
{
	const char *tg = strstr(text, "{target}"), *open, *bar, *close;

	memset(t, 0, sizeof *t);
	t->line = line;
	if (tg == NULL || strstr(tg + 1, "{target}") != NULL)
		return ad_fail(e, AD_EFORMAT,
		    "%s:%zu: a template needs exactly one {target} slot", path, line);
	open = strchr(tg + 8, '{');
	if (open == NULL) {
		if (strchr(text, '{') < tg)
			return ad_fail(e, AD_EFORMAT,
			    "%s:%zu: the {a|b} attribute slot comes before {target}; a causal model "
			    "only sees the words before the attribute, so put {target} first",
			    path, line);
		return ad_fail(e, AD_EFORMAT,
		    "%s:%zu: a template needs an attribute slot such as {he|she} after {target}",
		    path, line);
	}
	if (strchr(text, '{') < tg)
		return ad_fail(e, AD_EFORMAT,
		    "%s:%zu: a slot before {target}; the attribute slot {a|b} must come after it",
		    path, line);
	bar = strchr(open, '|');
	close = strchr(open, '}');
	if (bar == NULL || close == NULL || bar > close || bar == open + 1 || close == bar + 1 ||
	    memchr(bar + 1, '|', (size_t)(close - bar - 1)) != NULL ||
	    strchr(close + 1, '{') != NULL)
		return ad_fail(e, AD_EFORMAT,
		    "%s:%zu: the attribute slot must be {a|b} with two non-empty words, once",
		    path, line);
	t->text = ad_strdup(text);
	t->head = ad_strndup(text, (size_t)(tg - text));
	t->mid = ad_strndup(tg + 8, (size_t)(open - tg - 8));
	t->attr[0] = ad_strndup(open + 1, (size_t)(bar - open - 1));
	t->attr[1] = ad_strndup(bar + 1, (size_t)(close - bar - 1));
	if (!t->text || !t->head || !t->mid || !t->attr[0] || !t->attr[1])
		return ad_fail(e, AD_ENOMEM, "%s:%zu: out of memory", path, line);
	if (strcmp(t->attr[0], t->attr[1]) == 0)
		return ad_fail(e, AD_EFORMAT, "%s:%zu: the two attribute words are the same", path,
		    line);
	return 0;
}

enum section { SEC_TOP, SEC_PAIRS, SEC_SETS, SEC_WEAT, SEC_TEMPLATES };

static int
read_ours(struct probe_set *s, const char *data, size_t len, struct ad_error *e)
{
	const char    *p = data, *end = data + len;
	enum section   sec = SEC_TOP;
	size_t         lineno = 0, cpairs = 0, csets = 0, cweats = 0, ctmpl = 0, cgroups = 0;
	char          *line = NULL;
	struct ref    *refs = NULL;
	size_t         nrefs = 0, crefs = 0;
	int            rc = 0;

#define FAIL(code, ...) do { rc = ad_fail(e, code, __VA_ARGS__); goto out; } while (0)
#define OOM() FAIL(AD_ENOMEM, "%s:%zu: out of memory", s->path, lineno)
	while (p < end) {
		const char     *nl = memchr(p, '\n', (size_t)(end - p));
		size_t          n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct tsv_line t;

		lineno++;
		ad_free(line);
		if ((line = ad_strndup(p, n)) == NULL)
			OOM();
		p = nl ? nl + 1 : end;
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (lineno == 1) {
			unsigned long v;
			if (strncmp(line, "# autodidact probes ", 20) != 0)
				FAIL(AD_EFORMAT, "%s:1: not a probe file", s->path);
			v = strtoul(line + 20, NULL, 10);
			if (v != 1)
				FAIL(AD_EVERSION, "%s:1: probe format version %lu; this program reads "
				    "version 1 (a newer autodidact wrote it?)", s->path, v);
			continue;
		}
		if (n == 0 || line[0] == '#')
			continue;
		if (strspn(line, " \t") == n)
			continue;
		if (line[0] == '[') {
			if (strcmp(line, "[pairs]") == 0) sec = SEC_PAIRS;
			else if (strcmp(line, "[sets]") == 0) sec = SEC_SETS;
			else if (strcmp(line, "[weat]") == 0) sec = SEC_WEAT;
			else if (strcmp(line, "[templates]") == 0) sec = SEC_TEMPLATES;
			else
				FAIL(AD_EFORMAT, "%s:%zu: unknown section '%s'; the sections are [pairs], "
				    "[sets], [weat] and [templates]", s->path, lineno, line);
			continue;
		}
		tsv_split(line, &t);
		switch (sec) {
		case SEC_TOP:
			if (t.nf != 2 || (strcmp(t.f[0], "name") != 0 && strcmp(t.f[0], "about") != 0))
				FAIL(AD_EFORMAT, "%s:%zu: expected 'name<TAB>NAME', 'about<TAB>TEXT' or a "
				    "[section] line", s->path, lineno);
			if (t.f[0][0] == 'n') {
				ad_free(s->name);
				if ((s->name = ad_strdup(t.f[1])) == NULL) OOM();
			} else {
				ad_free(s->about);
				if ((s->about = ad_strdup(t.f[1])) == NULL) OOM();
			}
			break;
		case SEC_PAIRS: {
			struct probe_pair *pr;
			if (t.nf != 3)
				FAIL(AD_EFORMAT, "%s:%zu: a pair is 3 tab-separated fields (stereotypical "
				    "sentence, anti-stereotypical sentence, category); found %zu",
				    s->path, lineno, t.nf);
			if (*t.f[0] == '\0' || *t.f[1] == '\0' || *t.f[2] == '\0')
				FAIL(AD_EFORMAT, "%s:%zu: an empty field in a pair", s->path, lineno);
			if (strcmp(t.f[0], t.f[1]) == 0)
				FAIL(AD_EFORMAT, "%s:%zu: the two sentences of a pair are the same",
				    s->path, lineno);
			if (grow(&s->pairs, s->npairs, &cpairs, sizeof *s->pairs) != 0) OOM();
			pr = &s->pairs[s->npairs++];
			pr->more = ad_strdup(t.f[0]);
			pr->less = ad_strdup(t.f[1]);
			pr->category = ad_strdup(t.f[2]);
			pr->direction = PROBE_DIR_NONE;
			pr->line = lineno;
			if (!pr->more || !pr->less || !pr->category) OOM();
			break;
		}
		case SEC_SETS: {
			struct probe_wordset *ws;
			char *w, *save = NULL;
			size_t cw = 0;
			if (t.nf != 2)
				FAIL(AD_EFORMAT, "%s:%zu: a set is NAME<TAB>WORD WORD ...", s->path, lineno);
			if (find_set(s, t.f[0]) != SIZE_MAX)
				FAIL(AD_EFORMAT, "%s:%zu: set '%s' is defined twice", s->path, lineno,
				    t.f[0]);
			if (grow(&s->sets, s->nsets, &csets, sizeof *s->sets) != 0) OOM();
			ws = &s->sets[s->nsets++];
			memset(ws, 0, sizeof *ws);
			ws->line = lineno;
			if ((ws->name = ad_strdup(t.f[0])) == NULL) OOM();
			for (w = strtok_r(t.f[1], " ", &save); w; w = strtok_r(NULL, " ", &save)) {
				if (grow(&ws->words, ws->n, &cw, sizeof *ws->words) != 0) OOM();
				if ((ws->words[ws->n++] = ad_strdup(w)) == NULL) OOM();
			}
			if (ws->n == 0)
				FAIL(AD_EDATA, "%s:%zu: set '%s' is empty", s->path, lineno, ws->name);
			break;
		}
		case SEC_WEAT: {
			struct probe_weat_spec *ws;
			if (t.nf != 5)
				FAIL(AD_EFORMAT, "%s:%zu: a WEAT test is NAME<TAB>X<TAB>Y<TAB>A<TAB>B "
				    "(names of sets); found %zu fields", s->path, lineno, t.nf);
			if (grow(&s->weats, s->nweats, &cweats, sizeof *s->weats) != 0) OOM();
			ws = &s->weats[s->nweats++];
			memset(ws, 0, sizeof *ws);
			ws->line = lineno;
			if ((ws->name = ad_strdup(t.f[0])) == NULL) OOM();
			for (int k = 0; k < 4; k++) {
				if (grow(&refs, nrefs, &crefs, sizeof *refs) != 0) OOM();
				refs[nrefs].name = ad_strdup(t.f[1 + k]);
				refs[nrefs].line = lineno;
				refs[nrefs].owner = s->nweats - 1;
				refs[nrefs].kind = k;
				if (refs[nrefs++].name == NULL) OOM();
			}
			break;
		}
		case SEC_TEMPLATES:
			if (strcmp(t.f[0], "neutral") == 0 && t.nf == 2 && *t.f[1] != '\0') {
				ad_free(s->neutral);
				if ((s->neutral = ad_strdup(t.f[1])) == NULL) OOM();
			} else if (strcmp(t.f[0], "poles") == 0 && t.nf == 3) {
				for (int k = 0; k < 2; k++) {
					if (grow(&refs, nrefs, &crefs, sizeof *refs) != 0) OOM();
					refs[nrefs].name = ad_strdup(t.f[1 + k]);
					refs[nrefs].line = lineno;
					refs[nrefs].kind = 5 + k;
					if (refs[nrefs++].name == NULL) OOM();
				}
				s->has_poles = 1;
			} else if (strcmp(t.f[0], "targets") == 0 && t.nf == 3 && *t.f[1] != '\0') {
				struct probe_target_group *g;
				if (grow(&s->groups, s->ngroups, &cgroups, sizeof *s->groups) != 0) OOM();
				g = &s->groups[s->ngroups++];
				g->line = lineno;
				if ((g->category = ad_strdup(t.f[1])) == NULL) OOM();
				if (grow(&refs, nrefs, &crefs, sizeof *refs) != 0) OOM();
				refs[nrefs].name = ad_strdup(t.f[2]);
				refs[nrefs].line = lineno;
				refs[nrefs].owner = s->ngroups - 1;
				refs[nrefs].kind = 4;
				if (refs[nrefs++].name == NULL) OOM();
			} else if (strcmp(t.f[0], "template") == 0 && t.nf == 2) {
				if (grow(&s->templates, s->ntemplates, &ctmpl, sizeof *s->templates) != 0)
					OOM();
				rc = parse_template(&s->templates[s->ntemplates++], t.f[1], s->path, lineno,
				    e);
				if (rc != 0)
					goto out;
			} else {
				FAIL(AD_EFORMAT, "%s:%zu: expected 'neutral<TAB>WORD', 'poles<TAB>SET<TAB>SET', "
				    "'targets<TAB>CATEGORY<TAB>SET' or 'template<TAB>TEXT'", s->path,
				    lineno);
			}
			break;
		}
	}
	/* Resolve set names now that every set is known. */
	for (size_t i = 0; i < nrefs; i++) {
		size_t k = find_set(s, refs[i].name);
		if (k == SIZE_MAX)
			FAIL(AD_EFORMAT, "%s:%zu: no set named '%s' in [sets]", s->path, refs[i].line,
			    refs[i].name);
		switch (refs[i].kind) {
		case 0: s->weats[refs[i].owner].x = k; break;
		case 1: s->weats[refs[i].owner].y = k; break;
		case 2: s->weats[refs[i].owner].a = k; break;
		case 3: s->weats[refs[i].owner].b = k; break;
		case 4: s->groups[refs[i].owner].set = k; break;
		default: s->poles[refs[i].kind - 5] = k; break;
		}
	}
	if (s->ntemplates > 0 && s->ngroups == 0)
		FAIL(AD_EDATA, "%s: templates but no 'targets' line in [templates]", s->path);
	if (s->ngroups > 0 && s->ntemplates == 0)
		FAIL(AD_EDATA, "%s: targets but no 'template' line in [templates]", s->path);
	if (s->npairs == 0 && s->nweats == 0 && s->ntemplates == 0)
		FAIL(AD_EDATA, "%s: no probes: the file has no pairs, WEAT tests or templates",
		    s->path);
	if (s->neutral == NULL && (s->neutral = ad_strdup("person")) == NULL)
		OOM();
	if (s->has_poles) {
		s->pole_name[0] = ad_strdup(s->sets[s->poles[0]].name);
		s->pole_name[1] = ad_strdup(s->sets[s->poles[1]].name);
	} else if (s->ntemplates > 0) {
		s->pole_name[0] = ad_strdup(s->templates[0].attr[0]);
		s->pole_name[1] = ad_strdup(s->templates[0].attr[1]);
	}
	if (s->ntemplates > 0 && (s->pole_name[0] == NULL || s->pole_name[1] == NULL))
		OOM();
out:
	for (size_t i = 0; i < nrefs; i++)
		ad_free(refs[i].name);
	ad_free(refs);
	ad_free(line);
	return rc;
#undef FAIL
#undef OOM
}

int
probe_set_parse(struct probe_set **out, const char *data, size_t len, const char *path,
    struct ad_error *e)
{
	struct probe_set *s;
	const char       *nl;
	int               rc;

	if ((s = ad_calloc(1, sizeof *s)) == NULL || (s->path = ad_strdup(path)) == NULL) {
		ad_free(s);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
	}
	s->hash = ad_hash64(data, len, 0);
	/* A UTF-8 byte-order mark is skipped. */
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) {
		data += 3;
		len -= 3;
	}
	nl = memchr(data, '\n', len);
	if (len == 0) {
		rc = ad_fail(e, AD_EFORMAT, "%s: empty file, not a probe file", path);
	} else if (len >= 20 && memcmp(data, "# autodidact probes ", 20) == 0) {
		s->format = "autodidact probes 1";
		rc = read_ours(s, data, len, e);
	} else {
		/* A CSV header naming the CrowS-Pairs columns. */
		size_t hl = nl ? (size_t)(nl - data) : len;
		char  *head = ad_strndup(data, hl);
		if (head == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
		} else if (strstr(head, "sent_more") && strstr(head, "sent_less") && strchr(head, ',')) {
			s->format = "CrowS-Pairs CSV";
			rc = read_crows(s, data, len, e);
		} else {
			rc = ad_fail(e, AD_EFORMAT,
			    "%s:1: unknown probe file format: the first line must be "
			    "'# autodidact probes 1' or a CrowS-Pairs CSV header "
			    "(sent_more,sent_less,stereo_antistereo,bias_type)", path);
		}
		ad_free(head);
	}
	if (rc == 0 && s->name == NULL && (s->name = default_name(path)) == NULL)
		rc = ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
	if (rc != 0) {
		probe_set_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
probe_set_read(struct probe_set **out, const char *path, struct ad_error *e)
{
	struct ad_map m;
	int           rc;

	if ((rc = ad_map_file(path, &m, e)) != 0)
		return rc;
	rc = probe_set_parse(out, (const char *)m.data, m.size, path, e);
	ad_map_release(&m);
	return rc;
}

/* Append the names of the *.probe files in dir to list (for the error). */
static void
list_sets(const char *dir, size_t dlen, char *list, size_t cap)
{
	char  d[4096];
	DIR  *dp;
	struct dirent *de;

	if (dlen >= sizeof d)
		return;
	memcpy(d, dir, dlen);
	d[dlen] = '\0';
	if ((dp = opendir(d)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		size_t n = strlen(de->d_name), l = strlen(list);
		if (n > 6 && strcmp(de->d_name + n - 6, ".probe") == 0 && l + n + 3 < cap)
			snprintf(list + l, cap - l, "%s%.*s", l ? ", " : "", (int)(n - 6), de->d_name);
	}
	closedir(dp);
}

int
probe_set_find(const char *name, const char *dirs, char **path, struct ad_error *e)
{
	char        buf[4096], list[1024] = "";
	const char *d = dirs;

	if (strchr(name, '/') != NULL || access(name, F_OK) == 0 || dirs == NULL) {
		if ((*path = ad_strdup(name)) == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory");
		return 0;
	}
	while (d != NULL && *d != '\0') {
		const char *colon = strchr(d, ':');
		size_t      dl = colon ? (size_t)(colon - d) : strlen(d);
		if (dl > 0) {
			for (int k = 0; k < 2; k++) {
				snprintf(buf, sizeof buf, "%.*s/%s%s", (int)dl, d, name, k ? "" : ".probe");
				if (access(buf, R_OK) == 0) {
					if ((*path = ad_strdup(buf)) == NULL)
						return ad_fail(e, AD_ENOMEM, "out of memory");
					return 0;
				}
			}
			list_sets(d, dl, list, sizeof list);
		}
		d = colon ? colon + 1 : NULL;
	}
	return ad_fail(e, AD_EIO, "%s: no such file, and no shipped probe set of that name "
	    "(shipped: %s; looked in %s)", name, *list ? list : "none found", dirs);
}

size_t
probe_words(const char *text, size_t len, char *buf,
    void (*fn)(const char *w, size_t n, size_t pos, void *ctx), void *ctx)
{
	size_t i = 0, nw = 0;

	while (i < len) {
		size_t j;
		unsigned char ch = (unsigned char)text[i];
		int word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch >= 0x80;
		if (!word) {
			i++;
			continue;
		}
		for (j = i; j < len; j++) {
			unsigned char c = (unsigned char)text[j];
			if (c >= 'A' && c <= 'Z')
				c = (unsigned char)(c - 'A' + 'a');
			else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80))
				break;
			buf[j] = (char)c;
		}
		fn(buf + i, j - i, nw++, ctx);
		i = j;
	}
	return nw;
}
