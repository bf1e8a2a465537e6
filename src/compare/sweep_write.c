/*
 * sweep_write.c — the sweep's report: a table per training-set size in
 * Markdown, every number and every learning curve in JSON, and an HTML page
 * with three SVG charts per training-set size: held-out and training loss
 * against model size (log axis, the measured interpolation threshold as a
 * dashed vertical line), held-out and training top-1 error against model
 * size (the same chart), and held-out loss against steps for each size
 * (transformer). See sweep.h.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "base/io.h"
#include "base/json.h"
#include "base/svg.h"
#include "compare/compare_impl.h"
#include "compare/sweep.h"
#include "rf/rf.h"

static const char *
sw_model_name(enum sweep_model m)
{
	return m == SWEEP_TRANSFORMER ? "transformer" : m == SWEEP_NGRAM ? "ngram" : "rf";
}

static const char *
sw_size_name(const struct sweep_report *r)
{
	return r->cfg->model == SWEEP_RF ? "random features F" : "parameters";
}

/* One line on the fixed part of the grid. */
static void
sw_settings(const struct sweep_report *r, FILE *f)
{
	const struct sweep_cfg *c = r->cfg;

	if (c->model == SWEEP_TRANSFORMER) {
		fprintf(f, "heads %u, context %u, batch %u, ", c->heads, c->context, c->batch);
		if (c->steps > 0)
			fprintf(f, "%llu steps", (unsigned long long)c->steps);
		else
			fprintf(f, "%g epochs", c->epochs);
		if (c->lr > 0)
			fprintf(f, ", lr %g", c->lr);
		else
			fprintf(f, ", the trainer's lr");
		fprintf(f, ", weight decay %g", c->weight_decay);
	} else if (c->model == SWEEP_RF) {
		fprintf(f, "context %u tokens, %s, %s features", c->rf_context,
		    c->rf_embed > 0 ? "Gaussian token embedding" : "one-hot tokens",
		    c->rf_fourier ? "Fourier" : "ReLU");
		if (c->rf_embed > 0)
			fprintf(f, " (embedding %u)", c->rf_embed);
	} else {
		fprintf(f, "interpolated modified Kneser-Ney");
	}
	fprintf(f, ", label noise %g, seed %llu", c->label_noise, (unsigned long long)c->seed);
}

/* The threshold of fraction fi, in a sentence (Markdown and HTML alike). */
static void
sw_threshold_text(const struct sweep_report *r, size_t fi, FILE *f)
{
	if (isnan(r->floors[fi]))
		fprintf(f, "\nInterpolation threshold: not measured (the training loss does not "
		    "change across the sizes).\n");
	else if (isnan(r->thresholds[fi]))
		fprintf(f, "\nInterpolation threshold: not reached in this grid (the training loss, "
		    "lowest %.4g, is still falling at the largest size).\n", r->floors[fi]);
	else
		fprintf(f, "\nInterpolation threshold: %s %.0f, the smallest size from which the "
		    "training loss stays at its floor %.4g (within %g of its descent).\n",
		    sw_size_name(r), r->thresholds[fi], r->floors[fi], r->interp_tol);
}

int
sweep_write_markdown(const struct sweep_report *r, FILE *f)
{
	const struct sweep_cfg *c = r->cfg;

	fprintf(f, "# Sweep: %s\n\n", sw_model_name(c->model));
	fprintf(f, "Training split %llu bytes, held out %llu bytes (%llu tokens), vocabulary %u; ",
	    (unsigned long long)r->train_bytes, (unsigned long long)r->val_bytes,
	    (unsigned long long)r->val_tokens, r->vocab_size);
	sw_settings(r, f);
	fprintf(f, ".\n%zu points: %zu trained, %zu reused, in %.1f s (%d at once).\n"
	    "Losses in %s; training loss against the targets trained on. Top-1 error: the "
	    "share of next tokens that are not the most probable one.\n",
	    r->npoints, r->ntrained, r->nreused, r->seconds, r->jobs, r->loss_unit);
	for (size_t fi = 0; fi < c->nfractions; fi++) {
		double fr = c->fractions[fi];
		fprintf(f, "\n## Training-set size %g of the split\n\n", fr);
		fprintf(f, "| point | %s | tokens | steps | training loss | held-out loss | "
		    "training top-1 error | held-out top-1 error | seconds | reused |\n"
		    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n", sw_size_name(r));
		for (size_t i = 0; i < r->npoints; i++) {
			const struct sweep_point *p = &r->points[i];
			if (p->fraction != fr)
				continue;
			char steps[24] = "-";
			if (p->steps > 0)
				snprintf(steps, sizeof steps, "%llu", (unsigned long long)p->steps);
			fprintf(f, "| %s | %.0f | %llu | %s | %.4g | %.4g | %.4f | %.4f | %.1f | %s |\n",
			    p->name, sweep_size(p), (unsigned long long)p->train_tokens, steps,
			    p->train_loss, p->val_loss, p->train_err, p->val_err, p->seconds,
			    p->reused ? "yes" : "no");
		}
		if (r->rf_limit[fi].path != NULL) {
			const struct sweep_point *p = &r->rf_limit[fi];
			fprintf(f, "| F=inf (kernel limit) | - | %llu | - | %.4g | %.4g | %.4f | %.4f | "
			    "%.1f | %s |\n", (unsigned long long)p->train_tokens, p->train_loss,
			    p->val_loss, p->rf_train_err, p->rf_val_err, p->seconds,
			    p->reused ? "yes" : "no");
		}
		sw_threshold_text(r, fi, f);
		if (c->model == SWEEP_RF)
			for (size_t i = 0; i < r->npoints; i++)
				if (r->points[i].fraction == fr) {
					fprintf(f, "Distinct training contexts (where theory puts the "
					    "threshold): %llu.\n", (unsigned long long)r->points[i].rf_distinct);
					break;
				}
	}
	return ferror(f) ? AD_EIO : 0;
}

int
sweep_write_json(const struct sweep_report *r, FILE *f)
{
	const struct sweep_cfg *c = r->cfg;
	struct ad_json          j;

	ad_json_init(&j, f, 1);
	ad_json_object_begin(&j);
	ad_json_key(&j, "format");
	ad_json_string(&j, "autodidact-sweep 1");
	ad_json_key(&j, "model");
	ad_json_string(&j, sw_model_name(c->model));
	ad_json_key(&j, "files");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < c->nfiles; i++)
		ad_json_string(&j, c->files[i]);
	ad_json_array_end(&j);
	ad_json_key(&j, "split_hash");
	{
		char h[24];
		snprintf(h, sizeof h, "%016llx", (unsigned long long)r->split_hash);
		ad_json_string(&j, h);
	}
	ad_json_key(&j, "train_bytes");
	ad_json_uint(&j, r->train_bytes);
	ad_json_key(&j, "val_bytes");
	ad_json_uint(&j, r->val_bytes);
	ad_json_key(&j, "val_tokens");
	ad_json_uint(&j, r->val_tokens);
	ad_json_key(&j, "vocab");
	ad_json_string(&j, r->vocab_path);
	ad_json_key(&j, "vocab_size");
	ad_json_uint(&j, r->vocab_size);
	ad_json_key(&j, "config");
	ad_json_object_begin(&j);
	ad_json_key(&j, "heads");
	ad_json_uint(&j, c->heads);
	ad_json_key(&j, "context");
	ad_json_uint(&j, c->model == SWEEP_RF ? c->rf_context : c->context);
	ad_json_key(&j, "batch");
	ad_json_uint(&j, c->batch);
	ad_json_key(&j, "steps");
	ad_json_uint(&j, c->steps);
	ad_json_key(&j, "epochs");
	ad_json_double(&j, c->epochs);
	ad_json_key(&j, "lr");
	ad_json_double(&j, c->lr > 0 ? c->lr : NAN);
	ad_json_key(&j, "weight_decay");
	ad_json_double(&j, c->weight_decay);
	ad_json_key(&j, "label_noise");
	ad_json_double(&j, c->label_noise);
	ad_json_key(&j, "eval_tokens");
	ad_json_uint(&j, c->eval_tokens);
	ad_json_key(&j, "rf_embed");
	ad_json_uint(&j, c->rf_embed);
	ad_json_key(&j, "rf_act");
	ad_json_string(&j, rf_act_name(c->rf_fourier ? RF_FOURIER : RF_RELU));
	ad_json_key(&j, "seed");
	ad_json_uint(&j, c->seed);
	ad_json_object_end(&j);
	ad_json_key(&j, "loss_unit");
	ad_json_string(&j, r->loss_unit);
	ad_json_key(&j, "interp_tol");
	ad_json_double(&j, r->interp_tol);
	ad_json_key(&j, "points_total");
	ad_json_uint(&j, r->npoints);
	ad_json_key(&j, "trained");
	ad_json_uint(&j, r->ntrained);
	ad_json_key(&j, "reused");
	ad_json_uint(&j, r->nreused);
	ad_json_key(&j, "jobs");
	ad_json_int(&j, r->jobs);
	ad_json_key(&j, "seconds");
	ad_json_double(&j, r->seconds);
	ad_json_key(&j, "thresholds");
	ad_json_array_begin(&j);
	for (size_t fi = 0; fi < c->nfractions; fi++) {
		ad_json_object_begin(&j);
		ad_json_key(&j, "fraction");
		ad_json_double(&j, c->fractions[fi]);
		ad_json_key(&j, "size");
		ad_json_double(&j, r->thresholds[fi]);   /* null: not reached */
		ad_json_key(&j, "train_loss_floor");
		ad_json_double(&j, r->floors[fi]);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	if (c->rf_limit) {
		ad_json_key(&j, "rf_limit");
		ad_json_array_begin(&j);
		for (size_t fi = 0; fi < c->nfractions; fi++) {
			const struct sweep_point *p = &r->rf_limit[fi];
			ad_json_object_begin(&j);
			ad_json_key(&j, "fraction");
			ad_json_double(&j, c->fractions[fi]);
			ad_json_key(&j, "train_loss");
			ad_json_double(&j, p->train_loss);
			ad_json_key(&j, "val_loss");
			ad_json_double(&j, p->val_loss);
			ad_json_key(&j, "val_err");
			ad_json_double(&j, p->rf_val_err);
			ad_json_key(&j, "val_logloss");
			ad_json_double(&j, p->rf_val_logloss);
			ad_json_key(&j, "jitter");
			ad_json_double(&j, p->rf_jitter);
			ad_json_key(&j, "reused");
			ad_json_bool(&j, p->reused);
			ad_json_object_end(&j);
		}
		ad_json_array_end(&j);
	}
	ad_json_key(&j, "points");
	ad_json_array_begin(&j);
	for (size_t i = 0; i < r->npoints; i++) {
		const struct sweep_point *p = &r->points[i];
		ad_json_object_begin(&j);
		ad_json_key(&j, "name");
		ad_json_string(&j, p->name);
		ad_json_key(&j, "fraction");
		ad_json_double(&j, p->fraction);
		ad_json_key(&j, "width");
		ad_json_uint(&j, p->width);
		ad_json_key(&j, "depth");
		ad_json_uint(&j, p->depth);
		ad_json_key(&j, "order");
		ad_json_uint(&j, p->order);
		ad_json_key(&j, "features");
		ad_json_uint(&j, p->features);
		ad_json_key(&j, "params");
		ad_json_uint(&j, p->params);
		ad_json_key(&j, "train_tokens");
		ad_json_uint(&j, p->train_tokens);
		ad_json_key(&j, "steps");
		ad_json_uint(&j, p->steps);
		ad_json_key(&j, "train_loss");
		ad_json_double(&j, p->train_loss);
		ad_json_key(&j, "val_loss");
		ad_json_double(&j, p->val_loss);
		ad_json_key(&j, "train_err");
		ad_json_double(&j, p->train_err);
		ad_json_key(&j, "val_err");
		ad_json_double(&j, p->val_err);
		ad_json_key(&j, "seconds");
		ad_json_double(&j, p->seconds);
		ad_json_key(&j, "peak_rss_kb");
		ad_json_uint(&j, p->rss_kb);
		ad_json_key(&j, "reused");
		ad_json_bool(&j, p->reused);
		ad_json_key(&j, "path");
		ad_json_string(&j, p->path);
		ad_json_key(&j, "command");
		if (p->command != NULL)
			ad_json_string(&j, p->command);
		else
			ad_json_null(&j);
		if (c->model == SWEEP_RF) {
			ad_json_key(&j, "distinct_contexts");
			ad_json_uint(&j, p->rf_distinct);
			ad_json_key(&j, "train_logloss");
			ad_json_double(&j, p->rf_train_logloss);
			ad_json_key(&j, "val_logloss");
			ad_json_double(&j, p->rf_val_logloss);
			ad_json_key(&j, "jitter");
			ad_json_double(&j, p->rf_jitter);
		}
		ad_json_key(&j, "curve");
		ad_json_array_begin(&j);
		for (size_t k = 0; k < p->ncurve; k++) {
			ad_json_object_begin(&j);
			ad_json_key(&j, "step");
			ad_json_double(&j, p->curve[k].step);
			ad_json_key(&j, "val_loss");
			ad_json_double(&j, p->curve[k].val);
			ad_json_key(&j, "train_loss");
			ad_json_double(&j, p->curve[k].train);
			ad_json_object_end(&j);
		}
		ad_json_array_end(&j);
		ad_json_object_end(&j);
	}
	ad_json_array_end(&j);
	ad_json_object_end(&j);
	ad_json_end(&j);
	return ferror(f) ? AD_EIO : 0;
}

/*
 * One chart against model size (log axis) of fraction fi: the held-out and
 * training figures of each point (va, tr over x, n), the interpolation
 * threshold as a vertical line, and the random-feature limit's held-out
 * figure lim (NAN: none) as a horizontal one. what names the figure
 * ("loss", "top-1 error").
 */
static void
sw_size_chart(const struct sweep_report *r, size_t fi, FILE *f, const char *what,
    const char *ylabel, int axes, const double *x, const double *va, const double *tr,
    size_t n, double lim)
{
	double                    thr[1] = { r->thresholds[fi] }, none[1] = { NAN }, l[1] = { lim };
	struct ad_svg_plot_series s[4];
	size_t                    ns = 3;
	char                      title[160], xl[64], vname[64], tname[64], lname[80];

	snprintf(title, sizeof title, "Held-out and training %s against model size "
	    "(training-set size %g)", what, r->cfg->fractions[fi]);
	snprintf(xl, sizeof xl, "%s (log scale)", sw_size_name(r));
	snprintf(vname, sizeof vname, "held-out %s", what);
	snprintf(tname, sizeof tname, "training %s", what);
	s[0] = (struct ad_svg_plot_series){ vname, x, va, n, 0, AD_SVG_LINE };
	s[1] = (struct ad_svg_plot_series){ tname, x, tr, n, 1, AD_SVG_LINE };
	s[2] = (struct ad_svg_plot_series){ "interpolation threshold", isnan(thr[0]) ? none : thr,
	                                    isnan(thr[0]) ? none : thr, 1, 3, AD_SVG_VLINE };
	if (!isnan(lim)) {
		snprintf(lname, sizeof lname, "held-out %s, F = infinity", what);
		s[ns++] = (struct ad_svg_plot_series){ lname, l, l, 1, 0, AD_SVG_HLINE };
	}
	{
		struct ad_svg_chart ch = { title, xl, ylabel, NAN, 0 };
		ad_svg_plot(f, &ch, s, ns, axes);
	}
}

/* The charts of one training-set size. */
static int
sw_html_fraction(const struct sweep_report *r, size_t fi, FILE *f)
{
	const struct sweep_cfg    *c = r->cfg;
	double                     fr = c->fractions[fi];
	size_t                     n = 0, k = 0;
	double                    *x, *tr, *va, *tre, *vae;
	int                        lim = r->rf_limit[fi].path != NULL;
	struct ad_svg_series      *curves;
	char                       title[160], yl[64];

	for (size_t i = 0; i < r->npoints; i++)
		n += r->points[i].fraction == fr;
	x = ad_calloc(n + 1, sizeof *x);
	tr = ad_calloc(n + 1, sizeof *tr);
	va = ad_calloc(n + 1, sizeof *va);
	tre = ad_calloc(n + 1, sizeof *tre);
	vae = ad_calloc(n + 1, sizeof *vae);
	curves = ad_calloc(n + 1, sizeof *curves);
	if (x == NULL || tr == NULL || va == NULL || tre == NULL || vae == NULL ||
	    curves == NULL) {
		ad_free(x); ad_free(tr); ad_free(va); ad_free(tre); ad_free(vae); ad_free(curves);
		return AD_ENOMEM;
	}
	for (size_t i = 0; i < r->npoints; i++) {
		const struct sweep_point *p = &r->points[i];
		if (p->fraction != fr)
			continue;
		x[k] = sweep_size(p);
		tr[k] = p->train_loss;
		va[k] = p->val_loss;
		tre[k] = p->train_err;
		vae[k] = p->val_err;
		k++;
	}
	fprintf(f, "<h2>Training-set size %g of the split</h2>\n", fr);
	snprintf(yl, sizeof yl, "loss (%s, log scale)", r->loss_unit);
	sw_size_chart(r, fi, f, "loss", yl, AD_SVG_LOGX | AD_SVG_LOGY, x, va, tr, n,
	    lim ? r->rf_limit[fi].val_loss : NAN);
	/* Error on a linear axis: it lives in [0, 1], and its double descent
	 * is often a few hundredths deep. */
	sw_size_chart(r, fi, f, "top-1 error", "top-1 error", AD_SVG_LOGX, x, vae, tre, n,
	    lim ? r->rf_limit[fi].rf_val_err : NAN);
	fputs("<p>", f);
	sw_threshold_text(r, fi, f);
	fputs("</p>\n", f);
	/* Held-out loss against steps, one line per size. */
	k = 0;
	for (size_t i = 0; i < r->npoints; i++) {
		const struct sweep_point *p = &r->points[i];
		double                   *sx, *sy;
		if (p->fraction != fr || p->ncurve == 0)
			continue;
		sx = ad_calloc(p->ncurve, sizeof *sx);
		sy = ad_calloc(p->ncurve, sizeof *sy);
		if (sx == NULL || sy == NULL) {
			ad_free(sx);
			ad_free(sy);
			continue;
		}
		for (size_t q = 0; q < p->ncurve; q++) {
			sx[q] = p->curve[q].step;
			sy[q] = p->curve[q].val;
		}
		curves[k] = (struct ad_svg_series){ p->name, sx, sy, p->ncurve, (int)k };
		k++;
	}
	if (k > 0) {
		struct ad_svg_chart ch = { NULL, "step", NULL, NAN, 0 };
		snprintf(yl, sizeof yl, "held-out loss (%s)", r->loss_unit);
		ch.ylabel = yl;
		snprintf(title, sizeof title, "Held-out loss against steps, each size "
		    "(training-set size %g)", fr);
		ch.title = title;
		ad_svg_lines(f, &ch, curves, k);
	}
	for (size_t q = 0; q < k; q++) {
		ad_free((void *)curves[q].x);
		ad_free((void *)curves[q].y);
	}
	ad_free(x);
	ad_free(tr);
	ad_free(va);
	ad_free(tre);
	ad_free(vae);
	ad_free(curves);
	return 0;
}

int
sweep_write_html(const struct sweep_report *r, FILE *f)
{
	const struct sweep_cfg *c = r->cfg;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	    "<title>autodidact sweep</title>\n<style>body{font-family:sans-serif;max-width:60em;"
	    "margin:auto;padding:1em}svg{max-width:100%;height:auto}</style></head><body>\n", f);
	fprintf(f, "<h1>Sweep: %s</h1>\n<p>", sw_model_name(c->model));
	fprintf(f, "Training split %llu bytes, held out %llu bytes (%llu tokens), vocabulary %u; ",
	    (unsigned long long)r->train_bytes, (unsigned long long)r->val_bytes,
	    (unsigned long long)r->val_tokens, r->vocab_size);
	sw_settings(r, f);
	fprintf(f, ". %zu points: %zu trained, %zu reused. Losses in %s; the training loss is "
	    "measured against the targets trained on (noisy under label noise).</p>\n",
	    r->npoints, r->ntrained, r->nreused, r->loss_unit);
	for (size_t fi = 0; fi < c->nfractions; fi++)
		if (sw_html_fraction(r, fi, f) != 0)
			return AD_ENOMEM;
	fputs("</body></html>\n", f);
	return ferror(f) ? AD_EIO : 0;
}

int
sweep_report_save(const struct sweep_report *r, const char *dir, struct ad_error *e)
{
	static const struct {
		const char *name;
		int (*write)(const struct sweep_report *, FILE *);
	} formats[] = {
		{ "sweep.md",   sweep_write_markdown },
		{ "sweep.json", sweep_write_json },
		{ "sweep.html", sweep_write_html },
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
