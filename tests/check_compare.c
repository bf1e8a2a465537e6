/*
 * check_compare.c — the comparison engine (compare_run) on a tiny synthetic
 * corpus, and the child process it times (compare_child_run).
 *
 * Oracles: the split put back together is the corpus; every model's row is
 * the figure its own file gives when scored directly through lm_eval_text
 * on the held-out file the engine wrote; the uniform row is tokens x ln V
 * with V read from the vocabulary file; the n-gram's token count is the
 * engine's held-out token count plus one </s> per line (two independent
 * counts); the transformer's curve is its metrics log read again here with
 * sscanf; a second run reuses every model and gives identical figures, and
 * a changed configuration or corpus trains again exactly what its key
 * covers. The child's time is checked against a shell's sleep.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "base/err.h"
#include "base/io.h"
#include "base/progress.h"
#include "compare/compare.h"
#include "compare/compare_impl.h"
#include "compare/sweep.h"
#include "synth/synth.h"
#include "bpe/bpe.h"
#include "testutil.h"

/* The program the engine runs for each training (set by make check). */
static const char *
self_path(void)
{
	const char *p = getenv("AUTODIDACT");

	return p != NULL && *p != '\0' ? p : "./autodidact";
}

/* A synthetic corpus of n sentences in dir/name; returns its path. */
static char *
corpus(const char *dir, const char *name, uint64_t seed, uint64_t n)
{
	struct synth_config cfg = { .bias = 0.7, .seed = seed, .sentences = n };
	struct synth_truth  truth;
	struct ad_error     e = { 0 };
	char               *path = malloc(4096);
	FILE               *f;

	ck_assert_ptr_nonnull(path);
	snprintf(path, 4096, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_int_eq(synth_generate(&cfg, f, &truth, NULL, &e), 0);
	synth_truth_free(&truth);
	ck_assert_int_eq(fclose(f), 0);
	return path;
}

static struct compare_cfg
ngram_cfg(const char *const *files, const char *out)
{
	struct compare_cfg c = {
		.files = files, .nfiles = 1, .out = out, .self = self_path(),
		.val_fraction = 0.1, .vocab_size = 300, .orders = { 2, 3 }, .norders = 2,
		.no_transformer = 1, .batch = 8, .sampling = { .temperature = 0.8, .top_p = 1 },
		.sample_tokens = 12, .seed = 5, .threads = 1, .quiet = 1,
	};
	return c;
}

static const struct compare_model *
model(const struct compare_report *r, const char *name)
{
	for (size_t i = 0; i < r->nmodels; i++)
		if (strcmp(r->models[i].name, name) == 0)
			return &r->models[i];
	ck_abort_msg("no model %s in the report", name);
	return NULL;
}

/* The model's file scored directly on the held-out file the engine wrote. */
static void
check_scored_directly(const struct compare_model *m, const char *out)
{
	struct ad_error e = { 0 };
	struct ad_map   val;
	struct lm      *lm;
	struct lm_eval  want = { 0 };
	char            path[4200];

	snprintf(path, sizeof path, "%s/val.txt", out);
	ck_assert_int_eq(ad_map_file(path, &val, &e), 0);
	ck_assert_int_eq(lm_open(&lm, m->path, &e), 0);
	ck_assert_int_eq(lm_eval_text(lm, val.data, val.size, &want, NULL, &e), 0);
	ck_assert_msg(want.nats == m->eval.nats, "%s: %.17g nats, scored directly %.17g",
	    m->name, m->eval.nats, want.nats);
	ck_assert_uint_eq(want.tokens, m->eval.tokens);
	ck_assert_uint_eq(want.oovs, m->eval.oovs);
	ck_assert_uint_eq(want.lines, m->eval.lines);
	ck_assert_uint_eq(want.bytes, m->eval.bytes);
	ck_assert_uint_eq(lm->params, m->params);
	lm_free(lm);
	ad_map_release(&val);
}

START_TEST(test_ngrams_scored_reused_and_rekeyed)
{
	char                 *dir = tu_tmpdir(), out[4200], *cpath, *train, *val, *text, *vp;
	const char           *files[1];
	struct compare_cfg    cfg;
	struct compare_report r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	struct ad_error       e = { 0 };
	struct bpe           *vocab;
	size_t                tl, vl, cl;

	cpath = corpus(dir, "c.txt", 3, 1500);
	files[0] = cpath;
	snprintf(out, sizeof out, "%s/out", dir);
	cfg = ngram_cfg(files, out);
	ck_assert_msg(compare_run(&cfg, &r1, &e) == 0, "%s", e.msg);

	/* The split: training then held-out text is the corpus. */
	snprintf(out + strlen(out), 100, "/train.txt");
	ck_assert_ptr_nonnull(train = tu_slurp(out, &tl));
	snprintf(out + strlen(out) - 9, 100, "val.txt");
	ck_assert_ptr_nonnull(val = tu_slurp(out, &vl));
	snprintf(out, sizeof out, "%s/out", dir);
	ck_assert_ptr_nonnull(text = tu_slurp(cpath, &cl));
	ck_assert_uint_eq(tl + vl, cl);
	ck_assert(memcmp(text, train, tl) == 0 && memcmp(text + tl, val, vl) == 0);
	ck_assert_uint_eq(r1.train_bytes, tl);
	ck_assert_uint_eq(r1.val_bytes, vl);

	/* Rows: uniform, unigram, 2-gram, 3-gram, each scored as its file is. */
	ck_assert_uint_eq(r1.nmodels, 4);
	ck_assert_str_eq(r1.models[0].name, "uniform");
	ck_assert_str_eq(r1.models[1].name, "unigram");
	ck_assert_ptr_null(r1.models[0].path);
	for (size_t i = 1; i < 4; i++) {
		const struct compare_model *m = &r1.models[i];
		check_scored_directly(m, out);
		ck_assert_int_eq(m->reused, 0);
		ck_assert(m->train_seconds > 0 && m->peak_rss_kb > 0);
		ck_assert_ptr_nonnull(strstr(m->command, "autodidact train ngram -t "));
		ck_assert_ptr_nonnull(m->samples);
		ck_assert_ptr_nonnull(m->samples[0]);
		ck_assert_ptr_nonnull(m->samples[1]);
	}
	ck_assert_uint_eq(r1.nprompts, 2);   /* the default: two held-out lines */
	ck_assert_int_eq(bpe_load(&vocab, r1.vocab_path, &e), 0);
	ck_assert_uint_eq(r1.vocab_size, bpe_vocab_size(vocab));
	ck_assert(fabs(r1.models[0].eval.nats - (double)r1.val_tokens * log(r1.vocab_size)) <=
	    1e-9 * r1.models[0].eval.nats);
	bpe_free(vocab);
	/* The n-gram scores a </s> for every held-out line besides the tokens. */
	ck_assert_uint_eq(model(&r1, "2-gram")->eval.tokens, r1.val_tokens + r1.val_lines);

	/* Again: every model reused, the same figures, costs and samples. */
	ck_assert_msg(compare_run(&cfg, &r2, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r2.nmodels, 4);
	for (size_t i = 1; i < 4; i++) {
		const struct compare_model *a = &r1.models[i], *b = &r2.models[i];
		ck_assert_int_eq(b->reused, 1);
		ck_assert_str_eq(a->path, b->path);
		ck_assert(memcmp(&a->eval, &b->eval, sizeof a->eval) == 0);
		ck_assert(a->train_seconds == b->train_seconds);
		ck_assert_uint_eq(a->peak_rss_kb, b->peak_rss_kb);
		ck_assert(a->train_tokens == b->train_tokens);
		ck_assert_str_eq(a->samples[0], b->samples[0]);
		ck_assert_str_eq(a->samples[1], b->samples[1]);
	}
	compare_report_free(&r2);

	/* Another order: the unigram and 2-gram are reused, the 4-gram is new. */
	cfg.orders[1] = 4;
	ck_assert_msg(compare_run(&cfg, &r2, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(model(&r2, "unigram")->reused, 1);
	ck_assert_int_eq(model(&r2, "2-gram")->reused, 1);
	ck_assert_int_eq(model(&r2, "4-gram")->reused, 0);
	check_scored_directly(model(&r2, "4-gram"), out);
	compare_report_free(&r2);

	/* Another vocabulary: a new tokenizer, so every n-gram is trained again
	 * under a new key. */
	cfg.orders[1] = 3;
	cfg.vocab_size = 320;
	ck_assert_msg(compare_run(&cfg, &r2, &e) == 0, "%s", e.msg);
	ck_assert_str_ne(r1.vocab_path, r2.vocab_path);
	for (size_t i = 1; i < 4; i++) {
		ck_assert_int_eq(r2.models[i].reused, 0);
		ck_assert_str_ne(r1.models[i].path, r2.models[i].path);
		check_scored_directly(&r2.models[i], out);
	}

	/* --retrain trains again in place: the same file, the same figures. */
	cfg.retrain = 1;
	ck_assert_msg(compare_run(&cfg, &r3, &e) == 0, "%s", e.msg);
	for (size_t i = 1; i < 4; i++) {
		ck_assert_int_eq(r3.models[i].reused, 0);
		ck_assert_str_eq(r2.models[i].path, r3.models[i].path);
		ck_assert(memcmp(&r2.models[i].eval, &r3.models[i].eval, sizeof r3.models[i].eval) == 0);
	}
	compare_report_free(&r3);
	compare_report_free(&r2);

	/* Another corpus (one line more): a new split, so new keys. */
	cfg.retrain = 0;
	cfg.vocab_size = 300;
	{
		FILE *f = fopen(cpath, "a");
		ck_assert_ptr_nonnull(f);
		fputs("the nurse said that she would come back .\n", f);
		ck_assert_int_eq(fclose(f), 0);
	}
	ck_assert_msg(compare_run(&cfg, &r2, &e) == 0, "%s", e.msg);
	ck_assert(r2.corpus_hash != r1.corpus_hash);
	for (size_t i = 1; i < 4; i++) {
		ck_assert_int_eq(r2.models[i].reused, 0);
		ck_assert_str_ne(r1.models[i].path, r2.models[i].path);
	}
	compare_report_free(&r2);

	/* The report files. */
	ck_assert_int_eq(compare_report_save(&r1, out, &e), 0);
	snprintf(out + strlen(out), 100, "/report.json");
	free(text);
	ck_assert_ptr_nonnull(text = tu_slurp(out, NULL));
	ck_assert_ptr_nonnull(strstr(text, "\"perplexity_excl_oov\""));
	ck_assert_ptr_nonnull(vp = strstr(text, "\"vocab_size\": 300"));

	compare_report_free(&r1);
	free(text);
	free(train);
	free(val);
	free(cpath);
	free(dir);
}
END_TEST

START_TEST(test_transformer_curve_from_its_log)
{
	char                 *dir = tu_tmpdir(), out[4200], *cpath, logpath[4300];
	const char           *files[1];
	struct compare_cfg    cfg;
	struct compare_report r = { 0 }, r2 = { 0 };
	struct ad_error       e = { 0 };
	const struct compare_model *m;
	struct lm            *lm;
	FILE                 *f;
	char                  line[1024];
	size_t                k = 0;
	double                last = 0;

	cpath = corpus(dir, "c.txt", 4, 1200);
	files[0] = cpath;
	snprintf(out, sizeof out, "%s/out", dir);
	cfg = ngram_cfg(files, out);
	cfg.norders = 0;
	cfg.no_transformer = 0;
	cfg.preset = "tiny";
	cfg.steps = 6;
	cfg.batch = 2;
	ck_assert_msg(compare_run(&cfg, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.nmodels, 3);   /* uniform, unigram, transformer */
	m = model(&r, "transformer (tiny)");
	ck_assert_int_eq(m->kind, COMPARE_TRANSFORMER);
	check_scored_directly(m, out);
	ck_assert_ptr_nonnull(strstr(m->command, "--steps 6"));

	/* The curve: every log line with a held-out loss, in bits per byte. */
	snprintf(logpath, sizeof logpath, "%s", m->path);
	strcpy(strstr(logpath, ".bin"), ".jsonl");
	ck_assert_ptr_nonnull(f = fopen(logpath, "r"));
	while (fgets(line, sizeof line, f) != NULL) {
		double step, val, sec;
		char  *p;
		ck_assert(sscanf(line, "{\"step\":%lf,", &step) == 1);
		last = step;
		if ((p = strstr(line, "\"val_loss\":")) == NULL || sscanf(p, "\"val_loss\":%lf", &val) != 1)
			continue;
		ck_assert_ptr_nonnull(p = strstr(line, "\"elapsed\":"));
		ck_assert(sscanf(p, "\"elapsed\":%lf", &sec) == 1);
		ck_assert_uint_lt(k, m->ncurve);
		ck_assert(m->curve[k].step == step);
		ck_assert(m->curve[k].seconds == sec);
		ck_assert(fabs(m->curve[k].bpb - val * (double)r.val_tokens / (double)r.val_bytes /
		    log(2)) < 1e-12);
		k++;
	}
	fclose(f);
	ck_assert_uint_eq(k, m->ncurve);
	ck_assert_uint_eq(k, 3);   /* steps 2, 4, 6 */
	ck_assert(last == 6);
	ck_assert_int_eq(lm_open(&lm, m->path, &e), 0);
	ck_assert(m->train_tokens == 6.0 * 2 * lm->context);
	lm_free(lm);

	/* A line cut short (as a kill leaves it) is skipped, not misread: here
	 * every field is there but the object is not closed. */
	ck_assert_ptr_nonnull(f = fopen(logpath, "a"));
	fputs("{\"step\":7,\"loss\":5.1,\"val_loss\":4.5,\"lr\":0.0001,\"grad_norm\":0.5,"
	    "\"tokens_per_s\":100.0,\"elapsed\":9.87", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_msg(compare_run(&cfg, &r2, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(model(&r2, "transformer (tiny)")->reused, 1);
	ck_assert_uint_eq(model(&r2, "transformer (tiny)")->ncurve, 3);
	ck_assert(memcmp(model(&r2, "transformer (tiny)")->curve, m->curve, 3 * sizeof *m->curve) == 0);
	ck_assert(model(&r2, "transformer (tiny)")->train_tokens == m->train_tokens);
	compare_report_free(&r2);
	compare_report_free(&r);
	free(cpath);
	free(dir);
}
END_TEST

/*
 * A masked model's pseudo bits per byte get a column of their own in every
 * report, never the bits/byte column, and never make it the best model:
 * a hand-made report of a causal model (2 bits per byte) and a masked one
 * (pseudo 1 bit per byte, lower on purpose).
 */
START_TEST(test_pseudo_bits_per_byte_own_column)
{
	struct compare_model  ms[2] = { { .kind = COMPARE_NGRAM, .order = 3 },
	                                { .kind = COMPARE_TRANSFORMER } };
	struct compare_report r = { 0 };
	const char           *files[1] = { "c.txt" };
	char                 *buf = NULL, *row;
	size_t                len = 0;
	FILE                 *f;

	strcpy(ms[0].name, "3-gram");
	strcpy(ms[1].name, "transformer (masked)");
	for (int i = 0; i < 2; i++) {
		ms[i].path = (char *)"m";
		ms[i].command = (char *)"autodidact train";
		ms[i].eval.tokens = 100;
		ms[i].eval.bytes = 400;
		ms[i].eval.lines = 4;
	}
	ms[0].eval.nats = 2 * 400 * M_LN2;
	ms[1].eval.nats = 1 * 400 * M_LN2;
	ms[1].eval.pseudo = 1;
	r.files = files;
	r.nfiles = 1;
	r.vocab_path = (char *)"v.bpe";
	r.models = ms;
	r.nmodels = 2;
	r.val_fraction = 0.1;
	ck_assert_ptr_eq(compare_best(&r), &ms[0]);
	ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
	ck_assert_int_eq(compare_write_markdown(&r, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "| T\\* | pseudo bits/byte (masked: not comparable) |"));
	ck_assert_ptr_nonnull(row = strstr(buf, "| **3-gram** |"));
	ck_assert_ptr_nonnull(strstr(row, "| 2.0000 | 0.0000 | 0.0000 | 0.0000 | - | - |\n"));
	ck_assert_ptr_nonnull(row = strstr(buf, "| transformer (masked) |"));
	ck_assert_ptr_nonnull(strstr(row, "| - | - | - | 0.0000 | 0.0000 | 0.0000 | - | 1.0000 |\n"));
	free(buf);
	ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
	ck_assert_int_eq(compare_write_json(&r, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"bits_per_byte\": null"));
	ck_assert_ptr_nonnull(strstr(buf, "\"pseudo_bits_per_byte\": 1"));
	ck_assert_ptr_nonnull(strstr(buf, "\"comparable_with_causal\": false"));
	free(buf);
	ck_assert_ptr_nonnull(f = open_memstream(&buf, &len));
	ck_assert_int_eq(compare_write_html(&r, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "<th>pseudo bits/byte (masked: not comparable)</th>"));
	ck_assert_ptr_nonnull(strstr(buf, "<td class=\"n\">1.0000</td></tr>"));
	free(buf);
}
END_TEST

START_TEST(test_bad_configuration)
{
	struct compare_cfg    cfg;
	struct compare_report r = { 0 };
	struct ad_error       e = { 0 };
	const char           *files[1] = { "no-such-corpus.txt" };
	char                 *dir = tu_tmpdir(), out[4200];

	snprintf(out, sizeof out, "%s/out", dir);
	cfg = ngram_cfg(files, out);
	cfg.vocab = "v.txt";   /* and a size: one or the other */
	ck_assert_int_eq(compare_run(&cfg, &r, &e), AD_EINVAL);
	cfg = ngram_cfg(files, out);
	cfg.orders[0] = 9;
	ck_assert_int_eq(compare_run(&cfg, &r, &e), AD_EINVAL);
	cfg = ngram_cfg(files, out);
	cfg.no_transformer = 0;
	cfg.preset = "tiny";   /* neither steps nor a time budget */
	ck_assert_int_eq(compare_run(&cfg, &r, &e), AD_EINVAL);
	/* Nothing was written for a configuration that cannot run. */
	ck_assert_int_eq(access(out, F_OK), -1);
	cfg = ngram_cfg(files, out);
	ck_assert_int_ne(compare_run(&cfg, &r, &e), 0);
	ck_assert_ptr_nonnull(strstr(e.msg, "no-such-corpus.txt"));
	ck_assert_ptr_null(r.models);   /* out-parameter untouched */
	free(dir);
}
END_TEST

/* ---- the child process ---------------------------------------------------------- */

/*
 * The child's time is its own, not rounded up to a polling period: a child
 * that exits at once (/bin/true) was measured at 20 ms or more, every time,
 * by a 20 ms poll (the first look comes before the exec is done); waited
 * for properly it costs what starting and reaping it costs. The reference
 * is that cost measured here, alternately, by the same fork and exec and a
 * blocking waitpid. When the machine is calm enough that at least a tenth
 * of 100 reference starts take under 15 ms, at least one of as many
 * children must be measured under 20 ms (0.9^100: a chance of about 3e-5
 * of missing it by bad luck). A machine busier than that cannot tell the two apart;
 * the check then says so and passes. A shell sleeping 0.1 s is measured at
 * no less than that.
 */
START_TEST(test_child_time_is_not_polled)
{
	char *const     none[] = { "x", NULL };
	char *const     nap[] = { "-c", "sleep 0.1", NULL };
	struct ad_error e = { 0 };
	double          s, t;
	uint64_t        rss = 0;
	pid_t           pid;
	int             status, tries = 100, fast_ref = 0, fast = 0;

	for (int i = 0; i < tries; i++) {
		t = ad_now();
		ck_assert_int_ge(pid = fork(), 0);
		if (pid == 0) {
			execv("/bin/true", none);
			_exit(127);
		}
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		fast_ref += ad_now() - t < 0.015;
		ck_assert_int_eq(compare_child_run("/bin/true", none, &s, &rss, &e), 0);
		fast += s < 0.02;
	}
	if (fast_ref >= tries / 10)
		ck_assert_msg(fast > 0, "no child that exits at once was measured under 20 ms "
		    "(%d of %d started and reaped directly in under 15 ms)", fast_ref, tries);
	else if (fast == 0)
		fprintf(stderr, "note: the machine is too busy to time a child (%d of %d starts "
		    "under 15 ms); not checked\n", fast_ref, tries);
	ck_assert(rss > 0);
	ck_assert_int_eq(compare_child_run("/bin/sh", nap, &s, &rss, &e), 0);
	ck_assert_msg(s >= 0.1, "a 0.1 s sleep took %.4f s", s);
}
END_TEST

START_TEST(test_child_failures)
{
	char *const     fail3[] = { "-c", "exit 3", NULL };
	char *const     any[] = { "train", "ngram", NULL };
	struct ad_error e = { 0 };
	double          s = -1;
	uint64_t        rss = 0;

	ck_assert_int_eq(compare_child_run("/bin/sh", fail3, &s, &rss, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "exit 3"));
	ad_error_clear(&e);
	/* A program that cannot be run: an error value, and nothing printed. */
	ck_assert_int_eq(compare_child_run("/no/such/program", any, &s, &rss, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot run /no/such/program"));
	ck_assert(s == -1);
}
END_TEST

/* A signal handled on another thread (as an OpenMP worker may take it):
 * only the interrupt pipe can wake the waiting thread. */
static void *
interrupt_later(void *arg)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	ad_interrupt_set(SIGINT);
	return NULL;
}

START_TEST(test_child_interrupted)
{
	char *const     argv[] = { "-c", "exec sleep 5", NULL };
	struct ad_error e = { 0 };
	pthread_t       th;
	double          s, t0 = ad_now();
	uint64_t        rss;

	ck_assert_int_eq(pthread_create(&th, NULL, interrupt_later, NULL), 0);
	ck_assert_int_eq(compare_child_run("/bin/sh", argv, &s, &rss, &e), AD_EINTR);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	/* The child got one SIGINT and stopped: well before its 5 s. */
	ck_assert_msg(ad_now() - t0 < 2.5, "took %.2f s", ad_now() - t0);
	ad_interrupt_clear();
	ad_interrupt_drain();
}
END_TEST

/*
 * The interpolation threshold, on training losses worked by hand (sizes
 * 1..5 of one fraction, tol 0.02): the floor is the lowest loss, the band
 * the floor plus 2% of the descent, the threshold the smallest size from
 * which every larger one is in the band, with two sizes in it at least.
 */
static double
threshold_of(const double *loss, size_t n, double *floor)
{
	struct sweep_point p[8];

	memset(p, 0, sizeof p);
	for (size_t i = 0; i < n; i++) {
		p[i].fraction = 0.5;
		p[i].params = (uint64_t)(n - i) * 10;   /* listed largest first */
		p[i].train_loss = loss[n - 1 - i];
	}
	/* A point of another fraction, which must not count. */
	p[n].fraction = 1;
	p[n].params = 5;
	p[n].train_loss = 0;
	return sweep_threshold(p, n + 1, 0.5, 0.02, floor);
}

START_TEST(test_sweep_threshold)
{
	static const double fits[] = { 5, 3, 1, 0.05, 0.04 };      /* band 0.1392 */
	static const double falling[] = { 5, 4, 3, 2, 1 };         /* band 1.08 */
	static const double dip[] = { 5, 0.1, 2, 0.1, 0.1 };       /* band 0.198 */
	static const double flat[] = { 2, 2, 2 };
	double              floor;

	ck_assert_double_eq(threshold_of(fits, 5, &floor), 40);
	ck_assert_double_eq(floor, 0.04);
	ck_assert(isnan(threshold_of(falling, 5, &floor)));
	ck_assert_double_eq(floor, 1);
	/* Size 20 fits, but size 30 above it does not: the plateau starts at 40. */
	ck_assert_double_eq(threshold_of(dip, 5, &floor), 40);
	ck_assert(isnan(threshold_of(flat, 3, &floor)));
	ck_assert(isnan(floor));
}
END_TEST

/* ---- Held-out fill-in accuracy (blanks.c) ------------------------------------- */

/* What a word is: letters after a space, ended by a space, the line's end
 * or punctuation other than ' and -; never a line's first word. */
START_TEST(test_blank_words)
{
	static const char     text[] = "Hi there, don't go well-known x2y end\nStart here. "
	                               "caf\xc3\xa9 ok";
	static const char    *want[] = { "there", "go", "end", "here", "ok" };
	struct compare_blank *b, *b2;
	struct ad_error       e = { 0 };
	size_t                n, n2;

	ck_assert_int_eq(compare_blanks_pick((const uint8_t *)text, strlen(text), 100, 1, &b, &n,
	    &e), 0);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		ck_assert_uint_eq(b[i].end - b[i].at, strlen(want[i]));
		ck_assert(memcmp(text + b[i].at, want[i], strlen(want[i])) == 0);
	}
	ck_assert_uint_eq(b[2].line, 0);
	ck_assert_uint_eq(b[2].line_end, 37);
	ck_assert_uint_eq(b[3].line, 38);
	ck_assert_uint_eq(b[4].line_end, strlen(text));
	/* Two of the five: the same two for the same seed, in text order. */
	{
		struct compare_blank *b1;
		size_t                n1;
		ck_assert_int_eq(compare_blanks_pick((const uint8_t *)text, strlen(text), 2, 7, &b1,
		    &n1, &e), 0);
		ck_assert_int_eq(compare_blanks_pick((const uint8_t *)text, strlen(text), 2, 7, &b2,
		    &n2, &e), 0);
		ck_assert_uint_eq(n1, 2);
		ck_assert_uint_eq(n2, 2);
		ck_assert(memcmp(b1, b2, 2 * sizeof *b1) == 0);
		ck_assert(b1[0].at < b1[1].at);
		ad_free(b1);
		ad_free(b2);
	}
	/* Over seeds, every word is drawn, each about 2/5 of the time. */
	{
		size_t hits[5] = { 0 };
		for (uint64_t seed = 0; seed < 2000; seed++) {
			ck_assert_int_eq(compare_blanks_pick((const uint8_t *)text, strlen(text), 2, seed,
			    &b2, &n2, &e), 0);
			for (size_t i = 0; i < n2; i++)
				for (size_t w = 0; w < 5; w++)
					hits[w] += b2[i].at == b[w].at;
			ad_free(b2);
		}
		for (size_t w = 0; w < 5; w++)
			ck_assert_msg(hits[w] > 700 && hits[w] < 900, "word %zu drawn %zu of 2000", w,
			    hits[w]);
	}
	ad_free(b);
}
END_TEST

/*
 * A word bigram (ARPA) whose every bigram is listed, so that its fill-in
 * figures work out by hand. p(next | ctx):
 *          x    a    b    y    </s>
 *   <s>   .7   .1   .1   .05  .05
 *   x     .1   .4   .3   .1   .1
 *   a     .1   .1   .1   .2   .5
 *   b     .1   .1   .1   .6   .1
 *   y     .1   .1   .1   .1   .6
 * The held-out text "x a y\nx b y\n" has four words (the x's begin their
 * lines). Filling "x _ y" scores v by p(v|x) p(y|v): x .01, a .08, b .18,
 * y .01 (sum .28): "a" is second with p 2/7, "b" first with 9/14. Filling
 * "x a _" scores p(v|a) p(</s>|v): .01, .05, .01, .12 (sum .19): "y" first,
 * 12/19; "x b _": .01, .05, .01, .36 (sum .43): "y" first, 36/43. So top-1
 * is 3/4, top-5 1, and the mean ln p (ln 2/7 + ln 12/19 + ln 9/14 +
 * ln 36/43) / 4.
 */
START_TEST(test_fill_by_hand)
{
	static const char *w[] = { "<s>", "x", "a", "b", "y", "</s>" };
	static const double P[5][5] = {
		{ .7, .1, .1, .05, .05 }, { .1, .4, .3, .1, .1 }, { .1, .1, .1, .2, .5 },
		{ .1, .1, .1, .6, .1 }, { .1, .1, .1, .1, .6 },
	};
	static const char     val[] = "x a y\nx b y\n";
	char                 *dir = tu_tmpdir(), path[4200];
	struct compare_blank *b;
	struct compare_fill   f;
	struct ad_error       e = { 0 };
	struct lm            *lm;
	size_t                n;
	FILE                 *a;

	snprintf(path, sizeof path, "%s/hand.arpa", dir);
	ck_assert_ptr_nonnull(a = fopen(path, "w"));
	fprintf(a, "\\data\\\nngram 1=7\nngram 2=25\n\n\\1-grams:\n-99\t<s>\t0\n-1\t<unk>\t0\n");
	for (int i = 1; i < 6; i++)
		fprintf(a, "%.17g\t%s%s\n", log10(0.2), w[i], i < 5 ? "\t0" : "");
	fprintf(a, "\n\\2-grams:\n");
	for (int c = 0; c < 5; c++)
		for (int v = 0; v < 5; v++)
			fprintf(a, "%.17g\t%s %s\n", log10(P[c][v]), w[c], w[v + 1]);
	fprintf(a, "\n\\end\\\n");
	ck_assert_int_eq(fclose(a), 0);
	ck_assert_msg(lm_open(&lm, path, &e) == 0, "%s", e.msg);
	ck_assert_int_eq(compare_blanks_pick((const uint8_t *)val, strlen(val), 10, 3, &b, &n, &e),
	    0);
	ck_assert_uint_eq(n, 4);
	ck_assert_msg(compare_fill_score(lm, (const uint8_t *)val, strlen(val), b, n, &f, &e) == 0,
	    "%s", e.msg);
	ck_assert_uint_eq(f.blanks, 4);
	ck_assert_uint_eq(f.top1, 3);
	ck_assert_uint_eq(f.top5, 4);
	ck_assert_double_eq_tol(f.logp, log(2.0 / 7) + log(12.0 / 19) + log(9.0 / 14) +
	    log(36.0 / 43), 1e-5);   /* ARPA probabilities are stored as floats */
	/* The example is the first blank: "b" best, then "a", then the x/y tie. */
	ck_assert_str_eq(f.ex_text, "x [MASK] y");
	ck_assert_str_eq(f.ex_word, "a");
	ck_assert_uint_eq(f.ex_n, 4);
	ck_assert_str_eq(f.ex_fill[0], "b");
	ck_assert_str_eq(f.ex_fill[1], "a");
	ck_assert_double_eq_tol(f.ex_p[0], 9.0 / 14, 1e-6);
	ck_assert_double_eq_tol(f.ex_p[1], 2.0 / 7, 1e-6);
	compare_fill_free(&f);
	ad_free(b);
	lm_free(lm);
	free(dir);
}
END_TEST

/*
 * A BPE n-gram trained by compare_run, its report's fill-in row against a
 * brute force: for every blank whose word is one token, every allowed id
 * scored through lm_fill_word in the sentence as this test cuts it, the
 * word's rank (the ids scoring strictly higher) and its ln p (normalised
 * over all of them). The positions are the same for every model and in a
 * second run; the JSON report carries the fields.
 */
START_TEST(test_fill_brute_force)
{
	char                 *dir = tu_tmpdir(), out[4200], *cpath, *val, *json;
	const char           *files[1];
	struct compare_cfg    cfg;
	struct compare_report r = { 0 }, r2 = { 0 };
	struct ad_error       e = { 0 };
	struct compare_blank *b;
	struct lm            *lm;
	size_t                vl, nb, n1 = 0, top1 = 0, top5 = 0, jl;
	double                logp = 0;
	uint32_t             *ids = NULL;
	size_t                nids, cap = 0;
	FILE                 *f;

	cpath = corpus(dir, "c.txt", 9, 1500);
	files[0] = cpath;
	snprintf(out, sizeof out, "%s/out", dir);
	cfg = ngram_cfg(files, out);
	cfg.blanks = 40;
	cfg.vocab_size = 1000;   /* most words one token: the exact case */
	ck_assert_msg(compare_run(&cfg, &r, &e) == 0, "%s", e.msg);
	ck_assert_uint_eq(r.nwords, 40);
	{
		char vpath[4300];
		snprintf(vpath, sizeof vpath, "%s/val.txt", out);
		ck_assert_ptr_nonnull(val = tu_slurp(vpath, &vl));
	}
	ck_assert_int_eq(compare_blanks_pick((uint8_t *)val, vl, 40, cfg.seed, &b, &nb, &e), 0);
	ck_assert_ptr_null(r.models[0].fill.ex_text);   /* uniform: no fill-in */
	for (size_t i = 1; i < r.nmodels; i++) {
		ck_assert(r.models[i].has_fill);
		/* A word of more than 8 tokens of this small vocabulary is skipped. */
		ck_assert_uint_eq(r.models[i].fill.blanks + r.models[i].fill.skipped, 40);
		ck_assert_uint_eq(r.models[i].fill.blanks, r.models[1].fill.blanks);
		ck_assert_str_eq(r.models[i].fill.ex_text, r.models[1].fill.ex_text);
	}
	ck_assert_int_eq(lm_open(&lm, model(&r, "3-gram")->path, &e), 0);
	for (size_t k = 0; k < nb; k++) {
		uint32_t L[256], R[256], W[16], nl, nr, nw;
		double   sw, lse = -INFINITY, s;
		size_t   above = 0;
		struct compare_fill one;
		/* The sentence as this test cuts it: " word" one token. */
		nids = 0;
		ck_assert_int_eq(lm_encode(lm, (uint8_t *)val + b[k].at - 1, b[k].end - b[k].at + 1,
		    &ids, &nids, &cap, &e), 0);
		if (nids != 1)
			continue;
		W[0] = ids[0];
		nw = 1;
		nids = 0;
		ck_assert_int_eq(lm_encode(lm, (uint8_t *)val + b[k].line, b[k].at - 1 - b[k].line,
		    &ids, &nids, &cap, &e), 0);
		ck_assert_uint_lt(nids, 256);
		memcpy(L, ids, nids * sizeof *ids);
		nl = (uint32_t)nids;
		nids = 0;
		if (b[k].line_end > b[k].end)
			ck_assert_int_eq(lm_encode(lm, (uint8_t *)val + b[k].end, b[k].line_end - b[k].end,
			    &ids, &nids, &cap, &e), 0);
		ck_assert_uint_lt(nids, 255);
		memcpy(R, ids, nids * sizeof *ids);
		nr = (uint32_t)nids;
		R[nr++] = lm->eos;
		ck_assert_int_eq(lm_fill_word(lm, L, nl, R, nr, W, nw, &sw, &e), 0);
		for (uint32_t v = 0; v < lm->V; v++) {
			const uint8_t *t;
			size_t         tl;
			lm_token_text(lm, v, &t, &tl);
			if (v == lm->bos || v == lm->eos || v == lm->unk || tl == 0)
				continue;
			ck_assert_int_eq(lm_fill_word(lm, L, nl, R, nr, &v, 1, &s, &e), 0);
			above += s > sw;
			lse = s > lse ? s + log1p(exp(lse - s)) : lse + log1p(exp(s - lse));
		}
		n1++;
		top1 += above == 0;
		top5 += above < 5;
		logp += sw - lse;
		/* The engine's figure for this blank alone. */
		ck_assert_int_eq(compare_fill_score(lm, (uint8_t *)val, vl, &b[k], 1, &one, &e), 0);
		ck_assert_uint_eq(one.top1, above == 0);
		ck_assert_uint_eq(one.top5, above < 5);
		ck_assert_double_eq_tol(one.logp, sw - lse, 1e-9);
		compare_fill_free(&one);
	}
	ck_assert_msg(n1 >= 20, "only %zu one-token words of 40", n1);
	ck_assert(top1 > 0 && top5 >= top1 && logp < 0);
	lm_free(lm);

	/* A second run: the same blanks, the same figures (models reused). */
	ck_assert_msg(compare_run(&cfg, &r2, &e) == 0, "%s", e.msg);
	for (size_t i = 1; i < r.nmodels; i++) {
		ck_assert_str_eq(r2.models[i].fill.ex_text, r.models[i].fill.ex_text);
		ck_assert_uint_eq(r2.models[i].fill.top1, r.models[i].fill.top1);
		ck_assert(r2.models[i].fill.logp == r.models[i].fill.logp);
	}
	ck_assert_ptr_nonnull(f = open_memstream(&json, &jl));
	ck_assert_int_eq(compare_write_json(&r, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(json, "\"fill_blanks\": 40,"));
	ck_assert_ptr_nonnull(strstr(json, "\"fill_words\": 40,"));
	ck_assert_ptr_nonnull(strstr(json, "\"fill\": {\n"));
	ck_assert_ptr_nonnull(strstr(json, "\"top1\": "));
	ck_assert_ptr_nonnull(strstr(json, "\"top5\": "));
	ck_assert_ptr_nonnull(strstr(json, "\"mean_logp\": "));
	ck_assert_ptr_nonnull(strstr(json, "\"example\": {\n"));
	free(json);
	compare_report_free(&r);
	compare_report_free(&r2);
	ad_free(b);
	ad_free(ids);
	free(val);
	free(cpath);
	free(dir);
}
END_TEST

/*
 * The .run side file by hand: a resumed model's has a fourth line with the
 * checkpoint's step, read back on reuse; a file of the three cost lines
 * alone (a model trained in one run, or written before the fourth line
 * existed) reads as not resumed; a file missing a cost line is refused.
 */
START_TEST(test_run_file_resumed)
{
	char                *dir = tu_tmpdir(), model[4200], run[4300];
	struct compare_model m = { 0 }, back = { 0 };
	struct ad_error      e = { 0 };
	struct ad_map        map;
	static const char    want[] = "seconds 1.5\nrss_kb 7\ntokens 256\nresumed_from 123\n";

	snprintf(model, sizeof model, "%s/t.bin", dir);
	snprintf(run, sizeof run, "%s.run", model);
	m.train_seconds = 1.5;
	m.peak_rss_kb = 7;
	m.train_tokens = 256;
	m.resumed = 1;
	m.resumed_step = 123;
	ck_assert_int_eq(compare_run_save(model, &m, &e), 0);
	ck_assert_int_eq(ad_map_file(run, &map, &e), 0);
	ck_assert_uint_eq(map.size, strlen(want));
	ck_assert_mem_eq(map.data, want, map.size);
	ad_map_release(&map);
	ck_assert_int_eq(compare_run_load(model, &back), 0);
	ck_assert_int_eq(back.resumed, 1);
	ck_assert_uint_eq(back.resumed_step, 123);
	ck_assert_double_eq(back.train_seconds, 1.5);

	ck_assert_int_eq(ad_write_file(run, "seconds 2\nrss_kb 8\ntokens 64\n", 29, &e), 0);
	ck_assert_int_eq(compare_run_load(model, &back), 0);
	ck_assert_int_eq(back.resumed, 0);
	ck_assert_uint_eq(back.resumed_step, 0);
	ck_assert_double_eq(back.train_tokens, 64);

	ck_assert_int_eq(ad_write_file(run, "seconds 2\nrss_kb 8\n", 19, &e), 0);
	ck_assert_int_eq(compare_run_load(model, &back), -1);
	free(dir);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("compare");
	TCase *tc = tcase_create("engine");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_ngrams_scored_reused_and_rekeyed);
	tcase_add_test(tc, test_transformer_curve_from_its_log);
	tcase_add_test(tc, test_bad_configuration);
	tcase_add_test(tc, test_pseudo_bits_per_byte_own_column);
	tcase_add_test(tc, test_sweep_threshold);
	tcase_add_test(tc, test_blank_words);
	tcase_add_test(tc, test_fill_by_hand);
	tcase_add_test(tc, test_fill_brute_force);
	tcase_add_test(tc, test_run_file_resumed);
	suite_add_tcase(s, tc);
	tc = tcase_create("child");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_child_time_is_not_polled);
	tcase_add_test(tc, test_child_failures);
	tcase_add_test(tc, test_child_interrupted);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
