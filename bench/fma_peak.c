/*
 * fma_peak.c — the single-precision peak of this machine as a register-only
 * AVX2 FMA loop: ten independent accumulator chains (enough to cover the FMA
 * latency on two pipes), no memory traffic. Used by bench/transformer.sh to
 * state what share of the peak the transformer reaches.
 * Build: cc -O3 -mavx2 -mfma -fopenmp fma_peak.c -o fma_peak
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

int
main(void)
{
	const long iters = 50000000;
	double     best = 0;
	int        threads = 1;

#ifdef _OPENMP
	threads = omp_get_max_threads();
#endif
	for (int rep = 0; rep < 5; rep++) {
		double t = now(), gf;
		float  sink = 0;
		#pragma omp parallel reduction(+:sink)
		{
			__m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2);
			__m256 a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5);
			__m256 a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8);
			__m256 a9 = _mm256_set1_ps(9);
			__m256 m = _mm256_set1_ps(0.999999f), c = _mm256_set1_ps(1e-7f);
			float  f[8];
			for (long i = 0; i < iters; i++) {
				a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c);
				a2 = _mm256_fmadd_ps(a2, m, c); a3 = _mm256_fmadd_ps(a3, m, c);
				a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
				a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c);
				a8 = _mm256_fmadd_ps(a8, m, c); a9 = _mm256_fmadd_ps(a9, m, c);
			}
			a0 = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
			    _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(_mm256_add_ps(a6, a7),
			    _mm256_add_ps(a8, a9))));
			_mm256_storeu_ps(f, a0);
			sink += f[0];
		}
		t = now() - t;
		gf = (double)iters * 10 * 16 * threads / t / 1e9;
		if (gf > best)
			best = gf;
		if (sink == 1234.5f)
			puts("");
	}
	printf("%.1f\n", best);
	return 0;
}
