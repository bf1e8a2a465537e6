/*
 * sweep.c — sweep_run: a grid of models on one split, each point trained
 * (by a child process, as compare does) or reused, its learning curve read
 * from its log, and the interpolation threshold measured. See sweep.h.
 *
 * The work directory holds, beside compare's files (train.txt, val.txt,
 * vocab-K.txt, ngramN-K.bin):
 *   train-F.txt              the first fraction F of the training split
 *   sweep-tf-K.bin           a transformer point; .ckpt an interrupted run's
 *                            checkpoint (resumed), .jsonl its learning curve,
 *                            .run its training cost
 *   sweep-rf-K.txt           a random-feature point's results
 *   MODEL.top1               a transformer or n-gram point's top-1 errors
 *                            (sw_top1), beside its model file
 * where K hashes the point's whole configuration, seeded with the hash of
 * its training text and the held-out text (compare_key).
 *
 * Parallelism. On a machine of a few cores the points of a sweep are small
 * models (widths of 8 to 128), whose steps are too short for OpenMP to
 * split well: two trainings at once on one thread each finish a grid
 * sooner than one at a time on two threads. So cfg->jobs trainings run at
 * once (the CLI's default: one per core, up to 2), each child given
 * threads / jobs threads, the largest points first (longest processing
 * time first: the last point to start is a short one). Random-feature
 * points are dense linear algebra that OpenMP splits well: they run one at
 * a time on every thread, in this process.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/hash.h"
#include "base/io.h"
#include "base/json.h"
#include "base/progress.h"
#include "bpe/bpe.h"
#include "compare/compare.h"
#include "compare/compare_impl.h"
#include "compare/sweep.h"
#include "data/data.h"
#include "lm/lm.h"
#include "nn/nn.h"
#include "rf/rf.h"

/* The default band above the training loss's floor (a share of its descent). */
#define SWEEP_INTERP_TOL 0.02

static void
sw_stage(const struct sweep_cfg *cfg, const char *fmt, ...) AD_PRINTF(2, 3);

static void
sw_stage(const struct sweep_cfg *cfg, const char *fmt, ...)
{
	char    what[160];
	va_list ap;

	if (cfg->on_stage == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	cfg->on_stage(cfg->hook_ctx, what);
}

/* The transformer of a point: the fixed shape with its width and depth. */
static struct gpt_config
sw_gpt_config(const struct sweep_cfg *cfg, uint32_t width, uint32_t depth, uint32_t V)
{
	struct gpt_config g = { depth, cfg->heads, width, cfg->context, V, V + 1 };

	return g;
}


/* Physical memory (or the cgroup's limit), or cfg's figure. */
static uint64_t
sw_memory(const struct sweep_cfg *cfg)
{
	int by_cgroup;

	if (cfg->mem_limit > 0)
		return cfg->mem_limit;
	return ad_memory_limit("/proc/self/cgroup", "/sys/fs/cgroup", &by_cgroup);
}

/* The first value listed twice in list (n), or 0. */
static uint32_t
sw_repeated(const uint32_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = i + 1; k < n; k++)
			if (list[i] == list[k])
				return list[i];
	return 0;
}

int
sweep_check(const struct sweep_cfg *cfg, uint32_t V, struct ad_error *e)
{
	size_t axis = cfg->model == SWEEP_TRANSFORMER ? cfg->nwidths * cfg->ndepths :
	    cfg->model == SWEEP_NGRAM ? cfg->norders : cfg->nfeatures;

	if (cfg->nfiles == 0 || cfg->out == NULL || cfg->self == NULL)
		return ad_fail(e, AD_EINVAL, "sweep: no corpus, work directory or program to run");
	if (axis == 0 || cfg->nfractions == 0)
		return ad_fail(e, AD_EINVAL, "the grid is empty: give at least one value in each of "
		    "%s and --fractions", cfg->model == SWEEP_TRANSFORMER ? "--widths, --depths" :
		    cfg->model == SWEEP_NGRAM ? "--orders" : "--features");
	if (!(cfg->label_noise >= 0 && cfg->label_noise <= 1))
		return ad_fail(e, AD_EINVAL, "--label-noise %g is outside [0, 1]: give the fraction "
		    "of training targets to replace", cfg->label_noise);
	if (cfg->label_noise > 0 && cfg->model == SWEEP_NGRAM)
		return ad_fail(e, AD_EINVAL, "--label-noise is for the transformer and random "
		    "features (an n-gram counts its text): drop it or change --model");
	for (size_t i = 0; i < cfg->nfractions; i++) {
		if (!(cfg->fractions[i] > 0 && cfg->fractions[i] <= 1))
			return ad_fail(e, AD_EINVAL, "--fractions: %g is not in (0, 1]",
			    cfg->fractions[i]);
		for (size_t k = i + 1; k < cfg->nfractions; k++)
			if (cfg->fractions[i] == cfg->fractions[k])
				return ad_fail(e, AD_EINVAL, "--fractions lists %g twice: give each "
				    "value once", cfg->fractions[i]);
	}
	{
		/* Two jobs of one point would write the same files at once. */
		static const char *const names[] = { "--widths", "--depths", "--orders",
		                                     "--features" };
		const uint32_t *lists[] = { cfg->widths, cfg->depths, cfg->orders, cfg->features };
		size_t          ns[] = { cfg->nwidths, cfg->ndepths, cfg->norders, cfg->nfeatures };
		for (int a = 0; a < 4; a++) {
			uint32_t v = sw_repeated(lists[a], ns[a]);
			if (v != 0)
				return ad_fail(e, AD_EINVAL, "%s lists %u twice: give each value once",
				    names[a], v);
		}
	}
	if ((cfg->vocab == NULL) == (cfg->vocab_size == 0))
		return ad_fail(e, AD_EINVAL, "sweep: give a vocabulary or the size of one to train");
	if (cfg->model == SWEEP_NGRAM)
		for (size_t i = 0; i < cfg->norders; i++)
			if (cfg->orders[i] < 1 || cfg->orders[i] > 8)
				return ad_fail(e, AD_EINVAL, "--orders: %u is not in 1..8", cfg->orders[i]);
	if (cfg->model == SWEEP_RF) {
		for (size_t i = 0; i < cfg->nfeatures; i++) {
			struct rf_config rc = { cfg->rf_context, cfg->features[i], cfg->rf_embed,
			                        cfg->rf_fourier ? RF_FOURIER : RF_RELU, 0,
			                        cfg->label_noise, cfg->seed, cfg->threads };
			int              r;
			if ((r = rf_config_check(&rc, V, e)) != 0)
				return r;
		}
	}
	if (cfg->model == SWEEP_TRANSFORMER) {
		uint64_t need[2] = { 0, 0 }, have = sw_memory(cfg);
		uint32_t wbig = 0, dbig = 0;
		int      jobs = cfg->jobs > 1 ? 2 : 1;

		if ((cfg->steps > 0) == (cfg->epochs > 0))
			return ad_fail(e, AD_EINVAL, "sweep: give --steps or --epochs (one of them)");
		if (cfg->batch == 0 || cfg->context < 2 || cfg->heads == 0)
			return ad_fail(e, AD_EINVAL, "sweep: the transformer needs --batch, --context "
			    "and --heads");
		for (size_t w = 0; w < cfg->nwidths; w++)
			for (size_t d = 0; d < cfg->ndepths; d++) {
				struct gpt_config g = sw_gpt_config(cfg, cfg->widths[w], cfg->depths[d], V);
				uint64_t          b;
				int               r;
				if (cfg->widths[w] % cfg->heads != 0)
					return ad_fail(e, AD_EINVAL, "--widths: %u is not a multiple of "
					    "--heads %u", cfg->widths[w], cfg->heads);
				if ((r = gpt_config_check(&g, e)) != 0) {
					ad_error_prefix(e, "width %u, depth %u", cfg->widths[w],
					    cfg->depths[d]);
					return r;
				}
				/* The two largest: what two jobs at once may hold. */
				b = gpt_train_bytes(&g, cfg->batch, cfg->context);
				if (b > need[0]) {
					need[1] = need[0];
					need[0] = b;
					wbig = cfg->widths[w];
					dbig = cfg->depths[d];
				} else if (b > need[1]) {
					need[1] = b;
				}
			}
		if (have > 0 && need[0] + (jobs > 1 ? need[1] : 0) > have / 10 * 9)
			return ad_fail(e, AD_EINVAL, "width %u, depth %u needs %.1f GB to train (batch "
			    "%u x %u)%s, more than 90%% of the %.1f GB this machine has: drop it from "
			    "--widths/--depths, or lower --batch%s", wbig, dbig,
			    (need[0] + (jobs > 1 ? need[1] : 0)) / 1e9, cfg->batch, cfg->context,
			    jobs > 1 ? " with the next largest beside it (--jobs 2)" : "", have / 1e9,
			    jobs > 1 ? " or --jobs" : "");
	}
	return 0;
}

/* ---- the learning curve, from a transformer point's JSON Lines log ------------ */

/*
 * Every evaluation (val_loss and train_loss per token; the training loss
 * NaN when absent). A resumed run appends to its log from its checkpoint's
 * step, so a step at or before the last one read replaces the lines from
 * there on; a line cut short by a kill is skipped.
 */
static void
sw_curve(struct sweep_point *p, const char *log)
{
	FILE   *f = fopen(log, "r");
	char   *line = NULL;
	size_t  linecap = 0, cap = 0;
	ssize_t len;

	if (f == NULL)
		return;
	while ((len = getline(&line, &linecap, f)) > 0) {
		struct ad_json_field        fields[32];
		const struct ad_json_field *step, *val, *tl;
		size_t                      nf;

		if (ad_json_flat_parse(line, (size_t)len, fields, 32, &nf, NULL) != 0)
			continue;
		step = ad_json_flat_find(fields, nf, "step");
		val = ad_json_flat_find(fields, nf, "val_loss");
		tl = ad_json_flat_find(fields, nf, "train_loss");
		if (step == NULL || step->type != AD_JSON_NUMBER)
			continue;
		while (p->ncurve > 0 && p->curve[p->ncurve - 1].step >= step->number)
			p->ncurve--;
		if (val == NULL || val->type != AD_JSON_NUMBER)
			continue;
		if (p->ncurve == cap) {
			struct sweep_curve *c = ad_reallocarray(p->curve, cap * 2 + 16, sizeof *c);
			if (c == NULL)
				break;
			p->curve = c;
			cap = cap * 2 + 16;
		}
		p->curve[p->ncurve].step = step->number;
		p->curve[p->ncurve].val = val->number;
		p->curve[p->ncurve].train = tl != NULL && tl->type == AD_JSON_NUMBER ? tl->number : NAN;
		p->ncurve++;
	}
	free(line);
	fclose(f);
}

/* ---- a random-feature point's result file ---------------------------------------- */

static int
sw_rf_save(const char *path, const struct sweep_point *p, struct ad_error *e)
{
	char buf[1024];
	int  n;

	n = snprintf(buf, sizeof buf, "sweep-rf v1\ntrain_mse %.17g\ntest_mse %.17g\n"
	    "train_err %.17g\ntest_err %.17g\ntrain_logloss %.17g\ntest_logloss %.17g\n"
	    "distinct %llu\njitter %.17g\nseconds %.17g\n", p->train_loss, p->val_loss,
	    p->rf_train_err, p->rf_val_err, p->rf_train_logloss, p->rf_val_logloss,
	    (unsigned long long)p->rf_distinct, p->rf_jitter, p->seconds);
	return ad_write_file(path, buf, (size_t)n, e);
}

/* 0 when every line was read; -1 (fitted again) if not. */
static int
sw_rf_load(const char *path, struct sweep_point *p)
{
	FILE              *f = fopen(path, "r");
	unsigned long long d = 0;
	int                got = 0;

	if (f == NULL)
		return -1;
	got += fscanf(f, "sweep-rf v1\n") == 0;
	got += fscanf(f, "train_mse %lf\n", &p->train_loss) == 1;
	got += fscanf(f, "test_mse %lf\n", &p->val_loss) == 1;
	got += fscanf(f, "train_err %lf\n", &p->rf_train_err) == 1;
	got += fscanf(f, "test_err %lf\n", &p->rf_val_err) == 1;
	got += fscanf(f, "train_logloss %lf\n", &p->rf_train_logloss) == 1;
	got += fscanf(f, "test_logloss %lf\n", &p->rf_val_logloss) == 1;
	got += fscanf(f, "distinct %llu\n", &d) == 1;
	got += fscanf(f, "jitter %lf\n", &p->rf_jitter) == 1;
	got += fscanf(f, "seconds %lf\n", &p->seconds) == 1;
	fclose(f);
	p->rf_distinct = d;
	return got == 10 ? 0 : -1;
}

/* ---- the points ------------------------------------------------------------------- */

/* What a point needs beyond its report: its training text and its job. */
struct sw_job {
	struct sweep_point *p;
	size_t              text;       /* index of its training text (fraction) */
	double              cost;       /* work units, for the progress line */
	char               *argv[48];   /* the child's command (transformer) */
	char                num[16][32];  /* its numbers (13 at most) */
	char               *ckpt, *log;
	double              before;     /* training seconds before a resume */
	int                 rc;
	struct ad_error     err;
	int                 running;    /* its child runs (under sweep_state) */
};

/* A fraction's training text: its file, bytes, hash and tokens. */
struct sw_text {
	char     *path;
	size_t    len;
	uint64_t  hash;        /* its hash chained with the held-out text's */
	uint32_t *ids;
	size_t    nids;
};

/* The first fraction f of the training split, cut back to a line start (a
 * whole line at least: a fraction that falls in the first line keeps it). */
static size_t
sw_prefix(const struct data_split *sp, double f)
{
	size_t want = (size_t)ceil(f * (double)sp->train_len), cut;

	if (want >= sp->train_len)
		return sp->train_len;
	cut = want;
	while (cut > 0 && sp->train[cut - 1] != '\n')
		cut--;
	if (cut == 0) {
		const uint8_t *nl = memchr(sp->train, '\n', sp->train_len);
		cut = nl != NULL ? (size_t)(nl - sp->train) + 1 : sp->train_len;
	}
	return cut;
}

/* The transformer point's child command, key and files. */
static int
sw_transformer_job(const struct sweep_cfg *cfg, struct sw_job *j, const struct sw_text *t,
    const struct bpe *vocab, const char *vocab_path, const char *val_path, int child_threads,
    struct ad_error *e)
{
	struct sweep_point *p = j->p;
	char                cfgtext[512];
	uint64_t            key, val_every;
	int                 k = 0, n = 0;
	enum compare_plan   plan;

	p->steps = cfg->steps > 0 ? cfg->steps :
	    (uint64_t)ceil(cfg->epochs * (double)t->nids / ((double)cfg->batch * cfg->context));
	if (p->steps == 0)
		p->steps = 1;
	val_every = p->steps / cfg->curve_points > 0 ? p->steps / cfg->curve_points : 1;
	snprintf(cfgtext, sizeof cfgtext, "sweep transformer v1 vocab %016llx layers %u heads %u "
	    "dim %u context %u steps %llu batch %u lr %.17g wd %.17g noise %.17g seed %llu "
	    "val-every %llu val-tokens %llu", (unsigned long long)bpe_identity(vocab), p->depth,
	    cfg->heads, p->width, cfg->context, (unsigned long long)p->steps, cfg->batch, cfg->lr,
	    cfg->weight_decay, cfg->label_noise, (unsigned long long)cfg->seed,
	    (unsigned long long)val_every, (unsigned long long)cfg->eval_tokens);
	key = compare_key(t->hash, cfgtext);
	p->path = compare_path(cfg->out, "sweep-tf-%016llx.bin", (unsigned long long)key);
	j->ckpt = compare_path(cfg->out, "sweep-tf-%016llx.bin.ckpt", (unsigned long long)key);
	j->log = compare_path(cfg->out, "sweep-tf-%016llx.jsonl", (unsigned long long)key);
	if (p->path == NULL || j->ckpt == NULL || j->log == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
#define NUM(fmt, v) (assert(n < 16), snprintf(j->num[n], sizeof j->num[n], fmt, v), j->num[n++])
	j->argv[k++] = "train";
	j->argv[k++] = "transformer";
	/* Finished (the model, its curve and its cost are there), interrupted
	 * (continue from the checkpoint), or new. */
	plan = compare_plan(cfg->retrain, p->path, j->ckpt, j->log);
	p->reused = plan == COMPARE_REUSE;
	if (plan == COMPARE_RESUME) {
		j->before = compare_ckpt_seconds(j->ckpt, NULL);
		j->argv[k++] = "--resume";
		j->argv[k++] = j->ckpt;
	} else {
		j->argv[k++] = "-t";
		j->argv[k++] = (char *)vocab_path;
		j->argv[k++] = "--layers";
		j->argv[k++] = NUM("%u", p->depth);
		j->argv[k++] = "--heads";
		j->argv[k++] = NUM("%u", cfg->heads);
		j->argv[k++] = "--dim";
		j->argv[k++] = NUM("%u", p->width);
		j->argv[k++] = "--context";
		j->argv[k++] = NUM("%u", cfg->context);
		j->argv[k++] = "--batch";
		j->argv[k++] = NUM("%u", cfg->batch);
		j->argv[k++] = "--seed";
		j->argv[k++] = NUM("%llu", (unsigned long long)cfg->seed);
	}
	if (cfg->lr > 0) {
		j->argv[k++] = "--lr";
		j->argv[k++] = NUM("%.17g", cfg->lr);
	}
	j->argv[k++] = "--weight-decay";
	j->argv[k++] = NUM("%.17g", cfg->weight_decay);
	if (cfg->label_noise > 0) {
		j->argv[k++] = "--label-noise";
		j->argv[k++] = NUM("%.17g", cfg->label_noise);
	}
	j->argv[k++] = "--steps";
	j->argv[k++] = NUM("%llu", (unsigned long long)p->steps);
	j->argv[k++] = "--val";
	j->argv[k++] = (char *)val_path;
	j->argv[k++] = "--val-every";
	j->argv[k++] = NUM("%llu", (unsigned long long)val_every);
	j->argv[k++] = "--val-tokens";
	j->argv[k++] = NUM("%llu", (unsigned long long)cfg->eval_tokens);
	j->argv[k++] = "--eval-train";
	j->argv[k++] = "--log";
	j->argv[k++] = j->log;
	j->argv[k++] = "-o";
	j->argv[k++] = p->path;
	j->argv[k++] = "--quiet";
	j->argv[k++] = "--threads";
	j->argv[k++] = NUM("%d", child_threads);
	j->argv[k++] = t->path;
	j->argv[k] = NULL;
	assert(k < 48);
#undef NUM
	if ((p->command = compare_join(j->argv)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	{
		struct gpt_config g = sw_gpt_config(cfg, p->width, p->depth, bpe_vocab_size(vocab));
		p->params = gpt_param_count(&g);
	}
	/* About 6 flops per parameter and token (Kaplan et al. 2020, section 2.1). */
	j->cost = 6.0 * (double)p->params * (double)p->steps * cfg->batch * cfg->context / 1e6;
	p->train_tokens = t->nids;
	return 0;
}

/* Train (or reuse) the transformer point j: the child, then the .run file. */
static int
sw_transformer_train(const struct sweep_cfg *cfg, struct sw_job *j, struct ad_error *e)
{
	struct compare_model m = { 0 };
	int                  rc;

	if ((rc = compare_child_run(cfg->self, j->argv, &m.train_seconds, &m.peak_rss_kb, e)) != 0)
		return rc;
	m.train_seconds += j->before;
	j->p->seconds = m.train_seconds;
	j->p->rss_kb = m.peak_rss_kb;
	m.train_tokens = (double)j->p->steps * cfg->batch * cfg->context;
	return compare_run_save(j->p->path, &m, e);
}

/*
 * Fit (or reuse) the random-feature point p on its text's tokens: F =
 * p->features features, or with limit the limit of infinitely many
 * (rf_limit: the kernel the features sample, ridgeless).
 */
static int
sw_rf_point(const struct sweep_cfg *cfg, struct sweep_point *p, const struct sw_text *t,
    const uint32_t *val, size_t nval, uint32_t V, int limit, struct ad_error *e)
{
	struct rf_config    rc = { cfg->rf_context, limit ? 1 : p->features, cfg->rf_embed,
	                           cfg->rf_fourier ? RF_FOURIER : RF_RELU, 0, cfg->label_noise,
	                           cfg->seed, cfg->threads };
	struct rf_result    res;
	double              t0 = ad_now();
	int                 r;

	if (!cfg->retrain && sw_rf_load(p->path, p) == 0) {
		p->reused = 1;
		return 0;
	}
	r = limit ? rf_limit(&rc, t->ids, t->nids, val, nval, V, &res, e) :
	    rf_run(&rc, t->ids, t->nids, val, nval, V, &res, e);
	if (r != 0)
		return r;
	p->seconds = ad_now() - t0;
	p->train_loss = res.train_mse;
	p->val_loss = res.test_mse;
	p->rf_train_err = res.train_err;
	p->rf_val_err = res.test_err;
	p->rf_train_logloss = res.train_logloss;
	p->rf_val_logloss = res.test_logloss;
	p->rf_distinct = res.n_distinct;
	p->rf_jitter = res.jitter;
	return sw_rf_save(p->path, p, e);
}

/* The n-gram point's losses: its training text and the held-out text. */
static int
sw_ngram_score(struct sweep_point *p, const struct sw_text *t, const struct data_split *sp,
    struct ad_error *e)
{
	struct lm     *lm;
	struct lm_eval tr = { 0 }, va = { 0 };
	struct ad_map  m;
	int            rc;

	if ((rc = lm_open(&lm, p->path, e)) != 0)
		return rc;
	p->params = lm->params;
	if ((rc = ad_map_file(t->path, &m, e)) == 0) {
		rc = lm_eval_text(lm, m.data, m.size, &tr, NULL, e);
		ad_map_release(&m);
	}
	if (rc == 0)
		rc = lm_eval_text(lm, sp->val, sp->val_len, &va, NULL, e);
	lm_free(lm);
	if (rc != 0)
		return rc;
	p->train_loss = tr.tokens ? tr.nats / (double)tr.tokens : NAN;
	p->val_loss = va.tokens ? va.nats / (double)va.tokens : NAN;
	return 0;
}

/* ---- top-1 error (transformer, n-gram) ------------------------------------------- */

/* 1 - the top-1 accuracy of lm on text: lm_calib's, as `eval --calibration`. */
static int
sw_top1_text(const struct lm *lm, const uint8_t *text, size_t len, double *err,
    struct ad_error *e)
{
	struct lm_calib_acc *acc = NULL;
	struct lm_eval       r = { 0 };
	struct lm_calib      c;
	int                  rc;

	if ((rc = lm_calib_acc_new(&acc, e)) == 0 &&
	    (rc = lm_eval_text_calib(lm, text, len, &r, acc, NULL, e)) == 0 &&
	    (rc = lm_calib_finish(acc, &c, e)) == 0)
		*err = 1 - c.accuracy;
	lm_calib_acc_free(acc);
	return rc;
}

/*
 * The point's held-out and training top-1 errors: from MODEL.top1 when the
 * model was reused and the file is whole, else scored and written there.
 * The file belongs to the model file beside it, whose name keys the
 * training text, the held-out text and the configuration.
 */
static int
sw_top1(const struct sweep_cfg *cfg, struct sweep_point *p, const struct sw_text *t,
    const struct data_split *sp, struct ad_error *e)
{
	char         *path = ad_malloc(strlen(p->path) + sizeof ".top1"), buf[256];
	struct lm    *lm = NULL;
	struct ad_map m;
	FILE         *f;
	int           rc, n;

	if (path == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	sprintf(path, "%s.top1", p->path);
	if (p->reused && (f = fopen(path, "r")) != NULL) {
		int got = fscanf(f, "sweep-top1 v1\nval_err %lf\ntrain_err %lf\n", &p->val_err,
		    &p->train_err);
		fclose(f);
		if (got == 2) {
			ad_free(path);
			return 0;
		}
	}
	sw_stage(cfg, "point %s (fraction %g): top-1 error", p->name, p->fraction);
	if ((rc = lm_open(&lm, p->path, e)) == 0 &&
	    (rc = sw_top1_text(lm, sp->val, sp->val_len, &p->val_err, e)) == 0 &&
	    (rc = ad_map_file(t->path, &m, e)) == 0) {
		rc = sw_top1_text(lm, m.data, m.size, &p->train_err, e);
		ad_map_release(&m);
	}
	lm_free(lm);
	if (rc == 0) {
		n = snprintf(buf, sizeof buf, "sweep-top1 v1\nval_err %.17g\ntrain_err %.17g\n",
		    p->val_err, p->train_err);
		rc = ad_write_file(path, buf, (size_t)n, e);
	}
	ad_free(path);
	return rc;
}

/* Points by fraction, then parameters (then width, depth). */
static int
sw_point_order(const void *a, const void *b)
{
	const struct sweep_point *x = a, *y = b;

	if (x->fraction != y->fraction)
		return x->fraction < y->fraction ? -1 : 1;
	if (x->params != y->params)
		return x->params < y->params ? -1 : 1;
	if (x->width != y->width)
		return x->width < y->width ? -1 : 1;
	if (x->features != y->features)
		return x->features < y->features ? -1 : 1;
	return x->depth < y->depth ? -1 : x->depth > y->depth;
}

/* Jobs by decreasing cost: the largest start first. */
static int
sw_job_order(const void *a, const void *b)
{
	const struct sw_job *const *x = a, *const *y = b;

	return (*x)->cost > (*y)->cost ? -1 : (*x)->cost < (*y)->cost;
}

double
sweep_size(const struct sweep_point *p)
{
	return p->features > 0 ? (double)p->features : (double)p->params;
}

double
sweep_threshold(const struct sweep_point *p, size_t n, double fraction, double tol,
    double *floor)
{
	double lo = INFINITY, hi = -INFINITY, band, best = NAN;
	size_t inband = 0;

	*floor = NAN;
	for (size_t i = 0; i < n; i++)
		if (p[i].fraction == fraction && isfinite(p[i].train_loss)) {
			lo = p[i].train_loss < lo ? p[i].train_loss : lo;
			hi = p[i].train_loss > hi ? p[i].train_loss : hi;
		}
	if (!(hi > lo))
		return NAN;   /* fewer than two sizes, or no descent to measure */
	*floor = lo;
	band = lo + tol * (hi - lo);
	/* The smallest size from which every larger size is in the band. */
	for (;;) {
		double cand = NAN;
		int    ok = 1;
		/* The largest size not yet known to be in the band, from above. */
		for (size_t i = 0; i < n; i++)
			if (p[i].fraction == fraction && isfinite(p[i].train_loss) &&
			    (isnan(best) || sweep_size(&p[i]) < best) &&
			    (isnan(cand) || sweep_size(&p[i]) > cand))
				cand = sweep_size(&p[i]);
		if (isnan(cand))
			break;
		for (size_t i = 0; i < n; i++)
			if (p[i].fraction == fraction && sweep_size(&p[i]) == cand &&
			    !(p[i].train_loss <= band))
				ok = 0;
		if (!ok)
			break;
		best = cand;
		inband++;
	}
	/* A plateau: at least two sizes on it, or the floor was not reached. */
	return inband >= 2 ? best : NAN;
}

/* The progress shared by the jobs (updated under a critical section). */
struct sw_progress {
	struct ad_progress *prog;
	double              done;       /* cost units finished */
	size_t              finished, total, reused;
};

static void
sw_progress_step(struct sw_progress *sp, double cost, int reused, double partial)
{
	sp->done += cost;
	sp->finished++;
	sp->reused += reused != 0;
	ad_progress_note(sp->prog, "%zu/%zu points (%zu reused)", sp->finished, sp->total,
	    sp->reused);
	ad_progress_update(sp->prog, (uint64_t)(sp->done + partial));
}

/* ---- the transformer jobs: workers and a monitor --------------------------------- */

/*
 * The last step a running point's log reports (0 when none yet): its last
 * whole line, read from the file's end.
 */
static double
sw_log_step(const char *log)
{
	FILE  *f = fopen(log, "r");
	char   buf[1024], *line, *at;
	long   end;
	size_t n;

	if (f == NULL)
		return 0;
	if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) <= 0 ||
	    fseek(f, end > (long)sizeof buf - 1 ? end - (long)sizeof buf + 1 : 0, SEEK_SET) != 0) {
		fclose(f);
		return 0;
	}
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The line before the final newline. */
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	line = strrchr(buf, '\n');
	line = line != NULL ? line + 1 : buf;
	at = strstr(line, "\"step\":");
	return at != NULL ? strtod(at + 7, NULL) : 0;
}

/* What the transformer jobs share; every field but the constants is read
 * and written under the critical section sweep_state. */
struct sw_sched {
	const struct sweep_cfg *cfg;
	struct sw_job         **order;     /* (ntodo) the largest first */
	size_t                  ntodo, next, active;
	int                     stop;      /* a job failed or was interrupted */
	struct sw_progress     *progress;
	double                  partial;   /* cost units done by the running jobs */
};

/* Take jobs in order until none is left or one fails. */
static void
sw_worker(struct sw_sched *sc)
{
	for (;;) {
		struct sw_job *j = NULL;
		#pragma omp critical(sweep_state)
		if (!sc->stop && sc->next < sc->ntodo) {
			j = sc->order[sc->next++];
			j->running = 1;
			sc->active++;
		}
		if (j == NULL)
			return;
		j->rc = sw_transformer_train(sc->cfg, j, &j->err);
		#pragma omp critical(sweep_state)
		{
			j->running = 0;
			sc->active--;
			if (j->rc != 0)
				sc->stop = 1;
			else
				sw_progress_step(sc->progress, j->cost, 0, sc->partial);
		}
	}
}

/*
 * Every second while jobs run: the share of each running point's steps its
 * log reports, as cost units, added to the finished points' for the
 * progress line (so its ETA moves within a long point too).
 */
static void
sw_monitor(struct sw_sched *sc)
{
	for (int tick = 0;; tick++) {
		struct sw_job *run[64];   /* the running jobs: at most --jobs, <= 64 */
		size_t         nrun = 0;
		int            done;
		double         partial = 0;

		#pragma omp critical(sweep_state)
		{
			done = (sc->stop || sc->next == sc->ntodo) && sc->active == 0;
			for (size_t i = 0; i < sc->next && !done; i++)
				if (sc->order[i]->running && nrun < 64)
					run[nrun++] = sc->order[i];
		}
		if (done)
			return;
		if (tick % 4 == 0) {
			for (size_t i = 0; i < nrun; i++) {
				double share = sw_log_step(run[i]->log) / (double)run[i]->p->steps;
				partial += run[i]->cost * (share < 1 ? share : 1);
			}
			#pragma omp critical(sweep_state)
			{
				sc->partial = partial;
				ad_progress_update(sc->progress->prog,
				    (uint64_t)(sc->progress->done + partial));
			}
		}
		poll(NULL, 0, 250);
	}
}

int
sweep_run(const struct sweep_cfg *cfg, struct sweep_report *out, struct ad_error *e)
{
	struct data_split   sp = { 0 };
	struct sweep_report rep = { 0 };
	struct compare_cfg  cc = { 0 };
	struct bpe         *vocab = NULL;
	struct sw_text      texts[SWEEP_MAX_AXIS];
	struct sw_job      *jobs = NULL, **order = NULL;
	struct sw_progress  progress = { 0 };
	char               *train_path = NULL, *val_path = NULL, threads[16];
	uint32_t           *val = NULL;
	size_t              nval = 0, cap = 0, naxis, njobs = 0, ntodo = 0;
	uint64_t            val_hash;
	uint32_t            V;
	double              t0 = ad_now(), total_cost = 0;
	int                 rc, ncores = 1, jobs_at_once, child_threads;

	memset(texts, 0, sizeof texts);
#ifdef _OPENMP
	ncores = omp_get_num_procs();
#endif
	if ((rc = sweep_check(cfg, cfg->vocab_size > 0 ? (uint32_t)cfg->vocab_size : 256, e)) != 0)
		return rc;
	jobs_at_once = cfg->model == SWEEP_RF ? 1 : cfg->jobs > 0 ? cfg->jobs : 1;
	child_threads = (cfg->threads > 0 ? cfg->threads : ncores) / jobs_at_once;
	if (child_threads < 1)
		child_threads = 1;
	snprintf(threads, sizeof threads, "%d", child_threads);

	/* 1. One split; the held-out text written where the children read it. */
	if (mkdir(cfg->out, 0777) != 0 && errno != EEXIST)
		return ad_fail_errno(e, errno, "%s: cannot create the output directory", cfg->out);
	if ((rc = data_split_files(&sp, cfg->files, cfg->nfiles, cfg->val_fraction, cfg->val,
	    e)) != 0)
		return rc;
	if (sp.val_len == 0) {
		rc = ad_fail(e, AD_EDATA, "the held-out part is empty: the corpus is too small for "
		    "a split (give more text, a larger --val-fraction, or --val FILE)");
		goto fail;
	}
	val_hash = ad_hash64(sp.val, sp.val_len, 0);
	train_path = compare_path(cfg->out, "train.txt");
	val_path = compare_path(cfg->out, "val.txt");
	if (train_path == NULL || val_path == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = compare_write_if_changed(train_path, sp.train, sp.train_len, e)) != 0 ||
	    (rc = compare_write_if_changed(val_path, sp.val, sp.val_len, e)) != 0)
		goto fail;

	/* 2. The tokenizer (compare's stage: the same file for the same text). */
	cc.out = cfg->out;
	cc.self = cfg->self;
	cc.vocab = cfg->vocab;
	cc.vocab_size = cfg->vocab_size;
	cc.threads = child_threads;
	cc.retrain = cfg->retrain;
	cc.quiet = 1;
	if (cfg->vocab == NULL)
		sw_stage(cfg, "tokenizer (%llu ids)", (unsigned long long)cfg->vocab_size);
	if ((rc = compare_tokenizer(&cc, &sp, train_path, threads, &rep.vocab_path, e)) != 0 ||
	    (rc = bpe_load(&vocab, rep.vocab_path, e)) != 0)
		goto fail;
	V = bpe_vocab_size(vocab);
	if ((rc = sweep_check(cfg, V, e)) != 0)
		goto fail;
	if ((rc = data_tokenize(vocab, cfg->threads, sp.val, sp.val_len, &val, &nval, &cap, e)) != 0)
		goto fail;
	rep.val_tokens = nval;

	/* 3. Each fraction's training text, written and tokenized. */
	for (size_t f = 0; f < cfg->nfractions; f++) {
		struct sw_text *t = &texts[f];
		size_t          len = sw_prefix(&sp, cfg->fractions[f]);
		cap = 0;
		t->len = len;
		t->hash = ad_hash64(sp.train, len, val_hash);
		t->path = compare_path(cfg->out, "train-%g.txt", cfg->fractions[f]);
		if (t->path == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto fail;
		}
		if ((rc = compare_write_if_changed(t->path, sp.train, len, e)) != 0 ||
		    (rc = data_tokenize(vocab, cfg->threads, sp.train, len, &t->ids, &t->nids, &cap,
		    e)) != 0)
			goto fail;
		if (cfg->model == SWEEP_TRANSFORMER && t->nids < cfg->context + 1) {
			rc = ad_fail(e, AD_EINVAL, "--fractions %g: %zu training tokens, fewer than a "
			    "context of %u: give a larger fraction or a smaller --context",
			    cfg->fractions[f], t->nids, cfg->context);
			goto fail;
		}
		if (cfg->model == SWEEP_RF) {
			/* The exact memory, now that the token counts are known. */
			uint64_t have = sw_memory(cfg);
			for (size_t i = 0; i < cfg->nfeatures; i++) {
				struct rf_config c = { cfg->rf_context, cfg->features[i], cfg->rf_embed,
				                       cfg->rf_fourier ? RF_FOURIER : RF_RELU, 0,
				                       cfg->label_noise, cfg->seed, cfg->threads };
				size_t need = rf_memory(&c, t->nids, nval, V);
				/* The limit's: 8 n (n + 2 V) bytes (rf.h). */
				double lim = 8.0 * (double)t->nids * ((double)t->nids + 2.0 * V);
				if (cfg->rf_limit && lim > (double)need)
					need = lim > (double)SIZE_MAX ? SIZE_MAX : (size_t)lim;
				if (have > 0 && need > have / 10 * 9) {
					rc = ad_fail(e, AD_EINVAL, "--features %u on %zu training tokens "
					    "needs %.1f GB, more than 90%% of the %.1f GB this machine has: "
					    "lower --features or --fractions", cfg->features[i], t->nids,
					    need / 1e9, have / 1e9);
					goto fail;
				}
			}
		}
	}

	/* 4. The points. */
	naxis = cfg->model == SWEEP_TRANSFORMER ? cfg->nwidths * cfg->ndepths :
	    cfg->model == SWEEP_NGRAM ? cfg->norders : cfg->nfeatures;
	rep.npoints = naxis * cfg->nfractions;
	if ((rep.points = ad_calloc(rep.npoints, sizeof *rep.points)) == NULL ||
	    (jobs = ad_calloc(rep.npoints, sizeof *jobs)) == NULL ||
	    (order = ad_calloc(rep.npoints, sizeof *order)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t f = 0; f < cfg->nfractions; f++)
		for (size_t a = 0; a < naxis; a++) {
			struct sweep_point *p = &rep.points[njobs];
			struct sw_job      *j = &jobs[njobs++];
			j->p = p;
			j->text = f;
			p->fraction = cfg->fractions[f];
			p->train_tokens = texts[f].nids;
			p->train_loss = p->val_loss = p->train_err = p->val_err = NAN;
			if (cfg->model == SWEEP_TRANSFORMER) {
				p->width = cfg->widths[a / cfg->ndepths];
				p->depth = cfg->depths[a % cfg->ndepths];
				snprintf(p->name, sizeof p->name, "w%u d%u", p->width, p->depth);
				if ((rc = sw_transformer_job(cfg, j, &texts[f], vocab, rep.vocab_path,
				    val_path, child_threads, e)) != 0)
					goto fail;
			} else if (cfg->model == SWEEP_NGRAM) {
				p->order = cfg->orders[a];
				snprintf(p->name, sizeof p->name, "%u-gram", p->order);
				j->cost = (double)texts[f].nids * p->order / 1e6;
			} else {
				char cfgtext[256];
				p->features = cfg->features[a];
				snprintf(p->name, sizeof p->name, "F=%u", p->features);
				snprintf(cfgtext, sizeof cfgtext, "sweep rf v1 vocab %016llx context %u "
				    "features %u embed %u act %s noise %.17g seed %llu",
				    (unsigned long long)bpe_identity(vocab), cfg->rf_context, p->features,
				    cfg->rf_embed, rf_act_name(cfg->rf_fourier ? RF_FOURIER : RF_RELU), cfg->label_noise,
				    (unsigned long long)cfg->seed);
				p->path = compare_path(cfg->out, "sweep-rf-%016llx.txt",
				    (unsigned long long)compare_key(texts[f].hash, cfgtext));
				if (p->path == NULL) {
					rc = ad_fail(e, AD_ENOMEM, "out of memory");
					goto fail;
				}
				/* The readout's weights: F x V (its non-zero columns are fewer). */
				p->params = (uint64_t)p->features * V;
				{
					double n = (double)texts[f].nids, F = p->features;
					j->cost = 2 * n * F * (n < F ? n : F) / 1e6;
				}
			}
			total_cost += j->cost;
		}

	/* 5. Train what is not there, the largest first, jobs_at_once at a time. */
	progress.total = njobs;
	if (cfg->on_progress != NULL)
		progress.prog = cfg->on_progress(cfg->hook_ctx, "sweep",
		    (uint64_t)(total_cost > 1 ? total_cost : 1),
		    cfg->model == SWEEP_NGRAM ? "Mtok" : "Mflop");
	/* The reused points are done before the run starts: the rate and the
	 * ETA count only the work this run does. */
	for (size_t i = 0; i < njobs; i++) {
		if (jobs[i].p->reused) {
			progress.done += jobs[i].cost;
			progress.finished++;
			progress.reused++;
		} else {
			order[ntodo++] = &jobs[i];
		}
	}
	ad_progress_resume(progress.prog, (uint64_t)progress.done);
	ad_progress_note(progress.prog, "%zu/%zu points (%zu reused)", progress.finished,
	    progress.total, progress.reused);
	qsort(order, ntodo, sizeof *order, sw_job_order);
	if (cfg->model == SWEEP_TRANSFORMER) {
		struct sw_sched sc = { cfg, order, ntodo, 0, 0, 0, &progress, 0 };
		/* The interrupt pipe is made on first use: make it here, before the
		 * workers' children would race to. */
		(void)ad_interrupt_fd();
#ifdef _OPENMP
		/* Thread 0 watches, the others train; each job is written by the
		 * worker that took it, and what they share only under sweep_state. */
		#pragma omp parallel num_threads(jobs_at_once + 1)
		{
			if (omp_get_num_threads() == 1)
				sw_worker(&sc);   /* the runtime gave one thread: no monitor */
			else if (omp_get_thread_num() == 0)
				sw_monitor(&sc);
			else
				sw_worker(&sc);
		}
		/* A runtime that gave fewer threads than asked leaves work undone. */
		if (!sc.stop && sc.next < sc.ntodo)
			sw_worker(&sc);
#else
		sw_worker(&sc);
#endif
	} else {
		for (size_t i = 0; i < ntodo && rc == 0; i++) {
			struct sw_job      *j = order[i];
			struct sweep_point *p = j->p;
			if (cfg->model == SWEEP_NGRAM) {
				struct compare_model m = { 0 };
				cc.threads = cfg->threads;
				snprintf(threads, sizeof threads, "%d", cfg->threads);
				j->rc = compare_ngram(&cc, &m, (int)p->order, texts[j->text].hash, vocab,
				    rep.vocab_path, texts[j->text].path, threads, texts[j->text].nids,
				    &j->err);
				p->path = m.path;
				p->command = m.command;
				m.path = m.command = NULL;
				p->reused = m.reused;
				p->seconds = m.train_seconds;
				p->rss_kb = m.peak_rss_kb;
				compare_model_free(&m, 0);
			} else {
				j->rc = sw_rf_point(cfg, p, &texts[j->text], val,
				    cfg->eval_tokens > 0 && nval > cfg->eval_tokens ? cfg->eval_tokens : nval,
				    V, 0, &j->err);
			}
			if (j->rc == 0)
				sw_progress_step(&progress, j->cost, p->reused, 0);
			rc = j->rc;
		}
	}
	for (size_t i = 0; i < ntodo; i++)
		if (order[i]->rc != 0) {
			rc = order[i]->rc;
			*e = order[i]->err;
			/* An interruption outranks the failures it caused. */
			if (rc == AD_EINTR)
				break;
		}
	/* The random-feature model's limit of infinitely many features. */
	for (size_t f = 0; rc == 0 && cfg->model == SWEEP_RF && cfg->rf_limit &&
	    f < cfg->nfractions; f++) {
		struct sweep_point *p = &rep.rf_limit[f];
		char                cfgtext[256];
		snprintf(cfgtext, sizeof cfgtext, "sweep rf-limit v1 vocab %016llx context %u "
		    "embed %u act %s noise %.17g seed %llu", (unsigned long long)bpe_identity(vocab),
		    cfg->rf_context, cfg->rf_embed, rf_act_name(cfg->rf_fourier ? RF_FOURIER : RF_RELU),
		    cfg->label_noise, (unsigned long long)cfg->seed);
		snprintf(p->name, sizeof p->name, "F=inf");
		p->fraction = cfg->fractions[f];
		p->train_tokens = texts[f].nids;
		p->path = compare_path(cfg->out, "sweep-rf-%016llx.txt",
		    (unsigned long long)compare_key(texts[f].hash, cfgtext));
		if (p->path == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			break;
		}
		sw_stage(cfg, "random features: the limit of infinitely many (fraction %g)",
		    cfg->fractions[f]);
		rc = sw_rf_point(cfg, p, &texts[f], val,
		    cfg->eval_tokens > 0 && nval > cfg->eval_tokens ? cfg->eval_tokens : nval, V, 1, e);
	}
	if (rc != 0) {
		ad_progress_free(progress.prog);
		progress.prog = NULL;
		goto fail;
	}
	ad_progress_finish(progress.prog);
	progress.prog = NULL;

	/* 6. What each point measured. */
	for (size_t i = 0; i < njobs; i++) {
		struct sw_job      *j = &jobs[i];
		struct sweep_point *p = j->p;
		if (cfg->model == SWEEP_TRANSFORMER) {
			struct compare_model m = { 0 };
			sw_curve(p, j->log);
			if (compare_run_load(p->path, &m) == 0) {
				p->seconds = m.train_seconds;
				p->rss_kb = m.peak_rss_kb;
			}
			if (p->ncurve > 0) {
				p->train_loss = p->curve[p->ncurve - 1].train;
				p->val_loss = p->curve[p->ncurve - 1].val;
			}
			if ((rc = sw_top1(cfg, p, &texts[j->text], &sp, e)) != 0)
				goto fail;
		} else if (cfg->model == SWEEP_NGRAM) {
			if ((rc = sw_ngram_score(p, &texts[j->text], &sp, e)) != 0 ||
			    (rc = sw_top1(cfg, p, &texts[j->text], &sp, e)) != 0)
				goto fail;
		} else {
			p->val_err = p->rf_val_err;
			p->train_err = p->rf_train_err;
		}
		rep.nreused += p->reused != 0;
	}
	rep.ntrained = rep.npoints - rep.nreused;
	qsort(rep.points, rep.npoints, sizeof *rep.points, sw_point_order);
	rep.interp_tol = cfg->interp_tol > 0 ? cfg->interp_tol : SWEEP_INTERP_TOL;
	for (size_t f = 0; f < cfg->nfractions; f++)
		rep.thresholds[f] = sweep_threshold(rep.points, rep.npoints, cfg->fractions[f],
		    rep.interp_tol, &rep.floors[f]);
	rep.cfg = cfg;
	rep.split_hash = ad_hash64(sp.train, sp.train_len, val_hash);
	rep.train_bytes = sp.train_len;
	rep.val_bytes = sp.val_len;
	rep.vocab_size = V;
	rep.loss_unit = cfg->model == SWEEP_RF ? "squared loss" : "nats/token";
	rep.jobs = jobs_at_once;
	rep.seconds = ad_now() - t0;
	*out = rep;
	rc = 0;
	goto done;
fail:
	if (rc == AD_EINTR)
		ad_fail(e, AD_EINTR, "interrupted; the points finished so far are kept in %s "
		    "and the next run reuses them", cfg->out);
	sweep_report_free(&rep);
done:
	for (size_t i = 0; jobs != NULL && i < njobs; i++) {
		ad_free(jobs[i].ckpt);
		ad_free(jobs[i].log);
	}
	ad_free(jobs);
	ad_free(order);
	for (size_t f = 0; f < SWEEP_MAX_AXIS; f++) {
		ad_free(texts[f].path);
		ad_free(texts[f].ids);
	}
	bpe_free(vocab);
	data_split_free(&sp);
	ad_free(val);
	ad_free(train_path);
	ad_free(val_path);
	return rc;
}

void
sweep_report_free(struct sweep_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->points != NULL && i < r->npoints; i++) {
		ad_free(r->points[i].path);
		ad_free(r->points[i].command);
		ad_free(r->points[i].curve);
	}
	ad_free(r->points);
	for (size_t f = 0; f < SWEEP_MAX_AXIS; f++)
		ad_free(r->rf_limit[f].path);
	ad_free(r->vocab_path);
	memset(r, 0, sizeof *r);
}
