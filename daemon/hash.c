#include "dgaudit/hash.h"

/* SHA256_CTX is deprecated in OpenSSL 3 in favour of EVP, but it is the only digest state that
 * can be saved and restored: the daemon checkpoints the digest of a report period's bytes so a
 * restart continues it. It runs the same assembly (SHA-NI where present) as EVP. */
#undef OPENSSL_NO_DEPRECATED /* the build hides deprecated interfaces everywhere else */
#undef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 10100
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

struct dg_hash {
	SHA256_CTX ctx;
};

struct dg_hash *dg_hash_new(void)
{
	struct dg_hash *h = dg_xcalloc(1, sizeof *h);

	SHA256_Init(&h->ctx);
	return h;
}

void dg_hash_free(struct dg_hash *h)
{
	if (h == NULL)
		return;
	OPENSSL_cleanse(h, sizeof *h);
	free(h);
}

void dg_hash_update(struct dg_hash *h, const void *data, size_t len)
{
	if (len > 0)
		SHA256_Update(&h->ctx, data, len);
}

void dg_hash_final(struct dg_hash *h, uint8_t out[DG_HASH_LEN])
{
	SHA256_Final(out, &h->ctx);
	SHA256_Init(&h->ctx);
}

void dg_hash_peek(const struct dg_hash *h, uint8_t out[DG_HASH_LEN])
{
	SHA256_CTX copy = h->ctx;

	SHA256_Final(out, &copy);
}

void dg_hash_copy(struct dg_hash *dst, const struct dg_hash *src)
{
	dst->ctx = src->ctx;
}

void dg_hash_reset(struct dg_hash *h)
{
	SHA256_Init(&h->ctx);
}

/* The state as hex: the eight chaining words, the bit count and the buffered block. */
char *dg_hash_save(const struct dg_hash *h)
{
	const SHA256_CTX *c = &h->ctx;
	uint8_t raw[8 * 4 + 4 + 4 + 64 + 4];
	char *hex = dg_xmalloc(2 * sizeof raw + 1);
	size_t n = 0;

	for (int i = 0; i < 8; i++, n += 4)
		memcpy(raw + n, &c->h[i], 4);
	memcpy(raw + n, &c->Nl, 4);
	memcpy(raw + n + 4, &c->Nh, 4);
	memcpy(raw + n + 8, c->data, 64);
	memcpy(raw + n + 72, &c->num, 4);
	return dg_hash_hex(raw, sizeof raw, hex);
}

int dg_hash_load(struct dg_hash *h, const char *hex)
{
	SHA256_CTX *c = &h->ctx;
	uint8_t raw[8 * 4 + 4 + 4 + 64 + 4];
	size_t n = 0;

	if (strlen(hex) != 2 * sizeof raw || dg_hash_unhex(hex, raw, sizeof raw) != 0)
		return -1;
	SHA256_Init(c);
	for (int i = 0; i < 8; i++, n += 4)
		memcpy(&c->h[i], raw + n, 4);
	memcpy(&c->Nl, raw + n, 4);
	memcpy(&c->Nh, raw + n + 4, 4);
	memcpy(c->data, raw + n + 8, 64);
	memcpy(&c->num, raw + n + 72, 4);
	return c->num < 64 ? 0 : -1;
}

void dg_hash_sha256(const void *data, size_t len, uint8_t out[DG_HASH_LEN])
{
	unsigned n = DG_HASH_LEN;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1)
		dg_log_fatalx("SHA-256 failed");
}

void dg_hash_hmac(const uint8_t *key, size_t keylen, const void *data, size_t len,
                  uint8_t out[DG_HASH_LEN])
{
	unsigned n = DG_HASH_LEN;

	if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL)
		dg_log_fatalx("HMAC-SHA-256 failed");
}

char *dg_hash_hex(const uint8_t *bin, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bin[i] >> 4];
		out[2 * i + 1] = digits[bin[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int dg_hash_unhex(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo;

		if (hi < 0)
			return -1;
		lo = nibble(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * n] == '\0' ? 0 : -1;
}

void dg_hash_cleanse(void *p, size_t len)
{
	OPENSSL_cleanse(p, len);
}
