/*
 * rng.c — PCG32. See rng.h.
 */
#include "config.h"

#include <math.h>

#include "base/rng.h"

#define PCG_MULT 6364136223846793005ULL

uint32_t
ad_rng_u32(struct ad_rng *r)
{
	uint64_t old = r->state;
	uint32_t xorshifted, rot;

	r->state = old * PCG_MULT + r->inc;
	xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
	rot = (uint32_t)(old >> 59);
	return (xorshifted >> rot) | (xorshifted << ((32 - rot) & 31));
}

void
ad_rng_seed(struct ad_rng *r, uint64_t seed, uint64_t stream)
{
	r->state = 0;
	r->inc = (stream << 1) | 1;
	(void)ad_rng_u32(r);
	r->state += seed;
	(void)ad_rng_u32(r);
}

uint64_t
ad_rng_u64(struct ad_rng *r)
{
	uint64_t hi = ad_rng_u32(r);

	return hi << 32 | ad_rng_u32(r);
}

uint32_t
ad_rng_below(struct ad_rng *r, uint32_t n)
{
	/* D. Lemire, "Fast Random Integer Generation in an Interval", 2019. */
	uint64_t m = (uint64_t)ad_rng_u32(r) * n;
	uint32_t low = (uint32_t)m;

	if (low < n) {
		uint32_t threshold = (uint32_t)(-n) % n;
		while (low < threshold) {
			m = (uint64_t)ad_rng_u32(r) * n;
			low = (uint32_t)m;
		}
	}
	return (uint32_t)(m >> 32);
}

double
ad_rng_uniform(struct ad_rng *r)
{
	return (double)(ad_rng_u64(r) >> 11) * 0x1.0p-53;
}

double
ad_rng_normal(struct ad_rng *r)
{
	double u1, u2;

	do
		u1 = ad_rng_uniform(r);
	while (u1 <= 0.0);
	u2 = ad_rng_uniform(r);
	return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
