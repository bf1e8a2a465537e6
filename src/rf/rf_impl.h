/*
 * rf_impl.h — the dense linear algebra in double under rf.c, internal to
 * the module (prefix rf__).
 *
 * Matrices are row-major with an explicit leading dimension (the distance
 * between rows, in elements). Every kernel computes each output element
 * with one sum in a fixed order, whichever thread computes it, so results
 * do not depend on the thread count or the schedule. nt is the number of
 * OpenMP threads (>= 1).
 */
#ifndef AD_RF_IMPL_H
#define AD_RF_IMPL_H

#include <stddef.h>

/* C (r, r), lower triangle and diagonal only: C += alpha X X' for X (r, L). */
void rf__syrk(double *C, size_t ldc, const double *X, size_t ldx, size_t r, size_t L,
              double alpha, int nt);
/* C (M, N) += A B for A (M, K), B (K, N). */
void rf__gemm_nn(double *C, size_t ldc, const double *A, size_t lda, const double *B,
                 size_t ldb, size_t M, size_t N, size_t K, int nt);
/* C (M, N) += A' B for A (K, M), B (K, N). */
void rf__gemm_tn(double *C, size_t ldc, const double *A, size_t lda, const double *B,
                 size_t ldb, size_t M, size_t N, size_t K, int nt);
/*
 * In place, the lower triangle of A (n, n) becomes L with A = L L'
 * (Cholesky, blocked right-looking); the strict upper triangle is not
 * touched. Returns 0, or j + 1 when pivot j is not positive (then A is
 * partly overwritten).
 */
size_t rf__cholesky(double *A, size_t lda, size_t n, int nt);
/* B (n, k) becomes (L L')^-1 B for the factor L of rf__cholesky. */
void rf__chol_solve(const double *L, size_t ldl, size_t n, double *B, size_t ldb, size_t k,
                    int nt);

#endif
