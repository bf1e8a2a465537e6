/*
 * check_base.c — the base layer: errors, allocation, XXH64, PCG32, mapped
 * and streamed input, atomic output, progress and JSON.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/err.h"
#include "base/hash.h"
#include "base/io.h"
#include "base/json.h"
#include "base/progress.h"
#include "base/rng.h"
#include "base/svg.h"
#include "testutil.h"

/* ---- errors and allocation ------------------------------------------------ */

START_TEST(test_fail_formats_and_returns_code)
{
	struct ad_error e = { 0 };

	ck_assert_int_eq(ad_fail(&e, AD_EFORMAT, "%s:%d: bad %s", "f.txt", 7, "thing"), AD_EFORMAT);
	ck_assert_str_eq(e.msg, "f.txt:7: bad thing");
	ck_assert_int_eq(e.code, AD_EFORMAT);
	ck_assert_int_eq(ad_fail(NULL, AD_EIO, "ignored"), AD_EIO);
	ck_assert_int_eq(ad_fail_errno(&e, ENOENT, "%s: cannot open", "x"), AD_EIO);
	ck_assert_str_eq(e.msg, "x: cannot open: No such file or directory");
	ck_assert_int_eq(ad_fail_errno(&e, ENOMEM, "y"), AD_ENOMEM);
	ad_fail(&e, AD_EFORMAT, "line 3: junk");
	ad_error_prefix(&e, "%s", "vocab.txt");
	ck_assert_str_eq(e.msg, "vocab.txt: line 3: junk");
	ad_error_clear(&e);
	ck_assert_int_eq(e.code, 0);
	ck_assert_str_eq(e.msg, "");
	ck_assert_str_eq(ad_strerror(AD_ENOMEM), "out of memory");
}
END_TEST

START_TEST(test_fail_truncates_long_messages)
{
	struct ad_error e;
	char            big[3 * AD_ERROR_MAX];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	ad_fail(&e, AD_EINVAL, "%s", big);
	ck_assert_uint_eq(strlen(e.msg), AD_ERROR_MAX - 1);
}
END_TEST

START_TEST(test_alloc_overflow_and_injection)
{
	void *p;

	ck_assert_ptr_null(ad_mallocarray(SIZE_MAX / 2, 3));
	ck_assert_ptr_null(ad_calloc(SIZE_MAX / 4, 8));
	ck_assert_ptr_null(ad_reallocarray(NULL, SIZE_MAX / 8, 16));
	/* Two allocations succeed, then every one fails until reset. */
	ad_alloc_fail_after(2);
	p = ad_malloc(8);
	ck_assert_ptr_nonnull(p);
	ad_free(p);
	p = ad_strdup("ok");
	ck_assert_ptr_nonnull(p);
	ad_free(p);
	ck_assert_ptr_null(ad_malloc(8));
	ck_assert_ptr_null(ad_calloc(1, 8));
	ck_assert_ptr_null(ad_strdup("no"));
	ad_alloc_fail_after(-1);
	p = ad_malloc(8);
	ck_assert_ptr_nonnull(p);
	ad_free(p);
	ad_free(NULL);
}
END_TEST

/*
 * ad_grow, against capacities worked by hand: from `first`, doubling until
 * the need fits; the contents survive every move.
 */
START_TEST(test_grow_doubles_and_keeps_contents)
{
	uint32_t *a = NULL;
	size_t    cap = 0, changes = 0, last = 0;

	for (uint32_t i = 0; i < 1000; i++) {
		ck_assert_int_eq(ad_grow(&a, &cap, (size_t)i + 1, sizeof *a, 4), 0);
		if (cap != last) {
			/* 4, 8, 16, ..., 1024: the capacity is 4 << changes. */
			ck_assert_uint_eq(cap, (size_t)4 << changes);
			changes++;
			last = cap;
		}
		a[i] = i * 7u;
	}
	ck_assert_uint_eq(changes, 9);
	for (uint32_t i = 0; i < 1000; i++)
		ck_assert_uint_eq(a[i], i * 7u);
	/* A need far past the capacity doubles until it fits: 1024 -> 8192. */
	ck_assert_int_eq(ad_grow(&a, &cap, 5000, sizeof *a, 4), 0);
	ck_assert_uint_eq(cap, 8192);
	ck_assert_uint_eq(a[999], 999 * 7u);
	ad_free(a);
	/* first 0 starts from one item. */
	a = NULL;
	cap = 0;
	ck_assert_int_eq(ad_grow(&a, &cap, 1, sizeof *a, 0), 0);
	ck_assert_uint_eq(cap, 1);
	ck_assert_int_eq(ad_grow(&a, &cap, 2, sizeof *a, 0), 0);
	ck_assert_uint_eq(cap, 2);
	ad_free(a);
}
END_TEST

START_TEST(test_grow_refuses_overflow)
{
	uint64_t *a = NULL, *old;
	uint8_t  *b;
	size_t    cap = 0;

	ck_assert_int_eq(ad_grow(&a, &cap, 3, sizeof *a, 4), 0);
	a[0] = 42;
	old = a;
	/* need * elem past SIZE_MAX: refused, the array untouched. */
	ck_assert_int_eq(ad_grow(&a, &cap, SIZE_MAX / sizeof *a + 1, sizeof *a, 4), AD_ENOMEM);
	ck_assert_ptr_eq(a, old);
	ck_assert_uint_eq(cap, 4);
	ck_assert_uint_eq(a[0], 42);
	ad_free(a);
	/*
	 * A capacity past half the limit cannot double (for 1-byte items the
	 * count itself would wrap to 0 and never reach the need): the request
	 * is exactly the need, and the loop ends. The allocation is made to
	 * fail so that nothing that large is asked of malloc.
	 */
	b = NULL;
	cap = SIZE_MAX / 2 + 1;
	ad_alloc_fail_after(0);
	ck_assert_int_eq(ad_grow(&b, &cap, SIZE_MAX, 1, 4), AD_ENOMEM);
	ad_alloc_fail_after(-1);
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(cap, SIZE_MAX / 2 + 1);
}
END_TEST

START_TEST(test_grow_under_failure_injection)
{
	int    *a = NULL, *old;
	size_t  cap = 0;

	ck_assert_int_eq(ad_grow(&a, &cap, 4, sizeof *a, 4), 0);
	for (int i = 0; i < 4; i++)
		a[i] = i + 1;
	old = a;
	/* Every allocation fails from now on. Room already there needs none. */
	ad_alloc_fail_after(0);
	ck_assert_int_eq(ad_grow(&a, &cap, 4, sizeof *a, 4), 0);
	/* More room fails cleanly: same array, same capacity, same contents. */
	ck_assert_int_eq(ad_grow(&a, &cap, 5, sizeof *a, 4), AD_ENOMEM);
	ck_assert_ptr_eq(a, old);
	ck_assert_uint_eq(cap, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(a[i], i + 1);
	/* One allocation allowed: one growth succeeds, the next fails. */
	ad_alloc_fail_after(1);
	ck_assert_int_eq(ad_grow(&a, &cap, 5, sizeof *a, 4), 0);
	ck_assert_uint_eq(cap, 8);
	ck_assert_int_eq(ad_grow(&a, &cap, 9, sizeof *a, 4), AD_ENOMEM);
	ck_assert_uint_eq(cap, 8);
	ad_alloc_fail_after(-1);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(a[i], i + 1);
	ad_free(a);
}
END_TEST

/* ---- XXH64 against values printed by the reference tool `xxhsum -H64` ---- */

START_TEST(test_xxh64_reference_values)
{
	const char *sentence =
	    "autodidact learns from raw text with no labels, the text is its own label.";
	uint8_t     zeros[1000] = { 0 };

	ck_assert_uint_eq(ad_hash64("", 0, 0), 0xef46db3751d8e999ULL);
	ck_assert_uint_eq(ad_hash64("a", 1, 0), 0xd24ec4f1a98c6e5bULL);
	ck_assert_uint_eq(ad_hash64("abc", 3, 0), 0x44bc2cf5ad770999ULL);
	ck_assert_uint_eq(ad_hash64(sentence, strlen(sentence), 0), 0x742ff66acb8be89aULL);
	ck_assert_uint_eq(ad_hash64(zeros, sizeof zeros, 0), 0x0e2b1ef27944075aULL);
}
END_TEST

START_TEST(test_xxh64_streaming_equals_one_shot)
{
	uint8_t        buf[4099];
	struct ad_rng  r;
	struct ad_hash h;

	ad_rng_seed(&r, 7, 1);
	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)ad_rng_u32(&r);
	for (int trial = 0; trial < 200; trial++) {
		size_t len = ad_rng_below(&r, sizeof buf), off = 0;
		uint64_t seed = ad_rng_u64(&r);
		ad_hash_init(&h, seed);
		while (off < len) {
			size_t k = 1 + ad_rng_below(&r, 70);
			if (k > len - off)
				k = len - off;
			ad_hash_update(&h, buf + off, k);
			off += k;
		}
		ck_assert_uint_eq(ad_hash_digest(&h), ad_hash64(buf, len, seed));
	}
}
END_TEST

/* ---- PCG32 ---------------------------------------------------------------- */

START_TEST(test_pcg32_reference_sequence)
{
	/* pcg32-demo of pcg-c-basic: seed 42, sequence 54. */
	static const uint32_t expect[6] = {
		0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e,
	};
	struct ad_rng r;

	ad_rng_seed(&r, 42, 54);
	for (int i = 0; i < 6; i++)
		ck_assert_uint_eq(ad_rng_u32(&r), expect[i]);
}
END_TEST

START_TEST(test_rng_below_uniform_chi_square)
{
	/* 10 bins, 100,000 draws: chi-square with 9 degrees of freedom; the
	 * 0.999 quantile is 27.88. A modulo-biased or broken generator fails. */
	enum { BINS = 10, N = 100000 };
	uint32_t      count[BINS] = { 0 };
	struct ad_rng r;
	double        chi = 0, expect = (double)N / BINS;

	ad_rng_seed(&r, 12345, 3);
	for (int i = 0; i < N; i++) {
		uint32_t v = ad_rng_below(&r, BINS);
		ck_assert_uint_lt(v, BINS);
		count[v]++;
	}
	for (int b = 0; b < BINS; b++)
		chi += (count[b] - expect) * (count[b] - expect) / expect;
	ck_assert_double_lt(chi, 27.88);
	ck_assert_uint_eq(ad_rng_below(&r, 1), 0);
}
END_TEST

START_TEST(test_rng_uniform_and_normal_moments)
{
	enum { N = 200000 };
	struct ad_rng r;
	double        su = 0, sn = 0, sn2 = 0;

	ad_rng_seed(&r, 99, 0);
	for (int i = 0; i < N; i++) {
		double u = ad_rng_uniform(&r), z = ad_rng_normal(&r);
		ck_assert(u >= 0.0 && u < 1.0);
		su += u;
		sn += z;
		sn2 += z * z;
	}
	/* Means within 5 standard errors; variance of N(0,1) within 2%. */
	ck_assert_double_lt(fabs(su / N - 0.5), 5 * sqrt(1.0 / 12 / N));
	ck_assert_double_lt(fabs(sn / N), 5 / sqrt((double)N));
	ck_assert_double_lt(fabs(sn2 / N - 1.0), 0.02);
}
END_TEST

/* ---- mapped and streamed input -------------------------------------------- */

START_TEST(test_map_file_and_errors)
{
	char           *dir = tu_tmpdir(), path[4200];
	struct ad_map   m;
	struct ad_error e = { 0 };

	snprintf(path, sizeof path, "%s/a.txt", dir);
	tu_spit(path, "hello\0world", 11);
	ck_assert_int_eq(ad_map_file(path, &m, &e), 0);
	ck_assert_uint_eq(m.size, 11);
	ck_assert_mem_eq(m.data, "hello\0world", 11);
	ad_map_release(&m);

	snprintf(path, sizeof path, "%s/empty", dir);
	tu_spit(path, "", 0);
	ck_assert_int_eq(ad_map_file(path, &m, &e), 0);
	ck_assert_uint_eq(m.size, 0);
	ck_assert_ptr_nonnull(m.data);
	ad_map_release(&m);

	ck_assert_int_eq(ad_map_file(dir, &m, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "is a directory"));
	ck_assert_ptr_nonnull(strstr(e.msg, dir));

	snprintf(path, sizeof path, "%s/missing", dir);
	ck_assert_int_eq(ad_map_file(path, &m, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "missing: cannot open: No such file"));
	free(dir);
}
END_TEST

START_TEST(test_chunks_reassemble_on_line_boundaries)
{
	char           *dir = tu_tmpdir(), path[4200];
	struct ad_rng   r;
	char           *text = malloc(100000), *back = malloc(100000);
	size_t          n = 0, got = 0;
	struct ad_chunks *c;
	struct ad_error e = { 0 };
	const uint8_t  *data;
	size_t          len;
	int             cut, rc, cuts = 0;

	/* Lines of random length, one of them longer than the chunk size. */
	ad_rng_seed(&r, 5, 5);
	while (n < 90000) {
		size_t ll = n > 40000 && n < 41000 ? 3000 : ad_rng_below(&r, 200);
		for (size_t i = 0; i < ll && n < 90000; i++)
			text[n++] = (char)('a' + ad_rng_below(&r, 26));
		text[n++] = '\n';
	}
	text[n++] = 'z';  /* no final newline */
	snprintf(path, sizeof path, "%s/c.txt", dir);
	tu_spit(path, text, n);
	ck_assert_int_eq(ad_chunks_open(&c, path, 1024, &e), 0);
	ck_assert_uint_eq(ad_chunks_total(c), n);
	while ((rc = ad_chunks_next(c, &data, &len, &cut, &e)) == 1) {
		ck_assert_uint_le(len, 1024);
		ck_assert_uint_gt(len, 0);
		memcpy(back + got, data, len);
		got += len;
		if (cut)
			cuts++;
		else if (got < n)
			ck_assert_int_eq(data[len - 1], '\n');
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(got, n);
	ck_assert_uint_eq(ad_chunks_offset(c), n);
	ck_assert_mem_eq(back, text, n);
	ck_assert_int_ge(cuts, 2);  /* the 3000-byte line needed cutting */
	ad_chunks_free(c);
	ck_assert_int_eq(ad_chunks_open(&c, dir, 1024, &e), AD_EIO);
	free(text);
	free(back);
	free(dir);
}
END_TEST

/* ---- atomic output -------------------------------------------------------- */

START_TEST(test_atomic_write_replaces_whole_file)
{
	char            *dir = tu_tmpdir(), path[4200], *got;
	struct ad_error  e = { 0 };
	struct ad_atomic a;

	snprintf(path, sizeof path, "%s/out.txt", dir);
	ck_assert_int_eq(ad_write_file(path, "first", 5, &e), 0);
	got = tu_slurp(path, NULL);
	ck_assert_str_eq(got, "first");
	free(got);

	/* While a write is open, the target still holds the old content. */
	ck_assert_int_eq(ad_atomic_open(&a, path, &e), 0);
	fputs("second version", a.f);
	got = tu_slurp(path, NULL);
	ck_assert_str_eq(got, "first");
	free(got);
	ck_assert_int_eq(tu_count_entries(dir), 2);
	ck_assert_int_eq(ad_atomic_commit(&a, &e), 0);
	got = tu_slurp(path, NULL);
	ck_assert_str_eq(got, "second version");
	free(got);
	ck_assert_int_eq(tu_count_entries(dir), 1);

	/* An abandoned write leaves the old file and no temporary behind. */
	ck_assert_int_eq(ad_atomic_open(&a, path, &e), 0);
	fputs("broken", a.f);
	ad_atomic_abort(&a);
	got = tu_slurp(path, NULL);
	ck_assert_str_eq(got, "second version");
	free(got);
	ck_assert_int_eq(tu_count_entries(dir), 1);

	/* A directory or a missing directory is refused up front. */
	ck_assert_int_eq(ad_atomic_open(&a, dir, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "is a directory"));
	snprintf(path, sizeof path, "%s/no/such/dir/x", dir);
	ck_assert_int_eq(ad_write_file(path, "x", 1, &e), AD_EIO);
	ck_assert_ptr_nonnull(strstr(e.msg, "cannot create"));
	free(dir);
}
END_TEST

START_TEST(test_atomic_write_failure_keeps_old_file)
{
	/* A real failing write: in a child, limit the file size (RLIMIT_FSIZE)
	 * so that writing past 4 KiB fails with EFBIG, as a full disk would. */
	char  *dir = tu_tmpdir(), path[4200], *got;
	pid_t  pid;
	int    status;

	snprintf(path, sizeof path, "%s/model.bin", dir);
	tu_spit(path, "the old, good model", 19);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit   rl = { 4096, 4096 };
		struct ad_error e = { 0 };
		static char     big[1 << 20];
		signal(SIGXFSZ, SIG_IGN);
		setrlimit(RLIMIT_FSIZE, &rl);
		memset(big, 'n', sizeof big);
		int rc = ad_write_file(path, big, sizeof big, &e);
		free(dir);
		_exit(rc == AD_EIO && strstr(e.msg, "cannot write") != NULL ? 0 : 3);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	got = tu_slurp(path, NULL);
	ck_assert_str_eq(got, "the old, good model");
	free(got);
	ck_assert_int_eq(tu_count_entries(dir), 1);
	free(dir);
}
END_TEST

START_TEST(test_atomic_write_clears_dead_writers_temporaries)
{
	/* A writer killed mid-write leaves .NAME.tmp-PID-XXXXXX; the next write
	 * of NAME removes it when that process is gone, and leaves the
	 * temporaries of living processes (here, this one) alone. */
	char  *dir = tu_tmpdir(), path[4200], dead[4300], live[4300];
	pid_t  pid = fork();
	struct ad_error e = { 0 };

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	snprintf(path, sizeof path, "%s/out.txt", dir);
	snprintf(dead, sizeof dead, "%s/.out.txt.tmp-%ld-AbCdEf", dir, (long)pid);
	snprintf(live, sizeof live, "%s/.out.txt.tmp-%ld-GhIjKl", dir, (long)getpid());
	tu_spit(dead, "half", 4);
	tu_spit(live, "busy", 4);
	ck_assert_int_eq(ad_write_file(path, "whole", 5, &e), 0);
	ck_assert_int_eq(access(dead, F_OK), -1);
	ck_assert_int_eq(access(live, F_OK), 0);
	ck_assert_int_eq(tu_count_entries(dir), 2);
	unlink(live);
	free(dir);
}
END_TEST

/* ---- memory limits --------------------------------------------------------- */

/* Write text to dir/rel, making the directories on the way. */
static void
limit_file(const char *dir, const char *rel, const char *text)
{
	char path[4200];

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	for (char *c = path + strlen(dir) + 1; (c = strchr(c, '/')) != NULL; c++) {
		*c = '\0';
		ck_assert(mkdir(path, 0700) == 0 || errno == EEXIST);
		*c = '/';
	}
	tu_spit(path, text, strlen(text));
}

START_TEST(test_memory_limit_follows_cgroups)
{
	/* A tree in the layout of /sys/fs/cgroup, and a /proc/self/cgroup to
	 * name the group: the limit is the lowest of the physical memory and
	 * every limit file from the group up to the root. */
	char    *dir = tu_tmpdir(), self[4200], fs[4200];
	uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
	int      by = -1;

	snprintf(self, sizeof self, "%s/self-cgroup", dir);
	snprintf(fs, sizeof fs, "%s/fs", dir);
	/* No cgroup file, or a group without limits: the machine's memory. */
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), phys);
	ck_assert_int_eq(by, 0);
	/* cgroup v2: the group says "max", its parent 100 MiB. */
	limit_file(dir, "self-cgroup", "0::/a/b\n");
	limit_file(dir, "fs/a/b/memory.max", "max\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), phys);
	ck_assert_int_eq(by, 0);
	limit_file(dir, "fs/a/memory.max", "104857600\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 104857600u);
	ck_assert_int_eq(by, 1);
	/* The group's own limit when it is the lower. */
	limit_file(dir, "fs/a/b/memory.max", "52428800\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 52428800u);
	ck_assert_int_eq(by, 1);
	/* A group outside the namespace is not looked for under the mount
	 * (here "fs/../a/b" would find a limit). */
	limit_file(dir, "self-cgroup", "0::/../a/b\n");
	limit_file(dir, "a/b/memory.max", "1048576\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), phys);
	/* A namespaced view ("/"): the root's file is the container's. */
	limit_file(dir, "self-cgroup", "0::/\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), phys);
	limit_file(dir, "fs/memory.max", "209715200\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 209715200u);
	/* cgroup v1: the memory hierarchy's line, whatever else it is
	 * mounted with; "unlimited" is the largest long, read as no limit. */
	limit_file(dir, "self-cgroup", "5:cpu,cpuacct:/z\n4:blkio,memory:/x/y\n0::/\n");
	limit_file(dir, "fs/memory/z/memory.limit_in_bytes", "1048576\n");
	limit_file(dir, "fs/memory.max", "max\n");
	limit_file(dir, "fs/memory/x/y/memory.limit_in_bytes", "9223372036854771712\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), phys);
	ck_assert_int_eq(by, 0);
	limit_file(dir, "fs/memory/x/memory.limit_in_bytes", "31457280\n");
	limit_file(dir, "fs/memory/memory.limit_in_bytes", "1073741824\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 31457280u);
	ck_assert_int_eq(by, 1);
	/* Only the memory hierarchy's line names a group to read. */
	limit_file(dir, "self-cgroup", "5:cpu,cpuacct:/z\n4:blkio,memory:/\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 1073741824u);
	/* A memory hierarchy mounted with another controller and no "memory"
	 * link: its directory is named by the controllers, as listed. */
	limit_file(dir, "self-cgroup", "3:cpu,memory:/w\n");
	limit_file(dir, "fs/cpu,memory/w/memory.limit_in_bytes", "20971520\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 20971520u);
	limit_file(dir, "fs/cpu,memory/w/memory.limit_in_bytes", "9223372036854771712\n");
	ck_assert_uint_eq(ad_memory_limit(self, fs, &by), 1073741824u);
	free(dir);
}
END_TEST

/* ---- progress ------------------------------------------------------------- */

START_TEST(test_progress_plain_and_quiet)
{
	char               *buf = NULL;
	size_t              len = 0;
	FILE               *f = open_memstream(&buf, &len);
	struct ad_progress *p;

	ck_assert_ptr_null(ad_progress_new(f, AD_PROGRESS_QUIET, 0, "x", 10, "steps"));
	ad_progress_update(NULL, 3);     /* NULL is a no-op */
	ad_progress_finish(NULL);
	p = ad_progress_new(f, AD_PROGRESS_PLAIN, 0, "train", 2000, "steps");
	ck_assert_ptr_nonnull(p);
	ad_progress_update(p, 1500);     /* too soon after start: not drawn */
	ad_progress_note(p, "loss %.2f", 3.25);
	ad_progress_finish(p);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "train: 1.5k steps in 0:00"));
	ck_assert_ptr_nonnull(strstr(buf, "loss 3.25"));
	ck_assert_ptr_null(strchr(buf, '\r'));   /* plain mode never redraws */
	ck_assert_int_eq(buf[len - 1], '\n');
	free(buf);
}
END_TEST

/*
 * The width a bar line is cut to where the stream reports none (a memory
 * stream has no terminal size): the caller's when over 20 columns, else 80.
 * The final line is "\rLABEL: " then the text cut to the width, then the
 * erase-to-end sequence.
 */
static size_t
progress_final_text(int width)
{
	char               *buf = NULL, *a, *z;
	size_t              len = 0, n;
	FILE               *f = open_memstream(&buf, &len);
	struct ad_progress *p = ad_progress_new(f, AD_PROGRESS_BAR, width, "train", 2000, "steps");

	ck_assert_ptr_nonnull(p);
	ad_progress_update(p, 1500);
	ad_progress_note(p, "%0100d", 7);   /* a note longer than any width here */
	ad_progress_finish(p);
	fclose(f);
	ck_assert_ptr_nonnull(a = strstr(buf, "\rtrain: "));
	ck_assert_ptr_nonnull(z = strstr(a, "\x1b[K"));
	n = (size_t)(z - a) - strlen("\rtrain: ");
	free(buf);
	return n;
}

START_TEST(test_progress_width_from_caller)
{
	ck_assert_uint_eq(progress_final_text(30), 30);
	ck_assert_uint_eq(progress_final_text(132), 132);
	ck_assert_uint_eq(progress_final_text(0), 80);
	ck_assert_uint_eq(progress_final_text(20), 80);
}
END_TEST

START_TEST(test_format_count)
{
	char b[32];

	ck_assert_str_eq(ad_format_count(b, sizeof b, 999, "tokens"), "999 tokens");
	ck_assert_str_eq(ad_format_count(b, sizeof b, 12345, "tokens"), "12.3k tokens");
	ck_assert_str_eq(ad_format_count(b, sizeof b, 3 * 1048576.0, "B"), "3.0 MiB");
	ck_assert_str_eq(ad_format_count(b, sizeof b, 512, "B"), "512 B");
}
END_TEST

/* ---- JSON ----------------------------------------------------------------- */

static char *
json_render(void (*fn)(struct ad_json *), int pretty)
{
	char          *buf = NULL;
	size_t         len = 0;
	FILE          *f = open_memstream(&buf, &len);
	struct ad_json j;

	ad_json_init(&j, f, pretty);
	fn(&j);
	fclose(f);
	return buf;
}

static void
json_doc(struct ad_json *j)
{
	ad_json_object_begin(j);
	ad_json_key(j, "name");
	ad_json_string(j, "a\"b\\c\n\t\x01\x7f");
	ad_json_key(j, "bytes");
	ad_json_string_n(j, "ok\xff\xc3\xa9\xe2\x82", 7);  /* invalid, é, truncated € */
	ad_json_key(j, "nums");
	ad_json_array_begin(j);
	ad_json_double(j, 0.1);
	ad_json_double(j, 1.0 / 3.0);
	ad_json_double(j, NAN);
	ad_json_int(j, -42);
	ad_json_uint(j, 18446744073709551615ULL);
	ad_json_bool(j, 1);
	ad_json_null(j);
	ad_json_array_end(j);
	ad_json_key(j, "empty");
	ad_json_object_begin(j);
	ad_json_object_end(j);
	ad_json_object_end(j);
	ad_json_end(j);
}

START_TEST(test_json_escaping_and_structure)
{
	char *s = json_render(json_doc, 0);

	ck_assert_str_eq(s,
	    "{\"name\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\","
	    "\"bytes\":\"ok\\ufffd\xc3\xa9\\ufffd\\ufffd\","
	    "\"nums\":[0.1,0.3333333333333333,null,-42,18446744073709551615,true,null],"
	    "\"empty\":{}}\n");
	free(s);
	s = json_render(json_doc, 1);
	ck_assert_ptr_nonnull(strstr(s, "{\n  \"name\": \"a"));
	ck_assert_ptr_nonnull(strstr(s, "\"nums\": [\n    0.1,\n    0.3333333333333333,"));
	ck_assert_ptr_nonnull(strstr(s, "\"empty\": {}\n}\n"));
	free(s);
}
END_TEST

/* The reader: a flat object written by the writer reads back field by
 * field (a round trip), and hand-picked texts outside the grammar fail at
 * the byte that breaks it. */
START_TEST(test_json_flat_reader)
{
	struct ad_json_field        f[8];
	const struct ad_json_field *x;
	struct ad_json              j;
	char                       *buf = NULL;
	size_t                      len = 0, n = 0, bad = 0;
	FILE                       *mem = open_memstream(&buf, &len);

	ad_json_init(&j, mem, 0);
	ad_json_object_begin(&j);
	ad_json_key(&j, "step");
	ad_json_uint(&j, 40);
	ad_json_key(&j, "val_loss");
	ad_json_double(&j, 5.394633);
	ad_json_key(&j, "lr");
	ad_json_double(&j, -1.25e-7);
	ad_json_key(&j, "none");
	ad_json_null(&j);
	ad_json_key(&j, "ok");
	ad_json_bool(&j, 1);
	ad_json_key(&j, "s");
	ad_json_string(&j, "a\"b,}");
	ad_json_object_end(&j);
	ad_json_end(&j);
	fclose(mem);
	ck_assert_int_eq(ad_json_flat_parse(buf, len, f, 8, &n, NULL), 0);
	ck_assert_uint_eq(n, 6);
	ck_assert_ptr_nonnull(x = ad_json_flat_find(f, n, "step"));
	ck_assert_int_eq(x->type, AD_JSON_NUMBER);
	ck_assert(x->number == 40);
	ck_assert(ad_json_flat_find(f, n, "val_loss")->number == 5.394633);
	ck_assert(ad_json_flat_find(f, n, "lr")->number == -1.25e-7);
	ck_assert_int_eq(ad_json_flat_find(f, n, "none")->type, AD_JSON_NULL);
	ck_assert_int_eq(ad_json_flat_find(f, n, "ok")->type, AD_JSON_BOOL);
	ck_assert(ad_json_flat_find(f, n, "ok")->number == 1);
	ck_assert_ptr_nonnull(x = ad_json_flat_find(f, n, "s"));
	ck_assert_uint_eq(x->str_len, 6);
	ck_assert(memcmp(x->str, "a\\\"b,}", 6) == 0);
	ck_assert_ptr_null(ad_json_flat_find(f, n, "ste"));
	free(buf);

	ck_assert_int_eq(ad_json_flat_parse(" { } \n", 6, f, 8, &n, NULL), 0);
	ck_assert_uint_eq(n, 0);
	/* Not NUL-terminated: the length decides. */
	ck_assert_int_eq(ad_json_flat_parse("{\"a\":12}99", 8, f, 8, &n, NULL), 0);
	ck_assert(f[0].number == 12);

	static const struct { const char *text; size_t bad; } no[] = {
		{ "{\"step\":40,\"val_loss\":5.3", 25 },   /* cut short */
		{ "{\"a\":01}", 6 },                         /* leading zero */
		{ "{\"a\":1.}", 5 },
		{ "{\"a\":-}", 5 },
		{ "{\"a\":.5}", 5 },
		{ "{\"a\":nul}", 5 },
		{ "{\"a\":[1]}", 5 },                        /* nested */
		{ "{\"a\":{}}", 5 },
		{ "{\"a\":1,}", 7 },
		{ "{\"a\" 1}", 5 },
		{ "{a:1}", 1 },
		{ "{\"a\":\"x\\q\"}", 5 },                  /* bad escape */
		{ "{\"a\":1} x", 8 },
		{ "[1]", 0 },
		{ "", 0 },
	};
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		bad = 999;
		ck_assert_msg(ad_json_flat_parse(no[i].text, strlen(no[i].text), f, 8, &n, &bad) ==
		    AD_EFORMAT, "accepted %s", no[i].text);
		ck_assert_msg(bad == no[i].bad, "%s: bad at %zu, not %zu", no[i].text, bad, no[i].bad);
	}
	/* More fields than room. */
	ck_assert_int_eq(ad_json_flat_parse("{\"a\":1,\"b\":2}", 13, f, 1, &n, NULL), AD_EFORMAT);
}
END_TEST

START_TEST(test_utf8_validation_table)
{
	/* Unicode 15, table 3-7: well-formed byte sequences. */
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xc2\x80", 2), 2);
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xc1\xbf", 2), 0);  /* overlong */
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xe0\x9f\x80", 3), 0);
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xe0\xa0\x80", 3), 3);
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xed\xa0\x80", 3), 0); /* surrogate */
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xf0\x9f\x98\x80", 4), 4);
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xf4\x90\x80\x80", 4), 0); /* > 10FFFF */
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\xf0\x9f\x98", 3), 0);
	ck_assert_uint_eq(ad_utf8_valid_len((const unsigned char *)"\x80", 1), 0);
}
END_TEST

/* ---- SVG charts ------------------------------------------------------------ */

START_TEST(test_svg_escapes_and_skips)
{
	struct ad_svg_chart    c = { .title = "a < b & \"c\"", .xlabel = "x", .ref = NAN };
	struct ad_svg_bar      b[2] = { { "<one>", 1, 0.5, 1.5, 0, 1 }, { "two", NAN, NAN, NAN, 1, 0 } };
	char                  *buf;
	size_t                 len;
	FILE                  *f = open_memstream(&buf, &len);

	ad_svg_bars(f, &c, b, 2);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "a &lt; b &amp; &quot;c&quot;"));
	ck_assert_ptr_nonnull(strstr(buf, "&lt;one&gt;"));
	ck_assert_ptr_null(strstr(buf, "nan"));
	/* One bar drawn (the NAN one is a label only). */
	ck_assert_ptr_nonnull(strstr(buf, "<rect"));
	ck_assert_ptr_null(strstr(strstr(buf, "<rect") + 1, "<rect"));
	free(buf);
}
END_TEST

static Suite *
base_suite(void)
{
	Suite *s = suite_create("base");
	TCase *tc;

	tc = tcase_create("err");
	tcase_add_test(tc, test_fail_formats_and_returns_code);
	tcase_add_test(tc, test_fail_truncates_long_messages);
	tcase_add_test(tc, test_alloc_overflow_and_injection);
	tcase_add_test(tc, test_grow_doubles_and_keeps_contents);
	tcase_add_test(tc, test_grow_refuses_overflow);
	tcase_add_test(tc, test_grow_under_failure_injection);
	suite_add_tcase(s, tc);
	tc = tcase_create("hash");
	tcase_add_test(tc, test_xxh64_reference_values);
	tcase_add_test(tc, test_xxh64_streaming_equals_one_shot);
	suite_add_tcase(s, tc);
	tc = tcase_create("rng");
	tcase_add_test(tc, test_pcg32_reference_sequence);
	tcase_add_test(tc, test_rng_below_uniform_chi_square);
	tcase_add_test(tc, test_rng_uniform_and_normal_moments);
	suite_add_tcase(s, tc);
	tc = tcase_create("io");
	tcase_add_test(tc, test_map_file_and_errors);
	tcase_add_test(tc, test_chunks_reassemble_on_line_boundaries);
	tcase_add_test(tc, test_atomic_write_replaces_whole_file);
	tcase_add_test(tc, test_atomic_write_failure_keeps_old_file);
	tcase_add_test(tc, test_atomic_write_clears_dead_writers_temporaries);
	tcase_add_test(tc, test_memory_limit_follows_cgroups);
	suite_add_tcase(s, tc);
	tc = tcase_create("progress");
	tcase_add_test(tc, test_progress_plain_and_quiet);
	tcase_add_test(tc, test_progress_width_from_caller);
	tcase_add_test(tc, test_format_count);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, test_json_escaping_and_structure);
	tcase_add_test(tc, test_json_flat_reader);
	tcase_add_test(tc, test_utf8_validation_table);
	suite_add_tcase(s, tc);
	tc = tcase_create("svg");
	tcase_add_test(tc, test_svg_escapes_and_skips);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return tu_run(base_suite());
}
