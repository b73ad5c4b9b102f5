/* Keys, signatures and report bundles: every key type signs and verifies; a changed byte, a
 * swapped signature or another key fails; loose key permissions are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dgaudit/bundle.h"
#include "dgaudit/fileio.h"
#include "dgaudit/sign.h"
#include "dgaudit/verify.h"

static char dir[] = "/tmp/dg-test-sign-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd);
}

static struct dg_signer *new_key(const char *name, enum dg_sign_type type)
{
	char path[256], *cause = NULL;
	struct dg_signer *s;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(dg_sign_keygen(path, type, &cause), 0);
	s = dg_sign_load(path, &cause);
	if (s == NULL)
		fail_msg("%s", cause);
	return s;
}

static void test_sign_and_verify_each_type(void **state)
{
	static const char *const names[] = {"ed.key", "ec.key", "rsa.key"};
	const char msg[] = "{\"report\":1}";

	(void)state;
	for (int t = DG_SIGN_ED25519; t <= DG_SIGN_RSA_PSS; t++) {
		struct dg_signer *s = new_key(names[t], (enum dg_sign_type)t);
		struct dg_buf sig = {0}, pem = {0};
		enum dg_sign_type got;
		char *cause = NULL, bad[sizeof msg];

		assert_int_equal(dg_sign_type_of(s), t);
		assert_int_equal(dg_sign_sign(s, msg, sizeof msg - 1, &sig, &cause), 0);
		dg_sign_public_pem(s, &pem);
		assert_int_equal(dg_sign_verify(pem.data, pem.len, msg, sizeof msg - 1, sig.data,
		                                sig.len, &got, &cause),
		                 0);
		assert_int_equal(got, t);
		memcpy(bad, msg, sizeof msg);
		bad[3] ^= 1;
		assert_int_equal(dg_sign_verify(pem.data, pem.len, bad, sizeof msg - 1, sig.data,
		                                sig.len, &got, &cause),
		                 -1);
		assert_string_equal(cause, "signature does not match the report and key");
		free(cause);
		dg_buf_release(&sig);
		dg_buf_release(&pem);
		dg_sign_free(s);
	}
}

static void test_key_files(void **state)
{
	char path[256], *cause = NULL;
	struct stat st;

	(void)state;
	snprintf(path, sizeof path, "%s/perm.key", dir);
	assert_int_equal(dg_sign_keygen(path, DG_SIGN_ED25519, &cause), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* Never overwritten. */
	assert_int_equal(dg_sign_keygen(path, DG_SIGN_ED25519, &cause), -1);
	free(cause);
	cause = NULL;
	chmod(path, 0640);
	assert_null(dg_sign_load(path, &cause));
	assert_non_null(strstr(cause, "accessible by group or others (mode 0640)"));
	free(cause);
}

static char *member(const char *bundle, const char *name)
{
	static char path[512];

	snprintf(path, sizeof path, "%s/%s", bundle, name);
	return path;
}

static void flip_byte(const char *path, size_t at)
{
	size_t len;
	char *cause = NULL, *data = dg_fileio_read(path, 1 << 20, &len, &cause);

	assert_non_null(data);
	data[at % len] ^= 0x20;
	assert_int_equal(dg_fileio_write(path, data, len, 0644, &cause), 0);
	free(data);
}

/* Writes data as report.json of a new bundle dir/name; returns its path. */
static char *bundle_of(const char *parent, const char *name, const char *data, size_t len,
                       const struct dg_signer *s)
{
	char *cause = NULL, *path = NULL, sha[65];
	struct dg_bundle *b = dg_bundle_begin(parent, name, &cause);

	assert_non_null(b);
	assert_int_equal(fwrite(data, 1, len, dg_bundle_report(b)), len);
	if (dg_bundle_commit(b, s, &path, sha, &cause) != 0)
		fail_msg("%s", cause);
	assert_int_equal(strlen(sha), 64);
	return path;
}

static int verify(const char *bundle, const char *pem, size_t pemlen, const char *expect)
{
	struct dg_buf problems = {0};
	char *info = NULL;
	int rc = dg_verify_bundle(bundle, pem, pemlen, &problems, &info);

	if (expect != NULL && (problems.data == NULL || strstr(problems.data, expect) == NULL))
		fail_msg("want \"%s\" in:\n%s", expect, problems.data ? problems.data : "(none)");
	dg_buf_release(&problems);
	free(info);
	return rc;
}

static void test_bundle_tamper(void **state)
{
	const char report[] =
	    "{\"findings\":[],\"generated\":\"2026-11-27T00:00:00Z\",\"inputs\":[],"
	    "\"integrity_events\":[],\"malformed\":{\"count\":0,\"listed\":[]},"
	    "\"period\":{\"end\":null,\"start\":null},\"prev_report_sha256\":null,"
	    "\"producer\":{\"config_sha256\":\"x\",\"host\":\"h\",\"rules_sha256\":"
	    "\"y\",\"version\":\"0\"},\"report_id\":\"r1\",\"report_seq\":1,"
	    "\"schema\":\"dgaudit.report/1\",\"summary\":{\"by_rule\":{},"
	    "\"findings\":0,\"malformed\":0,\"records\":0}}";
	struct dg_signer *s = new_key("bundle.key", DG_SIGN_ED25519);
	struct dg_signer *other = new_key("other.key", DG_SIGN_ED25519);
	struct dg_buf pem = {0}, other_pem = {0};
	char out[256], b1[256], *path = NULL, *cause = NULL, cmd[1024];
	size_t sig_len;
	char *sig;

	(void)state;
	snprintf(out, sizeof out, "%s/reports", dir);
	dg_sign_public_pem(s, &pem);
	dg_sign_public_pem(other, &other_pem);
	path = bundle_of(out, "b1", report, sizeof report - 1, s);
	snprintf(b1, sizeof b1, "%s", path);
	free(path);
	path = b1;
	assert_int_equal(verify(path, NULL, 0, NULL), 0);
	assert_int_equal(verify(path, pem.data, pem.len, NULL), 0);
	/* The stock openssl command in VERIFY.txt agrees. */
	snprintf(cmd, sizeof cmd, "cd %s && %s >/dev/null && sha256sum --quiet -c SHA256SUMS", path,
	         dg_bundle_openssl_command(DG_SIGN_ED25519));
	assert_int_equal(system(cmd), 0);
	/* Another key. */
	assert_int_equal(verify(path, other_pem.data, other_pem.len, "signature check failed"), -1);
	/* A changed byte in the report. */
	flip_byte(member(path, "report.json"), 40);
	assert_int_equal(verify(path, NULL, 0, "signature check failed"), -1);
	assert_int_equal(verify(path, NULL, 0, "report.json does not match its SHA-256"), -1);
	assert_int_equal(system(cmd) == 0, 0);
	flip_byte(member(path, "report.json"), 40);
	assert_int_equal(verify(path, NULL, 0, NULL), 0);
	/* A signature from another bundle. */
	path = bundle_of(out, "b2", "{\"x\":1}", 7, s);
	sig = dg_fileio_read(member(path, "report.json.sig"), 4096, &sig_len, &cause);
	free(path);
	snprintf(out, sizeof out, "%s/reports/b1", dir);
	assert_int_equal(
	    dg_fileio_write(member(out, "report.json.sig"), sig, sig_len, 0644, &cause), 0);
	assert_int_equal(verify(out, NULL, 0, "signature check failed"), -1);
	assert_int_equal(verify(out, NULL, 0, "report.json.sig does not match"), -1);
	free(sig);
	dg_buf_release(&pem);
	dg_buf_release(&other_pem);
	dg_sign_free(s);
	dg_sign_free(other);
}

static void test_bundle_structure(void **state)
{
	struct dg_signer *s = new_key("struct.key", DG_SIGN_ECDSA_P256);
	char out[256], *path = NULL;
	const char *not_canonical = "{\"b\":1, \"a\":2}";
	const char *miscounted =
	    "{\"findings\":[{\"rule\":\"R\"}],\"summary\":{\"by_rule\":{\"R\":2},"
	    "\"findings\":1}}";

	(void)state;
	snprintf(out, sizeof out, "%s/reports", dir);
	path = bundle_of(out, "s1", not_canonical, strlen(not_canonical), s);
	assert_int_equal(verify(path, NULL, 0, "not in canonical form"), -1);
	assert_int_equal(verify(path, NULL, 0, "schema is missing"), -1);
	free(path);
	path = bundle_of(out, "s2", miscounted, strlen(miscounted), s);
	assert_int_equal(
	    verify(path, NULL, 0, "summary says rule R fired 2 times, findings show 1"), -1);
	free(path);
	dg_sign_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sign_and_verify_each_type),
	    cmocka_unit_test(test_key_files),
	    cmocka_unit_test(test_bundle_tamper),
	    cmocka_unit_test(test_bundle_structure),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
