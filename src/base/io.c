/*
 * io.c — mapped and streamed input, atomic output. See io.h.
 */
#include "config.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/io.h"

static const uint8_t io_empty[1];

/* Read all of fd into a heap buffer (pipes, stdin, files mmap refuses). */
static int
io_slurp(int fd, const char *path, struct ad_map *m, struct ad_error *e)
{
	uint8_t *buf = NULL, *nbuf;
	size_t   cap = 0, len = 0;
	ssize_t  n;

	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			if ((nbuf = ad_realloc(buf, cap)) == NULL) {
				ad_free(buf);
				return ad_fail(e, AD_ENOMEM, "%s: out of memory after reading %zu bytes",
				    path, len);
			}
			buf = nbuf;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			ad_free(buf);
			return ad_fail_errno(e, err, "%s: cannot read", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	m->data = buf;
	m->size = len;
	m->mapped = 0;
	return 0;
}

int
ad_map_file(const char *path, struct ad_map *m, struct ad_error *e)
{
	struct stat st;
	int         fd, rc;
	void       *p;

	if (strcmp(path, "-") == 0)
		return io_slurp(STDIN_FILENO, "<stdin>", m, e);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return ad_fail_errno(e, errno, "%s: cannot open", path);
	if (fstat(fd, &st) != 0) {
		rc = ad_fail_errno(e, errno, "%s: cannot stat", path);
		close(fd);
		return rc;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		return ad_fail(e, AD_EIO, "%s: is a directory, not a file", path);
	}
	if (!S_ISREG(st.st_mode)) {
		rc = io_slurp(fd, path, m, e);
		close(fd);
		return rc;
	}
	if (st.st_size == 0) {
		close(fd);
		m->data = io_empty;
		m->size = 0;
		m->mapped = 0;
		return 0;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		close(fd);
		return ad_fail(e, AD_ENOMEM, "%s: too large to map", path);
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		rc = io_slurp(fd, path, m, e);
		close(fd);
		return rc;
	}
	close(fd);
	m->data = p;
	m->size = (size_t)st.st_size;
	m->mapped = 1;
	return 0;
}

void
ad_map_release(struct ad_map *m)
{
	if (m == NULL || m->data == NULL)
		return;
	if (m->mapped)
		munmap((void *)m->data, m->size);
	else if (m->data != io_empty)
		ad_free((void *)m->data);
	m->data = NULL;
	m->size = 0;
}

int
ad_path_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
ad_file_size(const char *path, uint64_t *size, struct ad_error *e)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return ad_fail_errno(e, errno, "%s: cannot stat", path);
	if (S_ISDIR(st.st_mode))
		return ad_fail(e, AD_EIO, "%s: is a directory, not a file", path);
	*size = (uint64_t)st.st_size;
	return 0;
}

/* -------------------------------------------------------------------------- */
/* Memory limits. */

/* The number a cgroup limit file holds; 0 when absent, unreadable or no
 * limit ("max" in v2; in v1 the largest long rounded down to a page). */
static uint64_t
memory_limit_read(const char *path)
{
	FILE              *f = fopen(path, "r");
	unsigned long long v = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &v) != 1 || v >= (1ULL << 62))
		v = 0;
	fclose(f);
	return (uint64_t)v;
}

/* The lowest limit in file name of dir/group and of every group above it. */
static uint64_t
memory_limit_walk(const char *dir, const char *group, const char *name)
{
	char     path[PATH_MAX];
	size_t   n = strlen(group);
	uint64_t low = 0, v;

	for (;;) {
		while (n > 0 && group[n - 1] == '/')
			n--;
		if ((size_t)snprintf(path, sizeof path, "%s%.*s/%s", dir, (int)n, group, name) <
		    sizeof path && (v = memory_limit_read(path)) > 0 && (low == 0 || v < low))
			low = v;
		if (n == 0)
			return low;
		while (n > 0 && group[n - 1] != '/')
			n--;
	}
}

uint64_t
ad_memory_limit(const char *cgroup_file, const char *cgroup_fs, int *by_cgroup)
{
	long     pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
	uint64_t phys = pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 0;
	uint64_t low = phys, v;
	char     line[PATH_MAX + 64], dir[PATH_MAX];
	FILE    *f = fopen(cgroup_file, "r");

	*by_cgroup = 0;
	/* Lines "id:controllers:group"; v2 has one with no controllers, v1 one
	 * per hierarchy, the memory controller's among them. */
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *ctl = strchr(line, ':'), *group = ctl != NULL ? strchr(ctl + 1, ':') : NULL;
		char *save = NULL, ctls[256];
		const char *name = NULL;
		int v1 = 0;

		/* A group outside this process's cgroup namespace ("/../x") is not
		 * under the mount: its limits cannot be read from here. */
		if (group == NULL || strstr(group, "/..") != NULL)
			continue;
		*group++ = '\0';
		ctl++;
		group[strcspn(group, "\n")] = '\0';
		snprintf(ctls, sizeof ctls, "%s", ctl);
		if (*ctl == '\0')
			name = "memory.max";
		else
			for (char *c = strtok_r(ctl, ",", &save); c != NULL;
			    c = strtok_r(NULL, ",", &save))
				if (strcmp(c, "memory") == 0)
					name = "memory.limit_in_bytes", v1 = 1;
		if (name == NULL)
			continue;
		/* v1's memory hierarchy is at fs/memory, or, mounted with other
		 * controllers and no link by that name, at fs/cpu,memory (the
		 * controllers as this file lists them). */
		const char *mounts[2] = { v1 ? "/memory" : "", ctls };
		for (int k = 0; k < (v1 && strcmp(ctls, "memory") != 0 ? 2 : 1); k++) {
			if ((size_t)snprintf(dir, sizeof dir, "%s%s%s", cgroup_fs, k ? "/" : "",
			    mounts[k]) >= sizeof dir)
				continue;
			if ((v = memory_limit_walk(dir, group, name)) > 0 && (low == 0 || v < low)) {
				low = v;
				*by_cgroup = 1;
			}
		}
	}
	if (f != NULL)
		fclose(f);
	return low;
}

/* -------------------------------------------------------------------------- */
/* Streaming. */

struct ad_chunks {
	int       fd;
	int       own_fd;
	char     *path;
	uint8_t  *buf;      /* (cap) bytes; [start, end) not yet handed out */
	size_t    cap;      /* 2 * max, so a full piece always fits after a shift */
	size_t    max;
	size_t    start, end;
	int       eof;
	uint64_t  offset;   /* bytes handed out so far */
	uint64_t  total;
};

int
ad_chunks_open(struct ad_chunks **cp, const char *path, size_t max, struct ad_error *e)
{
	struct ad_chunks *c;
	struct stat       st;
	int               fd;

	if (max == 0 || max > SIZE_MAX / 2)
		return ad_fail(e, AD_EINVAL, "chunk size %zu out of range", max);
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return ad_fail_errno(e, errno, "%s: cannot open", path);
		if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
			close(fd);
			return ad_fail(e, AD_EIO, "%s: is a directory, not a file", path);
		}
	}
	if ((c = ad_calloc(1, sizeof *c)) == NULL ||
	    (c->path = ad_strdup(strcmp(path, "-") == 0 ? "<stdin>" : path)) == NULL ||
	    (c->buf = ad_malloc(2 * max)) == NULL) {
		if (c != NULL)
			ad_free(c->path);
		ad_free(c);
		if (fd != STDIN_FILENO)
			close(fd);
		return ad_fail(e, AD_ENOMEM, "%s: out of memory for a %zu-byte read buffer", path, 2 * max);
	}
	c->fd = fd;
	c->own_fd = fd != STDIN_FILENO;
	c->cap = 2 * max;
	c->max = max;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		c->total = (uint64_t)st.st_size;
	*cp = c;
	return 0;
}

/* Fill the buffer until it holds max bytes past start, or the input ends. */
static int
chunks_fill(struct ad_chunks *c, struct ad_error *e)
{
	ssize_t n;

	if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	while (!c->eof && c->end < c->max) {
		n = read(c->fd, c->buf + c->end, c->cap - c->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ad_fail_errno(e, errno, "%s: cannot read at byte %llu", c->path,
			    (unsigned long long)(c->offset + c->end));
		if (n == 0)
			c->eof = 1;
		c->end += (size_t)n;
	}
	return 0;
}

int
ad_chunks_next(struct ad_chunks *c, const uint8_t **data, size_t *len, int *cut,
    struct ad_error *e)
{
	size_t   avail, take;
	uint8_t *nl;
	int      rc;

	if (c->end - c->start < c->max && (rc = chunks_fill(c, e)) != 0)
		return rc;
	avail = c->end - c->start;
	if (avail == 0)
		return 0;
	take = avail < c->max ? avail : c->max;
	*cut = 0;
	if (take == c->max && !(c->eof && avail == take)) {
		/* Not the last piece: end it after the last newline within it. */
		nl = NULL;
		for (size_t i = take; i > 0; i--)
			if (c->buf[c->start + i - 1] == '\n') {
				nl = c->buf + c->start + i;
				break;
			}
		if (nl != NULL)
			take = (size_t)(nl - (c->buf + c->start));
		else
			*cut = 1;
	}
	*data = c->buf + c->start;
	*len = take;
	c->start += take;
	c->offset += take;
	return 1;
}

uint64_t
ad_chunks_offset(const struct ad_chunks *c)
{
	return c->offset;
}

uint64_t
ad_chunks_total(const struct ad_chunks *c)
{
	return c->total;
}

void
ad_chunks_free(struct ad_chunks *c)
{
	if (c == NULL)
		return;
	if (c->own_fd)
		close(c->fd);
	ad_free(c->path);
	ad_free(c->buf);
	ad_free(c);
}

/* -------------------------------------------------------------------------- */
/* Atomic writing. */

/* fsync the directory holding path, so that the rename itself is durable. */
static void
io_sync_dir(const char *path)
{
	char *copy = ad_strdup(path);
	int   fd;

	if (copy == NULL)
		return;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	ad_free(copy);
}

/*
 * Remove the temporaries of dead writers of the same target: a process
 * killed mid-write (SIGKILL, power loss) leaves ".BASE.tmp-PID-XXXXXX"
 * behind, which the next write to BASE clears. A temporary whose process
 * still exists is left alone (another writer may be at work).
 */
static void
io_clean_stale(const char *dir, const char *base)
{
	char           prefix[PATH_MAX], path[PATH_MAX];
	size_t         plen;
	DIR           *d;
	struct dirent *de;

	if ((size_t)snprintf(prefix, sizeof prefix, ".%s.tmp-", base) >= sizeof prefix)
		return;
	plen = strlen(prefix);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long  pid;

		if (strncmp(de->d_name, prefix, plen) != 0)
			continue;
		pid = strtol(de->d_name + plen, &end, 10);
		if (end == de->d_name + plen || *end != '-' || pid <= 0)
			continue;
		if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < sizeof path)
			(void)unlink(path);
	}
	closedir(d);
}

/* The process umask, read without changing it for longer than an instant. */
static mode_t
io_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

/*
 * The injected "disk full": bytes that may still be written to atomic files,
 * or -1. Writes go through a stdio cookie that stores what fits, then fails
 * with ENOSPC, as write(2) does on a full file system.
 */
static long long io_write_budget = -1;

void
ad_write_fail_after(long long nbytes)
{
	io_write_budget = nbytes < 0 ? -1 : nbytes;
}

static ssize_t
io_budget_write(void *cookie, const char *buf, size_t size)
{
	int     fd = *(int *)cookie;
	size_t  n = size;
	ssize_t w;

	if (io_write_budget >= 0 && (unsigned long long)io_write_budget < n)
		n = (size_t)io_write_budget;
	if (n == 0) {
		errno = ENOSPC;
		return 0;
	}
	if ((w = write(fd, buf, n)) < 0)
		return 0;
	if (io_write_budget >= 0)
		io_write_budget -= w;
	if ((size_t)w < size)
		errno = ENOSPC;  /* stdio reports the short write as an error */
	return w;
}

static int
io_budget_close(void *cookie)
{
	return close(*(int *)cookie);
}

/* The stream over fd: plain, or through the injected budget. */
static FILE *
io_stream(struct ad_atomic *a)
{
	cookie_io_functions_t fns = { .write = io_budget_write, .close = io_budget_close };

	if (io_write_budget < 0)
		return fdopen(a->fd, "wb");
	return fopencookie(&a->fd, "wb", fns);
}

int
ad_atomic_open(struct ad_atomic *a, const char *path, struct ad_error *e)
{
	char       *copy, *dir, *base;
	size_t      n;
	int         fd;

	memset(a, 0, sizeof *a);
	a->fd = -1;
	if (strcmp(path, "-") == 0) {
		a->f = stdout;
		return 0;
	}
	if (ad_path_is_dir(path))
		return ad_fail(e, AD_EIO, "%s: is a directory; give a file name to write", path);
	if ((a->path = ad_strdup(path)) == NULL || (copy = ad_strdup(path)) == NULL) {
		ad_free(a->path);
		a->path = NULL;
		return ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
	}
	/* The temporary lives beside the target (same file system, so rename is
	 * atomic), hidden, and named after it and its writer's process, so that
	 * a stray one is explained and cleared by the next write. */
	dir = dirname(copy);
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : (char *)path;
	io_clean_stale(dir, base);
	n = strlen(dir) + strlen(base) + 48;
	if ((a->tmp = ad_malloc(n)) == NULL) {
		ad_free(copy);
		ad_free(a->path);
		a->path = NULL;
		return ad_fail(e, AD_ENOMEM, "%s: out of memory", path);
	}
	snprintf(a->tmp, n, "%s/.%s.tmp-%ld-XXXXXX", dir, base, (long)getpid());
	ad_free(copy);
	if ((fd = mkstemp(a->tmp)) < 0) {
		int err = errno;
		ad_free(a->tmp);
		ad_free(a->path);
		memset(a, 0, sizeof *a);
		return ad_fail_errno(e, err, "%s: cannot create a file in its directory", path);
	}
	(void)fchmod(fd, 0666 & ~io_umask());
	a->fd = fd;
	if ((a->f = io_stream(a)) == NULL) {
		int err = errno;
		close(fd);
		unlink(a->tmp);
		ad_free(a->tmp);
		ad_free(a->path);
		memset(a, 0, sizeof *a);
		return ad_fail_errno(e, err, "%s: cannot open for writing", path);
	}
	return 0;
}

int
ad_atomic_commit(struct ad_atomic *a, struct ad_error *e)
{
	int err = 0;

	if (a->tmp == NULL) {
		/* stdout: nothing to rename, but a write error still matters. */
		if (fflush(a->f) != 0 || ferror(a->f))
			return ad_fail_errno(e, errno ? errno : EIO, "<stdout>: cannot write");
		return 0;
	}
	if (ferror(a->f))
		err = errno ? errno : EIO;
	else if (fflush(a->f) != 0 || fsync(a->fd) != 0)
		err = errno ? errno : EIO;
	if (fclose(a->f) != 0 && err == 0)
		err = errno ? errno : EIO;
	a->f = NULL;
	if (err == 0 && rename(a->tmp, a->path) != 0)
		err = errno;
	if (err != 0) {
		int rc = ad_fail_errno(e, err,
		    "%s: cannot write (the previous file, if any, is untouched)", a->path);
		ad_atomic_abort(a);
		return rc;
	}
	io_sync_dir(a->path);
	ad_free(a->tmp);
	ad_free(a->path);
	memset(a, 0, sizeof *a);
	return 0;
}

void
ad_atomic_abort(struct ad_atomic *a)
{
	if (a->tmp == NULL) {
		if (a->f != NULL)
			fflush(a->f);
		memset(a, 0, sizeof *a);
		return;
	}
	if (a->f != NULL)
		fclose(a->f);
	unlink(a->tmp);
	ad_free(a->tmp);
	ad_free(a->path);
	memset(a, 0, sizeof *a);
}

int
ad_atomic_fail(struct ad_atomic *a, struct ad_error *e)
{
	int err = errno ? errno : EIO;
	int rc;

	if (a->tmp == NULL)
		rc = ad_fail_errno(e, err, "<stdout>: cannot write");
	else
		rc = ad_fail_errno(e, err,
		    "%s: cannot write (the previous file, if any, is untouched)", a->path);
	ad_atomic_abort(a);
	return rc;
}

int
ad_write_file(const char *path, const void *data, size_t size, struct ad_error *e)
{
	struct ad_atomic a;
	int              rc;

	if ((rc = ad_atomic_open(&a, path, e)) != 0)
		return rc;
	if (size > 0 && fwrite(data, 1, size, a.f) != size)
		return ad_atomic_fail(&a, e);
	return ad_atomic_commit(&a, e);
}
