/* The SQL scanner: the verb's action, the tables named (qualified, lower-cased, once each),
 * SELECT *, and the setting an admin statement changes, in both dialects, past comments and
 * literals that look like SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dgaudit/sql.h"

struct want {
	enum dg_sql_dialect d;
	const char *text;
	const char *action; /* NULL: none */
	const char *tables; /* space-separated, in order */
	bool star;
	const char *setting;
};

static const struct want cases[] = {
    {DG_SQL_POSTGRESQL, "SELECT name FROM core.customers WHERE id = 7", "read", "core.customers",
     false, NULL},
    {DG_SQL_POSTGRESQL, "select * from Core.Customers c join core.branches b on b.id = c.b", "read",
     "core.customers core.branches", true, NULL},
    {DG_SQL_POSTGRESQL, "SELECT c.* FROM core.customers c", "read", "core.customers", true, NULL},
    {DG_SQL_POSTGRESQL, "SELECT count(*) FROM core.customers", "read", "core.customers", false,
     NULL},
    {DG_SQL_POSTGRESQL, "SELECT a, b FROM t1, s.t2 AS x, t3 y WHERE 1=1", "read", "t1 s.t2 t3",
     false, NULL},
    {DG_SQL_POSTGRESQL, "SELECT \"Name\" FROM \"Core\".\"Mixed Case\"", "read", "Core.Mixed Case",
     false, NULL},
    {DG_SQL_POSTGRESQL, "SELECT 'FROM secret.t' FROM core.a -- FROM core.b\n", "read", "core.a",
     false, NULL},
    {DG_SQL_POSTGRESQL, "/* DELETE FROM x */ SELECT $q$ FROM y $q$ FROM z", "read", "z", false,
     NULL},
    {DG_SQL_POSTGRESQL, "SELECT * FROM (SELECT id FROM core.customers) s", "read", "core.customers",
     true, NULL},
    {DG_SQL_POSTGRESQL, "SELECT * FROM generate_series(1, 3)", "read", "", true, NULL},
    {DG_SQL_POSTGRESQL, "COPY core.customers TO STDOUT", "export", "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "COPY core.customers (id, name) TO '/tmp/c.csv' WITH (FORMAT csv)",
     "export", "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "COPY (SELECT * FROM core.customers) TO STDOUT", "export", "core.customers",
     false, NULL},
    {DG_SQL_POSTGRESQL, "COPY core.customers FROM STDIN", "write", "core.customers", false, NULL},
    {DG_SQL_MARIADB, "SELECT * FROM core.customers INTO OUTFILE '/tmp/o'", "export",
     "core.customers", true, NULL},
    {DG_SQL_MARIADB, "SELECT id INTO @v FROM customers", "read", "bank.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "INSERT INTO audit.log SELECT * FROM core.customers", "write",
     "audit.log core.customers", true, NULL},
    {DG_SQL_POSTGRESQL, "UPDATE ONLY core.customers SET phone = '1' WHERE id = 3", "write",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "DELETE FROM core.branches WHERE id = 2", "delete", "core.branches", false,
     NULL},
    {DG_SQL_POSTGRESQL, "TRUNCATE TABLE core.a, core.b", "delete", "core.a core.b", false, NULL},
    {DG_SQL_POSTGRESQL, "WITH x AS (SELECT id FROM core.a) DELETE FROM core.b USING x", "delete",
     "core.a core.b", false, NULL},
    {DG_SQL_POSTGRESQL, "PREPARE one(int) AS SELECT name FROM core.customers WHERE id = $1", "read",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT SELECT ON core.customers TO teller, analyst", "grant",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT SELECT ON TABLE core.a, core.b TO x", "grant", "core.a core.b",
     false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT USAGE ON SCHEMA core TO teller", "grant", "", false, NULL},
    {DG_SQL_MARIADB, "GRANT ALL ON *.* TO dba@'%' WITH GRANT OPTION", "grant", "*.*", false, NULL},
    {DG_SQL_MARIADB, "GRANT SELECT ON bank.* TO teller@'%'", "grant", "bank.*", false, NULL},
    {DG_SQL_MARIADB, "GRANT SELECT ON * TO teller", "grant", "bank.*", false, NULL},
    {DG_SQL_MARIADB, "GRANT FILE, PROCESS ON *.* TO analyst", "grant", "", false, NULL},
    {DG_SQL_MARIADB, "REVOKE SELECT ON `Bank`.* FROM teller", "grant", "Bank.*", false, NULL},
    {DG_SQL_MARIADB, "GRANT SELECT ON customers TO teller", "grant", "bank.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT SELECT ON ALL TABLES IN SCHEMA core, s2 TO teller", "grant",
     "core.* s2.*", false, NULL},
    {DG_SQL_POSTGRESQL, "GRANT SELECT ON customers TO teller", "grant", "customers", false, NULL},
    {DG_SQL_POSTGRESQL, "REVOKE SELECT ON core.customers FROM intern", "grant", "core.customers",
     false, NULL},
    {DG_SQL_POSTGRESQL, "ALTER ROLE teller WITH SUPERUSER", "grant", "", false, NULL},
    {DG_SQL_POSTGRESQL, "CREATE USER x PASSWORD 'y'", "grant", "", false, NULL},
    {DG_SQL_POSTGRESQL, "ALTER SYSTEM SET pgaudit.log = 'none'", "admin", "", false, "pgaudit.log"},
    {DG_SQL_POSTGRESQL, "SET pgaudit.log = 'none'", "admin", "", false, "pgaudit.log"},
    {DG_SQL_POSTGRESQL, "SET search_path = core", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "ALTER DATABASE bank SET pgaudit.log TO 'none'", "admin", "", false,
     "pgaudit.log"},
    {DG_SQL_POSTGRESQL, "DROP EXTENSION IF EXISTS pgaudit", "admin", "", false, "pgaudit"},
    {DG_SQL_MARIADB, "SET GLOBAL server_audit_logging = OFF", "admin", "", false,
     "server_audit_logging"},
    {DG_SQL_MARIADB, "UNINSTALL SONAME 'server_audit'", "admin", "", false, "server_audit"},
    {DG_SQL_MARIADB, "UNINSTALL PLUGIN server_audit", "admin", "", false, "server_audit"},
    {DG_SQL_MARIADB, "SET NAMES utf8mb4", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "CREATE TABLE IF NOT EXISTS core.t (id int)", "ddl", "core.t", false, NULL},
    {DG_SQL_POSTGRESQL, "DROP TABLE core.a, core.b", "ddl", "core.a core.b", false, NULL},
    {DG_SQL_MARIADB, "UPDATE `core`.`customers` SET name = 'O\\'Brien' WHERE id = 1", "write",
     "core.customers", false, NULL},
    {DG_SQL_POSTGRESQL, "BEGIN", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "EXPLAIN SELECT * FROM core.customers", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "", NULL, "", false, NULL},
    {DG_SQL_POSTGRESQL, "SELECT 'unterminated FROM x", "read", "", false, NULL},
};

/* Which tables a statement only reads ("<" before them), so the source of a copy is a read. */
static void test_reads(void **state)
{
	static const struct {
		enum dg_sql_dialect d;
		const char *text, *action, *tables;
	} read_cases[] = {
	    {DG_SQL_POSTGRESQL, "CREATE TABLE core.copy1 AS SELECT * FROM core.customers", "ddl",
	     "core.copy1 <core.customers"},
	    {DG_SQL_MARIADB, "CREATE TABLE copy1 SELECT id FROM customers", "ddl",
	     "bank.copy1 <bank.customers"},
	    {DG_SQL_POSTGRESQL,
	     "WITH c AS (SELECT id FROM core.customers) INSERT INTO core.copy1 (id) SELECT id FROM "
	     "c",
	     "write", "<core.customers core.copy1"},
	    {DG_SQL_POSTGRESQL,
	     "WITH RECURSIVE r (n) AS (SELECT 1 UNION SELECT n + 1 FROM r), c AS MATERIALIZED "
	     "(SELECT * FROM s.t) SELECT * FROM r, c",
	     "read", "<s.t"},
	    {DG_SQL_POSTGRESQL, "INSERT INTO x SELECT * FROM core.customers WHERE id = 2", "write",
	     "x <core.customers"},
	    {DG_SQL_POSTGRESQL, "SELECT * INTO core.copy2 FROM core.customers", "read",
	     "<core.customers"},
	    {DG_SQL_POSTGRESQL, "UPDATE t SET a = 1 WHERE id IN (SELECT id FROM core.customers)",
	     "write", "t <core.customers"},
	    {DG_SQL_POSTGRESQL, "DELETE FROM t WHERE id IN (SELECT id FROM u)", "delete", "t <u"},
	    {DG_SQL_POSTGRESQL, "DELETE FROM t USING u WHERE t.id = u.id", "delete", "t <u"},
	    {DG_SQL_POSTGRESQL, "INSERT INTO t SELECT * FROM t", "write", "t"},
	    {DG_SQL_POSTGRESQL,
	     "DECLARE _pg_dump_cursor CURSOR FOR SELECT id, name FROM ONLY core.customers", "read",
	     "<core.customers"},
	    {DG_SQL_POSTGRESQL, "COPY (SELECT id FROM core.customers) TO STDOUT", "export",
	     "<core.customers"},
	    {DG_SQL_MARIADB, "SELECT /*!40001 SQL_NO_CACHE */ `id`, `name` FROM `customers`",
	     "export", "<bank.customers"},
	    {DG_SQL_MARIADB, "SELECT /* SQL_NO_CACHE */ id FROM customers", "read",
	     "<bank.customers"},
	    {DG_SQL_MARIADB, "/*!40100 SET @@SQL_MODE='' */", NULL, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof read_cases / sizeof read_cases[0]; i++) {
		char scratch[256], tables[256] = "";
		struct dg_sql sql;
		const bool my = read_cases[i].d == DG_SQL_MARIADB;

		dg_sql_scan(read_cases[i].d, read_cases[i].text, strlen(read_cases[i].text),
		            my ? "bank" : "", my ? 4 : 0, scratch, sizeof scratch, &sql);
		for (size_t t = 0; t < sql.ntables; t++)
			snprintf(tables + strlen(tables), sizeof tables - strlen(tables),
			         "%s%s%.*s", t ? " " : "", sql.table_read[t] ? "<" : "",
			         (int)sql.tables[t].len, sql.tables[t].p);
		print_message("%s\n", read_cases[i].text);
		if (read_cases[i].action == NULL)
			assert_null(sql.action);
		else
			assert_string_equal(sql.action ? sql.action : "(none)",
			                    read_cases[i].action);
		assert_string_equal(tables, read_cases[i].tables);
		for (size_t t = 0; t < sql.ntables; t++)
			assert_string_equal(dg_sql_table_action(&sql, t),
			                    sql.table_granted[t] ? "grant"
			                    : sql.table_read[t] && strcmp(sql.action, "export") != 0
			                        ? "read"
			                        : sql.action);
		/* CREATE SCHEMA ... GRANT: its second table is granted on */
		if (strstr(read_cases[i].text, "CREATE SCHEMA") != NULL)
			assert_true(sql.ntables == 2 && sql.table_granted[1]);
	}
}

/* Audit settings changed: only turning auditing off or down is a reduction. */
static void test_audit_change(void **state)
{
	static const struct {
		enum dg_sql_dialect d;
		const char *text;
		enum dg_sql_audit want;
	} audit_cases[] = {
	    {DG_SQL_POSTGRESQL, "ALTER SYSTEM SET pgaudit.log = 'none'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "ALTER SYSTEM SET pgaudit.log TO 'read, write'",
	     DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "SET pgaudit.log = 'all, -misc'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "ALTER SYSTEM RESET pgaudit.log", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "RESET pgaudit.log", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "SET pgaudit.log TO DEFAULT", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "ALTER ROLE batch SET pgaudit.log = 'none'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "ALTER DATABASE bank SET pgaudit.log_relation = off",
	     DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "DROP EXTENSION pgaudit", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_POSTGRESQL, "SET pgaudit.log = 'all'", DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_POSTGRESQL, "ALTER SYSTEM SET pgaudit.log = 'ddl,read,role,write,misc_set'",
	     DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_POSTGRESQL, "SET pgaudit.log_rows = on", DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_POSTGRESQL, "CREATE EXTENSION IF NOT EXISTS pgaudit", DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_POSTGRESQL, "SET pgaudit.log_level = notice", DG_SQL_AUDIT_CHANGE},
	    {DG_SQL_POSTGRESQL, "SET work_mem = '1GB'", DG_SQL_AUDIT_NONE},
	    {DG_SQL_POSTGRESQL, "CREATE EXTENSION pgcrypto", DG_SQL_AUDIT_NONE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_logging = OFF", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_MARIADB, "SET @@global.server_audit_logging = 0", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_logging = ON", DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_excl_users = 'batch'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_excl_users = ''", DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_events = 'CONNECT'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_events = 'connect,query,table'",
	     DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_file_path = '/tmp/x'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_MARIADB, "SET GLOBAL server_audit_file_rotations = 9", DG_SQL_AUDIT_CHANGE},
	    {DG_SQL_MARIADB, "UNINSTALL SONAME 'server_audit'", DG_SQL_AUDIT_REDUCE},
	    {DG_SQL_MARIADB, "INSTALL SONAME 'server_audit'", DG_SQL_AUDIT_INCREASE},
	    {DG_SQL_MARIADB, "SET GLOBAL max_connections = 10", DG_SQL_AUDIT_NONE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof audit_cases / sizeof audit_cases[0]; i++) {
		char scratch[256];
		struct dg_sql sql;

		dg_sql_scan(audit_cases[i].d, audit_cases[i].text, strlen(audit_cases[i].text), "",
		            0, scratch, sizeof scratch, &sql);
		print_message("%s\n", audit_cases[i].text);
		assert_int_equal(sql.audit, audit_cases[i].want);
		if (audit_cases[i].want != DG_SQL_AUDIT_NONE)
			assert_string_equal(sql.action ? sql.action : "(none)", "admin");
	}
}

/* Taking on another role's privileges, and giving them back. */
static void test_set_role(void **state)
{
	static const struct {
		enum dg_sql_dialect d;
		const char *text, *role;
	} role_cases[] = {
	    {DG_SQL_POSTGRESQL, "SET ROLE teller", "teller"},
	    {DG_SQL_POSTGRESQL, "SET ROLE 'Teller'", "Teller"},
	    {DG_SQL_POSTGRESQL, "SET SESSION ROLE Teller", "teller"},
	    {DG_SQL_POSTGRESQL, "SET SESSION AUTHORIZATION teller", "teller"},
	    {DG_SQL_POSTGRESQL, "SET SESSION AUTHORIZATION DEFAULT", ""},
	    {DG_SQL_POSTGRESQL, "RESET ROLE", ""},
	    {DG_SQL_POSTGRESQL, "RESET SESSION AUTHORIZATION", ""},
	    {DG_SQL_POSTGRESQL, "SET ROLE NONE", ""},
	    {DG_SQL_MARIADB, "SET ROLE reader", "reader"},
	    {DG_SQL_MARIADB, "SET ROLE NONE", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof role_cases / sizeof role_cases[0]; i++) {
		char scratch[256];
		struct dg_sql sql;

		dg_sql_scan(role_cases[i].d, role_cases[i].text, strlen(role_cases[i].text), "", 0,
		            scratch, sizeof scratch, &sql);
		print_message("%s\n", role_cases[i].text);
		assert_string_equal(sql.action ? sql.action : "(none)", "set_role");
		assert_int_equal(sql.role.len, strlen(role_cases[i].role));
		assert_memory_equal(sql.role.p ? sql.role.p : "", role_cases[i].role, sql.role.len);
	}
}

static void test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct want *w = &cases[i];
		char scratch[256], tables[256] = "";
		struct dg_sql sql;

		dg_sql_scan(w->d, w->text, strlen(w->text), w->d == DG_SQL_MARIADB ? "bank" : "",
		            w->d == DG_SQL_MARIADB ? 4 : 0, scratch, sizeof scratch, &sql);
		for (size_t t = 0; t < sql.ntables; t++)
			snprintf(tables + strlen(tables), sizeof tables - strlen(tables), "%s%.*s",
			         t ? " " : "", (int)sql.tables[t].len, sql.tables[t].p);
		print_message("%s\n", w->text);
		if (w->action == NULL)
			assert_null(sql.action);
		else
			assert_string_equal(sql.action ? sql.action : "(none)", w->action);
		assert_string_equal(tables, w->tables);
		assert_int_equal(sql.select_star, w->star);
		if (w->setting == NULL) {
			assert_int_equal(sql.setting.len, 0);
		} else {
			assert_int_equal(sql.setting.len, strlen(w->setting));
			assert_memory_equal(sql.setting.p, w->setting, sql.setting.len);
		}
	}
}

/* The columns a select list names, for column-level classification. */
static void test_columns(void **state)
{
	static const struct {
		const char *text, *columns;
	} col_cases[] = {
	    {"SELECT name, phone FROM core.customers", "name phone"},
	    {"SELECT c.Name, upper(c.id_number) AS idn, count(*) FROM core.customers c",
	     "name id_number"},
	    {"SELECT * FROM core.customers", "*"},
	    {"SELECT DISTINCT t.*, b.city FROM t JOIN b ON true", "* city"},
	    {"SELECT CASE WHEN a IS NULL THEN b ELSE c END x FROM t", "a b c"},
	    {"SELECT name nm FROM t WHERE id_number = '1'", "name"},
	    {"DELETE FROM t WHERE a = 1", ""},
	    {"COPY core.customers TO STDOUT", "*"},
	    {"COPY core.customers (id, Name) TO STDOUT", "id name"},
	    {"INSERT INTO x SELECT id_number FROM core.customers", "id_number"},
	    {"CREATE TABLE x AS SELECT * FROM core.customers", "*"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof col_cases / sizeof col_cases[0]; i++) {
		char scratch[256], cols[256] = "";
		struct dg_sql sql;

		dg_sql_scan(DG_SQL_POSTGRESQL, col_cases[i].text, strlen(col_cases[i].text), "", 0,
		            scratch, sizeof scratch, &sql);
		for (size_t c = 0; c < sql.ncolumns; c++)
			snprintf(cols + strlen(cols), sizeof cols - strlen(cols), "%s%.*s",
			         c ? " " : "", (int)sql.columns[c].len, sql.columns[c].p);
		print_message("%s\n", col_cases[i].text);
		assert_string_equal(cols, col_cases[i].columns);
	}
}

/* Names that do not fit the scratch space are left out, never cut. */
static void test_scratch_limit(void **state)
{
	const char *text = "SELECT * FROM a_long_schema.a_long_table JOIN s.t ON true";
	char scratch[12];
	struct dg_sql sql;

	(void)state;
	dg_sql_scan(DG_SQL_POSTGRESQL, text, strlen(text), "", 0, scratch, sizeof scratch, &sql);
	assert_int_equal(sql.ntables, 1);
	assert_int_equal(sql.tables[0].len, 3);
	assert_memory_equal(sql.tables[0].p, "s.t", 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),        cmocka_unit_test(test_reads),
	    cmocka_unit_test(test_audit_change), cmocka_unit_test(test_set_role),
	    cmocka_unit_test(test_columns),      cmocka_unit_test(test_scratch_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
