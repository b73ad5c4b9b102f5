/* Report signing keys: Ed25519 (default), ECDSA P-256 with SHA-256, RSA-PSS (3072 bits,
 * SHA-256, salt = digest length). The only module that holds a private key. Signatures are
 * detached and over exact bytes, in the forms the stock openssl command line verifies. */
#ifndef DGAUDIT_SIGN_H
#define DGAUDIT_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "dgaudit/buf.h"

enum dg_sign_type { DG_SIGN_ED25519, DG_SIGN_ECDSA_P256, DG_SIGN_RSA_PSS };

bool dg_sign_type_parse(const char *name, enum dg_sign_type *out);
const char *dg_sign_type_name(enum dg_sign_type type);

struct dg_signer;

/* Creates a new key at path (mode 0600, never overwriting) and its public half at
 * path.pub.pem. Returns 0, or -1 with *cause. */
int dg_sign_keygen(const char *path, enum dg_sign_type type, char **cause);
/* Writes the signer's key to path (0600, which must not exist) and its public half to
 * path.pub.pem (0644): the key files put back after their directory was deleted. */
int dg_sign_save(const struct dg_signer *s, const char *path, char **cause);
/* Loads a private key; refuses one whose file group or others may read. NULL with *cause. */
struct dg_signer *dg_sign_load(const char *path, char **cause);
void dg_sign_free(struct dg_signer *s);
enum dg_sign_type dg_sign_type_of(const struct dg_signer *s);
/* Appends the PEM of the public key to out. */
void dg_sign_public_pem(const struct dg_signer *s, struct dg_buf *out);
/* Appends the signature over msg to out; 0, or -1 with *cause. */
int dg_sign_sign(const struct dg_signer *s, const void *msg, size_t len, struct dg_buf *out,
                 char **cause);
/* Verifies sig over msg with a PEM public key, whose type it reports in *type. Returns 0 if the
 * signature is valid, -1 with *cause otherwise. */
int dg_sign_verify(const char *pem, size_t pemlen, const void *msg, size_t len, const void *sig,
                   size_t siglen, enum dg_sign_type *type, char **cause);
/* SHA-256 of the public key's DER encoding (as `openssl pkey -pubin -outform DER | sha256sum`),
 * in hex, into out (65 bytes). */
int dg_sign_fingerprint(const char *pem, size_t pemlen, char *out, char **cause);

#endif
