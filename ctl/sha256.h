/* SPDX-License-Identifier: GPL-2.0 */
/*
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), small and
 * dependency-free: they authenticate every frame of the logging channel
 * and every heartbeat. Not constant-time in the data, which is public;
 * the key is only ever hashed.
 */
#ifndef FT_SHA256_H
#define FT_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32
#define SHA256_BLOCK	64

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;		/* hashed so far */
	unsigned char buf[SHA256_BLOCK];
	size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *p, size_t n);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);
void sha256(const void *p, size_t n, unsigned char out[SHA256_LEN]);

/* HMAC-SHA256, incrementally: init with the key, update, final. */
struct hmac256 {
	struct sha256 inner, outer;
};

void hmac256_init(struct hmac256 *h, const void *key, size_t klen);
void hmac256_update(struct hmac256 *h, const void *p, size_t n);
void hmac256_final(struct hmac256 *h, unsigned char out[SHA256_LEN]);
void hmac256(const void *key, size_t klen, const void *p, size_t n,
	     unsigned char out[SHA256_LEN]);

/* Compares n bytes in time that does not depend on where they differ. */
bool ct_equal(const void *a, const void *b, size_t n);

#endif
