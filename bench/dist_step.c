/*
 * dist_step.c — the data-parallel step of src/nn/dist.c timed with its
 * gradient settings taken in turn, step by step, in one job. On a machine
 * shared with other jobs the load changes from one minute to the next, so
 * whole runs compared one after another measure the load as much as the
 * setting; here neighbouring steps, one per setting, see the same load.
 *
 * Every rank builds the same model (shape S or M of bench/transformer.sh,
 * V = 4096, initialised as the trainer does) and the same random token
 * stream, and the trainer of src/nn/dist.c with the shape's global batch
 * split over the ranks. Then ROUNDS rounds of one step per setting
 * ("KB:OVERLAP": AD_MPI_BUCKET_KB and AD_MPI_OVERLAP, set in struct
 * nn_dist before each step; round r starts at the (r mod n)-th setting),
 * after one round of warm-up. A step is timed
 * from a barrier to its end, which is the same on every rank (it ends in
 * the loss allreduce); the time each rank spends inside MPI calls on the
 * gradient is gathered. Per setting, rank 0 prints the medians over rounds
 * of the step, of the largest and of the smallest rank's MPI time (the
 * rank that came last to the gradient waited for nobody: its time is what
 * the communication itself cost and the backward pass did not hide), and
 * of the ratio of the step to the first setting's step in the same round.
 *
 *   mpicc -O2 -fopenmp -I src -I BUILD bench/dist_step.c BUILD/libautodidact.a \
 *       -lutf8proc -lpcre2-8 -lm -o dist_step
 *   mpirun -np 2 -x OMP_NUM_THREADS=1 ./dist_step S|M ROUNDS 0:0 1024:0 1024:1 ...
 *
 * With -np 1 every step is the one-process trainer's and the settings only
 * name the columns.
 */
#include "config.h"

#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/progress.h"
#include "cli/cli.h"
#include "nn/dist.h"
#include "nn/nn.h"

#define MAX_SETTINGS 16

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	struct nn_dist        d;
	struct nn_dist_config dc;
	struct ad_error       e = { 0 };
	struct gpt_config     cfg = { 0 };
	struct gpt           *g = NULL;
	struct adamw         *opt = NULL;
	struct adamw_config   ac = { 3e-4, 3e-5, 0.9, 0.95, 1e-8, 0.1, 1.0, 10, 1000000 };
	struct nn_train_state st;
	struct nn_trainer    *tr = NULL;
	struct nn_step_stats  ss;
	struct ad_rng         rng;
	uint32_t             *tok;
	size_t                ntok = 1 << 20;
	double                kb[MAX_SETTINGS], *step, *mpimax, *mpimin;
	int                   ov[MAX_SETTINGS], ns, rounds, batch;

	if (argc < 4 || (strcmp(argv[1], "S") != 0 && strcmp(argv[1], "M") != 0) ||
	    (rounds = atoi(argv[2])) < 1 || argc - 3 > MAX_SETTINGS) {
		fprintf(stderr, "usage: mpirun -np N dist_step S|M ROUNDS KB:OVERLAP ...\n");
		return 2;
	}
	ns = argc - 3;
	for (int k = 0; k < ns; k++)
		if (sscanf(argv[3 + k], "%lf:%d", &kb[k], &ov[k]) != 2 || kb[k] < 0) {
			fprintf(stderr, "dist_step: '%s': give KB:OVERLAP, e.g. 1024:1\n", argv[3 + k]);
			return 2;
		}
	if (cli_dist_config(&dc, &e) != 0 || nn_dist_init(&d, &dc, &e) != 0 || !d.active) {
		fprintf(stderr, "dist_step: %s\n", d.active ? e.msg : "start it with mpirun");
		return 1;
	}
	if (argv[1][0] == 'S') {
		cfg.L = 4, cfg.NH = 4, cfg.C = 128, cfg.T = 128, batch = 8;
	} else {
		cfg.L = 6, cfg.NH = 6, cfg.C = 384, cfg.T = 256, batch = 4;
	}
	cfg.V = 4096;
	cfg.Vin = cfg.V + 1;
	if ((tok = malloc(ntok * sizeof *tok)) == NULL)
		return 1;
	ad_rng_seed(&rng, 2, 0);
	for (size_t i = 0; i < ntok; i++)
		tok[i] = ad_rng_below(&rng, cfg.V);
	memset(&st, 0, sizeof st);
	st.steps = ac.steps;
	st.warmup = ac.warmup;
	st.seed = 1;
	st.batch = (uint32_t)batch;
	st.accum = 1;
	st.context = cfg.T;
	st.lr = ac.lr, st.min_lr = ac.min_lr, st.beta1 = ac.beta1, st.beta2 = ac.beta2;
	st.eps = ac.eps, st.weight_decay = ac.weight_decay, st.clip = ac.clip;
	st.last_val = NAN;
	strcpy(st.objective, "causal");
	ad_rng_seed(&st.rng, 1, 0);
	ad_rng_seed(&rng, 1, 1);
	if (gpt_new(&g, &cfg, &e) == 0)
		gpt_init(g, &rng);
	if (g == NULL || adamw_new(&opt, &ac, g->nparams, &e) != 0 ||
	    nn_dist_trainer_new(&d, &tr, g, opt, &nn_objective_causal, &st, tok, ntok, &e) != 0) {
		fprintf(stderr, "dist_step: %s\n", e.msg);
		nn_dist_finish(&d, 1);
		return 1;
	}
	step = malloc((size_t)rounds * ns * sizeof *step);
	mpimax = malloc((size_t)rounds * ns * sizeof *mpimax);
	mpimin = malloc((size_t)rounds * ns * sizeof *mpimin);
	if (step == NULL || mpimax == NULL || mpimin == NULL)
		return 1;
	/* Round r takes the settings from the (r mod ns)-th on, so that each
	 * follows each other equally often. */
	for (int r = -1; r < rounds; r++)
		for (int i = 0; i < ns; i++) {
			int    k = (i + (r < 0 ? 0 : r)) % ns;
			double t0, m0, t, m, mx, mn;
			d.bucket = (size_t)(kb[k] * 256 + 0.5);
			d.overlap = ov[k];
			MPI_Barrier(MPI_COMM_WORLD);
			t0 = ad_now();
			m0 = d.seconds;
			if (nn_dist_step(&d, tr, &ss, &e) != 0) {
				fprintf(stderr, "dist_step: %s\n", e.msg);
				nn_dist_finish(&d, 1);
				return 1;
			}
			t = ad_now() - t0;
			m = d.seconds - m0;
			MPI_Allreduce(&m, &mx, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
			MPI_Allreduce(&m, &mn, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
			MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
			if (r >= 0) {
				step[r * ns + k] = t;
				mpimax[r * ns + k] = mx;
				mpimin[r * ns + k] = mn;
			}
		}
	if (d.rank == 0) {
		double *v = malloc((size_t)rounds * sizeof *v);
		printf("%-9s %9s %9s %9s %9s\n", "KB:ov", "step_ms", "ratio", "mpi_max", "mpi_min");
		for (int k = 0; v != NULL && k < ns; k++) {
			double ms, ratio, mx, mn;
			for (int r = 0; r < rounds; r++)
				v[r] = step[r * ns + k];
			ms = median(v, rounds);
			for (int r = 0; r < rounds; r++)
				v[r] = step[r * ns + k] / step[r * ns];
			ratio = median(v, rounds);
			for (int r = 0; r < rounds; r++)
				v[r] = mpimax[r * ns + k];
			mx = median(v, rounds);
			for (int r = 0; r < rounds; r++)
				v[r] = mpimin[r * ns + k];
			mn = median(v, rounds);
			printf("%-9s %9.1f %9.3f %9.2f %9.2f\n", argv[3 + k], ms * 1e3, ratio, mx * 1e3,
			    mn * 1e3);
		}
		free(v);
	}
	nn_trainer_free(tr);
	adamw_free(opt);
	gpt_free(g);
	free(tok);
	free(step);
	free(mpimax);
	free(mpimin);
	nn_dist_finish(&d, 0);
	return 0;
}
