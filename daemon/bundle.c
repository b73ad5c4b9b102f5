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

static const char *const bundle_files[] = {"report.json", "report.json.sig", "signer.pub.pem",
                                           "VERIFY.txt"};
#define NFILES           (sizeof bundle_files / sizeof bundle_files[0])
#define MAX_REPORT_BYTES ((size_t)1 << 30)
#define MAX_MEMBER_BYTES ((size_t)1 << 20)

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
	for (size_t i = 0; i <= NFILES; i++) {
		char *f = dg_xasprintf("%s/%s", tmp, i < NFILES ? bundle_files[i] : "SHA256SUMS");

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
	for (size_t i = 1; i <= NFILES; i++) {
		char *f =
		    dg_xasprintf("%s/%s", b->tmp, i < NFILES ? bundle_files[i] : "SHA256SUMS");

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
	text = dg_fileio_read(path, MAX_REPORT_BYTES, &len, &cause);
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

struct verify {
	const char *bundle;
	struct dg_buf *problems;
	int nproblems;
};

static void problem(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct verify *v, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = dg_xvasprintf(fmt, ap);
	va_end(ap);
	dg_buf_printf(v->problems, "%s: %s\n", v->bundle, msg);
	free(msg);
	v->nproblems++;
}

static char *read_member(struct verify *v, const char *name, size_t *len)
{
	char *path = dg_xasprintf("%s/%s", v->bundle, name);
	char *cause = NULL;
	/* a key, a signature or a list of sums is small: a huge one is no bundle's */
	size_t max = strcmp(name, "report.json") == 0 ? MAX_REPORT_BYTES : MAX_MEMBER_BYTES;
	char *data = dg_fileio_read(path, max, len, &cause);

	if (data == NULL) {
		problem(v, "cannot read %s (%s)", name, cause);
		free(cause);
	}
	free(path);
	return data;
}

/* Every file of the bundle is listed in SHA256SUMS with its right digest, and nothing else. */
static void check_sums(struct verify *v, const char *report, size_t rlen)
{
	size_t len, flen;
	char *sums = read_member(v, "SHA256SUMS", &len);
	bool listed[NFILES] = {false};
	char *line, *save = NULL;

	if (sums == NULL)
		return;
	for (line = strtok_r(sums, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *name = strstr(line, "  ");
		uint8_t want[DG_HASH_LEN], got[DG_HASH_LEN];
		size_t i;
		char *data;

		if (name == NULL || name - line != 64) {
			problem(v, "SHA256SUMS: malformed line");
			continue;
		}
		*name = '\0';
		name += 2;
		if (dg_hash_unhex(line, want, DG_HASH_LEN) != 0) {
			problem(v, "SHA256SUMS: malformed digest for %s", name);
			continue;
		}
		for (i = 0; i < NFILES && strcmp(bundle_files[i], name) != 0; i++)
			;
		if (i == NFILES) {
			problem(v, "SHA256SUMS lists an unexpected file '%s'", name);
			continue;
		}
		listed[i] = true;
		if (strcmp(name, "report.json") == 0) { /* read once, for its signature too */
			if (report == NULL)
				continue;
			dg_hash_sha256(report, rlen, got);
		} else {
			if ((data = read_member(v, name, &flen)) == NULL)
				continue;
			dg_hash_sha256(data, flen, got);
			free(data);
		}
		if (memcmp(want, got, DG_HASH_LEN) != 0)
			problem(v, "%s does not match its SHA-256 in SHA256SUMS", name);
	}
	for (size_t i = 0; i < NFILES; i++)
		if (!listed[i])
			problem(v, "SHA256SUMS does not list %s", bundle_files[i]);
	free(sums);
}

static const struct dg_cjson *member(struct verify *v, const struct dg_cjson *o, const char *path,
                                     const char *key, enum dg_cjson_type type)
{
	const struct dg_cjson *m = dg_cjson_get(o, key);

	if (m == NULL || dg_cjson_type(m) != type) {
		problem(v, "report.json: %s%s%s is missing or of the wrong type", path,
		        *path ? "." : "", key);
		return NULL;
	}
	return m;
}

static bool is_hex64(const char *s)
{
	uint8_t tmp[DG_HASH_LEN];

	return s != NULL && strlen(s) == 64 && dg_hash_unhex(s, tmp, DG_HASH_LEN) == 0;
}

/* report.json is a canonical report whose summary agrees with its findings. */
static const struct dg_cjson *check_report(struct verify *v, const char *text, size_t len,
                                           struct dg_cjson **owned)
{
	const char *why = NULL;
	struct dg_cjson *r = dg_cjson_parse(text, len, &why);
	const struct dg_cjson *s, *f, *summary, *by_rule, *prev;
	struct dg_buf canon = {0};
	int64_t n, seq;

	*owned = r;
	if (r == NULL) {
		problem(v, "report.json is not valid JSON: %s", why);
		return NULL;
	}
	dg_cjson_write(r, &canon);
	if (canon.len != len || memcmp(canon.data, text, len) != 0)
		problem(v, "report.json is not in canonical form (RFC 8785)");
	dg_buf_release(&canon);
	s = member(v, r, "", "schema", DG_CJSON_STRING);
	if (s != NULL && strcmp(dg_cjson_string(s), DG_REPORT_SCHEMA) != 0)
		problem(v, "report.json: unknown schema '%s'", dg_cjson_string(s));
	member(v, r, "", "report_id", DG_CJSON_STRING);
	if ((s = member(v, r, "", "report_seq", DG_CJSON_INT)) && dg_cjson_intval(s, &seq) &&
	    seq < 1)
		problem(v, "report.json: report_seq must be at least 1");
	prev = dg_cjson_get(r, "prev_report_sha256");
	if (prev == NULL ||
	    (dg_cjson_type(prev) != DG_CJSON_NULL && !is_hex64(dg_cjson_string(prev))))
		problem(v, "report.json: prev_report_sha256 must be null or a SHA-256 in hex");
	member(v, r, "", "generated", DG_CJSON_STRING);
	member(v, r, "", "period", DG_CJSON_OBJECT);
	if ((s = member(v, r, "", "producer", DG_CJSON_OBJECT)) != NULL) {
		member(v, s, "producer", "host", DG_CJSON_STRING);
		member(v, s, "producer", "version", DG_CJSON_STRING);
		member(v, s, "producer", "config_sha256", DG_CJSON_STRING);
		member(v, s, "producer", "rules_sha256", DG_CJSON_STRING);
	}
	if ((s = member(v, r, "", "inputs", DG_CJSON_ARRAY)) != NULL)
		for (size_t i = 0; i < dg_cjson_len(s); i++)
			if (!is_hex64(dg_cjson_string(dg_cjson_get(dg_cjson_at(s, i), "sha256"))))
				problem(v, "report.json: inputs[%zu] has no sha256", i);
	member(v, r, "", "malformed", DG_CJSON_OBJECT);
	member(v, r, "", "integrity_events", DG_CJSON_ARRAY);
	f = member(v, r, "", "findings", DG_CJSON_ARRAY);
	summary = member(v, r, "", "summary", DG_CJSON_OBJECT);
	if (f == NULL || summary == NULL)
		return r;
	if (!dg_cjson_intval(dg_cjson_get(summary, "findings"), &n) || (size_t)n != dg_cjson_len(f))
		problem(v, "report.json: summary.findings does not match the %zu findings listed",
		        dg_cjson_len(f));
	by_rule = member(v, summary, "summary", "by_rule", DG_CJSON_OBJECT);
	for (size_t i = 0; by_rule != NULL && i < dg_cjson_len(by_rule); i++) {
		const char *id = dg_cjson_key_at(by_rule, i);
		int64_t want = -1, got = 0;

		dg_cjson_intval(dg_cjson_at(by_rule, i), &want);
		for (size_t k = 0; k < dg_cjson_len(f); k++) {
			const char *rid = dg_cjson_string(dg_cjson_get(dg_cjson_at(f, k), "rule"));

			got += rid != NULL && strcmp(rid, id) == 0;
		}
		if (got != want)
			problem(v,
			        "report.json: summary says rule %s fired %lld times, findings show "
			        "%lld",
			        id, (long long)want, (long long)got);
	}
	return r;
}

struct link {
	char *name;
	int64_t seq;
	char sha[DG_HASH_HEXLEN];
	char prev[DG_HASH_HEXLEN]; /* "" when null */
	char key[DG_HASH_HEXLEN];  /* the signing key's fingerprint */
	bool has_seq;
};

/* Verifies one bundle; with link, also takes its chain fields from the report as read (each
 * member is read once, the report parsed once). */
static int verify_one(const char *bundle, const char *pubkey_pem, size_t pemlen,
                      struct dg_buf *problems, char **info, struct link *link)
{
	struct verify v = {bundle, problems, 0};
	size_t rlen = 0, slen = 0, plen = 0;
	char *report = read_member(&v, "report.json", &rlen);
	char *sig = read_member(&v, "report.json.sig", &slen);
	char *pem = read_member(&v, "signer.pub.pem", &plen);
	struct dg_cjson *owned = NULL;
	const struct dg_cjson *r = NULL;
	char fingerprint[DG_HASH_HEXLEN] = "?";
	enum dg_sign_type type = DG_SIGN_ED25519;
	char *cause = NULL;

	if (report != NULL && sig != NULL && (pem != NULL || pubkey_pem != NULL)) {
		const char *key = pubkey_pem ? pubkey_pem : pem;
		size_t klen = pubkey_pem ? pemlen : plen;

		if (dg_sign_verify(key, klen, report, rlen, sig, slen, &type, &cause) != 0) {
			problem(&v, "signature check failed: %s%s", cause,
			        pubkey_pem ? " (with the key given by --pubkey)" : "");
			free(cause);
			cause = NULL;
		}
		if (dg_sign_fingerprint(key, klen, fingerprint, &cause) != 0) {
			free(cause);
			cause = NULL;
		}
		if (pubkey_pem != NULL && pem != NULL &&
		    (plen != pemlen || memcmp(pem, pubkey_pem, plen) != 0)) {
			char other[DG_HASH_HEXLEN] = "";

			if (dg_sign_fingerprint(pem, plen, other, &cause) != 0)
				free(cause);
			if (strcmp(other, fingerprint) != 0)
				problem(&v, "signer.pub.pem is not the key given by --pubkey");
		}
	}
	check_sums(&v, report, rlen);
	if (report != NULL)
		r = check_report(&v, report, rlen, &owned);
	if (v.nproblems == 0 && info != NULL) {
		int64_t seq = 0, nf = 0, nr = 0;
		const struct dg_cjson *summary = dg_cjson_get(r, "summary");

		dg_cjson_intval(dg_cjson_get(r, "report_seq"), &seq);
		dg_cjson_intval(dg_cjson_get(summary, "findings"), &nf);
		dg_cjson_intval(dg_cjson_get(summary, "records"), &nr);
		*info = dg_xasprintf(
		    "report %s (seq %lld): %lld records, %lld findings; signed with "
		    "%s key sha256:%s",
		    dg_cjson_string(dg_cjson_get(r, "report_id")), (long long)seq, (long long)nr,
		    (long long)nf, dg_sign_type_name(type), fingerprint);
	}
	if (link != NULL && report != NULL && r != NULL) {
		uint8_t d[DG_HASH_LEN];
		const char *prev = dg_cjson_string(dg_cjson_get(r, "prev_report_sha256"));

		dg_hash_sha256(report, rlen, d);
		dg_hash_hex(d, DG_HASH_LEN, link->sha);
		snprintf(link->prev, sizeof link->prev, "%s", prev ? prev : "");
		link->has_seq = dg_cjson_intval(dg_cjson_get(r, "report_seq"), &link->seq);
		snprintf(link->key, sizeof link->key, "%s", fingerprint);
	}
	dg_cjson_free(owned);
	free(report);
	free(sig);
	free(pem);
	return v.nproblems == 0 ? 0 : -1;
}

int dg_bundle_verify(const char *bundle, const char *pubkey_pem, size_t pemlen,
                     struct dg_buf *problems, char **info)
{
	return verify_one(bundle, pubkey_pem, pemlen, problems, info, NULL);
}

static int by_seq(const void *a, const void *b)
{
	const struct link *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int dg_bundle_verify_chain(const char *dir, const char *pubkey_pem, size_t pemlen,
                           struct dg_buf *problems, char **info)
{
	struct link *links = NULL;
	size_t n = 0;
	int bad = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL) {
		dg_buf_printf(problems, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char *bundle, *member;
		struct stat st;

		if (e->d_name[0] == '.' || strcmp(e->d_name, "latest") == 0)
			continue; /* hidden: a report in progress */
		bundle = dg_xasprintf("%s/%s", dir, e->d_name);
		member = dg_xasprintf("%s/report.json", bundle);
		if (lstat(bundle, &st) != 0 || !S_ISDIR(st.st_mode) || access(member, F_OK) != 0) {
			free(bundle);
			free(member);
			continue;
		}
		free(member);
		links = dg_xreallocarray(links, n + 1, sizeof *links);
		memset(&links[n], 0, sizeof links[n]);
		links[n].name = bundle;
		if (verify_one(bundle, pubkey_pem, pemlen, problems, NULL, &links[n]) != 0)
			bad++;
		if (!links[n].has_seq) {
			dg_buf_printf(problems, "%s: no report_seq\n", bundle);
			free(bundle);
			bad++;
			continue;
		}
		n++;
	}
	closedir(d);
	if (n == 0) {
		dg_buf_printf(problems, "%s: no report bundles\n", dir);
		bad++;
	}
	if (n > 1)
		qsort(links, n, sizeof *links, by_seq);
	for (size_t i = 1; i < n; i++) {
		if (links[i].seq == links[i - 1].seq) {
			dg_buf_printf(problems, "%s and %s: both are report %lld\n",
			              links[i - 1].name, links[i].name, (long long)links[i].seq);
			bad++;
		} else if (links[i].seq != links[i - 1].seq + 1) {
			dg_buf_printf(
			    problems, "chain: report %lld is missing (between %s and %s)\n",
			    (long long)links[i - 1].seq + 1, links[i - 1].name, links[i].name);
			bad++;
		} else if (strcmp(links[i].prev, links[i - 1].sha) != 0) {
			dg_buf_printf(
			    problems,
			    "chain: %s does not follow %s (prev_report_sha256 %s, but that "
			    "report's SHA-256 is %s)\n",
			    links[i].name, links[i - 1].name,
			    links[i].prev[0] ? links[i].prev : "null", links[i - 1].sha);
			bad++;
		}
	}
	if (info != NULL && n > 0) {
		struct dg_buf keys = {0};

		/* a key changed along the chain is said: the daemon records why in the report that
		 * follows (keys_replaced), and a verifier should not have to notice alone */
		for (size_t i = 1; i < n; i++)
			if (strcmp(links[i].key, links[i - 1].key) != 0)
				dg_buf_printf(
				    &keys, "; the signing key changes at report %lld (sha256:%s)",
				    (long long)links[i].seq, links[i].key);
		*info = dg_xasprintf("%zu reports, seq %lld to %lld, chained%s%s", n,
		                     (long long)links[0].seq, (long long)links[n - 1].seq,
		                     links[0].prev[0] ? " (the first follows an earlier report)"
		                                      : " from the first",
		                     keys.len ? keys.data : "");
		dg_buf_release(&keys);
	}
	for (size_t i = 0; i < n; i++)
		free(links[i].name);
	free(links);
	return bad ? -1 : 0;
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
