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

	if (m->kind == DG_MATCH_OPEN) { /* the alert of a burst: its finding comes at the end */
		dg_cjson_free(json);
		return;
	}
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
	cfg = dg_config_load(NULL, 0, &cause);
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
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, s, NULL};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	uint32_t in = dg_pipeline_add_input(p, "app.log", DG_FORMAT_AUTO, 0, 1);
	char *cause = NULL;

	memset(s, 0, sizeof *s);
	assert_int_equal(dg_pipeline_feed(p, in, text, strlen(text), &cause), 0);
	dg_pipeline_end_input(p, in);
	dg_pipeline_finish(p);
	dg_pipeline_free(p);
}

#define T(x) "{\"@timestamp\":\"2026-11-02T02:" x "Z\"," /* 10:xx in Beijing: office hours */
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
/* Bulk export: 10,000 records in an hour in three exports, none large on its own (C1 data:
 * JR/T 0171's C2 and C3 export rules do not apply). */
#define EXP(t, u, n)                                                                               \
	T(t)                                                                                       \
	"\"user.name\":\"" u "\",\"event.action\":\"export\",\"dg.classification\":\"C1\","        \
	"\"dg.records\":" n OK "}\n"
    {EXP("00:00", "b", "1000") EXP("05:00", "b", "4000") EXP("10:00", "c", "4000")
         EXP("20:00", "b", "5000"),
     "PIPL-BULK-EXPORT"},
    {EXP("00:00", "b", "9999"), NULL},
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
    {T("00:00") "\"event.action\":\"read\",\"dg.object\":\"audit.access_log\","
                "\"user.roles\":[\"auditor\"]}",
     NULL}, /* reading it is not tampering; an auditor may */
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

/* A released input's number goes to the next input, which starts clean: its own name in
 * evidence, its own line numbers and digest; inputs still going are not touched. */
static void test_released_input_number_is_reused(void **state)
{
	struct seen s = {0};
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, &s, NULL};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	const char *line = T("00:00") "\"event.action\":\"delete\",\"dg.object\":\"audit.x\"}\n";
	uint32_t a = dg_pipeline_add_input(p, "a.log", DG_FORMAT_AUTO, 0, 1);
	uint32_t b = dg_pipeline_add_input(p, "b.log", DG_FORMAT_AUTO, 0, 1);
	char *cause = NULL, *fresh = NULL;
	struct dg_buf text = {0};
	uint64_t n;

	(void)state;
	assert_int_equal(dg_pipeline_feed(p, a, line, strlen(line), &cause), 0);
	assert_int_equal(dg_pipeline_feed(p, a, line, strlen(line), &cause), 0);
	dg_pipeline_end_input(p, a);
	dg_pipeline_release_input(p, a);
	assert_true(dg_pipeline_released(p, a));
	assert_int_equal(dg_pipeline_add_input(p, "c.log", DG_FORMAT_AUTO, 100, 7), a);
	assert_false(dg_pipeline_released(p, a));
	assert_string_equal(dg_pipeline_input(p, a)->name, "c.log");
	assert_int_equal(dg_pipeline_input(p, a)->records, 0);
	assert_int_equal(dg_pipeline_resume(p, a, &n), 100);
	assert_int_equal(n, 7);
	assert_int_equal(dg_pipeline_feed(p, a, line, strlen(line), &cause), 0);
	dg_cjson_write(s.last, &text);
	assert_non_null(
	    strstr(text.data, "\"record\":{\"input\":\"c.log\",\"line\":7,\"offset\":100}"));
	dg_buf_release(&text);
	assert_int_equal(dg_pipeline_input(p, a)->records, 1);
	/* a's digest is of c.log's one line, as a new input's would be */
	fresh = dg_pipeline_save_digest(p, a);
	assert_int_equal(dg_pipeline_feed(p, b, line, strlen(line), &cause), 0);
	{
		char *bs = dg_pipeline_save_digest(p, b);

		assert_string_equal(fresh, bs);
		free(bs);
	}
	assert_int_equal(dg_pipeline_add_input(p, "d.log", DG_FORMAT_AUTO, 0, 1), b + 1);
	free(fresh);
	dg_cjson_free(s.last);
	dg_pipeline_finish(p);
	dg_pipeline_free(p);
}

/* The finding id of a record fed as the first line of a new input named app.log with key k, or
 * restored with key k from a checkpoint when restored is set. */
static void id_of(const char *line, const char *k, char *id, char *full)
{
	struct seen s = {0};
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, &s, NULL};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	uint32_t in = dg_pipeline_add_input(p, "app.log", DG_FORMAT_AUTO, 0, 1);
	char *cause = NULL;

	dg_pipeline_input_key(p, in, k);
	assert_int_equal(dg_pipeline_feed(p, in, line, strlen(line), &cause), 0);
	assert_int_equal(s.n, 1);
	strcpy(id, dg_cjson_string(dg_cjson_get(s.last, "id")));
	if (full != NULL)
		strcpy(full, dg_pipeline_key(p, in));
	dg_cjson_free(s.last);
	dg_pipeline_finish(p);
	dg_pipeline_free(p);
}

/* Generations of one log read under its live name (a reused inode, a truncated file) start at
 * the same offsets: their findings' ids differ by the first line, and a finding made again
 * after a crash, from a restored key, has the id it had. */
static void test_finding_ids_tell_generations_apart(void **state)
{
	const char *one = T("00:00") "\"event.action\":\"delete\",\"dg.object\":\"audit.x\"}\n";
	const char *two = T("00:01") "\"event.action\":\"delete\",\"dg.object\":\"audit.x\"}\n";
	char a[40], b[40], again[40], restored[40], other[40], plain[40], plain2[40];
	char k[DG_PIPELINE_KEY_MAX], k2[DG_PIPELINE_KEY_MAX];

	(void)state;
	id_of(one, "801:2a", a, k);
	id_of(two, "801:2a", b, NULL);
	assert_string_not_equal(a, b);
	id_of(one, "801:2a", again, NULL);
	assert_string_equal(a, again);
	assert_non_null(strchr(k, '/'));
	/* a restored key is kept, not extended by the line read again */
	id_of(one, k, restored, k2);
	assert_string_equal(a, restored);
	assert_string_equal(k, k2);
	id_of(one, "801:2b", other, NULL); /* another inode */
	assert_string_not_equal(a, other);
	/* without a key (dgaudit run: names tell files apart), the line does not count */
	id_of(one, "", plain, k2);
	id_of(two, "", plain2, NULL);
	assert_string_equal(k2, "");
	assert_string_equal(plain, plain2);
	assert_string_not_equal(plain, a);
}

static void test_unknown_format_is_refused(void **state)
{
	struct seen s = {0};
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, &s, NULL};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	uint32_t in = dg_pipeline_add_input(p, "weird.log", DG_FORMAT_AUTO, 0, 1);
	char *cause = NULL;

	(void)state;
	assert_int_equal(dg_pipeline_feed(p, in, "\n\nNov 27 host sshd[1]: hello\n", 28, &cause),
	                 -1);
	assert_string_equal(
	    cause, "weird.log: unknown log format (the first record is none of: "
	           "json, postgresql, postgresql-csv, postgresql-json, mariadb, linux-audit); "
	           "use --format to name it");
	free(cause);
	dg_pipeline_free(p);
}

#define PGP "2026-11-27 15:19:39.548 UTC [15024] teller@bank 127.0.0.1(5) psql "

/* A PostgreSQL stderr log: a message with continuation lines, an error with its STATEMENT
 * line, a login, and a last message whose end shows only when the input ends. */
static const char pg_log[] =
    PGP "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,core.customers,\"SELECT name\n"
        "\t  FROM core.customers\n"
        "\t WHERE id = 7;\",<none>,1\n" PGP "ERROR:  permission denied for table cards\n" PGP
        "STATEMENT:  SELECT * FROM core.cards;\n" PGP
        "LOG:  connection authorized: user=teller database=bank\n" PGP
        "LOG:  AUDIT: SESSION,2,1,WRITE,DELETE,TABLE,core.cards,\"DELETE FROM core.cards\n"
        "\t WHERE id = 1\",<none>,1\n";

/* Feeds text in chunks of step bytes; returns the input's stats after its end. */
static struct dg_input_stats feed_in_steps(const char *text, size_t len, size_t step,
                                           struct seen *s, uint64_t *held_at)
{
	struct dg_pipeline_hooks hooks = {on_finding, on_malformed, s, NULL};
	struct dg_pipeline *p = dg_pipeline_new(cfg, key, sizeof key, &hooks);
	uint32_t in = dg_pipeline_add_input(p, "pg.log", DG_FORMAT_AUTO, 0, 1);
	struct dg_input_stats st;
	char *cause = NULL;

	memset(s, 0, sizeof *s);
	dg_pipeline_input_options(p, in, "%m [%p] %q%u@%d %r %a ", 0);
	for (size_t off = 0; off < len; off += step) {
		size_t n = len - off < step ? len - off : step;

		assert_int_equal(dg_pipeline_feed(p, in, text + off, n, &cause), 0);
	}
	*held_at = dg_pipeline_resume(p, in, NULL);
	dg_pipeline_end_input(p, in);
	st = *dg_pipeline_input(p, in);
	st.name = NULL;
	dg_pipeline_free(p);
	return st;
}

static void test_multiline_records_any_chunking(void **state)
{
	struct dg_input_stats whole, bytes;
	uint64_t held_whole, held_bytes;
	struct seen s;
	const char *last = strstr(pg_log, PGP "LOG:  AUDIT: SESSION,2");

	(void)state;
	whole = feed_in_steps(pg_log, sizeof pg_log - 1, sizeof pg_log, &s, &held_whole);
	assert_int_equal(s.malformed, 0);
	bytes = feed_in_steps(pg_log, sizeof pg_log - 1, 1, &s, &held_bytes);
	assert_int_equal(s.malformed, 0);
	assert_int_equal(whole.format, DG_FORMAT_PG_STDERR);
	/* four messages, whatever the reads' boundaries */
	assert_int_equal(whole.records, 4);
	assert_int_equal(bytes.records, 4);
	/* until the input ends, the last message is held: a restart resumes at its start */
	assert_int_equal(held_whole, (uint64_t)(last - pg_log));
	assert_int_equal(held_bytes, (uint64_t)(last - pg_log));
	assert_int_equal(whole.end_offset, sizeof pg_log - 1);
	assert_string_equal(whole.sha256, bytes.sha256);
}

/* A csvlog row with newlines inside quotes is one record, and a row longer than the cap is
 * given up without swallowing the rows after it. */
static void test_csvlog_rows(void **state)
{
	static const char csv[] =
	    "2026-11-27 15:19:40.981 "
	    "UTC,\"dba\",\"bank\",1,\"127.0.0.1:4\",s,4,\"SELECT\",2026-11-27 "
	    "15:19:40 UTC,3/37,0,LOG,00000,\"AUDIT: "
	    "SESSION,2,1,READ,SELECT,TABLE,core.t,\"\"SELECT "
	    "a\n  FROM core.t\"\",<none>,0\",,,,,,,,,\"psql\",\"client backend\",,0\n"
	    "2026-11-27 15:19:40.982 "
	    "UTC,\"dba\",\"bank\",1,\"127.0.0.1:4\",s,5,\"SELECT\",2026-11-27 "
	    "15:19:40 UTC,3/38,0,LOG,00000,\"connection received: host=x\",,,,,,,,,\"\",\"not "
	    "initialized\",,0\n";
	struct dg_input_stats st;
	uint64_t held;
	struct seen s;

	(void)state;
	st = feed_in_steps(csv, sizeof csv - 1, 7, &s, &held);
	assert_int_equal(st.format, DG_FORMAT_PG_CSV);
	assert_int_equal(st.records, 2);
	assert_int_equal(s.malformed, 0);
	assert_int_equal(held, sizeof csv - 1);
}

/* A MariaDB join: the table records name both objects. */
static void test_mariadb_objects(void **state)
{
	static const char log[] =
	    "20261127 15:20:25,db1,dba,localhost,23,66,READ,core,customers,\n"
	    "20261127 15:20:25,db1,dba,localhost,23,66,READ,core,branches,\n"
	    "20261127 15:20:25,db1,dba,localhost,23,66,QUERY,core,'SELECT * FROM customers c JOIN "
	    "branches b USING (id)',0\n";
	struct dg_input_stats st;
	uint64_t held;
	struct seen s;

	(void)state;
	st = feed_in_steps(log, sizeof log - 1, 64, &s, &held);
	assert_int_equal(st.format, DG_FORMAT_MARIADB);
	assert_int_equal(st.records, 3);
	assert_int_equal(s.malformed, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rule_pack),
	    cmocka_unit_test(test_evidence_and_masking),
	    cmocka_unit_test(test_malformed_does_not_stop_the_audit),
	    cmocka_unit_test(test_unknown_format_is_refused),
	    cmocka_unit_test(test_released_input_number_is_reused),
	    cmocka_unit_test(test_finding_ids_tell_generations_apart),
	    cmocka_unit_test(test_multiline_records_any_chunking),
	    cmocka_unit_test(test_csvlog_rows),
	    cmocka_unit_test(test_mariadb_objects),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
