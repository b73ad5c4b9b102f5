#include "dgaudit/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dgaudit/cjson.h"
#include "dgaudit/fileio.h"
#include "dgaudit/hash.h"
#include "dgaudit/log.h"
#include "dgaudit/report.h"
#include "dgaudit/xmalloc.h"

const char *const dg_bundle_files[DG_BUNDLE_NFILES] = {"report.json", "report.json.sig",
                                                       "signer.pub.pem", "VERIFY.txt"};

const char *dg_bundle_openssl_command(enum dg_sign_type type)
{
	switch (type) {
	case DG_SIGN_ED25519:
		return "openssl pkeyutl -verify -pubin -inkey signer.pub.pem -rawin -in "
		       "report.json "
		       "-sigfile report.json.sig";
	case DG_SIGN_ECDSA_P256:
		return "openssl dgst -sha256 -verify signer.pub.pem -signature report.json.sig "
		       "report.json";
	case DG_SIGN_RSA_PSS:
		return "openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt "
		       "rsa_pss_saltlen:32 -verify signer.pub.pem -signature report.json.sig "
		       "report.json";
	}
	return "";
}

static int write_in(const char *dir, const char *name, const void *data, size_t len, char **cause)
{
	char *path = dg_xasprintf("%s/%s", dir, name);
	int rc = dg_fileio_write(path, data, len, 0644, cause);

	free(path);
	return rc;
}

static void sum_line(struct dg_buf *sums, const char *name, const void *data, size_t len)
{
	uint8_t d[DG_HASH_LEN];
	char hex[DG_HASH_HEXLEN];

	dg_hash_sha256(data, len, d);
	dg_buf_printf(sums, "%s  %s\n", dg_hash_hex(d, DG_HASH_LEN, hex), name);
}

static void verify_text(struct dg_buf *out, enum dg_sign_type type, const char *fingerprint)
{
	dg_buf_printf(
	    out,
	    "This directory is a dgaudit audit report bundle. Check it without dgaudit,\n"
	    "from inside this directory, with the stock tools:\n\n"
	    "  sha256sum -c SHA256SUMS\n"
	    "  %s\n\n"
	    "Both must succeed (\"OK\" for each file, then \"Signature Verified "
	    "Successfully\"\nor \"Verified OK\"). The signature is %s over the exact bytes "
	    "of report.json.\n\n"
	    "signer.pub.pem travels with the report, so also check that it is the key you\n"
	    "trust. Its SHA-256 fingerprint (of the DER form) is\n\n  %s\n\n"
	    "and this prints it:\n\n"
	    "  openssl pkey -pubin -in signer.pub.pem -outform DER | sha256sum\n\n"
	    "Or verify against your own copy of the key: dgaudit verify --pubkey KEY.pem "
	    "DIR\n",
	    dg_bundle_openssl_command(type), dg_sign_type_name(type), fingerprint);
}

struct dg_bundle {
	char *dir, *name, *tmp;
	FILE *report;
};

static void remove_tmp(const char *tmp)
{
	for (size_t i = 0; i <= DG_BUNDLE_NFILES; i++) {
		char *f = dg_xasprintf("%s/%s", tmp,
		                       i < DG_BUNDLE_NFILES ? dg_bundle_files[i] : "SHA256SUMS");

		unlink(f);
		free(f);
	}
	rmdir(tmp);
}

static void bundle_free(struct dg_bundle *b)
{
	if (b->report != NULL)
		fclose(b->report);
	free(b->dir);
	free(b->name);
	free(b->tmp);
	free(b);
}

struct dg_bundle *dg_bundle_begin(const char *dir, const char *name, char **cause)
{
	struct dg_bundle *b = dg_xcalloc(1, sizeof *b);
	char *path;

	b->dir = dg_xstrdup(dir);
	b->name = dg_xstrdup(name);
	b->tmp = dg_xasprintf("%s/.%s.tmp", dir, name);
	if (dg_fileio_mkdirs(dir, 0755, cause) != 0)
		goto fail;
	if (mkdir(b->tmp, 0755) != 0) {
		*cause = dg_xasprintf("%s: %s", b->tmp, strerror(errno));
		goto fail;
	}
	path = dg_xasprintf("%s/report.json", b->tmp);
	b->report = fopen(path, "w+e"); /* readable too: it is mapped to be signed */
	free(path);
	if (b->report == NULL) {
		*cause = dg_xasprintf("%s/report.json: %s", b->tmp, strerror(errno));
		rmdir(b->tmp);
		goto fail;
	}
	setvbuf(b->report, NULL, _IOFBF, 1 << 20);
	return b;
fail:
	bundle_free(b);
	return NULL;
}

struct dg_bundle *dg_bundle_resume(const char *dir, const char *name, uint64_t length, char **cause)
{
	struct dg_bundle *b = dg_xcalloc(1, sizeof *b);
	char *path;
	int fd;

	b->dir = dg_xstrdup(dir);
	b->name = dg_xstrdup(name);
	b->tmp = dg_xasprintf("%s/.%s.tmp", dir, name);
	/* Files a crash left from signing: they are written again at the commit. */
	for (size_t i = 1; i <= DG_BUNDLE_NFILES; i++) {
		char *f = dg_xasprintf("%s/%s", b->tmp,
		                       i < DG_BUNDLE_NFILES ? dg_bundle_files[i] : "SHA256SUMS");

		unlink(f);
		free(f);
	}
	path = dg_xasprintf("%s/report.json", b->tmp);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)length) != 0 || lseek(fd, 0, SEEK_END) < 0 ||
	    (b->report = fdopen(fd, "r+")) == NULL) {
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		bundle_free(b);
		return NULL;
	}
	free(path);
	setvbuf(b->report, NULL, _IOFBF, 1 << 20);
	return b;
}

FILE *dg_bundle_report(struct dg_bundle *b)
{
	return b->report;
}

int dg_bundle_rehome(struct dg_bundle *b, char **cause)
{
	char *path = dg_xasprintf("%s/report.json", b->tmp), buf[1 << 16];
	int old = fileno(b->report), fd = -1;
	struct stat st;
	ssize_t n = 0;
	off_t off = 0;

	if (stat(path, &st) == 0) {
		free(path);
		return 0;
	}
	if (fflush(b->report) != 0 || dg_fileio_mkdirs(b->dir, 0755, cause) != 0 ||
	    (mkdir(b->tmp, 0755) != 0 && errno != EEXIST) ||
	    (fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		goto fail;
	while ((n = pread(old, buf, sizeof buf, off)) > 0) {
		if (write(fd, buf, (size_t)n) != n)
			goto fail;
		off += n;
	}
	/* the stream keeps its buffer and position; only the file under it changes */
	if (n < 0 || fsync(fd) != 0 || lseek(fd, 0, SEEK_END) != off ||
	    dup3(fd, old, O_CLOEXEC) < 0)
		goto fail;
	close(fd);
	free(path);
	return 1;
fail:
	if (*cause == NULL)
		*cause = dg_xasprintf("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(path);
	return -1;
}

int dg_bundle_sync(struct dg_bundle *b, uint64_t *length, char **cause)
{
	long pos;

	if (fflush(b->report) != 0 || fsync(fileno(b->report)) != 0 ||
	    (pos = ftell(b->report)) < 0) {
		*cause = dg_xasprintf("%s/report.json: %s", b->tmp, strerror(errno));
		return -1;
	}
	*length = (uint64_t)pos;
	return 0;
}

int dg_bundle_report_digest(const char *bundle, char sha256[65], int64_t *seq)
{
	char *path = dg_xasprintf("%s/report.json", bundle), *cause = NULL, *text;
	struct dg_cjson *r;
	uint8_t d[DG_HASH_LEN];
	const char *why;
	size_t len;

	if (seq == NULL) {
		struct dg_hash *h;
		char buf[1 << 16];
		ssize_t n;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		free(path);
		if (fd < 0)
			return -1;
		h = dg_hash_new();
		while ((n = read(fd, buf, sizeof buf)) > 0)
			dg_hash_update(h, buf, (size_t)n);
		close(fd);
		dg_hash_final(h, d);
		dg_hash_free(h);
		if (n < 0)
			return -1;
		dg_hash_hex(d, DG_HASH_LEN, sha256);
		return 0;
	}
	text = dg_fileio_read(path, DG_BUNDLE_MAX_REPORT, &len, &cause);
	free(path);
	free(cause);
	if (text == NULL)
		return -1;
	dg_hash_sha256(text, len, d);
	dg_hash_hex(d, DG_HASH_LEN, sha256);
	r = dg_cjson_parse(text, len, &why);
	free(text);
	if (r == NULL || !dg_cjson_intval(dg_cjson_get(r, "report_seq"), seq)) {
		dg_cjson_free(r);
		return -1;
	}
	dg_cjson_free(r);
	return 0;
}

/* The seq a bundle's name carries (STAMP-SEQ-ID), or -1. */
static int64_t seq_of_name(const char *name)
{
	const char *dash = strchr(name, '-');
	char *end;
	long long v;

	if (dash == NULL || dash[1] < '0' || dash[1] > '9')
		return -1;
	errno = 0;
	v = strtoll(dash + 1, &end, 10);
	return errno != 0 || *end != '-' ? -1 : v;
}

int dg_bundle_chain_end(const char *dir, int64_t *seq, char sha256[65], char **cause)
{
	char *last = NULL, *path;
	int64_t best = -1, named;
	struct dirent *e;
	DIR *d;
	int rc;

	/* The highest seq among the names, confirmed by that report's own report_seq: latest can
	 * lag (a crash between a bundle's rename and the link's) or be gone. */
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			char *member;

			if (e->d_name[0] == '.' || strcmp(e->d_name, "latest") == 0)
				continue;
			member = dg_xasprintf("%s/%s/report.json", dir, e->d_name);
			named = access(member, F_OK) == 0 ? seq_of_name(e->d_name) : -2;
			free(member);
			if (named == -2 || (last != NULL && named <= best))
				continue; /* not a bundle, or not the last */
			free(last);
			last = dg_xstrdup(e->d_name);
			best = named;
		}
		closedir(d);
	}
	path = dg_xasprintf("%s/%s", dir, last != NULL ? last : "latest");
	rc = dg_bundle_report_digest(path, sha256, seq);
	if (rc == 0 && (last == NULL || *seq == best)) {
		free(path);
		free(last);
		return 1;
	}
	rc = last != NULL ? -1 : 0;
	if (rc < 0)
		*cause =
		    dg_xasprintf("%s holds reports, but the last of them (%s) cannot be read or "
		                 "its report_seq is not the one its name gives",
		                 dir, path);
	free(path);
	free(last);
	return rc;
}

void dg_bundle_leave(struct dg_bundle *b)
{
	if (b != NULL)
		bundle_free(b);
}

void dg_bundle_abort(struct dg_bundle *b)
{
	if (b == NULL)
		return;
	fclose(b->report);
	b->report = NULL;
	remove_tmp(b->tmp);
	bundle_free(b);
}

/* Syncs report.json and maps it: a one-shot Ed25519 signature needs the whole message, and a
 * mapping lets the kernel page it in from the cache rather than the heap holding a copy. */
static const char *map_report(struct dg_bundle *b, size_t *len, char **cause)
{
	int fd = fileno(b->report);
	struct stat st;
	void *p;

	if (fflush(b->report) != 0 || ferror(b->report) || fsync(fd) != 0 || fstat(fd, &st) != 0) {
		*cause = dg_xasprintf("%s/report.json: %s", b->tmp, strerror(errno));
		return NULL;
	}
	*len = (size_t)st.st_size;
	if (*len == 0) {
		*cause = dg_xasprintf("%s/report.json is empty", b->tmp);
		return NULL;
	}
	p = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		*cause = dg_xasprintf("%s/report.json: %s", b->tmp, strerror(errno));
		return NULL;
	}
	return p;
}

int dg_bundle_commit(struct dg_bundle *b, const struct dg_signer *signer, char **path,
                     char sha256[65], char **cause)
{
	struct dg_buf sig = {0}, pem = {0}, verify = {0}, sums = {0};
	char *final = dg_xasprintf("%s/%s", b->dir, b->name);
	char *link_tmp = dg_xasprintf("%s/.latest.tmp", b->dir);
	char *link = dg_xasprintf("%s/latest", b->dir);
	char fingerprint[DG_HASH_HEXLEN];
	size_t len = 0;
	const char *report = map_report(b, &len, cause);
	int rc = -1;

	if (report == NULL)
		goto out;
	sum_line(&sums, "report.json", report, len);
	memcpy(sha256, sums.data, 64); /* the line starts with report.json's digest */
	sha256[64] = '\0';
	if (dg_sign_sign(signer, report, len, &sig, cause) != 0)
		goto out;
	dg_sign_public_pem(signer, &pem);
	if (dg_sign_fingerprint(pem.data, pem.len, fingerprint, cause) != 0)
		goto out;
	verify_text(&verify, dg_sign_type_of(signer), fingerprint);
	if (write_in(b->tmp, "report.json.sig", sig.data, sig.len, cause) != 0 ||
	    write_in(b->tmp, "signer.pub.pem", pem.data, pem.len, cause) != 0 ||
	    write_in(b->tmp, "VERIFY.txt", verify.data, verify.len, cause) != 0)
		goto out;
	sum_line(&sums, "report.json.sig", sig.data, sig.len);
	sum_line(&sums, "signer.pub.pem", pem.data, pem.len);
	sum_line(&sums, "VERIFY.txt", verify.data, verify.len);
	if (write_in(b->tmp, "SHA256SUMS", sums.data, sums.len, cause) != 0 ||
	    dg_fileio_fsync_dir(b->tmp, cause) != 0)
		goto out;
	if (rename(b->tmp, final) != 0) {
		*cause = dg_xasprintf("%s: %s", final, strerror(errno));
		goto out;
	}
	/* "latest" is a convenience; the bundle itself is already in place. */
	unlink(link_tmp);
	if (symlink(b->name, link_tmp) != 0 || rename(link_tmp, link) != 0)
		unlink(link_tmp);
	if (dg_fileio_fsync_dir(b->dir, cause) != 0)
		goto out;
	*path = final;
	final = NULL;
	rc = 0;
out:
	if (report != NULL)
		munmap((void *)report, len);
	if (rc == 0)
		bundle_free(b);
	dg_buf_release(&sig);
	dg_buf_release(&pem);
	dg_buf_release(&verify);
	dg_buf_release(&sums);
	free(final);
	free(link_tmp);
	free(link);
	return rc;
}

void dg_bundle_identify(int64_t started_ms, uint64_t seq, char id[33],
                        char name[DG_BUNDLE_NAME_MAX])
{
	uint8_t rnd[16];
	char stamp[32];
	time_t secs = (time_t)(started_ms / 1000);
	struct tm tm;

	if (getrandom(rnd, sizeof rnd, 0) != sizeof rnd)
		dg_log_fatal("getrandom");
	dg_hash_hex(rnd, sizeof rnd, id);
	gmtime_r(&secs, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(name, DG_BUNDLE_NAME_MAX, "%s-%06llu-%.8s", stamp, (unsigned long long)seq, id);
}
