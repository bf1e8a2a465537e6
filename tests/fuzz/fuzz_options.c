/*
 * fuzz_options.c — option values: the number parsers behind every --option.
 * Invariant checked: a value is accepted only if it is in range, finite,
 * and the whole string was a number.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char     s[128];
	uint64_t u = 0;
	double   d = 0;
	FILE    *saved = stderr;

	if (size >= sizeof s)
		size = sizeof s - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	/* Usage errors print to stderr; keep the fuzzer's output readable. */
	stderr = fopen("/dev/null", "w");
	if (stderr == NULL)
		stderr = saved;
	if (cli_u64("fuzz", "--n", s, 3, 1000, &u) == 0 && (u < 3 || u > 1000))
		abort();
	if (cli_double("fuzz", "--x", s, -1.5, 2.5, &d) == 0 && !(d >= -1.5 && d <= 2.5 && isfinite(d)))
		abort();
	if (stderr != saved) {
		fclose(stderr);
		stderr = saved;
	}
	return 0;
}
