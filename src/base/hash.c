/*
 * hash.c — XXH64, written from the xxHash specification (see hash.h).
 */
#include "config.h"

#include <string.h>

#include "base/hash.h"

#define P1 0x9E3779B185EBCA87ULL
#define P2 0xC2B2AE3D27D4EB4FULL
#define P3 0x165667B19E3779F9ULL
#define P4 0x85EBCA77C2B2AE63ULL
#define P5 0x27D4EB2F165667C5ULL

static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Little-endian loads, whatever the host order. */
static inline uint64_t
read64(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	    (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
	    (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint32_t
read32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline uint64_t
xxh_round(uint64_t acc, uint64_t input)
{
	acc += input * P2;
	acc = rotl64(acc, 31);
	return acc * P1;
}

static inline uint64_t
xxh_merge(uint64_t acc, uint64_t v)
{
	acc ^= xxh_round(0, v);
	return acc * P1 + P4;
}

void
ad_hash_init(struct ad_hash *h, uint64_t seed)
{
	memset(h, 0, sizeof *h);
	h->seed = seed;
	h->v[0] = seed + P1 + P2;
	h->v[1] = seed + P2;
	h->v[2] = seed;
	h->v[3] = seed - P1;
}

static void
xxh_stripe(uint64_t v[4], const uint8_t *p)
{
	v[0] = xxh_round(v[0], read64(p));
	v[1] = xxh_round(v[1], read64(p + 8));
	v[2] = xxh_round(v[2], read64(p + 16));
	v[3] = xxh_round(v[3], read64(p + 24));
}

void
ad_hash_update(struct ad_hash *h, const void *data, size_t len)
{
	const uint8_t *p = data;

	h->total += len;
	if (h->buffered > 0) {
		size_t take = 32 - h->buffered;
		if (take > len)
			take = len;
		memcpy(h->buf + h->buffered, p, take);
		h->buffered += (uint32_t)take;
		p += take;
		len -= take;
		if (h->buffered < 32)
			return;
		xxh_stripe(h->v, h->buf);
		h->buffered = 0;
	}
	if (len >= 32) {
		/* The lanes in locals: through h->v, every stripe (a call) would
		 * store and reload them (p may alias h), adding that latency to each round. */
		uint64_t v0 = h->v[0], v1 = h->v[1], v2 = h->v[2], v3 = h->v[3];
		for (; len >= 32; p += 32, len -= 32) {
			v0 = xxh_round(v0, read64(p));
			v1 = xxh_round(v1, read64(p + 8));
			v2 = xxh_round(v2, read64(p + 16));
			v3 = xxh_round(v3, read64(p + 24));
		}
		h->v[0] = v0;
		h->v[1] = v1;
		h->v[2] = v2;
		h->v[3] = v3;
	}
	memcpy(h->buf, p, len);
	h->buffered = (uint32_t)len;
}

uint64_t
ad_hash_digest(const struct ad_hash *h)
{
	const uint8_t *p = h->buf;
	size_t         len = h->buffered;
	uint64_t       acc;

	if (h->total >= 32) {
		acc = rotl64(h->v[0], 1) + rotl64(h->v[1], 7) + rotl64(h->v[2], 12) +
		    rotl64(h->v[3], 18);
		for (int i = 0; i < 4; i++)
			acc = xxh_merge(acc, h->v[i]);
	} else {
		acc = h->seed + P5;
	}
	acc += h->total;
	for (; len >= 8; p += 8, len -= 8) {
		acc ^= xxh_round(0, read64(p));
		acc = rotl64(acc, 27) * P1 + P4;
	}
	if (len >= 4) {
		acc ^= (uint64_t)read32(p) * P1;
		acc = rotl64(acc, 23) * P2 + P3;
		p += 4;
		len -= 4;
	}
	for (; len > 0; p++, len--) {
		acc ^= (uint64_t)*p * P5;
		acc = rotl64(acc, 11) * P1;
	}
	acc ^= acc >> 33;
	acc *= P2;
	acc ^= acc >> 29;
	acc *= P3;
	acc ^= acc >> 32;
	return acc;
}

uint64_t
ad_hash64(const void *data, size_t len, uint64_t seed)
{
	struct ad_hash h;

	ad_hash_init(&h, seed);
	ad_hash_update(&h, data, len);
	return ad_hash_digest(&h);
}
