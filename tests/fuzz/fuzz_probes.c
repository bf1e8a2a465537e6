/*
 * fuzz_probes.c — probe-set files: our TSV format and the CrowS-Pairs CSV
 * (quoted fields, doubled quotes, quoted newlines, CRLF); and the same bytes
 * as a file of word vectors (GloVe or word2vec text), keeping every word
 * and keeping a few.
 */
#include "config.h"

#include "probe/probe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile float fuzz_sink;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct probe_set *s;
	struct ad_error   e;
	/* The file name decides nothing: try it as each kind the reader knows. */
	static const char *names[] = { "fuzz.probe", "fuzz.csv", "fuzz.tsv" };

	static const char *const words[] = { "a", "he", ". . .", "nurse" };
	struct probe_vectors *v;

	for (int i = 0; i < 3; i++)
		if (probe_set_parse(&s, (const char *)data, size, names[i], &e) == 0)
			probe_set_free(s);
	if (probe_vectors_parse(&v, (const char *)data, size, "fuzz.vec", NULL, 0, &e) == 0)
		probe_vectors_free(v);
	if (probe_vectors_parse(&v, (const char *)data, size, "fuzz.vec", words, 4, &e) == 0) {
		/* Read every vector kept, for the sanitizers. */
		for (int i = 0; i < 4; i++) {
			const float *x = probe_vectors_find(v, words[i]);
			for (uint32_t j = 0; x != NULL && j < probe_vectors_dim(v); j++)
				fuzz_sink += x[j];
		}
		probe_vectors_free(v);
	}
	return 0;
}
