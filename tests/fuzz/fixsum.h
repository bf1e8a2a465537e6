/*
 * fixsum.h — for the harnesses of checksummed binary formats: run a loader
 * on an input as it is, then on a copy whose last 8 bytes are the XXH64
 * (seed 0) of the rest, so that mutations reach the parser behind the
 * checksum test instead of stopping at it.
 */
#ifndef AD_FUZZ_FIXSUM_H
#define AD_FUZZ_FIXSUM_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

static inline void
fuzz_with_fixed_checksum(void (*use)(const uint8_t *, size_t), const uint8_t *data, size_t size)
{
	uint8_t *fixed;
	uint64_t sum;

	use(data, size);
	if (size < 16 || (fixed = malloc(size)) == NULL)
		return;
	memcpy(fixed, data, size);
	sum = ad_hash64(fixed, size - 8, 0);
	memcpy(fixed + size - 8, &sum, 8);
	if (memcmp(fixed, data, size) != 0)
		use(fixed, size);
	free(fixed);
}

#endif
