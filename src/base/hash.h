/*
 * hash.h — the 64-bit checksum that ends every binary file, and a fast hash
 * for hash tables.
 *
 * The checksum is XXH64 (Yann Collet's xxHash, 64-bit variant, as specified
 * in doc/xxhash_spec.md of the xxHash project), implemented here from that
 * specification and tested against values printed by the reference tool
 * xxhsum. It runs at several GB/s, so verifying a large model costs far
 * less than reading it from disk.
 */
#ifndef AD_HASH_H
#define AD_HASH_H

#include <stddef.h>
#include <stdint.h>

struct ad_hash {
	uint64_t v[4];        /* the four lane accumulators */
	uint64_t total;       /* bytes hashed so far */
	uint8_t  buf[32];     /* a partial stripe */
	uint32_t buffered;    /* bytes in buf */
	uint64_t seed;
};

void     ad_hash_init(struct ad_hash *h, uint64_t seed);
void     ad_hash_update(struct ad_hash *h, const void *data, size_t len);
uint64_t ad_hash_digest(const struct ad_hash *h);

/* XXH64 of one buffer. */
uint64_t ad_hash64(const void *data, size_t len, uint64_t seed);

/* A strong 64-bit mixer (the SplitMix64 finaliser) for integer keys. */
static inline uint64_t
ad_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

#endif
