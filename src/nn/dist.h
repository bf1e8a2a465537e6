/*
 * dist.h — data-parallel training over MPI: the same trainer on N processes
 * ("ranks") started by mpirun, one global batch split among them.
 *
 * What it is. Every rank holds the whole model and the whole token stream.
 * Each step draws the rows of one GLOBAL batch of N x B sequences from the
 * data sampler, in the same order and with the same generator state as one
 * process with --batch N*B would; rank r keeps rows r*B .. r*B+B-1 and runs
 * forward and backward on them alone, scaling its gradient by 1 / (the
 * global count of target tokens). Summing the gradients over the ranks
 * (MPI_Allreduce, float) then gives every rank the gradient of the global
 * batch, and every rank takes the same AdamW step, so parameters stay
 * bit-identical on all ranks (checked by XXH64 at the start and the end).
 * The data-parallel scheme of Krizhevsky 2014 ("One weird trick...") and
 * of Goyal et al. 2017 ("Accurate, large minibatch SGD"), without their
 * learning-rate scaling: N ranks x B is, by construction, batch N*B.
 *
 * Buckets and overlap (set by the environment variables AD_MPI_OVERLAP
 * and AD_MPI_BUCKET_KB, which the commands read into nn_dist_config).
 * With AD_MPI_OVERLAP=1 the gradient is summed in
 * buckets of AD_MPI_BUCKET_KB KB (1024 bytes; default 1024) that follow
 * the order in which the backward pass completes it (the final LayerNorm,
 * the blocks from the last, the embeddings): each is started with
 * MPI_Iallreduce as soon as its layers are done and moved on by
 * MPI_Testall between the steps of the backward pass, and all are waited
 * for before the optimiser step (the scheme of PyTorch's
 * DistributedDataParallel, Li et al. 2020), in the last batch of an
 * accumulation only (every objective's backward pass is gpt_backward's). With AD_MPI_OVERLAP=0, the default, the whole
 * gradient is one MPI_Allreduce after the backward pass, or one per
 * AD_MPI_BUCKET_KB in memory order when that is set. Neither paid on the
 * loaded 2-core machine of bench/mpi.sh, hence the defaults: the median
 * ratio of a step to the plain step of the same round stayed between 0.92
 * and 1.07 with no consistent sign (blocking 1 MB buckets: 1.00 to 1.12 on
 * shape S, 1.2 with ranks not bound to cores), while the overlap cut the
 * communication left after the backward pass of shape M by a fifth to a
 * half (tens of ms of a 1-2 s step), which a slower network would feel
 * more. Shared memory costs CPU on the same cores the backward pass uses,
 * so there is little to overlap with here. Each float's sum is
 * elementwise, so on 2 ranks every setting gives the same bits (a + b =
 * b + a exactly); on more, the order of a sum is the one Open MPI's
 * algorithm for the message size takes, so settings may differ in the
 * last bits, and the same settings give the same bits run to run.
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
 * gets SIGALRM, whose handler (the command's) exits with a message, which
 * ends the job too. Files are written
 * atomically, so the last checkpoint stays whole.
 *
 * Without MPI (configure without --with-mpi) or outside mpirun, every
 * function here is the one-process case: size 1, the plain trainer.
 *
 * Workload. Models of 10^4 to 10^8 parameters (40 KB to 400 MB of gradient
 * per step), 1 to a few hundred ranks; one allreduce per bucket per step
 * (the overlap keeps a copy of the gradient: 4 bytes per parameter more).
 */
#ifndef AD_NN_DIST_H
#define AD_NN_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "nn/nn.h"

struct dist_plan;   /* dist.c */

/*
 * How to join and run the job: the caller fills it (the commands read the
 * documented environment variables into it, src/cli/dist_env.c); the
 * library reads no environment.
 */
struct nn_dist_config {
	int    launched;    /* started by an MPI launcher (mpirun): join the job */
	/* The watchdog: each wait in a collective is bounded by alarm() to
	 * timeout + 10 x the slowest step so far; 0: no watchdog. The caller
	 * must have installed a SIGALRM handler that ends the process (the
	 * command's prints a message and exits 1; mpirun then ends the others):
	 * MPI offers no timeout on a blocking collective, and only a signal
	 * interrupts one, so the library arms the alarm and does not handle it. */
	double timeout;     /* seconds: AD_MPI_TIMEOUT, default 600 */
	/* How the gradient is summed (see the top of this file). */
	double bucket_kb;   /* KB per allreduce (1024 bytes); 0: the whole gradient in
	                     * one, unless overlap; < 0: the default (1024 with overlap) */
	int    overlap;     /* start each bucket during the backward pass */
};

struct nn_dist {
	int      rank;        /* this process, 0 .. size-1 */
	int      size;        /* processes in the job; 1 without MPI or mpirun */
	int      local_size;  /* processes of the job on this machine */
	int      active;      /* MPI was initialised here (and must be finished) */
	struct nn_batch scratch;  /* (1, Tb): rows of other ranks, drawn and dropped */
	/* How the gradient is summed (from the configuration); both may be
	 * changed between steps. */
	size_t   bucket;      /* floats per allreduce; 0: the whole gradient in one */
	int      overlap;     /* start each bucket during the backward pass */
	struct dist_plan *plan;   /* the overlap's order and buffer (dist.c) */
	/* Communication statistics since nn_dist_init (rank-local). */
	uint64_t reduces;     /* steps whose gradient was reduced */
	uint64_t messages;    /* gradient allreduce calls (buckets), all steps */
	uint64_t bytes;       /* gradient payload reduced: 4 * nparams per step */
	double   seconds;     /* wall time inside MPI calls on the gradient */
	/* The watchdog: a rank that waits in a collective for longer than
	 * timeout + 10 x the slowest step is stopped (see nn_dist_config). */
	double   timeout;     /* seconds; 0: no watchdog */
	double   slowest;     /* seconds: the slowest step so far */
};

/*
 * Join the MPI job when cfg->launched (cfg NULL: not launched); otherwise,
 * or without MPI, d is the one-process case and nothing is initialised.
 * A configuration out of range (timeout < 0, bucket_kb > 10^6) is
 * AD_EINVAL.
 */
int  nn_dist_init(struct nn_dist *d, const struct nn_dist_config *cfg, struct ad_error *e);
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
 * A trainer for this rank, once every rank is known to hold the same
 * training text (st->data_hash) and the same parameters (collective;
 * AD_EMISMATCH otherwise): st->batch is the GLOBAL batch, which must divide
 * by d->size; the trainer's batch (tr->batch.B) is the local share and
 * tr->st.batch stays global; tr->dist is d, so that nn_train_run steps
 * over the job. With one rank: nn_trainer_new (and tr->dist = d).
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
 * Rank 0's decisions after a step, broadcast to all: *stop (its value, an
 * int32_t: why the run stops, 0: it goes on), the planned
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
