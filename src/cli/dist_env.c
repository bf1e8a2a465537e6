/*
 * dist_env.c — the MPI job's configuration from the environment, which is
 * the documented interface of the commands that run under mpirun ('train
 * transformer', 'train ngram'): whether a launcher started the process,
 * AD_MPI_TIMEOUT, AD_MPI_BUCKET_KB and AD_MPI_OVERLAP (see
 * man/autodidact-train-transformer.1 and src/nn/dist.h). The library
 * (src/nn/dist.c) takes them in a struct nn_dist_config and reads no
 * environment.
 *
 * It also owns the watchdog's end: the library bounds each wait in a
 * collective with alarm(), and the SIGALRM handler installed here is what
 * stops a rank whose peers went silent. A handler can only write and
 * _exit (both async-signal-safe); mpirun then ends the other ranks, and
 * files are written atomically, so the last checkpoint stays whole.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "nn/dist.h"

/* The defaults: AD_MPI_TIMEOUT, and AD_MPI_OVERLAP (off: it did not pay on
 * the 2-core machine of bench/mpi.sh, see src/nn/dist.h). */
#define DIST_ENV_TIMEOUT 600
#define DIST_ENV_OVERLAP 0

static void
dist_env_timeout(int sig)
{
	static const char msg[] = "autodidact: no word from the other MPI ranks within the time "
	    "limit (AD_MPI_TIMEOUT plus 10 times the slowest step): a rank has stopped, hangs or "
	    "cannot be reached; stopping (the last checkpoint is whole)\n";
	ssize_t w;

	(void)sig;
	w = write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)w;
	_exit(1);
}

int
cli_dist_config(struct nn_dist_config *c, struct ad_error *e)
{
	const char      *t = getenv("AD_MPI_TIMEOUT"), *b = getenv("AD_MPI_BUCKET_KB");
	const char      *o = getenv("AD_MPI_OVERLAP");
	char            *end = NULL;
	struct sigaction sa;

	memset(c, 0, sizeof *c);
	/* Open MPI's mpirun, or a PMIx or PMI launcher (Slurm's srun, say). */
	c->launched = getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL ||
	    getenv("PMI_RANK") != NULL;
	if (!c->launched || !nn_dist_available())
		return 0;
	c->timeout = DIST_ENV_TIMEOUT;
	if (t != NULL && *t != '\0') {
		double v = strtod(t, &end);
		if (*end != '\0' || !(v >= 1 && v <= 1e6))
			return ad_fail(e, AD_EINVAL, "AD_MPI_TIMEOUT=%s: give a number of seconds "
			    "from 1 to 1000000", t);
		c->timeout = v;
	}
	c->overlap = DIST_ENV_OVERLAP;
	if (o != NULL && *o != '\0') {
		if (strcmp(o, "0") != 0 && strcmp(o, "1") != 0)
			return ad_fail(e, AD_EINVAL, "AD_MPI_OVERLAP=%s: give 1 (start each bucket's "
			    "allreduce during the backward pass) or 0 (after it)", o);
		c->overlap = o[0] == '1';
	}
	c->bucket_kb = -1;   /* the library's default for the overlap setting */
	if (b != NULL && *b != '\0') {
		c->bucket_kb = strtod(b, &end);
		if (*end != '\0' || !(c->bucket_kb >= 0 && c->bucket_kb <= 1e6))
			return ad_fail(e, AD_EINVAL, "AD_MPI_BUCKET_KB=%s: give the bucket size in KB "
			    "(1024 bytes) from 0 (one allreduce of the whole gradient) to 1000000", b);
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = dist_env_timeout;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	return 0;
}
