/*
 * err.c — error messages, checked allocation with failure injection, and the
 * interrupt flag. See err.h.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"

const char *
ad_strerror(int code)
{
	switch (code) {
	case AD_OK:        return "success";
	case AD_ENOMEM:    return "out of memory";
	case AD_EIO:       return "input/output error";
	case AD_EFORMAT:   return "malformed input";
	case AD_EVERSION:  return "unsupported format version";
	case AD_ECHECKSUM: return "checksum mismatch";
	case AD_EINVAL:    return "invalid argument";
	case AD_EMISMATCH: return "files do not belong together";
	case AD_ENUMERIC:  return "non-finite number";
	case AD_EINTR:     return "interrupted";
	case AD_EDATA:     return "not enough data";
	}
	return "unknown error";
}

static void AD_PRINTF(3, 0)
err_vset(struct ad_error *e, int code, const char *fmt, va_list ap)
{
	e->code = code;
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int
ad_fail(struct ad_error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int
ad_fail_errno(struct ad_error *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	int     code = errnum == ENOMEM ? AD_ENOMEM : AD_EIO;
	size_t  n;

	if (e == NULL)
		return code;
	va_start(ap, fmt);
	err_vset(e, code, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(errnum));
	return code;
}

void
ad_error_prefix(struct ad_error *e, const char *fmt, ...)
{
	char    old[AD_ERROR_MAX];
	va_list ap;
	size_t  n;

	if (e == NULL)
		return;
	memcpy(old, e->msg, sizeof old);
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof e->msg - n, ": %s", old);
}

void
ad_error_clear(struct ad_error *e)
{
	if (e != NULL) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

/* -------------------------------------------------------------------------- */
/* Allocation. */

/*
 * Atomic: threaded kernels allocate (per-thread encoders, buffers), and a
 * plain counter was a data race there (ThreadSanitizer, tests/tsan/run.sh).
 */
static _Atomic long alloc_fail_after = -1;

void
ad_alloc_fail_after(long n)
{
	atomic_store(&alloc_fail_after, n);
}

/* True when the injected-failure counter says this allocation must fail. */
static int
alloc_should_fail(void)
{
	long n = atomic_load_explicit(&alloc_fail_after, memory_order_relaxed);

	while (n > 0)
		if (atomic_compare_exchange_weak_explicit(&alloc_fail_after, &n, n - 1,
		    memory_order_relaxed, memory_order_relaxed))
			return 0;
	return n == 0;
}

void *
ad_malloc(size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(size == 0 ? 1 : size);
}

void *
ad_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	if (alloc_should_fail())
		return NULL;
	return calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
}

void *
ad_mallocarray(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return ad_malloc(n * size);
}

void *
ad_realloc(void *p, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, size == 0 ? 1 : size);
}

void *
ad_reallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	return ad_realloc(p, n * size);
}

char *
ad_strndup(const char *s, size_t n)
{
	char *d = ad_malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

char *
ad_strdup(const char *s)
{
	return ad_strndup(s, strlen(s));
}

void
ad_free(void *p)
{
	free(p);
}

int
ad_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t max, c;
	void  *p, *q;

	assert(elem > 0);
	if (need <= *cap)
		return 0;
	max = SIZE_MAX / elem;
	if (need > max)
		return AD_ENOMEM;
	c = *cap > first ? *cap : first;
	if (c == 0)
		c = 1;
	/* Double, but never past what a size_t can count in bytes: then take
	 * exactly what is needed. */
	while (c < need)
		c = c > max / 2 ? need : c * 2;
	/* The caller's pointer is a T *, read and written as bytes: a T * and a
	 * void * have one representation (POSIX), and memcpy breaks no aliasing
	 * rule where a cast to void ** would. */
	memcpy(&p, pp, sizeof p);
	if ((q = ad_reallocarray(p, c, elem)) == NULL)
		return AD_ENOMEM;
	memcpy(pp, &q, sizeof q);
	*cap = c;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Interrupts. */

static volatile sig_atomic_t interrupt_signal;
static volatile sig_atomic_t interrupt_pipe[2] = { -1, -1 };   /* read, write end */

int
ad_interrupted(void)
{
	return interrupt_signal != 0;
}

void
ad_interrupt_set(int signo)
{
	int saved = errno, fd = interrupt_pipe[1];

	interrupt_signal = signo;
	/* Non-blocking: a full pipe already says "interrupted". */
	if (fd >= 0) {
		ssize_t w = write(fd, "!", 1);
		(void)w;
	}
	errno = saved;
}

int
ad_interrupt_fd(void)
{
	int fd[2];

	if (interrupt_pipe[0] >= 0)
		return interrupt_pipe[0];
	if (pipe(fd) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		fcntl(fd[i], F_SETFD, FD_CLOEXEC);
		fcntl(fd[i], F_SETFL, fcntl(fd[i], F_GETFL) | O_NONBLOCK);
	}
	interrupt_pipe[0] = fd[0];
	interrupt_pipe[1] = fd[1];
	return fd[0];
}

void
ad_interrupt_drain(void)
{
	char buf[64];

	if (interrupt_pipe[0] >= 0)
		while (read(interrupt_pipe[0], buf, sizeof buf) > 0)
			;
}

void
ad_interrupt_clear(void)
{
	interrupt_signal = 0;
}
