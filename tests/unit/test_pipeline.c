/* The pipeline with the bundled rule packs: each rule fires on what it is about and stays quiet
 * on the compliant look-alike; evidence cites file, line and offset; malformed records are
 * counted and the rest is still audited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/pipeline.h"

struct seen {
	char rules[64][40];
	struct dg_cjson *last;
	int n, malformed;
	char why[128];
	uint64_t malformed_line;
};

static void on_finding(void *arg, const struct dg_match *m, struct dg_cjson *json)
{
	struct seen *s = arg;

	snprintf(s->rules[s->n++ % 64], 40, "%s", m->rule->id);
	dg_cjson_free(s->last);
	s->last = json;
}

static void on_malformed(void *arg, uint32_t input, const struct dg_record *rec, const char *why)
{
	struct seen *s = arg;

	s->malformed++;
	s->malformed_line = rec->line;
	snprintf(s->why, sizeof s->why, "%s", why);
}

static struct dg_config *cfg;
static const uint8_t key[32] = {1, 2, 3};

static int setup(void **state)
{
	char *cause = NULL;

	(void)state;
	cfg = dg_config_load(NULL, &cause);
	return cfg == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	dg_config_free(cfg);
	return 0;
}

/* Audits text as one input and returns the findings seen. */
static void audit(const char *text, struct seen *s)
{
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, s};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	uint32_t in = dg_pipeline_add_input(p, "app.log", DG_FORMAT_AUTO, 0, 1);
	char *cause = NULL;

	memset(s, 0, sizeof *s);
	assert_int_equal(dg_pipeline_feed(p, in, text, strlen(text), &cause), 0);
	dg_pipeline_end_input(p, in);
	dg_pipeline_free(p);
}

#define T(x) "{\"@timestamp\":\"2026-11-02T10:" x "Z\","
#define OK   ",\"dg.purpose\":\"kyc\",\"dg.consent_id\":\"C1\""

static const struct {
	const char *events;
	const char *rule; /* the one finding expected, or NULL for none */
} cases[] = {
    {T("00:00") "\"user.name\":\"a\",\"event.action\":\"read\",\"dg.classification\":\"C3\"}",
     "PIPL-SENSITIVE-NO-BASIS"},
    {T("00:00") "\"user.name\":\"a\",\"event.action\":\"read\",\"dg.classification\":\"C3\","
                "\"dg.purpose\":\"kyc\"}",
     "PIPL-SENSITIVE-NO-BASIS"},
    {T("00:00") "\"user.name\":\"a\",\"event.action\":\"read\",\"dg.classification\":\"C3\"" OK "}",
     NULL},
    {T("00:00") "\"user.name\":\"a\",\"event.action\":\"read\",\"dg.classification\":\"C3\","
                "\"event.outcome\":\"failure\"}",
     NULL},
    {T("00:00") "\"user.name\":\"a\",\"event.action\":\"read\",\"dg.classification\":\"C2\"}",
     NULL},
    {T("00:00") "\"event.action\":\"share\",\"dg.recipient\":\"X Ltd\",\"dg.classification\":"
                "\"C2\"" OK "}",
     "PIPL-UNAPPROVED-RECIPIENT"},
    {T("00:00") "\"event.action\":\"share\",\"dg.recipient\":\"X\",\"dg.recipient_country\":\"CN\","
                "\"dg.classification\":\"C1\"" OK "}",
     "PIPL-UNAPPROVED-RECIPIENT"},
    {T("00:00") "\"event.action\":\"export\",\"dg.recipient_country\":\"US\","
                "\"dg.categories\":[\"phone\"]" OK "}",
     "PIPL-CROSS-BORDER"},
    {T("00:00") "\"event.action\":\"export\",\"dg.recipient_country\":\"CN\","
                "\"dg.categories\":[\"phone\"]" OK "}",
     NULL},
    {T("00:00") "\"event.action\":\"export\",\"dg.recipient_country\":\"US\"}", NULL},
    /* Bulk export: 11 exports of 1000 records in an hour, none large on its own. */
    {T("00:00") "\"user.name\":\"b\",\"event.action\":\"export\",\"dg.classification\":\"C2\","
                "\"dg.records\":1000" OK "}\n" T(
                    "05:00") "\"user.name\":\"b\",\"event.action\":\"export\",\"dg."
                             "classification\":\"C2\","
                             "\"dg.records\":4000" OK "}\n" T(
                                 "10:00") "\"user.name\":\"c\",\"event.action\":\"export\",\"dg."
                                          "classification\":\"C2\","
                                          "\"dg.records\":4000" OK "}\n" T(
                                              "20:00") "\"user.name\":\"b\",\"event.action\":"
                                                       "\"export\",\"dg.classification\":\"C2\","
                                                       "\"dg.records\":5000" OK "}",
     "PIPL-BULK-EXPORT"},
    {T("00:00") "\"user.name\":\"b\",\"event.action\":\"export\",\"dg.classification\":\"C2\","
                "\"dg.records\":9999" OK "}",
     NULL},
    /* Five failed logins, then a success. */
    {T("00:00") "\"user.name\":\"d\",\"event.action\":\"login\",\"event.outcome\":\"failure\"}\n" T(
         "00:10") "\"user.name\":\"d\",\"event.action\":\"login\",\"event.outcome\":\"failure\"}"
                  "\n" T(
                      "00:20") "\"user.name\":\"d\",\"event.action\":\"login\",\"event."
                               "outcome\":\"failure\"}\n" T(
                                   "00:30") "\"user.name\":\"d\","
                                            "\"event.action\":"
                                            "\"login\",\"event."
                                            "outcome\":\"failure\"}"
                                            "\n" T(
                                                "00:40") "\"user."
                                                         "name\":"
                                                         "\"d\","
                                                         "\"event."
                                                         "action\":"
                                                         "\"login\","
                                                         "\"event."
                                                         "outcome\":"
                                                         "\"failure"
                                                         "\"}\n" T(
                                                             "00:50") "\"user.name\":\"d\",\"event."
                                                                      "action\":\"login\",\"event."
                                                                      "outcome\":\"success\","
                                                                      "\"source.ip\":\"203.0.113."
                                                                      "9\"}",
     "PCI-LOGIN-AFTER-FAILURES"},
    {T("00:00") "\"user.name\":\"d\",\"event.action\":\"login\",\"event.outcome\":\"failure\"}\n" T(
         "00:10") "\"user.name\":\"d\",\"event.action\":\"login\",\"event.outcome\":\"failure\"}"
                  "\n" T("00:20") "\"user.name\":\"d\",\"event.action\":\"login\",\"event."
                                  "outcome\":\"success\"}",
     NULL},
    {T("00:00") "\"event.action\":\"delete\",\"dg.object\":\"audit.access_log\"}",
     "PCI-AUDIT-TRAIL-TAMPERING"},
    {T("00:00") "\"event.action\":\"read\",\"dg.object\":\"audit.access_log\"}", NULL},
    {T("00:00") "\"event.action\":\"admin\",\"db.query.text\":\"SET GLOBAL "
                "server_audit_logging=OFF\"}",
     "PCI-AUDIT-TRAIL-TAMPERING"},
    {T("00:00") "\"event.action\":\"admin\",\"db.query.text\":\"ALTER SYSTEM SET pgaudit.log = "
                "'none'\"}",
     "PCI-AUDIT-TRAIL-TAMPERING"},
    {T("00:00") "\"event.action\":\"admin\",\"message\":\"Audit logging disabled by root\"}",
     "PCI-AUDIT-TRAIL-TAMPERING"},
    {T("00:00") "\"event.action\":\"write\",\"message\":\"charged 4111-1111-1111-1111\"}",
     "PCI-PAN-IN-LOG"},
    {T("00:00") "\"event.action\":\"write\",\"message\":\"charged 4111-1111-1111-1112\"}", NULL},
    {T("00:00") "\"event.action\":\"read\",\"db.query.text\":\"SELECT * FROM c WHERE "
                "idno='11010519491231002X'\"}",
     "JRT-ID-NUMBER-IN-LOG"},
    {T("00:00") "\"event.action\":\"read\",\"db.query.text\":\"SELECT * FROM c WHERE "
                "idno='110105194912310021'\"}",
     NULL},
    /* A DBA reading 1,200 sensitive records over three queries within the hour. */
    {T("00:00") "\"user.name\":\"root1\",\"user.roles\":[\"dba\"],\"event.action\":\"read\","
                "\"dg.classification\":\"C3\",\"dg.records\":400" OK "}\n" T(
                    "10:00") "\"user.name\":\"root1\",\"user.roles\":[\"dba\"],\"event.action\":"
                             "\"read\","
                             "\"dg.classification\":\"C3\",\"dg.records\":400" OK "}\n" T(
                                 "20:00") "\"user.name\":\"root1\",\"user.roles\":[\"dba\"],"
                                          "\"event.action\":\"read\","
                                          "\"dg.classification\":\"C3\",\"dg.records\":400" OK "}",
     "JRT-PRIVILEGED-BULK-READ"},
    {T("00:00") "\"user.name\":\"t1\",\"user.roles\":[\"teller\"],\"event.action\":\"read\","
                "\"dg.classification\":\"C3\",\"dg.records\":1400" OK "}",
     NULL},
};

static void test_rule_pack(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct seen s;

		audit(cases[i].events, &s);
		if (cases[i].rule == NULL && s.n != 0)
			fail_msg("case %zu: unexpected %s", i, s.rules[0]);
		if (cases[i].rule != NULL && (s.n != 1 || strcmp(s.rules[0], cases[i].rule) != 0))
			fail_msg("case %zu: want one %s, got %d (first %s)", i, cases[i].rule, s.n,
			         s.n ? s.rules[0] : "-");
		assert_int_equal(s.malformed, 0);
		dg_cjson_free(s.last);
	}
}

static void test_evidence_and_masking(void **state)
{
	struct seen s;
	struct dg_buf b = {0};
	const char *subject =
	    "\n" T("00:00") "\"user.name\":\"a\",\"event.action\":\"read\","
	                    "\"dg.classification\":\"C3\",\"dg.subject_id\":\"C123\"}\n";
	const char *query = T("00:00") "\"event.action\":\"read\",\"db.query.text\":\"WHERE "
	                               "id='11010519491231002X' OR phone='13800138000'\"}";

	(void)state;
	audit(subject, &s);
	assert_int_equal(s.n, 1);
	dg_cjson_write(s.last, &b);
	/* Line 2, starting at byte 1; the customer only as a pseudonym. */
	assert_non_null(
	    strstr(b.data, "\"record\":{\"input\":\"app.log\",\"line\":2,\"offset\":1}"));
	assert_null(strstr(b.data, "C123"));
	assert_non_null(strstr(b.data, "\"dg.subject_id\":\"psn:"));
	dg_buf_release(&b);
	dg_cjson_free(s.last);

	audit(query, &s);
	assert_int_equal(s.n, 1);
	dg_cjson_write(s.last, &b);
	assert_null(strstr(b.data, "11010519491231002X"));
	assert_null(strstr(b.data, "13800138000"));
	assert_non_null(strstr(b.data, "id='110***********002X' OR phone='138****8000'"));
	dg_buf_release(&b);
	dg_cjson_free(s.last);
}

static void test_malformed_does_not_stop_the_audit(void **state)
{
	struct seen s;
	const char *text = T("00:00") "\"event.action\":\"delete\",\"dg.object\":\"audit.x\"}\n"
	                              "{\"broken\":\n" T("00:01") "\"event.action\":\"delete\","
	                                                          "\"dg.object\":\"audit.y\"}";

	(void)state;
	audit(text, &s);
	assert_int_equal(s.malformed, 1);
	assert_int_equal(s.malformed_line, 2);
	assert_string_equal(s.why, "truncated JSON");
	assert_int_equal(s.n, 2); /* the last line has no newline and is still audited */
	dg_cjson_free(s.last);
}

static void test_unknown_format_is_refused(void **state)
{
	struct seen s = {0};
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, &s};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	uint32_t in = dg_pipeline_add_input(p, "weird.log", DG_FORMAT_AUTO, 0, 1);
	char *cause = NULL;

	(void)state;
	assert_int_equal(dg_pipeline_feed(p, in, "\n\nNov 27 host sshd[1]: hello\n", 28, &cause),
	                 -1);
	assert_string_equal(cause, "weird.log: unknown log format (the first record is not JSON); "
	                           "use --format to name it");
	free(cause);
	dg_pipeline_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_pack),
	    cmocka_unit_test(test_evidence_and_masking),
	    cmocka_unit_test(test_malformed_does_not_stop_the_audit),
	    cmocka_unit_test(test_unknown_format_is_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
