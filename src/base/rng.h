/*
 * rng.h — the one random number generator of the project: PCG32.
 *
 * PCG32 (M. E. O'Neill, "PCG: A Family of Simple Fast Space-Efficient
 * Statistically Good Algorithms for Random Number Generation", 2014), the
 * XSH-RR output function on a 64-bit LCG, seeded exactly as pcg32_srandom_r
 * of the reference "pcg-c-basic" so that seed 42, stream 54 reproduces the
 * published demo sequence (tested). The state is two integers, so it is
 * stored in checkpoints and resumed bit-identically. Every consumer owns its
 * generator; there is no global one.
 */
#ifndef AD_RNG_H
#define AD_RNG_H

#include <stdint.h>

struct ad_rng {
	uint64_t state;
	uint64_t inc;   /* the stream, always odd */
};

void     ad_rng_seed(struct ad_rng *r, uint64_t seed, uint64_t stream);
uint32_t ad_rng_u32(struct ad_rng *r);
uint64_t ad_rng_u64(struct ad_rng *r);
/* Uniform in [0, n), without modulo bias (Lemire's multiply-and-reject). n > 0. */
uint32_t ad_rng_below(struct ad_rng *r, uint32_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double   ad_rng_uniform(struct ad_rng *r);
/* Standard normal deviate (Box-Muller, one of the pair; no hidden cache). */
double   ad_rng_normal(struct ad_rng *r);

#endif
