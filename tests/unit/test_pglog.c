/* PostgreSQL logs with pgaudit: the prefix compiled from log_line_prefix (an application name
 * with spaces, %q for processes without a session), continuation lines and STATEMENT lines,
 * pgaudit's CSV payload with its quoting, csvlog and jsonlog, and the server messages that are
 * logins and denials. Record texts are as PostgreSQL 15 with pgaudit 1.7 writes them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dgaudit/pglog.h"

#include "evt_assert.h"

#define PREFIX "%m [%p] %q%u@%d %r %a "
#define P      "2026-11-27 15:19:39.548 UTC [15024] teller@bank 127.0.0.1(56966) psql "

static struct dg_evt evt;

static void assert_field(int field, const char *want)
{
	assert_evt_field(&evt, field, want);
}

static int parse(enum dg_pglog_layout layout, const char *prefix, const char *rec, const char **why)
{
	/* the parser lives until the next call: *why may point into it */
	static struct dg_pglog *p;
	char *cause = NULL;
	static char copy[8192];
	int rc;

	dg_pglog_free(p);
	p = dg_pglog_new(layout, prefix, NULL, 4096, &cause);
	assert_non_null(p);
	/* the event points into the record: keep it alive past the parser */
	strcpy(copy, rec);
	*why = NULL;
	rc = dg_pglog_parse(p, copy, strlen(copy), &evt, why);
	if (rc == 0) { /* a log of one record ends: a login held back stands */
		struct dg_ref ref;

		dg_pglog_settle(p);
		if (dg_pglog_released(p, &evt, &ref))
			rc = 1;
	}
	return rc;
}

static void test_audit_record(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P
	                       "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,core.customers,"
	                       "\"SELECT name, phone FROM core.customers WHERE id = 7;\",<none>,1",
	                       &why),
	                 1);
	assert_field(DG_F_USER_NAME, "teller");
	assert_field(DG_F_DB_NAMESPACE, "bank");
	assert_field(DG_F_SOURCE_IP, "127.0.0.1");
	assert_field(DG_F_EVENT_ACTION, "read");
	assert_field(DG_F_EVENT_OUTCOME, "success");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_field(DG_F_DB_COLLECTION, "customers");
	assert_field(DG_F_DB_OPERATION, "SELECT");
	assert_field(DG_F_DB_SYSTEM, "postgresql");
	assert_field(DG_F_DB_QUERY, "SELECT name, phone FROM core.customers WHERE id = 7;");
	assert_int_equal(evt.v[DG_F_RECORDS].num, 1);
	assert_int_equal(evt.ts_ms, 1795792779548LL);
}

/* The application name holds spaces, and so may the text after it. */
static void test_prefix_with_spaces(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse(
	        DG_PGLOG_STDERR, "%t [%p]: app=%a,user=%u,db=%d,client=%h ",
	        "2026-11-27 15:19:39 CST [7]: app=Loan Review UI,user=ana,db=bank,client=10.1.2.3 "
	        "LOG:  AUDIT: SESSION,2,1,WRITE,DELETE,TABLE,core.cards,DELETE FROM core.cards,"
	        "<none>",
	        &why),
	    1);
	assert_field(DG_F_USER_NAME, "ana");
	assert_field(DG_F_SOURCE_IP, "10.1.2.3");
	assert_field(DG_F_EVENT_ACTION, "delete");
	assert_null(dg_evt_str(&evt, DG_F_RECORDS)); /* log_rows off: nine fields */
	/* CST means several zones: the source's zone (UTC here) applies */
	assert_int_equal(evt.ts_ms, 1795792779000LL);
}

/* %n: seconds since the epoch, with milliseconds; absurd values are refused. */
static void test_epoch_time(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse(DG_PGLOG_STDERR, "%n [%p] %q%u@%d ",
	                       "1795792779.548 [7] ana@bank LOG:  connection authorized: user=ana",
	                       &why),
	                 1);
	assert_int_equal(evt.ts_ms, 1795792779548LL);
	assert_int_equal(parse(DG_PGLOG_STDERR, "%n [%p] ",
	                       "99999999999999.5 [7] LOG:  connection authorized: user=ana", &why),
	                 -1);
}

/* Processes without a session write only the part before %q. */
static void test_q_escape(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       "2026-11-27 15:19:27.452 UTC [14884] LOG:  database system is ready "
	                       "to accept connections",
	                       &why),
	                 0);
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX, "2026-11-27 15:19:27 UTC [1] hello", &why),
	                 -1);
	assert_non_null(strstr(why, "log_line_prefix"));
}

/* A statement over several lines: each continuation starts with one inserted TAB, and
 * pgaudit doubles the quotes of its CSV field. */
static void test_continuation_lines(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse(DG_PGLOG_STDERR, PREFIX,
	          P "LOG:  AUDIT: SESSION,2,1,READ,SELECT,TABLE,core.branches,\"SELECT "
	            "c.name, b.city\n\t  FROM core.customers c JOIN core.branches b\n\t "
	            "WHERE c.name = 'O''Brien, \"\"Jr\"\"'\n\t   AND c.id = 3;\",<none>,0",
	          &why),
	    1);
	assert_field(DG_F_OBJECT, "core.branches"); /* one record per object */
	assert_field(DG_F_DB_QUERY,
	             "SELECT c.name, b.city\n  FROM core.customers c JOIN "
	             "core.branches b\n WHERE c.name = 'O''Brien, \"Jr\"'\n   AND c.id "
	             "= 3;");
}

static void test_continues(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	const char *detail = P "DETAIL:  Connection matched pg_hba.conf line 93";
	const char *stmt = P "STATEMENT:  SELECT 1";
	const char *next = P "LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>";

	(void)state;
	assert_true(dg_pglog_continues(p, "\t  FROM t", 9));
	assert_true(dg_pglog_continues(p, detail, strlen(detail)));
	assert_true(dg_pglog_continues(p, stmt, strlen(stmt)));
	assert_false(dg_pglog_continues(p, next, strlen(next)));
	assert_true(dg_pglog_opens(p, next, strlen(next)));
	assert_false(dg_pglog_opens(p, stmt, strlen(stmt)));
	dg_pglog_free(p);
}

/* The prefix of a line the framer asked about is matched once; a line of the same length but
 * other bytes is matched anew. */
static void test_prefix_kept_only_for_its_line(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	char a[] = "2026-11-27 15:19:39.548 UTC [15024] ana@bank 127.0.0.1(56966) psql LOG:  "
	           "AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>";
	char b[] = "2026-11-27 15:19:39.548 UTC [15024] bob@bank 127.0.0.1(56966) psql LOG:  "
	           "AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>";
	const char *why;

	(void)state;
	assert_false(dg_pglog_continues(p, a, strlen(a)));
	assert_int_equal(dg_pglog_parse(p, b, strlen(b), &evt, &why), 1);
	assert_field(DG_F_USER_NAME, "bob");
	assert_int_equal(dg_pglog_parse(p, a, strlen(a), &evt, &why), 1);
	assert_field(DG_F_USER_NAME, "ana");
	dg_pglog_free(p);
}

static void test_permission_denied(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P
	                       "ERROR:  permission denied for table customers\n" P
	                       "STATEMENT:  SELECT id_number\n\t FROM core.customers WHERE id = 1;",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "read");
	assert_field(DG_F_EVENT_OUTCOME, "failure");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_field(DG_F_DB_QUERY, "SELECT id_number\n FROM core.customers WHERE id = 1;");
	assert_field(DG_F_MESSAGE, "permission denied for table customers");
}

static void test_logins(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  connection authorized: user=teller database=bank "
	                         "application_name=psql",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "login");
	assert_field(DG_F_EVENT_OUTCOME, "success");
	/* The prefix says [unknown] before authentication; the message names the user. */
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       "2026-11-27 15:19:39.972 UTC [15041] [unknown]@[unknown] "
	                       "127.0.0.1(56996) [unknown] FATAL:  password authentication failed "
	                       "for user \"teller\"\n2026-11-27 15:19:39.972 UTC [15041] "
	                       "[unknown]@[unknown] 127.0.0.1(56996) [unknown] DETAIL:  Connection "
	                       "matched pg_hba.conf line 93: \"host all all 127.0.0.1/32 "
	                       "scram-sha-256\"",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_OUTCOME, "failure");
	assert_field(DG_F_USER_NAME, "teller");
	assert_field(DG_F_DB_NAMESPACE, NULL);
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  connection received: host=127.0.0.1 port=56932", &why),
	                 0);
}

static void test_pgaudit_fields(void **state)
{
	const char *why;

	(void)state;
	/* COPY ... TO is an export, whatever class pgaudit gives it */
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,core.customers,COPY "
	                         "core.customers TO STDOUT;,<none>,2000",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "export");
	assert_int_equal(evt.v[DG_F_RECORDS].num, 2000);
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  AUDIT: SESSION,1,1,READ,COPY,,,COPY core.customers TO "
	                         "STDOUT;,<none>,0",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "export");
	assert_field(DG_F_OBJECT, "core.customers"); /* from the statement */
	/* log_statement_once: the statement is not repeated */
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  AUDIT: SESSION,5,2,WRITE,UPDATE,TABLE,core.cards,"
	                         "<previously logged>,<previously logged>",
	                       &why),
	                 1);
	assert_field(DG_F_DB_QUERY, NULL);
	assert_field(DG_F_EVENT_ACTION, "write");
	/* parameters: a CSV list inside a CSV field */
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P
	                       "LOG:  AUDIT: SESSION,4,1,READ,SELECT,TABLE,core.customers,\"SELECT "
	                       "name FROM core.customers WHERE id = $1 AND b = $2;\",\"9,\"\"a, "
	                       "b\"\"\",1",
	                       &why),
	                 1);
	assert_int_equal(evt.v[DG_F_RECORDS].num, 1);
	/* preparing touches nothing */
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  AUDIT: SESSION,3,1,READ,PREPARE,,,\"PREPARE one(int) AS "
	                         "SELECT 1;\",<none>,0",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, NULL);
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "LOG:  AUDIT: SESSION,5,1,DDL,ALTER SYSTEM,,,ALTER SYSTEM SET "
	                         "pgaudit.log = 'none';,<none>,0",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "admin");
	assert_field(DG_F_OBJECT, "pgaudit.log");
}

/* pgaudit.log_statement_once: later records of a statement say <previously logged>; they get
 * the text of the same backend's statement, not another backend's. */
static void test_statement_once(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const recs[] = {
	    P "LOG:  AUDIT: SESSION,7,1,READ,SELECT,TABLE,core.cards,\"SELECT * FROM core.cards "
	      "c JOIN core.customers u USING (id)\",<none>,3",
	    "2026-11-27 15:19:39.548 UTC [999] ana@bank 127.0.0.1(5) psql LOG:  AUDIT: "
	    "SESSION,7,1,READ,SELECT,TABLE,core.t,SELECT 1 FROM core.t,<none>,1",
	    P "LOG:  AUDIT: SESSION,7,1,READ,SELECT,TABLE,core.customers,<previously "
	      "logged>,<previously logged>,3",
	    P "LOG:  AUDIT: SESSION,8,1,READ,SELECT,TABLE,core.customers,<previously "
	      "logged>,<previously logged>,3",
	};
	const char *why;
	const struct dg_str *q;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(dg_pglog_parse(p, recs[i], strlen(recs[i]), &evt, &why), 1);
	q = dg_evt_str(&evt, DG_F_DB_QUERY);
	assert_non_null(q);
	assert_int_equal(q->len,
	                 strlen("SELECT * FROM core.cards c JOIN core.customers u USING (id)"));
	assert_field(DG_F_OBJECT, "core.customers");
	/* an unknown statement keeps its action and object, without text */
	assert_int_equal(dg_pglog_parse(p, recs[3], strlen(recs[3]), &evt, &why), 1);
	assert_field(DG_F_DB_QUERY, NULL);
	assert_field(DG_F_EVENT_ACTION, "read");
	dg_pglog_free(p);
}

/* Feeds records to one parser, as one log: returns what each gave (1, 0 or -1) as a string. */
static const char *feed(struct dg_pglog *p, const char *const *recs, size_t n)
{
	static char got[64];
	const char *why;

	for (size_t i = 0; i < n && i < sizeof got - 1; i++) {
		int rc = dg_pglog_parse(p, recs[i], strlen(recs[i]), &evt, &why);

		got[i] = rc < 0 ? '-' : (char)('0' + rc);
		got[i + 1] = '\0';
	}
	return got;
}

#define D "2026-12-02 00:28:25.275 UTC [10338] dba@bank 127.0.0.1(38770) psql LOG:  AUDIT: "

/* With pgaudit.role and pgaudit.log both on, an access is an OBJECT and a SESSION record: one
 * event. A table named twice by one statement is one event too; the next statement's is new. */
static void test_object_and_session_merge(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const recs[] = {
	    D "OBJECT,13,1,READ,SELECT,TABLE,core.customers,SELECT * FROM core.customers WHERE id "
	      "= 1;,<none>,1",
	    D "SESSION,13,1,READ,SELECT,TABLE,core.customers,SELECT * FROM core.customers WHERE id "
	      "= 1;,<none>,1",
	    /* another backend's statement 13 is its own */
	    "2026-12-02 00:28:25.275 UTC [777] ana@bank 127.0.0.1(5) psql LOG:  AUDIT: "
	    "SESSION,13,1,READ,SELECT,TABLE,core.customers,SELECT 1 FROM core.customers,<none>,1",
	    D "SESSION,14,1,READ,SELECT,TABLE,pg_catalog.pg_class,\"SELECT 1 FROM pg_class a, "
	      "pg_class b\",<none>,1",
	    D "SESSION,14,1,READ,SELECT,TABLE,pg_catalog.pg_class,\"SELECT 1 FROM pg_class a, "
	      "pg_class b\",<none>,1",
	    D "SESSION,15,1,READ,SELECT,TABLE,core.customers,SELECT * FROM core.customers WHERE id "
	      "= 1;,<none>,1",
	};

	(void)state;
	assert_non_null(p);
	assert_string_equal(feed(p, recs, 6), "101101");
	assert_field(DG_F_AUDIT_CLASS, "READ");
	dg_pglog_free(p);
}

/* pgaudit's class and command decide the action on the object it names: the source of a CREATE
 * TABLE AS or of a WITH ... INSERT is read; the statement text adds only what pgaudit does not
 * say (the new table of a CREATE TABLE AS, the tables of a COPY). */
static void test_class_decides(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const ctas[] = {
	    D "SESSION,16,1,READ,SELECT,TABLE,core.customers,CREATE TABLE core.copy1 AS SELECT * "
	      "FROM core.customers;,<none>,2",
	    D "SESSION,16,2,DDL,CREATE TABLE AS,,,CREATE TABLE core.copy1 AS SELECT * FROM "
	      "core.customers;,<none>,0",
	};
	static const char *const with[] = {
	    D "SESSION,17,1,WRITE,INSERT,TABLE,core.copy1,WITH c AS (SELECT id FROM "
	      "core.customers) INSERT INTO core.copy1 (id) SELECT id FROM c;,<none>,2",
	    D "SESSION,17,1,READ,SELECT,TABLE,core.customers,WITH c AS (SELECT id FROM "
	      "core.customers) INSERT INTO core.copy1 (id) SELECT id FROM c;,<none>,2",
	};
	static const char *const copy[] = {
	    D "SESSION,26,1,READ,SELECT,TABLE,core.customers,COPY (SELECT id FROM core.customers) "
	      "TO STDOUT;,<none>,2",
	    D "SESSION,26,2,READ,COPY,,,COPY (SELECT id FROM core.customers) TO STDOUT;,<none>,0",
	    D "SESSION,25,1,READ,COPY,,,COPY core.customers TO STDOUT;,<none>,0",
	};
	/* pgaudit writes one DDL record for a CREATE SCHEMA, whatever it grants */
	static const char *const schema[] = {
	    D "SESSION,7,1,DDL,CREATE SCHEMA,,,CREATE SCHEMA reports CREATE TABLE daily (d date) "
	      "GRANT SELECT ON daily TO analyst;,<none>,0",
	};
	const char *why;

	(void)state;
	assert_non_null(p);
	assert_int_equal(dg_pglog_parse(p, ctas[0], strlen(ctas[0]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "read");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_evt_field(&evt, DG_F_DB_COLUMNS, "*");
	assert_int_equal(dg_pglog_parse(p, ctas[1], strlen(ctas[1]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "ddl");
	assert_evt_objects(&evt, "core.copy1:ddl"); /* its source has its event */

	assert_int_equal(dg_pglog_parse(p, with[0], strlen(with[0]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "write");
	assert_field(DG_F_OBJECT, "core.copy1");
	assert_int_equal(dg_pglog_parse(p, with[1], strlen(with[1]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "read");
	assert_field(DG_F_OBJECT, "core.customers");

	assert_int_equal(dg_pglog_parse(p, copy[0], strlen(copy[0]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "export");
	assert_int_equal(dg_pglog_parse(p, copy[1], strlen(copy[1]), &evt, &why), 0);
	assert_int_equal(dg_pglog_parse(p, copy[2], strlen(copy[2]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "export");
	assert_evt_objects(&evt, "core.customers:export");
	assert_evt_field(&evt, DG_F_DB_COLUMNS, "*"); /* no column list: every column */

	assert_int_equal(dg_pglog_parse(p, schema[0], strlen(schema[0]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "ddl");
	assert_evt_objects(&evt, "reports.daily:ddl reports.daily:grant");
	dg_pglog_free(p);
}

/* The base table of a view is read through the view the statement names; a foreign-key check
 * is the server's own query; a dump's reads are exports. */
static void test_views_checks_dumps(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const view[] = {
	    D "SESSION,14,1,READ,SELECT,VIEW,core.customers_masked,SELECT * FROM "
	      "core.customers_masked;,<none>,2",
	    D "SESSION,14,1,READ,SELECT,TABLE,core.customers,SELECT * FROM "
	      "core.customers_masked;,<none>,2",
	};
	static const char *const fk[] = {
	    D "SESSION,15,1,READ,SELECT,TABLE,core.customers,\"SELECT 1 FROM ONLY "
	      "\"\"core\"\".\"\"customers\"\" x WHERE \"\"id\"\" OPERATOR(pg_catalog.=) $1 FOR KEY "
	      "SHARE OF x\",1,1",
	    D "SESSION,15,2,WRITE,INSERT,TABLE,core.accounts,\"INSERT INTO core.accounts VALUES "
	      "(1, 1, 100);\",<none>,1",
	};
	static const char *const dump[] = {
	    "2026-12-02 00:28:25.609 UTC [10346] dba@bank 127.0.0.1(38794) pg_dump LOG:  AUDIT: "
	    "SESSION,63,1,READ,DECLARE CURSOR,,,\"DECLARE _pg_dump_cursor CURSOR FOR SELECT id, "
	    "name, id_number FROM ONLY core.customers\",<none>,0",
	};
	const char *why;

	(void)state;
	assert_non_null(p);
	assert_int_equal(dg_pglog_parse(p, view[0], strlen(view[0]), &evt, &why), 1);
	assert_field(DG_F_OBJECT, "core.customers_masked");
	assert_evt_objects(&evt, "");
	assert_int_equal(dg_pglog_parse(p, view[1], strlen(view[1]), &evt, &why), 1);
	assert_evt_objects(&evt, "core.customers<core.customers_masked:read");

	assert_string_equal(feed(p, fk, 2), "01");
	assert_field(DG_F_OBJECT, "core.accounts");
	assert_field(DG_F_EVENT_ACTION, "write");

	assert_int_equal(dg_pglog_parse(p, dump[0], strlen(dump[0]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "export");
	assert_evt_objects(&evt, "core.customers:export");
	dg_pglog_free(p);
}

/* SET ROLE is an event naming the role taken on, and the backend's later events carry it
 * until RESET ROLE. An unqualified GRANT keeps its name for the catalogue to resolve. */
static void test_set_role_and_names(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const recs[] = {
	    D "SESSION,20,1,MISC,SET,,,SET ROLE teller;,<none>,0",
	    D "SESSION,21,1,READ,SELECT,VIEW,core.customers_masked,SELECT name FROM "
	      "core.customers_masked;,<none>,2",
	    D "SESSION,22,1,MISC,RESET,,,RESET ROLE;,<none>,0",
	    D "SESSION,23,1,READ,SELECT,TABLE,core.branches,SELECT * FROM core.branches;,<none>,2",
	    D "SESSION,11,1,ROLE,GRANT,,,GRANT SELECT ON customers TO teller;,<none>,0",
	    D "SESSION,12,1,ROLE,GRANT,,,GRANT SELECT ON ALL TABLES IN SCHEMA core TO "
	      "teller;,<none>,0",
	};
	const char *why;

	(void)state;
	assert_non_null(p);
	assert_int_equal(dg_pglog_parse(p, recs[0], strlen(recs[0]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "set_role");
	assert_field(DG_F_USER_EFFECTIVE, "teller");
	assert_field(DG_F_USER_NAME, "dba");
	assert_int_equal(dg_pglog_parse(p, recs[1], strlen(recs[1]), &evt, &why), 1);
	assert_field(DG_F_USER_EFFECTIVE, "teller");
	assert_int_equal(dg_pglog_parse(p, recs[2], strlen(recs[2]), &evt, &why), 1);
	assert_field(DG_F_EVENT_ACTION, "set_role");
	assert_field(DG_F_USER_EFFECTIVE, "dba");
	assert_int_equal(dg_pglog_parse(p, recs[3], strlen(recs[3]), &evt, &why), 1);
	assert_field(DG_F_USER_EFFECTIVE, NULL);
	assert_int_equal(dg_pglog_parse(p, recs[4], strlen(recs[4]), &evt, &why), 1);
	assert_evt_objects(&evt, "customers:grant");
	assert_int_equal(dg_pglog_parse(p, recs[5], strlen(recs[5]), &evt, &why), 1);
	assert_evt_objects(&evt, "core.*:grant");
	dg_pglog_free(p);
}

/* Changing audit settings: turning them down is a reduction, up an increase. */
static void test_audit_changes(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const recs[] = {
	    D "SESSION,27,1,MISC,SET,,,SET pgaudit.log = 'all';,<none>,0",
	    D "SESSION,28,1,DDL,ALTER SYSTEM,,,ALTER SYSTEM SET pgaudit.log = 'none';,<none>,0",
	    D "SESSION,30,1,DDL,CREATE EXTENSION,,,CREATE EXTENSION pgaudit;,<none>,0",
	    D "SESSION,31,1,DDL,DROP EXTENSION,,,DROP EXTENSION pgaudit;,<none>,0",
	};
	static const char *const want[][2] = {
	    {"pgaudit.log", "increase"},
	    {"pgaudit.log", "reduce"},
	    {"pgaudit", "increase"},
	    {"pgaudit", "reduce"},
	};
	const char *why;

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(dg_pglog_parse(p, recs[i], strlen(recs[i]), &evt, &why), 1);
		assert_field(DG_F_EVENT_ACTION, "admin");
		assert_field(DG_F_OBJECT, want[i][0]);
		assert_field(DG_F_AUDIT_CHANGE, want[i][1]);
	}
	dg_pglog_free(p);
}

#define A(pid, ms)                                                                                 \
	"2026-12-02 00:28:25." ms " UTC [" pid "] dba@nosuchdb 127.0.0.1(38784) [unknown] "

/* "connection authorized" comes before PostgreSQL checks that the database exists: a FATAL of
 * the backend right after makes the connection a failed login, and only then. */
static void test_held_logins(void **state)
{
	char *cause = NULL;
	struct dg_pglog *p = dg_pglog_new(DG_PGLOG_STDERR, PREFIX, NULL, 4096, &cause);
	static const char *const recs[] = {
	    A("10340", "332") "LOG:  connection authorized: user=dba database=nosuchdb",
	    A("10340", "332") "FATAL:  database \"nosuchdb\" does not exist",
	    A("10342", "366") "LOG:  connection authorized: user=dba database=bank",
	    A("10343", "367") "LOG:  connection authorized: user=ana database=bank",
	    /* 10342 goes on: its login stood */
	    A("10342", "400") "LOG:  AUDIT: SESSION,1,1,READ,SELECT,,,SELECT 1,<none>,1",
	    /* a record of another backend two seconds later: 10343's stood too */
	    "2026-12-02 00:28:27.500 UTC [10344] dba@bank 127.0.0.1(1) psql LOG:  AUDIT: "
	    "SESSION,1,1,READ,SELECT,,,SELECT 1,<none>,1",
	    A("10345", "900") "LOG:  connection authorized: user=eve database=bank",
	};
	struct dg_evt login;
	struct dg_ref ref;
	const char *why;

	(void)state;
	assert_non_null(p);
	for (size_t i = 0; i < 7; i++) {
		struct dg_ref here = {0, i + 1, i * 100};

		dg_pglog_where(p, &here);
		switch (i) {
		case 0:
		case 2:
		case 3:
		case 6:
			assert_int_equal(dg_pglog_parse(p, recs[i], strlen(recs[i]), &evt, &why),
			                 0);
			assert_false(dg_pglog_released(p, &login, &ref));
			break;
		case 1:
			assert_int_equal(dg_pglog_parse(p, recs[i], strlen(recs[i]), &evt, &why),
			                 1);
			assert_field(DG_F_EVENT_ACTION, "login");
			assert_field(DG_F_EVENT_OUTCOME, "failure");
			assert_field(DG_F_EVENT_REASON, "unknown_database");
			assert_false(dg_pglog_released(p, &login, &ref));
			break;
		case 4:
		case 5:
			assert_int_equal(dg_pglog_parse(p, recs[i], strlen(recs[i]), &evt, &why),
			                 1);
			assert_true(dg_pglog_released(p, &login, &ref));
			assert_evt_field(&login, DG_F_EVENT_OUTCOME, "success");
			assert_evt_field(&login, DG_F_USER_NAME, "dba"); /* from the prefix */
			assert_int_equal(ref.line, i == 4 ? 3 : 4);      /* its own record */
			assert_false(dg_pglog_released(p, &login, &ref));
			assert_field(DG_F_EVENT_ACTION, "read"); /* the record's own, untouched */
			break;
		}
	}
	/* the end of the input lets the last one stand */
	dg_pglog_settle(p);
	assert_true(dg_pglog_released(p, &login, &ref));
	assert_int_equal(ref.line, 7);
	assert_false(dg_pglog_released(p, &login, &ref));
	dg_pglog_free(p);
}

/* A login as a role that does not exist: with trust authentication the message says so, with
 * a password method its DETAIL line does (the client sees only "authentication failed"). */
static void test_unknown_account(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "FATAL:  password authentication failed for user \"scan1\"\n" P
	                         "DETAIL:  Role \"scan1\" does not exist.\n\tConnection matched "
	                         "pg_hba.conf line 4: \"host all all 127.0.0.1/32 scram-sha-256\"",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_OUTCOME, "failure");
	assert_field(DG_F_EVENT_REASON, "unknown_account");
	assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX,
	                       P "FATAL:  password authentication failed for user \"teller\"\n" P
	                         "DETAIL:  Connection matched pg_hba.conf line 4",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_REASON, NULL);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    P "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,t,\"unterminated,<none>",
	    P "LOG:  AUDIT: SESSION,1,1,READ",
	    P "LOG:  AUDIT: SESSION,1,1,READ,SELECT,TABLE,t,x,<none>,many",
	    P "DETAIL:  a detail on its own",
	    P "LOG:  ok\nnot indented and not prefixed",
	    "2026-13-27 15:19:39.548 UTC [15024] teller@bank 127.0.0.1(1) psql LOG:  AUDIT: x",
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(parse(DG_PGLOG_STDERR, PREFIX, bad[i], &why), -1);
		assert_non_null(why);
	}
}

static void test_csvlog(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse(DG_PGLOG_CSV, NULL,
	          "2026-11-27 15:19:40.981 UTC,\"dba\",\"bank\",15080,\"127.0.0.1:47726\","
	          "6b099f8c.3ae8,4,\"SELECT\",2026-11-27 15:19:40 UTC,3/37,0,LOG,00000,\"AUDIT: "
	          "SESSION,2,1,READ,SELECT,TABLE,core.customers,\"\"SELECT c.name\n  FROM "
	          "core.customers c\n WHERE c.name = 'O''Brien, \"\"\"\"Jr\"\"\"\"'\"\",<none>,0\","
	          ",,,,,,,,\"psql\",\"client backend\",,0",
	          &why),
	    1);
	assert_field(DG_F_USER_NAME, "dba");
	assert_field(DG_F_SOURCE_IP, "127.0.0.1");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_field(DG_F_DB_QUERY,
	             "SELECT c.name\n  FROM core.customers c\n WHERE c.name = 'O''Brien, \"Jr\"'");
	/* a denial carries its statement in the query column */
	assert_int_equal(
	    parse(DG_PGLOG_CSV, NULL,
	          "2026-11-27 15:19:39.836 UTC,\"intern\",\"bank\",15035,\"127.0.0.1:56984\","
	          "6b099f8b.3abb,5,\"SELECT\",2026-11-27 15:19:39 UTC,3/28,0,ERROR,42501,"
	          "\"permission denied for table customers\",,,,,,\"SELECT id_number FROM "
	          "core.customers WHERE id = 1;\",,,\"psql\",\"client backend\",,0",
	          &why),
	    1);
	assert_field(DG_F_EVENT_OUTCOME, "failure");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_int_equal(parse(DG_PGLOG_CSV, NULL, "2026-11-27 15:19:39.836 UTC,a,b", &why), -1);
	assert_int_equal(parse(DG_PGLOG_CSV, NULL, "2026-11-27 15:19:39.836 UTC,\"a", &why), -1);
}

static void test_jsonlog(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse(DG_PGLOG_JSON, NULL,
	          "{\"timestamp\":\"2026-11-27 15:19:39.688 UTC\",\"user\":\"analyst\",\"dbname\":"
	          "\"bank\",\"pid\":15030,\"remote_host\":\"127.0.0.1\",\"remote_port\":56972,"
	          "\"error_severity\":\"LOG\",\"message\":\"AUDIT: "
	          "SESSION,1,1,READ,COPY,,,\\\"COPY core.customers TO STDOUT;\\\",<none>,0\","
	          "\"application_name\":\"psql\",\"backend_type\":\"client backend\"}",
	          &why),
	    1);
	assert_field(DG_F_USER_NAME, "analyst");
	assert_field(DG_F_EVENT_ACTION, "export");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_int_equal(parse(DG_PGLOG_JSON, NULL, "{\"message\":\"x\"}", &why), -1);
	assert_int_equal(parse(DG_PGLOG_JSON, NULL, "{\"timestamp\":", &why), -1);
}

static void test_bad_prefixes(void **state)
{
	static const char *const bad[] = {"%u@%d ", "%m %Z ", "%m %"};
	char *cause = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_null(dg_pglog_new(DG_PGLOG_STDERR, bad[i], NULL, 4096, &cause));
		assert_non_null(strstr(cause, "log_line_prefix"));
		free(cause);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_audit_record),
	    cmocka_unit_test(test_prefix_with_spaces),
	    cmocka_unit_test(test_q_escape),
	    cmocka_unit_test(test_epoch_time),
	    cmocka_unit_test(test_continuation_lines),
	    cmocka_unit_test(test_continues),
	    cmocka_unit_test(test_prefix_kept_only_for_its_line),
	    cmocka_unit_test(test_permission_denied),
	    cmocka_unit_test(test_logins),
	    cmocka_unit_test(test_pgaudit_fields),
	    cmocka_unit_test(test_statement_once),
	    cmocka_unit_test(test_object_and_session_merge),
	    cmocka_unit_test(test_class_decides),
	    cmocka_unit_test(test_views_checks_dumps),
	    cmocka_unit_test(test_set_role_and_names),
	    cmocka_unit_test(test_audit_changes),
	    cmocka_unit_test(test_held_logins),
	    cmocka_unit_test(test_unknown_account),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_csvlog),
	    cmocka_unit_test(test_jsonlog),
	    cmocka_unit_test(test_bad_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
