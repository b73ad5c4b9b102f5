/* SHA-256 (incremental, one-shot, and with a state that can be saved) and HMAC-SHA-256,
 * through OpenSSL. */
#ifndef DGAUDIT_HASH_H
#define DGAUDIT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define DG_HASH_LEN    32
#define DG_HASH_HEXLEN 65 /* 64 hex digits and a NUL */

struct dg_hash;

struct dg_hash *dg_hash_new(void);
void dg_hash_free(struct dg_hash *h);
void dg_hash_update(struct dg_hash *h, const void *data, size_t len);
/* Writes the digest of everything fed since creation or the last final, and starts over. */
void dg_hash_final(struct dg_hash *h, uint8_t out[DG_HASH_LEN]);
/* The digest so far, without ending the computation (for progress in a long stream). */
void dg_hash_peek(const struct dg_hash *h, uint8_t out[DG_HASH_LEN]);
/* Makes dst continue exactly where src is. */
void dg_hash_copy(struct dg_hash *dst, const struct dg_hash *src);
/* Starts over, as if new. */
void dg_hash_reset(struct dg_hash *h);
/* The computation's state as text (caller frees), and back: a digest can continue across a
 * restart. dg_hash_load returns -1 if the text is not a saved state. */
char *dg_hash_save(const struct dg_hash *h);
int dg_hash_load(struct dg_hash *h, const char *text);

void dg_hash_sha256(const void *data, size_t len, uint8_t out[DG_HASH_LEN]);
void dg_hash_hmac(const uint8_t *key, size_t keylen, const void *data, size_t len,
                  uint8_t out[DG_HASH_LEN]);
/* Lower-case hex of n bytes into out (2n + 1 bytes); returns out. */
char *dg_hash_hex(const uint8_t *bin, size_t n, char *out);
/* Parses 2n hex digits into n bytes. */
int dg_hash_unhex(const char *hex, uint8_t *out, size_t n);
/* FNV-1a, for in-memory hash tables only (never for evidence: it is not cryptographic). */
static inline uint64_t dg_hash_fnv(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

/* Wipes a secret so it does not linger in freed memory. */
void dg_hash_cleanse(void *p, size_t len);

#endif
