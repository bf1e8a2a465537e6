/*
 * engine.c — compare_run: one split, one tokenizer, every model trained on
 * the same training part (each by a child process, child.c) or reused from
 * an earlier run, all scored on the same held-out part and sampled for the
 * same prompts. See compare.h.
 *
 * The work directory holds, for a run on corpus C:
 *   train.txt, val.txt       the split (rewritten only when it changes, so a
 *                            reused model's inputs stay put)
 *   vocab-K.txt              the tokenizer, K = key of the training text and
 *                            the vocabulary size
 *   ngramN-K.bin             an n-gram model, K = key of the split and the
 *                            order and vocabulary
 *   transformer-K.bin        the transformer; .ckpt an interrupted run's
 *                            checkpoint (resumed), .jsonl its metrics log
 *   knn-K.knn                the kNN-LM's store (compare --knn), K = key of
 *                            the split, the transformer file's checksum and
 *                            the cap on stored tokens; its parameters are
 *                            the tuned ones
 *   MODEL.run                what training MODEL cost ("seconds S",
 *                            "rss_kb K", "tokens T" lines), so a reused
 *                            model still reports it
 * where a key is XXH64 of the model's whole configuration as text, seeded
 * with the hash of the text it was trained on.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "base/io.h"
#include "base/json.h"
#include "base/progress.h"
#include "base/rng.h"
#include "compare/compare.h"
#include "compare/compare_impl.h"
#include "data/data.h"
#include "bpe/bpe.h"
#include "nn/nn.h"

/* ---- small helpers ------------------------------------------------------------ */

char *
compare_path(const char *dir, const char *fmt, ...)
{
	char    name[256], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof name, fmt, ap);
	va_end(ap);
	if ((p = ad_malloc(strlen(dir) + strlen(name) + 2)) != NULL)
		sprintf(p, "%s/%s", dir, name);
	return p;
}

int
compare_atomic_open(struct ad_atomic *a, const char *dir, const char *name, struct ad_error *e)
{
	char *path = compare_path(dir, "%s", name);
	int   rc;

	if (path == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	rc = ad_atomic_open(a, path, e);
	ad_free(path);
	return rc;
}

int
compare_exists(const char *path)
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
uint64_t
compare_key(uint64_t split_hash, const char *config)
{
	return ad_hash64(config, strlen(config), split_hash);
}

/* The argv as one shell-readable line (single quotes where needed). */
char *
compare_join(char *const argv[])
{
	size_t len = 16;
	char  *s, *p;

	for (int i = 0; argv[i] != NULL; i++)
		len += 4 * strlen(argv[i]) + 3;
	if ((s = ad_malloc(len)) == NULL)
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

static void
cmp_stage(const struct compare_cfg *cfg, const char *fmt, ...) AD_PRINTF(2, 3);

static void
cmp_stage(const struct compare_cfg *cfg, const char *fmt, ...)
{
	char    what[128];
	va_list ap;

	if (cfg->on_stage == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	cfg->on_stage(cfg->hook_ctx, what);
}

/* ---- the .run side file: what training a model cost ---------------------------- */

int
compare_run_save(const char *model, const struct compare_model *m, struct ad_error *e)
{
	char  path[4200], buf[256];
	int   n;

	snprintf(path, sizeof path, "%s.run", model);
	n = snprintf(buf, sizeof buf, "seconds %.17g\nrss_kb %llu\ntokens %.17g\n",
	    m->train_seconds, (unsigned long long)m->peak_rss_kb, m->train_tokens);
	if (m->resumed)
		n += snprintf(buf + n, sizeof buf - (size_t)n, "resumed_from %llu\n",
		    (unsigned long long)m->resumed_step);
	return ad_write_file(path, buf, (size_t)n, e);
}

/* 0 when the three cost lines were read; -1 (the model is trained again) if
 * not. A fourth line, "resumed_from STEP", is there when it was resumed. */
int
compare_run_load(const char *model, struct compare_model *m)
{
	char               path[4200];
	FILE              *f;
	unsigned long long rss = 0, step = 0;
	int                got = 0;

	snprintf(path, sizeof path, "%s.run", model);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	got += fscanf(f, "seconds %lf\n", &m->train_seconds) == 1;
	got += fscanf(f, "rss_kb %llu\n", &rss) == 1;
	got += fscanf(f, "tokens %lf\n", &m->train_tokens) == 1;
	m->resumed = got == 3 && fscanf(f, "resumed_from %llu\n", &step) == 1;
	fclose(f);
	m->peak_rss_kb = rss;
	m->resumed_step = step;
	return got == 3 ? 0 : -1;
}

/* Train (or reuse) the model at path with argv; fill the cost fields of m. */
int
compare_train(const struct compare_cfg *cfg, struct compare_model *m, const char *path, char **argv,
    double tokens, struct ad_error *e)
{
	int rc;

	m->path = ad_strdup(path);
	m->command = compare_join(argv);
	if (m->path == NULL || m->command == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	if (!cfg->retrain && compare_exists(path) && compare_run_load(path, m) == 0) {
		m->reused = 1;
		return 0;
	}
	if ((rc = compare_child_run(cfg->self, argv, &m->train_seconds, &m->peak_rss_kb, e)) != 0)
		return rc;
	if (tokens > 0)
		m->train_tokens = tokens;
	return compare_run_save(path, m, e);
}

/* ---- an interrupted transformer: reuse, resume or train ------------------------ */

enum compare_plan
compare_plan(int retrain, const char *path, const char *ckpt, const char *need)
{
	if (retrain)
		return COMPARE_FRESH;
	/* Finished: a run stopped by a signal writes its model (and its
	 * checkpoint) too, but its .run file only once the child exited 0. */
	if (compare_exists(path) && (need == NULL || compare_exists(need)) &&
	    compare_run_load(path, &(struct compare_model){ 0 }) == 0)
		return COMPARE_REUSE;
	return compare_exists(ckpt) ? COMPARE_RESUME : COMPARE_FRESH;
}

double
compare_ckpt_seconds(const char *ckpt, uint64_t *step)
{
	struct ad_map  map;
	struct nn_file f;
	size_t         at;
	double         s = 0;

	if (step != NULL)
		*step = 0;
	if (ad_map_file(ckpt, &map, NULL) != 0)
		return 0;
	if (nn_parse(map.data, map.size, ckpt, &f, &at, NULL) == 0 && f.has_train) {
		if (f.train.elapsed > 0)
			s = f.train.elapsed;
		if (step != NULL)
			*step = f.train.step;
	}
	ad_map_release(&map);
	return s;
}

/* ---- the transformer's learning curve, from its JSON Lines log ----------------- */

/*
 * Read every held-out point (val_loss in nats per token; null on steps
 * without one) and convert it to bits per byte with the held-out text's
 * tokens per byte; also report the last step. A line that is not a flat
 * JSON object (the last one, cut short by a kill) is skipped.
 */
static void
cmp_curve(struct compare_model *m, const char *log, double tokens_per_byte, double *last_step)
{
	FILE  *f = fopen(log, "r");
	char  *line = NULL;
	size_t linecap = 0, cap = 0;
	ssize_t len;

	*last_step = 0;
	if (f == NULL)
		return;
	while ((len = getline(&line, &linecap, f)) > 0) {
		struct ad_json_field        fields[32];   /* the trainer writes 7 today */
		const struct ad_json_field *step, *val, *sec;
		size_t                      nf;

		if (ad_json_flat_parse(line, (size_t)len, fields, 32, &nf, NULL) != 0)
			continue;
		step = ad_json_flat_find(fields, nf, "step");
		val = ad_json_flat_find(fields, nf, "val_loss");
		sec = ad_json_flat_find(fields, nf, "elapsed");
		if (step == NULL || step->type != AD_JSON_NUMBER)
			continue;
		*last_step = step->number;
		if (val == NULL || val->type != AD_JSON_NUMBER ||
		    sec == NULL || sec->type != AD_JSON_NUMBER)
			continue;
		if (m->ncurve == cap) {
			struct compare_point *p = ad_reallocarray(m->curve, cap * 2 + 16, sizeof *p);
			if (p == NULL)
				break;
			m->curve = p;
			cap = cap * 2 + 16;
		}
		m->curve[m->ncurve].step = step->number;
		m->curve[m->ncurve].seconds = sec->number;
		m->curve[m->ncurve].bpb = val->number * tokens_per_byte / M_LN2;
		m->ncurve++;
	}
	free(line);
	fclose(f);
}

/* ---- the stages ----------------------------------------------------------------- */

/* Rewrite path with data only when it differs, so a reused model's inputs stay put. */
int
compare_write_if_changed(const char *path, const uint8_t *data, size_t len, struct ad_error *e)
{
	struct ad_map m;
	int           same = 0;

	if (ad_map_file(path, &m, NULL) == 0) {
		same = m.size == len && memcmp(m.data, data, m.size) == 0;
		ad_map_release(&m);
	}
	return same ? 0 : ad_write_file(path, data, len, e);
}

/* The tokenizer trained on train_path (or cfg->vocab); sets *vocab_path. */
int
compare_tokenizer(const struct compare_cfg *cfg, const struct data_split *sp, const char *train_path,
    const char *threads, char **vocab_path, struct ad_error *e)
{
	struct compare_model tm = { 0 };
	char                 cfgtext[512], num[32], *targv[12];
	int                  k = 0, rc;

	if (cfg->vocab != NULL) {
		*vocab_path = ad_strdup(cfg->vocab);
		return *vocab_path != NULL ? 0 : ad_fail(e, AD_ENOMEM, "out of memory");
	}
	snprintf(cfgtext, sizeof cfgtext, "tokenizer v1 vocab-size %llu",
	    (unsigned long long)cfg->vocab_size);
	*vocab_path = compare_path(cfg->out, "vocab-%016llx.txt",
	    (unsigned long long)compare_key(ad_hash64(sp->train, sp->train_len, 0), cfgtext));
	if (*vocab_path == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	snprintf(num, sizeof num, "%llu", (unsigned long long)cfg->vocab_size);
	targv[k++] = "tokenize";
	targv[k++] = "train";
	targv[k++] = "-o";
	targv[k++] = *vocab_path;
	targv[k++] = "--vocab-size";
	targv[k++] = num;
	targv[k++] = "--quiet";
	if (cfg->threads) {
		targv[k++] = "--threads";
		targv[k++] = (char *)threads;
	}
	targv[k++] = (char *)train_path;
	targv[k] = NULL;
	cmp_stage(cfg, "tokenizer (%s ids)", num);
	rc = compare_train(cfg, &tm, *vocab_path, targv, 0, e);
	compare_model_free(&tm, 0);
	return rc;
}

/* The n-gram of this order: trained or reused. */
int
compare_ngram(const struct compare_cfg *cfg, struct compare_model *m, int order, uint64_t split_hash,
    const struct bpe *vocab, const char *vocab_path, const char *train_path, const char *threads,
    size_t ntrain_tok, struct ad_error *e)
{
	char  cfgtext[512], *path, ord[8], *nargv[16];
	int   k = 0, rc;

	snprintf(ord, sizeof ord, "%d", order);
	snprintf(cfgtext, sizeof cfgtext, "ngram v1 order %d vocab %016llx", order,
	    (unsigned long long)bpe_identity(vocab));
	path = compare_path(cfg->out, "ngram%d-%016llx.bin", order,
	    (unsigned long long)compare_key(split_hash, cfgtext));
	nargv[k++] = "train";
	nargv[k++] = "ngram";
	nargv[k++] = "-t";
	nargv[k++] = (char *)vocab_path;
	nargv[k++] = "--order";
	nargv[k++] = ord;
	nargv[k++] = "-o";
	nargv[k++] = path;
	nargv[k++] = "--quiet";
	/* Small or synthetic text can leave a count-of-counts at zero. */
	nargv[k++] = "--discount-fallback";
	if (cfg->threads) {
		nargv[k++] = "--threads";
		nargv[k++] = (char *)threads;
	}
	nargv[k++] = (char *)train_path;
	nargv[k] = NULL;
	if (order == 1)
		snprintf(m->name, sizeof m->name, "unigram");
	else
		snprintf(m->name, sizeof m->name, "%d-gram", order);
	m->kind = COMPARE_NGRAM;
	m->order = order;
	if (path == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	cmp_stage(cfg, "%s", m->name);
	rc = compare_train(cfg, m, path, nargv, (double)ntrain_tok, e);
	ad_free(path);
	return rc;
}

/* The transformer: trained, resumed from its checkpoint, or reused. */
static int
cmp_transformer(const struct compare_cfg *cfg, struct compare_model *m, uint64_t split_hash,
    const struct bpe *vocab, const char *vocab_path, const char *train_path,
    const char *val_path, const char *threads, const char *seed, double tokens_per_byte,
    int masked, struct ad_error *e)
{
	char  *path, *ckpt, *log, steps[24], budget[32], batch[24], val_every[24], cfgtext[512];
	char  *targv[48];
	int      k = 0, rc, resume;
	double   last_step, before = 0;
	uint64_t from = 0;
	struct lm *lm;

	snprintf(steps, sizeof steps, "%llu", (unsigned long long)cfg->steps);
	snprintf(budget, sizeof budget, "%g", cfg->budget);
	snprintf(batch, sizeof batch, "%llu", (unsigned long long)cfg->batch);
	snprintf(val_every, sizeof val_every, "%llu",
	    (unsigned long long)(cfg->steps >= 50 ? cfg->steps / 25 : cfg->steps > 0 ? 2 : 50));
	snprintf(cfgtext, sizeof cfgtext, "transformer v1 vocab %016llx preset %s layers %s heads %s "
	    "dim %s context %s steps %s budget %s batch %s lr %s seed %s",
	    (unsigned long long)bpe_identity(vocab), cfg->preset,
	    cfg->layers ? cfg->layers : "-", cfg->heads ? cfg->heads : "-",
	    cfg->dim ? cfg->dim : "-", cfg->context ? cfg->context : "-",
	    steps, budget, batch, cfg->lr ? cfg->lr : "-", seed);
	/* The causal model's key is what it was before objectives existed. */
	if (masked)
		snprintf(cfgtext + strlen(cfgtext), sizeof cfgtext - strlen(cfgtext),
		    " objective masked");
	path = compare_path(cfg->out, "transformer-%016llx.bin",
	    (unsigned long long)compare_key(split_hash, cfgtext));
	ckpt = compare_path(cfg->out, "transformer-%016llx.bin.ckpt",
	    (unsigned long long)compare_key(split_hash, cfgtext));
	log = compare_path(cfg->out, "transformer-%016llx.jsonl",
	    (unsigned long long)compare_key(split_hash, cfgtext));
	if (path == NULL || ckpt == NULL || log == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto done;
	}
	targv[k++] = "train";
	targv[k++] = "transformer";
	/* Interrupted (a model but no .run file, and a checkpoint): continue it,
	 * its cost the training time the checkpoint records plus this run's. */
	resume = compare_plan(cfg->retrain, path, ckpt, NULL) == COMPARE_RESUME;
	if (resume) {
		before = compare_ckpt_seconds(ckpt, &from);
		targv[k++] = "--resume";
		targv[k++] = ckpt;
	} else {
		targv[k++] = "-t";
		targv[k++] = (char *)vocab_path;
		targv[k++] = "--preset";
		targv[k++] = (char *)cfg->preset;
		if (cfg->layers) { targv[k++] = "--layers"; targv[k++] = (char *)cfg->layers; }
		if (cfg->heads) { targv[k++] = "--heads"; targv[k++] = (char *)cfg->heads; }
		if (cfg->dim) { targv[k++] = "--dim"; targv[k++] = (char *)cfg->dim; }
		if (cfg->context) { targv[k++] = "--context"; targv[k++] = (char *)cfg->context; }
		targv[k++] = "--batch";
		targv[k++] = batch;
		if (cfg->lr) { targv[k++] = "--lr"; targv[k++] = (char *)cfg->lr; }
		targv[k++] = "--seed";
		targv[k++] = (char *)seed;
		if (masked) {
			targv[k++] = "--objective";
			targv[k++] = "masked";
		}
	}
	if (cfg->steps > 0) {
		targv[k++] = "--steps";
		targv[k++] = steps;
	} else {
		targv[k++] = "--time-budget";
		targv[k++] = budget;
	}
	targv[k++] = "--val";
	targv[k++] = (char *)val_path;
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
	if (cfg->quiet)
		targv[k++] = "--quiet";
	if (cfg->threads) {
		targv[k++] = "--threads";
		targv[k++] = (char *)threads;
	}
	targv[k++] = (char *)train_path;
	targv[k] = NULL;
	snprintf(m->name, sizeof m->name, masked ? "transformer (%s, masked)" :
	    "transformer (%s)", cfg->preset);
	m->kind = COMPARE_TRANSFORMER;
	/* Kept in its .run file, so that a later run reusing the model still
	 * says its figures come from two runs (a reuse reads it back). */
	m->resumed = resume;
	m->resumed_step = from;
	cmp_stage(cfg, "%s", m->name);
	rc = compare_train(cfg, m, path, targv, 0, e);
	cmp_curve(m, log, tokens_per_byte, &last_step);
	if (masked) {
		/* Its held-out loss is over the masked tokens only: not bits per
		 * byte of the text, so no point on the bits-per-byte charts. */
		ad_free(m->curve);
		m->curve = NULL;
		m->ncurve = 0;
	}
	if (rc != 0)
		goto done;
	if (!m->reused) {
		m->train_seconds += before;
		m->train_tokens = 0;   /* filled below from the model's shape */
	}
	/* Tokens processed: steps x batch x context (context from the model). */
	if ((rc = lm_open(&lm, m->path, e)) != 0)
		goto done;
	if (!(m->train_tokens > 0)) {
		m->train_tokens = last_step * (double)cfg->batch * (double)lm->context;
		rc = compare_run_save(m->path, m, e);
	}
	lm_free(lm);
done:
	ad_free(path);
	ad_free(ckpt);
	ad_free(log);
	return rc;
}

/* A sample being collected: its text, and where each token's text ends
 * (lm_generate counts a token in *ngen before emitting its text). */
struct cmp_sample {
	FILE                 *mem;
	size_t                len;
	struct compare_shade *shades;   /* (sample_tokens) */
	const size_t         *ngen;
};

/* lm_generate's emit: collect the text in a memory stream. */
static int
cmp_emit(void *ctx, const uint8_t *b, size_t n)
{
	struct cmp_sample *c = ctx;

	c->len += n;
	if (*c->ngen > 0)
		c->shades[*c->ngen - 1].end = c->len;
	return fwrite(b, 1, n, c->mem) != n;
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
			if ((out[n] = ad_strndup((const char *)sp->val + pos, k - pos)) != NULL)
				n++;
		}
		line++;
		pos = end + 1;
	}
	return n;
}

/* Score m on the held-out text and sample it for every prompt. */
static int
cmp_score(const struct compare_cfg *cfg, const struct data_split *sp, struct compare_report *r,
    struct compare_model *m, struct ad_error *e)
{
	struct lm           *lm;
	struct lm_generator *gen;
	struct ad_progress  *prog = NULL;
	struct lm_calib_acc *acc = NULL;
	struct lm_gen_token *toks = NULL;
	int                  rc;

	if (lm_open(&lm, m->path, e) != 0)
		return e->code;
	m->params = lm->params;
	m->file_bytes = cmp_file_size(m->path);
	if (cfg->on_progress != NULL)
		prog = cfg->on_progress(cfg->hook_ctx, "eval", sp->val_len, "B");
	/* Calibration too: the held-out part is small next to a training run.
	 * A masked model has no next-token predictions to calibrate: its text
	 * is scored by pseudo-log-likelihood (m->eval.pseudo). */
	if (lm_is_masked(lm))
		rc = lm_eval_text(lm, sp->val, sp->val_len, &m->eval, prog, e);
	else if ((rc = lm_calib_acc_new(&acc, e)) == 0 &&
	    (rc = lm_eval_text_calib(lm, sp->val, sp->val_len, &m->eval, acc, prog, e)) == 0 &&
	    (rc = lm_calib_finish(acc, &m->eval.calib, e)) == 0)
		m->eval.has_calib = 1;
	lm_calib_acc_free(acc);
	ad_progress_free(prog);
	if (rc != 0) {
		lm_free(lm);
		ad_error_prefix(e, "%s", m->path);
		return rc;
	}
	if ((m->samples = ad_calloc(r->nprompts + 1, sizeof *m->samples)) == NULL ||
	    (m->shades = ad_calloc(r->nprompts + 1, sizeof *m->shades)) == NULL ||
	    (m->nshades = ad_calloc(r->nprompts + 1, sizeof *m->nshades)) == NULL) {
		lm_free(lm);
		return ad_fail(e, AD_ENOMEM, "out of memory");
	}
	if (lm_is_masked(lm)) {
		/* Nothing to sample left to right: the report says so per prompt. */
		for (size_t p = 0; p < r->nprompts && rc == 0; p++)
			if ((m->samples[p] = ad_strdup("(a masked model does not generate text left "
			    "to right)")) == NULL)
				rc = ad_fail(e, AD_ENOMEM, "out of memory");
		lm_free(lm);
		return rc;
	}
	if ((toks = ad_mallocarray(cfg->sample_tokens + 1, sizeof *toks)) == NULL ||
	    lm_generator_new(&gen, lm, e) != 0) {
		lm_free(lm);
		rc = toks == NULL ? ad_fail(e, AD_ENOMEM, "out of memory") : e->code;
		ad_free(toks);
		return rc;
	}
	for (size_t p = 0; p < r->nprompts; p++) {
		struct ad_rng     rng;
		char             *text = NULL;
		size_t            tlen = 0, ngen = 0;
		struct cmp_sample cs = { .ngen = &ngen };

		cs.mem = open_memstream(&text, &tlen);
		cs.shades = ad_calloc(cfg->sample_tokens + 1, sizeof *cs.shades);
		if (cs.mem == NULL || cs.shades == NULL) {
			if (cs.mem != NULL)
				fclose(cs.mem);
			free(text);
			ad_free(cs.shades);
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			break;
		}
		/* The same random stream for every model, one per prompt. */
		ad_rng_seed(&rng, cfg->seed, p);
		rc = lm_generate(gen, &r->sampling, &rng, r->prompts[p], cfg->sample_tokens, cmp_emit,
		    &cs, toks, &ngen, e);
		fclose(cs.mem);
		for (size_t i = 0; i < ngen; i++)
			cs.shades[i].p = toks[i].p;
		if (rc == 0) {
			m->shades[p] = cs.shades;
			m->nshades[p] = ngen;
		} else {
			ad_free(cs.shades);
		}
		if (rc != 0 && rc != AD_EINVAL) {
			free(text);
			break;
		}
		if (rc == AD_EINVAL) {
			/* The prompt means nothing to this model: say so in the report. */
			free(text);
			ad_error_clear(e);
			text = ad_strdup("(the prompt encodes to no tokens for this model)");
			rc = 0;
		}
		m->samples[p] = text;
	}
	lm_generator_free(gen);
	lm_free(lm);
	ad_free(toks);
	return rc;
}

/* ---- the nearest-neighbour LM over the causal transformer ------------------------ */

/* A token's bytes as printable text: newline as \n, other control bytes,
 * '"', '\\' and bytes of no whole UTF-8 character (a piece of one) as
 * \xNN (ad_malloc'ed; NULL when out of memory). */
static char *
cmp_token_text(const struct lm *lm, uint32_t id)
{
	const uint8_t *b;
	size_t         n, k = 0;
	char          *s;

	lm_token_text(lm, id, &b, &n);
	if ((s = ad_malloc(4 * n + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t u = b[i] >= 0x80 ? ad_utf8_valid_len(b + i, n - i) : 1;
		if (b[i] >= 0x80 && u > 0) {
			memcpy(s + k, b + i, u);   /* a whole character */
			k += u;
			i += u - 1;
		} else if (b[i] == '\n') {
			k += (size_t)sprintf(s + k, "\\n");
		} else if (b[i] < 0x20 || b[i] >= 0x80 || b[i] == '"' || b[i] == '\\') {
			k += (size_t)sprintf(s + k, "\\x%02x", b[i]);
		} else {
			s[k++] = (char)b[i];
		}
	}
	s[k] = '\0';
	return s;
}

/*
 * Build (or reuse) the store of the causal transformer m on the training
 * text, tune it on the first half of the held-out text and score the
 * second (knn_tune); the store keeps the tuned parameters, so eval of it
 * gives the interpolation's figures.
 */
static int
cmp_knn(const struct compare_cfg *cfg, const struct data_split *sp, const struct compare_model *m,
    uint64_t split_hash, const char *train_path, const char *threads, struct compare_knn *out,
    struct ad_error *e)
{
	struct compare_model   tm = { 0 };
	struct lm             *lm = NULL;
	const struct knn_store *st;
	struct knn_tune        *t = &out->tune;
	char                    cfgtext[256], maxtok[24], *path = NULL, *kargv[16];
	uint64_t                mhash;
	double                  t0;
	int                     k = 0, rc;

	if ((rc = knn_model_hash(m->path, &mhash, e)) != 0)
		return rc;
	/* The model's checksum, not its path: a retrained transformer (same
	 * configuration, other bytes) needs a store of its own. */
	snprintf(cfgtext, sizeof cfgtext, "knn v1 model %016llx max-tokens %llu",
	    (unsigned long long)mhash, (unsigned long long)cfg->knn_tokens);
	snprintf(maxtok, sizeof maxtok, "%llu", (unsigned long long)cfg->knn_tokens);
	if ((path = compare_path(cfg->out, "knn-%016llx.knn",
	    (unsigned long long)compare_key(split_hash, cfgtext))) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	kargv[k++] = "knn";
	kargv[k++] = "build";
	kargv[k++] = "-m";
	kargv[k++] = m->path;
	kargv[k++] = "-o";
	kargv[k++] = path;
	kargv[k++] = "--quiet";
	if (cfg->knn_tokens > 0) {
		kargv[k++] = "--max-tokens";
		kargv[k++] = maxtok;
	}
	if (cfg->threads) {
		kargv[k++] = "--threads";
		kargv[k++] = (char *)threads;
	}
	kargv[k++] = (char *)train_path;
	kargv[k] = NULL;
	snprintf(out->model, sizeof out->model, "%s", m->name);
	out->max_tokens = cfg->knn_tokens;
	cmp_stage(cfg, "kNN-LM store of %s (%s training tokens)", m->name,
	    cfg->knn_tokens > 0 ? maxtok : "all");
	rc = compare_train(cfg, &tm, path, kargv, 0, e);
	ad_free(path);
	out->path = tm.path;
	out->command = tm.command;
	out->build_seconds = tm.train_seconds;
	out->peak_rss_kb = tm.peak_rss_kb;
	out->reused = tm.reused;
	tm.path = tm.command = NULL;
	compare_model_free(&tm, 0);
	if (rc != 0)
		return rc;
	if ((rc = lm_open(&lm, out->path, e)) != 0)
		return rc;
	st = knn_lm_store(lm);
	out->entries = st->N;
	out->width = st->C;
	out->file_bytes = cmp_file_size(out->path);
	cmp_stage(cfg, "kNN-LM: tuning k, temperature and lambda on the first half of the "
	    "held-out text, scoring the second");
	t0 = ad_now();
	if ((rc = knn_tune(lm, sp->val, sp->val_len, t, e)) != 0)
		goto done;
	out->tune_seconds = ad_now() - t0;
	out->cut = sp->val_len - t->test_bytes;
	/* The tokens that gain most, then those that lose most (no token twice). */
	for (size_t i = 0; i < t->ngains && out->ngain < COMPARE_KNN_SHOW; i++) {
		struct compare_gain *g = &out->gain[out->ngain++];
		*g = (struct compare_gain){ t->gains[i].id, t->gains[i].count, t->gains[i].nats,
		    cmp_token_text(lm, t->gains[i].id) };
	}
	for (size_t i = t->ngains; i > out->ngain && out->nlose < COMPARE_KNN_SHOW; i--) {
		struct compare_gain *g = &out->lose[out->nlose++];
		*g = (struct compare_gain){ t->gains[i - 1].id, t->gains[i - 1].count,
		    t->gains[i - 1].nats, cmp_token_text(lm, t->gains[i - 1].id) };
	}
	knn_tune_free(t);
	t->ngains = 0;
	/* Keep the tuned parameters in the store (a reused store already has them). */
	if (t->best.k != st->params.k || t->best.lambda != st->params.lambda ||
	    t->best.temperature != st->params.temperature || t->best.metric != st->params.metric)
		rc = knn_store_rewrite(out->path, out->path, &t->best, e);
done:
	if (rc != 0)
		ad_error_prefix(e, "%s", out->path);
	lm_free(lm);
	return rc;
}

void
compare_knn_free(struct compare_knn *k)
{
	if (k == NULL)
		return;
	ad_free(k->path);
	ad_free(k->command);
	knn_tune_free(&k->tune);
	for (size_t i = 0; i < k->ngain; i++)
		ad_free(k->gain[i].text);
	for (size_t i = 0; i < k->nlose; i++)
		ad_free(k->lose[i].text);
	ad_free(k);
}

/* Hide each of the blanks from m in turn (blanks.c). */
static int
cmp_fill(const struct compare_cfg *cfg, const struct data_split *sp,
    const struct compare_blank *bl, size_t nb, struct compare_model *m, struct ad_error *e)
{
	struct lm *lm;
	int        rc;

	cmp_stage(cfg, "fill-in: %s, %zu blanks", m->name, nb);
	if (lm_open(&lm, m->path, e) != 0)
		return e->code;
	if ((rc = compare_fill_score(lm, sp->val, sp->val_len, bl, nb, &m->fill, e)) == 0)
		m->has_fill = 1;
	else
		ad_error_prefix(e, "%s", m->path);
	lm_free(lm);
	return rc;
}

static int
cmp_check(const struct compare_cfg *cfg, struct ad_error *e)
{
	if (cfg->nfiles == 0 || cfg->out == NULL || cfg->self == NULL)
		return ad_fail(e, AD_EINVAL, "compare: no corpus, work directory or program to run");
	if (cfg->norders < 0 || cfg->norders > COMPARE_MAX_ORDERS ||
	    cfg->nprompts > COMPARE_MAX_PROMPTS)
		return ad_fail(e, AD_EINVAL, "compare: at most %d orders and %d prompts",
		    COMPARE_MAX_ORDERS, COMPARE_MAX_PROMPTS);
	for (int i = 0; i < cfg->norders; i++)
		if (cfg->orders[i] < 1 || cfg->orders[i] > 8)
			return ad_fail(e, AD_EINVAL, "compare: n-gram order %d is not in 1..8",
			    cfg->orders[i]);
	if ((cfg->vocab == NULL) == (cfg->vocab_size == 0))
		return ad_fail(e, AD_EINVAL, "compare: give a vocabulary or the size of one to train");
	if (cfg->knn && (cfg->no_transformer || (cfg->masked && !cfg->causal)))
		return ad_fail(e, AD_EINVAL, "compare: --knn needs the causal transformer (its "
		    "context vectors are the store's keys): drop --no-transformer, or add causal "
		    "to --objective");
	if (!cfg->no_transformer && ((cfg->steps > 0) == (cfg->budget > 0) ||
	    cfg->preset == NULL || cfg->batch == 0))
		return ad_fail(e, AD_EINVAL, "compare: the transformer needs a preset, a batch size "
		    "and either steps or a time budget");
	return 0;
}

int
compare_run(const struct compare_cfg *cfg, struct compare_report *out, struct ad_error *e)
{
	struct data_split     sp = { 0 };
	struct compare_report rep = { 0 };
	struct bpe           *vocab = NULL;
	char                 *train_path = NULL, *val_path = NULL;
	char                  threads[16], seed[24];
	uint32_t             *ids = NULL;
	size_t                nids = 0, cap = 0, ntrain_tok = 0;
	uint64_t              split_hash;
	struct lm_calib       uniform_calib;
	size_t                causal = SIZE_MAX;   /* the causal transformer's row */
	int                   rc;

	if ((rc = cmp_check(cfg, e)) != 0)
		return rc;
	snprintf(threads, sizeof threads, "%d", cfg->threads);
	snprintf(seed, sizeof seed, "%llu", (unsigned long long)cfg->seed);
	/* Uniform, unigram, the orders asked for, the transformer. */
	if ((rep.models = ad_calloc((size_t)cfg->norders + 4, sizeof *rep.models)) == NULL ||
	    (rep.prompts = ad_calloc(COMPARE_MAX_PROMPTS, sizeof *rep.prompts)) == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto fail;
	}

	/* 1. One split, written where the children read it. */
	if (mkdir(cfg->out, 0777) != 0 && errno != EEXIST) {
		rc = ad_fail_errno(e, errno, "%s: cannot create the output directory", cfg->out);
		goto fail;
	}
	if ((rc = data_split_files(&sp, cfg->files, cfg->nfiles, cfg->val_fraction, cfg->val,
	    e)) != 0)
		goto fail;
	if (sp.val_len == 0) {
		rc = ad_fail(e, AD_EDATA, "the held-out part is empty: the corpus is too small for "
		    "a split (give more text, a larger --val-fraction, or --val FILE)");
		goto fail;
	}
	split_hash = ad_hash64(sp.val, sp.val_len, ad_hash64(sp.train, sp.train_len, 0));
	train_path = compare_path(cfg->out, "train.txt");
	val_path = compare_path(cfg->out, "val.txt");
	if (train_path == NULL || val_path == NULL) {
		rc = ad_fail(e, AD_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = compare_write_if_changed(train_path, sp.train, sp.train_len, e)) != 0 ||
	    (rc = compare_write_if_changed(val_path, sp.val, sp.val_len, e)) != 0)
		goto fail;

	/* 2. The tokenizer. */
	if ((rc = compare_tokenizer(cfg, &sp, train_path, threads, &rep.vocab_path, e)) != 0 ||
	    (rc = bpe_load(&vocab, rep.vocab_path, e)) != 0)
		goto fail;
	if ((rc = data_tokenize(vocab, cfg->threads, sp.val, sp.val_len, &ids, &nids, &cap, e)) != 0)
		goto fail;
	rep.val_tokens = nids;
	lm_calib_uniform(ids, nids, bpe_vocab_size(vocab), &uniform_calib);
	nids = 0;
	if ((rc = data_tokenize(vocab, cfg->threads, sp.train, sp.train_len, &ids, &nids, &cap,
	    e)) != 0)
		goto fail;
	ntrain_tok = nids;

	/* 3. The uniform baseline needs no training. */
	{
		struct compare_model *m = &rep.models[rep.nmodels++];
		snprintf(m->name, sizeof m->name, "uniform");
		m->kind = COMPARE_UNIFORM;
		m->eval.tokens = rep.val_tokens;
		m->eval.nats = (double)rep.val_tokens * log((double)bpe_vocab_size(vocab));
		m->eval.bytes = sp.val_len;
		m->eval.lines = sp.val_lines;
		m->eval.calib = uniform_calib;
		m->eval.has_calib = 1;
	}

	/* 4. n-grams: the unigram baseline, then the orders asked for. */
	{
		int orders[COMPARE_MAX_ORDERS + 1], n = 0;
		orders[n++] = 1;
		for (int i = 0; i < cfg->norders; i++)
			if (cfg->orders[i] != 1)
				orders[n++] = cfg->orders[i];
		for (int i = 0; i < n; i++)
			if ((rc = compare_ngram(cfg, &rep.models[rep.nmodels++], orders[i], split_hash, vocab,
			    rep.vocab_path, train_path, threads, ntrain_tok, e)) != 0)
				goto fail;
	}

	/* 5. The transformers: causal, masked or both, on one budget each. */
	for (int masked = 0; masked <= 1 && !cfg->no_transformer; masked++) {
		if (masked ? !cfg->masked : !(cfg->causal || !cfg->masked))
			continue;
		if (!masked)
			causal = rep.nmodels;
		if ((rc = cmp_transformer(cfg, &rep.models[rep.nmodels++], split_hash, vocab,
		    rep.vocab_path, train_path, val_path, threads, seed,
		    (double)rep.val_tokens / (double)sp.val_len, masked, e)) != 0)
			goto fail;
	}

	/* 6. Score everything on the same held-out text; sample each model. */
	for (size_t p = 0; p < cfg->nprompts; p++)
		if ((rep.prompts[rep.nprompts++] = ad_strdup(cfg->prompts[p])) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto fail;
		}
	if (rep.nprompts == 0)
		rep.nprompts = cmp_default_prompts(&sp, rep.prompts, COMPARE_MAX_PROMPTS);
	rep.sampling = cfg->sampling;
	rep.sample_tokens = cfg->sample_tokens;
	for (size_t i = 0; i < rep.nmodels; i++)
		if (rep.models[i].path != NULL &&
		    (rc = cmp_score(cfg, &sp, &rep, &rep.models[i], e)) != 0)
			goto fail;

	/* 6b. The kNN-LM over the causal transformer (--knn). */
	if (cfg->knn && causal != SIZE_MAX) {
		if ((rep.knn = ad_calloc(1, sizeof *rep.knn)) == NULL) {
			rc = ad_fail(e, AD_ENOMEM, "out of memory");
			goto fail;
		}
		if ((rc = cmp_knn(cfg, &sp, &rep.models[causal], split_hash, train_path, threads,
		    rep.knn, e)) != 0)
			goto fail;
	}

	/* 7. Held-out fill-in: the same blanks for every model but uniform. */
	rep.blanks = cfg->blanks;
	if (cfg->blanks > 0) {
		struct compare_blank *bl = NULL;
		if ((rc = compare_blanks_pick(sp.val, sp.val_len, cfg->blanks, cfg->seed, &bl,
		    &rep.nwords, e)) != 0)
			goto fail;
		for (size_t i = 0; i < rep.nmodels && rc == 0; i++)
			if (rep.models[i].path != NULL)
				rc = cmp_fill(cfg, &sp, bl, rep.nwords, &rep.models[i], e);
		ad_free(bl);
		if (rc != 0)
			goto fail;
	}

	/* 8. What the report says about the corpus and the split. */
	rep.files = cfg->files;
	rep.nfiles = cfg->nfiles;
	rep.corpus_hash = split_hash;
	rep.train_bytes = sp.train_len;
	rep.val_bytes = sp.val_len;
	rep.train_lines = sp.train_lines;
	rep.val_lines = sp.val_lines;
	rep.val_fraction = cfg->val_fraction;
	rep.val_path = cfg->val;
	rep.vocab_size = bpe_vocab_size(vocab);
	rep.vocab_identity = bpe_identity(vocab);
	rep.seed = cfg->seed;
	rep.outdir = cfg->out;
	*out = rep;
	rc = 0;
	goto done;
fail:
	if (rc == AD_EINTR)
		ad_fail(e, AD_EINTR, "interrupted; the models finished so far are kept in %s "
		    "and the next run reuses them (and resumes the transformer from its "
		    "checkpoint)", cfg->out);
	compare_report_free(&rep);
done:
	bpe_free(vocab);
	data_split_free(&sp);
	ad_free(ids);
	ad_free(train_path);
	ad_free(val_path);
	return rc;
}

void
compare_report_free(struct compare_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; r->models != NULL && i < r->nmodels; i++)
		compare_model_free(&r->models[i], r->nprompts);
	ad_free(r->models);
	for (size_t p = 0; r->prompts != NULL && p < COMPARE_MAX_PROMPTS; p++)
		ad_free(r->prompts[p]);
	ad_free(r->prompts);
	ad_free(r->vocab_path);
	compare_knn_free(r->knn);
	memset(r, 0, sizeof *r);
}
