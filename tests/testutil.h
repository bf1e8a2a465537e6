/*
 * testutil.h — small helpers shared by the Check test programs.
 */
#ifndef AD_TESTUTIL_H
#define AD_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh private directory under $AD_TMPDIR (or /tmp); caller frees. */
static inline char *
tu_tmpdir(void)
{
	const char *base = getenv("AD_TMPDIR");
	char       *d = malloc(4096);

	ck_assert_ptr_nonnull(d);
	snprintf(d, 4096, "%s/ckXXXXXX", base && *base ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(d));
	return d;
}

/* Path of a fixture under $AD_TESTDATA; caller frees. */
static inline char *
tu_fixture(const char *name)
{
	const char *base = getenv("AD_TESTDATA");
	char       *p = malloc(4096);

	ck_assert_ptr_nonnull(p);
	snprintf(p, 4096, "%s/%s", base && *base ? base : "tests/data", name);
	return p;
}

/* Read a whole file into a malloc'd buffer (NUL-terminated); NULL if absent. */
static inline char *
tu_slurp(const char *path, size_t *len)
{
	FILE  *f = fopen(path, "rb");
	char  *buf;
	long   n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = (size_t)n;
	return buf;
}

static inline void
tu_spit(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

/* Number of directory entries in dir other than . and .. */
int tu_count_entries(const char *dir);

/* Run a suite and return the exit status make check expects. */
static inline int
tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int      failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}

#endif
