/*
 * io.h — reading inputs and writing outputs without losing data.
 *
 * Reading: ad_map_file() gives the whole of a file as one read-only byte
 * range, through mmap for regular files (so a model of hundreds of megabytes
 * opens in milliseconds and is shared between processes), and by reading into
 * memory for pipes and "-" (stdin). ad_chunks streams a corpus larger than
 * memory in large pieces that end on line boundaries.
 *
 * Writing: ad_atomic writes a file under a temporary name in the same
 * directory, then flushes, fsyncs and renames it over the target, so that the
 * target is at every moment either the complete old file or the complete new
 * one. A failed or abandoned write removes its temporary file.
 */
#ifndef AD_IO_H
#define AD_IO_H

#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

/* A read-only view of a whole file. */
struct ad_map {
	const uint8_t *data;  /* size bytes; never NULL (points at "" when empty) */
	size_t         size;
	int            mapped; /* 1: munmap on release; 0: heap, ad_free on release */
};

/*
 * Map path ("-" is stdin) into m. Directories, missing files and unreadable
 * files fail with a message naming the path.
 */
int  ad_map_file(const char *path, struct ad_map *m, struct ad_error *e);
void ad_map_release(struct ad_map *m);

/*
 * Streaming reader: each call to ad_chunks_next() yields the next piece of the
 * input, at most max bytes long (and at least one byte), ending just after a
 * newline whenever a newline occurs within max bytes of the start. *cut is set
 * to 1 when a piece ends inside a line longer than max. The pointer stays
 * valid until the next call. Returns 1 for a piece, 0 at the end, or an error.
 */
struct ad_chunks;
int  ad_chunks_open(struct ad_chunks **cp, const char *path, size_t max, struct ad_error *e);
int  ad_chunks_next(struct ad_chunks *c, const uint8_t **data, size_t *len, int *cut,
                    struct ad_error *e);
/* Bytes consumed so far and the total size (0 when unknown: a pipe). */
uint64_t ad_chunks_offset(const struct ad_chunks *c);
uint64_t ad_chunks_total(const struct ad_chunks *c);
void ad_chunks_free(struct ad_chunks *c);

/* Whether path names a directory, and its size when it is a regular file. */
int ad_path_is_dir(const char *path);
int ad_file_size(const char *path, uint64_t *size, struct ad_error *e);

/*
 * The memory this process may use, in bytes (0 when unknown): the machine's
 * physical memory, or less where a cgroup (a container, a systemd slice)
 * limits the process's group or a group above it: cgroup v2's memory.max or
 * v1's memory.limit_in_bytes. cgroup_file and cgroup_fs name
 * /proc/self/cgroup and /sys/fs/cgroup (tests give a tree of their own).
 * *by_cgroup is set to 1 when a cgroup limit is the lower, else 0.
 */
uint64_t ad_memory_limit(const char *cgroup_file, const char *cgroup_fs, int *by_cgroup);

/*
 * Atomic file writer. Write through a->f between open and commit. The path
 * "-" writes to stdout directly (commit only flushes).
 */
struct ad_atomic {
	FILE *f;      /* the stream to write */
	char *path;   /* the target */
	char *tmp;    /* the temporary file, NULL for stdout */
	int   fd;     /* the temporary file's descriptor, under f */
};

int  ad_atomic_open(struct ad_atomic *a, const char *path, struct ad_error *e);
/* Flush, fsync, close and rename over the target; on failure as abort. */
int  ad_atomic_commit(struct ad_atomic *a, struct ad_error *e);
/* Close and delete the temporary file; the target is untouched. */
void ad_atomic_abort(struct ad_atomic *a);
/*
 * After a write through a->f failed (ferror): abort, and describe the failure
 * with the target's name and errno's cause. Returns the error code.
 */
int  ad_atomic_fail(struct ad_atomic *a, struct ad_error *e);

/*
 * Write all of a buffer to path atomically: the usual way to save a file
 * that was built in memory.
 */
int ad_write_file(const char *path, const void *data, size_t size, struct ad_error *e);

/*
 * Write-failure injection for tests ("the disk is full"): after this many
 * more bytes written to files through ad_atomic, every write fails with
 * ENOSPC, as on a full file system (-1, the default, turns it off). Read once
 * from the environment variable AD_FAIL_WRITE by the command line.
 */
void ad_write_fail_after(long long nbytes);

#endif
