/*
 * allreduce.c — the bandwidth and latency of MPI_Allreduce (float, sum) as
 * the data-parallel trainer uses it, between the ranks mpirun gives it.
 *
 * For each message size (4 bytes to MAX_MB, doubling) it times REPS calls
 * after 3 warm-up calls and prints, on rank 0, the median time of a call and
 * two bandwidths (the conventions of nccl-tests): algorithm bandwidth
 * S / t, and bus bandwidth S / t * 2 (N-1) / N, what each link carries in a
 * bandwidth-optimal allreduce (Patarasuk & Yuan 2009; Thakur, Rabenseifner
 * & Gropp 2005), comparable across rank counts.
 *
 *   mpicc -O2 -o allreduce bench/allreduce.c
 *   mpirun -np 2 ./allreduce [MAX_MB [REPS]]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int     rank, size, reps;
	double  max_mb;
	size_t  max_n;
	float  *buf;
	double *t;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	max_mb = argc > 1 ? atof(argv[1]) : 64;
	reps = argc > 2 ? atoi(argv[2]) : 20;
	if (reps < 1)
		reps = 1;
	max_n = (size_t)(max_mb * 1e6 / sizeof(float));
	buf = malloc((max_n > 0 ? max_n : 1) * sizeof *buf);
	t = malloc((size_t)reps * sizeof *t);
	if (buf == NULL || t == NULL) {
		fprintf(stderr, "allreduce: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	for (size_t i = 0; i < max_n; i++)
		buf[i] = (float)(i % 1000) * 1e-3f;
	if (rank == 0)
		printf("ranks %d\n%12s %12s %12s %12s\n", size, "bytes", "median_us", "algbw_MB/s",
		    "busbw_MB/s");
	for (size_t n = 1; n <= max_n; n *= 2) {
		for (int w = 0; w < 3; w++)
			MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		for (int r = 0; r < reps; r++) {
			double t0;
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = MPI_Wtime();
			MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
			t[r] = MPI_Wtime() - t0;
			/* Keep the values finite however many times they are summed. */
			buf[0] = 1;
		}
		/* The slowest rank's time of each call is the call's time. */
		MPI_Allreduce(MPI_IN_PLACE, t, reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
		qsort(t, (size_t)reps, sizeof *t, cmp_double);
		if (rank == 0) {
			double s = (double)n * sizeof(float), med = t[reps / 2];
			printf("%12.0f %12.1f %12.1f %12.1f\n", s, med * 1e6, s / med / 1e6,
			    s / med / 1e6 * 2.0 * (size - 1) / size);
		}
	}
	free(buf);
	free(t);
	MPI_Finalize();
	return 0;
}
