/*
 * fma_peak.c — the single-precision peak of this machine as a register-only
 * FMA loop: ten independent accumulator chains (enough to cover the FMA
 * latency on two pipes), no memory traffic. Used by bench/transformer.sh to
 * state what share of the peak the transformer reaches.
 *
 * usage: fma_peak [avx512]   prints GFLOP/s on OMP_NUM_THREADS threads with
 * 256-bit FMAs (AVX2), or 512-bit ones (0 when the CPU has no AVX-512F).
 * Build: cc -O3 -fopenmp fma_peak.c -o fma_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define ITERS 50000000L

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

/* The loop body for vector type V of W floats: ten chains a = a * m + c. */
#define FMA_LOOP(V, W, set1, fmadd, add, store)                                      \
	{                                                                             \
		V a0 = set1(0), a1 = set1(1), a2 = set1(2), a3 = set1(3), a4 = set1(4);   \
		V a5 = set1(5), a6 = set1(6), a7 = set1(7), a8 = set1(8), a9 = set1(9);   \
		V m = set1(0.999999f), c = set1(1e-7f);                                   \
		float f[W];                                                               \
		for (long i = 0; i < ITERS; i++) {                                        \
			a0 = fmadd(a0, m, c); a1 = fmadd(a1, m, c); a2 = fmadd(a2, m, c);     \
			a3 = fmadd(a3, m, c); a4 = fmadd(a4, m, c); a5 = fmadd(a5, m, c);     \
			a6 = fmadd(a6, m, c); a7 = fmadd(a7, m, c); a8 = fmadd(a8, m, c);     \
			a9 = fmadd(a9, m, c);                                                 \
		}                                                                         \
		a0 = add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(add(a6, a7), \
		    add(a8, a9))));                                                       \
		store(f, a0);                                                             \
		return f[0];                                                              \
	}

__attribute__((target("avx2,fma"))) static float
chains_avx2(void)
FMA_LOOP(__m256, 8, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps, _mm256_storeu_ps)

__attribute__((target("avx512f"))) static float
chains_avx512(void)
FMA_LOOP(__m512, 16, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps, _mm512_storeu_ps)

int
main(int argc, char **argv)
{
	int    wide = argc > 1 && strcmp(argv[1], "avx512") == 0;
	int    threads = 1;
	double best = 0;

	__builtin_cpu_init();
	if (wide ? !__builtin_cpu_supports("avx512f")
	         : !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) {
		puts("0");
		return 0;
	}
#ifdef _OPENMP
	threads = omp_get_max_threads();
#endif
	for (int rep = 0; rep < 5; rep++) {
		double t = now(), gf;
		float  sink = 0;
		#pragma omp parallel reduction(+:sink)
		sink += wide ? chains_avx512() : chains_avx2();
		t = now() - t;
		/* 10 chains x (8 or 16) lanes x 2 flops per iteration and thread. */
		gf = (double)ITERS * 10 * (wide ? 32 : 16) * threads / t / 1e9;
		if (gf > best)
			best = gf;
		if (sink == 1234.5f)
			puts("");
	}
	printf("%.1f\n", best);
	return 0;
}
