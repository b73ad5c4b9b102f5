#include "dgaudit/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "dgaudit/xmalloc.h"

struct dg_tls {
	SSL_CTX *ctx;
	SSL *ssl;
};

static char *ssl_cause(const char *what)
{
	char msg[256] = "";
	unsigned long e = ERR_get_error();

	if (e != 0)
		ERR_error_string_n(e, msg, sizeof msg);
	ERR_clear_error();
	return dg_xasprintf("%s%s%s", what, msg[0] ? ": " : "", msg);
}

static bool is_address(const char *name)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, buf) == 1 || inet_pton(AF_INET6, name, buf) == 1;
}

struct dg_tls *dg_tls_connect(int fd, const char *name, const char *ca, const char *cert,
                              const char *key, bool verify, char **cause)
{
	struct dg_tls *t = dg_xcalloc(1, sizeof *t);
	long result;

	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL) {
		*cause = ssl_cause("cannot make a TLS context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION); /* RFC 5425 and BCP 195 */
	if (verify) {
		SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
		if ((ca ? SSL_CTX_load_verify_locations(t->ctx, ca, NULL)
		        : SSL_CTX_set_default_verify_paths(t->ctx)) != 1) {
			*cause = ssl_cause(ca ? ca : "the system's CA certificates");
			goto fail;
		}
	}
	if (cert != NULL && (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
	                     SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1)) {
		*cause = ssl_cause(cert);
		goto fail;
	}
	if ((t->ssl = SSL_new(t->ctx)) == NULL || SSL_set_fd(t->ssl, fd) != 1) {
		*cause = ssl_cause("cannot make a TLS session");
		goto fail;
	}
	/* an address is checked against the certificate's IP names and sent in no SNI (RFC 6066) */
	if (is_address(name)) {
		if (verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), name) != 1) {
			*cause = ssl_cause(name);
			goto fail;
		}
	} else {
		SSL_set_tlsext_host_name(t->ssl, name);
		if (verify && SSL_set1_host(t->ssl, name) != 1) {
			*cause = ssl_cause(name);
			goto fail;
		}
	}
	if (SSL_connect(t->ssl) != 1) {
		result = SSL_get_verify_result(t->ssl);
		*cause = result != X509_V_OK ? dg_xasprintf("the collector's certificate: %s",
		                                            X509_verify_cert_error_string(result))
		                             : ssl_cause("the handshake failed");
		ERR_clear_error();
		goto fail;
	}
	return t;
fail:
	if (t->ssl)
		SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	free(t);
	return NULL;
}

ssize_t dg_tls_write(struct dg_tls *t, const void *buf, size_t len)
{
	size_t n = 0;

	if (SSL_write_ex(t->ssl, buf, len, &n) != 1) {
		ERR_clear_error();
		return -1;
	}
	return (ssize_t)n;
}

ssize_t dg_tls_read(struct dg_tls *t, void *buf, size_t len)
{
	size_t n = 0;

	if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	if (SSL_get_error(t->ssl, 0) == SSL_ERROR_ZERO_RETURN) {
		ERR_clear_error();
		return 0;
	}
	ERR_clear_error();
	return -1;
}

size_t dg_tls_pending(const struct dg_tls *t)
{
	return (size_t)SSL_pending(t->ssl);
}

void dg_tls_free(struct dg_tls *t)
{
	if (t == NULL)
		return;
	SSL_shutdown(t->ssl);
	ERR_clear_error();
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	free(t);
}
