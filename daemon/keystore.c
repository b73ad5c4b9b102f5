#include "dgaudit/keystore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/buf.h"
#include "dgaudit/fileio.h"
#include "dgaudit/hash.h"
#include "dgaudit/log.h"
#include "dgaudit/xmalloc.h"

/* The configured path, or name in the state directory (which is created, private). */
static char *key_path(const struct dg_config *cfg, const char *configured, const char *name,
                      bool service, bool *is_default, char **cause)
{
	char *dir, *path;

	*is_default = configured == NULL;
	if (configured != NULL)
		return dg_xstrdup(configured);
	dir = dg_config_state_dir(cfg, service);
	if (dg_fileio_mkdirs(dir, 0700, cause) != 0) {
		free(dir);
		return NULL;
	}
	path = dg_xasprintf("%s/%s", dir, name);
	free(dir);
	return path;
}

struct dg_signer *dg_keystore_signer(const struct dg_config *cfg, bool service, bool *created,
                                     char **cause)
{
	bool is_default;
	char *path = key_path(cfg, cfg->key_path, "signing.key", service, &is_default, cause);
	struct dg_signer *s = NULL;
	struct dg_buf pem = {0};
	char fp[DG_HASH_HEXLEN];

	if (created != NULL)
		*created = false;
	if (path == NULL)
		return NULL;
	if (is_default && access(path, F_OK) != 0 && errno == ENOENT) {
		if (dg_sign_keygen(path, DG_SIGN_ED25519, cause) != 0)
			goto out;
		if (created != NULL)
			*created = true;
		s = dg_sign_load(path, cause);
		if (s == NULL)
			goto out;
		dg_sign_public_pem(s, &pem);
		if (dg_sign_fingerprint(pem.data, pem.len, fp, cause) == 0)
			dg_log_info("created a new Ed25519 report signing key %s (public key "
			            "%s.pub.pem, fingerprint sha256:%s); keep it private and back "
			            "it up",
			            path, path, fp);
		goto out;
	}
	s = dg_sign_load(path, cause);
out:
	dg_buf_release(&pem);
	free(path);
	return s;
}

/* Writes key as hex to a new private file. */
static int write_hex(const char *path, const uint8_t key[DG_KEY_LEN], char **cause)
{
	char hex[2 * DG_KEY_LEN + 2];
	int fd, rc = 0;

	dg_hash_hex(key, DG_KEY_LEN, hex);
	strcat(hex, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) != 0) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			unlink(path);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	dg_hash_cleanse(hex, sizeof hex);
	return rc;
}

/* A 32-byte key kept as hex in a private file: loaded, or created when it is the default one
 * and missing (*created says so). what names it in messages, use says what it is for. */
static int hex_key(const struct dg_config *cfg, const char *configured, const char *name,
                   const char *what, const char *use, bool service, uint8_t key[DG_KEY_LEN],
                   bool *created, char **cause)
{
	bool is_default;
	char *path = key_path(cfg, configured, name, service, &is_default, cause);
	char *text = NULL;
	size_t len;
	int rc = -1, fd;

	if (created != NULL)
		*created = false;
	if (path == NULL)
		return -1;
	if (is_default && access(path, F_OK) != 0 && errno == ENOENT) {
		if (getrandom(key, DG_KEY_LEN, 0) != DG_KEY_LEN) {
			*cause = dg_xasprintf("no randomness for a %s: %s", what, strerror(errno));
			goto out;
		}
		if (write_hex(path, key, cause) != 0)
			goto out;
		dg_log_info("created a new %s %s; %s, keep it private", what, path, use);
		if (created != NULL)
			*created = true;
		rc = 0;
		goto out;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) >= 0) {
		int bad = dg_fileio_check_private(fd, path, what, cause);

		close(fd);
		if (bad != 0)
			goto out;
	}
	text = dg_fileio_read(path, 4096, &len, cause);
	if (text == NULL)
		goto out;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	if (len != 2 * DG_KEY_LEN || dg_hash_unhex(text, key, DG_KEY_LEN) != 0) {
		*cause = dg_xasprintf("%s %s: expected %d hex digits", what, path, 2 * DG_KEY_LEN);
		goto out;
	}
	rc = 0;
out:
	if (text != NULL) {
		dg_hash_cleanse(text, strlen(text));
		free(text);
	}
	free(path);
	return rc;
}

int dg_keystore_pseudonym(const struct dg_config *cfg, bool service,
                          uint8_t key[DG_PSEUDONYM_KEY_LEN], bool *created, char **cause)
{
	return hex_key(cfg, cfg->pseudonym_key_path, "pseudonym.key", "pseudonymisation key",
	               "subject ids in reports are HMACs under it", service, key, created, cause);
}

int dg_keystore_state(const struct dg_config *cfg, bool service, uint8_t key[DG_KEY_LEN],
                      bool *created, char **cause)
{
	return hex_key(cfg, NULL, "state.key", "state key",
	               "the checkpoint carries a MAC under it, so an edit is caught", service, key,
	               created, cause);
}

/* Whether the default key file name (in the state directory) is missing; its path in *path. */
static bool missing(const struct dg_config *cfg, const char *configured, const char *name,
                    bool service, char **path, char **cause)
{
	bool is_default;

	*path = key_path(cfg, configured, name, service, &is_default, cause);
	if (*path != NULL && is_default && access(*path, F_OK) != 0 && errno == ENOENT)
		return true;
	free(*path);
	*path = NULL;
	return false;
}

int dg_keystore_restore(const struct dg_config *cfg, bool service, const struct dg_signer *signer,
                        const uint8_t pseudonym[DG_KEY_LEN], const uint8_t state[DG_KEY_LEN],
                        int *restored, char **cause)
{
	char *path = NULL;
	int rc = 0;

	*restored = 0;
	if (missing(cfg, cfg->key_path, "signing.key", service, &path, cause)) {
		rc = dg_sign_save(signer, path, cause);
		*restored += rc == 0;
	}
	free(path);
	path = NULL;
	if (rc == 0 &&
	    missing(cfg, cfg->pseudonym_key_path, "pseudonym.key", service, &path, cause)) {
		rc = write_hex(path, pseudonym, cause);
		*restored += rc == 0;
	}
	free(path);
	path = NULL;
	if (rc == 0 && missing(cfg, NULL, "state.key", service, &path, cause)) {
		rc = write_hex(path, state, cause);
		*restored += rc == 0;
	}
	free(path);
	return rc;
}
