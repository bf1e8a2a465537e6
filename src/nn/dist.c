/*
 * dist.c — data-parallel training over MPI (see dist.h).
 *
 * Input: a trainer whose batch is this rank's share of the global batch;
 * output: the same optimiser step on every rank. The collectives per step
 * are the gradient's allreduces (float, summed: one, or one per bucket,
 * blocking after the backward pass or started during it), one allreduce of
 * the loss (double) and one small broadcast of rank 0's decisions.
 *
 * Without HAVE_MPI (or outside mpirun) every function is the one-process
 * case, so the rest of the program has one code path.
 */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sched.h>
#endif
#ifdef HAVE_MPI
#include <mpi.h>
#endif

#include "base/hash.h"
#include "base/progress.h"
#include "nn/dist.h"

int
nn_dist_available(void)
{
#ifdef HAVE_MPI
	return 1;
#else
	return 0;
#endif
}

int
nn_dist_default_threads(const struct nn_dist *d)
{
	long online = sysconf(_SC_NPROCESSORS_ONLN), mine = online;

	if (d->size <= 1 || online <= 0)
		return 0;
#ifdef __linux__
	{
		cpu_set_t set;
		if (sched_getaffinity(0, sizeof set, &set) == 0)
			mine = CPU_COUNT(&set);
	}
#endif
	/* Bound by the launcher to fewer cores than the machine has: use them;
	 * otherwise share the machine's cores among its ranks. */
	if (mine < online)
		return mine > 0 ? (int)mine : 1;
	return online / d->local_size > 0 ? (int)(online / d->local_size) : 1;
}

/*
 * The default bucket, measured with bench/mpi.sh (bench/dist_step.c), 2
 * ranks on a 2-core machine: see dist.h (the overlap's default, off, is
 * the command's: src/cli/dist_env.c). The bucket applies to the overlap;
 * without it the whole gradient is one allreduce unless a bucket is given.
 */
#define DIST_BUCKET_KB_DEFAULT 1024
/* At most this many floats per MPI call: its count is an int. */
#define DIST_MAX_COUNT ((size_t)1 << 28)

#ifdef HAVE_MPI

/* The gradient's buckets from the configuration (see dist.h). */
static int
dist_config_buckets(struct nn_dist *d, const struct nn_dist_config *c, struct ad_error *e)
{
	double kb = c->bucket_kb;

	if (!(c->timeout >= 0 && c->timeout <= 1e6))
		return ad_fail(e, AD_EINVAL, "an MPI time limit of %g s: give 0 (none) to 1000000",
		    c->timeout);
	if (!(kb <= 1e6))
		return ad_fail(e, AD_EINVAL, "an allreduce bucket of %g KB: give at most 1000000",
		    kb);
	d->overlap = c->overlap != 0;
	d->timeout = c->timeout;
	if (kb < 0)
		kb = d->overlap ? DIST_BUCKET_KB_DEFAULT : 0;
	/* KB to floats, at least one; at most what one MPI call can count. */
	d->bucket = kb > 0 ? (size_t)(kb * 256 + 0.5) : 0;
	if (kb > 0 && d->bucket == 0)
		d->bucket = 1;
	if (d->bucket > DIST_MAX_COUNT)
		d->bucket = DIST_MAX_COUNT;
	return 0;
}

/* Bound the wait in a collective (see nn_dist_config): SIGALRM, which the
 * caller handles, after the time limit. */
static void
dist_wait_begin(const struct nn_dist *d)
{
	double limit = d->timeout + 10 * d->slowest;

	if (d->timeout > 0)
		alarm(limit >= 1 ? (limit < 1e6 ? (unsigned)ceil(limit) : 1000000u) : 1u);
}

static void
dist_wait_end(const struct nn_dist *d)
{
	if (d->timeout > 0)
		alarm(0);
}

/* The message of an MPI error code. */
static int
dist_fail(struct ad_error *e, int mrc, const char *what)
{
	char msg[MPI_MAX_ERROR_STRING];
	int  len = 0;

	if (MPI_Error_string(mrc, msg, &len) != MPI_SUCCESS)
		snprintf(msg, sizeof msg, "MPI error %d", mrc);
	return ad_fail(e, AD_EIO, "MPI: %s failed: %s; another rank has probably stopped "
	    "(see its message)", what, msg);
}

int
nn_dist_init(struct nn_dist *d, const struct nn_dist_config *cfg, struct ad_error *e)
{
	int      provided, mrc, rc;
	MPI_Comm local;

	memset(d, 0, sizeof *d);
	d->size = d->local_size = 1;
	if (cfg == NULL || !cfg->launched)
		return 0;
	if ((rc = dist_config_buckets(d, cfg, e)) != 0)
		return rc;
	/* FUNNELED: OpenMP threads compute, only the main thread calls MPI. */
	if ((mrc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided)) != MPI_SUCCESS)
		return dist_fail(e, mrc, "MPI_Init_thread");
	d->active = 1;
	/* Errors come back as codes, turned into messages and MPI_Abort. */
	MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
	MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
	MPI_Comm_size(MPI_COMM_WORLD, &d->size);
	if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL,
	    &local) == MPI_SUCCESS) {
		MPI_Comm_size(local, &d->local_size);
		MPI_Comm_free(&local);
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * The gradient's buckets, started during the backward pass
 * ------------------------------------------------------------------------ */

/* A slice of the gradient buffer. */
struct dist_seg {
	size_t off, n;
};

/*
 * The order in which the backward pass completes the gradient, in stages:
 * stage 0 the final LayerNorm (lnfw, lnfb), stage 1 + j block L-1-j (its
 * slice of each of the 12 per-block tensors), stage L+1 the embeddings
 * (wte, wpe: the tied output layer adds to wte first, the input layer
 * last). As the stages complete, their slices are copied in this order into
 * `pack`; bucket k is pack[k*bucket, (k+1)*bucket), started with
 * MPI_Iallreduce as soon as it is filled, in the order k = 0, 1, ... on
 * every rank (which MPI requires of collectives on one communicator). The
 * reduced pack is copied back after the last bucket completes.
 */
struct dist_plan {
	size_t           nparams, L, nstages, nsegs;
	size_t           asked;      /* d->bucket the buckets were cut for */
	size_t           nbuckets, bucket, cap;  /* cap: requests allocated */
	struct dist_seg *seg;        /* nsegs, in completion order */
	size_t          *stage_seg;  /* nstages + 1: each stage's first segment */
	float           *pack;       /* nparams */
	MPI_Request     *req;        /* cap >= nbuckets */
	/* One step. */
	const float     *grad;
	size_t           stages, filled, started;
	int              mrc;        /* the step's first MPI error */
	double           seconds;    /* inside MPI calls */
	const struct nn_dist *d;
};

static void
dist_plan_free(struct dist_plan *p)
{
	if (p == NULL)
		return;
	ad_free(p->seg);
	ad_free(p->stage_seg);
	ad_free(p->pack);
	ad_free(p->req);
	ad_free(p);
}

/* Cut the pack into buckets of `asked` floats (0: one bucket). */
static int
dist_plan_cut(struct dist_plan *p, size_t asked, struct ad_error *e)
{
	size_t bucket = asked, n;

	if (bucket == 0 || bucket > p->nparams)
		bucket = p->nparams;
	if (bucket > DIST_MAX_COUNT)
		bucket = DIST_MAX_COUNT;
	n = (p->nparams + bucket - 1) / bucket;
	if (n > p->cap) {
		MPI_Request *r = ad_mallocarray(n, sizeof *r);
		if (r == NULL)
			return ad_fail(e, AD_ENOMEM, "out of memory for %zu gradient buckets", n);
		ad_free(p->req);
		p->req = r;
		p->cap = n;
	}
	p->asked = asked;
	p->bucket = bucket;
	p->nbuckets = n;
	return 0;
}

static int
dist_plan_new(struct dist_plan **out, const struct gpt *g, size_t asked, struct ad_error *e)
{
	struct dist_plan *p;
	size_t            s[GPT_NTENSORS], off[GPT_NTENSORS], L = g->cfg.L, o = 0, k = 0;
	int               rc;

	gpt_tensor_sizes(&g->cfg, s);
	for (int t = 0; t < GPT_NTENSORS; t++) {
		off[t] = o;
		o += s[t];
	}
	if ((p = ad_calloc(1, sizeof *p)) == NULL)
		return ad_fail(e, AD_ENOMEM, "out of memory");
	p->nparams = g->nparams;
	p->L = L;
	p->nstages = L + 2;
	p->nsegs = 12 * L + 2;
	p->seg = ad_mallocarray(p->nsegs, sizeof *p->seg);
	p->stage_seg = ad_mallocarray(p->nstages + 1, sizeof *p->stage_seg);
	p->pack = ad_mallocarray(g->nparams, sizeof *p->pack);
	if (p->seg == NULL || p->stage_seg == NULL || p->pack == NULL) {
		dist_plan_free(p);
		return ad_fail(e, AD_ENOMEM, "out of memory for a copy of the gradient (%.0f MB) "
		    "to reduce during the backward pass: set AD_MPI_OVERLAP=0", g->nparams * 4 / 1e6);
	}
	if ((rc = dist_plan_cut(p, asked, e)) != 0) {
		dist_plan_free(p);
		return rc;
	}
	/* lnfw and lnfb, then each block from the last, then wte and wpe
	 * (each pair adjacent in the buffer). */
	p->stage_seg[0] = 0;
	p->seg[k++] = (struct dist_seg){ off[14], s[14] + s[15] };
	for (size_t j = 0; j < L; j++) {
		size_t l = L - 1 - j;
		p->stage_seg[1 + j] = k;
		for (int t = 2; t <= 13; t++)
			p->seg[k++] = (struct dist_seg){ off[t] + l * (s[t] / L), s[t] / L };
	}
	p->stage_seg[L + 1] = k;
	p->seg[k++] = (struct dist_seg){ off[0], s[0] + s[1] };
	p->stage_seg[L + 2] = k;
	*out = p;
	return 0;
}

/* Pack stages up to (not including) `stages`; start the buckets filled;
 * let MPI progress the ones started. */
static void
dist_plan_advance(struct dist_plan *p, size_t stages)
{
	double t0;
	int    flag;

	if (p->mrc != MPI_SUCCESS)
		return;
	for (; p->stages < stages; p->stages++)
		for (size_t k = p->stage_seg[p->stages]; k < p->stage_seg[p->stages + 1]; k++) {
			memcpy(p->pack + p->filled, p->grad + p->seg[k].off,
			    p->seg[k].n * sizeof(float));
			p->filled += p->seg[k].n;
		}
	t0 = ad_now();
	while (p->started < p->nbuckets &&
	    (p->filled == p->nparams || (p->started + 1) * p->bucket <= p->filled)) {
		size_t o = p->started * p->bucket, n = p->nparams - o < p->bucket ? p->nparams - o :
		    p->bucket;
		p->mrc = MPI_Iallreduce(MPI_IN_PLACE, p->pack + o, (int)n, MPI_FLOAT, MPI_SUM,
		    MPI_COMM_WORLD, &p->req[p->started]);
		if (p->mrc != MPI_SUCCESS)
			break;
		p->started++;
	}
	/* Open MPI moves a non-blocking collective on only inside MPI calls. */
	if (p->mrc == MPI_SUCCESS && p->started > 0)
		p->mrc = MPI_Testall((int)p->started, p->req, &flag, MPI_STATUSES_IGNORE);
	p->seconds += ad_now() - t0;
}

/* The backward pass's hook: blocks s .. L-1 and the final LayerNorm done. */
static void
dist_plan_hook(void *ctx, size_t s)
{
	struct dist_plan *p = ctx;

	dist_plan_advance(p, 1 + p->L - s);
}

/* After the backward pass: start the rest, wait for all, unpack. */
static int
dist_plan_finish(struct dist_plan *p, float *grad, struct ad_error *e)
{
	double t0;

	dist_plan_advance(p, p->nstages);
	if (p->mrc != MPI_SUCCESS)
		return dist_fail(e, p->mrc, "the gradient allreduce");
	t0 = ad_now();
	dist_wait_begin(p->d);
	p->mrc = MPI_Waitall((int)p->nbuckets, p->req, MPI_STATUSES_IGNORE);
	dist_wait_end(p->d);
	p->seconds += ad_now() - t0;
	if (p->mrc != MPI_SUCCESS)
		return dist_fail(e, p->mrc, "the gradient allreduce");
	for (size_t k = 0, o = 0; k < p->nsegs; o += p->seg[k].n, k++)
		memcpy(grad + p->seg[k].off, p->pack + o, p->seg[k].n * sizeof(float));
	return 0;
}

void
nn_dist_finish(struct nn_dist *d, int status)
{
	nn_batch_free(&d->scratch);
	dist_plan_free(d->plan);
	d->plan = NULL;
	if (!d->active)
		return;
	d->active = 0;
	if (status != 0 && d->size > 1)
		MPI_Abort(MPI_COMM_WORLD, status);
	MPI_Finalize();
}

int
nn_dist_agree(struct nn_dist *d, uint64_t value, const char *what, struct ad_error *e)
{
	uint64_t lo = value, hi = value;
	int      mrc;

	if (d->size <= 1)
		return 0;
	dist_wait_begin(d);
	if ((mrc = MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD)) ==
	    MPI_SUCCESS)
		mrc = MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
	dist_wait_end(d);
	if (mrc != MPI_SUCCESS)
		return dist_fail(e, mrc, "comparing ranks");
	if (lo != hi)
		return ad_fail(e, AD_EMISMATCH, "the %d ranks do not hold the same %s (rank %d: "
		    "%016llx): give every rank the same files and options", d->size, what, d->rank,
		    (unsigned long long)value);
	return 0;
}

int
nn_dist_trainer_new(struct nn_dist *d, struct nn_trainer **out, struct gpt *g,
    struct adamw *opt, const struct nn_objective *obj, const struct nn_train_state *st,
    const uint32_t *train, size_t ntrain, struct ad_error *e)
{
	struct nn_train_state local;
	int                   rc;

	if (d->size <= 1) {
		if ((rc = nn_trainer_new(out, g, opt, obj, st, train, ntrain, e)) != 0)
			return rc;
		(*out)->dist = d;
		return 0;
	}
	/* Every rank must train the same text from the same parameters. */
	if ((rc = nn_dist_agree(d, st->data_hash, "training text", e)) != 0 ||
	    (rc = nn_dist_agree(d, ad_hash64(g->param_mem, g->nparams * sizeof(float), 0),
	    "initial parameters", e)) != 0)
		return rc;
	if (st->batch % (uint32_t)d->size != 0)
		return ad_fail(e, AD_EINVAL, "a global batch of %u sequences does not split evenly "
		    "over %d ranks: run a number of ranks that divides %u", st->batch, d->size,
		    st->batch);
	local = *st;
	local.batch = st->batch / (uint32_t)d->size;
	if ((rc = nn_trainer_new(out, g, opt, obj, &local, train, ntrain, e)) != 0)
		return rc;
	(*out)->st.batch = st->batch;
	(*out)->dist = d;
	nn_batch_free(&d->scratch);
	if ((rc = nn_batch_new(&d->scratch, 1, st->context, e)) != 0) {
		nn_trainer_free(*out);
		*out = NULL;
		return rc;
	}
	return 0;
}

/* Sum a float buffer over all ranks, in place, in pieces of `piece` floats
 * (0: as few as an int can count), in order; *calls counts the pieces. */
static int
dist_allreduce_float(float *buf, size_t n, size_t piece, uint64_t *calls, struct ad_error *e)
{
	if (piece == 0 || piece > DIST_MAX_COUNT)
		piece = DIST_MAX_COUNT;
	for (size_t off = 0; off < n; off += piece) {
		size_t m = n - off < piece ? n - off : piece;
		int    mrc = MPI_Allreduce(MPI_IN_PLACE, buf + off, (int)m, MPI_FLOAT, MPI_SUM,
		    MPI_COMM_WORLD);
		if (mrc != MPI_SUCCESS)
			return dist_fail(e, mrc, "the gradient allreduce");
		++*calls;
	}
	return 0;
}

int
nn_dist_step(struct nn_dist *d, struct nn_trainer *tr, struct nn_step_stats *s,
    struct ad_error *e)
{
	struct nn_train_state *st = &tr->st;
	struct dist_plan      *p = NULL;
	double                 loss = 0, t0, tstep = ad_now();
	int                    rc, mrc;

	if (d->size <= 1)
		return nn_trainer_step(tr, s, e);
	if (d->overlap) {
		if (d->plan == NULL || d->plan->nparams != tr->g->nparams ||
		    d->plan->L != tr->g->cfg.L) {
			dist_plan_free(d->plan);
			d->plan = NULL;
			if ((rc = dist_plan_new(&d->plan, tr->g, d->bucket, e)) != 0)
				return rc;
		}
		p = d->plan;
		/* d->bucket may change between steps (bench/dist_step.c does). */
		if (p->asked != d->bucket && (rc = dist_plan_cut(p, d->bucket, e)) != 0)
			return rc;
		p->d = d;
		p->grad = tr->g->grad_mem;
		p->stages = p->filled = p->started = 0;
		p->mrc = MPI_SUCCESS;
		p->seconds = 0;
	}
	gpt_zero_grad(tr->g);
	for (uint32_t k = 0; k < st->accum; k++) {
		size_t global = nn_trainer_draw(tr, d->rank, d->size, &d->scratch);
		int    last = p != NULL && k + 1 == st->accum;
		double l;

		if (global == 0)
			return ad_fail(e, AD_EDATA, "a batch with no target tokens at step %llu",
			    (unsigned long long)st->step + 1);
		/* Scaled by the global count, so that the SUM over ranks is the
		 * gradient of the global batch's mean loss. The last batch's
		 * backward pass starts the buckets as it completes them. */
		if ((rc = nn_trainer_pass(tr, (float)(1.0 / ((double)global * st->accum)),
		    last ? dist_plan_hook : NULL, last ? p : NULL, &l, e)) != 0)
			return rc;
		/*
		 * One process's loss is the mean over the accum batches of each
		 * batch's mean: (1/accum) sum_k (sum of nats_k / global_k). This
		 * rank adds its share of each batch's sum; the allreduce adds the
		 * shares.
		 */
		if (tr->batch.counted > 0)
			loss += l * (double)tr->batch.counted / (double)global / st->accum;
		st->tokens_seen += global;
	}
	if (p != NULL) {
		rc = dist_plan_finish(p, tr->g->grad_mem, e);
		d->seconds += p->seconds;
		d->messages += p->nbuckets;
	} else {
		t0 = ad_now();
		dist_wait_begin(d);
		rc = dist_allreduce_float(tr->g->grad_mem, tr->g->nparams, d->bucket, &d->messages,
		    e);
		dist_wait_end(d);
		d->seconds += ad_now() - t0;
	}
	if (rc != 0)
		return rc;
	d->reduces++;
	d->bytes += (uint64_t)tr->g->nparams * sizeof(float);
	dist_wait_begin(d);
	mrc = MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
	dist_wait_end(d);
	if (mrc != MPI_SUCCESS)
		return dist_fail(e, mrc, "the loss allreduce");
	/* Every rank sees the same loss and gradient, so every rank takes the
	 * same branch in nn_trainer_finish: no rank is left waiting in a
	 * collective. */
	if ((rc = nn_trainer_finish(tr, loss, s, e)) != 0)
		return rc;
	if (ad_now() - tstep > d->slowest)
		d->slowest = ad_now() - tstep;
	return 0;
}

/* Rank 0's decisions of one step, as broadcast. */
struct dist_control {
	uint64_t steps, warmup;
	double   elapsed, last_val;
	int32_t  stop;
};

int
nn_dist_control(struct nn_dist *d, struct nn_trainer *tr, int *stop, struct ad_error *e)
{
	struct dist_control c;
	int                 mrc;

	if (d->size <= 1)
		return 0;
	memset(&c, 0, sizeof c);
	c.steps = tr->st.steps;
	c.warmup = tr->st.warmup;
	c.elapsed = tr->st.elapsed;
	c.last_val = tr->st.last_val;
	c.stop = (int32_t)*stop;
	/* Every rank runs the same binary on the same machine type: the
	 * struct travels as bytes. */
	dist_wait_begin(d);
	mrc = MPI_Bcast(&c, (int)sizeof c, MPI_BYTE, 0, MPI_COMM_WORLD);
	dist_wait_end(d);
	if (mrc != MPI_SUCCESS)
		return dist_fail(e, mrc, "the step broadcast");
	tr->st.steps = tr->opt->cfg.steps = c.steps;
	tr->st.warmup = tr->opt->cfg.warmup = c.warmup;
	tr->st.elapsed = c.elapsed;
	tr->st.last_val = c.last_val;
	*stop = c.stop;
	return 0;
}

int
nn_dist_check_params(struct nn_dist *d, const struct gpt *g, uint64_t *hash,
    struct ad_error *e)
{
	uint64_t h = ad_hash64(g->param_mem, g->nparams * sizeof(float), 0);
	int      rc;

	if ((rc = nn_dist_agree(d, h, "parameters", e)) != 0)
		return ad_fail(e, rc, "rank %d of %d: the parameters differ between ranks after "
		    "training (XXH64 %016llx here): a bug in the data-parallel step; no model was "
		    "written", d->rank, d->size, (unsigned long long)h);
	*hash = h;
	return 0;
}

#else /* !HAVE_MPI: the one-process case */

int
nn_dist_init(struct nn_dist *d, const struct nn_dist_config *cfg, struct ad_error *e)
{
	(void)cfg;
	(void)e;
	memset(d, 0, sizeof *d);
	d->size = d->local_size = 1;
	return 0;
}

void
nn_dist_finish(struct nn_dist *d, int status)
{
	(void)d;
	(void)status;
}

int
nn_dist_agree(struct nn_dist *d, uint64_t value, const char *what, struct ad_error *e)
{
	(void)d;
	(void)value;
	(void)what;
	(void)e;
	return 0;
}

int
nn_dist_trainer_new(struct nn_dist *d, struct nn_trainer **out, struct gpt *g,
    struct adamw *opt, const struct nn_objective *obj, const struct nn_train_state *st,
    const uint32_t *train, size_t ntrain, struct ad_error *e)
{
	int rc = nn_trainer_new(out, g, opt, obj, st, train, ntrain, e);

	if (rc == 0)
		(*out)->dist = d;
	return rc;
}

int
nn_dist_step(struct nn_dist *d, struct nn_trainer *tr, struct nn_step_stats *s,
    struct ad_error *e)
{
	(void)d;
	return nn_trainer_step(tr, s, e);
}

int
nn_dist_control(struct nn_dist *d, struct nn_trainer *tr, int *stop, struct ad_error *e)
{
	(void)d;
	(void)tr;
	(void)stop;
	(void)e;
	return 0;
}

int
nn_dist_check_params(struct nn_dist *d, const struct gpt *g, uint64_t *hash,
    struct ad_error *e)
{
	(void)d;
	(void)e;
	*hash = ad_hash64(g->param_mem, g->nparams * sizeof(float), 0);
	return 0;
}

#endif
