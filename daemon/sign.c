#include "dgaudit/sign.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/fileio.h"
#include "dgaudit/hash.h"
#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

struct dg_signer {
	EVP_PKEY *key;
	enum dg_sign_type type;
};

static const char *const type_names[] = {
    [DG_SIGN_ED25519] = "ed25519",
    [DG_SIGN_ECDSA_P256] = "ecdsa-p256",
    [DG_SIGN_RSA_PSS] = "rsa-pss",
};

bool dg_sign_type_parse(const char *name, enum dg_sign_type *out)
{
	for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++) {
		if (strcmp(type_names[i], name) == 0) {
			*out = (enum dg_sign_type)i;
			return true;
		}
	}
	return false;
}

const char *dg_sign_type_name(enum dg_sign_type type)
{
	return type_names[type];
}

/* The reason OpenSSL gives for its last failure, appended to what we were doing. */
static char *ssl_cause(const char *what)
{
	unsigned long e = ERR_get_error();
	char reason[256] = "unknown OpenSSL error";

	if (e != 0)
		ERR_error_string_n(e, reason, sizeof reason);
	ERR_clear_error();
	return dg_xasprintf("%s: %s", what, reason);
}

static bool type_of_key(EVP_PKEY *key, enum dg_sign_type *type)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_ED25519:
		*type = DG_SIGN_ED25519;
		return true;
	case EVP_PKEY_EC:
		*type = DG_SIGN_ECDSA_P256;
		return EVP_PKEY_get_bits(key) == 256;
	case EVP_PKEY_RSA:
		*type = DG_SIGN_RSA_PSS;
		return EVP_PKEY_get_bits(key) >= 2048;
	}
	return false;
}

static EVP_PKEY *generate(enum dg_sign_type type)
{
	switch (type) {
	case DG_SIGN_ED25519:
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	case DG_SIGN_ECDSA_P256:
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	case DG_SIGN_RSA_PSS:
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	}
	return NULL;
}

/* Writes a PEM through write_pem into a new file, created with mode and never replacing one. */
static int write_new(const char *path, mode_t mode, EVP_PKEY *key, bool private_part, char **cause)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	int ok;

	if (fd < 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	ok = private_part ? PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
	                  : PEM_write_PUBKEY(f, key);
	if (!ok || fflush(f) != 0 || fsync(fileno(f)) != 0) {
		*cause = ok ? dg_xasprintf("%s: %s", path, strerror(errno))
		            : ssl_cause("writing the key");
		fclose(f);
		unlink(path);
		return -1;
	}
	fclose(f);
	return 0;
}

static int write_pair(const char *path, EVP_PKEY *key, char **cause)
{
	char *pub = dg_xasprintf("%s.pub.pem", path);
	int rc = -1;

	if (write_new(path, 0600, key, true, cause) != 0)
		goto out;
	unlink(pub); /* a public half left alone is replaced by the key's own */
	if (write_new(pub, 0644, key, false, cause) != 0) {
		unlink(path);
		goto out;
	}
	rc = 0;
out:
	free(pub);
	return rc;
}

int dg_sign_keygen(const char *path, enum dg_sign_type type, char **cause)
{
	EVP_PKEY *key = generate(type);
	int rc;

	if (key == NULL) {
		*cause = ssl_cause("generating the key");
		return -1;
	}
	rc = write_pair(path, key, cause);
	EVP_PKEY_free(key);
	return rc;
}

int dg_sign_save(const struct dg_signer *s, const char *path, char **cause)
{
	return write_pair(path, s->key, cause);
}

struct dg_signer *dg_sign_load(const char *path, char **cause)
{
	struct dg_signer *s = NULL;
	EVP_PKEY *key = NULL;
	enum dg_sign_type type;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*cause = dg_xasprintf("signing key %s: %s", path, strerror(errno));
		return NULL;
	}
	if (dg_fileio_check_private(fd, path, "signing key", cause) != 0) {
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		*cause = dg_xasprintf("signing key %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (key == NULL) {
		char *why = ssl_cause("not a PEM private key");

		*cause = dg_xasprintf("signing key %s: %s", path, why);
		free(why);
		return NULL;
	}
	if (!type_of_key(key, &type)) {
		*cause =
		    dg_xasprintf("signing key %s: not an Ed25519, ECDSA P-256 or RSA (2048 bits "
		                 "or more) key",
		                 path);
		EVP_PKEY_free(key);
		return NULL;
	}
	s = dg_xcalloc(1, sizeof *s);
	s->key = key;
	s->type = type;
	return s;
}

void dg_sign_free(struct dg_signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key); /* OpenSSL clears private key material on free */
	free(s);
}

enum dg_sign_type dg_sign_type_of(const struct dg_signer *s)
{
	return s->type;
}

void dg_sign_public_pem(const struct dg_signer *s, struct dg_buf *out)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (bio == NULL || !PEM_write_bio_PUBKEY(bio, s->key))
		dg_log_fatalx("out of memory encoding a public key");
	n = BIO_get_mem_data(bio, &data);
	dg_buf_add(out, data, (size_t)n);
	BIO_free(bio);
}

/* Sets up ctx for signing or verifying with the digest and padding each key type uses. */
static int setup(EVP_MD_CTX *ctx, EVP_PKEY *key, enum dg_sign_type type, bool signing)
{
	const EVP_MD *md = type == DG_SIGN_ED25519 ? NULL : EVP_sha256();
	EVP_PKEY_CTX *pctx = NULL;
	int ok = signing ? EVP_DigestSignInit(ctx, &pctx, md, NULL, key)
	                 : EVP_DigestVerifyInit(ctx, &pctx, md, NULL, key);

	if (ok != 1)
		return -1;
	if (type == DG_SIGN_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
		return -1;
	return 0;
}

int dg_sign_sign(const struct dg_signer *s, const void *msg, size_t len, struct dg_buf *out,
                 char **cause)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = 0;
	int rc = -1;

	if (ctx == NULL || setup(ctx, s->key, s->type, true) != 0 ||
	    EVP_DigestSign(ctx, NULL, &siglen, msg, len) != 1) {
		*cause = ssl_cause("signing");
		goto out;
	}
	dg_buf_reserve(out, siglen);
	if (EVP_DigestSign(ctx, (unsigned char *)out->data + out->len, &siglen, msg, len) != 1) {
		*cause = ssl_cause("signing");
		goto out;
	}
	out->len += siglen;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

static EVP_PKEY *read_public(const char *pem, size_t pemlen, char **cause)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)pemlen);
	EVP_PKEY *key = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	if (key == NULL)
		*cause = ssl_cause("not a PEM public key");
	return key;
}

int dg_sign_verify(const char *pem, size_t pemlen, const void *msg, size_t len, const void *sig,
                   size_t siglen, enum dg_sign_type *type, char **cause)
{
	EVP_PKEY *key = read_public(pem, pemlen, cause);
	EVP_MD_CTX *ctx = NULL;
	int rc = -1;

	if (key == NULL)
		return -1;
	if (!type_of_key(key, type)) {
		*cause = dg_xstrdup("public key is not of a supported type");
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || setup(ctx, key, *type, false) != 0) {
		*cause = ssl_cause("preparing verification");
		goto out;
	}
	if (EVP_DigestVerify(ctx, sig, siglen, msg, len) != 1) {
		ERR_clear_error();
		*cause = dg_xstrdup("signature does not match the report and key");
		goto out;
	}
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return rc;
}

int dg_sign_fingerprint(const char *pem, size_t pemlen, char *out, char **cause)
{
	EVP_PKEY *key = read_public(pem, pemlen, cause);
	unsigned char *der = NULL;
	uint8_t digest[DG_HASH_LEN];
	int n;

	if (key == NULL)
		return -1;
	n = i2d_PUBKEY(key, &der);
	EVP_PKEY_free(key);
	if (n <= 0) {
		*cause = ssl_cause("encoding the public key");
		return -1;
	}
	dg_hash_sha256(der, (size_t)n, digest);
	OPENSSL_free(der);
	dg_hash_hex(digest, DG_HASH_LEN, out);
	return 0;
}
