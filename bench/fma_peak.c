/*
 * fma_peak.c — the single-precision peak of this machine as a register-only
 * FMA loop: ten independent accumulator chains (enough to cover the FMA
 * latency on two pipes), no memory traffic. Used by bench/transformer.sh to
 * state what share of the peak the transformer reaches.
 *
 * usage: fma_peak [avx512]   prints GFLOP/s on OMP_NUM_THREADS threads with
 * 256-bit FMAs (AVX2), or 512-bit ones (0 when the CPU has no AVX-512F).
 *        fma_peak read [MB]   prints the GB/s at which matrix-vector
 * products stream a matrix of MB megabytes (default 49, the weights of the
 * transformer's shape M) from memory, the median of 21 passes: the bound on
 * generating at batch 1, where every token reads every weight once. The
 * rows are 384 floats, dotted with one vector as nn_matvec does; 49 MB is
 * more than the last-level cache of the machines we run on.
 * Build: cc -O3 -march=native -fopenmp fma_peak.c -o fma_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
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

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

#define READ_COLS   384
#define READ_PASSES 21

static int
read_bw(size_t mb)
{
	size_t rows = (mb << 20) / (READ_COLS * sizeof(float));
	float *w = malloc(rows * READ_COLS * sizeof *w), *x = malloc(READ_COLS * sizeof *x);
	float *out = malloc((rows + 1) * sizeof *out);
	double t[READ_PASSES];
	int    sink;

	if (w == NULL || x == NULL || out == NULL || rows == 0) {
		fprintf(stderr, "fma_peak: cannot allocate %zu MB\n", mb);
		return 1;
	}
	for (size_t i = 0; i < rows * READ_COLS; i++)
		w[i] = (float)(i % 7) * 1e-3f;
	for (size_t i = 0; i < READ_COLS; i++)
		x[i] = 1;
	for (int p = 0; p < READ_PASSES; p++) {
		double t0 = now();
		#pragma omp parallel for schedule(static)
		for (long r = 0; r < (long)rows; r++) {
			float s = 0;
			#pragma omp simd reduction(+:s)
			for (size_t c = 0; c < READ_COLS; c++)
				s += w[(size_t)r * READ_COLS + c] * x[c];
			out[r] = s;
		}
		t[p] = now() - t0;
	}
	qsort(t, READ_PASSES, sizeof *t, cmp_double);
	printf("%.1f\n", (double)rows * READ_COLS * sizeof *w / t[READ_PASSES / 2] / 1e9);
	sink = out[rows - 1] == 12345.f;   /* keeps the products */
	free(w);
	free(x);
	free(out);
	return sink;
}

int
main(int argc, char **argv)
{
	int    wide = argc > 1 && strcmp(argv[1], "avx512") == 0;
	int    threads = 1;
	double best = 0;

	if (argc > 1 && strcmp(argv[1], "read") == 0)
		return read_bw(argc > 2 ? strtoul(argv[2], NULL, 10) : 49);
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
