/*
 * rf_la.c — dense linear algebra in double for the minimum-norm readout:
 * Gram matrices, products, a blocked Cholesky factorisation and its solve.
 *
 * Why double and not nn_sgemm's fp32: at the interpolation threshold the
 * Gram matrix's condition number is the square of the feature matrix's,
 * easily 1e8 to 1e12, and fp32 sums (relative error ~1e-7) would act as a
 * random ridge penalty of that size and flatten the very peak the model is
 * built to show. Sizes are a few thousand, so register-tiled loops that the
 * compiler vectorises are fast enough (a point takes seconds): a 4 x 16
 * micro-kernel for products, 4 x 4 tiles of dot products for Gram
 * matrices. In ISO C mode the compiler does not fuse a multiply and an
 * add, so each is two instructions (and rounds twice).
 *
 * Every element of an output is one sum in a fixed order (k ascending,
 * split by `omp simd` into a fixed number of lanes), computed by one thread;
 * the OpenMP loops only decide which thread, so results are the same bytes
 * for any thread count.
 */
#include "rf/rf_impl.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* Rows of an output tile, and the column block that keeps a tile of C in L1. */
#define TILE 4
#define JBLOCK 256
/* Cholesky's block: the panel (n, NB) and the diagonal block stay in cache. */
#define NB 64

static size_t
min_z(size_t a, size_t b)
{
	return a < b ? a : b;
}

/*
 * s[r * 4 + q] = sum_l a_r[l] b_q[l] for the four rows a_r = a + r lda and
 * b_q = b + q ldb (rows past the last valid one repeat it: the caller
 * ignores those sums). Sixteen accumulators, each a vector under simd.
 */
static void
dot44(const double *a, size_t lda, size_t na, const double *b, size_t ldb, size_t nb,
      size_t L, double *s)
{
	const double *a0 = a, *a1 = a + min_z(1, na - 1) * lda;
	const double *a2 = a + min_z(2, na - 1) * lda, *a3 = a + min_z(3, na - 1) * lda;
	const double *b0 = b, *b1 = b + min_z(1, nb - 1) * ldb;
	const double *b2 = b + min_z(2, nb - 1) * ldb, *b3 = b + min_z(3, nb - 1) * ldb;
	double s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
	double s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;

	#pragma omp simd reduction(+:s00,s01,s02,s03,s10,s11,s12,s13,s20,s21,s22,s23,s30,s31,s32,s33)
	for (size_t l = 0; l < L; l++) {
		double x0 = a0[l], x1 = a1[l], x2 = a2[l], x3 = a3[l];
		double y0 = b0[l], y1 = b1[l], y2 = b2[l], y3 = b3[l];
		s00 += x0 * y0; s01 += x0 * y1; s02 += x0 * y2; s03 += x0 * y3;
		s10 += x1 * y0; s11 += x1 * y1; s12 += x1 * y2; s13 += x1 * y3;
		s20 += x2 * y0; s21 += x2 * y1; s22 += x2 * y2; s23 += x2 * y3;
		s30 += x3 * y0; s31 += x3 * y1; s32 += x3 * y2; s33 += x3 * y3;
	}
	s[0] = s00; s[1] = s01; s[2] = s02; s[3] = s03;
	s[4] = s10; s[5] = s11; s[6] = s12; s[7] = s13;
	s[8] = s20; s[9] = s21; s[10] = s22; s[11] = s23;
	s[12] = s30; s[13] = s31; s[14] = s32; s[15] = s33;
}

void
rf__syrk(double *C, size_t ldc, const double *X, size_t ldx, size_t r, size_t L,
         double alpha, int nt)
{
	size_t tiles = (r + TILE - 1) / TILE;

	/* Race-free: each tile row i0 writes only rows i0..i0+3 of C. Dynamic,
	 * because the lower triangle's rows grow in length. */
	#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
	for (size_t t = 0; t < tiles; t++) {
		size_t i0 = t * TILE, ni = min_z(TILE, r - i0);
		double s[16];

		for (size_t j0 = 0; j0 <= i0; j0 += TILE) {
			size_t nj = min_z(TILE, r - j0);

			dot44(X + i0 * ldx, ldx, ni, X + j0 * ldx, ldx, nj, L, s);
			for (size_t a = 0; a < ni; a++)
				for (size_t b = 0; b < nj && j0 + b <= i0 + a; b++)
					C[(i0 + a) * ldc + j0 + b] += alpha * s[a * 4 + b];
		}
	}
}

/*
 * Columns of C a micro-tile holds in registers: two vectors of 8 doubles,
 * written with the GCC/Clang vector extension (plain loops over local
 * arrays were not vectorised: GCC split the arrays into scalars). Without
 * AVX-512 the compiler lowers each to narrower vectors; the sums are the
 * same, element by element, in k order.
 */
#define VW 16
typedef double v8d __attribute__((vector_size(64)));

/* v = the 8 doubles at p (unaligned). A macro, not a function: passing or
 * returning a 64-byte vector would change the ABI without AVX-512. */
#define LOAD8(v, p) memcpy(&(v), (p), sizeof(v8d))

/*
 * The micro-kernel: C (4, VW) += op(A) (4, k0..k1) B (k0..k1, VW), the tile
 * of C in eight vector accumulators for the whole k loop.
 */
static void
tile4(int trans, double *C, size_t ldc, const double *A, size_t lda, size_t i0,
      const double *B, size_t ldb, size_t k0, size_t k1)
{
	v8d c00, c01, c10, c11, c20, c21, c30, c31;
	size_t sa = trans ? 1 : lda, sk = trans ? lda : 1;   /* A's strides in i and k */
	const double *a = trans ? A + i0 : A + i0 * lda;

	LOAD8(c00, C); LOAD8(c01, C + 8);
	LOAD8(c10, C + ldc); LOAD8(c11, C + ldc + 8);
	LOAD8(c20, C + 2 * ldc); LOAD8(c21, C + 2 * ldc + 8);
	LOAD8(c30, C + 3 * ldc); LOAD8(c31, C + 3 * ldc + 8);
	for (size_t k = k0; k < k1; k++) {
		const double *ak = a + k * sk;
		double x0 = ak[0], x1 = ak[sa], x2 = ak[2 * sa], x3 = ak[3 * sa];
		v8d b0, b1;

		LOAD8(b0, B + k * ldb);
		LOAD8(b1, B + k * ldb + 8);
		c00 += x0 * b0; c01 += x0 * b1;
		c10 += x1 * b0; c11 += x1 * b1;
		c20 += x2 * b0; c21 += x2 * b1;
		c30 += x3 * b0; c31 += x3 * b1;
	}
	memcpy(C, &c00, 64); memcpy(C + 8, &c01, 64);
	memcpy(C + ldc, &c10, 64); memcpy(C + ldc + 8, &c11, 64);
	memcpy(C + 2 * ldc, &c20, 64); memcpy(C + 2 * ldc + 8, &c21, 64);
	memcpy(C + 3 * ldc, &c30, 64); memcpy(C + 3 * ldc + 8, &c31, 64);
}

/* The same sums for a partial tile (rows i0.., ni <= 4; columns j0.., nj). */
static void
edge(int trans, double *C, size_t ldc, const double *A, size_t lda, const double *B,
     size_t ldb, size_t i0, size_t ni, size_t j0, size_t nj, size_t k0, size_t k1)
{
	for (size_t a = 0; a < ni; a++) {
		double *c = C + (i0 + a) * ldc + j0;

		for (size_t k = k0; k < k1; k++) {
			double        x = trans ? A[k * lda + i0 + a] : A[(i0 + a) * lda + k];
			const double *b = B + k * ldb + j0;

			#pragma omp simd
			for (size_t j = 0; j < nj; j++)
				c[j] += x * b[j];
		}
	}
}

/*
 * C (M, N) += op(A) B, op(A) = A (M, K) or, transposed, A' for A (K, M).
 * Blocked so that a panel of B (KBLOCK, JBLOCK), 256 KB, stays in L2 while
 * every tile of four rows of C passes over it: B is read from memory once
 * per call, not once per tile.
 */
#define KBLOCK 128

static void
gemm(int trans, double *C, size_t ldc, const double *A, size_t lda, const double *B,
     size_t ldb, size_t M, size_t N, size_t K, int nt)
{
	size_t tiles = (M + TILE - 1) / TILE;

	#pragma omp parallel num_threads(nt)
	for (size_t j0 = 0; j0 < N; j0 += JBLOCK) {
		size_t nj = min_z(JBLOCK, N - j0);

		for (size_t k0 = 0; k0 < K; k0 += KBLOCK) {
			size_t k1 = min_z(K, k0 + KBLOCK);

			/* Race-free and in a fixed order: a static schedule gives
			 * each tile (its own four rows of C) to the same thread for
			 * every (j0, k0), so each element's sum runs in k order. */
			#pragma omp for schedule(static) nowait
			for (size_t t = 0; t < tiles; t++) {
				size_t i0 = t * TILE, ni = min_z(TILE, M - i0);

				if (ni == TILE) {
					size_t j = 0;

					for (; j + VW <= nj; j += VW)
						tile4(trans, C + i0 * ldc + j0 + j, ldc, A, lda, i0,
						      B + j0 + j, ldb, k0, k1);
					if (j < nj)
						edge(trans, C, ldc, A, lda, B, ldb, i0, ni, j0 + j,
						     nj - j, k0, k1);
				} else {
					edge(trans, C, ldc, A, lda, B, ldb, i0, ni, j0, nj, k0, k1);
				}
			}
		}
	}
}

void
rf__gemm_nn(double *C, size_t ldc, const double *A, size_t lda, const double *B,
            size_t ldb, size_t M, size_t N, size_t K, int nt)
{
	gemm(0, C, ldc, A, lda, B, ldb, M, N, K, nt);
}

void
rf__gemm_tn(double *C, size_t ldc, const double *A, size_t lda, const double *B,
            size_t ldb, size_t M, size_t N, size_t K, int nt)
{
	gemm(1, C, ldc, A, lda, B, ldb, M, N, K, nt);
}

/* sum_{l < L} x[l] y[l], in the fixed lanes of simd. */
static double
dot(const double *x, const double *y, size_t L)
{
	double s = 0;

	#pragma omp simd reduction(+:s)
	for (size_t l = 0; l < L; l++)
		s += x[l] * y[l];
	return s;
}

size_t
rf__cholesky(double *A, size_t lda, size_t n, int nt)
{
	for (size_t kb = 0; kb < n; kb += NB) {
		size_t nb = min_z(NB, n - kb), end = kb + nb;

		/* The diagonal block, by rows (Cholesky-Banachiewicz); the blocks
		 * left of it were subtracted by the trailing updates before. */
		for (size_t i = kb; i < end; i++) {
			double *li = A + i * lda;

			for (size_t j = kb; j <= i; j++) {
				const double *lj = A + j * lda;
				double v = li[j] - dot(li + kb, lj + kb, j - kb);

				if (j == i) {
					if (!(v > 0))
						return i + 1;
					li[i] = sqrt(v);
				} else {
					li[j] = v / lj[j];
				}
			}
		}
		if (end == n)
			break;
		/* The panel below it: L21 = A21 L11^-T, row by row. Race-free:
		 * each row i writes only itself and reads the finished block. */
		#pragma omp parallel for schedule(static) num_threads(nt)
		for (size_t i = end; i < n; i++) {
			double *li = A + i * lda;

			for (size_t j = kb; j < end; j++) {
				const double *lj = A + j * lda;

				li[j] = (li[j] - dot(li + kb, lj + kb, j - kb)) / lj[j];
			}
		}
		/* The trailing matrix: A22 -= L21 L21'. */
		rf__syrk(A + end * lda + end, lda, A + end * lda + kb, lda, n - end, nb, -1.0, nt);
	}
	return 0;
}

/* Columns of the right-hand side solved together: a slice of B (n, CB) in L2. */
#define CB 64

/*
 * One slice of nc <= CB columns: forward, L z = b, z_i = (b_i - sum_{j<i}
 * L_ij z_j) / L_ii; backward, L' x = z, x_i = (z_i - sum_{j>i} L_ji x_j) /
 * L_ii. Row i's slice is summed in a local array (registers when nc is
 * the constant CB), in j order.
 */
static inline void
solve_slice(const double *L, size_t ldl, size_t n, double *B, size_t ldb, size_t nc)
{
	double acc[CB];

	for (size_t i = 0; i < n; i++) {
		const double *li = L + i * ldl;

		memcpy(acc, B + i * ldb, nc * sizeof *acc);
		for (size_t j = 0; j < i; j++) {
			const double *bj = B + j * ldb;
			double        x = li[j];

			#pragma omp simd
			for (size_t c = 0; c < nc; c++)
				acc[c] -= x * bj[c];
		}
		for (size_t c = 0; c < nc; c++)
			B[i * ldb + c] = acc[c] / li[i];
	}
	for (size_t i = n; i-- > 0;) {
		memcpy(acc, B + i * ldb, nc * sizeof *acc);
		for (size_t j = i + 1; j < n; j++) {
			const double *bj = B + j * ldb;
			double        x = L[j * ldl + i];

			#pragma omp simd
			for (size_t c = 0; c < nc; c++)
				acc[c] -= x * bj[c];
		}
		for (size_t c = 0; c < nc; c++)
			B[i * ldb + c] = acc[c] / L[i * ldl + i];
	}
}

void
rf__chol_solve(const double *L, size_t ldl, size_t n, double *B, size_t ldb, size_t k,
               int nt)
{
	size_t slices = (k + CB - 1) / CB;

	/* Race-free: each slice of columns is solved by one thread, reading
	 * only L and writing only its own columns of B. */
	#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
	for (size_t s = 0; s < slices; s++) {
		size_t c0 = s * CB, nc = min_z(CB, k - c0);

		if (nc == CB)
			solve_slice(L, ldl, n, B + c0, ldb, CB);
		else
			solve_slice(L, ldl, n, B + c0, ldb, nc);
	}
}
