#include "dgaudit/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

struct dg_hash {
	EVP_MD_CTX *ctx;
};

static void init(struct dg_hash *h)
{
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		dg_log_fatalx("SHA-256 unavailable in OpenSSL");
}

struct dg_hash *dg_hash_new(void)
{
	struct dg_hash *h = dg_xcalloc(1, sizeof *h);

	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL)
		dg_log_fatalx("out of memory creating a digest context");
	init(h);
	return h;
}

void dg_hash_free(struct dg_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

void dg_hash_update(struct dg_hash *h, const void *data, size_t len)
{
	if (len > 0)
		EVP_DigestUpdate(h->ctx, data, len);
}

void dg_hash_final(struct dg_hash *h, uint8_t out[DG_HASH_LEN])
{
	unsigned n = DG_HASH_LEN;

	EVP_DigestFinal_ex(h->ctx, out, &n);
	init(h);
}

void dg_hash_peek(const struct dg_hash *h, uint8_t out[DG_HASH_LEN])
{
	EVP_MD_CTX *copy = EVP_MD_CTX_new();
	unsigned n = DG_HASH_LEN;

	if (copy == NULL || EVP_MD_CTX_copy_ex(copy, h->ctx) != 1)
		dg_log_fatalx("out of memory copying a digest context");
	EVP_DigestFinal_ex(copy, out, &n);
	EVP_MD_CTX_free(copy);
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
