/*
 * fuzz_probes.c — probe-set files: our TSV format and the CrowS-Pairs CSV
 * (quoted fields, doubled quotes, quoted newlines, CRLF).
 */
#include "config.h"

#include "probe/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_set *s;
	struct ad_error   e;
	/* The file name decides nothing: try it as each kind the reader knows. */
	static const char *names[] = { "fuzz.probe", "fuzz.csv", "fuzz.tsv" };

	for (int i = 0; i < 3; i++)
		if (probe_set_parse(&s, (const char *)data, size, names[i], &e) == 0)
			probe_set_free(s);
	return 0;
}
