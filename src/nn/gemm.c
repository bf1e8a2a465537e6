/*
 * gemm.c — the single-precision matrix product every layer runs on.
 *
 * The blocking of Goto & van de Geijn ("Anatomy of High-Performance Matrix
 * Multiplication", ACM TOMS 34(3), 2008) as refined in BLIS (Van Zee & van
 * de Geijn 2015): the K dimension is cut in blocks of KC, each block of B
 * (KC x NC) is packed into panels of NR columns that stay in L1/L2, each
 * block of A (MC x KC) into panels of MR rows, and an MR x NR micro-kernel
 * keeps its whole tile of C in registers while it runs down KC.
 *
 * Determinism. An element of C is the sum over K blocks, in order, of a
 * block sum computed by one micro-kernel call in k order; how M and N are
 * cut among threads never changes that arithmetic, so the result does not
 * depend on the thread count. KC is a constant.
 *
 * Workload: the shapes of a small transformer on a CPU — M = B*T ~ 10^3,
 * N and K from 32 to a few thousand — and per-head attention products of
 * T x T x hs run serially inside a parallel loop.
 */
#include "config.h"

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

#define MR 6
#define NR 16
#define KC 256          /* fixed: it decides the order of the sums */
#define MC 96           /* rows of A per block (a multiple of MR) */
#define NC 1024         /* columns of B per block (a multiple of NR) */

#define GEMM_MAX_THREADS 64

typedef void (*gemm_kernel_fn)(size_t kc, const float *a, const float *b, float *c,
                               size_t ldc, size_t mr, size_t nr);

/*
 * Packed buffers, one set per thread, kept between calls: a product is
 * called thousands of times a step and a fresh allocation of a megabyte
 * would cost page faults each time. They are allocated on first use, before
 * any parallel region, and never freed (released at exit).
 */
struct gemm_ws {
	float *bpack;                     /* (KC, NC) shared block of B */
	float *apack[GEMM_MAX_THREADS];   /* (MC, KC) per thread */
	float *bpriv[GEMM_MAX_THREADS];   /* (KC, NC) per thread, for serial calls */
};

static struct gemm_ws gemm_ws;
static gemm_kernel_fn gemm_kernel;
static enum nn_kernel gemm_kind = NN_KERNEL_AUTO;

/* ------------------------------------------------------------------------
 * Micro-kernels: c (mr x nr valid of an MR x NR tile, row stride ldc) +=
 * a (kc x MR, packed) * b (kc x NR, packed).
 * ------------------------------------------------------------------------ */

static void
gemm_kernel_portable(size_t kc, const float *a, const float *b, float *c, size_t ldc,
    size_t mr, size_t nr)
{
	float acc[MR][NR];

	memset(acc, 0, sizeof acc);
	for (size_t k = 0; k < kc; k++) {
		const float *bk = b + k * NR, *ak = a + k * MR;
		for (size_t i = 0; i < MR; i++) {
			float ai = ak[i];
			for (size_t j = 0; j < NR; j++)
				acc[i][j] += ai * bk[j];
		}
	}
	for (size_t i = 0; i < mr; i++)
		for (size_t j = 0; j < nr; j++)
			c[i * ldc + j] += acc[i][j];
}

#ifdef GEMM_X86
__attribute__((target("avx2,fma"))) static void
gemm_kernel_avx2(size_t kc, const float *a, const float *b, float *c, size_t ldc,
    size_t mr, size_t nr)
{
	__m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
	__m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
	__m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
	__m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
	__m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
	__m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();

	for (size_t k = 0; k < kc; k++) {
		__m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8), ai;
		ai = _mm256_broadcast_ss(a + 0);
		c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
		ai = _mm256_broadcast_ss(a + 1);
		c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
		ai = _mm256_broadcast_ss(a + 2);
		c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
		ai = _mm256_broadcast_ss(a + 3);
		c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
		ai = _mm256_broadcast_ss(a + 4);
		c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
		ai = _mm256_broadcast_ss(a + 5);
		c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
		a += MR;
		b += NR;
	}
	if (mr == MR && nr == NR) {
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
		for (size_t i = 0; i < mr; i++)
			for (size_t j = 0; j < nr; j++)
				c[i * ldc + j] += t[i][j];
	}
}
#endif

enum nn_kernel
nn_kernel_select(enum nn_kernel k)
{
	if (k == NN_KERNEL_AUTO) {
		const char *env = getenv("AD_NN_KERNEL");
		if (env != NULL && strcmp(env, "portable") == 0)
			k = NN_KERNEL_PORTABLE;
	}
#ifdef GEMM_X86
	if (k != NN_KERNEL_PORTABLE) {
		__builtin_cpu_init();
		if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
			gemm_kernel = gemm_kernel_avx2;
			return gemm_kind = NN_KERNEL_AVX2;
		}
	}
#endif
	gemm_kernel = gemm_kernel_portable;
	return gemm_kind = NN_KERNEL_PORTABLE;
}

const char *
nn_kernel_name(void)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(NN_KERNEL_AUTO);
	return gemm_kind == NN_KERNEL_AVX2 ? "avx2-fma 6x16" : "portable 6x16";
}

/* ------------------------------------------------------------------------
 * Packing
 * ------------------------------------------------------------------------ */

/* Pack rows [i0, i0+mc) x k [p0, p0+kc) of op(A) into MR-row panels (zero padded). */
static void
gemm_pack_a(float *dst, int transA, const float *A, size_t lda, size_t i0, size_t mc,
    size_t p0, size_t kc)
{
	for (size_t ir = 0; ir < mc; ir += MR) {
		size_t mr = mc - ir < MR ? mc - ir : MR;
		if (!transA) {
			for (size_t k = 0; k < kc; k++) {
				size_t i;
				for (i = 0; i < mr; i++)
					dst[k * MR + i] = A[(i0 + ir + i) * lda + p0 + k];
				for (; i < MR; i++)
					dst[k * MR + i] = 0;
			}
		} else {
			for (size_t k = 0; k < kc; k++) {
				const float *src = A + (p0 + k) * lda + i0 + ir;
				size_t       i;
				for (i = 0; i < mr; i++)
					dst[k * MR + i] = src[i];
				for (; i < MR; i++)
					dst[k * MR + i] = 0;
			}
		}
		dst += kc * MR;
	}
}

/* Pack the NR-column panel j0 .. j0+nr of op(B), k in [p0, p0+kc). */
static void
gemm_pack_b_panel(float *dst, int transB, const float *B, size_t ldb, size_t j0, size_t nr,
    size_t p0, size_t kc)
{
	if (!transB) {
		for (size_t k = 0; k < kc; k++) {
			const float *src = B + (p0 + k) * ldb + j0;
			size_t       j;
			for (j = 0; j < nr; j++)
				dst[k * NR + j] = src[j];
			for (; j < NR; j++)
				dst[k * NR + j] = 0;
		}
	} else {
		size_t j;
		for (j = 0; j < nr; j++) {
			const float *src = B + (j0 + j) * ldb + p0;
			for (size_t k = 0; k < kc; k++)
				dst[k * NR + j] = src[k];
		}
		for (; j < NR; j++)
			for (size_t k = 0; k < kc; k++)
				dst[k * NR + j] = 0;
	}
}

/* The inner two loops: every MR x NR tile of one (MC x KC) x (KC x NC) block. */
static void
gemm_macro(const float *apack, const float *bpack, size_t mc, size_t nc, size_t kc,
    float *C, size_t ldc)
{
	for (size_t jr = 0; jr < nc; jr += NR) {
		size_t nr = nc - jr < NR ? nc - jr : NR;
		for (size_t ir = 0; ir < mc; ir += MR) {
			size_t mr = mc - ir < MR ? mc - ir : MR;
			gemm_kernel(kc, apack + ir * kc, bpack + jr * kc, C + ir * ldc + jr, ldc,
			    mr, nr);
		}
	}
}

static int
gemm_ws_ready(int nthreads)
{
	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
	if (gemm_ws.bpack == NULL &&
	    (gemm_ws.bpack = ad_malloc((size_t)KC * NC * sizeof(float))) == NULL)
		return -1;
	for (int t = 0; t < nthreads; t++) {
		if (gemm_ws.apack[t] == NULL &&
		    (gemm_ws.apack[t] = ad_malloc((size_t)MC * KC * sizeof(float))) == NULL)
			return -1;
	}
	return 0;
}

static void
gemm_zero(float *C, size_t ldc, size_t M, size_t N)
{
	for (size_t i = 0; i < M; i++)
		memset(C + i * ldc, 0, N * sizeof *C);
}

/* The thread's own buffers for a serial product. */
static int
gemm_serial_ready(int tid)
{
	if (tid >= GEMM_MAX_THREADS || gemm_ws.apack[tid] == NULL || gemm_ws.bpriv[tid] == NULL)
		return -1;
	return 0;
}

void
nn_sgemm_serial(int transA, int transB, size_t M, size_t N, size_t K, const float *A,
    size_t lda, const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
	int    tid = 0;
	float *apack, *bpack;

#ifdef _OPENMP
	tid = omp_get_thread_num();
#endif
	if (!accumulate)
		gemm_zero(C, ldc, M, N);
	if (M == 0 || N == 0 || K == 0)
		return;
	/* The buffers are made by nn_sgemm_prepare() before any parallel region. */
	if (gemm_kernel == NULL || gemm_serial_ready(tid) != 0) {
		nn_sgemm_ref_float(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
		return;
	}
	apack = gemm_ws.apack[tid];
	bpack = gemm_ws.bpriv[tid];
	for (size_t jc = 0; jc < N; jc += NC) {
		size_t nc = N - jc < NC ? N - jc : NC;
		for (size_t pc = 0; pc < K; pc += KC) {
			size_t kc = K - pc < KC ? K - pc : KC;
			for (size_t jr = 0; jr < nc; jr += NR)
				gemm_pack_b_panel(bpack + jr * kc, transB, B, ldb, jc + jr,
				    nc - jr < NR ? nc - jr : NR, pc, kc);
			for (size_t ic = 0; ic < M; ic += MC) {
				size_t mc = M - ic < MC ? M - ic : MC;
				gemm_pack_a(apack, transA, A, lda, ic, mc, pc, kc);
				gemm_macro(apack, bpack, mc, nc, kc, C + ic * ldc + jc, ldc);
			}
		}
	}
}

int
nn_sgemm_prepare(void)
{
	int n = 1;

#ifdef _OPENMP
	n = omp_get_max_threads();
#endif
	if (n > GEMM_MAX_THREADS)
		n = GEMM_MAX_THREADS;
	if (gemm_ws_ready(n) != 0)
		return AD_ENOMEM;
	for (int t = 0; t < n; t++)
		if (gemm_ws.bpriv[t] == NULL &&
		    (gemm_ws.bpriv[t] = ad_malloc((size_t)KC * NC * sizeof(float))) == NULL)
			return AD_ENOMEM;
	return 0;
}

void
nn_sgemm(int transA, int transB, size_t M, size_t N, size_t K, const float *A, size_t lda,
    const float *B, size_t ldb, float *C, size_t ldc, int accumulate)
{
	int nthreads = 1;

#ifdef _OPENMP
	nthreads = omp_get_max_threads();
	if (nthreads > GEMM_MAX_THREADS)
		nthreads = GEMM_MAX_THREADS;
	if (omp_in_parallel())
		nthreads = 1;
#endif
	/* Small products are not worth waking the threads for. */
	if (nthreads == 1 || (double)M * N * K < 64.0 * 64 * 64) {
		if (nn_sgemm_prepare() != 0) {
			if (!accumulate)
				gemm_zero(C, ldc, M, N);
			nn_sgemm_ref_float(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
			return;
		}
		nn_sgemm_serial(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate);
		return;
	}
	if (nn_sgemm_prepare() != 0) {
		if (!accumulate)
			gemm_zero(C, ldc, M, N);
		nn_sgemm_ref_float(transA, transB, M, N, K, A, lda, B, ldb, C, ldc);
		return;
	}
	if (!accumulate)
		gemm_zero(C, ldc, M, N);
	if (M == 0 || N == 0 || K == 0)
		return;

	/*
	 * Race-free: the shared packed block of B is written in the first
	 * work-shared loop (disjoint panels) and only read after its barrier;
	 * each thread packs A into its own buffer and writes a disjoint band of
	 * rows of C.
	 */
	#pragma omp parallel num_threads(nthreads)
	{
		int    tid = 0;
		size_t ic_step;
#ifdef _OPENMP
		tid = omp_get_thread_num();
#endif
		/* Bands of rows small enough that every thread gets several. */
		ic_step = MC;
		while (ic_step > MR && (M + ic_step - 1) / ic_step < (size_t)nthreads * 2)
			ic_step -= MR;
		for (size_t jc = 0; jc < N; jc += NC) {
			size_t nc = N - jc < NC ? N - jc : NC;
			for (size_t pc = 0; pc < K; pc += KC) {
				size_t kc = K - pc < KC ? K - pc : KC;
				long   npanels = (long)((nc + NR - 1) / NR), nbands;
				#pragma omp for schedule(static)
				for (long p = 0; p < npanels; p++) {
					size_t jr = (size_t)p * NR;
					gemm_pack_b_panel(gemm_ws.bpack + jr * kc, transB, B, ldb, jc + jr,
					    nc - jr < NR ? nc - jr : NR, pc, kc);
				}
				nbands = (long)((M + ic_step - 1) / ic_step);
				#pragma omp for schedule(static)
				for (long bnd = 0; bnd < nbands; bnd++) {
					size_t ic = (size_t)bnd * ic_step;
					size_t mc = M - ic < ic_step ? M - ic : ic_step;
					gemm_pack_a(gemm_ws.apack[tid], transA, A, lda, ic, mc, pc, kc);
					gemm_macro(gemm_ws.apack[tid], gemm_ws.bpack, mc, nc, kc,
					    C + ic * ldc + jc, ldc);
				}
			}
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
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) + t;
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
nn_matvec(float *out, const float *W, const float *x, const float *bias, size_t C, size_t OC)
{
	float (*dot)(const float *, const float *, size_t) = gemv_dot_portable;

	if (gemm_kernel == NULL)
		nn_kernel_select(gemm_kind);
#ifdef GEMM_X86
	if (gemm_kind == NN_KERNEL_AVX2)
		dot = gemv_dot_avx2;
#endif
	/* Race-free: each output row is written by one iteration. Small
	 * products stay on one thread: waking the others costs more. */
	#pragma omp parallel for schedule(static) if (C * OC >= 65536)
	for (long o = 0; o < (long)OC; o++)
		out[o] = dot(W + (size_t)o * C, x, C) + (bias != NULL ? bias[o] : 0.0f);
}
