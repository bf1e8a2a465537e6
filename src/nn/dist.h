/*
 * dist.h — data-parallel training over MPI: the same trainer on N processes
 * ("ranks") started by mpirun, one global batch split among them.
 *
 * What it is. Every rank holds the whole model and the whole token stream.
 * Each step draws the rows of one GLOBAL batch of N x B sequences from the
 * data sampler, in the same order and with the same generator state as one
 * process with --batch N*B would; rank r keeps rows r*B .. r*B+B-1 and runs
 * forward and backward on them alone, scaling its gradient by 1 / (the
 * global count of target tokens). One MPI_Allreduce (a flat buffer of all
 * parameters' gradients, summed) then gives every rank the gradient of the
 * global batch, and every rank takes the same AdamW step, so parameters stay
 * bit-identical on all ranks (checked by XXH64 at the start and the end).
 * The data-parallel scheme of Krizhevsky 2014 ("One weird trick...") and
 * of Goyal et al. 2017 ("Accurate, large minibatch SGD"), without their
 * learning-rate scaling: N ranks x B is, by construction, batch N*B.
 *
 * Invariants. The sampler state, the step count and the tokens seen are the
 * same on every rank and equal to those of one process with batch N*B; a
 * checkpoint stores the global batch, so it resumes on any number of ranks
 * that divides it (1 included, with or without MPI). Only rank 0 writes
 * files, logs and progress; decisions that end the loop (time budget,
 * --stop-at, a signal) are taken by rank 0 and broadcast each step, so all
 * ranks stop at the same step.
 *
 * Failure. A failure on any rank aborts the whole job (MPI_Abort), and
 * mpirun ends the job when a rank dies; a rank that waits in a collective
 * longer than a time limit (a rank hangs, or its machine went silent)
 * exits with a message, which ends the job too. Files are written
 * atomically, so the last checkpoint stays whole.
 *
 * Without MPI (configure without --with-mpi) or outside mpirun, every
 * function here is the one-process case: size 1, the plain trainer.
 *
 * Workload. Models of 10^4 to 10^8 parameters (40 KB to 400 MB of gradient
 * per step), 1 to a few hundred ranks; the allreduce is one call per step.
 */
#ifndef AD_NN_DIST_H
#define AD_NN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "nn/nn.h"

struct nn_dist {
	int      rank;        /* this process, 0 .. size-1 */
	int      size;        /* processes in the job; 1 without MPI or mpirun */
	int      local_size;  /* processes of the job on this machine */
	int      active;      /* MPI was initialised here (and must be finished) */
	struct nn_batch scratch;  /* (1, Tb): rows of other ranks, drawn and dropped */
	/* Communication statistics since nn_dist_init (rank-local). */
	uint64_t reduces;     /* gradient allreduces */
	uint64_t bytes;       /* gradient payload reduced: 4 * nparams per step */
	double   seconds;     /* wall time inside the gradient allreduce */
	/* The watchdog: a rank that waits in a collective for longer than
	 * timeout + 10 x the slowest step stops (see nn_dist_init). */
	double   timeout;     /* seconds: AD_MPI_TIMEOUT, default 600 */
	double   slowest;     /* seconds: the slowest step so far */
};

/*
 * Join the MPI job when the process was started by mpirun (Open MPI's
 * OMPI_COMM_WORLD_SIZE or PMIx's PMIX_RANK in the environment); otherwise,
 * or without MPI, d is the one-process case and nothing is initialised.
 * In a job, SIGALRM becomes the watchdog: a wait in a collective longer
 * than AD_MPI_TIMEOUT seconds (default 600) plus 10 times the slowest step
 * prints a message and exits the process with status 1.
 */
int  nn_dist_init(struct nn_dist *d, struct ad_error *e);
/*
 * Leave the job: MPI_Finalize when status is 0, MPI_Abort(status) when it
 * is not (so a rank that failed brings the others down instead of leaving
 * them blocked in a collective). A no-op in the one-process case.
 */
void nn_dist_finish(struct nn_dist *d, int status);
/* Whether this build can run over MPI (configure --with-mpi). */
int  nn_dist_available(void);

/* The OpenMP threads a rank should use by default: its cores divided among
 * the ranks on its machine (0: leave OpenMP's default, one process). */
int  nn_dist_default_threads(const struct nn_dist *d);

/*
 * Check that every rank holds the same value (a hash of the training text,
 * of the initial parameters): collective; on a mismatch every rank returns
 * AD_EMISMATCH with a message naming `what`.
 */
int  nn_dist_agree(struct nn_dist *d, uint64_t value, const char *what, struct ad_error *e);

/*
 * A trainer for this rank: st->batch is the GLOBAL batch, which must divide
 * by d->size; the trainer's batch (tr->batch.B) is the local share and
 * tr->st.batch stays global. With one rank: nn_trainer_new.
 */
int  nn_dist_trainer_new(struct nn_dist *d, struct nn_trainer **out, struct gpt *g,
                         struct adamw *opt, const struct nn_objective *obj,
                         const struct nn_train_state *st, const uint32_t *train,
                         size_t ntrain, struct ad_error *e);
/*
 * One optimiser step of the global batch (see the top of this file); s holds
 * the global mean loss, the learning rate and the global gradient norm, the
 * same on every rank. With one rank: nn_trainer_step.
 */
int  nn_dist_step(struct nn_dist *d, struct nn_trainer *tr, struct nn_step_stats *s,
                  struct ad_error *e);

/*
 * Rank 0's decisions after a step, broadcast to all: *stop, the planned
 * steps and warmup (a time budget fits them on rank 0), the elapsed time and
 * the last held-out loss (into tr->st and opt->cfg). A no-op with one rank.
 */
int  nn_dist_control(struct nn_dist *d, struct nn_trainer *tr, int *stop, struct ad_error *e);

/*
 * XXH64 of this rank's parameters into *hash, compared across ranks:
 * AD_EMISMATCH on every rank when any two differ.
 */
int  nn_dist_check_params(struct nn_dist *d, const struct gpt *g, uint64_t *hash,
                          struct ad_error *e);

#endif
