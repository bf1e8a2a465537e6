/*
 * child.c — one training run as a child process, timed. See compare.h.
 *
 * Why a child process: the figures the report shows for a model's training
 * (wall time, peak resident memory) must be of that training alone, not of
 * a process that has already tokenized the corpus and trained other models;
 * wait4's rusage gives exactly the child's peak. And an interruption, or a
 * crash of one trainer, leaves every finished model on disk.
 *
 * How it waits: the child holds the write end of a pipe across exec and
 * nobody else does, so the read end reports end-of-file the moment the child
 * exits; poll() sleeps on it and on the interrupt pipe (ad_interrupt_fd),
 * which a SIGINT or SIGTERM wakes whichever thread ran the handler. Then a
 * blocking wait4 reaps the child with its rusage. A second, close-on-exec
 * pipe carries errno back when the exec itself fails, so that the failure
 * comes back as an error value instead of a message printed by the child.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/progress.h"
#include "compare/compare.h"

#define CHILD_MAX_ARGS 64

/* Close both ends of a pipe that is open. */
static void
child_close(int fd[2])
{
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0) {
			close(fd[i]);
			fd[i] = -1;
		}
}

/* Sleep until the child's end of done closes, passing one interrupt on. */
static void
child_wait_exit(pid_t pid, int done)
{
	int forwarded = 0, intr = ad_interrupt_fd();

	for (;;) {
		struct pollfd pf[2] = { { done, POLLIN, 0 }, { intr, POLLIN, 0 } };
		int           n;

		/* Checked before every sleep: a signal that came before the
		 * interrupt pipe existed set only the flag. */
		if (ad_interrupted() && !forwarded) {
			kill(pid, SIGINT);
			forwarded = 1;
		}
		n = poll(pf, intr >= 0 ? 2 : 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[0].revents != 0)
			return;   /* exited (or poll failed: wait4 below blocks) */
		if (pf[1].revents != 0)
			ad_interrupt_drain();
	}
}

int
compare_child_run(const char *self, char *const argv[], double *seconds, uint64_t *rss_kb,
    struct ad_error *e)
{
	char         *full[CHILD_MAX_ARGS + 1];
	struct rusage ru;
	const char   *cmd = argv[0], *sub = argv[0] != NULL && argv[1] != NULL ? argv[1] : "";
	double        t0, elapsed;
	pid_t         pid, w;
	int           done[2] = { -1, -1 }, execfail[2] = { -1, -1 }, status, n = 0, err = 0;
	ssize_t       got;

	full[n++] = "autodidact";
	for (int i = 0; argv[i] != NULL; i++) {
		if (n == CHILD_MAX_ARGS)
			return ad_fail(e, AD_EINVAL, "'%s %s': more than %d arguments", cmd, sub,
			    CHILD_MAX_ARGS - 1);
		full[n++] = argv[i];
	}
	full[n] = NULL;
	(void)ad_interrupt_fd();   /* made now, before the child could need it */
	/* Both close-on-exec, so that a child another thread starts at the same
	 * time (sweep --jobs) does not hold our child's end of done open; our
	 * child clears the flag on its own end just before its exec. */
	if (pipe2(done, O_CLOEXEC) != 0 || pipe2(execfail, O_CLOEXEC) != 0) {
		err = errno;
		child_close(done);
		return ad_fail_errno(e, err, "cannot start '%s %s'", cmd, sub);
	}
	fflush(stdout);
	fflush(stderr);
	t0 = ad_now();
	if ((pid = fork()) < 0) {
		err = errno;
		child_close(done);
		child_close(execfail);
		return ad_fail_errno(e, err, "cannot start '%s %s'", cmd, sub);
	}
	if (pid == 0) {
		/* Its own process group: a Ctrl-C on the terminal reaches only us,
		 * and we pass exactly one SIGINT on, so the child stops cleanly (a
		 * second signal would kill it mid-checkpoint). Only async-signal-
		 * safe calls from here to the exec. */
		setpgid(0, 0);
		dup2(STDERR_FILENO, STDOUT_FILENO);
		fcntl(done[1], F_SETFD, 0);
		execv(self, full);
		err = errno;
		got = write(execfail[1], &err, sizeof err);
		_exit(127);
	}
	close(done[1]);
	close(execfail[1]);
	/* Blocks only until the exec: then the close-on-exec end is closed. */
	do
		got = read(execfail[0], &err, sizeof err);
	while (got < 0 && errno == EINTR);
	close(execfail[0]);
	if (got != (ssize_t)sizeof err)
		child_wait_exit(pid, done[0]);
	close(done[0]);
	do
		w = wait4(pid, &status, 0, &ru);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return ad_fail_errno(e, errno, "waiting for '%s %s'", cmd, sub);
	if (got == (ssize_t)sizeof err)
		return ad_fail_errno(e, err, "cannot run %s", self);
	elapsed = ad_now() - t0;
	if (ad_interrupted())
		return ad_fail(e, AD_EINTR, "interrupted");
	if (WIFSIGNALED(status))
		return ad_fail(e, AD_EIO, "'autodidact %s %s' was killed by signal %d",
		    cmd, sub, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return ad_fail(e, AD_EIO, "'autodidact %s %s' failed (exit %d; its message is above)",
		    cmd, sub, WEXITSTATUS(status));
	*seconds = elapsed;
	*rss_kb = (uint64_t)ru.ru_maxrss;
	return 0;
}
