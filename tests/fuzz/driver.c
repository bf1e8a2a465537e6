/*
 * driver.c — runs a fuzz harness over files, without libFuzzer.
 *
 * Every harness in tests/fuzz/ defines LLVMFuzzerTestOneInput. Built with
 * clang and -fsanitize=fuzzer (tests/fuzz/build.sh, 'make fuzz') it is a
 * coverage-guided fuzzer; linked with this driver under 'make check' it
 * replays the seed corpus and every input that ever crashed it
 * (tests/fuzz/corpus/NAME/), so a fixed crash stays fixed.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
driver_run_file(const char *path)
{
	FILE    *f = fopen(path, "rb");
	uint8_t *buf;
	long     n;

	if (f == NULL) {
		fprintf(stderr, "driver: cannot open %s\n", path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	/* An exact-size heap copy, so AddressSanitizer sees any overread. */
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		fprintf(stderr, "driver: cannot read %s\n", path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int files = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR        *d;
		struct dirent *de;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "driver: no such input: %s\n", argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			rc |= driver_run_file(argv[i]);
			files++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
			rc |= driver_run_file(path);
			files++;
		}
		closedir(d);
	}
	printf("%d inputs replayed\n", files);
	return files == 0 ? 1 : rc;
}
