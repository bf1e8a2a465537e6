/*
 * rf_curve.c — the model-wise double-descent curve of the random-feature
 * model (src/rf/) on real text: held-out and training loss against the
 * number of features F, over a grid of F / n around the interpolation
 * threshold n (the distinct training contexts), and the limit of infinitely
 * many features (rf_limit, the kernel). Prints a Markdown table
 * and, with -o, writes the figure as SVG. Built and run by bench/rf.sh
 * against the library of a build directory; until `autodidact sweep
 * --model rf` exists this is the way to draw the curve.
 *
 * usage: rf_curve [-t VOCAB] [-n SAMPLES] [-m HELDOUT] [-c CONTEXT] [-e EMBED]
 *                 [-a relu|fourier] [-p NOISE] [-s SEED] [-g R,R,...] [-j THREADS]
 *                 [-k SKIP] [-o PREFIX] FILE
 *
 * The text of FILE is tokenized (BPE ids with -t, else bytes); the first
 * SKIP tokens are dropped (a Gutenberg header), the next SAMPLES + CONTEXT
 * train and the HELDOUT + CONTEXT tokens that start half-way through the
 * rest are held out, so the two never overlap. -o writes the loss figure
 * to PREFIX-loss.svg and the 0-1 error figure to PREFIX-err.svg.
 */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "base/io.h"
#include "base/svg.h"
#include "bpe/bpe.h"
#include "data/data.h"
#include "rf/rf.h"

static double
now(void)
{
	return omp_get_wtime();
}

static int
die(const char *msg)
{
	fprintf(stderr, "rf_curve: %s\n", msg);
	return 1;
}

int
main(int argc, char **argv)
{
	const char      *vocab = NULL, *svg = NULL, *grid = "0.1,0.25,0.5,0.75,0.9,0.95,1,1.05,1.1,1.25,1.5,2,3,4,6,8";
	struct rf_config c = { .context = 2, .embed = 0, .act = RF_RELU, .seed = 1 };
	size_t           n = 1000, m = 2000, skip = 2000, nids = 0, cap = 0, nr = 0;
	double           ratio[64], x[64], te[64], tr[64], ee[64], er[64];
	uint32_t        *ids = NULL, V = 256;
	struct bpe      *b = NULL;
	struct ad_error  e = { 0 };
	struct rf_result r;
	FILE            *f;
	char            *text;
	size_t           len;
	int              opt;

	while ((opt = getopt(argc, argv, "t:n:m:c:e:a:p:s:g:j:k:o:")) != -1) {
		switch (opt) {
		case 't': vocab = optarg; break;
		case 'n': n = strtoull(optarg, NULL, 10); break;
		case 'm': m = strtoull(optarg, NULL, 10); break;
		case 'c': c.context = (uint32_t)atoi(optarg); break;
		case 'e': c.embed = (uint32_t)atoi(optarg); break;
		case 'a':
			if (rf_act_parse(optarg, &c.act, &e) < 0)
				return die(e.msg);
			break;
		case 'p': c.label_noise = atof(optarg); break;
		case 's': c.seed = strtoull(optarg, NULL, 10); break;
		case 'g': grid = optarg; break;
		case 'j': c.threads = atoi(optarg); break;
		case 'k': skip = strtoull(optarg, NULL, 10); break;
		case 'o': svg = optarg; break;
		default: return die("bad option (see the comment at the top of bench/rf_curve.c)");
		}
	}
	if (optind + 1 != argc)
		return die("give one text file");
	for (const char *g = grid; *g && nr < 64; nr++) {
		char *end;

		ratio[nr] = strtod(g, &end);
		if (end == g || !(ratio[nr] > 0))
			return die("the grid is a comma-separated list of positive F/n ratios");
		g = *end == ',' ? end + 1 : end;
	}
	if (!(f = fopen(argv[optind], "rb")))
		return die(strerror(errno));
	fseek(f, 0, SEEK_END);
	len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc(len + 1);
	if (!text || fread(text, 1, len, f) != len)
		return die("cannot read the text");
	fclose(f);
	if (vocab) {
		if (bpe_load(&b, vocab, &e) < 0)
			return die(e.msg);
		V = bpe_vocab_size(b);
	}
	if (data_tokenize(b, 0, (const uint8_t *)text, len, &ids, &nids, &cap, &e) < 0)
		return die(e.msg);
	if (nids < skip + n + 2 * (m + 2 * c.context))
		return die("the text is too short for these sizes");

	const uint32_t *train = ids + skip, *test = ids + skip + (nids - skip) / 2;
	size_t          ntrain = n + c.context, ntest = m + c.context;

	/* n_distinct first: the grid is relative to the threshold it sets. */
	c.features = 1;
	if (rf_run(&c, train, ntrain, test, ntest, V, &r, &e) < 0)
		return die(e.msg);
	printf("# %s: %zu training samples (%zu distinct contexts), %zu held out, V = %u "
	       "(%zu training targets), context %u, %s, %s features, label noise %g, seed %llu, "
	       "%d threads\n\n", argv[optind], r.n_train, r.n_distinct, r.n_test, V, r.classes,
	       c.context, c.embed ? "embedded" : "one-hot", rf_act_name(c.act),
	       c.label_noise, (unsigned long long)c.seed, c.threads ? c.threads : omp_get_max_threads());
	printf("| F | F/n | train MSE | held-out MSE | train 0-1 | held-out 0-1 | held-out log-loss "
	       "| norm of w | jitter | seconds |\n|---|---|---|---|---|---|---|---|---|---|\n");
	size_t nd = r.n_distinct;

	for (size_t i = 0; i < nr; i++) {
		double t0 = now();

		c.features = (uint32_t)lround(ratio[i] * (double)nd);
		if (c.features == 0)
			c.features = 1;
		if (rf_run(&c, train, ntrain, test, ntest, V, &r, &e) < 0)
			return die(e.msg);
		x[i] = (double)c.features / (double)nd;
		tr[i] = r.train_mse;
		te[i] = r.test_mse;
		er[i] = r.train_err;
		ee[i] = r.test_err;
		printf("| %u | %.3f | %.4f | %.4f | %.4f | %.4f | %.3f | %.4g | %.3g | %.1f |\n",
		       c.features, x[i], r.train_mse, r.test_mse, r.train_err, r.test_err,
		       r.test_logloss, r.norm, r.jitter, now() - t0);
		fflush(stdout);
	}
	/* The limit F -> infinity: kernel "ridgeless" regression (rf_limit). */
	double t0 = now(), lim_te, lim_ee;

	if (rf_limit(&c, train, ntrain, test, ntest, V, &r, &e) < 0)
		return die(e.msg);
	lim_te = r.test_mse;
	lim_ee = r.test_err;
	printf("| infinity (the kernel limit) | | %.4f | %.4f | %.4f | %.4f | %.3f | %.4g | %.3g | %.1f |\n",
	       r.train_mse, r.test_mse, r.train_err, r.test_err, r.test_logloss, r.norm, r.jitter,
	       now() - t0);
	/* References: scoring every token 0 has squared loss exactly 1; the
	 * training targets' frequencies p as scores have sum p^2 - 2 p_y + 1,
	 * and their argmax (the commonest token) the 0-1 error below. */
	{
		double *p = calloc(V, sizeof *p), pp = 0, sq = 0, wrong = 0;
		uint32_t top = 0;

		if (!p)
			return die("out of memory");
		for (size_t i = c.context; i < ntrain; i++)
			p[train[i]] += 1.0 / (double)(ntrain - c.context);
		for (uint32_t v = 0; v < V; v++) {
			pp += p[v] * p[v];
			top = p[v] > p[top] ? v : top;
		}
		for (size_t i = c.context; i < ntest; i++) {
			sq += pp - 2 * p[test[i]] + 1;
			wrong += test[i] != top;
		}
		printf("| the training unigram frequencies as scores | | | %.4f | | %.4f | | | | |\n"
		       "| zero for every token | | 1 | 1 | | | | 0 | | |\n",
		       sq / (double)(ntest - c.context), wrong / (double)(ntest - c.context));
		free(p);
	}
	if (svg) {
		struct ad_svg_chart       ch = { .title = "Random features, minimum-norm readout: "
		                                 "squared loss against features / samples",
		                                 .xlabel = "F / n (n = distinct training contexts)",
		                                 .ylabel = "squared loss (log10)", .ref = NAN };
		struct ad_svg_chart       ce = ch;
		double                    lte[64], ltr[64], thx[2] = { 1, 1 }, thy[2];
		double                    llim = log10(lim_te), zero = 0;
		struct ad_svg_plot_series s[5], s2[3];

		char path[4096];

		snprintf(path, sizeof path, "%s-loss.svg", svg);
		if (!(f = fopen(path, "w")))
			return die(strerror(errno));
		for (size_t i = 0; i < nr; i++) {
			lte[i] = log10(te[i]);
			ltr[i] = tr[i] > 1e-6 ? log10(tr[i]) : -6;
		}
		/* The threshold's mark spans the data. */
		thy[0] = thy[1] = lte[0];
		for (size_t i = 0; i < nr; i++) {
			thy[0] = ltr[i] < thy[0] ? ltr[i] : thy[0];
			thy[1] = lte[i] > thy[1] ? lte[i] : thy[1];
		}
		s[0] = (struct ad_svg_plot_series){ "held-out", x, lte, nr, 0, AD_SVG_LINE };
		s[1] = (struct ad_svg_plot_series){ "training (floored at 1e-6)", x, ltr, nr, 1, AD_SVG_LINE };
		s[2] = (struct ad_svg_plot_series){ "F = n", thx, thy, 2, 2, AD_SVG_LINE };
		s[3] = (struct ad_svg_plot_series){ "held-out, F = infinity (kernel)", &llim, &llim, 1, 3, AD_SVG_HLINE };
		s[4] = (struct ad_svg_plot_series){ "all scores 0 (loss 1)", &zero, &zero, 1, 4, AD_SVG_HLINE };
		ad_svg_plot(f, &ch, s, 5, 1);
		if (fclose(f) != 0)
			return die("cannot write the figure");
		snprintf(path, sizeof path, "%s-err.svg", svg);
		if (!(f = fopen(path, "w")))
			return die(strerror(errno));
		ce.title = "Random features, minimum-norm readout: 0-1 error of the argmax";
		ce.ylabel = "0-1 error";
		s2[0] = (struct ad_svg_plot_series){ "held-out", x, ee, nr, 0, AD_SVG_LINE };
		s2[1] = (struct ad_svg_plot_series){ "training", x, er, nr, 1, AD_SVG_LINE };
		s2[2] = (struct ad_svg_plot_series){ "held-out, F = infinity (kernel)", &lim_ee, &lim_ee, 1, 3, AD_SVG_HLINE };
		ad_svg_plot(f, &ce, s2, 3, 1);
		if (fclose(f) != 0)
			return die("cannot write the figure");
	}
	free(ids);
	free(text);
	bpe_free(b);
	return 0;
}
