/*
 * err.h — error codes, error messages and checked allocation for every module.
 *
 * Library code never prints and never exits. A function that can fail for a
 * reason other than a bug returns 0 on success or a negative enum ad_err, and
 * fills an optional struct ad_error with one human sentence that names the
 * file, the place (line, byte offset, token) and what to do next. The message
 * lives inside the struct, so reporting an error never allocates and can never
 * itself fail or leak. Bugs are caught by assert().
 *
 * All allocation goes through ad_malloc() and friends, so that a test can make
 * the Nth allocation fail (ad_alloc_fail_after) and check that every caller
 * turns it into AD_ENOMEM instead of crashing.
 */
#ifndef AD_ERR_H
#define AD_ERR_H

#include <stddef.h>
#include <stdint.h>

enum ad_err {
	AD_OK        =  0,
	AD_ENOMEM    = -1,  /* out of memory, or a size too large to allocate */
	AD_EIO       = -2,  /* the operating system refused a read or a write */
	AD_EFORMAT   = -3,  /* an input file is malformed */
	AD_EVERSION  = -4,  /* a file written by a newer or unknown format version */
	AD_ECHECKSUM = -5,  /* a file whose checksum does not match: corrupt */
	AD_EINVAL    = -6,  /* a bad argument or configuration */
	AD_EMISMATCH = -7,  /* files that do not belong together (e.g. model vs vocabulary) */
	AD_ENUMERIC  = -8,  /* a NaN or infinity where a finite number is needed */
	AD_EINTR     = -9,  /* stopped by a signal (SIGINT, SIGTERM) */
	AD_EDATA     = -10, /* the data cannot support what was asked (too small, empty) */
};

#define AD_ERROR_MAX 1024

struct ad_error {
	int  code;               /* the enum ad_err of the failure, 0 when none */
	char msg[AD_ERROR_MAX];  /* one line, no trailing newline */
};

#if defined(__GNUC__)
#define AD_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define AD_PRINTF(f, a)
#endif

/* A short fixed description of an error code ("out of memory"). */
const char *ad_strerror(int code);

/*
 * Record a failure in e (which may be NULL) and return code, so that a caller
 * can write "return ad_fail(e, AD_EFORMAT, "%s:%zu: ...", path, line);".
 */
int ad_fail(struct ad_error *e, int code, const char *fmt, ...) AD_PRINTF(3, 4);

/*
 * Like ad_fail, appending ": " and strerror(errnum) to the message. The code
 * is AD_ENOMEM for ENOMEM and AD_EIO otherwise.
 */
int ad_fail_errno(struct ad_error *e, int errnum, const char *fmt, ...) AD_PRINTF(3, 4);

/* Prefix an existing message in e with "prefix: " (e.g. the file being read). */
void ad_error_prefix(struct ad_error *e, const char *fmt, ...) AD_PRINTF(2, 3);

/* Reset e to "no error". */
void ad_error_clear(struct ad_error *e);

/*
 * Checked allocation. Every function returns NULL on failure (including an
 * overflowing n * size) and never aborts; ad_free(NULL) is a no-op.
 */
void *ad_malloc(size_t size);
void *ad_calloc(size_t n, size_t size);
void *ad_mallocarray(size_t n, size_t size);
void *ad_realloc(void *p, size_t size);
void *ad_reallocarray(void *p, size_t n, size_t size);
char *ad_strdup(const char *s);
char *ad_strndup(const char *s, size_t n);
void  ad_free(void *p);

/*
 * Make room in a growable array. pp is the address of the array pointer
 * (a T **, the array NULL at first) and *cap the items of elem bytes it
 * holds (0 at first). When need > *cap, the array is reallocated to hold
 * first items, or twice as many as now, doubling until need fit, so that
 * appending n items one at a time costs O(n) copies in all. Returns 0, or
 * AD_ENOMEM when the allocation fails or need items of elem bytes do not
 * fit a size_t; *pp and *cap are then untouched, and the old array is still
 * the caller's to free.
 */
int   ad_grow(void *pp, size_t *cap, size_t need, size_t elem, size_t first);

/*
 * Allocation-failure injection for tests: after this many more successful
 * allocations, every allocation fails (-1, the default, turns it off). Read
 * once from the environment variable AD_FAIL_ALLOC by the command line.
 */
void ad_alloc_fail_after(long n);

/*
 * Signals. The command line installs handlers that only set a flag; long
 * loops in the library poll ad_interrupted() at safe points and return
 * AD_EINTR, so that files are closed and checkpoints written on the way out.
 */
int  ad_interrupted(void);
void ad_interrupt_set(int signo);
void ad_interrupt_clear(void);
/*
 * For code that sleeps in poll() rather than looping (waiting for a child
 * process): the read end of a pipe that becomes readable when a signal sets
 * the flag, whichever thread the handler ran on. Created on the first call
 * (-1 if the pipe cannot be made); ad_interrupt_set writes one byte to it
 * (write is async-signal-safe). Drain it with ad_interrupt_drain.
 */
int  ad_interrupt_fd(void);
void ad_interrupt_drain(void);

#endif
