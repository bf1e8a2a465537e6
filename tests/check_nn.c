/*
 * check_nn.c — the transformer, layer by layer and whole.
 *
 * Oracles: central finite differences in double on every _ref layer; the
 * _ref layers (plain loops, double) for every fast float kernel, on odd sizes
 * that cut through the register and cache tiles; ln V for the loss of an
 * untrained model; zero loss for a model that memorises one batch; a second,
 * uninterrupted run for --resume; a run with one thread for a run with two;
 * the batched forward for the key/value cache; hand-worked learning rates.
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "base/hash.h"
#include "base/io.h"
#include "data/data.h"
#include "lm/lm.h"
#include "nn/nn.h"
#include "testutil.h"

static struct ad_rng trng;

static void
fill(double *x, size_t n, double scale)
{
	for (size_t i = 0; i < n; i++)
		x[i] = scale * (2 * ad_rng_uniform(&trng) - 1);
}

static double *
dalloc(size_t n)
{
	double *p = calloc(n ? n : 1, sizeof *p);
	ck_assert_ptr_nonnull(p);
	return p;
}

static float *
falloc(size_t n)
{
	float *p = calloc(n ? n : 1, sizeof *p);
	ck_assert_ptr_nonnull(p);
	return p;
}

static float *
tofloat(const double *x, size_t n)
{
	float *f = falloc(n);
	for (size_t i = 0; i < n; i++)
		f[i] = (float)x[i];
	return f;
}

/* max |a - b| over n, relative to max(|b|, floor). */
static double
maxrel(const float *a, const double *b, size_t n, double floor)
{
	double m = 0, big = floor;
	for (size_t i = 0; i < n; i++)
		big = fabs(b[i]) > big ? fabs(b[i]) : big;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - b[i]);
		m = d > m ? d : m;
	}
	return m / big;
}

/* ------------------------------------------------------------------------
 * Matrix product: fast against the double oracle
 * ------------------------------------------------------------------------ */

static void
gemm_case(size_t M, size_t N, size_t K, int ta, int tb, int acc, int serial)
{
	/* Row strides a multiple of 256 floats take the packed-A path. */
	size_t  lda = ta ? M + 3 : (K % 2 ? K + 1 : (K + 255) / 256 * 256);
	size_t  ldb = tb ? K + 2 : N + 5, ldc = N + 7;
	size_t  na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
	double *A = dalloc(na), *B = dalloc(nb), *C = dalloc(nc);
	float  *Af, *Bf, *Cf;
	double  worst = 0;
	size_t  wi = 0, wj = 0;
	int     untouched = 1;

	fill(A, na, 1);
	fill(B, nb, 1);
	fill(C, nc, 1);
	Af = tofloat(A, na);
	Bf = tofloat(B, nb);
	Cf = tofloat(C, nc);
	nn_sgemm_ref(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, acc);
	if (serial)
		nn_sgemm_serial(ta, tb, M, N, K, Af, lda, Bf, ldb, Cf, ldc, acc);
	else
		nn_sgemm(ta, tb, M, N, K, Af, lda, Bf, ldb, Cf, ldc, acc);
	/* One assertion per product: Check records every assertion it passes. */
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double err = fabs(Cf[i * ldc + j] - C[i * ldc + j]);
			if (err > worst) {
				worst = err;
				wi = i;
				wj = j;
			}
		}
	ck_assert_msg(worst <= 1e-6 * (double)K + 1e-6,
	    "gemm %zux%zux%zu ta%d tb%d acc%d: C[%zu][%zu] = %g, expected %g", M, N, K,
	    ta, tb, acc, wi, wj, Cf[wi * ldc + wj], C[wi * ldc + wj]);
	/* Padding columns of C beyond N are never touched. */
	for (size_t i = 0; i < M; i++)
		for (size_t j = N; j < ldc && i * ldc + j < nc; j++)
			untouched &= Cf[i * ldc + j] == (float)C[i * ldc + j];
	ck_assert_msg(untouched, "gemm wrote past column N");
	free(A); free(B); free(C); free(Af); free(Bf); free(Cf);
}

static void
gemm_all(void)
{
	static const size_t shapes[][3] = {
		{ 1, 1, 1 }, { 5, 15, 3 }, { 6, 16, 8 }, { 7, 17, 257 }, { 13, 37, 300 },
		{ 97, 33, 40 }, { 200, 1030, 19 }, { 64, 64, 64 }, { 150, 70, 600 },
		{ 103, 20, 512 }, { 7, 17, 385 },   /* K = KC + 1 */
		{ 8, 32, 16 }, { 9, 33, 40 }, { 25, 97, 385 },   /* the 8 x 32 tile's edges */
	};
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (int acc = 0; acc < 2; acc++)
					for (int ser = 0; ser < 2; ser++)
						gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, acc, ser);
}

START_TEST(test_gemm_avx2)
{
	ad_rng_seed(&trng, 1, 1);
	nn_kernel_select(NN_KERNEL_AVX2);
	gemm_all();
	nn_kernel_select(NN_KERNEL_AUTO);
}
END_TEST

/* On a CPU without AVX-512 this runs the AVX2 kernel again (the one in force). */
START_TEST(test_gemm_avx512)
{
	ad_rng_seed(&trng, 4, 1);
	nn_kernel_select(NN_KERNEL_AVX512);
	gemm_all();
	nn_kernel_select(NN_KERNEL_AUTO);
}
END_TEST

/*
 * The AVX2 (6 x 16) and AVX-512 (8 x 32) kernels sum every element in the
 * same order, so their products are the same bits (a model trained on
 * either machine is the same file), serial and threaded.
 */
START_TEST(test_gemm_kernels_same_bits)
{
	static const size_t shapes[][3] = {
		{ 200, 1030, 400 }, { 1024, 96, 384 }, { 37, 300, 800 }, { 31, 47, 5 },
	};

	ad_rng_seed(&trng, 5, 1);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++) {
				size_t  M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
				double *A = dalloc(M * K), *B = dalloc(K * N);
				float  *Af, *Bf, *C2 = falloc(M * N), *C5 = falloc(M * N);
				fill(A, M * K, 1);
				fill(B, K * N, 1);
				Af = tofloat(A, M * K);
				Bf = tofloat(B, K * N);
				nn_kernel_select(NN_KERNEL_AVX2);
				nn_sgemm(ta, tb, M, N, K, Af, ta ? M : K, Bf, tb ? K : N, C2, N, 0);
				nn_kernel_select(NN_KERNEL_AVX512);
				nn_sgemm(ta, tb, M, N, K, Af, ta ? M : K, Bf, tb ? K : N, C5, N, 0);
				ck_assert_msg(memcmp(C2, C5, M * N * sizeof *C2) == 0,
				    "gemm %zux%zux%zu ta%d tb%d: the AVX2 and AVX-512 kernels differ",
				    M, N, K, ta, tb);
				free(A); free(B); free(Af); free(Bf); free(C2); free(C5);
			}
	nn_kernel_select(NN_KERNEL_AUTO);
}
END_TEST

/*
 * A product with B packed once, over a triangle (nn_sgemm_tri, attention):
 * the values of the double oracle, and the very sums of the whole product
 * (nn_sgemm_serial, compared with ==: only the sign of a zero may differ),
 * with each kernel. For NN_TRI_KLE / KGE, op(A) has zeros above / below its
 * diagonal; for NN_TRI_COLS only columns j <= i are compared. K = 400 runs
 * past one K block; odd sizes and strides cut the tiles' edges.
 */
static void
tri_case(enum nn_tri tri, size_t M, size_t N, size_t K, int ta, int tb, int acc)
{
	size_t  lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 1;
	double *A = dalloc(lda * (ta ? K : M)), *B = dalloc(ldb * (tb ? N : K));
	double *C = dalloc(M * ldc);
	float  *Af, *Bf, *C0, *Ct = falloc(M * ldc), *Cs = falloc(M * ldc);
	float  *Bp = falloc(nn_sgemm_packed_size(K, N));

	fill(A, lda * (ta ? K : M), 1);
	fill(B, ldb * (tb ? N : K), 1);
	fill(C, M * ldc, 1);
	for (size_t i = 0; i < M; i++)
		for (size_t k = 0; k < K; k++)
			if ((tri == NN_TRI_KLE && k > i) || (tri == NN_TRI_KGE && k < i))
				A[ta ? k * lda + i : i * lda + k] = 0;
	Af = tofloat(A, lda * (ta ? K : M));
	Bf = tofloat(B, ldb * (tb ? N : K));
	C0 = tofloat(C, M * ldc);
	if (!acc)
		memset(C, 0, M * ldc * sizeof *C);
	nn_sgemm_ref(ta, tb, M, N, K, A, lda, B, ldb, C, ldc, 1);
	for (int kind = NN_KERNEL_PORTABLE; kind <= NN_KERNEL_AVX512; kind++) {
		double worst = 0;
		int    same = 1, untouched = 1;
		nn_kernel_select((enum nn_kernel)kind);
		memcpy(Ct, C0, M * ldc * sizeof *Ct);
		memcpy(Cs, C0, M * ldc * sizeof *Cs);
		nn_sgemm_pack_b(Bp, tb, Bf, ldb, K, N);
		nn_sgemm_tri(tri, ta, M, N, K, Af, lda, Bp, Ct, ldc, acc);
		nn_sgemm_serial(ta, tb, M, N, K, Af, lda, Bf, ldb, Cs, ldc, acc);
		/* One assertion per product: Check records every assertion it passes. */
		for (size_t i = 0; i < M; i++) {
			for (size_t j = 0; j < (tri == NN_TRI_COLS && i + 1 < N ? i + 1 : N); j++) {
				double d = fabs(Ct[i * ldc + j] - C[i * ldc + j]);
				worst = d > worst ? d : worst;
				same &= Ct[i * ldc + j] == Cs[i * ldc + j];
			}
			untouched &= Ct[i * ldc + N] == C0[i * ldc + N];
		}
		ck_assert_msg(worst <= 1e-6 * (double)K + 1e-6 && same && untouched,
		    "tri %d %zux%zux%zu ta%d tb%d acc%d, kernel %d: error %g, %s the whole product, "
		    "%s past column N", (int)tri, M, N, K, ta, tb, acc, kind, worst,
		    same ? "same as" : "differs from", untouched ? "nothing" : "wrote");
	}
	nn_kernel_select(NN_KERNEL_AUTO);
	free(A); free(B); free(C); free(Af); free(Bf); free(C0); free(Ct); free(Cs); free(Bp);
}

START_TEST(test_gemm_tri)
{
	static const size_t cases[][4] = {
		{ NN_TRI_COLS, 53, 53, 7 }, { NN_TRI_COLS, 100, 100, 64 }, { NN_TRI_COLS, 45, 45, 400 },
		{ NN_TRI_KLE, 53, 7, 53 },  { NN_TRI_KLE, 100, 64, 100 },  { NN_TRI_KLE, 400, 40, 400 },
		{ NN_TRI_KGE, 53, 7, 53 },  { NN_TRI_KGE, 100, 64, 100 },  { NN_TRI_KGE, 400, 40, 400 },
		{ NN_TRI_FULL, 31, 47, 5 }, { NN_TRI_FULL, 61, 333, 800 },
	};

	ad_rng_seed(&trng, 7, 1);
	ck_assert_int_eq(nn_sgemm_prepare(), 0);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (int acc = 0; acc < 2; acc++)
					tri_case((enum nn_tri)cases[c][0], cases[c][1], cases[c][2], cases[c][3],
					    ta, tb, acc);
}
END_TEST

/* A product with a bias: the same bits as the bias copied into every row of
 * C and the product accumulated into it (K = 0, small and threaded shapes,
 * one and several K blocks, edge tiles). */
START_TEST(test_gemm_bias)
{
	static const size_t shapes[][3] = {
		{ 3, 5, 0 }, { 7, 17, 9 }, { 200, 1030, 400 }, { 1024, 96, 384 }, { 61, 333, 800 },
	};

	ad_rng_seed(&trng, 6, 1);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int tb = 0; tb < 2; tb++) {
			size_t  M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
			double *A = dalloc(M * K + 1), *B = dalloc(K * N + 1), *b = dalloc(N);
			float  *Af, *Bf, *bf, *C1 = falloc(M * N), *C2 = falloc(M * N);
			fill(A, M * K, 1);
			fill(B, K * N, 1);
			fill(b, N, 1);
			Af = tofloat(A, M * K + 1);
			Bf = tofloat(B, K * N + 1);
			bf = tofloat(b, N);
			for (size_t i = 0; i < M; i++)
				memcpy(C1 + i * N, bf, N * sizeof *C1);
			nn_sgemm(0, tb, M, N, K, Af, K, Bf, tb ? K : N, C1, N, 1);
			nn_sgemm_bias(0, tb, M, N, K, Af, K, Bf, tb ? K : N, bf, C2, N);
			ck_assert_msg(memcmp(C1, C2, M * N * sizeof *C1) == 0,
			    "gemm %zux%zux%zu tb%d with a bias differs from bias + product", M, N, K, tb);
			free(A); free(B); free(b); free(Af); free(Bf); free(bf); free(C1); free(C2);
		}
}
END_TEST

START_TEST(test_gemm_portable)
{
	ad_rng_seed(&trng, 2, 1);
	ck_assert_int_eq(nn_kernel_select(NN_KERNEL_PORTABLE), NN_KERNEL_PORTABLE);
	gemm_all();
	nn_kernel_select(NN_KERNEL_AUTO);
}
END_TEST

START_TEST(test_matvec)
{
	size_t  C = 77, OC = 45;
	double *W = dalloc(C * OC), *x = dalloc(C), *b = dalloc(OC), *o = dalloc(OC);
	float  *Wf, *xf, *bf, *of = falloc(OC);

	ad_rng_seed(&trng, 3, 1);
	fill(W, C * OC, 1);
	fill(x, C, 1);
	fill(b, OC, 1);
	Wf = tofloat(W, C * OC);
	xf = tofloat(x, C);
	bf = tofloat(b, OC);
	for (int k = 0; k < 2; k++) {
		nn_kernel_select(k ? NN_KERNEL_PORTABLE : NN_KERNEL_AVX2);
		nn_matvec(of, Wf, xf, bf, C, OC);
		nn_matmul_forward_ref(o, x, W, b, 1, C, OC);
		ck_assert_double_le(maxrel(of, o, OC, 1), 1e-5);
	}
	nn_kernel_select(NN_KERNEL_AUTO);
	free(W); free(x); free(b); free(o); free(Wf); free(xf); free(bf); free(of);
}
END_TEST

/*
 * nn_matvec_in_rows (W input-major, (C, OC)) against a brute-force sum in
 * double, with every kernel the CPU has, on widths that leave partial
 * panels (128 and 64 outputs) and partial vectors (8); any cut of the
 * output range gives the same bits as one call, and a call writes its
 * range only.
 */
START_TEST(test_matvec_in)
{
	static const size_t shapes[][2] = { { 77, 301 }, { 32, 96 }, { 5, 200 }, { 130, 7 } };
	static const enum nn_kernel kinds[] = { NN_KERNEL_PORTABLE, NN_KERNEL_AVX2,
		NN_KERNEL_AVX512 };

	ad_rng_seed(&trng, 31, 1);
	for (size_t sh = 0; sh < sizeof shapes / sizeof shapes[0]; sh++) {
		size_t C = shapes[sh][0], OC = shapes[sh][1];
		double *W = dalloc(C * OC), *x = dalloc(C), *b = dalloc(OC), *o = dalloc(OC);
		float  *Wf, *xf, *bf, *whole = falloc(OC), *cut = falloc(OC);

		fill(W, C * OC, 1);
		fill(x, C, 1);
		fill(b, OC, 1);
		Wf = tofloat(W, C * OC);
		xf = tofloat(x, C);
		bf = tofloat(b, OC);
		for (size_t j = 0; j < OC; j++) {
			double s = b[j];
			for (size_t i = 0; i < C; i++)
				s += (double)xf[i] * Wf[i * OC + j];
			o[j] = s;
		}
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
			if (nn_kernel_select(kinds[k]) != kinds[k])
				continue;   /* not on this CPU */
			nn_matvec_in_rows(whole, Wf, xf, bf, C, OC, 0, OC);
			ck_assert_double_le(maxrel(whole, o, OC, 1), 1e-5);
			/* Cuts at odd places, each range alone: the same bits. */
			for (size_t o0 = 0, step = 1; o0 < OC; o0 += step, step = step * 3 + 2) {
				size_t o1 = o0 + step < OC ? o0 + step : OC;
				for (size_t j = 0; j < OC; j++)
					cut[j] = NAN;
				nn_matvec_in_rows(cut, Wf, xf, bf, C, OC, o0, o1);
				for (size_t j = 0; j < OC; j++)
					if (j < o0 || j >= o1)
						ck_assert(isnan(cut[j]));
				ck_assert(memcmp(cut + o0, whole + o0, (o1 - o0) * sizeof(float)) == 0);
			}
			/* Without a bias. */
			nn_matvec_in_rows(cut, Wf, xf, NULL, C, OC, 0, OC);
			for (size_t j = 0; j < OC; j++)
				ck_assert(cut[j] + bf[j] == whole[j]);
		}
		nn_kernel_select(NN_KERNEL_AUTO);
		free(W); free(x); free(b); free(o); free(Wf); free(xf); free(bf); free(whole);
		free(cut);
	}
}
END_TEST

/* ------------------------------------------------------------------------
 * bf16 products
 * ------------------------------------------------------------------------ */

/* x rounded to bf16 (nearest, ties to even; subnormals to zero, as
 * VCVTNE2PS2BF16 does), written here from the format's definition rather
 * than taken from the library. No NaN reaches it. */
static double
bf16_of(float x)
{
	uint32_t u;

	memcpy(&u, &x, sizeof u);
	if ((u & 0x7f800000u) == 0)
		u &= 0x80000000u;
	u += 0x7fffu + ((u >> 16) & 1);
	u &= 0xffff0000u;
	memcpy(&x, &u, sizeof x);
	return x;
}

/* Whether the bf16 kernel runs; a test that needs it says why it stops. */
static int
bf16_or_skip(const char *test)
{
	if (nn_bf16_available())
		return 1;
	fprintf(stderr, "check_nn: %s skipped: this CPU lacks AVX512-BF16 (or the AVX-512 "
	    "kernel is not in force); the bf16 products run in fp32 here\n", test);
	return 0;
}

/*
 * nn_gemm in bf16 against a double product of the bf16-rounded inputs.
 * Every product of two bf16 is exact in fp32 (8 + 8 significant bits), so
 * the only error is that of the fp32 sums: each element of C is the sum of
 * its starting value (C, a bias, or 0) and K exact products, in at most
 * K + ceil(K / 768) + 1 roundings of unit u = 2^-24, and the classical bound
 * (Higham, "Accuracy and Stability of Numerical Algorithms", 2nd ed.,
 * eq. 3.5) gives |error| <= gamma_n (|c0| + sum |a_k b_k|), gamma_n =
 * n u / (1 - n u), n = K + K / 768 + 2. The kernel may fuse a pair's two
 * products into one rounding (fewer roundings, the bound holds). Inputs
 * are far from subnormal, so flushing to zero never acts. On small K the
 * bound is ~1e-6 of an element while leaving out the rounding to bf16
 * errs by ~1e-3: the test tells a bf16 product from an fp32 one.
 */
static void
bf16_case(size_t M, size_t N, size_t K, int ta, int tb, int acc, int bias)
{
	size_t  lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
	size_t  na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
	double *A = dalloc(na), *B = dalloc(nb), *b = dalloc(N), *C = dalloc(nc);
	float  *Af, *Bf, *bf, *Cf;
	double  n = (double)(K + K / 768 + 2), u = ldexp(1.0, -24), gamma = n * u / (1 - n * u);
	double  worst = 0;
	size_t  wi = 0, wj = 0;
	int     untouched = 1;

	fill(A, na, 1);
	fill(B, nb, 1);
	fill(b, N, 1);
	fill(C, nc, 1);
	Af = tofloat(A, na);
	Bf = tofloat(B, nb);
	bf = tofloat(b, N);
	Cf = tofloat(C, nc);
	nn_gemm(NN_PREC_BF16, ta, tb, M, N, K, Af, lda, Bf, ldb, bias ? bf : NULL, Cf, ldc,
	    bias ? 0 : acc);
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double c0 = bias ? (double)bf[j] : acc ? (double)(float)C[i * ldc + j] : 0;
			double s = c0, mag = fabs(c0), err;
			for (size_t k = 0; k < K; k++) {
				double p = bf16_of(Af[ta ? k * lda + i : i * lda + k]) *
				           bf16_of(Bf[tb ? j * ldb + k : k * ldb + j]);
				s += p;
				mag += fabs(p);
			}
			err = fabs(Cf[i * ldc + j] - s) / (gamma * mag + 1e-30);
			if (err > worst) {
				worst = err;
				wi = i;
				wj = j;
			}
		}
	for (size_t i = 0; i < M; i++)
		for (size_t j = N; j < ldc && i * ldc + j < nc; j++)
			untouched &= Cf[i * ldc + j] == (float)C[i * ldc + j];
	/* One assertion per product: Check records every assertion it passes. */
	ck_assert_msg(worst <= 1 && untouched, "bf16 gemm %zux%zux%zu ta%d tb%d acc%d bias%d: "
	    "C[%zu][%zu] is %.2f times the bound from the exact product; %s past column N", M,
	    N, K, ta, tb, acc, bias, wi, wj, worst, untouched ? "nothing" : "wrote");
	free(A); free(B); free(b); free(C); free(Af); free(Bf); free(bf); free(Cf);
}

START_TEST(test_gemm_bf16)
{
	/* M not a multiple of 8, N of 32, K odd and past one and two K blocks
	 * of 768; threaded (over 2e6 multiply-adds) and serial sizes. */
	static const size_t shapes[][3] = {
		{ 1, 1, 1 }, { 5, 15, 3 }, { 8, 32, 16 }, { 9, 33, 7 }, { 7, 17, 257 },
		{ 13, 37, 769 }, { 97, 65, 40 }, { 25, 97, 1537 }, { 200, 1030, 19 },
		{ 150, 70, 600 }, { 211, 333, 771 },
	};

	if (!bf16_or_skip("test_gemm_bf16"))
		return;
	ad_rng_seed(&trng, 11, 1);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (int acc = 0; acc < 3; acc++)
					bf16_case(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, acc == 1,
					    acc == 2);
}
END_TEST

/*
 * Generation's bf16 product (nn_matvec_bf16 on weights from nn_bf16_from)
 * against a double product of the bf16-rounded inputs, the rounding
 * written here from the format (bf16_of). As for nn_gemm: the products of
 * two bf16 are exact in fp32, so the error is the fp32 sums' alone: an
 * output is the bias plus C exact products, at most C + 1 roundings in any
 * order, |error| <= gamma_{C+2} (|bias| + sum |w x|) (Higham eq. 3.5). C
 * and OC cut the 32-element step and the 4-row block, with sizes on one
 * thread and threaded; one thread and two give the same bits; the portable
 * kernel (AVX2 in force) meets the same bound.
 */
static void
matvec_bf16_case(size_t C, size_t OC, int portable)
{
	double   *W = dalloc(C * OC), *x = dalloc(C), *b = dalloc(OC);
	float    *Wf, *xf, *bf, *o1 = falloc(OC), *o2 = falloc(OC);
	uint16_t *Wb = malloc(C * OC * sizeof *Wb);
	double    n = (double)(C + 2), u = ldexp(1.0, -24), gamma = n * u / (1 - n * u);
	double    worst = 0;
	size_t    wrong = 0;

	ck_assert_ptr_nonnull(Wb);
	fill(W, C * OC, 1);
	fill(x, C, 1);
	fill(b, OC, 1);
	Wf = tofloat(W, C * OC);
	xf = tofloat(x, C);
	bf = tofloat(b, OC);
	nn_bf16_from(Wb, Wf, C * OC);
	for (size_t i = 0; i < C * OC; i++) {
		uint32_t bits = (uint32_t)Wb[i] << 16;
		float    f;
		memcpy(&f, &bits, sizeof f);
		wrong += (double)f != bf16_of(Wf[i]);
	}
	/* One assertion per case: Check records every assertion it passes. */
	ck_assert_msg(wrong == 0, "nn_bf16_from: %zu of %zu rounded otherwise", wrong, C * OC);
	if (portable)
		nn_kernel_select(NN_KERNEL_AVX2);
	omp_set_num_threads(1);
	nn_matvec_bf16(o1, Wb, xf, bf, C, OC);
	omp_set_num_threads(2);
	nn_matvec_bf16(o2, Wb, xf, bf, C, OC);
	nn_kernel_select(NN_KERNEL_AUTO);
	ck_assert_msg(memcmp(o1, o2, OC * sizeof *o1) == 0, "bf16 matvec %zux%zu: 1 and 2 "
	    "threads differ", OC, C);
	for (size_t o = 0; o < OC; o++) {
		double sum = bf[o], mag = fabs(bf[o]);
		for (size_t c = 0; c < C; c++) {
			double p = bf16_of(Wf[o * C + c]) * bf16_of(xf[c]);
			sum += p;
			mag += fabs(p);
		}
		worst = fmax(worst, fabs(o1[o] - sum) / (gamma * mag + 1e-30));
	}
	ck_assert_msg(worst <= 1, "bf16 matvec %zux%zu%s: %.2f times the bound", OC, C,
	    portable ? " (portable)" : "", worst);
	free(W); free(x); free(b); free(Wf); free(xf); free(bf); free(o1); free(o2); free(Wb);
}

START_TEST(test_matvec_bf16)
{
	static const size_t shapes[][2] = {
		{ 1, 1 }, { 3, 5 }, { 31, 4 }, { 32, 7 }, { 33, 9 }, { 63, 3 }, { 64, 8 },
		{ 65, 13 }, { 384, 1152 }, { 1536, 385 }, { 1000, 4099 },
	};
	/* Rounding by hand: ties to even, and subnormals to zero. */
	ck_assert_uint_eq(nn_bf16_of(1.0f), 0x3f80);
	ck_assert_uint_eq(nn_bf16_of(ldexpf(1.0f, 0) + ldexpf(1.0f, -8)), 0x3f80);  /* tie, even */
	ck_assert_uint_eq(nn_bf16_of(ldexpf(1.0f, 0) + ldexpf(3.0f, -8)), 0x3f82);  /* tie, up */
	ck_assert_uint_eq(nn_bf16_of(-ldexpf(1.0f, -130)), 0x8000);
	ad_rng_seed(&trng, 13, 1);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
		matvec_bf16_case(shapes[s][1], shapes[s][0], 1);
		if (nn_bf16_available())
			matvec_bf16_case(shapes[s][1], shapes[s][0], 0);
	}
	(void)bf16_or_skip("test_matvec_bf16 (the AVX512-BF16 kernel; the portable one ran)");
}
END_TEST

/* The bf16 product gives the same bits on one thread and on two (the sums
 * run in a fixed order), with and without a bias; without the bf16 kernel
 * (the AVX2 one in force), it is nn_sgemm's product, bit for bit. */
START_TEST(test_gemm_bf16_threads)
{
	static const size_t shapes[][3] = { { 300, 1030, 800 }, { 1024, 96, 769 }, { 37, 300, 1601 } };

	ad_rng_seed(&trng, 12, 1);
	for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
		for (int t = 0; t < 4; t++) {
			int     ta = t & 1, tb = t >> 1;
			size_t  M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
			double *A = dalloc(M * K), *B = dalloc(K * N), *b = dalloc(N);
			float  *Af, *Bf, *bf, *C1 = falloc(M * N), *C2 = falloc(M * N);
			fill(A, M * K, 1);
			fill(B, K * N, 1);
			fill(b, N, 1);
			Af = tofloat(A, M * K);
			Bf = tofloat(B, K * N);
			bf = tofloat(b, N);
			for (int bias = 0; bias < 2 && nn_bf16_available(); bias++) {
#ifdef _OPENMP
				omp_set_num_threads(1);
#endif
				nn_gemm(NN_PREC_BF16, ta, tb, M, N, K, Af, ta ? M : K, Bf, tb ? K : N,
				    bias ? bf : NULL, C1, N, 0);
#ifdef _OPENMP
				omp_set_num_threads(2);
#endif
				nn_gemm(NN_PREC_BF16, ta, tb, M, N, K, Af, ta ? M : K, Bf, tb ? K : N,
				    bias ? bf : NULL, C2, N, 0);
				ck_assert_msg(memcmp(C1, C2, M * N * sizeof *C1) == 0,
				    "bf16 gemm %zux%zux%zu ta%d tb%d bias%d: 1 and 2 threads differ", M, N,
				    K, ta, tb, bias);
			}
			nn_kernel_select(NN_KERNEL_AVX2);
			nn_gemm(NN_PREC_BF16, ta, tb, M, N, K, Af, ta ? M : K, Bf, tb ? K : N, NULL, C1,
			    N, 0);
			nn_sgemm(ta, tb, M, N, K, Af, ta ? M : K, Bf, tb ? K : N, C2, N, 0);
			ck_assert_msg(memcmp(C1, C2, M * N * sizeof *C1) == 0,
			    "bf16 gemm %zux%zux%zu without the bf16 kernel is not the fp32 product", M,
			    N, K);
			nn_kernel_select(NN_KERNEL_AUTO);
			free(A); free(B); free(b); free(Af); free(Bf); free(bf); free(C1); free(C2);
		}
	(void)bf16_or_skip("test_gemm_bf16_threads (1 and 2 threads)");
}
END_TEST

/* ------------------------------------------------------------------------
 * Finite differences on the _ref layers
 * ------------------------------------------------------------------------ */

/*
 * A layer as a function of a list of double arrays; the loss is
 * sum(out * proj) for a fixed random projection, so dout = proj.
 */
struct fd_layer {
	size_t  nin;            /* input arrays checked */
	double *in[4];
	size_t  n[4];
	size_t  nout;
	void  (*forward)(struct fd_layer *l, double *out);
	void  (*backward)(struct fd_layer *l, const double *dout, double **din);
	size_t  B, T, C, OC, NH;
	uint32_t *ids;
	double *aux1, *aux2, *aux3;   /* saved forward state */
};

static double
fd_loss(struct fd_layer *l, const double *proj, double *out)
{
	double s = 0;
	l->forward(l, out);
	for (size_t i = 0; i < l->nout; i++)
		s += out[i] * proj[i];
	return s;
}

static void
fd_check(struct fd_layer *l, const char *name)
{
	double *proj = dalloc(l->nout), *out = dalloc(l->nout), *din[4];

	fill(proj, l->nout, 1);
	fd_loss(l, proj, out);
	for (size_t k = 0; k < l->nin; k++)
		din[k] = dalloc(l->n[k]);
	l->backward(l, proj, din);
	for (size_t k = 0; k < l->nin; k++)
		for (size_t i = 0; i < l->n[k]; i++) {
			double keep = l->in[k][i], h = 1e-5, up, dn, num;
			l->in[k][i] = keep + h;
			up = fd_loss(l, proj, out);
			l->in[k][i] = keep - h;
			dn = fd_loss(l, proj, out);
			l->in[k][i] = keep;
			num = (up - dn) / (2 * h);
			if (fabs(num - din[k][i]) > 1e-6 * (1 + fabs(num))) {
				ck_abort_msg("%s: input %zu [%zu]: analytic %.10g, finite difference "
				    "%.10g", name, k, i, din[k][i], num);
			}
		}
	for (size_t k = 0; k < l->nin; k++)
		free(din[k]);
	free(proj);
	free(out);
}

static void
enc_fwd(struct fd_layer *l, double *out)
{
	nn_encoder_forward_ref(out, l->ids, l->in[0], l->in[1], l->B, l->T, l->C);
}

static void
enc_bwd(struct fd_layer *l, const double *dout, double **din)
{
	nn_encoder_backward_ref(din[0], din[1], dout, l->ids, l->B, l->T, l->C);
}

START_TEST(test_fd_encoder)
{
	struct fd_layer l = { 0 };
	uint32_t        ids[6] = { 2, 0, 2, 4, 1, 2 };   /* repeats: gradients add */

	ad_rng_seed(&trng, 10, 1);
	l.B = 2; l.T = 3; l.C = 5; l.ids = ids;
	l.nin = 2;
	l.n[0] = 5 * l.C; l.n[1] = l.T * l.C;
	l.in[0] = dalloc(l.n[0]); l.in[1] = dalloc(l.n[1]);
	fill(l.in[0], l.n[0], 1); fill(l.in[1], l.n[1], 1);
	l.nout = l.B * l.T * l.C;
	l.forward = enc_fwd; l.backward = enc_bwd;
	fd_check(&l, "encoder");
	free(l.in[0]); free(l.in[1]);
}
END_TEST

static void
ln_fwd(struct fd_layer *l, double *out)
{
	nn_layernorm_forward_ref(out, l->aux1, l->aux2, l->in[0], l->in[1], l->in[2], l->B, l->C);
}

static void
ln_bwd(struct fd_layer *l, const double *dout, double **din)
{
	nn_layernorm_backward_ref(din[0], din[1], din[2], dout, l->in[0], l->in[1], l->aux1,
	    l->aux2, l->B, l->C);
}

START_TEST(test_fd_layernorm)
{
	struct fd_layer l = { 0 };

	ad_rng_seed(&trng, 11, 1);
	l.B = 4; l.C = 7; l.nin = 3;
	l.n[0] = l.B * l.C; l.n[1] = l.C; l.n[2] = l.C;
	for (int k = 0; k < 3; k++) {
		l.in[k] = dalloc(l.n[k]);
		fill(l.in[k], l.n[k], 1);
	}
	l.aux1 = dalloc(l.B); l.aux2 = dalloc(l.B);
	l.nout = l.B * l.C;
	l.forward = ln_fwd; l.backward = ln_bwd;
	fd_check(&l, "layernorm");
	for (int k = 0; k < 3; k++)
		free(l.in[k]);
	free(l.aux1); free(l.aux2);
}
END_TEST

static void
mm_fwd(struct fd_layer *l, double *out)
{
	nn_matmul_forward_ref(out, l->in[0], l->in[1], l->in[2], l->B, l->C, l->OC);
}

static void
mm_bwd(struct fd_layer *l, const double *dout, double **din)
{
	nn_matmul_backward_ref(din[0], din[1], din[2], dout, l->in[0], l->in[1], l->B, l->C, l->OC);
}

START_TEST(test_fd_matmul)
{
	struct fd_layer l = { 0 };

	ad_rng_seed(&trng, 12, 1);
	l.B = 3; l.C = 5; l.OC = 4; l.nin = 3;
	l.n[0] = l.B * l.C; l.n[1] = l.OC * l.C; l.n[2] = l.OC;
	for (int k = 0; k < 3; k++) {
		l.in[k] = dalloc(l.n[k]);
		fill(l.in[k], l.n[k], 1);
	}
	l.nout = l.B * l.OC;
	l.forward = mm_fwd; l.backward = mm_bwd;
	fd_check(&l, "matmul");
	for (int k = 0; k < 3; k++)
		free(l.in[k]);
}
END_TEST

/* The mask of the attention under test (fd_layer has no field for it). */
static enum nn_attention att_mask;

static void
att_fwd(struct fd_layer *l, double *out)
{
	nn_attention_forward_ref(out, l->aux1, l->in[0], l->B, l->T, l->C, l->NH, att_mask);
}

static void
att_bwd(struct fd_layer *l, const double *dout, double **din)
{
	nn_attention_backward_ref(din[0], dout, l->in[0], l->aux1, l->B, l->T, l->C, l->NH,
	    att_mask);
}

/* Causal attention (_i = 0) and full attention (_i = 1, the masked model's). */
START_TEST(test_fd_attention)
{
	struct fd_layer l = { 0 };

	att_mask = _i ? NN_ATTN_FULL : NN_ATTN_CAUSAL;
	ad_rng_seed(&trng, 13, 1);
	l.B = 2; l.T = 4; l.C = 6; l.NH = 2; l.nin = 1;
	l.n[0] = l.B * l.T * 3 * l.C;
	l.in[0] = dalloc(l.n[0]);
	fill(l.in[0], l.n[0], 1);
	l.aux1 = dalloc(l.B * l.NH * l.T * l.T);
	l.nout = l.B * l.T * l.C;
	l.forward = att_fwd; l.backward = att_bwd;
	fd_check(&l, _i ? "full attention" : "attention");
	free(l.in[0]); free(l.aux1);
}
END_TEST

static void
gelu_fwd(struct fd_layer *l, double *out)
{
	nn_gelu_forward_ref(out, l->in[0], l->n[0]);
}

static void
gelu_bwd(struct fd_layer *l, const double *dout, double **din)
{
	nn_gelu_backward_ref(din[0], l->in[0], dout, l->n[0]);
}

START_TEST(test_fd_gelu)
{
	struct fd_layer l = { 0 };

	ad_rng_seed(&trng, 14, 1);
	l.nin = 1; l.n[0] = 40;
	l.in[0] = dalloc(l.n[0]);
	fill(l.in[0], l.n[0], 4);
	l.nout = l.n[0];
	l.forward = gelu_fwd; l.backward = gelu_bwd;
	fd_check(&l, "gelu");
	free(l.in[0]);
}
END_TEST

static void
ce_fwd(struct fd_layer *l, double *out)
{
	nn_crossentropy_forward_ref(out, l->in[0], l->ids, (const uint8_t *)l->aux3, l->B, l->C);
}

static void
ce_bwd(struct fd_layer *l, const double *dout, double **din)
{
	/* out[n] = loss_n; the projection weighs each row's loss. */
	for (size_t n = 0; n < l->B; n++)
		nn_crossentropy_backward_ref(din[0] + n * l->C, l->in[0] + n * l->C, l->ids + n,
		    (const uint8_t *)l->aux3 + n, dout[n], 1, l->C);
}

START_TEST(test_fd_crossentropy)
{
	struct fd_layer l = { 0 };
	uint32_t        tg[5] = { 0, 6, 3, 3, 1 };
	uint8_t         mask[8] = { 1, 1, 0, 1, 1 };

	ad_rng_seed(&trng, 15, 1);
	l.B = 5; l.C = 7; l.ids = tg; l.aux3 = (double *)(void *)mask;
	l.nin = 1; l.n[0] = l.B * l.C;
	l.in[0] = dalloc(l.n[0]);
	fill(l.in[0], l.n[0], 3);
	l.nout = l.B;
	l.forward = ce_fwd; l.backward = ce_bwd;
	fd_check(&l, "crossentropy");
	free(l.in[0]);
}
END_TEST

/* ------------------------------------------------------------------------
 * Fast layers against their _ref twins (odd sizes)
 * ------------------------------------------------------------------------ */

START_TEST(test_fast_layernorm)
{
	size_t  N = 37, C = 70;
	double *x = dalloc(N * C), *w = dalloc(C), *b = dalloc(C), *o = dalloc(N * C);
	double *m = dalloc(N), *r = dalloc(N), *d = dalloc(N * C);
	double *dx = dalloc(N * C), *dw = dalloc(C), *db = dalloc(C);
	float  *xf, *wf, *bf, *of = falloc(N * C), *mf = falloc(N), *rf = falloc(N), *df;
	float  *dxf = falloc(N * C), *dwf = falloc(C), *dbf = falloc(C);

	ad_rng_seed(&trng, 20, 1);
	fill(x, N * C, 2); fill(w, C, 1); fill(b, C, 1); fill(d, N * C, 1);
	xf = tofloat(x, N * C); wf = tofloat(w, C); bf = tofloat(b, C); df = tofloat(d, N * C);
	nn_layernorm_forward_ref(o, m, r, x, w, b, N, C);
	nn_layernorm_forward(of, mf, rf, xf, wf, bf, N, C);
	ck_assert_double_le(maxrel(of, o, N * C, 1), 1e-5);
	nn_layernorm_backward_ref(dx, dw, db, d, x, w, m, r, N, C);
	nn_layernorm_backward(dxf, dwf, dbf, df, xf, wf, mf, rf, N, C);
	ck_assert_double_le(maxrel(dxf, dx, N * C, 1), 1e-5);
	ck_assert_double_le(maxrel(dwf, dw, C, 1), 1e-5);
	ck_assert_double_le(maxrel(dbf, db, C, 1), 1e-5);
	free(x); free(w); free(b); free(o); free(m); free(r); free(d); free(dx); free(dw);
	free(db); free(xf); free(wf); free(bf); free(of); free(mf); free(rf); free(df);
	free(dxf); free(dwf); free(dbf);
}
END_TEST

START_TEST(test_fast_matmul)
{
	size_t  N = 29, C = 67, OC = 35;
	double *x = dalloc(N * C), *w = dalloc(OC * C), *b = dalloc(OC), *o = dalloc(N * OC);
	double *d = dalloc(N * OC), *dx = dalloc(N * C), *dw = dalloc(OC * C), *db = dalloc(OC);
	float  *xf, *wf, *bf, *df, *of = falloc(N * OC);
	float  *dxf = falloc(N * C), *dwf = falloc(OC * C), *dbf = falloc(OC);

	ad_rng_seed(&trng, 21, 1);
	fill(x, N * C, 1); fill(w, OC * C, 1); fill(b, OC, 1); fill(d, N * OC, 1);
	xf = tofloat(x, N * C); wf = tofloat(w, OC * C); bf = tofloat(b, OC);
	df = tofloat(d, N * OC);
	nn_matmul_forward_ref(o, x, w, b, N, C, OC);
	nn_matmul_forward(of, xf, wf, bf, N, C, OC, NN_PREC_FP32);
	ck_assert_double_le(maxrel(of, o, N * OC, 1), 1e-5);
	nn_matmul_backward_ref(dx, dw, db, d, x, w, N, C, OC);
	/* add_dinp 0 overwrites whatever dinp held. */
	for (size_t i = 0; i < N * C; i++)
		dxf[i] = NAN;
	nn_matmul_backward(dxf, dwf, dbf, df, xf, wf, N, C, OC, 0, NN_PREC_FP32);
	ck_assert_double_le(maxrel(dxf, dx, N * C, 1), 1e-5);
	ck_assert_double_le(maxrel(dwf, dw, OC * C, 1), 1e-5);
	ck_assert_double_le(maxrel(dbf, db, OC, 1), 1e-5);
	/* A second pass adds to all three (add_dinp 1): the reference, twice. */
	nn_matmul_backward_ref(dx, dw, db, d, x, w, N, C, OC);
	nn_matmul_backward(dxf, dwf, dbf, df, xf, wf, N, C, OC, 1, NN_PREC_FP32);
	ck_assert_double_le(maxrel(dxf, dx, N * C, 1), 1e-5);
	ck_assert_double_le(maxrel(dwf, dw, OC * C, 1), 1e-5);
	ck_assert_double_le(maxrel(dbf, db, OC, 1), 1e-5);
	free(x); free(w); free(b); free(o); free(d); free(dx); free(dw); free(db);
	free(xf); free(wf); free(bf); free(df); free(of); free(dxf); free(dwf); free(dbf);
}
END_TEST

static void
attention_case(size_t B, size_t T, size_t C, size_t NH, enum nn_attention mask)
{
	size_t  nin = B * T * 3 * C, nout = B * T * C, natt = B * NH * T * T;
	double *x = dalloc(nin), *o = dalloc(nout), *a = dalloc(natt), *d = dalloc(nout);
	double *dx = dalloc(nin);
	float  *xf, *df, *of = falloc(nout), *af = falloc(natt), *daf = falloc(natt);
	float  *dxf = falloc(nin);

	fill(x, nin, 1); fill(d, nout, 1);
	xf = tofloat(x, nin); df = tofloat(d, nout);
	nn_attention_forward_ref(o, a, x, B, T, C, NH, mask);
	nn_attention_forward(of, af, xf, B, T, C, NH, mask);
	ck_assert_double_le(maxrel(of, o, nout, 1), 1e-5);
	ck_assert_double_le(maxrel(af, a, natt, 1), 1e-5);
	/* The backward accumulates: start dinp from values, subtract them after. */
	for (size_t i = 0; i < nin; i++)
		dxf[i] = (float)(i % 5) - 2;
	nn_attention_backward_ref(dx, d, x, a, B, T, C, NH, mask);
	nn_attention_backward(dxf, daf, df, xf, af, B, T, C, NH, mask);
	for (size_t i = 0; i < nin; i++)
		dxf[i] -= (float)(i % 5) - 2;
	ck_assert_double_le(maxrel(dxf, dx, nin, 1), 1e-5);
	free(x); free(o); free(a); free(d); free(dx); free(xf); free(df); free(of); free(af);
	free(daf); free(dxf);
}

START_TEST(test_fast_attention)
{
	ad_rng_seed(&trng, 22, 1);
	/* T = 53 cuts through the 48-row query blocks; hs = 7 through the tiles.
	 * Causal, then full attention (whole products). */
	for (int m = NN_ATTN_CAUSAL; m <= NN_ATTN_FULL; m++) {
		attention_case(2, 53, 21, 3, (enum nn_attention)m);
		/* Large enough to run on every thread (the parallel path). */
		attention_case(4, 70, 64, 4, (enum nn_attention)m);
	}
}
END_TEST

/* Without the scratch for packed operands (its allocation failing), attention
 * runs whole products: the same results. */
START_TEST(test_attention_without_scratch)
{
	ad_rng_seed(&trng, 23, 1);
	ck_assert_int_eq(nn_sgemm_prepare(), 0);
	ad_alloc_fail_after(0);
	ck_assert_int_eq(nn_sgemm_reserve((size_t)1 << 30), AD_ENOMEM);
	ck_assert_ptr_null(nn_sgemm_scratch(1));
	attention_case(2, 53, 21, 3, NN_ATTN_CAUSAL);
	attention_case(2, 53, 21, 3, NN_ATTN_FULL);
	ck_assert_ptr_null(nn_sgemm_scratch(1));
	ad_alloc_fail_after(-1);
}
END_TEST

START_TEST(test_fast_elementwise)
{
	size_t   n = 101, N = 9, V = 37, E = 5, T = 4, B = 3;
	double  *x = dalloc(n), *o = dalloc(n), *d = dalloc(n), *dx = dalloc(n);
	double  *l = dalloc(N * V), *ls = dalloc(N), *dl = dalloc(N * V);
	double  *wte = dalloc(E * 6), *wpe = dalloc(T * 6), *eo = dalloc(B * T * 6);
	double  *de = dalloc(B * T * 6), *dwte = dalloc(E * 6), *dwpe = dalloc(T * 6);
	float   *xf, *df, *of = falloc(n), *dxf = falloc(n), *lf, *lsf = falloc(N);
	float   *wtef, *wpef, *eof = falloc(B * T * 6), *def, *dwtef = falloc(E * 6);
	float   *dwpef = falloc(T * 6);
	uint32_t tg[9] = { 0, 36, 5, 5, 9, 1, 2, 3, 4 }, ids[12] = { 4, 0, 0, 1, 2, 3, 4, 4, 0, 1, 1, 1 };
	uint8_t  mask[9] = { 1, 1, 1, 0, 1, 1, 1, 1, 0 };
	double   tot, totf;

	ad_rng_seed(&trng, 23, 1);
	fill(x, n, 5); fill(d, n, 1); fill(l, N * V, 4);
	xf = tofloat(x, n); df = tofloat(d, n); lf = tofloat(l, N * V);
	nn_gelu_forward_ref(o, x, n);
	nn_gelu_forward(of, xf, n);
	ck_assert_double_le(maxrel(of, o, n, 1), 1e-6);
	nn_gelu_backward_ref(dx, x, d, n);
	nn_gelu_backward(dxf, xf, df, n);
	ck_assert_double_le(maxrel(dxf, dx, n, 1), 1e-6);

	tot = nn_crossentropy_forward_ref(ls, l, tg, mask, N, V);
	totf = nn_crossentropy_forward(lsf, lf, tg, mask, N, V, V);
	ck_assert_double_le(fabs(tot - totf), 1e-5 * tot);
	ck_assert_double_le(maxrel(lsf, ls, N, 1), 1e-6);
	nn_crossentropy_backward_ref(dl, l, tg, mask, 0.25, N, V);
	nn_crossentropy_backward(lf, tg, mask, 0.25f, N, V, V);
	ck_assert_double_le(maxrel(lf, dl, N * V, 1), 1e-6);

	fill(wte, E * 6, 1); fill(wpe, T * 6, 1); fill(de, B * T * 6, 1);
	wtef = tofloat(wte, E * 6); wpef = tofloat(wpe, T * 6); def = tofloat(de, B * T * 6);
	nn_encoder_forward_ref(eo, ids, wte, wpe, B, T, 6);
	nn_encoder_forward(eof, ids, wtef, wpef, B, T, 6);
	ck_assert_double_le(maxrel(eof, eo, B * T * 6, 1), 1e-7);
	nn_encoder_backward_ref(dwte, dwpe, de, ids, B, T, 6);
	nn_encoder_backward(dwtef, dwpef, def, ids, B, T, 6);
	ck_assert_double_le(maxrel(dwtef, dwte, E * 6, 1), 1e-6);
	ck_assert_double_le(maxrel(dwpef, dwpe, T * 6, 1), 1e-6);
	free(x); free(o); free(d); free(dx); free(l); free(ls); free(dl); free(wte); free(wpe);
	free(eo); free(de); free(dwte); free(dwpe); free(xf); free(df); free(of); free(dxf);
	free(lf); free(lsf); free(wtef); free(wpef); free(eof); free(def); free(dwtef);
	free(dwpef);
}
END_TEST

/* ------------------------------------------------------------------------
 * The whole model
 * ------------------------------------------------------------------------ */

static const struct gpt_config tiny = { 2, 2, 16, 12, 23, 24 };

static struct gpt *
model(const struct gpt_config *cfg, uint64_t seed)
{
	struct gpt     *g;
	struct ad_rng   r;
	struct ad_error e = { 0 };

	ck_assert_int_eq(gpt_new(&g, cfg, &e), 0);
	ad_rng_seed(&r, seed, 7);
	gpt_init(g, &r);
	return g;
}

static uint32_t *
stream(size_t n, uint32_t V, uint64_t seed)
{
	uint32_t     *s = malloc(n * sizeof *s);
	struct ad_rng r;

	ck_assert_ptr_nonnull(s);
	ad_rng_seed(&r, seed, 3);
	/* A learnable stream: mostly a fixed cycle, sometimes a random token. */
	for (size_t i = 0; i < n; i++)
		s[i] = ad_rng_below(&r, 4) == 0 ? ad_rng_below(&r, V) : (uint32_t)((i * 7) % V);
	return s;
}

START_TEST(test_param_count)
{
	struct gpt_config c = { 0 };

	/* Shape S of the issue, worked by hand: 12 L C^2 + V C + T C + biases and norms. */
	ck_assert_int_eq(gpt_preset("small", &c), 0);
	c.V = 4096;
	c.Vin = 4097;
	/* wte 4097*128 + wpe 128*128 + per layer (12*128^2 + 13*128) * 4 + 2*128 */
	ck_assert_uint_eq(gpt_param_count(&c),
	    4097u * 128 + 128u * 128 + 4u * (12u * 128 * 128 + 13u * 128) + 256u);
	ck_assert_int_eq(gpt_preset("nope", &c), -1);
}
END_TEST

/* Mean and standard deviation of n floats, in double. */
static void
moments(const float *x, size_t n, double *mean, double *sd)
{
	double s = 0, ss = 0;

	for (size_t i = 0; i < n; i++)
		s += x[i];
	*mean = s / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - *mean) * (x[i] - *mean);
	*sd = sqrt(ss / (double)(n - 1));
}

/*
 * GPT-2's initialisation as the issue states it (Radford et al. 2019, sec.
 * 2.3, scale the residual projections by 1/sqrt(N) for N residual layers;
 * as in nanoGPT and llm.c): weights normal with sd 0.02, the two
 * projections into the residual stream 0.02 / sqrt(2 L), LayerNorm gains
 * 1, every bias 0. The
 * sample sd of n normals is within 4 sd / sqrt(2 n) of the true one, the
 * mean within 4 sd / sqrt(n), but with odds of about 1e-4 each.
 */
START_TEST(test_init_statistics)
{
	struct gpt_config c = { 4, 4, 64, 32, 300, 301 };
	struct gpt       *g = model(&c, 11);
	const struct gpt_params *p = &g->params;
	struct { const char *name; const float *x; size_t n; double sd; } w[] = {
		{ "wte", p->wte, 301 * 64, 0.02 },
		{ "wpe", p->wpe, 32 * 64, 0.02 },
		{ "qkvw", p->qkvw, 4 * 192 * 64, 0.02 },
		{ "fcw", p->fcw, 4 * 256 * 64, 0.02 },
		{ "attprojw", p->attprojw, 4 * 64 * 64, 0.02 / sqrt(8.0) },
		{ "fcprojw", p->fcprojw, 4 * 64 * 256, 0.02 / sqrt(8.0) },
	};
	int ones = 1, zeros = 1;

	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		double mean, sd;
		moments(w[i].x, w[i].n, &mean, &sd);
		ck_assert_msg(fabs(sd - w[i].sd) <= 4 * w[i].sd / sqrt(2.0 * (double)w[i].n) &&
		    fabs(mean) <= 4 * w[i].sd / sqrt((double)w[i].n),
		    "%s: mean %g sd %g, expected 0 and %g", w[i].name, mean, sd, w[i].sd);
	}
	for (size_t i = 0; i < 4 * 64; i++) {
		ones &= p->ln1w[i] == 1 && p->ln2w[i] == 1 && p->ln1b[i] == 0 && p->ln2b[i] == 0;
		zeros &= p->attprojb[i] == 0 && p->fcprojb[i] == 0;
	}
	for (size_t i = 0; i < 4 * 192; i++)
		zeros &= p->qkvb[i] == 0;
	for (size_t i = 0; i < 4 * 256; i++)
		zeros &= p->fcb[i] == 0;
	for (size_t i = 0; i < 64; i++)
		ones &= p->lnfw[i] == 1 && p->lnfb[i] == 0;
	ck_assert_msg(ones, "LayerNorm gains are not 1 or their biases not 0");
	ck_assert_msg(zeros, "a bias is not 0");
	gpt_free(g);
}
END_TEST

START_TEST(test_config_errors)
{
	struct gpt_config c = { 2, 3, 16, 8, 10, 11 };
	struct ad_error   e = { 0 };

	ck_assert_int_eq(gpt_config_check(&c, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "divisible"));
	c.NH = 4;
	ck_assert_int_eq(gpt_config_check(&c, &e), 0);
	c.T = 1;
	ck_assert_int_eq(gpt_config_check(&c, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "--context"));
}
END_TEST

START_TEST(test_initial_loss)
{
	struct gpt_config c = { 2, 2, 32, 16, 300, 301 };
	struct gpt       *g = model(&c, 5);
	uint32_t         *s = stream(200, c.V, 1);
	struct nn_batch   b;
	struct ad_error   e = { 0 };
	double            loss;

	ck_assert_int_eq(gpt_alloc(g, 4, 16, 0, &e), 0);
	ck_assert_int_eq(nn_batch_new(&b, 4, 16, &e), 0);
	for (size_t r = 0; r < 4; r++)
		nn_objective_causal.make_row(&nn_objective_causal, &c, &b, r, s, 200, r * 30, NULL);
	loss = gpt_forward(g, b.inputs, b.targets, b.mask, b.B, b.Tb);
	/* Small random weights give nearly uniform predictions: ln V. */
	ck_assert_double_le(fabs(loss - log(300.0)), 0.05);
	nn_batch_free(&b);
	gpt_free(g);
	free(s);
}
END_TEST

static struct nn_train_state
state(uint32_t B, uint32_t T, uint64_t steps)
{
	struct nn_train_state st = { 0 };

	st.steps = steps;
	st.seed = 1;
	st.batch = B;
	st.accum = 1;
	st.context = T;
	st.warmup = 2;
	st.lr = 1e-2;
	st.min_lr = 1e-3;
	st.beta1 = 0.9;
	st.beta2 = 0.95;
	st.eps = 1e-8;
	st.weight_decay = 0.1;
	st.clip = 1.0;
	ad_rng_seed(&st.rng, 99, 5);
	strcpy(st.objective, "causal");
	return st;
}

static struct adamw *
optimiser(const struct nn_train_state *st, size_t n)
{
	struct adamw_config c = { st->lr, st->min_lr, st->beta1, st->beta2, st->eps,
	                          st->weight_decay, st->clip, st->warmup, st->steps };
	struct adamw       *a;
	struct ad_error     e = { 0 };

	ck_assert_int_eq(adamw_new(&a, &c, n, &e), 0);
	return a;
}

START_TEST(test_overfit_one_batch)
{
	struct gpt           *g = model(&tiny, 8);
	struct nn_train_state st = state(2, 12, 60);
	struct adamw         *a;
	struct nn_trainer    *tr;
	struct nn_step_stats  s;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(12, tiny.V, 2);   /* one window only */
	double                first = 0;

	st.warmup = 5;
	st.weight_decay = 0;
	st.lr = 3e-2;
	a = optimiser(&st, g->nparams);
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &nn_objective_causal, &st, str, 12, &e), 0);
	for (int i = 0; i < 60; i++) {
		ck_assert_int_eq(nn_trainer_step(tr, &s, &e), 0);
		if (i == 0)
			first = s.loss;
	}
	/* From about ln 23 = 3.1 to near zero (4e-4 after 40 steps when written). */
	ck_assert_double_ge(first, 2.5);
	ck_assert_double_le(s.loss, 0.01);
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);
	free(str);
}
END_TEST

/* tiny with the MASK marker (Vin = V + 2), for the masked objective. */
static const struct gpt_config tinym = { 2, 2, 16, 12, 23, 25 };

/* Large enough that every kernel runs on all threads (see NN_PAR_MIN). */
static const struct gpt_config wide = { 2, 4, 64, 64, 300, 301 };

/* Train `steps` steps on a fresh model with products at precision prec;
 * returns the losses and parameters. */
static void
run_steps_obj(const struct gpt_config *cfg, const struct nn_objective *obj, uint32_t B,
    int threads, uint64_t steps, double *losses, float **params, enum nn_precision prec)
{
	struct gpt           *g = model(cfg, 3);
	struct nn_train_state st = state(B, cfg->T, 8);
	struct adamw         *a = optimiser(&st, g->nparams);
	struct nn_trainer    *tr;
	struct nn_step_stats  s;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(500, cfg->V, 4);

#ifdef _OPENMP
	omp_set_num_threads(threads);
#else
	(void)threads;
#endif
	st.precision = prec;
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, obj, &st, str, 500, &e), 0);
	for (uint64_t i = 0; i < steps; i++) {
		ck_assert_int_eq(nn_trainer_step(tr, &s, &e), 0);
		losses[i] = s.loss;
	}
	*params = malloc(g->nparams * sizeof(float));
	memcpy(*params, g->param_mem, g->nparams * sizeof(float));
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);
	free(str);
}

/* The wide model with the MASK marker, for the masked objective. */
static const struct gpt_config widem = { 2, 4, 64, 64, 300, 302 };

/* Causal (_i = 0) and masked (_i = 1): the masks are drawn per row from the
 * sampler, never per thread. */
START_TEST(test_threads_same_bits)
{
	const struct gpt_config   *cfg = _i ? &widem : &wide;
	const struct nn_objective *obj = _i ? &nn_objective_masked : &nn_objective_causal;
	double l1[8], l2[8];
	float *p1, *p2;
	size_t n = (size_t)gpt_param_count(cfg);

	run_steps_obj(cfg, obj, 4, 1, 8, l1, &p1, NN_PREC_FP32);
	run_steps_obj(cfg, obj, 4, 2, 8, l2, &p2, NN_PREC_FP32);
	ck_assert_mem_eq(l1, l2, sizeof l1);
	ck_assert_mem_eq(p1, p2, n * sizeof(float));
	free(p1);
	free(p2);
#ifdef _OPENMP
	omp_set_num_threads(2);
#endif
}
END_TEST

/* In bf16 as in fp32: one thread and two give the same bits; and the
 * bf16 run is not the fp32 one (its products did change), though its
 * losses stay within 1% of it over 8 steps (a sanity bound, not derived). */
START_TEST(test_bf16_threads_same_bits)
{
	double l1[8], l2[8], l32[8];
	float *p1, *p2, *p32;
	size_t n = (size_t)gpt_param_count(&wide);

	if (!bf16_or_skip("test_bf16_threads_same_bits"))
		return;
	run_steps_obj(&wide, &nn_objective_causal, 4, 1, 8, l1, &p1, NN_PREC_BF16);
	run_steps_obj(&wide, &nn_objective_causal, 4, 2, 8, l2, &p2, NN_PREC_BF16);
	run_steps_obj(&wide, &nn_objective_causal, 4, 2, 8, l32, &p32, NN_PREC_FP32);
	ck_assert_mem_eq(l1, l2, sizeof l1);
	ck_assert_mem_eq(p1, p2, n * sizeof(float));
	ck_assert_int_ne(memcmp(p1, p32, n * sizeof(float)), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_double_le(fabs(l1[i] - l32[i]), 0.01 * l32[i]);
	free(p1);
	free(p2);
	free(p32);
#ifdef _OPENMP
	omp_set_num_threads(2);
#endif
}
END_TEST

START_TEST(test_resume_bit_identical)
{
	/* Causal (_i = 0), masked (_i = 1): its masks come from the sampler
	 * the checkpoint stores, and its recipe from the file; causal with
	 * bf16 products (_i = 2), whose precision the checkpoint keeps. */
	int                        masked = _i == 1;
	enum nn_precision          prec = _i == 2 ? NN_PREC_BF16 : NN_PREC_FP32;
	const struct gpt_config   *cfg = masked ? &tinym : &tiny;
	struct nn_objective        obj = masked ? nn_objective_masked : nn_objective_causal;
	double                straight[8], resumed[8];
	float                *p1;
	struct gpt           *g = model(cfg, 3), *g2;
	struct nn_train_state st = state(3, 12, 8);
	struct adamw         *a = optimiser(&st, g->nparams), *a2;
	struct nn_trainer    *tr;
	struct nn_step_stats  s;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(500, tiny.V, 4);
	struct nn_file        f = { 0 }, f2;
	struct ad_map         m;
	char                 *dir = tu_tmpdir(), path[4200];

	if (prec == NN_PREC_BF16 && !bf16_or_skip("test_resume_bit_identical (bf16)")) {
		gpt_free(g);
		adamw_free(a);
		free(str);
		free(dir);
		return;
	}
	obj.mask_rate = 0.25;
	if (masked)
		strcpy(st.objective, "masked");
	run_steps_obj(cfg, &obj, 3, 2, 8, straight, &p1, prec);
#ifdef _OPENMP
	omp_set_num_threads(2);
#endif
	st.precision = prec;
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &obj, &st, str, 500, &e), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(nn_trainer_step(tr, &s, &e), 0);
		resumed[i] = s.loss;
	}
	f.cfg = *cfg;
	f.masked = masked;
	f.mask_rate = obj.mask_rate;
	f.tok_kind = NN_TOK_BYTES;
	f.train = tr->st;
	snprintf(path, sizeof path, "%s/ck", dir);
	ck_assert_int_eq(nn_save(path, &f, g, a, &e), 0);
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);

	ck_assert_int_eq(ad_map_file(path, &m, &e), 0);
	ck_assert_int_eq(nn_load(m.data, m.size, path, &f2, &g2, &a2, &e), 0);
	ck_assert_int_eq(f2.has_train, 1);
	ck_assert_uint_eq(f2.train.step, 5);
	ck_assert_int_eq(f2.masked, masked);
	ck_assert_uint_eq(f2.train.precision, prec);
	ck_assert_int_eq(g2->attention, masked ? NN_ATTN_FULL : NN_ATTN_CAUSAL);
	ck_assert_ptr_eq(nn_objective_find(f2.train.objective),
	    masked ? &nn_objective_masked : &nn_objective_causal);
	if (masked) {
		ck_assert_double_eq(f2.mask_rate, 0.25);
		obj = nn_objective_masked;
		obj.mask_rate = f2.mask_rate;
	}
	ck_assert_int_eq(nn_trainer_new(&tr, g2, a2, &obj, &f2.train, str, 500, &e), 0);
	ad_map_release(&m);
	for (int i = 5; i < 8; i++) {
		ck_assert_int_eq(nn_trainer_step(tr, &s, &e), 0);
		resumed[i] = s.loss;
	}
	ck_assert_mem_eq(straight, resumed, sizeof straight);
	ck_assert_mem_eq(p1, g2->param_mem, g2->nparams * sizeof(float));
	nn_trainer_free(tr);
	adamw_free(a2);
	gpt_free(g2);
	free(p1);
	free(str);
	free(dir);
}
END_TEST

START_TEST(test_checkpoint_damage)
{
	struct gpt     *g = model(&tiny, 1), *g2;
	struct nn_file  f = { 0 }, f2;
	struct ad_error e = { 0 };
	char           *dir = tu_tmpdir(), path[4200], *buf;
	size_t          len = 0;

	f.cfg = tiny;
	f.tok_kind = NN_TOK_BPE;
	f.tok_blob = "vocabulary bytes";
	f.tok_len = 16;
	f.tok_identity = 0x1234;
	f.text_hash = 0x0123456789abcdefULL;
	f.text_bytes = 987654321;
	snprintf(path, sizeof path, "%s/m", dir);
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	buf = tu_slurp(path, &len);
	ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), 0);
	ck_assert_uint_eq(f2.tok_identity, 0x1234);
	ck_assert_uint_eq(f2.text_hash, 0x0123456789abcdefULL);
	ck_assert_uint_eq(f2.text_bytes, 987654321);
	ck_assert_int_eq(memcmp(f2.tok_blob, "vocabulary bytes", 16), 0);
	ck_assert_int_eq(f2.has_train, 0);
	ck_assert_mem_eq(g->param_mem, g2->param_mem, g->nparams * sizeof(float));
	gpt_free(g2);
	/* One flipped bit in the parameters: the checksum catches it. */
	buf[len / 2] ^= 4;
	ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), AD_ECHECKSUM);
	buf[len / 2] ^= 4;
	/* Truncated: the sizes do not add up. */
	ck_assert_int_eq(nn_load((uint8_t *)buf, len - 5, path, &f2, &g2, NULL, &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "truncated"));
	/* A future version. */
	buf[8] = 9;
	ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), AD_EVERSION);
	buf[8] = NN_VERSION;
	/*
	 * The same model as version 1 wrote it, by the layout of the man page:
	 * the 68-byte header without the training text's hash and size, the
	 * vocabulary, zeros to a multiple of 64, the parameters, the XXH64.
	 * It loads, with the training text not recorded.
	 */
	{
		size_t   v1len = 68 + 16 + (64 - (68 + 16) % 64) % 64 + g->nparams * 4 + 8;
		uint8_t *v1 = calloc(1, v1len);
		uint64_t sum;
		ck_assert_ptr_nonnull(v1);
		memcpy(v1, buf, 68);
		v1[8] = 1;
		memcpy(v1 + 68, f.tok_blob, 16);
		memcpy(v1 + v1len - 8 - g->nparams * 4, g->param_mem, g->nparams * 4);
		sum = ad_hash64(v1, v1len - 8, 0);
		memcpy(v1 + v1len - 8, &sum, 8);
		ck_assert_int_eq(nn_load(v1, v1len, path, &f2, &g2, NULL, &e), 0);
		ck_assert_uint_eq(f2.text_bytes, 0);
		ck_assert_uint_eq(f2.text_hash, 0);
		ck_assert_uint_eq(f2.tok_identity, 0x1234);
		ck_assert_int_eq(memcmp(f2.tok_blob, "vocabulary bytes", 16), 0);
		ck_assert_mem_eq(g->param_mem, g2->param_mem, g->nparams * sizeof(float));
		gpt_free(g2);
		free(v1);
	}
	/* The masked flag on a model without the MASK row: refused by name. */
	buf[12] |= 2;
	ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), AD_EFORMAT);
	ck_assert_ptr_nonnull(strstr(e.msg, "byte 36"));
	buf[12] &= ~2;
	/* Not a model. */
	memcpy(buf, "NOTMODEL", 8);
	ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), AD_EFORMAT);
	free(buf);
	gpt_free(g);
	/*
	 * A masked model: flag 2 and its 16-byte recipe after the header (mask
	 * rate 0.2 as f64, whole-word 1, zero), by the man page's layout; a
	 * mask rate out of (0, 1] is corrupt.
	 */
	{
		double   rate = 0.2;
		uint32_t one = 1;
		uint64_t sum;
		g = model(&tinym, 1);
		f.cfg = tinym;
		f.masked = 1;
		f.mask_rate = 0.2;
		f.whole_word = 1;
		ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
		buf = tu_slurp(path, &len);
		ck_assert_uint_eq((uint8_t)buf[12], 2);
		ck_assert_mem_eq(buf + 84, &rate, 8);
		ck_assert_mem_eq(buf + 92, &one, 4);
		ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), 0);
		ck_assert_int_eq(f2.masked, 1);
		ck_assert_double_eq(f2.mask_rate, 0.2);
		ck_assert_int_eq(f2.whole_word, 1);
		ck_assert_int_eq(g2->attention, NN_ATTN_FULL);
		ck_assert_mem_eq(g->param_mem, g2->param_mem, g->nparams * sizeof(float));
		gpt_free(g2);
		rate = 1.5;
		memcpy(buf + 84, &rate, 8);
		sum = ad_hash64(buf, len - 8, 0);
		memcpy(buf + len - 8, &sum, 8);
		ck_assert_int_eq(nn_load((uint8_t *)buf, len, path, &f2, &g2, NULL, &e), AD_EFORMAT);
		ck_assert_ptr_nonnull(strstr(e.msg, "mask rate"));
		free(buf);
		gpt_free(g);
	}
	free(dir);
}
END_TEST

/*
 * nn_log_softmax against double, with AVX2 and in plain C, logits in
 * [-10, 10]. The bound: each exponential of l - mx is off by 2e-7 relative
 * (Cephes' expf polynomial, or expf) plus the fp32 rounding of l - mx,
 * u |l - mx| <= 20 u; the double sum adds nothing that matters; so the log
 * of the sum is off by at most 2e-7 + 20 u, and the result's rounding to
 * fp32 adds u |logp|.
 */
START_TEST(test_log_softmax)
{
	static const size_t Vs[] = { 1, 7, 8, 9, 17, 4096, 50257 };
	double u = ldexp(1.0, -24);

	ad_rng_seed(&trng, 22, 1);
	for (size_t k = 0; k < sizeof Vs / sizeof Vs[0]; k++)
		for (int portable = 0; portable < 2; portable++) {
			size_t  V = Vs[k];
			double *l = dalloc(V), mx = -HUGE_VAL, sum = 0, worst = 0;
			float  *lf, *out = falloc(V);
			fill(l, V, 10);
			lf = tofloat(l, V);
			for (size_t v = 0; v < V; v++)
				mx = fmax(mx, lf[v]);
			for (size_t v = 0; v < V; v++)
				sum += exp(lf[v] - mx);
			if (portable)
				nn_kernel_select(NN_KERNEL_PORTABLE);
			nn_log_softmax(out, lf, V);
			nn_kernel_select(NN_KERNEL_AUTO);
			for (size_t v = 0; v < V; v++) {
				double ref = lf[v] - mx - log(sum);
				worst = fmax(worst, fabs(out[v] - ref) / (2e-7 + 20 * u + u * fabs(ref)));
			}
			ck_assert_msg(worst <= 1, "log_softmax V %zu%s: %.2f times the bound", V,
			    portable ? " (portable)" : "", worst);
			free(l); free(lf); free(out);
		}
}
END_TEST

/*
 * Generation's attention of one head (nn_attend_one) against the softmax
 * and products in double, with AVX2 (hs a multiple of 8) and in plain C.
 * The bound, per output column c, relative to sum_t p_t |V[t][c]|: a score
 * is an fp32 sum of hs products, off by at most ds = gamma_hs scale sum_i
 * |q_i k_ti| (Higham eq. 3.5); the exp polynomial adds 2e-7 relative
 * (Cephes' expf); so each weight p_t, a ratio of those over their fp32 sum
 * of n, is off by at most 2 (ds + 2e-7) + gamma_n + u relative, and the
 * output's fp32 sum of n adds gamma_n more.
 */
START_TEST(test_attend_one)
{
	static const size_t shapes[][2] = {
		{ 1, 8 }, { 3, 16 }, { 4, 64 }, { 5, 64 }, { 37, 64 }, { 300, 64 },
		{ 129, 72 }, { 17, 128 }, { 9, 12 }, { 6, 5 }, { 1, 1 },
	};
	double u = ldexp(1.0, -24);

	ad_rng_seed(&trng, 21, 1);
	for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++)
		for (int portable = 0; portable < 2; portable++) {
			size_t  n = shapes[si][0], hs = shapes[si][1];
			double *q = dalloc(hs), *K = dalloc(n * hs), *V = dalloc(n * hs);
			double *p = dalloc(n), scale = 1 / sqrt((double)hs), worst = 0, mx = -HUGE_VAL;
			double  sum = 0, ds = 0;
			double  gh = hs * u / (1 - hs * u), gn = n * u / (1 - n * u);
			float  *qf, *Kf, *Vf, *o = falloc(hs), *att = falloc(n);
			fill(q, hs, 3);
			fill(K, n * hs, 1);
			fill(V, n * hs, 1);
			qf = tofloat(q, hs);
			Kf = tofloat(K, n * hs);
			Vf = tofloat(V, n * hs);
			for (size_t t = 0; t < n; t++) {
				double dot = 0, mag = 0;
				for (size_t i = 0; i < hs; i++) {
					dot += (double)qf[i] * Kf[t * hs + i];
					mag += fabs((double)qf[i] * Kf[t * hs + i]);
				}
				p[t] = dot * scale;
				mx = fmax(mx, p[t]);
				ds = fmax(ds, gh * scale * mag);
			}
			for (size_t t = 0; t < n; t++)
				sum += p[t] = exp(p[t] - mx);
			if (portable)
				nn_kernel_select(NN_KERNEL_PORTABLE);
			nn_attend_one(o, qf, Kf, Vf, n, hs, att);
			nn_kernel_select(NN_KERNEL_AUTO);
			for (size_t c = 0; c < hs; c++) {
				double ref = 0, mag = 0;
				for (size_t t = 0; t < n; t++) {
					ref += p[t] / sum * Vf[t * hs + c];
					mag += p[t] / sum * fabs((double)Vf[t * hs + c]);
				}
				worst = fmax(worst, fabs(o[c] - ref) /
				    ((2 * (ds + 2e-7) + 2 * gn + u) * mag + 1e-300));
			}
			ck_assert_msg(worst <= 1, "attend_one n %zu hs %zu%s: %.2f times the bound", n,
			    hs, portable ? " (portable)" : "", worst);
			free(q); free(K); free(V); free(p); free(qf); free(Kf); free(Vf); free(o);
			free(att);
		}
}
END_TEST

START_TEST(test_kv_cache_matches_forward)
{
	struct gpt     *g = model(&tiny, 11);
	struct gpt_kv  *kv;
	struct ad_error e = { 0 };
	uint32_t        in[12];
	size_t          V = tiny.V;

	in[0] = GPT_BOS(&tiny);
	for (int i = 1; i < 12; i++)
		in[i] = (uint32_t)(i * 5 % V);
	ck_assert_int_eq(gpt_alloc(g, 1, 12, 0, &e), 0);
	gpt_forward(g, in, NULL, NULL, 1, 12);
	ck_assert_int_eq(gpt_kv_new(g, &kv, &e), 0);
	for (int t = 0; t < 12; t++) {
		double ref[64];
		gpt_kv_step(g, kv, in[t]);
		for (size_t v = 0; v < V; v++)
			ref[v] = g->acts.logits[t * V + v];
		ck_assert_double_le(maxrel(kv->logits, ref, V, 1), 1e-5);
	}
	/* The first 7 tokens in one prefill, then steps: the same logits. */
	gpt_kv_reset(kv);
	{
		/* A view of the model with activations of its own. */
		struct gpt view = *g;
		view.act_mem = view.grad_mem = view.gact_mem = NULL;
		ck_assert_int_eq(gpt_alloc(&view, 1, 12, 0, &e), 0);
		gpt_kv_prefill(&view, kv, in, 7);
		ad_free(view.act_mem);
	}
	ck_assert_uint_eq(kv->pos, 7);
	for (int t = 6; t < 12; t++) {
		double ref[64];
		if (t > 6)
			gpt_kv_step(g, kv, in[t]);
		for (size_t v = 0; v < V; v++)
			ref[v] = g->acts.logits[t * V + v];
		ck_assert_double_le(maxrel(kv->logits, ref, V, 1), 1e-5);
	}
	gpt_kv_free(kv);
	gpt_free(g);
}
END_TEST


/*
 * gpt_kv_step shares a step's products among threads by chunks of rows
 * (thread 0 from the front, helpers from the back, taking over a helper's
 * chunk when it is slow): the logits and hidden states of 40 steps must be
 * the same bits with 1, 2 and 3 threads, in fp32 and from bf16 weights
 * (oracle: the one-thread run, where thread 0 computes every row). On
 * `wide` the step is above the size that goes parallel, the attention has
 * four one-head chunks and the logits two.
 */
START_TEST(test_kv_step_threads_same_bits)
{
	static float    logits[3][40 * 300], hid[3][40 * 64];
	struct ad_error e = { 0 };
	int             nt = 1;

#ifdef _OPENMP
	nt = omp_get_max_threads();
#endif
	for (int prec = 0; prec < 2; prec++) {
		struct gpt *g = model(&wide, 17);
		if (prec == 1)
			ck_assert_int_eq(gpt_set_precision(g, NN_PREC_BF16, &e), 0);
		for (int t = 0; t < 3; t++) {
			struct gpt_kv *kv;
#ifdef _OPENMP
			omp_set_num_threads(t + 1);
#endif
			ck_assert_int_eq(gpt_kv_new(g, &kv, &e), 0);
			for (uint32_t i = 0; i < 40; i++) {
				gpt_kv_step(g, kv, i == 0 ? GPT_BOS(&wide) : i * 7 % 300);
				memcpy(logits[t] + i * 300, kv->logits, 300 * sizeof(float));
				memcpy(hid[t] + i * 64, kv->hid, 64 * sizeof(float));
			}
			gpt_kv_free(kv);
		}
#ifdef _OPENMP
		omp_set_num_threads(nt);
#endif
		for (int t = 1; t < 3; t++) {
			ck_assert_msg(memcmp(logits[0], logits[t], sizeof logits[0]) == 0,
			    "%s generation: logits with 1 and %d threads differ",
			    prec ? "bf16" : "fp32", t + 1);
			ck_assert_msg(memcmp(hid[0], hid[t], sizeof hid[0]) == 0,
			    "%s generation: hidden states with 1 and %d threads differ",
			    prec ? "bf16" : "fp32", t + 1);
		}
		gpt_free(g);
	}
}
END_TEST

START_TEST(test_accumulation)
{
	/* Two batches of 2 rows accumulated = one batch of the same 4 rows (the
	 * sampler draws rows in the same order), up to summation order. */
	struct nn_train_state s1 = state(4, 12, 8), s2 = state(2, 12, 8);
	struct gpt           *g1 = model(&tiny, 3), *g2 = model(&tiny, 3);
	struct adamw         *a1 = optimiser(&s1, g1->nparams), *a2 = optimiser(&s2, g2->nparams);
	struct nn_trainer    *t1, *t2;
	struct nn_step_stats  r1, r2;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(500, tiny.V, 4);
	double                worst = 0, big = 0;

	s2.accum = 2;
	ck_assert_int_eq(nn_trainer_new(&t1, g1, a1, &nn_objective_causal, &s1, str, 500, &e), 0);
	ck_assert_int_eq(nn_trainer_new(&t2, g2, a2, &nn_objective_causal, &s2, str, 500, &e), 0);
	ck_assert_int_eq(nn_trainer_step(t1, &r1, &e), 0);
	ck_assert_int_eq(nn_trainer_step(t2, &r2, &e), 0);
	ck_assert_double_le(fabs(r1.loss - r2.loss), 1e-6 * r1.loss);
	ck_assert_double_le(fabs(r1.grad_norm - r2.grad_norm), 1e-5 * r1.grad_norm);
	for (size_t i = 0; i < g1->nparams; i++) {
		double d = fabs((double)g1->grad_mem[i] - g2->grad_mem[i]);
		worst = d > worst ? d : worst;
		big = fabs(g1->grad_mem[i]) > big ? fabs(g1->grad_mem[i]) : big;
	}
	ck_assert_double_le(worst, 1e-5 * big);
	ck_assert_uint_eq(t1->st.tokens_seen, t2->st.tokens_seen);
	nn_trainer_free(t1); nn_trainer_free(t2);
	adamw_free(a1); adamw_free(a2);
	gpt_free(g1); gpt_free(g2);
	free(str);
}
END_TEST

/*
 * Label noise reaches the trainer through the targets only: with targets
 * set (data_label_noise at P = 1), each drawn row's inputs are still the
 * clean stream and its targets the noisy stream at the same positions (the
 * row's start found by searching the clean stream for its inputs); the
 * training loss against the clean stream as targets equals nn_evaluate's;
 * the masked objective refuses targets.
 */
START_TEST(test_label_noise_targets)
{
	struct nn_train_state st = state(4, 12, 8);
	struct gpt           *g = model(&tiny, 3);
	struct adamw         *a = optimiser(&st, g->nparams);
	struct nn_trainer    *tr;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(500, tiny.V, 4), *noisy = malloc(500 * sizeof *noisy);
	size_t                Tb = 12, c1, c2, differ = 0;
	double                n1, n2;

	ck_assert_ptr_nonnull(noisy);
	data_label_noise(noisy, str, 500, 1, tiny.V, 9);
	for (size_t i = 0; i < 500; i++)
		differ += noisy[i] != str[i];
	ck_assert_uint_gt(differ, 400);
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &nn_objective_causal, &st, str, 500, &e), 0);
	ck_assert_int_eq(nn_trainer_set_targets(tr, noisy, &e), 0);
	(void)nn_trainer_draw(tr, 0, 1, NULL);
	for (size_t b = 0; b < 4; b++) {
		const uint32_t *in = tr->batch.inputs + b * Tb, *tg = tr->batch.targets + b * Tb;
		size_t          found = 0;
		ck_assert_uint_eq(in[0], GPT_BOS(&tiny));
		for (size_t s0 = 0; s0 + Tb <= 500; s0++) {
			int same = 1;
			for (size_t t = 0; t + 1 < Tb && same; t++)
				same = in[t + 1] == str[s0 + t];
			if (!same)
				continue;
			for (size_t t = 0; t < Tb; t++)
				if (tg[t] != noisy[s0 + t])
					same = 0;
			found += same;
		}
		ck_assert_uint_ge(found, 1);
	}
	/* The training loss: clean targets give nn_evaluate's figure exactly. */
	ck_assert_int_eq(nn_evaluate(g, &nn_objective_causal, str, 500, 0, &n1, &c1, &e), 0);
	ck_assert_int_eq(nn_evaluate_targets(g, &nn_objective_causal, str, str, 500, 0, &n2, &c2,
	    &e), 0);
	ck_assert_double_eq(n1, n2);
	ck_assert_uint_eq(c1, c2);
	ck_assert_int_eq(nn_evaluate_targets(g, &nn_objective_causal, str, noisy, 500, 0, &n2, &c2,
	    &e), 0);
	ck_assert_double_ne(n1, n2);
	ck_assert_int_eq(nn_evaluate_targets(g, &nn_objective_masked, str, noisy, 500, 0, &n2, &c2,
	    &e), AD_EINVAL);
	tr->obj = &nn_objective_masked;
	ck_assert_int_eq(nn_trainer_set_targets(tr, noisy, &e), AD_EINVAL);
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);
	free(str);
	free(noisy);
}
END_TEST

START_TEST(test_nan_stops_before_update)
{
	struct gpt           *g = model(&tiny, 3);
	struct nn_train_state st = state(2, 12, 8);
	struct adamw         *a = optimiser(&st, g->nparams);
	struct nn_trainer    *tr;
	struct nn_step_stats  s;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(100, tiny.V, 4);
	float                *before = malloc(g->nparams * sizeof(float));

	g->params.lnfw[3] = NAN;   /* a poisoned parameter: every loss is NaN */
	memcpy(before, g->param_mem, g->nparams * sizeof(float));
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &nn_objective_causal, &st, str, 100, &e), 0);
	ck_assert_int_eq(nn_trainer_step(tr, &s, &e), AD_ENUMERIC);
	ck_assert_ptr_nonnull(strstr(e.msg, "diverged"));
	ck_assert_uint_eq(tr->st.step, 0);
	ck_assert_mem_eq(before, g->param_mem, g->nparams * sizeof(float));
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);
	free(str);
	free(before);
}
END_TEST

/*
 * gpt_backward differentiates the batch it is given: after a forward over
 * the first rows (and fewer positions) of a larger allocation, whose other
 * rows hold a previous batch, the gradients are those of a model allocated
 * for exactly that batch (the oracle: the same parameters, sized (B, Tb));
 * a shape other than the last forward's is refused.
 */
START_TEST(test_backward_partial_batch)
{
	struct gpt     *big = model(&tiny, 6), *exact = model(&tiny, 6);
	uint32_t       *s = stream(400, tiny.V, 9);
	struct nn_batch full, part;
	struct ad_error e = { 0 };
	const size_t    shapes[2][2] = { { 2, 12 }, { 3, 7 } };

	ck_assert_int_eq(gpt_alloc(big, 4, 12, 1, &e), 0);
	ck_assert_int_eq(nn_batch_new(&full, 4, 12, &e), 0);
	for (size_t r = 0; r < 4; r++)
		nn_objective_causal.make_row(&nn_objective_causal, &tiny, &full, r, s, 400, 200 + r * 40, NULL);
	for (int k = 0; k < 2; k++) {
		size_t B = shapes[k][0], Tb = shapes[k][1];

		ck_assert_int_eq(gpt_alloc(exact, B, Tb, 1, &e), 0);
		ck_assert_int_eq(nn_batch_new(&part, B, Tb, &e), 0);
		for (size_t r = 0; r < B; r++)
			nn_objective_causal.make_row(&nn_objective_causal, &tiny, &part, r, s, 400, r * 30, NULL);
		/* Stale rows: a whole batch of other text first. */
		gpt_forward(big, full.inputs, full.targets, full.mask, 4, 12);
		gpt_zero_grad(big);
		ck_assert_int_eq(gpt_backward(big, full.inputs, full.targets, full.mask, 4, 12, 0.1f,
		    &e), 0);
		gpt_forward(big, part.inputs, part.targets, part.mask, B, Tb);
		gpt_zero_grad(big);
		ck_assert_int_eq(gpt_backward(big, part.inputs, part.targets, part.mask, B, Tb, 0.1f,
		    &e), 0);
		gpt_forward(exact, part.inputs, part.targets, part.mask, B, Tb);
		gpt_zero_grad(exact);
		ck_assert_int_eq(gpt_backward(exact, part.inputs, part.targets, part.mask, B, Tb,
		    0.1f, &e), 0);
		ck_assert_mem_eq(big->grad_mem, exact->grad_mem, big->nparams * sizeof(float));

		/* The allocated shape, or another one, after this forward: refused,
		 * and the gradients are left as they were. */
		gpt_forward(big, part.inputs, part.targets, part.mask, B, Tb);
		ck_assert_int_eq(gpt_backward(big, full.inputs, full.targets, full.mask, 4, 12, 0.1f,
		    &e), AD_EINVAL);
		ck_assert_ptr_nonnull(strstr(e.msg, "forward pass over"));
		ck_assert_int_eq(gpt_backward(big, part.inputs, part.targets, part.mask, B, Tb + 1,
		    0.1f, &e), AD_EINVAL);
		ck_assert_mem_eq(big->grad_mem, exact->grad_mem, big->nparams * sizeof(float));
		nn_batch_free(&part);
	}
	/* Without gradients: refused. */
	ck_assert_int_eq(gpt_alloc(exact, 2, 12, 0, &e), 0);
	gpt_forward(exact, full.inputs, full.targets, full.mask, 2, 12);
	ck_assert_int_eq(gpt_backward(exact, full.inputs, full.targets, full.mask, 2, 12, 0.1f,
	    &e), AD_EINVAL);
	nn_batch_free(&full);
	gpt_free(big);
	gpt_free(exact);
	free(s);
}
END_TEST

/*
 * The budget's fit, worked by hand: a budget of 100 s from step 10; steps
 * 11 .. 14 end at 5, 7, 9, 11 s. Step 14 fits: (11 - 5) / 3 = 2 s a step,
 * (100 - 11) / 2 = 44.5 more, so 14 + 44 = 58 steps, warmup 58 / 20 = 2;
 * the next refit is due at 11 + 100 / 20 = 16 s. Step 15 at 13 s: not yet.
 * Step 16 at 21 s (the machine slowed): (21 - 5) / 5 = 3.2 s a step,
 * 79 / 3.2 = 24.7 more, so 40 steps, warmup kept; next due at 26 s. Step
 * 17 at 101 s, past the budget: no refit.
 */
START_TEST(test_budget_fit)
{
	struct nn_budget b = { 100, 10, 1, 0, 0 };
	uint64_t         steps = 0, warmup = 7;

	ck_assert_int_eq(nn_budget_update(&b, 11, 5, &steps, &warmup), 0);
	ck_assert_int_eq(nn_budget_update(&b, 12, 7, &steps, &warmup), 0);
	ck_assert_int_eq(nn_budget_update(&b, 13, 9, &steps, &warmup), 0);
	ck_assert_uint_eq(steps, 0);
	ck_assert_int_eq(nn_budget_update(&b, 14, 11, &steps, &warmup), 1);
	ck_assert_uint_eq(steps, 58);
	ck_assert_uint_eq(warmup, 2);
	ck_assert_double_eq(b.t_refit, 16);
	ck_assert_int_eq(nn_budget_update(&b, 15, 13, &steps, &warmup), 0);
	warmup = 7;
	ck_assert_int_eq(nn_budget_update(&b, 16, 21, &steps, &warmup), 1);
	ck_assert_uint_eq(steps, 40);
	ck_assert_uint_eq(warmup, 7);
	ck_assert_double_eq(b.t_refit, 26);
	ck_assert_int_eq(nn_budget_update(&b, 17, 101, &steps, &warmup), 0);
	ck_assert_uint_eq(steps, 40);

	/* Without fit_warmup the warmup stays; a first fit already past the
	 * budget plans one more step; steps that took no time at all plan
	 * as many as there is room for (no division by zero). */
	b = (struct nn_budget){ 100, 0, 0, 0, 0 };
	warmup = 7;
	nn_budget_update(&b, 1, 1, &steps, &warmup);
	ck_assert_int_eq(nn_budget_update(&b, 4, 200, &steps, &warmup), 1);
	ck_assert_uint_eq(steps, 5);
	ck_assert_uint_eq(warmup, 7);
	b = (struct nn_budget){ 100, 0, 1, 0, 0 };
	nn_budget_update(&b, 1, 3, &steps, &warmup);
	ck_assert_int_eq(nn_budget_update(&b, 4, 3, &steps, &warmup), 1);
	ck_assert_uint_eq(steps, UINT64_MAX / 8);
	ck_assert_uint_eq(warmup, 200);
}
END_TEST

/* A run's hooks, recording what the loop did. */
struct run_rec {
	uint64_t  stop_after;   /* the stop hook says yes once this many steps are done */
	uint64_t  steps_seen;
	double    losses[16];
	uint64_t  ckpts[16];    /* steps the checkpoint hook was called at */
	int       nckpt;
	uint64_t  planned[16];  /* the planned steps the step hook saw */
	double    clock;        /* the fake clock: one second a call */
};

static void
rec_step(void *ctx, const struct nn_run_step *s)
{
	struct run_rec *r = ctx;

	ck_assert_uint_lt(s->step, 17);
	r->losses[s->step - 1] = s->loss;
	r->planned[s->step - 1] = s->steps;
	r->steps_seen = s->step;
}

static int
rec_checkpoint(void *ctx, const struct nn_trainer *tr, struct ad_error *e)
{
	struct run_rec *r = ctx;

	(void)e;
	r->ckpts[r->nckpt++] = tr->st.step;
	return 0;
}

static int
rec_stop(void *ctx)
{
	struct run_rec *r = ctx;

	return r->stop_after > 0 && r->steps_seen >= r->stop_after;
}

static double
rec_now(void *ctx)
{
	struct run_rec *r = ctx;

	return r->clock++;
}

/*
 * nn_train_run: 8 steps straight, with a checkpoint every 3; the same run
 * stopped by the stop hook after step 5, saved, loaded and run on gives the
 * same losses and the same parameters (the straight run is the oracle);
 * stop_at ends a run with its own reason; the checkpoint cadence is steps
 * 3 and 6, counted from step 0 whatever step a run starts at.
 */
START_TEST(test_run_stop_resume)
{
	struct nn_train_state st = state(3, 12, 8);
	struct gpt           *g1 = model(&tiny, 3), *g2 = model(&tiny, 3), *g3;
	struct adamw         *a1 = optimiser(&st, g1->nparams), *a2 = optimiser(&st, g2->nparams);
	struct adamw         *a3;
	struct nn_trainer    *t1, *t2, *t3;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(500, tiny.V, 4);
	struct run_rec        straight = { 0 }, paused = { 0 };
	struct nn_run_config  c = { 0 };
	struct nn_run_hooks   h = { NULL, rec_step, rec_checkpoint, rec_stop, NULL };
	struct nn_run_result  r;
	struct nn_file        f = { 0 }, f2;
	struct ad_map         m;
	char                 *dir = tu_tmpdir(), path[4200];

	c.ckpt_every = 3;
	ck_assert_int_eq(nn_trainer_new(&t1, g1, a1, &nn_objective_causal, &st, str, 500, &e), 0);
	h.ctx = &straight;
	ck_assert_int_eq(nn_train_run(t1, &c, &h, &r, &e), 0);
	ck_assert_int_eq(r.end, NN_RUN_DONE);
	ck_assert_uint_eq(t1->st.step, 8);
	ck_assert_int_eq(straight.nckpt, 2);
	ck_assert_uint_eq(straight.ckpts[0], 3);
	ck_assert_uint_eq(straight.ckpts[1], 6);
	ck_assert_int_eq(r.saved, 1);
	ck_assert_uint_eq(r.saved_step, 6);

	paused.stop_after = 5;
	h.ctx = &paused;
	ck_assert_int_eq(nn_trainer_new(&t2, g2, a2, &nn_objective_causal, &st, str, 500, &e), 0);
	ck_assert_int_eq(nn_train_run(t2, &c, &h, &r, &e), 0);
	ck_assert_int_eq(r.end, NN_RUN_STOPPED);
	ck_assert_uint_eq(t2->st.step, 5);
	f.cfg = tiny;
	f.tok_kind = NN_TOK_BYTES;
	f.train = t2->st;
	snprintf(path, sizeof path, "%s/ck", dir);
	ck_assert_int_eq(nn_save(path, &f, g2, a2, &e), 0);
	ck_assert_int_eq(ad_map_file(path, &m, &e), 0);
	ck_assert_int_eq(nn_load(m.data, m.size, path, &f2, &g3, &a3, &e), 0);
	ad_map_release(&m);
	ck_assert_int_eq(nn_trainer_new(&t3, g3, a3, &nn_objective_causal, &f2.train, str, 500,
	    &e), 0);
	paused.stop_after = 0;
	ck_assert_int_eq(nn_train_run(t3, &c, &h, &r, &e), 0);
	ck_assert_int_eq(r.end, NN_RUN_DONE);
	ck_assert_uint_eq(r.start, 5);
	ck_assert_int_eq(paused.nckpt, 2);   /* 3 in the first session, 6 in the second */
	ck_assert_uint_eq(paused.ckpts[1], 6);
	ck_assert_mem_eq(straight.losses, paused.losses, 8 * sizeof(double));
	ck_assert_mem_eq(g1->param_mem, g3->param_mem, g1->nparams * sizeof(float));

	/* stop_at: a pause with its own reason, at that step. */
	c.stop_at = 2;
	c.ckpt_every = 0;
	st.step = 0;
	nn_trainer_free(t2);
	ck_assert_int_eq(nn_trainer_new(&t2, g2, a2, &nn_objective_causal, &st, str, 500, &e), 0);
	ck_assert_int_eq(nn_train_run(t2, &c, &h, &r, &e), 0);
	ck_assert_int_eq(r.end, NN_RUN_STOP_AT);
	ck_assert_uint_eq(t2->st.step, 2);

	nn_trainer_free(t1); nn_trainer_free(t2); nn_trainer_free(t3);
	adamw_free(a1); adamw_free(a2); adamw_free(a3);
	gpt_free(g1); gpt_free(g2); gpt_free(g3);
	free(str);
	free(dir);
}
END_TEST

/*
 * A time budget through the loop, on a fake clock that moves one second at
 * each of the loop's readings: one at the start, three a step (its start,
 * its end, the elapsed time), so step k ends at 3k s. With a budget of
 * 60 s: t_first 3; step 4 at 12 s fits (12 - 3) / 3 = 3 s a step, 4 +
 * 48 / 3 = 20 steps, warmup 1; refits at 15, 18, ... keep 20; the budget
 * is spent at step 20 (60 s) and the run ends there, for that reason.
 */
START_TEST(test_run_budget)
{
	struct nn_train_state st = state(2, 12, UINT64_MAX / 8);
	struct gpt           *g = model(&tiny, 3);
	struct adamw         *a = optimiser(&st, g->nparams);
	struct nn_trainer    *tr;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(300, tiny.V, 4);
	struct run_rec        rec = { 0 };
	struct nn_run_config  c = { 0 };
	struct nn_run_hooks   h = { &rec, NULL, NULL, NULL, rec_now };
	struct nn_run_result  r;

	c.budget = 60;
	c.fit_budget = 1;
	c.fit_warmup = 1;
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &nn_objective_causal, &st, str, 300, &e), 0);
	ck_assert_int_eq(nn_train_run(tr, &c, &h, &r, &e), 0);
	ck_assert_int_eq(r.end, NN_RUN_BUDGET);
	ck_assert_uint_eq(tr->st.step, 20);
	ck_assert_uint_eq(tr->st.steps, 20);
	ck_assert_uint_eq(tr->opt->cfg.steps, 20);
	ck_assert_uint_eq(tr->st.warmup, 1);
	ck_assert_uint_eq(tr->opt->cfg.warmup, 1);
	ck_assert_double_eq(tr->st.elapsed, 60);
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);
	free(str);
}
END_TEST

/* A second objective through the seam: the causal rows with the loss on
 * even positions only (a stand-in for a masked objective's mask). */
static size_t
evens_make_row(const struct nn_objective *obj, const struct gpt_config *cfg,
    struct nn_batch *batch, size_t b, const uint32_t *stream, size_t n, size_t start,
    struct ad_rng *rng)
{
	size_t   len = nn_objective_causal.make_row(obj, cfg, batch, b, stream, n, start, rng);
	size_t   c = 0;
	uint8_t *mk = batch->mask + b * batch->Tb;

	for (size_t t = 0; t < batch->Tb; t++) {
		mk[t] = mk[t] && t % 2 == 0;
		c += mk[t];
	}
	(void)len;
	return c;
}

static size_t
evens_row_tokens(size_t Tb)
{
	return Tb;
}

/*
 * The trainer counts, scales and steps on the positions the objective's
 * mask says (6 of every 12-token row: 18 a step of 3 rows); an objective
 * with full attention needs a model with the MASK marker (Vin = V + 2),
 * and sets the model's attention to full.
 */
START_TEST(test_objective_seam)
{
	const struct nn_objective evens = { .name = "evens", .attention = NN_ATTN_CAUSAL,
	                                    .row_tokens = evens_row_tokens,
	                                    .make_row = evens_make_row };
	const struct nn_objective full = { .name = "full", .attention = NN_ATTN_FULL,
	                                   .row_tokens = evens_row_tokens,
	                                   .make_row = evens_make_row, .mask_rate = 0.5 };
	struct gpt_config     cm = tiny;
	struct nn_train_state st = state(3, 12, 8);
	struct gpt           *g = model(&tiny, 3);
	struct adamw         *a = optimiser(&st, g->nparams);
	struct nn_trainer    *tr;
	struct nn_step_stats  s;
	struct ad_error       e = { 0 };
	uint32_t             *str = stream(500, tiny.V, 4);

	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &full, &st, str, 500, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "'full'"));
	ck_assert_ptr_nonnull(strstr(e.msg, "MASK"));
	ck_assert_int_eq(g->attention, NN_ATTN_CAUSAL);
	{
		struct gpt   *gm;
		struct adamw *am;
		cm.Vin = cm.V + 2;
		gm = model(&cm, 3);
		am = optimiser(&st, gm->nparams);
		ck_assert_int_eq(nn_trainer_new(&tr, gm, am, &full, &st, str, 500, &e), 0);
		ck_assert_int_eq(gm->attention, NN_ATTN_FULL);
		ck_assert_int_eq(nn_trainer_step(tr, &s, &e), 0);
		ck_assert_uint_eq(tr->batch.counted, 18);
		nn_trainer_free(tr);
		adamw_free(am);
		gpt_free(gm);
	}
	ck_assert_int_eq(nn_trainer_new(&tr, g, a, &evens, &st, str, 500, &e), 0);
	ck_assert_int_eq(nn_trainer_step(tr, &s, &e), 0);
	ck_assert_uint_eq(tr->st.tokens_seen, 18);
	ck_assert_uint_eq(tr->batch.counted, 18);
	for (size_t i = 0; i < 3 * 12; i++)
		ck_assert_int_eq(tr->batch.mask[i], i % 2 == 0);
	nn_trainer_free(tr);
	adamw_free(a);
	gpt_free(g);
	free(str);
}
END_TEST

/*
 * The masked objective's rows against BERT's recipe, by counting: a row of
 * 40 tokens hides exactly round(0.15 x 40) = 6, every position alike (each
 * 0.15 of 2000 rows, within 5 standard deviations of the binomial), and of
 * the hidden, 80% become MASK, 10% stay, 10% a random id (which is the
 * original 1/23 of the time). Targets are the originals, BOS opens the row,
 * nothing else is touched. In evaluation (no sampler) a window's masks are
 * a function of its start; with the sampler a window seen again gets new
 * ones (dynamic masking). A short row hides round(rate x its length), at
 * least one.
 */
START_TEST(test_masked_rows)
{
	const size_t    Tb = 41, n = 1000, rows = 2000;
	struct nn_batch b, b2;
	struct ad_error e = { 0 };
	struct ad_rng   rng;
	uint32_t       *str = malloc(n * sizeof *str);
	size_t          per_pos[41] = { 0 }, nmask = 0, nkept = 0, nother = 0, chosen = 0;
	double          sd;

	for (size_t i = 0; i < n; i++)
		str[i] = (uint32_t)((i * 5 + i / 7) % tinym.V);
	ck_assert_int_eq(nn_batch_new(&b, 1, Tb, &e), 0);
	ck_assert_int_eq(nn_batch_new(&b2, 1, Tb, &e), 0);
	ad_rng_seed(&rng, 5, 9);
	for (size_t r = 0; r < rows; r++) {
		size_t start = ad_rng_below(&rng, (uint32_t)(n - Tb + 2)), c;
		c = nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b, 0, str, n, start,
		    &rng);
		ck_assert_uint_eq(c, 6);
		ck_assert_uint_eq(b.inputs[0], GPT_BOS(&tinym));
		ck_assert_uint_eq(b.mask[0], 0);
		for (size_t t = 1; t < Tb; t++) {
			uint32_t x = str[start + t - 1];
			ck_assert_uint_eq(b.targets[t], x);
			if (!b.mask[t]) {
				ck_assert_uint_eq(b.inputs[t], x);
				continue;
			}
			per_pos[t]++;
			chosen++;
			if (b.inputs[t] == GPT_MASK(&tinym))
				nmask++;
			else if (b.inputs[t] == x)
				nkept++;
			else {
				ck_assert_uint_lt(b.inputs[t], tinym.V);
				nother++;
			}
		}
	}
	ck_assert_uint_eq(chosen, 6 * rows);
	sd = sqrt(0.8 * 0.2 / (double)chosen);
	ck_assert_double_le(fabs((double)nmask / (double)chosen - 0.8), 5 * sd);
	ck_assert_double_le(fabs((double)nkept / (double)chosen - (0.1 + 0.1 / 23)), 5 * sd);
	ck_assert_double_le(fabs((double)nother / (double)chosen - 0.1 * 22 / 23), 5 * sd);
	sd = sqrt((double)rows * 0.15 * 0.85);
	for (size_t t = 1; t < Tb; t++)
		ck_assert_double_le(fabs((double)per_pos[t] - 0.15 * (double)rows), 5 * sd);

	/* Evaluation: the same start, the same row; another start, another. */
	nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b, 0, str, n, 100, NULL);
	nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b2, 0, str, n, 100, NULL);
	ck_assert_mem_eq(b.inputs, b2.inputs, Tb * sizeof *b.inputs);
	ck_assert_mem_eq(b.mask, b2.mask, Tb);
	nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b2, 0, str, n, 101, NULL);
	ck_assert(memcmp(b.mask, b2.mask, Tb) != 0);
	/* Training: the same window twice, two draws of masks. */
	nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b, 0, str, n, 100, &rng);
	nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b2, 0, str, n, 100, &rng);
	ck_assert(memcmp(b.mask, b2.mask, Tb) != 0);
	/* A short row: 10 tokens hide round(1.5) = 2, padding after them. */
	ck_assert_uint_eq(nn_objective_masked.make_row(&nn_objective_masked, &tinym, &b, 0, str,
	    n, n - 10, &rng), 2);
	for (size_t t = 11; t < Tb; t++)
		ck_assert_uint_eq(b.mask[t], 0);
	{
		struct nn_objective low = nn_objective_masked;
		low.mask_rate = 0.001;   /* round(0.04) = 0: at least one */
		ck_assert_uint_eq(low.make_row(&low, &tinym, &b, 0, str, n, 0, &rng), 1);
	}
	nn_batch_free(&b);
	nn_batch_free(&b2);
	free(str);
}
END_TEST

/* A word by the test's own rule on bytes: a run of letters and digits (or
 * bytes >= 0x80); any other byte is a word of its own. */
static int
test_word_byte(uint8_t c)
{
	return c >= 0x80 || isalnum(c);
}

/*
 * Whole-word masking on byte tokens: nn_word_classes' bits by hand, and
 * every row hides whole words only (all bytes of a word or none), as many
 * as round(0.3 x the row's words), counted by the test's own rule.
 */
START_TEST(test_masked_whole_word)
{
	static const char   text[] = "The cat, sat on 3 mats.\nA dog\xc3\xa9t ran  off! ";
	const struct gpt_config bc = { 1, 1, 8, 24, 256, 258 };
	const size_t        Tb = 24, n = 600;
	uint8_t             wc[256];
	struct nn_objective ww = nn_objective_masked;
	struct nn_batch     b;
	struct ad_error     e = { 0 };
	struct ad_rng       rng;
	uint32_t           *str = malloc(n * sizeof *str);

	nn_word_classes(wc, NULL, 256);
	ck_assert_uint_eq(wc['a'], NN_WORD_FIRST | NN_WORD_LAST);
	ck_assert_uint_eq(wc['7'], NN_WORD_FIRST | NN_WORD_LAST);
	ck_assert_uint_eq(wc[0xc3], NN_WORD_FIRST | NN_WORD_LAST);
	ck_assert_uint_eq(wc[' '], 0);
	ck_assert_uint_eq(wc[','], 0);
	ck_assert_uint_eq(wc['\n'], 0);
	for (size_t i = 0; i < n; i++)
		str[i] = (uint8_t)text[i % (sizeof text - 1)];
	ww.mask_rate = 0.3;
	ww.whole_word = 1;
	ww.word_class = wc;
	ck_assert_int_eq(nn_batch_new(&b, 1, Tb, &e), 0);
	ad_rng_seed(&rng, 6, 9);
	for (int r = 0; r < 500; r++) {
		size_t start = ad_rng_below(&rng, (uint32_t)(n - Tb + 2)), words = 0, hidden = 0;
		size_t c = ww.make_row(&ww, &bc, &b, 0, str, n, start, &rng), tokens = 0;
		for (size_t t = 1; t < Tb; t++) {
			int cont = t > 1 && test_word_byte((uint8_t)b.targets[t]) &&
			    test_word_byte((uint8_t)b.targets[t - 1]);
			if (cont) {
				/* A piece of the word before: hidden with it, or not at all. */
				ck_assert_uint_eq(b.mask[t], b.mask[t - 1]);
			} else {
				words++;
				hidden += b.mask[t];
			}
			tokens += b.mask[t];
		}
		ck_assert_uint_eq(c, tokens);
		ck_assert_uint_eq(hidden, (size_t)floor(0.3 * (double)words + 0.5));
	}
	nn_batch_free(&b);
	free(str);
}
END_TEST

/*
 * A tiny masked model memorises one masked batch (fixed masks and
 * replacements): the loss over the hidden positions falls from about
 * ln 23 to near zero. Full attention is needed: the MASK inputs carry no
 * information, so the answer comes from the positions around them.
 */
START_TEST(test_masked_overfit)
{
	struct gpt           *g = model(&tinym, 8);
	struct nn_train_state st = state(2, 12, 80);
	struct nn_objective   obj = nn_objective_masked;
	struct adamw         *a;
	struct nn_batch       b;
	struct ad_error       e = { 0 };
	struct ad_rng         rng;
	uint32_t             *str = stream(40, tinym.V, 2);
	double                first = 0, loss = 0;
	size_t                counted;

	st.warmup = 5;
	st.weight_decay = 0;
	st.lr = 3e-2;
	a = optimiser(&st, g->nparams);
	obj.mask_rate = 0.3;
	ck_assert_int_eq(nn_batch_new(&b, 2, 12, &e), 0);
	ad_rng_seed(&rng, 1, 2);
	counted = obj.make_row(&obj, &tinym, &b, 0, str, 40, 0, &rng);
	counted += obj.make_row(&obj, &tinym, &b, 1, str, 40, 20, &rng);
	ck_assert_uint_eq(counted, 6);   /* round(0.3 x 11) = 3 a row */
	ck_assert_int_eq(gpt_alloc(g, 2, 12, 1, &e), 0);
	g->attention = NN_ATTN_FULL;
	for (uint64_t i = 0; i < 80; i++) {
		struct adamw_config c = nn_train_adamw_config(&st);
		loss = gpt_forward(g, b.inputs, b.targets, b.mask, 2, 12);
		if (i == 0)
			first = loss;
		gpt_zero_grad(g);
		ck_assert_int_eq(gpt_backward(g, b.inputs, b.targets, b.mask, 2, 12,
		    (float)(1.0 / (double)counted), &e), 0);
		adamw_step(a, g, adamw_lr(&c, i), nn_grad_norm(g->grad_mem, g->nparams));
	}
	ck_assert_double_ge(first, 2.5);
	ck_assert_double_le(loss, 0.01);
	nn_batch_free(&b);
	adamw_free(a);
	gpt_free(g);
	free(str);
}
END_TEST

/*
 * Held-out loss of a masked model: 100 tokens in windows of 11 are 9
 * windows and a tenth ending at the text's end (not a short one, whose
 * padding full attention would see): 10 x round(0.15 x 11) = 20 hidden
 * positions, the same masks at every evaluation (the same nats twice). The
 * causal objective counts every token.
 */
START_TEST(test_masked_evaluate)
{
	struct gpt     *g = model(&tinym, 4);
	struct ad_error e = { 0 };
	uint32_t       *str = stream(100, tinym.V, 3);
	double          n1, n2;
	size_t          c1, c2;

	ck_assert_int_eq(gpt_alloc(g, 2, 12, 0, &e), 0);
	g->attention = NN_ATTN_FULL;
	ck_assert_int_eq(nn_evaluate(g, &nn_objective_masked, str, 100, 0, &n1, &c1, &e), 0);
	ck_assert_int_eq(nn_evaluate(g, &nn_objective_masked, str, 100, 0, &n2, &c2, &e), 0);
	ck_assert_uint_eq(c1, 20);
	ck_assert_uint_eq(c2, 20);
	ck_assert_double_eq(n1, n2);
	ck_assert_double_gt(n1 / (double)c1, 2.0);   /* untrained: about ln 23 */
	g->attention = NN_ATTN_CAUSAL;
	ck_assert_int_eq(nn_evaluate(g, &nn_objective_causal, str, 100, 0, &n1, &c1, &e), 0);
	ck_assert_uint_eq(c1, 100);
	gpt_free(g);
	free(str);
}
END_TEST

/*
 * A run's state from its options, by hand: 1000 steps warm up for 50 (a
 * twentieth), 10000 for 200 (the cap); min_lr defaults to lr / 10. On
 * resume a new lr alone moves the floor to its tenth, a given min_lr
 * stays, and only optimiser options count as a change.
 */
START_TEST(test_train_state_options)
{
	struct nn_train_options o = { 0 };
	struct nn_train_state   st, resumed;

	o.steps = 1000;
	o.seed = 4;
	o.batch = 8;
	o.accum = 2;
	o.context = 32;
	o.lr = 2e-3;
	o.weight_decay = 0.1;
	o.clip = 1;
	nn_train_state_init(&st, &o, &nn_objective_causal);
	ck_assert_uint_eq(st.warmup, 50);
	ck_assert_double_eq(st.min_lr, 2e-4);
	ck_assert_double_eq(st.beta2, 0.95);
	ck_assert_str_eq(st.objective, "causal");
	ck_assert(isnan(st.last_val));
	o.steps = 10000;
	o.given = NN_GIVEN_MIN_LR;
	o.min_lr = 0;
	nn_train_state_init(&st, &o, &nn_objective_causal);
	ck_assert_uint_eq(st.warmup, 200);
	ck_assert_double_eq(st.min_lr, 0);

	resumed = st;
	o.given = NN_GIVEN_STEPS;
	o.steps = 30000;
	ck_assert_int_eq(nn_train_state_override(&resumed, &o), 0);
	ck_assert_uint_eq(resumed.steps, 30000);
	ck_assert_uint_eq(resumed.warmup, 200);
	o.given = NN_GIVEN_LR;
	o.lr = 5e-4;
	ck_assert_int_eq(nn_train_state_override(&resumed, &o), 1);
	ck_assert_double_eq(resumed.lr, 5e-4);
	ck_assert_double_eq(resumed.min_lr, 5e-5);
	o.given = NN_GIVEN_LR | NN_GIVEN_MIN_LR;
	o.min_lr = 1e-6;
	ck_assert_int_eq(nn_train_state_override(&resumed, &o), 1);
	ck_assert_double_eq(resumed.min_lr, 1e-6);
	ck_assert_double_eq(resumed.weight_decay, 0.1);
}
END_TEST

/* The largest difference of the next-token log-probabilities of two states
 * of a byte-level model. */
static double
next_gap(const struct lm *m, struct lm_state *a, struct lm_state *b)
{
	struct ad_error e = { 0 };
	float           la[256], lb[256];
	double          worst = 0;

	ck_assert_int_eq(lm_next(m, a, la, &e), 0);
	ck_assert_int_eq(lm_next(m, b, lb, &e), 0);
	for (int v = 0; v < 256; v++)
		worst = fabs(la[v] - lb[v]) > worst ? fabs(la[v] - lb[v]) : worst;
	return worst;
}

/*
 * Windows scored as rows of one batch (score_batch) give the very bits of
 * each window scored alone, for either thread count, and their logits
 * reach the visitor in window order: each row of every kernel is computed
 * from that row alone. 20 windows of the context (12) at stride 4, more
 * than one forward pass of rows; the log-probs also agree with the KV
 * cache (another code path) to float rounding.
 */
struct logit_sums { double s[320]; size_t n; };

static int
logit_sum_fn(void *ctx, const float *scores, uint32_t V, uint32_t y, struct ad_error *e)
{
	struct logit_sums *l = ctx;
	double             t = y;

	(void)e;
	for (uint32_t v = 0; v < V; v++)
		t += scores[v] * (double)(v + 1);
	ck_assert_uint_lt(l->n, 320);
	l->s[l->n++] = t;
	return 0;
}

START_TEST(test_lm_score_batch_rows_are_windows)
{
	struct gpt_config  c = { 2, 2, 16, 12, 256, 257 };
	struct gpt        *g = model(&c, 23);
	struct nn_file     f = { 0 };
	struct ad_error    e = { 0 };
	struct lm         *m;
	char              *dir = tu_tmpdir(), path[4200];
	uint32_t          *ids = stream(100, 256, 5);
	const uint32_t    *win[20];
	size_t             from[20];
	static double      batched[2][20 * 12], alone[20 * 12];
	static struct logit_sums lb, la;

	f.cfg = c;
	f.tok_kind = NN_TOK_BYTES;
	snprintf(path, sizeof path, "%s/m", dir);
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	ck_assert_int_eq(lm_open(&m, path, &e), 0);
	ck_assert_ptr_nonnull(m->vt->score_batch);
	for (int w = 0; w < 20; w++) {
		win[w] = ids + 4 * w;
		from[w] = (size_t)(w % 12);
	}
	for (int t = 0; t < 2; t++) {
		omp_set_num_threads(t + 1);
		lb.n = 0;
		ck_assert_int_eq(m->vt->score_batch(m, win, 20, 12, from, batched[t], logit_sum_fn,
		    &lb, &e), 0);
	}
	omp_set_num_threads(2);
	ck_assert_mem_eq(batched[0], batched[1], sizeof batched[0]);
	la.n = 0;
	for (int w = 0; w < 20; w++)
		ck_assert_int_eq(m->vt->score_dist(m, win[w], 12, from[w], alone + w * 12,
		    logit_sum_fn, &la, &e), 0);
	ck_assert_mem_eq(batched[1], alone, sizeof alone);
	ck_assert_uint_eq(la.n, lb.n);
	ck_assert_mem_eq(lb.s, la.s, la.n * sizeof la.s[0]);
	/* A short window alone, in a batch of its kind. */
	ck_assert_int_eq(m->vt->score_batch(m, win, 3, 7, from, batched[0], NULL, NULL, &e), 0);
	for (int w = 0; w < 3; w++) {
		ck_assert_int_eq(m->vt->score(m, win[w], 7, alone, &e), 0);
		ck_assert_mem_eq(batched[0] + w * 7, alone, 7 * sizeof alone[0]);
	}
	/* The KV cache: the same model another way. */
	{
		struct lm_state *st;
		double           pushed, worst = 0;
		ck_assert_int_eq(lm_state_new(m, &st, &e), 0);
		for (int i = 0; i < 12; i++) {
			ck_assert_int_eq(lm_push(m, st, win[19][i], &pushed, &e), 0);
			worst = fmax(worst, fabs(pushed - batched[1][19 * 12 + i]));
		}
		ck_assert_double_le(worst, 1e-5);
		lm_state_free(m, st);
	}
	lm_free(m);
	gpt_free(g);
	free(ids);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

/*
 * Inference in bf16 against fp32 (eval --precision): the bound on a logit.
 * A logit is z_v = h . w_v, h the final LayerNorm's output (C), w_v row v
 * of the token embedding. In bf16, h_b (itself moved by the bf16 products
 * of the blocks) and w_v are rounded to bf16, relative error <= u_b = 2^-9
 * each, so each product h_c w_c is off by <= (2 u_b + u_b^2) |h_c w_c|, and
 * both runs sum C terms in fp32 (gamma_{C+2}, Higham eq. 3.5). With h_f
 * the fp32 run's hidden state:
 *   |z_b - z_f| <= (2 u_b + u_b^2 + gamma) sum_c |h_b,c w_c|
 *                  + sum_c |h_b,c - h_f,c| |w_c| + gamma sum_c |h_f,c w_c|,
 * the middle term (the blocks' share, measured) by the triangle inequality;
 * the blocks' share itself is held to a first-order estimate (below).
 * A token's log-probability, z_y - logsumexp(z), then moves by at most
 * twice the largest of its position's logit bounds. The test also asks
 * that the bf16 run differ from the fp32 one (its products did change).
 */
START_TEST(test_bf16_inference_logit_bound)
{
	struct gpt_config c = { 2, 2, 48, 16, 70, 71 };
	struct gpt       *g = model(&c, 29);
	struct ad_error   e = { 0 };
	uint32_t         *in = stream(2 * 16, 70, 4), *tg = stream(2 * 16, 70, 6);
	size_t            BT = 2 * 16, C = c.C, V = c.V;
	float            *hf = falloc(BT * C), *zf = falloc(BT * V), *lf = falloc(BT);
	double            u = ldexp(1.0, -9), n = (double)(C + 2), gamma;
	double            worst = 0, worst_lp = 0, moved = 0, hdiff = 0, hmax = 0, hkv = 0;

	gamma = n * ldexp(1.0, -24) / (1 - n * ldexp(1.0, -24));
	if (!bf16_or_skip("test_bf16_inference_logit_bound")) {
		gpt_free(g);
		free(in); free(tg); free(hf); free(zf); free(lf);
		return;
	}
	ck_assert_int_eq(gpt_alloc(g, 2, 16, 0, &e), 0);
	gpt_forward(g, in, tg, NULL, 2, 16);
	memcpy(hf, g->acts.lnf, BT * C * sizeof *hf);
	memcpy(zf, g->acts.logits, BT * V * sizeof *zf);
	memcpy(lf, g->acts.losses, BT * sizeof *lf);
	ck_assert_int_eq(gpt_set_precision(g, NN_PREC_BF16, &e), 0);
	gpt_forward(g, in, tg, NULL, 2, 16);
	for (size_t i = 0; i < BT; i++) {
		const float *hb = g->acts.lnf + i * C, *h = hf + i * C;
		double       most = 0;
		for (size_t v = 0; v < V; v++) {
			const float *w = g->params.wte + v * C;
			double       sb = 0, sf = 0, dh = 0, bound, d;
			for (size_t k = 0; k < C; k++) {
				sb += fabs((double)hb[k] * w[k]);
				sf += fabs((double)h[k] * w[k]);
				dh += fabs((double)hb[k] - h[k]) * fabs(w[k]);
			}
			bound = (2 * u + u * u + gamma) * sb + dh + gamma * sf;
			if (v == 0)
				for (size_t k = 0; k < C; k++) {
					hdiff = fmax(hdiff, fabs((double)hb[k] - h[k]));
					hmax = fmax(hmax, fabs((double)h[k]));
				}
			d = fabs((double)g->acts.logits[i * V + v] - zf[i * V + v]);
			worst = fmax(worst, d / bound);
			moved = fmax(moved, d);
			most = fmax(most, bound);
		}
		worst_lp = fmax(worst_lp, fabs((double)g->acts.losses[i] - lf[i]) / (2 * most));
	}
	ck_assert_msg(worst <= 1, "a bf16 logit is %.2f times its bound from the fp32 one", worst);
	ck_assert_msg(worst_lp <= 1, "a bf16 log-probability is %.2f times its bound", worst_lp);
	ck_assert_msg(moved > 0, "the bf16 run gave the fp32 logits: its products were not bf16");
	/* The blocks' share, to first order: 4L products before the final
	 * LayerNorm, each moving its output by about 2 u of its scale; with
	 * gains of at most one along the residual stream that is 8 L u of the
	 * hidden state's scale (an estimate, not a proof: LayerNorm can
	 * amplify; it holds with room on these weights). */
	ck_assert_msg(hdiff <= 8.0 * c.L * u * hmax, "the bf16 hidden state moved by %g, over "
	    "8 L u of its scale %g", hdiff, hmax);
	/* Generation from the bf16 weights (gpt_kv_step, one token at a time,
	 * row 0): the same bound, its hidden state being the step's. */
	{
		struct gpt_kv *kv;
		double         wkv = 0;
		ck_assert_ptr_nonnull(g->wbf_mem);
		ck_assert_int_eq(gpt_kv_new(g, &kv, &e), 0);
		for (size_t t = 0; t < 16; t++) {
			const float *h = hf + t * C;
			gpt_kv_step(g, kv, in[t]);
			for (size_t k = 0; k < C; k++)
				hkv = fmax(hkv, fabs((double)kv->xb[k] - h[k]));
			for (size_t v = 0; v < V; v++) {
				const float *w = g->params.wte + v * C;
				double       sb = 0, sf = 0, dh = 0;
				for (size_t k = 0; k < C; k++) {
					sb += fabs((double)kv->xb[k] * w[k]);
					sf += fabs((double)h[k] * w[k]);
					dh += fabs((double)kv->xb[k] - h[k]) * fabs(w[k]);
				}
				wkv = fmax(wkv, fabs((double)kv->logits[v] - zf[t * V + v]) /
				    ((2 * u + u * u + gamma) * sb + dh + gamma * sf));
			}
		}
		ck_assert_msg(wkv <= 1, "a logit of bf16 generation is %.2f times its bound", wkv);
		ck_assert_msg(hkv <= 8.0 * c.L * u * hmax, "bf16 generation's hidden state moved by "
		    "%g, over 8 L u of its scale %g", hkv, hmax);
		gpt_kv_free(kv);
	}
	gpt_free(g);
	free(in); free(tg); free(hf); free(zf); free(lf);
}
END_TEST

START_TEST(test_lm_interface)
{
	struct gpt_config c = { 2, 2, 16, 12, 256, 257 };
	struct gpt       *g = model(&c, 21);
	struct nn_file    f = { 0 };
	struct ad_error   e = { 0 };
	struct lm        *m;
	struct lm_state  *st;
	char             *dir = tu_tmpdir(), path[4200];
	uint32_t          ids[40];
	double            batched[12], pushed, total = 0, worst = 0;
	float             emb[16], logp[256];

	f.cfg = c;
	f.tok_kind = NN_TOK_BYTES;
	snprintf(path, sizeof path, "%s/m", dir);
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	ck_assert_int_eq(lm_open(&m, path, &e), 0);
	ck_assert_str_eq(m->kind, "transformer");
	ck_assert_uint_eq(m->V, 256);
	ck_assert_uint_eq(m->context, 12);
	ck_assert_int_eq(m->line_model, 0);
	ck_assert_uint_eq(m->embed_dim, 16);
	for (int i = 0; i < 40; i++)
		ids[i] = (uint32_t)('a' + i % 7);
	/* The batched score and the KV cache agree on every token of a window. */
	ck_assert_int_eq(m->vt->score(m, ids, 12, batched, &e), 0);
	ck_assert_int_eq(lm_state_new(m, &st, &e), 0);
	for (int i = 0; i < 12; i++) {
		ck_assert_int_eq(lm_push(m, st, ids[i], &pushed, &e), 0);
		worst = fabs(pushed - batched[i]) > worst ? fabs(pushed - batched[i]) : worst;
	}
	ck_assert_double_le(worst, 1e-5);
	/* score keeps its activations between calls: a shorter window after a
	 * full one agrees with a fresh state, and the full window again gives
	 * the very same scores. */
	{
		struct lm_state *s3;
		double           again[12];
		ck_assert_int_eq(m->vt->score(m, ids + 3, 7, again, &e), 0);
		ck_assert_int_eq(lm_state_new(m, &s3, &e), 0);
		worst = 0;
		for (int i = 0; i < 7; i++) {
			ck_assert_int_eq(lm_push(m, s3, ids[3 + i], &pushed, &e), 0);
			worst = fabs(pushed - again[i]) > worst ? fabs(pushed - again[i]) : worst;
		}
		ck_assert_double_le(worst, 1e-5);
		lm_state_free(m, s3);
		ck_assert_int_eq(m->vt->score(m, ids, 12, again, &e), 0);
		ck_assert_mem_eq(again, batched, sizeof again);
	}
	/* Past the context the state slides and goes on giving distributions. */
	for (int i = 12; i < 40; i++) {
		ck_assert_int_eq(lm_next(m, st, logp, &e), 0);
		total = 0;
		for (int v = 0; v < 256; v++)
			total += exp(logp[v]);
		ck_assert_double_le(fabs(total - 1), 1e-4);
		ck_assert_int_eq(lm_push(m, st, ids[i], &pushed, &e), 0);
		ck_assert(isfinite(pushed) && pushed < 0);
		/* next and push agree on the pushed token's probability. */
		ck_assert_double_le(fabs(logp[ids[i]] - pushed), 1e-5);
	}
	/* After the slides the state holds BOS and the last n tokens (a slide
	 * keeps T/2 = 6 when the cache is full): a fresh state fed those one at
	 * a time gives the same next distribution. */
	{
		struct lm_state *st2, *s1, *s2;
		uint32_t         bad[2] = { 'a', 300 };
		int              n = 0;
		for (int i = 0; i < 40; i++)
			n = (n + 1 >= 12 ? 6 : n) + 1;
		ck_assert_int_eq(lm_state_new(m, &st2, &e), 0);
		for (int i = 40 - n; i < 40; i++)
			ck_assert_int_eq(lm_push(m, st2, ids[i], NULL, &e), 0);
		ck_assert_double_le(next_gap(m, st, st2), 1e-5);
		lm_state_free(m, st2);
		/* A prompt pushed at once (one forward pass) = pushed one at a
		 * time; longer than the context: the slides' result, at once. */
		ck_assert_int_eq(lm_state_new(m, &s1, &e), 0);
		ck_assert_int_eq(lm_state_new(m, &s2, &e), 0);
		for (int len = 9; len <= 31; len += 22) {
			lm_state_reset(m, s1);
			lm_state_reset(m, s2);
			ck_assert_int_eq(lm_push_many(m, s1, ids + 31 - len, (size_t)len, &e), 0);
			for (int i = 31 - len; i < 31; i++)
				ck_assert_int_eq(lm_push(m, s2, ids[i], NULL, &e), 0);
			ck_assert_double_le(next_gap(m, s1, s2), 1e-5);
		}
		ck_assert_int_ne(lm_push_many(m, s1, bad, 2, &e), 0);
		lm_state_free(m, s1);
		lm_state_free(m, s2);
	}
	ck_assert_int_ne(lm_push(m, st, 300, &pushed, &e), 0);
	lm_state_free(m, st);
	ck_assert_int_eq(m->vt->embed(m, 'q', emb, &e), 0);
	ck_assert_mem_eq(emb, g->params.wte + 'q' * 16, sizeof emb);
	lm_free(m);
	gpt_free(g);
	unlink(path);
	rmdir(dir);
	free(dir);
}
END_TEST

/*
 * The oracle of fill_dist: the whole model in double with the _ref layer
 * twins (each checked against PyTorch and finite differences above), on
 * one row inp (Tb ids, BOS first), full attention; out (Tb, V) gets
 * ln softmax of the logits of every position.
 */
static void
masked_forward_ref(const struct gpt *g, const uint32_t *inp, size_t Tb, double *out)
{
	const struct gpt_config *c = &g->cfg;
	size_t   C = c->C, L = c->L, V = c->V, NH = c->NH, n = g->nparams;
	double  *p = calloc(n, sizeof *p), *x = calloc(Tb * C, sizeof *x);
	double  *h = calloc(Tb * 4 * C, sizeof *h), *q = calloc(Tb * 3 * C, sizeof *q);
	double  *y = calloc(Tb * C, sizeof *y), *att = calloc(NH * Tb * Tb, sizeof *att);
	double  *f = calloc(Tb * 4 * C, sizeof *f), *mean = calloc(Tb, sizeof *mean);
	double  *rstd = calloc(Tb, sizeof *rstd);
	size_t   sizes[GPT_NTENSORS], off[GPT_NTENSORS + 1] = { 0 };

	ck_assert_ptr_nonnull(p);
	ck_assert_ptr_nonnull(rstd);
	for (size_t i = 0; i < n; i++)
		p[i] = g->param_mem[i];
	gpt_tensor_sizes(c, sizes);
	for (int i = 0; i < GPT_NTENSORS; i++)
		off[i + 1] = off[i] + sizes[i];
#define P(i) (p + off[i])
	nn_encoder_forward_ref(x, inp, P(0), P(1), 1, Tb, C);
	for (size_t l = 0; l < L; l++) {
		nn_layernorm_forward_ref(h, mean, rstd, x, P(2) + l * C, P(3) + l * C, Tb, C);
		nn_matmul_forward_ref(q, h, P(4) + l * 3 * C * C, P(5) + l * 3 * C, Tb, C, 3 * C);
		nn_attention_forward_ref(y, att, q, 1, Tb, C, NH, NN_ATTN_FULL);
		nn_matmul_forward_ref(h, y, P(6) + l * C * C, P(7) + l * C, Tb, C, C);
		for (size_t i = 0; i < Tb * C; i++)
			x[i] += h[i];
		nn_layernorm_forward_ref(h, mean, rstd, x, P(8) + l * C, P(9) + l * C, Tb, C);
		nn_matmul_forward_ref(f, h, P(10) + l * 4 * C * C, P(11) + l * 4 * C, Tb, C, 4 * C);
		nn_gelu_forward_ref(h, f, Tb * 4 * C);
		nn_matmul_forward_ref(y, h, P(12) + l * 4 * C * C, P(13) + l * C, Tb, 4 * C, C);
		for (size_t i = 0; i < Tb * C; i++)
			x[i] += y[i];
	}
	nn_layernorm_forward_ref(h, mean, rstd, x, P(14), P(15), Tb, C);
	/* The output layer is the first V rows of wte, transposed. */
	nn_matmul_forward_ref(out, h, P(0), NULL, Tb, C, V);
#undef P
	for (size_t t = 0; t < Tb; t++) {
		double mx = -INFINITY, s = 0, *o = out + t * V;
		for (size_t v = 0; v < V; v++)
			mx = fmax(mx, o[v]);
		for (size_t v = 0; v < V; v++)
			s += exp(o[v] - mx);
		for (size_t v = 0; v < V; v++)
			o[v] -= mx + log(s);
	}
	free(p); free(x); free(h); free(q); free(y); free(att); free(f); free(mean); free(rstd);
}

/*
 * gpt_forward_at against gpt_forward of the same batch: the logits of the
 * positions asked, bit for bit, whether few (the serial product, a partial
 * panel of rows) or more than the activations hold (several passes of the
 * product on every thread); first and last positions, repeats, any order.
 * For the full activations, one block's (gpt_alloc_scoring), and bf16
 * products where the CPU has them (_i = 0, 1, 2).
 */
START_TEST(test_forward_at_same_bits)
{
	const struct gpt_config c = { 2, 4, 64, 33, 512, 514 };   /* 4 x 33 x 512 x 64: threaded */
	struct gpt     *g = model(&c, 31);
	struct ad_error e = { 0 };
	size_t          B = 4, Tb = 33, BT = B * Tb, V = c.V, few[5] = { 131, 0, 70, 70, 5 };
	size_t          many[300];
	uint32_t        in[4 * 33];
	float          *full = falloc(BT * V), *out = falloc(300 * V);
	struct ad_rng   r;

	if (_i == 2 && !bf16_or_skip("test_forward_at_same_bits (bf16)")) {
		gpt_free(g);
		free(full); free(out);
		return;
	}
	g->attention = NN_ATTN_FULL;
	for (size_t i = 0; i < g->nparams; i++)
		g->param_mem[i] *= 4;
	if (_i == 2)
		ck_assert_int_eq(gpt_set_precision(g, NN_PREC_BF16, &e), 0);
	ck_assert_int_eq(_i == 1 ? gpt_alloc_scoring(g, B, Tb, SIZE_MAX, &e) :
	    gpt_alloc(g, B, Tb, 0, &e), 0);
	ad_rng_seed(&r, 8, 2);
	for (size_t i = 0; i < BT; i++)
		in[i] = ad_rng_below(&r, c.Vin);
	for (size_t i = 0; i < 300; i++)
		many[i] = i < 2 ? (i ? BT - 1 : 0) : ad_rng_below(&r, (uint32_t)BT);
	gpt_forward(g, in, NULL, NULL, B, Tb);
	memcpy(full, g->acts.logits, BT * V * sizeof *full);
	gpt_forward_at(g, in, B, Tb, few, 5, out);
	for (size_t i = 0; i < 5; i++)
		ck_assert_mem_eq(out + i * V, full + few[i] * V, V * sizeof *out);
	gpt_forward_at(g, in, B, Tb, many, 300, out);
	for (size_t i = 0; i < 300; i++)
		ck_assert_mem_eq(out + i * V, full + many[i] * V, V * sizeof *out);
	gpt_free(g);
	free(full); free(out);
}
END_TEST

/* What gpt_forward_rows showed: every row's logits, where they belong. */
struct rows_seen {
	float  *logits;   /* (B Tb, V) */
	size_t  V, next, most, calls, stop_at;
};

static int
rows_seen_fn(void *ctx, size_t r0, size_t nr, const float *logits)
{
	struct rows_seen *s = ctx;

	ck_assert_uint_eq(r0, s->next);   /* in row order, each once */
	ck_assert_uint_ge(nr, 1);
	s->most = nr > s->most ? nr : s->most;
	memcpy(s->logits + r0 * s->V, logits, nr * s->V * sizeof *logits);
	s->next = r0 + nr;
	return ++s->calls == s->stop_at ? 7 : 0;
}

/*
 * Scoring in groups (gpt_alloc_scoring's chunk_bytes) against the whole
 * pass of a full view (gpt_alloc, gpt_forward): the logits every row shows
 * to gpt_forward_rows, the losses and the mean loss, bit for bit, with 1
 * and 2 threads, whether the logits go a row at a time and the scores a
 * (b, h) pair at a time (chunk 1 byte), in uneven groups (10 rows of the
 * 132, 5 pairs of the 16: both end short) or uncut; gpt_forward on a cut
 * view gives the same losses; the visitor's status stops the pass. In fp32
 * and (_i = 1) with bf16 products where the CPU has them.
 */
START_TEST(test_scoring_chunks_same_bits)
{
	const struct gpt_config c = { 2, 4, 64, 33, 512, 513 };   /* 4 x 33 x 512 x 64: threaded */
	const size_t    B = 4, Tb = 33, BT = B * Tb, V = c.V;
	const size_t    chunk[3] = { 1, 5 * 33 * 33 * sizeof(float), SIZE_MAX };
	const size_t    rows[3] = { 1, 10, BT }, pairs[3] = { 1, 5, 16 };
	struct gpt     *g = model(&c, 37);
	struct ad_error e = { 0 };
	uint32_t        in[4 * 33], tg[4 * 33];
	float          *want = falloc(BT * V), *wloss = falloc(BT);
	double          wmean;
	struct ad_rng   r;
	struct rows_seen seen = { falloc(BT * V), V, 0, 0, 0, 0 };

	if (_i == 1 && !bf16_or_skip("test_scoring_chunks_same_bits (bf16)")) {
		gpt_free(g);
		free(want); free(wloss); free(seen.logits);
		return;
	}
	if (_i == 1)
		ck_assert_int_eq(gpt_set_precision(g, NN_PREC_BF16, &e), 0);
	for (size_t i = 0; i < g->nparams; i++)
		g->param_mem[i] *= 4;
	ad_rng_seed(&r, 9, 2);
	for (size_t i = 0; i < BT; i++) {
		in[i] = ad_rng_below(&r, c.Vin);
		tg[i] = ad_rng_below(&r, c.V);
	}
	omp_set_num_threads(2);
	ck_assert_int_eq(gpt_alloc(g, B, Tb, 0, &e), 0);
	wmean = gpt_forward(g, in, tg, NULL, B, Tb);
	memcpy(want, g->acts.logits, BT * V * sizeof *want);
	memcpy(wloss, g->acts.losses, BT * sizeof *wloss);
	for (int k = 0; k < 3; k++)
		for (int t = 1; t <= 2; t++) {
			omp_set_num_threads(t);
			ck_assert_int_eq(gpt_alloc_scoring(g, B, Tb, chunk[k], &e), 0);
			ck_assert_uint_eq(g->logit_rows, rows[k]);
			ck_assert_uint_eq(g->att_cap, pairs[k] * Tb * Tb);
			memset(seen.logits, 0, BT * V * sizeof *seen.logits);
			memset(g->acts.losses, 0, BT * sizeof *g->acts.losses);
			seen.next = seen.most = seen.calls = 0;
			g->loss = 0;
			ck_assert_int_eq(gpt_forward_rows(g, in, tg, B, Tb, rows_seen_fn, &seen), 0);
			ck_assert_uint_eq(seen.next, BT);
			ck_assert_uint_eq(seen.most, rows[k]);
			ck_assert_mem_eq(seen.logits, want, BT * V * sizeof *want);
			ck_assert_mem_eq(g->acts.losses, wloss, BT * sizeof *wloss);
			ck_assert_mem_eq(&g->loss, &wmean, sizeof wmean);
			memset(g->acts.losses, 0, BT * sizeof *g->acts.losses);
			ck_assert_double_eq(gpt_forward(g, in, tg, NULL, B, Tb), wmean);
			ck_assert_mem_eq(g->acts.losses, wloss, BT * sizeof *wloss);
		}
	omp_set_num_threads(2);
	seen.next = seen.most = seen.calls = 0;
	seen.stop_at = 2;
	ck_assert_int_eq(gpt_alloc_scoring(g, B, Tb, 20 * V * sizeof(float), &e), 0);
	ck_assert_int_eq(gpt_forward_rows(g, in, tg, B, Tb, rows_seen_fn, &seen), 7);
	ck_assert_uint_eq(seen.next, 40);
	gpt_free(g);
	free(want); free(wloss); free(seen.logits);
}
END_TEST

/*
 * A masked model behind lm.h: fill_dist (one window, BOS prepended by the
 * model) and fill_batch (several windows in one pass) against the double
 * forward pass of the same weights; the refusals of a masked model (no
 * state) and of a causal one (no fill_dist); bad windows.
 */
START_TEST(test_lm_masked_fill_dist)
{
	struct gpt_config c = { 2, 2, 16, 12, 256, 258 };
	struct gpt       *g = model(&c, 22);
	struct nn_file    f = { 0 };
	struct ad_error   e = { 0 };
	struct lm        *m;
	struct lm_state  *st = NULL;
	char             *dir = tu_tmpdir(), path[4200];
	uint32_t          ids[3][11], pos[3][2] = { { 0, 4 }, { 10, 3 }, { 7, 7 } }, row[12];
	float            *one = falloc(2 * 256), *many = falloc(3 * 2 * 256);
	double           *ref = calloc(12 * 256, sizeof *ref), worst = 0;
	struct ad_rng     r;

	/* Weights far from the initial ones, so that the logits differ. */
	for (size_t i = 0; i < g->nparams; i++)
		g->param_mem[i] *= 6;
	f.cfg = c;
	f.masked = 1;
	f.mask_rate = 0.15;
	f.tok_kind = NN_TOK_BYTES;
	snprintf(path, sizeof path, "%s/m", dir);
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	ck_assert_int_eq(lm_open(&m, path, &e), 0);
	ck_assert(lm_is_masked(m));
	ck_assert_str_eq(m->objective, "masked");
	ck_assert_uint_eq(m->mask, 257);
	ck_assert_uint_eq(m->V, 256);
	ck_assert_uint_eq(m->context, 11);   /* BOS and T - 1 tokens */
	ck_assert_ptr_nonnull(strstr(m->description, "masked objective"));
	/* No left-to-right use: a state is refused with the reason. */
	ck_assert_int_eq(lm_state_new(m, &st, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "masked objective"));
	ad_rng_seed(&r, 5, 1);
	for (int b = 0; b < 3; b++) {
		for (int i = 0; i < 11; i++)
			ids[b][i] = ad_rng_below(&r, 256);
		ids[b][pos[b][0]] = m->mask;
		ids[b][pos[b][1]] = m->mask;
	}
	/* One window at a time, against the double forward pass. */
	for (int b = 0; b < 3; b++) {
		row[0] = 256;   /* BOS */
		memcpy(row + 1, ids[b], sizeof ids[b]);
		masked_forward_ref(g, row, 12, ref);
		ck_assert_int_eq(lm_fill_dist(m, ids[b], 11, pos[b], 2, one, &e), 0);
		for (int j = 0; j < 2; j++) {
			double s = 0, err = maxrel(one + j * 256, ref + (1 + pos[b][j]) * 256, 256, 1);
			worst = fmax(worst, err);
			for (int v = 0; v < 256; v++)
				s += exp(one[j * 256 + v]);
			ck_assert_double_le(fabs(s - 1), 1e-5);
		}
		/* The batch gives each window's rows as the single calls do, bit
		 * for bit (every kernel computes a row from that row alone). */
		ck_assert_int_eq(lm_fill_batch(m, &ids[0][0], 3, 11, &pos[0][0], 2, many, &e), 0);
		ck_assert_mem_eq(many + b * 2 * 256, one, 2 * 256 * sizeof *one);
	}
	ck_assert_double_le(worst, 1e-4);
	/* A shorter window: positions 1 .. 5 only, as a shorter training row. */
	row[0] = 256;
	memcpy(row + 1, ids[0], 5 * sizeof *row);
	masked_forward_ref(g, row, 6, ref);
	ck_assert_int_eq(lm_fill_dist(m, ids[0], 5, pos[0], 2, one, &e), 0);
	ck_assert_double_le(maxrel(one, ref + 256, 256, 1), 1e-4);
	ck_assert_double_le(maxrel(one + 256, ref + 5 * 256, 256, 1), 1e-4);
	/* Bad windows: too long, BOS as an input, a position outside. */
	ck_assert_int_eq(lm_fill_dist(m, ids[0], 12, pos[0], 2, one, &e), AD_EINVAL);
	ids[1][2] = 256;
	ck_assert_int_eq(lm_fill_dist(m, ids[1], 11, pos[1], 2, one, &e), AD_EINVAL);
	ck_assert_ptr_nonnull(strstr(e.msg, "256 at 2"));
	ck_assert_int_eq(lm_fill_dist(m, ids[0], 4, pos[0], 2, one, &e), AD_EINVAL);
	lm_free(m);
	/* A causal model has no fill_dist. */
	c.Vin = 257;
	gpt_free(g);
	g = model(&c, 22);
	f.cfg = c;
	f.masked = 0;
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	ck_assert_int_eq(lm_open(&m, path, &e), 0);
	ck_assert_str_eq(m->objective, "causal");
	ck_assert_uint_eq(m->mask, LM_NONE);
	ck_assert(!lm_is_masked(m));
	ck_assert_int_eq(lm_fill_dist(m, ids[0], 11, pos[0], 2, one, &e), AD_EINVAL);
	lm_free(m);
	gpt_free(g);
	free(one); free(many); free(ref);
	free(dir);
}
END_TEST

START_TEST(test_lr_schedule)
{
	struct adamw_config c = { .lr = 1.0, .min_lr = 0.1, .warmup = 4, .steps = 14 };

	ck_assert_double_eq_tol(adamw_lr(&c, 0), 0.25, 1e-15);
	ck_assert_double_eq_tol(adamw_lr(&c, 3), 1.0, 1e-15);
	ck_assert_double_eq_tol(adamw_lr(&c, 4), 1.0, 1e-15);
	/* Half way down the cosine: (lr + min_lr) / 2. */
	ck_assert_double_eq_tol(adamw_lr(&c, 9), 0.55, 1e-15);
	ck_assert_double_eq_tol(adamw_lr(&c, 14), 0.1, 1e-15);
	ck_assert_double_eq_tol(adamw_lr(&c, 100), 0.1, 1e-15);
}
END_TEST

START_TEST(test_grad_norm)
{
	size_t n = 100003;
	float *g = falloc(n);
	double want = 0;

	for (size_t i = 0; i < n; i++) {
		g[i] = (float)((i % 7) - 3) * 0.5f;
		want += (double)g[i] * g[i];
	}
	ck_assert_double_eq_tol(nn_grad_norm(g, n), sqrt(want), 1e-9);
	free(g);
}
END_TEST


/* ------------------------------------------------------------------------
 * PyTorch as the oracle of the whole model (tests/torch_ref.py)
 * ------------------------------------------------------------------------ */

struct tref {
	char    *buf;
	size_t   len;
};

/* A copy of the values of record name (f32, f64 or u32; caller frees). */
static void *
tref_get(const struct tref *r, const char *name, uint32_t type, uint64_t *count)
{
	size_t at = 8;

	while (at + 16 <= r->len) {
		uint32_t nl, ty;
		uint64_t n;
		size_t   w;
		memcpy(&nl, r->buf + at, 4);
		memcpy(&ty, r->buf + at + 4 + nl, 4);
		memcpy(&n, r->buf + at + 8 + nl, 8);
		w = ty == 1 ? 8 : 4;
		if (nl == strlen(name) && memcmp(r->buf + at + 4, name, nl) == 0) {
			void *copy = malloc(n * w + 1);
			ck_assert_uint_eq(ty, type);
			ck_assert_ptr_nonnull(copy);
			memcpy(copy, r->buf + at + 16 + nl, n * w);
			*count = n;
			return copy;
		}
		at += 16 + nl + n * w;
	}
	ck_abort_msg("torch reference: no record '%s'", name);
	return NULL;
}

static double
tref_f64(const struct tref *r, const char *name, size_t i)
{
	uint64_t n;
	double  *p = tref_get(r, name, 1, &n), v;

	ck_assert_uint_lt(i, n);
	v = p[i];
	free(p);
	return v;
}

/* max |ours - torch| / max |torch| over one tensor. */
static double
tref_relerr(const struct tref *r, const char *name, const float *ours, size_t n)
{
	uint64_t cnt;
	double  *ref = tref_get(r, name, 1, &cnt), e;

	ck_assert_uint_eq(cnt, n);
	e = maxrel(ours, ref, n, 1e-30);
	free(ref);
	return e;
}

/*
 * One pass of the model against the records prefix+"logits", "loss" and
 * "d_<tensor>": the logits (the forward keeps them), the mean loss over the
 * mask, and every parameter gradient, each within its tolerance.
 */
static void
tref_check_pass(const struct tref *r, const char *prefix, struct gpt *g, const uint32_t *in,
    const uint32_t *tg, const uint8_t *mk, size_t B, size_t Tb, size_t counted)
{
	char            name[64];
	size_t          sizes[GPT_NTENSORS], off = 0;
	struct ad_error e = { 0 };
	double          loss, want;

	gpt_tensor_sizes(&g->cfg, sizes);
	snprintf(name, sizeof name, "%slogits", prefix);
	gpt_forward(g, in, NULL, NULL, B, Tb);
	ck_assert_double_le(tref_relerr(r, name, g->acts.logits, B * Tb * g->cfg.V), 1e-4);
	loss = gpt_forward(g, in, tg, mk, B, Tb);
	snprintf(name, sizeof name, "%sloss", prefix);
	want = tref_f64(r, name, 0);
	ck_assert_double_le(fabs(loss - want) / want, 1e-5);
	gpt_zero_grad(g);
	ck_assert_int_eq(gpt_backward(g, in, tg, mk, B, Tb, (float)(1.0 / (double)counted), &e), 0);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		double err;
		snprintf(name, sizeof name, "%sd_%s", prefix, gpt_tensor_name(i));
		err = tref_relerr(r, name, g->grad_mem + off, sizes[i]);
		ck_assert_msg(err <= 1e-4, "%sgradient of %s: relative error %g against PyTorch",
		    prefix, gpt_tensor_name(i), err);
		off += sizes[i];
	}
}

START_TEST(test_torch_reference)
{
	const char      *env = getenv("AD_TORCH_REF");
	char            *path = env && *env ? strdup(env) : tu_fixture("nn/torch_ref.bin");
	struct tref      r;
	uint64_t         n;
	uint32_t        *cfgv, *u;
	struct gpt_config cfg;
	struct gpt      *g;
	struct adamw    *a;
	struct ad_error  e = { 0 };
	size_t           sizes[GPT_NTENSORS], B, Tb, off = 0, steps, counted = 0;
	uint32_t        *in, *tg;
	uint8_t         *mk;
	float           *p0;

	r.buf = tu_slurp(path, &r.len);
	ck_assert_msg(r.buf != NULL, "%s: missing (written by tests/torch_ref.py)", path);
	ck_assert_int_eq(memcmp(r.buf, "ADTORCH1", 8), 0);
	cfgv = tref_get(&r, "config", 2, &n);
	cfg = (struct gpt_config){ cfgv[0], cfgv[1], cfgv[2], cfgv[3], cfgv[4], cfgv[4] + 1 };
	B = cfgv[5];
	Tb = cfgv[6];
	steps = cfgv[7];
	ck_assert_int_eq(gpt_new(&g, &cfg, &e), 0);
	ck_assert_int_eq(gpt_alloc(g, B, Tb, 1, &e), 0);
	gpt_tensor_sizes(&cfg, sizes);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		float *w = tref_get(&r, gpt_tensor_name(i), 0, &n);
		ck_assert_uint_eq(n, sizes[i]);
		memcpy(g->param_mem + off, w, sizes[i] * sizeof(float));
		free(w);
		off += sizes[i];
	}
	p0 = malloc(g->nparams * sizeof(float));
	memcpy(p0, g->param_mem, g->nparams * sizeof(float));
	in = malloc(B * Tb * sizeof *in);
	tg = malloc(B * Tb * sizeof *tg);
	mk = malloc(B * Tb);
	u = tref_get(&r, "inputs", 2, &n);
	memcpy(in, u, B * Tb * 4);
	free(u);
	u = tref_get(&r, "targets", 2, &n);
	memcpy(tg, u, B * Tb * 4);
	free(u);
	u = tref_get(&r, "mask", 2, &n);
	for (size_t i = 0; i < B * Tb; i++) {
		mk[i] = (uint8_t)u[i];
		counted += mk[i];
	}
	free(u);

	tref_check_pass(&r, "", g, in, tg, mk, B, Tb, counted);

	/* Ten AdamW steps on the same batch. */
	{
		struct adamw_config ac = { tref_f64(&r, "adamw", 0), tref_f64(&r, "adamw", 1), 0.9,
		                           0.95, 1e-8, tref_f64(&r, "adamw", 2),
		                           tref_f64(&r, "adamw", 3), cfgv[8], steps };
		ck_assert_int_eq(adamw_new(&a, &ac, g->nparams, &e), 0);
		for (size_t s = 0; s < steps; s++) {
			double l = gpt_forward(g, in, tg, mk, B, Tb), want = tref_f64(&r, "losses", s);
			ck_assert_msg(fabs(l - want) <= 1e-4 * fabs(want),
			    "AdamW step %zu: loss %.8f, PyTorch %.8f", s, l, want);
			gpt_zero_grad(g);
			ck_assert_int_eq(gpt_backward(g, in, tg, mk, B, Tb, (float)(1.0 / (double)counted),
			    &e), 0);
			adamw_step(a, g, adamw_lr(&ac, s), nn_grad_norm(g->grad_mem, g->nparams));
		}
		/* The steps moved the parameters (the losses are not all from p0). */
		ck_assert_int_ne(memcmp(p0, g->param_mem, g->nparams * sizeof(float)), 0);
		adamw_free(a);
	}
	free(in); free(tg); free(mk); free(p0); free(cfgv);
	gpt_free(g);
	free(r.buf);
	free(path);
}
END_TEST

/*
 * The masked objective against PyTorch (the m_ records of torch_ref.py): the
 * same weights with a MASK embedding row (Vin = V + 2), full attention, a
 * batch whose chosen positions hold MASK, a random token or the original,
 * the loss over the chosen positions only: logits, loss and every gradient
 * within the causal case's tolerances.
 */
START_TEST(test_torch_masked)
{
	const char      *env = getenv("AD_TORCH_REF");
	char            *path = env && *env ? strdup(env) : tu_fixture("nn/torch_ref.bin");
	struct tref      r;
	uint64_t         n;
	uint32_t        *cfgv, *in, *tg, *u;
	uint8_t         *mk;
	struct gpt_config cfg;
	struct gpt      *g;
	struct ad_error  e = { 0 };
	size_t           sizes[GPT_NTENSORS], B, Tb, off = 0, counted = 0, cases[3] = { 0 };

	r.buf = tu_slurp(path, &r.len);
	ck_assert_msg(r.buf != NULL, "%s: missing (written by tests/torch_ref.py)", path);
	cfgv = tref_get(&r, "config", 2, &n);
	cfg = (struct gpt_config){ cfgv[0], cfgv[1], cfgv[2], cfgv[3], cfgv[4], cfgv[4] + 2 };
	B = cfgv[5];
	Tb = cfgv[6];
	ck_assert_int_eq(gpt_new(&g, &cfg, &e), 0);
	ck_assert_int_eq(gpt_alloc(g, B, Tb, 1, &e), 0);
	g->attention = NN_ATTN_FULL;
	gpt_tensor_sizes(&cfg, sizes);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		float *w = tref_get(&r, i == 0 ? "m_wte" : gpt_tensor_name(i), 0, &n);
		ck_assert_uint_eq(n, sizes[i]);
		memcpy(g->param_mem + off, w, sizes[i] * sizeof(float));
		free(w);
		off += sizes[i];
	}
	in = tref_get(&r, "m_inputs", 2, &n);
	ck_assert_uint_eq(n, B * Tb);
	tg = tref_get(&r, "m_targets", 2, &n);
	u = tref_get(&r, "m_mask", 2, &n);
	mk = malloc(B * Tb);
	for (size_t i = 0; i < B * Tb; i++) {
		mk[i] = (uint8_t)u[i];
		counted += mk[i];
		if (mk[i])
			cases[in[i] == GPT_MASK(&cfg) ? 0 : in[i] != tg[i] ? 1 : 2]++;
	}
	/* The three cases are all there: MASK, another token, the original. */
	ck_assert(cases[0] > 0 && cases[1] > 0 && cases[2] > 0);
	free(u);
	tref_check_pass(&r, "m_", g, in, tg, mk, B, Tb, counted);
	/* The MASK row learns: it is an input at the MASK positions. */
	{
		double mx = 0;
		for (size_t c = 0; c < cfg.C; c++)
			mx = fmax(mx, fabs(g->grads.wte[(size_t)GPT_MASK(&cfg) * cfg.C + c]));
		ck_assert_double_gt(mx, 0);
	}
	free(in); free(tg); free(mk); free(cfgv);
	gpt_free(g);
	free(r.buf);
	free(path);
}
END_TEST

/*
 * PLL through the batched fill (lm_pll) against a brute-force loop of one
 * lm_fill_dist call per token, each copy masked by hand: token PLL masks
 * the token alone, word-l2r also the rest of its word ("the cats sat."
 * in bytes: words the|cats|sat, then ' ' and '.').
 */
START_TEST(test_lm_masked_pll_brute_force)
{
	struct gpt_config c = { 2, 2, 16, 12, 256, 258 };
	struct gpt       *g = model(&c, 23);
	struct nn_file    f = { 0 };
	struct ad_error   e = { 0 };
	struct lm        *m;
	char             *dir = tu_tmpdir(), path[4200];
	const char       *text = "the cats sat";
	uint32_t          ids[11], copy[11];
	float             dist[256];
	double            lp[11];

	for (size_t i = 0; i < g->nparams; i++)
		g->param_mem[i] *= 6;
	f.cfg = c;
	f.masked = 1;
	f.mask_rate = 0.15;
	f.tok_kind = NN_TOK_BYTES;
	snprintf(path, sizeof path, "%s/m", dir);
	ck_assert_int_eq(nn_save(path, &f, g, NULL, &e), 0);
	ck_assert_int_eq(lm_open(&m, path, &e), 0);
	for (int i = 0; i < 11; i++)
		ids[i] = (uint8_t)text[i];
	for (int kind = 0; kind < 2; kind++) {
		ck_assert_int_eq(lm_pll(m, ids, 11, kind == 0 ? LM_PLL_TOKEN : LM_PLL_WORD_L2R, lp,
		    &e), 0);
		for (uint32_t t = 0; t < 11; t++) {
			memcpy(copy, ids, sizeof copy);
			copy[t] = m->mask;
			/* The later letters of the word ("cats": c masks a, t, s too). */
			for (int u = (int)t + 1; kind == 1 && isalpha((int)text[t]) && u < 11 &&
			    isalpha((int)text[u]); u++)
				copy[u] = m->mask;
			ck_assert_int_eq(lm_fill_dist(m, copy, 11, &t, 1, dist, &e), 0);
			ck_assert_double_le(fabs(lp[t] - dist[ids[t]]), 1e-5);
		}
	}
	lm_free(m);
	gpt_free(g);
	free(dir);
}
END_TEST

/*
 * A masked model behind lm.h against PyTorch (tests/torch_fill.py): the
 * GPT-2 of torch_ref.py with full attention as a byte-level masked model;
 * lm_fill_dist on its window (three positions MASK, one asked with its
 * byte in view) gives PyTorch's log-softmax there, within the tolerance of
 * the logits in test_torch_reference.
 */
START_TEST(test_torch_fill_dist)
{
	const char      *env = getenv("AD_TORCH_FILL");
	char            *path = env && *env ? strdup(env) : tu_fixture("nn/torch_fill.bin");
	char            *dir = tu_tmpdir(), model[4200];
	struct tref      r;
	uint64_t         n, nw, np;
	uint32_t        *cfgv, *win, *pos;
	struct gpt_config cfg;
	struct gpt      *g;
	struct nn_file   f = { 0 };
	struct lm       *m;
	struct ad_error  e = { 0 };
	size_t           sizes[GPT_NTENSORS], off = 0;
	float           *logp;
	double           err;

	r.buf = tu_slurp(path, &r.len);
	ck_assert_msg(r.buf != NULL, "%s: missing (written by tests/torch_fill.py)", path);
	cfgv = tref_get(&r, "config", 2, &n);
	cfg = (struct gpt_config){ cfgv[0], cfgv[1], cfgv[2], cfgv[3], cfgv[4], cfgv[4] + 2 };
	ck_assert_int_eq(gpt_new(&g, &cfg, &e), 0);
	gpt_tensor_sizes(&cfg, sizes);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		float *w = tref_get(&r, gpt_tensor_name(i), 0, &n);
		ck_assert_uint_eq(n, sizes[i]);
		memcpy(g->param_mem + off, w, sizes[i] * sizeof(float));
		free(w);
		off += sizes[i];
	}
	f.cfg = cfg;
	f.masked = 1;
	f.mask_rate = 0.15;
	f.tok_kind = NN_TOK_BYTES;
	snprintf(model, sizeof model, "%s/m", dir);
	ck_assert_int_eq(nn_save(model, &f, g, NULL, &e), 0);
	ck_assert_int_eq(lm_open(&m, model, &e), 0);
	win = tref_get(&r, "window", 2, &nw);
	pos = tref_get(&r, "pos", 2, &np);
	ck_assert_uint_eq(nw, m->context);
	logp = falloc(np * 256);
	ck_assert_int_eq(lm_fill_dist(m, win, nw, pos, np, logp, &e), 0);
	err = tref_relerr(&r, "logp", logp, np * 256);
	ck_assert_msg(err <= 1e-4, "fill_dist against PyTorch: relative error %g", err);
	lm_free(m);
	gpt_free(g);
	free(logp); free(win); free(pos); free(cfgv); free(r.buf); free(path); free(dir);
}
END_TEST

/*
 * Our bf16 forward pass against PyTorch's bf16 autocast on the same weights
 * and batch (tests/torch_bf16.py, run by tests/torch_bf16.sh, which sets
 * AD_TORCH_BF16): the mean loss and sum_j r_j z_j over the logits agree
 * within the tolerances the script derives (six standard deviations of
 * the two runs' first-order rounding errors, from float64 gradients).
 */
START_TEST(test_torch_autocast)
{
	const char       *path = getenv("AD_TORCH_BF16");
	struct tref       r;
	uint64_t          n;
	uint32_t         *cfgv, *in, *tg;
	float            *rs;
	struct gpt_config cfg;
	struct gpt       *g;
	struct ad_error   e = { 0 };
	size_t            sizes[GPT_NTENSORS], B, Tb, off = 0;
	double            loss, f = 0, tl, tf, al, af;

	if (path == NULL || *path == '\0') {
		fprintf(stderr, "check_nn: test_torch_autocast skipped: AD_TORCH_BF16 is not set "
		    "(tests/torch_bf16.sh sets it)\n");
		return;
	}
	if (!bf16_or_skip("test_torch_autocast"))
		return;
	r.buf = tu_slurp(path, &r.len);
	ck_assert_msg(r.buf != NULL, "%s: missing (written by tests/torch_bf16.py)", path);
	cfgv = tref_get(&r, "config", 2, &n);
	cfg = (struct gpt_config){ cfgv[0], cfgv[1], cfgv[2], cfgv[3], cfgv[4], cfgv[4] + 1 };
	B = cfgv[5];
	Tb = cfgv[6];
	free(cfgv);
	ck_assert_int_eq(gpt_new(&g, &cfg, &e), 0);
	ck_assert_int_eq(gpt_alloc(g, B, Tb, 0, &e), 0);
	gpt_tensor_sizes(&cfg, sizes);
	for (int i = 0; i < GPT_NTENSORS; i++) {
		float *w = tref_get(&r, gpt_tensor_name(i), 0, &n);
		ck_assert_uint_eq(n, sizes[i]);
		memcpy(g->param_mem + off, w, sizes[i] * sizeof(float));
		free(w);
		off += sizes[i];
	}
	ck_assert_int_eq(gpt_set_precision(g, NN_PREC_BF16, &e), 0);
	in = tref_get(&r, "inputs", 2, &n);
	tg = tref_get(&r, "targets", 2, &n);
	rs = tref_get(&r, "r", 0, &n);
	ck_assert_uint_eq(n, B * Tb * cfg.V);
	loss = gpt_forward(g, in, tg, NULL, B, Tb);
	for (size_t j = 0; j < n; j++)
		f += (double)rs[j] * g->acts.logits[j];
	al = tref_f64(&r, "ac_loss", 0);
	af = tref_f64(&r, "ac_f", 0);
	tl = tref_f64(&r, "tol_loss", 0);
	tf = tref_f64(&r, "tol_f", 0);
	fprintf(stderr, "check_nn: bf16 against autocast: loss %.6f / %.6f (tolerance %.3g), "
	    "sum r z %.4f / %.4f (tolerance %.3g); float64 %.6f, %.4f\n", loss, al, tl, f, af, tf,
	    tref_f64(&r, "loss64", 0), tref_f64(&r, "f64", 0));
	ck_assert_msg(fabs(loss - al) <= tl, "bf16 loss %.6f, autocast's %.6f: beyond %.3g", loss,
	    al, tl);
	ck_assert_msg(fabs(f - af) <= tf, "bf16 sum r z %.4f, autocast's %.4f: beyond %.3g", f, af,
	    tf);
	gpt_free(g);
	free(in); free(tg); free(rs); free(r.buf);
}
END_TEST

static Suite *
nn_suite(void)
{
	Suite *s = suite_create("nn");
	TCase *k = tcase_create("kernels"), *f = tcase_create("finite differences");
	TCase *m = tcase_create("model"), *t = tcase_create("torch");
	TCase *tb = tcase_create("torch-bf16");

	tcase_set_timeout(k, 120);
	tcase_set_timeout(m, 120);
	tcase_add_test(k, test_gemm_avx2);
	tcase_add_test(k, test_gemm_avx512);
	tcase_add_test(k, test_gemm_kernels_same_bits);
	tcase_add_test(k, test_gemm_bias);
	tcase_add_test(k, test_gemm_tri);
	tcase_add_test(k, test_gemm_portable);
	tcase_add_test(k, test_gemm_bf16);
	tcase_add_test(k, test_gemm_bf16_threads);
	tcase_add_test(k, test_matvec_bf16);
	tcase_add_test(k, test_matvec);
	tcase_add_test(k, test_matvec_in);
	tcase_add_test(k, test_fast_layernorm);
	tcase_add_test(k, test_fast_matmul);
	tcase_add_test(k, test_fast_attention);
	tcase_add_test(k, test_attention_without_scratch);
	tcase_add_test(k, test_fast_elementwise);
	tcase_add_test(f, test_fd_encoder);
	tcase_add_test(f, test_fd_layernorm);
	tcase_add_test(f, test_fd_matmul);
	tcase_add_loop_test(f, test_fd_attention, 0, 2);
	tcase_add_test(f, test_fd_gelu);
	tcase_add_test(f, test_fd_crossentropy);
	tcase_add_test(m, test_param_count);
	tcase_add_test(m, test_init_statistics);
	tcase_add_test(m, test_config_errors);
	tcase_add_test(m, test_initial_loss);
	tcase_add_test(m, test_overfit_one_batch);
	tcase_add_loop_test(m, test_threads_same_bits, 0, 2);
	tcase_add_loop_test(m, test_resume_bit_identical, 0, 3);
	tcase_add_test(m, test_bf16_threads_same_bits);
	tcase_add_test(m, test_checkpoint_damage);
	tcase_add_test(m, test_log_softmax);
	tcase_add_test(m, test_attend_one);
	tcase_add_test(m, test_kv_cache_matches_forward);
	tcase_add_test(m, test_kv_step_threads_same_bits);
	tcase_add_test(m, test_lr_schedule);
	tcase_add_test(m, test_grad_norm);
	tcase_add_test(m, test_accumulation);
	tcase_add_test(m, test_label_noise_targets);
	tcase_add_test(m, test_nan_stops_before_update);
	tcase_add_test(m, test_backward_partial_batch);
	tcase_add_test(m, test_budget_fit);
	tcase_add_test(m, test_run_stop_resume);
	tcase_add_test(m, test_run_budget);
	tcase_add_test(m, test_objective_seam);
	tcase_add_test(m, test_masked_rows);
	tcase_add_test(m, test_masked_whole_word);
	tcase_add_test(m, test_masked_overfit);
	tcase_add_test(m, test_masked_evaluate);
	tcase_add_test(m, test_train_state_options);
	tcase_add_test(m, test_lm_interface);
	tcase_add_test(m, test_lm_masked_fill_dist);
	tcase_add_loop_test(m, test_forward_at_same_bits, 0, 3);
	tcase_add_loop_test(m, test_scoring_chunks_same_bits, 0, 2);
	tcase_add_test(m, test_lm_masked_pll_brute_force);
	tcase_add_test(m, test_lm_score_batch_rows_are_windows);
	tcase_add_test(m, test_bf16_inference_logit_bound);
	tcase_set_timeout(t, 60);
	tcase_add_test(t, test_torch_reference);
	tcase_add_test(t, test_torch_masked);
	tcase_add_test(t, test_torch_fill_dist);
	tcase_set_timeout(tb, 60);
	tcase_add_test(tb, test_torch_autocast);
	suite_add_tcase(s, t);
	suite_add_tcase(s, tb);
	suite_add_tcase(s, k);
	suite_add_tcase(s, f);
	suite_add_tcase(s, m);
	return s;
}

int
main(void)
{
	return tu_run(nn_suite());
}
