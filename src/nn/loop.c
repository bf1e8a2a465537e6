/*
 * loop.c — the training run: the loop that takes optimiser steps until the
 * schedule is done, the time budget is spent or someone asks it to stop,
 * and decides around each step when to refit the schedule to the budget,
 * when to evaluate the held-out text and when a checkpoint is due.
 *
 * Input: a trainer (one process, or this rank's share of an MPI job) and
 * the run's configuration; output: the trained state in tr->st and the
 * reason the run ended. It prints nothing and writes nothing: logging,
 * progress, checkpoint files and signals belong to the caller, reached
 * through struct nn_run_hooks (the shape of llm.c's training loop, with
 * its printf and file writes turned into hooks).
 */
#include "config.h"

#include <math.h>

#include "base/progress.h"
#include "nn/dist.h"
#include "nn/nn.h"

/* The "no step count" of a run fitted to a budget: room to grow. */
#define RUN_STEPS_MAX (UINT64_MAX / 8)

int
nn_budget_update(struct nn_budget *b, uint64_t step, double elapsed, uint64_t *steps,
    uint64_t *warmup)
{
	double   per, left;
	uint64_t total;

	if (step == b->start + 1)
		b->t_first = elapsed;
	if (!(step == b->start + 4 ||
	    (step > b->start + 4 && elapsed >= b->t_refit && elapsed < b->budget)))
		return 0;
	/* The mean time of steps start+2 .. step, and what fits in the rest. */
	per = (elapsed - b->t_first) / (double)(step - b->start - 1);
	left = per > 0 ? (b->budget - elapsed) / per : (double)RUN_STEPS_MAX;
	if (!(left > 0))
		left = 0;
	total = left >= (double)(RUN_STEPS_MAX - step) ? RUN_STEPS_MAX : step + (uint64_t)left;
	if (total < step + 1)
		total = step + 1;
	*steps = total;
	if (b->fit_warmup && step == b->start + 4)
		*warmup = total / 20 < 200 ? total / 20 : 200;
	b->t_refit = elapsed + b->budget / 20;
	return 1;
}

static double
run_now(const struct nn_run_hooks *h)
{
	return h->now != NULL ? h->now(h->ctx) : ad_now();
}

int
nn_train_run(struct nn_trainer *tr, const struct nn_run_config *c,
    const struct nn_run_hooks *h, struct nn_run_result *r, struct ad_error *e)
{
	struct nn_train_state *st = &tr->st;
	struct nn_dist        *d = tr->dist;
	int                    rank = d != NULL ? d->rank : 0, many = d != NULL && d->size > 1;
	struct nn_budget       fit = { c->budget, st->step, c->fit_warmup, 0, 0 };
	double                 t0;
	int                    rc;

	r->end = NN_RUN_DONE;
	r->start = st->step;
	r->last_val = st->last_val;
	r->val_step = 0;
	r->saved = 0;
	r->saved_step = 0;
	r->step_failed = 0;
	t0 = run_now(h) - st->elapsed;
	while (st->step < st->steps) {
		struct nn_step_stats s;
		struct nn_run_step   rs;
		double               ts = run_now(h), dt;
		int                  stop;

		/* One process stops before the step; a job decides after it (below). */
		if (!many && h->stop != NULL && h->stop(h->ctx)) {
			r->end = NN_RUN_STOPPED;
			break;
		}
		rc = d != NULL ? nn_dist_step(d, tr, &s, e) : nn_trainer_step(tr, &s, e);
		if (rc != 0) {
			r->step_failed = 1;
			return rc;
		}
		dt = run_now(h) - ts;
		rs.step = st->step;
		rs.loss = s.loss;
		rs.lr = s.lr;
		rs.grad_norm = s.grad_norm;
		rs.elapsed = st->elapsed = run_now(h) - t0;
		rs.tokens_per_s = st->batch * (double)st->context * st->accum / dt;
		rs.refit = c->fit_budget &&
		    nn_budget_update(&fit, st->step, rs.elapsed, &st->steps, &st->warmup);
		if (rs.refit) {
			tr->opt->cfg.steps = st->steps;
			tr->opt->cfg.warmup = st->warmup;
		}
		rs.steps = st->steps;
		/*
		 * Every val_every steps and at the end of training: the last step,
		 * or the end of the time budget (the test of the stop below, on the
		 * same elapsed time), which may come before the step the schedule
		 * was fitted to. Not at a pause (stop_at, a signal): the run resumed
		 * gives the same log as one straight through.
		 */
		rs.val = rs.train_val = NAN;
		if (rank == 0 && c->nval > 0 &&
		    ((c->val_every > 0 && st->step % c->val_every == 0) || st->step == st->steps ||
		    (c->budget > 0 && rs.elapsed >= c->budget))) {
			double vn;
			size_t vc;
			if ((rc = nn_evaluate(tr->g, tr->obj, c->val, c->nval, c->val_tokens, &vn, &vc,
			    e)) != 0)
				return rc;
			rs.val = r->last_val = st->last_val = vc ? vn / (double)vc : NAN;
			if (c->train != NULL) {
				if ((rc = nn_evaluate_targets(tr->g, tr->obj, c->train, c->train_targets,
				    c->ntrain, c->val_tokens, &vn, &vc, e)) != 0)
					return rc;
				rs.train_val = vc ? vn / (double)vc : NAN;
			}
			r->val_step = st->step;
		}
		rs.last_val = r->last_val;
		if (rank == 0 && h->step != NULL)
			h->step(h->ctx, &rs);
		if (c->ckpt_every > 0 && st->step % c->ckpt_every == 0) {
			if (rank == 0 && h->checkpoint != NULL && (rc = h->checkpoint(h->ctx, tr, e)) != 0)
				return rc;
			r->saved = 1;   /* on every rank: rank 0 wrote it */
			r->saved_step = st->step;
		}
		/* Rank 0 decides for every rank (nn_dist_control broadcasts it):
		 * 0 to go on, else the reason to stop plus one. */
		stop = (c->budget > 0 && rs.elapsed >= c->budget) ? NN_RUN_BUDGET + 1 :
		    (c->stop_at > 0 && st->step >= c->stop_at) ? NN_RUN_STOP_AT + 1 :
		    (many && h->stop != NULL && h->stop(h->ctx)) ? NN_RUN_STOPPED + 1 : 0;
		if (d != NULL && (rc = nn_dist_control(d, tr, &stop, e)) != 0)
			return rc;
		if (stop) {
			r->end = (enum nn_run_end)(stop - 1);
			break;
		}
	}
	return 0;
}
