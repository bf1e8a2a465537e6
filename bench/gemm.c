/*
 * gemm.c — GFLOP/s of nn_sgemm on the products of the transformer's shapes,
 * one thread and all threads, median of REPS timings, and of the bf16
 * product (nn_gemm, NN_PREC_BF16) where the CPU has AVX512-BF16: the two
 * are called alternately, rep after rep, and their ratio printed. Built and
 * run by bench/gemm.sh against the library of a build directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <omp.h>

#include "base/progress.h"
#include "nn/nn.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	/* M N K tA tB: the forward and the two backward products of shape M's
	 * QKV, MLP up and MLP down layers (M = B*T = 1024 rows, C = 384). */
	static const size_t shapes[][5] = {
		{ 1024, 1152, 384, 0, 1 }, { 1024, 1536, 384, 0, 1 }, { 1024, 384, 1536, 0, 1 },
		{ 1024, 384, 1152, 0, 0 }, { 1152, 384, 1024, 1, 0 }, { 1024, 4096, 384, 0, 1 },
	};
	int    reps = argc > 1 ? atoi(argv[1]) : 7, bf = nn_bf16_available();
	double total[2] = { 0, 0 }, btotal[2] = { 0, 0 };

	for (int th = 0; th < 2; th++) {
		omp_set_num_threads(th == 0 ? 1 : omp_get_num_procs());
		for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
			size_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
			float *A = malloc(M * K * 4), *B = malloc(K * N * 4), *C = malloc(M * N * 4);
			double t[64], tb[64], flops = 2.0 * M * N * K;
			for (size_t i = 0; i < M * K; i++) A[i] = (float)(i % 7) - 3;
			for (size_t i = 0; i < K * N; i++) B[i] = (float)(i % 5) - 2;
			for (int r = 0; r < reps && r < 64; r++) {
				double t0 = ad_now();
				nn_sgemm((int)shapes[s][3], (int)shapes[s][4], M, N, K, A,
				    shapes[s][3] ? M : K, B, shapes[s][4] ? K : N, C, N, 0);
				t[r] = ad_now() - t0;
				t0 = ad_now();
				if (bf)
					nn_gemm(NN_PREC_BF16, (int)shapes[s][3], (int)shapes[s][4], M, N, K,
					    A, shapes[s][3] ? M : K, B, shapes[s][4] ? K : N, NULL, C, N, 0);
				tb[r] = ad_now() - t0;
			}
			qsort(t, (size_t)reps, sizeof t[0], cmp);
			qsort(tb, (size_t)reps, sizeof tb[0], cmp);
			printf("threads %d  M %4zu N %4zu K %4zu %c%c  %6.1f GFLOP/s", th == 0 ? 1 :
			    omp_get_num_procs(), M, N, K, shapes[s][3] ? 'T' : 'N',
			    shapes[s][4] ? 'T' : 'N', flops / t[reps / 2] / 1e9);
			if (bf)
				printf("  bf16 %6.1f GFLOP/s (%.2fx)", flops / tb[reps / 2] / 1e9,
				    t[reps / 2] / tb[reps / 2]);
			printf("\n");
			total[th] += flops / t[reps / 2] / 1e9;
			btotal[th] += bf ? flops / tb[reps / 2] / 1e9 : 0;
			free(A);
			free(B);
			free(C);
		}
	}
	printf("mean: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s\n", total[0] / 6,
	    omp_get_num_procs(), total[1] / 6);
	if (bf)
		printf("bf16 mean: 1 thread %.1f GFLOP/s, %d threads %.1f GFLOP/s\n", btotal[0] / 6,
		    omp_get_num_procs(), btotal[1] / 6);
	return 0;
}
