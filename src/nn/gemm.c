/*
 * gemm.c — the single-precision matrix product every layer runs on.
 *
 * The blocking of Goto & van de Geijn ("Anatomy of High-Performance Matrix
 * Multiplication", ACM TOMS 34(3), 2008) as refined in BLIS (Van Zee & van
 * de Geijn 2015): the K dimension is cut in blocks of KC, a block of B
 * (KC x NC) is cut in panels of NR columns that stay in L1, a block of A
 * (MC x KC) in panels of MR rows that stay in L2, and an MR x NR
 * micro-kernel keeps its whole tile of C in registers while it runs down
 * KC. Unlike BLIS, A is read in place (only a last partial panel of MR rows
 * is packed): with the narrow products of a small transformer (N = 128 to
 * 512), packing A cost a fifth of the time.
 *
 * Determinism. An element of C is the sum over K blocks, in order, of a
 * block sum computed by one micro-kernel call in k order; how M and N are
 * cut among threads never changes that arithmetic, so the result does not
 * depend on the thread count. KC is a constant.
 *
 * Workload: the shapes of a small transformer on a CPU — M = B*T ~ 10^3,
 * N and K from 32 to a few thousand — and per-head attention products of
 * T x T x hs run serially inside a parallel loop.
 *
 * Mixed precision: nn_gemm at NN_PREC_BF16 runs the same blocking with
 * inputs rounded to bf16 and an AVX512-BF16 micro-kernel (section "bf16
 * products"); the triangle products of attention stay fp32.
 */
#include "config.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GEMM_X86 1
#endif

#include "nn/nn.h"

/*
 * The register tile, MR x NR, is the micro-kernel's: 6 x 16 for AVX2 (and
 * the portable kernel), 8 x 32 for AVX-512: twice the columns per load of
 * a and a third more rows per load of b, so fewer loads per FMA. On an
 * AVX-512 CPU whose 512-bit FMAs run as two 256-bit halves (no more FLOPs
 * than AVX2) it was still 2-15% faster on each product of shape M, 8-12%
 * over all of them (one process alternating the kernels call by call),
 * and 8-11% on training steps of shapes S and M (odd and even steps). The
 * packing and the blocked loops read the tile of the kernel in force from
 * gemm_mr and gemm_nr. The tile never changes a sum: each element of C is
 * summed in k order whatever the tile, so the two kernels give the same
 * bits.
 */
static size_t gemm_mr = 6, gemm_nr = 16;
#define KC 384          /* fixed: it decides the order of the sums. A panel of B
                         * (KC x 16) is 24 KB, in a 32 KB L1 (KC x 32: 48 KB, in
                         * L2; 256 was 4% slower there too); against 256, one
                         * block instead of two for K = C = 384, 3-8% faster */
#define MC 96           /* rows of A per block (a multiple of 6 and of 8) */
#define NC 1024         /* columns of B per block (a multiple of 16 and of 32) */

#define GEMM_MAX_THREADS 64

/*
 * A micro-kernel: c (the mr x nr valid part of an MR x NR tile, row stride
 * ldc) += a * b over kc, where a(i,k) = a[i*rsa + k*csa] (a packed panel,
 * or A itself read in place) and b(k,j) = b[k*ldb + j] (a packed panel, or
 * B itself). The sum over k runs in k order in every variant, so reading in
 * place or from a packed copy gives the same bits. add 0 stores the sum
 * instead of adding it (the first K block of an overwriting product): the
 * same bits as adding it to zero, without clearing C first.
 */
typedef void (*gemm_kernel_fn)(size_t kc, const float *a, size_t rsa, size_t csa,
                               const float *b, size_t ldb, float *c, size_t ldc,
                               size_t mr, size_t nr, int add);

/*
 * Buffers, one set per thread, kept between calls: a product is called
 * thousands of times a step and a fresh allocation of a megabyte would cost
 * page faults each time. They are allocated before any parallel region
 * (nn_sgemm_prepare) and kept until exit.
 */
struct gemm_ws {
	float *apack[GEMM_MAX_THREADS];   /* (MC, KC) a block of A in gemm_mr-row panels */
	float *bpack[GEMM_MAX_THREADS];   /* (KC, NC) a block of B in gemm_nr-column panels */
	float *scratch[GEMM_MAX_THREADS]; /* nn_sgemm_scratch: scap floats each */
	size_t scap;
	int    sthreads;                  /* threads that have scratch */
};

static struct gemm_ws gemm_ws;
static gemm_kernel_fn gemm_kernel;
static enum nn_kernel gemm_kind = NN_KERNEL_AUTO;
static int            gemm_bf16_ok;   /* AVX512-BF16, and the AVX-512 kernel in force */

/* c (mr x nr, row stride ldc) = or += t (row stride ldt): an edge tile. */
static inline void
gemm_store_tile(float *c, size_t ldc, const float *t, size_t ldt, size_t mr, size_t nr, int add)
{
	for (size_t i = 0; i < mr; i++)
		for (size_t j = 0; j < nr; j++)
			c[i * ldc + j] = add ? c[i * ldc + j] + t[i * ldt + j] : t[i * ldt + j];
}

#ifdef GEMM_X86
/* Fetch the tile of C (mr rows of width floats) that a kernel will add to at
 * its end: the miss then overlaps the loop instead of stalling after it. */
static inline void
gemm_prefetch_tile(const float *c, size_t ldc, size_t mr, size_t width)
{
	for (size_t i = 0; i < mr; i++) {
		_mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
		_mm_prefetch((const char *)(c + i * ldc + width - 1), _MM_HINT_T0);
	}
}
#endif

/*
 * A kernel's entry point specialised on the layout of a: in place (csa 1,
 * rows rsa apart) or a packed panel (rsa 1, csa MR), so the compiler sees
 * constant strides in the loop of each; any other strides (A stored K x M
 * read in place, nn_sgemm_tri) take the general loop.
 */
#define GEMM_KERNEL_ENTRY(name, body, isa)                                                    \
	__attribute__((target(isa))) static void                                              \
	name(size_t kc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb,  \
	    float *c, size_t ldc, size_t mr, size_t nr, int add)                              \
	{                                                                                     \
		if (csa == 1)                                                                 \
			body(kc, a, rsa, 1, b, ldb, c, ldc, mr, nr, add);                     \
		else if (rsa == 1 && csa == MR)                                               \
			body(kc, a, 1, MR, b, ldb, c, ldc, mr, nr, add);                      \
		else                                                                          \
			body(kc, a, rsa, csa, b, ldb, c, ldc, mr, nr, add);                   \
	}

/* The portable kernel and the AVX2 one: 6 x 16. */
#define MR 6
#define NR 16
static void
gemm_kernel_portable(size_t kc, const float *a, size_t rsa, size_t csa, const float *b,
    size_t ldb, float *c, size_t ldc, size_t mr, size_t nr, int add)
{
	float acc[MR][NR];

	memset(acc, 0, sizeof acc);
	for (size_t k = 0; k < kc; k++) {
		const float *bk = b + k * ldb, *ak = a + k * csa;
		for (size_t i = 0; i < MR; i++) {
			float ai = ak[i * rsa];
			for (size_t j = 0; j < NR; j++)
				acc[i][j] += ai * bk[j];
		}
	}
	gemm_store_tile(c, ldc, acc[0], NR, mr, nr, add);
}

#ifdef GEMM_X86
/* 6 x 16: twelve accumulators, two loads of b and six broadcasts of a per k. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
gemm_avx2_body(size_t kc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb,
    float *c, size_t ldc, size_t mr, size_t nr, int add)
{
	__m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
	__m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
	__m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
	__m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
	__m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
	__m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

	if (add)
		gemm_prefetch_tile(c, ldc, mr, NR);

	/* Unrolled by four: without it the loop's own instructions took issue
	 * slots from the twelve FMAs per k and the kernel ran at half of the
	 * core's peak (bench/gemm.sh: 45 -> 77 GFLOP/s on one Zen 3 core). The
	 * order of every sum is unchanged, so are the results, bit for bit. */
	#pragma GCC unroll 4
	for (size_t k = 0; k < kc; k++) {
		__m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ai;
		ai = _mm256_broadcast_ss(a);
		c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
		ai = _mm256_broadcast_ss(a + rsa);
		c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
		ai = _mm256_broadcast_ss(a + 2 * rsa);
		c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
		ai = _mm256_broadcast_ss(a + 3 * rsa);
		c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
		ai = _mm256_broadcast_ss(a + 4 * rsa);
		c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
		ai = _mm256_broadcast_ss(a + 5 * rsa);
		c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
		a += csa;
		b += ldb;
	}
	if (mr == MR && nr == NR && !add) {
#define GEMM_SET(i, r0, r1) \
	_mm256_storeu_ps(c + (i) * ldc, r0); _mm256_storeu_ps(c + (i) * ldc + 8, r1)
		GEMM_SET(0, c00, c01); GEMM_SET(1, c10, c11); GEMM_SET(2, c20, c21);
		GEMM_SET(3, c30, c31); GEMM_SET(4, c40, c41); GEMM_SET(5, c50, c51);
#undef GEMM_SET
	} else if (mr == MR && nr == NR) {
#define GEMM_ROW(i, r0, r1) \
	_mm256_storeu_ps(c + (i) * ldc, _mm256_add_ps(_mm256_loadu_ps(c + (i) * ldc), r0)); \
	_mm256_storeu_ps(c + (i) * ldc + 8, _mm256_add_ps(_mm256_loadu_ps(c + (i) * ldc + 8), r1))
		GEMM_ROW(0, c00, c01); GEMM_ROW(1, c10, c11); GEMM_ROW(2, c20, c21);
		GEMM_ROW(3, c30, c31); GEMM_ROW(4, c40, c41); GEMM_ROW(5, c50, c51);
#undef GEMM_ROW
	} else {
		/* An edge tile: the same sums, stored through a buffer. */
		float t[MR][NR];
		_mm256_storeu_ps(t[0], c00); _mm256_storeu_ps(t[0] + 8, c01);
		_mm256_storeu_ps(t[1], c10); _mm256_storeu_ps(t[1] + 8, c11);
		_mm256_storeu_ps(t[2], c20); _mm256_storeu_ps(t[2] + 8, c21);
		_mm256_storeu_ps(t[3], c30); _mm256_storeu_ps(t[3] + 8, c31);
		_mm256_storeu_ps(t[4], c40); _mm256_storeu_ps(t[4] + 8, c41);
		_mm256_storeu_ps(t[5], c50); _mm256_storeu_ps(t[5] + 8, c51);
		gemm_store_tile(c, ldc, t[0], NR, mr, nr, add);
	}
}

GEMM_KERNEL_ENTRY(gemm_kernel_avx2, gemm_avx2_body, "avx2,fma")
#undef MR
#undef NR

/*
 * 8 x 32 in 512-bit registers: sixteen accumulators, two loads of b and
 * eight broadcasts of a per k. Written with loops over the tile that the
 * compiler unrolls into registers; the order of every sum is that of the
 * 6 x 16 kernel.
 */
#define MR 8
#define NR 32
__attribute__((target("avx512f"), always_inline)) static inline void
gemm_avx512_body(size_t kc, const float *a, size_t rsa, size_t csa, const float *b, size_t ldb,
    float *c, size_t ldc, size_t mr, size_t nr, int add)
{
	__m512 acc[MR][NR / 16];

	#pragma GCC unroll 8
	for (size_t i = 0; i < MR; i++)
		#pragma GCC unroll 2
		for (size_t j = 0; j < NR / 16; j++)
			acc[i][j] = _mm512_setzero_ps();
	if (add)
		gemm_prefetch_tile(c, ldc, mr, NR);
	#pragma GCC unroll 2
	for (size_t k = 0; k < kc; k++) {
		__m512 bv[NR / 16];
		#pragma GCC unroll 2
		for (size_t j = 0; j < NR / 16; j++)
			bv[j] = _mm512_loadu_ps(b + 16 * j);
		#pragma GCC unroll 8
		for (size_t i = 0; i < MR; i++) {
			__m512 ai = _mm512_set1_ps(a[i * rsa]);
			#pragma GCC unroll 2
			for (size_t j = 0; j < NR / 16; j++)
				acc[i][j] = _mm512_fmadd_ps(ai, bv[j], acc[i][j]);
		}
		a += csa;
		b += ldb;
	}
	if (mr == MR && nr == NR) {
		#pragma GCC unroll 8
		for (size_t i = 0; i < MR; i++)
			#pragma GCC unroll 2
			for (size_t j = 0; j < NR / 16; j++) {
				__m512 x = acc[i][j];
				if (add)
					x = _mm512_add_ps(_mm512_loadu_ps(c + i * ldc + 16 * j), x);
				_mm512_storeu_ps(c + i * ldc + 16 * j, x);
			}
	} else {
		/* An edge tile: the same sums, stored through a buffer. */
		float t[MR][NR];
		#pragma GCC unroll 8
		for (size_t i = 0; i < MR; i++)
			#pragma GCC unroll 2
			for (size_t j = 0; j < NR / 16; j++)
				_mm512_storeu_ps(t[i] + 16 * j, acc[i][j]);
		gemm_store_tile(c, ldc, t[0], NR, mr, nr, add);
	}
}

GEMM_KERNEL_ENTRY(gemm_kernel_avx512, gemm_avx512_body, "avx512f")
#endif
#undef MR
#undef NR

enum nn_kernel
nn_kernel_select(enum nn_kernel k)
{
	gemm_mr = 6;
	gemm_nr = 16;
	gemm_bf16_ok = 0;
#ifdef GEMM_X86
	if (k != NN_KERNEL_PORTABLE) {
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
			if (k != NN_KERNEL_AVX2 && __builtin_cpu_supports("avx512f")) {
				gemm_kernel = gemm_kernel_avx512;
				gemm_mr = 8;
				gemm_nr = 32;
				gemm_bf16_ok = __builtin_cpu_supports("avx512bf16") &&
				    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl");
				return gemm_kind = NN_KERNEL_AVX512;
			}
			gemm_kernel = gemm_kernel_avx2;
			return gemm_kind = NN_KERNEL_AVX2;
		}
	}
#endif
	gemm_kernel = gemm_kernel_portable;
	return gemm_kind = NN_KERNEL_PORTABLE;
}

enum nn_kernel
nn_kernel_current(void)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(NN_KERNEL_AUTO);
	return gemm_kind;
}

const char *
nn_kernel_name(void)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(NN_KERNEL_AUTO);
	return gemm_kind == NN_KERNEL_AVX512 ? "avx512f 8x32"
	     : gemm_kind == NN_KERNEL_AVX2   ? "avx2-fma 6x16" : "portable 6x16";
}

/* ------------------------------------------------------------------------
 * Packing and the blocked loops
 * ------------------------------------------------------------------------ */

/* dst[0..n) = src[0..n); for the tile widths, a copy of constant size that
 * the compiler inlines (a call to memcpy per row of a panel cost 2-3% of a
 * training step). */
static inline void
gemm_copy_row(float *dst, const float *src, size_t n)
{
	if (n == 32)
		memcpy(dst, src, 32 * sizeof *dst);
	else if (n == 16)
		memcpy(dst, src, 16 * sizeof *dst);
	else
		memcpy(dst, src, n * sizeof *dst);
}

/* Rows [i0, i0+mc) x k [p0, p0+kc) of op(A) in gemm_mr-row panels, zero padded. */
static void
gemm_pack_a(float *dst, int transA, const float *A, size_t lda, size_t i0, size_t mc,
    size_t p0, size_t kc)
{
	for (size_t ir = 0; ir < mc; ir += gemm_mr, dst += kc * gemm_mr) {
		size_t mr = mc - ir < gemm_mr ? mc - ir : gemm_mr, k = 0;
#ifdef GEMM_X86
		/* Full panels with SSE (part of every x86-64): six or eight floats per k. */
		if (mr == gemm_mr && transA) {
			for (; k < kc; k++) {
				const float *src = A + (p0 + k) * lda + i0 + ir;
				_mm_storeu_ps(dst + k * gemm_mr, _mm_loadu_ps(src));
				if (gemm_mr == 8)
					_mm_storeu_ps(dst + k * gemm_mr + 4, _mm_loadu_ps(src + 4));
				else
					_mm_storel_pi((__m64 *)(void *)(dst + k * gemm_mr + 4),
					    _mm_loadl_pi(_mm_setzero_ps(), (const __m64 *)(const void *)(src + 4)));
			}
		} else if (mr == gemm_mr) {
			/* Six or eight rows, four k at a time: two 4 x 4 transposes. */
			const float *r0 = A + (i0 + ir) * lda + p0;
			for (; k + 4 <= kc; k += 4) {
				__m128 a0 = _mm_loadu_ps(r0 + k), a1 = _mm_loadu_ps(r0 + lda + k);
				__m128 a2 = _mm_loadu_ps(r0 + 2 * lda + k), a3 = _mm_loadu_ps(r0 + 3 * lda + k);
				__m128 a4 = _mm_loadu_ps(r0 + 4 * lda + k), a5 = _mm_loadu_ps(r0 + 5 * lda + k);
				__m128 a6 = _mm_setzero_ps(), a7 = _mm_setzero_ps();
				float *d = dst + k * gemm_mr;
				if (gemm_mr == 8) {
					a6 = _mm_loadu_ps(r0 + 6 * lda + k);
					a7 = _mm_loadu_ps(r0 + 7 * lda + k);
				}
				_MM_TRANSPOSE4_PS(a0, a1, a2, a3);
				_MM_TRANSPOSE4_PS(a4, a5, a6, a7);
				if (gemm_mr == 8) {
					_mm_storeu_ps(d, a0);      _mm_storeu_ps(d + 4, a4);
					_mm_storeu_ps(d + 8, a1);  _mm_storeu_ps(d + 12, a5);
					_mm_storeu_ps(d + 16, a2); _mm_storeu_ps(d + 20, a6);
					_mm_storeu_ps(d + 24, a3); _mm_storeu_ps(d + 28, a7);
					continue;
				}
				_mm_storeu_ps(d, a0);
				_mm_storel_pi((__m64 *)(void *)(d + 4), a4);
				_mm_storeu_ps(d + 6, a1);
				_mm_storel_pi((__m64 *)(void *)(d + 10), a5);
				_mm_storeu_ps(d + 12, a2);
				_mm_storel_pi((__m64 *)(void *)(d + 16), a6);
				_mm_storeu_ps(d + 18, a3);
				_mm_storel_pi((__m64 *)(void *)(d + 22), a7);
			}
		}
#endif
		for (; k < kc; k++) {
			size_t i;
			for (i = 0; i < mr; i++)
				dst[k * gemm_mr + i] = transA ? A[(p0 + k) * lda + i0 + ir + i]
				                         : A[(i0 + ir + i) * lda + p0 + k];
			for (; i < gemm_mr; i++)
				dst[k * gemm_mr + i] = 0;
		}
	}
}

#ifdef GEMM_X86
/*
 * A full panel of B stored N x K (gemm_nr rows j0.., each contiguous in k):
 * eight k at a time, one 8 x 8 transpose in registers per eight rows,
 * instead of a gather of one float per row and k. Returns the k done (a
 * multiple of 8).
 */
__attribute__((target("avx2"))) static size_t
gemm_pack_bt_avx2(float *dst, const float *B, size_t ldb, size_t j0, size_t p0, size_t kc)
{
	size_t k = 0;

	for (; k + 8 <= kc; k += 8)
		for (size_t half = 0; half < gemm_nr / 8; half++) {
			const float *r = B + (j0 + 8 * half) * ldb + p0 + k;
			__m256 r0 = _mm256_loadu_ps(r), r1 = _mm256_loadu_ps(r + ldb);
			__m256 r2 = _mm256_loadu_ps(r + 2 * ldb), r3 = _mm256_loadu_ps(r + 3 * ldb);
			__m256 r4 = _mm256_loadu_ps(r + 4 * ldb), r5 = _mm256_loadu_ps(r + 5 * ldb);
			__m256 r6 = _mm256_loadu_ps(r + 6 * ldb), r7 = _mm256_loadu_ps(r + 7 * ldb);
			/* Pairs, then quadruples, then the 128-bit halves. */
			__m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
			__m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
			__m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
			__m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
			__m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
			__m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
			__m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
			__m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
			float *d = dst + k * gemm_nr + 8 * half;
			_mm256_storeu_ps(d + 0 * gemm_nr, _mm256_permute2f128_ps(u0, u4, 0x20));
			_mm256_storeu_ps(d + 1 * gemm_nr, _mm256_permute2f128_ps(u1, u5, 0x20));
			_mm256_storeu_ps(d + 2 * gemm_nr, _mm256_permute2f128_ps(u2, u6, 0x20));
			_mm256_storeu_ps(d + 3 * gemm_nr, _mm256_permute2f128_ps(u3, u7, 0x20));
			_mm256_storeu_ps(d + 4 * gemm_nr, _mm256_permute2f128_ps(u0, u4, 0x31));
			_mm256_storeu_ps(d + 5 * gemm_nr, _mm256_permute2f128_ps(u1, u5, 0x31));
			_mm256_storeu_ps(d + 6 * gemm_nr, _mm256_permute2f128_ps(u2, u6, 0x31));
			_mm256_storeu_ps(d + 7 * gemm_nr, _mm256_permute2f128_ps(u3, u7, 0x31));
		}
	return k;
}
#endif

/* The gemm_nr-column panel j0 .. j0+nr of op(B), k in [p0, p0+kc), zero padded to gemm_nr. */
static void
gemm_pack_b_panel(float *dst, int transB, const float *B, size_t ldb, size_t j0, size_t nr,
    size_t p0, size_t kc)
{
	size_t k0 = 0;

	if (!transB && nr == gemm_nr) {
		for (size_t k = 0; k < kc; k++)
			gemm_copy_row(dst + k * gemm_nr, B + (p0 + k) * ldb + j0, gemm_nr);
		return;
	}
	if (!transB) {
		for (size_t k = 0; k < kc; k++) {
			const float *src = B + (p0 + k) * ldb + j0;
			size_t       j;
			for (j = 0; j < nr; j++)
				dst[k * gemm_nr + j] = src[j];
			for (; j < gemm_nr; j++)
				dst[k * gemm_nr + j] = 0;
		}
		return;
	}
	/* B is stored N x K: a transpose, gemm_nr rows read side by side. */
#ifdef GEMM_X86
	if (nr == gemm_nr && gemm_kind >= NN_KERNEL_AVX2)
		k0 = gemm_pack_bt_avx2(dst, B, ldb, j0, p0, kc);
#endif
	for (size_t k = k0; k < kc; k++) {
		size_t j;
		for (j = 0; j < nr; j++)
			dst[k * gemm_nr + j] = B[(j0 + j) * ldb + p0 + k];
		for (; j < gemm_nr; j++)
			dst[k * gemm_nr + j] = 0;
	}
}

/* Columns [j0, j0+nc) x k [p0, p0+kc) of op(B): panel after panel, each kc x gemm_nr. */
static void
gemm_pack_b(float *dst, int transB, const float *B, size_t ldb, size_t j0, size_t nc,
    size_t p0, size_t kc)
{
	for (size_t jr = 0; jr < nc; jr += gemm_nr)
		gemm_pack_b_panel(dst + jr * kc, transB, B, ldb, j0 + jr,
		    nc - jr < gemm_nr ? nc - jr : gemm_nr, p0, kc);
}

static int
gemm_ws_ready(int nthreads)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
	for (int t = 0; t < nthreads; t++) {
		if (gemm_ws.apack[t] == NULL &&
		    (gemm_ws.apack[t] = ad_malloc((size_t)MC * KC * sizeof(float))) == NULL)
			return AD_ENOMEM;
		if (gemm_ws.bpack[t] == NULL &&
		    (gemm_ws.bpack[t] = ad_malloc((size_t)KC * NC * sizeof(float))) == NULL)
			return AD_ENOMEM;
	}
	return 0;
}

/* Whether gemm_block packs A (see below) rather than reading it in place. */
static int
gemm_packs_a(int transA, size_t lda)
{
	return transA || lda % 256 == 0;
}

/*
 * One tile: the kernel, after writing the bias into the tile's rows when
 * bias is not NULL (the first K block of a product with a bias), so the
 * kernel adds the sum to it while the tile is in L1, instead of a pass
 * over all of C before the product. bias + sum: the same bits as copying
 * the bias into C first.
 */
static inline void
gemm_tile(size_t kc, const float *a, size_t rsa, size_t csa, const float *b, float *c,
    size_t ldc, size_t mr, size_t nr, int add, const float *bias)
{
	if (bias != NULL)
		for (size_t i = 0; i < mr; i++)
			gemm_copy_row(c + i * ldc, bias, nr);
	gemm_kernel(kc, a, rsa, csa, b, gemm_nr, c, ldc, mr, nr, add || bias != NULL);
}

/*
 * The product on rows [m0, m1) x columns [n0, n1) of C with the buffers of
 * thread tid. B is always packed: read in place, rows of a panel a
 * power-of-two stride apart fall in a few L1 sets and thrash. A stored
 * M x K is read in place, full gemm_mr-row panels (six or eight rows,
 * each contiguous in k), unless its rows are such a stride apart (a
 * multiple of 1 KB); A stored K x M is packed (read in place, each k is a
 * new cache line); a last partial panel is packed.
 */
static void
gemm_block(int tid, int transA, int transB, size_t m0, size_t m1, size_t n0, size_t n1,
    size_t K, const float *A, size_t lda, const float *B, size_t ldb, const float *bias,
    float *C, size_t ldc, int accumulate)
{
	float *apack = gemm_ws.apack[tid], *bpack = gemm_ws.bpack[tid];

	for (size_t jc = n0; jc < n1; jc += NC) {
		size_t nc = n1 - jc < NC ? n1 - jc : NC;
		for (size_t pc = 0; pc < K; pc += KC) {
			size_t kc = K - pc < KC ? K - pc : KC;
			int    add = accumulate || pc > 0;
			gemm_pack_b(bpack, transB, B, ldb, jc, nc, pc, kc);
			for (size_t ic = m0; ic < m1; ic += MC) {
				size_t mc = m1 - ic < MC ? m1 - ic : MC, full = mc / gemm_mr * gemm_mr;
				int    pack = gemm_packs_a(transA, lda);
				if (pack)
					gemm_pack_a(apack, transA, A, lda, ic, mc, pc, kc);
				else if (full < mc)
					gemm_pack_a(apack + full * kc, transA, A, lda, ic + full, mc - full,
					    pc, kc);
				for (size_t jr = 0; jr < nc; jr += gemm_nr) {
					size_t       nr = nc - jr < gemm_nr ? nc - jr : gemm_nr;
					const float *bp = bpack + jr * kc;
					const float *bj = bias != NULL && pc == 0 ? bias + jc + jr : NULL;
					float       *cp = C + ic * ldc + jc + jr;
					for (size_t ir = 0; ir < full; ir += gemm_mr) {
						if (pack)
							gemm_tile(kc, apack + ir * kc, 1, gemm_mr, bp, cp + ir * ldc,
							    ldc, gemm_mr, nr, add, bj);
						else
							gemm_tile(kc, A + (ic + ir) * lda + pc, lda, 1, bp,
							    cp + ir * ldc, ldc, gemm_mr, nr, add, bj);
					}
					if (full < mc)
						gemm_tile(kc, apack + full * kc, 1, gemm_mr, bp, cp + full * ldc,
						    ldc, mc - full, nr, add, bj);
				}
			}
		}
	}
}

/* ------------------------------------------------------------------------
 * bf16 products: AVX512-BF16
 * ------------------------------------------------------------------------ */

/*
 * The products of mixed-precision training (Micikevicius et al. 2018,
 * "Mixed Precision Training"; bf16 as in Kalamkar et al. 2019, "A Study of
 * BFLOAT16 for Deep Learning Training"): op(A) and op(B) are rounded to
 * bf16 (8 bits of significand, fp32's exponent) while they are packed, and
 * the products are summed in fp32. VDPBF16PS takes, in each 32-bit lane, a
 * pair of bf16 from each operand and adds both products to an fp32
 * accumulator, so both packs hold K in pairs: word p of a row or column is
 * (element 2p in the low half, element 2p+1 in the high half), an odd K
 * padded with a zero. The conversion is VCVTNE2PS2BF16: round to nearest
 * even, subnormal inputs taken as zero (Intel SDM, vol. 2); VDPBF16PS
 * likewise takes subnormals as zero and flushes its results to zero.
 *
 * The blocking is gemm_block's with a K block of KCB: the bytes of a bf16
 * block of KCB are those of an fp32 block of KC, so the same buffers hold
 * it, and there are half as many passes over C. A is always packed (the
 * rounding happens there): rows of A stored M x K in place in k, pairs
 * being adjacent ([row][pair], rsa = pairs, csa = 1); A stored K x M as
 * [panel][pair][8 rows] (rsa = 1, csa = 8). B as [panel][pair][32 columns].
 * The 8 x 32 tile, sixteen accumulators: each element of C is summed in
 * pair order within a K block and block after block, whatever the tile's
 * place or the thread count.
 */
#define KCB    768          /* fixed: it decides the order of the sums */
#define BF_MR  8
#define BF_NR  32

#ifdef GEMM_X86
#define BF16_ISA "avx512bf16,avx512f,avx512bw,avx512vl"

/* c (the mr x nr part of an 8 x 32 tile) = or += a b over kp pairs: a(i,p)
 * = a[i*rsa + p*csa], b(p, j) = b[p*32 + j] (words of two bf16). */
__attribute__((target(BF16_ISA), always_inline)) static inline void
gemm_bf16_body(size_t kp, const uint32_t *a, size_t rsa, size_t csa, const uint32_t *b,
    float *c, size_t ldc, size_t mr, size_t nr, int add)
{
	__m512 acc[BF_MR][2];

	#pragma GCC unroll 8
	for (size_t i = 0; i < BF_MR; i++)
		acc[i][0] = acc[i][1] = _mm512_setzero_ps();
	if (add)
		gemm_prefetch_tile(c, ldc, mr, BF_NR);
	#pragma GCC unroll 2
	for (size_t p = 0; p < kp; p++) {
		__m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
		#pragma GCC unroll 8
		for (size_t i = 0; i < BF_MR; i++) {
			__m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * rsa]);
			acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
			acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
		}
		a += csa;
		b += BF_NR;
	}
	if (mr == BF_MR && nr == BF_NR) {
		#pragma GCC unroll 8
		for (size_t i = 0; i < BF_MR; i++)
			#pragma GCC unroll 2
			for (size_t j = 0; j < 2; j++) {
				__m512 x = acc[i][j];
				if (add)
					x = _mm512_add_ps(_mm512_loadu_ps(c + i * ldc + 16 * j), x);
				_mm512_storeu_ps(c + i * ldc + 16 * j, x);
			}
	} else {
		/* An edge tile: the same sums, stored through a buffer. */
		float t[BF_MR][BF_NR];
		#pragma GCC unroll 8
		for (size_t i = 0; i < BF_MR; i++) {
			_mm512_storeu_ps(t[i], acc[i][0]);
			_mm512_storeu_ps(t[i] + 16, acc[i][1]);
		}
		gemm_store_tile(c, ldc, t[0], BF_NR, mr, nr, add);
	}
}

/* The two layouts of a packed A, with constant strides for the compiler. */
__attribute__((target(BF16_ISA))) static void
gemm_bf16_kernel(size_t kp, const uint32_t *a, size_t rsa, size_t csa, const uint32_t *b,
    float *c, size_t ldc, size_t mr, size_t nr, int add)
{
	if (csa == 1)
		gemm_bf16_body(kp, a, rsa, 1, b, c, ldc, mr, nr, add);
	else
		gemm_bf16_body(kp, a, 1, BF_MR, b, c, ldc, mr, nr, add);
}

/* The mask of the first n (<= 16) lanes. */
static inline __mmask16
gemm_lanes(size_t n)
{
	return (__mmask16)(n >= 16 ? 0xFFFF : (1u << n) - 1);
}

/* 32 bf16 of x[0..n) (n <= 32, zeros past n), in order: 16 words of pairs. */
__attribute__((target(BF16_ISA))) static inline __m512i
gemm_bf16_row32(const float *x, size_t n)
{
	__m512 lo = _mm512_maskz_loadu_ps(gemm_lanes(n), x);
	__m512 hi = _mm512_maskz_loadu_ps(gemm_lanes(n > 16 ? n - 16 : 0), x + 16);

	return (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
}

/* Words j = (bf16 x0[j], bf16 x1[j]) for j < n <= 16 (zeros past n): two
 * rows interleaved, as the pairs of K lie in B and in a transposed A. */
__attribute__((target(BF16_ISA))) static inline __m512i
gemm_bf16_pairs16(const float *x0, const float *x1, size_t n)
{
	const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
	    25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
	__m512 lo = _mm512_maskz_loadu_ps(gemm_lanes(n), x0);
	__m512 hi = x1 != NULL ? _mm512_maskz_loadu_ps(gemm_lanes(n), x1) : _mm512_setzero_ps();

	return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/* dst[0 .. (n+1)/2) = the pairs of the bf16 of x[0..n) (the last one padded). */
__attribute__((target(BF16_ISA))) static void
gemm_bf16_pack_row(uint32_t *dst, const float *x, size_t n)
{
	size_t k = 0;

	for (; k + 32 <= n; k += 32)
		_mm512_storeu_si512(dst + k / 2, gemm_bf16_row32(x + k, 32));
	if (k < n)
		_mm512_mask_storeu_epi32(dst + k / 2, gemm_lanes((n - k + 1) / 2),
		    gemm_bf16_row32(x + k, n - k));
}

/* Rows [i0, i0+mc) x k [p0, p0+kc) of op(A), in bf16 pairs (layouts above),
 * padded with zero rows to a multiple of 8. */
__attribute__((target(BF16_ISA))) static void
gemm_bf16_pack_a(uint32_t *dst, int transA, const float *A, size_t lda, size_t i0, size_t mc,
    size_t p0, size_t kc)
{
	size_t kp = (kc + 1) / 2, mcp = (mc + BF_MR - 1) / BF_MR * BF_MR;

	if (!transA) {
		for (size_t i = 0; i < mc; i++)
			gemm_bf16_pack_row(dst + i * kp, A + (i0 + i) * lda + p0, kc);
		memset(dst + mc * kp, 0, (mcp - mc) * kp * sizeof *dst);
		return;
	}
	/* Two panels at a time: sixteen floats, a whole cache line, of each row
	 * of A (a pack of one panel, half lines, took twice the time). Panel
	 * ir starts at dst + ir * kp. */
	for (size_t ir = 0; ir < mc; ir += 2 * BF_MR) {
		size_t    w = mc - ir < 2 * BF_MR ? mc - ir : 2 * BF_MR;
		uint32_t *d0 = dst + ir * kp, *d1 = d0 + kp * BF_MR;
		for (size_t p = 0; p < kp; p++) {
			const float *x0 = A + (p0 + 2 * p) * lda + i0 + ir;
			__m512i      v = gemm_bf16_pairs16(x0, 2 * p + 1 < kc ? x0 + lda : NULL, w);
			_mm256_storeu_si256((__m256i *)(void *)(d0 + p * BF_MR),
			    _mm512_castsi512_si256(v));
			if (w > BF_MR)
				_mm256_storeu_si256((__m256i *)(void *)(d1 + p * BF_MR),
				    _mm512_extracti64x4_epi64(v, 1));
		}
	}
}

/*
 * Sixteen columns of op(B) stored N x K (rows of B, x + j*ldb, k from 0 to
 * n <= 32) as pairs: dst[q*BF_NR + j] = pair q of row j, q < (n+1)/2. Each
 * row converted is sixteen pairs in one register; a 16 x 16 transpose of
 * 32-bit words in registers turns them into sixteen rows of the panel
 * (copying them one by one took a fifth of the forward pass's packing).
 */
__attribute__((target(BF16_ISA))) static void
gemm_bf16_pack_bt16(uint32_t *dst, const float *x, size_t ldb, size_t n)
{
	__m512i r[16], t[16], u[16];

	for (size_t j = 0; j < 16; j++)
		r[j] = gemm_bf16_row32(x + j * ldb, n);
	/* Pairs of rows, then quadruples: u[4g + c] holds, in its 128-bit lane
	 * L, rows 4g .. 4g+3 of column 4L + c. */
	for (size_t i = 0; i < 8; i++) {
		t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
	}
	for (size_t g = 0; g < 4; g++) {
		u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
		u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
		u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
		u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
	}
	/* Then the lanes: column 4L + c is lane L of u[c], u[4 + c], u[8 + c],
	 * u[12 + c]. */
	for (size_t c = 0; c < 4; c++) {
		__m512i v0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x88);
		__m512i v1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xDD);
		__m512i w0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x88);
		__m512i w1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xDD);
		__m512i col[4] = {
			_mm512_shuffle_i32x4(v0, w0, 0x88), _mm512_shuffle_i32x4(v1, w1, 0x88),
			_mm512_shuffle_i32x4(v0, w0, 0xDD), _mm512_shuffle_i32x4(v1, w1, 0xDD),
		};
		for (size_t L = 0; L < 4; L++)
			if (4 * L + c < (n + 1) / 2)
				_mm512_storeu_si512(dst + (4 * L + c) * BF_NR, col[L]);
	}
}

/* Columns [j0, j0+nc) x k [p0, p0+kc) of op(B) in bf16 panels of 32
 * columns, [panel][pair][32], zero padded. tmp: (KCB / 2) words. */
__attribute__((target(BF16_ISA))) static void
gemm_bf16_pack_b(uint32_t *dst, int transB, const float *B, size_t ldb, size_t j0, size_t nc,
    size_t p0, size_t kc)
{
	size_t   kp = (kc + 1) / 2;
	uint32_t tmp[KCB / 2];

	for (size_t jr = 0; jr < nc; jr += BF_NR, dst += kp * BF_NR) {
		size_t nr = nc - jr < BF_NR ? nc - jr : BF_NR, j;
		if (!transB) {
			for (size_t p = 0; p < kp; p++)
				for (size_t h = 0; h < 2; h++) {
					const float *x0 = B + (p0 + 2 * p) * ldb + j0 + jr + 16 * h;
					size_t       n = nr > 16 * h ? nr - 16 * h : 0;
					_mm512_storeu_si512(dst + p * BF_NR + 16 * h,
					    gemm_bf16_pairs16(x0, 2 * p + 1 < kc ? x0 + ldb : NULL, n));
				}
			continue;
		}
		/* B stored N x K: each column's pairs are adjacent; a transpose. */
		if (nr == BF_NR) {
			for (size_t k = 0; k < kc; k += 32)
				for (size_t h = 0; h < 2; h++)
					gemm_bf16_pack_bt16(dst + k / 2 * BF_NR + 16 * h,
					    B + (j0 + jr + 16 * h) * ldb + p0 + k, ldb,
					    kc - k < 32 ? kc - k : 32);
			continue;
		}
		for (j = 0; j < nr; j++) {
			gemm_bf16_pack_row(tmp, B + (j0 + jr + j) * ldb + p0, kc);
			for (size_t p = 0; p < kp; p++)
				dst[p * BF_NR + j] = tmp[p];
		}
		for (; j < BF_NR; j++)
			for (size_t p = 0; p < kp; p++)
				dst[p * BF_NR + j] = 0;
	}
}

/* gemm_block in bf16: the same loops, every A block packed. */
static void
gemm_block_bf16(int tid, int transA, int transB, size_t m0, size_t m1, size_t n0, size_t n1,
    size_t K, const float *A, size_t lda, const float *B, size_t ldb, const float *bias,
    float *C, size_t ldc, int accumulate)
{
	uint32_t *apack = (uint32_t *)(void *)gemm_ws.apack[tid];
	uint32_t *bpack = (uint32_t *)(void *)gemm_ws.bpack[tid];

	for (size_t jc = n0; jc < n1; jc += NC) {
		size_t nc = n1 - jc < NC ? n1 - jc : NC;
		for (size_t pc = 0; pc < K; pc += KCB) {
			size_t kc = K - pc < KCB ? K - pc : KCB, kp = (kc + 1) / 2;
			int    add = accumulate || pc > 0;
			gemm_bf16_pack_b(bpack, transB, B, ldb, jc, nc, pc, kc);
			for (size_t ic = m0; ic < m1; ic += MC) {
				size_t mc = m1 - ic < MC ? m1 - ic : MC;
				int    a_rows = !transA;   /* [row][pair] rather than [panel][pair][8] */
				gemm_bf16_pack_a(apack, transA, A, lda, ic, mc, pc, kc);
				for (size_t jr = 0; jr < nc; jr += BF_NR) {
					size_t          nr = nc - jr < BF_NR ? nc - jr : BF_NR;
					const uint32_t *bp = bpack + jr * kp;
					const float    *bj = bias != NULL && pc == 0 ? bias + jc + jr : NULL;
					for (size_t ir = 0; ir < mc; ir += BF_MR) {
						size_t mr = mc - ir < BF_MR ? mc - ir : BF_MR;
						float *cp = C + (ic + ir) * ldc + jc + jr;
						if (bj != NULL)
							for (size_t i = 0; i < mr; i++)
								gemm_copy_row(cp + i * ldc, bj, nr);
						gemm_bf16_kernel(kp, apack + ir * kp, a_rows ? kp : 1,
						    a_rows ? 1 : BF_MR, bp, cp, ldc, mr, nr, add || bj != NULL);
					}
				}
			}
		}
	}
}
#else
#define gemm_block_bf16 gemm_block   /* never called: gemm_bf16_ok is 0 */
#endif

/* Whether thread tid has its buffers (made before the parallel region). */
static int
gemm_serial_ready(int tid)
{
	return tid < GEMM_MAX_THREADS && gemm_ws.apack[tid] != NULL && gemm_ws.bpack[tid] != NULL;
}

/* C = rows of bias (or zeros when bias is NULL): a product over K = 0. */
static void
gemm_init(float *C, size_t ldc, size_t M, size_t N, const float *bias)
{
	for (size_t i = 0; i < M; i++)
		if (bias != NULL)
			memcpy(C + i * ldc, bias, N * sizeof *C);
		else
			memset(C + i * ldc, 0, N * sizeof *C);
}

/* The product on the calling thread; bias as in nn_sgemm_bias (then
 * accumulate is 0). */
static void
gemm_serial(int transA, int transB, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *B, size_t ldb, const float *bias, float *C, size_t ldc,
    int accumulate)
{
	int tid = 0;

#ifdef _OPENMP
	tid = omp_get_thread_num();
#endif
	if (K == 0 && !accumulate)
		gemm_init(C, ldc, M, N, bias);
	if (M == 0 || N == 0 || K == 0)
		return;
	if (gemm_kernel == NULL || !gemm_serial_ready(tid)) {
		if (!accumulate)
			gemm_init(C, ldc, M, N, bias);
		nn_sgemm_ref_float(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
		return;
	}
	gemm_block(tid, transA, transB, 0, M, 0, N, K, A, lda, B, ldb, bias, C, ldc, accumulate);
}

void
nn_sgemm_serial(int transA, int transB, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
	gemm_serial(transA, transB, M, N, K, A, lda, B, ldb, NULL, C, ldc, accumulate);
}

int
nn_sgemm_prepare(void)
{
	int n = 1;

#ifdef _OPENMP
	n = omp_get_max_threads();
#endif
	return gemm_ws_ready(n < GEMM_MAX_THREADS ? n : GEMM_MAX_THREADS);
}

/* nn_sgemm and nn_sgemm_bias: on every thread unless the product is small
 * (a product over K = 0 is one). bf16: with gemm_block_bf16 (the caller
 * has checked gemm_bf16_ok, and that M, N and K are not 0). */
static void
gemm_threads(int transA, int transB, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *B, size_t ldb, const float *bias, float *C, size_t ldc,
    int accumulate, int bf16)
{
	int nthreads = 1;

#ifdef _OPENMP
	nthreads = omp_get_max_threads();
	if (nthreads > GEMM_MAX_THREADS)
		nthreads = GEMM_MAX_THREADS;
	if (omp_in_parallel())
		nthreads = 1;
#endif
	if (nn_sgemm_prepare() != 0) {
		if (!accumulate)
			gemm_init(C, ldc, M, N, bias);
		nn_sgemm_ref_float(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
		return;
	}
	/* Small products (under ~4 MFLOP) are not worth waking the threads for. */
	if (nthreads == 1 || (double)M * N * K < 2e6) {
#ifdef GEMM_X86
		int tid = 0;
#ifdef _OPENMP
		tid = omp_get_thread_num();
#endif
		if (bf16 && gemm_serial_ready(tid)) {
			gemm_block_bf16(tid, transA, transB, 0, M, 0, N, K, A, lda, B, ldb, bias, C,
			    ldc, accumulate);
			return;
		}
#endif
		gemm_serial(transA, transB, M, N, K, A, lda, B, ldb, bias, C, ldc, accumulate);
		return;
	}

	/*
	 * Each thread computes one rectangle of C on its own, with its own
	 * packed copies: no barrier inside the product. The longer side is cut
	 * on tile boundaries, except that a B stored N x K (a transposing pack)
	 * with an A read in place is cut by columns unless M is four times
	 * longer: cut by rows, each thread would transpose all of B. (Sharing
	 * one packed B between the threads, BLIS's way, with rows handed out
	 * as threads come free, measured 4-10% slower here: half of every
	 * shared panel sits in the other core's L2.) Race-free: the rectangles
	 * are disjoint. The bf16 product packs A always, as when A is packed.
	 */
	#pragma omp parallel num_threads(nthreads)
	{
		int    tid = 0, nt = 1;
		size_t m0 = 0, m1 = M, n0 = 0, n1 = N;
#ifdef _OPENMP
		tid = omp_get_thread_num();
		nt = omp_get_num_threads();
#endif
		size_t mtiles = M / gemm_mr, ntiles = N / gemm_nr;
		if (bf16 || gemm_packs_a(transA, lda) || !transB ? mtiles >= ntiles
		                                                 : mtiles >= 4 * ntiles) {
			size_t tiles = (M + gemm_mr - 1) / gemm_mr;
			m0 = tiles * (size_t)tid / (size_t)nt * gemm_mr;
			m1 = tiles * (size_t)(tid + 1) / (size_t)nt * gemm_mr;
			m1 = m1 < M ? m1 : M;
		} else {
			size_t tiles = (N + gemm_nr - 1) / gemm_nr;
			n0 = tiles * (size_t)tid / (size_t)nt * gemm_nr;
			n1 = tiles * (size_t)(tid + 1) / (size_t)nt * gemm_nr;
			n1 = n1 < N ? n1 : N;
		}
		if (m0 < m1 && n0 < n1)
			(bf16 ? gemm_block_bf16 : gemm_block)(tid, transA, transB, m0, m1, n0, n1, K,
			    A, lda, B, ldb, bias, C, ldc, accumulate);
	}
}

void
nn_sgemm(int transA, int transB, size_t M, size_t N, size_t K, const float *A, size_t lda,
    const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
	gemm_threads(transA, transB, M, N, K, A, lda, B, ldb, NULL, C, ldc, accumulate, 0);
}

void
nn_sgemm_bias(int transA, int transB, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *B, size_t ldb, const float *bias, float *C, size_t ldc)
{
	gemm_threads(transA, transB, M, N, K, A, lda, B, ldb, bias, C, ldc, 0, 0);
}

int
nn_bf16_available(void)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
	return gemm_bf16_ok;
}

void
nn_gemm(enum nn_precision prec, int transA, int transB, size_t M, size_t N, size_t K,
    const float *A, size_t lda, const float *B, size_t ldb, const float *bias, float *C,
    size_t ldc, int accumulate)
{
	int bf16 = prec == NN_PREC_BF16 && nn_bf16_available() && M > 0 && N > 0 && K > 0;

	assert(bias == NULL || !accumulate);
	gemm_threads(transA, transB, M, N, K, A, lda, B, ldb, bias, C, ldc, accumulate, bf16);
}

const char *
nn_precision_name(enum nn_precision prec)
{
	return prec == NN_PREC_BF16 ? "bf16" : "fp32";
}

int
nn_precision_parse(const char *s, enum nn_precision *prec)
{
	if (strcmp(s, "fp32") == 0)
		*prec = NN_PREC_FP32;
	else if (strcmp(s, "bf16") == 0)
		*prec = NN_PREC_BF16;
	else
		return -1;
	return 0;
}

/* ------------------------------------------------------------------------
 * B packed once for many products; products over a triangle
 * ------------------------------------------------------------------------ */

int
nn_sgemm_reserve(size_t n)
{
	int nthreads = 1, rc;

#ifdef _OPENMP
	nthreads = omp_get_max_threads();
#endif
	if (nthreads > GEMM_MAX_THREADS)
		nthreads = GEMM_MAX_THREADS;
	if ((rc = nn_sgemm_prepare()) != 0)
		return rc;
	if (n > gemm_ws.scap) {
		for (int t = 0; t < gemm_ws.sthreads; t++) {
			ad_free(gemm_ws.scratch[t]);
			gemm_ws.scratch[t] = NULL;
		}
		gemm_ws.sthreads = 0;
		gemm_ws.scap = n;
	}
	for (int t = gemm_ws.sthreads; t < nthreads; t++) {
		if ((gemm_ws.scratch[t] = ad_malloc(gemm_ws.scap * sizeof(float))) == NULL) {
			if (gemm_ws.sthreads == 0)
				gemm_ws.scap = 0;   /* a smaller request may yet succeed */
			return AD_ENOMEM;
		}
		gemm_ws.sthreads = t + 1;
	}
	return 0;
}

float *
nn_sgemm_scratch(size_t n)
{
	int tid = 0;

#ifdef _OPENMP
	tid = omp_get_thread_num();
#endif
	return tid < gemm_ws.sthreads && n <= gemm_ws.scap ? gemm_ws.scratch[tid] : NULL;
}

size_t
nn_sgemm_packed_size(size_t K, size_t N)
{
	/* Panels of the widest tile: enough whichever kernel is in force. */
	return K * ((N + 31) / 32 * 32);
}

void
nn_sgemm_pack_b(float *dst, int transB, const float *B, size_t ldb, size_t K, size_t N)
{
	nn_kernel_current();
	gemm_pack_b(dst, transB, B, ldb, 0, N, 0, K);
}

void
nn_sgemm_tri(enum nn_tri tri, int transA, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *Bp, float *C, size_t ldc, int accumulate)
{
	size_t rsa = transA ? 1 : lda, csa = transA ? lda : 1;
	float  edge[8 * KC];   /* a last partial row panel, packed */

	nn_kernel_current();
	for (size_t i = 0; i < M; i += gemm_mr) {
		size_t mr = M - i < gemm_mr ? M - i : gemm_mr;
		size_t klo = tri == NN_TRI_KGE ? (i < K ? i : K) : 0;
		size_t khi = tri == NN_TRI_KLE && i + mr < K ? i + mr : K;
		size_t nhi = tri == NN_TRI_COLS && i + mr < N ? i + mr : N;
		int    add = accumulate;
		if (klo >= khi && !accumulate)
			gemm_init(C + i * ldc, ldc, mr, nhi, NULL);
		/* K blocks end on multiples of KC, wherever the tile's range starts:
		 * the sums do not depend on the tile's height. */
		for (size_t p = klo, pe; p < khi; p = pe, add = 1) {
			const float *a = A + i * rsa + p * csa;
			size_t       ra = rsa, ca = csa, kc;
			pe = (p / KC + 1) * KC < khi ? (p / KC + 1) * KC : khi;
			kc = pe - p;
			if (mr < gemm_mr) {
				gemm_pack_a(edge, transA, A, lda, i, mr, p, kc);
				a = edge;
				ra = 1;
				ca = gemm_mr;
			}
			for (size_t j = 0; j < nhi; j += gemm_nr)
				gemm_kernel(kc, a, ra, ca, Bp + j * K + p * gemm_nr, gemm_nr, C + i * ldc + j,
				    ldc, mr, nhi - j < gemm_nr ? nhi - j : gemm_nr, add);
		}
	}
}

/* A last resort when the buffers cannot be had: plain loops, float sums. */
void
nn_sgemm_ref_float(int transA, int transB, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *B, size_t ldb, float *C, size_t ldc)
{
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			float s = 0;
			for (size_t k = 0; k < K; k++)
				s += (transA ? A[k * lda + i] : A[i * lda + k]) *
				     (transB ? B[j * ldb + k] : B[k * ldb + j]);
			C[i * ldc + j] += s;
		}
}

void
nn_sgemm_ref(int transA, int transB, size_t M, size_t N, size_t K, const double *A,
    size_t lda, const double *B, size_t ldb, double *C, size_t ldc, int accumulate)
{
	for (size_t i = 0; i < M; i++)
		for (size_t j = 0; j < N; j++) {
			double s = accumulate ? C[i * ldc + j] : 0;
			for (size_t k = 0; k < K; k++)
				s += (transA ? A[k * lda + i] : A[i * lda + k]) *
				     (transB ? B[j * ldb + k] : B[k * ldb + j]);
			C[i * ldc + j] = s;
		}
}

/* ------------------------------------------------------------------------
 * Matrix-vector product (generation at batch 1)
 * ------------------------------------------------------------------------ */

static float
gemv_dot_portable(const float *w, const float *x, size_t C)
{
	float s[8] = { 0 }, t = 0;
	size_t c = 0;

	for (; c + 8 <= C; c += 8)
		for (int i = 0; i < 8; i++)
			s[i] += w[c + i] * x[c + i];
	for (; c < C; c++)
		t += w[c] * x[c];
	return LANES8(s, t);
}

#ifdef GEMM_X86
__attribute__((target("avx2,fma"))) static float
gemv_dot_avx2(const float *w, const float *x, size_t C)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
	__m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
	__m128 h;
	float  t = 0;
	size_t c = 0;

	for (; c + 32 <= C; c += 32) {
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a0);
		a1 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 8), _mm256_loadu_ps(x + c + 8), a1);
		a2 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 16), _mm256_loadu_ps(x + c + 16), a2);
		a3 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c + 24), _mm256_loadu_ps(x + c + 24), a3);
	}
	for (; c + 8 <= C; c += 8)
		a0 = _mm256_fmadd_ps(_mm256_loadu_ps(w + c), _mm256_loadu_ps(x + c), a0);
	for (; c < C; c++)
		t += w[c] * x[c];
	a0 = _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3));
	h = _mm_add_ps(_mm256_castps256_ps128(a0), _mm256_extractf128_ps(a0, 1));
	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_movehdup_ps(h));
	return _mm_cvtss_f32(h) + t;
}
#endif

void
nn_matvec_rows(float *out, const float *W, const float *x, const float *bias, size_t C,
    size_t o0, size_t o1)
{
	float (*dot)(const float *, const float *, size_t) = gemv_dot_portable;

	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_kind >= NN_KERNEL_AVX2)
		dot = gemv_dot_avx2;
#endif
	for (size_t o = o0; o < o1; o++)
		out[o] = dot(W + o * C, x, C) + (bias != NULL ? bias[o] : 0.0f);
}

void
nn_matvec(float *out, const float *W, const float *x, const float *bias, size_t C, size_t OC)
{
	size_t nb = (OC + 15) / 16;

	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
	/* Race-free: each block of 16 output rows is written by one
	 * iteration. Small products stay on one thread: waking the others
	 * costs more. */
	#pragma omp parallel for schedule(static) if (C * OC >= 65536)
	for (long b = 0; b < (long)nb; b++)
		nn_matvec_rows(out, W, x, bias, C, (size_t)b * 16,
		    (size_t)b * 16 + 16 < OC ? (size_t)b * 16 + 16 : OC);
}

/*
 * The batch-1 product from an input-major W (C, OC): out[o] = bias[o] +
 * sum_i x[i] W[i][o], as GPT-2's Conv1D stores its weights (a safetensors
 * checkpoint used in place). Each output is one accumulator that runs down
 * the rows in i order; a vector holds 8 or 16 neighbouring outputs, so
 * nothing is summed across lanes and an output's bits do not depend on
 * where a range [o0, o1) starts or ends (a thread's share) nor on the
 * vector width: with FMA every lane and the scalar tail compute
 * fma(x[i], W[i][o], acc), without it (the portable kernel) acc + x W.
 * A panel of 64 (AVX2) or 128 (AVX-512) outputs keeps its accumulators in
 * registers and reads each row's 256 or 512 contiguous bytes, the rows in
 * order: memory-bound at batch 1, so W is streamed once.
 */
static void
gemv_in_portable(float *out, const float *W, const float *x, size_t C, size_t OC, size_t o0,
    size_t o1)
{
	for (size_t o = o0; o < o1; o++) {
		float acc = 0;
		for (size_t i = 0; i < C; i++)
			acc += x[i] * W[i * OC + o];
		out[o] = acc;
	}
}

#ifdef GEMM_X86
/* Outputs [o, o1) with o1 - o < 64, in blocks of 8 and then one by one. */
__attribute__((target("avx2,fma"))) static void
gemv_in_tail_avx2(float *out, const float *W, const float *x, size_t C, size_t OC, size_t o,
    size_t o1)
{
	for (; o + 8 <= o1; o += 8) {
		__m256 a = _mm256_setzero_ps();
		for (size_t i = 0; i < C; i++)
			a = _mm256_fmadd_ps(_mm256_set1_ps(x[i]), _mm256_loadu_ps(W + i * OC + o), a);
		_mm256_storeu_ps(out + o, a);
	}
	for (; o < o1; o++) {
		float acc = 0;
		for (size_t i = 0; i < C; i++)
			acc = fmaf(x[i], W[i * OC + o], acc);
		out[o] = acc;
	}
}

__attribute__((target("avx2,fma"))) static void
gemv_in_avx2(float *out, const float *W, const float *x, size_t C, size_t OC, size_t o0,
    size_t o1)
{
	size_t o = o0;

	for (; o + 64 <= o1; o += 64) {
		__m256 a[8];
		for (int k = 0; k < 8; k++)
			a[k] = _mm256_setzero_ps();
		for (size_t i = 0; i < C; i++) {
			const float *w = W + i * OC + o;
			__m256       xi = _mm256_set1_ps(x[i]);
			for (int k = 0; k < 8; k++)
				a[k] = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w + 8 * k), a[k]);
		}
		for (int k = 0; k < 8; k++)
			_mm256_storeu_ps(out + o + 8 * k, a[k]);
	}
	gemv_in_tail_avx2(out, W, x, C, OC, o, o1);
}

__attribute__((target("avx512f,avx2,fma"))) static void
gemv_in_avx512(float *out, const float *W, const float *x, size_t C, size_t OC, size_t o0,
    size_t o1)
{
	size_t o = o0;

	for (; o + 128 <= o1; o += 128) {
		__m512 a[8];
		for (int k = 0; k < 8; k++)
			a[k] = _mm512_setzero_ps();
		for (size_t i = 0; i < C; i++) {
			const float *w = W + i * OC + o;
			__m512       xi = _mm512_set1_ps(x[i]);
			for (int k = 0; k < 8; k++)
				a[k] = _mm512_fmadd_ps(xi, _mm512_loadu_ps(w + 16 * k), a[k]);
		}
		for (int k = 0; k < 8; k++)
			_mm512_storeu_ps(out + o + 16 * k, a[k]);
	}
	gemv_in_avx2(out, W, x, C, OC, o, o1);
}
#endif

void
nn_matvec_in_rows(float *out, const float *W, const float *x, const float *bias, size_t C,
    size_t OC, size_t o0, size_t o1)
{
	void (*gemv)(float *, const float *, const float *, size_t, size_t, size_t, size_t) =
	    gemv_in_portable;

	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_kind >= NN_KERNEL_AVX512)
		gemv = gemv_in_avx512;
	else if (gemm_kind >= NN_KERNEL_AVX2)
		gemv = gemv_in_avx2;
#endif
	gemv(out, W, x, C, OC, o0, o1);
	if (bias != NULL)
		for (size_t o = o0; o < o1; o++)
			out[o] += bias[o];
}

/*
 * The batch-1 product from bf16 weights (generation in bf16): W was rounded
 * once (nn_bf16_from), so each token reads half the bytes of the fp32
 * stream, which bounds generation's speed. x is rounded to bf16 as the
 * products' other input; every product of two bf16 is exact in fp32 and
 * the sums are fp32, in sixteen lanes of 32-element steps, the lanes then
 * added in a fixed order: one row's sum in one order whatever the thread
 * count. Without the AVX512-BF16 kernel the same products are summed in
 * eight lanes in C (other bits, the same precision).
 */
uint16_t
nn_bf16_of(float x)
{
	uint32_t u;

	memcpy(&u, &x, sizeof u);
	/* As VCVTNE2PS2BF16: subnormal inputs to zero, round to nearest even. */
	if ((u & 0x7f800000u) == 0)
		u &= 0x80000000u;
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 0x40);   /* NaN stays a (quiet) NaN */
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

void
nn_bf16_from(uint16_t *dst, const float *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = nn_bf16_of(src[i]);
}

static inline float
bf16_float(uint16_t h)
{
	uint32_t u = (uint32_t)h << 16;
	float    f;

	memcpy(&f, &u, sizeof f);
	return f;
}

static float
gemv_bf16_portable(const uint16_t *w, const uint16_t *x, size_t C)
{
	float  s[8] = { 0 }, t = 0;
	size_t c = 0;

	for (; c + 8 <= C; c += 8)
		for (int i = 0; i < 8; i++)
			s[i] += bf16_float(w[c + i]) * bf16_float(x[c + i]);
	for (; c < C; c++)
		t += bf16_float(w[c]) * bf16_float(x[c]);
	return LANES8(s, t);
}

/* Bytes ahead of the rows being summed that each step asks the cache for:
 * the hardware's prefetcher alone kept this kernel at ~0.7 of the fp32
 * one's bytes per second (Zen 5), 4 KB ahead brought it to ~0.85. */
#define GEMV_PREFETCH 4096
#ifdef GEMM_X86
/* Rows [o0, o1) of out = W x + bias, four rows at a time sharing each
 * load of x (four independent chains of VDPBF16PS). x holds C bf16 and
 * zeros up to a multiple of 32. */
__attribute__((target(BF16_ISA))) static void
gemv_bf16_avx512(float *out, const uint16_t *W, const uint16_t *x, const float *bias,
    size_t C, size_t o0, size_t o1)
{
	size_t    full = C / 32 * 32;
	__mmask32 tail = (__mmask32)(C - full == 0 ? 0 : (1u << (C - full)) - 1);

	for (size_t o = o0; o < o1; o += 4) {
		size_t   nr = o1 - o < 4 ? o1 - o : 4;
		__m512   acc[4];
		const uint16_t *w[4];
		for (size_t r = 0; r < 4; r++) {
			acc[r] = _mm512_setzero_ps();
			w[r] = W + (o + (r < nr ? r : 0)) * C;
		}
		for (size_t k = 0; k < full; k += 32) {
			__m512bh xv = (__m512bh)_mm512_loadu_si512(x + k);
			#pragma GCC unroll 4
			for (size_t r = 0; r < 4; r++)
				_mm_prefetch((const char *)(w[0] + k + r * C) + GEMV_PREFETCH, _MM_HINT_T0);
			#pragma GCC unroll 4
			for (size_t r = 0; r < 4; r++)
				acc[r] = _mm512_dpbf16_ps(acc[r],
				    (__m512bh)_mm512_loadu_si512(w[r] + k), xv);
		}
		if (tail) {
			__m512bh xv = (__m512bh)_mm512_loadu_si512(x + full);
			#pragma GCC unroll 4
			for (size_t r = 0; r < 4; r++)
				acc[r] = _mm512_dpbf16_ps(acc[r],
				    (__m512bh)_mm512_maskz_loadu_epi16(tail, w[r] + full), xv);
		}
		for (size_t r = 0; r < nr; r++)
			out[o + r] = _mm512_reduce_add_ps(acc[r]) + (bias != NULL ? bias[o + r] : 0.0f);
	}
}

/* x (C floats) to bf16 in dst, zeros up to a multiple of 32. */
__attribute__((target(BF16_ISA))) static void
gemv_bf16_x(uint16_t *dst, const float *x, size_t C)
{
	for (size_t k = 0; k < C; k += 32)
		_mm512_storeu_si512(dst + k, gemm_bf16_row32(x + k, C - k < 32 ? C - k : 32));
}
#endif

/* The widest input: the MLP's 4C, C <= 16384 (gpt_config_check). */
#define GEMV_BF16_MAX (4 * 16384)

void
nn_matvec_bf16_x(uint16_t *xb, const float *x, size_t C)
{
	assert(C <= GEMV_BF16_MAX);
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_bf16_ok) {
		gemv_bf16_x(xb, x, C);
		return;
	}
#endif
	nn_bf16_from(xb, x, C);
}

void
nn_matvec_bf16_rows(float *out, const uint16_t *W, const uint16_t *xb, const float *bias,
    size_t C, size_t o0, size_t o1)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_bf16_ok) {
		gemv_bf16_avx512(out, W, xb, bias, C, o0, o1);
		return;
	}
#endif
	for (size_t o = o0; o < o1; o++)
		out[o] = gemv_bf16_portable(W + o * C, xb, C) + (bias != NULL ? bias[o] : 0.0f);
}

void
nn_matvec_bf16(float *out, const uint16_t *W, const float *x, const float *bias, size_t C,
    size_t OC)
{
	uint16_t xb[GEMV_BF16_MAX + 32];   /* x in bf16 (128 KB: on the calling thread) */
	size_t   nb = (OC + 15) / 16;

	nn_matvec_bf16_x(xb, x, C);
	/* Race-free: each block of 16 output rows is written by one
	 * iteration. Small products stay on one thread. */
	#pragma omp parallel for schedule(static) if (C * OC >= 65536)
	for (long b = 0; b < (long)nb; b++)
		nn_matvec_bf16_rows(out, W, xb, bias, C, (size_t)b * 16,
		    (size_t)b * 16 + 16 < OC ? (size_t)b * 16 + 16 : OC);
}

float
nn_dot(const float *a, const float *b, size_t n)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_kind >= NN_KERNEL_AVX2)
		return gemv_dot_avx2(a, b, n);
#endif
	return gemv_dot_portable(a, b, n);
}

#ifdef GEMM_X86
__attribute__((target("avx2,fma"))) static void
axpy_avx2(float *y, float a, const float *x, size_t n)
{
	__m256 va = _mm256_set1_ps(a);
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i),
		    _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] += a * x[i];
}
#endif

void
nn_axpy(float *y, float a, const float *x, size_t n)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_kind >= NN_KERNEL_AVX2) {
		axpy_avx2(y, a, x, n);
		return;
	}
#endif
	for (size_t i = 0; i < n; i++)
		y[i] += a * x[i];
}
