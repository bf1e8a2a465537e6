#include "config.h"

#include <dirent.h>

#include "testutil.h"

int
tu_count_entries(const char *dir)
{
	DIR           *d = opendir(dir);
	struct dirent *de;
	int            n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}
