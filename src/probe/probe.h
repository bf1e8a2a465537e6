/*
 * probe.h — bias probes: what social associations a model absorbed from its
 * text, with what certainty, measured beside the same association counted
 * in the text itself.
 *
 * Three kinds of probe, each run through the model interface (lm.h) only,
 * so an n-gram model, an ARPA file and a transformer are probed alike:
 *
 *   pairs      CrowS-Pairs (Nangia et al., EMNLP 2020): two sentences that
 *              differ only in the group mentioned; the score is the share of
 *              pairs in which the model gives the stereotypical sentence the
 *              higher likelihood (50% = no preference). Two variants: the
 *              log-likelihood of the whole sentence (the headline), and the
 *              log-likelihood of only the tokens both sentences share (the
 *              paper's conditioning on the unmodified tokens, adapted to a
 *              causal model).
 *   weat       the Word Embedding Association Test (Caliskan, Bryson &
 *              Narayanan, Science 2017) on the model's token embeddings
 *              (lm->vt->embed; a word of several tokens is the mean of its
 *              tokens), with a corpus, on the corpus's own PPMI
 *              co-occurrence vectors, and on published word vectors read
 *              from a file (vectors.c: GloVe or word2vec text).
 *   templates  the prior-corrected log-probability ratio of Kurita et al.
 *              (2019): log p(a|T(t))/p(b|T(t)) − log p(a|T(n))/p(b|T(n)) for
 *              a target t, a template T, two attribute words a, b and a
 *              neutral word n in place of the target. With a corpus, the
 *              same association is counted in the text (attribute words near
 *              the target), so each model's score stands beside the data's.
 *
 * Statistics (stats.c): exact binomial and sign tests, percentile bootstrap
 * intervals, the WEAT permutation test (exact enumeration when small,
 * seeded Monte Carlo otherwise), Student's t, Holm and Benjamini–Hochberg
 * adjustment.
 * Every resampling draws from PCG32 with the report's seed and a stream
 * number stored beside the number it produced, so a report is reproducible.
 *
 * Invariants: probe sets are immutable after reading; a report owns all its
 * strings; library code never prints (report writers write to the FILE they
 * are given). Workload: tens of probe sets of hundreds of items, a handful
 * of models, corpora of up to a few gigabytes streamed once.
 */
#ifndef AD_PROBE_H
#define AD_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

struct lm;
struct ad_progress;

/* ======================================================================== */
/* Statistics (stats.c)                                                     */
/* ======================================================================== */

/*
 * Exact two-sided binomial test of k successes in n trials against success
 * probability p0: the sum of the probabilities of every outcome no more
 * likely than k (the "minlike" rule of R's binom.test), with a relative
 * tolerance of 1e-7 for ties. 1 when n = 0.
 */
double probe_binom_test(uint64_t k, uint64_t n, double p0);
/* The exact two-sided sign test: k of n untied pairs went one way (p0 = 1/2). */
double probe_sign_test(uint64_t k, uint64_t n);
/* ln C(n, k), and C(n, k) as a double (exact below 2^53). */
double probe_lchoose(uint64_t n, uint64_t k);
double probe_choose(uint64_t n, uint64_t k);

double probe_mean(const double *v, size_t n);
/* Sample standard deviation (n − 1 in the denominator); NAN when n < 2. */
double probe_sd(const double *v, size_t n);
/* The q-quantile of sorted v (n > 0), linear between order statistics (R type 7). */
double probe_quantile_sorted(const double *v, size_t n, double q);

/* How resampling is done: the seed, and counts. */
struct probe_resampling {
	uint64_t seed;          /* the report's seed; each test has its own stream */
	uint32_t bootstrap;     /* bootstrap resamples (default 10000) */
	uint32_t permutations;  /* Monte Carlo permutations (default 100000) */
	uint64_t max_exact;     /* enumerate exactly up to this many arrangements */
};

/*
 * A statistic of a resample: idx[0..n) are indices into the caller's items
 * (drawn with replacement). NAN means "undefined for this resample" (e.g. a
 * zero standard deviation); such resamples are left out of the interval.
 */
typedef double (*probe_statfn)(const size_t *idx, size_t n, void *ctx);

/*
 * Percentile bootstrap (Efron & Tibshirani 1993, ch. 13): B resamples of n
 * items with replacement, drawn from PCG32 (seed, stream); [*lo, *hi] is the
 * central `level` interval of the statistic. *fraction_le0 (may be NULL)
 * receives the share of defined resamples with a statistic <= 0, from
 * which a two-sided bootstrap p-value is 2·min(f, 1 − f).
 */
int probe_bootstrap(probe_statfn f, void *ctx, size_t n, uint32_t B, uint64_t seed,
                    uint64_t stream, double level, double *lo, double *hi,
                    double *fraction_le0, struct ad_error *e);

/*
 * One-sided permutation test of the WEAT statistic (Caliskan et al. 2017):
 * v[0..nx) belong to X and v[nx..nx+ny) to Y; the statistic is
 * sum_X v − sum_Y v, and p is the share of re-partitions of X∪Y into sets of
 * sizes nx and ny whose statistic is strictly greater than the observed one
 * (the paper's definition: the observed partition and ties with it, within
 * a rounding tolerance, are not counted, so an exact p can be 0). Exact
 * enumeration of all C(nx+ny, nx) partitions when that is <= max_exact
 * (*exact = 1; 12,870 for 8 + 8 words); otherwise r->permutations random
 * partitions, p = (1 + hits) / (1 + draws) (Phipson & Smyth 2010: the
 * observed partition counts as a draw). *count: partitions used. *min_p:
 * the step of p, 1 / C(nx+ny, nx) when exact (with no association at all,
 * p = 0 comes up once in C(nx+ny, nx) partitions).
 */
int probe_perm_test(const double *v, size_t nx, size_t ny, const struct probe_resampling *r,
                    uint64_t stream, double *p, int *exact, uint64_t *count, double *min_p,
                    struct ad_error *e);
/* The same by brute force over all 2^(nx+ny) subsets (nx + ny <= 24): the oracle. */
double probe_perm_test_ref(const double *v, size_t nx, size_t ny);

/*
 * Student's t: the two-sided p-value P(|T| >= |t|) with df degrees of
 * freedom, and the t with P(|T| >= t) = 1 − level (the quantile for a
 * two-sided `level` interval). Through the regularized incomplete beta
 * function I_x(a, b), also exposed for tests.
 */
double probe_t_p(double t, double df);
double probe_t_quantile(double level, double df);
double probe_ibeta(double x, double a, double b);
/*
 * One-sample t-test of mean v = 0 (two-sided) with its 95% interval
 * mean ± t_{0.975, n−1} sd / sqrt(n). -1 (and NANs) when n < 2.
 */
int probe_t_test(const double *v, size_t n, double *mean, double *lo, double *hi, double *p);
/*
 * Welch's two-sample t-test of mean x = mean y (two-sided; unequal
 * variances, Welch–Satterthwaite degrees of freedom, Welch 1947): the
 * difference mean x − mean y, its 95% interval, p and df. -1 (and NANs)
 * when either sample has fewer than 2 values.
 */
int probe_welch_test(const double *x, size_t nx, const double *y, size_t ny, double *diff,
                     double *lo, double *hi, double *p, double *df);

/* Two-sided p-value of a standard normal deviate z. */
double probe_normal_p(double z);

enum probe_correction { PROBE_HOLM = 0, PROBE_BH = 1, PROBE_NONE = 2 };

/*
 * Adjust m p-values for multiple comparisons: Holm's step-down (1979,
 * controls the family-wise error under any dependence) or Benjamini &
 * Hochberg's step-up (1995, controls the false discovery rate under
 * independence or positive dependence). NAN entries are not tests: they are
 * left out of m and stay NAN. adj may equal p.
 */
int probe_adjust(const double *p, size_t m, enum probe_correction c, double *adj,
                 struct ad_error *e);
const char *probe_correction_name(enum probe_correction c);

/* Cosine of two vectors; NAN when either is zero. */
double probe_cosine(const float *a, const float *b, size_t d);

/*
 * WEAT on a matrix of cosines: cos is (nx + ny) rows, the target words X
 * then Y, by (na + nb) columns, the attribute words A then B. With
 * s(w) = mean_A cos(w, a) − mean_B cos(w, b), the effect size is
 * d = (mean_X s − mean_Y s) / sd_{X∪Y} s (sample sd), and p is the one-sided
 * permutation p-value of sum_X s − sum_Y s. The interval bootstraps d by
 * resampling X, Y, A and B each with replacement.
 */
struct probe_weat_stats {
	double   d;           /* effect size */
	double   stat;        /* sum_X s − sum_Y s */
	double   p;           /* one-sided permutation p */
	int      exact;
	uint64_t partitions;
	double   min_p;
	double   lo, hi;      /* 95% bootstrap interval of d */
};
int probe_weat_stats(const double *cos, size_t nx, size_t ny, size_t na, size_t nb,
                     const struct probe_resampling *r, uint64_t stream,
                     struct probe_weat_stats *out, struct ad_error *e);
/* d alone (no resampling); NAN when the pooled sd is 0. */
double probe_weat_effect(const double *cos, size_t nx, size_t ny, size_t na, size_t nb);
/*
 * Bootstrap of the difference d(cos1) − d(cos2) of two matrices of the same
 * shape, resampling the same words for both (a paired bootstrap): interval
 * and two-sided bootstrap p.
 */
int probe_weat_diff(const double *cos1, const double *cos2, size_t nx, size_t ny, size_t na,
                    size_t nb, const struct probe_resampling *r, uint64_t stream,
                    double *lo, double *hi, double *p, struct ad_error *e);

/* ======================================================================== */
/* Probe sets (read.c)                                                      */
/* ======================================================================== */

/*
 * A sentence pair. `more` is the more stereotypical sentence and `less` the
 * other, whatever the direction: in the CrowS-Pairs CSV they are sent_more
 * and sent_less in every row, and its stereo_antistereo column only says
 * whether the stereotype is about the disadvantaged group (stereo) or is
 * violated by it (antistereo), as the scorer of Nangia et al. (metric.py)
 * reads it: a pair counts for the stereotype when sent_more scores higher,
 * in both directions.
 */
enum probe_direction {
	PROBE_DIR_NONE = 0,       /* our format: no label */
	PROBE_DIR_STEREO = 1,     /* CrowS "stereo" */
	PROBE_DIR_ANTISTEREO = 2  /* CrowS "antistereo" */
};

struct probe_pair {
	char   *more;       /* the more stereotypical sentence (sent_more) */
	char   *less;       /* the less stereotypical one (sent_less) */
	char   *category;   /* bias type ("gender", "race-color", ...) */
	enum probe_direction direction;
	size_t  line;       /* where it was read */
};

struct probe_wordset {
	char   *name;
	char  **words;      /* (n) */
	size_t  n;
	size_t  line;
};

struct probe_weat_spec {
	char   *name;
	size_t  x, y, a, b; /* indices into the set's sets */
	size_t  line;
};

/*
 * A template, split at its slots: head {target} mid {a|b} (the rest of the
 * line after the attribute is kept for display but never scored: a causal
 * model cannot condition on words that come after).
 */
struct probe_template {
	char   *text;       /* as written */
	char   *head, *mid; /* text before the target, between target and attribute */
	char   *attr[2];    /* the two attribute words */
	size_t  line;
};

struct probe_target_group {
	char   *category;
	size_t  set;        /* index into sets */
	size_t  line;
};

struct probe_set {
	char   *path;
	char   *name;
	char   *about;
	const char *format;          /* "autodidact probes 1" or "CrowS-Pairs CSV" */
	uint64_t hash;               /* XXH64 of the file */
	struct probe_pair      *pairs;     size_t npairs;
	struct probe_wordset   *sets;      size_t nsets;
	struct probe_weat_spec *weats;     size_t nweats;
	struct probe_template  *templates; size_t ntemplates;
	struct probe_target_group *groups; size_t ngroups;
	char   *neutral;             /* the word in place of the target (default "person") */
	size_t  poles[2];            /* sets whose words the corpus counts as attributes */
	int     has_poles;
	char   *pole_name[2];        /* names of the two attribute poles */
};

/*
 * Read a probe file: our format (first line "# autodidact probes 1") or the
 * CrowS-Pairs CSV as published (header with sent_more, sent_less,
 * stereo_antistereo and bias_type; RFC 4180 quoting, including quoted
 * commas, doubled quotes and newlines). Errors name the file and line.
 */
int  probe_set_read(struct probe_set **out, const char *path, struct ad_error *e);
int  probe_set_parse(struct probe_set **out, const char *data, size_t len, const char *path,
                     struct ad_error *e);
void probe_set_free(struct probe_set *s);

/*
 * Find a probe set by name: an existing file is itself; otherwise, a name
 * without '/' is looked up as NAME.probe (then NAME) in each directory of
 * the colon-separated list dirs. *path is a new string (ad_free it).
 */
int probe_set_find(const char *name, const char *dirs, char **path, struct ad_error *e);

/*
 * A word-level split of text used by the corpus side: maximal runs of ASCII
 * letters and digits and of non-ASCII bytes, ASCII lower-cased. Calls fn for
 * each word (pointer into buf, which holds the lower-cased copy).
 */
size_t probe_words(const char *text, size_t len, char *buf,
                   void (*fn)(const char *w, size_t n, size_t pos, void *ctx), void *ctx);

/* ======================================================================== */
/* The corpus side (corpus.c)                                               */
/* ======================================================================== */

/*
 * One pass over a corpus, one line at a time, counting: every word's
 * frequency; for each focus word f and each word w, the number of pairs of
 * occurrences within `window` words of each other on the same line (for
 * PPMI vectors); and, for template targets, each occurrence of a word that
 * lies within `window` words of some occurrence of the target on its line,
 * counted once (window 0: anywhere on the line). The corpus text is never
 * held in memory.
 */
struct probe_corpus;

int  probe_corpus_count(struct probe_corpus **out, const char *path, const char *const *focus,
                        size_t nfocus, unsigned window, struct ad_progress *progress,
                        struct ad_error *e);
/* The same over a buffer (tests). */
int  probe_corpus_count_mem(struct probe_corpus **out, const char *text, size_t len,
                            const char *const *focus, size_t nfocus, unsigned window,
                            struct ad_error *e);
void probe_corpus_free(struct probe_corpus *c);

uint64_t probe_corpus_hash(const struct probe_corpus *c);    /* XXH64 of the bytes */
uint64_t probe_corpus_lines(const struct probe_corpus *c);
uint64_t probe_corpus_tokens(const struct probe_corpus *c);  /* words */
uint64_t probe_corpus_bytes(const struct probe_corpus *c);
unsigned probe_corpus_window(const struct probe_corpus *c);
/* Occurrences of a word (lower-cased comparison). */
uint64_t probe_corpus_freq(const struct probe_corpus *c, const char *word);
/*
 * Occurrences of word within the window of target (counted once each; the
 * template association count). target must be a focus word.
 */
uint64_t probe_corpus_near(const struct probe_corpus *c, const char *target, const char *word);
/* Pair count #(f, w) within the window (the PPMI count). f must be a focus word. */
uint64_t probe_corpus_pairs(const struct probe_corpus *c, const char *f, const char *w);
/*
 * Cosine of the PPMI vectors of two focus words: PPMI(f, c) =
 * max(0, ln(#(f,c) · D / (#f · #c))) with #x the pairs that involve x and
 * D all pairs (Church & Hanks 1990; Bullinaria & Levy 2007). NAN when a
 * word is absent or has no context.
 */
double probe_corpus_ppmi_cos(const struct probe_corpus *c, const char *f1, const char *f2);

/* ======================================================================== */
/* Word vectors from a file (vectors.c)                                     */
/* ======================================================================== */

/*
 * Word vectors as published, a WEAT source of their own: GloVe's text format
 * (a word and d numbers per line) or word2vec's (the same after a first line
 * "COUNT DIM"), told apart by content; either gzip-compressed (by its magic
 * bytes) when built with zlib. Only the words listed are kept (words NULL:
 * every word); a listed word absent from the file is simply not found.
 * Words match exactly, case included. Errors name the file and the line.
 * progress (may be NULL) counts the bytes of the file.
 */
struct probe_vectors;

int  probe_vectors_read(struct probe_vectors **out, const char *path, const char *const *words,
                        size_t nwords, struct ad_progress *progress, struct ad_error *e);
/* The same over a buffer (tests); path names it in messages. */
int  probe_vectors_parse(struct probe_vectors **out, const char *data, size_t len,
                         const char *path, const char *const *words, size_t nwords,
                         struct ad_error *e);
void probe_vectors_free(struct probe_vectors *v);
/* The vector of word (dim floats, owned by v), or NULL when it was not read. */
const float *probe_vectors_find(const struct probe_vectors *v, const char *word);
const char  *probe_vectors_path(const struct probe_vectors *v);
const char  *probe_vectors_format(const struct probe_vectors *v);  /* "GloVe text, gzip" */
uint64_t     probe_vectors_hash(const struct probe_vectors *v);    /* XXH64 of the text */
uint64_t     probe_vectors_count(const struct probe_vectors *v);   /* vectors in the file */
uint32_t     probe_vectors_dim(const struct probe_vectors *v);
/*
 * The words of every WEAT test of the sets, as written (unique): what a
 * vector file must be searched for. Free with probe_focus_free.
 */
int  probe_weat_words(const struct probe_set *const *sets, size_t nsets, char ***words,
                      size_t *n, struct ad_error *e);

/* ======================================================================== */
/* Running probes and the report (run.c)                                    */
/* ======================================================================== */

struct probe_options {
	struct probe_resampling rs;
	double   alpha;          /* significance level after correction (0.05) */
	enum probe_correction correction;
	unsigned window;         /* corpus co-occurrence window, words (0: the line) */
	uint64_t rare;           /* warn about probe words seen fewer times (10) */
};
void probe_options_default(struct probe_options *o);

/* One reported number with its uncertainty. */
struct probe_num {
	double   value;
	double   lo, hi;       /* 95% interval; NAN when there is none */
	double   p;            /* p-value of its test; NAN when untested */
	double   p_adj;        /* after the report's multiple-comparison correction */
	int      significant;  /* p_adj < alpha */
	int      exact;        /* p exact (enumeration, binomial), not Monte Carlo */
	double   min_p;        /* the smallest p its test could give */
	uint64_t stream;       /* PCG32 stream of its resampling (0: none) */
	const char *test;      /* the name of its test */
};

#define PROBE_CORPUS SIZE_MAX   /* a source that is the corpus, not a model */

/*
 * The CrowS-Pairs score as the scorer published with the data set computes
 * it (nyu-mll/crows-pairs, metric.py): each sentence's score is rounded to
 * 3 decimals; equal rounded scores are a tie ("neutral"). The metric is
 * 100 · (pairs where sent_more scores higher) / N with N every pair, so a
 * tie counts 0 and stays in N; the stereo and antistereo scores are the
 * same share within the rows of that direction, but over their untied
 * pairs only (metric.py leaves ties out of those two denominators).
 */
struct probe_crows_score {
	uint64_t n;                /* pairs (N) */
	uint64_t more;             /* sent_more higher after rounding */
	uint64_t neutral;          /* tied after rounding */
	double   metric;           /* 100 more / n; NAN when n = 0 */
	uint64_t dir_n[2];         /* untied pairs of stereo [0] and antistereo [1] rows */
	uint64_t dir_more[2];      /* of those, sent_more higher */
	double   dir_score[2];     /* 100 dir_more / dir_n; NAN when dir_n = 0 */
};

/*
 * metric.py's comparison of two sentence scores: +1 when `more` is higher
 * after both are rounded to 3 decimals as Python's round(x, 3) rounds,
 * −1 when lower, 0 for a tie.
 */
int probe_crows_compare(double more, double less);

/* Paired sentences: one row per (set, model, variant, category or "all"). */
struct probe_pairs_row {
	size_t   set, model;
	int      variant;          /* 0: whole sentence, 1: shared tokens (the headline of a
	                            * causal model is 0, of a masked model 1) */
	const char *category;      /* NULL: all pairs (borrowed from the set) */
	uint64_t n;                /* pairs scored */
	/* The model's preferences (not the data set's labels): */
	uint64_t more;             /* ln p(more stereotypical) > ln p(less) */
	uint64_t less;             /* ln p(less stereotypical) > ln p(more) */
	uint64_t ties;             /* exactly equal */
	uint64_t skipped;          /* not scored: a changed word is <unk> to the model */
	uint64_t absent;           /* scored, but a changed word never occurs in the corpus */
	uint64_t uneven;           /* pairs whose sentences differ in token count */
	struct probe_num percent;  /* % preferring the more stereotypical (ties half) */
	struct probe_num delta;    /* mean ln p(more) − ln p(less), nats */
	struct probe_crows_score crows; /* the same pairs as metric.py scores them */
};

/* WEAT: one row per (set, test, source). */
struct probe_weat_row {
	size_t   set, test, source;
	size_t   n[4];             /* words used in X, Y, A, B */
	double   amp_d[2];         /* model d and corpus d on the shared words */
	double   tokens[4];        /* mean tokens per word (models) */
	char    *dropped;          /* words left out and why, or NULL */
	int      scored;           /* 0: not scored (reason in dropped) */
	uint64_t partitions;
	struct probe_num d;
	struct probe_num amp;      /* model d − corpus d on the shared words (models) */
};

/* Templates: one row per (set, source, target word). */
struct probe_target_row {
	size_t   set, source, group;
	const char *word;          /* borrowed from the set */
	int      scored;           /* 0: skipped (reason) */
	const char *reason;
	uint64_t count[2];         /* corpus: attribute words of each pole near it */
	uint64_t freq;             /* corpus frequency of the word (0 without corpus) */
	struct probe_num score;    /* prior-corrected log ratio, nats */
	struct probe_num amp;      /* model − corpus (models, with a corpus) */
};

/* Templates: one row per (set, source, target group). */
struct probe_group_row {
	size_t   set, source, group;
	uint64_t n;                /* targets scored */
	/*
	 * Mean target score. When the set has a group named "neutral" (the
	 * reference), the mean is descriptive (interval, no test): a model may
	 * prefer one pole after a template whatever the occupation, and that
	 * shared offset is not an association. The association is then the
	 * contrast with the reference group.
	 */
	struct probe_num mean;
	struct probe_num contrast; /* mean − the reference group's mean (Welch) */
	struct probe_num amp;      /* mean(model − corpus) over targets */
};

struct probe_model_info {
	char    *path;
	char     kind[32];
	char     description[256];
	uint64_t params;
	uint64_t hash;             /* XXH64 of the model file */
	uint64_t text_hash;        /* its training text (struct lm); */
	uint64_t text_bytes;       /* 0: the file does not record it */
	uint32_t V;
	int      has_embed;
	/*
	 * 1: a masked (bidirectional) model, scored by the rules its probes
	 * were designed for: pairs by the masked pseudo-log-likelihood of the
	 * shared tokens (Nangia et al. 2020; the headline is then the shared-
	 * token row, variant 1), templates by Kurita et al.'s increased log
	 * probability. 0: a left-to-right model (whole sentence headline).
	 */
	int      masked;
};

struct probe_report {
	struct probe_options opt;
	struct probe_model_info *models; size_t nmodels;
	/*
	 * models[nmodels .. nmodels + nvectors) are the word-vector files
	 * (kind "vectors"): sources of WEAT rows only, after the models.
	 */
	size_t   nvectors;
	const struct probe_set **sets;   size_t nsets;   /* borrowed */
	int      has_corpus;
	char    *corpus_path;
	uint64_t corpus_hash, corpus_lines, corpus_tokens, corpus_bytes;
	struct probe_pairs_row  *pairs;   size_t npairs;
	struct probe_weat_row   *weat;    size_t nweat;
	struct probe_target_row *targets; size_t ntargets;
	struct probe_group_row  *groups;  size_t ngroups;
	char   **warnings;               size_t nwarnings;
	size_t   ntests;                 /* p-values in the correction family */
	uint64_t streams;                /* resampling streams used */
};

/*
 * Run every probe of every set on every model (and on the corpus when
 * corpus is not NULL), then adjust every p-value of the report together.
 * The sets are borrowed and must outlive the report.
 */
int  probe_run(struct probe_report **out, struct lm *const *models, size_t nmodels,
               const struct probe_set *const *sets, size_t nsets, const char *corpus_path,
               const struct probe_options *o, struct ad_progress *progress,
               struct ad_error *e);
/* The same with a corpus already counted (tests); corpus may be NULL. */
int  probe_run_counted(struct probe_report **out, struct lm *const *models, size_t nmodels,
                       const struct probe_set *const *sets, size_t nsets,
                       const struct probe_corpus *corpus, const struct probe_options *o,
                       struct ad_progress *progress, struct ad_error *e);
void probe_report_free(struct probe_report *r);
/*
 * probe_run with word-vector files as WEAT sources of their own (their rows
 * after the models', before the corpus's). The vectors are borrowed.
 */
int  probe_run_vectors(struct probe_report **out, struct lm *const *models, size_t nmodels,
                       const struct probe_vectors *const *vectors, size_t nvectors,
                       const struct probe_set *const *sets, size_t nsets,
                       const char *corpus_path, const struct probe_options *o,
                       struct ad_progress *progress, struct ad_error *e);

/*
 * The words a run needs counted in the corpus (WEAT words and template
 * targets, lower-cased, unique): an array of n strings, free with
 * probe_focus_free.
 */
int  probe_focus_words(const struct probe_set *const *sets, size_t nsets, char ***words,
                       size_t *n, struct ad_error *e);
void probe_focus_free(char **words, size_t n);

/*
 * Per-item model scores, exposed for tests: the whole-sentence and
 * shared-token log-likelihoods of a pair under m (set *skip when a token
 * that differs is <unk>; a masked model: probe_pair_score_masked of an
 * unlabelled row), and the uncorrected template log ratio
 * ln p(a | head target mid) − ln p(b | ...) (*skip: PROBE_SKIP_* bits; a
 * neutral word that is <unk> is fine: <unk> is a masked target). For a
 * masked model the template ratio is Kurita et al.'s (2019) bias score,
 * already prior-corrected: ILP(a) − ILP(b) with ILP(x) = ln p([MASK] = x |
 * the whole line with the target) − ln p([MASK] = x | the line with the
 * target masked too); a word of several tokens is masked by as many masks
 * and its pieces scored left to right, each with those after it masked.
 */
int probe_pair_score(const struct lm *m, const char *more, const char *less, double full[2],
                     double shared[2], size_t ntok[2], int *skip, struct ad_error *e);
#define PROBE_SKIP_TARGET    1   /* the target encodes to <unk> */
#define PROBE_SKIP_ATTRIBUTE 2   /* an attribute word encodes to <unk> */
int probe_template_ratio(const struct lm *m, const struct probe_template *t, const char *target,
                         double *ratio, int *skip, struct ad_error *e);
/*
 * The tokens two sequences share as CrowS-Pairs' scorer finds them
 * (metric.py's get_span): the items of the matching blocks of Python's
 * difflib.SequenceMatcher(None, a, b), autojunk included (align.c).
 * ma[0..na) and mb[0..nb) get 1 where the item is shared. The order
 * matters: difflib breaks ties by a, and its autojunk looks at b only.
 */
int probe_align_shared(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                       unsigned char *ma, unsigned char *mb, struct ad_error *e);
/*
 * A masked model's scores of a pair (metric.py's mask_unigram, Nangia et
 * al. 2020): each sentence is framed as a line ("\n" text "\n", the
 * newlines standing where BERT has [CLS] and [SEP]); the shared tokens are
 * probe_align_shared(sent1, sent2) with metric.py's sent1 the more
 * stereotypical sentence in a stereo (or unlabelled) row and the less
 * stereotypical one in an antistereo row; the first and the last shared
 * token (the framing newlines) are never masked, and every other one is
 * masked alone, its ln p given the rest summed into shared[k]. full[k] is
 * the pseudo-log-likelihood of every token between the newlines (Salazar et
 * al. 2020). [0] is the more stereotypical sentence, [1] the other. A
 * sentence longer than the model's window is scored in windows of
 * lm->context tokens centred on the masked one.
 */
int probe_pair_score_masked(const struct lm *m, const char *more, const char *less,
                            enum probe_direction dir, double full[2], double shared[2],
                            size_t ntok[2], int *skip, struct ad_error *e);
/* The embedding of a word: mean of its tokens' vectors (out: embed_dim floats). */
int probe_word_vector(const struct lm *m, const char *word, float *out, size_t *ntok,
                      int *skip, struct ad_error *e);

/* Report writers (report.c). Each writes the whole report to f. */
int probe_write_markdown(const struct probe_report *r, FILE *f, struct ad_error *e);
int probe_write_json(const struct probe_report *r, FILE *f, struct ad_error *e);
int probe_write_html(const struct probe_report *r, FILE *f, struct ad_error *e);

#endif
