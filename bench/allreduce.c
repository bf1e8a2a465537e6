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
 * With TOTAL_MB, it then sums one gradient of TOTAL_MB in buckets of 64 KB
 * to MAX_MB (doubling) and whole, as src/nn/dist.c does (AD_MPI_BUCKET_KB):
 * "blocking" is one MPI_Allreduce per bucket in turn, "nonblocking" starts
 * every bucket with MPI_Iallreduce and waits for all (the overlapped
 * trainer's calls without the backward pass between them). Median of REPS.
 *
 *   mpicc -O2 -o allreduce bench/allreduce.c
 *   mpirun -np 2 ./allreduce [MAX_MB [REPS [TOTAL_MB]]]
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

/* The median over ranks' slowest of REPS timings in t (rank 0's answer). */
static double
median_of(double *t, int reps)
{
	MPI_Allreduce(MPI_IN_PLACE, t, reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
	qsort(t, (size_t)reps, sizeof *t, cmp_double);
	return t[reps / 2];
}

/* Sum n floats of buf in buckets of b floats: blocking in turn, or all
 * started at once and waited for. */
static void
bucketed(float *buf, size_t n, size_t b, int nonblocking, MPI_Request *req)
{
	int k = 0;

	for (size_t off = 0; off < n; off += b, k++) {
		int m = (int)(n - off < b ? n - off : b);
		if (nonblocking)
			MPI_Iallreduce(MPI_IN_PLACE, buf + off, m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
			    &req[k]);
		else
			MPI_Allreduce(MPI_IN_PLACE, buf + off, m, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
	}
	if (nonblocking)
		MPI_Waitall(k, req, MPI_STATUSES_IGNORE);
}

int
main(int argc, char **argv)
{
	int          rank, size, reps;
	double       max_mb, total_mb;
	size_t       max_n, total_n, alloc_n;
	float       *buf;
	double      *t;
	MPI_Request *req;

	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	max_mb = argc > 1 ? atof(argv[1]) : 64;
	reps = argc > 2 ? atoi(argv[2]) : 20;
	total_mb = argc > 3 ? atof(argv[3]) : 0;
	if (reps < 1)
		reps = 1;
	max_n = (size_t)(max_mb * 1e6 / sizeof(float));
	total_n = (size_t)(total_mb * 1e6 / sizeof(float));
	alloc_n = max_n > total_n ? max_n : total_n;
	buf = malloc((alloc_n > 0 ? alloc_n : 1) * sizeof *buf);
	t = malloc((size_t)reps * sizeof *t);
	/* Buckets of at least 64 KB (16384 floats). */
	req = malloc((total_n / 16384 + 2) * sizeof *req);
	if (buf == NULL || t == NULL || req == NULL) {
		fprintf(stderr, "allreduce: out of memory\n");
		MPI_Abort(MPI_COMM_WORLD, 1);
	}
	for (size_t i = 0; i < alloc_n; i++)
		buf[i] = (float)(i % 1000) * 1e-3f;
	if (rank == 0)
		printf("ranks %d\n%12s %12s %12s %12s\n", size, "bytes", "median_us", "algbw_MB/s",
		    "busbw_MB/s");
	for (size_t n = 1; n <= max_n; n *= 2) {
		double med;
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
		med = median_of(t, reps);
		if (rank == 0) {
			double s = (double)n * sizeof(float);
			printf("%12.0f %12.1f %12.1f %12.1f\n", s, med * 1e6, s / med / 1e6,
			    s / med / 1e6 * 2.0 * (size - 1) / size);
		}
	}
	if (total_n == 0)
		goto out;
	if (rank == 0)
		printf("\n%.2f MB in buckets\n%12s %14s %14s %14s %14s\n", total_n * 4 / 1e6,
		    "bucket_bytes", "blocking_ms", "busbw_MB/s", "nonblocking_ms", "busbw_MB/s");
	for (size_t b = 16384;; b *= 2) {
		double med[2];
		if (b > max_n || b >= total_n)
			b = total_n;
		for (int nb = 0; nb < 2; nb++) {
			for (int w = 0; w < 2; w++)
				bucketed(buf, total_n, b, nb, req);
			for (int r = 0; r < reps; r++) {
				double t0;
				MPI_Barrier(MPI_COMM_WORLD);
				t0 = MPI_Wtime();
				bucketed(buf, total_n, b, nb, req);
				t[r] = MPI_Wtime() - t0;
				buf[0] = 1;
			}
			med[nb] = median_of(t, reps);
		}
		if (rank == 0) {
			double s = (double)total_n * sizeof(float), f = 2.0 * (size - 1) / size;
			printf("%12.0f %14.2f %14.1f %14.2f %14.1f\n", (double)b * sizeof(float),
			    med[0] * 1e3, s / med[0] / 1e6 * f, med[1] * 1e3, s / med[1] / 1e6 * f);
		}
		if (b == total_n)
			break;
	}
out:
	free(buf);
	free(t);
	free(req);
	MPI_Finalize();
	return 0;
}
