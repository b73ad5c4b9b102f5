#include "dgaudit/verify.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/bundle.h"
#include "dgaudit/cjson.h"
#include "dgaudit/fileio.h"
#include "dgaudit/hash.h"
#include "dgaudit/report.h"
#include "dgaudit/sign.h"
#include "dgaudit/xmalloc.h"

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
	size_t max = strcmp(name, "report.json") == 0 ? DG_BUNDLE_MAX_REPORT : DG_BUNDLE_MAX_MEMBER;
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
	bool listed[DG_BUNDLE_NFILES] = {false};
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
		for (i = 0; i < DG_BUNDLE_NFILES && strcmp(dg_bundle_files[i], name) != 0; i++)
			;
		if (i == DG_BUNDLE_NFILES) {
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
	for (size_t i = 0; i < DG_BUNDLE_NFILES; i++)
		if (!listed[i])
			problem(v, "SHA256SUMS does not list %s", dg_bundle_files[i]);
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

int dg_verify_bundle(const char *bundle, const char *pubkey_pem, size_t pemlen,
                     struct dg_buf *problems, char **info)
{
	return verify_one(bundle, pubkey_pem, pemlen, problems, info, NULL);
}

static int by_seq(const void *a, const void *b)
{
	const struct link *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int dg_verify_chain(const char *dir, const char *pubkey_pem, size_t pemlen, struct dg_buf *problems,
                    char **info)
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
