/* MariaDB server_audit records as MariaDB 10.11 writes them: logins, queries with escaped and
 * cut statements, table records naming a query's objects, denials by return code, and the
 * server's local time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "dgaudit/mariadb.h"

#include "evt_assert.h"

static struct dg_mariadb *p;
static struct dg_tz *tz;
static struct dg_evt evt;
static char rec[4096];

static int setup(void **state)
{
	(void)state;
	tz = dg_tz_fixed(480);
	p = dg_mariadb_new(tz, 4096); /* the servers run on Beijing time */
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dg_mariadb_free(p);
	dg_tz_free(tz);
	return 0;
}

static int parse(const char *line, const char **why)
{
	strcpy(rec, line);
	*why = NULL;
	return dg_mariadb_parse(p, rec, strlen(rec), &evt, why);
}

static void assert_field(int field, const char *want)
{
	assert_evt_field(&evt, field, want);
}

static void test_logins(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse("20261127 15:20:24,db1,teller,10.0.0.5,17,0,FAILED_CONNECT,,,1045", &why), 1);
	assert_field(DG_F_EVENT_ACTION, "login");
	assert_field(DG_F_EVENT_OUTCOME, "failure");
	assert_field(DG_F_USER_NAME, "teller");
	assert_field(DG_F_SOURCE_IP, "10.0.0.5");
	assert_field(DG_F_HOST_NAME, "db1");
	/* server local time +08:00 */
	assert_int_equal(evt.ts_ms, 1795764024000LL);
	assert_int_equal(parse("20261127 15:20:25,db1,teller,localhost,22,0,CONNECT,core,,0", &why),
	                 1);
	assert_field(DG_F_EVENT_OUTCOME, "success");
	assert_field(DG_F_SOURCE_IP, NULL); /* a host name is not an address */
	assert_int_equal(
	    parse("20261127 15:20:25,db1,teller,localhost,22,0,DISCONNECT,core,,0", &why), 0);
}

/* Statements: single-quoted, \' \\ \n escaped, commas inside. */
static void test_query(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse("20261127 15:20:25,db1,dba,localhost,23,66,QUERY,core,'SELECT c.name, b.city\\n  "
	          "FROM customers c WHERE c.name = \\'O\\\\\\'Brien, \"Jr\"\\'',0",
	          &why),
	    1);
	assert_field(
	    DG_F_DB_QUERY,
	    "SELECT c.name, b.city\n  FROM customers c WHERE c.name = 'O\\'Brien, \"Jr\"'");
	assert_field(DG_F_EVENT_ACTION, "read");
	assert_field(DG_F_OBJECT, "core.customers"); /* qualified with the current database */
	assert_field(DG_F_DB_NAMESPACE, "core");
	assert_field(DG_F_EVENT_OUTCOME, "success");
}

/* Table records come first, with the query id of their QUERY: one event per table. */
static void test_tables_then_query(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(
	    parse("20261127 15:20:25,db1,dba,localhost,23,66,READ,core,customers,", &why), 0);
	assert_int_equal(parse("20261127 15:20:25,db1,app,localhost,24,9,READ,core,other,", &why),
	                 0);
	assert_int_equal(
	    parse("20261127 15:20:25,db1,dba,localhost,23,66,READ,core,branches,", &why), 0);
	assert_int_equal(parse("20261127 15:20:25,db1,dba,localhost,23,66,QUERY,core,'SELECT name "
	                       "FROM customers JOIN branches USING (b)',0",
	                       &why),
	                 1);
	assert_field(DG_F_OBJECT, "core.customers");
	assert_evt_objects(&evt, "core.customers:read core.branches:read");
	assert_field(DG_F_USER_NAME, "dba");
	/* the other connection's table is still waiting for its own query */
	assert_int_equal(parse("20261127 15:20:25,db1,app,localhost,24,9,QUERY,core,'SELECT 1 FROM "
	                       "other',0",
	                       &why),
	                 1);
	assert_field(DG_F_OBJECT, "core.other");
}

/* SET ROLE: the connection's later statements act as the role, until SET ROLE NONE or the
 * session ends; another connection of the same user does not. */
static void test_set_role(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse("20261127 15:20:25,db1,intern,localhost,40,70,QUERY,core,'SET ROLE "
	                       "`auditor_ro`',0",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "set_role");
	assert_field(DG_F_USER_EFFECTIVE, "auditor_ro");
	assert_int_equal(parse("20261127 15:20:25,db1,intern,localhost,40,71,QUERY,core,'SELECT "
	                       "name FROM customers',0",
	                       &why),
	                 1);
	assert_field(DG_F_USER_EFFECTIVE, "auditor_ro");
	assert_field(DG_F_USER_NAME, "intern");
	assert_int_equal(parse("20261127 15:20:25,db1,intern,localhost,41,72,QUERY,core,'SELECT "
	                       "name FROM customers',0",
	                       &why),
	                 1);
	assert_field(DG_F_USER_EFFECTIVE, NULL);
	/* a refused SET ROLE takes no role */
	assert_int_equal(parse("20261127 15:20:25,db1,intern,localhost,41,73,QUERY,core,'SET ROLE "
	                       "dba_role',1959",
	                       &why),
	                 1);
	assert_int_equal(
	    parse("20261127 15:20:25,db1,intern,localhost,41,74,QUERY,core,'SELECT 1',0", &why), 1);
	assert_field(DG_F_USER_EFFECTIVE, NULL);
	assert_int_equal(
	    parse("20261127 15:20:25,db1,intern,localhost,40,75,QUERY,core,'SET ROLE NONE',0",
	          &why),
	    1);
	assert_field(DG_F_USER_EFFECTIVE, "intern");
	assert_int_equal(parse("20261127 15:20:25,db1,intern,localhost,40,76,QUERY,core,'SELECT "
	                       "name FROM customers',0",
	                       &why),
	                 1);
	assert_field(DG_F_USER_EFFECTIVE, NULL);
	/* a disconnect ends the role: a server reusing the id later starts afresh */
	parse("20261127 15:20:25,db1,intern,localhost,40,77,QUERY,core,'SET ROLE auditor_ro',0",
	      &why);
	assert_int_equal(
	    parse("20261127 15:20:26,db1,intern,localhost,40,0,DISCONNECT,core,,0", &why), 0);
	assert_int_equal(
	    parse("20261127 15:20:26,db1,intern,localhost,40,78,QUERY,core,'SELECT 1',0", &why), 1);
	assert_field(DG_F_USER_EFFECTIVE, NULL);
}

/* Query ids are the server's: while logging was off or users excluded, the ids the log skips
 * ran unaudited, and the raising's event says how many. */
static void test_audit_gap(void **state)
{
	static const char *const recs[] = {
	    "20261202 00:28:58,vm,root,localhost,3,15,QUERY,bank,'SET GLOBAL server_audit_logging "
	    "= "
	    "OFF',0",
	    "20261202 00:28:58,vm,root,localhost,3,17,QUERY,bank,'SET GLOBAL server_audit_logging "
	    "= "
	    "ON',0",
	    "20261202 00:28:58,vm,root,localhost,3,18,QUERY,bank,'SET GLOBAL "
	    "server_audit_excl_users "
	    "= \\'teller\\'',0",
	    "20261202 00:28:59,vm,ana,localhost,9,20,READ,bank,t,",
	    "20261202 00:28:59,vm,ana,localhost,9,20,QUERY,bank,'SELECT 1 FROM t',0",
	    "20261202 00:28:59,vm,ana,localhost,9,21,QUERY,bank,'SELECT 2',0",
	    "20261202 00:28:59,vm,root,localhost,3,26,QUERY,bank,'SET GLOBAL "
	    "server_audit_excl_users "
	    "= \\'\\'',0",
	    "20261202 00:28:59,vm,root,localhost,3,27,QUERY,bank,'SET GLOBAL server_audit_logging "
	    "= "
	    "ON',0",
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
		int n = parse(recs[i], &why);

		assert_int_equal(n, i == 3 ? 0 : 1);
		if (i == 1 || i == 6) {
			int64_t gap;

			assert_true(dg_evt_int(&evt, DG_F_AUDIT_GAP, &gap));
			assert_int_equal(gap, i == 1 ? 1 : 5); /* 19, 22 to 25: ran unaudited */
		} else if (n == 1) {
			assert_false(dg_evt_has(&evt, DG_F_AUDIT_GAP));
		}
	}
}

/* A denied statement writes no table records; its return code says what happened. */
static void test_denied(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse("20261127 15:20:24,db1,intern,localhost,16,61,QUERY,core,'SELECT "
	                       "id_number FROM core.customers WHERE id = 1',1142",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_OUTCOME, "failure");
	assert_field(DG_F_OBJECT, "core.customers");
	assert_field(DG_F_MESSAGE, "error 1142");
}

/* Turning the audit log off is logged; a statement cut at the plugin's limit still parses. */
static void test_admin_and_cut(void **state)
{
	const char *why;

	(void)state;
	assert_int_equal(parse("20261127 15:20:25,db1,dba,localhost,23,69,QUERY,core,'SET GLOBAL "
	                       "server_audit_logging = OFF',0",
	                       &why),
	                 1);
	assert_field(DG_F_EVENT_ACTION, "admin");
	assert_field(DG_F_OBJECT, "server_audit_logging");
	assert_int_equal(
	    parse("20261127 15:20:25,db1,dba,localhost,23,70,QUERY,core,'INSERT INTO t "
	          "VALUES (\\'a, b\\', \\'cut here\\',0",
	          &why),
	    1);
	assert_field(DG_F_EVENT_ACTION, "write");
	assert_field(DG_F_OBJECT, "core.t");
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "20261127 15:20:25,db1,dba,localhost,23,69,QUERY",
	    "2026112 15:20:25,db1,dba,localhost,23,69,QUERY,core,'x',0",
	    "20261327 15:20:25,db1,dba,localhost,23,69,QUERY,core,'x',0",
	    "20261127 15:20:25,db1,dba,localhost,x,69,QUERY,core,'x',0",
	    "20261127 15:20:25,db1,dba,localhost,23,69,QUERY,core,'x',oops",
	    "20261127 15:20:25,db1,dba,localhost,23,69,LAUNCH,core,'x',0",
	    "",
	};
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		print_message("%s\n", bad[i]);
		assert_int_equal(parse(bad[i], &why), -1);
		assert_non_null(why);
	}
}

static void test_looks(void **state)
{
	const char *ok = "20261127 15:20:24,vm,root,localhost,3,0,CONNECT,,,0";
	const char *pg = "2026-11-27 15:19:36.628 UTC,\"postgres\",\"postgres\",14913";

	(void)state;
	assert_true(dg_mariadb_looks(ok, strlen(ok)));
	assert_false(dg_mariadb_looks(pg, strlen(pg)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_logins),
	    cmocka_unit_test(test_query),
	    cmocka_unit_test(test_tables_then_query),
	    cmocka_unit_test(test_denied),
	    cmocka_unit_test(test_set_role),
	    cmocka_unit_test(test_audit_gap),
	    cmocka_unit_test(test_admin_and_cut),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_looks),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
