/* A TLS client over a connected socket (syslog over TLS, RFC 5425): the one module besides
 * signing and hashing that touches OpenSSL. The peer's certificate is checked against the CA
 * file given (else the system's store) and must carry the name expected, unless verify is
 * off. Blocking, for the forwarding thread. */
#ifndef DGAUDIT_TLS_H
#define DGAUDIT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct dg_tls;

/* The handshake on fd (which the caller keeps and closes); NULL with *cause. cert and key are
 * the client's own, when the server asks for one (both or neither). */
struct dg_tls *dg_tls_connect(int fd, const char *name, const char *ca, const char *cert,
                              const char *key, bool verify, char **cause);
/* Bytes written (> 0), or -1 if the connection failed. */
ssize_t dg_tls_write(struct dg_tls *t, const void *buf, size_t len);
/* Bytes read (> 0), 0 at the end of the stream, -1 if the connection failed. */
ssize_t dg_tls_read(struct dg_tls *t, void *buf, size_t len);
/* Bytes already decrypted and waiting to be read (a poll of the socket would not see them). */
size_t dg_tls_pending(const struct dg_tls *t);
/* A close_notify, and the session freed; NULL is a no-op. */
void dg_tls_free(struct dg_tls *t);

#endif
