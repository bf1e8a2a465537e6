/*
 * rf.h — random-feature language models fitted with the minimum-norm
 * least-squares readout: the model class in which double descent must appear.
 *
 * Belkin, Hsu, Ma and Mandal ("Reconciling modern machine-learning practice
 * and the classical bias-variance trade-off", PNAS 116(32), 2019, figure 2)
 * fit random Fourier features with the minimum-norm solution and show the
 * held-out loss rising to a peak where the number of features F equals the
 * number of training samples n (the interpolation threshold) and falling
 * again as F grows past it. This module is that model on next-token
 * prediction, so `sweep` can show the curve on real text:
 *
 *   input   x  the previous `context` tokens, each either one-hot (embed = 0:
 *              x has context * V entries, `context` of them 1) or a fixed
 *              Gaussian embedding of `embed` numbers per token (entries
 *              N(0, 1/embed), so |e_t| ~ 1), concatenated in order, oldest
 *              first; both give |x|^2 ~ context;
 *   features  phi(x) = act(W x + b) / sqrt(F), W (F, dim x) and b (F) fixed
 *              random and seeded, entries of W N(0, scale^2 / context);
 *              RF_FOURIER: act = sqrt(2) cos, b ~ U[0, 2 pi) (Rahimi and
 *              Recht 2007: a Gaussian kernel of bandwidth context/scale^2);
 *              RF_RELU: act = max(0, .), b ~ N(0, scale^2 / context);
 *   readout   w (F, V): the minimum-norm minimiser of the squared loss
 *              sum_i |phi(x_i) w - onehot(y_i)|^2 over the training samples,
 *              w = pinv(Phi) Y;
 *   output    yhat = phi(x) w, V real scores (NOT probabilities: they may be
 *              negative and need not sum to 1).
 *
 * Samples: a token stream t_0 .. t_{N-1} gives the N - context samples
 * (t_{i-context} .. t_{i-1} -> t_i); the stream is one text, sentence ends
 * are ordinary tokens. Label noise replaces a fraction of the TRAINING
 * targets by uniform random tokens (seeded); held-out targets are never
 * corrupted, and training loss is measured against the targets fitted.
 *
 * Repeated contexts. Text repeats short contexts, and identical rows of Phi
 * cannot be fitted to different targets: the rank of Phi is at most the
 * number of DISTINCT training contexts, n_distinct, so that — not the raw
 * sample count — is where the interpolation threshold lies. rf_run merges
 * identical contexts first (one row per distinct context, weighted by its
 * count, its target the mean of its one-hot targets), which leaves the
 * least-squares problem and its minimum-norm solution unchanged, and reports
 * both counts. With no repeated context (long contexts, or synthetic data)
 * n_distinct = n_train.
 *
 * The solve, in double: F < n_distinct, w = (Phi'Phi)^-1 Phi'Y (ordinary
 * least squares); F >= n_distinct, w = Phi'(Phi Phi')^-1 Y (the minimum-norm
 * interpolant). Both Gram matrices are factored by Cholesky. At and near
 * F = n_distinct the Gram matrix is as ill-conditioned as the model is
 * (that is the peak); when Cholesky meets a pivot that is not positive, it
 * is retried with a jitter added to the diagonal — 1e-12 times the mean
 * diagonal, then 100 times more each retry — and the jitter used is
 * reported (0 when none was needed), because a jitter is a ridge penalty
 * and lowers the peak.
 *
 * Workload: n up to a few thousand samples, F up to about 4n, a few hundred
 * to a few thousand distinct target tokens; O(n F min(n, F)) flops in
 * double on every OpenMP thread, seconds to a minute per point on 2 cores.
 * Memory: about 16 n F + 8 (F + n) V_t + 8 min(n, F)^2 bytes (rf_memory).
 */
#ifndef AD_RF_H
#define AD_RF_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

enum rf_act {
	RF_RELU    = 0,   /* max(0, Wx + b): random ReLU features */
	RF_FOURIER = 1,   /* sqrt(2) cos(Wx + b): random Fourier features */
};

struct rf_config {
	uint32_t    context;      /* previous tokens in the input, >= 1 */
	uint32_t    features;     /* F, >= 1 */
	uint32_t    embed;        /* 0: one-hot tokens; D > 0: fixed Gaussian embedding of D */
	enum rf_act act;
	double      scale;        /* W's standard deviation times sqrt(context); 0: 1 */
	double      label_noise;  /* in [0, 1]: share of training targets made uniform random */
	uint64_t    seed;         /* W, b, the embedding and the label noise */
	int         threads;      /* OpenMP threads; 0: the OpenMP default */
};

struct rf_result {
	size_t n_train;        /* training samples: ntrain - context */
	size_t n_distinct;     /* distinct training contexts: the interpolation threshold */
	size_t n_test;         /* held-out samples: ntest - context */
	size_t classes;        /* V_t: distinct training targets, the readout's non-zero columns */
	size_t noisy;          /* training targets changed by label noise */
	int    dual;           /* 1: F >= n_distinct, solved through Phi Phi' */
	/* Mean over samples of sum_v (yhat_v - [v = y])^2: squared loss summed
	 * over the V outputs. Training targets are the (noisy) targets fitted. */
	double train_mse, test_mse;
	/* Share of samples whose argmax_v yhat_v is not y. Scores within 1e-9
	 * of the best (relative; absolute below 1) tie, and the smallest id
	 * wins: two tokens seen only after the same contexts have equal scores
	 * but for rounding, and the error must not depend on the rounding. */
	double train_err, test_err;
	/* Mean -log p(y) in nats with p_v = (max(yhat_v, 0) + 1e-3) / sum_u (...):
	 * a clipped normalisation of the scores, a probability only by fiat;
	 * the squared loss is what the model minimises. */
	double train_logloss, test_logloss;
	double norm;           /* Frobenius norm of the readout w */
	double jitter;         /* added to the Gram diagonal; 0 when Cholesky needed none */
};

/*
 * Fit the model c on the token stream train[0..ntrain) and evaluate it on
 * it and on test[0..ntest); tokens are ids below V. Fails with AD_EINVAL on
 * a bad configuration (context 0, features 0, label noise outside [0, 1],
 * a token >= V), AD_EDATA when either stream has no sample (ntrain or
 * ntest <= context), AD_ENOMEM, AD_EINTR (ad_interrupted() between stages).
 * out is written only on success. Deterministic for a given configuration
 * and thread count (the sums run in a fixed order; with the same thread
 * count the bytes are the same).
 */
int rf_run(const struct rf_config *c, const uint32_t *train, size_t ntrain,
           const uint32_t *test, size_t ntest, uint32_t V, struct rf_result *out,
           struct ad_error *e);

/*
 * The limit of rf_run as F grows without bound (Belkin et al.'s kernel
 * "ridgeless" regression): phi(x).phi(x') tends to the kernel k(x, x') the
 * features sample — RF_FOURIER: exp(-sd^2 |x - x'|^2 / 2) (Rahimi and
 * Recht 2007); RF_RELU: the arc-cosine kernel of degree 1 (Cho and Saul
 * 2009) of (x, 1), sd^2 / (2 pi) |x~| |x~'| (sin a + (pi - a) cos a), a the
 * angle between them; sd^2 = scale^2 / context — and the minimum-norm
 * interpolant becomes yhat(x) = k(x, X) K^-1 Y over the distinct training
 * contexts. c->features is ignored; out->norm is the limit of |w| (the
 * RKHS norm of the fit), out->dual 1; the jitter as in rf_run. Costs
 * O(n^2 (k + context)) + n^3 / 3, memory 8 n (n + 2 V_t) bytes.
 */
int rf_limit(const struct rf_config *c, const uint32_t *train, size_t ntrain,
             const uint32_t *test, size_t ntest, uint32_t V, struct rf_result *out,
             struct ad_error *e);

/*
 * An upper bound of the bytes rf_run allocates for c on ntrain training and
 * ntest held-out tokens over V ids (taking every context distinct and every
 * target seen), so that a grid can be refused before any training.
 * SIZE_MAX when the arithmetic overflows.
 */
size_t rf_memory(const struct rf_config *c, size_t ntrain, size_t ntest, uint32_t V);

/* "relu" / "fourier", for options, reports and configuration keys. */
const char *rf_act_name(enum rf_act a);
/* The nonlinearity named s: 0, or AD_EINVAL with a message listing the names. */
int rf_act_parse(const char *s, enum rf_act *out, struct ad_error *e);

/* Check c (and V) without running: 0 or AD_EINVAL with the message. */
int rf_config_check(const struct rf_config *c, uint32_t V, struct ad_error *e);

/*
 * The pieces, exposed for the tests' independent oracles.
 *
 * rf_features: phi (n, F) row-major, the features of the n contexts
 * ctx[i * context .. (i + 1) * context) under c, ids below V.
 *
 * rf_minnorm: w (F, k) = pinv(D Phi) D Y for Phi (n, F), Y (n, k), D =
 * diag(sqrt(weight)) (weight NULL: all 1), by the Cholesky route above;
 * *jitter is the jitter used. AD_ENUMERIC when even the largest jitter
 * (1e-2 of the mean diagonal) leaves a pivot that is not positive.
 */
int rf_features(const struct rf_config *c, const uint32_t *ctx, size_t n, uint32_t V,
                double *phi, struct ad_error *e);
int rf_minnorm(const double *phi, size_t n, size_t F, const double *weight,
               const double *Y, size_t k, int threads, double *w, double *jitter,
               struct ad_error *e);

#endif
