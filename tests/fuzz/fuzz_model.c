/*
 * fuzz_model.c — every model loader behind lm_open: the n-gram binary
 * format, ARPA text and transformer model files. An input that loads must
 * then be usable without a memory error: a state, a few pushes, a full
 * next-token distribution and batched scoring. (No numeric invariant: an
 * ARPA file from elsewhere may carry any finite backoff weight, so its
 * "probabilities" may exceed one; that is the file's content, not a bug.)
 * Each input is used as it is, and again with its last 8 bytes replaced by
 * the right checksum of the rest, so that mutations of a binary model reach
 * the parser behind the checksum test.
 */
#include "config.h"

#include <stdlib.h>

#include "fixsum.h"
#include "lm/lm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
use(const uint8_t *data, size_t size)
{
	struct lm       *m;
	struct lm_state *st;
	struct ad_error  e;
	float           *logp;
	uint32_t         ids[6];
	double           lp[6], sum = 0;
	size_t           n = 0;

	if (lm_open_buffer(&m, "fuzz", data, size, &e) != 0)
		return;
	if (m->V == 0 || m->V > (1u << 24))
		abort();   /* a loader let through a model with no sensible vocabulary */
	if (lm_state_new(m, &st, &e) == 0) {
		lm_state_reset(m, st);
		for (uint32_t i = 0; i < 6 && i < m->V; i++)
			if (i != m->bos)
				ids[n++] = i;
		for (size_t i = 0; i < n; i++)
			if (lm_push(m, st, ids[i], &lp[i], &e) != 0)
				break;
		if ((logp = malloc(m->V * sizeof *logp)) != NULL) {
			if (lm_next(m, st, logp, &e) == 0)
				for (uint32_t i = 0; i < m->V; i++)
					sum += logp[i];   /* reads every entry (ASan checks the bounds) */
			free(logp);
		}
		lm_state_free(m, st);
	}
	if (n > 0)
		(void)lm_score(m, ids, n, lp, &e);
	(void)sum;
	lm_free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_with_fixed_checksum(use, data, size);
	return 0;
}
